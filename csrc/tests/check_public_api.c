/*
 * A C program using libnanobrag through its public header only: create a
 * plan for a tiny detector, render it, check properties of the result and of
 * the error paths, free everything.  Exit status 0 = every check passed; each
 * failed check prints one line naming it.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nanobrag.h"

#define FPIX 6
#define SPIX 5
#define NPIX (FPIX * SPIX)

static int failures = 0;

#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            ++failures;                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                  \
            fputc('\n', stderr);                           \
        }                                                  \
    } while (0)

/* a small cubic crystal on a 6 x 5 pixel detector with a constant F */
static void tiny_config(nb_config *c)
{
    nb_config_init(c);
    c->has_cell = 1;
    c->cell[0] = c->cell[1] = c->cell[2] = 100.0;
    c->cell[3] = c->cell[4] = c->cell[5] = 90.0;
    c->n_cells[0] = c->n_cells[1] = c->n_cells[2] = 5.0;
    c->default_F = 100.0;
    c->wavelength_A = 1.0;
    c->distance_mm = 50.0;
    c->pixel_size_mm = 0.5;
    c->detpixels[0] = FPIX;
    c->detpixels[1] = SPIX;
    c->oversample = 1;
}

typedef struct {
    int warnings;
    char last[256];
} log_record;

static void on_log(void *user, int level, const char *message)
{
    log_record *r = user;
    if (level == NB_LOG_WARNING) {
        r->warnings++;
        snprintf(r->last, sizeof(r->last), "%s", message);
    }
}

static int cancel_at_once(void *user, long done, long total)
{
    (void)user;
    (void)done;
    (void)total;
    return 1;
}

static void check_render(void)
{
    nb_config c;
    tiny_config(&c);
    char message[256];
    nb_plan *plan = NULL;
    int status = nb_plan_create(&c, &plan, message, sizeof(message));
    CHECK(status == NB_OK && plan != NULL, "nb_plan_create failed: %d %s", status, message);
    CHECK(message[0] == '\0', "a successful create leaves the message empty, got '%s'", message);
    if (plan == NULL) return;

    nb_derived d;
    CHECK(nb_plan_derived(plan, &d) == NB_OK, "nb_plan_derived failed");
    CHECK(d.fpixels == FPIX && d.spixels == SPIX, "detector is %d x %d, expected %d x %d", d.fpixels, d.spixels,
          FPIX, SPIX);
    /* 100 A cube: volume 1e6 A^3 up to rounding of the cell algebra */
    CHECK(fabs(d.cell_volume_A3 - 1.0e6) < 1e-3, "cell volume %.9g A^3, expected 1e6", d.cell_volume_A3);
    CHECK(d.oversample == 1 && d.phisteps == 1 && d.sources == 1 && d.mosaic_domains == 1,
          "sampling counts: oversample %d, phi steps %d, sources %d, domains %d", d.oversample, d.phisteps, d.sources,
          d.mosaic_domains);
    CHECK(fabs(d.distance_m - 0.05) < 1e-15 && fabs(d.pixel_size_m - 0.0005) < 1e-15, "distance %g m, pixel %g m",
          d.distance_m, d.pixel_size_m);

    float image[NPIX];
    nb_run_stats stats;
    status = nb_plan_run(plan, image, NPIX, 1, &stats);
    CHECK(status == NB_OK, "nb_plan_run: %s", nb_status_message(status));
    int positive = 0, finite = 1;
    for (int i = 0; i < NPIX; ++i) {
        if (!isfinite(image[i]) || image[i] < 0) finite = 0;
        if (image[i] > 0) ++positive;
    }
    CHECK(finite, "the float image holds a negative or non-finite value");
    CHECK(positive == NPIX, "constant F lights every pixel; %d of %d are > 0", positive, NPIX);
    CHECK(stats.omega_sum > 0 && stats.interpolation_switchoff_pixel == -1, "run stats: omega_sum %g, switch-off %ld",
          stats.omega_sum, stats.interpolation_switchoff_pixel);

    /* the image does not depend on the thread count (documented) */
    float again[NPIX];
    CHECK(nb_plan_run(plan, again, NPIX, 3, NULL) == NB_OK, "nb_plan_run with 3 threads");
    CHECK(memcmp(image, again, sizeof(image)) == 0, "images differ between 1 and 3 threads");

    /* a buffer one pixel short is refused */
    CHECK(nb_plan_run(plan, again, NPIX - 1, 1, NULL) == NB_ERR_BUFFER_TOO_SMALL, "short buffer accepted");

    /* noise: same seed, same image; every value within uint16 and counted photons consistent */
    uint16_t noise1[NPIX], noise2[NPIX];
    long over1 = -1, over2 = -1;
    double photons1 = -1, photons2 = -1;
    CHECK(nb_plan_noise_image(plan, image, NPIX, 40.0, 7, noise1, &over1, &photons1) == NB_OK, "noise image");
    CHECK(nb_plan_noise_image(plan, image, NPIX, 40.0, 7, noise2, &over2, &photons2) == NB_OK, "noise image again");
    CHECK(memcmp(noise1, noise2, sizeof(noise1)) == 0 && over1 == over2 && photons1 == photons2,
          "the noise image is not reproducible for one seed");
    double counted = 0;
    for (int i = 0; i < NPIX; ++i) counted += noise1[i] - 40.0;
    CHECK(over1 == 0 && fabs(counted - photons1) < 1e-9, "photons %g, counted %g, overloads %ld", photons1, counted,
          over1);

    /* tracing one pixel reproduces its rendered value */
    int pixel[2] = {2, 3};
    double value = NAN;
    nb_trace_buffers buffers;
    memset(&buffers, 0, sizeof(buffers));
    buffers.pixel_value = &value;
    CHECK(nb_plan_trace(plan, pixel, 1, &buffers) == NB_OK, "nb_plan_trace");
    CHECK((float)value == image[2 * FPIX + 3], "trace %.9g vs image %.9g", value, (double)image[2 * FPIX + 3]);
    int outside[2] = {SPIX, 0};
    CHECK(nb_plan_trace(plan, outside, 1, &buffers) == NB_ERR_INVALID_ARGUMENT, "a pixel outside the detector traced");

    nb_plan_free(plan);
}

