"""Output handling shared by the converters: refuse, replace, atomicity;
truncated files, full disks, killed runs."""
import json
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time

import cv2
import pytest

from mmseg_ood.datasets.converters import (
    LabelValueError,
    convert_road_anomaly,
    read_dataset_record,
)
from mmseg_ood.utils.file_io import OutputWriteError
from mmseg_ood.utils.image_files import ImageFileError

from ...utils.test_file_io import file_size_limit
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
    # a file the user added is never deleted: --overwrite names it
    with pytest.raises(FileExistsError, match=r'labels/extra\.png'):
        _convert(demo_world, out, overwrite=True)
    assert marker.read_bytes() == b'x'
    marker.unlink()
    _convert(demo_world, out, overwrite=True)
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


# ---------------------------------------------------------------------------
# Bad files in a release, full disks, killed runs
# ---------------------------------------------------------------------------
def raw_copy(demo_world, dst, copies=1):
    """A copy of the demo Road Anomaly release, its frames repeated
    ``copies`` times under new names."""
    shutil.copytree(demo_world['road_anomaly_raw'], dst)
    frames = dst / 'frames'
    names = sorted(p.name for p in frames.glob('*.jpg'))
    for k in range(1, copies):
        for name in names:
            stem = name[:-4]
            shutil.copy(frames / name, frames / f'{stem}_{k}.jpg')
            shutil.copytree(frames / f'{stem}.labels',
                            frames / f'{stem}_{k}.labels')
    listed = sorted(p.name for p in frames.glob('*.jpg'))
    if (dst / 'frame_list.json').exists():
        (dst / 'frame_list.json').write_text(json.dumps(listed))
    return dst


def truncate(path, share=0.6):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * share)])


def test_a_truncated_frame_is_named_not_copied(demo_world, tmp_path):
    raw = raw_copy(demo_world, tmp_path / 'raw')
    frame = sorted((raw / 'frames').glob('*.jpg'))[-1]
    truncate(frame)
    assert cv2.imread(str(frame)) is not None  # OpenCV: half a grey frame
    with pytest.raises(ImageFileError, match='truncated or corrupt') as error:
        convert_road_anomaly(str(raw), str(tmp_path / 'out'),
                             show_progress=False)
    assert str(frame) in str(error.value)
    assert sorted(os.listdir(tmp_path)) == ['raw']


def test_a_truncated_label_is_named(demo_world, tmp_path):
    raw = raw_copy(demo_world, tmp_path / 'raw')
    label = sorted((raw / 'frames').glob('*.labels'))[0] / \
        'labels_semantic.png'
    truncate(label)
    with pytest.raises(ImageFileError, match='does not decode') as error:
        convert_road_anomaly(str(raw), str(tmp_path / 'out'),
                             show_progress=False)
    assert str(label) in str(error.value)
    assert sorted(os.listdir(tmp_path)) == ['raw']


def test_a_full_disk_names_the_file_and_keeps_the_old_output(demo_world,
                                                             tmp_path):
    out = tmp_path / 'ra'
    _convert(demo_world, out)
    before = sorted(os.listdir(out / 'original'))
    with pytest.raises(OutputWriteError, match='Could not write .*'
                       r'original/demo_road_anomaly_\d+\.jpg: File too '
                       'large'):
        with file_size_limit(2000):
            _convert(demo_world, out, overwrite=True)
    assert sorted(os.listdir(out / 'original')) == before
    assert sorted(os.listdir(tmp_path)) == ['ra']


@pytest.mark.slow
def test_a_killed_converter_leaves_nothing_after_the_next_run(demo_world,
                                                              tmp_path):
    """kill -9 in the middle of mmseg-ood-convert-road-anomaly: the hidden
    folder it leaves is removed by the next run, which completes."""
    raw = raw_copy(demo_world, tmp_path / 'raw', copies=150)
    out = tmp_path / 'ra'
    command = [sys.executable, '-m', 'mmseg_ood.cli.convert_road_anomaly',
               str(raw), str(out), '--no-progress']
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list(tmp_path.glob('.ra.tmp-*/labels/*.png')):
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    assert len(list(tmp_path.glob('.ra.tmp-*'))) == 1  # left by the kill
    convert_road_anomaly(str(raw), str(out), show_progress=False)
    assert sorted(os.listdir(tmp_path)) == ['ra', 'raw']
    assert read_dataset_record(str(out))['num_images'] == 300
