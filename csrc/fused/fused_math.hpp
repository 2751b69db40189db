// Lane-wise math for the fused kernel: GCC/Clang vector extensions, IEEE operations only.
//
// Every function works lane by lane with the same sequence of IEEE-754 additions,
// multiplications, divisions and comparisons, in source order (the kernel is built
// with -ffp-contract=off and without fast-math), so a lane's result does not depend
// on the vector width the compiler splits these types into (SSE2, AVX2, AVX-512):
// float64 images are the same on every x86-64 CPU.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#ifdef NB_FMA
#include <immintrin.h>
#endif

// The lane width differs between the translation units of the instruction sets (NB_VEC_BYTES),
// so every type and template that depends on it lives in a namespace of its own per unit
// (fused_isa.inc names it): one program never sees two definitions of one name (ODR).
#ifndef NB_ISA_TAG
#define NB_ISA_TAG lanes_default
#endif

namespace nbfused {
inline namespace NB_ISA_TAG {

#define NB_INLINE static inline __attribute__((always_inline))

//: bytes of the hardware vector this translation unit is compiled for (fused_isa_*.cpp)
#ifndef NB_VEC_BYTES
#define NB_VEC_BYTES 16
#endif
//: lanes per block: one hardware vector of the run dtype (AVX-512: 8 float64 / 16 float32)
template <class T>
struct Lanes {
  static constexpr int W = NB_VEC_BYTES / sizeof(T);
};
//: paths per group: the unit of the thread partition and of the gradient sums, the same for
//: every lane count (16 = the most lanes of any instruction set), so that gradients too do
//: not depend on the vector width
constexpr int kGroup = 16;

template <class T, int W>
struct VecT {
  typedef T type __attribute__((vector_size(W * sizeof(T))));
};

// the integer vector a comparison of VecT<T, W> yields
template <class T, int W>
struct MaskT;
template <int W>
struct MaskT<double, W> {
  typedef long long type __attribute__((vector_size(W * 8)));
};
template <int W>
struct MaskT<float, W> {
  typedef int type __attribute__((vector_size(W * 4)));
};

template <class V>
NB_INLINE V splat(typename std::remove_reference<decltype(V{}[0])>::type x) {
  V v;
  for (int j = 0; j < (int)(sizeof(V) / sizeof(v[0])); ++j) v[j] = x;  // (0 + x would turn -0 into +0)
  return v;
}

// Lane select m ? a : b by bit operations (m: all ones or all zeros per lane, what a vector
// comparison yields).  GCC lowers the vector ?: of wide generic vectors lane by lane through
// scalar branches; the bitwise form compiles to a few vector logic instructions.
template <class V, class M>
NB_INLINE V select(M m, V a, V b) {
  return (V)(((M)a & m) | ((M)b & ~m));
}

// x == 0 lane by lane (false for NaN) from two ordered comparisons (see the quadrant below)
template <class V, class M>
NB_INLINE M is_zero(V x) {
  const V zero = splat<V>(0);
  return (M)((x <= zero) & (x >= zero));
}

// Round to the nearest integer (ties to even) for |v| < 2^(mantissa bits - 1): adding and
// removing 1.5 * 2^mantissa leaves the integer part in the mantissa (exact IEEE steps).
template <class T>
struct RoundConst;
template <>
struct RoundConst<double> {
  static constexpr double value = 6755399441055744.0;  // 1.5 * 2^52
};
template <>
struct RoundConst<float> {
  static constexpr float value = 12582912.0f;  // 1.5 * 2^23
};

template <class V, class T>
NB_INLINE V rint_small(V v) {
  // (without fast-math the compiler keeps (v + k) - k as written: IEEE forbids folding it)
  const V k = splat<V>(RoundConst<T>::value);
  return (v + k) - k;
}

// a * b + c: one fused multiply-add (one rounding) where the instruction set has it
// (NB_FMA: the AVX2+FMA and AVX-512 builds, which therefore agree bit for bit), else a
// multiplication and an addition (the SSE2 baseline: last-bit differences, stated in the spec).
template <class V>
NB_INLINE V mul_add(V a, V b, V c) {
#ifdef NB_FMA
  // the instructions themselves (GCC 12 at -O3 miscompiled the lane loop of __builtin_fma
  // inside the AVX-512 step loop: wrong sums, found by the tests)
  typedef typename std::remove_reference<decltype(a[0])>::type T;
  constexpr bool dbl = std::is_same<T, double>::value;
#if NB_VEC_BYTES >= 64
  if constexpr (sizeof(V) == 64 && dbl) return (V)_mm512_fmadd_pd((__m512d)a, (__m512d)b, (__m512d)c);
  if constexpr (sizeof(V) == 64 && !dbl) return (V)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#endif
  if constexpr (sizeof(V) == 32 && dbl) return (V)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)c);
  if constexpr (sizeof(V) == 32 && !dbl) return (V)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c);
  if constexpr (sizeof(V) == 16 && dbl) return (V)_mm_fmadd_pd((__m128d)a, (__m128d)b, (__m128d)c);
  if constexpr (sizeof(V) == 16 && !dbl) return (V)_mm_fmadd_ps((__m128)a, (__m128)b, (__m128)c);
  constexpr int n = sizeof(V) / sizeof(T);
  V r;
  for (int j = 0; j < n; ++j) r[j] = dbl ? __builtin_fma(a[j], b[j], c[j]) : __builtin_fmaf(a[j], b[j], c[j]);
  return r;
