"""AnomalyMetric gives each benchmark's own numbers: SegmentMeIfYouCan's
computation on its sets (beside the exact values), the exact one on
Fishyscapes and Road Anomaly."""
import csv

import numpy as np
import pytest
import torch
from mmseg.registry import METRICS

from mmseg_ood.datasets.set_specs import ANOMALY_SETS, COMPUTATIONS
from mmseg_ood.evaluation.components import component_metrics
from mmseg_ood.evaluation.functional import anomaly_metrics
from mmseg_ood.evaluation.results import SetResult, sets_table, write_sets_csv
from mmseg_ood.evaluation.smiyc import smiyc_metrics

from .test_anomaly_metric import make_samples, sklearn_reference
from .test_smiyc import random_maps

MAX_LOGIT = dict(type='MaxLogitScore', num_classes=19)


def samples_of(scores, labels):
    """Samples whose max-logit score is ``scores`` exactly (channel 0 holds
    the negated score, the others are far below)."""
    samples = []
    for i, (score, label) in enumerate(zip(scores, labels)):
        logits = torch.full((19, *score.shape), -100.0)
        logits[0] = -torch.from_numpy(score)
        samples.append(dict(
            seg_logits=dict(data=logits),
            gt_sem_seg=dict(data=torch.from_numpy(label.astype(np.int64))[None]),
            img_path=f'data/images/validation_{i}.webp'))
    return samples


def evaluate(samples, benchmark=None, **kwargs):
    metric = METRICS.build(dict(type='AnomalyMetric', score=MAX_LOGIT,
                                **kwargs))
    metric.dataset_meta = dict(
        anomaly_set=dict(benchmark=benchmark)) if benchmark else {}
    for sample in samples:
        metric.process({}, [sample])
    return metric, metric.evaluate(len(samples))


@pytest.fixture(scope='module')
def obstacle_maps():
    return random_maps('energy', 3)


def test_every_set_names_its_computation():
    assert {k: s.computation for k, s in ANOMALY_SETS.items()} == dict(
        fs_laf='exact', fs_static='exact', road_anomaly='exact',
        smiyc_anomaly='smiyc', smiyc_obstacle='smiyc', laf_noknown='smiyc')
    assert set(COMPUTATIONS) == {'exact', 'smiyc'}


def test_smiyc_sets_report_the_benchmarks_numbers_and_the_exact_ones(
        obstacle_maps):
    scores, labels = obstacle_maps
    metric, result = evaluate(samples_of(scores, labels), 'smiyc_obstacle')
    assert metric.result.computation == 'smiyc'
    ids = [f'validation_{i}' for i in range(len(scores))]
    expected = smiyc_metrics(scores, labels, 'obstacle', frame_ids=ids)
    exact = component_metrics(scores, labels, 'obstacle')
    exact.update(anomaly_metrics(
        np.concatenate([s[lab != 255] for s, lab in zip(scores, labels)]),
        np.concatenate([lab[lab != 255] == 1 for lab in labels])))
    names = dict(auroc='AUROC', ap='AP', fpr='FPR95', sIoU_gt='sIoU_gt',
                 PPV='PPV', mean_F1='mean_F1')
    assert set(result) == {n + suffix for n in names.values()
                           for suffix in ('', '_exact')}
    for key, name in names.items():
        assert result[name] == pytest.approx(100 * expected[key], abs=1e-10)
        assert result[name + '_exact'] == pytest.approx(100 * exact[key],
                                                        abs=1e-10)
    assert metric.result.component_threshold == expected['threshold']
    assert metric.result.component_threshold_exact == exact['threshold']
    # the two operating points differ on these maps
    assert result['mean_F1'] != result['mean_F1_exact']


def test_frames_are_merged_in_frame_id_order():
    scores, labels = random_maps('saturated', 4)  # a shared top edge
    samples = samples_of(scores, labels)
    _, forward = evaluate(samples, 'smiyc_obstacle')
    _, backward = evaluate(samples[::-1], 'smiyc_obstacle')
    # equal but for the order of summing the components' values
    assert forward == pytest.approx(backward, abs=1e-12)


