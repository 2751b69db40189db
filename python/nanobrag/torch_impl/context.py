"""Device and dtype of a torch run, and conversion of Config values to tensors.

Config fields may hold plain numbers or torch tensors (``requires_grad`` marks
what to differentiate).  :class:`Context` turns them into tensors on the run's
device without leaving the autograd graph.

Precision layout: derived quantities (geometry, cell, rotations), the
per-path geometry (positions, scattering vectors, solid angle, polarization)
and the Miller indices are computed in float64 whenever the device supports
it, whatever the run dtype.  The run dtype governs the per-step work after
the Miller indices are reduced to their fractional parts (the lattice
transform, the structure factors, the step sums) -- the bulk of the cost --
and the returned image.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
import torch

from ..config import ConfigError

__all__ = ["Context", "resolve_context", "RTD", "value_of"]

#: degrees per radian exactly as the legacy program computes it (180 * M_1_PI)
RTD = 180.0 * 0.31830988618379067154

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def value_of(x: Any) -> float:
    """Float value of a number or 0-d tensor, detached (host decisions only)."""
    if isinstance(x, torch.Tensor):
        return float(x.detach().cpu())
    return float(x)


def _device_supports(device: torch.device, dtype: torch.dtype) -> bool:
    try:
        t = torch.ones(2, dtype=dtype, device=device)
        return bool(torch.isfinite(torch.sin(t) * 2).all())
    except (RuntimeError, TypeError):
        return False


def resolve_context(device: Any, dtype: Any) -> "Context":
    """Validate the device and dtype before any work; raise ConfigError naming the problem."""
    if isinstance(dtype, torch.dtype):
        names = {v: k for k, v in _DTYPES.items()}
        if dtype not in names:
            raise ConfigError(f"dtype must be float64 or float32, got {dtype}")
        dtype = names[dtype]
    if dtype not in _DTYPES:
        raise ConfigError(f"dtype must be one of {', '.join(_DTYPES)}; got {dtype!r}")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device {device!r} is not a torch device: {exc}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} requested but CUDA is not available (torch {torch.__version__})")
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) present")
        dev = torch.device("cuda", index)
    elif dev.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ConfigError(f"device {device!r} requested but MPS is not available")
    elif dev.type != "cpu":
        if not _device_supports(dev, torch.float32):
            raise ConfigError(f"device {device!r} is not usable by this torch installation")
    run_dtype = _DTYPES[dtype]
    if not _device_supports(dev, run_dtype):
        raise ConfigError(f"device {dev} cannot compute in {dtype}; use dtype float32")
    derive_dtype = torch.float64 if _device_supports(dev, torch.float64) else run_dtype
    return Context(device=dev, dtype=run_dtype, derive_dtype=derive_dtype)


@dataclass(frozen=True)
class Context:
    device: torch.device
    #: dtype of the per-pixel computation and of the returned image
    dtype: torch.dtype
    #: dtype of the small derived quantities (float64 where the device has it)
    derive_dtype: torch.dtype

    @property
    def path_dtype(self) -> torch.dtype:
        """dtype of the per-path geometry and of the Miller indices (float64 where available)."""
        return self.derive_dtype

    def scalar(self, x: Any) -> torch.Tensor:
        """A 0-d derivation tensor; tensors keep their autograd graph."""
        if isinstance(x, torch.Tensor):
            return x.to(device=self.device, dtype=self.derive_dtype).reshape(())
        return torch.tensor(float(x), dtype=self.derive_dtype, device=self.device)

    def vector(self, x: Sequence[Any], n: int = 3) -> torch.Tensor:
        """A (n,) derivation tensor from a tensor or a sequence of numbers/0-d tensors."""
        if isinstance(x, torch.Tensor):
            return x.to(device=self.device, dtype=self.derive_dtype).reshape(n)
        if isinstance(x, np.ndarray):
            return torch.as_tensor(x.astype(np.float64), device=self.device).to(self.derive_dtype).reshape(n)
        items = list(x)
        if any(isinstance(v, torch.Tensor) for v in items):
            return torch.stack([self.scalar(v) for v in items])
        return torch.tensor([float(v) for v in items], dtype=self.derive_dtype, device=self.device)

    def constant(self, values, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
        return torch.as_tensor(values, dtype=dtype or self.derive_dtype, device=self.device)

