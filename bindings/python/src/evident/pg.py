"""PostgreSQL: ship logs into one database and read entries back from it
and check them there (``evident ship`` / ``evident cat|verify postgres://…``),
through the C ABI (``evident_ship``, ``evident_db_query``,
``evident_db_verify``, ``evident_db_cross_check``).

Errors name the database without its password: :class:`DatabaseError`
(cannot connect, SQL error) or :class:`RefusedError` (the local log does
not continue the database's chain: a fork, a rewritten or truncated file;
nothing was inserted and the refusal is recorded in ``evident.refusals``).
"""

from __future__ import annotations

import ctypes
import json
from datetime import datetime
from typing import Any, Dict, List, Optional

from . import _native as N
from .errors import InvalidArgumentError, UnsupportedError
from .log import Head, PathLike, _ts_text
from .query import Entry, EntryList, Query
from .verify import Violation, VerifyResult, _with_violations

__all__ = ["ShipReport", "ship", "db_query", "db_verify", "db_cross_check"]

_P = ctypes.c_void_p
_PROTOTYPES = {
    "evident_ship": (ctypes.c_uint32, [ctypes.c_char_p] * 3 + [ctypes.POINTER(_P)]),
    "evident_db_query": (ctypes.c_uint32, [ctypes.c_char_p] * 2 + [ctypes.POINTER(_P)]),
    "evident_db_verify": (ctypes.c_uint32, [ctypes.c_char_p] * 2 + [ctypes.POINTER(_P)]),
    "evident_db_cross_check": (ctypes.c_uint32, [ctypes.c_char_p] * 2 + [ctypes.POINTER(_P)]),
}
_missing = N._bind(N.lib, _PROTOTYPES)
# Listed with the rest of the ABI (the ABI-completeness test reads it).
N._PROTOTYPES.update(_PROTOTYPES)


def _lib() -> ctypes.CDLL:
    if _missing:
        raise UnsupportedError(
            f"the evident library {N.library_path} has no PostgreSQL support (it lacks "
            f"{', '.join(_missing)}): build it with the `postgres` feature"
        )
    return N.lib


class ShipReport(dict):
    """What :func:`ship` did for one log: ``log_id``, ``shipped`` (records
    inserted now), ``already`` (records the database held), ``head_seq``
    (the database's head for the log afterwards), ``hashes_checked``
    (false for a keyed log shipped without its key: links and seqs checked
    only). Also attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _url(url: str) -> bytes:
    if not isinstance(url, str):
        raise InvalidArgumentError("`url` must be a str (postgres://…)")
    return url.encode()


def ship(
    path: PathLike,
    url: str,
    *,
    batch: Optional[int] = None,
    key: Optional[bytes] = None,
    retry_for: Optional[float] = None,
) -> List[ShipReport]:
    """Copies the records of the log at ``path`` that the database at
    ``url`` lacks into it (resumable and idempotent: a second call sends
    nothing twice). ``key``: the HMAC key of a keyed log (hashes are then
    checked before shipping). ``retry_for``: seconds to keep reconnecting
    (default 30). Returns one :class:`ShipReport` per file shipped."""
    opts: Dict[str, Any] = {}
    if batch is not None:
        opts["batch"] = int(batch)
    if key is not None:
        if not isinstance(key, (bytes, bytearray)):
            raise InvalidArgumentError("`key` must be bytes")
        opts["key_hex"] = bytes(key).hex()
    if retry_for is not None:
        opts["retry_for_ms"] = max(0, int(retry_for * 1000))
    result = _P()
    N.check(
        _lib().evident_ship(
            N.path_arg(path), _url(url), json.dumps(opts).encode(), ctypes.byref(result)
        )
    )
    return [ShipReport(r) for r in json.loads(N.take_string(result))]


def db_query(
    url: str,
    query: Optional[Query] = None,
    *,
    log_id: Optional[str] = None,
    host: Optional[str] = None,
) -> EntryList:
    """Entries in the database at ``url`` matching ``query`` (the
    :class:`~evident.Query` of :func:`~evident.read_entries`; ``seq_min`` and
    ``seq_max`` are not supported here), across logs, or in one log
    (``log_id``) or from one ``host``. Each :class:`~evident.Entry`'s
    ``record()`` also holds its ``log_id``."""
    query = query or Query()
    if query.seq_min is not None or query.seq_max is not None:
        raise InvalidArgumentError("seq_min/seq_max are not supported in database queries")
    q: Dict[str, Any] = {"newest_first": bool(query.newest_first)}
    for k, v in (
        ("log_id", log_id),
        ("host", host),
        ("session_id", query.session_id),
        ("event_type", query.event_type),
        ("action", query.action),
        ("actor", query.actor),
        ("source", query.source),
        ("limit", query.limit),
    ):
        if v is not None:
            q[k] = v
    for k, v in (("since", query.since), ("until", query.until)):
        if v is not None:
            q[k] = _ts_text(v) if isinstance(v, datetime) else str(v)
    result = _P()
    N.check(_lib().evident_db_query(_url(url), json.dumps(q).encode(), ctypes.byref(result)))
    return EntryList(Entry._from_record(r) for r in json.loads(N.take_string(result)))


def _verify_result(r: Dict[str, Any]) -> VerifyResult:
    violations = [
        Violation(
            kind=v["kind"], seq=v.get("seq"), line=v["line"], offset=v["offset"],
            message=v["message"],
        )
        for v in r.get("violations", [])
    ]
    return _with_violations(
        violations,
        valid=r["valid"],
        entries=r["entries"],
        head=None if r.get("head_hash") is None else Head(r["head_seq"], r["head_hash"]),
        violations_total=r.get("violations_total", 0),
        in_flight_tail=r.get("in_flight_tail"),
        # Stored records are whole: a database copy has no torn tail.
        only_torn_tail=False,
        not_a_log=r.get("not_a_log", False),
        log_id=r.get("log_id"),
        key_id=r.get("key_id"),
        framing=r.get("framing"),
        alg=r.get("alg"),
        bytes=r.get("bytes", 0),
    )


def db_verify(url: str, *, key: Optional[bytes] = None, all: bool = False) -> List[VerifyResult]:
    """Checks every chain stored in the database at ``url`` (or the one its
    ``?log_id=`` names) with the library's verifier, streaming: one
    :class:`~evident.VerifyResult` per log, in log id order, as
    :func:`~evident.verify` gives for a file (offsets and lines are those
    of the JSONL file the stored records make). A damaged chain is a
    result with ``valid`` False, not an exception. ``key``: the HMAC key of
    keyed logs; ``all``: keep every violation, not only the first."""
    opts: Dict[str, Any] = {"all": bool(all)}
    if key is not None:
        if not isinstance(key, (bytes, bytearray)):
            raise InvalidArgumentError("`key` must be bytes")
        opts["key_hex"] = bytes(key).hex()
    result = _P()
    N.check(_lib().evident_db_verify(_url(url), json.dumps(opts).encode(), ctypes.byref(result)))
    return [_verify_result(r) for r in json.loads(N.take_string(result))]


def db_cross_check(path: PathLike, url: str) -> Dict[str, Any]:
    """Compares the log at ``path`` with its copy in the database at
    ``url``, record by record (body and hash): ``log_id``, ``same``,
    ``first_difference`` (the first seq that differs, or None),
    ``only_local`` (not shipped yet) and ``only_db``."""
    result = _P()
    N.check(_lib().evident_db_cross_check(N.path_arg(path), _url(url), ctypes.byref(result)))
    out: Dict[str, Any] = json.loads(N.take_string(result))
    return out
