"""Regression: a configuration the hypothesis parity test found (CUSTOM vectors, curved and
point-pixel detector) on which the torch engine divided by a zero distance while building its
plan; both engines must refuse it the same way (a non-finite image)."""
import numpy as np
from numpy import array, uint16  # noqa: F401  (names of the recorded repr)
import pytest

import nanobrag
from nanobrag.config import *  # noqa: F401,F403
from nanobrag.validation import NonFiniteImageError


def _recorded():
    ns = dict(np=np, array=array, uint16=uint16)
    ns.update(vars(nanobrag.config))
    exec(RECORDED, ns)  # the repr hypothesis printed
    return ns["config"]


RECORDED = """
config=Config(crystal=CrystalConfig(cell=(30.0,
       30.0,
       30.0,
       70.0,
       70.0,
       70.0),
      mosflm_matrix=None,
      misset_deg=None,
      misset_random=False,
      misset_seed=None,
      n_cells=(1.0, 1.0, 1.0),
      size_mm=(0.0, 0.0, 0.0),
      shape='square',
      fudge=1.0,
      mosaic_spread_deg=None,
      mosaic_domains=None,
      mosaic_seed=12345678),
     structure_factors=StructureFactorConfig(table=None,
      default_F=1.0,
      interpolate=None),
     beam=BeamConfig(wavelength_A=1.0,
      dispersion_percent=0.0,
      dispersion_steps=None,
      hdiv_range_mrad=None,
      hdiv_step_mrad=None,
      hdiv_steps=None,
      vdiv_range_mrad=None,
      vdiv_step_mrad=None,
      vdiv_steps=None,
      round_div=True,
      sources=None,
      fluence_photons_per_m2=1e+20,
      flux_photons_per_s=0.0,
      exposure_s=1.0,
      beamsize_mm=0.1,
      kahn_factor=0.0,
      nopolar=True,
      beam_vector=(np.float64(0.0), np.float64(0.0), np.float64(1.0)),
      polar_vector=None),
     detector=DetectorConfig(convention='CUSTOM',
      pivot='beam',
      distance_mm=40.0,
      close_distance_mm=40.0,
      pixel_size_mm=0.25,
      detsize_mm=(102.4, 102.4),
      detpixels=(3, 3),
      xbeam_mm=0.0,
      ybeam_mm=0.0,
      xclose_mm=None,
      yclose_mm=None,
      orgx_px=None,
      orgy_px=None,
      fdet_vector=(np.float64(1.0), np.float64(0.0), np.float64(0.0)),
      sdet_vector=(np.float64(0.0), np.float64(1.0), np.float64(0.0)),
      odet_vector=None,
      twotheta_axis=None,
      pix0_vector_m=None,
      rot_deg=(0.0, 0.0, 0.0),
      twotheta_deg=0.0,
      curved=True,
      point_pixel=True,
      thickness_um=50.0,
      attenuation_depth_um=None,
      thicksteps=None,
      mask=array([[1, 0, 0],
             [0, 1, 1],
             [1, 1, 1]], dtype=uint16),
      roi=None),
     sampling=SamplingConfig(spindle_axis=None,
      phi_start_deg=0.0,
      osc_deg=None,
      phi_step_deg=None,
      phi_steps=None,
      oversample=1,
      oversample_thick=True,
      oversample_polar=True,
      oversample_omega=True,
      dmin_A=1.0),
     background=BackgroundConfig(water_um=0.0, amorphous=None),
     output=OutputConfig(noise_seed=None,
      adc_offset=40.0,
      int_scale=None,
      pgm_scale=None,
      float_image_path='floatimage.bin',
      int_image_path='intimage.img',
      pgm_path='image.pgm',
      noise_image_path='noiseimage.img',
      write_pgm=True,
      write_noise=True,
      fdump_path='Fdump.bin',
      printout=False,
      printout_pixel=None,
      progress=True,
      nxmx_path=None,
      nxmx_data='float32',
      nxmx_compression='gzip',
      saturation=None,
      cbf_path=None,
      png_path=None,
      png_scale='legacy'),
     amorphous=None,
     response=DetectorResponseConfig(psf_type='none',
      psf_fwhm_um=46.0,
      psf_radius_px=0,
      readout_noise_adu=0.0,
      flicker_noise=0.0,
      calibration_noise=0.0,
      calibration_seed=None,
      gain_adu_per_photon=1.0,
      photon_scale=1.0,
      bits=16),
     phi_mode='spec',
     engine='auto',
     device='cpu',
     dtype='float64')
"""


@pytest.mark.parametrize("engine", ["c", "torch"])
def test_zero_distance_configuration_is_refused_alike(engine):
    with pytest.raises(NonFiniteImageError, match="non-finite"):
        nanobrag.simulate(_recorded(), engine=engine)
