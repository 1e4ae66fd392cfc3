"""Converted folders of non-default frame formats load without img_suffix:
the converters record the (lower-case) suffix, the datasets read it."""
import json
import os
import os.path as osp
import shutil

import cv2
import pytest
from mmseg.registry import DATASETS

from mmseg_ood.datasets.converters import (
    DATASET_RECORD,
    convert_laf_test_no_known,
    convert_road_anomaly,
)

from .helpers import listing


def _reencode(path, new_ext):
    """Write ``path``'s pixels as ``<stem><new_ext>`` and delete it."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    new = osp.splitext(str(path))[0] + new_ext
    # encode by the lower-case suffix, then give the file its real name
    tmp = osp.splitext(str(path))[0] + '.tmp' + new_ext.lower()
    assert cv2.imwrite(tmp, image)
    os.remove(path)
    os.rename(tmp, new)
    return new


def _build(**cfg):
    return DATASETS.build(dict(pipeline=[], **cfg))


@pytest.mark.parametrize('ext,expected', [('.webp', '.webp'),
                                          ('.JPG', '.jpg')])
def test_road_anomaly_release_formats(demo_world, tmp_path, ext, expected):
    root = tmp_path / 'RoadAnomaly'
    shutil.copytree(demo_world['road_anomaly_raw'], root)
    os.remove(root / 'frame_list.json')  # it names the .jpg files
    frames = sorted((root / 'frames').glob('*.jpg'))
    assert len(frames) == 2
    for frame in frames:
        _reencode(frame, ext)
    out = str(tmp_path / 'ra')
    record = convert_road_anomaly(str(root), out, show_progress=False)
    assert record['img_suffix'] == expected
    with open(osp.join(out, DATASET_RECORD)) as f:
        assert json.load(f)['img_suffix'] == expected
    assert [osp.splitext(n)[1] for n in listing(osp.join(out, 'original'))
            ] == [expected] * 2
    dataset = _build(type='AnomalyDataset', data_root=out)
    assert len(dataset) == 2
    for i in range(2):
        path = dataset.get_data_info(i)['img_path']
        assert path.endswith(expected)
        assert cv2.imread(path) is not None
    # an explicit img_suffix still wins over the record
    if expected != '.jpg':
        with pytest.raises(FileNotFoundError, match=r'No \*\.jpg image'):
            _build(type='AnomalyDataset', data_root=out, img_suffix='.jpg')


def test_lost_and_found_webp_frames(demo_world, tmp_path):
    root = tmp_path / 'laf'
    shutil.copytree(demo_world['laf'], root)
    frames = sorted((root / 'leftImg8bit' / 'test').glob('*/*.png'))
    assert frames
    for frame in frames:
        _reencode(frame, '.webp')
    out = str(tmp_path / 'nk')
    record = convert_laf_test_no_known(str(root), out, show_progress=False)
    assert record['img_suffix'] == '.webp'
    dataset = _build(type='AnomalyDataset', data_root=out)
    assert len(dataset) == record['num_images'] > 0
    assert all(
        dataset.get_data_info(i)['img_path'].endswith('.webp')
        for i in range(len(dataset)))
    with pytest.raises(FileNotFoundError, match=r'No \*\.png image'):
        _build(type='AnomalyDataset', data_root=out, img_suffix='.png')


def test_without_record_the_set_default_applies(demo_world, tmp_path):
    root = tmp_path / 'ra'
    shutil.copytree(demo_world['road_anomaly'], root)
    if (root / DATASET_RECORD).exists():
        os.remove(root / DATASET_RECORD)
    dataset = _build(type='AnomalyDataset', benchmark='road_anomaly',
                     data_root=str(root))
    assert dataset.img_suffix == '.jpg' and len(dataset) == 2
    (root / DATASET_RECORD).write_text(json.dumps(
        dict(format='mmseg_ood.anomaly_set', img_suffix=7)))
    with pytest.raises(ValueError, match='img_suffix=7'):
        _build(type='AnomalyDataset', benchmark='road_anomaly',
               data_root=str(root))
