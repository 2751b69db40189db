"""The detector response: PSF rules against a plain reference, the faint-pixel difference, the
torch PSF against the C library, gradients, torch-generator noise, and nanobrag's one-run response."""
from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch

from noisify_cases import read

from nanobrag.c_engine import response as c_response
from nanobrag.config import ConfigError, DetectorResponseConfig
from nanobrag.detector_response import apply_detector_response, legacy_adu_to_unsigned, psf_fwhm_pixels
from nanobrag import detector_response_torch as tdr

LN16 = math.log(16.0)


# ---- a plain reference of the PSF rules (specs/detector_response.md), written from the spec


def _pixel_integral(kind, dx, dy, fwhm):
    if kind == "gauss":
        c = math.sqrt(LN16) / fwhm
        e = lambda u: math.erf((u + 0.5) * c) - math.erf((u - 0.5) * c)  # noqa: E731
        return 0.25 * e(dx) * e(dy)
    g = 0.652383013252053 * fwhm
    f = lambda x, y: math.atan(x * y / (g * math.sqrt(g * g + x * x + y * y))) / (2 * math.pi)  # noqa: E731
    return f(dx + .5, dy + .5) - f(dx + .5, dy - .5) - f(dx - .5, dy + .5) + f(dx - .5, dy - .5)


def _radius(kind, intensity, fwhm, maxwidth):
    if kind == "gauss":
        arg = math.log(10 * math.sqrt(intensity)) / LN16
        r = 1 + math.ceil(math.sqrt(max(arg, 0.0)) * fwhm)
    else:
        r = 1 + math.ceil(0.652383013252053 * fwhm * 10 * math.sqrt(intensity))
    return max(1, min(r, maxwidth))


def reference_psf(image, kind, fwhm, radius_px):
    slow, fast = image.shape
    out = np.zeros(slow * fast)
    maxwidth = max(slow, fast)
    lost = 0.0
    for s in range(slow):
        for f in range(fast):
            value = float(image[s, f])
            if value <= 0:
                continue
            r = min(radius_px, maxwidth) if radius_px else _radius(kind, value, fwhm, maxwidth)
            if kind == "gauss":
                lost += value * math.exp(-LN16 * (r / fwhm) ** 2)
            else:
                g = 0.652383013252053 * fwhm
                lost += value * g / math.sqrt(g * g + r * r)
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    if dx * dx + dy * dy > r * r:
                        continue
                    x, y = f + dx, s + dy
                    if x < 0 or x > fast or y < 0 or y >= slow:
                        continue
                    j = y * fast + x  # x == fast is column 0 of the next row
                    if j < slow * fast:
                        out[j] += value * _pixel_integral(kind, dx, dy, fwhm)
    return (out + lost / (slow * fast)).reshape(slow, fast), lost


def _test_image(seed=3, shape=(12, 10)):
    rng = np.random.default_rng(seed)
    image = rng.poisson(3.0, size=shape).astype(np.float32)
    image[4, shape[1] - 1] = 400.0  # bright pixel at the fast edge: its taps wrap
    image[0, 0] = 0.004  # fainter than 0.01 photons: radius 1 (the legacy crashes here with gauss)
    image[shape[0] - 2, 3] = -2.0  # skipped
    return image


@pytest.mark.parametrize("kind, radius", [("gauss", 0), ("gauss", 3), ("fiber", 2), ("fiber", 0)])
def test_c_psf_follows_the_rules(kind, radius):
    image = _test_image()
    fwhm = 1.3
    ours, lost, used = c_response.apply_psf(image, kind, fwhm, radius)
    expected, expected_lost = reference_psf(image, kind, fwhm, radius)
    # the library adds every tap to a float32 accumulator (legacy): about 1e-7 relative per addition
    np.testing.assert_allclose(ours, expected, rtol=2e-6, atol=2e-6 * expected.max())
    assert lost == pytest.approx(expected_lost, rel=1e-12)
    assert used >= 1 and np.all(np.isfinite(ours))


