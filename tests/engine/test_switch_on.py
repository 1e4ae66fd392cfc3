"""Switching the method on in MMSeg's own configs: what the written config
holds after MMEngine merged it into its source, compared with the source.
(Training runs of these configs: tests/cli/test_switch_on.py.)"""
import pytest
from mmengine.config import Config

from mmseg_ood.engine.outlier_exposure_checks import (
    check_test_config,
    check_train_config,
    head_configs,
)
from mmseg_ood.engine.switch_on import (
    SwitchOnError,
    SwitchOnOptions,
    switch_on,
    write_switched_on_config,
)

#: MMSeg configs and the head whose logits are scored (hand-picked: the
#: decode head; OCRNet's last head; PointRend's coarse head).
MMSEG_CONFIGS = {
    'pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py': 'decode_head',
    'segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py':
    'decode_head',
    'ocrnet/ocrnet_hr18s_4xb2-80k_cityscapes-512x1024.py': 'decode_head.1',
    'bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py':
    'decode_head',
    'point_rend/pointrend_r50_4xb2-80k_cityscapes-512x1024.py':
    'decode_head.0',
    'upernet/upernet_r18_4xb2-80k_cityscapes-512x1024.py': 'decode_head',
    'stdc/stdc1_4xb12-80k_cityscapes-512x1024.py': 'decode_head',
}


PSPNET = 'pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py'
#: Run in the fast loop; the others in the full suite.
FAST = (PSPNET, 'ocrnet/ocrnet_hr18s_4xb2-80k_cityscapes-512x1024.py',
        'point_rend/pointrend_r50_4xb2-80k_cityscapes-512x1024.py')


def losses_of(head):
    losses = head['loss_decode']
    return [losses] if isinstance(losses, dict) else list(losses)


def switched(tmp_path, source, **options):
    out = tmp_path / 'switched.py'
    written = write_switched_on_config(source, str(out),
                                       SwitchOnOptions(**options))
    return written.source, Config.fromfile(str(out)), out


@pytest.mark.parametrize('name', [
    pytest.param(name, marks=[] if name in FAST else pytest.mark.slow)
    for name in MMSEG_CONFIGS
])
def test_mmseg_configs_switched_on(tmp_path, name):
    source, cfg, _ = switched(tmp_path, f'mmseg::{name}')
    heads = dict(head_configs(cfg.model))
    # the same heads as the source: none added (SegFormer gets no
    # auxiliary head), none lost (OCRNet, BiSeNetV2, STDC keep their lists)
    assert list(heads) == [p for p, _ in head_configs(source.model)]
    outlier_losses = []
    for path, source_head in head_configs(source.model):
        head = heads[path]
        # only the losses and a pixel sampler change
        unchanged = {k: v for k, v in source_head.items()
                     if k not in ('loss_decode', 'sampler')}
        assert {k: head[k] for k in unchanged} == unchanged, path
        assert head.get('sampler') is None, path
        before, after = losses_of(source_head), losses_of(head)
        if head.type == 'STDCHead':  # targets from the labels: untouched
            assert after == before
            continue
        for old, new in zip(before, after):
            assert old.type == 'CrossEntropyLoss'
            assert new == dict(old, type='InlierCrossEntropyLoss'), path
        outlier_losses += [(path, loss) for loss in after[len(before):]]
    scored = f'model.{MMSEG_CONFIGS[name]}'
    assert outlier_losses == [(scored, dict(
        type='BalancedEnergyLoss', prior='cityscapes_paper', num_classes=19,
        loss_weight=0.1))]
    # the paste lands in the dataset's own pipeline, after LoadAnnotations
    pipeline = [t.to_dict() for t in cfg.train_dataloader.dataset.pipeline]
    expected = [t.to_dict() for t in source.train_dataloader.dataset.pipeline]
    expected.insert(2, dict(type='PasteCocoObjects', data_root='data/coco',
                            prob=0.1))
    assert expected[1]['type'] == 'LoadAnnotations'
    assert pipeline == expected
    # anomaly sets and the anomaly metric replace MMSeg's val/test
    assert list(cfg.val_dataloader) == ['fs_laf']
    assert list(cfg.test_dataloader) == ['fs_laf', 'fs_static',
                                         'road_anomaly']
    assert cfg.val_dataloader.fs_laf.dataset.type == 'AnomalyDataset'
    assert cfg.val_dataloader.fs_laf.dataset.pipeline[1].scale == \
        source.test_dataloader.dataset.pipeline[1].scale
    for key in ('val_evaluator', 'test_evaluator'):
        assert cfg[key].to_dict() == dict(
            type='AnomalyMetric', score=dict(
                type='EnergyScore', num_classes=19,
                blur=dict(kernel_size=7, sigma=1.0)))
    assert cfg.val_cfg.type == 'AnomalySetsValLoop'
    assert cfg.test_cfg.type == 'AnomalySetsTestLoop'
    assert cfg.default_hooks.checkpoint.save_best == 'fs_laf/AP'
    assert 'mmseg_ood' in cfg.custom_imports.imports
    assert [h.type for h in cfg.custom_hooks] == ['OutlierExposureCheckHook']
    # what the checks demand, the written config has
    check_train_config(cfg)
    check_test_config(cfg)


