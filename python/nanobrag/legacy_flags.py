"""The legacy nanoBragg command line, turned into a :class:`~nanobrag.Config`.

Every option of the legacy program is accepted with its legacy meaning, units
and default, under its documented name and under the spellings people commonly
type (an explicit alias table: the legacy substring matcher accepted them by
accident).  Unlike the legacy parser, names match exactly, and unknown options
and malformed values are errors naming the option and what it expects.

The order-dependent legacy rules are reproduced: the last convention or vector
option picks the convention, the last pivot-setting option picks the pivot,
``-nonoise``/``-noisefile``, ``-nopgm``/``-pgmfile``, ``-polar``/``-nopolar``,
``-interpolate``/``-nointerpolate``, ``-lambda``/``-energy``, ``-N``/``-Na``...
are "last one wins", and ``-detector_abs 0|inf`` resets the sensor thickness
given before it.  As in the legacy program, the SMV headers of ``-mask`` and
then ``-img`` are applied first, wherever those options appear, and every other
option overrides them.  Files are read after all options are parsed (so
``-default_F`` fills the ``-hkl`` table wherever it appears), through
:mod:`nanobrag.io`; engines never read files.

See specs/cli.md for the full description and the deliberate differences from
the legacy parser.
"""
from __future__ import annotations

import difflib
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import io as nb_io
from .config import DEFAULT_FLUENCE, Config, ConfigError, set_argument_parser

__all__ = [
    "Flag",
    "FLAGS",
    "FlagUse",
    "ParseInfo",
    "config_from_args",
    "detector_pixels",
    "lookup",
    "parse_args",
    "usage_text",
    "ENERGY_TO_WAVELENGTH_eV_A",
    "HELP_FLAGS",
]

#: lambda (Angstrom) = this / E (eV), the legacy constant.
ENERGY_TO_WAVELENGTH_eV_A = 12398.42

#: Spellings that ask the ``nanobrag`` command for its usage text.
HELP_FLAGS = ("-h", "-help", "--help")

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1  # the legacy reads integers with atoi() into C ints
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+\Z", re.ASCII)
_INFINITY = re.compile(r"\+?inf(?:inity)?\Z", re.IGNORECASE)
_DEVICE = re.compile(r"(?:cpu|cuda(?::\d+)?)\Z")

# ----------------------------------------------------------------------------
# values
# ----------------------------------------------------------------------------


class _BadValue(Exception):
    """A token that does not satisfy a value specification."""


@dataclass(frozen=True)
class Value:
    """What one value of an option must look like."""

    kind: str  # "number", "integer", "file", "word"
    unit: str = ""
    #: lower bound and whether it is excluded (numbers and integers)
    low: Optional[float] = None
    low_open: bool = False
    #: "inf"/"infinity" accepted (numbers)
    allow_inf: bool = False
    #: allowed words (kind "word")
    choices: Tuple[str, ...] = ()

    def describe(self) -> str:
        """For messages: "a number > 0 (mm)", "an integer >= 0 (pixels)", "one of beam, sample"."""
        if self.kind == "word":
            return "one of " + ", ".join(self.choices)
        if self.kind == "file":
            return "a file name"
        text = "an integer" if self.kind == "integer" else "a number"
        if self.low is not None:
            bound = int(self.low) if float(self.low).is_integer() else self.low
            text += f" {'>' if self.low_open else '>='} {bound}"
        if self.allow_inf:
            text += " or inf"
        if self.unit:
            text += f" ({self.unit})"
        return text

    def convert(self, token: str) -> Any:
        if self.kind == "file":
            if token == "":
                raise _BadValue
            return token
        if self.kind == "word":
            if token not in self.choices:
                raise _BadValue
            return token
        if self.kind == "integer":
            if not _INTEGER.match(token):
                raise _BadValue
            value = int(token)
            if not _INT_MIN <= value <= _INT_MAX:
                raise _BadValue
        else:
            if _NUMBER.match(token):
                value = float(token)
                if math.isinf(value):  # overflow such as 1e999
                    raise _BadValue
            elif self.allow_inf and _INFINITY.match(token):
                value = math.inf
            else:
                raise _BadValue
        if self.low is not None and value != math.inf:
            if value < self.low or (self.low_open and value == self.low):
                raise _BadValue
        return value


def _num(unit: str = "", **kw) -> Value:
    return Value("number", unit, **kw)


def _pos(unit: str = "") -> Value:
    return Value("number", unit, low=0.0, low_open=True)


def _nonneg(unit: str = "", **kw) -> Value:
    return Value("number", unit, low=0.0, **kw)


def _int(unit: str = "") -> Value:
    return Value("integer", unit)


def _count(unit: str = "") -> Value:
    return Value("integer", unit, low=0)


_FILE = Value("file")

# ----------------------------------------------------------------------------
# the record of a parse
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FlagUse:
    """One option as it appeared on the command line."""

    typed: str  # the spelling used
    name: str  # the canonical name
    values: Tuple[Any, ...]  # converted values


@dataclass
class ParseInfo:
    """What a parse saw and did, besides the Config it built."""

    #: every option in command-line order
    flags: List[FlagUse] = field(default_factory=list)
    #: input files read, keyed by the canonical option ("-hkl", "-mat", "-sourcefile",
    #: "-stol", "-img", "-mask", "-dump"), as absolute paths
    files_read: Dict[str, str] = field(default_factory=dict)
    #: -hkl was given, so the command line writes the Fdump cache (as the legacy program)
    hkl_given: bool = False
    #: the Fdump cache read because -hkl was absent (absolute path), else None
    fdump_read: Optional[str] = None
    #: where the Fdump cache goes (absolute path of -dump, default Fdump.bin)
    fdump_path: Optional[str] = None
    #: -nthreads (None: all cores)
    nthreads: Optional[int] = None
    #: -example: the parse started from the built-in example crystal
    example: bool = False
    #: remarks about options that have no effect or were overridden
    notes: List[str] = field(default_factory=list)

    def names(self) -> List[str]:
        """Canonical names of the options, in order."""
        return [u.name for u in self.flags]


class _State:
    """Mutable parse state: the Config under construction and the pending file reads."""

    def __init__(self, cwd: str):
        self.cwd = cwd
        self.config = Config()
        self.info = ParseInfo()
        #: input files named by options, read after parsing: canonical option -> (typed option, file)
        self.inputs: Dict[str, Tuple[str, str]] = {}
        #: the amorphous table's option (-stol, -4stol or -Q: the last one given wins)
        self.stol_option: Optional[str] = None
        #: -amorphous_* options: AmorphousSample field -> value, "table" -> (typed, file, column kind)
        self.amorphous: Dict[str, Any] = {}

    def note(self, text: str) -> None:
        if text not in self.info.notes:
            self.info.notes.append(text)

    def path(self, name: str) -> str:
        return os.path.normpath(os.path.join(self.cwd, name))


# ----------------------------------------------------------------------------
# option table
# ----------------------------------------------------------------------------

Apply = Callable[[_State, str, Tuple[Any, ...]], None]
Consume = Callable[["Flag", str, Sequence[str], int], Tuple[Tuple[Any, ...], int]]


@dataclass(frozen=True)
class Flag:
    """One legacy option: its names, values, meaning and effect on the Config."""

    name: str
    section: str
    help: str
    apply: Apply
    values: Tuple[Value, ...] = ()
    metavar: str = ""
    aliases: Tuple[str, ...] = ()
    default: str = ""
    #: custom value reader for options whose number of values varies (-cell, -misset)
    consume: Optional[Consume] = None
    #: text used in messages when ``values`` alone does not say it well
    expects_text: str = ""

    @property
    def spellings(self) -> Tuple[str, ...]:
        return (self.name,) + self.aliases

    def expects(self) -> str:
        """What the option's values must be, for messages ("a number (mm)", "3 numbers (X Y Z)")."""
        if self.expects_text:
            return self.expects_text
        if len(self.values) == 1:
            return self.values[0].describe()
        return f"{len(self.values)} {self.values[0].kind}s ({self.metavar})"


