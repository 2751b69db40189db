"""The record of a nanoBragg parse (:class:`ParseInfo`) and the state the options act on."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..config import Config

__all__ = ["FlagUse", "ParseInfo", "ParseState"]


@dataclass(frozen=True)
class FlagUse:
    """One option as it appeared on the command line."""

    typed: str  # the spelling used
    name: str  # the canonical name
    values: Tuple[Any, ...]  # converted values


@dataclass
class ParseInfo:
    """What a parse saw and did, besides the Config it built."""

    #: every option in command-line order
    flags: List[FlagUse] = field(default_factory=list)
    #: input files read, keyed by the canonical option ("-hkl", "-mat", "-sourcefile",
    #: "-stol", "-img", "-mask", "-dump"), as absolute paths
    files_read: Dict[str, str] = field(default_factory=dict)
    #: -hkl was given, so the command line writes the Fdump cache (as the legacy program)
    hkl_given: bool = False
    #: the Fdump cache read because -hkl was absent (absolute path), else None
    fdump_read: Optional[str] = None
    #: where the Fdump cache goes (absolute path of -dump, default Fdump.bin)
    fdump_path: Optional[str] = None
    #: -nthreads (None: all cores)
    nthreads: Optional[int] = None
    #: -example: the parse started from the built-in example crystal
    example: bool = False
    #: remarks about options that have no effect or were overridden
    notes: List[str] = field(default_factory=list)

    def names(self) -> List[str]:
        """Canonical names of the options, in order."""
        return [u.name for u in self.flags]


class ParseState:
    """Mutable parse state: the Config under construction and the pending file reads."""

    def __init__(self, cwd: str):
        self.cwd = cwd
        self.config = Config()
        self.info = ParseInfo()
        #: input files named by options, read after parsing: canonical option -> (typed option, file)
        self.inputs: Dict[str, Tuple[str, Any]] = {}
        #: the amorphous table's option (-stol, -4stol or -Q: the last one given wins)
        self.stol_option: Optional[str] = None
        #: -amorphous_* options: AmorphousSample field -> value, "table" -> (typed, file, column kind)
        self.amorphous: Dict[str, Any] = {}

    def note(self, text: str) -> None:
        if text not in self.info.notes:
            self.info.notes.append(text)

    def path(self, name: str) -> str:
        return os.path.normpath(os.path.join(self.cwd, name))
