# SYNTHETIC demo world, TOY run of the paper's recipe (the Balanced Energy
# PEBAL config, unchanged but for the data and the size): random weights
# (no NVIDIA checkpoint), 128x128 crops, batch 2, 20 iterations, validation
# at the end on the demo FS L&F and FS Static sets at 256x128. It checks
# that model, losses, freezing, schedule and evaluation run together on a
# CPU (about 4 minutes on 2 cores); its numbers mean nothing.
_base_ = ('../balanced_energy_pebal/balanced-energy-pebal_wrn38-a2-'
          'deeplabv3plus_1xb8-8180iter_cityscapes-coco-900x900.py')
from mmseg_ood.configs import anomaly_catalogue, several_sets  # noqa: E402

data_root = 'data/demo_world'
crop_size = (128, 128)
load_from = None
model = dict(data_preprocessor=dict(size=crop_size))
train_dataloader = dict(
    batch_size=2,
    num_workers=1,
    dataset=dict(
        data_root=data_root + '/cityscapes',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='PasteCocoObjects', data_root=data_root + '/coco',
                 prob=0.5),
            dict(type='RandomFlip', prob=0.8, direction='horizontal'),
            dict(type='RandomChoice',
                 transforms=[[dict(type='Resize', scale_factor=f,
                                   keep_ratio=True)]
                             for f in (0.5, 0.75, 1.0, 1.5, 1.75, 2.0)]),
            dict(type='RandomCrop', crop_size=crop_size),
            dict(type='CenterPad', size=crop_size),
            dict(type='PackSegInputs'),
        ]))
param_scheduler = [
    dict(type='ClampedPolyLR', total_iters=16, power=0.9, eta_min=1e-8,
         by_epoch=False)
]
train_cfg = dict(max_iters=20, val_interval=20)
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=20))
anomaly_sets = anomaly_catalogue(
    data_root=data_root, scale=(256, 128), num_workers=1,
    sets=['fs_laf', 'fs_static', 'road_anomaly'])
val_dataloader = several_sets(anomaly_sets, ['fs_laf', 'fs_static'])
test_dataloader = several_sets(anomaly_sets,
                               ['fs_laf', 'fs_static', 'road_anomaly'])
