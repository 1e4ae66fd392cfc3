# PEBAL's / Balanced Energy's training data: Cityscapes train with COCO
# objects pasted as outliers (label 254) at native size and a uniform
# position into full-resolution frames in 297 of every 2975 + 297 samples
# (9.08 %), then: horizontal flip with p 0.8, one scale of
# {0.5, 0.75, 1.0, 1.5, 1.75, 2.0}, a 900x900 random crop, centred padding
# (image 0 after normalisation, label void) where the scaled frame is
# smaller; no photometric distortion, no cat_max_ratio.
# Data: data/cityscapes (MMSeg layout), data/coco with the outlier bank of
# mmseg-ood-coco-bank.
data_root = 'data/cityscapes'
coco_root = 'data/coco'
crop_size = (900, 900)
scale_factors = (0.5, 0.75, 1.0, 1.5, 1.75, 2.0)
outlier_paste = dict(
    type='PasteCocoObjects',
    data_root=coco_root,
    ann_file='annotations/ood_seg_train2017.json',
    prob=297 / (2975 + 297))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    outlier_paste,
    dict(type='RandomFlip', prob=0.8, direction='horizontal'),
    dict(
        type='RandomChoice',
        transforms=[[dict(type='Resize', scale_factor=f, keep_ratio=True)]
                    for f in scale_factors]),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='CenterPad', size=crop_size),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='CityscapesDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=train_pipeline))
