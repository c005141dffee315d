"""TraceKit's API (``tracekit``, ``tracekit.session``, ``tracekit.core.audit``)
on evident: switch by changing the import line only::

    import tracekit as tk                  # before
    import evident.compat.tracekit as tk   # after

- :class:`AuditTrail` keeps TraceKit's HMAC chain (``previous_hash`` of the
  first entry ``"GENESIS"``, ``hmac`` = HMAC(key, ``timestamp|action|
  json.dumps(details, sort_keys=True)|user|host|previous_hash``), SHA-256 or
  SHA-512, computed and checked by the evident library), in memory as
  TraceKit's does; with ``path=`` every action is also an ordinary entry of
  the evident log at ``path`` (checked by ``evident verify``), and the trail
  is rebuilt from that log when it is opened again. Keys of any length are
  accepted in memory (a key shorter than 16 bytes gives a warning); a
  trail kept in a log (``path=``) needs at least 16 bytes, the log's HMAC
  key, and refuses a shorter one (the file could be rewritten unnoticed). ``export_audit_log`` writes TraceKit's JSON and CSV layouts, which
  TraceKit's own checker accepts. The HMAC input (TraceKit's
  ``json.dumps(details, sort_keys=True)``) is built by the library, so
  every interface computes the same HMAC; strings with a lone surrogate
  (``"\ud800"``) are kept in detail values as TraceKit keeps them, and
  refused in detail names. A trail with ``path=`` refuses, naming the
  value, details its log cannot hold exactly (integers beyond 64 bits,
  NaN and infinities, lone surrogates: spec § 5.2, § 5.5); reopened, its
  details come in the log's order (sorted by name, spec § 5.4), which
  TraceKit's HMAC does not see, so the chain is the same.
- :class:`Session` is evident's session container with TraceKit's defaults
  (``save()`` compresses, and makes up a path for a session never saved);
  traces are :class:`WaveformTrace` / :class:`DigitalTrace`; ``load_trace``
  reads CSV, ``.npy``, sigrok ``.sr`` and Tektronix ``.wfm``; an
  :class:`AnnotationLayer`'s ``color`` is the default colour of the
  annotations added to it (TraceKit's), by ``add`` or ``Session.annotate``,
  whose keyword arguments are the :class:`Annotation`'s fields
  (``metadata=`` included). As TraceKit's, measurements and metadata take
  any value: one JSON cannot hold (NaN from a measurement that could not
  be made, a naive datetime, a complex number) is saved as its text; a
  naive ``created_at`` or history ``timestamp`` (TraceKit's
  ``datetime.now()``) is local time. ``OperationHistory(entries,
  max_entries, auto_record)`` and ``Session(name, traces,
  annotation_layers, measurements, history, metadata)`` take TraceKit's
  dataclass fields. TraceKit's containers are the session's, written
  through: ``session.traces[name] = trace`` (and ``del``),
  ``session.measurements[name] = {...}``, ``layer.annotations.append(a)``
  (``extend``, ``remove``, ``clear``, ``+=``) and
  ``session.history.entries.append(e)``; a change they cannot keep
  (``sort``, ``insert``, ...) raises :class:`evident.UnsupportedError`
  rather than being lost, and a change inside an item (a measurement's
  dict, an annotation's text) is not kept.
- :class:`AuditTrail` records one action at a time, so a trail shared by
  threads (the global one, say) keeps its chain.
- The measurements (:func:`frequency`, :func:`amplitude`, :func:`rise_time`,
  :func:`fall_time`, :func:`duty_cycle`, :func:`period`, :func:`thd`) are
  the library's; measuring a trace of a session records ``measure_<name>``
  in the session's history, so ``session.history.to_script()`` replays it.

Only names and arguments are mapped here; the engine is the library's.
"""

from __future__ import annotations

import array
import copy
import ctypes
import getpass
import hashlib  # noqa: F401  (seed 001's module names, which tests patch)
import hmac  # noqa: F401
import json
import os
import re
import threading
import warnings
import weakref
import dataclasses
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from .. import _native as N
from .. import query as _q
from .._convert import json_bytes as _json
from .._convert import now as _now
from .._convert import number as _number
from .._convert import plain as _plain
from .._convert import utc_text as _utc_text
from ..errors import InvalidArgumentError, NotFoundError, UnsupportedError
from ..log import AuditLog, PathLike
from . import _warn_recovery
from ..session import Annotation as _Annotation
from ..session import (
    AnnotationType,
    Trace,
    _Layers,
    _numpy,
)
from ..session import HistoryEntry as _HistoryEntry
from ..session import AnnotationLayer as _AnnotationLayer
from ..session import OperationHistory as _OperationHistory
from ..session import Session as _Session
from ..verify import verify

__all__ = [
    "Annotation",
    "AnnotationLayer",
    "AnnotationType",
    "AuditEntry",
    "AuditTrail",
    "DigitalTrace",
    "HistoryEntry",
    "OperationHistory",
    "Session",
    "TraceMetadata",
    "WaveformTrace",
    "amplitude",
    "duty_cycle",
    "fall_time",
    "frequency",
    "get_global_audit_trail",
    "load",
    "load_session",
    "load_trace",
    "period",
    "record_audit",
    "rise_time",
    "thd",
]

#: Keys shorter than this are accepted with a warning (TraceKit takes any).
MIN_KEY_BYTES = 16

# --- audit trail ---------------------------------------------------------------


@dataclass
class AuditEntry:
    """One audit entry, TraceKit's fields."""

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


#: ``datetime.UTC`` (Python 3.11+), as seed 001's module imports it.
UTC = timezone.utc


