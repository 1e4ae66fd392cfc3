"""A trained model's predictions over seeded training scenes.

Two statistics are measured this way, each with its own tool: the outlier
prior of Balanced Energy (:mod:`.outlier_prior`, with a COCO object pasted
into every scene) and the per-class max-logit statistics of Standardized
Max Logits (:mod:`.sml_statistics`, on the clean frames).

1. :func:`build_scene_dataloader` reads the config's training set with the
   training pipeline's loading steps (and, with ``paste=True``, its
   ``PasteCocoObjects`` at ``prob=1``, so every scene carries an outlier)
   followed by the *test* pipeline's geometry (e.g. ``Resize`` to the test
   scale). Random resize, crop, flip and photometric distortion are dropped
   on purpose: the statistics describe how the model sees frames at test
   time. Scene ``i`` is frame ``i % len(dataset)`` with its own seed, so
   ``num_samples`` may exceed the number of frames and the result does not
   depend on the number of processes or workers.
2. :func:`load_trained_model` builds the model and loads the checkpoint.
3. :func:`predictions` runs the model's test-time forward over the scenes.
"""
import copy
import random
from typing import Iterable, Iterator, List, Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import LoadAnnotations, LoadImageFromFile, TestTimeAug
from mmengine.dataset import DefaultSampler, pseudo_collate
from mmengine.device import get_device
from mmengine.dist import is_main_process
from mmengine.model import revert_sync_batchnorm
from mmengine.utils import ProgressBar
from mmseg.registry import DATASETS, MODELS
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..datasets.transforms import PasteCocoObjects
from ..engine.checkpoint import load_fitting_checkpoint
from ..models.losses import BalancedEnergyLoss
from ..models.scores import check_prediction_channels
from ..utils.config_walk import dataset_pipelines, find_configs, is_type

__all__ = [
    'LOADING_TRANSFORMS', 'SeededScenes', 'build_scene_dataloader',
    'load_trained_model', 'predictions', 'scene_pipeline',
    'with_uniform_loss_priors'
]

#: Transforms that only read the image and the labels (and their
#: subclasses, e.g. MMSeg's LoadImageFromNDArray).
LOADING_TRANSFORMS = (LoadImageFromFile, LoadAnnotations)


def with_uniform_loss_priors(model_cfg: dict) -> dict:
    """A copy of a model config whose Balanced Energy losses use no file.

    Every loss config of type :class:`BalancedEnergyLoss` (or a subclass)
    that sets ``prior`` gets ``prior='uniform'``, wherever it sits (decode
    and auxiliary heads, ``loss_decode`` as a dict or a list). The tools
    here run the test-time forward only, so the losses are never called;
    but building them reads their prior, and a config whose prior is the
    JSON file about to be estimated could not be built.

    Args:
        model_cfg (dict): The config's ``model``; not changed.

    Returns:
        dict: The changed copy.
    """
    model_cfg = copy.deepcopy(model_cfg)
    for loss in find_configs(model_cfg, BalancedEnergyLoss):
        if 'prior' in loss:
            loss['prior'] = 'uniform'
    return model_cfg


def load_trained_model(cfg, checkpoint: str) -> nn.Module:
    """The config's model with the checkpoint's weights, on the default
    device, SyncBN reverted to BN (see :func:`with_uniform_loss_priors`).

    Call it inside MMSeg's default scope.

    Raises:
        CheckpointError: The checkpoint cannot be read.
        CheckpointMismatchError: It does not fit the model of ``cfg``.
    """
    model = revert_sync_batchnorm(
        MODELS.build(with_uniform_loss_priors(cfg.model)))
    load_fitting_checkpoint(model, checkpoint)
    return model.to(get_device())


