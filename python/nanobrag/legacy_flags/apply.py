"""What each nanoBragg option does to the parse state: the apply functions of the table.

Also the two value readers whose number of values varies (-cell, -misset).
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable, Optional, Sequence, Tuple

from ..config import ConfigError
from ..flag_parsing import NUMBER, Flag, fixed_values
from .state import ParseState

#: lambda (Angstrom) = this / E (eV), the legacy constant.
ENERGY_TO_WAVELENGTH_eV_A = 12398.42

_DEVICE = re.compile(r"(?:cpu|cuda(?::\d+)?)\Z")

Apply = Callable[[ParseState, str, Tuple[Any, ...]], None]


def consume_cell(flag: Flag, typed: str, argv: Sequence[str], i: int):
    """-cell a [b c alpha beta gamma]: the numbers that follow, up to six."""
    values = []
    j = i + 1
    while j < len(argv) and len(values) < 6 and NUMBER.match(argv[j]):
        values.append(float(argv[j]))
        j += 1
    if not values:
        got = f"got {argv[i + 1]!r}" if i + 1 < len(argv) else "but the command line ends there"
        raise ConfigError(f"{typed} expects {flag.expects()}, {got}")
    return tuple(values), j


def consume_misset(flag: Flag, typed: str, argv: Sequence[str], i: int):
    """-misset random | -misset rx ry rz."""
    if i + 1 < len(argv) and argv[i + 1] == "random":
        return ("random",), i + 2
    return fixed_values(flag, typed, argv, i)


def setter(path: str, *, pivot: Optional[str] = None) -> Apply:
    """An apply function storing the option's value at a dotted Config path (and choosing a pivot)."""
    group_name, attr = path.split(".") if "." in path else (None, path)

    def apply(st: ParseState, typed: str, values: Tuple[Any, ...]) -> None:
        target = getattr(st.config, group_name) if group_name else st.config
        setattr(target, attr, values[0])
        if pivot is not None:
            st.config.detector.pivot = pivot

    return apply


def several(*applies: Apply) -> Apply:
    def apply(st: ParseState, typed: str, values: Tuple[Any, ...]) -> None:
        for a in applies:
            a(st, typed, values)

    return apply


def constant(path: str, value: Any) -> Apply:
    group_name, attr = path.split(".") if "." in path else (None, path)

    def apply(st: ParseState, typed: str, values: Tuple[Any, ...]) -> None:
        setattr(getattr(st.config, group_name) if group_name else st.config, attr, value)

    return apply


def no_effect(reason: str) -> Apply:
    def apply(st: ParseState, typed: str, values: Tuple[Any, ...]) -> None:
        st.note(f"{typed} has no effect: {reason}")

    return apply


# -- handlers with more than one effect ---------------------------------------


def apply_cell(st: ParseState, typed: str, values: Tuple[float, ...]) -> None:
    a = values[0]
    b = values[1] if len(values) > 1 else a
    c = values[2] if len(values) > 2 else a
    angles = list(values[3:6]) + [90.0] * (3 - len(values[3:6]))
    for name, v in zip(("a", "b", "c"), (a, b, c)):
        if not v > 0:
            raise ConfigError(f"{typed} expects cell lengths > 0 (Angstrom), got {name} = {v:g}")
    for name, v in zip(("alpha", "beta", "gamma"), angles):
        if not 0 < v < 180:
            raise ConfigError(f"{typed} expects cell angles between 0 and 180 (degrees), got {name} = {v:g}")
    st.config.crystal.cell = (a, b, c, angles[0], angles[1], angles[2])


def apply_misset(st: ParseState, typed: str, values: Tuple[Any, ...]) -> None:
    crystal = st.config.crystal
    if values == ("random",):
        crystal.misset_random = True
        crystal.misset_deg = None
    else:
        crystal.misset_random = False
        crystal.misset_deg = tuple(values)


def components(path: str, axes: Tuple[int, ...], *, unset: Tuple = (0, 0), convert=None) -> Apply:
    """Store the option's value in the given components of a tuple-valued Config field."""
    group_name, attr = path.split(".")

    def apply(st: ParseState, typed: str, values: Tuple[Any, ...]) -> None:
        target = getattr(st.config, group_name)
        current = list(getattr(target, attr) or unset)
        for axis in axes:
            current[axis] = convert(values[0]) if convert else values[0]
        setattr(target, attr, tuple(current))

    return apply


def apply_energy(st: ParseState, typed: str, values: Tuple[float, ...]) -> None:
    st.config.beam.wavelength_A = ENERGY_TO_WAVELENGTH_eV_A / values[0]


