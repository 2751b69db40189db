"""C engine against the legacy program on hand-built Configs, plus its own contracts.

The Configs here are written by hand from each golden case's command line, so
these checks do not depend on the command-line layer (test_c_golden.py runs
every case through Config.from_args).
"""
import math

import numpy as np

from nanobrag import ConfigError
import pytest

from golden_cases import case
from nanobrag import Config, CrystalConfig, StructureFactorConfig
from nanobrag.c_engine import CEngineError, engine
from c_engine_support import (
    HAND_BUILT,
    assert_float_image_matches,
    float_image_mismatches,
    geometry_against_stdout,
    hand_built,
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """name -> (config, result), rendered once per module."""
    cache = {}

    def get(name):
        if name not in cache:
            cfg = hand_built(name, tmp_path_factory.mktemp(name))
            cache[name] = (cfg, engine.simulate(cfg))
        return cache[name]

    return get


@pytest.mark.parametrize("name", sorted(HAND_BUILT))
def test_hand_built_case_matches_golden_float_image(rendered, name):
    cfg, result = rendered(name)
    assert result.engine == "c"
    assert_float_image_matches(result.float_image, case(name).float_image(), name)


@pytest.mark.parametrize("name", sorted(HAND_BUILT))
def test_derived_geometry_matches_legacy_stdout(rendered, name):
    cfg, result = rendered(name)
    problems = geometry_against_stdout(result.geometry, case(name).stdout())
    assert problems == []


def test_tolerance_check_detects_a_one_ulp_relative_error_above_1e6():
    golden = np.full((2, 2), 100.0, dtype=np.float32)
    ours = golden.copy()
    ours[1, 1] = np.float32(100.0002)  # 2e-6 relative
    assert float_image_mismatches(ours, golden).sum() == 1
    ours[1, 1] = np.nextafter(np.float32(100.0), np.float32(200.0))  # float32 rounding: within tolerance
    assert float_image_mismatches(ours, golden).sum() == 0


def test_noise_image_is_byte_identical_to_legacy(rendered):
    from nanobrag.io.smv import SMVHeader, smv_bytes

    cfg, result = rendered("noise_seed_adc_scale")
    noise, overloads, photons = engine.noise_image(cfg, result.float_image)
    header = SMVHeader.from_geometry(result.geometry)
    ours = b"".join(smv_bytes(noise, header))
    assert ours == case("noise_seed_adc_scale").read("noiseimage.img")
    assert overloads == 0
    # the legacy run printed the photon total with %.0f
    assert ("%.0f photons on noise image" % photons) in case("noise_seed_adc_scale").stdout()


def test_noise_seed_changes_the_noise_and_is_reproducible(rendered):
    cfg, result = rendered("noise_seed_adc_scale")
    a = engine.noise_image(cfg, result.float_image, seed=1)[0]
    b = engine.noise_image(cfg, result.float_image, seed=1)[0]
    c = engine.noise_image(cfg, result.float_image, seed=2)[0]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


# ---------------------------------------------------------------- trace


def _traced_values_equal_image(cfg, result, pixels):
    t = engine.trace(cfg, pixels)
    expected = np.array([result.float_image[s, f] for s, f in pixels], dtype=np.float64)
    return t, np.array_equal(t["pixel_value"], expected)


@pytest.mark.parametrize(
    "name,pixels",
    [
        ("phi_start0_quirk", [(0, 0), (0, 1), (64, 64), (127, 127)]),
        ("quirk_interpolate_switchoff", [(0, 0), (93, 127), (94, 0), (94, 1), (127, 127)]),
        ("water_stol_dmin", [(0, 0), (64, 64), (127, 0)]),
        ("detector_thick_abs", [(10, 20), (64, 64)]),
        ("mosaic_domains_seed", [(128, 128), (3, 250)]),
        ("conv_custom_vectors_pivot_sample", [(0, 0), (60, 70)]),
    ],
)
def test_trace_pixel_value_equals_image_bit_for_bit(rendered, name, pixels):
    cfg, result = rendered(name)
    t, same = _traced_values_equal_image(cfg, result, pixels)
    assert same


def test_trace_layout_shapes(rendered):
    cfg, result = rendered("detector_thick_abs")
    t = engine.trace(cfg, [(1, 2), (3, 4)])
    geo = result.geometry
    T, S, R, H, M = geo.detector_thicksteps, geo.oversample ** 2, geo.sources, geo.phisteps, geo.mosaic_domains
    assert (T, S) == (3, 4)
    assert t["pixel_pos_m"].shape == (2, T, S, 3)
    assert t["omega"].shape == t["capture_fraction"].shape == (2, T, S)
    assert t["polar"].shape == (2, T, S, R)
    assert t["scattering_per_m"].shape == (2, T, S, R, 3)
    for name in ("a_m", "b_m", "c_m"):
        assert t[name].shape == (2, T, S, R, H, M, 3)
    for name in ("h", "k", "l", "F_latt", "F_cell"):
        assert t[name].shape == (2, T, S, R, H, M)
    assert t["pixel_value"].shape == (2,)


def test_trace_reproduces_legacy_caching(rendered):
    """omega is the first sub-pixel's for the whole pixel; capture is recomputed per layer."""
    cfg, result = rendered("detector_thick_abs")
    t = engine.trace(cfg, [(64, 64)])
    omega = t["omega"][0]
    assert np.all(omega == omega[0, 0])
    capture = t["capture_fraction"][0]
    assert np.all(capture == capture[:, :1])          # constant within a layer
    assert len(set(capture[:, 0].tolist())) == 3      # different per layer
    # the pixel value uses the LAST layer's capture fraction (legacy quirk)
    steps = result.geometry.steps
    I = np.nansum(np.where(np.isnan(t["F_cell"][0]), 0.0, t["F_cell"][0] ** 2 * t["F_latt"][0] ** 2))
    value = I / steps * capture[-1, 0] * t["polar"][0, 0, 0, 0] * omega[0, 0]
    assert math.isclose(value, t["pixel_value"][0], rel_tol=1e-6)


def test_trace_marks_dmin_culled_paths_nan_and_pixel_zero(rendered):
    cfg, result = rendered("water_stol_dmin")
    t = engine.trace(cfg, [(0, 0), (64, 64)])
    # corner pixel: every path beyond dmin -> polar never computed, pixel (water included) is 0
    assert np.isnan(t["polar"][0]).all() and np.isnan(t["h"][0]).all()
    assert t["pixel_value"][0] == 0.0
    assert not np.isnan(t["h"][1]).any() and t["pixel_value"][1] > 0


def test_phi_carry_over_visible_in_trace_c_parity(rendered):
    """phi0 = 0: the first sweep of the run sees the unrotated cell at step 0,
    every later sweep reuses the last step's rotation (legacy C-PARITY-001)."""
    cfg, result = rendered("phi_start0_quirk")
    t = engine.trace(cfg, [(0, 0), (0, 1), (50, 60)])
    a = t["a_m"][:, 0, 0, 0, :, 0]  # (pixel, phi step, xyz)
    a0 = np.array(result.geometry.a_m)
    assert np.array_equal(a[0, 0], a0)                # first evaluated pixel: unrotated
    assert np.array_equal(a[1, 0], a[1, 9])           # later pixels: step 0 == last step
    assert np.array_equal(a[2, 0], a[2, 9])
    assert not np.array_equal(a[1, 0], a0)
    # the last step is a real 0.09 deg rotation about the spindle (z)
    expect = np.array([a0[0] * math.cos(0.09 / 57.29577951308232) - a0[1] * math.sin(0.09 / 57.29577951308232),
                       a0[0] * math.sin(0.09 / 57.29577951308232) + a0[1] * math.cos(0.09 / 57.29577951308232), a0[2]])
    assert np.allclose(a[1, 9], expect, rtol=1e-12, atol=1e-22)


def test_spec_mode_rotates_phi_zero_to_the_identity(rendered):
    cfg, result = rendered("phi_start0_quirk")
    spec = cfg.copy()
    spec.phi_mode = "spec"
    t = engine.trace(spec, [(0, 1)])
    assert np.array_equal(t["a_m"][0, 0, 0, 0, 0, 0], np.array(result.geometry.a_m))
    spec_image = engine.simulate(spec).float_image
    # c-parity and spec agree on the first pixel only (as the legacy control run shows)
    assert spec_image[0, 0] == result.float_image[0, 0]
    assert (spec_image != result.float_image).sum() > 0.9 * spec_image.size


def test_interpolation_switch_off_pixel_and_warning(rendered):
    """The golden control (-nointerpolate) differs only up to (93, 127): the first
    out-of-range stencil is at pixel (94, 0) and everything after is nearest-neighbour."""
    cfg, result = rendered("quirk_interpolate_switchoff")
    assert result.interpolation_switchoff_pixel == 94 * 128
    assert sum("out of range for three point interpolation" in w for w in result.warnings) == 1
    nn = cfg.copy()
    nn.structure_factors.interpolate = False
    nn_image = engine.simulate(nn).float_image
    flat_diff = (nn_image != result.float_image).reshape(-1)
    assert flat_diff[: 94 * 128].sum() > 0
    assert not flat_diff[94 * 128:].any()


def test_mosaic_draws_rebuild_the_traced_domain_rotations(rendered):
    """The draws returned for the torch engine rebuild the rotated cells the run used."""
    cfg, result = rendered("mosaic_domains_seed")
    draws = engine.mosaic_draws(cfg)
    geo = result.geometry
    assert draws.shape == (geo.mosaic_domains, 3)
    assert np.all(np.abs(draws[:, :2]) <= 1.0) and np.all((draws[:, 2] >= 0) & (draws[:, 2] <= 1))
    t = engine.trace(cfg, [(128, 128)])
    a = t["a_m"][0, 0, 0, 0, 0]  # (domain, xyz), single phi step
    a0 = np.array(geo.a_m)
    assert np.array_equal(a[0], a0)  # domain 0 is the unrotated crystal
    spread = np.float32(geo.mosaic_spread_rad)
    for m in range(1, geo.mosaic_domains):
        r1, r2, cap = draws[m]
        axis = (math.sqrt(1 - r2 * r2) * math.sin(math.pi * r1), math.sqrt(1 - r2 * r2) * math.cos(math.pi * r1), r2)
        angle = float(np.float32(spread * np.float32(cap)))
        from c_engine_support import rodrigues

        assert np.allclose(a[m], rodrigues(axis, angle, a0), rtol=1e-12, atol=1e-22)


# ---------------------------------------------------------------- the ran1 generator


def _reference_ran1(seed, n, state=None):
    """Park-Miller minimal standard with Bays-Durham shuffle (Numerical Recipes ran1), written from the book."""
    IA, IM, IQ, IR, NTAB = 16807, 2147483647, 127773, 2836, 32
    NDIV = 1 + (IM - 1) // NTAB
    idum = -seed
    iy, iv = (0, [0] * NTAB) if state is None else state
    out = []

    def step(x):
        k = int(x / IQ)  # C division truncates toward zero
        x = IA * (x - k * IQ) - IR * k
        return x + IM if x < 0 else x

    for _ in range(n):
        if idum <= 0 or not iy:
            idum = 1 if -idum < 1 else -idum
            for j in range(NTAB + 7, -1, -1):
                idum = step(idum)
                if j < NTAB:
                    iv[j] = idum
            iy = iv[0]
        idum = step(idum)
        j = iy // NDIV
        iy = iv[j]
        iv[j] = idum
        value = np.float32((1.0 / IM) * iy)
        out.append(value if value <= 1.0 - 1.2e-7 else np.float32(1.0 - 1.2e-7))
    return np.array(out, dtype=np.float32)


@pytest.mark.parametrize("seed", [1, 12345678, 42, 0, -5])
def test_ran1_stream_matches_reference_generator(seed):
    assert np.array_equal(engine.ran1_stream(seed, 200), _reference_ran1(seed, 200))


def test_ran1_first_deviate_of_seed_minus_one_is_the_published_value():
    # Numerical Recipes in C (2nd ed.), ran1 with idum = -1: first deviate 0.41599935
    assert engine.ran1_stream(1, 1)[0] == np.float32(0.41599935)


# ---------------------------------------------------------------- errors


def _minimal():
    return Config(
        crystal=CrystalConfig(cell=(50, 50, 50, 90, 90, 90)),
        structure_factors=StructureFactorConfig(default_F=10.0),
        engine="c",
    )


def test_missing_cell_is_an_error_naming_the_flags():
    cfg = _minimal()
    cfg.crystal.cell = None
    with pytest.raises(ConfigError, match=r"-cell.*-mat"):
        engine.simulate(cfg)


def test_mask_of_the_wrong_size_is_rejected_with_both_shapes():
    cfg = _minimal()
    cfg.detector.detpixels = (100, 80)
    cfg.detector.mask = np.ones((96, 128), dtype=np.uint16)
    with pytest.raises(ConfigError, match=r"mask \(-mask\) is 128 x 96 pixels \(fast x slow\) but the detector is 100 x 80"):
        engine.simulate(cfg)


def test_no_structure_factors_is_an_error():
    cfg = _minimal()
    cfg.structure_factors.default_F = 0.0
    with pytest.raises(ConfigError, match="default_F"):
        engine.simulate(cfg)


@pytest.mark.parametrize(
    "mutate,pattern",
    [
        (lambda c: setattr(c.beam, "wavelength_A", 0.0), "wavelength"),
        (lambda c: setattr(c.detector, "pixel_size_mm", -0.1), "pixel_size_mm"),
        (lambda c: setattr(c.detector, "detsize_mm", (0.0, 0.0)), "detector"),
        (lambda c: setattr(c.crystal, "n_cells", (float("nan"), 1, 1)), "n_cells"),
        (lambda c: setattr(c.crystal, "cell", (0, 50, 50, 90, 90, 90)), "cell"),
        (lambda c: setattr(c, "phi_mode", "sideways"), "phi_mode"),
    ],
)
def test_bad_values_raise_named_errors(mutate, pattern):
    cfg = _minimal()
    mutate(cfg)
    with pytest.raises(ConfigError, match=pattern):
        engine.simulate(cfg)


def test_trace_rejects_pixels_outside_the_detector():
    cfg = _minimal()
    cfg.detector.detpixels = (16, 8)
    with pytest.raises(CEngineError, match="outside the 8x16 detector"):
        engine.trace(cfg, [(8, 0)])


def test_vectors_given_with_a_named_convention_are_ignored_with_a_warning():
    cfg = _minimal()
    cfg.detector.detpixels = (16, 16)
    plain = engine.simulate(cfg)
    cfg.beam.beam_vector = (0, 0, 1)
    result = engine.simulate(cfg)
    assert np.array_equal(result.float_image, plain.float_image)
    assert any("beam_vector is ignored" in w for w in result.warnings)
    cfg.detector.convention = "CUSTOM"
    cfg.detector.fdet_vector, cfg.detector.sdet_vector, cfg.detector.odet_vector = (1, 0, 0), (0, 1, 0), (0, 0, 1)
    assert not any("ignored" in w for w in engine.simulate(cfg).warnings)


def test_misset_random_without_seed_uses_the_clock_and_says_so():
    cfg = _minimal()
    cfg.detector.detpixels = (8, 8)
    cfg.crystal.misset_random = True
    result = engine.simulate(cfg)
    notes = [w for w in result.warnings if "misset seed" in w]
    assert len(notes) == 1
    seed = int(notes[0].split("misset seed ")[1].split()[0])
    cfg.crystal.misset_seed = seed
    again = engine.simulate(cfg)
    assert np.array_equal(again.geometry.misset_rad, result.geometry.misset_rad)


def test_plan_and_config_noise_entry_points_agree_with_a_continued_stream(rendered):
    """A user seed given as a negative number continues the shuffle table left by
    the random-misset and mosaic draws; both C entry points must see those draws."""
    from nanobrag.c_engine import ffi, lib

    cfg, result = rendered("mosaic_domains_seed")
    cfg = cfg.copy()
    cfg.crystal.misset_deg, cfg.crystal.misset_random, cfg.crystal.misset_seed = None, True, 7
    image = engine.simulate(cfg).float_image
    by_config = {seed: engine.noise_image(cfg, image, seed=seed)[0] for seed in (-3, 3)}
    ccfg, keep = engine.to_nb_config(cfg)
    plan = ffi.new("nb_plan **")
    assert lib.nb_plan_create(ccfg, plan, ffi.NULL, 0) == lib.NB_OK
    try:
        for seed, expected in by_config.items():
            out = np.zeros_like(expected)
            status = lib.nb_plan_noise_image(plan[0], ffi.cast("const float *", ffi.from_buffer(image)), image.size,
                                             40.0, seed, ffi.cast("uint16_t *", ffi.from_buffer(out)), ffi.NULL, ffi.NULL)
            assert status == lib.NB_OK
            assert np.array_equal(out, expected)
    finally:
        lib.nb_plan_free(plan[0])
    # the continued stream depends on the earlier draws (the mosaic stream re-seeds
    # the table, so its seed is what matters), the re-seeded one does not
    other = cfg.copy()
    other.crystal.mosaic_seed = 778
    assert not np.array_equal(engine.noise_image(other, image, seed=-3)[0], by_config[-3])
    assert np.array_equal(engine.noise_image(other, image, seed=3)[0], by_config[3])


def test_infinite_attenuation_depth_means_nothing_is_absorbed():
    """Legacy: '-detector_abs inf' gives mu = 0; with a sensor thickness left (given
    afterwards on the command line) the capture fraction and the image are 0
    ('sensor is 0.0001 m thick in 2 layers with mu= 0', max_I = 0 in a legacy run)."""
    cfg = _minimal()
    cfg.detector.detpixels = (16, 16)
    cfg.detector.attenuation_depth_um = float("inf")
    assert engine.simulate(cfg).float_image.max() > 0  # no thickness: no sensor model
    cfg.detector.thickness_um = 100.0
    result = engine.simulate(cfg)
    assert result.geometry.detector_mu_per_m == 0.0 and result.geometry.detector_thicksteps == 2
    assert result.float_image.max() == 0.0


def test_configurations_the_library_refuses_raise_config_error():
    """An out-of-domain value is a ConfigError from either engine (here: 0 phi steps from -osc 0 with a step)."""
    from nanobrag import ConfigError
    from nanobrag.c_engine import CEngineConfigError

    config = Config.from_args("-cell 50 60 70 90 90 90 -default_F 10 -detpixels 8 -osc 0 -phistep 0.2".split())
    with pytest.raises(ConfigError, match="phi") as info:
        engine.simulate(config)
    assert isinstance(info.value, CEngineConfigError)
