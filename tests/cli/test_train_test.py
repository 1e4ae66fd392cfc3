"""mmseg-ood-train and mmseg-ood-test on the demo world, end to end.

One training run goes through ``tools/train.py`` in a subprocess, as a user
starts it (4 iterations, checkpoints at 2 and 4, validation at 4); the other
runs call the tools' ``main`` in this process (their imports take longer
than these runs), with unique experiment names.
"""
import csv
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from mmseg_ood.cli import test as test_tool
from mmseg_ood.cli import train as train_tool
from mmseg_ood.evaluation.functional import metrics_from_counts

from ..conftest import REPO_ROOT, demo_config

pytestmark = pytest.mark.slow

DEMO = demo_config('deeplabv3plus_balanced_energy_demo.py')
DEMO_SETS = ('fs_laf', 'fs_static', 'road_anomaly', 'smiyc_anomaly',
             'smiyc_obstacle')
FAST = [
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.fs_laf.num_workers=0', 'default_hooks.logger.interval=1'
] + [f'test_dataloader.{name}.num_workers=0' for name in DEMO_SETS]


def schedule(iters, val_interval, ckpt_interval):
    return [
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={val_interval}',
        f'param_scheduler.0.end={iters}',
        f'default_hooks.checkpoint.interval={ckpt_interval}'
    ]


def named(name):
    """Runs in one process must not share logger and visualizer names."""
    return [f'experiment_name={name}', f'visualizer.name={name}']


@pytest.fixture(scope='module')
def trained(demo_world, tmp_path_factory):
    """``tools/train.py`` in a subprocess: 4 iterations."""
    cwd = tmp_path_factory.mktemp('run')
    os.makedirs(cwd / 'data')
    os.symlink(demo_world['root'], cwd / 'data' / 'demo_world')
    work = cwd / 'work'
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / 'tools' / 'train.py'), DEMO,
         '--work-dir', str(work), '--cfg-options'] + FAST +
        schedule(4, 4, 2), cwd=cwd, capture_output=True, text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'), timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return cwd, work, proc.stdout + proc.stderr


@pytest.fixture
def in_run(trained, monkeypatch):
    """The trained run's folder as the working folder of in-process runs."""
    cwd, work, _ = trained
    monkeypatch.chdir(cwd)
    monkeypatch.setenv('LOCAL_RANK', '0')
    return cwd, work


@pytest.fixture(scope='module')
def sml_file(trained):
    """mmseg-ood-sml-statistics of the trained model (in this process)."""
    from mmseg_ood.cli import sml_statistics
    cwd, work, _ = trained
    out = cwd / 'sml_statistics.json'
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        record = sml_statistics.main([
            DEMO, str(work / 'iter_4.pth'), '--out', str(out),
            '--num-workers', '0', '--work-dir', str(cwd / 'sml')
        ])
    finally:
        os.chdir(previous)
    # every pixel of the 6 training frames (128x256), once
    assert sum(record['count']) == 6 * 128 * 256
    return str(out)


