"""HKL reader and Fdump cache against the legacy program's own Fdump files.

The legacy program writes Fdump.bin (or the -dump name) from the -hkl file it
read, so read_hkl + write_fdump must reproduce those bytes exactly.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import golden_cases as g
from nanobrag import StructureFactorTable
from nanobrag.io import FormatError, read_fdump, read_hkl, write_fdump


def _flag(args, flag, default=None):
    return args[args.index(flag) + 1] if flag in args else default


def _hkl_runs():
    """(case, hkl file, default_F, dump file written) for every golden run that read an HKL file."""
    runs = []
    for case in g.all_cases():
        args = case.args
        if "-hkl" in args:
            dump = _flag(args, "-dump", "Fdump.bin")
            runs.append((case.name, _flag(args, "-hkl"), float(_flag(args, "-default_F", 0.0)), dump))
    # the preparatory run of the whitespace quirk wrote that case's input Fdump.bin from P1_ws.hkl
    prep = g.case("quirk_fdump_whitespace_read").read("prep_cmd.txt").decode().split()
    assert "-default_F" not in prep and "-dump" not in prep
    runs.append(("quirk_fdump_whitespace_read", _flag(prep, "-hkl"), 0.0, "Fdump.bin"))
    return runs


HKL_RUNS = _hkl_runs()
FDUMPS = [(c.name, f) for c in g.all_cases() for f in c.input_names + list(c.outputs) if f.endswith(".bin") and "dump" in f.lower()]


def test_golden_set_has_the_expected_runs():
    assert len(HKL_RUNS) >= 6 and any(dF != 0 for _, _, dF, _ in HKL_RUNS)
    assert len(FDUMPS) >= 7


@pytest.mark.parametrize("name,hkl,default_F,dump", HKL_RUNS)
def test_hkl_to_fdump_is_byte_identical_to_legacy(name, hkl, default_F, dump, tmp_path):
    case = g.case(name)
    (tmp_path / hkl).write_bytes(case.read(hkl))
    table = read_hkl(tmp_path / hkl, default_F=default_F)
    assert table.source == str(tmp_path / hkl)
    out = tmp_path / "out.bin"
    assert write_fdump(out, table) == str(out)
    assert out.read_bytes() == case.read(dump)


@pytest.mark.parametrize("name,fdump", [p for p in FDUMPS if p[0] != "quirk_fdump_whitespace_read"])
def test_fdump_round_trip_is_byte_identical(name, fdump, tmp_path):
    raw = g.case(name).read(fdump)
    (tmp_path / "in.bin").write_bytes(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no whitespace misread in these files
        table = read_fdump(tmp_path / "in.bin")
    write_fdump(tmp_path / "out.bin", table)
    assert (tmp_path / "out.bin").read_bytes() == raw


def test_hkl_values_land_on_their_indices(tmp_path):
    case = g.case("hkl_default_F_fill_dumpname")
    (tmp_path / "P1.hkl").write_bytes(case.read("P1.hkl"))
    table = read_hkl(tmp_path / "P1.hkl", default_F=40.0)
    listed = {}
    for line in case.read("P1.hkl").decode().splitlines():
        h, k, l, F = line.split()
        listed[(int(h), int(k), int(l))] = float(F)
    grid = table.as_numpy()
    lo = table.hkl_min
    for (h, k, l), F in list(listed.items())[::97]:
        assert grid[h - lo[0], k - lo[1], l - lo[2]] == F
    # the case notes: corner (-7,-8,-9) and the slab l == 3, h > 0 are missing -> default_F
    assert (-7, -8, -9) not in listed and grid[0, 0, 0] == 40.0
    assert grid[7 + 1 :, :, 3 + 9].tolist() == np.full((7, 17), 40.0).tolist()
    assert grid[0 - lo[0], 0 - lo[1], 0 - lo[2]] == listed[(0, 0, 0)] == 1000.0
    assert np.count_nonzero(grid != 40.0) <= len(listed)
    # the Fdump written from it is read back to the same table
    write_fdump(tmp_path / "F.bin", table)
    back = read_fdump(tmp_path / "F.bin")
    assert back.hkl_min == table.hkl_min and np.array_equal(back.amplitudes, grid)


def test_fdump_whitespace_quirk_is_reproduced_with_a_warning(tmp_path):
    case = g.case("quirk_fdump_whitespace_read")
    raw = case.read("Fdump.bin")
    (tmp_path / "Fdump.bin").write_bytes(raw)
    (tmp_path / "P1_ws.hkl").write_bytes(case.read("P1_ws.hkl"))
    intended = read_hkl(tmp_path / "P1_ws.hkl")
    assert intended.as_numpy()[0, 0, 0] == 10.02  # first stored double 10.02 begins with byte 0x0a
    assert np.float64(10.02).tobytes()[:1] == b"\n"
    with pytest.warns(UserWarning, match=r"Fdump\.bin.*legacy nanoBragg reader misreads.*HKL"):
        misread = read_fdump(tmp_path / "Fdump.bin")
    # by hand: the data start one byte late, the missing last byte reads as 0
    start = raw.index(b"\f") + 1
    nh, nk, nl = intended.shape
    shifted = np.frombuffer(raw[start + 1 :] + b"\0", dtype="<f8").reshape(nh + 1, nk + 1, nl + 1)
    assert misread.hkl_min == intended.hkl_min and misread.shape == intended.shape
    assert np.array_equal(misread.as_numpy(), shifted[:nh, :nk, :nl], equal_nan=True)
    assert not np.array_equal(misread.as_numpy(), intended.as_numpy())


def test_fdump_layout_header_grid_and_zero_padding(tmp_path):
    table = StructureFactorTable(hkl_min=(-1, 0, 2), amplitudes=np.arange(1.0, 7.0).reshape(2, 1, 3))
    write_fdump(tmp_path / "F.bin", table)
    raw = (tmp_path / "F.bin").read_bytes()
    assert raw.startswith(b"-1 0 0 0 2 4\n\f")
    data = np.frombuffer(raw[len(b"-1 0 0 0 2 4\n\f") :], dtype="<f8").reshape(3, 2, 4)
    assert np.array_equal(data[:2, :1, :3], table.amplitudes)
    assert data.sum() == table.amplitudes.sum()  # everything else is zero padding


def test_fdump_accepts_a_torch_table(tmp_path):
    torch = pytest.importorskip("torch")
    amps = torch.tensor([[[1.5, 2.5]]], dtype=torch.float64, requires_grad=True)
    write_fdump(tmp_path / "F.bin", StructureFactorTable(hkl_min=(0, 0, 0), amplitudes=amps))
    assert read_fdump(tmp_path / "F.bin").as_numpy().tolist() == [[[1.5, 2.5]]]


# --- HKL robustness -------------------------------------------------------------------------

def _write(tmp_path, text, name="in.hkl"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_hkl_comments_blank_lines_extra_columns_negative_indices(tmp_path):
    path = _write(
        tmp_path,
        "# header comment\n\n  ! another comment\n-2 0 1 10.5 0.3\n 1 -1 1  20 1.0 extra\n\t\n0 0 1 1e2\n",
    )
    table = read_hkl(path, default_F=3.0)
    assert table.hkl_min == (-2, -1, 1) and table.hkl_max == (1, 0, 1)
    grid = table.as_numpy()
    assert grid[0, 1, 0] == 10.5 and grid[3, 0, 0] == 20.0 and grid[2, 1, 0] == 100.0
    assert np.count_nonzero(grid == 3.0) == grid.size - 3


def test_hkl_duplicate_reflection_last_wins(tmp_path):
    path = _write(tmp_path, "1 1 1 5\n0 0 0 1\n1 1 1 7\n1 1 1 9\n")
    assert read_hkl(path).as_numpy()[1, 1, 1] == 9.0


def test_hkl_negative_zero_default_is_plain_zero(tmp_path):
    path = _write(tmp_path, "0 0 0 1\n2 0 0 1\n")
    grid = read_hkl(path, default_F=-0.0).as_numpy()
    assert not np.signbit(grid[1, 0, 0])


@pytest.mark.parametrize(
    "text,line,expect",
    [
        ("1 2 3 4\n1 2.5 3 4\n", 2, r"Miller index k must be an integer, got '2\.5'"),
        ("1 2 3 4\n\n1 2 3\n", 3, r"expected 4 columns 'h k l F', found 3"),
        ("1 2 3 four\n", 1, r"structure factor F must be a finite number, got 'four'"),
        ("1 2 3 nan\n", 1, r"structure factor F must be a finite number"),
        ("x 2 3 4\n", 1, r"Miller index h must be an integer"),
    ],
)
def test_hkl_bad_records_name_file_and_line(tmp_path, text, line, expect):
    path = _write(tmp_path, text)
    with pytest.raises(FormatError, match=rf"{path}, line {line}: {expect}") as info:
        read_hkl(path)
    assert info.value.line == line and info.value.path == str(path)
    assert isinstance(info.value, ValueError)


def test_hkl_without_reflections(tmp_path):
    path = _write(tmp_path, "# only a comment\n\n")
    with pytest.raises(FormatError, match=rf"{path}: no reflections"):
        read_hkl(path)


# --- Fdump errors ---------------------------------------------------------------------------

def _good_fdump(tmp_path):
    table = StructureFactorTable(hkl_min=(0, 0, 0), amplitudes=np.full((2, 2, 2), 100.0))
    write_fdump(tmp_path / "good.bin", table)
    return (tmp_path / "good.bin").read_bytes()


@pytest.mark.parametrize(
    "mutate,expect",
    [
        (lambda raw: b"garbage" + raw, r"not an Fdump file: expected six integers"),
        (lambda raw: raw.replace(b"0 1 0 1 0 1\n", b"0 1 0 1\n", 1), r"not an Fdump file|truncated|bad Fdump"),
        (lambda raw: raw.replace(b"0 1 0 1 0 1", b"0 1 0 1 1 0", 1), r"bad Fdump header: l_max \(0\) is below l_min \(1\)"),
        (lambda raw: raw[:-9], r"truncated Fdump file|bad Fdump file"),
        (lambda raw: raw[:20], r"truncated Fdump file"),
        (lambda raw: raw + b"\0" * 8, r"bad Fdump file: expected only whitespace"),
    ],
)
def test_fdump_bad_files_raise_format_error(tmp_path, mutate, expect):
    path = tmp_path / "bad.bin"
    path.write_bytes(mutate(_good_fdump(tmp_path)))
    with pytest.raises(FormatError, match=rf"{path}: ({expect})"):
        read_fdump(path)


def test_fdump_write_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / "F.bin"
    path.write_bytes(b"old contents")

    class Exploding(StructureFactorTable):
        def as_numpy(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_fdump(path, Exploding(hkl_min=(0, 0, 0), amplitudes=np.zeros((1, 1, 1))))
    assert path.read_bytes() == b"old contents" and os.listdir(tmp_path) == ["F.bin"]
