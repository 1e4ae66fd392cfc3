"""Exact resume: interrupted + ``--resume`` == uninterrupted, bit for bit.

The demo config, shrunk (64x128 crops, batch 2, 6 iterations, a checkpoint
and a validation every 3 iterations, deterministic mode), is trained by
``mmseg-ood-train``'s ``main`` in this process (the tool's imports take
longer than the training):

- run A: 6 iterations without a stop;
- run B: the same schedule stopped after 3 iterations (``max_iters=3``;
  the poly schedule's ``end`` stays 6, so both runs share one schedule),
  then ``--resume`` to 6.

Both end with identical weights, optimizer state (Adam moments and step),
scheduler state and iteration. The control run resumes from a copy of the
checkpoint without its random state and must end elsewhere: dropout (and,
with ``num_workers=0``, the transforms) then draw other numbers, so the test
detects a resume that restores less than everything.
"""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
import torch

from mmseg_ood.cli import train as train_cli

from ..conftest import demo_config

pytestmark = pytest.mark.slow

DEMO = 'deeplabv3plus_balanced_energy_demo.py'
CROP = '(64,128)'


def options(num_workers, max_iters, name):
    persistent = num_workers > 0
    return [
        # unique names: runs in one process must not share the logger
        # and visualizer instances (MMSeg names its visualizer 'visualizer')
        f'experiment_name={name}', f'visualizer.name={name}',
        'randomness.seed=0', 'randomness.deterministic=True',
        'train_dataloader.batch_size=2',
        f'train_dataloader.num_workers={num_workers}',
        f'train_dataloader.persistent_workers={persistent}',
        f'train_dataloader.dataset.pipeline.4.crop_size={CROP}',
        f'model.data_preprocessor.size={CROP}',
        'val_dataloader.fs_laf.num_workers=0',
        'val_dataloader.fs_laf.dataset.indices=1',
        f'train_cfg.max_iters={max_iters}', 'train_cfg.val_interval=3',
        'param_scheduler.0.end=6',
        'default_hooks.checkpoint.interval=3',
        'default_hooks.logger.interval=1',
    ]


@contextmanager
def train_tool():
    """``mmseg-ood-train CONFIG ARGS`` in this process, one thread;
    torch's global flags are put back afterwards."""
    saved = (torch.are_deterministic_algorithms_enabled(),
             torch.backends.cudnn.deterministic,
             torch.backends.cudnn.benchmark, torch.get_num_threads())
    torch.set_num_threads(1)
    try:
        yield lambda *args: train_cli.main([demo_config(DEMO), *args])
    finally:
        torch.use_deterministic_algorithms(saved[0])
        torch.backends.cudnn.deterministic = saved[1]
        torch.backends.cudnn.benchmark = saved[2]
        torch.set_num_threads(saved[3])


@pytest.fixture
def train(demo_cwd, monkeypatch):
    """Run ``mmseg-ood-train`` in ``demo_cwd``, in this process."""
    monkeypatch.setenv('LOCAL_RANK', '0')
    with train_tool() as run:
        yield run


def load(path):
    return torch.load(path, map_location='cpu')


def unequal_tensors(a, b, prefix=''):
    """Paths where two nested checkpoint structures differ (tensors
    compared with torch.equal, everything else with ==)."""
    if isinstance(a, torch.Tensor):
        return [] if torch.equal(a, b) else [prefix]
    if isinstance(a, dict):
        assert set(a) == set(b), (prefix, set(a) ^ set(b))
        return [p for k in a for p in unequal_tensors(a[k], b[k],
                                                      f'{prefix}/{k}')]
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b), prefix
        return [p for i, (x, y) in enumerate(zip(a, b))
                for p in unequal_tensors(x, y, f'{prefix}/{i}')]
    return [] if a == b else [prefix]


def train_losses(work_dir):
    """``loss`` per training iteration from the run's scalars.json."""
    (path, ) = [
        osp.join(root, name) for root, _, names in os.walk(work_dir)
        for name in names if name == 'scalars.json'
    ]
    with open(path) as f:
        records = [json.loads(line) for line in f]
    return {r['iter']: r['loss'] for r in records if 'loss' in r}


@pytest.mark.parametrize('num_workers', [0, 1])
def test_interrupted_and_resumed_equals_uninterrupted(train, num_workers):
    train('--work-dir', 'A', '--cfg-options',
          *options(num_workers, 6, f'A{num_workers}'))
    train('--work-dir', 'B', '--cfg-options',
          *options(num_workers, 3, f'B{num_workers}'))
    assert not osp.exists('B/iter_6.pth')
    train('--work-dir', 'B', '--resume', '--cfg-options',
          *options(num_workers, 6, f'B{num_workers}r'))

    a, b = load('A/iter_6.pth'), load('B/iter_6.pth')
    assert a['meta']['iter'] == b['meta']['iter'] == 6
    assert unequal_tensors(a['state_dict'], b['state_dict']) == []
    # Adam's moments and step count, and the LR scheduler
    assert a['optimizer']['state'] and unequal_tensors(
        a['optimizer'], b['optimizer']) == []
    assert unequal_tensors(a['param_schedulers'],
                           b['param_schedulers']) == []
    assert a['param_schedulers'][0]['_global_step'] == 6
    hub_a, hub_b = a['message_hub'], b['message_hub']
    assert hub_a['runtime_info']['iter'] == hub_b['runtime_info']['iter']
    # the resumed run logged iterations 4..6 with A's losses, bit for bit
    resumed = train_losses(
        max(osp.join('B', d) for d in os.listdir('B')
            if osp.isdir(osp.join('B', d))))
    assert resumed == {i: train_losses('A')[i] for i in (4, 5, 6)}

    if num_workers == 0:
        # control: without the random state the continuation differs
        ckpt = load('B/iter_3.pth')
        del ckpt['random_state']
        torch.save(ckpt, 'no_random_state.pth')
        train('--work-dir', 'C', '--resume', 'no_random_state.pth',
              '--cfg-options', *options(0, 6, 'C0'))
        c = load('C/iter_6.pth')
        assert unequal_tensors(a['state_dict'], c['state_dict']) != []


def test_a_killed_run_resumes_from_its_last_checkpoint(train, capfd):
    """kill -9 of ``mmseg-ood-train`` after its first checkpoint, then
    ``--resume``: the run continues from the latest checkpoint the killed
    run completed and finishes."""
    opts = [o for o in options(0, 4, 'killed')
            if not o.startswith(('default_hooks.checkpoint.interval',
                                 'train_cfg.val_interval'))]
    opts += ['default_hooks.checkpoint.interval=2',
             'train_cfg.val_interval=100']
    command = [sys.executable, '-m', 'mmseg_ood.cli.train',
               demo_config(DEMO), '--work-dir', 'K', '--cfg-options', *opts]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 300
    while not osp.exists('K/last_checkpoint'):
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not osp.exists('K/iter_4.pth')
    done = max(int(n[5:-4]) for n in os.listdir('K')
               if n.startswith('iter_') and n.endswith('.pth'))
    capfd.readouterr()
    train('--work-dir', 'K', '--resume', '--cfg-options',
          *[o.replace('=killed', '=killed_resumed') for o in opts])
    assert load('K/iter_4.pth')['meta']['iter'] == 4
    out, err = capfd.readouterr()
    assert f'resumed epoch: 0, iter: {done}' in out + err
