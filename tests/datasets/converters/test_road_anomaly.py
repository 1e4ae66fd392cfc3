"""Road Anomaly converter: value mapping, round trip, layout errors."""
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from mmseg.registry import DATASETS

from mmseg_ood.datasets.converters import (
    DATASET_RECORD,
    DatasetLayoutError,
    LabelValueError,
    convert_road_anomaly,
)
from mmseg_ood.datasets.set_specs import get_set_spec

from .helpers import assert_same_pixels, file_bytes, listing, read


def test_value_mapping_pixelwise():
    raw = np.array([[0, 1, 2], [255, 2, 0]], np.uint8)
    expected = np.array([[0, 0, 1], [255, 1, 0]], np.uint8)
    mapped = get_set_spec('road_anomaly').labels.apply(raw, 'raw.png')
    np.testing.assert_array_equal(mapped, expected)
    with pytest.raises(LabelValueError, match=r'raw.png holds label values '
                       r'\[3\]'):
        get_set_spec('road_anomaly').labels.apply(raw + 3 * (raw == 0),
                                                  'raw.png')


def test_gives_back_the_processed_set(demo_world, tmp_path):
    out = str(tmp_path / 'ra')
    record = convert_road_anomaly(demo_world['road_anomaly_raw'], out,
                                  show_progress=False)
    ref = demo_world['road_anomaly']
    assert listing(osp.join(out, 'original')) == \
        listing(osp.join(ref, 'original'))
    for name in listing(osp.join(ref, 'original')):
        assert file_bytes(osp.join(out, 'original', name)) == \
            file_bytes(osp.join(ref, 'original', name))
        stem = osp.splitext(name)[0] + '.png'
        assert_same_pixels(read(osp.join(out, 'labels', stem)),
                           read(osp.join(ref, 'labels', stem)))
    assert record['raw_values_seen'] == [0, 1, 2]
    with open(osp.join(out, DATASET_RECORD)) as f:
        assert json.load(f)['img_suffix'] == '.jpg'
    dataset = DATASETS.build(
        dict(type='AnomalyDataset', data_root=out, pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')
        ]))
    assert len(dataset) == 2 and dataset.metainfo['anomaly_set']['name'] == \
        'Road Anomaly'
    assert set(dataset[0]['data_samples'].gt_sem_seg.data.unique().tolist()
               ) == {0, 1}


def test_without_frame_list_the_frames_are_globbed(demo_world, tmp_path):
    root = tmp_path / 'RoadAnomaly_jpg'
    shutil.copytree(demo_world['road_anomaly_raw'], root)
    os.remove(root / 'frame_list.json')
    record = convert_road_anomaly(str(root), str(tmp_path / 'o'),
                                  show_progress=False)
    assert record['num_images'] == 2


def test_layout_and_value_errors(demo_world, tmp_path):
    root = tmp_path / 'RoadAnomaly_jpg'
    shutil.copytree(demo_world['road_anomaly_raw'], root)
    frames = root / 'frames'
    name = sorted(frames.glob('*.jpg'))[0].stem
    label_path = frames / f'{name}.labels' / 'labels_semantic.png'
    raw = read(label_path)
    raw[0, 0] = 3
    cv2.imwrite(str(label_path), raw)
    with pytest.raises(LabelValueError, match='values \\[3\\]'):
        convert_road_anomaly(str(root), str(tmp_path / 'o'),
                             show_progress=False)
    shutil.rmtree(frames / f'{name}.labels')
    with pytest.raises(DatasetLayoutError,
                       match='(?s)1 of 2 frames.*have no label.*'
                       'labels_semantic.png'):
        convert_road_anomaly(str(root), str(tmp_path / 'o'),
                             show_progress=False)
    with open(root / 'frame_list.json', 'w') as f:
        json.dump(['gone.jpg'], f)
    with pytest.raises(DatasetLayoutError, match='gone.jpg'):
        convert_road_anomaly(str(root), str(tmp_path / 'o'),
                             show_progress=False)
    with pytest.raises(DatasetLayoutError,
                       match='(?s)No frames/ folder.*RoadAnomaly_jpg'):
        convert_road_anomaly(str(tmp_path), str(tmp_path / 'o'),
                             show_progress=False)
    assert not osp.exists(tmp_path / 'o')


def test_a_label_without_its_frame_is_an_error(demo_world, tmp_path):
    root = tmp_path / 'RoadAnomaly_jpg'
    shutil.copytree(demo_world['road_anomaly_raw'], root)
    os.remove(root / 'frame_list.json')
    frame = sorted((root / 'frames').glob('*.jpg'))[0]
    os.remove(frame)  # its labels stay
    with pytest.raises(DatasetLayoutError,
                       match=f'(?s)1 label folder.*have no frame.*'
                       f'{frame.stem}.labels'):
        convert_road_anomaly(str(root), str(tmp_path / 'o'),
                             show_progress=False)
    assert not osp.exists(tmp_path / 'o')
