"""Lost & Found testNoKnown: label mapping, frame selection, conversion."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from mmseg_ood.datasets.converters import (
    DATASET_RECORD,
    DatasetLayoutError,
    convert_laf_test_no_known,
    select_no_known,
)
from mmseg_ood.datasets.set_specs import get_set_spec

from .helpers import assert_same_pixels, file_bytes, listing, read

LAF_NOKNOWN = get_set_spec('laf_noknown')


def test_label_ids_mapping_pixelwise():
    ids = np.array([[0, 1, 2, 3], [100, 200, 201, 255]], np.uint8)
    expected = np.array([[255, 0, 1, 1], [1, 1, 255, 255]], np.uint8)
    np.testing.assert_array_equal(LAF_NOKNOWN.labels.apply(ids, 'ids.png'),
                                  expected)


def _official_like_ids():
    ids = [f'05_Schafgasse_1_{k:06d}_000010' for k in range(1199)]
    ids += ['15_Rechbergstr_Deckenpfronn_000000_000010',
            '10_Schlossberg_9_000004_000020',
            '01_Hanns_Klemm_Str_45_000006_000010',
            '01_Hanns_Klemm_Str_45_000005_000010']
    assert len(ids) == 1203
    return ids


def test_selection_with_the_official_split():
    ids = _official_like_ids()
    order = sorted(ids)
    empty = {order[p] for p in LAF_NOKNOWN.unlabelled_positions}
    rng = np.random.default_rng(0)
    shuffled = [ids[i] for i in rng.permutation(len(ids))]
    selected, info = select_no_known(shuffled,
                                     [i in empty for i in shuffled])
    assert info['rule'] == 'official positions'
    assert info['disagreements'] == []
    assert info['dropped_unlabelled'] == sorted(empty)
    # three of the four extra ids start with an excluded prefix
    assert sorted(info['dropped_known_classes']) == sorted(ids[1199:1202])
    assert len(selected) == 1203 - 17 - 3
    assert selected == sorted(selected)
    assert '01_Hanns_Klemm_Str_45_000005_000010' in selected
    # a label map that disagrees with the official list is reported
    flipped = order[5]
    _, info = select_no_known(order, [(i in empty) != (i == flipped)
                                      for i in order])
    assert info['disagreements'] == [flipped]
    assert flipped not in info['dropped_unlabelled']


def test_selection_of_a_partial_split_uses_the_labels():
    ids = ['05_Schafgasse_1_000001_000010', '05_Schafgasse_1_000000_000010',
           '15_Rechbergstr_Deckenpfronn_000000_000010']
    selected, info = select_no_known(ids, [True, False, False])
    assert info['rule'] == 'empty labels'
    assert info['dropped_unlabelled'] == ['05_Schafgasse_1_000001_000010']
    assert selected == ['05_Schafgasse_1_000000_000010']
    with pytest.raises(ValueError, match='same length'):
        select_no_known(ids, [True])


def _test_frames(laf_root):
    frames = {}
    root = osp.join(laf_root, 'leftImg8bit', 'test')
    for scene in os.listdir(root):
        for name in os.listdir(osp.join(root, scene)):
            frames[name[:-len('_leftImg8bit.png')]] = osp.join(
                root, scene, name)
    return frames


def test_conversion_of_the_demo_split(demo_world, tmp_path):
    out = str(tmp_path / 'nk')
    record = convert_laf_test_no_known(demo_world['laf'], out,
                                       show_progress=False)
    frames = _test_frames(demo_world['laf'])

    def gt(fid):
        scene = osp.basename(osp.dirname(frames[fid]))
        return read(osp.join(demo_world['laf'], 'gtCoarse', 'test', scene,
                             f'{fid}_gtCoarse_labelIds.png'))

    expected = sorted(
        fid for fid in frames
        if gt(fid).any() and not fid.startswith(LAF_NOKNOWN.exclude))
    assert record['images'] == expected
    assert 0 < len(expected) < len(frames)
    assert listing(osp.join(out, 'labels')) == [f + '.png' for f in expected]
    lut = np.full(256, 255, np.uint8)
    lut[1] = 0
    lut[2:201] = 1
    for fid in expected:
        assert file_bytes(osp.join(out, 'original', fid + '.png')) == \
            file_bytes(frames[fid])
        assert_same_pixels(read(osp.join(out, 'labels', fid + '.png')),
                           lut[gt(fid)])
    # the Fishyscapes frames of the test split get their FS labels back
    for name in listing(demo_world['fs_laf_labels']):
        fid = name[5:-len('_labels.png')]
        if fid in expected:
            assert_same_pixels(
                read(osp.join(out, 'labels', fid + '.png')),
                read(osp.join(demo_world['fs_laf_labels'], name)))
    with open(osp.join(out, DATASET_RECORD)) as f:
        selection = json.load(f)['selection']
    assert selection['rule'] == 'empty labels'
    assert len(selection['dropped_unlabelled']) == 1
    assert len(selection['dropped_known_classes']) == 1


def test_layout_errors(demo_world, tmp_path):
    with pytest.raises(DatasetLayoutError,
                       match='(?s)No leftImg8bit/test/.*gtCoarse/test'):
        convert_laf_test_no_known(str(tmp_path), str(tmp_path / 'o'),
                                  show_progress=False)
    laf = tmp_path / 'laf'
    shutil.copytree(demo_world['laf'], laf)
    victim = sorted((laf / 'gtCoarse' / 'test').rglob('*.png'))[0]
    os.remove(victim)
    with pytest.raises(DatasetLayoutError,
                       match=f'1 of 5 test frames have no label ids.*'
                       f'{victim.name}'):
        convert_laf_test_no_known(str(laf), str(tmp_path / 'o'),
                                  show_progress=False)
    assert not osp.exists(tmp_path / 'o')


def test_a_label_without_its_frame_is_an_error(demo_world, tmp_path):
    laf = tmp_path / 'laf'
    shutil.copytree(demo_world['laf'], laf)
    frame = sorted((laf / 'leftImg8bit' / 'test').rglob('*.png'))[0]
    os.remove(frame)  # its label ids stay
    with pytest.raises(DatasetLayoutError,
                       match='(?s)1 label map.*have no test frame.*'
                       + frame.name.replace('_leftImg8bit.png', '')):
        convert_laf_test_no_known(str(laf), str(tmp_path / 'o'),
                                  show_progress=False)
    assert not osp.exists(tmp_path / 'o')
