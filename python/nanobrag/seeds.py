"""The legacy seed rule, in one place: a seed not given is taken from the clock.

The legacy program seeds ``-seed`` (noise), ``-misset_seed`` (random misset)
with the start-up time when they are not given.  Every caller (both engines,
the output writers, the command line) resolves its seeds here.
"""
from __future__ import annotations

import time
from typing import List, Optional

__all__ = ["seed_or_clock", "noise_seed", "misset_seed"]


def seed_or_clock(seed: Optional[int]) -> int:
    """``seed``, or when it is None the current time in whole seconds."""
    return int(time.time()) if seed is None else int(seed)


def noise_seed(output, seed: Optional[int] = None) -> int:
    """The ``-seed`` of the noise image: ``seed``, else ``output.noise_seed``, else the clock.

    Parameters
    ----------
    output : OutputConfig
        The output settings (``config.output``).
    seed : int, optional
        An explicit seed that overrides ``output.noise_seed``.

    Returns
    -------
    int
        The user-level seed (the legacy generator is seeded with its negative).
    """
    return seed_or_clock(output.noise_seed if seed is None else seed)


def misset_seed(seed: Optional[int], notes: Optional[List[str]] = None) -> int:
    """The ``-misset_seed`` of ``-misset random``; a value taken from the clock is reported in ``notes``."""
    resolved = seed_or_clock(seed)
    if seed is None and notes is not None:
        notes.append(f"note: -misset random drew its orientation with misset seed {resolved} (the clock)")
    return resolved
