# Toy run on the SYNTHETIC demo world: a small DeepLabV3+ (ResNet-18 trunk at
# half width) trained from scratch with InlierCrossEntropyLoss + Balanced
# Energy on 2 CPU cores in a few minutes, validated on the demo Fishyscapes
# L&F-layout set and tested on every demo anomaly set with two scores: the
# paper's (energy) and Standardized Max Logits as a baseline. `make demo`
# runs it; its numbers are not benchmark results.
_base_ = [
    './_base_/models/deeplabv3plus_r50-d8_balanced-energy.py',
    './_base_/datasets/demo_world.py',
    './_base_/default_runtime.py',
    './_base_/schedules/adam-poly_8k.py',
]
crop_size = (128, 256)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(
        depth=18, stem_channels=32, base_channels=32, dilations=(1, 1, 1, 2),
        strides=(1, 2, 2, 1)),
    decode_head=dict(
        in_channels=256,
        channels=64,
        c1_in_channels=32,
        c1_channels=12,
        dilations=(1, 6, 12, 18),
        loss_decode=[
            dict(type='InlierCrossEntropyLoss', loss_weight=1.0),
            dict(
                type='BalancedEnergyLoss',
                # the demo world's outlier appearance distribution (written
                # by the generator); a real run estimates it with a model
                prior='data/demo_world/outlier_prior.json',
                num_classes=19,
                loss_weight=0.1),
        ]),
    auxiliary_head=dict(in_channels=128, channels=32))
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4))
max_iters = 600
param_scheduler = [
    dict(
        type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=2, save_best=None))
auto_scale_lr = dict(base_batch_size=4)
randomness = dict(seed=0)
# test: energy (metric names <set>/energy/AP, ...) and Standardized Max
# Logits (<set>/sml/AP, ...), whose statistics the trained model computes
# first: mmseg-ood-sml-statistics CONFIG CKPT --out <this file>
blur = dict(kernel_size=7, sigma=1.0)
test_evaluator = [
    dict(type='AnomalyMetric', prefix='energy',
         score=dict(type='EnergyScore', num_classes=19, blur=blur)),
    dict(type='AnomalyMetric', prefix='sml',
         score=dict(type='StandardizedMaxLogitScore', num_classes=19,
                    statistics='work_dirs/demo/sml_statistics.json',
                    blur=blur)),
]
env_cfg = dict(cudnn_benchmark=False)
