# Baseline: the unbalanced energy regularization (Liu et al. 2020, as in
# PEBAL / Energy-OE): uniform prior, alpha 0, same recipe and outliers as
# balanced-energy_deeplabv3plus_r101-d8_4xb2-8k_cityscapes-coco-900x900.py.
_base_ = ('./balanced-energy_deeplabv3plus_r101-d8_4xb2-8k_'
          'cityscapes-coco-900x900.py')
model = dict(
    decode_head=dict(loss_decode=[
        dict(type='InlierCrossEntropyLoss', loss_weight=1.0),
        dict(type='EnergyLoss', num_classes=19, loss_weight=0.1),
    ]))
