"""High-level APIs that run a trained model (see each module).

:mod:`.submission`: anomaly maps of image folders for benchmark submissions
(``tools/misc/anomaly_maps.py``). Not imported by ``import mmseg_ood``;
import ``mmseg_ood.apis`` directly.
"""
from .outlier_prior import *  # noqa: F401,F403
from .submission import (IMAGE_SUFFIXES, OUTPUT_FORMATS, AnomalyMapInferencer,
                         ScoreSettings, find_images, load_smiyc_hdf5,
                         output_files, outputs_complete, plan_outputs,
                         save_npy, save_smiyc_hdf5, score_settings,
                         smiyc_frame_id, write_anomaly_maps)

__all__ = [
    'AnomalyMapInferencer', 'IMAGE_SUFFIXES', 'OUTPUT_FORMATS',
    'ScoreSettings', 'find_images', 'load_smiyc_hdf5',
    'output_files', 'outputs_complete', 'plan_outputs', 'save_npy',
    'save_smiyc_hdf5', 'score_settings', 'smiyc_frame_id',
    'write_anomaly_maps'
]
