"""The documentation: the Sphinx API reference builds without warnings, the tutorials run,
and the public API's docstrings carry numpydoc Parameters/Returns sections.

The tutorials' ``code-block:: python`` blocks run in order, in one namespace,
in a scratch directory, exactly as shown (their own asserts check results).
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from numpydoc.docscrape import NumpyDocString

import nanobrag
import nanobrag.io
import nanobrag.parity

DOCS = Path(__file__).resolve().parents[2] / "docs"
TUTORIALS = sorted((DOCS / "tutorials").glob("*.rst"))


def python_blocks(text: str):
    """The bodies of the ``.. code-block:: python`` directives of an .rst text, dedented."""
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: python":
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
                body.append(lines[i][4:])
                i += 1
            blocks.append("\n".join(body).strip("\n") + "\n")
        else:
            i += 1
    return blocks


def test_the_block_reader_finds_blocks_and_ignores_other_languages():
    text = "x\n\n.. code-block:: python\n\n    a = 1\n\n    b = a + 1\n\nafter\n\n.. code-block:: bash\n\n    ls\n"
    assert python_blocks(text) == ["a = 1\n\nb = a + 1\n"]


def test_sphinx_builds_the_reference_without_warnings(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    api = (tmp_path / "html" / "api" / "simulate.html").read_text()
    assert "nanobrag.simulate" in api and "Parameters" in api


@pytest.mark.parametrize("tutorial", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_code_runs(tutorial, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(tutorial.read_text())
    assert blocks, f"{tutorial.name} has no python code blocks"
    namespace = {"__name__": f"tutorial_{tutorial.stem}"}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"{tutorial.name} block {number}", "exec"), namespace)


def test_the_three_tutorials_are_in_the_index():
    index = (DOCS / "index.rst").read_text()
    assert {p.stem for p in TUTORIALS} == {"render_and_write", "compare_engines", "fit_by_gradients"}
    for p in TUTORIALS:
        assert f"tutorials/{p.stem}" in index


def _documented_names(doc: str, section: str):
    names = set()
    for item in NumpyDocString(doc)[section]:
        names.update(n.strip() for n in item.name.split(","))
    return names


CONFIG_CLASSES = [
    nanobrag.Config, nanobrag.CrystalConfig, nanobrag.StructureFactorConfig, nanobrag.BeamConfig,
    nanobrag.DetectorConfig, nanobrag.SamplingConfig, nanobrag.BackgroundConfig, nanobrag.OutputConfig,
    nanobrag.DetectorResponseConfig,
    nanobrag.SimulationResult, nanobrag.Geometry,
]


@pytest.mark.parametrize("cls", CONFIG_CLASSES, ids=lambda c: c.__name__)
def test_every_field_is_in_the_parameters_section(cls):
    """A field added to a public dataclass without documenting it fails here."""
    fields = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    assert _documented_names(cls.__doc__, "Parameters") == fields


FUNCTIONS = [
    nanobrag.simulate, nanobrag.trace, nanobrag.parity.compare,
    nanobrag.io.read_hkl, nanobrag.io.read_fdump, nanobrag.io.write_fdump, nanobrag.io.read_mosflm_matrix,
    nanobrag.io.read_source_file, nanobrag.io.read_stol_table, nanobrag.io.read_smv, nanobrag.io.write_smv,
    nanobrag.io.read_pgm, nanobrag.io.write_pgm, nanobrag.io.read_float_image, nanobrag.io.write_float_image,
    nanobrag.io.atomic_write, nanobrag.io.atomic_write_many,
]


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_public_functions_document_parameters_and_returns(fn):
    import inspect

    params = [
        name for name, p in inspect.signature(fn).parameters.items()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    documented = _documented_names(fn.__doc__, "Parameters")
    assert set(params) <= documented, f"undocumented: {set(params) - documented}"
    assert NumpyDocString(fn.__doc__)["Returns"], "no Returns section"
