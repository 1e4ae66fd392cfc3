"""Exact resume: keep the training processes' random state in checkpoints.

MMEngine resumes the model, optimizer, schedulers, message hub and the
iteration, and advances the training dataloader past the batches already
seen, so data workers (seeded from the run's seed) deliver the same batches.
The random generators of the training processes themselves are not
restored: dropout draws from torch's generator (CUDA's on a GPU), and with
``num_workers=0`` the transforms draw from NumPy's and Python's generators.
A resumed run then trains on different random numbers than the
uninterrupted run did.

:class:`RandomStateHook` stores those generators' states in every
checkpoint (one entry per rank) and puts them back right before the first
batch of the resumed run is fetched, that is after MMEngine has advanced the
dataloader. It also keeps validation from moving the training generators
(creating a dataloader iterator draws from torch's generator), so a run
validated at the iteration it was interrupted at and resumed from there
continues exactly as the uninterrupted one.
"""
import logging
import random
from typing import List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from ..mmengine_internals import restore_before_fetch

__all__ = [
    'RANDOM_STATE_KEY', 'RandomStateHook', 'get_random_state',
    'set_random_state'
]

#: Key of the random state in an MMEngine checkpoint.
RANDOM_STATE_KEY = 'random_state'


def get_random_state() -> dict:
    """Capture Python's, NumPy's, torch's (and CUDA's) global generators.

    Everything is stored as tensors and plain Python values, so a checkpoint
    holding it still loads with ``torch.load(..., weights_only=True)``.

    Returns:
        dict: ``python``, ``numpy``, ``torch`` and, with CUDA in use,
        ``cuda`` (the current device's generator).
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=dict(kind=kind, keys=torch.from_numpy(keys.astype(np.int64)),
                   pos=int(pos), has_gauss=int(has_gauss),
                   cached_gaussian=float(cached)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def set_random_state(state: dict) -> None:
    """Restore the generators captured by :func:`get_random_state`.

    Args:
        state (dict): A state from :func:`get_random_state`.
    """
    random.setstate(state['python'])
    numpy_state = state['numpy']
    np.random.set_state(
        (numpy_state['kind'],
         numpy_state['keys'].numpy().astype(np.uint32), numpy_state['pos'],
         numpy_state['has_gauss'], numpy_state['cached_gaussian']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'])


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the random state in checkpoints and restore it on resume.

    With it, a run interrupted at a checkpoint and resumed with ``--resume``
    ends with the same weights, bit for bit, as the uninterrupted run when
    both run in deterministic mode
    (``randomness=dict(seed=..., deterministic=True)``) on the same hardware
    and number of processes. ``mmseg-ood-train`` adds it to every run.

    Checkpoints get a ``'random_state'`` entry:
    ``dict(world_size=W, ranks=[state of rank 0, ...])``. In a distributed
    run the ranks' states are gathered whenever a :class:`CheckpointHook`
    saves after a training iteration or epoch; a checkpoint saved at another
    moment holds rank 0's state only, and the other ranks then keep their
    seeded state on resume (with a warning).

    Loading a checkpoint with ``load_from`` (not resuming) restores nothing.
    """

    # After the LR scheduler and logger hooks, before CheckpointHook
    # (VERY_LOW), so the gathered state is the one the checkpoint records.
    priority = 'LOW'

    def __init__(self) -> None:
        self._gathered: Optional[List[dict]] = None
        self._before_val: Optional[dict] = None
        self._pending: Optional[dict] = None

    # saving ---------------------------------------------------------------

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._gathered = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if get_world_size() > 1 and self._checkpoint_due(runner, False):
            self._gathered = all_gather_object(get_random_state())

    def before_train_epoch(self, runner) -> None:
        self._gathered = None
        self._restore_on_resume(runner)

    def after_train_epoch(self, runner) -> None:
        if get_world_size() > 1 and self._checkpoint_due(runner, True):
            self._gathered = all_gather_object(get_random_state())

    def before_val(self, runner) -> None:
        self._before_val = get_random_state()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            set_random_state(self._before_val)
            self._before_val = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Add ``checkpoint['random_state']`` (runs on rank 0 only)."""
        if self._gathered is not None:
            ranks = self._gathered
        elif self._before_val is not None:  # e.g. a best checkpoint
            ranks = [self._before_val]
        else:
            ranks = [get_random_state()]
        checkpoint[RANDOM_STATE_KEY] = dict(
            world_size=get_world_size(), ranks=ranks)

    @staticmethod
    def _checkpoint_due(runner, by_epoch: bool) -> bool:
        """Whether a CheckpointHook of the runner saves at this moment."""
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook):
                continue
            if hook.by_epoch != by_epoch:
                continue
            if by_epoch:
                due = hook.every_n_epochs(runner, hook.interval,
                                          hook.save_begin)
                last = hook.is_last_train_epoch(runner)
            else:
                due = hook.every_n_train_iters(runner, hook.interval,
                                               hook.save_begin)
                last = hook.is_last_train_iter(runner)
            if due or (hook.save_last and last):
                return True
        return False

    # restoring ------------------------------------------------------------

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get(RANDOM_STATE_KEY)

    def _restore_on_resume(self, runner) -> None:
        """Schedule the restore once a resumed run starts training."""
        saved, self._pending = self._pending, None
        loop = runner.train_loop
        if saved is None or loop.iter == 0:  # nothing saved, or load_from
            return
        rank = get_rank()
        if rank >= len(saved['ranks']):
            print_log(
                f'The checkpoint holds the random state of '
                f'{len(saved["ranks"])} of {saved["world_size"]} processes; '
                f'rank {rank} keeps its seeded state, so the resumed run '
                'is not an exact continuation.',
                logger='current', level=logging.WARNING)
            return
        if saved['world_size'] != get_world_size():
            print_log(
                f'The checkpoint was written by {saved["world_size"]} '
                f'processes, this run has {get_world_size()}: the resumed '
                'run is not an exact continuation.',
                logger='current', level=logging.WARNING)
        state = saved['ranks'][rank]
        # IterBasedTrainLoop advances its iterator by `loop.iter` batches
        # after this hook; restore right after that.
        if not restore_before_fetch(loop, loop.iter,
                                    lambda: set_random_state(state)):
            set_random_state(state)
