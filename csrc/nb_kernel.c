/*
 * One detector pixel, computed exactly as the legacy inner loops do:
 * layers -> sub-pixels (slow, fast) -> sources -> phi steps -> mosaic
 * domains, with the legacy caching of solid angle, capture fraction and
 * polarization, and the same floating-point operations in the same order.
 */
#include <math.h>
#include <string.h>

#include "nb_plan.h"
#include "nb_vec.h"

/* ---- lattice transform ---- */

static inline double sincg(double x, double N)
{
    if (x == 0.0) return N;
    return sin(x * N) / sin(x);
}

static inline double sinc3(double x)
{
    if (x == 0.0) return 1.0;
    return 3.0 * (sin(x) / x - cos(x)) / (x * x);
}

/* nearest whole index, halves rounded up (legacy ceil(x - 0.5)) */
static inline int nearest_index(double x)
{
    return nb_to_int(ceil(x - 0.5));
}

static inline double lattice_factor(const nb_plan *p, double h, double k, double l)
{
    double Na = p->Na, Nb = p->Nb, Nc = p->Nc;
    double F_latt = 1.0;
    if (p->shape == NB_SHAPE_SQUARE) {
        if (Na > 1) F_latt *= sincg(M_PI * h, Na);
        if (Nb > 1) F_latt *= sincg(M_PI * k, Nb);
        if (Nc > 1) F_latt *= sincg(M_PI * l, Nc);
        return F_latt;
    }
    int h0 = nearest_index(h), k0 = nearest_index(k), l0 = nearest_index(l);
    if (p->shape == NB_SHAPE_ROUND) {
        double hrad_sqr = (h - h0) * (h - h0) * Na * Na + (k - k0) * (k - k0) * Nb * Nb + (l - l0) * (l - l0) * Nc * Nc;
        return Na * Nb * Nc * 0.723601254558268 * sinc3(M_PI * sqrt(hrad_sqr * p->fudge));
    }
    /* Gaussian and top-hat spots: distance to the relp with the unrotated
     * reciprocal vectors (1/Angstrom) times the product of the N */
    const double *as = p->a_star, *bs = p->b_star, *cs = p->c_star;
    double dx = (h - h0) * as[0] + (k - k0) * bs[0] + (l - l0) * cs[0];
    double dy = (h - h0) * as[1] + (k - k0) * bs[1] + (l - l0) * cs[1];
    double dz = (h - h0) * as[2] + (k - k0) * bs[2] + (l - l0) * cs[2];
    double rad_star_sqr = (dx * dx + dy * dy + dz * dz) * Na * Na * Nb * Nb * Nc * Nc;
    if (p->shape == NB_SHAPE_GAUSS) return Na * Nb * Nc * exp(-(rad_star_sqr / 0.63 * p->fudge));
    return Na * Nb * Nc * (rad_star_sqr * p->fudge < 0.3969);
}

/* ---- structure factors ---- */

/* cubic Lagrange polynomial through (xa[i], ya[i]), i = 0..3 */
static inline double polint(const double xa[4], const double ya[4], double x)
{
    double x0 = (x - xa[1]) * (x - xa[2]) * (x - xa[3]) * ya[0] / ((xa[0] - xa[1]) * (xa[0] - xa[2]) * (xa[0] - xa[3]));
    double x1 = (x - xa[0]) * (x - xa[2]) * (x - xa[3]) * ya[1] / ((xa[1] - xa[0]) * (xa[1] - xa[2]) * (xa[1] - xa[3]));
    double x2 = (x - xa[0]) * (x - xa[1]) * (x - xa[3]) * ya[2] / ((xa[2] - xa[0]) * (xa[2] - xa[1]) * (xa[2] - xa[3]));
    double x3 = (x - xa[0]) * (x - xa[1]) * (x - xa[2]) * ya[3] / ((xa[3] - xa[0]) * (xa[3] - xa[1]) * (xa[3] - xa[2]));
    return x0 + x1 + x2 + x3;
}

