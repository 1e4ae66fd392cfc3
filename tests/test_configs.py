"""Every shipped config loads and its model builds; demo data sets build."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import DATASETS, MODELS

from mmseg_ood.engine import find_outlier_unaware_losses

from .conftest import CONFIG_DIR

CONFIGS = sorted(glob.glob(str(CONFIG_DIR / '*.py')))


def test_there_are_configs():
    assert len(CONFIGS) >= 4
    assert str(CONFIG_DIR / 'deeplabv3plus_balanced_energy.py') in CONFIGS


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path, demo_cwd):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['mmseg_ood']
    assert any(h.type == 'OutlierLabelGuardHook' for h in cfg.custom_hooks)
    model = MODELS.build(cfg.model)
    # every head loss handles the outlier label
    assert find_outlier_unaware_losses(model) == []
    if 'demo' in osp.basename(path):
        DATASETS.build(cfg.train_dataloader.dataset)
        test_set = DATASETS.build(cfg.test_dataloader.dataset)
        model.eval()
        with torch.no_grad():
            batch = model.data_preprocessor(
                dict(inputs=[test_set[0]['inputs']],
                     data_samples=[test_set[0]['data_samples']]))
            result = model.test_step(batch)[0]
        assert result.seg_logits.data.shape[0] == 19


def test_main_config_is_the_paper_setting():
    cfg = Config.fromfile(str(CONFIG_DIR / 'deeplabv3plus_balanced_energy.py'))
    assert cfg.model.backbone.depth == 101
    assert cfg.load_from.endswith('.pth')
    losses = {loss.type: loss for loss in cfg.model.decode_head.loss_decode}
    energy = losses['BalancedEnergyLoss']
    assert energy.loss_weight == 0.1 and energy.prior == 'cityscapes_paper'
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    assert cfg.optim_wrapper.optimizer.lr == 1e-5
    assert cfg.train_dataloader.batch_size * 4 == 8
    paste = [t for t in cfg.train_dataloader.dataset.pipeline
             if t.type == 'PasteCocoObjects']
    assert paste and paste[0].prob == 0.1
    assert cfg.test_dataloader.dataset.type == 'FishyscapesDataset'