#else
  return a * b + c;
#endif
}

// the lowest bit of each lane of t moved to the sign bit (unsigned: a shift into the sign bit
// of a signed integer is undefined behaviour before C++20)
template <class V, class M>
NB_INLINE M parity_sign(V t, int shift) {
  typedef typename std::make_unsigned<typename std::remove_reference<decltype(M{}[0])>::type>::type U;
  typedef U UV __attribute__((vector_size(sizeof(M))));
  return (M)(((UV)t) << (U)shift);
}

// ---------------------------------------------------------------------------------------
// sin alone, for the forward pass: reduction by multiples of pi (not pi/2), so one odd
// polynomial on |r| <= pi/2 serves every lane, and the sign is the parity of n.  About a
// third of the operations of sincos_v.  Within about an ulp of the exact value (Taylor
// through r^21 / r^13: truncation below 2e-18 / 7e-10 relative on |r| <= pi/2).
template <class T>
struct TrigPi;
template <>
struct TrigPi<double> {
  static constexpr double inv_pi = 0x1.45f306dc9c883p-2;
  static constexpr double p1 = 0x1.921fb54400000p+1;  // 33 bits: n * p1 exact for |n| < 2^20
  static constexpr double p2 = 0x1.0b4611a600000p-33; // 33 bits
  static constexpr double p3 = 0x1.3198a2e037073p-68;
  static constexpr double limit = 3.2e6;  // |x| < limit: |n| < 2^20
  static constexpr int sign_shift = 63;
};
template <>
struct TrigPi<float> {
  static constexpr float inv_pi = 0x1.45f306p-2f;
  static constexpr float p1 = 0x1.92p+1f;      // 8 bits: n * p1 exact for |n| < 2^11
  static constexpr float p2 = 0x1.fb4p-11f;    // 12 bits
  static constexpr float p3 = 0x1.4442d2p-23f;
  static constexpr float limit = 6400.0f;      // |n| < 2^11
  static constexpr int sign_shift = 31;
};