def _fixed_values(flag: Flag, typed: str, argv: Sequence[str], i: int) -> Tuple[Tuple[Any, ...], int]:
    """Read ``len(flag.values)`` tokens after position i (a token starting with '-' is a value)."""
    n = len(flag.values)
    available = len(argv) - (i + 1)
    if available < n:
        if available == 0:
            raise ConfigError(f"{typed} expects {flag.expects()}, but the command line ends there")
        raise ConfigError(f"{typed} expects {flag.expects()}, but the command line ends after {available}")
    out = []
    for k, spec in enumerate(flag.values):
        token = argv[i + 1 + k]
        try:
            out.append(spec.convert(token))
        except _BadValue:
            raise ConfigError(f"{typed} expects {flag.expects()}, got {token!r}") from None
    return tuple(out), i + 1 + n


def _consume_cell(flag: Flag, typed: str, argv: Sequence[str], i: int):
    """-cell a [b c alpha beta gamma]: the numbers that follow, up to six."""
    values = []
    j = i + 1
    while j < len(argv) and len(values) < 6 and _NUMBER.match(argv[j]):
        values.append(float(argv[j]))
        j += 1
    if not values:
        got = f"got {argv[i + 1]!r}" if i + 1 < len(argv) else "but the command line ends there"
        raise ConfigError(f"{typed} expects {flag.expects()}, {got}")
    return tuple(values), j


def _consume_misset(flag: Flag, typed: str, argv: Sequence[str], i: int):
    """-misset random | -misset rx ry rz."""
    if i + 1 < len(argv) and argv[i + 1] == "random":
        return ("random",), i + 2
    return _fixed_values(flag, typed, argv, i)


def _setter(path: str, *, pivot: Optional[str] = None) -> Apply:
    """An apply function storing the option's value at a dotted Config path (and choosing a pivot)."""
    group_name, attr = path.split(".") if "." in path else (None, path)

    def apply(st: _State, typed: str, values: Tuple[Any, ...]) -> None:
        target = getattr(st.config, group_name) if group_name else st.config
        setattr(target, attr, values[0])
        if pivot is not None:
            st.config.detector.pivot = pivot

    return apply


def _several(*applies: Apply) -> Apply:
    def apply(st: _State, typed: str, values: Tuple[Any, ...]) -> None:
        for a in applies:
            a(st, typed, values)

    return apply


def _constant(path: str, value: Any) -> Apply:
    group_name, attr = path.split(".") if "." in path else (None, path)

    def apply(st: _State, typed: str, values: Tuple[Any, ...]) -> None:
        setattr(getattr(st.config, group_name) if group_name else st.config, attr, value)

    return apply


def _no_effect(reason: str) -> Apply:
    def apply(st: _State, typed: str, values: Tuple[Any, ...]) -> None:
        st.note(f"{typed} has no effect: {reason}")

    return apply


# -- handlers with more than one effect ---------------------------------------


def _apply_cell(st: _State, typed: str, values: Tuple[float, ...]) -> None:
    a = values[0]
    b = values[1] if len(values) > 1 else a
    c = values[2] if len(values) > 2 else a
    angles = list(values[3:6]) + [90.0] * (3 - len(values[3:6]))
    for name, v in zip(("a", "b", "c"), (a, b, c)):
        if not v > 0:
            raise ConfigError(f"{typed} expects cell lengths > 0 (Angstrom), got {name} = {v:g}")
    for name, v in zip(("alpha", "beta", "gamma"), angles):
        if not 0 < v < 180:
            raise ConfigError(f"{typed} expects cell angles between 0 and 180 (degrees), got {name} = {v:g}")
    st.config.crystal.cell = (a, b, c, angles[0], angles[1], angles[2])


def _apply_misset(st: _State, typed: str, values: Tuple[Any, ...]) -> None:
    crystal = st.config.crystal
    if values == ("random",):
        crystal.misset_random = True
        crystal.misset_deg = None
    else:
        crystal.misset_random = False
        crystal.misset_deg = tuple(values)


def _components(path: str, axes: Tuple[int, ...], *, unset: Tuple = (0, 0), convert=None) -> Apply:
    """Store the option's value in the given components of a tuple-valued Config field."""
    group_name, attr = path.split(".")

    def apply(st: _State, typed: str, values: Tuple[Any, ...]) -> None:
        target = getattr(st.config, group_name)
        current = list(getattr(target, attr) or unset)
        for axis in axes:
            current[axis] = convert(values[0]) if convert else values[0]
        setattr(target, attr, tuple(current))

    return apply


def _apply_energy(st: _State, typed: str, values: Tuple[float, ...]) -> None:
    st.config.beam.wavelength_A = ENERGY_TO_WAVELENGTH_eV_A / values[0]


def _apply_polar(st: _State, typed: str, values: Tuple[float, ...]) -> None:
    st.config.beam.kahn_factor = values[0]
    st.config.beam.nopolar = False


def _apply_convention(name: str, pivot: str) -> Apply:
    def apply(st: _State, typed: str, values: Tuple[Any, ...]) -> None:
        st.config.detector.convention = name
        st.config.detector.pivot = pivot

    return apply


def _apply_vector(group: str, attr: str, scale: float = 1.0, zero_ok: bool = False) -> Apply:
    def apply(st: _State, typed: str, values: Tuple[float, ...]) -> None:
        if not zero_ok and all(v == 0 for v in values):
            raise ConfigError(f"{typed} expects a non-zero direction (x y z), got 0 0 0")
        vec = tuple(v / scale for v in values) if scale != 1.0 else tuple(values)
        setattr(getattr(st.config, group), attr, vec)
        st.config.detector.convention = "CUSTOM"

    return apply


def _apply_detector_abs(st: _State, typed: str, values: Tuple[float, ...]) -> None:
    depth = values[0]
    if depth == 0 or math.isinf(depth):
        # the legacy program takes 0 or inf as "no absorption" and drops the thickness given so far
        st.config.detector.attenuation_depth_um = math.inf
        st.config.detector.thickness_um = 0.0
    else:
        st.config.detector.attenuation_depth_um = depth


def _apply_roi(st: _State, typed: str, values: Tuple[int, ...]) -> None:
    xmin, xmax, ymin, ymax = values
    if xmin > xmax or ymin > ymax:
        raise ConfigError(
            f"{typed} expects XMIN <= XMAX and YMIN <= YMAX (inclusive pixel indices), got {xmin} {xmax} {ymin} {ymax}"
        )
    st.config.detector.roi = (xmin, xmax, ymin, ymax)


def _apply_file(option: str) -> Apply:
    def apply(st: _State, typed: str, values: Tuple[str, ...]) -> None:
        st.inputs[option] = (typed, values[0])
        if option == "-hkl":
            st.info.hkl_given = True

    return apply


def _apply_input_setting(option: str) -> Apply:
    """Remember an option that qualifies an input file (read in _load_files)."""

    def apply(st: _State, typed: str, values: Tuple[Any, ...]) -> None:
        st.inputs[option] = (typed, values)

    return apply


def _apply_stol(option: str) -> Apply:
    def apply(st: _State, typed: str, values: Tuple[str, ...]) -> None:
        st.inputs[option] = (typed, values[0])
        st.stol_option = option

    return apply


def _apply_amorphous(*attrs: str) -> Apply:
    """-amorphous_* options: collected, then turned into Config.amorphous after parsing (_load_files)."""

    def apply(st: _State, typed: str, values: Tuple[Any, ...]) -> None:
        for attr in attrs:
            st.amorphous[attr] = values[0]
        st.amorphous.setdefault("given", []).append(typed)

    return apply


def _apply_amorphous_table(kind: str) -> Apply:
    def apply(st: _State, typed: str, values: Tuple[str, ...]) -> None:
        st.amorphous["table"] = (typed, values[0], kind)

    return apply


def _apply_output_file(path_attr: str, switch_attr: Optional[str] = None) -> Apply:
    def apply(st: _State, typed: str, values: Tuple[str, ...]) -> None:
        setattr(st.config.output, path_attr, values[0])
        if switch_attr:
            setattr(st.config.output, switch_attr, True)

    return apply


def _apply_scale(attr: str, turns_on_pgm: bool = False) -> Apply:
    def apply(st: _State, typed: str, values: Tuple[float, ...]) -> None:
        # the legacy program uses the automatic scale for any value <= 0
        setattr(st.config.output, attr, values[0] if values[0] > 0 else None)
        if turns_on_pgm:
            st.config.output.write_pgm = True

    return apply


