"""specs/cli.md describes every option the parser accepts, under every spelling."""
from pathlib import Path

import pytest

from nanobrag.legacy_flags import FLAGS

SPEC = (Path(__file__).resolve().parents[2] / "specs" / "cli.md").read_text()


@pytest.mark.parametrize("flag", FLAGS, ids=lambda f: f.name)
def test_spec_has_a_row_for_every_option(flag):
    row = next((line for line in SPEC.splitlines() if line.startswith(f"| `{flag.name}` |")), None)
    assert row is not None, f"specs/cli.md has no row for {flag.name}"
    for alias in flag.aliases:
        assert f"`{alias}`" in row, f"specs/cli.md does not list {alias} with {flag.name}"


def test_spec_names_the_collision_cases():
    from parser_collisions import PARSER_COLLISION_CASES

    for name in PARSER_COLLISION_CASES:
        assert name in SPEC
