"""Safe loading of MMEngine checkpoints under torch >= 2.6.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: it only
unpickles tensors, plain containers and the globals on torch's allow-list.
MMEngine checkpoints hold more than that: the message hub's
``HistoryBuffer`` objects with numpy arrays and scalars, and references to
the buffer's statistics methods (pickled as ``getattr(HistoryBuffer,
'mean')``). Without help, resume, ``load_from``, ``init_model`` and testing
fail with an ``UnpicklingError``; loading with ``weights_only=False`` would
let any checkpoint run code.

:func:`allow_mmengine_checkpoints` (called by ``import mmseg_ood``) adds
exactly those globals to torch's allow-list
(``torch.serialization.add_safe_globals``): ``HistoryBuffer``, numpy's array
and scalar reconstructors and dtypes, and a ``getattr`` that returns
nothing but the statistics methods of ``HistoryBuffer``. MMEngine's own
local loader then reads every MMEngine checkpoint with ``weights_only=True``,
and a file that holds any other global is still refused by torch.
"""
import inspect
import pickle
from typing import Callable, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from packaging.version import Version

__all__ = [
    'HISTORY_BUFFER_METHODS', 'allow_mmengine_checkpoints',
    'history_buffer_getattr', 'mmengine_checkpoint_globals'
]

#: The ``HistoryBuffer`` statistics methods that MMEngine pickles by
#: reference (``HistoryBuffer._set_default_statistics``).
HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')

# numpy 2 moved numpy.core to numpy._core; checkpoints written with numpy 1
# name the old module, so both names are allowed.
_NUMPY_CORE_NAMES = ('numpy.core.multiarray', 'numpy._core.multiarray')

SafeGlobal = Union[Callable, Tuple[Callable, str]]


def history_buffer_getattr(obj, name: str):
    """``getattr`` as MMEngine checkpoints use it, and nothing more.

    Returns ``getattr(HistoryBuffer, name)`` for the statistics methods in
    :data:`HISTORY_BUFFER_METHODS` and refuses every other object or
    attribute: an unrestricted ``getattr`` would let a pickle reach any
    attribute of any allowed object, and from there run code.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    if obj is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) while loading a checkpoint: '
        'mmseg_ood allows getattr only for the statistics methods of '
        "MMEngine's HistoryBuffer. If you trust this file, load it with "
        'torch.load(..., weights_only=False).')


def mmengine_checkpoint_globals() -> List[SafeGlobal]:
    """The globals that MMEngine checkpoints hold besides tensors.

    Returns:
        list: Entries for ``torch.serialization.add_safe_globals``: classes
        and ``(callable, 'module.name')`` pairs.
    """
    # numpy >= 2: numpy._core; numpy 1.x: numpy.core
    multiarray = (np._core if hasattr(np, '_core') else np.core).multiarray
    # dtype classes (numpy.dtypes.Float64DType, ...), numpy >= 1.25
    dtype_classes = [
        obj for _, obj in inspect.getmembers(getattr(np, 'dtypes', object))
        if inspect.isclass(obj) and issubclass(obj, np.dtype)
    ]
    entries: List[SafeGlobal] = [
        HistoryBuffer, np.ndarray, np.dtype, *dtype_classes,
        (history_buffer_getattr, 'builtins.getattr')
    ]
    for module in _NUMPY_CORE_NAMES:
        entries.append((multiarray._reconstruct, f'{module}._reconstruct'))
        entries.append((multiarray.scalar, f'{module}.scalar'))
    return entries


def allow_mmengine_checkpoints() -> bool:
    """Put :func:`mmengine_checkpoint_globals` on torch's allow-list.

    Only torch >= 2.6 loads with ``weights_only=True`` by default; older
    versions need (and get) nothing.

    Returns:
        bool: Whether the allow-list was extended.
    """
    if Version(torch.__version__.split('+')[0]) < Version('2.6'):
        return False
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())
    return True
