"""Cost of the pixel-level anomaly metrics (AUROC, AP, FPR95).

Runs, in one process on the same synthetic pixels:

- ``exact``: ``functional.anomaly_metrics`` (the default ``'first'`` rule);
- ``argsort``: one exact ``np.argsort`` of the scores, the core of the
  Fishyscapes server's evaluation (the reference of target 2);
- ``sklearn``: ``roc_auc_score`` + ``average_precision_score`` +
  ``roc_curve`` on the full arrays, as PEBAL computes the metrics (the
  reference of target 1; ``--skip-sklearn`` leaves it out);
- ``stream``: ``histogram.ScoreHistogram.update`` image by image
  (1024x2048 pixels each) and then ``metrics()``.

Pixels: float32 energy-like scores (inliers around -10, anomaly pixels
around -7, ``--anomaly-fraction`` of them) and bool labels. ``--scores
ties`` (default) quantises the scores to steps of 1/64 so that many pixels
share a value; ``--scores smooth`` blurs them along rows instead (nearly
all distinct, as a blurred score map).

Time is wall-clock with ``time.perf_counter``; peak extra memory is the
peak of the memory that numpy (and anything else that reports to
``tracemalloc``) allocates during the call, beyond the input float32 scores
and bool labels. Targets (PASS/FAIL; exit status 1 if one fails):

1. exact >= 10x faster than the scikit-learn calls;
2. exact >= 2x faster than one ``np.argsort``;
3. exact <= 6 bytes of extra memory per pixel;
4. stream update <= 1 s per 1e8 pixels, and its AP within 1e-4 of the
   exact AP and within its own reported bound.

Example::

    OMP_NUM_THREADS=1 python benchmarks/bench_anomaly_metrics.py \\
        --num-pixels 2000000
"""
import argparse
import platform
import sys
import time
import tracemalloc
from typing import Callable, Tuple

import numpy as np

from mmseg_ood.evaluation.functional import anomaly_metrics
from mmseg_ood.evaluation.histogram import ScoreHistogram

IMAGE_PIXELS = 1024 * 2048


