/*
 * The legacy random-number generators with their hidden state made explicit.
 *
 * nb_shuffle is the Bays-Durham shuffle table that the legacy ran1() kept in
 * static storage and shared between every seed stream (misset, mosaic,
 * noise, in that order).  A stream whose seed variable is positive continues
 * the table left by the previous stream; a non-positive one reloads it.
 * Types follow the legacy exactly: deviates are float, seeds are long.
 */
#ifndef NB_RANDOM_H
#define NB_RANDOM_H

#define NB_SHUFFLE_TABLE 32

typedef struct {
    long iy;                    /* 0 = never loaded */
    long iv[NB_SHUFFLE_TABLE];
} nb_shuffle;

/* poidev() and gaussdev() caches (legacy function statics) */
typedef struct {
    float sq, alxm, g, oldm;    /* oldm starts at -1 */
    int gauss_has_spare;
    float gauss_spare;
} nb_deviate_cache;

void nb_shuffle_init(nb_shuffle *table);
void nb_deviate_cache_init(nb_deviate_cache *cache);

/* Park-Miller minimal standard with Bays-Durham shuffle, in (0, 1-1.2e-7]. */
float nb_ran1(nb_shuffle *table, long *idum);
float nb_gaussdev(nb_shuffle *table, nb_deviate_cache *cache, long *idum);
float nb_poidev(float mean, nb_shuffle *table, nb_deviate_cache *cache, long *idum);
float nb_gammln(float xx);

/* The three uniform draws behind one random rotation, as the legacy makes
 * them: r1, r2 in [-1,1] (double) and the cap factor powf(1-r3^2, 1/3)
 * (single precision). */
void nb_cap_draws(nb_shuffle *table, long *idum, double *r1, double *r2, float *cap);

/* Rotation matrix (row-major) of a random rotation within a spherical cap:
 * axis from (r1, r2), angle = spread*cap computed in float as the legacy. */
void nb_cap_rotation(float spread, double r1, double r2, float cap, double umat[9]);

/* Rotation angles about x, y, z (radians) reproducing a rotation matrix,
 * as the legacy umat2misset(). */
void nb_umat_to_xyz(const double umat[9], double angles[3]);

#endif /* NB_RANDOM_H */
