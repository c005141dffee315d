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
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    MutableMapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
    cast,
)

from . import _native as N
from ._convert import json_bytes as _json
from ._convert import now as _now
from ._convert import number as _number
from ._convert import pair as _pair
from ._convert import plain as _plain
from ._convert import ts_in as _ts_in
from ._convert import ts_out as _ts_out
from ._managed import Managed
from .errors import (
    ClosedError,
    EvidentError,
    InternalError,
    InvalidArgumentError,
    LayerLockedError,
    NotFoundError,
    UnsupportedError,
)
from .log import AuditLog, PathLike

__all__ = [
    "DTYPES",
    "Session",
    "Trace",
    "Annotation",
    "AnnotationType",
    "AnnotationLayer",
    "Measurement",
    "HistoryEntry",
    "OperationHistory",
    "SaveInfo",
    "VersionInfo",
    "CompactInfo",
    "SessionReport",
    "load_session",
    "session_versions",
    "compact_session",
    "verify_session",
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
# (kind, itemsize) -> name; kind as numpy's dtype.kind
_BY_KIND = {
    ("f", 8): "f64",
    ("f", 4): "f32",
    ("i", 1): "i8",
    ("i", 2): "i16",
    ("i", 4): "i32",
    ("i", 8): "i64",
    ("u", 1): "u8",
    ("u", 2): "u16",
    ("u", 4): "u32",
    ("u", 8): "u64",
    ("b", 1): "bool",
}
_LITTLE = sys.byteorder == "little"

_np_module: Any = None


def _numpy() -> Any:
    """numpy if it can be imported, else None (imported on first use only)."""
    global _np_module
    if _np_module is None:
        try:
            import numpy

            _np_module = numpy
        except ImportError:
            _np_module = False
    return _np_module or None


def _dtype_name(dtype: Any) -> str:
    """A dtype given by the caller (name, alias, numpy dtype, Python type) -> name."""
    if isinstance(dtype, str):
        code = ctypes.c_uint32()
        N.check(N.session_lib().evident_dtype_from_name(N.text(dtype, "dtype"), ctypes.byref(code)))
        return _DTYPE_BY_CODE[code.value]
    elif dtype is float:
        return "f64"
    elif dtype is bool:
        return "bool"
    elif dtype is int:
        return "i64"
    else:
        np = _numpy()
        if np is not None:
            try:
                d = np.dtype(dtype)
            except TypeError:
                d = None
            if d is not None and (d.kind, d.itemsize) in _BY_KIND:
                return _BY_KIND[(d.kind, d.itemsize)]
    raise InvalidArgumentError(f"unsupported dtype {dtype!r}: use one of {', '.join(DTYPES)}")


def _take_json(ptr: ctypes.c_void_p) -> Any:
    return json.loads(N.take_string(ptr))


# --- converting samples to (dtype, length, memory) ------------------------------


class _Samples(NamedTuple):
    dtype: str
    length: int
    pointer: Any  # what ctypes accepts for `const void *`
    keep: Any  # keeps the memory alive during the call
    info: Dict[str, Any]  # trace info found on a trace object


_EMPTY = ctypes.create_string_buffer(8)  # a valid pointer for empty arrays


def _pack_bits(values: Sequence[Any]) -> bytes:
    out = bytearray((len(values) + 7) // 8)
    for i, v in enumerate(values):
        if v:
            out[i >> 3] |= 1 << (i & 7)
    return bytes(out)


def _bytes_len(dtype: str, length: int) -> int:
    d = DTYPES[dtype]
    return (length + 7) // 8 if dtype == "bit" else length * d.size


def _from_buffer(mv: memoryview, dtype: str, length: Optional[int], keep: Any) -> _Samples:
    """Raw little-endian bytes in ``mv`` holding samples of ``dtype``."""
    if not mv.c_contiguous:
        raise InvalidArgumentError("the sample buffer must be contiguous")
    nbytes = mv.nbytes
    size = DTYPES[dtype].size
    if length is None:
        if dtype == "bit":
            length = nbytes * 8
        elif nbytes % size:
            raise InvalidArgumentError(
                f"{nbytes} bytes is not a whole number of {dtype} samples ({size} bytes each)"
            )
        else:
            length = nbytes // size
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


_ARRAY_KIND = {"d": "f", "f": "f", "b": "i", "h": "i", "i": "i", "l": "i", "q": "i"}
_ARRAY_KIND.update({"B": "u", "H": "u", "I": "u", "L": "u", "Q": "u"})


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


def _dtype_code(dtype: str) -> str:
    """The array.array type code of an 8-byte integer dtype."""
    for code in ("q", "l") if dtype == "i64" else ("Q", "L"):
        if array.array(code).itemsize == 8:
            return code
    raise UnsupportedError("this Python has no 8-byte integer array type")


def _from_list(values: Sequence[Any], dtype: Optional[str]) -> _Samples:
    if dtype is None:
        if values and all(isinstance(v, bool) for v in values):
            dtype = "bool"
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values) and values:
            dtype = "i64"
        else:
            dtype = "f64"
    if dtype == "bit":
        data = _pack_bits(values)
        return _from_buffer(memoryview(data), "bit", len(values), data)
    if dtype == "bool":
        data = bytes(1 if v else 0 for v in values)
        return _from_buffer(memoryview(data), "bool", len(values), data)
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
    key = (arr.dtype.kind, arr.dtype.itemsize)
    native = _BY_KIND.get(key)
    if dtype is None:
        if native is None:
            raise InvalidArgumentError(
                f"numpy dtype {arr.dtype} is not a sample type "
                f"(use one of {', '.join(DTYPES)}, e.g. arr.astype('float64'))"
            )
        dtype = native
    target = np.dtype(DTYPES[dtype].typestr)
    if arr.dtype != target:
        if not np.can_cast(arr.dtype, target, casting="safe"):
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
    extra: Dict[str, Any] = {}
    if isinstance(meta, Mapping):
        source: Mapping[str, Any] = meta
    elif meta is not None and dataclasses.is_dataclass(meta):
        source = {f.name: getattr(meta, f.name) for f in dataclasses.fields(meta)}
    elif meta is not None and hasattr(meta, "__dict__"):
        source = vars(meta)
    else:
        source = {}
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
    if isinstance(data, (bytes, bytearray, memoryview)) or _is_buffer(data):
        mv = memoryview(data)
        if dtype is None:
            fmt = mv.format.lstrip("@=<")
            if fmt in ("B", "b", "c") or not fmt or fmt[0] in ">!":
                raise InvalidArgumentError(
                    "raw bytes need a dtype (e.g. add_trace(name, data, dtype='u16'))"
                )
            kind = "f" if fmt in ("d", "f") else ("u" if fmt.isupper() else "i")
            if fmt == "?":
                kind = "b"
            guess = _BY_KIND.get((kind, mv.itemsize))
            if guess is None:
                raise InvalidArgumentError(f"buffer format {mv.format!r} holds no samples")
            dtype = guess
            if not _LITTLE and mv.itemsize > 1:
                raise UnsupportedError("typed buffers on big-endian hosts: pass raw bytes")
        mv = mv if mv.format in ("B", "b", "c") else mv.cast("B")
        return _from_buffer(mv, dtype, length, data)
    inner = getattr(data, "data", None)
    if inner is not None and inner is not data:
        s = _samples(inner, dtype, length)
        info = _trace_object_info(data)
        return s._replace(info=info)
    raise InvalidArgumentError(
        f"cannot make a trace of {type(data).__name__}: pass a numpy array, array.array, "
        "a list, bytes with dtype=, an evident.Trace or an object with .data"
    )


def _is_buffer(obj: Any) -> bool:
    try:
        memoryview(obj)
        return True
    except TypeError:
        return False


# --- traces ---------------------------------------------------------------------


def _measure_code(what: str) -> int:
    code = N.MEASURES.get(what) if isinstance(what, str) else None
    if code is None:
        raise InvalidArgumentError(
            f"unknown measurement {what!r}: use one of {', '.join(N.MEASURES)}"
        )
    return code


def _trace_free(ptr: int) -> None:
    N.lib.evident_trace_free(ptr)


class _TraceHandle(Managed):
    """The native ``evident_trace``; kept alive by every view of its samples."""

    _free_fn = staticmethod(_trace_free)  # type: ignore[assignment]
    _what = "trace"

    def __init__(self, ptr: int) -> None:
        self._set_handle(ptr)
        # Not freed at interpreter exit: arrays over the samples may still
        # be read by later exit handlers (the OS reclaims the memory).
        assert self._finalizer is not None
        self._finalizer.atexit = False
        self.views: List["weakref.ref[Any]"] = []  # the memory objects made

    def in_use(self) -> bool:
        """True while an array or memoryview of the samples exists."""
        return any(r() is not None for r in self.views)


class Trace:
    """One named trace of a session: typed samples and their description.

    Obtained from :meth:`Session.get_trace` / :meth:`Session.load_trace` (or
    made from data by :meth:`Trace.from_data`). It stays valid after the
    session is closed. :attr:`data` gives the samples without copying them;
    the memory stays valid as long as :attr:`data`, :attr:`raw` or any array
    made from them is alive, even after :meth:`close`.
    """

    def __init__(self, ptr: int) -> None:
        """Takes ownership of a native ``evident_trace`` pointer (internal)."""
        self._handle: Optional[_TraceHandle] = _TraceHandle(ptr)
        out = ctypes.c_void_p()
        h = self._handle._acquire()
        try:
            N.check(N.lib.evident_trace_info_json(h, ctypes.byref(out)))
        finally:
            self._handle._release()
        info = _take_json(out)
        self._name: str = info.get("name") or ""
        self._dtype: str = str(info.get("dtype", ""))
        if self._dtype not in DTYPES:
            raise InternalError(f"the library returned an unknown dtype {self._dtype!r}")
        self._len = int(info.get("len", 0))
        self._nbytes = int(info.get("bytes", _bytes_len(self._dtype, self._len)))
        self._sample_rate = float(info.get("sample_rate", 1.0))
        self._start_time = float(info.get("start_time", 0.0))
        self._units: str = info.get("units") or ""
        self._metadata: Dict[str, Any] = info.get("metadata") or {}
        self._mapped = bool(info.get("mapped", False))
        self._compressed = bool(info.get("compressed", False))
        self._raw: Optional[memoryview] = None
        self._data: Any = None

    @classmethod
    def from_data(
        cls,
        data: Any,
        *,
        dtype: Any = None,
        sample_rate: Optional[float] = None,
        start_time: Optional[float] = None,
        units: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        length: Optional[int] = None,
        name: str = "trace",
    ) -> "Trace":
        """A trace (not in any session) holding a copy of ``data``: anything
        :meth:`Session.add_trace` accepts."""
        with Session(name="scratch") as s:
            s.add_trace(
                name,
                data,
                dtype=dtype,
                sample_rate=sample_rate,
                start_time=start_time,
                units=units,
                metadata=metadata,
                length=length,
            )
            return s.get_trace(name)

    # -- description -------------------------------------------------------

    @property
    def name(self) -> str:
        """The trace's name in its session."""
        return self._name

    @property
    def dtype(self) -> str:
        """The sample type: ``"f64"``, ``"f32"``, ``"i8"`` ... ``"u64"``, ``"bool"``, ``"bit"``."""
        return self._dtype

    @property
    def sample_rate(self) -> float:
        """Samples per second (Hz)."""
        return self._sample_rate

    @property
    def start_time(self) -> float:
        """Time of the first sample, in seconds."""
        return self._start_time

    @property
    def units(self) -> str:
        """Units of the samples (``""`` when unknown)."""
        return self._units

    @property
    def metadata(self) -> Dict[str, Any]:
        """The trace's metadata (a copy)."""
        copy: Dict[str, Any] = json.loads(json.dumps(self._metadata))
        return copy

    @property
    def is_mapped(self) -> bool:
        """True when the samples are read straight from the session file's
        memory mapping (no copy was made)."""
        return self._mapped

    @property
    def compressed(self) -> bool:
        """True when the samples are stored zstd-compressed (decompressed once,
        on first access)."""
        return self._compressed

    @property
    def nbytes(self) -> int:
        """Size of the samples in bytes (``bit``: packed)."""
        return self._nbytes

    @property
    def duration(self) -> float:
        """``len(trace) / sample_rate`` seconds."""
        return self._len / self._sample_rate

    def __len__(self) -> int:
        return self._len

    def _info_dict(self) -> Dict[str, Any]:
        return {
            "sample_rate": self._sample_rate,
            "start_time": self._start_time,
            "units": self._units,
            "metadata": self._metadata,
        }

    # -- samples -----------------------------------------------------------

    @property
    def raw(self) -> memoryview:
        """The stored little-endian sample bytes as a read-only memoryview
        (format ``"B"``), without copying them (``bit``: packed LSB-first)."""
        if self._raw is None:
            handle = self._handle
            if handle is None:
                raise ClosedError(f"trace {self._name!r} is closed")
            ptr = handle._acquire()
            try:
                addr = ctypes.c_void_p()
                n, nb, code = ctypes.c_uint64(), ctypes.c_uint64(), ctypes.c_uint32()
                N.check(
                    N.lib.evident_trace_data(
                        ptr,
                        ctypes.byref(addr),
                        ctypes.byref(n),
                        ctypes.byref(nb),
                        ctypes.byref(code),
                    )
                )
            finally:
                handle._release()
            if _DTYPE_BY_CODE.get(code.value) != self._dtype or n.value != self._len:
                raise InternalError(
                    f"trace {self._name!r}: the library's data ({n.value} samples of type "
                    f"{code.value}) does not match its description"
                )
            nbytes = nb.value
            if nbytes != _bytes_len(self._dtype, self._len):
                raise InternalError(
                    f"trace {self._name!r}: {nbytes} bytes for {self._len} {self._dtype} samples"
                )
            if nbytes == 0:
                self._raw = memoryview(b"")
            else:
                if not addr.value:
                    raise InternalError(f"trace {self._name!r}: the library returned NULL data")
                mem = _memory_type(nbytes).from_address(addr.value)
                mem.owner = handle  # the native trace lives as long as the memory is used
                handle.views.append(weakref.ref(mem))
                self._raw = memoryview(mem).cast("B").toreadonly()
        return self._raw

    @property
    def data(self) -> Any:
        """The samples, without copying them where possible.

        With numpy: a read-only 1-D numpy array of the trace's dtype viewing
        the library's memory (``bit`` traces: a bool array unpacked from the
        packed bits, a copy; :attr:`raw` has the packed bytes). Without numpy:
        a read-only :class:`memoryview` cast to the sample format (``bit``:
        the packed bytes; see :meth:`bits`).
        """
        if self._data is None:
            raw = self.raw
            np = _numpy()
            if np is not None:
                if self._dtype == "bit":
                    bits = np.unpackbits(
                        np.frombuffer(raw, dtype=np.uint8), count=self._len, bitorder="little"
                    )
                    self._data = bits.astype(bool)
                    self._data.flags.writeable = False
                else:
                    self._data = np.frombuffer(raw, dtype=DTYPES[self._dtype].typestr)
            else:
                self._data = self._typed_view()
        return self._data

    def _typed_view(self) -> Any:
        raw = self.raw
        d = DTYPES[self._dtype]
        if self._dtype == "bit" or d.size == 1:
            return raw if self._dtype in ("bit", "u8") else _cast(raw, d.fmt)
        if _LITTLE:
            return _cast(raw, d.fmt)
        a = array.array(d.fmt if d.size != 8 else _dtype_code(self._dtype), raw.tobytes())
        a.byteswap()  # big-endian host: a copy in native order
        return memoryview(a).toreadonly()

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        np = _numpy()
        a = self.data
        if dtype is not None:
            return a.astype(dtype)
        return np.array(a) if copy else a

    def bits(self) -> List[bool]:
        """The samples of a ``bit`` or ``bool`` trace as a list of bools."""
        if self._dtype == "bool":
            return [b != 0 for b in self.raw]
        if self._dtype != "bit":
            raise InvalidArgumentError(f"trace {self._name!r} holds {self._dtype}, not bits")
        raw = self.raw
        return [bool(raw[i >> 3] >> (i & 7) & 1) for i in range(self._len)]

    def to_list(self) -> List[Any]:
        """The samples as a list of Python numbers (bools for ``bit``/``bool``)."""
        if self._dtype in ("bit", "bool"):
            return self.bits()
        return list(self._typed_view())

    def time_vector(self) -> Any:
        """The time of every sample, ``start_time + i / sample_rate`` (a numpy
        array with numpy, else a list)."""
        np = _numpy()
        if np is not None:
            return self._start_time + np.arange(self._len, dtype=np.float64) / self._sample_rate
        return [self._start_time + i / self._sample_rate for i in range(self._len)]

    def measure(self, what: str) -> float:
        """A waveform measurement of this trace (see :meth:`Session.measure`),
        not recorded anywhere."""
        code = _measure_code(what)
        handle = self._handle
        if handle is None:
            raise ClosedError(f"trace {self._name!r} is closed")
        out = ctypes.c_double()
        ptr = handle._acquire()
        try:
            N.check(N.measure_lib().evident_trace_measure(ptr, code, ctypes.byref(out)))
        finally:
            handle._release()
        return out.value

    def verify(self) -> None:
        """Checks the stored samples against the SHA-256 in the session's hash
        chain; raises :class:`~evident.errors.CorruptLogError` on a mismatch
        (nothing to check for a trace that was never saved)."""
        handle = self._handle
        if handle is None:
            raise ClosedError(f"trace {self._name!r} is closed")
        ptr = handle._acquire()
        try:
            N.check(N.lib.evident_trace_verify(ptr))
        finally:
            handle._release()

    # -- closing -----------------------------------------------------------

    def close(self) -> None:
        """Releases this object's hold on the native trace. Arrays and
        memoryviews made from :attr:`data` / :attr:`raw` keep the memory
        alive until they are gone; without them it is freed now."""
        handle, self._handle = self._handle, None
        self._raw = None
        self._data = None
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
        where = "mapped" if self._mapped else ("compressed" if self._compressed else "in memory")
        return (
            f"<evident.Trace {self._name!r} {self._dtype}[{self._len}] "
            f"{self._sample_rate:g} Hz {where}>"
        )


def _cast(mv: memoryview, fmt: str) -> memoryview:
    return mv.cast(fmt)  # type: ignore[call-overload,no-any-return]


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
    if isinstance(value, enum.Enum):
        value = value.value
    try:
        return AnnotationType(str(value).lower())
    except ValueError:
        names = ", ".join(t.value for t in AnnotationType)
        raise InvalidArgumentError(
            f"annotation_type must be one of {names}, not {value!r}"
        ) from None


@dataclass
class Annotation:
    """One annotation (TraceKit's fields). ``annotation_type`` is inferred when
    not given: time_range and amplitude_range -> region, time_range -> range,
    time -> point, amplitude -> horizontal, nothing -> text. ``layer`` is the
    layer an annotation read from a session belongs to."""

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
        # The kind inferred and the ranges checked by the library (one rule
        # for C, Go and Python).
        self.annotation_type = _annotation_type(self.annotation_type)
        geometry: Dict[str, Any] = {"text": ""}
        for key in ("time", "amplitude"):
            v = getattr(self, key)
            if v is not None:
                geometry[key] = _number(v, key)
        for key in ("time_range", "amplitude_range"):
            v = _pair(getattr(self, key), key)
            setattr(self, key, v)
            if v is not None:
                geometry[key] = list(v)
        if self.annotation_type is not None:
            geometry["type"] = self.annotation_type.value
        out = ctypes.c_void_p()
        N.check(
            N.session_lib().evident_annotation_normalise_json(
                _json(geometry, "annotation"), ctypes.byref(out)
            )
        )
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
                f"annotation text must be a str, not {type(self.text).__name__}"
            )
        d: Dict[str, Any] = {"text": self.text, "type": self.annotation_type.value}
        if self.time is not None:
            d["time"] = _number(self.time, "time")
        if self.time_range is not None:
            d["time_range"] = list(self.time_range)
        if self.amplitude is not None:
            d["amplitude"] = _number(self.amplitude, "amplitude")
        if self.amplitude_range is not None:
            d["amplitude_range"] = list(self.amplitude_range)
        if self.color is not None:
            d["color"] = self.color
        d["style"] = self.style
        d["visible"] = bool(self.visible)
        d["created_at"] = _ts_out(self.created_at)
        d["metadata"] = _plain(self.metadata, "annotation metadata")
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], layer: Optional[str] = None) -> "Annotation":
        """An annotation from the library's JSON (normalised there)."""
        a = cls.__new__(cls)
        tr, ar = d.get("time_range"), d.get("amplitude_range")
        a.text = d.get("text", "")
        a.time = d.get("time")
        a.time_range = None if tr is None else (float(tr[0]), float(tr[1]))
        a.amplitude = d.get("amplitude")
        a.amplitude_range = None if ar is None else (float(ar[0]), float(ar[1]))
        a.annotation_type = _annotation_type(d.get("type") or d.get("annotation_type"))
        a.color = d.get("color")
        a.style = d.get("style", "solid")
        a.visible = d.get("visible", True)
        a.created_at = _ts_in(d.get("created_at")) or _now()
        a.metadata = dict(d.get("metadata") or {})
        a.layer = layer
        if a.annotation_type is None:
            a.__post_init__()
        return a


