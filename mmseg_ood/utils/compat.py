"""Dependency checks and the mmcv-lite compatibility layer.

MMSeg 1.2.2 imports ``mmcv.ops`` unconditionally in a few modules, and
``mmcv.ops`` needs the compiled extension ``mmcv._ext`` that only the full
``mmcv`` distribution ships. The models this project uses need none of
those ops, so when the installed distribution is ``mmcv-lite`` (and no full
``mmcv``) we register a light stand-in for ``mmcv.ops``: it exposes the
pure-PyTorch ``point_sample`` and, for every other op, a placeholder class
that raises a clear error when it is used. A full MMCV is never touched,
also when its extension is broken: MMCV's own import error then says what
is wrong with it.
"""
import importlib.metadata
import importlib.util
import os.path as osp
import sys
import types

from packaging.version import Version

__all__ = [
    'MMCV_MAX', 'MMCV_MIN', 'MMSEG_MAX', 'MMSEG_MIN', 'check_dependencies',
    'full_mmcv_hint', 'install_mmcv_ops_stub', 'mmcv_lite_installed'
]

MMCV_MIN = '2.0.0rc4'
MMCV_MAX = '2.2.0'
MMSEG_MIN = '1.2.0'
MMSEG_MAX = '2.0.0'

_MMCV_HINT = (
    f"Install MMCV {MMCV_MIN} <= version < {MMCV_MAX}. For CPU-only use: "
    "pip install 'mmcv-lite==2.1.0'. With a GPU, install a compiled mmcv "
    "built for your torch and CUDA, e.g. pip install -U openmim && "
    f"mim install 'mmcv>={MMCV_MIN},<{MMCV_MAX}'.")


def _installed_version(dist_names):
    """Return the version of the first installed distribution of a list."""
    for name in dist_names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def check_dependencies() -> None:
    """Check that MMCV and MMSegmentation are installed in supported versions.

    ``mmcv`` is deliberately not an install requirement of mmseg_ood, so that
    installing this package never replaces a compiled mmcv a GPU user built.

    Raises:
        ImportError: naming the missing or unsupported package and the exact
            command that installs a supported one.
    """
    if importlib.util.find_spec('mmcv') is None:
        raise ImportError(f'mmseg_ood needs MMCV, which is not installed. '
                          f'{_MMCV_HINT}')
    import mmcv
    if not Version(MMCV_MIN) <= Version(mmcv.__version__) < Version(MMCV_MAX):
        raise ImportError(f'mmseg_ood found MMCV {mmcv.__version__}, which '
                          f'MMSegmentation 1.x does not support. {_MMCV_HINT}')
    mmseg_version = _installed_version(['mmsegmentation'])
    if mmseg_version is None:
        raise ImportError('mmseg_ood needs MMSegmentation 1.x: '
                          "pip install 'mmsegmentation==1.2.2'")
    if not Version(MMSEG_MIN) <= Version(mmseg_version) < Version(MMSEG_MAX):
        raise ImportError(
            f'mmseg_ood found MMSegmentation {mmseg_version}; it supports '
            f'{MMSEG_MIN} <= version < {MMSEG_MAX}: '
            "pip install 'mmsegmentation==1.2.2'")


def full_mmcv_hint() -> str:
    """How to replace mmcv-lite by the full MMCV for this torch and CUDA.

    Returns:
        str: The commands, naming the installed torch version and its CUDA
        version (or the CPU build).
    """
    import torch
    torch_version = torch.__version__.split('+')[0]
    cuda = torch.version.cuda
    build = f'CUDA {cuda}' if cuda else 'the CPU'
    toolkit = f' and the CUDA {cuda} toolkit' if cuda else ''
    return (
        f"Replace mmcv-lite by the full MMCV built for torch {torch_version} "
        f"and {build}: pip uninstall -y mmcv-lite && pip install -U openmim "
        f"&& mim install 'mmcv>={MMCV_MIN},<{MMCV_MAX}'. mim takes "
        "OpenMMLab's prebuilt wheel when one exists for this torch and "
        'CUDA, and otherwise builds MMCV from source (a C++ compiler'
        f"{toolkit}, several minutes): MMCV_WITH_OPS=1 pip install "
        f"--no-build-isolation 'mmcv>={MMCV_MIN},<{MMCV_MAX}'.")


def _missing_op(name: str) -> type:
    """A placeholder class for a compiled op that mmcv-lite lacks.

    It can be imported and used in ``isinstance`` checks; calling or
    instantiating it raises ``ModuleNotFoundError`` with the fix.
    """

    def _raise(*args, **kwargs):
        raise ModuleNotFoundError(
            f'mmcv.ops.{name} is a compiled MMCV op, which the installed '
            'mmcv-lite does not have (MMCV ships compiled ops only in its '
            f'full distribution, mmcv). {full_mmcv_hint()}',
            name='mmcv._ext')

    return type(name, (), {'__new__': _raise, '__module__': 'mmcv.ops'})


def mmcv_lite_installed() -> bool:
    """Whether the MMCV in use is the ``mmcv-lite`` distribution.

    True when ``mmcv-lite`` is installed and the full ``mmcv`` distribution
    is not.
    """
    return (_installed_version(['mmcv-lite']) is not None
            and _installed_version(['mmcv']) is None)


def install_mmcv_ops_stub() -> bool:
    """Register the ``mmcv.ops`` stand-in when mmcv-lite is installed.

    Returns:
        bool: True if the stand-in was installed; False with a full MMCV
        (whatever the state of its compiled extension) or when ``mmcv.ops``
        is already imported, where nothing is changed.
    """
    if 'mmcv.ops' in sys.modules or not mmcv_lite_installed():
        return False
    import mmcv
    ops = types.ModuleType('mmcv.ops')
    ops.__path__ = [osp.join(osp.dirname(mmcv.__file__), 'ops')]
    ops.__doc__ = 'mmseg_ood stand-in for mmcv.ops (mmcv-lite installed).'

    def __getattr__(name):
        if name.startswith('__'):
            raise AttributeError(name)
        placeholder = _missing_op(name)
        setattr(ops, name, placeholder)
        return placeholder

    ops.__getattr__ = __getattr__
    sys.modules['mmcv.ops'] = ops
    mmcv.ops = ops
    # point_sample is pure PyTorch; MMSeg imports it in several heads.
    from mmcv.ops.point_sample import point_sample
    ops.point_sample = point_sample
    return True
