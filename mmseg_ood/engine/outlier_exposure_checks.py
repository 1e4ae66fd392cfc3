"""Checks that an outlier-exposure run is set up to do what it says.

The failures these catch are silent or come late in MMSeg: a training
pipeline that never pastes an outlier (the energy loss then trains on
inliers only, without a word), validation with the anomaly metric on a set
that is not an anomaly set (a crash at the first validation, hours in),
losses on heads that cannot take the outlier label or whose logits are not
per-pixel. Each check raises :class:`OutlierExposureError`, whose message
names the config key and the fix.

* :func:`check_train_config` reads a config only (``mmseg-ood-train`` runs
  it before building anything);
* :func:`check_train_model`, :func:`check_val_sets` and
  :func:`check_test_config` look at built objects;
  :class:`~mmseg_ood.engine.hooks.OutlierExposureCheckHook` runs them all
  before the first iteration, also under MMSeg's own ``tools/train.py``.

Words used here: an *outlier loss* uses the outlier label (Balanced Energy,
energy, abstention; any loss with an ``outlier_index`` that is not an
:class:`~mmseg_ood.models.losses.InlierCrossEntropyLoss`); an *outlier
source* is a transform with ``writes_outlier_label = True``
(:class:`~mmseg_ood.datasets.PasteCocoObjects`).
"""
import inspect
import math
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
from mmseg.datasets.transforms import RandomCrop
from mmseg.models.decode_heads import PointHead, STDCHead
from torch import nn

from ..datasets.anomaly_dataset import AnomalyDataset
from ..datasets.transforms import RandomCropKeepOutlier
from ..evaluation.metrics.anomaly_metric import AnomalyMetric
from ..models.losses import BalancedEnergyLoss, InlierCrossEntropyLoss
from ..utils.config_walk import (
    dataset_pipelines,
    find_configs,
    is_type,
    resolve_type,
    walk_configs,
)
from ..utils.constants import (
    ANOMALY_EVAL_ANOMALY,
    ANOMALY_EVAL_INLIER,
    IGNORE_INDEX,
)

__all__ = [
    'IOU_METRIC_KEYS', 'LABEL_DERIVING_HEADS', 'POINT_HEADS',
    'SWITCH_ON_HINT', 'OutlierExposureError', 'check_test_config',
    'check_train_config', 'check_train_model', 'check_val_sets',
    'find_outlier_losses', 'head_configs', 'is_outlier_loss',
    'is_outlier_loss_class', 'is_outlier_source',
    'iterations_to_see_outliers', 'outlier_reach_probability',
    'outlier_sources', 'pasting_probability'
]

#: Heads whose losses get point samples (N, C, P), not per-pixel logits:
#: an outlier loss belongs on the coarse head of such a cascade.
POINT_HEADS = (PointHead, )
#: Heads that derive their own targets from the label map (STDC's boundary
#: head): the outlier label never reaches their losses as a class.
LABEL_DERIVING_HEADS = (STDCHead, )
#: Arguments of MMSeg's IoUMetric that end up in an AnomalyMetric config
#: when it is merged into a base's ``val_evaluator`` without ``_delete_``.
IOU_METRIC_KEYS = ('iou_metrics', 'nan_to_num', 'beta', 'output_dir',
                   'format_only')
#: How to get every piece right at once.
SWITCH_ON_HINT = ('mmseg-ood-switch-on SOURCE_CONFIG OUT_CONFIG writes a '
                  'config with all of it set (docs/en/configs.md)')


class OutlierExposureError(ValueError):
    """An outlier-exposure run is set up so that it cannot do its job."""


# ---------------------------------------------------------------- classes
def is_outlier_loss_class(cls) -> bool:
    """Whether a loss class uses the outlier label as a target.

    Args:
        cls (type | None): A loss class.

    Returns:
        bool: True for :class:`BalancedEnergyLoss` and its subclasses and
        any class taking an ``outlier_index`` argument, except
        :class:`InlierCrossEntropyLoss` (which ignores outliers).
    """
    if not isinstance(cls, type) or issubclass(cls, InlierCrossEntropyLoss):
        return False
    if issubclass(cls, BalancedEnergyLoss):
        return True
    try:
        return 'outlier_index' in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def is_outlier_loss(module: nn.Module) -> bool:
    """Whether a built loss uses the outlier label as a target."""
    return (getattr(module, 'outlier_index', None) is not None
            and not isinstance(module, InlierCrossEntropyLoss))


