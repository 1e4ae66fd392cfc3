"""The anomaly-set catalogue ships in the package: a config beside an MMSeg
base imports it, from an editable and from a regular install."""
import os
import shutil
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmseg_ood.configs import (
    anomaly_catalogue,
    anomaly_test_pipeline,
    several_sets,
)
from mmseg_ood.engine.loops import set_configs

from ..conftest import CONFIG_DIR, REPO_ROOT

PSPNET = 'mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py'

#: A user's config: an MMSeg base, then the package's pieces.
USER_CONFIG = f"""_base_ = [{PSPNET!r}]
from mmseg_ood.configs import anomaly_catalogue, several_sets  # noqa: E402

anomaly_sets = anomaly_catalogue(data_root='sets', scale=(512, 256))
val_dataloader = several_sets(anomaly_sets, ['fs_laf'])
test_dataloader = several_sets(anomaly_sets,
                               ['road_anomaly', 'smiyc_obstacle'])
val_cfg = dict(type='AnomalySetsValLoop')
test_cfg = dict(type='AnomalySetsTestLoop')
"""


def test_the_catalogue_holds_every_set_in_the_table_layout():
    sets = anomaly_catalogue(data_root='sets', scale=(512, 256))
    assert list(sets) == ['fs_laf', 'fs_static', 'road_anomaly',
                          'smiyc_anomaly', 'smiyc_obstacle', 'laf_noknown']
    roots = {name: loader['dataset']['data_root']
             for name, loader in sets.items()}
    assert roots == {
        'fs_laf': 'sets/fishyscapes/LostAndFound',
        'fs_static': 'sets/fishyscapes/Static',
        'road_anomaly': 'sets/road_anomaly',
        'smiyc_anomaly': 'sets/smiyc/dataset_AnomalyTrack',
        'smiyc_obstacle': 'sets/smiyc/dataset_ObstacleTrack',
        'laf_noknown': 'sets/smiyc/LostAndFound-testNoKnown',
    }
    loader = sets['fs_laf']
    assert loader['batch_size'] == 1
    assert loader['sampler'] == dict(type='DefaultSampler', shuffle=False,
                                     round_up=False)
    assert loader['dataset']['benchmark'] == 'fs_laf'
    assert loader['dataset']['pipeline'] == anomaly_test_pipeline((512, 256))
    # labels are loaded after the resize: they stay at native size
    steps = [t['type'] for t in anomaly_test_pipeline()]
    assert steps.index('LoadAnnotations') > steps.index('Resize')
    # without data_root the dataset reads the table's own folder
    assert 'data_root' not in anomaly_catalogue()['fs_laf']['dataset']


def test_each_call_gives_its_own_copies():
    first = anomaly_catalogue()
    first['fs_laf']['dataset']['pipeline'].clear()
    chosen = several_sets(first, ['road_anomaly'])
    chosen['road_anomaly']['batch_size'] = 8
    again = anomaly_catalogue()
    assert len(again['fs_laf']['dataset']['pipeline']) == 4
    assert first['road_anomaly']['batch_size'] == 1
    with pytest.raises(KeyError, match=r"\['nope'\]"):
        several_sets(again, ['nope'])
    with pytest.raises(KeyError, match=r"\['nope'\]"):
        anomaly_catalogue(sets=['nope'])


def test_a_config_beside_an_mmseg_base_gets_the_sets(tmp_path):
    path = tmp_path / 'user.py'
    path.write_text(USER_CONFIG)
    cfg = Config.fromfile(str(path))
    # the sets replaced MMSeg's Cityscapes val/test dataloaders entirely
    assert set(cfg.val_dataloader) == {'fs_laf'}
    assert set(cfg.test_dataloader) == {'road_anomaly', 'smiyc_obstacle'}
    assert cfg.val_dataloader.fs_laf.dataset.data_root == \
        'sets/fishyscapes/LostAndFound'
    assert cfg.val_cfg.type == 'AnomalySetsValLoop'
    assert len(cfg.anomaly_sets) == 6
    # the imported functions are not config keys
    assert 'anomaly_catalogue' not in cfg and 'several_sets' not in cfg


def test_the_loops_ignore_a_delete_key_left_without_a_base():
    # MMEngine keeps `_delete_` where the base had no such dataloader
    loaders = several_sets(anomaly_catalogue(), ['fs_laf', 'road_anomaly'])
    metric = dict(_delete_=True, type='AnomalyMetric', score=dict(
        type='EnergyScore', num_classes=19))
    sets = set_configs(loaders, metric, 'val')
    assert list(sets) == ['fs_laf', 'road_anomaly']
    assert sets['fs_laf'][1] == dict(type='AnomalyMetric', prefix='fs_laf',
                                     score=metric['score'])


def test_the_shipped_base_uses_the_same_catalogue():
    base = Config.fromfile(
        str(CONFIG_DIR / '_base_' / 'datasets' / 'anomaly_sets.py'))
    assert base.anomaly_sets.to_dict() == anomaly_catalogue(
        scale=(2048, 1024))
    assert set(base.test_dataloader) == {'fs_laf', 'fs_static',
                                         'road_anomaly'}
    assert '_delete_' not in base.val_dataloader


@pytest.mark.slow
def test_a_regular_install_ships_the_catalogue(tmp_path):
    """``pip install .`` (not editable) into a folder; a config in another
    folder imports the catalogue from there."""
    source = tmp_path / 'src'
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'],
                           cwd=REPO_ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        if name.startswith(('mmseg_ood/', 'requirements/')) or name in (
                'setup.py', 'README.md'):
            target = source / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, target)
    site = tmp_path / 'site'
    subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps',
         '--no-build-isolation', '--target', str(site), str(source)],
        check=True, capture_output=True, timeout=600)
    assert (site / 'mmseg_ood' / 'configs' / 'anomaly_sets.py').is_file()
    assert not (site / 'mmseg_ood' / '__editable__').exists()
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'user.py').write_text(USER_CONFIG)
    probe = ('import mmseg_ood; from mmengine.config import Config; '
             "cfg = Config.fromfile('user.py'); "
             'print(mmseg_ood.__file__); print(sorted(cfg.test_dataloader))')
    proc = subprocess.run(
        [sys.executable, '-c', probe], cwd=work, capture_output=True,
        text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=str(site)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    module_file, sets = proc.stdout.strip().splitlines()[-2:]
    assert module_file.startswith(str(site))
    assert sets == "['road_anomaly', 'smiyc_obstacle']"
