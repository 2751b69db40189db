/*
 * nanobrag.h -- public interface of the nanobrag C engine.
 *
 * A reentrant library that reproduces the legacy nanoBragg program's physics.
 * All state is explicit: a caller fills an nb_config (user-level inputs, the
 * same quantities as the Python nanobrag.Config), nb_plan_create() derives
 * geometry, cell, sources and mosaic domains into an opaque plan, and
 * nb_plan_run() renders the float image into a caller-owned buffer.
 * The library never prints, never exits and keeps no global or static mutable
 * state, so independent plans may run on several threads at once.
 *
 * Units of nb_config follow the legacy command line (mm, um, Angstrom,
 * degrees, mrad, percent) and are named in each field.  "Unset" optional
 * values are NaN for doubles and -1 for counts, as documented per field.
 *
 * The declarations between the CFFI markers are read by the Python binding;
 * keep them free of preprocessor directives.
 */
#ifndef NANOBRAG_H
#define NANOBRAG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(NB_BUILDING_LIBRARY) && defined(__GNUC__)
#define NB_API __attribute__((visibility("default")))
#else
#define NB_API
#endif

/* CFFI_BEGIN */

typedef enum {
    NB_OK = 0,
    NB_ERR_INVALID_ARGUMENT = 1,   /* a config value is out of its domain */
    NB_ERR_NO_MEMORY = 2,          /* an allocation failed */
    NB_ERR_BUFFER_TOO_SMALL = 3,   /* a caller buffer is smaller than required */
    NB_ERR_CANCELLED = 4,          /* the progress callback asked to stop */
    NB_ERR_INTERNAL = 5
} nb_status;

typedef enum {
    NB_CONVENTION_CUSTOM = 0,
    NB_CONVENTION_ADXV = 1,
    NB_CONVENTION_MOSFLM = 2,
    NB_CONVENTION_XDS = 3,
    NB_CONVENTION_DIALS = 4,
    NB_CONVENTION_DENZO = 5
} nb_convention;

typedef enum { NB_PIVOT_SAMPLE = 0, NB_PIVOT_BEAM = 1 } nb_pivot;

typedef enum {
    NB_SHAPE_SQUARE = 0,   /* parallelepiped: sincg lattice transform */
    NB_SHAPE_ROUND = 1,    /* ellipsoid: sinc3 */
    NB_SHAPE_GAUSS = 2,
    NB_SHAPE_TOPHAT = 3
} nb_xtal_shape;

typedef enum {
    NB_PHI_MODE_SPEC = 0,      /* every phi step rotates the cell afresh */
    NB_PHI_MODE_C_PARITY = 1   /* legacy: a phi of exactly 0 reuses the last rotation */
} nb_phi_mode;

typedef enum {
    NB_MISSET_NONE = 0,
    NB_MISSET_ANGLES = 1,
    NB_MISSET_RANDOM = 2
} nb_misset_mode;

typedef enum { NB_LOG_INFO = 0, NB_LOG_WARNING = 1 } nb_log_level;

/* Optional callbacks.  log receives the warnings the legacy program prints.
 * progress is called from one thread only with the number of pixels done;
 * a nonzero return cancels the run (NB_ERR_CANCELLED). */
typedef void (*nb_log_fn)(void *user, int level, const char *message);
typedef int (*nb_progress_fn)(void *user, long pixels_done, long pixels_total);

