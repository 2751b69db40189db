"""miniCBF, PNG and SMV images read back with independent readers (fabio, Pillow, nxmx/h5py).

The command-line tests render a 16 x 24 detector (fast x slow) with each engine
and read every written file back; expected pixels come from the run's own
float image through the documented conversion rules, written out here.
"""
from __future__ import annotations

import math
import os
import re
import warnings

import numpy as np
import pytest

fabio = pytest.importorskip("fabio")
PIL_Image = pytest.importorskip("PIL.Image")

from nanobrag.io.cbf import MiniCBFHeader, write_cbf  # noqa: E402
from nanobrag.io.counts import photons_to_counts  # noqa: E402
from nanobrag.io.png import log_scaled, write_png  # noqa: E402

FAST, SLOW = 16, 24
RUN = ["-cell", "50", "60", "70", "90", "90", "90", "-default_F", "100", "-N", "3", "-detpixels_f", str(FAST),
       "-detpixels_s", str(SLOW), "-pixel", "0.4", "-distance", "50", "-lambda", "1.1", "-osc", "0.5",
       "-phi", "2", "-seed", "7", "-noprogress", "-Xbeam", "3.3", "-Ybeam", "5.1"]


def _cbf_header_values(image) -> dict:
    text = image.header["_array_data.header_contents"]
    values = {}
    for line in text.replace("\r", "").split("\n"):
        line = line.lstrip("# ").strip()
        m = re.match(r"(Pixel_size|Exposure_time|Count_cutoff|Wavelength|Detector_distance|Start_angle|"
                     r"Angle_increment)\s+([-+0-9.eE]+)", line)
        if m:
            values[m.group(1)] = float(m.group(2))
        m = re.match(r"Beam_xy\s+\(([-+0-9.eE]+),\s*([-+0-9.eE]+)\)", line)
        if m:
            values["Beam_xy"] = (float(m.group(1)), float(m.group(2)))
    return values


def test_counts_rule():
    photons = np.array([[0.49, 0.5, 2.5, -7.0, 3e12]], dtype=np.float32)
    # floor(x + 0.5), clipped to [0, saturation]
    assert photons_to_counts(photons, saturation_value=1000).tolist() == [[0, 1, 3, 0, 1000]]
    assert photons_to_counts(photons).tolist() == [[0, 1, 3, 0, 2**31 - 1]]
    with pytest.raises(ValueError, match="NaN"):
        photons_to_counts(np.array([np.nan]))


def test_cbf_pixels_and_header_read_back_with_fabio(tmp_path):
    image = (np.arange(SLOW * FAST, dtype=np.float32).reshape(SLOW, FAST) * 13.7) - 20.0
    header = MiniCBFHeader(pixel_size_m=172e-6, detector_distance_m=0.25, wavelength_A=0.9793,
                           beam_xy_px=(7.25, 11.5), start_angle_deg=12.5, angle_increment_deg=0.1,
                           exposure_time_s=0.04, count_cutoff=4000)
    path = tmp_path / "x.cbf"
    write_cbf(path, image, header)
    assert os.listdir(tmp_path) == ["x.cbf"]  # no temporary left behind
    read = fabio.open(str(path))
    assert read.data.dtype == np.int32 and read.data.shape == (SLOW, FAST)
    expected = np.clip(np.floor(image.astype(np.float64) + 0.5), 0, 4000).astype(np.int32)
    np.testing.assert_array_equal(read.data, expected)
    assert read.header["_array_data.header_convention"].strip('"') == "GENERIC_MINI"
    values = _cbf_header_values(read)
    assert values["Pixel_size"] == pytest.approx(172e-6, rel=1e-9)
    assert values["Detector_distance"] == pytest.approx(0.25, rel=1e-9)
    assert values["Wavelength"] == pytest.approx(0.9793, rel=1e-9)
    assert values["Beam_xy"] == pytest.approx((7.25, 11.5), rel=1e-9)
    assert values["Start_angle"] == pytest.approx(12.5, rel=1e-9)
    assert values["Angle_increment"] == pytest.approx(0.1, rel=1e-9)
    assert values["Exposure_time"] == pytest.approx(0.04, rel=1e-9)
    assert values["Count_cutoff"] == 4000


def test_png_read_back_with_pillow(tmp_path):
    grey = (np.arange(SLOW * FAST).reshape(SLOW, FAST) % 256).astype(np.uint8)
    path = tmp_path / "p.png"
    write_png(path, grey)
    with PIL_Image.open(path) as im:
        assert im.mode == "L" and im.size == (FAST, SLOW)  # Pillow: (width = fast, height = slow)
        np.testing.assert_array_equal(np.asarray(im), grey)  # row 0 = slow 0 at the top


def test_log_scale():
    photons = np.array([[0.0, -1.0, 1.0, 99.0]])
    grey = log_scaled(photons)
    expected = [0, 0, math.floor(255 * math.log(2) / math.log(100)), 255]
    assert grey.tolist() == [expected]
    assert log_scaled(np.zeros((2, 2))).tolist() == [[0, 0], [0, 0]]


