"""The README's quick start on MMSeg's own configs, end to end.

Each MMSeg config is switched on by ``mmseg-ood-switch-on`` as written in
the README, then trains 2 iterations with ``mmseg-ood-train`` on the demo
world (laid out as ``data/`` like the real data) and validates on its
Fishyscapes L&F-layout set. Test-only ``--cfg-options`` make the models CPU
sized (small crops, no pretrained weights, every frame pasted); the
OutlierExposureCheckHook's count proves that outlier pixels reached the
outlier loss of the scored head.
"""
import os
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmseg_ood.cli import switch_on as switch_on_tool
from mmseg_ood.cli import test as test_tool
from mmseg_ood.cli import train as train_tool

from ..conftest import REPO_ROOT

pytestmark = pytest.mark.slow

#: MMSeg config -> (the scored head's outlier loss, extra test options):
#: a decode head with an auxiliary head, a model without one, a list of
#: decode heads, lists of auxiliary heads (one deriving its own targets,
#: with OHEM samplers), a point cascade and UPerNet.
CONFIGS = {
    'pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py':
    ('decode_head.loss_decode.1', []),
    'segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py':
    ('decode_head.loss_decode.1',
     ['model.backbone.init_cfg=None', 'model.test_cfg.mode=whole']),
    'ocrnet/ocrnet_hr18s_4xb2-80k_cityscapes-512x1024.py':
    ('decode_head.1.loss_decode.1', []),
    'bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py':
    ('decode_head.loss_decode.1', []),
    'stdc/stdc1_4xb12-80k_cityscapes-512x1024.py':
    ('decode_head.loss_decode.1', []),
    'point_rend/pointrend_r50_4xb2-80k_cityscapes-512x1024.py':
    ('decode_head.0.loss_decode.1', []),
    'upernet/upernet_r18_4xb2-80k_cityscapes-512x1024.py':
    ('decode_head.loss_decode.1', []),
}
#: Where MMSeg's Cityscapes training pipeline has its resize and crop once
#: the paste is in (LoadImageFromFile, LoadAnnotations, PasteCocoObjects).
RESIZE, CROP = 3, 4
#: The test sets the command writes by default.
SETS = ('fs_laf', 'fs_static', 'road_anomaly')


def cpu_sized(name, *extra, val_sets=('fs_laf', )):
    """Test-only options: tiny crops, no downloads, 2 iterations."""
    return [
        '--cfg-options', 'model.pretrained=None',
        'model.data_preprocessor.size=(32,64)',
        f'train_dataloader.dataset.pipeline.{RESIZE}.scale=(128,64)',
        f'train_dataloader.dataset.pipeline.{CROP}.crop_size=(32,64)',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        *[f'val_dataloader.{s}.num_workers=0' for s in val_sets],
        'train_cfg.max_iters=2',
        'train_cfg.val_interval=2', 'default_hooks.logger.interval=1',
        'custom_hooks.0.check_iters=2', 'randomness.seed=0',
        f'experiment_name={name}', f'visualizer.name={name}', *extra
    ]


@pytest.fixture
def data_cwd(demo_world, tmp_path, monkeypatch):
    """A working folder whose ``data/`` is the demo world: data/cityscapes,
    data/coco (with the bank), data/fishyscapes/LostAndFound, ..."""
    os.symlink(demo_world['root'], tmp_path / 'data')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('LOCAL_RANK', '0')
    return tmp_path


def log_text(work_dir):
    runs = sorted(d for d in os.listdir(work_dir) if d[:1].isdigit()
                  and osp.isdir(osp.join(work_dir, d)))
    with open(osp.join(work_dir, runs[-1], runs[-1] + '.log')) as f:
        return f.read()


def outlier_pixels(log):
    found = re.search(r'OutlierExposureCheckHook: (\d+) outlier pixels '
                      r'reached model\.(\S+) in the first 2 iteration', log)
    assert found, log[-3000:]
    return int(found.group(1)), found.group(2)


@pytest.fixture
def quick_config_dumps(monkeypatch):
    """The Runner formats the whole config with yapf three times per run
    (log, dump, visualizer): 10 s of a 20 s run here. These tests read no
    dump; the README's run keeps the real ones."""
    monkeypatch.setattr(Config, 'pretty_text',
                        property(lambda self: repr(self.to_dict())))


@pytest.mark.parametrize('name', CONFIGS)
def test_an_mmseg_config_switched_on_trains_and_validates(
        data_cwd, quick_config_dumps, name):
    scored, extra = CONFIGS[name]
    run = name.split('/')[1][:-3]
    switch_on_tool.main([f'mmseg::{name}', f'{run}_ood.py', '--prob', '1',
                         '--test-scale', '128', '64'])
    work = data_cwd / 'work'
    train_tool.main([f'{run}_ood.py', '--work-dir', str(work)] +
                    cpu_sized(run, 'default_hooks.checkpoint.save_last=False',
                              'default_hooks.checkpoint.save_best=None',
                              *extra))
    log = log_text(work)
    pixels, loss = outlier_pixels(log)
    assert pixels > 0 and loss == scored
    # the scored head's outlier loss trained, the inlier CE beside it
    prefix = 'decode_1' if scored.startswith('decode_head.1') else \
        'decode_0' if scored.startswith('decode_head.0') else 'decode'
    assert re.search(rf'Iter\(train\) \[2/2\].*{prefix}\.'
                     r'loss_balanced_energy: \d', log)
    assert 'Iter(train) [3/2]' not in log
    # validated on the demo world's FS L&F-layout set (3 images)
    assert "Anomaly set 'fs_laf': 3 images (AnomalyDataset" in log
    assert re.search(r'fs_laf/AP: \d+\.\d+', log)


