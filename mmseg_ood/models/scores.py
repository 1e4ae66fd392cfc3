"""Anomaly scores from segmentation logits: the one definition in the package.

A score is an object built from a config, once, and used everywhere a
score is needed (the metric, the overlays, the submission maps)::

    score = dict(type='EnergyScore', num_classes=19,
                 blur=dict(kernel_size=7, sigma=1.0))

Every score follows the same convention: **higher = more anomalous**, float32
whatever the logits' dtype. Only the first ``num_classes`` channels (the
inlier classes) enter a score, and ``num_classes`` is always explicit. A
model's predictions must hold exactly its inlier classes
(:func:`check_prediction_channels`, called by the metric and the tools): a
head with extra channels (PEBAL's abstention channel) is built as
``AbstentionEncoderDecoder(num_inlier_classes=K)``, which keeps them out of
its predictions, so no score and no class argmax ever sees them.

Scores:

* :class:`EnergyScore`: ``-T logsumexp(f / T)`` (Liu et al., NeurIPS 2020).
* :class:`MaxLogitScore`: ``-max_k f_k`` (Hendrycks et al., ICML 2022).
* :class:`MaxSoftmaxScore`: ``1 - max_k softmax_k``.
* :class:`EntropyScore`: the entropy of the softmax.
* :class:`StandardizedMaxLogitScore`: ``-(max_k f_k - mu_c) / sigma_c`` with
  the per-class statistics of the predicted class ``c`` (Jung et al.,
  ICCV 2021), read from a file that ``mmseg-ood-sml-statistics`` writes.

The functional core (:func:`inlier_logits`, :func:`energy`,
:func:`gaussian_blur`) is shared with the losses.

Example:
    >>> from mmseg_ood.models.scores import build_anomaly_score
    >>> score = build_anomaly_score(dict(type='EnergyScore', num_classes=19))
    >>> score(torch.randn(2, 19, 64, 128)).shape
    torch.Size([2, 64, 128])
"""
import hashlib
import json
import logging
import math
import os.path as osp
from abc import ABCMeta, abstractmethod
from typing import Dict, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor

from ..registry import ANOMALY_SCORES

__all__ = [
    'PAPER_BLUR', 'SML_STATISTICS_FORMAT', 'AnomalyScore', 'EnergyScore',
    'EntropyScore', 'MaxLogitScore', 'MaxSoftmaxScore',
    'StandardizedMaxLogitScore', 'build_anomaly_score', 'energy',
    'check_prediction_channels', 'gaussian_blur', 'inlier_logits',
    'load_sml_statistics'
]

#: The Gaussian blur of the score map in the paper's evaluation.
PAPER_BLUR = dict(kernel_size=7, sigma=1.0)
#: Value of the ``format`` key of an SML statistics file.
SML_STATISTICS_FORMAT = 'mmseg_ood.sml_statistics'


def inlier_logits(logits: Tensor, num_classes: int, dim: int = 1) -> Tensor:
    """The first ``num_classes`` channels of ``logits`` along ``dim``, float32.

    Args:
        logits (Tensor): Logits with the class axis at ``dim``.
        num_classes (int): Number of inlier classes K.
        dim (int): The class axis. Defaults to 1.

    Returns:
        Tensor: The inlier logits in float32.

    Raises:
        ValueError: If the logits have fewer than K channels.
    """
    channels = logits.shape[dim]
    if num_classes > channels:
        raise ValueError(f'num_classes={num_classes} inlier classes were '
                         f'requested, but the logits have only {channels} '
                         f'channels (shape {tuple(logits.shape)}).')
    if num_classes < channels:
        logits = logits.narrow(dim, 0, num_classes)
    return logits.float()


