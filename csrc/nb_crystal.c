/* Unit cell, orientation (matrix, misset), crystal size and oversampling,
 * mosaic domains and the per-(phi, domain) rotated cells. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nb_plan.h"
#include "nb_vec.h"

#define RTD (180.0 * M_1_PI)

/* Reciprocal cell (1/Angstrom) in the legacy default orientation from
 * a, b, c (Angstrom) and alpha, beta, gamma (radians). */
static void reciprocal_from_cell(const nb_config *c, double abc[3], double angles[3], double *V_cell,
                                 double a_star[3], double b_star[3], double c_star[3])
{
    double a = abc[0], b = abc[1], cc = abc[2];
    double alpha = angles[0], beta = angles[1], gamma = angles[2];

    double aavg = (alpha + beta + gamma) / 2;
    double skew = sin(aavg) * sin(aavg - alpha) * sin(aavg - beta) * sin(aavg - gamma);
    if (skew < 0.0) skew = -skew;
    double V = 2.0 * a * b * cc * sqrt(skew);
    if (V <= 0.0) {
        nb_log(c, NB_LOG_WARNING, "WARNING: impossible unit cell volume: %g", V);
        V = DBL_MIN;
    }
    double V_star = 1.0 / V;
    double as = b * cc * sin(alpha) * V_star;
    double bs = cc * a * sin(beta) * V_star;
    double cs = a * b * sin(gamma) * V_star;
    if (as <= 0.0 || bs <= 0.0 || cs <= 0.0) {
        nb_log(c, NB_LOG_WARNING, "WARNING: impossible reciprocal cell lengths: %g %g %g", as, bs, cs);
        as = fabs(as);
        bs = fabs(bs);
        cs = fabs(cs);
        if (as <= 0.0) as = DBL_MIN;
        if (bs <= 0.0) bs = DBL_MIN;
        if (cs <= 0.0) cs = DBL_MIN;
    }
    double sin_gamma_star = cc * V_star / as / bs;
    double cos_alpha_star = (cos(beta) * cos(gamma) - cos(alpha)) / (sin(beta) * sin(gamma));
    double cos_beta_star = (cos(gamma) * cos(alpha) - cos(beta)) / (sin(gamma) * sin(alpha));
    double cos_gamma_star = (cos(alpha) * cos(beta) - cos(gamma)) / (sin(alpha) * sin(beta));
    double sin_alpha_star = a * V_star / bs / cs;
    double sin_beta_star = b * V_star / as / cs;
    if (fabs(sin_alpha_star) > 1.0000001 || fabs(sin_beta_star) > 1.0000001 || fabs(sin_gamma_star) > 1.0000001 ||
        fabs(cos_alpha_star) > 1.0000001 || fabs(cos_beta_star) > 1.0000001 || fabs(cos_gamma_star) > 1.0000001)
        nb_log(c, NB_LOG_WARNING, "WARNING: oddball reciprocal cell angles");
    if (sin_gamma_star > 1.0) sin_gamma_star = 1.0;
    if (sin_gamma_star < -1.0) sin_gamma_star = -1.0;
    if (cos_beta_star * cos_beta_star > 1.0) cos_beta_star = 1.0;
    if (cos_gamma_star * cos_gamma_star > 1.0) cos_gamma_star = 1.0;
    if (cos_alpha_star * cos_alpha_star > 1.0) cos_alpha_star = 1.0;

    a_star[0] = as;
    b_star[0] = bs * cos_gamma_star;
    c_star[0] = cs * cos_beta_star;
    a_star[1] = 0.0;
    b_star[1] = bs * sin_gamma_star;
    c_star[1] = cs * (cos_alpha_star - cos_beta_star * cos_gamma_star) / sin_gamma_star;
    a_star[2] = 0.0;
    b_star[2] = 0.0;
    c_star[2] = cs * V / (a * b * cc * sin_gamma_star);
    *V_cell = V;
}

