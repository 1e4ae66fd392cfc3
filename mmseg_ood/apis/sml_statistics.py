"""Per-class max-logit statistics of Standardized Max Logits (SML).

Jung et al. (ICCV 2021) standardize the max logit of a pixel by the mean
and standard deviation of the max logit over the training pixels that the
model predicts as the same class. :func:`estimate_sml_statistics` measures
them with a trained model over its training set (the clean frames at the
test pipeline's geometry, :mod:`.scenes`); :func:`sml_record` and
:func:`save_sml_statistics` write the file that
:class:`~mmseg_ood.models.scores.StandardizedMaxLogitScore` reads.

All pixels of the frames count (the statistics need no labels); the
standard deviation is the population one (``ddof=0``). Statistics are
accumulated per image in float64 and merged exactly (Chan et al.'s
pairwise update), so they do not depend on how the images are split
across processes beyond float rounding.

Example:
    >>> loader = build_scene_dataloader(cfg, paste=False)
    >>> stats = estimate_sml_statistics(model, loader, num_classes=19)
    >>> save_sml_statistics(sml_record(stats, classes), 'sml.json')
"""
from typing import Iterable, Optional, Sequence

import numpy as np
from mmengine.dist import all_gather_object
from torch import Tensor, nn

from ..models.scores import SML_STATISTICS_FORMAT, inlier_logits
from ..utils.file_io import write_json
from .scenes import predictions

__all__ = [
    'ClassStatistics', 'estimate_sml_statistics', 'save_sml_statistics',
    'sml_record'
]


class ClassStatistics:
    """Count, mean and sum of squared deviations of a value, per class.

    Args:
        num_classes (int): Number of classes K.

    Example:
        >>> stats = ClassStatistics(2)
        >>> stats.update(np.array([1., 3., 5.]), np.array([0, 0, 1]))
        >>> stats.mean.tolist(), stats.std.tolist()
        ([2.0, 5.0], [1.0, 0.0])
    """

    def __init__(self, num_classes: int) -> None:
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}.')
        self.count = np.zeros(num_classes, dtype=np.int64)
        self.mean = np.zeros(num_classes, dtype=np.float64)
        self.m2 = np.zeros(num_classes, dtype=np.float64)

    @property
    def num_classes(self) -> int:
        return int(self.count.size)

    @property
    def std(self) -> np.ndarray:
        """Population standard deviation per class (0 without values)."""
        return np.sqrt(self.m2 / np.maximum(self.count, 1))

    def merge(self, count: np.ndarray, mean: np.ndarray,
              m2: np.ndarray) -> None:
        """Add the statistics of other values (same classes)."""
        total = self.count + count
        safe = np.maximum(total, 1)
        delta = mean - self.mean
        self.mean = self.mean + delta * count / safe
        self.m2 = self.m2 + m2 + delta**2 * self.count * count / safe
        self.count = total

    def update(self, values: np.ndarray, classes: np.ndarray) -> None:
        """Add values with their classes (flat arrays of one length)."""
        values = np.asarray(values, dtype=np.float64).ravel()
        classes = np.asarray(classes).ravel()
        k = self.num_classes
        count = np.bincount(classes, minlength=k)[:k]
        mean = np.bincount(classes, values, minlength=k)[:k] / np.maximum(
            count, 1)
        m2 = np.bincount(
            classes, (values - mean[classes])**2, minlength=k)[:k]
        self.merge(count, mean, m2)

    def pooled(self) -> 'ClassStatistics':
        """The statistics of all values, whatever their class (one
        class)."""
        total = ClassStatistics(1)
        for k in range(self.num_classes):
            total.merge(self.count[k:k + 1], self.mean[k:k + 1],
                        self.m2[k:k + 1])
        return total

    def state(self) -> tuple:
        """``(count, mean, m2)`` for :meth:`merge` elsewhere."""
        return self.count, self.mean, self.m2


def max_logits(seg_logits: Tensor, num_classes: int) -> tuple:
    """Max logit and predicted class of every pixel of one image.

    Args:
        seg_logits (Tensor): (C, H, W) logits with C >= K.
        num_classes (int): Number of inlier classes K.

    Returns:
        tuple: float64 max logits and int64 classes, flat numpy arrays.
    """
    logits = inlier_logits(seg_logits, num_classes, dim=0)
    top, classes = logits.max(dim=0)
    return (top.double().cpu().numpy().ravel(),
            classes.cpu().numpy().ravel())


def estimate_sml_statistics(model: nn.Module, dataloader: Iterable,
                            num_classes: int,
                            show_progress: bool = True) -> ClassStatistics:
    """Max-logit statistics per predicted class over a dataloader.

    Every process accumulates its own images; the states of all processes
    are gathered and merged in rank order.

    Args:
        model (nn.Module): An MMSeg segmentor (or a DDP wrapper of one).
        dataloader (Iterable): Batches of training frames.
        num_classes (int): Number of inlier classes K.
        show_progress (bool): Show a progress bar on the main process.

    Returns:
        ClassStatistics: Over the pixels of all processes.
    """
    stats = ClassStatistics(num_classes)
    for sample in predictions(model, dataloader, num_classes,
                              show_progress):
        stats.update(*max_logits(sample.seg_logits.data, num_classes))
    total = ClassStatistics(num_classes)
    for state in all_gather_object(stats.state()):
        total.merge(*state)
    return total


def sml_record(stats: ClassStatistics,
               class_names: Optional[Sequence[str]] = None,
               **meta) -> dict:
    """The JSON record of SML statistics.

    Classes predicted for fewer than two pixels get ``null`` mean and std;
    the score standardizes them with ``global_mean`` and ``global_std``,
    the statistics of all pixels.

    Args:
        stats (ClassStatistics): From :func:`estimate_sml_statistics`.
        class_names (Sequence[str], optional): The K class names.
        **meta: Extra JSON-serialisable entries (config, checkpoint...).

    Returns:
        dict: ``format``, ``mean``, ``std``, ``count``, ``classes``,
        ``global_mean``, ``global_std`` and ``meta``'s entries.
    """
    if class_names is not None and len(class_names) != stats.num_classes:
        raise ValueError(f'{len(class_names)} class names for '
                         f'{stats.num_classes} classes.')
    usable = stats.count >= 2
    std = stats.std
    overall = stats.pooled()
    record = dict(
        format=SML_STATISTICS_FORMAT,
        mean=[float(m) if ok else None for m, ok in zip(stats.mean, usable)],
        std=[float(s) if ok else None for s, ok in zip(std, usable)],
        count=[int(c) for c in stats.count],
        classes=list(class_names) if class_names is not None else None,
        global_mean=float(overall.mean[0]),
        global_std=float(overall.std[0]))
    record.update(meta)
    return record


def save_sml_statistics(record: dict, path: str,
                        overwrite: bool = False) -> None:
    """Write an SML record as JSON, atomically (never over an existing file
    unless ``overwrite``)."""
    write_json(path, record, overwrite)
