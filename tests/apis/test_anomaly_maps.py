"""Submission score maps: output formats, resume and the run manifest,
with a fake inferencer (the model-driven runs are tests/cli)."""
import hashlib
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmseg_ood.apis import (
    build_map_format,
    config_score,
    find_images,
    plan_outputs,
    write_anomaly_maps,
)
from mmseg_ood.apis.anomaly_maps import outputs_complete
from mmseg_ood.apis.map_formats import (
    FishyscapesMaps,
    NpyMaps,
    SMIYCMaps,
    smiyc_storage_name,
)
from mmseg_ood.apis.run_manifest import (
    RUN_MANIFEST,
    RUN_RECORDS,
    RunManifestError,
    checkpoint_fingerprint,
    read_output_records,
    run_manifest,
)
from mmseg_ood.models.scores import EnergyScore, MaxLogitScore
from mmseg_ood.utils.image_files import ImageFileError

from ..conftest import demo_config

DEMO = 'deeplabv3plus_balanced_energy_demo.py'


def test_find_images_errors_and_recursion(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        find_images(str(tmp_path / 'missing'))
    (tmp_path / 'a.txt').write_text('x')
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'b.PNG').write_bytes(b'')
    with pytest.raises(FileNotFoundError) as error:
        find_images(str(tmp_path), ['.png'])
    message = str(error.value)
    assert str(tmp_path) in message and '.png' in message
    assert '--recursive' in message
    assert find_images(str(tmp_path), ['png'], recursive=True) == [
        str(tmp_path / 'sub' / 'b.PNG')
    ]


def test_output_names_and_collisions(tmp_path):
    img = '/data/in/sub/0012_04_Maurener_Weg_8_000000_000030_rgb.png'
    npy = NpyMaps('/out').files(img, '/data/in')
    assert npy == dict(
        anomaly='/out/sub/0012_04_Maurener_Weg_8_000000_000030_rgb_'
        'anomaly.npy',
        segmentation='/out/sub/0012_04_Maurener_Weg_8_000000_000030_rgb_'
        'segmentation.npy')
    fs = FishyscapesMaps('/out').files(img, '/data/in')
    assert fs == dict(anomaly='/out/0012_anomaly.npy',
                      segmentation='/out/0012_segmentation.npy')
    smiyc = SMIYCMaps('/o', 'M', 'LostAndFound-test')
    laf = smiyc.files('/x/04_Maurener_Weg_8_000000_000030_leftImg8bit.png',
                      '/x')
    assert laf == dict(anomaly='/o/anomaly_p/M/LostAndFound-test/'
                       '04_Maurener_Weg_8_000000_000030.hdf5')
    assert smiyc.folder == '/o/anomaly_p/M/LostAndFound-test'
    with pytest.raises(ValueError, match='DDDD_'):
        FishyscapesMaps('/out').files('/in/frame.png', '/in')
    with pytest.raises(ValueError, match='both write'):
        plan_outputs(['/in/a/0001_x.png', '/in/b/0001_y.png'], '/in',
                     FishyscapesMaps(str(tmp_path)))
    a_file = tmp_path / 'file'
    a_file.write_text('x')
    with pytest.raises(NotADirectoryError, match='is a file'):
        plan_outputs(['/in/0001_x.png'], '/in', NpyMaps(str(a_file)))
    with pytest.raises(ValueError, match='Unknown output format'):
        build_map_format('png', '/out')
    with pytest.raises(ValueError, match='--method-name'):
        build_map_format('smiyc', '/out')
    with pytest.raises(ValueError, match='folder name'):
        build_map_format('smiyc', '/out', 'a/b', 'AnomalyTrack-all')


@pytest.mark.parametrize('anomaly_set, storage', [
    ('smiyc_anomaly', 'AnomalyTrack-all'),
    ('smiyc_obstacle', 'ObstacleTrack-all'),
    ('laf_noknown', 'LostAndFound-test'),
])
def test_smiyc_storage_folder_comes_from_the_set(anomaly_set, storage):
    # road_anomaly_benchmark reads AnomalyTrack-validation's maps from
    # AnomalyTrack-all, ObstacleTrack-validation's from ObstacleTrack-all
    # and LostAndFound-testNoKnown's from LostAndFound-test
    assert smiyc_storage_name(anomaly_set) == storage
    maps = build_map_format('smiyc', '/o', 'M', anomaly_set=anomaly_set)
    assert maps.folder == f'/o/anomaly_p/M/{storage}'
    assert maps.settings()['dataset_name'] == storage
    # a name given by hand must be the one the benchmark reads
    assert smiyc_storage_name(anomaly_set, storage) == storage
    assert SMIYCMaps('/o', 'M', storage).dataset_name == storage


