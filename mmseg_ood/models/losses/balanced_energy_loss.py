"""Balanced Energy regularization (Choi, Jeong, Choi, CVPR 2023).

The loss regularizes the free energy ``E = -T logsumexp(f / T)`` of the
inlier logits: inlier pixels are pushed below ``m_in``, pasted auxiliary
outliers above ``m_out + alpha * Z_g1``, where ``Z_g(x) = sum_k softmax_k(x)
* pi_k^g / sum_j pi_j^g`` measures how much the outlier looks like a
*majority* class of the prior ``pi``. Outlier terms are weighted by
``Z_g2``. The plain energy regularization of Liu et al. (2020), used by
PEBAL and Energy-OE, is the special case ``alpha=0`` with a uniform prior,
registered as :class:`EnergyLoss`.

For ``(N, C, H, W)`` logits (segmentation) the loss is::

    L = 0.5 * (L_in + L_out) + w_sparse * ||E_out - alpha * Z_g1||_2
        + w_smooth * 0.5 * sum (dE/di^2 + dE/dj^2)

as in the public segmentation code; a batch without outlier pixels gives
``L_in`` + smoothness (no 0.5 factor). For ``(N, C)`` logits
(classification) it is ``L_in + L_out``, without spatial terms, as in the
public classification code.
"""
import os.path as osp
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ...utils.constants import (
    IGNORE_INDEX,
    OUTLIER_INDEX,
    PAPER_CITYSCAPES_PRIOR,
    check_label_roles,
)
from ...utils.file_io import read_json
from ..scores import energy, inlier_logits

__all__ = [
    'NAMED_PRIORS', 'BalancedEnergyLoss', 'EnergyLoss', 'PriorSpec',
    'balanced_energy_loss', 'check_labels', 'load_prior', 'sharpen_prior'
]

PriorSpec = Union[str, Sequence[float]]

#: Named priors accepted by ``prior=``.
NAMED_PRIORS = {'cityscapes_paper': PAPER_CITYSCAPES_PRIOR}


def load_prior(prior: PriorSpec,
               num_classes: Optional[int] = None) -> Optional[Tensor]:
    """Read and validate a class prior.

    Args:
        prior: ``'uniform'``; a name in :data:`NAMED_PRIORS`; a list of K
            non-negative numbers; or the path of a JSON file holding such a
            list, either bare or under the key ``"prior"``.
        num_classes (int, optional): Expected length K.

    Returns:
        Tensor or None: The prior as a float64 vector normalised to sum 1, or
        None for ``'uniform'`` (built once K is known).
    """
    if isinstance(prior, str):
        if prior == 'uniform':
            return None
        if prior in NAMED_PRIORS:
            values, source = NAMED_PRIORS[prior], f'named prior {prior!r}'
        elif prior.endswith('.json'):
            if not osp.isfile(prior):
                raise FileNotFoundError(
                    f'Prior file {prior!r} does not exist. Pass a list of '
                    f"class frequencies, 'uniform', one of "
                    f'{sorted(NAMED_PRIORS)}, or an existing JSON file '
                    'holding the list, bare or under the key "prior".')
            content = read_json(
                prior, 'Prior file',
                'Estimate it again (mmseg-ood-prior CONFIG CHECKPOINT '
                "--overwrite) or pass prior='uniform'.")
            values = content.get('prior') if isinstance(content,
                                                        dict) else content
            source = f'prior file {prior!r}'
            if not isinstance(values, list):
                raise ValueError(f'{source} must hold a list of numbers, '
                                 'bare or under the key "prior".')
        else:
            raise ValueError(
                f'prior={prior!r} is neither \'uniform\', a named prior '
                f'{sorted(NAMED_PRIORS)}, nor a path ending in .json.')
    else:
        values, source = prior, 'prior'
    try:
        tensor = torch.as_tensor([float(v) for v in values],
                                 dtype=torch.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f'{source} must be a list of numbers: {err}') from err
    if tensor.dim() != 1 or tensor.numel() == 0:
        raise ValueError(f'{source} must be a non-empty list of numbers.')
    if num_classes is not None and tensor.numel() != num_classes:
        raise ValueError(f'{source} has {tensor.numel()} entries but '
                         f'num_classes={num_classes}: give one frequency '
                         'per inlier class, in train-ID order.')
    if not torch.isfinite(tensor).all() or (tensor < 0).any():
        raise ValueError(f'{source} must hold finite, non-negative numbers; '
                         f'got {tensor.tolist()}.')
    if tensor.sum() <= 0:
        raise ValueError(f'{source} sums to 0; at least one class needs a '
                         'positive frequency.')
    return tensor / tensor.sum()