def format_timestamp(dt: datetime, format: str = "iso8601") -> str:
    """An aware time as ISO 8601 UTC with microseconds and ``Z`` (TraceKit's
    ``tracekit.core.logging.format_timestamp``, which the trail calls for
    each action's time; a naive time is UTC)."""
    if format != "iso8601":
        raise InvalidArgumentError(f"Unsupported timestamp format: {format}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return _ts(dt)


def _ts(dt: datetime) -> str:
    return _utc_text(dt)


def _key(key: bytes) -> Any:
    return (ctypes.c_uint8 * len(key)).from_buffer_copy(key)


def _fields(e: AuditEntry, hmac: bool = True) -> Dict[str, Any]:
    """The entry's fields (details not copied, unlike ``to_dict``)."""
    d = {
        "timestamp": e.timestamp,
        "action": e.action,
        "details": e.details,
        "user": e.user,
        "host": e.host,
        "previous_hash": e.previous_hash,
    }
    if hmac:
        d["hmac"] = e.hmac
    return d


def _entries_text(entries: List[Dict[str, Any]]) -> bytes:
    """Entries as the library's TraceKit functions take them: details as
    JSON values in their order (the library builds TraceKit's
    ``json.dumps(details, sort_keys=True)`` HMAC input itself)."""
    return json.dumps(entries).encode()


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def _host() -> str:
    try:
        # a `socket` patched into this module (seed code's tests do), else
        # imported here: evident imports no network module by itself
        sock = globals().get("socket") or __getattr__("socket")
        return str(sock.gethostname())
    except Exception:
        return "unknown"


def __getattr__(name: str) -> Any:
    """``socket``, as seed 001's module has it (tests patch
    ``socket.gethostname``), imported when first asked for."""
    if name == "socket":
        import socket

        return socket
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_ALGORITHMS = ("sha256", "sha512")


class AuditTrail:
    """TraceKit's tamper-evident audit trail (HMAC chain).

    :param secret_key: HMAC key, any length in memory (shorter than 16
        bytes: a warning; with ``path=`` refused); ``None``: a random key,
        as TraceKit does.
    :param hash_algorithm: ``"sha256"`` or ``"sha512"``.
    :param path: optional evident log that receives every action (created if
        missing; an existing one is read back into the trail).
    :param event_type: the ``event_type`` of those log entries.
    :param options: passed to :class:`evident.AuditLog`.
    """

    def __init__(
        self,
        secret_key: Optional[bytes] = None,
        hash_algorithm: str = "sha256",
        *,
        path: Optional[PathLike] = None,
        event_type: str = "tracekit",
        **options: Any,
    ) -> None:
        if hash_algorithm not in _ALGORITHMS:
            raise InvalidArgumentError(f"Unsupported hash algorithm: {hash_algorithm}")
        if secret_key and len(secret_key) < MIN_KEY_BYTES and path is not None:
            # The log cannot be keyed with it, and the trail's HMACs are
            # rebuilt from the file when it is opened again: the file could
            # be rewritten and still pass verify_integrity().
            raise InvalidArgumentError(
                f"{os.fspath(path)}: a trail kept in a log (path=) needs a secret_key of at "
                f"least {MIN_KEY_BYTES} bytes, not {len(secret_key)}: with a shorter key the "
                "log could be rewritten without detection (use os.urandom(32); in memory, "
                "without path=, any key is accepted as TraceKit does)")
        if secret_key and len(secret_key) < MIN_KEY_BYTES:  # b"" is no key (a random one)
            warnings.warn(
                f"AuditTrail secret_key is {len(secret_key)} bytes; use at least "
                f"{MIN_KEY_BYTES} random bytes in production",
                UserWarning,
                stacklevel=2,
            )
        strong = secret_key is not None and len(secret_key) >= MIN_KEY_BYTES
        self._secret_key: bytes = bytes(secret_key) if secret_key else os.urandom(32)
        self._hash_algorithm = hash_algorithm
        self._event_type = event_type
        self._entries: List[AuditEntry] = []
        # one action at a time: each entry links to the one before it, and
        # the log holds the entries in the trail's order
        self._lock = threading.RLock()
        self._log: Optional[AuditLog] = None
        self._log_key = bytes(secret_key) if strong and secret_key else None
        if path is not None:
            alg = ("hmac-" + hash_algorithm) if self._log_key else "sha256"
            self._log = AuditLog(path, key=self._log_key, alg=alg, **{"adopt_empty": True, **options})
            if self._log.alg != alg:  # an existing log keeps its own: its HMACs would all change
                found = self._log.alg
                self._log.close()
                raise InvalidArgumentError(
                    f"{self._log.path}: the log's entries are {found}, not {alg}: open it with "
                    f"hash_algorithm={found.replace('hmac-', '')!r} (and its key)")
            _warn_recovery(self._log)
            self._log.sync()
            for e in _q.read_entries(self._log.path, _q.Query()):
                self._append(_ts(e.ts), e.action, e.details, e.actor, e.host)

    def __getstate__(self) -> Dict[str, Any]:
        """An in-memory trail copies and pickles as TraceKit's does (its
        entries, key and algorithm); one writing to a log does not (the
        log has one writer)."""
        if self._log is not None:
            raise TypeError(f"an AuditTrail writing to the log {self._log.path} cannot be "
                            "copied or pickled: open the log again instead")
        with self._lock:
            return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    @property
    def path(self) -> Optional[str]:
        """The evident log's path (None for an in-memory trail)."""
        return None if self._log is None else self._log.path

    @property
    def audit_log(self) -> Optional[AuditLog]:
        """The underlying :class:`evident.AuditLog`, if any."""
        return self._log

    def _compute_hmac(self, entry: AuditEntry) -> str:
        """The entry's HMAC (the library's ``evident_tracekit_chain``)."""
        wire = _fields(entry, hmac=False)
        out = ctypes.c_void_p()
        N.check(
            N.measure_lib().evident_tracekit_chain(
                self._hash_algorithm.encode(),
                _key(self._secret_key),
                len(self._secret_key),
                _entries_text([wire]),
                ctypes.byref(out),
            )
        )
        return str(json.loads(N.take_string(out))[0]["hmac"])

    def _append(self, timestamp: str, action: str, details: Any, user: str, host: str) -> AuditEntry:
        entry = self._entry(timestamp, action, details, user, host)
        self._entries.append(entry)
        return entry

    def _entry(self, timestamp: str, action: str, details: Any, user: str, host: str) -> AuditEntry:
        prev = self._entries[-1].hmac if self._entries else "GENESIS"
        entry = AuditEntry(timestamp, action, details, user, host, prev, "")
        entry.hmac = self._compute_hmac(entry)
        return entry

    def record_action(
        self, action: str, details: Dict[str, Any], user: Optional[str] = None
    ) -> AuditEntry:
        """Records an action (``user`` defaults to the OS user) and returns
        its entry. With a log file, details the log cannot hold exactly
        (integers beyond 64 bits, NaN and infinities, strings with a lone
        surrogate) are refused with an error naming the value."""
        if user is None:
            user = _user()
        json.dumps(details, sort_keys=True)  # TraceKit's TypeError for non-JSON details
        host = _host()
        if self._log is not None:
            if not isinstance(details, Mapping):  # the log would read {} back: another HMAC
                raise InvalidArgumentError(
                    f"details must be a dict to be written to the log {self._log.path}, "
                    f"not {type(details).__name__}")
            N.check(N.measure_lib().evident_tracekit_check_log_details(json.dumps(details).encode()))
        with self._lock:
            now = datetime.now(UTC)
            stamp = format_timestamp(now, format="iso8601")
            entry = self._entry(stamp, action, details, user, host)
            if self._log is not None:
                # the log entry carries the same time, user and host, so the
                # trail rebuilt from the log has the same HMACs
                self._log.log(
                    self._event_type, action, actor=user, host=host, details=details, ts=stamp
                )
            self._entries.append(entry)
        return entry

    def verify_integrity(self) -> bool:
        """True when every entry's HMAC and link is intact (and, with a
        log file, the log verifies)."""
        bad = ctypes.c_int64(-1)
        with self._lock:
            entries = list(self._entries)
        if getattr(self._compute_hmac, "__func__", None) is not _COMPUTE_HMAC:
            # a subclass's own HMAC, or a patched one: checked with it, as TraceKit does
            prev = "GENESIS"
            for e in entries:
                if e.previous_hash != prev or not hmac.compare_digest(
                        str(e.hmac), str(self._compute_hmac(e))):
                    return False
                prev = e.hmac
            entries = []
        if entries:  # none: nothing to compute
            try:
                text = _entries_text([_fields(e) for e in entries])
                N.check(
                    N.measure_lib().evident_tracekit_verify_entries(
                        self._hash_algorithm.encode(),
                        _key(self._secret_key),
                        len(self._secret_key),
                        text,
                        ctypes.byref(bad),
                    )
                )
            except (TypeError, ValueError, InvalidArgumentError):
                return False  # details changed into something that is not JSON
        if bad.value != -1:
            return False
        if self._log is not None:
            self._log.sync()
            return bool(verify(self._log.path, key=self._log_key).valid)
        return True

    def get_entries(
        self, since: Optional[datetime] = None, action_type: Optional[str] = None
    ) -> List[AuditEntry]:
        """Entries at or after ``since`` (naive: UTC) with action
        ``action_type``, oldest first (the library's
        ``evident_tracekit_filter``)."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        with self._lock:
            entries = list(self._entries)
        heads = [{"timestamp": e.timestamp, "action": e.action} for e in entries]
        out = ctypes.c_void_p()
        N.check(
            N.measure_lib().evident_tracekit_filter(
                json.dumps(heads).encode(),
                None if since is None else since.isoformat().encode(),
                None if action_type is None else action_type.encode(),
                ctypes.byref(out),
            )
        )
        return [entries[i] for i in json.loads(N.take_string(out))]

    def export_audit_log(self, path: str, format: str = "json") -> None:
        """Writes the trail to ``path`` in TraceKit's JSON or CSV layout."""
        if format not in ("json", "csv"):
            raise InvalidArgumentError(f"Unsupported format: {format}")
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        # The layout and the chain are the library's (evident_tracekit_export_file,
        # which writes the exact text, NULs included); the entries' own
        # previous_hash and hmac are written as they are.
        with self._lock:
            text = _entries_text([_fields(e) for e in self._entries])
        N.check(
            N.measure_lib().evident_tracekit_export_file(
                self._hash_algorithm.encode(),
                _key(self._secret_key),
                len(self._secret_key),
                text,
                format.encode(),
                N.path_arg(out),
            )
        )

    def close(self) -> None:
        """Closes the log file, if any (closing twice is fine)."""
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> "AuditTrail":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_COMPUTE_HMAC = AuditTrail._compute_hmac  # the library's (verify_integrity's fast path)

_global_audit_trail: Optional[AuditTrail] = None
_global_lock = threading.Lock()


def get_global_audit_trail(
    secret_key: Optional[bytes] = None, *, path: Optional[PathLike] = None
) -> AuditTrail:
    """The process-wide trail, created on the first call (``secret_key`` and
    ``path`` are used then only)."""
    global _global_audit_trail
    with _global_lock:  # one trail, also when threads ask for it first at once
        if _global_audit_trail is None:
            _global_audit_trail = AuditTrail(secret_key=secret_key, path=path)
        return _global_audit_trail


def record_audit(action: str, details: Dict[str, Any], user: Optional[str] = None) -> AuditEntry:
    """Records an action in the global trail."""
    return get_global_audit_trail().record_action(action, details, user)


# --- traces ----------------------------------------------------------------------


class TraceMetadata(dict):  # type: ignore[type-arg]
    """A trace's metadata (TraceKit's ``TraceMetadata``): a dict whose keys
    are also attributes (``metadata.sample_rate``)."""

    def __init__(self, sample_rate: float = 1.0, **kwargs: Any) -> None:
        super().__init__(sample_rate=float(sample_rate), **kwargs)

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value


class WaveformTrace:
    """A sampled analog waveform (TraceKit's ``WaveformTrace``): ``data``
    (a numpy array when numpy is installed) and ``sample_rate`` in Hz.
    ``metadata`` may be a dict or an object with ``sample_rate``."""

    def __init__(
        self,
        data: Any,
        sample_rate: Optional[float] = None,
        metadata: Any = None,
        *,
        start_time: float = 0.0,
        units: str = "",
        name: Optional[str] = None,
    ) -> None:
        if sample_rate is None and metadata is not None:
            sample_rate = (
                metadata.get("sample_rate")
                if isinstance(metadata, Mapping)
                else getattr(metadata, "sample_rate", None)
            )
        self.sample_rate = float(sample_rate if sample_rate is not None else 1.0)
        np = _numpy()
        self.data = np.asarray(data) if np is not None else data
        self.metadata = TraceMetadata(
            self.sample_rate,
            **{k: v for k, v in (metadata or {}).items() if k != "sample_rate"}
            if isinstance(metadata, Mapping)
            else {},
        )
        self.start_time = float(start_time)
        self.units = units
        self.name = name
        self._session: Any = None  # weakref to the compat Session it belongs to
        self._trace: Optional[Trace] = None

    @classmethod
    def _of(cls, trace: Trace, session: Optional["Session"] = None) -> "WaveformTrace":
        t = cls.__new__(cls)
        t.data = trace.data
        t.sample_rate = trace.sample_rate
        t.metadata = TraceMetadata(
            trace.sample_rate, **{k: v for k, v in trace.metadata.items() if k != "sample_rate"}
        )
        t.start_time = trace.start_time
        t.units = trace.units
        t.name = trace.name
        t._session = None if session is None else weakref.ref(session)
        t._trace = trace
        return t

    def __len__(self) -> int:
        return len(self.data)

    @property
    def duration(self) -> float:
        return len(self) / self.sample_rate

    @property
    def time_vector(self) -> Any:
        np = _numpy()
        if np is None:
            return [self.start_time + i / self.sample_rate for i in range(len(self))]
        return self.start_time + np.arange(len(self)) / self.sample_rate

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name or ''} {len(self)} samples @ {self.sample_rate:g} Hz>"


