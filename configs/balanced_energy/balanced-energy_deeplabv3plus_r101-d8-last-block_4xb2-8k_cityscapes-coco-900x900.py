# As balanced-energy_deeplabv3plus_r101-d8_4xb2-8k_cityscapes-coco-900x900.py
# but only the last decoder block learns (the paper's setting): in MMSeg's
# DeepLabV3+ head that is `sep_bottleneck` (two separable 3x3 convs) and the
# classifier `conv_seg`. The backbone is frozen with its BN statistics, the
# rest of the head gets learning rate 0, and the auxiliary head is dropped.
_base_ = ('./balanced-energy_deeplabv3plus_r101-d8_4xb2-8k_'
          'cityscapes-coco-900x900.py')
model = dict(
    backbone=dict(frozen_stages=4, norm_eval=True),
    auxiliary_head=None)
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            'decode_head.image_pool': dict(lr_mult=0.0),
            'decode_head.aspp_modules': dict(lr_mult=0.0),
            'decode_head.bottleneck': dict(lr_mult=0.0),
            'decode_head.c1_bottleneck': dict(lr_mult=0.0),
        }))
