"""Load the bundled C library with cffi in ABI mode.

The declarations come from the installed public header (the block between
the CFFI markers), so the header is the single source of truth.  The library
is looked up, in order, at ``$NANOBRAG_LIBRARY``, inside the installed package
(``nanobrag/_lib``), and in a development build tree (``build/*/csrc``).
"""
from __future__ import annotations

import glob
import os
import re
from importlib import resources
from pathlib import Path
from typing import Optional

import cffi

_LIB_NAMES = ("libnanobrag.so", "libnanobrag.dylib", "nanobrag.dll")
_REPO_ROOT = Path(__file__).resolve().parents[3]


def _candidate_dirs():
    env = os.environ.get("NANOBRAG_LIBRARY")
    if env:
        yield Path(env).parent
    try:
        yield Path(str(resources.files("nanobrag") / "_lib"))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover
        pass
    yield Path(__file__).resolve().parent.parent / "_lib"
    for build in sorted(glob.glob(str(_REPO_ROOT / "build" / "*" / "csrc"))):
        # the sanitizer build (build/asan, tests/c_engine/test_c_sanitize.py) needs its runtime preloaded:
        # it is used only when named by NANOBRAG_LIBRARY
        if Path(build).parent.name != "asan":
            yield Path(build)


def _find(names) -> Optional[Path]:
    env = os.environ.get("NANOBRAG_LIBRARY")
    if env and Path(env).is_file() and Path(env).name in names:
        return Path(env)
    for d in _candidate_dirs():
        for n in names:
            p = d / n
            if p.is_file():
                return p
    return None


def _header_text() -> str:
    src = _REPO_ROOT / "csrc" / "nanobrag.h"
    dirs = list(_candidate_dirs())
    if os.environ.get("NANOBRAG_LIBRARY"):
        # a library named explicitly (e.g. a sanitizer build) is built from this source tree
        dirs.insert(1, src.parent)
    for d in dirs:
        p = d / "nanobrag.h"
        if p.is_file():
            return p.read_text()
    if src.is_file():
        return src.read_text()
    raise ImportError("nanobrag: the C header nanobrag.h is missing from the installation")


def _cdef_block(text: str) -> str:
    m = re.search(r"/\* CFFI_BEGIN \*/(.*)/\* CFFI_END \*/", text, re.S)
    if not m:
        raise ImportError("nanobrag: nanobrag.h lacks the CFFI_BEGIN/CFFI_END block")
    block = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    return block.replace("NB_API ", "")


ffi = cffi.FFI()
ffi.cdef(_cdef_block(_header_text()))

_path = _find(_LIB_NAMES)
if _path is None:
    raise ImportError(
        "nanobrag: the compiled C library (libnanobrag) was not found; install the package with "
        "'pip install .' or set NANOBRAG_LIBRARY to its path"
    )
library_path = str(_path)
# RTLD_NODELETE: the library (and the OpenMP runtime it pulls in) stays mapped
# until the process ends.  cffi dlcloses it when the module is collected at
# interpreter exit, and unmapping the OpenMP runtime while its pool threads
# still spin after a parallel region kills the process with SIGSEGV.  The
# library is also linked with -z nodelete; this flag covers other builds.
lib = ffi.dlopen(library_path, ffi.RTLD_NOW | ffi.RTLD_NODELETE)


def version() -> str:
    """Version string of the loaded C library."""
    return ffi.string(lib.nb_version()).decode()
