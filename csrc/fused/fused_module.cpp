// nanobrag._fused: the fused hot kernel on raw buffers (numpy arrays), bound with pybind11.
//
// No libtorch: the torch engine hands over CPU tensors as numpy views
// (nanobrag/torch_impl/fused.py wraps these functions in a torch.autograd.Function).
// The work is split over OpenMP threads by contiguous blocks of paths; inside a thread
// each vector lane is one path.  One build serves every x86-64 CPU: the block loops are
// compiled for AVX-512, AVX2 and the baseline (fused_isa_*.cpp) with identical per-lane
// arithmetic, so results do not depend on which one runs.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef NB_FUSED_OPENMP
#include <omp.h>
#endif

#include "fused_isa.hpp"
#include "fused_kernel.hpp"

namespace py = pybind11;
using namespace nbfused;

// the block loops of the best instruction set of this CPU (same per-lane arithmetic in each),
// or of the one asked for ("baseline", "avx2", "avx512f"; tests compare them)
static Kernels pick_kernels(std::string* name, const std::string& want = "") {
#ifdef NB_FUSED_X86_ISAS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma") && (want.empty() || want == "avx512f")) {
    *name = "avx512f:64";
    return {nbfused_avx512::forward_f64, nbfused_avx512::forward_f32, nbfused_avx512::backward_f64, nbfused_avx512::backward_f32,
          nbfused_avx512::pixels_f64, nbfused_avx512::pixels_f32,
          nbfused_avx512::pixels_backward_f64, nbfused_avx512::pixels_backward_f32, nbfused_avx512::sin_f64, nbfused_avx512::sin_f32};
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && (want.empty() || want == "avx2")) {
    *name = "avx2:32";
    return {nbfused_avx2::forward_f64, nbfused_avx2::forward_f32, nbfused_avx2::backward_f64, nbfused_avx2::backward_f32,
          nbfused_avx2::pixels_f64, nbfused_avx2::pixels_f32,
          nbfused_avx2::pixels_backward_f64, nbfused_avx2::pixels_backward_f32, nbfused_avx2::sin_f64, nbfused_avx2::sin_f32};
  }
#endif
  if (!want.empty() && want != "baseline") throw std::invalid_argument("nanobrag._fused: " + want + " is not available here");
  *name = "baseline:16";
  return {nbfused_base::forward_f64, nbfused_base::forward_f32, nbfused_base::backward_f64, nbfused_base::backward_f32,
          nbfused_base::pixels_f64, nbfused_base::pixels_f32,
          nbfused_base::pixels_backward_f64, nbfused_base::pixels_backward_f32, nbfused_base::sin_f64, nbfused_base::sin_f32};
}

static std::string g_isa;
static Kernels g_kernels = pick_kernels(&g_isa);

//: which instruction set the block loops run with on this CPU (for benchmarks and reports)
static std::string isa() { return g_isa.substr(0, g_isa.find(':')); }
//: bytes of its vectors (lanes = bytes / 8 in float64, / 4 in float32)
static int vector_bytes() { return std::stoi(g_isa.substr(g_isa.find(':') + 1)); }

typedef py::array_t<double, py::array::c_style | py::array::forcecast> ArrD;

template <class T>
using ArrC = py::array_t<T, py::array::c_style | py::array::forcecast>;

// the structure-factor table in the run dtype (held by `holder`), or null without one
template <class T>
static const py::array* run_table(py::object obj, ArrC<T>& holder) {
  if (obj.is_none()) return nullptr;
  holder = ArrC<T>::ensure(obj);
  if (!holder) throw std::invalid_argument("nanobrag._fused: table must be an array of the run dtype");
  return &holder;
}

static int threads_for(int nthreads, int64_t blocks);

// n doubles of zeroed scratch in `holder`, aligned to 128 bytes (any vector size)
static void* aligned_scratch(std::vector<double>& holder, int64_t n) {
  holder.assign(n + 16, 0.0);
  uintptr_t addr = reinterpret_cast<uintptr_t>(holder.data());
  return reinterpret_cast<void*>((addr + 127) / 128 * 128);
}

