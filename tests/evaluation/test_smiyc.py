"""SegmentMeIfYouCan's own computation against a slow reference written from
its description, and hand-worked cases.

The reference follows the steps of ``road_anomaly_benchmark`` as the
:mod:`mmseg_ood.evaluation.smiyc` docstring describes them, with plain
loops, ``np.quantile``, Python's stable ``sorted`` and ``scipy.ndimage``;
its component step is the brute-force one of ``test_components``.
"""
import numpy as np
import pytest
from scipy import ndimage

from mmseg_ood.evaluation import smiyc
from mmseg_ood.evaluation.components import SMIYC_TAUS
from mmseg_ood.evaluation.functional import DegenerateSplitError
from mmseg_ood.evaluation.smiyc import (
    FrameBins,
    binned_curve,
    frame_bins,
    smiyc_metrics,
    smiyc_pixel_metrics,
    smiyc_prediction,
    to_smiyc_scores,
)

from .test_components import reference_mask_stats

VOID = 255
SIZES = dict(anomaly=(500, 100), obstacle=(50, 10))


# ------------------------------------------------------------ the reference
def ref_frame_entries(score16, label):
    """(lower edge, anomaly pixels, inlier pixels) of each bin of a frame."""
    valid = label != VOID
    s, y = score16[valid], label[valid] == 1
    if s.size == 0:
        return []
    vmin, vmax = s.min(), s.max()
    spread = float(np.float16(vmax - vmin))  # the range in float16
    eps = max(spread * 0.01, 0.01)
    edges = {float(vmin) - eps, float(vmax) + eps}
    for part in (s[y], s[~y]):
        if part.size:
            q = np.linspace(0, 1, min(384, part.size))
            edges.update(np.quantile(part, q).tolist())
    edges = sorted(edges)
    values = s.astype(np.float64)
    entries = []
    for j in range(len(edges) - 1):
        low, high = edges[j], edges[j + 1]
        top = j == len(edges) - 2  # the last bin includes its upper edge
        inside = (values >= low) & ((values <= high) if top else
                                    (values < high))
        entries.append((low, int((inside & y).sum()),
                        int((inside & ~y).sum())))
    return entries


def ref_curve(frames):
    """Merged curve: thresholds decreasing, equal ones later frame first;
    keep the first entry and the last entry of every threshold."""
    flat = [(thr, f, a, b) for f, entries in enumerate(frames)
            for thr, a, b in entries]
    flat.sort(key=lambda e: (-e[0], -e[1]))
    points, tp, fp = [], 0, 0
    for i, (thr, _, a, b) in enumerate(flat):
        tp, fp = tp + a, fp + b
        if i == 0 or i == len(flat) - 1 or flat[i + 1][0] != thr:
            points.append((thr, tp, fp))
    return points


def ref_pixel_metrics(points):
    num_pos, num_neg = points[-1][1], points[-1][2]
    ap = auroc = 0.0
    recall = fpr = tpr = 0.0
    fpr95 = None
    best, best_thr = -1.0, None
    for thr, tp, fp in points:
        new_recall = tp / num_pos
        if tp + fp:
            ap += (new_recall - recall) * tp / (tp + fp)
        new_fpr = fp / num_neg
        auroc += (new_fpr - fpr) * (new_recall + tpr) / 2
        recall, tpr, fpr = new_recall, new_recall, new_fpr
        if fpr95 is None and tp / num_pos >= 0.95:
            fpr95 = fp / num_neg
        f1 = 2 * tp / (2 * tp + fp + (num_pos - tp))
        if f1 > best:
            best, best_thr = f1, thr
    return dict(ap=ap, auroc=auroc, fpr=fpr95, threshold=best_thr)


def reference(score_maps, label_maps, track):
    maps = [(np.asarray(s).astype(np.float16), np.asarray(lab))
            for s, lab in zip(score_maps, label_maps)]
    values = ref_pixel_metrics(ref_curve(
        [ref_frame_entries(s, lab) for s, lab in maps]))
    siou, ppv = [], []
    threshold16 = float(np.float16(values['threshold']))
    for s, lab in maps:
        predicted = s.astype(np.float64) > threshold16
        a, b = reference_mask_stats(predicted, lab, *SIZES[track])
        siou += list(a)
        ppv += list(b)
    f1 = []
    for tau in SMIYC_TAUS:
        tp = sum(x >= tau for x in siou)
        fn = len(siou) - tp
        fp = sum(x < tau for x in ppv)
        f1.append(2 * tp / (2 * tp + fn + fp))
    values.update(sIoU_gt=float(np.mean(siou)),
                  PPV=float(np.mean(ppv)) if ppv else 0.0,
                  mean_F1=float(np.mean(f1)))
    return values


