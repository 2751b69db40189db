"""PGM and raw float images against the legacy files; atomic writes."""
from __future__ import annotations

import os

import numpy as np
import pytest

import golden_cases as g
from nanobrag.io import (
    FormatError, atomic_write, atomic_write_many, read_float_image, read_pgm, write_float_image, write_pgm,
)

PGMS = [(c.name, o["file"]) for c in g.all_cases() for o in c.record["outputs"] if o["kind"] == "pgm"]
FLOATS = [(c.name, o["file"], tuple(o["shape"])) for c in g.all_cases() for o in c.record["outputs"] if o["kind"] == "float32"]


def _slow(name, *rest):
    return pytest.param(name, *rest, marks=pytest.mark.slow) if name == "timing_1024" else pytest.param(name, *rest)


@pytest.mark.parametrize("name,filename", [_slow(*p) for p in PGMS])
def test_pgm_round_trip_is_byte_identical(name, filename, tmp_path):
    raw = g.case(name).read(filename)
    (tmp_path / "in.pgm").write_bytes(raw)
    data, scale = read_pgm(tmp_path / "in.pgm")
    fast, slow = map(int, raw.split(b"\n")[1].split())
    assert data.shape == (slow, fast) and data.dtype == np.uint8
    assert np.array_equal(data.ravel(), np.frombuffer(raw[-fast * slow :], dtype=np.uint8))
    printed = raw.split(b"\n")[2].decode()
    assert printed == "# pixels scaled by %g" % scale
    write_pgm(tmp_path / "out.pgm", data, scale)
    assert (tmp_path / "out.pgm").read_bytes() == raw


def test_pgm_without_scale_and_with_comments(tmp_path):
    data = np.arange(6, dtype=np.uint8).reshape(2, 3)
    write_pgm(tmp_path / "a.pgm", data, None)
    assert (tmp_path / "a.pgm").read_bytes() == b"P5\n3 2\n255\n" + data.tobytes()
    (tmp_path / "b.pgm").write_bytes(b"P5 # made elsewhere\n3\n# pixels scaled by 2.5\n2 255\n" + data.tobytes())
    back, scale = read_pgm(tmp_path / "b.pgm")
    assert np.array_equal(back, data) and scale == 2.5


@pytest.mark.parametrize(
    "raw,expect",
    [
        (b"P2\n3 2\n255\n", r"not a binary PGM file"),
        (b"P5\n3 2\n", r"truncated PGM header"),
        (b"P5\n3 2\n65535\n" + bytes(12), r"0 < maxval < 256"),
        (b"P5\n3 2\n255\n" + bytes(5), r"truncated PGM file: 3 x 2 needs 6 bytes of pixels, found 5"),
    ],
)
def test_bad_pgm_files(tmp_path, raw, expect):
    path = tmp_path / "bad.pgm"
    path.write_bytes(raw)
    with pytest.raises(FormatError, match=rf"{path}: .*{expect}"):
        read_pgm(path)


@pytest.mark.parametrize("name,filename,shape", [_slow(*p) for p in FLOATS])
def test_float_image_round_trip(name, filename, shape, tmp_path):
    raw = g.case(name).read(filename)
    (tmp_path / "in.bin").write_bytes(raw)
    image = read_float_image(tmp_path / "in.bin", shape)
    assert image.dtype == np.float32 and image.shape == shape
    assert np.array_equal(image, g.case(name).float_image(filename), equal_nan=True)
    write_float_image(tmp_path / "out.bin", image)
    assert (tmp_path / "out.bin").read_bytes() == raw


def test_float_image_wrong_size(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(4 * 10 * 12 - 4))
    with pytest.raises(FormatError, match=rf"{path}: raw float image of 10 x 12 .* needs 480 bytes .* holds 476"):
        read_float_image(path, (10, 12))


def test_float_image_writer_checks_dtype(tmp_path):
    with pytest.raises(ValueError, match="float32"):
        write_float_image(tmp_path / "f.bin", np.zeros((2, 2)))
    assert os.listdir(tmp_path) == []


def test_float_image_written_little_endian_from_big_endian_input(tmp_path):
    image = np.array([[1.5, -2.0]], dtype=">f4")
    with pytest.raises(ValueError):  # not native float32: refuse rather than guess
        write_float_image(tmp_path / "f.bin", image)
    write_float_image(tmp_path / "f.bin", image.astype(np.float32))
    assert (tmp_path / "f.bin").read_bytes() == np.array([1.5, -2.0], dtype="<f4").tobytes()


def _failing_payload():
    yield b"first part"
    raise RuntimeError("producer failed")


def test_atomic_write_failure_leaves_destination_untouched(tmp_path):
    path = tmp_path / "out.img"
    path.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="producer failed"):
        atomic_write(path, _failing_payload())
    assert path.read_bytes() == b"previous" and os.listdir(tmp_path) == ["out.img"]


def test_atomic_write_many_stages_everything_before_renaming(tmp_path):
    with pytest.raises(RuntimeError):
        atomic_write_many({tmp_path / "a": b"A", tmp_path / "b": _failing_payload()})
    assert os.listdir(tmp_path) == []
    written = atomic_write_many({tmp_path / "a": b"A", tmp_path / "b": [b"B", b"C"]})
    assert written == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert (tmp_path / "a").read_bytes() == b"A" and (tmp_path / "b").read_bytes() == b"BC"


def test_atomic_write_respects_umask(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "f", b"x")
    finally:
        os.umask(old)
    assert (os.stat(tmp_path / "f").st_mode & 0o777) == 0o640


def test_atomic_write_into_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "nope" / "f", b"x")
