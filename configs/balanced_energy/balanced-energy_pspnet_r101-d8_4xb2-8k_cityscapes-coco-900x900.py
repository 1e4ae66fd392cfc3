# The same Balanced Energy recipe on another MMSeg architecture, PSPNet
# R101-D8 from MMSeg's Cityscapes checkpoint: the loss is head-agnostic.
_base_ = [
    '../_base_/models/pspnet_r50-d8_balanced-energy.py',
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
# MMSeg model zoo: PSPNet R101-D8, Cityscapes 512x1024, 80k (79.76 mIoU)
load_from = ('https://download.openmmlab.com/mmsegmentation/v0.5/pspnet/'
             'pspnet_r101-d8_512x1024_80k_cityscapes/'
             'pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-'
             'e1e1100f.pth')
