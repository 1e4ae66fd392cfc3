"""Anomaly datasets read the processed layout and fail clearly when wrong."""
import os
import shutil

import cv2
import numpy as np
import pytest
from mmseg.registry import DATASETS


def build(type_, data_root):
    return DATASETS.build(dict(type=type_, data_root=data_root, pipeline=[]))


def test_reads_pairs_of_the_demo_world(demo_world):
    fs = build('FishyscapesDataset', demo_world['fs_laf'])
    assert len(fs) == 3
    ra = build('RoadAnomalyDataset', demo_world['road_anomaly'])
    assert len(ra) == 2
    for dataset in (fs, ra):
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            image = cv2.imread(info['img_path'])
            label = cv2.imread(info['seg_map_path'], cv2.IMREAD_UNCHANGED)
            assert image.shape[:2] == label.shape
            assert set(np.unique(label)) <= {0, 1, 255}
    assert ra.get_data_info(0)['img_path'].endswith('.jpg')
    assert fs.metainfo['classes'] == ('inlier', 'anomaly')


def test_pipeline_loads_labels_at_native_resolution(demo_world):
    dataset = DATASETS.build(
        dict(
            type='RoadAnomalyDataset',
            data_root=demo_world['road_anomaly'],
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=(128, 64), keep_ratio=True),
                dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')
            ]))
    sample = dataset[0]['data_samples']
    assert sample.gt_sem_seg.shape == sample.ori_shape


def test_missing_folder_names_the_expected_tree(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        build('FishyscapesDataset', str(tmp_path / 'nowhere'))
    message = str(err.value)
    assert 'nowhere' in message and 'original/*.png' in message
    assert 'labels/*.png' in message


def test_missing_label_and_empty_folder(demo_world, tmp_path):
    root = tmp_path / 'fs'
    shutil.copytree(demo_world['fs_laf'], root)
    victim = sorted(os.listdir(root / 'labels'))[1]
    os.remove(root / 'labels' / victim)
    with pytest.raises(FileNotFoundError, match=f'1 of 3 images.*{victim}'):
        build('FishyscapesDataset', str(root))
    shutil.rmtree(root / 'original')
    os.makedirs(root / 'original')
    with pytest.raises(FileNotFoundError, match=r'No \*.png image'):
        build('FishyscapesDataset', str(root))
    # Road Anomaly frames are jpg: png frames are not taken for them.
    with pytest.raises(FileNotFoundError, match=r'No \*.jpg image'):
        build('RoadAnomalyDataset', demo_world['fs_laf'])


def test_set_name_and_version_come_from_the_record(demo_world, tmp_path):
    import json
    root = tmp_path / 'static'
    shutil.copytree(demo_world['fs_static'], root)
    assert build('FishyscapesDataset', str(root)).metainfo['set_name'] == \
        'Fishyscapes'  # a processed copy without record
    (root / 'DATASET.json').write_text(
        json.dumps(dict(format='mmseg_ood.anomaly_set', name='FS Static val',
                        version='v2')))
    dataset = build('FishyscapesDataset', str(root))
    assert dataset.metainfo['set_name'] == 'FS Static val'
    assert dataset.metainfo['set_version'] == 'v2'
    named = DATASETS.build(
        dict(type='FishyscapesDataset', data_root=str(root), pipeline=[],
             set_name='mine'))
    assert named.metainfo['set_name'] == 'mine'
    assert named.metainfo['set_version'] == 'v2'
