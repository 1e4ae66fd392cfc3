"""Truncated training frames and 16-bit label maps are named before the
first iteration."""
import shutil
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from mmseg.registry import DATASETS

from mmseg_ood.engine.hooks import DataFilesCheckHook
from mmseg_ood.engine.hooks.data_files_check_hook import check_dataset_files
from mmseg_ood.engine.runner_setup import TRAIN_HOOKS
from mmseg_ood.utils.image_files import ImageFileError


@pytest.fixture
def cityscapes(demo_world, tmp_path):
    root = tmp_path / 'cityscapes'
    shutil.copytree(demo_world['cityscapes'], root)
    return root


def _train_set(root, repeat=False):
    dataset = dict(type='CityscapesDataset', data_root=str(root),
                   data_prefix=dict(img_path='leftImg8bit/train',
                                    seg_map_path='gtFine/train'),
                   pipeline=[])
    if repeat:
        dataset = dict(type='RepeatDataset', times=2, dataset=dataset)
    return DATASETS.build(dataset)


def _runner(dataset):
    return SimpleNamespace(train_dataloader=SimpleNamespace(dataset=dataset))


def test_whole_files_pass(cityscapes):
    dataset = _train_set(cityscapes)
    assert check_dataset_files(dataset) == 2 * len(dataset)
    DataFilesCheckHook().before_train(_runner(dataset))
    assert DataFilesCheckHook in TRAIN_HOOKS


def test_a_truncated_frame_and_a_16_bit_label_are_named(cityscapes):
    # before: OpenCV decodes a truncated frame half grey (a PNG not at all,
    # failing inside a worker), and a 16-bit label wraps to uint8
    frame = sorted(cityscapes.glob('leftImg8bit/train/*/*.png'))[0]
    data = frame.read_bytes()
    frame.write_bytes(data[:len(data) // 2])
    label = sorted(cityscapes.glob('gtFine/train/*/*labelTrainIds.png'))[1]
    values = cv2.imread(str(label), cv2.IMREAD_UNCHANGED).astype(np.uint16)
    cv2.imwrite(str(label), values + 256)
    with pytest.raises(ImageFileError) as error:
        DataFilesCheckHook().before_train(
            _runner(_train_set(cityscapes, repeat=True)))
    message = str(error.value)
    assert message.startswith('2 training file(s) cannot be used: ')
    assert f'{frame} has no PNG end chunk' in message
    assert f'{label} is a 16-bit PNG' in message
