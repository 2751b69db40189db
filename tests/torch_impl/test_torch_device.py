"""The torch engine on an accelerator: golden images, gradients, traces, the c-parity cache.

The device is ``$NANOBRAG_TEST_DEVICE`` (default ``cuda``); every test skips
when that device is not available, so CI (no GPU) skips this module.  Setting
``NANOBRAG_TEST_DEVICE=cpu`` runs the same checks on the CPU, which is how the
checks themselves are exercised where there is no GPU.

Tolerances: the device's ``sin``/``exp``/``sqrt`` are not glibc's, so bit
identity with the legacy images is not expected off the CPU; the acceptance is
the project's golden criterion (relative 1e-6 per pixel above 1e-30, float64;
Pearson >= 0.99999 and total within 1e-4, float32), and device-vs-CPU
quantities agree to relative 1e-9 in float64 (a few ulps of the last step
amplified by at most a few hundred operations).
"""
import os

import numpy as np
import pytest
import torch

import nanobrag
from c_engine_support import assert_float32_image_correlates, assert_float_image_matches
from golden_cases import all_cases, case
from nanobrag import Config
from nanobrag.torch_impl import PhiCarryCache
from parser_collisions import PARSER_COLLISION_CASES

DEVICE = os.environ.get("NANOBRAG_TEST_DEVICE", "cuda")


def _available(device: str) -> bool:
    kind = torch.device(device).type
    if kind == "cpu":
        return True
    if kind == "cuda":
        return torch.cuda.is_available()
    return False


pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not _available(DEVICE), reason=f"needs the device {DEVICE!r} (set NANOBRAG_TEST_DEVICE)"),
]

DEVICE_VS_CPU_REL = 1e-9

#: golden cases covering each feature family (conventions, pivots, sources, mosaic, shapes,
#: thickness, interpolation, ROI/mask, noise); every runnable case when NANOBRAG_TEST_ALL_GOLDEN=1
REPRESENTATIVE = [
    "cubic_default_F",
    "mat_triclinic_hkl",
    "phi_start0_quirk",
    "mosaic_domains_seed",
    "divergence_round_dispersion_energy",
    "sourcefile",
    "conv_xds_orgx_nonsquare",
    "conv_dials_xbeam_ignored",
    "conv_denzo_xbeam",
    "conv_custom_vectors_pivot_sample",
    "detector_rot_twotheta_mosflm",
    "curved_det",
    "oversample_flags_thick_polar_omega",
    "detector_thick_abs",
    "xtal_round_NaNbNc",
    "xtal_gauss_fudge",
    "xtal_tophat",
    "quirk_interpolate_switchoff",
    "water_stol_dmin",
    "roi_custom_filenames",
    "mask_pgm_scale",
    "timing_1024",
]


def _golden_names():
    names = [c.name for c in all_cases() if c.name not in PARSER_COLLISION_CASES]
    if os.environ.get("NANOBRAG_TEST_ALL_GOLDEN") == "1":
        return names
    missing = sorted(set(REPRESENTATIVE) - set(names))
    assert not missing, f"representative cases not in the golden set: {missing}"
    return REPRESENTATIVE


@pytest.mark.parametrize("name", _golden_names())
def test_golden_float64_on_device(tmp_path, name):
    cfg = case(name).config(tmp_path)
    result = nanobrag.simulate(cfg, engine="torch", device=DEVICE, dtype="float64")
    assert result.image.device.type == torch.device(DEVICE).type
    assert_float_image_matches(result.float_image, case(name).float_image(), name)


@pytest.mark.parametrize("name", _golden_names())
def test_golden_float32_on_device(tmp_path, name):
    cfg = case(name).config(tmp_path)
    result = nanobrag.simulate(cfg, engine="torch", device=DEVICE, dtype="float32")
    assert result.image.dtype == torch.float32
    assert_float32_image_correlates(result.float_image, case(name).float_image(), name)


def _small_config(phi_mode: str) -> Config:
    from test_torch_gradients import base_config

    return base_config(phi_mode)


