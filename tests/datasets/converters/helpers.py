"""Small helpers shared by the converter tests."""
import os
import os.path as osp
import zipfile

import cv2
import numpy as np


def read(path, flags=cv2.IMREAD_UNCHANGED):
    data = cv2.imread(str(path), flags)
    assert data is not None, path
    return data


def read_rgb(path):
    return read(path, cv2.IMREAD_COLOR)[..., ::-1]


def file_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


def zip_folder(folder, zip_path, top=None):
    """Zip ``folder``'s files, optionally under a top-level folder."""
    with zipfile.ZipFile(zip_path, 'w') as zf:
        for name in sorted(os.listdir(folder)):
            arc = f'{top}/{name}' if top else name
            zf.write(osp.join(folder, name), arc)
    return str(zip_path)


def listing(folder):
    return sorted(os.listdir(folder))


def assert_same_pixels(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    np.testing.assert_array_equal(a, b)
