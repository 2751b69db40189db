"""The convention rule applied after all options: a named convention given last drops the vector options."""
from __future__ import annotations

from .state import ParseState

__all__ = ["settle_convention"]

_CONVENTION_VECTORS = (
    ("beam", "beam_vector"),
    ("beam", "polar_vector"),
    ("detector", "fdet_vector"),
    ("detector", "sdet_vector"),
    ("detector", "odet_vector"),
    ("detector", "twotheta_axis"),
    ("sampling", "spindle_axis"),
)


def settle_convention(st: ParseState) -> None:
    """A named convention given after vector options replaces those vectors, as in the legacy program."""
    cfg = st.config
    if cfg.detector.pix0_vector_m is not None:
        st.note("-pix0_vector only selects the CUSTOM convention: pix0 is derived from the beam centre "
                "(as in the legacy program)")
    if cfg.detector.convention == "CUSTOM":
        return
    for group, attr in _CONVENTION_VECTORS:
        if getattr(getattr(cfg, group), attr) is not None:
            setattr(getattr(cfg, group), attr, None)
            st.note(f"-{attr} has no effect: the later -{cfg.detector.convention.lower()} "
                    f"uses the {cfg.detector.convention} convention's vectors")
