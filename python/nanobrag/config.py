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
import math
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Callable, Optional, Sequence, Tuple


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
    "AmorphousSample",
    "OutputConfig",
    "DetectorResponseConfig",
    "PSF_TYPES",
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
PSF_TYPES = ("none", "gauss", "fiber")

Vec3 = Tuple[float, float, float]


class ConfigError(ValueError):
    """A configuration value is missing, malformed or out of its domain."""


@dataclass
class CrystalConfig:
    """Unit cell, orientation, crystal size and mosaicity.

    Parameters
    ----------
    cell : sequence of float or None, default None
        a, b, c (Angstrom) and alpha, beta, gamma (degrees).  Either this or ``mosflm_matrix`` (or
        both: matrix orientation, cell lengths) is needed.
    mosflm_matrix : array_like or None, default None
        MOSFLM orientation matrix as the file lists it: 3x3, rows x, y, z and columns a*, b*, c*, in
        1/Angstrom multiplied by the wavelength.
    misset_deg : sequence of float or None, default None
        Static crystal rotation about lab x, y, z (degrees), applied to the reciprocal cell.
    misset_random : bool, default False
        Draw a random orientation from the legacy generator (``-misset random``).
    misset_seed : int or None, default None
        Seed of that draw; None = the start-up time, as the legacy program.
    n_cells : sequence of float, default (1.0, 1.0, 1.0)
        Unit cells along a, b, c (Na, Nb, Nc); real values are accepted (gradients).
    size_mm : sequence of float, default (0.0, 0.0, 0.0)
        Crystal extent along a, b, c (mm); a positive value replaces the N on that axis.
    shape : str, default "square"
        Lattice-transform shape: "square" (parallelepiped), "round", "gauss", "tophat".
    fudge : float, default 1.0
        Reciprocal-space radius factor for round/gauss/tophat spots.
    mosaic_spread_deg : float or None, default None
        Isotropic mosaic spread (degrees); None = none.
    mosaic_domains : int or None, default None
        Number of mosaic domains; None = auto (10 when a spread is given).
    mosaic_seed : int, default 12345678
        Seed of the mosaic-domain draws (legacy default 12345678).
    """

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
    """Where F(hkl) comes from.

    Parameters
    ----------
    table : StructureFactorTable or None, default None
        Dense P1 table (from ``-hkl`` or an Fdump cache); None = only ``default_F``.
    default_F : float, default 0.0
        F of every reflection the table lacks (electrons).
    interpolate : bool or None, default None
        Tricubic interpolation between lattice points: None = auto (on when any N <= 2).
    """

    #: dense P1 table (from ``-hkl`` or an Fdump cache); None = only ``default_F``.
    table: Optional[StructureFactorTable] = None
    #: F of every reflection the table lacks (electrons).
    default_F: float = 0.0
    #: tricubic interpolation between lattice points: None = auto (on when any N <= 2).
    interpolate: Optional[bool] = None