def apply_polar(st: ParseState, typed: str, values: Tuple[float, ...]) -> None:
    st.config.beam.kahn_factor = values[0]
    st.config.beam.nopolar = False


def apply_convention(name: str, pivot: str) -> Apply:
    def apply(st: ParseState, typed: str, values: Tuple[Any, ...]) -> None:
        st.config.detector.convention = name
        st.config.detector.pivot = pivot

    return apply


def apply_vector(group: str, attr: str, scale: float = 1.0, zero_ok: bool = False) -> Apply:
    def apply(st: ParseState, typed: str, values: Tuple[float, ...]) -> None:
        if not zero_ok and all(v == 0 for v in values):
            raise ConfigError(f"{typed} expects a non-zero direction (x y z), got 0 0 0")
        vec = tuple(v / scale for v in values) if scale != 1.0 else tuple(values)
        setattr(getattr(st.config, group), attr, vec)
        st.config.detector.convention = "CUSTOM"

    return apply


def apply_detector_abs(st: ParseState, typed: str, values: Tuple[float, ...]) -> None:
    depth = values[0]
    if depth == 0 or math.isinf(depth):
        # the legacy program takes 0 or inf as "no absorption" and drops the thickness given so far
        st.config.detector.attenuation_depth_um = math.inf
        st.config.detector.thickness_um = 0.0
    else:
        st.config.detector.attenuation_depth_um = depth


def apply_roi(st: ParseState, typed: str, values: Tuple[int, ...]) -> None:
    xmin, xmax, ymin, ymax = values
    if xmin > xmax or ymin > ymax:
        raise ConfigError(
            f"{typed} expects XMIN <= XMAX and YMIN <= YMAX (inclusive pixel indices), got {xmin} {xmax} {ymin} {ymax}"
        )
    st.config.detector.roi = (xmin, xmax, ymin, ymax)


def apply_file(option: str) -> Apply:
    def apply(st: ParseState, typed: str, values: Tuple[str, ...]) -> None:
        st.inputs[option] = (typed, values[0])
        if option == "-hkl":
            st.info.hkl_given = True

    return apply


def apply_input_setting(option: str) -> Apply:
    """Remember an option that qualifies an input file (read in _load_files)."""

    def apply(st: ParseState, typed: str, values: Tuple[Any, ...]) -> None:
        st.inputs[option] = (typed, values)

    return apply


def apply_stol(option: str) -> Apply:
    def apply(st: ParseState, typed: str, values: Tuple[str, ...]) -> None:
        st.inputs[option] = (typed, values[0])
        st.stol_option = option

    return apply


def apply_amorphous(*attrs: str) -> Apply:
    """-amorphous_* options: collected, then turned into Config.amorphous after parsing (_load_files)."""

    def apply(st: ParseState, typed: str, values: Tuple[Any, ...]) -> None:
        for attr in attrs:
            st.amorphous[attr] = values[0]
        st.amorphous.setdefault("given", []).append(typed)

    return apply


def apply_amorphous_table(kind: str) -> Apply:
    def apply(st: ParseState, typed: str, values: Tuple[str, ...]) -> None:
        st.amorphous["table"] = (typed, values[0], kind)

    return apply


def apply_output_file(path_attr: str, switch_attr: Optional[str] = None) -> Apply:
    def apply(st: ParseState, typed: str, values: Tuple[str, ...]) -> None:
        setattr(st.config.output, path_attr, values[0])
        if switch_attr:
            setattr(st.config.output, switch_attr, True)

    return apply


def apply_scale(attr: str, turns_on_pgm: bool = False) -> Apply:
    def apply(st: ParseState, typed: str, values: Tuple[float, ...]) -> None:
        # the legacy program uses the automatic scale for any value <= 0
        setattr(st.config.output, attr, values[0] if values[0] > 0 else None)
        if turns_on_pgm:
            st.config.output.write_pgm = True

    return apply


def apply_printout_pixel(st: ParseState, typed: str, values: Tuple[int, ...]) -> None:
    st.config.output.printout = True
    st.config.output.printout_pixel = tuple(values)


def apply_device(st: ParseState, typed: str, values: Tuple[str, ...]) -> None:
    if not _DEVICE.match(values[0]):
        raise ConfigError(f"{typed} expects cpu, cuda or cuda:N, got {values[0]!r}")
    st.config.device = values[0]


def apply_nthreads(st: ParseState, typed: str, values: Tuple[int, ...]) -> None:
    st.info.nthreads = values[0]


def apply_none(st: ParseState, typed: str, values: Tuple[Any, ...]) -> None:
    """-img and -mask act in the first pass (their headers), not here."""
