"""Reading: :func:`read_entries` / :func:`iter_entries` (``evident_query_*``)."""

from __future__ import annotations

import ctypes
import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Union

from . import _native as N
from ._managed import Managed
from .errors import ClosedError, InternalError, InvalidArgumentError, STATUS_END
from .errors import UnsupportedError
from ._convert import utc_text
from .log import PathLike, _ts_text

__all__ = [
    "Query",
    "Entry",
    "EntryIterator",
    "EntryList",
    "read_entries",
    "read_records",
    "read_dataframe",
    "iter_entries",
]

_BATCH = 1024
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


_FIELDS = (
    "seq",
    "ts",
    "event_type",
    "action",
    "actor",
    "host",
    "session_id",
    "source",
    "details",
    "otr",
    "success",
    "duration_ms",
    "error",
    "note",
    "git_commit",
    "prev",
    "hash",
)
# Members the engine writes only when set, and their value when absent.
_OPTIONAL = {
    "otr": False,
    "success": None,
    "duration_ms": None,
    "error": None,
    "note": None,
    "git_commit": None,
}
_UTC = timezone.utc
_SECOND = timedelta(seconds=1)
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # a record's time (spec § 5.3)


def _parse_ts(s: str, seq: Any = None) -> datetime:
    """A record time (``YYYY-MM-DDTHH:MM:SS.ffffffZ``, which the engine
    checked) as an aware UTC datetime; a leap second (``:60``) is the next
    second, as the engine's Unix time makes it. UnsupportedError for the
    times spec § 5.3 allows and datetime cannot hold (year 0, and a leap
    second ending 9999-12-31)."""
    sec = int(s[17:19])
    try:
        t = datetime(
            int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]),
            min(sec, 59), int(s[20:26]), _UTC,
        )
        return t + _SECOND if sec == 60 else t
    except (ValueError, OverflowError):
        raise _beyond_datetime(s, seq) from None


def _beyond_datetime(ts: str, seq: Any) -> UnsupportedError:
    return UnsupportedError(
        f"entry seq {seq}: its time {ts} is valid in a log but beyond Python's datetime "
        "(years 1-9999); entry.record()['ts'] gives it as text")


def _field(name: str, default: Any = None, optional: bool = False) -> property:
    if optional:
        def get(self: "Entry") -> Any:
            r = self._r
            if r is None:
                r = self._parse()
            return r.get(name, default)
    else:
        def get(self: "Entry") -> Any:
            r = self._r
            if r is None:
                r = self._parse()
            return r[name]
    get.__name__ = name
    return property(get)


# The members every entry record has, after `v` and `kind` are taken out.
_BASE = frozenset(
    ("seq", "prev", "ts", "event_type", "action", "actor", "host",
     "session_id", "source", "details", "hash")
)
_KNOWN = frozenset(_FIELDS)


def _engine_int_slow(text: str) -> Union[int, float]:
    """:func:`_engine_int` for texts of 19 characters or more, and -0."""
    v = int(text)
    if v == 0 and text[0] == "-":
        return -0.0
    if -(1 << 63) <= v < (1 << 64):
        return v
    return float(text)


def _engine_int(text: str) -> Union[int, float]:
    """An integer as the engine reads it (spec § 5.5 rule 2, serde_json):
    exactly when it fits a signed or unsigned 64-bit integer, else the
    nearest double; ``-0`` is the double -0.0. (Python's json reads every
    integer exactly, which showed such numbers differently from the
    engine, the CLI and the other bindings.)"""
    if len(text) < 19 and text != "-0":
        return int(text)
    return _engine_int_slow(text)


_engine_decoder = json.JSONDecoder(parse_int=_engine_int)
# The C scanner of the decoder: one call per record line (which the engine
# checked), without json.loads's per-call checks.
_scan_line_text = _engine_decoder.scan_once
_decode = _engine_decoder.decode


def _scan_line(line: bytes) -> Any:
    return _scan_line_text(line.decode("utf-8"), 0)[0]


def _loads_lines(text: bytes) -> Any:
    """A JSON text of record lines (an array), read as the engine reads it."""
    return _decode(text.decode("utf-8"))


def _clean(r: Dict[str, Any]) -> Dict[str, Any]:
    """A parsed record line as the engine's ``Entry`` serialises it: ``v``,
    ``kind`` and members of later versions dropped, optional fields only
    when set, ``duration_ms`` a float, ``details`` ``None`` when absent."""
    del r["v"], r["kind"]
    if len(r) == 11 and r.keys() <= _BASE:
        return r
    return _clean_rest(r)