# ---------------------------------------------------------------- the maps
def random_maps(kind, seed, n=5, shape=(48, 64)):
    rng = np.random.default_rng(seed)
    scores, labels = [], []
    for i in range(n):
        label = np.zeros(shape, np.uint8)
        label[:rng.integers(0, 8)] = VOID
        bh, bw = shape[0] // 4, shape[1] // 4
        for blob in range(rng.integers(1, 4)):
            y = rng.integers(0, shape[0] - bh)
            x = rng.integers(0, shape[1] - bw)
            low = bh * 2 // 3 if blob == 0 else 2  # one above the filters
            h, w = rng.integers(low, bh), rng.integers(low, bw)
            label[y:y + h, x:x + w] = 1
        anomaly = label == 1
        # smooth like real maps (whole predicted blobs), plus fine noise
        smooth = ndimage.gaussian_filter(rng.random(shape), 2)
        smooth = (smooth - smooth.min()) / np.ptp(smooth)
        base = 0.6 * smooth + 0.35 * anomaly + 0.05 * rng.random(shape)
        score = {
            'continuous': base,
            'ties': np.round(base, 1),
            'coarse_ties': np.round(base * 20) / 20,
            'saturated': np.minimum(np.round(base, 2), 0.8),  # a shared top
            'energy': base * 60 - 20,  # magnitudes >= 32 in float16
            'energy_ties': np.round(base * 60 - 20),
            'negative': -np.exp(-3 * base),
        }[kind]
        if kind != 'saturated' and i == n - 1:
            label[label == 1] = 0  # a frame without anomaly pixels
        scores.append(score.astype(np.float32))
        labels.append(label)
    return scores, labels


KINDS = ('continuous', 'ties', 'coarse_ties', 'saturated', 'energy',
         'energy_ties', 'negative')


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('track', ['obstacle', 'anomaly'])
def test_equal_to_the_reference_on_random_maps(kind, track):
    seed = KINDS.index(kind) + (10 if track == 'anomaly' else 0)
    scores, labels = random_maps(kind, seed,
                                 shape=(48, 64) if track == 'obstacle' else
                                 (150, 200))
    ours = smiyc_metrics(scores, labels, track)
    expected = reference(scores, labels, track)
    for key, value in expected.items():
        assert ours[key] == pytest.approx(value, abs=1e-12), key
    assert ours['num_pixels'] == sum(int((lab != VOID).sum())
                                     for lab in labels)
    assert 0 < ours['mean_F1'] and ours['num_gt_components'] > 3
    if kind == 'saturated':  # frames share the top edge: the extra point
        frames = [frame_bins(to_smiyc_scores(sc[lab != VOID]),
                             lab[lab != VOID] == 1, str(i))
                  for i, (sc, lab) in enumerate(zip(scores, labels))]
        thresholds = binned_curve(frames)[0]
        assert thresholds[0] == thresholds[1]


@pytest.mark.parametrize('kind', KINDS)
def test_frame_bins_equal_numpy_histogram(kind):
    scores, labels = random_maps(kind, 3)
    for score, label in zip(scores, labels):
        valid = label != VOID
        s16 = to_smiyc_scores(score[valid])
        bins = frame_bins(s16, label[valid] == 1)
        entries = ref_frame_entries(s16, label[valid])
        assert bins.thresholds.tolist() == [e[0] for e in entries]
        assert bins.anomaly.tolist() == [e[1] for e in entries]
        assert bins.inlier.tolist() == [e[2] for e in entries]


def test_quantiles_equal_numpy():
    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(1, 2000))
        values = rng.standard_normal(n) * 10**rng.uniform(-4, 4)
        if trial % 3 == 1:
            values = np.round(values, 1)
        if trial % 3 == 2:  # wide gaps: the float16 difference rounds
            values = np.exp(rng.uniform(-9, 10, n)) * rng.choice([-1, 1], n)
        values = values.astype(np.float16)
        values = values[np.isfinite(values)]
        counts = np.bincount(smiyc._float16_keys(values), minlength=1 << 16)
        ours = smiyc._linear_quantiles(np.cumsum(counts))
        expected = np.quantile(values, np.linspace(0, 1, min(384, n)))
        np.testing.assert_array_equal(ours, expected)


# ------------------------------------------------------------ hand-worked
def test_bins_of_a_frame_by_hand():
    # vmin 0.1, vmax 0.9 (float16), range 0.8 -> margin 0.01; quantiles of
    # the anomaly pixels [0.5, 0.9] and of the inliers [0.1, 0.5]
    bins = frame_bins(np.array([0.1, 0.5, 0.5, 0.9], np.float16),
                      np.array([False, False, True, True]), 'f')
    f16 = [float(np.float16(v)) for v in (0.1, 0.5, 0.9)]
    assert bins.thresholds.tolist() == [f16[0] - 0.01, *f16]
    assert bins.anomaly.tolist() == [0, 0, 1, 1]
    assert bins.inlier.tolist() == [0, 1, 1, 0]
    # -0.0 and 0.0 are one score; a frame without valid pixels has no bins
    bins = frame_bins(np.array([-0.0, 0.0, 1.0], np.float16),
                      np.array([False, False, True]))
    assert bins.inlier.tolist() == [0, 2, 0]
    empty = frame_bins(np.zeros(0, np.float16), np.zeros(0, bool))
    assert empty.thresholds.size == 0


