"""The torch engine: vectorized, differentiable nanoBragg on CPU or CUDA.

Entry points (called by :func:`nanobrag.simulate` / :func:`nanobrag.trace`):

* :func:`simulate` renders the float image; ``result.image`` is the image
  tensor in the run's dtype and device (attached to the autograd graph),
  ``result.float_image`` its float32 numpy copy.
* :func:`trace` returns the per-step intermediate values of chosen pixels
  with the layout of docs/architecture.md ("Trace layout").

Engine options of simulate (keyword arguments):

``memory_budget_bytes`` (default 2 GiB) working-memory bound of one batch;
``batch_pixels`` pixels per batch (default from the budget);
``compile`` ``"auto"`` (default: compile the hot kernel only when the
estimated saving exceeds the compile time), ``True`` or ``False``;
``phi_cache`` a :class:`PhiCarryCache` reused across calls (c-parity);
``checkpoint`` per-batch activation checkpointing (default: when needed).

Noise: :func:`noise_image` (legacy generator by default, ``generator="torch"``
for torch's generator on the result's device).
"""
from __future__ import annotations

from .engine import simulate, trace
from .noise import noise_image
from .phi_carry import PhiCarryCache
from .render import SimulationCancelled

__all__ = ["simulate", "trace", "noise_image", "PhiCarryCache", "SimulationCancelled"]
