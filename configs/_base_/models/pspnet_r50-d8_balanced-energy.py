# MMSeg's PSPNet R50-D8 with the same outlier-aware losses as
# ./deeplabv3plus_r50-d8_balanced-energy.py: the method is head-agnostic.
_base_ = 'mmseg::_base_/models/pspnet_r50-d8.py'
model = dict(
    decode_head=dict(loss_decode=[
        dict(type='InlierCrossEntropyLoss', loss_weight=1.0),
        dict(
            type='BalancedEnergyLoss',
            prior='cityscapes_paper',
            num_classes=19,
            loss_weight=0.1),
    ]),
    auxiliary_head=dict(
        loss_decode=dict(type='InlierCrossEntropyLoss', loss_weight=0.4)),
    test_cfg=dict(mode='whole'))