@pytest.mark.parametrize('name', FAST[:2])
def test_switching_on_twice_changes_nothing_more(tmp_path, name):
    _, cfg, _ = switched(tmp_path, f'mmseg::{name}')
    again = switch_on(cfg)
    assert 'model' not in again.names()
    assert 'train_pipeline' not in again.names()
    assert 'train_dataloader' not in again.names()
    assert [h['type'] for h in again['custom_hooks']] == [
        'OutlierExposureCheckHook']
    assert again['custom_imports']['imports'] == ['mmseg_ood']


def test_another_dataset_gets_a_uniform_prior_and_its_classes(tmp_path):
    source, cfg, out = switched(
        tmp_path, 'mmseg::upernet/upernet_r18_4xb4-80k_ade20k-512x512.py',
        sets_root='data/sets', val_sets=('road_anomaly', ),
        test_sets=('smiyc_obstacle', 'laf_noknown'), test_scale=(1024, 512))
    energy = losses_of(cfg.model.decode_head)[-1]
    assert energy.prior == 'uniform' and energy.num_classes == 150
    assert cfg.val_evaluator.score.num_classes == 150
    assert 'Estimate yours with mmseg-ood-prior' in out.read_text()
    # ADE20K's LoadAnnotations(reduce_zero_label=True) stays before it
    steps = cfg.train_dataloader.dataset.pipeline
    assert steps[1].reduce_zero_label and steps[2].type == 'PasteCocoObjects'
    assert list(cfg.val_dataloader) == ['road_anomaly']
    assert list(cfg.test_dataloader) == ['smiyc_obstacle', 'laf_noknown']
    assert cfg.test_dataloader.laf_noknown.dataset.data_root == \
        'data/sets/smiyc/LostAndFound-testNoKnown'
    assert cfg.test_dataloader.laf_noknown.dataset.pipeline[1].scale == (
        1024, 512)
    assert cfg.default_hooks.checkpoint.save_best == 'road_anomaly/AP'


def test_energy_loss_and_options(tmp_path):
    _, cfg, _ = switched(
        tmp_path, f'mmseg::{PSPNET}',
        loss='EnergyLoss', loss_weight=0.2, prob=0.3, coco_root='bank')
    assert losses_of(cfg.model.decode_head)[-1] == dict(
        type='EnergyLoss', num_classes=19, loss_weight=0.2)
    assert cfg.train_dataloader.dataset.pipeline[2] == dict(
        type='PasteCocoObjects', data_root='bank', prob=0.3)
    with pytest.raises(SwitchOnError, match='--prob 0'):
        SwitchOnOptions(prob=0).check()
    with pytest.raises(SwitchOnError, match=r"--val-sets \['x'\]"):
        SwitchOnOptions(val_sets=('x', )).check()


LOCAL_SOURCE = """
_base_ = ['mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py']
train_dataloader = dict(dataset=dict(
    _delete_=True, type='ConcatDataset', datasets=[
        dict(type='RepeatDataset', times=2, dataset=dict(
            type='CityscapesDataset', data_root='a',
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadAnnotations'),
                      dict(type='PackSegInputs')])),
        dict(type='CityscapesDataset', data_root='b',
             pipeline=[dict(type='LoadImageFromFile'),
                       dict(type='PackSegInputs')])]))
"""


def test_a_local_source_with_wrapped_datasets(tmp_path):
    (tmp_path / 'mine').mkdir()
    source = tmp_path / 'mine' / 'source.py'
    source.write_text(LOCAL_SOURCE)
    out = tmp_path / 'switched' / 'out.py'
    write_switched_on_config(str(source), str(out))
    # the base is the source, relative to the written file
    assert "_base_ = ['../mine/source.py']" in out.read_text()
    cfg = Config.fromfile(str(out))
    first, second = cfg.train_dataloader.dataset.datasets
    assert [t.type for t in first.dataset.pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'PasteCocoObjects',
        'PackSegInputs']
    assert first.times == 2 and first.dataset.data_root == 'a'
    # a pipeline without labels gets nothing
    assert [t.type for t in second.pipeline] == ['LoadImageFromFile',
                                                  'PackSegInputs']
    check_train_config(cfg)


def test_what_cannot_be_switched_on(tmp_path):
    source = tmp_path / 'dice.py'
    source.write_text(
        "_base_ = ['mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-"
        "512x1024.py']\nmodel = dict(decode_head=dict(loss_decode=dict("
        "_delete_=True, type='DiceLoss')))\n")
    out = tmp_path / 'out.py'
    with pytest.raises(SwitchOnError,
                       match=r'model.decode_head.loss_decode is DiceLoss, '
                       r'which cannot take the label of pasted outliers'):
        write_switched_on_config(str(source), str(out))
    assert not out.exists()
    out.write_text('# mine')
    with pytest.raises(FileExistsError, match='--overwrite'):
        write_switched_on_config(
            'mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py',
            str(out))
    with pytest.raises(FileNotFoundError, match='no such config'):
        write_switched_on_config('mmseg::pspnet/nope.py',
                                 str(tmp_path / 'x.py'))