def _apply_printout_pixel(st: _State, typed: str, values: Tuple[int, ...]) -> None:
    st.config.output.printout = True
    st.config.output.printout_pixel = tuple(values)


def _apply_device(st: _State, typed: str, values: Tuple[str, ...]) -> None:
    if not _DEVICE.match(values[0]):
        raise ConfigError(f"{typed} expects cpu, cuda or cuda:N, got {values[0]!r}")
    st.config.device = values[0]


def _apply_nthreads(st: _State, typed: str, values: Tuple[int, ...]) -> None:
    st.info.nthreads = values[0]


def _apply_none(st: _State, typed: str, values: Tuple[Any, ...]) -> None:
    """-img and -mask act in the first pass (their headers), not here."""


_XYZ = (_num(), _num(), _num())
DR = "Detector response (noisify)"

C, SF, B, D, S, BG, O, DG, E = (
    "Crystal",
    "Structure factors",
    "Beam and sources",
    "Detector",
    "Spindle and sampling",
    "Background",
    "Output files and noise",
    "Diagnostics",
    "Engine (nanobrag options, not in the legacy program)",
)

FLAGS: Tuple[Flag, ...] = (
    # ---- crystal
    Flag("-cell", C, "unit cell: lengths (Angstrom) and angles (degrees); 1 to 6 numbers, "
         "b and c default to a and missing angles to 90", _apply_cell,
         metavar="A [B C ALPHA BETA GAMMA]", default="none (needed unless -mat)", consume=_consume_cell,
         expects_text="1 to 6 numbers (a [b c alpha beta gamma], Angstrom and degrees)"),
    Flag("-mat", C, "MOSFLM orientation matrix file (reciprocal axes a*, b*, c* as columns, times the "
         "wavelength); with -cell as well, the matrix orients the cell and -cell sets its lengths",
         _apply_file("-mat"), (_FILE,), "FILE", ("-matrix",), "none (needed unless -cell)"),
    Flag("-misset", C, "static crystal rotation about lab x, then y, then z (degrees), or 'random' "
         "for an orientation drawn from -misset_seed", _apply_misset, _XYZ, "RX RY RZ | random",
         default="0 0 0", consume=_consume_misset,
         expects_text="3 numbers (rotations about x y z, degrees) or the word random"),
    Flag("-misset_seed", C, "seed of the '-misset random' draw", _setter("crystal.misset_seed"),
         (_int(),), "N", default="the start-up time"),
    Flag("-N", C, "unit cells along each of a, b and c (values below 1 count as 1)",
         _components("crystal.n_cells", (0, 1, 2), convert=float),
         (_count("unit cells"),), "N", default="1"),
    Flag("-Na", C, "unit cells along a",
         _components("crystal.n_cells", (0,), convert=float),
         (_count("unit cells"),), "N", default="1"),
    Flag("-Nb", C, "unit cells along b",
         _components("crystal.n_cells", (1,), convert=float),
         (_count("unit cells"),), "N", default="1"),
    Flag("-Nc", C, "unit cells along c",
         _components("crystal.n_cells", (2,), convert=float),
         (_count("unit cells"),), "N", default="1"),
    Flag("-xtal_size", C, "crystal edge along a, b and c (mm); a size > 0 replaces the cell count on "
         "that axis",
         _components("crystal.size_mm", (0, 1, 2)),
         (_num("mm"),), "MM", ("-xtalsize", "-sample_size", "-samplesize"),
         "0 (use -N)"),
    Flag("-xtal_thick", C, "crystal size along a (mm)", _components("crystal.size_mm", (0,)), (_num("mm"),), "MM",
         ("-xtal_x", "-sample_thick", "-sample_x"), "0 (use -Na)"),
    Flag("-xtal_width", C, "crystal size along b (mm); clipped to -beamsize", _components("crystal.size_mm", (1,)),
         (_num("mm"),), "MM", ("-xtal_y", "-sample_width", "-sample_y", "-width"), "0 (use -Nb)"),
    Flag("-xtal_height", C, "crystal size along c (mm); clipped to -beamsize", _components("crystal.size_mm", (2,)),
         (_num("mm"),), "MM",
         ("-xtal_z", "-xtal_heigh", "-sample_height", "-sample_heigh", "-sample_z", "-height", "-heigh"),
         "0 (use -Nc)"),
    Flag("-square_xtal", C, "parallelepiped crystal: sin(Nx)/sin(x) lattice transform",
         _constant("crystal.shape", "square"), default="on"),
    Flag("-round_xtal", C, "ellipsoidal crystal: sinc lattice transform", _constant("crystal.shape", "round")),
    Flag("-gauss_xtal", C, "Gaussian spots (no side maxima)", _constant("crystal.shape", "gauss")),
    Flag("-tophat_spots", C, "flat-top spots cut at the half width (no side maxima)",
         _constant("crystal.shape", "tophat"), aliases=("-binary_spots",)),
    Flag("-fudge", C, "spot-width factor of the round, gauss and tophat shapes", _setter("crystal.fudge"),
         (_num(),), "F", default="1"),
    Flag("-mosaic", C, "isotropic mosaic spread (degrees)", _setter("crystal.mosaic_spread_deg"),
         (_num("degrees"),), "DEG", ("-mosaicity", "-mosaic_spread", "-mosaici", "-mosaic_spr"), "none"),
    Flag("-mosaic_domains", C, "number of mosaic domains", _setter("crystal.mosaic_domains"),
         (_count("domains"),), "N", ("-mosaic_dom",), "10 with a spread > 0, else 1"),
    Flag("-mosaic_seed", C, "seed of the mosaic-domain draws", _setter("crystal.mosaic_seed"),
         (_int(),), "N", default="12345678"),
    Flag("-density", C, "sample density (g/cm^3); accepted for compatibility, no effect",
         _no_effect("the legacy program only prints the sample density"), (_num("g/cm^3"),), "G_CM3",
         ("-sample_density", "-sample_den")),
    Flag("-MW", C, "molecular weight (g/mol); accepted for compatibility, no effect",
         _no_effect("the legacy program only prints the molecular weight"), (_num("g/mol"),), "G_MOL",
         ("-molecules", "-molec")),
    # ---- structure factors
    Flag("-hkl", SF, "structure factors: text file of h k l F (space group P1); the table is then "
         "cached in the -dump file", _apply_file("-hkl"), (_FILE,), "FILE", ("-hklin",),
         "the -dump cache if it exists"),
    Flag("-mtz", SF, "structure factors from an MTZ file: amplitudes, or intensities as F = sqrt(max(I, 0)), "
         "expanded from its space group to P1 with Friedel mates; its cell unless -cell or -mat",
         _apply_file("-mtz"), (_FILE,), "FILE.mtz", default="none"),
    Flag("-mtz_column", SF, "MTZ column to read (F, I, or one of an F(+)/F(-) or I(+)/I(-) pair)",
         _apply_file("-mtz_column"), (Value("file"),), "LABEL",
         default="the first amplitude column, else anomalous pair, else intensity", expects_text="a column label"),
    Flag("-pdb", SF, "structure factors computed from an atomic model (PDB or mmCIF) to the detector's "
         "resolution; its cell unless -cell or -mat", _apply_file("-pdb"), (_FILE,), "FILE", default="none"),
    Flag("-pdb_anomalous", SF, "add f' and f'' at the run's wavelength to the -pdb form factors",
         _apply_input_setting("-pdb_anomalous")),
    Flag("-bulk_solvent", SF, "flat (Babinet) bulk solvent for -pdb: F * (1 - KSOL exp(-BSOL s^2))",
         _apply_input_setting("-bulk_solvent"), (_nonneg(), _nonneg("Angstrom^2")), "KSOL BSOL",
         default="none (typical 0.75 200)"),
    Flag("-default_F", SF, "F (electrons) of every reflection the table lacks, inside and outside its "
         "h, k, l range", _setter("structure_factors.default_F"), (_num("electrons"),), "F", default="0"),
    Flag("-dump", SF, "binary cache of the structure factors: written after reading -hkl, read when "
         "-hkl is absent", _setter("output.fdump_path"), (_FILE,), "FILE", ("-dumpfile",), "Fdump.bin"),
    Flag("-interpolate", SF, "tricubic interpolation of F between lattice points",
         _constant("structure_factors.interpolate", True), default="on when Na, Nb or Nc <= 2"),
    Flag("-nointerpolate", SF, "nearest lattice point F", _constant("structure_factors.interpolate", False)),
    Flag("-stol", SF, "amorphous F against sin(theta)/lambda (1/Angstrom); read and checked but, as in "
         "the legacy program, not used", _apply_stol("-stol"), (_FILE,), "FILE"),
    Flag("-4stol", SF, "as -stol with the first column in 4 sin(theta)/lambda", _apply_stol("-4stol"),
         (_FILE,), "FILE"),
    Flag("-Q", SF, "as -stol with the first column in Q = 4 pi sin(theta)/lambda", _apply_stol("-Q"),
         (_FILE,), "FILE"),
    Flag("-stolout", SF, "accepted for compatibility, no effect",
         _no_effect("the legacy program never writes this table"), (_FILE,), "FILE"),
    # ---- beam
    Flag("-lambda", B, "central wavelength (Angstrom)", _setter("beam.wavelength_A"), (_pos("Angstrom"),),
         "A", ("-wavelength", "-wave"), "1"),
    Flag("-energy", B, f"central photon energy (eV): lambda = {ENERGY_TO_WAVELENGTH_eV_A}/E", _apply_energy,
         (_pos("eV"),), "EV"),
    Flag("-dispersion", B, "full spectral width delta-lambda/lambda (percent)",
         _setter("beam.dispersion_percent"), (_num("percent"),), "PCT", default="0"),
    Flag("-dispsteps", B, "wavelengths across the spectral width", _setter("beam.dispersion_steps"),
         (_count(),), "N", default="auto"),
    Flag("-divergence", B, "full horizontal and vertical divergence (mrad)",
         _several(_setter("beam.hdiv_range_mrad"), _setter("beam.vdiv_range_mrad")), (_num("mrad"),),
         "MRAD", default="0"),
    Flag("-hdivrange", B, "full horizontal divergence (mrad)", _setter("beam.hdiv_range_mrad"),
         (_num("mrad"),), "MRAD", default="0"),
    Flag("-vdivrange", B, "full vertical divergence (mrad)", _setter("beam.vdiv_range_mrad"),
         (_num("mrad"),), "MRAD", default="0"),
    Flag("-hdivstep", B, "horizontal divergence step (mrad)", _setter("beam.hdiv_step_mrad"),
         (_num("mrad"),), "MRAD", default="auto"),
    Flag("-vdivstep", B, "vertical divergence step (mrad)", _setter("beam.vdiv_step_mrad"),
         (_num("mrad"),), "MRAD", default="auto"),
    Flag("-hdivsteps", B, "horizontal divergence directions", _setter("beam.hdiv_steps"), (_count(),), "N",
         default="auto"),
    Flag("-vdivsteps", B, "vertical divergence directions", _setter("beam.vdiv_steps"), (_count(),), "N",
         default="auto"),
    Flag("-divsteps", B, "horizontal and vertical divergence directions",
         _several(_setter("beam.hdiv_steps"), _setter("beam.vdiv_steps")), (_count(),), "N", default="auto"),
    Flag("-round_div", B, "trim the divergence grid to an ellipse", _constant("beam.round_div", True),
         default="on"),
    Flag("-square_div", B, "keep the full rectangular divergence grid", _constant("beam.round_div", False)),
    Flag("-sourcefile", B, "explicit sources, one per line: X Y Z (m, source position) weight "
         "lambda (m); replaces divergence and dispersion", _apply_file("-sourcefile"), (_FILE,), "FILE"),
    Flag("-fluence", B, "photons per m^2 on the sample", _setter("beam.fluence_photons_per_m2"),
         (_nonneg("photons/m^2"),), "N", default=f"{DEFAULT_FLUENCE:.6g} (r_e^2 * fluence = 1)"),
    Flag("-flux", B, "photons per second; with -exposure > 0 it replaces the fluence by "
         "flux * exposure / beamsize^2", _setter("beam.flux_photons_per_s"), (_nonneg("photons/s"),), "N",
         default="0 (use the fluence)"),
    Flag("-exposure", B, "exposure time (s)", _setter("beam.exposure_s"), (_num("s"),), "S", default="1"),
    Flag("-beamsize", B, "beam edge (mm); also clips the crystal height and width",
         _setter("beam.beamsize_mm"), (_num("mm"),), "MM", default="0.1"),
    Flag("-polar", B, "Kahn polarization factor (0: unpolarized beam); undoes an earlier -nopolar",
         _apply_polar, (_num(),), "K", default="0"),
    Flag("-nopolar", B, "polarization factor fixed at 1", _constant("beam.nopolar", True)),
    Flag("-beam_vector", B, "direction of the beam (selects the CUSTOM convention)",
         _apply_vector("beam", "beam_vector"), _XYZ, "X Y Z", default="the convention's"),
    Flag("-polar_vector", B, "direction of the E-vector (selects the CUSTOM convention)",
         _apply_vector("beam", "polar_vector"), _XYZ, "X Y Z", default="the convention's"),
    Flag("-coherent", B, "accepted for compatibility, no effect",
         _no_effect("the legacy program stores it but never uses it")),
    # ---- detector
    Flag("-distance", D, "sample to direct-beam spot along the beam (mm); pivot: beam",
         _setter("detector.distance_mm", pivot="beam"), (_num("mm"),), "MM", default="100"),
    Flag("-close_distance", D, "sample to detector plane along its normal (mm); wins over -distance; "
         "pivot: sample", _setter("detector.close_distance_mm", pivot="sample"), (_num("mm"),), "MM",
         default="derived from -distance"),
    Flag("-pixel", D, "pixel edge (mm)", _setter("detector.pixel_size_mm"), (_pos("mm"),), "MM",
         ("-pixel_size",), "0.1"),
    Flag("-detsize", D, "detector edge, fast and slow (mm)",
         _components("detector.detsize_mm", (0, 1)),
         (_pos("mm"),), "MM",
         default="102.4"),
    Flag("-detsize_f", D, "detector edge along the fast axis (mm)",
         _components("detector.detsize_mm", (0,)),
         (_pos("mm"),), "MM",
         ("-detsize_x",), "102.4"),
    Flag("-detsize_s", D, "detector edge along the slow axis (mm)",
         _components("detector.detsize_mm", (1,)),
         (_pos("mm"),), "MM",
         ("-detsize_y",), "102.4"),
    Flag("-detpixels", D, "pixels along fast and slow; wins over -detsize", _components("detector.detpixels", (0, 1)),
         (_count("pixels"),), "N", default="from -detsize"),
    Flag("-detpixels_f", D, "pixels along the fast axis",
         _components("detector.detpixels", (0,)),
         (_count("pixels"),), "N",
         ("-detpixels_x",), "from -detsize_f"),
    Flag("-detpixels_s", D, "pixels along the slow axis",
         _components("detector.detpixels", (1,)),
         (_count("pixels"),), "N",
         ("-detpixels_y",), "from -detsize_s"),
    Flag("-Xbeam", D, "direct-beam X in the convention's frame (mm; MOSFLM, DENZO: X runs along slow; "
         "ADXV, XDS, DIALS, CUSTOM: along fast); pivot: beam", _setter("detector.xbeam_mm", pivot="beam"),
         (_num("mm"),), "MM", default="the convention's centre"),
    Flag("-Ybeam", D, "direct-beam Y in the convention's frame (mm); pivot: beam",
         _setter("detector.ybeam_mm", pivot="beam"), (_num("mm"),), "MM", default="the convention's centre"),
    Flag("-Xclose", D, "near point (foot of the sample's normal on the detector) along fast (mm); "
         "pivot: sample", _setter("detector.xclose_mm", pivot="sample"), (_num("mm"),), "MM",
         default="detector centre"),
    Flag("-Yclose", D, "near point along slow (mm); pivot: sample", _setter("detector.yclose_mm", pivot="sample"),
         (_num("mm"),), "MM", default="detector centre"),
    Flag("-ORGX", D, "XDS origin along fast (pixels); pivot: sample", _setter("detector.orgx_px", pivot="sample"),
         (_num("pixels"),), "PX", default="derived"),
    Flag("-ORGY", D, "XDS origin along slow (pixels); pivot: sample", _setter("detector.orgy_px", pivot="sample"),
         (_num("pixels"),), "PX", default="derived"),
    Flag("-pivot", D, "what detector rotations keep fixed; only the CUSTOM convention honours it "
         "(MOSFLM, DENZO, ADXV pivot on the beam, XDS, DIALS on the sample)", _setter("detector.pivot"),
         (Value("word", choices=("beam", "sample")),), "beam|sample", default="beam"),
    Flag("-mosflm", D, "MOSFLM geometry convention", _apply_convention("MOSFLM", "beam"), default="on"),
    Flag("-xds", D, "XDS geometry convention", _apply_convention("XDS", "sample")),
    Flag("-adxv", D, "ADXV geometry convention", _apply_convention("ADXV", "beam")),
    Flag("-denzo", D, "DENZO geometry convention", _apply_convention("DENZO", "beam")),
    Flag("-dials", D, "DIALS geometry convention", _apply_convention("DIALS", "beam")),
    Flag("-fdet_vector", D, "fast pixel axis (selects the CUSTOM convention)",
         _apply_vector("detector", "fdet_vector"), _XYZ, "X Y Z", default="the convention's"),
    Flag("-sdet_vector", D, "slow pixel axis (selects the CUSTOM convention)",
         _apply_vector("detector", "sdet_vector"), _XYZ, "X Y Z", default="the convention's"),
    Flag("-odet_vector", D, "detector normal, away from the sample (selects the CUSTOM convention; "
         "replaced by fast x slow unless of length 1)", _apply_vector("detector", "odet_vector", zero_ok=True),
         _XYZ, "X Y Z", default="the convention's"),
    Flag("-twotheta_axis", D, "axis of the two-theta swing (selects the CUSTOM convention)",
         _apply_vector("detector", "twotheta_axis"), _XYZ, "X Y Z", default="the convention's"),
    Flag("-pix0_vector", D, "sample to first pixel corner (m); accepted and kept, but as in the legacy "
         "program only selects the CUSTOM convention (pix0 comes from the beam centre)",
         _apply_vector("detector", "pix0_vector_m", zero_ok=True), _XYZ, "X Y Z"),
    Flag("-pix0_vector_mm", D, "as -pix0_vector, in mm", _apply_vector("detector", "pix0_vector_m", 1000.0, True),
         _XYZ, "X Y Z"),
    Flag("-twotheta", D, "detector swing about the two-theta axis (degrees); pivot: sample",
         _setter("detector.twotheta_deg", pivot="sample"), (_num("degrees"),), "DEG", default="0"),
    Flag("-detector_rotx", D, "detector rotation about lab x (degrees), applied first",
         _components("detector.rot_deg", (0,)),
         (_num("degrees"),), "DEG", default="0"),
    Flag("-detector_roty", D, "detector rotation about lab y (degrees), applied second",
         _components("detector.rot_deg", (1,)),
         (_num("degrees"),), "DEG", default="0"),
    Flag("-detector_rotz", D, "detector rotation about lab z (degrees), applied third",
         _components("detector.rot_deg", (2,)),
         (_num("degrees"),), "DEG", default="0"),
    Flag("-curved_det", D, "spherical detector: every pixel at the same distance from the sample",
         _constant("detector.curved", True)),
    Flag("-point_pixel", D, "solid angle 1/R^2, without the pixel area and obliquity",
         _constant("detector.point_pixel", True)),
    Flag("-detector_thick", D, "sensor thickness (um)", _setter("detector.thickness_um"),
         (_nonneg("um"),), "UM", default="0 (no sensor model)"),
    Flag("-detector_abs", D, "sensor attenuation depth (um); 0 or inf: no absorption, and the "
         "thickness given so far is reset to 0", _apply_detector_abs, (_nonneg("um", allow_inf=True),),
         "UM|inf", ("-detector_absorb",), "the thickness"),
    Flag("-detector_thicksteps", D, "sensor layers", _setter("detector.thicksteps"), (_count("layers"),), "N",
         ("-thicksteps",), "auto"),
    Flag("-img", D, "SMV image whose header sets the detector size, pixel, distances, wavelength, beam "
         "centre, phi and oscillation (command-line options win)", _apply_none, (_FILE,), "FILE"),
    Flag("-mask", D, "SMV mask of the detector's size (0: pixel skipped); its header is used as for "
         "-img, which wins for keys both have", _apply_none, (_FILE,), "FILE"),
    Flag("-roi", D, "render only fast XMIN..XMAX and slow YMIN..YMAX (inclusive, 0-based pixels)", _apply_roi,
         (_count("pixels"),) * 4, "XMIN XMAX YMIN YMAX", default="whole detector",
         expects_text="4 integers >= 0 (XMIN XMAX YMIN YMAX, pixels)"),
    # ---- spindle and sampling
    Flag("-phi", S, "spindle angle at the start (degrees)", _setter("sampling.phi_start_deg"),
         (_num("degrees"),), "DEG", default="0"),
    Flag("-osc", S, "oscillation range (degrees)", _setter("sampling.osc_deg"), (_num("degrees"),), "DEG",
         ("-oscillation",), "auto"),
    Flag("-phistep", S, "spindle step (degrees)", _setter("sampling.phi_step_deg"), (_num("degrees"),), "DEG",
         default="auto"),
    Flag("-phisteps", S, "spindle steps across the oscillation", _setter("sampling.phi_steps"), (_count(),), "N",
         default="auto"),
    Flag("-spindle_axis", S, "spindle (phi) axis (selects the CUSTOM convention)",
         _apply_vector("sampling", "spindle_axis"), _XYZ, "X Y Z", default="the convention's"),
    Flag("-oversample", S, "sub-pixels per pixel edge", _setter("sampling.oversample"), (_count(),), "N",
         default="auto from crystal size and geometry"),
    Flag("-oversample_thick", S, "re-evaluate the sensor absorption at every sub-step",
         _constant("sampling.oversample_thick", True)),
    Flag("-oversample_polar", S, "re-evaluate the polarization at every sub-step",
         _constant("sampling.oversample_polar", True)),
    Flag("-oversample_omega", S, "re-evaluate the pixel solid angle at every sub-step",
         _constant("sampling.oversample_omega", True)),
    Flag("-dmin", S, "skip scattering finer than this resolution (Angstrom)", _setter("sampling.dmin_A"),
         (_nonneg("Angstrom"),), "A", default="0 (off)"),
    # ---- background
    Flag("-amorphous_stol", BG, "amorphous sample in the beam (the legacy nonBragg background, added to the "
         "image): F of one molecule against sin(theta)/lambda (1/Angstrom); unlike -stol it is rendered",
         _apply_amorphous_table("stol"), (_FILE,), "FILE", default="none"),
    Flag("-amorphous_4stol", BG, "as -amorphous_stol with the first column in 4 sin(theta)/lambda",
         _apply_amorphous_table("4stol"), (_FILE,), "FILE"),
    Flag("-amorphous_Q", BG, "as -amorphous_stol with the first column in Q = 4 pi sin(theta)/lambda",
         _apply_amorphous_table("Q"), (_FILE,), "FILE"),
    Flag("-amorphous_thick", BG, "amorphous sample thickness along the beam (mm)",
         _apply_amorphous("thickness_mm"), (_nonneg("mm"),), "MM", default="0.1"),
    Flag("-amorphous_width", BG, "amorphous sample width (mm); clipped to -beamsize",
         _apply_amorphous("width_mm"), (_nonneg("mm"),), "MM", default="0.1"),
    Flag("-amorphous_height", BG, "amorphous sample height (mm); clipped to -beamsize",
         _apply_amorphous("height_mm"), (_nonneg("mm"),), "MM", default="0.1"),
    Flag("-amorphous_size", BG, "amorphous sample thickness, width and height (mm)",
         _apply_amorphous("thickness_mm", "width_mm", "height_mm"), (_nonneg("mm"),), "MM", default="0.1"),
    Flag("-amorphous_density", BG, "amorphous sample density (g/cm^3)", _apply_amorphous("density_g_cm3"),
         (_nonneg("g/cm^3"),), "G_CM3", default="1"),
    Flag("-amorphous_MW", BG, "molecular weight of the amorphous material (g/mol)",
         _apply_amorphous("molecular_weight_g_mol"), (_pos("g/mol"),), "G_MOL", default="18"),
    Flag("-amorphous_molecules", BG, "molecules of amorphous material in the beam; replaces -amorphous_density",
         _apply_amorphous("molecules"), (_num(),), "N", default="from the density"),
    Flag("-water", BG, "edge of a water cube in the beam, giving a flat background (um)",
         _setter("background.water_um"), (_nonneg("um"),), "UM", default="0"),
    # ---- outputs
    Flag("-floatfile", O, "raw float32 image, photons per pixel", _apply_output_file("float_image_path"),
         (_FILE,), "FILE", ("-floatimage",), "floatimage.bin"),
    Flag("-intfile", O, "noiseless SMV image", _apply_output_file("int_image_path"), (_FILE,), "FILE",
         ("-intimage",), "intimage.img"),
    Flag("-pgmfile", O, "8-bit PGM image (undoes an earlier -nopgm)",
         _apply_output_file("pgm_path", "write_pgm"), (_FILE,), "FILE", ("-pgmimage",), "image.pgm"),
    Flag("-noisefile", O, "SMV image with Poisson noise (undoes an earlier -nonoise)",
         _apply_output_file("noise_image_path", "write_noise"), (_FILE,), "FILE", ("-noiseimage",),
         "noiseimage.img"),
    Flag("-nonoise", O, "no noise image", _constant("output.write_noise", False)),
    Flag("-nopgm", O, "no PGM image", _constant("output.write_pgm", False)),
    Flag("-scale", O, "photons to ADU of the noiseless SMV image (<= 0: automatic)", _apply_scale("int_scale"),
         (_num(),), "S", default="55000 / brightest pixel"),
    Flag("-pgmscale", O, "photons to grey levels of the PGM image (<= 0: automatic); undoes an "
         "earlier -nopgm", _apply_scale("pgm_scale", turns_on_pgm=True), (_num(),), "S",
         default="250 / (5 * rms deviation)"),
    Flag("-adc", O, "offset added to the SMV images (ADU)", _setter("output.adc_offset"), (_num("ADU"),), "ADU",
         ("-adcoffset", "-adc_offset"), "40"),
    Flag("-seed", O, "seed of the Poisson noise", _setter("output.noise_seed"), (_int(),), "N",
         default="the start-up time"),
    Flag("-nxmx", O, "NeXus/HDF5 (NXmx) image with the run's geometry, for DIALS and XDS",
         _setter("output.nxmx_path"), (_FILE,), "FILE.h5", default="none"),
    Flag("-nxmx_data", O, "NXmx pixel type: float32 photons, or int32 counts (rounded, clipped to -saturation)",
         _setter("output.nxmx_data"), (Value("word", choices=("float32", "int32")),), "float32|int32",
         default="float32"),
    Flag("-nxmx_compression", O, "NXmx compression (bitshuffle-lz4 needs hdf5plugin)",
         _setter("output.nxmx_compression"), (Value("word", choices=("gzip", "bitshuffle-lz4", "none")),),
         "gzip|bitshuffle-lz4|none", default="gzip"),
    Flag("-saturation", O, "saturation of int32 NXmx counts and the CBF Count_cutoff (counts)",
         _setter("output.saturation"), (Value("integer", "counts", low=1),), "COUNTS", default="2147483647"),
    Flag("-cbf", O, "miniCBF image of int32 counts (photons rounded, clipped to -saturation)",
         _setter("output.cbf_path"), (_FILE,), "FILE.cbf", default="none"),
    Flag("-png", O, "8-bit greyscale PNG preview (adxv orientation)", _setter("output.png_path"), (_FILE,),
         "FILE.png", default="none"),
    Flag("-png_scale", O, "PNG grey levels: legacy (as the PGM) or log", _setter("output.png_scale"),
         (Value("word", choices=("legacy", "log")),), "legacy|log", default="legacy"),
    # ---- detector response (the legacy noisify's options; they shape the noise image)
    Flag("-psf", DR, "point-spread function of the noise image: gauss, fiber or none",
         _setter("response.psf_type"), (Value("word", choices=("gauss", "fiber", "none")),), "gauss|fiber|none",
         default="none"),
    Flag("-psf_fwhm", DR, "PSF full width at half maximum (um; 0: no PSF)", _setter("response.psf_fwhm_um"),
         (_nonneg("um"),), "UM", default="46"),
    Flag("-psf_radius", DR, "PSF rendering radius (pixels; 0: automatic from each pixel's photons)",
         _setter("response.psf_radius_px"), (_count("pixels"),), "PX", default="0"),
    Flag("-readout_noise", DR, "Gaussian read-out noise of the noise image (ADU rms)",
         _setter("response.readout_noise_adu"), (_nonneg("ADU"),), "ADU", ("-readout",), "0"),
    Flag("-flicker", DR, "fractional source fluctuation drawn per pixel of the noise image",
         _setter("response.flicker_noise"), (_nonneg("fraction"),), "F", default="0"),
    Flag("-calibration", DR, "fractional per-pixel calibration (gain) error of the noise image",
         _setter("response.calibration_noise"), (_nonneg("fraction"),), "F", default="0"),
    Flag("-calib_seed", DR, "seed of the calibration error", _setter("response.calibration_seed"), (_int(),), "N",
         default="the legacy noisify's (generator state +123456789)"),
    Flag("-gain", DR, "ADU per photon of the noise image", _setter("response.gain_adu_per_photon"),
         (_num("ADU/photon"),), "G", default="1"),
    # ---- diagnostics
    Flag("-printout", DG, "print intermediate values of every pixel", _constant("output.printout", True)),
    Flag("-printout_pixel", DG, "print intermediate values of one pixel (turns -printout on)",
         _apply_printout_pixel, (_count("pixel index"),) * 2, "FAST SLOW",
         expects_text="2 integers >= 0 (FAST SLOW pixel indices)"),
    Flag("-progress", DG, "show progress", _constant("output.progress", True), default="on"),
    Flag("-noprogress", DG, "hide progress", _constant("output.progress", False)),
    # ---- engine
    Flag("-engine", E, "which engine renders the image (auto: the fastest for the run, see nanobrag.engine_choice)",
         _setter("engine"), (Value("word", choices=("auto", "torch", "c")),), "auto|torch|c", default="auto"),
    Flag("-phi_mode", E, "spec: every spindle step rotates the crystal; c-parity: as the legacy "
         "program, a step at exactly phi = 0 reuses the previous rotation", _setter("phi_mode"),
         (Value("word", choices=("spec", "c-parity")),), "spec|c-parity", default="spec"),
    Flag("-device", E, "torch device", _apply_device, (_FILE,), "cpu|cuda|cuda:N", default="cpu",
         expects_text="a device (cpu, cuda or cuda:N)"),
    Flag("-dtype", E, "torch floating-point type", _setter("dtype"),
         (Value("word", choices=("float64", "float32")),), "float64|float32", default="float64"),
    Flag("-nthreads", E, "threads of the C engine and of torch", _apply_nthreads,
         (Value("integer", "threads", low=1),), "N", default="all cores"),
    Flag("-example", E, "start from the built-in example crystal (a lysozyme-sized cell with computed "
         "structure factors, 512x512 detector); later options override it", lambda st, typed, values: None),
)

