# Balanced Energy fine-tuning of MMSeg's Cityscapes DeepLabV3+ R101-D8 on
# Cityscapes + pasted COCO outliers, evaluated on Fishyscapes L&F val.
# 4 GPUs x 2 images (batch 8), Adam lr 1e-5, poly 0.9, 8k iterations.
# Data: data/cityscapes (MMSeg layout), data/coco with the outlier bank from
# tools/dataset_converters/coco_ood.py, data/fishyscapes/LostAndFound.
_base_ = [
    './_base_/models/deeplabv3plus_r50-d8_balanced-energy.py',
    './_base_/datasets/cityscapes_coco-ood_fs-laf.py',
    './_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
crop_size = (512, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(depth=101))
# MMSeg model zoo: DeepLabV3+ R101-D8, Cityscapes 512x1024, 80k (80.97 mIoU)
load_from = ('https://download.openmmlab.com/mmsegmentation/v0.5/'
             'deeplabv3plus/deeplabv3plus_r101-d8_512x1024_80k_cityscapes/'
             'deeplabv3plus_r101-d8_512x1024_80k_cityscapes_'
             '20200606_114143-068fcfe9.pth')
train_dataloader = dict(batch_size=2, num_workers=4)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='Adam', lr=1e-5, weight_decay=0.0))
param_scheduler = [
    dict(
        type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=8000,
        by_epoch=False)
]
train_cfg = dict(max_iters=8000, val_interval=1000)
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=1000, save_best='AP',
        rule='greater'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False))
