"""In-process binding of the nanobrag C engine (cffi, ABI mode).

:mod:`nanobrag.c_engine.engine` runs a :class:`nanobrag.Config`; ``ffi`` and
``lib`` expose the raw library for tests and other bindings.
"""
from ._ffi import ffi, lib, library_path, version
from .engine import CEngineConfigError, CEngineError

__all__ = ["ffi", "lib", "library_path", "version", "CEngineError", "CEngineConfigError"]
