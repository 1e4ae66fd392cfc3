"""Tests of the COCO outlier bank (mmseg_ood.datasets.coco_ood).

A tiny COCO-format dataset is written in the real on-disk layout by
``_write_fake_coco``; its images were chosen so that every selection rule
fires once and the expected bank can be worked out by hand:

====  =========  ==========================================  ===============
id    w x h      annotations                                 outcome
====  =========  ==========================================  ===============
1     640x480    dog polygon, chair polygon                  kept
2     500x520    dog polygon, person *crowd* RLE             excluded
3     480x640    car polygon                                 excluded
4     640x479    dog polygon                                 too small
5     480x480    none                                        no objects
6     520x500    dog crowd RLE (uncompressed), chair polygon kept
7     480x500    dog compressed RLE, a known rectangle       kept
8     480x480    dog with an empty segmentation              no objects
9     300x300    person polygon (also too small)             excluded
====  =========  ==========================================  ===============
"""
import importlib.util
import json
import os
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from mmseg_ood.datasets.coco_ood import (CocoOodEntry, build_coco_ood_bank,
                                         load_coco_ood_bank,
                                         read_coco_ood_object)
from mmseg_ood.utils.constants import OUTLIER_INDEX

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# Standard COCO category ids of the names the fixture uses.
CATEGORY_IDS = {'person': 1, 'car': 3, 'dog': 18, 'chair': 62}
KEPT = ['000000000001.jpg', '000000000006.jpg', '000000000007.jpg']
# Rectangle (x0, y0, x1, y1) drawn as the compressed RLE of image 7.
RECT_7 = (300, 200, 350, 260)


def _rect_polygon(x0, y0, x1, y1):
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


def _uncompressed_rle(mask):
    """COCO crowd-style RLE (``counts`` a list) of a binary mask."""
    flat = mask.flatten(order='F').astype(np.uint8)
    counts, current, run = [], 0, 0
    for value in flat:
        if value != current:
            counts.append(run)
            current, run = value, 0
        run += 1
    counts.append(run)
    return {'size': list(mask.shape), 'counts': counts}


def _box_mask(h, w, x0, y0, x1, y1):
    mask = np.zeros((h, w), dtype=np.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


def _write_fake_coco(root, split='train2017'):
    """Write the fixture dataset in the COCO 2017 layout under ``root``."""
    sizes = {1: (640, 480), 2: (500, 520), 3: (480, 640), 4: (640, 479),
             5: (480, 480), 6: (520, 500), 7: (480, 500), 8: (480, 480),
             9: (300, 300)}
    rect7 = mask_utils.encode(
        np.asfortranarray(_box_mask(500, 480, *RECT_7)))
    rect7['counts'] = rect7['counts'].decode('ascii')
    anns = [
        (1, 'dog', _rect_polygon(100, 50, 200, 150), 0),
        (1, 'chair', [[300, 300, 400, 300, 350, 420]], 0),
        (2, 'dog', _rect_polygon(10, 10, 100, 100), 0),
        (2, 'person', _uncompressed_rle(_box_mask(520, 500, 200, 200, 260,
                                                  300)), 1),
        (3, 'car', _rect_polygon(50, 50, 150, 150), 0),
        (4, 'dog', _rect_polygon(50, 50, 150, 150), 0),
        (6, 'dog', _uncompressed_rle(_box_mask(500, 520, 20, 30, 90, 120)),
         1),
        (6, 'chair', _rect_polygon(400, 380, 480, 470), 0),
        (7, 'dog', rect7, 0),
        (8, 'dog', [], 0),
        (9, 'person', _rect_polygon(10, 10, 50, 50), 0),
    ]
    rng = np.random.default_rng(0)
    os.makedirs(osp.join(root, split))
    os.makedirs(osp.join(root, 'annotations'))
    images = []
    for img_id in sorted(sizes, reverse=True):  # json order != name order
        w, h = sizes[img_id]
        name = f'{img_id:012d}.jpg'
        small = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), np.uint8)
        cv2.imwrite(osp.join(root, split, name),
                    cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR))
        images.append({'id': img_id, 'file_name': name, 'width': w,
                       'height': h})
    annotations = []
    for ann_id, (img_id, cat, seg, crowd) in enumerate(anns, start=1):
        annotations.append({'id': ann_id, 'image_id': img_id,
                            'category_id': CATEGORY_IDS[cat],
                            'segmentation': seg, 'iscrowd': crowd,
                            'area': 1.0, 'bbox': [0, 0, 1, 1]})
    categories = [{'id': cid, 'name': name, 'supercategory': 'x'}
                  for name, cid in CATEGORY_IDS.items()]
    with open(osp.join(root, 'annotations', f'instances_{split}.json'),
              'w') as f:
        json.dump({'images': images, 'annotations': annotations,
                   'categories': categories}, f)
    return root