def sharpen_prior(prior, gamma: float):
    """``pi^g / sum_j pi_j^g``: sharpen (gamma > 1) or flatten a prior.

    Args:
        prior (Tensor | np.ndarray): Non-negative class frequencies.
        gamma (float): The power.

    Returns:
        Tensor | np.ndarray: The renormalised prior, same type as ``prior``.
    """
    powered = prior**gamma
    return powered / powered.sum()


def check_labels(label: Tensor, num_classes: int, outlier_index: int,
                 ignore_index: int, logits_shape: torch.Size,
                 where: str = 'the outlier loss'):
    """Check a label map against its logits; return the inlier and outlier
    masks.

    The label values themselves are checked first
    (:func:`~mmseg_ood.utils.constants.check_label_roles`): an
    ``outlier_index`` equal to the ignore label or inside the inlier classes
    is an error, not a silent mix of roles.

    Args:
        label (Tensor): Labels (N, H, W) or (N,).
        num_classes (int): Number of inlier classes K.
        outlier_index (int): Label of outlier pixels.
        ignore_index (int): Label of void pixels.
        logits_shape (torch.Size): Shape of the logits (N, C, ...).
        where (str): The loss, for the messages.

    Returns:
        tuple[Tensor, Tensor]: Bool masks of inlier and outlier pixels.

    Raises:
        LabelRoleError: The three label roles overlap.
        ValueError: If the shapes differ or a label is neither an inlier
            class, the outlier label nor the ignore label.
    """
    check_label_roles(outlier_index, ignore_index, num_classes, where)
    expected = tuple(logits_shape[:1]) + tuple(logits_shape[2:])
    if tuple(label.shape) != expected:
        raise ValueError(f'label shape {tuple(label.shape)} does not match '
                         f'logits {tuple(logits_shape)}; expected '
                         f'{expected}.')
    label = label.long()
    inlier = (label >= 0) & (label < num_classes)
    outlier = label == outlier_index
    unknown = ~(inlier | outlier | (label == ignore_index))
    if unknown.any():
        values = torch.unique(label[unknown]).tolist()[:10]
        raise ValueError(
            f'Labels {values} are neither an inlier class '
            f'(0..{num_classes - 1}), the outlier index ({outlier_index}) nor '
            f'the ignore index ({ignore_index}). Check num_classes and the '
            'dataset labels.')
    return inlier, outlier


