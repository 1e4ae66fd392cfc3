"""Pixel-level anomaly metrics: AUROC, AP and FPR at 95% TPR.

Anomaly is the positive class and a higher score means more anomalous.
All valid pixels of a split are pooled. The definitions are those of
scikit-learn and of the public benchmarks:

* AUROC: trapezoidal area under the ROC curve over all distinct thresholds
  (``sklearn.metrics.roc_auc_score``). It equals the Mann-Whitney statistic
  with half credit for tied anomaly/inlier pairs and is computed exactly in
  integers.
* AP: step-wise sum ``sum_n (R_n - R_{n-1}) P_n`` over the precision-recall
  curve (``sklearn.metrics.average_precision_score``, the Fishyscapes
  server), not the trapezoid.
* FPR at ``tpr_target`` (FPR95), by rule (:data:`FPR_RULES`):

  - ``'first'`` (default): the first operating point, in order of
    decreasing threshold, whose TPR >= target (Fishyscapes server,
    SegmentMeIfYouCan), over every distinct threshold;
  - ``'strict'``: the first operating point whose TPR > target;
  - ``'nearest'``: the point whose TPR is nearest to the target on the curve
    that ``sklearn.metrics.roc_curve`` returns with its defaults (its
    ``drop_intermediate`` pruning applied), the first such point on a tie,
    as PEBAL and the Balanced Energy code compute it
    (``fpr[np.argmin(np.abs(tpr - 0.95))]``).

A *curve* is a pair of cumulative counts ``(fps, tps)`` at decreasing
thresholds: entry ``i`` counts the inlier (``fps``) and anomaly (``tps``)
pixels scoring at least threshold ``i``; the last entry holds all pixels.
:func:`metrics_from_counts` is the one formula of the metrics on a curve.
:func:`binary_curve` returns the full curve of a split (one point per
distinct score); :func:`anomaly_metrics` computes the same numbers without
building it (two sorted score copies, about 4 bytes per pixel), and
:class:`mmseg_ood.evaluation.histogram.ScoreHistogram` feeds the formula a
binned curve in streaming mode.
"""
from typing import Dict, List, Tuple

import numpy as np

__all__ = [
    'FPR_RULES', 'DegenerateSplitError', 'anomaly_metrics', 'binary_curve',
    'fpr_index', 'metrics_from_counts'
]

FPR_RULES = ('first', 'nearest', 'strict')

# Pixels handled per step when splitting a score array by class, so that the
# class mask never costs a byte per pixel of the whole split.
_CHUNK = 1 << 16


class DegenerateSplitError(ValueError):
    """The pooled pixels hold no anomaly pixel or no inlier pixel."""


def _check_fpr_rule(fpr_rule: str, tpr_target: float) -> None:
    if fpr_rule not in FPR_RULES:
        raise ValueError(f'Unknown fpr_rule {fpr_rule!r}; choose one of '
                         f'{FPR_RULES}.')
    upper_ok = tpr_target < 1 if fpr_rule == 'strict' else tpr_target <= 1
    if not (tpr_target > 0 and upper_ok):
        limit = '0 < tpr_target < 1' if fpr_rule == 'strict' else (
            '0 < tpr_target <= 1')
        raise ValueError(f'tpr_target={tpr_target!r} is out of range for '
                         f'fpr_rule {fpr_rule!r}: it needs {limit}.')


def _degenerate(num_pos: int, num_pixels: int) -> DegenerateSplitError:
    return DegenerateSplitError(
        f'The split holds {num_pos} anomaly pixels among {num_pixels} valid '
        f'pixels ({num_pixels - num_pos} inlier): AUROC, AP and FPR are '
        'undefined unless it holds both anomaly and inlier pixels. Check the '
        'label values (1 = anomaly, 0 = inlier, 255 = void) or leave this set '
        'out.')


def fpr_index(tps: np.ndarray, fpr_rule: str,
              tpr_target: float = 0.95) -> int:
    """Index of the ``'first'`` or ``'strict'`` operating point of a curve.

    Args:
        tps (np.ndarray): Cumulative anomaly counts at decreasing thresholds;
            ``tps[-1]`` is the number of anomaly pixels (> 0).
        fpr_rule (str): ``'first'`` (TPR >= target) or ``'strict'``
            (TPR > target).
        tpr_target (float): The TPR target.

    Returns:
        int: The first index whose TPR (``tps / tps[-1]`` in float64, as
        scikit-learn computes it) meets the rule.
    """
    tpr = tps / tps[-1]
    hit = tpr >= tpr_target if fpr_rule == 'first' else tpr > tpr_target
    return int(np.argmax(hit))


