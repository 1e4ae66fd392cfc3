"""Exact pixel-level anomaly metrics: AUROC, AP and FPR at 95% TPR.

Anomaly is the positive class and a higher score means more anomalous.
All pixels of a split are pooled. The definitions are those of
scikit-learn and of the public benchmarks:

* AUROC: trapezoidal area under the ROC curve over all distinct thresholds
  (``sklearn.metrics.roc_auc_score``).
* AP: step-wise sum ``sum_n (R_n - R_{n-1}) P_n`` over the precision-recall
  curve (``sklearn.metrics.average_precision_score``, the Fishyscapes
  server), not the trapezoid.
* FPR95: the false-positive rate at a true-positive rate of 0.95, by rule:

  - ``'first'`` (default): the first operating point, in order of
    decreasing threshold, whose TPR >= 0.95 (Fishyscapes server,
    SegmentMeIfYouCan), over every distinct threshold;
  - ``'nearest'``: the point whose TPR is nearest to 0.95 on the curve that
    ``sklearn.metrics.roc_curve`` returns with its defaults (collinear points
    dropped), as PEBAL and the Balanced Energy code compute it.
"""
from typing import Dict

import numpy as np

FPR_RULES = ('first', 'nearest')


def binary_curve_counts(scores: np.ndarray, labels: np.ndarray):
    """Cumulative false/true positive counts at every distinct threshold.

    Args:
        scores (np.ndarray): Scores, any shape (flattened).
        labels (np.ndarray): Booleans (True = anomaly), same size.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``fps`` and ``tps`` (int64), one entry
        per distinct score in decreasing order: the counts of pixels with a
        score >= that threshold.
    """
    scores = np.asarray(scores).ravel()
    labels = np.asarray(labels).ravel()
    if scores.shape != labels.shape:
        raise ValueError(f'{scores.size} scores but {labels.size} labels.')
    if not np.isfinite(scores).all():
        raise ValueError('Anomaly scores contain NaN or infinite values.')
    order = np.argsort(scores, kind='stable')[::-1]
    sorted_scores = scores[order]
    tps_all = np.cumsum(labels[order], dtype=np.int64)
    del order
    last_of_group = np.flatnonzero(sorted_scores[1:] != sorted_scores[:-1])
    last_of_group = np.append(last_of_group, sorted_scores.size - 1)
    tps = tps_all[last_of_group]
    fps = last_of_group + 1 - tps
    return fps, tps


def anomaly_metrics(scores: np.ndarray,
                    labels: np.ndarray,
                    fpr_rule: str = 'first',
                    tpr_target: float = 0.95) -> Dict[str, float]:
    """AUROC, AP and FPR at ``tpr_target`` of pooled pixels (fractions).

    Args:
        scores (np.ndarray): Anomaly scores (higher = more anomalous).
        labels (np.ndarray): Booleans or 0/1, True/1 = anomaly; void pixels
            must be removed beforehand.
        fpr_rule (str): ``'first'`` or ``'nearest'`` (see module docstring).
        tpr_target (float): The TPR of the FPR metric. Defaults to 0.95.

    Returns:
        dict: ``auroc``, ``ap``, ``fpr`` (all in [0, 1]), ``num_pixels``,
        ``num_anomaly``.

    Example:
        >>> anomaly_metrics(np.array([0.1, 0.4, 0.35, 0.8]),
        ...                 np.array([0, 0, 1, 1]))['ap']
        0.8333333333333333
    """
    if fpr_rule not in FPR_RULES:
        raise ValueError(f'Unknown fpr_rule {fpr_rule!r}; choose one of '
                         f'{FPR_RULES}.')
    labels = np.asarray(labels).astype(bool, copy=False)
    fps, tps = binary_curve_counts(scores, labels)
    num_pos = int(tps[-1])
    num_neg = int(fps[-1])
    if num_pos == 0 or num_neg == 0:
        raise ValueError(
            f'AUROC/AP/FPR need both anomaly and inlier pixels, but the '
            f'{num_pos + num_neg} valid pixels hold {num_pos} anomaly and '
            f'{num_neg} inlier pixels.')
    tpr = np.concatenate([[0.0], tps / num_pos])
    fpr = np.concatenate([[0.0], fps / num_neg])
    auroc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2)
    precision = tps / (tps + fps)
    ap = float(np.sum(np.diff(tpr) * precision))
    if fpr_rule == 'first':
        index = int(np.searchsorted(tpr, tpr_target, side='left'))
        fpr_at = float(fpr[index])
    else:
        # sklearn's roc_curve(drop_intermediate=True): keep the end points
        # and every point where the curve changes direction.
        if fps.size > 2:
            keep = np.concatenate([[True],
                                   np.logical_or(np.diff(fps, 2),
                                                 np.diff(tps, 2)), [True]])
        else:
            keep = np.ones(fps.size, dtype=bool)
        kept_tpr = np.concatenate([[0.0], tpr[1:][keep]])
        kept_fpr = np.concatenate([[0.0], fpr[1:][keep]])
        fpr_at = float(kept_fpr[np.argmin(np.abs(kept_tpr - tpr_target))])
    return dict(
        auroc=auroc,
        ap=ap,
        fpr=fpr_at,
        num_pixels=num_pos + num_neg,
        num_anomaly=num_pos)