def is_outlier_source(transform) -> bool:
    """Whether a transform (built, a class, or a config) writes the outlier
    label into the label maps."""
    if isinstance(transform, dict):
        transform = resolve_type(transform.get('type'))
    return bool(getattr(transform, 'writes_outlier_label', False))


def _source_steps(dataset) -> List[Tuple[object, list]]:
    """``(source, transforms after it)`` of every outlier source in a built
    dataset's pipelines, wrappers included."""
    found = []
    for child in getattr(dataset, 'datasets', None) or []:
        found += _source_steps(child)
    inner = getattr(dataset, 'dataset', None)
    if inner is not None:
        found += _source_steps(inner)
    transforms = list(getattr(getattr(dataset, 'pipeline', None),
                              'transforms', None) or [])
    return found + [(t, transforms[i + 1:]) for i, t in enumerate(transforms)
                    if is_outlier_source(t)]


def outlier_sources(dataset) -> list:
    """The outlier sources of a built dataset's pipelines, wrappers
    included."""
    return [source for source, _ in _source_steps(dataset)]


def _prob(source) -> float:
    if isinstance(source, dict):
        return float(source.get('prob', 1.0))
    return float(getattr(source, 'prob', 1.0))


def pasting_probability(sources: Sequence) -> float:
    """Chance that a frame gets outliers from at least one source (a source
    without ``prob`` always pastes)."""
    miss = 1.0
    for source in sources:
        miss *= 1.0 - _prob(source)
    return 1.0 - miss


def outlier_reach_probability(dataset, crop_keep: float) -> float:
    """A lower bound on the chance that a training frame brings outlier
    pixels to the loss.

    A source followed by MMSeg's ``RandomCrop`` (not
    ``RandomCropKeepOutlier``, which keeps pastes in the crop) counts with
    its probability times ``crop_keep``.

    Args:
        dataset: The built training dataset.
        crop_keep (float): Share of pastes assumed to survive such a crop.

    Returns:
        float: The chance, 0 without sources.
    """
    miss = 1.0
    for source, after in _source_steps(dataset):
        cut = any(isinstance(t, RandomCrop)
                  and not isinstance(t, RandomCropKeepOutlier) for t in after)
        miss *= 1.0 - _prob(source) * (crop_keep if cut else 1.0)
    return 1.0 - miss


# ---------------------------------------------------------------- configs
def head_configs(model_cfg) -> Iterator[Tuple[str, dict]]:
    """``(path, head config)`` of every decode and auxiliary head, with
    list items as ``decode_head.1`` (as ``--cfg-options`` writes them)."""
    for key in ('decode_head', 'auxiliary_head'):
        heads = model_cfg.get(key)
        if isinstance(heads, dict):
            yield f'model.{key}', heads
        elif isinstance(heads, (list, tuple)):
            for index, head in enumerate(heads):
                yield f'model.{key}.{index}', head


def _loss_configs(head_cfg) -> List[dict]:
    losses = head_cfg.get('loss_decode') if isinstance(head_cfg,
                                                       dict) else None
    if isinstance(losses, dict):
        return [losses]
    return [loss for loss in losses or [] if isinstance(loss, dict)]


def _check_heads_have_types(model_cfg) -> None:
    for path, head in head_configs(model_cfg):
        if isinstance(head, dict) and 'type' not in head:
            if path.startswith('model.auxiliary_head'):
                raise OutlierExposureError(
                    f'{path} has no `type`: the base model has no auxiliary '
                    f'head, so the config\'s auxiliary_head={dict(head)} '
                    'describes a head that does not exist. Remove '
                    'auxiliary_head from your config (or '
                    f'{SWITCH_ON_HINT}).')
            raise OutlierExposureError(
                f'{path} has no `type` ({dict(head)}): it does not extend a '
                'head of the base model. A list-valued decode_head must be '
                'written in full (lists replace, they do not merge), or '
                f'{SWITCH_ON_HINT}.')


