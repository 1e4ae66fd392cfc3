"""PEBAL's pixel-wise abstention loss (PAL; Tian et al., ECCV 2022).

The head has K inlier-class channels and one abstention ("reservation")
channel after them. With ``p`` the softmax over all K + 1 channels, the
reward ``a`` is the Gaussian-blurred (7x7, sigma 1) square of the inlier
logits' ``logsumexp`` and ``r = p_res / a``. The batch is split per image
by whether it holds outlier pixels:

* images without outliers: ``-mean_{non-void} log(p_y + r)``;
* images with outliers: ``-(mean_{inlier} log(p_y + r) + w * T_out)`` with
  the outlier term ``T_out`` of the public code (default): the mean over
  (outlier pixel, inlier class c) pairs of ``log(max(p_c + r, 1e-7))``; or
  the paper's Eq. 3 as written (``outlier_term='eq3'``): the mean over
  outlier pixels of ``log(max(p_res + r, 1e-7))``.

The loss is the sum of both parts (an empty part contributes 0, where the
public code gives NaN); the paper adds ``0.1 x`` the energy loss through a
second entry of ``loss_decode``. Means are pooled over the pixels of each
part, so the loss depends on the per-GPU batch (PEBAL: 8 images, 1 GPU).
"""
from typing import Optional

import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from ...utils.constants import (
    IGNORE_INDEX,
    OUTLIER_INDEX,
    check_label_roles,
)
from ..scores import PAPER_BLUR, gaussian_blur
from .balanced_energy_loss import check_labels

__all__ = ['PixelAbstentionLoss', 'pixel_abstention_loss']

#: Outlier terms: the public code's (all inlier classes) and Eq. 3's.
OUTLIER_TERMS = ('code', 'eq3')
#: Lower clamp of the outlier term's argument (the public code).
_OUTLIER_CLAMP = 1e-7


def pixel_abstention_loss(cls_score: Tensor,
                          label: Tensor,
                          num_classes: int,
                          outlier_weight: float = 0.1,
                          outlier_term: str = 'code',
                          reward_blur: dict = PAPER_BLUR,
                          outlier_index: int = OUTLIER_INDEX,
                          ignore_index: int = IGNORE_INDEX) -> Tensor:
    """PAL of a batch (unweighted), in float32 whatever the autocast state.

    Args:
        cls_score (Tensor): Logits (N, K + 1, H, W), the abstention channel
            last.
        label (Tensor): Labels (N, H, W): 0..K-1, ``outlier_index``,
            ``ignore_index``. Never modified.
        num_classes (int): Number of inlier classes K.
        outlier_weight (float): Weight ``w`` of the outlier term.
        outlier_term (str): ``'code'`` or ``'eq3'``, see the module doc.
        reward_blur (dict): ``kernel_size`` and ``sigma`` of the reward's
            Gaussian blur.
        outlier_index (int): Label of outlier pixels.
        ignore_index (int): Label of void pixels.

    Returns:
        Tensor: A scalar float32 loss.
    """
    if cls_score.dim() != 4 or cls_score.shape[1] != num_classes + 1:
        raise ValueError(
            f'PixelAbstentionLoss expects logits (N, {num_classes + 1}, H, '
            f'W): num_classes={num_classes} inlier classes and the '
            f'abstention channel last; got {tuple(cls_score.shape)}. Give '
            'the decode head num_classes + 1 output channels.')
    if outlier_term not in OUTLIER_TERMS:
        raise ValueError(f'outlier_term must be one of {OUTLIER_TERMS}, got '
                         f'{outlier_term!r}.')
    with torch.autocast(device_type=cls_score.device.type, enabled=False):
        logits = cls_score.float()
        inlier, outlier = check_labels(label, num_classes, outlier_index,
                                       ignore_index, logits.shape,
                                       where='PixelAbstentionLoss')
        prob = torch.softmax(logits, dim=1)
        reward = gaussian_blur(
            torch.logsumexp(logits[:, :num_classes], dim=1).pow(2),
            **reward_blur)
        boost = prob[:, num_classes] / reward
        target = torch.where(inlier, label.long(), 0)
        p_target = prob.gather(1, target.unsqueeze(1)).squeeze(1)
        # log only where selected: no 0 * inf in the backward of a masked
        # pixel
        log_in = torch.log(torch.where(inlier, p_target + boost, 1.0))
        in_sum = log_in.flatten(1).sum(1)
        in_count = inlier.flatten(1).sum(1)
        has_outlier = outlier.flatten(1).any(1)

        def inlier_mean(images: Tensor) -> Tensor:
            return in_sum[images].sum() / in_count[images].sum().clamp_min(1)

        loss = -inlier_mean(~has_outlier)
        if has_outlier.any():
            batch, pixel = outlier.flatten(1).nonzero(as_tuple=True)
            boost_out = boost.flatten(1)[batch, pixel].unsqueeze(1)
            if outlier_term == 'code':
                p_out = prob.flatten(2)[batch, :num_classes, pixel]
            else:
                p_out = prob.flatten(2)[batch, num_classes:, pixel]
            term = torch.log((p_out + boost_out).clamp_min(_OUTLIER_CLAMP))
            loss = loss - (inlier_mean(has_outlier) +
                           outlier_weight * term.mean())
    return loss


