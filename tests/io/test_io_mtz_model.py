"""Structure factors from MTZ files and atomic models, checked against independent arithmetic.

MTZ: files made with gemmi in non-P1 space groups; the expected P1 table is
built here by applying gemmi's symmetry operators one reflection at a time
(``Op.apply_to_hkl``) and Friedel's law by hand.  Model: a small mmCIF written
with gemmi; the expected |F| is a plain loop over atoms and symmetry operators
(``Op.apply_to_xyz``) with the IT92 coefficients and Cromer-Liberman f', f''
taken from gemmi.
"""
from __future__ import annotations

import cmath
import math

import numpy as np
import pytest

gemmi = pytest.importorskip("gemmi")

from nanobrag.config import Config, ConfigError  # noqa: E402
from nanobrag.io import FormatError, read_model, read_mtz  # noqa: E402
from nanobrag.io.model import model_structure_factors  # noqa: E402

CELL = (31.0, 37.0, 43.0, 90.0, 104.0, 90.0)


def _write_mtz(path, space_group, columns, rows, cell=CELL):
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = gemmi.SpaceGroup(space_group)
    mtz.set_cell_for_all(gemmi.UnitCell(*cell))
    mtz.add_dataset("sim")
    for label, kind in columns:
        mtz.add_column(label, kind)
    mtz.set_data(np.array(rows, dtype=np.float32))
    mtz.write_to_file(str(path))


def _by_hand(space_group, rows, anomalous=False):
    """{hkl: F} from applying every operator to each row, then Friedel (or the (-) value) to -hkl."""
    ops = list(gemmi.SpaceGroup(space_group).operations())
    out = {}
    for row in rows:
        hkl = [int(v) for v in row[:3]]
        f_plus, f_minus = (row[3], row[4]) if anomalous else (row[3], row[3])
        for op in ops:
            mate = tuple(op.apply_to_hkl(hkl))
            out.setdefault(mate, f_plus)
        for op in ops:
            mate = tuple(-v for v in op.apply_to_hkl(hkl))
            out.setdefault(mate, f_minus)
    return out


def _table_dict(table):
    grid = table.as_numpy()
    lo = np.array(table.hkl_min)
    return grid, lo


def _lookup(grid, lo, hkl):
    return grid[tuple(np.array(hkl) - lo)]


# general reflections, h + k even (C centring), no two of them symmetry mates in C2
C2_ROWS = [[1, 1, 3, 10.0, 0.5], [2, 0, 1, 7.0, 0.5], [3, 1, -2, 4.0, 0.5], [0, 2, 5, 12.0, 0.5]]


def test_mtz_amplitudes_expand_to_p1_as_the_operators_say(tmp_path):
    path = tmp_path / "c2.mtz"
    _write_mtz(path, "C 1 2 1", [("FP", "F"), ("SIGFP", "Q")], C2_ROWS)
    found = read_mtz(path)
    assert found.columns == ("FP",) and found.rule == "amplitudes"
    assert found.cell == pytest.approx(CELL, abs=1e-4)
    expected = _by_hand("C 1 2 1", C2_ROWS)
    assert len(expected) > len(C2_ROWS) * 2  # the expansion is not trivial
    grid, lo = _table_dict(found.table)
    for hkl, F in expected.items():
        assert _lookup(grid, lo, hkl) == pytest.approx(F, rel=1e-6), hkl
    # everything else in the grid: 0 (default_F), never a value from nowhere
    listed = np.zeros(grid.shape, bool)
    for hkl in expected:
        listed[tuple(np.array(hkl) - lo)] = True
    assert np.all(grid[~listed] == 0.0)
    # C2 centring: h + k odd reflections are absent, here (1, 0, 0) lies inside the grid
    assert _lookup(grid, lo, (1, 0, 0)) == 0.0