// threads for `items` paths or pixels split in groups of kGroup
static int threads_for_items(int64_t items, int nthreads) {
  return threads_for(nthreads, (items + kGroup - 1) / kGroup);
}

// body(thread, begin, end) on up to nt threads (GIL released), each over a contiguous run of
// whole groups of kGroup items: the partition never splits a group, whatever the thread count
template <class F>
static void parallel_groups(int64_t items, int nt, F&& body) {
  const int64_t groups = (items + kGroup - 1) / kGroup;
  py::gil_scoped_release release;
#ifdef NB_FUSED_OPENMP
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    const int n = omp_get_num_threads();
    body(t, std::min(items, groups * t / n * kGroup), std::min(items, groups * (t + 1) / n * kGroup));
  }
#else
  (void)nt;
  body(0, (int64_t)0, items);
#endif
}

typedef py::array_t<float, py::array::c_style | py::array::forcecast> ArrF;

static void check(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("nanobrag._fused: " + what);
}

static Problem problem(const ArrD& cells, const ArrD& q, py::tuple n_cells, double default_F, const py::array* table,
                       py::tuple hkl_min, py::tuple hkl_max) {
  check(cells.ndim() == 3 && cells.shape(1) == 3 && cells.shape(2) == 3, "cells must have shape (steps, 3, 3)");
  check(q.ndim() == 2 && q.shape(0) == 3, "q must have shape (3, paths)");
  check(n_cells.size() == 3 && hkl_min.size() == 3 && hkl_max.size() == 3, "n_cells, hkl_min, hkl_max take 3 values");
  Problem p;
  p.cells = cells.data();
  p.steps = cells.shape(0);
  p.q = q.data();
  p.paths = q.shape(1);
  p.q_stride = q.shape(1);
  for (int a = 0; a < 3; ++a) {
    p.n_cells[a] = n_cells[a].cast<double>();
    p.hkl_min[a] = (double)hkl_min[a].cast<int64_t>();
    p.hkl_max[a] = (double)hkl_max[a].cast<int64_t>();
  }
  p.default_F = default_F;
  if (table) {
    check(table->ndim() == 3, "table must have shape (hn, kn, ln)");
    for (int a = 0; a < 3; ++a) {
      p.dims[a] = table->shape(a);
      check(p.hkl_max[a] - p.hkl_min[a] + 1 == (double)p.dims[a], "table shape does not match hkl_min/hkl_max");
    }
    p.table = table->data();
  }
  return p;
}

static int threads_for(int nthreads, int64_t blocks) {
  int t = std::max(1, nthreads);
  return (int)std::min<int64_t>(t, std::max<int64_t>(1, blocks));
}

template <class T>
static py::array_t<T> forward(const ArrD& cells, const ArrD& q, py::tuple n_cells, double default_F, py::object table_obj,
                              py::tuple hkl_min, py::tuple hkl_max, int nthreads) {
  ArrC<T> table;
  const py::array* tp = run_table<T>(table_obj, table);
  Problem p = problem(cells, q, n_cells, default_F, tp, hkl_min, hkl_max);
  py::array_t<T> out(p.paths);
  T* o = out.mutable_data();
  const int nt = threads_for_items(p.paths, nthreads);
  parallel_groups(p.paths, nt, [&](int t, int64_t b0, int64_t b1) {
    if (sizeof(T) == 8)
      g_kernels.forward_f64(p, reinterpret_cast<double*>(o), b0, b1);
    else
      g_kernels.forward_f32(p, reinterpret_cast<float*>(o), b0, b1);
  });
  return out;
}

