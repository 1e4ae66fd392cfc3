"""Image writing for the SYNTHETIC demo world (deterministic, via OpenCV)."""
import os.path as osp

import cv2
import numpy as np

__all__ = [
    'JPEG_QUALITY', 'PNG_COMPRESSION', 'write_image'
]

#: JPEG quality of the demo world's JPEG files.
JPEG_QUALITY = 92
#: zlib level of the demo world's PNG files.
PNG_COMPRESSION = 1


def write_image(path: str, image: np.ndarray) -> None:
    """Write an RGB (H, W, 3) or single-channel (H, W) image.

    The format follows the extension (``.png`` or ``.jpg``); float input is
    rounded and clipped to uint8. Encoding parameters are fixed so equal
    arrays always give byte-identical files.

    Args:
        path: Output file; its folder must exist.
        image: RGB or label image.

    Raises:
        OSError: If OpenCV cannot write the file.
    """
    data = np.asarray(image)
    if data.dtype != np.uint8:
        data = np.clip(np.round(data), 0, 255).astype(np.uint8)
    if data.ndim == 3:
        data = np.ascontiguousarray(data[..., ::-1])  # RGB -> BGR
    ext = osp.splitext(path)[1].lower()
    if ext in ('.jpg', '.jpeg'):
        params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    else:
        params = [
            cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION,
            cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE
        ]
    if not cv2.imwrite(path, data, params):
        raise OSError(f'OpenCV could not write {path}; check that the folder '
                      'exists and is writable.')
