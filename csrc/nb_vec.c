/* Extrinsic x-y-z rotation (the legacy rotate()). */
#include "nb_vec.h"

void nb_rotate_xyz(const double v[3], double out[3], double phix, double phiy, double phiz)
{
    double x = v[0], y = v[1], z = v[2];
    double rx, ry, rz;

    if (phix != 0) {
        double ryy = cos(phix), ryz = -sin(phix);
        double rzy = sin(phix), rzz = cos(phix);
        rx = x;
        ry = y * ryy + z * ryz;
        rz = y * rzy + z * rzz;
        x = rx; y = ry; z = rz;
    }
    if (phiy != 0) {
        double rxx = cos(phiy), rxy = 0, rxz = sin(phiy);
        double rzx = -sin(phiy), rzy = 0, rzz = cos(phiy);
        /* the zero terms stay: they decide the sign of zero components */
        rx = x * rxx + y * rxy + z * rxz;
        ry = y;
        rz = x * rzx + y * rzy + z * rzz;
        x = rx; y = ry; z = rz;
    }
    if (phiz != 0) {
        double rxx = cos(phiz), rxy = -sin(phiz);
        double ryx = sin(phiz), ryy = cos(phiz);
        rx = x * rxx + y * rxy;
        ry = x * ryx + y * ryy;
        rz = z;
        x = rx; y = ry; z = rz;
    }
    out[0] = x;
    out[1] = y;
    out[2] = z;
}
