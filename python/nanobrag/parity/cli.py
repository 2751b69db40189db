"""``nanobrag-parity``: compare the two engines on a legacy command line.

    nanobrag-parity [--json] [--phi-mode spec|c-parity|both] [--dtype float64|float32]
                    [--device cpu|cuda] [--pixel SLOW,FAST ...] -- <legacy flags>

Our own options start with ``--``; everything else is the legacy command line
(the ``--`` separator is optional).  Prints the report (a table, or JSON with
--json) and exits 1 when the engines diverge, 2 on a usage or input error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from ..config import Config, ConfigError
from .compare import compare


def _split(argv: List[str]):
    ours, legacy = [], []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok == "--":
            legacy.extend(argv[i + 1:])
            break
        if tok.startswith("--"):
            ours.append(tok)
            if tok in ("--phi-mode", "--dtype", "--device", "--pixel", "--worst") and i + 1 < len(argv):
                ours.append(argv[i + 1])
                i += 1
        else:
            legacy.append(tok)
        i += 1
    return ours, legacy


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ours, legacy = _split(argv)
    p = argparse.ArgumentParser(prog="nanobrag-parity", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--phi-mode", default="both", choices=("spec", "c-parity", "both"))
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    p.add_argument("--device", default="cpu")
    p.add_argument("--pixel", action="append", default=[], metavar="SLOW,FAST",
                   help="trace this pixel (repeatable); default: the worst or representative pixels")
    p.add_argument("--worst", type=int, default=4, help="number of worst pixels to trace (default 4)")
    opts = p.parse_args(ours)
    if not legacy:
        p.print_usage(sys.stderr)
        print("nanobrag-parity: error: give the legacy command line to compare (e.g. -cell 100 100 100 90 90 90 -default_F 100)",
              file=sys.stderr)
        return 2
    try:
        config = Config.from_args(legacy, cwd=os.getcwd())
        pixels = None
        if opts.pixel:
            pixels = []
            for text in opts.pixel:
                s, f = (int(v) for v in text.split(","))
                pixels.append((s, f))
    except (ConfigError, ValueError, OSError) as exc:
        print(f"nanobrag-parity: error: {exc}", file=sys.stderr)
        return 2
    modes = ("spec", "c-parity") if opts.phi_mode == "both" else (opts.phi_mode,)
    reports = [compare(config, pixels=pixels, phi_mode=m, dtype=opts.dtype, device=opts.device, n_worst=opts.worst)
               for m in modes]
    if opts.json:
        print(json.dumps([r.as_dict() for r in reports], indent=1))
    else:
        print("\n\n".join(r.format_table() for r in reports))
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
