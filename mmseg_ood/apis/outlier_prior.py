"""Estimate the outlier class prior of Balanced Energy with a trained model.

The paper fixes the prior ``pi`` before training: a pretrained segmenter
looks at training frames with pasted COCO objects, and ``pi_k`` is the share
of pasted (outlier) pixels it assigns to inlier class ``k`` (METHOD.md,
section 3). This module does that for any MMSeg model and config:

1. :func:`build_prior_dataloader` reads the config's training set with the
   training pipeline's loading and pasting steps (``PasteCocoObjects`` with
   ``prob=1``, so every scene carries an outlier) followed by the *test*
   pipeline's geometry (e.g. ``Resize`` to the test scale). Random resize,
   crop, flip and photometric distortion are dropped on purpose: the prior
   describes how the model sees pasted objects at test time, and a random
   crop can cut the paste out entirely. Scene ``i`` is frame
   ``i % len(dataset)`` with its own seed, so ``num_samples`` may exceed the
   number of frames (the paper used 10,000 scenes) and the result does not
   depend on the number of processes or workers.
2. :func:`estimate_outlier_prior` runs the model's test-time forward and
   counts, over outlier pixels (label 254), either the argmax class of the
   first K logits or their summed softmax. Counts are summed over
   processes, so a distributed run gives the counts of a single process.
3. :func:`prior_record` and :func:`save_prior` write the JSON that
   ``BalancedEnergyLoss(prior='...json')`` reads.

Example:
    >>> loader = build_prior_dataloader(cfg, num_samples=1000, seed=0)
    >>> counts = estimate_outlier_prior(model, loader, num_classes=19)
    >>> record = prior_record(counts, loader.dataset.metainfo['classes'],
    ...                       mode='argmax', num_samples=1000)
    >>> save_prior(record, 'work_dirs/x/outlier_prior.json')
"""
import copy
import json
import os.path as osp
import random
from typing import Iterable, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import DefaultSampler, pseudo_collate
from mmengine.dist import all_reduce, is_main_process
from mmengine.utils import ProgressBar
from mmseg.registry import DATASETS, MODELS
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from ..models.losses import BalancedEnergyLoss
from ..models.scores import inlier_logits
from ..utils.constants import OUTLIER_INDEX
from ..utils.file_io import atomic_output

__all__ = [
    'PRIOR_MODES', 'PastedScenes', 'build_prior_dataloader',
    'count_outlier_predictions', 'estimate_outlier_prior',
    'format_prior_table', 'prior_pipeline', 'prior_record', 'save_prior',
    'with_uniform_loss_priors'
]

#: How outlier pixels are counted: the argmax class, or the softmax mass.
PRIOR_MODES = ('argmax', 'softmax')
#: Transforms that only read files; dropped from the test pipeline.
LOADING_TRANSFORMS = ('LoadImageFromFile', 'LoadAnnotations',
                      'LoadImageFromNDArray')
#: The transform that pastes outliers; forced to ``prob=1``.
PASTE_TRANSFORM = 'PasteCocoObjects'


def _is_prior_loss(loss_type) -> bool:
    """Whether a loss ``type`` (name or class) is a BalancedEnergyLoss."""
    if isinstance(loss_type, str):
        loss_type = MODELS.get(loss_type)
    return isinstance(loss_type, type) and issubclass(loss_type,
                                                      BalancedEnergyLoss)


