"""Gradients of the torch engine's image reach the user-level Config parameters.

torch.autograd.gradcheck (float64, a 6 x 5 detector, several phi steps, two
mosaic domains, two wavelengths) compares the analytic Jacobian with finite
differences for each parameter family of the issue, in both phi modes.

In c-parity mode the sweep starts at phi = 0 exactly, so the carry-over is
active and gradients must flow through the carried vectors -- except for the
phi start itself: moving it off zero by the finite-difference step removes
the exact zero and with it the carry-over (the image jumps), so phi start is
checked in c-parity on a sweep without an exact zero (where the modes agree).
"""
import copy

import numpy as np
import pytest
import torch
from torch.autograd import gradcheck

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
from nanobrag.config import DEFAULT_FLUENCE

F64 = torch.float64


def base_config(phi_mode: str, phi_start: float = 0.0) -> Config:
    """Small, fast, non-trivial: spots near several pixels, 3 phi steps, 2 domains, 2 wavelengths."""
    rng = np.random.default_rng(7)
    table = StructureFactorTable((-6, -6, -6), 50.0 + 100.0 * rng.random((13, 13, 13)))
    return Config(
        crystal=CrystalConfig(
            cell=(31.0, 34.0, 29.0, 88.0, 93.0, 95.0),
            misset_deg=(11.0, -7.0, 23.0),
            n_cells=(3.0, 4.0, 3.0),
            mosaic_spread_deg=0.4,
            mosaic_domains=2,
            mosaic_seed=4242,
        ),
        structure_factors=StructureFactorConfig(table=table, default_F=40.0, interpolate=False),
        beam=BeamConfig(wavelength_A=1.3, dispersion_percent=0.4, dispersion_steps=2),
        detector=DetectorConfig(
            distance_mm=60.0, pixel_size_mm=1.5, detpixels=(6, 5), xbeam_mm=3.1, ybeam_mm=4.2,
            rot_deg=(1.0, -2.0, 3.0), twotheta_deg=4.0,
        ),
        sampling=SamplingConfig(phi_start_deg=phi_start, osc_deg=1.5, phi_steps=3, oversample=1),
        phi_mode=phi_mode,
    )


def image_of(cfg: Config) -> torch.Tensor:
    return nanobrag.simulate(cfg, engine="torch", dtype="float64").image


def _leaf(values) -> torch.Tensor:
    return torch.tensor(values, dtype=F64, requires_grad=True)


# (name, initial values, function putting the tensor into a Config copy)
PARAMETERS = [
    ("cell", [31.0, 34.0, 29.0, 88.0, 93.0, 95.0], lambda c, t: setattr(c.crystal, "cell", t)),
    ("misset_deg", [11.0, -7.0, 23.0], lambda c, t: setattr(c.crystal, "misset_deg", t)),
    ("osc_deg", [1.5], lambda c, t: setattr(c.sampling, "osc_deg", t[0])),
    ("distance_mm", [60.0], lambda c, t: setattr(c.detector, "distance_mm", t[0])),
    ("beam_centre_mm", [3.1, 4.2], lambda c, t: (setattr(c.detector, "xbeam_mm", t[0]), setattr(c.detector, "ybeam_mm", t[1]))),
    ("detector_rot_deg", [1.0, -2.0, 3.0], lambda c, t: setattr(c.detector, "rot_deg", t)),
    ("twotheta_deg", [4.0], lambda c, t: setattr(c.detector, "twotheta_deg", t[0])),
    ("wavelength_A", [1.3], lambda c, t: setattr(c.beam, "wavelength_A", t[0])),
    ("n_cells_real", [3.3, 4.1, 2.7], lambda c, t: setattr(c.crystal, "n_cells", t)),
    ("mosaic_spread_deg", [0.4], lambda c, t: setattr(c.crystal, "mosaic_spread_deg", t[0])),
    ("fluence_scale", [1.0], lambda c, t: setattr(c.beam, "fluence_photons_per_m2", t[0] * DEFAULT_FLUENCE)),
]


@pytest.mark.parametrize("phi_mode", ["spec", "c-parity"])
@pytest.mark.parametrize("name,values,put", PARAMETERS, ids=[p[0] for p in PARAMETERS])
def test_gradcheck_config_parameter(phi_mode, name, values, put):
    cfg = base_config(phi_mode)

    def fn(t):
        c = copy.copy(cfg)
        c.crystal, c.detector, c.beam, c.sampling = (copy.copy(x) for x in (cfg.crystal, cfg.detector, cfg.beam, cfg.sampling))
        put(c, t)
        return image_of(c)

    t = _leaf(values)
    out = fn(t)
    assert out.requires_grad
    assert float(out.detach().abs().max()) > 0
    assert gradcheck(fn, (t,), eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("phi_mode", ["spec", "c-parity"])
def test_gradcheck_phi_start(phi_mode):
    cfg = base_config(phi_mode, phi_start=2.0)

    def fn(t):
        c = copy.copy(cfg)
        c.sampling = copy.copy(cfg.sampling)
        c.sampling.phi_start_deg = t[0]
        return image_of(c)

    assert gradcheck(fn, (_leaf([2.0]),), eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("phi_mode", ["spec", "c-parity"])
@pytest.mark.parametrize("interpolate", [False, True])
def test_gradcheck_structure_factor_table(phi_mode, interpolate):
    cfg = base_config(phi_mode)
    if interpolate:
        cfg.crystal.n_cells = (1.0, 2.0, 1.0)
    cfg.structure_factors.interpolate = interpolate
    table = cfg.structure_factors.table

    def fn(amps):
        c = copy.copy(cfg)
        c.structure_factors = copy.copy(cfg.structure_factors)
        c.structure_factors.table = StructureFactorTable(table.hkl_min, amps)
        return image_of(c)

    amps = torch.tensor(table.as_numpy(), dtype=F64, requires_grad=True)
    # the Jacobian is sparse (few reflections per pixel): check it through a random projection
    out = fn(amps)
    out.sum().backward()
    assert float(amps.grad.abs().sum()) > 0
    amps.grad = None
    assert gradcheck(fn, (amps,), eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)


def test_carry_over_gradient_flows_through_carried_vectors():
    """c-parity at phi = 0: d(image)/d(osc) picks up the carried last-step rotation."""
    spec_cfg, parity_cfg = base_config("spec"), base_config("c-parity")
    grads = {}
    for label, cfg in (("spec", spec_cfg), ("c-parity", parity_cfg)):
        osc = _leaf(1.5)
        cfg.sampling.osc_deg = osc
        image_of(cfg).sum().backward()
        grads[label] = float(osc.grad)
    # the first step sees the last step's orientation in c-parity: a different derivative
    assert grads["spec"] != pytest.approx(grads["c-parity"], rel=1e-6)


def test_checkpointed_batches_give_the_same_gradient():
    cfg = base_config("c-parity")
    grads = []
    for options in ({"checkpoint": False}, {"checkpoint": True, "batch_pixels": 4}):
        cell = _leaf([31.0, 34.0, 29.0, 88.0, 93.0, 95.0])
        cfg.crystal.cell = cell
        img = nanobrag.simulate(cfg, engine="torch", dtype="float64", **options).image
        (img * img).sum().backward()
        grads.append(cell.grad.clone())
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-12, atol=0)
