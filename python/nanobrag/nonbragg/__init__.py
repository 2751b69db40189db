"""The legacy nonBragg program (amorphous background) as a front end to the engines.

:func:`parse_nonbragg_args` turns the legacy command line into a
background-only :class:`~nanobrag.Config`; :mod:`.outputs` writes the legacy
files; ``python -m nanobrag.nonbragg`` (the ``nanobrag-nonbragg`` command)
runs both.  See specs/amorphous.md.
"""
from .flags import NONBRAGG_FLAGS, NonBraggParse, parse_nonbragg_args
from .outputs import nonbragg_header, nonbragg_pgm_scale, nonbragg_rmsd, write_nonbragg_outputs

__all__ = [
    "NONBRAGG_FLAGS",
    "NonBraggParse",
    "parse_nonbragg_args",
    "nonbragg_header",
    "nonbragg_pgm_scale",
    "nonbragg_rmsd",
    "write_nonbragg_outputs",
]
