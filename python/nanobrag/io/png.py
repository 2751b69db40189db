"""8-bit greyscale PNG previews through Pillow.

Orientation: row 0 is slow index 0 at the top and fast runs to the right, as
adxv shows an SMV image and as the legacy PGM is laid out.  Grey levels:

- ``"legacy"``: the legacy PGM scaling (``min(255, photons * pgm_scale)``
  truncated, see :func:`nanobrag.outputs.pgm_image`); the caller passes that
  uint8 image.
- ``"log"``: ``floor(255 * log(1 + I) / log(1 + I_max))`` with I the photons
  (negative values count as 0) and I_max the brightest pixel (always 255); an
  image with no positive pixel is black.  :func:`log_scaled` computes it.
"""
from __future__ import annotations

import io
from typing import Union

import os

import numpy as np

from .atomic import atomic_write

__all__ = ["PNG_SCALES", "log_scaled", "png_bytes", "write_png"]

PNG_SCALES = ("legacy", "log")
PathLike = Union[str, "os.PathLike[str]"]


def log_scaled(photons) -> np.ndarray:
    """uint8 (slow, fast) grey levels of a photon image on the log scale described above."""
    arr = np.asarray(photons, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("the image holds inf or NaN values; refusing to scale it for a PNG")
    arr = np.maximum(arr, 0.0)
    top = float(arr.max()) if arr.size else 0.0
    if top <= 0.0:
        return np.zeros(arr.shape, dtype=np.uint8)
    grey = np.floor(255.0 * np.log1p(arr) / np.log1p(top))
    # the brightest pixel is 255 whatever the last bit of a vectorized log1p
    grey[arr >= top] = 255.0
    return np.clip(grey, 0, 255).astype(np.uint8)


def png_bytes(grey_uint8) -> bytes:
    """A PNG file (mode "L") of a uint8 (slow, fast) image."""
    from PIL import Image

    data = np.asarray(grey_uint8)
    if data.dtype != np.uint8 or data.ndim != 2:
        raise ValueError(f"a PNG preview must be a 2-D uint8 (slow, fast) array, got {data.dtype} {data.shape}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(data), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def write_png(path: PathLike, grey_uint8) -> str:
    """Write a uint8 (slow, fast) image as an 8-bit greyscale PNG at exactly ``path`` (atomically)."""
    return atomic_write(path, png_bytes(grey_uint8))
