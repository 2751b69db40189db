"""What an output folder holds: ``nanobrag-dataset status DIR``."""
from __future__ import annotations

import os
from typing import Any, Dict

from .manifest import GROUND_TRUTH, MASTER, read_manifest, read_spec_record
from .spec import SpecError

__all__ = ["dataset_status"]


def dataset_status(out_dir) -> Dict[str, Any]:
    """Progress of a dataset folder, from its files alone (no description needed).

    Returns a dict: digest, shots, n_chunks, finished_chunks, finished_shots,
    complete (every chunk finished and the master file written), missing_chunks.
    The chunk files are not re-hashed here (``run`` does that before resuming).
    """
    out_dir = os.fspath(out_dir)
    record = read_spec_record(out_dir)
    if record is None:
        raise SpecError(f"{out_dir}: no spec.json; not a dataset folder")
    description = record.get("description", {})
    shots = int(description["dataset"]["shots"])
    per_chunk = int(description["dataset"]["shots_per_chunk"])
    n_chunks = -(-shots // per_chunk)
    manifest = read_manifest(out_dir) or {"chunks": {}}
    finished = {int(k): v for k, v in manifest.get("chunks", {}).items()
                if os.path.isfile(os.path.join(out_dir, v.get("file", "")))}
    done_shots = sum(int(v["shots"]) for v in finished.values())
    return {
        "out_dir": os.path.abspath(out_dir),
        "digest": record.get("digest"),
        "kind": description["dataset"]["kind"],
        "shots": shots,
        "n_chunks": n_chunks,
        "finished_chunks": len(finished),
        "finished_shots": done_shots,
        "missing_chunks": [i for i in range(n_chunks) if i not in finished],
        "complete": len(finished) == n_chunks and os.path.isfile(os.path.join(out_dir, MASTER))
        and os.path.isfile(os.path.join(out_dir, GROUND_TRUTH)),
    }
