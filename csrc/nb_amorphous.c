/*
 * Amorphous background (the legacy nonBragg program): an F(sin(theta)/lambda)
 * table of one molecule, times the molecules of a sample block in the beam,
 * rendered with the detector geometry and sources of the plan.
 *
 * Per pixel, in the legacy order (sub-pixel slow, sub-pixel fast, sensor
 * layer, source):
 *   I += sign(F)*F^2 * polar * omega * weight * capture
 * with F interpolated by the cubic through the four table points around
 * stol, omega and polarization evaluated for every sub-pixel and source;
 * the pixel gets I*r_e^2*fluence*molecules/(sources*oversample^2) added.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef NB_HAVE_OPENMP
#include <omp.h>
#endif

#include "nb_plan.h"
#include "nb_vec.h"

#define AVOGADRO 6.02214179e23
/* the padding abscissae the legacy puts at each end of the table (1/m) */
#define PAD_NEAR 1e98
#define PAD_FAR 1e99

int nb_validate_amorphous(nb_build *b)
{
    const nb_config *c = b->config;
    int n = c->amorphous_points;
    if (n <= 0) return NB_OK;
    if (c->amorphous_stol_per_m == NULL || c->amorphous_F == NULL)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "amorphous sample: the F(stol) table pointers are NULL");
    if (n > 10000000) return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "amorphous sample: %d table points is unreasonably many", n);
    const double *x = c->amorphous_stol_per_m;
    for (int i = 0; i < n; ++i) {
        if (!isfinite(x[i]) || fabs(x[i]) >= PAD_NEAR)
            return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "amorphous sample: table point %d has sin(theta)/lambda %g 1/m (need a finite value)",
                           i + 1, x[i]);
        if (i > 0 && !(x[i] > x[i - 1]))
            return nb_fail(b, NB_ERR_INVALID_ARGUMENT,
                           "amorphous sample: sin(theta)/lambda must increase strictly down the table (point %d: %g after %g 1/m)",
                           i + 1, x[i], x[i - 1]);
        if (isinf(c->amorphous_F[i]))
            return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "amorphous sample: table point %d has an infinite F", i + 1);
    }
    for (int i = 0; i < 3; ++i)
        if (!isfinite(c->amorphous_size_mm[i]) || c->amorphous_size_mm[i] < 0.0)
            return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "amorphous sample: size[%d] must be a finite number >= 0 mm, got %g", i,
                           c->amorphous_size_mm[i]);
    if (!isfinite(c->amorphous_density_g_cm3) || !isfinite(c->amorphous_molecules))
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "amorphous sample: density and molecules must be finite numbers");
    if (!isfinite(c->amorphous_molecular_weight) || c->amorphous_molecular_weight == 0.0)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "amorphous sample: the molecular weight must be a finite non-zero number (g/mol), got %g",
                       c->amorphous_molecular_weight);
    return NB_OK;
}

int nb_build_background_only(nb_build *b)
{
    const nb_config *c = b->config;
    nb_plan *p = b->plan;
    if (p->bragg) return NB_OK;
    /* no crystal: no automatic oversampling (legacy nonBragg) and no random draws */
    int oversample = c->oversample <= 0 ? 1 : c->oversample;
    p->oversample = oversample;
    p->derived.recommended_oversample = 1;
    p->subpixel_size = p->pixel_size / oversample;
    p->domains = 1;
    long steps = (long)p->sources * oversample * oversample;
    if (steps > 2147483647L) return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "sources x oversample^2 = %ld is too many", steps);
    p->steps = (int)steps;
    nb_shuffle_init(&p->shuffle_after_mosaic);
    return NB_OK;
}

int nb_build_amorphous(nb_build *b)
{
    const nb_config *c = b->config;
    nb_plan *p = b->plan;
    int n = c->amorphous_points;
    if (n <= 0) return NB_OK;

    /* the table with two points at each end; missing F are 0, the end values the first/last present F */
    int padded = n + 4;
    p->amorphous_stol = malloc((size_t)padded * sizeof(double));
    p->amorphous_F = malloc((size_t)padded * sizeof(double));
    if (p->amorphous_stol == NULL || p->amorphous_F == NULL)
        return nb_fail(b, NB_ERR_NO_MEMORY, "out of memory for the amorphous F(stol) table");
    double F_low = NAN, F_high = NAN;
    for (int i = 0; i < n; ++i) {
        double F = c->amorphous_F[i];
        p->amorphous_stol[i + 2] = c->amorphous_stol_per_m[i];
        p->amorphous_F[i + 2] = isnan(F) ? 0.0 : F;
        if (!isnan(F)) {
            if (isnan(F_low)) F_low = F;
            F_high = F;
        }
    }
    p->amorphous_stol[0] = -PAD_FAR;
    p->amorphous_stol[1] = -PAD_NEAR;
    p->amorphous_F[0] = p->amorphous_F[1] = F_low;
    p->amorphous_stol[padded - 2] = PAD_NEAR;
    p->amorphous_stol[padded - 1] = PAD_FAR;
    p->amorphous_F[padded - 2] = p->amorphous_F[padded - 1] = F_high;
    p->amorphous_points = padded;

    /* molecules in the beam: the block's width and height are clipped to the beam */
    double x = c->amorphous_size_mm[0] / 1000;
    double y = c->amorphous_size_mm[1] / 1000;
    double z = c->amorphous_size_mm[2] / 1000;
    double beamsize = c->beamsize_mm / 1000;
    if (beamsize >= 0) {
        if (beamsize < y) {
            nb_log(c, NB_LOG_WARNING, "WARNING: clipping amorphous sample (%lg m high) with beam (%lg m)", y, beamsize);
            y = beamsize;
        }
        if (beamsize < z) {
            nb_log(c, NB_LOG_WARNING, "WARNING: clipping amorphous sample (%lg m wide) with beam (%lg m)", z, beamsize);
            z = beamsize;
        }
    }
    double volume = x * y * z;
    double density = c->amorphous_density_g_cm3 * 1e6;
    double mw = c->amorphous_molecular_weight;
    if (c->amorphous_molecules != 0) density = c->amorphous_molecules / volume / AVOGADRO * mw;
    p->amorphous_molecules = volume * density * AVOGADRO / mw;
    if (!isfinite(p->amorphous_molecules))
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT,
                       "amorphous sample: %g molecules in a %g x %g x %g m block is not a finite count (a zero size with molecules given?)",
                       c->amorphous_molecules, x, y, z);
    long steps = (long)p->sources * p->oversample * p->oversample;
    if (steps > 2147483647L) return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "sources x oversample^2 = %ld is too many", steps);
    p->amorphous_steps = (int)steps;
    p->amorphous_fmap = c->amorphous_fmap != 0;

    nb_derived *d = &p->derived;
    d->amorphous_size_m[0] = x;
    d->amorphous_size_m[1] = y;
    d->amorphous_size_m[2] = z;
    d->amorphous_density_g_m3 = density;
    d->amorphous_molecules = p->amorphous_molecules;
    d->amorphous_steps = steps;
    return NB_OK;
}

