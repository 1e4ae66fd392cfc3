"""Launching training: ``dist_train.sh`` on CPU, the Slurm scripts, --amp.

``tools/dist_train.sh CONFIG 2`` on CPU: gloo, BN, the same total batch.

The demo config, shrunk (64x128 crops, no validation), is trained for
``ITERS`` iterations twice with the same seed and schedule:

- 2 processes with 2 images each, through ``tools/dist_train.sh``
  (torchrun, gloo, SyncBN turned into BN);
- 1 process with 4 images (``mmseg-ood-train`` in this process).

MMEngine's ``train_dataloader.batch_size`` is per process, so the total
batch is kept at 4 by halving it for 2 processes (``auto_scale_lr`` would
rescale the LR instead if the total batch changed; the demo config does not
enable it). ``InfiniteSampler`` deals the same shuffled order round-robin to
the ranks, so each step sees the same 4 frames in both runs; augmentations,
BN statistics (2 images instead of 4) and the logged loss (rank 0's 2
images) differ, so the curves agree in trend, not bit for bit.
"""
import os
import os.path as osp
import statistics
import subprocess
import sys

import pytest

from ..conftest import REPO_ROOT, demo_config, free_port
from .test_resume import CROP, DEMO, train_losses, train_tool

DIST_TRAIN = str(REPO_ROOT / 'tools' / 'dist_train.sh')
ITERS = 30
WINDOW = 6


def options(batch_size, name):
    return [
        f'experiment_name={name}', f'visualizer.name={name}',
        'randomness.seed=0',
        f'train_dataloader.batch_size={batch_size}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        # every frame gets an object (pasting is not a coin flip per frame)
        'train_dataloader.dataset.pipeline.2.prob=1.0',
        f'train_dataloader.dataset.pipeline.4.crop_size={CROP}',
        f'model.data_preprocessor.size={CROP}',
        'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
        f'train_cfg.max_iters={ITERS}', f'param_scheduler.0.end={ITERS}',
        f'default_hooks.checkpoint.interval={ITERS}',
        'default_hooks.logger.interval=1', 'log_processor.window_size=1',
    ]


def curve(work_dir):
    losses = train_losses(work_dir)
    assert sorted(losses) == list(range(1, ITERS + 1))
    return [losses[i] for i in range(1, ITERS + 1)]


def median(values):
    return statistics.median(values)


@pytest.fixture
def two_process_run(demo_cwd):
    """``tools/dist_train.sh CONFIG 2`` (gloo on CPU), 2 images each."""
    proc = subprocess.run(
        ['bash', DIST_TRAIN, demo_config(DEMO), '2', '--work-dir', 'dist',
         '--cfg-options', *options(2, 'dist')],
        capture_output=True, text=True, timeout=900,
        env=dict(os.environ, CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1',
                 PORT=str(free_port()), PYTHON=sys.executable))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_two_cpu_processes_train_like_one_with_the_same_total_batch(
        two_process_run, monkeypatch):
    log = two_process_run
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log
    assert osp.isfile(f'dist/iter_{ITERS}.pth')

    monkeypatch.setenv('LOCAL_RANK', '0')
    with train_tool() as train:
        train('--work-dir', 'single', '--cfg-options',
              *options(4, 'single'))
    single, dist = curve('single'), curve('dist')

    # Each iteration's loss is bimodal: ~7 without and ~11 with an outlier
    # pixel in rank 0's crops (the balanced energy term's outlier part).
    # Medians over 6 iterations follow the trend, not the crop lottery.
    # Measured (2-core CPU): medians of the first/last 6 iterations, one
    # process 7.85 -> 6.80, two processes 7.91 -> 6.56.
    for losses in (single, dist):
        assert median(losses[-WINDOW:]) < 0.95 * median(
            losses[:WINDOW]), losses
    # same initial weights and frames: the same start; the runs differ in
    # augmentation draws, BN statistics (2 images instead of 4, where the
    # GPU config's SyncBN would see all 4) and rank 0 logging half the
    # batch, so the ends agree within 15 %
    assert median(dist[:WINDOW]) == pytest.approx(
        median(single[:WINDOW]), rel=0.05)
    assert median(dist[-WINDOW:]) == pytest.approx(
        median(single[-WINDOW:]), rel=0.15)

