"""Seeded training scenes at test-time geometry (prior and SML tools)."""
import copy

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_ood.apis.scenes import (
    SeededScenes,
    build_scene_dataloader,
    load_trained_model,
    scene_pipeline,
    with_uniform_loss_priors,
)
from mmseg_ood.engine.checkpoint import CheckpointMismatchError
from mmseg_ood.models.losses import BalancedEnergyLoss
from mmseg_ood.utils.constants import OUTLIER_INDEX as OUT

from ..conftest import demo_config

DEMO = 'deeplabv3plus_balanced_energy_demo.py'


def demo_cfg():
    return Config.fromfile(demo_config(DEMO))


def test_prior_pipeline_pastes_always_and_uses_test_geometry():
    cfg = demo_cfg()
    train = cfg.train_dataloader.dataset.pipeline
    pipeline = scene_pipeline(train, [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(512, 256), keep_ratio=True),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ], paste=True)
    assert [step['type'] for step in pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'PasteCocoObjects', 'Resize',
        'PackSegInputs'
    ]
    assert pipeline[2]['prob'] == 1.0
    assert train[2]['prob'] == 0.5  # the config is not changed


def test_prior_pipeline_needs_pasting_and_labels():
    test = [dict(type='PackSegInputs')]
    with pytest.raises(ValueError, match='has no PasteCocoObjects'):
        scene_pipeline([dict(type='LoadImageFromFile'),
                        dict(type='LoadAnnotations')], test, paste=True)
    with pytest.raises(ValueError, match='LoadAnnotations'):
        scene_pipeline([
            dict(type='LoadImageFromFile'),
            dict(type='PasteCocoObjects', data_root='x')
        ], test, paste=True)


def test_named_test_sets_must_share_the_test_geometry():
    cfg = demo_cfg()
    sets = [name for name, loader in cfg.test_dataloader.items()
            if isinstance(loader, dict) and 'dataset' in loader]
    assert len(sets) > 1  # the demo config evaluates several sets
    dataset = cfg.test_dataloader[sets[1]].dataset
    pipeline = copy.deepcopy(dataset.pipeline)
    assert pipeline[1]['type'] == 'Resize'
    pipeline[1]['scale'] = (256, 128)
    dataset.pipeline = pipeline
    with pytest.raises(ValueError, match='use different test pipelines'):
        build_scene_dataloader(cfg, paste=True)
    cfg.test_dataloader = None
    with pytest.raises(ValueError, match='no test_dataloader'):
        build_scene_dataloader(cfg, paste=True)


def test_dataloader_scenes_are_seeded_per_scene(demo_cwd):
    loader = build_scene_dataloader(demo_cfg(), paste=True, num_samples=8,
                                    seed=5)
    scenes = loader.dataset
    frames = len(scenes.dataset)
    assert len(scenes) == 8 and frames == 6
    np_state = np.random.get_state()[1].copy()
    forward = [scenes[i]['data_samples'] for i in range(8)]
    backward = [scenes[i]['data_samples'] for i in reversed(range(8))][::-1]
    # the global generator is left as it was
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    for a, b in zip(forward, backward):
        assert a.metainfo['img_path'] == b.metainfo['img_path']
        assert torch.equal(a.gt_sem_seg.data, b.gt_sem_seg.data)
        # pasting is forced on: every scene carries outlier pixels
        assert (a.gt_sem_seg.data == OUT).any()
    # scenes past the last frame reuse the frames with other pastes
    assert forward[6].metainfo['img_path'] == forward[0].metainfo['img_path']
    assert not torch.equal(forward[6].gt_sem_seg.data,
                           forward[0].gt_sem_seg.data)
    other_seed = build_scene_dataloader(demo_cfg(), paste=True, num_samples=2,
                                        seed=6)
    assert not torch.equal(other_seed.dataset[0]['data_samples'].gt_sem_seg
                           .data, forward[0].gt_sem_seg.data)


def test_pasted_scenes_rejects_bad_arguments():
    with pytest.raises(ValueError, match='num_samples'):
        SeededScenes([1, 2], num_samples=0)
    with pytest.raises(ValueError, match='seed'):
        SeededScenes([1, 2], seed=-1)
    with pytest.raises(ValueError, match='empty'):
        SeededScenes([])
    with pytest.raises(IndexError):
        SeededScenes([1, 2], num_samples=3)[3]


