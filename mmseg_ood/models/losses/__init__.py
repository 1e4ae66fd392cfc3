"""Losses: Balanced Energy, plain energy, the inlier cross-entropy and
PEBAL's pixel-wise abstention loss."""
from .balanced_energy_loss import (
                                   BalancedEnergyLoss,
                                   EnergyLoss,
                                   balanced_energy_loss,
                                   load_prior,
                                   sharpen_prior,
)
from .inlier_cross_entropy_loss import InlierCrossEntropyLoss
from .pixel_abstention_loss import PixelAbstentionLoss, pixel_abstention_loss

__all__ = [
    'BalancedEnergyLoss', 'EnergyLoss', 'InlierCrossEntropyLoss',
    'PixelAbstentionLoss', 'balanced_energy_loss', 'load_prior',
    'pixel_abstention_loss', 'sharpen_prior'
]
