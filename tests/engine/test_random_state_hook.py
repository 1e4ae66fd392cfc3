"""RandomStateHook's pieces; the end-to-end resume is tests/tools."""
import random

import numpy as np
import torch
from mmengine.hooks import CheckpointHook

from mmseg_ood.engine.hooks.random_state_hook import (
    RandomStateHook,
    get_random_state,
    set_random_state,
)
from mmseg_ood.engine.mmengine_internals import restore_before_fetch


def draws():
    return (random.random(), float(np.random.rand()),
            float(np.random.randn()), torch.rand(3).tolist())


def test_state_round_trip_repeats_every_generator():
    np.random.randn()  # leaves a cached Gaussian in NumPy's state
    state = get_random_state()
    first = draws()
    set_random_state(state)
    assert draws() == first
    # the checkpoint entry holds tensors and plain values only
    assert isinstance(state['numpy']['keys'], torch.Tensor)
    assert isinstance(state['torch'], torch.Tensor)


class FakeLoop:

    def __init__(self, iterator):
        self.dataloader_iterator = iterator
        self.iter = 2


def test_restore_happens_after_the_skipped_batches():
    torch.manual_seed(1)
    state = get_random_state()
    expected = torch.rand(1).item()
    torch.manual_seed(99)

    def batches():
        while True:
            yield torch.rand(1).item()  # a transform drawing numbers

    loop = FakeLoop(batches())
    original = loop.dataloader_iterator
    assert restore_before_fetch(loop, 2, lambda: set_random_state(state))
    next(loop.dataloader_iterator)
    next(loop.dataloader_iterator)
    assert loop.dataloader_iterator is not original
    # the first batch after the skipped ones sees the saved state ...
    assert next(loop.dataloader_iterator) == expected
    # ... and the loop has its own iterator back
    assert loop.dataloader_iterator is original


class FakeRunner:

    def __init__(self, iteration, hooks):
        self.iter = iteration
        self.hooks = hooks
        self.max_iters = 10
        self.train_loop = FakeLoop(iter(()))
        self.train_loop.iter = iteration


def test_checkpoint_due_follows_the_checkpoint_hook():
    hook = CheckpointHook(interval=4, by_epoch=False, save_last=True)
    due = [
        RandomStateHook._checkpoint_due(FakeRunner(i, [hook]), False)
        for i in range(10)
    ]
    # saves after iterations 4, 8 and the last (10): runner.iter 3, 7, 9
    assert [i for i, d in enumerate(due) if d] == [3, 7, 9]
    assert not RandomStateHook._checkpoint_due(FakeRunner(3, []), False)


def test_load_from_restores_nothing():
    hook = RandomStateHook()
    runner = FakeRunner(0, [])
    hook.after_load_checkpoint(
        runner, {'random_state': dict(world_size=1,
                                      ranks=[get_random_state()])})
    before = runner.train_loop.dataloader_iterator
    hook.before_train_epoch(runner)
    assert runner.train_loop.dataloader_iterator is before


def test_validation_does_not_move_the_training_generators():
    hook = RandomStateHook()
    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)
    hook.before_val(None)
    torch.rand(5)  # e.g. a new val dataloader iterator drawing its seed
    hook.after_val(None)
    assert torch.equal(torch.rand(2), expected)
