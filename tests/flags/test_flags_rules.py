"""Order-dependent legacy rules, aliases, two-pass SMV headers and file loading of the parser."""
from __future__ import annotations

import math

import numpy as np
import pytest


import nanobrag.io
import nanobrag.legacy_flags.files  # the readers it calls, patched below
from nanobrag import Config
from nanobrag.legacy_flags import FLAGS, ENERGY_TO_WAVELENGTH_eV_A, lookup, parse_args

# every parse needs a crystal and structure factors (the legacy "missing input" rule)
BASE = ["-cell", "50", "-default_F", "10"]


@pytest.fixture
def parse(tmp_path):

    def run(*args, with_base=True):
        argv = (BASE if with_base else []) + [str(a) for a in args]
        return parse_args(argv, cwd=str(tmp_path))

    return run


def cfg_of(parse, *args):
    return parse(*args)[0]


def same_config(a: Config, b: Config) -> bool:
    """Field-by-field equality; tables and arrays compared by contents."""
    from nanobrag.config import iter_fields

    for (name, x), (_, y) in zip(iter_fields(a), iter_fields(b)):
        if hasattr(x, "as_numpy"):
            if not (hasattr(y, "as_numpy") and x.hkl_min == y.hkl_min and np.array_equal(x.as_numpy(), y.as_numpy())):
                return False
        elif isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


# ---- convention and pivot ------------------------------------------------------------------------

VECTOR_FLAGS = ["-fdet_vector", "-sdet_vector", "-odet_vector", "-beam_vector", "-polar_vector",
                "-spindle_axis", "-twotheta_axis", "-pix0_vector", "-pix0_vector_mm"]


@pytest.mark.parametrize("flag", VECTOR_FLAGS)
def test_any_vector_option_selects_custom_and_the_last_convention_option_wins(parse, flag):
    assert cfg_of(parse, "-xds", flag, 0, 1, 0).detector.convention == "CUSTOM"
    cfg, info = parse(flag, 0, 1, 0, "-adxv")
    assert cfg.detector.convention == "ADXV"
    # a named convention replaces the vectors given before it (pix0 is never used anyway)
    assert all(getattr(getattr(cfg, g), a) is None for g, a in (
        ("detector", "fdet_vector"), ("detector", "sdet_vector"), ("detector", "odet_vector"),
        ("beam", "beam_vector"), ("beam", "polar_vector"), ("sampling", "spindle_axis"),
        ("detector", "twotheta_axis")))
    assert any(flag.split("_mm")[0] in n or "pix0" in n for n in info.notes)


def test_vector_values_are_kept_as_typed(parse):
    cfg = cfg_of(parse, "-fdet_vector", 0, 0, 2, "-twotheta_axis", 0, 0, -3, "-pix0_vector_mm", 100, -4, 3)
    assert cfg.detector.fdet_vector == (0.0, 0.0, 2.0)  # the engines unitize, as the legacy program
    assert cfg.detector.twotheta_axis == (0.0, 0.0, -3.0)
    assert cfg.detector.pix0_vector_m == (0.1, -0.004, 0.003)


@pytest.mark.parametrize("convention", ["mosflm", "xds", "adxv", "denzo", "dials"])
def test_convention_options(parse, convention):
    assert cfg_of(parse, "-xds", f"-{convention}").detector.convention == convention.upper()


@pytest.mark.parametrize("args, pivot", [
    ([], "beam"),
    (["-Xbeam", 5], "beam"), (["-Ybeam", 5], "beam"), (["-distance", 90], "beam"),
    (["-Xclose", 5], "sample"), (["-Yclose", 5], "sample"), (["-ORGX", 5], "sample"), (["-ORGY", 5], "sample"),
    (["-close_distance", 90], "sample"), (["-twotheta", 5], "sample"),
    (["-pivot", "sample"], "sample"), (["-pivot", "sample", "-pivot", "beam"], "beam"),
    (["-twotheta", 5, "-distance", 90], "beam"), (["-distance", 90, "-twotheta", 5], "sample"),
    (["-pivot", "sample", "-Ybeam", 3], "beam"), (["-Xbeam", 3, "-ORGY", 2], "sample"),
    # the convention options set the pivot too; it matters once a later vector selects CUSTOM
    (["-xds"], "sample"), (["-dials"], "beam"), (["-xds", "-mosflm"], "beam"),
    (["-xds", "-fdet_vector", 1, 0, 0], "sample"), (["-dials", "-fdet_vector", 1, 0, 0], "beam"),
    # no collision: -twotheta_axis does not choose a pivot (the legacy program chose SAMPLE here)
    (["-twotheta_axis", 0, 0, 1], "beam"),
])
def test_the_last_pivot_setting_option_wins(parse, args, pivot):
    assert cfg_of(parse, *args).detector.pivot == pivot


