"""Switch the method on in any MMSeg config.

:func:`write_switched_on_config` (the ``mmseg-ood-switch-on`` command) loads
a source config exactly as MMEngine will (``mmseg::`` paths and every
``_base_`` resolved), looks at what it really holds after all merges, and
writes a thin config whose ``_base_`` is the source and that changes only
what the method needs:

* every head that sees the label map (decode head, auxiliary heads; dict or
  list) gets ``InlierCrossEntropyLoss`` instead of ``CrossEntropyLoss``
  (same arguments) and loses a pixel sampler (OHEM indexes by label);
* the head whose logits are scored gets the outlier loss
  (``BalancedEnergyLoss`` by default): the decode head, the last head of a
  cascade (OCRNet), or the coarse head of a point cascade (PointRend);
* every training pipeline gets ``PasteCocoObjects`` right after
  ``LoadAnnotations``, written to ``train_dataloader.dataset.pipeline``
  itself, where the base's ``train_pipeline`` was copied;
* validation and test evaluate named anomaly sets of the package's
  catalogue with ``AnomalyMetric`` and the several-sets loops, replacing
  MMSeg's dataloaders and IoUMetric (``_delete_=True``);
* ``custom_imports`` and ``OutlierExposureCheckHook``, so MMSeg's own
  ``tools/train.py`` runs the checks too.

Lists replace and dicts merge in MMEngine; the written file uses each the
way that works, so a user never needs the merge rules. Running the command
on its own output changes nothing more.

Example:
    >>> write_switched_on_config(
    ...     'mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py',
    ...     'configs/pspnet_r18_ood.py')  # doctest: +SKIP
"""
import copy
import os
import os.path as osp
import posixpath
import tempfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmcv.transforms import LoadAnnotations, Resize
from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmseg.models.losses import CrossEntropyLoss
from yapf.yapflib.yapf_api import FormatCode

from ..configs.anomaly_sets import TEST_LOOP, VAL_LOOP
from ..datasets.set_specs import ANOMALY_SETS
from ..models.losses import InlierCrossEntropyLoss
from ..utils.config_walk import dataset_pipelines, is_type, resolve_type
from ..utils.constants import PAPER_CITYSCAPES_PRIOR
from ..utils.file_io import atomic_output
from .hooks import OutlierExposureCheckHook
from .outlier_exposure_checks import (
    LABEL_DERIVING_HEADS,
    POINT_HEADS,
    head_configs,
    is_outlier_loss_class,
    is_outlier_source,
)

__all__ = [
    'OUTLIER_LOSSES', 'SwitchOnError', 'SwitchOnOptions', 'SwitchedOn',
    'load_source', 'render_config', 'switch_on', 'write_switched_on_config'
]

#: Outlier losses the command can put on the scored head.
OUTLIER_LOSSES = ('BalancedEnergyLoss', 'EnergyLoss')
#: The package every switched-on config imports.
PACKAGE = 'mmseg_ood'
#: Test resize when the source's test pipeline has none.
DEFAULT_TEST_SCALE = (2048, 1024)


class SwitchOnError(ValueError):
    """A config the method cannot be switched on in, with the reason."""


