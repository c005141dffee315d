"""PostgreSQL: ship logs into one database and read entries back from it
(``evident ship`` / ``evident cat postgres://…``), through the C ABI
(``evident_ship``, ``evident_db_query``).

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
from .log import PathLike, _ts_text
from .query import Entry, EntryList, Query

__all__ = ["ShipReport", "ship", "db_query"]

_P = ctypes.c_void_p
_PROTOTYPES = {
    "evident_ship": (ctypes.c_uint32, [ctypes.c_char_p] * 3 + [ctypes.POINTER(_P)]),
    "evident_db_query": (ctypes.c_uint32, [ctypes.c_char_p] * 2 + [ctypes.POINTER(_P)]),
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
    (the database's head for the log afterwards). Also attributes."""

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