class SeededScenes(Dataset):
    """``num_samples`` scenes drawn from a dataset, each with its own seed.

    Scene ``i`` is ``dataset[i % len(dataset)]`` processed with NumPy's and
    Python's global generators seeded from ``(seed, i)``; their previous
    states are restored afterwards. What the pipeline draws (the pasted
    object and its position) thus depends only on ``seed`` and ``i``, not
    on the access order, the number of workers or the number of processes.

    Args:
        dataset (Dataset): The dataset with the scene pipeline.
        num_samples (int, optional): Number of scenes. None: one per frame.
        seed (int): Base seed, >= 0.
    """

    def __init__(self,
                 dataset: Dataset,
                 num_samples: Optional[int] = None,
                 seed: int = 0) -> None:
        if len(dataset) == 0:
            raise ValueError('The training dataset is empty.')
        if num_samples is not None and num_samples < 1:
            raise ValueError(f'num_samples must be >= 1, got {num_samples}.')
        if seed < 0:
            raise ValueError(f'seed must be >= 0, got {seed}.')
        self.dataset = dataset
        self.num_samples = (len(dataset)
                            if num_samples is None else int(num_samples))
        self.seed = int(seed)

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's meta information (class names...)."""
        return getattr(self.dataset, 'metainfo', {})

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int):
        if not 0 <= index < self.num_samples:
            raise IndexError(f'scene {index} out of range '
                             f'[0, {self.num_samples}).')
        state = np.random.SeedSequence([self.seed, index]).generate_state(4)
        np_state, py_state = np.random.get_state(), random.getstate()
        np.random.seed(state)
        random.seed(int(state[0]) << 32 | int(state[1]))
        try:
            return self.dataset[index % len(self.dataset)]
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


def scene_pipeline(train_pipeline: Sequence[dict],
                   test_pipeline: Sequence[dict],
                   paste: bool) -> List[dict]:
    """The pipeline of the scenes.

    With ``paste``: the training pipeline up to and including
    ``PasteCocoObjects`` (at ``prob=1``); without: its leading loading
    steps. Then the test pipeline without its loading steps (its resize and
    packing). Labels follow the test resize (nearest).

    Args:
        train_pipeline (list[dict]): The config's training pipeline.
        test_pipeline (list[dict]): The config's test pipeline.
        paste (bool): Paste an outlier into every scene.

    Returns:
        list[dict]: The new pipeline (copies; the inputs are not changed).
    """
    types = [step.get('type') for step in train_pipeline]
    if paste:
        pastes = [i for i, step in enumerate(train_pipeline)
                  if is_type(step, PasteCocoObjects)]
        if not pastes:
            raise ValueError(
                f'The training pipeline {types} has no PasteCocoObjects: the '
                'prior is measured on pasted outliers. Add '
                "dict(type='PasteCocoObjects', data_root='data/coco') after "
                "LoadAnnotations (the tool sets prob=1).")
        end = pastes[0] + 1
        if not any(is_type(step, LoadAnnotations)
                   for step in train_pipeline[:end]):
            raise ValueError(
                f'The training pipeline {types} must load the labels '
                '(LoadAnnotations) before PasteCocoObjects.')
    else:
        end = 0
        while end < len(train_pipeline) and is_type(train_pipeline[end],
                                                     LOADING_TRANSFORMS):
            end += 1
        if not end:
            raise ValueError(f'The training pipeline {types} does not start '
                             'by loading the image (LoadImageFromFile).')
    head = copy.deepcopy(list(train_pipeline[:end]))
    if paste:
        head[-1]['prob'] = 1.0
    tail = [
        copy.deepcopy(step) for step in test_pipeline
        if not is_type(step, LOADING_TRANSFORMS)
    ]
    if any(is_type(step, TestTimeAug) for step in tail):
        raise ValueError('The test pipeline uses TestTimeAug; use a plain '
                         'test pipeline (Resize, PackSegInputs).')
    return head + tail


