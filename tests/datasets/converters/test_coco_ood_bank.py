"""Building the COCO outlier bank (mmseg_ood.datasets.converters.
coco_ood_bank) from the tiny COCO dataset of ``tests/datasets/fake_coco.py``,
whose expected bank is worked out by hand there."""
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from mmseg_ood.datasets.converters import build_coco_ood_bank
from mmseg_ood.utils.constants import OUTLIER_INDEX

from ..fake_coco import (
    KEPT,
    RECT_7,
    folder_bytes,
    read_bytes,
    read_json,
    reference_union,
)


def test_selection_and_index(built):
    coco_root, index_file = built
    assert index_file == osp.join(coco_root, 'annotations',
                                  'ood_seg_train2017.json')
    index = read_json(index_file)
    assert index['format'] == 'mmseg_ood.coco_ood_bank'
    assert index['version'] == 1
    assert index['split'] == 'train2017'
    assert index['img_dir'] == 'train2017'
    assert index['mask_dir'] == 'annotations/ood_seg_train2017'
    assert index['outlier_index'] == OUTLIER_INDEX
    assert index['min_size'] == 480
    assert 'person' in index['excluded_categories']
    assert index['num_images_total'] == 9
    assert index['num_dropped'] == {
        'excluded_category': 3, 'too_small': 1, 'no_objects': 2}
    assert [e['img'] for e in index['entries']] == KEPT
    assert [e['mask'] for e in index['entries']] == [
        n.replace('.jpg', '.png') for n in KEPT]
    by_img = {e['img']: e for e in index['entries']}
    assert by_img[KEPT[0]]['categories'] == ['chair', 'dog']
    assert by_img[KEPT[1]]['categories'] == ['chair', 'dog']
    assert by_img[KEPT[2]]['bbox'] == list(RECT_7)
    assert (by_img[KEPT[2]]['height'], by_img[KEPT[2]]['width']) == (500,
                                                                     480)
    # Paths are relative to the COCO root.
    text = read_bytes(index_file).decode()
    assert coco_root not in text and str(osp.dirname(coco_root)) not in text
    assert sorted(os.listdir(osp.join(coco_root, 'annotations',
                                      'ood_seg_train2017'))) == [
        n.replace('.jpg', '.png') for n in KEPT]


def test_masks_match_pycocotools_union(built):
    coco_root, index_file = built
    for entry in read_json(index_file)['entries']:
        mask = cv2.imread(
            osp.join(coco_root, 'annotations', 'ood_seg_train2017',
                     entry['mask']), cv2.IMREAD_UNCHANGED)
        assert mask.dtype == np.uint8 and mask.ndim == 2
        assert set(np.unique(mask)) == {0, OUTLIER_INDEX}
        ref = reference_union(coco_root, entry['img'])
        np.testing.assert_array_equal(mask == OUTLIER_INDEX, ref)
        ys, xs = np.nonzero(ref)
        assert entry['bbox'] == [xs.min(), ys.min(), xs.max() + 1,
                                 ys.max() + 1]
    # The crowd RLE of image 6 is part of its union.
    mask6 = cv2.imread(
        osp.join(coco_root, 'annotations', 'ood_seg_train2017',
                 '000000000006.png'), cv2.IMREAD_UNCHANGED)
    assert (mask6[30:120, 20:90] == OUTLIER_INDEX).all()


def test_rerun_is_identical_and_keeps_masks(built):
    coco_root, index_file = built
    mask_dir = osp.join(coco_root, 'annotations', 'ood_seg_train2017')
    before = folder_bytes(mask_dir)
    index_before = read_bytes(index_file)
    stamp = 1_000_000_000 * 10**9
    for name in before:
        os.utime(osp.join(mask_dir, name), ns=(stamp, stamp))
    assert build_coco_ood_bank(coco_root, show_progress=False) == index_file
    assert folder_bytes(mask_dir) == before
    assert read_bytes(index_file) == index_before
    for name in before:
        assert os.stat(osp.join(mask_dir, name)).st_mtime_ns == stamp


def test_rerun_after_interruption(built):
    coco_root, index_file = built
    mask_dir = osp.join(coco_root, 'annotations', 'ood_seg_train2017')
    before = folder_bytes(mask_dir)
    index_before = read_bytes(index_file)
    # An interrupted run: one mask never moved into place, junk temp files
    # (the names mmseg_ood.utils.file_io.atomic_output gives them).
    os.remove(osp.join(mask_dir, '000000000001.png'))
    for name in ('.000000000001.png.x1.partial',
                 '.000000000006.png.x2.partial'):
        with open(osp.join(mask_dir, name), 'wb') as f:
            f.write(b'\x89PNG truncated')
    index_tmp = osp.join(osp.dirname(index_file),
                         '.' + osp.basename(index_file) + '.x3.partial')
    with open(index_tmp, 'w') as f:
        f.write('{"format": ')
    build_coco_ood_bank(coco_root, show_progress=True)
    assert folder_bytes(mask_dir) == before
    assert read_bytes(index_file) == index_before
    assert not osp.exists(index_tmp)


