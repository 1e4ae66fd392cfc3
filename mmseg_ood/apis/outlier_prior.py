"""Estimate the outlier class prior of Balanced Energy with a trained model.

The paper fixes the prior ``pi`` before training: a pretrained segmenter
looks at training frames with pasted COCO objects, and ``pi_k`` is the share
of pasted (outlier) pixels it assigns to inlier class ``k`` (Choi et al.,
CVPR 2023, section 3). This module does that for any MMSeg model and
config, over the seeded pasted scenes of :mod:`.scenes`:

1. :func:`estimate_outlier_prior` runs the model's test-time forward and
   counts, over outlier pixels (label 254), either the argmax class of the
   first K logits or their summed softmax. Counts are summed over
   processes, so a distributed run gives the counts of a single process.
2. :func:`prior_record` and :func:`save_prior` write the JSON that
   ``BalancedEnergyLoss(prior='...json')`` reads.

Example:
    >>> loader = build_scene_dataloader(cfg, paste=True, num_samples=1000)
    >>> counts = estimate_outlier_prior(model, loader, num_classes=19)
    >>> record = prior_record(counts, loader.dataset.metainfo['classes'],
    ...                       mode='argmax', num_samples=1000)
    >>> save_prior(record, 'work_dirs/x/outlier_prior.json')
"""
from typing import Iterable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce
from torch import Tensor, nn

from ..models.scores import inlier_logits
from ..utils.constants import OUTLIER_INDEX
from ..utils.file_io import write_json
from .scenes import predictions

__all__ = [
    'PRIOR_MODES', 'count_outlier_predictions', 'estimate_outlier_prior',
    'format_prior_table', 'prior_record', 'save_prior'
]

#: How outlier pixels are counted: the argmax class, or the softmax mass.
PRIOR_MODES = ('argmax', 'softmax')


def _check_mode(mode: str) -> None:
    if mode not in PRIOR_MODES:
        raise ValueError(f'mode={mode!r} is not one of {PRIOR_MODES}.')


def count_outlier_predictions(seg_logits: Tensor,
                              label: Tensor,
                              num_classes: int,
                              mode: str = 'argmax',
                              outlier_index: int = OUTLIER_INDEX) -> Tensor:
    """Per-class counts of one image's outlier pixels.

    Args:
        seg_logits (Tensor): Logits of one image, (C, H, W) with C >= K.
            Resized bilinearly to the label's size if they differ.
        label (Tensor): Its label map, (H, W) or (1, H, W).
        num_classes (int): Number of inlier classes K (the first K
            channels).
        mode (str): ``'argmax'``: how many outlier pixels have class k as
            their argmax; ``'softmax'``: the summed softmax probability of
            class k over outlier pixels. Both sum to the outlier pixel count.
        outlier_index (int): Label of outlier pixels.

    Returns:
        Tensor: float64 counts of shape (K,), on the CPU.
    """
    _check_mode(mode)
    if seg_logits.dim() != 3:
        raise ValueError('seg_logits must have shape (C, H, W), got '
                         f'{tuple(seg_logits.shape)}.')
    if label.dim() == 3 and label.shape[0] == 1:
        label = label[0]
    if label.dim() != 2:
        raise ValueError('label must have shape (H, W) or (1, H, W), got '
                         f'{tuple(label.shape)}.')
    logits = inlier_logits(seg_logits, num_classes, dim=0)
    if logits.shape[-2:] != label.shape:
        logits = F.interpolate(
            logits[None], size=tuple(label.shape), mode='bilinear',
            align_corners=False)[0]
    outlier = (label == outlier_index).to(logits.device)
    picked = logits[:, outlier]  # (K, n)
    if mode == 'argmax':
        counts = torch.bincount(
            picked.argmax(dim=0), minlength=num_classes)
    else:
        counts = torch.softmax(picked, dim=0).double().sum(dim=1)
    return counts.double().cpu()


