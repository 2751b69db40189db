"""Per-pixel quantities of a batch of pixels, before the phi/mosaic steps.

For pixels P, thickness layers T, sub-pixels S (slow-major) and sources R
this computes the sub-pixel positions, diffracted directions, solid angle,
capture fraction, scattering vectors, the dmin cut and the polarization
factor, each with the legacy caching rules ("in effect" values): omega from
the first sub-pixel of the first layer, capture from the first sub-pixel of
each layer (the last layer's value scales the pixel), polarization from the
first path that survives the dmin cut -- unless the matching
``oversample_*`` flag asks for per-step values.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import List, Optional

import torch

from .plan import Plan
from .vectors import cross, dot, rotate_about_axis, unitize

__all__ = ["PathBatch", "PixelFactors", "prepare_paths", "pixel_factors", "polarization_factor", "reuse_pixel_factors"]


@dataclass
class PathBatch:
    """Vectors are stored component first, (3, ...), so that every operation runs over
    the long pixel axes (a trailing axis of 3 makes each operation several times slower);
    the properties give the (..., 3) views of the trace."""

    pix: torch.Tensor  # (P,) raster indices
    pixel_pos_c: torch.Tensor  # (3, P, T, S) m
    diffracted_c: torch.Tensor  # (3, P, T, S) unit
    omega: torch.Tensor  # (P, T, S) in effect
    capture: torch.Tensor  # (P, T, S) in effect
    scattering_c: torch.Tensor  # (3, P, T, S, R) 1/m
    survive: torch.Tensor  # (P, T, S, R) bool: path passes the dmin cut
    polar: torch.Tensor  # (P, T, S, R) in effect (NaN on culled paths)
    omega_final: torch.Tensor  # (P,) factors applied to the pixel sum
    capture_final: torch.Tensor
    polar_final: torch.Tensor
    omega_sum: torch.Tensor  # (P,) legacy omega bookkeeping: in-effect omega summed over T, S

    @property
    def pixels(self) -> int:
        return int(self.pix.shape[0])

    @property
    def pixel_pos(self) -> torch.Tensor:  # (P, T, S, 3)
        return self.pixel_pos_c.permute(1, 2, 3, 0)

    @property
    def diffracted(self) -> torch.Tensor:  # (P, T, S, 3)
        return self.diffracted_c.permute(1, 2, 3, 0)

    @property
    def scattering(self) -> torch.Tensor:  # (P, T, S, R, 3)
        return self.scattering_c.permute(1, 2, 3, 4, 0)

    @property
    def scattering_t(self) -> torch.Tensor:  # (3, paths), paths in (P, T, S, R) order
        return self.scattering_c.reshape(3, -1)


def polarization_factor(kahn: float, incident: torch.Tensor, diffracted: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    """Legacy polarization factor for unit incident (R, 3) and diffracted (..., 1, 3) directions -> (..., R)."""
    cos2t = dot(incident, diffracted)  # legacy order, not a width-dependent sum
    c2 = cos2t * cos2t
    s2 = 1 - c2
    if kahn == 0.0:
        return 0.5 * (1.0 + c2)
    b_in = unitize(cross(axis, incident))[0]
    e_in = unitize(cross(incident, b_in))[0]
    psi = -torch.atan2(dot(diffracted, b_in), dot(diffracted, e_in))
    return 0.5 * (1.0 + c2 - kahn * torch.cos(2 * psi) * s2)


def _first_true(mask: torch.Tensor):
    """(index of the first True along the last axis, any True) without host synchronisation."""
    n = mask.shape[-1]
    order = torch.arange(n, 0, -1, device=mask.device)
    score = mask.to(torch.int64) * order
    return torch.argmax(score, dim=-1), mask.any(dim=-1)


def _positions(plan: Plan, pix: torch.Tensor, sub_f: torch.Tensor, sub_s: torch.Tensor) -> torch.Tensor:
    """(3, P, T, S) positions (m) of the sub-pixels (fast and slow sub-indices, each (S,)) of
    every layer of the pixels."""
    ctx, det = plan.ctx, plan.detector
    dt = ctx.path_dtype
    run = lambda t: t.to(dt)  # noqa: E731
    P, T, S = pix.shape[0], plan.layer_count, sub_f.shape[0]
    os = plan.oversample
    fp = (pix % det.fpixels).to(dt)
    sp = torch.div(pix, det.fpixels, rounding_mode="floor").to(dt)
    subpx = run(det.pixel_size) / os
    fdet_coord = subpx * (fp.view(P, 1) * os + sub_f.view(1, S)) + subpx / 2.0  # (P, S)
    sdet_coord = subpx * (sp.view(P, 1) * os + sub_s.view(1, S)) + subpx / 2.0
    odet_coord = torch.arange(T, device=ctx.device, dtype=dt) * plan.layers.thickstep_m  # (T,)
    f, s, o, pix0 = (run(v).view(3, 1, 1, 1) for v in (det.fdet, det.sdet, det.odet, det.pix0))
    pos = (
        fdet_coord.view(1, P, 1, S) * f
        + sdet_coord.view(1, P, 1, S) * s
        + odet_coord.view(1, 1, T, 1) * o
        + pix0
    )  # (3, P, T, S)
    if det.curved:
        distance = run(det.distance)
        sdet, fdet = run(det.sdet), run(det.fdet)
        pos = pos.permute(1, 2, 3, 0)
        turned = rotate_about_axis(distance * run(det.beam), sdet, pos[..., 1] / distance)
        pos = rotate_about_axis(turned, fdet, pos[..., 2] / distance).permute(3, 0, 1, 2).contiguous()
    return pos


def _omega_raw(plan: Plan, airpath: torch.Tensor) -> torch.Tensor:
    det, dt = plan.detector, plan.ctx.path_dtype
    if det.point_pixel:
        return 1.0 / airpath / airpath
    px = det.pixel_size.to(dt)
    return px * px / airpath / airpath * det.close_distance.to(dt) / airpath


def _capture_raw(plan: Plan, diffracted: torch.Tensor) -> torch.Tensor:
    """(P, T, S) fraction captured by each layer along the diffracted rays."""
    ctx, layers, dt = plan.ctx, plan.layers, plan.ctx.path_dtype
    P, T, S = diffracted.shape[1:]
    if layers.thick_m == 0.0 and not plan.oversample_thick:
        # (legacy: oversample_thick recomputes the formula even without a sensor, giving 0)
        return torch.ones((P, T, S), dtype=dt, device=ctx.device)
    o = plan.detector.odet.to(dt)
    parallax = diffracted[0] * o[0] + diffracted[1] * o[1] + diffracted[2] * o[2]
    layer = torch.arange(T, dtype=dt, device=ctx.device)
    near = -layer * layers.thickstep_m * layers.mu_per_m  # legacy order: ((-t) * step) * mu
    far = -(layer + 1) * layers.thickstep_m * layers.mu_per_m
    return torch.exp(near.view(1, T, 1) / parallax) - torch.exp(far.view(1, T, 1) / parallax)


@dataclass
class PixelFactors:
    """The per-pixel factors of a batch, for runs whose paths are formed in the fused kernel."""

    omega_final: torch.Tensor  # (P,)
    capture_final: torch.Tensor
    polar_final: torch.Tensor
    omega_sum: torch.Tensor  # (P,) legacy omega bookkeeping


class _FactorCache:
    """Pixel factors by (detector and beam values, pixel batch), least recently used first out."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.entries: "OrderedDict[tuple, Optional[PixelFactors]]" = OrderedDict()
        self.bytes = 0
        self.hits = 0

    @staticmethod
    def size(f: Optional[PixelFactors]) -> int:
        if f is None:
            return 0
        return sum(t.numel() * t.element_size() for t in (f.omega_final, f.capture_final, f.polar_final, f.omega_sum))

    def get(self, key):
        if key in self.entries:
            self.entries.move_to_end(key)
            self.hits += 1
            return True, self.entries[key]
        return False, None

    def put(self, key, value) -> None:
        self.entries[key] = value
        self.bytes += self.size(value)
        while self.bytes > self.max_bytes and len(self.entries) > 1:
            _, old = self.entries.popitem(last=False)
            self.bytes -= self.size(old)


