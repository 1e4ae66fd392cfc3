"""tools/misc/anomaly_maps.py and mmseg_ood.apis.submission on the demo world.

A randomly initialised demo model (saved as MMEngine saves checkpoints) is run
on the demo Fishyscapes L&F-layout images; its maps are compared with the
logits of MMSeg's own ``inference_model`` scored by
:func:`mmseg_ood.models.scores.anomaly_score`.
"""
import hashlib
import importlib.util
import json
import os
import os.path as osp
import re
import shutil

import cv2
import h5py
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import save_checkpoint
from mmseg.apis import inference_model
from mmseg.registry import MODELS

from mmseg_ood.apis import (find_images, load_smiyc_hdf5,
                            output_files, plan_outputs, score_settings,
                            write_anomaly_maps)
from mmseg_ood.apis.submission import (RUN_MANIFEST, RunManifestError,
                                       ScoreSettings, checkpoint_fingerprint,
                                       run_manifest)
from mmseg_ood.models.scores import anomaly_score
from mmseg_ood.utils.constants import CITYSCAPES_CLASSES
from ..conftest import REPO_ROOT, demo_config

TOOL = REPO_ROOT / 'tools' / 'misc' / 'anomaly_maps.py'
DEMO = 'deeplabv3plus_balanced_energy_demo.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('anomaly_maps_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def tool():
    return load_tool()


@pytest.fixture(scope='module')
def model_files(tmp_path_factory):
    """A demo-model config (no data paths needed) and a random checkpoint
    whose meta holds a numpy value, as MMEngine's checkpoints do."""
    root = tmp_path_factory.mktemp('model')
    config = root / 'demo_model.py'
    config.write_text(
        f"_base_ = [{demo_config(DEMO)!r}]\n"
        "model = dict(decode_head=dict(loss_decode=[\n"
        "    dict(type='InlierCrossEntropyLoss', loss_weight=1.0),\n"
        "    dict(type='BalancedEnergyLoss', prior='uniform',\n"
        "         num_classes=19, loss_weight=0.1)]))\n")
    cfg = Config.fromfile(str(config))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    checkpoint = root / 'random.pth'
    save_checkpoint(
        dict(state_dict=model.state_dict(),
             meta=dict(iter=np.int64(0),
                       dataset_meta=dict(classes=CITYSCAPES_CLASSES))),
        str(checkpoint))
    return str(config), str(checkpoint)


@pytest.fixture(scope='module')
def npy_run(demo_world, model_files, tool, tmp_path_factory):
    config, checkpoint = model_files
    img_dir = osp.join(demo_world['fs_laf'], 'original')
    out = str(tmp_path_factory.mktemp('maps') / 'out')
    result = tool.main([config, checkpoint, img_dir, out, '--no-progress'])
    return img_dir, out, result


def reference_maps(model_files, img_path):
    """Scores from MMSeg's inference_model, without the tool's code."""
    config, checkpoint = model_files
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    state = torch.load(checkpoint, map_location='cpu', weights_only=False)
    model.load_state_dict(state['state_dict'])
    model.cfg = cfg
    cfg.test_pipeline = cfg.test_dataloader.fs_laf.dataset.pipeline
    model.eval()
    logits = inference_model(model, img_path).seg_logits.data
    energy = anomaly_score(logits[None], 'energy', num_classes=19,
                           blur=True)[0].numpy()
    return energy, logits[:19].argmax(0).numpy()


def test_npy_outputs_names_shapes_dtypes(npy_run):
    img_dir, out, result = npy_run
    images = sorted(os.listdir(img_dir))
    assert len(result['written']) == len(images) == 3
    assert result['skipped'] == []
    stems = [osp.splitext(name)[0] for name in images]
    assert sorted(os.listdir(out)) == sorted(
        [f'{s}_anomaly.npy' for s in stems] +
        [f'{s}_segmentation.npy' for s in stems] + [RUN_MANIFEST])
    for name, stem in zip(images, stems):
        height, width = cv2.imread(osp.join(img_dir, name)).shape[:2]
        anomaly = np.load(osp.join(out, f'{stem}_anomaly.npy'))
        classes = np.load(osp.join(out, f'{stem}_segmentation.npy'))
        assert anomaly.shape == classes.shape == (height, width)
        assert anomaly.dtype == np.float32 and classes.dtype == np.uint8
        assert np.isfinite(anomaly).all() and classes.max() < 19


