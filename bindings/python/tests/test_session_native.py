"""The session logic is the library's (one rule for C, Go and Python): the
Python module only converts. These tests pin what moved into Rust."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from datetime import datetime, timezone
from typing import Any, List

import pytest

import evident
from conftest import run_python
from evident import _native as N
from evident.session import Annotation, AnnotationType

UTC = timezone.utc


def test_dtype_aliases_are_the_librarys() -> None:
    code = ctypes.c_uint32()
    N.check(N.lib.evident_dtype_from_name(b"Double", ctypes.byref(code)))
    assert code.value == evident.DTYPES["f64"].code
    s = evident.Session()
    s.add_trace("a", [1, 2, 3], dtype="uint16")
    s.add_trace("b", [1.0, 2.0], dtype="FLOAT32")
    assert (s.get_trace("a").dtype, s.get_trace("b").dtype) == ("u16", "f32")
    with pytest.raises(evident.InvalidArgumentError, match="unsupported dtype"):
        s.add_trace("c", [1.0], dtype="complex128")


def test_annotation_kind_and_range_rule_is_the_librarys() -> None:
    assert Annotation("x", time_range=(1, 2), amplitude_range=(0, 1)).annotation_type is AnnotationType.REGION
    assert Annotation("x", amplitude=3).annotation_type is AnnotationType.HORIZONTAL
    assert Annotation("x", time=1, annotation_type="vertical").annotation_type is AnnotationType.VERTICAL
    # the library's range rule, at construction (before: only when stored)
    with pytest.raises(evident.InvalidArgumentError, match="after it ends"):
        Annotation("x", time_range=(2.0, 1.0))
    with pytest.raises(evident.InvalidArgumentError, match="nan"):
        Annotation("x", time=float("nan"))


def test_layer_remove_takes_out_one_annotation_natively(monkeypatch: pytest.MonkeyPatch) -> None:
    s = evident.Session()
    for t in ("a", "b", "c"):
        s.annotate(t, time=1.0, layer="L")
    layer = s.annotation_layers["L"]
    before = layer.annotations
    calls: List[str] = []
    real_annotate = N.lib.evident_session_annotate
    real_clear = N.lib.evident_session_clear_layer

    def annotate(*a: Any) -> int:
        calls.append("annotate")
        return int(real_annotate(*a))

    def clear(*a: Any) -> int:
        calls.append("clear")
        return int(real_clear(*a))

    monkeypatch.setattr(N.lib, "evident_session_annotate", annotate)
    monkeypatch.setattr(N.lib, "evident_session_clear_layer", clear)
    assert layer.remove(before[1]) is True
    assert calls == []  # no clear-and-re-add
    assert layer.annotations == [before[0], before[2]]
    assert layer.remove(before[1]) is False


def test_standalone_layer_and_history_use_the_same_engine() -> None:
    layer = evident.AnnotationLayer("L", locked=True)
    with pytest.raises(evident.LayerLockedError):
        layer.add(text="x", time=1.0)
    h = evident.OperationHistory(max_entries=1)
    h.record("a")
    h.record("b")
    assert [e.operation for e in h] == ["b"]
    assert h.summary()["operations"] == {"b": 1}
    # find_in_range is the library's in_time_range
    free = evident.AnnotationLayer("F")
    free.add(text="r", time_range=(1.0, 2.0))
    free.add(text="p", time=5.0)
    free.add(text="t")
    assert [a.text for a in free.find_in_range(1.5, 6.0)] == ["r", "p"]
    assert [a.text for a in free.find_at_time(2.1, tolerance=0.2)] == ["r"]


def test_measurement_as_tracekit_is_the_librarys() -> None:
    s = evident.Session()
    s.record_measurement("f", 2.5, unit="Hz", trace_name="CH1", method="fft")
    m = s.measurement_records()[0]
    d = m.as_tracekit()
    assert d == {
        "value": 2.5,
        "unit": "Hz",
        "trace_name": "CH1",
        "method": "fft",
        "timestamp": m.recorded_at.isoformat(),  # type: ignore[union-attr]
    }
    assert s.get_measurements() == {"f": d}


def test_naive_datetimes_are_refused_everywhere() -> None:
    # the log module's rule, now the session's too (before: local time)
    s = evident.Session()
    naive = datetime(2026, 1, 8, 10, 30)
    with pytest.raises(evident.InvalidArgumentError, match="timezone-aware"):
        s.annotate("x", time=1.0, created_at=naive)
    with pytest.raises(evident.InvalidArgumentError, match="timezone-aware"):
        s.history.record("op", timestamp=naive)
    with pytest.raises(evident.InvalidArgumentError, match="timezone-aware"):
        s.record_measurement("m", 1, when=naive)
    aware = datetime(2026, 1, 8, 10, 30, tzinfo=UTC)
    s.annotate("x", time=1.0, created_at=aware)
    assert s.get_annotations()[0].created_at == aware


def test_property_reads_do_not_reparse_until_a_change(monkeypatch: pytest.MonkeyPatch) -> None:
    s = evident.Session()
    for i in range(50):
        s.annotate(f"a{i}", time=float(i), layer="L")
    layer = s.annotation_layers["L"]
    calls = []
    # A property is read from the one-layer call; neither it nor the
    # whole-layers call runs again before a change.
    for name in ("evident_session_layers_json", "evident_session_layer_json"):
        real = getattr(N.lib, name)

        def counting(*a: Any, _real: Any = real) -> int:
            calls.append(1)
            return int(_real(*a))

        monkeypatch.setattr(N.lib, name, counting)
    for _ in range(20):  # read once already (by annotation_layers["L"])
        assert layer.visible and not layer.locked and layer.color is None
    assert len(calls) == 0
    layer.color = "#FF0000"  # a change: read again once
    assert [layer.color for _ in range(5)] == ["#FF0000"] * 5
    assert len(calls) == 1


def _native_metadata(s: evident.Session) -> Any:
    import json

    out = ctypes.c_void_p()
    s._call(N.lib.evident_session_metadata_json, ctypes.byref(out), mutates=False)
    return json.loads(N.take_string(out))


def test_metadata_lives_on_the_native_session() -> None:
    import copy

    s = evident.Session(metadata={"project": "P"})
    assert _native_metadata(s) == {"project": "P"}
    s.metadata["nested"] = {"tags": ["a"]}
    s.metadata["nested"]["tags"].append("b")  # nested changes are written through too
    s.metadata["nested"].setdefault("n", 1)
    assert _native_metadata(s) == {"project": "P", "nested": {"tags": ["a", "b"], "n": 1}}
    del s.metadata["project"]
    assert _native_metadata(s) == {"nested": {"tags": ["a", "b"], "n": 1}}
    plain = copy.deepcopy(s.metadata)
    assert type(plain) is dict and plain == s.metadata
    plain["x"] = 1
    assert "x" not in _native_metadata(s)
    s.metadata = {"replaced": True}
    assert _native_metadata(s) == {"replaced": True} == s.metadata


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS as Linux applies it")
def test_add_trace_refused_memory_is_an_error_not_an_abort() -> None:
    """The library's copy of the samples asks for memory the allocator
    refuses (an address-space limit below it): an error naming the trace
    samples, the interpreter alive. Before, the copy was an infallible
    allocation: "memory allocation of N bytes failed", SIGABRT."""
    code = r'''
import resource, sys
import evident
data = bytes(256 << 20)
with open("/proc/self/statm") as f:
    size = int(f.read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (size + (96 << 20), resource.RLIM_INFINITY))
s = evident.Session(name="oom")
try:
    s.add_trace("t", data, dtype="u8")
except evident.EvidentError as e:
    print("refused:", e)
    sys.exit(0)
print("added")
'''
    p = run_python(code, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, (p.returncode, out, err[-2000:])
    text = out.decode()
    assert "refused:" in text and "out of memory" in text, (text, err[-2000:])
