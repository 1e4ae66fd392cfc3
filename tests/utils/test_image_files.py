"""Truncated images and 16-bit label maps are recognised and named."""
import cv2
import numpy as np
import pytest

from mmseg_ood.utils.image_files import (
    ImageFileError,
    check_image_complete,
    check_image_decodes,
    png_bit_depth,
)

SUFFIXES = ('.png', '.jpg', '.webp', '.bmp')


def write_image(path, truncate=None):
    """A random 48x64 RGB image; ``truncate`` keeps that share of its
    bytes, as an interrupted download does."""
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), np.uint8)
    assert cv2.imwrite(str(path), image)
    if truncate is not None:
        data = path.read_bytes()
        path.write_bytes(data[:int(len(data) * truncate)])
    return str(path)


@pytest.mark.parametrize('suffix', SUFFIXES)
def test_whole_images_pass(tmp_path, suffix):
    path = write_image(tmp_path / f'frame{suffix}')
    check_image_complete(path)
    assert check_image_decodes(path) == (48, 64)


@pytest.mark.parametrize('suffix', SUFFIXES)
def test_truncated_images_are_named(tmp_path, suffix):
    path = write_image(tmp_path / f'frame{suffix}', truncate=0.6)
    if suffix == '.jpg':  # OpenCV decodes it without an error: half grey
        assert cv2.imread(path) is not None
    for check in (check_image_complete, check_image_decodes):
        with pytest.raises(ImageFileError, match='truncated or corrupt') as e:
            check(path)
        assert str(e.value).startswith(path)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / 'empty.png').write_bytes(b'')
    with pytest.raises(ImageFileError, match='empty'):
        check_image_complete(str(tmp_path / 'empty.png'))
    with pytest.raises(FileNotFoundError, match='nope.png'):
        check_image_complete(str(tmp_path / 'nope.png'))


def test_png_bit_depth_reads_the_header(tmp_path):
    cv2.imwrite(str(tmp_path / 'l16.png'), np.full((4, 4), 257, np.uint16))
    cv2.imwrite(str(tmp_path / 'l8.png'), np.ones((4, 4), np.uint8))
    assert png_bit_depth(str(tmp_path / 'l16.png')) == 16
    assert png_bit_depth(str(tmp_path / 'l8.png')) == 8
    assert png_bit_depth(write_image(tmp_path / 'f.jpg')) is None
