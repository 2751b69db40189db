"""Phi modes, batching, ROI and device independence of the torch engine.

* spec and c-parity differ only where the carry-over applies: a sweep without
  an exact-zero angle gives bit-identical images; with one, the traces differ
  only at the zero step, where c-parity shows the carried orientation.
* results do not depend on the batch size, on rendering through an ROI, or
  on the device (CUDA cases skip without a GPU).
* the c-parity cache is built once per detector size / domain count / phi
  sampling and reused; spec mode creates none.
"""
import numpy as np
import pytest
import torch

import nanobrag
from nanobrag import Config, CrystalConfig, DetectorConfig, SamplingConfig, StructureFactorConfig
from nanobrag.torch_impl import PhiCarryCache
from nanobrag.torch_impl.phi_carry import carry_maps


def cfg_with(phi_start=0.0, steps=4, osc=0.4, **det) -> Config:
    d = dict(distance_mm=80.0, pixel_size_mm=0.3, detpixels=(30, 26))
    d.update(det)
    return Config(
        crystal=CrystalConfig(cell=(60, 70, 80, 90, 90, 90), misset_deg=(5, 12, -7), n_cells=(8, 8, 8)),
        structure_factors=StructureFactorConfig(default_F=100.0),
        detector=DetectorConfig(**d),
        sampling=SamplingConfig(phi_start_deg=phi_start, osc_deg=osc, phi_steps=steps, oversample=2),
    )


def render(cfg, phi_mode, **kw):
    cfg = cfg.copy()
    cfg.phi_mode = phi_mode
    return nanobrag.simulate(cfg, engine="torch", **kw)


def test_modes_identical_without_an_exact_zero_angle():
    cfg = cfg_with(phi_start=0.05)
    a, b = render(cfg, "spec"), render(cfg, "c-parity")
    assert np.array_equal(a.float_image, b.float_image)


def test_modes_identical_for_a_single_step_at_zero():
    cfg = cfg_with(phi_start=0.0, steps=1, osc=0.0)
    assert np.array_equal(render(cfg, "spec").float_image, render(cfg, "c-parity").float_image)


def test_modes_differ_only_at_the_zero_step():
    cfg = cfg_with(phi_start=0.0)
    a, b = render(cfg, "spec"), render(cfg, "c-parity")
    assert not np.array_equal(a.float_image, b.float_image)
    pixels = [(0, 0), (0, 1), (13, 15)]
    ts = {m: nanobrag.trace(cfg.copy(), pixels, engine="torch") if m == "spec" else None for m in ("spec",)}
    c = cfg.copy()
    c.phi_mode = "c-parity"
    tc = nanobrag.trace(c, pixels, engine="torch")
    tspec = ts["spec"]
    H = tspec["a_m"].shape[4]
    for name in ("a_m", "b_m", "c_m", "h", "k", "l", "F_latt"):
        # steps 1..H-1 agree in every pixel (the first path is evaluated in a separate
        # one-path product, which may round the last bit differently)
        np.testing.assert_allclose(tspec[name][:, :, :, :, 1:], tc[name][:, :, :, :, 1:], rtol=1e-14, atol=1e-300)
    # step 0 (angle exactly 0): the very first path sees the unrotated cell, as spec ...
    np.testing.assert_array_equal(tc["a_m"][0, 0, 0, 0, 0], tspec["a_m"][0, 0, 0, 0, 0])
    # ... every later path the orientation of the last step of the sweep
    np.testing.assert_array_equal(tc["a_m"][0, 0, 1, 0, 0], tc["a_m"][0, 0, 1, 0, H - 1])
    np.testing.assert_array_equal(tc["a_m"][1, 0, 0, 0, 0], tc["a_m"][1, 0, 0, 0, H - 1])
    assert not np.array_equal(tc["a_m"][1, 0, 0, 0, 0], tspec["a_m"][1, 0, 0, 0, 0])


def test_carry_maps_follow_the_legacy_rule():
    # zero first: later paths take the last non-zero angle, the first loop the unrotated cell (index 4)
    assert carry_maps([0.0, 0.1, 0.2, 0.3]) == ([3, 1, 2, 3], [4, 1, 2, 3])
    # mid-sweep zero: the latest non-zero angle earlier in the sweep, for every loop
    assert carry_maps([-0.2, -0.1, 0.0, 0.1]) == ([0, 1, 1, 3], [0, 1, 1, 3])
    # no non-zero angle at all: always unrotated
    assert carry_maps([0.0, 0.0]) == ([2, 2], [2, 2])