/* largest i in [1, n-3] with stol_of[i] <= stol (the legacy's `nearest` for an ascending table) */
static int nearest_point(const double *stol_of, int n, double stol)
{
    int lo = 1, hi = n - 3;
    if (!(stol >= stol_of[lo])) return lo;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (stol_of[mid] <= stol) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* the background photons of one pixel; `st` carries the polarization evaluations made before it;
 * *F_last receives the F of the pixel's last path */
static double amorphous_pixel(const nb_plan *p, int spixel, int fpixel, nb_raster_state *st, double *F_last)
{
    const double *stol_of = p->amorphous_stol, *F_of = p->amorphous_F;
    double Ibg = 0.0;
    for (int subS = 0; subS < p->oversample; ++subS) {
        for (int subF = 0; subF < p->oversample; ++subF) {
            for (int t = 0; t < p->thicksteps; ++t) {
                double Odet = t * p->thickstep;
                double pos[3], d[3];
                nb_subpixel_position(p, fpixel, spixel, subF, subS, Odet, pos);
                double airpath = nb_unitize(pos, d);
                double omega = nb_solid_angle(p, airpath);
                double capture = 1.0;
                if (p->thick > 0.0) {
                    double parallax = nb_dot(d, p->odet);
                    capture = exp(-t * p->thickstep * p->mu / parallax) - exp(-(t + 1) * p->thickstep * p->mu / parallax);
                }
                for (int r = 0; r < p->sources; ++r) {
                    double incident[3], q[3];
                    for (int i = 0; i < 3; ++i) incident[i] = -p->source_dir[3 * r + i];
                    double lambda = p->source_lambda[r];
                    for (int i = 0; i < 3; ++i) q[i] = (d[i] - incident[i]) / lambda;
                    double stol = 0.5 * nb_norm(q);
                    int k = nearest_point(stol_of, p->amorphous_points, stol);
                    double F = nb_polint4(stol_of + k - 1, F_of + k - 1, stol);
                    *F_last = F;
                    double sign = F < 0.0 ? -1.0 : 1.0;
                    /* as the legacy, the polarization re-normalises d in place for the next source */
                    double polar = p->nopolar ? 1.0 : nb_polarization(p, st, incident, d);
                    Ibg += sign * F * F * polar * omega * p->source_weight[r] * capture;
                }
            }
        }
    }
    return Ibg * p->r_e_sqr * p->fluence * p->amorphous_molecules / p->amorphous_steps;
}

static int pixel_is_rendered(const nb_plan *p, int s, int f)
{
    return nb_pixel_rendered(p, s, f);
}

int nb_amorphous_add(const nb_plan *p, float *image, int nthreads)
{
    if (p->amorphous_points <= 0) return NB_OK;
    /* polarization evaluations made before each row (only the first few
     * matter: the re-normalised E-vector settles after polar_axis_count) */
    long *before = malloc((size_t)p->spixels * sizeof(long));
    if (before == NULL) return NB_ERR_NO_MEMORY;
    long per_pixel = (long)p->oversample * p->oversample * p->thicksteps * p->sources;
    long evaluations = 0;
    for (int s = 0; s < p->spixels; ++s) {
        before[s] = evaluations;
        if (evaluations < p->polar_axis_count)
            for (int f = 0; f < p->fpixels; ++f)
                if (pixel_is_rendered(p, s, f)) evaluations += per_pixel;
    }
#ifdef NB_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
#endif
    for (int s = 0; s < p->spixels; ++s) {
        nb_raster_state st;
        memset(&st, 0, sizeof(st));
        long done = before[s];
        for (int f = 0; f < p->fpixels; ++f) {
            if (!pixel_is_rendered(p, s, f)) continue;
            st.polar_evaluations = done < p->polar_axis_count ? done : p->polar_axis_count;
            size_t idx = (size_t)s * p->fpixels + f;
            double F_last = 0.0;
            double value = amorphous_pixel(p, s, f, &st, &F_last);
            /* -Fmap: the pixel shows F (of its last path) instead of photons, replacing everything */
            image[idx] = p->amorphous_fmap ? (float)F_last : (float)((double)image[idx] + value);
            done += per_pixel;
        }
    }
    (void)nthreads;
    free(before);
    return NB_OK;
}
