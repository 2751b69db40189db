"""What a dataset writes: chunk files, the master file, the ground-truth table.

This module is the one place that knows the file formats; the rest of the
package hands it frames and per-frame metadata.  Chunk files are written by
:func:`nanobrag.io.nxmx.nxmx_bytes` (the project's NXmx writer) and stored
with :func:`nanobrag.io.atomic.atomic_write` (temporary name, fsync, rename).
The master file copies the first chunk's instrument and sample groups,
concatenates the per-frame arrays and maps ``/entry/data/data`` onto the
chunks' data with an HDF5 virtual dataset, so one file opens the whole set.
"""
from __future__ import annotations

import csv
import io
import os
import shlex
from typing import Dict, List, Mapping, Sequence

import numpy as np

from ..io.atomic import atomic_write
from .manifest import GROUND_TRUTH, MASTER, Chunk
from .spec import DatasetSpec
from .variation import ShotParameters, shot_args

__all__ = ["write_chunk", "write_master", "write_ground_truth", "ground_truth_rows", "read_ground_truth",
           "ROTATION_AXIS", "GROUND_TRUTH_COLUMNS"]

#: name of the sample's rotation axis in a rotation series
ROTATION_AXIS = "phi"
_DATA = "entry/data/data"
_DETECTOR_DATA = "entry/instrument/detector/data"
# groups whose datasets hold one entry per frame (first axis)
_PER_FRAME_GROUPS = ("entry/sample/frame_metadata", "entry/sample/transformations")
_WAVELENGTH = "entry/instrument/beam/incident_wavelength"
_WEIGHTS = "entry/instrument/beam/incident_wavelength_weights"


def write_chunk(path: str, spec: DatasetSpec, frames: np.ndarray, first_result, wavelengths_A: Sequence[float],
                frame_metadata: Mapping[str, np.ndarray], rotation=None, weights=None) -> str:
    """Write one chunk's frames (frame, slow, fast) as an NXmx file at ``path`` (atomically).

    The detector and beam groups come from ``first_result`` (the chunk's first
    :class:`~nanobrag.SimulationResult`), as the ``nanobrag -nxmx`` output of that shot.
    """
    from ..io.nxmx import nxmx_bytes
    from ..masks import rendered_mask

    beam = first_result.config.beam
    not_rendered = ~rendered_mask(first_result.float_image.shape, first_result.geometry.roi,
                                  first_result.config.detector.mask)  # outside -roi or masked: the same for every shot

    data = nxmx_bytes(
        frames,
        first_result.geometry,
        wavelengths_A=np.asarray(wavelengths_A, dtype=np.float64),
        weights=weights,
        rotation=rotation,
        data_kind="float32" if spec.image == "float" else "int32",
        saturation_value=None if spec.image == "float" else 65535,
        compression=None if spec.compression == "none" else spec.compression,
        frame_metadata=frame_metadata,
        exposure_s=float(beam.exposure_s),
        kahn_factor=0.0 if beam.nopolar else float(beam.kahn_factor),
        pixel_mask=not_rendered if not_rendered.any() else None,
        start_time="1970-01-01T00:00:00Z",  # a fixed time: the file depends on the description only
    )
    return atomic_write(path, data)


def _copy_attrs(src, dst) -> None:
    for key, value in src.attrs.items():
        dst.attrs[key] = value


def _copy_tree(src_group, dst_group, skip: set, per_frame: Dict[str, object]) -> None:
    """Copy src_group into dst_group except ``skip`` paths; per-frame datasets are replaced."""
    import h5py

    _copy_attrs(src_group, dst_group)
    for name in src_group:
        obj = src_group[name]
        path = f"{src_group.name.strip('/')}/{name}".lstrip("/")  # obj.name may name another hard link
        if path in skip:
            continue
        if isinstance(obj, h5py.Group):
            _copy_tree(obj, dst_group.create_group(name), skip, per_frame)
        elif path in per_frame:
            ds = dst_group.create_dataset(name, data=per_frame[path])
            _copy_attrs(obj, ds)
        else:
            src_group.copy(obj, dst_group, name=name)


