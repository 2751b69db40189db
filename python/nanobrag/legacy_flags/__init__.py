"""The legacy nanoBragg command line, turned into a :class:`~nanobrag.Config`.

Every option of the legacy program is accepted with its legacy meaning, units
and default, under its documented name and under the spellings people commonly
type (an explicit alias table: the legacy substring matcher accepted them by
accident).  Unlike the legacy parser, names match exactly, and unknown options
and malformed values are errors naming the option and what it expects.

The order-dependent legacy rules are reproduced: the last convention or vector
option picks the convention, the last pivot-setting option picks the pivot,
``-nonoise``/``-noisefile``, ``-nopgm``/``-pgmfile``, ``-polar``/``-nopolar``,
``-interpolate``/``-nointerpolate``, ``-lambda``/``-energy``, ``-N``/``-Na``...
are "last one wins", and ``-detector_abs 0|inf`` resets the sensor thickness
given before it.  As in the legacy program, the SMV headers of ``-mask`` and
then ``-img`` are applied first, wherever those options appear, and every other
option overrides them.  Files are read after all options are parsed (so
``-default_F`` fills the ``-hkl`` table wherever it appears), through
:mod:`nanobrag.io`; engines never read files.

See specs/cli.md for the full description and the deliberate differences from
the legacy parser.

Modules, one job each: :mod:`.table` (the option table, rows in the
``options_*`` modules, effects in :mod:`.apply`), :mod:`.state` (the parse
record), :mod:`.parse` (the flow), :mod:`.conventions` (the convention rule),
:mod:`.files` (input files), :mod:`.usage` (``nanobrag -help``).  The grammar
(values, tokenizer, error texts, usage layout) is :mod:`nanobrag.flag_parsing`,
shared with the noisify and nonBragg parsers.
"""
from __future__ import annotations

from ..config import set_argument_parser
from ..flag_parsing import HELP_FLAGS, Flag, Value
from .apply import ENERGY_TO_WAVELENGTH_eV_A
from .parse import config_from_args, detector_pixels, parse_args
from .state import FlagUse, ParseInfo
from .table import FLAGS, lookup
from .usage import usage_text

__all__ = [
    "Flag",
    "FLAGS",
    "FlagUse",
    "ParseInfo",
    "Value",
    "config_from_args",
    "detector_pixels",
    "lookup",
    "parse_args",
    "usage_text",
    "ENERGY_TO_WAVELENGTH_eV_A",
    "HELP_FLAGS",
]

set_argument_parser(config_from_args)
