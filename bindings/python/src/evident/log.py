"""Writing: :class:`AuditLog` (``evident_log_*`` of the C ABI)."""

from __future__ import annotations

import atexit
import ctypes
import enum
import json
import json.encoder as _json_encoder
import os
import sys
import uuid
import weakref
from contextlib import suppress
from datetime import datetime
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple, Union

from . import _native as N
from ._convert import ts_text
from ._managed import Managed
from .errors import ClosedError, ForkedError, InvalidArgumentError

__all__ = ["AuditLog", "Head", "Recovery", "TornTail", "Truncated", "Details", "PathLike"]

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


class Truncated(NamedTuple):
    """The log was found shorter than the length an earlier writer had made
    durable: bytes were removed from its end after they were synced, which
    no crash does (a truncation, or an older copy put in its place)."""

    durable_length: int
    length: int


class Recovery(NamedTuple):
    """What opening the log (or, in shared mode, a later append) repaired.
    ``truncated`` (a :class:`Truncated`, else ``None``): the log was cut
    below its durable length; open recovered as always and says so once."""

    created: bool
    torn: List[TornTail]
    truncated: Optional[Truncated] = None


def _choice(table: Mapping[Any, int], value: Any, name: str) -> int:
    try:
        return table[value]
    except (KeyError, TypeError):
        names = ", ".join(repr(k) for k in table if k is not None)
        raise InvalidArgumentError(f"`{name}` must be one of {names}, not {value!r}") from None


# Times: the package's one rule (naive datetimes refused), in _convert.
_ts_text = ts_text


def _default(o: Any) -> Any:
    """What the encoders write for values that are not JSON types: an
    enum as its value, a UUID as its text (as orjson does natively, so that
    both encoders accept the same values); anything else is refused."""
    if isinstance(o, enum.Enum):
        return o.value
    if isinstance(o, uuid.UUID):
        return str(o)
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def _fast_encoder(sort_keys: bool) -> Any:
    """``JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",",
    ":"), check_circular=False, default=_default).encode``, minus its
    per-call overhead.

    ``JSONEncoder.encode`` builds a new C encoder (and a closure) on every
    call; this builds the C encoder once and calls it directly, which gives
    the same text. Without the circular check (a dict per call) a value that
    contains itself raises RecursionError, which the callers turn into a
    clear error (:func:`_recursion_error`). The encoder keeps no state
    between calls, so one instance serves every thread. Its output never
    holds a raw NUL (U+0000 is always escaped). Falls back to
    ``JSONEncoder.encode`` where the C encoder is missing or differs.
    """
    enc = json.JSONEncoder(
        ensure_ascii=False,
        allow_nan=False,
        separators=(",", ":"),
        sort_keys=sort_keys,
        check_circular=False,
        default=_default,
    )
    try:
        from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]

        if c_make_encoder is None:
            return enc.encode
        c_enc = c_make_encoder(
            None, _default, encode_basestring, None, ":", ",", sort_keys, False, False
        )

        def encode(o: Any, _c: Any = c_enc, _join: Any = "".join) -> str:
            return _join(_c(o, 0))

        probe = {"b": [1, 2.5, None, True, "\u00e9\x00\n"], "a": {"z": -1, "y": ""}}
        for p in (probe, "x", 1, None, [probe]):
            if encode(p) != enc.encode(p):
                return enc.encode
        try:
            encode({"f": float("nan")})
            return enc.encode  # NaN must be refused
        except ValueError:
            pass
        return encode
    except Exception:  # noqa: BLE001 - any surprise: the documented path
        return enc.encode


#: One encoder for every call (see :func:`_fast_encoder`).
_encode_json = _fast_encoder(False)

#: Events are written with sorted keys, so that their details reach the
#: library already in canonical form (spec § 5.4) and are written as given
#: after a one-pass check instead of being parsed and written again.
_encode_sorted = _fast_encoder(True)


