"""In-process binding of the nanobrag C engine (cffi, ABI mode)."""
from ._ffi import ffi, lib, library_path, version

__all__ = ["ffi", "lib", "library_path", "version"]
