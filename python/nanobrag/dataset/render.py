"""Render one chunk of shots and write its file (runs on a worker, or in-process).

The function takes everything it needs as arguments (the description, the
chunk, the output folder, the thread count), so any worker may run it and a
retried task writes the same bytes.
"""
from __future__ import annotations

import os
import time
from typing import Any, Dict, List, Optional

import numpy as np

from ..api import simulate
from .manifest import Chunk
from .output import ROTATION_AXIS, write_chunk
from .spec import DatasetSpec
from .variation import misset_rotation, shot_config, shot_parameters

__all__ = ["render_chunk", "limit_threads", "worker_device"]


def limit_threads(nthreads: Optional[int]) -> None:
    """Keep torch (and OpenMP libraries loaded later) to ``nthreads`` threads in this process."""
    if nthreads is None:
        return
    import torch

    os.environ["OMP_NUM_THREADS"] = str(nthreads)
    if torch.get_num_threads() != nthreads:
        torch.set_num_threads(nthreads)


_MALLOC_TUNED = False


def undo_malloc_trim() -> None:
    """Give glibc malloc back its usual thresholds when dask's ``MALLOC_TRIM_THRESHOLD_`` is set.

    dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``; setting it
    also turns off glibc's adaptive mmap threshold, so every torch temporary
    above 128 KiB is mmapped, page-faulted and unmapped again: renders ran
    1.5-2x slower in such workers here.  Restores the adaptive default's upper
    values (mmap above 32 MiB, trim above 64 MiB); a no-op elsewhere.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    _MALLOC_TUNED = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # glibc malloc.h
        libc.mallopt(m_mmap_threshold, 32 << 20)
        libc.mallopt(m_trim_threshold, 64 << 20)
    except (OSError, AttributeError):  # not glibc
        pass


def worker_device(device: str) -> str:
    """"cuda" on a dask worker becomes "cuda:<worker index mod GPU count>": one GPU per worker."""
    if device != "cuda":
        return device
    try:
        from distributed import get_worker

        name = get_worker().name
    except (ImportError, ValueError):
        return device
    import torch

    count = torch.cuda.device_count()
    if count > 1 and isinstance(name, int):
        return f"cuda:{name % count}"
    return device


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (MiB); 0 where the resource module is missing (Windows)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not Unix
        return 0.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _shared_detector():
    """The torch engine's per-pixel factor reuse (a no-op context when torch_impl is unused)."""
    from ..torch_impl.paths import reuse_pixel_factors

    return reuse_pixel_factors()


def render_chunk(spec: DatasetSpec, chunk: Chunk, out_dir: str, nthreads: Optional[int] = None) -> Dict[str, Any]:
    """Render the shots of ``chunk``, write ``out_dir/chunk.file``; return a small summary.

    Memory: the chunk's frames are held until the file is written
    (``chunk.count`` x pixels x 4 bytes, plus the compressed file).
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    limit_threads(nthreads)
    undo_malloc_trim()
    base = spec.base_config()
    frames: List[np.ndarray] = []
    meta: Dict[str, list] = {k: [] for k in (
        "shot_index", "misset_deg", "misset_rotation", "reciprocal_cell_lab_per_A", "n_cells",
        "crystal_size_um", "mosaic_spread_deg", "mosaic_seed", "noise_seed", "fluence_photons_per_m2",
        "wavelength_A", "distance_mm", "xbeam_mm", "ybeam_mm")}
    wavelengths: List[float] = []
    phis: List[float] = []
    first = None
    # the shots share the detector and beam: their per-pixel factors are computed once per chunk
    with _shared_detector():
        for shot in chunk.shots:
            p = shot_parameters(spec, shot, base)
            config = shot_config(spec, shot, p)
            config.device = worker_device(config.device)
            # eager torch kernel: compile="auto" decides by the thread count, and compiled images agree with
            # eager ones to rounding only, so a fixed choice keeps shots independent of the worker
            options = {"compile": False} if config.engine == "torch" else {}
            result = simulate(config, nthreads=nthreads, **options)
            frame = result.float_image if spec.image == "float" else result.noise_image()
            if frame.dtype.kind == "f" and not np.all(np.isfinite(frame)):
                raise FloatingPointError(f"shot {shot}: the image holds inf or NaN; nothing written for {chunk.file}")
            frames.append(frame)
            g = result.geometry
            if first is None:
                first = result
            misset = tuple(np.degrees(g.misset_rad))
            cell_lengths_m = [float(np.linalg.norm(v)) for v in (g.a_m, g.b_m, g.c_m)]
            meta["shot_index"].append(shot)
            meta["misset_deg"].append(misset)
            meta["misset_rotation"].append(misset_rotation(misset))
            meta["reciprocal_cell_lab_per_A"].append(np.array([g.a_star_per_A, g.b_star_per_A, g.c_star_per_A]))
            meta["n_cells"].append(g.n_cells)
            meta["crystal_size_um"].append([n * length * 1e6 for n, length in zip(g.n_cells, cell_lengths_m)])
            meta["mosaic_spread_deg"].append(np.degrees(g.mosaic_spread_rad))
            meta["mosaic_seed"].append(config.crystal.mosaic_seed)
            meta["noise_seed"].append(p.noise_seed)
            meta["fluence_photons_per_m2"].append(g.fluence_photons_per_m2)
            meta["wavelength_A"].append(g.wavelength_m * 1e10)
            meta["distance_mm"].append(g.distance_m * 1e3)
            meta["xbeam_mm"].append(g.xbeam_m * 1e3)
            meta["ybeam_mm"].append(g.ybeam_m * 1e3)
            if p.spectrum_A is not None:
                meta.setdefault("spectrum_A", []).append(p.spectrum_A)
                wavelengths.append(p.spectrum_A)
            else:
                wavelengths.append(g.wavelength_m * 1e10)
            if p.phi_deg is not None:
                phis.append(p.phi_deg)
    rotation = (np.array(phis), spec.osc_deg, ROTATION_AXIS) if spec.kind == "rotation" else None
    path = os.path.join(out_dir, chunk.file)
    # a spectrum per frame: (frames, lines) wavelengths with equal weights (the engines weight lines equally)
    weights = np.ones((len(wavelengths), len(wavelengths[0]))) if spec.vary.spectrum != "none" else None
    write_chunk(path, spec, np.stack(frames), first, wavelengths,
                {k: np.asarray(v) for k, v in meta.items()}, rotation=rotation, weights=weights)
    return {"chunk": chunk.index, "shots": chunk.count, "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu_start,
            "peak_rss_mb": _peak_rss_mb(), "pid": os.getpid()}