/* warn (as the legacy) when a derived cell has impossible angles */
static void check_cell_angles(const nb_config *c, const double a[3], const double b[3], const double cc[3],
                              const double a_star[3], const double b_star[3], const double c_star[3], double V_cell,
                              double V_star)
{
    double la = nb_norm(a), lb = nb_norm(b), lc = nb_norm(cc);
    double las = nb_norm(a_star), lbs = nb_norm(b_star), lcs = nb_norm(c_star);
    double v[12] = {
        las * V_cell / lb / lc, lbs * V_cell / la / lc, lcs * V_cell / la / lb,
        nb_dot(b, cc) / lb / lc, nb_dot(a, cc) / la / lc, nb_dot(a, b) / la / lb,
        la * V_star / lbs / lcs, lb * V_star / las / lcs, lc * V_star / las / lbs,
        nb_dot(b_star, c_star) / lbs / lcs, nb_dot(a_star, c_star) / las / lcs, nb_dot(a_star, b_star) / las / lbs,
    };
    for (int i = 0; i < 12; ++i) {
        if (v[i] > 1.0000001 || v[i] < -1.0000001) {
            nb_log(c, NB_LOG_WARNING, i < 6 ? "WARNING: oddball cell angles" : "WARNING: oddball reciprocal cell angles");
            break;
        }
    }
}

/* tricubic interpolation of F: the auto rule sees N as given, before crystal size or clamping */
static void choose_interpolation(const nb_config *c, nb_plan *p)
{
    if (c->interpolate < 0 || c->interpolate > 1) {
        if (c->n_cells[0] <= 2 || c->n_cells[1] <= 2 || c->n_cells[2] <= 2) {
            nb_log(c, NB_LOG_INFO, "auto-selected tricubic interpolation of structure factors");
            p->interpolate = 1;
        } else {
            nb_log(c, NB_LOG_INFO, "auto-selected no interpolation");
            p->interpolate = 0;
        }
    } else {
        p->interpolate = c->interpolate;
    }
}

/* Reciprocal cell (1/A) from -cell and/or -mat, before the misset; abc and
 * *V_cell receive the user cell's edges and volume when one was given. */
static void reciprocal_cell(const nb_build *b, double abc[3], double *V_cell, double a_star[3], double b_star[3],
                            double c_star[3])
{
    const nb_config *c = b->config;
    if (c->has_cell) {
        double angles[3];
        abc[0] = c->cell[0];
        abc[1] = c->cell[1];
        abc[2] = c->cell[2];
        for (int i = 0; i < 3; ++i) angles[i] = c->cell[3 + i] / RTD;
        if (abc[1] <= 0.0) abc[1] = abc[0];
        if (abc[2] <= 0.0) abc[2] = abc[0];
        for (int i = 0; i < 3; ++i)
            if (angles[i] <= 0.0) angles[i] = M_PI / 2;
        reciprocal_from_cell(c, abc, angles, V_cell, a_star, b_star, c_star);
    }
    if (c->has_mosflm_matrix) {
        /* file rows are x, y, z; columns a*, b*, c* (times lambda) */
        for (int r = 0; r < 3; ++r) {
            a_star[r] = c->mosflm_matrix[3 * r + 0];
            b_star[r] = c->mosflm_matrix[3 * r + 1];
            c_star[r] = c->mosflm_matrix[3 * r + 2];
        }
        double scale = 1e-10 / b->lambda0;
        nb_scale(a_star, a_star, scale);
        nb_scale(b_star, b_star, scale);
        nb_scale(c_star, c_star, scale);
    }
}

/* Every random draw up front (misset, then mosaic, in the legacy order), then
 * the misset (random or given) applied to the reciprocal cell. */
