"""Tables and figures of the demo scripts (SYNTHETIC data, toy numbers)."""
import csv
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from ..utils.file_io import atomic_output
from ..visualization import plot_curves
from .steps import BANNER, load_curve

__all__ = ['COMPARISON_ROWS', 'demo_table', 'write_comparison']

#: Rows of the comparison: (label, method, score prefix of its results).
COMPARISON_ROWS = (
    ('no outlier exposure, max-logit', 'no_oe', 'max_logit'),
    ('no outlier exposure, energy', 'no_oe', 'energy'),
    ('no outlier exposure, SML', 'no_oe', 'sml'),
    ('energy regularization', 'energy', 'energy'),
    ('Balanced Energy (estimated prior)', 'balanced_energy', 'energy'),
)


def _cell(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:.2f}'


def _set_names(results: Dict[str, dict]) -> List[str]:
    """Set names of result keys ``<set>/<score>``, in order."""
    names: List[str] = []
    for key in results:
        name = key.split('/')[0]
        if name not in names:
            names.append(name)
    return names


def demo_table(results: Dict[str, dict], model: str) -> str:
    """The markdown table of ``make demo``.

    Args:
        results (dict): ``<set>/energy`` and ``<set>/sml`` records of
            ``mmseg-ood-test``'s JSON.
        model (str): What was evaluated (config and checkpoint).

    Returns:
        str: The banner, a note and one row per set: energy AUROC, AP,
        FPR95, the SegmentMeIfYouCan component metrics, and SML AP and
        FPR95.
    """
    lines = [
        f'> {BANNER}', '',
        f'Model: {model}. Scores blurred (7x7, sigma 1): energy (the '
        "paper's) and Standardized Max Logits (SML, baseline). FPR95: "
        'first point with TPR >= 0.95. SegmentMeIfYouCan sets: the '
        "benchmark's own computation (binned, float16; the exact values are "
        "the JSON's *_exact), component metrics (energy) at its best-F1 "
        'threshold.', '',
        '| set | layout of | AUROC | AP | FPR95 | sIoU_gt | PPV | mean F1 '
        '| SML AP | SML FPR95 |',
        '| --- | --- |' + ' ---: |' * 8
    ]
    for name in _set_names(results):
        energy = results.get(f'{name}/energy', {})
        sml = results.get(f'{name}/sml', {}).get('metrics', {})
        metrics = energy.get('metrics', {})
        cells = [
            _cell(metrics.get(k))
            for k in ('AUROC', 'AP', 'FPR95', 'sIoU_gt', 'PPV', 'mean_F1')
        ] + [_cell(sml.get('AP')), _cell(sml.get('FPR95'))]
        lines.append(f"| {name} | {energy.get('set_name', '-')} | " +
                     ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def write_comparison(work: str, results: Dict[str, Dict[str, dict]],
                     note: str,
                     rows: Sequence[Tuple[str, str, str]] = COMPARISON_ROWS
                     ) -> str:
    """Write the comparison's table (``comparison.md`` and ``.csv``) and one
    ROC/PR figure per set with every row (``curves/<set>.png``).

    Args:
        work (str): The comparison's folder; each method's results and
            curves are under ``<work>/<method>/eval``.
        results (dict): Method -> {result key: record}.
        note (str): The line under the banner (what was trained).
        rows (Sequence): (label, method, score prefix) per row.

    Returns:
        str: The markdown table.
    """
    sets = _set_names(results[rows[0][1]])
    header = ['method'] + [
        f'{s} {k}' for s in sets for k in ('AUROC', 'AP', 'FPR95')
    ]
    table_rows = []
    for label, method, prefix in rows:
        row = [label]
        for name in sets:
            metrics = results[method].get(f'{name}/{prefix}', {}).get(
                'metrics', {})
            row += [metrics.get(k) for k in ('AUROC', 'AP', 'FPR95')]
        table_rows.append(row)
    lines = [
        f'> {BANNER}', '', note, '',
        '| method | ' + ' | '.join(f'{s} AP / FPR95' for s in sets) + ' |',
        '| --- |' + ' ---: |' * len(sets)
    ]
    for row in table_rows:
        cells = [
            f'{_cell(row[2 + 3 * i])} / {_cell(row[3 + 3 * i])}'
            for i in range(len(sets))
        ]
        lines.append(f'| {row[0]} | ' + ' | '.join(cells) + ' |')
    table = '\n'.join(lines)
    with atomic_output(osp.join(work, 'comparison.md')) as tmp:
        with open(tmp, 'w') as f:
            f.write(table + '\n')
    with atomic_output(osp.join(work, 'comparison.csv')) as tmp:
        with open(tmp, 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(table_rows)
    os.makedirs(osp.join(work, 'curves'), exist_ok=True)
    for name in sets:
        curves, exact = {}, {}
        for label, method, prefix in rows:
            key = f'{name}/{prefix}'
            counts = load_curve(osp.join(work, method, 'eval'), key)
            if counts is not None:
                curves[label] = counts
                exact[label] = results[method][key].get('metrics')
        # thinned curves, legend with the exact values of the table
        plot_curves(curves, osp.join(work, 'curves', f'{name}.png'),
                    title=f'{name} (SYNTHETIC demo world)', metrics=exact)
    return table
