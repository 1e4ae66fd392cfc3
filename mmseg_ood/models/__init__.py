"""Models: losses and anomaly scores."""
from .losses import (
    BalancedEnergyLoss,
    EnergyLoss,
    InlierCrossEntropyLoss,
    balanced_energy_loss,
    load_prior,
    sharpen_prior,
)
from .scores import (
    PAPER_BLUR,
    AnomalyScore,
    EnergyScore,
    EntropyScore,
    MaxLogitScore,
    MaxSoftmaxScore,
    StandardizedMaxLogitScore,
    build_anomaly_score,
    energy,
    gaussian_blur,
    inlier_logits,
)

__all__ = [
    'PAPER_BLUR', 'AnomalyScore', 'BalancedEnergyLoss', 'EnergyLoss',
    'EnergyScore', 'EntropyScore', 'InlierCrossEntropyLoss',
    'MaxLogitScore', 'MaxSoftmaxScore', 'StandardizedMaxLogitScore',
    'balanced_energy_loss', 'build_anomaly_score', 'energy',
    'gaussian_blur', 'inlier_logits', 'load_prior', 'sharpen_prior'
]
