"""A built-in SYNTHETIC demo world (fake street scenes in real data layouts).

Nothing in this subpackage uses or contains real data: it draws street
scenes, COCO-style outlier objects and anomaly test sets procedurally, so the
whole pipeline can be tried without downloading Cityscapes, COCO or
Fishyscapes. See :func:`make_demo_world`.
"""
from .world import make_demo_world

__all__ = ['make_demo_world']
