"""Atomic file output."""
import os

import pytest

from mmseg_ood.utils.file_io import atomic_output


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
