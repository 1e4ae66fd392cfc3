# The anomaly evaluation sets, each under a short name, evaluated together by
# mmseg_ood's AnomalySetsValLoop / AnomalySetsTestLoop (one table per run,
# metrics named <set>/AUROC, <set>/AP, <set>/FPR95). Validation during
# training: Fishyscapes L&F val; test: the paper's three sets.
# `mmseg-ood-test CONFIG CKPT --sets NAME ...` picks any sets of
# `anomaly_sets`, e.g. the SegmentMeIfYouCan validation sets. Each set's
# folder, size and SegmentMeIfYouCan track come from mmseg_ood's table of
# benchmark sets (AnomalyDataset's `benchmark`); prepare the data with the
# converters (docs/en/datasets.md). The catalogue itself is defined once, in
# the installed package (mmseg_ood.configs), which a config beside an MMSeg
# base imports directly (docs/en/configs.md).
# `_base_` comes first: MMEngine then reads this file as an ordinary config.
_base_ = []
from mmseg_ood.configs import anomaly_catalogue, several_sets  # noqa: E402

# data_root defaults to the set's folder in the table, e.g.
# data/fishyscapes/LostAndFound; the SegmentMeIfYouCan validation sets are
# read as released (data/smiyc/dataset_AnomalyTrack, ...) and get their
# component metrics (sIoU_gt, PPV, mean F1) automatically
anomaly_sets = anomaly_catalogue(scale=(2048, 1024))
val_dataloader = several_sets(anomaly_sets, ['fs_laf'], replace=False)
test_dataloader = several_sets(
    anomaly_sets, ['fs_laf', 'fs_static', 'road_anomaly'], replace=False)
# the paper's score: energy of the 19 inlier logits, 7x7 Gaussian blur
paper_score = dict(
    type='EnergyScore', num_classes=19, blur=dict(kernel_size=7, sigma=1.0))
val_evaluator = dict(type='AnomalyMetric', score=paper_score)
test_evaluator = val_evaluator
val_cfg = dict(type='AnomalySetsValLoop')
test_cfg = dict(type='AnomalySetsTestLoop')
