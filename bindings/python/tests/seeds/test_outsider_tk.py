"""An outsider's acceptance tests of TraceKit's Session / AuditTrail API
(seed 000 "Session Management & Audit Trail API", seed 001 ``core/audit.py``)
on ``evident.compat.tracekit``, written from the documents and the README
only.

The documented examples themselves are covered elsewhere in this folder;
these tests check what a user of the documents relies on beyond them:
documented defaults, parameter names and positions, return and field
types, edge cases (relative paths, unicode, large details, pre-created
files, calling things twice), and save/load/reopen-and-continue.
Each test runs in its own directory (conftest.py).
"""

from __future__ import annotations

import csv
import dataclasses
import getpass
import hashlib
import hmac as hmac_mod
import json
import math
import os
import socket
import tempfile
import time as time_mod
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

import evident.compat.tracekit as tk

UTC = timezone.utc
KEY = b"outsider-secret-key-0123456789"


def write_wfm(path: str | Path, data, sample_rate: float) -> Path:
    import tm_data_types

    wf = tm_data_types.AnalogWaveform()
    wf.y_axis_values = np.asarray(data, dtype=np.float64)
    wf.x_axis_spacing = 1.0 / sample_rate
    wf.source_name = "CH1"
    tm_data_types.write_file(str(path), wf)
    return Path(path)


def write_csv(path: str | Path, data, sample_rate: float) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time", "voltage"])
        for i, v in enumerate(data):
            w.writerow([repr(i / sample_rate), repr(float(v))])
    return Path(path)


def sine(n: int = 1000, cycles: float = 5.0, amp: float = 1.0):
    return amp * np.sin(np.linspace(0, 2 * np.pi * cycles, n, endpoint=False))


def texts(annotations) -> list[str]:
    return [a.text for a in annotations]


# ---------------------------------------------------------------------------
# Session: attributes, defaults, return types
# ---------------------------------------------------------------------------


def test_new_session_has_the_documented_attributes_with_their_types():
    s = tk.Session(name="Debug Session")
    assert s.name == "Debug Session"
    assert isinstance(s.created_at, datetime)
    assert isinstance(s.modified_at, datetime)
    assert s.modified_at >= s.created_at
    assert dict(s.traces) == {}
    assert dict(s.measurements) == {}
    assert dict(s.metadata) == {}
    assert len(s.annotation_layers) == 0
    assert isinstance(s.history, tk.OperationHistory)
    assert s.history.entries == []
    assert s.list_traces() == []
    assert s.get_annotations() == []
    assert s.get_measurements() == {}
    assert isinstance(s.summary(), str)


def test_session_name_is_the_first_positional_field():
    # "@dataclass class Session" with name first
    assert tk.Session("Positional").name == "Positional"
    assert isinstance(tk.Session().name, str)


def test_add_trace_and_record_measurement_return_none():
    s = tk.Session()
    trace = tk.WaveformTrace(data=sine(100), sample_rate=1e6)
    assert s.add_trace("SYNTH", trace) is None
    assert s.record_measurement("m", 1.0) is None
    assert s.list_traces() == ["SYNTH"]


def test_add_trace_keeps_samples_and_sample_rate():
    s = tk.Session()
    data = 3.3 * np.sin(2 * np.pi * 1000 * np.linspace(0, 1e-3, 10000))
    s.add_trace("SINE_1KHZ", tk.WaveformTrace(data=data, sample_rate=10e6))
    got = s.get_trace("SINE_1KHZ")
    np.testing.assert_array_equal(np.asarray(got.data), data)
    assert got.sample_rate == 10e6
    assert s.traces["SINE_1KHZ"].sample_rate == 10e6


def test_add_trace_with_an_existing_name_replaces_it():
    # traces is a dictionary (name -> trace): one trace per name
    s = tk.Session()
    s.add_trace("X", tk.WaveformTrace(data=np.zeros(10), sample_rate=1.0))
    s.add_trace("X", tk.WaveformTrace(data=np.ones(20), sample_rate=2.0))
    assert s.list_traces() == ["X"]
    assert len(s.get_trace("X").data) == 20
    assert s.get_trace("X").sample_rate == 2.0


def test_get_trace_of_an_unknown_name_raises_key_error():
    s = tk.Session()
    with pytest.raises(KeyError):
        s.get_trace("CH9")


def test_list_traces_keeps_the_loading_order():
    s = tk.Session()
    for name in ["Z", "A", "M"]:
        s.add_trace(name, tk.WaveformTrace(data=np.zeros(4), sample_rate=1.0))
    assert s.list_traces() == ["Z", "A", "M"]
    assert list(s.traces) == ["Z", "A", "M"]


# ---------------------------------------------------------------------------
# load_trace
# ---------------------------------------------------------------------------


def test_load_trace_default_name_for_relative_and_absolute_paths():
    # "name: Name for trace in session (default: filename)"; the Script
    # Generation example loads "signal.wfm" and gets it as "signal"
    os.makedirs("captures/day1")
    write_csv("captures/day1/sensor.csv", sine(200), 1e6)
    write_wfm("captures/scope.wfm", sine(200), 1e6)
    s = tk.Session()
    t1 = s.load_trace("captures/day1/sensor.csv")
    t2 = s.load_trace(os.path.abspath("captures/scope.wfm"))
    assert s.list_traces() == ["sensor", "scope"]
    assert len(t1) == 200 and len(t2) == 200


def test_load_trace_accepts_pathlib_and_returns_the_loaded_trace():
    write_wfm("capture.wfm", sine(500), 2e6)
    s = tk.Session()
    trace = s.load_trace(Path("capture.wfm"), name="CH1")
    assert trace.sample_rate == pytest.approx(2e6)
    np.testing.assert_allclose(np.asarray(trace.data), sine(500), rtol=0, atol=1e-12)
    again = s.get_trace("CH1")
    np.testing.assert_array_equal(np.asarray(again.data), np.asarray(trace.data))


def test_load_trace_with_a_unicode_file_name():
    write_csv("mesure_été_✓.csv", sine(100), 1e3)
    s = tk.Session()
    s.load_trace("mesure_été_✓.csv")
    assert s.list_traces() == ["mesure_été_✓"]


def test_load_trace_of_a_missing_file_raises_file_not_found_and_adds_nothing():
    s = tk.Session()
    with pytest.raises(FileNotFoundError):
        s.load_trace("no_such_capture.wfm")
    assert s.list_traces() == []


