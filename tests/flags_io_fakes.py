"""Test-only stand-ins for the nanobrag.io readers the parser calls.

The parser reads files through the agreed nanobrag.io interface (read_hkl,
read_fdump, read_mosflm_matrix, read_source_file, read_stol_table, read_smv,
smv_header_value, write_fdump, FormatError).  Until that module provides a
function, :func:`use_io` installs a small stand-in here, through pytest's
monkeypatch only; a function the real module has is never replaced, so the
same tests exercise the real readers once they exist.
"""
from __future__ import annotations

import os
import re
from types import SimpleNamespace

import numpy as np

import nanobrag.io
from nanobrag.tables import AmorphousTable, SourceTable, StructureFactorTable


class FakeFormatError(ValueError):
    pass


def _numbers(path):
    with open(path) as fh:
        return [float(t) for t in fh.read().split()]


def read_hkl(path, default_F):
    rows = np.array([[float(t) for t in line.split()[:4]] for line in open(path) if line.strip()])
    if rows.size == 0:
        raise nanobrag.io.FormatError(f"{path}: no reflections")
    idx = rows[:, :3].astype(int)
    lo, hi = idx.min(axis=0), idx.max(axis=0)
    grid = np.full(tuple(hi - lo + 1), float(default_F))
    grid[tuple((idx - lo).T)] = rows[:, 3]
    return StructureFactorTable(tuple(lo), grid, source=path)


def read_fdump(path):
    raw = open(path, "rb").read()
    cut = raw.index(b"\f")
    h0, h1, k0, k1, l0, l1 = map(int, raw[:cut].split())
    shape = (h1 - h0 + 2, k1 - k0 + 2, l1 - l0 + 2)
    grid = np.frombuffer(raw[cut + 1:cut + 1 + 8 * int(np.prod(shape))], "<f8").reshape(shape)
    return StructureFactorTable((h0, k0, l0), grid[:-1, :-1, :-1].copy(), source=path)


def write_fdump(path, table):
    amps = table.as_numpy()
    lo, hi = table.hkl_min, table.hkl_max
    padded = np.zeros(tuple(n + 1 for n in amps.shape))
    padded[:-1, :-1, :-1] = amps
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(f"{lo[0]} {hi[0]} {lo[1]} {hi[1]} {lo[2]} {hi[2]}\n\f".encode())
        fh.write(padded.astype("<f8").tobytes())
    os.replace(tmp, path)


def read_mosflm_matrix(path):
    values = _numbers(path)
    if len(values) < 9:
        raise nanobrag.io.FormatError(f"{path}: fewer than 9 numbers")
    return np.array(values[:9]).reshape(3, 3)


def read_source_file(path):
    rows = []
    for line in open(path):
        parts = [float(t) for t in line.split()]
        if parts:
            rows.append((parts + [np.nan] * 5)[:5])
    return SourceTable(np.array(rows), source=path)


def read_stol_table(path, column_kind):
    rows = np.array([[float(t) for t in line.split()[:2]] for line in open(path) if line.strip()])
    scale = {"stol": 1.0, "4stol": 0.25, "Q": 1 / (4 * np.pi)}[column_kind]
    return AmorphousTable(rows[:, 0] * scale, rows[:, 1], source=path, column_kind=column_kind)


def smv_header_value(header_text, key):
    """Legacy ValueOf: the text after the last occurrence of key, up to '=', read as a number."""
    pos = header_text.rfind(key)
    if pos < 0:
        return float("nan")
    rest = header_text[pos + len(key):]
    eq = rest.find("=")
    if eq < 0:
        return 0.0
    m = re.match(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", rest[eq + 1:])
    return float(m.group(0)) if m else 0.0


def read_smv(path):
    raw = open(path, "rb").read()
    if not raw.startswith(b"{\nHEADER_BYTES="):
        raise nanobrag.io.FormatError(f"{path}: not an SMV file")
    size = int(smv_header_value(raw[:512].decode("ascii", "replace"), "HEADER_BYTES"))
    header_bytes = raw[:size]
    text = header_bytes.decode("ascii", "replace")
    fields = dict(re.findall(r"(\w+)=([^;\n]*)", text))
    fast, slow = int(fields["SIZE1"]), int(fields["SIZE2"])
    data = np.frombuffer(raw[size:size + 2 * fast * slow], "<u2").reshape(slow, fast)
    return SimpleNamespace(header_text=text, header_bytes=header_bytes, fields=fields, data=data)


FAKES = {
    "read_hkl": read_hkl,
    "read_fdump": read_fdump,
    "write_fdump": write_fdump,
    "read_mosflm_matrix": read_mosflm_matrix,
    "read_source_file": read_source_file,
    "read_stol_table": read_stol_table,
    "read_smv": read_smv,
    "smv_header_value": smv_header_value,
}


def use_io(monkeypatch):
    """Install a stand-in for every interface function nanobrag.io lacks; return their names."""
    installed = []
    if not hasattr(nanobrag.io, "FormatError"):
        monkeypatch.setattr(nanobrag.io, "FormatError", FakeFormatError, raising=False)
        installed.append("FormatError")
    for name, fake in FAKES.items():
        if not hasattr(nanobrag.io, name):
            monkeypatch.setattr(nanobrag.io, name, fake, raising=False)
            installed.append(name)
    return installed