_BY_SPELLING: Dict[str, Flag] = {}
for _flag in FLAGS:
    for _spelling in _flag.spellings:
        assert _spelling not in _BY_SPELLING, f"duplicate option spelling {_spelling}"
        _BY_SPELLING[_spelling] = _flag
del _flag, _spelling

# spellings the legacy program documents or accepts but which are not options there either
_NOT_OPTIONS = {
    "-hdiv": "use -hdivrange (full range) or -hdivstep (step), both in mrad",
    "-vdiv": "use -vdivrange (full range) or -vdivstep (step), both in mrad",
    "-dispstep": "use -dispsteps (number of wavelengths)",
    "-source_distance": "the legacy program ignores it; sources sit 10 m away along the beam",
    "-source_dist": "the legacy program ignores it; sources sit 10 m away along the beam",
    "-polarization": "use -polar K (Kahn factor)",
    "-detector_twotheta": "use -twotheta",
    "-xdet_vector": "use -fdet_vector, -sdet_vector, -odet_vector",
    "-ydet_vector": "use -fdet_vector, -sdet_vector, -odet_vector",
    "-zdet_vector": "use -fdet_vector, -sdet_vector, -odet_vector",
}


def lookup(spelling: str) -> Optional[Flag]:
    """The option a spelling names (exact match), or None."""
    return _BY_SPELLING.get(spelling)