def test_loading_the_same_file_twice_keeps_one_trace_of_that_name():
    write_csv("signal.csv", sine(100), 1e3)
    s = tk.Session()
    s.load_trace("signal.csv")
    s.load_trace("signal.csv")
    assert s.list_traces() == ["signal"]


def test_load_trace_is_recorded_in_the_history_with_its_arguments():
    write_csv("signal.csv", sine(100), 1e3)
    s = tk.Session()
    s.load_trace("signal.csv", name="SIG")
    [entry] = s.history.entries
    assert isinstance(entry, tk.HistoryEntry)
    assert entry.operation == "load_trace"
    assert entry.parameters["path"] == "signal.csv"
    assert entry.parameters["name"] == "SIG"
    assert entry.success is True
    assert isinstance(entry.timestamp, datetime)
    assert isinstance(entry.duration_ms, float) and entry.duration_ms >= 0


# ---------------------------------------------------------------------------
# record_measurement / get_measurements
# ---------------------------------------------------------------------------


def test_get_measurements_is_a_dict_by_name_with_value_unit_trace_and_metadata():
    s = tk.Session()
    s.record_measurement("rise_time", 2.3e-9, unit="s", trace_name="CH1", standard="IEEE 181-2011")
    s.record_measurement("frequency", 1e6, "Hz", "CH1", confidence=0.95)
    m = s.get_measurements()
    assert isinstance(m, dict)
    assert list(m) == ["rise_time", "frequency"]
    assert m["rise_time"]["value"] == 2.3e-9
    assert m["rise_time"]["unit"] == "s"
    assert m["rise_time"]["trace_name"] == "CH1"
    assert m["rise_time"]["standard"] == "IEEE 181-2011"
    assert m["frequency"]["unit"] == "Hz"
    assert m["frequency"]["confidence"] == 0.95
    assert s.measurements == m


def test_record_measurement_defaults_unit_empty_and_no_trace():
    s = tk.Session()
    s.record_measurement("count", 12)
    d = s.get_measurements()["count"]
    assert d["value"] == 12
    assert d["unit"] == ""
    assert d.get("trace_name") is None


def test_recording_a_name_again_keeps_the_latest_value():
    s = tk.Session()
    s.record_measurement("frequency", 1.0, unit="Hz")
    s.record_measurement("frequency", 2.0, unit="kHz")
    m = s.get_measurements()
    assert list(m) == ["frequency"]
    assert (m["frequency"]["value"], m["frequency"]["unit"]) == (2.0, "kHz")


def test_record_measurement_takes_numpy_results_and_numpy_booleans():
    # tk.frequency(...) etc. results, and "acceptable=ripple < 0.1" /
    # "pass_criteria=thd_value < -60" on numpy values
    s = tk.Session()
    value = np.float64(0.05)
    s.record_measurement("ripple_vpp", value, unit="V", acceptable=value < 0.1)
    s.record_measurement("samples", np.int64(1000))
    s.save("np.tks")
    for session in (s, tk.load_session("np.tks")):
        m = session.get_measurements()
        assert m["ripple_vpp"]["value"] == pytest.approx(0.05)
        assert bool(m["ripple_vpp"]["acceptable"]) is True
        assert m["samples"]["value"] == 1000


def test_measurement_on_a_session_trace_is_recorded_with_unit_and_trace_name():
    s = tk.Session(name="Power Rail Analysis")
    t = np.arange(100_000) / 1e6
    s.add_trace("5V_RAIL", tk.WaveformTrace(data=5 + 0.02 * np.sin(2 * np.pi * 1e3 * t), sample_rate=1e6))
    freq = tk.frequency(s.get_trace("5V_RAIL"))
    assert freq == pytest.approx(1e3, rel=1e-3)
    s.record_measurement("frequency", freq, unit="Hz", trace_name="5V_RAIL")
    assert s.get_measurements()["frequency"]["value"] == pytest.approx(1e3, rel=1e-3)


def test_a_measurement_that_could_not_be_made_is_still_recorded():
    # "value: Any" / "**metadata: Any". The workflow records what
    # tk.frequency(trace) returned, and a flat trace has no frequency (NaN);
    # Example 3 prints each one as f"{data['value']} {data['unit']}".
    s = tk.Session()
    s.add_trace("DC", tk.WaveformTrace(data=np.full(1000, 5.0), sample_rate=1e6))
    freq = tk.frequency(s.get_trace("DC"))
    assert math.isnan(freq)
    s.record_measurement("frequency", freq, unit="Hz", trace_name="DC")
    s.record_measurement("gain", float("inf"), unit="dB", measured=datetime(2026, 1, 8, 10, 30))
    s.record_measurement("impedance", complex(50, 1), unit="ohm")
    s.save("nan.tks")
    for session in (s, tk.load_session("nan.tks")):
        m = session.get_measurements()
        assert list(m) == ["frequency", "gain", "impedance"]
        printed = [f"{name}: {d['value']} {d['unit']}" for name, d in m.items()]
        assert printed == ["frequency: nan Hz", "gain: inf dB", "impedance: (50+1j) ohm"]
        assert math.isnan(float(m["frequency"]["value"]))
        assert m["frequency"]["trace_name"] == "DC"
        assert str(m["gain"]["measured"]) == "2026-01-08 10:30:00"


def test_session_metadata_takes_a_naive_datetime():
    # "Add Metadata: Store project context in metadata"
    s = tk.Session(name="Meta")
    s.metadata["project"] = "PSU-REV-B"
    s.metadata["started"] = datetime(2026, 1, 8, 10, 30)
    assert s.metadata["started"] == datetime(2026, 1, 8, 10, 30)
    s.save("meta.tks")
    back = tk.load_session("meta.tks")
    assert back.metadata["project"] == "PSU-REV-B"
    assert str(back.metadata["started"]) == "2026-01-08 10:30:00"

# ---------------------------------------------------------------------------
# annotate / get_annotations / annotation_layers
# ---------------------------------------------------------------------------


def test_annotate_goes_to_the_default_layer_by_default():
    s = tk.Session()
    s.annotate("Glitch detected", time=1.5e-6)
    assert list(s.annotation_layers) == ["default"]
    [a] = s.annotation_layers["default"].annotations
    assert isinstance(a, tk.Annotation)
    assert (a.text, a.time, a.time_range) == ("Glitch detected", 1.5e-6, None)