def _uniform_priors(node) -> int:
    """Set ``prior='uniform'`` in place; returns the number of changes."""
    changed = 0
    if isinstance(node, dict):
        if 'prior' in node and _is_prior_loss(node.get('type')):
            node['prior'] = 'uniform'
            changed += 1
        for value in node.values():
            changed += _uniform_priors(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            changed += _uniform_priors(value)
    return changed


def with_uniform_loss_priors(model_cfg: dict) -> dict:
    """A copy of a model config whose Balanced Energy losses use no file.

    Every loss config of type :class:`BalancedEnergyLoss` (or a subclass)
    that sets ``prior`` gets ``prior='uniform'``, wherever it sits (decode
    and auxiliary heads, ``loss_decode`` as a dict or a list). Estimating
    the prior runs the test-time forward only, so the losses are never
    called; but building them reads their prior, and a config whose prior
    is the JSON file about to be estimated could not be built.

    Args:
        model_cfg (dict): The config's ``model``; not changed.

    Returns:
        dict: The changed copy.
    """
    model_cfg = copy.deepcopy(model_cfg)
    _uniform_priors(model_cfg)
    return model_cfg


def _check_mode(mode: str) -> None:
    if mode not in PRIOR_MODES:
        raise ValueError(f'mode={mode!r} is not one of {PRIOR_MODES}.')


def count_outlier_predictions(seg_logits: Tensor,
                              label: Tensor,
                              num_classes: int,
                              mode: str = 'argmax',
                              outlier_index: int = OUTLIER_INDEX) -> Tensor:
    """Per-class counts of one image's outlier pixels.

    Args:
        seg_logits (Tensor): Logits of one image, (C, H, W) with C >= K.
            Resized bilinearly to the label's size if they differ.
        label (Tensor): Its label map, (H, W) or (1, H, W).
        num_classes (int): Number of inlier classes K (the first K
            channels).
        mode (str): ``'argmax'``: how many outlier pixels have class k as
            their argmax; ``'softmax'``: the summed softmax probability of
            class k over outlier pixels. Both sum to the outlier pixel count.
        outlier_index (int): Label of outlier pixels.

    Returns:
        Tensor: float64 counts of shape (K,), on the CPU.
    """
    _check_mode(mode)
    if seg_logits.dim() != 3:
        raise ValueError('seg_logits must have shape (C, H, W), got '
                         f'{tuple(seg_logits.shape)}.')
    if label.dim() == 3 and label.shape[0] == 1:
        label = label[0]
    if label.dim() != 2:
        raise ValueError('label must have shape (H, W) or (1, H, W), got '
                         f'{tuple(label.shape)}.')
    logits = inlier_logits(seg_logits, num_classes, dim=0)
    if logits.shape[-2:] != label.shape:
        logits = F.interpolate(
            logits[None], size=tuple(label.shape), mode='bilinear',
            align_corners=False)[0]
    outlier = (label == outlier_index).to(logits.device)
    picked = logits[:, outlier]  # (K, n)
    if mode == 'argmax':
        counts = torch.bincount(
            picked.argmax(dim=0), minlength=num_classes)
    else:
        counts = torch.softmax(picked, dim=0).double().sum(dim=1)
    return counts.double().cpu()


class PastedScenes(Dataset):
    """``num_samples`` scenes drawn from a dataset, each with its own seed.

    Scene ``i`` is ``dataset[i % len(dataset)]`` processed with NumPy's and
    Python's global generators seeded from ``(seed, i)``; their previous
    states are restored afterwards. The pasted object and its position thus
    depend only on ``seed`` and ``i``, not on the access order, the number
    of workers or the number of processes.

    Args:
        dataset (Dataset): The dataset with the pasting pipeline.
        num_samples (int, optional): Number of scenes. None: one per frame.
        seed (int): Base seed, >= 0.
    """

    def __init__(self,
                 dataset: Dataset,
                 num_samples: Optional[int] = None,
                 seed: int = 0) -> None:
        if len(dataset) == 0:
            raise ValueError('The dataset to estimate the prior on is empty.')
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


def prior_pipeline(train_pipeline: Sequence[dict],
                   test_pipeline: Sequence[dict]) -> List[dict]:
    """The pipeline of prior estimation.

    The training pipeline up to and including ``PasteCocoObjects`` (with
    ``prob=1``), then the test pipeline without its loading steps (its
    resize and packing). Labels follow the test resize (nearest).

    Args:
        train_pipeline (list[dict]): The config's training pipeline.
        test_pipeline (list[dict]): The config's test pipeline.

    Returns:
        list[dict]: The new pipeline (copies; the inputs are not changed).
    """
    types = [step.get('type') for step in train_pipeline]
    if PASTE_TRANSFORM not in types:
        raise ValueError(
            f'The training pipeline {types} has no {PASTE_TRANSFORM}: the '
            'prior is measured on pasted outliers. Add '
            f"dict(type='{PASTE_TRANSFORM}', data_root='data/coco') after "
            "LoadAnnotations (the tool sets prob=1).")
    end = types.index(PASTE_TRANSFORM)
    if 'LoadAnnotations' not in types[:end]:
        raise ValueError(
            f'The training pipeline {types} must load the labels '
            f'(LoadAnnotations) before {PASTE_TRANSFORM}.')
    head = copy.deepcopy(list(train_pipeline[:end + 1]))
    head[-1]['prob'] = 1.0
    tail = [
        copy.deepcopy(step) for step in test_pipeline
        if step.get('type') not in LOADING_TRANSFORMS
    ]
    if any(step.get('type') in ('TestTimeAug', 'mmseg.TestTimeAug')
           for step in tail):
        raise ValueError('The test pipeline uses TestTimeAug; estimate the '
                         'prior with a plain test pipeline (Resize, '
                         'PackSegInputs).')
    return head + tail


def _set_pipeline(dataset_cfg: dict, pipeline: List[dict]) -> None:
    """Put ``pipeline`` into a dataset config (through dataset wrappers)."""
    if 'datasets' in dataset_cfg:
        for item in dataset_cfg['datasets']:
            _set_pipeline(item, pipeline)
    elif 'dataset' in dataset_cfg and 'pipeline' not in dataset_cfg:
        _set_pipeline(dataset_cfg['dataset'], pipeline)
    else:
        dataset_cfg['pipeline'] = copy.deepcopy(pipeline)


def build_prior_dataloader(cfg,
                           num_samples: Optional[int] = None,
                           seed: int = 0,
                           batch_size: int = 1,
                           num_workers: int = 0) -> DataLoader:
    """The config's training set as pasted test-time scenes.

    Call it inside MMSeg's default scope (the tool does). In a distributed
    run every process gets every ``world_size``-th scene, without padding,
    so no scene is counted twice.

    Args:
        cfg (Config): A config with ``train_dataloader`` and
            ``test_dataloader``; their datasets' pipelines are combined by
            :func:`prior_pipeline`.
        num_samples (int, optional): Number of scenes; may exceed the number
            of frames. None: one scene per training frame.
        seed (int): Seed of the pasting.
        batch_size (int): Images per forward pass.
        num_workers (int): Data loading processes.

    Returns:
        DataLoader: Batches as MMEngine's ``pseudo_collate`` makes them.
    """
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg = (dataset_cfg.to_dict()
                   if hasattr(dataset_cfg, 'to_dict') else dict(dataset_cfg))
    train_pipeline = _find_pipeline(dataset_cfg)
    test_pipeline = _test_pipeline(cfg.get('test_dataloader'))
    _set_pipeline(dataset_cfg, prior_pipeline(train_pipeline, test_pipeline))
    scenes = PastedScenes(DATASETS.build(dataset_cfg), num_samples, seed)
    return DataLoader(
        scenes,
        batch_size=batch_size,
        num_workers=num_workers,
        sampler=DefaultSampler(scenes, shuffle=False, round_up=False),
        collate_fn=pseudo_collate)


def _test_pipeline(test_dataloader) -> List[dict]:
    """The test pipeline: of ``test_dataloader``, or of its named sets.

    ``test_dataloader`` is MMSeg's single loader or, with mmseg_ood's
    ``AnomalySetsTestLoop``, a dict of named loaders; these must agree on
    every step after loading (they set the test-time geometry).
    """
    if not test_dataloader:
        raise ValueError('The config has no test_dataloader; prior '
                         'estimation takes its test-time resize from the '
                         'test pipeline.')
    if 'dataset' in test_dataloader:
        return _find_pipeline(test_dataloader['dataset'])
    pipelines = {
        name: _find_pipeline(loader['dataset'])
        for name, loader in test_dataloader.items()
        if isinstance(loader, dict) and 'dataset' in loader
    }
    if not pipelines:
        raise ValueError('The config\'s test_dataloader has no dataset; '
                         'prior estimation takes its test-time resize from '
                         'the test pipeline.')
    tails = {
        name: [step for step in pipeline
               if step.get('type') not in LOADING_TRANSFORMS]
        for name, pipeline in pipelines.items()
    }
    first = next(iter(tails))
    differ = [name for name in tails if tails[name] != tails[first]]
    if differ:
        raise ValueError(
            f'The test sets {[first] + differ} use different test pipelines '
            f'({tails[first]} vs {tails[differ[0]]}); keep one set with '
            f'--cfg-options, e.g. test_dataloader.{differ[0]}=None.')
    return pipelines[first]


def _find_pipeline(dataset_cfg) -> List[dict]:
    """The pipeline of a dataset config, looking through wrappers."""
    if 'pipeline' in dataset_cfg:
        return dataset_cfg['pipeline']
    for key in ('dataset', 'datasets'):
        inner = dataset_cfg.get(key)
        if isinstance(inner, (list, tuple)) and inner:
            inner = inner[0]
        if inner:
            return _find_pipeline(inner)
    raise ValueError(f'No pipeline found in the dataset config {dataset_cfg}.')


@torch.no_grad()
def estimate_outlier_prior(model: nn.Module,
                           dataloader: Iterable,
                           num_classes: int,
                           mode: str = 'argmax',
                           show_progress: bool = True,
                           outlier_index: int = OUTLIER_INDEX) -> np.ndarray:
    """Count how a model classifies the outlier pixels of a dataloader.

    The model runs its test-time forward (``model.test_step``: data
    preprocessor, ``predict``, logits resized to the image's original size)
    in eval mode. Counts are summed over all processes of a distributed run
    (each process should see its own share of the data, as with
    :func:`build_prior_dataloader`).

    Args:
        model (nn.Module): An MMSeg segmentor (or a DDP wrapper of one).
        dataloader (Iterable): Batches with ``gt_sem_seg`` holding outlier
            pixels.
        num_classes (int): Number of inlier classes K.
        mode (str): ``'argmax'`` or ``'softmax'``, see
            :func:`count_outlier_predictions`.
        show_progress (bool): Show a progress bar on the main process.
        outlier_index (int): Label of outlier pixels.

    Returns:
        np.ndarray: float64 counts of shape (K,); they sum to the number of
        outlier pixels seen by all processes.
    """
    _check_mode(mode)
    if num_classes < 1:
        raise ValueError(f'num_classes must be >= 1, got {num_classes}.')
    was_training = model.training
    model.eval()
    counts = torch.zeros(num_classes, dtype=torch.float64)
    bar = (ProgressBar(len(dataloader))
           if show_progress and is_main_process() else None)
    try:
        for data in dataloader:
            for sample in model.test_step(data):
                counts += count_outlier_predictions(
                    sample.seg_logits.data, sample.gt_sem_seg.data,
                    num_classes, mode, outlier_index)
            if bar is not None:
                bar.update()
    finally:
        model.train(was_training)
    if bar is not None:
        bar.file.write('\n')
    all_reduce(counts, op='sum')
    return counts.numpy()


def prior_record(counts: Sequence[float],
                 class_names: Optional[Sequence[str]] = None,
                 **meta) -> dict:
    """The JSON record of an estimated prior.

    ``BalancedEnergyLoss(prior=path)`` reads its ``"prior"`` list; the other
    keys document where it came from.

    Args:
        counts (Sequence[float]): Per-class outlier counts (K,).
        class_names (Sequence[str], optional): The K class names.
        **meta: Extra JSON-serialisable entries (mode, num_samples,
            checkpoint...).

    Returns:
        dict: ``prior`` (fractions summing to 1), ``classes``, ``counts``,
        ``outlier_pixels`` and ``meta``'s entries.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError('counts must be a non-empty vector, got shape '
                         f'{counts.shape}.')
    total = float(counts.sum())
    if not total > 0:
        raise ValueError(
            'No outlier pixel was seen, so there is no prior to estimate. '
            'Check that PasteCocoObjects is in the training pipeline and '
            'that its outlier bank is not empty.')
    if class_names is not None and len(class_names) != counts.size:
        raise ValueError(f'{len(class_names)} class names for '
                         f'{counts.size} counts.')
    record = dict(
        prior=[float(c) / total for c in counts],
        classes=list(class_names) if class_names is not None else None,
        counts=[float(c) for c in counts],
        outlier_pixels=total)
    record.update(meta)
    return record


def save_prior(record: dict, path: str, overwrite: bool = False) -> None:
    """Write a prior record as JSON, atomically.

    Args:
        record (dict): From :func:`prior_record`.
        path (str): Output file (``.json``, as the loss expects).
        overwrite (bool): Replace an existing file.
    """
    if not path.endswith('.json'):
        raise ValueError(f'{path!r}: the prior file must end in .json, as '
                         'BalancedEnergyLoss(prior=...) expects.')
    if osp.exists(path) and not overwrite:
        raise FileExistsError(f'{path} already exists; choose another output '
                              'file or allow overwriting it.')
    with atomic_output(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(record, f, indent=1)
            f.write('\n')


def format_prior_table(record: dict) -> str:
    """The prior as a text table, classes sorted by decreasing share.

    Args:
        record (dict): From :func:`prior_record`.

    Returns:
        str: One line per class: index, name, fraction, count.
    """
    prior, counts = record['prior'], record['counts']
    names = record.get('classes') or [str(i) for i in range(len(prior))]
    width = max(len('class'), *(len(n) for n in names))
    lines = [f'{"id":>3}  {"class":<{width}}  {"fraction":>8}  '
             f'{"count":>12}']
    for i in sorted(range(len(prior)), key=lambda k: (-prior[k], k)):
        lines.append(f'{i:>3}  {names[i]:<{width}}  {prior[i]:>8.4f}  '
                     f'{counts[i]:>12.1f}')
    return '\n'.join(lines)
