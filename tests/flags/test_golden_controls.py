"""The legacy program's control runs, reproduced by both engines.

cases.json records, for several golden cases, what the legacy program did when
an option was added, removed or changed ("control_run") or how two cases
relate ("compare_case"): identical images, or different ones.  Those are
facts about the legacy behaviour (e.g. -stol is read but unused, -Xbeam is
ignored with -dials, the last pivot flag wins in CUSTOM); each engine must
reproduce them.  Identical means bit-identical float images from the same
engine; different means some pixel differs by more than 1e-3 of the maximum.
"""
import warnings

import numpy as np
import pytest

from golden_cases import all_cases, case
from parser_collisions import PARSER_COLLISION_CASES
import nanobrag
from nanobrag import Config

ENGINES = ("c", "torch")


def _render(name, args, engine, tmp_path, edit_inputs=None):
    work = tmp_path / f"{engine}-{abs(hash(tuple(args)))}"
    case(name).materialize_inputs(work)
    if edit_inputs:
        edit_inputs(work)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = Config.from_args(args, cwd=str(work))
    config.phi_mode = "c-parity"
    return nanobrag.simulate(config, engine=engine).float_image


def _checks():
    params = []
    for c in all_cases():
        for i, check in enumerate(c.record.get("checks") or []):
            if c.name in PARSER_COLLISION_CASES:
                continue  # these controls describe the collision itself (see parser_collisions.py)
            for engine in ENGINES:
                params.append(pytest.param(c.name, i, engine, id=f"{c.name}-{i}-{engine}"))
    return params


def _assert_relation(ours, theirs, expect, what):
    if expect == "identical":
        assert np.array_equal(ours, theirs), f"{what}: expected identical images"
    else:
        diff = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
        assert diff.max() > 1e-3 * max(np.abs(ours).max(), np.abs(theirs).max()), f"{what}: expected different images"


def _scale_weights(work):
    """The sourcefile control: a different intensity (4th) column, which the legacy program ignores."""
    path = work / "sources.txt"
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    for row in rows:
        if len(row) >= 4:
            row[3] = str(float(row[3]) * 7.5 + 1.0)
    path.write_text("".join(" ".join(r) + "\n" for r in rows))


@pytest.mark.parametrize("name,index,engine", _checks())
def test_legacy_control_run_is_reproduced(name, index, engine, tmp_path):
    check = case(name).record["checks"][index]
    base = _render(name, case(name).args, engine, tmp_path)
    if check["type"] == "compare_case":
        other = _render(check["other"], case(check["other"]).args, engine, tmp_path)
        _assert_relation(base, other, check["expect"], f"{name} vs {check['other']}")
        return
    edit = _scale_weights if name == "sourcefile" else None
    args = check.get("args") or case(name).args
    control = _render(name, args, engine, tmp_path, edit_inputs=edit)
    _assert_relation(control, base, check["expect"], check["desc"])
    if "first_diff_pixel_slow_fast" in check:
        # the interpolation switch-off: interpolated rows before it, nearest-neighbour F after
        differ = np.argwhere(control != base)
        assert tuple(differ[0]) == tuple(check["first_diff_pixel_slow_fast"])
        assert tuple(differ[-1]) == tuple(check["last_diff_pixel_slow_fast"])
