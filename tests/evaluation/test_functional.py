"""Exact anomaly metrics against scikit-learn and hand-worked examples."""
import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from mmseg_ood.evaluation.functional import (
    FPR_RULES,
    DegenerateSplitError,
    anomaly_metrics,
    binary_curve,
    metrics_from_counts,
)


def sklearn_reference(scores, labels, tpr_target=0.95):
    """The metrics as scikit-learn and each FPR rule's authors compute them."""
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    pruned_fpr, pruned_tpr, _ = roc_curve(labels, scores)
    fprs = dict(
        first=fpr[np.flatnonzero(tpr >= tpr_target)[0]],
        nearest=pruned_fpr[np.argmin(np.abs(pruned_tpr - tpr_target))])
    if tpr_target < 1:
        fprs['strict'] = fpr[np.flatnonzero(tpr > tpr_target)[0]]
    return (roc_auc_score(labels, scores),
            average_precision_score(labels, scores), fprs)


def assert_matches_sklearn(scores, labels, tpr_target=0.95):
    auroc, ap, fprs = sklearn_reference(scores, labels, tpr_target)
    _, fps, tps = binary_curve(scores, labels)
    for rule, fpr in fprs.items():
        m = anomaly_metrics(scores, labels, rule, tpr_target)
        assert abs(m['auroc'] - auroc) < 1e-9
        assert abs(m['ap'] - ap) < 1e-9
        assert m['fpr'] == fpr, rule
        assert m['num_pixels'] == len(labels)
        assert m['num_anomaly'] == int(np.sum(labels))
        # The fast path and the full curve go through the same formula.
        assert metrics_from_counts(fps, tps, rule, tpr_target) == m


def test_hand_worked_example():
    # Sorted by score: 0.8 (A), 0.4 (I), 0.35 (A), 0.1 (I).
    # AP = 1/2 * 1 + 1/2 * 2/3; ROC points (0,0) (0,.5) (.5,.5) (.5,1) (1,1)
    # -> AUROC = 0.75; TPR >= 0.95 first at FPR 0.5.
    m = anomaly_metrics(np.array([0.1, 0.4, 0.35, 0.8]),
                        np.array([0, 0, 1, 1]))
    assert m['ap'] == pytest.approx(0.5 + 1 / 3)
    assert m['auroc'] == pytest.approx(0.75)
    assert m['fpr'] == pytest.approx(0.5)
    assert (m['num_pixels'], m['num_anomaly']) == (4, 2)


@pytest.mark.parametrize('seed', range(12))
def test_equal_to_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 20000))
    decimals = int(rng.integers(0, 3))  # few distinct values: many ties
    labels = rng.random(n) < rng.uniform(0.02, 0.5)
    scores = (rng.normal(size=n) + 1.5 * labels).round(decimals)
    assert_matches_sklearn(scores.astype(np.float32), labels)


def test_equal_to_sklearn_on_many_tiny_splits():
    # Tiny splits with 1-6 distinct values reach every tie, collinear and
    # equal-distance case of roc_curve's pruning and of the FPR rules.
    rng = np.random.default_rng(0)
    for case in range(80):
        n = int(rng.integers(2, 25))
        labels = rng.random(n) < rng.uniform(0.1, 0.9)
        labels[:2] = [True, False]
        scores = rng.integers(0, int(rng.integers(1, 7)), n) - 3.0
        target = (0.95, 0.5, 0.8, 1.0)[case % 4]
        assert_matches_sklearn(scores, labels, target)


@pytest.mark.parametrize('kind', ['energy', 'float16', 'constant'])
def test_equal_to_sklearn_on_score_kinds(kind):
    rng = np.random.default_rng(1)
    labels = rng.random(5000) < 0.03
    if kind == 'energy':  # negative float32 energies, no ties to speak of
        logits = rng.normal(size=(5000, 5)) + 3 * (~labels)[:, None]
        scores = -np.log(np.exp(logits).sum(1)).astype(np.float32)
    elif kind == 'float16':  # few thousand representable values
        scores = rng.normal(size=5000).astype(np.float16) + labels
    else:
        scores = np.full(5000, -2.5, np.float32)
    assert_matches_sklearn(scores, labels)


def test_single_anomaly_and_single_inlier_pixel():
    rng = np.random.default_rng(2)
    scores = rng.normal(size=200).round(1)
    for labels in (np.arange(200) == 7, np.arange(200) != 7):
        assert_matches_sklearn(scores, labels)


def test_rules_differ_where_the_curve_jumps_over_095():
    # TPR jumps 0.9 -> 1.0: 'first' takes the point at 1.0, 'nearest' may
    # take 0.9 (equal distance: the first one wins, as np.argmin does).
    labels = np.array([1] * 9 + [0] * 5 + [1])
    scores = np.array([9.0] * 9 + [5, 4, 3, 2, 1] + [0.5])
    first = anomaly_metrics(scores, labels)['fpr']
    nearest = anomaly_metrics(scores, labels, fpr_rule='nearest')['fpr']
    assert first == 1.0
    assert nearest == 0.0