FAKE_SRUN = """#!/usr/bin/env bash
printf '%s\\n' "$@" > "$SRUN_ARGS_FILE"
"""


@pytest.mark.parametrize('script,fourth,tool', [
    ('slurm_train.sh', 'work_dirs/be', 'train.py'),
    ('slurm_test.sh', 'iter_8000.pth', 'test.py'),
])
def test_slurm_scripts_run_one_task_per_gpu(tmp_path, script, fourth, tool):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'srun').write_text(FAKE_SRUN)
    (bin_dir / 'srun').chmod(0o755)
    record = tmp_path / 'srun_args.txt'
    proc = subprocess.run(
        ['bash', str(REPO_ROOT / 'tools' / script), 'gpu', 'be', 'cfg.py',
         fourth, '--cfg-options', 'a=1'],
        capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}',
                 SRUN_ARGS_FILE=str(record), GPUS='16', GPUS_PER_NODE='8',
                 SRUN_ARGS='--quotatype=auto --time=1:00:00'))
    assert proc.returncode == 0, proc.stderr
    tools = str(REPO_ROOT / 'tools')
    expected = [
        '-p', 'gpu', '--job-name=be', '--gres=gpu:8', '--ntasks=16',
        '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1',
        '--quotatype=auto', '--time=1:00:00', 'python', '-u',
        f'{tools}/{tool}', 'cfg.py'
    ]
    expected += ([f'--work-dir={fourth}', '--launcher=slurm']
                 if tool == 'train.py' else [fourth, '--launcher=slurm'])
    expected += ['--cfg-options', 'a=1']
    assert record.read_text().splitlines() == expected


@pytest.mark.parametrize('script', ['slurm_train.sh', 'slurm_test.sh'])
def test_slurm_scripts_defaults_without_srun_args(tmp_path, script):
    # the documented defaults (GPUS=4, GPUS_PER_NODE=min(GPUS, 8)) and an
    # empty SRUN_ARGS, which must expand to nothing under `set -u`
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'srun').write_text(FAKE_SRUN)
    (bin_dir / 'srun').chmod(0o755)
    record = tmp_path / 'srun_args.txt'
    env = {k: v for k, v in os.environ.items()
           if k not in ('GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS')}
    env.update(PATH=f'{bin_dir}:{os.environ["PATH"]}',
               SRUN_ARGS_FILE=str(record))
    proc = subprocess.run(
        ['bash', str(REPO_ROOT / 'tools' / script), 'gpu', 'be', 'cfg.py',
         'fourth'], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    args = record.read_text().splitlines()
    assert args[:8] == [
        '-p', 'gpu', '--job-name=be', '--gres=gpu:4', '--ntasks=4',
        '--ntasks-per-node=4', '--cpus-per-task=5', '--kill-on-bad-exit=1'
    ]
    assert args[8:10] == ['python', '-u']  # nothing from SRUN_ARGS
    assert args[-1] == '--launcher=slurm'
    header = (REPO_ROOT / 'tools' / script).read_text().splitlines()[2]
    assert '[GPUS=4] [GPUS_PER_NODE=min(GPUS,8)]' in header


@pytest.mark.parametrize('script,usage', [
    ('slurm_train.sh', 'PARTITION JOB_NAME CONFIG WORK_DIR'),
    ('slurm_test.sh', 'PARTITION JOB_NAME CONFIG CHECKPOINT'),
    ('dist_train.sh', 'CONFIG GPUS'),
    ('dist_test.sh', 'CONFIG CHECKPOINT GPUS'),
])
def test_launch_scripts_name_their_arguments(script, usage):
    proc = subprocess.run(['bash', str(REPO_ROOT / 'tools' / script), 'a'],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert usage in proc.stderr
