/* Detector size, beam-centre conventions and the detector placement. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "nb_plan.h"
#include "nb_vec.h"

/* The legacy parser's unit conversions (see specs/physics.md, "Units"). */
#define MM_TO_M(x) ((x) / 1000.0)
#define RTD (180.0 * M_1_PI)

int nb_build_detector_size(nb_build *b)
{
    const nb_config *c = b->config;
    nb_plan *p = b->plan;
    p->pixel_size = MM_TO_M(c->pixel_size_mm);
    b->detsize_f = MM_TO_M(c->detsize_mm[0]);
    b->detsize_s = MM_TO_M(c->detsize_mm[1]);
    /* pixel counts win over the edge lengths */
    if (c->detpixels[0]) b->detsize_f = p->pixel_size * c->detpixels[0];
    if (c->detpixels[1]) b->detsize_s = p->pixel_size * c->detpixels[1];
    double nf = ceil(b->detsize_f / p->pixel_size - 0.5);
    double ns = ceil(b->detsize_s / p->pixel_size - 0.5);
    if (!(nf >= 1.0) || !(ns >= 1.0) || nf > 1.0e6 || ns > 1.0e6 || nf * ns > 4.0e9)
        return nb_fail(b, NB_ERR_INVALID_ARGUMENT,
                       "detector: %g x %g mm with %g mm pixels gives %g x %g pixels (need 1 to 1e6 per axis)",
                       b->detsize_f * 1000.0, b->detsize_s * 1000.0, c->pixel_size_mm, nf, ns);
    p->fpixels = (int)nf;
    p->spixels = (int)ns;
    return NB_OK;
}

int nb_build_beam_and_flux(nb_build *b)
{
    const nb_config *c = b->config;
    nb_plan *p = b->plan;
    b->lambda0 = c->wavelength_A / 1.0e10;
    double fluence = c->fluence_photons_per_m2;
    double flux = c->flux_photons_per_s;
    double exposure = c->exposure_s;
    double beamsize = c->beamsize_mm / 1000;
    b->sample_x = c->crystal_size_mm[0] / 1000;
    b->sample_y = c->crystal_size_mm[1] / 1000;
    b->sample_z = c->crystal_size_mm[2] / 1000;

    if (flux != 0.0 && exposure > 0.0 && beamsize >= 0) fluence = flux * exposure / beamsize / beamsize;
    if (beamsize >= 0) {
        if (beamsize < b->sample_y) {
            nb_log(c, NB_LOG_WARNING, "WARNING: clipping sample (%lg m high) with beam (%lg m)", b->sample_y, beamsize);
            b->sample_y = beamsize;
        }
        if (beamsize < b->sample_z) {
            nb_log(c, NB_LOG_WARNING, "WARNING: clipping sample (%lg m wide) with beam (%lg m)", b->sample_z, beamsize);
            b->sample_z = beamsize;
        }
    }
    if (exposure > 0.0) flux = fluence / exposure * beamsize * beamsize;
    p->fluence = fluence;
    p->r_e_sqr = 7.94079248018965e-30;
    p->derived.flux_photons_per_s = flux;
    return NB_OK;
}

void nb_roi(const nb_config *c, int fpixels, int spixels, int roi[4])
{
    /* negative = unset; the default upper bounds are one past the last pixel (inclusive test) */
    roi[0] = c->roi[0] < 0 ? 0 : c->roi[0];
    roi[1] = c->roi[1] < 0 ? fpixels : c->roi[1];
    roi[2] = c->roi[2] < 0 ? 0 : c->roi[2];
    roi[3] = c->roi[3] < 0 ? spixels : c->roi[3];
}

static void given_or(const double given[3], int has, double x, double y, double z, double out[3])
{
    if (has) nb_copy3(given, out);
    else nb_set3(out, x, y, z);
}

