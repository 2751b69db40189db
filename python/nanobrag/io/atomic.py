"""Atomic file writes: all-or-nothing replacement of the destination.

Each destination is written to a temporary file in its own directory (so the
final ``os.replace`` is a same-filesystem rename) and renamed only when every
byte is on disk.  On any exception the temporary files are removed and the
destinations are left untouched.  :func:`atomic_write_many` stages a whole set
of files before renaming any of them, so a failure while producing the data
never leaves a partial set behind.
"""
from __future__ import annotations

import os
import secrets
from typing import Iterable, List, Mapping, Tuple, Union

__all__ = ["atomic_write", "atomic_write_many"]

Chunk = Union[bytes, bytearray, memoryview]
Payload = Union[Chunk, Iterable[Chunk]]


def _chunks(payload: Payload) -> Iterable[Chunk]:
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return (payload,)
    return payload


def _stage(path: str, payload: Payload) -> str:
    """Write payload to a new temporary file beside path; return the temporary name."""
    directory, name = os.path.split(os.path.abspath(path))
    while True:
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            # mode 0o666 lets the process umask decide, as for a plain open()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in _chunks(payload):
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        _remove_quietly(tmp)
        raise
    return tmp


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def atomic_write_many(files: Mapping[Union[str, "os.PathLike[str]"], Payload]) -> List[str]:
    """Write several files atomically.

    All temporary files are written first; only then are they renamed onto
    their destinations (in the mapping's order), so a failure leaves no
    partial file behind.

    Parameters
    ----------
    files : mapping of path to bytes or iterable of bytes
        Destination and content (one bytes object or an iterable of chunks).

    Returns
    -------
    list of str
        The paths written.
    """
    staged: List[Tuple[str, str]] = []
    try:
        for path, payload in files.items():
            staged.append((_stage(os.fspath(path), payload), os.fspath(path)))
    except BaseException:
        for tmp, _ in staged:
            _remove_quietly(tmp)
        raise
    done: List[str] = []
    try:
        for tmp, path in staged:
            os.replace(tmp, path)
            done.append(path)
    finally:
        for tmp, path in staged[len(done):]:
            _remove_quietly(tmp)
    return done


def atomic_write(path: Union[str, "os.PathLike[str]"], payload: Payload) -> str:
    """Write one file atomically (see :func:`atomic_write_many`).

    Parameters
    ----------
    path : str or os.PathLike
        Destination.
    payload : bytes or iterable of bytes
        The content.

    Returns
    -------
    str
        The path written.
    """
    return atomic_write_many({path: payload})[0]
