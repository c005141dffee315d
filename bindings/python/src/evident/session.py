"""The session container: :class:`Session` and :func:`load_session`
(``evident_session_*`` of the C ABI).

A session file saves an analysis session (traces, annotation layers,
measurements, operation history, metadata) crash-safely and versioned: every
:meth:`Session.save` appends what changed plus a commit record, loading reads
the newest complete commit, and earlier versions stay loadable. Loading never
runs code from the file (unlike pickle).

The method names are those of TraceKit's ``Session`` so that TraceKit code
can switch by changing the import::

    session = evident.Session(name="Power Supply Analysis")
    session.add_trace("CH1", samples, sample_rate=1e6)
    session.annotate("Voltage spike", time=1.5e-6)
    session.record_measurement("rise_time", 2.3e-9, unit="s")
    session.save("analysis.evs")
    session = evident.load_session("analysis.evs")

numpy is optional: with it, :attr:`Trace.data` is a read-only numpy array over
the library's memory (the file mapping for raw traces, no copy); without it, a
read-only :class:`memoryview` of the same memory.

Every rule (annotation kinds and ranges, dtype names, history summaries and
scripts, TraceKit's measurement shape, time filtering) is the library's; this
module converts arguments and results. See spec/session.md for the details.
"""

from __future__ import annotations

import array
import ctypes
import dataclasses
import enum
import json
import math
import sys
import threading
import time as _time
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, MutableMapping, NamedTuple
from typing import Optional, Sequence, Tuple, Union, cast

from . import _native as N
from ._convert import json_bytes as _json, now as _now, number as _number, pair as _pair
from ._convert import plain as _plain, ts_in as _ts_in, ts_out as _ts_out
from ._managed import Managed
from .errors import ClosedError, EvidentError, InternalError, InvalidArgumentError
from .errors import LayerLockedError, NotFoundError, UnsupportedError  # noqa: F401
from .log import AuditLog, PathLike

__all__ = [
    "DTYPES", "Session", "Trace", "Annotation", "AnnotationType", "AnnotationLayer",
    "Measurement", "HistoryEntry", "OperationHistory", "SaveInfo", "VersionInfo", "CompactInfo",
    "SessionReport", "load_session", "session_versions", "compact_session", "verify_session",
]

# --- sample types ------------------------------------------------------------


class _Dtype(NamedTuple):
    code: int  # enum evident_dtype
    fmt: str  # struct/memoryview format of one sample (native order)
    typestr: str  # numpy dtype of one sample ("" for bit)
    size: int  # bytes per sample (0 for bit: packed)


#: The sample types of a trace, by name: numeric code, memoryview format,
#: numpy dtype, bytes per sample. ``bool`` stores one byte (0/1) per sample;
#: ``bit`` packs 8 samples per byte, least significant bit first.
DTYPES: Dict[str, _Dtype] = {
    "f64": _Dtype(1, "d", "<f8", 8),
    "f32": _Dtype(2, "f", "<f4", 4),
    "i8": _Dtype(3, "b", "i1", 1),
    "i16": _Dtype(4, "h", "<i2", 2),
    "i32": _Dtype(5, "i", "<i4", 4),
    "i64": _Dtype(6, "q", "<i8", 8),
    "u8": _Dtype(7, "B", "u1", 1),
    "u16": _Dtype(8, "H", "<u2", 2),
    "u32": _Dtype(9, "I", "<u4", 4),
    "u64": _Dtype(10, "Q", "<u8", 8),
    "bool": _Dtype(11, "?", "?", 1),
    "bit": _Dtype(12, "B", "", 0),
}
_DTYPE_BY_CODE = {d.code: name for name, d in DTYPES.items()}
# (numpy dtype.kind, itemsize) -> name
_BY_KIND = {("b" if d.typestr == "?" else d.typestr[-2], d.size): n
            for n, d in DTYPES.items() if d.size}
_LITTLE = sys.byteorder == "little"
_EMPTY = ctypes.create_string_buffer(8)  # a valid pointer for empty arrays

_np_module: Any = None


def _numpy() -> Any:
    """numpy if it can be imported, else None (imported on first use)."""
    global _np_module
    if _np_module is None:
        try:
            import numpy

            _np_module = numpy
        except ImportError:
            _np_module = False
    return _np_module or None


def _dtype_name(dtype: Any) -> str:
    """A dtype (name or alias, numpy dtype, Python type) -> the library's name."""
    if not isinstance(dtype, str):
        types = ((float, "f64"), (bool, "bool"), (int, "i64"))
        name = next((n for t, n in types if dtype is t), None)
        np = _numpy()
        if name is None and np is not None:
            try:
                name = np.dtype(dtype).name
            except TypeError:
                pass
        if name is None:
            names = ", ".join(DTYPES)
            raise InvalidArgumentError(f"unsupported dtype {dtype!r}: use one of {names}")
        dtype = name
    code = ctypes.c_uint32()
    N.check(N.session_lib().evident_dtype_from_name(N.text(dtype, "dtype"), ctypes.byref(code)))
    return _DTYPE_BY_CODE[code.value]


def _take_json(ptr: ctypes.c_void_p) -> Any:
    return json.loads(N.take_string(ptr))


def _dtype_code(dtype: str) -> str:
    """The array.array type code of an 8-byte integer dtype."""
    for code in ("q", "l") if dtype == "i64" else ("Q", "L"):
        if array.array(code).itemsize == 8:
            return code
    raise UnsupportedError("this Python has no 8-byte integer array type")


# --- converting samples to (dtype, length, memory) ------------------------------


class _Samples(NamedTuple):
    dtype: str
    length: int
    pointer: Any  # what ctypes accepts for `const void *`
    keep: Any  # keeps the memory alive during the call
    info: Dict[str, Any]  # trace info found on a trace object


def _bytes_len(dtype: str, length: int) -> int:
    return (length + 7) // 8 if dtype == "bit" else length * DTYPES[dtype].size


def _from_buffer(mv: memoryview, dtype: str, length: Optional[int], keep: Any) -> _Samples:
    """Raw little-endian bytes in ``mv`` holding samples of ``dtype``."""
    if not mv.c_contiguous:
        raise InvalidArgumentError("the sample buffer must be contiguous")
    nbytes, size = mv.nbytes, DTYPES[dtype].size
    if length is None:
        if dtype != "bit" and nbytes % size:
            raise InvalidArgumentError(
                f"{nbytes} bytes is not a whole number of {dtype} samples ({size} bytes each)"
            )
        length = nbytes * 8 if dtype == "bit" else nbytes // size
    length = N.unsigned(length, "length")
    if _bytes_len(dtype, length) != nbytes:
        raise InvalidArgumentError(
            f"{length} {dtype} samples take {_bytes_len(dtype, length)} bytes, "
            f"the buffer has {nbytes}"
        )
    if nbytes == 0:
        return _Samples(dtype, 0, _EMPTY, None, {})
    obj = mv.obj
    if isinstance(obj, bytes) and mv.format in ("B", "b", "c") and len(obj) == nbytes:
        return _Samples(dtype, length, obj, obj, {})
    if mv.readonly:
        data = mv.tobytes()
        return _Samples(dtype, length, data, data, {})
    buf = (ctypes.c_char * nbytes).from_buffer(mv.cast("B") if mv.format != "B" else mv)
    return _Samples(dtype, length, buf, (buf, keep), {})


_ARRAY_KIND = {c: "f" for c in "df"}
_ARRAY_KIND.update({c: "i" for c in "bhilq"}, **{c: "u" for c in "BHILQ"})


def _from_array(a: "array.array[Any]", dtype: Optional[str]) -> _Samples:
    kind = _ARRAY_KIND.get(a.typecode)
    if kind is None:
        raise InvalidArgumentError(f"array.array of type {a.typecode!r} holds no samples")
    native = _BY_KIND[(kind, a.itemsize)]
    if dtype is not None and dtype != native:
        return _from_list(a.tolist(), dtype)
    if not _LITTLE:
        a = array.array(a.typecode, a)
        a.byteswap()
    return _from_buffer(memoryview(a).cast("B"), native, len(a), a)


