"""Atomic file and folder output: a killed process never leaves a truncated
file or a half-written folder."""
import glob
import json
import os
import os.path as osp
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

__all__ = [
    'FILE_MODE', 'PARTIAL_SUFFIX', 'atomic_output', 'atomic_output_dir',
    'write_json'
]

#: Suffix of the temporary files; a killed run may leave such hidden files
#: next to its outputs (``.<name>.<random>.partial``), never a truncated
#: output.
PARTIAL_SUFFIX = '.partial'
#: Permissions of the finished files (temporary files are created 0600).
FILE_MODE = 0o644


@contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path next to ``path``; rename it to ``path`` when
    the ``with`` block succeeds, delete it when the block fails.

    The folder of ``path`` is created. Stale temporary files of ``path``
    left by a killed run are removed first.

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
    os.makedirs(folder, exist_ok=True)
    prefix = '.' + osp.basename(path) + '.'
    for stale in glob.glob(
            osp.join(glob.escape(folder),
                     glob.escape(prefix) + '*' + PARTIAL_SUFFIX)):
        os.remove(stale)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix,
                               suffix=PARTIAL_SUFFIX)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


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
    one, never a mix. An empty ``out_dir`` is always replaced. A non-empty
    one is first shown to ``may_replace`` (which raises to refuse it, e.g.
    because no tool of this package wrote it) and then replaced only if
    ``overwrite`` is set.

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
    token = uuid.uuid4().hex[:8]
    tmp = osp.join(parent, f'.{osp.basename(out_dir)}.tmp-{token}')
    os.makedirs(tmp)
    try:
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
