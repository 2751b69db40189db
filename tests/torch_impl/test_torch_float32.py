"""float32 accuracy of the lattice transform on large Miller indices.

The legacy sincg evaluates sin(N pi h)/sin(pi h) on the full index; in float32
the argument N pi h (hundreds of radians) is rounded to ~3e-5 rad, which moves
F_latt by a sizeable fraction of its peak away from the spot centres.  The
float32 path reduces h by its nearest integer in float64 (the Miller indices
are formed in float64) and evaluates the ratio on the fraction in float32.
Measured on |h| in [40, 160], N = 5..30: worst error 2e-7 of the peak value N
for the reduced form; the naive float32 expression is off by up to ~10 N next
to integer h, where sin(pi h) is tiny and its float32 argument mostly rounding.
"""
import math

import pytest
import torch

from nanobrag.torch_impl.lattice import sincg, sincg_reduced


def reference(h: torch.Tensor, N: float) -> torch.Tensor:
    """float64 on the reduced index (exact to ~1e-13 relative)."""
    n = torch.round(h)
    f = h - n
    sign = 1.0 - 2.0 * torch.remainder(n * (N - 1.0), 2.0)
    x = math.pi * f
    return sign * torch.where(f == 0, torch.full_like(f, N), torch.sin(N * x) / torch.sin(x))


@pytest.mark.parametrize("N", [5.0, 12.0, 30.0])
def test_reduced_float32_sincg_keeps_float32_accuracy(N):
    h = torch.linspace(40.0, 160.0, 400_001, dtype=torch.float64)
    ref = reference(h, N)
    n = torch.round(h)
    ours = sincg_reduced(n, h - n, torch.tensor(N, dtype=torch.float32), real_n=False, grad_safe=False, signed=True)
    naive = sincg((math.pi * h).to(torch.float32), torch.tensor(N, dtype=torch.float32), grad_safe=False)
    err_ours = float((ours.double() - ref).abs().max()) / N
    err_naive = float((naive.double() - ref).abs().max()) / N
    assert err_ours < 2e-6, err_ours
    assert err_naive > 100 * err_ours  # what the reduction buys


def test_reduced_form_with_real_n_matches_the_legacy_expression():
    """Non-integer N (gradients treat N as real): the r term keeps the reduced form exact."""
    h = torch.linspace(-30.3, 57.9, 20_001, dtype=torch.float64)
    for N in (3.3, 7.77):
        Nt = torch.tensor(N, dtype=torch.float64)
        legacy = torch.sin(N * math.pi * h) / torch.sin(math.pi * h)
        n = torch.ceil(h - 0.5)
        ours = sincg_reduced(n, h - n, Nt, real_n=True, grad_safe=False, signed=True)
        torch.testing.assert_close(ours, legacy, rtol=1e-9, atol=1e-9 * N)