def test_faint_pixels_with_automatic_gauss_radius_do_not_crash():
    """Deliberate difference: the legacy takes sqrt of a negative number for 0 < I < 0.01 and segfaults."""
    image = np.zeros((9, 9), np.float32)
    image[4, 4] = 0.005
    out, lost, radius = c_response.apply_psf(image, "gauss", 1.6, 0)
    assert radius == 1
    fwhm = 1.6
    value = float(np.float32(0.005))
    # radius 1: the 3x3 square less nothing (all within r^2 = 1 are the centre and 4 neighbours)
    taps = {(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)}
    expected_lost = value * math.exp(-LN16 * (1 / fwhm) ** 2)
    assert lost == pytest.approx(expected_lost, rel=1e-12)
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            want = (value * _pixel_integral("gauss", dx, dy, fwhm) if (dx, dy) in taps else 0.0) + expected_lost / 81
            assert out[4 + dy, 4 + dx] == pytest.approx(want, rel=1e-6)


def test_golden_crash_case_runs_without_the_radius(tmp_path, monkeypatch):
    from noisify_cases import args, stage_inputs

    from nanobrag import noisify_cli

    name = "nz_psf_gauss_radius_nonoise"
    stage_inputs(name, tmp_path)
    argv = args(name)
    k = argv.index("-psf_rad")
    del argv[k:k + 2]
    monkeypatch.chdir(tmp_path)
    assert noisify_cli.main(argv) == 0  # the legacy program: SIGSEGV
    assert (tmp_path / "intimage.img").stat().st_size == 512 + 2 * 128 * 128


# ---- the torch PSF


@pytest.mark.parametrize("kind, radius", [("gauss", 0), ("gauss", 3), ("gauss", 6), ("fiber", 4), ("fiber", 0)])
def test_torch_psf_equals_the_c_library(kind, radius):
    image = np.frombuffer(read("nz_psf_gauss_auto_noise", "in_float.bin"), "<f4").reshape(128, 128)[:48, :40]
    image = np.ascontiguousarray(np.round(image * 3)).astype(np.float32)  # integer counts, like a noise image
    fwhm = 1.2
    c_out, c_lost, c_radius = c_response.apply_psf(image, kind, fwhm, radius)
    t_out, t_lost, t_radius = tdr.apply_psf(torch.from_numpy(image).double(), kind, fwhm, radius)
    assert t_radius == c_radius
    assert float(t_lost) == pytest.approx(c_lost, rel=1e-9)
    # float32 accumulation in C against float64 FFT sums: agree to 1e-5 of the image maximum
    np.testing.assert_allclose(t_out.numpy(), c_out, rtol=0, atol=1e-5 * c_out.max())


def test_torch_psf_float32_on_the_golden_noiseless_case():
    name = "nz_psf_fiber_radius_nonoise"
    image = np.frombuffer(read(name, "in_float.bin"), "<f4").reshape(128, 128)
    r = DetectorResponseConfig(psf_type="fiber", psf_fwhm_um=90, psf_radius_px=4,
                               photon_scale=(125932015286227086360700780544.0 * 7.94079248018965e-30) * 20)
    c = apply_detector_response(image, r, pixel_size_mm=0.1, adc_offset_adu=0, noise=False, engine="c")
    t = apply_detector_response(torch.from_numpy(image.copy()), r, pixel_size_mm=0.1, adc_offset_adu=0, noise=False,
                                engine="torch")
    golden = np.frombuffer(read(name, "intimage.img")[512:], "<u2").reshape(128, 128)
    np.testing.assert_array_equal(c.int_image, golden)
    # truncation to ADU may flip where a value sits within rounding of an integer: allow 0.1 % of pixels, by 1
    diff = np.abs(t.int_image.astype(int) - golden.astype(int))
    assert diff.max() <= 1 and np.count_nonzero(diff) <= golden.size // 1000