@dataclass
class BeamConfig:
    """Incident beam: wavelength spectrum, divergence, fluence, polarization.

    Parameters
    ----------
    wavelength_A : float, default 1.0
        Central wavelength (Angstrom).
    dispersion_percent : float, default 0.0
        Full spectral width delta-lambda/lambda (percent).
    dispersion_steps : int or None, default None
        Wavelengths sampled across the dispersion; None = auto.
    hdiv_range_mrad : float or None, default None
        Horizontal/vertical divergence: full range and step (mrad), number of steps.
    hdiv_step_mrad : float or None, default None
        Horizontal divergence step (mrad); None = auto.
    hdiv_steps : int or None, default None
        Horizontal divergence steps; None = auto.
    vdiv_range_mrad : float or None, default None
        Vertical divergence: full range (mrad); None = none.
    vdiv_step_mrad : float or None, default None
        Vertical divergence step (mrad); None = auto.
    vdiv_steps : int or None, default None
        Vertical divergence steps; None = auto.
    round_div : bool, default True
        Trim the divergence grid to an ellipse.
    sources : SourceTable or None, default None
        Explicit sources (replaces divergence and dispersion).
    fluence_photons_per_m2 : float, default DEFAULT_FLUENCE
        Integrated incident fluence (photons/m^2); the legacy default.
    flux_photons_per_s : float, default 0.0
        Photons per second; nonzero (with exposure > 0) replaces the fluence by
        flux*exposure/beamsize^2.
    exposure_s : float, default 1.0
        Exposure time (s).
    beamsize_mm : float, default 0.1
        Beam edge (mm); clips the crystal and converts flux to fluence.
    kahn_factor : float, default 0.0
        Kahn polarization factor (0 = unpolarized formula, the legacy default).
    nopolar : bool, default False
        Polarization factor forced to 1.
    beam_vector : sequence of float or None, default None
        Beam propagation direction; None = the convention's.
    polar_vector : sequence of float or None, default None
        E-vector direction; None = the convention's.
    """

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
    """Detector size, placement, orientation and sensor.

    Parameters
    ----------
    convention : str, default "MOSFLM"
        Geometry convention; "CUSTOM" is what any explicit vector selects.
    pivot : str, default "beam"
        Rotation pivot chosen by the flags ("beam"/"sample"); only CUSTOM honours it.
    distance_mm : float, default 100.0
        Sample to direct-beam spot along the beam (mm).
    close_distance_mm : float or None, default None
        Sample to detector plane along its normal (mm); None = derived.  Given, it wins over
        distance.
    pixel_size_mm : float, default 0.1
        Pixel edge (mm).
    detsize_mm : sequence of float, default (102.4, 102.4)
        Detector edge lengths (mm): fast, slow.
    detpixels : sequence of int or None, default None
        Pixel counts fast, slow; None (or 0 on an axis) = from detsize.
    xbeam_mm : float or None, default None
        Direct-beam position (mm) in the convention's X/Y meaning (MOSFLM: X slow, Y fast).
    ybeam_mm : float or None, default None
        Direct-beam Y position (mm), see ``xbeam_mm``.
    xclose_mm : float or None, default None
        Near point (mm) for XDS/DIALS/CUSTOM defaults.
    yclose_mm : float or None, default None
        Near point Y (mm), see ``xclose_mm``.
    orgx_px : float or None, default None
        XDS origin (pixels, 1-based pixel centres).
    orgy_px : float or None, default None
        XDS origin Y (pixels), see ``orgx_px``.
    fdet_vector : sequence of float or None, default None
        Detector fast axis in the lab frame; None = the convention's.  Giving any vector selects
        CUSTOM.
    sdet_vector : sequence of float or None, default None
        Detector slow axis; None = the convention's.
    odet_vector : sequence of float or None, default None
        Detector normal; None = the convention's.
    twotheta_axis : sequence of float or None, default None
        Axis of the two-theta swing; None = the convention's.
    pix0_vector_m : sequence of float or None, default None
        Accepted like the legacy ``-pix0_vector`` (metres) but, as there, never used: pix0 is always
        derived from the beam centre.  Kept so the input is not lost.
    rot_deg : sequence of float, default (0.0, 0.0, 0.0)
        Detector rotations about lab x, y, z (degrees), applied x, then y, then z.
    twotheta_deg : float, default 0.0
        Detector swing about the two-theta axis (degrees).
    curved : bool, default False
        Curved detector: every pixel at the same distance from the sample.
    point_pixel : bool, default False
        Solid angle 1/R^2 without the pixel-area obliquity factor.
    thickness_um : float, default 0.0
        Sensor thickness (um); 0 = no thickness model.
    attenuation_depth_um : float or None, default None
        Sensor attenuation depth (um); None = the thickness; math.inf = no absorption.
    thicksteps : int or None, default None
        Sensor layers sampled through the thickness; None = auto.
    mask : array_like or None, default None
        Uint16 array (slow, fast); pixels equal to 0 are skipped.
    roi : sequence of int or None, default None
        Inclusive pixel window (fast_min, fast_max, slow_min, slow_max).
    """

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
    """Spindle sweep, sub-pixel sampling and resolution cut.

    Parameters
    ----------
    spindle_axis : sequence of float or None, default None
        Phi rotation axis; None = the convention's.
    phi_start_deg : float, default 0.0
        Spindle angle of the first phi step (degrees).
    osc_deg : float or None, default None
        Oscillation range (degrees); None = auto.
    phi_step_deg : float or None, default None
        Spindle step (degrees); None = auto.
    phi_steps : int or None, default None
        Number of phi steps; None = auto.
    oversample : int or None, default None
        Sub-pixels per pixel edge; None = auto from crystal size and geometry.
    oversample_thick : bool, default False
        Recompute absorption / polarization / solid angle per sub-step (legacy semantics).
    oversample_polar : bool, default False
        Recompute the polarization factor per sub-pixel.
    oversample_omega : bool, default False
        Recompute the solid angle per sub-pixel.
    dmin_A : float, default 0.0
        Skip scattering paths finer than this resolution (Angstrom); 0 = off.
    """

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
    """Flat amorphous background.

    Parameters
    ----------
    water_um : float, default 0.0
        Edge of a water cube in the beam (um).
    amorphous : AmorphousTable or None, default None
        F(stol) table given with -stol/-4stol/-Q: read and validated, unused (as the legacy).
    """

    #: edge of a water cube in the beam (um).
    water_um: float = 0.0
    #: F(stol) table given with -stol/-4stol/-Q: read and validated, unused (as the legacy).
    amorphous: Optional[AmorphousTable] = None


