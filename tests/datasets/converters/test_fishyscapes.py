"""Fishyscapes converters on the demo world's raw layouts and tiny arrays."""
import dataclasses
import io
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
    FS_STATIC_VERSIONS,
    DatasetLayoutError,
    LabelValueError,
    blend_static_overlay,
    convert_fs_lost_and_found,
    convert_fs_static,
    parse_fs_label_name,
)
from mmseg_ood.datasets.converters.common import md5_of
from mmseg_ood.datasets.converters.fishyscapes import laf_scene_of

from .helpers import (
    assert_same_pixels,
    file_bytes,
    listing,
    read,
    read_rgb,
    zip_folder,
)

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]


@pytest.fixture(scope='module')
def fs_laf_out(demo_world, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('fs') / 'LostAndFound')
    record = convert_fs_lost_and_found(
        demo_world['fs_laf_labels'], demo_world['laf'], out,
        show_progress=False)
    return out, record


def test_label_names_of_the_official_archive():
    # the example in the Fishyscapes authors' TFDS builder
    fs_id, laf_id = parse_fs_label_name(
        '0000_04_Maurener_Weg_8_000000_000030_labels.png')
    assert (fs_id, laf_id) == ('0000', '04_Maurener_Weg_8_000000_000030')
    assert laf_scene_of(laf_id) == '04_Maurener_Weg_8'
    assert laf_scene_of('01_Hanns_Klemm_Str_45_000011_000050') == \
        '01_Hanns_Klemm_Str_45'
    with pytest.raises(ValueError, match='NNNN_<id>_labels.png'):
        parse_fs_label_name('0000_frame.png')
    with pytest.raises(ValueError, match='Lost & Found frame id'):
        laf_scene_of('frankfurt_000000_000019')


def test_laf_gives_back_the_processed_set(demo_world, fs_laf_out):
    out, record = fs_laf_out
    names = [osp.splitext(n)[0] for n in listing(osp.join(out, 'original'))]
    assert names == record['images'] and len(names) == 3
    assert listing(osp.join(out, 'labels')) == [n + '.png' for n in names]
    for i, name in enumerate(names):
        assert name.startswith(f'{i:04d}_')
        src = osp.join(demo_world['fs_laf'], 'original', f'demo_laf_{i:04d}')
        # frames are copied byte for byte, labels keep every pixel
        assert file_bytes(osp.join(out, 'original', name + '.png')) == \
            file_bytes(src + '.png')
        assert_same_pixels(
            read(osp.join(out, 'labels', name + '.png')),
            read(src.replace('original', 'labels') + '.png'))
    with open(osp.join(out, DATASET_RECORD)) as f:
        on_disk = json.load(f)
    assert on_disk['name'] == 'Fishyscapes Lost & Found val'
    assert on_disk['version'] is None and on_disk['num_images'] == 3
    # frames come from both Lost & Found splits
    assert {osp.basename(osp.dirname(osp.dirname(p)))
            for p in _laf_frames(demo_world['laf'])} == {'train', 'test'}


def _laf_frames(root):
    out = []
    for dirpath, _, files in os.walk(osp.join(root, 'leftImg8bit')):
        out += [osp.join(dirpath, f) for f in files]
    return out


def test_laf_dataset_loads_with_a_test_pipeline(fs_laf_out):
    out, _ = fs_laf_out
    dataset = DATASETS.build(
        dict(type='AnomalyDataset', data_root=out, pipeline=PIPELINE))
    assert len(dataset) == 3
    sample = dataset[0]['data_samples']
    assert sample.gt_sem_seg.shape == sample.ori_shape
    assert set(sample.gt_sem_seg.data.unique().tolist()) <= {0, 1, 255}
    facts = dataset.metainfo['anomaly_set']
    assert facts['name'] == 'Fishyscapes Lost & Found val'
    assert dataset.metainfo['anomaly_set']['version'] is None


@pytest.mark.parametrize('top', [None, 'fishyscapes_lostandfound'])
def test_laf_reads_the_zip_archive(demo_world, fs_laf_out, tmp_path, top):
    archive = zip_folder(demo_world['fs_laf_labels'],
                         tmp_path / 'fishyscapes_lostandfound.zip', top)
    out = str(tmp_path / 'out')
    convert_fs_lost_and_found(archive, demo_world['laf'], out,
                              show_progress=False)
    ref = fs_laf_out[0]
    for sub in ('original', 'labels'):
        assert listing(osp.join(out, sub)) == listing(osp.join(ref, sub))
        for name in listing(osp.join(out, sub)):
            assert_same_pixels(read(osp.join(out, sub, name)),
                               read(osp.join(ref, sub, name)))


