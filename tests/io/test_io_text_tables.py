"""MOSFLM matrix, source list and stol table readers."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

import golden_cases as g
from nanobrag.io import FormatError, read_mosflm_matrix, read_source_file, read_stol_table


def test_mosflm_matrix_first_nine_numbers_rows_xyz(tmp_path):
    case = g.case("mat_triclinic_hkl")
    (tmp_path / "A.mat").write_bytes(case.read("A.mat"))
    matrix = read_mosflm_matrix(tmp_path / "A.mat")
    assert matrix.shape == (3, 3)
    first_rows = [list(map(float, line.split())) for line in case.read("A.mat").decode().splitlines()[:3]]
    assert matrix.tolist() == first_rows
    # the legacy program prints the reciprocal vectors: columns a*, b*, c* divided by -lambda 1.3
    lam = float(case.args[case.args.index("-lambda") + 1])
    printed = re.search(r"a_star\s+b_star\s+c_star\s*\nX:(.*)\nY:(.*)\nZ:(.*)\n", case.stdout()).groups()
    for row, text in zip(matrix, printed):
        assert ["%.8f" % (v / lam) for v in row] == text.split()


def test_mosflm_matrix_too_short(tmp_path):
    path = tmp_path / "short.mat"
    path.write_text("0.1 0.2 0.3\n0.4 0.5 0.6\n0.7 0.8\n")
    with pytest.raises(FormatError, match=rf"{path}: expected 9 numbers .* found 8"):
        read_mosflm_matrix(path)


def test_mosflm_matrix_non_numeric(tmp_path):
    path = tmp_path / "bad.mat"
    path.write_text("0.1 0.2 0.3\n0.4 zero 0.6\n0.7 0.8 0.9\n")
    with pytest.raises(FormatError, match=rf"{path}, line 2: matrix element 5 of 9 must be a finite number, got 'zero'"):
        read_mosflm_matrix(path)


def test_source_file_columns_and_missing_values(tmp_path):
    case = g.case("sourcefile")
    (tmp_path / "sources.txt").write_bytes(case.read("sources.txt"))
    table = read_source_file(tmp_path / "sources.txt")
    assert table.source == str(tmp_path / "sources.txt") and len(table) == 4
    assert table.rows[:3].tolist() == [
        [-10, 0, 0, 1.0, 1.0e-10],
        [-10, 0.004, 0, 5.0, 1.0e-10],
        [-10, 0, -0.003, 0.2, 1.015e-10],
    ]
    assert table.rows[3, :3].tolist() == [-10, -0.002, 0.002] and np.isnan(table.rows[3, 3:]).all()
    # the legacy program lists the same positions (and fills weight 1, lambda -lambda for the last)
    listed = re.search(r"created a total of 4 sources:\n((?:.*\n){4})", case.stdout()).group(1).splitlines()
    for row, line in zip(table.rows, listed):
        assert [float(v) for v in line.split()[:3]] == row[:3].tolist()


def test_source_file_delimiters_blank_and_comment_lines(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("# X Y Z I lambda\n\n -10,0;0:1!1.2e-10  \r\n\t\n-10 1e-3\n")
    rows = read_source_file(path).rows
    assert rows[0].tolist() == [-10, 0, 0, 1, 1.2e-10]
    assert rows[1, :2].tolist() == [-10, 1e-3] and np.isnan(rows[1, 2:]).all()


def test_source_file_errors(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("-10 0 0\n-10 zero 0\n")
    with pytest.raises(FormatError, match=rf"{path}, line 2: column 2 \(Y_m\) must be a finite number, got 'zero'"):
        read_source_file(path)
    path.write_text("# nothing\n\n")
    with pytest.raises(FormatError, match=rf"{path}: no data"):
        read_source_file(path)


@pytest.mark.parametrize("kind,divisor", [("stol", 1.0), ("4stol", 4.0), ("Q", 4 * math.pi)])
def test_stol_table_units(tmp_path, kind, divisor):
    (tmp_path / "water.stol").write_bytes(g.OWN_STOL.read_bytes())
    table = read_stol_table(tmp_path / "water.stol", column_kind=kind)
    columns = np.array(
        [list(map(float, line.split()[:2])) for line in g.OWN_STOL.read_text().splitlines()
         if line.split() and not line.lstrip().startswith("#")]
    )
    assert table.column_kind == kind and len(table.F) == len(columns) > 10
    assert np.array_equal(table.stol_per_A, columns[:, 0] / divisor)
    assert np.array_equal(table.F, columns[:, 1])


def test_stol_table_missing_F_is_zero_and_errors(tmp_path):
    path = tmp_path / "t.stol"
    path.write_text("0.1 2.5\n0.2\n")
    table = read_stol_table(path)
    assert table.F.tolist() == [2.5, 0.0]
    path.write_text("0.1 2.5\n0.2 x\n")
    with pytest.raises(FormatError, match=rf"{path}, line 2: column 2 \(F\)"):
        read_stol_table(path)
    with pytest.raises(ValueError, match="column_kind"):
        read_stol_table(path, column_kind="d")
