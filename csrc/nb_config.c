/* Version, status messages and the default configuration. */
#include <math.h>
#include <string.h>

#include "nanobrag.h"

#ifndef NB_VERSION_STRING
/* set by CMakeLists.txt from python/nanobrag/_version.py, the one place the version is written */
#error "NB_VERSION_STRING is not defined: build the library with CMake"
#endif

const char *nb_version(void) { return NB_VERSION_STRING; }

const char *nb_status_message(int status)
{
    switch (status) {
    case NB_OK: return "ok";
    case NB_ERR_INVALID_ARGUMENT: return "invalid argument";
    case NB_ERR_NO_MEMORY: return "out of memory";
    case NB_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case NB_ERR_CANCELLED: return "cancelled";
    case NB_ERR_INTERNAL: return "internal error";
    default: return "unknown status";
    }
}

/* Defaults are those of the legacy program; "unset" is NaN or -1. */
void nb_config_init(nb_config *c)
{
    if (c == NULL) return;
    memset(c, 0, sizeof(*c));
    c->misset_mode = NB_MISSET_NONE;
    c->misset_seed = 0;
    c->n_cells[0] = c->n_cells[1] = c->n_cells[2] = 1.0;
    c->xtal_shape = NB_SHAPE_SQUARE;
    c->fudge = 1.0;
    c->mosaic_spread_deg = NAN;
    c->mosaic_domains = -1;
    c->mosaic_seed = 12345678;

    c->fhkl = NULL;
    c->default_F = 0.0;
    c->interpolate = -1;

    c->wavelength_A = 1.0;
    c->dispersion_percent = 0.0;
    c->dispersion_steps = -1;
    c->hdiv_range_mrad = c->hdiv_step_mrad = NAN;
    c->hdiv_steps = -1;
    c->vdiv_range_mrad = c->vdiv_step_mrad = NAN;
    c->vdiv_steps = -1;
    c->round_div = 1;
    c->source_table = NULL;
    c->source_count = 0;
    c->fluence_photons_per_m2 = 125932015286227086360700780544.0;
    c->flux_photons_per_s = 0.0;
    c->exposure_s = 1.0;
    c->beamsize_mm = 0.1;
    c->kahn_factor = 0.0;
    c->nopolar = 0;

    c->convention = NB_CONVENTION_MOSFLM;
    c->pivot = NB_PIVOT_BEAM;
    c->distance_mm = 100.0;
    c->close_distance_mm = NAN;
    c->pixel_size_mm = 0.1;
    c->detsize_mm[0] = c->detsize_mm[1] = 102.4;
    c->detpixels[0] = c->detpixels[1] = 0;
    c->beam_center_mm[0] = c->beam_center_mm[1] = NAN;
    c->close_center_mm[0] = c->close_center_mm[1] = NAN;
    c->org_px[0] = c->org_px[1] = NAN;
    c->twotheta_deg = 0.0;
    c->detector_thick_um = 0.0;
    c->detector_abs_um = NAN;
    c->detector_thicksteps = -1;
    c->mask = NULL;
    c->roi[0] = c->roi[1] = c->roi[2] = c->roi[3] = -1;

    c->phi_start_deg = 0.0;
    c->osc_deg = NAN;
    c->phi_step_deg = NAN;
    c->phi_steps = -1;
    c->oversample = -1;
    c->dmin_A = 0.0;
    c->phi_mode = NB_PHI_MODE_SPEC;

    c->water_um = 0.0;
    c->amorphous_points = 0;
    c->amorphous_size_mm[0] = c->amorphous_size_mm[1] = c->amorphous_size_mm[2] = 0.1;
    c->amorphous_density_g_cm3 = 1.0;
    c->amorphous_molecular_weight = 18.0;
    c->amorphous_molecules = 0.0;
    c->noise_seed = 0;
}