def test_twotheta_axis_and_misset_seed_do_not_collide(parse):
    cfg = cfg_of(parse, "-twotheta", 18, "-twotheta_axis", 0, 0, -1)
    assert cfg.detector.twotheta_deg == 18.0 and cfg.detector.twotheta_axis == (0.0, 0.0, -1.0)
    cfg = cfg_of(parse, "-misset", "random", "-misset_seed", 42, "-N", 100)
    assert cfg.crystal.misset_random and cfg.crystal.misset_deg is None and cfg.crystal.misset_seed == 42


# ---- last one wins -------------------------------------------------------------------------------

def test_noise_and_pgm_switches(parse):
    out = cfg_of(parse, "-nonoise").output
    assert not out.write_noise
    out = cfg_of(parse, "-nonoise", "-noisefile", "n.img").output
    assert out.write_noise and out.noise_image_path == "n.img"
    out = cfg_of(parse, "-noiseimage", "n.img", "-nonoise").output
    assert not out.write_noise and out.noise_image_path == "n.img"
    assert not cfg_of(parse, "-nopgm").output.write_pgm
    out = cfg_of(parse, "-nopgm", "-pgmfile", "p.pgm").output
    assert out.write_pgm and out.pgm_path == "p.pgm"
    out = cfg_of(parse, "-nopgm", "-pgmscale", 2).output
    assert out.write_pgm and out.pgm_scale == 2.0
    assert not cfg_of(parse, "-pgmscale", 2, "-nopgm").output.write_pgm


def test_polar_and_nopolar(parse):
    beam = cfg_of(parse, "-polar", 0.5, "-nopolar").beam
    assert beam.nopolar and beam.kahn_factor == 0.5
    beam = cfg_of(parse, "-nopolar", "-polar", 0.5).beam
    assert not beam.nopolar and beam.kahn_factor == 0.5


def test_detector_abs_zero_or_inf_resets_the_thickness_given_before(parse):
    det = cfg_of(parse, "-detector_thick", 100, "-detector_abs", "inf").detector
    assert det.thickness_um == 0.0 and det.attenuation_depth_um == math.inf
    det = cfg_of(parse, "-detector_abs", "inf", "-detector_thick", 100).detector
    assert det.thickness_um == 100.0 and det.attenuation_depth_um == math.inf
    det = cfg_of(parse, "-detector_thick", 100, "-detector_absorb", 0).detector
    assert det.thickness_um == 0.0 and det.attenuation_depth_um == math.inf
    det = cfg_of(parse, "-detector_thick", 100, "-detector_abs", 50).detector
    assert det.thickness_um == 100.0 and det.attenuation_depth_um == 50.0
    assert cfg_of(parse, "-detector_abs", "Infinity").detector.attenuation_depth_um == math.inf


def test_interpolate_switches(parse):
    assert cfg_of(parse).structure_factors.interpolate is None
    assert cfg_of(parse, "-interpolate", "-nointerpolate").structure_factors.interpolate is False
    assert cfg_of(parse, "-nointerpolate", "-interpolate").structure_factors.interpolate is True


def test_flux_and_fluence_are_both_kept(parse):
    beam = cfg_of(parse, "-flux", 1e12, "-fluence", 1e24, "-exposure", 0.5, "-beamsize", 0.02).beam
    assert (beam.flux_photons_per_s, beam.fluence_photons_per_m2) == (1e12, 1e24)
    assert (beam.exposure_s, beam.beamsize_mm) == (0.5, 0.02)


def test_energy_and_lambda(parse):
    assert cfg_of(parse, "-energy", 12000, "-lambda", 1.5).beam.wavelength_A == 1.5
    assert cfg_of(parse, "-lambda", 1.5, "-energy", 12000).beam.wavelength_A == 12398.42 / 12000
    assert ENERGY_TO_WAVELENGTH_eV_A == 12398.42