def test_uniform_loss_priors_reach_every_balanced_energy_loss():
    model = dict(
        type='EncoderDecoder',
        decode_head=dict(loss_decode=[
            dict(type='InlierCrossEntropyLoss'),
            dict(type='BalancedEnergyLoss', prior='missing.json',
                 num_classes=19),
            dict(type='EnergyLoss', num_classes=19),
        ]),
        auxiliary_head=[
            dict(loss_decode=dict(type='mmseg.BalancedEnergyLoss',
                                  prior=[1, 2, 3])),
            dict(loss_decode=(dict(type=BalancedEnergyLoss,
                                   prior='cityscapes_paper'), )),
        ],
        # not a loss of ours: a 'prior' key elsewhere is left alone
        data_preprocessor=dict(type='SegDataPreProcessor', prior='keep'))
    before = copy.deepcopy(model)
    out = with_uniform_loss_priors(model)
    assert model == before  # the input is not changed
    decode = out['decode_head']['loss_decode']
    assert decode[0] == before['decode_head']['loss_decode'][0]
    assert decode[1] == dict(type='BalancedEnergyLoss', prior='uniform',
                             num_classes=19)
    assert decode[2] == dict(type='EnergyLoss', num_classes=19)
    aux = out['auxiliary_head']
    assert aux[0]['loss_decode']['prior'] == 'uniform'
    assert aux[1]['loss_decode'][0]['prior'] == 'uniform'
    assert out['data_preprocessor']['prior'] == 'keep'


def test_demo_model_builds_while_its_prior_file_is_missing(tmp_path):
    cfg = Config.fromfile(demo_config(DEMO))
    missing = str(tmp_path / 'not_yet.json')
    cfg.model.decode_head.loss_decode[1].prior = missing
    with pytest.raises(FileNotFoundError, match='not_yet.json'):
        MODELS.build(cfg.model)
    model = MODELS.build(with_uniform_loss_priors(cfg.model))
    (loss, ) = [m for m in model.decode_head.loss_decode
                if isinstance(m, BalancedEnergyLoss)]
    assert loss.uniform_prior
    assert cfg.model.decode_head.loss_decode[1].prior == missing


def test_clean_scenes_load_and_use_the_test_geometry(demo_cwd):
    cfg = demo_cfg()
    test = cfg.test_dataloader.fs_laf.dataset.pipeline
    pipeline = scene_pipeline(cfg.train_dataloader.dataset.pipeline, test,
                              paste=False)
    assert [step['type'] for step in pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'Resize', 'PackSegInputs'
    ]
    loader = build_scene_dataloader(cfg, paste=False)
    assert len(loader.dataset) == 6  # one scene per training frame
    sample = loader.dataset[0]['data_samples']
    assert not (sample.gt_sem_seg.data == OUT).any()
    # the 128x256 test-world frames at the test resize (512, 256)
    assert sample.img_shape == (256, 512)
    with pytest.raises(ValueError, match='does not start by loading'):
        scene_pipeline([dict(type='RandomFlip', prob=0.5)], test,
                       paste=False)


def test_the_statistics_tools_refuse_a_checkpoint_of_another_model(
        tmp_path):
    # before: the prior / SML statistics of a partly random model
    cfg = demo_cfg()
    other = copy.deepcopy(cfg.model)
    other.decode_head.num_classes = 5
    other.decode_head.loss_decode = dict(type='InlierCrossEntropyLoss')
    path = tmp_path / 'five.pth'
    torch.save(dict(state_dict=MODELS.build(other).state_dict()), path)
    with pytest.raises(CheckpointMismatchError,
                       match=f'{path} does not fit the model.*'
                       'decode_head.conv_seg'):
        load_trained_model(cfg, str(path))
    own = tmp_path / 'own.pth'
    torch.save(dict(state_dict=MODELS.build(with_uniform_loss_priors(
        cfg.model)).state_dict()), own)
    load_trained_model(cfg, str(own))
