"""Atomic file and folder output: a killed process never leaves a truncated
file or a half-written folder, and the next run removes what it left.

Temporary names carry the id of the process that writes them
(``.<name>.<pid>-<random>.partial`` next to a file,
``.<folder>.tmp-<pid>-<random>`` next to a folder). A run removes the
temporary files and folders of its outputs whose process no longer exists,
so the leftovers of a killed run (``kill -9``, a lost node) never stay for
good, and those of a run still going on are left alone.

A write that fails (disk full, file-size limit, read-only disk) raises
:class:`OutputWriteError` naming the file; nothing half-written is left
under the output's name.
"""
import errno
import glob
import json
import os
import os.path as osp
import re
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from typing import Callable, Iterator, List, Optional

__all__ = [
    'FILE_MODE', 'PARTIAL_SUFFIX', 'OutputWriteError', 'atomic_output',
    'atomic_output_dir', 'read_json', 'remove_stale_partials', 'writing',
    'write_failure', 'write_json'
]

#: Suffix of the temporary files; a killed run may leave such hidden files
#: next to its outputs (``.<name>.<pid>-<random>.partial``), never a
#: truncated output; the next run that writes there removes them.
PARTIAL_SUFFIX = '.partial'
#: Permissions of the finished files (temporary files are created 0600).
FILE_MODE = 0o644
#: errno values that mean "the disk cannot take the output".
_WRITE_ERRNOS = frozenset(
    getattr(errno, name) for name in ('ENOSPC', 'EFBIG', 'EDQUOT', 'EROFS',
                                      'EIO') if hasattr(errno, name))
# pid in the temporary names: .<name>.<pid>-<random>.partial and
# .<folder>.tmp-<pid>-<random> / .<folder>.old-<pid>-<random>
_PID_TAG = re.compile(r'^(\d+)-')


class OutputWriteError(OSError):
    """Writing an output file failed (disk full, file too large, read-only
    disk); the message names the file and what to do."""


def _is_write_failure(error: OSError) -> bool:
    # numpy's tofile reports a short write as 'N requested and M written'
    # without an errno
    return (error.errno in _WRITE_ERRNOS
            or (error.errno is None and 'written' in str(error)))


def write_failure(path: str, error: OSError) -> OutputWriteError:
    """The :class:`OutputWriteError` of a failed write of ``path``."""
    reason = error.strerror or str(error)
    failure = OutputWriteError(
        f'Could not write {path}: {reason}. Free space on that disk (or '
        "write to another folder) and run the command again; no "
        "half-written file is left under the output's name.")
    failure.path = path
    return failure


@contextmanager
def writing(path: str) -> Iterator[None]:
    """Turn a failed write inside the ``with`` block into an
    :class:`OutputWriteError` naming ``path``. Other errors (a missing
    input, a bug) pass unchanged.

    Example:
        >>> with writing('out/labels/0001.png'):
        ...     cv2.imwrite(tmp, label)
    """
    try:
        yield
    except OutputWriteError:
        raise
    except OSError as error:
        if _is_write_failure(error):
            raise write_failure(path, error) from error
        raise


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return True
    return True


def _stale(tag: str) -> bool:
    """Whether the temporary name with this ``<pid>-<random>`` tag belongs
    to a process that is gone (names without a pid: an older version's,
    stale)."""
    match = _PID_TAG.match(tag)
    return match is None or not _pid_alive(int(match.group(1)))


def remove_stale_partials(folder: str,
                          name: Optional[str] = None) -> List[str]:
    """Remove the temporary files of a killed run in ``folder``: those of
    the output ``name``, or of every output if None.

    Args:
        folder (str): The folder of the outputs.
        name (str, optional): One output's file name.

    Returns:
        list[str]: The removed files.
    """
    if not osp.isdir(folder):
        return []
    prefix = '.' + (name + '.' if name else '')
    removed = []
    for path in glob.glob(
            osp.join(glob.escape(folder),
                     glob.escape(prefix) + '*' + PARTIAL_SUFFIX)):
        tag = osp.basename(path)[:-len(PARTIAL_SUFFIX)].rsplit('.', 1)[-1]
        if _stale(tag):
            try:
                os.remove(path)
            except FileNotFoundError:  # removed by another run meanwhile
                continue
            removed.append(path)
    return removed


@contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path next to ``path``; rename it to ``path`` when
    the ``with`` block succeeds, delete it when the block fails.

    The folder of ``path`` is created. Stale temporary files of ``path``
    left by a killed run are removed first. A failed write raises
    :class:`OutputWriteError` naming ``path``.

    Args:
        path (str): The file to write.

    Yields:
        str: The temporary file to write to (exists, empty).

    Example:
        >>> with atomic_output('out/0001_anomaly.npy') as tmp:
        ...     with open(tmp, 'wb') as f:
        ...         np.save(f, score)
    """
    folder = osp.dirname(osp.abspath(path))
    with writing(path):
        os.makedirs(folder, exist_ok=True)
        remove_stale_partials(folder, osp.basename(path))
        prefix = f'.{osp.basename(path)}.{os.getpid()}-'
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix,
                                   suffix=PARTIAL_SUFFIX)
        os.close(fd)
    try:
        with writing(path):
            yield tmp
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _remove_stale_dirs(out_dir: str) -> None:
    """Remove the temporary folders of killed runs next to ``out_dir``; a
    killed run's folder that had already been moved aside
    (``.<name>.old-*``) is moved back if ``out_dir`` is missing."""
    parent = osp.dirname(osp.abspath(out_dir))
    base = osp.basename(out_dir)
    for kind in ('tmp', 'old'):
        pattern = osp.join(glob.escape(parent),
                           glob.escape(f'.{base}.{kind}-') + '*')
        for path in sorted(glob.glob(pattern)):
            tag = osp.basename(path)[len(f'.{base}.{kind}-'):]
            if not osp.isdir(path) or osp.islink(path) or not _stale(tag):
                continue
            if kind == 'old' and not osp.lexists(out_dir):
                os.rename(path, out_dir)  # killed between the two renames
            else:
                shutil.rmtree(path, ignore_errors=True)


@contextmanager
def atomic_output_dir(
        out_dir: str,
        overwrite: bool = False,
        may_replace: Optional[Callable[[str], None]] = None
) -> Iterator[str]:
    """Yield a fresh hidden sibling folder of ``out_dir``; rename it to
    ``out_dir`` when the ``with`` block succeeds, delete it when it fails.

    An existing ``out_dir`` is only replaced once the new folder is
    complete, so an interrupted run leaves either the old folder or the new
    one, never a mix. The hidden folders of a killed run are removed by the
    next call for the same ``out_dir`` (one killed between moving the old
    folder aside and moving the new one in gets the old one back). An
    empty ``out_dir`` is always replaced. A non-empty one is first shown to
    ``may_replace`` (which raises to refuse it, e.g. because no tool of this
    package wrote it) and then replaced only if ``overwrite`` is set.

    Args:
        out_dir (str): The folder to write.
        overwrite (bool): Replace a non-empty ``out_dir`` that
            ``may_replace`` accepts.
        may_replace (callable, optional): ``may_replace(out_dir)`` raises
            (e.g. ``FileExistsError`` naming the folder) if the non-empty
            ``out_dir`` must never be replaced. Without it every non-empty
            folder is refused.

    Yields:
        str: The temporary folder to write into (exists, empty).

    Raises:
        FileExistsError: If ``out_dir`` is a file or a link, or a non-empty
            folder and ``overwrite`` is False or ``may_replace`` is None.

    Example:
        >>> with atomic_output_dir('data/road_anomaly') as tmp:
        ...     write_everything(tmp)
    """
    out_dir = osp.normpath(out_dir)
    _remove_stale_dirs(out_dir)
    replace = False
    if osp.lexists(out_dir):
        if not osp.isdir(out_dir) or osp.islink(out_dir):
            raise FileExistsError(f'{out_dir} exists and is not a folder; '
                                  'choose another output folder.')
        if os.listdir(out_dir):
            if may_replace is None:
                raise FileExistsError(
                    f'{out_dir} is not empty; refusing to write into or '
                    'delete it. Choose another output folder.')
            may_replace(out_dir)
            if not overwrite:
                raise FileExistsError(
                    f'{out_dir} is not empty. Pass --overwrite '
                    '(overwrite=True) to replace it, or choose another '
                    'output folder.')
        replace = True
    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    token = f'{os.getpid()}-{uuid.uuid4().hex[:8]}'
    tmp = osp.join(parent, f'.{osp.basename(out_dir)}.tmp-{token}')
    with writing(tmp):
        os.makedirs(tmp)
    try:
        with writing(out_dir):
            yield tmp
        if replace:
            old = osp.join(parent, f'.{osp.basename(out_dir)}.old-{token}')
            os.rename(out_dir, old)
            try:
                os.rename(tmp, out_dir)
            except OSError:
                os.rename(old, out_dir)
                raise
            shutil.rmtree(old)
        else:
            os.rename(tmp, out_dir)
    finally:
        if osp.isdir(tmp):
            shutil.rmtree(tmp)


def write_json(path: str, data, overwrite: bool = False) -> None:
    """Write ``data`` as indented JSON, atomically; never replace an
    existing file unless ``overwrite``.

    Args:
        path (str): The ``.json`` file.
        data: JSON-serialisable content.
        overwrite (bool): Replace an existing file.

    Raises:
        ValueError: If ``path`` does not end in ``.json``.
        FileExistsError: If ``path`` exists and ``overwrite`` is False.
    """
    if not path.endswith('.json'):
        raise ValueError(f'{path!r}: the file must end in .json.')
    if osp.lexists(path) and not overwrite:
        raise FileExistsError(f'{path} already exists; pass --overwrite to '
                              'replace it, or choose another file.')
    with atomic_output(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(data, f, indent=1)
            f.write('\n')


def read_json(path: str, what: str = 'file', fix: str = '') -> object:
    """Read a JSON file; any failure names the file.

    Args:
        path (str): The file.
        what (str): What the file is, for the message (e.g. ``'prior
            file'``).
        fix (str): What to do, appended to the message.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: It is not readable JSON (truncated, another format).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path} does not exist. {fix}'
                                .rstrip())
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ValueError(f'{what} {path} is not readable JSON ({error}); it '
                         f'may be truncated. {fix}'.rstrip()) from error
