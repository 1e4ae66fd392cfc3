"""Streaming anomaly metrics from a histogram of float32 scores.

:class:`ScoreHistogram` counts inlier and anomaly pixels per score bin. Its
bins are fixed in advance for every float32 value, so no score range has to
be given, nothing is calibrated on the data, and histograms filled from any
split of the images (over processes, in any order) add up to identical
integer counts. The state is two int64 arrays whose size depends on the
spread of the scores, never on the number of pixels.

Binning: a float32 score is mapped to an integer key whose order is the
order of the floats (the IEEE-754 pattern, sign-magnitude turned into two's
complement, -0.0 equal to +0.0), and the key's low ``23 - mantissa_bits``
bits are dropped. A bin therefore covers a relative score range between
``2**-(mantissa_bits + 1)`` and ``2**-mantissa_bits`` whatever the scale of
the scores (for the default 15: 1.5e-5 to 3.1e-5; scores within
``1.2e-38`` of zero share a few bins). The binning is a monotone function of
the score, so the binned curve is the exact curve of the binned scores, fed
to the same :func:`~mmseg_ood.evaluation.functional.metrics_from_counts` as
the exact path. Scores of other dtypes are cast to float32 first (monotone,
so the bounds below still hold).

Error bounds (:meth:`ScoreHistogram.metrics`), exact for any data, from the
counts alone: only the order of pixels inside one bin is unknown. They are
worst cases over that order, not estimates of the error: on tied scores
(many pixels of both classes in one bin) they can be several points of AP
while the histogram's value is exact. When every score was representable
with ``mantissa_bits`` mantissa bits (float16 scores with the default 15,
integers below ``2**16``, ...), each bin holds a single score value, the
binned curve is the exact curve and every bound is 0 (plus the rounding
slack of the AP bound); :attr:`ScoreHistogram.single_valued` says so.

* AP: with ``T``, ``F`` the anomaly and inlier pixels above a bin and
  ``a``, ``b`` those in it, the bin adds between
  ``sum_{i=1..a} (T+i) / (T+i+F+b)`` (all its inliers first, its anomaly
  pixels one by one) and ``a (T+a) / (T+a+F)`` (all its anomaly pixels
  first, tied) to ``P * AP``; the histogram takes ``a (T+a) / (T+a+F+b)``
  (the bin as one tie). ``ap_error_bound`` is the larger distance from the
  estimate to the summed lower or upper bound, so ``|AP - AP_exact| <=
  ap_error_bound`` (plus 1e-12 for float rounding, included).
* AUROC: each anomaly/inlier pair in one bin counts one half but may be
  ordered either way: ``auroc_error_bound = sum(a * b) / (2 P N)``.
* FPR (``'first'`` and ``'strict'`` rules): the exact operating point lies in
  the bin where the TPR crosses the target; ``fpr_error_bound`` is that
  bin's share of the inliers, and the histogram FPR is never below the exact
  one. The ``'nearest'`` rule depends on roc_curve's pruning of individual
  points and has no such bound (NaN).

Example:
    >>> hist = ScoreHistogram()
    >>> for score_map, label_map in images:  # doctest: +SKIP
    ...     valid = label_map != 255
    ...     hist.update(score_map[valid], label_map[valid] == 1)
    >>> hist.metrics()['ap']  # doctest: +SKIP
"""
from typing import Dict, Optional, Tuple

import numpy as np

from .functional import (
    _anomaly_mask_kind,
    _check_finite,
    _check_fpr_rule,
    _degenerate,
    fpr_index,
    metrics_from_counts,
)

__all__ = [
    'ScoreHistogram', 'bin_error_bounds'
]

# Pixels binned per step (keeps temporaries in cache and memory bounded).
_CHUNK = 1 << 20
# Most bins kept in a dense array (16 bytes each); bins beyond it are kept
# sparse, which is slower to fill but bounded by the occupied bins.
_WINDOW = 1 << 20
_ABS_MASK = np.int32(0x7FFFFFFF)
# Extra slack of the reported AP bound for float rounding.
_ROUNDING_SLACK = 1e-12


