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
    + glob.glob(str(CONFIG_DIR / 'balanced_energy_pebal' / '*.py'))
    + glob.glob(str(CONFIG_DIR / 'demo' / '*.py')))
RECIPES = sorted(glob.glob(str(CONFIG_DIR / 'balanced_energy' / '*.py')))
PAPER = str(CONFIG_DIR / 'balanced_energy_pebal' /
            'balanced-energy-pebal_wrn38-a2-deeplabv3plus_1xb8-8180iter_'
            'cityscapes-coco-900x900.py')
PEBAL = PAPER.replace('balanced-energy-pebal_', 'pebal_').replace(
    '8180iter', '16360iter')
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
    assert len(RECIPES) == 5 and len(CONFIGS) == 14


@pytest.mark.parametrize('path', [
    # the R101 and WRN-38 models take seconds each: in the full suite only
    pytest.param(p, marks=[] if 'demo' in p and 'wrn38' not in p
                 else pytest.mark.slow)
    for p in CONFIGS
], ids=osp.basename)
def test_config_builds_and_trains_on_outlier_labels(path, demo_cwd):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['mmseg_ood']
    # the checks before the first iteration, under MMSeg's tools too
    assert any(h.type == 'OutlierExposureCheckHook' for h in cfg.custom_hooks)
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
def test_r101_configs_hold_their_recipe(path):
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


def test_paper_config_is_the_papers_recipe():
    cfg = Config.fromfile(PAPER)
    model = cfg.model
    assert model.type == 'AbstentionEncoderDecoder'
    assert model.num_inlier_classes == 19
    assert model.decode_head.num_classes == 20
    assert model.trainable == ['decode_head.final'] and not model.freeze_bn
    assert model.decode_head.align_corners
    losses = model.decode_head.loss_decode
    assert [loss.type for loss in losses] == ['PixelAbstentionLoss',
                                              'BalancedEnergyLoss']
    assert losses[0].get('loss_weight', 1.0) == 1.0
    assert losses[1].loss_weight == 0.1
    assert losses[1].prior == 'cityscapes_paper'
    assert cfg.load_from.endswith('nvidia-cityscapes_20ch.pth')
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.weight_decay) == (
        'Adam', 1e-5, 0.0)
    poly, = cfg.param_scheduler
    assert (poly.type, poly.power, poly.eta_min) == ('ClampedPolyLR', 0.9,
                                                     1e-8)
    assert poly.total_iters == 20 * (2975 // 8) == 7420
    assert cfg.train_cfg.max_iters == 20 * ((2975 + 297) // 8) == 8180
    assert cfg.train_cfg.val_interval == 409
    assert cfg.train_dataloader.batch_size == 8
    pipeline = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert pipeline == [
        'LoadImageFromFile', 'LoadAnnotations', 'PasteCocoObjects',
        'RandomFlip', 'RandomChoice', 'RandomCrop', 'CenterPad',
        'PackSegInputs'
    ]
    steps = {t.type: t for t in cfg.train_dataloader.dataset.pipeline}
    assert steps['PasteCocoObjects'].prob == pytest.approx(0.0908, abs=1e-4)
    assert steps['RandomFlip'].prob == 0.8
    assert [c[0].scale_factor for c in steps['RandomChoice'].transforms] == [
        0.5, 0.75, 1.0, 1.5, 1.75, 2.0]
    assert steps['RandomCrop'].crop_size == (900, 900)
    assert steps['RandomCrop'].get('cat_max_ratio', 1.0) == 1.0
    assert set(cfg.val_dataloader) - {'_delete_'} == {'fs_laf', 'fs_static'}
    assert cfg.val_evaluator.score.num_classes == 19
    pebal = Config.fromfile(PEBAL)
    assert [loss.type for loss in pebal.model.decode_head.loss_decode] == [
        'PixelAbstentionLoss', 'EnergyLoss']
    assert pebal.train_cfg.max_iters == 40 * 409
    assert pebal.param_scheduler[0].total_iters == 40 * 371


@pytest.mark.slow
def test_paper_config_toy_run_trains_only_final_and_validates(demo_cwd):
    from mmseg_ood.cli import train as train_tool
    config = str(CONFIG_DIR / 'demo' / (
        'balanced-energy-pebal_wrn38-a2-deeplabv3plus_1xb2-20iter_'
        'demo-world-128x128.py'))
    work = demo_cwd / 'work'
    init_state = MODELS.build(Config.fromfile(config).model).state_dict()
    torch.save(dict(state_dict=init_state), demo_cwd / 'init.pth')
    train_tool.main([
        config, '--work-dir', str(work), '--cfg-options',
        f'load_from={demo_cwd / "init.pth"}', 'train_cfg.max_iters=2',
        'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.fs_laf.num_workers=0',
        'val_dataloader.fs_static.num_workers=0',
        # validation at a quarter of the demo size: it only has to run
        'val_dataloader.fs_laf.dataset.pipeline.1.scale=(64,32)',
        'val_dataloader.fs_static.dataset.pipeline.1.scale=(64,32)',
        'experiment_name=pebal_toy', 'visualizer.name=pebal_toy'
    ])
    checkpoint = torch.load(work / 'iter_2.pth', weights_only=True)
    changed = {k for k, v in checkpoint['state_dict'].items()
               if v.is_floating_point() and not torch.equal(v, init_state[k])
               and 'running' not in k}
    assert changed and all(k.startswith('decode_head.final.')
                           for k in changed)
    log = next(work.glob('*/vis_data/scalars.json')).read_text()
    assert 'fs_laf/AP' in log and 'fs_static/AP' in log