def test_annotate_text_is_positional_and_time_keyword_only():
    s = tk.Session()
    with pytest.raises(TypeError):
        s.annotate("x", 1.0)  # type: ignore[misc]
    s.annotate(text="named", time=2.0)
    assert texts(s.get_annotations()) == ["named"]


def test_annotate_passes_color_and_style_to_the_annotation():
    s = tk.Session()
    s.annotate("Critical error", time=10e-6, layer="errors", color="#FF0000", style="dashed")
    [a] = s.get_annotations(layer="errors")
    assert a.color == "#FF0000"
    assert a.style == "dashed"
    assert a.visible is True


def test_point_and_range_annotations_get_their_types():
    s = tk.Session()
    s.annotate("start", time=0)  # time 0 is a time point
    s.annotate("packet", time_range=(2e-6, 5e-6))
    start, packet = s.get_annotations()
    assert start.time == 0
    assert start.annotation_type == tk.AnnotationType.POINT
    assert packet.time_range == (2e-6, 5e-6)
    assert packet.annotation_type == tk.AnnotationType.RANGE


def test_get_annotations_filters_by_layer_and_time_range():
    s = tk.Session()
    s.annotate("Event 1", time=1e-6, layer="events")
    s.annotate("Event 2", time=2e-6, layer="events")
    s.annotate("Error", time=1.5e-6, layer="errors")
    s.annotate("Late", time=3e-6, layer="events")
    s.annotate("Burst", time_range=(2.5e-6, 4e-6), layer="errors")
    s.annotate("Early span", time_range=(0.1e-6, 1.2e-6), layer="errors")

    everything = s.get_annotations()
    assert isinstance(everything, list)
    assert all(isinstance(a, tk.Annotation) for a in everything)
    assert sorted(texts(everything)) == sorted(
        ["Event 1", "Event 2", "Error", "Late", "Burst", "Early span"]
    )
    assert texts(s.get_annotations(layer="events")) == ["Event 1", "Event 2", "Late"]
    # both ends of the window are in it; a range overlapping the window is in it
    window = s.get_annotations(time_range=(1e-6, 2e-6))
    assert sorted(texts(window)) == ["Early span", "Error", "Event 1", "Event 2"]
    assert texts(s.get_annotations(layer="events", time_range=(1e-6, 2e-6))) == ["Event 1", "Event 2"]
    assert texts(s.get_annotations(time_range=(3.5e-6, 10e-6))) == ["Burst"]
    assert s.get_annotations(time_range=(10.0, 20.0)) == []


def test_get_annotations_of_an_unknown_layer_is_empty():
    s = tk.Session()
    s.annotate("a", time=1.0, layer="x")
    assert s.get_annotations(layer="nope") == []


def test_annotation_layers_is_a_mapping_of_layers():
    s = tk.Session()
    s.annotate("Start bit", time=0, layer="uart")
    s.annotate("Parity error", time=8e-6, layer="errors")
    layers = s.annotation_layers
    assert set(layers.keys()) == {"uart", "errors"}
    assert "uart" in layers and "nope" not in layers
    assert len(layers) == 2
    for name, layer in layers.items():
        assert isinstance(layer, tk.AnnotationLayer)
        assert layer.name == name
        assert isinstance(layer.annotations, list)
    with pytest.raises(KeyError):
        layers["nope"]


def test_a_layer_put_into_annotation_layers_is_part_of_the_session():
    s = tk.Session()
    layer = tk.AnnotationLayer(name="custom", description="made by hand")
    layer.add(text="c1", time=1e-6)
    s.annotation_layers["custom"] = layer
    assert texts(s.get_annotations(layer="custom")) == ["c1"]
    assert s.annotation_layers["custom"].description == "made by hand"
    assert len(s.annotation_layers["custom"]) == 1
    layer.add(text="c2", time=2e-6)
    s.annotation_layers["copy"] = layer
    assert texts(s.annotation_layers["copy"].annotations) == ["c1", "c2"]


def test_layer_properties_survive_save_and_load():
    s = tk.Session()
    s.annotate("START", time=0, layer="protocol")
    s.annotate("hidden", time=1.0, layer="scratch")
    p = s.annotation_layers["protocol"]
    p.description = "UART protocol decode at 115200 baud"
    p.color = "#00FF00"
    p.locked = True
    s.annotation_layers["scratch"].visible = False
    s.save("layers.tks")
    back = tk.load_session("layers.tks")
    p2 = back.annotation_layers["protocol"]
    assert p2.description == "UART protocol decode at 115200 baud"
    assert p2.color == "#00FF00"
    assert p2.locked is True
    assert back.annotation_layers["scratch"].visible is False
    # still locked after loading: no changes
    try:
        back.annotate("late", time=2.0, layer="protocol")
    except Exception:
        pass
    assert texts(back.get_annotations(layer="protocol")) == ["START"]


# ---------------------------------------------------------------------------
# Annotation / AnnotationType / AnnotationLayer dataclasses
# ---------------------------------------------------------------------------


def test_annotation_documented_defaults_and_field_order():
    names = [f.name for f in dataclasses.fields(tk.Annotation)]
    documented = [
        "text", "time", "time_range", "amplitude", "amplitude_range", "annotation_type",
        "color", "style", "visible", "created_at", "metadata",
    ]
    assert names[: len(documented)] == documented
    a = tk.Annotation(text="note")
    assert a.time is None and a.time_range is None
    assert a.amplitude is None and a.amplitude_range is None
    assert a.style == "solid"
    assert a.visible is True
    assert isinstance(a.created_at, datetime)
    assert a.metadata == {}
    b = tk.Annotation("Trigger point", 1.5e-6)  # positional, in the documented order
    assert b.time == 1.5e-6
    assert b.annotation_type == tk.AnnotationType.POINT
    assert dataclasses.asdict(b)["text"] == "Trigger point"


def test_annotation_explicit_type_is_kept():
    a = tk.Annotation(text="Threshold", amplitude=3.3, annotation_type=tk.AnnotationType.HORIZONTAL)
    r = tk.Annotation(
        text="Operating range", time_range=(0, 1e-3), amplitude_range=(2.5, 3.5),
        annotation_type=tk.AnnotationType.REGION,
    )
    assert a.annotation_type is tk.AnnotationType.HORIZONTAL and a.amplitude == 3.3
    assert r.annotation_type is tk.AnnotationType.REGION
    assert r.amplitude_range == (2.5, 3.5)


