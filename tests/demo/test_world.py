"""Tests of the SYNTHETIC demo world generator (small sizes, tmp folders)."""
import hashlib
import json
import os
import os.path as osp
import re
from collections import Counter

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from mmseg_ood.demo import make_demo_world
from mmseg_ood.demo import world as world_module
from mmseg_ood.demo.appearance import OUTLIER_APPEARANCE_PRIOR
from mmseg_ood.demo.world import MARKER_FILE, read_marker_parameters
from mmseg_ood.utils.constants import (
    CITYSCAPES_CLASSES,
    CITYSCAPES_LABEL_IDS,
    COCO_EXCLUDED_CATEGORIES,
    COCO_MIN_IMAGE_SIZE,
    IGNORE_INDEX,
)

SMALL = dict(
    num_train=4,
    num_val=2,
    num_coco=10,
    num_fs_laf=3,
    num_fs_static=3,
    num_road_anomaly=3,
    frame_size=(128, 256))
TINY = dict(
    num_train=1,
    num_val=0,
    num_coco=1,
    num_fs_laf=1,
    num_fs_static=0,
    num_road_anomaly=0,
    num_laf_extra=0,
    num_fs_static_raw=0,
    num_smiyc_anomaly=0,
    num_smiyc_obstacle=0,
    frame_size=(64, 128))
FRAME = SMALL['frame_size']
RA_FRAME = (144, 256)  # 9/8 as tall as the street frames


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('demo') / 'world')
    return make_demo_world(root, seed=3, **SMALL)


def _read(path, flags=cv2.IMREAD_UNCHANGED):
    img = cv2.imread(path, flags)
    assert img is not None, path
    return img