def check_prediction_channels(channels: int, num_classes: int,
                              source: str = 'the model') -> None:
    """Check that a model's predictions hold exactly its inlier classes.

    A segmentor stores ``seg_logits`` and argmaxes them into
    ``pred_sem_seg`` over all channels, so a head with channels beyond its
    inlier classes (PEBAL's abstention channel) must be built as
    ``AbstentionEncoderDecoder(num_inlier_classes=K)``, which keeps the extra
    channels out of its predictions. A score never silently picks the first
    K of more channels.

    Args:
        channels (int): Channels of the predicted ``seg_logits``.
        num_classes (int): Inlier classes K of the score or tool.
        source (str): What produced the logits, for the message.

    Raises:
        ValueError: If ``channels != num_classes``.
    """
    if channels == num_classes:
        return
    if channels > num_classes:
        raise ValueError(
            f'{source} predicts {channels} channels, but the score reads '
            f'num_classes={num_classes} inlier classes. If the extra '
            'channels are not classes (an abstention channel), build the '
            "model as dict(type='AbstentionEncoderDecoder', "
            f'num_inlier_classes={num_classes}, ...) so that they stay out '
            'of the class argmax and of every score; if they are classes, '
            f'set num_classes={channels}.')
    raise ValueError(
        f'{source} predicts {channels} channels, fewer than the '
        f'num_classes={num_classes} inlier classes the score reads. Set '
        'num_classes to the number of classes the model predicts.')


class _LogSumExp(torch.autograd.Function):
    """``logsumexp`` that keeps the softmax from its forward pass.

    Its gradient is that softmax, so the backward pass is one multiply
    instead of recomputing the exponentials (``torch.logsumexp`` saves its
    input and computes them again): about 40% less time for the energy of a
    training loss, for one logits-sized buffer of memory.
    """

    @staticmethod
    def forward(ctx, logits: Tensor, dim: int) -> Tensor:
        peak = logits.amax(dim, keepdim=True)
        prob = torch.exp(logits - peak)
        total = prob.sum(dim, keepdim=True)
        prob /= total
        ctx.save_for_backward(prob)
        ctx.dim = dim
        return (total.log_() + peak).squeeze(dim)

    @staticmethod
    def backward(ctx, grad: Tensor):
        prob, = ctx.saved_tensors
        return prob * grad.unsqueeze(ctx.dim), None


def energy(logits: Tensor, temperature: float = 1.0, dim: int = 1) -> Tensor:
    """Free energy ``E = -T * logsumexp(f / T)`` (low = inlier).

    Args:
        logits (Tensor): Inlier logits with the class axis at ``dim``.
        temperature (float): Temperature T. Defaults to 1.
        dim (int): The class axis. Defaults to 1.

    Returns:
        Tensor: The energy, with ``dim`` removed.
    """
    if temperature == 1:  # skips a full-size divide and its backward
        if logits.requires_grad and torch.is_grad_enabled():
            return -_LogSumExp.apply(logits, dim)
        return -torch.logsumexp(logits, dim=dim)
    return -temperature * torch.logsumexp(logits / temperature, dim=dim)


def _check_blur(blur: Optional[dict]) -> Optional[dict]:
    """``blur`` as ``dict(kernel_size=odd int, sigma=positive float)``."""
    if blur is None:
        return None
    if not isinstance(blur, dict) or set(blur) != {'kernel_size', 'sigma'}:
        raise ValueError(
            f'blur must be None or dict(kernel_size=..., sigma=...), e.g. '
            f'{PAPER_BLUR} (the paper); got {blur!r}.')
    kernel_size, sigma = blur['kernel_size'], blur['sigma']
    if (not isinstance(kernel_size, int) or isinstance(kernel_size, bool)
            or kernel_size < 1 or kernel_size % 2 != 1):
        raise ValueError(f'blur kernel_size must be a positive odd int, got '
                         f'{kernel_size!r}.')
    if not isinstance(sigma, (int, float)) or not sigma > 0:
        raise ValueError(f'blur sigma must be > 0, got {sigma!r}.')
    return dict(kernel_size=kernel_size, sigma=float(sigma))


