"""Stop training, with the fix, when outlier labels reach a plain loss."""
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS
from torch import nn

from ...utils.constants import (
    OUTLIER_INDEX,
    LabelRoleError,
    check_label_roles,
)
from ..outlier_exposure_checks import LABEL_DERIVING_HEADS, outlier_sources

__all__ = [
    'OutlierLabelError', 'OutlierLabelGuardHook', 'check_run_label_roles',
    'dataset_pastes_outliers', 'find_outlier_unaware_losses',
    'outlier_label_message'
]


class OutlierLabelError(ValueError):
    """Pasted outlier labels reach a loss that cannot take them."""


def find_outlier_unaware_losses(model: nn.Module) -> List[str]:
    """Name every head loss that does not handle the outlier label.

    A loss handles it when it has an ``outlier_index`` attribute, as
    :class:`InlierCrossEntropyLoss`, :class:`BalancedEnergyLoss` and
    :class:`EnergyLoss` do. Heads that derive their own targets from the
    label map (STDC's boundary head) never pass the label to their losses
    and are left out.

    Args:
        model (nn.Module): A segmentor (unwrapped).

    Returns:
        list[str]: e.g. ``['auxiliary_head.loss_decode (CrossEntropyLoss)']``.
    """
    return [
        f'{loss_name} ({type(loss).__name__})'
        for _, _, named in _head_losses(model) for loss_name, loss in named
        if getattr(loss, 'outlier_index', None) is None
    ]


def _head_losses(model: nn.Module):
    """(head name, head, [(loss name, loss)]) of every head with losses."""
    for name, module in model.named_modules():
        losses = getattr(module, 'loss_decode', None)
        if losses is None or isinstance(module, LABEL_DERIVING_HEADS):
            continue
        if isinstance(losses, nn.ModuleList):
            named = [(f'{name}.loss_decode[{i}]', loss)
                     for i, loss in enumerate(losses)]
        else:
            named = [(f'{name}.loss_decode', losses)]
        yield name, module, named


def check_run_label_roles(model: nn.Module, dataset,
                          outlier_index: int = OUTLIER_INDEX,
                          where: str = 'OutlierLabelGuardHook') -> None:
    """Check the label values of a training run against each other, once:
    every loss's ``outlier_index`` against its head's classes and
    ``ignore_index``, every outlier source of the training pipeline (e.g.
    ``PasteCocoObjects``) against the heads and the losses, and the hook's
    own ``outlier_index`` against the losses
    (:func:`~mmseg_ood.utils.constants.check_label_roles`).

    Args:
        model (nn.Module): The segmentor (unwrapped).
        dataset: The training dataset.
        outlier_index (int): The label the hook looks for.
        where (str): The hook, for the message.

    Raises:
        LabelRoleError: Two roles overlap, or the pipeline writes another
            outlier label than the losses read.
    """
    heads = []
    loss_labels = {}
    for head_name, head, named in _head_losses(model):
        classes = getattr(head, 'num_classes', None)
        ignore = getattr(head, 'ignore_index', None)
        heads.append((head_name, classes, ignore))
        for loss_name, loss in named:
            value = getattr(loss, 'outlier_index', None)
            if value is None:
                continue
            check_label_roles(
                value, ignore, classes,
                where=f'model.{loss_name} ({type(loss).__name__}; its head '
                f'has num_classes={classes}, ignore_index={ignore})')
            loss_labels.setdefault(value, []).append(f'model.{loss_name}')
    for source in outlier_sources(dataset):
        value = getattr(source, 'outlier_index', None)
        if value is None:
            continue
        name = (f'train_dataloader.dataset.pipeline: '
                f'{type(source).__name__}(outlier_index={value})')
        for head_name, classes, ignore in heads:
            check_label_roles(
                value, ignore, classes,
                where=f'{name} with model.{head_name} (num_classes='
                f'{classes}, ignore_index={ignore})')
        if loss_labels and value not in loss_labels:
            raise LabelRoleError(
                f'{name} writes outlier label {value}, but the losses read '
                f'{_labels_text(loss_labels)}; the pasted pixels would be '
                'an unknown label (or a class). Give the transform and the '
                'losses the same outlier_index.')
    if loss_labels and outlier_index not in loss_labels:
        raise LabelRoleError(
            f'{where}(outlier_index={outlier_index}) looks for another '
            f'outlier label than the losses read '
            f'({_labels_text(loss_labels)}). Set its outlier_index in '
            f"custom_hooks, e.g. dict(type='{where}', outlier_index="
            f'{next(iter(loss_labels))}).')


def _labels_text(loss_labels: dict) -> str:
    return '; '.join(f'{value} ({", ".join(names)})'
                     for value, names in sorted(loss_labels.items()))


def dataset_pastes_outliers(dataset) -> bool:
    """Whether a dataset (or one it wraps) has an outlier source: a
    transform with ``writes_outlier_label = True``."""
    return bool(outlier_sources(dataset))


def outlier_label_message(losses: List[str], outlier_index: int) -> str:
    """The error message naming the offending losses and the fix."""
    return (
        f'Pasted outlier pixels (label {outlier_index}) reach losses that '
        f'cannot take that label: {", ".join(losses)}. Every loss of a head, '
        'the auxiliary head too, receives the same label map. Replace '
        "dict(type='CrossEntropyLoss', ...) with "
        "dict(type='InlierCrossEntropyLoss', ...) (same arguments; it treats "
        f'label {outlier_index} as ignored), and add BalancedEnergyLoss or '
        'EnergyLoss to the decode head for the outliers.')


@HOOKS.register_module()
class OutlierLabelGuardHook(Hook):
    """Fail fast, with the fix, when outlier labels would crash a loss.

    A plain 19-class cross-entropy given label 254 fails deep inside PyTorch
    (an index error on CPU, a device-side assert on CUDA). Before training
    this hook checks the run's label values against each other
    (:func:`check_run_label_roles`) and lists the head losses that do not
    handle the outlier label. If
    there are any, it raises :class:`OutlierLabelError` at once when the
    training pipeline pastes outliers, and otherwise checks every batch for
    outlier labels before the model sees it. ``mmseg-ood-train`` adds it to
    every run; the shipped configs list it in ``custom_hooks``.

    Args:
        outlier_index (int): Label of pasted outliers. Default 254.
    """
    priority = 'VERY_HIGH'

    def __init__(self, outlier_index: int = OUTLIER_INDEX) -> None:
        self.outlier_index = outlier_index
        self._unaware: List[str] = []

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        check_run_label_roles(model, runner.train_dataloader.dataset,
                              self.outlier_index, type(self).__name__)
        self._unaware = find_outlier_unaware_losses(model)
        if self._unaware and dataset_pastes_outliers(
                runner.train_dataloader.dataset):
            raise OutlierLabelError(
                outlier_label_message(self._unaware, self.outlier_index))

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        if not self._unaware or not data_batch:
            return
        for sample in data_batch.get('data_samples', []):
            seg = getattr(sample, 'gt_sem_seg', None)
            if seg is not None and (seg.data == self.outlier_index).any():
                raise OutlierLabelError(
                    outlier_label_message(self._unaware, self.outlier_index))
