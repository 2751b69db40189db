"""What an engine returns: the derived geometry and the rendered image."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .config import Config

__all__ = ["Geometry", "SimulationResult"]

Vec3 = Tuple[float, float, float]


@dataclass
class Geometry:
    """Quantities an engine derived from a Config, in the legacy internal units (SI).

    Both engines fill every field; the parity harness compares them, and the
    SMV header is written from them.  This class is the one list of the
    fields: the C struct ``nb_derived`` holds the same members (checked by
    tests/c_engine/test_c_binding_tables.py).  Units are in the names (``_m`` metres,
    ``_rad`` radians, ``_px`` pixels, ``_per_A`` 1/Angstrom); vectors are
    unit vectors in the lab frame unless named otherwise.

    Parameters
    ----------
    fpixels, spixels : int
        Pixel counts along fast and slow.
    pixel_size_m, detsize_f_m, detsize_s_m : float
        Pixel edge and detector edges.
    convention, pivot : str
        Geometry convention and rotation pivot in effect.
    distance_m, close_distance_m : float
        Sample to beam spot along the beam, and to the plane along its normal.
    xbeam_m, ybeam_m : float
        Header BEAM_CENTER_X/Y (as given or defaulted).
    fbeam_m, sbeam_m, fclose_m, sclose_m, xclose_m, yclose_m : float
        Direct beam and near point along fast/slow (after rotations).
    orgx_px, orgy_px : float
        XDS origin.
    dials_origin_mm, pix0_vector_m : tuple of 3 float
        DIALS origin (mm) and position of the first pixel's corner.
    fdet_vector, sdet_vector, odet_vector, beam_vector, polar_vector, spindle_axis, twotheta_axis : tuple of 3 float
        Detector axes, beam, polarization, spindle and two-theta axes.
    twotheta_rad, wavelength_m, phi0_rad, phistep_rad, osc_rad : float
        Two-theta, central wavelength and phi sweep.
    phisteps, sources, mosaic_domains, divergence_steps : int
        Sampling counts.
    mosaic_spread_rad : float
        Mosaic spread.
    oversample, recommended_oversample, detector_thicksteps, steps : int
        Sub-pixels per edge (in effect and recommended), sensor layers, and
        sources x domains x phi steps x oversample^2.
    detector_thick_m, detector_thickstep_m, detector_mu_per_m : float
        Sensor thickness, layer thickness and attenuation coefficient.
    n_cells : tuple of 3 float
        Na, Nb, Nc after crystal-size conversion.
    a_m, b_m, c_m : tuple of 3 float
        Real-space cell at phi = 0, no mosaic.
    a_star_per_A, b_star_per_A, c_star_per_A : tuple of 3 float
        Reciprocal cell.
    cell_volume_A3 : float
        Cell volume (Angstrom^3).
    misset_rad : tuple of 3 float
        Misset applied about x, y, z (random misset resolved).
    fluence_photons_per_m2, flux_photons_per_s, water_background : float
        Fluence and flux in effect; the water background per pixel (photons).
    interpolate : bool
        Tricubic interpolation of F before any switch-off.
    roi : tuple of 4 int
        Inclusive fast_min, fast_max, slow_min, slow_max.
    bragg : bool
        The crystal is rendered (False: an amorphous background alone).
    amorphous_size_m : tuple of 3 float
        Amorphous sample thickness, width, height after clipping to the beam (m).
    amorphous_density_g_m3, amorphous_molecules : float
        Density as used and molecules in the beam (0 without an amorphous sample).
    amorphous_steps : int
        Sources x oversample^2: the background's normalisation (0 without a sample).
    """

    fpixels: int
    spixels: int
    pixel_size_m: float
    detsize_f_m: float
    detsize_s_m: float
    convention: str
    pivot: str
    distance_m: float
    close_distance_m: float
    xbeam_m: float  # header BEAM_CENTER_X (as given or defaulted)
    ybeam_m: float
    fbeam_m: float  # direct beam along fast/slow after rotations
    sbeam_m: float
    fclose_m: float
    sclose_m: float
    xclose_m: float
    yclose_m: float
    orgx_px: float
    orgy_px: float
    dials_origin_mm: Vec3
    pix0_vector_m: Vec3
    fdet_vector: Vec3
    sdet_vector: Vec3
    odet_vector: Vec3
    beam_vector: Vec3
    polar_vector: Vec3
    spindle_axis: Vec3
    twotheta_axis: Vec3
    twotheta_rad: float
    wavelength_m: float
    phi0_rad: float
    phistep_rad: float
    osc_rad: float
    phisteps: int
    sources: int
    mosaic_domains: int
    mosaic_spread_rad: float
    oversample: int
    recommended_oversample: int
    detector_thicksteps: int
    detector_thick_m: float
    detector_thickstep_m: float
    detector_mu_per_m: float
    steps: int
    n_cells: Vec3
    a_m: Vec3
    b_m: Vec3
    c_m: Vec3
    a_star_per_A: Vec3
    b_star_per_A: Vec3
    c_star_per_A: Vec3
    cell_volume_A3: float
    misset_rad: Vec3
    fluence_photons_per_m2: float
    flux_photons_per_s: float
    water_background: float
    interpolate: bool
    roi: Tuple[int, int, int, int]
    divergence_steps: int
    #: the crystal is rendered (a cell or matrix was given); False for a background-only run
    bragg: bool = True
    #: the amorphous sample as rendered (0 and zeros without one): size clipped to the beam (m),
    #: density (g/m^3, recomputed when molecules were given), molecules, and the background's
    #: normalisation (sources x oversample^2)
    amorphous_size_m: Vec3 = (0.0, 0.0, 0.0)
    amorphous_density_g_m3: float = 0.0
    amorphous_molecules: float = 0.0
    amorphous_steps: int = 0

    def as_dict(self) -> Dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class SimulationResult:
    """A rendered image with everything needed to write the legacy output files.

    The integer, PGM and noise images and the statistics are computed on
    first access from ``float_image`` (see :mod:`nanobrag.outputs`) and kept.

    Parameters
    ----------
    config : Config
        The experiment that was rendered.
    engine : str
        "c" or "torch".
    float_image : numpy.ndarray of float32, shape (slow, fast)
        Photons per pixel, as the legacy program stores it.
    geometry : Geometry
        Everything the engine derived.
    warnings : list of str
        The engine's warnings (the legacy program's texts).
    omega_sum : float
        Solid angle summed over every rendered sub-pixel (the legacy's statistic).
    interpolation_switchoff_pixel : int or None
        Raster index where tricubic interpolation switched off, if it did.
    image : torch.Tensor or None
        Torch engine only: the image in the engine's dtype and device, still
        attached to the autograd graph.
    """

    config: Config
    engine: str
    float_image: np.ndarray
    geometry: Geometry
    warnings: List[str] = field(default_factory=list)
    omega_sum: float = 0.0
    interpolation_switchoff_pixel: Optional[int] = None
    image: Optional[Any] = None
    _cache: Dict[str, Any] = field(default_factory=dict, repr=False)

    def _outputs(self):
        from . import outputs

        return outputs, (self.float_image, self.geometry, self.config.output, self.config.detector.mask)

    @property
    def stats(self):
        """Legacy statistics (max, mean, rms, rmsd, ...) of the rendered pixels (:func:`nanobrag.outputs.image_statistics`)."""
        if "stats" not in self._cache:
            outputs, (image, geometry, _, mask) = self._outputs()
            self._cache["stats"] = outputs.image_statistics(image, geometry, mask)
        return self._cache["stats"]

    @property
    def int_scale(self) -> float:
        """ADU per photon of :attr:`int_image` (``output.int_scale``, else 55000 / max_I)."""
        outputs, args = self._outputs()
        return outputs.int_image_scale(*args, stats=self.stats)

    @property
    def int_image(self) -> np.ndarray:
        """Noiseless uint16 image as the legacy ``-intfile`` (scale, adc offset, rounding)."""
        if "int_image" not in self._cache:
            outputs, args = self._outputs()
            self._cache["int_image"] = outputs.int_image(*args, stats=self.stats)
        return self._cache["int_image"]

    @property
    def pgm_scale(self) -> float:
        """Grey levels per photon of :attr:`pgm_image` (``output.pgm_scale``, else 250 / (5 rmsd))."""
        outputs, args = self._outputs()
        return outputs.pgm_image_scale(*args, stats=self.stats)

    @property
    def pgm_image(self) -> np.ndarray:
        """uint8 image as the legacy ``-pgmfile``."""
        if "pgm_image" not in self._cache:
            outputs, args = self._outputs()
            self._cache["pgm_image"] = outputs.pgm_image(*args, stats=self.stats)
        return self._cache["pgm_image"]

    def noise_image(self, seed: Optional[int] = None) -> np.ndarray:
        """uint16 image with the legacy Poisson noise.

        Parameters
        ----------
        seed : int, optional
            The ``-seed`` value; default ``config.output.noise_seed``, then the clock.

        Returns
        -------
        numpy.ndarray of uint16, shape (slow, fast)
        """
        from .outputs import noise_image

        return noise_image(self.float_image, self.config, seed=seed)
