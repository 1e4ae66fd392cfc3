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
blur = dict(kernel_size=7, sigma=1.0)
val_evaluator = [
    dict(type='AnomalyMetric', prefix='max_logit',
         score=dict(type='MaxLogitScore', num_classes=19, blur=blur)),
    dict(type='AnomalyMetric', prefix='energy',
         score=dict(type='EnergyScore', num_classes=19, blur=blur)),
]
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='fs_laf/max_logit/AP'))