@pytest.mark.parametrize("phi_mode", ["spec", "c-parity"])
def test_gradients_on_device_equal_cpu(phi_mode):
    """d(weighted image sum)/d(cell, distance) on the device equals the CPU gradient."""
    grads = {}
    for device in ("cpu", DEVICE):
        cell = torch.tensor([31.0, 34.0, 29.0, 88.0, 93.0, 95.0], dtype=torch.float64, requires_grad=True)
        distance = torch.tensor(60.0, dtype=torch.float64, requires_grad=True)
        cfg = _small_config(phi_mode)
        cfg.crystal.cell = cell
        cfg.detector.distance_mm = distance
        image = nanobrag.simulate(cfg, engine="torch", device=device, dtype="float64").image
        assert image.device.type == torch.device(device).type
        weights = torch.linspace(0.5, 1.5, image.numel(), dtype=torch.float64, device=image.device).view_as(image)
        (image * weights).sum().backward()
        grads[device] = (cell.grad.clone(), distance.grad.clone())
    (cell_cpu, dist_cpu), (cell_dev, dist_dev) = grads["cpu"], grads[DEVICE]
    assert torch.count_nonzero(cell_cpu) > 0 and dist_cpu != 0  # the comparison is not between zeros
    torch.testing.assert_close(cell_dev.cpu(), cell_cpu, rtol=DEVICE_VS_CPU_REL, atol=0)
    torch.testing.assert_close(dist_dev.cpu(), dist_cpu, rtol=DEVICE_VS_CPU_REL, atol=0)


def test_gradcheck_on_device_c_parity():
    """gradcheck of the image with respect to the misset angles, computed on the device."""
    def image_of(misset):
        cfg = _small_config("c-parity")
        cfg.crystal.misset_deg = misset
        return nanobrag.simulate(cfg, engine="torch", device=DEVICE, dtype="float64").image

    misset = torch.tensor([11.0, -7.0, 23.0], dtype=torch.float64, requires_grad=True)
    # the tolerances of tests/torch_impl/test_torch_gradients.py (finite differences of a sharp lattice function)
    assert torch.autograd.gradcheck(image_of, (misset,), eps=1e-6, atol=1e-5, rtol=1e-3)


def test_trace_on_device_equals_cpu():
    cfg = _small_config("c-parity")
    pixels = [(0, 0), (2, 3), (4, 5)]  # the detector is 5 slow x 6 fast
    cpu = nanobrag.trace(cfg, pixels, engine="torch", device="cpu")
    dev = nanobrag.trace(cfg, pixels, engine="torch", device=DEVICE)
    assert set(cpu) == set(dev)
    for key in cpu:
        np.testing.assert_allclose(dev[key], cpu[key], rtol=DEVICE_VS_CPU_REL, atol=0, equal_nan=True, err_msg=key)


def test_phi_cache_lives_on_the_device_and_matches_cpu():
    cfg = _small_config("c-parity")
    cache = PhiCarryCache(torch.device(DEVICE), torch.float64)
    first = nanobrag.simulate(cfg, engine="torch", device=DEVICE, phi_cache=cache)
    again = nanobrag.simulate(cfg, engine="torch", device=DEVICE, phi_cache=cache)
    assert cache.builds == 1
    np.testing.assert_array_equal(first.float_image, again.float_image)
    cpu = nanobrag.simulate(cfg, engine="torch", device="cpu")
    np.testing.assert_allclose(first.float_image, cpu.float_image, rtol=DEVICE_VS_CPU_REL * 1e3, atol=0)


def test_batch_size_does_not_change_the_device_image():
    """A GPU reduction picks its summation tree from the tensor's shape, so batches may move
    the last bit or two of a float64 sum (on the CPU the engine pads to be exact,
    tests/torch_impl/test_torch_modes.py): 1e-13 relative bounds that and nothing larger."""
    cfg = _small_config("c-parity")
    whole = nanobrag.simulate(cfg, engine="torch", device=DEVICE).image
    for batch in (1, 7):
        part = nanobrag.simulate(cfg, engine="torch", device=DEVICE, batch_pixels=batch).image
        torch.testing.assert_close(part, whole, rtol=1e-13, atol=0, msg=f"batch_pixels={batch}")


def test_torch_noise_generator_on_device():
    from nanobrag.torch_impl.noise import noise_image

    cfg = _small_config("spec")
    result = nanobrag.simulate(cfg, engine="torch", device=DEVICE)
    a = noise_image(result, seed=5, generator="torch")
    b = noise_image(result, seed=5, generator="torch")
    assert a.dtype == np.uint16 and a.shape == result.float_image.shape
    np.testing.assert_array_equal(a, b)  # reproducible for a seed on one device