def balanced_energy_loss(cls_score: Tensor,
                         label: Tensor,
                         prior_g1: Tensor,
                         prior_g2: Tensor,
                         num_classes: Optional[int] = None,
                         alpha: float = 5.0,
                         m_in: float = -12.0,
                         m_out: float = -6.0,
                         temperature: float = 1.0,
                         in_out_factor: Optional[float] = None,
                         sparse_weight: float = 5e-4,
                         smooth_weight: float = 3e-6,
                         detach_prior_weight: bool = False,
                         outlier_index: int = OUTLIER_INDEX,
                         ignore_index: int = IGNORE_INDEX) -> Tensor:
    """Balanced energy regularization of a batch (unweighted).

    Args:
        cls_score (Tensor): Logits, (N, C, H, W) or (N, C); only the first
            ``num_classes`` channels are used.
        label (Tensor): Labels, (N, H, W) or (N,): inlier classes 0..K-1,
            ``outlier_index`` for auxiliary outliers, ``ignore_index`` void.
        prior_g1 (Tensor): Prior sharpened with gamma1 (sets the margin).
        prior_g2 (Tensor): Prior sharpened with gamma2 (weights outliers).
        num_classes (int, optional): Number of inlier classes K. None uses
            every channel.
        alpha (float): Margin scale of ``Z_g1``.
        m_in (float): Inlier energy margin.
        m_out (float): Outlier energy margin.
        temperature (float): Energy temperature.
        in_out_factor (float, optional): Factor on ``L_in + L_out`` when the
            batch holds outliers. None: 0.5 for spatial logits (public
            segmentation code), 1.0 for (N, C) logits (classification code).
        sparse_weight (float): Weight of the outlier sparsity term
            (spatial inputs only).
        smooth_weight (float): Weight of the energy smoothness term
            (spatial inputs only).
        detach_prior_weight (bool): Stop the gradient through ``Z``. The
            paper's code does not.
        outlier_index (int): Label of outlier pixels.
        ignore_index (int): Label of void pixels.

    Returns:
        Tensor: A scalar float32 loss.
    """
    if cls_score.dim() not in (2, 4):
        raise ValueError('balanced_energy_loss expects logits of shape '
                         '(N, C, H, W) or (N, C), got '
                         f'{tuple(cls_score.shape)}.')
    with torch.autocast(device_type=cls_score.device.type, enabled=False):
        logits = inlier_logits(cls_score, num_classes or cls_score.shape[1])
        k = logits.shape[1]
        if prior_g1.numel() != k or prior_g2.numel() != k:
            raise ValueError(f'The prior has {prior_g1.numel()} entries but '
                             f'the loss sees K={k} inlier classes.')
        inlier, outlier = check_labels(label, k, outlier_index, ignore_index,
                                       cls_score.shape)
        e = energy(logits, temperature)
        # A masked mean instead of boolean indexing: no gather/scatter of
        # full-size tensors, and an empty term stays in the graph (DDP).
        loss = torch.where(inlier, F.relu(e - m_in).pow(2),
                           0.0).sum() / inlier.sum().clamp_min(1)
        if outlier.any():
            if logits.dim() == 4:
                # gather the (n, K) outlier logits once, by index
                batch, pixel = outlier.flatten(1).nonzero(as_tuple=True)
                selected = logits.flatten(2)[batch, :, pixel]
                e_out = e.flatten(1)[batch, pixel]
            else:
                selected, e_out = logits[outlier], e[outlier]
            prob = torch.softmax(selected, dim=-1)
            z1 = prob @ prior_g1.to(prob)
            z2 = prob @ prior_g2.to(prob)
            if detach_prior_weight:
                z1, z2 = z1.detach(), z2.detach()
            hinge = F.relu(m_out + alpha * z1 - e_out).pow(2)
            loss_out = (z2 * hinge).sum() / z2.sum().clamp_min(
                torch.finfo(z2.dtype).tiny)
            if in_out_factor is None:
                in_out_factor = 0.5 if e.dim() == 3 else 1.0
            loss = in_out_factor * (loss + loss_out)
            if sparse_weight and e.dim() == 3:
                loss = loss + sparse_weight * torch.linalg.vector_norm(
                    e_out - alpha * z1)
        if smooth_weight and e.dim() == 3:
            smooth = (e[:, 1:, :] - e[:, :-1, :]).pow(2).sum() + (
                e[:, :, 1:] - e[:, :, :-1]).pow(2).sum()
            loss = loss + smooth_weight * 0.5 * smooth
    return loss