def _clean_rest(r: Dict[str, Any]) -> Dict[str, Any]:
    """:func:`_clean` after ``v`` and ``kind``, for records beyond the
    common case (optional fields, members of later versions, no details)."""
    for k in [k for k in r if k not in _KNOWN]:
        del r[k]
    for k, absent in _OPTIONAL.items():
        if k in r and r[k] == absent and (absent is None or r[k] is absent):
            del r[k]
    d = r.get("duration_ms")
    if d is not None:
        r["duration_ms"] = float(d)
    r.setdefault("details", None)
    return r


def _record(line: bytes) -> Dict[str, Any]:
    """The record of one JSONL record line (UTF-8, which the engine
    checked)."""
    return _clean(_scan_line(line))


def _records_of_lines(lines: List[bytes]) -> List[Dict[str, Any]]:
    """The records of many record lines, parsed in one call."""
    if not lines:
        return []
    return list(map(_clean, _loads_lines(b"[" + b",".join(lines) + b"]")))


def _records_of_texts(texts: List[bytes]) -> List[Dict[str, Any]]:
    """The records of batches of record lines (each batch ending with a
    newline), parsed one batch per call without splitting the lines."""
    out: List[Dict[str, Any]] = []
    for t in texts:
        out.extend(map(_clean, _loads_lines(b"[" + t[:-1].replace(b"\n", b",") + b"]")))
    return out


