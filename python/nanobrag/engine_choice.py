"""``engine="auto"``: the engine that renders a run fastest, by a measured rule.

Rule (rates measured on the project's 2-core reference machine, benchmarks/README.md):

* the torch engine whenever the run needs it: a ``torch.Tensor`` anywhere in the Config
  (gradients), a device other than the CPU, float32, or torch-engine options;
* otherwise the estimated wall time of each engine, the smaller wins:
  C engine ``work / (C_RATE * threads)``; torch engine ``start + work / (rate * threads)``,
  ``rate`` the fused C++ kernel's where it applies (square crystal, no per-step features)
  and the eager torch kernel's elsewhere, ``start`` the cost of importing torch (0 when it is
  already imported) plus a per-run cost (plan, per-path geometry).  ``work`` = rendered pixels x
  sub-steps per pixel.  So a plain still goes to the C engine, a sweep with mosaic and
  dispersion to the torch engine.

The dtype is the Config's (float64 by default): float32 is faster but changes the image
beyond the float64 acceptance (specs/torch_engine.md), so it is never chosen silently.
"""
from __future__ import annotations

import os
import sys
from typing import Optional

from .config import Config

__all__ = ["choose_engine", "C_RATE", "TORCH_RATE", "TORCH_START_S"]

#: pixel-steps per second per thread (timing_1024, 2-thread figures / 2; the fused kernel's
#: rate rounded down from 200 M/s per thread so that its path route, 0.6x, is covered)
C_RATE = 7.5e6
TORCH_RATE = {"fused": 1.2e8, "eager": 3.0e7}
#: import torch, seconds (measured 1.5-2.6 s)
TORCH_START_S = 2.0
#: per-run cost of the torch engine beyond the hot loop (plan, per-pixel factors), seconds
TORCH_RUN_S = 0.15


def _has_tensor(obj, depth: int = 0) -> bool:
    torch = sys.modules.get("torch")
    if torch is None or depth > 3:  # no tensor can exist before torch is imported
        return False
    if isinstance(obj, torch.Tensor):
        return True
    fields = getattr(obj, "__dataclass_fields__", None)
    if fields:
        return any(_has_tensor(getattr(obj, name), depth + 1) for name in fields)
    if isinstance(obj, (list, tuple)):
        return any(_has_tensor(v, depth + 1) for v in obj)
    return False


def choose_engine(config: Config, device: Optional[str] = None, dtype: Optional[str] = None,
                  nthreads: Optional[int] = None, torch_options: bool = False) -> str:
    """"c" or "torch" for this run (module docstring)."""
    if torch_options or (device or config.device) != "cpu" or (dtype or config.dtype) != "float64":
        return "torch"
    if _has_tensor(config):
        return "torch"
    try:
        from .c_engine import engine as c_engine

        geo = c_engine.geometry(config)
    except ImportError:
        return "torch"
    xmin, xmax, ymin, ymax = geo.roi
    pixels = max(0, xmax - xmin + 1) * max(0, ymax - ymin + 1)
    work = float(pixels) * max(1, geo.steps)
    threads = max(1, nthreads or os.cpu_count() or 1)
    smp = config.sampling
    per_step = geo.interpolate or any(
        bool(getattr(smp, f, False)) for f in ("oversample_thick", "oversample_polar", "oversample_omega")
    )
    fused = not per_step and config.crystal.shape == "square" and _fused_available()
    torch_s = (0.0 if "torch" in sys.modules else TORCH_START_S) + TORCH_RUN_S + work / (TORCH_RATE["fused" if fused else "eager"] * threads)
    c_s = work / (C_RATE * threads)
    return "c" if c_s <= torch_s else "torch"


def _fused_available() -> bool:
    """Whether nanobrag._fused can be found, without importing torch."""
    import importlib.util
    import glob
    from pathlib import Path

    if os.environ.get("NANOBRAG_FUSED", "1") == "0":
        return False
    if importlib.util.find_spec("nanobrag._fused") is not None:
        return True
    root = Path(__file__).resolve().parents[2]
    return bool(glob.glob(str(root / "build" / "*" / "csrc" / "fused" / "_fused*.so")))
