"""A :class:`logging.Handler` that writes log records into an audit log."""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, Optional, Union

from .errors import InvalidArgumentError
from . import log as _log_mod
from .log import AuditLog, PathLike

__all__ = ["AuditHandler"]

# Attributes every LogRecord has; anything else came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# `extra=` keys that set entry fields instead of going into details.
_FIELDS = frozenset(
    ("event_type", "action", "session_id", "actor", "source", "success", "duration_ms")
)


class AuditHandler(logging.Handler):
    """Writes each log record as one audit entry.

    ``target`` is an open :class:`AuditLog` (left open by :meth:`close`) or a
    path, opened with ``open_options`` (e.g. ``key=``, ``durability=``) and
    closed by :meth:`close`.

    Each record becomes an entry with ``event_type`` = the level name,
    ``action`` = the formatted message, ``source`` = the logger name,
    ``error`` = the formatted exception (if any), and ``details`` = the
    record's location (``logger``, ``level``, ``module``, ``function``,
    ``line``, ``thread``, ``process``) plus every ``extra=`` key. The ``extra``
    keys ``event_type``, ``action``, ``session_id``, ``actor``, ``source``,
    ``success`` and ``duration_ms`` set those entry fields instead.

    A record the log refuses as it is (an ``extra`` value JSON cannot hold,
    nested too deep, or text with a lone surrogate, as ``os.listdir`` gives
    for a name that is not UTF-8) is written once more with those values as
    text (``repr()``; a surrogate as ``\\udcXX``) rather than lost. A failed
    append goes to :meth:`logging.Handler.handleError`, like any
    handler, unless ``raise_errors=True``, which lets the
    :class:`~evident.errors.EvidentError` reach the caller of the logging call.

    Pre-forking servers (gunicorn, uwsgi, ``multiprocessing`` with fork): a
    log handle must not be used from a forked child, so the first record a
    child emits makes the handler open the log again in that child, with the
    options of the original (the inherited handle is freed without touching
    the parent's lock). For parent and children to write to one log at the
    same time, open it with ``lock="shared"``; with the default exclusive
    lock the parent holds the log and a child's reopen fails with
    :class:`~evident.errors.LockedError`.
    """

    def __init__(
        self,
        target: Union[AuditLog, PathLike],
        level: int = logging.NOTSET,
        *,
        raise_errors: bool = False,
        **open_options: Any,
    ) -> None:
        super().__init__(level)
        if isinstance(target, AuditLog):
            if open_options:
                raise TypeError("open options are only accepted with a path")
            self.audit_log = target
            self._owns_log = False
        else:
            self.audit_log = AuditLog(target, **open_options)
            self._owns_log = True
        # The log knows its handlers: at interpreter exit it is closed after
        # the last of them (see evident.log._close_at_exit).
        self.audit_log._handlers.add(self)
        self.raise_errors = raise_errors
        self._pid = os.getpid()

    def _after_fork(self) -> None:
        """In a forked child: opens the log again for this process.

        Runs under the handler's lock (``emit``, ``flush`` and ``close`` are
        called with it held or from one thread)."""
        old = self.audit_log
        if self._owns_log:
            # Free the inherited handle without closing it: closing is the
            # parent's business (the library refuses it here anyway).
            old._detach()
            old._free_handle()
        path, options = old._open_args
        self._pid = os.getpid()
        self.audit_log = AuditLog(path, **options)
        self._owns_log = True
        self.audit_log._handlers.add(self)

    def handle(self, record: logging.LogRecord) -> Any:
        """Like :meth:`logging.Handler.handle`, without the handler lock
        around :meth:`emit`: building the entry and appending it need no
        lock (the log is thread-safe), so appends from several threads run
        at the same time and share fsyncs in ``durability="group"``."""
        rv = self.filter(record)
        if isinstance(rv, logging.LogRecord):  # Python 3.12+: a replacement
            record = rv
        if rv:
            self.emit(record)
        return rv

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if os.getpid() != self._pid:
                with self.lock:  # type: ignore[union-attr]
                    if os.getpid() != self._pid:
                        self._after_fork()
            message = self.format(record) if self.formatter else record.getMessage()
            details: Dict[str, Any] = {
                "logger": record.name,
                "level": record.levelname,
                "module": record.module,
                "function": record.funcName,
                "line": record.lineno,
                "thread": record.threadName,
                "process": record.process,
            }
            fields: Dict[str, Any] = {}
            attrs = record.__dict__
            # The `extra=` keys: one set difference in C instead of a test
            # per attribute (a record has about 20). Their order does not
            # matter: details are written with sorted keys.
            for k in attrs.keys() - _STANDARD:
                if k in _FIELDS:
                    fields[k] = attrs[k]
                else:
                    details[k] = attrs[k]
            error: Optional[str] = None
            if record.exc_info:
                error = logging.Formatter().formatException(record.exc_info)
            event_type, action, source = record.levelname, message, record.name
            if fields:
                event_type = fields.pop("event_type", event_type)
                action = fields.pop("action", action)
                source = fields.pop("source", source)
            try:
                # Details are serialised once, by the log call.
                self.audit_log.log(
                    event_type, action, source=source, details=details, error=error, **fields
                )
            except InvalidArgumentError:
                # Refused (a value JSON cannot hold, nesting too deep, a
                # lone surrogate from a file name): written once more with
                # such values as text rather than losing the record.
                self.audit_log.log(
                    _text(event_type),
                    _text(action),
                    source=_text(source),
                    details=_jsonable(details),
                    error=None if error is None else _text(error),
                    **{k: _text(v) for k, v in fields.items()},
                )
        except Exception:
            if self.raise_errors:
                raise
            self.handleError(record)

    def flush(self) -> None:
        # A child that never emitted has nothing of its own to flush.
        if os.getpid() == self._pid and not self.audit_log.closed:
            self.audit_log.sync()

    def close(self) -> None:
        """Closes the log when the handler opened it (from a path). A log
        given as an object stays open, except at interpreter exit: the log
        left open is closed after the last handler writing into it
        (``logging.shutdown`` closes the handlers at exit)."""
        log = self.audit_log
        log._handlers.discard(self)
        try:
            if not self._owns_log:
                if _log_mod._exiting and not len(log._handlers) and not log.closed:
                    _log_mod._exit_close(log)
            else:
                if os.getpid() != self._pid:
                    # The inherited handle: free it, leave the parent's log be.
                    self.audit_log._detach()
                    self.audit_log._free_handle()
                else:
                    self.audit_log.close()
        finally:
            super().close()