def log_of(work_dir):
    """The text log of the newest run in ``work_dir``."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isdir(osp.join(work_dir, d)) and d[:1].isdigit())
    folder = osp.join(work_dir, runs[-1])
    with open(osp.join(folder, runs[-1] + '.log')) as f:
        return f.read()


def test_train_runs_validates_and_checkpoints(trained):
    cwd, work, log = trained
    assert osp.isfile(work / 'iter_2.pth') and osp.isfile(work / 'iter_4.pth')
    assert 'decode.loss_balanced_energy' in log
    assert 'aux.loss_ce' in log
    assert 'fs_laf/AP' in log and 'fs_laf/FPR95' in log
    checkpoint = torch.load(work / 'iter_4.pth', map_location='cpu')
    # the tool added the random-state hook: exact resume is possible
    assert checkpoint['random_state']['world_size'] == 1


def test_resume_continues_from_the_checkpoint(in_run):
    cwd, work = in_run
    resumed = cwd / 'resumed'
    train_tool.main([DEMO, '--work-dir', str(resumed), '--resume',
                     str(work / 'iter_2.pth'), '--cfg-options'] + FAST +
                    schedule(3, 100, 3) + named('resume'))
    log = log_of(resumed)
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/3]' in log and 'Iter(train) [2/3]' not in log
    ckpt = torch.load(resumed / 'iter_3.pth', map_location='cpu')
    assert ckpt['meta']['iter'] == 3
    assert ckpt['optimizer']['state'], 'optimizer state restored and saved'


def test_auto_resume_prefers_the_work_dir_over_load_from(in_run):
    # A fine-tuning run starts from load_from (here: another run's
    # checkpoint, standing in for a model-zoo file); `--resume` without a
    # path must then continue from the run's own latest checkpoint.
    cwd, work = in_run
    finetune = cwd / 'finetune'
    options = FAST + [f'load_from={work / "iter_4.pth"}']
    train_tool.main([DEMO, '--work-dir', str(finetune), '--resume',
                     '--cfg-options'] + options + schedule(1, 100, 1) +
                    named('finetune_1'))
    assert 'Load checkpoint from' in log_of(finetune)
    assert osp.isfile(finetune / 'iter_1.pth')
    train_tool.main([DEMO, '--work-dir', str(finetune), '--resume',
                     '--cfg-options'] + options + schedule(2, 100, 2) +
                    named('finetune_2'))
    assert 'resumed epoch: 0, iter: 1' in log_of(finetune)
    assert osp.isfile(finetune / 'iter_2.pth')


def test_plain_cross_entropy_fails_with_the_fix(in_run):
    cwd, _ = in_run
    with pytest.raises(SystemExit) as error:
        train_tool.main([
            DEMO, '--work-dir', str(cwd / 'bad'), '--cfg-options',
            'model.auxiliary_head.loss_decode.type=CrossEntropyLoss'
        ] + FAST + schedule(2, 2, 2) + named('bad'))
    # one line with the loss and the fix, no traceback
    assert str(error.value).startswith('mmseg-ood-train: error: Pasted '
                                       'outlier pixels (label 254)')
    assert "dict(type='InlierCrossEntropyLoss'" in str(error.value)
    assert not osp.exists(cwd / 'bad' / 'iter_1.pth')


def test_test_tool_writes_one_table_for_all_sets(in_run, sml_file, tmp_path):
    cwd, work = in_run
    out = tmp_path / 'eval' / 'results.json'
    metrics = test_tool.main([
        DEMO, str(work / 'iter_4.pth'), '--work-dir', str(tmp_path / 'eval'),
        '--out-json', str(out), '--curves', '--overlays', '1',
        '--cfg-options', f'test_evaluator.1.score.statistics={sml_file}'
    ] + FAST + named('test_all'))
    record = json.loads(out.read_text())
    results = {s['key']: s for s in record['sets']}
    keys = [f'{name}/{score}' for name in DEMO_SETS
            for score in ('energy', 'sml')]
    assert list(results) == keys
    for key, result in results.items():
        # the table holds what the runner returned
        assert {f'{key}/{k}': v for k, v in result['metrics'].items()
                } == {k: v for k, v in metrics.items()
                      if k.startswith(key + '/')}
        assert result['num_images'] == (2 if 'smiyc' in key else
                                        3 if 'fs_laf' in key else 2)
    # SMIYC sets get the component metrics of their track
    assert results['smiyc_obstacle/energy']['components'] == 'obstacle'
    assert results['smiyc_anomaly/energy']['components'] == 'anomaly'
    assert results['fs_laf/energy']['components'] is None
    assert set(results['fs_laf/energy']['metrics']) == {
        'AUROC', 'AP', 'FPR95'}
    assert results['road_anomaly/sml']['score']['type'] == \
        'StandardizedMaxLogitScore'
    assert results['road_anomaly/energy']['set_name'] == 'Road Anomaly'
    rows = list(csv.DictReader(open(out.with_name('anomaly_sets.csv'))))
    assert [r['key'] for r in rows] == keys
    assert float(rows[0]['AP']) == pytest.approx(
        results['fs_laf/energy']['metrics']['AP'], abs=1e-4)
    log = log_of(tmp_path / 'eval')
    assert 'anomaly sets (percent; FPR95 rule: first)' in log
    assert 'sIoU_gt' in log and 'mean_F1' in log
    log_dir = [d for d in (tmp_path / 'eval').iterdir() if d.is_dir()]
    for key in keys:
        stem = key.replace('/', '_')
        curve = cv2.imread(str(next(log_dir[0].glob(f'curves/{stem}.png'))))
        assert curve is not None and curve.ndim == 3
        # the stored (thinned) counts redraw the same curve
        counts = np.load(next(log_dir[0].glob(f'curves/{stem}.npz')))
        thinned = metrics_from_counts(counts['fps'], counts['tps'])
        assert 100 * thinned['ap'] == pytest.approx(
            results[key]['metrics']['AP'], abs=0.1)
        assert thinned['num_pixels'] == results[key]['num_pixels']
    for name in DEMO_SETS:
        overlays = list(log_dir[0].glob(f'overlays/{name}/*.png'))
        assert len(overlays) == 1


def test_test_tool_picks_sets_from_the_catalogue(in_run, sml_file, tmp_path):
    cwd, work = in_run
    out = tmp_path / 'one.json'
    test_tool.main([
        DEMO, str(work / 'iter_4.pth'), '--work-dir', str(tmp_path / 'one'),
        '--out-json', str(out), '--sets', 'road_anomaly', '--cfg-options',
        f'test_evaluator.1.score.statistics={sml_file}'
    ] + FAST + named('test_one'))
    record = json.loads(out.read_text())
    assert [s['key'] for s in record['sets']] == [
        'road_anomaly/energy', 'road_anomaly/sml']
    with pytest.raises(SystemExit, match=r"mmseg-ood-test: error: Unknown "
                       r"anomaly set\(s\) \['cityscapes'\]"):
        test_tool.main([DEMO, str(work / 'iter_4.pth'), '--sets',
                        'cityscapes'])
