/* nb_plan_create(): validate a config, then derive every quantity in the
 * legacy program's order (the order matters for the shared random stream and
 * for which value a later step sees). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_plan.h"

void nb_log(const nb_config *config, int level, const char *fmt, ...)
{
    if (config == NULL || config->log == NULL) return;
    char text[NB_MESSAGE_LEN];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof(text), fmt, args);
    va_end(args);
    config->log(config->callback_user, level, text);
}

int nb_fail(nb_build *b, int status, const char *fmt, ...)
{
    if (b->message != NULL && b->message_len > 0) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(b->message, b->message_len, fmt, args);
        va_end(args);
    }
    return status;
}

static int finite_or_nan(double x) { return !isinf(x); }

/* Domain checks on user-level inputs; the message names the field. */
static int validate(nb_build *b)
{
    const nb_config *c = b->config;
    if (c->convention < NB_CONVENTION_CUSTOM || c->convention > NB_CONVENTION_DENZO)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "convention must be one of the nb_convention values, got %d", c->convention);
    if (c->pivot != NB_PIVOT_SAMPLE && c->pivot != NB_PIVOT_BEAM)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "pivot must be NB_PIVOT_SAMPLE or NB_PIVOT_BEAM, got %d", c->pivot);
    if (c->xtal_shape < NB_SHAPE_SQUARE || c->xtal_shape > NB_SHAPE_TOPHAT)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "xtal_shape must be one of the nb_xtal_shape values, got %d", c->xtal_shape);
    if (c->phi_mode != NB_PHI_MODE_SPEC && c->phi_mode != NB_PHI_MODE_C_PARITY)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "phi_mode must be NB_PHI_MODE_SPEC or NB_PHI_MODE_C_PARITY, got %d", c->phi_mode);
    if (c->misset_mode < NB_MISSET_NONE || c->misset_mode > NB_MISSET_RANDOM)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "misset_mode must be one of the nb_misset_mode values, got %d", c->misset_mode);
    int bragg = c->has_cell || c->has_mosflm_matrix;
    if (!bragg && c->amorphous_points <= 0)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT,
                       "crystal: give a unit cell (-cell) or an orientation matrix (-mat), or an amorphous sample alone");
    if (c->has_cell && !c->has_mosflm_matrix && !(c->cell[0] > 0.0))
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "cell: the a edge must be > 0 Angstrom, got %g", c->cell[0]);
    for (int i = 0; i < 6 && c->has_cell; ++i)
        if (!isfinite(c->cell[i]))
            return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "cell: value %d is not a finite number", i + 1);
    for (int i = 0; i < 9 && c->has_mosflm_matrix; ++i)
        if (!isfinite(c->mosflm_matrix[i]))
            return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "mosflm_matrix: element %d is not a finite number", i + 1);
    if (bragg && c->fhkl == NULL && c->default_F == 0.0)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT,
                       "structure factors: no HKL table and default_F is 0, so every pixel would be 0; give -hkl FILE or -default_F F");
    if (c->fhkl != NULL) {
        for (int i = 0; i < 3; ++i)
            if (c->hkl_count[i] < 1)
                return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "structure-factor table: hkl_count[%d] must be >= 1, got %d", i, c->hkl_count[i]);
        if ((double)c->hkl_count[0] * c->hkl_count[1] * c->hkl_count[2] > 4.0e9)
            return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "structure-factor table is too large (%d x %d x %d)",
                           c->hkl_count[0], c->hkl_count[1], c->hkl_count[2]);
    }
    if (!(c->wavelength_A > 0.0) || !isfinite(c->wavelength_A))
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "wavelength must be a finite number > 0 Angstrom, got %g", c->wavelength_A);
    if (!(c->pixel_size_mm > 0.0) || !isfinite(c->pixel_size_mm))
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "pixel size must be a finite number > 0 mm, got %g", c->pixel_size_mm);
    if (c->detpixels[0] < 0 || c->detpixels[1] < 0)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "detpixels must be >= 0, got %d x %d", c->detpixels[0], c->detpixels[1]);
    if (!isfinite(c->distance_mm) || !finite_or_nan(c->close_distance_mm))
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "detector distance must be a finite number of mm");
    for (int i = 0; i < 3; ++i) {
        if (isnan(c->n_cells[i]) || isinf(c->n_cells[i]))
            return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "n_cells[%d] must be a finite number, got %g", i, c->n_cells[i]);
        if (!isfinite(c->crystal_size_mm[i]))
            return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "crystal_size_mm[%d] must be a finite number", i);
    }
    if (c->source_table != NULL && c->source_count < 1)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "source table: source_count must be >= 1, got %d", c->source_count);
    if (c->mosaic_domains > 1000000)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "mosaic_domains %d is unreasonably large", c->mosaic_domains);
    if (c->oversample > 1000)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "oversample %d is unreasonably large", c->oversample);
    if (c->flux_photons_per_s != 0.0 && c->exposure_s > 0.0 && c->beamsize_mm == 0.0)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "beamsize must be > 0 mm when a flux is given (fluence = flux*exposure/beamsize^2)");
    return nb_validate_amorphous(b);
}

