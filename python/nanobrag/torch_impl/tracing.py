"""Per-step intermediate values of chosen pixels (docs/architecture.md, "Trace layout").

The two pieces of raster-order state (the first executed phi loop of the
c-parity carry-over, the tricubic switch-off) are first resolved over the
rendered pixels up to the last traced one; each traced pixel is then
evaluated with every per-step value kept.
"""
from __future__ import annotations

import math
from typing import Dict, Sequence, Tuple

import numpy as np
import torch

from ..config import ConfigError
from .phi_carry import NO_POSITION
from .plan import Plan
from .render import BatchRenderer, RenderOptions, batch_pixels

__all__ = ["trace_pixels"]


def _global_state(plan: Plan, renderer: BatchRenderer, last_raster: int):
    """(first executed path position, switch-off position) over rendered pixels up to last_raster."""
    ctx = plan.ctx
    first_pos = torch.tensor(NO_POSITION, dtype=torch.int64, device=ctx.device)
    switch_pos = torch.tensor(NO_POSITION, dtype=torch.int64, device=ctx.device)
    needs_first = renderer.tables.first is not None
    if not needs_first and not plan.sf.interpolate:
        return first_pos, switch_pos
    active = plan.active_pixels()
    active = active[active <= last_raster]
    active_host = active.cpu().numpy()
    per_batch = batch_pixels(plan, renderer.options, grad=False)
    fp = plan.detector.fpixels
    for start in range(0, int(active.shape[0]), per_batch):
        stop = min(int(active.shape[0]), start + per_batch)
        pix = active[start:stop]
        key = ("trace-state", divmod(int(active_host[start]), fp), divmod(int(active_host[stop - 1]), fp), stop - start)
        _, _, first_pos, switch_pos, _ = renderer.batch(pix, key, first_pos, switch_pos)
        if not plan.sf.interpolate and int(first_pos.cpu()) != NO_POSITION:
            break
    return first_pos, switch_pos


def trace_pixels(plan: Plan, pixels: Sequence[Tuple[int, int]]) -> Dict[str, np.ndarray]:
    det = plan.detector
    raster = []
    for s, f in pixels:
        if not (0 <= s < det.spixels and 0 <= f < det.fpixels):
            raise ConfigError(f"trace: pixel (slow={s}, fast={f}) is outside the {det.spixels} x {det.fpixels} detector")
        raster.append(s * det.fpixels + f)
    ctx = plan.ctx
    with torch.no_grad():
        renderer = BatchRenderer(plan, RenderOptions(), signed=True)
        if not raster:
            return _empty(plan)
        first_pos, switch_pos = _global_state(plan, renderer, max(raster))
        pix = torch.tensor(raster, dtype=torch.int64, device=ctx.device)
        value, _, _, _, extra = renderer.batch(pix, ("trace", tuple(raster)), first_pos, switch_pos, for_trace=True)
    out = _assemble(plan, value, extra)
    rendered = np.isin(np.asarray(raster), plan.active_pixels().cpu().numpy())
    for name, arr in out.items():  # the legacy loop never visits pixels outside the ROI or masked
        arr[~rendered] = 0.0 if name == "pixel_value" else math.nan
    return out


def _assemble(plan: Plan, value, extra) -> Dict[str, np.ndarray]:
    paths = extra["paths"]
    values = extra["values"]
    P, T, S, R = paths.survive.shape
    H, M = plan.phi.steps, plan.mosaic.domains
    alive = paths.survive.reshape(1, -1)  # (1, Np)

    def per_step(x):  # (steps, Np) -> (P, T, S, R, H, M), NaN on culled paths
        x = torch.where(alive, x.to(torch.float64), torch.full_like(x, math.nan, dtype=torch.float64))
        return x.t().reshape(P, T, S, R, H, M)

    cells = extra["cells"].to(torch.float64)  # (steps, Np, 3, 3)
    cells = torch.where(alive.view(1, -1, 1, 1), cells, torch.full_like(cells, math.nan))
    cells = cells.permute(1, 0, 2, 3).reshape(P, T, S, R, H, M, 3, 3)

    def np64(x):
        return x.detach().to("cpu", torch.float64).numpy()

    out = {
        "pixel_pos_m": np64(paths.pixel_pos),
        "omega": np64(paths.omega),
        "capture_fraction": np64(paths.capture),
        "polar": np64(paths.polar),
        "scattering_per_m": np64(paths.scattering),
        "a_m": np64(cells[..., 0, :]),
        "b_m": np64(cells[..., 1, :]),
        "c_m": np64(cells[..., 2, :]),
        "h": np64(per_step(values["h"])),
        "k": np64(per_step(values["k"])),
        "l": np64(per_step(values["l"])),
        "F_latt": np64(per_step(values["F_latt"])),
        "F_cell": np64(per_step(extra["F_cell"])),
        "pixel_value": np64(value.to(torch.float32)),
    }
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def _empty(plan: Plan) -> Dict[str, np.ndarray]:
    T, S, R = plan.layer_count, plan.subpixel_count, plan.sources.count
    H, M = plan.phi.steps, plan.mosaic.domains
    shapes = {
        "pixel_pos_m": (0, T, S, 3),
        "omega": (0, T, S),
        "capture_fraction": (0, T, S),
        "polar": (0, T, S, R),
        "scattering_per_m": (0, T, S, R, 3),
        "a_m": (0, T, S, R, H, M, 3),
        "b_m": (0, T, S, R, H, M, 3),
        "c_m": (0, T, S, R, H, M, 3),
        "h": (0, T, S, R, H, M),
        "k": (0, T, S, R, H, M),
        "l": (0, T, S, R, H, M),
        "F_latt": (0, T, S, R, H, M),
        "F_cell": (0, T, S, R, H, M),
        "pixel_value": (0,),
    }
    return {k: np.zeros(v) for k, v in shapes.items()}
