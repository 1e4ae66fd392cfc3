# The anomaly evaluation sets, each under a short name, evaluated together by
# mmseg_ood's AnomalySetsValLoop / AnomalySetsTestLoop (one table per run,
# metrics named <set>/AUROC, <set>/AP, <set>/FPR95). Validation during
# training: Fishyscapes L&F val; test: the paper's three sets.
# `mmseg-ood-test CONFIG CKPT --sets NAME ...` picks any sets of
# `anomaly_sets`, e.g. the SegmentMeIfYouCan validation sets. Each set's
# folder, size and SegmentMeIfYouCan track come from mmseg_ood's table of
# benchmark sets (AnomalyDataset's `benchmark`); prepare the data with the
# converters (docs/en/datasets.md).
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


# data_root defaults to the set's folder in the table, e.g.
# data/fishyscapes/LostAndFound; the SegmentMeIfYouCan validation sets are
# read as released (data/smiyc/dataset_AnomalyTrack, ...) and get their
# component metrics (sIoU_gt, PPV, mean F1) automatically
anomaly_sets = {
    name: _loader(type='AnomalyDataset', benchmark=name)
    for name in ('fs_laf', 'fs_static', 'road_anomaly', 'smiyc_anomaly',
                 'smiyc_obstacle', 'laf_noknown')
}
del _loader
val_dataloader = dict(fs_laf=anomaly_sets['fs_laf'])
test_dataloader = dict(
    fs_laf=anomaly_sets['fs_laf'],
    fs_static=anomaly_sets['fs_static'],
    road_anomaly=anomaly_sets['road_anomaly'])
# the paper's score: energy of the 19 inlier logits, 7x7 Gaussian blur
paper_score = dict(
    type='EnergyScore', num_classes=19, blur=dict(kernel_size=7, sigma=1.0))
val_evaluator = dict(type='AnomalyMetric', score=paper_score)
test_evaluator = val_evaluator
val_cfg = dict(type='AnomalySetsValLoop')
test_cfg = dict(type='AnomalySetsTestLoop')
