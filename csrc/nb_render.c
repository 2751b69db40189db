/*
 * Rendering drivers: the whole image (nb_plan_run) and per-pixel traces
 * (nb_plan_trace), with results independent of the thread count.
 *
 * Three legacy behaviours depend on the raster order (slow rows, fast
 * pixels); we reproduce the single-threaded order:
 *  - the first phi loop of the run sees the unrotated cell (c-parity),
 *  - the first few polarization evaluations may see an E-vector that is
 *    still being re-normalised,
 *  - the first out-of-range tricubic stencil switches interpolation off for
 *    the rest of that pixel and every later pixel.
 * The first two only concern the first rendered pixels: a short sequential
 * "lead-in" renders those.  The switch-off is resolved after a parallel pass:
 * rows rendered with interpolation on that lie after the first switching
 * pixel are rendered again with it off.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef NB_HAVE_OPENMP
#include <omp.h>
#endif

#include "nb_plan.h"

#define NO_SWITCH (-1L)

typedef struct {
    long switch_pixel;              /* first switching pixel (raster index), NO_SWITCH */
    double hkl[3];
    int hkl0[3];
} switch_record;

/* shared state of one parallel pass */
typedef struct {
    const nb_plan *plan;
    float *image;                   /* NULL: only look for the switch-off pixel */
    long start, end;                /* raster indices [start, end) */
    nb_raster_state lead_state;     /* state after the lead-in */
    int *row_interpolated;          /* per row: rendered with interpolation on */
    switch_record *rows;            /* per row */
    long known_switch;              /* earliest switch seen so far (shared) */
    int cancel;                     /* shared */
    long rows_done;                 /* shared, for progress */
    int report_progress;
} pass;

static void initial_state(const nb_plan *p, nb_raster_state *st)
{
    memset(st, 0, sizeof(*st));
    st->interpolate = p->interpolate;
    st->first_loop_pending = p->first_loop_differs;
    st->polar_evaluations = 0;
}

/* polarization evaluations after which the E-vector no longer changes */
static long polar_settled(const nb_plan *p)
{
    return (p->kahn != 0.0 && !p->nopolar) ? p->polar_axis_count - 1 : 0;
}

static int lead_in_needed(const nb_plan *p, const nb_raster_state *st)
{
    return st->first_loop_pending || st->polar_evaluations < polar_settled(p);
}

static void note_switch(switch_record *rec, long idx, const nb_raster_state *st)
{
    if (rec->switch_pixel != NO_SWITCH) return;
    rec->switch_pixel = idx;
    memcpy(rec->hkl, st->switch_hkl, sizeof(rec->hkl));
    memcpy(rec->hkl0, st->switch_hkl0, sizeof(rec->hkl0));
}

static long atomic_load_long(long *x)
{
    return __atomic_load_n(x, __ATOMIC_RELAXED);
}