def test_annotation_type_values_look_up_members():
    for member in tk.AnnotationType:
        assert tk.AnnotationType(member.value) is member
    assert {m.name for m in tk.AnnotationType} == {
        "POINT", "RANGE", "VERTICAL", "HORIZONTAL", "REGION", "TEXT",
    }


def test_annotation_layer_defaults_and_positional_order():
    layer = tk.AnnotationLayer("Protocol Events")
    assert layer.name == "Protocol Events"
    assert layer.annotations == []
    assert layer.visible is True
    assert layer.locked is False
    assert not layer.description
    ann = tk.Annotation(text="A", time=1.0)
    layer2 = tk.AnnotationLayer("L", [ann], True, False, "#123456", "desc")
    assert texts(layer2.annotations) == ["A"]
    assert (layer2.visible, layer2.locked, layer2.color, layer2.description) == (
        True, False, "#123456", "desc",
    )


def test_annotation_layer_find_at_time_uses_the_tolerance():
    events = tk.AnnotationLayer(name="ev")
    events.add(text="A", time=1e-6)
    events.add(text="B", time=1.05e-6)
    events.add(text="C", time=2e-6)
    assert texts(events.find_at_time(1e-6, tolerance=100e-9)) == ["A", "B"]
    assert texts(events.find_at_time(2e-6, tolerance=0)) == ["C"]
    assert events.find_at_time(5e-6, tolerance=100e-9) == []
    assert texts(events.find_in_range(0.9e-6, 1.06e-6)) == ["A", "B"]


def test_unlocked_layer_clear_empties_only_that_layer():
    s = tk.Session()
    s.annotate("a", time=1.0, layer="one")
    s.annotate("b", time=1.0, layer="two")
    s.annotation_layers["one"].clear()
    assert s.get_annotations(layer="one") == []
    assert texts(s.get_annotations(layer="two")) == ["b"]


# ---------------------------------------------------------------------------
# HistoryEntry / OperationHistory
# ---------------------------------------------------------------------------


def test_history_entry_documented_field_order_and_defaults():
    names = [f.name for f in dataclasses.fields(tk.HistoryEntry)]
    assert names[:8] == [
        "operation", "parameters", "result", "timestamp", "duration_ms", "success",
        "error_message", "metadata",
    ]
    e = tk.HistoryEntry("op", {"a": 1}, "done")
    assert (e.operation, e.parameters, e.result) == ("op", {"a": 1}, "done")
    assert e.success is True and e.error_message is None
    assert isinstance(e.timestamp, datetime)


def test_operation_history_entries_field_is_accepted():
    # "@dataclass class OperationHistory" with attributes entries,
    # max_entries, auto_record
    first = tk.HistoryEntry(operation="load_trace", parameters={"path": "a.wfm"}, duration_ms=1.0)
    history = tk.OperationHistory(entries=[first], max_entries=10, auto_record=False)
    assert [e.operation for e in history.entries] == ["load_trace"]
    assert history.entries[0].parameters == {"path": "a.wfm"}
    assert history.entries[0].timestamp == first.timestamp
    assert history.entries[0].duration_ms == 1.0
    assert (history.max_entries, history.auto_record) == (10, False)
    history.record("measure_frequency", parameters={"trace": "CH1"})
    assert [e.operation for e in history.entries] == ["load_trace", "measure_frequency"]
    positional = tk.OperationHistory([first], 10, False)  # the documented field order
    assert (len(positional.entries), positional.max_entries, positional.auto_record) == (1, 10, False)
    assert tk.OperationHistory().entries == []


def test_operation_history_summary_of_the_documented_example():
    history = tk.OperationHistory(max_entries=100)
    history.record("load_trace", parameters={"path": "capture.wfm"}, result="Loaded successfully", duration_ms=45.3)
    history.record("measure_frequency", parameters={"trace": "CH1"}, result="1000000.0 Hz", duration_ms=2.1)
    history.record(
        "apply_filter", parameters={"type": "lowpass", "cutoff": 1e6},
        success=False, error_message="Cutoff frequency too high",
    )
    stats = history.summary()
    assert stats["total_operations"] == 3
    assert stats["successful"] == 2
    assert stats["total_duration_ms"] == pytest.approx(47.4)
    assert f"{stats['total_duration_ms']:.1f}" == "47.4"
    assert [e.operation for e in history.find(success_only=True)] == ["load_trace", "measure_frequency"]
    assert history.find(operation="apply_filter")[0].error_message == "Cutoff frequency too high"
    assert history.find(operation="apply_filter", success_only=True) == []
    assert history.find(operation="never") == []
    failed = history.entries[2]
    assert failed.success is False and failed.parameters == {"type": "lowpass", "cutoff": 1e6}


def test_history_to_script_is_python_that_compiles():
    write_csv("signal.csv", sine(1000, cycles=10), 1e5)
    s = tk.Session()
    s.load_trace("signal.csv")
    tk.frequency(s.get_trace("signal"))
    script = s.history.to_script()
    assert isinstance(script, str)
    assert script.startswith("#!/usr/bin/env python3")
    assert "import tracekit as tk" in script
    assert 'tk.load_trace(path="signal.csv")' in script
    assert "tk.measure_frequency()" in script
    compile(script, "generated.py", "exec")


def test_history_survives_save_and_load_and_continues():
    write_csv("signal.csv", sine(1000, cycles=10), 1e5)
    s = tk.Session(name="H")
    s.load_trace("signal.csv")
    s.history.record("custom_step", parameters={"k": "v"}, duration_ms=1.25)
    s.save("h.tks")
    back = tk.load_session("h.tks")
    assert [e.operation for e in back.history.entries] == ["load_trace", "custom_step"]
    assert back.history.entries[1].duration_ms == 1.25
    assert back.history.entries[1].parameters == {"k": "v"}
    back.history.record("after_reload")
    back.save()
    assert [e.operation for e in tk.load_session("h.tks").history.entries] == [
        "load_trace", "custom_step", "after_reload",
    ]


# ---------------------------------------------------------------------------
# save / load_session
# ---------------------------------------------------------------------------


