"""The optional torch.compile path gives the eager results.

The compiled hot kernel reduces the Miller indices before sincg (lattice.py)
and forms h = a.q per axis; the eager float64 kernel evaluates the legacy
expression on the same elementwise dot products.  Both are the same function: float64 images agree
to 1e-10 relative (measured ~1e-13), float32 images to 2e-5 (float32
rounding of the sin arguments, ~1e-6 measured).
"""
import numpy as np
import pytest
import torch

import nanobrag
from nanobrag import Config, CrystalConfig, DetectorConfig, SamplingConfig, StructureFactorConfig, StructureFactorTable
from nanobrag.torch_impl.compiled import should_compile


def cfg_for(shape="square", table=False) -> Config:
    sf = StructureFactorConfig(default_F=100.0)
    if table:
        rng = np.random.default_rng(11)
        sf = StructureFactorConfig(table=StructureFactorTable((-9, -9, -9), 20 + 80 * rng.random((19, 19, 19))), interpolate=False)
    return Config(
        crystal=CrystalConfig(cell=(60, 70, 80, 90, 90, 90), misset_deg=(5, 12, -7), n_cells=(7, 7, 7), shape=shape),
        structure_factors=sf,
        detector=DetectorConfig(distance_mm=70.0, pixel_size_mm=0.3, detpixels=(36, 30)),
        sampling=SamplingConfig(phi_start_deg=0.0, osc_deg=0.3, phi_steps=3, oversample=2),
        phi_mode="c-parity",
    )


@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-10), ("float32", 2e-5)])
@pytest.mark.parametrize("shape,table", [("square", False), ("square", True), ("round", False)])
def test_compiled_matches_eager(dtype, rtol, shape, table):
    cfg = cfg_for(shape, table)
    eager = nanobrag.simulate(cfg, engine="torch", dtype=dtype, compile=False).float_image.astype(np.float64)
    compiled = nanobrag.simulate(cfg, engine="torch", dtype=dtype, compile=True).float_image.astype(np.float64)
    floor = 1e-7 * eager.max()  # F_latt zeros between spots: compare those absolutely
    np.testing.assert_allclose(compiled, eager, rtol=rtol, atol=floor)
    assert np.count_nonzero(eager) > 0.9 * eager.size


def test_auto_compiles_only_when_it_pays():
    cpu = torch.device("cpu")
    assert not should_compile("auto", 10**6, torch.float64, cpu, per_step=False, grad=False)
    assert should_compile("auto", 10**12, torch.float64, cpu, per_step=False, grad=False)
    # never for gradients (unless asked), per-step runs or non-CPU devices by default
    assert not should_compile("auto", 10**12, torch.float64, cpu, per_step=False, grad=True)
    assert not should_compile(True, 10**12, torch.float64, cpu, per_step=True, grad=False)
    assert not should_compile("auto", 10**12, torch.float32, torch.device("cuda"), per_step=False, grad=False)
    assert should_compile(True, 1, torch.float64, cpu, per_step=False, grad=False)
