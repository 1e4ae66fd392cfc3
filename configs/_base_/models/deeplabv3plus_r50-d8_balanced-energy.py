# MMSeg's DeepLabV3+ R50-D8 with outlier-aware losses:
# - both heads use InlierCrossEntropyLoss (pasted outliers, label 254, are
#   ignored by the cross-entropy);
# - the decode head adds the Balanced Energy regularizer (weight 0.1, the
#   paper's segmentation defaults, the paper's Cityscapes prior).
_base_ = 'mmseg::_base_/models/deeplabv3plus_r50-d8.py'
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
