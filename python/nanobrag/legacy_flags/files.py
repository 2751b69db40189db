"""The input files a nanoBragg command line names, read into the Config after parsing.

SMV headers of -img/-mask (the first pass), the MOSFLM matrix, structure
factors (-hkl, the Fdump cache, -mtz, -pdb), sources, F(stol) tables; every
error names the option and the file.
"""
from __future__ import annotations

import math
import os
import warnings
from typing import Any, Callable, Optional

import numpy as np

from ..config import AmorphousSample, ConfigError
from ..derived import detector_d_min_A
from ..flag_parsing import mm_for_m
from ..io.fdump import read_fdump
from ..io.hkl import read_hkl
from ..io.matrix import read_mosflm_matrix
from ..io.model import model_structure_factors, read_model
from ..io.mtz import read_mtz
from ..io.smv import read_smv, smv_header_value
from ..io.sources import read_source_file
from ..io.stol import read_stol_table
from ..structure_factors import reciprocal_metric
from .state import ParseState

__all__ = ["apply_smv_header", "load_files", "read_input"]


def read_input(st: ParseState, typed: str, option: str, name: str, reader: Callable[..., Any], *args: Any) -> Any:
    """Read an input file through nanobrag.io; errors name the option and the file."""
    path = st.path(name)
    if not os.path.exists(path):
        raise ConfigError(f"{typed}: file not found: {path}")
    if os.path.isdir(path):
        raise ConfigError(f"{typed}: {path} is a directory, expected a file")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = reader(path, *args)
    except OSError as exc:
        raise ConfigError(f"{typed}: cannot read {name}: {exc.strerror or exc}") from None
    except ValueError as exc:  # nanobrag.io.FormatError
        raise ConfigError(f"{typed}: {exc}") from None
    for w in caught:  # a reader's remarks go to ParseInfo.notes and on to the caller's warning filters
        st.note(f"{typed}: {w.message}")
        warnings.warn(str(w.message), w.category, stacklevel=4)
    st.info.files_read[option] = path
    return result


def apply_smv_header(st: ParseState, typed: str, name: str, is_mask: bool) -> None:
    """Take detector geometry from an SMV header with the legacy key semantics."""
    image = read_input(st, typed, "-mask" if is_mask else "-img", name, read_smv)
    value_of = smv_header_value
    data = np.asarray(image.data)
    if data.ndim != 2 or data.size == 0:
        raise ConfigError(f"{typed}: {name} holds no 2-D image")
    slow, fast = (int(n) for n in data.shape)
    det = st.config.detector

    def header(key: str) -> Optional[float]:
        v = float(value_of(image.header_text, key))
        return None if math.isnan(v) else v

    det.detpixels = (fast, slow)
    pixel = header("PIXEL_SIZE")
    if pixel is not None:
        if not pixel > 0:
            raise ConfigError(f"{typed}: {name} header has PIXEL_SIZE={pixel:g}, expected a size > 0 (mm)")
        det.pixel_size_mm = pixel
    # "DISTANCE" is looked up like the legacy program: the last occurrence of the text, so a
    # header that lists CLOSE_DISTANCE after DISTANCE answers with the close distance
    for key, attr, group in (
        ("DISTANCE", "distance_mm", det),
        ("CLOSE_DISTANCE", "close_distance_mm", det),
        ("WAVELENGTH", "wavelength_A", st.config.beam),
        ("BEAM_CENTER_X", "xbeam_mm", det),
        ("ORGX", "orgx_px", det),
        ("ORGY", "orgy_px", det),
        ("PHI", "phi_start_deg", st.config.sampling),
        ("OSC_RANGE", "osc_deg", st.config.sampling),
    ):
        v = header(key)
        if v is not None:
            setattr(group, attr, v)
    y = header("BEAM_CENTER_Y")
    if y is not None:
        # a mask's Ybeam is measured from the other edge: the legacy metres pixel*slow - value/1000
        det.ybeam_mm = mm_for_m((det.pixel_size_mm / 1000.0) * slow - y / 1000.0) if is_mask else y
    if header("TWOTHETA") is not None:
        st.note(f"{typed} {name}: the header's TWOTHETA is ignored (as in the legacy program); use -twotheta")
    if is_mask:
        det.mask = np.ascontiguousarray(data, dtype=np.uint16)


