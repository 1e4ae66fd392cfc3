# Baseline without outlier exposure: the same recipe, no pasted outliers and
# cross-entropy only, scored by max-logit and by energy (metric names
# <set>/max_logit/AP and <set>/energy/AP).
_base_ = ('./balanced-energy_deeplabv3plus_r101-d8_4xb2-8k_'
          'cityscapes-coco-900x900.py')
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
default_hooks = dict(checkpoint=dict(save_best='fs_laf/max_logit/AP'))
