"""The dataset description: a TOML file read into a validated :class:`DatasetSpec`.

Sections and keys (units in the names; every key but ``[base] args`` and
``[dataset] shots`` has a default)::

    [base]        args = "legacy nanobrag flags"   (string or list of strings)
    [dataset]     kind = "stills" | "rotation", shots, seed, shots_per_chunk,
                  phi0_deg, osc_deg (rotation only)
    [vary]        orientation = "fixed" | "random", n_cells = [min, max],
                  mosaic_spread_deg = [min, max], fluence_rel_sigma,
                  wavelength_rel_sigma, distance_sigma_mm, beam_center_sigma_mm,
                  spectrum = "none" | "sase", spectrum_spikes, spectrum_bandwidth_percent
    [output]      format = "nxmx", image = "float" | "noise", compression = "bitshuffle-lz4" | "gzip" | "none"

The *normalized* description (every default filled in, file names of the base
arguments resolved, the contents of the input files hashed) is what an output
folder is bound to: :attr:`DatasetSpec.digest` changes whenever an image could.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shlex
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from ..config import Config, ConfigError

try:  # Python >= 3.11
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as _toml

__all__ = ["DatasetSpec", "SpecError", "load_spec", "spec_from_dict", "KINDS", "IMAGES", "FORMATS"]

KINDS = ("stills", "rotation")
IMAGES = ("float", "noise")
FORMATS = ("nxmx",)
#: bitshuffle-lz4 (the Eiger convention, read through hdf5plugin) is the default: 15x faster than
#: gzip on float frames (1.3 vs 22 ms per 512^2 frame, measured), which compress little either way
COMPRESSIONS = ("bitshuffle-lz4", "gzip", "none")
ORIENTATIONS = ("fixed", "random")
SPECTRA = ("none", "sase")

# Options a shot sets itself: the base arguments must not give them when the
# matching variation is on (the shot's value would silently replace the base's).
_CONFLICTS = {
    "orientation": ("-misset", "-misset_seed"),
    "mosaic_spread_deg": ("-mosaic_seed",),
    "rotation": ("-phi", "-osc"),
}


class SpecError(ConfigError):
    """The dataset description is malformed: the message names the section and key."""


@dataclass(frozen=True)
class Vary:
    """Per-shot variation; every draw comes from (seed, shot index, quantity)."""

    orientation: str = "fixed"
    #: integer cells along a, b and c, uniform on [min, max] (inclusive); None = the base's
    n_cells: Optional[Tuple[int, int]] = None
    #: isotropic mosaic spread (degrees), uniform on [min, max]; the mosaic seed is drawn per shot
    mosaic_spread_deg: Optional[Tuple[float, float]] = None
    #: log-normal fluence: base * exp(sigma z - sigma^2 / 2) (mean kept), z standard normal
    fluence_rel_sigma: float = 0.0
    #: wavelength: base * (1 + sigma z)
    wavelength_rel_sigma: float = 0.0
    #: detector distance: base + sigma z (mm)
    distance_sigma_mm: float = 0.0
    #: direct-beam position: base + sigma z on X and on Y (mm)
    beam_center_sigma_mm: float = 0.0
    #: per-shot spectrum: "none" or "sase" (``spectrum_spikes`` equal-weight lines whose
    #: wavelengths are drawn from a Gaussian envelope of FWHM ``spectrum_bandwidth_percent``)
    spectrum: str = "none"
    spectrum_spikes: int = 8
    spectrum_bandwidth_percent: float = 0.2


@dataclass(frozen=True)
class DatasetSpec:
    """A validated dataset description (see the module docstring for the keys).

    Build one with :func:`load_spec` (a TOML file) or :func:`spec_from_dict`.
    """

    base_args: Tuple[str, ...]
    #: folder the base arguments' file names are resolved against (absolute)
    base_dir: str
    kind: str = "stills"
    shots: int = 1
    seed: int = 0
    shots_per_chunk: int = 50
    phi0_deg: float = 0.0
    osc_deg: float = 0.0
    vary: Vary = field(default_factory=Vary)
    format: str = "nxmx"
    image: str = "float"
    compression: str = "bitshuffle-lz4"
    #: sha256 of each input file the base arguments read, keyed by option
    input_digests: Tuple[Tuple[str, str], ...] = ()

    @property
    def n_chunks(self) -> int:
        return -(-self.shots // self.shots_per_chunk)

    def normalized(self) -> Dict[str, Any]:
        """The description with every default filled in (JSON-ready)."""
        v = self.vary
        return {
            "base": {"args": list(self.base_args), "inputs": dict(self.input_digests)},
            "dataset": {
                "kind": self.kind,
                "shots": self.shots,
                "seed": self.seed,
                "shots_per_chunk": self.shots_per_chunk,
                "phi0_deg": self.phi0_deg,
                "osc_deg": self.osc_deg,
            },
            "vary": {
                "orientation": v.orientation,
                "n_cells": list(v.n_cells) if v.n_cells else None,
                "mosaic_spread_deg": list(v.mosaic_spread_deg) if v.mosaic_spread_deg else None,
                "fluence_rel_sigma": v.fluence_rel_sigma,
                "wavelength_rel_sigma": v.wavelength_rel_sigma,
                "distance_sigma_mm": v.distance_sigma_mm,
                "beam_center_sigma_mm": v.beam_center_sigma_mm,
                "spectrum": v.spectrum,
                "spectrum_spikes": v.spectrum_spikes,
                "spectrum_bandwidth_percent": v.spectrum_bandwidth_percent,
            },
            "output": {"format": self.format, "image": self.image, "compression": self.compression},
        }

    @property
    def digest(self) -> str:
        """sha256 of the normalized description (hex)."""
        text = json.dumps(self.normalized(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def base_config(self) -> Config:
        """The Config of the base arguments alone."""
        return Config.from_args(list(self.base_args), cwd=self.base_dir)


def load_spec(path) -> DatasetSpec:
    """Read and validate a TOML dataset description.

    File names in ``[base] args`` are resolved against the TOML file's folder.
    Raises :class:`SpecError` (a :class:`nanobrag.ConfigError`) naming the key.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = _toml.load(f)
    except OSError as exc:
        raise SpecError(f"dataset description {path}: cannot read it ({exc.strerror or exc})") from None
    except _toml.TOMLDecodeError as exc:
        raise SpecError(f"dataset description {path}: not valid TOML ({exc})") from None
    return spec_from_dict(data, base_dir=os.path.dirname(os.path.abspath(path)), source=path)