class AnnotationLayer:
    """A named collection of annotations (TraceKit's ``AnnotationLayer``).

    Layers of a session (``session.annotation_layers["uart"]``) are live
    views: setting ``visible``, ``locked``, ``color`` or ``description``
    changes the session, and ``annotations`` reads it. A layer made with the
    constructor lives in a private session of its own until it is stored
    with ``session.annotation_layers[name] = layer``.

    A locked layer refuses :meth:`add`, :meth:`clear` and :meth:`remove`
    with :class:`~evident.errors.LayerLockedError`.
    """

    def __init__(
        self,
        name: str,
        annotations: Optional[List[Annotation]] = None,
        visible: bool = True,
        locked: bool = False,
        color: Optional[str] = None,
        description: str = "",
    ) -> None:
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
        layer._session = session
        layer._name = name
        return layer

    def _props(self) -> Dict[str, Any]:
        return self._session._layer_json(self._name)

    @property
    def name(self) -> str:
        return self._name

    @property
    def visible(self) -> bool:
        return bool(self._props().get("visible", True))

    @visible.setter
    def visible(self, value: bool) -> None:
        self._session.set_layer(self._name, visible=bool(value))

    @property
    def locked(self) -> bool:
        return bool(self._props().get("locked", False))

    @locked.setter
    def locked(self, value: bool) -> None:
        self._session.set_layer(self._name, locked=bool(value))

    @property
    def color(self) -> Optional[str]:
        return self._props().get("color")

    @color.setter
    def color(self, value: Optional[str]) -> None:
        if value is not None and not isinstance(value, str):
            raise InvalidArgumentError(f"color must be a str or None, not {type(value).__name__}")
        self._session.set_layer(self._name, color=value or "")  # "" removes the colour

    @property
    def description(self) -> str:
        return self._props().get("description") or ""

    @description.setter
    def description(self, value: str) -> None:
        if not isinstance(value, str):
            raise InvalidArgumentError(f"description must be a str, not {type(value).__name__}")
        self._session.set_layer(self._name, description=value)

    @property
    def annotations(self) -> List[Annotation]:
        """The layer's annotations, in the order they were added."""
        if self._name not in self._session.annotation_layers:
            raise NotFoundError(f"no annotation layer named {self._name!r}")
        return self._session.get_annotations(self._name)

    def add(self, annotation: Optional[Annotation] = None, **kwargs: Any) -> Annotation:
        """Adds an :class:`Annotation`, or one made from the keyword arguments
        (``text=``, ``time=``, ``time_range=`` ...). Returns it."""
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
        self._session._clear_layer(self._name)

    def find_at_time(self, time: float, tolerance: float = 0.0) -> List[Annotation]:
        """Annotations at ``time`` (± ``tolerance``): points and vertical lines
        near it, ranges and regions containing it."""
        t = _number(time, "time")
        tol = _number(tolerance, "tolerance")
        return self._session.get_annotations(self._name, (t - tol, t + tol))

    def find_in_range(self, start: float, end: float) -> List[Annotation]:
        """Annotations whose time or time range overlaps ``[start, end]``."""
        rng = (_number(start, "start"), _number(end, "end"))
        return self._session.get_annotations(self._name, rng)

    def __len__(self) -> int:
        return len(self.annotations)

    def __iter__(self) -> Iterator[Annotation]:
        return iter(self.annotations)

    def __repr__(self) -> str:
        p = self._props()
        flags = " locked" if p.get("locked") else ""
        flags += "" if p.get("visible", True) else " hidden"
        return f"<evident.AnnotationLayer {self._name!r}{flags}>"