def _tree_hashes(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = hashlib.sha256(
                    f.read()).hexdigest()
    return out


def _cityscapes_pairs(world, split):
    img_root = osp.join(world['cityscapes'], 'leftImg8bit', split)
    pairs = []
    for city in sorted(os.listdir(img_root)):
        for name in sorted(os.listdir(osp.join(img_root, city))):
            stem = name[:-len('_leftImg8bit.png')]
            gt = osp.join(world['cityscapes'], 'gtFine', split, city, stem)
            pairs.append((osp.join(img_root, city, name),
                          gt + '_gtFine_labelIds.png',
                          gt + '_gtFine_labelTrainIds.png'))
    return pairs


def test_layout_and_marker(world):
    root = world['root']
    assert set(world) == {
        'root', 'cityscapes', 'coco', 'fs_laf', 'fs_static', 'road_anomaly',
        'laf', 'fs_laf_labels', 'fs_static_v1', 'fs_static_v2',
        'fs_static_v3', 'road_anomaly_raw', 'smiyc_anomaly', 'smiyc_obstacle'
    }
    with open(osp.join(root, MARKER_FILE), encoding='utf-8') as f:
        text = f.read()
    assert 'SYNTHETIC' in text and 'NOT Cityscapes' in text
    params = read_marker_parameters(root)
    assert params['seed'] == 3 and params['frame_size'] == list(FRAME)
    assert params['num_train'] == SMALL['num_train']

    pattern = re.compile(r'^[a-z]+_\d{6}_\d{6}_leftImg8bit\.png$')
    for split, cities, n in (('train', {'aachen', 'bochum'}, 4),
                             ('val', {'frankfurt'}, 2)):
        pairs = _cityscapes_pairs(world, split)
        assert len(pairs) == n
        assert set(os.listdir(osp.join(world['cityscapes'], 'leftImg8bit',
                                       split))) == cities
        for img, ids, train_ids in pairs:
            assert pattern.match(osp.basename(img))
            assert osp.isfile(ids) and osp.isfile(train_ids)

    assert osp.isfile(
        osp.join(world['coco'], 'annotations', 'instances_train2017.json'))
    assert len(os.listdir(osp.join(world['coco'], 'train2017'))) == 10
    assert world['fs_laf'].endswith(osp.join('fishyscapes', 'LostAndFound'))
    assert world['fs_static'].endswith(osp.join('fishyscapes', 'Static'))
    for key, ext in (('fs_laf', '.png'), ('fs_static', '.png'),
                     ('road_anomaly', '.jpg')):
        originals = sorted(os.listdir(osp.join(world[key], 'original')))
        labels = sorted(os.listdir(osp.join(world[key], 'labels')))
        assert len(originals) == 3
        assert all(name.endswith(ext) for name in originals)
        assert [osp.splitext(n)[0] for n in originals] == \
            [osp.splitext(n)[0] for n in labels]
    # nothing left over from the atomic write
    parent = osp.dirname(root)
    assert os.listdir(parent) == ['world']


def test_cityscapes_labels(world):
    lut = np.full(256, IGNORE_INDEX, np.uint8)
    for train_id, label_id in enumerate(CITYSCAPES_LABEL_IDS):
        lut[label_id] = train_id
    seen = set()
    for split in ('train', 'val'):
        for img, ids, train_ids in _cityscapes_pairs(world, split):
            image = _read(img)
            label_ids = _read(ids)
            label_train = _read(train_ids)
            assert image.shape == (*FRAME, 3) and image.dtype == np.uint8
            assert label_ids.shape == FRAME and label_ids.dtype == np.uint8
            assert label_train.shape == FRAME
            values = set(np.unique(label_train).tolist())
            assert values <= set(range(19)) | {IGNORE_INDEX}
            np.testing.assert_array_equal(lut[label_ids], label_train)
            if split == 'train':
                seen |= values
    assert set(range(len(CITYSCAPES_CLASSES))) <= seen


def test_anomaly_sets(world):
    for key, allowed, size in (('fs_laf', {0, 1, 255}, FRAME),
                               ('fs_static', {0, 1, 255}, FRAME),
                               ('road_anomaly', {0, 1}, RA_FRAME)):
        folder = world[key]
        for name in sorted(os.listdir(osp.join(folder, 'original'))):
            image = _read(osp.join(folder, 'original', name),
                          cv2.IMREAD_COLOR)
            label = _read(
                osp.join(folder, 'labels',
                         osp.splitext(name)[0] + '.png'))
            assert image.shape[:2] == label.shape == size
            values = set(np.unique(label).tolist())
            assert values <= allowed, (key, name, values)
            assert (label == 1).any() and (label == 0).any(), (key, name)
        if key == 'fs_laf':  # off-road is void in Lost & Found
            assert 255 in values


def test_coco_set(world):
    coco = COCO(
        osp.join(world['coco'], 'annotations', 'instances_train2017.json'))
    cats = coco.loadCats(coco.getCatIds())
    assert len(cats) == 80
    by_name = {c['name']: c['id'] for c in cats}
    assert by_name['person'] == 1 and by_name['dog'] == 18
    assert by_name['stop sign'] == 13 and by_name['toothbrush'] == 90
    excluded_ids = {by_name[n] for n in COCO_EXCLUDED_CATEGORIES}

    small = with_excluded = crowd = 0
    for img_info in coco.loadImgs(coco.getImgIds()):
        image = _read(
            osp.join(world['coco'], 'train2017', img_info['file_name']),
            cv2.IMREAD_COLOR)
        assert image.shape[:2] == (img_info['height'], img_info['width'])
        assert img_info['file_name'] == f'{img_info["id"]:012d}.jpg'
        small += min(image.shape[:2]) < COCO_MIN_IMAGE_SIZE
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_info['id']))
        assert 1 <= len(anns) <= 5
        with_excluded += any(a['category_id'] in excluded_ids for a in anns)
        for ann in anns:
            mask = coco.annToMask(ann)
            assert mask.shape == image.shape[:2]
            assert abs(ann['area'] - mask.sum()) <= 2
            ys, xs = np.nonzero(mask)
            x, y, w, h = ann['bbox']
            np.testing.assert_allclose(
                [x, y, w, h],
                [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                 ys.max() - ys.min() + 1],
                atol=2)
            if ann['iscrowd']:
                crowd += 1
                assert isinstance(ann['segmentation']['counts'], list)
                assert ann['segmentation']['size'] == list(image.shape[:2])
            else:
                assert isinstance(ann['segmentation'], list)
                assert all(len(p) >= 6 for p in ann['segmentation'])
                # the polygons rasterise to the same mask
                rle = mask_utils.merge(
                    mask_utils.frPyObjects(ann['segmentation'], *mask.shape))
                assert mask_utils.area(rle) == mask.sum()
    assert small >= 1 and with_excluded >= 1 and crowd >= 1


