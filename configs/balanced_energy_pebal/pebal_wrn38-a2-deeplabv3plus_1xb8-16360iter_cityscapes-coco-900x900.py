# PEBAL (Tian et al., ECCV 2022) on the same model and data: the plain
# energy loss (uniform prior, alpha 0, same margins, sparsity and smoothness
# terms) instead of Balanced Energy, 40 epochs (16360 iterations; poly
# sized for 40 x 371 = 14840, then 1e-8).
_base_ = ('./balanced-energy-pebal_wrn38-a2-deeplabv3plus_1xb8-8180iter_'
          'cityscapes-coco-900x900.py')
model = dict(
    decode_head=dict(loss_decode=[
        dict(type='PixelAbstentionLoss', num_classes=19),
        dict(type='EnergyLoss', num_classes=19, loss_weight=0.1),
    ]))
epochs = 40
iters_per_epoch = (2975 + 297) // 8
param_scheduler = [
    dict(type='ClampedPolyLR', total_iters=epochs * (2975 // 8), power=0.9,
         eta_min=1e-8, by_epoch=False)
]
train_cfg = dict(max_iters=epochs * iters_per_epoch)
