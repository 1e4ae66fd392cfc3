"""Data transforms."""
from .paste_coco_objects import PasteCocoObjects

__all__ = ['PasteCocoObjects']
