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
    check_finite: bool = True,
    **engine_options,
) -> SimulationResult:
    """Render the detector image described by ``config``.

    Parameters
    ----------
    config : Config
        The experiment; validated first (:meth:`Config.validate`).
    engine : {"auto", "c", "torch"}, optional
        The engine; default ``config.engine``.  "auto": the fastest engine for the run
        (:mod:`nanobrag.engine_choice`), always torch for gradients, devices, float32 or torch options.
    device : str, optional
        Torch device ("cpu", "cuda", ...); default ``config.device``.  Torch engine only.
    dtype : {"float64", "float32"}, optional
        Torch working precision; default ``config.dtype``.  Torch engine only.
    nthreads : int, optional
        C engine threads (None or <= 0: all cores); the image does not depend on it.
    progress : callable, optional
        ``progress(done, total)`` is called as pixels complete; returning True
        cancels the run (KeyboardInterrupt also cancels).
    check_finite : bool, default True
        Refuse an image holding inf or NaN (:class:`~nanobrag.validation.NonFiniteImageError`,
        naming the overflowing inputs); False returns it as computed.
    **engine_options
        Torch engine options (``memory_budget_bytes``, ``batch_pixels``,
        ``compile``, ``phi_cache``, ``checkpoint``; see :mod:`nanobrag.torch_impl`).

    Returns
    -------
    SimulationResult
        The float image (photons per pixel, float32, (slow, fast)), the derived
        geometry and the engine's warnings.  No file is written.

    Raises
    ------
    ConfigError
        A configuration value is missing or out of its domain, an option does
        not apply to the chosen engine, or the image would not be finite.
    """
    config.validate(resources=True)
    name = resolve_engine(config, engine, device=device, dtype=dtype, nthreads=nthreads,
                          torch_options=bool(engine_options))
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

    Parameters
    ----------
    config : Config
        The experiment.
    pixels : sequence of (int, int)
        (slow, fast) pixel indices.
    engine : {"c", "torch"}, optional
        The engine; default ``config.engine``.  Both return the same structure.
    device, dtype : str, optional
        Torch engine device and precision (default from ``config``).

    Returns
    -------
    dict of str to numpy.ndarray
        Named arrays whose leading axis runs over ``pixels``, then the loop
        nest (layer, sub-pixel, source, phi step, mosaic domain) as each
        quantity varies (docs/architecture.md, "Trace layout"); steps the loop
        skips are NaN.  ``pixel_value`` holds each pixel's rendered value.
    """
    config.validate(resources=True)
    if config.crystal.cell is None and config.crystal.mosflm_matrix is None:
        raise ConfigError("trace: the per-step values follow the crystal's loop nest; a config with an amorphous "
                          "sample and no crystal (-cell or -mat) has none")
    pixels = [(int(s), int(f)) for s, f in pixels]
    name = _engine_name(config, engine)
    if name == "c" and (device is not None or dtype is not None):
        raise ConfigError("trace(engine='c'): device and dtype apply to the torch engine only")
    if name == "c":
        from .c_engine import engine as c_engine

        return c_engine.trace(config, pixels)
    from . import torch_impl

    return torch_impl.trace(config, pixels, device=device or config.device, dtype=dtype or config.dtype)