@dataclass
class AmorphousSample:
    """Amorphous material in the beam (water, ice, solvent, air): the legacy nonBragg background.

    Every pixel gets ``r_e^2 * fluence * molecules / (sources * oversample^2)``
    times the sum over sub-pixels, sensor layers and sources of
    ``sign(F) F^2 * polarization * solid angle * source weight * capture``,
    with F (electrons per molecule) interpolated in ``table`` at the pixel's
    sin(theta)/lambda.  Molecules = thickness * width * height * density *
    N_A / molecular weight, width and height clipped to the beam size.
    Float fields may be torch tensors (the torch engine differentiates them).
    See specs/amorphous.md.

    Parameters
    ----------
    table : AmorphousTable
        F of one molecule (electrons) against sin(theta)/lambda (:func:`nanobrag.io.read_stol_table`).
    thickness_mm : float, default 0.1
        Sample extent along the beam (mm).
    width_mm, height_mm : float, default 0.1
        Sample extent across the beam (lab y and z, mm), clipped to the beam size.
    density_g_cm3 : float, default 1.0
        Density (g/cm^3).
    molecular_weight_g_mol : float, default 18.0
        Molecular weight (g/mol).
    molecules : float or None, default None
        Molecules in the sample; given (non-zero), it replaces the density.
    fmap : bool, default False
        Legacy ``-Fmap``: each rendered pixel holds the F of its last path instead of photons.
    """

    #: F of one molecule against sin(theta)/lambda (``nanobrag.io.read_stol_table``).
    table: AmorphousTable
    #: sample extent along the beam (mm).
    thickness_mm: float = 0.1
    #: sample extent across the beam (mm): "width" (lab y) and "height" (lab z), clipped to the beam size.
    width_mm: float = 0.1
    height_mm: float = 0.1
    density_g_cm3: float = 1.0
    molecular_weight_g_mol: float = 18.0
    #: molecules in the sample; given (non-zero), it replaces the density.
    molecules: Optional[float] = None
    #: legacy ``-Fmap``: each rendered pixel holds the F of its last path (sub-pixel, layer, source)
    #: instead of photons, replacing the whole pixel value (useful for absorption masks).
    fmap: bool = False


@dataclass
class OutputConfig:
    """Noise, integer scaling and the files the command line writes.

    Parameters
    ----------
    noise_seed : int or None, default None
        Seed of the Poisson noise; None = the start-up time.
    adc_offset : float, default 40.0
        Offset added to the integer and noise images (ADU).
    int_scale : float or None, default None
        Integer-image scale; None = 55000 / max pixel.
    pgm_scale : float or None, default None
        PGM scale; None = 250 / (5 * rms deviation).
    float_image_path : str or None, default "floatimage.bin"
        Raw float32 image written by the command line (None = not written).
    int_image_path : str or None, default "intimage.img"
        Noiseless SMV image (None = not written).
    pgm_path : str or None, default "image.pgm"
        8-bit PGM image (None = not written).
    noise_image_path : str or None, default "noiseimage.img"
        SMV image with Poisson noise (None = not written).
    write_pgm : bool, default True
        Write the PGM image.
    write_noise : bool, default True
        Write the noise image.
    fdump_path : str or None, default "Fdump.bin"
        Fdump cache written after reading an HKL file.
    printout : bool, default False
        Per-pixel diagnostics on stdout (all pixels, or ``printout_pixel`` = (fast, slow)).
    printout_pixel : sequence of int or None, default None
        The (fast, slow) pixel of ``printout``; None = every pixel.
    progress : bool, default True
        Show a progress bar on stderr (command line).
    nxmx_path : str or None, default None
        NXmx (NeXus/HDF5) file of the image (None = not written; see :mod:`nanobrag.io.nxmx`).
    nxmx_data : str, default "float32"
        NXmx data: "float32" photons or "int32" counts.
    nxmx_compression : str, default "gzip"
        "gzip", "bitshuffle-lz4" (needs hdf5plugin) or "none".
    saturation : int or None, default None
        Saturation (counts) of int32 NXmx data and the miniCBF Count_cutoff; None = 2**31 - 1.
    cbf_path : str or None, default None
        miniCBF file (int32 counts, through fabio; None = not written).
    png_path : str or None, default None
        8-bit PNG preview (None = not written).
    png_scale : str, default "legacy"
        PNG grey levels: "legacy" (the PGM's scale) or "log".
    """

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
    #: the field's formats (None: not written; see nanobrag.format_outputs): NXmx/HDF5,
    #: its data ("float32" photons or "int32" counts) and compression ("gzip", "bitshuffle-lz4", "none").
    nxmx_path: Optional[str] = None
    nxmx_data: str = "float32"
    nxmx_compression: str = "gzip"
    #: saturation (counts) of int32 NXmx data and the miniCBF Count_cutoff; None = 2**31 - 1.
    saturation: Optional[int] = None
    cbf_path: Optional[str] = None
    #: 8-bit PNG preview; png_scale "legacy" (the PGM's grey levels) or "log".
    png_path: Optional[str] = None
    png_scale: str = "legacy"