def test_smiyc_names_the_benchmark_would_not_read_are_refused():
    for name in ('LostAndFound-testNoKnown', 'AnomalyTrack-validation',
                 'anomalytrack-all', 'my_set'):
        with pytest.raises(ValueError, match='does not read maps from'):
            build_map_format('smiyc', '/o', 'M', name)
    with pytest.raises(ValueError, match="read from 'LostAndFound-test'"):
        smiyc_storage_name('laf_noknown', 'ObstacleTrack-all')
    with pytest.raises(ValueError, match='not a SegmentMeIfYouCan set'):
        smiyc_storage_name('fs_laf')
    with pytest.raises(ValueError, match='--set'):
        build_map_format('smiyc', '/o', 'M')
    with pytest.raises(ValueError, match='for --format smiyc'):
        build_map_format('npy', '/o', anomaly_set='smiyc_anomaly')


def test_config_score_follows_the_config_evaluator():
    cfg = Config.fromfile(demo_config(DEMO))
    blur = dict(kernel_size=7, sigma=1.0)
    assert config_score(cfg) == dict(type='EnergyScore', num_classes=19,
                                     blur=blur)
    # another type keeps the classes and the blur, and nothing else
    assert config_score(cfg, dict(type='MaxLogitScore')) == dict(
        type='MaxLogitScore', num_classes=19, blur=blur)
    assert config_score(cfg, {'blur': None, 'temperature': 2.0}) == dict(
        type='EnergyScore', num_classes=19, blur=None, temperature=2.0)
    assert config_score(cfg, {'blur.sigma': 2.0})['blur'] == dict(
        kernel_size=7, sigma=2.0)
    cfg.test_evaluator = dict(type='IoUMetric')
    cfg.val_evaluator = dict(type='IoUMetric')
    with pytest.raises(ValueError, match='type=EnergyScore num_classes=19'):
        config_score(cfg)
    assert config_score(cfg, dict(type='EnergyScore', num_classes=3)) == \
        dict(type='EnergyScore', num_classes=3)


def _maps(out):
    return {
        name: np.load(osp.join(out, name))
        for name in sorted(os.listdir(out)) if name.endswith('.npy')
    }


def _manifest(out):
    with open(osp.join(out, RUN_MANIFEST)) as f:
        return json.load(f)


class _FakeInferencer:
    """Constant maps of the image size; fails at image ``fail_at``."""

    def __init__(self, value, fail_at=None):
        self.value, self.fail_at, self.calls = value, fail_at, 0

    def __call__(self, img_path):
        if self.calls == self.fail_at:
            raise KeyboardInterrupt('killed')
        self.calls += 1
        height, width = cv2.imread(img_path).shape[:2]
        return (np.full((height, width), self.value, np.float32),
                np.zeros((height, width), np.uint8))


def _fake_manifest(score):
    return run_manifest(None, 'https://example.org/model.pth',
                        score.settings(), NpyMaps('unused').settings())


def test_interrupted_overwrite_never_mixes_settings(demo_world, tmp_path):
    img_dir = osp.join(demo_world['fs_laf'], 'original')
    images = find_images(img_dir)
    maps = NpyMaps(str(tmp_path / 'out'))
    old, new = _fake_manifest(EnergyScore(19)), _fake_manifest(
        MaxLogitScore(19))
    write_anomaly_maps(_FakeInferencer(1.0), images, img_dir, maps, old,
                       show_progress=False)
    with pytest.raises(RunManifestError, match='score.type'):
        write_anomaly_maps(_FakeInferencer(2.0), images, img_dir, maps, new,
                           show_progress=False)
    # killed after the first image of an --overwrite run
    with pytest.raises(KeyboardInterrupt):
        write_anomaly_maps(_FakeInferencer(2.0, fail_at=1), images, img_dir,
                           maps, new, overwrite=True, show_progress=False)
    assert _manifest(maps.out_dir) == new
    # resuming with the new settings redoes the two maps of the old ones
    result = write_anomaly_maps(_FakeInferencer(2.0), images, img_dir, maps,
                                new, show_progress=False)
    assert result['written'] == images[1:]
    assert result['skipped'] == images[:1]
    for name, value in _maps(maps.out_dir).items():
        if name.endswith('_anomaly.npy'):
            assert (value == 2.0).all(), name