def test_mtz_default_F_fills_unlisted_but_not_absent_reflections(tmp_path):
    path = tmp_path / "p212121.mtz"
    rows = [[1, 2, 3, 10.0], [0, 0, 2, 5.0], [2, 0, 1, 7.0]]
    _write_mtz(path, "P 21 21 21", [("FP", "F")], rows, cell=(30, 40, 50, 90, 90, 90))
    found = read_mtz(path, default_F=3.0)
    grid, lo = _table_dict(found.table)
    assert _lookup(grid, lo, (0, 0, 1)) == 0.0  # 00l, l odd: extinct by the 2_1 screw
    assert _lookup(grid, lo, (1, 1, 1)) == 3.0  # not in the file: default_F
    for hkl, F in _by_hand("P 21 21 21", rows).items():
        assert _lookup(grid, lo, hkl) == pytest.approx(F, rel=1e-6)


def test_mtz_anomalous_pair_kept_apart(tmp_path):
    path = tmp_path / "anom.mtz"
    rows = [[1, 2, 3, 10.0, 9.0], [2, 1, 1, 7.0, 6.5]]
    _write_mtz(path, "P 1 21 1", [("F(+)", "G"), ("F(-)", "G")], rows)
    found = read_mtz(path, "F(-)")
    assert found.columns == ("F(+)", "F(-)")
    grid, lo = _table_dict(found.table)
    expected = _by_hand("P 1 21 1", rows, anomalous=True)
    for hkl, F in expected.items():
        assert _lookup(grid, lo, hkl) == pytest.approx(F, rel=1e-6), hkl
    assert _lookup(grid, lo, (1, 2, 3)) != _lookup(grid, lo, (-1, -2, -3))


def test_mtz_intensities_become_amplitudes_by_the_stated_rule(tmp_path):
    path = tmp_path / "i.mtz"
    rows = [[1, 2, 3, 100.0, 2.0], [2, 0, 1, -4.0, 2.0]]
    _write_mtz(path, "P 1", [("IMEAN", "J"), ("SIGIMEAN", "Q")], rows)
    found = read_mtz(path)
    assert found.rule == "F = sqrt(max(I, 0))"
    grid, lo = _table_dict(found.table)
    assert _lookup(grid, lo, (1, 2, 3)) == pytest.approx(10.0)
    assert _lookup(grid, lo, (-1, -2, -3)) == pytest.approx(10.0)  # Friedel mate in P1
    assert _lookup(grid, lo, (2, 0, 1)) == 0.0  # a negative intensity gives F = 0


def test_mtz_errors_name_the_column(tmp_path):
    path = tmp_path / "e.mtz"
    _write_mtz(path, "P 1", [("FP", "F"), ("SIGFP", "Q"), ("PHIC", "P")], [[1, 2, 3, 5.0, 1.0, 30.0]])
    with pytest.raises(FormatError, match="no column labelled 'FOO'.*FP"):
        read_mtz(path, "FOO")
    with pytest.raises(FormatError, match="'PHIC' has MTZ type 'P', not an amplitude"):
        read_mtz(path, "PHIC")
    bad = tmp_path / "garbage.mtz"
    bad.write_bytes(b"not an mtz at all")
    with pytest.raises(FormatError, match="garbage.mtz"):
        read_mtz(bad)


def test_command_line_mtz_sets_table_and_cell(tmp_path):
    path = tmp_path / "c2.mtz"
    _write_mtz(path, "C 1 2 1", [("FP", "F")], [r[:4] for r in C2_ROWS])
    config = Config.from_args(["-mtz", str(path), "-mtz_column", "FP"])
    assert tuple(config.crystal.cell) == pytest.approx(CELL, abs=1e-4)
    grid, lo = _table_dict(config.structure_factors.table)
    assert _lookup(grid, lo, (-1, 1, -3)) == pytest.approx(10.0)  # 2-fold along b: (h k l) -> (-h k -l)
    # -cell wins over the file's cell
    config = Config.from_args(["-mtz", str(path), "-cell", "40", "40", "40", "90", "90", "90"])
    assert tuple(config.crystal.cell) == (40, 40, 40, 90, 90, 90)
    with pytest.raises(ConfigError, match="-mtz.*'SIGF'"):
        Config.from_args(["-mtz", str(path), "-mtz_column", "SIGF"])
    with pytest.raises(ConfigError, match="-hkl and -mtz"):
        hkl = tmp_path / "x.hkl"
        hkl.write_text("1 2 3 4\n")
        Config.from_args(["-mtz", str(path), "-hkl", str(hkl)])