template <class T>
static py::tuple backward(const ArrD& cells, const ArrD& q, py::tuple n_cells, double default_F, py::object table_obj,
                          py::tuple hkl_min, py::tuple hkl_max, py::array_t<T, py::array::c_style | py::array::forcecast> grad_out,
                          bool table_grad, int nthreads) {
  ArrC<T> table;
  const py::array* tp = run_table<T>(table_obj, table);
  Problem p = problem(cells, q, n_cells, default_F, tp, hkl_min, hkl_max);
  check(grad_out.ndim() == 1 && grad_out.shape(0) == p.paths, "grad_out must have shape (paths,)");
  const bool with_table = tp != nullptr && table_grad;
  const int64_t tsize = tp ? p.dims[0] * p.dims[1] * p.dims[2] : 0;
  py::array_t<double> g_cells({(py::ssize_t)p.steps, (py::ssize_t)3, (py::ssize_t)3});
  py::array_t<double> g_q({(py::ssize_t)3, (py::ssize_t)p.paths});
  py::array_t<double> g_table(with_table ? tsize : 0);
  const int nt = threads_for_items(p.paths, nthreads);
  std::vector<Gradients> parts(nt);
  std::vector<std::vector<double>> cell_parts(nt), table_parts(nt);
  double* gq = g_q.mutable_data();
  const T* go = grad_out.data();
  parallel_groups(p.paths, nt, [&](int t, int64_t b0, int64_t b1) {
    Gradients& g = parts[t];
    cell_parts[t].assign(p.steps * 9, 0.0);
    g.cells = cell_parts[t].data();
    g.q = gq;
    if (with_table) {
      table_parts[t].assign(tsize, 0.0);
      g.table = table_parts[t].data();
    }
    // lane accumulators of the cell gradients, aligned by hand to the vector size
    std::vector<double> scratch;
    void* acc = aligned_scratch(scratch, p.steps * 9 * kGroup);
    if (sizeof(T) == 8)
      g_kernels.backward_f64(p, reinterpret_cast<const double*>(go), g, b0, b1, acc);
    else
      g_kernels.backward_f32(p, reinterpret_cast<const float*>(go), g, b0, b1, acc);
  });
  // per-thread partial sums, added in thread order
  double* gc = g_cells.mutable_data();
  std::fill(gc, gc + p.steps * 9, 0.0);
  double gN[3] = {0, 0, 0}, gdef = 0;
  double* gt = with_table ? g_table.mutable_data() : nullptr;
  if (gt) std::fill(gt, gt + tsize, 0.0);
  for (int t = 0; t < nt; ++t) {
    for (int64_t i = 0; i < p.steps * 9; ++i) gc[i] += cell_parts[t][i];
    for (int a = 0; a < 3; ++a) gN[a] += parts[t].n_cells[a];
    gdef += parts[t].default_F;
    if (gt)
      for (int64_t i = 0; i < tsize; ++i) gt[i] += table_parts[t][i];
  }
  py::object gtab = with_table ? py::object(g_table) : py::none();
  return py::make_tuple(g_cells, g_q, py::make_tuple(gN[0], gN[1], gN[2]), gdef, gtab);
}

typedef py::array_t<int64_t, py::array::c_style | py::array::forcecast> ArrI;

static PixelGeometry pixel_geometry(const ArrI& pix, py::dict geometry, const ArrD& source, const ArrD& wavelength) {
  check(pix.ndim() == 1, "pix must have shape (pixels,)");
  check(source.ndim() == 2 && source.shape(1) == 3, "source must have shape (sources, 3)");
  check(wavelength.ndim() == 1 && wavelength.shape(0) == source.shape(0), "wavelength must have shape (sources,)");
  PixelGeometry g;
  g.pix = pix.data();
  g.pixels = pix.shape(0);
  g.fpixels = geometry["fpixels"].cast<int64_t>();
  g.oversample = geometry["oversample"].cast<int64_t>();
  g.layers = geometry["layers"].cast<int64_t>();
  g.subpixel_m = geometry["subpixel_m"].cast<double>();
  g.thickstep_m = geometry["thickstep_m"].cast<double>();
  g.I_bg = geometry["I_bg"].cast<double>();
  const char* names[4] = {"fdet", "sdet", "odet", "pix0"};
  double* dst[4] = {g.fdet, g.sdet, g.odet, g.pix0};
  for (int v = 0; v < 4; ++v) {
    py::tuple t = geometry[names[v]].cast<py::tuple>();
    check(t.size() == 3, std::string(names[v]) + " takes 3 values");
    for (int c = 0; c < 3; ++c) dst[v][c] = t[c].cast<double>();
  }
  check(g.fpixels >= 1 && g.oversample >= 1 && g.layers >= 1, "fpixels, oversample and layers must be >= 1");
  for (int64_t i = 0; i < g.pixels; ++i) check(pix.data()[i] >= 0, "pix must hold raster indices >= 0");
  g.source = source.data();
  g.wavelength = wavelength.data();
  g.sources = source.shape(0);
  return g;
}