/* beam-centre and near-point inputs (m) with the defaults every convention starts from */
static void beam_centre_inputs(nb_build *b, const nb_config *c, double px)
{
    b->ORGX = c->org_px[0];
    b->ORGY = c->org_px[1];
    b->Xbeam = MM_TO_M(c->beam_center_mm[0]);
    b->Ybeam = MM_TO_M(c->beam_center_mm[1]);
    b->Xclose = MM_TO_M(c->close_center_mm[0]);
    b->Yclose = MM_TO_M(c->close_center_mm[1]);
    b->Fclose = NAN;
    b->Sclose = NAN;
    if (!isnan(b->ORGX)) b->Fclose = (b->ORGX - 0.5) * px;
    if (!isnan(b->ORGY)) b->Sclose = (b->ORGY - 0.5) * px;
    if (isnan(b->Fclose)) b->Fclose = (b->detsize_f - 0 * px) / 2.0;
    if (isnan(b->Sclose)) b->Sclose = (b->detsize_s + 0 * px) / 2.0;
    if (isnan(b->Xclose)) b->Xclose = b->Fclose;
    if (isnan(b->Yclose)) b->Yclose = b->Sclose;
    b->Fbeam = b->Fclose;
    b->Sbeam = b->Sclose;
}

/* as in the legacy program, a named convention replaces every vector */
static void warn_ignored_vectors(const nb_config *c)
{
    if (c->convention == NB_CONVENTION_CUSTOM) return;
    const char *names[7] = {"beam_vector", "polar_vector", "fdet_vector", "sdet_vector", "odet_vector",
                            "twotheta_axis", "spindle_axis"};
    int given[7] = {c->has_beam_vector, c->has_polar_vector, c->has_fdet_vector, c->has_sdet_vector,
                    c->has_odet_vector, c->has_twotheta_axis, c->has_spindle_axis};
    for (int i = 0; i < 7; ++i)
        if (given[i])
            nb_log(c, NB_LOG_WARNING, "WARNING: %s is ignored: a named detector convention sets its own vectors "
                   "(use the CUSTOM convention to give vectors)", names[i]);
}

static void adxv_axes(nb_build *b, double px, double beam[3], double fdet[3], double sdet[3], double odet[3])
{
    if (isnan(b->Xbeam)) b->Xbeam = (b->detsize_f + px) / 2.0;
    if (isnan(b->Ybeam)) b->Ybeam = (b->detsize_s - px) / 2.0;
    nb_set3(beam, 0, 0, 1);
    nb_set3(fdet, 1, 0, 0);
    nb_set3(sdet, 0, -1, 0);
    nb_set3(odet, 0, 0, 1);
    nb_set3(b->twotheta_axis, -1, 0, 0);
    nb_set3(b->polar_vector, 1, 0, 0);
    nb_set3(b->spindle, 1, 0, 0);
    b->Fbeam = b->Xbeam;
    b->Sbeam = b->detsize_s - b->Ybeam;
    b->pivot = NB_PIVOT_BEAM;
}

static void mosflm_denzo_axes(nb_build *b, int mosflm, double px, double beam[3], double fdet[3], double sdet[3],
                              double odet[3])
{
    /* MOSFLM: beam centre is half a pixel off the pixel-corner grid */
    double half = mosflm ? 0.5 : 0.0;
    if (isnan(b->Xbeam)) b->Xbeam = (b->detsize_s + px) / 2.0;
    if (isnan(b->Ybeam)) b->Ybeam = (b->detsize_f + px) / 2.0;
    nb_set3(beam, 1, 0, 0);
    nb_set3(odet, 1, 0, 0);
    nb_set3(fdet, 0, 0, 1);
    nb_set3(sdet, 0, -1, 0);
    nb_set3(b->twotheta_axis, 0, 0, -1);
    nb_set3(b->polar_vector, 0, 0, 1);
    nb_set3(b->spindle, 0, 0, 1);
    b->Fbeam = b->Ybeam + half * px;
    b->Sbeam = b->Xbeam + half * px;
    b->pivot = NB_PIVOT_BEAM;
}

