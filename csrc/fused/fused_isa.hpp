// Entry points of the block loops, one set per instruction set (fused_isa.inc).
#pragma once
#include <cstdint>

namespace nbfused {
struct Problem;
struct Gradients;
struct PixelGeometry;
struct PixelGradients;
struct Kernels {
  void (*forward_f64)(const Problem&, double*, int64_t, int64_t);
  void (*forward_f32)(const Problem&, float*, int64_t, int64_t);
  void (*backward_f64)(const Problem&, const double*, Gradients&, int64_t, int64_t, void*);
  void (*backward_f32)(const Problem&, const float*, Gradients&, int64_t, int64_t, void*);
  void (*pixels_f64)(const Problem&, const PixelGeometry&, double*, int64_t, int64_t);
  void (*pixels_f32)(const Problem&, const PixelGeometry&, double*, int64_t, int64_t);
  void (*pixels_backward_f64)(const Problem&, const PixelGeometry&, const double*, Gradients&, PixelGradients&, int64_t, int64_t, void*);
  void (*pixels_backward_f32)(const Problem&, const PixelGeometry&, const double*, Gradients&, PixelGradients&, int64_t, int64_t, void*);
  void (*sin_f64)(const double*, double*, int64_t, bool);
  void (*sin_f32)(const float*, float*, int64_t, bool);
};
}  // namespace nbfused

#define NB_DECLARE_ISA(ns)                                                                 \
  namespace ns {                                                                           \
  void forward_f64(const nbfused::Problem&, double*, int64_t, int64_t);                     \
  void forward_f32(const nbfused::Problem&, float*, int64_t, int64_t);                     \
  void backward_f64(const nbfused::Problem&, const double*, nbfused::Gradients&, int64_t, int64_t, void*); \
  void backward_f32(const nbfused::Problem&, const float*, nbfused::Gradients&, int64_t, int64_t, void*);  \
  void pixels_f64(const nbfused::Problem&, const nbfused::PixelGeometry&, double*, int64_t, int64_t);       \
  void pixels_f32(const nbfused::Problem&, const nbfused::PixelGeometry&, double*, int64_t, int64_t);       \
  void pixels_backward_f64(const nbfused::Problem&, const nbfused::PixelGeometry&, const double*, nbfused::Gradients&, \
                           nbfused::PixelGradients&, int64_t, int64_t, void*);                             \
  void pixels_backward_f32(const nbfused::Problem&, const nbfused::PixelGeometry&, const double*, nbfused::Gradients&, \
                           nbfused::PixelGradients&, int64_t, int64_t, void*);                             \
  void sin_f64(const double*, double*, int64_t, bool);                                                      \
  void sin_f32(const float*, float*, int64_t, bool);                                                        \
  }

NB_DECLARE_ISA(nbfused_base)
#ifdef NB_FUSED_X86_ISAS
NB_DECLARE_ISA(nbfused_avx2)
NB_DECLARE_ISA(nbfused_avx512)
#endif
