# SYNTHETIC demo world, no outlier exposure: the demo DeepLabV3+ trained
# with cross-entropy only on frames without pasted objects, scored by
# max-logit and by energy (metric names <set>/max_logit/* and
# <set>/energy/*). tools/misc/compare_demo.py uses it as the start point
# ("pretrained" model) and as the no-exposure baseline.
_base_ = '../deeplabv3plus_balanced_energy_demo.py'
model = dict(
    decode_head=dict(
        loss_decode=[dict(type='InlierCrossEntropyLoss', loss_weight=1.0)]))
train_dataloader = dict(
    dataset=dict(pipeline={{_base_.clean_train_pipeline}}))
val_evaluator = [
    dict(type='AnomalyMetric', score_type='max_logit', num_classes=19,
         blur=True, prefix='max_logit'),
    dict(type='AnomalyMetric', score_type='energy', num_classes=19,
         blur=True, prefix='energy'),
]
test_evaluator = val_evaluator
