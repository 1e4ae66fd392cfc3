"""Typed results of the anomaly evaluation, and their tables and files.

:class:`MetricResult` is what one :class:`~mmseg_ood.evaluation.AnomalyMetric`
computed on one set; :class:`SetResult` adds what the evaluation loop knows
about the set (its name, dataset, folder, size). Tables, JSON and CSV files
and the curve plots all read these.
"""
import csv
import json
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from prettytable import PrettyTable

from ..utils.file_io import atomic_output

__all__ = [
    'COMPONENT_METRICS', 'CSV_FIELDS', 'EXACT_SUFFIX', 'PIXEL_METRICS',
    'MetricResult', 'SetResult', 'histogram_note', 'numbers_label',
    'sets_table', 'table_rows', 'write_sets_csv', 'write_sets_json'
]

#: Pixel metric names (percent) in the order of the result tables.
PIXEL_METRICS = ('AUROC', 'AP', 'FPR95')
#: SegmentMeIfYouCan component metric names (percent).
COMPONENT_METRICS = ('sIoU_gt', 'PPV', 'mean_F1')
#: Suffix of the exact values where the plain names hold a benchmark's own
#: computation (``AP_exact`` beside the SegmentMeIfYouCan ``AP``).
EXACT_SUFFIX = '_exact'


@dataclass
class MetricResult:
    """What one anomaly metric computed on one set.

    Attributes:
        score (dict): The score's settings
            (:meth:`~mmseg_ood.models.scores.AnomalyScore.settings`).
        score_name (str): Its short name (``'energy'``, ``'sml'``, ...).
        fpr_rule (str): The FPR95 rule of the exact values.
        mode (str): ``'exact'`` or ``'histogram'`` (how pixels are kept).
        computation (str): Whose computation the plain metric names follow
            (:data:`~mmseg_ood.datasets.set_specs.COMPUTATIONS`):
            ``'exact'``, or ``'smiyc'`` (SegmentMeIfYouCan's code; the exact
            values then carry the suffix ``_exact``).
        components (str, optional): SegmentMeIfYouCan track of the component
            metrics, or None when none were computed.
        metrics (dict): Metric name -> value in percent (empty when the set
            has no values, see ``message``).
        num_pixels (int): Valid pixels pooled.
        num_anomaly (int): Anomaly pixels among them.
        component_threshold (float, optional): The pixel threshold of the
            (plain-named) component metrics.
        component_threshold_exact (float, optional): That of the ``_exact``
            component metrics.
        message (str, optional): Why values are missing.
        curve (tuple, optional): Pooled ``(fps, tps)`` counts of the ROC /
            PR curve of the plain-named metrics, when kept (not written to
            files).
    """
    score: dict
    score_name: str
    fpr_rule: str
    mode: str
    computation: str = 'exact'
    components: Optional[str] = None
    metrics: Dict[str, float] = field(default_factory=dict)
    num_pixels: int = 0
    num_anomaly: int = 0
    component_threshold: Optional[float] = None
    component_threshold_exact: Optional[float] = None
    message: Optional[str] = None
    curve: Optional[Tuple[np.ndarray, np.ndarray]] = None


@dataclass
class SetResult:
    """One set's result, as the anomaly-set loops report it.

    Attributes:
        key (str): The metric prefix: the set name, or
            ``<set>/<metric prefix>`` when a set has several metrics.
        set (str): The set's name in the config (``'fs_laf'``).
        dataset (str): The dataset class.
        data_root (str): The set's folder.
        num_images (int): Images evaluated.
        benchmark (str, optional): Key of the benchmark set
            (:data:`~mmseg_ood.datasets.set_specs.ANOMALY_SETS`).
        set_name (str, optional): The set's full name.
        version (str, optional): The release version (Fishyscapes Static).
        result (MetricResult): The metric's result.
    """
    key: str
    set: str
    dataset: str
    data_root: str
    num_images: int
    result: MetricResult
    benchmark: Optional[str] = None
    set_name: Optional[str] = None
    version: Optional[str] = None

    def to_json(self) -> dict:
        """A JSON-ready dict: the set's facts and the metric's result
        (without the curve)."""
        record = asdict(self)
        result = record.pop('result')
        result.pop('curve')
        return dict(record, **result)