_CACHE: List[_FactorCache] = []


@contextmanager
def reuse_pixel_factors(max_bytes: int = 256 * 1024**2):
    """Within the block, :func:`pixel_factors` keeps its results (up to ``max_bytes``) and
    returns them again for a batch of the same pixels with the same detector and beam values
    -- the shots of a dataset chunk differ in the crystal only.  The key holds every value
    the factors depend on, so a changed detector or beam computes afresh; runs with
    gradients on those values never use it."""
    cache = _FactorCache(max_bytes)
    _CACHE.append(cache)
    try:
        yield cache
    finally:
        _CACHE.remove(cache)


def _factor_key(plan: Plan, batch_key) -> Optional[tuple]:
    det, src = plan.detector, plan.sources
    tensors = (det.fdet, det.sdet, det.odet, det.pix0, det.pixel_size, det.close_distance, det.polar, src.position[:1])
    if any(t.requires_grad for t in tensors):
        return None
    layers = plan.layers
    return (
        batch_key, det.fpixels, bool(det.point_pixel), bool(plan.nopolar), float(plan.kahn), plan.layer_count,
        plan.subpixel_count, plan.oversample, float(layers.thick_m), float(layers.thickstep_m), float(layers.mu_per_m),
        str(plan.ctx.path_dtype), str(plan.ctx.device), tuple(tuple(t.reshape(-1).tolist()) for t in tensors),
    )


