"""The fused C++ hot kernel (``nanobrag._fused``) behind a ``torch.autograd.Function``.

The extension computes, for every path, the sum over the (phi step, mosaic
domain) cells of F_cell^2 F_latt^2 of the square crystal -- Miller indices,
sincg, structure-factor lookup and step sum in one pass, no intermediate
tensors -- and the vector-Jacobian product of that sum.  It works on numpy
views of CPU tensors, so the wheel does not link libtorch.  Arithmetic:
specs/torch_engine.md ("Fused kernel").

The module is looked up as the installed ``nanobrag._fused``, then in a
development build tree (``build/*/csrc/fused``), like the C library
(:mod:`nanobrag.c_engine._ffi`).  Without it (or with ``NANOBRAG_FUSED=0``)
the torch kernels of :mod:`.steps` run: :func:`unavailable_reason` says why.
"""
from __future__ import annotations

import glob
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Optional, Tuple

import torch

from .steps import StepSpec

__all__ = ["module", "unavailable_reason", "fused_applies", "fused_path_intensity", "fused_pixel_sums", "FusedIntensity", "FusedPixelIntensity"]

_REPO_ROOT = Path(__file__).resolve().parents[3]
_STATE = {"loaded": False, "module": None, "reason": None}


def _load():
    if os.environ.get("NANOBRAG_FUSED", "1") == "0":
        return None, "disabled by NANOBRAG_FUSED=0"
    try:
        return importlib.import_module("nanobrag._fused"), None
    except ImportError as exc:
        installed_error = str(exc)
    for path in sorted(glob.glob(str(_REPO_ROOT / "build" / "*" / "csrc" / "fused" / "_fused*.so"))):
        spec = importlib.util.spec_from_file_location("nanobrag._fused", path)
        if spec is None or spec.loader is None:
            continue
        try:
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
        except ImportError:
            continue
        sys.modules["nanobrag._fused"] = mod
        return mod, None
    return None, f"the extension nanobrag._fused is not built or not importable ({installed_error})"


def module():
    """The extension module, or None when it is unavailable."""
    if not _STATE["loaded"]:
        _STATE["module"], _STATE["reason"] = _load()
        _STATE["loaded"] = True
    return _STATE["module"]


def unavailable_reason() -> Optional[str]:
    """None when the fused kernel is available, else why not."""
    module()
    return _STATE["reason"]


def fused_applies(spec: StepSpec, device: torch.device, run_dtype: torch.dtype, path_dtype: torch.dtype) -> bool:
    """Whether the fused kernel computes :func:`steps.path_intensity` for this spec: CPU, the
    square crystal, finite structure factors, float64 indices; float32 runs only with
    integer N (the reduced sincg without the real-N term)."""
    lat = spec.lattice
    return (
        device.type == "cpu"
        and lat.shape == "square"
        and not spec.skip_zero_latt
        and path_dtype == torch.float64
        and run_dtype in (torch.float64, torch.float32)
        and lat.reduce == (run_dtype == torch.float32)
        and not (lat.reduce and any(lat.real_n))
        and not lat.signed
    )


def _numpy(t: torch.Tensor, dtype: torch.dtype):
    return t.detach().to(dtype).contiguous().numpy()


def _args(spec: StepSpec, cells, q, n_cells, default_F, table):
    run = n_cells.dtype
    n = tuple(float(v) for v in n_cells.detach().cpu())
    tab = _numpy(table, run) if (spec.has_table and table is not None) else None
    return (_numpy(cells, torch.float64), _numpy(q, torch.float64), n, float(default_F.detach()), tab,
            tuple(spec.hkl_min), tuple(spec.hkl_max))


