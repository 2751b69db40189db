"""A nanoBragg command line -> Config: tokenize, header pass, options in order, rules, files, the input check."""
from __future__ import annotations

import os
from typing import Optional, Sequence, Tuple

from ..config import Config, ConfigError
from ..validation import missing_inputs, pixel_counts
from .conventions import settle_convention
from .files import apply_smv_header, load_files
from .state import FlagUse, ParseInfo, ParseState
from .table import TABLE

__all__ = ["config_from_args", "detector_pixels", "parse_args"]


def parse_args(argv: Sequence[str], cwd: Optional[str] = None) -> Tuple[Config, ParseInfo]:
    """Build a Config from legacy nanoBragg arguments (without the program name).

    Input files are resolved against ``cwd`` (default: the current directory)
    and read through :mod:`nanobrag.io`.  Returns the Config and a
    :class:`ParseInfo` describing the parse.  Raises :class:`ConfigError`
    naming the option and what it expects.
    """
    st = ParseState(os.path.abspath(cwd or os.getcwd()))
    entries = TABLE.tokenize(argv)
    st.info.flags = [FlagUse(typed, flag.name, values) for flag, typed, values in entries]

    if any(flag.name == "-example" for flag, _, _ in entries):
        from ..examples import example_config

        st.config = example_config()
        st.info.example = True

    # first pass, as the legacy program: the mask header, then the image header (which wins)
    last = {flag.name: (typed, values[0]) for flag, typed, values in entries if flag.name in ("-mask", "-img")}
    if "-mask" in last:
        apply_smv_header(st, *last["-mask"], is_mask=True)
    if "-img" in last:
        apply_smv_header(st, *last["-img"], is_mask=False)

    for flag, typed, values in entries:
        flag.apply(st, typed, values)

    settle_convention(st)
    load_files(st)
    _check_inputs(st)
    return st.config.validate(), st.info


def config_from_args(argv: Sequence[str], cwd: Optional[str] = None) -> Config:
    """The Config of a legacy nanoBragg argument list (see :func:`parse_args`)."""
    return parse_args(argv, cwd)[0]


def _check_inputs(st: ParseState) -> None:
    """The legacy "missing input" rule (:func:`nanobrag.validation.missing_inputs`) in command-line words."""
    missing = missing_inputs(st.config)
    problems = []
    if "structure_factors" in missing:
        problems.append(
            f"no structure factors: give -hkl FILE, a nonzero -default_F, or have the cache "
            f"{st.config.output.fdump_path} in {st.cwd}"
        )
    if "crystal" in missing:
        problems.append("no crystal: give -cell a b c alpha beta gamma (Angstrom, degrees) or -mat FILE")
    if problems:
        raise ConfigError("; ".join(problems))


def detector_pixels(cfg: Config) -> Tuple[int, int]:
    """(fast, slow) pixel counts with the legacy rule (see :func:`nanobrag.validation.pixel_counts`)."""
    return pixel_counts(cfg)
