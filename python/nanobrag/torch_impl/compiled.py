"""Optional torch.compile path for the hot kernel (sum over steps per path).

The compiled kernel is :func:`steps.path_intensity` with the per-axis index
formulation (``fused_indices``), so inductor fuses index, lattice factor and
step sum into one vectorized loop; it is called on zero-padded, fixed-size
path chunks so one compilation serves a whole run.  Its results equal the
eager kernel's to rounding (tests/torch_impl/test_torch_compile.py).

``compile="auto"`` (the default) compiles only when the estimated saving of
this run exceeds the compile time; the rates below were measured on the
project's 2-core reference machine (benchmarks/bench_torch_engine.py), the
compile cost is that of a warm inductor cache plus margin.  A cold inductor
cache costs more (~30 s); the estimate errs towards not compiling.
"""
from __future__ import annotations

import functools
from dataclasses import replace
from typing import Callable

import torch

from ..config import ConfigError
from .steps import StepSpec, path_intensity

__all__ = ["should_compile", "compiled_kernel"]

#: (step, path) elements per second per CPU thread of a whole run, eager and compiled (timing_1024
#: on the reference machine, 2 threads; see the module docstring)
_EAGER_RATE = {torch.float64: 3.2e7, torch.float32: 3.0e7}
_COMPILED_RATE = {torch.float64: 3.8e7, torch.float32: 5.6e7}
#: seconds to compile the kernel with a warm inductor cache, plus margin
_COMPILE_SECONDS = 15.0

#: let inductor recompute the cheap index sums inside the step-sum loop instead of storing
#: them (one fused loop, no intermediate buffer): ~1.5x faster kernels on the reference CPU
_INDUCTOR_OPTIONS = {
    "realize_reads_threshold": 1000,
    "realize_opcount_threshold": 10000,
    "realize_acc_reads_threshold": 1000,
}

_KERNELS = {}


def compiled_kernel(spec: StepSpec) -> Callable:
    """The compiled hot kernel for this (hashable) spec, built once per process."""
    spec = replace(spec, fused_indices=True)
    fn = _KERNELS.get(spec)
    if fn is None:
        fn = torch.compile(functools.partial(path_intensity, spec), dynamic=False, options=_INDUCTOR_OPTIONS)
        _KERNELS[spec] = fn
    return fn


def _worth_compiling(step_elements: int, dtype: torch.dtype, device: torch.device) -> bool:
    if device.type != "cpu":
        return False  # eager device kernels are fast; compile on request only
    threads = max(1, torch.get_num_threads())
    eager = step_elements / (_EAGER_RATE[dtype] * threads)
    compiled = step_elements / (_COMPILED_RATE[dtype] * threads)
    return compiled + _COMPILE_SECONDS < eager


def should_compile(option, step_elements: int, dtype: torch.dtype, device: torch.device, per_step: bool, grad: bool) -> bool:
    """Whether this run uses the compiled hot kernel (never for per-step runs: trace, interpolation, oversample_*)."""
    if option not in ("auto", True, False):
        raise ConfigError(f"compile must be 'auto', True or False, got {option!r}")
    if option is False or per_step:
        return False
    if option == "auto":
        return not grad and _worth_compiling(step_elements, dtype, device)
    return True
