"""The checkpoint converter on hand-made files of NVIDIA's and PEBAL's
layouts (names and shapes from tests/data/pebal)."""
import math
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.registry import MODELS

from mmseg_ood.apis.pebal_checkpoint import (
    convert_pebal_checkpoint,
    expected_shapes,
)
from mmseg_ood.cli import pebal2mmseg

from ..conftest import CONFIG_DIR, REPO_ROOT
from ..models.pebal_fixture import mmseg_name, official_keys

EVAL_CONFIG = (CONFIG_DIR / 'balanced_energy_pebal' /
               'wrn38-a2-deeplabv3plus_released-checkpoint_'
               'fs-laf-fs-static-road-anomaly.py')


def tagged(shapes):
    """One constant per tensor (its index), stored in one element: files of
    the real names and shapes that take no space."""
    state = {}
    for index, (name, shape) in enumerate(shapes.items()):
        dtype = torch.int64 if name.endswith('tracked') else torch.float32
        state[name] = torch.full((), float(index), dtype=dtype).expand(shape)
    return state


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp('ckpt')
    names = official_keys()
    state = tagged(names)
    nvidia = {f'module.{k}': v for k, v in state.items()}
    nvidia['module.final.6.weight'] = torch.randn(19, 256, 1, 1)
    nvidia['module.criterion.nll_loss.weight'] = torch.ones(19)
    torch.save(dict(state_dict=nvidia, optimizer={}, epoch=175,
                    mean_iu=np.float64(0.81), command='train.py'),
               root / 'cityscapes_best.pth')
    pebal = {f'branch1.{k}': v for k, v in state.items()}
    torch.save(dict(model=pebal, optimizer={}, epoch=3, iteration=1200),
               root / 'best_ad_ckpt.pth')
    torch.save(pebal, root / 'bare.pth')
    return root, state, nvidia


def test_expected_names_are_the_official_ones():
    assert expected_shapes() == {mmseg_name(k): s
                                 for k, s in official_keys().items()}


def test_nvidia_layout_is_widened_and_loads_strictly(files, tmp_path):
    root, state, nvidia = files
    out = tmp_path / 'nvidia.pth'
    report = convert_pebal_checkpoint(str(root / 'cityscapes_best.pth'),
                                      str(out), seed=3)
    assert report == dict(layout='nvidia', num_read=269, num_dropped=1,
                          num_written=268, widened=True)
    converted = torch.load(out, weights_only=True)
    weights = converted['state_dict']
    assert converted['meta']['abstention_row_seed'] == 3
    classifier = weights['decode_head.final.6.weight']
    assert classifier.shape == (20, 256, 1, 1)
    assert torch.equal(classifier[:19], nvidia['module.final.6.weight'])
    # Kaiming normal: std sqrt(2 / 256), from the seed
    assert classifier[19].std().item() == pytest.approx(
        math.sqrt(2 / 256), rel=0.2)
    again = tmp_path / 'again.pth'
    convert_pebal_checkpoint(str(root / 'cityscapes_best.pth'), str(again),
                             seed=3)
    assert torch.equal(
        torch.load(again, weights_only=True)['state_dict'][
            'decode_head.final.6.weight'], classifier)
    for name, tensor in state.items():
        if name != 'final.6.weight':
            assert torch.equal(weights[mmseg_name(name)], tensor), name
    # the evaluation config's model takes it with strict=True
    init_default_scope('mmseg')
    model = MODELS.build(Config.fromfile(str(EVAL_CONFIG)).model)
    load_checkpoint(model, str(out), strict=True)
    assert torch.equal(model.decode_head.final[6].weight, classifier)


@pytest.mark.parametrize('name', ['best_ad_ckpt.pth', 'bare.pth'])
def test_pebal_layouts_keep_every_tensor(files, tmp_path, name):
    root, state, _ = files
    out = tmp_path / 'pebal.pth'
    report = convert_pebal_checkpoint(str(root / name), str(out))
    assert report == dict(layout='pebal', num_read=268, num_dropped=0,
                          num_written=268, widened=False)
    weights = torch.load(out, weights_only=True)['state_dict']
    assert {k: torch.equal(weights[mmseg_name(k)], v)
            for k, v in state.items()} == {k: True for k in state}


def test_refusals_say_what_was_found(files, tmp_path):
    root, state, _ = files
    cases = {
        'mmseg.pth': dict(meta={}, state_dict={'backbone.x': torch.ones(1)}),
        'other.pth': {'encoder.weight': torch.ones(1)},
        'missing.pth': {f'branch1.{k}': v for k, v in state.items()
                        if not k.startswith('final.6')},
        'shape.pth': {f'branch1.{k}': (torch.ones(7) if k == 'bot_fine.weight'
                                       else v) for k, v in state.items()},
    }
    messages = {
        'mmseg.pth': 'an MMSeg checkpoint already',
        'other.pth': r"first \['encoder.weight'\]; expected NVIDIA",
        'missing.pth': r"1 missing tensors \['decode_head.final.6.weight'\]",
        'shape.pth': r'decode_head.bot_fine.weight: \(7,\) instead of',
    }
    for name, content in cases.items():
        torch.save(content, tmp_path / name)
        with pytest.raises(ValueError, match=messages[name]):
            convert_pebal_checkpoint(str(tmp_path / name),
                                     str(tmp_path / 'out.pth'))
    assert not (tmp_path / 'out.pth').exists()
    (tmp_path / 'truncated.pth').write_bytes(
        (root / 'bare.pth').read_bytes()[:5000])
    with pytest.raises(ValueError, match='truncated.pth: not a readable'):
        convert_pebal_checkpoint(str(tmp_path / 'truncated.pth'),
                                 str(tmp_path / 'out.pth'))
    (tmp_path / 'taken.pth').write_bytes(b'mine')
    with pytest.raises(FileExistsError, match='taken.pth exists'):
        convert_pebal_checkpoint(str(root / 'bare.pth'),
                                 str(tmp_path / 'taken.pth'))
    assert (tmp_path / 'taken.pth').read_bytes() == b'mine'


def test_tool_prints_the_counts(files, tmp_path, capsys):
    root, _, _ = files
    pebal2mmseg.main([str(root / 'cityscapes_best.pth'),
                      str(tmp_path / 'x.pth')])
    out = capsys.readouterr().out
    assert 'nvidia layout, 269 tensors read, 1 dropped' in out
    assert 'final.6 widened from 19 to 20 rows' in out
    assert '268 tensors written' in out


@pytest.mark.slow
def test_console_command_exits_with_0(files, tmp_path):
    root, _, _ = files
    # the installed entry point, beside this interpreter
    command = osp.join(osp.dirname(sys.executable), 'mmseg-ood-pebal2mmseg')
    proc = subprocess.run(
        [command, str(root / 'bare.pth'), str(tmp_path / 'y.pth')],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert '268 tensors written' in proc.stdout