class _Layers(MutableMapping[str, AnnotationLayer]):
    """``session.annotation_layers``: layer name -> live :class:`AnnotationLayer`."""

    def __init__(self, session: "Session") -> None:
        self._session = session

    def _names(self) -> List[str]:
        return [layer["name"] for layer in self._session._layers_json()]

    def __getitem__(self, name: str) -> AnnotationLayer:
        if name not in self._names():
            raise NotFoundError(f"no annotation layer named {name!r}")
        return AnnotationLayer._bound(self._session, name)

    def __setitem__(self, name: str, layer: AnnotationLayer) -> None:
        if not isinstance(layer, AnnotationLayer):
            raise InvalidArgumentError(
                f"annotation_layers values must be AnnotationLayer, not {type(layer).__name__}"
            )
        visible, color, description = layer.visible, layer.color, layer.description
        locked, annotations = layer.locked, layer.annotations
        s = self._session
        if name in self._names():
            s._remove_layer(name)
        s.set_layer(name, locked=False, visible=visible, color=color or "", description=description)
        for a in annotations:
            s._annotate(name, a)
        if locked:
            s.set_layer(name, locked=True)

    def __delitem__(self, name: str) -> None:
        self._session._remove_layer(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return f"<evident annotation layers {self._names()!r}>"


# --- measurements and history ----------------------------------------------------------


@dataclass
class Measurement:
    """One recorded measurement."""

    name: str
    value: Any
    unit: str = ""
    trace_name: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict)
    recorded_at: Optional[datetime] = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Measurement":
        return cls(
            name=d.get("name", ""),
            value=d.get("value"),
            unit=d.get("unit") or "",
            trace_name=d.get("trace_name"),
            metadata=dict(d.get("metadata") or {}),
            recorded_at=_ts_in(d.get("recorded_at")),
        )

    def as_tracekit(self) -> Dict[str, Any]:
        """TraceKit's shape: ``{value, unit, trace_name, timestamp, **metadata}``."""
        m: Dict[str, Any] = {
            "name": self.name,
            "value": _plain(self.value, "measurement value"),
            "unit": self.unit,
            "metadata": _plain(self.metadata, "measurement metadata"),
        }
        if self.trace_name is not None:
            m["trace_name"] = self.trace_name
        if self.recorded_at is not None:
            m["recorded_at"] = _ts_out(self.recorded_at, "recorded_at")
        out = ctypes.c_void_p()
        N.check(
            N.session_lib().evident_measurement_tracekit_json(
                _json(m, "measurement"), ctypes.byref(out)
            )
        )
        d: Dict[str, Any] = _take_json(out)
        if self.recorded_at is None:
            d.pop("timestamp", None)
        return d


