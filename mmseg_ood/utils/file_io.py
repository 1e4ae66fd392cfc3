"""Atomic file output: a killed process never leaves a truncated file."""
import glob
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import Iterator

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