def _mixed_config(phi_mode):
    """Structure-factor table, two wavelengths, mosaic domains, tilted detector (the gradient tests' crystal)."""
    from test_torch_gradients import base_config

    return base_config(phi_mode)


@pytest.mark.parametrize("phi_mode", ["spec", "c-parity"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("crystal", ["default_F", "mixed"])
def test_batch_size_does_not_change_the_image(phi_mode, dtype, crystal):
    cfg = cfg_with(phi_start=0.0) if crystal == "default_F" else _mixed_config(phi_mode)
    ref = render(cfg, phi_mode, dtype=dtype).image
    for batch in (1, 2, 7, 100, 10_000):
        # bit for bit in the engine's own dtype, not only after rounding to the float32 image
        assert torch.equal(render(cfg, phi_mode, dtype=dtype, batch_pixels=batch).image, ref), f"batch_pixels={batch}"


@pytest.mark.parametrize("phi_mode", ["spec", "c-parity"])
def test_memory_budget_does_not_change_the_image(phi_mode):
    cfg = cfg_with(phi_start=0.0)
    ref = render(cfg, phi_mode).float_image
    # a budget too small for one pixel's steps forces step chunks inside a batch
    small = render(cfg, phi_mode, memory_budget_bytes=20_000).float_image
    np.testing.assert_allclose(small, ref, rtol=1e-12, atol=0)


def test_roi_renders_the_same_pixels_as_the_full_image():
    """In spec mode every pixel is independent: an ROI crops the full image exactly."""
    cfg = cfg_with(phi_start=0.0)
    full = render(cfg, "spec").float_image
    roi_cfg = cfg.copy()
    roi_cfg.detector.roi = (4, 20, 6, 18)
    roi = render(roi_cfg, "spec").float_image
    np.testing.assert_array_equal(roi[6:19, 4:21], full[6:19, 4:21])
    outside = np.ones_like(roi, dtype=bool)
    outside[6:19, 4:21] = False
    assert (roi[outside] == 0).all()


def test_roi_moves_the_first_pixel_in_c_parity():
    """c-parity: only the first rendered pixel of the ROI differs from a full-image crop."""
    cfg = cfg_with(phi_start=0.0)
    full = render(cfg, "c-parity").float_image
    roi_cfg = cfg.copy()
    roi_cfg.detector.roi = (4, 20, 6, 18)
    roi = render(roi_cfg, "c-parity").float_image
    diff = roi[6:19, 4:21] != full[6:19, 4:21]
    assert diff[0, 0] and diff.sum() == 1


def test_phi_cache_reused_and_invalidated():
    cache = PhiCarryCache(torch.device("cpu"), torch.float64)
    cfg = cfg_with(phi_start=0.0)
    a = render(cfg, "c-parity", phi_cache=cache).float_image
    b = render(cfg, "c-parity", phi_cache=cache).float_image
    assert cache.builds == 1 and np.array_equal(a, b)
    changed = cfg.copy()
    changed.sampling.phi_steps = 5  # new phi sampling: rebuilt
    render(changed, "c-parity", phi_cache=cache)
    assert cache.builds == 2
    bigger = cfg.copy()
    bigger.detector.detpixels = (31, 26)  # new detector size: rebuilt
    render(bigger, "c-parity", phi_cache=cache)
    assert cache.builds == 3


def test_spec_mode_builds_no_carry_cache():
    cache = PhiCarryCache(torch.device("cpu"), torch.float64)
    render(cfg_with(phi_start=0.0), "spec", phi_cache=cache)
    assert cache.builds == 0


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("phi_mode", ["spec", "c-parity"])
def test_cuda_matches_cpu(phi_mode):
    cfg = cfg_with(phi_start=0.0)
    cpu = render(cfg, phi_mode)
    gpu = render(cfg, phi_mode, device="cuda")
    assert gpu.image.device.type == "cuda"
    np.testing.assert_allclose(gpu.float_image, cpu.float_image, rtol=1e-6, atol=0)
    cpu32 = render(cfg, phi_mode, dtype="float32")
    gpu32 = render(cfg, phi_mode, device="cuda", dtype="float32")
    np.testing.assert_allclose(gpu32.float_image, cpu32.float_image, rtol=1e-4, atol=1e-6 * cpu32.float_image.max())