# ---------------------------------------------------------------------------------------- models

ATOMS = [("C", 2.1, 3.3, 4.5, 12.0, 1.0), ("N", 5.5, 1.2, 9.9, 15.0, 1.0), ("O", 7.7, 8.8, 2.2, 20.0, 0.5),
         ("Fe", 10.1, 12.2, 14.3, 10.0, 1.0), ("S", 1.0, 20.0, 25.0, 30.0, 1.0)]
MODEL_CELL = (20.0, 24.0, 28.0, 90.0, 90.0, 90.0)
# gemmi's IT92Coef.calculate_sf (used by the reference sum) evaluates in single precision
# (relative error ~1e-7); nanobrag evaluates the same coefficients in double
RTOL = 1e-6


def _write_mmcif(path, space_group="P 21 21 21", cell=MODEL_CELL):
    st = gemmi.Structure()
    st.cell = gemmi.UnitCell(*cell)
    st.spacegroup_hm = space_group
    model = gemmi.Model("1")
    chain = gemmi.Chain("A")
    res = gemmi.Residue()
    res.name = "LIG"
    res.seqid = gemmi.SeqId(1, " ")
    for i, (el, x, y, z, b, occ) in enumerate(ATOMS):
        atom = gemmi.Atom()
        atom.name = f"{el}{i}"
        atom.element = gemmi.Element(el)
        atom.pos = gemmi.Position(x, y, z)
        atom.b_iso = b
        atom.occ = occ
        res.add_atom(atom)
    chain.add_residue(res)
    model.add_chain(chain)
    st.add_model(model)
    st.setup_entities()
    st.make_mmcif_document().write_file(str(path))


def _direct_F(hkl, space_group, cell, wavelength_A=None):
    """|F(hkl)| by a plain loop: every atom, every operator, IT92 f0 (+ f', f'') times exp(-B s^2)."""
    uc = gemmi.UnitCell(*cell)
    s2 = uc.calculate_1_d2(list(hkl)) / 4.0
    total = 0j
    for el, x, y, z, b, occ in ATOMS:
        element = gemmi.Element(el)
        f = element.it92.calculate_sf(s2)
        if wavelength_A is not None:
            fp, fpp = gemmi.cromer_liberman(z=element.atomic_number, energy=12398.42 / wavelength_A)
            f = complex(f + fp, fpp)
        frac = uc.fractionalize(gemmi.Position(x, y, z))
        for op in gemmi.SpaceGroup(space_group).operations():
            m = op.apply_to_xyz([frac.x, frac.y, frac.z])
            total += occ * f * math.exp(-b * s2) * cmath.exp(2j * math.pi * (hkl[0] * m[0] + hkl[1] * m[1] + hkl[2] * m[2]))
    return abs(total)


@pytest.mark.parametrize("space_group", ["P 21 21 21", "C 2 2 21"])
def test_model_F_equals_a_direct_structure_factor_sum(tmp_path, space_group):
    path = tmp_path / "m.cif"
    _write_mmcif(path, space_group)
    model = read_model(path)
    assert model.space_group == space_group and len(model.elements) == len(ATOMS)
    found = model_structure_factors(path, d_min_A=4.0)
    grid, lo = _table_dict(found.table)
    hkls = [(1, 2, 3), (-1, 2, 3), (3, -1, 2), (2, 2, 5), (-4, 1, -3), (1, 1, 1), (0, 2, 1)]
    for hkl in hkls:
        assert _lookup(grid, lo, hkl) == pytest.approx(_direct_F(hkl, space_group, MODEL_CELL), rel=RTOL, abs=1e-6)
    assert _lookup(grid, lo, (0, 0, 0)) == 0.0  # F(000) is left out (no direct beam)
    # nothing beyond d_min
    assert _lookup(grid, lo, (4, 0, 0)) == pytest.approx(_direct_F((4, 0, 0), space_group, MODEL_CELL), rel=RTOL)
    assert found.table.hkl_max[0] == 5  # a/d_min = 20/4


