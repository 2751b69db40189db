"""simulate() and trace() of the torch engine."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch

from ..config import Config, ConfigError
from ..results import SimulationResult
from .context import resolve_context
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
    config.validate()
    plan = build_plan(ctx, config)
    opts = _options(plan, progress, options)
    out = render(plan, opts)
    image = out.image
    return SimulationResult(
        config=config,
        engine="torch",
        float_image=image.detach().to("cpu", torch.float32).numpy(),
        geometry=plan.geometry(),
        warnings=list(plan.warnings),
        omega_sum=out.omega_sum,
        interpolation_switchoff_pixel=out.switchoff_pixel,
        image=image,
    )


def trace(config: Config, pixels: Sequence[Tuple[int, int]], device: Any = "cpu", dtype: Any = "float64") -> Dict[str, np.ndarray]:
    """Per-step intermediate values of the given (slow, fast) pixels (docs/architecture.md, "Trace layout")."""
    from .tracing import trace_pixels

    ctx = resolve_context(device, dtype)
    config.validate()
    plan = build_plan(ctx, config)
    return trace_pixels(plan, pixels)
