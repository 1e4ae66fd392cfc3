"""SegmentMeIfYouCan component metrics: hand-worked masks and references."""
import numpy as np
import pytest
from scipy import ndimage
from sklearn.metrics import precision_recall_curve

from mmseg_ood.datasets.set_specs import SMIYC_TRACKS
from mmseg_ood.evaluation.components import (
    SMIYC_TAUS,
    ComponentStats,
    aggregate_component_stats,
    best_f1_threshold,
    component_metrics,
    image_component_stats,
)

VOID = 255


def stats_of(label, pred, min_pred=1, min_gt=1):
    """Component stats with the prediction given as a 0/1 mask."""
    return image_component_stats(pred.astype(np.float32), label, 0.5,
                                 min_pred_size=min_pred, min_gt_size=min_gt)


def test_taus():
    np.testing.assert_allclose(SMIYC_TAUS, np.arange(25, 80, 5) / 100)


def test_single_perfect_blob():
    label = np.zeros((40, 40), np.uint8)
    label[5:17, 8:20] = 1  # 144 px
    s = stats_of(label, label, min_pred=100, min_gt=100)
    np.testing.assert_array_equal(s.sIoU_gt, [1.0])
    np.testing.assert_array_equal(s.ppv, [1.0])
    assert s.sIoU_gt.dtype == s.ppv.dtype == np.float64
    m = aggregate_component_stats([s])
    assert m == dict(sIoU_gt=1.0, PPV=1.0, mean_F1=1.0,
                     num_gt_components=1, num_pred_components=1)


def test_prediction_covering_two_blobs():
    # GT A: rows 0-9, cols 0-9; GT B: rows 0-9, cols 20-29 (100 px each).
    # One prediction: rows 0-9, cols 0-29 (300 px).
    # sIoU(A) = |A & P| / |(A | P) minus B| = 100 / (300 - 100) = 0.5
    # (without the adjustment it would be 100 / 300); same for B.
    # PPV(P) = 200 / 300.
    label = np.zeros((20, 40), np.uint8)
    label[:10, :10] = 1
    label[:10, 20:30] = 1
    pred = np.zeros_like(label)
    pred[:10, :30] = 1
    s = stats_of(label, pred)
    np.testing.assert_allclose(s.sIoU_gt, [0.5, 0.5])
    np.testing.assert_allclose(s.ppv, [2 / 3])
    # tau 0.4: TP 2, FN 0, FP 0 -> F1 1; tau 0.6: TP 0, FN 2, FP 0 -> 0;
    # tau 0.7: TP 0, FN 2, FP 1 -> 0.
    for taus, f1 in (([0.4], 1.0), ([0.6], 0.0), ([0.7], 0.0),
                     ([0.4, 0.6], 0.5)):
        assert aggregate_component_stats([s], taus)['mean_F1'] == f1


def test_false_positive_blob_and_partial_overlap():
    # GT A (10x10) predicted exactly; GT B (10x10) half covered by a
    # prediction that also covers 50 inlier px; an extra 10x10 prediction
    # on inliers. sIoU = [1, 50/150]; PPV = [1, 50/100, 0].
    label = np.zeros((30, 60), np.uint8)
    label[0:10, 0:10] = 1
    label[0:10, 30:40] = 1
    pred = np.zeros_like(label)
    pred[0:10, 0:10] = 1
    pred[0:10, 35:45] = 1
    pred[20:30, 0:10] = 1
    s = stats_of(label, pred)
    np.testing.assert_allclose(s.sIoU_gt, [1.0, 1 / 3])
    np.testing.assert_allclose(np.sort(s.ppv), [0.0, 0.5, 1.0])
    m = aggregate_component_stats([s])
    assert m['sIoU_gt'] == pytest.approx((1 + 1 / 3) / 2)
    assert m['PPV'] == pytest.approx(0.5)
    # tau 0.3: TP 2 (1/3 >= 0.3), FN 0, FP 1 (PPV 0)      -> 4/5
    # tau 0.45: TP 1, FN 1, FP 1                           -> 2/4
    # tau 0.6: TP 1, FN 1, FP 2 (0 and 0.5)                -> 2/5
    for tau, f1 in ((0.3, 0.8), (0.45, 0.5), (0.6, 0.4)):
        assert aggregate_component_stats([s], [tau])['mean_F1'] == \
            pytest.approx(f1)
    # Mean over the 11 SMIYC taus from the same hand counts: TP 2 for
    # tau <= 1/3 (0.25, 0.30), FP 1 for tau <= 0.5 (0.50 counts 0.5 as
    # not a FP since PPV >= tau), else 2.
    expected = []
    for tau in SMIYC_TAUS:
        tp = 2 if tau <= 1 / 3 else 1
        fp = 1 if tau <= 0.5 else 2
        expected.append(2 * tp / (2 * tp + (2 - tp) + fp))
    assert m['mean_F1'] == pytest.approx(np.mean(expected))


