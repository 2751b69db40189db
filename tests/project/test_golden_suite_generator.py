"""The reference-suite generator reproduces the legacy program's outputs for cases that mirror the golden set."""
import importlib.util
from pathlib import Path

import pytest

from golden_cases import case

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("generate", REPO / "golden_suite_generator" / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

# a spread of what the generator must get right: plain images, the Fdump cache written after -hkl,
# custom output names with an ROI, a mask with a named PGM, and the noise image
SAMPLE = ["cubic_default_F", "hkl_default_F_fill_dumpname", "roi_custom_filenames", "mask_pgm_scale",
          "noise_seed_adc_scale"]


def test_case_definitions_cover_every_golden_case_with_its_command_line():
    defs = {c["name"]: c for c in generate.load_cases()}
    for name, d in defs.items():
        if d.get("mirrors_golden"):
            assert d["args"] == case(name).args, name
    from golden_cases import case_names
    assert set(case_names()) <= set(defs)


@pytest.mark.parametrize("name", SAMPLE)
def test_regenerated_outputs_equal_the_legacy_files(name, tmp_path):
    definition = next(c for c in generate.load_cases() if c["name"] == name)
    written = generate.render_case(definition, tmp_path / name)
    golden = case(name)
    expected = {o["file"] for o in golden.record["outputs"]}
    assert set(written) == expected
    for filename in sorted(expected):
        assert (tmp_path / name / filename).read_bytes() == golden.read(filename), filename