class DigitalTrace(WaveformTrace):
    """A sampled digital signal (TraceKit's ``DigitalTrace``): ``data`` of
    bools (or logic words of several channels) and ``sample_rate``."""


def _wrap(trace: Trace, session: Optional["Session"] = None) -> WaveformTrace:
    digital = trace.dtype in ("bool", "bit") or trace.metadata.get("format") == "sigrok"
    return (DigitalTrace if digital and trace.dtype != "f32" else WaveformTrace)._of(trace, session)


def _unchanged(trace: WaveformTrace) -> Optional[Trace]:
    """The library's trace ``trace`` was made from, if its samples and
    description were not given new values since (``data`` is read-only)."""
    t = trace._trace
    if t is None or t.closed or trace.data is not t.data:
        return None
    if (trace.sample_rate, trace.start_time, trace.units) != (t.sample_rate, t.start_time, t.units):
        return None
    return t


def _measure(trace: Any, what: str, **ignored: Any) -> float:
    """Measures ``trace``: through its session (recorded in the history)
    when it is still the session's trace of its name, else on its samples."""
    if isinstance(trace, WaveformTrace):
        native = _unchanged(trace)
        session = None if trace._session is None else trace._session()
        if native is not None and session is not None and not session.closed \
                and session._objects.get(trace.name) is trace and trace.name in session.list_traces():
            if session.history.auto_record:
                return float(session.measure(trace.name, what))
            return float(native.measure(what))
        if native is not None:
            return float(native.measure(what))
    if isinstance(trace, Trace):
        return trace.measure(what)
    data = getattr(trace, "data", trace)
    rate = getattr(trace, "sample_rate", None)
    if rate is None:
        meta = getattr(trace, "metadata", None)
        rate = getattr(meta, "sample_rate", None) if meta is not None else None
    if rate is None:
        raise InvalidArgumentError("the trace has no sample_rate")
    np = _numpy()
    if np is not None:
        buf = np.ascontiguousarray(np.asarray(data, dtype=np.float64).ravel())
        ptr, n = buf.ctypes.data, buf.size
    else:
        buf = array.array("d", [float(x) for x in data])
        ptr, n = (buf.buffer_info()[0], len(buf))
    out = ctypes.c_double()
    N.check(
        N.measure_lib().evident_measure_samples(
            ptr, n, float(rate), N.MEASURES[what], ctypes.byref(out)
        )
    )
    del buf
    return out.value


