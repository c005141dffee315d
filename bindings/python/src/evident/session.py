"""The session container (``evident_session_*``), TraceKit's names; every rule is the
library's, this module converts arguments and results (docs/python-session.md)."""

from __future__ import annotations

import array
import ctypes
import dataclasses
import enum
import functools
import json
import math
import sys
import threading
import weakref
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, MutableMapping, NamedTuple
from typing import Optional, Sequence, Tuple, Union, cast

from . import _native as N
from ._convert import json_bytes as _json, now as _now, number as _number, pair as _pair
from ._convert import plain as _plain, ts_in as _ts_in, ts_out as _ts_out
from ._managed import Managed
from .errors import ClosedError, InternalError, InvalidArgumentError
from .errors import LayerLockedError, NotFoundError, UnsupportedError  # noqa: F401
from .log import AuditLog, PathLike

__all__ = [
    "DTYPES", "Session", "Trace", "Annotation", "AnnotationType", "AnnotationLayer",
    "Measurement", "HistoryEntry", "OperationHistory", "SaveInfo", "VersionInfo", "CompactInfo",
    "SessionReport", "load_session", "session_versions", "compact_session", "verify_session",
]


class _Dtype(NamedTuple):
    code: int  # enum evident_dtype
    fmt: str  # struct/memoryview/array.array format of one sample (native order)
    typestr: str  # numpy dtype of one sample ("" for bit)
    size: int  # bytes per sample (0 for bit: packed)


def _json_out(fn: Callable[..., int], *args: Any) -> Any:
    """``fn(*args, &out)`` for a library function returning a JSON string, parsed."""
    out = ctypes.c_void_p()
    N.check(fn(*args, ctypes.byref(out)))
    return json.loads(N.take_string(out))


#: The sample types by name (the library's table): code, memoryview format, numpy dtype,
#: bytes per sample (``bool``: one byte 0/1 per sample; ``bit``: 0, 8 per byte, LSB first).
DTYPES: Dict[str, _Dtype] = {} if N._session_missing else {
    d["name"]: _Dtype(d["code"], d["format"], d["numpy"], d["size"])
    for d in _json_out(N.lib.evident_dtypes_json)}
_PY_TYPES = {float: "f64", bool: "bool", int: "i64"}
_LITTLE = sys.byteorder == "little"
_EMPTY = ctypes.create_string_buffer(8)  # a valid pointer for empty arrays
_np_module: Any = None


def _numpy() -> Any:
    """numpy if it can be imported, else None (imported on first use)."""
    global _np_module
    if _np_module is None:
        try:
            import numpy as _np_module
        except ImportError:
            _np_module = False
    return _np_module or None


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a str, not {type(value).__name__}")
    return value


def _dtype_of(spec: str, itemsize: int = 0) -> str:
    """A dtype name or alias (``itemsize`` 0) or a buffer format -> the library's name."""
    fn = N.session_lib().evident_dtype_json
    return str(_json_out(fn, N.text(spec, "dtype"), itemsize)["name"])


def _dtype_name(dtype: Any) -> str:
    """A dtype (name or alias, numpy dtype, Python type) -> the library's name."""
    if not isinstance(dtype, str):
        try:
            dtype = _PY_TYPES.get(dtype) or _numpy().dtype(dtype).name
        except (TypeError, AttributeError):
            names = ", ".join(DTYPES)
            raise InvalidArgumentError(f"unsupported dtype {dtype!r}: use one of {names}") from None
    return _dtype_of(dtype)


def _dtype_code(dtype: str) -> str:
    """The array.array type code of a dtype (8-byte integers: "q", "Q")."""
    return DTYPES[dtype].fmt


class _Samples(NamedTuple):
    dtype: str
    length: int
    pointer: Any  # what ctypes accepts for `const void *`
    keep: Any  # keeps the memory alive during the call
    info: Dict[str, Any] = {}  # trace info found on a trace object (never modified)


def _from_buffer(mv: memoryview, dtype: str, length: Optional[int], keep: Any) -> _Samples:
    """Little-endian bytes holding samples of ``dtype`` (every path but numpy's ends here)."""
    if not mv.c_contiguous:
        raise InvalidArgumentError("the sample buffer must be contiguous")
    nbytes, n = mv.nbytes, ctypes.c_uint64()  # the count derived or checked by the library
    given = N.UINT64_MAX if length is None else N.unsigned(length, "length", N.UINT64_MAX - 1)
    N.check(N.lib.evident_dtype_len_samples(DTYPES[dtype].code, nbytes, given, ctypes.byref(n)))
    length = n.value
    if nbytes == 0:
        return _Samples(dtype, 0, _EMPTY, None)
    if isinstance(mv.obj, bytes) and len(mv.obj) == nbytes:
        return _Samples(dtype, length, mv.obj, mv.obj)
    if mv.readonly:
        data = mv.tobytes()
        return _Samples(dtype, length, data, data)
    buf = (ctypes.c_char * nbytes).from_buffer(mv.cast("B") if mv.format != "B" else mv)
    return _Samples(dtype, length, buf, (buf, keep))