def _nearest_index(fps: np.ndarray, tps: np.ndarray,
                   tpr_target: float) -> Tuple[int, int]:
    """``(fp, tp)`` counts of the ``'nearest'`` point (origin included)."""
    if fps.size > 2:
        # sklearn.metrics.roc_curve(drop_intermediate=True): keep the end
        # points and every point whose step in differs from its step out.
        keep = np.ones(fps.size, dtype=bool)
        keep[1:-1] = (np.diff(fps, 2) != 0) | (np.diff(tps, 2) != 0)
        fps, tps = fps[keep], tps[keep]
    tpr = np.concatenate(([0.0], tps / tps[-1]))
    index = int(np.argmin(np.abs(tpr - tpr_target)))
    if index == 0:
        return 0, 0
    return int(fps[index - 1]), int(tps[index - 1])


def metrics_from_counts(fps: np.ndarray,
                        tps: np.ndarray,
                        fpr_rule: str = 'first',
                        tpr_target: float = 0.95) -> Dict[str, float]:
    """AUROC, AP and FPR of a curve of cumulative counts (fractions).

    The one formula of the metrics: the exact path (:func:`anomaly_metrics`),
    the full curve (:func:`binary_curve`) and the streaming histogram all end
    here.

    Args:
        fps (np.ndarray): Integer counts of inlier pixels with a score >=
            each threshold, thresholds in decreasing order (non-decreasing
            counts); ``fps[-1]`` is the number of inlier pixels.
        tps (np.ndarray): The same for anomaly pixels.
        fpr_rule (str): ``'first'``, ``'nearest'`` or ``'strict'`` (see the
            module docstring). Defaults to ``'first'``.
        tpr_target (float): The TPR of the FPR metric. Defaults to 0.95.

    Returns:
        dict: ``auroc``, ``ap``, ``fpr`` (floats in [0, 1]), ``num_pixels``
        and ``num_anomaly`` (ints).

    Raises:
        DegenerateSplitError: If the curve holds no anomaly or no inlier
            pixel.

    Example:
        >>> metrics_from_counts(np.array([0, 1, 1, 2]),
        ...                     np.array([1, 1, 2, 2]))['ap']
        0.8333333333333333
    """
    _check_fpr_rule(fpr_rule, tpr_target)
    fps = np.asarray(fps)
    tps = np.asarray(tps)
    if (fps.ndim != 1 or fps.shape != tps.shape or fps.size == 0
            or fps.dtype.kind not in 'iu' or tps.dtype.kind not in 'iu'):
        raise ValueError(
            'fps and tps must be non-empty 1-D integer count arrays of the '
            f'same length, got {fps.dtype}{fps.shape} and '
            f'{tps.dtype}{tps.shape}.')
    fps = fps.astype(np.int64, copy=False)
    tps = tps.astype(np.int64, copy=False)
    if (fps[0] < 0 or tps[0] < 0 or (np.diff(fps) < 0).any()
            or (np.diff(tps) < 0).any()):
        raise ValueError('fps and tps must be cumulative counts at '
                         'decreasing thresholds: non-negative and '
                         'non-decreasing.')
    num_neg, num_pos = int(fps[-1]), int(tps[-1])
    if num_pos == 0 or num_neg == 0:
        raise _degenerate(num_pos, num_pos + num_neg)

    # AUROC: twice the trapezoid area in integer units, exact while
    # 2 * P * N < 2**63 (more than 4e9 pixels); float64 beyond that.
    d_fps = np.diff(fps, prepend=0)
    tp_pairs = tps + np.concatenate(([0], tps[:-1]))
    if 2 * num_pos * num_neg < 2**63:
        area2 = int(np.sum(d_fps * tp_pairs))
    else:
        area2 = float(np.sum(d_fps.astype(np.float64) * tp_pairs))
    auroc = area2 / (2 * num_pos * num_neg)

    # AP: recall steps times precision, summed over the points where the
    # recall grows (the other points add nothing).
    d_tps = np.diff(tps, prepend=0)
    steps = np.flatnonzero(d_tps)
    at_tps = tps[steps]
    ap = float(np.sum(d_tps[steps] * (at_tps / (at_tps + fps[steps])))
               / num_pos)

    if fpr_rule == 'nearest':
        fp_at, _ = _nearest_index(fps, tps, tpr_target)
    else:
        fp_at = int(fps[fpr_index(tps, fpr_rule, tpr_target)])
    return dict(
        auroc=float(auroc),
        ap=ap,
        fpr=fp_at / num_neg,
        num_pixels=num_pos + num_neg,
        num_anomaly=num_pos)