static int draw_and_apply_misset(nb_build *b, double a_star[3], double b_star[3], double c_star[3])
{
    const nb_config *c = b->config;
    nb_plan *p = b->plan;
    double misset[3] = {0, 0, 0};
    int apply_misset = 0;
    double misset_draw[3];
    p->mosaic_draws = malloc((size_t)p->domains * 3 * sizeof(double));
    if (p->mosaic_draws == NULL) return nb_fail(b, NB_ERR_NO_MEMORY, "out of memory for %d mosaic domains", p->domains);
    nb_orientation_draws(c, p->domains, &p->shuffle_after_mosaic, misset_draw, p->mosaic_draws);
    if (c->misset_mode == NB_MISSET_RANDOM) {
        nb_random_misset(misset_draw, misset);
        nb_log(c, NB_LOG_INFO, "random orientation misset angles: %f %f %f deg", misset[0] * RTD, misset[1] * RTD,
               misset[2] * RTD);
        apply_misset = 1;
    } else if (c->misset_mode == NB_MISSET_ANGLES) {
        for (int i = 0; i < 3; ++i) misset[i] = c->misset_deg[i] / RTD;
        apply_misset = 1;
    }
    if (apply_misset) {
        nb_rotate_xyz(a_star, a_star, misset[0], misset[1], misset[2]);
        nb_rotate_xyz(b_star, b_star, misset[0], misset[1], misset[2]);
        nb_rotate_xyz(c_star, c_star, misset[0], misset[1], misset[2]);
    }
    memcpy(p->derived.misset_rad, misset, sizeof(misset));
    return NB_OK;
}

/* Real-space cell (A) from the reciprocal one, and the reciprocal cell again
 * from it; a -cell forces the edge lengths.  Returns the cell volume (A^3). */
static double real_space_cell(const nb_config *c, const double abc[3], double V_cell, double a_star[3],
                              double b_star[3], double c_star[3], double a[3], double bb[3], double cc[3])
{
    double axb_star[3], bxc_star[3], cxa_star[3];
    nb_cross(a_star, b_star, axb_star);
    nb_cross(b_star, c_star, bxc_star);
    nb_cross(c_star, a_star, cxa_star);
    double V_star = nb_dot(a_star, bxc_star);
    if (c->has_cell) {
        nb_rescale(bxc_star, bxc_star, abc[0] / V_cell);
        nb_rescale(cxa_star, cxa_star, abc[1] / V_cell);
        nb_rescale(axb_star, axb_star, abc[2] / V_cell);
        V_star = 1.0 / V_cell;
    }
    V_cell = 1.0 / V_star;
    nb_scale(bxc_star, a, V_cell);
    nb_scale(cxa_star, bb, V_cell);
    nb_scale(axb_star, cc, V_cell);
    double axb[3], bxc[3], cxa[3];
    nb_cross(a, bb, axb);
    nb_cross(bb, cc, bxc);
    nb_cross(cc, a, cxa);
    nb_scale(bxc, a_star, V_star);
    nb_scale(cxa, b_star, V_star);
    nb_scale(axb, c_star, V_star);
    check_cell_angles(c, a, bb, cc, a_star, b_star, c_star, V_cell, V_star);
    return V_cell;
}

/* Crystal size -> number of cells (clamped to >= 1), then the oversampling that
 * samples the spot width; la, lb, lc are the cell edges (m). */
static int cells_and_oversample(nb_build *b, double la, double lb, double lc)
{
    const nb_config *c = b->config;
    nb_plan *p = b->plan;
    double Na = c->n_cells[0], Nb = c->n_cells[1], Nc = c->n_cells[2];
    if (b->sample_x > 0) Na = ceil(b->sample_x / la);
    if (b->sample_y > 0) Nb = ceil(b->sample_y / lb);
    if (b->sample_z > 0) Nc = ceil(b->sample_z / lc);
    if (Na <= 1.0) Na = 1.0;
    if (Nb <= 1.0) Nb = 1.0;
    if (Nc <= 1.0) Nc = 1.0;
    p->Na = Na;
    p->Nb = Nb;
    p->Nc = Nc;

    double size_max = la * Na;
    if (size_max < lb * Nb) size_max = lb * Nb;
    if (size_max < lc * Nc) size_max = lc * Nc;
    double reciprocal_pixel_size = b->lambda0 * p->distance / p->pixel_size;
    double recommended_d = ceil(3.0 * size_max / reciprocal_pixel_size);
    if (!(recommended_d < 1.0e4)) recommended_d = 1.0e4;
    int recommended = (int)recommended_d;
    if (recommended <= 0) recommended = 1;
    int oversample = c->oversample;
    if (oversample <= 0) {
        oversample = recommended;
        nb_log(c, NB_LOG_INFO, "auto-selected %d-fold oversampling", oversample);
    }
    if (oversample < recommended) {
        nb_log(c, NB_LOG_WARNING,
               "WARNING: maximum dimension of sample is %g A but reciprocal pixel size is %g A: "
               "intensity may vary significantly across a pixel! recommend -oversample %d to work around this",
               size_max * 1e10, reciprocal_pixel_size * 1e10, recommended);
    }
    if (oversample > 1000)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT,
                       "oversample: %d sub-pixels per pixel edge (auto-selected from the crystal size) is unreasonably large",
                       oversample);
    p->oversample = oversample;
    p->derived.recommended_oversample = recommended;
    p->subpixel_size = p->pixel_size / oversample;
    return NB_OK;
}

