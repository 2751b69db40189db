"""NeXus/HDF5 images in the NXmx application definition (what DIALS/dxtbx and XDS plugins read).

:func:`write_nxmx` writes a stack of frames (one still, a set of stills, or a
rotation series) with the simulation's geometry; :func:`nxmx_bytes` returns the
same file as bytes (for :func:`nanobrag.io.atomic.atomic_write_many`).

Frames
------
The nanoBragg lab frame depends on the convention (MOSFLM: beam along +x;
XDS, ADXV, DIALS: beam along +z; CUSTOM: anything).  NeXus uses the McStas
frame: the beam runs along +z, +y is up, +x completes a right-handed set.
:func:`nexus_rotation` maps the nanoBragg frame onto the McStas frame with
the one rotation that sends the beam to +z and the spindle axis (its part
perpendicular to the beam) to -x; that is the usual beamline layout, whose
rotation axis dxtbx shows as (1, 0, 0) in its imgCIF frame (imgCIF =
diag(-1, 1, -1) McStas).  Only this choice of the roll about the beam is
arbitrary; every angle between beam, detector and spindle is kept exactly.

File layout (lengths in mm, angles in degrees, wavelengths in Angstrom)
----------------------------------------------------------------------
::

    /entry                       NXentry, definition = "NXmx", start_time
      source                     NXsource (name)
      instrument                 NXinstrument (name)
        beam                     NXbeam: incident_wavelength (scalar, one per
                                 frame, or a spectrum with
                                 incident_wavelength_weights), total_flux,
                                 incident_polarization_stokes
        detector                 NXdetector: data (hard link to /entry/data/data),
                                 depends_on -> transformations/two_theta,
                                 sensor_material, sensor_thickness, x/y_pixel_size,
                                 count_time, saturation_value, underload_value,
                                 distance, beam_center_x/y (pixels),
                                 pixel_mask (when given; 256 = bit 8, user mask)
          transformations        NXtransformations: two_theta (rotation about the
                                 run's two-theta axis by the run's two-theta angle)
          module                 NXdetector_module: data_origin, data_size
                                 (slow, fast), module_offset (translation to the
                                 corner of pixel (0, 0) before two-theta),
                                 fast_pixel_direction, slow_pixel_direction
      sample                     NXsample: depends_on "." (stills) or
                                 transformations/<axis> (rotation series)
        transformations          NXtransformations: <axis> (one start angle per
                                 frame), <axis>_increment_set, <axis>_end
        unit_cell                a, b, c (Angstrom), alpha, beta, gamma (deg)
        nanobrag                 NXcollection: the simulation's own vectors in
                                 the McStas frame (see below)
        frame_metadata           NXcollection: one dataset per ``frame_metadata``
                                 key, first axis = frame
      data                       NXdata (@signal = "data"): data (frame, slow, fast)

``/entry/sample/nanobrag`` holds ``nexus_rotation`` (3x3, McStas = R @
nanoBragg lab), ``convention``, ``pivot``, ``beam_vector``,
``spindle_axis``, ``polarization_vector`` (unit vectors, McStas frame) and
``real_space_vectors`` (3x3 rows a, b, c in Angstrom, McStas frame, at
spindle angle 0: after the misset rotation, before phi).

The detector chain is exact for every convention, pivot, detector rotation
and two-theta: the module's origin and axes are the engine's own pix0, fdet
and sdet, rotated back by two-theta (the two_theta axis then rotates them to
where the engine put them).  No Eiger-specific groups are written (they
would route the file to another dxtbx reader).

Data are float32 photons (``data_kind="float32"``) or int32 counts
(``data_kind="int32"``: the rule of :mod:`nanobrag.io.counts`, rounded
half up and clipped to [``underload_value`` + 1, ``saturation_value``]).  Compression: gzip (level 4, default), bitshuffle-LZ4 through
``hdf5plugin`` (``compression="bitshuffle-lz4"``), or none; one chunk per
frame.
"""
from __future__ import annotations

import datetime
import io
import math
import os
import secrets
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .counts import INT32_MAX, photons_to_counts

__all__ = [
    "NexusGeometry",
    "nexus_rotation",
    "nexus_geometry",
    "write_nxmx",
    "nxmx_bytes",
    "SENSOR_MATERIALS",
    "COMPRESSIONS",
]

