"""Data transforms and the COCO outlier bank they paste from."""
from .center_pad import CenterPad
from .coco_ood_bank import (
    CocoOodEntry,
    load_coco_ood_bank,
    read_coco_ood_object,
)
from .paste_coco_objects import PasteCocoObjects
from .random_crop_keep_outlier import RandomCropKeepOutlier

__all__ = [
    'CenterPad', 'CocoOodEntry', 'PasteCocoObjects', 'RandomCropKeepOutlier',
    'load_coco_ood_bank', 'read_coco_ood_object'
]
