"""Render the float image in batches of pixels.

The rendered pixels (ROI, mask) are processed in the legacy raster order in
batches sized from a memory budget.  Two pieces of legacy state cross
batches, both kept as device tensors (no host synchronisation in the loop):

* the raster position of the first executed phi loop (c-parity carry-over,
  see :mod:`.phi_carry`), a running minimum;
* the raster position of the first out-of-range tricubic stencil, after
  which every step uses the nearest-neighbour F (a running minimum too).

Results do not depend on the batch size.  With gradients, each batch runs
under activation checkpointing when the whole graph would not fit the budget,
so peak memory stays bounded for any detector size.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Callable, List, Optional

import numpy as np
import torch
import torch.utils.checkpoint

from ..config import ConfigError
from .context import value_of
from .lattice import LatticeSpec
from .ordered import pairwise_sum, sequential_sum
from .paths import PathBatch, pixel_factors, prepare_paths
from .phi_carry import NO_POSITION, CellTables, PhiCarryCache, cell_tables
from .plan import R_E_SQR, Plan
from .fused import fused_path_intensity, fused_pixel_sums
from .steps import StepSpec, Workspace, nograd_kernel_applies, path_intensity, path_intensity_nograd, step_values

__all__ = ["RenderOptions", "RenderResult", "render", "SimulationCancelled", "DEFAULT_MEMORY_BUDGET"]

DEFAULT_MEMORY_BUDGET = 2 * 1024**3


class SimulationCancelled(RuntimeError):
    """The progress callback asked to stop the run."""


@dataclass
class RenderOptions:
    #: peak working memory of one batch (bytes)
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET
    #: pixels per batch; None = from the budget and the device
    batch_pixels: Optional[int] = None
    #: torch.compile the hot kernel: "auto" (when it pays for itself), True, False
    compile: object = "auto"
    #: hot kernel: "auto" (the fused C++ kernel where it applies, else torch), "fused", "torch"
    kernel: str = "auto"
    #: reuse across calls (c-parity); None = a fresh one per run
    phi_cache: Optional[PhiCarryCache] = None
    #: activation checkpointing per batch: None = when the graph would exceed the budget
    checkpoint: Optional[bool] = None
    progress: Optional[Callable[[int, int], Optional[bool]]] = None


@dataclass
class RenderResult:
    image: torch.Tensor  # (spixels, fpixels) run dtype
    omega_sum: float
    switchoff_pixel: Optional[int]
    first_path_position: Optional[int]


def step_spec(plan: Plan, grad: bool, signed: bool = False, reduce: Optional[bool] = None) -> StepSpec:
    """reduce (see lattice.py): default True for float32 runs; float64 eager runs use the
    legacy expression, which is faster there; compiled kernels always reduce (faster sin)."""
    if reduce is None:
        reduce = plan.ctx.dtype == torch.float32
    cx, sf = plan.crystal, plan.sf
    n_values = [value_of(v) for v in cx.n_cells]
    needs_real = [(not float(v).is_integer()) or cx.n_cells.requires_grad for v in n_values]
    lattice = LatticeSpec(
        shape=plan.config.crystal.shape,
        active=tuple(v > 1 for v in n_values),
        reduce=reduce,
        real_n=tuple(needs_real),
        grad_safe=grad,
        signed=signed,
    )
    return StepSpec(
        lattice=lattice,
        has_table=sf.has_table,
        hkl_min=tuple(sf.hkl_min),
        hkl_max=tuple(sf.hkl_max),
        skip_zero_latt=not sf.all_finite,
        no_water=plan.water_m == 0.0,
    )


def uses_step_values(plan: Plan) -> bool:
    """True when the run needs per-step values (interpolation, oversample_* flags)."""
    return plan.sf.interpolate or plan.oversample_thick or plan.oversample_polar or plan.oversample_omega


@dataclass
class _Inputs:
    """Tensors of the plan cast to the run dtype once per run."""

    n_cells: torch.Tensor
    fudge: torch.Tensor
    recip: torch.Tensor
    table: Optional[torch.Tensor]
    default_F: torch.Tensor
    scale: torch.Tensor  # r_e^2 * fluence
    I_bg: torch.Tensor


def _inputs(plan: Plan) -> _Inputs:
    """Step-level inputs in the run dtype, pixel-level constants in the path dtype."""
    ctx, cx = plan.ctx, plan.crystal
    dt, pdt = ctx.dtype, ctx.path_dtype
    recip = torch.stack((cx.a_star, cx.b_star, cx.c_star)).to(dt)
    return _Inputs(
        n_cells=cx.n_cells.to(dt),
        fudge=ctx.scalar(plan.config.crystal.fudge).to(dt),
        recip=recip,
        table=plan.sf.table,
        default_F=plan.sf.default_F,
        scale=(R_E_SQR * plan.fluence).to(pdt),
        I_bg=plan.I_bg.to(pdt),
    )


class BatchRenderer:
    """Computes the pixel values of one batch; shared by render() and trace()."""

    def __init__(self, plan: Plan, options: RenderOptions, signed: bool = False):
        self.plan = plan
        self.options = options
        self.cache = None
        if plan.phi_mode == "c-parity":
            cache = options.phi_cache
            if cache is None or cache.device != plan.ctx.device or cache.dtype != plan.ctx.dtype:
                cache = PhiCarryCache(plan.ctx.device, plan.ctx.dtype)
            self.cache = cache
        tables = cell_tables(plan, self.cache)
        dt = plan.ctx.path_dtype
        self.tables = CellTables(normal=tables.normal.to(dt), first=None if tables.first is None else tables.first.to(dt))
        grad = torch.is_grad_enabled() and needs_grad(plan)
        self.inputs = _inputs(plan)
        self.per_step = uses_step_values(plan)
        self.steps_per_path = plan.cells_per_path
        from .compiled import compiled_kernel, should_compile

        work = int(plan.active_count) * plan.paths_per_pixel * plan.cells_per_path
        # the fused C++ kernel (fused.py) replaces the torch hot kernel where it applies
        self.fused = choose_fused(options.kernel, step_spec(plan, grad=grad, signed=signed), plan, self.per_step or signed)
        compiled = should_compile(options.compile, work, plan.ctx.dtype, plan.ctx.device, self.per_step or signed, grad)
        compiled = compiled and (options.compile is True or not self.fused)  # compile=True: the user's choice
        self.fused = self.fused and not compiled
        self.spec = step_spec(plan, grad=grad, signed=signed, reduce=True if compiled else None)
        self.batch_pixels = batch_pixels(plan, options, grad, compiled=compiled, fused=self.fused)
        #: autograd graph bytes per rendered pixel (decides checkpointing)
        per_element = bytes_per_step_element(plan, self.per_step, True)
        self.graph_bytes_per_pixel = plan.paths_per_pixel * (
            _FUSED_GRAPH_PATH_BYTES if self.fused else plan.cells_per_path * per_element
        )
        self.kernel = compiled_kernel(self.spec) if compiled else None
        # eager kernel without autograd: in place, in buffers reused by every call of the run
        self.workspace = None
        if not grad and nograd_kernel_applies(self.spec, plan.ctx.dtype, plan.ctx.path_dtype):
            self.workspace = Workspace()
            self.n_values = tuple(float(v) for v in self.inputs.n_cells.detach().cpu())
        # the pixel route: the fused kernel forms the paths itself (no per-path tensors)
        det = plan.detector
        self.pixel_route = (
            PIXEL_ROUTE and self.fused and not signed and not self.per_step
            and not det.curved and plan.dmin_m == 0.0 and plan.ctx.path_dtype == torch.float64
        )
        if self.pixel_route:  # the graph keeps the per-pixel factors only
            self.graph_bytes_per_pixel = _PIXEL_GRAPH_BYTES
        # paths per hot-kernel call (a compiled call always gets exactly this many, zero-padded)
        chunk = max(1, _target_elements(plan, compiled) // max(1, plan.cells_per_path))
        self.path_chunk = -(-chunk // PATH_BLOCK) * PATH_BLOCK

    # ------------------------------------------------------------------ helpers
    def _path_positions(self, pix: torch.Tensor, batch_key) -> torch.Tensor:
        if self.cache is not None:
            return self.cache.path_positions(self.plan, pix, batch_key)
        n = self.plan.paths_per_pixel
        return (pix.view(-1, 1) * n + torch.arange(n, device=pix.device).view(1, -1)).reshape(-1)

    def _first_path(self, pix, batch_key, survive, first_pos, update):
        """(index, present, running) of the first executed path when the carry-over needs it."""
        if self.cache is None or self.tables.first is None:
            return None, None, first_pos
        return self.cache.locate_first_path(self.plan, pix, batch_key, survive, first_pos, update)

    def _hot(self, cells: torch.Tensor, q_t: torch.Tensor, compiled: bool = True) -> torch.Tensor:
        """Sum over steps for every path: kernel calls on cache-sized path chunks, and step
        chunks when one path chunk's steps would exceed the memory budget."""
        inp, spec = self.inputs, self.spec
        if self.fused:  # no intermediate tensors: one call per batch, whatever the budget
            return fused_path_intensity(spec, cells, q_t, inp.n_cells, inp.table, inp.default_F)
        kernel = self.kernel if compiled else None
        n_paths = q_t.shape[1]
        chunk = self.path_chunk
        step_chunk = self._step_chunk(min(chunk, n_paths))
        parts = []
        for p0 in range(0, n_paths, chunk):
            q = q_t[:, p0:p0 + chunk]
            m = q.shape[1]
            if kernel is not None:  # fixed shape and strides: no recompilation
                q = torch.nn.functional.pad(q, (0, chunk - m)) if m < chunk else q.contiguous()
            total = None
            for start in range(0, cells.shape[0], step_chunk):
                part = cells[start:start + step_chunk]
                if kernel is not None:
                    s = kernel(part, q, inp.n_cells, inp.fudge, inp.recip, inp.table, inp.default_F)
                elif self.workspace is not None:
                    s = path_intensity_nograd(
                        spec, part, q, inp.n_cells, self.n_values, inp.table, inp.default_F, self.workspace
                    )
                else:
                    s = path_intensity(spec, part, q, inp.n_cells, inp.fudge, inp.recip, inp.table, inp.default_F)
                total = s if total is None else total + s
            parts.append(total[:m])
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def _step_chunk(self, paths: int) -> int:
        budget = self.options.memory_budget_bytes
        per = paths * bytes_per_step_element(self.plan, per_step=False, grad=torch.is_grad_enabled())
        return max(1, min(self.steps_per_path, budget // max(per, 1)))

    # ------------------------------------------------------------------ one batch
    def batch(self, pix, batch_key, first_pos, switch_pos, for_trace: bool = False):
        if self.pixel_route and not for_trace:
            return self._pixel_batch(pix, batch_key, first_pos, switch_pos)
        return self._path_batch(pix, batch_key, first_pos, switch_pos, for_trace)

    def _pixel_batch(self, pix, batch_key, first_pos, switch_pos):
        """One batch by the pixel route; pixels it cannot take go the path route."""
        plan, inp = self.plan, self.inputs
        head = None
        if self.tables.first is not None and int(first_pos) == NO_POSITION:
            # the first executed path (first path of the first rendered pixel) sees the cells
            # of the legacy first phi loop: that pixel goes the path route
            head = self._path_batch(pix[:1], batch_key + ("head",), first_pos, switch_pos)
            first_pos, switch_pos = head[2], head[3]
            pix = pix[1:]
            batch_key = batch_key + ("after head",)
            if pix.shape[0] == 0:
                return head
        factors = pixel_factors(plan, pix, batch_key)
        if factors is None:  # a zero polarization factor: the legacy search over the paths
            rest = self._path_batch(pix, batch_key + ("rest",), first_pos, switch_pos)
        else:
            I = fused_pixel_sums(self.spec, plan, pix, self.tables.normal, inp.n_cells, inp.table, inp.default_F)
            value = inp.scale * I / plan.steps * factors.capture_final * factors.polar_final * factors.omega_final
            rest = (value.to(plan.ctx.dtype), factors.omega_sum, first_pos, switch_pos, None)
        if head is None:
            return rest
        return (torch.cat((head[0], rest[0])), torch.cat((head[1], rest[1])), rest[2], rest[3], None)

    def _path_batch(self, pix, batch_key, first_pos, switch_pos, for_trace: bool = False):
        plan, inp = self.plan, self.inputs
        paths = prepare_paths(plan, pix, for_trace=for_trace)
        P = pix.shape[0]
        q_t = paths.scattering_t.contiguous()  # (3, Np)
        survive = paths.survive.reshape(-1)
        # traced pixels read the state resolved over the rendered pixels; they never change it
        index, present, first_pos = self._first_path(pix, batch_key, survive, first_pos, update=not for_trace)
        if not self.per_step and not for_trace:
            sums = self._hot(self.tables.normal, q_t)
            if index is not None:
                q_first = q_t.index_select(1, index.view(1))
                s_first = self._hot(self.tables.first, q_first, compiled=False)
                old = sums.index_select(0, index.view(1))
                sums = sums.index_copy(0, index.view(1), torch.where(present, s_first, old))
            if plan.dmin_m > 0.0:  # (without a cut every path survives)
                sums = torch.where(survive, sums, torch.zeros_like(sums))
            sums = sums.to(inp.I_bg.dtype)
            I = sequential_sum(inp.I_bg, sums.view(P, -1))  # legacy order: I_bg, then the paths
            value = inp.scale * I / plan.steps * paths.capture_final * paths.polar_final * paths.omega_final
            return value.to(plan.ctx.dtype), paths.omega_sum, first_pos, switch_pos, None

        values = step_values(self.spec, self.tables.normal, q_t, inp.n_cells, inp.fudge, inp.recip, inp.table, inp.default_F)
        cells_used = None
        if for_trace:
            cells_used = self.tables.normal.unsqueeze(1).expand(-1, q_t.shape[1], -1, -1)
        if index is not None:
            q_first = q_t.index_select(1, index.view(1))
            first_vals = step_values(
                self.spec, self.tables.first, q_first, inp.n_cells, inp.fudge, inp.recip, inp.table, inp.default_F
            )
            for name, v in values.items():
                old = v.index_select(1, index.view(1))
                values[name] = v.index_copy(1, index.view(1), torch.where(present, first_vals[name], old))
            if cells_used is not None:
                old = cells_used.index_select(1, index.view(1))
                cells_used = cells_used.index_copy(1, index.view(1), torch.where(present, self.tables.first.unsqueeze(1), old))

        latt = values["F_latt"]
        reach = survive.view(1, -1)
        if plan.water_m == 0.0:
            reach = reach & (latt != 0)
        F = values["F_nearest"]
        if plan.sf.interpolate:
            sf = plan.sf
            step_pos = self._path_positions(pix, batch_key).view(1, -1) * self.steps_per_path + torch.arange(
                self.steps_per_path, device=pix.device
            ).view(-1, 1)
            if not for_trace:
                bad = sf.out_of_range(values["h"], values["k"], values["l"]) & reach
                switch_pos = torch.minimum(switch_pos, torch.where(bad, step_pos, torch.full_like(step_pos, NO_POSITION)).min())
            F = torch.where(step_pos < switch_pos, sf.tricubic(values["h"], values["k"], values["l"]), F)
        term = torch.where(reach, F * F * latt * latt, torch.zeros_like(latt))

        if plan.oversample_thick or plan.oversample_polar or plan.oversample_omega:
            I = self._running_sum(paths, term.to(inp.I_bg.dtype), reach)
        else:
            I = sequential_sum(inp.I_bg, pairwise_sum(term).to(inp.I_bg.dtype).view(P, -1))
        value = inp.scale * I / plan.steps
        if not plan.oversample_thick:
            value = value * paths.capture_final
        if not plan.oversample_polar:
            value = value * paths.polar_final
        if not plan.oversample_omega:
            value = value * paths.omega_final
        extra = None
        if for_trace:
            F_cell = torch.where(reach, F, torch.full_like(F, math.nan))
            extra = dict(values=values, F_cell=F_cell, cells=cells_used, paths=paths, reach=reach)
        return value.to(plan.ctx.dtype), paths.omega_sum, first_pos, switch_pos, extra

    def _running_sum(self, paths: PathBatch, term: torch.Tensor, reach: torch.Tensor) -> torch.Tensor:
        """Legacy ``I += term; I *= factor`` after every step, in closed form per pixel."""
        plan = self.plan
        P, T, S, R = paths.survive.shape
        factor = torch.ones_like(paths.polar)
        if plan.oversample_thick:
            factor = factor * paths.capture.unsqueeze(-1)
        if plan.oversample_polar:
            factor = factor * paths.polar
        if plan.oversample_omega:
            factor = factor * paths.omega.unsqueeze(-1)
        f = torch.where(reach, factor.reshape(1, -1), torch.ones_like(term))  # (steps, Np)
        # per pixel, steps in loop order: paths (T, S, R) outer, steps inner
        f = f.t().reshape(P, -1)
        t = term.t().reshape(P, -1)
        suffix = torch.flip(torch.cumprod(torch.flip(f, [1]), 1), [1])
        return self.inputs.I_bg * suffix[:, 0] + pairwise_sum((t * suffix).t())


#: the fused kernel's pixel route where it applies (tests switch it off to compare routes)
PIXEL_ROUTE = True
#: graph bytes per pixel kept for backward by the pixel route (the per-pixel factors; with margin)
_PIXEL_GRAPH_BYTES = 8 * 64

#: paths per hot-kernel call are rounded up to a multiple of this (whole cache lines and
#: vector blocks; the sums do not depend on it, see .ordered)
PATH_BLOCK = 64


def bytes_per_step_element(plan: Plan, per_step: bool, grad: bool) -> int:
    """Working bytes per (step, path) element of a batch (measured, with margin)."""
    item = 8 if plan.ctx.dtype == torch.float64 else 4
    if per_step:
        n = 48 + (150 if plan.sf.interpolate else 0)
        extra = 64 * 8 if plan.sf.interpolate else 8
        return item * n * (2 if grad else 1) + extra
    return item * (160 if grad else 16)


def _target_elements(plan: Plan, compiled: bool) -> int:
    """(step, path) elements per hot-kernel call that run fastest (measured on the 2-core
    reference machine): eager CPU kernels balance the per-operation cost of the two-thread
    pool (smaller calls) against L2 misses (larger ones; float32 loses from 2^18 on, float64
    not yet); a compiled kernel keeps no intermediate tensors and only amortises its call cost."""
    if plan.ctx.device.type == "cuda":
        return 1 << 23
    if compiled or plan.ctx.dtype == torch.float64:
        return 1 << 18
    return 1 << 17


#: kernel calls per batch: amortises the per-path work (many small tensor operations)
_CALLS_PER_BATCH = 8
#: working bytes per path of the per-path arrays (positions, directions, factors, in the path dtype)
_PATH_BYTES = 8 * 64


def batch_pixels(plan: Plan, options: RenderOptions, grad: bool, compiled: bool = False, fused: bool = False) -> int:
    if options.batch_pixels is not None:
        if int(options.batch_pixels) < 1:
            raise ConfigError(f"batch_pixels must be >= 1, got {options.batch_pixels}")
        return int(options.batch_pixels)
    per_pixel = plan.paths_per_pixel * plan.cells_per_path
    if fused:
        # the kernel keeps nothing per step: the per-path arrays (and their graph) bound the batch
        path_bytes = _FUSED_GRAPH_PATH_BYTES if grad else _PATH_BYTES
        by_budget = options.memory_budget_bytes // max(1, plan.paths_per_pixel * path_bytes)
        return int(max(1, min(by_budget, _FUSED_BATCH_ELEMENTS // max(1, per_pixel))))
    per_step = uses_step_values(plan)
    if per_step or grad:
        # every step value of the batch is alive at once (per-step runs, or saved for backward)
        by_budget = options.memory_budget_bytes // max(1, per_pixel * bytes_per_step_element(plan, per_step, grad))
    else:
        by_budget = options.memory_budget_bytes // max(1, plan.paths_per_pixel * _PATH_BYTES)
    calls = 1 if per_step else _CALLS_PER_BATCH
    by_speed = calls * _target_elements(plan, compiled) // max(1, per_pixel)
    return int(max(1, min(by_budget, by_speed)))


#: (step, path) elements per fused-kernel call: large calls amortise the per-path torch work
#: and the thread start-up; the kernel itself streams (no per-step memory)
_FUSED_BATCH_ELEMENTS = 1 << 24
#: graph bytes per path kept for backward by a fused run (the per-path geometry; measured, with margin)
_FUSED_GRAPH_PATH_BYTES = 8 * 256


def choose_fused(kernel: str, spec: StepSpec, plan: Plan, per_step: bool) -> bool:
    """Whether the batch sums run in the fused C++ kernel (option ``kernel``: auto, fused, torch)."""
    from . import fused

    if kernel not in ("auto", "fused", "torch"):
        raise ConfigError(f"kernel must be 'auto', 'fused' or 'torch', got {kernel!r}")
    if kernel == "torch" or per_step:
        return False
    ctx = plan.ctx
    applies = fused.fused_applies(spec, ctx.device, ctx.dtype, ctx.path_dtype)
    available = fused.module() is not None
    if kernel == "fused" and not (applies and available):
        why = fused.unavailable_reason() if not available else "this run needs per-step values or a non-square crystal"
        raise ConfigError(f"kernel='fused' cannot run this: {why}")
    return applies and available


def _pixels_digest(active: np.ndarray) -> str:
    return hashlib.blake2b(active.tobytes(), digest_size=12).hexdigest()


def render(plan: Plan, options: RenderOptions) -> RenderResult:
    ctx = plan.ctx
    renderer = BatchRenderer(plan, options)
    active = plan.active_pixels()
    active_host = active.cpu().numpy()
    digest = _pixels_digest(active_host)
    total = int(active.shape[0])
    grad = torch.is_grad_enabled() and needs_grad(plan)
    per_batch = renderer.batch_pixels
    use_checkpoint = options.checkpoint
    if use_checkpoint is None:
        whole = total * renderer.graph_bytes_per_pixel
        use_checkpoint = grad and whole > options.memory_budget_bytes
    first_pos = torch.tensor(NO_POSITION, dtype=torch.int64, device=ctx.device)
    switch_pos = torch.tensor(NO_POSITION, dtype=torch.int64, device=ctx.device)
    values: List[torch.Tensor] = []
    omega_parts: List[torch.Tensor] = []
    fp = plan.detector.fpixels
    for start in range(0, total, per_batch):
        stop = min(total, start + per_batch)
        pix = active[start:stop]
        first_r, last_r = int(active_host[start]), int(active_host[stop - 1])
        key = (digest, divmod(first_r, fp), divmod(last_r, fp), stop - start)

        def run_batch(pix_, first_, switch_, key_=key):
            v, om, f_, s_, _ = renderer.batch(pix_, key_, first_, switch_)
            return v, om, f_, s_

        if grad and use_checkpoint:
            v, om, first_pos, switch_pos = torch.utils.checkpoint.checkpoint(
                run_batch, pix, first_pos, switch_pos, use_reentrant=False
            )
        else:
            v, om, first_pos, switch_pos = run_batch(pix, first_pos, switch_pos)
        values.append(v)
        omega_parts.append(om)
        if options.progress is not None and options.progress(stop, total):
            raise SimulationCancelled(f"simulation cancelled by the progress callback after {stop} of {total} pixels")

    n_pix = plan.detector.fpixels * plan.detector.spixels
    image = torch.zeros(n_pix, dtype=ctx.dtype, device=ctx.device)
    if values:
        image = image.index_put((active,), torch.cat(values))
        omega_sum = float(torch.cat(omega_parts).sum().detach().cpu())
    else:
        omega_sum = 0.0
    image = image.view(plan.detector.spixels, plan.detector.fpixels)
    switch = int(switch_pos.cpu())
    first = int(first_pos.cpu())
    per_pixel_steps = plan.paths_per_pixel * plan.cells_per_path
    return RenderResult(
        image=image,
        omega_sum=omega_sum,
        switchoff_pixel=None if switch == NO_POSITION else switch // per_pixel_steps,
        first_path_position=None if first == NO_POSITION else first,
    )


def needs_grad(plan: Plan) -> bool:
    """Whether any tensor the render reads requires a gradient."""
    tensors = [
        plan.detector.pix0, plan.detector.fdet, plan.detector.close_distance, plan.detector.pixel_size,
        plan.crystal.a0, plan.crystal.n_cells, plan.crystal.a_star, plan.sources.position, plan.sources.wavelength,
        plan.phi.phi0, plan.phi.phistep, plan.mosaic_umats, plan.fluence, plan.I_bg, plan.sf.default_F,
    ]
    if plan.sf.table is not None:
        tensors.append(plan.sf.table)
    return any(isinstance(t, torch.Tensor) and t.requires_grad for t in tensors)
