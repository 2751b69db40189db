"""Bad command lines give a ConfigError naming the option (or file) and what was expected."""
from __future__ import annotations

import re

import pytest


from nanobrag import ConfigError
from nanobrag.legacy_flags import parse_args

BASE = ["-cell", "50", "-default_F", "10"]


@pytest.fixture
def fails(tmp_path):

    def run(*args, with_base=True):
        argv = (BASE if with_base else []) + [str(a) for a in args]
        with pytest.raises(ConfigError) as info:
            parse_args(argv, cwd=str(tmp_path))
        return str(info.value)

    return run


@pytest.mark.parametrize("args, message", [
    (["-distance", "abc"], "-distance expects a number (mm), got 'abc'"),
    (["-distance"], "-distance expects a number (mm), but the command line ends there"),
    (["-wavelength", "1,0"], "-wavelength expects a number > 0 (Angstrom), got '1,0'"),
    (["-pixel", "0"], "-pixel expects a number > 0 (mm), got '0'"),
    (["-energy", "-5"], "-energy expects a number > 0 (eV), got '-5'"),
    (["-N", "5.7"], "-N expects an integer >= 0 (unit cells), got '5.7'"),
    (["-N", "-1"], "-N expects an integer >= 0 (unit cells), got '-1'"),
    (["-detpixels", "1e3"], "-detpixels expects an integer >= 0 (pixels), got '1e3'"),
    (["-seed", "99999999999"], "-seed expects an integer, got '99999999999'"),
    (["-distance", "nan"], "-distance expects a number (mm), got 'nan'"),
    (["-distance", "inf"], "-distance expects a number (mm), got 'inf'"),
    (["-distance", "1e999"], "-distance expects a number (mm), got '1e999'"),
    (["-distance", "100mm"], "-distance expects a number (mm), got '100mm'"),
    (["-distance", "1_000"], "-distance expects a number (mm), got '1_000'"),
    (["-detector_abs", "-5"], "-detector_abs expects a number >= 0 or inf (um), got '-5'"),
    (["-fdet_vector", "1", "0"], "-fdet_vector expects 3 numbers (X Y Z), but the command line ends after 2"),
    (["-fdet_vector", "1", "x", "0"], "-fdet_vector expects 3 numbers (X Y Z), got 'x'"),
    (["-beam_vector", "0", "0", "0"], "-beam_vector expects a non-zero direction (x y z), got 0 0 0"),
    (["-misset", "1", "2"], "-misset expects 3 numbers (rotations about x y z, degrees) or the word random, "
                            "but the command line ends after 2"),
    (["-misset", "randomly", "0", "0"], "-misset expects 3 numbers (rotations about x y z, degrees) or the word "
                                        "random, got 'randomly'"),
    (["-cell"], "-cell expects 1 to 6 numbers (a [b c alpha beta gamma], Angstrom and degrees), "
                "but the command line ends there"),
    (["-cell", "-N", "5"], "-cell expects 1 to 6 numbers (a [b c alpha beta gamma], Angstrom and degrees), "
                           "got '-N'"),
    (["-cell", "50", "-60"], "-cell expects cell lengths > 0 (Angstrom), got b = -60"),
    (["-cell", "50", "50", "50", "90", "180"], "-cell expects cell angles between 0 and 180 (degrees), got beta = 180"),
    (["-pivot", "middle"], "-pivot expects one of beam, sample, got 'middle'"),
    (["-engine", "gpu"], "-engine expects one of auto, torch, c, got 'gpu'"),
    (["-dtype", "float16"], "-dtype expects one of float64, float32, got 'float16'"),
    (["-phi_mode", "legacy"], "-phi_mode expects one of spec, c-parity, got 'legacy'"),
    (["-device", "tpu"], "-device expects cpu, cuda or cuda:N, got 'tpu'"),
    (["-nthreads", "0"], "-nthreads expects an integer >= 1 (threads), got '0'"),
    (["-roi", "5", "2", "0", "0"], "-roi expects XMIN <= XMAX and YMIN <= YMAX (inclusive pixel indices), got 5 2 0 0"),
    (["-roi", "0", "5", "-1", "3"], "-roi expects 4 integers >= 0 (XMIN XMAX YMIN YMAX, pixels), got '-1'"),
    (["-printout_pixel", "4"], "-printout_pixel expects 2 integers >= 0 (FAST SLOW pixel indices), "
                               "but the command line ends after 1"),
    (["-hkl", ""], "-hkl expects a file name, got ''"),
])
def test_malformed_values(fails, args, message):
    assert fails(*args) == message


