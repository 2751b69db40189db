"""miniCBF images through fabio (what XDS, DIALS and adxv read from a Pilatus-like detector).

The file is fabio's CBF (byte-offset compression, MD5, CRLF lines) with int32
data and a generic mini-CBF header::

    _array_data.header_convention "GENERIC_MINI"
    _array_data.header_contents
    ;
    # Detector: nanobrag simulated detector
    # <ISO 8601 time>
    # Pixel_size 0.0001 m x 0.0001 m
    # Silicon sensor, thickness 0 m
    # Exposure_time 1 s
    # Exposure_period 1 s
    # Count_cutoff 2147483647 counts
    # Wavelength 1 A
    # Detector_distance 0.1 m
    # Beam_xy (512, 512) pixels
    # Start_angle 0 deg.
    # Angle_increment 0.1 deg.
    ;

The convention is GENERIC_MINI, not PILATUS: dxtbx sends a PILATUS header to
a reader that insists on Pilatus module sizes.  Numbers are written with ten
significant digits.  The header describes a flat detector normal to the beam
(that is all the mini-CBF keys can say): ``Detector_distance`` is the
distance along the beam to the direct-beam spot, ``Beam_xy`` that spot in
pixels (fast, slow) from the outer corner of pixel (0, 0); detector
rotations and two-theta are not expressed (use NXmx for those).

Floats are converted to counts by :func:`nanobrag.io.counts.photons_to_counts`
with ``Count_cutoff`` as the saturation value (fabio would otherwise truncate
floats to int64).
"""
from __future__ import annotations

import datetime
import math
import os
import tempfile
import warnings
from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

import numpy as np

from .counts import INT32_MAX, photons_to_counts

__all__ = ["MiniCBFHeader", "write_cbf", "cbf_bytes", "HEADER_CONVENTION"]

HEADER_CONVENTION = "GENERIC_MINI"
PathLike = Union[str, "os.PathLike[str]"]


def _g(value: float) -> str:
    return f"{float(value):.10g}"


@dataclass
class MiniCBFHeader:
    """The values of a generic mini-CBF header (SI units as the format writes them, angles in degrees)."""

    pixel_size_m: float
    detector_distance_m: float
    wavelength_A: float
    beam_xy_px: Tuple[float, float]
    start_angle_deg: float = 0.0
    angle_increment_deg: float = 0.0
    exposure_time_s: float = 1.0
    count_cutoff: int = INT32_MAX
    sensor_thickness_m: float = 0.0
    time: Optional[str] = None

    @classmethod
    def from_geometry(cls, geometry, *, exposure_s: float = 1.0, count_cutoff: Optional[int] = None,
                      time: Optional[str] = None) -> "MiniCBFHeader":
        """The header of an engine's :class:`nanobrag.results.Geometry` (beam centre in pixels from pixel 0's corner).

        Warns (UserWarning) when the detector is not normal to the beam: the
        mini-CBF keys cannot say so, and readers will assume it is.
        """
        px = float(geometry.pixel_size_m)
        beam = np.asarray(geometry.beam_vector, dtype=np.float64)
        normal = np.asarray(geometry.odet_vector, dtype=np.float64)
        cos_tilt = abs(float(np.dot(beam, normal))) / float(np.linalg.norm(beam) * np.linalg.norm(normal))
        if cos_tilt < 1.0 - 1e-12:
            warnings.warn(
                f"the detector is tilted {math.degrees(math.acos(min(1.0, cos_tilt))):.4g} deg from normal to the beam "
                "(rotations or two-theta); a mini-CBF header cannot express that, readers will assume a normal "
                "detector: use NXmx for this geometry",
                UserWarning,
                stacklevel=2,
            )
        return cls(
            pixel_size_m=px,
            detector_distance_m=float(geometry.distance_m),
            wavelength_A=float(geometry.wavelength_m) * 1e10,
            beam_xy_px=(float(geometry.fbeam_m) / px, float(geometry.sbeam_m) / px),
            start_angle_deg=math.degrees(float(geometry.phi0_rad)),
            angle_increment_deg=math.degrees(float(geometry.osc_rad)),
            exposure_time_s=float(exposure_s),
            count_cutoff=INT32_MAX if count_cutoff is None else int(count_cutoff),
            sensor_thickness_m=float(geometry.detector_thick_m),
            time=time,
        )

    def lines(self) -> List[str]:
        """The header lines without their leading ``# ``."""
        time = self.time or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        px = _g(self.pixel_size_m)
        return [
            "Detector: nanobrag simulated detector",
            time,
            f"Pixel_size {px} m x {px} m",
            f"Silicon sensor, thickness {_g(self.sensor_thickness_m)} m",
            f"Exposure_time {_g(self.exposure_time_s)} s",
            f"Exposure_period {_g(self.exposure_time_s)} s",
            f"Count_cutoff {int(self.count_cutoff)} counts",
            f"Wavelength {_g(self.wavelength_A)} A",
            f"Detector_distance {_g(self.detector_distance_m)} m",
            f"Beam_xy ({_g(self.beam_xy_px[0])}, {_g(self.beam_xy_px[1])}) pixels",
            f"Start_angle {_g(self.start_angle_deg)} deg.",
            f"Angle_increment {_g(self.angle_increment_deg)} deg.",
        ]


def _image(image, header: MiniCBFHeader):
    import fabio.cbfimage

    counts = photons_to_counts(image, saturation_value=header.count_cutoff)
    if counts.ndim != 2:
        raise ValueError(f"a CBF image must be 2-D (slow, fast), got shape {counts.shape}")
    return fabio.cbfimage.CbfImage(
        data=counts,
        header={
            "_array_data.header_convention": f'"{HEADER_CONVENTION}"',
            "_array_data.header_contents": "\n".join("# " + line for line in header.lines()),
        },
    )


def _written(cbf, directory: str, name: str) -> str:
    """Write in a fresh folder inside ``directory`` under ``name`` (fabio names the CIF data block after the file)."""
    scratch = tempfile.mkdtemp(prefix=".nanobrag-cbf-", dir=directory)
    return os.path.join(scratch, name)


def _cleanup(tmp: str) -> None:
    for remove, target in ((os.unlink, tmp), (os.rmdir, os.path.dirname(tmp))):
        try:
            remove(target)
        except OSError:
            pass


def write_cbf(path: PathLike, image, header: MiniCBFHeader) -> str:
    """Write a (slow, fast) image as a miniCBF at exactly ``path`` (written beside it, then renamed).

    ``image``: photons (floats, converted by the counts rule with
    ``header.count_cutoff`` as saturation) or integer counts.  Returns ``path``.
    """
    cbf = _image(image, header)
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    tmp = _written(cbf, directory, name)
    try:
        cbf.write(tmp)
        os.replace(tmp, path)
    finally:
        _cleanup(tmp)
    return path


def cbf_bytes(image, header: MiniCBFHeader, name: str = "image.cbf") -> bytes:
    """The file :func:`write_cbf` would write as ``name``, as bytes (for :func:`~nanobrag.io.atomic.atomic_write_many`)."""
    cbf = _image(image, header)
    tmp = _written(cbf, tempfile.gettempdir(), os.path.basename(name))
    try:
        cbf.write(tmp)
        with open(tmp, "rb") as handle:
            return handle.read()
    finally:
        _cleanup(tmp)
