"""The output folder's bookkeeping: which chunks exist, which are finished.

Layout of an output folder::

    spec.json          the normalized description and its digest (written first)
    manifest.json      finished chunks (rewritten atomically after each one)
    chunk_00000.h5     one NXmx file per chunk (written to a temporary name, fsync'd, renamed)
    ...
    ground_truth.csv   one row per shot (written when every chunk is finished)
    master.h5          links the chunks with HDF5 virtual datasets (written last)

A chunk counts as finished only when ``manifest.json`` lists it *and* its file
has the recorded size and sha256.  The manifest is updated only after the
chunk file was renamed into place, so a run killed at any moment leaves at
worst a temporary file (removed on the next start) or an unlisted chunk file
(computed again).
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ..io.atomic import atomic_write
from .spec import DatasetSpec, SpecError

__all__ = ["Chunk", "plan_chunks", "OutputFolder", "DescriptionChanged", "MANIFEST", "SPEC_FILE",
           "GROUND_TRUTH", "MASTER"]

MANIFEST = "manifest.json"
SPEC_FILE = "spec.json"
GROUND_TRUTH = "ground_truth.csv"
MASTER = "master.h5"
_FORMAT = "nanobrag-dataset/1"


class DescriptionChanged(SpecError):
    """The output folder was made from another description (its digest differs)."""


@dataclass(frozen=True)
class Chunk:
    """Shots ``first .. first + count - 1``, written to ``file``."""

    index: int
    first: int
    count: int

    @property
    def file(self) -> str:
        return f"chunk_{self.index:05d}.h5"

    @property
    def shots(self) -> range:
        return range(self.first, self.first + self.count)


def plan_chunks(spec: DatasetSpec) -> List[Chunk]:
    """Split the shots into consecutive chunks of ``shots_per_chunk`` (the last may be shorter)."""
    k = spec.shots_per_chunk
    return [Chunk(i, i * k, min(k, spec.shots - i * k)) for i in range(spec.n_chunks)]


def file_sha256(path: str) -> Tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


class OutputFolder:
    """An output folder bound to one description (see the module docstring)."""

    def __init__(self, path, spec: DatasetSpec):
        self.path = os.path.abspath(os.fspath(path))
        self.spec = spec
        self.chunks = plan_chunks(spec)
        self.finished: Dict[int, dict] = {}

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    # -- opening
    def open(self) -> "OutputFolder":
        """Create the folder or check that it belongs to this description; load the manifest.

        Raises :class:`DescriptionChanged` when the folder holds another
        description's output.  Removes temporary files a killed run left.
        """
        os.makedirs(self.path, exist_ok=True)
        recorded = read_spec_record(self.path)
        if recorded is None:
            if os.listdir(self.path):
                raise SpecError(f"{self.path} is not empty and holds no {SPEC_FILE}: not a dataset folder; "
                                "give a new or empty output folder")
            record = {"format": _FORMAT, "digest": self.spec.digest, "description": self.spec.normalized()}
            atomic_write(self.file(SPEC_FILE), (json.dumps(record, indent=1, sort_keys=True) + "\n").encode())
        elif recorded.get("digest") != self.spec.digest:
            raise DescriptionChanged(
                f"{self.path} holds a dataset made from another description (digest "
                f"{str(recorded.get('digest'))[:12]}..., this one {self.spec.digest[:12]}...); "
                "use a new output folder, or restore the description it was made from"
            )
        for tmp in glob.glob(os.path.join(self.path, ".*.tmp")):
            os.unlink(tmp)
        manifest = read_manifest(self.path)
        self.finished = {}
        for key, entry in (manifest or {}).get("chunks", {}).items():
            index = int(key)
            if index < len(self.chunks) and self._intact(index, entry):
                self.finished[index] = entry
        return self

    def _intact(self, index: int, entry: dict) -> bool:
        path = self.file(self.chunks[index].file)
        if entry.get("file") != self.chunks[index].file or not os.path.isfile(path):
            return False
        if os.path.getsize(path) != entry.get("bytes"):
            return False
        return file_sha256(path)[1] == entry.get("sha256")

    # -- progress
    def missing(self) -> List[Chunk]:
        return [c for c in self.chunks if c.index not in self.finished]

    def record(self, chunk: Chunk) -> None:
        """Mark ``chunk`` finished (its file must be in place); rewrites the manifest atomically."""
        size, digest = file_sha256(self.file(chunk.file))
        self.finished[chunk.index] = {"file": chunk.file, "first_shot": chunk.first, "shots": chunk.count,
                                      "bytes": size, "sha256": digest}
        self._write_manifest()

    def _write_manifest(self) -> None:
        body = {
            "format": _FORMAT,
            "digest": self.spec.digest,
            "shots": self.spec.shots,
            "n_chunks": len(self.chunks),
            "chunks": {str(k): self.finished[k] for k in sorted(self.finished)},
        }
        atomic_write(self.file(MANIFEST), (json.dumps(body, indent=1) + "\n").encode())


def read_spec_record(path: str) -> Optional[dict]:
    name = os.path.join(path, SPEC_FILE)
    if not os.path.exists(name):
        return None
    try:
        with open(name) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise SpecError(f"{name}: unreadable ({exc})") from None


def read_manifest(path: str) -> Optional[dict]:
    name = os.path.join(path, MANIFEST)
    if not os.path.exists(name):
        return None
    try:
        with open(name) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise SpecError(f"{name}: unreadable ({exc}); delete it to recompute every chunk") from None
