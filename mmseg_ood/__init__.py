"""mmseg_ood: anomaly segmentation with the Balanced Energy loss in MMSeg 1.x.

Importing this package

* checks the MMCV / MMSegmentation versions (exact install commands in the
  error);
* makes MMSeg importable with the ``mmcv-lite`` distribution
  (:mod:`mmseg_ood.utils.compat`; nothing changes with a full MMCV);
* puts the globals of MMEngine checkpoints on torch's ``weights_only``
  allow-list (:mod:`mmseg_ood.engine.checkpoint`);
* registers every loss, dataset, transform, metric, loop and hook of the
  project in MMSeg's registries, and the anomaly scores in
  :data:`mmseg_ood.registry.ANOMALY_SCORES`.

Configs switch it on with::

    custom_imports = dict(imports=['mmseg_ood'], allow_failed_imports=False)
"""
from .utils.compat import check_dependencies, install_mmcv_ops_stub
from .version import __version__

check_dependencies()
install_mmcv_ops_stub()

from . import datasets, engine, evaluation, models  # noqa: E402,F401
from .engine.checkpoint import allow_mmengine_checkpoints  # noqa: E402

allow_mmengine_checkpoints()

__all__ = ['__version__']
