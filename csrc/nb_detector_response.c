/*
 * Detector response of the legacy noisify program: photon scale, flicker and
 * calibration error, Poisson counting, point-spread function, read-out noise,
 * gain, ADC offset and integer conversion, with the legacy arithmetic and the
 * legacy random stream (one shuffle table and one Gaussian spare shared by
 * the noise and calibration seeds).
 *
 * All state lives in the call: the library may run several responses at once.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nanobrag.h"
#include "nb_random.h"

/* fwhm -> "g" of the fibre-optic PSF: fwhm = g * 2 sqrt(2^(2/3) - 1) */
#define NB_FIBER_G_PER_FWHM 0.652383013252053
/* an automatic radius keeps the photons lost per source pixel below
 * sqrt(I) / NB_PSF_LOSS_FACTOR (a tenth of its counting error) */
#define NB_PSF_LOSS_FACTOR 10.0

void nb_response_config_init(nb_response_config *c)
{
    if (c == NULL) return;
    memset(c, 0, sizeof(*c));
    c->photon_scale = 1.0;
    c->psf_type = NB_PSF_NONE;
    c->psf_fwhm_px = 0.0;
    c->psf_radius_px = 0;
    c->noise = 1;
    c->gain_adu_per_photon = 1.0;
    c->adc_offset_adu = 40.0;
    c->seed_state = -1;
    c->calib_seed_state = 123456789;
    c->bits = 16;
}

/* ---- kernel values: the PSF integrated over one pixel ---------------- */

/* integral of the unit-volume Gaussian of fwhm 1 from the origin to (x, y) */
static double gauss_integral(double x, double y)
{
    return 0.125 * (erf(2 * x * sqrt(log(2))) * erf(y * sqrt(log(16))) * sqrt(log(16) / log(2)));
}

static double gauss_pixel(double x, double y, double fwhm)
{
    /* in units of the fwhm, pixel edge 1/fwhm */
    double px = x / fwhm, py = y / fwhm, half = 1.0 / fwhm / 2.;
    return gauss_integral(px + half, py + half) - gauss_integral(px + half, py - half) -
           gauss_integral(px - half, py + half) + gauss_integral(px - half, py - half);
}

static double fiber_integral(double x, double y, double g)
{
    return atan((x * y) / (g * sqrt(g * g + x * x + y * y))) / 2.0 / M_PI;
}

static double fiber_pixel(double x, double y, double g)
{
    double half = 1.0 / 2.;
    return fiber_integral(x + half, y + half, g) - fiber_integral(x + half, y - half, g) -
           fiber_integral(x - half, y + half, g) + fiber_integral(x - half, y - half, g);
}

/* radius (pixels) beyond which a source of I photons loses about sqrt(I)/10
 * of them; computed in double and capped before the integer conversion.
 * Deliberate difference: a Gaussian source fainter than 0.01 photons (the
 * legacy takes the square root of a negative number and crashes) gets the
 * smallest radius, 1. */
static int auto_radius(int psf_type, double intensity, double fwhm_px, double g, int maxwidth, int global)
{
    double lost = sqrt(intensity) / NB_PSF_LOSS_FACTOR;
    double r;
    if (psf_type == NB_PSF_GAUSS) {
        /* the same quantity; the legacy writes it two ways (the last bit can differ) */
        double arg = global ? -log(lost / intensity) / log(4) / 2 : -log(lost / intensity) / log(16);
        if (!(arg > 0)) arg = 0;
        r = 1 + ceil(sqrt(arg) * fwhm_px);
    } else {
        r = 1 + ceil(g * (intensity / lost));
    }
    if (!(r <= maxwidth)) r = maxwidth; /* also catches NaN */
    if (r < 1) r = 1;
    return (int)r;
}

