"""One configuration object for both engines.

:class:`Config` holds the *user-level* inputs of a simulation -- the quantities
the legacy command-line flags express, in the units the flags use (mm, um,
Angstrom, degrees, mrad, percent).  Nothing derived is stored here: each
engine derives detector basis vectors, pix0, the reciprocal cell, the source
list and the mosaic rotations itself, so comparing the engines also compares
those derivations.

``None`` means "not given": the engines then apply the legacy program's
default or auto-selection rule for that quantity.

Differentiation: any float-valued field (or a tuple of them, or the
structure-factor grid) may be a ``torch.Tensor``.  The torch engine keeps
such tensors in its graph, so ``requires_grad=True`` on, say,
``config.detector.distance_mm`` gives d(image)/d(distance).  The C engine
reads their values.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from .tables import AmorphousTable, SourceTable, StructureFactorTable

__all__ = [
    "Config",
    "ConfigError",
    "CrystalConfig",
    "StructureFactorConfig",
    "BeamConfig",
    "DetectorConfig",
    "SamplingConfig",
    "BackgroundConfig",
    "OutputConfig",
    "CONVENTIONS",
    "PIVOTS",
    "CRYSTAL_SHAPES",
    "PHI_MODES",
    "ENGINES",
    "DTYPES",
    "DEFAULT_FLUENCE",
]

#: Photons per m^2 that make r_e^2 * fluence = 1 (the legacy default).
DEFAULT_FLUENCE = 125932015286227086360700780544.0

CONVENTIONS = ("MOSFLM", "XDS", "ADXV", "DENZO", "DIALS", "CUSTOM")
PIVOTS = ("beam", "sample")
CRYSTAL_SHAPES = ("square", "round", "gauss", "tophat")
PHI_MODES = ("spec", "c-parity")
ENGINES = ("auto", "torch", "c")
DTYPES = ("float64", "float32")

Vec3 = Tuple[float, float, float]


class ConfigError(ValueError):
    """A configuration value is missing, malformed or out of its domain."""


@dataclass
class CrystalConfig:
    """Unit cell, orientation, crystal size and mosaicity."""

    #: a, b, c (Angstrom) and alpha, beta, gamma (degrees).  Either this or
    #: ``mosflm_matrix`` (or both: matrix orientation, cell lengths) is needed.
    cell: Optional[Sequence[float]] = None
    #: MOSFLM orientation matrix as the file lists it: 3x3, rows x, y, z and
    #: columns a*, b*, c*, in 1/Angstrom multiplied by the wavelength.
    mosflm_matrix: Optional[Any] = None
    #: static crystal rotation about lab x, y, z (degrees), applied to the reciprocal cell.
    misset_deg: Optional[Sequence[float]] = None
    #: draw a random orientation from the legacy generator (``-misset random``).
    misset_random: bool = False
    #: seed of that draw; None = the start-up time, as the legacy program.
    misset_seed: Optional[int] = None
    #: unit cells along a, b, c (Na, Nb, Nc); real values are accepted (gradients).
    n_cells: Sequence[float] = (1.0, 1.0, 1.0)
    #: crystal extent along a, b, c (mm); a positive value replaces the N on that axis.
    size_mm: Sequence[float] = (0.0, 0.0, 0.0)
    #: lattice-transform shape: "square" (parallelepiped), "round", "gauss", "tophat".
    shape: str = "square"
    #: reciprocal-space radius factor for round/gauss/tophat spots.
    fudge: float = 1.0
    #: isotropic mosaic spread (degrees); None = none.
    mosaic_spread_deg: Optional[float] = None
    #: number of mosaic domains; None = auto (10 when a spread is given).
    mosaic_domains: Optional[int] = None
    #: seed of the mosaic-domain draws (legacy default 12345678).
    mosaic_seed: int = 12345678


@dataclass
class StructureFactorConfig:
    """Where F(hkl) comes from."""

    #: dense P1 table (from ``-hkl`` or an Fdump cache); None = only ``default_F``.
    table: Optional[StructureFactorTable] = None
    #: F of every reflection the table lacks (electrons).
    default_F: float = 0.0
    #: tricubic interpolation between lattice points: None = auto (on when any N <= 2).
    interpolate: Optional[bool] = None


@dataclass
class BeamConfig:
    """Incident beam: wavelength spectrum, divergence, fluence, polarization."""

    wavelength_A: float = 1.0
    #: full spectral width delta-lambda/lambda (percent).
    dispersion_percent: float = 0.0
    dispersion_steps: Optional[int] = None
    #: horizontal/vertical divergence: full range and step (mrad), number of steps.
    hdiv_range_mrad: Optional[float] = None
    hdiv_step_mrad: Optional[float] = None
    hdiv_steps: Optional[int] = None
    vdiv_range_mrad: Optional[float] = None
    vdiv_step_mrad: Optional[float] = None
    vdiv_steps: Optional[int] = None
    #: trim the divergence grid to an ellipse.
    round_div: bool = True
    #: explicit sources (replaces divergence and dispersion).
    sources: Optional[SourceTable] = None
    fluence_photons_per_m2: float = DEFAULT_FLUENCE
    #: photons per second; nonzero (with exposure > 0) replaces the fluence by flux*exposure/beamsize^2.
    flux_photons_per_s: float = 0.0
    exposure_s: float = 1.0
    beamsize_mm: float = 0.1
    #: Kahn polarization factor (0 = unpolarized formula, the legacy default).
    kahn_factor: float = 0.0
    #: polarization factor forced to 1.
    nopolar: bool = False
    #: beam propagation direction; None = the convention's.
    beam_vector: Optional[Sequence[float]] = None
    #: E-vector direction; None = the convention's.
    polar_vector: Optional[Sequence[float]] = None


@dataclass
class DetectorConfig:
    """Detector size, placement, orientation and sensor."""

    #: geometry convention; "CUSTOM" is what any explicit vector selects.
    convention: str = "MOSFLM"
    #: rotation pivot chosen by the flags ("beam"/"sample"); only CUSTOM honours it.
    pivot: str = "beam"
    #: sample to direct-beam spot along the beam (mm).
    distance_mm: float = 100.0
    #: sample to detector plane along its normal (mm); None = derived.  Given, it wins over distance.
    close_distance_mm: Optional[float] = None
    pixel_size_mm: float = 0.1
    #: detector edge lengths (mm): fast, slow.
    detsize_mm: Sequence[float] = (102.4, 102.4)
    #: pixel counts fast, slow; None (or 0 on an axis) = from detsize.
    detpixels: Optional[Sequence[int]] = None
    #: direct-beam position (mm) in the convention's X/Y meaning (MOSFLM: X slow, Y fast).
    xbeam_mm: Optional[float] = None
    ybeam_mm: Optional[float] = None
    #: near point (mm) for XDS/DIALS/CUSTOM defaults.
    xclose_mm: Optional[float] = None
    yclose_mm: Optional[float] = None
    #: XDS origin (pixels, 1-based pixel centres).
    orgx_px: Optional[float] = None
    orgy_px: Optional[float] = None
    fdet_vector: Optional[Sequence[float]] = None
    sdet_vector: Optional[Sequence[float]] = None
    odet_vector: Optional[Sequence[float]] = None
    twotheta_axis: Optional[Sequence[float]] = None
    #: accepted like the legacy ``-pix0_vector`` (metres) but, as there, never used:
    #: pix0 is always derived from the beam centre.  Kept so the input is not lost.
    pix0_vector_m: Optional[Sequence[float]] = None
    #: detector rotations about lab x, y, z (degrees), applied x, then y, then z.
    rot_deg: Sequence[float] = (0.0, 0.0, 0.0)
    #: detector swing about the two-theta axis (degrees).
    twotheta_deg: float = 0.0
    curved: bool = False
    #: solid angle 1/R^2 without the pixel-area obliquity factor.
    point_pixel: bool = False
    #: sensor thickness (um); 0 = no thickness model.
    thickness_um: float = 0.0
    #: sensor attenuation depth (um); None = the thickness; math.inf = no absorption.
    attenuation_depth_um: Optional[float] = None
    thicksteps: Optional[int] = None
    #: uint16 array (slow, fast); pixels equal to 0 are skipped.
    mask: Optional[Any] = None
    #: inclusive pixel window (fast_min, fast_max, slow_min, slow_max).
    roi: Optional[Sequence[int]] = None


@dataclass
class SamplingConfig:
    """Spindle sweep, sub-pixel sampling and resolution cut."""

    #: phi rotation axis; None = the convention's.
    spindle_axis: Optional[Sequence[float]] = None
    phi_start_deg: float = 0.0
    #: oscillation range (degrees); None = auto.
    osc_deg: Optional[float] = None
    phi_step_deg: Optional[float] = None
    phi_steps: Optional[int] = None
    #: sub-pixels per pixel edge; None = auto from crystal size and geometry.
    oversample: Optional[int] = None
    #: recompute absorption / polarization / solid angle per sub-step (legacy semantics).
    oversample_thick: bool = False
    oversample_polar: bool = False
    oversample_omega: bool = False
    #: skip scattering paths finer than this resolution (Angstrom); 0 = off.
    dmin_A: float = 0.0


@dataclass
class BackgroundConfig:
    """Flat amorphous background."""

    #: edge of a water cube in the beam (um).
    water_um: float = 0.0
    #: F(stol) table given with -stol/-4stol/-Q: read and validated, unused (as the legacy).
    amorphous: Optional[AmorphousTable] = None


@dataclass
class OutputConfig:
    """Noise, integer scaling and the files the command line writes."""

    #: seed of the Poisson noise; None = the start-up time.
    noise_seed: Optional[int] = None
    #: offset added to the integer and noise images (ADU).
    adc_offset: float = 40.0
    #: integer-image scale; None = 55000 / max pixel.
    int_scale: Optional[float] = None
    #: PGM scale; None = 250 / (5 * rms deviation).
    pgm_scale: Optional[float] = None
    float_image_path: Optional[str] = "floatimage.bin"
    int_image_path: Optional[str] = "intimage.img"
    pgm_path: Optional[str] = "image.pgm"
    noise_image_path: Optional[str] = "noiseimage.img"
    write_pgm: bool = True
    write_noise: bool = True
    #: Fdump cache written after reading an HKL file.
    fdump_path: Optional[str] = "Fdump.bin"
    #: per-pixel diagnostics on stdout (all pixels, or ``printout_pixel`` = (fast, slow)).
    printout: bool = False
    printout_pixel: Optional[Sequence[int]] = None
    progress: bool = True


@dataclass
class Config:
    """Everything a simulation needs, grouped the way a crystallographer thinks.

    Build one directly, or from legacy command-line arguments with
    :meth:`Config.from_args`.
    """

    crystal: CrystalConfig = field(default_factory=CrystalConfig)
    structure_factors: StructureFactorConfig = field(default_factory=StructureFactorConfig)
    beam: BeamConfig = field(default_factory=BeamConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    #: "spec": physically correct phi rotation at every step (default);
    #: "c-parity": reproduce the legacy phi = 0 carry-over.
    phi_mode: str = "spec"
    #: default engine for :func:`nanobrag.simulate`: "auto" (the fastest for the run, see
    #: nanobrag.engine_choice), "torch" or "c".
    engine: str = "auto"
    #: torch device ("cpu", "cuda", "cuda:1", ...).
    device: str = "cpu"
    #: torch dtype name: "float64" or "float32".
    dtype: str = "float64"

    @classmethod
    def from_args(cls, argv: Sequence[str], cwd: Optional[str] = None) -> "Config":
        """Build a Config from a legacy nanoBragg argument list (without the program name).

        File names are resolved against ``cwd`` (default: the current directory).
        Raises :class:`ConfigError` naming the flag and what was expected.
        """
        from .legacy_flags import config_from_args

        return config_from_args(argv, cwd=cwd)

    def copy(self) -> "Config":
        """A deep copy (tensors and arrays are copied too; use with care on large tables)."""
        return copy.deepcopy(self)

    def validate(self) -> "Config":
        """Check choices and domains; raise :class:`ConfigError` naming the field."""
        _check_choice("phi_mode", self.phi_mode, PHI_MODES)
        _check_choice("engine", self.engine, ENGINES)
        _check_choice("dtype", self.dtype, DTYPES)
        _check_choice("detector.convention", self.detector.convention, CONVENTIONS)
        _check_choice("detector.pivot", self.detector.pivot, PIVOTS)
        _check_choice("crystal.shape", self.crystal.shape, CRYSTAL_SHAPES)
        c = self.crystal
        if c.cell is None and c.mosflm_matrix is None:
            raise ConfigError("crystal: give a unit cell (crystal.cell, -cell) or an orientation matrix (crystal.mosflm_matrix, -mat)")
        if c.cell is not None and len(c.cell) != 6:
            raise ConfigError(f"crystal.cell must hold 6 numbers (a b c alpha beta gamma), got {len(c.cell)}")
        if c.mosflm_matrix is not None and tuple(np.shape(c.mosflm_matrix)) != (3, 3):
            raise ConfigError(f"crystal.mosflm_matrix must be 3x3, got shape {np.shape(c.mosflm_matrix)}")
        _check_vec("crystal.misset_deg", c.misset_deg)
        _check_len("crystal.n_cells", c.n_cells, 3)
        _check_len("crystal.size_mm", c.size_mm, 3)
        if c.mosaic_domains is not None and int(c.mosaic_domains) != c.mosaic_domains:
            raise ConfigError("crystal.mosaic_domains must be an integer")
        sf = self.structure_factors
        if sf.table is None and _value(sf.default_F) == 0.0:
            raise ConfigError(
                "structure factors: no HKL table (-hkl or an Fdump cache) and default_F is 0, so every pixel would be 0; "
                "give -hkl FILE or -default_F F"
            )
        b = self.beam
        if not _value(b.wavelength_A) > 0:
            raise ConfigError(f"beam.wavelength_A must be > 0, got {_value(b.wavelength_A)}")
        for name in ("beam_vector", "polar_vector"):
            _check_vec(f"beam.{name}", getattr(b, name))
        d = self.detector
        if not _value(d.pixel_size_mm) > 0:
            raise ConfigError(f"detector.pixel_size_mm must be > 0, got {_value(d.pixel_size_mm)}")
        _check_len("detector.detsize_mm", d.detsize_mm, 2)
        if d.detpixels is not None:
            _check_len("detector.detpixels", d.detpixels, 2)
            if any(int(n) < 0 for n in d.detpixels):
                raise ConfigError(f"detector.detpixels must be >= 0, got {tuple(d.detpixels)}")
        for name in ("fdet_vector", "sdet_vector", "odet_vector", "twotheta_axis", "pix0_vector_m"):
            _check_vec(f"detector.{name}", getattr(d, name))
        _check_len("detector.rot_deg", d.rot_deg, 3)
        if d.roi is not None:
            _check_len("detector.roi", d.roi, 4)
        if d.mask is not None and np.ndim(d.mask) != 2:
            raise ConfigError(f"detector.mask must be a 2-D (slow, fast) array, got {np.ndim(d.mask)} dimensions")
        s = self.sampling
        _check_vec("sampling.spindle_axis", s.spindle_axis)
        if s.oversample is not None and int(s.oversample) != s.oversample:
            raise ConfigError("sampling.oversample must be an integer")
        o = self.output
        if o.printout_pixel is not None:
            _check_len("output.printout_pixel", o.printout_pixel, 2)
        return self


def _value(x: Any) -> float:
    """The float value of a number or a 0-d tensor."""
    if hasattr(x, "detach"):
        return float(x.detach().cpu())
    return float(x)


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _check_len(name: str, value: Any, n: int) -> None:
    try:
        length = len(value)
    except TypeError:
        raise ConfigError(f"{name} must hold {n} numbers, got {value!r}") from None
    if length != n:
        raise ConfigError(f"{name} must hold {n} numbers, got {length}")


def _check_vec(name: str, value: Any) -> None:
    if value is not None:
        _check_len(name, value, 3)


def iter_fields(obj: Any, prefix: str = ""):
    """Yield (dotted_name, value) for every leaf field of a Config (for reports and tests)."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        name = f"{prefix}{f.name}"
        if is_dataclass(value) and not isinstance(value, type) and not isinstance(
            value, (StructureFactorTable, SourceTable, AmorphousTable)
        ):
            yield from iter_fields(value, prefix=name + ".")
        else:
            yield name, value