def test_psf_gradient_with_respect_to_width():
    image = torch.tensor(_test_image(shape=(7, 6)), dtype=torch.float64).clamp(min=0)
    for kind, radius in (("gauss", 2), ("fiber", 0)):
        def f(fwhm):
            return tdr.apply_psf(image, kind, fwhm, radius)[0]

        fwhm = torch.tensor(1.4, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(f, (fwhm,), eps=1e-6, atol=1e-6)


def test_psf_fwhm_um_tensor_gradient_through_apply_detector_response():
    image = torch.tensor(_test_image(shape=(8, 8)), dtype=torch.float64).clamp(min=0)
    fwhm_um = torch.tensor(130.0, dtype=torch.float64, requires_grad=True)
    r = DetectorResponseConfig(psf_type="gauss", psf_fwhm_um=fwhm_um, psf_radius_px=3)
    out = apply_detector_response(image, r, pixel_size_mm=0.1, noise=False, engine="torch")
    (out.photons * torch.arange(64, dtype=torch.float64).reshape(8, 8)).sum().backward()
    # central difference of the same scalar
    def value(w):
        rr = DetectorResponseConfig(psf_type="gauss", psf_fwhm_um=w, psf_radius_px=3)
        o = apply_detector_response(image, rr, pixel_size_mm=0.1, noise=False, engine="torch").photons
        return float((o * torch.arange(64, dtype=torch.float64).reshape(8, 8)).sum())
    # step 0.5 um: the legacy width is a float32 in metres, so tiny steps would measure its rounding
    numeric = (value(130.5) - value(129.5)) / 1.0
    assert float(fwhm_um.grad) == pytest.approx(numeric, rel=1e-4)


# ---- noise


def test_torch_generator_noise_is_reproducible_and_has_the_right_mean():
    image = np.full((64, 64), 50.0, np.float32)
    r = DetectorResponseConfig(calibration_noise=0.0)
    a = apply_detector_response(torch.from_numpy(image), r, pixel_size_mm=0.1, seed=7, engine="torch",
                                generator="torch")
    b = apply_detector_response(torch.from_numpy(image), r, pixel_size_mm=0.1, seed=7, engine="torch",
                                generator="torch")
    c = apply_detector_response(torch.from_numpy(image), r, pixel_size_mm=0.1, seed=8, engine="torch",
                                generator="torch")
    np.testing.assert_array_equal(a.noise_image, b.noise_image)
    assert not np.array_equal(a.noise_image, c.noise_image)
    counts = a.noise_image.astype(float) - 40
    # 4096 Poisson(50) draws: mean within 5 standard errors, variance within 15 %
    assert abs(counts.mean() - 50) < 5 * math.sqrt(50 / counts.size)
    assert counts.var() == pytest.approx(50, rel=0.15)


def test_torch_generator_calibration_pattern_does_not_follow_the_seed():
    """Deliberate difference from the legacy stream (where -seed changes the calibration pattern)."""
    image = torch.full((32, 32), 2e5, dtype=torch.float64)  # Poisson error 0.2 %: calibration dominates
    r = DetectorResponseConfig(calibration_noise=0.2, calibration_seed=5, gain_adu_per_photon=1e-2)
    a = apply_detector_response(image, r, pixel_size_mm=0.1, seed=1, adc_offset_adu=0, engine="torch",
                                generator="torch").noise_image.astype(float)
    b = apply_detector_response(image, r, pixel_size_mm=0.1, seed=2, adc_offset_adu=0, engine="torch",
                                generator="torch").noise_image.astype(float)
    assert np.std(a / b) < 0.01  # same pattern up to counting noise and truncation
    legacy_a = apply_detector_response(image.numpy(), r, pixel_size_mm=0.1, seed=1, adc_offset_adu=0).noise_image
    legacy_b = apply_detector_response(image.numpy(), r, pixel_size_mm=0.1, seed=2, adc_offset_adu=0).noise_image
    assert np.std(legacy_a.astype(float) / legacy_b) > 0.1  # the legacy stream: pattern changes with -seed


def test_torch_engine_with_the_legacy_generator_equals_the_c_engine():
    image = np.frombuffer(read("nz_readout_flicker_calib", "in_float.bin"), "<f4").reshape(128, 128)
    r = DetectorResponseConfig(psf_type="gauss", psf_fwhm_um=120, readout_noise_adu=2.5, flicker_noise=0.05,
                               calibration_noise=0.1, calibration_seed=99)
    c = apply_detector_response(image, r, pixel_size_mm=0.1, seed=16)
    t = apply_detector_response(torch.from_numpy(image.copy()), r, pixel_size_mm=0.1, seed=16, engine="torch")
    np.testing.assert_array_equal(c.noise_image, t.noise_image)


def test_c_response_is_thread_safe():
    image = np.frombuffer(read("nz_readout_flicker_calib", "in_float.bin"), "<f4").reshape(128, 128)
    r = DetectorResponseConfig(psf_type="fiber", psf_fwhm_um=90, readout_noise_adu=2.5, flicker_noise=0.05,
                               calibration_noise=0.1)
    expected = {s: apply_detector_response(image, r, pixel_size_mm=0.1, seed=s).noise_image for s in (1, 2, 3, 4)}
    results = {}

    def work(s):
        results[s] = apply_detector_response(image, r, pixel_size_mm=0.1, seed=s).noise_image

    threads = [threading.Thread(target=work, args=(s,)) for s in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in expected:
        np.testing.assert_array_equal(results[s], expected[s])


# ---- conversions and validation


def test_adu_casts_wrap_like_x86_c():
    adu = np.array([-0.5, -1.5, -3.0, 65535.9, 70000.0, 1e12, 2.5])
    # beyond int32 the 16-bit cast goes through INT_MIN, whose low 16 bits are 0
    np.testing.assert_array_equal(legacy_adu_to_unsigned(adu, 16), [0, 65535, 65533, 65535, 70000 - 65536, 0, 2])
    np.testing.assert_array_equal(legacy_adu_to_unsigned(adu, 32)[:3], [0, 2**32 - 1, 2**32 - 3])


def test_psf_width_in_pixels_uses_the_legacy_float():
    assert psf_fwhm_pixels(46, 0.1) == float(np.float32(46e-6)) / 1e-4
    assert psf_fwhm_pixels(46, 0.1) != 0.46


@pytest.mark.parametrize("field, value", [("psf_type", "airy"), ("psf_radius_px", -1), ("readout_noise_adu", -1),
                                          ("calibration_noise", float("nan")), ("bits", 16.5)])
def test_bad_response_values_name_the_field(field, value):
    r = DetectorResponseConfig(**{field: value})
    with pytest.raises(ConfigError, match=f"response.{field}"):
        apply_detector_response(np.ones((4, 4), np.float32), r, pixel_size_mm=0.1)


def test_non_finite_images_are_refused():
    image = np.ones((4, 4), np.float32)
    image[1, 1] = np.nan
    with pytest.raises(ConfigError, match="inf or NaN"):
        apply_detector_response(image, DetectorResponseConfig(), pixel_size_mm=0.1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_torch_response_on_cuda_matches_the_cpu():
    image = np.frombuffer(read("nz_psf_gauss_auto_noise", "in_float.bin"), "<f4").reshape(128, 128)
    cpu = torch.from_numpy(image.copy()).double()
    gpu = cpu.cuda()
    for kind, radius in (("gauss", 0), ("fiber", 8)):  # shifted copies and FFT
        a = tdr.apply_psf(cpu, kind, 1.2, radius)[0]
        b = tdr.apply_psf(gpu, kind, 1.2, radius)[0]
        assert b.device.type == "cuda"
        torch.testing.assert_close(b.cpu(), a, rtol=0, atol=1e-9 * float(a.max()))
    r = DetectorResponseConfig(psf_type="fiber", psf_fwhm_um=100, readout_noise_adu=2, calibration_noise=0.03)
    out = apply_detector_response(gpu, r, pixel_size_mm=0.1, seed=3, engine="torch", generator="torch")
    again = apply_detector_response(gpu, r, pixel_size_mm=0.1, seed=3, engine="torch", generator="torch")
    np.testing.assert_array_equal(out.noise_image, again.noise_image)
    assert out.photons.device.type == "cuda"


def test_torch_engine_results_go_through_the_response():
    import nanobrag
    from nanobrag.torch_impl import noise_image

    cfg = nanobrag.Config.from_args(["-cell", "50", "50", "50", "90", "90", "90", "-default_F", "30", "-N", "3",
                                     "-detpixels", "24", "-water", "0.03", "-seed", "4", "-psf", "fiber",
                                     "-psf_radius", "6", "-readout", "2"])
    result = nanobrag.simulate(cfg, engine="torch", progress=None)
    legacy = noise_image(result)  # the C library's pipeline on the float image
    direct = apply_detector_response(result.float_image, cfg.response, pixel_size_mm=0.1, seed=4)
    np.testing.assert_array_equal(legacy, direct.noise_image)
    from nanobrag.detector_response import detector_response_of

    ours = detector_response_of(result, generator="torch").noise_image
    again = detector_response_of(result, generator="torch").noise_image
    np.testing.assert_array_equal(ours, again)
    # the fibre PSF (radius 6) and read-out noise: same mean level as the legacy image, within counting noise
    assert abs(float(ours.mean()) - float(legacy.mean())) < 1.0


@pytest.mark.parametrize("kind, fwhm", [("gauss", 1.3), ("gauss", 7.9), ("fiber", 0.8)])
def test_radii_from_thresholds_equal_the_rule_pixel_by_pixel(kind, fwhm):
    rng = np.random.default_rng(1)
    values = np.concatenate([10 ** rng.uniform(-4, 6, 5000), np.arange(1, 3001, dtype=float)])
    values = values.astype(np.float32).astype(np.float64).reshape(100, -1)
    radius, radii = tdr.auto_radii(kind, torch.from_numpy(values), fwhm, 0)
    direct = np.minimum(tdr._radius_from(kind, values, fwhm, max(values.shape), False), radius)
    np.testing.assert_array_equal(radii.numpy(), direct)


def test_c_library_refuses_bad_arguments_with_status_codes():
    from nanobrag.c_engine._ffi import ffi, lib

    image = np.ones((4, 4), np.float32)
    src = ffi.cast("const float *", ffi.from_buffer(image))
    out = np.zeros_like(image)
    dst = ffi.cast("float *", ffi.from_buffer(out))
    assert lib.nb_apply_psf(7, 1.0, 0, 4, 4, src, dst, 16, ffi.NULL, ffi.NULL) == lib.NB_ERR_INVALID_ARGUMENT
    assert lib.nb_apply_psf(1, float("nan"), 0, 4, 4, src, dst, 16, ffi.NULL, ffi.NULL) == lib.NB_ERR_INVALID_ARGUMENT
    assert lib.nb_apply_psf(1, 1.0, -1, 4, 4, src, dst, 16, ffi.NULL, ffi.NULL) == lib.NB_ERR_INVALID_ARGUMENT
    assert lib.nb_apply_psf(1, 1.0, 0, 4, 4, src, dst, 15, ffi.NULL, ffi.NULL) == lib.NB_ERR_BUFFER_TOO_SMALL
    assert lib.nb_apply_psf(1, 1.0, 0, 4, 4, src, ffi.cast("float *", src), 16, ffi.NULL, ffi.NULL) != 0  # in place
    cfg = ffi.new("nb_response_config *")
    lib.nb_response_config_init(cfg)
    assert lib.nb_detector_response(ffi.NULL, 4, 4, src, 16, ffi.NULL, ffi.NULL, ffi.NULL, 16, ffi.NULL) != 0
    assert lib.nb_detector_response(cfg, 4, 4, src, 15, ffi.NULL, ffi.NULL, ffi.NULL, 16, ffi.NULL) \
        == lib.NB_ERR_BUFFER_TOO_SMALL
    cfg.psf_type = 9
    assert lib.nb_detector_response(cfg, 4, 4, src, 16, ffi.NULL, ffi.NULL, ffi.NULL, 16, ffi.NULL) \
        == lib.NB_ERR_INVALID_ARGUMENT
    cfg.psf_type = 0
    cfg.readout_noise_adu = float("inf")
    assert lib.nb_detector_response(cfg, 4, 4, src, 16, ffi.NULL, ffi.NULL, ffi.NULL, 16, ffi.NULL) \
        == lib.NB_ERR_INVALID_ARGUMENT
    np.testing.assert_array_equal(out, 0)  # refused calls wrote nothing
