"""Writing: :class:`AuditLog` (``evident_log_*`` of the C ABI)."""

from __future__ import annotations

import ctypes
import json
import math
import os
from datetime import datetime
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

from . import _native as N
from ._convert import ts_text
from ._managed import Managed
from .errors import InvalidArgumentError

__all__ = ["AuditLog", "Head", "Recovery", "TornTail", "Details", "PathLike"]

PathLike = Union[str, "os.PathLike[str]"]
#: Details of an entry: a JSON-serialisable object, or a JSON text.
Details = Union[Mapping[str, Any], List[Any], str, None]


class Head(NamedTuple):
    """The chain head: the last entry's seq (= number of entries) and the
    hash of the last record (lowercase hex). Keep it outside the log and pass
    it to :func:`evident.verify` as ``expected_head`` to detect truncation."""

    seq: int
    hash: str


class TornTail(NamedTuple):
    """An incomplete last record moved out of the log into ``sidecar``."""

    offset: int
    length: int
    sidecar: str


class Recovery(NamedTuple):
    """What opening the log (or, in shared mode, a later append) repaired."""

    created: bool
    torn: List[TornTail]


def _choice(table: Mapping[Any, int], value: Any, name: str) -> int:
    try:
        return table[value]
    except (KeyError, TypeError):
        names = ", ".join(repr(k) for k in table if k is not None)
        raise InvalidArgumentError(f"`{name}` must be one of {names}, not {value!r}") from None


# Times: the package's one rule (naive datetimes refused), in _convert.
_ts_text = ts_text


#: One encoder for every call: ``json.dumps`` with keyword arguments builds a
#: new ``JSONEncoder`` each time. ``encode`` keeps no state between calls, so
#: the instance is safe to share between threads. Its output never holds a
#: raw NUL (U+0000 is always escaped).
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_encode_json = _ENCODER.encode


def _json_text(value: Any, name: str) -> str:
    try:
        return _encode_json(value)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"`{name}` cannot be written as JSON: {e}") from None
    except RecursionError:
        # Raised by the encoder for deeply nested lists and dicts (Python's
        # recursion limit); the caller's mistake, not an internal failure.
        raise InvalidArgumentError(
            f"`{name}` cannot be written as JSON: it is nested too deeply"
        ) from None


def _head(h: N.evident_head) -> Head:
    # tuple.__new__ skips the Python-level Head.__new__; same object.
    return _new_tuple(Head, (h.seq, h.hash.decode("ascii")))


_new_tuple = tuple.__new__
_Event = N.evident_event
_HeadStruct = N.evident_head
_byref = ctypes.byref

_STR_FIELDS = (
    "event_type",
    "action",
    "actor",
    "host",
    "session_id",
    "source",
    "error",
    "note",
    "git_commit",
)