@pytest.fixture
def coco_root(tmp_path):
    return _write_fake_coco(str(tmp_path / 'coco'))


@pytest.fixture
def built(coco_root):
    index_file = build_coco_ood_bank(coco_root, show_progress=False)
    return coco_root, index_file


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _reference_union(coco_root, file_name):
    """OR of pycocotools ``annToMask`` over all annotations of an image."""
    coco = COCO(osp.join(coco_root, 'annotations',
                         'instances_train2017.json'))
    img = next(i for i in coco.dataset['images']
               if i['file_name'] == file_name)
    union = np.zeros((img['height'], img['width']), dtype=bool)
    for ann in coco.loadAnns(coco.getAnnIds(imgIds=[img['id']])):
        union |= coco.annToMask(ann).astype(bool)
    return union


def _read_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


def _folder_bytes(folder):
    return {name: _read_bytes(osp.join(folder, name))
            for name in sorted(os.listdir(folder))}


def test_selection_and_index(built):
    coco_root, index_file = built
    assert index_file == osp.join(coco_root, 'annotations',
                                  'ood_seg_train2017.json')
    index = _read_json(index_file)
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
    text = _read_bytes(index_file).decode()
    assert coco_root not in text and str(osp.dirname(coco_root)) not in text
    assert sorted(os.listdir(osp.join(coco_root, 'annotations',
                                      'ood_seg_train2017'))) == [
        n.replace('.jpg', '.png') for n in KEPT]


def test_masks_match_pycocotools_union(built):
    coco_root, index_file = built
    for entry in _read_json(index_file)['entries']:
        mask = cv2.imread(
            osp.join(coco_root, 'annotations', 'ood_seg_train2017',
                     entry['mask']), cv2.IMREAD_UNCHANGED)
        assert mask.dtype == np.uint8 and mask.ndim == 2
        assert set(np.unique(mask)) == {0, OUTLIER_INDEX}
        ref = _reference_union(coco_root, entry['img'])
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
    before = _folder_bytes(mask_dir)
    index_before = _read_bytes(index_file)
    stamp = 1_000_000_000 * 10**9
    for name in before:
        os.utime(osp.join(mask_dir, name), ns=(stamp, stamp))
    assert build_coco_ood_bank(coco_root, show_progress=False) == index_file
    assert _folder_bytes(mask_dir) == before
    assert _read_bytes(index_file) == index_before
    for name in before:
        assert os.stat(osp.join(mask_dir, name)).st_mtime_ns == stamp


def test_rerun_after_interruption(built):
    coco_root, index_file = built
    mask_dir = osp.join(coco_root, 'annotations', 'ood_seg_train2017')
    before = _folder_bytes(mask_dir)
    index_before = _read_bytes(index_file)
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
    assert _folder_bytes(mask_dir) == before
    assert _read_bytes(index_file) == index_before
    assert not osp.exists(index_tmp)


def test_nproc_2_matches_nproc_1(coco_root):
    out1 = osp.join(coco_root, 'annotations', 'bank_p1')
    out2 = osp.join(coco_root, 'annotations', 'bank_p2')
    idx1 = build_coco_ood_bank(coco_root, out_dir=out1, show_progress=False)
    idx2 = build_coco_ood_bank(coco_root, out_dir=out2, nproc=2,
                               show_progress=True)
    assert idx1 == out1 + '.json' and idx2 == out2 + '.json'
    assert _folder_bytes(out1) == _folder_bytes(out2)
    index1, index2 = _read_json(idx1), _read_json(idx2)
    assert index1.pop('mask_dir') == 'annotations/bank_p1'
    assert index2.pop('mask_dir') == 'annotations/bank_p2'
    assert index1 == index2


