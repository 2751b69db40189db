"""SMV reader/writer and header values against the legacy program's SMV files (outputs and -img/-mask inputs)."""
from __future__ import annotations

import math
from dataclasses import fields, replace

import numpy as np
import pytest

import golden_cases as g
from nanobrag import Geometry
from nanobrag.io import FormatError, SMVHeader, read_smv, smv_header_value, write_smv

OUTPUT_SMVS = [(c.name, o["file"]) for c in g.all_cases() for o in c.record["outputs"] if o["kind"] == "smv"]
INPUT_SMVS = [(c.name, f) for c in g.all_cases() for f in c.input_names if f.endswith(".img")]


def _param(name, f):
    return pytest.param(name, f, marks=pytest.mark.slow) if name == "timing_1024" else pytest.param(name, f)


def test_golden_set_has_smv_inputs_and_outputs():
    assert len(OUTPUT_SMVS) >= 50 and {f for _, f in INPUT_SMVS} == {"mask.img", "header.img"}


@pytest.mark.parametrize("name,filename", [_param(*p) for p in OUTPUT_SMVS + INPUT_SMVS])
def test_smv_round_trip_is_byte_identical(name, filename, tmp_path):
    raw = g.case(name).read(filename)
    (tmp_path / "in.img").write_bytes(raw)
    image = read_smv(tmp_path / "in.img")
    header_fields, golden_data = g.case(name).smv(filename)
    assert np.array_equal(image.data, golden_data) and image.data.dtype == np.uint16
    assert image.header_bytes == 512 and image.header_text == raw[:512].decode("latin-1")
    write_smv(tmp_path / "out.img", image.data, image.header)
    assert (tmp_path / "out.img").read_bytes() == raw


@pytest.mark.parametrize("name,filename", [_param(*p) for p in OUTPUT_SMVS])
def test_header_from_parsed_numbers_reproduces_legacy_header(name, filename, tmp_path):
    """A header rebuilt from the parsed numbers alone (no remembered text) prints the same %g text."""
    raw = g.case(name).read(filename)
    (tmp_path / "in.img").write_bytes(raw)
    image = read_smv(tmp_path / "in.img")
    header = image.header
    numbers_only = replace(header, source_text={})
    assert numbers_only.extra == {} and numbers_only.beamline == "fake" and numbers_only.detector_sn == "000"
    assert numbers_only.distance_mm == float(image.fields["DISTANCE"])
    assert numbers_only.dials_origin_mm == tuple(float(v) for v in image.fields["DIALS_ORIGIN"].split(","))
    block = numbers_only.to_bytes(fast_pixels=image.data.shape[1], slow_pixels=image.data.shape[0])
    assert block == raw[:512]


def test_input_header_keeps_text_that_is_not_percent_g(tmp_path):
    raw = g.case("mask_pgm_scale").read("mask.img")
    assert b"WAVELENGTH=1.0;" in raw  # not what %g prints
    (tmp_path / "mask.img").write_bytes(raw)
    header = read_smv(tmp_path / "mask.img").header
    assert header.wavelength_A == 1.0 and header.pixel_size_mm == 0.1 and header.distance_mm is None
    assert b"WAVELENGTH=1;" in replace(header, source_text={}).to_bytes(128, 96)
    # a changed value is printed with %g again
    assert b"WAVELENGTH=1.5;" in replace(header, wavelength_A=1.5).to_bytes(128, 96)


def test_value_of_takes_last_substring_match(tmp_path):
    case = g.case("img_header_init")
    (tmp_path / "header.img").write_bytes(case.read("header.img"))
    image = read_smv(tmp_path / "header.img")
    assert image.fields["DISTANCE"] == "110" and image.fields["CLOSE_DISTANCE"] == "95"
    # the legacy ValueOf("DISTANCE") finds CLOSE_DISTANCE (stdout of that case: distance 95 mm)
    assert smv_header_value(image.header_text, "DISTANCE") == 95.0
    assert "distance=0.095" in case.stdout()
    assert image.value("PIXEL_SIZE") == 0.12 and image.value("SIZE1") == 100.0
    assert math.isnan(smv_header_value(image.header_text, "ORGX"))
    out = g.case("conv_xds_orgx_nonsquare").read("intimage.img").decode("latin-1")
    assert smv_header_value(out, "ORGX") == 70.5 and smv_header_value(out, "ORGY") == 50.25
    assert smv_header_value(out, "DIALS_ORIGIN") == 110.0  # atof stops at the comma
    assert smv_header_value("{\nFOO;\n}", "FOO") == 0.0  # no '=' after the key
    assert math.isnan(smv_header_value("A= 1e3x;\0B=2;", "B"))  # the legacy header is a C string: B is past the NUL
    assert smv_header_value("A= 1e3x;", "A") == 1000.0