typedef struct {
    /* ---- crystal ---- */
    int has_cell;
    double cell[6];                 /* a, b, c (Angstrom), alpha, beta, gamma (degrees); <=0 -> legacy defaults */
    int has_mosflm_matrix;
    double mosflm_matrix[9];        /* row-major as in the file: rows x,y,z; columns a*,b*,c* (1/A * lambda) */
    int misset_mode;                /* nb_misset_mode */
    double misset_deg[3];           /* rotations about lab x, y, z (degrees), applied to the reciprocal cell */
    long misset_seed;               /* user value of -misset_seed (the legacy generator is seeded with its negative) */
    double n_cells[3];              /* Na, Nb, Nc (unit cells; real numbers allowed) */
    double crystal_size_mm[3];      /* extent along a, b, c (mm); >0 overrides n_cells */
    int xtal_shape;                 /* nb_xtal_shape */
    double fudge;                   /* spot-width factor for round/gauss/tophat */
    double mosaic_spread_deg;       /* NaN = unset */
    int mosaic_domains;             /* -1 = unset */
    long mosaic_seed;               /* user value of -mosaic_seed (legacy default 12345678) */

    /* ---- structure factors ---- */
    const double *fhkl;             /* dense F grid [h][k][l], C order, NULL = no table */
    int hkl_min[3];                 /* smallest h, k, l of the grid */
    int hkl_count[3];               /* grid extent along h, k, l (max - min + 1) */
    double default_F;               /* F of reflections outside or missing from the table */
    int interpolate;                /* -1 auto (on if any N <= 2), 0 off, 1 tricubic */

    /* ---- beam and sources ---- */
    double wavelength_A;            /* central wavelength */
    double dispersion_percent;      /* full width dlambda/lambda (legacy default 0) */
    int dispersion_steps;           /* -1 = unset */
    double hdiv_range_mrad, hdiv_step_mrad;   /* NaN = unset */
    int hdiv_steps;                           /* -1 = unset */
    double vdiv_range_mrad, vdiv_step_mrad;
    int vdiv_steps;
    int round_div;                  /* trim the divergence grid to an ellipse */
    const double *source_table;     /* n x 5: X Y Z (m), weight, lambda (m); NaN = column missing; NULL = none */
    int source_count;
    double fluence_photons_per_m2;
    double flux_photons_per_s;      /* 0 = unset; with exposure > 0 it replaces the fluence */
    double exposure_s;
    double beamsize_mm;
    double kahn_factor;             /* Kahn polarization factor (legacy default 0) */
    int nopolar;                    /* polarization factor forced to 1 */
    int has_beam_vector; double beam_vector[3];
    int has_polar_vector; double polar_vector[3];

    /* ---- detector ---- */
    int convention;                 /* nb_convention (last convention or vector flag) */
    int pivot;                      /* nb_pivot chosen by the flags; named conventions override it */
    double distance_mm;             /* sample to beam spot (legacy default 100) */
    double close_distance_mm;       /* sample to detector plane along its normal; NaN = derived */
    double pixel_size_mm;
    double detsize_mm[2];           /* fast, slow edge lengths */
    int detpixels[2];               /* fast, slow pixel counts; 0 = from detsize */
    double beam_center_mm[2];       /* Xbeam, Ybeam in the convention's meaning; NaN = default */
    double close_center_mm[2];      /* Xclose, Yclose; NaN = default */
    double org_px[2];               /* ORGX, ORGY (pixels); NaN = unset */
    int has_fdet_vector; double fdet_vector[3];
    int has_sdet_vector; double sdet_vector[3];
    int has_odet_vector; double odet_vector[3];
    int has_twotheta_axis; double twotheta_axis[3];
    int has_spindle_axis; double spindle_axis[3];
    double detector_rot_deg[3];     /* rotations about lab x, y, z (degrees), applied x then y then z */
    double twotheta_deg;
    int curved_detector;
    int point_pixel;                /* solid angle 1/R^2 without obliquity */
    double detector_thick_um;
    double detector_abs_um;         /* attenuation depth; NaN = unset (mu = 1/thickness); inf or 0 = mu 0 (nothing absorbed) */
    int detector_thicksteps;        /* -1 = unset */
    const uint16_t *mask;           /* slow x fast, 0 = skip pixel; NULL = none */
    int mask_pixels[2];             /* fast, slow extent of the mask buffer (must match the detector) */
    int roi[4];                     /* xmin, xmax, ymin, ymax inclusive pixel indices; -1 = unset */

    /* ---- sampling ---- */
    double phi_start_deg;
    double osc_deg;                 /* NaN = unset */
    double phi_step_deg;            /* NaN = unset */
    int phi_steps;                  /* -1 = unset */
    int oversample;                 /* sub-pixels per axis; -1 = auto */
    int oversample_thick, oversample_polar, oversample_omega;
    double dmin_A;                  /* skip paths with resolution finer than this; 0 = off */
    int phi_mode;                   /* nb_phi_mode */

    /* ---- background ---- */
    double water_um;                /* edge of the water cube giving a flat background */

    /* ---- amorphous sample: the nonBragg diffuse background (nb_amorphous.c) ----
     * amorphous_points > 0 renders it and adds it to the image; with neither a
     * cell nor a matrix the plan renders the amorphous sample alone. */
    const double *amorphous_stol_per_m;   /* strictly ascending sin(theta)/lambda (1/m) */
    const double *amorphous_F;            /* F per molecule (electrons); NaN = missing (0, skipped at the ends) */
    int amorphous_points;                 /* table length; 0 = no amorphous sample */
    double amorphous_size_mm[3];          /* thickness (along the beam), width, height (mm); the last two clipped to the beam */
    double amorphous_density_g_cm3;
    double amorphous_molecular_weight;    /* g/mol */
    double amorphous_molecules;           /* != 0 overrides the density; 0 = from the density */
    int amorphous_fmap;                   /* 1: a pixel is the F of its last path instead of photons (legacy -Fmap) */

    /* ---- noise ---- */
    long noise_seed;                /* user value of -seed (the generator gets its negative) */

    /* ---- callbacks (optional) ---- */
    nb_log_fn log;
    nb_progress_fn progress;
    void *callback_user;
} nb_config;

