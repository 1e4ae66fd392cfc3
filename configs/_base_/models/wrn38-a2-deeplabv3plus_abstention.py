# NVIDIA's DeepLabV3+ on WiderResNet-38 A2 ("DeepWV3Plus"), output stride 8,
# with PEBAL's 20th (abstention) channel, as PEBAL and Balanced Energy train
# it: pixel-wise abstention loss + 0.1 x Balanced Energy. The abstention
# channel stays out of every prediction (AbstentionEncoderDecoder). Names
# match the released checkpoints after tools/model_converters/pebal2mmseg.py.
# BN on one GPU (the paper); use dict(type='SyncBN') under DDP.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='AbstentionEncoderDecoder',
    num_inlier_classes=19,
    data_preprocessor=data_preprocessor,
    backbone=dict(type='WiderResNetA2', norm_cfg=norm_cfg),
    decode_head=dict(
        type='DeepWV3PlusHead',
        num_classes=20,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=[
            dict(type='PixelAbstentionLoss', num_classes=19),
            dict(
                type='BalancedEnergyLoss',
                prior='cityscapes_paper',
                num_classes=19,
                loss_weight=0.1),
        ]),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