def _to_numpy(array) -> np.ndarray:
    if hasattr(array, 'detach'):  # torch.Tensor on any device
        array = array.detach().cpu().numpy()
    return np.asarray(array).ravel()


def _float_keys(scores: np.ndarray, low: float, high: float,
                origin: int = 0) -> np.ndarray:
    """Order-preserving keys of float32 scores, minus ``origin``.

    The key of a score is its IEEE-754 sign-magnitude pattern as a two's
    complement int32 (-0.0 and 0.0 both 0), so integer order is float
    order. ``low`` and ``high`` are the extreme scores (they pick the
    cheapest formula); ``origin`` must be <= the smallest key. Returns the
    keys minus ``origin`` as uint32 (the difference fits whatever the
    scores).
    """
    bits = scores.view(np.int32)
    if high < 0:  # all sign bits set: key = -(magnitude) = INT32_MIN - bits
        base = _wrap_int32(-2**31 - origin)
        keys = np.subtract(base, bits)
    elif low > 0:  # all positive: the bit pattern is the key
        keys = np.subtract(bits, _wrap_int32(origin))
    else:
        sign = bits >> 31  # 0 or -1
        keys = bits & _ABS_MASK
        keys ^= sign
        keys -= sign
        keys -= _wrap_int32(origin)
    return keys.view(np.uint32)


def _wrap_int32(value: int) -> np.int32:
    """``value`` modulo 2**32 as an int32 (two's complement wrap-around)."""
    return np.int32((value + 2**31) % 2**32 - 2**31)