int nb_build_crystal(nb_build *b)
{
    const nb_config *c = b->config;
    nb_plan *p = b->plan;
    choose_interpolation(c, p);

    double a_star[3] = {0, 0, 0}, b_star[3] = {0, 0, 0}, c_star[3] = {0, 0, 0};
    double abc[3] = {0, 0, 0};
    double V_cell = 0.0;
    reciprocal_cell(b, abc, &V_cell, a_star, b_star, c_star);
    int status = draw_and_apply_misset(b, a_star, b_star, c_star);
    if (status != NB_OK) return status;

    double a[3], bb[3], cc[3];
    V_cell = real_space_cell(c, abc, V_cell, a_star, b_star, c_star, a, bb, cc);
    if (!isfinite(V_cell) || V_cell == 0.0)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "crystal: the unit cell has no volume (check -cell / -mat)");
    nb_copy3(a_star, p->a_star);
    nb_copy3(b_star, p->b_star);
    nb_copy3(c_star, p->c_star);
    p->derived.cell_volume_A3 = V_cell;

    /* metres; the phi = 0, unmosaiced reference cell */
    double la = nb_scale(a, b->a0, 1e-10);
    double lb = nb_scale(bb, b->b0, 1e-10);
    double lc = nb_scale(cc, b->c0, 1e-10);
    p->shape = c->xtal_shape;
    p->fudge = c->fudge;
    return cells_and_oversample(b, la, lb, lc);
}

void nb_random_misset(const double misset_draw[3], double misset_rad[3])
{
    /* the legacy draws a rotation with a cap of 90 (radians) from -misset_seed */
    double umat[9];
    nb_cap_rotation(90.0f, misset_draw[0], misset_draw[1], (float)misset_draw[2], umat);
    nb_umat_to_xyz(umat, misset_rad);
}

void nb_orientation_draws(const nb_config *c, int domains, nb_shuffle *table, double misset_draw[3],
                          double *mosaic_draws)
{
    nb_shuffle_init(table);
    double r1, r2;
    float cap;
    misset_draw[0] = misset_draw[1] = misset_draw[2] = 0.0;
    if (c->misset_mode == NB_MISSET_RANDOM) {
        long idum = -c->misset_seed;
        nb_cap_draws(table, &idum, &r1, &r2, &cap);
        misset_draw[0] = r1;
        misset_draw[1] = r2;
        misset_draw[2] = cap;
    }
    long idum = -c->mosaic_seed;
    for (int m = 0; m < domains; ++m) {
        nb_cap_draws(table, &idum, &r1, &r2, &cap);
        if (mosaic_draws != NULL) {
            mosaic_draws[3 * m + 0] = r1;
            mosaic_draws[3 * m + 1] = r2;
            mosaic_draws[3 * m + 2] = cap;
        }
    }
}

int nb_build_mosaic(nb_build *b)
{
    nb_plan *p = b->plan;
    int n = p->domains;
    double *umats = malloc((size_t)n * 9 * sizeof(double));
    if (umats == NULL) return nb_fail(b, NB_ERR_NO_MEMORY, "out of memory for %d mosaic domains", n);
    float spread = (float)p->mosaic_spread;
    for (int m = 0; m < n; ++m) {
        const double *draw = p->mosaic_draws + 3 * m;
        if (m == 0) {
            /* the first domain is always the unrotated crystal */
            static const double identity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
            memcpy(umats, identity, sizeof(identity));
        } else {
            nb_cap_rotation(spread, draw[0], draw[1], (float)draw[2], umats + 9 * m);
        }
    }
    long steps = (long)p->sources * n * p->phisteps * p->oversample * p->oversample;
    if (steps > 2147483647L || steps <= 0) {
        free(umats);
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT, "sources x mosaic domains x phi steps x oversample^2 = %ld is too many", steps);
    }
    p->steps = (int)steps;
    /* temporarily park the matrices in cells; nb_build_cell_tables replaces them */
    p->cells = umats;
    return NB_OK;
}

