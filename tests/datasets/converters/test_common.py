"""Output handling shared by the converters: refuse, replace, atomicity."""
import os
import os.path as osp
import shutil

import cv2
import pytest

from mmseg_ood.datasets.converters import (
    LabelValueError,
    convert_road_anomaly,
    read_dataset_record,
)

from .helpers import read


def _convert(demo_world, out, **kwargs):
    return convert_road_anomaly(demo_world['road_anomaly_raw'], str(out),
                                show_progress=False, **kwargs)


def test_refuses_a_foreign_folder_even_with_overwrite(demo_world, tmp_path):
    out = tmp_path / 'mine'
    out.mkdir()
    (out / 'keep.txt').write_text('mine')
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match='not written by'):
            _convert(demo_world, out, overwrite=overwrite)
    assert os.listdir(out) == ['keep.txt']
    assert sorted(os.listdir(tmp_path)) == ['mine']


def test_existing_output_needs_overwrite(demo_world, tmp_path):
    out = tmp_path / 'ra'
    _convert(demo_world, out)
    marker = out / 'labels' / 'extra.png'
    marker.write_bytes(b'x')
    with pytest.raises(FileExistsError, match='--overwrite'):
        _convert(demo_world, out)
    assert marker.exists()
    _convert(demo_world, out, overwrite=True)
    assert not marker.exists()
    assert read_dataset_record(str(out))['num_images'] == 2
    (tmp_path / 'empty').mkdir()  # an empty folder is fine
    _convert(demo_world, tmp_path / 'empty')
    assert sorted(os.listdir(tmp_path)) == ['empty', 'ra']


def test_failure_midway_keeps_the_old_output(demo_world, tmp_path):
    out = tmp_path / 'ra'
    _convert(demo_world, out)
    before = sorted(os.listdir(out / 'labels'))
    raw = tmp_path / 'raw'
    shutil.copytree(demo_world['road_anomaly_raw'], raw)
    last = sorted((raw / 'frames').glob('*.labels'))[-1]
    label = read(last / 'labels_semantic.png')
    label[0, 0] = 9
    cv2.imwrite(str(last / 'labels_semantic.png'), label)
    with pytest.raises(LabelValueError):
        convert_road_anomaly(str(raw), str(out), overwrite=True,
                             show_progress=False)
    assert sorted(os.listdir(out / 'labels')) == before
    assert sorted(os.listdir(tmp_path)) == ['ra', 'raw']


def test_broken_record_is_reported(tmp_path):
    (tmp_path / 'DATASET.json').write_text('{not json')
    with pytest.raises(ValueError, match='not valid JSON'):
        read_dataset_record(str(tmp_path))
    assert read_dataset_record(str(tmp_path / 'none')) is None
    assert osp.isdir(tmp_path)
