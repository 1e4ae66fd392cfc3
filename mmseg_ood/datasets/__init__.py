"""Datasets, the table of anomaly benchmark sets, converters and transforms.
"""
from .anomaly_dataset import LAYOUTS, AnomalyDataset
from .converters import build_coco_ood_bank
from .set_specs import ANOMALY_SETS, AnomalySetSpec, get_set_spec
from .transforms import (
    PasteCocoObjects,
    RandomCropKeepOutlier,
    load_coco_ood_bank,
)

__all__ = [
    'ANOMALY_SETS', 'LAYOUTS', 'AnomalyDataset', 'AnomalySetSpec',
    'PasteCocoObjects', 'RandomCropKeepOutlier', 'build_coco_ood_bank',
    'get_set_spec', 'load_coco_ood_bank'
]