/* Which rotated cell each phi step sees.  phi_mode spec: R(phi) a0, with
 * phi = 0 the identity.  c-parity: the legacy rotated only when phi != 0, so
 * a zero step reuses the latest rotation performed -- earlier in the same
 * sweep, else the last non-zero step of the previous sweep, and in the very
 * first sweep of the run the unrotated cell. */
int nb_build_cell_tables(nb_build *b)
{
    nb_plan *p = b->plan;
    int H = p->phisteps, M = p->domains;
    double *umats = p->cells;
    p->cells = NULL;
    double *rotated = malloc((size_t)H * 9 * sizeof(double));
    int *source_normal = malloc((size_t)H * sizeof(int));
    int *source_first = malloc((size_t)H * sizeof(int));
    double *normal = malloc((size_t)H * M * 9 * sizeof(double));
    double *first = malloc((size_t)H * M * 9 * sizeof(double));
    if (!rotated || !source_normal || !source_first || !normal || !first) {
        free(umats); free(rotated); free(source_normal); free(source_first); free(normal); free(first);
        return nb_fail(b, NB_ERR_NO_MEMORY, "out of memory for the rotated-cell tables");
    }

    int last_nonzero = -1;
    for (int k = 0; k < H; ++k) {
        double phi = p->phi0 + p->phistep * k;
        if (phi != 0.0) {
            nb_rotate_axis(b->a0, rotated + 9 * k + 0, b->spindle, phi);
            nb_rotate_axis(b->b0, rotated + 9 * k + 3, b->spindle, phi);
            nb_rotate_axis(b->c0, rotated + 9 * k + 6, b->spindle, phi);
            last_nonzero = k;
        }
    }
    /* index of the rotation in effect at each step; -1 = unrotated */
    int latest = -1;
    for (int k = 0; k < H; ++k) {
        double phi = p->phi0 + p->phistep * k;
        if (phi != 0.0) latest = k;
        if (p->phi_mode == NB_PHI_MODE_SPEC) {
            source_first[k] = source_normal[k] = (phi != 0.0) ? k : -1;
        } else {
            source_first[k] = latest;
            source_normal[k] = latest >= 0 ? latest : last_nonzero;
        }
    }
    for (int k = 0; k < H; ++k) {
        for (int pass = 0; pass < 2; ++pass) {
            int src = pass == 0 ? source_normal[k] : source_first[k];
            double *table = pass == 0 ? normal : first;
            double ap[9];
            if (src >= 0) memcpy(ap, rotated + 9 * src, sizeof(ap));
            else {
                nb_copy3(b->a0, ap);
                nb_copy3(b->b0, ap + 3);
                nb_copy3(b->c0, ap + 6);
            }
            for (int m = 0; m < M; ++m) {
                double *cell = table + ((size_t)k * M + m) * 9;
                if (p->mosaic_spread > 0.0) {
                    nb_rotate_umat(ap + 0, cell + 0, umats + 9 * m);
                    nb_rotate_umat(ap + 3, cell + 3, umats + 9 * m);
                    nb_rotate_umat(ap + 6, cell + 6, umats + 9 * m);
                } else {
                    memcpy(cell, ap, sizeof(ap));
                }
            }
        }
    }
    p->cells = normal;
    if (memcmp(normal, first, (size_t)H * M * 9 * sizeof(double)) == 0) {
        free(first);
        p->cells_first = normal;
        p->first_loop_differs = 0;
    } else {
        p->cells_first = first;
        p->first_loop_differs = 1;
    }
    free(umats);
    free(rotated);
    free(source_normal);
    free(source_first);
    return NB_OK;
}