def _from_list(values: Sequence[Any], dtype: Optional[str]) -> _Samples:
    if dtype is None:
        dtype = "f64"
        if values and all(isinstance(v, bool) for v in values):
            dtype = "bool"
        elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            dtype = "i64"
    if dtype == "bit":  # bit i of the number is sample i: little-endian bytes, LSB first
        bits = "".join("1" if v else "0" for v in reversed(values)) or "0"
        data = int(bits, 2).to_bytes((len(values) + 7) // 8, "little")
        return _from_buffer(memoryview(data), dtype, len(values), data)
    if dtype == "bool":
        data = bytes(1 if v else 0 for v in values)
        return _from_buffer(memoryview(data), dtype, len(values), data)
    try:
        return _samples(array.array(DTYPES[dtype].fmt, values), None, None)
    except (TypeError, OverflowError) as e:
        raise InvalidArgumentError(f"the samples cannot be stored as {dtype}: {e}") from None


def _from_numpy(np: Any, arr: Any, dtype: Optional[str]) -> _Samples:
    if arr.ndim != 1:
        raise InvalidArgumentError(
            f"a trace is one-dimensional; this array has shape {arr.shape} "
            "(pass one channel per trace, e.g. arr[:, 0], or arr.ravel())")
    if dtype == "bit":
        if arr.dtype.kind not in "biu":
            raise InvalidArgumentError(f"bit samples need a bool or integer array, not {arr.dtype}")
        packed = np.packbits(arr.astype(bool), bitorder="little")
        return _from_buffer(memoryview(packed), "bit", int(arr.size), packed)
    dtype = dtype or _dtype_of(arr.dtype.char, arr.dtype.itemsize)
    target = np.dtype(DTYPES[dtype].typestr)
    if arr.dtype != target and not np.can_cast(arr.dtype, target, casting="safe"):
        raise InvalidArgumentError(f"{arr.dtype} samples cannot be stored as {dtype} without loss "
                                   f"(convert them first, e.g. arr.astype({target.name!r}))")
    arr = np.ascontiguousarray(arr, dtype=target)
    return _Samples(dtype, arr.size, ctypes.c_void_p(arr.ctypes.data) if arr.size else _EMPTY, arr)


def _trace_object_info(obj: Any) -> Dict[str, Any]:
    """Sample rate, start time, units and metadata of a TraceKit-like object."""
    info: Dict[str, Any] = {}
    meta = getattr(obj, "metadata", None)
    for holder in (meta, obj):
        if holder is not None:
            for attr, conv in (("sample_rate", _number), ("start_time", _number), ("units", _text)):
                # a dict ``.metadata`` holds them as keys (they are not kept as metadata)
                v = holder.get(attr) if isinstance(holder, Mapping) else getattr(holder, attr, None)
                if attr not in info and v is not None:
                    with suppress(InvalidArgumentError):
                        info[attr] = conv(v, attr)
    if isinstance(meta, Mapping):
        source: Mapping[str, Any] = meta
    elif meta is not None and dataclasses.is_dataclass(meta):
        source = {f.name: getattr(meta, f.name) for f in dataclasses.fields(meta)}
    else:
        source = getattr(meta, "__dict__", {}) if meta is not None else {}
    extra: Dict[str, Any] = {}
    for k, v in source.items():
        if k not in ("sample_rate", "start_time", "units") and v is not None \
                and not str(k).startswith("_"):
            with suppress(InvalidArgumentError):  # not JSON data: not kept
                extra[str(k)] = _plain(v, f"metadata[{k!r}]")
    return {**info, "metadata": extra} if extra else info


def _samples(data: Any, dtype: Optional[str], length: Optional[int]) -> _Samples:
    """Everything :meth:`Session.add_trace` accepts -> samples to copy."""
    if isinstance(data, Trace):
        if dtype is not None and dtype != data.dtype:
            raise InvalidArgumentError(
                f"the trace holds {data.dtype} samples; dtype={dtype!r} does not match")
        raw = data.raw
        ptr = ctypes.c_void_p(ctypes.addressof(cast(Any, raw.obj))) if raw.nbytes else _EMPTY
        return _Samples(data.dtype, len(data), ptr, (data, raw), data._info_dict())
    np = _numpy()
    if np is not None and isinstance(data, np.ndarray):
        return _from_numpy(np, data, dtype)
    if isinstance(data, array.array):
        native = _dtype_of(data.typecode, data.itemsize)
        if dtype not in (None, native):
            return _from_list(data.tolist(), dtype)  # converted value by value
        if not _LITTLE:
            data = array.array(data.typecode, data)
            data.byteswap()
        return _from_buffer(memoryview(data).cast("B"), native, len(data), data)
    if isinstance(data, (list, tuple)):
        return _from_list(data, dtype)
    try:
        mv = memoryview(data)
    except TypeError:
        inner = getattr(data, "data", None)
        if inner is not None and inner is not data:
            return _samples(inner, dtype, length)._replace(info=_trace_object_info(data))
        raise InvalidArgumentError(
            f"cannot make a trace of {type(data).__name__}: pass a numpy array, array.array, "
            "a list, bytes with dtype=, an evident.Trace or an object with .data") from None
    if dtype is None:  # a typed buffer; raw bytes need a dtype
        fmt = mv.format.lstrip("@=<")
        if fmt in ("B", "b", "c") or fmt[:1] in ("", ">", "!"):
            raise InvalidArgumentError(
                "raw bytes need a dtype (e.g. add_trace(name, data, dtype='u16'))")
        dtype = _dtype_of(mv.format, mv.itemsize)
        if not _LITTLE and mv.itemsize > 1:
            raise UnsupportedError("typed buffers on big-endian hosts: pass raw bytes")
    return _from_buffer(mv if mv.format in ("B", "b", "c") else mv.cast("B"), dtype, length, data)


def _measure_code(what: str) -> int:
    """The library's number of the measurement named ``what``."""
    code, name = ctypes.c_uint32(), N.text(_text(what, "measurement"), "what")
    N.check(N.measure_lib().evident_measure_from_name(name, ctypes.byref(code)))
    return code.value


class _Prop:
    """A property read from the native object, ``conv(owner._get(key))``; ``set`` assigns."""

    def __init__(self, key: str, conv: Callable[[Any], Any] = lambda v: v, doc: str = "",
                 set: Optional[Callable[[Any, Any], None]] = None) -> None:
        self.key, self.conv, self.set, self.__doc__ = key, conv, set, doc

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        return self if obj is None else self.conv(obj._get(self.key))

    def __set__(self, obj: Any, value: Any) -> None:
        if self.set is None:
            raise AttributeError(f"{self.key} is read-only")
        self.set(obj, value)


def _optional(conv: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else conv(v)


class _TraceHandle(Managed):
    """The native ``evident_trace``; kept alive by every view of its samples."""

    _free_fn = staticmethod(lambda ptr: N.lib.evident_trace_free(ptr))  # type: ignore[assignment]
    _what = "trace"

    def __init__(self, ptr: int) -> None:
        self._set_handle(ptr)
        # Not freed at interpreter exit: arrays over the samples may still
        # be read by later exit handlers (the OS reclaims the memory).
        cast(Any, self._finalizer).atexit = False
        self.views: List["weakref.ref[Any]"] = []  # the memory objects made


@functools.lru_cache(maxsize=64)
def _memory_type(nbytes: int) -> Any:
    """A ctypes char-array subclass of ``nbytes`` (it takes attributes and weak references)."""
    return type("_TraceMemory", (ctypes.c_char * nbytes,), {})


class Trace:
    """One named trace: typed samples and their description (valid after its session closes)."""

    def __init__(self, ptr: int) -> None:
        """Takes ownership of a native ``evident_trace`` pointer (internal)."""
        self._handle: Optional[_TraceHandle] = _TraceHandle(ptr)
        self._raw: Optional[memoryview] = None
        self._data: Any = None
        out = ctypes.c_void_p()
        self._native(N.lib.evident_trace_info_json, ctypes.byref(out))
        self._info: Dict[str, Any] = json.loads(N.take_string(out))  # a trace never changes
        if self.dtype not in DTYPES:
            raise InternalError(f"the library returned an unknown dtype {self.dtype!r}")

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
    nbytes = _Prop("bytes", lambda v: int(v or 0), "Size of the samples in bytes (bit: packed).")
    duration = property(lambda self: float(len(self) / self.sample_rate),
                        doc="``len(trace) / sample_rate`` seconds.")
    closed = property(lambda self: self._handle is None)

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
            addr, n, nb, code = ctypes.c_void_p(), ctypes.c_uint64(), ctypes.c_uint64(), \
                ctypes.c_uint32()
            self._native(N.lib.evident_trace_data, *map(ctypes.byref, (addr, n, nb, code)))
            got = (code.value, n.value, nb.value, bool(addr.value or not nb.value))
            if got != (DTYPES[self.dtype].code, len(self), self.nbytes, True):
                raise InternalError(f"trace {self.name!r}: the library's data {got} does not "
                                    "match its description")
            self._raw = memoryview(b"")
            if nb.value:
                mem = _memory_type(nb.value).from_address(addr.value)
                mem.owner = self._handle  # the native trace lives as long as the memory is used
                cast(_TraceHandle, self._handle).views.append(weakref.ref(mem))
                self._raw = memoryview(mem).cast("B").toreadonly()
        return self._raw

    @property
    def data(self) -> Any:
        """The samples: a read-only numpy array (else typed memoryview) over the library's."""
        if self._data is None:
            raw, np = self.raw, _numpy()
            if np is None:
                self._data = self._typed_view()
            elif self.dtype == "bit":
                u8 = np.frombuffer(raw, dtype=np.uint8)
                self._data = np.unpackbits(u8, count=len(self), bitorder="little").astype(bool)
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
        a = array.array(d.fmt, raw.tobytes())
        a.byteswap()  # big-endian host: a copy in native order
        return memoryview(a).toreadonly()

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        a = self.data
        if dtype is not None:
            return a.astype(dtype)
        return _numpy().array(a) if copy else a

    def bits(self) -> List[bool]:
        """The samples of a ``bit`` or ``bool`` trace as a list of bools."""
        if self.dtype not in ("bit", "bool"):
            raise InvalidArgumentError(f"trace {self.name!r} holds {self.dtype}, not bits")
        raw = self.raw
        if self.dtype == "bool":
            return [b != 0 for b in raw]
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
        if handle is not None and not any(r() is not None for r in handle.views):
            handle.close()

    def __enter__(self) -> "Trace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "mapped" if self.is_mapped else ("compressed" if self.compressed else "in memory")
        return (f"<evident.Trace {self.name!r} {self.dtype}[{len(self)}] "
                f"{self.sample_rate:g} Hz {where}>")


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
    """One annotation (TraceKit's fields); the library infers ``annotation_type`` when not given."""

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
        # Kind inferred, numbers and ranges checked by the library (one rule for every binding).
        self.annotation_type = _annotation_type(self.annotation_type)
        self.time_range = _pair(self.time_range, "time_range")
        self.amplitude_range = _pair(self.amplitude_range, "amplitude_range")
        fn = N.session_lib().evident_annotation_normalise_json
        text = self.text if isinstance(self.text, str) else ""  # named in an error
        d = _json_out(fn, _json({"text": text, **self._geometry()}, "annotation"))
        self.annotation_type = AnnotationType(d["type"])

    def _geometry(self) -> Dict[str, Any]:
        d = {} if self.annotation_type is None else {"type": self.annotation_type.value}
        for key in ("time", "time_range", "amplitude", "amplitude_range"):
            v = getattr(self, key)
            if v is not None:
                d[key] = list(v) if key.endswith("_range") else _number(v, key)
        return d

    def __setattr__(self, name: str, value: Any) -> None:
        # One read from a session (or added to it) writes a changed field
        # through, as TraceKit's list of annotations changes in place.
        where = self.__dict__.get("_where")
        if name == "annotation_type":
            value = _annotation_type(value)
        if where is None or name not in _ANNOTATION_FIELDS:
            return object.__setattr__(self, name, value)
        session, layer = where[0](), where[1]
        old, before = self.to_dict(), self.__dict__.get(name)
        object.__setattr__(self, name, value)
        try:
            if session is not None and not session.closed:
                session._replace_annotation(layer, where[2], old, self)
        except BaseException:  # refused by the library: the change is undone
            object.__setattr__(self, name, before)
            raise

    def __getstate__(self) -> Dict[str, Any]:  # copies and pickles are not bound
        return {k: v for k, v in self.__dict__.items() if k != "_where"}

    start_time = property(lambda self: self.time_range[0] if self.time_range else self.time,
                          doc="``time``, or the start of ``time_range``.")
    end_time = property(lambda self: self.time_range[1] if self.time_range else self.time,
                        doc="``time``, or the end of ``time_range``.")

    def to_dict(self) -> Dict[str, Any]:
        """The annotation as JSON data (the session file's field names)."""
        d = {"text": _text(self.text, "annotation text"), **self._geometry()}
        if self.color is not None:
            d["color"] = self.color
        d.update(style=self.style, visible=bool(self.visible), created_at=_ts_out(self.created_at),
                 metadata=_plain(self.metadata, "annotation metadata"))
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], layer: Optional[str] = None) -> "Annotation":
        """An annotation from the library's JSON."""
        a = cls.__new__(cls)
        a.text, a.time, a.amplitude = d.get("text", ""), d.get("time"), d.get("amplitude")
        a.time_range, a.amplitude_range = (None if d.get(k) is None else tuple(map(float, d[k]))
                                           for k in ("time_range", "amplitude_range"))
        a.annotation_type = _annotation_type(d.get("type") or d.get("annotation_type"))
        a.color, a.style = d.get("color"), d.get("style", "solid")
        a.visible = d.get("visible", True)
        a.created_at = _ts_in(d.get("created_at")) or _now()
        a.metadata, a.layer = dict(d.get("metadata") or {}), layer
        if a.annotation_type is None:
            a.__post_init__()
        return a