@dataclass
class SwitchOnOptions:
    """What ``mmseg-ood-switch-on`` writes.

    Attributes:
        loss (str): The outlier loss, one of :data:`OUTLIER_LOSSES`.
        loss_weight (float): Its weight (the paper: 0.1).
        prior (str, optional): Prior of ``BalancedEnergyLoss``: a name or
            a JSON file. None: ``'cityscapes_paper'`` for 19 classes,
            ``'uniform'`` otherwise.
        coco_root (str): Folder of the COCO outlier bank.
        prob (float): Share of training frames that get a pasted object.
        sets_root (str, optional): Folder that holds the anomaly sets in the
            package's layout; None: the sets' own folders under ``data/``.
        val_sets (Sequence[str]): Sets validated during training.
        test_sets (Sequence[str]): Sets of the test run.
        test_scale (tuple[int, int], optional): Resize of the anomaly sets;
            None: that of the source's test pipeline.
    """
    loss: str = 'BalancedEnergyLoss'
    loss_weight: float = 0.1
    prior: Optional[str] = None
    coco_root: str = 'data/coco'
    prob: float = 0.1
    sets_root: Optional[str] = None
    val_sets: Sequence[str] = ('fs_laf', )
    test_sets: Sequence[str] = ('fs_laf', 'fs_static', 'road_anomaly')
    test_scale: Optional[Tuple[int, int]] = None

    def check(self) -> None:
        """Raise :class:`SwitchOnError` for a value out of range."""
        if self.loss not in OUTLIER_LOSSES:
            raise SwitchOnError(f'--loss {self.loss}: choose one of '
                                f'{list(OUTLIER_LOSSES)}.')
        if not 0 < self.prob <= 1:
            raise SwitchOnError(f'--prob {self.prob}: the share of pasted '
                                'frames must be in (0, 1].')
        if self.loss_weight <= 0:
            raise SwitchOnError(
                f'--loss-weight {self.loss_weight} must be > 0.')
        for option, names in (('--val-sets', self.val_sets),
                              ('--test-sets', self.test_sets)):
            unknown = [n for n in names if n not in ANOMALY_SETS]
            if unknown or not names:
                raise SwitchOnError(
                    f'{option} {list(names)}: name one or more of '
                    f'{list(ANOMALY_SETS)}.')


class Code(str):
    """Python source written into the config as is (not a value)."""


@dataclass
class SwitchedOn:
    """What switching on does to a config.

    Attributes:
        items (list): ``(name, value)`` of the written config, in order; a
            :class:`Code` value is written as source.
        changes (list[str]): One line per change, for the header and the
            command's output.
        num_classes (int): Inlier classes of the scored head.
        source (Config, optional): The source config, as loaded.
    """
    items: List[Tuple[str, Any]] = field(default_factory=list)
    changes: List[str] = field(default_factory=list)
    num_classes: int = 0
    source: Optional[Config] = None

    def __getitem__(self, name: str):
        return dict(self.items)[name]

    def names(self) -> List[str]:
        return [name for name, _ in self.items]


# ----------------------------------------------------------------- values
def _plain(value):
    """A deep copy with plain dicts, without MMEngine's ``_scope_`` keys."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != '_scope_'}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return copy.deepcopy(value)


def _literal(value) -> str:
    """Python source of a config value, in MMSeg's ``dict(...)`` style."""
    if isinstance(value, Code):
        return str(value)
    if isinstance(value, dict):
        if all(isinstance(k, str) and k.isidentifier() for k in value):
            return 'dict(' + ', '.join(f'{k}={_literal(v)}'
                                       for k, v in value.items()) + ')'
        return '{' + ', '.join(f'{_literal(k)}: {_literal(v)}'
                               for k, v in value.items()) + '}'
    if isinstance(value, list):
        return '[' + ', '.join(_literal(v) for v in value) + ']'
    if isinstance(value, tuple):
        inner = ', '.join(_literal(v) for v in value)
        return f'({inner},)' if len(value) == 1 else f'({inner})'
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise SwitchOnError(
        f'The source config holds {value!r} ({type(value).__name__}), which '
        'a text config cannot write; mmseg-ood-switch-on extends configs '
        'that hold plain values (as MMSeg\'s own do).')


# ----------------------------------------------------------------- model
def _loss_list(head: dict) -> Tuple[List[dict], bool]:
    losses = head.get('loss_decode')
    if isinstance(losses, dict):
        return [losses], False
    return list(losses), True


def _inlier_losses(path: str, head: dict) -> Tuple[List[dict], bool]:
    """The head's losses with CrossEntropyLoss made outlier-aware."""
    losses, is_list = _loss_list(head)
    converted, changed = [], False
    for index, loss in enumerate(losses):
        where = f'{path}.loss_decode' + (f'.{index}' if is_list else '')
        kind = resolve_type(loss.get('type')) if isinstance(loss,
                                                            dict) else None
        if kind is None:
            raise SwitchOnError(
                f'{where}: unknown loss type {loss!r}; import the module '
                'that registers it (custom_imports).')
        if issubclass(kind, InlierCrossEntropyLoss) or is_outlier_loss_class(
                kind):
            converted.append(_plain(loss))
        elif issubclass(kind, CrossEntropyLoss):
            converted.append(
                dict(_plain(loss), type=InlierCrossEntropyLoss.__name__))
            changed = True
        else:
            raise SwitchOnError(
                f'{where} is {kind.__name__}, which cannot take the label of '
                'pasted outliers (254) that this head receives. Use '
                "dict(type='InlierCrossEntropyLoss', ...) there, or a loss "
                'of your own with an `outlier_index` argument that ignores '
                'that label, then run the command again.')
    return converted, changed


