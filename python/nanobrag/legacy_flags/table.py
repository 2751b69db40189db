"""The nanoBragg option table (in usage-text order) and its grammar.

A new option is a row of one of the ``options_*`` modules (its apply function
in :mod:`.apply`) plus a Config field.
"""
from __future__ import annotations

from typing import Optional, Tuple

from ..flag_parsing import HELP_FLAGS, Flag, FlagTable
from .options_instrument import BEAM, DETECTOR, SAMPLING
from .options_run import DIAGNOSTICS, ENGINE, OUTPUTS, RESPONSE
from .options_sample import BACKGROUND, CRYSTAL, STRUCTURE_FACTORS

__all__ = ["FLAGS", "NOT_OPTIONS", "TABLE", "lookup"]

FLAGS: Tuple[Flag, ...] = (
    CRYSTAL + STRUCTURE_FACTORS + BEAM + DETECTOR + SAMPLING + BACKGROUND + OUTPUTS + RESPONSE + DIAGNOSTICS + ENGINE
)

# spellings the legacy program documents or accepts but which are not options there either
NOT_OPTIONS = {
    "-hdiv": "use -hdivrange (full range) or -hdivstep (step), both in mrad",
    "-vdiv": "use -vdivrange (full range) or -vdivstep (step), both in mrad",
    "-dispstep": "use -dispsteps (number of wavelengths)",
    "-source_distance": "the legacy program ignores it; sources sit 10 m away along the beam",
    "-source_dist": "the legacy program ignores it; sources sit 10 m away along the beam",
    "-polarization": "use -polar K (Kahn factor)",
    "-detector_twotheta": "use -twotheta",
    "-xdet_vector": "use -fdet_vector, -sdet_vector, -odet_vector",
    "-ydet_vector": "use -fdet_vector, -sdet_vector, -odet_vector",
    "-zdet_vector": "use -fdet_vector, -sdet_vector, -odet_vector",
}

TABLE = FlagTable(
    FLAGS,
    not_options=NOT_OPTIONS,
    refused={h: f"{h} is answered by the nanobrag command, not by Config.from_args" for h in HELP_FLAGS},
)


def lookup(spelling: str) -> Optional[Flag]:
    """The option a spelling names (exact match), or None."""
    return TABLE.lookup(spelling)