@MODELS.register_module()
class BalancedEnergyLoss(nn.Module):
    """Balanced Energy regularization loss (Choi et al., CVPR 2023).

    A drop-in regularizer for any MMSeg decode head: put it in
    ``loss_decode`` beside :class:`InlierCrossEntropyLoss`. Defaults are the
    paper's segmentation settings (m_in=-12, m_out=-6, alpha=5,
    gamma1=gamma2=3, sparsity 5e-4, smoothness 3e-6, factor 0.5, weight 0.1).

    Args:
        prior: Class prior of auxiliary outliers over the K inlier classes:
            a list, a JSON file, ``'cityscapes_paper'`` or ``'uniform'``.
        num_classes (int, optional): Number of inlier classes K; only the
            first K logit channels enter energy and softmax. None: the
            prior's length, or every channel for a uniform prior.
        alpha (float): Margin scale: outlier margin is ``m_out + alpha*Z_g1``.
        gamma1 (float): Sharpening of the prior in the margin.
        gamma2 (float): Sharpening of the prior in the outlier weights.
        m_in (float): Inlier energy margin.
        m_out (float): Outlier energy margin.
        temperature (float): Energy temperature T.
        in_out_factor (float, optional): Factor on ``L_in + L_out`` in
            batches with outliers. None (default): 0.5 for (N, C, H, W)
            logits (the public segmentation code), 1.0 for (N, C) logits
            (the public classification code).
        sparse_weight (float): Outlier sparsity weight (spatial only).
        smooth_weight (float): Energy smoothness weight (spatial only).
        detach_prior_weight (bool): Stop gradients through ``Z``.
        outlier_index (int): Label of pasted outliers. Default 254.
        loss_weight (float): Weight of the loss in the total (the paper: 0.1).
        loss_name (str): Name in the log; the ``loss_`` prefix puts it into
            the backward graph.

    Example:
        >>> loss = BalancedEnergyLoss(prior='cityscapes_paper')
        >>> logits = torch.randn(2, 19, 8, 8, requires_grad=True)
        >>> label = torch.randint(0, 19, (2, 8, 8))
        >>> label[:, :2] = 254
        >>> loss(logits, label).backward()
    """

    def __init__(self,
                 prior: PriorSpec,
                 num_classes: Optional[int] = None,
                 alpha: float = 5.0,
                 gamma1: float = 3.0,
                 gamma2: float = 3.0,
                 m_in: float = -12.0,
                 m_out: float = -6.0,
                 temperature: float = 1.0,
                 in_out_factor: Optional[float] = None,
                 sparse_weight: float = 5e-4,
                 smooth_weight: float = 3e-6,
                 detach_prior_weight: bool = False,
                 outlier_index: int = OUTLIER_INDEX,
                 loss_weight: float = 0.1,
                 loss_name: str = 'loss_balanced_energy') -> None:
        super().__init__()
        if num_classes is not None and num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}.')
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}.')
        if alpha < 0:
            raise ValueError(f'alpha must be >= 0, got {alpha}.')
        for name, value in (('sparse_weight', sparse_weight),
                            ('smooth_weight', smooth_weight),
                            ('in_out_factor', in_out_factor or 0),
                            ('gamma1', gamma1), ('gamma2', gamma2)):
            if value < 0:
                raise ValueError(f'{name} must be >= 0, got {value}.')
        prior_tensor = load_prior(prior, num_classes)
        if prior_tensor is not None:
            num_classes = prior_tensor.numel()
            # Non-persistent: checkpoints stay loadable by plain MMSeg models.
            self.register_buffer(
                'prior_g1', sharpen_prior(prior_tensor, gamma1).float(),
                persistent=False)
            self.register_buffer(
                'prior_g2', sharpen_prior(prior_tensor, gamma2).float(),
                persistent=False)
        check_label_roles(outlier_index, None, num_classes,
                          where=type(self).__name__)
        self.uniform_prior = prior_tensor is None
        self.num_classes = num_classes
        self.alpha = alpha
        self.gamma1 = gamma1
        self.gamma2 = gamma2
        self.m_in = m_in
        self.m_out = m_out
        self.temperature = temperature
        self.in_out_factor = in_out_factor
        self.sparse_weight = sparse_weight
        self.smooth_weight = smooth_weight
        self.detach_prior_weight = detach_prior_weight
        self.outlier_index = outlier_index
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def _priors(self, cls_score: Tensor):
        """The two sharpened priors, on the logits' device."""
        if not self.uniform_prior:
            return self.prior_g1, self.prior_g2
        k = self.num_classes or cls_score.shape[1]
        uniform = cls_score.new_full((k, ), 1.0 / k, dtype=torch.float32)
        return uniform, uniform

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                ignore_index: int = IGNORE_INDEX,
                **kwargs) -> Tensor:
        """Compute the weighted loss.

        Args:
            cls_score (Tensor): Logits (N, C, H, W) or (N, C).
            label (Tensor): Labels (N, H, W) or (N,).
            weight (Tensor, optional): Per-pixel weights from a pixel
                sampler; not supported (raises).
            ignore_index (int): Void label, passed by the decode head.

        Returns:
            Tensor: ``loss_weight`` times the regularizer.
        """
        if weight is not None:
            raise ValueError(
                f'{type(self).__name__} does not support per-pixel weights; '
                'remove `sampler` from the decode head that uses it.')
        check_label_roles(self.outlier_index, ignore_index,
                          self.num_classes or cls_score.shape[1],
                          where=type(self).__name__)
        prior_g1, prior_g2 = self._priors(cls_score)
        return self.loss_weight * balanced_energy_loss(
            cls_score,
            label,
            prior_g1,
            prior_g2,
            num_classes=self.num_classes,
            alpha=self.alpha,
            m_in=self.m_in,
            m_out=self.m_out,
            temperature=self.temperature,
            in_out_factor=self.in_out_factor,
            sparse_weight=self.sparse_weight,
            smooth_weight=self.smooth_weight,
            detach_prior_weight=self.detach_prior_weight,
            outlier_index=self.outlier_index,
            ignore_index=ignore_index)

    @property
    def loss_name(self) -> str:
        """Name of the loss in the log (``loss_`` prefix: backpropagated)."""
        return self._loss_name