/* tensor-product interpolation: along l, then k, then h */
static double tricubic(const nb_plan *p, double h, double k, double l)
{
    int hf = (int)floor(h), kf = (int)floor(k), lf = (int)floor(l);
    double hd[4], kd[4], ld[4];
    for (int i = 0; i < 4; ++i) {
        hd[i] = (double)(hf - 1 + i);
        kd[i] = (double)(kf - 1 + i);
        ld[i] = (double)(lf - 1 + i);
    }
    double along_h[4];
    for (int i1 = 0; i1 < 4; ++i1) {
        double along_k[4];
        for (int i2 = 0; i2 < 4; ++i2) {
            const double *row = p->fhkl + (((size_t)(hf - 1 + i1 - p->h_min) * p->k_range + (size_t)(kf - 1 + i2 - p->k_min)) *
                                           p->l_range + (size_t)(lf - 1 - p->l_min));
            along_k[i2] = polint(ld, row, l);
        }
        along_h[i1] = polint(kd, along_k, k);
    }
    return polint(hd, along_h, h);
}

static inline double structure_factor(const nb_plan *p, nb_raster_state *st, double h, double k, double l)
{
    if (!p->hkls) return p->default_F; /* no table: interpolation is off and every F is default_F */
    double F_cell = 0.0;
    int h0 = nearest_index(h), k0 = nearest_index(k), l0 = nearest_index(l);
    if (st->interpolate) {
        /* the stencil must stay inside the table, else tricubic goes off for good */
        if ((h - p->h_min + 3) > p->h_range || (h - 2 < p->h_min) || (k - p->k_min + 3) > p->k_range ||
            (k - 2 < p->k_min) || (l - p->l_min + 3) > p->l_range || (l - 2 < p->l_min)) {
            if (!st->switched) {
                st->switched = 1;
                st->switch_hkl[0] = h;
                st->switch_hkl[1] = k;
                st->switch_hkl[2] = l;
                st->switch_hkl0[0] = h0;
                st->switch_hkl0[1] = k0;
                st->switch_hkl0[2] = l0;
            }
            st->interpolate = 0;
        } else {
            return tricubic(p, h, k, l);
        }
    }
    if (h0 <= p->h_max && h0 >= p->h_min && k0 <= p->k_max && k0 >= p->k_min && l0 <= p->l_max &&
        l0 >= p->l_min) {
        F_cell = p->fhkl[((size_t)(h0 - p->h_min) * p->k_range + (size_t)(k0 - p->k_min)) * p->l_range +
                         (size_t)(l0 - p->l_min)];
    } else {
        F_cell = p->default_F;
    }
    return F_cell;
}

/* ---- geometry ---- */

static inline int pixel_rendered(const nb_plan *p, int spixel, int fpixel)
{
    if (fpixel < p->roi_xmin || fpixel > p->roi_xmax || spixel < p->roi_ymin || spixel > p->roi_ymax) return 0;
    if (p->mask != NULL && p->mask[(size_t)spixel * p->fpixels + fpixel] == 0) return 0;
    return 1;
}

int nb_pixel_rendered(const nb_plan *p, int spixel, int fpixel)
{
    return pixel_rendered(p, spixel, fpixel);
}

/* sub-pixel centre (metres from the sample); curved detectors map the flat
 * position onto a sphere of radius `distance` */
static inline void subpixel_position(const nb_plan *p, int fpixel, int spixel, int subF, int subS, double Odet,
                                     double pos[3])
{
    double Fdet = p->subpixel_size * (fpixel * p->oversample + subF) + p->subpixel_size / 2.0;
    double Sdet = p->subpixel_size * (spixel * p->oversample + subS) + p->subpixel_size / 2.0;
    for (int i = 0; i < 3; ++i) pos[i] = Fdet * p->fdet[i] + Sdet * p->sdet[i] + Odet * p->odet[i] + p->pix0[i];
    if (p->curved) {
        double start[3], swung[3];
        for (int i = 0; i < 3; ++i) start[i] = p->distance * p->beam[i];
        nb_rotate_axis(start, swung, p->sdet, pos[1] / p->distance);
        nb_rotate_axis(swung, pos, p->fdet, pos[2] / p->distance);
    }
}

