"""The catalogue of anomaly evaluation sets, for configs to import.

Each set of :data:`~mmseg_ood.datasets.set_specs.ANOMALY_SETS` becomes a
dataloader config under its short name (``fs_laf``, ``fs_static``,
``road_anomaly``, ``smiyc_anomaly``, ``smiyc_obstacle``, ``laf_noknown``),
read by :class:`~mmseg_ood.datasets.AnomalyDataset` from the set's folder
in the table (``data/fishyscapes/LostAndFound``, ...) or under another
data folder. :func:`several_sets` picks sets for ``val_dataloader`` /
``test_dataloader``, evaluated together by ``AnomalySetsValLoop`` /
``AnomalySetsTestLoop`` (metrics ``<set>/AP``, ...).

Example:
    >>> sets = anomaly_catalogue(data_root='data/demo_world',
    ...                          scale=(512, 256))
    >>> sets['fs_laf']['dataset']['data_root']
    'data/demo_world/fishyscapes/LostAndFound'
    >>> sorted(several_sets(sets, ['fs_laf', 'road_anomaly']))
    ['_delete_', 'fs_laf', 'road_anomaly']
"""
import copy
import posixpath
from typing import Dict, List, Optional, Sequence, Tuple

from ..datasets.set_specs import ANOMALY_SETS

__all__ = [
    'DATA_ROOT', 'DELETE_KEY', 'TEST_LOOP', 'VAL_LOOP', 'anomaly_catalogue',
    'anomaly_test_pipeline', 'several_sets'
]

#: The folder under which the table's default set folders lie.
DATA_ROOT = 'data'
#: MMEngine's key that makes a child config's dict replace the base's.
DELETE_KEY = '_delete_'
#: The loops that evaluate several named sets in one run.
VAL_LOOP = 'AnomalySetsValLoop'
TEST_LOOP = 'AnomalySetsTestLoop'


def anomaly_test_pipeline(scale: Tuple[int, int] = (2048, 1024)) -> List[dict]:
    """The test pipeline of an anomaly set.

    Frames are resized like MMSeg's Cityscapes test pipeline; labels are
    loaded after the resize, so they stay at native resolution (scores are
    upsampled, never labels).

    Args:
        scale (tuple[int, int]): ``Resize`` scale (width, height), with
            ``keep_ratio=True``.

    Returns:
        list[dict]: Transform configs.
    """
    return [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=tuple(scale), keep_ratio=True),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs'),
    ]


def _set_root(default: str, data_root: str) -> str:
    """The table's default folder moved from ``data/`` to ``data_root``."""
    relative = posixpath.relpath(default, DATA_ROOT)
    return posixpath.join(data_root, relative)


def anomaly_catalogue(data_root: Optional[str] = None,
                      scale: Tuple[int, int] = (2048, 1024),
                      num_workers: int = 2,
                      sets: Optional[Sequence[str]] = None) -> Dict[str, dict]:
    """Dataloader configs of the anomaly sets, by short name.

    Args:
        data_root (str, optional): The folder that holds the sets in the
            table's layout (``<data_root>/fishyscapes/LostAndFound``, ...).
            None leaves ``data_root`` out, and ``AnomalyDataset`` reads the
            table's folder (under ``data/``).
        scale (tuple[int, int]): Test resize (width, height).
        num_workers (int): Workers of each dataloader.
        sets (Sequence[str], optional): Sets to include; default all.

    Returns:
        dict: Set name -> dataloader config (batch 1, no shuffling, no
        padded samples).

    Raises:
        KeyError: An unknown set name.
    """
    names = list(ANOMALY_SETS) if sets is None else list(sets)
    unknown = [name for name in names if name not in ANOMALY_SETS]
    if unknown:
        raise KeyError(f'Unknown anomaly set(s) {unknown}; the catalogue '
                       f'has {list(ANOMALY_SETS)}.')
    catalogue = {}
    for name in names:
        dataset = dict(type='AnomalyDataset', benchmark=name)
        if data_root is not None:
            dataset['data_root'] = _set_root(ANOMALY_SETS[name].data_root,
                                             data_root)
        dataset['pipeline'] = anomaly_test_pipeline(scale)
        catalogue[name] = dict(
            batch_size=1,
            num_workers=num_workers,
            persistent_workers=False,
            sampler=dict(type='DefaultSampler', shuffle=False,
                         round_up=False),
            dataset=dataset)
    return catalogue


def several_sets(catalogue: Dict[str, dict],
                 names: Sequence[str],
                 replace: bool = True) -> dict:
    """``val_dataloader`` / ``test_dataloader`` of several named sets.

    Args:
        catalogue (dict): Set name -> dataloader config, e.g. from
            :func:`anomaly_catalogue`.
        names (Sequence[str]): The sets, in evaluation order.
        replace (bool): Add ``_delete_=True``, so that the sets replace the
            base config's single dataloader instead of merging into it.
            MMEngine drops the key where the base has the dataloader; the
            anomaly-set loops ignore it elsewhere.

    Returns:
        dict: Set name -> a copy of its dataloader config.

    Raises:
        KeyError: A name not in the catalogue.
    """
    unknown = [name for name in names if name not in catalogue]
    if unknown:
        raise KeyError(f'Unknown anomaly set(s) {unknown}; the catalogue '
                       f'has {list(catalogue)}.')
    chosen = {name: copy.deepcopy(catalogue[name]) for name in names}
    return {DELETE_KEY: True, **chosen} if replace else chosen