def test_save_returns_a_path_to_the_saved_file():
    s = tk.Session(name="Analysis")
    p1 = s.save("analysis.tks")
    assert isinstance(p1, Path)
    assert p1 == Path("analysis.tks") and p1.exists()
    p2 = s.save(Path("other.tks"))
    assert isinstance(p2, Path) and p2.exists()
    os.makedirs("out")
    p3 = s.save(os.path.join("out", "nested.tks"))
    assert isinstance(p3, Path) and p3.resolve() == Path("out/nested.tks").resolve()


def test_save_without_a_path_after_saving_uses_that_path():
    s = tk.Session(name="Analysis")
    first = s.save("analysis.tks")
    s.record_measurement("later", 1)
    second = s.save()
    assert Path(second).resolve() == Path(first).resolve()
    assert "later" in tk.load_session("analysis.tks").get_measurements()


def test_save_never_saved_session_without_path_makes_up_a_tks_file():
    s = tk.Session(name="Quick")
    p = s.save()
    assert isinstance(p, Path) and p.exists() and p.suffix == ".tks"
    assert tk.load_session(p).name == "Quick"


def test_saving_twice_to_the_same_path_loads_the_latest_state():
    s = tk.Session(name="v")
    s.record_measurement("a", 1)
    s.save("twice.tks")
    s.record_measurement("b", 2)
    s.save("twice.tks")
    m = tk.load_session("twice.tks").get_measurements()
    assert set(m) == {"a", "b"}


def test_compressed_and_uncompressed_files_load_the_same_session():
    s = tk.Session(name="C")
    s.add_trace("CH1", tk.WaveformTrace(data=np.zeros(100_000), sample_rate=1e6))
    a = s.save("analysis.tks")  # compress=True by default
    b = s.save("analysis_raw.tks", compress=False)
    assert os.path.getsize(a) < os.path.getsize(b)
    for path in (a, b):
        back = tk.load_session(path)
        assert back.list_traces() == ["CH1"]
        np.testing.assert_array_equal(np.asarray(back.get_trace("CH1").data), np.zeros(100_000))


def test_save_without_traces_is_smaller_and_keeps_the_rest():
    s = tk.Session(name="Meta")
    s.add_trace("CH1", tk.WaveformTrace(data=np.random.default_rng(1).normal(size=50_000), sample_rate=1e6))
    s.annotate("Start", time=0)
    s.record_measurement("m", 1.5, unit="V")
    full = s.save("analysis.tks")
    meta = s.save("analysis_meta.tks", include_traces=False)
    assert os.path.getsize(meta) < os.path.getsize(full)
    back = tk.load_session(meta)
    assert back.name == "Meta"
    assert texts(back.get_annotations()) == ["Start"]
    assert back.get_measurements()["m"]["value"] == 1.5


def test_load_session_returns_a_session():
    tk.Session(name="S").save("s.tks")
    for arg in ("s.tks", Path("s.tks"), os.path.abspath("s.tks")):
        back = tk.load_session(arg)
        assert isinstance(back, tk.Session)
        assert back.name == "S"


def test_load_session_of_a_missing_file_raises_file_not_found():
    with pytest.raises(FileNotFoundError):
        tk.load_session("debug_session.tks")


def test_everything_survives_save_and_load_with_unicode():
    s = tk.Session(name="Motor Controller ✓ Débogage 调试")
    s.metadata["project"] = "MC-2024"
    s.metadata["engineer"] = "Zoë"
    s.metadata["nested"] = {"rev": [1, 2, 3], "ok": True}
    data = np.sin(np.linspace(0, 2 * np.pi, 1000))
    s.add_trace("SYNTHETIC", tk.WaveformTrace(data=data, sample_rate=1e6))
    s.annotate("Überschwingen ⚠", time=0.05, layer="issues ✗", color="#FF0000", style="dotted")
    s.annotate("Phase", time_range=(0.1, 0.5), layer="phases")
    s.record_measurement("durée", 1.5e-3, unit="µs", trace_name="SYNTHETIC", note="ok ✓")
    path = s.save("motor_débogage.tks")
    back = tk.load_session(path)
    assert back.name == s.name
    assert back.created_at == s.created_at
    assert dict(back.metadata) == {
        "project": "MC-2024", "engineer": "Zoë", "nested": {"rev": [1, 2, 3], "ok": True},
    }
    assert back.list_traces() == ["SYNTHETIC"]
    t = back.get_trace("SYNTHETIC")
    assert t.sample_rate == 1e6
    np.testing.assert_array_equal(np.asarray(t.data), data)
    [issue] = back.get_annotations(layer="issues ✗")
    assert (issue.text, issue.time, issue.color, issue.style) == ("Überschwingen ⚠", 0.05, "#FF0000", "dotted")
    [phase] = back.get_annotations(layer="phases")
    assert phase.time_range == (0.1, 0.5)
    assert phase.annotation_type == tk.AnnotationType.RANGE
    m = back.get_measurements()["durée"]
    assert (m["value"], m["unit"], m["trace_name"], m["note"]) == (1.5e-3, "µs", "SYNTHETIC", "ok ✓")


def test_resume_and_continue_then_save_in_place():
    s = tk.Session(name="Resume")
    s.add_trace("PWM", tk.WaveformTrace(data=np.zeros(10), sample_rate=1.0))
    s.annotate("Motor start", time=0, layer="events")
    s.save("motor_debug.tks")

    back = tk.load_session("motor_debug.tks")
    back.record_measurement("rise_time", 1e-6, "s", trace_name="PWM")
    back.annotate("Second look", time=1.0, layer="events")
    back.metadata["reviewed"] = True
    saved = back.save()
    assert Path(saved).resolve() == Path("motor_debug.tks").resolve()

    again = tk.load_session("motor_debug.tks")
    assert texts(again.get_annotations(layer="events")) == ["Motor start", "Second look"]
    assert again.get_measurements()["rise_time"]["unit"] == "s"
    assert again.metadata["reviewed"] is True
    assert again.list_traces() == ["PWM"]
    assert again.modified_at >= again.created_at


def test_save_into_a_pre_created_empty_file():
    # a natural thing to do: tempfile.NamedTemporaryFile / mkstemp, then save there
    fd, name = tempfile.mkstemp(suffix=".tks", dir=".")
    os.close(fd)
    s = tk.Session(name="Temp")
    s.record_measurement("m", 1)
    path = s.save(name)
    assert tk.load_session(path).get_measurements()["m"]["value"] == 1


