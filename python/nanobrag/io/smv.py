"""SMV (ADSC-style) images: the legacy ``-intfile``/``-noisefile`` output and the ``-img``/``-mask`` input.

A file is an ASCII header ``{\\nHEADER_BYTES=512;\\nDIM=2;\\nBYTE_ORDER=...;
\\nTYPE=unsigned_short;\\nSIZE1=<fast>;\\nSIZE2=<slow>;\\n KEY=value;\\n ... }\\f``
padded with spaces to HEADER_BYTES, then SIZE1*SIZE2 uint16 in BYTE_ORDER,
row-major (slow, fast).  The legacy writer prints every number with C ``%g``
and writes ``DIALS_ORIGIN=x,y,z`` without its semicolon; :func:`write_smv`
does the same, so its headers are byte-identical to the legacy program's.

Reading keeps each numeric value's original text, so a header read and
written back is unchanged even where a value is not in ``%g`` form
(``WAVELENGTH=1.0``) or carries more than six significant digits.
Difference from the legacy writer: a header that does not fit in
HEADER_BYTES grows to the next multiple of 512 bytes (the legacy program
would write a file whose data does not start where its header says).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np

from .atomic import atomic_write
from ._numbers import c_atof
from .errors import FormatError

__all__ = ["SMVImage", "SMVHeader", "read_smv", "write_smv", "smv_bytes", "smv_header_value", "RTD"]

#: degrees per radian exactly as the legacy program computes it (180 * M_1_PI)
RTD = 180.0 * 0.318309886183790671538

_BYTE_ORDERS = {"little_endian": "<", "big_endian": ">"}
_FIELD = re.compile(r"(\w+)=([^;\n]*)")
#: the keys describing the layout; every other key is a header value
_LAYOUT_KEYS = ("HEADER_BYTES", "DIM", "BYTE_ORDER", "TYPE", "SIZE1", "SIZE2")

# (attribute, header key) of the numbers, in the order the legacy program prints them
_NUMBER_KEYS = (
    ("pixel_size_mm", "PIXEL_SIZE"),
    ("distance_mm", "DISTANCE"),
    ("wavelength_A", "WAVELENGTH"),
    ("beam_center_x_mm", "BEAM_CENTER_X"),
    ("beam_center_y_mm", "BEAM_CENTER_Y"),
    ("adxv_center_x_mm", "ADXV_CENTER_X"),
    ("adxv_center_y_mm", "ADXV_CENTER_Y"),
    ("mosflm_center_x_mm", "MOSFLM_CENTER_X"),
    ("mosflm_center_y_mm", "MOSFLM_CENTER_Y"),
    ("denzo_x_beam_mm", "DENZO_X_BEAM"),
    ("denzo_y_beam_mm", "DENZO_Y_BEAM"),
    ("dials_origin_mm", "DIALS_ORIGIN"),
    ("xds_orgx_px", "XDS_ORGX"),
    ("xds_orgy_px", "XDS_ORGY"),
    ("close_distance_mm", "CLOSE_DISTANCE"),
    ("phi_deg", "PHI"),
    ("osc_start_deg", "OSC_START"),
    ("osc_range_deg", "OSC_RANGE"),
    ("twotheta_deg", "TWOTHETA"),
)
_TEXT_KEYS = (("detector_sn", "DETECTOR_SN"), ("beamline", "BEAMLINE"))

def _format_g(value: float) -> str:
    return "%g" % value


@dataclass
class SMVHeader:
    """The values an SMV header carries, as the legacy program prints them (mm, Angstrom, degrees, pixels).

    ``None`` leaves a key out.  SIZE1/SIZE2 come from the image written with it.
    Build the legacy header of a simulation with :meth:`from_geometry`, or the
    header of a file with :meth:`from_fields` (``read_smv(path).header``).
    """

    pixel_size_mm: Optional[float] = None
    distance_mm: Optional[float] = None
    wavelength_A: Optional[float] = None
    beam_center_x_mm: Optional[float] = None
    beam_center_y_mm: Optional[float] = None
    adxv_center_x_mm: Optional[float] = None
    adxv_center_y_mm: Optional[float] = None
    mosflm_center_x_mm: Optional[float] = None
    mosflm_center_y_mm: Optional[float] = None
    denzo_x_beam_mm: Optional[float] = None
    denzo_y_beam_mm: Optional[float] = None
    dials_origin_mm: Optional[Tuple[float, float, float]] = None
    xds_orgx_px: Optional[float] = None
    xds_orgy_px: Optional[float] = None
    close_distance_mm: Optional[float] = None
    phi_deg: Optional[float] = None
    osc_start_deg: Optional[float] = None
    osc_range_deg: Optional[float] = None
    twotheta_deg: Optional[float] = None
    detector_sn: Optional[str] = None
    beamline: Optional[str] = None
    #: further keys (text values), written after the known ones in this order
    extra: Dict[str, str] = field(default_factory=dict)
    byte_order: str = "little_endian"
    header_bytes: int = 512
    #: original text of values read from a file; reused while the value is unchanged
    source_text: Dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_geometry(cls, geometry) -> "SMVHeader":
        """The header the legacy program writes for a simulation, with its exact double arithmetic."""
        px = float(geometry.pixel_size_m)
        fbeam, sbeam = float(geometry.fbeam_m), float(geometry.sbeam_m)
        phi_deg = float(geometry.phi0_rad) * RTD
        return cls(
            pixel_size_mm=px * 1000.0,
            distance_mm=float(geometry.distance_m) * 1000.0,
            wavelength_A=float(geometry.wavelength_m) * 1e10,
            beam_center_x_mm=float(geometry.xbeam_m) * 1000.0,
            beam_center_y_mm=float(geometry.ybeam_m) * 1000,
            adxv_center_x_mm=fbeam * 1000.0,
            adxv_center_y_mm=(float(geometry.detsize_s_m) - sbeam) * 1000,
            mosflm_center_x_mm=(sbeam - 0.5 * px) * 1000.0,
            mosflm_center_y_mm=(fbeam - 0.5 * px) * 1000,
            # the legacy noise-file header adds 0.0*pixel here; that differs only for a centre of -0.0
            denzo_x_beam_mm=(sbeam - 0.0 * px) * 1000.0,
            denzo_y_beam_mm=(fbeam - 0.0 * px) * 1000,
            dials_origin_mm=tuple(float(v) for v in geometry.dials_origin_mm),
            xds_orgx_px=float(geometry.orgx_px),
            xds_orgy_px=float(geometry.orgy_px),
            close_distance_mm=float(geometry.close_distance_m) * 1000.0,
            phi_deg=phi_deg,
            osc_start_deg=phi_deg,
            osc_range_deg=float(geometry.osc_rad) * RTD,
            twotheta_deg=float(geometry.twotheta_rad) * RTD,
            detector_sn="000",
            beamline="fake",
        )

    @classmethod
    def from_fields(cls, fields: Mapping[str, str], byte_order: str = "little_endian", header_bytes: int = 512) -> "SMVHeader":
        """A header from ``KEY -> value text`` pairs (layout keys are skipped; unknown keys go to ``extra``).

        Values are read with C ``atof`` (the legacy ``ValueOf``); the original
        text is remembered so that writing the header back reproduces it.
        """
        by_key = {key: attr for attr, key in _NUMBER_KEYS}
        text_by_key = {key: attr for attr, key in _TEXT_KEYS}
        values: Dict[str, object] = {}
        extra: Dict[str, str] = {}
        source_text: Dict[str, str] = {}
        for key, text in fields.items():
            if key in _LAYOUT_KEYS:
                continue
            if key == "DIALS_ORIGIN":
                parts = text.split(",")
                values["dials_origin_mm"] = tuple(c_atof(p) for p in (parts + ["", "", ""])[:3])
                source_text[key] = text
            elif key in by_key:
                values[by_key[key]] = c_atof(text)
                source_text[key] = text
            elif key in text_by_key:
                values[text_by_key[key]] = text
            else:
                extra[key] = text
        return cls(**values, extra=extra, byte_order=byte_order, header_bytes=header_bytes, source_text=source_text)

    def _value_text(self, key: str, value) -> str:
        if key == "DIALS_ORIGIN":
            rendered = ",".join(_format_g(float(v)) for v in value)
            original = self.source_text.get(key)
            if original is not None and tuple(c_atof(p) for p in original.split(",")) == tuple(float(v) for v in value):
                return original
            return rendered
        original = self.source_text.get(key)
        if original is not None and _same_number(c_atof(original), float(value)):
            return original
        return _format_g(float(value))

    def to_bytes(self, fast_pixels: int, slow_pixels: int) -> bytes:
        """The complete header block (padded with spaces to ``header_bytes``, grown if it does not fit)."""
        if self.byte_order not in _BYTE_ORDERS:
            raise ValueError(f"SMVHeader.byte_order must be one of {', '.join(_BYTE_ORDERS)}; got {self.byte_order!r}")
        body = [f"DIM=2;\nBYTE_ORDER={self.byte_order};\nTYPE=unsigned_short;\n"]
        body.append(f"SIZE1={int(fast_pixels)};\nSIZE2={int(slow_pixels)};\n")
        for attr, key in _NUMBER_KEYS:
            value = getattr(self, attr)
            if value is None:
                continue
            # the legacy writer leaves the semicolon off DIALS_ORIGIN
            terminator = "\n" if key == "DIALS_ORIGIN" else ";\n"
            body.append(f"{key}={self._value_text(key, value)}{terminator}")
        for attr, key in _TEXT_KEYS:
            value = getattr(self, attr)
            if value is not None:
                body.append(f"{key}={value};\n")
        for key, value in self.extra.items():
            body.append(f"{key}={value};\n")
        body.append("}\f")
        text = "".join(body)
        size = int(self.header_bytes)
        while True:
            header = f"{{\nHEADER_BYTES={size};\n{text}"
            if len(header) <= size:
                return header.ljust(size, " ").encode("latin-1")
            size = (len(header) // 512 + 1) * 512


def _same_number(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@dataclass
class SMVImage:
    """An SMV file as read: the raw header text (all HEADER_BYTES of it), its fields and the pixels."""

    header_text: str
    header_bytes: int
    fields: Dict[str, str]
    data: np.ndarray  # uint16, (slow, fast)

    @property
    def byte_order(self) -> str:
        return self.fields.get("BYTE_ORDER", "little_endian").strip()

    @property
    def header(self) -> SMVHeader:
        """The header values as an :class:`SMVHeader` (writes back unchanged with :func:`write_smv`)."""
        return SMVHeader.from_fields(self.fields, byte_order=self.byte_order, header_bytes=self.header_bytes)

    def value(self, key: str) -> float:
        """The legacy ``ValueOf`` of ``key`` in this header (see :func:`smv_header_value`)."""
        return smv_header_value(self.header_text, key)


def smv_header_value(header_text: str, key: str) -> float:
    """The number after the '=' that follows the LAST occurrence of ``key`` in the header (legacy ``ValueOf``).

    ``key`` matches as a substring, so in a nanoBragg header "DISTANCE" finds
    CLOSE_DISTANCE and "ORGX" finds XDS_ORGX.  NaN when ``key`` is absent;
    0.0 when no '=' follows it; C ``atof`` of the text after the '='.
    """
    text = header_text.split("\0", 1)[0]  # the legacy header is a C string
    position, found = 0, False
    while True:
        hit = text.find(key, position)
        if hit < 0:
            break
        position, found = hit + len(key), True
    if not found:
        return math.nan
    equals = text.find("=", position)
    if equals < 0:
        return 0.0
    return c_atof(text[equals + 1 :])


def _parse_layout_int(path, fields: Mapping[str, str], key: str) -> int:
    text = fields.get(key)
    if text is None:
        raise FormatError(path, f"SMV header has no {key} (expected {key}=<integer>;)")
    try:
        value = int(text.strip())
    except ValueError:
        raise FormatError(path, f"SMV header {key} must be an integer, got {text!r}") from None
    return value


def read_smv(path) -> SMVImage:
    """Read an SMV file, honouring HEADER_BYTES and BYTE_ORDER.

    Parameters
    ----------
    path : str or os.PathLike
        The image file.

    Returns
    -------
    SMVImage
        The raw header text, its fields and the uint16 (slow, fast) pixels.

    Raises
    ------
    FormatError
        Not an SMV header, a required key (HEADER_BYTES, SIZE1, SIZE2) missing
        or malformed, an unsupported BYTE_ORDER or TYPE, or a truncated file.
    """
    with open(path, "rb") as handle:
        raw = handle.read()
    if not raw.startswith(b"{"):
        raise FormatError(path, "not an SMV file: expected the header to start with '{' and HEADER_BYTES=")
    first_block = raw[:512].decode("latin-1")
    fields0 = dict(_FIELD.findall(first_block.split("}", 1)[0]))
    header_bytes = _parse_layout_int(path, fields0, "HEADER_BYTES")
    if header_bytes <= 0:
        raise FormatError(path, f"SMV header HEADER_BYTES must be positive, got {header_bytes}")
    if len(raw) < header_bytes:
        raise FormatError(path, f"truncated SMV file: HEADER_BYTES={header_bytes} but the file holds {len(raw)} bytes")
    header_text = raw[:header_bytes].decode("latin-1")
    fields = dict(_FIELD.findall(header_text.split("}", 1)[0]))
    fast = _parse_layout_int(path, fields, "SIZE1")
    slow = _parse_layout_int(path, fields, "SIZE2")
    if fast <= 0 or slow <= 0:
        raise FormatError(path, f"SMV header SIZE1/SIZE2 must be positive, got {fast} x {slow}")
    byte_order = fields.get("BYTE_ORDER", "little_endian").strip()
    if byte_order not in _BYTE_ORDERS:
        raise FormatError(path, f"SMV header BYTE_ORDER must be little_endian or big_endian, got {byte_order!r}")
    data_type = fields.get("TYPE", "unsigned_short").strip()
    if data_type != "unsigned_short":
        raise FormatError(path, f"SMV header TYPE must be unsigned_short, got {data_type!r}")
    needed = 2 * fast * slow
    payload = raw[header_bytes : header_bytes + needed]
    if len(payload) < needed:
        raise FormatError(
            path,
            f"truncated SMV file: SIZE1={fast} x SIZE2={slow} needs {needed} bytes of uint16 data "
            f"after the {header_bytes}-byte header, found {len(payload)}",
        )
    data = np.frombuffer(payload, dtype=_BYTE_ORDERS[byte_order] + "u2").astype(np.uint16).reshape(slow, fast)
    return SMVImage(header_text=header_text, header_bytes=header_bytes, fields=fields, data=data)


def smv_bytes(data_uint16: np.ndarray, header: SMVHeader) -> List[bytes]:
    """The bytes of an SMV file (header block, pixel data) for a uint16 (slow, fast) image."""
    data = np.asarray(data_uint16)
    if data.dtype != np.uint16 or data.ndim != 2:
        raise ValueError(f"an SMV image must be a 2-D uint16 (slow, fast) array, got {data.dtype} with shape {data.shape}")
    block = header.to_bytes(fast_pixels=data.shape[1], slow_pixels=data.shape[0])
    pixels = data.astype(_BYTE_ORDERS[header.byte_order] + "u2", copy=False)
    return [block, np.ascontiguousarray(pixels).tobytes()]


def write_smv(path, data_uint16: np.ndarray, header: SMVHeader) -> str:
    """Write a uint16 (slow, fast) image with an SMV header (atomically).

    Parameters
    ----------
    path : str or os.PathLike
        Destination.
    data_uint16 : numpy.ndarray of uint16, shape (slow, fast)
        The pixels.
    header : SMVHeader
        The header values (see :meth:`SMVHeader.from_geometry`).

    Returns
    -------
    str
        The path written.
    """
    return atomic_write(path, smv_bytes(data_uint16, header))