_ANNOTATION_FIELDS = frozenset(f.name for f in dataclasses.fields(Annotation)) - {"layer"}


def _layer_setter(key: str) -> Callable[[Any, Any], None]:
    def set(layer: "AnnotationLayer", value: Any) -> None:
        if key in ("visible", "locked"):
            value = bool(value)
        else:  # color None removes the colour ("")
            value = "" if value is None and key == "color" else _text(value, key)
        layer._session.set_layer(layer._name, **{key: value})

    return set


class AnnotationLayer:
    """A named collection of annotations (TraceKit's): a live view of a session's layer."""

    def __init__(self, name: str, annotations: Optional[List[Annotation]] = None,
                 visible: bool = True, locked: bool = False, color: Optional[str] = None,
                 description: str = "") -> None:
        self._session, self._name = Session(name="annotation layer"), name
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
        """The whole layer, its annotations included (to copy it)."""
        for layer in self._session._cached("layers_json"):
            if layer.get("name") == self._name:
                return cast(Dict[str, Any], layer)
        raise NotFoundError(f"no annotation layer named {self._name!r}")

    def _get(self, key: str) -> Any:
        """One property, ``annotations`` as their number (the library's one-layer
        read, cached until a change: NotFoundError when the layer is gone)."""
        return self._session._cached("layer_json", N.text(self._name, "layer")).get(key)

    name = property(lambda self: self._name)
    visible = _Prop("visible", lambda v: v is not False, set=_layer_setter("visible"))
    locked = _Prop("locked", bool, set=_layer_setter("locked"))
    color = _Prop("color", set=_layer_setter("color"))
    description = _Prop("description", lambda v: v or "", set=_layer_setter("description"))

    @property
    def annotations(self) -> List[Annotation]:
        """The layer's annotations, oldest first."""
        self._get("name")  # NotFoundError when the layer is gone
        return self._session.get_annotations(self._name)

    def add(self, annotation: Optional[Annotation] = None, **kwargs: Any) -> Annotation:
        """Adds an :class:`Annotation` or one made from keyword arguments; returns it."""
        if annotation is not None and kwargs:
            raise InvalidArgumentError("pass either an Annotation or keyword arguments, not both")
        annotation = annotation or self._session._annotation_class(**kwargs)
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
        return int(self._get("annotations") or 0)

    def __iter__(self) -> Iterator[Annotation]:
        return iter(self.annotations)

    def __repr__(self) -> str:
        flags = (" locked" if self.locked else "") + ("" if self.visible else " hidden")
        return f"<evident.AnnotationLayer {self._name!r}{flags}>"


