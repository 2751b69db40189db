/*
 * Three-vector arithmetic with the exact operation order of the legacy
 * program (vectors are 0-based double[3]; the legacy kept the magnitude in
 * element 0, we return it instead).  Parity with the legacy float image
 * depends on every sum and product here being evaluated left to right.
 */
#ifndef NB_VEC_H
#define NB_VEC_H

#include <math.h>

static inline double nb_dot(const double x[3], const double y[3])
{
    return x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
}

static inline double nb_norm(const double v[3])
{
    return sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
}

/* z = x cross y (z may alias neither input) */
static inline void nb_cross(const double x[3], const double y[3], double z[3])
{
    z[0] = x[1] * y[2] - x[2] * y[1];
    z[1] = x[2] * y[0] - x[0] * y[2];
    z[2] = x[0] * y[1] - x[1] * y[0];
}

/* out = v/|v| (a zero vector stays zero); returns |v|.  out may alias v. */
static inline double nb_unitize(const double v[3], double out[3])
{
    double mag = nb_norm(v);
    if (mag != 0.0) {
        out[0] = v[0] / mag;
        out[1] = v[1] / mag;
        out[2] = v[2] / mag;
    } else {
        out[0] = out[1] = out[2] = 0.0;
    }
    return mag;
}

/* out = scale*v; returns |out| */
static inline double nb_scale(const double v[3], double out[3], double scale)
{
    out[0] = scale * v[0];
    out[1] = scale * v[1];
    out[2] = scale * v[2];
    return nb_norm(out);
}

/* out = v with its length forced to new_length (a zero vector is left as is) */
static inline double nb_rescale(const double v[3], double out[3], double new_length)
{
    double old = nb_norm(v);
    if (old <= 0.0) old = 1.0;
    out[0] = new_length / old * v[0];
    out[1] = new_length / old * v[1];
    out[2] = new_length / old * v[2];
    return nb_norm(out);
}

static inline void nb_copy3(const double v[3], double out[3])
{
    out[0] = v[0];
    out[1] = v[1];
    out[2] = v[2];
}

static inline void nb_set3(double out[3], double x, double y, double z)
{
    out[0] = x;
    out[1] = y;
    out[2] = z;
}

/* Right-handed rotation about a unit axis by phi radians (Rodrigues form).
 * out may alias v. */
static inline void nb_rotate_axis(const double v[3], double out[3], const double axis[3], double phi)
{
    double sinphi = sin(phi);
    double cosphi = cos(phi);
    double dot = (axis[0] * v[0] + axis[1] * v[1] + axis[2] * v[2]) * (1.0 - cosphi);
    double x = axis[0] * dot + v[0] * cosphi + (-axis[2] * v[1] + axis[1] * v[2]) * sinphi;
    double y = axis[1] * dot + v[1] * cosphi + (+axis[2] * v[0] - axis[0] * v[2]) * sinphi;
    double z = axis[2] * dot + v[2] * cosphi + (-axis[1] * v[0] + axis[0] * v[1]) * sinphi;
    out[0] = x;
    out[1] = y;
    out[2] = z;
}

/* out = U v for a row-major 3x3 matrix.  out must not alias v. */
static inline void nb_rotate_umat(const double v[3], double out[3], const double u[9])
{
    out[0] = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
    out[1] = u[3] * v[0] + u[4] * v[1] + u[5] * v[2];
    out[2] = u[6] * v[0] + u[7] * v[1] + u[8] * v[2];
}

/* Rotations about lab x, then y, then z (radians); a zero angle is skipped,
 * which matters for the sign of zero components.  out may alias v. */
void nb_rotate_xyz(const double v[3], double out[3], double phix, double phiy, double phiz);

#endif /* NB_VEC_H */
