"""The amorphous background (Config.amorphous): both engines, with and without a crystal.

Small detectors keep these fast.  Tolerances: the two engines evaluate the
same double-precision formulas; the C engine follows the legacy operation
order (in-place re-normalisation of the diffracted direction and E-vector),
the torch engine vectorizes, so their float32 images differ by at most one
float32 rounding (6e-8): 1e-6 relative leaves room for the sums of the
Bragg part (the torch Bragg parity bound of the project is the same).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import nanobrag
from nanobrag.config import AmorphousSample, Config, ConfigError
from nanobrag.io import read_stol_table
from nanobrag.tables import AmorphousTable, SourceTable

from nonbragg_golden import SUITE_DIR

PARITY_RTOL = 1e-6
AVOGADRO = 6.02214179e23  # the legacy constant


def _table() -> AmorphousTable:
    return read_stol_table(SUITE_DIR / "nb_basic_flux_noise" / "a.stol")


def _background_config(**detector) -> Config:
    cfg = Config()
    cfg.detector.convention = "CUSTOM"
    cfg.detector.detpixels = (12, 10)
    cfg.detector.pixel_size_mm = 1.5
    cfg.detector.distance_mm = 30.0
    cfg.beam.fluence_photons_per_m2 = 1e20
    for k, v in detector.items():
        setattr(cfg.detector, k, v)
    cfg.amorphous = AmorphousSample(table=_table())
    return cfg


def _with_crystal(cfg: Config) -> Config:
    cfg = cfg.copy()
    cfg.crystal.cell = (30, 30, 30, 90, 90, 90)
    cfg.crystal.n_cells = (3, 3, 3)
    cfg.crystal.misset_deg = (10, 20, 30)
    cfg.structure_factors.default_F = 100.0
    cfg.sampling.oversample = 2
    return cfg


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-30)))


VARIANTS = {
    "plain": {},
    "kahn_rotated_oversampled": {"rot_deg": (3.0, -5.0, 10.0)},
    "sensor_thickness": {"thickness_um": 300.0, "thicksteps": 3},
    "curved_point_pixel": {"curved": True, "point_pixel": True},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_engines_agree_background_only(variant):
    cfg = _background_config(**VARIANTS[variant])
    if variant == "kahn_rotated_oversampled":
        cfg.beam.kahn_factor = 0.9
        cfg.sampling.oversample = 2
    c = nanobrag.simulate(cfg, engine="c")
    t = nanobrag.simulate(cfg, engine="torch")
    assert c.float_image.shape == (10, 12)
    assert np.all(c.float_image > 0)
    assert _rel(t.float_image, c.float_image) <= PARITY_RTOL
    assert t.geometry.amorphous_molecules == pytest.approx(c.geometry.amorphous_molecules, rel=1e-15)


def test_engines_agree_with_crystal_sources_mask_and_roi():
    cfg = _with_crystal(_background_config())
    rows = np.array([[-10.0, 0.0, 0.0, 1.0, 1e-10], [-10.0, 0.05, 0.0, 2.5, 1.02e-10], [-10.0, 0.0, -0.04, 0.5, np.nan]])
    cfg.beam.sources = SourceTable(rows)
    mask = np.ones((10, 12), np.uint16)
    mask[3, 4] = 0
    cfg.detector.mask = mask
    cfg.detector.roi = (1, 10, 0, 8)
    c = nanobrag.simulate(cfg, engine="c")
    t = nanobrag.simulate(cfg, engine="torch")
    assert _rel(t.float_image, c.float_image) <= PARITY_RTOL
    assert c.float_image[3, 4] == 0.0 and c.float_image[9, 5] == 0.0 and c.float_image[2, 0] == 0.0


@pytest.mark.parametrize("engine", ["c", "torch"])
def test_background_adds_to_the_bragg_image(engine):
    """One run with crystal and sample = crystal alone + sample alone (same detector, sources, sampling)."""
    background = _background_config()
    background.sampling.oversample = 2
    background.amorphous.molecules = 3e4  # a background as bright as this small crystal's spots
    both = _with_crystal(background)
    bragg = both.copy()
    bragg.amorphous = None
    img_both = nanobrag.simulate(both, engine=engine).float_image.astype(np.float64)
    img_bragg = nanobrag.simulate(bragg, engine=engine).float_image.astype(np.float64)
    img_bg = nanobrag.simulate(background, engine=engine).float_image.astype(np.float64)
    assert np.all(img_bg > 0) and np.max(img_bragg) > np.max(img_bg) > 0.01 * np.max(img_bragg)
    # float32 rounding of each of the three images: 3 half-ulps of the largest term
    assert np.allclose(img_both, img_bragg + img_bg, rtol=2e-7, atol=0)


def test_molecules_from_the_sample_block_clipped_by_the_beam():
    cfg = _background_config()
    cfg.beam.beamsize_mm = 0.05
    cfg.amorphous = AmorphousSample(table=_table(), thickness_mm=0.02, width_mm=0.08, height_mm=0.03,
                                    density_g_cm3=0.92, molecular_weight_g_mol=18.02)
    g = nanobrag.simulate(cfg, engine="c")
    expected = (0.02e-3 * 0.05e-3 * 0.03e-3) * 0.92e6 * AVOGADRO / 18.02  # width clipped to the 0.05 mm beam
    assert g.geometry.amorphous_molecules == pytest.approx(expected, rel=1e-14)
    assert any("clipping amorphous sample" in w for w in g.warnings)
    # molecules given: they replace the density
    cfg.amorphous.molecules = 1e15
    assert nanobrag.simulate(cfg, engine="c").geometry.amorphous_molecules == pytest.approx(1e15, rel=1e-14)


def test_image_scales_with_the_molecules():
    cfg = _background_config()
    one = nanobrag.simulate(cfg, engine="c").float_image.astype(np.float64)
    cfg.amorphous.density_g_cm3 = 2.0
    two = nanobrag.simulate(cfg, engine="c").float_image.astype(np.float64)
    assert np.allclose(two, 2 * one, rtol=2e-7)


def test_negative_F_gives_negative_intensity():
    base = _table()
    cfg = _background_config()
    cfg.amorphous = AmorphousSample(table=AmorphousTable(stol_per_A=base.stol_per_A, F=-base.F))
    neg = nanobrag.simulate(cfg, engine="c").float_image
    pos = nanobrag.simulate(_background_config(), engine="c").float_image
    assert np.array_equal(neg, -pos)
    assert _rel(nanobrag.simulate(cfg, engine="torch").float_image, neg) <= PARITY_RTOL


def test_table_must_ascend():
    cfg = _background_config()
    cfg.amorphous = AmorphousSample(table=AmorphousTable(stol_per_A=np.array([0.0, 0.2, 0.1, 0.3]), F=np.ones(4)))
    with pytest.raises(ConfigError, match="increase strictly"):
        cfg.validate()


def test_no_crystal_and_no_sample_is_an_error():
    cfg = _background_config()
    cfg.amorphous = None
    with pytest.raises(ConfigError, match="unit cell"):
        cfg.validate()


def test_gradcheck_density_and_thickness():
    """d(image)/d(density) and d(image)/d(thickness) of the torch engine against finite differences."""
    cfg = _background_config()
    cfg.detector.detpixels = (3, 2)

    def image(density, thickness):
        c = cfg.copy()
        c.amorphous.density_g_cm3 = density
        c.amorphous.thickness_mm = thickness
        # photons are ~1e2 here; scale to O(1) so gradcheck's absolute tolerance is meaningful
        return nanobrag.simulate(c, engine="torch").image / 100.0

    density = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    thickness = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(image, (density, thickness), eps=1e-6, atol=1e-8, rtol=1e-6)


def test_gradient_with_a_crystal_reaches_the_background():
    cfg = _with_crystal(_background_config())
    cfg.detector.detpixels = (4, 4)
    density = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    cfg.amorphous.density_g_cm3 = density
    result = nanobrag.simulate(cfg, engine="torch")
    result.image.sum().backward()
    cfg2 = cfg.copy()
    cfg2.amorphous.density_g_cm3 = 1.0
    cfg2.crystal.cell = None
    bg = nanobrag.simulate(cfg2, engine="torch").image.sum().item()
    # the image is linear in the density: the gradient is the background itself
    assert density.grad.item() == pytest.approx(bg, rel=1e-12)


def test_c_background_does_not_depend_on_the_thread_count():
    cfg = _with_crystal(_background_config(rot_deg=(2.0, 0.0, 0.0)))
    cfg.beam.kahn_factor = 0.5
    from nanobrag.c_engine import engine as c_engine

    one = c_engine.simulate(cfg, nthreads=1).float_image
    three = c_engine.simulate(cfg, nthreads=3).float_image
    assert np.array_equal(one, three)


@pytest.mark.parametrize("engine", ["c", "torch"])
def test_trace_of_a_background_only_config_is_refused(engine):
    with pytest.raises(ConfigError, match="no crystal"):
        nanobrag.trace(_background_config(), [(0, 0)], engine=engine)


def test_c_library_refuses_a_background_only_trace():
    from nanobrag.c_engine import engine as c_engine
    from nanobrag.c_engine.engine import CEngineError

    with pytest.raises(CEngineError):
        c_engine.trace(_background_config(), [(0, 0)])


@pytest.mark.parametrize("engine", ["c", "torch"])
def test_molecules_in_a_zero_volume_is_an_error_not_a_nan_image(engine):
    cfg = _background_config()
    cfg.amorphous.thickness_mm = 0.0
    cfg.amorphous.molecules = 1e15
    with pytest.raises(ConfigError, match="not a finite count"):
        nanobrag.simulate(cfg, engine=engine)
