"""Stop training, with the fix, when outlier labels reach a plain loss."""
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS
from torch import nn

from ...utils.constants import OUTLIER_INDEX

__all__ = [
    'OutlierLabelError', 'OutlierLabelGuardHook', 'dataset_pastes_outliers',
    'find_outlier_unaware_losses', 'outlier_label_message'
]


class OutlierLabelError(ValueError):
    """Pasted outlier labels reach a loss that cannot take them."""


def find_outlier_unaware_losses(model: nn.Module) -> List[str]:
    """Name every head loss that does not handle the outlier label.

    A loss handles it when it has an ``outlier_index`` attribute, as
    :class:`InlierCrossEntropyLoss`, :class:`BalancedEnergyLoss` and
    :class:`EnergyLoss` do.

    Args:
        model (nn.Module): A segmentor (unwrapped).

    Returns:
        list[str]: e.g. ``['auxiliary_head.loss_decode (CrossEntropyLoss)']``.
    """
    found = []
    for name, module in model.named_modules():
        losses = getattr(module, 'loss_decode', None)
        if losses is None:
            continue
        if isinstance(losses, nn.ModuleList):
            named = [(f'{name}.loss_decode[{i}]', loss)
                     for i, loss in enumerate(losses)]
        else:
            named = [(f'{name}.loss_decode', losses)]
        for loss_name, loss in named:
            if getattr(loss, 'outlier_index', None) is None:
                found.append(f'{loss_name} ({type(loss).__name__})')
    return found


def dataset_pastes_outliers(dataset) -> bool:
    """Whether a dataset (or one it wraps) has an outlier-pasting transform."""
    for child in getattr(dataset, 'datasets', []):
        if dataset_pastes_outliers(child):
            return True
    inner = getattr(dataset, 'dataset', None)
    if inner is not None and dataset_pastes_outliers(inner):
        return True
    pipeline = getattr(dataset, 'pipeline', None)
    transforms = getattr(pipeline, 'transforms', [])
    return any(hasattr(t, 'outlier_index') for t in transforms)


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
    this hook lists the head losses that do not handle the outlier label. If
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