def _blank_geometry(**values) -> Geometry:
    base = {f.name: 0.0 for f in fields(Geometry)}
    base.update(convention="MOSFLM", pivot="beam", roi=(0, 0, 0, 0))
    base.update(values)
    return Geometry(**base)


RTD = 180.0 * 0.318309886183790671538


def test_from_geometry_legacy_arithmetic_mosflm_default():
    """cubic_default_F: -distance 100 -detpixels 128 -pixel 0.1 -lambda 1.0, MOSFLM defaults (README geometry facts)."""
    px = 0.1 / 1000.0
    detsize = px * 128
    xbeam = ybeam = (detsize + px) / 2.0
    geometry = _blank_geometry(
        fpixels=128, spixels=128, pixel_size_m=px, detsize_f_m=detsize, detsize_s_m=detsize,
        distance_m=100 / 1000.0, close_distance_m=100 / 1000.0, wavelength_m=1.0 / 1e10,
        xbeam_m=xbeam, ybeam_m=ybeam, fbeam_m=ybeam + 0.5 * px, sbeam_m=xbeam + 0.5 * px,
        dials_origin_mm=(-6.5, 6.5, -100.0), orgx_px=65.5, orgy_px=65.5,
    )
    block = SMVHeader.from_geometry(geometry).to_bytes(128, 128)
    assert block == g.case("cubic_default_F").read("intimage.img")[:512]


def test_from_geometry_legacy_arithmetic_xds_and_angles():
    """conv_xds_orgx_nonsquare (XDS: F/S = ORGX/ORGY - 0.5 pixels) plus phi/osc/twotheta in radians."""
    px = 0.1 / 1000.0
    fclose, sclose = (70.5 - 0.5) * px, (50.25 - 0.5) * px
    geometry = _blank_geometry(
        fpixels=160, spixels=112, pixel_size_m=px, detsize_f_m=160 * px, detsize_s_m=112 * px,
        distance_m=110 / 1000.0, close_distance_m=110 / 1000.0, wavelength_m=1.0 / 1e10,
        xbeam_m=fclose, ybeam_m=sclose, fbeam_m=fclose, sbeam_m=sclose,
        dials_origin_mm=(110.0, -sclose * 1000, fclose * 1000), orgx_px=70.5, orgy_px=50.25,
    )
    header = SMVHeader.from_geometry(geometry)
    assert header.to_bytes(160, 112) == g.case("conv_xds_orgx_nonsquare").read("intimage.img")[:512]
    # angles: the legacy prints phi0*RTD twice and osc*RTD, RTD = 180*M_1_PI
    spun = SMVHeader.from_geometry(replace(geometry, phi0_rad=10 / RTD, osc_rad=1 / RTD, twotheta_rad=15 / RTD))
    assert (spun.phi_deg, spun.osc_start_deg, spun.osc_range_deg, spun.twotheta_deg) == (
        10 / RTD * RTD, 10 / RTD * RTD, 1 / RTD * RTD, 15 / RTD * RTD
    )
    text = spun.to_bytes(160, 112)
    assert b"PHI=10;\nOSC_START=10;\nOSC_RANGE=1;\nTWOTHETA=15;\n" in text


