"""ROC and precision-recall curves of anomaly scores, one PNG per set.

A curve is given as the cumulative counts that
:func:`mmseg_ood.evaluation.functional.binary_curve` returns: ``fps``
and ``tps``, the numbers of inlier and anomaly pixels whose score is >= each
distinct threshold, thresholds in decreasing order. Pooled evaluation sets
have millions of distinct thresholds, so the curves are thinned before they
are drawn (:func:`thin_curve`); the legend's numbers are computed from the
full counts with :func:`~mmseg_ood.evaluation.functional.metrics_from_counts`.

Figures are drawn with matplotlib's object API and the Agg canvas, so
importing or calling this module never changes matplotlib's global backend.

Example:
    >>> from mmseg_ood.evaluation.functional import binary_curve
    >>> _, fps, tps = binary_curve(scores, labels)
    >>> plot_curves({'energy': (fps, tps)}, 'work_dirs/fs_laf_curves.png',
    ...             title='FS Lost & Found val')
"""
import os.path as osp
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from ..utils.file_io import atomic_output

__all__ = [
    'DEFAULT_TOLERANCE', 'Counts', 'plot_curves', 'pr_points', 'roc_points',
    'save_result_curves', 'thin_counts', 'thin_curve'
]

#: Curves are thinned to this resolution (axis units) before drawing: far
#: below a pixel of the saved figure.
DEFAULT_TOLERANCE = 1e-3

#: A pair of 1-D arrays: (fps, tps) counts, or (x, y) curve points.
Counts = Tuple[np.ndarray, np.ndarray]


