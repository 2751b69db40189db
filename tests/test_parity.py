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

import pytest
from hypothesis import HealthCheck, given, settings

from golden_cases import all_cases, case
from parser_collisions import PARSER_COLLISION_CASES
from parity_strategies import configs
from nanobrag import Config
from nanobrag.parity import compare
from nanobrag.parity.cli import main as parity_main


def _golden_config(name, tmp_path):
    work = case(name).materialize_inputs(tmp_path / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Config.from_args(case(name).args, cwd=str(work)), work


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
    config, _ = _golden_config(name, tmp_path)
    report = compare(config, phi_mode=phi_mode)
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

    config, _ = _golden_config("polar_kahn", tmp_path)
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