#: sensor materials dxtbx's NXmx reader accepts
SENSOR_MATERIALS = ("Si", "Silicon", "CdTe", "GaAs")
COMPRESSIONS = ("gzip", "bitshuffle-lz4", None)
DATA_KINDS = ("float32", "int32")
#: the NXmx pixel_mask bit written for a pixel not to be used (bit 8: user-defined mask)
PIXEL_MASK_USER = 1 << 8

PathLike = Union[str, "os.PathLike[str]"]


def _unit(v, name: str) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64).reshape(3)
    n = float(np.linalg.norm(v))
    if not np.isfinite(n) or n == 0.0:
        raise ValueError(f"{name} must be a finite non-zero 3-vector, got {tuple(v)}")
    return v / n


def _rotate(v: np.ndarray, axis: np.ndarray, angle_rad: float) -> np.ndarray:
    """Right-handed rotation of v about the unit vector axis (Rodrigues)."""
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return v * c + np.cross(axis, v) * s + axis * float(np.dot(axis, v)) * (1.0 - c)


def nexus_rotation(beam_vector, spindle_axis, polar_vector=None) -> np.ndarray:
    """3x3 rotation R with ``McStas = R @ nanoBragg_lab``: beam -> +z, spindle (perpendicular part) -> -x.

    When the spindle is parallel to the beam, the polarization vector (then
    the lab axis least parallel to the beam) fixes the roll instead.
    """
    z = _unit(beam_vector, "beam_vector")
    candidates = [spindle_axis]
    if polar_vector is not None:
        candidates.append(polar_vector)
    candidates.extend(np.eye(3)[np.argsort(np.abs(z))])
    for cand in candidates:
        c = np.asarray(cand, dtype=np.float64).reshape(3)
        perp = c - np.dot(c, z) * z
        if np.linalg.norm(perp) > 1e-6 * max(np.linalg.norm(c), 1e-300):
            x = -perp / np.linalg.norm(perp)
            break
    y = np.cross(z, x)
    return np.array([x, y, z])


@dataclass
class NexusGeometry:
    """The detector, beam and sample geometry of a run, in the NeXus McStas frame.

    Lengths in mm; unit vectors dimensionless.  Built from an engine's
    :class:`nanobrag.results.Geometry` by :func:`nexus_geometry`; may also be
    filled by hand.

    Attributes
    ----------
    origin_mm : corner of pixel (0, 0) (the engine's pix0), McStas frame.
    fast_axis, slow_axis : unit vectors along increasing fast/slow pixel index.
    fpixels, spixels : detector size in pixels (fast, slow).
    pixel_size_mm : square pixel edge.
    twotheta_axis : unit vector; twotheta_deg : the run's two-theta angle.
    spindle_axis : rotation axis of the sample (right-handed).
    polarization_vector : E-vector direction; kahn_factor : polarization
        fraction (0 = unpolarized).
    sensor_thickness_mm : 0 when the sensor is not modelled.
    real_space_vectors_A : rows a, b, c (Angstrom) at spindle angle 0, or None.
    cell : a, b, c (Angstrom), alpha, beta, gamma (deg), or None.
    rotation : the 3x3 R used (McStas = R @ nanoBragg lab).
    """

    origin_mm: np.ndarray
    fast_axis: np.ndarray
    slow_axis: np.ndarray
    fpixels: int
    spixels: int
    pixel_size_mm: float
    twotheta_axis: np.ndarray
    twotheta_deg: float
    spindle_axis: np.ndarray
    beam_vector: np.ndarray
    polarization_vector: np.ndarray
    kahn_factor: float = 0.0
    sensor_thickness_mm: float = 0.0
    distance_mm: float = 0.0
    beam_center_fast_px: float = 0.0
    beam_center_slow_px: float = 0.0
    wavelength_A: float = 1.0
    flux_photons_per_s: float = 0.0
    real_space_vectors_A: Optional[np.ndarray] = None
    cell: Optional[Tuple[float, ...]] = None
    convention: str = "CUSTOM"
    pivot: str = "sample"
    rotation: Optional[np.ndarray] = None


def _cell_from_vectors(abc: np.ndarray) -> Tuple[float, ...]:
    a, b, c = (np.asarray(v, dtype=np.float64) for v in abc)
    la, lb, lc = (float(np.linalg.norm(v)) for v in (a, b, c))

    def angle(u, v, lu, lv):
        return math.degrees(math.acos(max(-1.0, min(1.0, float(np.dot(u, v)) / (lu * lv)))))

    return (la, lb, lc, angle(b, c, lb, lc), angle(a, c, la, lc), angle(a, b, la, lb))


