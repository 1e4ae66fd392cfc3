"""The demo scripts' tables and figures (the training itself is the tools'
own tests)."""
import cv2
import numpy as np

from mmseg_ood.demo.report import (
    COMPARISON_ROWS,
    demo_table,
    write_comparison,
)


def _record(number, set_name='S'):
    return dict(set_name=set_name,
                metrics=dict(AUROC=90.0 + number, AP=40.0 + number,
                             FPR95=30.0 - number))


def test_comparison_has_one_row_per_method_and_curves_per_set(tmp_path):
    work = tmp_path / 'compare'
    curve = (np.array([0, 1, 5, 10]), np.array([2, 4, 5, 5]))
    results = {}
    for number, (method, prefixes) in enumerate([
        ('no_oe', ['max_logit', 'energy', 'sml']), ('energy', ['energy']),
        ('balanced_energy', ['energy'])
    ]):
        results[method] = {}
        for name in ('fs_laf', 'road_anomaly'):
            for prefix in prefixes:
                key = f'{name}/{prefix}'
                results[method][key] = _record(number)
                folder = work / method / 'eval' / '20260101_000000' / (
                    'curves')
                folder.mkdir(parents=True, exist_ok=True)
                np.savez(folder / (key.replace('/', '_') + '.npz'),
                         fps=curve[0], tps=curve[1])
    table = write_comparison(str(work), results, 'a note')
    assert table == (work / 'comparison.md').read_text().rstrip('\n')
    assert 'SYNTHETIC' in table and 'a note' in table
    rows = [line for line in table.splitlines() if line.startswith('| ')]
    assert rows[0] == ('| method | fs_laf AP / FPR95 | road_anomaly AP / '
                       'FPR95 |')
    assert rows[2:] == [
        '| no outlier exposure, max-logit | 40.00 / 30.00 | 40.00 / 30.00 |',
        '| no outlier exposure, energy | 40.00 / 30.00 | 40.00 / 30.00 |',
        '| no outlier exposure, SML | 40.00 / 30.00 | 40.00 / 30.00 |',
        '| energy regularization | 41.00 / 29.00 | 41.00 / 29.00 |',
        '| Balanced Energy (estimated prior) | 42.00 / 28.00 | 42.00 / '
        '28.00 |',
    ]
    csv_lines = (work / 'comparison.csv').read_text().splitlines()
    assert len(csv_lines) == 1 + len(COMPARISON_ROWS)
    assert csv_lines[-1].split(',')[:4] == [
        'Balanced Energy (estimated prior)', '92.0', '42.0', '28.0']
    for name in ('fs_laf', 'road_anomaly'):
        image = cv2.imread(str(work / 'curves' / f'{name}.png'))
        assert image is not None and image.ndim == 3


def test_demo_table_has_energy_and_sml_columns():
    results = {
        'fs_laf/energy': _record(0, 'FS L&F'),
        'fs_laf/sml': _record(5, 'FS L&F'),
        'smiyc_anomaly/energy': dict(
            _record(1, 'SMIYC'),
            metrics=dict(_record(1)['metrics'], sIoU_gt=10.0, PPV=20.0,
                         mean_F1=30.0)),
    }
    table = demo_table(results, 'model.py (iter_600.pth)')
    lines = table.splitlines()
    assert lines[0].startswith('> SYNTHETIC DEMO DATA')
    assert 'model.py (iter_600.pth)' in table
    assert lines[-2] == ('| fs_laf | FS L&F | 90.00 | 40.00 | 30.00 | - | - '
                         '| - | 45.00 | 25.00 |')
    assert lines[-1] == ('| smiyc_anomaly | SMIYC | 91.00 | 41.00 | 29.00 | '
                         '10.00 | 20.00 | 30.00 | - | - |')
