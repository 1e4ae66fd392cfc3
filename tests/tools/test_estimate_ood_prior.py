"""tools/analysis_tools/estimate_ood_prior.py as a user runs it (demo world).

One process and two (torchrun, gloo on CPU), with checkpoints saved here:
a demo model biased towards 'car' and a randomly initialised one.
"""
import json
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_ood.models.losses import load_prior
from mmseg_ood.utils.constants import CITYSCAPES_CLASSES

from ..conftest import REPO_ROOT, demo_config
from ..conftest import free_port
from .test_train_test import run_tool

TOOL = str(REPO_ROOT / 'tools' / 'analysis_tools' / 'estimate_ood_prior.py')
DEMO = 'deeplabv3plus_balanced_energy_demo.py'
CAR = CITYSCAPES_CLASSES.index('car')


def save_demo_checkpoint(path, bias=None):
    """A demo-model checkpoint as MMEngine writes one (numpy in ``meta``,
    so it loads only as a trusted checkpoint under torch >= 2.6)."""
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


def estimate(cwd, checkpoint, out, *options, expect_ok=True, env=None):
    return run_tool([
        TOOL, demo_config(DEMO),
        str(cwd / checkpoint), '--out',
        str(out), '--num-workers', '0'
    ] + list(options), cwd, expect_ok=expect_ok, env=env)


def test_cli_recovers_the_class_the_model_is_biased_to(workdir):
    out = workdir / 'car_prior.json'
    proc = estimate(workdir, 'car.pth', out, '--num-samples', '2')
    record = json.loads(out.read_text())
    assert record['mode'] == 'argmax' and record['num_samples'] == 2
    assert record['classes'] == list(CITYSCAPES_CLASSES)
    assert int(np.argmax(record['prior'])) == CAR
    assert record['prior'][CAR] == 1.0
    assert record['counts'][CAR] == record['outlier_pixels'] > 0
    # the table lists the classes by decreasing share: car first
    table = proc.stdout[proc.stdout.index(' id  class'):].splitlines()
    assert table[1].split()[:3] == [str(CAR), 'car', '1.0000']
    assert load_prior(str(out), 19)[CAR] == 1.0
    assert '2/2' in proc.stdout  # the progress bar reached the end

    # an existing output is never replaced without --overwrite
    before = out.read_text()
    again = estimate(workdir, 'car.pth', out, '--num-samples', '1',
                     expect_ok=False)
    assert again.returncode != 0
    assert 'already exists. Pass --overwrite' in again.stderr
    assert out.read_text() == before
    estimate(workdir, 'car.pth', out, '--num-samples', '1', '--overwrite')
    assert json.loads(out.read_text())['num_samples'] == 1


def test_default_output_is_in_the_work_dir(workdir):
    run_tool([
        TOOL, demo_config(DEMO),
        str(workdir / 'car.pth'), '--work-dir',
        str(workdir / 'wd'), '--num-samples', '1', '--num-workers', '0'
    ], workdir)
    assert load_prior(str(workdir / 'wd' / 'outlier_prior.json'),
                      19)[CAR] == 1.0


def test_config_whose_prior_is_the_file_being_estimated(workdir):
    # the natural workflow: the training config already names the prior
    # file the tool is about to write; the model must still build
    out = workdir / 'future_prior.json'
    assert not out.exists()
    estimate(workdir, 'car.pth', out, '--num-samples', '1', '--cfg-options',
             f'model.decode_head.loss_decode.1.prior={out}')
    assert load_prior(str(out), 19)[CAR] == 1.0


def test_two_processes_give_the_counts_of_one(workdir):
    # softmax mode: the counts depend on every outlier pixel of every scene,
    # so a scene counted twice, missed or pasted differently shows up
    one, two = workdir / 'one.json', workdir / 'two.json'
    options = ['--num-samples', '3', '--mode', 'softmax']
    estimate(workdir, 'random.pth', one, *options)
    run_tool([
        '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={free_port()}', TOOL,
        demo_config(DEMO),
        str(workdir / 'random.pth'), '--launcher', 'pytorch', '--out',
        str(two), '--num-workers', '0'
    ] + options, workdir, env=dict(CUDA_VISIBLE_DEVICES=''))
    single, multi = json.loads(one.read_text()), json.loads(two.read_text())
    assert multi['num_samples'] == single['num_samples'] == 3
    assert multi['outlier_pixels'] == pytest.approx(
        single['outlier_pixels'], rel=1e-12)
    np.testing.assert_allclose(multi['counts'], single['counts'], rtol=1e-9)
    # a random model spreads outliers over several classes
    assert sum(c > 0.01 * single['outlier_pixels']
               for c in single['counts']) > 2
