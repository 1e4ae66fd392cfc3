"""Datasets, the COCO outlier bank and data transforms."""
from .anomaly_dataset import (AnomalyDataset, FishyscapesDataset,
                              RoadAnomalyDataset)
from .coco_ood import build_coco_ood_bank, load_coco_ood_bank
from .transforms import PasteCocoObjects
from .smiyc import SMIYCDataset  # noqa: F401

__all__ = [
    'AnomalyDataset', 'FishyscapesDataset', 'RoadAnomalyDataset',
    'PasteCocoObjects', 'build_coco_ood_bank', 'load_coco_ood_bank'
]
