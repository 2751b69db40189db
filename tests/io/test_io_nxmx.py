"""NXmx files read back with the independent ``nxmx`` package (dials/nxmx on PyPI).

The panel origin and the fast/slow axes are formed from the file's
transformation chain by the few lines dxtbx uses (origin = cumulative chain
applied to the fast axis' offset; axes = the chain's rotation applied to the
vectors) and compared with the engine's own pix0, fdet, sdet, converted to the
McStas frame by the documented rotation.  Geometry comes from the C engine's
derivation (no rendering), with a 16 x 24 detector (fast x slow, non-square to
catch a swap).
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
nxmx = pytest.importorskip("nxmx")

from nanobrag.config import Config  # noqa: E402
from nanobrag.io.nxmx import nexus_rotation, nxmx_bytes, write_nxmx  # noqa: E402

FAST, SLOW = 16, 24
BASE = ["-cell", "50", "60", "70", "90", "95", "100", "-default_F", "1", "-N", "1", "-pixel", "0.1",
        "-detpixels_f", str(FAST), "-detpixels_s", str(SLOW), "-distance", "100", "-lambda", "1.3"]
ROT = ["-detector_rotx", "3", "-detector_roty", "-4", "-detector_rotz", "5"]
CUSTOM = ["-fdet_vector", "0", "0", "1", "-sdet_vector", "0", "-1", "0", "-odet_vector", "1", "0", "0",
          "-beam_vector", "1", "0", "0", "-spindle_axis", "0", "0.6", "0.8", "-twotheta_axis", "0", "1", "0"]

CASES = {
    "MOSFLM": ["-mosflm", *ROT, "-twotheta", "20", "-Xbeam", "1.1", "-Ybeam", "0.9"],
    "MOSFLM-no-twotheta": ["-mosflm", *ROT],
    "DENZO": ["-denzo", *ROT, "-twotheta", "-15"],
    "ADXV": ["-adxv", *ROT, "-twotheta", "12"],
    "XDS": ["-xds", *ROT, "-twotheta", "25", "-ORGX", "3.5", "-ORGY", "30"],
    "DIALS": ["-dials", *ROT, "-twotheta", "8"],
    "CUSTOM-beam": [*CUSTOM, *ROT, "-twotheta", "30", "-pivot", "beam"],
    "CUSTOM-sample": [*CUSTOM, *ROT, "-twotheta", "30", "-pivot", "sample"],
}

# 1e-6 mm is the bound; the chain holds float64 values (mm), so the
# round trip error is ~1e-13 mm: the bound is met with a wide margin
TOL_MM = 1e-6


def _geometry(args):
    from nanobrag.c_engine import engine as c_engine

    return c_engine.geometry(Config.from_args(BASE + args))


def _panel_from_file(path):
    """(origin_mm, fast, slow, data shape) of the one panel, from the nxmx reader only."""
    with h5py.File(path, "r") as handle:
        entry = nxmx.NXmx(handle).entries[0]
        assert entry.definition == "NXmx"
        detector = entry.instruments[0].detectors[0]
        module = detector.modules[0]
        fast_axis = module.fast_pixel_direction
        slow_axis = module.slow_pixel_direction
        chain = nxmx.get_dependency_chain(fast_axis.depends_on)
        A = nxmx.get_cumulative_transformation(chain)[0]
        offset = fast_axis.offset.to("mm").magnitude if fast_axis.offset is not None else np.zeros(3)
        origin = A[:3, :3] @ offset + A[:3, 3]
        fast = A[:3, :3] @ np.asarray(fast_axis.vector)
        chain_s = nxmx.get_dependency_chain(slow_axis.depends_on)
        As = nxmx.get_cumulative_transformation(chain_s)[0]
        slow = As[:3, :3] @ np.asarray(slow_axis.vector)
        pixel = (fast_axis[()].to("mm").magnitude[0], slow_axis[()].to("mm").magnitude[0])
        data_size = tuple(int(v) for v in module.data_size)
        shape = entry.data[0][entry.data[0].signal].shape
        tt = nxmx.get_dependency_chain(detector.depends_on)[0]
        extra = {
            "sensor_material": detector.sensor_material,
            "sample_depends_on": entry.samples[0].depends_on,
            "wavelength_A": entry.instruments[0].beams[0].incident_wavelength.to("angstrom").magnitude,
            "twotheta_type": tt.transformation_type,
            "twotheta_deg": float(tt[()].to("deg").magnitude[0]),
        }
        return origin, fast, slow, pixel, data_size, shape, extra


@pytest.mark.parametrize("case", sorted(CASES))
def test_nxmx_panel_equals_engine_geometry(case, tmp_path):
    g = _geometry(CASES[case])
    if case.startswith("CUSTOM"):
        assert g.pivot == case.split("-")[1]  # both pivots are exercised
    path = tmp_path / "still.h5"
    image = np.arange(SLOW * FAST, dtype=np.float32).reshape(SLOW, FAST)
    assert write_nxmx(path, image, g) == os.fspath(path)
    origin, fast, slow, pixel, data_size, shape, extra = _panel_from_file(path)

    R = nexus_rotation(g.beam_vector, g.spindle_axis, g.polar_vector)
    # R is a proper rotation that puts the beam on +z (the reader's assumption)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(R @ np.asarray(g.beam_vector) / np.linalg.norm(g.beam_vector), [0, 0, 1], atol=1e-12)

    np.testing.assert_allclose(origin, R @ np.asarray(g.pix0_vector_m) * 1e3, rtol=0, atol=TOL_MM)
    # unit vectors: a 1e-6 mm bound over a 100 mm lever arm is 1e-8 in direction
    np.testing.assert_allclose(fast, R @ np.asarray(g.fdet_vector), rtol=0, atol=1e-8)
    np.testing.assert_allclose(slow, R @ np.asarray(g.sdet_vector), rtol=0, atol=1e-8)
    assert pixel == pytest.approx((0.1, 0.1), abs=1e-12)
    assert data_size == (SLOW, FAST)
    assert shape == (1, SLOW, FAST)
    assert extra["sensor_material"] == "Si"
    # a still: no goniometer
    assert extra["sample_depends_on"] is None
    assert float(extra["wavelength_A"]) == pytest.approx(1.3, rel=1e-12)
    # the two-theta axis carries the run's angle
    assert extra["twotheta_type"] == "rotation"
    assert extra["twotheta_deg"] == pytest.approx(math.degrees(g.twotheta_rad), abs=1e-12)
    with h5py.File(path, "r") as handle:
        np.testing.assert_array_equal(handle["/entry/data/data"][0], image)


def test_nxmx_every_pixel_position_matches(tmp_path):
    """The far corner too (catches a fast/slow swap or a wrong pixel size in the chain)."""
    g = _geometry(CASES["XDS"])
    path = tmp_path / "x.h5"
    write_nxmx(path, np.zeros((SLOW, FAST), np.float32), g)
    origin, fast, slow, pixel, *_ = _panel_from_file(path)
    R = nexus_rotation(g.beam_vector, g.spindle_axis, g.polar_vector)
    corner_file = origin + (FAST - 1) * pixel[0] * fast + (SLOW - 1) * pixel[1] * slow
    px = g.pixel_size_m * 1e3
    corner_engine = R @ (np.asarray(g.pix0_vector_m) * 1e3 + (FAST - 1) * px * np.asarray(g.fdet_vector)
                         + (SLOW - 1) * px * np.asarray(g.sdet_vector))
    np.testing.assert_allclose(corner_file, corner_engine, rtol=0, atol=TOL_MM)


def test_nxmx_rotation_series_angles_and_metadata(tmp_path):
    g = _geometry(CASES["MOSFLM"])
    frames = np.random.default_rng(1).random((3, SLOW, FAST)).astype(np.float32) * 100
    path = tmp_path / "series.h5"
    write_nxmx(path, frames, g, rotation=(10.0, 0.25), exposure_s=0.5,
               frame_metadata={"wavelength_A": [1.3, 1.31, 1.32], "seed": np.array([1, 2, 3])})
    with h5py.File(path, "r") as handle:
        entry = nxmx.NXmx(handle).entries[0]
        sample = entry.samples[0]
        axis = sample.depends_on
        assert axis.transformation_type == "rotation"
        np.testing.assert_allclose(axis[()].to("deg").magnitude, [10.0, 10.25, 10.5], atol=1e-12)
        np.testing.assert_allclose(axis.increment_set.to("deg").magnitude, [0.25] * 3, atol=1e-12)
        R = nexus_rotation(g.beam_vector, g.spindle_axis, g.polar_vector)
        np.testing.assert_allclose(axis.vector, R @ np.asarray(g.spindle_axis), atol=1e-12)
        # the MOSFLM spindle (+z) is the usual beamline axis: McStas -x
        np.testing.assert_allclose(axis.vector, [-1, 0, 0], atol=1e-12)
        rot = nxmx.get_rotation_axes(nxmx.get_dependency_chain(axis))
        assert list(rot.is_scan_axis) == [True]
        assert handle["/entry/data/data"].shape == (3, SLOW, FAST)
        np.testing.assert_array_equal(handle["/entry/data/data"][()], frames)
        fm = handle["/entry/sample/frame_metadata"]
        np.testing.assert_allclose(fm["wavelength_A"][()], [1.3, 1.31, 1.32])
        assert fm["wavelength_A"].attrs["units"] == "angstrom"
        np.testing.assert_array_equal(fm["seed"][()], [1, 2, 3])
        assert entry.instruments[0].detectors[0].count_time.to("s").magnitude == pytest.approx(0.5)
        # the crystal's own axes (Angstrom, McStas frame) and cell
        abc = np.array([g.a_m, g.b_m, g.c_m]) * 1e10
        np.testing.assert_allclose(handle["/entry/sample/nanobrag/real_space_vectors"][()], abc @ R.T, atol=1e-9)
        # the cell of the simulated lattice (the engines' vectors reproduce the legacy arithmetic, whose
        # angles for this triclinic-like cell differ from the -cell values by ~1e-3 degrees)
        a, b, c = abc
        cos = lambda u, v: np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v)  # noqa: E731
        expected = [*np.linalg.norm(abc, axis=1), *np.degrees(np.arccos([cos(b, c), cos(a, c), cos(a, b)]))]
        np.testing.assert_allclose(handle["/entry/sample/unit_cell"][()], expected, atol=1e-9)
        np.testing.assert_allclose(expected, [50, 60, 70, 90, 95, 100], atol=1e-2)


def test_nxmx_int32_saturation_and_spectrum(tmp_path):
    g = _geometry(CASES["DIALS"])
    image = np.zeros((SLOW, FAST), np.float32)
    image[0, 0], image[0, 1], image[0, 2], image[0, 3] = 2.5, 1e9, 70000.4, -3.0
    path = tmp_path / "int.h5"
    write_nxmx(path, image, g, data_kind="int32", saturation_value=1000000, underload_value=-1,
               wavelengths_A=[1.2, 1.3], weights=[0.25, 0.75], compression=None)
    with h5py.File(path, "r") as handle:
        entry = nxmx.NXmx(handle).entries[0]
        det = entry.instruments[0].detectors[0]
        assert det.saturation_value == 1000000 and det.underload_value == -1
        data = handle["/entry/data/data"]
        assert data.dtype == np.int32
        # round half up, clipped to [underload + 1, saturation]
        assert list(data[0, 0, :4]) == [3, 1000000, 70000, 0]
        beam = entry.instruments[0].beams[0]
        np.testing.assert_allclose(beam.incident_wavelength.to("angstrom").magnitude, [1.2, 1.3])
        np.testing.assert_allclose(handle["/entry/instrument/beam/incident_wavelength_weights"][()], [0.25, 0.75])


def test_nxmx_bitshuffle_lz4_reads_back(tmp_path):
    hdf5plugin = pytest.importorskip("hdf5plugin")
    g = _geometry(CASES["ADXV"])
    image = (np.arange(SLOW * FAST, dtype=np.float32).reshape(SLOW, FAST) % 7) * 1.5
    path = tmp_path / "bslz4.h5"
    write_nxmx(path, image, g, compression="bitshuffle-lz4")
    with h5py.File(path, "r") as handle:
        data = handle["/entry/data/data"]
        assert hdf5plugin.BSHUF_ID in data._filters or str(hdf5plugin.BSHUF_ID) in data._filters
        np.testing.assert_array_equal(data[0], image)


def test_nxmx_bytes_equals_a_readable_file(tmp_path):
    g = _geometry(CASES["MOSFLM"])
    blob = nxmx_bytes(np.ones((SLOW, FAST), np.float32), g, start_time="2026-01-01T00:00:00Z")
    path = tmp_path / "b.h5"
    path.write_bytes(blob)
    origin, *_ = _panel_from_file(path)
    R = nexus_rotation(g.beam_vector, g.spindle_axis, g.polar_vector)
    np.testing.assert_allclose(origin, R @ np.asarray(g.pix0_vector_m) * 1e3, atol=TOL_MM)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"data_kind": "uint8"}, "data_kind"),
        ({"compression": "zstd"}, "compression"),
        ({"sensor_material": "Ge"}, "sensor_material"),
        ({"rotation": ([0.0, 1.0], 0.1)}, "rotation start_deg"),
        ({"frame_metadata": {"seed": [1, 2]}}, "frame_metadata"),
        ({"wavelengths_A": [1.0, 2.0, 3.0]}, "wavelengths_A"),
    ],
)
def test_nxmx_bad_arguments_leave_no_file(tmp_path, kwargs, message):
    g = _geometry(CASES["MOSFLM"])
    path = tmp_path / "bad.h5"
    with pytest.raises(ValueError, match=message):
        write_nxmx(path, np.zeros((SLOW, FAST), np.float32), g, **kwargs)
    assert os.listdir(tmp_path) == []


def test_nxmx_refuses_nan_and_wrong_shape(tmp_path):
    g = _geometry(CASES["MOSFLM"])
    image = np.zeros((SLOW, FAST), np.float32)
    image[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_nxmx(tmp_path / "n.h5", image, g)
    with pytest.raises(ValueError, match="slow, fast"):
        write_nxmx(tmp_path / "n.h5", np.zeros((FAST, SLOW), np.float32), g)
    assert os.listdir(tmp_path) == []


def test_dxtbx_imports_the_file(tmp_path):
    """Optional: where DIALS is installed, dxtbx sees the same panel (imgCIF = diag(-1, 1, -1) McStas)."""
    pytest.importorskip("dxtbx")
    from dxtbx.model.experiment_list import ExperimentListFactory

    g = _geometry(CASES["XDS"])
    path = tmp_path / "d.h5"
    write_nxmx(path, np.ones((SLOW, FAST), np.float32), g)
    experiments = ExperimentListFactory.from_filenames([str(path)])
    panel = experiments[0].detector[0]
    R = nexus_rotation(g.beam_vector, g.spindle_axis, g.polar_vector)
    to_imgcif = np.diag([-1.0, 1.0, -1.0])
    np.testing.assert_allclose(panel.get_origin(), to_imgcif @ R @ np.asarray(g.pix0_vector_m) * 1e3, atol=1e-4)
    np.testing.assert_allclose(panel.get_fast_axis(), to_imgcif @ R @ np.asarray(g.fdet_vector), atol=1e-6)
    np.testing.assert_allclose(panel.get_slow_axis(), to_imgcif @ R @ np.asarray(g.sdet_vector), atol=1e-6)
    assert panel.get_image_size() == (FAST, SLOW)
    assert experiments[0].beam.get_wavelength() == pytest.approx(1.3)


@pytest.mark.parametrize("case", ["MOSFLM", "MOSFLM-no-twotheta", "DENZO"])
def test_nxmx_origin_in_imgcif_equals_the_legacy_dials_origin(case, tmp_path):
    """An independent check of the frame choice: the legacy program's own DIALS_ORIGIN header value.

    For the MOSFLM frame (beam +x, spindle +z) the legacy program projects pix0 on
    (0, 0, 1), (0, 1, 0), (-1, 0, 0) to give the DIALS (imgCIF) origin; dxtbx turns
    the file's McStas origin into imgCIF with diag(-1, 1, -1).
    """
    g = _geometry(CASES[case])
    path = tmp_path / "o.h5"
    write_nxmx(path, np.zeros((SLOW, FAST), np.float32), g)
    origin, *_ = _panel_from_file(path)
    np.testing.assert_allclose(np.diag([-1.0, 1.0, -1.0]) @ origin, g.dials_origin_mm, rtol=0, atol=TOL_MM)
