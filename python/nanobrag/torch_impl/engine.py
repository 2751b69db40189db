"""simulate() and trace() of the torch engine."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch

from ..config import Config, ConfigError
from ..results import SimulationResult
from .amorphous import amorphous_values, background_only_plan, derive_amorphous
from .context import resolve_context, value_of
from .plan import build_plan
from .render import DEFAULT_MEMORY_BUDGET, RenderOptions, render

__all__ = ["simulate", "trace"]

_OPTIONS = ("memory_budget_bytes", "batch_pixels", "compile", "phi_cache", "checkpoint", "kernel")


def _options(plan, progress, options: Dict[str, Any]) -> RenderOptions:
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ConfigError(f"unknown torch engine option(s): {', '.join(unknown)}; known: {', '.join(_OPTIONS)}")
    budget = options.get("memory_budget_bytes", DEFAULT_MEMORY_BUDGET)
    if budget is None or int(budget) < 1:
        raise ConfigError(f"memory_budget_bytes must be a positive number of bytes, got {budget!r}")
    return RenderOptions(
        memory_budget_bytes=int(budget),
        batch_pixels=options.get("batch_pixels"),
        compile=options.get("compile", "auto"),
        phi_cache=options.get("phi_cache"),
        checkpoint=options.get("checkpoint"),
        kernel=options.get("kernel", "auto"),
        progress=progress,
    )


def simulate(
    config: Config,
    device: Any = "cpu",
    dtype: Any = "float64",
    progress: Optional[Callable[[int, int], Optional[bool]]] = None,
    **options,
) -> SimulationResult:
    """Render ``config`` on ``device`` in ``dtype`` (see the package docstring for the options)."""
    ctx = resolve_context(device, dtype)
    config.validate(resources=True)
    if config.crystal.cell is None and config.crystal.mosflm_matrix is None:
        return _background_only(ctx, config, progress, options)
    plan = build_plan(ctx, config)
    opts = _options(plan, progress, options)
    out = render(plan, opts)
    image = out.image
    geometry = plan.geometry()
    if config.amorphous is not None:
        # the amorphous background is added to the Bragg image of the same run
        model = derive_amorphous(ctx, config, plan.sources.count, plan.warnings)
        active = plan.active_pixels()
        values = amorphous_values(ctx, config, plan.detector, plan.layers, plan.sources, plan.oversample,
                                  plan.fluence, model, active)
        if config.amorphous.fmap:  # legacy -Fmap: F replaces the pixel value
            image = image.reshape(-1).index_put((active,), values).view(image.shape)
        else:
            image = (image.reshape(-1).index_add(0, active, values)).view(image.shape)
        geometry = dataclasses.replace(geometry, amorphous_molecules=value_of(model.molecules),
                                       amorphous_size_m=model.size_m, amorphous_density_g_m3=model.density_g_m3,
                                       amorphous_steps=int(plan.sources.count) * plan.oversample * plan.oversample)
    return SimulationResult(
        config=config,
        engine="torch",
        float_image=image.detach().to("cpu", torch.float32).numpy(),
        geometry=geometry,
        warnings=list(plan.warnings),
        omega_sum=out.omega_sum,
        interpolation_switchoff_pixel=out.switchoff_pixel,
        image=image,
    )


def _background_only(ctx, config: Config, progress, options: Dict[str, Any]) -> SimulationResult:
    """A run without a crystal: the amorphous background alone."""
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ConfigError(f"unknown torch engine option(s): {', '.join(unknown)}; known: {', '.join(_OPTIONS)}")
    bp = background_only_plan(ctx, config)
    model = derive_amorphous(ctx, config, int(bp.sources.position.shape[0]), bp.warnings)
    active = bp.active_pixels()
    values = amorphous_values(ctx, config, bp.detector, bp.layers, bp.sources, bp.oversample, bp.fluence, model,
                              active)
    det = bp.detector
    image = torch.zeros(det.fpixels * det.spixels, dtype=ctx.dtype, device=ctx.device)
    image = image.index_put((active,), values).view(det.spixels, det.fpixels)
    if progress is not None:
        progress(int(active.shape[0]), int(active.shape[0]))
    return SimulationResult(
        config=config,
        engine="torch",
        float_image=image.detach().to("cpu", torch.float32).numpy(),
        geometry=bp.geometry(model),
        warnings=list(bp.warnings),
        image=image,
    )


def trace(config: Config, pixels: Sequence[Tuple[int, int]], device: Any = "cpu", dtype: Any = "float64") -> Dict[str, np.ndarray]:
    """Per-step intermediate values of the given (slow, fast) pixels (docs/architecture.md, "Trace layout")."""
    from .tracing import trace_pixels

    ctx = resolve_context(device, dtype)
    config.validate(resources=True)
    plan = build_plan(ctx, config)
    return trace_pixels(plan, pixels)
