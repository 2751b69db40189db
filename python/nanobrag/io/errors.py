"""The one exception every reader in :mod:`nanobrag.io` raises for a malformed file."""
from __future__ import annotations

import os
from typing import Optional, Union

__all__ = ["FormatError"]

PathLike = Union[str, "os.PathLike[str]"]


class FormatError(ValueError):
    """A file does not hold what its format requires.

    The message names the file (and the 1-based line where that applies) and
    says what was expected.  ``path`` and ``line`` are also kept as attributes.
    """

    def __init__(self, path: PathLike, message: str, line: Optional[int] = None) -> None:
        self.path = os.fspath(path)
        self.line = line
        where = self.path if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {message}")
