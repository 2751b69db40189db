"""Torch images do not depend on the CPU's vector width (specs/torch_engine.md, "Portability").

torch picks its CPU kernels by ``ATEN_CPU_CAPABILITY`` (default, avx2,
avx512); a CPU without AVX-512 runs the avx2 kernels.  Each level this CPU
supports renders the same small golden cases in a fresh process (the level is
read once, at import), eager kernels, float64 and float32, and the images are
compared with the machine's own level:

* bit-identical, except
* runs with a Kahn polarization factor at ``default``: torch's scalar atan2
  (std::atan2) differs from its vectorized one (Sleef) by an ulp or two;
  measured on polar_kahn and polar_vector_custom_quirk (128 x 128): 13 and 17
  pixels differ, at most 2 ulp, 2.4e-16 relative.  Accepted: 1e-14 relative
  (atan2 -> cos(2 psi) -> one factor per pixel: a few ulp, with ~40x margin);
  float32 runs compute the factor in float64 too, and a float64 ulp may flip
  one float32 rounding after it: 2 float32 ulp (2.4e-7).
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

TESTS = Path(__file__).resolve().parents[1]
LEVELS = ("default", "avx2", "avx512")

#: a mix of what the hot kernel does: default_F, an hkl table, mosaic domains, dispersion,
#: oversample_* running sums, tricubic interpolation with its switch-off, water background
#: and dmin, the round crystal, the c-parity carry-over, a Kahn polarization factor
CASES = (
    "mosaic_domains_seed",
    "hkl_default_F_fill_dumpname",
    "oversample_flags_thick_polar_omega",
    "quirk_interpolate_switchoff",
    "water_stol_dmin",
    "dispersion_only",
    "xtal_round_NaNbNc",
    "phi_start0_quirk",
    "polar_kahn",
    # the timing case (8 paths x 25 steps per pixel) and with 3x3 sub-pixels, on 96 x 96 pixels
    "timing_1024@96",
    "timing_1024@96@3",
)
#: atan2 is not the same function at every level (see the module docstring)
ATAN2_CASES = {"polar_kahn"}
ATAN2_RTOL = {"float64": 1e-14, "float32": 2.4e-7}

_RENDER = """
import sys, tempfile, numpy as np, torch
sys.path.insert(0, sys.argv[1])
import nanobrag
from golden_cases import case
out = {"capability": torch.backends.cpu.get_cpu_capability()}
images = {}
for name in sys.argv[3].split(","):
    base, *size = name.split("@")
    if size:  # name@detpixels[@oversample]: the case's command line on a smaller detector
        args = list(case(base).args)
        args[args.index("-detpixels") + 1] = size[0]
        if len(size) > 1:
            args[args.index("-oversample") + 1] = size[1]
        cfg = nanobrag.Config.from_args(args)
        cfg.phi_mode = "c-parity"
    else:
        cfg = case(name).config(tempfile.mkdtemp())
    for dtype in ("float64", "float32"):
        images[name + "/" + dtype] = nanobrag.simulate(cfg, engine="torch", dtype=dtype, compile=False).image.numpy()
np.savez(sys.argv[2], **images)
print(out["capability"])
"""


def machine_levels():
    """The capability levels this CPU runs, lowest first (torch ignores a request above its own)."""
    own = torch.backends.cpu.get_cpu_capability().lower()
    if own not in LEVELS:  # e.g. an arm64 CPU: its own level only
        return [own]
    return list(LEVELS[: LEVELS.index(own) + 1])


def render_at(level, tmp_path):
    out = tmp_path / f"{level}.npz"
    env = dict(os.environ, ATEN_CPU_CAPABILITY=level, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", _RENDER, str(TESTS), str(out), ",".join(CASES)],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().lower() == level, f"asked for {level}, torch ran {proc.stdout.strip()}"
    return dict(np.load(out))


def test_images_do_not_depend_on_the_vector_width(tmp_path):
    levels = machine_levels()
    if len(levels) < 2:
        pytest.skip(f"this CPU runs one torch capability level only ({levels[0]})")
    own = levels[-1]
    ref = render_at(own, tmp_path)
    assert len(ref) == 2 * len(CASES)
    for level in levels[:-1]:
        other = render_at(level, tmp_path)
        differ = []
        for key, image in ref.items():
            name, dtype = key.split("/")
            if np.array_equal(other[key], image):
                continue
            if level == "default" and name in ATAN2_CASES:
                np.testing.assert_allclose(other[key], image, rtol=ATAN2_RTOL[dtype], atol=0, err_msg=f"{key} at {level}")
                continue
            differ.append(key)
        assert differ == [], f"images at {level} differ from {own}: {differ}"
