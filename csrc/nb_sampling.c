/* Auto-selection of the sampling counts (phi, divergence, dispersion,
 * sensor layers, mosaic domains) with the legacy rules and their quirks. */
#include <math.h>

#include "nb_plan.h"

#define RTD (180.0 * M_1_PI)

/* NaN (unset) becomes the legacy "not given" marker -1 */
static double given(double x, double scale_divisor)
{
    return isnan(x) ? -1.0 : x / scale_divisor;
}

/* The rule shared by divergence and dispersion: count n, range R, step s;
 * `count_only_range` is the range used when only the count is given. */
static void select_steps(int *n, double *range, double *step, double count_only_range)
{
    if (*n <= 0) {
        if (*range < 0.0) {
            if (*step <= 0.0) {
                *n = 1;
                *range = 0.0;
                *step = 0.0;
            } else {
                *range = *step;
                *n = 2;
            }
        } else {
            if (*step <= 0.0) {
                *step = *range;
                *n = 2;
            } else {
                *n = nb_to_int(ceil(*range / *step));
            }
        }
    } else {
        if (*range < 0.0) {
            if (*step <= 0.0) {
                *range = count_only_range;
                *step = *range / *n;
            } else {
                *range = *step;
                *n = 2;
            }
        } else {
            if (*step <= 0.0) {
                if (*n <= 1) *n = 2;
                *step = *range / (*n - 1);
            }
        }
    }
}

/* A zero or negative range, step or count means a single sample. */
static void sanity(int *n, double *range, double *step)
{
    if (*range <= 0.0 || *step <= 0.0 || *n <= 0) {
        *n = 1;
        *range = 0.0;
        *step = 0.0;
    }
}

static void select_phi(nb_build *b, double *osc_io, double *phistep_io, int *phisteps_io)
{
    double osc = *osc_io, phistep = *phistep_io;
    int phisteps = *phisteps_io;
    if (phisteps < 0) {
        if (osc < 0.0) {
            if (phistep <= 0.0) {
                phisteps = 1;
                osc = 0.0;
                phistep = 0.0;
            } else {
                osc = phistep;
                phisteps = 2;
            }
        } else {
            if (phistep <= 0.0) {
                phisteps = 2;
                phistep = osc / 2.0;
            } else {
                phisteps = nb_to_int(ceil(osc / phistep));
            }
        }
    } else {
        if (phisteps == 0) phisteps = 1;
        if (osc < 0.0) {
            if (phistep <= 0.0) {
                osc = 1.0 / RTD;
                phistep = osc / phisteps;
            } else {
                osc = phistep;
                phisteps = 2;
            }
        } else {
            if (phistep < 0.0) phistep = osc / phisteps;
        }
    }
    (void)b;
    *osc_io = osc;
    *phistep_io = phistep;
    *phisteps_io = phisteps;
}

static void select_layers(int *n, double *thick, double *step)
{
    if (*n <= 0) {
        if (*thick < 0.0) {
            if (*step <= 0.0) {
                *n = 1;
                *thick = 0.0;
                *step = 0.0;
            } else {
                *thick = *step;
                *n = 2;
            }
        } else {
            if (*step <= 0.0) {
                *n = 2;
                *step = *thick / *n;
            } else {
                *n = nb_to_int(ceil(*thick / *step));
            }
        }
    } else {
        if (*thick < 0.0) {
            if (*step <= 0.0) {
                *thick = 0.5e-6;
                *step = *thick / *n;
            } else {
                *thick = *step;
                *n = 2;
            }
        } else {
            if (*step <= 0.0) {
                if (*n <= 1) *n = 2;
                *step = *thick / (*n - 1);
            }
        }
    }
}

int nb_mosaic_domains(const nb_config *c, double *spread_rad, int warn)
{
    double spread = given(c->mosaic_spread_deg, RTD);
    int domains = c->mosaic_domains;
    if (domains <= 0) {
        if (spread < 0.0) {
            domains = 1;
            spread = 0.0;
        } else if (spread == 0.0) {
            domains = 1;
        } else {
            if (warn) nb_log(c, NB_LOG_WARNING, "WARNING: finite mosaicity with only one domain! upping to 10 mosaic domains");
            domains = 10;
        }
    } else {
        if (spread < 0.0) {
            if (warn) nb_log(c, NB_LOG_WARNING, "WARNING: no mosaic spread specified.  setting mosaic_domains = 1");
            spread = 0.0;
            domains = 1;
        } else if (spread == 0.0) {
            if (warn) nb_log(c, NB_LOG_WARNING, "WARNING: zero mosaic spread specified.  setting mosaic_domains = 1");
            domains = 1;
        }
    }
    *spread_rad = spread;
    return domains;
}