def test_outlier_appearance_is_imbalanced(world):
    prior = np.asarray(OUTLIER_APPEARANCE_PRIOR)
    assert prior.shape == (19, ) and abs(prior.sum() - 1) < 1e-9
    assert np.sort(prior)[::-1][:3].sum() > 0.6

    with open(osp.join(world['coco'], 'annotations',
                       'instances_train2017.json')) as f:
        anns = json.load(f)['annotations']
    looks = Counter(a['appearance'] for a in anns)
    assert set(looks) <= set(CITYSCAPES_CLASSES)
    top3 = sum(n for _, n in looks.most_common(3))
    assert top3 / len(anns) >= 0.5, looks


def test_deterministic(world, tmp_path):
    again = make_demo_world(str(tmp_path / 'again'), seed=3, **SMALL)
    assert _tree_hashes(again['root']) == _tree_hashes(world['root'])
    other = make_demo_world(str(tmp_path / 'other'), seed=4, **SMALL)
    a, b = _tree_hashes(world['root']), _tree_hashes(other['root'])
    different = [k for k in a if k in b and a[k] != b[k]]
    assert len(different) > len(a) // 2


def test_rerun_is_noop_and_other_parameters_need_overwrite(tmp_path):
    root = str(tmp_path / 'tiny')
    first = make_demo_world(root, seed=0, **TINY)
    before = {
        k: os.stat(osp.join(root, k)).st_mtime_ns
        for k in _tree_hashes(root)
    }
    assert make_demo_world(root, seed=0, **TINY) == first
    after = {k: os.stat(osp.join(root, k)).st_mtime_ns for k in before}
    assert after == before

    with pytest.raises(FileExistsError, match='--force'):
        make_demo_world(root, seed=1, **TINY)
    assert read_marker_parameters(root)['seed'] == 0
    make_demo_world(root, seed=1, overwrite=True, **TINY)
    assert read_marker_parameters(root)['seed'] == 1
    assert sorted(os.listdir(tmp_path)) == ['tiny']


@pytest.mark.parametrize('overwrite', [False, True])
def test_refuses_folder_that_is_not_a_demo_world(tmp_path, overwrite):
    root = tmp_path / 'precious'
    root.mkdir()
    (root / 'keep.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='does not look like a demo'):
        make_demo_world(str(root), overwrite=overwrite, **TINY)
    assert os.listdir(root) == ['keep.txt']
    assert (root / 'keep.txt').read_text() == 'mine'
    assert sorted(os.listdir(tmp_path)) == ['precious']


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError, match='frame_size'):
        make_demo_world(str(tmp_path / 'w'), **{**TINY, 'frame_size': (8, 8)})
    with pytest.raises(ValueError, match='num_train'):
        make_demo_world(str(tmp_path / 'w'), **{**TINY, 'num_train': 0})
    with pytest.raises(ValueError, match='num_fs_static_raw'):
        make_demo_world(str(tmp_path / 'w'),
                        **{**TINY, 'num_fs_static_raw': 1})
    assert not os.listdir(tmp_path)


def _files(folder):
    out = []
    for dirpath, _, files in os.walk(folder):
        out += [osp.relpath(osp.join(dirpath, f), folder) for f in files]
    return sorted(out)