// The pixel route's vector-Jacobian product: grad_out (pixels,) float64 ->
// (grad_cells, (gNa, gNb, gNc), grad_default_F, grad_table or None,
//  dict(fdet, sdet, odet, pix0 (3,), subpixel_m, source (sources, 3), wavelength (sources,))).
template <class T>
static py::tuple backward_pixels(const ArrD& cells, py::tuple n_cells, double default_F, py::object table_obj,
                                 py::tuple hkl_min, py::tuple hkl_max, const ArrI& pix, py::dict geometry,
                                 const ArrD& source, const ArrD& wavelength, const ArrD& grad_out, bool table_grad,
                                 int nthreads) {
  ArrC<T> table;
  const py::array* tp = run_table<T>(table_obj, table);
  ArrD no_q(std::vector<py::ssize_t>{3, 0});
  Problem p = problem(cells, no_q, n_cells, default_F, tp, hkl_min, hkl_max);
  PixelGeometry geo = pixel_geometry(pix, geometry, source, wavelength);
  check(grad_out.ndim() == 1 && grad_out.shape(0) == geo.pixels, "grad_out must have shape (pixels,)");
  const bool with_table = tp != nullptr && table_grad;
  const int64_t tsize = tp ? p.dims[0] * p.dims[1] * p.dims[2] : 0;
  const int64_t S = geo.sources;
  const int nt = threads_for_items(geo.pixels, nthreads);
  std::vector<Gradients> parts(nt);
  std::vector<PixelGradients> pparts(nt);
  std::vector<std::vector<double>> cell_parts(nt), table_parts(nt), src_parts(nt), lam_parts(nt);
  const double* go = grad_out.data();
  parallel_groups(geo.pixels, nt, [&](int t, int64_t b0, int64_t b1) {
    Gradients& g = parts[t];
    cell_parts[t].assign(p.steps * 9, 0.0);
    g.cells = cell_parts[t].data();
    if (with_table) {
      table_parts[t].assign(tsize, 0.0);
      g.table = table_parts[t].data();
    }
    PixelGradients& pg = pparts[t];
    src_parts[t].assign(S * 3, 0.0);
    lam_parts[t].assign(S, 0.0);
    pg.source = src_parts[t].data();
    pg.wavelength = lam_parts[t].data();
    // slot accumulators, aligned by hand to the vector size
    std::vector<double> scratch;
    void* acc = aligned_scratch(scratch, (p.steps * 9 + 13 + 4 * S) * kGroup);
    if (sizeof(T) == 8)
      g_kernels.pixels_backward_f64(p, geo, go, g, pg, b0, b1, acc);
    else
      g_kernels.pixels_backward_f32(p, geo, go, g, pg, b0, b1, acc);
  });
  // per-thread partial sums, added in thread order
  py::array_t<double> g_cells({(py::ssize_t)p.steps, (py::ssize_t)3, (py::ssize_t)3});
  py::array_t<double> g_table(with_table ? tsize : 0);
  py::array_t<double> g_src({(py::ssize_t)S, (py::ssize_t)3});
  py::array_t<double> g_lam(S);
  double* gc = g_cells.mutable_data();
  std::fill(gc, gc + p.steps * 9, 0.0);
  double* gt = with_table ? g_table.mutable_data() : nullptr;
  if (gt) std::fill(gt, gt + tsize, 0.0);
  double* gs = g_src.mutable_data();
  double* gl = g_lam.mutable_data();
  std::fill(gs, gs + S * 3, 0.0);
  std::fill(gl, gl + S, 0.0);
  double gN[3] = {0, 0, 0}, gdef = 0, gsub = 0;
  double gv[4][3] = {};
  for (int t = 0; t < nt; ++t) {
    for (int64_t i = 0; i < p.steps * 9; ++i) gc[i] += cell_parts[t][i];
    for (int a = 0; a < 3; ++a) gN[a] += parts[t].n_cells[a];
    gdef += parts[t].default_F;
    if (gt)
      for (int64_t i = 0; i < tsize; ++i) gt[i] += table_parts[t][i];
    const double* src[4] = {pparts[t].fdet, pparts[t].sdet, pparts[t].odet, pparts[t].pix0};
    for (int v = 0; v < 4; ++v)
      for (int c = 0; c < 3; ++c) gv[v][c] += src[v][c];
    gsub += pparts[t].subpixel_m;
    for (int64_t i = 0; i < S * 3; ++i) gs[i] += src_parts[t][i];
    for (int64_t i = 0; i < S; ++i) gl[i] += lam_parts[t][i];
  }
  py::dict geo_grad;
  const char* names[4] = {"fdet", "sdet", "odet", "pix0"};
  for (int v = 0; v < 4; ++v) geo_grad[names[v]] = py::make_tuple(gv[v][0], gv[v][1], gv[v][2]);
  geo_grad["subpixel_m"] = gsub;
  geo_grad["source"] = g_src;
  geo_grad["wavelength"] = g_lam;
  py::object gtab = with_table ? py::object(g_table) : py::none();
  return py::make_tuple(g_cells, py::make_tuple(gN[0], gN[1], gN[2]), gdef, gtab, geo_grad);
}

