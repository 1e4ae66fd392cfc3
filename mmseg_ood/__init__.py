"""mmseg_ood: anomaly segmentation with the Balanced Energy loss in MMSeg 1.x.

Importing this package checks the MMCV / MMSegmentation versions, makes
MMSeg importable with ``mmcv-lite`` (see :mod:`mmseg_ood.utils.compat`) and
registers every loss, dataset, transform, metric and hook of the project in
MMSeg's registries. Configs switch it on with::

    custom_imports = dict(imports=['mmseg_ood'], allow_failed_imports=False)
"""
from .utils.compat import check_dependencies, install_mmcv_ops_stub
from .version import __version__

check_dependencies()
install_mmcv_ops_stub()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__']