def thin_curve(x: np.ndarray, y: np.ndarray,
               tol: float = DEFAULT_TOLERANCE) -> np.ndarray:
    """Indices of the points of a polyline worth drawing.

    The plane is cut into ``tol x tol`` cells. A point is kept where the
    curve enters or leaves a cell, and the first and last points are always
    kept. Every dropped point shares its cell with the kept points on both
    sides of it, so the thinned polyline differs from the full one by less
    than one cell, and the trapezoid area (AUROC) and the step-wise sum (AP)
    computed from the kept points differ from the full ones by less than
    ``tol`` (for ``x`` in [0, 1]). A monotone curve keeps at most about
    ``4 / tol`` points.

    Args:
        x (np.ndarray): X coordinates, 1-D.
        y (np.ndarray): Y coordinates, same length.
        tol (float): Cell size in axis units. Defaults to 1e-3.

    Returns:
        np.ndarray: Increasing int64 indices into ``x`` and ``y``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError('thin_curve expects two 1-D arrays of equal length, '
                         f'got shapes {x.shape} and {y.shape}.')
    if not tol > 0:
        raise ValueError(f'tol must be positive, got {tol}.')
    if x.size <= 2:
        return np.arange(x.size, dtype=np.int64)
    cell_x = np.floor(x / tol)
    cell_y = np.floor(y / tol)
    moves = (cell_x[1:] != cell_x[:-1]) | (cell_y[1:] != cell_y[:-1])
    keep = np.zeros(x.size, dtype=bool)
    keep[0] = keep[-1] = True
    keep[1:] |= moves   # first point in a new cell
    keep[:-1] |= moves  # last point in the old cell
    return np.flatnonzero(keep).astype(np.int64)


def _counts_pair(name: str, counts: Counts) -> Counts:
    if not (isinstance(counts, (tuple, list)) and len(counts) == 2):
        raise TypeError(f'Curve {name!r}: expected a (fps, tps) pair of '
                        f'count arrays, got {type(counts).__name__}.')
    return np.asarray(counts[0]), np.asarray(counts[1])


def roc_points(fps: np.ndarray, tps: np.ndarray,
               tol: float = DEFAULT_TOLERANCE) -> Counts:
    """Thinned ROC polyline (FPR, TPR), starting at (0, 0).

    Args:
        fps (np.ndarray): Cumulative inlier counts at decreasing thresholds.
        tps (np.ndarray): Cumulative anomaly counts, same length.
        tol (float): Thinning tolerance (see :func:`thin_curve`).

    Returns:
        tuple[np.ndarray, np.ndarray]: FPR and TPR of the kept points.
    """
    fpr = np.concatenate([[0.0], fps / float(fps[-1])])
    tpr = np.concatenate([[0.0], tps / float(tps[-1])])
    keep = thin_curve(fpr, tpr, tol)
    return fpr[keep], tpr[keep]


def pr_points(fps: np.ndarray, tps: np.ndarray,
              tol: float = DEFAULT_TOLERANCE) -> Counts:
    """Thinned precision-recall points, one per kept threshold.

    Drawn as a step curve where the recall interval ``(R[i-1], R[i]]`` has
    precision ``P[i]`` (``R[-1] = 0``), the area under the steps is the AP
    of the kept points: ``sum_i (R[i] - R[i-1]) P[i]``.

    Args:
        fps (np.ndarray): Cumulative inlier counts at decreasing thresholds.
        tps (np.ndarray): Cumulative anomaly counts, same length.
        tol (float): Thinning tolerance (see :func:`thin_curve`).

    Returns:
        tuple[np.ndarray, np.ndarray]: Recall and precision of the kept
        thresholds.
    """
    recall = tps / float(tps[-1])
    precision = tps / (tps + fps).astype(np.float64)
    keep = thin_curve(recall, precision, tol)
    return recall[keep], precision[keep]


def thin_counts(fps: np.ndarray, tps: np.ndarray,
                tol: float = DEFAULT_TOLERANCE) -> Counts:
    """The counts at the thresholds that the ROC or the PR drawing keeps.

    Small enough to store per set and redraw later (e.g. several methods
    in one figure); the curves drawn from them differ from the full ones
    by less than ``tol`` (see :func:`thin_curve`).

    Args:
        fps (np.ndarray): Cumulative inlier counts at decreasing thresholds.
        tps (np.ndarray): Cumulative anomaly counts, same length.
        tol (float): Thinning tolerance. Defaults to 1e-3.

    Returns:
        tuple[np.ndarray, np.ndarray]: The kept ``fps`` and ``tps``.
    """
    fps, tps = _counts_pair('counts', (fps, tps))
    fpr = fps / float(fps[-1])
    tpr = tps / float(tps[-1])
    precision = tps / np.maximum(tps + fps, 1).astype(np.float64)
    keep = np.union1d(thin_curve(fpr, tpr, tol),
                      thin_curve(tpr, precision, tol))
    return fps[keep], tps[keep]


def plot_curves(curves: Mapping[str, Counts],
                out_file: str,
                title: str = '',
                tol: float = DEFAULT_TOLERANCE,
                fpr_rule: str = 'first',
                dpi: int = 120,
                metrics: Optional[Mapping[str, dict]] = None
                ) -> Dict[str, dict]:
    """Draw the ROC and precision-recall curves of one set into one PNG.

    The left panel holds the ROC curves (with the TPR = 0.95 line), the
    right one the precision-recall step curves (with the anomaly fraction,
    the AP of a random score, when all curves share it). The legend below
    both panels shows each curve's AUROC, AP and FPR95 in percent, computed
    from the given counts unless ``metrics`` provides them.

    Args:
        curves (Mapping[str, tuple]): Curve name (e.g. a method or score) to
            its ``(fps, tps)`` counts, as
            :func:`~mmseg_ood.evaluation.functional.binary_curve` returns
            them. Several names draw several curves.
        out_file (str): PNG path; written atomically (temporary file, then
            rename); its folder is created.
        title (str): Figure title, e.g. the set's name.
        tol (float): Thinning tolerance in axis units.
        fpr_rule (str): FPR95 rule of the legend (``'first'`` or
            ``'nearest'``).
        dpi (int): Resolution of the PNG.
        metrics (Mapping[str, dict], optional): Per curve name, the values
            of the legend in percent (``AUROC``, ``AP``, ``FPR95``), e.g.
            the exact results when ``curves`` holds thinned counts.

    Returns:
        dict: Per curve name, the metrics shown in the legend.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..evaluation.functional import metrics_from_counts

    if not curves:
        raise ValueError('plot_curves needs at least one curve.')
    if osp.isdir(out_file):
        raise IsADirectoryError(f'{out_file!r} is a folder; give the path of '
                                'the PNG file to write.')
    legend_height = 0.25 * (len(curves) + 1)
    fig = Figure(figsize=(11, 4.8 + legend_height), dpi=dpi)
    FigureCanvasAgg(fig)
    ax_roc, ax_pr = fig.subplots(1, 2)
    shown = {}
    fractions = set()
    handles = []
    for name, counts in curves.items():
        fps, tps = _counts_pair(name, counts)
        try:  # also checks the counts
            values = metrics_from_counts(fps, tps, fpr_rule=fpr_rule)
        except ValueError as error:
            raise ValueError(f'Curve {name!r}: {error}') from error
        shown[name] = values
        given = (metrics or {}).get(name) or {
            'AUROC': 100 * values['auroc'],
            'AP': 100 * values['ap'],
            'FPR95': 100 * values['fpr']
        }
        label = (f"{name}: AUROC {given['AUROC']:.2f}, "
                 f"AP {given['AP']:.2f}, FPR95 {given['FPR95']:.2f}")
        fpr, tpr = roc_points(fps, tps, tol)
        line, = ax_roc.plot(fpr, tpr, linewidth=1.5)
        handles.append((line, label))
        recall, precision = pr_points(fps, tps, tol)
        ax_pr.step(np.concatenate([[0.0], recall]),
                   np.concatenate([precision[:1], precision]),
                   where='pre', linewidth=1.5, color=line.get_color())
        fractions.add(int(tps[-1]) / int(tps[-1] + fps[-1]))
    ax_roc.axhline(0.95, color='0.5', linestyle=':', linewidth=1,
                   label='TPR = 0.95')
    if len(fractions) == 1:
        fraction = fractions.pop()
        ax_pr.axhline(fraction, color='0.5', linestyle=':', linewidth=1,
                      label=f'random score (AP {100 * fraction:.2f})')
    _style_axes(ax_roc, 'false positive rate (inliers)',
                'true positive rate (anomalies)', 'ROC', 'lower right')
    _style_axes(ax_pr, 'recall (anomalies)', 'precision', 'precision-recall',
                'upper right')
    if title:
        fig.suptitle(title)
    fig.legend([h for h, _ in handles], [label for _, label in handles],
               loc='lower center', fontsize='small', frameon=False)
    fig.tight_layout(
        rect=(0, legend_height / (4.8 + legend_height), 1, 1))
    _save_figure_atomic(fig, out_file)
    return shown