def _orjson_dumps() -> Any:
    """``orjson.dumps`` when orjson is installed (``pip install
    evident-audit[fast]``) and reads back as the standard encoder's output
    on a probe of every JSON type; else None.

    orjson is 5-8 times faster than the standard encoder. It is used only
    with options under which it either writes what the standard encoder
    writes or raises: subclasses of str, int, dict and list (IntEnum, ...),
    datetimes, dataclasses, numpy values, integers beyond 64 bits, lone
    surrogates, keys that are not strings and nesting beyond 254 levels
    make it raise, and the caller then uses the standard encoder, which
    gives the text or the error it always gave. orjson writes NaN and the
    infinities as ``null``, so output that contains ``null`` is also
    encoded again the standard way (which refuses them); for batches the
    library looks for the ``null`` itself, much faster than a search here
    (``evident_log_append_json_array_no_null``). Numbers may be
    spelt differently by the two encoders (``1e-05`` / ``0.00001``); the
    library writes every number in its canonical form (spec § 5.2), so the
    entry written is the same.
    """
    try:
        import orjson  # type: ignore[import-not-found]

        opts = (
            orjson.OPT_SORT_KEYS
            | orjson.OPT_PASSTHROUGH_DATETIME
            | orjson.OPT_PASSTHROUGH_DATACLASS
            | orjson.OPT_PASSTHROUGH_SUBCLASS
        )
        dumps = orjson.dumps

        def fast(o: Any, _d: Any = dumps, _o: int = opts) -> bytes:
            return _d(o, option=_o)  # type: ignore[no-any-return]

        probe = [
            {"b": [1, -2, 2.5, 0.1, 1e-05, 1e16, -0.0, 5e-324, 1.7976931348623157e308]},
            {"z": None, "a": True, "m": False, "\u00e9": "\u00e9\u2028/\"\\\x00\x1f\x7f\b\t\n\f\r"},
            [2**63 - 1, -(2**63), 2**64 - 1, "", [], {}, (1, "t")],
            {"x": {"k": [[["deep"]]]}, "A": 1, "a": 2, "\U0001f600": "\U0001f600"},
        ]
        for p in probe:
            if json.loads(fast(p)) != json.loads(_encode_sorted(p)):
                return None
        for bad in (2**64, "\ud800", {1: 1}, datetime.now()):
            try:
                fast([bad])
                return None  # must be left to the standard encoder
            except TypeError:
                pass
        for bad in (float("nan"), float("inf")):
            if b"null" not in fast([bad]):  # the caller's check depends on it
                return None
        return fast
    except Exception:  # noqa: BLE001 - not installed, or anything unexpected: standard encoder
        return None


#: orjson's ``dumps`` with sorted keys, or None (see :func:`_orjson_dumps`).
_fast_dumps = _orjson_dumps()


def _sorted_bytes(o: Any) -> bytes:
    """``o`` as JSON with sorted keys, UTF-8 (lone surrogates passed through
    for the library to name); raises what :data:`_encode_sorted` raises."""
    fast = _fast_dumps
    if fast is not None:
        try:
            b = fast(o)
        except TypeError:  # orjson.JSONEncodeError: the standard encoder decides
            pass
        else:
            if b"null" not in b:  # null may stand for NaN or infinity
                return b  # type: ignore[no-any-return]
    return _std_sorted_bytes(o)


def _std_sorted_bytes(o: Any) -> bytes:
    """``o`` as JSON with sorted keys by the standard encoder (NaN and the
    infinities refused), UTF-8 with lone surrogates passed through."""
    return _encode_sorted(o).encode("utf-8", "surrogatepass")


def _no_c_escape(value: Any) -> str:
    """Without the C accelerator: the general path for every call."""
    raise TypeError


#: A str as a JSON string (ensure_ascii=False): the C encoder's own
#: string function, which raises TypeError for anything but a str.
_q: Any = getattr(_json_encoder, "c_encode_basestring", None) or _no_c_escape

#: With the circular check: only to explain a RecursionError.
_encode_checked = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def _recursion_error(value: Any, name: str) -> InvalidArgumentError:
    """The error for a RecursionError while encoding ``value``: a value
    that contains itself, or one nested deeper than Python's recursion
    limit."""
    why = "it is nested too deeply"
    try:
        _encode_checked(value)
    except ValueError as e:
        if "ircular" in str(e):
            why = "it contains itself (a circular reference)"
    except Exception:  # noqa: BLE001 - RecursionError, TypeError: as above
        pass
    return InvalidArgumentError(f"`{name}` cannot be written as JSON: {why}")


def _event_text(obj: Dict[str, Any]) -> str:
    """The JSON text of one event object (details serialised once)."""
    try:
        return _encode_sorted(obj)
    except TypeError:
        # Keys that cannot be sorted (mixed types): the library sorts them.
        return _json_text(obj, "event")
    except ValueError as e:
        raise InvalidArgumentError(f"`event` cannot be written as JSON: {e}") from None
    except RecursionError:
        raise _recursion_error(obj, "event") from None