def test_raw_release_layouts(world):
    laf_id = r'\d{2}_[A-Za-z0-9_]+_\d{6}_\d{6}'
    # Fishyscapes Lost & Found labels: one per processed frame, same labels
    labels = sorted(os.listdir(world['fs_laf_labels']))
    assert len(labels) == SMALL['num_fs_laf']
    processed = sorted(os.listdir(osp.join(world['fs_laf'], 'labels')))
    for i, (name, ref) in enumerate(zip(labels, processed)):
        assert re.match(rf'^{i:04d}_{laf_id}_labels\.png$', name), name
        np.testing.assert_array_equal(
            _read(osp.join(world['fs_laf_labels'], name)),
            _read(osp.join(world['fs_laf'], 'labels', ref)))
    # Lost & Found: every frame has gtCoarse label ids in the L&F range
    frames = _files(osp.join(world['laf'], 'leftImg8bit'))
    assert len(frames) == SMALL['num_fs_laf'] + 3  # 3 extra by default
    for rel in frames:
        split, scene, name = rel.split(os.sep)
        assert split in ('train', 'test')
        assert re.match(rf'^{laf_id}_leftImg8bit\.png$', name)
        assert name.startswith(scene + '_')
        ids = _read(osp.join(world['laf'], 'gtCoarse', split, scene,
                             name.replace('leftImg8bit',
                                          'gtCoarse_labelIds')))
        assert ids.shape == FRAME and ids.max() <= 200
    # Static overlays: labels + int overlays on the Cityscapes val frames
    for version in ('v1', 'v2', 'v3'):
        names = sorted(os.listdir(world[f'fs_static_{version}']))
        assert len(names) == 4, names
        for name in names[::2]:
            assert re.match(r'^\d{4}_frankfurt_\d{6}_\d{6}_labels\.png$',
                            name)
            with np.load(osp.join(world[f'fs_static_{version}'],
                                  name.replace('labels.png', 'rgb.npz'))) \
                    as data:
                assert data.files == ['rgb']
                assert data['rgb'].shape == (*FRAME, 3)
                assert data['rgb'].dtype.kind == 'i'
    # Road Anomaly raw: 0 background / 1 road / 2 anomaly
    with open(osp.join(world['road_anomaly_raw'], 'frame_list.json')) as f:
        frame_list = json.load(f)
    assert len(frame_list) == SMALL['num_road_anomaly']
    for name in frame_list:
        raw = _read(osp.join(world['road_anomaly_raw'], 'frames',
                             name[:-4] + '.labels', 'labels_semantic.png'))
        assert set(np.unique(raw).tolist()) == {0, 1, 2}
    # SegmentMeIfYouCan: validation frames with labels, one test frame
    for key, pattern in (('smiyc_anomaly', r'^validation\d{4}\.jpg$'),
                         ('smiyc_obstacle', r'^validation_\d+\.webp$')):
        images = sorted(os.listdir(osp.join(world[key], 'images')))
        valid = [n for n in images if re.match(pattern, n)]
        assert len(valid) == 2 and len(images) == 3
        for name in valid:
            label = _read(osp.join(world[key], 'labels_masks',
                                   osp.splitext(name)[0] +
                                   '_labels_semantic.png'))
            assert set(np.unique(label).tolist()) <= {0, 1, 255}
            assert (label == 1).any()


def test_world_of_an_older_generator_is_regenerated(tmp_path):
    root = str(tmp_path / 'tiny')
    make_demo_world(root, seed=0, **TINY)
    marker = osp.join(root, world_module.MARKER_FILE)
    params = read_marker_parameters(root)
    old = dict(params, generator_version=world_module.GENERATOR_VERSION - 1)
    lines = [
        world_module._PARAMS_PREFIX + json.dumps(old) + '\n'
        if line.startswith(world_module._PARAMS_PREFIX) else line
        for line in open(marker, encoding='utf-8')
    ]
    with open(marker, 'w', encoding='utf-8') as f:
        f.writelines(lines)
    with pytest.raises(FileExistsError, match='seed'):  # a user choice
        make_demo_world(root, seed=1, **TINY)
    make_demo_world(root, seed=0, **TINY)  # same request: regenerated
    assert read_marker_parameters(root) == params