def _style_axes(ax, xlabel: str, ylabel: str, title: str,
                legend_loc: str) -> None:
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, linewidth=0.5, alpha=0.5)
    ax.legend(loc=legend_loc, fontsize='small')


def _save_figure_atomic(fig, out_file: str) -> None:
    with atomic_output(out_file) as tmp:
        with open(tmp, 'wb') as f:
            fig.savefig(f, format='png')


def save_result_curves(item, folder: str) -> str:
    """Draw a set result's ROC/PR curves and keep their thinned counts.

    Writes ``<folder>/<key>.png`` (``/`` in the key becomes ``_``) and
    ``<key>.npz`` (``fps``, ``tps``: redraw them later beside other models
    with :func:`plot_curves`).

    Args:
        item (SetResult): A result whose metric kept its curve
            (``keep_curve=True``).
        folder (str): Output folder (created).

    Returns:
        str: The files' path without suffix.
    """
    result = item.result
    if result.curve is None:
        raise ValueError(f'{item.key}: the metric kept no curve; evaluate '
                         'with keep_curve=True (mmseg-ood-test --curves).')
    stem = osp.join(folder, item.key.replace('/', '_'))
    plot_curves({result.score_name: result.curve}, stem + '.png',
                title=item.key, fpr_rule=result.fpr_rule,
                metrics={result.score_name: result.metrics})
    fps, tps = thin_counts(*result.curve)
    with atomic_output(stem + '.npz') as tmp:
        with open(tmp, 'wb') as f:
            np.savez_compressed(f, fps=fps, tps=tps)
    return stem
