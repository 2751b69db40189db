"""The nonBragg options: :class:`NonBraggOptions` (the legacy's own terms), the option table, the usage text."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..config import ConfigError
from ..flag_parsing import FILE, XYZ, Flag, FlagTable, Value, count, integer, nonneg, num, pos, render_usage
from ..legacy_flags import ENERGY_TO_WAVELENGTH_eV_A

__all__ = ["NonBraggOptions", "NONBRAGG_FLAGS", "TABLE", "nonbragg_usage_text"]


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