_METRICS = PIXEL_METRICS + COMPONENT_METRICS

#: Columns of the CSV file, in order.
CSV_FIELDS = ('key', 'set', *_METRICS,
              *(name + EXACT_SUFFIX for name in _METRICS), 'AP_error_bound',
              'num_images', 'num_pixels', 'num_anomaly', 'score_name',
              'computation', 'fpr_rule', 'mode', 'components', 'benchmark',
              'set_name', 'version', 'dataset', 'data_root', 'message')

#: Short names of the computations in the tables.
_NUMBERS = {'exact': 'exact', 'smiyc': 'SMIYC code'}


def numbers_label(result: MetricResult) -> str:
    """What the plain-named values of a result are, for tables:
    ``'exact'``, ``'SMIYC code'`` (SegmentMeIfYouCan's own computation) or
    ``'histogram'`` (streaming estimate of the exact values)."""
    if result.computation == 'exact' and result.mode == 'histogram':
        return 'histogram'
    return _NUMBERS.get(result.computation, result.computation)


def histogram_note(metrics: Dict[str, float]) -> str:
    """The table note of a histogram result: its AP bound, as a bound."""
    if 'AP_error_bound' not in metrics:
        return ''
    return (f"exact AP within +-{metrics['AP_error_bound']:.4f} (worst-case "
            'bound)')


def table_rows(metrics: Dict[str, float], computation: str,
               columns: Sequence[str]) -> List[Tuple[str, List[str]]]:
    """Cells of one result: one row of the plain-named values and, where
    they were computed beside a benchmark's own, one of the ``_exact``
    values.

    Returns:
        list: ``(row label, cells)``; the label of the second row is
        ``'exact'``.
    """
    def cells(suffix: str) -> List[str]:
        return [
            f'{metrics[k + suffix]:.2f}' if k + suffix in metrics else '-'
            for k in columns
        ]

    rows = [(computation, cells(''))]
    if any(k + EXACT_SUFFIX in metrics for k in columns):
        rows.append(('exact', cells(EXACT_SUFFIX)))
    return rows


def _metric_columns(results: Sequence[SetResult]) -> List[str]:
    columns = list(PIXEL_METRICS)
    if any(r.result.components for r in results):
        columns += list(COMPONENT_METRICS)
    return columns


def sets_table(results: Sequence[SetResult]) -> PrettyTable:
    """One row per set result: AUROC, AP, FPR95 and, where computed, the
    SegmentMeIfYouCan columns; the column ``numbers`` says whose
    computation they follow, and a set with a benchmark's own numbers gets
    a second row with the exact ones."""
    columns = _metric_columns(results)
    table = PrettyTable()
    table.field_names = ['set', 'score', 'numbers', *columns, 'images',
                         'note']
    for item in results:
        result = item.result
        notes = [f'version {item.version}' if item.version else '',
                 histogram_note(result.metrics), result.message or '']
        note = '; '.join(n for n in notes if n)
        rows = table_rows(result.metrics, numbers_label(result), columns)
        for index, (label, cells) in enumerate(rows):
            first = index == 0
            table.add_row([item.key if first else '',
                           result.score_name if first else '', label, *cells,
                           item.num_images if first else '',
                           note if first else ''])
    table.align['note'] = 'l'
    return table


def _atomic_write(path: str, write) -> None:
    with atomic_output(path) as tmp:
        with open(tmp, 'w', encoding='utf-8', newline='') as f:
            write(f)


def write_sets_json(path: str, results: Sequence[SetResult],
                    **record) -> None:
    """Write ``record`` (e.g. config, checkpoint) plus every set's result
    (:meth:`SetResult.to_json`), atomically."""
    sets = [item.to_json() for item in results]
    _atomic_write(path,
                  lambda f: json.dump(dict(record, sets=sets), f, indent=2))


def write_sets_csv(path: str, results: Sequence[SetResult]) -> None:
    """Write one CSV row per set result (columns :data:`CSV_FIELDS`)."""

    def write(f):
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for item in results:
            flat = item.to_json()
            row = {k: flat.get(k, '') for k in CSV_FIELDS}
            for key, value in item.result.metrics.items():
                row[key] = f'{value:.4f}'
            writer.writerow(row)

    _atomic_write(path, write)
