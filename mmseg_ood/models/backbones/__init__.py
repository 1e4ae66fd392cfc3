"""Backbones: WiderResNet-38 A2 (NVIDIA's DeepWV3Plus trunk)."""
from .wider_resnet import WiderResNetA2

__all__ = ['WiderResNetA2']
