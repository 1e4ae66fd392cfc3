"""Atomic file and folder output; killed runs and full disks."""
import os
import resource
import signal
import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pytest

from mmseg_ood.utils.file_io import (
    OutputWriteError,
    atomic_output,
    atomic_output_dir,
    remove_stale_partials,
    write_json,
)

from ..conftest import REPO_ROOT


def test_atomic_output_never_leaves_a_partial_file(tmp_path):
    path = tmp_path / 'map.npy'
    path.write_bytes(b'old')
    (tmp_path / '.map.npy.stale.partial').write_bytes(b'left by a kill')
    with pytest.raises(RuntimeError):
        with atomic_output(str(path)) as tmp:
            with open(tmp, 'wb') as f:
                f.write(b'half')
            raise RuntimeError('killed')
    assert path.read_bytes() == b'old'
    assert sorted(os.listdir(tmp_path)) == ['map.npy']
    with atomic_output(str(path)) as tmp:
        with open(tmp, 'wb') as f:
            f.write(b'new')
    assert path.read_bytes() == b'new'
    assert sorted(os.listdir(tmp_path)) == ['map.npy']


def _write(folder, text):
    with open(os.path.join(folder, 'data.txt'), 'w') as f:
        f.write(text)


def _refuse_foreign(folder):
    if not os.path.isfile(os.path.join(folder, 'data.txt')):
        raise FileExistsError(f'{folder} is not mine')


def test_atomic_output_dir_creates_and_replaces(tmp_path):
    out = str(tmp_path / 'out')
    with atomic_output_dir(out) as tmp:
        assert os.listdir(tmp) == []
        _write(tmp, 'one')
    assert os.listdir(out) == ['data.txt']
    # a non-empty folder needs overwrite, and may_replace's consent
    with pytest.raises(FileExistsError, match='--overwrite'):
        with atomic_output_dir(out, may_replace=_refuse_foreign):
            raise AssertionError('not reached')
    with pytest.raises(FileExistsError, match='not empty'):
        with atomic_output_dir(out, overwrite=True):
            raise AssertionError('not reached')
    with atomic_output_dir(out, overwrite=True,
                           may_replace=_refuse_foreign) as tmp:
        _write(tmp, 'two')
    assert (tmp_path / 'out' / 'data.txt').read_text() == 'two'
    assert sorted(os.listdir(tmp_path)) == ['out']


def test_atomic_output_dir_failure_keeps_the_old_folder(tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    _write(str(out), 'old')
    with pytest.raises(RuntimeError):
        with atomic_output_dir(str(out), overwrite=True,
                               may_replace=_refuse_foreign) as tmp:
            _write(tmp, 'half')
            raise RuntimeError('killed')
    assert (out / 'data.txt').read_text() == 'old'
    assert sorted(os.listdir(tmp_path)) == ['out']


def test_atomic_output_dir_refusals(tmp_path):
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    (foreign / 'keep.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='not mine'):
        with atomic_output_dir(str(foreign), overwrite=True,
                               may_replace=_refuse_foreign):
            raise AssertionError('not reached')
    a_file = tmp_path / 'file'
    a_file.write_text('x')
    with pytest.raises(FileExistsError, match='not a folder'):
        with atomic_output_dir(str(a_file), overwrite=True):
            raise AssertionError('not reached')
    empty = tmp_path / 'empty'
    empty.mkdir()  # an empty folder is replaced without overwrite
    with atomic_output_dir(str(empty)) as tmp:
        _write(tmp, 'new')
    assert (empty / 'data.txt').read_text() == 'new'
    assert (foreign / 'keep.txt').read_text() == 'mine'
    assert sorted(os.listdir(tmp_path)) == ['empty', 'file', 'foreign']


# ---------------------------------------------------------------------------
# Killed runs, full disks
# ---------------------------------------------------------------------------
FILE_IO = str(REPO_ROOT / 'mmseg_ood' / 'utils' / 'file_io.py')


def dead_pid():
    """The id of a process that has exited."""
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


@contextmanager
def file_size_limit(nbytes):
    """Writes beyond ``nbytes`` fail as on a full disk (EFBIG)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path):
    path = tmp_path / 'map.npy'
    path.write_bytes(b'old')
    with pytest.raises(OutputWriteError) as error:
        with file_size_limit(10_000):
            with atomic_output(str(path)) as tmp:
                with open(tmp, 'wb') as f:
                    np.save(f, np.zeros(100_000, np.float32))
    # numpy alone says '400000 requested and 10000 written'
    assert str(error.value).startswith(f'Could not write {path}: ')
    assert 'Free space' in str(error.value)
    assert path.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['map.npy']
    with pytest.raises(OutputWriteError, match='out.json'):
        with file_size_limit(100):
            write_json(str(tmp_path / 'out.json'), dict(x='y' * 1000))
    assert os.listdir(tmp_path) == ['map.npy']


def test_stale_partials_of_dead_runs_go_live_ones_stay(tmp_path):
    dead = tmp_path / f'.map.npy.{dead_pid()}-abc.partial'
    live = tmp_path / f'.map.npy.{os.getpid()}-def.partial'
    legacy = tmp_path / '.other.npy.xyz.partial'  # an older version's name
    for path in (dead, live, legacy):
        path.write_bytes(b'half')
    assert sorted(remove_stale_partials(str(tmp_path))) == sorted(
        [str(dead), str(legacy)])
    assert os.listdir(tmp_path) == [live.name]


def test_a_killed_folder_write_is_cleaned_by_the_next_run(tmp_path):
    """A real SIGKILL while a folder is being written: the hidden folder
    stays until the next run for the same output removes it."""
    out = tmp_path / 'out'
    script = (
        'import importlib.util, os, sys, time\n'
        f'spec = importlib.util.spec_from_file_location("f", {FILE_IO!r})\n'
        'f = importlib.util.module_from_spec(spec)\n'
        'spec.loader.exec_module(f)\n'
        f'with f.atomic_output_dir({str(out)!r}) as tmp:\n'
        '    open(os.path.join(tmp, "half.txt"), "w").write("x")\n'
        '    print("ready", flush=True)\n'
        '    time.sleep(60)\n')
    proc = subprocess.Popen([sys.executable, '-c', script],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'ready'
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = os.listdir(tmp_path)
    assert len(left) == 1 and left[0].startswith('.out.tmp-')
    with atomic_output_dir(str(out)) as tmp:
        _write(tmp, 'new')
    assert os.listdir(tmp_path) == ['out']
    assert (out / 'data.txt').read_text() == 'new'


def test_a_run_killed_between_the_renames_gets_the_old_folder_back(
        tmp_path):
    out = tmp_path / 'out'
    old = tmp_path / f'.out.old-{dead_pid()}-abcd1234'
    old.mkdir()
    _write(str(old), 'old')
    (tmp_path / f'.out.tmp-{dead_pid()}-abcd1234').mkdir()
    with pytest.raises(FileExistsError, match='--overwrite'):
        with atomic_output_dir(str(out), may_replace=lambda d: None):
            pass
    assert os.listdir(tmp_path) == ['out']
    assert (out / 'data.txt').read_text() == 'old'