@dataclass
class HistoryEntry:
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
        d: Dict[str, Any] = {
            "operation": self.operation,
            "parameters": _plain(self.parameters or {}, "history parameters", lenient=True),
            "result": _plain(self.result, "history result", lenient=True),
            "timestamp": _ts_out(self.timestamp),
            "duration_ms": _number(self.duration_ms, "duration_ms"),
            "success": bool(self.success),
            "metadata": _plain(self.metadata or {}, "history metadata", lenient=True),
        }
        if self.error_message is not None:
            d["error_message"] = str(self.error_message)
        if not isinstance(d["parameters"], dict):
            raise InvalidArgumentError("history parameters must be a dict")
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "HistoryEntry":
        return cls(
            operation=d.get("operation", ""),
            parameters=dict(d.get("parameters") or {}),
            result=d.get("result"),
            timestamp=_ts_in(d.get("timestamp")) or _now(),
            duration_ms=float(d.get("duration_ms") or 0.0),
            success=bool(d.get("success", True)),
            error_message=d.get("error_message"),
            metadata=dict(d.get("metadata") or {}),
        )

    def to_code(self, alias: str = "tk", _style: int = 0) -> str:
        """The call as Python code, ``alias.operation(param=value, ...)``.

        An operation that is not one public Python name (the file is data,
        not code) makes the line a comment, so a script built from a hostile
        file calls nothing but ``alias``'s own public functions.
        """
        out = ctypes.c_void_p()
        N.check(
            N.session_lib().evident_history_entry_code(
                _json(self.to_dict(), "history entry", lenient=True),
                N.text(alias, "alias"),
                _style,
                ctypes.byref(out),
            )
        )
        return N.take_string(out)



