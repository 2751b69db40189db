"""The in-place no-grad hot kernel against the autograd kernel it replaces in runs without gradients.

path_intensity_nograd claims the same arithmetic in the same order as
path_intensity for the square crystal, so the comparison is exact (rtol = atol
= 0), NaN where the reference is NaN.  The inputs hit its special cases: an
index exactly 0 and exactly integer (sincg's 0/0 mapped to N), non-finite
scattering vectors (the NaN the legacy expression gives must not become N),
unequal N per axis, N = 1, a structure-factor table, and a workspace reused
with a smaller call.
"""
import pytest
import torch

from nanobrag.torch_impl.lattice import LatticeSpec
from nanobrag.torch_impl.steps import (
    StepSpec,
    Workspace,
    nograd_kernel_applies,
    path_intensity,
    path_intensity_nograd,
)

HKL_MIN, HKL_MAX = (-40, -40, -40), (40, 40, 40)


def inputs(paths: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    cells = 30.0 + 10.0 * torch.rand((6, 3, 3), generator=g, dtype=torch.float64)  # h of tens
    q = torch.rand((3, paths), generator=g, dtype=torch.float64) - 0.5
    cells[0] = torch.diag(torch.tensor([10.0, 20.0, 40.0], dtype=torch.float64))
    q[:, 0] = 0.0  # h = k = l = 0 exactly
    q[:, 1] = torch.tensor([2.0, -0.5, 0.25], dtype=torch.float64)  # integer h, k, l at step 0
    q[:, 2] = torch.tensor([float("nan"), 0.1, 0.1], dtype=torch.float64)
    q[:, 3] = torch.tensor([0.1, float("inf"), 0.1], dtype=torch.float64)
    table = 50.0 + 100.0 * torch.rand((81, 81, 81), generator=g, dtype=torch.float64)
    return cells, q, table


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("has_table", [False, True])
@pytest.mark.parametrize("n_values", [(5.0, 5.0, 5.0), (5.0, 1.0, 7.0)])
def test_nograd_kernel_equals_the_autograd_kernel(dtype, has_table, n_values):
    reduce = dtype == torch.float32  # what the renderer picks for eager runs
    lattice = LatticeSpec(shape="square", active=tuple(n > 1 for n in n_values), reduce=reduce)
    spec = StepSpec(
        lattice=lattice, has_table=has_table, hkl_min=HKL_MIN, hkl_max=HKL_MAX, skip_zero_latt=False, no_water=True
    )
    assert nograd_kernel_applies(spec, dtype, torch.float64)
    n_cells = torch.tensor(n_values, dtype=dtype)
    default_F = torch.tensor(100.0, dtype=dtype)
    fudge = torch.tensor(1.0, dtype=dtype)
    recip = torch.eye(3, dtype=dtype)
    workspace = Workspace()
    for paths, seed in ((300, 1), (257, 2)):  # the second call reuses larger buffers
        cells, q, table = inputs(paths, seed)
        table = table.to(dtype) if has_table else None
        ref = path_intensity(spec, cells, q, n_cells, fudge, recip, table, default_F)
        ours = path_intensity_nograd(spec, cells, q, n_cells, n_values, table, default_F, workspace)
        assert ours.dtype == ref.dtype and ours.shape == ref.shape == (paths,)
        assert torch.isnan(ref[2]) and torch.isnan(ref[3])  # the cases the kernel must not map to N
        assert torch.isfinite(ref[[0, 1]]).all() and torch.isfinite(ref[4:]).all()
        torch.testing.assert_close(ours, ref, rtol=0.0, atol=0.0, equal_nan=True)