static inline double solid_angle(const nb_plan *p, double airpath)
{
    if (p->point_pixel) return 1.0 / airpath / airpath;
    return p->pixel_size * p->pixel_size / airpath / airpath * p->close_distance / airpath;
}

void nb_pixel_omega_sum(const nb_plan *p, int spixel, int fpixel, double *sum)
{
    if (!pixel_rendered(p, spixel, fpixel)) return;
    double omega = 0.0;
    for (int t = 0; t < p->thicksteps; ++t) {
        double Odet = t * p->thickstep;
        for (int subS = 0; subS < p->oversample; ++subS) {
            for (int subF = 0; subF < p->oversample; ++subF) {
                if (omega == 0.0 || p->oversample_omega) {
                    double pos[3];
                    subpixel_position(p, fpixel, spixel, subF, subS, Odet, pos);
                    omega = solid_angle(p, nb_norm(pos));
                }
                *sum += omega;
            }
        }
    }
}

/* Kahn polarization factor.  Like the legacy it normalises incident and
 * diffracted in place (the caller keeps using the normalised diffracted
 * vector) and uses the E-vector as re-normalised by this evaluation. */
static inline double polarization(const nb_plan *p, nb_raster_state *st, double incident[3], double diffracted[3])
{
    if (st->polar_evaluations < p->polar_axis_count) ++st->polar_evaluations;
    const double *axis = p->polar_axis[st->polar_evaluations - 1];
    nb_unitize(incident, incident);
    nb_unitize(diffracted, diffracted);
    double cos2theta = nb_dot(incident, diffracted);
    double cos2theta_sqr = cos2theta * cos2theta;
    double sin2theta_sqr = 1 - cos2theta_sqr;
    double psi = 0;
    if (p->kahn != 0.0) {
        double B_in[3], E_in[3];
        nb_cross(axis, incident, B_in);
        nb_unitize(B_in, B_in);
        nb_cross(incident, B_in, E_in);
        nb_unitize(E_in, E_in);
        double E_out = nb_dot(diffracted, E_in);
        double B_out = nb_dot(diffracted, B_in);
        psi = -atan2(B_out, E_out);
    }
    return 0.5 * (1.0 + cos2theta_sqr - p->kahn * cos(2 * psi) * sin2theta_sqr);
}

/* ---- the pixel ---- */