/* Everything a plan derived from its config, in legacy internal units (SI). */
typedef struct {
    int fpixels, spixels;
    double pixel_size_m;
    double detsize_f_m, detsize_s_m;
    int convention, pivot;
    double distance_m, close_distance_m;
    double xbeam_m, ybeam_m;        /* header BEAM_CENTER_X/Y (as given or defaulted) */
    double fbeam_m, sbeam_m;        /* direct-beam position along fast/slow after rotations */
    double fclose_m, sclose_m;
    double xclose_m, yclose_m;
    double orgx_px, orgy_px;
    double dials_origin_mm[3];
    double pix0_vector_m[3];
    double fdet_vector[3], sdet_vector[3], odet_vector[3];
    double beam_vector[3], polar_vector[3], spindle_axis[3], twotheta_axis[3];
    double twotheta_rad;
    double wavelength_m;
    double phi0_rad, phistep_rad, osc_rad;
    int phisteps;
    int sources;
    int mosaic_domains;
    double mosaic_spread_rad;
    int oversample;
    int recommended_oversample;
    int detector_thicksteps;
    double detector_thick_m, detector_thickstep_m, detector_mu_per_m;
    long steps;                     /* sources * domains * phisteps * oversample^2 */
    double n_cells[3];              /* Na, Nb, Nc after crystal-size conversion and clamping */
    double a_m[3], b_m[3], c_m[3];  /* real-space cell at phi = 0, no mosaic (metres) */
    double a_star_per_A[3], b_star_per_A[3], c_star_per_A[3];
    double cell_volume_A3;
    double misset_rad[3];           /* misset actually applied about x, y, z (random misset resolved) */
    double fluence_photons_per_m2;
    double flux_photons_per_s;
    double water_background;        /* I_bg, the accumulator start value */
    int interpolate;                /* decision before any switch-off */
    int roi[4];
    int divergence_steps;           /* accepted divergence directions */
    int bragg;                      /* the crystal is rendered (a cell or matrix was given) */
    double amorphous_size_m[3];     /* amorphous sample after clipping to the beam (m) */
    double amorphous_density_g_m3;  /* as used (recomputed when molecules are given) */
    double amorphous_molecules;     /* molecules in the beam; 0 = no amorphous sample */
    long amorphous_steps;           /* sources * oversample^2, the background's normalisation */
} nb_derived;

/* Engine-level facts of a run (image statistics are computed from the image). */
typedef struct {
    double omega_sum;                     /* solid angle in effect summed over every (layer, sub-pixel) of every
                                             rendered pixel in raster order; the legacy prints omega_sum/steps */
    long interpolation_switchoff_pixel;   /* raster index where tricubic F switched off; -1 none */
} nb_run_stats;

/* Per-pixel intermediate values for nb_plan_trace().  The caller allocates every
 * buffer; dims are (P pixels, T layers, S = oversample^2 sub-pixels (slow-major),
 * R sources, H phi steps, M mosaic domains).  A NULL buffer is skipped.
 * Values that the loop did not evaluate are NaN: for a dmin-culled path its
 * polar factor, cell vectors, indices and factors (its scattering vector is
 * still filled); F_cell after a zero F_latt; everything of a pixel outside the
 * ROI or masked (whose value is 0).  The values are those of the full run,
 * including the raster-order states (first phi loop, interpolation switch-off). */
