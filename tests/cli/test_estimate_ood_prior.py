"""mmseg-ood-prior as a user runs it (demo world).

One process (its ``main`` in this process) and two (torchrun, gloo on CPU),
with checkpoints saved here: a demo model biased towards 'car' and a
randomly initialised one.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_ood.apis.run_manifest import same_source
from mmseg_ood.cli import estimate_ood_prior as tool
from mmseg_ood.models.losses import load_prior
from mmseg_ood.utils.constants import CITYSCAPES_CLASSES

from ..conftest import demo_config, free_port

pytestmark = pytest.mark.slow

DEMO = 'deeplabv3plus_balanced_energy_demo.py'
CAR = CITYSCAPES_CLASSES.index('car')


def save_demo_checkpoint(path, bias=None):
    """A demo-model checkpoint with numpy in ``meta``, as MMEngine writes
    one (torch >= 2.6 loads it thanks to mmseg_ood's allow-list)."""
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(demo_config(DEMO)).model)
    if bias is not None:
        with torch.no_grad():
            model.decode_head.conv_seg.weight.zero_()
            model.decode_head.conv_seg.bias.copy_(bias)
    torch.save(
        dict(meta=dict(seed=np.int64(0)), state_dict=model.state_dict()),
        path)


@pytest.fixture(scope='module')
def workdir(demo_world, tmp_path_factory):
    """A working folder with data/demo_world and two checkpoints."""
    cwd = tmp_path_factory.mktemp('prior')
    os.makedirs(cwd / 'data')
    os.symlink(demo_world['root'], cwd / 'data' / 'demo_world')
    old = os.getcwd()
    os.chdir(cwd)  # the demo model reads data/demo_world/outlier_prior.json
    try:
        bias = torch.zeros(19)
        bias[CAR] = 3.0
        save_demo_checkpoint(cwd / 'car.pth', bias)
        save_demo_checkpoint(cwd / 'random.pth')
    finally:
        os.chdir(old)
    return cwd


@pytest.fixture
def in_workdir(workdir, monkeypatch):
    """The working folder, one thread (as each torchrun process runs)."""
    monkeypatch.chdir(workdir)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield workdir
    torch.set_num_threads(threads)


def estimate(cwd, checkpoint, out, *options):
    """The tool's main in this process; returns its record."""
    return tool.main([
        demo_config(DEMO),
        str(cwd / checkpoint), '--out',
        str(out), '--num-workers', '0'
    ] + list(options))


def test_cli_recovers_the_class_the_model_is_biased_to(in_workdir, capfd):
    workdir = in_workdir
    out = workdir / 'car_prior.json'
    returned = estimate(workdir, 'car.pth', out, '--num-samples', '2')
    stdout = capfd.readouterr().out
    record = json.loads(out.read_text())
    assert record == json.loads(json.dumps(returned))
    assert record['mode'] == 'argmax' and record['num_samples'] == 2
    assert record['classes'] == list(CITYSCAPES_CLASSES)
    assert int(np.argmax(record['prior'])) == CAR
    assert record['prior'][CAR] == 1.0
    assert record['counts'][CAR] == record['outlier_pixels'] > 0
    # the table lists the classes by decreasing share: car first
    table = stdout[stdout.index(' id  class'):].splitlines()
    assert table[1].split()[:3] == [str(CAR), 'car', '1.0000']
    assert load_prior(str(out), 19)[CAR] == 1.0

    # an existing output is never replaced without --overwrite
    before = out.read_text()
    with pytest.raises(SystemExit, match='mmseg-ood-prior: error: .*'
                       'already exists. Pass --overwrite'):
        estimate(workdir, 'car.pth', out, '--num-samples', '1')
    assert out.read_text() == before
    estimate(workdir, 'car.pth', out, '--num-samples', '1', '--overwrite')
    assert json.loads(out.read_text())['num_samples'] == 1


def test_default_output_is_in_the_work_dir(in_workdir):
    workdir = in_workdir
    tool.main([
        demo_config(DEMO),
        str(workdir / 'car.pth'), '--work-dir',
        str(workdir / 'wd'), '--num-samples', '1', '--num-workers', '0'
    ])
    out = str(workdir / 'wd' / 'outlier_prior.json')
    assert load_prior(out, 19)[CAR] == 1.0
    # the prior names the model that made it, by content
    with open(out) as f:
        made = json.load(f)['provenance']
    assert same_source(made, demo_config(DEMO), str(workdir / 'car.pth'))
    assert not same_source(made, demo_config(DEMO),
                           str(workdir / 'random.pth'))


def test_config_whose_prior_is_the_file_being_estimated(in_workdir):
    workdir = in_workdir
    # the natural workflow: the training config already names the prior
    # file the tool is about to write; the model must still build
    out = workdir / 'future_prior.json'
    assert not out.exists()
    estimate(workdir, 'car.pth', out, '--num-samples', '1', '--cfg-options',
             f'model.decode_head.loss_decode.1.prior={out}')
    assert load_prior(str(out), 19)[CAR] == 1.0


def test_two_processes_give_the_counts_of_one(in_workdir):
    # softmax mode: the counts depend on every outlier pixel of every scene,
    # so a scene counted twice, missed or pasted differently shows up
    workdir = in_workdir
    one, two = workdir / 'one.json', workdir / 'two.json'
    options = ['--num-samples', '3', '--mode', 'softmax']
    estimate(workdir, 'random.pth', one, *options)
    proc = subprocess.run([
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={free_port()}', '-m',
        'mmseg_ood.cli.estimate_ood_prior', demo_config(DEMO),
        str(workdir / 'random.pth'), '--launcher', 'pytorch', '--out',
        str(two), '--num-workers', '0'
    ] + options, cwd=workdir, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # rank 0's progress bar (2 of the 3 scenes) reached its end
    assert '2/2' in proc.stdout
    single, multi = json.loads(one.read_text()), json.loads(two.read_text())
    assert multi['num_samples'] == single['num_samples'] == 3
    assert multi['outlier_pixels'] == pytest.approx(
        single['outlier_pixels'], rel=1e-12)
    np.testing.assert_allclose(multi['counts'], single['counts'], rtol=1e-9)
    # a random model spreads outliers over several classes
    assert sum(c > 0.01 * single['outlier_pixels']
               for c in single['counts']) > 2
