"""Atomic file writes: all-or-nothing replacement of the destination.

Each destination is written to a temporary file in its own directory (so the
final ``os.replace`` is a same-filesystem rename) and renamed only when every
byte is on disk.  On any exception the temporary files are removed and the
destinations are left untouched.  :func:`atomic_write_many` stages a whole set
of files before renaming any of them, so a failure while producing the data
never leaves a partial set behind.

:class:`OutputTransaction` is the general form: any writer asks it for a
temporary path beside each final file (:meth:`OutputTransaction.path_for`),
writes there, and the transaction renames every file when all are complete
or removes them all on failure.  Errors name the user's file, never the
temporary name.
"""
from __future__ import annotations

import errno
import os
import secrets
from typing import Iterable, List, Mapping, Tuple, Union

__all__ = ["atomic_write", "atomic_write_many", "OutputTransaction", "check_destination"]

Chunk = Union[bytes, bytearray, memoryview]
Payload = Union[Chunk, Iterable[Chunk]]


def _chunks(payload: Payload) -> Iterable[Chunk]:
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return (payload,)
    return payload


def _user_error(exc: OSError, path: str, what: str = "cannot write") -> OSError:
    """The same OSError, naming the user's file instead of a temporary name."""
    reason = exc.strerror or str(exc)
    err = OSError(exc.errno, f"{what} {path}: {reason}", path)
    err.strerror = reason
    return err


def check_destination(path: Union[str, "os.PathLike[str]"]) -> None:
    """Raise an OSError naming ``path`` when it cannot become an output file.

    Checked: the name is not empty and holds no NUL byte, it is not an existing
    directory, its folder exists, is a folder and is writable.  Meant to be
    called before a long computation whose result goes there.
    """
    path = os.fspath(path)
    if not path or "\x00" in path:
        raise OSError(errno.EINVAL, f"{path!r} is not a usable file name", path)
    full = os.path.abspath(path)
    directory = os.path.dirname(full)
    if os.path.isdir(full) or path.endswith(os.sep):
        raise OSError(errno.EISDIR, "is a directory, expected a file name", path)
    if not os.path.isdir(directory):
        what = "is not a folder" if os.path.exists(directory) else "does not exist"
        raise OSError(errno.ENOENT, f"its folder {directory} {what}", path)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OSError(errno.EACCES, f"its folder {directory} is not writable", path)
    if os.path.exists(full) and not os.path.isfile(full):
        raise OSError(errno.EINVAL, "exists and is not a regular file", path)


def _new_temp(path: str) -> Tuple[int, str]:
    """An exclusive new temporary file beside ``path``: (fd, name)."""
    directory, name = os.path.split(os.path.abspath(path))
    while True:
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            # mode 0o666 lets the process umask decide, as for a plain open()
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as exc:
            check_destination(path)  # a clearer reason when there is one
            reason = exc.strerror or str(exc)
            err = OSError(exc.errno, f"cannot create a file in its folder {directory}: {reason}", path)
            raise err from None


def _write_payload(fd: int, tmp: str, final: str, payload: Payload) -> None:
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in _chunks(payload):
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        _remove_quietly(tmp)
        raise _user_error(exc, final) from None
    except BaseException:
        _remove_quietly(tmp)
        raise


def _stage(path: str, payload: Payload) -> str:
    """Write payload to a new temporary file beside path; return the temporary name."""
    fd, tmp = _new_temp(path)
    _write_payload(fd, tmp, path, payload)
    return tmp


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class OutputTransaction:
    """All-or-nothing writing of several output files, in any format.

    Use as a context manager::

        with OutputTransaction() as tx:
            tx.write("image.img", data)               # bytes or chunks
            writer(tx.path_for("image.h5"))           # a writer that wants a path

    Each file is written under a temporary name in its destination folder;
    leaving the block normally renames every one onto its final name (in the
    order staged), an exception removes them all and leaves the final names
    untouched.  :meth:`commit` and :meth:`abort` do the same explicitly.
    Errors (OSError) name the final file.
    """

    def __init__(self) -> None:
        self._staged: List[Tuple[str, str]] = []  # (temporary, final)
        self._done = False

    def path_for(self, final_path: Union[str, "os.PathLike[str]"]) -> str:
        """A new empty temporary file beside ``final_path`` for a writer to fill; returns its path."""
        final = os.fspath(final_path)
        check_destination(final)
        fd, tmp = _new_temp(final)
        os.close(fd)
        self._staged.append((tmp, final))
        return tmp

    def write(self, final_path: Union[str, "os.PathLike[str]"], payload: Payload) -> None:
        """Stage ``payload`` (bytes or an iterable of byte chunks) for ``final_path``."""
        final = os.fspath(final_path)
        check_destination(final)
        fd, tmp = _new_temp(final)
        self._staged.append((tmp, final))
        _write_payload(fd, tmp, final, payload)

    @property
    def final_paths(self) -> List[str]:
        return [final for _, final in self._staged]

    def commit(self) -> List[str]:
        """Rename every staged file onto its final name; returns the final paths."""
        done: List[str] = []
        try:
            for tmp, final in self._staged:
                try:
                    os.replace(tmp, final)
                except OSError as exc:
                    raise _user_error(exc, final) from None
                done.append(final)
        finally:
            for tmp, _ in self._staged[len(done):]:
                _remove_quietly(tmp)
            self._done = True
        return done

    def abort(self) -> None:
        """Remove every staged temporary file."""
        for tmp, _ in self._staged:
            _remove_quietly(tmp)
        self._staged = []
        self._done = True

    def __enter__(self) -> "OutputTransaction":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._done:
            return False
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False


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
    with OutputTransaction() as tx:
        for path, payload in files.items():
            tx.write(path, payload)
    return tx.final_paths


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
