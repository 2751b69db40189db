"""Access to the golden reference cases in tests/golden (legacy program outputs)."""
from __future__ import annotations

import gzip
import json
import re
import shlex
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List

import numpy as np

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
OWN_STOL = GOLDEN_DIR / "water.stol"


@lru_cache(maxsize=1)
def manifest() -> dict:
    return json.loads((GOLDEN_DIR / "cases.json").read_text())


def case_names() -> List[str]:
    return [c["name"] for c in manifest()["cases"]]


@dataclass(frozen=True)
class GoldenCase:
    name: str
    record: dict

    @property
    def dir(self) -> Path:
        return GOLDEN_DIR / self.name

    @property
    def args(self) -> List[str]:
        return list(self.record["args"])

    @property
    def input_names(self) -> List[str]:
        return [i["file"] for i in self.record["inputs"]]

    @property
    def outputs(self) -> Dict[str, dict]:
        """Output records keyed by the file name the program wrote."""
        return {o["file"]: o for o in self.record["outputs"]}

    def read(self, filename: str) -> bytes:
        """Bytes of an input or output file of this case (transparently un-gzipped)."""
        if filename == "water.stol":
            return OWN_STOL.read_bytes()
        p = self.dir / (filename + ".gz")
        if p.is_file():
            return gzip.decompress(p.read_bytes())
        p = self.dir / filename
        if p.is_file() and filename == "cmd.txt":
            return p.read_bytes()
        raise FileNotFoundError(f"golden case {self.name} has no file {filename}")

    def stdout(self) -> str:
        return self.read("stdout.txt").decode()

    def materialize_inputs(self, workdir: Path) -> Path:
        """Write the case's input files into workdir (which becomes the case's cwd)."""
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        for name in self.input_names:
            (workdir / name).write_bytes(self.read(name))
        return workdir

    def config(self, workdir: Path, phi_mode: str = "c-parity"):
        """The case's command line as a Config, its inputs written into workdir (the cwd).

        Reader notes (e.g. the legacy Fdump misread) are expected and silenced.
        """
        import warnings

        from nanobrag import Config

        self.materialize_inputs(workdir)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cfg = Config.from_args(self.args, cwd=str(workdir))
        cfg.phi_mode = phi_mode
        return cfg

    def float_image(self, filename: str = None) -> np.ndarray:
        """The float image (slow, fast) as float32."""
        rec = self._output_of_kind("float32", filename)
        s, f = rec["shape"]
        return np.frombuffer(self.read(rec["file"]), dtype="<f4").reshape(s, f)

    def smv(self, filename: str):
        """(header dict, uint16 image) of an SMV output."""
        raw = self.read(filename)
        header = dict(re.findall(r"(\w+)=([^;\n]*)", raw[:512].decode("ascii", "replace")))
        img = np.frombuffer(raw[512:], dtype="<u2").reshape(int(header["SIZE2"]), int(header["SIZE1"]))
        return header, img

    def _output_of_kind(self, kind: str, filename: str = None) -> dict:
        for o in self.record["outputs"]:
            if o["kind"] == kind and (filename is None or o["file"] == filename):
                return o
        raise KeyError(f"golden case {self.name} has no {kind} output {filename or ''}")


def case(name: str) -> GoldenCase:
    for c in manifest()["cases"]:
        if c["name"] == name:
            return GoldenCase(name, c)
    raise KeyError(name)


def all_cases() -> List[GoldenCase]:
    return [GoldenCase(c["name"], c) for c in manifest()["cases"]]
