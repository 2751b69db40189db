"""The legacy nonBragg reference cases in tests/golden_suite (copied from the shared golden suite)."""
from __future__ import annotations

import gzip
import json
import shlex
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List

SUITE_DIR = Path(__file__).resolve().parent / "golden_suite"


@lru_cache(maxsize=1)
def manifest() -> dict:
    return json.loads((SUITE_DIR / "nonbragg_cases.json").read_text())


def case_names() -> List[str]:
    return [c["name"] for c in manifest()["cases"]]


@dataclass(frozen=True)
class NonBraggCase:
    name: str
    record: dict

    @property
    def dir(self) -> Path:
        return SUITE_DIR / self.name

    @property
    def args(self) -> List[str]:
        """The command line without the program name."""
        tokens = shlex.split((self.dir / "cmd.txt").read_text())
        assert tokens[0] == "nonBragg"
        return tokens[1:]

    @property
    def outputs(self) -> Dict[str, dict]:
        return {o["file"]: o for o in self.record["outputs"]}

    def expected(self, filename: str) -> bytes:
        return gzip.decompress((self.dir / (filename + ".gz")).read_bytes())

    def stage_inputs(self, folder: Path) -> None:
        for item in self.record["inputs"]:
            shutil.copy(self.dir / item["file"], folder / item["file"])


def case(name: str) -> NonBraggCase:
    for record in manifest()["cases"]:
        if record["name"] == name:
            return NonBraggCase(name, record)
    raise KeyError(name)
