/* Legacy uniform, Gaussian and Poisson deviates with explicit state. */
#include <math.h>
#include <string.h>

#include "nb_random.h"

/* Park-Miller constants (Schrage factorisation) and the output cap */
#define NB_IA 16807
#define NB_IM 2147483647
#define NB_AM (1.0 / NB_IM)
#define NB_IQ 127773
#define NB_IR 2836
#define NB_NDIV (1 + (NB_IM - 1) / NB_SHUFFLE_TABLE)
#define NB_RNMX (1.0 - 1.2e-7)

void nb_shuffle_init(nb_shuffle *table)
{
    memset(table, 0, sizeof(*table));
}

void nb_deviate_cache_init(nb_deviate_cache *cache)
{
    cache->sq = cache->alxm = cache->g = 0.0f;
    cache->oldm = -1.0f;
    cache->gauss_has_spare = 0;
    cache->gauss_spare = 0.0f;
}

static long park_miller_step(long state)
{
    long k = state / NB_IQ;
    state = NB_IA * (state - k * NB_IQ) - NB_IR * k;
    if (state < 0) state += NB_IM;
    return state;
}

float nb_ran1(nb_shuffle *t, long *idum)
{
    if (*idum <= 0 || !t->iy) {
        /* (re)load the table; a seed of 0 becomes 1 */
        if (-(*idum) < 1) *idum = 1;
        else *idum = -(*idum);
        for (int j = NB_SHUFFLE_TABLE + 7; j >= 0; j--) {
            *idum = park_miller_step(*idum);
            if (j < NB_SHUFFLE_TABLE) t->iv[j] = *idum;
        }
        t->iy = t->iv[0];
    }
    *idum = park_miller_step(*idum);
    int j = (int)(t->iy / NB_NDIV);
    t->iy = t->iv[j];
    t->iv[j] = *idum;
    float value = (float)(NB_AM * t->iy);
    if (value > NB_RNMX) return (float)NB_RNMX;
    return value;
}

float nb_gaussdev(nb_shuffle *t, nb_deviate_cache *cache, long *idum)
{
    if (cache->gauss_has_spare) {
        cache->gauss_has_spare = 0;
        return cache->gauss_spare;
    }
    float v1, v2, rsq;
    do {
        v1 = (float)(2.0 * nb_ran1(t, idum) - 1.0);
        v2 = (float)(2.0 * nb_ran1(t, idum) - 1.0);
        rsq = v1 * v1 + v2 * v2;
    } while (rsq >= 1.0 || rsq == 0);
    float fac = (float)sqrt(-2.0 * log(rsq) / rsq);
    cache->gauss_spare = v1 * fac;
    cache->gauss_has_spare = 1;
    return v2 * fac;
}

/* ln Gamma(xx), Lanczos series in double, result in float */
float nb_gammln(float xx)
{
    static const double cof[6] = {76.18009172947146, -86.50532032941677, 24.01409824083091,
                                  -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5};
    double x, y, tmp, ser;
    y = x = xx;
    tmp = x + 5.5;
    tmp -= (x + 0.5) * log(tmp);
    ser = 1.000000000190015;
    for (int j = 0; j <= 5; ++j) ser += cof[j] / ++y;
    return (float)(-tmp + log(2.5066282746310005 * ser / x));
}

/* Poisson deviate: Gaussian above 1e6, product of uniforms below 12,
 * Lorentzian rejection in between; all in single precision. */
float nb_poidev(float xm, nb_shuffle *t, nb_deviate_cache *c, long *idum)
{
    float em, tt, y;

    if (xm > 1.0e6) {
        return (float)(xm + sqrt(xm) * nb_gaussdev(t, c, idum));
    }
    if (xm < 12.0) {
        if (xm != c->oldm) {
            c->oldm = xm;
            c->g = (float)exp(-xm);
        }
        em = -1;
        tt = 1.0f;
        do {
            ++em;
            tt *= nb_ran1(t, idum);
        } while (tt > c->g);
    } else {
        if (xm != c->oldm) {
            c->oldm = xm;
            c->sq = (float)sqrt(2.0 * xm);
            c->alxm = (float)log(xm);
            c->g = xm * c->alxm - nb_gammln((float)(xm + 1.0));
        }
        do {
            do {
                y = (float)tan(M_PI * nb_ran1(t, idum));
                em = c->sq * y + xm;
            } while (em < 0.0);
            em = (float)floor(em);
            tt = (float)(0.9 * (1.0 + y * y) * exp(em * c->alxm - nb_gammln((float)(em + 1.0)) - c->g));
        } while (nb_ran1(t, idum) > tt);
    }
    return em;
}

void nb_cap_draws(nb_shuffle *t, long *idum, double *r1, double *r2, float *cap)
{
    double a = (double)2.0 * nb_ran1(t, idum) - 1.0;
    double b = (double)2.0 * nb_ran1(t, idum) - 1.0;
    double r3 = (double)2.0 * nb_ran1(t, idum) - 1.0;
    *r1 = a;
    *r2 = b;
    *cap = powf((float)(1.0 - r3 * r3), (float)(1.0 / 3.0));
}