@MODELS.register_module()
class PixelAbstentionLoss(nn.Module):
    """PEBAL's pixel-wise abstention loss as an MMSeg decode-head loss.

    Receives the same ``(seg_logits, seg_label)`` as every other loss of the
    head: logits with K inlier channels plus the abstention channel, labels
    with inlier classes, the outlier label and void. The paper's objective is
    this loss plus ``0.1 x`` :class:`BalancedEnergyLoss` (or
    :class:`EnergyLoss` for PEBAL), both in ``loss_decode``.

    Args:
        num_classes (int): Number of inlier classes K; the head has K + 1
            channels. Default 19 (Cityscapes).
        outlier_weight (float): Weight of the outlier term. Default 0.1.
        outlier_term (str): ``'code'`` (default): the public code's term over
            all inlier classes at each outlier pixel; ``'eq3'``: the
            abstention channel alone, as the paper's Eq. 3 reads.
        reward_blur (dict): Gaussian blur of the reward. Default 7x7,
            sigma 1.
        outlier_index (int): Label of pasted outliers. Default 254.
        loss_weight (float): Weight of the loss. Default 1.
        loss_name (str): Name in the log. Default ``'loss_pal'``.

    Example:
        >>> loss = PixelAbstentionLoss(num_classes=19)
        >>> logits = torch.randn(2, 20, 16, 16, requires_grad=True)
        >>> label = torch.randint(0, 19, (2, 16, 16))
        >>> label[1, :4, :4] = 254
        >>> loss(logits, label).backward()
    """

    def __init__(self,
                 num_classes: int = 19,
                 outlier_weight: float = 0.1,
                 outlier_term: str = 'code',
                 reward_blur: dict = PAPER_BLUR,
                 outlier_index: int = OUTLIER_INDEX,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_pal') -> None:
        super().__init__()
        if (not isinstance(num_classes, int) or isinstance(num_classes, bool)
                or num_classes < 1):
            raise ValueError('num_classes must be the number of inlier '
                             f'classes, an int >= 1; got {num_classes!r}.')
        if outlier_term not in OUTLIER_TERMS:
            raise ValueError(f'outlier_term must be one of {OUTLIER_TERMS}, '
                             f'got {outlier_term!r}.')
        if outlier_weight < 0:
            raise ValueError(f'outlier_weight must be >= 0, got '
                             f'{outlier_weight}.')
        check_label_roles(outlier_index, None, num_classes,
                          where='PixelAbstentionLoss')
        gaussian_blur(torch.zeros(1, 1, 1), **reward_blur)  # validates it
        self.num_classes = num_classes
        self.outlier_weight = outlier_weight
        self.outlier_term = outlier_term
        self.reward_blur = dict(reward_blur)
        self.outlier_index = outlier_index
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                ignore_index: int = IGNORE_INDEX,
                **kwargs) -> Tensor:
        """Compute the weighted loss.

        Args:
            cls_score (Tensor): Logits (N, K + 1, H, W).
            label (Tensor): Labels (N, H, W).
            weight (Tensor, optional): Per-pixel weights of a pixel sampler;
                not supported (raises).
            ignore_index (int): Void label, passed by the decode head.

        Returns:
            Tensor: ``loss_weight`` times the loss.
        """
        if weight is not None:
            raise ValueError(
                'PixelAbstentionLoss does not support per-pixel weights; '
                'remove `sampler` from the decode head that uses it.')
        return self.loss_weight * pixel_abstention_loss(
            cls_score, label, self.num_classes,
            outlier_weight=self.outlier_weight,
            outlier_term=self.outlier_term,
            reward_blur=self.reward_blur,
            outlier_index=self.outlier_index,
            ignore_index=ignore_index)

    @property
    def loss_name(self) -> str:
        """Name of the loss in the log (``loss_`` prefix: backpropagated)."""
        return self._loss_name
