# Evaluate a released PEBAL or Balanced Energy checkpoint, converted with
#   mmseg-ood-pebal2mmseg best_ad_ckpt.pth checkpoints/pebal_wrn38.pth
# on FS Lost & Found val, FS Static val and Road Anomaly at full resolution
# (no resize), single scale, whole image, batch 1:
#   mmseg-ood-test <this config> checkpoints/pebal_wrn38.pth
# Published reference for the released PEBAL checkpoint on FS L&F val
# (processed layout, "nearest" FPR95 rule): AUROC 98.96, AP 58.81,
# FPR95 4.77 (see README.md in this folder).
_base_ = [
    '../_base_/models/wrn38-a2-deeplabv3plus_abstention.py',
    '../_base_/default_runtime.py',
]
from mmseg_ood.configs import anomaly_catalogue, several_sets  # noqa: E402

native_resolution = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_dataloader = {
    name: dict(loader,
               dataset=dict(loader['dataset'], pipeline=native_resolution))
    for name, loader in several_sets(
        anomaly_catalogue(), ['fs_laf', 'fs_static', 'road_anomaly'],
        replace=False).items()
}
paper_score = dict(
    type='EnergyScore', num_classes=19, blur=dict(kernel_size=7, sigma=1.0))
test_evaluator = dict(type='AnomalyMetric', score=paper_score)
test_cfg = dict(type='AnomalySetsTestLoop')
