# The built-in SYNTHETIC demo world (tools/misc/make_demo_world.py), in the
# real on-disk layouts: Cityscapes-layout train frames with COCO-format
# objects pasted as outliers, Fishyscapes- and Road-Anomaly-layout test sets.
# Frames are 256x512 (Cityscapes / 4). Not a benchmark: a toy world.
data_root = 'data/demo_world'
crop_size = (128, 256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='PasteCocoObjects',
        data_root=data_root + '/coco',
        ann_file='annotations/ood_seg_train2017.json',
        prob=0.5),
    dict(
        type='RandomResize',
        scale=(512, 256),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 256), keep_ratio=True),
    # labels stay at native resolution: scores are upsampled, never labels
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='CityscapesDataset',
        data_root=data_root + '/cityscapes',
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='FishyscapesDataset',
        data_root=data_root + '/fishyscapes/LostAndFound',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='AnomalyMetric', score_type='energy', num_classes=19, blur=True)
test_evaluator = val_evaluator