def gaussian_blur(score: Tensor,
                  kernel_size: int = PAPER_BLUR['kernel_size'],
                  sigma: float = PAPER_BLUR['sigma']) -> Tensor:
    """Blur score maps of shape ``(N, H, W)`` with a normalised Gaussian.

    Borders are reflect-padded, as torchvision's ``GaussianBlur`` does.

    Args:
        score (Tensor): Score maps, shape (N, H, W).
        kernel_size (int): Odd kernel size. Defaults to 7.
        sigma (float): Standard deviation in pixels. Defaults to 1.

    Returns:
        Tensor: Blurred maps, same shape and dtype as ``score``.
    """
    if score.dim() != 3:
        raise ValueError('gaussian_blur expects score maps of shape '
                         f'(N, H, W), got {tuple(score.shape)}.')
    _check_blur(dict(kernel_size=kernel_size, sigma=sigma))
    half = kernel_size // 2
    x = torch.arange(kernel_size, dtype=torch.float32,
                     device=score.device) - half
    kernel_1d = torch.exp(-x**2 / (2 * sigma**2))
    kernel_1d = kernel_1d / kernel_1d.sum()
    maps = score.float().unsqueeze(1)
    pad_mode = 'reflect' if min(score.shape[-2:]) > half else 'replicate'
    maps = F.pad(maps, (half, half, half, half), mode=pad_mode)
    maps = F.conv2d(maps, kernel_1d.view(1, 1, 1, -1))
    maps = F.conv2d(maps, kernel_1d.view(1, 1, -1, 1))
    return maps.squeeze(1).to(score.dtype)


class AnomalyScore(metaclass=ABCMeta):
    """Base class of the anomaly scores.

    A subclass implements :meth:`compute` on the float32 inlier logits;
    calling the score object selects those logits, computes and, if asked,
    blurs the map.

    Args:
        num_classes (int): Number of inlier classes K: the first K logit
            channels are scored, any further channel never.
        blur (dict, optional): ``dict(kernel_size=7, sigma=1.0)`` blurs the
            score map with a normalised Gaussian (:data:`PAPER_BLUR`, the
            paper's evaluation). None (default): no blur.
    """

    #: Short name of the score in tables and result files.
    name = 'score'

    def __init__(self, num_classes: int,
                 blur: Optional[dict] = None) -> None:
        if (not isinstance(num_classes, int) or isinstance(num_classes, bool)
                or num_classes < 1):
            raise ValueError(
                f'{type(self).__name__} needs num_classes, the number of '
                f'inlier classes (e.g. 19 for Cityscapes), as a positive '
                f'int; got {num_classes!r}. A head may have more channels '
                '(an abstention channel); only the first num_classes are '
                'scored.')
        self.num_classes = num_classes
        self.blur = _check_blur(blur)

    @abstractmethod
    def compute(self, logits: Tensor) -> Tensor:
        """The score of float32 inlier logits (N, K, ...) -> (N, ...)."""

    def __call__(self, logits: Tensor) -> Tensor:
        """Score logits of shape (N, C, H, W) -> (N, H, W), or (N, C) ->
        (N,), float32, higher = more anomalous."""
        if logits.dim() not in (2, 4):
            raise ValueError(
                f'{type(self).__name__} expects logits of shape (N, C, H, W) '
                f'or (N, C), got {tuple(logits.shape)}.')
        score = self.compute(inlier_logits(logits, self.num_classes))
        if self.blur is not None:
            if score.dim() != 3:
                raise ValueError(
                    'blur needs spatial logits (N, C, H, W), got '
                    f'{tuple(logits.shape)}.')
            score = gaussian_blur(score, **self.blur)
        return score

    def _extra_settings(self) -> dict:
        """Settings of a subclass besides ``num_classes`` and ``blur``."""
        return {}

    def settings(self) -> dict:
        """The score's config, JSON-ready (what results and manifests
        record)."""
        return dict(type=type(self).__name__, num_classes=self.num_classes,
                    **self._extra_settings(), blur=self.blur)

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in self.settings().items()
                         if k != 'type')
        return f'{type(self).__name__}({args})'