def _from_list(values: Sequence[Any], dtype: Optional[str]) -> _Samples:
    if dtype is None:
        if values and all(isinstance(v, bool) for v in values):
            dtype = "bool"
        elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            dtype = "i64"
        else:
            dtype = "f64"
    if dtype in ("bit", "bool"):
        if dtype == "bit":
            out = bytearray((len(values) + 7) // 8)
            for i, v in enumerate(values):
                if v:
                    out[i >> 3] |= 1 << (i & 7)
            data = bytes(out)
        else:
            data = bytes(1 if v else 0 for v in values)
        return _from_buffer(memoryview(data), dtype, len(values), data)
    code = DTYPES[dtype].fmt if dtype not in ("i64", "u64") else _dtype_code(dtype)
    try:
        a = array.array(code, values)
    except (TypeError, OverflowError) as e:
        raise InvalidArgumentError(f"the samples cannot be stored as {dtype}: {e}") from None
    return _from_array(a, None)


def _from_numpy(np: Any, arr: Any, dtype: Optional[str]) -> _Samples:
    if arr.ndim != 1:
        raise InvalidArgumentError(
            f"a trace is one-dimensional; this array has shape {arr.shape} "
            "(pass one channel per trace, e.g. arr[:, 0], or arr.ravel())"
        )
    if dtype == "bit":
        if arr.dtype.kind not in "biu":
            raise InvalidArgumentError(f"bit samples need a bool or integer array, not {arr.dtype}")
        packed = np.packbits(arr.astype(bool), bitorder="little")
        return _from_buffer(memoryview(packed), "bit", int(arr.size), packed)
    if dtype is None:
        dtype = _BY_KIND.get((arr.dtype.kind, arr.dtype.itemsize))
        if dtype is None:
            raise InvalidArgumentError(
                f"numpy dtype {arr.dtype} is not a sample type "
                f"(use one of {', '.join(DTYPES)}, e.g. arr.astype('float64'))"
            )
    target = np.dtype(DTYPES[dtype].typestr)
    if arr.dtype != target and not np.can_cast(arr.dtype, target, casting="safe"):
        raise InvalidArgumentError(
            f"{arr.dtype} samples cannot be stored as {dtype} without loss "
            f"(convert them first, e.g. arr.astype({target.name!r}))"
        )
    arr = np.ascontiguousarray(arr, dtype=target)
    if arr.size == 0:
        return _Samples(dtype, 0, _EMPTY, None, {})
    return _Samples(dtype, int(arr.size), ctypes.c_void_p(arr.ctypes.data), arr, {})


def _trace_object_info(obj: Any) -> Dict[str, Any]:
    """Sample rate, start time, units and metadata of a TraceKit-like object."""
    info: Dict[str, Any] = {}
    meta = getattr(obj, "metadata", None)
    for holder in (meta, obj):
        if holder is None or isinstance(holder, Mapping):
            continue
        for attr in ("sample_rate", "start_time"):
            v = getattr(holder, attr, None)
            if attr not in info and v is not None and not isinstance(v, bool):
                try:
                    info[attr] = _number(v, attr)
                except InvalidArgumentError:
                    pass
        units = getattr(holder, "units", None)
        if "units" not in info and isinstance(units, str):
            info["units"] = units
    if isinstance(meta, Mapping):
        source: Mapping[str, Any] = meta
    elif meta is not None and dataclasses.is_dataclass(meta):
        source = {f.name: getattr(meta, f.name) for f in dataclasses.fields(meta)}
    else:
        source = vars(meta) if meta is not None and hasattr(meta, "__dict__") else {}
    extra: Dict[str, Any] = {}
    for k, v in source.items():
        if k in ("sample_rate", "start_time", "units") or k.startswith("_") or v is None:
            continue
        try:
            extra[str(k)] = _plain(v, f"metadata[{k!r}]")
        except InvalidArgumentError:
            continue  # not JSON data: not kept
    if extra:
        info["metadata"] = extra
    return info


def _buffer_dtype(mv: memoryview) -> str:
    """The dtype of a typed buffer (raw bytes need one given)."""
    fmt = mv.format.lstrip("@=<")
    if fmt in ("B", "b", "c") or not fmt or fmt[0] in ">!":
        raise InvalidArgumentError(
            "raw bytes need a dtype (e.g. add_trace(name, data, dtype='u16'))")
    kind = "b" if fmt == "?" else "f" if fmt in ("d", "f") else ("u" if fmt.isupper() else "i")
    guess = _BY_KIND.get((kind, mv.itemsize))
    if guess is None:
        raise InvalidArgumentError(f"buffer format {mv.format!r} holds no samples")
    if not _LITTLE and mv.itemsize > 1:
        raise UnsupportedError("typed buffers on big-endian hosts: pass raw bytes")
    return guess


def _samples(data: Any, dtype: Optional[str], length: Optional[int]) -> _Samples:
    """Everything :meth:`Session.add_trace` accepts -> samples to copy."""
    if isinstance(data, Trace):
        if dtype is not None and dtype != data.dtype:
            raise InvalidArgumentError(
                f"the trace holds {data.dtype} samples; dtype={dtype!r} does not match"
            )
        raw = data.raw
        if raw.nbytes == 0:
            return _Samples(data.dtype, 0, _EMPTY, None, data._info_dict())
        ptr = ctypes.c_void_p(ctypes.addressof(cast(Any, raw.obj)))
        return _Samples(data.dtype, len(data), ptr, (data, raw), data._info_dict())
    np = _numpy()
    if np is not None and isinstance(data, np.ndarray):
        return _from_numpy(np, data, dtype)
    if isinstance(data, array.array):
        return _from_array(data, dtype)
    if isinstance(data, (list, tuple)):
        return _from_list(data, dtype)
    try:
        mv = memoryview(data)
    except TypeError:
        mv = None
    if mv is not None:
        dtype = dtype or _buffer_dtype(mv)
        mv = mv if mv.format in ("B", "b", "c") else mv.cast("B")
        return _from_buffer(mv, dtype, length, data)
    inner = getattr(data, "data", None)
    if inner is not None and inner is not data:
        return _samples(inner, dtype, length)._replace(info=_trace_object_info(data))
    raise InvalidArgumentError(
        f"cannot make a trace of {type(data).__name__}: pass a numpy array, array.array, "
        "a list, bytes with dtype=, an evident.Trace or an object with .data"
    )


def _measure_code(what: str) -> int:
    code = N.MEASURES.get(what) if isinstance(what, str) else None
    if code is None:
        raise InvalidArgumentError(
            f"unknown measurement {what!r}: use one of {', '.join(N.MEASURES)}"
        )
    return code


# --- properties read from the native object -----------------------------------


def _same(v: Any) -> Any:
    return v


def _opt(conv: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else conv(v)


class _Prop:
    """A property read from the native object, ``conv(owner._get(key))``;
    assignable with ``set``."""

    def __init__(self, key: str, conv: Callable[[Any], Any] = _same, doc: str = "",
                 set: Optional[Callable[[Any, Any], None]] = None) -> None:
        self.key, self.conv, self.set, self.__doc__ = key, conv, set, doc

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        return self if obj is None else self.conv(obj._get(self.key))

    def __set__(self, obj: Any, value: Any) -> None:
        if self.set is None:
            raise AttributeError(f"{self.key} is read-only")
        self.set(obj, value)


# --- traces ---------------------------------------------------------------------


class _TraceHandle(Managed):
    """The native ``evident_trace``; kept alive by every view of its samples."""

    _free_fn = staticmethod(lambda ptr: N.lib.evident_trace_free(ptr))  # type: ignore[assignment]
    _what = "trace"

    def __init__(self, ptr: int) -> None:
        self._set_handle(ptr)
        # Not freed at interpreter exit: arrays over the samples may still
        # be read by later exit handlers (the OS reclaims the memory).
        assert self._finalizer is not None
        self._finalizer.atexit = False
        self.views: List["weakref.ref[Any]"] = []  # the memory objects made

    def in_use(self) -> bool:
        return any(r() is not None for r in self.views)


class Trace:
    """One named trace of a session: typed samples and their description.

    From :meth:`Session.get_trace` / :meth:`Session.load_trace` or
    :meth:`Trace.from_data`; valid after its session is closed. :attr:`data` and
    :attr:`raw` do not copy the samples, and keep their memory alive (even after
    :meth:`close`).
    """

    def __init__(self, ptr: int) -> None:
        """Takes ownership of a native ``evident_trace`` pointer (internal)."""
        self._handle: Optional[_TraceHandle] = _TraceHandle(ptr)
        out = ctypes.c_void_p()
        self._native(N.lib.evident_trace_info_json, ctypes.byref(out))
        # A trace never changes: its description is read once.
        self._info: Dict[str, Any] = _take_json(out)
        if self.dtype not in DTYPES:
            raise InternalError(f"the library returned an unknown dtype {self.dtype!r}")
        self._raw: Optional[memoryview] = None
        self._data: Any = None

    def _get(self, key: str) -> Any:
        return self._info.get(key)

    name = _Prop("name", lambda v: v or "", "The trace's name in its session.")
    dtype = _Prop("dtype", lambda v: str(v or ""), 'The sample type: "f64" ... "bool", "bit".')
    sample_rate = _Prop("sample_rate", lambda v: 1.0 if v is None else float(v), "Hz.")
    start_time = _Prop("start_time", lambda v: float(v or 0.0), "Time of the first sample (s).")
    units = _Prop("units", lambda v: v or "", 'Units of the samples ("" when unknown).')
    metadata = _Prop("metadata", lambda v: json.loads(json.dumps(v or {})), "(A copy.)")
    is_mapped = _Prop("mapped", bool, "True when read straight from the file's mapping (no copy).")
    compressed = _Prop("compressed", bool, "True when stored zstd-compressed (decompressed once).")

    @property
    def nbytes(self) -> int:
        """Size of the samples in bytes (``bit``: packed)."""
        n = self._info.get("bytes")
        return _bytes_len(self.dtype, len(self)) if n is None else int(n)

    @property
    def duration(self) -> float:
        """``len(trace) / sample_rate`` seconds."""
        return float(len(self) / self.sample_rate)

    def __len__(self) -> int:
        return int(self._info.get("len") or 0)

    def _info_dict(self) -> Dict[str, Any]:
        return {"sample_rate": self.sample_rate, "start_time": self.start_time,
                "units": self.units, "metadata": self._info.get("metadata") or {}}

    def _native(self, fn: Callable[..., int], *args: Any) -> None:
        handle = self._handle
        if handle is None:
            raise ClosedError(f"trace {self.name!r} is closed")
        ptr = handle._acquire()
        try:
            N.check(fn(ptr, *args))
        finally:
            handle._release()

    @classmethod
    def from_data(cls, data: Any, *, name: str = "trace", **kwargs: Any) -> "Trace":
        """A trace (in no session) holding a copy of ``data`` (see :meth:`Session.add_trace`)."""
        with Session(name="scratch") as s:
            s.add_trace(name, data, **kwargs)
            return s.get_trace(name)

    @property
    def raw(self) -> memoryview:
        """The stored little-endian bytes, read-only, not copied (``bit``: packed LSB-first)."""
        if self._raw is None:
            addr = ctypes.c_void_p()
            n, nb, code = ctypes.c_uint64(), ctypes.c_uint64(), ctypes.c_uint32()
            refs = map(ctypes.byref, (addr, n, nb, code))
            self._native(N.lib.evident_trace_data, *refs)
            if _DTYPE_BY_CODE.get(code.value) != self.dtype or n.value != len(self):
                raise InternalError(
                    f"trace {self.name!r}: the library's data ({n.value} samples of type "
                    f"{code.value}) does not match its description"
                )
            if nb.value != _bytes_len(self.dtype, len(self)):
                raise InternalError(
                    f"trace {self.name!r}: {nb.value} bytes for {len(self)} {self.dtype} samples"
                )
            if nb.value == 0:
                self._raw = memoryview(b"")
            else:
                if not addr.value:
                    raise InternalError(f"trace {self.name!r}: the library returned NULL data")
                handle = self._handle
                assert handle is not None
                mem = _memory_type(nb.value).from_address(addr.value)
                mem.owner = handle  # the native trace lives as long as the memory is used
                handle.views.append(weakref.ref(mem))
                self._raw = memoryview(mem).cast("B").toreadonly()
        return self._raw

    @property
    def data(self) -> Any:
        """The samples: a read-only numpy array over the library's memory (``bit``:
        an unpacked bool copy), or without numpy a read-only typed memoryview.
        """
        if self._data is None:
            raw, np = self.raw, _numpy()
            if np is None:
                self._data = self._typed_view()
            elif self.dtype == "bit":
                u8 = np.frombuffer(raw, dtype=np.uint8)
                bits = np.unpackbits(u8, count=len(self), bitorder="little")
                self._data = bits.astype(bool)
                self._data.flags.writeable = False
            else:
                self._data = np.frombuffer(raw, dtype=DTYPES[self.dtype].typestr)
        return self._data

    def _typed_view(self) -> Any:
        raw, d = self.raw, DTYPES[self.dtype]
        if self.dtype in ("bit", "u8"):
            return raw
        if d.size == 1 or _LITTLE:
            return raw.cast(cast(Any, d.fmt))
        a = array.array(d.fmt if d.size != 8 else _dtype_code(self.dtype), raw.tobytes())
        a.byteswap()  # big-endian host: a copy in native order
        return memoryview(a).toreadonly()

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        a = self.data
        if dtype is not None:
            return a.astype(dtype)
        return _numpy().array(a) if copy else a

    def bits(self) -> List[bool]:
        """The samples of a ``bit`` or ``bool`` trace as a list of bools."""
        if self.dtype == "bool":
            return [b != 0 for b in self.raw]
        if self.dtype != "bit":
            raise InvalidArgumentError(f"trace {self.name!r} holds {self.dtype}, not bits")
        raw = self.raw
        return [bool(raw[i >> 3] >> (i & 7) & 1) for i in range(len(self))]

    def to_list(self) -> List[Any]:
        """The samples as Python numbers (bools for ``bit``/``bool``)."""
        return self.bits() if self.dtype in ("bit", "bool") else list(self._typed_view())

    def time_vector(self) -> Any:
        """``start_time + i / sample_rate`` for every sample (numpy array, else list)."""
        np, t0, rate = _numpy(), self.start_time, self.sample_rate
        if np is not None:
            return t0 + np.arange(len(self), dtype=np.float64) / rate
        return [t0 + i / rate for i in range(len(self))]

    def measure(self, what: str) -> float:
        """A measurement of this trace (see :meth:`Session.measure`), not recorded."""
        code, out = _measure_code(what), ctypes.c_double()
        self._native(N.measure_lib().evident_trace_measure, code, ctypes.byref(out))
        return out.value

    def verify(self) -> None:
        """Checks the samples against the session's hash chain (CorruptLogError on a mismatch)."""
        self._native(N.lib.evident_trace_verify)

    def close(self) -> None:
        """Releases the native trace once no array or memoryview of it is left."""
        handle, self._handle = self._handle, None
        self._raw = self._data = None
        if handle is not None and not handle.in_use():
            handle.close()

    @property
    def closed(self) -> bool:
        return self._handle is None

    def __enter__(self) -> "Trace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "mapped" if self.is_mapped else ("compressed" if self.compressed else "in memory")
        rate = f"{self.sample_rate:g} Hz"
        return f"<evident.Trace {self.name!r} {self.dtype}[{len(self)}] {rate} {where}>"


_memory_types: Dict[int, Any] = {}


def _memory_type(nbytes: int) -> Any:
    """A ctypes char-array subclass of ``nbytes`` (subclasses take attributes)."""
    t = _memory_types.get(nbytes)
    if t is None:
        t = type("_TraceMemory", (ctypes.c_char * nbytes,), {})
        if len(_memory_types) < 64:
            _memory_types[nbytes] = t
    return t


# --- annotations ------------------------------------------------------------------


class AnnotationType(enum.Enum):
    """Types of annotations (TraceKit's names and values)."""

    POINT = "point"
    RANGE = "range"
    VERTICAL = "vertical"
    HORIZONTAL = "horizontal"
    REGION = "region"
    TEXT = "text"


def _annotation_type(value: Any) -> Optional[AnnotationType]:
    if value is None or isinstance(value, AnnotationType):
        return value
    try:
        return AnnotationType(str(value.value if isinstance(value, enum.Enum) else value).lower())
    except ValueError:
        names = ", ".join(t.value for t in AnnotationType)
        raise InvalidArgumentError(
            f"annotation_type must be one of {names}, not {value!r}") from None


@dataclass
class Annotation:
    """One annotation (TraceKit's fields). ``annotation_type`` is inferred when not
    given (the library's rule: time_range and amplitude_range -> region, time_range
    -> range, time -> point, amplitude -> horizontal, else text).
    """

    text: str
    time: Optional[float] = None
    time_range: Optional[Tuple[float, float]] = None
    amplitude: Optional[float] = None
    amplitude_range: Optional[Tuple[float, float]] = None
    annotation_type: Optional[AnnotationType] = None
    color: Optional[str] = None
    style: str = "solid"
    visible: bool = True
    created_at: datetime = field(default_factory=_now)
    metadata: Dict[str, Any] = field(default_factory=dict)
    layer: Optional[str] = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # The kind inferred and the ranges checked by the library
        # (evident_annotation_normalise_json: one rule for C, Go and Python).
        self.annotation_type = _annotation_type(self.annotation_type)
        geometry: Dict[str, Any] = {"text": ""}
        for key in ("time", "amplitude"):
            if getattr(self, key) is not None:
                geometry[key] = _number(getattr(self, key), key)
        for key in ("time_range", "amplitude_range"):
            v = _pair(getattr(self, key), key)
            setattr(self, key, v)
            if v is not None:
                geometry[key] = list(v)
        if self.annotation_type is not None:
            geometry["type"] = self.annotation_type.value
        out = ctypes.c_void_p()
        fn = N.session_lib().evident_annotation_normalise_json
        N.check(fn(_json(geometry, "annotation"), ctypes.byref(out)))
        self.annotation_type = AnnotationType(_take_json(out)["type"])

    @property
    def start_time(self) -> Optional[float]:
        """``time``, or the start of ``time_range``."""
        return self.time_range[0] if self.time_range is not None else self.time

    @property
    def end_time(self) -> Optional[float]:
        """``time``, or the end of ``time_range``."""
        return self.time_range[1] if self.time_range is not None else self.time

    def to_dict(self) -> Dict[str, Any]:
        """The annotation as JSON data (the session file's field names)."""
        assert self.annotation_type is not None
        if not isinstance(self.text, str):
            raise InvalidArgumentError(
                f"annotation text must be a str, not {type(self.text).__name__}")
        d: Dict[str, Any] = {"text": self.text, "type": self.annotation_type.value}
        for key in ("time", "time_range", "amplitude", "amplitude_range", "color"):
            v = getattr(self, key)
            if v is not None:
                d[key] = list(v) if key.endswith("_range") else (
                    v if key == "color" else _number(v, key))
        d.update(style=self.style, visible=bool(self.visible), created_at=_ts_out(self.created_at))
        d["metadata"] = _plain(self.metadata, "annotation metadata")
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], layer: Optional[str] = None) -> "Annotation":
        """An annotation from the library's JSON."""
        a = cls.__new__(cls)
        tr, ar = d.get("time_range"), d.get("amplitude_range")
        a.text, a.time, a.amplitude = d.get("text", ""), d.get("time"), d.get("amplitude")
        a.time_range = None if tr is None else (float(tr[0]), float(tr[1]))
        a.amplitude_range = None if ar is None else (float(ar[0]), float(ar[1]))
        a.annotation_type = _annotation_type(d.get("type") or d.get("annotation_type"))
        a.color, a.style = d.get("color"), d.get("style", "solid")
        a.visible = d.get("visible", True)
        a.created_at = _ts_in(d.get("created_at")) or _now()
        a.metadata, a.layer = dict(d.get("metadata") or {}), layer
        if a.annotation_type is None:
            a.__post_init__()
        return a


