"""Name truncated frames and 16-bit label maps of the training set before
the first iteration."""
from typing import Iterator, List

from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ...utils.image_files import (
    ImageFileError,
    check_image_complete,
    check_label_file,
)

__all__ = ['DataFilesCheckHook', 'check_dataset_files']


def _leaf_datasets(dataset) -> Iterator:
    """The datasets that list files, inside Concat/Repeat wrappers."""
    children = getattr(dataset, 'datasets', None)
    if children:
        for child in children:
            yield from _leaf_datasets(child)
        return
    inner = getattr(dataset, 'dataset', None)
    if inner is not None:
        yield from _leaf_datasets(inner)
        return
    yield dataset


def check_dataset_files(dataset, shown: int = 5) -> int:
    """Check every image and label map a dataset lists: whole files (a
    truncated JPEG decodes half grey without an error), 8-bit label PNGs
    (MMSeg casts labels to uint8).

    Only the first and last bytes of each file are read, so a set of
    thousands of frames is checked in about a second.

    Args:
        dataset: An MMEngine dataset (or a wrapper of some) with
            ``img_path`` / ``seg_map_path`` in its data list.
        shown (int): How many bad files the message names.

    Returns:
        int: The number of files checked.

    Raises:
        ImageFileError: Naming the bad files.
    """
    bad: List[str] = []
    count = 0
    for leaf in _leaf_datasets(dataset):
        if not hasattr(leaf, 'get_data_info') or not hasattr(leaf, '__len__'):
            continue
        for index in range(len(leaf)):
            info = leaf.get_data_info(index)
            for key, check in (('img_path', check_image_complete),
                               ('seg_map_path', check_label_file)):
                path = info.get(key) if isinstance(info, dict) else None
                if not isinstance(path, str) or '://' in path:
                    continue
                count += 1
                try:
                    check(path)
                except (ImageFileError, FileNotFoundError) as error:
                    bad.append(str(error))
    if bad:
        raise ImageFileError(
            f'{len(bad)} training file(s) cannot be used: '
            + ' | '.join(bad[:shown]) + (' | ...' if len(bad) > shown else ''))
    return count


@HOOKS.register_module()
class DataFilesCheckHook(Hook):
    """Before training, check every frame and label map of the training set
    (:func:`check_dataset_files`); ``mmseg-ood-train`` adds it to every
    run."""
    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        check_dataset_files(runner.train_dataloader.dataset)