def _check_evaluator_merges(cfg) -> None:
    for key in ('val_evaluator', 'test_evaluator'):
        for metric in find_configs(cfg.get(key), AnomalyMetric):
            merged = [k for k in IOU_METRIC_KEYS if k in metric]
            if merged:
                raise OutlierExposureError(
                    f'{key} is an AnomalyMetric that also holds {merged}, '
                    "the arguments of the base config's IoUMetric: MMEngine "
                    'merged the two dicts. Write '
                    f"{key} = dict(_delete_=True, type='AnomalyMetric', "
                    'score=...) so that it replaces the base\'s metric.')


def _outlier_loss_paths(model_cfg) -> List[Tuple[str, dict, str, str]]:
    """``(head path, head, loss path, loss type)`` of every outlier loss
    config."""
    found = []
    for path, head in head_configs(model_cfg):
        losses = head.get('loss_decode') if isinstance(head, dict) else None
        for index, loss in enumerate(_loss_configs(head)):
            if is_outlier_loss_class(resolve_type(loss.get('type'))):
                where = f'{path}.loss_decode' + (
                    '' if isinstance(losses, dict) else f'.{index}')
                found.append((path, head, where, str(loss.get('type'))))
    return found


def _point_head_message(path: str, head_type, loss_type) -> str:
    return (f'{path} ({head_type}) has the outlier loss {loss_type}, but '
            'this head computes its losses on point samples (N, C, P), not '
            'on per-pixel logits (N, C, H, W). Put the outlier loss on the '
            "cascade's coarse head (model.decode_head.0 for PointRend), whose "
            'logits the anomaly score reads, and keep '
            "dict(type='InlierCrossEntropyLoss', ...) here.")


def _no_source_message(losses: Sequence[str], where: str) -> str:
    return (
        f'The model trains {", ".join(losses)} on pasted outliers, but '
        f'{where} has no outlier source (no PasteCocoObjects or other '
        'transform that writes the outlier label), so every batch would '
        'be inliers only. Add dict(type=\'PasteCocoObjects\', '
        "data_root='data/coco', prob=0.1) right after LoadAnnotations in "
        'train_dataloader.dataset.pipeline (a `train_pipeline` defined in '
        'a child config does not reach it: the base already copied its own '
        f'list there), or {SWITCH_ON_HINT}.')


def check_train_config(cfg) -> None:
    """Checks of a training config that need nothing built.

    * every head has a ``type`` (an ``auxiliary_head=`` override on a
      model without one, a dict override of a list-valued head);
    * no AnomalyMetric merged with a base's IoUMetric;
    * no outlier loss on a point head;
    * an outlier loss has an outlier source in
      ``train_dataloader.dataset.pipeline``;
    * a dict of named validation sets runs with ``AnomalySetsValLoop``.

    Args:
        cfg (Config | dict): The run's config.

    Raises:
        OutlierExposureError: Naming the key and the fix.
    """
    model_cfg = cfg.get('model') or {}
    _check_heads_have_types(model_cfg)
    _check_evaluator_merges(cfg)
    outlier_losses = _outlier_loss_paths(model_cfg)
    for path, head, _, kind in outlier_losses:
        if is_type(head, POINT_HEADS):
            raise OutlierExposureError(
                _point_head_message(path, head.get('type'), kind))
    train_loader = cfg.get('train_dataloader')
    if outlier_losses and isinstance(train_loader, dict):
        sources = [
            t for pipeline in dataset_pipelines(train_loader.get('dataset'))
            for t in pipeline if is_outlier_source(t)
        ]
        if not sources:
            raise OutlierExposureError(
                _no_source_message(
                    [f'{where} ({kind})'
                     for _, _, where, kind in outlier_losses],
                    'train_dataloader.dataset.pipeline'))
    val_loader = cfg.get('val_dataloader')
    val_cfg = cfg.get('val_cfg')
    if (isinstance(val_loader, dict) and 'dataset' not in val_loader
            and val_loader and isinstance(val_cfg, dict)
            and not is_type(val_cfg, 'AnomalySetsValLoop')):
        raise OutlierExposureError(
            f'val_dataloader holds named sets {sorted(val_loader)}, which '
            f"only val_cfg = dict(type='AnomalySetsValLoop') evaluates; the "
            f"config has val_cfg type {val_cfg.get('type')!r}.")