static void atomic_min_long(long *x, long value)
{
    long current = __atomic_load_n(x, __ATOMIC_RELAXED);
    while ((current == NO_SWITCH || value < current) &&
           !__atomic_compare_exchange_n(x, &current, value, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
}

/* Sequential lead-in from raster index `start`; stops once the order-dependent
 * start-up states have settled or at `end`.  If `watch` is given, the state at
 * each index in watch_idx[] is copied to watch[] before that pixel renders. */
static long lead_in(const nb_plan *p, float *image, long start, long end, nb_raster_state *st, switch_record *rec,
                    const long *watch_idx, nb_raster_state *watch, size_t nwatch)
{
    long idx = start;
    while (idx < end && lead_in_needed(p, st)) {
        for (size_t w = 0; w < nwatch; ++w)
            if (watch_idx[w] == idx) watch[w] = *st;
        int s = (int)(idx / p->fpixels), f = (int)(idx % p->fpixels);
        float value = nb_render_pixel(p, s, f, st, NULL);
        if (image) image[idx] = value;
        if (st->switched) note_switch(rec, idx, st);
        ++idx;
    }
    return idx;
}

/* Render the raster indices [first, last] of one row with a given state. */
static void render_row_span(pass *ps, long first, long last, nb_raster_state st, switch_record *rec)
{
    const nb_plan *p = ps->plan;
    for (long idx = first; idx <= last; ++idx) {
        int s = (int)(idx / p->fpixels), f = (int)(idx % p->fpixels);
        float value = nb_render_pixel(p, s, f, &st, NULL);
        if (ps->image) ps->image[idx] = value;
        if (st.switched) {
            note_switch(rec, idx, &st);
            atomic_min_long(&ps->known_switch, idx);
            if (ps->image == NULL) return; /* search only: the rest of the row cannot matter */
        }
    }
}

static void report_progress(pass *ps)
{
    const nb_plan *p = ps->plan;
    long done = __atomic_add_fetch(&ps->rows_done, 1, __ATOMIC_RELAXED);
    if (!ps->report_progress || p->progress == NULL) return;
#ifdef NB_HAVE_OPENMP
    if (omp_get_thread_num() != 0) return;
#endif
    /* raster pixels done: the lead-in plus whole rows (the first row may overlap the lead-in) */
    long total = (long)p->fpixels * p->spixels;
    long pixels = ps->start + done * (long)p->fpixels;
    if (pixels > total) pixels = total;
    if (p->progress(p->callback_user, pixels, total)) __atomic_store_n(&ps->cancel, 1, __ATOMIC_RELAXED);
}

static void process_row(pass *ps, long row)
{
    const nb_plan *p = ps->plan;
    long row_start = row * p->fpixels, row_end = row_start + p->fpixels - 1;
    long first = row_start > ps->start ? row_start : ps->start;
    long last = row_end < ps->end - 1 ? row_end : ps->end - 1;
    nb_raster_state st = ps->lead_state;
    long known = atomic_load_long(&ps->known_switch);
    if (known != NO_SWITCH && known < first) {
        if (ps->image == NULL) return; /* already after a switch: nothing to find */
        st.interpolate = 0;
    }
    ps->row_interpolated[row] = st.interpolate;
    render_row_span(ps, first, last, st, &ps->rows[row]);
}

static int run_pass(pass *ps, int nthreads)
{
    const nb_plan *p = ps->plan;
    if (ps->start >= ps->end) return NB_OK;
    long row0 = ps->start / p->fpixels, row1 = (ps->end - 1) / p->fpixels;
#ifdef NB_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
#endif
    for (long row = row0; row <= row1; ++row) {
        if (__atomic_load_n(&ps->cancel, __ATOMIC_RELAXED)) continue;
        process_row(ps, row);
        report_progress(ps);
    }
    (void)nthreads;
    return __atomic_load_n(&ps->cancel, __ATOMIC_RELAXED) ? NB_ERR_CANCELLED : NB_OK;
}

/* earliest switch among rows rendered with interpolation on */
static long first_switch(const pass *ps, long row0, long row1, switch_record *out)
{
    long best = NO_SWITCH;
    for (long row = row0; row <= row1; ++row) {
        if (!ps->row_interpolated[row]) continue;
        long sp = ps->rows[row].switch_pixel;
        if (sp != NO_SWITCH && (best == NO_SWITCH || sp < best)) {
            best = sp;
            if (out) *out = ps->rows[row];
        }
    }
    return best;
}

static int resolve_nthreads(int nthreads)
{
#ifdef NB_HAVE_OPENMP
    if (nthreads <= 0) nthreads = omp_get_max_threads();
#else
    nthreads = 1;
#endif
    return nthreads < 1 ? 1 : nthreads;
}

static int alloc_pass(pass *ps, const nb_plan *p)
{
    memset(ps, 0, sizeof(*ps));
    ps->plan = p;
    ps->known_switch = NO_SWITCH;
    ps->row_interpolated = calloc((size_t)p->spixels, sizeof(int));
    ps->rows = malloc((size_t)p->spixels * sizeof(switch_record));
    if (ps->row_interpolated == NULL || ps->rows == NULL) {
        free(ps->row_interpolated);
        free(ps->rows);
        return NB_ERR_NO_MEMORY;
    }
    for (int r = 0; r < p->spixels; ++r) ps->rows[r].switch_pixel = NO_SWITCH;
    return NB_OK;
}

static void free_pass(pass *ps)
{
    free(ps->row_interpolated);
    free(ps->rows);
}

static void warn_switch(const nb_plan *p, const switch_record *rec)
{
    if (p->log == NULL) return;
    char text[NB_MESSAGE_LEN];
    snprintf(text, sizeof(text),
             "WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: %g,%g,%g,%d,%d,%d "
             "(tricubic interpolation switched off from pixel %ld on)",
             rec->hkl[0], rec->hkl[1], rec->hkl[2], rec->hkl0[0], rec->hkl0[1], rec->hkl0[2], rec->switch_pixel);
    p->log(p->callback_user, NB_LOG_WARNING, text);
}

/* no crystal: the amorphous background alone */
static int background_only_run(const nb_plan *p, float *image, int nthreads, nb_run_stats *stats)
{
    int status = nb_amorphous_add(p, image, nthreads);
    if (status != NB_OK) return status;
    if (stats != NULL) {
        double omega_sum = 0.0;
        for (int s = 0; s < p->spixels; ++s)
            for (int f = 0; f < p->fpixels; ++f) nb_pixel_omega_sum(p, s, f, &omega_sum);
        stats->omega_sum = omega_sum;
        stats->interpolation_switchoff_pixel = NO_SWITCH;
    }
    long npix = (long)p->fpixels * p->spixels;
    if (p->progress != NULL) p->progress(p->callback_user, npix, npix);
    return NB_OK;
}

int nb_plan_run(const nb_plan *plan, float *image, size_t image_len, int nthreads, nb_run_stats *stats)
{
    if (plan == NULL || image == NULL) return NB_ERR_INVALID_ARGUMENT;
    const nb_plan *p = plan;
    long npix = (long)p->fpixels * p->spixels;
    if (image_len < (size_t)npix) return NB_ERR_BUFFER_TOO_SMALL;
    nthreads = resolve_nthreads(nthreads);
    memset(image, 0, (size_t)npix * sizeof(float));
    if (!p->bragg) return background_only_run(p, image, nthreads, stats);

    pass ps;
    if (alloc_pass(&ps, p) != NB_OK) return NB_ERR_NO_MEMORY;
    ps.image = image;
    ps.report_progress = 1;

    nb_raster_state st;
    initial_state(p, &st);
    switch_record lead_rec = {NO_SWITCH, {0, 0, 0}, {0, 0, 0}};
    long lead_end = lead_in(p, image, 0, npix, &st, &lead_rec, NULL, NULL, 0);
    st.first_loop_pending = 0;
    ps.lead_state = st;
    ps.start = lead_end;
    ps.end = npix;
    if (lead_rec.switch_pixel != NO_SWITCH) ps.known_switch = lead_rec.switch_pixel;

    int status = run_pass(&ps, nthreads);
    switch_record rec = lead_rec;
    if (status == NB_OK && lead_rec.switch_pixel == NO_SWITCH && lead_end < npix) {
        long row0 = lead_end / p->fpixels, row1 = p->spixels - 1;
        long sp = first_switch(&ps, row0, row1, &rec);
        if (sp != NO_SWITCH) {
            /* rows after the switch row that still interpolated: render again without */
            long switch_row = sp / p->fpixels;
            nb_raster_state off = ps.lead_state;
            off.interpolate = 0;
#ifdef NB_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
#endif
            for (long row = switch_row + 1; row <= row1; ++row) {
                if (!ps.row_interpolated[row] || __atomic_load_n(&ps.cancel, __ATOMIC_RELAXED)) continue;
                switch_record scratch = {NO_SWITCH, {0, 0, 0}, {0, 0, 0}};
                long first = row * p->fpixels;
                render_row_span(&ps, first < lead_end ? lead_end : first, first + p->fpixels - 1, off, &scratch);
            }
        }
    }
    if (status == NB_OK && __atomic_load_n(&ps.cancel, __ATOMIC_RELAXED)) status = NB_ERR_CANCELLED;
    free_pass(&ps);
    if (status != NB_OK) return status;
    if (rec.switch_pixel != NO_SWITCH) warn_switch(p, &rec);

    if (stats != NULL) {
        double omega_sum = 0.0;
        for (int s = 0; s < p->spixels; ++s)
            for (int f = 0; f < p->fpixels; ++f) nb_pixel_omega_sum(p, s, f, &omega_sum);
        stats->omega_sum = omega_sum;
        stats->interpolation_switchoff_pixel = rec.switch_pixel;
    }
    if (p->amorphous_points > 0) {
        status = nb_amorphous_add(p, image, nthreads);
        if (status != NB_OK) return status;
    }
    if (p->progress != NULL) p->progress(p->callback_user, npix, npix);
    return NB_OK;
}

/* ---- traces ---- */

static void fill_nan(double *x, size_t n)
{
    if (x == NULL) return;
    for (size_t i = 0; i < n; ++i) x[i] = NAN;
}

int nb_plan_trace(const nb_plan *plan, const int *pixels, size_t pixel_count, nb_trace_buffers *buf)
{
    if (plan == NULL || buf == NULL || (pixel_count > 0 && pixels == NULL)) return NB_ERR_INVALID_ARGUMENT;
    const nb_plan *p = plan;
    if (!p->bragg) return NB_ERR_INVALID_ARGUMENT; /* traces follow the crystal's loop nest */
    size_t T = (size_t)p->thicksteps, S = (size_t)p->oversample * p->oversample, R = (size_t)p->sources,
           H = (size_t)p->phisteps, M = (size_t)p->domains;
    size_t nts = T * S, ntsr = nts * R, nstep = ntsr * H * M;

    long *idx = calloc(pixel_count ? pixel_count : 1, sizeof(long));
    nb_raster_state *state = malloc((pixel_count ? pixel_count : 1) * sizeof(nb_raster_state));
    /* scratch for buffers the caller did not ask for */
    double *scratch = malloc((nstep * 3 + ntsr * 3 + nts * 3 + 1) * sizeof(double));
    if (idx == NULL || state == NULL || scratch == NULL) {
        free(idx); free(state); free(scratch);
        return NB_ERR_NO_MEMORY;
    }
    long max_idx = -1;
    for (size_t i = 0; i < pixel_count; ++i) {
        int s = pixels[2 * i], f = pixels[2 * i + 1];
        if (s < 0 || s >= p->spixels || f < 0 || f >= p->fpixels) {
            free(idx); free(state); free(scratch);
            return NB_ERR_INVALID_ARGUMENT;
        }
        idx[i] = (long)s * p->fpixels + f;
        if (idx[i] > max_idx) max_idx = idx[i];
    }

    /* state at each traced pixel: the lead-in, then the switch-off search */
    nb_raster_state st;
    initial_state(p, &st);
    switch_record lead_rec = {NO_SWITCH, {0, 0, 0}, {0, 0, 0}};
    for (size_t i = 0; i < pixel_count; ++i) state[i] = st;
    long lead_end = lead_in(p, NULL, 0, max_idx + 1, &st, &lead_rec, idx, state, pixel_count);
    st.first_loop_pending = 0;
    long switch_pixel = lead_rec.switch_pixel;
    if (switch_pixel == NO_SWITCH && st.interpolate && lead_end < max_idx) {
        pass ps;
        if (alloc_pass(&ps, p) != NB_OK) {
            free(idx); free(state); free(scratch);
            return NB_ERR_NO_MEMORY;
        }
        ps.lead_state = st;
        ps.start = lead_end;
        ps.end = max_idx;
        run_pass(&ps, resolve_nthreads(0));
        switch_pixel = first_switch(&ps, lead_end / p->fpixels, (max_idx - 1) / p->fpixels, NULL);
        free_pass(&ps);
    }
    for (size_t i = 0; i < pixel_count; ++i) {
        if (idx[i] < lead_end) continue; /* captured during the lead-in */
        state[i] = st;
        if (switch_pixel != NO_SWITCH && switch_pixel < idx[i]) state[i].interpolate = 0;
    }

    for (size_t i = 0; i < pixel_count; ++i) {
        /* quantities the caller did not ask for all go to one scratch block */
        nb_pixel_trace tr;
        tr.pixel_pos_m = buf->pixel_pos_m ? buf->pixel_pos_m + i * nts * 3 : scratch;
        tr.omega = buf->omega ? buf->omega + i * nts : scratch;
        tr.capture_fraction = buf->capture_fraction ? buf->capture_fraction + i * nts : scratch;
        tr.polar = buf->polar ? buf->polar + i * ntsr : scratch;
        tr.scattering_per_m = buf->scattering_per_m ? buf->scattering_per_m + i * ntsr * 3 : scratch;
        tr.a_m = buf->a_m ? buf->a_m + i * nstep * 3 : scratch;
        tr.b_m = buf->b_m ? buf->b_m + i * nstep * 3 : scratch;
        tr.c_m = buf->c_m ? buf->c_m + i * nstep * 3 : scratch;
        tr.h = buf->h ? buf->h + i * nstep : scratch;
        tr.k = buf->k ? buf->k + i * nstep : scratch;
        tr.l = buf->l ? buf->l + i * nstep : scratch;
        tr.F_latt = buf->F_latt ? buf->F_latt + i * nstep : scratch;
        tr.F_cell = buf->F_cell ? buf->F_cell + i * nstep : scratch;
        fill_nan(buf->pixel_pos_m ? tr.pixel_pos_m : NULL, nts * 3);
        fill_nan(buf->omega ? tr.omega : NULL, nts);
        fill_nan(buf->capture_fraction ? tr.capture_fraction : NULL, nts);
        fill_nan(buf->polar ? tr.polar : NULL, ntsr);
        fill_nan(buf->scattering_per_m ? tr.scattering_per_m : NULL, ntsr * 3);
        fill_nan(buf->a_m ? tr.a_m : NULL, nstep * 3);
        fill_nan(buf->b_m ? tr.b_m : NULL, nstep * 3);
        fill_nan(buf->c_m ? tr.c_m : NULL, nstep * 3);
        fill_nan(buf->h ? tr.h : NULL, nstep);
        fill_nan(buf->k ? tr.k : NULL, nstep);
        fill_nan(buf->l ? tr.l : NULL, nstep);
        fill_nan(buf->F_latt ? tr.F_latt : NULL, nstep);
        fill_nan(buf->F_cell ? tr.F_cell : NULL, nstep);

        nb_raster_state pixel_state = state[i];
        int s = (int)(idx[i] / p->fpixels), f = (int)(idx[i] % p->fpixels);
        float value = nb_render_pixel(p, s, f, &pixel_state, &tr);
        if (buf->pixel_value) buf->pixel_value[i] = value;
    }
    free(idx);
    free(state);
    free(scratch);
    return NB_OK;
}
