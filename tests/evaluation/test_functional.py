"""Exact anomaly metrics against scikit-learn and a hand-worked example."""
import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from mmseg_ood.evaluation.functional import anomaly_metrics


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
    scores = scores.astype(np.float32)
    m = anomaly_metrics(scores, labels)
    assert abs(m['auroc'] - roc_auc_score(labels, scores)) < 1e-9
    assert abs(m['ap'] - average_precision_score(labels, scores)) < 1e-9
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    assert m['fpr'] == fpr[np.flatnonzero(tpr >= 0.95)[0]]
    fpr, tpr, _ = roc_curve(labels, scores)
    nearest = anomaly_metrics(scores, labels, fpr_rule='nearest')['fpr']
    assert nearest == fpr[np.argmin(np.abs(tpr - 0.95))]


def test_rules_differ_where_the_curve_jumps_over_095():
    # TPR jumps 0.9 -> 1.0: 'first' takes the point at 1.0, 'nearest' may
    # take 0.9 (equal distance: the first one wins, as np.argmin does).
    labels = np.array([1] * 9 + [0] * 5 + [1])
    scores = np.array([9.0] * 9 + [5, 4, 3, 2, 1] + [0.5])
    first = anomaly_metrics(scores, labels)['fpr']
    nearest = anomaly_metrics(scores, labels, fpr_rule='nearest')['fpr']
    assert first == 1.0
    assert nearest == 0.0


def test_constant_scores():
    # One threshold: the ROC is the diagonal, AP the anomaly share.
    labels = np.array([0, 1, 0, 0])
    for rule in ('first', 'nearest'):
        m = anomaly_metrics(np.full(4, 2.0), labels, fpr_rule=rule)
        assert m['auroc'] == pytest.approx(0.5)
        assert m['ap'] == pytest.approx(0.25)
        assert m['fpr'] == 1.0


def test_errors():
    with pytest.raises(ValueError, match='both anomaly and inlier'):
        anomaly_metrics(np.array([0.1, 0.2]), np.array([0, 0]))
    with pytest.raises(ValueError, match='NaN'):
        anomaly_metrics(np.array([np.nan, 0.2]), np.array([0, 1]))
    with pytest.raises(ValueError, match='fpr_rule'):
        anomaly_metrics(np.array([0.1, 0.2]), np.array([0, 1]), 'last')
    with pytest.raises(ValueError, match='3 scores but 2 labels'):
        anomaly_metrics(np.zeros(3), np.array([0, 1]))