def _harmonic_sum(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``sum_{i=1..a} 1 / (x + i)`` for float ``x >= 0`` and ``a >= 1``."""
    x = x.astype(np.float64)
    a = a.astype(np.float64)
    total = np.zeros_like(x)
    # Walk small x up to 15, where the remainder of the Euler-Maclaurin
    # series below is under 1e-14 (next term 1 / (132 t**10)).
    for _ in range(15):
        small = (x < 15) & (a > 0)
        if not small.any():
            break
        total[small] += 1 / (x[small] + 1)
        x[small] += 1
        a[small] -= 1
    rest = a > 0
    lo = x[rest] + 1
    hi = x[rest] + a[rest]
    inv_lo, inv_hi = 1 / lo, 1 / hi
    em = (np.log1p((a[rest] - 1) / lo) + (inv_lo + inv_hi) / 2
          + (inv_lo**2 - inv_hi**2) / 12 - (inv_lo**4 - inv_hi**4) / 120
          + (inv_lo**6 - inv_hi**6) / 252 - (inv_lo**8 - inv_hi**8) / 240)
    total[rest] += em
    return total


def _tie_excess(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``sum_{i=1..a} (1 / (x + i) - 1 / (x + a))`` (>= 0), accurately."""
    result = np.zeros(x.shape, np.float64)
    direct = a <= 64
    if direct.any():
        xd, ad = x[direct].astype(np.float64), a[direct]
        acc = np.zeros(xd.shape)
        for i in range(1, int(ad.max())):
            live = ad > i
            acc[live] += (ad[live] - i) / (xd[live] + i)
        result[direct] = acc / (xd + ad)
    far = ~direct
    if far.any():
        xf, af = x[far].astype(np.float64), a[far]
        result[far] = np.maximum(
            _harmonic_sum(xf, af) - af / (xf + af), 0.0)
    return result


def bin_error_bounds(fps: np.ndarray, tps: np.ndarray) -> Dict[str, float]:
    """Bounds on |AP - exact AP| and |AUROC - exact AUROC| of a binned curve.

    Args:
        fps (np.ndarray): Cumulative inlier counts per bin, decreasing
            thresholds (as :meth:`ScoreHistogram.curve` returns them).
        tps (np.ndarray): Cumulative anomaly counts, same layout.

    Returns:
        dict: ``ap_error_bound`` and ``auroc_error_bound`` (see the module
        docstring).
    """
    fps = np.asarray(fps, np.int64)
    tps = np.asarray(tps, np.int64)
    num_neg, num_pos = int(fps[-1]), int(tps[-1])
    pos = np.diff(tps, prepend=0)
    neg = np.diff(fps, prepend=0)
    auroc_bound = float(np.sum(pos.astype(np.float64) * neg)
                        / (2.0 * num_pos * num_neg))
    has = pos > 0
    a = pos[has].astype(np.float64)
    b = neg[has].astype(np.float64)
    tp_end = tps[has].astype(np.float64)          # T + a
    fp_above = (fps[has] - neg[has]).astype(np.float64)  # F
    # Upper bound minus the estimate: a (T+a) b / ((T+a+F) (T+a+F+b)).
    gap_up = a * tp_end * b / ((tp_end + fp_above) * (tp_end + fp_above + b))
    # Estimate minus the lower bound: (F+b) * excess(T + F + b, a).
    fp_end = fp_above + b
    gap_down = fp_end * _tie_excess(tp_end - a + fp_end, pos[has])
    ap_bound = max(float(np.sum(gap_up)), float(np.sum(gap_down))) / num_pos
    return dict(ap_error_bound=ap_bound + _ROUNDING_SLACK,
                auroc_error_bound=auroc_bound)


class ScoreHistogram:
    """Streaming inlier/anomaly counts per float32 score bin.

    Add pixels with :meth:`update`, combine histograms of other processes
    or image subsets with :meth:`merge` or ``+=`` (the counts are integers:
    any split gives identical results), then read :meth:`metrics` or
    :meth:`curve`. Pickling keeps only the occupied bins.

    Args:
        mantissa_bits (int): Float32 mantissa bits kept by the binning
            (0 to 20): ``2**mantissa_bits`` bins per power of two of the
            score. Defaults to 15 (relative bin width <= 3.1e-5).

    Example:
        >>> hist = ScoreHistogram()
        >>> hist.update(np.array([0.1, 0.4, 0.35, 0.8]),
        ...             np.array([0, 0, 1, 1]))
        >>> round(hist.metrics()['ap'], 6)
        0.833333
    """

    def __init__(self, mantissa_bits: int = 15) -> None:
        if not (isinstance(mantissa_bits, (int, np.integer))
                and 0 <= mantissa_bits <= 20):
            raise ValueError(f'mantissa_bits must be an integer in [0, 20], '
                             f'got {mantissa_bits!r}.')
        self.mantissa_bits = int(mantissa_bits)
        self._shift = 23 - self.mantissa_bits
        # Dense (inlier, anomaly) counts of the bins from _win_first on,
        # up to _WINDOW bins (fast path), ...
        self._win_first = 0
        self._win = np.zeros((0, 2), np.int64)
        # ... and sparse counts of bins outside: increasing ids, counts, and
        # pieces not merged in yet (merged lazily, amortised O(n log n)).
        # Where a bin is counted does not change any result.
        self._ids = np.zeros(0, np.int64)
        self._counts = np.zeros((0, 2), np.int64)
        self._pending = []
        self._pending_size = 0
        # No score so far had mantissa bits below the bin width: every bin
        # holds one score value.
        self._single_valued = True

    # ----------------------------------------------------------- counting
    def _add_dense(self, first: int, counts: np.ndarray) -> None:
        """Add (span, 2) counts of the bins ``first, first + 1, ...``."""
        span = counts.shape[0]
        size = self._win.shape[0]
        low = min(first, self._win_first) if size else first
        high = max(first + span, self._win_first + size) if size else (
            first + span)
        if high - low > _WINDOW:
            occupied = np.flatnonzero(counts.any(1))
            self._add_piece(occupied + first, counts[occupied])
            return
        if low < self._win_first or high > self._win_first + size:
            window = np.zeros((high - low, 2), np.int64)
            window[self._win_first - low:self._win_first - low + size] = (
                self._win)
            self._win_first, self._win = low, window
        start = first - self._win_first
        self._win[start:start + span] += counts

    def _occupied(self) -> Tuple[np.ndarray, np.ndarray]:
        """All occupied bins: increasing ids and their (k, 2) counts."""
        self._consolidate()
        rows = np.flatnonzero(self._win.any(1))
        ids = np.concatenate([self._ids, rows + self._win_first])
        counts = np.concatenate([self._counts, self._win[rows]])
        if ids.size == 0:
            return ids, counts
        order = np.argsort(ids, kind='stable')
        ids, counts = ids[order], counts[order]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        return ids[starts], np.add.reduceat(counts, starts, axis=0)

    def _add_piece(self, ids: np.ndarray, counts: np.ndarray) -> None:
        """Queue increasing unique bin ids with their (k, 2) counts."""
        ids = ids.astype(np.int64, copy=False)
        if ids.size and self._ids.size:
            # Bins seen before (most, once the range is covered): add now.
            rows = np.searchsorted(self._ids, ids)
            rows[rows == self._ids.size] = 0
            seen = self._ids[rows] == ids
            self._counts[rows[seen]] += counts[seen]
            ids, counts = ids[~seen], counts[~seen]
        if ids.size:
            self._pending.append((ids, counts))
            self._pending_size += ids.size
            if self._pending_size > max(self._ids.size, 1 << 16):
                self._consolidate()

    def _consolidate(self) -> None:
        if not self._pending:
            return
        ids = np.concatenate([self._ids] + [p[0] for p in self._pending])
        counts = np.concatenate([self._counts]
                                + [p[1] for p in self._pending])
        self._pending, self._pending_size = [], 0
        order = np.argsort(ids, kind='stable')  # sorted runs: cheap
        ids, counts = ids[order], counts[order]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        self._ids = ids[starts]
        self._counts = np.add.reduceat(counts, starts, axis=0)

    @property
    def num_pixels(self) -> int:
        """Number of pixels counted."""
        self._consolidate()
        return int(self._counts.sum() + self._win.sum())

    @property
    def num_anomaly(self) -> int:
        """Number of anomaly pixels counted."""
        self._consolidate()
        return int(self._counts[:, 1].sum() + self._win[:, 1].sum())

    @property
    def single_valued(self) -> bool:
        """Whether every bin holds a single score value (no counted score
        had mantissa bits finer than the bins): then the histogram's
        metrics are exact and its bounds 0."""
        return self._single_valued

    @property
    def num_bins(self) -> int:
        """Number of occupied bins."""
        return int(self._occupied()[0].size)

    def _bin_id(self, value: float) -> int:
        key = _float_keys(np.array([value], np.float32), value, value,
                          origin=-2**31)
        return (int(key[0]) - 2**31) >> self._shift

    def update(self, scores, labels) -> None:
        """Count valid pixels.

        Args:
            scores (np.ndarray | torch.Tensor): Anomaly scores of valid
                pixels, any shape (flattened); cast to float32.
            labels (np.ndarray | torch.Tensor): Booleans or 0/1 (1 =
                anomaly) of the same pixels; void pixels removed.

        Raises:
            ValueError: On mismatched sizes, NaN/infinite scores or labels
                other than 0/1.
        """
        scores = _to_numpy(scores)
        labels = _to_numpy(labels)
        if scores.shape != labels.shape:
            raise ValueError(f'{scores.size} scores but {labels.size} labels; '
                             'pass the scores and labels of the same pixels.')
        if scores.dtype.kind not in 'fiu':
            raise TypeError(f'Anomaly scores must be real numbers, got dtype '
                            f'{scores.dtype}.')
        kind = _anomaly_mask_kind(labels)
        for start in range(0, scores.size, _CHUNK):
            chunk = np.ascontiguousarray(scores[start:start + _CHUNK],
                                         dtype=np.float32)
            mask = labels[start:start + _CHUNK]
            if kind != 'b':
                mask = mask != 0
            self._update_chunk(chunk, mask)

    def _update_chunk(self, scores: np.ndarray, mask: np.ndarray) -> None:
        if scores.size == 0:
            return
        low, high = scores.min(), scores.max()
        if not (np.isfinite(low) and np.isfinite(high)):
            _check_finite(scores)
        first, last = self._bin_id(low), self._bin_id(high)
        span = last - first + 1
        if span > 2 * scores.size + 4096 and low < 0 <= high:
            # Scores of both signs span every bin near zero: count each
            # sign on its own (a narrower range each).
            negative = scores < 0
            self._update_chunk(scores[negative], mask[negative])
            negative = ~negative
            self._update_chunk(scores[negative], mask[negative])
            return
        keys = _float_keys(scores, low, high, origin=first << self._shift)
        if self._single_valued and (int(np.bitwise_or.reduce(keys)) &
                                    ((1 << self._shift) - 1)):
            self._single_valued = False
        # Index 2 * bin + label: one pass of counting for both classes.
        keys >>= np.uint32(self._shift - 1)
        keys &= np.uint32(0xFFFFFFFE)
        np.add(keys, mask, out=keys)
        if span <= 2 * scores.size + 4096:
            counts = np.bincount(keys, minlength=2 * span).reshape(span, 2)
            self._add_dense(first, counts)
        else:  # widely spread scores: sort instead of a dense count
            ids, per_id = np.unique(keys, return_counts=True)
            ids = ids.astype(np.int64)
            bins = np.unique(ids >> 1)
            counts = np.zeros((bins.size, 2), np.int64)
            row = np.searchsorted(bins, ids >> 1)
            counts[row, ids & 1] = per_id
            self._add_piece(bins + first, counts)

    # ------------------------------------------------------------ merging
    def _check_compatible(self, other: 'ScoreHistogram') -> None:
        if not isinstance(other, ScoreHistogram):
            raise TypeError(f'Cannot merge a {type(other).__name__} into a '
                            'ScoreHistogram.')
        if other.mantissa_bits != self.mantissa_bits:
            raise ValueError(
                f'Cannot merge histograms with mantissa_bits '
                f'{self.mantissa_bits} and {other.mantissa_bits}: build all '
                'of them with the same setting.')

    def merge(self, other: 'ScoreHistogram') -> 'ScoreHistogram':
        """Add the counts of ``other`` (same ``mantissa_bits``) in place.

        Args:
            other (ScoreHistogram): Histogram of other pixels.

        Returns:
            ScoreHistogram: ``self``.
        """
        self._check_compatible(other)
        self._single_valued &= other._single_valued
        ids, counts = other._occupied()
        if ids.size and ids[-1] - ids[0] < _WINDOW:
            dense = np.zeros((ids[-1] - ids[0] + 1, 2), np.int64)
            dense[ids - ids[0]] = counts
            self._add_dense(int(ids[0]), dense)
        else:
            self._add_piece(ids, counts)
        return self

    def __iadd__(self, other: 'ScoreHistogram') -> 'ScoreHistogram':
        return self.merge(other)

    def __add__(self, other: 'ScoreHistogram') -> 'ScoreHistogram':
        self._check_compatible(other)
        return ScoreHistogram(self.mantissa_bits).merge(self).merge(other)

    # ------------------------------------------------------- (de)serialise
    def state_dict(self) -> dict:
        """The occupied bins: ``mantissa_bits``, ``bin_ids`` and ``counts``.

        Returns:
            dict: ``bin_ids`` (int64, increasing), ``counts`` (int64,
            shape ``(num_bins, 2)``: inlier and anomaly pixels per bin) and
            ``single_valued`` (:attr:`single_valued`).
        """
        ids, counts = self._occupied()
        return dict(mantissa_bits=self.mantissa_bits, bin_ids=ids,
                    counts=counts, single_valued=self._single_valued)

    @classmethod
    def from_state_dict(cls, state: dict) -> 'ScoreHistogram':
        """Rebuild a histogram from :meth:`state_dict`.

        Args:
            state (dict): The output of :meth:`state_dict`.

        Returns:
            ScoreHistogram: The histogram.
        """
        hist = cls(state['mantissa_bits'])
        bin_ids = np.asarray(state['bin_ids'], np.int64)
        counts = np.asarray(state['counts'], np.int64).reshape(-1, 2)
        if bin_ids.shape != (counts.shape[0], ) or (counts < 0).any():
            raise ValueError('A ScoreHistogram state needs one bin id per '
                             'row of non-negative counts.')
        if bin_ids.size and (np.diff(bin_ids) <= 0).any():
            raise ValueError('ScoreHistogram state bin ids must increase.')
        hist._ids, hist._counts = bin_ids, counts
        # a state without the flag may hold any scores
        hist._single_valued = bool(state.get('single_valued', False))
        return hist

    def __getstate__(self) -> dict:
        return self.state_dict()

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(self.from_state_dict(state).__dict__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScoreHistogram):
            return NotImplemented
        mine, theirs = self.state_dict(), other.state_dict()
        return (mine['mantissa_bits'] == theirs['mantissa_bits']
                and mine['single_valued'] == theirs['single_valued']
                and np.array_equal(mine['bin_ids'], theirs['bin_ids'])
                and np.array_equal(mine['counts'], theirs['counts']))

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mantissa_bits={self.mantissa_bits}) '
                f'with {self.num_pixels} pixels ({self.num_anomaly} anomaly) '
                f'in {self.num_bins} bins')

    # ------------------------------------------------------------ results
    def bin_lower_edges(self, bin_ids: np.ndarray) -> np.ndarray:
        """The smallest float32 score of each bin (-inf for the lowest).

        Args:
            bin_ids (np.ndarray): Bin ids.

        Returns:
            np.ndarray: float32 edges; a score is in bin ``k`` or above iff
            it is >= the lower edge of bin ``k``.
        """
        keys = np.asarray(bin_ids, np.int64) << self._shift
        magnitude = np.minimum(np.abs(keys), 0x7F800000)
        bits = np.where(keys < 0, magnitude | 0x80000000, magnitude)
        return bits.astype(np.uint32).view(np.float32)

    def curve(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The binned curve, in the layout of ``functional.binary_curve``.

        Returns:
            tuple[np.ndarray, np.ndarray, np.ndarray]: ``thresholds`` (the
            lower edges of the occupied bins, decreasing), ``fps`` and
            ``tps`` (int64 counts of inlier / anomaly pixels >= each).
        """
        ids, counts = self._occupied()
        fps = np.cumsum(counts[::-1, 0])
        tps = np.cumsum(counts[::-1, 1])
        return self.bin_lower_edges(ids[::-1]), fps, tps

    def metrics(self,
                fpr_rule: str = 'first',
                tpr_target: float = 0.95) -> Dict[str, float]:
        """AUROC, AP, FPR (fractions) and their error bounds.

        Args:
            fpr_rule (str): ``'first'``, ``'nearest'`` or ``'strict'`` (see
                :mod:`mmseg_ood.evaluation.functional`).
            tpr_target (float): The TPR of the FPR metric. Defaults to 0.95.

        Returns:
            dict: The keys of ``functional.anomaly_metrics`` (``auroc``,
            ``ap``, ``fpr``, ``num_pixels``, ``num_anomaly``) plus
            ``ap_error_bound``, ``auroc_error_bound`` and ``fpr_error_bound``
            (NaN for ``'nearest'``): guaranteed worst-case bounds on the
            distance to the exact values of the same pixels, 0 when every
            bin holds one score value (module docstring).

        Raises:
            DegenerateSplitError: If no anomaly or no inlier pixel was
                counted.
        """
        _check_fpr_rule(fpr_rule, tpr_target)
        _, fps, tps = self.curve()
        if fps.size == 0:
            raise _degenerate(0, 0)
        result = metrics_from_counts(fps, tps, fpr_rule, tpr_target)
        if self._single_valued:  # the binned curve is the exact curve
            result.update(ap_error_bound=_ROUNDING_SLACK,
                          auroc_error_bound=0.0, fpr_error_bound=0.0)
            return result
        result.update(bin_error_bounds(fps, tps))
        fpr_bound: Optional[float] = float('nan')
        if fpr_rule != 'nearest':
            index = fpr_index(tps, fpr_rule, tpr_target)
            inliers_in_bin = fps[index] - (fps[index - 1] if index else 0)
            fpr_bound = int(inliers_in_bin) / int(fps[-1])
        result['fpr_error_bound'] = fpr_bound
        return result
