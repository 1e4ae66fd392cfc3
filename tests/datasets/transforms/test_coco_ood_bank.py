"""Reading the COCO outlier bank (mmseg_ood.datasets.transforms.
coco_ood_bank), built from the tiny COCO dataset of
``tests/datasets/fake_coco.py``."""
import json
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest

from mmseg_ood.datasets.converters import build_coco_ood_bank
from mmseg_ood.datasets.transforms import (
    CocoOodEntry,
    load_coco_ood_bank,
    read_coco_ood_object,
)

from ..fake_coco import KEPT, RECT_7, read_json, reference_union


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
    cmd = 'mmseg-ood-coco-bank'
    missing = osp.join(coco_root, 'annotations', 'ood_seg_val2017.json')
    with pytest.raises(FileNotFoundError) as err:
        load_coco_ood_bank(missing)
    assert missing in str(err.value) and 'does not exist' in str(err.value)
    assert f'{cmd} {coco_root} --split val2017' in str(err.value)

    index = read_json(index_file)
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
    assert read_json(index_file)['mask_dir'] == '../banks/coco_ood'
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
        ref = reference_union(coco_root, osp.basename(entry.img_path))
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


def test_a_truncated_bank_image_is_named_not_pasted(built):
    _, index_file = built
    entry = load_coco_ood_bank(index_file)[0]
    with open(entry.img_path, 'rb') as f:
        data = f.read()
    with open(entry.img_path, 'wb') as f:
        f.write(data[:len(data) // 2])
    assert cv2.imread(entry.img_path) is not None  # half grey for OpenCV
    with pytest.raises(ValueError, match=re.escape(entry.img_path) +
                       '.*truncated or corrupt.*half-decoded object'):
        read_coco_ood_object(entry)