class Entry:
    """One entry read from a log; the fields are the log's fields.

    Immutable. Entries that :func:`read_entries` returns are built lazily
    from the record's JSONL line as the engine returned it: the line is
    parsed (``json.loads``) when a field is first read, and ``ts`` becomes a
    datetime when first read. Equal when every field is equal.
    """

    __slots__ = ("_r", "_ts", "_l")

    def __init__(
        self,
        seq: int,
        ts: datetime,
        event_type: str,
        action: str,
        actor: str,
        host: str,
        session_id: str,
        source: str,
        details: Any,
        otr: bool,
        success: Optional[bool],
        duration_ms: Optional[float],
        error: Optional[str],
        note: Optional[str],
        git_commit: Optional[str],
        prev: str,
        hash: str,
    ) -> None:
        r = {
            "seq": seq, "ts": ts, "event_type": event_type, "action": action,
            "actor": actor, "host": host, "session_id": session_id,
            "source": source, "details": details, "otr": otr,
            "success": success, "duration_ms": duration_ms, "error": error,
            "note": note, "git_commit": git_commit, "prev": prev, "hash": hash,
        }
        object.__setattr__(self, "_r", r)
        object.__setattr__(self, "_ts", ts)
        object.__setattr__(self, "_l", None)

    @classmethod
    def _from_record(cls, r: Dict[str, Any]) -> "Entry":
        e = object.__new__(cls)
        object.__setattr__(e, "_r", r)
        object.__setattr__(e, "_ts", None)
        object.__setattr__(e, "_l", None)
        return e

    def _parse(self) -> Dict[str, Any]:
        # _record, inlined: this runs once per entry read.
        r: Dict[str, Any] = _scan_line_text(self._l.decode("utf-8"), 0)[0]
        del r["v"], r["kind"]
        if len(r) != 11 or not r.keys() <= _BASE:
            _clean_rest(r)
        _set_r(self, r)
        _set_l(self, None)
        return r

    seq = _field("seq")
    event_type = _field("event_type")
    action = _field("action")
    actor = _field("actor")
    host = _field("host")
    session_id = _field("session_id")
    source = _field("source")
    details = _field("details")
    otr = _field("otr", False, True)
    success = _field("success", None, True)
    duration_ms = _field("duration_ms", None, True)
    error = _field("error", None, True)
    note = _field("note", None, True)
    git_commit = _field("git_commit", None, True)
    prev = _field("prev")
    hash = _field("hash")

    @property
    def ts(self) -> datetime:
        t = self._ts
        if t is None:
            r = self._r
            if r is None:
                r = self._parse()
            t = _parse_ts(r["ts"], r["seq"])
            object.__setattr__(self, "_ts", t)
        return t

    def _ts_value(self) -> Any:
        """``ts``, or its text when datetime cannot hold it (for ==, hash, repr)."""
        try:
            return self.ts
        except UnsupportedError:
            return self._r["ts"]  # type: ignore[index]

    def record(self) -> Dict[str, Any]:
        """The entry as a dict of its fields (``ts`` as the log's RFC 3339
        text; optional fields only when set), as the engine returns it."""
        r = self._r
        if r is None:
            r = self._parse()
        r = dict(r)
        if isinstance(r["ts"], datetime):
            r["ts"] = utc_text(r["ts"])
        for k, absent in _OPTIONAL.items():
            if k in r and r[k] == absent and (absent is None or r[k] is absent):
                del r[k]
        return r

    def _values(self) -> tuple:
        return tuple(self._ts_value() if f == "ts" else getattr(self, f) for f in _FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        # Of fields that are always hashable (details may be a dict): equal
        # entries have equal ones.
        return hash((self.seq, self.hash, self.prev))

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={v!r}" for f, v in zip(_FIELDS, self._values()))
        return f"Entry({inner})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> Any:
        return (Entry, self._values())


_new_entry = object.__new__
_set_r = Entry._r.__set__  # type: ignore[attr-defined]
_set_ts = Entry._ts.__set__  # type: ignore[attr-defined]
_set_l = Entry._l.__set__  # type: ignore[attr-defined]


def _entry_of_line(line: bytes) -> Entry:
    """An :class:`Entry` over one record line, parsed on first access."""
    e = _new_entry(Entry)
    _set_r(e, None)
    _set_ts(e, None)
    _set_l(e, line)
    return e  # type: ignore[no-any-return]


class EntryList(List[Entry]):
    """The list :func:`read_entries` returns: :class:`Entry` objects, plus
    the same entries as dicts (:meth:`records`) and as a pandas DataFrame
    (:meth:`to_pandas`)."""

    def records(self) -> List[Dict[str, Any]]:
        """The entries as dicts, as :func:`read_records` gives them."""
        lines = [e._l for e in self]
        if None not in lines:  # none parsed yet: all in one call
            return _records_of_lines(lines)  # type: ignore[arg-type]
        return [e.record() for e in self]

    def to_pandas(self) -> Any:
        """The entries as a :class:`pandas.DataFrame` (pandas is optional:
        ``ImportError`` without it): one row per entry, one column per
        field, ``ts`` as UTC datetimes, ``details`` as Python objects."""
        return _to_pandas(self.records())


def _to_pandas(records: List[Dict[str, Any]]) -> Any:
    try:
        import pandas as pd  # type: ignore[import-untyped]
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("to_pandas() needs pandas (pip install pandas)") from e
    df = pd.DataFrame.from_records(records, columns=list(_FIELDS))
    for k, absent in _OPTIONAL.items():
        if absent is not None:
            df[k] = df[k].fillna(absent).astype(bool)
    try:
        df["ts"] = pd.to_datetime(df["ts"], utc=True, format=_TS_FORMAT)
    except (ValueError, OverflowError):  # pandas' OutOfBoundsDatetime is a ValueError
        for r in records:  # the first time pandas cannot hold, named
            try:
                pd.to_datetime([r["ts"]], utc=True, format=_TS_FORMAT)
            except (ValueError, OverflowError):
                raise _beyond_pandas(r, pd) from None
        raise
    return df


def _beyond_pandas(r: Dict[str, Any], pd: Any) -> UnsupportedError:
    return UnsupportedError(
        f"entry seq {r['seq']}: its time {r['ts']} is valid in a log but beyond pandas "
        f"{pd.__version__}'s datetimes; select the entries (Query) or use records()")


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


def _take_text(out: ctypes.c_void_p, length: int) -> bytes:
    """An owned buffer of ``length`` bytes of record lines (each ending
    with a newline), freeing it."""
    if not out.value:
        raise InternalError("the library returned a NULL string")
    try:
        return ctypes.string_at(out.value, length)
    finally:
        N.lib.evident_string_free(out)


def _split(text: bytes) -> List[bytes]:
    """The lines of a batch (each ends with a newline)."""
    lines = text.split(b"\n")
    lines.pop()  # after the last newline
    return lines


def _next_text(ptr: Any, max_entries: int) -> Optional[bytes]:
    """Up to ``max_entries`` record lines from the native iterator, as one
    text (``None`` at the end); raises the error of a damaged record."""
    out = ctypes.c_void_p()
    length = ctypes.c_size_t()
    count = ctypes.c_size_t()
    status = N.lib.evident_query_next_lines(
        ptr, max_entries, ctypes.byref(out), ctypes.byref(length), ctypes.byref(count)
    )
    if status == STATUS_END:
        return None
    N.check(status)
    return _take_text(out, length.value)


def _read_last(path: PathLike, n: int) -> Optional[bytes]:
    """The record lines of the last ``n`` entries, newest first, in one
    native call (``evident_read_last``); ``None`` when there are none."""
    out = ctypes.c_void_p()
    length = ctypes.c_size_t()
    count = ctypes.c_size_t()
    status = N.lib.evident_read_last(
        N.path_arg(path), n, ctypes.byref(out), ctypes.byref(length), ctypes.byref(count)
    )
    if status == STATUS_END:
        return None
    N.check(status)
    return _take_text(out, length.value)


def _only_last(query: Optional[Query]) -> Optional[int]:
    """``n`` when ``query`` asks for exactly the last ``n`` entries (newest
    first, a limit, no filter), else ``None``."""
    if (
        query.__class__ is Query
        and query.newest_first  # type: ignore[union-attr]
        and query.limit is not None  # type: ignore[union-attr]
        and query.limit.__class__ is int  # type: ignore[union-attr]
        and 0 <= query.limit < N.SIZE_MAX  # type: ignore[union-attr]
        and query == Query(newest_first=True, limit=query.limit)  # type: ignore[union-attr]
    ):
        return query.limit  # type: ignore[union-attr]
    return None


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
        self._buf: List[bytes] = []
        self._batch = 16

    def __iter__(self) -> "EntryIterator":
        return self

    def __next__(self) -> Entry:
        buf = self._buf
        if buf:
            return _entry_of_line(buf.pop())
        try:
            ptr = self._acquire()
        except ClosedError:
            raise StopIteration from None
        try:
            # Small first batch (a caller may want one entry), then larger.
            text = _next_text(ptr, self._batch)
            self._batch = _BATCH
        finally:
            self._release()
        if text is None:
            self.close()
            raise StopIteration
        batch = _split(text)
        batch.reverse()
        self._buf = batch
        return _entry_of_line(batch.pop())

    def close(self) -> None:
        """Frees the native iterator; later ``next()`` calls end at once."""
        self._buf = []
        super().close()

    def _texts(self) -> List[bytes]:
        """Every remaining record line, as the batches' texts (for
        :func:`read_entries`)."""
        out = [b"".join(line + b"\n" for line in reversed(self._buf))] if self._buf else []
        self._buf = []
        while True:
            ptr = self._acquire()
            try:
                text = _next_text(ptr, _BATCH)
            finally:
                self._release()
            if text is None:
                self.close()
                return out
            out.append(text)


def iter_entries(path: PathLike, query: Optional[Query] = None) -> EntryIterator:
    """Iterates over the entries of the log at ``path`` matching ``query``
    (``None``: every entry, oldest first). Does not check hashes (that is
    :func:`evident.verify`'s job) and never yields a torn last record."""
    return EntryIterator(path, query)


def _read_texts(path: PathLike, query: Optional[Query]) -> List[bytes]:
    """The record lines of the matching entries, as batches of lines: the
    last N in one call when that is the query, else through the iterator."""
    n = _only_last(query)
    if n is not None:
        text = _read_last(path, n)
        return [] if text is None else [text]
    with EntryIterator(path, query) as it:
        return it._texts()


def read_entries(path: PathLike, query: Optional[Query] = None) -> EntryList:
    """The entries of the log at ``path`` matching ``query``, as a list
    (an :class:`EntryList`: also :meth:`~EntryList.records` and
    :meth:`~EntryList.to_pandas`). Read in batches of record lines (the last
    N entries, ``Query(newest_first=True, limit=N)`` with no filter, in one
    call); each :class:`Entry` parses its line when a field is first read,
    so entries never looked at cost no JSON parsing."""
    out = EntryList()
    for text in _read_texts(path, query):
        out.extend(map(_entry_of_line, _split(text)))
    return out


def read_records(path: PathLike, query: Optional[Query] = None) -> List[Dict[str, Any]]:
    """The entries of the log at ``path`` matching ``query`` as dicts: the
    fields of :class:`Entry`, ``ts`` as the log's RFC 3339 text
    (``2026-03-01T09:00:02.500000Z``), optional fields (``otr``,
    ``success``, ``duration_ms``, ``error``, ``note``, ``git_commit``) only
    when set. Every record is parsed here (in one ``json.loads`` call);
    the fastest way to read many entries when every field is wanted."""
    return _records_of_texts(_read_texts(path, query))


def read_dataframe(path: PathLike, query: Optional[Query] = None) -> Any:
    """The entries of the log at ``path`` matching ``query`` as a
    :class:`pandas.DataFrame` (see :meth:`EntryList.to_pandas`)."""
    return _to_pandas(read_records(path, query))