def test_pooled_over_images_not_per_image():
    a = ComponentStats(sIoU_gt=np.array([1.0]), ppv=np.array([1.0]))
    b = ComponentStats(sIoU_gt=np.array([0.0, 0.0, 0.0]),
                       ppv=np.array([0.0]))
    m = aggregate_component_stats([a, b], taus=[0.5])
    assert m['sIoU_gt'] == pytest.approx(0.25)  # not (1 + 0) / 2
    assert m['PPV'] == pytest.approx(0.5)
    # TP 1, FN 3, FP 1 summed over images -> 2 / 6
    assert m['mean_F1'] == pytest.approx(1 / 3)
    assert (m['num_gt_components'], m['num_pred_components']) == (4, 2)


def test_size_filters_at_the_boundary():
    f = SMIYC_TRACKS['anomaly']
    label = np.zeros((80, 120), np.uint8)
    label[0:10, 0:10] = 1  # 100 px: kept
    label[0:9, 20:31] = 1  # 99 px: made void
    pred = np.zeros_like(label)
    pred[40:60, 0:25] = 1  # 500 px on inliers: kept, PPV 0
    pred[40:60, 40:65] = 1
    pred[59, 64] = 0  # 499 px: dropped
    s = stats_of(label, pred, f.min_pred_size, f.min_gt_size)
    np.testing.assert_array_equal(s.sIoU_gt, [0.0])
    np.testing.assert_array_equal(s.ppv, [0.0])
    # On the obstacle track (50 / 10) all four blobs are kept.
    f = SMIYC_TRACKS['obstacle']
    s = stats_of(label, pred, f.min_pred_size, f.min_gt_size)
    assert (s.num_gt, s.num_pred) == (2, 2)


def test_prediction_on_a_dropped_gt_blob_leaves_the_evaluation():
    label = np.zeros((40, 40), np.uint8)
    label[0:9, 0:11] = 1  # 99 px GT blob: void for min_gt=100
    pred = np.zeros_like(label)
    pred[0:5, 0:10] = 1  # entirely on the dropped blob: vanishes
    assert stats_of(label, pred, 1, 100).num_pred == 0
    # A prediction over the dropped blob and 20 inlier px keeps only those
    # 20 px: PPV 0 and, with min_gt lowered, it would be PPV 99 / 119.
    pred[0:9, 0:11] = 1
    pred[9, 0:20] = 1
    s = stats_of(label, pred, 1, 100)
    np.testing.assert_array_equal(s.ppv, [0.0])
    np.testing.assert_allclose(stats_of(label, pred, 1, 99).ppv, [99 / 119])


def test_size_filter_counts_the_whole_component_before_gt_removal():
    # 99 px on a dropped GT blob + 20 px on inliers = 119 px >= 110: kept,
    # although only its 20 inlier px are evaluated.
    label = np.zeros((40, 40), np.uint8)
    label[0:9, 0:11] = 1
    pred = label.copy()
    pred[9, 0:20] = 1
    s = stats_of(label, pred, 110, 100)
    np.testing.assert_array_equal(s.ppv, [0.0])
    assert stats_of(label, pred, 120, 100).num_pred == 0


def test_diagonal_touch_is_one_component():
    # Two 10x10 squares touching at one corner: one 8-connected component
    # of 200 px (4-connectivity would give two of 100 px).
    label = np.zeros((30, 30), np.uint8)
    label[0:10, 0:10] = 1
    label[10:20, 10:20] = 1
    s = stats_of(label, label, 150, 150)
    np.testing.assert_array_equal(s.sIoU_gt, [1.0])
    np.testing.assert_array_equal(s.ppv, [1.0])
    # Predicting only one of the squares: sIoU 100 / 200 of the one GT.
    pred = np.zeros_like(label)
    pred[0:10, 0:10] = 1
    np.testing.assert_allclose(stats_of(label, pred).sIoU_gt, [0.5])


