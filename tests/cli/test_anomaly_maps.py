"""mmseg-ood-anomaly-maps on the demo world.

A randomly initialised demo model (saved as MMEngine saves checkpoints) is run
on the demo Fishyscapes L&F-layout images; its maps are compared with the
logits of MMSeg's own ``inference_model`` scored independently.
"""
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time

import cv2
import h5py
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import save_checkpoint
from mmseg.apis import inference_model
from mmseg.registry import MODELS
from scipy.ndimage import gaussian_filter

from mmseg_ood.apis import load_smiyc_hdf5
from mmseg_ood.apis.run_manifest import (
    RUN_MANIFEST,
    RUN_RECORDS,
    read_output_records,
)
from mmseg_ood.cli import anomaly_maps as tool
from mmseg_ood.utils.constants import CITYSCAPES_CLASSES

from ..apis.test_anomaly_maps import _manifest, _maps
from ..conftest import demo_config

DEMO = 'deeplabv3plus_balanced_energy_demo.py'
pytestmark = pytest.mark.slow


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
def npy_run(demo_world, model_files, tmp_path_factory):
    config, checkpoint = model_files
    img_dir = osp.join(demo_world['fs_laf'], 'original')
    out = str(tmp_path_factory.mktemp('maps') / 'out')
    result = tool.main([config, checkpoint, img_dir, out, '--no-progress'])
    return img_dir, out, result


def _mmseg_logits(model_files, img_path):
    """Logits of MMSeg's inference_model, without the tool's code."""
    config, checkpoint = model_files
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    state = torch.load(checkpoint, map_location='cpu')
    model.load_state_dict(state['state_dict'])
    model.cfg = cfg
    cfg.test_pipeline = cfg.test_dataloader.fs_laf.dataset.pipeline
    model.eval()
    return inference_model(model, img_path).seg_logits.data.double()


def reference_maps(model_files, img_path):
    """The blurred energy of the first 19 channels (scipy, float64) and
    the class map."""
    logits = _mmseg_logits(model_files, img_path)
    energy = -torch.logsumexp(logits[:19], 0).numpy()
    blurred = gaussian_filter(energy, sigma=1.0, mode='mirror', truncate=3.0)
    return blurred, logits[:19].argmax(0).numpy()


def test_npy_outputs_names_shapes_dtypes(npy_run):
    img_dir, out, result = npy_run
    images = sorted(os.listdir(img_dir))
    assert len(result['written']) == len(images) == 3
    assert result['skipped'] == []
    stems = [osp.splitext(name)[0] for name in images]
    assert sorted(os.listdir(out)) == sorted(
        [f'{s}_anomaly.npy' for s in stems] +
        [f'{s}_segmentation.npy' for s in stems] + [RUN_MANIFEST, RUN_RECORDS])
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
    np.testing.assert_allclose(anomaly, energy, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(
        np.load(osp.join(out, f'{stem}_segmentation.npy')), classes)


def test_checkpoint_loads_with_weights_only(model_files):
    # numpy values in meta, as MMEngine writes them: torch's safe loader
    # reads it thanks to mmseg_ood's allow-list
    state = torch.load(model_files[1], map_location='cpu', weights_only=True)
    assert state['meta']['iter'] == 0


def test_resume_skips_complete_and_redoes_partial(npy_run, model_files,
                                                  tmp_path):
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
        if not name.startswith(victim_image) and name != RUN_RECORDS:
            assert os.stat(osp.join(out, name)).st_mtime_ns == mtimes[name]
    assert sorted(os.listdir(out)) == names  # no temporary file left
    again = tool.main([*model_files, img_dir, out, '--no-progress'])
    assert again['written'] == [] and len(again['skipped']) == 3
    forced = tool.main(
        [*model_files, img_dir, out, '--no-progress', '--overwrite'])
    assert len(forced['written']) == 3


def test_fishyscapes_contract(npy_run, model_files, tmp_path):
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
        [f'{i:04d}_segmentation.npy' for i in range(3)] +
        [RUN_MANIFEST, RUN_RECORDS])
    for i, stem in enumerate(stems):
        np.testing.assert_array_equal(
            np.load(out / f'{i:04d}_anomaly.npy'),
            np.load(osp.join(npy_out, f'{stem}_anomaly.npy')))
    (inputs / 'frame.png').write_bytes(b'')
    with pytest.raises(SystemExit, match='DDDD_'):
        tool.main([*model_files, str(inputs), str(out), '--format',
                   'fishyscapes'])