def _unknown(token: str) -> ConfigError:
    if token in HELP_FLAGS:
        return ConfigError(f"{token} is answered by the nanobrag command, not by Config.from_args")
    if token in _NOT_OPTIONS:
        return ConfigError(f"unknown option {token}: {_NOT_OPTIONS[token]}")
    if token.startswith("--") and token[1:] in _BY_SPELLING:
        return ConfigError(f"unknown option {token}: options take a single dash ({token[1:]})")
    close = difflib.get_close_matches(token, list(_BY_SPELLING), n=3, cutoff=0.75)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return ConfigError(f"unknown option {token}{hint}")


# ----------------------------------------------------------------------------
# parsing
# ----------------------------------------------------------------------------


def _tokenize(argv: Sequence[str]) -> List[Tuple[Flag, str, Tuple[Any, ...]]]:
    entries = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if _NUMBER.match(token) or _INFINITY.match(token):
            raise ConfigError(f"unexpected value {token!r}: no option before it takes another value")
        if not token.startswith("-") or len(token) < 2:
            raise ConfigError(f"unexpected argument {token!r}: options start with '-'")
        flag = _BY_SPELLING.get(token)
        if flag is None:
            raise _unknown(token)
        consume = flag.consume or _fixed_values
        if flag.values or flag.consume:
            values, i = consume(flag, token, argv, i)
        else:
            values, i = (), i + 1
        entries.append((flag, token, values))
    return entries