def test_maps_of_unknown_origin_are_not_resumed(demo_world, tmp_path):
    img_dir = osp.join(demo_world['fs_laf'], 'original')
    images = find_images(img_dir)
    out = tmp_path / 'out'
    maps = NpyMaps(str(out))
    write_anomaly_maps(_FakeInferencer(1.0), images, img_dir, maps, None,
                       show_progress=False)  # no manifest: none written
    assert not (out / RUN_MANIFEST).exists()
    manifest = _fake_manifest(EnergyScore(19))
    with pytest.raises(RunManifestError, match='no ' + re.escape(
            RUN_MANIFEST)):
        write_anomaly_maps(_FakeInferencer(2.0), images, img_dir, maps,
                           manifest, show_progress=False)
    (out / RUN_MANIFEST).write_text('{broken')
    with pytest.raises(RunManifestError, match='not a readable'):
        write_anomaly_maps(_FakeInferencer(2.0), images, img_dir, maps,
                           manifest, show_progress=False)
    result = write_anomaly_maps(_FakeInferencer(2.0), images, img_dir, maps,
                                manifest, overwrite=True,
                                show_progress=False)
    assert len(result['written']) == 3
    assert _manifest(str(out)) == manifest


def test_smiyc_maps_round_trip_in_float16(demo_world, tmp_path):
    img_dir = osp.join(demo_world['fs_laf'], 'original')
    images = find_images(img_dir)
    maps = SMIYCMaps(str(tmp_path), 'Method', 'AnomalyTrack-all')
    write_anomaly_maps(_FakeInferencer(1.2345678), images, img_dir, maps,
                       _fake_manifest(EnergyScore(19)), show_progress=False)
    from mmseg_ood.apis import load_smiyc_hdf5
    for img in images:
        value = load_smiyc_hdf5(maps.files(img, img_dir)['anomaly'])
        assert value.dtype == np.float16
        assert (value == np.float16(1.2345678)).all()
    assert RUN_MANIFEST in os.listdir(maps.folder)


def test_checkpoint_fingerprint_covers_both_ends(tmp_path):
    data = bytearray(os.urandom(3 << 20))
    path = tmp_path / 'a.pth'
    path.write_bytes(bytes(data))
    first = checkpoint_fingerprint(str(path))
    assert first['size'] == len(data)
    assert first['path'] == str(path)
    for position in (0, len(data) - 1):
        changed = bytearray(data)
        changed[position] ^= 0xFF
        path.write_bytes(bytes(changed))
        other = checkpoint_fingerprint(str(path))
        assert other['sha256_head_tail'] != first['sha256_head_tail']
    small = tmp_path / 'small.pth'
    small.write_bytes(b'abc')
    assert checkpoint_fingerprint(str(small))['sha256_head_tail'] == \
        hashlib.sha256(b'abc').hexdigest()
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        checkpoint_fingerprint(str(tmp_path / 'missing.pth'))



# ---------------------------------------------------------------------------
# A resume never mixes settings or inputs
# ---------------------------------------------------------------------------
def _images(demo_world, tmp_path, name='in'):
    """A copy of the demo FS L&F-layout frames."""
    folder = tmp_path / name
    shutil.copytree(osp.join(demo_world['fs_laf'], 'original'), folder)
    return str(folder), find_images(str(folder))


def test_overwrite_with_other_settings_on_a_subset_is_refused(demo_world,
                                                              tmp_path):
    # before: the other images kept their old maps under the new manifest,
    # and the next run reported everything complete
    img_dir, images = _images(demo_world, tmp_path)
    maps = NpyMaps(str(tmp_path / 'out'))
    energy, max_logit = _fake_manifest(EnergyScore(19)), _fake_manifest(
        MaxLogitScore(19))
    write_anomaly_maps(_FakeInferencer(1.0), images, img_dir, maps, energy,
                       show_progress=False)
    before = _maps(maps.out_dir)
    stranded = maps.files(images[1], img_dir)['anomaly']
    with pytest.raises(RunManifestError,
                       match=f'(?s)holds 2 map.*earlier settings.*'
                       f'{re.escape(stranded)}.*Run on all their images'):
        write_anomaly_maps(_FakeInferencer(2.0), images[:1], img_dir, maps,
                           max_logit, overwrite=True, show_progress=False)
    after = _maps(maps.out_dir)
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert _manifest(maps.out_dir) == energy
    # on all images the overwrite is exact
    result = write_anomaly_maps(_FakeInferencer(2.0), images, img_dir, maps,
                                max_logit, overwrite=True,
                                show_progress=False)
    assert result['written'] == images
    assert all((v == 2.0).all() for k, v in _maps(maps.out_dir).items()
               if k.endswith('_anomaly.npy'))