void nb_cap_rotation(float spread, double r1, double r2, float cap, double umat[9])
{
    double xyrad = sqrt(1.0 - r2 * r2);
    double rot = (float)(spread * cap);
    double v1 = xyrad * sin(M_PI * r1);
    double v2 = xyrad * cos(M_PI * r1);
    double v3 = r2;

    /* axis-angle matrix written out term by term (legacy order) */
    double t1 = cos(rot);
    double t2 = 1.0 - t1;
    double t3 = v1 * v1;
    double t6 = t2 * v1;
    double t7 = t6 * v2;
    double t8 = sin(rot);
    double t9 = t8 * v3;
    double t11 = t6 * v3;
    double t12 = t8 * v2;
    double t15 = v2 * v2;
    double t19 = t2 * v2 * v3;
    double t20 = t8 * v1;
    double t24 = v3 * v3;

    umat[0] = t1 + t2 * t3;
    umat[1] = t7 - t9;
    umat[2] = t11 + t12;
    umat[3] = t7 + t9;
    umat[4] = t1 + t2 * t15;
    umat[5] = t19 - t20;
    umat[6] = t11 - t12;
    umat[7] = t19 + t20;
    umat[8] = t1 + t2 * t24;
}

/* normalise a row in place if it has length */
static void normalise_row(double *x, double *y, double *z, double m)
{
    if (m > 0) {
        *x /= m;
        *y /= m;
        *z /= m;
    }
}

static void row_cross(double ax, double ay, double az, double bx, double by, double bz,
                      double *cx, double *cy, double *cz)
{
    *cx = ay * bz - az * by;
    *cy = az * bx - ax * bz;
    *cz = ax * by - ay * bx;
    double m = sqrt(*cx * *cx + *cy * *cy + *cz * *cz);
    normalise_row(cx, cy, cz, m);
}

void nb_umat_to_xyz(const double umat[9], double angles[3])
{
    double uxx = umat[0], uxy = umat[1], uxz = umat[2];
    double uyx = umat[3], uyy = umat[4], uyz = umat[5];
    double uzx = umat[6], uzy = umat[7], uzz = umat[8];

    double mx = sqrt(uxx * uxx + uxy * uxy + uxz * uxz);
    double my = sqrt(uyx * uyx + uyy * uyy + uyz * uyz);
    double mz = sqrt(uzx * uzx + uzy * uzy + uzz * uzz);
    normalise_row(&uxx, &uxy, &uxz, mx);
    normalise_row(&uyx, &uyy, &uyz, my);
    normalise_row(&uzx, &uzy, &uzz, mz);

    /* degenerate rows fall back to unit axes */
    if (mx >= 0 && my <= 0 && mz <= 0) {
        uyx = 0; uyy = 1; uyz = 0;
        uzx = 0; uzy = 0; uzz = 1;
    }
    if (mx <= 0 && my >= 0 && mz <= 0) {
        uxx = 1; uxy = 0; uxz = 0;
        uzx = 0; uzy = 0; uzz = 1;
    }
    if (mx <= 0 && my <= 0 && mz >= 0) {
        uxx = 1; uxy = 0; uxz = 0;
        uyx = 0; uyy = 1; uyz = 0;
    }

    /* twice: replace empty rows by the cross product of the other two */
    for (int pass = 0; pass < 2; ++pass) {
        double xcy_x, xcy_y, xcy_z, ycz_x, ycz_y, ycz_z, zcx_x, zcx_y, zcx_z;
        row_cross(uxx, uxy, uxz, uyx, uyy, uyz, &xcy_x, &xcy_y, &xcy_z);
        row_cross(uyx, uyy, uyz, uzx, uzy, uzz, &ycz_x, &ycz_y, &ycz_z);
        row_cross(uzx, uzy, uzz, uxx, uxy, uxz, &zcx_x, &zcx_y, &zcx_z);
        if (mx <= 0) { uxx = ycz_x; uxy = ycz_y; uxz = ycz_z; }
        if (my <= 0) { uyx = zcx_x; uyy = zcx_y; uyz = zcx_z; }
        if (mz <= 0) { uzx = xcy_x; uzy = xcy_y; uzz = xcy_z; }
    }

    mx = sqrt(uxx * uxx + uxy * uxy + uxz * uxz);
    my = sqrt(uyx * uyx + uyy * uyy + uyz * uyz);
    mz = sqrt(uzx * uzx + uzy * uzy + uzz * uzz);
    normalise_row(&uxx, &uxy, &uxz, mx);
    normalise_row(&uyx, &uyy, &uyz, my);
    normalise_row(&uzx, &uzy, &uzz, mz);

    if (uzx * uzx < 1.0) {
        angles[0] = atan2(uzy, uzz);
        angles[1] = atan2(-uzx, sqrt(uzy * uzy + uzz * uzz));
        angles[2] = atan2(uyx, uxx);
    } else {
        angles[0] = atan2(1, 1) * 4;
        angles[1] = atan2(1, 1) * 2;
        angles[2] = atan2(uxy, -uyy);
    }
}