class OperationHistory:
    """The history of operations (TraceKit's ``OperationHistory``).

    ``session.history`` is a live view of the session's history; an object
    made with the constructor keeps its entries in a private session.
    ``max_entries`` bounds the number of entries (0 = unlimited; the oldest
    are dropped). ``auto_record``: whether :meth:`Session.load_trace`
    records itself.
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
        h._session = session
        h.auto_record = True
        return h

    @property
    def entries(self) -> List[HistoryEntry]:
        """Every entry, oldest first."""
        return [HistoryEntry.from_dict(e) for e in self._session._json_of("history_json")]

    @property
    def max_entries(self) -> int:
        return int(self._session._info().get("history_limit") or 0)

    @max_entries.setter
    def max_entries(self, value: int) -> None:
        value = N.unsigned(value, "max_entries")
        self._session._call(N.lib.evident_session_set_history_limit, value)

    def record(
        self,
        operation: str,
        parameters: Optional[Mapping[str, Any]] = None,
        result: Any = None,
        duration_ms: float = 0.0,
        success: bool = True,
        error_message: Optional[str] = None,
        *,
        timestamp: Optional[datetime] = None,
        **metadata: Any,
    ) -> HistoryEntry:
        """Records one operation and returns its entry. Parameters and result
        are stored as JSON (values JSON cannot hold are stored as their
        ``str()``)."""
        entry = HistoryEntry(
            operation=operation,
            parameters=dict(parameters or {}),
            result=result,
            timestamp=timestamp or _now(),
            duration_ms=duration_ms,
            success=success,
            error_message=error_message,
            metadata=dict(metadata),
        )
        d = entry.to_dict()
        self._session._call(N.lib.evident_session_record_history, _json(d, "history entry"))
        return HistoryEntry.from_dict(d)

    def find(
        self, operation: Optional[str] = None, success_only: bool = False
    ) -> List[HistoryEntry]:
        """Entries of ``operation`` (all when None), only successful ones with
        ``success_only``."""
        return [
            e
            for e in self.entries
            if (operation is None or e.operation == operation) and (e.success or not success_only)
        ]

    def summary(self) -> Dict[str, Any]:
        """Statistics: ``total_operations``, ``successful``, ``failed``,
        ``total_duration_ms``, ``average_duration_ms``, ``operations`` (count
        per operation name), ``first`` / ``last`` (timestamps or None)."""
        d: Dict[str, Any] = dict(self._session._json_of("history_summary_json"))
        d["first"], d["last"] = _ts_in(d.get("first")), _ts_in(d.get("last"))
        return d

    def to_script(self, module: str = "tracekit", alias: str = "tk") -> str:
        """A Python script replaying the successful operations (TraceKit's
        format: one ``alias.operation(params)`` call per entry, preceded by a
        comment with its time; failed operations appear as comments)."""
        return self._session._string(
            N.lib.evident_session_history_script,
            N.text(module, "module"),
            N.text(alias, "alias"),
            self._script_style,
            mutates=False,
        )

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[HistoryEntry]:
        return iter(self.entries)

    def __repr__(self) -> str:
        return f"<evident.OperationHistory {len(self)} entries>"


# --- results of file operations -------------------------------------------------------


@dataclass(frozen=True)
class SaveInfo:
    """What :meth:`Session.save` wrote."""

    path: Path
    version: int
    commit: str
    bytes_written: int
    traces_written: int
    traces_reused: int
    sample_bytes_written: int = 0

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SaveInfo":
        return cls(
            path=Path(d.get("path", "")),
            version=int(d.get("version", 0)),
            commit=str(d.get("commit", "")),
            bytes_written=int(d.get("bytes_written", 0)),
            traces_written=int(d.get("traces_written", 0)),
            traces_reused=int(d.get("traces_reused", 0)),
            sample_bytes_written=int(d.get("sample_bytes_written", 0)),
        )


@dataclass(frozen=True)
class VersionInfo:
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

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "VersionInfo":
        return cls(
            version=int(d.get("version", 0)),
            commit=str(d.get("commit", "")),
            ts=_ts_in(d.get("ts")),
            name=str(d.get("name", "")),
            traces=int(d.get("traces", 0)),
            annotations=int(d.get("annotations", 0)),
            measurements=int(d.get("measurements", 0)),
            history=int(d.get("history", 0)),
            offset=int(d.get("offset", 0)),
            layers=int(d.get("layers", 0)),
            trace_bytes=int(d.get("trace_bytes", 0)),
            compacted_from=d.get("compacted_from"),
        )


@dataclass(frozen=True)
class CompactInfo:
    """What :func:`compact_session` did."""

    version: int
    bytes_before: int
    bytes_after: int
    commit: str = ""


@dataclass(frozen=True)
class SessionReport:
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


# --- the session ---------------------------------------------------------------


class _MetaDict(dict):  # type: ignore[type-arg]
    """A dict of the session's metadata (or a dict inside it) that writes
    every change through to the library."""

    def __init__(self, data: Mapping[str, Any], root: "Optional[_MetaDict]") -> None:
        super().__init__()
        self._root = self if root is None else root
        self._owner: Any = None  # the root's weak reference to its session
        for k, v in data.items():
            dict.__setitem__(self, k, _track(v, self._root))

    def _changed(self) -> None:
        owner = self._root._owner
        session = owner() if owner is not None else None
        if session is not None:
            session._sync_metadata()

    def __setitem__(self, k: Any, v: Any) -> None:
        dict.__setitem__(self, k, _track(v, self._root))
        self._changed()

    def __delitem__(self, k: Any) -> None:
        dict.__delitem__(self, k)
        self._changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        for k, v in dict(*args, **kwargs).items():
            dict.__setitem__(self, k, _track(v, self._root))
        self._changed()

    def setdefault(self, k: Any, default: Any = None) -> Any:
        if k not in self:
            self[k] = default
        return dict.__getitem__(self, k)

    def pop(self, *args: Any) -> Any:
        v = dict.pop(self, *args)
        self._changed()
        return v

    def popitem(self) -> Any:
        v = dict.popitem(self)
        self._changed()
        return v

    def clear(self) -> None:
        dict.clear(self)
        self._changed()

    def __ior__(self, other: Any) -> "_MetaDict":  # type: ignore[override,misc]
        self.update(other)
        return self

    def __reduce__(self) -> Any:  # copies and pickles are plain dicts
        return (dict, (dict(self),))

    def __deepcopy__(self, memo: Any) -> Any:
        return json.loads(_json(self, "metadata", lenient=True))


class _MetaList(list):  # type: ignore[type-arg]
    """A list inside the session's metadata that writes every change through."""

    def __init__(self, data: Any, root: _MetaDict) -> None:
        super().__init__(_track(v, root) for v in data)
        self._root = root

    def _changed(self) -> None:
        self._root._changed()

    def __reduce__(self) -> Any:
        return (list, (list(self),))

    def __deepcopy__(self, memo: Any) -> Any:
        return json.loads(_json(self, "metadata", lenient=True))


