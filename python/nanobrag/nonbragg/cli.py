"""The ``nanobrag-nonbragg`` command: the legacy nonBragg command line, run by either engine.

Flow: parse the options into a background-only Config (:mod:`.flags`) ->
render the image (:func:`nanobrag.simulate`, C engine by default) -> print a
summary -> write the legacy files in the current directory (:mod:`.outputs`).

Exit status: 0 success; 2 bad command line or configuration (one line
``nanobrag-nonbragg: error: ...`` on stderr); 1 the run failed.  Nothing is
written unless the image was rendered completely.
"""
from __future__ import annotations

import math
import os
import sys
import time
from typing import List, Optional, Sequence

from .. import api
from ..config import ConfigError
from ..flag_parsing import HELP_FLAGS
from .flags import NonBraggParse, nonbragg_usage_text, parse_nonbragg_args
from .outputs import nonbragg_pgm_scale, nonbragg_rmsd, write_nonbragg_outputs

__all__ = ["main", "summary_lines"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
_PROG = "nanobrag-nonbragg"


def _error(message: object, status: int) -> int:
    sys.stderr.write(f"{_PROG}: error: {' '.join(str(message).split())}\n")
    return status


def summary_lines(parse: NonBraggParse, result) -> List[str]:
    """What was rendered, with the legacy nonBragg's wording where it has one."""
    g, o = result.geometry, parse.options
    stats = result.stats
    lines = [
        f"{_PROG}: amorphous background, {result.engine} engine",
        f"  {g.sources} sources; {g.oversample} pixel oversample steps",
        f"  incident fluence: {g.fluence_photons_per_m2:g} photons/m^2",
        f"  sample is {g.amorphous_size_m[0]:g} m thick x {g.amorphous_size_m[1]:g} m high x "
        f"{g.amorphous_size_m[2]:g} m wide, {g.amorphous_density_g_m3 / 1e6:g} g/cm^3 and "
        f"{o.molecular_weight:g} g/mol ({g.amorphous_molecules:g} molecules)",
        f"  distance={g.distance_m:g} detsize={parse.detsize_m[0]:g}x{parse.detsize_m[1]:g}  "
        f"pixel={g.pixel_size_m:g} meters ({g.fpixels}x{g.spixels} pixels)",
        f"  Xbeam={g.fbeam_m:g} Ybeam={g.sbeam_m:g}",
        f"  detector origin: {g.pix0_vector_m[0]:g} {g.pix0_vector_m[1]:g} {g.pix0_vector_m[2]:g}",
        f"solid angle subtended by detector = {result.omega_sum:g} steradian "
        f"( {100 * result.omega_sum / 4 / math.pi:g}% sphere)",
        f"max_I = {stats.max_I:g}  at {stats.max_I_x_m:g} {stats.max_I_y_m:g}",
        f"mean= {stats.mean:g} rms= {stats.rms:g} rmsd= {nonbragg_rmsd(result):g}",
        f"intfile_scale = {result.int_scale:g}",
        f"pgm_scale = {nonbragg_pgm_scale(result):g}",
    ]
    lines += [f"WARNING: {w}" for w in result.warnings]
    return lines


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``nanobrag-nonbragg`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in HELP_FLAGS for a in argv):
        sys.stdout.write(nonbragg_usage_text())
        return EXIT_OK
    cwd = os.getcwd()
    try:
        parse = parse_nonbragg_args(argv, cwd=cwd)
    except ConfigError as exc:
        return _error(exc, EXIT_USAGE)
    except KeyboardInterrupt:
        sys.stderr.write(f"{_PROG}: interrupted; nothing written\n")
        return EXIT_INTERRUPTED
    for note in parse.options.notes:
        sys.stderr.write(f"{_PROG}: note: {note}\n")
    config = parse.config
    if parse.options.nthreads and config.engine == "torch":
        import torch

        torch.set_num_threads(parse.options.nthreads)
    try:
        result = api.simulate(config, engine=config.engine, nthreads=parse.options.nthreads)
    except ConfigError as exc:
        return _error(exc, EXIT_USAGE)
    except KeyboardInterrupt:
        sys.stderr.write(f"{_PROG}: interrupted; nothing written\n")
        return EXIT_INTERRUPTED
    except Exception as exc:
        return _error(f"the {config.engine} engine failed: {type(exc).__name__}: {exc}", EXIT_FAILED)
    for line in summary_lines(parse, result):
        print(line)
    seed = config.output.noise_seed if config.output.noise_seed is not None else int(time.time())
    if config.output.write_noise:
        print(f"  seed: {-seed}" if config.output.noise_seed is not None else f"noise seed (from the clock): {seed}")
    try:
        written = write_nonbragg_outputs(result, parse.detsize_m[1], directory=cwd, noise_seed=seed)
    except OSError as exc:
        return _error(f"cannot write {exc.filename or 'an output file'}: {exc.strerror or exc}", EXIT_FAILED)
    if written:
        print("wrote " + ", ".join(os.path.relpath(os.fspath(p), cwd) for p in written))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
