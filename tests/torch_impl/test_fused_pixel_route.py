"""The fused kernel's pixel route (scattering vectors formed in the kernel, one lane per pixel)
against its path route (vectors from torch_impl.paths, one lane per path): the same images bit
for bit, float64 and float32, because the kernel forms q with the same elementwise IEEE
operations in the same order and sums a pixel's paths in the same order.  Also which runs
take the pixel route."""
import dataclasses

import numpy as np
import pytest
import torch

import nanobrag
from nanobrag.torch_impl import fused
from nanobrag.torch_impl import render as render_mod

from test_torch_gradients import base_config

needs_fused = pytest.mark.skipif(fused.module() is None, reason=f"nanobrag._fused unavailable: {fused.unavailable_reason()}")


def _variant(name: str):
    cfg = base_config("c-parity", phi_start=0.0)  # phi starts at 0: the legacy first-loop table exists
    det, beam, smp = cfg.detector, cfg.beam, cfg.sampling
    if name == "base":
        pass
    elif name == "spec_mode":
        cfg = base_config("spec", phi_start=2.0)
    elif name == "oversample3_layers":
        cfg = dataclasses.replace(
            cfg,
            sampling=dataclasses.replace(smp, oversample=3),
            detector=dataclasses.replace(det, thickness_um=300.0, thicksteps=3),
        )
    elif name == "kahn_roi":
        cfg = dataclasses.replace(
            cfg,
            beam=dataclasses.replace(beam, kahn_factor=0.9),
            detector=dataclasses.replace(det, roi=(1, 4, 0, 3)),
        )
    elif name == "nopolar_point_pixel_default_F":
        cfg = dataclasses.replace(
            cfg,
            beam=dataclasses.replace(beam, nopolar=True),
            detector=dataclasses.replace(det, point_pixel=True),
            structure_factors=dataclasses.replace(cfg.structure_factors, table=None, default_F=70.0),
        )
    elif name == "mask":
        mask = np.ones((5, 6), dtype=bool)
        mask[0, 0] = False  # the first pixel masked: the first rendered pixel is another
        mask[2, 3] = False
        cfg = dataclasses.replace(cfg, detector=dataclasses.replace(det, mask=mask))
    else:
        raise KeyError(name)
    return cfg


VARIANTS = ["base", "spec_mode", "oversample3_layers", "kahn_roi", "nopolar_point_pixel_default_F", "mask"]


def _image(cfg, dtype, pixel_route, monkeypatch, batch_pixels=None):
    monkeypatch.setattr(render_mod, "PIXEL_ROUTE", pixel_route)
    kw = {} if batch_pixels is None else {"batch_pixels": batch_pixels}
    res = nanobrag.simulate(cfg, engine="torch", dtype=dtype, kernel="fused", **kw)
    return res.float_image.copy(), res


@needs_fused
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", VARIANTS)
def test_pixel_route_equals_path_route(name, dtype, monkeypatch):
    cfg = _variant(name)
    ours, res = _image(cfg, dtype, True, monkeypatch, batch_pixels=7)  # several batches, a ragged last one
    theirs, _ = _image(cfg, dtype, False, monkeypatch)
    assert np.isfinite(ours).all() and ours.max() > 0
    assert np.array_equal(ours, theirs)


@needs_fused
def test_which_runs_take_the_pixel_route(monkeypatch):
    from nanobrag.torch_impl.context import resolve_context
    from nanobrag.torch_impl.plan import build_plan
    from nanobrag.torch_impl.render import BatchRenderer, RenderOptions

    def route(cfg, **opts):
        plan = build_plan(resolve_context("cpu", "float64"), cfg)
        return BatchRenderer(plan, RenderOptions(**opts)).pixel_route

    cfg = _variant("base")
    assert route(cfg)
    assert not route(cfg, kernel="torch")
    assert not route(dataclasses.replace(cfg, detector=dataclasses.replace(cfg.detector, curved=True)))
    assert not route(dataclasses.replace(cfg, sampling=dataclasses.replace(cfg.sampling, dmin_A=2.0)))
    assert not route(dataclasses.replace(cfg, sampling=dataclasses.replace(cfg.sampling, oversample_omega=True)))
    n = torch.tensor([3.0, 4.0, 3.0], dtype=torch.float64, requires_grad=True)
    assert route(dataclasses.replace(cfg, crystal=dataclasses.replace(cfg.crystal, n_cells=n)))  # gradients too