static void xds_dials_axes(nb_build *b, int dials, double beam[3], double fdet[3], double sdet[3], double odet[3])
{
    if (isnan(b->Xbeam)) b->Xbeam = b->Xclose;
    if (isnan(b->Ybeam)) b->Ybeam = b->Yclose;
    nb_set3(beam, 0, 0, 1);
    nb_set3(fdet, 1, 0, 0);
    nb_set3(sdet, 0, 1, 0);
    nb_set3(odet, 0, 0, 1);
    if (dials) {
        nb_set3(b->twotheta_axis, 0, 1, 0);
        nb_set3(b->polar_vector, 0, 1, 0);
        nb_set3(b->spindle, 0, 1, 0);
    } else {
        nb_set3(b->twotheta_axis, 1, 0, 0);
        nb_set3(b->polar_vector, 1, 0, 0);
        nb_set3(b->spindle, 1, 0, 0);
    }
    b->Fbeam = b->Xbeam;
    b->Sbeam = b->Ybeam;
    b->pivot = NB_PIVOT_SAMPLE;
}

/* CUSTOM: user vectors over the legacy initial values */
static void custom_axes(nb_build *b, const nb_config *c, double beam[3], double fdet[3], double sdet[3],
                        double odet[3])
{
    given_or(c->beam_vector, c->has_beam_vector, 1, 0, 0, beam);
    given_or(c->fdet_vector, c->has_fdet_vector, 0, 0, 1, fdet);
    given_or(c->sdet_vector, c->has_sdet_vector, 0, -1, 0, sdet);
    given_or(c->odet_vector, c->has_odet_vector, 1, 0, 0, odet);
    given_or(c->twotheta_axis, c->has_twotheta_axis, 0, 1, 0, b->twotheta_axis);
    given_or(c->polar_vector, c->has_polar_vector, 0, 0, 1, b->polar_vector);
    given_or(c->spindle_axis, c->has_spindle_axis, 0, 0, 1, b->spindle);
    if (isnan(b->Xbeam)) b->Xbeam = b->Xclose;
    if (isnan(b->Ybeam)) b->Ybeam = b->Yclose;
    b->Fbeam = b->Xbeam;
    b->Sbeam = b->Ybeam;
    b->Fclose = b->Xbeam;
    b->Sclose = b->Ybeam;
}

int nb_build_convention(nb_build *b)
{
    const nb_config *c = b->config;
    nb_plan *p = b->plan;
    double px = p->pixel_size;
    beam_centre_inputs(b, c, px);

    int roi[4];
    nb_roi(c, p->fpixels, p->spixels, roi);
    p->roi_xmin = roi[0];
    p->roi_xmax = roi[1];
    p->roi_ymin = roi[2];
    p->roi_ymax = roi[3];

    warn_ignored_vectors(c);
    double beam[3], fdet[3], sdet[3], odet[3];
    b->convention = c->convention;
    b->pivot = c->pivot;
    switch (c->convention) {
    case NB_CONVENTION_ADXV: adxv_axes(b, px, beam, fdet, sdet, odet); break;
    case NB_CONVENTION_MOSFLM:
    case NB_CONVENTION_DENZO:
        mosflm_denzo_axes(b, c->convention == NB_CONVENTION_MOSFLM, px, beam, fdet, sdet, odet);
        break;
    case NB_CONVENTION_XDS:
    case NB_CONVENTION_DIALS:
        xds_dials_axes(b, c->convention == NB_CONVENTION_DIALS, beam, fdet, sdet, odet);
        break;
    default: custom_axes(b, c, beam, fdet, sdet, odet); break;
    }

    nb_unitize(beam, beam);
    nb_unitize(fdet, fdet);
    nb_unitize(sdet, sdet);
    if (nb_unitize(odet, odet) != 1.0) {
        nb_log(c, NB_LOG_WARNING, "WARNING: auto-generating odet_vector");
        nb_cross(fdet, sdet, odet);
        nb_unitize(odet, odet);
    }
    nb_unitize(b->polar_vector, b->polar_vector);
    nb_unitize(b->spindle, b->spindle);
    nb_cross(beam, b->polar_vector, b->vert);
    nb_unitize(b->vert, b->vert);
    nb_copy3(beam, p->beam);
    nb_copy3(fdet, p->fdet);
    nb_copy3(sdet, p->sdet);
    nb_copy3(odet, p->odet);
    return NB_OK;
}

