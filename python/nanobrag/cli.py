"""The ``nanobrag`` command: the legacy nanoBragg command line, run by either engine.

Flow: parse the options into a Config (:mod:`nanobrag.legacy_flags`) ->
render the image (:func:`nanobrag.simulate`, with a progress bar on stderr) ->
print a summary (and per-pixel values for ``-printout``) -> write the Fdump
cache when ``-hkl`` was given and the legacy output files in the current
directory (:func:`nanobrag.outputs.write_legacy_outputs`).

Exit status: 0 success; 2 bad command line or configuration (one line
``nanobrag: error: ...`` on stderr); 1 the run failed; 130 cancelled with
Ctrl-C or SIGTERM.  Nothing is written unless the image was rendered
completely and is finite; all outputs are renamed into place together.
"""
from __future__ import annotations

import dataclasses
import math
import os
import signal
import sys
import time
import warnings
from collections.abc import Mapping
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

from . import __version__
from . import api, seeds
from .config import Config, ConfigError
from .legacy_flags import HELP_FLAGS, ParseInfo, parse_args, usage_text
from .masks import rendered_pixels

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
VERSION_FLAGS = ("--version", "-version")
SHORT_USAGE = (
    "usage: nanobrag -cell a b c alpha beta gamma (or -mat FILE) -hkl FILE (or -default_F F) [options]\n"
    "       nanobrag -example      render the built-in example\n"
    "       nanobrag -help         every option, its units and default\n"
    "       nanobrag --version\n"
)
_TRACE_BATCH = 256  # pixels per trace call for -printout


def _error(message: str, status: int) -> int:
    sys.stderr.write(f"nanobrag: error: {' '.join(str(message).split())}\n")
    return status


def _interrupted(what: str = "nothing written") -> int:
    sys.stderr.write(f"nanobrag: interrupted; {what}\n")
    return EXIT_INTERRUPTED