// The pixel route: geometry = dict of the detector and beam (see PixelGeometry); returns the
// (pixels,) float64 sums I_bg + sum over paths of the step sums.
template <class T>
static py::array_t<double> forward_pixels(const ArrD& cells, py::tuple n_cells, double default_F, py::object table_obj,
                                          py::tuple hkl_min, py::tuple hkl_max, const ArrI& pix,
                                          py::dict geometry, const ArrD& source, const ArrD& wavelength, int nthreads) {
  ArrC<T> table;
  const py::array* tp = run_table<T>(table_obj, table);
  ArrD no_q(std::vector<py::ssize_t>{3, 0});
  Problem p = problem(cells, no_q, n_cells, default_F, tp, hkl_min, hkl_max);
  PixelGeometry g = pixel_geometry(pix, geometry, source, wavelength);
  py::array_t<double> out(g.pixels);
  double* o = out.mutable_data();
  const int nt = threads_for_items(g.pixels, nthreads);
  parallel_groups(g.pixels, nt, [&](int t, int64_t b0, int64_t b1) {
    if (sizeof(T) == 8)
      g_kernels.pixels_f64(p, g, o, b0, b1);
    else
      g_kernels.pixels_f32(p, g, o, b0, b1);
  });
  return out;
}

// The forward pass's sine lane by lane (the instruction set in use), for the accuracy tests.
template <class T>
static py::array_t<T> kernel_sin(py::array_t<T, py::array::c_style | py::array::forcecast> x, bool small) {
  py::array_t<T> out(x.size());
  if (sizeof(T) == 8)
    g_kernels.sin_f64(reinterpret_cast<const double*>(x.data()), reinterpret_cast<double*>(out.mutable_data()), x.size(), small);
  else
    g_kernels.sin_f32(reinterpret_cast<const float*>(x.data()), reinterpret_cast<float*>(out.mutable_data()), x.size(), small);
  return out;
}

