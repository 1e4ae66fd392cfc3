"""Fixtures of the dataset tests: a tiny COCO dataset and its bank."""
import pytest

from mmseg_ood.datasets.converters import build_coco_ood_bank

from .fake_coco import write_fake_coco


@pytest.fixture
def coco_root(tmp_path):
    return write_fake_coco(str(tmp_path / 'coco'))


@pytest.fixture
def built(coco_root):
    index_file = build_coco_ood_bank(coco_root, show_progress=False)
    return coco_root, index_file
