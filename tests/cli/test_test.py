"""mmseg-ood-test refuses what it cannot evaluate faithfully: existing
result files, truncated checkpoints, checkpoints of another model."""
import hashlib
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_ood.cli import test as test_tool

from ..conftest import demo_config
from .test_train_test import DEMO, FAST, named


def test_existing_result_files_are_refused_before_the_run(tmp_path):
    # before: --out-json silently replaced an earlier run's results
    out = tmp_path / 'results.json'
    out.write_text('{"mine": 1}')
    with pytest.raises(SystemExit, match=f'mmseg-ood-test: error: --out-json '
                       f'{out} already exists; pass --overwrite'):
        test_tool.main(['nope.py', 'x.pth', '--out-json', str(out)])
    csv = tmp_path / 'anomaly_sets.csv'
    (tmp_path / 'other.json').unlink(missing_ok=True)
    csv.write_text('mine')
    with pytest.raises(SystemExit, match=f'--out-csv {csv} already exists'):
        test_tool.main(['nope.py', 'x.pth', '--out-json',
                        str(tmp_path / 'other.json')])
    assert out.read_text() == '{"mine": 1}' and csv.read_text() == 'mine'
    # with --overwrite the next check is the config's
    with pytest.raises(SystemExit, match="Config file 'nope.py' does not"):
        test_tool.main(['nope.py', 'x.pth', '--out-json', str(out),
                        '--overwrite'])


def test_a_truncated_checkpoint_is_named(tmp_path):
    cut = tmp_path / 'iter_8000.pth'
    torch.save(dict(state_dict={'w': torch.zeros(1000)}), cut)
    data = cut.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(SystemExit, match=f'mmseg-ood-test: error: {cut} is '
                       'not a readable checkpoint'):
        test_tool.main([DEMO, str(cut)])


@pytest.fixture(scope='module')
def other_checkpoint(tmp_path_factory):
    """A demo-model checkpoint whose heads have 5 classes, not 19."""
    cfg = Config.fromfile(demo_config(
        'deeplabv3plus_balanced_energy_demo.py'))
    cfg.model.decode_head.num_classes = 5
    cfg.model.auxiliary_head.num_classes = 5
    cfg.model.decode_head.loss_decode = dict(type='InlierCrossEntropyLoss')
    model = MODELS.build(cfg.model)
    path = tmp_path_factory.mktemp('other') / 'five_classes.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return str(path)


@pytest.mark.slow
def test_a_checkpoint_of_another_model_is_an_error_unless_allowed(
        demo_cwd, other_checkpoint, tmp_path):
    # before: a full table of results from a partly random model
    sml = tmp_path / 'sml.json'
    sml.write_text(json.dumps(dict(mean=[0.0] * 19, std=[1.0] * 19,
                                   global_mean=0.0, global_std=1.0)))
    options = ['--sets', 'road_anomaly', '--work-dir', str(tmp_path / 'w'),
               '--cfg-options', f'test_evaluator.1.score.statistics={sml}'
               ] + FAST
    with pytest.raises(SystemExit) as error:
        test_tool.main([DEMO, other_checkpoint] + options + named('other'))
    message = str(error.value)
    assert message.startswith(f'mmseg-ood-test: error: {other_checkpoint} '
                              'does not fit the model of the config')
    assert '--allow-partial-checkpoint' in message
    out = tmp_path / 'partial.json'
    test_tool.main([DEMO, other_checkpoint, '--allow-partial-checkpoint',
                    '--out-json', str(out)] + options + named('partial'))
    record = json.loads(out.read_text())
    fit = record['checkpoint_fit']
    assert fit['partial'] and fit['checkpoint'] == other_checkpoint
    # what produced the results, by content
    made = record['provenance']
    with open(DEMO, 'rb') as f:
        assert made['config_sha256'] == hashlib.sha256(f.read()).hexdigest()
    assert made['checkpoint']['size'] == osp.getsize(other_checkpoint)
    assert made['cfg_options']['test_evaluator.1.score.statistics'] == str(
        sml)
    assert made['cfg_options']['experiment_name'] == 'partial'
    assert any('decode_head.conv_seg.weight' in m
               for m in fit['shape_mismatch'])