def _test_pipeline(test_dataloader) -> List[dict]:
    """The test pipeline: of ``test_dataloader``, or of its named sets.

    ``test_dataloader`` is MMSeg's single loader or, with mmseg_ood's
    ``AnomalySetsTestLoop``, a dict of named loaders; these must agree on
    every step after loading (they set the test-time geometry).
    """
    if not test_dataloader:
        raise ValueError('The config has no test_dataloader; the test-time '
                         'resize is taken from the test pipeline.')
    loaders = (dict(test=test_dataloader)
               if 'dataset' in test_dataloader else test_dataloader)
    tails = {}
    for name, loader in loaders.items():
        found = dataset_pipelines((loader or {}).get('dataset'))
        if found:
            tails[name] = [step for step in found[0]
                           if not is_type(step, LOADING_TRANSFORMS)]
    if not tails:
        raise ValueError('The config\'s test_dataloader has no dataset with '
                         'a pipeline; the test-time resize is taken from '
                         'the test pipeline.')
    first = next(iter(tails))
    differ = [name for name in tails if tails[name] != tails[first]]
    if differ:
        raise ValueError(
            f'The test sets {[first] + differ} use different test pipelines '
            f'({tails[first]} vs {tails[differ[0]]}); keep one set with '
            f'--cfg-options, e.g. test_dataloader.{differ[0]}=None.')
    return dataset_pipelines(loaders[first]['dataset'])[0]


def build_scene_dataloader(cfg,
                           paste: bool,
                           num_samples: Optional[int] = None,
                           seed: int = 0,
                           batch_size: int = 1,
                           num_workers: int = 0) -> DataLoader:
    """The config's training set as seeded test-time scenes.

    Call it inside MMSeg's default scope. In a distributed run every
    process gets every ``world_size``-th scene, without padding, so no scene
    is counted twice.

    Args:
        cfg (Config): A config with ``train_dataloader`` and
            ``test_dataloader``; their datasets' pipelines are combined by
            :func:`scene_pipeline`.
        paste (bool): Paste an outlier into every scene.
        num_samples (int, optional): Number of scenes; may exceed the number
            of frames. None: one scene per training frame.
        seed (int): Seed of the scenes.
        batch_size (int): Images per forward pass.
        num_workers (int): Data loading processes.

    Returns:
        DataLoader: Batches as MMEngine's ``pseudo_collate`` makes them.
    """
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg = (dataset_cfg.to_dict()
                   if hasattr(dataset_cfg, 'to_dict') else dict(dataset_cfg))
    pipelines = dataset_pipelines(dataset_cfg)
    if not pipelines:
        raise ValueError('train_dataloader.dataset has no pipeline.')
    pipeline = scene_pipeline(pipelines[0],
                              _test_pipeline(cfg.get('test_dataloader')),
                              paste)
    for found in pipelines:
        found[:] = copy.deepcopy(pipeline)
    scenes = SeededScenes(DATASETS.build(dataset_cfg), num_samples, seed)
    return DataLoader(
        scenes,
        batch_size=batch_size,
        num_workers=num_workers,
        sampler=DefaultSampler(scenes, shuffle=False, round_up=False),
        collate_fn=pseudo_collate)


@torch.no_grad()
def predictions(model: nn.Module, dataloader: Iterable, num_classes: int,
                show_progress: bool = True) -> Iterator:
    """The model's test-time predictions over a dataloader, one data
    sample at a time.

    The model runs ``model.test_step`` (data preprocessor, ``predict``,
    logits resized to the image's original size) in eval mode; its mode is
    restored afterwards.

    Args:
        model (nn.Module): An MMSeg segmentor (or a DDP wrapper of one).
        dataloader (Iterable): Batches.
        num_classes (int): Inlier classes K; the predicted ``seg_logits``
            must hold exactly K channels (see
            :func:`~mmseg_ood.models.scores.check_prediction_channels`).
        show_progress (bool): Show a progress bar on the main process.

    Yields:
        SegDataSample: With ``seg_logits`` (and ``gt_sem_seg`` if loaded).
    """
    was_training = model.training
    model.eval()
    bar = (ProgressBar(len(dataloader))
           if show_progress and is_main_process() else None)
    try:
        for data in dataloader:
            for sample in model.test_step(data):
                check_prediction_channels(sample.seg_logits.data.shape[0],
                                          num_classes)
                yield sample
            if bar is not None:
                bar.update()
    finally:
        model.train(was_training)
        if bar is not None:
            bar.file.write('\n')