template <class T>
struct PolyPi;
template <>
struct PolyPi<double> {
  template <class V>
  NB_INLINE V cos_r(V r) {
    V r2 = r * r;
    V p = splat<V>(-1.0 / 1124000727777607680000.0);  // -1/22!
    p = mul_add(p, r2, splat<V>(1.0 / 2432902008176640000.0));          // 1/20!
    p = mul_add(p, r2, splat<V>(-1.0 / 6402373705728000.0));             // 1/18!
    p = mul_add(p, r2, splat<V>(1.0 / 20922789888000.0));               // 1/16!
    p = mul_add(p, r2, splat<V>(-1.0 / 87178291200.0));                  // 1/14!
    p = mul_add(p, r2, splat<V>(1.0 / 479001600.0));                    // 1/12!
    p = mul_add(p, r2, splat<V>(-1.0 / 3628800.0));                      // 1/10!
    p = mul_add(p, r2, splat<V>(1.0 / 40320.0));
    p = mul_add(p, r2, splat<V>(-1.0 / 720.0));
    p = mul_add(p, r2, splat<V>(1.0 / 24.0));
    V h = r2 * 0.5;
    return mul_add(r2 * r2, p, 1.0 - h);
  }
  template <class V>
  NB_INLINE V sin_r(V r) {
    V r2 = r * r;
    V p = splat<V>(-1.0 / 51090942171709440000.0);  // -1/21!
    p = mul_add(p, r2, splat<V>(1.0 / 121645100408832000.0));         // 1/19!
    p = mul_add(p, r2, splat<V>(-1.0 / 355687428096000.0));            // 1/17!
    p = mul_add(p, r2, splat<V>(1.0 / 1307674368000.0));              // 1/15!
    p = mul_add(p, r2, splat<V>(-1.0 / 6227020800.0));                 // 1/13!
    p = mul_add(p, r2, splat<V>(1.0 / 39916800.0));                   // 1/11!
    p = mul_add(p, r2, splat<V>(-1.0 / 362880.0));                     // 1/9!
    p = mul_add(p, r2, splat<V>(1.0 / 5040.0));
    p = mul_add(p, r2, splat<V>(-1.0 / 120.0));
    p = mul_add(p, r2, splat<V>(1.0 / 6.0));
    return mul_add(-(r * r2), p, r);
  }
};
template <>
struct PolyPi<float> {
  template <class V>
  NB_INLINE V cos_r(V r) {
    V r2 = r * r;
    V p = splat<V>(-1.0f / 87178291200.0f);  // -1/14!
    p = mul_add(p, r2, splat<V>(1.0f / 479001600.0f));
    p = mul_add(p, r2, splat<V>(-1.0f / 3628800.0f));
    p = mul_add(p, r2, splat<V>(1.0f / 40320.0f));
    p = mul_add(p, r2, splat<V>(-1.0f / 720.0f));
    p = mul_add(p, r2, splat<V>(1.0f / 24.0f));
    V h = r2 * 0.5f;
    return mul_add(r2 * r2, p, 1.0f - h);
  }
  template <class V>
  NB_INLINE V sin_r(V r) {
    V r2 = r * r;
    V p = splat<V>(-1.0f / 6227020800.0f);  // -1/13!
    p = mul_add(p, r2, splat<V>(1.0f / 39916800.0f));
    p = mul_add(p, r2, splat<V>(-1.0f / 362880.0f));
    p = mul_add(p, r2, splat<V>(1.0f / 5040.0f));
    p = mul_add(p, r2, splat<V>(-1.0f / 120.0f));
    p = mul_add(p, r2, splat<V>(1.0f / 6.0f));
    return mul_add(-(r * r2), p, r);
  }
};

// x = n pi + r with n = rint(x / pi) and |r| <= pi/2 (three-part Cody-Waite, exact for
// |x| < TrigPi<T>::limit); *sign: the sign bit set in the lanes with n odd ((-1)^n).
template <class T, int W>
NB_INLINE typename VecT<T, W>::type reduce_pi(typename VecT<T, W>::type x, typename MaskT<T, W>::type* sign) {
  typedef typename VecT<T, W>::type V;
  typedef typename MaskT<T, W>::type M;
  typedef TrigPi<T> K;
  const V magic = splat<V>(RoundConst<T>::value);
  V t = x * K::inv_pi + magic;  // rounds x / pi to the integer n; n's parity is t's lowest bit
  V n = t - magic;
  *sign = parity_sign<V, M>(t, K::sign_shift);
  return mul_add(-n, splat<V>(K::p3), mul_add(-n, splat<V>(K::p2), mul_add(-n, splat<V>(K::p1), x)));
}

