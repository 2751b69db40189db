"""Errors of the C engine binding."""
from __future__ import annotations

from ..config import ConfigError
from ._ffi import lib

__all__ = ["CEngineError", "CEngineConfigError", "error_for"]

_INVALID_ARGUMENT = lib.NB_ERR_INVALID_ARGUMENT


class CEngineError(RuntimeError):
    """The C library failed; the message is the library's."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


class CEngineConfigError(CEngineError, ConfigError):
    """The C library refused a configuration (NB_ERR_INVALID_ARGUMENT): also a ConfigError."""

    def __init__(self, message: str, status: int = _INVALID_ARGUMENT):
        super().__init__(message, status)


def error_for(text: str, status: int) -> CEngineError:
    """The exception for a failed call: a :class:`CEngineConfigError` for an invalid argument."""
    cls = CEngineConfigError if status == _INVALID_ARGUMENT else CEngineError
    return cls(text, status)