def _list_mutator(name: str) -> Any:
    base = getattr(list, name)

    def method(self: _MetaList, *args: Any) -> Any:
        if name in ("append", "insert"):
            args = args[:-1] + (_track(args[-1], self._root),)
        elif name in ("extend", "__iadd__"):
            args = ([_track(v, self._root) for v in args[0]],)
        elif name == "__setitem__":
            v = args[1]
            v = [_track(x, self._root) for x in v] if isinstance(args[0], slice) else v
            args = (args[0], _track(v, self._root) if not isinstance(args[0], slice) else v)
        out = base(self, *args)
        self._changed()
        return self if name in ("__iadd__", "__imul__") else out

    method.__name__ = name
    return method


for _name in (
    "__setitem__", "__delitem__", "append", "extend", "insert", "pop", "remove",
    "clear", "sort", "reverse", "__iadd__", "__imul__",
):
    setattr(_MetaList, _name, _list_mutator(_name))


def _track(value: Any, root: _MetaDict) -> Any:
    """Dicts and lists inside the metadata as tracked containers."""
    if isinstance(value, (_MetaDict, _MetaList)) or not isinstance(value, (dict, list)):
        if isinstance(value, _MetaDict) and value._root is not root:
            return _MetaDict(value, root)
        if isinstance(value, _MetaList) and value._root is not root:
            return _MetaList(value, root)
        return value
    if isinstance(value, dict):
        return _MetaDict(value, root)
    return _MetaList(value, root)


def _session_free(ptr: int) -> None:
    N.lib.evident_session_free(ptr)