def readme_quick_start():
    """The bash and Python blocks of the README's quick start."""
    text = (REPO_ROOT / 'README.md').read_text()
    section = text.split('## Quick start in your own MMSeg config')[1]
    section = section.split('\n## ')[0]
    blocks = re.findall(r'```(bash|python)\n(.*?)```', section, re.S)
    bash = [b for kind, b in blocks if kind == 'bash'][0]
    python = [b for kind, b in blocks if kind == 'python'][0]
    commands = [line.split('#')[0].strip() for line in bash.splitlines()]
    return [shlex.split(c) for c in commands if c], python


def test_the_readme_quick_start(data_cwd, capsys):
    commands, excerpt = readme_quick_start()
    names = [c[0] for c in commands]
    assert names == ['mmseg-ood-switch-on', 'mmseg-ood-coco-bank',
                     'mmseg-ood-train', 'mmseg-ood-test']
    switch, _, train, test = commands
    # 1. exactly the README's command, on MMSeg's own config
    assert switch[1].startswith('mmseg::')
    switch_on_tool.main(switch[1:])
    written = (data_cwd / switch[2]).read_text()
    # the README shows what the command writes
    lines = written.splitlines()
    at = 0
    for line in excerpt.splitlines():
        if line.strip() in ('', '...'):
            continue
        assert line in lines[at:], line
        at = lines.index(line, at) + 1
    # 2. the COCO bank: the demo world's is built (data/coco)
    assert commands[1][1:] == ['data/coco']
    assert osp.isfile('data/coco/annotations/ood_seg_train2017.json')
    # 3. training: the README's command plus CPU-sized test options; the
    # paste at the README's probability (0.1) may miss 4 frames, so the
    # test pastes every frame
    work = data_cwd / 'work_dirs' / 'my_pspnet_ood'
    assert train[1:] == [switch[2]]
    small_sets = [f'{stage}_dataloader.{s}.dataset.pipeline.1.scale=(128,64)'
                  for stage, names in (('val', ['fs_laf']), ('test', SETS))
                  for s in names]
    train_tool.main(train[1:] + cpu_sized(
        'readme', 'train_dataloader.dataset.pipeline.2.prob=1.0',
        *small_sets))
    log = log_text(work)
    assert outlier_pixels(log)[0] > 0
    assert 'fs_laf/AP' in log
    # 4. the test run on the README's sets, with the last checkpoint
    assert test[1] == switch[2]
    assert test[2].startswith('work_dirs/my_pspnet_ood/iter_')
    metrics = test_tool.main(
        [test[1], str(work / 'iter_2.pth')] + test[3:] +
        ['--cfg-options', 'experiment_name=readme_test',
         'visualizer.name=readme_test'] + small_sets +
        [f'test_dataloader.{s}.num_workers=0' for s in SETS])
    assert {k.split('/')[0] for k in metrics} == set(SETS)
    assert 'results written to' in capsys.readouterr().out


def test_the_checks_stop_mmseg_own_train_tool(data_cwd):
    """A switched-on config whose pipeline lost the paste (an edit after
    the command) stops MMSeg's tools/train.py before the first iteration,
    through the hook the config lists."""
    name = 'pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py'
    switch_on_tool.main([f'mmseg::{name}', 'edited.py'])
    text = (data_cwd / 'edited.py').read_text()
    paste = "    dict(type='PasteCocoObjects', data_root='data/coco', " \
        "prob=0.1),\n"
    assert paste in text
    (data_cwd / 'edited.py').write_text(text.replace(paste, ''))
    import mmseg
    tool = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'train.py')
    proc = subprocess.run(
        [sys.executable, tool, 'edited.py', '--work-dir', 'mmseg_work',
         '--cfg-options', 'model.pretrained=None',
         'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False'],
        cwd=data_cwd, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode != 0
    assert 'OutlierExposureError' in proc.stderr
    assert ('model.decode_head.loss_decode.1 (BalancedEnergyLoss)'
            in proc.stderr)
    assert 'train_dataloader.dataset.pipeline' in proc.stderr
    assert 'Iter(train)' not in proc.stdout + proc.stderr


def test_validation_on_mmseg_cityscapes_val_stops_before_training(
        data_cwd, quick_config_dumps):
    """The anomaly metric on MMSeg's own Cityscapes val (19 classes) used to
    crash at the first validation, hours in; now before iteration 1."""
    name = 'pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py'
    switch_on_tool.main([f'mmseg::{name}', 'city_val.py'])
    text = (data_cwd / 'city_val.py').read_text()
    kept = [line for line in text.splitlines()
            if not line.startswith(('val_dataloader =', 'val_cfg =',
                                    'default_hooks ='))]
    (data_cwd / 'city_val.py').write_text('\n'.join(kept) + '\n')
    work = data_cwd / 'work'
    with pytest.raises(SystemExit) as error:
        train_tool.main(['city_val.py', '--work-dir', str(work)] +
                        cpu_sized('city_val', 'val_dataloader.num_workers=0',
                                  'val_dataloader.persistent_workers=False',
                                  val_sets=()))
    message = str(error.value)
    assert message.startswith('mmseg-ood-train: error: val_dataloader '
                              '(CityscapesDataset, data/cityscapes/) is '
                              'validated with the anomaly metric')
    assert 'not an anomaly set' in message
    assert 'Iter(train)' not in log_text(work)


def test_bad_input_is_one_line(data_cwd):
    with pytest.raises(SystemExit, match=r"mmseg-ood-switch-on: error: "
                       r"--val-sets \['cityscapes'\]: name one or more of"):
        switch_on_tool.main(['mmseg::pspnet/pspnet_r18-d8_4xb2-80k_'
                             'cityscapes-512x1024.py', 'x.py', '--val-sets',
                             'cityscapes'])
    assert not osp.exists('x.py')