def _scored_index(path: str, heads: List[dict]) -> int:
    """The head whose logits the segmentor outputs at full resolution: the
    last head that is not a point head."""
    for index in range(len(heads) - 1, -1, -1):
        if not is_type(heads[index], POINT_HEADS):
            return index
    raise SwitchOnError(f'{path}: every head is a point head; there are no '
                        'per-pixel logits to score.')


def _outlier_loss(options: SwitchOnOptions, num_classes: int,
                  changes: List[str]) -> dict:
    loss = dict(type=options.loss)
    if options.loss == 'BalancedEnergyLoss':
        prior = options.prior
        if prior is None:
            if num_classes == len(PAPER_CITYSCAPES_PRIOR):
                prior = 'cityscapes_paper'
            else:
                prior = 'uniform'
                changes.append(
                    f'BalancedEnergyLoss prior: uniform ({num_classes} '
                    'classes; the paper\'s prior is for Cityscapes). '
                    'Estimate yours with mmseg-ood-prior and pass --prior '
                    'FILE.')
        loss['prior'] = prior
    loss.update(num_classes=num_classes, loss_weight=options.loss_weight)
    return loss


def _switch_on_heads(key: str, value, options: SwitchOnOptions,
                     changes: List[str], scored: bool) -> Tuple[Any, int]:
    """The override of ``model.<key>`` (or None) and the scored head's
    number of classes (0 when ``scored`` is False)."""
    is_list = isinstance(value, (list, tuple))
    heads = [_plain(h) for h in (value if is_list else [value])]
    score_at = _scored_index(f'model.{key}', heads) if scored else -1
    overrides, any_change, num_classes = [], False, 0
    for index, head in enumerate(heads):
        path = f'model.{key}' + (f'.{index}' if is_list else '')
        kind = head.get('type')
        if 'loss_decode' not in head:
            raise SwitchOnError(
                f'{path} ({kind}) has no loss_decode. The method puts its '
                'losses into the loss_decode of heads that output per-pixel '
                'class logits, as MMSeg\'s decode heads do (mask '
                'classification heads such as MaskFormer\'s are not '
                'supported).')
        override: Dict[str, Any] = {}
        if is_type(head, LABEL_DERIVING_HEADS):
            overrides.append((head, override))
            continue
        losses, loss_changed = _inlier_losses(path, head)
        if loss_changed:
            changes.append(f'{path} ({kind}): CrossEntropyLoss -> '
                           'InlierCrossEntropyLoss')
        if index == score_at:
            num_classes = int(head.get('num_classes') or 0)
            if num_classes < 1:
                raise SwitchOnError(f'{path} ({kind}) has no num_classes.')
            if not any(is_outlier_loss_class(resolve_type(loss.get('type')))
                       for loss in losses):
                losses.append(_outlier_loss(options, num_classes, changes))
                loss_changed = True
                changes.append(f'{path} ({kind}): + {options.loss} (the '
                               'head whose logits are scored)')
        if head.get('sampler') is not None:
            override['sampler'] = None
            changes.append(
                f'{path}: sampler {head["sampler"].get("type")} removed (it '
                'indexes probabilities by label and fails on outliers)')
        if loss_changed:
            was_list = _loss_list(head)[1]
            override['loss_decode'] = losses if (
                len(losses) > 1 or was_list) else losses[0]
        any_change = any_change or bool(override)
        overrides.append((head, override))
    if not any_change:
        return None, num_classes
    if is_list:
        return [dict(head, **override) for head, override in overrides
                ], num_classes
    return overrides[0][1], num_classes


