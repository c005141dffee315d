"""A :class:`logging.Handler` that writes log records into an audit log."""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, Optional, Union

from .log import AuditLog, PathLike

__all__ = ["AuditHandler"]

# Attributes every LogRecord has; anything else came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# `extra=` keys that set entry fields instead of going into details.
_FIELDS = ("event_type", "action", "session_id", "actor", "source", "success", "duration_ms")


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

    A failed append goes to :meth:`logging.Handler.handleError`, like any
    handler, unless ``raise_errors=True``, which lets the
    :class:`~evident.errors.EvidentError` reach the caller of the logging call.
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
        self.raise_errors = raise_errors

    def emit(self, record: logging.LogRecord) -> None:
        try:
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
            for k, v in vars(record).items():
                if k in _STANDARD:
                    continue
                if k in _FIELDS:
                    fields[k] = v
                else:
                    details[k] = v
            error: Optional[str] = None
            if record.exc_info:
                error = logging.Formatter().formatException(record.exc_info)
            self.audit_log.log(
                fields.pop("event_type", record.levelname),
                fields.pop("action", message),
                source=fields.pop("source", record.name),
                details=_jsonable(details),
                error=error,
                **fields,
            )
        except Exception:
            if self.raise_errors:
                raise
            self.handleError(record)

    def flush(self) -> None:
        if not self.audit_log.closed:
            self.audit_log.sync()

    def close(self) -> None:
        try:
            if self._owns_log:
                self.audit_log.close()
        finally:
            super().close()


def _jsonable(details: Dict[str, Any]) -> Dict[str, Any]:
    # Log records carry arbitrary objects in `extra`; write what JSON cannot
    # represent as its repr() rather than dropping the record.
    out = {}
    for k, v in details.items():
        try:
            json.dumps(v, allow_nan=False)
            out[k] = v
        except (TypeError, ValueError):
            out[k] = repr(v)
    return out