@pytest.mark.parametrize("args, pattern", [
    (["-foo", "1"], r"^unknown option -foo$"),
    (["-distanse", "100"], r"^unknown option -distanse \(did you mean -distance\?\)$"),
    (["--distance", "100"], r"^unknown option --distance: options take a single dash \(-distance\)$"),
    (["-dispstep", "3"], r"^unknown option -dispstep: use -dispsteps"),
    (["-hdiv", "0.1"], r"^unknown option -hdiv: use -hdivrange .* or -hdivstep"),
    (["-vdiv", "0.1"], r"^unknown option -vdiv: use -vdivrange"),
    (["-polarization", "0.9"], r"^unknown option -polarization: use -polar"),
    (["-source_distance", "5"], r"^unknown option -source_distance"),
    (["-help"], r"^-help is answered by the nanobrag command"),
    (["foo.hkl"], r"^unexpected argument 'foo.hkl': options start with '-'$"),
    (["-distance", "100", "200"], r"^unexpected value '200': no option before it takes another value$"),
    (["-phi", "1", "-0.5"], r"^unexpected value '-0.5': no option before it takes another value$"),
    (["-curved_det", "1"], r"^unexpected value '1'"),
])
def test_unknown_options_and_stray_tokens(fails, args, pattern):
    assert re.search(pattern, fails(*args))


def test_missing_input_rule(fails, tmp_path):
    assert fails(with_base=False) == (
        f"no structure factors: give -hkl FILE, a nonzero -default_F, or have the cache Fdump.bin in {tmp_path}; "
        "no crystal: give -cell a b c alpha beta gamma (Angstrom, degrees) or -mat FILE")
    message = fails("-distance", 100, with_base=False)
    assert message.startswith("no structure factors: give -hkl FILE, a nonzero -default_F, or have the cache Fdump.bin")
    assert message.endswith("; no crystal: give -cell a b c alpha beta gamma (Angstrom, degrees) or -mat FILE")
    assert fails("-default_F", 5, with_base=False) == (
        "no crystal: give -cell a b c alpha beta gamma (Angstrom, degrees) or -mat FILE")
    assert fails("-cell", 50, with_base=False).startswith("no structure factors")
    assert fails("-cell", 50, "-default_F", 0, with_base=False).startswith("no structure factors")


def test_missing_and_bad_files(fails, tmp_path):
    assert fails("-hkl", "nope.hkl") == f"-hkl: file not found: {tmp_path / 'nope.hkl'}"
    assert fails("-hklin", "nope.hkl") == f"-hklin: file not found: {tmp_path / 'nope.hkl'}"
    assert fails("-matrix", "A.mat") == f"-matrix: file not found: {tmp_path / 'A.mat'}"
    assert fails("-img", "h.img") == f"-img: file not found: {tmp_path / 'h.img'}"
    assert fails("-mask", "m.img") == f"-mask: file not found: {tmp_path / 'm.img'}"
    assert fails("-sourcefile", "s.txt") == f"-sourcefile: file not found: {tmp_path / 's.txt'}"
    assert fails("-4stol", "w.stol") == f"-4stol: file not found: {tmp_path / 'w.stol'}"
    (tmp_path / "dir.hkl").mkdir()
    assert fails("-hkl", "dir.hkl") == f"-hkl: {tmp_path / 'dir.hkl'} is a directory, expected a file"
    # a file the reader rejects: the message names the option (the reader's own message names the file)
    (tmp_path / "short.mat").write_text("1 2 3\n")
    assert fails("-mat", "short.mat").startswith("-mat: ")
    (tmp_path / "text.img").write_text("not an SMV image\n")
    assert fails("-img", "text.img").startswith("-img: ")
    (tmp_path / "Fdump.bin").write_bytes(b"garbage")
    assert fails().startswith("-dump: ")  # the cache is read when -hkl is absent


def test_errors_are_reported_in_command_line_order(fails):
    assert fails("-distance", "x", "-foo") == "-distance expects a number (mm), got 'x'"
    assert fails("-foo", "-distance", "x") == "unknown option -foo"
