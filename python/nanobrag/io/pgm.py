"""8-bit binary PGM images (``-pgmfile``), as the legacy program writes them.

Header ``"P5\\n<fast> <slow>\\n# pixels scaled by <scale %g>\\n255\\n"`` then
fast*slow bytes, row-major (slow, fast).  The reader accepts any P5 file with
maxval <= 255 (comments anywhere in the header) and returns the scale from the
"# pixels scaled by" comment when there is one.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

import numpy as np

from .atomic import atomic_write
from ._numbers import c_atof
from .errors import FormatError

__all__ = ["read_pgm", "write_pgm", "pgm_bytes"]

_SCALE_COMMENT = "# pixels scaled by "
_TOKEN_OR_COMMENT = re.compile(rb"\s*(#[^\n]*\n|[^\s#]+)")


def pgm_bytes(data_uint8: np.ndarray, scale: Optional[float]) -> List[bytes]:
    """The bytes of a PGM file (header, pixels) for a uint8 (slow, fast) image."""
    data = np.asarray(data_uint8)
    if data.dtype != np.uint8 or data.ndim != 2:
        raise ValueError(f"a PGM image must be a 2-D uint8 (slow, fast) array, got {data.dtype} with shape {data.shape}")
    header = "P5\n%d %d\n" % (data.shape[1], data.shape[0])
    if scale is not None:
        header += "%s%g\n" % (_SCALE_COMMENT, float(scale))
    header += "255\n"
    return [header.encode("ascii"), np.ascontiguousarray(data).tobytes()]


def write_pgm(path, data_uint8: np.ndarray, scale: Optional[float]) -> str:
    """Write a uint8 (slow, fast) image as binary PGM (atomically).

    Parameters
    ----------
    path : str or os.PathLike
        Destination.
    data_uint8 : numpy.ndarray of uint8, shape (slow, fast)
        The pixels.
    scale : float or None
        Written in the "# pixels scaled by" comment line; None: no comment.

    Returns
    -------
    str
        The path written.
    """
    return atomic_write(path, pgm_bytes(data_uint8, scale))


def read_pgm(path) -> Tuple[np.ndarray, Optional[float]]:
    """Read a binary PGM image.

    Parameters
    ----------
    path : str or os.PathLike
        The image file.

    Returns
    -------
    image : numpy.ndarray of uint8, shape (slow, fast)
        The pixels.
    scale : float or None
        The value of the "# pixels scaled by" comment, if present.
    """
    with open(path, "rb") as handle:
        raw = handle.read()
    if not raw.startswith(b"P5"):
        raise FormatError(path, "not a binary PGM file: expected it to start with 'P5'")
    offset, numbers, scale = 2, [], None
    while len(numbers) < 3:
        m = _TOKEN_OR_COMMENT.match(raw, offset)
        if m is None:
            raise FormatError(path, "truncated PGM header: expected width, height and maxval after 'P5'")
        token, offset = m.group(1), m.end()
        if token.startswith(b"#"):
            comment = token.decode("latin-1").rstrip("\n")
            if comment.startswith(_SCALE_COMMENT):
                scale = c_atof(comment[len(_SCALE_COMMENT):])
            continue
        if not token.isdigit():
            raise FormatError(path, f"PGM header: expected a positive integer (width, height, maxval), got {token!r}")
        numbers.append(int(token))
    width, height, maxval = numbers
    if not (width > 0 and height > 0 and 0 < maxval < 256):
        raise FormatError(path, f"PGM header: need width, height > 0 and 0 < maxval < 256, got {width} {height} {maxval}")
    if offset >= len(raw) or raw[offset:offset + 1] not in (b" ", b"\t", b"\n", b"\r", b"\v", b"\f"):
        raise FormatError(path, "PGM header: expected one whitespace byte after maxval")
    offset += 1
    payload = raw[offset:offset + width * height]
    if len(payload) < width * height:
        raise FormatError(path, f"truncated PGM file: {width} x {height} needs {width * height} bytes of pixels, found {len(payload)}")
    return np.frombuffer(payload, dtype=np.uint8).reshape(height, width).copy(), scale