def test_model_anomalous_F_plus_and_minus_differ_as_the_sum_says(tmp_path):
    path = tmp_path / "m.cif"
    _write_mmcif(path, "P 21 21 21")
    found = model_structure_factors(path, d_min_A=5.0, wavelength_A=1.74, anomalous=True)
    grid, lo = _table_dict(found.table)
    for hkl in [(1, 2, 3), (-1, -2, -3), (1, -2, 3), (2, 1, -2)]:
        assert _lookup(grid, lo, hkl) == pytest.approx(_direct_F(hkl, "P 21 21 21", MODEL_CELL, 1.74), rel=RTOL)
    assert abs(_lookup(grid, lo, (1, 2, 3)) - _lookup(grid, lo, (-1, -2, -3))) > 1e-3


def test_model_bulk_solvent_scales_by_babinet(tmp_path):
    path = tmp_path / "m.cif"
    _write_mmcif(path, "P 21 21 21")
    plain = model_structure_factors(path, d_min_A=5.0)
    solvent = model_structure_factors(path, d_min_A=5.0, bulk_solvent=(0.75, 200.0))
    g0, lo = _table_dict(plain.table)
    g1, _ = _table_dict(solvent.table)
    hkl = (1, 2, 3)
    s2 = gemmi.UnitCell(*MODEL_CELL).calculate_1_d2(list(hkl)) / 4.0
    assert _lookup(g1, lo, hkl) == pytest.approx(_lookup(g0, lo, hkl) * (1 - 0.75 * math.exp(-200 * s2)), rel=1e-12)


def test_command_line_pdb_uses_the_model_cell_and_the_detector_resolution(tmp_path):
    from nanobrag.derived import detector_d_min_A

    path = tmp_path / "m.cif"
    _write_mmcif(path, "P 21 21 21")
    args = ["-pdb", str(path), "-detpixels", "40", "-pixel", "0.2", "-distance", "60", "-lambda", "1.2"]
    config = Config.from_args(args)
    assert tuple(config.crystal.cell) == pytest.approx(MODEL_CELL)
    d_min = detector_d_min_A(config)
    # an untilted detector: 2 theta = atan(r / distance), r the farthest corner from the direct-beam spot
    from nanobrag.derived import run_geometry

    g = run_geometry(config)
    fb, sb = g.fbeam_m * 1e3, g.sbeam_m * 1e3
    r = max(math.hypot(f - fb, s - sb) for f in (0.0, 8.0) for s in (0.0, 8.0))
    assert d_min == pytest.approx(1.2 / (2 * math.sin(math.atan(r / 60) / 2)), rel=1e-9)
    table = config.structure_factors.table
    # every reflection the detector can reach is in the table (with one lattice step to spare)
    assert table.hkl_max[0] >= math.floor(MODEL_CELL[0] / d_min)
    with pytest.raises(ConfigError, match="-pdb_anomalous qualifies -pdb"):
        Config.from_args(["-cell", "10", "-default_F", "1", "-pdb_anomalous"])
    bad = tmp_path / "bad.cif"
    bad.write_text("data_x\n_cell.length_a 10\n")
    with pytest.raises(ConfigError, match="-pdb"):
        Config.from_args(["-pdb", str(bad)])


def test_pdb_table_renders_the_same_image_with_both_engines(tmp_path):
    """One table, computed once in Python, for both engines (the project criterion: relative 1e-6 per pixel)."""
    from nanobrag import api

    path = tmp_path / "m.cif"
    _write_mmcif(path, "P 21 21 21")
    config = Config.from_args(["-pdb", str(path), "-detpixels", "12", "-pixel", "0.5", "-distance", "40",
                               "-N", "4", "-lambda", "1.2", "-misset", "10", "20", "30", "-oversample", "1"])
    config.phi_mode = "c-parity"
    c_image = api.simulate(config, engine="c", nthreads=1).float_image.astype(np.float64)
    t_image = api.simulate(config, engine="torch").float_image.astype(np.float64)
    assert c_image.max() > 0
    np.testing.assert_allclose(t_image, c_image, rtol=1e-6, atol=1e-30)
