"""Peak memory of a torch-engine run follows the memory budget, not the detector size.

Each check runs in a fresh process and reads the peak resident set (VmHWM)
before and after one simulation.  Allowed growth = budget + the image-sized
arrays every run needs (the float64 image, its float32 copy, the list of
rendered pixels and the per-batch outputs: ~6 image-sized arrays, about
6 x 8 bytes per pixel) + 40 MB for the torch runtime's first-use
allocations (thread pools, kernels) -- measured ~15 MB.
"""
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys
    import nanobrag
    from nanobrag import BeamConfig, Config, CrystalConfig, DetectorConfig, SamplingConfig, StructureFactorConfig

    def peak_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024

    n, budget = int(sys.argv[1]), int(sys.argv[2])
    cfg = Config(
        crystal=CrystalConfig(cell=(80, 90, 100, 90, 90, 90), misset_deg=(12, -25, 33), n_cells=(5, 5, 5)),
        structure_factors=StructureFactorConfig(default_F=100.0),
        beam=BeamConfig(dispersion_percent=0.2, dispersion_steps=2),
        detector=DetectorConfig(distance_mm=150.0, pixel_size_mm=102.4 / n, detpixels=(n, n)),
        sampling=SamplingConfig(phi_start_deg=10, osc_deg=0.5, phi_steps=5, oversample=2),
    )
    small = Config(crystal=cfg.crystal, structure_factors=cfg.structure_factors,
                   detector=DetectorConfig(detpixels=(4, 4)), sampling=SamplingConfig(oversample=1))
    nanobrag.simulate(small, engine="torch")  # first-use allocations of the runtime
    base = peak_mb()
    nanobrag.simulate(cfg, engine="torch", memory_budget_bytes=budget)
    print(peak_mb() - base)
    """
)


def peak_growth_mb(pixels: int, budget: int) -> float:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(pixels), str(budget)], capture_output=True, text=True, check=True
    ).stdout
    return float(out.strip().splitlines()[-1])


@pytest.mark.parametrize("pixels,budget_mb", [(256, 32), (768, 32), (768, 96)])
def test_peak_memory_within_budget(pixels, budget_mb):
    growth = peak_growth_mb(pixels, budget_mb * 2**20)
    allowed = budget_mb + 6 * 8 * pixels * pixels / 2**20 + 40
    assert growth <= allowed, f"{pixels}x{pixels}, budget {budget_mb} MB: peak grew {growth:.1f} MB > {allowed:.1f} MB"
