"""mmseg_ood's own registry.

Losses, datasets, transforms, metrics, hooks and loops register in MMSeg's
registries (``mmseg.registry``), so MMSeg configs build them by name. The
anomaly scores are not MMSeg concepts and get their own registry.

Example:
    >>> from mmseg_ood.registry import ANOMALY_SCORES
    >>> score = ANOMALY_SCORES.build(dict(type='EnergyScore', num_classes=19))
"""
from mmengine.registry import Registry

__all__ = ['ANOMALY_SCORES']

#: Anomaly scores computed from segmentation logits
#: (:mod:`mmseg_ood.models.scores`).
ANOMALY_SCORES = Registry(
    'anomaly score', locations=['mmseg_ood.models.scores'])
