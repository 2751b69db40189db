"""engine="auto" (nanobrag.engine_choice): the rule's decisions on clear-cut runs."""
import sys

import torch

import nanobrag
from nanobrag.engine_choice import choose_engine

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from test_torch_gradients import base_config  # noqa: E402
from golden_cases import case  # noqa: E402


def still(pixels=64):
    cfg = base_config("spec")
    cfg.crystal.mosaic_domains = 1
    cfg.crystal.mosaic_spread_deg = 0.0
    cfg.beam.dispersion_percent = 0.0
    cfg.beam.dispersion_steps = 1
    cfg.sampling.phi_steps = 1
    cfg.sampling.osc_deg = 0.0
    cfg.detector.detpixels = (pixels, pixels)
    return cfg


def test_a_small_still_goes_to_the_c_engine():
    cfg = still()
    assert choose_engine(cfg, nthreads=2) == "c"
    result = nanobrag.simulate(cfg)  # the default engine is "auto"
    assert cfg.engine == "auto" and result.engine == "c"


def test_a_large_sweep_goes_to_torch(tmp_path):
    cfg = case("timing_1024").config(tmp_path)  # 1024^2 pixels x 200 sub-steps
    assert choose_engine(cfg, nthreads=2) == "torch"


def test_gradients_float32_devices_and_options_ask_for_torch():
    cfg = still()
    assert choose_engine(cfg, dtype="float32") == "torch"
    assert choose_engine(cfg, device="cuda") == "torch"
    assert choose_engine(cfg, torch_options=True) == "torch"
    cfg.detector.distance_mm = torch.tensor(60.0, dtype=torch.float64, requires_grad=True)
    assert choose_engine(cfg) == "torch"
    assert nanobrag.simulate(cfg).engine == "torch"
