/*
 * The derived, immutable plan of a simulation (internal).
 *
 * Everything is in the legacy program's internal units: metres, radians,
 * 1/metre scattering vectors, Angstrom-based reciprocal vectors.
 */
#ifndef NB_PLAN_H
#define NB_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "nanobrag.h"
#include "nb_random.h"

/* enough iterations for unit(unit(...(p))) to settle */
#define NB_MAX_POLAR_AXIS 8
#define NB_MESSAGE_LEN 512

struct nb_plan {
    nb_derived derived;             /* public summary (nb_plan_derived) */

    /* callbacks copied from the config */
    nb_log_fn log;
    nb_progress_fn progress;
    void *callback_user;

    /* detector */
    int fpixels, spixels;
    double pixel_size, subpixel_size;
    double fdet[3], sdet[3], odet[3], pix0[3], beam[3];
    double distance, close_distance;
    int curved, point_pixel;
    int oversample, oversample_thick, oversample_polar, oversample_omega;
    int thicksteps;
    double thick, thickstep, mu;
    uint16_t *mask;                 /* owned copy, slow x fast; NULL = none */
    int roi_xmin, roi_xmax, roi_ymin, roi_ymax;

    /* sources: unit direction towards the source and wavelength (m) */
    int sources;
    double *source_dir;             /* sources x 3 */
    double *source_lambda;
    double *source_weight;          /* the table's weight column (1 when missing or generated) */

    /* polarization */
    double kahn;
    int nopolar;
    /* the legacy re-normalised the E-vector in place at every evaluation:
     * evaluation n (1-based) uses polar_axis[min(n, count) - 1] */
    double polar_axis[NB_MAX_POLAR_AXIS][3];
    int polar_axis_count;

    /* crystal */
    int phisteps, domains;
    double phi0, phistep;
    double mosaic_spread;
    double *cells;                  /* [phi][domain][a,b,c][xyz] for every phi loop but the first */
    double *cells_first;            /* same for the first phi loop of the run (may equal cells) */
    int first_loop_differs;
    double a_star[3], b_star[3], c_star[3];   /* 1/Angstrom, unrotated */
    double Na, Nb, Nc;
    int shape;
    double fudge;

    /* structure factors */
    double *fhkl;                   /* owned copy [h][k][l]; NULL = none */
    int h_min, k_min, l_min, h_max, k_max, l_max, h_range, k_range, l_range;
    long hkls;
    double default_F;
    int interpolate;

    /* accumulation */
    double dmin;
    double water_size;
    double I_bg;
    double fluence, r_e_sqr;
    int steps;
    int phi_mode;

    /* amorphous sample (nb_amorphous.c) */
    int bragg;                      /* render the crystal */
    int amorphous_points;           /* padded table length; 0 = none */
    double *amorphous_stol;         /* owned, 1/m, two padding points at each end */
    double *amorphous_F;
    double amorphous_molecules;
    int amorphous_steps;            /* sources * oversample^2 */
    int amorphous_fmap;             /* the pixel is the F of its last path */

    /* random-number state */
    nb_shuffle shuffle_after_mosaic;
    double *mosaic_draws;           /* domains x 3 */
};

/* (int)x as x86-64 computes it (truncation; NaN and out-of-range give
 * INT_MIN), without the undefined behaviour of a plain C cast. */
static inline int nb_to_int(double x)
{
    if (x > -2147483649.0 && x < 2147483648.0) return (int)x;
    return (-2147483647 - 1);
}

/* State that the legacy carried from one pixel to the next in raster order. */
typedef struct {
    int interpolate;                /* tricubic interpolation still on */
    int first_loop_pending;         /* no phi loop has run yet in this run */
    long polar_evaluations;         /* polarization factors computed so far */
    int switched;                   /* this pixel switched interpolation off */
    double switch_hkl[3];           /* h,k,l of the switching step */
    int switch_hkl0[3];
} nb_raster_state;