def test_min_size_is_configurable(coco_root):
    index = _read_json(
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


def test_load_bank(built):
    _, index_file = built
    entries = load_coco_ood_bank(index_file)
    assert all(isinstance(e, CocoOodEntry) for e in entries)
    assert [osp.basename(e.img_path) for e in entries] == KEPT
    for e in entries:
        assert osp.isabs(e.img_path) and osp.isfile(e.img_path)
        assert osp.isabs(e.mask_path) and osp.isfile(e.mask_path)
        assert isinstance(e.bbox, tuple) and len(e.bbox) == 4
    assert entries[2].bbox == RECT_7
    assert entries[0].categories == ('chair', 'dog')
    with pytest.raises(AttributeError):
        entries[0].bbox = (0, 0, 1, 1)


def test_load_bank_errors(built, tmp_path):
    coco_root, index_file = built
    cmd = 'python tools/dataset_converters/coco_ood.py'
    missing = osp.join(coco_root, 'annotations', 'ood_seg_val2017.json')
    with pytest.raises(FileNotFoundError) as err:
        load_coco_ood_bank(missing)
    assert missing in str(err.value) and 'does not exist' in str(err.value)
    assert f'{cmd} {coco_root} --split val2017' in str(err.value)

    index = _read_json(index_file)
    bad = str(tmp_path / 'bad.json')
    cases = [
        (dict(index, format='coco'), "format 'coco'"),
        (dict(index, version=2), 'version 2'),
        (dict(index, entries=[]), 'no entries'),
        ({'images': []}, 'format None'),
    ]
    for content, problem in cases:
        with open(bad, 'w') as f:
            json.dump(content, f)
        with pytest.raises(ValueError) as err:
            load_coco_ood_bank(bad)
        assert bad in str(err.value) and problem in str(err.value)
        assert cmd in str(err.value)
    with open(bad, 'w') as f:
        f.write('{not json')
    with pytest.raises(ValueError, match='not valid JSON'):
        load_coco_ood_bank(bad)


def test_bank_outside_coco_root_needs_data_root(coco_root, tmp_path):
    out_dir = str(tmp_path / 'banks' / 'coco_ood')
    index_file = build_coco_ood_bank(coco_root, out_dir=out_dir,
                                     show_progress=False)
    assert _read_json(index_file)['mask_dir'] == '../banks/coco_ood'
    with pytest.raises(ValueError, match='data_root'):
        load_coco_ood_bank(index_file)
    entries = load_coco_ood_bank(index_file, data_root=coco_root)
    assert entries[0].mask_path == osp.join(out_dir, '000000000001.png')
    assert osp.isfile(entries[0].img_path)


def test_read_object(built):
    coco_root, index_file = built
    for entry in load_coco_ood_bank(index_file):
        image, mask = read_coco_ood_object(entry)
        x0, y0, x1, y1 = entry.bbox
        assert image.dtype == np.uint8 and image.shape == (y1 - y0, x1 - x0,
                                                           3)
        assert mask.dtype == bool and mask.shape == image.shape[:2]
        np.testing.assert_array_equal(
            image, cv2.imread(entry.img_path)[y0:y1, x0:x1])
        ref = _reference_union(coco_root, osp.basename(entry.img_path))
        np.testing.assert_array_equal(mask, ref[y0:y1, x0:x1])
        assert ref.sum() == mask.sum()  # nothing outside the box
        for edge in (mask[0], mask[-1], mask[:, 0], mask[:, -1]):
            assert edge.any()  # tight
    entry = load_coco_ood_bank(index_file)[2]
    assert read_coco_ood_object(entry)[1].all()  # a rectangle fills its box


def test_read_object_errors(built):
    _, index_file = built
    entry = load_coco_ood_bank(index_file)[1]
    cv2.imwrite(entry.mask_path, np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError) as err:
        read_coco_ood_object(entry)
    assert entry.mask_path in str(err.value) and '10x10' in str(err.value)
    os.remove(entry.img_path)
    with pytest.raises(FileNotFoundError, match=re.escape(entry.img_path)):
        read_coco_ood_object(entry)


def test_cli(coco_root):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, 'tools/dataset_converters/coco_ood.py', coco_root,
         '--nproc', '1'],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
        check=False)
    assert proc.returncode == 0, proc.stderr
    index_file = osp.join(coco_root, 'annotations', 'ood_seg_train2017.json')
    assert f'Index: {index_file}' in proc.stdout
    assert '3 of 9 images kept' in proc.stdout
    assert (f"dict(type='PasteCocoObjects', data_root={coco_root!r}, "
            "ann_file='annotations/ood_seg_train2017.json')") in proc.stdout
    # Names absent from the categories of the json are reported.
    assert 'bicycle' in proc.stdout + proc.stderr
    assert len(load_coco_ood_bank(index_file)) == 3


def test_cli_reports_wrong_layout(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'coco_ood_tool',
        osp.join(REPO_ROOT, 'tools', 'dataset_converters', 'coco_ood.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(SystemExit) as err:
        tool.main([str(tmp_path)])
    assert 'expected a COCO 2017 layout' in str(err.value.code)