def _as_scores(scores) -> np.ndarray:
    scores = np.asarray(scores).ravel()
    if scores.dtype.kind not in 'fiu':
        raise TypeError(f'Anomaly scores must be real numbers, got dtype '
                        f'{scores.dtype}.')
    if scores.dtype == np.float16:
        scores = scores.astype(np.float32)
    return scores


def _check_finite(scores: np.ndarray) -> None:
    if scores.dtype.kind != 'f' or scores.size == 0:
        return
    # min/max propagate NaN and expose infinities without a per-pixel mask.
    if np.isfinite(scores.min()) and np.isfinite(scores.max()):
        return
    num_nan = int(np.isnan(scores).sum())
    num_inf = int(np.isinf(scores).sum())
    raise ValueError(
        f'Anomaly scores contain {num_nan} NaN and {num_inf} infinite values '
        f'among {scores.size} pixels. Compute scores without overflow (e.g. '
        'energy through logsumexp in float32) or drop those pixels as void.')


def _anomaly_mask_kind(labels: np.ndarray) -> str:
    """Check that labels are booleans or 0/1; return the dtype kind."""
    if labels.dtype == bool:
        return 'b'
    if labels.dtype.kind not in 'iuf':
        raise TypeError(f'Anomaly labels must be booleans or 0/1 numbers, '
                        f'got dtype {labels.dtype}.')
    if labels.size and (labels.min() < 0 or labels.max() > 1 or (
            labels.dtype.kind == 'f'
            and not ((labels == 0) | (labels == 1)).all())):
        values = np.unique(labels)
        bad = values[(values != 0) & (values != 1)]
        raise ValueError(
            f'Anomaly labels must be 0 (inlier) or 1 (anomaly), but the '
            f'values {bad[:10].tolist()} occur. Remove void pixels (255) '
            'before computing metrics.')
    return labels.dtype.kind


def _split_sorted(scores, labels) -> List[np.ndarray]:
    """Validate and return the sorted anomaly and inlier scores (copies)."""
    scores = _as_scores(scores)
    labels = np.asarray(labels).ravel()
    if scores.shape != labels.shape:
        raise ValueError(f'{scores.size} scores but {labels.size} labels; '
                         'pass the scores and labels of the same pixels.')
    _check_finite(scores)
    kind = _anomaly_mask_kind(labels)
    num_pos = int(np.count_nonzero(labels))
    if num_pos == 0 or num_pos == labels.size:
        raise _degenerate(num_pos, labels.size)
    parts = (np.empty(num_pos, scores.dtype),
             np.empty(labels.size - num_pos, scores.dtype))
    filled = [0, 0]
    for start in range(0, labels.size, _CHUNK):
        chunk = labels[start:start + _CHUNK]
        mask = chunk if kind == 'b' else chunk != 0
        for cls, cls_mask in ((0, mask), (1, ~mask)):
            picked = scores[start:start + _CHUNK][cls_mask]
            parts[cls][filled[cls]:filled[cls] + picked.size] = picked
            filled[cls] += picked.size
    for part in parts:
        part.sort()
    return list(parts)