def frequency(trace: Any, **kwargs: Any) -> float:
    """Frequency in Hz (mean period between rising 50 % crossings)."""
    return _measure(trace, "frequency", **kwargs)


def period(trace: Any, **kwargs: Any) -> float:
    """Period in seconds."""
    return _measure(trace, "period", **kwargs)


def amplitude(trace: Any, **kwargs: Any) -> float:
    """Amplitude: top minus base state level (IEEE 181 histogram)."""
    return _measure(trace, "amplitude", **kwargs)


def rise_time(trace: Any, **kwargs: Any) -> float:
    """10 %-90 % rise time in seconds (first complete rising edge)."""
    return _measure(trace, "rise_time", **kwargs)


def fall_time(trace: Any, **kwargs: Any) -> float:
    """90 %-10 % fall time in seconds (first complete falling edge)."""
    return _measure(trace, "fall_time", **kwargs)


def duty_cycle(trace: Any, *, percentage: bool = True, **kwargs: Any) -> float:
    """Duty cycle in percent (``percentage=False``: a fraction)."""
    v = _measure(trace, "duty_cycle", **kwargs)
    return v if percentage else v / 100.0


def thd(trace: Any, **kwargs: Any) -> float:
    """Total harmonic distortion in percent (harmonics 2 to 10)."""
    return _measure(trace, "thd", **kwargs)


