"""SegmentMeIfYouCan component-level metrics: sIoU_gt, PPV and mean F1.

Definitions, as the official benchmark computes them (SMIYC benchmark code,
``road_anomaly_benchmark/metrics/instance_segmentation.py``, functions
``default_instancer``, ``segment_metrics`` and ``MetricSegment.aggregate``,
final version whose table reports ``prec_pred`` as PPV; paper: Chan et al.,
"SegmentMeIfYouCan", NeurIPS 2021 Datasets and Benchmarks, Sec. 4):

1. Operating point: one pixel threshold per split, the one that maximises
   the pixel F1 over the pooled pixel curve (``best_f1_threshold``).
2. Predicted anomaly mask: pixels above the threshold, minus void pixels
   (label 255), which are removed *before* labelling.
3. Components: 8-connected components of the predicted mask and of the
   ground-truth anomaly mask (label 1).
4. Size filters of the track
   (:data:`~mmseg_ood.datasets.set_specs.SMIYC_TRACKS`): predicted
   components with fewer than ``min_pred_size`` pixels are dropped
   (counted after the void removal); ground-truth components with fewer than
   ``min_gt_size`` pixels are turned into void, so they and every predicted
   pixel on them leave the evaluation. A predicted component that lay
   entirely on such a blob disappears; one that lay partly on it keeps only
   its other pixels.
5. For each kept ground-truth component ``k``, with ``P(k)`` the union of
   the predicted components that intersect ``k`` and ``A(k)`` the pixels of
   the other ground-truth components::

       sIoU(k) = |k & P(k)| / |(k | P(k)) minus A(k)|

   (0 when no predicted component touches ``k``).
6. For each predicted component ``p`` (pixels in the evaluated region)::

       PPV(p) = |p & G| / |p|,   G = all kept ground-truth pixels.

7. At each ``tau`` of ``linspace(0.25, 0.75, 11)``: a ground-truth component
   is a TP if ``sIoU >= tau`` and a FN otherwise; a predicted component is a
   FP if ``PPV < tau``. TP, FN and FP are summed over all images of the split,
   ``F1(tau) = 2 TP / (2 TP + FN + FP)``, and ``mean_F1`` is the mean over the
   11 values of ``tau``.
8. ``sIoU_gt`` and ``PPV`` of a split are means over all components pooled
   across its images (not means of per-image means).

Two operating points. Both give the same component rules 2-8:

* ``computation='exact'`` (:func:`image_component_stats`,
  :func:`component_metrics`): the exact best-F1 score of the exact pixel
  curve of the float32 scores, predicting ``score >= threshold`` (the pixel
  mask whose F1 is the maximum).
* ``computation='smiyc'`` (:mod:`mmseg_ood.evaluation.smiyc`): what the
  benchmark does and its leaderboard reports: float16 maps, the threshold
  an edge of its binned curve (per frame 384 quantiles of the anomaly and
  384 of the inlier scores), predicting ``score > threshold``.

These are different operating points, not one up to rounding: the binned
curve's best-F1 edge need not be a score of the exact curve's optimum, and
on tied scores ``>`` leaves out a whole tie that ``>=`` takes in, so the
component metrics of the two can differ by several points (mean F1 most).
The metric reports both on the SegmentMeIfYouCan sets.

Where this module differs from that code (both operating points):

* The code marks the whole non-anomaly background void when it has fewer
  than ``min_gt_size`` pixels (its size loop includes label 0); that quirk,
  which only matters for images smaller than the filter, is not reproduced.
* Empty cases, which the code turns into NaN or ``ZeroDivisionError``: no
  kept ground-truth component in the split raises ``ValueError``; no kept
  predicted component gives ``PPV = 0.0`` with a ``UserWarning`` (the
  ``zero_division=0`` convention of scikit-learn's precision).
* Earlier versions of the code counted a FP by the symmetric sIoU of the
  predicted component instead of by its PPV; the final one (and the paper's
  PPV column) uses PPV, as here.

Per-image state (``ComponentStats``) is one float per component, so an
MMEngine metric can gather it across processes cheaply.
"""
import warnings
from dataclasses import dataclass
from typing import Dict, Iterable, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..datasets.set_specs import SMIYC_TRACKS
from ..utils.constants import (
    ANOMALY_EVAL_ANOMALY,
    ANOMALY_EVAL_INLIER,
    IGNORE_INDEX,
)
from .functional import DegenerateSplitError, binary_curve