def test_cell_counts_per_axis(parse):
    assert cfg_of(parse, "-N", 3, "-Nb", 7).crystal.n_cells == (3.0, 7.0, 3.0)
    assert cfg_of(parse, "-Nb", 7, "-N", 3).crystal.n_cells == (3.0, 3.0, 3.0)
    assert cfg_of(parse, "-Na", 2, "-Nc", 4).crystal.n_cells == (2.0, 1.0, 4.0)


def test_crystal_size_options(parse):
    assert cfg_of(parse, "-xtal_size", 0.01, "-xtal_y", 0.002).crystal.size_mm == (0.01, 0.002, 0.01)
    assert cfg_of(parse, "-sample_width", 0.002, "-samplesize", 0.01).crystal.size_mm == (0.01, 0.01, 0.01)
    assert cfg_of(parse, "-sample_thick", 1, "-height", 3).crystal.size_mm == (1.0, 0.0, 3.0)


def test_seeds_are_stored_as_typed(parse):
    cfg = cfg_of(parse, "-seed", -5, "-mosaic_seed", 7, "-misset_seed", -3)
    assert (cfg.output.noise_seed, cfg.crystal.mosaic_seed, cfg.crystal.misset_seed) == (-5, 7, -3)
    cfg = cfg_of(parse)
    assert (cfg.output.noise_seed, cfg.crystal.mosaic_seed, cfg.crystal.misset_seed) == (None, 12345678, None)


def test_misset_random_and_angles(parse):
    c = cfg_of(parse, "-misset", "random", "-misset", 1, 2, -3).crystal
    assert not c.misset_random and c.misset_deg == (1.0, 2.0, -3.0)
    c = cfg_of(parse, "-misset", 1, 2, 3, "-misset", "random").crystal
    assert c.misset_random and c.misset_deg is None


def test_printout_pixel_turns_printout_on(parse):
    out = cfg_of(parse, "-printout_pixel", 40, 50).output
    assert out.printout and out.printout_pixel == (40, 50)
    assert cfg_of(parse, "-printout").output.printout_pixel is None


@pytest.mark.parametrize("values, cell", [
    ([50], (50.0, 50.0, 50.0, 90.0, 90.0, 90.0)),
    ([50, 60], (50.0, 60.0, 50.0, 90.0, 90.0, 90.0)),
    ([50, 60, 70], (50.0, 60.0, 70.0, 90.0, 90.0, 90.0)),
    ([50, 60, 70, 80], (50.0, 60.0, 70.0, 80.0, 90.0, 90.0)),
    ([50, 60, 70, 80, 85, 95], (50.0, 60.0, 70.0, 80.0, 85.0, 95.0)),
])
def test_cell_takes_one_to_six_numbers(parse, values, cell):
    cfg, info = parse("-default_F", 1, "-cell", *values, "-N", 3, with_base=False)
    assert cfg.crystal.cell == cell and cfg.crystal.n_cells == (3.0, 3.0, 3.0)


def test_switch_options_take_no_value_even_at_the_end(parse):
    det = cfg_of(parse, "-point_pixel", "-curved_det").detector
    assert det.curved and det.point_pixel
    s = cfg_of(parse, "-oversample_thick", "-oversample_polar", "-oversample_omega").sampling
    assert s.oversample_thick and s.oversample_polar and s.oversample_omega


def test_values_may_start_with_a_dash(parse):
    cfg = cfg_of(parse, "-phi", "-0.5", "-Xbeam", "-3", "-detector_rotx", "-5", "-seed", "-7",
                 "-spindle_axis", "-1", "0", "0")
    assert cfg.sampling.phi_start_deg == -0.5 and cfg.detector.xbeam_mm == -3.0
    assert cfg.detector.rot_deg == (-5.0, 0.0, 0.0) and cfg.output.noise_seed == -7
    assert cfg.sampling.spindle_axis == (-1.0, 0.0, 0.0)
    # a file name is taken as given, even one that starts with '-'
    assert cfg_of(parse, "-floatfile", "-odd.bin").output.float_image_path == "-odd.bin"


def test_roi_scales_and_output_names(parse):
    cfg = cfg_of(parse, "-roi", 0, 10, 5, 5, "-scale", 0, "-pgmscale", -1, "-adc", 12)
    assert cfg.detector.roi == (0, 10, 5, 5)
    assert cfg.output.int_scale is None and cfg.output.pgm_scale is None  # <= 0 means automatic
    assert cfg.output.adc_offset == 12.0
    out = cfg_of(parse, "-floatfile", "f.bin", "-intfile", "i.img", "-scale", 2.5).output
    assert (out.float_image_path, out.int_image_path, out.int_scale) == ("f.bin", "i.img", 2.5)


