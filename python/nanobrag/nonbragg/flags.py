"""The legacy nonBragg command line, turned into a :class:`~nanobrag.Config`.

nonBragg renders only an amorphous sample, with a geometry that has no
conventions: beam (1,0,0), fast (0,0,1), slow (0,-1,0), E-vector (0,0,1),
two-theta axis (0,1,0), the beam centre measured along fast and slow without
the MOSFLM half pixel, the normal always fast x slow, and its own default
beam centre and pixel-count rules.  This module translates those rules into
an explicit CUSTOM-convention :class:`Config` with an
:class:`~nanobrag.config.AmorphousSample` and no crystal, so both engines
render it with their ordinary detector and source code.

Options match exactly, with an explicit alias table for the spellings the
legacy substring matcher accepted; unknown options and malformed values are
errors naming the option.  As for nanoBragg (specs/cli.md, section 7),
accidental collisions of the legacy matcher are not reproduced
(``-twotheta_axis`` does not also set ``-twotheta``), switches work at the
end of the command line (``-curved_det``), and the useful collision
``-printout_pixel`` -> ``-printout`` is kept.  See specs/amorphous.md.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..config import AmorphousSample, Config, ConfigError
from ..flag_parsing import FILE, XYZ, Flag, FlagTable, Value, count, integer, mm_for_m, nonneg, num, pos, render_usage
from ..legacy_flags import ENERGY_TO_WAVELENGTH_eV_A

__all__ = ["NonBraggOptions", "NONBRAGG_FLAGS", "parse_nonbragg_args", "nonbragg_usage_text", "mm_for_m"]



@dataclass
class NonBraggOptions:
    """The nonBragg options in the legacy's own terms (mm, degrees, ...), before the translation."""

    stol_file: Optional[str] = None
    stol_kind: str = "stol"
    source_file: Optional[str] = None
    # sample
    thick_mm: float = 0.1
    width_mm: float = 0.1
    height_mm: float = 0.1
    density_g_cm3: float = 1.0
    molecules: float = 0.0
    molecular_weight: float = 18.0
    # detector
    xbeam_mm: Optional[float] = None
    ybeam_mm: Optional[float] = None
    xclose_mm: Optional[float] = None
    yclose_mm: Optional[float] = None
    orgx_px: Optional[float] = None
    orgy_px: Optional[float] = None
    pivot: str = "beam"
    vectors: Dict[str, Tuple[float, float, float]] = field(default_factory=dict)
    distance_mm: float = 100.0
    close_distance_mm: Optional[float] = None
    twotheta_deg: float = 0.0
    rot_deg: List[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    detsize_x_mm: Optional[float] = None
    detsize_y_mm: Optional[float] = None
    fpixels: int = 0
    spixels: int = 0
    pixel_mm: float = 0.1
    curved: bool = False
    point_pixel: bool = False
    kahn: float = 0.0
    nopolar: bool = False
    oversample: Optional[int] = None
    roi: Optional[Tuple[int, int, int, int]] = None
    # beam
    wavelength_A: float = 1.0
    fluence: Optional[float] = None
    flux: float = 0.0
    exposure: float = 1.0
    beamsize_mm: float = 0.1
    dispersion_percent: float = 0.0
    dispsteps: Optional[int] = None
    hdivrange: Optional[float] = None
    vdivrange: Optional[float] = None
    hdivstep: Optional[float] = None
    vdivstep: Optional[float] = None
    hdivsteps: Optional[int] = None
    vdivsteps: Optional[int] = None
    round_div: bool = True
    # spindle (header only)
    phi_deg: float = 0.0
    osc_deg: Optional[float] = None
    phistep_deg: Optional[float] = None
    phisteps: Optional[int] = None
    # outputs
    adc: float = 40.0
    int_scale: Optional[float] = None
    pgm_scale: Optional[float] = None
    floatfile: str = "floatimage.bin"
    intfile: str = "intimage.img"
    pgmfile: str = "image.pgm"
    noisefile: str = "noiseimage.img"
    noise: bool = True
    pgm: bool = True
    seed: Optional[int] = None
    printout: bool = False
    printout_pixel: Optional[Tuple[int, int]] = None
    progress: bool = True
    fmap: bool = False
    # engine (nanobrag options)
    engine: str = "c"
    device: str = "cpu"
    dtype: str = "float64"
    nthreads: Optional[int] = None
    notes: List[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def _set(attr: str, pivot: Optional[str] = None):
    def apply(o: NonBraggOptions, typed: str, values: Tuple[Any, ...]) -> None:
        setattr(o, attr, values[0])
        if pivot is not None:
            o.pivot = pivot

    return apply


def _const(attr: str, value: Any):
    def apply(o: NonBraggOptions, typed: str, values: Tuple[Any, ...]) -> None:
        setattr(o, attr, value)

    return apply


def _no_effect(reason: str):
    def apply(o: NonBraggOptions, typed: str, values: Tuple[Any, ...]) -> None:
        o.note(f"{typed} has no effect: {reason}")

    return apply


def _unsupported(reason: str):
    def apply(o: NonBraggOptions, typed: str, values: Tuple[Any, ...]) -> None:
        raise ConfigError(f"{typed} is not supported by nanobrag-nonbragg: {reason}")

    return apply


def _vector(name: str):
    def apply(o: NonBraggOptions, typed: str, values: Tuple[float, ...]) -> None:
        o.vectors[name] = tuple(values)

    return apply


def _stol(kind: str):
    def apply(o: NonBraggOptions, typed: str, values: Tuple[str, ...]) -> None:
        o.stol_file, o.stol_kind = values[0], kind

    return apply


def _size_all(o: NonBraggOptions, typed: str, values: Tuple[float, ...]) -> None:
    o.thick_mm = o.width_mm = o.height_mm = values[0]


def _rot(axis: int):
    def apply(o: NonBraggOptions, typed: str, values: Tuple[float, ...]) -> None:
        o.rot_deg[axis] = values[0]

    return apply


def _detsize(o: NonBraggOptions, typed: str, values: Tuple[float, ...]) -> None:
    o.detsize_x_mm = o.detsize_y_mm = values[0]


def _detpixels(o: NonBraggOptions, typed: str, values: Tuple[int, ...]) -> None:
    o.fpixels = o.spixels = values[0]


def _roi(o: NonBraggOptions, typed: str, values: Tuple[int, ...]) -> None:
    xmin, xmax, ymin, ymax = values
    if xmin > xmax or ymin > ymax:
        raise ConfigError(f"{typed} expects XMIN <= XMAX and YMIN <= YMAX (inclusive pixel indices), got {xmin} {xmax} {ymin} {ymax}")
    o.roi = tuple(values)


def _energy(o: NonBraggOptions, typed: str, values: Tuple[float, ...]) -> None:
    o.wavelength_A = ENERGY_TO_WAVELENGTH_eV_A / values[0]


def _polar(o: NonBraggOptions, typed: str, values: Tuple[float, ...]) -> None:
    o.kahn, o.nopolar = values[0], False


def _both(a: str, b: str):
    def apply(o: NonBraggOptions, typed: str, values: Tuple[Any, ...]) -> None:
        setattr(o, a, values[0])
        setattr(o, b, values[0])

    return apply


def _scale(attr: str):
    def apply(o: NonBraggOptions, typed: str, values: Tuple[float, ...]) -> None:
        setattr(o, attr, values[0] if values[0] > 0 else None)  # <= 0: the automatic scale

    return apply


def _noisefile(o: NonBraggOptions, typed: str, values: Tuple[str, ...]) -> None:
    o.noisefile, o.noise = values[0], True


def _printout_pixel(o: NonBraggOptions, typed: str, values: Tuple[int, ...]) -> None:
    o.printout, o.printout_pixel = True, (values[0], values[1])


def _curved(o: NonBraggOptions, typed: str, values: Tuple[Any, ...]) -> None:
    o.curved = True


S, D, B, O, X, R, E = ("Sample", "Detector", "Beam and sources", "Output files and noise", "Accepted, no effect",
                       "Refused (deliberate differences)", "Engine (nanobrag options, not in the legacy program)")

NONBRAGG_FLAGS: Tuple[Flag, ...] = (
    Flag("-stol", S, "F of one molecule against sin(theta)/lambda (1/Angstrom): text file 'stol F' (required)",
         _stol("stol"), (FILE,), "FILE"),
    Flag("-4stol", S, "as -stol with the first column in 4 sin(theta)/lambda", _stol("4stol"), (FILE,), "FILE"),
    Flag("-Q", S, "as -stol with the first column in Q = 4 pi sin(theta)/lambda", _stol("Q"), (FILE,), "FILE"),
    Flag("-thick", S, "sample thickness along the beam (mm)", _set("thick_mm"), (nonneg("mm"),), "MM",
         ("-thickness", "-sample_thick", "-sample_thickness", "-sample_x"), "0.1"),
    Flag("-width", S, "sample width (mm); clipped to -beamsize", _set("width_mm"), (nonneg("mm"),), "MM",
         ("-sample_width", "-sample_y"), "0.1"),
    Flag("-height", S, "sample height (mm); clipped to -beamsize", _set("height_mm"), (nonneg("mm"),), "MM",
         ("-heigh", "-sample_height", "-sample_heigh", "-sample_z"), "0.1"),
    Flag("-samplesize", S, "sample thickness, width and height (mm)", _size_all, (nonneg("mm"),), "MM",
         ("-sample_size",), "0.1"),
    Flag("-density", S, "sample density (g/cm^3)", _set("density_g_cm3"), (nonneg("g/cm^3"),), "G_CM3",
         ("-sample_density", "-sample_den"), "1"),
    Flag("-molecules", S, "molecules in the sample; replaces -density", _set("molecules"), (num(),), "N",
         ("-sample_molecules",), "from the density"),
    Flag("-MW", S, "molecular weight (g/mol)", _set("molecular_weight"), (pos("g/mol"),), "G_MOL",
         ("-molecular_weight", "-molecular"), "18"),
    # ---- detector
    Flag("-distance", D, "sample to direct-beam spot along the beam (mm); pivot: beam",
         _set("distance_mm", "beam"), (num("mm"),), "MM", default="100"),
    Flag("-close_distance", D, "sample to detector plane along its normal (mm); pivot: sample",
         _set("close_distance_mm", "sample"), (num("mm"),), "MM", default="derived"),
    Flag("-Xbeam", D, "direct beam along the fast axis (mm); pivot: beam", _set("xbeam_mm", "beam"), (num("mm"),),
         "MM", default="(detsize_x - pixel)/2"),
    Flag("-Ybeam", D, "direct beam along the slow axis (mm); pivot: beam", _set("ybeam_mm", "beam"), (num("mm"),),
         "MM", default="(detsize_y + pixel)/2"),
    Flag("-Xclose", D, "near point along fast (mm); pivot: sample", _set("xclose_mm", "sample"), (num("mm"),), "MM",
         default="(detsize_x - pixel)/2"),
    Flag("-Yclose", D, "near point along slow (mm); pivot: sample", _set("yclose_mm", "sample"), (num("mm"),), "MM",
         default="(detsize_y + pixel)/2"),
    Flag("-ORGX", D, "near point along fast (pixels, times the pixel size, no half pixel); pivot: sample",
         _set("orgx_px", "sample"), (num("pixels"),), "PX"),
    Flag("-ORGY", D, "near point along slow (pixels); pivot: sample", _set("orgy_px", "sample"), (num("pixels"),), "PX"),
    Flag("-pivot", D, "what detector rotations keep fixed", _set("pivot"),
         (Value("word", choices=("beam", "sample")),), "beam|sample", default="beam"),
    Flag("-fdet_vector", D, "fast pixel axis", _vector("fdet_vector"), XYZ, "X Y Z", default="0 0 1"),
    Flag("-sdet_vector", D, "slow pixel axis", _vector("sdet_vector"), XYZ, "X Y Z", default="0 -1 0"),
    Flag("-odet_vector", D, "accepted; as in the legacy program the normal is always fast x slow",
         _no_effect("the detector normal is always fast x slow (as in the legacy program)"), XYZ, "X Y Z"),
    Flag("-beam_vector", D, "beam direction", _vector("beam_vector"), XYZ, "X Y Z", default="1 0 0"),
    Flag("-polar_vector", D, "E-vector direction", _vector("polar_vector"), XYZ, "X Y Z", default="0 0 1"),
    Flag("-spindle_axis", D, "spindle axis (header only)", _vector("spindle_axis"), XYZ, "X Y Z", default="0 0 1"),
    Flag("-twotheta_axis", D, "two-theta axis", _vector("twotheta_axis"), XYZ, "X Y Z", default="0 1 0"),
    Flag("-pix0_vector", D, "accepted; pix0 is always derived from the beam centre",
         _no_effect("pix0 is derived from the beam centre (as in the legacy program)"), XYZ, "X Y Z"),
    Flag("-twotheta", D, "detector swing about the two-theta axis (degrees); pivot: sample",
         _set("twotheta_deg", "sample"), (num("degrees"),), "DEG", default="0"),
    Flag("-detector_rotx", D, "detector rotation about x (degrees)", _rot(0), (num("degrees"),), "DEG", default="0"),
    Flag("-detector_roty", D, "detector rotation about y (degrees)", _rot(1), (num("degrees"),), "DEG", default="0"),
    Flag("-detector_rotz", D, "detector rotation about z (degrees)", _rot(2), (num("degrees"),), "DEG", default="0"),
    Flag("-detsize", D, "detector edge (mm)", _detsize, (pos("mm"),), "MM", default="102.4"),
    Flag("-detsize_x", D, "detector edge along fast (mm)", _set("detsize_x_mm"), (pos("mm"),), "MM", ("-detsize_f",)),
    Flag("-detsize_y", D, "detector edge along slow (mm)", _set("detsize_y_mm"), (pos("mm"),), "MM", ("-detsize_s",)),
    Flag("-detpixels", D, "pixels along fast and slow (win over -detsize)", _detpixels, (count("pixels"),), "N"),
    Flag("-detpixels_x", D, "pixels along fast", _set("fpixels"), (count("pixels"),), "N", ("-detpixels_f",)),
    Flag("-detpixels_y", D, "pixels along slow", _set("spixels"), (count("pixels"),), "N", ("-detpixels_s",)),
    Flag("-pixel", D, "pixel edge (mm)", _set("pixel_mm"), (pos("mm"),), "MM", ("-pixel_size",), "0.1"),
    Flag("-curved_det", D, "all pixels at the same distance from the sample", _curved, (), "",
         ("-curved_detector",)),
    Flag("-point_pixel", D, "solid angle 1/R^2 (no obliquity)", _const("point_pixel", True)),
    Flag("-polar", D, "Kahn polarization factor", _polar, (num(),), "K", default="0"),
    Flag("-nopolar", D, "polarization factor 1", _const("nopolar", True)),
    Flag("-oversample", D, "sub-pixels per pixel edge", _set("oversample"), (count(),), "N", default="1"),
    Flag("-roi", D, "render only fast XMIN..XMAX, slow YMIN..YMAX (inclusive)", _roi,
         (count(), count(), count(), count()), "XMIN XMAX YMIN YMAX", default="the whole detector"),
    # ---- beam
    Flag("-lambda", B, "wavelength (Angstrom)", _set("wavelength_A"), (pos("Angstrom"),), "A",
         ("-wave", "-wavelength"), "1"),
    Flag("-energy", B, f"photon energy (eV): lambda = {ENERGY_TO_WAVELENGTH_eV_A}/E", _energy, (pos("eV"),), "EV"),
    Flag("-fluence", B, "photons per m^2", _set("fluence"), (nonneg("photons/m^2"),), "N", default="1.25932e29"),
    Flag("-flux", B, "photons per second (with -exposure > 0: fluence = flux*exposure/beamsize^2)", _set("flux"),
         (nonneg("photons/s"),), "N", default="0"),
    Flag("-exposure", B, "exposure time (s)", _set("exposure"), (num("s"),), "S", default="1"),
    Flag("-beamsize", B, "beam edge (mm); clips the sample width and height", _set("beamsize_mm"), (num("mm"),), "MM",
         default="0.1"),
    Flag("-dispersion", B, "spectral width (percent)", _set("dispersion_percent"), (num("percent"),), "PCT", default="0"),
    Flag("-dispsteps", B, "wavelengths", _set("dispsteps"), (count(),), "N", default="auto"),
    Flag("-divergence", B, "horizontal and vertical divergence (mrad)", _both("hdivrange", "vdivrange"),
         (num("mrad"),), "MRAD", default="0"),
    Flag("-hdivrange", B, "horizontal divergence (mrad)", _set("hdivrange"), (num("mrad"),), "MRAD"),
    Flag("-vdivrange", B, "vertical divergence (mrad)", _set("vdivrange"), (num("mrad"),), "MRAD"),
    Flag("-hdivstep", B, "horizontal divergence step (mrad)", _set("hdivstep"), (num("mrad"),), "MRAD"),
    Flag("-vdivstep", B, "vertical divergence step (mrad)", _set("vdivstep"), (num("mrad"),), "MRAD"),
    Flag("-hdivsteps", B, "horizontal divergence directions", _set("hdivsteps"), (count(),), "N"),
    Flag("-vdivsteps", B, "vertical divergence directions", _set("vdivsteps"), (count(),), "N"),
    Flag("-divsteps", B, "horizontal and vertical divergence directions", _both("hdivsteps", "vdivsteps"),
         (count(),), "N"),
    Flag("-round_div", B, "elliptical divergence grid (the default)", _const("round_div", True)),
    Flag("-square_div", B, "full rectangular divergence grid", _const("round_div", False)),
    Flag("-sourcefile", B, "sources, one per line: X Y Z (m) weight lambda (m); the weight scales each source",
         _set("source_file"), (FILE,), "FILE"),
    Flag("-source_distance", B, "accepted; only source directions matter",
         _no_effect("only the source directions matter"), (num("mm"),), "MM"),
    # ---- header-only spindle values
    Flag("-phi", D, "PHI and OSC_START of the SMV header (degrees)", _set("phi_deg"), (num("degrees"),), "DEG", default="0"),
    Flag("-osc", D, "OSC_RANGE of the SMV header (degrees)", _set("osc_deg"), (num("degrees"),), "DEG", default="0"),
    Flag("-phistep", D, "phi step (degrees; the header's OSC_RANGE rules)", _set("phistep_deg"), (num("degrees"),), "DEG"),
    Flag("-phisteps", D, "phi steps (the header's OSC_RANGE rules)", _set("phisteps"), (count(),), "N"),
    # ---- outputs
    Flag("-floatfile", O, "raw float32 image (photons/pixel)", _set("floatfile"), (FILE,), "FILE", ("-floatimage",),
         "floatimage.bin"),
    Flag("-intfile", O, "noiseless SMV image", _set("intfile"), (FILE,), "FILE", ("-intimage",), "intimage.img"),
    Flag("-pgmfile", O, "8-bit PGM image", _set("pgmfile"), (FILE,), "FILE", ("-pgmimage",), "image.pgm"),
    Flag("-noisefile", O, "Poisson-noise SMV image (switches noise on)", _noisefile, (FILE,), "FILE",
         ("-noiseimage",), "noiseimage.img"),
    Flag("-nonoise", O, "no noise image", _const("noise", False)),
    Flag("-nopgm", O, "no PGM image", _const("pgm", False)),
    Flag("-scale", O, "integer-image scale (<= 0: 55000/max)", _scale("int_scale"), (num(),), "S", default="auto"),
    Flag("-pgmscale", O, "PGM scale (<= 0: 250/(5 rmsd))", _scale("pgm_scale"), (num(),), "S", default="auto"),
    Flag("-adc", O, "offset added to the integer and noise images (ADU)", _set("adc"), (num("ADU"),), "ADU", default="40"),
    Flag("-seed", O, "noise seed", _set("seed"), (integer(),), "N", default="the clock"),
    Flag("-printout", O, "print per-pixel values", _const("printout", True)),
    Flag("-printout_pixel", O, "print the values of one pixel (fast slow)", _printout_pixel, (integer(), integer()), "F S"),
    Flag("-noprogress", O, "no progress meter", _const("progress", False)),
    Flag("-progress", O, "progress meter", _const("progress", True)),
    # ---- accepted for compatibility
    Flag("-gain", X, "accepted; used by the legacy -img fitting mode only", _no_effect("used only with -img"),
         (num(),), "G"),
    Flag("-ignore", X, "accepted; used by the legacy -img fitting mode only", _no_effect("used only with -img"),
         (num(),), "V"),
    Flag("-stolout", X, "accepted; written by the legacy -img fitting mode only", _no_effect("written only with -img"),
         (FILE,), "FILE"),
    Flag("-noreject", X, "accepted; outlier rejection is always off", _no_effect("outlier rejection is always off")),
    Flag("-coherent", X, "accepted; never used by the legacy program", _no_effect("never used")),
    Flag("-hdiv", X, "accepted; named in the legacy header comment but never parsed (use -hdivrange/-hdivstep)",
         _no_effect("the legacy program never parses it; use -hdivrange (range) or -hdivstep (step), in mrad"),
         (num(),), "MRAD"),
    Flag("-vdiv", X, "accepted; named in the legacy header comment but never parsed (use -vdivrange/-vdivstep)",
         _no_effect("the legacy program never parses it; use -vdivrange (range) or -vdivstep (step), in mrad"),
         (num(),), "MRAD"),
    Flag("-dispstep", X, "accepted; named in the legacy header comment but never parsed (use -dispsteps)",
         _no_effect("the legacy program never parses it; use -dispsteps (number of wavelengths)"), (num(),), "N"),
    Flag("-detector_thick", X, "accepted; nonBragg has no sensor thickness (nanoBragg's option is ignored here)",
         _no_effect("nonBragg has no sensor thickness (the legacy program ignores it too)"), (num(),), "UM"),
    Flag("-img", R, "not supported: the legacy F(stol)-from-image mode (its output uses uninitialised values)",
         _unsupported("the F(stol)-from-image mode writes uninitialised values in the legacy program"), (FILE,), "FILE"),
    Flag("-Fmap", O, "the float image holds the F of each pixel's last path instead of photons (absorption masks)",
         _const("fmap", True)),
    # ---- engine
    Flag("-engine", E, "c (the legacy arithmetic, default) or torch", _set("engine"),
         (Value("word", choices=("c", "torch")),), "c|torch", default="c"),
    Flag("-device", E, "torch device", _set("device"), (Value("word", choices=("cpu", "cuda")),), "cpu|cuda",
         default="cpu"),
    Flag("-dtype", E, "torch dtype", _set("dtype"), (Value("word", choices=("float64", "float32")),),
         "float64|float32", default="float64"),
    Flag("-nthreads", E, "threads of the C engine and of torch", _set("nthreads"),
         (Value("integer", "threads", low=1),), "N", default="all cores"),
)

TABLE = FlagTable(NONBRAGG_FLAGS)


def _unit(v: Sequence[float]) -> Tuple[float, float, float]:
    mag = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    if mag == 0.0:
        return (0.0, 0.0, 0.0)
    return (v[0] / mag, v[1] / mag, v[2] / mag)


def _cross(x: Sequence[float], y: Sequence[float]) -> Tuple[float, float, float]:
    return (x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0])


@dataclass
class NonBraggParse:
    """A parsed nonBragg command line: the options, the Config and the header-only values."""

    options: NonBraggOptions
    config: Config
    #: detector edges (m) as the legacy keeps them (BEAM_CENTER_Y = detsize_y - Ybeam)
    detsize_m: Tuple[float, float]
    files_read: Dict[str, str] = field(default_factory=dict)


def parse_nonbragg_args(argv: Sequence[str], cwd: Optional[str] = None) -> NonBraggParse:
    """Parse legacy nonBragg arguments (without the program name) into a background-only Config.

    Input files are resolved against ``cwd`` and read through :mod:`nanobrag.io`.
    Raises :class:`ConfigError` naming the option and what it expects.
    """
    cwd = os.path.abspath(cwd or os.getcwd())
    o = NonBraggOptions()
    for flag, typed, values in TABLE.tokenize(argv):
        flag.apply(o, typed, values)
    if o.stol_file is None:
        raise ConfigError("no amorphous F(stol) table: give -stol FILE (or -4stol / -Q)")
    parse = NonBraggParse(options=o, config=Config(), detsize_m=(0.0, 0.0))
    _build(parse, cwd)
    return parse


def _read(cwd: str, typed: str, name: str, reader: str, *args: Any):
    from .. import io as nb_io

    path = os.path.normpath(os.path.join(cwd, name))
    if not os.path.isfile(path):
        raise ConfigError(f"{typed}: file not found: {path}")
    try:
        return getattr(nb_io, reader)(path, *args), path
    except OSError as exc:
        raise ConfigError(f"{typed}: cannot read {name}: {exc.strerror or exc}") from None
    except ValueError as exc:  # nanobrag.io.FormatError
        raise ConfigError(f"{typed}: {exc}") from None


def _build(parse: NonBraggParse, cwd: str) -> None:
    """Fill ``parse.config`` and ``parse.detsize_m`` from ``parse.options`` (reading the input files)."""
    o = parse.options
    cfg = Config()
    stol_flag = {"stol": "-stol", "4stol": "-4stol", "Q": "-Q"}[o.stol_kind]
    table, path = _read(cwd, stol_flag, o.stol_file, "read_stol_table", o.stol_kind)
    parse.files_read[stol_flag] = path
    stol = table.stol_per_m()
    if np.any(np.diff(stol) <= 0):
        raise ConfigError(f"{stol_flag}: {o.stol_file}: the first column must increase strictly down the file "
                          "(the legacy interpolation needs an ascending table)")
    if o.source_file is not None:
        cfg.beam.sources, parse.files_read["-sourcefile"] = _read(cwd, "-sourcefile", o.source_file, "read_source_file")

    # detector size: the legacy rule is ceil(edge / pixel), the edge replaced by pixel * count when given
    pixel = o.pixel_mm / 1000.0
    detsize_x = o.detsize_x_mm / 1000.0 if o.detsize_x_mm is not None else 102.4e-3
    detsize_y = o.detsize_y_mm / 1000.0 if o.detsize_y_mm is not None else 102.4e-3
    if o.fpixels:
        detsize_x = pixel * o.fpixels
    if o.spixels:
        detsize_y = pixel * o.spixels
    fpixels, spixels = math.ceil(detsize_x / pixel), math.ceil(detsize_y / pixel)
    if not (1 <= fpixels <= 1000000 and 1 <= spixels <= 1000000):
        raise ConfigError(f"detector: {detsize_x * 1000:g} x {detsize_y * 1000:g} mm with {o.pixel_mm:g} mm pixels "
                          f"gives {fpixels} x {spixels} pixels (need 1 to 1e6 per axis)")
    parse.detsize_m = (detsize_x, detsize_y)
    det = cfg.detector
    det.convention = "CUSTOM"
    det.pixel_size_mm = o.pixel_mm
    det.detpixels = (fpixels, spixels)
    det.detsize_mm = (detsize_x * 1000.0, detsize_y * 1000.0)

    # beam centre defaults (legacy nonBragg): near point at ((W - px)/2, (H + px)/2), ORGX/ORGY in whole pixels
    xclose = o.xclose_mm / 1000.0 if o.xclose_mm is not None else math.nan
    yclose = o.yclose_mm / 1000.0 if o.yclose_mm is not None else math.nan
    if o.orgx_px is not None:
        xclose = o.orgx_px * pixel
    if o.orgy_px is not None:
        yclose = o.orgy_px * pixel
    if math.isnan(xclose):
        xclose = (detsize_x - pixel) / 2.0
    if math.isnan(yclose):
        yclose = (detsize_y + pixel) / 2.0
    det.pivot = o.pivot
    if o.pivot == "sample":
        # the CUSTOM convention takes its near point from the beam-centre values
        det.xbeam_mm, det.ybeam_mm = mm_for_m(xclose), mm_for_m(yclose)
    else:
        det.xbeam_mm = o.xbeam_mm if o.xbeam_mm is not None else mm_for_m(xclose)
        det.ybeam_mm = o.ybeam_mm if o.ybeam_mm is not None else mm_for_m(yclose)
    det.distance_mm = o.distance_mm
    det.close_distance_mm = o.close_distance_mm
    det.twotheta_deg = o.twotheta_deg
    det.rot_deg = tuple(o.rot_deg)
    fdet = o.vectors.get("fdet_vector", (0.0, 0.0, 1.0))
    sdet = o.vectors.get("sdet_vector", (0.0, -1.0, 0.0))
    det.fdet_vector, det.sdet_vector = fdet, sdet
    det.odet_vector = _unit(_cross(_unit(fdet), _unit(sdet)))  # the legacy normal: always fast x slow
    det.twotheta_axis = o.vectors.get("twotheta_axis", (0.0, 1.0, 0.0))
    det.curved, det.point_pixel = o.curved, o.point_pixel
    det.roi = o.roi
    cfg.sampling.spindle_axis = o.vectors.get("spindle_axis", (0.0, 0.0, 1.0))
    cfg.sampling.oversample = o.oversample
    cfg.sampling.phi_start_deg = o.phi_deg
    cfg.sampling.osc_deg = o.osc_deg
    cfg.sampling.phi_step_deg = o.phistep_deg
    cfg.sampling.phi_steps = o.phisteps

    b = cfg.beam
    b.beam_vector = o.vectors.get("beam_vector", (1.0, 0.0, 0.0))
    b.polar_vector = o.vectors.get("polar_vector", (0.0, 0.0, 1.0))
    b.wavelength_A = o.wavelength_A
    if o.fluence is not None:
        b.fluence_photons_per_m2 = o.fluence
    b.flux_photons_per_s, b.exposure_s, b.beamsize_mm = o.flux, o.exposure, o.beamsize_mm
    b.dispersion_percent, b.dispersion_steps = o.dispersion_percent, o.dispsteps
    b.hdiv_range_mrad, b.vdiv_range_mrad = o.hdivrange, o.vdivrange
    b.hdiv_step_mrad, b.vdiv_step_mrad = o.hdivstep, o.vdivstep
    b.hdiv_steps, b.vdiv_steps = o.hdivsteps, o.vdivsteps
    b.round_div = o.round_div
    b.kahn_factor, b.nopolar = o.kahn, o.nopolar

    cfg.amorphous = AmorphousSample(
        table=table, thickness_mm=o.thick_mm, width_mm=o.width_mm, height_mm=o.height_mm,
        density_g_cm3=o.density_g_cm3, molecular_weight_g_mol=o.molecular_weight,
        molecules=o.molecules if o.molecules != 0 else None, fmap=o.fmap,
    )

    out = cfg.output
    out.noise_seed, out.adc_offset = o.seed, o.adc
    out.int_scale, out.pgm_scale = o.int_scale, o.pgm_scale
    out.float_image_path, out.int_image_path = o.floatfile, o.intfile
    out.pgm_path, out.noise_image_path = o.pgmfile, o.noisefile
    out.write_pgm, out.write_noise = o.pgm, o.noise
    out.fdump_path = None
    out.printout, out.printout_pixel, out.progress = o.printout, o.printout_pixel, o.progress
    cfg.engine, cfg.device, cfg.dtype = o.engine, o.device, o.dtype
    parse.config = cfg.validate()


_USAGE_HEAD = (
    "usage: nanobrag-nonbragg -stol FILE [options]",
    "",
    "Render the diffuse scattering of an amorphous sample (the legacy nonBragg program) and write",
    "floatimage.bin, intimage.img, image.pgm and noiseimage.img in the current directory.",
    "Exact option names; see specs/amorphous.md.",
)


def nonbragg_usage_text(width: int = 100) -> str:
    """The usage text of ``nanobrag-nonbragg``."""
    return render_usage(_USAGE_HEAD, NONBRAGG_FLAGS, width)
