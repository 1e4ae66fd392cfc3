"""Decode heads: DeepWV3Plus's DeepLabV3+ decoder."""
from .deepwv3plus_head import DeepWV3PlusHead

__all__ = ['DeepWV3PlusHead']