static void check_errors(void)
{
    nb_config c;
    tiny_config(&c);
    c.wavelength_A = -1.0;
    char message[256];
    nb_plan *plan = (nb_plan *)&c; /* must be reset to NULL on failure */
    int status = nb_plan_create(&c, &plan, message, sizeof(message));
    CHECK(status == NB_ERR_INVALID_ARGUMENT, "negative wavelength: status %d", status);
    CHECK(plan == NULL, "a failed create must leave *plan NULL");
    CHECK(strstr(message, "wavelength") != NULL, "the message names the field: '%s'", message);
    CHECK(strcmp(nb_status_message(status), "invalid argument") == 0, "status message '%s'",
          nb_status_message(status));
    CHECK(strcmp(nb_status_message(12345), "unknown status") == 0, "unknown status text");

    /* a tiny message buffer is filled, truncated and terminated, never overrun */
    char small[9];
    memset(small, 'x', sizeof(small));
    status = nb_plan_create(&c, &plan, small, 8);
    CHECK(status == NB_ERR_INVALID_ARGUMENT && small[7] == '\0' && strlen(small) == 7 && small[8] == 'x',
          "truncated message: status %d, '%.8s'", status, small);

    /* no message buffer at all is allowed */
    CHECK(nb_plan_create(&c, &plan, NULL, 0) == NB_ERR_INVALID_ARGUMENT && plan == NULL, "NULL message buffer");

    tiny_config(&c);
    c.detpixels[0] = -3;
    CHECK(nb_plan_create(&c, &plan, message, sizeof(message)) == NB_ERR_INVALID_ARGUMENT &&
              strstr(message, "detpixels") != NULL,
          "negative detpixels: '%s'", message);
    tiny_config(&c);
    c.convention = 99;
    CHECK(nb_plan_create(&c, &plan, message, sizeof(message)) == NB_ERR_INVALID_ARGUMENT &&
              strstr(message, "convention") != NULL,
          "unknown convention: '%s'", message);

    CHECK(nb_plan_create(NULL, &plan, message, sizeof(message)) == NB_ERR_INVALID_ARGUMENT, "NULL config");
    CHECK(nb_plan_create(&c, NULL, message, sizeof(message)) == NB_ERR_INVALID_ARGUMENT, "NULL plan pointer");
    nb_derived d;
    CHECK(nb_plan_derived(NULL, &d) == NB_ERR_INVALID_ARGUMENT, "derived of NULL plan");
    float image[NPIX];
    CHECK(nb_plan_run(NULL, image, NPIX, 1, NULL) == NB_ERR_INVALID_ARGUMENT, "run of NULL plan");
    nb_plan_free(NULL); /* a no-op */
    nb_config_init(NULL); /* a no-op */
}

