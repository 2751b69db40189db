"""The usage text of the ``nanobrag`` command (``nanobrag -help``)."""
from __future__ import annotations

from ..flag_parsing import render_usage
from .table import FLAGS

__all__ = ["usage_text"]

_HEAD = (
    "usage: nanobrag [options]",
    "",
    "Simulate the diffraction image of a small crystal on an absolute scale, with the options",
    "of the legacy nanoBragg program (exact names; see specs/cli.md).  A crystal (-cell or -mat)",
    "and structure factors (-hkl, the -dump cache, or -default_F) are required.  Writes",
    "floatimage.bin, intimage.img, image.pgm and noiseimage.img in the current directory unless",
    "told otherwise.  Later options win over earlier ones.",
)


def usage_text(width: int = 100) -> str:
    """The usage text of the ``nanobrag`` command: every option, its units and default."""
    return render_usage(_HEAD, FLAGS, width)