def _switch_on_model(model_cfg: dict, options: SwitchOnOptions,
                     changes: List[str]) -> Tuple[Optional[dict], int]:
    decode = model_cfg.get('decode_head')
    if not decode:
        raise SwitchOnError(
            'The source config has no model.decode_head; the method needs a '
            'segmentor with decode heads (EncoderDecoder, '
            'CascadeEncoderDecoder).')
    for path, head in head_configs(model_cfg):
        if not isinstance(head, dict) or 'type' not in head:
            raise SwitchOnError(f'{path} has no type: {head!r}.')
    override: Dict[str, Any] = {}
    decode_override, num_classes = _switch_on_heads('decode_head', decode,
                                                    options, changes, True)
    if decode_override is not None:
        override['decode_head'] = decode_override
    auxiliary = model_cfg.get('auxiliary_head')
    if auxiliary:
        aux_override, _ = _switch_on_heads('auxiliary_head', auxiliary,
                                           options, changes, False)
        if aux_override is not None:
            override['auxiliary_head'] = aux_override
    return override or None, num_classes


# -------------------------------------------------------------- pipelines
def _with_paste(pipeline: list, paste: dict) -> Optional[list]:
    """The pipeline with ``paste`` after its last LoadAnnotations, or None
    when it has none."""
    loads = [i for i, t in enumerate(pipeline) if is_type(t, LoadAnnotations)]
    if not loads:
        return None
    at = loads[-1] + 1
    return [_plain(t) for t in pipeline[:at]] + [dict(paste)] + [
        _plain(t) for t in pipeline[at:]
    ]


def _paste_into_dataset(dataset: dict, paste: dict,
                        where: List[str]) -> Optional[dict]:
    """Override of a dataset config (through wrappers) that pastes in every
    pipeline that loads labels; None if no pipeline does."""
    override: Dict[str, Any] = {}
    pipeline = dataset.get('pipeline')
    if isinstance(pipeline, list):
        new = _with_paste(pipeline, paste)
        if new is not None:
            override['pipeline'] = new
            where.append('pipeline')
    inner = dataset.get('dataset')
    if isinstance(inner, dict):
        inner_override = _paste_into_dataset(inner, paste, where)
        if inner_override is not None:
            override['dataset'] = inner_override
    datasets = dataset.get('datasets')
    if isinstance(datasets, (list, tuple)):
        written, changed = [], False
        for child in datasets:
            child_override = _paste_into_dataset(child, paste, where)
            changed = changed or child_override is not None
            written.append(_merged(_plain(child), child_override or {}))
        if changed:
            override['datasets'] = written
    return override or None


