"""Streaming histogram metrics against the exact metrics and their bounds."""
import pickle

import numpy as np
import pytest
import torch

from mmseg_ood.evaluation.functional import (
    FPR_RULES,
    DegenerateSplitError,
    anomaly_metrics,
    binary_curve,
)
from mmseg_ood.evaluation.histogram import (
    ScoreHistogram,
    _harmonic_sum,
    _tie_excess,
    bin_error_bounds,
)


def energy_like(num_pixels, seed, blur=False):
    """float32 energies of a toy 5-class model, anomaly pixels in blobs."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(num_pixels, bool)
    for start in rng.integers(0, num_pixels - 400, 8):
        labels[start:start + 400] = True
    logits = rng.normal(size=(num_pixels, 5)) * 2
    logits[:, 0] += 5 * ~labels
    scores = -np.log(np.exp(logits).sum(1))
    if blur:  # neighbouring pixels share information, as a blurred map
        scores = np.convolve(scores, np.full(7, 1 / 7), mode='same')
    return scores.astype(np.float32), labels


def filled(scores, labels, **kwargs):
    hist = ScoreHistogram(**kwargs)
    hist.update(scores, labels)
    return hist


def test_merge_of_parts_equals_whole():
    scores, labels = energy_like(30000, 0)
    whole = filled(scores, labels)
    rng = np.random.default_rng(1)
    order = rng.permutation(scores.size)
    parts = [filled(scores[idx], labels[idx])
             for idx in np.array_split(order, 4)]
    merged = ScoreHistogram()
    for part in parts[::-1]:
        merged += part
    assert merged == whole
    assert parts[0] + parts[1] + parts[2] + parts[3] == whole
    state, merged_state = whole.state_dict(), merged.state_dict()
    assert merged_state['counts'].dtype == np.int64
    np.testing.assert_array_equal(merged_state['counts'], state['counts'])
    assert merged.metrics() == whole.metrics()


def test_pickle_keeps_only_occupied_bins():
    scores, labels = energy_like(20000, 2)
    hist = filled(scores, labels)
    restored = pickle.loads(pickle.dumps(hist))
    assert restored == hist
    assert ScoreHistogram.from_state_dict(hist.state_dict()) == hist
    assert len(pickle.dumps(hist)) < 24 * hist.num_bins + 1000
    restored.update(scores[:10], labels[:10])
    assert restored.num_pixels == hist.num_pixels + 10


@pytest.mark.parametrize('blur', [False, True])
def test_close_to_exact_within_the_bounds(blur):
    scores, labels = energy_like(200000, 3, blur)
    hist = filled(scores, labels)
    for rule in FPR_RULES:
        exact = anomaly_metrics(scores, labels, rule)
        approx = hist.metrics(rule)
        assert approx['num_pixels'] == exact['num_pixels']
        assert approx['num_anomaly'] == exact['num_anomaly']
        assert abs(approx['ap'] - exact['ap']) <= approx['ap_error_bound']
        assert abs(approx['auroc'] - exact['auroc']) <= (
            approx['auroc_error_bound'])
        assert approx['ap_error_bound'] < 2e-4
        assert approx['auroc_error_bound'] < 1e-4
        if rule == 'nearest':
            assert np.isnan(approx['fpr_error_bound'])
        else:
            assert 0 <= approx['fpr'] - exact['fpr'] <= (
                approx['fpr_error_bound'])


@pytest.mark.parametrize('seed', range(20))
def test_bounds_hold_on_coarse_bins(seed):
    # Two mantissa bits: wide bins that mix anomaly and inlier pixels.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 3000))
    labels = rng.random(n) < rng.uniform(0.05, 0.6)
    labels[:2] = [True, False]
    scores = rng.normal(size=n) * rng.uniform(0.1, 10) + labels
    hist = filled(scores, labels, mantissa_bits=2)
    for rule in ('first', 'strict'):
        exact = anomaly_metrics(scores.astype(np.float32), labels, rule)
        approx = hist.metrics(rule)
        assert abs(approx['ap'] - exact['ap']) <= approx['ap_error_bound']
        assert abs(approx['auroc'] - exact['auroc']) <= (
            approx['auroc_error_bound'] + 1e-12)
        assert 0 <= approx['fpr'] - exact['fpr'] <= (
            approx['fpr_error_bound'] + 1e-12)


def test_ap_bound_is_reached_by_the_extreme_orders():
    # One bin holding everything (12 float32 values a few ulps apart): all
    # anomaly pixels first (tied) gives the upper end, inliers first and
    # anomaly pixels one by one the lower end.
    a, b = 7, 5
    ulp = np.spacing(np.float32(3.0))
    scores = np.float32(3.0) + ulp * np.arange(a + b, dtype=np.float32)
    hist = filled(scores, np.arange(a + b) < a)
    assert hist.num_bins == 1 and not hist.single_valued
    estimate = hist.metrics()
    best = anomaly_metrics(np.r_[np.full(a, 2.0), np.ones(b)],
                           np.arange(a + b) < a)['ap']
    worst = anomaly_metrics(np.r_[np.arange(a, 0, -1.0), np.full(b, 9.0)],
                            np.arange(a + b) < a)['ap']
    assert best == 1.0
    assert estimate['ap'] == pytest.approx(a / (a + b))
    assert estimate['ap_error_bound'] == pytest.approx(
        max(best - estimate['ap'], estimate['ap'] - worst), abs=2e-12)


@pytest.mark.parametrize('x', [0.0, 3.0, 8.5, 40.0, 1e4, 3e7])
def test_harmonic_sums(x):
    counts = np.array([1, 2, 5, 64, 65, 100, 1000, 5000])
    xs = np.full(counts.shape, x)
    direct = np.array([np.sum(1 / (x + np.arange(1, a + 1))) for a in counts])
    np.testing.assert_allclose(_harmonic_sum(xs, counts), direct, rtol=1e-12)
    excess = np.array([np.sum(1 / (x + np.arange(1, a + 1)) - 1 / (x + a))
                       for a in counts])
    np.testing.assert_allclose(_tie_excess(xs, counts), excess,
                               rtol=1e-9, atol=1e-15)


def test_exact_when_each_bin_holds_one_value():
    # Small integers are bin lower edges: the binned curve is the full one.
    rng = np.random.default_rng(5)
    labels = rng.random(5000) < 0.1
    scores = rng.integers(0, 50, 5000) + 20 * labels
    hist = filled(scores, labels)
    thresholds, fps, tps = hist.curve()
    ref_thresholds, ref_fps, ref_tps = binary_curve(scores, labels)
    np.testing.assert_array_equal(thresholds, ref_thresholds)
    np.testing.assert_array_equal(fps, ref_fps)
    np.testing.assert_array_equal(tps, ref_tps)
    for rule in FPR_RULES:
        approx = hist.metrics(rule)
        exact = anomaly_metrics(scores, labels, rule)
        assert {k: approx[k] for k in exact} == exact


def test_bins_follow_float_order_over_the_whole_range():
    # Widely spread scores of both signs, denormals and signed zeros: each
    # threshold (a bin's lower edge) splits the pixels exactly by score.
    rng = np.random.default_rng(6)
    magnitudes = 10.0**rng.uniform(-44, 38, 3000)
    scores = (magnitudes * rng.choice([-1, 1], 3000)).astype(np.float32)
    scores[:4] = [0.0, -0.0, 1e-45, -1e-45]
    labels = rng.random(3000) < 0.3
    hist = filled(scores, labels, mantissa_bits=4)
    thresholds, fps, tps = hist.curve()
    ranked = np.sort(scores)
    at_least = scores.size - np.searchsorted(ranked, thresholds, 'left')
    np.testing.assert_array_equal(fps + tps, at_least)
    # Pixel by pixel (narrow ranges, dense counting) gives the same bins as
    # all at once (a wide range, sparse counting); -0.0 ties with 0.0.
    single = ScoreHistogram(mantissa_bits=4)
    for score, label in zip(scores, labels):
        single.update(score[None], label[None])
    assert single == hist
    assert filled(np.array([-0.0, 0.0], np.float32),
                  np.array([1, 0])).num_bins == 1


def test_relative_bin_width():
    # A bin spans at most 2**-mantissa_bits of the score's magnitude.
    hist = ScoreHistogram(mantissa_bits=10)
    values = np.array([1.0, 1.5, -1.5, 1.2, -1.2, 1e-20, -3e7], np.float32)
    edges = hist.bin_lower_edges([hist._bin_id(v) for v in values])
    np.testing.assert_array_equal(edges[:3], values[:3])
    assert (edges <= values).all()
    assert (edges > values - np.abs(values) * 2**-10).all()


def test_inputs():
    scores, labels = energy_like(5000, 7)
    reference = filled(scores, labels)
    assert filled(torch.from_numpy(scores), torch.from_numpy(labels)) == (
        reference)
    assert filled(scores.astype(np.float64), labels.astype(np.uint8)) == (
        reference)
    with pytest.raises(ValueError, match='1 NaN'):
        filled(np.array([np.nan, 1.0]), np.array([0, 1]))
    with pytest.raises(ValueError, match='1 infinite'):
        filled(np.array([np.inf, 1.0]), np.array([0, 1]))
    with pytest.raises(ValueError, match=r'values \[3\]'):
        filled(np.array([0.5, 1.0]), np.array([0, 3]))
    with pytest.raises(ValueError, match='2 scores but 1 labels'):
        filled(np.array([0.5, 1.0]), np.array([0]))
    with pytest.raises(ValueError, match='same setting'):
        reference.merge(ScoreHistogram(mantissa_bits=12))
    with pytest.raises(ValueError, match='mantissa_bits'):
        ScoreHistogram(mantissa_bits=23)
    with pytest.raises(DegenerateSplitError, match='0 anomaly pixels'):
        filled(scores, np.zeros(5000, bool)).metrics()
    with pytest.raises(DegenerateSplitError):
        ScoreHistogram().metrics()


def test_bin_error_bounds_of_a_pure_curve_are_zero():
    # Bins holding one class leave no order open, and anomaly-only bins
    # leave no tie structure open if they hold one pixel or lie above every
    # inlier...
    bounds = bin_error_bounds(np.array([0, 3, 3, 8]), np.array([3, 3, 4, 4]))
    assert bounds['auroc_error_bound'] == 0
    assert bounds['ap_error_bound'] <= 1e-12
    # ... but 3 anomaly pixels below an inlier may be tied (AP 3/4 each) or
    # distinct (1/2, 2/3, 3/4).
    bounds = bin_error_bounds(np.array([1, 1]), np.array([0, 3]))
    assert bounds['ap_error_bound'] == pytest.approx(
        (3 / 4 * 3 - (1 / 2 + 2 / 3 + 3 / 4)) / 3, abs=2e-12)


def test_dense_and_sparse_storage_agree():
    # Fine bins far apart overflow the dense window into sparse storage;
    # where a bin is stored changes no count.
    rng = np.random.default_rng(8)
    near = (1 + rng.random(500) * 1e-3).astype(np.float32)
    far = (1e6 * (1 + rng.random(500) * 1e-3)).astype(np.float32)
    labels = rng.random(500) < 0.5
    first_near = ScoreHistogram(mantissa_bits=20)
    first_near.update(near, labels)
    first_near.update(far, ~labels)
    first_far = ScoreHistogram(mantissa_bits=20)
    first_far.update(far, ~labels)
    first_far.update(near, labels)
    at_once = filled(np.r_[near, far], np.r_[labels, ~labels],
                     mantissa_bits=20)
    assert first_near == first_far == at_once
    assert first_near.num_pixels == 1000


@pytest.mark.parametrize('kind', ['float16', 'tied'])
def test_bounds_are_zero_when_each_bin_holds_one_value(kind):
    # float16 scores (10 mantissa bits) and heavy ties on bin edges: the
    # histogram is exact, and says so, where the worst-case bound over the
    # order inside a bin would be several points of AP
    rng = np.random.default_rng(11)
    labels = rng.random(20000) < 0.2
    if kind == 'float16':
        # a narrow range: few float16 values, many pixels on each
        scores = (0.5 + 0.01 * rng.random(20000)
                  + 0.004 * labels).astype(np.float16)
    else:
        scores = rng.integers(0, 4, 20000) + labels.astype(int)
    hist = ScoreHistogram()
    hist.update(scores[:7000], labels[:7000])
    other = ScoreHistogram()
    other.update(scores[7000:], labels[7000:])
    hist.merge(other)
    assert hist.single_valued
    estimate = hist.metrics()
    exact = anomaly_metrics(scores, labels)
    assert estimate['ap_error_bound'] <= 1e-11
    assert estimate['auroc_error_bound'] == estimate['fpr_error_bound'] == 0
    assert abs(estimate['ap'] - exact['ap']) <= estimate['ap_error_bound']
    assert estimate['auroc'] == pytest.approx(exact['auroc'], abs=1e-12)
    assert estimate['fpr'] == exact['fpr']
    # the worst case over the order inside the bins, for comparison
    _, fps, tps = hist.curve()
    assert bin_error_bounds(fps, tps)['ap_error_bound'] > 0.01
    # one score with finer mantissa bits makes the bins uncertain again,
    # also through a state round trip
    state = hist.state_dict()
    assert ScoreHistogram.from_state_dict(state) == hist
    hist.update(np.array([0.1], np.float32), np.array([True]))
    assert not hist.single_valued
    assert ScoreHistogram.from_state_dict(hist.state_dict()) == hist
    legacy = {k: v for k, v in state.items() if k != 'single_valued'}
    assert not ScoreHistogram.from_state_dict(legacy).single_valued