def _layer_setter(key: str, check: Callable[[Any], Any]) -> Callable[[Any, Any], None]:
    return lambda layer, value: layer._session.set_layer(layer._name, **{key: check(value)})


def _str_or_none(what: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if (value is not None or what == "description") and not isinstance(value, str):
            allowed = "a str" if what == "description" else "a str or None"
            raise InvalidArgumentError(f"{what} must be {allowed}, not {type(value).__name__}")
        return value or ""  # color "" removes the colour

    return check


class AnnotationLayer:
    """A named collection of annotations (TraceKit's ``AnnotationLayer``).

    ``session.annotation_layers[name]`` is a live view of the session's layer; one
    made with the constructor lives in a private session until stored with
    ``session.annotation_layers[name] = layer``. A locked layer refuses changes
    to its annotations with :class:`~evident.errors.LayerLockedError`.
    """

    def __init__(self, name: str, annotations: Optional[List[Annotation]] = None,
                 visible: bool = True, locked: bool = False, color: Optional[str] = None,
                 description: str = "") -> None:
        self._session = Session(name="annotation layer")
        self._name = name
        self._session.set_layer(name, visible=visible, color=color or "", description=description)
        for a in annotations or []:
            self.add(a)
        if locked:
            self._session.set_layer(name, locked=True)

    @classmethod
    def _bound(cls, session: "Session", name: str) -> "AnnotationLayer":
        layer = cls.__new__(cls)
        layer._session, layer._name = session, name
        return layer

    def _props(self) -> Dict[str, Any]:
        """The layer's properties (parsed once until the session changes)."""
        for layer in self._session._cached("layers_json"):
            if layer.get("name") == self._name:
                return cast(Dict[str, Any], layer)
        raise NotFoundError(f"no annotation layer named {self._name!r}")

    def _get(self, key: str) -> Any:
        return self._props().get(key)

    @property
    def name(self) -> str:
        return self._name

    visible = _Prop("visible", lambda v: v is not False, set=_layer_setter("visible", bool))
    locked = _Prop("locked", bool, set=_layer_setter("locked", bool))
    color = _Prop("color", set=_layer_setter("color", _str_or_none("color")))
    description = _Prop("description", lambda v: v or "",
                        set=_layer_setter("description", _str_or_none("description")))

    @property
    def annotations(self) -> List[Annotation]:
        """The layer's annotations, oldest first."""
        self._props()  # NotFoundError when the layer is gone
        return self._session.get_annotations(self._name)

    def add(self, annotation: Optional[Annotation] = None, **kwargs: Any) -> Annotation:
        """Adds an :class:`Annotation` or one made from keyword arguments; returns it."""
        if annotation is None:
            annotation = Annotation(**kwargs)
        elif kwargs:
            raise InvalidArgumentError("pass either an Annotation or keyword arguments, not both")
        self._session._annotate(self._name, annotation)
        return annotation

    def remove(self, annotation: Annotation) -> bool:
        """Removes the first annotation equal to ``annotation``; False if none is."""
        try:
            i = self.annotations.index(annotation)
        except ValueError:
            return False
        self._session._call(N.lib.evident_session_remove_annotation, N.text(self._name, "layer"), i)
        return True

    def clear(self) -> None:
        """Removes every annotation of the layer."""
        self._session._call(N.lib.evident_session_clear_layer, N.text(self._name, "layer"))

    def find_at_time(self, time: float, tolerance: float = 0.0) -> List[Annotation]:
        """Annotations at ``time`` ± ``tolerance`` (the library's overlap rule)."""
        t, tol = _number(time, "time"), _number(tolerance, "tolerance")
        return self._session.get_annotations(self._name, (t - tol, t + tol))

    def find_in_range(self, start: float, end: float) -> List[Annotation]:
        """Annotations whose time or time range overlaps ``[start, end]``."""
        rng = (_number(start, "start"), _number(end, "end"))
        return self._session.get_annotations(self._name, rng)

    def __len__(self) -> int:
        return len(self._get("annotations") or ())

    def __iter__(self) -> Iterator[Annotation]:
        return iter(self.annotations)

    def __repr__(self) -> str:
        p = self._props()
        flags = (" locked" if p.get("locked") else "") + (
            "" if p.get("visible", True) else " hidden")
        return f"<evident.AnnotationLayer {self._name!r}{flags}>"


class _Layers(MutableMapping[str, AnnotationLayer]):
    """``session.annotation_layers``: name -> live :class:`AnnotationLayer`."""

    def __init__(self, session: "Session") -> None:
        self._session = session

    def _names(self) -> List[str]:
        names: List[str] = self._session._json_of("layer_names_json")
        return names

    def __getitem__(self, name: str) -> AnnotationLayer:
        layer = AnnotationLayer._bound(self._session, name)
        layer._props()  # NotFoundError (a KeyError) when there is none
        return layer

    def __setitem__(self, name: str, layer: AnnotationLayer) -> None:
        if not isinstance(layer, AnnotationLayer):
            raise InvalidArgumentError(
                f"annotation_layers values must be AnnotationLayer, not {type(layer).__name__}"
            )
        p, annotations, s = layer._props(), layer.annotations, self._session
        if name in self._names():
            s._call(N.lib.evident_session_remove_layer, N.text(name, "layer"))
        s.set_layer(name, locked=False, visible=p["visible"], color=p.get("color") or "",
                    description=p["description"])
        for a in annotations:
            s._annotate(name, a)
        if p["locked"]:
            s.set_layer(name, locked=True)

    def __delitem__(self, name: str) -> None:
        self._session.remove_layer(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return f"<evident annotation layers {self._names()!r}>"


# --- records read from the library: one generic from_dict -------------------------------


_CONVS: Dict[str, Callable[[Any], Any]] = {
    "int": lambda v: int(v or 0),
    "float": lambda v: float(v or 0.0),
    "bool": bool,
    "str": lambda v: "" if v is None else str(v),
    "Path": lambda v: Path(v or ""),
    "datetime": lambda v: _ts_in(v) or _now(),
    "Optional[datetime]": _ts_in,
    "Optional[int]": _opt(int),
    "Dict[str, Any]": lambda v: dict(v or {}),
    "List[str]": lambda v: [str(p) for p in v or []],
}


class _Record:
    """``from_dict``: the record from the library's JSON (missing fields: defaults)."""

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Any:
        kw = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            v = d.get(f.name)
            if v is None and f.default is not dataclasses.MISSING:
                v = f.default
            kw[f.name] = _CONVS.get(str(f.type), _same)(v)
        return cls(**kw)


# --- measurements and history ----------------------------------------------------------


@dataclass
class Measurement(_Record):
    """One recorded measurement."""

    name: str
    value: Any
    unit: str = ""
    trace_name: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict)
    recorded_at: Optional[datetime] = None

    def as_tracekit(self) -> Dict[str, Any]:
        """TraceKit's shape, ``{value, unit, trace_name, timestamp, **metadata}``."""
        m = {"name": self.name, "value": _plain(self.value, "measurement value"),
             "unit": self.unit, "metadata": _plain(self.metadata, "measurement metadata")}
        if self.trace_name is not None:
            m["trace_name"] = self.trace_name
        if self.recorded_at is not None:
            m["recorded_at"] = _ts_out(self.recorded_at, "recorded_at")
        out = ctypes.c_void_p()
        fn = N.session_lib().evident_measurement_tracekit_json
        N.check(fn(_json(m, "measurement"), ctypes.byref(out)))
        d: Dict[str, Any] = _take_json(out)
        if self.recorded_at is None:
            d.pop("timestamp", None)
        return d


@dataclass
class HistoryEntry(_Record):
    """One operation of the history (TraceKit's fields)."""

    operation: str
    parameters: Dict[str, Any] = field(default_factory=dict)
    result: Any = None
    timestamp: datetime = field(default_factory=_now)
    duration_ms: float = 0.0
    success: bool = True
    error_message: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        if not isinstance(self.operation, str) or not self.operation:
            raise InvalidArgumentError("a history entry needs an operation name (a str)")
        values = {"parameters": self.parameters or {}, "result": self.result,
                  "metadata": self.metadata or {}}
        d: Dict[str, Any] = {k: _plain(v, f"history {k}", lenient=True) for k, v in values.items()}
        d.update(operation=self.operation, timestamp=_ts_out(self.timestamp),
                 duration_ms=_number(self.duration_ms, "duration_ms"), success=bool(self.success))
        if self.error_message is not None:
            d["error_message"] = str(self.error_message)
        if not isinstance(d["parameters"], dict):
            raise InvalidArgumentError("history parameters must be a dict")
        return d

    def to_code(self, alias: str = "tk", _style: int = 0) -> str:
        """The call as Python code, ``alias.operation(param=value, ...)``; an
        operation that is not one public name becomes a comment (the file is data).
        """
        out = ctypes.c_void_p()
        entry = _json(self.to_dict(), "history entry", lenient=True)
        fn = N.session_lib().evident_history_entry_code
        N.check(fn(entry, N.text(alias, "alias"), _style, ctypes.byref(out)))
        return N.take_string(out)


class OperationHistory:
    """The history of operations (TraceKit's ``OperationHistory``).

    ``session.history`` is a live view; one made with the constructor keeps its
    entries in a private session. ``max_entries`` bounds the entries (0 =
    unlimited; the oldest are dropped); ``auto_record``: whether
    :meth:`Session.load_trace` records itself.
    """

    #: The layout of :meth:`to_script`: 0 evident's, 1 TraceKit's.
    _script_style = 0

    def __init__(self, max_entries: int = 0, auto_record: bool = True) -> None:
        self._session = Session(name="history")
        self.max_entries = max_entries
        self.auto_record = auto_record

    @classmethod
    def _bound(cls, session: "Session") -> "OperationHistory":
        h = cls.__new__(cls)
        h._session, h.auto_record = session, True
        return h

    def _get(self, key: str) -> Any:
        return self._session._get(key)

    def _set_limit(self, value: int) -> None:
        value = N.unsigned(value, "max_entries")
        self._session._call(N.lib.evident_session_set_history_limit, value)

    max_entries = _Prop("history_limit", lambda v: int(v or 0), "0: unlimited.", set=_set_limit)

    @property
    def entries(self) -> List[HistoryEntry]:
        """Every entry, oldest first."""
        return [HistoryEntry.from_dict(e) for e in self._session._json_of("history_json")]

    def record(self, operation: str, parameters: Optional[Mapping[str, Any]] = None,
               result: Any = None, duration_ms: float = 0.0, success: bool = True,
               error_message: Optional[str] = None, *, timestamp: Optional[datetime] = None,
               **metadata: Any) -> HistoryEntry:
        """Records one operation (JSON; what JSON cannot hold as ``str()``); returns it."""
        d = HistoryEntry(
            operation, dict(parameters or {}), result, timestamp or _now(), duration_ms,
            success, error_message, dict(metadata),
        ).to_dict()
        self._session._call(N.lib.evident_session_record_history, _json(d, "history entry"))
        return cast(HistoryEntry, HistoryEntry.from_dict(d))

    def find(self, operation: Optional[str] = None,
             success_only: bool = False) -> List[HistoryEntry]:
        """Entries of ``operation`` (all when None), only successful ones with ``success_only``."""
        return [
            e
            for e in self.entries
            if (operation is None or e.operation == operation) and (e.success or not success_only)
        ]

    def summary(self) -> Dict[str, Any]:
        """Counts and durations (``total_operations``, ``successful``, ``failed``,
        ``total_duration_ms``, ``average_duration_ms``, ``operations``, ``first``, ``last``).
        """
        d: Dict[str, Any] = dict(self._session._json_of("history_summary_json"))
        d["first"], d["last"] = _ts_in(d.get("first")), _ts_in(d.get("last"))
        return d

    def to_script(self, module: str = "tracekit", alias: str = "tk") -> str:
        """A Python script replaying the operations (TraceKit's format; failures as comments)."""
        return self._session._string(
            N.lib.evident_session_history_script, N.text(module, "module"), N.text(alias, "alias"),
            self._script_style,
        )

    def __len__(self) -> int:
        return int(self._get("history") or 0)

    def __iter__(self) -> Iterator[HistoryEntry]:
        return iter(self.entries)

    def __repr__(self) -> str:
        return f"<evident.OperationHistory {len(self)} entries>"


# --- results of file operations -------------------------------------------------------


@dataclass(frozen=True)
class SaveInfo(_Record):
    """What :meth:`Session.save` wrote."""

    path: Path
    version: int
    commit: str
    bytes_written: int
    traces_written: int
    traces_reused: int
    sample_bytes_written: int = 0


@dataclass(frozen=True)
class VersionInfo(_Record):
    """One saved version of a session file."""

    version: int
    commit: str
    ts: Optional[datetime]
    name: str
    traces: int
    annotations: int
    measurements: int
    history: int
    offset: int
    layers: int = 0
    trace_bytes: int = 0
    #: For the first version of a compacted file: ``{"version", "commit"}``
    #: of the version it was made from.
    compacted_from: Optional[Dict[str, Any]] = None


@dataclass(frozen=True)
class CompactInfo(_Record):
    """What :func:`compact_session` did."""

    version: int
    bytes_before: int
    bytes_after: int
    commit: str = ""


@dataclass(frozen=True)
class SessionReport(_Record):
    """The result of :func:`verify_session`; true when ``ok``."""

    ok: bool
    versions: int
    problems: List[str]
    torn_tail_at: Optional[int]
    #: The newest version and its commit (None when there is none).
    head_version: Optional[int] = None
    head_commit: Optional[str] = None
    #: Everything the library reported (records, data_frames, bytes,
    #: sample_bytes_checked, problem_details, ...).
    details: Dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.ok


# --- the session's metadata: a dict that writes every change through ------------------


class _MetaDict(dict):  # type: ignore[type-arg]
    """The session's metadata (or a dict inside it), writing every change through."""

    def __init__(self, data: Mapping[str, Any], root: "Optional[_MetaDict]") -> None:
        dict.__init__(self, data)
        self._root = self if root is None else root
        self._owner: Any = None  # the root's weak reference to its session
        self._adopt()

    def _adopt(self) -> None:
        """Dicts and lists put inside become tracked containers."""
        for k, v in list(dict.items(self)):
            t = _track(v, self._root)
            if t is not v:
                dict.__setitem__(self, k, t)

    def _changed(self) -> None:
        owner = self._root._owner
        session = owner() if owner is not None else None
        if session is not None:
            session._sync_metadata()

    def __reduce__(self) -> Any:  # copies and pickles are plain dicts
        return (dict, (dict(self),))

    def __deepcopy__(self, memo: Any) -> Any:
        return json.loads(_json(self, "metadata", lenient=True))


class _MetaList(list):  # type: ignore[type-arg]
    """A list inside the session's metadata, writing every change through."""

    def __init__(self, data: Any, root: _MetaDict) -> None:
        list.__init__(self, data)
        self._root = root
        self._adopt()

    def _adopt(self) -> None:
        for i, v in enumerate(list(list.__iter__(self))):
            t = _track(v, self._root)
            if t is not v:
                list.__setitem__(self, i, t)

    def _changed(self) -> None:
        self._root._changed()

    def __reduce__(self) -> Any:
        return (list, (list(self),))

    __deepcopy__ = _MetaDict.__deepcopy__


def _mutator(base: Any, name: str) -> Any:
    fn = getattr(base, name)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = fn(self, *args, **kwargs)
        self._adopt()
        self._root._changed()
        if name == "setdefault":
            return dict.__getitem__(self, args[0])
        return self if name.startswith("__i") else out

    method.__name__ = name
    return method


for _name in ("__setitem__", "__delitem__", "update", "setdefault", "pop", "popitem", "clear",
              "__ior__"):
    setattr(_MetaDict, _name, _mutator(dict, _name))
for _name in ("__setitem__", "__delitem__", "append", "extend", "insert", "pop", "remove", "clear",
              "sort", "reverse", "__iadd__", "__imul__"):
    setattr(_MetaList, _name, _mutator(list, _name))


def _track(value: Any, root: _MetaDict) -> Any:
    """Dicts and lists inside the metadata as containers tracked by ``root``."""
    if isinstance(value, dict) and not (isinstance(value, _MetaDict) and value._root is root):
        return _MetaDict(value, root)
    if isinstance(value, list) and not (isinstance(value, _MetaList) and value._root is root):
        return _MetaList(value, root)
    return value


# --- the session ---------------------------------------------------------------


def _set_name(session: "Session", value: str) -> None:
    session._call(N.lib.evident_session_set_name, N.text(value, "name"))


class Session(Managed):
    """An analysis session: traces, annotation layers, measurements, operation
    history and metadata, saved to a crash-safe, versioned file.

    ``Session(name)`` starts an empty one, :func:`load_session` opens a saved one.
    Changes stay in memory until :meth:`save`. Calls are serialised by a lock.
    :meth:`close` (or ``with``) frees it; traces already obtained stay valid.
    """

    _free_fn = staticmethod(lambda ptr: N.lib.evident_session_free(ptr))  # type: ignore[assignment]
    _what = "session"

    def __init__(self, name: str = "Untitled Session", *,
                 metadata: Optional[Mapping[str, Any]] = None) -> None:
        lib, out = N.session_lib(), ctypes.c_void_p()
        N.check(lib.evident_session_new(N.text(name, "name"), ctypes.byref(out)))
        self._init(out.value, None)  # type: ignore[arg-type]
        if metadata is not None:
            self.metadata = dict(metadata)

    def _init(self, ptr: int, key: Optional[bytes]) -> None:
        self._set_handle(ptr)
        self._mutex = threading.RLock()
        self._key = key
        self._cache: Dict[str, Any] = {}
        self._history = OperationHistory._bound(self)
        self.last_save: Optional[SaveInfo] = None
        # The metadata as a live dict: every change is written through to
        # the library at once (the library's copy is the only one saved).
        self._metadata_view = _MetaDict(self._json_of("metadata_json"), None)
        self._metadata_view._owner = weakref.ref(self)
        self._metadata_pending = False  # a value JSON cannot hold is in the view

    @classmethod
    def load(cls, path: PathLike, *, version: Optional[int] = None,
             key: Optional[bytes] = None) -> "Session":
        """Opens a saved session (see :func:`load_session`)."""
        lib, raw = N.session_lib(), N.path_arg(path)
        v = 0 if version is None else N.unsigned(version, "version")
        if version is not None and v == 0:
            raise InvalidArgumentError("versions are numbered from 1")
        key_buf, key_len = N.key_arg(key)
        out = ctypes.c_void_p()
        N.check(lib.evident_session_load(raw, key_buf, key_len, v, ctypes.byref(out)))
        self = cls.__new__(cls)
        self._init(out.value, None if key is None else bytes(key))  # type: ignore[arg-type]
        return self

    # -- calling the library -------------------------------------------------

    def _call(self, fn: Callable[..., int], *args: Any, mutates: bool = True) -> None:
        with self._mutex:
            if mutates:
                self._cache.clear()  # what was read before may have changed
            ptr = self._acquire()
            try:
                N.check(fn(ptr, *args))
            finally:
                self._release()

    def _string(self, fn: Callable[..., int], *args: Any, mutates: bool = True) -> str:
        out = ctypes.c_void_p()
        self._call(fn, *args, ctypes.byref(out), mutates=mutates)
        return N.take_string(out)

    def _json_of(self, what: str, *args: Any) -> Any:
        """``evident_session_<what>(session, *args, &out)``, parsed."""
        fn = getattr(N.lib, "evident_session_" + what)
        return json.loads(self._string(fn, *args, mutates=False))

    def _cached(self, what: str) -> Any:
        """``_json_of(what)`` parsed once until the session changes (do not modify it)."""
        with self._mutex:
            if what not in self._cache:
                self._cache[what] = self._json_of(what)
            return self._cache[what]

    def _get(self, key: str) -> Any:
        """One field of :meth:`info`, from the native session (cached until a change)."""
        with self._mutex:
            if key not in self._cache:
                self._cache[key] = self._json_of("info_field_json", key.encode())
            return self._cache[key]

    def _sync_metadata(self) -> None:
        """Writes the metadata through to the library; a value JSON cannot hold
        is reported by the next save (TraceKit code assigns first, saves later).
        """
        with self._mutex:
            try:
                text = _json(self._metadata_view, "metadata")
            except InvalidArgumentError:
                self._metadata_pending = True
                return
            self._call(N.lib.evident_session_set_metadata_json, text)
            self._metadata_pending = False

    def _push_metadata(self) -> None:
        if self._metadata_pending:  # raises what JSON cannot hold
            _json(self._metadata_view, "metadata")

    # -- description -------------------------------------------------------

    name = _Prop("name", lambda v: str(v or ""), "The session's name.", set=_set_name)
    created_at = _Prop("created_at", _ts_in)
    modified_at = _Prop("modified_at", _ts_in)
    path = _Prop("path", _opt(Path), "The file this session was loaded from or last saved to.")
    version = _Prop("version", _opt(int), "The version loaded or last saved (None: never saved).")
    commit = _Prop("commit", _opt(str), "The commit hash of that version (lowercase hex).")

    @property
    def metadata(self) -> Dict[str, Any]:
        """The metadata, a dict to change in place (nested dicts and lists too):
        every change is written to the session at once; values must be JSON data.
        """
        return self._metadata_view

    @metadata.setter
    def metadata(self, value: Mapping[str, Any]) -> None:
        if not isinstance(value, Mapping):
            raise InvalidArgumentError("metadata must be a dict")
        view = self._metadata_view
        dict.clear(view)
        dict.update(view, dict(value))
        view._adopt()
        self._sync_metadata()

    def info(self) -> Dict[str, Any]:
        """Name, times, path, version, commit and counts, as the library reports them."""
        self._push_metadata()
        info: Dict[str, Any] = self._json_of("info_json")
        return info

    def summary(self) -> str:
        """A human-readable summary of the session."""
        self._push_metadata()
        return self._string(N.lib.evident_session_summary)

    def to_dict(self) -> Dict[str, Any]:
        """Everything but the samples, as JSON data."""
        self._push_metadata()
        d: Dict[str, Any] = self._json_of("to_json")
        return d

    # -- traces ------------------------------------------------------------

    def load_trace(self, path: PathLike, name: Optional[str] = None, **load_kwargs: Any) -> Trace:
        """Loads a capture file (CSV, ``.npy``, sigrok ``.sr``, Tektronix ``.wfm``)
        as trace ``name`` (default: the file's stem) and returns it. Options:
        ``channel`` (of a ``.sr`` capture), ``lazy``. Recorded in the history.
        """
        raw, name_b = N.path_arg(path), N.text(name, "name")
        params: Dict[str, Any] = {"path": str(Path(path))}
        if name is not None:
            params["name"] = name
        params.update(load_kwargs)
        opts = _json(load_kwargs, "loader options") if load_kwargs else None
        t0 = _time.perf_counter()
        try:
            if opts is None:
                loaded = self._string(N.lib.evident_session_load_trace, raw, name_b)
            else:
                fn = N.measure_lib().evident_session_load_trace_with
                loaded = self._string(fn, raw, name_b, opts)
        except EvidentError as e:
            if self._history.auto_record:
                self._auto_record("load_trace", params, None, t0, e)
            raise
        if self._history.auto_record:
            self._auto_record("load_trace", params, f"loaded {loaded!r}", t0, None)
        return self.get_trace(loaded)

    def measure(self, trace_name: str, what: str) -> float:
        """Measures trace ``trace_name`` (``"frequency"``, ``"period"``, ``"amplitude"``,
        ``"rise_time"``, ``"fall_time"``, ``"duty_cycle"``, ``"thd"``; NaN when the
        signal does not allow it) and records ``measure_<what>`` in the history.
        """
        code, out = _measure_code(what), ctypes.c_double()
        name_b = N.text(trace_name, "trace_name")
        self._call(N.measure_lib().evident_session_measure, name_b, code, ctypes.byref(out))
        return out.value

    def _auto_record(self, op: str, params: Dict[str, Any], result: Any, t0: float,
                     error: Optional[Exception]) -> None:
        ms = (_time.perf_counter() - t0) * 1000.0
        err = None if error is None else str(error)
        self._history.record(op, params, result, duration_ms=ms, success=error is None,
                             error_message=err)

    def add_trace(self, name: str, trace: Any, *, dtype: Any = None,
                  sample_rate: Optional[float] = None, start_time: Optional[float] = None,
                  units: Optional[str] = None, metadata: Optional[Mapping[str, Any]] = None,
                  length: Optional[int] = None) -> None:
        """Adds (or replaces) trace ``name``, copying the samples: an
        :class:`evident.Trace`, a 1-D numpy array, an :class:`array.array`, a list of
        numbers or bools, raw little-endian bytes with ``dtype=`` (``bit``: packed
        LSB-first, ``length=`` samples), or an object with ``.data`` and
        ``.sample_rate``. ``dtype`` converts without loss or interprets; the keyword
        arguments override what ``trace`` carries.
        """
        name_b = N.text(name, "name")
        s = _samples(trace, None if dtype is None else _dtype_name(dtype), length)
        info = dict(s.info)
        for key, v in (("sample_rate", sample_rate), ("start_time", start_time)):
            if v is not None:
                info[key] = _number(v, key)
        if units is not None:
            if not isinstance(units, str):
                raise InvalidArgumentError(f"units must be a str, not {type(units).__name__}")
            info["units"] = units
        if metadata is not None:
            info["metadata"] = _plain(dict(metadata), "trace metadata")
        info_json = _json(info, "trace info")
        code = DTYPES[s.dtype].code
        self._call(N.lib.evident_session_add_trace, name_b, code, s.pointer, s.length, info_json)
        del s  # the library copied the samples

    def list_traces(self) -> List[str]:
        """The trace names, in the order they were added."""
        return list(self._json_of("trace_names_json"))

    def get_trace(self, name: str) -> Trace:
        """The trace ``name`` (NotFoundError, a KeyError, when there is none)."""
        out = ctypes.c_void_p()
        self._call(N.lib.evident_session_get_trace, N.text(name, "name"), ctypes.byref(out))
        if not out.value:
            raise InternalError("the library returned a NULL trace")
        return Trace(out.value)

    def remove_trace(self, name: str) -> None:
        """Removes the trace ``name`` (NotFoundError when there is none)."""
        self._call(N.lib.evident_session_remove_trace, N.text(name, "name"))

    @property
    def traces(self) -> Dict[str, Trace]:
        """Every trace by name (new :class:`Trace` objects)."""
        return {n: self.get_trace(n) for n in self.list_traces()}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.list_traces()

    # -- annotations ---------------------------------------------------------

    def annotate(self, text: str, *, time: Optional[float] = None,
                 time_range: Optional[Tuple[float, float]] = None, layer: str = "default",
                 amplitude: Optional[float] = None,
                 amplitude_range: Optional[Tuple[float, float]] = None,
                 annotation_type: Union[AnnotationType, str, None] = None,
                 color: Optional[str] = None, style: str = "solid", visible: bool = True,
                 created_at: Optional[datetime] = None, **metadata: Any) -> Annotation:
        """Adds an annotation to ``layer`` (created if missing) and returns it; other
        keyword arguments are its metadata (LayerLockedError on a locked layer).
        """
        time, amplitude = (None if v is None else _number(v, k)
                           for k, v in (("time", time), ("amplitude", amplitude)))
        a = Annotation(text, time, time_range, amplitude, amplitude_range,
                       _annotation_type(annotation_type), color, style, visible,
                       created_at or _now(), dict(metadata))
        self._annotate(layer, a)
        return a

    def _annotate(self, layer: str, a: Annotation) -> None:
        body = _json(a.to_dict(), "annotation")
        self._call(N.lib.evident_session_annotate, N.text(layer, "layer"), body)
        a.layer = layer

    def get_annotations(
        self, layer: Optional[str] = None, time_range: Optional[Tuple[float, float]] = None
    ) -> List[Annotation]:
        """Annotations of ``layer`` (all when None; none for a missing layer),
        optionally only those overlapping ``time_range`` (the library's rule).
        """
        rng = _pair(time_range, "time_range")
        t0, t1 = rng if rng is not None else (0.0, 0.0)
        try:
            found = self._json_of("annotations_json", N.text(layer, "layer"),
                                  int(rng is not None), t0, t1)
        except NotFoundError:
            return []
        return [Annotation.from_dict(x["annotation"], x.get("layer")) for x in found]

    @property
    def annotation_layers(self) -> _Layers:
        """The layers by name (live views); assign a layer to store it, ``del`` removes."""
        return _Layers(self)

    def set_layer(self, name: str, *, visible: Optional[bool] = None,
                  locked: Optional[bool] = None, color: Optional[str] = None,
                  description: Optional[str] = None) -> AnnotationLayer:
        """Creates or changes layer ``name`` (``color=""`` removes the colour); returns it."""
        props: Dict[str, Any] = {"name": name}
        given = {"visible": visible, "locked": locked, "color": color, "description": description}
        props.update((k, bool(v) if k in ("visible", "locked") else v)
                     for k, v in given.items() if v is not None)
        self._call(N.lib.evident_session_set_layer, _json(props, "layer"))
        return AnnotationLayer._bound(self, name)

    def remove_layer(self, name: str) -> None:
        """Removes a layer and its annotations (LayerLockedError when locked)."""
        self._call(N.lib.evident_session_remove_layer, N.text(name, "layer"))

    # -- measurements and history -----------------------------------------------

    def record_measurement(
        self, name: str, value: Any, unit: str = "", trace_name: Optional[str] = None,
        **metadata: Any
    ) -> None:
        """Records a measurement: ``value`` is JSON data (numpy values converted);
        other keyword arguments are its metadata.
        """
        m = {"name": name, "value": _plain(value, f"measurement {name!r} value"), "unit": unit,
             "metadata": _plain(metadata, f"measurement {name!r} metadata")}
        if not isinstance(name, str) or not isinstance(unit, str):
            raise InvalidArgumentError("measurement name and unit must be str")
        if trace_name is not None and not isinstance(trace_name, str):
            raise InvalidArgumentError("trace_name must be a str")
        if trace_name is not None:
            m["trace_name"] = trace_name
        self._call(N.lib.evident_session_record_measurement, _json(m, "measurement"))

    def measurement_records(self) -> List[Measurement]:
        """Every measurement recorded, in order."""
        return [Measurement.from_dict(m) for m in self._json_of("measurements_json")]

    def get_measurements(self) -> Dict[str, Dict[str, Any]]:
        """The latest measurement of each name, in TraceKit's shape."""
        by_name: Dict[str, Dict[str, Any]] = self._json_of("measurements_tracekit_json")
        return by_name

    measurements = property(get_measurements, doc="Same as :meth:`get_measurements`.")

    @property
    def history(self) -> OperationHistory:
        """The operation history (a live view)."""
        return self._history

    # -- saving ----------------------------------------------------------------

    def save(self, path: Optional[PathLike] = None, *, include_traces: bool = True,
             compress: Union[bool, int] = False, audit_log: Optional[AuditLog] = None,
             key: Optional[bytes] = None, sync: bool = True,
             lock_timeout: Optional[float] = None) -> Path:
        """Saves a new version and returns the file's path (details in :attr:`last_save`).

        Only what changed is appended, then a commit; a crash leaves the previous
        version loadable. ``path``: default the session's file. ``compress``: True
        (zstd level 3) or a level. ``audit_log``: an :class:`~evident.AuditLog` that
        gets an entry with the commit. ``key``: the file's HMAC key (default: the one
        loaded with). ``sync=False``: return once in the page cache (a power cut may
        lose the unsynced saves, never an earlier synced one; see spec/session.md).
        ``lock_timeout``: seconds to wait for another writer.
        """
        lib = N.session_lib()
        raw = None if path is None else N.path_arg(path)
        if not isinstance(compress, int):
            raise InvalidArgumentError("compress must be a bool or a zstd level (int)")
        level = (3 if compress else 0) if isinstance(compress, bool) else compress
        if not -(2**31) <= level < 2**31:
            raise InvalidArgumentError(f"compress level {level} is out of range")
        if audit_log is not None and not isinstance(audit_log, AuditLog):
            raise InvalidArgumentError(
                f"audit_log must be an evident.AuditLog, not {type(audit_log).__name__}")
        use_key = key if key is not None else self._key
        key_buf, key_len = N.key_arg(use_key)
        timeout_ms: Optional[int] = None
        if lock_timeout is not None:
            t = _number(lock_timeout, "lock_timeout")
            if math.isnan(t) or t < 0:
                raise InvalidArgumentError("lock_timeout must be >= 0")
            timeout_ms = N.UINT64_MAX if math.isinf(t) else int(round(t * 1000))
        with self._mutex:
            self._push_metadata()
            opts = ctypes.c_void_p()
            N.check(lib.evident_save_options_new(ctypes.byref(opts)))
            log_ptr = None
            try:
                N.check(lib.evident_save_options_set_compress(opts, level))
                N.check(lib.evident_save_options_set_include_traces(opts, bool(include_traces)))
                N.check(lib.evident_save_options_set_sync(opts, bool(sync)))
                if use_key is not None:
                    N.check(lib.evident_save_options_set_key(opts, key_buf, key_len))
                if timeout_ms is not None:
                    N.check(lib.evident_save_options_set_lock_timeout_ms(opts, timeout_ms))
                if audit_log is not None:
                    log_ptr = audit_log._acquire()
                    N.check(lib.evident_save_options_set_audit_log(opts, log_ptr))
                text = self._string(lib.evident_session_save, raw, opts)
            finally:
                lib.evident_save_options_free(opts)
                if log_ptr is not None:
                    audit_log._release()  # type: ignore[union-attr]
        self.last_save = SaveInfo.from_dict(json.loads(text))
        if use_key is not None:
            self._key = bytes(use_key)
        return self.last_save.path

    def versions(self) -> List[VersionInfo]:
        """The versions saved in this session's file, oldest first."""
        p = self.path
        if p is None:
            raise InvalidArgumentError("this session has no file yet (save it first)")
        return session_versions(p, key=self._key)

    def __repr__(self) -> str:
        if self.closed:
            return "<evident.Session closed>"
        info = self._json_of("info_json")
        where = f" {info.get('path')!r} v{info.get('version')}" if info.get("path") else ""
        return f"<evident.Session {info.get('name')!r}{where} traces={info.get('traces')}>"


# --- module functions -----------------------------------------------------------------


def load_session(path: PathLike, *, version: Optional[int] = None,
                 key: Optional[bytes] = None) -> Session:
    """Opens a saved session: the newest complete version, or ``version`` (from 1).
    ``key``: the HMAC key of a keyed file. A damaged file raises an error naming it.
    """
    return Session.load(path, version=version, key=key)


def _file_call(fn_name: str, path: PathLike, key: Optional[bytes]) -> Any:
    lib, raw = N.session_lib(), N.path_arg(path)
    key_buf, key_len = N.key_arg(key)
    out = ctypes.c_void_p()
    N.check(getattr(lib, fn_name)(raw, key_buf, key_len, ctypes.byref(out)))
    return _take_json(out)


def session_versions(path: PathLike, key: Optional[bytes] = None) -> List[VersionInfo]:
    """Every complete version in a session file, oldest first."""
    found = _file_call("evident_session_versions_json", path, key)
    return [VersionInfo.from_dict(v) for v in found]


def compact_session(path: PathLike, key: Optional[bytes] = None) -> CompactInfo:
    """Rewrites the file with only its newest version (atomically)."""
    d = _file_call("evident_session_compact", path, key)
    return cast(CompactInfo, CompactInfo.from_dict(d))


def verify_session(path: PathLike, key: Optional[bytes] = None) -> SessionReport:
    """Checks every record, chain link and sample hash; problems are in the
    result (``ok`` false), an unreadable file raises.
    """
    d = _file_call("evident_session_verify", path, key)
    return cast(SessionReport, SessionReport.from_dict({**d, "details": dict(d)}))
