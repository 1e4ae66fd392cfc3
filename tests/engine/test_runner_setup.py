"""What the train and test tools do to a config before the Runner."""
import pytest
import torch
from mmengine.config import Config

from mmseg_ood.engine import runner_setup
from mmseg_ood.engine.checkpoint import CheckpointError
from mmseg_ood.engine.hooks import OutlierLabelGuardHook, RandomStateHook
from mmseg_ood.engine.runner_setup import (
    apply_resume,
    check_set_options,
    enable_amp,
    ensure_custom_hooks,
    keep_curves,
    load_run_config,
    prepare_test_config,
    prepare_train_config,
    select_test_sets,
)

METRIC = dict(type='AnomalyMetric',
              score=dict(type='EnergyScore', num_classes=19))


def test_resume_takes_the_seed_of_the_checkpoint(tmp_path):
    # MMEngine builds the sampler before it reads the checkpoint, so the
    # seed must come from the checkpoint before the runner is built
    checkpoint = tmp_path / 'iter_3.pth'
    torch.save(dict(meta=dict(seed=1234, iter=3)), checkpoint)
    cfg = Config(dict(work_dir=str(tmp_path)))
    apply_resume(cfg, str(checkpoint))
    assert cfg.resume and cfg.load_from == str(checkpoint)
    assert cfg.randomness.seed == 1234
    cfg = Config(dict(work_dir=str(tmp_path),
                      randomness=dict(seed=0, deterministic=True)))
    (tmp_path / 'last_checkpoint').write_text(str(checkpoint))
    apply_resume(cfg, 'auto')
    assert cfg.randomness == dict(seed=1234, deterministic=True)


def test_resume_without_a_checkpoint(tmp_path):
    cfg = Config(dict(work_dir=str(tmp_path), load_from='zoo.pth'))
    apply_resume(cfg, 'auto')  # nothing to resume: a new run
    assert 'resume' not in cfg and cfg.load_from == 'zoo.pth'
    with pytest.raises(FileNotFoundError, match='--resume nope.pth'):
        apply_resume(cfg, 'nope.pth')
    apply_resume(cfg, None)
    assert 'resume' not in cfg


def _no_accelerator(monkeypatch, cuda=False):
    for name in ('is_cuda_available', 'is_npu_available', 'is_mlu_available',
                 'is_musa_available'):
        monkeypatch.setattr(runner_setup, name, lambda: False)
    if cuda:
        monkeypatch.setattr(runner_setup, 'is_cuda_available', lambda: True)


def test_amp_on_cpu_stops_with_the_reason(monkeypatch):
    _no_accelerator(monkeypatch)
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
    with pytest.raises(RuntimeError, match='--amp needs a CUDA'):
        enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'OptimWrapper'


def test_amp_with_a_gpu_uses_a_dynamic_loss_scale(monkeypatch):
    _no_accelerator(monkeypatch, cuda=True)
    cfg = Config(dict(optim_wrapper=dict(
        optimizer=dict(type='AdamW', lr=1e-3))))
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    already = Config(dict(optim_wrapper=dict(type='mmengine.AmpOptimWrapper',
                                             loss_scale=512.0)))
    enable_amp(already)
    assert already.optim_wrapper.loss_scale == 512.0
    other = Config(dict(optim_wrapper=dict(type='ApexOptimWrapper')))
    with pytest.raises(ValueError, match='ApexOptimWrapper'):
        enable_amp(other)


def test_train_hooks_are_added_once_whatever_the_type_spelling():
    cfg = Config(dict(custom_hooks=[dict(type='mmseg.OutlierLabelGuardHook'),
                                    dict(type='EvalModeHook', modules=['x'])]))
    ensure_custom_hooks(cfg, [OutlierLabelGuardHook, RandomStateHook])
    assert [h['type'] for h in cfg.custom_hooks] == [
        'mmseg.OutlierLabelGuardHook', 'EvalModeHook', 'RandomStateHook']
    cfg = Config(dict(custom_hooks=[dict(type=RandomStateHook)]))
    prepare_train_config(cfg)
    assert [h['type'] for h in cfg.custom_hooks] == [
        RandomStateHook, 'OutlierExposureCheckHook', 'NonFiniteLossHook',
        'DataFilesCheckHook']
    # the checks hook extends the guard: listing it satisfies both
    cfg = Config(dict(custom_hooks=[dict(type='OutlierExposureCheckHook')]))
    ensure_custom_hooks(cfg, [OutlierLabelGuardHook])
    assert [h['type'] for h in cfg.custom_hooks] == [
        'OutlierExposureCheckHook']


def _test_cfg():
    loader = dict(batch_size=1, dataset=dict(type='AnomalyDataset'))
    return Config(dict(
        test_dataloader=dict(fs_laf=loader, road_anomaly=loader),
        anomaly_sets=dict(smiyc_anomaly=loader),
        test_evaluator=[dict(METRIC, prefix='a'),
                        dict(METRIC, type='mmseg.AnomalyMetric',
                             prefix='b'),
                        dict(type='IoUMetric')],
        test_cfg=dict(type='TestLoop')))


