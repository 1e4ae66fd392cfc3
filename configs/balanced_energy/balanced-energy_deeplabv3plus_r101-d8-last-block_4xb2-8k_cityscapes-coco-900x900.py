# As balanced-energy_deeplabv3plus_r101-d8_4xb2-8k_cityscapes-coco-900x900.py
# but only the last decoder block learns (as the paper does on its own
# model, ../balanced_energy_pebal/): in MMSeg's
# DeepLabV3+ head that is `sep_bottleneck` (two separable 3x3 convs) and the
# classifier `conv_seg`. The backbone is frozen with its BN statistics; the
# rest of the head gets learning rate 0 and stays in eval mode (its BN
# statistics do not move either); the auxiliary head is dropped.
_base_ = ('./balanced-energy_deeplabv3plus_r101-d8_4xb2-8k_'
          'cityscapes-coco-900x900.py')
model = dict(
    backbone=dict(frozen_stages=4, norm_eval=True),
    auxiliary_head=None)
frozen_head = [
    'decode_head.image_pool', 'decode_head.aspp_modules',
    'decode_head.bottleneck', 'decode_head.c1_bottleneck'
]
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={name: dict(lr_mult=0.0)
                     for name in frozen_head}))
custom_hooks = [
    dict(type='OutlierExposureCheckHook'),
    dict(type='EvalModeHook', modules=frozen_head),
]