// sin of every lane with |x| < TrigPi<T>::limit (other lanes: any value, and their bit is set
// in *big, to be redone by sin_checked).  small: the caller guarantees |x| <= pi/2 (n = 0).
template <class T, int W, bool small = false>
NB_INLINE typename VecT<T, W>::type sin_v(typename VecT<T, W>::type x, typename MaskT<T, W>::type* big) {
  typedef typename VecT<T, W>::type V;
  typedef typename MaskT<T, W>::type M;
  typedef TrigPi<T> K;
  const M signbit = (M)splat<V>((T)-0.0);
  V ax = (V)((M)x & ~signbit);
  if (small) {
    *big |= ~(M)(ax < splat<V>((T)2));  // (a caller's broken promise: NaN, huge indices)
    return PolyPi<T>::template sin_r<V>(x);
  }
  M sign;
  V r = reduce_pi<T, W>(x, &sign);
  *big |= ~(M)(ax < splat<V>(K::limit));  // also NaN and inf
  return (V)((M)PolyPi<T>::template sin_r<V>(r) ^ sign);
}

// sin_v with the lanes beyond its range (and NaN/inf) from the C library's sin, per lane.
template <class T, int W, bool small = false>
NB_INLINE typename VecT<T, W>::type sin_checked(typename VecT<T, W>::type x) {
  typedef typename MaskT<T, W>::type M;
  M big = {};
  auto s = sin_v<T, W, small>(x, &big);
  for (int j = 0; j < W; ++j)
    if (big[j]) s[j] = (T)std::sin((double)x[j]);
  return s;
}

// sin and cos of every lane for the backward pass: the reduction of sin_v, cos x =
// (-1)^n cos r.  cos r near r = +-pi/2 is accurate to about an ulp of 1 (absolute), enough
// for derivatives.  Lanes beyond the range flag *big (redo with sincos_checked).
template <class T, int W>
NB_INLINE void sincos_pi(typename VecT<T, W>::type x, typename VecT<T, W>::type* s_out,
                         typename VecT<T, W>::type* c_out, typename MaskT<T, W>::type* big) {
  typedef typename VecT<T, W>::type V;
  typedef typename MaskT<T, W>::type M;
  typedef TrigPi<T> K;
  const M signbit = (M)splat<V>((T)-0.0);
  V ax = (V)((M)x & ~signbit);
  M sign;
  V r = reduce_pi<T, W>(x, &sign);
  *s_out = (V)((M)PolyPi<T>::template sin_r<V>(r) ^ sign);
  *c_out = (V)((M)PolyPi<T>::template cos_r<V>(r) ^ sign);
  *big |= ~(M)(ax < splat<V>(K::limit));
}

// sincos_pi with the lanes beyond its range from the C library, per lane.
template <class T, int W>
NB_INLINE void sincos_checked(typename VecT<T, W>::type x, typename VecT<T, W>::type* s_out,
                              typename VecT<T, W>::type* c_out) {
  typename MaskT<T, W>::type big = {};
  sincos_pi<T, W>(x, s_out, c_out, &big);
  for (int j = 0; j < W; ++j) {
    if (big[j]) {
      (*s_out)[j] = (T)std::sin((double)x[j]);
      (*c_out)[j] = (T)std::cos((double)x[j]);
    }
  }
}

// square root lane by lane (correctly rounded, like torch.sqrt)
template <class V>
NB_INLINE V sqrt_v(V x) {
  constexpr int n = sizeof(V) / sizeof(x[0]);
  V r;
  for (int j = 0; j < n; ++j) r[j] = __builtin_sqrt(x[j]);
  return r;
}

// whether any lane of a mask is set
template <class M>
NB_INLINE bool any_lane(M m) {
  constexpr int n = sizeof(M) / sizeof(m[0]);
  typedef typename std::remove_reference<decltype(m[0])>::type I;
  I lanes[n];
  __builtin_memcpy(lanes, &m, sizeof(m));
  I acc = 0;
  for (int j = 0; j < n; ++j) acc |= lanes[j];
  return acc != 0;
}

}  // inline namespace NB_ISA_TAG
}  // namespace nbfused