@ANOMALY_SCORES.register_module()
class EnergyScore(AnomalyScore):
    """Free energy ``-T logsumexp(f / T)`` of the inlier logits.

    Args:
        num_classes (int): Number of inlier classes K.
        temperature (float): Temperature T. Defaults to 1.
        blur (dict, optional): See :class:`AnomalyScore`.
    """
    name = 'energy'

    def __init__(self, num_classes: int, temperature: float = 1.0,
                 blur: Optional[dict] = None) -> None:
        super().__init__(num_classes, blur)
        if not (isinstance(temperature, (int, float)) and temperature > 0):
            raise ValueError(f'temperature must be > 0, got {temperature!r}.')
        self.temperature = float(temperature)

    def compute(self, logits: Tensor) -> Tensor:
        return energy(logits, self.temperature)

    def _extra_settings(self) -> dict:
        return dict(temperature=self.temperature)


@ANOMALY_SCORES.register_module()
class MaxLogitScore(AnomalyScore):
    """Negative maximum logit ``-max_k f_k``."""
    name = 'max_logit'

    def compute(self, logits: Tensor) -> Tensor:
        return -logits.max(dim=1).values


@ANOMALY_SCORES.register_module()
class MaxSoftmaxScore(AnomalyScore):
    """One minus the maximum softmax probability."""
    name = 'max_softmax'

    def compute(self, logits: Tensor) -> Tensor:
        return 1 - torch.softmax(logits, dim=1).max(dim=1).values


@ANOMALY_SCORES.register_module()
class EntropyScore(AnomalyScore):
    """Entropy ``-sum_k p_k log p_k`` of the softmax (natural log)."""
    name = 'entropy'

    def compute(self, logits: Tensor) -> Tensor:
        log_prob = torch.log_softmax(logits, dim=1)
        return -(log_prob.exp() * log_prob).sum(dim=1)


def _usable(mean, std) -> bool:
    return (mean is not None and std is not None and math.isfinite(mean)
            and math.isfinite(std) and std > 0)


def load_sml_statistics(statistics: Union[str, dict],
                        num_classes: int) -> Dict[str, list]:
    """Read and check per-class max-logit statistics.

    A class without usable statistics (predicted for fewer than two
    training pixels, or with one max logit only) takes the statistics of
    all pixels (``global_mean``, ``global_std``); such classes are listed
    in ``fallback_classes`` and the score logs them.

    Args:
        statistics (str | dict): A JSON file written by
            ``mmseg-ood-sml-statistics``, or a dict with its ``mean``,
            ``std`` (one value per inlier class, or None), ``global_mean``
            and ``global_std``.
        num_classes (int): Number of inlier classes K.

    Returns:
        dict: ``mean`` and ``std`` (lists of K floats, std > 0) and
        ``fallback_classes`` (names).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the content does not hold K values, or neither a
            class nor the whole set has usable statistics.
    """
    source = 'SML statistics'
    if isinstance(statistics, str):
        source = f'SML statistics file {statistics}'
        if not osp.isfile(statistics):
            raise FileNotFoundError(
                f'{source} does not exist. Compute it from the trained '
                'model over its training set: mmseg-ood-sml-statistics '
                'CONFIG CHECKPOINT --out ' + statistics)
        try:
            with open(statistics, encoding='utf-8') as f:
                statistics = json.load(f)
        except (OSError, ValueError) as error:
            raise ValueError(f'{source} is not readable JSON ({error}); '
                             'compute it again.') from error
    if not isinstance(statistics, dict) or not all(
            isinstance(statistics.get(k), list) for k in ('mean', 'std')):
        raise ValueError(f'{source} must hold "mean" and "std" lists.')
    mean, std = list(statistics['mean']), list(statistics['std'])
    if len(mean) != num_classes or len(std) != num_classes:
        raise ValueError(
            f'{source} has {len(mean)} means and {len(std)} standard '
            f'deviations, but the score has num_classes={num_classes}.')
    classes = statistics.get('classes') or [str(k) for k in range(len(mean))]
    fallback = [k for k in range(num_classes) if not _usable(mean[k], std[k])]
    if fallback:
        overall = (statistics.get('global_mean'),
                   statistics.get('global_std'))
        if not _usable(*overall):
            raise ValueError(
                f'{source} has no usable statistics for the classes '
                f'{[classes[k] for k in fallback]} and none over all '
                'pixels; compute them over more training images '
                '(--num-samples).')
        for k in fallback:
            mean[k], std[k] = overall
    return dict(mean=[float(v) for v in mean], std=[float(v) for v in std],
                fallback_classes=[classes[k] for k in fallback])