static int copy_mask(nb_build *b)
{
    const nb_config *c = b->config;
    nb_plan *p = b->plan;
    if (c->mask == NULL) return NB_OK;
    if (c->mask_pixels[0] != p->fpixels || c->mask_pixels[1] != p->spixels)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "mask is %dx%d (fast x slow) but the detector is %dx%d",
                       c->mask_pixels[0], c->mask_pixels[1], p->fpixels, p->spixels);
    size_t n = (size_t)p->fpixels * (size_t)p->spixels;
    p->mask = malloc(n * sizeof(uint16_t));
    if (p->mask == NULL) return nb_fail(b, NB_ERR_NO_MEMORY, "out of memory copying the mask");
    memcpy(p->mask, c->mask, n * sizeof(uint16_t));
    return NB_OK;
}

static void fill_derived(nb_build *b)
{
    nb_plan *p = b->plan;
    nb_derived *d = &p->derived;
    d->fpixels = p->fpixels;
    d->spixels = p->spixels;
    d->pixel_size_m = p->pixel_size;
    d->detsize_f_m = b->detsize_f;
    d->detsize_s_m = b->detsize_s;
    d->convention = b->convention;
    d->pivot = b->pivot;
    d->distance_m = p->distance;
    d->close_distance_m = p->close_distance;
    d->xbeam_m = b->Xbeam;
    d->ybeam_m = b->Ybeam;
    d->fbeam_m = b->Fbeam;
    d->sbeam_m = b->Sbeam;
    d->fclose_m = b->Fclose;
    d->sclose_m = b->Sclose;
    d->xclose_m = b->Xclose;
    d->yclose_m = b->Yclose;
    d->orgx_px = b->ORGX;
    d->orgy_px = b->ORGY;
    memcpy(d->pix0_vector_m, p->pix0, sizeof(p->pix0));
    memcpy(d->fdet_vector, p->fdet, sizeof(p->fdet));
    memcpy(d->sdet_vector, p->sdet, sizeof(p->sdet));
    memcpy(d->odet_vector, p->odet, sizeof(p->odet));
    memcpy(d->beam_vector, p->beam, sizeof(p->beam));
    memcpy(d->polar_vector, b->polar_vector, sizeof(b->polar_vector));
    memcpy(d->spindle_axis, b->spindle, sizeof(b->spindle));
    memcpy(d->twotheta_axis, b->twotheta_axis, sizeof(b->twotheta_axis));
    d->twotheta_rad = b->twotheta;
    d->wavelength_m = b->lambda0;
    d->phi0_rad = p->phi0;
    d->phistep_rad = p->phistep;
    d->osc_rad = b->osc;
    d->phisteps = p->phisteps;
    d->sources = p->sources;
    d->mosaic_domains = p->domains;
    d->mosaic_spread_rad = p->mosaic_spread;
    d->oversample = p->oversample;
    d->detector_thicksteps = p->thicksteps;
    d->detector_thick_m = p->thick;
    d->detector_thickstep_m = p->thickstep;
    d->detector_mu_per_m = p->mu;
    d->steps = p->steps;
    d->n_cells[0] = p->Na;
    d->n_cells[1] = p->Nb;
    d->n_cells[2] = p->Nc;
    memcpy(d->a_m, b->a0, sizeof(b->a0));
    memcpy(d->b_m, b->b0, sizeof(b->b0));
    memcpy(d->c_m, b->c0, sizeof(b->c0));
    memcpy(d->a_star_per_A, p->a_star, sizeof(p->a_star));
    memcpy(d->b_star_per_A, p->b_star, sizeof(p->b_star));
    memcpy(d->c_star_per_A, p->c_star, sizeof(p->c_star));
    d->fluence_photons_per_m2 = p->fluence;
    d->water_background = p->I_bg;
    d->interpolate = p->interpolate;
    d->roi[0] = p->roi_xmin;
    d->roi[1] = p->roi_xmax;
    d->roi[2] = p->roi_ymin;
    d->roi[3] = p->roi_ymax;
    d->bragg = p->bragg;
}