def test_nproc_2_matches_nproc_1(coco_root):
    out1 = osp.join(coco_root, 'annotations', 'bank_p1')
    out2 = osp.join(coco_root, 'annotations', 'bank_p2')
    idx1 = build_coco_ood_bank(coco_root, out_dir=out1, show_progress=False)
    idx2 = build_coco_ood_bank(coco_root, out_dir=out2, nproc=2,
                               show_progress=True)
    assert idx1 == out1 + '.json' and idx2 == out2 + '.json'
    assert folder_bytes(out1) == folder_bytes(out2)
    index1, index2 = read_json(idx1), read_json(idx2)
    assert index1.pop('mask_dir') == 'annotations/bank_p1'
    assert index2.pop('mask_dir') == 'annotations/bank_p2'
    assert index1 == index2


def test_min_size_is_configurable(coco_root):
    index = read_json(
        build_coco_ood_bank(coco_root, min_size=200, show_progress=False))
    # Image 4 (640x479) is kept now; image 9 stays excluded by category.
    assert '000000000004.jpg' in [e['img'] for e in index['entries']]
    assert index['num_dropped'] == {
        'excluded_category': 3, 'too_small': 0, 'no_objects': 2}


def test_layout_errors(tmp_path):
    root = str(tmp_path / 'coco')
    os.makedirs(root)
    with pytest.raises(FileNotFoundError) as err:
        build_coco_ood_bank(root, show_progress=False)
    message = str(err.value)
    assert 'expected a COCO 2017 layout' in message
    assert osp.join('annotations', 'instances_train2017.json') in message
    assert osp.join('train2017', '*.jpg') in message
    os.makedirs(osp.join(root, 'annotations'))
    with open(osp.join(root, 'annotations', 'instances_train2017.json'),
              'w') as f:
        json.dump({'images': [], 'annotations': [], 'categories': []}, f)
    with pytest.raises(FileNotFoundError, match='image folder'):
        build_coco_ood_bank(root, show_progress=False)


def test_missing_image_is_named(coco_root):
    # A dropped image may be missing; a kept one may not.
    os.remove(osp.join(coco_root, 'train2017', '000000000004.jpg'))
    os.remove(osp.join(coco_root, 'train2017', '000000000007.jpg'))
    with pytest.raises(FileNotFoundError, match=re.escape('000000000007.jpg')):
        build_coco_ood_bank(coco_root, show_progress=False)


def test_a_truncated_image_is_named(coco_root):
    # the bank reads only the annotations; a truncated JPEG would be pasted
    # half-decoded (OpenCV fills the missing rows with grey)
    path = osp.join(coco_root, 'train2017', KEPT[1])
    data = read_bytes(path)
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    assert cv2.imread(path) is not None
    with pytest.raises(ValueError, match='truncated .*' + re.escape(
            KEPT[1]) + '.*Re-download or re-extract train2017'):
        build_coco_ood_bank(coco_root, show_progress=False)
    assert not osp.exists(osp.join(coco_root, 'annotations',
                                   'ood_seg_train2017.json'))


def _many_images_coco(root, count):
    """A COCO layout of ``count`` 480x480 images with one dog polygon."""
    os.makedirs(osp.join(root, 'train2017'))
    os.makedirs(osp.join(root, 'annotations'))
    image = np.full((480, 480, 3), 90, np.uint8)
    cv2.imwrite(osp.join(root, 'train2017', 'template.jpg'), image)
    images, annotations = [], []
    for i in range(1, count + 1):
        name = f'{i:012d}.jpg'
        os.link(osp.join(root, 'train2017', 'template.jpg'),
                osp.join(root, 'train2017', name))
        images.append(dict(id=i, file_name=name, width=480, height=480))
        x = i % 300
        annotations.append(dict(
            id=i, image_id=i, category_id=18, iscrowd=0, area=1.0,
            bbox=[0, 0, 1, 1],
            segmentation=[[x, 10, x + 100, 10, x + 100, 200, x, 200]]))
    with open(osp.join(root, 'annotations', 'instances_train2017.json'),
              'w') as f:
        json.dump(dict(images=images, annotations=annotations,
                       categories=[dict(id=18, name='dog')]), f)
    return root


@pytest.mark.slow
def test_a_killed_build_is_finished_by_the_next_run(tmp_path, mmlog):
    """kill -9 of mmseg-ood-coco-bank while it writes masks: no index yet;
    the next run reuses the finished masks, removes the temporary files and
    writes the index."""
    root = _many_images_coco(str(tmp_path / 'coco'), 400)
    mask_dir = osp.join(root, 'annotations', 'ood_seg_train2017')
    command = [sys.executable, '-m', 'mmseg_ood.cli.coco_ood_bank', root,
               '--nproc', '1']
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (osp.isdir(mask_dir) and len(os.listdir(mask_dir)) > 5):
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    index_file = mask_dir + '.json'
    assert not osp.exists(index_file)
    finished = len([n for n in os.listdir(mask_dir) if n[0] != '.'])
    build_coco_ood_bank(root, show_progress=False)
    assert len(read_json(index_file)['entries']) == 400
    names = os.listdir(mask_dir)
    assert len(names) == 400 and not [n for n in names if n[0] == '.']
    assert not [n for n in os.listdir(osp.dirname(mask_dir))
                if n.endswith('.partial')]
    reused = int(re.search(r'reused: (\d+)', mmlog.text)[1])
    assert reused >= finished > 5


def test_a_truncated_annotation_file_is_named(coco_root):
    path = osp.join(coco_root, 'annotations', 'instances_train2017.json')
    data = read_bytes(path)
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(ValueError, match=re.escape(path) +
                       ' is not valid JSON.*re-download'):
        build_coco_ood_bank(coco_root, show_progress=False)
