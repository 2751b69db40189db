/* The legacy random streams of the public API: Poisson noise image, orientation
 * (misset and mosaic) draws and raw uniform streams. */
#include <math.h>
#include <string.h>

#include "nb_plan.h"

/* 1 when every ROI pixel of the image and the offset are finite (the Poisson draw needs a finite mean). */
static int finite_inputs(const int roi[4], int fpixels, int spixels, const float *float_image, double adc_offset)
{
    if (!isfinite(adc_offset)) return 0;
    for (int s = roi[2] < 0 ? 0 : roi[2]; s < spixels && s <= roi[3]; ++s)
        for (int f = roi[0] < 0 ? 0 : roi[0]; f < fpixels && f <= roi[1]; ++f)
            if (!isfinite(float_image[(size_t)s * fpixels + f])) return 0;
    return 1;
}

/* The legacy noise loop: ROI pixels in raster order, one Poisson deviate each. */
static void noise_loop(nb_shuffle table, const int roi[4], int fpixels, int spixels, const float *float_image,
                       double adc_offset, long noise_seed, uint16_t *noise_image, long *overloads, double *photons)
{
    nb_deviate_cache cache;
    nb_deviate_cache_init(&cache);
    long idum = -noise_seed;
    double sum = 0.0;
    long over = 0;
    for (int s = 0; s < spixels; ++s) {
        for (int f = 0; f < fpixels; ++f) {
            size_t idx = (size_t)s * fpixels + f;
            if (f < roi[0] || f > roi[1] || s < roi[2] || s > roi[3]) {
                noise_image[idx] = 0;
                continue;
            }
            /* masked pixels are not skipped: they draw a deviate of mean 0 */
            double value = nb_poidev(float_image[idx], &table, &cache, &idum);
            sum += value;
            value += adc_offset;
            if (value > 65535.0) {
                value = 65535.0;
                ++over;
            }
            /* truncation through a wide integer, as x86 converts double -> unsigned short; a value
             * below the range of long (x86 gives LONG_MIN, whose low bits are 0) is 0, without the
             * undefined conversion */
            noise_image[idx] = value >= -9.2e18 ? (uint16_t)(long)value : 0;
        }
    }
    if (overloads) *overloads = over;
    if (photons) *photons = sum;
}

int nb_plan_noise_image(const nb_plan *plan, const float *float_image, size_t float_image_len, double adc_offset,
                        long noise_seed, uint16_t *noise_image, long *overloads, double *photons)
{
    if (plan == NULL || float_image == NULL || noise_image == NULL) return NB_ERR_INVALID_ARGUMENT;
    const nb_plan *p = plan;
    if (float_image_len < (size_t)p->fpixels * (size_t)p->spixels) return NB_ERR_BUFFER_TOO_SMALL;
    /* the noise stream continues the shuffle table left by the mosaic draws */
    int roi[4] = {p->roi_xmin, p->roi_xmax, p->roi_ymin, p->roi_ymax};
    if (!finite_inputs(roi, p->fpixels, p->spixels, float_image, adc_offset)) return NB_ERR_INVALID_ARGUMENT;
    noise_loop(p->shuffle_after_mosaic, roi, p->fpixels, p->spixels, float_image, adc_offset, noise_seed, noise_image,
               overloads, photons);
    return NB_OK;
}

int nb_noise_image(const nb_config *config, int fpixels, int spixels, const float *float_image, double adc_offset,
                   long noise_seed, uint16_t *noise_image, long *overloads, double *photons)
{
    if (config == NULL || float_image == NULL || noise_image == NULL || fpixels < 1 || spixels < 1)
        return NB_ERR_INVALID_ARGUMENT;
    /* only the ROI and the draws made before the noise matter; a background-only
     * run (amorphous sample, no crystal) makes none, as the legacy nonBragg */
    nb_shuffle table;
    nb_shuffle_init(&table);
    if (config->has_cell || config->has_mosflm_matrix || config->amorphous_points <= 0) {
        double spread;
        int domains = nb_mosaic_domains(config, &spread, 0);
        double misset_draw[3];
        nb_orientation_draws(config, domains, &table, misset_draw, NULL);
    }
    int roi[4];
    nb_roi(config, fpixels, spixels, roi);
    if (!finite_inputs(roi, fpixels, spixels, float_image, adc_offset)) return NB_ERR_INVALID_ARGUMENT;
    noise_loop(table, roi, fpixels, spixels, float_image, adc_offset, noise_seed, noise_image, overloads, photons);
    return NB_OK;
}

int nb_plan_mosaic_draws(const nb_plan *plan, double *draws, size_t draws_len)
{
    if (plan == NULL || draws == NULL || !plan->bragg) return NB_ERR_INVALID_ARGUMENT;
    size_t n = (size_t)plan->domains * 3;
    if (draws_len < n) return NB_ERR_BUFFER_TOO_SMALL;
    memcpy(draws, plan->mosaic_draws, n * sizeof(double));
    return NB_OK;
}

int nb_legacy_draws(const nb_config *config, double *misset_rad, double *mosaic_draws, size_t mosaic_draws_len,
                    int *mosaic_domains)
{
    if (config == NULL || (mosaic_draws == NULL && mosaic_draws_len > 0)) return NB_ERR_INVALID_ARGUMENT;
    if (mosaic_draws_len / 3 > 2147483647u) return NB_ERR_INVALID_ARGUMENT;
    double spread;
    if (mosaic_domains != NULL) *mosaic_domains = nb_mosaic_domains(config, &spread, 0);
    nb_shuffle table;
    double misset_draw[3];
    nb_orientation_draws(config, (int)(mosaic_draws_len / 3), &table, misset_draw, mosaic_draws);
    if (misset_rad != NULL) {
        misset_rad[0] = misset_rad[1] = misset_rad[2] = 0.0;
        if (config->misset_mode == NB_MISSET_RANDOM) nb_random_misset(misset_draw, misset_rad);
    }
    return NB_OK;
}

int nb_ran1_stream(long seed, float *out, size_t n)
{
    if (out == NULL && n > 0) return NB_ERR_INVALID_ARGUMENT;
    nb_shuffle table;
    nb_shuffle_init(&table);
    long idum = -seed;
    for (size_t i = 0; i < n; ++i) out[i] = nb_ran1(&table, &idum);
    return NB_OK;
}
