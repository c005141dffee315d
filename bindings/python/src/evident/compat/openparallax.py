"""The OpenParallax audit Python API, on an evident log.

Replace ``from openparallax_audit import ...`` by
``from evident.compat.openparallax import ...``. Differences:

- entries are evident entries (the log is an evident JSONL or binary log,
  not OpenParallax's file format); ``event_type`` is stored as the
  :class:`EventType` name (e.g. ``"ACTION_BLOCKED"``);
- ``details`` given as a ``str`` is taken as the JSON text (as
  OpenParallax's ``details_json``); a plain message (a ``str`` that is
  not a JSON value and does not open an object or array) is recorded as a
  JSON string and read back as given, and a broken object or array text
  (``"{broken"``) is an ``AuditError``; ``""`` is no details;
- :class:`AuditEntry` ``id`` is the entry's seq (as a string);
- ``AuditError`` is :class:`evident.EvidentError`, so every evident error
  (with its precise subclass) is an ``AuditError``;
- :func:`verify_integrity` returns :class:`evident.VerifyResult` (it has
  ``valid``, ``entries``, ``line`` and ``error``, and more).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, List, Optional, Union

from .. import _native
from .. import query as _q
from . import _is_empty_file
from ..errors import EvidentError, InvalidArgumentError
from ..log import AuditLog, Details, Head, PathLike
from ..verify import VerifyResult, verify

__all__ = [
    "AuditLogger",
    "EventType",
    "AuditEntry",
    "Query",
    "VerifyResult",
    "AuditError",
    "verify_integrity",
    "read_entries",
]

#: Every error raised here (an evident error of the precise subclass).
AuditError = EvidentError


class EventType(IntEnum):
    """OpenParallax event types, with OpenParallax's numbers."""

    ACTION_PROPOSED = 1
    ACTION_EVALUATED = 2
    ACTION_APPROVED = 3
    ACTION_BLOCKED = 4
    ACTION_EXECUTED = 5
    ACTION_FAILED = 6
    SHIELD_ERROR = 7
    CANARY_VERIFIED = 8
    CANARY_MISSING = 9
    RATE_LIMIT_HIT = 10
    BUDGET_EXHAUSTED = 11
    SELF_PROTECTION = 12
    TRANSACTION_BEGIN = 13
    TRANSACTION_COMMIT = 14
    TRANSACTION_ROLLBACK = 15
    INTEGRITY_VIOLATION = 16
    SESSION_STARTED = 17
    SESSION_ENDED = 18
    CONFIG_CHANGED = 19
    IFC_CLASSIFIED = 20
    CHRONICLE_SNAPSHOT = 21
    CHRONICLE_SNAPSHOT_FAILED = 22
    SANDBOX_CANARY_RESULT = 23


def _event_type_name(event_type: Union[EventType, int, str]) -> str:
    if isinstance(event_type, str) and not isinstance(event_type, EventType):
        return event_type
    try:
        return EventType(event_type).name
    except ValueError:
        raise InvalidArgumentError(f"unknown OpenParallax event type {event_type!r}") from None


@dataclass
class AuditEntry:
    """An entry as OpenParallax's reader returns it."""

    id: str
    event_type: Union[EventType, str]
    timestamp: int  # Unix milliseconds
    session_id: str
    action_type: str
    details: Any
    previous_hash: str
    hash: str
    otr: bool
    source: str


@dataclass
class Query:
    """OpenParallax's query: empty / 0 values mean "no filter"."""

    session_id: str = ""
    event_type: Union[EventType, int, str] = 0
    limit: int = 0


class AuditLogger:
    """Creates or opens the audit log at ``path`` (keyword ``options`` go to
    :class:`evident.AuditLog`, e.g. ``key=`` or ``lock="shared"``). An
    existing empty file (``tempfile.mkstemp``, ``touch``) becomes a new log,
    as with OpenParallax (``adopt_empty=True`` unless given)."""

    def __init__(self, path: PathLike, **options: Any) -> None:
        options.setdefault("adopt_empty", True)
        self._log = AuditLog(path, **options)

    def log(
        self,
        event_type: Union[EventType, int, str],
        action_type: str = "",
        session_id: str = "",
        details: Details = None,
        otr: bool = False,
        source: str = "",
    ) -> Head:
        """Appends an entry (durable when this returns); returns the new head.
        ``details``: a dict (serialized to JSON), a JSON text, or a plain
        message (recorded as a JSON string)."""
        if isinstance(details, str):
            if not details.strip():
                details = None  # an empty details_json: no details
            elif _is_plain_text(details):
                details = json.dumps(details, ensure_ascii=False)
        return self._log.log(
            _event_type_name(event_type),
            action_type,
            session_id=session_id,
            details=details,
            otr=otr,
            source=source,
        )

    def close(self) -> None:
        """Flushes and closes the log (closing twice is fine)."""
        self._log.close()

    @property
    def audit_log(self) -> AuditLog:
        """The underlying :class:`evident.AuditLog`."""
        return self._log

    def __enter__(self) -> "AuditLogger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _is_plain_text(text: str) -> bool:
    """``text`` is a message, not meant as a JSON text: it does not open
    an object or array and is not one JSON value (NaN and Infinity are
    not JSON). A broken object or array text stays an error."""
    if text.lstrip()[:1] in ("{", "["):
        return False
    try:
        json.loads(text, parse_constant=_no_constant)
    except ValueError:
        return True
    return False


def verify_integrity(path: PathLike, *, key: Optional[bytes] = None) -> VerifyResult:
    """Checks the whole log: ``valid``, ``entries``, and for the first
    violation its ``line`` and ``error`` (0 and ``""`` when valid)."""
    return verify(path, key=key)


def read_entries(path: PathLike, query: Optional[Query] = None) -> List[AuditEntry]:
    """Entries matching ``query``, most recent first (none from an empty
    file, which :class:`AuditLogger` would make a log)."""
    q = query or Query()
    event_type = _event_type_name(q.event_type) if q.event_type not in (0, "") else None
    if _is_empty_file(path):
        # The query is checked as it would be on a log.
        _native.unsigned(q.limit or 0, "limit")
        return []
    entries = _q.read_entries(
        path,
        _q.Query(
            session_id=q.session_id or None,
            event_type=event_type,
            limit=q.limit or None,
            newest_first=True,
        ),
    )
    return [
        AuditEntry(
            id=str(e.seq),
            event_type=EventType.__members__.get(e.event_type, e.event_type),
            timestamp=_unix_ms(e),
            session_id=e.session_id,
            action_type=e.action,
            details=e.details,
            previous_hash=e.prev,
            hash=e.hash,
            otr=e.otr,
            source=e.source,
        )
        for e in entries
    ]


def _unix_ms(e: _q.Entry) -> int:
    delta = e.ts - _q._EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
