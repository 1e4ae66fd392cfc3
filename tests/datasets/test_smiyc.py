"""SMIYCDataset reads the SegmentMeIfYouCan releases as downloaded."""
import os
import shutil

import cv2
import numpy as np
import pytest
from mmseg.registry import DATASETS

from mmseg_ood.datasets.converters import convert_laf_test_no_known

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


def build(**cfg):
    return DATASETS.build(dict(type='SMIYCDataset', pipeline=PIPELINE, **cfg))


@pytest.mark.parametrize('track,key,suffix', [
    ('RoadAnomaly21', 'smiyc_anomaly', '.jpg'),
    ('RoadObstacle21', 'smiyc_obstacle', '.webp'),
])
def test_reads_validation_frames_only(demo_world, track, key, suffix):
    dataset = build(track=track, data_root=demo_world[key])
    images = sorted(os.listdir(os.path.join(demo_world[key], 'images')))
    assert len(images) == 3  # two validation frames + one test frame
    assert len(dataset) == 2
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        name = os.path.basename(info['img_path'])
        assert name.startswith('validation') and name.endswith(suffix)
        assert info['seg_map_path'].endswith(
            name[:-len(suffix)] + '_labels_semantic.png')
    sample = dataset[0]['data_samples']
    assert sample.gt_sem_seg.shape == sample.ori_shape
    label = cv2.imread(dataset.get_data_info(0)['seg_map_path'],
                       cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(sample.gt_sem_seg.data[0].numpy(), label)
    assert dataset.metainfo['set_name'].startswith('SegmentMeIfYouCan')
    assert dataset.metainfo['classes'] == ('inlier', 'anomaly')


def test_obstacle_track_excludes_the_benchmark_frames(demo_world, tmp_path):
    root = tmp_path / 'dataset_ObstacleTrack'
    shutil.copytree(demo_world['smiyc_obstacle'], root)
    src = root / 'images' / 'validation_1.webp'
    lab = root / 'labels_masks' / 'validation_1_labels_semantic.png'
    for n in (19, 20, 25):
        shutil.copy(src, root / 'images' / f'validation_{n}.webp')
    # validation_20 is kept and needs a label; 19 and 25 are excluded and
    # need none
    shutil.copy(lab, root / 'labels_masks' / 'validation_20_labels_semantic'
                '.png')
    dataset = build(track='RoadObstacle21', data_root=str(root))
    names = sorted(os.path.basename(dataset.get_data_info(i)['img_path'])
                   for i in range(len(dataset)))
    assert names == ['validation_1.webp', 'validation_2.webp',
                     'validation_20.webp']


def test_missing_label_and_wrong_root(demo_world, tmp_path):
    root = tmp_path / 'dataset_AnomalyTrack'
    shutil.copytree(demo_world['smiyc_anomaly'], root)
    os.remove(root / 'labels_masks' / 'validation0001_labels_semantic.png')
    with pytest.raises(FileNotFoundError,
                       match='(?s)1 of 2 images.*validation0001_labels_'
                       'semantic.png.*labels_masks/validation0000'):
        build(track='RoadAnomaly21', data_root=str(root))
    with pytest.raises(FileNotFoundError,
                       match='(?s)does not exist.*dataset_ObstacleTrack/'):
        build(track='RoadObstacle21', data_root=str(tmp_path))


def test_no_known_reads_the_converter_output(demo_world, tmp_path):
    out = str(tmp_path / 'nk')
    record = convert_laf_test_no_known(demo_world['laf'], out,
                                       show_progress=False)
    dataset = build(track='LostAndFound-testNoKnown', layout='processed',
                    data_root=out)
    assert len(dataset) == record['num_images']
    assert dataset.metainfo['set_name'] == 'Lost & Found testNoKnown'
    sample = dataset[0]['data_samples']
    assert sample.gt_sem_seg.shape == sample.ori_shape
    with pytest.raises(ValueError, match='lost_and_found.py'):
        build(track='LostAndFound-testNoKnown', data_root=out)


def test_argument_errors(demo_world):
    with pytest.raises(ValueError, match='track must be one of'):
        build(track='RoadAnomaly', data_root=demo_world['smiyc_anomaly'])
    with pytest.raises(ValueError, match='layout must be one of'):
        build(track='RoadAnomaly21', layout='raw',
              data_root=demo_world['smiyc_anomaly'])
