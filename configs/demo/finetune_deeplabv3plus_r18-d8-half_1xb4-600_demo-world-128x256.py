# SYNTHETIC demo world, no outlier exposure: the demo DeepLabV3+ trained
# with cross-entropy only on frames without pasted objects, validated by
# max-logit and by energy (metric names <set>/max_logit/* and
# <set>/energy/*) and tested by both and by Standardized Max Logits
# (<set>/sml/*). tools/misc/compare_demo.py uses it as the start point
# ("pretrained" model) and as the no-exposure baseline.
_base_ = '../deeplabv3plus_balanced_energy_demo.py'
model = dict(
    decode_head=dict(
        loss_decode=[dict(type='InlierCrossEntropyLoss', loss_weight=1.0)]))
train_dataloader = dict(
    dataset=dict(pipeline={{_base_.clean_train_pipeline}}))
blur = dict(kernel_size=7, sigma=1.0)
val_evaluator = [
    dict(type='AnomalyMetric', prefix='max_logit',
         score=dict(type='MaxLogitScore', num_classes=19, blur=blur)),
    dict(type='AnomalyMetric', prefix='energy',
         score=dict(type='EnergyScore', num_classes=19, blur=blur)),
]
test_evaluator = val_evaluator + [
    dict(type='AnomalyMetric', prefix='sml',
         score=dict(type='StandardizedMaxLogitScore', num_classes=19,
                    statistics='work_dirs/demo/sml_statistics.json',
                    blur=blur)),
]
