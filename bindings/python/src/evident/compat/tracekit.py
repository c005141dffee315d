"""TraceKit's ``AuditTrail`` API, backed by an evident log file, and its
``Session`` API (``Session``, ``load_session``, ``Annotation``, …), backed by
an evident session file (crash-safe, versioned, never unpickled).

Replace ``from tracekit.core.audit import AuditTrail`` by
``from evident.compat.tracekit import AuditTrail`` and add ``path=``.
Differences from TraceKit's in-memory trail:

- the trail is a file (``path``, required): entries survive the process and
  are checked from the file by :meth:`AuditTrail.verify_integrity`;
- ``secret_key`` must be at least 16 bytes (evident refuses shorter HMAC
  keys with :class:`evident.InvalidArgumentError`); without a key the log is
  a keyless SHA-256 chain (TraceKit made up a random key, which would make
  a file unverifiable after the process ends);
- ``hmac`` / ``previous_hash`` are evident's record hashes (the first
  entry's ``previous_hash`` is the genesis record's hash, not ``"GENESIS"``);
- ``timestamp`` is the entry's RFC 3339 UTC time with microseconds;
- naive datetimes given to :meth:`AuditTrail.get_entries` are taken as UTC.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

from .. import query as _q
from ..errors import InvalidArgumentError
from ..log import AuditLog, PathLike
from ..session import (
    Annotation,
    AnnotationLayer,
    AnnotationType,
    HistoryEntry,
    OperationHistory,
    Session,
    load_session,
)
from ..verify import verify

__all__ = [
    "Annotation",
    "AnnotationLayer",
    "AnnotationType",
    "AuditEntry",
    "AuditTrail",
    "HistoryEntry",
    "OperationHistory",
    "Session",
    "get_global_audit_trail",
    "load_session",
    "record_audit",
]

_ALGS = {"sha256": ("sha256", "hmac-sha256"), "sha512": (None, "hmac-sha512")}


@dataclass
class AuditEntry:
    """One audit entry, with TraceKit's fields."""

    timestamp: str
    action: str
    details: Dict[str, Any]
    user: str
    host: str
    previous_hash: str
    hmac: str = field(default="")

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "AuditEntry":
        return cls(**data)


def _from_entry(e: _q.Entry) -> AuditEntry:
    return AuditEntry(
        timestamp=e.ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        action=e.action,
        details=e.details,
        user=e.actor,
        host=e.host,
        previous_hash=e.prev,
        hmac=e.hash,
    )


class AuditTrail:
    """A tamper-evident audit trail in the evident log at ``path``.

    :param secret_key: HMAC key (at least 16 bytes), or ``None`` for a
        keyless SHA-256 chain.
    :param hash_algorithm: ``"sha256"`` (HMAC-SHA256) or ``"sha512"``
        (HMAC-SHA512, needs a key); used when the log is created.
    :param path: the log file (created if missing).
    :param event_type: the ``event_type`` written for every action.
    :param options: passed to :class:`evident.AuditLog` (e.g. ``lock="shared"``).
    """

    def __init__(
        self,
        secret_key: Optional[bytes] = None,
        hash_algorithm: str = "sha256",
        *,
        path: PathLike,
        event_type: str = "tracekit",
        **options: Any,
    ) -> None:
        if hash_algorithm not in _ALGS:
            raise InvalidArgumentError(f"Unsupported hash algorithm: {hash_algorithm}")
        keyless, keyed = _ALGS[hash_algorithm]
        alg = keyed if secret_key is not None else keyless
        if alg is None:
            raise InvalidArgumentError("hash_algorithm 'sha512' needs a secret_key (HMAC-SHA512)")
        self._secret_key = secret_key
        self._hash_algorithm = hash_algorithm
        self._event_type = event_type
        self._buffered = options.get("durability") == "buffered"
        self._log = AuditLog(path, key=secret_key, alg=alg, **options)

    @property
    def path(self) -> str:
        return self._log.path

    @property
    def audit_log(self) -> AuditLog:
        """The underlying :class:`evident.AuditLog`."""
        return self._log

    def record_action(
        self, action: str, details: Dict[str, Any], user: Optional[str] = None
    ) -> AuditEntry:
        """Appends an entry (``user`` defaults to the OS user) and returns it
        as stored in the log."""
        head = self._log.log(self._event_type, action, actor=user, details=details)
        if self._buffered:
            self._log.sync()  # the entry is read back from the file
        found = _q.read_entries(
            self._log.path, _q.Query(seq_min=head.seq, seq_max=head.seq, limit=1)
        )
        return _from_entry(found[0])

    def verify_integrity(self) -> bool:
        """True when the whole log file verifies (every hash, link and seq)."""
        if self._buffered and not self._log.closed:
            self._log.sync()
        return verify(self._log.path, key=self._secret_key).valid

    def get_entries(
        self, since: Optional[datetime] = None, action_type: Optional[str] = None
    ) -> List[AuditEntry]:
        """Entries at or after ``since`` with action ``action_type``, oldest first."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        if self._buffered and not self._log.closed:
            self._log.sync()
        entries = _q.read_entries(self._log.path, _q.Query(since=since, action=action_type))
        return [_from_entry(e) for e in entries]

    def export_audit_log(self, path: str, format: str = "json") -> None:
        """Writes the trail to ``path`` in TraceKit's JSON or CSV layout."""
        if format not in ("json", "csv"):
            raise InvalidArgumentError(f"Unsupported format: {format}")
        entries = self.get_entries()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        if format == "json":
            data = {
                "version": "1.0",
                "hash_algorithm": self._hash_algorithm,
                "entries": [e.to_dict() for e in entries],
            }
            with open(out, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2)
            return
        with open(out, "w", newline="", encoding="utf-8") as f:
            if not entries:
                return
            keys = sorted({k for e in entries if isinstance(e.details, dict) for k in e.details})
            writer = csv.DictWriter(
                f,
                fieldnames=["timestamp", "action", "user", "host", "previous_hash", "hmac"]
                + [f"detail_{k}" for k in keys],
            )
            writer.writeheader()
            for e in entries:
                row: Dict[str, Any] = {
                    "timestamp": e.timestamp,
                    "action": e.action,
                    "user": e.user,
                    "host": e.host,
                    "previous_hash": e.previous_hash,
                    "hmac": e.hmac,
                }
                d = e.details if isinstance(e.details, dict) else {}
                for k in keys:
                    v = d.get(k)
                    row[f"detail_{k}"] = json.dumps(v) if v is not None else ""
                writer.writerow(row)

    def close(self) -> None:
        """Closes the log file (closing twice is fine)."""
        self._log.close()

    def __enter__(self) -> "AuditTrail":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_global_audit_trail: Optional[AuditTrail] = None


def get_global_audit_trail(
    secret_key: Optional[bytes] = None, *, path: Optional[PathLike] = None
) -> AuditTrail:
    """The process-wide trail, created on the first call (which needs ``path``)."""
    global _global_audit_trail
    if _global_audit_trail is None:
        if path is None:
            raise InvalidArgumentError("the first get_global_audit_trail() call needs path=")
        _global_audit_trail = AuditTrail(secret_key=secret_key, path=path)
    return _global_audit_trail


def record_audit(action: str, details: Dict[str, Any], user: Optional[str] = None) -> AuditEntry:
    """Records an action in the global trail (see :func:`get_global_audit_trail`)."""
    return get_global_audit_trail().record_action(action, details, user)