def check_test_config(cfg) -> None:
    """A test run evaluates anomaly sets with the anomaly metric.

    Raises:
        OutlierExposureError: ``test_evaluator`` has no ``AnomalyMetric``
            (e.g. still the MMSeg base's IoUMetric), or one merged with it.
    """
    _check_evaluator_merges(cfg)
    evaluator = cfg.get('test_evaluator')
    if not find_configs(evaluator, AnomalyMetric):
        kinds = sorted({str(c['type']) for _, c in walk_configs(evaluator)
                        if 'type' in c})
        raise OutlierExposureError(
            f'test_evaluator has no AnomalyMetric (it has {kinds or "none"}; '
            "an MMSeg base's test_evaluator is IoUMetric), so the run would "
            "report no anomaly metric. Set test_evaluator = dict(_delete_="
            "True, type='AnomalyMetric', score=dict(type='EnergyScore', "
            f'num_classes=19)), or {SWITCH_ON_HINT}.')


# ---------------------------------------------------------- built objects
def _heads_with_losses(model: nn.Module) -> Iterator[Tuple[str, nn.Module]]:
    for name, module in model.named_modules():
        if getattr(module, 'loss_decode', None) is not None:
            yield name, module


def _losses_of(head: nn.Module) -> List[nn.Module]:
    losses = head.loss_decode
    return list(losses) if isinstance(losses, nn.ModuleList) else [losses]


def find_outlier_losses(model: nn.Module) -> List[Tuple[str, nn.Module]]:
    """``(name, loss)`` of every outlier loss of a model's heads, named
    like ``decode_head.loss_decode.1`` (``decode_head.0...`` in a
    cascade)."""
    found = []
    for name, head in _heads_with_losses(model):
        losses = _losses_of(head)
        for index, loss in enumerate(losses):
            if is_outlier_loss(loss):
                suffix = f'.{index}' if isinstance(head.loss_decode,
                                                   nn.ModuleList) else ''
                found.append((f'{name}.loss_decode{suffix}', loss))
    return found


def check_train_model(model: nn.Module, train_dataset) -> float:
    """Checks of the built model against the built training set.

    * no outlier loss on a point head;
    * an outlier loss has an outlier source in the training pipeline;
    * no pixel sampler (OHEM) on a head that sees outlier labels: it
      indexes the class probabilities with the label and fails on 254.

    Args:
        model (nn.Module): The segmentor (unwrapped).
        train_dataset: The built training dataset.

    Returns:
        float: The chance that a training frame gets pasted outliers.

    Raises:
        OutlierExposureError: Naming the head or pipeline and the fix.
    """
    outlier_losses = find_outlier_losses(model)
    for name, head in _heads_with_losses(model):
        if isinstance(head, POINT_HEADS) and any(
                is_outlier_loss(loss) for loss in _losses_of(head)):
            kinds = [type(loss).__name__ for loss in _losses_of(head)
                     if is_outlier_loss(loss)]
            raise OutlierExposureError(
                _point_head_message(f'model.{name}',
                                    type(head).__name__, ', '.join(kinds)))
    sources = outlier_sources(train_dataset)
    if outlier_losses and not sources:
        raise OutlierExposureError(
            _no_source_message(
                [f'{name} ({type(loss).__name__})'
                 for name, loss in outlier_losses],
                'the training dataset (train_dataloader.dataset.pipeline)'))
    if sources:
        for name, head in _heads_with_losses(model):
            if (getattr(head, 'sampler', None) is not None
                    and not isinstance(head, LABEL_DERIVING_HEADS)):
                raise OutlierExposureError(
                    f'model.{name} has the pixel sampler '
                    f'{type(head.sampler).__name__}, which looks up the '
                    "class probability at each pixel's label and fails on "
                    'the outlier label (254) of pasted pixels. Set '
                    f'sampler=None on model.{name}.')
    return pasting_probability(sources)


