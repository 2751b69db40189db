/* Incident beam: source directions and wavelengths, polarization axis,
 * water background; and the structure-factor table. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nb_plan.h"
#include "nb_vec.h"

#define SOURCE_DISTANCE_M 10.0
#define AVOGADRO 6.02214179e23
#define WATER_F 2.57
#define WATER_MW 18.0

static int allocate_sources(nb_build *b, int n)
{
    nb_plan *p = b->plan;
    p->source_dir = malloc((size_t)n * 3 * sizeof(double));
    p->source_lambda = malloc((size_t)n * sizeof(double));
    p->source_weight = malloc((size_t)n * sizeof(double));
    if (p->source_dir == NULL || p->source_lambda == NULL || p->source_weight == NULL)
        return nb_fail(b, NB_ERR_NO_MEMORY, "out of memory for %d sources", n);
    p->sources = n;
    return NB_OK;
}

/* divergence grid point kept by the elliptical trim (NaN tests keep it) */
static int inside_divergence(const nb_build *b, int round_div, double hdiv, double vdiv)
{
    double test = (hdiv * hdiv - b->hdivstep * b->hdivstep / 4.0 * (1 - b->hdivsteps % 2)) / b->hdivrange / b->hdivrange;
    test += (vdiv * vdiv - b->vdivstep * b->vdivstep / 4.0 * (1 - b->vdivsteps % 2)) / b->vdivrange / b->vdivrange;
    return !(round_div && test * 4.0 > 1.1);
}

int nb_build_sources(nb_build *b)
{
    const nb_config *c = b->config;
    nb_plan *p = b->plan;
    const double *beam = p->beam;
    int status;

    /* water: constant background that starts every pixel's accumulator */
    p->I_bg = WATER_F * WATER_F * p->r_e_sqr * p->fluence * p->water_size * p->water_size * p->water_size * 1e6 *
              AVOGADRO / WATER_MW;

    if (c->source_table != NULL) {
        /* rows X Y Z (m), weight (unused by the crystal, used by the amorphous background), lambda (m);
         * NaN = the legacy default */
        status = allocate_sources(b, c->source_count);
        if (status != NB_OK) return status;
        for (int i = 0; i < c->source_count; ++i) {
            const double *row = c->source_table + 5 * (size_t)i;
            double pos[3];
            for (int j = 0; j < 3; ++j) pos[j] = isnan(row[j]) ? -SOURCE_DISTANCE_M * beam[j] : row[j];
            double lambda = isnan(row[4]) ? b->lambda0 : row[4];
            if (!(lambda > 0.0) || !isfinite(lambda) || !isfinite(pos[0]) || !isfinite(pos[1]) || !isfinite(pos[2]))
                return nb_fail(b, NB_ERR_INVALID_ARGUMENT,
                               "source table row %d: positions must be finite and the wavelength a number > 0 m (got %g)", i + 1,
                               lambda);
            nb_unitize(pos, p->source_dir + 3 * (size_t)i);
            p->source_lambda[i] = lambda;
            p->source_weight[i] = isnan(row[3]) ? 1.0 : row[3];
        }
        p->derived.divergence_steps = -1;
        return NB_OK;
    }

    int round_div = c->round_div != 0;
    int accepted = 0;
    for (int ih = 0; ih < b->hdivsteps; ++ih) {
        for (int iv = 0; iv < b->vdivsteps; ++iv) {
            double hdiv = b->hdivstep * ih - b->hdivrange / 2.0;
            double vdiv = b->vdivstep * iv - b->vdivrange / 2.0;
            if (inside_divergence(b, round_div, hdiv, vdiv)) ++accepted;
        }
    }
    if (accepted < 1) return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "divergence: the elliptical trim left no source direction");
    status = allocate_sources(b, accepted * b->dispsteps);
    if (status != NB_OK) return status;
    int n = 0;
    for (int ih = 0; ih < b->hdivsteps; ++ih) {
        for (int iv = 0; iv < b->vdivsteps; ++iv) {
            double hdiv = b->hdivstep * ih - b->hdivrange / 2.0;
            double vdiv = b->vdivstep * iv - b->vdivrange / 2.0;
            if (!inside_divergence(b, round_div, hdiv, vdiv)) continue;
            /* start 10 m up-beam; vertical divergence about the E-vector, horizontal about their normal */
            double pos[3], tilted[3];
            for (int j = 0; j < 3; ++j) pos[j] = -SOURCE_DISTANCE_M * beam[j];
            nb_rotate_axis(pos, tilted, b->polar_vector, vdiv);
            nb_rotate_axis(tilted, pos, b->vert, hdiv);
            for (int d = 0; d < b->dispsteps; ++d) {
                double lambda = b->lambda0 * (1.0 + b->dispstep * d - b->dispersion / 2.0);
                if (!(lambda > 0.0))
                    return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "dispersion: wavelength %d of the spread is %g m (must be > 0)", d, lambda);
                nb_unitize(pos, p->source_dir + 3 * (size_t)n);
                p->source_lambda[n] = lambda;
                p->source_weight[n] = 1.0;
                ++n;
            }
        }
    }
    p->derived.divergence_steps = accepted;
    return NB_OK;
}

int nb_build_structure_factors(nb_build *b)
{
    const nb_config *c = b->config;
    nb_plan *p = b->plan;
    p->default_F = c->default_F;
    if (c->fhkl == NULL) {
        p->hkls = 0;
        p->interpolate = 0;
        return NB_OK;
    }
    p->h_min = c->hkl_min[0];
    p->k_min = c->hkl_min[1];
    p->l_min = c->hkl_min[2];
    p->h_range = c->hkl_count[0];
    p->k_range = c->hkl_count[1];
    p->l_range = c->hkl_count[2];
    p->h_max = p->h_min + p->h_range - 1;
    p->k_max = p->k_min + p->k_range - 1;
    p->l_max = p->l_min + p->l_range - 1;
    size_t n = (size_t)p->h_range * (size_t)p->k_range * (size_t)p->l_range;
    p->hkls = (long)n;
    p->fhkl = malloc(n * sizeof(double));
    if (p->fhkl == NULL) return nb_fail(b, NB_ERR_NO_MEMORY, "out of memory copying the structure-factor table");
    memcpy(p->fhkl, c->fhkl, n * sizeof(double));
    return NB_OK;
}

/* The legacy normalised the E-vector in place at every polarization
 * evaluation; record the sequence until it stops changing. */
int nb_build_polar_axis(nb_build *b)
{
    nb_plan *p = b->plan;
    double current[3];
    nb_copy3(b->polar_vector, current);
    int count = 0;
    while (count < NB_MAX_POLAR_AXIS) {
        double next[3];
        nb_unitize(current, next);
        if (count > 0 && memcmp(next, current, sizeof(next)) == 0) break; /* current is the fixed point */
        nb_copy3(next, p->polar_axis[count]);
        ++count;
        if (memcmp(next, current, sizeof(next)) == 0) break;
        nb_copy3(next, current);
    }
    p->polar_axis_count = count;
    return NB_OK;
}