def _json_text(value: Any, name: str) -> str:
    try:
        return _encode_json(value)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"`{name}` cannot be written as JSON: {e}") from None
    except RecursionError:
        # A value that contains itself, or nested deeper than Python's
        # recursion limit: the caller's mistake, not an internal failure.
        raise _recursion_error(value, name) from None


def _head(h: N.evident_head) -> Head:
    # tuple.__new__ skips the Python-level Head.__new__; same object.
    return _new_tuple(Head, (h.seq, h.hash.decode("ascii")))


def _duration(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError("`duration_ms` must be a number")
    return float(value)


_BATCH_KEYS = frozenset(
    (
        "event_type",
        "action",
        "actor",
        "host",
        "session_id",
        "source",
        "otr",
        "success",
        "duration_ms",
        "error",
        "note",
        "git_commit",
        "details",
        "ts",
    )
)


def _batch_line(ev: Union[Mapping[str, Any], str]) -> str:
    """One event of a batch as a one-line JSON object."""
    if isinstance(ev, str):
        if "\n" in ev or "\r" in ev:
            # Pretty-printed: one line (whitespace between tokens only).
            try:
                ev = _json_text(json.loads(ev), "event")
            except ValueError as e:
                raise InvalidArgumentError(f"event JSON is not valid JSON: {e}") from None
        if "\x00" in ev:
            raise InvalidArgumentError("event JSON contains a raw NUL character")
        return ev
    if type(ev) is dict and ev.keys() <= _BATCH_KEYS:
        # The common case needs no copy: plain fields and JSON-ready details.
        d = ev.get("details", _BATCH_KEYS)
        if (
            d is not None
            and d.__class__ is not str
            and "ts" not in ev
            and "duration_ms" not in ev
            and "success" not in ev
        ):
            return _event_text(ev)
    if not isinstance(ev, Mapping):
        raise InvalidArgumentError(
            f"an event must be a mapping or a JSON text, not {type(ev).__name__}"
        )
    obj = dict(ev)
    unknown = obj.keys() - _BATCH_KEYS
    if unknown:
        raise InvalidArgumentError(f"unknown event field(s): {', '.join(sorted(map(str, unknown)))}")
    details = obj.get("details")
    if details.__class__ is str:
        try:
            obj["details"] = json.loads(details)
        except ValueError as e:
            raise InvalidArgumentError(f"details is not valid JSON: {e}") from None
        except RecursionError:
            raise InvalidArgumentError(
                "details is not valid JSON for evident: it is nested too deeply"
            ) from None
    elif details is None:
        obj.pop("details", None)
    for k in ("actor", "host", "error", "note", "git_commit", "success", "duration_ms", "ts"):
        if obj.get(k, 0) is None:
            del obj[k]
    if "duration_ms" in obj:
        obj["duration_ms"] = _duration(obj["duration_ms"])
    if "success" in obj:
        obj["success"] = bool(obj["success"])
    if "ts" in obj:
        obj["ts"] = _ts_text(obj["ts"])
    return _event_text(obj)


_new_tuple = tuple.__new__
_append_json = N.lib.evident_log_append_json
# The same function without argtypes, for the one-call append: its
# arguments are passed ready-made (the handle as a c_void_p kept by the
# log, the text as bytes, the head by reference), which skips the
# conversion of each argument on every call.
_append_json_raw = N.lib._FuncPtr(("evident_log_append_json", N.lib))
_append_json_raw.restype = _append_json.restype
_Event = N.evident_event
#: evident_log_append_json_array (ABI 1.7), or None with an older library.
_append_array = None if N._array_missing else N.lib.evident_log_append_json_array
#: evident_log_append_json_array_no_null (ABI 1.12), or None: the library
#: refuses a batch holding a null, so that orjson's output (where null may
#: stand for NaN or an infinity) needs no search in Python.
_append_array_no_null = (
    None if N._array_no_null_missing else N.lib.evident_log_append_json_array_no_null
)
_INVALID_ARGUMENT = 6  # EVIDENT_STATUS_INVALID_ARGUMENT
_HeadStruct = N.evident_head
_HEAD_SIZE = ctypes.sizeof(_HeadStruct)
_HASH_AT = _HeadStruct.hash.offset


def _heads_of(heads: Any, n: int) -> List[Head]:
    """The heads of a batch from the array the library filled: one copy of
    the array, the hashes sliced from it (field access through ctypes costs
    more than the rest of building a head)."""
    raw = bytes(heads)
    hash_len = raw.index(b"\0", _HASH_AT) - _HASH_AT  # same for every entry
    text = raw.decode("latin-1")  # ASCII hex digits; one decode
    seqs = memoryview(raw).cast("Q")[:: _HEAD_SIZE // 8]
    return [
        _new_tuple(Head, (seq, text[at : at + hash_len]))
        for seq, at in zip(seqs, range(_HASH_AT, n * _HEAD_SIZE, _HEAD_SIZE))
    ]
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
        log (``None``: HMAC-SHA256 with a key, SHA-256 without); an existing
        log using another one is refused, as a framing is.
    :param durability: ``"sync"`` (every append is on disk when it returns),
        ``"group"`` (concurrent appenders share fsyncs, each still durable on
        return) or ``"buffered"`` (durable after :meth:`sync` / :meth:`close`).
    :param lock: ``"exclusive"`` (one writer holds the log while open) or
        ``"shared"`` (several processes append; each append locks briefly).
    :param lock_timeout: seconds to wait for the lock (``None``: the library's
        default, 0 for exclusive and 10 s for shared mode).
    :param create: create the log when missing. ``create_new``: fail when it
        exists.
    :param adopt_empty: create the log in place of an existing *empty* file
        instead of refusing it ("file is empty: not an evident log"), for
        code that makes the file first (``tempfile.mkstemp``, ``touch``).
        The empty file is replaced atomically, its permission bits kept
        (one you may not write is refused unchanged).
        The cost: a log truncated to zero bytes then restarts as a new log
        instead of being refused, unless its lock file records bytes made
        durable (then it is refused as truncated). The compatibility
        modules turn it on.
    :param actor: / :param host: defaults for entries that name none (the OS
        user and the host name otherwise).
    :param buffer_size: bytes buffered in ``"buffered"`` mode.
    :param commit_delay: ``"group"`` mode: seconds (0..1) the thread about to
        fsync waits first when other appenders wait too, so that more
        entries share one fsync (like PostgreSQL's ``commit_delay``).
    :param checkpoint: an :class:`evident.checkpoint.AutoCheckpoint`: sign
        checkpoints automatically (every N entries, every T seconds, at
        close); see :meth:`checkpoint_error`.

    One object may be used from several threads: appends are serialised by
    the library, and :meth:`close` waits for calls in flight. Use it as a
    context manager, or call :meth:`close`. A log left open at interpreter
    exit is closed then (flushed, synced, unlocked), after every
    :class:`~evident.AuditHandler` still writing into it has been closed by
    ``logging.shutdown``.

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
        adopt_empty: bool = False,
        actor: Optional[str] = None,
        host: Optional[str] = None,
        buffer_size: Optional[int] = None,
        commit_delay: Optional[float] = None,
        checkpoint: Optional[Any] = None,
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
                adopt_empty=adopt_empty,
                actor=actor,
                host=host,
                buffer_size=buffer_size,
                commit_delay=commit_delay,
                checkpoint=checkpoint,
            ),
        )
        framing_v = _choice(N.FRAMING, framing, "framing")
        alg_v = _choice(N.ALG, alg, "alg")
        durability_v = _choice(N.DURABILITY, durability, "durability")
        lock_v = _choice(N.LOCK_MODE, lock, "lock")
        key_buf, key_len = N.key_arg(key)
        actor_b = N.text(actor, "actor")
        host_b = N.text(host, "host")
        timeout_ms = None if lock_timeout is None else N.milliseconds(lock_timeout, "lock_timeout")
        if buffer_size is not None:
            N.unsigned(buffer_size, "buffer_size", N.SIZE_MAX)
        delay_us: Optional[int] = None
        if commit_delay is not None:
            if isinstance(commit_delay, bool) or not isinstance(commit_delay, (int, float)):
                raise InvalidArgumentError("`commit_delay` must be a number of seconds")
            if not 0 <= commit_delay <= 1:
                raise InvalidArgumentError(f"`commit_delay` must be 0..1 s, got {commit_delay}")
            delay_us = int(round(commit_delay * 1e6))

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
            if adopt_empty:
                N.check(lib.evident_open_options_set_adopt_empty(opts, True))
            if actor_b is not None:
                N.check(lib.evident_open_options_set_actor(opts, actor_b))
            if host_b is not None:
                N.check(lib.evident_open_options_set_host(opts, host_b))
            if buffer_size is not None:
                N.check(lib.evident_open_options_set_buffer_size(opts, buffer_size))
            if delay_us:
                N.check(N.batch_lib().evident_open_options_set_commit_delay_us(opts, delay_us))
            if checkpoint is not None:
                if not hasattr(checkpoint, "_apply"):
                    raise InvalidArgumentError("`checkpoint` must be an evident.checkpoint.AutoCheckpoint")
                checkpoint._apply(opts)
            handle = ctypes.c_void_p()
            N.check(lib.evident_log_open(raw_path, opts, ctypes.byref(handle)))
        finally:
            lib.evident_open_options_free(opts)
        self._set_handle(handle.value)  # type: ignore[arg-type]
        # Not freed by weakref.finalize at interpreter exit: appends read
        # ``_ptr`` without a lock, so a handle freed at exit while a logging
        # handler (closed later, by logging's own atexit hook) still holds
        # the object would be used after free. :func:`_close_at_exit` closes
        # it properly instead (see there).
        self._finalizer.atexit = False  # type: ignore[union-attr]
        #: The live AuditHandlers writing into this log (see _close_at_exit).
        self._handlers: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self._pid = os.getpid()
        self._cptr = ctypes.c_void_p(handle.value)  # for _append_text
        _OPEN_LOGS.add(self)
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
        if details.__class__ is str:
            # A JSON text: passed as text (checked by the library alone).
            return self._log_fields(
                (event_type, action, actor, host, session_id, source, error, note, git_commit),
                details,
                otr,
                success,
                duration_ms,
                ts,
            )
        # The common case: the event's JSON text put together from its
        # fields (each string escaped by the C encoder's string function, the
        # details by the sorted C encoder), without an event dict to sort
        # and walk. Anything unusual (a field that is not a str, details the
        # sorted encoder refuses, a duration or a datetime) takes the general
        # path below, which gives the same text or the same error.
        try:
            q = _q
            t = (
                f'{{"event_type":{q(event_type)},"action":{q(action)},'
                f'"session_id":{q(session_id)},"source":{q(source)}'
            )
            if actor is not None:
                t += f',"actor":{q(actor)}'
            if host is not None:
                t += f',"host":{q(host)}'
            if error is not None:
                t += f',"error":{q(error)}'
            if note is not None:
                t += f',"note":{q(note)}'
            if git_commit is not None:
                t += f',"git_commit":{q(git_commit)}'
            if otr:
                t += ',"otr":true'
            if success is not None:
                t += ',"success":true' if success else ',"success":false'
            if duration_ms is not None or ts.__class__ is not str and ts is not None:
                raise TypeError  # the general path converts them
            if ts is not None:
                t += f',"ts":{q(ts)}'
            if details is None:
                raw = (t + "}").encode("utf-8", "surrogatepass")
            else:
                raw = (t + ',"details":').encode("utf-8", "surrogatepass")
                raw += _sorted_bytes(details) + b"}"
        except (TypeError, ValueError, RecursionError):
            pass
        else:
            return self._append_raw(raw)
        obj: Dict[str, Any] = {
            "event_type": "" if event_type is None else event_type,
            "action": "" if action is None else action,
            "session_id": "" if session_id is None else session_id,
            "source": "" if source is None else source,
        }
        if actor is not None:
            obj["actor"] = actor
        if host is not None:
            obj["host"] = host
        if error is not None:
            obj["error"] = error
        if note is not None:
            obj["note"] = note
        if git_commit is not None:
            obj["git_commit"] = git_commit
        if details is not None:
            obj["details"] = details
        if otr:
            obj["otr"] = True
        if success is not None:
            obj["success"] = bool(success)
        if duration_ms is not None:
            if duration_ms.__class__ is not float:
                duration_ms = _duration(duration_ms)
            obj["duration_ms"] = duration_ms
        if ts is not None:
            obj["ts"] = _ts_text(ts)
        try:
            text = _event_text(obj)
        except InvalidArgumentError:
            if details is not None:
                _json_text(details, "details")  # raises, naming the details
            raise
        return self._append_text(text)

    def _append_text(self, text: str) -> Head:
        return self._append_raw(text.encode("utf-8", "surrogatepass"))

    def _append_raw(self, raw: bytes) -> Head:
        """One FFI call, no Python lock: the native handle is thread-safe,
        and ctypes releases the GIL during the call (see :meth:`close`)."""
        ptr = self._ptr
        if ptr is None:
            raise ClosedError("this AuditLog is closed")
        head = _HeadStruct()
        status = _append_json_raw(self._cptr, raw, _byref(head))
        if status:
            N.raise_status(status)
        return _head(head)

    def log_many(self, events: Iterable[Union[Mapping[str, Any], str]]) -> List[Head]:
        """Appends several entries as one batch: one call into the library,
        one write and, in the durable modes, one fsync for all of them.
        Returns every entry's head, in order.

        Each event is a mapping with the keyword arguments of :meth:`log`
        (``event_type``, ``action``, ``details``, ``ts``, ...; ``details``
        may be a JSON text) or the JSON text of an event
        (:meth:`append_json`). All or nothing: an invalid event raises
        :class:`InvalidArgumentError` naming it and nothing is written; on
        success in the durable modes every entry is on disk. A crash during
        the call may leave a prefix of the batch in the log (never reported
        as durable): check :meth:`head` before retrying a failed batch."""
        evs = events if events.__class__ is list else list(events)
        if evs and _append_array is not None:
            heads = self._log_many_array(evs)
            if heads is not None:
                return heads
        lines = []
        for i, ev in enumerate(evs):
            try:
                lines.append(_batch_line(ev))
            except InvalidArgumentError as e:
                raise InvalidArgumentError(f"event {i} of the batch: {e}") from None
        n = len(lines)
        if n == 0:
            if self._ptr is None:
                raise ClosedError("this AuditLog is closed")
            return []
        raw = "\n".join(lines).encode("utf-8", "surrogatepass")
        heads = (_HeadStruct * n)()
        count = ctypes.c_size_t()
        ptr = self._ptr
        if ptr is None:
            raise ClosedError("this AuditLog is closed")
        status = N.batch_lib().evident_log_append_jsonl(
            ptr, raw, len(raw), heads, n, _byref(count)
        )
        if status:
            N.raise_status(status)
        return _heads_of(heads, n)

    append_many = log_many

    def _log_many_array(self, evs: List[Any]) -> Optional[List[Head]]:
        """The common batch in two calls: the whole list encoded by the
        sorted C encoder as one JSON array, split and checked by the library
        (``evident_log_append_json_array``). ``None`` when the general path
        must decide (an event that is not a plain dict, details given as a
        JSON text or None, anything the encoder or the library refuses); in
        that case nothing was written."""
        for ev in evs:
            if ev.__class__ is not dict:
                return None
            d = ev.get("details", _BATCH_KEYS)
            if d is None or d.__class__ is str:
                return None  # details as text or None: converted by the general path
        n = len(evs)
        heads = (_HeadStruct * n)()
        count = ctypes.c_size_t()
        ptr = self._ptr
        if ptr is None:
            raise ClosedError("this AuditLog is closed")
        fast = _fast_dumps
        encode = _sorted_bytes
        if fast is not None and _append_array_no_null is not None:
            encode = _std_sorted_bytes  # if orjson's output is refused
            try:
                raw = fast(evs)
            except TypeError:  # orjson.JSONEncodeError: the standard encoder decides
                pass
            else:
                status = _append_array_no_null(ptr, raw, len(raw), heads, n, _byref(count))
                if not status:
                    return _heads_of(heads, n)
                if status != _INVALID_ARGUMENT:
                    N.raise_status(status)
                # A null (None, or NaN written as null) or an invalid event:
                # nothing written; the standard encoder and the library decide.
        try:
            raw = encode(evs)
        except (TypeError, ValueError, RecursionError):
            return None
        status = _append_array(ptr, raw, len(raw), heads, n, _byref(count))
        if status:
            if status == _INVALID_ARGUMENT:
                return None  # nothing written: the general path names the error
            N.raise_status(status)
        return _heads_of(heads, n)

    def _log_fields(
        self,
        fields: Tuple[Optional[str], ...],
        details: Details,
        otr: bool,
        success: Optional[bool],
        duration_ms: Optional[float],
        ts: Union[datetime, str, None],
    ) -> Head:
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
            ev.has_duration_ms = True
            ev.duration_ms = _duration(duration_ms)
        head = _HeadStruct()
        ptr = self._ptr
        if ptr is None:
            raise ClosedError("this AuditLog is closed")
        status = N.lib.evident_log_append(ptr, _byref(ev), _byref(head))
        if status:
            N.raise_status(status)
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
        return self._append_text(text)

    # -- state -------------------------------------------------------------

    def sync(self) -> None:
        """Writes buffered entries and makes everything appended so far durable."""
        ptr = self._acquire()
        try:
            N.check(N.lib.evident_log_sync(ptr))
        finally:
            self._release()

    def checkpoint_error(self) -> Optional[str]:
        """The last failure to sign an automatic checkpoint (``checkpoint=``),
        or ``None`` when the last attempt succeeded. Appends succeed even
        when their checkpoint cannot be signed."""
        from .checkpoint import _checkpoint_error

        ptr = self._acquire()
        try:
            return _checkpoint_error(ptr)
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
        """Whether this open created the log, every torn tail moved aside
        (offset, length, sidecar path) by this handle, and whether open
        found the log cut below its durable length (``truncated``)."""
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
            durable, length = ctypes.c_uint64(), ctypes.c_uint64()
            cut = lib.evident_recovery_truncated(rec, ctypes.byref(durable), ctypes.byref(length))
            truncated = Truncated(durable.value, length.value) if cut else None
            return Recovery(bool(lib.evident_recovery_created(rec)), torn, truncated)
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
        # Flush, sync and unlock (errors of the final sync are raised), then
        # keep what stays readable: the head after the close includes every
        # append that lock-free callers saw succeed (the accessors work on a
        # closed handle).
        try:
            N.check(N.lib.evident_log_close(ptr))
        finally:
            # A handle inherited over fork() has nothing to keep (and its
            # close raised ForkedError): reading it would only fail again.
            with suppress(ForkedError):
                self._final_head = self._head_of(ptr)
                self._final_recovery = self._recovery_of(ptr)

    def close(self) -> None:
        """Flushes, syncs and releases the lock. Later appends raise
        :class:`~evident.errors.ClosedError`; closing twice is fine.

        Appends take no Python lock (the native handle is thread-safe): an
        append running in another thread either finishes before the close
        or fails with :class:`~evident.errors.ClosedError`. The handle is
        therefore freed when the object is garbage-collected, not here (no
        call can be using it then): until then it keeps the log's and the
        lock file's descriptors open (the lock itself is released here), so
        do not keep closed logs in a list by the hundred."""
        ptr = self._detach()
        if ptr is None:
            return
        self._closing(ptr)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<evident.AuditLog {self._path!r} {self._framing} {self._alg} {state}>"


#: Every AuditLog opened in this process and not yet collected.
_OPEN_LOGS: "weakref.WeakSet[AuditLog]" = weakref.WeakSet()
#: Set once the interpreter exits (by :func:`_close_at_exit`).
_exiting = False


def _exit_close(log: AuditLog) -> None:
    """Closes a log left open at exit; a failure is reported on stderr
    (its entries may not all be durable), never raised. In a forked child
    the inherited handle is left alone (closing it is the parent's business)."""
    if os.getpid() != log._pid:
        log._detach()
        return
    try:
        log.close()
    except Exception as e:  # noqa: BLE001 - at exit: report, go on
        try:
            sys.stderr.write(f"evident: closing {log.path} at exit failed: {e}\n")
        except Exception:  # noqa: BLE001
            pass


def _close_at_exit() -> None:
    """The safety net for logs left open at interpreter exit.

    A log still used by an open :class:`~evident.AuditHandler` is left open:
    ``logging.shutdown`` (another atexit hook, run in either order with this
    one) flushes and closes that handler, and the handler closes the log
    then (:meth:`AuditHandler.close`). Its buffered entries are written now
    all the same. Every other open log is closed here: flushed, synced and
    unlocked, like :meth:`AuditLog.close`. The memory of a handle is never
    freed at exit, so that a later call (from another exit hook or a daemon
    thread) raises ClosedError instead of using freed memory."""
    global _exiting
    _exiting = True
    for log in list(_OPEN_LOGS):
        if log.closed:
            continue
        if len(log._handlers):
            try:
                log.sync()
            except Exception:  # noqa: BLE001 - the handler's close reports it
                pass
            continue
        _exit_close(log)


atexit.register(_close_at_exit)
