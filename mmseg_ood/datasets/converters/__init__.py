"""Converters from the public releases to the layouts mmseg_ood reads.

One module per data set family, plus the COCO outlier bank builder; the
command-line front ends are in :mod:`mmseg_ood.cli`.
"""
from .coco_ood_bank import build_coco_ood_bank
from .common import (
    DATASET_RECORD,
    DatasetLayoutError,
    LabelValueError,
    read_dataset_record,
)
from .fishyscapes import (
    FS_STATIC_VERSIONS,
    blend_static_overlay,
    convert_fs_lost_and_found,
    convert_fs_static,
    parse_fs_label_name,
)
from .lost_and_found import convert_laf_test_no_known, select_no_known
from .road_anomaly import convert_road_anomaly

__all__ = [
    'DATASET_RECORD', 'FS_STATIC_VERSIONS', 'DatasetLayoutError',
    'LabelValueError', 'blend_static_overlay', 'build_coco_ood_bank',
    'convert_fs_lost_and_found', 'convert_fs_static',
    'convert_laf_test_no_known', 'convert_road_anomaly',
    'parse_fs_label_name', 'read_dataset_record', 'select_no_known'
]