class FusedIntensity(torch.autograd.Function):
    """sums = fused kernel(cells, q, n_cells, default_F, table); gradients for every input."""

    @staticmethod
    def forward(ctx, spec: StepSpec, cells, q, n_cells, default_F, table):
        mod = module()
        run = n_cells.dtype
        args = _args(spec, cells, q, n_cells, default_F, table)
        fwd = mod.forward_f64 if run == torch.float64 else mod.forward_f32
        out = torch.from_numpy(fwd(*args, torch.get_num_threads()))
        ctx.spec = spec
        ctx.save_for_backward(cells, q, n_cells, default_F, table if table is not None else torch.empty(0))
        ctx.has_table = table is not None
        return out

    @staticmethod
    def backward(ctx, grad_out):
        mod = module()
        cells, q, n_cells, default_F, table = ctx.saved_tensors
        table = table if ctx.has_table else None
        run = n_cells.dtype
        args = _args(ctx.spec, cells, q, n_cells, default_F, table)
        table_grad = table is not None and ctx.needs_input_grad[5]
        bwd = mod.backward_f64 if run == torch.float64 else mod.backward_f32
        g_cells, g_q, g_n, g_def, g_tab = bwd(*args, _numpy(grad_out, run), bool(table_grad), torch.get_num_threads())
        need = ctx.needs_input_grad
        return (
            None,
            torch.from_numpy(g_cells).to(cells.dtype) if need[1] else None,
            torch.from_numpy(g_q).to(q.dtype) if need[2] else None,
            torch.tensor(g_n, dtype=n_cells.dtype) if need[3] else None,
            torch.tensor(g_def, dtype=default_F.dtype).reshape(default_F.shape) if need[4] else None,
            torch.from_numpy(g_tab).to(table.dtype).reshape(table.shape) if (table is not None and need[5] and g_tab is not None) else None,
        )


def fused_path_intensity(
    spec: StepSpec,
    cells: torch.Tensor,
    scattering_t: torch.Tensor,
    n_cells: torch.Tensor,
    table: Optional[torch.Tensor],
    default_F: torch.Tensor,
) -> torch.Tensor:
    """:func:`steps.path_intensity` by the fused kernel: (paths,) sums in the run dtype.

    cells (steps, 3, 3) and scattering_t (3, paths) in float64 on the CPU; n_cells (3,),
    default_F (0-d) and table in the run dtype.
    """
    if torch.is_grad_enabled() and any(
        isinstance(t, torch.Tensor) and t.requires_grad for t in (cells, scattering_t, n_cells, default_F, table)
    ):
        return FusedIntensity.apply(spec, cells, scattering_t, n_cells, default_F, table if spec.has_table else None)
    mod = module()
    args = _args(spec, cells, scattering_t, n_cells, default_F, table)
    fwd = mod.forward_f64 if n_cells.dtype == torch.float64 else mod.forward_f32
    return torch.from_numpy(fwd(*args, torch.get_num_threads()))


def _floats(t: torch.Tensor) -> Tuple[float, ...]:
    return tuple(float(v) for v in t.detach().to(torch.float64).cpu().reshape(-1))


def _pixel_call(spec: StepSpec, fixed: dict, cells, n_cells, default_F, table, fdet, sdet, odet, pix0, subpixel, source,
                wavelength, I_bg):
    """The arguments of the kernel's pixel functions (the tensors as float64 numpy views)."""
    geometry = dict(
        fixed, subpixel_m=float(subpixel.detach()), I_bg=float(I_bg.detach()),
        fdet=_floats(fdet), sdet=_floats(sdet), odet=_floats(odet), pix0=_floats(pix0),
    )
    run = n_cells.dtype
    tab = _numpy(table, run) if (spec.has_table and table is not None) else None
    return (
        _numpy(cells, torch.float64), tuple(float(v) for v in n_cells.detach().cpu()), float(default_F.detach()), tab,
        tuple(spec.hkl_min), tuple(spec.hkl_max), fixed["_pix"], geometry,
        _numpy(source, torch.float64), _numpy(wavelength, torch.float64),
    )


