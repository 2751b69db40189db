/* Poisson noise image, mosaic draws and raw uniform streams. */
#include <string.h>

#include "nb_plan.h"

int nb_plan_noise_image(const nb_plan *plan, const float *float_image, size_t float_image_len, double adc_offset,
                        long noise_seed, uint16_t *noise_image, long *overloads, double *photons)
{
    if (plan == NULL || float_image == NULL || noise_image == NULL) return NB_ERR_INVALID_ARGUMENT;
    const nb_plan *p = plan;
    size_t npix = (size_t)p->fpixels * (size_t)p->spixels;
    if (float_image_len < npix) return NB_ERR_BUFFER_TOO_SMALL;

    /* the noise stream continues the shuffle table left by the mosaic draws */
    nb_shuffle table = p->shuffle_after_mosaic;
    nb_deviate_cache cache;
    nb_deviate_cache_init(&cache);
    long idum = -noise_seed;
    double sum = 0.0;
    long over = 0;
    for (int s = 0; s < p->spixels; ++s) {
        for (int f = 0; f < p->fpixels; ++f) {
            size_t idx = (size_t)s * p->fpixels + f;
            if (f < p->roi_xmin || f > p->roi_xmax || s < p->roi_ymin || s > p->roi_ymax) {
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
            /* truncation through a wide integer, as x86 converts double -> unsigned short */
            noise_image[idx] = (uint16_t)(long)value;
        }
    }
    if (overloads) *overloads = over;
    if (photons) *photons = sum;
    return NB_OK;
}

int nb_plan_mosaic_draws(const nb_plan *plan, double *draws, size_t draws_len)
{
    if (plan == NULL || draws == NULL) return NB_ERR_INVALID_ARGUMENT;
    size_t n = (size_t)plan->domains * 3;
    if (draws_len < n) return NB_ERR_BUFFER_TOO_SMALL;
    memcpy(draws, plan->mosaic_draws, n * sizeof(double));
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