def _smv_header_float(image, key):
    return float(str(image.header[key]).strip())


def test_smv_int_and_noise_images_read_back_with_fabio(tmp_path):
    from nanobrag import api
    from nanobrag.config import Config
    from nanobrag.outputs import write_legacy_outputs

    config = Config.from_args(RUN[:-5] + ["-Xbeam", "3.3", "-Ybeam", "5.1"])
    result = api.simulate(config, engine="c", nthreads=1)
    write_legacy_outputs(result, directory=str(tmp_path), noise_seed=7)
    g = result.geometry
    for name, expected in (("intimage.img", result.int_image), ("noiseimage.img", result.noise_image(seed=7))):
        read = fabio.open(str(tmp_path / name))
        assert read.data.shape == (SLOW, FAST)
        np.testing.assert_array_equal(read.data.astype(np.int64), expected.astype(np.int64))
        assert int(read.header["SIZE1"]) == FAST and int(read.header["SIZE2"]) == SLOW
        assert _smv_header_float(read, "PIXEL_SIZE") == pytest.approx(0.4, rel=1e-6)
        assert _smv_header_float(read, "DISTANCE") == pytest.approx(g.distance_m * 1e3, rel=1e-6)
        assert _smv_header_float(read, "WAVELENGTH") == pytest.approx(1.1, rel=1e-6)
        assert _smv_header_float(read, "BEAM_CENTER_X") == pytest.approx(3.3, rel=1e-6)
        assert _smv_header_float(read, "BEAM_CENTER_Y") == pytest.approx(5.1, rel=1e-6)
        assert _smv_header_float(read, "OSC_START") == pytest.approx(2.0, rel=1e-6)
        assert _smv_header_float(read, "OSC_RANGE") == pytest.approx(0.5, rel=1e-6)
    # the noise image really differs from the noiseless one (the test compares two different files)
    assert not np.array_equal(result.int_image, result.noise_image(seed=7))


class _Run:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """The nanobrag command, in this process (a subprocess would re-import torch each time)."""
    from nanobrag.cli import main

    def run(args, cwd):
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = main(list(args))
        out = capsys.readouterr()
        return _Run(code, out.out, out.err)

    return run


