"""In-process binding of the nanobrag C engine (cffi, ABI mode).

:mod:`nanobrag.c_engine.engine` runs a :class:`nanobrag.Config`;
:mod:`nanobrag.c_engine.random_streams` gives the legacy random draws;
``ffi`` and ``lib`` expose the raw library for tests and other bindings.
The engine module is not imported here, so the lower layers (outputs, the
torch engine) can use the random streams without importing the results layer.
"""
from ._ffi import ffi, lib, library_path, version
from .errors import CEngineConfigError, CEngineError

__all__ = ["ffi", "lib", "library_path", "version", "CEngineError", "CEngineConfigError"]
