"""ROC / precision-recall figures and curve thinning, against scikit-learn."""
import cv2
import matplotlib
import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from mmseg_ood.visualization import (
    plot_curves,
    pr_points,
    roc_points,
    thin_curve,
)


def scored_pixels(num=200_000, shift=1.5, seed=0):
    """Scores with many ties (rounded) and about 5% anomalies."""
    rng = np.random.default_rng(seed)
    labels = rng.random(num) < 0.05
    scores = np.round(rng.normal(size=num) + shift * labels, 5)
    return scores, labels


def counts_from_sklearn(scores, labels):
    """(fps, tps) at every distinct threshold, from sklearn's full ROC."""
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    num_pos, num_neg = int(labels.sum()), int((~labels).sum())
    fps = np.rint(fpr[1:] * num_neg).astype(np.int64)
    tps = np.rint(tpr[1:] * num_pos).astype(np.int64)
    return fps, tps


@pytest.fixture(scope='module')
def curve():
    scores, labels = scored_pixels()
    return scores, labels, counts_from_sklearn(scores, labels)


def test_thinning_keeps_endpoints_and_stays_within_a_cell(curve):
    _, _, (fps, tps) = curve
    tol = 1e-3
    x = np.concatenate([[0.0], fps / fps[-1]])
    y = np.concatenate([[0.0], tps / tps[-1]])
    keep = thin_curve(x, y, tol)
    assert keep[0] == 0 and keep[-1] == x.size - 1
    assert np.all(np.diff(keep) > 0)
    assert keep.size < x.size / 4
    # every point lies within tol of the last kept point before it
    previous = keep[np.searchsorted(keep, np.arange(x.size), 'right') - 1]
    assert np.abs(x - x[previous]).max() < tol
    assert np.abs(y - y[previous]).max() < tol


@pytest.mark.parametrize('tol', [1e-3, 1e-2])
def test_thinned_auroc_and_ap_match_sklearn(curve, tol):
    scores, labels, (fps, tps) = curve
    fpr, tpr = roc_points(fps, tps, tol)
    assert (fpr[0], tpr[0]) == (0.0, 0.0) and (fpr[-1], tpr[-1]) == (1, 1)
    assert fpr.size <= 4 / tol + 2  # a monotone curve keeps few points
    auroc = np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)
    assert abs(auroc - roc_auc_score(labels, scores)) < tol
    recall, precision = pr_points(fps, tps, tol)
    assert recall[-1] == 1.0
    # the area under the drawn steps
    ap = np.sum(np.diff(recall, prepend=0.0) * precision)
    assert abs(ap - average_precision_score(labels, scores)) < tol


def test_thin_curve_small_and_bad_inputs():
    np.testing.assert_array_equal(thin_curve([0.5], [0.5]), [0])
    np.testing.assert_array_equal(thin_curve([0, 1], [0, 1]), [0, 1])
    # collinear points inside one cell collapse to the end points
    np.testing.assert_array_equal(
        thin_curve([0, 1e-4, 2e-4, 3e-4], [0, 1e-4, 2e-4, 3e-4], 1e-3),
        [0, 3])
    with pytest.raises(ValueError, match='equal length'):
        thin_curve([0, 1], [0, 1, 2])
    with pytest.raises(ValueError, match='positive'):
        thin_curve([0, 1], [0, 1], tol=0)


def colour_pixels(image, hex_colour, tolerance=30):
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(image[..., ::-1].astype(int) - rgb).max(-1)
                < tolerance).sum())


def test_plot_curves_writes_a_readable_png(curve, tmp_path):
    scores, labels, good = curve
    worse_scores, _ = scored_pixels(shift=0.5)
    worse = counts_from_sklearn(worse_scores, labels)
    backend = matplotlib.get_backend()
    out = tmp_path / 'figs' / 'fs_laf.png'
    shown = plot_curves({'energy': good, 'weak': worse}, str(out),
                        title='FS L&F (test)', dpi=50)
    assert matplotlib.get_backend() == backend
    image = cv2.imread(str(out))
    # figsize (11, 4.8 + 0.25 * (2 curves + 1)) at 50 dpi
    assert image.shape == (277, 550, 3)
    assert [p.name for p in out.parent.iterdir()] == ['fs_laf.png']
    # matplotlib's first two line colours are drawn
    assert colour_pixels(image, '#1f77b4') > 100
    assert colour_pixels(image, '#ff7f0e') > 100
    assert shown['energy']['auroc'] == pytest.approx(
        roc_auc_score(labels, scores), abs=1e-12)
    assert shown['weak']['ap'] == pytest.approx(
        average_precision_score(labels, worse_scores), abs=1e-12)
    assert shown['weak']['auroc'] < shown['energy']['auroc']


def test_plot_curves_rejects_bad_curves(tmp_path):
    out = str(tmp_path / 'x.png')
    with pytest.raises(ValueError, match='at least one'):
        plot_curves({}, out)
    with pytest.raises(ValueError, match="'no anomaly'"):
        plot_curves({'no anomaly': (np.array([1, 5]), np.array([0, 0]))},
                    out)
    with pytest.raises(TypeError, match='pair'):
        plot_curves({'bad': np.zeros(3)}, out)
    with pytest.raises(IsADirectoryError):
        plot_curves({'ok': (np.array([0, 2]), np.array([1, 1]))},
                    str(tmp_path))