def test_sets_are_picked_from_the_loaders_and_the_catalogue():
    cfg = _test_cfg()
    select_test_sets(cfg, ['smiyc_anomaly', 'fs_laf'])
    assert list(cfg.test_dataloader) == ['smiyc_anomaly', 'fs_laf']
    assert cfg.test_cfg == dict(type='AnomalySetsTestLoop')
    with pytest.raises(KeyError, match=r"Unknown anomaly set\(s\) "
                       r"\['cityscapes'\].*'road_anomaly'"):
        select_test_sets(_test_cfg(), ['cityscapes'])
    single = Config(dict(test_dataloader=dict(
        batch_size=1, dataset=dict(type='AnomalyDataset'))))
    select_test_sets(single)
    assert list(single.test_dataloader) == ['test']
    per_set = _test_cfg()
    per_set.test_evaluator = dict(fs_laf=METRIC, road_anomaly=METRIC)
    select_test_sets(per_set, ['road_anomaly'])
    assert list(per_set.test_evaluator) == ['road_anomaly']
    with pytest.raises(KeyError, match="none for \\['smiyc_anomaly'\\]"):
        per_set = _test_cfg()
        per_set.test_evaluator = dict(fs_laf=METRIC, road_anomaly=METRIC)
        select_test_sets(per_set, ['smiyc_anomaly'])


def test_curves_are_kept_by_every_anomaly_metric():
    cfg = _test_cfg()
    keep_curves(cfg)
    assert [m.get('keep_curve') for m in cfg.test_evaluator] == [
        True, True, None]


def test_test_config_names_the_missing_checkpoint(tmp_path):
    cfg = _test_cfg()
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        prepare_test_config(cfg, str(tmp_path / 'nope.pth'))
    checkpoint = tmp_path / 'x.pth'
    checkpoint.write_bytes(b'')
    with pytest.raises(CheckpointError, match='x.pth is not a readable'):
        prepare_test_config(cfg, str(checkpoint))
    torch.save(dict(state_dict={}), str(checkpoint))
    prepare_test_config(cfg, str(checkpoint), overlays=2)
    assert cfg.load_from == str(checkpoint) and cfg.resume is False
    assert cfg.custom_hooks == [
        dict(type='CheckpointFitHook', checkpoint=str(checkpoint),
             allow_partial=False),
        dict(type='AnomalyOverlayHook', num_images=2)]


# ---------------------------------------------------------------------------
# Bad input stops before the Runner: keys, checkpoints
# ---------------------------------------------------------------------------
def test_a_stale_last_checkpoint_is_named(tmp_path):
    # before: torch's raw 'No such file' from inside MMEngine
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_8.pth'))
    cfg = Config(dict(work_dir=str(tmp_path)))
    with pytest.raises(FileNotFoundError,
                       match=f'{tmp_path}/last_checkpoint names '
                       f'{tmp_path}/iter_8.pth, which does not exist.*'
                       '--resume CKPT'):
        apply_resume(cfg, 'auto')
    assert not cfg.get('resume', False)


def test_a_truncated_resume_checkpoint_is_named(tmp_path):
    checkpoint = tmp_path / 'iter_3.pth'
    torch.save(dict(meta=dict(seed=1, iter=3), state_dict={}), checkpoint)
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[:len(data) // 2])
    (tmp_path / 'last_checkpoint').write_text(str(checkpoint))
    cfg = Config(dict(work_dir=str(tmp_path)))
    for resume in ('auto', str(checkpoint)):
        with pytest.raises(CheckpointError,
                           match=f'{checkpoint} is not a readable'):
            apply_resume(cfg, resume)


@pytest.mark.parametrize('key', [
    'test_dataloader.fs_lfa.dataset.data_root',
    'val_dataloader.road_anomly.batch_size',
    'anomaly_sets.fslaf.dataset.data_root',
    'test_evaluator.fs_lfa.score.type',
])
def test_a_set_name_typo_in_cfg_options_is_named(key):
    loader = dict(batch_size=1, dataset=dict(type='AnomalyDataset'))
    cfg = Config(dict(
        test_dataloader=dict(fs_laf=loader, road_anomaly=loader),
        val_dataloader=dict(fs_laf=loader, road_anomaly=loader),
        anomaly_sets=dict(fs_laf=loader, road_anomaly=loader),
        test_evaluator=dict(fs_laf=METRIC, road_anomaly=METRIC)))
    with pytest.raises(KeyError, match=rf"--cfg-options {key}: .* has no set "
                       r".*its sets are \['fs_laf', 'road_anomaly'\]"):
        check_set_options(cfg, {key: 'x'})
    # the right names, single loaders and single metrics pass
    check_set_options(cfg, {key.replace(key.split('.')[1], 'fs_laf'): 'x'})
    single = Config(dict(test_dataloader=loader, test_evaluator=METRIC))
    check_set_options(single, {'test_dataloader.batch_size': 2,
                               'test_evaluator.fpr_rule': 'nearest'})


def test_load_run_config_checks_the_set_names(tmp_path):
    from ..conftest import demo_config
    with pytest.raises(KeyError, match="has no set 'fs_lfa'"):
        load_run_config(
            demo_config('deeplabv3plus_balanced_energy_demo.py'),
            {'test_dataloader.fs_lfa.dataset.data_root': 'x'})