int nb_apply_psf(int psf_type, double fwhm_px, int radius_px, int fpixels, int spixels, const float *in,
                 float *out, size_t image_len, double *lost_photons, int *radius_used)
{
    if (in == NULL || out == NULL || fpixels < 1 || spixels < 1) return NB_ERR_INVALID_ARGUMENT;
    if (psf_type != NB_PSF_GAUSS && psf_type != NB_PSF_FIBER) return NB_ERR_INVALID_ARGUMENT;
    if (!(fwhm_px > 0) || !isfinite(fwhm_px) || radius_px < 0) return NB_ERR_INVALID_ARGUMENT;
    size_t pixels = (size_t)fpixels * (size_t)spixels;
    if (image_len < pixels) return NB_ERR_BUFFER_TOO_SMALL;
    if (in == out) return NB_ERR_INVALID_ARGUMENT;

    double g = fwhm_px * NB_FIBER_G_PER_FWHM;
    int maxwidth = fpixels > spixels ? fpixels : spixels;
    memset(out, 0, pixels * sizeof(float));
    if (lost_photons) *lost_photons = 0.0;

    int radius = radius_px;
    if (radius <= 0) {
        double max_I = 0.0;
        for (size_t i = 0; i < pixels; ++i)
            if (max_I < in[i]) max_I = in[i];
        if (max_I <= 0.0) {
            /* nothing to blur: the legacy returns an empty image */
            if (radius_used) *radius_used = 0;
            return NB_OK;
        }
        radius = auto_radius(psf_type, max_I, fwhm_px, g, maxwidth, 1);
    }
    if (radius > maxwidth) radius = maxwidth;
    if (radius_used) *radius_used = radius;

    /* kernel cache up to the global radius, inside the circle, not renormalised */
    size_t ks = 2 * (size_t)radius + 1;
    if (ks > SIZE_MAX / ks / sizeof(double)) return NB_ERR_NO_MEMORY;
    double *kernel = calloc(ks * ks, sizeof(double));
    if (kernel == NULL) return NB_ERR_NO_MEMORY;
    for (int dy = -radius; dy <= radius; ++dy) {
        for (int dx = -radius; dx <= radius; ++dx) {
            double rsq = (double)dx * dx + (double)dy * dy;
            if (rsq > (double)radius * radius) continue;
            size_t k = ks * (size_t)(radius + dy) + (size_t)(radius + dx);
            kernel[k] = psf_type == NB_PSF_GAUSS ? gauss_pixel(dx, dy, fwhm_px) : fiber_pixel(dx, dy, g);
        }
    }

    int *halfwidth = malloc(((size_t)radius + 1) * sizeof(int));
    if (halfwidth == NULL) {
        free(kernel);
        return NB_ERR_NO_MEMORY;
    }
    int halfwidth_r = -1;
    double total_lost = 0.0;
    for (size_t i = 0; i < pixels; ++i) {
        if (in[i] <= 0.0) continue;
        int x0 = (int)(i % (size_t)fpixels);
        int y0 = (int)(i / (size_t)fpixels);
        double I = in[i];
        int r = radius_px != 0 ? radius_px : auto_radius(psf_type, I, fwhm_px, g, maxwidth, 0);
        if (r > maxwidth) r = maxwidth;
        if (r > radius) r = radius; /* never beyond the cached kernel (only reachable with NaN) */

        double lost;
        if (psf_type == NB_PSF_GAUSS) {
            double q = (double)r;
            q = q / fwhm_px;
            q = q * q;
            lost = I * exp(-log(16) * q);
        } else {
            lost = I * g / sqrt(g * g + (double)((long long)r * r));
        }
        total_lost += lost;

        /* Taps land at (x0+dx, y0+dy) when 0 <= x <= fpixels and 0 <= y <= spixels
         * and the raster index is inside the image: a tap at x == fpixels goes to
         * column 0 of the next row (legacy bounds test).  Two taps of one source
         * share a target only when 2r >= fpixels; then the legacy order (dx
         * outer) decides the float rounding, otherwise rows are walked in order
         * (same sums).  A zero kernel value adds nothing, so it needs no test. */
        if (2 * r >= fpixels) {
            for (int dx = -r; dx <= r; ++dx) {
                for (int dy = -r; dy <= r; ++dy) {
                    if ((long long)dx * dx + (long long)dy * dy > (long long)r * r) continue;
                    int x = x0 + dx, y = y0 + dy;
                    if (x < 0 || x > fpixels || y < 0 || y > spixels) continue;
                    long j = (long)y * fpixels + x;
                    if (j >= (long)pixels) continue;
                    out[j] = (float)(out[j] + I * kernel[ks * (size_t)(radius + dy) + (size_t)(radius + dx)]);
                }
            }
            continue;
        }
        int dy_lo = y0 - r < 0 ? -y0 : -r;
        int dy_hi = y0 + r > spixels - 1 ? spixels - 1 - y0 : r;
        for (int dy = dy_lo; dy <= dy_hi; ++dy) {
            if (r != halfwidth_r) {
                /* half widths of the circle of radius r, row by row */
                for (int v = 0; v <= r; ++v) {
                    int w = 0;
                    while ((long long)(w + 1) * (w + 1) + (long long)v * v <= (long long)r * r) ++w;
                    halfwidth[v] = w;
                }
                halfwidth_r = r;
            }
            int w = halfwidth[dy < 0 ? -dy : dy];
            int dx_lo = x0 - w < 0 ? -x0 : -w;
            int dx_hi = x0 + w > fpixels ? fpixels - x0 : w; /* x == fpixels: next row, column 0 */
            float *row = out + (long)(y0 + dy) * fpixels + x0;
            const double *krow = kernel + ks * (size_t)(radius + dy) + (size_t)radius;
            long first = (long)(y0 + dy) * fpixels + x0;
            for (int dx = dx_lo; dx <= dx_hi; ++dx) {
                if (first + dx >= (long)pixels) break; /* x == fpixels on the last row: lost */
                row[dx] = (float)(row[dx] + I * krow[dx]);
            }
        }
    }
    free(kernel);
    free(halfwidth);

    /* the analytic estimate of the photons beyond each radius, spread evenly */
    double per_pixel = total_lost / (double)pixels;
    for (size_t i = 0; i < pixels; ++i) out[i] = (float)(out[i] + per_pixel);
    if (lost_photons) *lost_photons = total_lost;
    return NB_OK;
}