#: The legacy command-line parser behind :meth:`Config.from_args`.  It lives in
#: :mod:`nanobrag.legacy_flags`, which builds Configs and so imports this module;
#: it installs itself here (:func:`set_argument_parser`) when imported, and
#: ``nanobrag/__init__`` imports it, so the import arrows point one way.
_argument_parser: Optional[Callable[..., "Config"]] = None


def _value(x: Any) -> float:
    """The float value of a number or a 0-d tensor."""
    if hasattr(x, "detach"):
        return float(x.detach().cpu())
    return float(x)


#: The rules behind :meth:`Config.validate` and :meth:`DetectorResponseConfig.validate`.  They
#: live in :mod:`nanobrag.validation`, which imports this module; it installs them here
#: (:func:`set_validators`) when imported, as ``nanobrag/__init__`` does.
_validators: dict = {}


def set_validators(config_check: Callable[..., "Config"], response_check: Callable[[Any], None]) -> None:
    """Install the checks run by :meth:`Config.validate` and :meth:`DetectorResponseConfig.validate`."""
    _validators["config"] = config_check
    _validators["response"] = response_check


def set_argument_parser(parse: Callable[..., "Config"]) -> None:
    """Install ``parse(argv, cwd=None) -> Config`` as the parser of :meth:`Config.from_args`."""
    global _argument_parser
    _argument_parser = parse


