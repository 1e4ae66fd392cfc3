"""Converters from the public anomaly-set releases to the processed layout.

One module per data set family; ``tools/dataset_converters/`` holds the
command-line front ends.
"""
from .common import (DATASET_RECORD, DatasetLayoutError, LabelValueError,
                     read_dataset_record)
from .fishyscapes import (FS_STATIC_VERSIONS, blend_static_overlay,
                          convert_fs_lost_and_found, convert_fs_static,
                          parse_fs_label_name)
from .lost_and_found import (convert_laf_test_no_known,
                             laf_label_ids_to_eval, select_no_known)
from .road_anomaly import convert_road_anomaly, road_anomaly_to_eval

__all__ = [
    'DATASET_RECORD', 'DatasetLayoutError', 'LabelValueError',
    'read_dataset_record', 'FS_STATIC_VERSIONS', 'blend_static_overlay',
    'convert_fs_lost_and_found', 'convert_fs_static', 'parse_fs_label_name',
    'convert_laf_test_no_known', 'laf_label_ids_to_eval', 'select_no_known',
    'convert_road_anomaly', 'road_anomaly_to_eval'
]
