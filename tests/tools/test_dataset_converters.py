"""The dataset-converter command lines on the demo world's raw layouts."""
import importlib.util
import os.path as osp

import pytest

from ..conftest import REPO_ROOT


def load_tool(name):
    path = REPO_ROOT / 'tools' / 'dataset_converters' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(f'tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fishyscapes_laf_and_static(demo_world, tmp_path, capsys):
    tool = load_tool('fishyscapes')
    out = str(tmp_path / 'laf')
    tool.main(['laf', demo_world['fs_laf_labels'], demo_world['laf'], out,
               '--no-progress'])
    text = capsys.readouterr().out
    assert 'Fishyscapes Lost & Found val: 3 images' in text
    assert f"dict(type='FishyscapesDataset', data_root={out!r})" in text
    with pytest.raises(SystemExit, match='--overwrite'):
        tool.main(['laf', demo_world['fs_laf_labels'], demo_world['laf'],
                   out, '--no-progress'])
    tool.main(['laf', demo_world['fs_laf_labels'], demo_world['laf'], out,
               '--no-progress', '--overwrite'])
    static = str(tmp_path / 'static')
    tool.main(['static', demo_world['fs_static_v3'], demo_world['cityscapes'],
               static, '--version', 'v3', '--no-progress'])
    assert 'Fishyscapes Static val (v3): 2 images' in capsys.readouterr().out
    with pytest.raises(SystemExit) as err:  # the version is required
        tool.main(['static', demo_world['fs_static_v3'],
                   demo_world['cityscapes'], str(tmp_path / 's2')])
    assert err.value.code == 2
    with pytest.raises(SystemExit, match='(?s)error:.*Expected layout'):
        tool.main(['laf', str(tmp_path), demo_world['laf'],
                   str(tmp_path / 'x')])
    assert not osp.exists(tmp_path / 'x')


def test_road_anomaly(demo_world, tmp_path, capsys):
    tool = load_tool('road_anomaly')
    out = str(tmp_path / 'ra')
    tool.main([demo_world['road_anomaly_raw'], out])
    text = capsys.readouterr().out
    assert 'Road Anomaly: 2 images' in text and '[0, 1, 2]' in text
    assert f"dict(type='RoadAnomalyDataset', data_root={out!r})" in text
    with pytest.raises(SystemExit, match='(?s)No frames/ folder.*'
                       'labels_semantic.png'):
        tool.main([str(tmp_path), str(tmp_path / 'x')])


def test_lost_and_found_no_known(demo_world, tmp_path, capsys):
    tool = load_tool('lost_and_found')
    out = str(tmp_path / 'nk')
    tool.main([demo_world['laf'], out, '--no-progress'])
    text = capsys.readouterr().out
    assert 'Lost & Found testNoKnown: 3 of 5 test frames' in text
    assert "track='LostAndFound-testNoKnown'" in text
    with pytest.raises(SystemExit, match='gtCoarse/test'):
        tool.main([str(tmp_path), str(tmp_path / 'x')])
