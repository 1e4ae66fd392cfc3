# Train: Cityscapes train with COCO objects pasted as outliers (label 254)
# into about 10% of the full-resolution frames before resize/crop, then
# scales 0.5-2.0, 900x900 crops and flips: the PEBAL / Balanced Energy
# recipe. Data: data/cityscapes (MMSeg layout) and data/coco with the outlier
# bank of tools/dataset_converters/coco_ood.py. Evaluation sets:
# ./anomaly_sets.py.
data_root = 'data/cityscapes'
coco_root = 'data/coco'
crop_size = (900, 900)
train_load_steps = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
]
outlier_paste = dict(
    type='PasteCocoObjects',
    data_root=coco_root,
    ann_file='annotations/ood_seg_train2017.json',
    prob=0.1)
# after the paper's scales, crop and flip: MMSeg's Cityscapes defaults
# (crops with one class over 75% redrawn, photometric distortion)
train_augment_steps = [
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
train_pipeline = train_load_steps + [outlier_paste] + train_augment_steps
# the same steps without outliers: the no-exposure baseline
clean_train_pipeline = train_load_steps + train_augment_steps
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='CityscapesDataset',
        data_root=data_root,
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=train_pipeline))