def parse_args(argv: Sequence[str], cwd: Optional[str] = None) -> Tuple[Config, ParseInfo]:
    """Build a Config from legacy nanoBragg arguments (without the program name).

    Input files are resolved against ``cwd`` (default: the current directory)
    and read through :mod:`nanobrag.io`.  Returns the Config and a
    :class:`ParseInfo` describing the parse.  Raises :class:`ConfigError`
    naming the option and what it expects.
    """
    argv = [os.fspath(a) if isinstance(a, os.PathLike) else str(a) for a in argv]
    st = _State(os.path.abspath(cwd or os.getcwd()))
    entries = _tokenize(argv)
    st.info.flags = [FlagUse(typed, flag.name, values) for flag, typed, values in entries]

    if any(flag.name == "-example" for flag, _, _ in entries):
        from .examples import example_config

        st.config = example_config()
        st.info.example = True

    # first pass, as the legacy program: the mask header, then the image header (which wins)
    last = {flag.name: (typed, values[0]) for flag, typed, values in entries if flag.name in ("-mask", "-img")}
    if "-mask" in last:
        _apply_smv_header(st, *last["-mask"], is_mask=True)
    if "-img" in last:
        _apply_smv_header(st, *last["-img"], is_mask=False)

    for flag, typed, values in entries:
        flag.apply(st, typed, values)

    _settle_convention(st)
    _load_files(st)
    _check_inputs(st)
    return st.config.validate(), st.info


