"""Sums and dot products whose rounding is the same on every CPU, batch size and BLAS.

torch picks its CPU kernels by vector width (``ATEN_CPU_CAPABILITY``: default,
avx2, avx512) and MKL picks its own by CPU: ``Tensor.sum`` adds in an order
that depends on the width and on where a column falls in a block of vector
lanes, and ``torch.mm`` / ``einsum`` may fuse multiply-adds and order the
three terms of a dot product differently.  The helpers here are built from
single elementwise operations (one IEEE rounding each; no kernel here can
fuse a multiply with an add), applied in an order fixed by the shapes alone,
so every element of a result is the same function of its inputs on every
CPU and for every batch or chunk of paths (columns never mix).
"""
from __future__ import annotations

from typing import Optional

import torch

__all__ = ["cell_indices", "pairwise_sum", "sequential_sum", "rotate_rows"]


def cell_indices(cells: torch.Tensor, q: torch.Tensor, out: Optional[torch.Tensor] = None,
                 scratch: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Miller indices a.q, b.q, c.q of every step and path, legacy order ``(x*x + y*y) + z*z``.

    cells (steps, 3, 3) rows a, b, c (m); q (3, paths) (1/m) -> (steps * 3, paths).
    out, scratch: optional (steps * 3, paths) buffers (no autograd) to work in place.
    """
    rows = cells.reshape(-1, 3)
    q = q.unsqueeze(1)  # (3, 1, paths)
    if out is None:
        return rows[:, 0:1] * q[0] + rows[:, 1:2] * q[1] + rows[:, 2:3] * q[2]
    torch.mul(rows[:, 0:1], q[0], out=out)
    out.add_(torch.mul(rows[:, 1:2], q[1], out=scratch))
    return out.add_(torch.mul(rows[:, 2:3], q[2], out=scratch))


def pairwise_sum(x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """Sum over the first axis by pairwise halving: rows [0, h) += rows [n-h, n), n -> n - h.

    The tree depends on the number of rows only.  With ``inplace`` x is used as
    scratch (no autograd); the result is then a view of x's first row.
    """
    n = x.shape[0]
    if n == 0:
        return torch.zeros(x.shape[1:], dtype=x.dtype, device=x.device)
    while n > 1:
        h = n // 2
        if inplace:
            x[:h].add_(x[n - h:n])
        else:
            top = x[:h] + x[n - h:n]
            x = top if n == 2 * h else torch.cat((top, x[h:h + 1]))
        n -= h
    return x[0]


def sequential_sum(start: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``start + x[..., 0] + x[..., 1] + ...`` left to right (the legacy running sum)."""
    total = start
    for j in range(x.shape[-1]):
        total = total + x[..., j]
    return total


def rotate_rows(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """u (M, 3, 3) applied to vectors v (..., 3) -> (..., M, 3), legacy order per component.

    ``out[..., m, i] = (u[m, i, 0] v[..., 0] + u[m, i, 1] v[..., 1]) + u[m, i, 2] v[..., 2]``
    (what an einsum does with another order or fused multiply-adds).
    """
    v = v.unsqueeze(-2).unsqueeze(-2)  # (..., 1, 1, 3)
    return u[..., 0] * v[..., 0] + u[..., 1] * v[..., 1] + u[..., 2] * v[..., 2]
