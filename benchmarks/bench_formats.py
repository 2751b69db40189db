"""File size and write time of a 1024 x 1024 image in every output format.

    python benchmarks/bench_formats.py [--repeat N] [--json FILE]

The image is the golden case ``timing_1024`` (a rendered 1024^2 image, read
from tests/golden, its geometry from the C engine), so nothing is rendered
here.  Each format is produced from the float image (conversion included:
integer, grey-level or count image, header, compression) and written to a
scratch directory; the time is wall-clock, best of ``--repeat``.  Integer
formats are timed twice: with the noiseless counts (floor(photons + 0.5)) and
with Poisson counts of the same photons (numpy, seed 1), which is what a
detector records and compresses worse.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from golden_cases import case  # noqa: E402
from nanobrag.c_engine import engine as c_engine  # noqa: E402
from nanobrag.io import atomic_write  # noqa: E402
from nanobrag.io.cbf import MiniCBFHeader, cbf_bytes  # noqa: E402
from nanobrag.io.float_image import float_image_bytes  # noqa: E402
from nanobrag.io.nxmx import nxmx_bytes, write_nxmx  # noqa: E402
from nanobrag.io.pgm import pgm_bytes  # noqa: E402
from nanobrag.io.png import log_scaled, png_bytes  # noqa: E402
from nanobrag.io.smv import SMVHeader, smv_bytes  # noqa: E402
from nanobrag.results import SimulationResult  # noqa: E402


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    golden = case("timing_1024")
    with tempfile.TemporaryDirectory() as scratch:
        config = golden.config(Path(scratch))
    geometry = c_engine.geometry(config)
    photons = golden.float_image()
    result = SimulationResult(config=config, engine="c", float_image=photons, geometry=geometry)
    counts_noisy = np.random.default_rng(1).poisson(np.maximum(photons, 0)).astype(np.int32)
    header = SMVHeader.from_geometry(geometry)
    cbf_header = MiniCBFHeader.from_geometry(geometry)
    rotation = (10.0, 0.5, "phi")

    def hdf5plugin_available() -> bool:
        try:
            import hdf5plugin  # noqa: F401
        except ImportError:
            return False
        return True

    formats = {
        "raw float32 (-floatfile)": lambda: float_image_bytes(photons),
        "SMV uint16, noiseless (-intfile)": lambda: smv_bytes(result.int_image, header),
        "PGM (-pgmfile)": lambda: pgm_bytes(result.pgm_image, result.pgm_scale),
        "PNG, legacy scale (-png)": lambda: png_bytes(result.pgm_image),
        "PNG, log scale (-png_scale log)": lambda: png_bytes(log_scaled(photons)),
        "miniCBF int32, noiseless (-cbf)": lambda: cbf_bytes(photons, cbf_header),
        "miniCBF int32, Poisson counts": lambda: cbf_bytes(counts_noisy, cbf_header),
        "NXmx float32, gzip (-nxmx)": lambda: nxmx_bytes(photons, geometry, rotation=rotation),
        "NXmx float32, uncompressed": lambda: nxmx_bytes(photons, geometry, rotation=rotation, compression=None),
        "NXmx int32, gzip, noiseless": lambda: nxmx_bytes(photons, geometry, rotation=rotation, data_kind="int32"),
        "NXmx int32, gzip, Poisson counts": lambda: nxmx_bytes(counts_noisy, geometry, rotation=rotation,
                                                               data_kind="int32"),
    }
    if hdf5plugin_available():
        formats["NXmx float32, bitshuffle-LZ4"] = lambda: nxmx_bytes(photons, geometry, rotation=rotation,
                                                                     compression="bitshuffle-lz4")
        formats["NXmx int32, bitshuffle-LZ4, Poisson counts"] = lambda: nxmx_bytes(
            counts_noisy, geometry, rotation=rotation, data_kind="int32", compression="bitshuffle-lz4")

    rows = []
    with tempfile.TemporaryDirectory() as out_dir:
        for name, make in formats.items():
            target = os.path.join(out_dir, "image")

            def write():
                payload = make()
                atomic_write(target, payload if isinstance(payload, (bytes, bytearray)) else b"".join(payload))

            seconds = _best(write, args.repeat)
            size = os.path.getsize(target)
            rows.append({"format": name, "bytes": size, "seconds": seconds})
        # the direct writer (temporary HDF5 file beside the target, renamed) for comparison with the bytes path
        seconds = _best(lambda: write_nxmx(os.path.join(out_dir, "direct.h5"), photons, geometry, rotation=rotation),
                        args.repeat)
        rows.append({"format": "NXmx float32, gzip, write_nxmx (file, not bytes)",
                     "bytes": os.path.getsize(os.path.join(out_dir, "direct.h5")), "seconds": seconds})

    raw = photons.nbytes
    print(f"1024 x 1024 image (golden timing_1024), best of {args.repeat}; {platform.processor() or platform.machine()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'format':52s} {'size (bytes)':>13s} {'vs raw':>7s} {'write (ms)':>11s}")
    for r in rows:
        print(f"{r['format']:52s} {r['bytes']:13d} {r['bytes'] / raw:7.2f} {r['seconds'] * 1e3:11.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "repeat": args.repeat}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
