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
  ``valid``, ``entries``, ``line`` and ``error``, and more);
- one :class:`AuditLogger` writes a file at a time (evident's exclusive
  lock; a second one fails with an ``AuditError`` naming the holder); pass
  ``lock="shared"`` for several writers at once.

Existing OpenParallax files (an ``audit.jsonl`` OpenParallax itself wrote)
are read as they are (the rules are evident's Rust library's,
``evident::legacy_openparallax``, spec/openparallax.md):

- :func:`verify_integrity` checks such a file with OpenParallax's own rule
  (chain link and entry hash, Go's JSON serialisation): ``valid``,
  ``entries``, and the first violation's 1-based ``line`` and ``error``
  (``"line 3: hash mismatch: ..."``, ``"line 4: chain broken: ..."``,
  ``"line 6: invalid JSON: ..."``); ``kind`` is ``"hash_mismatch"``,
  ``"chain_break"`` or ``"malformed"``;
- :func:`read_entries` reads it as OpenParallax does (newest first, lines
  that are not entries skipped, ``id`` the entry's UUID, ``event_type``
  the number as :class:`EventType`, ``details`` parsed from
  ``details_json``);
- ``AuditLogger(path)`` on such a file **migrates it** (choice (a) of
  issue 11), crash-safely, before opening it: the file's chain must verify
  (else :class:`AuditError` naming the line, and nothing changes; a last
  line cut short by a killed writer, no line feed and not JSON, is left
  out and kept in the copy, the report's ``torn_tail`` naming it); its
  bytes get a second name, ``PATH.openparallax`` (never changed or
  deleted); then a new evident log with every entry (and an
  ``OPENPARALLAX_IMPORT`` anchor entry recording the file's line count,
  size, SHA-256 and last hash; :func:`read_entries` leaves it out unless
  the query names ``"OPENPARALLAX_IMPORT"``, so every entry it returns is
  an OpenParallax event) replaces it at ``PATH`` in one rename. A
  kill at any point leaves either the untouched file at ``PATH`` or the
  complete new log with the copy beside it; a new ``AuditLogger(path)``
  goes on. The logger then continues the chain from the last entry, as the
  seed says. ``AuditLogger(path).migrated`` is the migration's report
  (``None`` when there was nothing to migrate). :func:`migrate` does the
  same without opening; :func:`import_file` copies a file into a new log
  elsewhere and leaves the file alone;
- entries imported from such a file read back (:func:`read_entries` on the
  new log) with their original ``id``, ``timestamp``, ``details`` (parsed
  from the ``details_json`` text kept, as OpenParallax's reader does),
  ``previous_hash`` and ``hash`` (OpenParallax's, kept in the entry under
  ``details["openparallax"]``); the evident chain over them is checked by
  :func:`verify_integrity` as for any log.

These need the evident library's ABI 1.11 and UTF-8 paths.
"""

from __future__ import annotations

import json
import numbers
import os
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, List, Optional, Union

from .. import _native
from .. import query as _q
from . import _is_empty_file, _warn_recovery
from ..errors import EvidentError, InvalidArgumentError
from ..log import AuditLog, Details, Head, PathLike
from ..verify import VerifyResult, Violation, verify

__all__ = [
    "AuditLogger",
    "EventType",
    "AuditEntry",
    "Query",
    "VerifyResult",
    "AuditError",
    "verify_integrity",
    "read_entries",
    "migrate",
    "import_file",
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


#: Event types of later OpenParallax versions, which its files may hold
#: (the library's import table, ``evident::legacy_openparallax``, has
#: 1-29). Not :class:`EventType` members (that enum is the documented API's
#: 23, and ``log`` takes those): queried and read back by number.
_LATER_TYPES = {
    24: "SECURITY_MODE_CHANGED",
    25: "SEALED_CONFIG_TAMPER_DETECTED",
    26: "PROTECTION_BYPASS_ATTEMPTED",
    27: "IFC_BLOCKED",
    28: "IFC_AUDIT_WOULD_BLOCK",
    29: "IFC_SWEEP",
}
_LATER_NUMBERS = {name: n for n, name in _LATER_TYPES.items()}


def _event_type_name(event_type: Union[EventType, int, str], query: bool = False) -> str:
    """The stored name of an event type given as :class:`EventType`, its
    number or its name."""
    if isinstance(event_type, str):
        # A query may name any stored type (other writers' names, the
        # import's anchor); an entry only OpenParallax's.
        if query or event_type in EventType.__members__ or event_type in _LATER_NUMBERS:
            return event_type
    elif isinstance(event_type, numbers.Integral) and not isinstance(event_type, bool):
        if isinstance(event_type, EventType):
            return event_type.name
        n = int(event_type)  # numpy integers too
        if 1 <= n <= len(EventType):
            return EventType(n).name
        if query and n in _LATER_TYPES:  # read back from a migrated file
            return _LATER_TYPES[n]
    raise InvalidArgumentError(f"unknown OpenParallax event type {event_type!r}")


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
        #: The report of the migration of an OpenParallax file at ``path``
        #: (see the module documentation); ``None`` when there was none.
        self.migrated: Optional[dict] = None
        if _is_openparallax(path):
            if options.get("key") is not None:
                raise InvalidArgumentError(
                    f"{os.fspath(path)}: an OpenParallax audit file is migrated into a "
                    "keyless log; migrate it first (evident.compat.openparallax.migrate), "
                    "or import it elsewhere (import_file)"
                )
            self.migrated = migrate(
                path,
                framing=options.get("framing"),
                lock_timeout=options.get("lock_timeout"),
            )
        self._log = AuditLog(path, **options)
        _warn_recovery(self._log)

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
    violation its ``line`` and ``error`` (0 and ``""`` when valid). An
    OpenParallax file is checked with OpenParallax's rule."""
    if _is_openparallax(path):
        r = json.loads(_native.openparallax_call("evident_openparallax_verify", path))
        kind = _KINDS.get(r["kind"], r["kind"])
        violations = [] if r["valid"] else [Violation(kind, None, r["line"], 0, r["error"])]
        return VerifyResult(
            valid=r["valid"],
            entries=r["entries"],
            head=None,
            line=r["line"],
            offset=0,
            seq=None,
            kind=kind,
            error=r["error"],
            violations=violations,
            violations_total=len(violations),
            bytes=r["bytes"],
        )
    return verify(path, key=key)


#: The legacy reader's violation kinds as evident's names.
_KINDS = {
    "hash_mismatch": "hash_mismatch",
    "chain_broken": "chain_break",
    "invalid_json": "malformed",
    "line_too_long": "malformed",
}


def _is_openparallax(path: PathLike) -> bool:
    """``path`` is an existing OpenParallax audit file (not an evident log)."""
    try:
        if not os.path.isfile(path):
            return False
        return _native.openparallax_detect(path)
    except (OSError, TypeError, ValueError, EvidentError):
        return False


def _options_json(framing: Optional[str], lock_timeout: Optional[float]) -> Optional[str]:
    o: dict = {}
    if framing not in (None, "auto"):
        o["framing"] = framing
    if lock_timeout is not None:
        o["lock_timeout"] = lock_timeout
    return json.dumps(o) if o else None


def migrate(
    path: PathLike,
    *,
    framing: Optional[str] = None,
    lock_timeout: Optional[float] = None,
) -> Optional[dict]:
    """Turns the OpenParallax file at ``path`` into an evident log at the
    same path, keeping its bytes at ``PATH.openparallax`` (crash-safe; see
    the module documentation). Returns the report (``entries``, ``lines``,
    ``bytes``, ``sha256``, ``last_hash``, ``head_seq``, ``head_hash``,
    ``log``, ``legacy``, ``torn_tail``: ``{"line", "offset", "bytes"}`` of a
    last line cut short, left out, else ``None``), or ``None`` when ``path`` is not an OpenParallax
    file (nothing changed). A file whose chain does not verify is an
    :class:`AuditError` naming the line."""
    text = _native.openparallax_call(
        "evident_openparallax_migrate", path, _options_json(framing, lock_timeout)
    )
    return json.loads(text)


def import_file(src: PathLike, dst: PathLike, *, framing: Optional[str] = None) -> dict:
    """Imports the OpenParallax file ``src`` into a new evident log at
    ``dst`` (which must not exist); ``src`` is only read. Returns the
    report (as :func:`migrate`)."""
    text = _native.openparallax_call(
        "evident_openparallax_import", src, dst, _options_json(framing, None)
    )
    return json.loads(text)


def read_entries(path: PathLike, query: Optional[Query] = None) -> List[AuditEntry]:
    """Entries matching ``query``, most recent first (none from an empty
    file, which :class:`AuditLogger` would make a log)."""
    q = Query() if query is None else query
    if not isinstance(q, Query):
        raise InvalidArgumentError(f"query must be a Query, not {type(q).__name__}")
    if _is_openparallax(path):
        return _read_openparallax(path, q)
    event_type = _event_type_name(q.event_type, query=True) if q.event_type not in (0, "") else None
    if _is_empty_file(path):
        # The query is checked as it would be on a log.
        _native.unsigned(q.limit or 0, "limit")
        return []
    entries = _without_anchors(path, q, event_type)
    return [
        _imported(e) or AuditEntry(
            id=str(e.seq),
            event_type=EventType.__members__.get(
                e.event_type, _LATER_NUMBERS.get(e.event_type, e.event_type)
            ),
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


#: The event type of the entry a migration adds (evident's record of the
#: import, not an OpenParallax event: read back only when asked for).
_ANCHOR = "OPENPARALLAX_IMPORT"


def _without_anchors(path: PathLike, q: Query, event_type: Optional[str]) -> List[_q.Entry]:
    """The entries of ``q``, newest first, without the import's anchor
    entries unless ``q`` asks for them (``limit`` counts the others)."""
    limit, extra = _native.unsigned(q.limit or 0, "limit") or None, 1
    while True:
        query = _q.Query(session_id=q.session_id or None, event_type=event_type,
                         limit=None if limit is None else limit + extra, newest_first=True)
        got = _q.read_entries(path, query)
        kept = got if event_type == _ANCHOR else [e for e in got if e.event_type != _ANCHOR]
        if limit is None or len(kept) >= limit or len(got) < limit + extra:
            return kept[:limit]
        extra *= 2  # more anchors than asked for room: ask for more


def _unix_ms(e: _q.Entry) -> int:
    delta = e.ts - _q._EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _event_type(n: int) -> Union[EventType, int]:
    try:
        return EventType(n)
    except ValueError:
        return n


def _details(text: str) -> Any:
    """OpenParallax's ``details_json`` parsed (``{}`` when empty, the text
    when it is not JSON)."""
    if not text:
        return {}
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError:
        return text


def _event_type_number(event_type: Union[EventType, int, str]) -> int:
    if isinstance(event_type, str) and not isinstance(event_type, EventType):
        try:
            return EventType[event_type].value
        except KeyError:
            if event_type in _LATER_NUMBERS:
                return _LATER_NUMBERS[event_type]
            raise InvalidArgumentError(
                f"unknown OpenParallax event type {event_type!r}"
            ) from None
    if isinstance(event_type, bool) or not isinstance(event_type, int):
        raise InvalidArgumentError(f"unknown OpenParallax event type {event_type!r}")
    return int(event_type)


def _read_openparallax(path: PathLike, q: Query) -> List[AuditEntry]:
    query: dict = {"limit": _native.unsigned(q.limit or 0, "limit")}
    if q.session_id:
        query["session_id"] = q.session_id
    if q.event_type not in (0, ""):
        query["event_type"] = _event_type_number(q.event_type)
    text = _native.openparallax_call("evident_openparallax_read", path, json.dumps(query))
    return [
        AuditEntry(
            id=r["id"],
            event_type=_event_type(r["event_type"]),
            timestamp=r["timestamp"],
            session_id=r["session_id"],
            action_type=r["action_type"],
            details=_details(r["details_json"]),
            previous_hash=r["previous_hash"],
            hash=r["hash"],
            otr=r["otr"],
            source=r["source"],
        )
        for r in json.loads(text)
    ]


def _imported(e: _q.Entry) -> Optional[AuditEntry]:
    """An entry imported from an OpenParallax file, as OpenParallax read it
    (its id, number, time, details and hashes are kept in the entry)."""
    d = e.details
    if not isinstance(d, dict) or len(d) != 2 or "details" not in d:
        return None
    o = d.get("openparallax")
    if not isinstance(o, dict):
        return None
    try:
        return AuditEntry(
            id=o["id"],
            event_type=_event_type(o["event_type"]),
            timestamp=o["timestamp"],
            session_id=e.session_id,
            action_type=e.action,
            # OpenParallax's own text, parsed as its reader does (integers of
            # any size, keys in their order), as before the migration.
            details=_details(o["details_json"]) if isinstance(o.get("details_json"), str)
            else d["details"],
            previous_hash=o["previous_hash"],
            hash=o["hash"],
            otr=e.otr,
            source=e.source,
        )
    except (KeyError, TypeError):
        return None
