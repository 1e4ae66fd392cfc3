"""Losses: Balanced Energy, plain energy, and the inlier cross-entropy."""
from .balanced_energy_loss import (
                                   BalancedEnergyLoss,
                                   EnergyLoss,
                                   balanced_energy_loss,
                                   load_prior,
                                   sharpen_prior,
)
from .inlier_cross_entropy_loss import InlierCrossEntropyLoss

__all__ = [
    'BalancedEnergyLoss', 'EnergyLoss', 'InlierCrossEntropyLoss',
    'balanced_energy_loss', 'load_prior', 'sharpen_prior'
]