def nexus_geometry(geometry, *, kahn_factor: Optional[float] = None) -> NexusGeometry:
    """Convert an engine's :class:`nanobrag.results.Geometry` (SI, nanoBragg lab frame) to the McStas frame.

    ``kahn_factor``: polarization fraction to record (the geometry does not
    carry it; the CLI passes ``config.beam.kahn_factor``).
    """
    if isinstance(geometry, NexusGeometry):
        return geometry
    R = nexus_rotation(geometry.beam_vector, geometry.spindle_axis, geometry.polar_vector)
    to_nx = lambda v: R @ np.asarray(v, dtype=np.float64)  # noqa: E731
    px_mm = float(geometry.pixel_size_m) * 1e3
    abc = None
    cell = None
    try:
        abc = np.array([to_nx(geometry.a_m), to_nx(geometry.b_m), to_nx(geometry.c_m)]) * 1e10
        if np.all(np.isfinite(abc)) and np.all(np.linalg.norm(abc, axis=1) > 0):
            cell = _cell_from_vectors(abc)
        else:
            abc = None
    except (AttributeError, TypeError, ValueError):
        abc = None
    return NexusGeometry(
        origin_mm=to_nx(geometry.pix0_vector_m) * 1e3,
        fast_axis=to_nx(_unit(geometry.fdet_vector, "fdet_vector")),
        slow_axis=to_nx(_unit(geometry.sdet_vector, "sdet_vector")),
        fpixels=int(geometry.fpixels),
        spixels=int(geometry.spixels),
        pixel_size_mm=px_mm,
        twotheta_axis=to_nx(_unit(geometry.twotheta_axis, "twotheta_axis")),
        twotheta_deg=math.degrees(float(geometry.twotheta_rad)),
        spindle_axis=to_nx(_unit(geometry.spindle_axis, "spindle_axis")),
        beam_vector=to_nx(_unit(geometry.beam_vector, "beam_vector")),
        polarization_vector=to_nx(_unit(geometry.polar_vector, "polar_vector")),
        kahn_factor=float(kahn_factor or 0.0),
        sensor_thickness_mm=float(geometry.detector_thick_m) * 1e3,
        distance_mm=float(geometry.distance_m) * 1e3,
        beam_center_fast_px=float(geometry.fbeam_m) * 1e3 / px_mm,
        beam_center_slow_px=float(geometry.sbeam_m) * 1e3 / px_mm,
        wavelength_A=float(geometry.wavelength_m) * 1e10,
        flux_photons_per_s=float(geometry.flux_photons_per_s),
        real_space_vectors_A=abc,
        cell=cell,
        convention=str(geometry.convention),
        pivot=str(geometry.pivot),
        rotation=R,
    )


# ----------------------------------------------------------------------------
# checks of the arguments
# ----------------------------------------------------------------------------


def _frames_array(frames, geom: NexusGeometry) -> np.ndarray:
    if hasattr(frames, "detach"):
        frames = frames.detach().cpu().numpy()
    arr = np.asarray(frames)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] < 1:
        raise ValueError(f"frames must be (slow, fast) or (frame, slow, fast), got shape {arr.shape}")
    if arr.shape[1:] != (geom.spixels, geom.fpixels):
        raise ValueError(
            f"frames have (slow, fast) = {arr.shape[1:]} but the geometry has {(geom.spixels, geom.fpixels)}"
        )
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError("frames hold inf or NaN values; refusing to write them to NXmx")
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"frames must be numeric, got dtype {arr.dtype}")
    return arr


def _data_values(arr: np.ndarray, data_kind: str, saturation, underload) -> np.ndarray:
    if data_kind == "float32":
        return np.ascontiguousarray(arr, dtype=np.float32)
    return photons_to_counts(arr, saturation, underload)