class _Layers(MutableMapping[str, AnnotationLayer]):
    """``session.annotation_layers``: name -> live :class:`AnnotationLayer`."""

    def __init__(self, session: "Session") -> None:
        self._session = session

    def _names(self) -> List[str]:
        return cast(List[str], self._session._json_of("layer_names_json"))

    def __getitem__(self, name: str) -> AnnotationLayer:
        layer = AnnotationLayer._bound(self._session, name)
        layer._get("name")  # NotFoundError (a KeyError) when there is none
        return layer

    def __setitem__(self, name: str, layer: AnnotationLayer) -> None:
        if not isinstance(layer, AnnotationLayer):
            raise InvalidArgumentError(
                f"annotation_layers values must be AnnotationLayer, not {type(layer).__name__}")
        whole = _json(dict(layer._props(), name=name), "layer")  # stored whole by the library
        self._session._call(N.lib.evident_session_put_layer_json, whole)

    def __delitem__(self, name: str) -> None:
        self._session.remove_layer(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return f"<evident annotation layers {self._names()!r}>"


_CONVS: Dict[str, Callable[[Any], Any]] = {
    "int": lambda v: int(v or 0), "float": lambda v: float(v or 0.0), "bool": bool,
    "str": lambda v: "" if v is None else str(v), "Path": lambda v: Path(v or ""),
    "datetime": lambda v: _ts_in(v) or _now(), "Optional[datetime]": _ts_in,
    "Optional[int]": _optional(int), "Dict[str, Any]": lambda v: dict(v or {}),
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
            kw[f.name] = _CONVS.get(str(f.type), lambda v: v)(v)
        return cls(**kw)


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
        m = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        fn = N.session_lib().evident_measurement_tracekit_json
        d: Dict[str, Any] = _json_out(fn, _json({"value": None, **m}, "measurement"))
        if self.recorded_at is None and "timestamp" not in (self.metadata or {}):
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
        """The call as Python code, ``alias.operation(param=value, ...)`` (the library's)."""
        out = ctypes.c_void_p()
        entry = _json(self.to_dict(), "history entry", lenient=True)
        fn = N.session_lib().evident_history_entry_code
        N.check(fn(entry, N.text(alias, "alias"), _style, ctypes.byref(out)))
        return N.take_string(out)


class OperationHistory:
    """The history of operations (TraceKit's); ``session.history`` is a live view."""

    _script_style = 0  # the layout of to_script: 0 evident's, 1 TraceKit's
    _entry_class = HistoryEntry  # the class of the entries returned

    def __init__(self, max_entries: int = 0, auto_record: bool = True) -> None:
        self._session = Session(name="history")
        self.max_entries = max_entries
        self.auto_record = auto_record

    @classmethod
    def _bound(cls, session: "Session") -> "OperationHistory":
        h = cls.__new__(cls)
        h._session = session
        return h

    def _get(self, key: str) -> Any:
        return self._session._get(key)

    def _set_limit(self, value: int) -> None:
        value = N.unsigned(value, "max_entries")
        self._session._call(N.lib.evident_session_set_history_limit, value)

    max_entries = _Prop("history_limit", lambda v: int(v or 0), "0: unlimited.", set=_set_limit)
    auto_record = _Prop(
        "history_auto_record", lambda v: v is not False,
        "Whether Session.load_trace records itself (saved with the session).",
        set=lambda h, v: h._session._call(N.lib.evident_session_set_history_auto_record, bool(v)))

    @property
    def entries(self) -> List[HistoryEntry]:
        """Every entry, oldest first."""
        return [self._entry_class.from_dict(e) for e in self._session._json_of("history_json")]

    def record(self, operation: str, parameters: Optional[Mapping[str, Any]] = None,
               result: Any = None, duration_ms: float = 0.0, success: bool = True,
               error_message: Optional[str] = None, *, timestamp: Optional[datetime] = None,
               **metadata: Any) -> HistoryEntry:
        """Records one operation (JSON; what JSON cannot hold as ``str()``); returns it."""
        d = self._entry_class(operation, dict(parameters or {}), result, timestamp or _now(),
                         duration_ms, success, error_message, dict(metadata)).to_dict()
        self._session._call(N.lib.evident_session_record_history, _json(d, "history entry"))
        return cast(HistoryEntry, self._entry_class.from_dict(d))

    def find(self, operation: Optional[str] = None,
             success_only: bool = False) -> List[HistoryEntry]:
        """Entries of ``operation`` (all when None), only successful ones with ``success_only``."""
        found = self._session._json_of("history_find_json", N.text(operation, "operation"),
                                       bool(success_only))
        return [self._entry_class.from_dict(e) for e in found]

    def summary(self) -> Dict[str, Any]:
        """Counts and durations, by operation too, and the ``first`` and ``last`` times."""
        d: Dict[str, Any] = dict(self._session._json_of("history_summary_json"))
        d["first"], d["last"] = _ts_in(d.get("first")), _ts_in(d.get("last"))
        return d

    def to_script(self, module: str = "tracekit", alias: str = "tk") -> str:
        """A Python script replaying the operations (TraceKit's format; failures as comments)."""
        return self._session._string(N.lib.evident_session_history_script,
                                     N.text(module, "module"), N.text(alias, "alias"),
                                     self._script_style)

    def __len__(self) -> int:
        return int(self._get("history") or 0)

    def __iter__(self) -> Iterator[HistoryEntry]:
        return iter(self.entries)

    def __repr__(self) -> str:
        return f"<evident.OperationHistory {len(self)} entries>"


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
    """One saved version of a session file (``compacted_from``: see docs/python-session.md)."""

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
    """The result of :func:`verify_session`, true when ``ok`` (``details``: all reported)."""

    ok: bool
    versions: int
    problems: List[str]
    torn_tail_at: Optional[int]
    head_version: Optional[int] = None
    head_commit: Optional[str] = None
    details: Dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.ok


def _restore(container: Any, before: Any) -> None:
    """Puts back the items a tracked dict or list held before a change."""
    if isinstance(container, dict):
        dict.clear(container)
        dict.update(container, before)
    else:
        list.__setitem__(container, slice(None), before)


def _tracked(base: type, mutators: str) -> Any:
    """A ``base`` (dict or list) in the metadata ``_root`` that writes every change through."""

    def __init__(self: Any, data: Any, root: Any) -> None:
        base.__init__(self, data)
        self._root, self._owner = self if root is None else root, None
        self._adopt()

    def _adopt(self: Any) -> None:  # dicts and lists put inside become tracked too
        for k in list(base.keys(self) if base is dict else range(base.__len__(self))):
            v = base.__getitem__(self, k)
            t = _track(v, self._root)
            if t is not v:
                base.__setitem__(self, k, t)

    def mutator(name: str) -> Any:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            before = base(self)
            out = getattr(base, name)(self, *args, **kwargs)
            self._adopt()
            session = self._root._owner() if self._root._owner is not None else None
            if session is not None:
                try:
                    session._sync_metadata()
                except BaseException:  # refused by the library: the change is undone
                    _restore(self, before)
                    raise
            if name == "setdefault":
                return base.__getitem__(self, args[0])
            return self if name.startswith("__i") else out

        method.__name__ = name
        return method

    ns = {name: mutator(name) for name in mutators.split()}
    ns.update(__init__=__init__, _adopt=_adopt, __reduce__=lambda self: (base, (base(self),)),
              __deepcopy__=lambda self, memo: json.loads(_json(self, "metadata", lenient=True)))
    return type("_Meta" + base.__name__.capitalize(), (base,), ns)


_MetaDict = _tracked(dict, "__setitem__ __delitem__ update setdefault pop popitem clear __ior__")
_MetaList = _tracked(list, "__setitem__ __delitem__ append extend insert pop remove clear sort "
                           "reverse __iadd__ __imul__")


def _track(value: Any, root: Any) -> Any:
    """Dicts and lists inside the metadata as containers tracked by ``root``."""
    for base, tracked in ((dict, _MetaDict), (list, _MetaList)):
        if isinstance(value, base) and not (isinstance(value, tracked) and value._root is root):
            return tracked(value, root)
    return value


class Session(Managed):
    """An analysis session, saved to a crash-safe, versioned file by :meth:`save`."""

    _free_fn = staticmethod(lambda ptr: N.lib.evident_session_free(ptr))  # type: ignore[assignment]
    _what = "session"
    _annotation_class = Annotation  # the class of the annotations returned

    def __init__(self, name: str = "Untitled Session", *,
                 metadata: Optional[Mapping[str, Any]] = None) -> None:
        lib, out = N.session_lib(), ctypes.c_void_p()
        N.check(lib.evident_session_new(N.text(name, "name"), ctypes.byref(out)))
        self._init(out.value, None)  # type: ignore[arg-type]
        if metadata is not None:
            self.metadata = dict(metadata)

    def _init(self, ptr: int, key: Optional[bytes]) -> None:
        self._set_handle(ptr)
        self._mutex = threading.RLock()  # serialises the calls
        self._key, self._cache, self.last_save = key, cast(Dict[Any, Any], {}), None
        self._history = OperationHistory._bound(self)
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

    def _cached(self, what: str, *args: Any) -> Any:
        """``_json_of(what, *args)`` parsed once until the session changes (do not modify it)."""
        with self._mutex:
            if (what, *args) not in self._cache:
                self._cache[(what, *args)] = self._json_of(what, *args)
            return self._cache[(what, *args)]

    def _get(self, key: str) -> Any:
        """One field of :meth:`info`, from the native session (cached until a change)."""
        return self._cached("info_field_json", key.encode())

    def _sync_metadata(self) -> None:
        """Writes the metadata through (a value JSON cannot hold: reported by the next save)."""
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

    name = _Prop("name", lambda v: str(v or ""), "The session's name.",
                 set=lambda s, v: s._call(N.lib.evident_session_set_name, N.text(v, "name")))
    created_at = _Prop("created_at", _ts_in)
    modified_at = _Prop("modified_at", _ts_in)
    path = _Prop("path", _optional(Path), "The file this session was loaded from or saved to.")
    version = _Prop("version", _optional(int), "The version loaded or saved (None: never saved).")
    commit = _Prop("commit", _optional(str), "The commit hash of that version (lowercase hex).")

    @property
    def metadata(self) -> Dict[str, Any]:
        """The metadata, a dict to change in place (nested too), written through at once."""
        return cast(Dict[str, Any], self._metadata_view)

    @metadata.setter
    def metadata(self, value: Mapping[str, Any]) -> None:
        if not isinstance(value, Mapping):
            raise InvalidArgumentError("metadata must be a dict")
        view = self._metadata_view
        before = dict(view)
        dict.clear(view)
        dict.update(view, dict(value))
        view._adopt()
        try:
            self._sync_metadata()
        except BaseException:
            _restore(view, before)
            raise

    def info(self) -> Dict[str, Any]:
        """Name, times, path, version, commit and counts, as the library reports them."""
        self._push_metadata()
        return cast(Dict[str, Any], self._json_of("info_json"))

    def summary(self) -> str:
        """A human-readable summary of the session."""
        self._push_metadata()
        return self._string(N.lib.evident_session_summary)

    def to_dict(self) -> Dict[str, Any]:
        """Everything but the samples, as JSON data."""
        self._push_metadata()
        return cast(Dict[str, Any], self._json_of("to_json"))

    def load_trace(self, path: PathLike, name: Optional[str] = None, **load_kwargs: Any) -> Trace:
        """Loads a capture file (CSV, .npy, sigrok .sr, Tektronix .wfm) as a trace.
        Loader options: ``channel`` (of a sigrok capture), ``lazy`` (accepted,
        TraceKit's) and ``sample_rate`` (Hz, for a .npy or a CSV without a
        time column; a capture with its own rate refuses a different one)."""
        opts = _json(load_kwargs, "loader options") if load_kwargs else None
        loaded = self._string(N.lib.evident_session_load_trace_json, N.path_arg(path),
                              N.text(name, "name"), opts, bool(self._history.auto_record))
        return self.get_trace(loaded)

    def measure(self, trace_name: str, what: str) -> float:
        """Measures trace ``trace_name`` (NaN when it cannot) and records it in the history."""
        code, out = _measure_code(what), ctypes.c_double()
        name_b = N.text(_text(trace_name, "trace_name"), "trace_name")
        self._call(N.measure_lib().evident_session_measure, name_b, code, ctypes.byref(out))
        return out.value

    def add_trace(self, name: str, trace: Any, *, dtype: Any = None,
                  sample_rate: Optional[float] = None, start_time: Optional[float] = None,
                  units: Optional[str] = None, metadata: Optional[Mapping[str, Any]] = None,
                  length: Optional[int] = None) -> None:
        """Adds (or replaces) trace ``name``, copying the samples."""
        name_b = N.text(_text(name, "name"), "name")
        s = _samples(trace, None if dtype is None else _dtype_name(dtype), length)
        info = dict(s.info)
        for key, v, conv in (("sample_rate", sample_rate, _number),
                             ("start_time", start_time, _number), ("units", units, _text)):
            if v is not None:
                info[key] = conv(v, key)
        if metadata is not None:
            info["metadata"] = _plain(dict(metadata), "trace metadata")
        self._call(N.lib.evident_session_add_trace, name_b, DTYPES[s.dtype].code, s.pointer,
                   s.length, _json(info, "trace info"))

    def list_traces(self) -> List[str]:
        """The trace names, in the order they were added."""
        return list(self._json_of("trace_names_json"))

    def get_trace(self, name: str) -> Trace:
        """The trace ``name`` (NotFoundError, a KeyError, when there is none)."""
        out = ctypes.c_void_p()
        name_b = N.text(_text(name, "name"), "name")
        self._call(N.lib.evident_session_get_trace, name_b, ctypes.byref(out))
        if not out.value:
            raise InternalError("the library returned a NULL trace")
        return Trace(out.value)

    def remove_trace(self, name: str) -> None:
        """Removes the trace ``name`` (NotFoundError when there is none)."""
        self._call(N.lib.evident_session_remove_trace, N.text(_text(name, "name"), "name"))

    @property
    def traces(self) -> Dict[str, Trace]:
        """Every trace by name (new :class:`Trace` objects)."""
        return {n: self.get_trace(n) for n in self.list_traces()}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.list_traces()

    def annotate(self, text: str, *, time: Optional[float] = None,
                 time_range: Optional[Tuple[float, float]] = None, layer: str = "default",
                 amplitude: Optional[float] = None,
                 amplitude_range: Optional[Tuple[float, float]] = None,
                 annotation_type: Union[AnnotationType, str, None] = None,
                 color: Optional[str] = None, style: str = "solid", visible: bool = True,
                 created_at: Optional[datetime] = None, **metadata: Any) -> Annotation:
        """Adds an annotation to ``layer`` (created if missing) and returns it."""
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
        count = self._cached("layer_json", N.text(layer, "layer")).get("annotations") or 0
        self._bind(a, layer, int(count) - 1)

    def _bind(self, a: Annotation, layer: Optional[str], index: Any) -> Annotation:
        """``a``, whose changed fields now write through to annotation
        ``index`` of ``layer`` (ABI 1.14; an older library: not bound)."""
        if layer is not None and index is not None and not N._replace_annotation_missing:
            object.__setattr__(a, "_where", (weakref.ref(self), layer, int(index)))
        return a

    def _replace_annotation(self, layer: str, index: int, old: Dict[str, Any],
                            a: Annotation) -> None:
        self._call(N.lib.evident_session_replace_annotation, N.text(layer, "layer"), index,
                   _json(old, "annotation"), _json(a.to_dict(), "annotation"))

    def get_annotations(self, layer: Optional[str] = None,
                        time_range: Optional[Tuple[float, float]] = None) -> List[Annotation]:
        """Annotations of ``layer`` (all when None), optionally only those in ``time_range``."""
        rng = _pair(time_range, "time_range")  # a missing layer has none (the library's rule)
        found = self._json_of("annotations_json", N.text(layer, "layer"), int(rng is not None),
                              *(rng or (0.0, 0.0)))
        return [self._bind(self._annotation_class.from_dict(x["annotation"], x.get("layer")),
                           x.get("layer"), x.get("index")) for x in found]

    annotation_layers = property(lambda self: _Layers(self), doc="The layers by name (live views).")

    def set_layer(self, name: str, *, visible: Optional[bool] = None,
                  locked: Optional[bool] = None, color: Optional[str] = None,
                  description: Optional[str] = None) -> AnnotationLayer:
        """Creates or changes layer ``name`` (``color=""`` removes the colour); returns it."""
        given = {"visible": visible, "locked": locked, "color": color, "description": description}
        props = {k: bool(v) if k in ("visible", "locked") else v
                 for k, v in given.items() if v is not None}
        self._call(N.lib.evident_session_set_layer, _json({"name": name, **props}, "layer"))
        return AnnotationLayer._bound(self, name)

    def remove_layer(self, name: str) -> None:
        """Removes a layer and its annotations (LayerLockedError when locked)."""
        self._call(N.lib.evident_session_remove_layer, N.text(name, "layer"))

    def record_measurement(self, name: str, value: Any, unit: str = "",
                           trace_name: Optional[str] = None, **metadata: Any) -> None:
        """Records a measurement (``value``: JSON data); other keyword arguments: its metadata."""
        what = f"measurement {name!r}"  # the types of name, unit and trace_name: the library's
        m = {"name": name, "value": _plain(value, f"{what} value"), "unit": unit,
             "trace_name": trace_name, "metadata": _plain(metadata, f"{what} metadata")}
        self._call(N.lib.evident_session_record_measurement, _json(m, "measurement"))

    def measurement_records(self) -> List[Measurement]:
        """Every measurement recorded, in order."""
        return [Measurement.from_dict(m) for m in self._json_of("measurements_json")]

    def get_measurements(self) -> Dict[str, Dict[str, Any]]:
        """The latest measurement of each name, in TraceKit's shape."""
        return cast(Dict[str, Dict[str, Any]], self._json_of("measurements_tracekit_json"))

    measurements = property(get_measurements, doc="Same as :meth:`get_measurements`.")
    history = property(lambda self: self._history, doc="The operation history (a live view).")

    def save(self, path: Optional[PathLike] = None, *, include_traces: bool = True,
             compress: Union[bool, int] = False, audit_log: Optional[AuditLog] = None,
             key: Optional[bytes] = None, sync: bool = True,
             lock_timeout: Optional[float] = None, adopt_empty: bool = False) -> Path:
        """Saves a new version and returns the file's path (details in :attr:`last_save`).
        ``adopt_empty``: save into an existing empty file (``mkstemp``) instead of
        refusing it as not a session file."""
        if audit_log is not None and not isinstance(audit_log, AuditLog):
            raise InvalidArgumentError(
                f"audit_log must be an evident.AuditLog, not {type(audit_log).__name__}")
        opts = {"compress": compress, "include_traces": bool(include_traces), "sync": bool(sync)}
        if adopt_empty:
            opts["adopt_empty"] = True
        if lock_timeout is not None:  # the library checks the values; JSON has no infinity
            t = _number(lock_timeout, "lock_timeout")
            opts["lock_timeout"] = t if math.isfinite(t) else str(t)
        use_key = key if key is not None else self._key
        raw, text, (key_buf, key_len) = (None if path is None else N.path_arg(path),
                                         _json(opts, "save options"), N.key_arg(use_key))
        with self._mutex:
            self._push_metadata()
            log_ptr = None if audit_log is None else audit_log._acquire()
            try:
                saved = self._string(N.lib.evident_session_save_json, raw, key_buf, key_len,
                                     text, log_ptr)
            finally:
                if audit_log is not None:
                    audit_log._release()
        self.last_save = SaveInfo.from_dict(json.loads(saved))
        if use_key is not None:
            self._key = bytes(use_key)
        return cast(SaveInfo, self.last_save).path

    def versions(self) -> List[VersionInfo]:
        """The versions saved in this session's file, oldest first."""
        if self.path is None:
            raise InvalidArgumentError("this session has no file yet (save it first)")
        return session_versions(self.path, key=self._key)

    def __repr__(self) -> str:
        if self.closed:
            return "<evident.Session closed>"
        info = self._json_of("info_json")
        where = f" {info.get('path')!r} v{info.get('version')}" if info.get("path") else ""
        return f"<evident.Session {info.get('name')!r}{where} traces={info.get('traces')}>"


def load_session(path: PathLike, *, version: Optional[int] = None,
                 key: Optional[bytes] = None) -> Session:
    """Opens a saved session: the newest complete version, or ``version`` (from 1)."""
    return Session.load(path, version=version, key=key)


def _file_call(fn_name: str, path: PathLike, key: Optional[bytes]) -> Any:
    key_buf, key_len = N.key_arg(key)
    return _json_out(getattr(N.session_lib(), fn_name), N.path_arg(path), key_buf, key_len)


def session_versions(path: PathLike, key: Optional[bytes] = None) -> List[VersionInfo]:
    """Every complete version in a session file, oldest first."""
    found = _file_call("evident_session_versions_json", path, key)
    return [VersionInfo.from_dict(v) for v in found]


def compact_session(path: PathLike, key: Optional[bytes] = None) -> CompactInfo:
    """Rewrites the file with only its newest version (atomically)."""
    d = _file_call("evident_session_compact", path, key)
    return cast(CompactInfo, CompactInfo.from_dict(d))


def verify_session(path: PathLike, key: Optional[bytes] = None) -> SessionReport:
    """Checks every record, chain link and sample hash (problems in the result)."""
    d = _file_call("evident_session_verify", path, key)
    return cast(SessionReport, SessionReport.from_dict({**d, "details": dict(d)}))
