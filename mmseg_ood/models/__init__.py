"""Models: losses, anomaly scores, and PEBAL's network (WiderResNet-38 A2
DeepLabV3+ with an abstention channel)."""
from .backbones import WiderResNetA2
from .decode_heads import DeepWV3PlusHead
from .losses import (
    BalancedEnergyLoss,
    EnergyLoss,
    InlierCrossEntropyLoss,
    PixelAbstentionLoss,
    balanced_energy_loss,
    load_prior,
    pixel_abstention_loss,
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
from .segmentors import AbstentionEncoderDecoder

__all__ = [
    'PAPER_BLUR', 'AbstentionEncoderDecoder', 'AnomalyScore',
    'BalancedEnergyLoss', 'DeepWV3PlusHead', 'EnergyLoss', 'EnergyScore',
    'EntropyScore', 'InlierCrossEntropyLoss', 'MaxLogitScore',
    'MaxSoftmaxScore', 'PixelAbstentionLoss', 'StandardizedMaxLogitScore',
    'WiderResNetA2', 'balanced_energy_loss', 'build_anomaly_score',
    'energy', 'gaussian_blur', 'inlier_logits', 'load_prior',
    'pixel_abstention_loss', 'sharpen_prior'
]
