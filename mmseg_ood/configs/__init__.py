"""Config pieces that MMSeg configs import from the installed package.

MMEngine resolves ``_base_`` files of OpenMMLab packages only
(``mmseg::``), so mmseg_ood ships its reusable config pieces as functions
that a config imports, from an editable or a regular install alike. A
config that imports them is an ordinary (old-style) MMEngine config as long
as its ``_base_`` line comes **before** the import; MMEngine takes a config
whose first statement imports a package for a pure-Python (lazy) config::

    _base_ = ['mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py']
    from mmseg_ood.configs import anomaly_catalogue, several_sets  # noqa

    anomaly_sets = anomaly_catalogue()          # every benchmark set
    val_dataloader = several_sets(anomaly_sets, ['fs_laf'])
    test_dataloader = several_sets(anomaly_sets,
                                   ['fs_laf', 'fs_static', 'road_anomaly'])
    val_cfg = dict(type='AnomalySetsValLoop')
    test_cfg = dict(type='AnomalySetsTestLoop')

Functions, unlike module-level dicts, give each config its own copies:
editing one config's sets never changes another's.
``mmseg-ood-switch-on`` writes configs that use these pieces.
"""
from .anomaly_sets import (
    TEST_LOOP,
    VAL_LOOP,
    anomaly_catalogue,
    anomaly_test_pipeline,
    several_sets,
)

__all__ = [
    'TEST_LOOP', 'VAL_LOOP', 'anomaly_catalogue', 'anomaly_test_pipeline',
    'several_sets'
]
