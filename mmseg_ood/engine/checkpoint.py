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

:func:`read_checkpoint` and :func:`check_checkpoint_readable` name the file
when it cannot be read (a truncated download), and
:func:`check_checkpoint_fit` refuses a checkpoint that does not fit the
model (MMEngine would load the tensors that fit and only log the rest).
"""
import inspect
import os.path as osp
import pickle
import re
import zipfile
from typing import Callable, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from packaging.version import Version

__all__ = [
    'HISTORY_BUFFER_METHODS', 'CheckpointError', 'CheckpointMismatchError',
    'allow_mmengine_checkpoints', 'check_checkpoint_fit',
    'check_checkpoint_readable', 'checkpoint_fit', 'history_buffer_getattr',
    'load_fitting_checkpoint', 'mmengine_checkpoint_globals',
    'read_checkpoint', 'state_dict_of'
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


# ---------------------------------------------------------------------------
# Reading a checkpoint, and whether it fits a model
# ---------------------------------------------------------------------------
class CheckpointError(ValueError):
    """A checkpoint file cannot be read (truncated, not a checkpoint); the
    message names the file."""


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit the model of the config; the message names
    the file, the tensors and the fix."""


#: What reading a broken checkpoint raises, depending on the damage.
_READ_ERRORS = (RuntimeError, EOFError, OSError, pickle.UnpicklingError,
                ValueError, KeyError, AttributeError, IndexError,
                zipfile.BadZipFile)


def _unreadable(path: str, error: BaseException) -> CheckpointError:
    detail = str(error).splitlines()[0] if str(error) else type(
        error).__name__
    return CheckpointError(
        f'{path} is not a readable checkpoint ({detail}); it may be '
        'truncated (an interrupted download or save). Use a complete copy, '
        'or another checkpoint of the run.')


def check_checkpoint_readable(path: str) -> None:
    """Fail early, naming the file, if a local checkpoint is cut short.

    The zip container of ``torch.save`` ends with its directory, so a
    truncated file is recognised from its last bytes without reading it;
    a file in torch's legacy format is read once.

    Args:
        path (str): Checkpoint file (URLs are not checked).

    Raises:
        FileNotFoundError: The file does not exist.
        CheckpointError: The file is truncated or not a checkpoint.
    """
    if '://' in path:
        return
    if not osp.isfile(path):
        raise FileNotFoundError(f'Checkpoint {path!r} does not exist.')
    if zipfile.is_zipfile(path):
        return
    read_checkpoint(path)


def read_checkpoint(path: str, map_location: str = 'cpu', **kwargs):
    """Load a checkpoint with MMEngine's loader; a failure names the file.

    Args:
        path (str): Checkpoint file or URL.
        map_location (str): Where tensors go.
        **kwargs: More arguments of ``torch.load`` (e.g. ``mmap=True``).

    Returns:
        The loaded object (usually a dict with ``state_dict`` and
        ``meta``).

    Raises:
        FileNotFoundError: A local file does not exist.
        CheckpointError: The file cannot be read.
    """
    if '://' not in path and not osp.isfile(path):
        raise FileNotFoundError(f'Checkpoint {path!r} does not exist.')
    try:
        if kwargs:
            return torch.load(path, map_location=map_location, **kwargs)
        from mmengine.runner import CheckpointLoader
        return CheckpointLoader.load_checkpoint(path,
                                                map_location=map_location)
    except _READ_ERRORS as error:
        raise _unreadable(path, error) from error


def state_dict_of(checkpoint) -> dict:
    """The state dict of a loaded checkpoint (``checkpoint['state_dict']``
    or the checkpoint itself), without DDP's ``module.`` prefixes, as
    MMEngine loads it."""
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else checkpoint
    if not isinstance(state, dict):
        raise CheckpointError(
            f'the checkpoint holds {type(state).__name__}, not a state '
            'dict.')
    return {re.sub(r'^module\.', '', k): v for k, v in state.items()}


