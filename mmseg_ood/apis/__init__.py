"""High-level APIs that run a trained model.

* :mod:`.inference`: the anomaly score and class maps of one image.
* :mod:`.anomaly_maps`, :mod:`.map_formats`, :mod:`.run_manifest`: score
  maps of image folders for benchmark submissions.
* :mod:`.pebal_checkpoint`: NVIDIA / PEBAL / Balanced Energy checkpoints
  to MMSeg.
* :mod:`.scenes`, :mod:`.outlier_prior`, :mod:`.sml_statistics`: statistics
  of a model over its training set (the outlier prior of Balanced Energy,
  the max-logit statistics of Standardized Max Logits).

Not imported by ``import mmseg_ood``; import ``mmseg_ood.apis`` directly.
"""
from .anomaly_maps import find_images, plan_outputs, write_anomaly_maps
from .inference import AnomalyInferencer, config_score, inference_pipeline
from .map_formats import (
    MAP_FORMATS,
    FishyscapesMaps,
    MapFormat,
    NpyMaps,
    SMIYCMaps,
    build_map_format,
    load_smiyc_hdf5,
)
from .outlier_prior import (
    PRIOR_MODES,
    estimate_outlier_prior,
    format_prior_table,
    prior_record,
    save_prior,
)
from .run_manifest import RUN_MANIFEST, RunManifestError, run_manifest
from .scenes import build_scene_dataloader, load_trained_model
from .sml_statistics import (
    ClassStatistics,
    estimate_sml_statistics,
    save_sml_statistics,
    sml_record,
)

__all__ = [
    'MAP_FORMATS', 'PRIOR_MODES', 'RUN_MANIFEST', 'AnomalyInferencer',
    'ClassStatistics', 'FishyscapesMaps', 'MapFormat', 'NpyMaps',
    'RunManifestError', 'SMIYCMaps', 'build_map_format',
    'build_scene_dataloader', 'config_score', 'estimate_outlier_prior',
    'estimate_sml_statistics', 'find_images', 'format_prior_table',
    'inference_pipeline', 'load_smiyc_hdf5', 'load_trained_model',
    'plan_outputs', 'prior_record', 'run_manifest', 'save_prior',
    'save_sml_statistics', 'sml_record', 'write_anomaly_maps'
]
