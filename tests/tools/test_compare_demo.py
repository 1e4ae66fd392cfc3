"""The demo comparison's report: table rows per method and one figure per
set with every method (the training itself is the tools' own tests)."""
import importlib.util
from types import SimpleNamespace

import cv2
import numpy as np

from ..conftest import REPO_ROOT


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'compare_demo', REPO_ROOT / 'tools' / 'misc' / 'compare_demo.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_has_one_row_per_method_and_curves_per_set(tmp_path):
    tool = load_tool()
    work = tmp_path / 'compare'
    curve = (np.array([0, 1, 5, 10]), np.array([2, 4, 5, 5]))
    results = {}
    for number, (method, prefixes) in enumerate([
        ('no_oe', ['max_logit', 'energy']), ('energy', [None]),
        ('balanced_energy', [None])
    ]):
        results[method] = {}
        for name in ('fs_laf', 'road_anomaly'):
            for prefix in prefixes:
                key = f'{name}/{prefix}' if prefix else name
                results[method][key] = dict(
                    metrics=dict(AUROC=90.0 + number, AP=40.0 + number,
                                 FPR95=30.0 - number))
                folder = work / method / 'eval' / '20260101_000000' / (
                    'curves')
                folder.mkdir(parents=True, exist_ok=True)
                np.savez(folder / (key.replace('/', '_') + '.npz'),
                         fps=curve[0], tps=curve[1])
    args = SimpleNamespace(base_iters=6, finetune_iters=3,
                           finetune_lr=1e-4)
    tool.write_report(str(work), results, args)
    table = (work / 'comparison.md').read_text()
    assert 'SYNTHETIC' in table
    rows = [line for line in table.splitlines() if line.startswith('| ')]
    assert rows[0].startswith('| method | fs_laf AP / FPR95')
    assert '| Balanced Energy (estimated prior) | 42.00 / 28.00 |' in table
    assert '| no outlier exposure, max-logit | 40.00 / 30.00 |' in table
    assert len(rows) == 2 + len(tool.ROWS)  # header, separator, methods
    csv_lines = (work / 'comparison.csv').read_text().splitlines()
    assert len(csv_lines) == 1 + len(tool.ROWS)
    for name in ('fs_laf', 'road_anomaly'):
        image = cv2.imread(str(work / 'curves' / f'{name}.png'))
        assert image is not None and image.ndim == 3