# ---------------------------------------------------------------------------
# AuditTrail / AuditEntry
# ---------------------------------------------------------------------------


def test_audit_entry_fields_have_the_documented_types_and_values():
    audit = tk.AuditTrail(secret_key=KEY)
    before = datetime.now(UTC)
    e1 = audit.record_action("load_trace", {"file": "data.wfm", "size_mb": 100})
    e2 = audit.record_action("export_results", {"format": "csv", "rows": 1000}, user="bob")
    after = datetime.now(UTC)
    assert isinstance(e1, tk.AuditEntry)
    # "timestamp: ISO 8601 timestamp (UTC) of the action"
    ts = datetime.fromisoformat(e1.timestamp.replace("Z", "+00:00"))
    assert ts.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= ts <= after + timedelta(seconds=1)
    assert e1.action == "load_trace"
    assert e1.details == {"file": "data.wfm", "size_mb": 100}
    # "user: Username (defaults to current user)"
    assert e1.user == getpass.getuser()
    assert e2.user == "bob"
    assert e1.host == socket.gethostname()
    # "previous_hash: HMAC of the previous entry"
    assert e1.previous_hash == "GENESIS"
    assert e2.previous_hash == e1.hmac
    assert isinstance(e1.hmac, str) and len(e1.hmac) == 64
    int(e1.hmac, 16)
    assert audit.get_entries() == [e1, e2]


def test_hmac_is_the_documented_hmac_of_the_canonical_form():
    audit = tk.AuditTrail(secret_key=KEY, hash_algorithm="sha512")
    e = audit.record_action("measure", {"z": 1, "a": "ü"}, user="u")
    canonical = (
        f"{e.timestamp}|{e.action}|{json.dumps(e.details, sort_keys=True)}"
        f"|{e.user}|{e.host}|{e.previous_hash}"
    )
    assert e.hmac == hmac_mod.new(KEY, canonical.encode("utf-8"), hashlib.sha512).hexdigest()
    assert len(e.hmac) == 128


def test_record_action_with_empty_unicode_and_large_details():
    audit = tk.AuditTrail(secret_key=KEY)
    big = {"blob": "x" * 1_000_000, "values": list(range(10_000))}
    audit.record_action("empty", {})
    audit.record_action("unicode ✓", {"opérateur": "Zoë", "note": "日本語 ✗", "emoji": "🔬"}, user="üser")
    audit.record_action("big", big)
    assert audit.verify_integrity() is True
    audit.export_audit_log("big.json")
    data = json.loads(Path("big.json").read_text(encoding="utf-8"))
    entries = data["entries"]
    assert [e["action"] for e in entries] == ["empty", "unicode ✓", "big"]
    assert entries[1]["details"] == {"opérateur": "Zoë", "note": "日本語 ✗", "emoji": "🔬"}
    assert entries[1]["user"] == "üser"
    assert entries[2]["details"] == big


def test_verify_integrity_returns_a_bool_and_can_be_called_repeatedly():
    audit = tk.AuditTrail(secret_key=KEY)
    assert audit.verify_integrity() is True
    audit.record_action("action1", {"value": 100})
    assert audit.verify_integrity() is True
    assert audit.verify_integrity() is True
    audit.export_audit_log("a.json")
    assert audit.verify_integrity() is True
    audit._entries[0].details["value"] = 999
    assert audit.verify_integrity() is False
    assert audit.verify_integrity() is False


def test_a_trail_with_another_key_does_not_accept_the_entries():
    a = tk.AuditTrail(secret_key=KEY)
    a.record_action("x", {"v": 1})
    b = tk.AuditTrail(secret_key=b"another-secret-key-9876543210")
    b._entries = list(a._entries)
    assert b.verify_integrity() is False


def test_get_entries_filters_by_time_and_action_type():
    audit = tk.AuditTrail(secret_key=KEY)
    audit.record_action("load", {"file": "a.wfm"})
    time_mod.sleep(0.01)
    mid = datetime.now(UTC)
    time_mod.sleep(0.01)
    audit.record_action("analyze", {"type": "fft"})
    audit.record_action("load", {"file": "b.wfm"})
    entries = audit.get_entries()
    assert isinstance(entries, list) and len(entries) == 3
    assert [e.details["file"] for e in audit.get_entries(action_type="load")] == ["a.wfm", "b.wfm"]
    assert [e.action for e in audit.get_entries(since=mid)] == ["analyze", "load"]
    assert [e.details for e in audit.get_entries(since=mid, action_type="load")] == [{"file": "b.wfm"}]
    assert audit.get_entries(since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert len(audit.get_entries(since=datetime.now(UTC) - timedelta(hours=1))) == 3
    assert audit.get_entries(action_type="export") == []


def test_get_entries_since_a_naive_utc_datetime():
    # "since: Return only entries after this datetime (UTC)"
    audit = tk.AuditTrail(secret_key=KEY)
    audit.record_action("a", {})
    naive_utc_past = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=5)
    naive_utc_future = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=5)
    assert len(audit.get_entries(since=naive_utc_past)) == 1
    assert audit.get_entries(since=naive_utc_future) == []


def test_export_into_pre_created_empty_files_and_relative_subdirectories():
    audit = tk.AuditTrail(secret_key=KEY)
    audit.record_action("test1", {"value": 1})
    audit.record_action("test2", {"value": 2})
    for fmt, suffix in (("json", ".json"), ("csv", ".csv")):
        with tempfile.NamedTemporaryFile(suffix=suffix, dir=".", delete=False) as f:
            name = f.name
        assert audit.export_audit_log(name, format=fmt) is None
        assert os.path.getsize(name) > 0
    audit.export_audit_log("exports/2026/audit.json")
    assert json.loads(Path("exports/2026/audit.json").read_text())["entries"][1]["details"] == {"value": 2}


