"""Finding things in configs by type: the one rule of the package.

A config dict *is of* a class when its ``type`` names that class or a
subclass of it, written in any of the forms MMEngine builds:

* the class object itself (``type=BalancedEnergyLoss``);
* its registered name (``'BalancedEnergyLoss'``), with or without a scope
  prefix (``'mmseg.BalancedEnergyLoss'``, ``'mmseg_ood.BalancedEnergyLoss'``).

Names are looked up in MMSeg's registries (which fall back to MMEngine's),
so a user's subclass registered under its own name matches too. Every
module that looks for a loss, a transform, a metric, a hook or a sampler in
a config uses :func:`is_type` / :func:`find_configs`.

Example:
    >>> from mmseg_ood.models.losses import BalancedEnergyLoss
    >>> find_configs(cfg.model, BalancedEnergyLoss)  # doctest: +SKIP
    [{'type': 'BalancedEnergyLoss', 'prior': 'cityscapes_paper', ...}]
"""
from typing import Iterator, List, Optional, Sequence, Tuple, Union

from mmseg import registry as mmseg_registry

__all__ = [
    'dataset_pipelines', 'find_configs', 'is_type', 'resolve_type',
    'walk_configs'
]

ClassOrClasses = Union[type, Tuple[type, ...]]

# Where registered names are looked up, in order.
_REGISTRIES = ('MODELS', 'TRANSFORMS', 'METRICS', 'HOOKS', 'DATASETS',
               'DATA_SAMPLERS', 'LOOPS', 'OPTIM_WRAPPERS')


def resolve_type(type_) -> Optional[type]:
    """The class a config ``type`` names, or None if it names none.

    Args:
        type_: A class, or a registered name with or without a scope prefix.

    Returns:
        type | None: The class.
    """
    if isinstance(type_, type):
        return type_
    if not isinstance(type_, str) or not type_:
        return None
    name = type_.rsplit('.', 1)[-1]
    for registry_name in _REGISTRIES:
        found = getattr(mmseg_registry, registry_name).get(name)
        if isinstance(found, type):
            return found
    return None


def is_type(cfg, classes: Union[ClassOrClasses, str]) -> bool:
    """Whether ``cfg`` is a config dict of one of ``classes``.

    Args:
        cfg: Anything; only a dict with a ``type`` can match.
        classes (type | tuple[type] | str): The class(es), or a registered
            class name.

    Returns:
        bool: True if ``cfg['type']`` names one of the classes or a
        subclass.
    """
    if not isinstance(cfg, dict) or 'type' not in cfg:
        return False
    if isinstance(classes, str):
        classes = resolve_type(classes)
        if classes is None:
            return False
    found = resolve_type(cfg['type'])
    return found is not None and issubclass(found, classes)


def walk_configs(node, path: str = '') -> Iterator[Tuple[str, dict]]:
    """Every dict in a config tree, depth first, with its dotted path.

    Args:
        node: A config (dict, list or tuple), e.g. ``cfg.model``.
        path (str): Path of ``node`` (prefix of the yielded paths).

    Yields:
        tuple: ``(path, dict)``; list items get their index as key, as
        ``--cfg-options`` writes them (``decode_head.loss_decode.1``).
    """
    if isinstance(node, dict):
        yield path, node
        items: Sequence = list(node.items())
    elif isinstance(node, (list, tuple)):
        items = list(enumerate(node))
    else:
        return
    for key, value in items:
        yield from walk_configs(value, f'{path}.{key}' if path else str(key))


def find_configs(node, classes: Union[ClassOrClasses, str]) -> List[dict]:
    """Every config dict of ``classes`` (see :func:`is_type`) in a tree.

    Args:
        node: A config tree.
        classes: The class(es) or a registered class name.

    Returns:
        list[dict]: The matching dicts (the tree's own objects, so editing
        them edits the tree), depth first.
    """
    return [cfg for _, cfg in walk_configs(node) if is_type(cfg, classes)]


def dataset_pipelines(dataset_cfg) -> List[list]:
    """The pipelines of a dataset config, through dataset wrappers.

    A wrapper holds its dataset under ``dataset`` (``RepeatDataset``, ...)
    or its datasets under ``datasets`` (``ConcatDataset``); a wrapper's own
    ``pipeline`` (``MultiImageMixDataset``) comes first.

    Args:
        dataset_cfg (dict): A dataset config.

    Returns:
        list[list]: The pipeline lists (the tree's own objects).
    """
    pipelines = []
    if isinstance(dataset_cfg, dict):
        if isinstance(dataset_cfg.get('pipeline'), list):
            pipelines.append(dataset_cfg['pipeline'])
        pipelines += dataset_pipelines(dataset_cfg.get('dataset'))
        for inner in dataset_cfg.get('datasets') or []:
            pipelines += dataset_pipelines(inner)
    return pipelines