def config_from_args(argv: Sequence[str], cwd: Optional[str] = None) -> Config:
    """The Config of a legacy nanoBragg argument list (see :func:`parse_args`)."""
    return parse_args(argv, cwd)[0]


set_argument_parser(config_from_args)


_CONVENTION_VECTORS = (
    ("beam", "beam_vector"),
    ("beam", "polar_vector"),
    ("detector", "fdet_vector"),
    ("detector", "sdet_vector"),
    ("detector", "odet_vector"),
    ("detector", "twotheta_axis"),
    ("sampling", "spindle_axis"),
)


def _settle_convention(st: _State) -> None:
    """A named convention given after vector options replaces those vectors, as in the legacy program."""
    cfg = st.config
    if cfg.detector.pix0_vector_m is not None:
        st.note("-pix0_vector only selects the CUSTOM convention: pix0 is derived from the beam centre "
                "(as in the legacy program)")
    if cfg.detector.convention == "CUSTOM":
        return
    for group, attr in _CONVENTION_VECTORS:
        if getattr(getattr(cfg, group), attr) is not None:
            setattr(getattr(cfg, group), attr, None)
            st.note(f"-{attr} has no effect: the later -{cfg.detector.convention.lower()} "
                    f"uses the {cfg.detector.convention} convention's vectors")


# ----------------------------------------------------------------------------
# files
# ----------------------------------------------------------------------------


def _read(st: _State, typed: str, option: str, name: str, reader: Callable[..., Any], *args: Any) -> Any:
    """Read an input file through nanobrag.io; errors name the option and the file."""
    path = st.path(name)
    if not os.path.exists(path):
        raise ConfigError(f"{typed}: file not found: {path}")
    if os.path.isdir(path):
        raise ConfigError(f"{typed}: {path} is a directory, expected a file")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = reader(path, *args)
    except OSError as exc:
        raise ConfigError(f"{typed}: cannot read {name}: {exc.strerror or exc}") from None
    except ValueError as exc:  # nanobrag.io.FormatError
        raise ConfigError(f"{typed}: {exc}") from None
    for w in caught:  # a reader's remarks go to ParseInfo.notes and on to the caller's warning filters
        st.note(f"{typed}: {w.message}")
        warnings.warn(str(w.message), w.category, stacklevel=4)
    st.info.files_read[option] = path
    return result


def _apply_smv_header(st: _State, typed: str, name: str, is_mask: bool) -> None:
    """Take detector geometry from an SMV header with the legacy key semantics."""
    image = _read(st, typed, "-mask" if is_mask else "-img", name, nb_io.read_smv)
    value_of = nb_io.smv_header_value
    data = np.asarray(image.data)
    if data.ndim != 2 or data.size == 0:
        raise ConfigError(f"{typed}: {name} holds no 2-D image")
    slow, fast = (int(n) for n in data.shape)
    det = st.config.detector

    def header(key: str) -> Optional[float]:
        v = float(value_of(image.header_text, key))
        return None if math.isnan(v) else v

    det.detpixels = (fast, slow)
    pixel = header("PIXEL_SIZE")
    if pixel is not None:
        if not pixel > 0:
            raise ConfigError(f"{typed}: {name} header has PIXEL_SIZE={pixel:g}, expected a size > 0 (mm)")
        det.pixel_size_mm = pixel
    # "DISTANCE" is looked up like the legacy program: the last occurrence of the text, so a
    # header that lists CLOSE_DISTANCE after DISTANCE answers with the close distance
    for key, attr, group in (
        ("DISTANCE", "distance_mm", det),
        ("CLOSE_DISTANCE", "close_distance_mm", det),
        ("WAVELENGTH", "wavelength_A", st.config.beam),
        ("BEAM_CENTER_X", "xbeam_mm", det),
        ("ORGX", "orgx_px", det),
        ("ORGY", "orgy_px", det),
        ("PHI", "phi_start_deg", st.config.sampling),
        ("OSC_RANGE", "osc_deg", st.config.sampling),
    ):
        v = header(key)
        if v is not None:
            setattr(group, attr, v)
    y = header("BEAM_CENTER_Y")
    if y is not None:
        det.ybeam_mm = _mask_flipped_ybeam_mm(det.pixel_size_mm, slow, y) if is_mask else y
    if header("TWOTHETA") is not None:
        st.note(f"{typed} {name}: the header's TWOTHETA is ignored (as in the legacy program); use -twotheta")
    if is_mask:
        det.mask = np.ascontiguousarray(data, dtype=np.uint16)


def _mask_flipped_ybeam_mm(pixel_size_mm: float, slow_pixels: int, value_mm: float) -> float:
    """Ybeam (mm) of a mask header: measured from the other detector edge.

    The legacy program computes it in metres as pixel*slow - value/1000; return
    the mm value whose engine conversion (mm / 1000) gives those very bits.
    """
    target_m = (pixel_size_mm / 1000.0) * slow_pixels - value_mm / 1000.0
    guess = target_m * 1000.0
    candidates = [guess]
    for direction in (math.inf, -math.inf):
        x = guess
        for _ in range(4):
            x = math.nextafter(x, direction)
            candidates.append(x)
    for x in candidates:
        if x / 1000.0 == target_m:
            return x
    return guess