@MODELS.register_module()
class EnergyLoss(BalancedEnergyLoss):
    """Energy regularization (Liu et al., 2020): the unbalanced baseline.

    Exactly :class:`BalancedEnergyLoss` with ``alpha=0`` and a uniform prior:
    the margin is ``m_out`` for every outlier and all outliers weigh the
    same, so ``L_out = mean max(0, m_out - E)^2``. On (N, C) logits this is
    Liu et al.'s loss ``L_in + L_out`` (Energy-OE); on segmentation logits
    it carries the same 0.5 factor, sparsity and smoothness terms as the
    balanced loss, as PEBAL's energy regularization does (set
    ``sparse_weight=0, smooth_weight=0`` to drop them).

    Args:
        num_classes (int, optional): Number of inlier classes K.
        **kwargs: Any other argument of :class:`BalancedEnergyLoss` except
            ``prior``, ``alpha``, ``gamma1`` and ``gamma2``.
    """

    def __init__(self,
                 num_classes: Optional[int] = None,
                 loss_name: str = 'loss_energy',
                 **kwargs) -> None:
        fixed = {'prior', 'alpha', 'gamma1', 'gamma2'} & set(kwargs)
        if fixed:
            raise TypeError(f'EnergyLoss fixes {sorted(fixed)} (uniform '
                            'prior, alpha=0); use BalancedEnergyLoss to set '
                            'them.')
        super().__init__(
            prior='uniform',
            num_classes=num_classes,
            alpha=0.0,
            loss_name=loss_name,
            **kwargs)
