"""Loading the checkpoints a user names under torch >= 2.6.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``, which
cannot unpickle MMEngine checkpoints (message-hub history, numpy values,
config text in ``meta``): resume, ``load_from`` and testing all fail with an
``UnpicklingError``. Loading with ``weights_only=False`` can run arbitrary
code from the file, so :func:`trusted_checkpoints` allows it only for the
files and folders the user named on the command line, and only while the
``with`` block runs. Any other local checkpoint keeps torch's default.
"""
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterable, Iterator, List, Optional

import torch
from mmengine.runner.checkpoint import CheckpointLoader


def _real(path: str) -> str:
    return osp.realpath(osp.expanduser(path))


def is_local_path(path: Optional[str]) -> bool:
    """True for a local file path (not an URL or another MMEngine scheme)."""
    return isinstance(path, str) and bool(path) and '://' not in path


def model_checkpoint_paths(model_cfg) -> List[str]:
    """Checkpoints a model config names: ``pretrained`` and ``init_cfg``'s
    ``checkpoint`` entries, at any depth."""
    found = []
    if isinstance(model_cfg, dict):
        for key, value in model_cfg.items():
            if key in ('pretrained', 'checkpoint') and is_local_path(value):
                found.append(value)
            else:
                found.extend(model_checkpoint_paths(value))
    elif isinstance(model_cfg, (list, tuple)):
        for item in model_cfg:
            found.extend(model_checkpoint_paths(item))
    return found


@contextmanager
def trusted_checkpoints(files: Iterable[Optional[str]] = (),
                        dirs: Iterable[Optional[str]] = ()) -> Iterator[None]:
    """Load the named local checkpoints with ``weights_only=False``.

    Args:
        files: Checkpoint files the user named (``load_from``, ``--resume``,
            the test checkpoint, a model's ``pretrained`` / ``init_cfg``
            checkpoints). None and non-local entries are skipped.
        dirs: Folders whose checkpoints are trusted (the run's own work
            dir, for auto-resume).

    Example:
        >>> with trusted_checkpoints(files=[cfg.load_from],
        ...                          dirs=[cfg.work_dir]):
        ...     runner.train()
    """
    trusted_files = {_real(f) for f in files if is_local_path(f)}
    trusted_dirs = [_real(d) + os.sep for d in dirs if d]
    original = CheckpointLoader._schemes['']

    # MMEngine logs the loader's name from its 11th character on:
    # "Loads checkpoint by trusted_local backend".
    def load_from_trusted_local(filename, map_location=None):
        real = _real(filename)
        if real in trusted_files or any(
                real.startswith(d) for d in trusted_dirs):
            if not osp.isfile(real):
                raise FileNotFoundError(f'Checkpoint {filename} not found.')
            return torch.load(
                real, map_location=map_location, weights_only=False)
        return original(filename, map_location)

    CheckpointLoader._schemes[''] = load_from_trusted_local
    try:
        yield
    finally:
        CheckpointLoader._schemes[''] = original