def test_maps_equal_the_score_of_mmseg_inference(npy_run, model_files):
    img_dir, out, _ = npy_run
    name = sorted(os.listdir(img_dir))[0]
    energy, classes = reference_maps(model_files, osp.join(img_dir, name))
    stem = osp.splitext(name)[0]
    anomaly = np.load(osp.join(out, f'{stem}_anomaly.npy'))
    np.testing.assert_allclose(anomaly, energy, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(
        np.load(osp.join(out, f'{stem}_segmentation.npy')), classes)


def test_checkpoint_needs_the_trusted_loader(model_files):
    # the tool loads it although torch's default refuses it
    with pytest.raises(Exception, match='weights_only'):
        torch.load(model_files[1], map_location='cpu')


def test_resume_skips_complete_and_redoes_partial(npy_run, model_files,
                                                  tool, tmp_path):
    img_dir, first_out, _ = npy_run
    out = str(tmp_path / 'out')
    shutil.copytree(first_out, out)
    names = sorted(os.listdir(out))
    mtimes = {n: os.stat(osp.join(out, n)).st_mtime_ns for n in names}
    assert RUN_MANIFEST in names
    victim = [n for n in names if n.endswith('_anomaly.npy')][1]
    full = open(osp.join(out, victim), 'rb').read()
    with open(osp.join(out, victim), 'wb') as f:
        f.write(full[:len(full) // 2])  # a truncated file
    result = tool.main([*model_files, img_dir, out, '--no-progress'])
    victim_image = victim[:-len('_anomaly.npy')]
    assert [osp.splitext(osp.basename(p))[0]
            for p in result['written']] == [victim_image]
    assert len(result['skipped']) == 2
    assert open(osp.join(out, victim), 'rb').read() == full
    for name in names:
        if not name.startswith(victim_image):
            assert os.stat(osp.join(out, name)).st_mtime_ns == mtimes[name]
    assert sorted(os.listdir(out)) == names  # no temporary file left
    again = tool.main([*model_files, img_dir, out, '--no-progress'])
    assert again['written'] == [] and len(again['skipped']) == 3
    forced = tool.main(
        [*model_files, img_dir, out, '--no-progress', '--overwrite'])
    assert len(forced['written']) == 3


def test_fishyscapes_contract(npy_run, model_files, tool, tmp_path):
    img_dir, npy_out, _ = npy_run
    inputs = tmp_path / 'input'
    inputs.mkdir()
    stems = []
    for i, name in enumerate(sorted(os.listdir(img_dir))):
        shutil.copy(osp.join(img_dir, name), inputs / f'{i:04d}_{name}')
        stems.append(osp.splitext(name)[0])
    out = tmp_path / 'output'
    tool.main([*model_files, str(inputs), str(out), '--format',
               'fishyscapes', '--suffixes', '.png', '--no-progress'])
    assert sorted(os.listdir(out)) == sorted(
        [f'{i:04d}_anomaly.npy' for i in range(3)] +
        [f'{i:04d}_segmentation.npy' for i in range(3)] + [RUN_MANIFEST])
    for i, stem in enumerate(stems):
        np.testing.assert_array_equal(
            np.load(out / f'{i:04d}_anomaly.npy'),
            np.load(osp.join(npy_out, f'{stem}_anomaly.npy')))
    (inputs / 'frame.png').write_bytes(b'')
    with pytest.raises(ValueError, match='DDDD_'):
        tool.main([*model_files, str(inputs), str(out), '--format',
                   'fishyscapes'])


def test_smiyc_store_round_trips_and_resumes(npy_run, model_files, tool,
                                             tmp_path):
    img_dir, npy_out, _ = npy_run
    out = tmp_path / 'outputs'
    args = [*model_files, img_dir, str(out), '--format', 'smiyc',
            '--method-name', 'BalancedEnergy', '--dataset-name',
            'AnomalyTrack-all', '--no-progress']
    tool.main(args)
    folder = out / 'anomaly_p' / 'BalancedEnergy' / 'AnomalyTrack-all'
    stems = [osp.splitext(n)[0] for n in sorted(os.listdir(img_dir))]
    assert sorted(os.listdir(folder)) == sorted(
        [f'{s}.hdf5' for s in stems] + [RUN_MANIFEST])
    for stem in stems:
        with h5py.File(folder / f'{stem}.hdf5', 'r') as f:
            assert list(f.keys()) == ['value']
            dataset = f['value']
            assert dataset.dtype == np.float16
            assert dataset.compression == 'gzip'
            assert dataset.compression_opts == 9
        expected = np.load(osp.join(npy_out, f'{stem}_anomaly.npy'))
        value = load_smiyc_hdf5(str(folder / f'{stem}.hdf5'))
        np.testing.assert_array_equal(value, expected.astype(np.float16))
    victim = folder / f'{stems[0]}.hdf5'
    victim.write_bytes(victim.read_bytes()[:100])
    result = tool.main(args)
    assert len(result['written']) == 1 and len(result['skipped']) == 2
    assert load_smiyc_hdf5(str(victim)).shape == expected.shape
    with pytest.raises(ValueError, match='--method-name'):
        tool.main([*model_files, img_dir, str(out), '--format', 'smiyc'])


def test_score_settings_follow_the_config_evaluator(model_files):
    cfg = Config.fromfile(model_files[0])
    s = score_settings(cfg)
    assert (s.score_type, s.num_classes, s.temperature, s.blur) == (
        'energy', 19, 1.0, True)
    s = score_settings(cfg, score_type='max_logit', blur=False,
                       temperature=2.0, num_classes=5)
    assert (s.score_type, s.num_classes, s.temperature, s.blur) == (
        'max_logit', 5, 2.0, False)
    cfg.test_evaluator = dict(type='IoUMetric')
    cfg.val_evaluator = dict(type='IoUMetric')
    s = score_settings(cfg)  # no AnomalyMetric: the defaults + decode head
    assert (s.score_type, s.num_classes, s.blur) == ('energy', 19, False)
    with pytest.raises(ValueError, match='Unknown score type'):
        score_settings(cfg, score_type='entropyy')


def test_other_scores_and_no_blur(npy_run, model_files, tool, tmp_path):
    img_dir, _, _ = npy_run
    out = tmp_path / 'out'
    tool.main([*model_files, img_dir, str(out), '--score-type', 'max_logit',
               '--no-blur', '--no-progress'])
    name = sorted(os.listdir(img_dir))[0]
    config, checkpoint = model_files
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    model.load_state_dict(torch.load(checkpoint, weights_only=False)
                          ['state_dict'])
    model.cfg = cfg
    cfg.test_pipeline = cfg.test_dataloader.fs_laf.dataset.pipeline
    model.eval()
    logits = inference_model(model, osp.join(img_dir, name)).seg_logits.data
    expected = -logits[:19].max(0).values.numpy()
    np.testing.assert_allclose(
        np.load(out / f'{osp.splitext(name)[0]}_anomaly.npy'), expected,
        rtol=1e-5, atol=1e-5)


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
    npy = output_files(img, '/data/in', '/out', 'npy')
    assert npy == dict(
        anomaly='/out/sub/0012_04_Maurener_Weg_8_000000_000030_rgb_'
        'anomaly.npy',
        segmentation='/out/sub/0012_04_Maurener_Weg_8_000000_000030_rgb_'
        'segmentation.npy')
    fs = output_files(img, '/data/in', '/out', 'fishyscapes')
    assert fs == dict(anomaly='/out/0012_anomaly.npy',
                      segmentation='/out/0012_segmentation.npy')
    laf = output_files('/x/04_Maurener_Weg_8_000000_000030_leftImg8bit.png',
                       '/x', '/o', 'smiyc', 'M', 'LostAndFound-test')
    assert laf == dict(anomaly='/o/anomaly_p/M/LostAndFound-test/'
                       '04_Maurener_Weg_8_000000_000030.hdf5')
    with pytest.raises(ValueError, match='both write'):
        plan_outputs(['/in/a/0001_x.png', '/in/b/0001_y.png'], '/in',
                     str(tmp_path), 'fishyscapes')
    a_file = tmp_path / 'file'
    a_file.write_text('x')
    with pytest.raises(NotADirectoryError, match='is a file'):
        plan_outputs(['/in/0001_x.png'], '/in', str(a_file), 'npy')
    with pytest.raises(ValueError, match='Unknown output format'):
        output_files(img, '/data/in', '/out', 'png')


def test_missing_checkpoint_is_named(npy_run, model_files, tool, tmp_path):
    img_dir, _, _ = npy_run
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        tool.main([model_files[0], str(tmp_path / 'nope.pth'), img_dir,
                   str(tmp_path / 'o')])


def _maps(out):
    return {
        name: np.load(osp.join(out, name))
        for name in sorted(os.listdir(out)) if name.endswith('.npy')
    }


def _manifest(out):
    with open(osp.join(out, RUN_MANIFEST)) as f:
        return json.load(f)


def test_changed_settings_are_not_resumed(npy_run, model_files, tool,
                                          tmp_path):
    img_dir, first_out, _ = npy_run
    out = str(tmp_path / 'out')
    shutil.copytree(first_out, out)
    before = _maps(out)
    assert _manifest(out)['score']['score_type'] == 'energy'
    with pytest.raises(RunManifestError) as error:
        tool.main([*model_files, img_dir, out, '--score-type', 'max_logit',
                   '--no-progress'])
    message = str(error.value)
    assert "score.score_type: 'energy' there, 'max_logit' now" in message
    assert '--overwrite' in message and out in message
    after = _maps(out)  # nothing was touched
    assert all(np.array_equal(before[k], after[k]) for k in before)
    # another checkpoint (same architecture, other weights)
    other = tmp_path / 'other.pth'
    state = torch.load(model_files[1], weights_only=False)
    state['state_dict'] = {k: v + 1 if v.is_floating_point() else v
                           for k, v in state['state_dict'].items()}
    torch.save(state, other)
    with pytest.raises(RunManifestError, match='checkpoint.path') as error:
        tool.main([model_files[0], str(other), img_dir, out,
                   '--no-progress'])
    assert 'checkpoint.sha256_head_tail' in str(error.value)

    forced = tool.main([*model_files, img_dir, out, '--score-type',
                        'max_logit', '--no-progress', '--overwrite'])
    assert len(forced['written']) == 3
    assert _manifest(out)['score']['score_type'] == 'max_logit'
    fresh = str(tmp_path / 'fresh')
    tool.main([*model_files, img_dir, fresh, '--score-type', 'max_logit',
               '--no-progress'])
    recomputed, expected = _maps(out), _maps(fresh)
    for name in before:
        np.testing.assert_array_equal(recomputed[name], expected[name])
        if name.endswith('_anomaly.npy'):  # the energy maps are gone
            assert not np.allclose(recomputed[name], before[name])
    # same settings again: resumes (nothing to do)
    again = tool.main([*model_files, img_dir, out, '--score-type',
                       'max_logit', '--no-progress'])
    assert again['written'] == [] and len(again['skipped']) == 3


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


def _fake_manifest(score_type):
    return run_manifest(None, 'https://example.org/model.pth',
                        ScoreSettings(score_type, 19), 'npy')


def test_interrupted_overwrite_never_mixes_settings(demo_world, tmp_path):
    img_dir = osp.join(demo_world['fs_laf'], 'original')
    images = find_images(img_dir)
    out = str(tmp_path / 'out')
    old, new = _fake_manifest('energy'), _fake_manifest('max_logit')
    write_anomaly_maps(_FakeInferencer(1.0), images, img_dir, out,
                       show_progress=False, manifest=old)
    with pytest.raises(RunManifestError, match='score.score_type'):
        write_anomaly_maps(_FakeInferencer(2.0), images, img_dir, out,
                           show_progress=False, manifest=new)
    # killed after the first image of an --overwrite run
    with pytest.raises(KeyboardInterrupt):
        write_anomaly_maps(_FakeInferencer(2.0, fail_at=1), images, img_dir,
                           out, overwrite=True, show_progress=False,
                           manifest=new)
    assert _manifest(out) == new
    # resuming with the new settings redoes the two maps of the old ones
    result = write_anomaly_maps(_FakeInferencer(2.0), images, img_dir, out,
                                show_progress=False, manifest=new)
    assert result['written'] == images[1:]
    assert result['skipped'] == images[:1]
    for name, value in _maps(out).items():
        if name.endswith('_anomaly.npy'):
            assert (value == 2.0).all(), name


def test_maps_of_unknown_origin_are_not_resumed(demo_world, tmp_path):
    img_dir = osp.join(demo_world['fs_laf'], 'original')
    images = find_images(img_dir)
    out = tmp_path / 'out'
    write_anomaly_maps(_FakeInferencer(1.0), images, img_dir, str(out),
                       show_progress=False)  # no manifest: none written
    assert not (out / RUN_MANIFEST).exists()
    manifest = _fake_manifest('energy')
    with pytest.raises(RunManifestError, match='no ' + re.escape(
            RUN_MANIFEST)):
        write_anomaly_maps(_FakeInferencer(2.0), images, img_dir, str(out),
                           show_progress=False, manifest=manifest)
    (out / RUN_MANIFEST).write_text('{broken')
    with pytest.raises(RunManifestError, match='not a readable'):
        write_anomaly_maps(_FakeInferencer(2.0), images, img_dir, str(out),
                           show_progress=False, manifest=manifest)
    result = write_anomaly_maps(_FakeInferencer(2.0), images, img_dir,
                                str(out), overwrite=True,
                                show_progress=False, manifest=manifest)
    assert len(result['written']) == 3
    assert _manifest(str(out)) == manifest


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