def checkpoint_fit(model: torch.nn.Module, checkpoint) -> dict:
    """How a checkpoint fits a model.

    Args:
        model (nn.Module): The model (unwrapped).
        checkpoint: A loaded checkpoint or state dict.

    Returns:
        dict: ``missing`` (model tensors the checkpoint lacks),
        ``unexpected`` (checkpoint tensors the model lacks) and
        ``shape_mismatch`` (``'name: checkpoint shape != model shape'``),
        each a sorted list; ``partial`` is True if any is non-empty.
    """
    state = state_dict_of(checkpoint)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(
        f'{k}: {tuple(state[k].shape)} in the checkpoint, '
        f'{tuple(own[k].shape)} in the model' for k in set(own) & set(state)
        if hasattr(state[k], 'shape') and tuple(state[k].shape) != tuple(
            own[k].shape))
    return dict(missing=missing, unexpected=unexpected,
                shape_mismatch=shapes,
                partial=bool(missing or unexpected or shapes))


def check_checkpoint_fit(model: torch.nn.Module, checkpoint, source: str,
                         allow_partial: bool = False,
                         allow_hint: str = '') -> dict:
    """Raise unless a checkpoint fits the model exactly (or
    ``allow_partial``).

    MMEngine's ``load_checkpoint`` only logs the tensors that do not fit
    and goes on with the rest at their initial values, so a checkpoint of
    another architecture gives a full (and meaningless) table of results.

    Args:
        model (nn.Module): The model (unwrapped).
        checkpoint: The loaded checkpoint or state dict.
        source (str): The checkpoint file, for the message.
        allow_partial (bool): Return the mismatch instead of raising.
        allow_hint (str): How the user allows a partial load (e.g. the
            tool's flag), added to the message.

    Returns:
        dict: :func:`checkpoint_fit` plus ``checkpoint`` (``source``).

    Raises:
        CheckpointMismatchError: It does not fit and ``allow_partial`` is
            False.
    """
    fit = dict(checkpoint_fit(model, checkpoint), checkpoint=source)
    if not fit['partial'] or allow_partial:
        return fit
    parts = []
    for key, what in (('missing', 'tensors of the model are missing from '
                       'it'), ('unexpected', 'of its tensors have no place '
                               'in the model'),
                      ('shape_mismatch', 'tensors differ in shape')):
        if fit[key]:
            parts.append(f'{len(fit[key])} {what} (e.g. {fit[key][:2]})')
    raise CheckpointMismatchError(
        f'{source} does not fit the model of the config: '
        f'{"; ".join(parts)}. It is probably a checkpoint of another '
        'architecture or number of classes: pass the config it was trained '
        f'with.{" " + allow_hint if allow_hint else ""}')


def load_fitting_checkpoint(model: torch.nn.Module, checkpoint: str,
                            allow_partial: bool = False,
                            allow_hint: str = '') -> dict:
    """Read a checkpoint and load it into ``model``, refusing one that does
    not fit (:func:`check_checkpoint_fit`).

    Args:
        model (nn.Module): The model (unwrapped).
        checkpoint (str): Checkpoint file or URL.
        allow_partial (bool): Load the tensors that fit and return the
            mismatch instead of raising.
        allow_hint (str): How the user allows a partial load.

    Returns:
        dict: :func:`checkpoint_fit` plus ``checkpoint``, and ``meta`` (the
        checkpoint's meta, or an empty dict).

    Raises:
        FileNotFoundError: The file does not exist.
        CheckpointError: It cannot be read.
        CheckpointMismatchError: It does not fit and ``allow_partial`` is
            False.
    """
    loaded = read_checkpoint(checkpoint)
    fit = check_checkpoint_fit(model, loaded, checkpoint, allow_partial,
                               allow_hint)
    state = state_dict_of(loaded)
    own = model.state_dict()
    usable = {
        k: v for k, v in state.items()
        if k in own and tuple(getattr(v, 'shape', ())) == tuple(
            own[k].shape)
    }
    model.load_state_dict(usable, strict=not fit['partial'])
    meta = loaded.get('meta') if isinstance(loaded, dict) else None
    return dict(fit, meta=meta if isinstance(meta, dict) else {})
