"""Reading: :func:`read_entries` / :func:`iter_entries` (``evident_query_*``)."""

from __future__ import annotations

import ctypes
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, List, Optional, Union

from . import _native as N
from ._managed import Managed
from .errors import ClosedError, InvalidArgumentError, STATUS_END
from .log import PathLike, _ts_text

__all__ = ["Query", "Entry", "EntryIterator", "read_entries", "iter_entries"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Query:
    """Filters and order for :func:`read_entries` / :func:`iter_entries`.

    Every filter given must match (string filters match exactly); ``since``
    is inclusive and ``until`` exclusive (timezone-aware datetimes or RFC
    3339 strings); ``seq_min`` / ``seq_max`` are inclusive. ``newest_first``
    reads backward from the end, so the last N entries cost O(N).
    """

    session_id: Optional[str] = None
    event_type: Optional[str] = None
    action: Optional[str] = None
    actor: Optional[str] = None
    source: Optional[str] = None
    since: Union[datetime, str, None] = None
    until: Union[datetime, str, None] = None
    seq_min: Optional[int] = None
    seq_max: Optional[int] = None
    newest_first: bool = False
    limit: Optional[int] = None


@dataclass(frozen=True)
class Entry:
    """One entry read from a log; the fields are the log's fields."""

    seq: int
    ts: datetime
    event_type: str
    action: str
    actor: str
    host: str
    session_id: str
    source: str
    details: Any
    otr: bool
    success: Optional[bool]
    duration_ms: Optional[float]
    error: Optional[str]
    note: Optional[str]
    git_commit: Optional[str]
    prev: str
    hash: str


def _ts_arg(value: Union[datetime, str, None], name: str) -> Optional[bytes]:
    try:
        return N.text(_ts_text(value), name)
    except InvalidArgumentError as e:
        raise InvalidArgumentError(str(e).replace("`ts`", f"`{name}`")) from None


def _build_query(q: Query) -> ctypes.c_void_p:
    lib = N.lib
    args = [
        (lib.evident_query_set_session_id, N.text(q.session_id, "session_id")),
        (lib.evident_query_set_event_type, N.text(q.event_type, "event_type")),
        (lib.evident_query_set_action, N.text(q.action, "action")),
        (lib.evident_query_set_actor, N.text(q.actor, "actor")),
        (lib.evident_query_set_source, N.text(q.source, "source")),
        (lib.evident_query_set_since, _ts_arg(q.since, "since")),
        (lib.evident_query_set_until, _ts_arg(q.until, "until")),
    ]
    seq_min = None if q.seq_min is None else N.unsigned(q.seq_min, "seq_min")
    seq_max = None if q.seq_max is None else N.unsigned(q.seq_max, "seq_max")
    limit = None if q.limit is None else N.unsigned(q.limit, "limit", N.SIZE_MAX)
    handle = ctypes.c_void_p()
    N.check(lib.evident_query_new(ctypes.byref(handle)))
    try:
        for setter, value in args:
            if value is not None:
                N.check(setter(handle, value))
        if seq_min is not None:
            N.check(lib.evident_query_set_seq_min(handle, seq_min))
        if seq_max is not None:
            N.check(lib.evident_query_set_seq_max(handle, seq_max))
        if limit is not None:
            N.check(lib.evident_query_set_limit(handle, limit))
        order = N.ORDER_NEWEST_FIRST if q.newest_first else N.ORDER_OLDEST_FIRST
        N.check(lib.evident_query_set_order(handle, order))
    except BaseException:
        lib.evident_query_free(handle)
        raise
    return handle


def _entry(ptr: ctypes.c_void_p) -> Entry:
    lib = N.lib
    out = ctypes.c_void_p()
    N.check(lib.evident_entry_to_json(ptr, ctypes.byref(out)))
    d = json.loads(N.take_string(out))
    us = lib.evident_entry_ts_unix_us(ptr)
    return Entry(
        seq=d["seq"],
        ts=_EPOCH + timedelta(microseconds=us),
        event_type=d["event_type"],
        action=d["action"],
        actor=d["actor"],
        host=d["host"],
        session_id=d["session_id"],
        source=d["source"],
        details=d["details"],
        otr=d.get("otr", False),
        success=d.get("success"),
        duration_ms=d.get("duration_ms"),
        error=d.get("error"),
        note=d.get("note"),
        git_commit=d.get("git_commit"),
        prev=d["prev"],
        hash=d["hash"],
    )


class EntryIterator(Managed):
    """An iterator over the entries of a log matching a query.

    A damaged record raises :class:`~evident.errors.MalformedLogError` naming
    its position; calling ``next()`` again goes on with the following record
    where the framing allows. The native iterator is freed when the iteration
    ends, by :meth:`close`, or on leaving a ``with`` block.
    """

    _free_fn = staticmethod(N.lib.evident_query_iter_free)
    _what = "entry iterator"

    def __init__(self, path: PathLike, query: Optional[Query] = None) -> None:
        lib = N.lib
        raw_path = N.path_arg(path)
        if query is not None and not isinstance(query, Query):
            raise InvalidArgumentError(
                f"`query` must be an evident.Query, not {type(query).__name__}"
            )
        q = _build_query(query) if query is not None else None
        handle = ctypes.c_void_p()
        try:
            N.check(lib.evident_query_run(raw_path, q, ctypes.byref(handle)))
        finally:
            lib.evident_query_free(q)
        self._set_handle(handle.value)  # type: ignore[arg-type]

    def __iter__(self) -> "EntryIterator":
        return self

    def __next__(self) -> Entry:
        lib = N.lib
        try:
            ptr = self._acquire()
        except ClosedError:
            raise StopIteration from None
        entry = ctypes.c_void_p()
        try:
            status = lib.evident_query_next(ptr, ctypes.byref(entry))
            if status != STATUS_END:
                N.check(status)
                try:
                    return _entry(entry)
                finally:
                    lib.evident_entry_free(entry)
        finally:
            self._release()
        self.close()
        raise StopIteration


def iter_entries(path: PathLike, query: Optional[Query] = None) -> EntryIterator:
    """Iterates over the entries of the log at ``path`` matching ``query``
    (``None``: every entry, oldest first). Does not check hashes (that is
    :func:`evident.verify`'s job) and never yields a torn last record."""
    return EntryIterator(path, query)


def read_entries(path: PathLike, query: Optional[Query] = None) -> List[Entry]:
    """The entries of the log at ``path`` matching ``query``, as a list."""
    with EntryIterator(path, query) as it:
        return list(it)