def test_engine_options(parse):
    cfg, info = parse("-engine", "c", "-phi_mode", "c-parity", "-device", "cuda:1", "-dtype", "float32",
                      "-nthreads", 4)
    assert (cfg.engine, cfg.phi_mode, cfg.device, cfg.dtype) == ("c", "c-parity", "cuda:1", "float32")
    assert info.nthreads == 4
    cfg, info = parse()
    assert (cfg.engine, cfg.phi_mode, cfg.device, cfg.dtype, info.nthreads) == (
        "auto", "spec", "cpu", "float64", None)


def test_no_effect_options_are_accepted_and_noted(parse):
    cfg, info = parse("-coherent", "-density", 1.2, "-MW", 5000, "-stolout", "x.stol")
    assert cfg == Config(crystal=cfg.crystal, structure_factors=cfg.structure_factors)
    assert len(info.notes) == 4 and all("no effect" in n for n in info.notes)


def test_flags_seen_are_recorded_in_order(parse):
    _, info = parse("-wavelength", 1.2, "-N", 3, with_base=True)
    assert info.names() == ["-cell", "-default_F", "-lambda", "-N"]
    assert info.flags[2].typed == "-wavelength" and info.flags[2].values == (1.2,)


# ---- aliases -------------------------------------------------------------------------------------

BRIEF_ALIASES = [
    ("-matrix", "-mat"), ("-wavelength", "-lambda"), ("-wave", "-lambda"), ("-mosaic_domains", "-mosaic_domains"),
    ("-mosaic_dom", "-mosaic_domains"), ("-mosaicity", "-mosaic"), ("-mosaic_spread", "-mosaic"),
    ("-floatimage", "-floatfile"), ("-intimage", "-intfile"), ("-noiseimage", "-noisefile"),
    ("-pgmimage", "-pgmfile"), ("-adcoffset", "-adc"), ("-adc_offset", "-adc"), ("-pixel_size", "-pixel"),
    ("-hklin", "-hkl"), ("-oscillation", "-osc"), ("-dumpfile", "-dump"),
    ("-thicksteps", "-detector_thicksteps"), ("-detector_absorb", "-detector_abs"),
    ("-xtal_size", "-xtal_size"), ("-xtalsize", "-xtal_size"), ("-sample_size", "-xtal_size"),
    ("-samplesize", "-xtal_size"), ("-sample_x", "-xtal_thick"), ("-sample_thick", "-xtal_thick"),
    ("-xtal_x", "-xtal_thick"), ("-sample_y", "-xtal_width"), ("-sample_width", "-xtal_width"),
    ("-xtal_y", "-xtal_width"), ("-width", "-xtal_width"), ("-sample_z", "-xtal_height"),
    ("-sample_height", "-xtal_height"), ("-xtal_z", "-xtal_height"), ("-height", "-xtal_height"),
    ("-binary_spots", "-tophat_spots"), ("-detpixels_x", "-detpixels_f"), ("-detpixels_y", "-detpixels_s"),
    ("-detsize_x", "-detsize_f"), ("-detsize_y", "-detsize_s"), ("-molecules", "-MW"), ("-molec", "-MW"),
    ("-sample_density", "-density"), ("-pix0_vector_mm", "-pix0_vector_mm"),
]


@pytest.mark.parametrize("alias, name", BRIEF_ALIASES)
def test_common_spellings_are_aliases(alias, name):
    assert lookup(alias) is not None and lookup(alias).name == name


def _sample_tokens(flag, tmp_path):
    """Valid values for an option, creating the input files it reads."""
    files = {"-hkl": "0 0 0 10\n1 0 0 5\n", "-mat": "0.01 0 0\n0 0.01 0\n0 0 0.01\n"}
    tokens = []
    for spec in flag.values:
        if spec.kind == "file":
            name = flag.name.strip("-") + ".txt"
            if flag.name in files:  # an input file; the others name outputs and need not exist
                (tmp_path / name).write_text(files[flag.name])
            tokens.append(name)
        elif spec.kind == "word":
            tokens.append(spec.choices[-1])
        elif spec.kind == "integer":
            tokens.append("3")
        else:
            tokens.append("0.5")
    return tokens


