"""Access to the legacy noisify golden cases copied into tests/golden_suite (nz_*)."""
from __future__ import annotations

import gzip
import json
import shlex
from functools import lru_cache
from pathlib import Path
from typing import List

SUITE_DIR = Path(__file__).resolve().parent / "golden_suite"


@lru_cache(maxsize=1)
def manifest() -> dict:
    return json.loads((SUITE_DIR / "noisify_cases.json").read_text())


def cases() -> List[dict]:
    return list(manifest()["cases"])


def case(name: str) -> dict:
    return next(c for c in cases() if c["name"] == name)


def read(name: str, filename: str) -> bytes:
    """A stored file of a case (inputs and outputs are gzipped)."""
    return gzip.decompress((SUITE_DIR / name / (filename + ".gz")).read_bytes())


def args(name: str) -> List[str]:
    """The noisify arguments of a case (cmd.txt without the program name)."""
    tokens = shlex.split((SUITE_DIR / name / "cmd.txt").read_text())
    assert tokens[0] == "noisify"
    return tokens[1:]


def stage_inputs(name: str, directory: Path) -> None:
    """Copy the case's input files into ``directory``."""
    for item in case(name)["inputs"]:
        (directory / item["file"]).write_bytes(read(name, item["file"]))
