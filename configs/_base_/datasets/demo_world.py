# The built-in SYNTHETIC demo world (tools/misc/make_demo_world.py), in the
# real on-disk layouts: Cityscapes-layout train frames with COCO-format
# objects pasted as outliers, and anomaly sets in the Fishyscapes, Road
# Anomaly and SegmentMeIfYouCan layouts.
# Frames are 256x512 (Cityscapes / 4). Not a benchmark: a toy world.
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
anomaly_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 256), keep_ratio=True),
    # labels stay at native resolution: scores are upsampled, never labels
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


def _loader(**dataset):
    return dict(
        batch_size=1,
        num_workers=1,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
        dataset=dict(
            type='AnomalyDataset', pipeline=anomaly_test_pipeline,
            **dataset))


# the demo world's anomaly sets, in the layouts of the real benchmarks
anomaly_sets = dict(
    fs_laf=_loader(benchmark='fs_laf',
                   data_root=data_root + '/fishyscapes/LostAndFound'),
    fs_static=_loader(benchmark='fs_static',
                      data_root=data_root + '/fishyscapes/Static'),
    road_anomaly=_loader(benchmark='road_anomaly',
                         data_root=data_root + '/road_anomaly'),
    smiyc_anomaly=_loader(benchmark='smiyc_anomaly',
                          data_root=data_root + '/smiyc/dataset_AnomalyTrack'),
    smiyc_obstacle=_loader(
        benchmark='smiyc_obstacle',
        data_root=data_root + '/smiyc/dataset_ObstacleTrack'),
)
del _loader
val_dataloader = dict(fs_laf=anomaly_sets['fs_laf'])
test_dataloader = anomaly_sets
paper_score = dict(
    type='EnergyScore', num_classes=19, blur=dict(kernel_size=7, sigma=1.0))
val_evaluator = dict(type='AnomalyMetric', score=paper_score)
test_evaluator = val_evaluator
val_cfg = dict(type='AnomalySetsValLoop')
test_cfg = dict(type='AnomalySetsTestLoop')
