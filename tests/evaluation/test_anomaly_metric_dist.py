"""AnomalyMetric gives identical results with 1 and 2 processes (gloo)."""
import json
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.dataset import DefaultSampler
from mmengine.registry import init_default_scope
from mmseg.registry import METRICS

from ..conftest import free_port
from .test_anomaly_metric import ENERGY, _blob_samples, make_samples

pytestmark = pytest.mark.slow

SETTINGS = {
    'exact': dict(),
    'exact_nearest': dict(fpr_rule='nearest'),
    'histogram': dict(mode='histogram'),
    'components': dict(components='obstacle'),
    'smiyc': dict(computation='smiyc'),
    'smiyc_histogram': dict(computation='smiyc', mode='histogram'),
    'smiyc_components': dict(computation='smiyc', components='obstacle'),
}


def _samples(name):
    if name in ('components', 'smiyc_components'):
        return _blob_samples() + _blob_samples()[::-1]
    return make_samples(seed=3, n=5, shape=(30, 40))


def _evaluate(name, samples, size):
    init_default_scope('mmseg')
    metric = METRICS.build(
        dict(type='AnomalyMetric', score=ENERGY, **SETTINGS[name]))
    metric.dataset_meta = {}
    for sample in samples:  # one image per batch, as the test loops do
        metric.process({}, [sample])
    return metric.evaluate(size)


def _worker(rank, port, out_file):
    # MMEngine gathers results through files in ./.dist_test
    os.chdir(os.path.dirname(out_file))
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
        world_size=2)
    try:
        results = {}
        for name in SETTINGS:
            samples = _samples(name)
            # the shard of this rank, as the anomaly-set loops sample it
            indices = list(
                DefaultSampler(samples, shuffle=False, round_up=False))
            results[name] = _evaluate(name, [samples[i] for i in indices],
                                      len(samples))
        if rank == 0:
            with open(out_file, 'w') as f:
                json.dump(results, f)
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def two_process_results(tmp_path_factory):
    out = tmp_path_factory.mktemp('dist') / 'metrics.json'
    mp.spawn(_worker, args=(free_port(), str(out)), nprocs=2, join=True)
    with open(out) as f:
        return json.load(f)


@pytest.mark.parametrize('name', list(SETTINGS))
def test_two_processes_equal_one_process(two_process_results, name):
    torch.set_num_threads(1)
    samples = _samples(name)
    single = _evaluate(name, samples, len(samples))
    expected = {'AUROC', 'AP', 'FPR95'}
    if name == 'histogram':
        expected.add('AP_error_bound')
    if name in ('components', 'smiyc_components'):
        expected |= {'sIoU_gt', 'PPV', 'mean_F1'}
    if name in ('smiyc', 'smiyc_components'):
        expected |= {key + '_exact' for key in expected}
    assert set(single) == expected
    # bit-identical: the pooled pixels / summed counts are the same
    assert two_process_results[name] == single