def pixel_factors(plan: Plan, pix: torch.Tensor, batch_key=None) -> Optional[PixelFactors]:
    """The factors :func:`prepare_paths` gives a pixel, from its first sub-pixel only (the
    same elementwise operations, so the same values), for runs without a dmin cut, curved
    detector or per-step factors; None when a pixel's first path has a zero polarization
    factor (the legacy rule then looks further: the caller takes :func:`prepare_paths`)."""
    key = _factor_key(plan, batch_key) if (_CACHE and batch_key is not None) else None
    if key is not None:
        found, value = _CACHE[-1].get(key)
        if found:
            return value
    value = _pixel_factors(plan, pix)
    if key is not None:
        _CACHE[-1].put(key, value)
    return value


def _pixel_factors(plan: Plan, pix: torch.Tensor) -> Optional[PixelFactors]:
    ctx, det = plan.ctx, plan.detector
    dt = ctx.path_dtype
    P, T, S = pix.shape[0], plan.layer_count, plan.subpixel_count
    zero = torch.zeros(1, dtype=dt, device=ctx.device)
    pos = _positions(plan, pix, zero, zero)  # (3, P, T, 1)
    airpath = torch.sqrt(pos[0] * pos[0] + pos[1] * pos[1] + pos[2] * pos[2])
    diffracted = pos / airpath
    omega_final = _omega_raw(plan, airpath)[:, 0, 0]
    capture_final = _capture_raw(plan, diffracted)[:, T - 1, 0]
    src = plan.sources.position.to(dt)
    if plan.nopolar:
        polar_final = torch.ones((P,), dtype=dt, device=ctx.device)
    else:
        polar_final = polarization_factor(plan.kahn, -src[:1], diffracted[:, :, 0, 0].t().unsqueeze(-2), det.polar.to(dt)).view(P)
        if plan.kahn != 0.0 and bool((polar_final == 0).any()):
            return None
    omega_sum = omega_final.view(P, 1, 1).expand(P, T, S).sum(dim=(1, 2))
    return PixelFactors(omega_final=omega_final, capture_final=capture_final, polar_final=polar_final, omega_sum=omega_sum)