int nb_plan_create(const nb_config *config, nb_plan **out, char *message, size_t message_len)
{
    if (message != NULL && message_len > 0) message[0] = '\0';
    if (out == NULL) return NB_ERR_INVALID_ARGUMENT;
    *out = NULL;
    nb_build b;
    memset(&b, 0, sizeof(b));
    b.config = config;
    b.message = message;
    b.message_len = message_len;
    if (config == NULL) return nb_fail(&b, NB_ERR_INVALID_ARGUMENT, "config is NULL");

    int status = validate(&b);
    if (status != NB_OK) return status;

    nb_plan *p = calloc(1, sizeof(nb_plan));
    if (p == NULL) return nb_fail(&b, NB_ERR_NO_MEMORY, "out of memory allocating the plan");
    b.plan = p;
    p->log = config->log;
    p->progress = config->progress;
    p->callback_user = config->callback_user;
    p->phi_mode = config->phi_mode;
    p->bragg = config->has_cell || config->has_mosflm_matrix;

    /* crystal steps (1) are skipped when only an amorphous sample is rendered */
    static const struct {
        int (*build)(nb_build *);
        int crystal;
    } steps[] = {
        {nb_build_detector_size, 0},      /* pixel counts from detsize / detpixels */
        {copy_mask, 0},
        {nb_build_beam_and_flux, 0},      /* fluence, crystal clipping by the beam */
        {nb_build_convention, 0},         /* beam centre defaults, basis vectors */
        {nb_build_sampling, 0},           /* phi, divergence, dispersion, layers, domains */
        {nb_build_detector_geometry, 0},  /* pix0, rotations, close distance */
        {nb_build_crystal, 1},            /* cell, misset, N, oversample */
        {nb_build_structure_factors, 1},
        {nb_build_sources, 0},
        {nb_build_background_only, 0},    /* oversample, steps, random state without a crystal */
        {nb_build_mosaic, 1},
        {nb_build_cell_tables, 1},
        {nb_build_polar_axis, 0},
        {nb_build_amorphous, 0},          /* the padded F(stol) table, molecules in the beam */
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); ++i) {
        if (steps[i].crystal && !p->bragg) continue;
        status = steps[i].build(&b);
        if (status != NB_OK) {
            nb_plan_free(p);
            return status;
        }
    }
    fill_derived(&b);
    *out = p;
    return NB_OK;
}

void nb_plan_free(nb_plan *plan)
{
    if (plan == NULL) return;
    free(plan->mask);
    free(plan->source_dir);
    free(plan->source_lambda);
    free(plan->source_weight);
    free(plan->amorphous_stol);
    free(plan->amorphous_F);
    if (plan->cells_first != plan->cells) free(plan->cells_first);
    free(plan->cells);
    free(plan->fhkl);
    free(plan->mosaic_draws);
    free(plan);
}

int nb_plan_derived(const nb_plan *plan, nb_derived *derived)
{
    if (plan == NULL || derived == NULL) return NB_ERR_INVALID_ARGUMENT;
    *derived = plan->derived;
    return NB_OK;
}