def test_csv_export_round_trips_commas_quotes_newlines_and_unicode():
    audit = tk.AuditTrail(secret_key=KEY)
    tricky = 'a,b\n"quoted" ü ✓'
    audit.record_action("c", {"text": tricky, "n": 1}, user="zoë")
    audit.record_action("d", {"other": True})
    audit.export_audit_log("audit.csv", format="csv")
    with open("audit.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    assert rows[0]["action"] == "c" and rows[0]["user"] == "zoë"
    assert json.loads(rows[0]["detail_text"]) == tricky
    assert json.loads(rows[0]["detail_n"]) == 1
    assert rows[0]["detail_other"] == ""
    assert json.loads(rows[1]["detail_other"]) is True
    assert rows[1]["previous_hash"] == rows[0]["hmac"]


def test_exported_json_entries_rebuild_entries_that_verify():
    audit = tk.AuditTrail(secret_key=KEY)
    for i in range(5):
        audit.record_action(f"step{i}", {"i": i})
    audit.export_audit_log("audit.json", format="json")
    data = json.loads(Path("audit.json").read_text())
    assert data["hash_algorithm"] == "sha256"
    restored = tk.AuditTrail(secret_key=KEY)
    restored._entries = [tk.AuditEntry.from_dict(d) for d in data["entries"]]
    assert restored.verify_integrity() is True
    assert restored.get_entries() == audit.get_entries()


def test_audit_trail_positional_arguments():
    audit = tk.AuditTrail(KEY, "sha512")
    e = audit.record_action("act", {"k": 1}, "carol")
    assert e.user == "carol" and len(e.hmac) == 128
    audit.export_audit_log("p.csv", "csv")
    assert Path("p.csv").read_text().startswith("timestamp,action,user,host,previous_hash,hmac")


def test_unsupported_hash_algorithm_and_export_format_raise_value_error():
    with pytest.raises(ValueError):
        tk.AuditTrail(secret_key=KEY, hash_algorithm="md5")
    audit = tk.AuditTrail(secret_key=KEY)
    with pytest.raises(ValueError):
        audit.export_audit_log("audit.xml", format="xml")


# ---------------------------------------------------------------------------
# Global audit trail
# ---------------------------------------------------------------------------


def test_global_trail_keyword_key_and_record_audit_positional_user():
    audit = tk.get_global_audit_trail(secret_key=KEY)
    assert isinstance(audit, tk.AuditTrail)
    e = tk.record_audit("start_analysis", {"project": "power_supply"}, "alice")
    assert isinstance(e, tk.AuditEntry)
    assert e.user == "alice"
    assert tk.get_global_audit_trail() is audit
    assert tk.get_global_audit_trail(secret_key=b"ignored-after-first-call!!") is audit
    assert audit.get_entries()[-1] is e or audit.get_entries()[-1] == e
    canonical = (
        f"{e.timestamp}|{e.action}|{json.dumps(e.details, sort_keys=True)}"
        f"|{e.user}|{e.host}|{e.previous_hash}"
    )
    # "secret_key: Secret key (only used on first call)"
    assert e.hmac == hmac_mod.new(KEY, canonical.encode(), hashlib.sha256).hexdigest()
    assert audit.verify_integrity() is True


# ---------------------------------------------------------------------------
# AuditTrail kept in an evident log (README: "AuditTrail(..., path=...)")
# ---------------------------------------------------------------------------


def test_trail_in_a_log_reopens_and_continues_with_relative_unicode_paths():
    os.makedirs("logs")
    with tk.AuditTrail(secret_key=KEY, path="logs/piste ✓.jsonl") as audit:
        first = audit.record_action("one", {"v": 1, "s": "ü"}, user="alice")
        audit.record_action("two", {"big": "y" * 200_000})
        assert audit.verify_integrity() is True
    again = tk.AuditTrail(secret_key=KEY, path=Path("logs") / "piste ✓.jsonl")
    entries = again.get_entries()
    assert [e.action for e in entries] == ["one", "two"]
    assert entries[0].hmac == first.hmac and entries[0].user == "alice"
    third = again.record_action("three", {})
    assert third.previous_hash == entries[1].hmac
    assert again.verify_integrity() is True
    again.close()
    again.close()  # closing twice is fine
    assert [e.action for e in tk.AuditTrail(secret_key=KEY, path="logs/piste ✓.jsonl").get_entries()] == [
        "one", "two", "three",
    ]


def test_trail_in_a_pre_created_empty_log_file():
    fd, name = tempfile.mkstemp(suffix=".jsonl", dir=".")
    os.close(fd)
    audit = tk.AuditTrail(secret_key=KEY, path=name)
    audit.record_action("a", {})
    assert audit.verify_integrity() is True


# ---------------------------------------------------------------------------
# One trail shared by threads (the global trail is a process-wide singleton)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [None, "threads.jsonl"])
def test_a_trail_recorded_from_several_threads_stays_intact(path):
    import threading

    audit = tk.AuditTrail(secret_key=KEY, path=path)

    def work(i: int) -> None:
        for j in range(100):
            audit.record_action("act", {"thread": i, "j": j})

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = audit.get_entries()
    assert len(entries) == 800
    assert entries[0].previous_hash == "GENESIS"
    assert all(b.previous_hash == a.hmac for a, b in zip(entries, entries[1:]))
    # nobody tampered with it
    assert audit.verify_integrity() is True
    if path is not None:
        audit.close()
        again = tk.AuditTrail(secret_key=KEY, path=path)
        assert [e.hmac for e in again.get_entries()] == [e.hmac for e in entries]
        assert again.verify_integrity() is True


def test_the_global_trail_is_one_trail_when_first_asked_for_by_several_threads():
    import threading

    barrier = threading.Barrier(8)
    got = []

    def work() -> None:
        barrier.wait()
        got.append(tk.get_global_audit_trail())
        tk.record_audit("started", {})

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(g is got[0] for g in got)
    audit = tk.get_global_audit_trail()
    assert len(audit.get_entries()) == 8
    assert audit.verify_integrity() is True


# ---------------------------------------------------------------------------
# More save / load behaviour a user relies on
# ---------------------------------------------------------------------------


def test_save_as_another_path_then_save_goes_to_the_new_path():
    s = tk.Session(name="A")
    s.save("first.tks")
    back = tk.load_session("first.tks")
    assert back.save("second.tks") == Path("second.tks")
    back.record_measurement("m", 1)
    assert Path(back.save()).resolve() == Path("second.tks").resolve()
    assert "m" in tk.load_session("second.tks").get_measurements()
    assert tk.load_session("first.tks").get_measurements() == {}


def test_the_file_holds_what_was_saved_last():
    s = tk.Session(name="A")
    s.add_trace("CH1", tk.WaveformTrace(data=np.arange(10.0), sample_rate=1.0))
    s.save("x.tks", include_traces=False)
    s.save("x.tks")
    assert tk.load_session("x.tks").list_traces() == ["CH1"]
    s.save("y.tks")
    s.save("y.tks", include_traces=False)
    assert tk.load_session("y.tks").list_traces() == []
    s.record_measurement("unsaved", 1)
    assert tk.load_session("y.tks").get_measurements() == {}
    s.name = "Renamed"
    s.save("y.tks")
    assert tk.load_session("y.tks").name == "Renamed"


def test_annotation_and_history_timestamps_survive_save_and_load():
    s = tk.Session()
    s.annotate("a", time=1.0, layer="L")
    s.history.record("op", parameters={"p": 1}, duration_ms=3.5)
    s.save("t.tks")
    back = tk.load_session("t.tks")
    [a0], [a1] = s.get_annotations(layer="L"), back.get_annotations(layer="L")
    assert isinstance(a1.created_at, datetime)
    assert a1.created_at == a0.created_at
    [h0], [h1] = s.history.entries, back.history.entries
    assert h1.timestamp == h0.timestamp
    assert (h1.operation, h1.parameters, h1.duration_ms) == ("op", {"p": 1}, 3.5)


def test_paths_that_are_directories_raise_os_errors():
    os.makedirs("adir")
    with pytest.raises(OSError):
        tk.load_session("adir")
    with pytest.raises(OSError):
        tk.Session().save("adir")
    audit = tk.AuditTrail(secret_key=KEY)
    audit.record_action("a", {})
    with pytest.raises(OSError):
        audit.export_audit_log("adir")


def test_history_script_of_awkward_file_names_and_values_is_valid_python():
    import ast

    names = ['we"ird\\name.csv', "ü ✓.csv", "it's.csv", "tab\there.csv"]
    s = tk.Session()
    for n in names:
        write_csv(n, sine(50), 1e3)
        s.load_trace(n)
    s.history.record("note", parameters={"text": "a\nb\"c'\\", "none": None, "l": [1, {"a": True}]})
    script = s.history.to_script()
    calls = [
        node.value
        for node in ast.parse(script).body
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
    ]
    got = [{k.arg: ast.literal_eval(k.value) for k in c.keywords} for c in calls]
    assert got == [{"path": n} for n in names] + [
        {"text": "a\nb\"c'\\", "none": None, "l": [1, {"a": True}]}
    ]


# ---------------------------------------------------------------------------
# annotate's "Additional annotation parameters" are the Annotation's fields
# ---------------------------------------------------------------------------


def test_annotate_takes_the_annotation_fields_as_keyword_arguments():
    s = tk.Session()
    s.annotate(
        "Threshold", amplitude=3.3, annotation_type=tk.AnnotationType.HORIZONTAL,
        layer="ref", visible=False,
    )
    s.annotate("Operating range", time_range=(0, 1e-3), amplitude_range=(2.5, 3.5), layer="ref")
    s.annotate("Tagged", time=1e-6, layer="ref", metadata={"source": "decoder", "channel": 2})
    s.save("fields.tks")
    for session in (s, tk.load_session("fields.tks")):
        th, rng, tagged = session.get_annotations(layer="ref")
        assert (th.amplitude, th.annotation_type, th.visible) == (3.3, tk.AnnotationType.HORIZONTAL, False)
        assert rng.amplitude_range == (2.5, 3.5)
        assert rng.annotation_type == tk.AnnotationType.REGION
        # metadata= is the Annotation's "metadata: Additional metadata"
        assert tagged.metadata == {"source": "decoder", "channel": 2}


def test_annotations_and_history_entries_made_with_naive_datetimes():
    # TraceKit's created_at / timestamp are plain datetime.now() values
    made = datetime(2026, 1, 8, 10, 30, 0)
    s = tk.Session()
    layer_ann = tk.Annotation(text="restored", time=1.0, created_at=made)
    s.annotate("now", time=2.0, created_at=made)
    s.annotate("placeholder", time=0.0, layer="L")
    s.annotation_layers["L"].add(layer_ann)
    standalone = tk.AnnotationLayer(name="S", annotations=[tk.Annotation(text="s", time=0.5, created_at=made)])
    history = tk.OperationHistory(entries=[tk.HistoryEntry(operation="load_trace", timestamp=made)])
    expected = made.astimezone()  # a naive datetime is local time, as datetime.now() gives it
    assert s.get_annotations(layer="default")[0].created_at == expected
    assert s.get_annotations(layer="L")[1].created_at == expected
    assert standalone.annotations[0].created_at == expected
    assert history.entries[0].timestamp == expected
    s.save("naive.tks")
    assert tk.load_session("naive.tks").get_annotations(layer="L")[1].created_at == expected


def test_annotating_thousands_of_points_takes_linear_time():
    # a protocol decode annotates every bit; the evident session does 3,000
    # in well under a second (17 s before this was linear), so 8 s leaves room for a
    # loaded machine
    s = tk.Session()
    s.annotate("x" * 1_000_000, time=0.0, layer="notes")
    s.annotate("first", time=0.0, layer="uart")
    s.annotation_layers["uart"].color = "#0000FF"
    started = time_mod.perf_counter()
    for i in range(1500):
        s.annotate(f"bit {i}", time=i * 1e-6, layer="uart")
        s.annotation_layers["uart"].add(text=f"edge {i}", time=i * 1e-6 + 5e-7)
    elapsed = time_mod.perf_counter() - started
    assert len(s.annotation_layers["uart"]) == 3001
    assert elapsed < 8.0, f"{elapsed:.1f} s for 3,000 annotations"
    assert {a.color for a in s.get_annotations(layer="uart")[1:]} == {"#0000FF"}


def test_get_entries_since_a_datetime_in_another_time_zone():
    audit = tk.AuditTrail(secret_key=KEY)
    audit.record_action("early", {})
    time_mod.sleep(0.01)
    mid = datetime.now(UTC)
    time_mod.sleep(0.01)
    audit.record_action("late", {})
    plus_two = timezone(timedelta(hours=2))
    minus_five = timezone(timedelta(hours=-5))
    assert [e.action for e in audit.get_entries(since=mid.astimezone(plus_two))] == ["late"]
    assert [e.action for e in audit.get_entries(since=mid.astimezone(minus_five))] == ["late"]