def _jsonable(details: Dict[str, Any]) -> Dict[str, Any]:
    # Log records carry arbitrary objects in `extra`; write what a record
    # cannot hold (not JSON, a lone surrogate, nested too deep) as its
    # repr() rather than dropping the record.
    out = {}
    for k, v in details.items():
        try:
            json.dumps(v, allow_nan=False, ensure_ascii=False).encode("utf-8")
            out[_text(str(k))] = v if _shallow(v) else _text(repr(v))
        except (TypeError, ValueError):  # UnicodeEncodeError too
            out[_text(str(k))] = _text(v if isinstance(v, str) else repr(v))
    return out


def _text(s: Any) -> Any:
    """``s`` with lone surrogates (``os.listdir`` of a non-UTF-8 name)
    written as ``\\udcXX`` text, as the standard streams write them (a
    value that is not a str as it is: the log says what is wrong with it)."""
    if not isinstance(s, str):
        return s
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


def _shallow(v: Any, depth: int = 0) -> bool:
    """``v`` nests few enough levels for a record's details (spec § 5.5)."""
    if depth > 100:
        return False
    if isinstance(v, dict):
        return all(_shallow(x, depth + 1) for x in v.values())
    if isinstance(v, (list, tuple)):
        return all(_shallow(x, depth + 1) for x in v)
    return True