@pytest.mark.parametrize("engine", ["c", "torch"])
def test_command_line_writes_nxmx_cbf_png(tmp_path, engine, run_cli):
    h5py = pytest.importorskip("h5py")
    nxmx = pytest.importorskip("nxmx")
    proc = run_cli([*RUN, "-engine", engine, "-nxmx", "a.h5", "-cbf", "a.cbf", "-png", "a.png",
                     "-floatfile", "f.bin", "-nonoise", "-saturation", "150"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    wrote = next(line for line in proc.stdout.splitlines() if line.startswith("wrote "))
    for name in ("a.h5", "a.cbf", "a.png"):
        assert name in wrote
    photons = np.fromfile(tmp_path / "f.bin", dtype=np.float32).reshape(SLOW, FAST)
    assert photons.max() > 150  # the saturation clips something
    with h5py.File(tmp_path / "a.h5", "r") as handle:
        entry = nxmx.NXmx(handle).entries[0]
        data = entry.data[0][entry.data[0].signal]
        assert data.dtype == np.float32  # float32 photons by default; no saturation applied
        np.testing.assert_array_equal(data[0], photons)
        axis = entry.samples[0].depends_on  # osc 0.5: a one-frame rotation scan from phi = 2
        assert float(axis[()].to("deg").magnitude[0]) == pytest.approx(2.0)
        assert float(axis.end[0].to("deg").magnitude) == pytest.approx(2.5)
    cbf = fabio.open(str(tmp_path / "a.cbf"))
    np.testing.assert_array_equal(cbf.data, np.clip(np.floor(photons.astype(np.float64) + 0.5), 0, 150))
    values = _cbf_header_values(cbf)
    assert values["Count_cutoff"] == 150
    assert values["Wavelength"] == pytest.approx(1.1)
    assert values["Start_angle"] == pytest.approx(2.0) and values["Angle_increment"] == pytest.approx(0.5)
    # Beam_xy: the direct beam in pixels (fast, slow) from pixel 0's corner; MOSFLM swaps X/Y and adds half a pixel
    assert values["Beam_xy"] == pytest.approx(((5.1 + 0.2) / 0.4, (3.3 + 0.2) / 0.4), rel=1e-9)
    with PIL_Image.open(tmp_path / "a.png") as im:
        png = np.asarray(im)
    pgm = (tmp_path / "image.pgm").read_bytes()
    np.testing.assert_array_equal(png, np.frombuffer(pgm[-SLOW * FAST:], np.uint8).reshape(SLOW, FAST))


def test_command_line_int32_nxmx_and_log_png(tmp_path, run_cli):
    h5py = pytest.importorskip("h5py")
    proc = run_cli([*RUN, "-engine", "c", "-nxmx", "b.h5", "-nxmx_data", "int32", "-saturation", "150",
                     "-nxmx_compression", "none", "-png", "b.png", "-png_scale", "log", "-floatfile", "f.bin",
                     "-nonoise", "-nopgm"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    photons = np.fromfile(tmp_path / "f.bin", dtype=np.float32).reshape(SLOW, FAST)
    with h5py.File(tmp_path / "b.h5", "r") as handle:
        data = handle["/entry/data/data"]
        assert data.dtype == np.int32 and data.compression is None
        np.testing.assert_array_equal(data[0], np.clip(np.floor(photons.astype(np.float64) + 0.5), 0, 150))
        assert int(handle["/entry/instrument/detector/saturation_value"][()]) == 150
    with PIL_Image.open(tmp_path / "b.png") as im:
        png = np.asarray(im)
    top = float(photons.max())
    exact = 255 * np.log1p(np.maximum(photons.astype(np.float64), 0)) / math.log1p(top)
    expected = np.floor(exact)
    expected[photons == top] = 255
    # log1p's last bit depends on the CPU's vector kernels: a grey level within 1e-9 of an
    # integer may land on either side; every other pixel must match exactly
    near_integer = np.abs(exact - np.round(exact)) < 1e-9
    assert np.all(np.abs(png.astype(int) - expected) <= near_integer)


def test_command_line_rejects_bad_format_options(tmp_path, run_cli):
    for args, flag in ((["-nxmx_data", "uint16"], "-nxmx_data"), (["-png_scale", "sqrt"], "-png_scale"),
                       (["-saturation", "0"], "-saturation"), (["-nxmx_compression", "lzf"], "-nxmx_compression")):
        proc = run_cli([*RUN, *args], tmp_path)
        assert proc.returncode == 2 and flag in proc.stderr
        assert os.listdir(tmp_path) == []


def test_command_line_nxmx_spectrum_of_a_dispersed_beam(tmp_path, run_cli):
    h5py = pytest.importorskip("h5py")
    nxmx = pytest.importorskip("nxmx")
    proc = run_cli([*RUN, "-engine", "c", "-dispersion", "2", "-dispsteps", "5", "-nxmx", "s.h5", "-nonoise",
                    "-nopgm"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(tmp_path / "s.h5", "r") as handle:
        beam = nxmx.NXmx(handle).entries[0].instruments[0].beams[0]
        wl = beam.incident_wavelength.to("angstrom").magnitude
        # 2 % full width around 1.1 A in 5 equal steps, one source each
        np.testing.assert_allclose(wl, 1.1 * (1 + np.linspace(-0.01, 0.01, 5)), rtol=1e-12)
        np.testing.assert_array_equal(handle["/entry/instrument/beam/incident_wavelength_weights"][()], [1.0] * 5)


def test_config_validation_names_the_format_fields():
    from nanobrag.config import Config, ConfigError

    for field, value in (("nxmx_data", "uint16"), ("nxmx_compression", "lzf"), ("png_scale", "sqrt")):
        config = Config.from_args(RUN)
        setattr(config.output, field, value)
        with pytest.raises(ConfigError, match=f"output.{field}"):
            config.validate()


def test_command_line_nxmx_marks_pixels_outside_the_roi(tmp_path, run_cli):
    h5py = pytest.importorskip("h5py")
    nxmx = pytest.importorskip("nxmx")
    proc = run_cli([*RUN, "-engine", "c", "-roi", "2", "9", "3", "20", "-nxmx", "r.h5", "-nonoise", "-nopgm"],
                   tmp_path)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(tmp_path / "r.h5", "r") as handle:
        det = nxmx.NXmx(handle).entries[0].instruments[0].detectors[0]
        mask = det.pixel_mask[()]
        expected = np.full((SLOW, FAST), 256, np.uint32)  # bit 8: user-defined mask
        expected[3:21, 2:10] = 0  # -roi XMIN XMAX YMIN YMAX is inclusive (fast 2..9, slow 3..20)
        np.testing.assert_array_equal(mask, expected)


def test_cbf_header_warns_for_a_tilted_detector():
    from nanobrag.config import Config
    from nanobrag.derived import run_geometry

    flat = run_geometry(Config.from_args(RUN))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MiniCBFHeader.from_geometry(flat)  # normal to the beam: no warning
    tilted = run_geometry(Config.from_args(RUN + ["-twotheta", "15"]))
    with pytest.warns(UserWarning, match="tilted 15 deg"):
        MiniCBFHeader.from_geometry(tilted)


def test_command_line_notes_a_cbf_of_a_tilted_detector(tmp_path, run_cli):
    proc = run_cli([*RUN, "-engine", "c", "-twotheta", "15", "-cbf", "t.cbf", "-nonoise", "-nopgm"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "nanobrag: note: the detector is tilted 15 deg" in proc.stderr
    assert (tmp_path / "t.cbf").exists()
