"""Legacy output conversions (nanobrag.outputs) against the golden legacy outputs.

Each golden float image is wrapped in a minimal SimulationResult whose config
and geometry carry only what the conversions read -- ROI, mask, ADC offset,
-scale, -pgmscale, oversample, pixel size -- taken from the case's command
line, the mask file it names, or the legacy program's own stdout (for the
auto-selected oversample), never from our own outputs.  The integer and PGM
images must then match the legacy files exactly (bit for bit: these are
integer images of deterministic arithmetic), and the printed statistics must
match to the 6 significant digits of the legacy %g output.
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import fields

import numpy as np
import pytest

import golden_cases as g
import nanobrag.seeds
from nanobrag import Config, Geometry, SimulationResult
from nanobrag import outputs
from nanobrag.io import read_smv

# cases with a noiseless int image (every case writes one)
INT_CASES = [c.name for c in g.all_cases() if any(o["kind"] == "smv" and "noise" not in o["file"] for o in c.record["outputs"])]
PGM_CASES = [c.name for c in g.all_cases() if any(o["kind"] == "pgm" for o in c.record["outputs"])]
QUICK = [n for n in INT_CASES if n != "timing_1024"]


def flag_values(args, flag, count=1):
    """The values after the LAST exact occurrence of ``flag`` on a legacy command line (None if absent)."""
    if flag not in args:
        return None
    i = len(args) - 1 - args[::-1].index(flag)
    return args[i + 1 : i + 1 + count]


def blank_geometry(**values) -> Geometry:
    """A Geometry with every field zero except those given (the conversions read only a few)."""
    base = {f.name: (0.0, 0.0, 0.0) if "Vec3" in str(f.type) else 0 for f in fields(Geometry)}
    base.update(convention="MOSFLM", pivot="beam", roi=None)
    base.update(values)
    return Geometry(**base)


def _oversample_from_stdout(case) -> int:
    m = re.search(r"^\s*(\d+)x(\d+) pixel oversample steps", case.stdout(), re.M)
    assert m, f"{case.name}: no oversample line in stdout"
    return int(m.group(1))


def golden_result(name: str, workdir=None) -> SimulationResult:
    """A SimulationResult for a golden case's float image, carrying the case's output settings."""
    case = g.case(name)
    args = case.args
    image = case.float_image(next(o["file"] for o in case.record["outputs"] if o["kind"] == "float32"))
    slow, fast = image.shape
    config = Config()
    out = config.output
    if flag_values(args, "-adc"):
        out.adc_offset = float(flag_values(args, "-adc")[0])
    if flag_values(args, "-scale"):
        out.int_scale = float(flag_values(args, "-scale")[0])
    if flag_values(args, "-pgmscale"):
        out.pgm_scale = float(flag_values(args, "-pgmscale")[0])
    roi = flag_values(args, "-roi", 4)
    if roi:
        config.detector.roi = tuple(int(v) for v in roi)
    pixel_mm = 0.1  # legacy default
    if flag_values(args, "-mask"):
        mask_name = flag_values(args, "-mask")[0]
        assert workdir is not None
        case.materialize_inputs(workdir)
        mask = read_smv(os.path.join(workdir, mask_name))
        config.detector.mask = mask.data
        pixel_mm = mask.value("PIXEL_SIZE")
    if flag_values(args, "-img"):
        assert workdir is not None
        case.materialize_inputs(workdir)
        pixel_mm = read_smv(os.path.join(workdir, flag_values(args, "-img")[0])).value("PIXEL_SIZE")
    if flag_values(args, "-pixel"):
        pixel_mm = float(flag_values(args, "-pixel")[0])
    geometry = blank_geometry(
        fpixels=fast,
        spixels=slow,
        pixel_size_m=pixel_mm / 1000.0,
        oversample=_oversample_from_stdout(case),
        roi=config.detector.roi if config.detector.roi else (0, fast - 1, 0, slow - 1),
    )
    return SimulationResult(config=config, engine="c", float_image=image, geometry=geometry)


def _int_file(case):
    return next(o["file"] for o in case.record["outputs"] if o["kind"] == "smv" and "noise" not in o["file"])


def _pgm_file(case):
    return next(o["file"] for o in case.record["outputs"] if o["kind"] == "pgm")


def _printed(case, pattern):
    m = re.search(pattern, case.stdout(), re.M)
    assert m, f"{case.name}: {pattern!r} not in stdout"
    return m.groups()


def _same_g(value: float, printed: str) -> bool:
    """Does C printf("%g") of value print ``printed``?  (C prints a NaN from inf-inf as -nan.)"""
    if math.isnan(value):
        return printed in ("nan", "-nan")
    return "%g" % value == printed


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "timing_1024" else n for n in INT_CASES])
def test_int_image_matches_legacy(name, tmp_path):
    case = g.case(name)
    result = golden_result(name, tmp_path)
    _, golden = case.smv(_int_file(case))
    ours = outputs.int_image(*_image_args(result))
    assert ours.dtype == np.uint16 and ours.shape == golden.shape
    differing = np.argwhere(ours != golden)
    assert differing.size == 0, f"{len(differing)} pixels differ, first at (slow, fast) {tuple(differing[0])}"


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "timing_1024" else n for n in PGM_CASES])
def test_pgm_image_and_scale_match_legacy(name, tmp_path):
    case = g.case(name)
    result = golden_result(name, tmp_path)
    raw = case.read(_pgm_file(case))
    (printed_scale,) = re.search(rb"# pixels scaled by (\S+)\n", raw).groups()
    assert _same_g(outputs.pgm_image_scale(*_image_args(result)), printed_scale.decode())
    ours = outputs.pgm_image(*_image_args(result))
    golden = np.frombuffer(raw[-ours.size :], dtype=np.uint8).reshape(ours.shape)
    differing = np.argwhere(ours != golden)
    assert differing.size == 0, f"{len(differing)} pixels differ, first at (slow, fast) {tuple(differing[0])}"


@pytest.mark.parametrize("name", QUICK)
def test_statistics_match_legacy_stdout(name, tmp_path):
    case = g.case(name)
    result = golden_result(name, tmp_path)
    stats = outputs.image_statistics(result.float_image, result.geometry, result.config.detector.mask)
    max_I, max_x, max_y = _printed(case, r"^max_I = (\S+)  at (\S+) (\S+)$")
    mean, rms, rmsd = _printed(case, r"^mean= (\S+) rms= (\S+) rmsd= (\S+)$")
    (int_scale,) = _printed(case, r"^intfile_scale = (\S+)$")
    assert _same_g(stats.max_I, max_I)
    assert _same_g(stats.max_I_x_m, max_x) and _same_g(stats.max_I_y_m, max_y)
    assert _same_g(stats.mean, mean)
    assert _same_g(stats.rms, rms)
    assert _same_g(stats.rmsd, rmsd)
    assert _same_g(outputs.int_image_scale(*_image_args(result)), int_scale)
    if "pgm_scale" in case.stdout():
        (pgm_scale,) = _printed(case, r"^pgm_scale = (\S+)$")
        assert _same_g(outputs.pgm_image_scale(*_image_args(result)), pgm_scale)


def test_statistics_count_only_unmasked_roi_pixels(tmp_path):
    result = golden_result("mask_pgm_scale", tmp_path)
    stats = outputs.image_statistics(result.float_image, result.geometry, result.config.detector.mask)
    mask = result.config.detector.mask
    assert stats.n == int(np.count_nonzero(mask))
    assert stats.n < mask.size  # the mask really masks something


def test_statistics_accumulate_in_raster_order_like_the_legacy_loop():
    # 1e16 then fifteen 0.5s: a running double sum drops every 0.5 (below half an ulp of 1e16),
    # numpy's blocked/pairwise np.sum keeps some of them
    image = np.array([[1e16] + [0.5] * 15], dtype=np.float32)
    # 1.1f * 1.1f rounded to float differs from the double product: the legacy squares in float
    image[0, 1] = 1.1
    result = SimulationResult(
        config=Config(), engine="c", float_image=image,
        geometry=blank_geometry(fpixels=16, spixels=1, pixel_size_m=1e-4, oversample=1, roi=(0, 15, 0, 0)),
    )
    total, sumsqr = 0.0, 0.0
    for v in image.ravel():
        total += float(v)
        sumsqr += float(v * v)  # float32 * float32 -> float32, then added in double
    stats = outputs.image_statistics(result.float_image, result.geometry, result.config.detector.mask)
    assert stats.sum == total and stats.sumsqr == sumsqr
    assert float(np.sum(image, dtype=np.float64)) != total  # the order really matters here
    assert float(image[0, 1] * image[0, 1]) != float(image[0, 1]) ** 2


def test_first_maximum_and_last_subpixel_position():
    image = np.zeros((3, 4), dtype=np.float32)
    image[1, 2] = image[2, 0] = 5.0  # tie: the first in raster order wins
    result = SimulationResult(
        config=Config(), engine="c", float_image=image,
        geometry=blank_geometry(fpixels=4, spixels=3, pixel_size_m=1e-4, oversample=3, roi=(0, 3, 0, 2)),
    )
    stats = outputs.image_statistics(result.float_image, result.geometry, result.config.detector.mask)
    sub = 1e-4 / 3
    assert stats.max_I == 5.0
    assert stats.max_I_x_m == sub * (2 * 3 + 2) + sub / 2.0
    assert stats.max_I_y_m == sub * (1 * 3 + 2) + sub / 2.0


def test_int_image_rounds_through_float32():
    # t + 0.5 = 1000 - 2**-20: floor in double gives 999, but floorf receives float32(...) == 1000.0
    image = np.array([[0.0, 1.0, 1000.0]], dtype=np.float32)
    config = Config()
    config.output.int_scale = 100.0
    config.output.adc_offset = 999.5 - 2.0**-20
    result = SimulationResult(
        config=config, engine="c", float_image=image,
        geometry=blank_geometry(fpixels=3, spixels=1, pixel_size_m=1e-4, oversample=1, roi=(0, 2, 0, 0)),
    )
    assert outputs.int_image(*_image_args(result)).tolist() == [[1000, 1100, 65535]]  # the last one is clipped


def test_outside_roi_is_zero_and_masked_is_adc(tmp_path):
    result = golden_result("roi_custom_filenames", tmp_path)
    ints = outputs.int_image(*_image_args(result))
    pgm = outputs.pgm_image(*_image_args(result))
    fmin, fmax, smin, smax = result.config.detector.roi
    outside = np.ones(ints.shape, dtype=bool)
    outside[smin : smax + 1, fmin : fmax + 1] = False
    assert not ints[outside].any() and not pgm[outside].any()
    assert (ints[~outside] >= 40).all()
    masked = golden_result("mask_pgm_scale", tmp_path)
    ints = outputs.int_image(*_image_args(masked))
    assert (ints[masked.config.detector.mask == 0] == 40).all()


def _image_args(result):
    """What the image conversions take: float image, geometry, output settings, mask."""
    return result.float_image, result.geometry, result.config.output, result.config.detector.mask


class _FakeCEngine:
    def __init__(self):
        self.calls = []

    def noise_image(self, config, float_image, seed):
        self.calls.append(seed)
        return np.full(float_image.shape, 7, dtype=np.uint16), 3, 123.0


@pytest.fixture
def fake_c_engine(monkeypatch):
    fake = _FakeCEngine()
    monkeypatch.setattr(outputs.random_streams, "noise_image", fake.noise_image)
    return fake


def test_noise_image_delegates_with_seed_resolution(fake_c_engine, monkeypatch):
    result = golden_result("cubic_default_F")
    image, overloads, photons = outputs.noise_image_with_counts(result.float_image, result.config, seed=5)
    assert image.shape == result.float_image.shape and (overloads, photons) == (3, 123.0)
    result.config.output.noise_seed = 99
    outputs.noise_image(result.float_image, result.config)
    monkeypatch.setattr(nanobrag.seeds.time, "time", lambda: 1234.9)
    result.config.output.noise_seed = None
    outputs.noise_image(result.float_image, result.config)
    assert fake_c_engine.calls == [5, 99, 1234]


def test_noise_image_matches_legacy():
    case = g.case("noise_seed_adc_scale")
    result = golden_result("noise_seed_adc_scale")
    result.config.output.noise_seed = int(flag_values(case.args, "-seed")[0])
    _, golden = case.smv("noiseimage.img")
    image, overloads, photons = outputs.noise_image_with_counts(result.float_image, result.config)
    assert np.array_equal(image, golden)
    printed_photons, printed_overloads = _printed(case, r"^(\S+) photons on noise image \((\d+) overloads\)")
    assert int(printed_overloads) == overloads and "%.0f" % photons == printed_photons


def test_write_legacy_outputs_reproduces_golden_files(tmp_path, fake_c_engine):
    name = "roi_custom_filenames"
    case = g.case(name)
    result = golden_result(name, tmp_path)
    out = result.config.output
    out.float_image_path, out.int_image_path = "roi_float.bin", "roi_int.img"
    out.write_noise = False
    header_fields = case.smv("roi_int.img")[0]
    result.geometry = _geometry_from_header(header_fields, result.geometry)
    written = outputs.write_legacy_outputs(result, directory=str(tmp_path))
    assert [os.path.basename(p) for p in written] == ["roi_float.bin", "roi_int.img", "image.pgm"]
    for path in written:
        assert open(path, "rb").read() == case.read(os.path.basename(path)), path
    assert fake_c_engine.calls == []
    out.write_noise, out.write_pgm = True, False
    written = outputs.write_legacy_outputs(result, directory=str(tmp_path), noise_seed=11)
    assert [os.path.basename(p) for p in written] == ["roi_float.bin", "roi_int.img", "noiseimage.img"]
    assert fake_c_engine.calls == [11]
    noise = read_smv(written[-1])
    assert noise.header_text == read_smv(written[1]).header_text and (noise.data == 7).all()


def _geometry_from_header(h, geometry):
    """Geometry values that make SMVHeader.from_geometry print this (MOSFLM-convention) golden header."""
    px = float(h["PIXEL_SIZE"]) / 1000.0
    values = dict(
        pixel_size_m=px,
        distance_m=float(h["DISTANCE"]) / 1000.0,
        close_distance_m=float(h["CLOSE_DISTANCE"]) / 1000.0,
        wavelength_m=float(h["WAVELENGTH"]) / 1e10,
        xbeam_m=float(h["BEAM_CENTER_X"]) / 1000.0,
        ybeam_m=float(h["BEAM_CENTER_Y"]) / 1000.0,
        fbeam_m=float(h["DENZO_Y_BEAM"]) / 1000.0,
        sbeam_m=float(h["DENZO_X_BEAM"]) / 1000.0,
        detsize_s_m=int(h["SIZE2"]) * px,
        dials_origin_mm=tuple(float(v) for v in h["DIALS_ORIGIN"].split(",")),
        orgx_px=float(h["XDS_ORGX"]),
        orgy_px=float(h["XDS_ORGY"]),
    )
    return blank_geometry(**{**geometry.as_dict(), **values})


def test_write_legacy_outputs_writes_nothing_when_a_conversion_fails(tmp_path, monkeypatch):
    result = golden_result("cubic_default_F")

    def broken(*args, **kwargs):
        raise RuntimeError("noise generator failed")

    monkeypatch.setattr(outputs.random_streams, "noise_image", broken)
    with pytest.raises(RuntimeError, match="noise generator failed"):
        outputs.write_legacy_outputs(result, directory=str(tmp_path))
    assert os.listdir(tmp_path) == []