def make_pixels(num_pixels: int, anomaly_fraction: float, kind: str,
                seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Synthetic float32 scores and bool labels, built image by image."""
    rng = np.random.default_rng(seed)
    scores = np.empty(num_pixels, np.float32)
    labels = np.empty(num_pixels, bool)
    for start in range(0, num_pixels, IMAGE_PIXELS):
        stop = min(start + IMAGE_PIXELS, num_pixels)
        size = stop - start
        lab = np.zeros(size, bool)
        # Anomaly pixels in runs, as objects in an image.
        runs = max(1, int(size * anomaly_fraction) // 500)
        for first in rng.integers(0, max(1, size - 500), runs):
            lab[first:first + 500] = True
        score = rng.standard_normal(size, dtype=np.float32) * 2 - 10
        score[lab] += 3
        if kind == 'ties':
            score = np.round(score * 64) / 64
        else:
            cum = np.cumsum(np.r_[np.zeros(7), score], dtype=np.float64)
            score = ((cum[7:] - cum[:-7]) / 7).astype(np.float32)
        scores[start:stop] = score
        labels[start:stop] = lab
    return scores, labels


def measure(func: Callable[[], object]) -> Tuple[object, float, int]:
    """Result, seconds and peak extra traced bytes of ``func()``."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return result, seconds, peak


def sklearn_metrics(scores: np.ndarray, labels: np.ndarray) -> dict:
    from sklearn.metrics import (
        average_precision_score,
        roc_auc_score,
        roc_curve,
    )
    auroc = roc_auc_score(labels, scores)
    ap = average_precision_score(labels, scores)
    fpr, tpr, _ = roc_curve(labels, scores)
    return dict(auroc=auroc, ap=ap,
                fpr_nearest=fpr[np.argmin(np.abs(tpr - 0.95))])


def stream(scores: np.ndarray, labels: np.ndarray) -> ScoreHistogram:
    hist = ScoreHistogram()
    for start in range(0, scores.size, IMAGE_PIXELS):
        hist.update(scores[start:start + IMAGE_PIXELS],
                    labels[start:start + IMAGE_PIXELS])
    return hist


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-pixels', type=float, default=1e8,
                        help='number of pixels (default 1e8)')
    parser.add_argument('--anomaly-fraction', type=float, default=0.015)
    parser.add_argument('--scores', choices=['ties', 'smooth'],
                        default='ties')
    parser.add_argument('--skip-sklearn', action='store_true',
                        help='leave out the scikit-learn reference (slow)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    num = int(args.num_pixels)
    print(f'machine: {platform.processor() or platform.machine()}, numpy '
          f'{np.__version__}; {num:.3g} pixels, {args.scores} scores, '
          f'anomaly fraction {args.anomaly_fraction}')
    scores, labels = make_pixels(num, args.anomaly_fraction, args.scores,
                                 args.seed)
    print(f'{np.unique(scores[:IMAGE_PIXELS]).size} distinct scores in the '
          f'first image; {labels.mean():.4f} anomaly')

    rows = {}
    exact, seconds, peak = measure(lambda: anomaly_metrics(scores, labels))
    rows['exact'] = (seconds, peak)
    nearest, _, _ = measure(
        lambda: anomaly_metrics(scores, labels, fpr_rule='nearest'))
    _, seconds, peak = measure(lambda: np.argsort(scores))
    rows['argsort'] = (seconds, peak)
    reference = None
    if not args.skip_sklearn:
        reference, seconds, peak = measure(
            lambda: sklearn_metrics(scores, labels))
        rows['sklearn'] = (seconds, peak)
    hist, seconds, peak = measure(lambda: stream(scores, labels))
    rows['stream update'] = (seconds, peak)
    approx, seconds, peak = measure(hist.metrics)
    rows['stream metrics'] = (seconds, peak)

    ours = rows['exact'][0]
    print(f'\n{"method":<16}{"time s":>9}{"s/1e8 px":>10}{"peak MB":>10}'
          f'{"B/px":>7}{"time / exact":>14}')
    for name, (seconds, peak) in rows.items():
        print(f'{name:<16}{seconds:>9.3f}{seconds / num * 1e8:>10.3f}'
              f'{peak / 2**20:>10.1f}{peak / num:>7.2f}'
              f'{seconds / ours:>14.2f}')

    print(f'\nexact: AUROC {exact["auroc"]:.10f} AP {exact["ap"]:.10f} '
          f'FPR95 first {exact["fpr"]:.10f} nearest {nearest["fpr"]:.10f}')
    if reference is not None:
        print(f'sklearn: AUROC {reference["auroc"]:.10f} AP '
              f'{reference["ap"]:.10f} FPR95 nearest '
              f'{reference["fpr_nearest"]:.10f}')
    ap_error = abs(approx['ap'] - exact['ap'])
    state = hist.state_dict()
    state_bytes = state['bin_ids'].nbytes + state['counts'].nbytes
    print(f'stream: AP {approx["ap"]:.10f} (|error| {ap_error:.2e}, bound '
          f'{approx["ap_error_bound"]:.2e}), AUROC error '
          f'{abs(approx["auroc"] - exact["auroc"]):.2e} (bound '
          f'{approx["auroc_error_bound"]:.2e}), FPR95 error '
          f'{approx["fpr"] - exact["fpr"]:.2e} (bound '
          f'{approx["fpr_error_bound"]:.2e}); {hist.num_bins} bins, '
          f'state {state_bytes / 2**20:.2f} MB')

    checks = []
    if reference is not None:
        checks.append(('results equal scikit-learn',
                       abs(reference['auroc'] - exact['auroc']) < 1e-9
                       and abs(reference['ap'] - exact['ap']) < 1e-9
                       and reference['fpr_nearest'] == nearest['fpr'],
                       ''))
        ratio = rows['sklearn'][0] / ours
        checks.append(('>= 10x faster than sklearn', ratio >= 10,
                       f'{ratio:.1f}x'))
    ratio = rows['argsort'][0] / ours
    checks.append(('>= 2x faster than np.argsort', ratio >= 2,
                   f'{ratio:.1f}x'))
    per_pixel = rows['exact'][1] / num
    checks.append(('<= 6 B/px extra memory', per_pixel <= 6,
                   f'{per_pixel:.2f} B/px'))
    per_1e8 = rows['stream update'][0] / num * 1e8
    checks.append(('stream update <= 1 s per 1e8 px', per_1e8 <= 1,
                   f'{per_1e8:.2f} s'))
    checks.append(('stream AP within 1e-4 and its bound',
                   ap_error <= min(1e-4, approx['ap_error_bound']),
                   f'{ap_error:.1e}'))
    print()
    for name, ok, value in checks:
        print(f'{"PASS" if ok else "FAIL"}  {name}  {value}')
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == '__main__':
    sys.exit(main())
