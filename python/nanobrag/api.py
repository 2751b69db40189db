"""Public entry points: simulate an image, trace per-pixel intermediate values."""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from .config import ENGINES, Config, ConfigError
from .results import SimulationResult
from .validation import check_image_finite, check_nthreads

__all__ = ["simulate", "trace"]

ProgressCallback = Callable[[int, int], Optional[bool]]


def _engine_name(config: Config, engine: Optional[str]) -> str:
    name = engine or config.engine
    if name not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}; got {name!r}")
    return name


def simulate(
    config: Config,
    engine: Optional[str] = None,
    *,
    device: Optional[str] = None,
    dtype: Optional[str] = None,
    nthreads: Optional[int] = None,
    progress: Optional[ProgressCallback] = None,
    check_finite: bool = True,
    **engine_options,
) -> SimulationResult:
    """Render the detector image described by ``config``.

    engine: "c" or "torch" (default ``config.engine``).  device/dtype apply to
    the torch engine (default ``config.device``/``config.dtype``); nthreads to
    the C engine (default: all cores).  ``progress(done, total)`` is called as
    pixels complete; returning True cancels the run (KeyboardInterrupt also
    cancels), and no output file is ever written by this function.
    """
    config.validate(resources=True)
    name = _engine_name(config, engine)
    check_nthreads(nthreads)
    if name == "c":
        ignored = [k for k, v in (("device", device), ("dtype", dtype)) if v is not None] + sorted(engine_options)
        if ignored:
            raise ConfigError(f"simulate(engine='c'): {', '.join(ignored)} apply to the torch engine only; "
                              "drop them or use engine='torch'")
        from .c_engine import engine as c_engine

        result = c_engine.simulate(config, nthreads=nthreads, progress=progress)
    else:
        from . import torch_impl

        result = torch_impl.simulate(
            config,
            device=device or config.device,
            dtype=dtype or config.dtype,
            progress=progress,
            **engine_options,
        )
    if check_finite:
        check_image_finite(config, result.float_image)
    return result


def trace(
    config: Config,
    pixels: Sequence[Tuple[int, int]],
    engine: Optional[str] = None,
    *,
    device: Optional[str] = None,
    dtype: Optional[str] = None,
) -> Dict[str, np.ndarray]:
    """Intermediate values of every loop step for the given (slow, fast) pixels.

    Returns a dict of numpy arrays with the leading axis over ``pixels`` and
    the loop-nest axes (layer, sub-pixel, source, phi step, mosaic domain);
    see docs/architecture.md for the names and shapes.  Both engines return
    the same structure.
    """
    config.validate(resources=True)
    pixels = [(int(s), int(f)) for s, f in pixels]
    name = _engine_name(config, engine)
    if name == "c" and (device is not None or dtype is not None):
        raise ConfigError("trace(engine='c'): device and dtype apply to the torch engine only")
    if name == "c":
        from .c_engine import engine as c_engine

        return c_engine.trace(config, pixels)
    from . import torch_impl

    return torch_impl.trace(config, pixels, device=device or config.device, dtype=dtype or config.dtype)
