"""The exception hierarchy: one class per status code of the C ABI.

Every error raised by this package is an :class:`EvidentError`. Errors that
come from the library carry its one-line message (naming the file and, where
there is one, the entry), the numeric :attr:`EvidentError.status` and its
name (``EVIDENT_STATUS_...``).
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Type

__all__ = [
    "EvidentError",
    "EvidentIOError",
    "MalformedLogError",
    "CorruptLogError",
    "RolledBackError",
    "WrongKeyError",
    "LockedError",
    "InvalidArgumentError",
    "TooLargeError",
    "PoisonedError",
    "UnsupportedError",
    "ClosedError",
    "NotFoundError",
    "LayerLockedError",
    "ForkedError",
    "DatabaseError",
    "RefusedError",
    "InternalError",
]


class EvidentError(Exception):
    """Base class of every error raised by evident.

    ``status`` is the C ABI status code (``None`` for errors detected by the
    Python wrapper before any library call) and ``status_name`` its name.
    """

    status: Optional[int] = None
    status_name: Optional[str] = None

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        status_name: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if status_name is not None:
            self.status_name = status_name

    def __str__(self) -> str:
        return self.message


class EvidentIOError(EvidentError, OSError):
    """An operating-system I/O error (missing file, permission, disk full).

    Raised as a subclass that is also the matching built-in ``OSError``
    subclass (``FileNotFoundError``, ``PermissionError``,
    ``IsADirectoryError``, ...) with ``errno``, ``strerror`` and ``filename``
    set, so ``except FileNotFoundError`` catches a missing log. ``filename``
    is the file the OS refused (it may be the lock file or a sidecar).
    """

    def __init__(
        self,
        message: str,
        *,
        errno: Optional[int] = None,
        filename: Optional[str] = None,
        **kw: Optional[object],
    ) -> None:
        EvidentError.__init__(self, message, **kw)  # type: ignore[arg-type]
        self.errno = errno or None
        self.strerror = os.strerror(errno) if errno else None
        self.filename = filename

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (
            _rebuild_io_error,
            (self.message, self.errno, self.filename, self.status, self.status_name),
        )


_IO_CLASSES: Dict[Type[OSError], Type[EvidentIOError]] = {}


def io_error_class(errno: Optional[int]) -> Type[EvidentIOError]:
    """The :class:`EvidentIOError` subclass for an OS error code: also the
    built-in ``OSError`` subclass Python uses for that code
    (``FileNotFoundError`` for ``ENOENT``, ...); ``EvidentIOError`` itself when
    there is no code or no more specific class."""
    if not errno:
        return EvidentIOError
    builtin = type(OSError(errno, ""))
    if builtin is OSError:
        return EvidentIOError
    cls = _IO_CLASSES.get(builtin)
    if cls is None:
        cls = type(
            "Evident" + builtin.__name__,
            (EvidentIOError, builtin),
            {
                "__module__": __name__,
                "__doc__": f"An evident I/O error that is also a {builtin.__name__}.",
            },
        )
        _IO_CLASSES[builtin] = cls
    return cls


def io_error(
    message: str,
    errno: Optional[int] = None,
    filename: Optional[str] = None,
    *,
    status: Optional[int] = None,
    status_name: Optional[str] = None,
) -> EvidentIOError:
    """An I/O error from the library, as the class :func:`io_error_class`
    picks."""
    return io_error_class(errno)(
        message, errno=errno, filename=filename, status=status, status_name=status_name
    )


def _rebuild_io_error(
    message: str,
    errno: Optional[int],
    filename: Optional[str],
    status: Optional[int],
    status_name: Optional[str],
) -> EvidentIOError:
    return io_error(message, errno, filename, status=status, status_name=status_name)


class MalformedLogError(EvidentError):
    """The file is not an evident log or its structure is damaged."""


class CorruptLogError(EvidentError):
    """The log's last record fails its hash check; appending is refused."""


class RolledBackError(CorruptLogError):
    """A shared-mode writer found the log cut back (or rewritten) below an
    entry it appended itself; nothing was appended. Run ``evident verify``."""


class WrongKeyError(EvidentError):
    """The key does not match the log (or a key is missing / superfluous)."""


class LockedError(EvidentError):
    """Another writer holds the log's lock; the message names the holder."""


class InvalidArgumentError(EvidentError, ValueError):
    """An argument is invalid (bad JSON details, timestamp, option, short key...)."""


class TooLargeError(EvidentError):
    """An entry is larger than the format allows."""


class PoisonedError(EvidentError):
    """An earlier write or fsync failed; close and reopen the log."""


class UnsupportedError(EvidentError):
    """The log needs a newer version of the library."""


class ClosedError(EvidentError):
    """The log (or iterator) has been closed."""


class NotFoundError(EvidentError, KeyError):
    """A named object does not exist (a session's trace or annotation layer).

    Also a :class:`KeyError`, as TraceKit raises for an unknown trace name."""

    def __str__(self) -> str:
        return self.message


class LayerLockedError(EvidentError, ValueError):
    """The annotation layer is locked: unlock it (``layer.locked = False``)
    before adding, clearing or removing annotations. Also a ``ValueError``,
    which TraceKit raises for a locked layer."""


class ForkedError(EvidentError):
    """The log was opened by another process: the handle was inherited over
    ``os.fork()``. Nothing was written; open the log again in the child
    (:class:`~evident.AuditHandler` does this by itself)."""


class DatabaseError(EvidentError):
    """A PostgreSQL error (connection, permission, schema); the message
    names the database without its password."""


class RefusedError(EvidentError):
    """Shipping refused entries that do not continue the database's chain
    for their log (a fork, a rewritten or truncated local file)."""


class InternalError(EvidentError):
    """An internal error of the library (a caught Rust panic) or of the wrapper."""


# C ABI status codes (include/evident.h, enum evident_status).
STATUS_OK = 0
STATUS_END = 200

_BY_STATUS: Dict[int, Type[EvidentError]] = {
    1: EvidentIOError,
    2: MalformedLogError,
    3: CorruptLogError,
    4: WrongKeyError,
    5: LockedError,
    6: InvalidArgumentError,
    7: TooLargeError,
    8: PoisonedError,
    9: UnsupportedError,
    10: ClosedError,
    11: NotFoundError,
    12: LayerLockedError,
    13: ForkedError,
    14: RolledBackError,
    15: DatabaseError,
    16: RefusedError,
    100: InternalError,  # NULL argument: a wrapper bug, never the caller's
    101: InvalidArgumentError,  # a string that is not UTF-8
    102: InternalError,  # a Rust panic caught at the boundary
}


def error_class(status: int) -> Type[EvidentError]:
    """The exception class raised for a C ABI status code."""
    return _BY_STATUS.get(status, InternalError)
