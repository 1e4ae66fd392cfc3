"""Result tables of anomaly sets: console table, JSON and CSV files.

A *summary* is the dict that :class:`~mmseg_ood.engine.AnomalySetsTestLoop`
keeps per set: ``set``, ``dataset``, ``data_root``, ``num_images``, the
metric settings (``score``, ``blur``, ``fpr_rule``, ``mode``,
``components``), ``metrics`` (percent), ``num_pixels``, ``num_anomaly``,
``set_name`` and ``version`` (Fishyscapes Static) from the dataset, and
``message`` when a set has no values.
"""
import csv
import json
from typing import Dict, List

from prettytable import PrettyTable

from ..utils.file_io import atomic_output
from .metrics.anomaly_metric import COMPONENT_METRICS, PIXEL_METRICS

#: Columns of the CSV file, in order.
CSV_FIELDS = ('set', *PIXEL_METRICS, *COMPONENT_METRICS, 'AP_error_bound',
              'num_images', 'num_pixels', 'num_anomaly', 'score', 'blur',
              'fpr_rule', 'mode', 'components', 'version', 'set_name',
              'dataset',
              'data_root', 'message')


def _metric_columns(summaries: Dict[str, dict]) -> List[str]:
    columns = list(PIXEL_METRICS)
    if any(s.get('components') for s in summaries.values()):
        columns += list(COMPONENT_METRICS)
    return columns


def sets_table(summaries: Dict[str, dict]) -> PrettyTable:
    """One row per set: AUROC, AP, FPR95 and, where computed, SMIYC columns.
    """
    columns = _metric_columns(summaries)
    table = PrettyTable()
    table.field_names = ['set', *columns, 'images', 'note']
    for name, summary in summaries.items():
        metrics = summary.get('metrics', {})
        cells = [
            f'{metrics[k]:.2f}' if k in metrics else '-' for k in columns
        ]
        note = summary.get('message', '')
        if 'version' in summary:
            note = f"version {summary['version']}; {note}".strip('; ')
        table.add_row([name, *cells, summary.get('num_images', '-'), note])
    table.align['note'] = 'l'
    return table


def _atomic_write(path: str, write) -> None:
    with atomic_output(path) as tmp:
        with open(tmp, 'w', encoding='utf-8', newline='') as f:
            write(f)


def write_sets_json(path: str, summaries: Dict[str, dict],
                    **record) -> None:
    """Write ``record`` (e.g. config, checkpoint) plus every set's summary.
    """
    sets = []
    for summary in summaries.values():
        sets.append({k: v for k, v in summary.items() if k != 'curve'})
    _atomic_write(path,
                  lambda f: json.dump(dict(record, sets=sets), f, indent=2))


def write_sets_csv(path: str, summaries: Dict[str, dict]) -> None:
    """Write one CSV row per set (columns :data:`CSV_FIELDS`)."""

    def write(f):
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for summary in summaries.values():
            row = {k: summary.get(k, '') for k in CSV_FIELDS}
            for key, value in summary.get('metrics', {}).items():
                row[key] = f'{value:.4f}'
            writer.writerow(row)

    _atomic_write(path, write)
