"""tools/train.py and tools/test.py through MMEngine's Runner (demo world).

These run the tools as a user does (subprocesses, the demo configs) on the
small test world: a few training iterations with validation, resume, test
with the metrics JSON, a misconfigured loss, and a 2-process CPU run with
torchrun and gloo.
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

from mmseg_ood.evaluation.functional import metrics_from_counts

from ..conftest import REPO_ROOT, demo_config

TRAIN = str(REPO_ROOT / 'tools' / 'train.py')
TEST = str(REPO_ROOT / 'tools' / 'test.py')
DEMO = 'deeplabv3plus_balanced_energy_demo.py'
DEMO_SETS = ('fs_laf', 'fs_static', 'road_anomaly', 'smiyc_anomaly',
             'smiyc_obstacle')
FAST = [
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.fs_laf.num_workers=0', 'default_hooks.logger.interval=1'
] + [f'test_dataloader.{name}.num_workers=0' for name in DEMO_SETS]


def run_tool(args, cwd, expect_ok=True, env=None):
    proc = subprocess.run(
        [sys.executable] + args, cwd=cwd, capture_output=True, text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1', **(env or {})),
        timeout=600)
    if expect_ok:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def schedule(iters, val_interval, ckpt_interval):
    return [
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={val_interval}',
        f'param_scheduler.0.end={iters}',
        f'default_hooks.checkpoint.interval={ckpt_interval}'
    ]


@pytest.fixture(scope='module')
def trained(demo_world, tmp_path_factory):
    """Train 4 iterations (checkpoints at 2 and 4, validation at 4)."""
    cwd = tmp_path_factory.mktemp('run')
    os.makedirs(cwd / 'data')
    os.symlink(demo_world['root'], cwd / 'data' / 'demo_world')
    work = cwd / 'work'
    proc = run_tool([TRAIN, demo_config(DEMO), '--work-dir', str(work),
                     '--cfg-options'] + FAST + schedule(4, 4, 2), cwd)
    return cwd, work, proc.stdout + proc.stderr


def test_train_runs_validates_and_checkpoints(trained):
    cwd, work, log = trained
    assert osp.isfile(work / 'iter_4.pth')
    assert 'decode.loss_balanced_energy' in log
    assert 'aux.loss_ce' in log
    assert 'AUROC' in log and 'FPR95' in log


def test_resume_continues_from_the_checkpoint(trained):
    cwd, work, _ = trained
    proc = run_tool([
        TRAIN, demo_config(DEMO), '--work-dir', str(work), '--resume',
        str(work / 'iter_2.pth'), '--cfg-options'
    ] + FAST + schedule(6, 100, 6), cwd)
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'Iter(train) [3/6]' in log and 'Iter(train) [2/6]' not in log
    ckpt = torch.load(work / 'iter_6.pth', map_location='cpu',
                      weights_only=False)
    assert ckpt['meta']['iter'] == 6
    assert ckpt['optimizer']['state'], 'optimizer state restored and saved'


def test_auto_resume_prefers_the_work_dir_over_load_from(trained):
    # A fine-tuning run starts from load_from (here: another run's
    # checkpoint, standing in for a model-zoo file); `--resume` without a
    # path must then continue from the run's own latest checkpoint.
    cwd, work, _ = trained
    finetune = cwd / 'finetune'
    options = FAST + [f'load_from={work / "iter_4.pth"}']
    first = run_tool([
        TRAIN, demo_config(DEMO), '--work-dir', str(finetune), '--resume',
        '--cfg-options'
    ] + options + schedule(2, 100, 2), cwd)
    assert 'no checkpoint in' in first.stdout + first.stderr
    assert osp.isfile(finetune / 'iter_2.pth')
    again = run_tool([
        TRAIN, demo_config(DEMO), '--work-dir', str(finetune), '--resume',
        '--cfg-options'
    ] + options + schedule(3, 100, 3), cwd)
    log = again.stdout + again.stderr
    assert 'resumed epoch: 0, iter: 2' in log
    assert osp.isfile(finetune / 'iter_3.pth')


def test_test_tool_writes_one_table_for_all_sets(trained):
    cwd, work, _ = trained
    out = cwd / 'eval' / 'results.json'
    proc = run_tool([
        TEST, demo_config(DEMO), str(work / 'iter_4.pth'), '--work-dir',
        str(cwd / 'eval'), '--out-json', str(out), '--curves',
        '--overlays', '1', '--cfg-options'
    ] + FAST, cwd)
    record = json.loads(out.read_text())
    sets = {s['set']: s for s in record['sets']}
    assert list(sets) == list(DEMO_SETS)
    for name, summary in sets.items():
        for key in ('AUROC', 'AP', 'FPR95'):
            assert 0.0 <= summary['metrics'][key] <= 100.0
            assert record['metrics'][f'{name}/{key}'] == summary['metrics'][
                key]
    # SMIYC sets get the component metrics of their track
    assert sets['smiyc_obstacle']['components'] == 'obstacle'
    assert sets['smiyc_anomaly']['components'] == 'anomaly'
    assert 'sIoU_gt' not in sets['fs_laf']['metrics']
    assert sets['road_anomaly']['dataset'] == 'RoadAnomalyDataset'
    rows = list(csv.DictReader(open(out.with_name('anomaly_sets.csv'))))
    assert [r['set'] for r in rows] == list(DEMO_SETS)
    assert float(rows[0]['AP']) == pytest.approx(
        sets['fs_laf']['metrics']['AP'], abs=1e-4)
    log = proc.stdout + proc.stderr
    assert 'anomaly sets (percent; FPR95 rule: first)' in log
    assert 'sIoU_gt' in log and 'mean_F1' in log
    log_dir = [d for d in (cwd / 'eval').iterdir() if d.is_dir()]
    for name in DEMO_SETS:
        curve = cv2.imread(
            str(next(log_dir[0].glob(f'curves/{name}.png'))))
        assert curve is not None and curve.ndim == 3
        overlays = list(log_dir[0].glob(f'overlays/{name}/*.png'))
        assert len(overlays) == 1
        # the stored (thinned) counts redraw the same curve
        counts = np.load(next(log_dir[0].glob(f'curves/{name}.npz')))
        thinned = metrics_from_counts(counts['fps'], counts['tps'])
        assert 100 * thinned['ap'] == pytest.approx(
            sets[name]['metrics']['AP'], abs=0.1)
        assert thinned['num_pixels'] == sets[name]['num_pixels']


def test_test_tool_picks_sets_from_the_catalogue(trained):
    cwd, work, _ = trained
    out = cwd / 'one.json'
    run_tool([
        TEST, demo_config(DEMO), str(work / 'iter_4.pth'), '--work-dir',
        str(cwd / 'eval_one'), '--out-json', str(out), '--sets',
        'road_anomaly', '--cfg-options'
    ] + FAST, cwd)
    record = json.loads(out.read_text())
    assert [s['set'] for s in record['sets']] == ['road_anomaly']
    proc = run_tool([
        TEST, demo_config(DEMO), str(work / 'iter_4.pth'), '--work-dir',
        str(cwd / 'eval_bad'), '--sets', 'cityscapes'
    ], cwd, expect_ok=False)
    assert "Unknown anomaly set(s) ['cityscapes']" in proc.stderr
    assert 'fs_laf' in proc.stderr


def test_plain_cross_entropy_fails_with_the_fix(trained):
    cwd, work, _ = trained
    proc = run_tool([
        TRAIN, demo_config(DEMO), '--work-dir', str(cwd / 'bad'),
        '--cfg-options',
        "model.auxiliary_head.loss_decode.type=CrossEntropyLoss"
    ] + FAST + schedule(2, 2, 2), cwd, expect_ok=False)
    assert proc.returncode != 0
    assert 'OutlierLabelError' in proc.stderr
    assert "dict(type='InlierCrossEntropyLoss'" in proc.stderr
    assert 'IndexError' not in proc.stderr