def spec_from_dict(data: Mapping[str, Any], base_dir: Optional[str] = None, source: str = "description") -> DatasetSpec:
    """Validate a description given as nested dicts (the TOML's structure)."""
    r = _Reader(data, source)
    r.only_sections("base", "dataset", "vary", "output")
    base = r.section("base", required=True)
    dataset = r.section("dataset", required=True)
    vary = r.section("vary")
    output = r.section("output")
    r.only_keys("base", base, "args")
    r.only_keys("dataset", dataset, "kind", "shots", "seed", "shots_per_chunk", "phi0_deg", "osc_deg")
    r.only_keys("vary", vary, *Vary.__dataclass_fields__)
    r.only_keys("output", output, "format", "image", "compression")

    args = base.get("args")
    if isinstance(args, str):
        base_args = tuple(shlex.split(args))
    elif isinstance(args, list) and all(isinstance(a, str) for a in args):
        base_args = tuple(args)
    else:
        raise SpecError(f"{source}: [base] args must be a string of nanobrag options or a list of strings")
    base_dir = os.path.abspath(base_dir or os.getcwd())

    kind = r.choice("dataset", dataset, "kind", KINDS, "stills")
    shots = r.integer("dataset", dataset, "shots", None, low=1)
    seed = r.integer("dataset", dataset, "seed", 0, low=0)
    per_chunk = r.integer("dataset", dataset, "shots_per_chunk", 50, low=1)
    phi0 = r.number("dataset", dataset, "phi0_deg", 0.0)
    osc = r.number("dataset", dataset, "osc_deg", 0.0, low=0.0)
    if kind == "stills" and ("phi0_deg" in dataset or "osc_deg" in dataset):
        raise SpecError(f"{source}: [dataset] phi0_deg and osc_deg apply to kind = \"rotation\" only")
    if kind == "rotation" and not osc > 0:
        raise SpecError(f"{source}: [dataset] osc_deg must be > 0 for kind = \"rotation\" (degrees per frame)")

    v = Vary(
        orientation=r.choice("vary", vary, "orientation", ORIENTATIONS, "fixed"),
        n_cells=r.range_("vary", vary, "n_cells", integer=True, low=1),
        mosaic_spread_deg=r.range_("vary", vary, "mosaic_spread_deg", integer=False, low=0.0),
        fluence_rel_sigma=r.number("vary", vary, "fluence_rel_sigma", 0.0, low=0.0),
        wavelength_rel_sigma=r.number("vary", vary, "wavelength_rel_sigma", 0.0, low=0.0, below=0.2),
        distance_sigma_mm=r.number("vary", vary, "distance_sigma_mm", 0.0, low=0.0),
        beam_center_sigma_mm=r.number("vary", vary, "beam_center_sigma_mm", 0.0, low=0.0),
        spectrum=r.choice("vary", vary, "spectrum", SPECTRA, "none"),
        spectrum_spikes=r.integer("vary", vary, "spectrum_spikes", 8, low=1),
        spectrum_bandwidth_percent=r.number("vary", vary, "spectrum_bandwidth_percent", 0.2, low=0.0, below=20.0),
    )
    if v.spectrum == "none" and ("spectrum_spikes" in vary or "spectrum_bandwidth_percent" in vary):
        raise SpecError(f"{source}: [vary] spectrum_spikes and spectrum_bandwidth_percent apply to spectrum = \"sase\" only")
    fmt = r.choice("output", output, "format", FORMATS, "nxmx")
    image = r.choice("output", output, "image", IMAGES, "float")
    compression = r.choice("output", output, "compression", COMPRESSIONS, "bitshuffle-lz4")

    # the base arguments must describe a valid simulation on their own
    from ..legacy_flags import parse_args

    try:
        config, info = parse_args(list(base_args), cwd=base_dir)
    except ConfigError as exc:
        raise SpecError(f"{source}: [base] args: {exc}") from None
    _check_base(source, kind, v, config, set(info.names()))
    digests = tuple(sorted((opt, _file_sha256(p)) for opt, p in info.files_read.items()))
    return DatasetSpec(
        base_args=base_args,
        base_dir=base_dir,
        kind=kind,
        shots=shots,
        seed=seed,
        shots_per_chunk=per_chunk,
        phi0_deg=phi0,
        osc_deg=osc,
        vary=v,
        format=fmt,
        image=image,
        compression=compression,
        input_digests=digests,
    )