def _merged(base: dict, override: dict) -> dict:
    """``override`` merged into ``base`` the way MMEngine merges dicts."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _switch_on_pipelines(cfg: Config, options: SwitchOnOptions,
                         changes: List[str]) -> List[Tuple[str, Any]]:
    loader = cfg.get('train_dataloader')
    if not isinstance(loader, dict) or not isinstance(
            loader.get('dataset'), dict):
        raise SwitchOnError('The source config has no train_dataloader with '
                            'a dataset; the method trains on it.')
    dataset = loader['dataset']
    if any(is_outlier_source(t) for p in dataset_pipelines(dataset)
           for t in p):
        return []
    paste = dict(type='PasteCocoObjects', data_root=options.coco_root,
                 prob=options.prob)
    where: List[str] = []
    override = _paste_into_dataset(dataset, paste, where)
    if override is None:
        raise SwitchOnError(
            'No pipeline of train_dataloader.dataset loads labels '
            '(LoadAnnotations); the pasted outliers need a label map.')
    changes.append('train_dataloader.dataset: + PasteCocoObjects (prob '
                   f'{options.prob}, {options.coco_root}) after '
                   'LoadAnnotations')
    if set(override) == {'pipeline'}:
        # MMSeg's idiom: the pipeline by name, referenced where it is used
        return [('train_pipeline', override['pipeline']),
                ('train_dataloader',
                 Code('dict(dataset=dict(pipeline=train_pipeline))'))]
    return [('train_dataloader', dict(dataset=override))]


# -------------------------------------------------------------- evaluation
def _test_scale(cfg: Config, changes: List[str]) -> Tuple[int, int]:
    loader = cfg.get('test_dataloader')
    dataset = loader.get('dataset') if isinstance(loader, dict) else None
    pipeline = dataset.get('pipeline') if isinstance(dataset, dict) else None
    for step in pipeline or []:
        if is_type(step, Resize) and step.get('scale'):
            return tuple(step['scale'])
    changes.append('anomaly sets resized to '
                   f'{DEFAULT_TEST_SCALE} (the source\'s test pipeline has '
                   'no Resize)')
    return DEFAULT_TEST_SCALE


def _evaluation_items(cfg: Config, options: SwitchOnOptions,
                      num_classes: int,
                      changes: List[str]) -> List[Tuple[str, Any]]:
    scale = tuple(options.test_scale) if options.test_scale else _test_scale(
        cfg, changes)
    arguments = ([f'data_root={options.sets_root!r}']
                 if options.sets_root else []) + [f'scale={scale!r}']
    score = dict(type='EnergyScore', num_classes=num_classes,
                 blur=dict(kernel_size=7, sigma=1.0))
    items: List[Tuple[str, Any]] = [
        ('anomaly_sets', Code(f'anomaly_catalogue({", ".join(arguments)})')),
        ('val_dataloader',
         Code(f'several_sets(anomaly_sets, {list(options.val_sets)!r})')),
        ('test_dataloader',
         Code(f'several_sets(anomaly_sets, {list(options.test_sets)!r})')),
        ('anomaly_score', score),
        ('val_evaluator', Code("dict(_delete_=True, type='AnomalyMetric', "
                               'score=anomaly_score)')),
        ('test_evaluator', Code("dict(_delete_=True, type='AnomalyMetric', "
                                'score=anomaly_score)')),
        ('val_cfg', dict(type=VAL_LOOP)),
        ('test_cfg', dict(type=TEST_LOOP)),
    ]
    changes.append(
        f'validation: {", ".join(options.val_sets)}; test: '
        f'{", ".join(options.test_sets)} (AnomalyMetric, energy score; '
        "replacing the source's dataloaders and IoUMetric)")
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint')
    if is_type(checkpoint, CheckpointHook):
        items.append(('default_hooks',
                      dict(checkpoint=dict(
                          save_best=f'{options.val_sets[0]}/AP',
                          rule='greater'))))
    return items


def _runtime_items(cfg: Config) -> List[Tuple[str, Any]]:
    imports = cfg.get('custom_imports') or {}
    modules = list(imports.get('imports') or [])
    if isinstance(imports.get('imports'), str):
        modules = [imports['imports']]
    if PACKAGE not in modules:
        modules.append(PACKAGE)
    hooks = [_plain(h) for h in cfg.get('custom_hooks') or []]
    if not any(is_type(h, OutlierExposureCheckHook) for h in hooks):
        hooks.append(dict(type=OutlierExposureCheckHook.__name__))
    return [('custom_imports', dict(imports=modules,
                                    allow_failed_imports=False)),
            ('custom_hooks', hooks)]


def switch_on(cfg: Config,
              options: Optional[SwitchOnOptions] = None) -> SwitchedOn:
    """What switching the method on writes, for a loaded config.

    Args:
        cfg (Config): The source config, loaded (bases merged).
        options (SwitchOnOptions, optional): Defaults: the paper's settings.

    Returns:
        SwitchedOn: The items of the written config and the changes.

    Raises:
        SwitchOnError: A config the method cannot be switched on in.
    """
    options = options or SwitchOnOptions()
    options.check()
    result = SwitchedOn(source=cfg)
    result.items += _runtime_items(cfg)
    model_override, result.num_classes = _switch_on_model(
        cfg.get('model') or {}, options, result.changes)
    if model_override:
        result.items.append(('model', model_override))
    result.items += _switch_on_pipelines(cfg, options, result.changes)
    result.items += _evaluation_items(cfg, options, result.num_classes,
                                      result.changes)
    return result


# ------------------------------------------------------------------ files
def _is_scoped(source: str) -> bool:
    return '::' in source


def load_source(source: str) -> Config:
    """Load a source config as a config with ``_base_ = [source]`` sees it.

    Args:
        source (str): A config file, or ``mmseg::<path>`` in MMSeg's
            installed configs.

    Raises:
        FileNotFoundError: No such file.
    """
    if not _is_scoped(source):
        if not osp.isfile(source):
            raise FileNotFoundError(f'Config {source!r} does not exist.')
        return Config.fromfile(source)
    with tempfile.TemporaryDirectory() as folder:
        probe = osp.join(folder, 'source.py')
        with open(probe, 'w', encoding='utf-8') as f:
            f.write(f'_base_ = [{source!r}]\n')
        try:
            return Config.fromfile(probe)
        except FileNotFoundError as error:
            raise FileNotFoundError(
                f'{source}: no such config in the installed package ('
                f'{error}).') from error


def _base_reference(source: str, out: str) -> str:
    if _is_scoped(source):
        return source
    relative = os.path.relpath(
        osp.abspath(source), osp.dirname(osp.abspath(out)))
    return relative.replace(os.sep, posixpath.sep)


def render_config(base: str,
                  switched: SwitchedOn,
                  command: Optional[str] = None) -> str:
    """The text of a switched-on config.

    Args:
        base (str): Its ``_base_`` (the source, relative to the file or as
            ``mmseg::<path>``).
        switched (SwitchedOn): From :func:`switch_on`.
        command (str, optional): The command that wrote it (for the header).

    Returns:
        str: Python source, formatted like MMSeg's configs.
    """
    header = [f'# mmseg_ood switched on in {base}']
    if command:
        header.append(f'# - written by: {command}')
    header += [
        '# The source is the base; this file holds only what the method '
        'changes:',
        *[f'# - {line}' for line in switched.changes],
        '# It copies the heads and the training pipeline it changes: run '
        'the command',
        '# again after editing those in the source. OutlierExposureCheckHook '
        'stops a',
        '# run whose pipeline, heads or validation sets switch the method '
        'off.',
        '# `_base_` comes before the import (MMEngine then reads this as an '
        'ordinary',
        '# config); mmseg_ood.configs ships the anomaly-set catalogue.',
    ]
    body = [f'_base_ = [{base!r}]',
            'from mmseg_ood.configs import anomaly_catalogue, several_sets  '
            '# noqa: E402']
    body += [f'{name} = {_literal(value)}' for name, value in switched.items]
    code, _ = FormatCode('\n'.join(body) + '\n', style_config='pep8')
    lines = []
    for line in header:
        lines += _wrap_comment(line)
    return '\n'.join(lines) + '\n' + code


def _wrap_comment(line: str, width: int = 79) -> List[str]:
    if len(line) <= width:
        return [line]
    words, out, current = line[2:].split(' '), [], '#'
    indent = '#   ' if line.startswith('# - ') else '#'
    for word in words:
        if len(current) + 1 + len(word) > width and current.strip('# '):
            out.append(current)
            current = indent
        current += ' ' + word
    out.append(current)
    return out


def write_switched_on_config(source: str,
                             out: str,
                             options: Optional[SwitchOnOptions] = None,
                             overwrite: bool = False,
                             command: Optional[str] = None) -> SwitchedOn:
    """Write the switched-on config of ``source`` to ``out``.

    The written file is loaded back before the command returns, so a file
    that MMEngine could not read is never left behind.

    Args:
        source (str): A config file or ``mmseg::<path>``.
        out (str): The config to write (``.py``).
        options (SwitchOnOptions, optional): What to write.
        overwrite (bool): Replace an existing ``out``.
        command (str, optional): Recorded in the header.

    Returns:
        SwitchedOn: What was written.

    Raises:
        FileExistsError: ``out`` exists and ``overwrite`` is False.
        SwitchOnError: The source cannot take the method.
    """
    if not out.endswith('.py'):
        raise SwitchOnError(f'{out}: the written config must end in .py.')
    if osp.exists(out) and not overwrite:
        raise FileExistsError(f'{out} already exists. Pass --overwrite to '
                              'replace it, or choose another file.')
    if osp.abspath(out) == osp.abspath(source):
        raise SwitchOnError(f'{out}: write to another file than the source '
                            '(the source is its base).')
    cfg = load_source(source)
    switched = switch_on(cfg, options)
    text = render_config(_base_reference(source, out), switched, command)
    with atomic_output(out) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
    try:
        Config.fromfile(out)
    except Exception:
        os.remove(out)
        raise
    return switched
