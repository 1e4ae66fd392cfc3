"""Atomic file and folder output."""
import os

import pytest

from mmseg_ood.utils.file_io import atomic_output, atomic_output_dir


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