def _check_base(source: str, kind: str, v: Vary, config: Config, given: set) -> None:
    def refuse(flags: Sequence[str], why: str) -> None:
        clash = [f for f in flags if f in given]
        if clash:
            raise SpecError(f"{source}: [base] args give {', '.join(clash)} but {why}; remove {'it' if len(clash) == 1 else 'them'}")

    if v.orientation == "random":
        refuse(_CONFLICTS["orientation"], "[vary] orientation = \"random\" sets each shot's -misset")
    if v.mosaic_spread_deg is not None:
        refuse(("-mosaic",) + _CONFLICTS["mosaic_spread_deg"], "[vary] mosaic_spread_deg sets each shot's -mosaic and -mosaic_seed")
    if v.n_cells is not None:
        refuse(("-N", "-Na", "-Nb", "-Nc"), "[vary] n_cells sets each shot's -N")
        if any(s > 0 for s in config.crystal.size_mm):
            raise SpecError(f"{source}: [vary] n_cells has no effect with -xtal_size in [base] args (a size replaces N)")
    if kind == "rotation":
        refuse(_CONFLICTS["rotation"], "kind = \"rotation\" sets each frame's -phi and -osc from phi0_deg and osc_deg")
    if v.fluence_rel_sigma > 0 and config.beam.flux_photons_per_s and config.beam.exposure_s > 0:
        raise SpecError(f"{source}: [vary] fluence_rel_sigma varies -fluence, but [base] args give -flux, which replaces "
                        "the fluence; give -fluence instead")
    if v.distance_sigma_mm > 0 and config.detector.close_distance_mm is not None:
        raise SpecError(f"{source}: [vary] distance_sigma_mm varies -distance, but [base] args give -close_distance, "
                        "which wins over it; give -distance instead")
    if v.beam_center_sigma_mm > 0 and (config.detector.xbeam_mm is None or config.detector.ybeam_mm is None):
        raise SpecError(f"{source}: [vary] beam_center_sigma_mm needs -Xbeam and -Ybeam in [base] args "
                        "(the jitter is added to them)")
    if v.spectrum != "none":
        refuse(("-sourcefile", "-dispersion", "-dispsteps"), "[vary] spectrum gives each shot its own source list")
    if v.wavelength_rel_sigma > 0 and config.beam.sources is not None:
        raise SpecError(f"{source}: [vary] wavelength_rel_sigma varies -lambda, but a -sourcefile in [base] args "
                        "gives every source its own wavelength")


