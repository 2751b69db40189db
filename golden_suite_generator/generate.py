"""Regenerate reference outputs for the case definitions in cases.toml, in-process.

For each case: make the case folder, place its inputs (copied from the
committed golden data or generated with a fixed seed), parse its legacy
command line with ``Config.from_args``, render with the C engine in
``phi_mode="c-parity"`` (the legacy behaviour), and write the files the legacy
program writes (Fdump cache when -hkl is given, float, int, PGM and noise
images) plus a ``manifest.json`` with their sha256.  No subprocess; the legacy
program is not needed.

    python golden_suite_generator/generate.py OUTDIR [--case NAME ...] [--engine c|torch]

Cases with ``mirrors_golden = true`` reproduce the legacy program's own
outputs (tests/golden): tests/test_golden_suite_generator.py checks a few.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GOLDEN = REPO / "tests" / "golden"


# ---------------------------------------------------------------------------
# input generators (fixed seeds; each returns the file's bytes)
# ---------------------------------------------------------------------------

def water_like_stol(params: dict, seed: int) -> bytes:
    """Our own smooth amorphous F(stol) table (the legacy program reads but never uses it)."""
    return (GOLDEN / "water.stol").read_bytes()


def random_p1_hkl(params: dict, seed: int) -> bytes:
    """P1 reflections h,k,l in [-H,H]x[-K,K]x[-L,L] with F = mean * exponential deviate, a fraction missing."""
    rng = np.random.default_rng(seed)
    H, K, L = params.get("hkl_max", (6, 6, 6))
    missing = float(params.get("missing_fraction", 0.1))
    mean = float(params.get("mean_F", 100.0))
    lines = []
    for h in range(-H, H + 1):
        for k in range(-K, K + 1):
            for l in range(-L, L + 1):
                if (h, k, l) != (0, 0, 0) and rng.random() < missing:
                    continue
                F = 10 * mean if (h, k, l) == (0, 0, 0) else mean * rng.exponential()
                lines.append(f"{h} {k} {l} {F:.2f}\n")
    return "".join(lines).encode()


def mask_smv(params: dict, seed: int) -> bytes:
    """An SMV mask (uint16, 1 = render, 0 = skip) with a rectangular hole and random dead pixels."""
    from nanobrag.io.smv import SMVHeader, smv_bytes

    rng = np.random.default_rng(seed)
    fast, slow = params["size"]
    mask = np.ones((slow, fast), dtype=np.uint16)
    f0, f1, s0, s1 = params.get("hole", (0, 0, 0, 0))
    mask[s0:s1, f0:f1] = 0
    mask[rng.random((slow, fast)) < float(params.get("dead_fraction", 0.02))] = 0
    header = SMVHeader(pixel_size_mm=params.get("pixel_mm", 0.1), distance_mm=params.get("distance_mm", 100.0),
                       wavelength_A=params.get("wavelength_A", 1.0))
    return b"".join(smv_bytes(mask, header))


def source_table(params: dict, seed: int) -> bytes:
    """A source file: X Y Z weight lambda(m) rows around the -x beam direction."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(int(params.get("count", 4))):
        y, z = rng.normal(0.0, params.get("spread_m", 0.003), 2)
        lam = 1e-10 * (1.0 + rng.normal(0.0, params.get("dispersion", 0.005)))
        rows.append(f"-10 {y:.6f} {z:.6f} 1.0 {lam:.6e}\n")
    return "".join(rows).encode()


GENERATORS: Dict[str, Callable[[dict, int], bytes]] = {
    "water_like_stol": water_like_stol,
    "random_p1_hkl": random_p1_hkl,
    "mask_smv": mask_smv,
    "source_table": source_table,
}


def golden_file(case: str, name: str) -> bytes:
    gz = GOLDEN / case / (name + ".gz")
    if gz.is_file():
        return gzip.decompress(gz.read_bytes())
    return (GOLDEN / case / name).read_bytes()


def place_inputs(case: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for spec in case.get("inputs", []):
        if "from_golden" in spec:
            data = golden_file(spec["from_golden"], spec["file"])
        else:
            data = GENERATORS[spec["generator"]](spec.get("params", {}), int(spec.get("seed", 0)))
        (folder / spec["file"]).write_bytes(data)


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------

def render_case(case: dict, folder: Path, engine: str = "c") -> Dict[str, str]:
    """Place inputs, render in-process and write the legacy output files; returns {file: sha256}."""
    import nanobrag
    from nanobrag import io, outputs
    from nanobrag.legacy_flags import parse_args

    place_inputs(case, folder)
    config, info = parse_args(case["args"], cwd=str(folder))
    config.phi_mode = "c-parity"
    result = nanobrag.simulate(config, engine=engine)
    written = []
    if info.hkl_given and info.fdump_path:
        io.write_fdump(info.fdump_path, config.structure_factors.table)
        written.append(info.fdump_path)
    written += outputs.write_legacy_outputs(result, directory=str(folder))
    return {Path(p).name: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in written}


def load_cases(path: Path = HERE / "cases.toml") -> List[dict]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)["case"]


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("outdir", type=Path)
    p.add_argument("--case", action="append", default=[], help="only this case (repeatable)")
    p.add_argument("--engine", default="c", choices=("c", "torch"))
    opts = p.parse_args(argv)
    cases = load_cases()
    if opts.case:
        known = {c["name"] for c in cases}
        unknown = sorted(set(opts.case) - known)
        if unknown:
            p.error(f"unknown case(s): {', '.join(unknown)}")
        cases = [c for c in cases if c["name"] in opts.case]
    manifest = {}
    for case in cases:
        folder = opts.outdir / case["name"]
        if folder.exists():
            shutil.rmtree(folder)
        manifest[case["name"]] = {"args": case["args"], "features": case.get("features", []),
                                  "outputs": render_case(case, folder, engine=opts.engine)}
        print(f"{case['name']}: {', '.join(manifest[case['name']]['outputs'])}")
    (opts.outdir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