@dataclass
class DetectorResponseConfig:
    """How the detector turns photons into counts (the legacy noisify program).

    Applied to a float image (photons per pixel) from either engine by
    :func:`nanobrag.detector_response.apply_detector_response`: flicker and
    calibration error, Poisson counting, the point-spread function, read-out
    noise, gain, the ADC offset (``output.adc_offset``) and the integer depth.
    The noise stream is seeded by ``output.noise_seed``.  The defaults change
    nothing: the noise image is the plain Poisson image (``nanobrag-noisify``
    sets its own legacy defaults, e.g. 3 % calibration error).  See
    specs/detector_response.md.

    Parameters
    ----------
    psf_type : str, default "none"
        Point-spread function: "none", "gauss" (Gaussian) or "fiber" (fibre-optic taper).
    psf_fwhm_um : float, default 46.0
        PSF full width at half maximum (um); 0 switches the PSF off.  May be a tensor (gradients).
    psf_radius_px : int, default 0
        Rendering radius of the PSF (pixels); 0 = automatic from each pixel's photons.
    readout_noise_adu : float, default 0.0
        Gaussian read-out noise added after the PSF (ADU, rms).
    flicker_noise : float, default 0.0
        Fractional source fluctuation, drawn per pixel (0.05 = 5 %).
    calibration_noise : float, default 0.0
        Fractional per-pixel gain error (0.03 = 3 %).
    calibration_seed : int or None, default None
        Seed of the calibration error; None = the legacy default (generator state +123456789).
    gain_adu_per_photon : float, default 1.0
        ADU per photon.
    photon_scale : float, default 1.0
        Input value -> photons per pixel (noisify: fluence * r_e^2 * -scale); 1 for nanobrag images.
    bits : int, default 16
        Integer depth of the images: 16 or 32 (noisify writes header-only files for any other value).
    """

    #: point-spread function: "none", "gauss" (Gaussian) or "fiber" (fibre-optic taper).
    psf_type: str = "none"
    #: PSF full width at half maximum (um); 0 switches the PSF off.  May be a tensor (gradients).
    psf_fwhm_um: float = 46.0
    #: rendering radius of the PSF (pixels); 0 = automatic from each pixel's photons.
    psf_radius_px: int = 0
    #: Gaussian read-out noise added after the PSF (ADU, rms).
    readout_noise_adu: float = 0.0
    #: fractional source fluctuation, drawn per pixel (0.05 = 5 %).
    flicker_noise: float = 0.0
    #: fractional per-pixel gain error (0.03 = 3 %).
    calibration_noise: float = 0.0
    #: seed of the calibration error; None = the legacy default (generator state +123456789).
    calibration_seed: Optional[int] = None
    #: ADU per photon.
    gain_adu_per_photon: float = 1.0
    #: input value -> photons per pixel (noisify: fluence * r_e^2 * -scale); 1 for nanobrag images.
    photon_scale: float = 1.0
    #: integer depth of the images: 16 or 32 (noisify writes header-only files for any other value).
    bits: int = 16

    def active(self) -> bool:
        """True when anything differs from the plain Poisson noise image."""
        return (
            (self.psf_type != "none" and _value(self.psf_fwhm_um) > 0)
            or _value(self.readout_noise_adu) > 0
            or _value(self.flicker_noise) > 0
            or _value(self.calibration_noise) > 0
            or _value(self.gain_adu_per_photon) != 1.0
            or _value(self.photon_scale) != 1.0
            or int(self.bits) != 16
        )

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the field that is out of its domain (:mod:`nanobrag.validation`)."""
        _validators["response"](self)


@dataclass
class Config:
    """Everything a simulation needs, grouped the way a crystallographer thinks.

    Build one directly, or from legacy command-line arguments with
    :meth:`Config.from_args`.

    Parameters
    ----------
    crystal : CrystalConfig
        Unit cell, orientation, size and mosaicity.
    structure_factors : StructureFactorConfig
        Where F(hkl) comes from.
    beam : BeamConfig
        Incident beam.
    detector : DetectorConfig
        Detector size, placement, orientation and sensor.
    sampling : SamplingConfig
        Spindle sweep, sub-pixel sampling, resolution cut.
    background : BackgroundConfig
        Flat background.
    output : OutputConfig
        Noise, integer scaling and the files the command line writes.
    amorphous : AmorphousSample or None, default None
        Amorphous background (the legacy nonBragg) added to the image; with neither a cell nor a
        matrix it is rendered alone.
    response : DetectorResponseConfig
        Detector response (PSF, flicker, calibration and read-out noise, gain) of the noise image.
    phi_mode : str, default "spec"
        "spec": physically correct phi rotation at every step (default); "c-parity": reproduce the
        legacy phi = 0 carry-over.
    engine : str, default "torch"
        Default engine for :func:`nanobrag.simulate`: "torch" or "c".
    device : str, default "cpu"
        Torch device ("cpu", "cuda", "cuda:1", ...).
    dtype : str, default "float64"
        Torch dtype name: "float64" or "float32".
    """

    crystal: CrystalConfig = field(default_factory=CrystalConfig)
    structure_factors: StructureFactorConfig = field(default_factory=StructureFactorConfig)
    beam: BeamConfig = field(default_factory=BeamConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    #: amorphous background added to the image; with neither a cell nor a matrix it is rendered alone.
    amorphous: Optional[AmorphousSample] = None
    #: detector response (PSF, extra noise, gain, bit depth) applied to the noise image.
    response: DetectorResponseConfig = field(default_factory=DetectorResponseConfig)
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
        if _argument_parser is None:  # pragma: no cover - nanobrag/__init__ imports legacy_flags
            raise RuntimeError("import nanobrag.legacy_flags to parse legacy arguments")
        return _argument_parser(argv, cwd=cwd)

    def copy(self) -> "Config":
        """A deep copy (tensors and arrays are copied too; use with care on large tables)."""
        return copy.deepcopy(self)

    def validate(self, resources: bool = False) -> "Config":
        """Check every field; raise :class:`ConfigError` naming the field and its flag.

        The rules live in :func:`nanobrag.validation.validate_config`; both engines
        run it with ``resources=True`` (also refuse work beyond the engines' limits).
        """
        return _validators["config"](self, resources=resources)


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
