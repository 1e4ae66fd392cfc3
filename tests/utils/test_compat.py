"""The mmcv.ops stand-in applies to the mmcv-lite distribution only."""
import importlib.metadata
import sys

import pytest

from mmseg_ood.utils import compat


def _installed(present):
    def version(name):
        if name in present:
            return '2.1.0'
        raise importlib.metadata.PackageNotFoundError(name)
    return version


@pytest.mark.parametrize('present, lite', [
    ({'mmcv-lite'}, True),
    ({'mmcv'}, False),
    ({'mmcv', 'mmcv-lite'}, False),  # a full MMCV wins
])
def test_lite_is_recognised_by_the_distribution(monkeypatch, present, lite):
    monkeypatch.setattr(importlib.metadata, 'version', _installed(present))
    assert compat.mmcv_lite_installed() is lite


def test_a_full_mmcv_is_never_stubbed(monkeypatch):
    monkeypatch.setattr(importlib.metadata, 'version', _installed({'mmcv'}))
    monkeypatch.delitem(sys.modules, 'mmcv.ops', raising=False)
    assert compat.install_mmcv_ops_stub() is False
    assert 'mmcv.ops' not in sys.modules


def test_the_stand_in_of_this_stack(monkeypatch):
    # this stack has mmcv-lite: the stand-in is in place, point_sample is
    # the pure-PyTorch one and a compiled op says what to install
    import mmcv.ops
    assert compat.mmcv_lite_installed()
    assert 'stand-in' in mmcv.ops.__doc__
    assert callable(mmcv.ops.point_sample)
    with pytest.raises(ModuleNotFoundError, match='mmcv-lite is installed'):
        mmcv.ops.CrissCrossAttention(64)
