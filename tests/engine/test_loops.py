"""Validation/test over several named anomaly sets in one run."""
import copy
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg_ood.engine.loops import _AnomalySetsMixin, _set_configs

from ..conftest import demo_config

LOADER = dict(batch_size=1, dataset=dict(type='FishyscapesDataset'))
METRIC = dict(type='AnomalyMetric', num_classes=19)


def test_set_configs_share_one_metric_config_under_set_prefixes():
    sets = _set_configs(dict(a=LOADER, b=LOADER), METRIC, 'test')
    assert [m['prefix'] for _, m in sets.values()] == ['a', 'b']
    assert 'prefix' not in METRIC, 'the shared config is not modified'


def test_set_configs_nest_own_prefixes_and_take_per_set_configs():
    metrics = [dict(METRIC, prefix='energy'), dict(METRIC, prefix='ml')]
    sets = _set_configs(dict(a=LOADER), metrics, 'val')
    assert [m['prefix'] for m in sets['a'][1]] == ['a/energy', 'a/ml']
    per_set = _set_configs(
        dict(a=LOADER, b=LOADER),
        dict(a=METRIC, b=dict(METRIC, components='anomaly')), 'test')
    assert per_set['b'][1]['components'] == 'anomaly'


@pytest.mark.parametrize('loader,evaluator,error,words', [
    (LOADER, METRIC, TypeError, 'dict of named dataloader configs'),
    (dict(a=dict(batch_size=1)), METRIC, TypeError, 'test_dataloader.a'),
    (dict(a=LOADER, b=LOADER), dict(a=METRIC), ValueError, "['a', 'b']"),
])
def test_set_configs_errors_say_what_is_expected(loader, evaluator, error,
                                                 words):
    with pytest.raises(error, match=None) as info:
        _set_configs(loader, evaluator, 'test')
    assert words in str(info.value)


def _runner(cfg, work_dir):
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = str(work_dir)
    cfg.load_from = None
    cfg.launcher = 'none'
    return Runner.from_cfg(cfg)


@pytest.fixture
def demo_cfg(demo_cwd):
    cfg = Config.fromfile(demo_config('deeplabv3plus_balanced_energy_demo.py'))
    for loader in cfg.test_dataloader.values():
        loader.num_workers = 0
    cfg.model.decode_head.loss_decode[1].prior = 'uniform'
    return cfg


def test_each_set_equals_mmengine_test_loop_on_that_set(demo_cfg, tmp_path):
    torch.manual_seed(0)
    runner = _runner(demo_cfg, tmp_path / 'sets')
    state = copy.deepcopy(runner.model.state_dict())
    metrics = runner.test()
    expected = {
        f'{name}/{key}'
        for name in demo_cfg.test_dataloader
        for key in ('AUROC', 'AP', 'FPR95')
    } | {
        f'{name}/{key}'
        for name in ('smiyc_anomaly', 'smiyc_obstacle')
        for key in ('sIoU_gt', 'PPV', 'mean_F1')
    }
    assert set(metrics) == expected
    summaries = runner.test_loop.summaries
    # no padded duplicates (streaming metrics would count them twice)
    for loader, _ in runner.test_loop.sets.values():
        assert loader.sampler.round_up is False
    assert list(summaries) == list(demo_cfg.test_dataloader)
    assert summaries['road_anomaly']['dataset'] == 'RoadAnomalyDataset'
    for name, loader in demo_cfg.test_dataloader.items():
        single = copy.deepcopy(demo_cfg)
        single.test_dataloader = loader
        single.test_cfg = dict(type='TestLoop')
        single.test_evaluator = dict(single.test_evaluator, prefix=name)
        reference = _runner(single, tmp_path / name)
        reference.model.load_state_dict(state)
        expected = reference.test()
        for key, value in expected.items():
            assert metrics[key] == pytest.approx(value, abs=1e-9), key


def test_save_best_on_a_set_without_values_says_why():
    loop = SimpleNamespace(
        stage='val',
        runner=SimpleNamespace(
            hooks=[SimpleNamespace(key_indicators=['fs_laf/AP'])]),
        summaries={
            'fs_laf': dict(set='fs_laf', message='The split holds 0 '
                           'anomaly pixels among 10 valid pixels')
        })
    with pytest.raises(ValueError, match='0 anomaly pixels') as info:
        _AnomalySetsMixin._check_best_metrics(loop, {'road/AP': 50.0})
    assert "'fs_laf/AP' (save_best)" in str(info.value)
    _AnomalySetsMixin._check_best_metrics(loop, {'fs_laf/AP': 50.0})


def test_validation_covers_several_sets_with_per_set_names(demo_cfg,
                                                           tmp_path):
    cfg = copy.deepcopy(demo_cfg)
    cfg.val_dataloader = dict(
        fs_laf=cfg.anomaly_sets.fs_laf,
        road_anomaly=cfg.anomaly_sets.road_anomaly)
    for loader in cfg.val_dataloader.values():
        loader.num_workers = 0
    runner = _runner(cfg, tmp_path / 'val')
    metrics = runner.val()
    for name in ('fs_laf', 'road_anomaly'):
        for key in ('AUROC', 'AP', 'FPR95'):
            assert 0 <= metrics[f'{name}/{key}'] <= 100
    log = open(runner.logger.log_file).read()
    assert 'fs_laf/AP' in log and 'road_anomaly/AP' in log
    assert "Anomaly set 'road_anomaly': 2 images" in log
