"""Data transforms."""
from .paste_coco_objects import PasteCocoObjects
from .random_crop_keep_outlier import RandomCropKeepOutlier

__all__ = ['PasteCocoObjects', 'RandomCropKeepOutlier']