def test_fabio_reads_our_smv(tmp_path):
    fabio = pytest.importorskip("fabio")
    header = SMVHeader(pixel_size_mm=0.172, distance_mm=123.5, wavelength_A=0.9795, beam_center_x_mm=20.1,
                       beam_center_y_mm=30.2, osc_start_deg=5, osc_range_deg=0.1, phi_deg=5, twotheta_deg=0,
                       detector_sn="000", beamline="fake")
    data = (np.arange(30 * 20, dtype=np.uint32).reshape(30, 20) * 97 % 65536).astype(np.uint16)
    write_smv(tmp_path / "ours.img", data, header)
    image = fabio.open(str(tmp_path / "ours.img"))
    assert image.data.shape == (30, 20) and np.array_equal(image.data, data)
    assert float(image.header["PIXEL_SIZE"]) == 0.172 and float(image.header["DISTANCE"]) == 123.5
    assert float(image.header["WAVELENGTH"]) == 0.9795 and image.header["BEAMLINE"] == "fake"
    assert int(image.header["SIZE1"]) == 20 and int(image.header["SIZE2"]) == 30


def test_fabio_reads_our_legacy_header(tmp_path):
    fabio = pytest.importorskip("fabio")
    raw = g.case("conv_xds_orgx_nonsquare").read("intimage.img")
    (tmp_path / "in.img").write_bytes(raw)
    image = read_smv(tmp_path / "in.img")
    write_smv(tmp_path / "out.img", image.data, replace(image.header, source_text={}))
    loaded = fabio.open(str(tmp_path / "out.img"))
    assert loaded.data.shape == (112, 160) and np.array_equal(loaded.data, image.data)
    assert float(loaded.header["XDS_ORGX"]) == 70.5 and float(loaded.header["CLOSE_DISTANCE"]) == 110


def test_big_endian_round_trip(tmp_path):
    data = np.array([[1, 256, 65535]], dtype=np.uint16)
    write_smv(tmp_path / "be.img", data, SMVHeader(byte_order="big_endian", pixel_size_mm=0.1))
    raw = (tmp_path / "be.img").read_bytes()
    assert b"BYTE_ORDER=big_endian;" in raw and raw[512:] == b"\x00\x01\x01\x00\xff\xff"
    back = read_smv(tmp_path / "be.img")
    assert np.array_equal(back.data, data) and back.header.byte_order == "big_endian"


def test_header_larger_than_512_bytes_grows(tmp_path):
    header = SMVHeader(extra={f"KEY{i}": "x" * 20 for i in range(30)})
    data = np.zeros((2, 3), dtype=np.uint16)
    write_smv(tmp_path / "big.img", data, header)
    raw = (tmp_path / "big.img").read_bytes()
    assert raw.startswith(b"{\nHEADER_BYTES=1024;\n") and len(raw) == 1024 + 12
    back = read_smv(tmp_path / "big.img")
    assert back.header_bytes == 1024 and back.header.extra == header.extra and back.data.shape == (2, 3)


def test_write_smv_rejects_non_uint16(tmp_path):
    with pytest.raises(ValueError, match="uint16"):
        write_smv(tmp_path / "x.img", np.zeros((2, 2), dtype=np.int32), SMVHeader())
    assert not (tmp_path / "x.img").exists()


def _golden_smv_bytes():
    return g.case("cubic_default_F").read("intimage.img")


@pytest.mark.parametrize(
    "mutate,expect",
    [
        (lambda raw: raw[:-1], r"truncated SMV file: SIZE1=128 x SIZE2=128 needs 32768 bytes"),
        (lambda raw: raw[:300], r"truncated SMV file: HEADER_BYTES=512 but the file holds 300 bytes"),
        (lambda raw: b"P5" + raw[2:], r"not an SMV file"),
        (lambda raw: raw.replace(b"SIZE1=128;", b"SIZE1=abc;"), r"SMV header SIZE1 must be an integer"),
        (lambda raw: raw.replace(b"SIZE2=128;", b"SIZX2=128;"), r"SMV header has no SIZE2"),
        (lambda raw: raw.replace(b"TYPE=unsigned_short;", b"TYPE=float        ;"), r"SMV header TYPE must be unsigned_short"),
        (lambda raw: raw.replace(b"BYTE_ORDER=little_endian;", b"BYTE_ORDER=middle_endian;"), r"SMV header BYTE_ORDER must be little_endian or big_endian"),
    ],
)
def test_bad_smv_files_raise_format_error(tmp_path, mutate, expect):
    path = tmp_path / "bad.img"
    path.write_bytes(mutate(_golden_smv_bytes()))
    with pytest.raises(FormatError, match=rf"{path}: {expect}"):
        read_smv(path)
