"""Detector geometry derived from the Config: basis vectors, pix0, beam centres.

Follows the legacy order of operations: pixel counts, near-point and beam
defaults, the convention block (which fixes the vectors and, for named
conventions, the pivot), vector clean-up, then the pivot-dependent placement
of pix0 and the rotations (x, y, z, then two-theta).
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import List

import torch

from ..config import Config, ConfigError
from .context import RTD, Context, value_of
from .vectors import cross, dot, rotate_about_axis, rotate_xyz, unitize

__all__ = ["DetectorModel", "derive_detector"]

_DBL_MIN = sys.float_info.min

# (beam, fast, slow, normal, two-theta axis, polarization, spindle) per named convention
_CONVENTION_VECTORS = {
    "ADXV": ((0, 0, 1), (1, 0, 0), (0, -1, 0), (0, 0, 1), (-1, 0, 0), (1, 0, 0), (1, 0, 0)),
    "MOSFLM": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 0, -1), (0, 0, 1), (0, 0, 1)),
    "DENZO": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 0, -1), (0, 0, 1), (0, 0, 1)),
    "XDS": ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 0), (1, 0, 0), (1, 0, 0)),
    "DIALS": ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 1, 0), (0, 1, 0), (0, 1, 0)),
    # CUSTOM: the legacy initial values, each replaced by a user vector
    "CUSTOM": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 1)),
}


@dataclass
class DetectorModel:
    fpixels: int
    spixels: int
    pixel_size: torch.Tensor  # m
    detsize_f: float  # m
    detsize_s: float
    convention: str
    pivot: str
    fdet: torch.Tensor  # unit vectors after all rotations
    sdet: torch.Tensor
    odet: torch.Tensor
    pix0: torch.Tensor  # m
    beam: torch.Tensor  # unit, direction of propagation
    polar: torch.Tensor  # unit E-vector
    vert: torch.Tensor  # unit(beam x polar)
    spindle: torch.Tensor  # unit
    twotheta_axis: torch.Tensor  # as given (not unitized, as the legacy)
    twotheta: torch.Tensor  # rad
    distance: torch.Tensor  # m, sample to beam spot
    close_distance: torch.Tensor  # m, sample to plane
    ratio: torch.Tensor  # beam . rotated normal (before two-theta)
    xbeam: torch.Tensor  # header values
    ybeam: torch.Tensor
    fbeam: torch.Tensor
    sbeam: torch.Tensor
    fclose: torch.Tensor
    sclose: torch.Tensor
    xclose: torch.Tensor
    yclose: torch.Tensor
    orgx: torch.Tensor
    orgy: torch.Tensor
    dials_origin_mm: torch.Tensor
    curved: bool
    point_pixel: bool
    roi: tuple  # (fmin, fmax, smin, smax) inclusive


def _pixel_counts(config: Config):
    d = config.detector
    px = value_of(d.pixel_size_mm) / 1000.0
    size_f = value_of(d.detsize_mm[0]) / 1000.0
    size_s = value_of(d.detsize_mm[1]) / 1000.0
    nf = ns = 0
    if d.detpixels is not None:
        nf, ns = int(d.detpixels[0]), int(d.detpixels[1])
    if nf:
        size_f = px * nf
    if ns:
        size_s = px * ns
    fpixels = int(math.ceil(size_f / px - 0.5))
    spixels = int(math.ceil(size_s / px - 0.5))
    if fpixels <= 0 or spixels <= 0:
        raise ConfigError(
            f"detector: {fpixels} x {spixels} pixels (detsize_mm {size_f * 1000:g} x {size_s * 1000:g}, "
            f"pixel_size_mm {px * 1000:g}); both counts must be >= 1"
        )
    return fpixels, spixels, size_f, size_s


def _detector_edges(ctx: Context, d, px):
    """Detector edge lengths fast, slow (m): pixel count times pixel size, else the given size."""
    if d.detpixels is not None and int(d.detpixels[0]):
        detsize_f = px * int(d.detpixels[0])
    else:
        detsize_f = ctx.scalar(d.detsize_mm[0]) / 1000.0
    if d.detpixels is not None and int(d.detpixels[1]):
        detsize_s = px * int(d.detpixels[1])
    else:
        detsize_s = ctx.scalar(d.detsize_mm[1]) / 1000.0
    return detsize_f, detsize_s


def _convention_setup(ctx: Context, config: Config, px, detsize_f, detsize_s):
    """The convention's (or the user's) axes, pivot, beam centre and near point, before any rotation.

    Returns (vectors beam, fdet, sdet, odet, twotheta_axis, polar, spindle; pivot;
    a dict of xbeam, ybeam, fbeam, sbeam, fclose, sclose, xclose, yclose in m).
    """
    d, b, s = config.detector, config.beam, config.sampling

    def mm(x):
        return None if x is None else ctx.scalar(x) / 1000.0

    fclose = (ctx.scalar(d.orgx_px) - 0.5) * px if d.orgx_px is not None else detsize_f / 2.0
    sclose = (ctx.scalar(d.orgy_px) - 0.5) * px if d.orgy_px is not None else detsize_s / 2.0
    xclose = mm(d.xclose_mm) if d.xclose_mm is not None else fclose
    yclose = mm(d.yclose_mm) if d.yclose_mm is not None else sclose
    xbeam, ybeam = mm(d.xbeam_mm), mm(d.ybeam_mm)

    conv = d.convention
    vectors = [ctx.vector(v) for v in _CONVENTION_VECTORS[conv]]
    pivot = d.pivot
    if conv == "ADXV":
        xbeam = xbeam if xbeam is not None else (detsize_f + px) / 2.0
        ybeam = ybeam if ybeam is not None else (detsize_s - px) / 2.0
        fbeam, sbeam = xbeam, detsize_s - ybeam
        pivot = "beam"
    elif conv in ("MOSFLM", "DENZO"):
        half = 0.5 if conv == "MOSFLM" else 0.0
        xbeam = xbeam if xbeam is not None else (detsize_s + px) / 2.0
        ybeam = ybeam if ybeam is not None else (detsize_f + px) / 2.0
        fbeam, sbeam = ybeam + half * px, xbeam + half * px
        pivot = "beam"
    elif conv in ("XDS", "DIALS"):
        xbeam = xbeam if xbeam is not None else xclose
        ybeam = ybeam if ybeam is not None else yclose
        fbeam, sbeam = xbeam, ybeam
        pivot = "sample"
    else:  # CUSTOM
        user = (b.beam_vector, d.fdet_vector, d.sdet_vector, d.odet_vector, d.twotheta_axis, b.polar_vector, s.spindle_axis)
        vectors = [ctx.vector(u) if u is not None else v for u, v in zip(user, vectors)]
        xbeam = xbeam if xbeam is not None else xclose
        ybeam = ybeam if ybeam is not None else yclose
        fbeam, sbeam = xbeam, ybeam
        fclose, sclose = xbeam, ybeam
    centre = dict(xbeam=xbeam, ybeam=ybeam, fbeam=fbeam, sbeam=sbeam, fclose=fclose, sclose=sclose,
                  xclose=xclose, yclose=yclose)
    return vectors, pivot, centre


def _unit_axes(vectors, warnings: List[str]):
    """Unit beam, fdet, sdet, odet, polar, spindle and vert (odet rebuilt from fdet x sdet when not unit)."""
    beam, fdet, sdet, odet, twotheta_axis, polar, spindle = vectors
    beam = unitize(beam)[0]
    fdet = unitize(fdet)[0]
    sdet = unitize(sdet)[0]
    odet_unit, odet_len = unitize(odet)
    if value_of(odet_len) != 1.0:
        warnings.append("WARNING: auto-generating odet_vector")
        odet_unit = unitize(cross(fdet, sdet))[0]
    odet = odet_unit
    polar = unitize(polar)[0]
    spindle = unitize(spindle)[0]
    vert = unitize(cross(beam, polar))[0]
    return beam, fdet, sdet, odet, twotheta_axis, polar, spindle, vert


def derive_detector(ctx: Context, config: Config, warnings: List[str]) -> DetectorModel:
    d = config.detector
    fpixels, spixels, size_f, size_s = _pixel_counts(config)
    px = ctx.scalar(d.pixel_size_mm) / 1000.0
    detsize_f, detsize_s = _detector_edges(ctx, d, px)
    vectors, pivot, centre = _convention_setup(ctx, config, px, detsize_f, detsize_s)
    fbeam, sbeam, fclose, sclose = centre["fbeam"], centre["sbeam"], centre["fclose"], centre["sclose"]
    beam, fdet, sdet, odet, twotheta_axis, polar, spindle, vert = _unit_axes(vectors, warnings)

    rotx, roty, rotz = (ctx.scalar(r) / RTD for r in d.rot_deg)
    twotheta = ctx.scalar(d.twotheta_deg) / RTD

    ratio = dot(beam, rotate_xyz(odet, rotx, roty, rotz))
    if value_of(ratio) == 0.0:
        ratio = ratio + _DBL_MIN
    distance_in = ctx.scalar(d.distance_mm) / 1000.0
    if d.close_distance_mm is not None:
        close = ctx.scalar(d.close_distance_mm) / 1000.0
    else:
        close = torch.abs(ratio * distance_in)
    distance = close / ratio

    if pivot == "sample":
        pix0 = -fclose * fdet - sclose * sdet + close * odet
        pix0 = rotate_about_axis(rotate_xyz(pix0, rotx, roty, rotz), twotheta_axis, twotheta)
    fdet = rotate_about_axis(rotate_xyz(fdet, rotx, roty, rotz), twotheta_axis, twotheta)
    sdet = rotate_about_axis(rotate_xyz(sdet, rotx, roty, rotz), twotheta_axis, twotheta)
    odet = rotate_about_axis(rotate_xyz(odet, rotx, roty, rotz), twotheta_axis, twotheta)
    if pivot == "beam":
        pix0 = -fbeam * fdet - sbeam * sdet + distance * beam

    fclose = -dot(pix0, fdet)
    sclose = -dot(pix0, sdet)
    close = dot(pix0, odet)
    to_beam = close / ratio * beam - pix0
    fbeam = dot(fdet, to_beam)
    sbeam = dot(sdet, to_beam)
    distance = close / ratio
    orgx = fclose / px + 0.5
    orgy = sclose / px + 0.5
    dials = 1000.0 * torch.stack((pix0[2], pix0[1], -pix0[0]))

    return DetectorModel(
        fpixels=fpixels,
        spixels=spixels,
        pixel_size=px,
        detsize_f=value_of(detsize_f),
        detsize_s=value_of(detsize_s),
        convention=d.convention,
        pivot=pivot,
        fdet=fdet,
        sdet=sdet,
        odet=odet,
        pix0=pix0,
        beam=beam,
        polar=polar,
        vert=vert,
        spindle=spindle,
        twotheta_axis=twotheta_axis,
        twotheta=twotheta,
        distance=distance,
        close_distance=close,
        ratio=ratio,
        xbeam=centre["xbeam"],
        ybeam=centre["ybeam"],
        fbeam=fbeam,
        sbeam=sbeam,
        fclose=fclose,
        sclose=sclose,
        xclose=centre["xclose"],
        yclose=centre["yclose"],
        orgx=orgx,
        orgy=orgy,
        dials_origin_mm=dials,
        curved=bool(d.curved),
        point_pixel=bool(d.point_pixel),
        roi=_roi(config, fpixels, spixels),
    )


def _roi(config: Config, fpixels: int, spixels: int):
    roi = config.detector.roi
    if roi is None:
        return (0, fpixels, 0, spixels)
    fmin, fmax, smin, smax = (int(v) for v in roi)
    fmin = 0 if fmin < 0 else fmin
    fmax = fpixels if fmax < 0 else fmax
    smin = 0 if smin < 0 else smin
    smax = spixels if smax < 0 else smax
    return (fmin, fmax, smin, smax)
