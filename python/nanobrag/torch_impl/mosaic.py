"""Mosaic domain rotations rebuilt in torch from the legacy random draws.

The uniform deviates come from the legacy generator
(:mod:`nanobrag.c_engine.random_streams`), so the domains equal the legacy ones; the rotation is
built here from the spread tensor, so gradients reach the mosaic spread.

Rounding note: the legacy program passes the spread as a C float and forms
``rot = spread * powf(1 - r3^2, 1/3)`` in single precision.  That rounding is
reproduced, except when the spread requires a gradient: then the product is
formed in the derivation dtype so the image stays a smooth function of the
spread (the two differ by ~6e-8 relative in the angle, ~1e-7 in pixels).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..config import Config
from .context import Context

__all__ = ["legacy_draws", "legacy_random_misset_rad", "mosaic_matrices"]


def legacy_draws(config: Config, domains: int) -> np.ndarray:
    """(domains, 3): r1, r2 and the single-precision cap factor of each domain (legacy generator)."""
    from ..c_engine import random_streams

    return random_streams.mosaic_draws(config, domains)


def legacy_random_misset_rad(config: Config):
    """The misset angles (rad) the legacy ``-misset random`` draw gives for this Config."""
    from ..c_engine import random_streams

    return random_streams.random_misset_rad(config)


def mosaic_matrices(ctx: Context, draws: np.ndarray, spread_rad: torch.Tensor, domains: int) -> torch.Tensor:
    """(M, 3, 3) rotation matrices; domain 0 is the identity, as in the legacy program."""
    d = ctx.constant(np.asarray(draws, dtype=np.float64).reshape(-1, 3)[:domains])
    r1, r2, factor = d[:, 0], d[:, 1], d[:, 2]
    if spread_rad.requires_grad or not spread_rad.dtype.is_floating_point:
        rot = spread_rad * factor
    else:
        rot = (spread_rad.to(torch.float32) * factor.to(torch.float32)).to(d.dtype)
    xyrad = torch.sqrt(1.0 - r2 * r2)
    v1 = xyrad * torch.sin(math.pi * r1)
    v2 = xyrad * torch.cos(math.pi * r1)
    v3 = r2
    c = torch.cos(rot)
    t = 1.0 - c
    s = torch.sin(rot)
    umat = torch.stack(
        (
            torch.stack((c + t * (v1 * v1), t * v1 * v2 - s * v3, t * v1 * v3 + s * v2), -1),
            torch.stack((t * v1 * v2 + s * v3, c + t * (v2 * v2), t * v2 * v3 - s * v1), -1),
            torch.stack((t * v1 * v3 - s * v2, t * v2 * v3 + s * v1, c + t * (v3 * v3)), -1),
        ),
        -2,
    )
    eye = torch.eye(3, dtype=umat.dtype, device=umat.device)
    first = (torch.arange(domains, device=umat.device) == 0).view(-1, 1, 1)
    return torch.where(first, eye, umat)