def _load_files(st: _State) -> None:
    cfg = st.config
    if "-mat" in st.inputs:
        typed, name = st.inputs["-mat"]
        matrix = np.asarray(_read(st, typed, "-mat", name, nb_io.read_mosflm_matrix), dtype=np.float64)
        if matrix.shape != (3, 3):
            raise ConfigError(f"{typed}: {name} gives a matrix of shape {matrix.shape}, expected 3x3")
        cfg.crystal.mosflm_matrix = matrix
    dump_name = cfg.output.fdump_path
    st.info.fdump_path = st.path(dump_name) if dump_name else None
    sf_inputs = [o for o in ("-hkl", "-mtz", "-pdb") if o in st.inputs]
    for qualifier, needs in (("-mtz_column", "-mtz"), ("-pdb_anomalous", "-pdb"), ("-bulk_solvent", "-pdb")):
        if qualifier in st.inputs and needs not in st.inputs:
            raise ConfigError(f"{st.inputs[qualifier][0]} qualifies {needs} FILE, which was not given")
    if len(sf_inputs) > 1:
        raise ConfigError(f"{' and '.join(sf_inputs)} both give structure factors; give only one")
    if sf_inputs and sf_inputs[0] != "-hkl":
        _load_structure_factor_file(st, sf_inputs[0])
    elif "-hkl" in st.inputs:
        typed, name = st.inputs["-hkl"]
        cfg.structure_factors.table = _read(st, typed, "-hkl", name, nb_io.read_hkl, cfg.structure_factors.default_F)
    elif dump_name and not st.info.example and os.path.isfile(st.path(dump_name)):
        # as the legacy program: without -hkl an existing cache is read, even with -default_F
        cfg.structure_factors.table = _read(st, "-dump", "-dump", dump_name, nb_io.read_fdump)
        st.info.fdump_read = st.path(dump_name)
        st.note(f"structure factors read from the cache {dump_name} (no -hkl given)")
    if "-sourcefile" in st.inputs:
        typed, name = st.inputs["-sourcefile"]
        cfg.beam.sources = _read(st, typed, "-sourcefile", name, nb_io.read_source_file)
    if st.stol_option is not None:
        typed, name = st.inputs[st.stol_option]
        column_kind = {"-stol": "stol", "-4stol": "4stol", "-Q": "Q"}[st.stol_option]
        cfg.background.amorphous = _read(st, typed, st.stol_option, name, nb_io.read_stol_table, column_kind)
        st.note(f"{typed} {name} is read but, as in the legacy program, does not change the image "
                f"(-amorphous_{typed[1:]} renders it as a background)")
    _load_amorphous(st)


def _load_amorphous(st: _State) -> None:
    """Config.amorphous from the -amorphous_* options (the table option is required with any of them)."""
    options = dict(st.amorphous)
    given = options.pop("given", [])
    if "table" not in options:
        if given:
            raise ConfigError(f"{given[0]} needs the amorphous F(stol) table: give -amorphous_stol FILE "
                              "(or -amorphous_4stol / -amorphous_Q)")
        return
    from .config import AmorphousSample

    typed, name, kind = options.pop("table")
    table = _read(st, typed, typed, name, nb_io.read_stol_table, kind)
    if options.get("molecules") == 0:
        options["molecules"] = None  # 0: from the density, as the legacy nonBragg
    st.config.amorphous = AmorphousSample(table=table, **options)


def _load_structure_factor_file(st: _State, option: str) -> None:
    """-mtz or -pdb: the P1 table, and the file's cell unless -cell or -mat was given."""
    cfg = st.config
    typed, name = st.inputs[option]
    own_cell = not any(n in ("-cell", "-mat") for n in st.info.names())
    if option == "-mtz":
        column = st.inputs.get("-mtz_column", (None, None))[1]
        found = _read(st, typed, option, name, nb_io.read_mtz, column, cfg.structure_factors.default_F)
        st.note(f"{typed} {name}: column {'/'.join(found.columns)} ({found.rule}), space group {found.space_group}, "
                f"{found.reflections_read} reflections expanded to P1 with Friedel mates")
    else:
        from .derived import detector_d_min_A
        from .structure_factors import reciprocal_metric

        model = _read(st, typed, option, name, nb_io.read_model)
        if own_cell:
            cfg.crystal.cell, cfg.crystal.mosflm_matrix = model.cell, None
        d_min = detector_d_min_A(cfg)
        if cfg.sampling.dmin_A:
            d_min = max(d_min, float(cfg.sampling.dmin_A))
        # one reciprocal-lattice step beyond d_min: edge pixels round to the next reflection out
        pad = float(np.sqrt(np.max(np.diag(reciprocal_metric(model.cell)))))
        d_grid = 1.0 / (1.0 / d_min + pad)
        from .io.model import model_structure_factors

        anomalous = "-pdb_anomalous" in st.inputs
        solvent = st.inputs["-bulk_solvent"][1] if "-bulk_solvent" in st.inputs else None
        try:
            found = model_structure_factors(model, d_grid, wavelength_A=cfg.beam.wavelength_A, anomalous=anomalous,
                                            bulk_solvent=solvent, default_F=cfg.structure_factors.default_F)
        except ValueError as exc:
            raise ConfigError(f"{typed}: {name}: {exc}") from None
        extras = (", with f' and f''" if anomalous else "") + (", flat bulk solvent" if solvent else "")
        st.note(f"{typed} {name}: F of {found.atoms} atoms ({found.space_group}) to {d_grid:.3g} A "
                f"(detector edge {d_min:.3g} A){extras}")
    cfg.structure_factors.table = found.table
    if own_cell:
        cfg.crystal.cell, cfg.crystal.mosflm_matrix = found.cell, None


def _check_inputs(st: _State) -> None:
    """The legacy "missing input" rule: what to scatter from, and a crystal."""
    cfg = st.config
    problems = []
    if cfg.amorphous is not None and cfg.crystal.cell is None and cfg.crystal.mosflm_matrix is None:
        return  # an amorphous sample alone: no crystal, no structure factors needed
    if cfg.structure_factors.table is None and cfg.structure_factors.default_F == 0.0:
        problems.append(
            f"no structure factors: give -hkl FILE, a nonzero -default_F, or have the cache "
            f"{cfg.output.fdump_path} in {st.cwd}"
        )
    if cfg.crystal.cell is None and cfg.crystal.mosflm_matrix is None:
        problems.append("no crystal: give -cell a b c alpha beta gamma (Angstrom, degrees) or -mat FILE")
    if problems:
        raise ConfigError("; ".join(problems))


def detector_pixels(cfg: Config) -> Tuple[int, int]:
    """(fast, slow) pixel counts with the legacy rule (see :func:`nanobrag.validation.pixel_counts`)."""
    from .validation import pixel_counts

    return pixel_counts(cfg)


# ----------------------------------------------------------------------------
# usage text
# ----------------------------------------------------------------------------


def usage_text(width: int = 100) -> str:
    """The usage text of the ``nanobrag`` command: every option, its units and default."""
    import textwrap

    lines = [
        "usage: nanobrag [options]",
        "",
        "Simulate the diffraction image of a small crystal on an absolute scale, with the options",
        "of the legacy nanoBragg program (exact names; see specs/cli.md).  A crystal (-cell or -mat)",
        "and structure factors (-hkl, the -dump cache, or -default_F) are required.  Writes",
        "floatimage.bin, intimage.img, image.pgm and noiseimage.img in the current directory unless",
        "told otherwise.  Later options win over earlier ones.",
        "",
        "  -h, -help, --help         print this text",
    ]
    sections: Dict[str, List[Flag]] = {}
    for flag in FLAGS:
        sections.setdefault(flag.section, []).append(flag)
    indent = " " * 8
    for section, flags in sections.items():
        lines += ["", section + ":"]
        for flag in flags:
            head = f"  {flag.name} {flag.metavar}".rstrip()
            text = flag.help
            if flag.default:
                text += f" [default: {flag.default}]"
            if flag.aliases:
                text += f" (also {', '.join(flag.aliases)})"
            lines.append(head)
            lines += textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent)
    return "\n".join(lines) + "\n"
