"""The built-in example crystal and the -example option."""
import numpy as np

from nanobrag.examples import EXAMPLE_CELL, example_config, example_structure_factors
from nanobrag.legacy_flags import parse_args


def test_example_structure_factors_obey_friedel_and_f000():
    table = example_structure_factors(n_atoms=50, d_min_A=6.0)
    amps = table.amplitudes
    h0, k0, l0 = (-m for m in table.hkl_min)
    # P1 amplitudes of real atoms: |F(h)| = |F(-h)| (Friedel's law), exact up to rounding
    assert np.allclose(amps, amps[::-1, ::-1, ::-1], rtol=1e-12, atol=1e-9)
    # F(000) (the electron count) is left out: a beamstop hides it; its neighbours are not empty
    assert amps[h0, k0, l0] == 0.0
    assert amps[h0 + 1, k0, l0] > 0.0
    # reflections beyond d_min are empty
    a, b, c = EXAMPLE_CELL[:3]
    hmax = -table.hkl_min[0]
    assert amps[0, k0, l0] == 0.0 or (hmax / a) ** 2 <= 1 / 6.0**2


def test_example_option_starts_from_the_example_and_later_flags_override(tmp_path):
    (tmp_path / "Fdump.bin").write_bytes(b"not a cache")  # must not be read with -example
    config, info = parse_args(["-example", "-detpixels", "64", "-N", "3"], cwd=str(tmp_path))
    assert info.example
    assert tuple(config.crystal.cell) == EXAMPLE_CELL
    assert tuple(config.detector.detpixels) == (64, 64)
    assert tuple(config.crystal.n_cells) == (3, 3, 3)
    assert config.structure_factors.table.source == "built-in example"
    assert example_config().detector.detpixels == (512, 512)