def test_smiyc_store_round_trips_and_resumes(npy_run, model_files, tmp_path):
    img_dir, npy_out, _ = npy_run
    out = tmp_path / 'outputs'
    args = [*model_files, img_dir, str(out), '--format', 'smiyc',
            '--method-name', 'BalancedEnergy', '--dataset-name',
            'AnomalyTrack-all', '--no-progress']
    tool.main(args)
    folder = out / 'anomaly_p' / 'BalancedEnergy' / 'AnomalyTrack-all'
    stems = [osp.splitext(n)[0] for n in sorted(os.listdir(img_dir))]
    assert sorted(os.listdir(folder)) == sorted(
        [f'{s}.hdf5' for s in stems] + [RUN_MANIFEST, RUN_RECORDS])
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
    with pytest.raises(SystemExit, match='--method-name'):
        tool.main([*model_files, img_dir, str(out), '--format', 'smiyc'])
    # the set names the folder; it is the one --dataset-name gave
    result = tool.main([*model_files, img_dir, str(out), '--format', 'smiyc',
                        '--method-name', 'BalancedEnergy', '--set',
                        'smiyc_anomaly', '--no-progress'])
    assert len(result['skipped']) == 3
    for wrong in (['--dataset-name', 'AnomalyTrack-validation'],
                  ['--set', 'smiyc_obstacle', '--dataset-name',
                   'AnomalyTrack-all']):
        with pytest.raises(SystemExit, match='AnomalyTrack-all'):
            tool.main([*model_files, img_dir, str(out), '--format', 'smiyc',
                       '--method-name', 'BalancedEnergy', *wrong])
    with pytest.raises(SystemExit, match='--set'):
        tool.main([*model_files, img_dir, str(out), '--format', 'smiyc',
                   '--method-name', 'BalancedEnergy'])


def test_other_scores_and_no_blur(npy_run, model_files, tmp_path):
    img_dir, _, _ = npy_run
    out = tmp_path / 'out'
    tool.main([*model_files, img_dir, str(out), '--score-options',
               'type=MaxLogitScore', 'blur=None', '--no-progress'])
    name = sorted(os.listdir(img_dir))[0]
    logits = _mmseg_logits(model_files, osp.join(img_dir, name))
    expected = -logits[:19].max(0).values.numpy()
    np.testing.assert_allclose(
        np.load(out / f'{osp.splitext(name)[0]}_anomaly.npy'), expected,
        rtol=1e-5, atol=1e-5)


def test_missing_checkpoint_is_named(npy_run, model_files, tmp_path):
    img_dir, _, _ = npy_run
    with pytest.raises(SystemExit, match='mmseg-ood-anomaly-maps: error: '
                       '.*nope.pth'):
        tool.main([model_files[0], str(tmp_path / 'nope.pth'), img_dir,
                   str(tmp_path / 'o')])


def test_changed_settings_are_not_resumed(npy_run, model_files, tmp_path):
    img_dir, first_out, _ = npy_run
    out = str(tmp_path / 'out')
    shutil.copytree(first_out, out)
    before = _maps(out)
    assert _manifest(out)['score']['type'] == 'EnergyScore'
    with pytest.raises(SystemExit) as error:
        tool.main([*model_files, img_dir, out, '--score-options',
                   'type=MaxLogitScore', '--no-progress'])
    message = str(error.value)
    assert "score.type: 'EnergyScore' there, 'MaxLogitScore' now" in message
    assert '--overwrite' in message and out in message
    after = _maps(out)  # nothing was touched
    assert all(np.array_equal(before[k], after[k]) for k in before)
    # another checkpoint (same architecture, other weights)
    other = tmp_path / 'other.pth'
    state = torch.load(model_files[1])
    state['state_dict'] = {k: v + 1 if v.is_floating_point() else v
                           for k, v in state['state_dict'].items()}
    torch.save(state, other)
    with pytest.raises(SystemExit, match='checkpoint.path') as error:
        tool.main([model_files[0], str(other), img_dir, out,
                   '--no-progress'])
    assert 'checkpoint.sha256_head_tail' in str(error.value)

    max_logit = ['--score-options', 'type=MaxLogitScore']
    forced = tool.main([*model_files, img_dir, out, *max_logit,
                        '--no-progress', '--overwrite'])
    assert len(forced['written']) == 3
    assert _manifest(out)['score']['type'] == 'MaxLogitScore'
    fresh = str(tmp_path / 'fresh')
    tool.main([*model_files, img_dir, fresh, *max_logit, '--no-progress'])
    recomputed, expected = _maps(out), _maps(fresh)
    for name in before:
        np.testing.assert_array_equal(recomputed[name], expected[name])
        if name.endswith('_anomaly.npy'):  # the energy maps are gone
            assert not np.allclose(recomputed[name], before[name])
    # same settings again: resumes (nothing to do)
    again = tool.main([*model_files, img_dir, out, *max_logit,
                       '--no-progress'])
    assert again['written'] == [] and len(again['skipped']) == 3