_current: Optional[WaveformTrace] = None


def load(path: PathLike, **load_kwargs: Any) -> WaveformTrace:
    """Loads a capture file (CSV, ``.npy``, sigrok ``.sr``, Tektronix
    ``.wfm``) as a trace, outside any session (loader options as
    :meth:`Session.load_trace`: ``channel``, ``lazy``, ``sample_rate``)."""
    global _current
    with _Session(name="load") as s:
        s.history.auto_record = False
        t = s.load_trace(path, **load_kwargs)
    _current = _wrap(t)
    return _current


def load_trace(path: PathLike, name: Optional[str] = None, **load_kwargs: Any) -> WaveformTrace:
    """:func:`load` (the call a history script replays)."""
    t = load(path, **load_kwargs)
    if name is not None:
        t.name = name
    return t


def _replayed(what: str) -> Any:
    def fn(trace: Any = None, **kwargs: Any) -> float:
        t = trace if trace is not None else _current
        if t is None:
            raise InvalidArgumentError(f"measure_{what}: no trace (load one first)")
        return _measure(t, what)

    fn.__name__ = f"measure_{what}"
    fn.__doc__ = f"{what} of ``trace`` (default: the last trace :func:`load_trace` loaded)."
    return fn


measure_frequency = _replayed("frequency")
measure_period = _replayed("period")
measure_amplitude = _replayed("amplitude")
measure_rise_time = _replayed("rise_time")
measure_fall_time = _replayed("fall_time")
measure_duty_cycle = _replayed("duty_cycle")
measure_thd = _replayed("thd")


# --- session ---------------------------------------------------------------------


#: The text a measurement of NaN or an infinity is recorded as (JSON has
#: neither), read back as the float.
_NON_FINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def _non_finite(v: Any) -> Any:
    return _NON_FINITE[v] if isinstance(v, str) and v in _NON_FINITE else v


def _aware(t: Any) -> Any:
    """A naive time as the local time it is (TraceKit's), aware."""
    if isinstance(t, datetime) and t.tzinfo is None:
        return t.astimezone()
    return t


@dataclass
class HistoryEntry(_HistoryEntry):
    """TraceKit's ``HistoryEntry``: a naive ``timestamp`` given (TraceKit's
    ``datetime.now()``) is local time; read back, times are aware (UTC)."""

    def to_dict(self) -> Dict[str, Any]:
        return _HistoryEntry.to_dict(dataclasses.replace(self, timestamp=_aware(self.timestamp)))


@dataclass
class Annotation(_Annotation):
    """TraceKit's ``Annotation``: a naive ``created_at`` given (TraceKit's
    ``datetime.now()``) is local time; read back, times are aware (UTC)."""

    def to_dict(self) -> Dict[str, Any]:
        # Set around the call, not written through (a session's annotation
        # writes a changed field through to the session).
        created = self.created_at
        object.__setattr__(self, "created_at", _aware(created))
        try:
            return _Annotation.to_dict(self)
        finally:
            object.__setattr__(self, "created_at", created)



class OperationHistory(_OperationHistory):
    """TraceKit's ``OperationHistory``; :meth:`to_script` writes TraceKit's
    script (it runs with TraceKit or with this module): string values in
    double quotes, local times, ``import tracekit`` falling back to this
    module. The layout is the library's (``evident_session_history_script``).

    The constructor takes TraceKit's dataclass fields in their order:
    ``entries`` (:class:`HistoryEntry` objects or their ``to_dict()``
    dicts, recorded as they are), ``max_entries`` (0: unlimited) and
    ``auto_record``."""

    _script_style = 1
    _entry_class = HistoryEntry

    def __init__(
        self,
        entries: Optional[List[Union[HistoryEntry, Mapping[str, Any]]]] = None,
        max_entries: int = 0,
        auto_record: bool = True,
    ) -> None:
        super().__init__(max_entries=max_entries, auto_record=auto_record)
        for e in entries or ():
            self._put(e)

    def _put(self, e: Any) -> None:
        """Records an entry as it is (its own time, result and outcome)."""
        if isinstance(e, Mapping):
            e = HistoryEntry.from_dict(e)
        if not isinstance(e, _HistoryEntry):  # evident's own entries too
            raise InvalidArgumentError(
                f"OperationHistory entries must be HistoryEntry objects, not {type(e).__name__}"
            )
        # TraceKit's timestamps are naive datetime.now() values: local time
        e = dataclasses.replace(e, timestamp=_aware(e.timestamp))
        text = _json(_HistoryEntry.to_dict(e), "history entry")
        self._session._call(N.lib.evident_session_record_history, text)

    @property
    def entries(self) -> List[HistoryEntry]:  # type: ignore[override]
        """Every entry, oldest first; ``append`` and ``extend`` record."""
        return _ThroughList(super().entries, "history.entries", self, self._put)

    @entries.setter
    def entries(self, value: Any) -> None:
        _same(value, self, "history.entries")