/* C conversions of x86-64: double -> unsigned short through a 32-bit integer,
 * double -> unsigned int through a 64-bit integer (negative values wrap). */
static uint32_t to_u16(double adu)
{
    if (!(adu > -2147483649.0 && adu < 2147483648.0)) return 0; /* cvttsd2si gives INT_MIN: low bits 0 */
    return (uint32_t)(uint16_t)(int32_t)adu;
}

static uint32_t to_u32(double adu)
{
    if (!(adu > -9223372036854775808.0 && adu < 9223372036854775808.0)) return 0;
    return (uint32_t)(int64_t)adu;
}

int nb_detector_response(const nb_response_config *c, int fpixels, int spixels, const float *input,
                         size_t input_len, float *photons, uint32_t *int_image, uint32_t *noise_image,
                         size_t image_len, nb_response_stats *stats)
{
    if (c == NULL || input == NULL || fpixels < 1 || spixels < 1) return NB_ERR_INVALID_ARGUMENT;
    size_t pixels = (size_t)fpixels * (size_t)spixels;
    if (input_len < pixels) return NB_ERR_BUFFER_TOO_SMALL;
    if ((photons || int_image || noise_image) && image_len < pixels) return NB_ERR_BUFFER_TOO_SMALL;
    if (c->psf_type != NB_PSF_NONE && c->psf_type != NB_PSF_GAUSS && c->psf_type != NB_PSF_FIBER)
        return NB_ERR_INVALID_ARGUMENT;
    if (c->psf_radius_px < 0 || !isfinite(c->photon_scale) || !isfinite(c->gain_adu_per_photon) ||
        !isfinite(c->adc_offset_adu) || !isfinite(c->readout_noise_adu) || !isfinite(c->flicker_noise) ||
        !isfinite(c->calibration_noise) || isnan(c->psf_fwhm_px))
        return NB_ERR_INVALID_ARGUMENT;

    nb_response_stats st;
    memset(&st, 0, sizeof(st));
    int use_psf = c->psf_type != NB_PSF_NONE && c->psf_fwhm_px > 0.0;
    int bits = c->bits;

    float *work = malloc(pixels * sizeof(float));
    float *blurred = use_psf ? malloc(pixels * sizeof(float)) : NULL;
    if (work == NULL || (use_psf && blurred == NULL)) {
        free(work);
        free(blurred);
        return NB_ERR_NO_MEMORY;
    }

    /* photon scale */
    for (size_t i = 0; i < pixels; ++i) {
        double I = input[i];
        if (st.max_input < I) st.max_input = I;
        work[i] = (float)(c->photon_scale * I);
    }

    float *noiseless = work;
    if (!c->noise && use_psf) {
        int status = nb_apply_psf(c->psf_type, c->psf_fwhm_px, c->psf_radius_px, fpixels, spixels, work, blurred,
                                  pixels, &st.lost_photons, &st.psf_radius_px);
        if (status != NB_OK) {
            free(work);
            free(blurred);
            return status;
        }
        noiseless = blurred;
    }

    /* noiseless integers: clipped at 65535 before both conversions (the 32-bit image too) */
    if (int_image) {
        for (size_t i = 0; i < pixels; ++i) {
            double adu = noiseless[i] * c->gain_adu_per_photon + c->adc_offset_adu;
            if (adu > 65535.0) adu = 65535.0;
            int_image[i] = bits == 32 ? to_u32(adu) : to_u16(adu);
        }
    }

    if (!c->noise) {
        if (photons) memcpy(photons, noiseless, pixels * sizeof(float));
        free(work);
        free(blurred);
        if (stats) *stats = st;
        return NB_OK;
    }

    /* one shuffle table and one Gaussian spare for both seed variables */
    nb_shuffle table;
    nb_shuffle_init(&table);
    nb_deviate_cache cache;
    nb_deviate_cache_init(&cache);
    long seed = c->seed_state, calib_seed = c->calib_seed_state;

    double sum = 0.0;
    for (size_t i = 0; i < pixels; ++i) {
        double p = work[i];
        if (c->flicker_noise > 0.0) p *= (1.0 + c->flicker_noise * nb_gaussdev(&table, &cache, &seed));
        if (c->calibration_noise > 0.0)
            p *= (1.0 + c->calibration_noise * nb_gaussdev(&table, &cache, &calib_seed));
        work[i] = nb_poidev((float)p, &table, &cache, &seed);
        sum += work[i];
    }
    st.photons_before_psf = sum;

    float *signal = work;
    if (use_psf) {
        int status = nb_apply_psf(c->psf_type, c->psf_fwhm_px, c->psf_radius_px, fpixels, spixels, work, blurred,
                                  pixels, &st.lost_photons, &st.psf_radius_px);
        if (status != NB_OK) {
            free(work);
            free(blurred);
            return status;
        }
        signal = blurred;
    }

    sum = 0.0;
    long overloads = 0;
    for (size_t i = 0; i < pixels; ++i) {
        sum += signal[i];
        double adu = signal[i] * c->gain_adu_per_photon + c->adc_offset_adu;
        if (c->readout_noise_adu > 0.0) adu += c->readout_noise_adu * nb_gaussdev(&table, &cache, &seed);
        if (adu > 2147483647.0) {
            adu = 2147483647.0;
            if (bits == 32) ++overloads;
        }
        uint32_t wide = to_u32(adu);
        if (adu > 65535.0) {
            adu = 65535.0;
            if (bits == 16) ++overloads;
        }
        if (noise_image) noise_image[i] = bits == 32 ? wide : to_u16(adu);
    }
    st.photons = sum;
    st.overloads = overloads;
    if (photons) memcpy(photons, signal, pixels * sizeof(float));
    free(work);
    free(blurred);
    if (stats) *stats = st;
    return NB_OK;
}
