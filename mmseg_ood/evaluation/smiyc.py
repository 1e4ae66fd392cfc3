"""SegmentMeIfYouCan's own computation of its pixel and component metrics.

The SegmentMeIfYouCan leaderboard reports what its evaluation code,
road-anomaly-benchmark, computes (``metrics/pixel_classification.py``,
``metrics/pixel_classification_curves.py``,
``metrics/instance_segmentation.py``, ``evaluation.py``; final version of
August 2023, run with its pinned NumPy 1.23.3). That is not the exact curve
of :mod:`~mmseg_ood.evaluation.functional`: the pixels are binned per frame
first, and the component metrics threshold at an edge of that binned curve.
This module computes the same numbers from the same maps:

1. **Storage.** Maps are float16 (``Evaluation.save_output`` casts with
   ``astype(np.float16)``): :func:`to_smiyc_scores`.
2. **Bins per frame** (valid pixels, label != 255): the edges are
   ``vmin - eps`` and ``vmax + eps`` with
   ``eps = max(0.01 * (vmax - vmin), 0.01)`` (the range in float16, the
   rest in float64) plus the ``np.quantile`` (linear) of the anomaly pixels'
   scores and of the inlier pixels' scores at ``linspace(0, 1, min(384,
   n))`` each (:data:`SMIYC_BINS_PER_CLASS`), duplicates removed. Each bin
   ``[e_j, e_j+1)`` (the last one closed) counts its anomaly and inlier
   pixels: :func:`frame_bins`, a few kilobytes per frame whatever its size.
3. **Binned curve.** The lower edges of every frame's bins are the
   thresholds, in decreasing order; the counts summed from the top are the
   TP and FP at each. Of a threshold shared by several frames only its last
   entry is kept (all of its pixels counted), except that the code always
   keeps the first entry of the list: when several frames share the highest
   threshold, the curve starts with an extra point that counts the top bin
   of one of them. :func:`binned_curve` keeps that point, taking the frame
   that a stable sort puts first (the last such frame in frame-id order);
   the benchmark's unstable ``np.argsort`` (and, in its default parallel
   run, the order in which workers finish) may pick another one.
4. **Pixel metrics** of that curve: AP as the sum of recall steps times
   precision, AUROC as the trapezoid, FPR95 at the first point with
   TPR >= 0.95 (:func:`~mmseg_ood.evaluation.functional.metrics_from_counts`
   evaluates exactly these formulas).
5. **Operating point.** The first point (highest threshold) of largest
   ``F1 = 2 TP / (2 TP + FP + FN)`` on the binned curve; its threshold is a
   bin edge, often a score value itself.
6. **Components** (``default_instancer``): a pixel is predicted anomalous
   if ``score > threshold``, compared in float16 as NumPy 1.x compares a
   float16 map with a float64 scalar (:func:`smiyc_prediction`); then the
   rules of :mod:`~mmseg_ood.evaluation.components`.

Where the benchmark's result depends on its environment, this module
follows the pinned NumPy 1.23.3. Under NumPy >= 2 the benchmark code gives
other numbers in three cases: ``eps`` is rounded to float16 (for scores of
magnitude >= 32 the top edge ``vmax + eps`` then equals ``vmax``, which
moves the top pixels one bin down); the threshold is compared in float64;
and its argsort orders tied thresholds differently (point 3).

Other differences, for inputs the code cannot handle: a frame without
valid pixels is skipped (the code fails on it); scores that do not fit
float16 raise an error (the code would store infinities); the two
component-level exceptions of :mod:`~mmseg_ood.evaluation.components`
(empty cases, tiny images) apply here too.

Example:
    >>> frames = [frame_bins(to_smiyc_scores(s[v]), l[v] == 1, fid)
    ...           for s, l, v, fid in images]  # doctest: +SKIP
    >>> smiyc_pixel_metrics(frames)['ap']  # doctest: +SKIP
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..datasets.set_specs import SMIYC_STORAGE_DTYPE, SMIYC_TRACKS
from ..utils.constants import ANOMALY_EVAL_ANOMALY, IGNORE_INDEX
from .components import (
    aggregate_component_stats,
    best_f1_index,
    component_stats_of_mask,
)
from .functional import _degenerate, metrics_from_counts

__all__ = [
    'SMIYC_BINS_PER_CLASS', 'FrameBins', 'binned_curve', 'frame_bins',
    'smiyc_metrics', 'smiyc_pixel_metrics', 'smiyc_prediction',
    'to_smiyc_scores'
]

#: Quantiles per class and frame (``PixBinaryClass``: ``num_bins = 768``,
#: ``num_bins // 2`` per class).
SMIYC_BINS_PER_CLASS = 384
#: The relative and absolute margin of the outer bin edges.
_EDGE_MARGIN = 1e-2


@dataclass
class FrameBins:
    """One frame's bins: what the benchmark keeps of a frame.

    Attributes:
        frame_id (str): The frame id; frames are merged in this order.
        thresholds (np.ndarray): float64 lower edges of the bins,
            increasing.
        anomaly (np.ndarray): int64 anomaly pixels in each bin.
        inlier (np.ndarray): int64 inlier pixels in each bin.
    """
    frame_id: str = ''
    thresholds: np.ndarray = field(
        default_factory=lambda: np.zeros(0, np.float64))
    anomaly: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    inlier: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def to_smiyc_scores(scores, where: str = 'the scores') -> np.ndarray:
    """Scores as the benchmark stores them: float16 (round to nearest).

    Args:
        scores (np.ndarray): Anomaly scores, any real dtype and shape.
        where (str): What they are (an image path), for the message.

    Returns:
        np.ndarray: float16 scores of the same shape.

    Raises:
        ValueError: If a score is NaN or beyond the float16 range
            (|score| > 65504), which the benchmark cannot store.
    """
    with np.errstate(over='ignore'):  # reported below, with the fix
        value = np.asarray(scores).astype(SMIYC_STORAGE_DTYPE)
    if _nonfinite(value):
        raise ValueError(
            f'{where}: scores beyond the float16 range (|score| > 65504) or '
            'NaN. SegmentMeIfYouCan stores and evaluates float16 maps, so '
            'its numbers do not exist for these scores; use a bounded score '
            '(e.g. MaxSoftmaxScore) or set computation="exact".')
    return value


def _float16_table() -> Tuple[np.ndarray, np.ndarray]:
    """Every float16 value in increasing order of its key (the key of a
    bit pattern ``u`` is ``0xFFFF - u`` for a set sign bit, ``u | 0x8000``
    otherwise): the values as float16, and as a float64 search table with
    the NaN patterns at both ends made -inf / +inf."""
    keys = np.arange(1 << 16, dtype=np.int64)
    bits = np.where(keys < 0x8000, 0xFFFF - keys, keys - 0x8000)
    values = bits.astype(np.uint16).view(np.float16)
    table = values.astype(np.float64)
    table[:0x0400] = -np.inf
    table[0xFC01:] = np.inf
    return values, table


_FLOAT16_VALUES, _FLOAT16_TABLE = _float16_table()


def _float16_keys(scores: np.ndarray) -> np.ndarray:
    """Order-preserving uint16 keys of float16 scores (-0.0 as 0.0): the
    bit pattern with the sign bit flipped, all bits for negative ones."""
    bits = scores.view(np.uint16)
    keys = bits ^ (((bits >> 15) * np.uint16(0x7FFF)) | np.uint16(0x8000))
    keys[keys == 0x7FFF] = 0x8000  # -0.0
    return keys


def _nonfinite(scores: np.ndarray) -> bool:
    """Whether float16 scores hold a NaN or an infinity (exponent bits all
    set), without float16 arithmetic."""
    return bool(scores.size) and int(
        (scores.view(np.uint16) & np.uint16(0x7FFF)).max()) >= 0x7C00


def _linear_quantiles(cumulative: np.ndarray) -> np.ndarray:
    """``np.quantile(values, linspace(0, 1, min(384, n)))`` of one class,
    from its cumulative counts per float16 key.

    NumPy's ``'linear'`` method, operation for operation (``_quantile``,
    ``_get_indexes``, ``_lerp`` of NumPy 1.22 to 2.x): index ``(n - 1) q``,
    the neighbours' difference in float16, the interpolation in float64,
    from the upper neighbour when the weight is >= 0.5.
    """
    n = int(cumulative[-1])
    q = np.linspace(0, 1, min(SMIYC_BINS_PER_CLASS, n))
    virtual = (n - 1) * q
    previous = np.floor(virtual)
    following = previous + 1
    top = virtual >= n - 1  # NumPy takes the last value there
    previous[top] = -1
    following[top] = -1
    previous = previous.astype(np.intp)
    following = following.astype(np.intp)
    gamma = virtual - previous
    # the k-th smallest value: the first key with more than k values up to it
    low = _FLOAT16_VALUES[np.searchsorted(cumulative, previous % n, 'right')]
    high = _FLOAT16_VALUES[np.searchsorted(cumulative, following % n,
                                           'right')]
    diff = high - low  # float16, as NumPy subtracts the neighbours
    result = low + diff * gamma
    upper = gamma >= 0.5
    result[upper] = (high - diff * (1 - gamma))[upper]
    return result


def frame_bins(scores, anomaly, frame_id: str = '') -> FrameBins:
    """The benchmark's bins of one frame (module docstring, step 2).

    The pixels are counted per float16 value first (one pass, whatever the
    frame's size); quantiles and bin counts are read from those counts.

    Args:
        scores (np.ndarray): float16 scores of the frame's valid pixels
            (:func:`to_smiyc_scores`), any shape.
        anomaly (np.ndarray): Booleans of the same pixels, True = anomaly.
        frame_id (str): The frame id (:func:`~mmseg_ood.datasets.
            set_specs.smiyc_frame_id`), which orders the frames.

    Returns:
        FrameBins: Lower bin edges and the counts of each class; empty for
        a frame without valid pixels.

    Example:
        >>> bins = frame_bins(np.array([0.1, 0.5, 0.5, 0.9], np.float16),
        ...                   np.array([False, False, True, True]))
        >>> bins.anomaly.tolist(), bins.inlier.tolist()
        ([0, 0, 1, 1], [1, 0, 1, 0])
    """
    scores = np.asarray(scores).ravel()
    anomaly = np.asarray(anomaly, dtype=bool).ravel()
    if scores.dtype != SMIYC_STORAGE_DTYPE:
        raise TypeError(f'frame_bins takes the float16 scores the benchmark '
                        f'stores, got {scores.dtype}; cast them with '
                        'to_smiyc_scores.')
    if scores.shape != anomaly.shape:
        raise ValueError(f'{scores.size} scores but {anomaly.size} labels; '
                         'pass the scores and labels of the same pixels.')
    if scores.size == 0:
        return FrameBins(frame_id)
    if _nonfinite(scores):
        raise ValueError('frame_bins: the scores hold NaN or infinities.')
    keys = _float16_keys(scores)
    counts = np.empty((1 << 16, 2), np.int64)
    counts[:, 1] = np.bincount(keys[anomaly], minlength=1 << 16)
    counts[:, 0] = np.bincount(keys, minlength=1 << 16) - counts[:, 1]
    occupied = np.flatnonzero(counts.any(1))
    low, high = _FLOAT16_VALUES[occupied[[0, -1]]]
    # the range in float16 (float16 - float16), the margin in float64 (as
    # NumPy 1.x promotes a float16 scalar times a Python float)
    margin = max(float(high - low) * _EDGE_MARGIN, _EDGE_MARGIN)
    edges = [np.array([float(low) - margin, float(high) + margin])]
    cumulative = np.cumsum(counts, axis=0)
    for cls in (1, 0):  # anomaly, inlier
        if cumulative[-1, cls]:
            edges.append(_linear_quantiles(cumulative[:, cls]))
    edges = np.unique(np.concatenate(edges))
    # pixels below an edge: those of the keys whose value is below it
    below = np.searchsorted(_FLOAT16_TABLE, edges, 'left')
    cumulative = np.concatenate((np.zeros((1, 2), np.int64), cumulative))
    at_least = cumulative[-1] - cumulative[below]
    in_bin = at_least[:-1] - at_least[1:]
    in_bin[-1] += at_least[-1]  # the top bin is closed
    return FrameBins(frame_id, edges[:-1], in_bin[:, 1].copy(),
                     in_bin[:, 0].copy())


def binned_curve(frames: Sequence[FrameBins]
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The benchmark's pixel curve from the frames' bins (step 3).

    Args:
        frames (Sequence[FrameBins]): One entry per frame, any order (they
            are merged in frame-id order).

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: ``thresholds`` (float64,
        non-increasing: the first two are equal when the extra first point
        of the module docstring exists), ``fps`` and ``tps`` (int64
        cumulative inlier / anomaly counts at each).

    Raises:
        DegenerateSplitError: If the frames hold no anomaly or no inlier
            pixel.
    """
    frames = sorted(frames, key=lambda f: f.frame_id)
    thresholds = np.concatenate(
        [f.thresholds for f in frames] + [np.zeros(0, np.float64)])
    anomaly = np.concatenate([f.anomaly for f in frames]
                             + [np.zeros(0, np.int64)])
    inlier = np.concatenate([f.inlier for f in frames]
                            + [np.zeros(0, np.int64)])
    num_pos, num_neg = int(anomaly.sum()), int(inlier.sum())
    if num_pos == 0 or num_neg == 0:
        raise _degenerate(num_pos, num_pos + num_neg)
    # decreasing thresholds; equal ones in reverse frame order (the reverse
    # of a stable increasing sort, as the benchmark's argsort()[::-1])
    order = np.argsort(thresholds, kind='stable')[::-1]
    thresholds = thresholds[order]
    tps = np.cumsum(anomaly[order])
    fps = np.cumsum(inlier[order])
    # the last entry of each threshold, and always the first entry
    keep = np.flatnonzero(thresholds[:-1] != thresholds[1:])
    keep = np.unique(np.concatenate(([0], keep, [thresholds.size - 1])))
    return thresholds[keep], fps[keep], tps[keep]


def smiyc_pixel_metrics(frames: Sequence[FrameBins],
                        tpr_target: float = 0.95) -> Dict[str, float]:
    """AUROC, AP, FPR95 and the best-F1 threshold, as the benchmark.

    Args:
        frames (Sequence[FrameBins]): The frames' bins (:func:`frame_bins`).
        tpr_target (float): The TPR of the FPR metric. Defaults to 0.95.

    Returns:
        dict: ``auroc``, ``ap``, ``fpr`` (fractions), ``threshold`` (the
        best-F1 bin edge, float64), ``num_pixels`` and ``num_anomaly``.

    Raises:
        DegenerateSplitError: If there is no anomaly or no inlier pixel.
    """
    thresholds, fps, tps = binned_curve(frames)
    result = metrics_from_counts(fps, tps, 'first', tpr_target)
    result['threshold'] = float(thresholds[best_f1_index(fps, tps)])
    return result


def smiyc_prediction(scores, threshold: float) -> np.ndarray:
    """The benchmark's predicted anomaly mask: ``score > threshold``.

    The float16 map is compared with the float64 threshold as NumPy 1.x
    does it (value-based casting): in float16, the threshold rounded to
    the nearest float16.

    Args:
        scores (np.ndarray): float16 score map (:func:`to_smiyc_scores`).
        threshold (float): The best-F1 threshold
            (:func:`smiyc_pixel_metrics`).

    Returns:
        np.ndarray: Boolean mask of the same shape.

    Example:
        >>> smiyc_prediction(np.array([1.0, 0.9995], np.float16), 0.99999)
        array([False, False])
    """
    scores = np.asarray(scores)
    if scores.dtype != SMIYC_STORAGE_DTYPE:
        raise TypeError(f'smiyc_prediction takes the float16 scores the '
                        f'benchmark stores, got {scores.dtype}.')
    return scores > SMIYC_STORAGE_DTYPE(threshold)


def smiyc_metrics(score_maps: Sequence[np.ndarray],
                  label_maps: Sequence[np.ndarray],
                  track: Optional[str] = None,
                  frame_ids: Optional[Sequence[str]] = None,
                  ignore_index: int = IGNORE_INDEX) -> Dict[str, float]:
    """All SegmentMeIfYouCan numbers of stored maps, in one call.

    Meant for maps read back from the benchmark's store
    (:func:`~mmseg_ood.apis.map_formats.load_smiyc_hdf5`) and for tests;
    the evaluation metric keeps only the frames' bins and compact maps.

    Args:
        score_maps (Sequence[np.ndarray]): 2D score maps (cast to float16).
        label_maps (Sequence[np.ndarray]): 2D 0/1/void label maps.
        track (str, optional): ``'anomaly'`` or ``'obstacle'`` for the
            component metrics; None computes the pixel metrics only.
        frame_ids (Sequence[str], optional): Frame ids (the merge order);
            the list order when None.
        ignore_index (int): Void label. Defaults to 255.

    Returns:
        dict: ``auroc``, ``ap``, ``fpr``, ``threshold``, ``num_pixels``,
        ``num_anomaly`` and, with a track, the keys of
        :func:`~mmseg_ood.evaluation.components.aggregate_component_stats`.
    """
    if len(score_maps) != len(label_maps) or not score_maps:
        raise ValueError(f'Need as many score maps as label maps (> 0); got '
                         f'{len(score_maps)} and {len(label_maps)}.')
    if track is not None and track not in SMIYC_TRACKS:
        raise ValueError(f'Unknown track {track!r}; choose one of '
                         f'{sorted(SMIYC_TRACKS)}.')
    if frame_ids is None:
        frame_ids = [f'{i:09d}' for i in range(len(score_maps))]
    maps: List[tuple] = []
    frames = []
    for score, label, fid in zip(score_maps, label_maps, frame_ids):
        score16 = to_smiyc_scores(score, f'frame {fid}')
        label = np.asarray(label)
        if score16.shape != label.shape or score16.ndim != 2:
            raise ValueError(f'frame {fid}: score map {score16.shape} and '
                             f'label map {label.shape} must be 2D maps of '
                             'one shape.')
        valid = label != ignore_index
        frames.append(frame_bins(score16[valid],
                                 label[valid] == ANOMALY_EVAL_ANOMALY, fid))
        maps.append((score16, label))
    result = smiyc_pixel_metrics(frames)
    if track is not None:
        sizes = SMIYC_TRACKS[track]
        stats = [
            component_stats_of_mask(
                smiyc_prediction(score16, result['threshold']), label,
                sizes.min_pred_size, sizes.min_gt_size, ignore_index)
            for score16, label in maps
        ]
        result.update(aggregate_component_stats(stats))
    return result
