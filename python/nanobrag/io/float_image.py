"""Raw float images (``-floatfile``): little-endian float32, row-major (slow, fast), no header."""
from __future__ import annotations

import os
from typing import Tuple

import numpy as np

from .atomic import atomic_write
from .errors import FormatError

__all__ = ["read_float_image", "write_float_image", "float_image_bytes"]


def float_image_bytes(image_float32: np.ndarray) -> bytes:
    """The bytes of a raw float file: little-endian float32, row-major (slow, fast)."""
    image = np.asarray(image_float32)
    if image.dtype != np.float32 or image.ndim != 2:
        raise ValueError(
            f"a float image must be a 2-D float32 (slow, fast) array, got {image.dtype} with shape {image.shape}"
        )
    return np.ascontiguousarray(image.astype("<f4", copy=False)).tobytes()


def write_float_image(path, image_float32: np.ndarray) -> str:
    """Write a (slow, fast) float32 image as raw little-endian float32 (atomically).

    Parameters
    ----------
    path : str or os.PathLike
        Destination.
    image_float32 : numpy.ndarray of float32, shape (slow, fast)
        The image, written row-major.

    Returns
    -------
    str
        The path written.
    """
    return atomic_write(path, float_image_bytes(image_float32))


def read_float_image(path, shape: Tuple[int, int]) -> np.ndarray:
    """Read a raw little-endian float32 image.

    Parameters
    ----------
    path : str or os.PathLike
        The image file.
    shape : (int, int)
        (slow, fast) pixel counts; the file holds no header.

    Returns
    -------
    numpy.ndarray of float32, shape (slow, fast)

    Raises
    ------
    FormatError
        When the file size differs from ``4 * slow * fast`` bytes.
    """
    slow, fast = (int(n) for n in shape)
    expected = 4 * slow * fast
    actual = os.path.getsize(path)
    if actual != expected:
        raise FormatError(
            path,
            f"raw float image of {slow} x {fast} (slow x fast) pixels needs {expected} bytes of float32, "
            f"the file holds {actual}",
        )
    with open(path, "rb") as handle:
        raw = handle.read()
    return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(slow, fast)