def _gradients(cfg, dtype, pixel_route, monkeypatch):
    """d(sum of image * weights)/d(every parameter below), one run."""
    monkeypatch.setattr(render_mod, "PIXEL_ROUTE", pixel_route)
    T = lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True)  # noqa: E731
    # (float32 runs take the fused kernel with integer N only: no N gradient there)
    n = T([3.3, 4.1, 2.7]) if dtype == "float64" else torch.tensor(list(cfg.crystal.n_cells), dtype=torch.float64)
    params = dict(cell=T(list(cfg.crystal.cell)), misset=T(list(cfg.crystal.misset_deg)), n=n,
                  distance=T(cfg.detector.distance_mm), beam=T([cfg.detector.xbeam_mm, cfg.detector.ybeam_mm]),
                  pixel=T(cfg.detector.pixel_size_mm), rot=T(list(cfg.detector.rot_deg)), wavelength=T(cfg.beam.wavelength_A))
    c = dataclasses.replace(
        cfg,
        crystal=dataclasses.replace(cfg.crystal, cell=params["cell"], misset_deg=params["misset"], n_cells=params["n"]),
        detector=dataclasses.replace(cfg.detector, distance_mm=params["distance"], xbeam_mm=params["beam"][0],
                                     ybeam_mm=params["beam"][1], pixel_size_mm=params["pixel"], rot_deg=params["rot"]),
        beam=dataclasses.replace(cfg.beam, wavelength_A=params["wavelength"]),
    )
    image = nanobrag.simulate(c, engine="torch", dtype=dtype, kernel="fused").image
    weights = torch.linspace(0.5, 1.5, image.numel(), dtype=image.dtype).reshape(image.shape)
    (image * weights).sum().backward()
    return {k: v.grad.clone() for k, v in params.items() if v.requires_grad}


@needs_fused
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["base", "oversample3_layers", "kahn_roi", "mask"])
def test_pixel_route_gradients_equal_path_route(name, dtype, monkeypatch):
    """The kernel's own backward through the geometry against torch autograd through paths.py:
    float64 within 1e-9 relative (the two sum the same terms in other orders; measured ~1e-13),
    float32 within 1e-3 of each gradient's largest component."""
    cfg = _variant(name)
    ours = _gradients(cfg, dtype, True, monkeypatch)
    theirs = _gradients(cfg, dtype, False, monkeypatch)
    for k in ours:
        a, b = ours[k].double(), theirs[k].double()
        assert torch.isfinite(a).all() and b.abs().max() > 0, k
        if dtype == "float64":
            assert float(((a - b).abs() / b.abs().clamp_min(1e-12 * float(b.abs().max()))).max()) <= 1e-9, k
        else:
            assert float((a - b).abs().max()) <= 1e-3 * float(b.abs().max()), k


@needs_fused
def test_pixel_kernel_refuses_malformed_buffers():
    mod = fused.module()
    cells = np.zeros((2, 3, 3))
    geom = dict(fpixels=4, oversample=1, layers=1, subpixel_m=1e-4, thickstep_m=0.0, I_bg=0.0,
                fdet=(0, 0, 1), sdet=(0, -1, 0), odet=(1, 0, 0), pix0=(0.1, 0, 0))
    with pytest.raises(ValueError, match="wavelength"):
        mod.pixels_f64(cells, (1.0, 1.0, 1.0), 1.0, None, (0, 0, 0), (0, 0, 0), np.arange(3), geom,
                       np.zeros((2, 3)), np.ones(3), 1)
    with pytest.raises(ValueError, match="oversample"):
        mod.pixels_f64(cells, (1.0, 1.0, 1.0), 1.0, None, (0, 0, 0), (0, 0, 0), np.arange(3), dict(geom, oversample=0),
                       np.zeros((1, 3)), np.ones(1), 1)


@needs_fused
def test_reused_pixel_factors_change_nothing(monkeypatch):
    """reuse_pixel_factors (dataset chunks): a second run with the same detector and beam takes
    the kept factors and gives the same image bit for bit; another crystal orientation reuses
    them too; another distance computes afresh (and equals an uncached run)."""
    from nanobrag.torch_impl.paths import reuse_pixel_factors

    cfg = _variant("oversample3_layers")
    turned = dataclasses.replace(cfg, crystal=dataclasses.replace(cfg.crystal, misset_deg=(40.0, 5.0, -12.0)))
    moved = dataclasses.replace(cfg, detector=dataclasses.replace(cfg.detector, distance_mm=75.0))
    plain = {name: _image(c, "float64", True, monkeypatch)[0] for name, c in
             (("cfg", cfg), ("turned", turned), ("moved", moved))}
    with reuse_pixel_factors() as cache:
        first = _image(cfg, "float64", True, monkeypatch)[0]
        assert cache.hits == 0
        again = _image(turned, "float64", True, monkeypatch)[0]
        hits = cache.hits
        assert hits > 0
        other = _image(moved, "float64", True, monkeypatch)[0]
        assert cache.hits == hits  # a new distance: no reuse
    assert np.array_equal(first, plain["cfg"])
    assert np.array_equal(again, plain["turned"])
    assert np.array_equal(other, plain["moved"])
