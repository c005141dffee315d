"""Defects a black-box pass over the TraceKit seed (000, 001) found in stop 45,
each written as the test that failed before its fix."""

from __future__ import annotations

import os

import pytest

np = pytest.importorskip("numpy")
tk = pytest.importorskip("evident.compat.tracekit")


def _sine(freq: float, n: int = 10000, rate: float = 1e6):
    return np.sin(2 * np.pi * freq * np.arange(n) / rate)


def test_measuring_a_trace_measures_that_trace_not_the_sessions_newer_one():
    # 000: `tk.frequency(trace)` measures the trace passed in. A session's
    # trace object kept after its name was given a new trace is the old one.
    session = tk.Session()
    session.add_trace("CH1", tk.WaveformTrace(data=_sine(1e3), sample_rate=1e6))
    before = session.get_trace("CH1")
    session.add_trace("CH1", tk.WaveformTrace(data=_sine(5e3), sample_rate=1e6))
    assert tk.frequency(before) == pytest.approx(1e3, rel=1e-3)
    assert tk.frequency(session.get_trace("CH1")) == pytest.approx(5e3, rel=1e-3)


def test_measuring_a_changed_session_trace_measures_its_new_values():
    session = tk.Session()
    session.add_trace("CH1", tk.WaveformTrace(data=_sine(1e3), sample_rate=1e6))
    trace = session.get_trace("CH1")
    trace.data = trace.data * 10
    trace.sample_rate *= 2
    plain = tk.WaveformTrace(data=_sine(1e3) * 10, sample_rate=2e6)
    assert tk.amplitude(trace) == tk.amplitude(plain) > 19.9
    assert tk.frequency(trace) == tk.frequency(plain) == pytest.approx(2e3, rel=1e-3)
    # not recorded as a measurement of the session's CH1, which it is not
    assert "measure_frequency" not in [e.operation for e in session.history.entries]
    # the session's own trace, unchanged: measured and recorded
    fresh = tk.Session()
    fresh.add_trace("CH1", tk.WaveformTrace(data=_sine(1e3), sample_rate=1e6))
    assert tk.frequency(fresh.get_trace("CH1")) == pytest.approx(1e3, rel=1e-3)
    assert [e.operation for e in fresh.history.entries] == ["measure_frequency"]


def test_adding_a_changed_session_trace_adds_its_new_values():
    session = tk.Session()
    session.add_trace("CH1", tk.WaveformTrace(data=_sine(1e3), sample_rate=1e6))
    trace = session.get_trace("CH1")
    trace.data = trace.data * 10
    trace.sample_rate = 2e6
    session.add_trace("CH1_scaled", trace)
    scaled = session.get_trace("CH1_scaled")
    assert scaled.sample_rate == 2e6
    assert float(np.max(scaled.data)) == pytest.approx(10.0, rel=1e-3)


def test_a_refused_metadata_value_is_not_kept_and_later_values_are_saved(tmp_path):
    # 000:915, 1165: session.metadata is assigned freely. A value the
    # library refuses must not stay behind and block every later change.
    s = tk.Session(name="p")
    s.metadata["project"] = "PSU-REV-B"
    with pytest.raises(ValueError):
        s.metadata["file"] = os.fsdecode(b"capture_\xff.wfm")
    assert "file" not in s.metadata
    s.metadata["engineer"] = "Alice"
    path = tmp_path / "r3.tks"
    s.save(path)
    assert dict(s.metadata) == {"project": "PSU-REV-B", "engineer": "Alice"}
    assert dict(tk.load_session(path).metadata) == {"project": "PSU-REV-B", "engineer": "Alice"}


def test_a_refused_nested_metadata_value_is_not_kept(tmp_path):
    s = tk.Session(name="p")
    s.metadata["a"] = {"b": 1}
    with pytest.raises(ValueError):
        s.metadata["a"]["c"] = os.fsdecode(b"\xff")
    assert dict(s.metadata["a"]) == {"b": 1}
    s.metadata["a"]["d"] = 2
    path = tmp_path / "n.tks"
    s.save(path)
    assert tk.load_session(path).metadata == {"a": {"b": 1, "d": 2}}


def test_add_trace_without_a_name_is_a_type_error():
    s = tk.Session()
    with pytest.raises((TypeError, ValueError)) as e:
        s.add_trace(None, tk.WaveformTrace(data=_sine(1e3), sample_rate=1e6))
    assert "name" in str(e.value)