/* Where the per-step values of one traced pixel go (NULL = plain render). */
typedef struct {
    double *pixel_pos_m, *omega, *capture_fraction, *polar, *scattering_per_m;
    double *a_m, *b_m, *c_m, *h, *k, *l, *F_latt, *F_cell;
} nb_pixel_trace;

/* plan creation steps (nb_detector.c, nb_crystal.c, nb_sources.c) */
typedef struct {
    const nb_config *config;
    nb_plan *plan;
    char *message;                  /* error text buffer */
    size_t message_len;
    /* intermediate legacy variables shared between steps */
    double detsize_f, detsize_s;
    double Xbeam, Ybeam, Fbeam, Sbeam, Xclose, Yclose, Fclose, Sclose, ORGX, ORGY;
    double polar_vector[3], spindle[3], twotheta_axis[3], vert[3];
    int pivot, convention;
    double sample_x, sample_y, sample_z;
    double lambda0;
    double hdivrange, hdivstep, vdivrange, vdivstep, dispersion, dispstep;
    int hdivsteps, vdivsteps, dispsteps;
    double osc;
    double a0[3], b0[3], c0[3];     /* metres, unrotated */
    double ratio;
    double twotheta;
    double rot[3];
} nb_build;

void nb_log(const nb_config *config, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int nb_fail(nb_build *b, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

int nb_build_detector_size(nb_build *b);
int nb_build_beam_and_flux(nb_build *b);
int nb_build_convention(nb_build *b);
int nb_build_sampling(nb_build *b);
int nb_build_detector_geometry(nb_build *b);
int nb_build_crystal(nb_build *b);
int nb_build_structure_factors(nb_build *b);
int nb_build_sources(nb_build *b);
int nb_build_mosaic(nb_build *b);
int nb_build_cell_tables(nb_build *b);
int nb_build_polar_axis(nb_build *b);
/* nb_amorphous.c: validation, the background-only sampling and the padded F(stol) table */
int nb_validate_amorphous(nb_build *b);
int nb_build_background_only(nb_build *b);
int nb_build_amorphous(nb_build *b);
/* add the amorphous background to the image (raster-order independent, any thread count) */
int nb_amorphous_add(const nb_plan *plan, float *image, int nthreads);

/* mosaic domain count and spread (rad) by the legacy rules (nb_sampling.c) */
int nb_mosaic_domains(const nb_config *config, double *spread_rad, int warn);
/* Every draw the legacy program makes before the noise image, in its order:
 * the random misset (if asked for), then r1, r2, cap per mosaic domain (nb_crystal.c). */
void nb_orientation_draws(const nb_config *config, int domains, nb_shuffle *table, double misset_draw[3],
                          double *mosaic_draws);
/* misset angles about x, y, z (rad) of the legacy random misset draw r1, r2, cap (nb_crystal.c) */
void nb_random_misset(const double misset_draw[3], double misset_rad[3]);
/* inclusive ROI with the legacy defaults: xmin, xmax, ymin, ymax (nb_detector.c) */
void nb_roi(const nb_config *config, int fpixels, int spixels, int roi[4]);

/* nb_kernel.c: one pixel in legacy order; returns the float-image value */
float nb_render_pixel(const nb_plan *plan, int spixel, int fpixel, nb_raster_state *state,
                      const nb_pixel_trace *trace);
/* sum of the solid angles the legacy adds up for one pixel (into *sum, in order) */
void nb_pixel_omega_sum(const nb_plan *plan, int spixel, int fpixel, double *sum);
int nb_pixel_rendered(const nb_plan *plan, int spixel, int fpixel);
/* helpers shared with nb_amorphous.c (nb_kernel.c) */
void nb_subpixel_position(const nb_plan *plan, int fpixel, int spixel, int subF, int subS, double Odet, double pos[3]);
double nb_solid_angle(const nb_plan *plan, double airpath);
double nb_polarization(const nb_plan *plan, nb_raster_state *state, double incident[3], double diffracted[3]);
double nb_polint4(const double xa[4], const double ya[4], double x);

#endif /* NB_PLAN_H */