class AuditLog(Managed):
    """An open audit log (a writer).

    Opens the log at ``path``, creating it unless ``create=False``; opening
    takes the lock and recovers the tail (a torn last record is moved into a
    sidecar file, see :attr:`recovery`).

    :param framing: ``"jsonl"``, ``"binary"`` or ``None`` (new logs: binary
        for ``.evl`` / ``.bin`` paths, else JSONL; existing logs: the file's).
    :param key: the HMAC key (at least 16 bytes) of a keyed log.
    :param alg: ``"sha256"``, ``"hmac-sha256"`` or ``"hmac-sha512"`` for a new
        log (``None``: HMAC-SHA256 with a key, SHA-256 without).
    :param durability: ``"sync"`` (every append is on disk when it returns),
        ``"group"`` (concurrent appenders share fsyncs, each still durable on
        return) or ``"buffered"`` (durable after :meth:`sync` / :meth:`close`).
    :param lock: ``"exclusive"`` (one writer holds the log while open) or
        ``"shared"`` (several processes append; each append locks briefly).
    :param lock_timeout: seconds to wait for the lock (``None``: the library's
        default, 0 for exclusive and 10 s for shared mode).
    :param create: create the log when missing. ``create_new``: fail when it
        exists.
    :param actor: / :param host: defaults for entries that name none (the OS
        user and the host name otherwise).
    :param buffer_size: bytes buffered in ``"buffered"`` mode.

    One object may be used from several threads: appends are serialised by
    the library, and :meth:`close` waits for calls in flight. Use it as a
    context manager, or call :meth:`close`.

    An ``AuditLog`` belongs to the process that opened it: after
    ``os.fork()`` the child's calls raise :class:`~evident.errors.ForkedError`
    and write nothing (parent and child would otherwise append from the same
    head). Open the log again in the child, with ``lock="shared"`` if the
    parent keeps writing; :class:`~evident.AuditHandler` does this by itself.
    """

    _free_fn = staticmethod(N.lib.evident_log_free)
    _what = "AuditLog"

    def __init__(
        self,
        path: PathLike,
        *,
        framing: Optional[str] = None,
        key: Optional[bytes] = None,
        alg: Optional[str] = None,
        durability: str = "sync",
        lock: str = "exclusive",
        lock_timeout: Optional[float] = None,
        create: bool = True,
        create_new: bool = False,
        actor: Optional[str] = None,
        host: Optional[str] = None,
        buffer_size: Optional[int] = None,
    ) -> None:
        lib = N.lib
        raw_path = N.path_arg(path)
        # What a forked child needs to open the same log again.
        self._open_args: Tuple[PathLike, Dict[str, Any]] = (
            path,
            dict(
                framing=framing,
                key=key,
                alg=alg,
                durability=durability,
                lock=lock,
                lock_timeout=lock_timeout,
                create=create,
                actor=actor,
                host=host,
                buffer_size=buffer_size,
            ),
        )
        framing_v = _choice(N.FRAMING, framing, "framing")
        alg_v = _choice(N.ALG, alg, "alg")
        durability_v = _choice(N.DURABILITY, durability, "durability")
        lock_v = _choice(N.LOCK_MODE, lock, "lock")
        key_buf, key_len = N.key_arg(key)
        actor_b = N.text(actor, "actor")
        host_b = N.text(host, "host")
        timeout_ms: Optional[int] = None
        if lock_timeout is not None:
            if isinstance(lock_timeout, bool) or not isinstance(lock_timeout, (int, float)):
                raise InvalidArgumentError("`lock_timeout` must be a number of seconds")
            if math.isnan(lock_timeout) or lock_timeout < 0:
                raise InvalidArgumentError(f"`lock_timeout` must be >= 0, got {lock_timeout}")
            timeout_ms = (
                N.UINT64_MAX if math.isinf(lock_timeout) else int(round(lock_timeout * 1000))
            )
        if buffer_size is not None:
            N.unsigned(buffer_size, "buffer_size", N.SIZE_MAX)

        opts = ctypes.c_void_p()
        N.check(lib.evident_open_options_new(ctypes.byref(opts)))
        try:
            N.check(lib.evident_open_options_set_framing(opts, framing_v))
            N.check(lib.evident_open_options_set_alg(opts, alg_v))
            N.check(lib.evident_open_options_set_durability(opts, durability_v))
            N.check(lib.evident_open_options_set_lock_mode(opts, lock_v))
            if key is not None:
                N.check(lib.evident_open_options_set_key(opts, key_buf, key_len))
            if timeout_ms is not None:
                N.check(lib.evident_open_options_set_lock_timeout_ms(opts, timeout_ms))
            N.check(lib.evident_open_options_set_create(opts, bool(create)))
            N.check(lib.evident_open_options_set_create_new(opts, bool(create_new)))
            if actor_b is not None:
                N.check(lib.evident_open_options_set_actor(opts, actor_b))
            if host_b is not None:
                N.check(lib.evident_open_options_set_host(opts, host_b))
            if buffer_size is not None:
                N.check(lib.evident_open_options_set_buffer_size(opts, buffer_size))
            handle = ctypes.c_void_p()
            N.check(lib.evident_log_open(raw_path, opts, ctypes.byref(handle)))
        finally:
            lib.evident_open_options_free(opts)
        self._set_handle(handle.value)  # type: ignore[arg-type]
        ptr = handle.value
        # Immutable for the life of the handle: read once.
        self._path = N.decode(lib.evident_log_path(ptr)) or ""
        self._log_id = N.decode(lib.evident_log_log_id(ptr)) or ""
        self._key_id = N.decode(lib.evident_log_key_id(ptr))
        self._framing = N.FRAMING_NAMES.get(lib.evident_log_framing(ptr), "unknown")
        self._alg = N.ALG_NAMES.get(lib.evident_log_alg(ptr), "unknown")
        self._final_head: Optional[Head] = None
        self._final_recovery: Optional[Recovery] = None

    # -- appending ---------------------------------------------------------

    def log(
        self,
        event_type: str,
        action: str = "",
        *,
        session_id: str = "",
        source: str = "",
        actor: Optional[str] = None,
        host: Optional[str] = None,
        details: Details = None,
        otr: bool = False,
        success: Optional[bool] = None,
        duration_ms: Optional[float] = None,
        error: Optional[str] = None,
        note: Optional[str] = None,
        git_commit: Optional[str] = None,
        ts: Union[datetime, str, None] = None,
    ) -> Head:
        """Appends one entry and returns the new head (its seq and hash).

        ``details`` is a JSON-serialisable object (usually a dict) or a JSON
        text; ``None`` (no details) writes ``{}``, the JSON text ``"null"``
        writes ``null``. ``actor`` / ``host`` default to the
        log's. ``ts`` (timezone-aware) is for imports; it defaults to now.
        In the durable modes the entry is on disk when this returns.
        """
        fields = (event_type, action, actor, host, session_id, source, error, note, git_commit)
        ev = _Event()  # every pointer starts NULL (= unset)
        for name, value in zip(_STR_FIELDS, fields):
            if value is None:
                continue
            if not isinstance(value, str):
                raise InvalidArgumentError(f"`{name}` must be a str, not {type(value).__name__}")
            if "\x00" in value:
                # A C string cannot carry U+0000; the JSON form can. (It
                # checks the remaining fields' types in the same order.)
                return self._log_as_json(fields, details, otr, success, duration_ms, ts)
            # Lone surrogates pass through so that the library reports them.
            setattr(ev, name, value.encode("utf-8", "surrogatepass"))
        if details is not None:
            if isinstance(details, str):
                ev.details_json = N.text(details, "details")
            else:
                ev.details_json = _json_text(details, "details").encode("utf-8", "surrogatepass")
        if ts is not None:
            ev.ts = N.text(_ts_text(ts), "ts")
        ev.otr = bool(otr)
        if success is not None:
            ev.has_success = True
            ev.success = bool(success)
        if duration_ms is not None:
            if isinstance(duration_ms, bool) or not isinstance(duration_ms, (int, float)):
                raise InvalidArgumentError("`duration_ms` must be a number")
            ev.has_duration_ms = True
            ev.duration_ms = float(duration_ms)
        head = _HeadStruct()
        ptr = self._acquire()
        try:
            status = N.lib.evident_log_append(ptr, _byref(ev), _byref(head))
            if status:
                N.raise_status(status)
        finally:
            self._release()
        return _head(head)

    append = log

    def _log_as_json(
        self,
        fields: Tuple[Optional[str], ...],
        details: Details,
        otr: bool,
        success: Optional[bool],
        duration_ms: Optional[float],
        ts: Union[datetime, str, None],
    ) -> Head:
        obj: Dict[str, Any] = {}
        for name, value in zip(_STR_FIELDS, fields):
            if value is not None:
                if not isinstance(value, str):
                    raise InvalidArgumentError(
                        f"`{name}` must be a str, not {type(value).__name__}"
                    )
                obj[name] = value
        if details is not None:
            if isinstance(details, str):
                try:
                    obj["details"] = json.loads(details)
                except ValueError as e:
                    raise InvalidArgumentError(f"details is not valid JSON: {e}") from None
                except RecursionError:
                    raise InvalidArgumentError(
                        "details is not valid JSON for evident: it is nested too deeply"
                    ) from None
            else:
                obj["details"] = details
        if otr:
            obj["otr"] = True
        if success is not None:
            obj["success"] = bool(success)
        if duration_ms is not None:
            obj["duration_ms"] = duration_ms
        if ts is not None:
            obj["ts"] = _ts_text(ts)
        return self.append_json(obj)

    def append_json(self, event: Union[Mapping[str, Any], str]) -> Head:
        """Appends one entry given as a JSON object (a dict or its JSON text)
        with the fields of an event: ``event_type``, ``action``, ``actor``,
        ``host``, ``session_id``, ``source``, ``otr``, ``success``,
        ``duration_ms``, ``error``, ``note``, ``git_commit``, ``details``,
        ``ts``. Unknown fields are refused (:class:`InvalidArgumentError`)."""
        text = event if isinstance(event, str) else _json_text(event, "event")
        if "\x00" in text:
            # Only a raw NUL, which is never valid JSON, can be here.
            raise InvalidArgumentError("event JSON contains a raw NUL character")
        raw = text.encode("utf-8", "surrogatepass")
        head = _HeadStruct()
        ptr = self._acquire()
        try:
            status = N.lib.evident_log_append_json(ptr, raw, _byref(head))
            if status:
                N.raise_status(status)
        finally:
            self._release()
        return _head(head)

    # -- state -------------------------------------------------------------

    def sync(self) -> None:
        """Writes buffered entries and makes everything appended so far durable."""
        ptr = self._acquire()
        try:
            N.check(N.lib.evident_log_sync(ptr))
        finally:
            self._release()

    def head(self) -> Head:
        """The current head (including buffered entries). After :meth:`close`,
        the final head."""
        if self._final_head is not None and self.closed:
            return self._final_head
        ptr = self._acquire()
        try:
            return self._head_of(ptr)
        finally:
            self._release()

    @staticmethod
    def _head_of(ptr: int) -> Head:
        head = N.evident_head()
        N.check(N.lib.evident_log_head(ptr, ctypes.byref(head)))
        return _head(head)

    @property
    def recovery(self) -> Recovery:
        """Whether this open created the log, and every torn tail moved aside
        (offset, length, sidecar path) by this handle."""
        if self._final_recovery is not None and self.closed:
            return self._final_recovery
        ptr = self._acquire()
        try:
            return self._recovery_of(ptr)
        finally:
            self._release()

    @staticmethod
    def _recovery_of(ptr: int) -> Recovery:
        lib = N.lib
        rec = ctypes.c_void_p()
        N.check(lib.evident_log_recovery(ptr, ctypes.byref(rec)))
        try:
            torn = []
            for i in range(lib.evident_recovery_torn_count(rec)):
                off, length, side = ctypes.c_uint64(), ctypes.c_uint64(), ctypes.c_char_p()
                N.check(
                    lib.evident_recovery_torn_tail(
                        rec, i, ctypes.byref(off), ctypes.byref(length), ctypes.byref(side)
                    )
                )
                torn.append(TornTail(off.value, length.value, N.decode(side.value) or ""))
            return Recovery(bool(lib.evident_recovery_created(rec)), torn)
        finally:
            lib.evident_recovery_free(rec)

    @property
    def path(self) -> str:
        """The log's path as given when opening."""
        return self._path

    @property
    def log_id(self) -> str:
        """The log id from the genesis record (32 hex digits)."""
        return self._log_id

    @property
    def key_id(self) -> Optional[str]:
        """The key id of a keyed log (identifies the key without revealing it)."""
        return self._key_id

    @property
    def framing(self) -> str:
        """``"jsonl"`` or ``"binary"``."""
        return self._framing

    @property
    def alg(self) -> str:
        """``"sha256"``, ``"hmac-sha256"`` or ``"hmac-sha512"``."""
        return self._alg

    # -- closing -----------------------------------------------------------

    def _closing(self, ptr: int) -> None:
        # Runs once no other call is in flight: keep what stays readable,
        # then flush, sync and unlock (errors of the final sync are raised).
        self._final_head = self._head_of(ptr)
        self._final_recovery = self._recovery_of(ptr)
        N.check(N.lib.evident_log_close(ptr))

    def close(self) -> None:
        """Flushes, syncs, releases the lock and frees the handle. Later
        appends raise :class:`~evident.errors.ClosedError`; closing twice is
        fine. Waits for appends running in other threads to finish first."""
        super().close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<evident.AuditLog {self._path!r} {self._framing} {self._alg} {state}>"
