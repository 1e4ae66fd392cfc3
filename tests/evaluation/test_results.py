"""Typed results: table, JSON and CSV hold the same numbers."""
import csv
import json

import numpy as np

from mmseg_ood.evaluation.results import (
    MetricResult,
    SetResult,
    sets_table,
    write_sets_csv,
    write_sets_json,
)


def _results():
    energy = MetricResult(
        score=dict(type='EnergyScore', num_classes=19), score_name='energy',
        fpr_rule='first', mode='exact', components='anomaly',
        metrics=dict(AUROC=91.5, AP=40.25, FPR95=30.125, sIoU_gt=12.5,
                     PPV=50.0, mean_F1=20.0),
        num_pixels=1000, num_anomaly=50, component_threshold=-3.5,
        curve=(np.array([0, 5]), np.array([3, 50])))
    empty = MetricResult(
        score=dict(type='EnergyScore', num_classes=19), score_name='energy',
        fpr_rule='first', mode='exact', message='The split holds 0 anomaly '
        'pixels')
    return [
        SetResult(key='smiyc_anomaly', set='smiyc_anomaly',
                  dataset='AnomalyDataset', data_root='data/a',
                  num_images=10, result=energy, benchmark='smiyc_anomaly',
                  set_name='SMIYC RA21'),
        SetResult(key='fs_static/energy', set='fs_static',
                  dataset='AnomalyDataset', data_root='data/b',
                  num_images=30, result=empty, benchmark='fs_static',
                  version='v3'),
    ]


def test_json_and_csv_hold_the_results(tmp_path):
    results = _results()
    write_sets_json(str(tmp_path / 'r.json'), results, checkpoint='c.pth')
    record = json.loads((tmp_path / 'r.json').read_text())
    assert record['checkpoint'] == 'c.pth'
    first = record['sets'][0]
    assert first['key'] == 'smiyc_anomaly' and 'curve' not in first
    assert first['metrics']['AP'] == 40.25
    assert first['score'] == dict(type='EnergyScore', num_classes=19)
    assert first['component_threshold'] == -3.5
    assert record['sets'][1]['message'].startswith('The split holds 0')
    assert record['sets'][1]['version'] == 'v3'
    write_sets_csv(str(tmp_path / 'r.csv'), results)
    rows = list(csv.DictReader(open(tmp_path / 'r.csv')))
    assert [r['key'] for r in rows] == ['smiyc_anomaly', 'fs_static/energy']
    assert rows[0]['AP'] == '40.2500' and rows[0]['mean_F1'] == '20.0000'
    assert rows[1]['AP'] == '' and rows[1]['version'] == 'v3'
    assert results[0].result.curve is not None  # kept in memory only


def test_table_has_component_columns_only_when_computed():
    table = sets_table(_results()).get_string()
    lines = table.splitlines()
    assert 'sIoU_gt' in lines[1] and 'mean_F1' in lines[1]
    cells = [c.strip() for c in lines[3].split('|')[1:-1]]
    assert cells == ['smiyc_anomaly', 'energy', 'exact', '91.50', '40.25',
                     '30.12', '12.50', '50.00', '20.00', '10', '']
    assert 'version v3; The split holds 0 anomaly pixels' in table
    plain = sets_table(_results()[1:]).get_string()
    assert 'sIoU_gt' not in plain