def test_histogram_mode_gives_the_benchmarks_pixel_metrics(obstacle_maps):
    samples = samples_of(*obstacle_maps)
    _, exact = evaluate(samples, 'smiyc_obstacle')
    metric, streamed = evaluate(samples, 'smiyc_obstacle', mode='histogram')
    assert streamed == {k: exact[k] for k in ('AUROC', 'AP', 'FPR95')}
    assert metric.result.computation == 'smiyc'
    assert 'no component metrics' in metric.result.message
    table = sets_table([SetResult('smiyc_obstacle', 'smiyc_obstacle',
                                  'AnomalyDataset', 'd', 5,
                                  metric.result)]).get_string()
    assert 'SMIYC code' in table and "mode='exact'" in table


def test_computation_can_be_forced(obstacle_maps):
    samples = samples_of(*obstacle_maps)
    _, exact = evaluate(samples, 'smiyc_obstacle', computation='exact')
    _, both = evaluate(samples, 'smiyc_obstacle')
    assert exact == {k[:-len('_exact')]: v
                     for k, v in both.items() if k.endswith('_exact')}
    metric, forced = evaluate(samples, computation='smiyc')
    assert metric.result.computation == 'smiyc' and 'sIoU_gt' not in forced
    assert forced['AP'] == both['AP'] and forced['AP_exact'] == both[
        'AP_exact']
    with pytest.raises(ValueError, match='computation'):
        METRICS.build(dict(type='AnomalyMetric', score=MAX_LOGIT,
                           computation='binned'))


@pytest.mark.parametrize('benchmark', ['fs_laf', 'fs_static', 'road_anomaly'])
def test_fishyscapes_and_road_anomaly_stay_exact(benchmark):
    # their servers' code computes the exact curve: no binning, no suffix
    samples = make_samples()
    score = dict(type='EnergyScore', num_classes=19)
    metric = METRICS.build(dict(type='AnomalyMetric', score=score))
    metric.dataset_meta = dict(anomaly_set=dict(benchmark=benchmark))
    metric.process({}, samples)
    result = metric.evaluate(len(samples))
    assert metric.result.computation == 'exact'
    expected = sklearn_reference(samples, score)
    assert set(result) == set(expected)
    for key, value in expected.items():
        assert result[key] == pytest.approx(value, abs=1e-7)


def test_scores_beyond_float16_are_refused_on_smiyc_sets(obstacle_maps):
    scores, labels = obstacle_maps
    samples = samples_of([s * 1e4 for s in scores], labels)
    metric = METRICS.build(dict(type='AnomalyMetric', score=MAX_LOGIT))
    metric.dataset_meta = dict(anomaly_set=dict(benchmark='smiyc_obstacle'))
    with pytest.raises(ValueError, match='validation_0.webp: scores beyond '
                       'the float16 range'):
        metric.process({}, samples)
    evaluate(samples, 'fs_laf')  # exact sets do not need float16


def test_table_and_csv_show_both_computations(obstacle_maps, tmp_path):
    metric, result = evaluate(samples_of(*obstacle_maps), 'smiyc_obstacle')
    item = SetResult('smiyc_obstacle', 'smiyc_obstacle', 'AnomalyDataset',
                     'data/o', 5, metric.result, benchmark='smiyc_obstacle')
    lines = sets_table([item]).get_string().splitlines()
    smiyc_row = [c.strip() for c in lines[3].split('|')[1:-1]]
    exact_row = [c.strip() for c in lines[4].split('|')[1:-1]]
    assert smiyc_row[:4] == ['smiyc_obstacle', 'max_logit', 'SMIYC code',
                             f"{result['AUROC']:.2f}"]
    assert exact_row[:4] == ['', '', 'exact', f"{result['AUROC_exact']:.2f}"]
    write_sets_csv(str(tmp_path / 'r.csv'), [item])
    row = next(csv.DictReader(open(tmp_path / 'r.csv')))
    assert row['computation'] == 'smiyc'
    assert float(row['mean_F1_exact']) == pytest.approx(
        result['mean_F1_exact'], abs=1e-4)