typedef struct {
    double *pixel_pos_m;        /* P*T*S*3 sub-pixel position */
    double *omega;              /* P*T*S   solid angle in effect */
    double *capture_fraction;   /* P*T*S */
    double *polar;              /* P*T*S*R polarization factor in effect */
    double *scattering_per_m;   /* P*T*S*R*3 */
    double *a_m;                /* P*T*S*R*H*M*3 rotated real-space a (metres) */
    double *b_m;
    double *c_m;
    double *h, *k, *l;          /* P*T*S*R*H*M fractional Miller indices */
    double *F_latt;             /* P*T*S*R*H*M */
    double *F_cell;             /* P*T*S*R*H*M */
    double *pixel_value;        /* P final float-image value (photons) */
} nb_trace_buffers;

typedef struct nb_plan nb_plan;

NB_API const char *nb_version(void);
NB_API void nb_config_init(nb_config *config);
NB_API const char *nb_status_message(int status);

/* Derive a plan.  On failure *plan is NULL and message (if not NULL) receives
 * a description of the problem (at most message_len bytes, NUL-terminated). */
NB_API int nb_plan_create(const nb_config *config, nb_plan **plan, char *message, size_t message_len);
NB_API void nb_plan_free(nb_plan *plan);
NB_API int nb_plan_derived(const nb_plan *plan, nb_derived *derived);

/* Render the float image (spixels*fpixels floats, zeroed by the call) with
 * nthreads threads (<=0: all available).  Results do not depend on nthreads.
 * The progress callback is called from the calling thread only, with raster
 * pixels done; cancellation takes effect between rows (NB_ERR_CANCELLED, the
 * image is then incomplete).  The interpolation switch-off warning goes to
 * the log callback. */
NB_API int nb_plan_run(const nb_plan *plan, float *float_image, size_t float_image_len,
                       int nthreads, nb_run_stats *stats);

/* Intermediate values for the pixels (slow, fast) given as pairs in pixels[2*i];
 * NB_ERR_INVALID_ARGUMENT for a pixel outside the detector. */
NB_API int nb_plan_trace(const nb_plan *plan, const int *pixels, size_t pixel_count,
                         nb_trace_buffers *buffers);

/* Legacy Poisson noise image of a rendered float image: value = poidev(float)
 * + adc, clipped at 65535 (counted in *overloads), pixels outside the plan's
 * ROI left 0.  The generator is seeded with -noise_seed, continuing the
 * plan's shuffle table as the legacy program does (this matters only for
 * seeds given as negative numbers).  NB_ERR_INVALID_ARGUMENT when a ROI pixel
 * of the float image or adc_offset is not finite (a Poisson mean must be). */
NB_API int nb_plan_noise_image(const nb_plan *plan, const float *float_image, size_t float_image_len,
                               double adc_offset, long noise_seed, uint16_t *noise_image,
                               long *overloads, double *photons);

/* The same noise image from a config alone, for a float image of fpixels x
 * spixels: only the config's ROI and the random draws made before the noise
 * (random misset, mosaic domains) are used, so no cell or structure factors
 * are needed.  A background-only config (an amorphous sample without a cell or
 * matrix) makes no draws before the noise, as the legacy nonBragg. */
NB_API int nb_noise_image(const nb_config *config, int fpixels, int spixels, const float *float_image,
                          double adc_offset, long noise_seed, uint16_t *noise_image, long *overloads, double *photons);

/* The uniform deviates behind the plan's mosaic domains: for domain i,
 * draws[3i] = 2*ran1-1 (r1), draws[3i+1] = 2*ran1-1 (r2) and
 * draws[3i+2] = powf(1 - r3*r3, 1/3) (single precision, as the legacy), so a
 * differentiable engine can rebuild the rotations from the spread. */
NB_API int nb_plan_mosaic_draws(const nb_plan *plan, double *draws, size_t draws_len);

