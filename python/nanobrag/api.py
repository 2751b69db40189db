"""Public entry points: simulate an image, trace per-pixel intermediate values."""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from .config import ENGINES, Config, ConfigError
from .results import SimulationResult

__all__ = ["simulate", "trace"]

ProgressCallback = Callable[[int, int], Optional[bool]]


def _engine_name(config: Config, engine: Optional[str]) -> str:
    name = engine or config.engine
    if name not in ENGINES:
        raise ConfigError(f"engine must be one of {', '.join(ENGINES)}; got {name!r}")
    return name


def resolve_engine(config: Config, engine: Optional[str] = None, *, device: Optional[str] = None,
                   dtype: Optional[str] = None, nthreads: Optional[int] = None, torch_options: bool = False) -> str:
    """"c" or "torch": ``engine`` (default ``config.engine``), "auto" resolved by
    :func:`nanobrag.engine_choice.choose_engine`."""
    name = _engine_name(config, engine)
    if name != "auto":
        return name
    from .engine_choice import choose_engine

    return choose_engine(config, device=device, dtype=dtype, nthreads=nthreads, torch_options=torch_options)


def simulate(
    config: Config,
    engine: Optional[str] = None,
    *,
    device: Optional[str] = None,
    dtype: Optional[str] = None,
    nthreads: Optional[int] = None,
    progress: Optional[ProgressCallback] = None,
    **engine_options,
) -> SimulationResult:
    """Render the detector image described by ``config``.

    engine: "auto", "c" or "torch" (default ``config.engine``; "auto": the fastest engine for
    the run, always torch for gradients, devices, float32 or torch options).  device/dtype apply to
    the torch engine (default ``config.device``/``config.dtype``); nthreads to
    the C engine (default: all cores).  ``progress(done, total)`` is called as
    pixels complete; returning True cancels the run (KeyboardInterrupt also
    cancels), and no output file is ever written by this function.
    """
    config.validate()
    name = resolve_engine(config, engine, device=device, dtype=dtype, nthreads=nthreads, torch_options=bool(engine_options))
    if name == "c":
        from .c_engine import engine as c_engine

        return c_engine.simulate(config, nthreads=nthreads, progress=progress)
    from . import torch_impl

    return torch_impl.simulate(
        config,
        device=device or config.device,
        dtype=dtype or config.dtype,
        progress=progress,
        **engine_options,
    )


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
    config.validate()
    pixels = [(int(s), int(f)) for s, f in pixels]
    name = _engine_name(config, engine)
    if name == "c":
        from .c_engine import engine as c_engine

        return c_engine.trace(config, pixels)
    from . import torch_impl

    return torch_impl.trace(config, pixels, device=device or config.device, dtype=dtype or config.dtype)