def _val_pairs(val_loop) -> Iterator[Tuple[str, object, object]]:
    """``(config key, dataset, evaluator)`` of a built validation loop."""
    set_loops = getattr(val_loop, 'set_loops', None)
    if set_loops:
        for name, loop in set_loops.items():
            yield (f'val_dataloader.{name}', loop.dataloader.dataset,
                   loop.evaluator)
    elif getattr(val_loop, 'dataloader', None) is not None:
        yield ('val_dataloader', val_loop.dataloader.dataset,
               val_loop.evaluator)


def _label_values(dataset, max_images: int) -> Tuple[set, int]:
    values: set = set()
    count = min(len(dataset), max_images)
    for index in range(count):
        sample = dataset[index]['data_samples']
        seg = getattr(sample, 'gt_sem_seg', None)
        if seg is not None:
            values |= set(np.unique(seg.data.cpu().numpy()).tolist())
    return values, count


def check_val_sets(val_loop, max_images: int = 3) -> None:
    """The anomaly metric evaluates anomaly sets only.

    A dataset evaluated by an ``AnomalyMetric`` must have labels 0 inlier,
    1 anomaly, 255 void. ``AnomalyDataset`` always has; any other dataset's
    first ``max_images`` label maps are read through its pipeline.

    Args:
        val_loop: A built validation loop (``ValLoop`` or
            ``AnomalySetsValLoop``), or None.
        max_images (int): Label maps read per other dataset.

    Raises:
        OutlierExposureError: Naming the set and the fix.
    """
    allowed = {ANOMALY_EVAL_INLIER, ANOMALY_EVAL_ANOMALY, IGNORE_INDEX}
    for key, dataset, evaluator in _val_pairs(val_loop):
        metrics = getattr(evaluator, 'metrics', None) or []
        if not any(isinstance(m, AnomalyMetric) for m in metrics):
            continue
        if isinstance(dataset, AnomalyDataset):
            continue
        values, count = _label_values(dataset, max_images)
        extra = sorted(values - allowed)
        if extra:
            raise OutlierExposureError(
                f'{key} ({type(dataset).__name__}, '
                f'{getattr(dataset, "data_root", "")}) is validated with the '
                f'anomaly metric, but its labels hold {extra[:10]} besides '
                '0 inlier / 1 anomaly / 255 void (first '
                f'{count} image(s)): it is not an anomaly set, and the '
                'metric would fail at the first validation. Validate on '
                "anomaly sets: val_dataloader = several_sets(anomaly_sets, "
                "['fs_laf']) with anomaly_sets = anomaly_catalogue() from "
                "mmseg_ood.configs, and val_cfg = dict(type="
                f"'AnomalySetsValLoop'); or {SWITCH_ON_HINT}.")


def iterations_to_see_outliers(reach: float,
                               frames_per_iter: int,
                               miss_chance: float = 1e-6) -> Optional[int]:
    """Iterations after which a run that pastes should have shown outliers.

    If each frame brings outlier pixels to the loss with probability
    ``reach``, ``n`` frames show none with probability
    ``(1 - reach) ** n``; the result is the fewest iterations that bring
    this to ``miss_chance`` or below.

    Args:
        reach (float): Chance that a frame brings outliers to the loss
            (:func:`outlier_reach_probability`).
        frames_per_iter (int): Frames per iteration (all processes).
        miss_chance (float): Accepted chance of a false alarm.

    Returns:
        int | None: Iterations, or None when nothing is pasted.

    Example:
        >>> iterations_to_see_outliers(0.1, 2)  # 132 frames
        66
    """
    if reach <= 0:
        return None
    if reach >= 1:
        return 1
    frames = math.ceil(math.log(miss_chance) / math.log1p(-reach))
    return max(1, math.ceil(frames / max(1, frames_per_iter)))
