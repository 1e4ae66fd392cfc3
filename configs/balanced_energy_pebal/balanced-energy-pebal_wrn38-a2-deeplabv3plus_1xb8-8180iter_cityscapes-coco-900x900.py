# Balanced Energy PEBAL exactly as the paper trained it (Choi et al., CVPR
# 2023; ../../docs/en/paper_model.md): NVIDIA's WRN-38 DeepLabV3+ widened to
# 20 channels, only `final.*` trained (the rest keeps requires_grad=False but
# stays in train mode: BN with batch statistics and running updates,
# Dropout2d active), pixel-wise abstention loss + 0.1 x Balanced Energy,
# Adam 1e-5, 20 epochs of (2975 + 297) // 8 = 409 iterations at batch 8 on
# ONE GPU, poly sized for 20 x (2975 // 8) = 7420 iterations with a 1e-8
# floor (the last 760 iterations run at 1e-8), validation every epoch on
# FS Lost & Found val and FS Static val.
_base_ = [
    '../_base_/models/wrn38-a2-deeplabv3plus_abstention.py',
    '../_base_/datasets/cityscapes_coco-ood_pebal-900x900.py',
    '../_base_/default_runtime.py',
]
from mmseg_ood.configs import anomaly_catalogue, several_sets  # noqa: E402

# NVIDIA's cityscapes_best.pth, converted (the classifier widened, seed 0):
# mmseg-ood-pebal2mmseg cityscapes_best.pth <this path>
load_from = 'checkpoints/wrn38-a2-deeplabv3plus_nvidia-cityscapes_20ch.pth'
crop_size = (900, 900)
# freeze_bn=True keeps the frozen part's BN statistics fixed instead
model = dict(
    data_preprocessor=dict(size=crop_size),
    trainable=['decode_head.final'],
    freeze_bn=False)

epochs = 20
iters_per_epoch = (2975 + 297) // 8  # 409
poly_iters = epochs * (2975 // 8)  # 7420, as the official schedule is sized
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-5, weight_decay=0.0),
    clip_grad=None)
param_scheduler = [
    dict(type='ClampedPolyLR', total_iters=poly_iters, power=0.9,
         eta_min=1e-8, by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=epochs * iters_per_epoch,
    val_interval=iters_per_epoch)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=iters_per_epoch,
        save_best='fs_laf/AP',
        rule='greater'))
# the objective depends on the per-GPU batch: keep 1 GPU x 8
auto_scale_lr = dict(enable=False, base_batch_size=8)

# validation: FS L&F val and FS Static val (the released checkpoint was
# plausibly chosen on them); test: the paper's three sets
anomaly_sets = anomaly_catalogue(scale=(2048, 1024))
val_dataloader = several_sets(anomaly_sets, ['fs_laf', 'fs_static'])
test_dataloader = several_sets(anomaly_sets,
                               ['fs_laf', 'fs_static', 'road_anomaly'])
# the paper's score: energy of the 19 inlier channels, 7x7 Gaussian blur
paper_score = dict(
    type='EnergyScore', num_classes=19, blur=dict(kernel_size=7, sigma=1.0))
val_evaluator = dict(_delete_=True, type='AnomalyMetric', score=paper_score)
test_evaluator = val_evaluator
val_cfg = dict(type='AnomalySetsValLoop')
test_cfg = dict(type='AnomalySetsTestLoop')
