"""The field's image formats a run can write besides the legacy ones: NXmx, miniCBF, PNG.

:func:`format_output_files` turns a :class:`~nanobrag.results.SimulationResult`
into ``{path: file bytes}`` for the files named in ``config.output``
(``nxmx_path``, ``cbf_path``, ``png_path``); the command line writes them
with :func:`nanobrag.io.atomic.atomic_write_many`.  Every file is computed
before any is written.

- NXmx: the float image as float32 photons, or int32 counts
  (``nxmx_data = "int32"``, :mod:`nanobrag.io.counts` with ``saturation``);
  a still when the oscillation is 0, else a one-frame rotation scan
  (start phi, oscillation) about the spindle; pixels outside the ROI or
  masked go to the pixel_mask; a run with several wavelengths
  (dispersion, a source file) writes them as a spectrum with weights.
- miniCBF: int32 counts by the same rule, ``Count_cutoff`` = ``saturation``.
- PNG: the legacy PGM grey levels (``png_scale = "legacy"``) or the log scale.
"""
from __future__ import annotations

import math
import os
from typing import Dict

import numpy as np

__all__ = ["format_output_files"]


def format_output_files(result, *, directory: str = ".") -> Dict[str, bytes]:
    """``{path: bytes}`` of the NXmx, CBF and PNG files ``result.config.output`` asks for (relative to ``directory``)."""
    out = result.config.output
    g = result.geometry
    image = np.asarray(result.float_image)
    files: Dict[str, bytes] = {}

    def target(name) -> str:
        return os.path.join(directory, os.fspath(name))

    if getattr(out, "nxmx_path", None):
        from .io.nxmx import nxmx_bytes

        osc_deg = math.degrees(float(g.osc_rad))
        rotation = None if osc_deg == 0.0 else (math.degrees(float(g.phi0_rad)), osc_deg, "phi")
        from .derived import run_spectrum_A

        beam = result.config.beam
        spectrum = run_spectrum_A(result.config)
        wavelengths, weights = spectrum if spectrum is not None else (None, None)
        # pixels the run did not render (outside the ROI, masked) are marked bad for the reader
        from .outputs import _rendered_mask

        not_rendered = ~_rendered_mask(result)
        files[target(out.nxmx_path)] = nxmx_bytes(
            image, g, rotation=rotation, wavelengths_A=wavelengths, weights=weights, data_kind=out.nxmx_data,
            saturation_value=out.saturation if out.nxmx_data == "int32" else None,
            compression=None if out.nxmx_compression == "none" else out.nxmx_compression,
            exposure_s=float(beam.exposure_s), kahn_factor=0.0 if beam.nopolar else float(beam.kahn_factor),
            pixel_mask=not_rendered if not_rendered.any() else None,
        )
    if getattr(out, "cbf_path", None):
        from .io.cbf import MiniCBFHeader, cbf_bytes

        header = MiniCBFHeader.from_geometry(g, exposure_s=float(result.config.beam.exposure_s),
                                             count_cutoff=out.saturation)
        files[target(out.cbf_path)] = cbf_bytes(image, header, name=os.path.basename(os.fspath(out.cbf_path)))
    if getattr(out, "png_path", None):
        from .io.png import log_scaled, png_bytes

        grey = log_scaled(image) if out.png_scale == "log" else result.pgm_image
        files[target(out.png_path)] = png_bytes(grey)
    return files