/* The legacy random orientation draws of a config, without building a plan
 * (the streams and their shared shuffle table as nb_plan_create draws them):
 * misset_rad (if not NULL) receives the random misset as rotations about x, y,
 * z (radians) when misset_mode is NB_MISSET_RANDOM, else 0, 0, 0;
 * mosaic_draws (if not NULL) receives the draws of the first
 * mosaic_draws_len / 3 domains as described at nb_plan_mosaic_draws (the
 * stream is sequential, so they are those of any plan with that many domains
 * or more); *mosaic_domains (if not NULL) receives the domain count the
 * legacy rules give (as nb_derived.mosaic_domains). */
NB_API int nb_legacy_draws(const nb_config *config, double *misset_rad, double *mosaic_draws, size_t mosaic_draws_len,
                           int *mosaic_domains);

/* The legacy uniform generator (ran1) from a fresh shuffle table: out[n]
 * receives the deviates of the stream seeded with -seed. */
NB_API int nb_ran1_stream(long seed, float *out, size_t n);

/* ---- detector response (the legacy noisify pipeline) ---- */

typedef enum { NB_PSF_NONE = 0, NB_PSF_GAUSS = 1, NB_PSF_FIBER = 2 } nb_psf_type;

typedef struct {
    double photon_scale;            /* input value -> photons per pixel (legacy: fluence * r_e^2 * scale) */
    int psf_type;                   /* nb_psf_type */
    double psf_fwhm_px;             /* PSF full width at half maximum (pixels); <= 0: no PSF */
    int psf_radius_px;              /* rendering radius (pixels); 0 = automatic per source pixel */
    int noise;                      /* 1: noise image (the PSF blurs it); 0: the PSF blurs the noiseless image */
    double flicker_noise;           /* fractional source fluctuation per pixel; 0 = off */
    double calibration_noise;       /* fractional gain error per pixel; 0 = off */
    double readout_noise_adu;       /* Gaussian read-out noise (ADU); 0 = off */
    double gain_adu_per_photon;
    double adc_offset_adu;
    long seed_state;                /* generator state of the noise stream as the legacy stores it: -seed N gives -N */
    long calib_seed_state;          /* same for the calibration stream (-calib_seed N gives -N; legacy default +123456789) */
    int bits;                       /* 16 or 32: integer width of the images and of the overload count */
} nb_response_config;

typedef struct {
    double max_input;               /* largest input value (0 if none is > 0) */
    double photons_before_psf;      /* noise image: Poisson photons before the PSF */
    double photons;                 /* noise image: photons after the PSF (before read-out noise) */
    long overloads;                 /* noise pixels clipped at the bit depth's maximum */
    int psf_radius_px;              /* global PSF radius used (0: no PSF applied) */
    double lost_photons;            /* photons beyond the rendering radii, added back evenly */
} nb_response_stats;

NB_API void nb_response_config_init(nb_response_config *config);

/* The point-spread function of the legacy noisify: every pixel > 0 spreads
 * over the pixel integrals of the PSF inside its rendering radius (radius_px,
 * or 0 = automatic from each pixel's value), the photons beyond the radius are
 * added back evenly, taps at fast == fpixels land in column 0 of the next row
 * (legacy bounds test).  out must not overlap in.  A Gaussian source fainter
 * than 0.01 photons with automatic radius gets radius 1 (the legacy crashes). */
NB_API int nb_apply_psf(int psf_type, double fwhm_px, int radius_px, int fpixels, int spixels, const float *in,
                        float *out, size_t image_len, double *lost_photons, int *radius_used);

/* The whole legacy noisify pipeline on a float image of fpixels x spixels.
 * Outputs (caller-owned, image_len >= pixels each, any may be NULL): photons
 * (the photon image that became the last integer image: after the PSF where
 * it applies), int_image (noiseless ADU; clipped at 65535 even for 32 bits),
 * noise_image (ADU with noise; ignored when config->noise is 0).  Integer
 * values are those of the legacy C casts: truncation, no lower clip, negative
 * values wrap within the bit depth (16-bit values for any bits but 32). */
NB_API int nb_detector_response(const nb_response_config *config, int fpixels, int spixels, const float *input,
                                size_t input_len, float *photons, uint32_t *int_image, uint32_t *noise_image,
                                size_t image_len, nb_response_stats *stats);

/* CFFI_END */

#ifdef __cplusplus
}
#endif
#endif /* NANOBRAG_H */