class Session(Managed):
    """An analysis session: traces, annotation layers, measurements,
    operation history and metadata, saved to a crash-safe, versioned file.

    ``Session(name)`` starts an empty session; :func:`load_session` opens a
    saved one. Every change stays in memory until :meth:`save`, which
    appends only what changed. A session is not shared between threads
    without care: calls are serialised by a lock. :meth:`close` (or a
    ``with`` block) frees it; traces already obtained stay valid.
    """

    _free_fn = staticmethod(_session_free)  # type: ignore[assignment]
    _what = "session"

    def __init__(
        self,
        name: str = "Untitled Session",
        *,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> None:
        lib = N.session_lib()
        raw = N.text(name, "name")
        out = ctypes.c_void_p()
        N.check(lib.evident_session_new(raw, ctypes.byref(out)))
        self._init(out.value, None)  # type: ignore[arg-type]
        if metadata is not None:
            self.metadata = dict(metadata)

    def _init(self, ptr: int, key: Optional[bytes]) -> None:
        self._set_handle(ptr)
        self._mutex = threading.RLock()
        self._cache: Dict[str, Any] = {}
        self._key = key
        self._history = OperationHistory._bound(self)
        self.last_save: Optional[SaveInfo] = None
        #: The metadata as a live dict: every change is written through to
        #: the library at once (the library's copy is the only one saved).
        self._metadata_view = _MetaDict(self._json_of("metadata_json"), None)
        self._metadata_view._owner = weakref.ref(self)
        self._metadata_pending = False  # a value JSON cannot hold is in the view

    @classmethod
    def load(
        cls,
        path: PathLike,
        *,
        version: Optional[int] = None,
        key: Optional[bytes] = None,
    ) -> "Session":
        """Opens a saved session: the newest complete version, or ``version``.
        ``key``: the HMAC key of a keyed session file."""
        lib = N.session_lib()
        raw = N.path_arg(path)
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
                status = fn(ptr, *args)
                if status:
                    N.raise_status(status)
            finally:
                self._release()

    def _string(self, fn: Callable[..., int], *args: Any, mutates: bool = True) -> str:
        out = ctypes.c_void_p()
        self._call(fn, *args, ctypes.byref(out), mutates=mutates)
        return N.take_string(out)

    def _json_of(self, what: str, cached: bool = False) -> Any:
        """What ``evident_session_<what>`` returns, parsed. With ``cached``
        (property reads): parsed once until the session changes, and the
        caller must not modify it."""
        fn = getattr(N.lib, "evident_session_" + what)
        if not cached:
            return json.loads(self._string(fn, mutates=False))
        with self._mutex:
            if what not in self._cache:
                self._cache[what] = json.loads(self._string(fn, mutates=False))
            return self._cache[what]

    def _sync_metadata(self) -> None:
        """Writes the metadata view through to the library; a value JSON
        cannot hold is reported by the next save (TraceKit code assigns
        first and saves later)."""
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

    def _info(self) -> Dict[str, Any]:
        info: Dict[str, Any] = self._json_of("info_json", cached=True)
        return info

    # -- description -------------------------------------------------------

    @property
    def name(self) -> str:
        return str(self._info().get("name", ""))

    @name.setter
    def name(self, value: str) -> None:
        self._call(N.lib.evident_session_set_name, N.text(value, "name"))

    @property
    def metadata(self) -> Dict[str, Any]:
        """The session's metadata, a dict to change in place
        (``session.metadata["project"] = "PSU-REV-B"``, nested dicts and
        lists too): every change is written to the session at once. Its
        values must be JSON data, checked when the session is saved."""
        return self._metadata_view

    @metadata.setter
    def metadata(self, value: Mapping[str, Any]) -> None:
        if not isinstance(value, Mapping):
            raise InvalidArgumentError("metadata must be a dict")
        view = self._metadata_view
        dict.clear(view)
        for k, v in dict(value).items():
            dict.__setitem__(view, k, _track(v, view))
        self._sync_metadata()

    @property
    def created_at(self) -> Optional[datetime]:
        return _ts_in(self._info().get("created_at"))

    @property
    def modified_at(self) -> Optional[datetime]:
        return _ts_in(self._info().get("modified_at"))

    @property
    def path(self) -> Optional[Path]:
        """The file this session was loaded from or last saved to."""
        p = self._info().get("path")
        return None if p is None else Path(p)

    @property
    def version(self) -> Optional[int]:
        """The version loaded or last saved (None for a session never saved)."""
        v = self._info().get("version")
        return None if v is None else int(v)

    @property
    def commit(self) -> Optional[str]:
        """The commit hash of that version (lowercase hex)."""
        c = self._info().get("commit")
        return None if c is None else str(c)

    def info(self) -> Dict[str, Any]:
        """Counts and description: name, created_at, modified_at, path,
        version, commit, traces, layers, annotations, measurements, history,
        history_limit (as the library reports them)."""
        self._push_metadata()
        return dict(self._info())

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
        """Loads a capture file as a trace (named ``name``, default: the
        file's stem) and returns it: CSV, NumPy ``.npy``, sigrok ``.sr`` or
        Tektronix ``.wfm``. Loader options: ``channel`` (the channel of a
        multi-channel ``.sr`` capture, by name or index) and ``lazy``
        (accepted; traces are mapped from the session file once saved).
        Recorded in the history when ``history.auto_record``."""
        raw = N.path_arg(path)
        name_b = N.text(name, "name")
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
                loaded = self._string(
                    N.measure_lib().evident_session_load_trace_with, raw, name_b, opts
                )
        except EvidentError as e:
            if self._history.auto_record:
                self._auto_record("load_trace", params, None, t0, e)
            raise
        if self._history.auto_record:
            self._auto_record("load_trace", params, f"loaded {loaded!r}", t0, None)
        return self.get_trace(loaded)

    def measure(self, trace_name: str, what: str) -> float:
        """Measures the trace ``trace_name`` (``"frequency"``, ``"period"``,
        ``"amplitude"``, ``"rise_time"``, ``"fall_time"``, ``"duty_cycle"``,
        ``"thd"``; NaN when the signal does not allow it) and records
        ``measure_<what>`` in the history."""
        code = _measure_code(what)
        out = ctypes.c_double()
        self._call(
            N.measure_lib().evident_session_measure,
            N.text(trace_name, "trace_name"),
            code,
            ctypes.byref(out),
        )
        return out.value

    def _auto_record(
        self, op: str, params: Dict[str, Any], result: Any, t0: float, error: Optional[Exception]
    ) -> None:
        self._history.record(
            op,
            params,
            result,
            duration_ms=(_time.perf_counter() - t0) * 1000.0,
            success=error is None,
            error_message=None if error is None else str(error),
        )

    def add_trace(
        self,
        name: str,
        trace: Any,
        *,
        dtype: Any = None,
        sample_rate: Optional[float] = None,
        start_time: Optional[float] = None,
        units: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        length: Optional[int] = None,
    ) -> None:
        """Adds (or replaces) the trace ``name``; the samples are copied.

        ``trace`` is an :class:`evident.Trace`, a 1-D numpy array, an
        :class:`array.array`, a list of numbers or bools, bytes-like raw
        little-endian samples (with ``dtype=``; ``bit``: packed LSB-first,
        ``length=`` samples), or a TraceKit-like object with ``.data`` and
        ``.sample_rate`` or ``.metadata.sample_rate``. ``dtype`` converts
        (without loss only) or interprets the samples: ``"f64"`` ... ``"u64"``,
        ``"bool"``, ``"bit"`` (bools packed 8 per byte). The keyword
        arguments override what ``trace`` carries.
        """
        name_b = N.text(name, "name")
        dt = None if dtype is None else _dtype_name(dtype)
        s = _samples(trace, dt, length)
        info = dict(s.info)
        if sample_rate is not None:
            info["sample_rate"] = _number(sample_rate, "sample_rate")
        if start_time is not None:
            info["start_time"] = _number(start_time, "start_time")
        if units is not None:
            if not isinstance(units, str):
                raise InvalidArgumentError(f"units must be a str, not {type(units).__name__}")
            info["units"] = units
        if metadata is not None:
            info["metadata"] = _plain(dict(metadata), "trace metadata")
        info_json = _json(info, "trace info")
        self._call(
            N.lib.evident_session_add_trace,
            name_b,
            DTYPES[s.dtype].code,
            s.pointer,
            s.length,
            info_json,
        )
        del s  # the library copied the samples

    def list_traces(self) -> List[str]:
        """The names of the traces, in the order they were added."""
        names: List[str] = list(self._json_of("trace_names_json", cached=True))
        return names

    def get_trace(self, name: str) -> Trace:
        """The trace ``name`` (:class:`~evident.errors.NotFoundError`, a
        KeyError, when there is none)."""
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

    def annotate(
        self,
        text: str,
        *,
        time: Optional[float] = None,
        time_range: Optional[Tuple[float, float]] = None,
        layer: str = "default",
        amplitude: Optional[float] = None,
        amplitude_range: Optional[Tuple[float, float]] = None,
        annotation_type: Union[AnnotationType, str, None] = None,
        color: Optional[str] = None,
        style: str = "solid",
        visible: bool = True,
        created_at: Optional[datetime] = None,
        **metadata: Any,
    ) -> Annotation:
        """Adds an annotation to ``layer`` (created if missing) and returns it.
        Other keyword arguments are stored as the annotation's metadata. A
        locked layer raises :class:`~evident.errors.LayerLockedError`."""
        a = Annotation(
            text=text,
            time=None if time is None else _number(time, "time"),
            time_range=time_range,
            amplitude=None if amplitude is None else _number(amplitude, "amplitude"),
            amplitude_range=amplitude_range,
            annotation_type=_annotation_type(annotation_type),
            color=color,
            style=style,
            visible=visible,
            created_at=created_at or _now(),
            metadata=dict(metadata),
        )
        self._annotate(layer, a)
        return a

    def _annotate(self, layer: str, a: Annotation) -> None:
        body = _json(a.to_dict(), "annotation")
        self._call(N.lib.evident_session_annotate, N.text(layer, "layer"), body)
        a.layer = layer

    def get_annotations(
        self,
        layer: Optional[str] = None,
        time_range: Optional[Tuple[float, float]] = None,
    ) -> List[Annotation]:
        """Annotations of one layer (all layers when None), optionally only
        those whose time overlaps ``time_range`` (annotations without a time
        are then left out). A layer that does not exist has none."""
        rng = _pair(time_range, "time_range")
        t0, t1 = rng if rng is not None else (0.0, 0.0)
        try:
            text = self._string(
                N.lib.evident_session_annotations_json,
                N.text(layer, "layer"),
                1 if rng is not None else 0,
                t0,
                t1,
            )
        except NotFoundError:
            return []
        return [Annotation.from_dict(x["annotation"], x.get("layer")) for x in json.loads(text)]

    @property
    def annotation_layers(self) -> _Layers:
        """The layers by name (live :class:`AnnotationLayer` views). Assign an
        :class:`AnnotationLayer` to store it; ``del`` removes one."""
        return _Layers(self)

    def set_layer(
        self,
        name: str,
        *,
        visible: Optional[bool] = None,
        locked: Optional[bool] = None,
        color: Optional[str] = None,
        description: Optional[str] = None,
    ) -> AnnotationLayer:
        """Creates the layer ``name`` or changes the properties given (allowed
        on a locked layer; ``color=""`` removes the colour); returns it."""
        props: Dict[str, Any] = {"name": name}
        if visible is not None:
            props["visible"] = bool(visible)
        if locked is not None:
            props["locked"] = bool(locked)
        if color is not None:
            props["color"] = color
        if description is not None:
            props["description"] = description
        self._call(N.lib.evident_session_set_layer, _json(props, "layer"))
        return AnnotationLayer._bound(self, name)

    def _layers_json(self) -> List[Dict[str, Any]]:
        layers: List[Dict[str, Any]] = self._json_of("layers_json", cached=True)
        return layers

    def _layer_json(self, name: str) -> Dict[str, Any]:
        for layer in self._layers_json():
            if layer.get("name") == name:
                return layer
        raise NotFoundError(f"no annotation layer named {name!r}")

    def _clear_layer(self, name: str) -> None:
        self._call(N.lib.evident_session_clear_layer, N.text(name, "layer"))

    def _remove_layer(self, name: str) -> None:
        self._call(N.lib.evident_session_remove_layer, N.text(name, "layer"))

    def remove_layer(self, name: str) -> None:
        """Removes a layer and its annotations (LayerLockedError when locked)."""
        self._remove_layer(name)

    # -- measurements ----------------------------------------------------------

    def record_measurement(
        self,
        name: str,
        value: Any,
        unit: str = "",
        trace_name: Optional[str] = None,
        **metadata: Any,
    ) -> None:
        """Records a measurement. ``value`` is any JSON data (numbers, strings,
        bools, None, lists, dicts; numpy scalars and arrays are converted);
        other keyword arguments are stored as its metadata."""
        m: Dict[str, Any] = {
            "name": name,
            "value": _plain(value, f"measurement {name!r} value"),
            "unit": unit,
            "metadata": _plain(metadata, f"measurement {name!r} metadata"),
        }
        if not isinstance(name, str) or not isinstance(unit, str):
            raise InvalidArgumentError("measurement name and unit must be str")
        if trace_name is not None:
            if not isinstance(trace_name, str):
                raise InvalidArgumentError("trace_name must be a str")
            m["trace_name"] = trace_name
        self._call(N.lib.evident_session_record_measurement, _json(m, "measurement"))

    def measurement_records(self) -> List[Measurement]:
        """Every measurement recorded, in order (a name recorded twice
        appears twice)."""
        return [Measurement.from_dict(m) for m in self._json_of("measurements_json")]

    def get_measurements(self) -> Dict[str, Dict[str, Any]]:
        """Measurements by name, TraceKit's shape: ``{name: {"value", "unit",
        "trace_name", "timestamp", **metadata}}`` (the latest of a name)."""
        by_name: Dict[str, Dict[str, Any]] = self._json_of("measurements_tracekit_json")
        return {k: dict(v) for k, v in by_name.items()}

    @property
    def measurements(self) -> Dict[str, Dict[str, Any]]:
        """Same as :meth:`get_measurements`."""
        return self.get_measurements()

    # -- history ---------------------------------------------------------------

    @property
    def history(self) -> OperationHistory:
        """The operation history (a live view)."""
        return self._history


    # -- saving ----------------------------------------------------------------

    def save(
        self,
        path: Optional[PathLike] = None,
        *,
        include_traces: bool = True,
        compress: Union[bool, int] = False,
        audit_log: Optional[AuditLog] = None,
        key: Optional[bytes] = None,
        sync: bool = True,
        lock_timeout: Optional[float] = None,
    ) -> Path:
        """Saves a new version and returns the file's path (details of the
        save in :attr:`last_save`).

        ``path``: default the file this session was loaded from or last saved
        to. A save appends what changed since the last save (traces already
        in the file are reused) and a commit; a crash during the save leaves
        the previous version loadable. ``compress``: True for zstd level 3,
        or a zstd level, for the traces this save writes. ``audit_log``: an
        open :class:`~evident.AuditLog` that receives an entry with the
        commit hash. ``key``: the HMAC key of a new keyed file (or of the
        existing file; default: the key it was loaded with). ``sync``: fsync
        before returning (default). With ``sync=False`` the save returns once
        it is in the OS page cache: a crash of the process loses nothing; a
        power cut or OS crash before the OS wrote it back may lose this save
        and every other save since the last save with sync, never an earlier
        version saved with sync, and the file stays loadable and saveable
        (loading gives the newest complete version, ``verify_session``
        lists the lost ones in ``details["incomplete_versions"]``, the next
        save moves them into a sidecar file). ``lock_timeout``: seconds to wait for another
        writer of the file.
        """
        lib = N.session_lib()
        raw = None if path is None else N.path_arg(path)
        if isinstance(compress, bool):
            level = 3 if compress else 0
        elif isinstance(compress, int):
            level = compress
            if not -(2**31) <= level < 2**31:
                raise InvalidArgumentError(f"compress level {level} is out of range")
        else:
            raise InvalidArgumentError("compress must be a bool or a zstd level (int)")
        if audit_log is not None and not isinstance(audit_log, AuditLog):
            raise InvalidArgumentError(
                f"audit_log must be an evident.AuditLog, not {type(audit_log).__name__}"
            )
        use_key = key if key is not None else self._key
        key_buf, key_len = N.key_arg(use_key)
        timeout_ms: Optional[int] = None
        if lock_timeout is not None:
            t = _number(lock_timeout, "lock_timeout")
            if math.isnan(t) or t < 0:
                raise InvalidArgumentError("lock_timeout must be >= 0")
            timeout_ms = N.UINT64_MAX if math.isinf(t) else int(round(t * 1000))
        with self._mutex:
            if raw is None and self.path is None:
                raise InvalidArgumentError(
                    "this session has never been saved: pass a path to save()"
                )
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

    def close(self) -> None:
        """Frees the session (unsaved changes are lost). Traces obtained from
        it stay valid. Closing twice is fine."""
        super().close()

    def __repr__(self) -> str:
        if self.closed:
            return "<evident.Session closed>"
        info = self._info()
        where = f" {info.get('path')!r} v{info.get('version')}" if info.get("path") else ""
        return f"<evident.Session {info.get('name')!r}{where} traces={info.get('traces')}>"


# --- module functions -----------------------------------------------------------------


def load_session(
    path: PathLike, *, version: Optional[int] = None, key: Optional[bytes] = None
) -> Session:
    """Opens a saved session: the newest complete version, or ``version``
    (numbered from 1, see :func:`session_versions`). ``key``: the HMAC key of
    a keyed file. A damaged or hostile file raises an
    :class:`~evident.EvidentError` naming what is wrong."""
    return Session.load(path, version=version, key=key)


def _file_call(fn_name: str, path: PathLike, key: Optional[bytes]) -> Any:
    lib = N.session_lib()
    raw = N.path_arg(path)
    key_buf, key_len = N.key_arg(key)
    out = ctypes.c_void_p()
    N.check(getattr(lib, fn_name)(raw, key_buf, key_len, ctypes.byref(out)))
    return _take_json(out)


def session_versions(path: PathLike, key: Optional[bytes] = None) -> List[VersionInfo]:
    """Every complete version in a session file, oldest first."""
    return [
        VersionInfo.from_dict(v) for v in _file_call("evident_session_versions_json", path, key)
    ]


def compact_session(path: PathLike, key: Optional[bytes] = None) -> CompactInfo:
    """Rewrites the file with only its newest version (atomically)."""
    d = _file_call("evident_session_compact", path, key)
    return CompactInfo(
        version=int(d.get("version", 0)),
        bytes_before=int(d.get("bytes_before", 0)),
        bytes_after=int(d.get("bytes_after", 0)),
        commit=str(d.get("commit", "")),
    )


def verify_session(path: PathLike, key: Optional[bytes] = None) -> SessionReport:
    """Checks every record, chain link and sample hash of a session file.
    Problems are reported in the result (``ok`` false), not raised; an
    unreadable file raises."""
    d = _file_call("evident_session_verify", path, key)
    torn = d.get("torn_tail_at")
    return SessionReport(
        ok=bool(d.get("ok", False)),
        versions=int(d.get("versions", 0)),
        problems=[str(p) for p in d.get("problems") or []],
        torn_tail_at=None if torn is None else int(torn),
        head_version=d.get("head_version"),
        head_commit=d.get("head_commit"),
        details=dict(d),
    )