def _per_frame_paths(h5, nframes: int) -> List[str]:
    import h5py

    paths = []
    for group in _PER_FRAME_GROUPS:
        if group in h5:
            for name, obj in h5[group].items():
                if isinstance(obj, h5py.Dataset) and obj.ndim >= 1 and obj.shape[0] == nframes:
                    paths.append(f"{group}/{name}")
    ds = h5[_WAVELENGTH]
    if ds.ndim == 0 or ds.shape[0] == nframes:  # one per frame (a scalar when the chunk has one frame)
        paths.append(_WAVELENGTH)
    if _WEIGHTS in h5:  # one spectrum per frame
        paths.append(_WEIGHTS)
    return paths


def write_master(out_dir: str, chunks: Sequence[Chunk]) -> str:
    """Write ``master.h5``: the first chunk's metadata, per-frame arrays of all chunks, virtual data."""
    import h5py

    files = [os.path.join(out_dir, c.file) for c in chunks]
    with h5py.File(files[0], "r") as first:
        per_frame_paths = _per_frame_paths(first, chunks[0].count)
        shape = first[_DATA].shape[1:]
        dtype = first[_DATA].dtype
        data_attrs = dict(first[_DATA].attrs)
    pieces: Dict[str, list] = {p: [] for p in per_frame_paths}
    for chunk, name in zip(chunks, files):
        with h5py.File(name, "r") as h5:
            if h5[_DATA].shape != (chunk.count,) + shape:
                raise ValueError(f"{name}: data shape {h5[_DATA].shape}, expected {(chunk.count,) + shape}")
            for p in per_frame_paths:
                value = np.asarray(h5[p][()])
                if p == _WAVELENGTH and value.ndim == 0:  # the writer stores one wavelength as a scalar
                    value = np.full(chunk.count, value)
                pieces[p].append(value)
    per_frame = {p: np.concatenate(v) for p, v in pieces.items()}

    total = sum(c.count for c in chunks)
    layout = h5py.VirtualLayout(shape=(total,) + shape, dtype=dtype)
    for chunk in chunks:
        # a relative source name: HDF5 looks for it beside the master file, so the folder can move
        layout[chunk.first:chunk.first + chunk.count] = h5py.VirtualSource(
            "./" + chunk.file, _DATA, shape=(chunk.count,) + shape)

    buffer = io.BytesIO()
    with h5py.File(files[0], "r") as first, h5py.File(buffer, "w") as master:
        _copy_attrs(first, master)
        entry = master.create_group("entry")
        _copy_tree(first["entry"], entry, {_DATA, _DETECTOR_DATA}, per_frame)
        data = master["entry/data"].create_virtual_dataset("data", layout, fillvalue=None)
        for key, value in data_attrs.items():
            data.attrs[key] = value
        master[_DETECTOR_DATA] = data  # hard link, as in the chunk files
    return atomic_write(os.path.join(out_dir, MASTER), buffer.getvalue())


GROUND_TRUTH_COLUMNS = (
    "shot", "chunk_file", "frame_in_chunk", "misset_x_deg", "misset_y_deg", "misset_z_deg", "n_cells",
    "mosaic_spread_deg", "mosaic_seed", "fluence_photons_per_m2", "wavelength_A", "distance_mm", "xbeam_mm",
    "ybeam_mm", "phi_deg", "osc_deg", "noise_seed", "spectrum_A", "shot_args",
)


def ground_truth_rows(spec: DatasetSpec, chunks: Sequence[Chunk], params: Sequence[ShotParameters]) -> List[dict]:
    """One row per shot: the drawn values (empty = the base's) and the options that reproduce it."""
    rows = []
    for chunk in chunks:
        for k, shot in enumerate(chunk.shots):
            p = params[shot]
            row = p.as_row()
            row.update(chunk_file=chunk.file, frame_in_chunk=k, shot_args=shlex.join(shot_args(spec, shot, p)))
            rows.append(row)
    return rows


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # round-trips exactly
    return str(value)


def write_ground_truth(out_dir: str, rows: Sequence[dict]) -> str:
    """Write ``ground_truth.csv`` (atomically); floats are written so that they read back exactly."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(GROUND_TRUTH_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in GROUND_TRUTH_COLUMNS])
    return atomic_write(os.path.join(out_dir, GROUND_TRUTH), text.getvalue().encode())


def read_ground_truth(path) -> List[dict]:
    """The rows of a ``ground_truth.csv`` as dicts of strings (empty string: the base's value)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, GROUND_TRUTH)
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
