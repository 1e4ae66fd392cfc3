"""The checks stop, before training and naming the key and the fix, every
wall a new user hits when switching the method on by hand in an MMSeg
config (the old README snippet on MMSeg's own configs)."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
from mmengine.config import Config
from mmseg.registry import DATASETS, TRANSFORMS
from mmseg.structures import SegDataSample

from mmseg_ood.datasets import PasteCocoObjects, RandomCropKeepOutlier
from mmseg_ood.engine import (
    load_run_config,
    prepare_test_config,
    prepare_train_config,
)
from mmseg_ood.engine.outlier_exposure_checks import (
    OutlierExposureError,
    check_train_config,
    check_train_model,
    check_val_sets,
    is_outlier_loss_class,
    is_outlier_source,
    iterations_to_see_outliers,
    outlier_reach_probability,
    pasting_probability,
)
from mmseg_ood.evaluation.metrics import AnomalyMetric
from mmseg_ood.models.losses import (
    BalancedEnergyLoss,
    EnergyLoss,
    InlierCrossEntropyLoss,
)

from ..conftest import CONFIG_DIR

PSPNET = 'mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py'
SEGFORMER = ('mmseg::segformer/'
             'segformer_mit-b0_8xb1-160k_cityscapes-1024x1024.py')
OCRNET = 'mmseg::ocrnet/ocrnet_hr18s_4xb2-80k_cityscapes-512x1024.py'
BISENETV2 = 'mmseg::bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py'
POINTREND = 'mmseg::point_rend/pointrend_r50_4xb2-80k_cityscapes-512x1024.py'

#: The README's snippet before this change, as a new user pasted it.
OLD_SNIPPET = """
custom_imports = dict(imports=['mmseg_ood'], allow_failed_imports=False)
model = dict(
    decode_head=dict(loss_decode=[
        dict(type='InlierCrossEntropyLoss', loss_weight=1.0),
        dict(type='BalancedEnergyLoss', prior='cityscapes_paper',
             num_classes=19, loss_weight=0.1),
    ]),
    auxiliary_head=dict(
        loss_decode=dict(type='InlierCrossEntropyLoss', loss_weight=0.4)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PasteCocoObjects', data_root='data/coco', prob=0.1),
    dict(type='PackSegInputs'),
]
val_evaluator = dict(
    type='AnomalyMetric',
    score=dict(type='EnergyScore', num_classes=19,
               blur=dict(kernel_size=7, sigma=1.0)))
"""


def user_config(tmp_path, base, body, name='my_config.py'):
    path = tmp_path / name
    path.write_text(f'_base_ = [{base!r}]\n{body}')
    return str(path)


def train_config(path):
    cfg = load_run_config(path)
    prepare_train_config(cfg)
    return cfg


def test_a_child_train_pipeline_that_never_reaches_the_dataset(tmp_path):
    # The silent failure: the base already copied its own train_pipeline
    # into train_dataloader.dataset.pipeline, so the child's is unused.
    body = OLD_SNIPPET.replace('val_evaluator = dict(',
                               'val_evaluator = dict(_delete_=True,')
    cfg = Config.fromfile(user_config(tmp_path, PSPNET, body))
    assert 'PasteCocoObjects' in [t.type for t in cfg.train_pipeline]
    assert 'PasteCocoObjects' not in [
        t.type for t in cfg.train_dataloader.dataset.pipeline]
    with pytest.raises(OutlierExposureError) as error:
        check_train_config(cfg)
    message = str(error.value)
    assert ('The model trains model.decode_head.loss_decode.1 '
            '(BalancedEnergyLoss) on pasted outliers') in message
    assert 'train_dataloader.dataset.pipeline has no outlier source' in message
    assert "dict(type='PasteCocoObjects'" in message
    assert 'mmseg-ood-switch-on' in message


def test_anomaly_metric_merged_into_the_base_iou_metric(tmp_path):
    cfg = Config.fromfile(user_config(tmp_path, PSPNET, OLD_SNIPPET))
    # what MMEngine makes of it: one dict with both metrics' arguments
    assert cfg.val_evaluator.type == 'AnomalyMetric'
    assert cfg.val_evaluator.iou_metrics == ['mIoU']
    with pytest.raises(OutlierExposureError,
                       match=r"val_evaluator is an AnomalyMetric that also "
                       r"holds \['iou_metrics'\].*_delete_=True"):
        check_train_config(cfg)


def test_auxiliary_head_on_a_model_without_one(tmp_path):
    # SegFormer has no auxiliary head: the snippet's auxiliary_head= line
    # describes a head without a type (MMSeg: KeyError: 'type' at build)
    cfg = Config.fromfile(user_config(tmp_path, SEGFORMER, OLD_SNIPPET))
    assert 'type' not in cfg.model.auxiliary_head
    with pytest.raises(OutlierExposureError,
                       match='model.auxiliary_head has no `type`.*Remove '
                       'auxiliary_head from your config'):
        check_train_config(cfg)


@pytest.mark.parametrize('base, key', [(OCRNET, 'decode_head'),
                                       (BISENETV2, 'auxiliary_head')])
def test_a_dict_snippet_on_list_valued_heads(tmp_path, base, key):
    path = user_config(tmp_path, base, OLD_SNIPPET)
    with pytest.raises(OutlierExposureError) as error:
        load_run_config(path)
    message = str(error.value)
    assert message.startswith(f'{path}: `{key}` is a list in the base')
    assert 'Write the whole list' in message


def test_the_anomaly_sets_base_beside_an_mmseg_base(tmp_path):
    sets = str(CONFIG_DIR / '_base_' / 'datasets' / 'anomaly_sets.py')
    path = tmp_path / 'two_bases.py'
    path.write_text(f'_base_ = [{PSPNET!r}, {sets!r}]')
    with pytest.raises(OutlierExposureError) as error:
        load_run_config(str(path))
    message = str(error.value)
    assert 'two of its bases define the same keys' in message
    assert "'val_dataloader'" in message
    assert 'from mmseg_ood.configs import anomaly_catalogue' in message


def test_energy_loss_on_pointrend_point_head(tmp_path):
    body = """
model = dict(decode_head=[
    dict(type='FPNHead', in_channels=[256, 256, 256, 256],
         in_index=[0, 1, 2, 3], feature_strides=[4, 8, 16, 32],
         channels=128, num_classes=19,
         loss_decode=dict(type='InlierCrossEntropyLoss')),
    dict(type='PointHead', in_channels=[256], in_index=[0], channels=256,
         num_classes=19,
         loss_decode=[dict(type='InlierCrossEntropyLoss'),
                      dict(type='BalancedEnergyLoss', num_classes=19)])])
"""
    cfg = Config.fromfile(user_config(tmp_path, POINTREND, body))
    with pytest.raises(OutlierExposureError,
                       match=r'model.decode_head.1 \(PointHead\) has the '
                       r'outlier loss BalancedEnergyLoss.*coarse head'):
        check_train_config(cfg)


def test_test_evaluator_left_as_iou_metric(tmp_path):
    body = OLD_SNIPPET.replace('val_evaluator = dict(',
                               'val_evaluator = dict(_delete_=True,')
    cfg = load_run_config(user_config(tmp_path, PSPNET, body))
    checkpoint = tmp_path / 'x.pth'
    checkpoint.write_bytes(b'')
    with pytest.raises(OutlierExposureError,
                       match=r"test_evaluator has no AnomalyMetric \(it has "
                       r"\['IoUMetric'\]"):
        prepare_test_config(cfg, str(checkpoint))


def test_several_sets_need_the_several_sets_loop():
    cfg = Config(dict(val_dataloader=dict(fs_laf=dict(dataset=dict())),
                      val_cfg=dict(type='ValLoop')))
    with pytest.raises(OutlierExposureError,
                       match="val_cfg = dict.type='AnomalySetsValLoop'"):
        check_train_config(cfg)


def test_a_correct_config_passes(tmp_path):
    cfg = Config(dict(
        model=dict(decode_head=dict(
            type='FCNHead', loss_decode=[
                dict(type='InlierCrossEntropyLoss'),
                dict(type='EnergyLoss', num_classes=19)])),
        train_dataloader=dict(dataset=dict(
            type='RepeatDataset', times=2,
            dataset=dict(pipeline=[dict(type='LoadAnnotations'),
                                   dict(type='PasteCocoObjects',
                                        data_root='x')])))))
    check_train_config(cfg)  # the source is found through the wrapper


# --------------------------------------------------------------- the words
def test_which_losses_and_transforms_count():
    assert is_outlier_loss_class(BalancedEnergyLoss)
    assert is_outlier_loss_class(EnergyLoss)
    assert not is_outlier_loss_class(InlierCrossEntropyLoss)
    from mmseg.models.losses import CrossEntropyLoss, DiceLoss
    assert not is_outlier_loss_class(CrossEntropyLoss)
    assert not is_outlier_loss_class(DiceLoss)

    class MyOutlierLoss:  # any loss that takes the outlier label
        def __init__(self, outlier_index=254):
            pass

    assert is_outlier_loss_class(MyOutlierLoss)
    assert is_outlier_source(dict(type='PasteCocoObjects'))
    assert is_outlier_source(PasteCocoObjects)
    # keeps outliers in the crop, but writes none
    assert not is_outlier_source(dict(type='RandomCropKeepOutlier'))
    assert not is_outlier_source(dict(type='RandomCrop'))


def _dataset(*transforms):
    return SimpleNamespace(pipeline=SimpleNamespace(transforms=list(
        transforms)))


def test_pasting_and_reach_probabilities(demo_world):
    paste = TRANSFORMS.build(dict(type='PasteCocoObjects',
                                  data_root=demo_world['coco'], prob=0.5))
    crop = TRANSFORMS.build(dict(type='RandomCrop', crop_size=(8, 8)))
    keep = RandomCropKeepOutlier(crop_size=(8, 8))
    assert pasting_probability([paste]) == 0.5
    assert pasting_probability([paste, dict(prob=0.5)]) == 0.75
    # a plain crop after the paste may cut it out; the keeping crop not
    assert outlier_reach_probability(_dataset(paste, crop), 0.1) == \
        pytest.approx(0.05)
    assert outlier_reach_probability(_dataset(paste, keep), 0.1) == 0.5
    assert outlier_reach_probability(_dataset(crop, paste), 0.1) == 0.5
    wrapped = SimpleNamespace(dataset=_dataset(paste, crop), pipeline=None)
    assert outlier_reach_probability(wrapped, 1.0) == 0.5


def test_iterations_to_see_outliers_by_hand():
    # 0.9 ** n <= 1e-6  <=>  n >= ln(1e-6) / ln(0.9) = 131.1 -> 132 frames
    assert math.log(1e-6) / math.log(0.9) == pytest.approx(131.13, abs=0.01)
    assert iterations_to_see_outliers(0.1, 1) == 132
    assert iterations_to_see_outliers(0.1, 2) == 66
    assert iterations_to_see_outliers(0.1, 8) == 17  # 132 / 8 = 16.5
    # 0.5 ** 20 = 9.5e-7 <= 1e-6 < 0.5 ** 19
    assert iterations_to_see_outliers(0.5, 1) == 20
    assert iterations_to_see_outliers(1.0, 4) == 1
    assert iterations_to_see_outliers(0.0, 4) is None


# ------------------------------------------------------------ built objects
def _head_model(**head):
    from mmseg.registry import MODELS
    return MODELS.build(dict(
        type='EncoderDecoder',
        backbone=dict(type='ResNetV1c', depth=18, base_channels=4,
                      stem_channels=4, num_stages=1, out_indices=(0, ),
                      strides=(1, ), dilations=(1, )),
        decode_head=dict(type='FCNHead', in_channels=4, channels=4,
                         num_convs=1, num_classes=19, **head)))


def test_a_pixel_sampler_where_outliers_arrive(demo_world):
    paste = TRANSFORMS.build(dict(type='PasteCocoObjects',
                                  data_root=demo_world['coco']))
    model = _head_model(
        sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=10),
        loss_decode=dict(type='InlierCrossEntropyLoss'))
    with pytest.raises(OutlierExposureError,
                       match='model.decode_head has the pixel sampler '
                       'OHEMPixelSampler.*Set sampler=None'):
        check_train_model(model, _dataset(paste))
    # without pasting no outlier label arrives: the sampler is fine
    assert check_train_model(model, _dataset()) == 0.0


def test_an_outlier_loss_without_an_outlier_source():
    model = _head_model(loss_decode=[
        dict(type='InlierCrossEntropyLoss'),
        dict(type='EnergyLoss', num_classes=19)])
    with pytest.raises(OutlierExposureError,
                       match=r'decode_head.loss_decode.1 '
                       r'\(EnergyLoss\).*no outlier source'):
        check_train_model(model, _dataset())


def _val_loop(dataset):
    metric = AnomalyMetric(score=dict(type='EnergyScore', num_classes=19))
    return SimpleNamespace(dataloader=SimpleNamespace(dataset=dataset),
                           evaluator=SimpleNamespace(metrics=[metric]))


def test_the_anomaly_metric_on_a_set_that_is_not_an_anomaly_set(demo_world):
    # MMSeg's Cityscapes val (here the demo world's): 19 classes
    cityscapes = DATASETS.build(dict(
        type='CityscapesDataset', data_root=demo_world['cityscapes'],
        data_prefix=dict(img_path='leftImg8bit/val',
                         seg_map_path='gtFine/val'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations'),
                  dict(type='PackSegInputs')]))
    with pytest.raises(OutlierExposureError) as error:
        check_val_sets(_val_loop(cityscapes))
    message = str(error.value)
    assert message.startswith('val_dataloader (CityscapesDataset')
    assert 'not an anomaly set' in message
    assert 'several_sets(anomaly_sets' in message


def test_anomaly_sets_pass_the_validation_check(demo_world):
    fs_laf = DATASETS.build(dict(
        type='AnomalyDataset', benchmark='fs_laf',
        data_root=demo_world['fs_laf'],
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations'),
                  dict(type='PackSegInputs')]))
    check_val_sets(_val_loop(fs_laf))

    class ZeroOneSet:  # any dataset whose labels are 0/1/255
        def __len__(self):
            return 1

        def __getitem__(self, index):
            import torch
            from mmengine.structures import PixelData
            sample = SegDataSample()
            sample.gt_sem_seg = PixelData(
                data=torch.from_numpy(np.array([[[0, 1, 255]]])))
            return dict(data_samples=sample)

    check_val_sets(_val_loop(ZeroOneSet()))
    check_val_sets(None)