@pytest.mark.parametrize("flag", [f for f in FLAGS if f.aliases], ids=lambda f: f.name)
def test_every_alias_gives_the_same_config_as_the_name(parse, tmp_path, flag):
    values = _sample_tokens(flag, tmp_path)
    reference = cfg_of(parse, flag.name, *values)
    for alias in flag.aliases:
        assert same_config(cfg_of(parse, alias, *values), reference), alias


def test_names_match_exactly(parse):
    from nanobrag import ConfigError

    for near_miss in ("-distances", "-Distance", "-dist", "-pixels", "-mosaic_domainsx"):
        with pytest.raises(ConfigError, match="unknown option"):
            parse(near_miss, 1)


# ---- SMV headers (-img, -mask) ------------------------------------------------------------------

def write_smv(path, fast, slow, keys, data=None):
    body = "".join(f"{k}={v};\n" for k, v in keys)
    head = (f"{{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\n"
            f"SIZE1={fast};\nSIZE2={slow};\n{body}}}\f")
    raw = head.encode().ljust(512, b" ")
    if data is None:
        data = np.ones((slow, fast), dtype="<u2")
    path.write_bytes(raw + np.asarray(data, dtype="<u2").tobytes())
    return path.name


def test_img_header_wins_over_mask_header_whatever_the_order(parse, tmp_path):
    mask = write_smv(tmp_path / "m.img", 20, 10, [("PIXEL_SIZE", 0.2), ("DISTANCE", 50), ("WAVELENGTH", 1.5),
                                                   ("PHI", 3)])
    img = write_smv(tmp_path / "i.img", 20, 10, [("PIXEL_SIZE", 0.2), ("DISTANCE", 70)])
    for order in (["-img", img, "-mask", mask], ["-mask", mask, "-img", img]):
        cfg = cfg_of(parse, *order)
        assert cfg.detector.distance_mm == 70.0  # both have DISTANCE: the image's wins
        assert cfg.beam.wavelength_A == 1.5 and cfg.sampling.phi_start_deg == 3.0  # only the mask has them
        assert cfg.detector.detpixels == (20, 10) and cfg.detector.pixel_size_mm == 0.2
        assert cfg.detector.mask.shape == (10, 20)


def test_command_line_options_override_header_values_wherever_they_appear(parse, tmp_path):
    img = write_smv(tmp_path / "i.img", 20, 10, [("DISTANCE", 70), ("BEAM_CENTER_X", 1.0), ("OSC_RANGE", 0.5)])
    for args in (["-img", img, "-distance", 120, "-osc", 1], ["-distance", 120, "-osc", 1, "-img", img]):
        cfg = cfg_of(parse, *args)
        assert cfg.detector.distance_mm == 120.0 and cfg.sampling.osc_deg == 1.0
        assert cfg.detector.xbeam_mm == 1.0


def test_header_values_do_not_choose_the_pivot(parse, tmp_path):
    img = write_smv(tmp_path / "i.img", 8, 8, [("CLOSE_DISTANCE", 70), ("ORGX", 3)])
    cfg = cfg_of(parse, "-img", img)
    assert cfg.detector.pivot == "beam" and cfg.detector.orgx_px == 3.0
    assert cfg.detector.close_distance_mm == 70.0 and cfg.detector.distance_mm == 70.0  # last-match rule


def test_mask_beam_center_y_is_measured_from_the_other_edge(parse, tmp_path):
    mask = write_smv(tmp_path / "m.img", 30, 25, [("PIXEL_SIZE", 0.172), ("BEAM_CENTER_X", 1.3),
                                                   ("BEAM_CENTER_Y", 1.7)])
    img = write_smv(tmp_path / "i.img", 30, 25, [("PIXEL_SIZE", 0.172), ("BEAM_CENTER_Y", 1.7)])
    det = cfg_of(parse, "-mask", mask).detector
    # the legacy program: Ybeam (m) = pixel (m) * slow pixels - value / 1000; the engines divide mm by 1000
    assert det.ybeam_mm / 1000.0 == (0.172 / 1000.0) * 25 - 1.7 / 1000.0
    assert det.xbeam_mm == 1.3
    assert cfg_of(parse, "-img", img).detector.ybeam_mm == 1.7  # -img does not flip


def test_mask_must_match_the_detector_size(parse, tmp_path):
    from nanobrag import ConfigError

    mask = write_smv(tmp_path / "m.img", 20, 10, [("PIXEL_SIZE", 0.1)])
    assert cfg_of(parse, "-mask", mask, "-detsize", 50).detector.detpixels == (20, 10)  # counts win
    with pytest.raises(ConfigError, match=r"\(-mask\) is 20 x 10 pixels .* detector is 16 x 16"):
        parse("-mask", mask, "-detpixels", 16)


