"""The one place where mmseg_ood relies on an MMEngine internal.

Exact resume (:class:`~mmseg_ood.engine.hooks.RandomStateHook`) must put
the random generators back right before the first batch of a resumed run
is fetched. MMEngine offers no hook at that moment: on resume,
``IterBasedTrainLoop.run`` calls ``before_train`` and
``before_train_epoch``, then advances its ``dataloader_iterator`` by the
iterations already trained (``next()`` on it, which runs the data pipeline
again and so draws random numbers), and only then fetches the first new
batch, before ``before_train_iter``. The only point in between is the
loop's ``dataloader_iterator`` attribute, which :func:`restore_before_fetch`
wraps for exactly that many batches.

``tests/engine/test_mmengine_internals.py`` checks this behaviour of the
installed MMEngine directly, so a release that changes it fails loudly.
"""
from typing import Callable, Iterator

__all__ = ['restore_before_fetch']


class _BeforeFetch:
    """Passes ``skip`` batches through, then calls ``action`` right before
    fetching the next one and puts the original iterator back into the
    loop."""

    def __init__(self, loop, iterator: Iterator, skip: int,
                 action: Callable[[], None]) -> None:
        self._loop = loop
        self._iterator = iterator
        self._skip = skip
        self._action = action

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip > 0:
            self._skip -= 1
            return next(self._iterator)
        self._action()
        self._loop.dataloader_iterator = self._iterator
        return next(self._iterator)

    def __getattr__(self, name):
        return getattr(self._iterator, name)


def restore_before_fetch(loop, skip: int, action: Callable[[], None]) -> bool:
    """Run ``action`` right before ``loop`` fetches batch ``skip + 1``.

    Call it from ``before_train_epoch`` of a resumed
    ``IterBasedTrainLoop`` with ``skip = loop.iter``: the loop advances
    its iterator by that many batches and ``action`` then runs before the
    first new batch is fetched.

    Args:
        loop: The train loop.
        skip (int): Batches fetched before ``action``.
        action (callable): Called once, without arguments.

    Returns:
        bool: False if the loop has no ``dataloader_iterator`` (an
        epoch-based loop, which does not advance its data on resume); the
        caller then runs ``action`` itself.
    """
    if not hasattr(loop, 'dataloader_iterator'):
        return False
    loop.dataloader_iterator = _BeforeFetch(loop, loop.dataloader_iterator,
                                            skip, action)
    return True
