"""Every shipped config loads, builds, and trains on outlier labels; the
paper-recipe configs hold the paper's settings."""
import glob
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.registry import DATASETS, HOOKS, MODELS
from mmseg.structures import SegDataSample

from mmseg_ood.engine.hooks import find_outlier_unaware_losses
from mmseg_ood.utils.constants import OUTLIER_INDEX

from .conftest import CONFIG_DIR

CONFIGS = sorted(
    glob.glob(str(CONFIG_DIR / '*.py'))
    + glob.glob(str(CONFIG_DIR / 'balanced_energy' / '*.py'))
    + glob.glob(str(CONFIG_DIR / 'demo' / '*.py')))
RECIPES = sorted(glob.glob(str(CONFIG_DIR / 'balanced_energy' / '*.py')))
ZOO = 'https://download.openmmlab.com/mmsegmentation/v0.5/'


def _batch(model, size=64, num=2):
    """A tiny batch whose labels hold inliers, void and pasted outliers."""
    gen = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(num):
        label = torch.randint(0, 19, (1, size, size), generator=gen)
        label[:, :8] = 255
        label[:, 20:30, 20:30] = OUTLIER_INDEX
        sample = SegDataSample(gt_sem_seg=PixelData(data=label))
        sample.set_metainfo(dict(img_shape=(size, size),
                                 pad_shape=(size, size)))
        samples.append(sample)
    inputs = torch.rand(num, 3, size, size, generator=gen) * 255
    return inputs, samples


def test_there_are_configs():
    names = [osp.basename(p) for p in CONFIGS]
    assert 'deeplabv3plus_balanced_energy.py' in names
    assert len(RECIPES) == 5 and len(CONFIGS) == 10


@pytest.mark.parametrize('path', [
    # the R101 models take seconds each: in the full suite only
    pytest.param(p, marks=[] if 'demo' in p else pytest.mark.slow)
    for p in CONFIGS
], ids=osp.basename)
def test_config_builds_and_trains_on_outlier_labels(path, demo_cwd):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['mmseg_ood']
    assert any(h.type == 'OutlierLabelGuardHook' for h in cfg.custom_hooks)
    model = MODELS.build(cfg.model)
    # every head loss handles the outlier label
    assert find_outlier_unaware_losses(model) == []
    model.train()
    inputs, samples = _batch(model)
    losses = model.loss(inputs, samples)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    if 'demo' in osp.basename(path):
        DATASETS.build(cfg.train_dataloader.dataset)
        for loader in cfg.test_dataloader.values():
            assert len(DATASETS.build(loader.dataset)) > 0


@pytest.mark.parametrize('path', RECIPES, ids=osp.basename)
def test_recipe_configs_hold_the_paper_settings(path):
    cfg = Config.fromfile(path)
    name = osp.basename(path)
    assert cfg.model.backbone.depth == 101
    assert cfg.load_from.startswith(ZOO) and 'cityscapes' in cfg.load_from
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    assert cfg.optim_wrapper.optimizer.lr == 1e-5
    poly = cfg.param_scheduler[0]
    assert poly.type == 'PolyLR' and poly.power == 0.9
    assert poly.end == cfg.train_cfg.max_iters == 8000
    assert '_4xb2-8k_' in name
    assert cfg.train_dataloader.batch_size * 4 == 8
    assert cfg.auto_scale_lr.base_batch_size == 8
    pipeline = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert pipeline['RandomCrop'].crop_size == (900, 900)
    assert pipeline['RandomResize'].ratio_range == (0.5, 2.0)
    assert pipeline['RandomFlip'].prob == 0.5
    losses = {loss.type: loss for loss in cfg.model.decode_head.loss_decode}
    if name.startswith('finetune'):
        # the same augmentation as the outlier-exposure runs, minus pastes
        exposed = Config.fromfile(
            path.replace('finetune_', 'balanced-energy_').replace(
                'cityscapes-900', 'cityscapes-coco-900'))
        assert [t for t in exposed.train_dataloader.dataset.pipeline
                if t.type != 'PasteCocoObjects'
                ] == cfg.train_dataloader.dataset.pipeline
        assert set(losses) == {'InlierCrossEntropyLoss'}
        scores = {m.score.type for m in cfg.test_evaluator}
        assert scores == {'MaxLogitScore', 'EnergyScore'}
    else:
        assert pipeline['PasteCocoObjects'].prob == 0.1
        regularizer = losses.get('BalancedEnergyLoss') or losses[
            'EnergyLoss']
        assert regularizer.loss_weight == 0.1
        if name.startswith('balanced-energy'):
            assert regularizer.prior == 'cityscapes_paper'
        else:
            assert 'EnergyLoss' in losses
    assert set(cfg.test_dataloader) == {'fs_laf', 'fs_static', 'road_anomaly'}
    assert set(cfg.val_dataloader) == {'fs_laf'}
    assert cfg.default_hooks.checkpoint.save_best.startswith('fs_laf/')


def test_the_entry_config_is_the_balanced_energy_recipe():
    entry = Config.fromfile(
        str(CONFIG_DIR / 'deeplabv3plus_balanced_energy.py'))
    recipe = Config.fromfile(
        str(CONFIG_DIR / 'balanced_energy' /
            'balanced-energy_deeplabv3plus_r101-d8_4xb2-8k_'
            'cityscapes-coco-900x900.py'))
    assert entry.to_dict() == recipe.to_dict()


@pytest.mark.slow
def test_last_block_config_trains_only_the_last_decoder_block():
    cfg = Config.fromfile(
        str(CONFIG_DIR / 'balanced_energy' /
            'balanced-energy_deeplabv3plus_r101-d8-last-block_4xb2-8k_'
            'cityscapes-coco-900x900.py'))
    cfg.model.data_preprocessor.size = None
    model = MODELS.build(cfg.model)
    cfg.optim_wrapper.optimizer.lr = 1e-2  # a visible step
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    hooks = [HOOKS.build(h) for h in cfg.custom_hooks
             if h.type == 'EvalModeHook']
    runner = SimpleNamespace(model=model)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.train()  # what the train loop does before every iteration
    for hook in hooks:
        hook.before_train(runner)
        hook.before_train_iter(runner, 0)
    inputs, samples = _batch(model)
    losses = model.loss(inputs, samples)
    optim.update_params(sum(v for k, v in losses.items() if 'loss' in k))
    # weights and BN statistics: only the last block moves
    changed = {
        k for k, v in model.state_dict().items() if not torch.equal(
            v, before[k]) and not k.endswith('num_batches_tracked')
    }
    learning = ('decode_head.sep_bottleneck', 'decode_head.conv_seg')
    assert changed and all(k.startswith(learning) for k in changed)
    assert any(k.startswith('decode_head.conv_seg') for k in changed)
    assert any(k.startswith('decode_head.sep_bottleneck') for k in changed)
    assert not model.with_auxiliary_head
