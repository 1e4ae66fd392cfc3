# Train: Cityscapes train with COCO objects pasted as outliers (label 254)
# before resize/crop, as in PEBAL / Balanced Energy. Evaluate: Fishyscapes
# Lost & Found val (processed copy), energy score blurred as the paper does.
_base_ = 'mmseg::_base_/datasets/cityscapes.py'
coco_root = 'data/coco'
crop_size = (512, 1024)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='PasteCocoObjects',
        data_root=coco_root,
        ann_file='annotations/ood_seg_train2017.json',
        prob=0.1),
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    # labels stay at native resolution: scores are upsampled, never labels
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        _delete_=True,
        type='FishyscapesDataset',
        data_root='data/fishyscapes/LostAndFound',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='AnomalyMetric',
    score_type='energy',
    num_classes=19,
    blur=True)
test_evaluator = val_evaluator