def test_a_checkpoint_of_another_model_is_an_error(npy_run, model_files,
                                                   tmp_path):
    # before: MMEngine logged the mismatch and the tool wrote maps of a
    # partly random model
    img_dir, _, _ = npy_run
    other = tmp_path / 'other.pth'
    state = torch.load(model_files[1])
    state['state_dict'] = {k: (v[:5] if 'conv_seg' in k else v)
                           for k, v in state['state_dict'].items()}
    torch.save(state, other)
    out = tmp_path / 'o'
    with pytest.raises(SystemExit) as error:
        tool.main([model_files[0], str(other), img_dir, str(out),
                   '--no-progress'])
    message = str(error.value)
    assert message.startswith(f'mmseg-ood-anomaly-maps: error: {other} does '
                              'not fit the model of the config')
    assert ('4 tensors differ in shape (e.g. [\'auxiliary_head.conv_seg.'
            "bias: (5,) in the checkpoint, (19,) in the model'") in message
    assert not list(out.glob('*.npy'))
    cut = tmp_path / 'cut.pth'
    data = open(model_files[1], 'rb').read()
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(SystemExit, match=f'{cut} is not a readable '
                       'checkpoint'):
        tool.main([model_files[0], str(cut), img_dir, str(out),
                   '--no-progress'])


def test_a_partial_checkpoint_load_is_allowed_and_recorded(
        npy_run, model_files, tmp_path, capsys):
    """--allow-partial-checkpoint loads the tensors that fit, warns, and
    records the fit in the manifest; a strict run does not resume such a
    folder."""
    img_dir, _, _ = npy_run
    other = tmp_path / 'other.pth'
    state = torch.load(model_files[1])
    state['state_dict'] = {k: v for k, v in state['state_dict'].items()
                           if not k.startswith('auxiliary_head.')}
    state['state_dict']['extra.weight'] = torch.zeros(2)
    torch.save(state, other)
    out = tmp_path / 'partial'
    args = [model_files[0], str(other), img_dir, str(out), '--no-progress']
    with pytest.raises(SystemExit, match='--allow-partial-checkpoint'):
        tool.main(args)
    result = tool.main([*args, '--allow-partial-checkpoint'])
    assert len(result['written']) == 3
    assert f'WARNING: {other} fits the model only partly' in \
        capsys.readouterr().out
    manifest = _manifest(str(out))
    assert manifest['allow_partial_checkpoint'] is True
    fit = manifest['checkpoint_fit']
    assert fit['partial'] is True and fit['unexpected'] == ['extra.weight']
    assert fit['missing'] == sorted(
        k for k in torch.load(model_files[1])['state_dict']
        if k.startswith('auxiliary_head.'))
    # the decode head is the checkpoint's: the maps equal the full model's
    # (the auxiliary head does not take part in inference)
    full = _maps(npy_run[1])
    for name, array in _maps(str(out)).items():
        np.testing.assert_array_equal(array, full[name])
    again = tool.main([*args, '--allow-partial-checkpoint'])
    assert again['written'] == [] and len(again['skipped']) == 3
    with pytest.raises(SystemExit, match='allow_partial_checkpoint: True '
                       'there, None now'):
        tool.main(args)


def test_a_killed_run_resumes_and_leaves_nothing_behind(demo_world,
                                                        model_files,
                                                        tmp_path):
    """kill -9 in the middle of mmseg-ood-anomaly-maps (a real SIGKILL):
    the next run removes its temporary files, redoes only what is not
    recorded, and a third run has nothing to do."""
    img_dir = tmp_path / 'in'
    img_dir.mkdir()
    source = osp.join(demo_world['fs_laf'], 'original')
    for k in range(5):
        for name in sorted(os.listdir(source)):
            shutil.copy(osp.join(source, name), img_dir / f'{k:02d}_{name}')
    out = tmp_path / 'out'
    command = [sys.executable, '-m', 'mmseg_ood.cli.anomaly_maps',
               *model_files, str(img_dir), str(out), '--no-progress']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 300
    while len(list(out.glob('*_anomaly.npy'))) < 3:
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(read_output_records(str(out)))
    assert 3 <= done < 15
    result = tool.main([*model_files, str(img_dir), str(out),
                        '--no-progress'])
    assert len(result['skipped']) == done
    names = os.listdir(out)
    assert not [n for n in names if n.endswith('.partial')]
    assert sorted(names) == sorted(
        [f'{osp.splitext(n)[0]}_{kind}.npy' for n in os.listdir(img_dir)
         for kind in ('anomaly', 'segmentation')] +
        [RUN_MANIFEST, RUN_RECORDS])
    assert len(read_output_records(str(out))) == 15
    again = tool.main([*model_files, str(img_dir), str(out),
                       '--no-progress'])
    assert again['written'] == [] and len(again['skipped']) == 15