def load_files(st: ParseState) -> None:
    cfg = st.config
    if "-mat" in st.inputs:
        typed, name = st.inputs["-mat"]
        matrix = np.asarray(read_input(st, typed, "-mat", name, read_mosflm_matrix), dtype=np.float64)
        if matrix.shape != (3, 3):
            raise ConfigError(f"{typed}: {name} gives a matrix of shape {matrix.shape}, expected 3x3")
        cfg.crystal.mosflm_matrix = matrix
    dump_name = cfg.output.fdump_path
    st.info.fdump_path = st.path(dump_name) if dump_name else None
    sf_inputs = [o for o in ("-hkl", "-mtz", "-pdb") if o in st.inputs]
    for qualifier, needs in (("-mtz_column", "-mtz"), ("-pdb_anomalous", "-pdb"), ("-bulk_solvent", "-pdb")):
        if qualifier in st.inputs and needs not in st.inputs:
            raise ConfigError(f"{st.inputs[qualifier][0]} qualifies {needs} FILE, which was not given")
    if len(sf_inputs) > 1:
        raise ConfigError(f"{' and '.join(sf_inputs)} both give structure factors; give only one")
    if sf_inputs and sf_inputs[0] != "-hkl":
        load_structure_factor_file(st, sf_inputs[0])
    elif "-hkl" in st.inputs:
        typed, name = st.inputs["-hkl"]
        cfg.structure_factors.table = read_input(st, typed, "-hkl", name, read_hkl, cfg.structure_factors.default_F)
    elif dump_name and not st.info.example and os.path.isfile(st.path(dump_name)):
        # as the legacy program: without -hkl an existing cache is read, even with -default_F
        cfg.structure_factors.table = read_input(st, "-dump", "-dump", dump_name, read_fdump)
        st.info.fdump_read = st.path(dump_name)
        st.note(f"structure factors read from the cache {dump_name} (no -hkl given)")
    if "-sourcefile" in st.inputs:
        typed, name = st.inputs["-sourcefile"]
        cfg.beam.sources = read_input(st, typed, "-sourcefile", name, read_source_file)
    if st.stol_option is not None:
        typed, name = st.inputs[st.stol_option]
        column_kind = {"-stol": "stol", "-4stol": "4stol", "-Q": "Q"}[st.stol_option]
        cfg.background.amorphous = read_input(st, typed, st.stol_option, name, read_stol_table, column_kind)
        st.note(f"{typed} {name} is read but, as in the legacy program, does not change the image "
                f"(-amorphous_{typed[1:]} renders it as a background)")
    load_amorphous(st)


def load_amorphous(st: ParseState) -> None:
    """Config.amorphous from the -amorphous_* options (the table option is required with any of them)."""
    options = dict(st.amorphous)
    given = options.pop("given", [])
    if "table" not in options:
        if given:
            raise ConfigError(f"{given[0]} needs the amorphous F(stol) table: give -amorphous_stol FILE "
                              "(or -amorphous_4stol / -amorphous_Q)")
        return
    typed, name, kind = options.pop("table")
    table = read_input(st, typed, typed, name, read_stol_table, kind)
    if options.get("molecules") == 0:
        options["molecules"] = None  # 0: from the density, as the legacy nonBragg
    st.config.amorphous = AmorphousSample(table=table, **options)


def load_structure_factor_file(st: ParseState, option: str) -> None:
    """-mtz or -pdb: the P1 table, and the file's cell unless -cell or -mat was given."""
    cfg = st.config
    typed, name = st.inputs[option]
    own_cell = not any(n in ("-cell", "-mat") for n in st.info.names())
    if option == "-mtz":
        column = st.inputs.get("-mtz_column", (None, None))[1]
        found = read_input(st, typed, option, name, read_mtz, column, cfg.structure_factors.default_F)
        st.note(f"{typed} {name}: column {'/'.join(found.columns)} ({found.rule}), space group {found.space_group}, "
                f"{found.reflections_read} reflections expanded to P1 with Friedel mates")
    else:
        model = read_input(st, typed, option, name, read_model)
        if own_cell:
            cfg.crystal.cell, cfg.crystal.mosflm_matrix = model.cell, None
        d_min = detector_d_min_A(cfg)
        if cfg.sampling.dmin_A:
            d_min = max(d_min, float(cfg.sampling.dmin_A))
        # one reciprocal-lattice step beyond d_min: edge pixels round to the next reflection out
        pad = float(np.sqrt(np.max(np.diag(reciprocal_metric(model.cell)))))
        d_grid = 1.0 / (1.0 / d_min + pad)
        anomalous = "-pdb_anomalous" in st.inputs
        solvent = st.inputs["-bulk_solvent"][1] if "-bulk_solvent" in st.inputs else None
        try:
            found = model_structure_factors(model, d_grid, wavelength_A=cfg.beam.wavelength_A, anomalous=anomalous,
                                            bulk_solvent=solvent, default_F=cfg.structure_factors.default_F)
        except ValueError as exc:
            raise ConfigError(f"{typed}: {name}: {exc}") from None
        extras = (", with f' and f''" if anomalous else "") + (", flat bulk solvent" if solvent else "")
        st.note(f"{typed} {name}: F of {found.atoms} atoms ({found.space_group}) to {d_grid:.3g} A "
                f"(detector edge {d_min:.3g} A){extras}")
    cfg.structure_factors.table = found.table
    if own_cell:
        cfg.crystal.cell, cfg.crystal.mosflm_matrix = found.cell, None