@ANOMALY_SCORES.register_module()
class StandardizedMaxLogitScore(AnomalyScore):
    """Standardized Max Logits (Jung et al., ICCV 2021).

    With ``c`` the argmax of the K inlier logits and ``mu_c``, ``sigma_c``
    the mean and standard deviation of the max logit over the training
    pixels predicted as class ``c``, the score is
    ``-(max_k f_k - mu_c) / sigma_c``. Only the standardization of the SML
    paper is applied (not its boundary suppression or dilated smoothing).

    Classes that the model predicted for too few training pixels to have
    statistics are standardized with the statistics of all pixels; the
    score logs them (:func:`load_sml_statistics`).

    Args:
        num_classes (int): Number of inlier classes K.
        statistics (str | dict): The JSON file of
            ``mmseg-ood-sml-statistics`` (or its content as a dict with
            ``mean`` and ``std``), computed from the same model.
        blur (dict, optional): See :class:`AnomalyScore`.
    """
    name = 'sml'

    def __init__(self, num_classes: int, statistics: Union[str, dict],
                 blur: Optional[dict] = None) -> None:
        super().__init__(num_classes, blur)
        values = load_sml_statistics(statistics, num_classes)
        self.statistics = statistics if isinstance(statistics, str) else None
        self.fallback_classes = values.pop('fallback_classes')
        if self.fallback_classes:
            print_log(
                f'StandardizedMaxLogitScore: the classes '
                f'{self.fallback_classes} have no statistics of their own '
                '(too few training pixels predicted as them); they are '
                'standardized with the statistics of all pixels.',
                logger='current', level=logging.WARNING)
        self.mean = torch.tensor(values['mean'], dtype=torch.float32)
        self.std = torch.tensor(values['std'], dtype=torch.float32)
        digest = hashlib.sha256(
            json.dumps(values, sort_keys=True).encode()).hexdigest()
        self.digest = digest[:16]

    def compute(self, logits: Tensor) -> Tensor:
        top, cls = logits.max(dim=1)
        mean = self.mean.to(logits.device)[cls]
        std = self.std.to(logits.device)[cls]
        return -(top - mean) / std

    def _extra_settings(self) -> dict:
        return dict(statistics=self.statistics,
                    statistics_sha256=self.digest,
                    fallback_classes=self.fallback_classes)


def build_anomaly_score(cfg: Union[dict, AnomalyScore]) -> AnomalyScore:
    """Build a score from its config (or return a built one).

    Args:
        cfg (dict | AnomalyScore): e.g. ``dict(type='EnergyScore',
            num_classes=19, blur=dict(kernel_size=7, sigma=1.0))``.

    Returns:
        AnomalyScore: The score.

    Raises:
        ValueError: If the config has no known ``type``.
    """
    if isinstance(cfg, AnomalyScore):
        return cfg
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(
            'An anomaly score is configured as a dict with a type, e.g. '
            "dict(type='EnergyScore', num_classes=19, blur=dict("
            f'kernel_size=7, sigma=1.0)); got {cfg!r}.')
    kind = cfg['type']
    if isinstance(kind, str) and ANOMALY_SCORES.get(kind) is None:
        raise ValueError(
            f'Unknown anomaly score type {kind!r}; choose one of '
            f'{sorted(ANOMALY_SCORES.module_dict)}.')
    return ANOMALY_SCORES.build(dict(cfg))

