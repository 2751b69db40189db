"""The torch engine against the C engine (the project's oracle), in memory.

nanobrag.parity.compare runs both engines on one Config and compares the
derived geometry, the per-step trace of a few pixels and the whole image
(tolerances: nanobrag.parity DEFAULT_TOLERANCES).  The configurations
target the legacy order-dependent state the torch engine must reproduce
without a pixel loop: the phi = 0 carry-over (first pixel after ROI, mask
and dmin culling; a mid-sweep exact zero) and the tricubic switch-off, each
with batches much smaller than the image so the state crosses batches.
"""
import sys

import numpy as np
import pytest

import nanobrag
from nanobrag import (
    BeamConfig,
    Config,
    CrystalConfig,
    DetectorConfig,
    SamplingConfig,
    StructureFactorConfig,
    StructureFactorTable,
)
from nanobrag.parity import compare


def small(**sampling) -> Config:
    s = dict(phi_start_deg=0.0, osc_deg=0.3, phi_steps=3, oversample=2)
    s.update(sampling)
    return Config(
        crystal=CrystalConfig(cell=(70, 80, 90, 90, 90, 90), misset_deg=(10, 20, 30), n_cells=(6, 6, 6)),
        structure_factors=StructureFactorConfig(default_F=100.0),
        beam=BeamConfig(wavelength_A=1.0),
        detector=DetectorConfig(distance_mm=60.0, pixel_size_mm=0.4, detpixels=(24, 20)),
        sampling=SamplingConfig(**s),
    )


def assert_parity(cfg, phi_mode, pixels=None, dtype="float64"):
    report = compare(cfg, pixels=pixels, phi_mode=phi_mode, dtype=dtype)
    assert report.ok, report.format_table()
    return report


@pytest.mark.parametrize("phi_mode", ["c-parity", "spec"])
def test_carry_over_starts_at_the_first_pixel(phi_mode):
    assert_parity(small(), phi_mode, pixels=[(0, 0), (0, 1), (10, 12)])


@pytest.mark.parametrize("phi_mode", ["c-parity", "spec"])
def test_carry_over_first_pixel_is_the_first_roi_pixel(phi_mode):
    cfg = small()
    cfg.detector.roi = (5, 17, 3, 14)  # fast_min, fast_max, slow_min, slow_max
    assert_parity(cfg, phi_mode, pixels=[(3, 5), (3, 6), (9, 9)])


@pytest.mark.parametrize("phi_mode", ["c-parity", "spec"])
def test_carry_over_first_pixel_skips_masked_pixels(phi_mode):
    cfg = small()
    mask = np.ones((20, 24), dtype=np.uint16)
    mask[0, :] = 0
    mask[1, :7] = 0
    cfg.detector.mask = mask
    assert_parity(cfg, phi_mode, pixels=[(1, 7), (1, 8), (0, 3)])


@pytest.mark.parametrize("phi_mode", ["c-parity", "spec"])
def test_carry_over_first_path_survives_the_dmin_cut(phi_mode):
    """The corner pixels are beyond dmin: the first executed phi loop is further into the image."""
    cfg = small(dmin_A=7.0)
    cfg.detector.detpixels = (40, 40)
    report = compare(cfg, phi_mode=phi_mode)
    assert report.ok, report.format_table()
    rc = nanobrag.simulate(cfg, engine="torch")
    assert rc.float_image[0, 0] == 0.0 and rc.float_image[20, 20] > 0.0  # the cut does remove early pixels


@pytest.mark.parametrize("phi_mode", ["c-parity", "spec"])
def test_mid_sweep_exact_zero(phi_mode):
    cfg = small(phi_start_deg=-0.2, phi_step_deg=0.1, osc_deg=0.5, phi_steps=5)
    assert_parity(cfg, phi_mode, pixels=[(0, 0), (4, 4), (15, 20)])


@pytest.mark.parametrize("phi_mode", ["c-parity", "spec"])
def test_state_crosses_small_batches(phi_mode, monkeypatch):
    """Batches of 7 pixels: the first-path and switch-off state must cross batch boundaries."""
    real = nanobrag.simulate

    def batched(cfg, engine=None, **kw):
        if engine == "torch":
            kw.setdefault("batch_pixels", 7)
        return real(cfg, engine=engine, **kw)

    monkeypatch.setattr(sys.modules["nanobrag.parity.compare"], "simulate", batched)
    cfg = small(dmin_A=7.0)
    cfg.detector.detpixels = (40, 40)
    assert_parity(cfg, phi_mode)
    rng = np.random.default_rng(3)
    interp = small(oversample=1)
    interp.crystal.n_cells = (2, 2, 2)
    interp.structure_factors = StructureFactorConfig(
        table=StructureFactorTable((-4, -4, -4), 10 + 90 * rng.random((9, 9, 9))), interpolate=True
    )
    assert_parity(interp, phi_mode)
    res = nanobrag.simulate(interp, engine="torch", batch_pixels=7)
    assert res.interpolation_switchoff_pixel is not None  # the switch-off does happen inside the image
    assert res.interpolation_switchoff_pixel == nanobrag.simulate(interp, engine="c").interpolation_switchoff_pixel


@pytest.mark.parametrize("phi_mode", ["c-parity", "spec"])
def test_float32_parity_report(phi_mode):
    assert_parity(small(), phi_mode, dtype="float32")
