# The anomaly evaluation sets, each under a short name, evaluated together by
# mmseg_ood's AnomalySetsValLoop / AnomalySetsTestLoop (one table per run,
# metrics named <set>/AUROC, <set>/AP, <set>/FPR95). Validation during
# training: Fishyscapes L&F val; test: the paper's three sets.
# `tools/test.py CONFIG CKPT --sets NAME ...` picks any sets of
# `anomaly_sets`, e.g. the SegmentMeIfYouCan validation sets.
# Prepare the data with tools/dataset_converters (see the README).
anomaly_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    # labels stay at native resolution: scores are upsampled, never labels
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


def _loader(**dataset):
    return dict(
        batch_size=1,
        num_workers=2,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
        dataset=dict(pipeline=anomaly_test_pipeline, **dataset))


anomaly_sets = dict(
    fs_laf=_loader(
        type='FishyscapesDataset', data_root='data/fishyscapes/LostAndFound'),
    fs_static=_loader(
        type='FishyscapesDataset', data_root='data/fishyscapes/Static'),
    road_anomaly=_loader(
        type='RoadAnomalyDataset', data_root='data/road_anomaly'),
    # SegmentMeIfYouCan validation sets, read as released; their component
    # metrics (sIoU_gt, PPV, mean F1) are computed automatically
    smiyc_anomaly=_loader(
        type='SMIYCDataset',
        track='RoadAnomaly21',
        data_root='data/smiyc/dataset_AnomalyTrack'),
    smiyc_obstacle=_loader(
        type='SMIYCDataset',
        track='RoadObstacle21',
        data_root='data/smiyc/dataset_ObstacleTrack'),
    laf_noknown=_loader(
        type='SMIYCDataset',
        track='LostAndFound-testNoKnown',
        layout='processed',
        data_root='data/smiyc/LostAndFound-testNoKnown'),
)
del _loader
val_dataloader = dict(fs_laf=anomaly_sets['fs_laf'])
test_dataloader = dict(
    fs_laf=anomaly_sets['fs_laf'],
    fs_static=anomaly_sets['fs_static'],
    road_anomaly=anomaly_sets['road_anomaly'])
# the paper's score: energy of the 19 inlier logits, 7x7 Gaussian blur
val_evaluator = dict(
    type='AnomalyMetric', score_type='energy', num_classes=19, blur=True)
test_evaluator = val_evaluator
val_cfg = dict(type='AnomalySetsValLoop')
test_cfg = dict(type='AnomalySetsTestLoop')