PYBIND11_MODULE(_fused, m) {
  m.doc() = "nanobrag fused hot kernel (sum over phi steps and mosaic domains of F_cell^2 F_latt^2 per path)";
  const char* fdoc =
      "forward(cells (steps,3,3) f8, q (3,paths) f8, n_cells (Na,Nb,Nc), default_F, table or None, hkl_min, hkl_max, "
      "nthreads) -> (paths,) sums in the run dtype";
  const char* bdoc =
      "backward(..., grad_out (paths,), table_grad, nthreads) -> (grad_cells, grad_q, (gNa,gNb,gNc), grad_default_F, "
      "grad_table or None)";
  m.def("forward_f64", &forward<double>, fdoc, py::arg("cells"), py::arg("q"), py::arg("n_cells"), py::arg("default_F"),
        py::arg("table"), py::arg("hkl_min"), py::arg("hkl_max"), py::arg("nthreads"));
  m.def("forward_f32", &forward<float>, fdoc, py::arg("cells"), py::arg("q"), py::arg("n_cells"), py::arg("default_F"),
        py::arg("table"), py::arg("hkl_min"), py::arg("hkl_max"), py::arg("nthreads"));
  m.def("backward_f64", &backward<double>, bdoc, py::arg("cells"), py::arg("q"), py::arg("n_cells"), py::arg("default_F"),
        py::arg("table"), py::arg("hkl_min"), py::arg("hkl_max"), py::arg("grad_out"), py::arg("table_grad"),
        py::arg("nthreads"));
  m.def("backward_f32", &backward<float>, bdoc, py::arg("cells"), py::arg("q"), py::arg("n_cells"), py::arg("default_F"),
        py::arg("table"), py::arg("hkl_min"), py::arg("hkl_max"), py::arg("grad_out"), py::arg("table_grad"),
        py::arg("nthreads"));
  const char* pdoc =
      "pixels(cells, n_cells, default_F, table or None, hkl_min, hkl_max, pix (pixels,) int64, geometry dict, "
      "source (sources,3), wavelength (sources,), nthreads) -> (pixels,) float64 I_bg + path sums";
  m.def("pixels_f64", &forward_pixels<double>, pdoc, py::arg("cells"), py::arg("n_cells"), py::arg("default_F"),
        py::arg("table"), py::arg("hkl_min"), py::arg("hkl_max"), py::arg("pix"), py::arg("geometry"), py::arg("source"),
        py::arg("wavelength"), py::arg("nthreads"));
  m.def("pixels_f32", &forward_pixels<float>, pdoc, py::arg("cells"), py::arg("n_cells"), py::arg("default_F"),
        py::arg("table"), py::arg("hkl_min"), py::arg("hkl_max"), py::arg("pix"), py::arg("geometry"), py::arg("source"),
        py::arg("wavelength"), py::arg("nthreads"));
  m.def("sin_f64", &kernel_sin<double>, "the kernel's sine, float64 (small: |x| <= pi/2 promised)", py::arg("x"),
        py::arg("small") = false);
  m.def("sin_f32", &kernel_sin<float>, "the kernel's sine, float32 (small: |x| <= pi/2 promised)", py::arg("x"),
        py::arg("small") = false);
  const char* pbdoc =
      "pixels_backward(cells, n_cells, default_F, table or None, hkl_min, hkl_max, pix, geometry, source, wavelength, "
      "grad_out (pixels,) f8, table_grad, nthreads) -> (grad_cells, (gNa,gNb,gNc), grad_default_F, grad_table or None, "
      "dict of geometry gradients)";
  m.def("pixels_backward_f64", &backward_pixels<double>, pbdoc, py::arg("cells"), py::arg("n_cells"), py::arg("default_F"),
        py::arg("table"), py::arg("hkl_min"), py::arg("hkl_max"), py::arg("pix"), py::arg("geometry"), py::arg("source"),
        py::arg("wavelength"), py::arg("grad_out"), py::arg("table_grad"), py::arg("nthreads"));
  m.def("pixels_backward_f32", &backward_pixels<float>, pbdoc, py::arg("cells"), py::arg("n_cells"), py::arg("default_F"),
        py::arg("table"), py::arg("hkl_min"), py::arg("hkl_max"), py::arg("pix"), py::arg("geometry"), py::arg("source"),
        py::arg("wavelength"), py::arg("grad_out"), py::arg("table_grad"), py::arg("nthreads"));
  m.def("isa", &isa, "instruction set the kernel runs with on this CPU");
  m.def("vector_bytes", &vector_bytes, "bytes per vector of that instruction set");
  m.def(
      "use_isa",
      [](const std::string& want) {
        std::string name;
        Kernels k = pick_kernels(&name, want == "best" ? "" : want);
        g_kernels = k;
        g_isa = name;
        return isa();
      },
      "run the block loops of this instruction set: 'baseline', 'avx2', 'avx512f' or 'best' (for tests)");
  m.attr("group_paths") = kGroup;
#ifdef NB_FUSED_OPENMP
  m.attr("openmp") = true;
#else
  m.attr("openmp") = false;
#endif
}
