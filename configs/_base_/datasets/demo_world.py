# The built-in SYNTHETIC demo world (tools/misc/make_demo_world.py), in the
# real on-disk layouts: Cityscapes-layout train frames with COCO-format
# objects pasted as outliers, and anomaly sets in the Fishyscapes, Road
# Anomaly and SegmentMeIfYouCan layouts.
# Frames are 256x512 (Cityscapes / 4). Not a benchmark: a toy world.
# `_base_` comes first: MMEngine then reads this file as an ordinary config.
_base_ = []
from mmseg_ood.configs import anomaly_catalogue, several_sets  # noqa: E402

data_root = 'data/demo_world'
crop_size = (128, 256)
train_load_steps = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
]
outlier_paste = dict(
    type='PasteCocoObjects',
    data_root=data_root + '/coco',
    ann_file='annotations/ood_seg_train2017.json',
    prob=0.5)
train_augment_steps = [
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
train_pipeline = train_load_steps + [outlier_paste] + train_augment_steps
# the same steps without outliers: the no-exposure baseline
clean_train_pipeline = train_load_steps + train_augment_steps
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
# the demo world's anomaly sets, in the layouts of the real benchmarks (the
# catalogue of the installed package, mmseg_ood.configs)
anomaly_sets = anomaly_catalogue(
    data_root=data_root,
    scale=(512, 256),
    num_workers=1,
    sets=['fs_laf', 'fs_static', 'road_anomaly', 'smiyc_anomaly',
          'smiyc_obstacle'])
val_dataloader = several_sets(anomaly_sets, ['fs_laf'], replace=False)
test_dataloader = several_sets(anomaly_sets, list(anomaly_sets), replace=False)
paper_score = dict(
    type='EnergyScore', num_classes=19, blur=dict(kernel_size=7, sigma=1.0))
val_evaluator = dict(type='AnomalyMetric', score=paper_score)
test_evaluator = val_evaluator
val_cfg = dict(type='AnomalySetsValLoop')
test_cfg = dict(type='AnomalySetsTestLoop')
