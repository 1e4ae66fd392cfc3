"""Checks of the image and label files the package reads.

OpenCV decodes a truncated JPEG without an error (the missing rows come out
grey) and MMSeg's ``LoadAnnotations`` casts 16-bit label maps to uint8
(label 257 becomes 1). These checks catch both before the file is used, and
name the file:

* :func:`check_image_complete`: the file ends as its format requires (PNG
  ``IEND`` chunk, JPEG end-of-image marker, RIFF / BMP size); it reads the
  first and last bytes only, so every frame of a set can be checked when
  the set is listed;
* :func:`check_image_decodes`: the whole file decodes (Pillow, truncated
  images refused), for the tools that copy or read a file once;
* :func:`png_bit_depth`: bit depth of a PNG, from its header, and
  :func:`check_label_file`: a whole 8-bit label map.

Example:
    >>> check_image_complete('data/road_anomaly/original/x.jpg')
"""
import os.path as osp
import struct
from typing import Optional, Tuple

__all__ = [
    'ImageFileError', 'check_image_complete', 'check_image_decodes',
    'check_label_file', 'png_bit_depth'
]

_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_END = b'IEND\xaeB`\x82'
_JPEG_START = b'\xff\xd8'
_JPEG_END = b'\xff\xd9'
# Bytes searched for the end marker: writers may pad after it.
_TAIL = 4096


class ImageFileError(ValueError):
    """An image or label file is truncated, corrupt or of the wrong kind;
    the message names the file."""


def _error(path: str, problem: str) -> ImageFileError:
    return ImageFileError(
        f'{path} {problem}; the file is truncated or corrupt (an '
        'interrupted download or extraction?). Replace it with a good copy '
        'or remove it.')


def check_image_complete(path: str) -> None:
    """Check that an image file ends as its format requires.

    PNG must end with its ``IEND`` chunk and JPEG with its end-of-image
    marker (within the last 4 KiB); WebP and BMP must be as long as their
    headers say. Other formats are not checked.

    Args:
        path (str): The image file.

    Raises:
        FileNotFoundError: The file does not exist.
        ImageFileError: The file is cut short or empty.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image file {path} does not exist.')
    size = osp.getsize(path)
    if size == 0:
        raise _error(path, 'is empty')
    with open(path, 'rb') as f:
        head = f.read(16)
        f.seek(max(0, size - _TAIL))
        tail = f.read()
    if head.startswith(_PNG_SIGNATURE):
        if _PNG_END not in tail:
            raise _error(path, 'has no PNG end chunk (IEND)')
    elif head.startswith(_JPEG_START):
        if _JPEG_END not in tail[2 if size <= _TAIL else 0:]:
            raise _error(path, 'has no JPEG end-of-image marker')
    elif head[:4] == b'RIFF' and head[8:12] == b'WEBP':
        declared = struct.unpack('<I', head[4:8])[0] + 8
        if size < declared:
            raise _error(path, f'has {size} bytes, its header says '
                         f'{declared}')
    elif head[:2] == b'BM' and len(head) >= 6:
        declared = struct.unpack('<I', head[2:6])[0]
        if size < declared:
            raise _error(path, f'has {size} bytes, its header says '
                         f'{declared}')


def check_image_decodes(path: str) -> Tuple[int, int]:
    """Decode a whole image file (Pillow; truncated files refused).

    Args:
        path (str): The image file.

    Returns:
        tuple[int, int]: Its (height, width).

    Raises:
        FileNotFoundError: The file does not exist.
        ImageFileError: The file does not decode completely.
    """
    from PIL import Image, ImageFile
    check_image_complete(path)
    truncated_ok = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(path) as img:
            img.load()
            width, height = img.size
    except (OSError, SyntaxError, ValueError) as error:
        raise _error(path, f'does not decode ({error})') from error
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated_ok
    return height, width


def png_bit_depth(path: str) -> Optional[int]:
    """Bit depth per sample of a PNG file (its IHDR header), or None if
    the file is not a PNG.

    Raises:
        ImageFileError: A PNG whose header is cut short.
    """
    with open(path, 'rb') as f:
        head = f.read(29)
    if not head.startswith(_PNG_SIGNATURE):
        return None
    if len(head) < 25 or head[12:16] != b'IHDR':
        raise _error(path, 'has no PNG header (IHDR)')
    return head[24]



def check_label_file(path: str, labels: str = 'its label values') -> None:
    """Check that a label map is whole and, if a PNG, 8-bit.

    MMSeg's ``LoadAnnotations`` casts label maps to uint8, so a 16-bit PNG
    would have 257 read as 1.

    Args:
        path (str): The label file.
        labels (str): What its values mean, for the message.

    Raises:
        ImageFileError: Truncated, or a PNG of more than 8 bits.
    """
    check_image_complete(path)
    depth = png_bit_depth(path)
    if depth is not None and depth > 8:
        raise ImageFileError(
            f'{path} is a {depth}-bit PNG; label maps are read as 8-bit '
            '(MMSeg casts them to uint8, so a value of 257 would become 1). '
            f'Write it as an 8-bit PNG of {labels}, or convert the set with '
            'its converter.')