int nb_build_detector_geometry(nb_build *b)
{
    const nb_config *c = b->config;
    nb_plan *p = b->plan;
    double rotx = c->detector_rot_deg[0] / RTD;
    double roty = c->detector_rot_deg[1] / RTD;
    double rotz = c->detector_rot_deg[2] / RTD;
    double twotheta = c->twotheta_deg / RTD;
    double distance = MM_TO_M(c->distance_mm);
    double close_distance = MM_TO_M(c->close_distance_mm);
    double *f = p->fdet, *s = p->sdet, *o = p->odet, *beam = p->beam, *pix0 = p->pix0;
    b->twotheta = twotheta;
    nb_set3(b->rot, rotx, roty, rotz);

    /* the beam/normal ratio ignores the two-theta swing (legacy) */
    double rotated_o[3];
    nb_rotate_xyz(o, rotated_o, rotx, roty, rotz);
    double ratio = nb_dot(beam, rotated_o);
    if (ratio == 0.0) ratio = DBL_MIN;
    if (isnan(close_distance)) close_distance = fabs(ratio * distance);
    distance = close_distance / ratio;

    if (b->pivot == NB_PIVOT_SAMPLE) {
        for (int i = 0; i < 3; ++i) pix0[i] = -b->Fclose * f[i] - b->Sclose * s[i] + close_distance * o[i];
        nb_rotate_xyz(pix0, pix0, rotx, roty, rotz);
        nb_rotate_axis(pix0, pix0, b->twotheta_axis, twotheta);
    }
    nb_rotate_xyz(f, f, rotx, roty, rotz);
    nb_rotate_xyz(s, s, rotx, roty, rotz);
    nb_rotate_xyz(o, o, rotx, roty, rotz);
    nb_rotate_axis(f, f, b->twotheta_axis, twotheta);
    nb_rotate_axis(s, s, b->twotheta_axis, twotheta);
    nb_rotate_axis(o, o, b->twotheta_axis, twotheta);
    if (b->pivot == NB_PIVOT_BEAM) {
        for (int i = 0; i < 3; ++i) pix0[i] = -b->Fbeam * f[i] - b->Sbeam * s[i] + distance * beam[i];
    }

    /* report the near point and the direct-beam spot of the final geometry */
    b->Fclose = -nb_dot(pix0, f);
    b->Sclose = -nb_dot(pix0, s);
    close_distance = nb_dot(pix0, o);
    double to_beam[3];
    for (int i = 0; i < 3; ++i) to_beam[i] = close_distance / ratio * beam[i] - pix0[i];
    b->Fbeam = nb_dot(f, to_beam);
    b->Sbeam = nb_dot(s, to_beam);
    distance = close_distance / ratio;
    b->ORGX = b->Fclose / p->pixel_size + 0.5;
    b->ORGY = b->Sclose / p->pixel_size + 0.5;
    static const double dials_x[3] = {0, 0, 1}, dials_y[3] = {0, 1, 0}, dials_z[3] = {-1, 0, 0};
    p->derived.dials_origin_mm[0] = 1000.0 * nb_dot(pix0, dials_x);
    p->derived.dials_origin_mm[1] = 1000.0 * nb_dot(pix0, dials_y);
    p->derived.dials_origin_mm[2] = 1000.0 * nb_dot(pix0, dials_z);

    b->ratio = ratio;
    p->distance = distance;
    p->close_distance = close_distance;
    p->curved = c->curved_detector != 0;
    p->point_pixel = c->point_pixel != 0;
    return NB_OK;
}
