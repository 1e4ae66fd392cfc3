"""Submission score maps: output formats, resume and the run manifest,
with a fake inferencer (the model-driven runs are tests/cli)."""
import hashlib
import json
import os
import os.path as osp
import re

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
from mmseg_ood.apis.map_formats import FishyscapesMaps, NpyMaps, SMIYCMaps
from mmseg_ood.apis.run_manifest import (
    RUN_MANIFEST,
    RunManifestError,
    checkpoint_fingerprint,
    run_manifest,
)
from mmseg_ood.models.scores import EnergyScore, MaxLogitScore

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
    with pytest.raises(ValueError, match='folder names'):
        build_map_format('smiyc', '/out', 'a/b', 'AnomalyTrack-all')


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