# ---- files ---------------------------------------------------------------------------------------

def test_default_F_reaches_the_hkl_reader_wherever_it_appears(parse, tmp_path, monkeypatch):
    (tmp_path / "x.hkl").write_text("0 0 0 10\n2 0 0 5\n")
    seen = []
    real = nanobrag.io.read_hkl
    monkeypatch.setattr(nanobrag.legacy_flags.files, "read_hkl", lambda path, default_F: seen.append((path, default_F)) or
                        real(path, default_F))
    for args in (["-hkl", "x.hkl", "-default_F", 7], ["-default_F", 7, "-hkl", "x.hkl"]):
        cfg, info = parse("-cell", 50, *args, with_base=False)
        assert seen[-1] == (str(tmp_path / "x.hkl"), 7.0)
        assert info.hkl_given and info.files_read == {"-hkl": str(tmp_path / "x.hkl")}
        amps = cfg.structure_factors.table.as_numpy()
        assert amps[1, 0, 0] == 7.0  # (1, 0, 0) is missing from the file


def test_the_dump_cache_is_read_without_hkl_even_with_default_F(parse, tmp_path):
    nanobrag.io.write_fdump(str(tmp_path / "c.bin"), nanobrag.StructureFactorTable((0, 0, 0), np.full((2, 2, 2), 3.0)))
    cfg, info = parse("-dump", "c.bin")
    assert info.fdump_read == str(tmp_path / "c.bin") and not info.hkl_given
    assert cfg.structure_factors.table.as_numpy()[1, 1, 1] == 3.0
    assert cfg.structure_factors.default_F == 10.0
    # no cache of the default name: nothing read
    cfg, info = parse()
    assert info.fdump_read is None and cfg.structure_factors.table is None
    assert info.fdump_path == str(tmp_path / "Fdump.bin")


def test_hkl_wins_over_an_existing_cache(parse, tmp_path):
    nanobrag.io.write_fdump(str(tmp_path / "Fdump.bin"),
                            nanobrag.StructureFactorTable((0, 0, 0), np.full((2, 2, 2), 3.0)))
    (tmp_path / "x.hkl").write_text("0 0 0 10\n")
    cfg, info = parse("-hkl", "x.hkl")
    assert info.fdump_read is None and info.hkl_given
    assert cfg.structure_factors.table.as_numpy()[0, 0, 0] == 10.0


def test_the_last_amorphous_table_option_wins(parse, tmp_path):
    (tmp_path / "w.stol").write_text("0 2.5\n0.1 2.4\n")
    for flag, kind in (("-stol", "stol"), ("-4stol", "4stol"), ("-Q", "Q")):
        cfg, info = parse("-stol", "w.stol", flag, "w.stol")
        assert cfg.background.amorphous.column_kind == kind
        assert list(info.files_read) == [flag]


def test_relative_and_absolute_paths(parse, tmp_path):
    sub = tmp_path / "in"
    sub.mkdir()
    (sub / "x.hkl").write_text("0 0 0 10\n")
    _, info = parse("-hkl", "in/x.hkl")
    assert info.files_read["-hkl"] == str(sub / "x.hkl")
    _, info = parse("-hkl", str(sub / "x.hkl"))
    assert info.files_read["-hkl"] == str(sub / "x.hkl")


def test_from_args_is_parse_args(tmp_path):
    argv = ["-cell", "50", "-default_F", "1", "-distance", "80"]
    assert Config.from_args(argv, cwd=str(tmp_path)) == parse_args(argv, cwd=str(tmp_path))[0]


def test_reader_warnings_become_notes_and_stay_warnings(parse, tmp_path, monkeypatch):
    import warnings

    def read_hkl(path, default_F):
        warnings.warn("odd line 3 skipped", UserWarning)
        return nanobrag.StructureFactorTable((0, 0, 0), np.ones((1, 1, 1)))

    monkeypatch.setattr(nanobrag.legacy_flags.files, "read_hkl", read_hkl)
    (tmp_path / "x.hkl").write_text("0 0 0 1\n")
    with pytest.warns(UserWarning, match="odd line 3 skipped"):
        _, info = parse("-hklin", "x.hkl")
    assert "-hklin: odd line 3 skipped" in info.notes