int nb_build_sampling(nb_build *b)
{
    const nb_config *c = b->config;
    nb_plan *p = b->plan;

    /* phi sweep */
    double osc = given(c->osc_deg, RTD);
    double phistep = given(c->phi_step_deg, RTD);
    int phisteps = c->phi_steps;
    select_phi(b, &osc, &phistep, &phisteps);
    p->phi0 = c->phi_start_deg / RTD;
    p->phistep = phistep;
    p->phisteps = phisteps;
    b->osc = osc;

    /* divergence (mrad) and dispersion (percent); the legacy has no dispersion step flag */
    b->hdivrange = given(c->hdiv_range_mrad, 1000.0);
    b->hdivstep = given(c->hdiv_step_mrad, 1000.0);
    b->hdivsteps = c->hdiv_steps;
    b->vdivrange = given(c->vdiv_range_mrad, 1000.0);
    b->vdivstep = given(c->vdiv_step_mrad, 1000.0);
    b->vdivsteps = c->vdiv_steps;
    b->dispersion = c->dispersion_percent / 100.0;
    b->dispstep = -1.0;
    b->dispsteps = c->dispersion_steps;
    select_steps(&b->hdivsteps, &b->hdivrange, &b->hdivstep, 1.0);
    select_steps(&b->vdivsteps, &b->vdivrange, &b->vdivstep, 1.0);
    select_steps(&b->dispsteps, &b->dispersion, &b->dispstep, 1.0);

    /* sensor layers (um); an infinite (or, as the legacy reads it, zero) attenuation
     * depth is mu = 0: nothing is absorbed, so a sensor of non-zero thickness captures
     * nothing (the command line drops the thickness given before such a depth) */
    double thick = c->detector_thick_um * 1e-6;
    double mu = -1.0;
    if (!isnan(c->detector_abs_um)) {
        if (isinf(c->detector_abs_um) || c->detector_abs_um == 0.0) mu = 0.0;
        else mu = 1.0 / (c->detector_abs_um * 1e-6);
    }
    double thickstep = -1.0;
    int thicksteps = c->detector_thicksteps;
    select_layers(&thicksteps, &thick, &thickstep);
    if (thick > 0.0 && mu < 0.0) {
        mu = 1.0 / thick;
        nb_log(c, NB_LOG_WARNING, "WARNING: setting detector attenuation depth to %g m", mu);
    }

    /* mosaic domains */
    double spread;
    int domains = nb_mosaic_domains(c, &spread, 1);

    sanity(&b->hdivsteps, &b->hdivrange, &b->hdivstep);
    sanity(&b->vdivsteps, &b->vdivrange, &b->vdivstep);
    sanity(&b->dispsteps, &b->dispersion, &b->dispstep);
    sanity(&thicksteps, &thick, &thickstep);

    if (phisteps < 1 || phisteps > 1000000)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "phi: %d steps (from osc %g deg, step %g deg) is out of range 1..1e6",
                       phisteps, osc * RTD, phistep * RTD);
    if (b->hdivsteps > 100000 || b->vdivsteps > 100000 || b->dispsteps > 100000 || thicksteps > 100000 ||
        (double)b->hdivsteps * b->vdivsteps * b->dispsteps > 1.0e7)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "divergence, dispersion or sensor-layer step count is unreasonably large");

    p->thick = thick;
    p->thickstep = thickstep;
    p->thicksteps = thicksteps;
    p->mu = mu;
    p->mosaic_spread = spread;
    p->domains = domains;
    p->oversample_thick = c->oversample_thick != 0;
    p->oversample_polar = c->oversample_polar != 0;
    p->oversample_omega = c->oversample_omega != 0;
    p->dmin = c->dmin_A * 1e-10;
    p->water_size = c->water_um / 1e6;
    p->kahn = c->kahn_factor;
    p->nopolar = c->nopolar != 0;
    return NB_OK;
}