class _ProgressBar:
    """A one-line progress bar on a stream; plain lines every 10 % when the stream is not a terminal."""

    def __init__(self, stream, width: int = 40):
        self.stream = stream
        self.width = width
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.shown = -1
        self.start = time.monotonic()

    def update(self, done: int, total: int) -> None:
        if total <= 0:
            return
        percent = min(100, int(100 * done / total))
        step = 1 if self.tty else 10
        if percent // step == self.shown // step and self.shown >= 0:
            return
        self.shown = percent
        if self.tty:
            filled = self.width * percent // 100
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r[{bar}] {percent:3d}% {done}/{total} pixels")
        else:
            self.stream.write(f"{percent}% done ({done}/{total} pixels)\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.shown >= 0:
            self.stream.write(f"  {time.monotonic() - self.start:.1f} s\n")
            self.stream.flush()


class _CtrlC:
    """First Ctrl-C asks the engine to stop (via the progress callback); a second one raises."""

    def __init__(self):
        self.requested = False
        self.previous = None

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: leave Python's default in place
            self.previous = None
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        sys.stderr.write("\nnanobrag: cancelling (Ctrl-C again to stop at once)\n")


class _TerminateAsInterrupt:
    """SIGTERM stops the run like a second Ctrl-C, so staged outputs are removed, not left behind."""

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not the main thread
            self.previous = None
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        return False

    @staticmethod
    def _handle(signum, frame):
        raise KeyboardInterrupt


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``nanobrag`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    with _TerminateAsInterrupt():
        return _main(argv)


def _main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in HELP_FLAGS for a in argv):
        sys.stdout.write(usage_text())
        return EXIT_OK
    if any(a in VERSION_FLAGS for a in argv):
        sys.stdout.write(f"nanobrag {__version__}\n")
        return EXIT_OK
    if not argv:  # a bare command has nothing to simulate: say how to start instead
        sys.stderr.write(SHORT_USAGE)
        return EXIT_USAGE
    cwd = os.getcwd()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the readers' warnings come back as notes, printed below
            config, info = parse_args(argv, cwd=cwd)
    except ConfigError as exc:
        return _error(exc, EXIT_USAGE)
    except KeyboardInterrupt:
        return _interrupted()
    for note in info.notes:
        sys.stderr.write(f"nanobrag: note: {note}\n")
    if config.response.active() and not config.output.write_noise:
        sys.stderr.write("nanobrag: note: with -nonoise only the PSF of the detector response applies (to the "
                         "float, integer and PGM images, as noisify -nonoise)\n")

    torch_only = [n for n in ("-device", "-dtype") if n in info.names()]
    if config.engine == "c" and torch_only:  # as simulate(engine="c") refuses them: never silently dropped
        return _error(f"{' and '.join(torch_only)} apply to the torch engine only; drop them or use -engine torch",
                      EXIT_USAGE)
    status = _check_outputs(config, info, cwd)
    if status is not None:
        return status
    try:
        from .validation import check_nthreads

        check_nthreads(info.nthreads)
    except ConfigError as exc:
        return _error(exc, EXIT_USAGE)

    try:  # "auto": the engine measured fastest for this run (nanobrag.engine_choice)
        engine = api.resolve_engine(config, nthreads=info.nthreads)
    except ConfigError as exc:
        return _error(exc, EXIT_USAGE)
    if info.nthreads and engine == "torch":
        import torch

        torch.set_num_threads(info.nthreads)

    show_progress = config.output.progress and not config.output.printout
    bar = _ProgressBar(sys.stderr) if show_progress else None
    with _CtrlC() as ctrl_c:

        def progress(done: int, total: int) -> bool:
            if bar is not None:
                bar.update(done, total)
            return ctrl_c.requested

        try:
            result = api.simulate(config, engine=engine, nthreads=info.nthreads, progress=progress)
        except KeyboardInterrupt:
            return _interrupted()
        except ConfigError as exc:
            return _interrupted() if ctrl_c.requested else _error(exc, EXIT_USAGE)
        except NotImplementedError as exc:
            return _error(f"the {engine} engine cannot run this: {exc}", EXIT_FAILED)
        except ImportError as exc:
            return _error(f"the {engine} engine is not available in this installation: {exc}", EXIT_FAILED)
        except Exception as exc:  # a cancelled engine may raise its own error
            if ctrl_c.requested:
                return _interrupted()
            return _error(f"the {engine} engine failed: {type(exc).__name__}: {exc}", EXIT_FAILED)
        finally:
            if bar is not None:
                bar.close()
        if ctrl_c.requested:
            return _interrupted()
    if not config.output.write_noise:
        try:
            result = _psf_without_noise(result)
        except ValueError as exc:  # e.g. an image with inf/NaN pixels
            return _error(f"cannot apply the PSF: {exc}", EXIT_FAILED)

    try:
        from .validation import check_statistics_finite

        check_statistics_finite(config, result.stats)
    except ConfigError as exc:
        return _error(exc, EXIT_USAGE)
    try:
        for line in summary_lines(config, result):
            print(line)
        if config.output.printout:
            _print_pixels(config)
    except KeyboardInterrupt:
        return _interrupted()
    noise_seed = seeds.noise_seed(config.output)
    if config.output.write_noise and config.output.noise_seed is None:
        print(f"noise seed (from the clock): {noise_seed}")
    try:
        return _write_files(config, info, result, cwd, noise_seed)
    except KeyboardInterrupt:
        # the output transaction removed what it had staged, unless the renames had begun
        return _interrupted("no output written, unless the final renames had begun")


def _output_paths(config: Config, info: ParseInfo, cwd: str) -> List[str]:
    """Every file the run will write (the Fdump cache first)."""
    from . import outputs

    paths = [info.fdump_path] if info.hkl_given and info.fdump_path else []
    out = config.output
    formats = [os.path.join(cwd, os.fspath(name)) for name in (out.nxmx_path, out.cbf_path, out.png_path) if name]
    return paths + outputs.legacy_output_paths(config, cwd) + formats


def _check_outputs(config: Config, info: ParseInfo, cwd: str) -> Optional[int]:
    """Refuse, before rendering, an output name that cannot be written (the error names it)."""
    from .io.atomic import check_destination

    for path in _output_paths(config, info, cwd):
        try:
            check_destination(path)
        except OSError as exc:
            return _error(f"cannot write {exc.filename or path}: {exc.strerror or exc}", EXIT_USAGE)
    return None


def _psf_without_noise(result):
    """Without a noise image the PSF blurs the rendered image (legacy noisify -nonoise); 0 outside the ROI."""
    response = result.config.response
    if response.psf_type == "none" or not float(response.psf_fwhm_um) > 0:
        return result
    from .detector_response import apply_detector_response
    from .masks import roi_mask

    blurred = apply_detector_response(
        result.float_image, response, pixel_size_mm=float(result.config.detector.pixel_size_mm), noise=False,
    ).photons
    blurred[~roi_mask(blurred.shape, result.geometry.roi)] = 0
    return dataclasses.replace(result, float_image=blurred, _cache={})


def _write_files(config: Config, info: ParseInfo, result, cwd: str, noise_seed: int) -> int:
    # every output (the Fdump cache and the images) is staged and renamed together: a failure
    # leaves none of them (nor a temporary file) behind
    try:
        from . import outputs
        from .io.atomic import OutputTransaction
        from .io.fdump import fdump_bytes

        from .format_outputs import format_output_files

        with warnings.catch_warnings(record=True) as caught:  # writers' remarks become notes
            warnings.simplefilter("always")
            formats = format_output_files(result, directory=cwd)  # NXmx, CBF, PNG: computed before any write
        for remark in caught:
            sys.stderr.write(f"nanobrag: note: {remark.message}\n")
        with OutputTransaction() as tx:
            if info.hkl_given and info.fdump_path:
                tx.write(info.fdump_path, fdump_bytes(config.structure_factors.table))
            outputs.write_legacy_outputs(result, directory=cwd, noise_seed=noise_seed, transaction=tx)
            for path, data in formats.items():
                tx.write(path, data)
        written = tx.final_paths
    except OSError as exc:
        return _error(f"cannot write {exc.filename or 'an output file'}: {exc.strerror or exc}", EXIT_FAILED)
    except ConfigError as exc:
        return _error(exc, EXIT_USAGE)
    except (ImportError, AttributeError) as exc:
        return _error(f"the output writers are not available in this installation: {exc}", EXIT_FAILED)
    except ValueError as exc:  # e.g. an image with inf/NaN refused by the NXmx, CBF or PNG writer
        return _error(f"cannot write the output files: {exc}", EXIT_FAILED)
    if info.hkl_given and info.fdump_path:
        print(f"wrote the structure-factor cache {os.path.relpath(info.fdump_path, cwd)}")
        written = written[1:]
    if written:
        names = [os.path.relpath(os.fspath(p), cwd) for p in written]
        print("wrote " + ", ".join(names))
    return EXIT_OK


# ----------------------------------------------------------------------------
# summary
# ----------------------------------------------------------------------------


def _vec(v: Iterable[float], scale: float = 1.0) -> str:
    return "(" + " ".join(f"{x * scale:.6g}" for x in v) + ")"


def summary_lines(config: Config, result) -> List[str]:
    """A legacy-like account of what was rendered: geometry, sampling, scales and statistics."""
    g = result.geometry
    lines = [
        f"nanobrag {__version__}: {result.engine} engine"
        + (f" ({config.device}, {config.dtype})" if result.engine == "torch" else ""),
        f"convention {g.convention}, pivot {g.pivot}",
        f"detector {g.fpixels} x {g.spixels} pixels (fast x slow) of {g.pixel_size_m * 1e3:g} mm, "
        f"{g.detsize_f_m * 1e3:g} x {g.detsize_s_m * 1e3:g} mm",
        f"distance {g.distance_m * 1e3:g} mm, close distance {g.close_distance_m * 1e3:g} mm, "
        f"two-theta {math.degrees(g.twotheta_rad):g} deg",
        f"direct beam at fast {g.fbeam_m * 1e3:g} mm, slow {g.sbeam_m * 1e3:g} mm "
        f"(header BEAM_CENTER {g.xbeam_m * 1e3:g} {g.ybeam_m * 1e3:g} mm); "
        f"near point {g.fclose_m * 1e3:g} {g.sclose_m * 1e3:g} mm; XDS ORGX ORGY {g.orgx_px:g} {g.orgy_px:g}",
        f"pix0 {_vec(g.pix0_vector_m, 1e3)} mm",
        f"fdet {_vec(g.fdet_vector)} sdet {_vec(g.sdet_vector)} odet {_vec(g.odet_vector)}",
        f"beam {_vec(g.beam_vector)} polar {_vec(g.polar_vector)} spindle {_vec(g.spindle_axis)} "
        f"two-theta axis {_vec(g.twotheta_axis)}",
        f"cell a {_vec(g.a_m, 1e10)} b {_vec(g.b_m, 1e10)} c {_vec(g.c_m, 1e10)} Angstrom, "
        f"volume {g.cell_volume_A3:g} A^3; cells {_vec(g.n_cells)}",
        f"wavelength {g.wavelength_m * 1e10:g} A; {g.sources} source(s); {g.mosaic_domains} mosaic domain(s) "
        f"spread {math.degrees(g.mosaic_spread_rad):g} deg",
        f"phi {math.degrees(g.phi0_rad):g} deg, {g.phisteps} step(s) of {math.degrees(g.phistep_rad):g} deg "
        f"over {math.degrees(g.osc_rad):g} deg",
        f"oversample {g.oversample} (recommended {g.recommended_oversample}); {g.detector_thicksteps} sensor "
        f"layer(s) over {g.detector_thick_m * 1e6:g} um; steps {g.steps}",
        f"fluence {g.fluence_photons_per_m2:g} photons/m^2, flux {g.flux_photons_per_s:g} photons/s; "
        f"tricubic interpolation {'on' if g.interpolate else 'off'}",
    ]
    if config.amorphous is not None:
        lines.append(f"amorphous sample {_vec(g.amorphous_size_m, 1e3)} mm, {g.amorphous_molecules:g} molecules "
                     f"(F(stol) from {config.amorphous.table.source or 'a table in memory'})")
    if result.interpolation_switchoff_pixel is not None:
        lines.append(f"tricubic interpolation switched off from raster pixel {result.interpolation_switchoff_pixel}")
    lines.extend(_warning_line(w) for w in result.warnings)
    stats = _stat_items(result.stats)
    if stats:
        lines.append("statistics: " + ", ".join(f"{k} {_fmt(v)}" for k, v in stats))
    lines.append(f"int image scale {_fmt(result.int_scale)}; pgm scale {_fmt(result.pgm_scale)}")
    return lines


def _warning_line(warning: str) -> str:
    """An engine warning as printed: the C library's and the torch engine's texts already carry the prefix."""
    text = str(warning)
    return text if text.upper().startswith(("WARNING", "NOTE:")) else f"WARNING: {text}"


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return _vec(value)
    return str(value)


def _stat_items(stats) -> List[Tuple[str, object]]:
    if stats is None:
        return []
    if isinstance(stats, Mapping):
        return list(stats.items())
    if dataclasses.is_dataclass(stats):
        return [(f.name, getattr(stats, f.name)) for f in dataclasses.fields(stats)]
    return [(k, v) for k, v in vars(stats).items() if not k.startswith("_")]


# ----------------------------------------------------------------------------
# -printout
# ----------------------------------------------------------------------------


def _printout_pixels(config: Config) -> List[Tuple[int, int]]:
    """(slow, fast) pixels to print: the -printout_pixel one, else every rendered pixel in raster order."""
    from .legacy_flags import detector_pixels

    fast_n, slow_n = detector_pixels(config)
    if config.output.printout_pixel is not None:
        f, s = config.output.printout_pixel
        return [(s, f)] if 0 <= f < fast_n and 0 <= s < slow_n else []
    return rendered_pixels((slow_n, fast_n), config.detector.roi, config.detector.mask)


def _print_pixels(config: Config) -> None:
    if config.crystal.cell is None and config.crystal.mosflm_matrix is None:
        sys.stderr.write("nanobrag: note: -printout shows the crystal's per-step values; there is no crystal\n")
        return
    pixels = _printout_pixels(config)
    if not pixels:
        sys.stderr.write("nanobrag: note: -printout_pixel names a pixel outside the detector; nothing printed\n")
        return
    for start in range(0, len(pixels), _TRACE_BATCH):
        chunk = pixels[start:start + _TRACE_BATCH]
        trace = api.trace(config, chunk, engine=config.engine)
        for p, (s, f) in enumerate(chunk):
            for line in _pixel_lines(trace, p, s, f):
                print(line)


def _last(trace, name: str, p: int, width: int = 1) -> np.ndarray:
    """The value of the last loop step (as the legacy printout shows) of one pixel."""
    values = np.asarray(trace[name][p], dtype=np.float64)
    return values.reshape(-1, width)[-1] if width > 1 else values.reshape(-1)[-1]


def _pixel_lines(trace, p: int, s: int, f: int) -> List[str]:
    h, k, l = (_last(trace, n, p) for n in ("h", "k", "l"))
    nearest = " ".join(str(int(math.ceil(x - 0.5))) if math.isfinite(x) else "nan" for x in (h, k, l))
    a, b, c = (_last(trace, n, p, 3) * 1e10 for n in ("a_m", "b_m", "c_m"))
    return [
        f"pixel fast {f} slow {s}: {float(np.asarray(trace['pixel_value'])[p]):.10g} photons",
        f"  hkl {h:.6f} {k:.6f} {l:.6f} (nearest {nearest})  F_cell {_last(trace, 'F_cell', p):g}  "
        f"F_latt {_last(trace, 'F_latt', p):g}",
        f"  polar {_last(trace, 'polar', p):.10g}  omega {_last(trace, 'omega', p):.10g} sr  "
        f"capture fraction {_last(trace, 'capture_fraction', p):.10g}",
        f"  rotated cell (Angstrom): a {_vec(a)} b {_vec(b)} c {_vec(c)}",
    ]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
