"""Every check of an outlier-exposure run, before and during its first
iterations."""
import logging
from typing import List, Optional, Tuple

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS
from torch import nn

from ...utils.constants import OUTLIER_INDEX
from ..outlier_exposure_checks import (
    OutlierExposureError,
    check_test_config,
    check_train_config,
    check_train_model,
    check_val_sets,
    find_outlier_losses,
    iterations_to_see_outliers,
    outlier_reach_probability,
)
from .outlier_label_guard_hook import OutlierLabelGuardHook

__all__ = [
    'OutlierExposureCheckHook'
]


@HOOKS.register_module()
class OutlierExposureCheckHook(OutlierLabelGuardHook):
    """Stop a run, before its first iteration, that cannot train or
    validate what it says; check that outliers reach the loss.

    Before the first iteration it raises
    :class:`~mmseg_ood.engine.outlier_exposure_checks.OutlierExposureError`
    (or :class:`OutlierLabelError`), naming the config key and the fix,
    when

    * a plain loss would see the outlier label (the checks of
      :class:`OutlierLabelGuardHook`, which this hook extends);
    * an outlier loss (Balanced Energy, energy, abstention) is configured
      but ``train_dataloader.dataset.pipeline`` has no outlier source;
    * an outlier loss sits on a head whose logits are not per-pixel
      (PointRend's point head), or a pixel sampler sits on a head that sees
      outlier labels;
    * the anomaly metric validates a set whose labels are not 0/1/255;
    * the config itself is inconsistent
      (:func:`~mmseg_ood.engine.outlier_exposure_checks.check_train_config`).

    It warns when ``test_evaluator`` has no anomaly metric. During the
    first ``N`` iterations it counts the outlier pixels that reach the
    outlier losses; ``N`` is the number of iterations after which a run
    that pastes shows none with a chance of at most ``miss_chance``. If
    none arrived, it warns, naming the pipeline, or raises when the
    pipeline pastes with probability 1. ``mmseg-ood-train`` adds the hook to
    every run; configs list it for MMSeg's own ``tools/train.py``::

        custom_hooks = [dict(type='OutlierExposureCheckHook')]

    Args:
        outlier_index (int): Label of pasted outliers. Default 254.
        miss_chance (float): Accepted chance that a run that pastes shows no
            outlier in the checked iterations. Default 1e-6.
        crop_keep (float): Share of pastes assumed to survive a
            ``RandomCrop`` that follows the paste (``RandomCropKeepOutlier``
            keeps them all). Default 0.1.
        check_iters (int, optional): Check after this many iterations
            instead of the computed ``N``.
        val_images (int): Label maps read from each validation set that is
            not an ``AnomalyDataset``. Default 3.

    Attributes:
        outlier_pixels (int | None): Outlier pixels that reached the
            outlier losses in the checked iterations (None before the
            check).
    """
    priority = 'VERY_HIGH'

    def __init__(self,
                 outlier_index: int = OUTLIER_INDEX,
                 miss_chance: float = 1e-6,
                 crop_keep: float = 0.1,
                 check_iters: Optional[int] = None,
                 val_images: int = 3) -> None:
        super().__init__(outlier_index)
        if not 0 < miss_chance < 1:
            raise ValueError(
                f'miss_chance must be in (0, 1), got {miss_chance}.')
        if not 0 < crop_keep <= 1:
            raise ValueError(f'crop_keep must be in (0, 1], got {crop_keep}.')
        if check_iters is not None and check_iters < 1:
            raise ValueError(
                f'check_iters must be >= 1 or None, got {check_iters}.')
        self.miss_chance = miss_chance
        self.crop_keep = crop_keep
        self.check_iters = check_iters
        self.val_images = val_images
        self.outlier_pixels: Optional[int] = None
        self._losses: List[Tuple[str, nn.Module]] = []
        self._handles: list = []
        self._seen: Optional[torch.Tensor] = None
        self._needed: Optional[int] = None
        self._iters = 0
        self._probability = 0.0

    # ------------------------------------------------------ before training
    def before_train(self, runner) -> None:
        cfg = getattr(runner, 'cfg', None)
        if cfg is not None:
            check_train_config(cfg)
        super().before_train(runner)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        dataloader = runner.train_dataloader
        self._probability = check_train_model(model, dataloader.dataset)
        check_val_sets(getattr(runner, 'val_loop', None), self.val_images)
        self._losses = find_outlier_losses(model)
        if self._losses and cfg is not None and cfg.get('test_evaluator'):
            try:
                check_test_config(cfg)
            except OutlierExposureError as error:
                print_log(f'{error} (Training is not affected.)',
                          logger='current', level=logging.WARNING)
        self._start_counting(dataloader)

    def _start_counting(self, dataloader) -> None:
        self.outlier_pixels, self._seen, self._iters = None, None, 0
        self._remove_handles()
        if not self._losses or self._probability <= 0:
            self._needed = None
            return
        reach = outlier_reach_probability(dataloader.dataset, self.crop_keep)
        frames = (getattr(dataloader, 'batch_size', None) or 1) * \
            get_world_size()
        self._needed = self.check_iters or iterations_to_see_outliers(
            reach, frames, self.miss_chance)
        for name, loss in self._losses:
            self._handles.append(
                loss.register_forward_pre_hook(
                    self._counter(name), with_kwargs=True))

    def _counter(self, name: str):

        def count(module, args, kwargs):
            logits = args[0] if args else kwargs.get('cls_score')
            label = args[1] if len(args) > 1 else kwargs.get('label')
            if isinstance(logits, torch.Tensor) and logits.dim() == 3:
                raise OutlierExposureError(
                    f'The outlier loss model.{name} ({type(module).__name__})'
                    f' receives logits of shape {tuple(logits.shape)} (point'
                    ' samples), not per-pixel logits (N, C, H, W). Put it on '
                    "the head whose logits the anomaly score reads (a "
                    "cascade's coarse head).")
            if isinstance(label, torch.Tensor):
                hits = (label == self.outlier_index).sum().detach()
                self._seen = hits if self._seen is None else self._seen + hits

        return count

    def _remove_handles(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    # -------------------------------------------------------- while training
    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if self._needed is None or self.outlier_pixels is not None:
            return
        self._iters += 1
        if self._iters < self._needed:
            return
        self._remove_handles()
        seen = self._seen if self._seen is not None else torch.zeros(
            (), dtype=torch.long)
        if get_world_size() > 1:
            all_reduce(seen)
        self.outlier_pixels = int(seen.item())
        names = ', '.join(f'model.{name}' for name, _ in self._losses)
        if self.outlier_pixels:
            print_log(
                f'OutlierExposureCheckHook: {self.outlier_pixels} outlier '
                f'pixels reached {names} in the first {self._iters} '
                'iteration(s).', logger='current')
            return
        message = (
            f'No outlier pixel reached {names} in the first {self._iters} '
            'iteration(s), although train_dataloader.dataset.pipeline pastes '
            f'outliers with probability {self._probability:.3g} (a run that '
            f'pastes shows some with a chance of at least '
            f'{1 - self.miss_chance:.6g}). Check that pipeline: a random crop '
            'after the paste may cut it out (use RandomCropKeepOutlier), a '
            'later transform may overwrite the labels, or the COCO bank may '
            'be empty.')
        if self._probability >= 1:
            raise OutlierExposureError(message)
        print_log(message, logger='current', level=logging.WARNING)

    def after_run(self, runner) -> None:
        self._remove_handles()
