"""The legacy binary structure-factor cache (``Fdump.bin``, ``-dump``).

Layout: the ASCII header ``"%d %d %d %d %d %d\\n\\f"`` (h_min h_max k_min
k_max l_min l_max), then ``(nh+1)*(nk+1)*(nl+1)`` little-endian float64 in
``[h][k][l]`` order, ``n = max - min + 1``.  The extra last slice on each axis
is zero padding (the legacy program allocates one more than it needs).

Legacy read quirk, reproduced by :func:`read_fdump` for parity: the legacy
reader parses the header with ``fscanf("%d%d%d%d%d%d\\n\\f")``, whose
whitespace directives skip *every* whitespace byte (0x09-0x0d, 0x20) after
the six integers -- including leading bytes of the first stored double when
they happen to be whitespace (for example F = 10.02 starts with 0x0a).  The
whole grid is then read shifted by that many bytes and the missing tail reads
as zero, so the table holds garbage.  When this happens :func:`read_fdump`
emits a warning naming the file; re-reading the original HKL file avoids it.
"""
from __future__ import annotations

import os
import re
import warnings
from typing import List

import numpy as np

from ..tables import StructureFactorTable
from .atomic import atomic_write
from .errors import FormatError

__all__ = ["read_fdump", "write_fdump", "fdump_bytes"]

#: bytes C isspace() accepts, which the legacy fscanf skips after the header integers
_C_WHITESPACE = b" \t\n\v\f\r"
#: one header integer with the whitespace fscanf("%d") skips before it
_HEADER_INTEGER = re.compile(rb"[ \t\n\v\f\r]*([+-]?[0-9]+)")
#: how far a header integer may reach (keeps the scan out of the binary data)
_HEADER_SCAN_BYTES = 256


def _header_bytes(table: StructureFactorTable) -> bytes:
    lo, hi = table.hkl_min, table.hkl_max
    return b"%d %d %d %d %d %d\n\f" % (lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])


def _padded_grid(amplitudes: np.ndarray) -> np.ndarray:
    nh, nk, nl = amplitudes.shape
    padded = np.zeros((nh + 1, nk + 1, nl + 1), dtype="<f8")
    padded[:nh, :nk, :nl] = amplitudes
    return padded


def fdump_bytes(table: StructureFactorTable) -> List[bytes]:
    """The bytes of a legacy Fdump cache of ``table`` (header, padded grid)."""
    return [_header_bytes(table), _padded_grid(table.as_numpy()).tobytes()]


def write_fdump(path, table: StructureFactorTable) -> str:
    """Write ``table`` as a legacy Fdump cache (atomically).

    Parameters
    ----------
    path : str or os.PathLike
        Destination.
    table : StructureFactorTable
        The structure factors.

    Returns
    -------
    str
        The path written.
    """
    return atomic_write(path, fdump_bytes(table))


def _parse_header(path, raw: bytes):
    """(h_min, h_max, k_min, k_max, l_min, l_max) and the offset just after the sixth integer."""
    match = _HEADER_INTEGER.match
    bounds, offset = [], 0
    for _ in range(6):
        m = match(raw, offset, min(len(raw), offset + _HEADER_SCAN_BYTES))
        if m is None:
            raise FormatError(
                path, "not an Fdump file: expected six integers 'h_min h_max k_min k_max l_min l_max' at the start"
            )
        bounds.append(int(m.group(1)))
        offset = m.end()
    for axis, lo, hi in zip("hkl", bounds[0::2], bounds[1::2]):
        if hi < lo:
            raise FormatError(path, f"bad Fdump header: {axis}_max ({hi}) is below {axis}_min ({lo})")
    return tuple(bounds), offset


def read_fdump(path) -> StructureFactorTable:
    """Read a legacy Fdump cache, reproducing the legacy reader (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        The cache file.

    Returns
    -------
    StructureFactorTable
        The grid the header announces.

    Raises
    ------
    FormatError
        When the header is not six integers followed by whitespace, or when
        the file size does not match the grid the header announces.
    """
    with open(path, "rb") as handle:
        raw = handle.read()
    (h_min, h_max, k_min, k_max, l_min, l_max), after_integers = _parse_header(path, raw)
    shape = (h_max - h_min + 1, k_max - k_min + 1, l_max - l_min + 1)
    padded_shape = tuple(n + 1 for n in shape)
    data_bytes = 8 * int(np.prod(padded_shape))
    data_start = len(raw) - data_bytes  # where the writer put the first double
    if data_start < after_integers:
        raise FormatError(
            path,
            f"truncated Fdump file: the header announces a {shape[0]}x{shape[1]}x{shape[2]} grid "
            f"({data_bytes} bytes of data with padding), but only {len(raw) - after_integers} bytes follow it",
        )
    separator = raw[after_integers:data_start]
    if separator.strip(_C_WHITESPACE):
        raise FormatError(
            path,
            f"bad Fdump file: expected only whitespace between the header and the {data_bytes} bytes of data, "
            f"found {len(separator)} bytes including {separator.strip(_C_WHITESPACE)[:20]!r}",
        )
    # the legacy fscanf skips every whitespace byte, possibly into the data
    legacy_start = len(raw) - len(raw[after_integers:].lstrip(_C_WHITESPACE))
    shift = max(0, legacy_start - data_start)
    if shift:
        warnings.warn(
            f"{os.fspath(path)}: the legacy nanoBragg reader misreads this Fdump file: the first stored F begins "
            f"with {shift} whitespace byte(s) that its fscanf skips, so every F is read {shift} byte(s) out of "
            "phase; reproducing that for parity (re-read the HKL file to get the intended values)",
            stacklevel=2,
        )
    grid_bytes = raw[data_start + shift:] + bytes(shift)  # the missing tail reads as zero
    padded = np.frombuffer(grid_bytes, dtype="<f8").reshape(padded_shape)
    amplitudes = np.array(padded[: shape[0], : shape[1], : shape[2]], dtype=np.float64)
    return StructureFactorTable(hkl_min=(h_min, k_min, l_min), amplitudes=amplitudes, source=os.fspath(path))
