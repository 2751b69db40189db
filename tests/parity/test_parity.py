"""In-process parity of the C and torch engines (nanobrag.parity).

* Every golden case, in both phi modes, float64: no divergence in geometry, in
  any traced loop-step quantity, or in the image.
* Random valid configurations (hypothesis, 200 in CI): no divergence.
* A deliberately broken torch quantity is caught, and named first.
* The nanobrag-parity command: exit status and JSON.
Tolerances: nanobrag.parity.compare.DEFAULT_TOLERANCES, stated and justified there.
"""
import json
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from golden_cases import all_cases, case
from parser_collisions import PARSER_COLLISION_CASES
from parity_strategies import configs
from nanobrag import Config, trace
from nanobrag.parity import compare
from nanobrag.parity.cli import main as parity_main


def _golden_params():
    params = []
    for c in all_cases():
        for mode in ("spec", "c-parity"):
            marks = [pytest.mark.slow] if c.name == "timing_1024" else []
            params.append(pytest.param(c.name, mode, marks=marks, id=f"{c.name}-{mode}"))
    return params


@pytest.mark.parametrize("name,phi_mode", _golden_params())
def test_engines_agree_on_golden_case(name, phi_mode, tmp_path):
    if name in PARSER_COLLISION_CASES:
        pytest.skip(PARSER_COLLISION_CASES[name])
    config = case(name).config(tmp_path / name, phi_mode=phi_mode)
    report = compare(config)
    assert report.first_divergence is None, report.format_table()
    assert len(report.pixels) >= 1
    assert any(q.stage == "trace" for q in report.quantities)


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(configs())
def test_engines_agree_on_random_configurations(config):
    report = compare(config)
    assert report.first_divergence is None, report.format_table()


def test_report_names_a_broken_quantity_first(monkeypatch, tmp_path):
    """Break the torch engine's polarization factor: the report must name `polar` first, not a consequence."""
    from nanobrag.torch_impl import paths

    config = case("polar_kahn").config(tmp_path / "polar_kahn")
    good = compare(config, phi_mode="c-parity")
    assert good.ok, good.format_table()
    correct = paths.polarization_factor
    monkeypatch.setattr(paths, "polarization_factor", lambda *args: correct(*args) * 1.001)
    bad = compare(config, phi_mode="c-parity")
    assert bad.first_divergence == "polar", bad.format_table()
    assert not bad.quantity("polar").ok
    # everything derived before it still agrees
    assert all(q.ok for q in bad.quantities[: [q.name for q in bad.quantities].index("polar")])


def test_parity_command_exit_status_and_json(tmp_path, monkeypatch, capsys):
    config_args = case("cubic_default_F").args
    monkeypatch.chdir(tmp_path)
    assert parity_main(["--phi-mode", "c-parity", "--"] + config_args) == 0
    out = capsys.readouterr().out
    assert "first divergence: none" in out
    assert parity_main(["--json", "--phi-mode", "spec"] + config_args) == 0
    reports = json.loads(capsys.readouterr().out)
    assert reports[0]["first_divergence"] is None and reports[0]["phi_mode"] == "spec"
    assert parity_main(["-cell", "100"]) == 2  # no structure factors: a usage error, not a divergence


@pytest.mark.parametrize("engine", ["c", "torch"])
def test_phi_modes_differ_exactly_where_the_carry_over_applies(engine):
    """Trace both modes: the rotated cells agree everywhere except at exact-zero phi steps of every
    phi loop but the first one the program executes, where c-parity reuses the last non-zero rotation."""
    from nanobrag import CrystalConfig, DetectorConfig, SamplingConfig, StructureFactorConfig

    config = Config(
        crystal=CrystalConfig(cell=(70, 80, 90, 90, 90, 90), misset_deg=(10, 20, 30), n_cells=(5, 5, 5)),
        structure_factors=StructureFactorConfig(default_F=100.0),
        detector=DetectorConfig(distance_mm=80.0, pixel_size_mm=0.3, detpixels=(12, 10), roi=(2, 9, 1, 8)),
        # phi steps -0.2, -0.1, 0.0 (exact), 0.1: the zero step is mid-sweep
        sampling=SamplingConfig(phi_start_deg=-0.2, phi_step_deg=0.1, osc_deg=0.4, phi_steps=4, oversample=2),
    )
    pixels = [(1, 2), (1, 3), (5, 7)]  # (1, 2) is the first rendered pixel of the ROI
    traces = {}
    for mode in ("spec", "c-parity"):
        c = config.copy()
        c.phi_mode = mode
        traces[mode] = trace(c, pixels, engine=engine)
    spec, carry = traces["spec"]["a_m"], traces["c-parity"]["a_m"]
    zero_step = 2
    others = [h for h in range(spec.shape[4]) if h != zero_step]
    np.testing.assert_allclose(carry[:, :, :, :, others], spec[:, :, :, :, others], rtol=0, atol=1e-24)
    # at the zero step c-parity holds the rotation of the step before it (-0.1 deg), spec the identity
    np.testing.assert_array_equal(carry[:, :, :, :, zero_step], carry[:, :, :, :, zero_step - 1])
    assert np.abs(carry[:, :, :, :, zero_step] - spec[:, :, :, :, zero_step]).max() > 1e-14


def _generator():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "golden_suite_generator" / "generate.py"
    spec = importlib.util.spec_from_file_location("generate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_GENERATOR = _generator()
_EXTRA_CASES = [c for c in _GENERATOR.load_cases() if not c.get("mirrors_golden")]


@pytest.mark.parametrize("phi_mode", ["spec", "c-parity"])
@pytest.mark.parametrize("definition", _EXTRA_CASES, ids=[c["name"] for c in _EXTRA_CASES])
def test_engines_agree_on_the_generator_cases_beyond_the_golden_set(definition, phi_mode, tmp_path):
    from nanobrag.legacy_flags import parse_args

    _GENERATOR.place_inputs(definition, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config, _ = parse_args(definition["args"], cwd=str(tmp_path))
    report = compare(config, phi_mode=phi_mode)
    assert report.first_divergence is None, report.format_table()
    if "quirk_interpolate_global_switchoff" in definition["features"]:
        from nanobrag import simulate

        switch = simulate(config, engine="c").interpolation_switchoff_pixel
        assert switch is not None and 0 < switch < config.detector.detpixels[0] * config.detector.detpixels[1] - 1
