"""Shared constants and dependency checks."""
from .constants import (
                        CITYSCAPES_CLASSES,
                        IGNORE_INDEX,
                        OUTLIER_INDEX,
                        PAPER_CITYSCAPES_PRIOR,
)

__all__ = [
    'CITYSCAPES_CLASSES', 'IGNORE_INDEX', 'OUTLIER_INDEX',
    'PAPER_CITYSCAPES_PRIOR'
]
