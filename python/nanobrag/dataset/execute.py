"""Run a dataset: plan the missing chunks, render them (in-process or on dask.distributed), finish the folder.

Default execution is a ``LocalCluster`` of worker *processes* sized to the
machine, one task (one chunk) at a time per worker and the engine's threads
set so that workers x threads = cores (torch, OpenMP).  With CUDA and a base
``-device cuda``, one worker per GPU.  A ``dask.distributed.Client`` (or a
scheduler address) runs the same description on an existing cluster; the
output folder must then be on a file system every worker sees.
"""
from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Union

from .manifest import Chunk, OutputFolder
from .output import ground_truth_rows, write_ground_truth, write_master
from .render import render_chunk
from .spec import DatasetSpec, SpecError, load_spec
from .variation import shot_parameters

__all__ = ["run", "RunReport", "local_cluster_size"]


@dataclass
class RunReport:
    """What a call of :func:`run` did."""

    out_dir: str
    #: chunk indices rendered by this call (in completion order)
    computed: List[int] = field(default_factory=list)
    #: chunk indices found finished in the folder
    skipped: List[int] = field(default_factory=list)
    shots_computed: int = 0
    seconds: float = 0.0
    #: largest peak resident memory a chunk task reported (MiB, per worker process)
    peak_rss_mb: float = 0.0
    #: CPU time the chunk tasks used (s, all their threads; insensitive to other load on the machine)
    cpu_seconds: float = 0.0
    #: chunks rendered by each process id (which workers took part)
    chunks_by_pid: dict = field(default_factory=dict)

    @property
    def shots_per_second(self) -> float:
        return self.shots_computed / self.seconds if self.seconds > 0 else 0.0


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def local_cluster_size(spec: DatasetSpec, workers: Optional[int] = None):
    """(worker processes, engine threads per worker) for a LocalCluster on this machine."""
    cores = _cores()
    if workers is None:
        workers = cores
        if spec.base_config().device.startswith("cuda"):
            import torch

            if torch.cuda.is_available():
                workers = torch.cuda.device_count()
    workers = max(1, int(workers))
    return workers, max(1, cores // workers)


class _Progress:
    """One status line: shots done, shots per second, ETA (plain lines every 10 % off a terminal)."""

    def __init__(self, total: int, done: int, stream=None, enabled: bool = True):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.total, self.start_done, self.done = total, done, done
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.monotonic()
        self.last_decile = -1

    def restart(self) -> None:
        """Start the clock again (after the cluster started)."""
        self.start = time.monotonic()

    def update(self, shots: int) -> None:
        self.done += shots
        if not self.enabled or self.total <= 0:
            return
        elapsed = time.monotonic() - self.start
        rate = (self.done - self.start_done) / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        eta = f"{int(left / rate) // 60}:{int(left / rate) % 60:02d}" if rate > 0 else "?"
        text = f"{self.done}/{self.total} shots  {rate:.2f} shots/s  ETA {eta}"
        if self.tty:
            width = 30
            filled = width * self.done // self.total
            self.stream.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {text}  ")
        else:
            decile = 10 * self.done // self.total
            if decile == self.last_decile:
                return
            self.last_decile = decile
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def run(
    spec: Union[DatasetSpec, str, "os.PathLike[str]"],
    out_dir,
    *,
    client=None,
    scheduler: Optional[str] = None,
    workers: Optional[int] = None,
    threads_per_worker: Optional[int] = None,
    progress: bool = True,
    on_chunk: Optional[Callable[[Chunk, dict], None]] = None,
) -> RunReport:
    """Render every missing chunk of a dataset into ``out_dir`` and write its master file and ground truth.

    Parameters
    ----------
    spec : a :class:`DatasetSpec` or the path of its TOML file.
    out_dir : output folder; created, or resumed when it holds this description's output
        (a folder made from another description raises :class:`DescriptionChanged`).
    client : a ``dask.distributed.Client`` to run on (an existing cluster).
    scheduler : address of a running dask scheduler (``tcp://host:8786``), used when ``client`` is None.
    workers : worker processes of the default LocalCluster (default: one per core, or one per GPU
        for a CUDA run); ``0`` renders in this process without dask.
    threads_per_worker : engine threads per task (default: cores // workers; on a given cluster, 1).
    progress : show a progress line on stderr (shots, shots per second, ETA).
    on_chunk : called as ``on_chunk(chunk, summary)`` after each chunk is recorded as finished.

    Returns
    -------
    RunReport
    """
    if not isinstance(spec, DatasetSpec):
        spec = load_spec(spec)
    folder = OutputFolder(out_dir, spec).open()
    report = RunReport(out_dir=folder.path, skipped=sorted(folder.finished))
    missing = folder.missing()
    bar = _Progress(spec.shots, spec.shots - sum(c.count for c in missing), enabled=progress and bool(missing))
    start = time.perf_counter()

    def finished(chunk: Chunk, summary: dict) -> None:
        folder.record(chunk)
        report.computed.append(chunk.index)
        report.shots_computed += chunk.count
        report.peak_rss_mb = max(report.peak_rss_mb, float(summary.get("peak_rss_mb", 0.0)))
        report.cpu_seconds += float(summary.get("cpu_seconds", 0.0))
        pid = summary.get("pid")
        report.chunks_by_pid[pid] = report.chunks_by_pid.get(pid, 0) + 1
        bar.update(chunk.count)
        if on_chunk is not None:
            on_chunk(chunk, summary)

    try:
        if missing:
            if client is None and scheduler is None and workers == 0:
                for chunk in missing:
                    finished(chunk, render_chunk(spec, chunk, folder.path, threads_per_worker))
            else:
                _run_distributed(spec, folder, missing, finished, client, scheduler, workers, threads_per_worker,
                                 ready=bar.restart)
    finally:
        bar.close()
    report.seconds = time.perf_counter() - start
    base = spec.base_config()
    params = [shot_parameters(spec, i, base) for i in range(spec.shots)]
    write_ground_truth(folder.path, ground_truth_rows(spec, folder.chunks, params))
    write_master(folder.path, folder.chunks)
    return report


#: dask settings of the LocalCluster's workers: no MALLOC_TRIM_THRESHOLD_ (see
#: render.undo_malloc_trim) and no statistical profiler (a stack sample every 10 ms in each
#: worker, CPU time taken from the shots)
WORKER_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    # fewer wake-ups of the scheduler, nannies and workers, which share the cores with the shots
    # (chunks take seconds: a 1 s memory watch and a 2 s system monitor are plenty)
    "distributed.admin.tick.interval": "200ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}


def _run_distributed(spec, folder, missing, finished, client, scheduler, workers, threads_per_worker, ready) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - dask is an optional dependency
        raise SpecError("running on dask needs dask[distributed] (pip install 'dask[distributed]'); "
                        "or pass workers=0 (--workers 0) to render in this process") from None
    cluster = own_client = None
    try:
        if client is None and scheduler is not None:
            client = own_client = Client(scheduler)
        if client is None:
            n, threads = local_cluster_size(spec, workers)
            threads = threads_per_worker or threads
            env = {k: str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
            import dask

            with dask.config.set(WORKER_CONFIG):
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                       env=env, silence_logs=logging.ERROR)
            client = own_client = Client(cluster)
        else:
            threads = threads_per_worker or 1
        slots = max(1, sum(client.nthreads().values()))
        ready()  # the cluster is up: shots per second count from here
        pending = list(missing)
        by_key = {}
        run_token = uuid.uuid4().hex  # fresh keys: a cluster never answers with an earlier run's result

        def submit():
            chunk = pending.pop(0)
            future = client.submit(render_chunk, spec, chunk, folder.path, threads, pure=False, retries=2,
                                   key=f"nanobrag-chunk-{chunk.index}-{run_token}")
            by_key[future.key] = chunk
            return future

        # at most two tasks per worker thread in flight: memory stays bounded, workers stay busy
        queue = as_completed([submit() for _ in range(min(len(pending), 2 * slots))])
        for future in queue:
            summary = future.result()
            finished(by_key.pop(future.key), summary)
            if pending:
                queue.add(submit())
    finally:
        if own_client is not None:
            own_client.close()
        if cluster is not None:
            cluster.close()
