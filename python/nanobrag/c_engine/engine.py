"""Run the C engine on a :class:`nanobrag.Config`.

The Config becomes the C struct ``nb_config`` by the table of
:mod:`nanobrag.c_engine.convert` (the C library converts the legacy units
itself); the legacy random draws and the noise image are in
:mod:`nanobrag.c_engine.random_streams` (re-exported here).

All C calls release the GIL (cffi does so for every call), so several
Python threads may render at once; each call owns its plan.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..config import Config
from ..results import Geometry, SimulationResult
from ._ffi import ffi, lib
from .convert import CONVENTIONS, PIVOTS, to_nb_config
from .errors import CEngineConfigError, CEngineError, error_for
from .random_streams import mosaic_draws, noise_image, ran1_stream

__all__ = [
    "CEngineError",
    "CEngineConfigError",
    "to_nb_config",
    "simulate",
    "trace",
    "geometry",
    "noise_image",
    "mosaic_draws",
    "ran1_stream",
]

ProgressCallback = Callable[[int, int], Optional[bool]]

_CONVENTION_NAMES = {v: k for k, v in CONVENTIONS.items()}
_PIVOT_NAMES = {v: k for k, v in PIVOTS.items()}

#: names and trailing shapes of the trace arrays (architecture.md "Trace layout")
_TRACE_FIELDS = (
    ("pixel_pos_m", "TS", 3),
    ("omega", "TS", 0),
    ("capture_fraction", "TS", 0),
    ("polar", "TSR", 0),
    ("scattering_per_m", "TSR", 3),
    ("a_m", "TSRHM", 3),
    ("b_m", "TSRHM", 3),
    ("c_m", "TSRHM", 3),
    ("h", "TSRHM", 0),
    ("k", "TSRHM", 0),
    ("l", "TSRHM", 0),
    ("F_latt", "TSRHM", 0),
    ("F_cell", "TSRHM", 0),
)


# ---------------------------------------------------------------- plans


class _Plan:
    """An nb_plan with its log callback; use as a context manager."""

    def __init__(self, config: Config, progress: Optional[ProgressCallback] = None):
        self.warnings: List[str] = []
        self.cancelled_by: Optional[BaseException] = None
        self._progress = progress
        config.validate(resources=True)
        cfg, self._keep = to_nb_config(config, notes=self.warnings)
        self._log_cb = ffi.callback("nb_log_fn", self._on_log)
        self._progress_cb = ffi.callback("nb_progress_fn", self._on_progress, onerror=self._on_progress_error)
        cfg.log = self._log_cb
        cfg.progress = self._progress_cb
        self._cfg = cfg
        plan = ffi.new("nb_plan **")
        message = ffi.new("char[]", 1024)
        status = lib.nb_plan_create(cfg, plan, message, 1024)
        if status != lib.NB_OK:
            text = ffi.string(message).decode(errors="replace") or ffi.string(lib.nb_status_message(status)).decode()
            raise error_for(text, status)
        self.ptr = plan[0]

    def _on_log(self, user, level, message) -> None:
        if level == lib.NB_LOG_WARNING:
            self.warnings.append(ffi.string(message).decode(errors="replace"))

    def _on_progress(self, user, done, total) -> int:
        if self._progress is not None and self._progress(int(done), int(total)):
            return 1
        return 0

    def _on_progress_error(self, exc_type, exc_value, tb) -> int:
        # KeyboardInterrupt (or a failing callback) cancels the run; re-raised after it
        self.cancelled_by = exc_value
        return 1

    def derived(self) -> Any:
        out = ffi.new("nb_derived *")
        _check(lib.nb_plan_derived(self.ptr, out))
        return out

    def close(self) -> None:
        if getattr(self, "ptr", None) is not None:
            lib.nb_plan_free(self.ptr)
            self.ptr = None

    def __enter__(self) -> "_Plan":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check(status: int, what: str = "") -> None:
    if status != lib.NB_OK:
        text = ffi.string(lib.nb_status_message(status)).decode()
        raise error_for(f"{what}: {text}" if what else text, status)


def _tuple3(arr) -> Tuple[float, float, float]:
    return (float(arr[0]), float(arr[1]), float(arr[2]))


#: how an nb_derived member becomes a Geometry field, by the field's annotation (the field
#: list itself is results.Geometry's; tests/c_engine/test_c_binding_tables.py checks nb_derived has the same)
_BY_TYPE: Dict[str, Callable[[Any], Any]] = {
    "int": int,
    "float": float,
    "bool": bool,
    "Vec3": _tuple3,
    "Tuple[int, int, int, int]": lambda v: tuple(int(x) for x in v[0:4]),
}
_BY_NAME: Dict[str, Callable[[Any], Any]] = {
    "convention": lambda v: _CONVENTION_NAMES[v],
    "pivot": lambda v: _PIVOT_NAMES[v],
}


def _geometry(d) -> Geometry:
    values = {}
    for f in fields(Geometry):
        convert = _BY_NAME.get(f.name) or _BY_TYPE[str(f.type)]
        values[f.name] = convert(getattr(d, f.name))
    return Geometry(**values)


def _double_ptr(arr: np.ndarray):
    return ffi.cast("double *", ffi.from_buffer(arr))


# ---------------------------------------------------------------- public API


def geometry(config: Config) -> Geometry:
    """Everything the C engine derives from ``config``, without rendering."""
    with _Plan(config) as plan:
        return _geometry(plan.derived())


def simulate(config: Config, nthreads: Optional[int] = None, progress: Optional[ProgressCallback] = None) -> SimulationResult:
    """Render the float image of ``config`` with the C engine.

    nthreads: OpenMP threads (None or <= 0: all available); the image does not
    depend on it.  progress(done, total) is called with raster pixels done;
    returning True cancels (as does KeyboardInterrupt), raising
    :class:`CEngineError` (or re-raising the KeyboardInterrupt).
    """
    with _Plan(config, progress) as plan:
        d = plan.derived()
        image = np.zeros((d.spixels, d.fpixels), dtype=np.float32)
        stats = ffi.new("nb_run_stats *")
        status = lib.nb_plan_run(
            plan.ptr, ffi.cast("float *", ffi.from_buffer(image)), image.size, int(nthreads or 0), stats
        )
        if plan.cancelled_by is not None:
            raise plan.cancelled_by
        if status == lib.NB_ERR_CANCELLED:
            raise CEngineError("simulation cancelled by the progress callback", status)
        _check(status, "nb_plan_run")
        switch = int(stats.interpolation_switchoff_pixel)
        return SimulationResult(
            config=config,
            engine="c",
            float_image=image,
            geometry=_geometry(d),
            warnings=list(plan.warnings),
            omega_sum=float(stats.omega_sum),
            interpolation_switchoff_pixel=None if switch < 0 else switch,
        )


def trace(config: Config, pixels: Sequence[Tuple[int, int]]) -> Dict[str, np.ndarray]:
    """Per-step intermediate values of the given (slow, fast) pixels.

    Shapes follow docs/architecture.md ("Trace layout"): leading axis over
    ``pixels``, then (layer T, sub-pixel S, source R, phi step H, mosaic
    domain M) as each quantity varies.  Steps the loop skips are NaN.
    """
    pix = np.ascontiguousarray(np.asarray(pixels, dtype=np.int32).reshape(-1, 2))
    with _Plan(config) as plan:
        d = plan.derived()
        for s, f in pix:
            if not (0 <= s < d.spixels and 0 <= f < d.fpixels):
                raise CEngineError(f"trace pixel (slow={s}, fast={f}) is outside the {d.spixels}x{d.fpixels} detector")
        dims = {
            "T": d.detector_thicksteps,
            "S": d.oversample * d.oversample,
            "R": d.sources,
            "H": d.phisteps,
            "M": d.mosaic_domains,
        }
        P = len(pix)
        out: Dict[str, np.ndarray] = {}
        buffers = ffi.new("nb_trace_buffers *")
        for name, axes, width in _TRACE_FIELDS:
            shape = (P,) + tuple(dims[a] for a in axes) + ((width,) if width else ())
            arr = np.empty(shape, dtype=np.float64)
            out[name] = arr
            setattr(buffers, name, _double_ptr(arr))
        value = np.empty(P, dtype=np.float64)
        out["pixel_value"] = value
        buffers.pixel_value = _double_ptr(value)
        status = lib.nb_plan_trace(plan.ptr, ffi.cast("const int *", ffi.from_buffer(pix)), P, buffers)
        _check(status, "nb_plan_trace")
        return out
