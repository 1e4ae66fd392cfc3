"""The mmcv.ops stand-in applies to the mmcv-lite distribution only."""
import importlib.metadata
import sys

import pytest
import torch

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
    with pytest.raises(ModuleNotFoundError) as error:
        mmcv.ops.CrissCrossAttention(64)
    message = str(error.value)
    # it names the op and what to install instead, never mmcv-lite again
    assert message.startswith('mmcv.ops.CrissCrossAttention is a compiled')
    assert 'pip uninstall -y mmcv-lite' in message
    assert "install 'mmcv-lite" not in message
    assert f"torch {torch.__version__.split('+')[0]}" in message


@pytest.mark.parametrize('cuda, build', [(None, 'the CPU'),
                                         ('12.1', 'CUDA 12.1')])
def test_the_full_mmcv_hint_names_this_torch_and_cuda(
        monkeypatch, cuda, build):
    monkeypatch.setattr(torch, '__version__', '2.1.2+cu121')
    monkeypatch.setattr(torch.version, 'cuda', cuda)
    hint = compat.full_mmcv_hint()
    assert f'built for torch 2.1.2 and {build}:' in hint
    assert f"mim install 'mmcv>={compat.MMCV_MIN},<{compat.MMCV_MAX}'" in hint
    assert ('CUDA 12.1 toolkit' in hint) == (cuda is not None)