def test_first_and_strict_differ_at_exactly_095():
    # 20 anomaly pixels, 19 above every inlier: TPR is exactly 0.95 at FPR
    # 0; '>' needs the last anomaly pixel, below 3 of the 4 inliers.
    scores = np.array([10.0] * 19 + [3, 2, 1, 0.5, 0])
    labels = np.array([1] * 19 + [0, 0, 0, 1, 0])
    assert anomaly_metrics(scores, labels, 'first')['fpr'] == 0.0
    assert anomaly_metrics(scores, labels, 'strict')['fpr'] == 0.75


def test_constant_scores():
    # One threshold: the ROC is the diagonal, AP the anomaly share.
    labels = np.array([0, 1, 0, 0])
    for rule in FPR_RULES:
        m = anomaly_metrics(np.full(4, 2.0), labels, fpr_rule=rule)
        assert m['auroc'] == pytest.approx(0.5)
        assert m['ap'] == pytest.approx(0.25)
        assert m['fpr'] == 1.0


def test_pixel_order_and_label_dtype_do_not_matter():
    rng = np.random.default_rng(3)
    labels = rng.random(3000) < 0.1
    scores = rng.normal(size=3000).round(1).astype(np.float32) + labels
    order = rng.permutation(3000)
    for rule in FPR_RULES:
        m = anomaly_metrics(scores, labels, rule)
        assert anomaly_metrics(scores[order], labels[order], rule) == m
        assert anomaly_metrics(scores, labels.astype(np.uint8), rule) == m
        assert anomaly_metrics(scores, labels.astype(float), rule) == m
        assert anomaly_metrics(scores.reshape(30, 100),
                               labels.reshape(30, 100), rule) == m


def test_float64_scores_are_not_rounded():
    # Differences far below float32 resolution still order the pixels.
    scores = 1 + np.array([3e-12, 2e-12, 1e-12, 0.0])
    m = anomaly_metrics(scores, np.array([1, 0, 1, 0]))
    assert m['ap'] == pytest.approx((1 + 2 / 3) / 2)


def test_binary_curve_equals_sklearn_roc_curve():
    rng = np.random.default_rng(4)
    labels = rng.random(4000) < 0.2
    scores = (rng.normal(size=4000) - 5).round(1).astype(np.float32)
    thresholds, fps, tps = binary_curve(scores, labels)
    fpr, tpr, ref = roc_curve(labels, scores, drop_intermediate=False)
    assert fps.dtype == tps.dtype == np.int64
    np.testing.assert_array_equal(thresholds, ref[1:])
    np.testing.assert_array_equal(fps, np.round(fpr[1:] * (~labels).sum()))
    np.testing.assert_array_equal(tps, np.round(tpr[1:] * labels.sum()))


def test_degenerate_split():
    for labels in (np.zeros(5, bool), np.ones(5, bool)):
        with pytest.raises(DegenerateSplitError,
                           match=f'{int(labels.sum())} anomaly pixels among '
                           '5 valid pixels'):
            anomaly_metrics(np.arange(5.0), labels)
        with pytest.raises(DegenerateSplitError, match='label values'):
            binary_curve(np.arange(5.0), labels)
    with pytest.raises(ValueError, match='both anomaly and inlier'):
        metrics_from_counts(np.array([1, 2]), np.array([0, 0]))


def test_errors():
    with pytest.raises(ValueError, match='1 NaN and 0 infinite'):
        anomaly_metrics(np.array([np.nan, 0.2]), np.array([0, 1]))
    with pytest.raises(ValueError, match='0 NaN and 1 infinite'):
        anomaly_metrics(np.array([-np.inf, 0.2]), np.array([0, 1]))
    with pytest.raises(ValueError, match=r'values \[2\] occur'):
        anomaly_metrics(np.array([0.1, 0.2]), np.array([2, 1]))
    with pytest.raises(ValueError, match=r'values \[0.5\] occur'):
        anomaly_metrics(np.array([0.1, 0.2]), np.array([0.5, 1]))
    with pytest.raises(ValueError, match='fpr_rule'):
        anomaly_metrics(np.array([0.1, 0.2]), np.array([0, 1]), 'last')
    with pytest.raises(ValueError, match='0 < tpr_target < 1'):
        anomaly_metrics(np.array([0.1, 0.2]), np.array([0, 1]), 'strict',
                        1.0)
    with pytest.raises(ValueError, match='3 scores but 2 labels'):
        anomaly_metrics(np.zeros(3), np.array([0, 1]))
    with pytest.raises(ValueError, match='non-decreasing'):
        metrics_from_counts(np.array([2, 1]), np.array([1, 2]))
    with pytest.raises(ValueError, match='integer count arrays'):
        metrics_from_counts(np.array([0.5, 1]), np.array([1, 2]))
