"""Validation/test over several named anomaly sets in one run."""
import copy
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmseg_ood.engine.loops import set_configs

from ..conftest import demo_config

LOADER = dict(batch_size=1, dataset=dict(type='AnomalyDataset'),
              sampler=dict(type='DefaultSampler', shuffle=False))
METRIC = dict(type='AnomalyMetric',
              score=dict(type='EnergyScore', num_classes=19))


def test_set_configs_share_one_metric_config_under_set_prefixes():
    sets = set_configs(dict(a=LOADER, b=LOADER), METRIC, 'test')
    assert [m['prefix'] for _, m in sets.values()] == ['a', 'b']
    assert 'prefix' not in METRIC, 'the shared config is not modified'
    # no padded duplicates: streaming metrics would count them
    assert [c['sampler'] for c, _ in sets.values()] == [
        dict(type='DefaultSampler', shuffle=False, round_up=False)] * 2
    assert 'round_up' not in LOADER['sampler']


def test_set_configs_nest_own_prefixes_and_take_perset_configs():
    metrics = [dict(METRIC, prefix='energy'), dict(METRIC, prefix='ml')]
    sets = set_configs(dict(a=LOADER), metrics, 'val')
    assert [m['prefix'] for m in sets['a'][1]] == ['a/energy', 'a/ml']
    per_set = set_configs(
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
        set_configs(loader, evaluator, 'test')
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
    cfg.test_evaluator = cfg.val_evaluator  # the energy score only
    return cfg


@pytest.mark.slow
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
        # SegmentMeIfYouCan: component metrics, and the exact numbers
        # beside the benchmark's
        f'{name}/{key}'
        for name in ('smiyc_anomaly', 'smiyc_obstacle')
        for key in ('sIoU_gt', 'PPV', 'mean_F1', 'AUROC_exact', 'AP_exact',
                    'FPR95_exact', 'sIoU_gt_exact', 'PPV_exact',
                    'mean_F1_exact')
    }
    assert set(metrics) == expected
    results = runner.test_loop.results
    # no padded duplicates (streaming metrics would count them twice)
    for loop in runner.test_loop.set_loops.values():
        assert loop.dataloader.sampler.round_up is False
    assert [r.key for r in results] == list(demo_cfg.test_dataloader)
    road = results[2]
    assert (road.set, road.benchmark, road.num_images) == (
        'road_anomaly', 'road_anomaly', 2)
    assert {f'road_anomaly/{k}': v
            for k, v in road.result.metrics.items()} == {
                k: v for k, v in metrics.items()
                if k.startswith('road_anomaly/')}
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


@pytest.mark.slow
def test_save_best_on_a_set_without_values_says_why(demo_cfg, tmp_path):
    root = tmp_path / 'no_anomaly'
    shutil.copytree(demo_cfg.anomaly_sets.fs_laf.dataset.data_root, root)
    for path in (root / 'labels').iterdir():  # anomaly pixels -> inlier
        label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(path), np.where(label == 1, 0, label))
    cfg = copy.deepcopy(demo_cfg)
    cfg.val_dataloader.fs_laf.dataset.data_root = str(root)
    cfg.val_dataloader.fs_laf.num_workers = 0
    cfg.default_hooks.checkpoint.save_best = 'fs_laf/AP'
    runner = _runner(cfg, tmp_path / 'val')
    runner.call_hook('before_run')  # CheckpointHook learns its key
    with pytest.raises(ValueError, match='0 anomaly pixels') as info:
        runner.val()
    assert "'fs_laf/AP' (save_best)" in str(info.value)


@pytest.mark.slow
def test_validation_covers_several_sets_with_per_set_names(demo_cfg,
                                                           tmp_path):
    cfg = copy.deepcopy(demo_cfg)
    cfg.val_dataloader = dict(
        fs_laf=cfg.anomaly_sets.fs_laf,
        road_anomaly=cfg.anomaly_sets.road_anomaly)
    for loader in cfg.val_dataloader.values():
        loader.num_workers = 0
    torch.manual_seed(0)
    runner = _runner(cfg, tmp_path / 'val')
    metrics = runner.val()
    # the same sets through the test loop give the same numbers
    cfg.test_dataloader = cfg.val_dataloader
    torch.manual_seed(0)
    tested = _runner(cfg, tmp_path / 'test').test()
    assert metrics == tested
    assert set(metrics) == {f'{name}/{key}'
                            for name in ('fs_laf', 'road_anomaly')
                            for key in ('AUROC', 'AP', 'FPR95')}
    log = open(runner.logger.log_file).read()
    assert 'fs_laf/AP' in log and 'road_anomaly/AP' in log
    assert "Anomaly set 'road_anomaly': 2 images" in log
