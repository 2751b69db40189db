"""The ``nanobrag-dataset`` command (also ``python -m nanobrag.dataset``).

::

    nanobrag-dataset run SPEC.toml --out DIR [--workers N] [--threads-per-worker T]
                                            [--scheduler ADDRESS] [--quiet]
    nanobrag-dataset status DIR
    nanobrag-dataset shot SPEC.toml INDEX [--sources-file FILE]   # the nanobrag command line of one shot

Exit status: 0 success; 2 bad description or arguments (one line
``nanobrag-dataset: error: ...``); 1 the run failed; 130 interrupted (finished
chunks stay recorded: run again to resume).
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from typing import List, Optional

from ..config import ConfigError

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nanobrag-dataset", description="Render a dataset of many shots from a TOML description.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="render every missing chunk, then the master file and the ground truth")
    r.add_argument("spec", help="TOML description")
    r.add_argument("--out", required=True, help="output folder (resumed when it holds this description's output)")
    r.add_argument("--workers", type=int, default=None,
                   help="worker processes of the local cluster (default: one per core, one per GPU for -device cuda); "
                        "0 renders in this process")
    r.add_argument("--threads-per-worker", type=int, default=None, help="engine threads per worker (default: cores / workers)")
    r.add_argument("--scheduler", default=None, help="address of a running dask scheduler (tcp://host:8786)")
    r.add_argument("--quiet", action="store_true", help="no progress line")
    s = sub.add_parser("status", help="how far a dataset folder is")
    s.add_argument("out", help="output folder")
    o = sub.add_parser("shot", help="print the nanobrag command line that renders one shot")
    o.add_argument("spec", help="TOML description")
    o.add_argument("index", type=int, help="shot index (0-based)")
    o.add_argument("--sources-file", default=None,
                   help="with a per-shot spectrum: where to write the shot's -sourcefile (default "
                        "shot_INDEX_sources.txt in the current folder)")
    return p


def _error(message: str, status: int) -> int:
    sys.stderr.write(f"nanobrag-dataset: error: {' '.join(str(message).split())}\n")
    return status


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    from . import dataset_status, load_spec, run, shot_command

    try:
        if args.command == "status":
            st = dataset_status(args.out)
            state = "complete" if st["complete"] else "incomplete"
            print(f"{st['out_dir']}: {st['kind']}, {state}")
            print(f"shots: {st['finished_shots']}/{st['shots']}  chunks: {st['finished_chunks']}/{st['n_chunks']}")
            print(f"description digest: {st['digest']}")
            if st["missing_chunks"]:
                shown = st["missing_chunks"][:20]
                more = " ..." if len(st["missing_chunks"]) > 20 else ""
                print(f"missing chunks: {' '.join(map(str, shown))}{more}")
            return EXIT_OK
        spec = load_spec(args.spec)
        if args.command == "shot":
            if not 0 <= args.index < spec.shots:
                return _error(f"shot index {args.index} outside 0..{spec.shots - 1}", EXIT_USAGE)
            sources = None
            if spec.vary.spectrum != "none":
                from ..io.atomic import atomic_write
                from .variation import shot_parameters, source_file_text, source_rows

                sources = os.path.abspath(args.sources_file or f"shot_{args.index:06d}_sources.txt")
                rows = source_rows(spec, shot_parameters(spec, args.index))
                atomic_write(sources, source_file_text(rows).encode())
            print(f"cd {shlex.quote(spec.base_dir)} && {shlex.join(shot_command(spec, args.index, sources))}")
            return EXIT_OK
        if args.workers is not None and args.workers < 0:
            return _error(f"--workers must be >= 0, got {args.workers}", EXIT_USAGE)
        if args.threads_per_worker is not None and args.threads_per_worker < 1:
            return _error(f"--threads-per-worker must be >= 1, got {args.threads_per_worker}", EXIT_USAGE)
        report = run(spec, args.out, scheduler=args.scheduler, workers=args.workers,
                     threads_per_worker=args.threads_per_worker, progress=not args.quiet)
    except ConfigError as exc:
        return _error(exc, EXIT_USAGE)
    except KeyboardInterrupt:
        sys.stderr.write("nanobrag-dataset: interrupted; finished chunks are recorded, run again to resume\n")
        return EXIT_INTERRUPTED
    except (OSError, RuntimeError, ValueError) as exc:
        return _error(exc, EXIT_FAILED)
    print(f"{report.out_dir}: {len(report.computed)} chunk(s) rendered, {len(report.skipped)} already finished; "
          f"{report.shots_computed} shots in {report.seconds:.1f} s ({report.shots_per_second:.2f} shots/s)")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
