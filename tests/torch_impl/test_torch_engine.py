"""The torch engine's entry points: result structure, options and errors, progress, noise."""
import numpy as np
import pytest
import torch

import nanobrag
from nanobrag import Config, ConfigError, CrystalConfig, DetectorConfig, SamplingConfig, StructureFactorConfig
from nanobrag.torch_impl import SimulationCancelled, noise_image


def small(**det) -> Config:
    d = dict(distance_mm=70.0, pixel_size_mm=0.3, detpixels=(20, 16))
    d.update(det)
    return Config(
        crystal=CrystalConfig(cell=(60, 70, 80, 90, 90, 90), misset_deg=(5, 12, -7), n_cells=(6, 6, 6)),
        structure_factors=StructureFactorConfig(default_F=100.0),
        detector=DetectorConfig(**d),
        sampling=SamplingConfig(oversample=1),
    )


def test_result_structure():
    res = nanobrag.simulate(small(), engine="torch", dtype="float32")
    assert res.engine == "torch"
    assert isinstance(res.image, torch.Tensor) and res.image.dtype == torch.float32 and res.image.shape == (16, 20)
    assert res.float_image.dtype == np.float32 and res.float_image.shape == (16, 20)
    np.testing.assert_array_equal(res.float_image, res.image.detach().numpy())
    assert res.geometry.fpixels == 20 and res.geometry.spixels == 16
    assert res.interpolation_switchoff_pixel is None
    assert res.omega_sum > 0


def test_result_bookkeeping_matches_the_c_engine():
    cfg = small()
    t = nanobrag.simulate(cfg, engine="torch")
    c = nanobrag.simulate(cfg, engine="c")
    assert t.omega_sum == pytest.approx(c.omega_sum, rel=1e-12)
    assert t.geometry.as_dict().keys() == c.geometry.as_dict().keys()


def test_image_tensor_keeps_the_graph():
    cfg = small()
    cfg.detector.distance_mm = torch.tensor(70.0, dtype=torch.float64, requires_grad=True)
    res = nanobrag.simulate(cfg, engine="torch")
    assert res.image.requires_grad
    res.image.sum().backward()
    assert cfg.detector.distance_mm.grad is not None and float(cfg.detector.distance_mm.grad) != 0.0


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without a GPU")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(ConfigError, match="CUDA is not available"):
        nanobrag.simulate(small(), engine="torch", device="cuda")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(dtype="float16"), "dtype"),
        (dict(device="nonsense"), "device"),
        (dict(batch_size=4), "unknown torch engine option"),
        (dict(compile="sometimes"), "compile"),
        (dict(batch_pixels=0), "batch_pixels"),
        (dict(memory_budget_bytes=0), "memory_budget_bytes"),
    ],
)
def test_bad_options_are_clear_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        nanobrag.simulate(small(), engine="torch", **kwargs)


def test_progress_reports_every_batch_and_can_cancel():
    seen = []
    nanobrag.simulate(small(), engine="torch", batch_pixels=50, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (320, 320)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) == 7

    calls = []

    def stop(done, total):
        calls.append(done)
        return done >= 100

    with pytest.raises(SimulationCancelled):
        nanobrag.simulate(small(), engine="torch", batch_pixels=50, progress=stop)
    assert calls == [50, 100]


def test_keyboard_interrupt_propagates():
    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        nanobrag.simulate(small(), engine="torch", batch_pixels=50, progress=interrupt)


def test_legacy_noise_is_the_c_library_generator():
    cfg = small()
    cfg.output.noise_seed = 1234
    res = nanobrag.simulate(cfg, engine="torch")
    np.testing.assert_array_equal(noise_image(res), nanobrag.outputs.noise_image(res.float_image, res.config))
    np.testing.assert_array_equal(noise_image(res, seed=99), res.noise_image(seed=99))


def test_torch_noise_generator():
    cfg = small()
    cfg.beam.fluence_photons_per_m2 = 6.3e29  # mean ~260 photons, brightest ~34000 (no clipping)
    cfg.detector.roi = (2, 17, 1, 14)
    res = nanobrag.simulate(cfg, engine="torch")
    a = noise_image(res, seed=5, generator="torch")
    b = noise_image(res, seed=5, generator="torch")
    c = noise_image(res, seed=6, generator="torch")
    assert a.dtype == np.uint16 and np.array_equal(a, b) and not np.array_equal(a, c)
    inside = np.zeros(a.shape, dtype=bool)
    inside[1:15, 2:18] = True
    assert (a[~inside] == 0).all()
    adc = cfg.output.adc_offset
    expect = np.minimum(res.float_image[inside].astype(np.float64), 65535 - adc)
    # Poisson: mean deviation over the ROI is within 5 standard errors of zero
    dev = a[inside].astype(np.float64) - adc - expect
    assert (expect < 60000).all() and expect.mean() > 10
    assert abs(dev.mean()) < 5 * np.sqrt(expect.sum()) / dev.size
    with pytest.raises(ConfigError, match="generator"):
        noise_image(res, generator="numpy")