class FusedPixelIntensity(torch.autograd.Function):
    """The pixel route with gradients: (pixels,) sums; the backward runs in the kernel too, through
    the scattering vectors to the detector vectors, the sub-pixel size, the sources and wavelengths."""

    @staticmethod
    def forward(ctx, spec, fixed, cells, n_cells, default_F, table, fdet, sdet, odet, pix0, subpixel, source, wavelength, I_bg):
        mod = module()
        args = _pixel_call(spec, fixed, cells, n_cells, default_F, table, fdet, sdet, odet, pix0, subpixel, source, wavelength, I_bg)
        fn = mod.pixels_f64 if n_cells.dtype == torch.float64 else mod.pixels_f32
        ctx.spec, ctx.fixed, ctx.has_table = spec, fixed, table is not None
        ctx.save_for_backward(cells, n_cells, default_F, table if table is not None else torch.empty(0),
                              fdet, sdet, odet, pix0, subpixel, source, wavelength, I_bg)
        return torch.from_numpy(fn(*args, torch.get_num_threads()))

    @staticmethod
    def backward(ctx, grad_out):
        mod = module()
        cells, n_cells, default_F, table, fdet, sdet, odet, pix0, subpixel, source, wavelength, I_bg = ctx.saved_tensors
        table = table if ctx.has_table else None
        args = _pixel_call(ctx.spec, ctx.fixed, cells, n_cells, default_F, table, fdet, sdet, odet, pix0, subpixel, source,
                           wavelength, I_bg)
        need = ctx.needs_input_grad
        table_grad = table is not None and need[5]
        fn = mod.pixels_backward_f64 if n_cells.dtype == torch.float64 else mod.pixels_backward_f32
        g_cells, g_n, g_def, g_tab, geo = fn(*args, _numpy(grad_out, torch.float64), bool(table_grad), torch.get_num_threads())

        def vec(name, like):
            return torch.tensor(geo[name], dtype=like.dtype).reshape(like.shape)

        return (
            None, None,
            torch.from_numpy(g_cells).to(cells.dtype) if need[2] else None,
            torch.tensor(g_n, dtype=n_cells.dtype) if need[3] else None,
            torch.tensor(g_def, dtype=default_F.dtype).reshape(default_F.shape) if need[4] else None,
            torch.from_numpy(g_tab).to(table.dtype).reshape(table.shape) if (table_grad and g_tab is not None) else None,
            vec("fdet", fdet) if need[6] else None,
            vec("sdet", sdet) if need[7] else None,
            vec("odet", odet) if need[8] else None,
            vec("pix0", pix0) if need[9] else None,
            vec("subpixel_m", subpixel) if need[10] else None,
            torch.from_numpy(geo["source"]).to(source.dtype).reshape(source.shape) if need[11] else None,
            torch.from_numpy(geo["wavelength"]).to(wavelength.dtype).reshape(wavelength.shape) if need[12] else None,
            grad_out.sum().to(I_bg.dtype).reshape(I_bg.shape) if need[13] else None,
        )


def fused_pixel_sums(spec: StepSpec, plan, pix: torch.Tensor, cells: torch.Tensor, n_cells: torch.Tensor,
                     table: Optional[torch.Tensor], default_F: torch.Tensor) -> torch.Tensor:
    """The pixel route: (P,) float64 ``I_bg + sum over the pixel's paths of their step sums``,
    the scattering vectors formed in the kernel from the detector geometry (flat detector, no
    dmin cut), bit for bit those of :func:`.paths.prepare_paths`; differentiable."""
    det = plan.detector
    os = plan.oversample
    f64 = torch.float64
    fixed = dict(fpixels=int(det.fpixels), oversample=int(os), layers=int(plan.layer_count),
                 thickstep_m=float(plan.layers.thickstep_m), _pix=pix.detach().to(torch.int64).contiguous().numpy())
    tensors = (
        cells, n_cells, default_F, table if spec.has_table else None,
        det.fdet.to(f64), det.sdet.to(f64), det.odet.to(f64), det.pix0.to(f64),
        det.pixel_size.to(f64) / os,  # (the division paths.py does)
        plan.sources.position.to(f64), plan.sources.wavelength.to(f64), plan.I_bg.to(f64),
    )
    if torch.is_grad_enabled() and any(isinstance(t, torch.Tensor) and t.requires_grad for t in tensors):
        return FusedPixelIntensity.apply(spec, fixed, *tensors)
    mod = module()
    fn = mod.pixels_f64 if n_cells.dtype == torch.float64 else mod.pixels_f32
    return torch.from_numpy(fn(*_pixel_call(spec, fixed, *tensors), torch.get_num_threads()))


def describe() -> Tuple[str, str]:
    """(state, detail) for reports: ("fused", isa and lanes) or ("torch", why)."""
    mod = module()
    if mod is None:
        return "torch", str(unavailable_reason())
    vb = mod.vector_bytes()
    return "fused", f"{mod.isa()}, {vb // 8} float64 / {vb // 4} float32 lanes, openmp={mod.openmp}"