def prepare_paths(plan: Plan, pix: torch.Tensor, for_trace: bool = False) -> PathBatch:
    ctx, det = plan.ctx, plan.detector
    dt = ctx.path_dtype
    run = lambda t: t.to(dt)  # noqa: E731
    P = pix.shape[0]
    T, os = plan.layer_count, plan.oversample
    S = os * os
    sub = torch.arange(os, device=ctx.device, dtype=dt)
    pos = _positions(plan, pix, sub.repeat(os), sub.repeat_interleave(os))  # slow-major sub-pixel order
    x, y, z = pos.unbind(0)  # (one backward node, not three full-size selects)
    airpath = torch.sqrt(x * x + y * y + z * z)  # never 0: the sample is not on the detector
    diffracted = pos / airpath

    omega_raw = _omega_raw(plan, airpath)
    omega = omega_raw if plan.oversample_omega else omega_raw[:, :1, :1].expand(P, T, S)
    omega_final = omega_raw[:, 0, 0]

    capture_raw = _capture_raw(plan, diffracted)
    capture = capture_raw if plan.oversample_thick else capture_raw[:, :, :1].expand(P, T, S)
    capture_final = capture_raw[:, T - 1, 0]

    src = run(plan.sources.position)  # (R, 3) towards the sources
    lam = run(plan.sources.wavelength)  # (R,)
    R = src.shape[0]
    scattering = (diffracted.unsqueeze(-1) + src.t().reshape(3, 1, 1, 1, R)) / lam  # (3, P, T, S, R)
    if plan.dmin_m > 0.0:
        stol = 0.5 * torch.sqrt(scattering[0] * scattering[0] + scattering[1] * scattering[1] + scattering[2] * scattering[2])
        culled = (stol > 0) & (plan.dmin_m > 0.5 / torch.where(stol > 0, stol, torch.ones_like(stol)))
        survive = ~culled
    else:
        survive = torch.ones((P, T, S, R), dtype=torch.bool, device=ctx.device)

    if plan.nopolar and not plan.oversample_polar:  # (legacy: oversample_polar recomputes even with nopolar)
        polar = torch.ones((P, T, S, R), dtype=dt, device=ctx.device)
        polar_final = torch.ones((P,), dtype=dt, device=ctx.device)
    elif plan.dmin_m == 0.0 and plan.kahn == 0.0 and not plan.oversample_polar and not for_trace:
        # no cut and 0.5 (1 + cos^2 2theta) >= 0.5: the first path's factor is the one in effect
        first = polarization_factor(plan.kahn, -src[:1], diffracted[:, :, 0, 0].t().unsqueeze(-2), run(det.polar))
        polar_final = first.view(P)
        polar = polar_final.view(P, 1, 1, 1).expand(P, T, S, R)
    else:
        incident = -src
        polar_raw = polarization_factor(plan.kahn, incident, diffracted.permute(1, 2, 3, 0).unsqueeze(-2), run(det.polar))
        if plan.oversample_polar:
            polar = polar_raw
            polar_final = torch.ones((P,), dtype=dt, device=ctx.device)
        else:
            flat = polar_raw.reshape(P, -1)
            valid = survive.reshape(P, -1) & (flat != 0)
            first, found = _first_true(valid)
            chosen = flat.gather(1, first.view(P, 1)).view(P)
            polar_final = torch.where(found, chosen, torch.zeros_like(chosen))
            if for_trace:
                n = torch.arange(flat.shape[1], device=ctx.device).view(1, -1)
                after = found.view(P, 1) & (n >= first.view(P, 1))
                polar = torch.where(after, polar_final.view(P, 1), flat).reshape(P, T, S, R)
            else:
                polar = polar_final.view(P, 1, 1, 1).expand(P, T, S, R)
    if for_trace:
        polar = torch.where(survive, polar, torch.full_like(polar, math.nan))

    return PathBatch(
        pix=pix,
        pixel_pos_c=pos,
        diffracted_c=diffracted,
        omega=omega,
        capture=capture,
        scattering_c=scattering,
        survive=survive,
        polar=polar,
        omega_final=omega_final,
        capture_final=capture_final,
        polar_final=polar_final,
        omega_sum=omega.detach().sum(dim=(1, 2)),  # bookkeeping only: not part of the graph
    )
