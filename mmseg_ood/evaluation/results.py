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
    'COMPONENT_METRICS', 'CSV_FIELDS', 'PIXEL_METRICS', 'MetricResult',
    'SetResult', 'sets_table', 'write_sets_csv', 'write_sets_json'
]

#: Pixel metric names (percent) in the order of the result tables.
PIXEL_METRICS = ('AUROC', 'AP', 'FPR95')
#: SegmentMeIfYouCan component metric names (percent).
COMPONENT_METRICS = ('sIoU_gt', 'PPV', 'mean_F1')


@dataclass
class MetricResult:
    """What one anomaly metric computed on one set.

    Attributes:
        score (dict): The score's settings
            (:meth:`~mmseg_ood.models.scores.AnomalyScore.settings`).
        score_name (str): Its short name (``'energy'``, ``'sml'``, ...).
        fpr_rule (str): The FPR95 rule.
        mode (str): ``'exact'`` or ``'histogram'``.
        components (str, optional): SegmentMeIfYouCan track of the component
            metrics, or None when none were computed.
        metrics (dict): Metric name -> value in percent (empty when the set
            has no values, see ``message``).
        num_pixels (int): Valid pixels pooled.
        num_anomaly (int): Anomaly pixels among them.
        component_threshold (float, optional): The best-F1 pixel threshold
            of the component metrics.
        message (str, optional): Why values are missing.
        curve (tuple, optional): Pooled ``(fps, tps)`` counts of the ROC /
            PR curve, when kept (not written to files).
    """
    score: dict
    score_name: str
    fpr_rule: str
    mode: str
    components: Optional[str] = None
    metrics: Dict[str, float] = field(default_factory=dict)
    num_pixels: int = 0
    num_anomaly: int = 0
    component_threshold: Optional[float] = None
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


#: Columns of the CSV file, in order.
CSV_FIELDS = ('key', 'set', *PIXEL_METRICS, *COMPONENT_METRICS,
              'AP_error_bound', 'num_images', 'num_pixels', 'num_anomaly',
              'score_name', 'fpr_rule', 'mode', 'components', 'benchmark',
              'set_name', 'version', 'dataset', 'data_root', 'message')


def _metric_columns(results: Sequence[SetResult]) -> List[str]:
    columns = list(PIXEL_METRICS)
    if any(r.result.components for r in results):
        columns += list(COMPONENT_METRICS)
    return columns


def sets_table(results: Sequence[SetResult]) -> PrettyTable:
    """One row per set result: AUROC, AP, FPR95 and, where computed, the
    SegmentMeIfYouCan columns."""
    columns = _metric_columns(results)
    table = PrettyTable()
    table.field_names = ['set', 'score', *columns, 'images', 'note']
    for item in results:
        metrics = item.result.metrics
        cells = [
            f'{metrics[k]:.2f}' if k in metrics else '-' for k in columns
        ]
        note = item.result.message or ''
        if item.version:
            note = f'version {item.version}; {note}'.strip('; ')
        table.add_row([item.key, item.result.score_name, *cells,
                       item.num_images, note])
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
