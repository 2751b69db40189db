"""Readers and writers of every file format nanobrag uses.

Inputs: HKL text (:func:`read_hkl`), MTZ (:func:`read_mtz`, gemmi), atomic
models (:func:`read_model`, :func:`model_structure_factors`, gemmi), the legacy Fdump cache
(:func:`read_fdump`/:func:`write_fdump`), MOSFLM matrices
(:func:`read_mosflm_matrix`), source lists (:func:`read_source_file`),
amorphous F(stol) tables (:func:`read_stol_table`), SMV headers/masks
(:func:`read_smv`, :func:`smv_header_value`).  Outputs: SMV (:func:`write_smv`,
:class:`SMVHeader`), PGM (:func:`write_pgm`) and raw float32 images
(:func:`write_float_image`), with their readers; NXmx NeXus/HDF5
(:func:`write_nxmx`, h5py imported on first use).

Every writer is atomic (temporary file + rename; see :mod:`nanobrag.io.atomic`).
Every reader raises :class:`FormatError` (a ValueError) naming the file, the
line where that applies, and what was expected.
"""
from .atomic import OutputTransaction, atomic_write, atomic_write_many, check_destination
from .errors import FormatError
from .fdump import read_fdump, write_fdump
from .float_image import read_float_image, write_float_image
from .hkl import read_hkl
from .matrix import read_mosflm_matrix
from .model import read_model, model_structure_factors
from .mtz import read_mtz
from .nxmx import NexusGeometry, nexus_geometry, nxmx_bytes, write_nxmx
from .pgm import read_pgm, write_pgm
from .smv import SMVHeader, SMVImage, read_smv, smv_header_value, write_smv
from .sources import read_source_file
from .stol import read_stol_table

__all__ = [
    "FormatError",
    "atomic_write",
    "atomic_write_many",
    "OutputTransaction",
    "check_destination",
    "read_hkl",
    "read_fdump",
    "write_fdump",
    "read_mosflm_matrix",
    "read_source_file",
    "read_stol_table",
    "SMVHeader",
    "SMVImage",
    "read_smv",
    "write_smv",
    "smv_header_value",
    "read_pgm",
    "write_pgm",
    "read_float_image",
    "write_float_image",
    "NexusGeometry",
    "nexus_geometry",
    "nxmx_bytes",
    "write_nxmx",
    "read_mtz",
    "read_model",
    "model_structure_factors",
]