def two_frames():
    """Frame 'a': anomaly [1, 1], inlier [0.5]; frame 'b': anomaly [1],
    inlier [1, 0.5, 0.5]. Both frames' highest bin edge is 1.0."""
    a = frame_bins(np.array([1, 1, 0.5], np.float16),
                   np.array([True, True, False]), 'a')
    b = frame_bins(np.array([1, 1, 0.5, 0.5], np.float16),
                   np.array([True, False, False, False]), 'b')
    return a, b


def test_shared_top_edge_by_hand():
    # Merged, decreasing: 1.0 (b: 1 anomaly, 1 inlier), 1.0 (a: 2, 0),
    # 0.5 (b: 0, 2), 0.5 (a: 0, 1), 0.49 (b), 0.49 (a). Kept: the first
    # entry (TP 1, FP 1) and the last one of each threshold: (3, 1), (3, 4).
    a, b = two_frames()
    thresholds, fps, tps = binned_curve([a, b])
    assert tps.tolist() == [1, 3, 3, 3] and fps.tolist() == [1, 1, 4, 4]
    assert thresholds[:3].tolist() == [1.0, 1.0, 0.5]
    values = smiyc_pixel_metrics([b, a])  # merged in frame-id order
    # AP = 1/3 * 1/2 + 2/3 * 3/4 = 2/3 (3/4 without the extra point, 11/12
    # had frame a come first); AUROC = 1/4 * 1/3 / 2 + 3/4 = 19/24;
    # FPR95 at (FP 1, TP 3) = 1/4; best F1 6/7 at threshold 1.0.
    assert values['ap'] == pytest.approx(2 / 3, abs=1e-15)
    assert values['auroc'] == pytest.approx(19 / 24, abs=1e-15)
    assert values['fpr'] == 0.25 and values['threshold'] == 1.0
    expected = ref_pixel_metrics(ref_curve([
        list(zip(f.thresholds, f.anomaly, f.inlier)) for f in (a, b)]))
    for key, value in expected.items():
        assert values[key] == pytest.approx(value, abs=1e-15), key


def test_strict_threshold_at_a_tied_top_predicts_nothing():
    # A perfect detector with one score on every anomaly pixel: the best-F1
    # edge is that score, and `score > edge` predicts no pixel. The
    # benchmark reports sIoU 0 (its PPV is NaN: no component; 0.0 here).
    label = np.zeros((40, 40), np.uint8)
    label[10:30, 10:30] = 1
    score = np.where(label == 1, 0.9, 0.1).astype(np.float32)
    with pytest.warns(UserWarning, match='PPV is reported as 0.0'):
        values = smiyc_metrics([score], [label], 'obstacle')
    assert values['ap'] == 1.0 and values['threshold'] == float(
        np.float16(0.9))
    assert values['sIoU_gt'] == values['PPV'] == values['mean_F1'] == 0.0


def test_threshold_is_compared_in_float16():
    scores = np.array([1.0, 0.9995, 0.9985], np.float16)
    # 0.99999 rounds to float16 1.0: no score is above it
    assert smiyc_prediction(scores, 0.99999).tolist() == [False] * 3
    # 0.9991 rounds to 0.99902: 0.9995 (0.99951) is above, 0.9985 is not
    assert smiyc_prediction(scores, 0.9991).tolist() == [True, True, False]
    with pytest.raises(TypeError, match='float16'):
        smiyc_prediction(scores.astype(np.float32), 0.5)


def test_errors():
    with pytest.raises(ValueError, match='float16 range'):
        to_smiyc_scores(np.array([1.0, 7e4]), 'img.png')
    with pytest.raises(ValueError, match='float16 range'):
        to_smiyc_scores(np.array([np.nan]))
    with pytest.raises(TypeError, match='to_smiyc_scores'):
        frame_bins(np.zeros(3, np.float32), np.zeros(3, bool))
    with pytest.raises(DegenerateSplitError, match='0 anomaly pixels'):
        smiyc_pixel_metrics([frame_bins(np.zeros(3, np.float16),
                                        np.zeros(3, bool))])
    with pytest.raises(DegenerateSplitError):
        binned_curve([FrameBins('empty')])
    with pytest.raises(ValueError, match='track'):
        smiyc_metrics([np.zeros((2, 2))], [np.zeros((2, 2))], 'road')


def test_frame_order_of_the_input_does_not_matter():
    scores, labels = random_maps('saturated', 4)
    ids = [f'frame_{i}' for i in range(len(scores))]
    forward = smiyc_metrics(scores, labels, 'obstacle', frame_ids=ids)
    backward = smiyc_metrics(scores[::-1], labels[::-1], 'obstacle',
                             frame_ids=ids[::-1])
    assert forward == backward
