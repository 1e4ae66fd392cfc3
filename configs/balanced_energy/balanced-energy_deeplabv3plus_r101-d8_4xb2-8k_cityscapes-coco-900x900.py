# Balanced Energy fine-tuning of MMSeg's Cityscapes DeepLabV3+ R101-D8 on
# Cityscapes + pasted COCO outliers (the method on MMSeg's model, whole
# network; the paper's own model: ../balanced_energy_pebal/).
# Validation: Fishyscapes L&F val; test: FS L&F val, FS Static val, Road
# Anomaly. 4 GPUs x 2 images = batch 8.
_base_ = [
    '../_base_/models/deeplabv3plus_r50-d8_balanced-energy.py',
    '../_base_/datasets/cityscapes_coco-ood_900x900.py',
    '../_base_/datasets/anomaly_sets.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adam-poly_8k.py',
]
crop_size = (900, 900)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,
    backbone=dict(depth=101))
# MMSeg model zoo: DeepLabV3+ R101-D8, Cityscapes 512x1024, 80k (80.97 mIoU)
load_from = ('https://download.openmmlab.com/mmsegmentation/v0.5/'
             'deeplabv3plus/deeplabv3plus_r101-d8_512x1024_80k_cityscapes/'
             'deeplabv3plus_r101-d8_512x1024_80k_cityscapes_'
             '20200606_114143-068fcfe9.pth')