__all__ = [
    'SMIYC_TAUS', 'ComponentStats', 'aggregate_component_stats',
    'best_f1_index', 'best_f1_threshold', 'component_metrics',
    'component_stats_of_mask', 'image_component_stats'
]

#: The sIoU / PPV thresholds of the mean F1 (0.25, 0.30, ..., 0.75).
SMIYC_TAUS = np.linspace(0.25, 0.75, 11)


@dataclass
class ComponentStats:
    """Component values of one image (one float per kept component).

    Attributes:
        sIoU_gt (np.ndarray): float64, the sIoU of each kept ground-truth
            component, in label (raster-scan) order.
        ppv (np.ndarray): float64, the PPV of each kept predicted component
            that has pixels in the evaluated region, in label order.
    """
    sIoU_gt: np.ndarray
    ppv: np.ndarray

    @property
    def num_gt(self) -> int:
        """Number of kept ground-truth components."""
        return int(self.sIoU_gt.size)

    @property
    def num_pred(self) -> int:
        """Number of kept predicted components."""
        return int(self.ppv.size)


def best_f1_index(fps: np.ndarray, tps: np.ndarray) -> int:
    """Index of the largest pixel F1 on a curve of cumulative counts.

    ``F1 = 2 TP / (2 TP + FP + FN)``, ``FN = tps[-1] - TP``, in float64 (the
    sums are exact integers, so equal F1 values tie exactly). Ties go to
    the first point (the highest threshold), as ``np.nanargmax`` does.

    Args:
        fps (np.ndarray): Inlier pixels with score >= each threshold,
            thresholds decreasing.
        tps (np.ndarray): Anomaly pixels likewise; ``tps[-1]`` is the
            number of anomaly pixels.

    Returns:
        int: The index.

    Raises:
        DegenerateSplitError: If the curve holds no anomaly pixel.
    """
    fps = np.asarray(fps).ravel().astype(np.float64)
    tps = np.asarray(tps).ravel().astype(np.float64)
    if fps.size != tps.size or fps.size == 0:
        raise ValueError(f'best_f1_index needs fps and tps of one non-zero '
                         f'length; got {fps.size} and {tps.size}.')
    num_anomaly = tps[-1]
    if num_anomaly <= 0:
        raise DegenerateSplitError(
            'The pixel curve has no anomaly pixel (tps[-1] == 0): the '
            'best-F1 threshold is undefined.')
    f1 = (2 * tps) / (2 * tps + fps + (num_anomaly - tps))
    return int(np.argmax(f1))


def best_f1_threshold(thresholds: np.ndarray, fps: np.ndarray,
                      tps: np.ndarray) -> float:
    """The pixel threshold with the largest F1 on a pixel curve.

    ``F1 = 2 TP / (2 TP + FP + FN) = 2 tps / (tps + fps + tps[-1])``. Ties go
    to the highest threshold (the first one in the decreasing order), as the
    benchmark's ``np.nanargmax`` over its curve does.

    Args:
        thresholds (np.ndarray): Distinct thresholds in strictly decreasing
            order.
        fps (np.ndarray): Number of inlier pixels with score >= each
            threshold (non-decreasing).
        tps (np.ndarray): Number of anomaly pixels with score >= each
            threshold; ``tps[-1]`` is taken as the total number of anomaly
            pixels, so the curve must reach the lowest score.

    Returns:
        float: The F1-maximising threshold.

    Raises:
        DegenerateSplitError: If the curve holds no anomaly pixel.

    Example:
        >>> best_f1_threshold(np.array([0.9, 0.5, 0.1]),
        ...                   np.array([0, 1, 3]), np.array([1, 2, 2]))
        0.5
    """
    thresholds = np.asarray(thresholds, dtype=np.float64).ravel()
    fps = np.asarray(fps).ravel()
    tps = np.asarray(tps).ravel()
    if not thresholds.size == fps.size == tps.size > 0:
        raise ValueError(
            f'best_f1_threshold needs three non-empty arrays of one length; '
            f'got {thresholds.size} thresholds, {fps.size} fps, '
            f'{tps.size} tps.')
    if np.any(np.diff(thresholds) >= 0):
        raise ValueError('thresholds must be strictly decreasing (the '
                         'order of binary_curve); sort the curve first.')
    return float(thresholds[best_f1_index(fps, tps)])