def _per_frame(name: str, value, nframes: int, unit: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(nframes, float(arr))
    if arr.shape != (nframes,):
        raise ValueError(f"{name} must be a scalar or hold one value per frame ({nframes}), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite ({unit})")
    return arr


_SUFFIX_UNITS = (("_A", "angstrom"), ("_deg", "degree"), ("_rad", "radian"), ("_mm", "mm"),
                 ("_um", "micrometer"), ("_m", "m"), ("_s", "s"), ("_per_m2", "1/m^2"), ("_per_A", "1/angstrom"))


def _units_from_name(name: str) -> Optional[str]:
    for suffix, unit in _SUFFIX_UNITS:
        if name.endswith(suffix):
            return unit
    return None


# ----------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------


def _string(group, name: str, value: str):
    import h5py

    return group.create_dataset(name, data=value, dtype=h5py.string_dtype("utf-8"))


def _nxgroup(parent, name: str, nx_class: str):
    group = parent.create_group(name)
    group.attrs["NX_class"] = nx_class
    return group


def _axis(group, name: str, values, *, kind: str, vector, depends_on: str, units: str, offset=None):
    ds = group.create_dataset(name, data=np.asarray(values, dtype=np.float64))
    ds.attrs["transformation_type"] = kind
    ds.attrs["vector"] = np.asarray(vector, dtype=np.float64)
    ds.attrs["units"] = units
    ds.attrs["depends_on"] = depends_on
    if offset is not None:
        ds.attrs["offset"] = np.asarray(offset, dtype=np.float64)
        ds.attrs["offset_units"] = "mm"
    return ds


def _compression_kwargs(compression) -> dict:
    if compression == "gzip":
        return {"compression": "gzip", "compression_opts": 4, "shuffle": True}
    if compression == "bitshuffle-lz4":
        try:
            import hdf5plugin
        except ImportError as exc:  # the optional extra
            raise ImportError(
                "compression='bitshuffle-lz4' needs the hdf5plugin package (pip install 'nanobrag[hdf5plugin]')"
            ) from exc
        return dict(hdf5plugin.Bitshuffle(cname="lz4"))
    if compression is None or compression == "none":
        return {}
    raise ValueError(f"compression must be one of 'gzip', 'bitshuffle-lz4' or None, got {compression!r}")


def _write_file(
    h5,
    frames,
    geometry,
    *,
    wavelengths_A=None,
    weights=None,
    rotation=None,
    data_kind: str = "float32",
    saturation_value=None,
    underload_value=None,
    compression="gzip",
    frame_metadata: Optional[Mapping[str, Any]] = None,
    exposure_s: Optional[float] = None,
    sensor_material: str = "Si",
    kahn_factor: Optional[float] = None,
    start_time: Optional[str] = None,
    sample_name: str = "simulated crystal",
    pixel_mask=None,
):
    geom = nexus_geometry(geometry, kahn_factor=kahn_factor)
    if data_kind not in DATA_KINDS:
        raise ValueError(f"data_kind must be 'float32' or 'int32', got {data_kind!r}")
    if sensor_material not in SENSOR_MATERIALS:
        raise ValueError(f"sensor_material must be one of {SENSOR_MATERIALS} (dxtbx reads no other), got {sensor_material!r}")
    arr = _frames_array(frames, geom)
    nframes = arr.shape[0]
    if data_kind == "int32" and saturation_value is None:
        saturation_value = INT32_MAX
    data = _data_values(arr, data_kind, saturation_value, underload_value)
    filters = _compression_kwargs(compression)

    entry = _nxgroup(h5, "entry", "NXentry")
    h5.attrs["default"] = "entry"
    entry.attrs["default"] = "data"
    _string(entry, "definition", "NXmx")
    if start_time is None:
        start_time = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    _string(entry, "start_time", start_time)
    source = _nxgroup(entry, "source", "NXsource")
    _string(source, "name", "nanobrag simulation")

    # data first, so the detector can hard-link it
    nxdata = _nxgroup(entry, "data", "NXdata")
    nxdata.attrs["signal"] = "data"
    chunks = (1,) + data.shape[1:] if filters else None
    dset = nxdata.create_dataset("data", data=data, chunks=chunks, **filters)
    dset.attrs["units"] = "photons" if data_kind == "float32" else "counts"

    instrument = _nxgroup(entry, "instrument", "NXinstrument")
    name = _string(instrument, "name", "nanobrag simulated diffractometer")
    name.attrs["short_name"] = "nanobrag"

    _write_beam(instrument, geom, wavelengths_A, weights, nframes)
    det = _write_detector(instrument, geom, dset, data_kind, sensor_material, exposure_s, saturation_value,
                          underload_value, pixel_mask, filters)
    _write_detector_axes(det, geom)
    sample = _write_sample(entry, geom, rotation, nframes, sample_name)
    if frame_metadata:
        _write_frame_metadata(sample, frame_metadata, nframes)


def _write_beam(instrument, geom, wavelengths_A, weights, nframes: int) -> None:
    """NXbeam: wavelength (one, one per frame, or spectra with weights), flux, polarization."""
    beam = _nxgroup(instrument, "beam", "NXbeam")
    if wavelengths_A is None:
        wavelengths_A = geom.wavelength_A
    wl = np.asarray(wavelengths_A, dtype=np.float64)
    if weights is None:
        if wl.ndim == 1 and wl.size == 1:
            wl = wl.reshape(())
        if wl.ndim == 1 and wl.shape != (nframes,):
            raise ValueError(
                f"wavelengths_A must be a scalar or one per frame ({nframes}) unless weights give a spectrum; "
                f"got shape {wl.shape}"
            )
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != wl.shape or w.ndim not in (1, 2) or (w.ndim == 2 and w.shape[0] != nframes):
            raise ValueError(
                "weights must have the shape of wavelengths_A: (n,) for one spectrum or (frames, n) for one per frame; "
                f"got {w.shape} and {wl.shape}"
            )
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be finite and >= 0")
    if not np.all(np.isfinite(wl)) or np.any(wl <= 0):
        raise ValueError("wavelengths_A must be finite and > 0 (Angstrom)")
    ds = beam.create_dataset("incident_wavelength", data=wl)
    ds.attrs["units"] = "angstrom"
    if weights is not None:
        beam.create_dataset("incident_wavelength_weights", data=np.asarray(weights, dtype=np.float64))
    if geom.flux_photons_per_s > 0:
        ds = beam.create_dataset("total_flux", data=float(geom.flux_photons_per_s))
        ds.attrs["units"] = "Hz"
    pol = geom.polarization_vector
    psi = math.atan2(float(pol[1]), float(pol[0]))
    k = float(geom.kahn_factor)
    beam.create_dataset("incident_polarization_stokes", data=np.array([1.0, k * math.cos(2 * psi), k * math.sin(2 * psi), 0.0]))



def _write_detector(instrument, geom, dset, data_kind, sensor_material, exposure_s, saturation_value, underload_value,
                    pixel_mask, filters):
    """NXdetector: the data link, sensor, pixel sizes, beam centre, exposure, trusted range, mask."""
    det = _nxgroup(instrument, "detector", "NXdetector")
    det["data"] = dset  # hard link: the same dataset under NXdetector and NXdata
    _string(det, "description", "nanobrag simulated detector")
    _string(det, "type", "pixel")
    _string(det, "sensor_material", sensor_material)
    ds = det.create_dataset("sensor_thickness", data=float(geom.sensor_thickness_mm))
    ds.attrs["units"] = "mm"
    for axis_name in ("x_pixel_size", "y_pixel_size"):
        ds = det.create_dataset(axis_name, data=float(geom.pixel_size_mm))
        ds.attrs["units"] = "mm"
    ds = det.create_dataset("distance", data=float(geom.distance_mm))
    ds.attrs["units"] = "mm"
    ds = det.create_dataset("beam_center_x", data=float(geom.beam_center_fast_px))
    ds.attrs["units"] = "pixel"
    ds = det.create_dataset("beam_center_y", data=float(geom.beam_center_slow_px))
    ds.attrs["units"] = "pixel"
    if exposure_s is not None:
        for field_name in ("count_time", "frame_time"):
            ds = det.create_dataset(field_name, data=float(exposure_s))
            ds.attrs["units"] = "s"
    if saturation_value is not None:
        det.create_dataset("saturation_value", data=int(saturation_value) if data_kind == "int32" else float(saturation_value))
    if underload_value is not None:
        det.create_dataset("underload_value", data=int(underload_value) if data_kind == "int32" else float(underload_value))
    if data_kind == "int32":
        det.create_dataset("bit_depth_image", data=32)
    if pixel_mask is not None:
        mask = np.asarray(pixel_mask)
        if mask.shape != (geom.spixels, geom.fpixels):
            raise ValueError(f"pixel_mask must be (slow, fast) = {(geom.spixels, geom.fpixels)}, got {mask.shape}")
        # NXmx: 0 = good; bit 8 (256) = user-defined mask, which readers skip
        det.create_dataset("pixel_mask", data=(mask != 0).astype(np.uint32) * PIXEL_MASK_USER, **filters)
        det.create_dataset("pixel_mask_applied", data=False)

    return det


def _write_detector_axes(det, geom) -> None:
    """The detector's transformations: two-theta, then the module offset and pixel directions."""
    dtrans = _nxgroup(det, "transformations", "NXtransformations")
    tt_path = dtrans.name + "/two_theta"
    _axis(dtrans, "two_theta", [geom.twotheta_deg], kind="rotation", vector=geom.twotheta_axis,
          depends_on=".", units="deg")
    _string(det, "depends_on", tt_path)
    # undo two-theta so that the two_theta axis puts the module where the engine did
    tt = math.radians(geom.twotheta_deg)
    axis = _unit(geom.twotheta_axis, "twotheta_axis")
    origin = _rotate(np.asarray(geom.origin_mm, dtype=np.float64), axis, -tt)
    fast = _rotate(_unit(geom.fast_axis, "fast_axis"), axis, -tt)
    slow = _rotate(_unit(geom.slow_axis, "slow_axis"), axis, -tt)
    module = _nxgroup(det, "module", "NXdetector_module")
    module.create_dataset("data_origin", data=np.array([0, 0], dtype=np.int64))
    module.create_dataset("data_size", data=np.array([geom.spixels, geom.fpixels], dtype=np.int64))
    length = float(np.linalg.norm(origin))
    direction = origin / length if length > 0 else np.array([0.0, 0.0, 1.0])
    mo = _axis(module, "module_offset", length, kind="translation", vector=direction,
               depends_on=tt_path, units="mm", offset=[0.0, 0.0, 0.0])
    for name, vec in (("fast_pixel_direction", fast), ("slow_pixel_direction", slow)):
        _axis(module, name, float(geom.pixel_size_mm), kind="translation", vector=vec,
              depends_on=mo.name, units="mm", offset=[0.0, 0.0, 0.0])



def _write_sample(entry, geom, rotation, nframes: int, sample_name: str):
    """NXsample: the rotation axis of a series (or none for stills), cell, nanobrag's own vectors."""
    sample = _nxgroup(entry, "sample", "NXsample")
    _string(sample, "name", sample_name)
    if rotation is None:
        _string(sample, "depends_on", ".")
    else:
        if len(rotation) == 3:
            start_deg, increment_deg, axis_name = rotation
        else:
            start_deg, increment_deg = rotation
            axis_name = "omega"
        if not str(axis_name).isidentifier():
            raise ValueError(f"rotation axis name must be a plain identifier, got {axis_name!r}")
        starts = _per_frame("rotation start_deg", start_deg, nframes, "deg")
        if np.ndim(start_deg) == 0:
            starts = float(start_deg) + float(increment_deg) * np.arange(nframes)
        increments = _per_frame("rotation increment_deg", increment_deg, nframes, "deg")
        strans = _nxgroup(sample, "transformations", "NXtransformations")
        ax = _axis(strans, axis_name, starts, kind="rotation", vector=geom.spindle_axis, depends_on=".", units="deg")
        ds = strans.create_dataset(f"{axis_name}_increment_set", data=increments)
        ds.attrs["units"] = "deg"
        ds = strans.create_dataset(f"{axis_name}_end", data=starts + increments)
        ds.attrs["units"] = "deg"
        _string(sample, "depends_on", ax.name)
    if geom.cell is not None:
        sample.create_dataset("unit_cell", data=np.asarray(geom.cell, dtype=np.float64))
    nb = _nxgroup(sample, "nanobrag", "NXcollection")
    _string(nb, "convention", geom.convention)
    _string(nb, "pivot", geom.pivot)
    if geom.rotation is not None:
        nb.create_dataset("nexus_rotation", data=np.asarray(geom.rotation, dtype=np.float64))
    for name, vec in (("beam_vector", geom.beam_vector), ("spindle_axis", geom.spindle_axis),
                      ("polarization_vector", geom.polarization_vector)):
        nb.create_dataset(name, data=np.asarray(vec, dtype=np.float64))
    if geom.real_space_vectors_A is not None:
        ds = nb.create_dataset("real_space_vectors", data=np.asarray(geom.real_space_vectors_A, dtype=np.float64))
        ds.attrs["units"] = "angstrom"
    return sample


def _write_frame_metadata(sample, frame_metadata: Mapping[str, Any], nframes: int) -> None:
    """Per-frame values under sample/frame_metadata (one entry per frame along the first axis)."""
    fm = _nxgroup(sample, "frame_metadata", "NXcollection")
    for key, value in frame_metadata.items():
        if not str(key).isidentifier():
            raise ValueError(f"frame_metadata key must be a plain identifier, got {key!r}")
        value = np.asarray(value)
        if value.ndim == 0 or value.shape[0] != nframes:
            raise ValueError(
                f"frame_metadata[{key!r}] must have one entry per frame ({nframes}) along its first axis, "
                f"got shape {value.shape}"
            )
        if value.dtype.kind in "US":
            import h5py

            ds = fm.create_dataset(key, data=value.astype(object), dtype=h5py.string_dtype("utf-8"))
        else:
            ds = fm.create_dataset(key, data=value)
        unit = _units_from_name(key)
        if unit:
            ds.attrs["units"] = unit


def nxmx_bytes(frames, geometry, **kwargs) -> bytes:
    """The NXmx file :func:`write_nxmx` would write, as bytes (for :func:`~nanobrag.io.atomic.atomic_write_many`)."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        _write_file(h5, frames, geometry, **kwargs)
    return buffer.getvalue()


def write_nxmx(
    path: PathLike,
    frames,
    geometry,
    *,
    wavelengths_A=None,
    weights=None,
    rotation: Optional[Tuple] = None,
    data_kind: str = "float32",
    saturation_value=None,
    underload_value=None,
    compression: Optional[str] = "gzip",
    frame_metadata: Optional[Mapping[str, Any]] = None,
    exposure_s: Optional[float] = None,
    sensor_material: str = "Si",
    kahn_factor: Optional[float] = None,
    start_time: Optional[str] = None,
    sample_name: str = "simulated crystal",
    pixel_mask=None,
) -> str:
    """Write frames and their geometry as one NXmx (NeXus/HDF5) file at exactly ``path``.

    The file is written to a temporary name beside ``path`` and renamed onto
    it when complete (nothing is left behind on failure).

    Parameters
    ----------
    path : destination file name (``.h5`` or ``.nxs`` by custom).
    frames : array (slow, fast) or (frame, slow, fast); photons per pixel
        (floats) or counts (integers).  inf/NaN are refused.
    geometry : :class:`nanobrag.results.Geometry` of the run (or a
        :class:`NexusGeometry`).
    wavelengths_A : None (the geometry's wavelength), a scalar, one per frame
        (frames,), or with ``weights`` a spectrum (n,) or one spectrum per
        frame (frames, n).  Angstrom.
    weights : relative weights of the spectrum's wavelengths (same shape).
    rotation : None for stills (``sample/depends_on = "."``), or
        ``(start_deg, increment_deg[, axis_name])`` for a rotation series
        about the spindle: start is a scalar (frame i starts at
        ``start + i * increment``) or one start per frame; axis name
        "omega" by default.
    data_kind : "float32" (photons) or "int32" (rounded half up and clipped
        to [underload + 1 or 0, saturation]).
    saturation_value, underload_value : the detector's trusted range
        (int32 default saturation: 2**31 - 1).
    compression : "gzip" (default), "bitshuffle-lz4" (needs hdf5plugin) or None.
    frame_metadata : ``{name: array with one entry per frame}``, written to
        ``/entry/sample/frame_metadata/<name>``; a name ending in ``_A``,
        ``_deg``, ``_mm``, ``_m``, ``_s``, ``_per_m2`` gets that unit.
    exposure_s : count_time/frame_time of each frame (s).
    sensor_material : one of :data:`SENSOR_MATERIALS`.
    kahn_factor : polarization fraction for ``incident_polarization_stokes``.
    start_time : ISO 8601 UTC time; default now.
    sample_name : NXsample/name.
    pixel_mask : optional (slow, fast) array, nonzero where a pixel is not to
        be used (written as NXdetector/pixel_mask: 256, bit 8 "user-defined", for those, 0 for the others).

    Returns
    -------
    str : ``path``.
    """
    import h5py

    kwargs = dict(
        wavelengths_A=wavelengths_A, weights=weights, rotation=rotation, data_kind=data_kind,
        saturation_value=saturation_value, underload_value=underload_value, compression=compression,
        frame_metadata=frame_metadata, exposure_s=exposure_s, sensor_material=sensor_material,
        kahn_factor=kahn_factor, start_time=start_time, sample_name=sample_name, pixel_mask=pixel_mask,
    )
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
    try:
        with h5py.File(tmp, "x") as h5:
            _write_file(h5, frames, geometry, **kwargs)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