def _default_name(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.") or "session"
    return f"{slug}_{datetime.now().strftime('%Y%m%d_%H%M%S')}.tks"


class _ThroughList(list):  # type: ignore[type-arg]
    """A copy of a session's list (TraceKit's dataclass lists) whose
    ``append``, ``extend`` and ``+=`` (and ``remove``, ``clear`` where the
    session can) are written through; other in-place changes are refused,
    not lost."""

    def __init__(self, items: Any, what: str, owner: Any, add: Any, remove: Any = None,
                 clear: Any = None):
        super().__init__(items)
        self._what, self._owner = what, owner
        self._add, self._remove, self._clear = add, remove, clear

    def __copy__(self) -> List[Any]:  # copies and pickles are plain lists
        return list(self)

    def __deepcopy__(self, memo: Dict[int, Any]) -> List[Any]:
        return copy.deepcopy(list(self), memo)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (list, (list(self),))

    def append(self, item: Any) -> None:
        self._add(item)
        super().append(item)

    def extend(self, items: Any) -> None:
        for item in list(items):
            self.append(item)

    def __iadd__(self, items: Any) -> "_ThroughList":
        self.extend(items)
        return self

    def remove(self, item: Any) -> None:
        if self._remove is None:
            self._refused("remove")
        super().remove(item)  # ValueError when it is not here
        self._remove(item)

    def clear(self) -> None:
        if self._clear is None:
            self._refused("clear")
        self._clear()
        super().clear()

    def _refused(self, name: str, *args: Any, **kwargs: Any) -> Any:
        raise UnsupportedError(
            f"{self._what}.{name}() would not be kept by the session: use append/extend"
            + (", remove or clear" if self._remove is not None else "")
        )


for _name in ("insert", "pop", "sort", "reverse", "__setitem__", "__delitem__", "__imul__"):
    setattr(_ThroughList, _name,
            lambda self, *a, _n=_name, **k: _ThroughList._refused(self, _n))


class _ThroughDict(dict):  # type: ignore[type-arg]
    """A copy of a session's dict (``traces``, ``measurements``) whose
    changes are written through by ``put(name, value)`` (and ``drop(name)``
    where the session can remove one)."""

    def __init__(self, items: Any, what: str, owner: Any, put: Any, drop: Any = None) -> None:
        super().__init__(items)
        self._what, self._owner, self._put, self._drop = what, owner, put, drop

    def __copy__(self) -> Dict[Any, Any]:  # copies and pickles are plain dicts
        return dict(self)

    def __deepcopy__(self, memo: Dict[int, Any]) -> Dict[Any, Any]:
        return copy.deepcopy(dict(self), memo)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (dict, (dict(self),))

    def __ior__(self, other: Any) -> "_ThroughDict":
        self.update(other)
        return self

    def __setitem__(self, name: Any, value: Any) -> None:
        super().__setitem__(name, self._put(name, value))

    def __delitem__(self, name: Any) -> None:
        if self._drop is None:
            raise UnsupportedError(f"{self._what}: the session keeps every one recorded")
        if name not in self:
            raise KeyError(name)
        self._drop(name)
        super().__delitem__(name)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    def setdefault(self, name: Any, value: Any = None) -> Any:
        if name not in self:
            self[name] = value
        return self[name]

    def pop(self, name: Any, *default: Any) -> Any:
        if name not in self and default:
            return default[0]
        value = self[name]
        del self[name]
        return value

    def popitem(self) -> Any:
        if not self:
            raise KeyError("popitem(): dictionary is empty")
        name = next(reversed(self))
        return name, self.pop(name)

    def clear(self) -> None:
        for name in list(self):
            del self[name]


def _same(value: Any, owner: Any, what: str) -> bool:
    """True when ``value`` is the write-through container of ``owner`` (an
    in-place operator such as ``+=`` assigns it back: nothing to do)."""
    if isinstance(value, (_ThroughList, _ThroughDict)) and value._owner is owner:
        return True
    raise UnsupportedError(f"{what} cannot be replaced: change it in place (append, [name] =)")


class AnnotationLayer(_AnnotationLayer):
    """TraceKit's ``AnnotationLayer``: its ``color`` is the default colour of
    the annotations added to it afterwards (one added without a colour takes
    the layer's)."""

    def __init__(
        self,
        name: str,
        annotations: Optional[List[Annotation]] = None,
        visible: bool = True,
        locked: bool = False,
        color: Optional[str] = None,
        description: str = "",
    ) -> None:
        # as evident's, in a session of this module (which applies the colour),
        # until it is put into a session's annotation_layers (then that one's)
        self._session, self._name = Session(name="annotation layer"), name
        self._standalone = True
        self._session.set_layer(name, visible=visible, color=color or "", description=description)
        for a in annotations or []:
            self.add(a)
        if locked:
            self._session.set_layer(name, locked=True)

    @property
    def annotations(self) -> List[Annotation]:  # type: ignore[override]
        """The layer's annotations, oldest first; ``append``, ``extend``,
        ``remove`` and ``clear`` change the layer."""
        return _ThroughList(super().annotations, "annotations", self, self.add, self.remove,
                            self.clear)

    @annotations.setter
    def annotations(self, value: List[Annotation]) -> None:
        if isinstance(value, _ThroughList) and value._owner is self:
            return  # `+=`: already written through
        items = list(value)
        self.clear()
        for a in items:
            self.add(a)


_ANNOTATION_FIELDS = (
    "amplitude",
    "amplitude_range",
    "annotation_type",
    "color",
    "style",
    "visible",
    "created_at",
    "metadata",
)


class _TkLayers(_Layers):
    """``session.annotation_layers`` with this module's :class:`AnnotationLayer`."""

    def __getitem__(self, name: str) -> AnnotationLayer:
        layer = AnnotationLayer._bound(self._session, name)
        layer._get("name")  # NotFoundError (a KeyError) when there is none
        return layer

    def __setitem__(self, name: str, layer: Any) -> None:
        super().__setitem__(name, layer)
        # TraceKit's dict holds the object: a layer made on its own is bound
        # to this session's, under this name, so that what is done to it
        # later is kept (one of another session stays that session's)
        if getattr(layer, "_standalone", False):
            layer._session, layer._name, layer._standalone = self._session, name, False


class Session(_Session):
    """TraceKit's ``Session`` on evident's session container.

    Differences from :class:`evident.Session`: ``save()`` compresses by
    default and, for a session never saved, saves to
    ``<name>_<YYYYmmdd_HHMMSS>.tks`` in the current directory; traces come
    back as :class:`WaveformTrace` / :class:`DigitalTrace`, and measuring
    them records the measurement in the history.
    """

    _annotation_class = Annotation

    def __init__(
        self,
        name: str = "Untitled Session",
        traces: Optional[Mapping[str, Any]] = None,
        annotation_layers: Optional[Mapping[str, Any]] = None,
        measurements: Optional[Mapping[str, Any]] = None,
        history: Optional[Any] = None,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """TraceKit's dataclass fields, in their order (``created_at`` and
        ``modified_at`` are the session's own): the traces, layers,
        measurements (``{name: {"value": ..., "unit": ...}}``) and history
        (an :class:`OperationHistory` or a list of entries) given are
        copied in (a layer made on its own is bound to this session
        afterwards, as ``annotation_layers[name] = layer`` does)."""
        super().__init__(name, metadata=metadata)
        for n, t in (traces or {}).items():
            self.add_trace(n, t)
        for n, layer in (annotation_layers or {}).items():
            self.annotation_layers[n] = layer
        for n, m in (measurements or {}).items():
            self._put_measurement(n, m)
        if isinstance(history, _OperationHistory):  # copied (it may be another session's)
            self.history.max_entries = history.max_entries
            self.history.auto_record = history.auto_record
            for e in history.entries:
                self.history._put(e)
        elif history is not None:
            for e in history:
                self.history._put(e)

    def _init(self, ptr: int, key: Optional[bytes]) -> None:
        super()._init(ptr, key)
        self._history = OperationHistory._bound(self)
        # TraceKit's traces dict hands back the trace object it was given
        # or loaded: the same object for a name until the trace changes.
        self._objects: Dict[str, WaveformTrace] = {}
        self._reloading = False

    annotation_layers = property(  # type: ignore[assignment]
        lambda self: _TkLayers(self), doc="The layers by name (live views)."
    )

    def set_layer(self, name: str, **props: Any) -> AnnotationLayer:  # type: ignore[override]
        super().set_layer(name, **props)
        return AnnotationLayer._bound(self, name)

    def annotate(  # type: ignore[override]
        self,
        text: str,
        *,
        time: Optional[float] = None,
        time_range: Optional[Tuple[float, float]] = None,
        layer: str = "default",
        **kwargs: Any,
    ) -> Annotation:
        """Adds an annotation to ``layer`` and returns it. ``kwargs`` are
        the :class:`Annotation`'s other fields (``amplitude``,
        ``amplitude_range``, ``annotation_type``, ``color``, ``style``,
        ``visible``, ``created_at``, ``metadata``); any other keyword is an
        entry of its ``metadata``."""
        fields = {k: kwargs.pop(k) for k in _ANNOTATION_FIELDS if k in kwargs}
        metadata = fields.pop("metadata", None)
        if metadata is None:
            metadata = {}
        elif not isinstance(metadata, Mapping):
            raise InvalidArgumentError(f"metadata must be a dict, not {type(metadata).__name__}")
        time, amplitude = (
            None if v is None else _number(v, k)
            for k, v in (("time", time), ("amplitude", fields.get("amplitude")))
        )
        a = Annotation(
            text,
            time,
            time_range,
            amplitude,
            fields.get("amplitude_range"),
            fields.get("annotation_type"),
            fields.get("color"),
            fields.get("style", "solid"),
            fields.get("visible", True),
            fields.get("created_at") or _now(),
            {**metadata, **kwargs},
        )
        self._annotate(layer, a)
        return a

    def _annotate(self, layer: str, a: _Annotation) -> None:
        # TraceKit: the layer's colour is the default colour of a new annotation
        if a.color is None:
            try:
                props = self._cached("layer_json", N.text(layer, "layer"))
            except NotFoundError:  # a new layer: no colour
                props = {}
            a.color = props.get("color") or None
        # TraceKit's created_at is a naive datetime.now(): local time
        a.created_at = _aware(a.created_at)
        # and its metadata may hold anything: what JSON cannot hold is saved as its text
        kept = a.metadata
        a.metadata = _plain(kept, "annotation metadata", lenient=True)
        try:
            super()._annotate(layer, a)
        finally:
            a.metadata = kept

    def record_measurement(  # type: ignore[override]
        self,
        name: str,
        value: Any,
        unit: str = "",
        trace_name: Optional[str] = None,
        **metadata: Any,
    ) -> None:
        """Records a measurement. TraceKit keeps any value: one that JSON
        cannot hold (NaN and infinities, such as a measurement of a trace
        that has no edge, naive datetimes, complex numbers) is recorded as
        its text; NaN and the infinities read back as floats
        (:meth:`get_measurements`), the others as their text."""
        what = f"measurement {name!r}"
        super().record_measurement(
            name,
            _plain(value, f"{what} value", lenient=True),
            unit,
            trace_name,
            **{k: _plain(v, f"{what} metadata[{k!r}]", lenient=True) for k, v in metadata.items()},
        )

    def get_measurements(self) -> Dict[str, Dict[str, Any]]:
        """The latest measurement of each name, in TraceKit's shape (a value
        recorded as NaN or an infinity is that float again)."""
        d = super().get_measurements()
        for m in d.values():
            m["value"] = _non_finite(m.get("value"))
        return d

    def _put_measurement(self, name: str, m: Any) -> Any:
        """``measurements[name] = m``: TraceKit's shape (a dict with
        ``value``) or a bare value, recorded."""
        if isinstance(m, Mapping) and "value" in m:
            own = ("name", "value", "unit", "trace_name")  # record_measurement's own
            rest = {k: v for k, v in m.items() if k not in own}
            self.record_measurement(name, m["value"], m.get("unit") or "", m.get("trace_name"),
                                    **rest)
        else:
            self.record_measurement(name, m)
        return self.get_measurements()[name]

    @property
    def measurements(self) -> Dict[str, Dict[str, Any]]:  # type: ignore[override]
        """Same as :meth:`get_measurements`; setting a name records it."""
        return _ThroughDict(self.get_measurements(), "measurements", self,
                            self._put_measurement)

    @measurements.setter
    def measurements(self, value: Any) -> None:
        _same(value, self, "measurements")

    def measurement_records(self) -> List[Any]:
        records = super().measurement_records()
        return [dataclasses.replace(m, value=_non_finite(m.value)) for m in records]

    def _sync_metadata(self) -> None:
        # TraceKit keeps any metadata value: what JSON cannot hold (a naive
        # datetime, say) is written as its text; the live dict keeps the object.
        with self._mutex:
            text = _json(self._metadata_view, "metadata", lenient=True)
            self._call(N.lib.evident_session_set_metadata_json, text)
            self._metadata_pending = False

    def _native_trace(self, name: str) -> Trace:
        return super().get_trace(name)

    def load_trace(  # type: ignore[override]
        self, path: PathLike, name: Optional[str] = None, **load_kwargs: Any
    ) -> WaveformTrace:
        self._reloading = True  # the trace loaded replaces any of its name
        try:
            t = super().load_trace(path, name, **load_kwargs)  # wrapped by get_trace
        finally:
            self._reloading = False
        return t if isinstance(t, WaveformTrace) else _wrap(t, self)

    def get_trace(self, name: str) -> WaveformTrace:  # type: ignore[override]
        """The trace ``name``: the same object on every call (the one
        :meth:`load_trace` returned, say), as TraceKit's dict gives it
        back, until the trace is replaced or removed."""
        t = None if self._reloading else self._objects.get(name)
        if t is not None and name in self.list_traces():
            return t
        t = _wrap(super().get_trace(name), self)
        self._objects[name] = t
        return t

    def remove_trace(self, name: str) -> None:
        super().remove_trace(name)
        self._objects.pop(name, None)

    @property
    def traces(self) -> Dict[str, WaveformTrace]:  # type: ignore[override]
        """Every trace by name; setting or deleting a name adds or removes it."""

        def put(name: str, trace: Any) -> WaveformTrace:
            self.add_trace(name, trace)
            return self.get_trace(name)

        items = {n: self.get_trace(n) for n in self.list_traces()}
        return _ThroughDict(items, "traces", self, put, self.remove_trace)

    @traces.setter
    def traces(self, value: Any) -> None:
        _same(value, self, "traces")

    def add_trace(self, name: str, trace: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # The session's copy: get_trace gives back one object for it (bound
        # to this session, so measuring it is recorded), not the one given.
        self._objects.pop(name, None)
        self._add_trace(name, trace, **kwargs)

    def _add_trace(self, name: str, trace: Any, **kwargs: Any) -> None:
        if isinstance(trace, WaveformTrace):
            if _unchanged(trace) is not None:
                trace = trace._trace
            else:
                kwargs.setdefault("sample_rate", trace.sample_rate)
                if trace.start_time:
                    kwargs.setdefault("start_time", trace.start_time)
                if trace.units:
                    kwargs.setdefault("units", trace.units)
                extra = {k: v for k, v in trace.metadata.items() if k != "sample_rate"}
                if extra:
                    kwargs.setdefault("metadata", extra)
                trace = trace.data
        super().add_trace(name, trace, **kwargs)

    def save(  # type: ignore[override]
        self,
        path: Optional[PathLike] = None,
        *,
        include_traces: bool = True,
        compress: Union[bool, int] = True,
        **kwargs: Any,
    ) -> Path:
        if path is None and self.path is None:
            path = _default_name(self.name)
        kwargs.setdefault("adopt_empty", True)  # TraceKit writes over a file made beforehand
        return super().save(path, include_traces=include_traces, compress=compress, **kwargs)


def load_session(path: PathLike, *, version: Optional[int] = None, key: Optional[bytes] = None) -> Session:
    """Opens a saved session (see :func:`evident.load_session`)."""
    return Session.load(path, version=version, key=key)