def test_void_pixels():
    label = np.zeros((30, 60), np.uint8)
    label[0:10, 0:10] = 1
    label[:, 10:20] = VOID
    # A prediction over the GT blob and the void columns next to it: void
    # is never predicted, so sIoU 1 and PPV 1.
    pred = np.zeros_like(label)
    pred[0:10, 0:20] = 1
    s = stats_of(label, pred)
    np.testing.assert_array_equal(s.sIoU_gt, [1.0])
    np.testing.assert_array_equal(s.ppv, [1.0])
    # Void splits a prediction before labelling: rows 15-24, cols 0-34 over
    # inliers and void -> components of 100 px and 150 px, not one of 250.
    pred = np.zeros_like(label)
    pred[15:25, 0:35] = 1
    assert stats_of(label, pred, min_pred=151).num_pred == 0
    assert stats_of(label, pred, min_pred=150).num_pred == 1
    assert stats_of(label, pred, min_pred=100).num_pred == 2
    # Scores on void pixels are irrelevant.
    scores = pred.astype(np.float32)
    scores[label == VOID] = 1e6
    t = image_component_stats(scores, label, 0.5, 100, 1)
    np.testing.assert_array_equal(t.ppv, [0.0, 0.0])


def test_threshold_is_inclusive():
    label = np.zeros((20, 20), np.uint8)
    label[:10, :10] = 1
    scores = np.where(label == 1, 0.7, 0.1)
    assert image_component_stats(scores, label, 0.7, 1, 1).num_pred == 1
    assert image_component_stats(
        scores, label, np.nextafter(0.7, 1), 1, 1).num_pred == 0


def exact_curve(scores, labels):
    """Pixel curve built by brute force: for each distinct threshold."""
    thresholds = np.unique(scores)[::-1]
    above = scores[None, :] >= thresholds[:, None]
    return (thresholds, (above & ~labels).sum(1), (above & labels).sum(1))


@pytest.mark.parametrize('seed', range(8))
def test_best_f1_threshold_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 1500))
    labels = rng.random(n) < rng.uniform(0.05, 0.5)
    labels[0] = True
    scores = (rng.normal(size=n) + labels).round(int(rng.integers(0, 3)))
    t = best_f1_threshold(*exact_curve(scores, labels))
    precision, recall, thr = precision_recall_curve(labels, scores)
    with np.errstate(invalid='ignore', divide='ignore'):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    f1 = f1[:-1]  # the last point (recall 0) has no threshold
    best = np.flatnonzero(np.isclose(f1, f1.max(), rtol=0, atol=1e-12))
    # Ties go to the highest threshold (sklearn's order is increasing).
    assert t == thr[best[-1]]


def test_best_f1_threshold_hand_worked_and_errors():
    # F1 at 0.9: 2/(1+0+2)=2/3; at 0.5: 4/(2+1+2)=4/5; at 0.1: 4/7.
    thr = np.array([0.9, 0.5, 0.1])
    assert best_f1_threshold(thr, [0, 1, 3], [1, 2, 2]) == 0.5
    # A tie between 0.9 and 0.5 (both 2/3): the higher threshold wins.
    assert best_f1_threshold(thr, [0, 2, 3], [1, 2, 2]) == 0.9
    with pytest.raises(ValueError, match='strictly decreasing'):
        best_f1_threshold(thr[::-1], [0, 1, 3], [1, 2, 2])
    with pytest.raises(ValueError, match='no anomaly pixel'):
        best_f1_threshold(thr, [1, 2, 3], [0, 0, 0])
    with pytest.raises(ValueError, match='one length'):
        best_f1_threshold(thr, [0, 1], [1, 2, 2])


def reference_stats(score, label, thr, min_pred, min_gt):
    """The benchmark's set definitions at threshold ``score >= thr``."""
    return reference_mask_stats(score >= thr, label, min_pred, min_gt)


def reference_mask_stats(predicted, label, min_pred, min_gt):
    """sIoU of each ground-truth and PPV of each predicted component of a
    predicted mask, from the benchmark's set definitions, one boolean mask
    per component."""
    struct = np.ones((3, 3), bool)
    void = label == VOID
    gl, ng = ndimage.label(label == 1, struct)
    pl, npr = ndimage.label(predicted & ~void, struct)
    gts = [gl == i for i in range(1, ng + 1)]
    dropped = np.zeros_like(void)
    for g in gts:
        if g.sum() < min_gt:
            dropped |= g
    roi = ~void & ~dropped
    gts = [g for g in gts if g.sum() >= min_gt]
    preds = [(pl == j) & roi for j in range(1, npr + 1)
             if (pl == j).sum() >= min_pred]
    preds = [p for p in preds if p.any()]
    all_gt = np.zeros_like(void)
    for g in gts:
        all_gt |= g
    siou = []
    for g in gts:
        p_union = np.zeros_like(void)
        for p in preds:
            if (p & g).any():
                p_union |= p
        others = all_gt & ~g
        siou.append((g & p_union).sum() / ((g | p_union) & ~others).sum())
    ppv = [(p & all_gt).sum() / p.sum() for p in preds]
    return np.array(siou), np.array(ppv)