static inline __attribute__((always_inline)) float render_pixel(const nb_plan *p, int spixel, int fpixel,
                                                                nb_raster_state *st, const nb_pixel_trace *tr)
{
    const int S = p->oversample * p->oversample, R = p->sources, H = p->phisteps, M = p->domains;
    const int oversample_thick = p->oversample_thick, oversample_polar = p->oversample_polar,
              oversample_omega = p->oversample_omega;
    st->switched = 0;

    double I = p->I_bg;
    double polar = p->nopolar ? 1.0 : 0.0;
    double omega = 0.0;
    double capture = 0.0;

    for (int t = 0; t < p->thicksteps; ++t) {
        double Odet = t * p->thickstep;
        capture = 0.0;
        if (p->thick == 0.0) capture = 1.0;

        for (int subS = 0; subS < p->oversample; ++subS) {
            for (int subF = 0; subF < p->oversample; ++subF) {
                const long ts = (long)t * S + subS * p->oversample + subF;
                double pos[3], d[3];
                subpixel_position(p, fpixel, spixel, subF, subS, Odet, pos);
                double airpath = nb_unitize(pos, d);

                if (omega == 0.0 || oversample_omega) omega = solid_angle(p, airpath);
                if (capture == 0.0 || oversample_thick) {
                    double parallax = nb_dot(d, p->odet);
                    capture = exp(-t * p->thickstep * p->mu / parallax) - exp(-(t + 1) * p->thickstep * p->mu / parallax);
                }
                if (tr) {
                    memcpy(tr->pixel_pos_m + 3 * ts, pos, sizeof(pos));
                    tr->omega[ts] = omega;
                    tr->capture_fraction[ts] = capture;
                }

                for (int r = 0; r < R; ++r) {
                    const long tsr = ts * R + r;
                    double incident[3];
                    for (int i = 0; i < 3; ++i) incident[i] = -p->source_dir[3 * r + i];
                    double lambda = p->source_lambda[r];
                    double q[3];
                    for (int i = 0; i < 3; ++i) q[i] = (d[i] - incident[i]) / lambda;
                    double stol = 0.5 * nb_norm(q);
                    if (tr) memcpy(tr->scattering_per_m + 3 * tsr, q, sizeof(q));
                    /* resolution cut */
                    if (p->dmin > 0.0 && stol > 0.0 && p->dmin > 0.5 / stol) continue;

                    if (polar == 0.0 || oversample_polar) polar = polarization(p, st, incident, d);
                    if (tr) tr->polar[tsr] = polar;

                    const double *cells = st->first_loop_pending ? p->cells_first : p->cells;
                    st->first_loop_pending = 0;
                    for (int k = 0; k < H; ++k) {
                        for (int m = 0; m < M; ++m) {
                            const double *cell = cells + ((size_t)k * M + m) * 9;
                            double hh = nb_dot(cell + 0, q);
                            double kk = nb_dot(cell + 3, q);
                            double ll = nb_dot(cell + 6, q);
                            double F_latt = lattice_factor(p, hh, kk, ll);
                            long step = 0;
                            if (tr) {
                                step = (tsr * H + k) * M + m;
                                memcpy(tr->a_m + 3 * step, cell + 0, 3 * sizeof(double));
                                memcpy(tr->b_m + 3 * step, cell + 3, 3 * sizeof(double));
                                memcpy(tr->c_m + 3 * step, cell + 6, 3 * sizeof(double));
                                tr->h[step] = hh;
                                tr->k[step] = kk;
                                tr->l[step] = ll;
                                tr->F_latt[step] = F_latt;
                            }
                            if (F_latt == 0.0 && p->water_size == 0.0) continue;

                            double F_cell = structure_factor(p, st, hh, kk, ll);
                            if (tr) tr->F_cell[step] = F_cell;
                            I += F_cell * F_cell * F_latt * F_latt;
                            /* legacy: these multiply the running sum, not the new term */
                            if (oversample_thick) I *= capture;
                            if (oversample_polar) I *= polar;
                            if (oversample_omega) I *= omega;
                        }
                    }
                }
            }
        }
    }

    double value = p->r_e_sqr * p->fluence * I / p->steps;
    if (!oversample_thick) value *= capture;
    if (!oversample_polar) value *= polar;
    if (!oversample_omega) value *= omega;
    return (float)value;
}

void nb_subpixel_position(const nb_plan *p, int fpixel, int spixel, int subF, int subS, double Odet, double pos[3])
{
    subpixel_position(p, fpixel, spixel, subF, subS, Odet, pos);
}

double nb_solid_angle(const nb_plan *p, double airpath) { return solid_angle(p, airpath); }

double nb_polarization(const nb_plan *p, nb_raster_state *st, double incident[3], double diffracted[3])
{
    return polarization(p, st, incident, diffracted);
}

double nb_polint4(const double xa[4], const double ya[4], double x) { return polint(xa, ya, x); }

float nb_render_pixel(const nb_plan *p, int spixel, int fpixel, nb_raster_state *st, const nb_pixel_trace *tr)
{
    if (!pixel_rendered(p, spixel, fpixel)) {
        st->switched = 0;
        return 0.0f;
    }
    if (tr == NULL) return render_pixel(p, spixel, fpixel, st, NULL);
    return render_pixel(p, spixel, fpixel, st, tr);
}
