"""The converter commands on the demo world's raw layouts and on a tiny
COCO dataset (tests/datasets/fake_coco.py)."""
import os
import os.path as osp

import pytest

from mmseg_ood.cli import (
    coco_ood_bank,
    convert_fishyscapes,
    convert_lost_and_found,
    convert_road_anomaly,
)
from mmseg_ood.datasets.transforms import load_coco_ood_bank

from ..datasets.fake_coco import write_fake_coco


def test_fishyscapes_laf_and_static(demo_world, tmp_path, capsys):
    tool = convert_fishyscapes
    out = str(tmp_path / 'laf')
    tool.main(['laf', demo_world['fs_laf_labels'], demo_world['laf'], out,
               '--no-progress'])
    text = capsys.readouterr().out
    assert 'Fishyscapes Lost & Found val: 3 images' in text
    assert (f"dict(type='AnomalyDataset', benchmark='fs_laf', "
            f'data_root={out!r})') in text
    with pytest.raises(SystemExit, match='mmseg-ood-convert-fishyscapes: '
                       'error: .*--overwrite'):
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
    tool = convert_road_anomaly
    out = str(tmp_path / 'ra')
    tool.main([demo_world['road_anomaly_raw'], out])
    text = capsys.readouterr().out
    assert 'Road Anomaly: 2 images' in text and '[0, 1, 2]' in text
    assert (f"dict(type='AnomalyDataset', benchmark='road_anomaly', "
            f'data_root={out!r})') in text
    with pytest.raises(SystemExit, match='(?s)No frames/ folder.*'
                       'labels_semantic.png'):
        tool.main([str(tmp_path), str(tmp_path / 'x')])


def test_lost_and_found_no_known(demo_world, tmp_path, capsys):
    tool = convert_lost_and_found
    out = str(tmp_path / 'nk')
    tool.main([demo_world['laf'], out, '--no-progress'])
    text = capsys.readouterr().out
    assert 'Lost & Found testNoKnown: 3 of 5 test frames' in text
    assert (f"dict(type='AnomalyDataset', benchmark='laf_noknown', "
            f'data_root={out!r})') in text
    with pytest.raises(SystemExit, match='gtCoarse/test'):
        tool.main([str(tmp_path), str(tmp_path / 'x')])


def test_coco_bank(tmp_path, capsys):
    coco_root = write_fake_coco(str(tmp_path / 'coco'))
    coco_ood_bank.main([coco_root, '--nproc', '1'])
    text = capsys.readouterr().out
    index_file = osp.join(coco_root, 'annotations', 'ood_seg_train2017.json')
    assert f'Index: {index_file}' in text
    assert '3 of 9 images kept' in text
    assert (f"dict(type='PasteCocoObjects', data_root={coco_root!r}, "
            "ann_file='annotations/ood_seg_train2017.json')") in text
    assert len(load_coco_ood_bank(index_file)) == 3
    with pytest.raises(SystemExit) as err:
        coco_ood_bank.main([str(tmp_path / 'empty')])
    assert str(err.value.code).startswith('mmseg-ood-coco-bank: error:')
    assert 'expected a COCO 2017 layout' in str(err.value.code)
    assert not os.path.exists(tmp_path / 'empty')