def _components(mask: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """8-connected components of a boolean mask.

    Returns:
        tuple: int32 label map (0 = background) and the pixel count of each
        label (index 0 = background).
    """
    num, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    return labels, stats[:num, cv2.CC_STAT_AREA].astype(np.int64)


def _compact_ids(keep: np.ndarray) -> np.ndarray:
    """Map old label -> new label 1..K for kept labels, 0 for the others."""
    ids = np.zeros(keep.size, dtype=np.int64)
    ids[keep] = np.arange(1, int(keep.sum()) + 1)
    return ids


def _check_maps(score_map: np.ndarray, label_map: np.ndarray,
                ignore_index: int, scores: bool = True) -> None:
    if score_map.ndim != 2 or score_map.shape != label_map.shape:
        what = 'score_map' if scores else 'The predicted mask'
        raise ValueError(
            f'{what} and label_map must be 2D maps of one shape; got '
            f'{score_map.shape} and {label_map.shape}. Upsample the scores '
            f'to the label resolution first.')
    if scores and not np.isfinite(score_map).all():
        raise ValueError('score_map contains NaN or infinite values.')
    known = ((label_map == ANOMALY_EVAL_INLIER)
             | (label_map == ANOMALY_EVAL_ANOMALY)
             | (label_map == ignore_index))
    if not known.all():
        bad = np.unique(label_map[~known])
        raise ValueError(
            f'label_map has values {bad.tolist()[:10]}; component metrics '
            f'expect {ANOMALY_EVAL_INLIER} (inlier), {ANOMALY_EVAL_ANOMALY} '
            f'(anomaly) and {ignore_index} (void). Convert the labels first.')


def image_component_stats(score_map: np.ndarray,
                          label_map: np.ndarray,
                          threshold: float,
                          min_pred_size: int,
                          min_gt_size: int,
                          ignore_index: int = IGNORE_INDEX
                          ) -> ComponentStats:
    """sIoU of each ground-truth and PPV of each predicted component.

    The exact operating point: pixels with ``score >= threshold`` are
    predicted anomalous. See the module docstring for the definitions.

    Args:
        score_map (np.ndarray): 2D anomaly scores (higher = more anomalous).
        label_map (np.ndarray): 2D labels of the same shape: 0 inlier,
            1 anomaly, ``ignore_index`` void.
        threshold (float): Pixels with ``score >= threshold`` are predicted
            anomalous.
        min_pred_size (int): Predicted components with fewer pixels are
            dropped.
        min_gt_size (int): Ground-truth components with fewer pixels are
            made void.
        ignore_index (int): Void label. Defaults to 255.

    Returns:
        ComponentStats: ``sIoU_gt`` and ``ppv`` arrays of this image.
    """
    score_map = np.asarray(score_map)
    label_map = np.asarray(label_map)
    _check_maps(score_map, label_map, ignore_index)
    return component_stats_of_mask(score_map >= threshold, label_map,
                                   min_pred_size, min_gt_size, ignore_index)


def component_stats_of_mask(predicted: np.ndarray,
                            label_map: np.ndarray,
                            min_pred_size: int,
                            min_gt_size: int,
                            ignore_index: int = IGNORE_INDEX
                            ) -> ComponentStats:
    """Component stats of a predicted anomaly mask (steps 2-6).

    Args:
        predicted (np.ndarray): 2D boolean mask of the pixels predicted
            anomalous (void pixels are removed here).
        label_map (np.ndarray): 2D labels of the same shape: 0 inlier,
            1 anomaly, ``ignore_index`` void.
        min_pred_size (int): Predicted components with fewer pixels are
            dropped.
        min_gt_size (int): Ground-truth components with fewer pixels are
            made void.
        ignore_index (int): Void label. Defaults to 255.

    Returns:
        ComponentStats: ``sIoU_gt`` and ``ppv`` arrays of this image.
    """
    predicted = np.asarray(predicted, dtype=bool)
    label_map = np.asarray(label_map)
    _check_maps(predicted, label_map, ignore_index, scores=False)
    if min(min_pred_size, min_gt_size) < 0:
        raise ValueError(f'Size filters must be >= 0; got min_pred_size='
                         f'{min_pred_size}, min_gt_size={min_gt_size}.')

    void = label_map == ignore_index
    gt_labels, gt_sizes = _components(label_map == ANOMALY_EVAL_ANOMALY)
    pred_labels, pred_sizes = _components(predicted & ~void)

    keep_gt = gt_sizes >= min_gt_size
    keep_gt[0] = False
    keep_pred = pred_sizes >= min_pred_size
    keep_pred[0] = False
    gt = _compact_ids(keep_gt)[gt_labels]
    pred = _compact_ids(keep_pred)[pred_labels]
    # Dropped ground-truth blobs become void: predicted pixels on them go.
    pred[(gt_labels > 0) & (gt == 0)] = 0
    num_gt, num_pred = int(keep_gt.sum()), int(keep_pred.sum())

    gt_size = np.bincount(gt.ravel(), minlength=num_gt + 1)
    pred_size = np.bincount(pred.ravel(), minlength=num_pred + 1)
    both = (gt > 0) & (pred > 0)
    pair_code, overlap = np.unique(
        gt[both] * (num_pred + 1) + pred[both], return_counts=True)
    pair_gt, pair_pred = np.divmod(pair_code, num_pred + 1)
    # Pixels of each predicted component on any kept ground truth.
    pred_on_gt = np.bincount(pair_pred, weights=overlap,
                             minlength=num_pred + 1)

    # |k & P(k)|, |P(k)| and |P(k) & G| summed over the pairs of each k.
    inter = np.bincount(pair_gt, weights=overlap, minlength=num_gt + 1)
    p_size = np.bincount(pair_gt, weights=pred_size[pair_pred],
                         minlength=num_gt + 1)
    p_on_gt = np.bincount(pair_gt, weights=pred_on_gt[pair_pred],
                          minlength=num_gt + 1)
    # |(k | P(k)) minus A(k)| = |k| + |P(k)| - |k & P(k)|
    #                           - (|P(k) & G| - |k & P(k)|)
    union = gt_size + p_size - p_on_gt
    sIoU_gt = inter[1:] / union[1:]

    present = pred_size[1:] > 0
    ppv = pred_on_gt[1:][present] / pred_size[1:][present]
    return ComponentStats(sIoU_gt=sIoU_gt.astype(np.float64),
                          ppv=ppv.astype(np.float64))


def aggregate_component_stats(stats_list: Iterable[ComponentStats],
                              taus: Sequence[float] = SMIYC_TAUS
                              ) -> Dict[str, float]:
    """Split-level sIoU_gt, PPV and mean F1 from per-image stats.

    Args:
        stats_list (Iterable[ComponentStats]): One entry per image.
        taus (Sequence[float]): Thresholds of the F1 average. Defaults to
            ``linspace(0.25, 0.75, 11)``.

    Returns:
        dict: ``sIoU_gt``, ``PPV`` (means over all components of the split)
        and ``mean_F1`` (all in [0, 1]), ``num_gt_components``,
        ``num_pred_components``.

    Raises:
        ValueError: If the split has no kept ground-truth component.
    """
    stats_list = list(stats_list)
    sIoU_gt = np.concatenate(
        [np.asarray(s.sIoU_gt, np.float64).ravel() for s in stats_list]
        or [np.zeros(0)])
    ppv = np.concatenate(
        [np.asarray(s.ppv, np.float64).ravel() for s in stats_list]
        or [np.zeros(0)])
    taus = np.asarray(taus, dtype=np.float64).ravel()
    if taus.size == 0:
        raise ValueError('taus is empty; use e.g. SMIYC_TAUS.')
    if sIoU_gt.size == 0:
        raise ValueError(
            f'No ground-truth anomaly component survives the size filter in '
            f'{len(stats_list)} images: sIoU_gt and F1 are undefined. Check '
            f'that anomaly pixels are labelled {ANOMALY_EVAL_ANOMALY} and '
            f'that the track (size filter) fits the data.')
    if ppv.size == 0:
        warnings.warn(
            f'No predicted component survives the size filter in '
            f'{len(stats_list)} images: PPV is reported as 0.0.',
            stacklevel=2)
    # Pooled over the split: TP/FN/FP summed over images, one F1 per tau.
    tp = (sIoU_gt[None, :] >= taus[:, None]).sum(axis=1)
    fn = sIoU_gt.size - tp
    fp = (ppv[None, :] < taus[:, None]).sum(axis=1)
    f1 = 2.0 * tp / (2.0 * tp + fn + fp)
    return dict(
        sIoU_gt=float(sIoU_gt.mean()),
        PPV=float(ppv.mean()) if ppv.size else 0.0,
        mean_F1=float(f1.mean()),
        num_gt_components=int(sIoU_gt.size),
        num_pred_components=int(ppv.size))


def component_metrics(score_maps: Sequence[np.ndarray],
                      label_maps: Sequence[np.ndarray],
                      track: str = 'anomaly',
                      threshold: Optional[float] = None,
                      taus: Sequence[float] = SMIYC_TAUS,
                      ignore_index: int = IGNORE_INDEX) -> Dict[str, float]:
    """All component metrics of a small split in one call.

    Pools the valid pixels of all images to find the best-F1 threshold on
    their exact curve (``binary_curve``; unless given), then computes and
    aggregates the component stats. It holds every pixel in memory: meant
    for small splits and tests; the evaluation metric keeps per-image stats
    instead.

    Args:
        score_maps (Sequence[np.ndarray]): 2D anomaly score maps.
        label_maps (Sequence[np.ndarray]): Matching 2D 0/1/void label maps.
        track (str): ``'anomaly'`` or ``'obstacle'`` (size filters).
        threshold (float, optional): Pixel threshold; the best-F1 one of
            the pooled pixels when None.
        taus (Sequence[float]): Thresholds of the F1 average.
        ignore_index (int): Void label. Defaults to 255.

    Returns:
        dict: ``aggregate_component_stats`` keys plus ``threshold``.
    """
    if track not in SMIYC_TRACKS:
        raise ValueError(f'Unknown track {track!r}; choose one of '
                         f'{sorted(SMIYC_TRACKS)}.')
    if len(score_maps) != len(label_maps) or not score_maps:
        raise ValueError(f'Need as many score maps as label maps (> 0); got '
                         f'{len(score_maps)} and {len(label_maps)}.')
    if threshold is None:
        for s, lab in zip(score_maps, label_maps):
            _check_maps(np.asarray(s), np.asarray(lab), ignore_index)
        valid = [np.asarray(lab) != ignore_index for lab in label_maps]
        scores = np.concatenate(
            [np.asarray(s)[v] for s, v in zip(score_maps, valid)])
        anomaly = np.concatenate(
            [np.asarray(lab)[v] == ANOMALY_EVAL_ANOMALY
             for lab, v in zip(label_maps, valid)])
        threshold = best_f1_threshold(*binary_curve(scores, anomaly))
    sizes = SMIYC_TRACKS[track]
    stats = [
        image_component_stats(s, lab, threshold, sizes.min_pred_size,
                              sizes.min_gt_size, ignore_index=ignore_index)
        for s, lab in zip(score_maps, label_maps)
    ]
    result = aggregate_component_stats(stats, taus)
    result['threshold'] = float(threshold)
    return result
