"""The package's papers: one version everywhere, the bare command's usage, the installed copy.

The version is written once, in python/nanobrag/_version.py; the build's
metadata (pyproject.toml, scikit-build-core's regex provider), the C library
(CMakeLists.txt -> nb_version()), ``nanobrag.__version__`` and
``nanobrag --version`` must all show that string.
"""
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import nanobrag
from nanobrag.c_engine import _ffi

REPO = Path(__file__).resolve().parents[2]
VERSION_FILE = REPO / "python" / "nanobrag" / "_version.py"


def command(*args, cwd):
    """The nanobrag console script when installed next to this interpreter, else python -m nanobrag.cli."""
    script = Path(sys.executable).with_name("nanobrag")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "nanobrag.cli"]
    return subprocess.run(cmd + list(args), cwd=cwd, capture_output=True, text=True, timeout=120)


def written_version() -> str:
    m = re.search(r'^__version__ = "([^"]+)"$', VERSION_FILE.read_text(), re.M)
    assert m, f"no __version__ line in {VERSION_FILE}"
    return m.group(1)


def test_python_c_and_command_show_the_one_version(tmp_path):
    version = written_version()
    assert nanobrag.__version__ == version
    assert _ffi.version() == version  # compiled in from the same file by CMakeLists.txt
    for flag in ("--version", "-version"):
        proc = command(flag, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == f"nanobrag {version}"
    assert list(tmp_path.iterdir()) == []  # no simulation ran


def test_build_reads_the_version_from_the_one_file():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    provider = meta["tool"]["scikit-build"]["metadata"]["version"]
    assert provider["provider"] == "scikit_build_core.metadata.regex"
    assert (REPO / provider["input"]).resolve() == VERSION_FILE
    assert "_version.py" in (REPO / "CMakeLists.txt").read_text()


def test_installed_metadata_has_the_version():
    from importlib import metadata

    try:
        dist = metadata.distribution("nanobrag")
    except metadata.PackageNotFoundError:
        pytest.skip("nanobrag is not installed in this environment (source-tree run)")
    assert dist.version == written_version()


def test_bare_command_prints_a_short_usage(tmp_path):
    proc = command(cwd=tmp_path)
    assert proc.returncode == 2  # a usage error: nothing to simulate
    assert proc.stdout == ""
    assert proc.stderr.startswith("usage: nanobrag")
    assert "-help" in proc.stderr and len(proc.stderr.splitlines()) <= 6
    assert list(tmp_path.iterdir()) == []


def test_license_names_both_projects():
    text = " ".join((REPO / "LICENSE").read_text().split())
    assert text.startswith("MIT License") and "nanobrag developers" in text
    assert "James Holton" in text and "Ken Frankel" in text


@pytest.mark.skipif(os.environ.get("NANOBRAG_EXPECT_INSTALLED") != "1",
                    reason="only when the suite runs against an installed wheel (.ci/run sets NANOBRAG_EXPECT_INSTALLED=1)")
def test_suite_runs_against_the_installed_package():
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    platlib = Path(sysconfig.get_paths()["platlib"]).resolve()
    package = Path(nanobrag.__file__).resolve().parent
    assert package.parent in (site, platlib), f"nanobrag imported from {package}, not from {site}"
    library = Path(_ffi.library_path).resolve()
    assert library.parent == package / "_lib", f"C library loaded from {library}"
    assert not str(package).startswith(str(REPO / "python"))