@pytest.mark.parametrize('change', ['other_folder', 'edited_image'])
def test_maps_of_other_images_under_the_same_names_are_refused(
        demo_world, tmp_path, change):
    # before: "nothing to do", the maps of the first images kept
    img_dir, images = _images(demo_world, tmp_path)
    maps = NpyMaps(str(tmp_path / 'out'))
    manifest = _fake_manifest(EnergyScore(19))
    write_anomaly_maps(_FakeInferencer(1.0), images, img_dir, maps, manifest,
                       show_progress=False)
    if change == 'other_folder':
        img_dir, images = _images(demo_world, tmp_path, 'other')
    image = cv2.imread(images[0])
    cv2.imwrite(images[0], 255 - image)
    files = maps.files(images[0], img_dir)
    assert not outputs_complete(images[0], files, maps)
    assert outputs_complete(images[1], maps.files(images[1], img_dir), maps)
    with pytest.raises(RunManifestError,
                       match=f"(?s)maps of other images.*{files['anomaly']} "
                       f'was made from .*this run reads {images[0]}.*'
                       '--overwrite'):
        write_anomaly_maps(_FakeInferencer(2.0), images, img_dir, maps,
                           manifest, show_progress=False)
    result = write_anomaly_maps(_FakeInferencer(2.0), images, img_dir, maps,
                                manifest, overwrite=True, show_progress=False)
    assert len(result['written']) == 3
    assert all(outputs_complete(img, maps.files(img, img_dir), maps)
               for img in images)


def test_a_truncated_input_image_is_named(demo_world, tmp_path):
    img_dir, images = _images(demo_world, tmp_path)
    data = open(images[1], 'rb').read()
    with open(images[1], 'wb') as f:
        f.write(data[:len(data) // 2])
    maps = NpyMaps(str(tmp_path / 'out'))
    with pytest.raises(ImageFileError, match=re.escape(images[1]) +
                       '.*truncated or corrupt'):
        write_anomaly_maps(_FakeInferencer(1.0), images, img_dir, maps,
                           _fake_manifest(EnergyScore(19)),
                           show_progress=False)
    # the first image's maps are whole and recorded; the broken one has none
    assert sorted(_maps(maps.out_dir)) == [
        f'{osp.splitext(osp.basename(images[0]))[0]}_{kind}.npy'
        for kind in ('anomaly', 'segmentation')]


def test_leftovers_of_a_killed_run_are_removed_and_torn_records_redone(
        demo_world, tmp_path):
    img_dir, images = _images(demo_world, tmp_path)
    maps = NpyMaps(str(tmp_path / 'out'))
    manifest = _fake_manifest(EnergyScore(19))
    write_anomaly_maps(_FakeInferencer(1.0), images, img_dir, maps, manifest,
                       show_progress=False)
    out = tmp_path / 'out'
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    partial = out / f'.x_anomaly.npy.{dead.pid}-abcd.partial'
    partial.write_bytes(b'half')
    records = out / RUN_RECORDS
    lines = records.read_text().splitlines()
    records.write_text('\n'.join(lines[:2] + [lines[2][:30]]))  # torn
    result = write_anomaly_maps(_FakeInferencer(1.0), images, img_dir, maps,
                                manifest, show_progress=False)
    assert result['written'] == images[2:]
    assert not partial.exists()
    assert len(read_output_records(str(out))) == 3


def test_an_edited_config_is_another_setting(demo_world, tmp_path):
    # before: the manifest held the config's path only, so maps of the
    # edited config were resumed next to maps of the old one
    img_dir, images = _images(demo_world, tmp_path)
    config = tmp_path / 'model.py'
    config.write_text("_base_ = ['base.py']\n")
    maps = NpyMaps(str(tmp_path / 'out'))

    def manifest():
        return run_manifest(str(config), 'https://example.org/m.pth',
                            EnergyScore(19).settings(), maps.settings())

    write_anomaly_maps(_FakeInferencer(1.0), images[:1], img_dir, maps,
                       manifest(), show_progress=False)
    config.write_text("_base_ = ['base.py']\nmodel = dict(x=1)\n")
    with pytest.raises(RunManifestError, match='config_sha256: '):
        write_anomaly_maps(_FakeInferencer(2.0), images, img_dir, maps,
                           manifest(), show_progress=False)