def test_laf_missing_frame_names_it_and_writes_nothing(demo_world, tmp_path):
    laf = tmp_path / 'laf'
    shutil.copytree(demo_world['laf'], laf)
    victim = next(p for p in _laf_frames(str(laf))
                  if 'Maurener_Weg_8_000002_' in p)
    os.remove(victim)
    out = tmp_path / 'out'
    with pytest.raises(DatasetLayoutError) as err:
        convert_fs_lost_and_found(demo_world['fs_laf_labels'], str(laf),
                                  str(out), show_progress=False)
    message = str(err.value)
    assert '1 of 3' in message and osp.basename(victim) in message
    assert 'leftImg8bit/{train,test}/<scene>/' in message
    assert sorted(os.listdir(tmp_path)) == ['laf']


def test_laf_wrong_folders(demo_world, tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(DatasetLayoutError,
                       match='(?s)No file in .*NNNN_<L&F id>_labels.png'):
        convert_fs_lost_and_found(str(empty), demo_world['laf'],
                                  str(tmp_path / 'o'), show_progress=False)
    with pytest.raises(DatasetLayoutError, match='No leftImg8bit/ folder'):
        convert_fs_lost_and_found(demo_world['fs_laf_labels'], str(empty),
                                  str(tmp_path / 'o'), show_progress=False)
    with pytest.raises(DatasetLayoutError, match='neither a folder'):
        convert_fs_lost_and_found(str(tmp_path / 'nowhere'),
                                  demo_world['laf'], str(tmp_path / 'o'),
                                  show_progress=False)
    assert sorted(os.listdir(tmp_path)) == ['empty']


def test_laf_unknown_label_value_and_size(demo_world, tmp_path):
    labels = tmp_path / 'labels'
    shutil.copytree(demo_world['fs_laf_labels'], labels)
    name = listing(labels)[1]
    label = read(labels / name)
    label[0, 0] = 7
    cv2.imwrite(str(labels / name), label)
    with pytest.raises(LabelValueError, match=f'{name}.*values \\[7\\]'):
        convert_fs_lost_and_found(str(labels), demo_world['laf'],
                                  str(tmp_path / 'o'), show_progress=False)
    label[0, 0] = 1
    cv2.imwrite(str(labels / name), label[:-2])
    with pytest.raises(ValueError, match='do not belong together'):
        convert_fs_lost_and_found(str(labels), demo_world['laf'],
                                  str(tmp_path / 'o'), show_progress=False)
    assert not osp.exists(tmp_path / 'o')


# ----------------------------------------------------------------------------
# Static
# ----------------------------------------------------------------------------
def test_blend_is_a_clipped_integer_sum():
    frame = np.array([[[250, 0, 10], [0, 128, 255]]], np.uint8)
    overlay = np.array([[[10, -5, -3], [-1, 127, -256]]], np.int16)
    expected = np.array([[[255, 0, 7], [0, 255, 0]]], np.uint8)
    np.testing.assert_array_equal(blend_static_overlay(frame, overlay),
                                  expected)
    # floats are truncated toward zero, as astype(int) does
    floats = np.array([[[2.7, -2.7, 0.5], [0, 0, 0]]])
    np.testing.assert_array_equal(
        blend_static_overlay(frame, floats)[0, 0], [252, 0, 10])
    with pytest.raises(ValueError, match='shape'):
        blend_static_overlay(frame, overlay[:, :1])


@pytest.fixture(scope='module')
def static_outs(demo_world, tmp_path_factory):
    root = tmp_path_factory.mktemp('static')
    outs = {}
    for version in ('v1', 'v2', 'v3'):
        out = str(root / version)
        convert_fs_static(demo_world[f'fs_static_{version}'],
                          demo_world['cityscapes'], out, version,
                          show_progress=False)
        outs[version] = out
    return outs


@pytest.mark.parametrize('version', ['v1', 'v2', 'v3'])
def test_static_matches_overlay_plus_cityscapes(demo_world, static_outs,
                                                version):
    out = static_outs[version]
    raw = demo_world[f'fs_static_{version}']
    names = [osp.splitext(n)[0] for n in listing(osp.join(out, 'original'))]
    assert len(names) == 2
    for name in names:
        cs_id = name.split('_', 1)[1]
        city = cs_id.split('_')[0]
        base = read_rgb(osp.join(demo_world['cityscapes'], 'leftImg8bit',
                                 'val', city, f'{cs_id}_leftImg8bit.png'))
        with np.load(osp.join(raw, name + '_rgb.npz')) as data:
            overlay = data['rgb']
        expected = np.clip(base.astype(int) + overlay, 0, 255)
        assert_same_pixels(read_rgb(osp.join(out, 'original', name + '.png')),
                           expected.astype(np.uint8))
        label = read(osp.join(out, 'labels', name + '.png'))
        assert_same_pixels(label, read(osp.join(raw, name + '_labels.png')))
        assert (label == 1).any() and (label == 0).any()
        changed = (overlay != 0).any(axis=2)
        if version == 'v1':  # hard paste: only anomaly pixels change
            assert not (changed & (label != 1)).any()
        if version == 'v3':  # the inlier "negative test" object
            assert (changed & (label == 0)).any()
    dataset = DATASETS.build(
        dict(type='AnomalyDataset', data_root=out, pipeline=PIPELINE))
    assert dataset.metainfo['anomaly_set']['version'] == version
    assert dataset.metainfo['anomaly_set']['name'] == 'Fishyscapes Static val'
    sample = dataset[1]['data_samples']
    assert sample.gt_sem_seg.shape == sample.ori_shape


def test_static_versions_differ_and_are_recorded(static_outs):
    images = {}
    for version, out in static_outs.items():
        with open(osp.join(out, DATASET_RECORD)) as f:
            record = json.load(f)
        assert record['version'] == version
        assert record['tfds_version'] == \
            FS_STATIC_VERSIONS[version].tfds_version
        assert record['archive_md5_verified'] is None  # a folder
        name = record['images'][0]
        images[version] = read(osp.join(out, 'original', name + '.png'))
    assert not np.array_equal(images['v1'], images['v2'])
    assert not np.array_equal(images['v2'], images['v3'])


def test_static_archive_of_another_version_is_refused(demo_world, tmp_path,
                                                      monkeypatch):
    with pytest.raises(ValueError, match="v1 archive but version 'v3'"):
        convert_fs_static(demo_world['fs_static_v1'],
                          demo_world['cityscapes'], str(tmp_path / 'o'),
                          'v3', show_progress=False)
    archive = zip_folder(demo_world['fs_static_v2'],
                         tmp_path / 'overlays.zip')
    record = convert_fs_static(archive, demo_world['cityscapes'],
                               str(tmp_path / 'a'), 'v2',
                               show_progress=False)
    assert record['archive_md5_verified'] is False  # not the official file
    # pretend the zip is the official v2 archive
    md5 = md5_of(archive)
    monkeypatch.setitem(FS_STATIC_VERSIONS, 'v2',
                        dataclasses.replace(FS_STATIC_VERSIONS['v2'], md5=md5))
    with pytest.raises(ValueError, match="official fs_val_v2.zip.*'v2'"):
        convert_fs_static(archive, demo_world['cityscapes'],
                          str(tmp_path / 'b'), 'v3', show_progress=False)
    record = convert_fs_static(archive, demo_world['cityscapes'],
                               str(tmp_path / 'c'), 'v2',
                               show_progress=False)
    assert record['archive_md5_verified'] is True
    with pytest.raises(ValueError, match='version must be one of'):
        convert_fs_static(archive, demo_world['cityscapes'],
                          str(tmp_path / 'd'), '3.0.0', show_progress=False)


def test_static_layout_errors(demo_world, tmp_path):
    raw = tmp_path / 'fs_val_v2'
    shutil.copytree(demo_world['fs_static_v2'], raw)
    npz = sorted(raw.glob('*_rgb.npz'))
    os.remove(npz[0])
    with pytest.raises(DatasetLayoutError,
                       match='(?s)exactly one 0000_\\*rgb.npz.*_rgb.npz'):
        convert_fs_static(str(raw), demo_world['cityscapes'],
                          str(tmp_path / 'o'), 'v2', show_progress=False)
    buf = io.BytesIO()
    np.savez(buf, image=np.zeros((2, 2, 3)))
    npz[0].write_bytes(buf.getvalue())
    with pytest.raises(DatasetLayoutError, match='no array "rgb"'):
        convert_fs_static(str(raw), demo_world['cityscapes'],
                          str(tmp_path / 'o'), 'v2', show_progress=False)
    with pytest.raises(DatasetLayoutError,
                       match='(?s)No leftImg8bit/val/ folder.*<city>'):
        convert_fs_static(demo_world['fs_static_v2'], str(tmp_path),
                          str(tmp_path / 'o'), 'v2', show_progress=False)
    city = tmp_path / 'cs'
    shutil.copytree(demo_world['cityscapes'], city)
    victim = sorted((city / 'leftImg8bit' / 'val').rglob('*.png'))[0]
    os.remove(victim)
    with pytest.raises(DatasetLayoutError, match=victim.name):
        convert_fs_static(demo_world['fs_static_v2'], str(city),
                          str(tmp_path / 'o'), 'v2', show_progress=False)
    assert not osp.exists(tmp_path / 'o')