def _distinct(sorted_values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Distinct values of an ascending array and the index of each's start."""
    starts = np.flatnonzero(sorted_values[1:] != sorted_values[:-1]) + 1
    starts = np.concatenate(([0], starts))
    return sorted_values[starts], starts


def binary_curve(scores,
                 labels) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The full curve: counts at every distinct score, decreasing.

    Equal to ``sklearn.metrics.roc_curve(labels, scores,
    drop_intermediate=False)`` times the class counts, without its leading
    ``(0, 0)`` point. Use it to plot ROC / precision-recall curves or to pick
    a threshold; :func:`anomaly_metrics` is faster for the metrics.

    Args:
        scores (np.ndarray): Anomaly scores, any shape (flattened).
        labels (np.ndarray): Booleans or 0/1 (1 = anomaly), same size.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: ``thresholds`` (the
        distinct scores in decreasing order, dtype of the scores), ``fps``
        and ``tps`` (int64): the numbers of inlier and anomaly pixels whose
        score is >= each threshold.

    Raises:
        DegenerateSplitError: If there is no anomaly or no inlier pixel.
    """
    anomaly, inlier = _split_sorted(scores, labels)
    thresholds = np.union1d(_distinct(anomaly)[0], _distinct(inlier)[0])
    thresholds = thresholds[::-1]
    tps = anomaly.size - np.searchsorted(anomaly, thresholds, 'left')
    fps = inlier.size - np.searchsorted(inlier, thresholds, 'left')
    return thresholds, fps.astype(np.int64), tps.astype(np.int64)


def _reduced_curve(parts: List[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """The points of the full curve that decide every metric.

    From the sorted class scores, keep for each distinct anomaly score ``v``
    its own point and, where inlier-only scores lie next to it, the nearest
    such point above and below it, plus the last point. The points left out
    lie inside inlier-only stretches (constant TPR), so the trapezoid, the
    precision sum and the TPR crossing are unchanged, and every kept anomaly
    point sees its true neighbours, so ``roc_curve``'s pruning keeps or drops
    it exactly as on the full curve (the ``'nearest'`` rule).

    ``parts`` (the sorted anomaly and inlier scores) is emptied, so that the
    score copies are freed before the curve is built.
    """
    anomaly, inlier = parts
    parts.clear()
    num_pos, num_neg = anomaly.size, inlier.size
    values, starts = _distinct(anomaly)
    # Ascending order of the distinct anomaly scores (index j).
    below = np.searchsorted(inlier, values, 'left')    # inliers < v
    at_most = np.searchsorted(inlier, values, 'right')  # inliers <= v
    tp_ge = num_pos - starts
    tp_gt = np.concatenate((tp_ge[1:], [0]))
    # Inlier-only scores between v_j and the next anomaly score above / below.
    gap_above = np.concatenate((below[1:], [num_neg])) > at_most
    gap_below = below > np.concatenate(([0], at_most[:-1]))
    # Largest inlier score below v_j: its point counts the inliers >= it.
    below_value = inlier[np.maximum(below - 1, 0)]
    fp_next = num_neg - np.searchsorted(inlier, below_value, 'left')
    del anomaly, inlier, below_value

    rows = values.size
    fps = np.empty((rows, 3), np.int64)
    tps = np.empty((rows, 3), np.int64)
    valid = np.empty((rows, 3), bool)
    fps[:, 0], tps[:, 0], valid[:, 0] = num_neg - at_most, tp_gt, gap_above
    fps[:, 1], tps[:, 1], valid[:, 1] = num_neg - below, tp_ge, True
    fps[:, 2], tps[:, 2], valid[:, 2] = fp_next, tp_ge, gap_below
    # Decreasing thresholds: rows from the highest anomaly score down.
    fps = np.append(fps[::-1][valid[::-1]], num_neg)
    tps = np.append(tps[::-1][valid[::-1]], num_pos)
    new = np.ones(fps.size, bool)
    new[1:] = (fps[1:] != fps[:-1]) | (tps[1:] != tps[:-1])
    return fps[new], tps[new]


def anomaly_metrics(scores,
                    labels,
                    fpr_rule: str = 'first',
                    tpr_target: float = 0.95) -> Dict[str, float]:
    """Exact AUROC, AP and FPR at ``tpr_target`` of pooled pixels (fractions).

    Sorts a copy of the anomaly and of the inlier scores (about 4 bytes per
    pixel for float32 scores, plus about 50 bytes per distinct anomaly
    score) and evaluates :func:`metrics_from_counts` on the part of the full
    curve that decides the metrics. The result equals scikit-learn's and does
    not depend on the pixel order.

    Args:
        scores (np.ndarray): Anomaly scores (higher = more anomalous), any
            shape; float32 keeps memory low.
        labels (np.ndarray): Booleans or 0/1 (1 = anomaly), same size; void
            pixels must be removed beforehand.
        fpr_rule (str): ``'first'``, ``'nearest'`` or ``'strict'`` (see the
            module docstring). Defaults to ``'first'``.
        tpr_target (float): The TPR of the FPR metric. Defaults to 0.95.

    Returns:
        dict: ``auroc``, ``ap``, ``fpr`` (floats in [0, 1]), ``num_pixels``
        and ``num_anomaly`` (ints).

    Raises:
        DegenerateSplitError: If there is no anomaly or no inlier pixel.
        ValueError: On NaN/infinite scores, labels other than 0/1, or
            mismatched sizes.

    Example:
        >>> anomaly_metrics(np.array([0.1, 0.4, 0.35, 0.8]),
        ...                 np.array([0, 0, 1, 1]))['ap']
        0.8333333333333333
    """
    _check_fpr_rule(fpr_rule, tpr_target)
    fps, tps = _reduced_curve(_split_sorted(scores, labels))
    return metrics_from_counts(fps, tps, fpr_rule, tpr_target)
