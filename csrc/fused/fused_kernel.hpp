// The fused hot kernel of the torch engine: for every path, the sum over the (phi step,
// mosaic domain) cells of F_cell^2 F_latt^2 of the square (parallelepiped) crystal, and its
// vector-Jacobian product.  Same arithmetic as nanobrag.torch_impl.steps (see
// specs/torch_engine.md, "Fused kernel"):
//
//   h = (a_x q_x + a_y q_y) + a_z q_z                    float64 (path dtype), per axis
//   float64 run: x = pi h (with a table), or x = (pi a) . q without one (as steps.py)
//   float32 run: x = float(h - h0) * float(pi)            h0 the nearest integer (reduced)
//   sincg = sin(x N) / sin(x), N where x == 0;  F_latt = (s_a s_b) s_c
//   F = table[h0, k0, l0] inside its bounds (h0 = ceil(h - 1/2)), default_F elsewhere
//   sum_steps F^2 F_latt^2  (steps in order, sequentially per path)
//
// Each vector lane is one path; a lane's steps are summed in order, so the result of a
// path does not depend on the vector width or the thread count.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "fused_math.hpp"

namespace nbfused {

struct Problem {
  const double* cells = nullptr;  // (steps, 3, 3): rows a, b, c of every step (m)
  int64_t steps = 0;
  const double* q = nullptr;      // (3, q_stride): scattering vectors of the paths (1/m)
  int64_t paths = 0;
  int64_t q_stride = 0;
  double n_cells[3] = {1, 1, 1};  // Na, Nb, Nc
  double default_F = 0;
  const void* table = nullptr;    // (hn, kn, ln) in the run dtype, or null: no lookup
  int64_t dims[3] = {0, 0, 0};
  double hkl_min[3] = {0, 0, 0};
  double hkl_max[3] = {0, 0, 0};
};

struct Gradients {
  double* cells = nullptr;   // (steps, 3, 3) per thread partial, summed by the caller
  double* q = nullptr;       // (3, paths) written per path
  double n_cells[3] = {0, 0, 0};
  double default_F = 0;
  double* table = nullptr;   // (hn*kn*ln) per thread partial, or null
};

// The detector geometry of the pixel route: each lane is one pixel, whose paths (layer,
// sub-pixel, source) and their scattering vectors are formed here, in the operations and
// order of nanobrag.torch_impl.paths (elementwise IEEE, so bit for bit the same q).
struct PixelGeometry {
  const int64_t* pix = nullptr;  // (pixels,) raster indices
  int64_t pixels = 0;
  int64_t fpixels = 1;
  int64_t oversample = 1;
  int64_t layers = 1;
  double subpixel_m = 0;         // pixel size / oversample
  double thickstep_m = 0;
  double fdet[3], sdet[3], odet[3], pix0[3];  // unit vectors; pix0 in m
  const double* source = nullptr;      // (sources, 3): unit vectors towards the sources
  const double* wavelength = nullptr;  // (sources,) m
  int64_t sources = 0;
  double I_bg = 0;               // the accumulator's start value
};

// Gradients of the pixel route's geometry (per thread, summed by the caller).
struct PixelGradients {
  double fdet[3] = {0, 0, 0}, sdet[3] = {0, 0, 0}, odet[3] = {0, 0, 0}, pix0[3] = {0, 0, 0};
  double subpixel_m = 0;
  double* source = nullptr;      // (sources, 3)
  double* wavelength = nullptr;  // (sources,)
};

inline namespace NB_ISA_TAG {  // (see fused_math.hpp)

template <class T>
struct Block {
  static constexpr int W = Lanes<T>::W;
  typedef typename VecT<T, W>::type VT;
  typedef typename VecT<double, W>::type VD;
  typedef typename MaskT<double, W>::type MD;
  typedef typename MaskT<T, W>::type MT;
  typedef typename VecT<long long, W>::type VI;
};

template <class V>
NB_INLINE V ceil_small(V y) {
  typedef typename std::remove_reference<decltype(y[0])>::type T;
  typedef decltype(y < y) M;
  V c = rint_small<V, T>(y);
  return c + select<V, M>(c < y, splat<V>(1), splat<V>(0));
}

// Per step and lane: the lattice values and F of one block of paths.
template <class T>
struct StepEval {
  typedef Block<T> B;
  typename B::VD h[3];
  typename B::VD h0[3];  // nearest integers (lookup or the float32 reduction)
  typename B::VT x[3];
  typename B::VT F;
  typename B::VI flat;   // table index, -1 outside the table
};

template <class T>
NB_INLINE void indices(const Problem& p, const double* cell, const typename Block<T>::VD* q, StepEval<T>& e) {
  typedef Block<T> B;
  typedef typename B::VD VD;
  typedef typename B::VT VT;
  const bool lookup = p.table != nullptr;
  const bool reduce = sizeof(T) == 4;
  for (int a = 0; a < 3; ++a) {
    const double* r = cell + 3 * a;
    if (!reduce && !lookup) {
      // the torch kernel's order here: x = (pi a) . q, pi folded into the cell (steps.py)
      e.x[a] = __builtin_convertvector((q[0] * (M_PI * r[0]) + q[1] * (M_PI * r[1])) + q[2] * (M_PI * r[2]), VT);
      continue;
    }
    VD h = (q[0] * r[0] + q[1] * r[1]) + q[2] * r[2];
    e.h[a] = h;
    if (lookup && reduce) {
      // ceil(h - 1/2) deciding the round-up in float32 lanes (a comparison of the wide double
      // vectors of a float32 block is not vectorized); y - c is exact and either 0 or far
      // above the float32 range's bottom, so its sign survives the conversion
      VD y = h - 0.5;
      VD c = rint_small<VD, double>(y);
      VT d = __builtin_convertvector(y - c, VT);
      VT up = select<VT, typename B::MT>(d > splat<VT>(0), splat<VT>(1), splat<VT>(0));
      e.h0[a] = c + __builtin_convertvector(up, VD);
    } else if (lookup) {
      e.h0[a] = ceil_small<VD>(h - 0.5);
    } else if (reduce) {
      e.h0[a] = rint_small<VD, double>(h);
    }
    if (reduce) {
      VD f = h - e.h0[a];
      e.x[a] = __builtin_convertvector(f, VT) * (T)M_PI;
    } else {
      e.x[a] = __builtin_convertvector(h * M_PI, VT);
    }
  }
  if (lookup) {
    typedef typename B::MD MD;
    // (vector-vector comparisons: GCC 12 scalarizes a comparison with a scalar operand)
    MD inside;
    if (reduce) {  // in float32 lanes (above); a huge or NaN index is outside either way
      typedef typename B::MT MT;
      VT g[3] = {__builtin_convertvector(e.h0[0], VT), __builtin_convertvector(e.h0[1], VT),
                 __builtin_convertvector(e.h0[2], VT)};
      MT in = (g[0] >= splat<VT>((T)p.hkl_min[0])) & (g[0] <= splat<VT>((T)p.hkl_max[0])) &
              (g[1] >= splat<VT>((T)p.hkl_min[1])) & (g[1] <= splat<VT>((T)p.hkl_max[1])) &
              (g[2] >= splat<VT>((T)p.hkl_min[2])) & (g[2] <= splat<VT>((T)p.hkl_max[2]));
      inside = __builtin_convertvector(in, MD);
    } else {
      inside = (e.h0[0] >= splat<VD>(p.hkl_min[0])) & (e.h0[0] <= splat<VD>(p.hkl_max[0])) &
               (e.h0[1] >= splat<VD>(p.hkl_min[1])) & (e.h0[1] <= splat<VD>(p.hkl_max[1])) &
               (e.h0[2] >= splat<VD>(p.hkl_min[2])) & (e.h0[2] <= splat<VD>(p.hkl_max[2]));
    }
    VD flat = ((e.h0[0] - p.hkl_min[0]) * (double)p.dims[1] + (e.h0[1] - p.hkl_min[1])) * (double)p.dims[2] +
              (e.h0[2] - p.hkl_min[2]);
    flat = select<VD, MD>(inside, flat, splat<VD>(-1.0));
    e.flat = __builtin_convertvector(flat, typename B::VI);
    const T* table = static_cast<const T*>(p.table);
    const T dF = (T)p.default_F;
    for (int j = 0; j < B::W; ++j) e.F[j] = e.flat[j] >= 0 ? table[e.flat[j]] : dF;
  }
}

template <class T>
NB_INLINE void load_q(const Problem& p, int64_t p0, typename Block<T>::VD* q, int* valid) {
  constexpr int W = Block<T>::W;
  int n = (int)((p.paths - p0) < W ? (p.paths - p0) : W);
  *valid = n;
  for (int c = 0; c < 3; ++c) {
    const double* src = p.q + c * p.q_stride + p0;
    typename Block<T>::VD v = {};
    if (n == W) {
      std::memcpy(&v, src, sizeof(v));
    } else {
      for (int j = 0; j < n; ++j) v[j] = src[j];  // padding lanes: q = 0 (h = 0: finite, no NaN)
    }
    q[c] = v;
  }
}

// The step sum of one block of paths.  checked = false: the fast sines, with the lanes
// they cannot take flagged in *big; checked = true: those lanes from the C library (the
// other lanes get the same values either way, so a lane never depends on its neighbours).
template <class T, bool checked>
NB_INLINE typename Block<T>::VT block_sum(const Problem& p, const typename Block<T>::VD* q,
                                          typename Block<T>::MT* big) {
  typedef Block<T> B;
  typedef typename B::VT VT;
  typedef typename B::MT MT;
  constexpr int W = B::W;
  // float32 runs reduce the indices (|x| <= pi/2): sin(x) needs no argument reduction
  constexpr bool reduce = sizeof(T) == 4;
  const bool lookup = p.table != nullptr;
  const T N[3] = {(T)p.n_cells[0], (T)p.n_cells[1], (T)p.n_cells[2]};
  VT acc = {};
  for (int64_t s = 0; s < p.steps; ++s) {
    StepEval<T> e;
    indices<T>(p, p.cells + 9 * s, q, e);
    VT latt = splat<VT>(1);
    for (int a = 0; a < 3; ++a) {
      VT sn, sx;
      if (checked) {
        sn = sin_checked<T, W, false>(e.x[a] * N[a]);
        sx = sin_checked<T, W, reduce>(e.x[a]);
      } else {
        sn = sin_v<T, W, false>(e.x[a] * N[a], big);
        sx = sin_v<T, W, reduce>(e.x[a], big);
      }
      VT r = select<VT, MT>(is_zero<VT, MT>(e.x[a]), splat<VT>(N[a]), sn / sx);
      latt = (a == 0) ? r : latt * r;  // (1 * r0 would be exact too)
    }
    VT latt2 = latt * latt;
    if (lookup) {
      acc += (e.F * e.F) * latt2;
    } else {
      acc += latt2;
    }
  }
  return acc;
}

// Forward over the paths [p_begin, p_end) (p_begin a multiple of kGroup): out[path] = sum over steps.
template <class T>
NB_INLINE void forward_blocks(const Problem& p, T* out, int64_t p_begin, int64_t p_end) {
  typedef Block<T> B;
  typedef typename B::VT VT;
  typedef typename B::VD VD;
  typedef typename B::MT MT;
  constexpr int W = B::W;
  const bool lookup = p.table != nullptr;
  for (int64_t p0 = p_begin; p0 < p_end; p0 += W) {
    VD q[3];
    int valid;
    load_q<T>(p, p0, q, &valid);
    MT big = {};
    VT acc = block_sum<T, false>(p, q, &big);
    if (__builtin_expect(any_lane(big), 0)) acc = block_sum<T, true>(p, q, &big);
    if (!lookup) {
      const T dF = (T)p.default_F;
      acc = acc * (dF * dF);
    }
    for (int j = 0; j < valid; ++j) out[p0 + j] = acc[j];
  }
}


// One sub-pixel (layer t, slow is, fast jf) of a block of pixels (fp, sp: their fast and slow
// indices): its position and diffracted direction, in the operations and order of paths.py.
template <class VD>
struct SubPixel {
  VD f_idx, s_idx;               // fp * oversample + jf, and the slow one
  VD fdet_coord, sdet_coord;     // m
  double odet_coord;             // m
  VD air;                        // |pos|, m
  VD d[3];                       // pos / |pos|
  SubPixel(const PixelGeometry& g, VD fp, VD sp, int64_t t, int64_t is, int64_t jf) {
    const double os = (double)g.oversample;
    const double half = g.subpixel_m / 2.0;
    odet_coord = (double)t * g.thickstep_m;
    s_idx = sp * os + (double)is;
    f_idx = fp * os + (double)jf;
    sdet_coord = splat<VD>(g.subpixel_m) * s_idx + half;
    fdet_coord = splat<VD>(g.subpixel_m) * f_idx + half;
    VD pos[3];
    for (int c = 0; c < 3; ++c)
      pos[c] = ((fdet_coord * g.fdet[c] + sdet_coord * g.sdet[c]) + odet_coord * g.odet[c]) + g.pix0[c];
    air = sqrt_v(((pos[0] * pos[0] + pos[1] * pos[1]) + pos[2] * pos[2]));
    for (int c = 0; c < 3; ++c) d[c] = pos[c] / air;
  }
};

// out[pixel] = I_bg + sum over its paths, in (layer, sub-pixel, source) order, of the path's
// step sum (the run dtype's value, widened) -- what paths.py + forward_blocks + the
// sequential sum of render.py give, for the pixels [p_begin, p_end) (p_begin a multiple of kGroup).
template <class T>
NB_INLINE void forward_pixel_blocks(const Problem& p, const PixelGeometry& g, double* out, int64_t p_begin,
                                    int64_t p_end) {
  typedef Block<T> B;
  typedef typename B::VT VT;
  typedef typename B::VD VD;
  typedef typename B::MT MT;
  constexpr int W = B::W;
  const bool lookup = p.table != nullptr;
  for (int64_t p0 = p_begin; p0 < p_end; p0 += W) {
    const int valid = (int)((g.pixels - p0) < W ? (g.pixels - p0) : W);
    VD fp, sp;
    for (int j = 0; j < W; ++j) {
      const int64_t r = g.pix[p0 + (j < valid ? j : valid - 1)];  // padding lanes repeat a pixel
      fp[j] = (double)(r % g.fpixels);
      sp[j] = (double)(r / g.fpixels);
    }
    VD I = splat<VD>(g.I_bg);
    for (int64_t t = 0; t < g.layers; ++t) {
      for (int64_t is = 0; is < g.oversample; ++is) {
        for (int64_t jf = 0; jf < g.oversample; ++jf) {
          const SubPixel<VD> sub(g, fp, sp, t, is, jf);
          const VD* d = sub.d;
          for (int64_t r = 0; r < g.sources; ++r) {
            const double lam = g.wavelength[r];
            VD q[3];
            for (int c = 0; c < 3; ++c) q[c] = (d[c] + g.source[3 * r + c]) / lam;
            MT big = {};
            VT acc = block_sum<T, false>(p, q, &big);
            if (__builtin_expect(any_lane(big), 0)) acc = block_sum<T, true>(p, q, &big);
            if (!lookup) {
              const T dF = (T)p.default_F;
              acc = acc * (dF * dF);
            }
            I = I + __builtin_convertvector(acc, VD);
          }
        }
      }
    }
    for (int j = 0; j < valid; ++j) out[p0 + j] = I[j];
  }
}

// The vector-Jacobian product of one block of paths (lanes), steps in order: the cells' (into
// cell_acc slot `slot`), N's, default_F's (slot) and the table's (scatter) gradients are
// accumulated; gq receives d/dq of the block's paths.  gout: the incoming gradient per lane.
template <class T>
NB_INLINE void path_vjp(const Problem& p, const typename Block<T>::VD* q, typename Block<T>::VT gout, int slot,
                        typename Block<T>::VD (*gN)[kGroup / Block<T>::W], typename Block<T>::VD* gdef,
                        typename Block<T>::VD* cell_acc, double* gtable, typename Block<T>::VD* gq) {
  typedef Block<T> B;
  typedef typename B::VT VT;
  typedef typename B::VD VD;
  typedef typename B::MT MT;
  constexpr int W = B::W;
  constexpr int R = kGroup / W;
  const bool lookup = p.table != nullptr;
  const bool reduce = sizeof(T) == 4;
  const T N[3] = {(T)p.n_cells[0], (T)p.n_cells[1], (T)p.n_cells[2]};
  const T dF = (T)p.default_F;
  gq[0] = gq[1] = gq[2] = VD{};
  for (int64_t s = 0; s < p.steps; ++s) {
    const double* cell = p.cells + 9 * s;
    StepEval<T> e;
    indices<T>(p, cell, q, e);
    VT r[3], dr_dx[3], dr_dN[3];
    VT sn[3], cn[3], sx[3], cx[3];
    MT big = {};
    for (int a = 0; a < 3; ++a) {
      sincos_pi<T, W>(e.x[a] * N[a], &sn[a], &cn[a], &big);
      sincos_pi<T, W>(e.x[a], &sx[a], &cx[a], &big);
    }
    if (__builtin_expect(any_lane(big), 0)) {  // per lane: the other lanes keep their values
      for (int a = 0; a < 3; ++a) {
        sincos_checked<T, W>(e.x[a] * N[a], &sn[a], &cn[a]);
        sincos_checked<T, W>(e.x[a], &sx[a], &cx[a]);
      }
    }
    for (int a = 0; a < 3; ++a) {
      VT x = e.x[a];
      MT zero = is_zero<VT, MT>(x);
      VT inv = splat<VT>(1) / sx[a];  // one division per axis (derivatives only)
      VT ratio = sn[a] * inv;
      r[a] = select<VT, MT>(zero, splat<VT>(N[a]), ratio);
      // d/dx sin(Nx)/sin(x) and d/dN; at x == 0 the value N is taken (dx: 0, dN: 1)
      VT dx = (N[a] * cn[a]) * inv - ratio * (cx[a] * inv);
      dr_dx[a] = select<VT, MT>(zero, splat<VT>(0), dx);
      dr_dN[a] = select<VT, MT>(zero, splat<VT>(1), (x * cn[a]) * inv);
    }
    VT latt = (r[0] * r[1]) * r[2];
    VT F = lookup ? e.F : splat<VT>(dF);
    VT F2 = F * F;
    // d(F^2 latt^2)/d latt and /dF, times the incoming gradient
    VT gl = gout * ((F2 + F2) * latt);
    VT gF = gout * ((F + F) * (latt * latt));
    const VT others[3] = {r[1] * r[2], r[0] * r[2], r[0] * r[1]};
    for (int a = 0; a < 3; ++a) {
      VT gxa = gl * others[a] * dr_dx[a];
      gN[a][slot] += __builtin_convertvector(gl * others[a] * dr_dN[a], VD);
      VD gh = reduce ? __builtin_convertvector(gxa * (T)M_PI, VD) : __builtin_convertvector(gxa, VD) * M_PI;
      const double* row = cell + 3 * a;
      gq[0] += gh * row[0];
      gq[1] += gh * row[1];
      gq[2] += gh * row[2];
      VD* acc = cell_acc + (9 * s + 3 * a) * R + slot;
      acc[0] += gh * q[0];
      acc[R] += gh * q[1];
      acc[2 * R] += gh * q[2];
    }
    if (lookup) {
      for (int j = 0; j < W; ++j) {
        if (e.flat[j] >= 0) {
          if (gtable) gtable[e.flat[j]] += (double)gF[j];
        } else {
          gdef[slot][j] += (double)gF[j];
        }
      }
    } else {
      gdef[slot] += __builtin_convertvector(gF, VD);
    }
  }
}

// the lanes of the slot accumulators summed in slot-major order (the same for every lane count)
template <class VD, int R>
NB_INLINE double slot_sum(const VD* acc, int stride = 1) {
  constexpr int W = sizeof(VD) / sizeof(double);
  double t = 0;
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < W; ++j) t += acc[r * stride][j];
  return t;
}

// Vector-Jacobian product over the paths [p_begin, p_end) (p_begin a multiple of kGroup):
// grad_out (paths,) -> gradients of the cells (accumulated into g.cells, per thread), of q
// (written), of N, default_F and the table (accumulated).  Sums over paths go through
// kGroup slots (slot = path mod kGroup), each summed in path order and the slots in slot
// order at the end: the same additions for every lane count.  (The table's scatter-add
// follows the block order, so table gradients may differ in the last bit between vector
// widths.)  cell_acc: steps * 9 * kGroup doubles of scratch, aligned to the vector.
template <class T>
NB_INLINE void backward_blocks(const Problem& p, const T* grad_out, Gradients& g, int64_t p_begin, int64_t p_end,
                               typename Block<T>::VD* cell_acc) {
  typedef Block<T> B;
  typedef typename B::VT VT;
  typedef typename B::VD VD;
  constexpr int W = B::W;
  constexpr int R = kGroup / W;  // vectors per group
  static_assert(kGroup % W == 0, "the lane count divides the group");
  VD gN[3][R] = {};
  VD gdef[R] = {};
  for (int64_t i = 0; i < p.steps * 9 * R; ++i) cell_acc[i] = VD{};
  for (int64_t p0 = p_begin; p0 < p_end; p0 += W) {
    const int slot = (int)((p0 / W) % R);
    VD q[3];
    int valid;
    load_q<T>(p, p0, q, &valid);
    VT gout = {};
    for (int j = 0; j < valid; ++j) gout[j] = grad_out[p0 + j];
    VD gq[3];
    path_vjp<T>(p, q, gout, slot, gN, gdef, cell_acc, g.table, gq);
    for (int c = 0; c < 3; ++c)
      for (int j = 0; j < valid; ++j) g.q[c * p.paths + p0 + j] = gq[c][j];
  }
  for (int64_t i = 0; i < p.steps * 9; ++i) g.cells[i] += slot_sum<VD, R>(cell_acc + i * R);
  for (int a = 0; a < 3; ++a) g.n_cells[a] += slot_sum<VD, R>(gN[a]);
  g.default_F += slot_sum<VD, R>(gdef);
}

// Vector-Jacobian product of forward_pixel_blocks over the pixels [p_begin, p_end):
// grad_out (pixels,) float64 = dL/d(pixel sum) -> the path gradients of path_vjp for every
// path of the pixel (in the run dtype, as the path route's cast), then through
// q = (d + s) / lambda, d = pos / |pos|, pos = fdet_coord fdet + sdet_coord sdet +
// odet_coord odet + pix0 to the geometry.  scratch: (steps * 9 + (13 + 4 * sources)) * kGroup
// doubles, aligned to the vector.
template <class T>
NB_INLINE void backward_pixel_blocks(const Problem& p, const PixelGeometry& geo, const double* grad_out, Gradients& g,
                                     PixelGradients& pg, int64_t p_begin, int64_t p_end, typename Block<T>::VD* scratch) {
  typedef Block<T> B;
  typedef typename B::VT VT;
  typedef typename B::VD VD;
  constexpr int W = B::W;
  constexpr int R = kGroup / W;
  static_assert(kGroup % W == 0, "the lane count divides the group");
  VD gN[3][R] = {};
  VD gdef[R] = {};
  VD* cell_acc = scratch;
  VD* gvec = scratch + p.steps * 9 * R;   // fdet, sdet, odet, pix0 (3 each), subpixel: 13 * R
  VD* gsrc = gvec + 13 * R;                // per source: 3 components and the wavelength: 4 * R
  const int64_t n_scratch = (p.steps * 9 + 13 + 4 * geo.sources) * R;
  for (int64_t i = 0; i < n_scratch; ++i) scratch[i] = VD{};
  for (int64_t p0 = p_begin; p0 < p_end; p0 += W) {
    const int slot = (int)((p0 / W) % R);
    const int valid = (int)((geo.pixels - p0) < W ? (geo.pixels - p0) : W);
    VD fp, sp, gI = {};
    for (int j = 0; j < W; ++j) {
      const int64_t r = geo.pix[p0 + (j < valid ? j : valid - 1)];
      fp[j] = (double)(r % geo.fpixels);
      sp[j] = (double)(r / geo.fpixels);
      if (j < valid) gI[j] = grad_out[p0 + j];  // padding lanes: no gradient
    }
    const VT gout = __builtin_convertvector(gI, VT);
    for (int64_t t = 0; t < geo.layers; ++t) {
      for (int64_t is = 0; is < geo.oversample; ++is) {
        for (int64_t jf = 0; jf < geo.oversample; ++jf) {
          const SubPixel<VD> sub(geo, fp, sp, t, is, jf);
          const VD* d = sub.d;
          const VD &f_idx = sub.f_idx, &s_idx = sub.s_idx, &fdet_coord = sub.fdet_coord, &sdet_coord = sub.sdet_coord,
                   &air = sub.air;
          const double odet_coord = sub.odet_coord;
          VD gd[3] = {};
          for (int64_t r = 0; r < geo.sources; ++r) {
            const double lam = geo.wavelength[r];
            VD q[3];
            for (int c = 0; c < 3; ++c) q[c] = (d[c] + geo.source[3 * r + c]) / lam;
            VD gq[3];
            path_vjp<T>(p, q, gout, slot, gN, gdef, cell_acc, g.table, gq);
            VD* gs = gsrc + 4 * R * r + slot;
            VD glam = {};
            for (int c = 0; c < 3; ++c) {
              VD gql = gq[c] / lam;  // d q_c / d (d_c or s_c) = 1 / lambda
              gd[c] += gql;
              gs[c * R] += gql;
              glam -= gql * q[c];  // d q_c / d lambda = -q_c / lambda
            }
            gs[3 * R] += glam;
          }
          // d = pos / |pos|: d d / d pos = (I - d d^T) / |pos|
          VD dg = (d[0] * gd[0] + d[1] * gd[1]) + d[2] * gd[2];
          VD gpos[3];
          for (int c = 0; c < 3; ++c) gpos[c] = (gd[c] - d[c] * dg) / air;
          VD gsub = {};
          for (int c = 0; c < 3; ++c) {
            gvec[(0 + c) * R + slot] += gpos[c] * fdet_coord;
            gvec[(3 + c) * R + slot] += gpos[c] * sdet_coord;
            gvec[(6 + c) * R + slot] += gpos[c] * odet_coord;
            gvec[(9 + c) * R + slot] += gpos[c];
            // fdet_coord = subpixel (f_idx + 1/2): d / d subpixel = f_idx + 1/2
            gsub += gpos[c] * (geo.fdet[c] * (f_idx + 0.5) + geo.sdet[c] * (s_idx + 0.5));
          }
          gvec[12 * R + slot] += gsub;
        }
      }
    }
  }
  for (int64_t i = 0; i < p.steps * 9; ++i) g.cells[i] += slot_sum<VD, R>(cell_acc + i * R);
  for (int a = 0; a < 3; ++a) g.n_cells[a] += slot_sum<VD, R>(gN[a]);
  g.default_F += slot_sum<VD, R>(gdef);
  double* dst[4] = {pg.fdet, pg.sdet, pg.odet, pg.pix0};
  for (int v = 0; v < 4; ++v)
    for (int c = 0; c < 3; ++c) dst[v][c] += slot_sum<VD, R>(gvec + (3 * v + c) * R);
  pg.subpixel_m += slot_sum<VD, R>(gvec + 12 * R);
  for (int64_t r = 0; r < geo.sources; ++r) {
    for (int c = 0; c < 3; ++c) pg.source[3 * r + c] += slot_sum<VD, R>(gsrc + 4 * R * r + c * R);
    pg.wavelength[r] += slot_sum<VD, R>(gsrc + 4 * R * r + 3 * R);
  }
}

}  // inline namespace NB_ISA_TAG
}  // namespace nbfused