static void check_callbacks(void)
{
    nb_config c;
    tiny_config(&c);
    /* 5 cells of 100 A with oversample 1 forced: the legacy warns that one sample per pixel is too few */
    log_record record = {0, ""};
    c.log = on_log;
    c.callback_user = &record;
    nb_plan *plan = NULL;
    char message[256];
    int status = nb_plan_create(&c, &plan, message, sizeof(message));
    CHECK(status == NB_OK, "create with a log callback: %s", message);
    CHECK(record.warnings == 1 && strstr(record.last, "recommend -oversample") != NULL,
          "%d warnings logged (last '%s')", record.warnings, record.last);
    nb_plan_free(plan);

    tiny_config(&c);
    c.progress = cancel_at_once;
    CHECK(nb_plan_create(&c, &plan, message, sizeof(message)) == NB_OK, "create with progress callback");
    float image[NPIX];
    CHECK(nb_plan_run(plan, image, NPIX, 1, NULL) == NB_ERR_CANCELLED, "the progress callback did not cancel");
    nb_plan_free(plan);
}

/* the plan-free draws equal those a plan makes (random misset, then mosaic domains) */
static void check_draws(void)
{
    nb_config c;
    tiny_config(&c);
    c.misset_mode = NB_MISSET_RANDOM;
    c.misset_seed = 11;
    c.mosaic_spread_deg = 0.5;
    c.mosaic_domains = 4;
    c.mosaic_seed = -3; /* a negative user seed continues the misset stream's shuffle table */
    nb_plan *plan = NULL;
    char message[256];
    CHECK(nb_plan_create(&c, &plan, message, sizeof(message)) == NB_OK, "create: %s", message);
    if (plan == NULL) return;
    nb_derived d;
    nb_plan_derived(plan, &d);
    double from_plan[12], alone[12], misset[3];
    int domains = -1;
    CHECK(d.mosaic_domains == 4, "plan has %d domains", d.mosaic_domains);
    CHECK(nb_plan_mosaic_draws(plan, from_plan, 12) == NB_OK, "nb_plan_mosaic_draws");
    CHECK(nb_legacy_draws(&c, misset, alone, 12, &domains) == NB_OK, "nb_legacy_draws");
    CHECK(domains == 4, "nb_legacy_draws counts %d domains", domains);
    CHECK(memcmp(from_plan, alone, sizeof(alone)) == 0, "mosaic draws differ from the plan's");
    CHECK(memcmp(misset, d.misset_rad, sizeof(misset)) == 0, "random misset differs from the plan's");
    CHECK(misset[0] != 0 || misset[1] != 0 || misset[2] != 0, "the random misset is zero");
    /* fewer domains: the leading draws of the same stream */
    double two[6];
    CHECK(nb_legacy_draws(&c, NULL, two, 6, NULL) == NB_OK && memcmp(two, alone, sizeof(two)) == 0,
          "the first two domains' draws differ");
    CHECK(nb_legacy_draws(NULL, misset, NULL, 0, NULL) == NB_ERR_INVALID_ARGUMENT, "NULL config accepted");
    CHECK(nb_legacy_draws(&c, misset, NULL, 3, NULL) == NB_ERR_INVALID_ARGUMENT, "NULL draws buffer accepted");
    nb_plan_free(plan);
}

/* two threads, each with its own plan, give the serial image (no shared state) */
typedef struct {
    float image[NPIX];
    int status;
} thread_job;

static void *render_job(void *arg)
{
    thread_job *job = arg;
    nb_config c;
    tiny_config(&c);
    nb_plan *plan = NULL;
    job->status = nb_plan_create(&c, &plan, NULL, 0);
    if (job->status == NB_OK) job->status = nb_plan_run(plan, job->image, NPIX, 1, NULL);
    nb_plan_free(plan);
    return NULL;
}

static void check_threads(void)
{
    thread_job serial, jobs[2];
    render_job(&serial);
    pthread_t threads[2];
    for (int i = 0; i < 2; ++i) pthread_create(&threads[i], NULL, render_job, &jobs[i]);
    for (int i = 0; i < 2; ++i) pthread_join(threads[i], NULL);
    for (int i = 0; i < 2; ++i) {
        CHECK(serial.status == NB_OK && jobs[i].status == NB_OK, "threaded run status %d", jobs[i].status);
        CHECK(memcmp(serial.image, jobs[i].image, sizeof(serial.image)) == 0, "thread %d image differs", i);
    }
}

int main(void)
{
    CHECK(nb_version() != NULL && nb_version()[0] != '\0', "nb_version is empty");
    check_render();
    check_errors();
    check_callbacks();
    check_draws();
    check_threads();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("libnanobrag %s: public API checks passed\n", nb_version());
    return 0;
}
