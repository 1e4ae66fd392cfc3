"""Anomaly scores from segmentation logits: the one definition in the package.

Every score follows the same convention: **higher = more anomalous**. Only
the first ``num_classes`` channels (the inlier classes) enter a score, so a
network with extra channels is scored over its inlier classes alone. Scores
are computed in float32 whatever the logits' dtype.

Example:
    >>> import torch
    >>> logits = torch.randn(2, 19, 64, 128)
    >>> score = anomaly_score(logits, 'energy', blur=True)
    >>> score.shape
    torch.Size([2, 64, 128])
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

SCORE_TYPES = ('energy', 'max_logit', 'max_softmax', 'entropy')

#: The Gaussian blur of the energy map used by the paper's evaluation.
PAPER_BLUR_KERNEL_SIZE = 7
PAPER_BLUR_SIGMA = 1.0


def inlier_logits(logits: Tensor, num_classes: Optional[int] = None,
                  dim: int = 1) -> Tensor:
    """The first ``num_classes`` channels of ``logits`` along ``dim``, float32.

    Args:
        logits (Tensor): Logits with the class axis at ``dim``.
        num_classes (int, optional): Number of inlier classes K. None keeps
            every channel.
        dim (int): The class axis. Defaults to 1.

    Returns:
        Tensor: The inlier logits in float32.
    """
    if num_classes is not None:
        channels = logits.shape[dim]
        if num_classes > channels:
            raise ValueError(f'num_classes={num_classes} inlier classes were '
                             f'requested, but the logits have only '
                             f'{channels} channels (shape '
                             f'{tuple(logits.shape)}).')
        logits = logits.narrow(dim, 0, num_classes)
    return logits.float()


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


def gaussian_blur(score: Tensor,
                  kernel_size: int = PAPER_BLUR_KERNEL_SIZE,
                  sigma: float = PAPER_BLUR_SIGMA) -> Tensor:
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
    if kernel_size % 2 != 1 or kernel_size < 1:
        raise ValueError(f'kernel_size must be a positive odd number, got '
                         f'{kernel_size}.')
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


def anomaly_score(logits: Tensor,
                  score_type: str = 'energy',
                  num_classes: Optional[int] = None,
                  temperature: float = 1.0,
                  blur: bool = False,
                  blur_kernel_size: int = PAPER_BLUR_KERNEL_SIZE,
                  blur_sigma: float = PAPER_BLUR_SIGMA) -> Tensor:
    """Per-pixel (or per-sample) anomaly score, higher = more anomalous.

    Args:
        logits (Tensor): Logits of shape (N, C, H, W) or (N, C).
        score_type (str): One of ``'energy'`` (``-T logsumexp(f/T)``),
            ``'max_logit'`` (``-max_k f_k``), ``'max_softmax'``
            (``1 - max_k softmax_k``) and ``'entropy'`` (of the softmax).
        num_classes (int, optional): Number of inlier classes K; only the
            first K channels are used. None uses all channels.
        temperature (float): Temperature of the energy score.
        blur (bool): Blur the score map with a Gaussian (the paper's
            evaluation: 7x7, sigma 1). Needs (N, C, H, W) logits.
        blur_kernel_size (int): Kernel size of the blur.
        blur_sigma (float): Sigma of the blur.

    Returns:
        Tensor: Float32 scores of shape (N, H, W) or (N,).
    """
    if score_type not in SCORE_TYPES:
        raise ValueError(f'Unknown anomaly score {score_type!r}; choose one '
                         f'of {SCORE_TYPES}.')
    if logits.dim() not in (2, 4):
        raise ValueError('anomaly_score expects logits of shape (N, C, H, W) '
                         f'or (N, C), got {tuple(logits.shape)}.')
    logits = inlier_logits(logits, num_classes)
    if score_type == 'energy':
        score = energy(logits, temperature)
    elif score_type == 'max_logit':
        score = -logits.max(dim=1).values
    elif score_type == 'max_softmax':
        score = 1 - torch.softmax(logits, dim=1).max(dim=1).values
    else:
        log_prob = torch.log_softmax(logits, dim=1)
        score = -(log_prob.exp() * log_prob).sum(dim=1)
    if blur:
        if score.dim() != 3:
            raise ValueError('blur=True needs spatial logits (N, C, H, W), '
                             f'got {tuple(logits.shape)}.')
        score = gaussian_blur(score, blur_kernel_size, blur_sigma)
    return score