def random_scene(rng, shape=(72, 96)):
    blobs = ndimage.gaussian_filter(rng.normal(size=shape), 3)
    label = (blobs > np.quantile(blobs, 0.8)).astype(np.uint8)
    y0, x0 = rng.integers(0, shape[0] // 2), rng.integers(0, shape[1] // 2)
    label[y0:y0 + shape[0] // 3, x0:x0 + shape[1] // 4] = VOID
    score = 0.7 * blobs / blobs.std() + ndimage.gaussian_filter(
        rng.normal(size=shape), 2) / 0.15
    return score, label


@pytest.mark.parametrize('seed', range(6))
def test_matches_brute_force_reference(seed):
    rng = np.random.default_rng(seed)
    scenes = [random_scene(rng) for _ in range(3)]
    thr = float(np.quantile(scenes[0][0], 0.75))
    sizes = [(50, 10), (20, 40), (1, 1)][seed % 3]
    stats, ref_siou, ref_ppv = [], [], []
    for score, label in scenes:
        s = image_component_stats(score, label, thr, *sizes)
        r_siou, r_ppv = reference_stats(score, label, thr, *sizes)
        np.testing.assert_allclose(np.sort(s.sIoU_gt), np.sort(r_siou))
        np.testing.assert_allclose(np.sort(s.ppv), np.sort(r_ppv))
        stats.append(s)
        ref_siou.append(r_siou)
        ref_ppv.append(r_ppv)
    ref_siou, ref_ppv = np.concatenate(ref_siou), np.concatenate(ref_ppv)
    assert ref_siou.size > 2 and ref_ppv.size > 2  # a non-trivial scene
    f1 = []
    for tau in SMIYC_TAUS:
        tp = sum(v >= tau for v in ref_siou)
        fn = sum(v < tau for v in ref_siou)
        fp = sum(v < tau for v in ref_ppv)
        f1.append(2 * tp / (2 * tp + fn + fp))
    m = aggregate_component_stats(stats)
    assert m['mean_F1'] == pytest.approx(np.mean(f1))
    assert m['sIoU_gt'] == pytest.approx(ref_siou.mean())
    assert m['PPV'] == pytest.approx(ref_ppv.mean())


def test_component_metrics_end_to_end():
    rng = np.random.default_rng(0)
    scenes = [random_scene(rng) for _ in range(3)]
    scores = [s for s, _ in scenes]
    labels = [lab for _, lab in scenes]
    m = component_metrics(scores, labels, track='obstacle')
    valid = np.concatenate([lab.ravel() != VOID for lab in labels])
    pooled = np.concatenate([s.ravel() for s in scores])[valid]
    anomaly = np.concatenate([lab.ravel() == 1 for lab in labels])[valid]
    assert m['threshold'] == best_f1_threshold(
        *exact_curve(pooled, anomaly))
    stats = [image_component_stats(s, lab, m['threshold'], 50, 10)
             for s, lab in scenes]
    expected = aggregate_component_stats(stats)
    assert {k: m[k] for k in expected} == expected
    fixed = component_metrics(scores, labels, 'anomaly', threshold=0.0)
    assert fixed['threshold'] == 0.0


def test_empty_cases_and_bad_input():
    label = np.zeros((20, 20), np.uint8)
    scores = np.zeros((20, 20))
    s = image_component_stats(scores, label, 0.5, 1, 1)
    assert (s.num_gt, s.num_pred) == (0, 0)
    with pytest.raises(ValueError, match='No ground-truth anomaly'):
        aggregate_component_stats([s])
    label[:5, :5] = 1
    s = image_component_stats(scores, label, 0.5, 1, 1)
    with pytest.warns(UserWarning, match='PPV is reported as 0.0'):
        m = aggregate_component_stats([s])
    assert (m['PPV'], m['mean_F1'], m['sIoU_gt']) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match=r'values \[7\]'):
        image_component_stats(scores, np.full((20, 20), 7, np.uint8),
                              0.5, 1, 1)
    with pytest.raises(ValueError, match='one shape'):
        image_component_stats(scores[:10], label, 0.5, 1, 1)
    with pytest.raises(ValueError, match='NaN'):
        image_component_stats(np.full((20, 20), np.nan), label, 0.5, 1, 1)
    with pytest.raises(ValueError, match='Unknown track'):
        component_metrics([scores], [label], track='road')