def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Reader:
    """Typed look-ups with errors that name the section and key."""

    def __init__(self, data: Mapping[str, Any], source: str):
        if not isinstance(data, Mapping):
            raise SpecError(f"{source}: expected a table of sections")
        self.data = data
        self.source = source

    def fail(self, section: str, key: str, expected: str, value: Any) -> SpecError:
        return SpecError(f"{self.source}: [{section}] {key} must be {expected}, got {value!r}")

    def only_sections(self, *names: str) -> None:
        extra = sorted(set(self.data) - set(names))
        if extra:
            raise SpecError(f"{self.source}: unknown section(s) {', '.join('[' + e + ']' for e in extra)}; "
                            f"expected {', '.join('[' + n + ']' for n in names)}")

    def section(self, name: str, required: bool = False) -> Mapping[str, Any]:
        if name not in self.data:
            if required:
                raise SpecError(f"{self.source}: section [{name}] is missing")
            return {}
        value = self.data[name]
        if not isinstance(value, Mapping):
            raise SpecError(f"{self.source}: [{name}] must be a table of keys")
        return value

    def only_keys(self, section: str, table: Mapping[str, Any], *names: str) -> None:
        extra = sorted(set(table) - set(names))
        if extra:
            raise SpecError(f"{self.source}: unknown key(s) {', '.join(extra)} in [{section}]; expected {', '.join(names)}")

    def choice(self, section, table, key, choices, default):
        value = table.get(key, default)
        if value not in choices:
            raise self.fail(section, key, "one of " + ", ".join(repr(c) for c in choices), value)
        return value

    def integer(self, section, table, key, default, low=None):
        if key not in table:
            if default is None:
                raise SpecError(f"{self.source}: [{section}] {key} is missing")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
            raise self.fail(section, key, f"an integer >= {low}", value)
        return value

    def number(self, section, table, key, default, low=None, below=None):
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or (low is not None and value < low) or (below is not None and value >= below):
            bounds = "" if low is None else f" >= {low}"
            bounds += "" if below is None else f" and < {below}"
            raise self.fail(section, key, "a finite number" + bounds, value)
        return float(value)

    def range_(self, section, table, key, integer, low):
        if key not in table:
            return None
        value = table[key]
        kind = "integers" if integer else "numbers"
        ok = isinstance(value, list) and len(value) == 2 and all(
            not isinstance(x, bool) and isinstance(x, int if integer else (int, float)) and math.isfinite(x) and x >= low
            for x in value) and value[0] <= value[1]
        if not ok:
            raise self.fail(section, key, f"[min, max]: two {kind} >= {low} with min <= max", value)
        return (int(value[0]), int(value[1])) if integer else (float(value[0]), float(value[1]))
