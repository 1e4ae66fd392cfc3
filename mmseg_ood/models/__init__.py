"""Models: losses and anomaly scores."""
from .losses import *  # noqa: F401,F403
from .scores import SCORE_TYPES, anomaly_score, energy, gaussian_blur

__all__ = ['SCORE_TYPES', 'anomaly_score', 'energy', 'gaussian_blur']