def estimate_outlier_prior(model: nn.Module,
                           dataloader: Iterable,
                           num_classes: int,
                           mode: str = 'argmax',
                           show_progress: bool = True,
                           outlier_index: int = OUTLIER_INDEX) -> np.ndarray:
    """Count how a model classifies the outlier pixels of a dataloader.

    The model runs its test-time forward (``model.test_step``: data
    preprocessor, ``predict``, logits resized to the image's original size)
    in eval mode. Counts are summed over all processes of a distributed run
    (each process should see its own share of the data, as with
    :func:`build_prior_dataloader`).

    Args:
        model (nn.Module): An MMSeg segmentor (or a DDP wrapper of one).
        dataloader (Iterable): Batches with ``gt_sem_seg`` holding outlier
            pixels.
        num_classes (int): Number of inlier classes K.
        mode (str): ``'argmax'`` or ``'softmax'``, see
            :func:`count_outlier_predictions`.
        show_progress (bool): Show a progress bar on the main process.
        outlier_index (int): Label of outlier pixels.

    Returns:
        np.ndarray: float64 counts of shape (K,); they sum to the number of
        outlier pixels seen by all processes.
    """
    _check_mode(mode)
    if num_classes < 1:
        raise ValueError(f'num_classes must be >= 1, got {num_classes}.')
    counts = torch.zeros(num_classes, dtype=torch.float64)
    for sample in predictions(model, dataloader, num_classes,
                              show_progress):
        counts += count_outlier_predictions(
            sample.seg_logits.data, sample.gt_sem_seg.data, num_classes,
            mode, outlier_index)
    all_reduce(counts, op='sum')
    return counts.numpy()


def prior_record(counts: Sequence[float],
                 class_names: Optional[Sequence[str]] = None,
                 **meta) -> dict:
    """The JSON record of an estimated prior.

    ``BalancedEnergyLoss(prior=path)`` reads its ``"prior"`` list; the other
    keys document where it came from.

    Args:
        counts (Sequence[float]): Per-class outlier counts (K,).
        class_names (Sequence[str], optional): The K class names.
        **meta: Extra JSON-serialisable entries (mode, num_samples,
            checkpoint...).

    Returns:
        dict: ``prior`` (fractions summing to 1), ``classes``, ``counts``,
        ``outlier_pixels`` and ``meta``'s entries.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError('counts must be a non-empty vector, got shape '
                         f'{counts.shape}.')
    total = float(counts.sum())
    if not total > 0:
        raise ValueError(
            'No outlier pixel was seen, so there is no prior to estimate. '
            'Check that PasteCocoObjects is in the training pipeline and '
            'that its outlier bank is not empty.')
    if class_names is not None and len(class_names) != counts.size:
        raise ValueError(f'{len(class_names)} class names for '
                         f'{counts.size} counts.')
    record = dict(
        prior=[float(c) / total for c in counts],
        classes=list(class_names) if class_names is not None else None,
        counts=[float(c) for c in counts],
        outlier_pixels=total)
    record.update(meta)
    return record


def save_prior(record: dict, path: str, overwrite: bool = False) -> None:
    """Write a prior record as JSON, atomically (never over an existing
    file unless ``overwrite``).

    Args:
        record (dict): From :func:`prior_record`.
        path (str): Output file (``.json``, as the loss expects).
        overwrite (bool): Replace an existing file.
    """
    write_json(path, record, overwrite)


def format_prior_table(record: dict) -> str:
    """The prior as a text table, classes sorted by decreasing share.

    Args:
        record (dict): From :func:`prior_record`.

    Returns:
        str: One line per class: index, name, fraction, count.
    """
    prior, counts = record['prior'], record['counts']
    names = record.get('classes') or [str(i) for i in range(len(prior))]
    width = max(len('class'), *(len(n) for n in names))
    lines = [f'{"id":>3}  {"class":<{width}}  {"fraction":>8}  '
             f'{"count":>12}']
    for i in sorted(range(len(prior)), key=lambda k: (-prior[k], k)):
        lines.append(f'{i:>3}  {names[i]:<{width}}  {prior[i]:>8.4f}  '
                     f'{counts[i]:>12.1f}')
    return '\n'.join(lines)
