"""Shared fixtures: the repository root and a small SYNTHETIC demo world."""
import logging
import os
import os.path as osp
import socket
from pathlib import Path

import pytest
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope, init_default_scope

from mmseg_ood.datasets.converters import build_coco_ood_bank
from mmseg_ood.demo import make_demo_world

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / 'configs'

#: A demo world small enough for unit and integration tests.
SMALL_WORLD = dict(
    seed=0,
    num_train=6,
    num_val=2,
    num_coco=12,
    num_fs_laf=3,
    num_fs_static=2,
    num_road_anomaly=2,
    frame_size=(128, 256))


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Build registry entries by bare names, as MMSeg configs do (a Runner
    built by a test may have switched the scope to MMEngine's)."""
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != 'mmseg':
        init_default_scope('mmseg')


@pytest.fixture(scope='session')
def demo_world(tmp_path_factory):
    """Paths of a small demo world with its COCO outlier bank built."""
    root = tmp_path_factory.mktemp('world') / 'demo_world'
    paths = make_demo_world(str(root), **SMALL_WORLD)
    paths['bank'] = build_coco_ood_bank(paths['coco'], show_progress=False)
    return paths


@pytest.fixture
def demo_cwd(demo_world, tmp_path, monkeypatch):
    """A working folder whose ``data/demo_world`` is the test world.

    The demo configs read ``data/demo_world/...`` relative to the working
    folder, as MMSeg configs read ``data/cityscapes``.
    """
    os.makedirs(tmp_path / 'data')
    os.symlink(demo_world['root'], tmp_path / 'data' / 'demo_world')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def demo_config(name: str) -> str:
    """Absolute path of a config in configs/."""
    path = CONFIG_DIR / name
    assert osp.isfile(path), path
    return str(path)


def free_port() -> int:
    """A TCP port free on this machine (for torchrun / gloo rendezvous)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class _Records(logging.Handler):
    """A logging handler that keeps the formatted messages."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    @property
    def text(self):
        return '\n'.join(self.messages)


@pytest.fixture
def mmlog():
    """What MMEngine's current logger logs during a test (``.text``)."""
    logger = MMLogger.get_current_instance()
    handler = _Records()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
