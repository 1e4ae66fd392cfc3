"""Anomaly heat-map overlays of the first images of each evaluated set."""
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...evaluation.metrics.anomaly_metric import AnomalyMetric
from ...utils.constants import IGNORE_INDEX
from ...visualization import save_anomaly_overlay, score_range

__all__ = [
    'AnomalyOverlayHook'
]


@HOOKS.register_module()
class AnomalyOverlayHook(Hook):
    """Write heat-map overlays of the anomaly score during testing.

    For the first ``num_images`` images of every set, the score the set's
    :class:`~mmseg_ood.evaluation.AnomalyMetric` computes (its score object)
    is drawn over the image, with the
    ground-truth anomaly outlined and void hatched, to
    ``<out_dir>/<set>/<image name>.png``. All pictures of a set share one
    colour range: the 1st-99th percentile of the valid scores of its first
    image, printed on the colour bar. ``mmseg-ood-test --overlays N`` adds
    this hook.

    Args:
        num_images (int): Images per set. Defaults to 4.
        out_dir (str, optional): Output folder; defaults to
            ``<log_dir>/overlays``.
    """
    priority = 'LOW'

    def __init__(self, num_images: int = 4,
                 out_dir: Optional[str] = None) -> None:
        if num_images < 1:
            raise ValueError(f'num_images must be >= 1, got {num_images}.')
        self.num_images = num_images
        self.out_dir = out_dir
        self._written: Dict[str, int] = {}
        self._ranges: Dict[str, Tuple[float, float]] = {}

    def before_test(self, runner) -> None:
        self._written.clear()
        self._ranges.clear()
        if self.out_dir is None:
            self.out_dir = osp.join(runner.log_dir, 'overlays')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        if not is_main_process():  # the first images of the main process
            return
        loop = runner.test_loop
        name = getattr(loop, 'current_set', None) or 'test'
        metric = next((m for m in loop.evaluator.metrics
                       if isinstance(m, AnomalyMetric)), None)
        if metric is None:
            return
        for sample in outputs or []:
            if self._written.get(name, 0) >= self.num_images:
                return
            with torch.no_grad():
                score = metric.score(
                    sample.seg_logits.data[None])[0].cpu().numpy()
            label = None
            if 'gt_sem_seg' in sample:
                label = sample.gt_sem_seg.data[0].cpu().numpy().astype(
                    np.uint8)
            if name not in self._ranges:
                self._ranges[name] = score_range(
                    [score], None if label is None else [label],
                    ignore_index=getattr(metric, 'ignore_index',
                                         IGNORE_INDEX))
            vmin, vmax = self._ranges[name]
            stem = osp.splitext(osp.basename(sample.img_path))[0]
            save_anomaly_overlay(
                osp.join(self.out_dir, name.replace('/', '_'),
                         stem + '.png'),
                sample.img_path, score, label, vmin=vmin, vmax=vmax)
            self._written[name] = self._written.get(name, 0) + 1
