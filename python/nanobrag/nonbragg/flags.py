"""The legacy nonBragg command line, turned into a :class:`~nanobrag.Config`.

nonBragg renders only an amorphous sample, with a geometry that has no
conventions: beam (1,0,0), fast (0,0,1), slow (0,-1,0), E-vector (0,0,1),
two-theta axis (0,1,0), the beam centre measured along fast and slow without
the MOSFLM half pixel, the normal always fast x slow, and its own default
beam centre and pixel-count rules.  This module translates those rules into
an explicit CUSTOM-convention :class:`Config` with an
:class:`~nanobrag.config.AmorphousSample` and no crystal, so both engines
render it with their ordinary detector and source code.

Options match exactly, with an explicit alias table for the spellings the
legacy substring matcher accepted; unknown options and malformed values are
errors naming the option.  As for nanoBragg (specs/cli.md, section 7),
accidental collisions of the legacy matcher are not reproduced
(``-twotheta_axis`` does not also set ``-twotheta``), switches work at the
end of the command line (``-curved_det``), and the useful collision
``-printout_pixel`` -> ``-printout`` is kept.  See specs/amorphous.md.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence

from ..config import Config, ConfigError
from ..flag_parsing import mm_for_m
from .options import NONBRAGG_FLAGS, TABLE, NonBraggOptions, nonbragg_usage_text
from .translate import NonBraggParse, build

__all__ = ["NonBraggOptions", "NonBraggParse", "NONBRAGG_FLAGS", "parse_nonbragg_args", "nonbragg_usage_text",
           "mm_for_m"]


def parse_nonbragg_args(argv: Sequence[str], cwd: Optional[str] = None) -> NonBraggParse:
    """Parse legacy nonBragg arguments (without the program name) into a background-only Config.

    Input files are resolved against ``cwd`` and read through :mod:`nanobrag.io`.
    Raises :class:`ConfigError` naming the option and what it expects.
    """
    cwd = os.path.abspath(cwd or os.getcwd())
    o = NonBraggOptions()
    for flag, typed, values in TABLE.tokenize(argv):
        flag.apply(o, typed, values)
    if o.stol_file is None:
        raise ConfigError("no amorphous F(stol) table: give -stol FILE (or -4stol / -Q)")
    parse = NonBraggParse(options=o, config=Config(), detsize_m=(0.0, 0.0))
    build(parse, cwd)
    return parse
