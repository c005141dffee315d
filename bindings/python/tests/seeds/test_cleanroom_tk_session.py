"""Clean-room acceptance tests: seed 000 (TraceKit "Session Management & Audit
Trail API"), everything except its AuditTrail reference section.

Each test transcribes one documented example (or one documented behaviour of
the API reference) with only the import line changed
(``import tracekit as tk`` -> ``import evident.compat.tracekit as tk``) and
asserts what the document says it does.  The input files the document takes
for granted (Tektronix .wfm captures, sigrok .sr captures, CSV captures) are
created here.  Each test runs in its own directory (see conftest.py).
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import evident.compat.tracekit as tk

# ---------------------------------------------------------------------------
# Input files the document takes for granted
# ---------------------------------------------------------------------------


def write_wfm(path: str | Path, data: np.ndarray, sample_rate: float) -> Path:
    """A Tektronix .wfm capture (written with tm_data_types)."""
    import tm_data_types

    wf = tm_data_types.AnalogWaveform()
    wf.y_axis_values = np.asarray(data, dtype=np.float64)
    wf.x_axis_spacing = 1.0 / sample_rate
    wf.source_name = "CH1"
    tm_data_types.write_file(str(path), wf)
    return Path(path)


def write_sr(path: str | Path, bits: np.ndarray, sample_rate_hz: int = 1_000_000) -> Path:
    """A sigrok session (.sr) capture with one logic probe."""
    assert sample_rate_hz % 1_000_000 == 0
    metadata = (
        "[global]\n"
        "sigrok version=0.5.2\n"
        "\n"
        "[device 1]\n"
        "capturefile=logic-1\n"
        "total probes=1\n"
        f"samplerate={sample_rate_hz // 1_000_000} MHz\n"
        "total analog=0\n"
        "probe1=D0\n"
        "unitsize=1\n"
    )
    raw = np.asarray(bits, dtype=np.uint8).tobytes()
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("version", "2")
        z.writestr("metadata", metadata)
        z.writestr("logic-1-1", raw)
    return Path(path)


def write_csv(path: str | Path, data: np.ndarray, sample_rate: float) -> Path:
    """A CSV capture: a time column and a voltage column, with a header."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time", "voltage"])
        for i, v in enumerate(data):
            w.writerow([repr(i / sample_rate), repr(float(v))])
    return Path(path)


def sine(freq: float, sample_rate: float, n: int, amp: float = 1.0, offset: float = 0.0):
    t = np.arange(n) / sample_rate
    return offset + amp * np.sin(2 * np.pi * freq * t)


def trapezoid(
    freq: float,
    sample_rate: float,
    n: int,
    *,
    duty: float = 0.5,
    edge_s: float,
    low: float = 0.0,
    high: float = 1.0,
):
    """A pulse train with linear edges of `edge_s` seconds (0-100 %), so that
    its 10-90 % rise time is 0.8 * edge_s."""
    t = np.arange(n) / sample_rate
    period = 1.0 / freq
    ph = np.mod(t, period)
    on = duty * period
    y = np.empty(n)
    # rising edge [0, edge), high [edge, on), falling [on, on+edge), low after
    rising = ph < edge_s
    high_part = (ph >= edge_s) & (ph < on)
    falling = (ph >= on) & (ph < on + edge_s)
    low_part = ph >= on + edge_s
    y[rising] = ph[rising] / edge_s
    y[high_part] = 1.0
    y[falling] = 1.0 - (ph[falling] - on) / edge_s
    y[low_part] = 0.0
    return low + (high - low) * y


def bits_square(n: int, period: int) -> np.ndarray:
    return ((np.arange(n) % period) < period // 2).astype(np.uint8)


def same_trace(a, b) -> None:
    """Same samples and sample rate (evident hands out a new trace object
    on each get_trace; identity is not asserted)."""
    assert type(a) is type(b)
    assert a.sample_rate == b.sample_rate
    np.testing.assert_array_equal(np.asarray(a.data), np.asarray(b.data))


def texts(annotations) -> list[str]:
    return [a.text for a in annotations]


def contains_value(obj, wanted) -> bool:
    """True if `wanted` occurs anywhere in a nested dict/list structure."""
    if obj == wanted:
        return True
    if isinstance(obj, dict):
        return any(contains_value(v, wanted) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(contains_value(v, wanted) for v in obj)
    return False


# ---------------------------------------------------------------------------
# Quick Start (lines 13-32)
# ---------------------------------------------------------------------------


def test_quick_start(capsys):
    write_wfm("capture.wfm", sine(1e6, 100e6, 10000), 100e6)

    session = tk.Session(name="Power Supply Analysis")
    trace = session.load_trace("capture.wfm")
    session.annotate("Voltage spike", time=1.5e-6)
    session.record_measurement("rise_time", 2.3e-9, unit="s")
    session.save("analysis.tks")

    assert trace is not None
    assert Path("analysis.tks").is_file()

    session = tk.load_session("analysis.tks")
    print(session.summary())

    assert session.name == "Power Supply Analysis"
    m = session.get_measurements()
    assert m["rise_time"]["value"] == pytest.approx(2.3e-9)
    assert m["rise_time"]["unit"] == "s"
    anns = session.get_annotations()
    assert texts(anns) == ["Voltage spike"]
    assert anns[0].time == pytest.approx(1.5e-6)
    out = capsys.readouterr().out
    assert "Power Supply Analysis" in out

    audit = tk.AuditTrail(secret_key=b"your-secret-key")
    audit.record_action("load_trace", {"file": "data.wfm"})
    assert audit.verify_integrity()
    audit.export_audit_log("audit.json", format="json")
    doc = json.loads(Path("audit.json").read_text())
    assert [e["action"] for e in doc["entries"]] == ["load_trace"]
    assert doc["entries"][0]["details"] == {"file": "data.wfm"}


# ---------------------------------------------------------------------------
# Session class (lines 38-58)
# ---------------------------------------------------------------------------


def test_session_dataclass_attributes():
    session = tk.Session(name="Attrs")
    assert session.name == "Attrs"
    assert isinstance(session.traces, dict) and session.traces == {}
    assert len(session.annotation_layers) == 0
    assert len(session.measurements) == 0
    assert isinstance(session.history, tk.OperationHistory)
    assert isinstance(session.metadata, dict) and session.metadata == {}
    assert session.created_at is not None
    assert session.modified_at is not None


def test_session_without_name():
    # "session = tk.Session()" is used throughout the document
    session = tk.Session()
    assert isinstance(session.name, str)
    assert session.list_traces() == []


def test_session_traces_dict_maps_name_to_trace():
    write_wfm("oscilloscope.wfm", sine(1e6, 100e6, 2000), 100e6)
    session = tk.Session()
    t = session.load_trace("oscilloscope.wfm", name="CH1")
    assert list(session.traces) == ["CH1"]
    same_trace(session.traces["CH1"], t)


# ---------------------------------------------------------------------------
# Example - Basic Session Usage (lines 60-82)
# ---------------------------------------------------------------------------


def test_basic_session_usage(capsys):
    osc = sine(1e6, 100e6, 5000)
    write_wfm("oscilloscope.wfm", osc, 100e6)
    bits = bits_square(4000, 100)
    write_sr("logic_analyzer.sr", bits, 1_000_000)

    session = tk.Session(name="Debug Session")
    trace1 = session.load_trace("oscilloscope.wfm", name="CH1")
    trace2 = session.load_trace("logic_analyzer.sr", name="DIGITAL")

    print(session.list_traces())  # ['CH1', 'DIGITAL']
    assert capsys.readouterr().out.strip() == "['CH1', 'DIGITAL']"

    trace = session.get_trace("CH1")
    same_trace(trace, trace1)
    same_trace(session.get_trace("DIGITAL"), trace2)

    # The loaded traces carry what the files hold
    assert isinstance(trace1, tk.WaveformTrace)
    assert trace1.sample_rate == pytest.approx(100e6)
    np.testing.assert_allclose(np.asarray(trace1.data), osc, atol=1e-3)
    assert isinstance(trace2, tk.DigitalTrace)
    assert trace2.sample_rate == pytest.approx(1e6)
    np.testing.assert_array_equal(np.asarray(trace2.data).astype(bool), bits.astype(bool))

    data = np.sin(np.linspace(0, 2 * np.pi, 1000))
    my_trace = tk.WaveformTrace(data=data, sample_rate=1e6)
    session.add_trace("SYNTHETIC", my_trace)
    assert session.list_traces() == ["CH1", "DIGITAL", "SYNTHETIC"]
    same_trace(session.get_trace("SYNTHETIC"), my_trace)


# ---------------------------------------------------------------------------
# Example - Complete Analysis Workflow (lines 84-127)
# ---------------------------------------------------------------------------


def test_complete_analysis_workflow(capsys):
    # 5 V rail with 40 mV peak-to-peak ripple at 100 kHz
    write_wfm("power_supply.wfm", sine(100e3, 10e6, 20000, amp=0.02, offset=5.0), 10e6)

    session = tk.Session(name="Power Rail Analysis")
    trace = session.load_trace("power_supply.wfm", name="5V_RAIL")

    freq = tk.frequency(trace)
    session.record_measurement("frequency", freq, unit="Hz", trace_name="5V_RAIL")
    assert float(freq) == pytest.approx(100e3, rel=0.02)

    ripple = tk.amplitude(trace)
    session.record_measurement(
        "ripple_vpp", ripple, unit="V", trace_name="5V_RAIL", acceptable=ripple < 0.1
    )
    # the measurement is named ripple_vpp: peak-to-peak of a 0.02 V sine
    assert 0.036 <= float(ripple) <= 0.041

    session.annotate("Transient response", time_range=(1e-3, 2e-3), layer="analysis")
    session.annotate("Maximum ripple", time=1.5e-3, layer="measurements")

    saved = session.save("power_analysis.tks", compress=True)
    assert saved.is_file()

    print(session.summary())
    assert "Power Rail Analysis" in capsys.readouterr().out

    m = session.get_measurements()
    assert set(m) == {"frequency", "ripple_vpp"}
    assert m["frequency"]["unit"] == "Hz"
    assert m["ripple_vpp"]["unit"] == "V"
    assert contains_value(m["ripple_vpp"], "5V_RAIL")
    assert contains_value(m["ripple_vpp"], True)  # acceptable=True
    assert set(session.annotation_layers) >= {"analysis", "measurements"}

    # and everything survives the save
    back = tk.load_session("power_analysis.tks")
    mb = back.get_measurements()
    assert mb["frequency"]["value"] == pytest.approx(float(freq))
    assert mb["ripple_vpp"]["value"] == pytest.approx(float(ripple))
    assert texts(back.get_annotations(layer="analysis")) == ["Transient response"]
    assert tuple(back.get_annotations(layer="analysis")[0].time_range) == pytest.approx(
        (1e-3, 2e-3)
    )


# ---------------------------------------------------------------------------
# load_trace() (lines 131-163)
# ---------------------------------------------------------------------------


def test_load_trace_default_name_and_custom_name_and_loader_options():
    cap = sine(1e6, 100e6, 3000)
    write_wfm("capture.wfm", cap, 100e6)
    csv_data = sine(1e3, 100e3, 500)
    write_csv("data.csv", csv_data, 100e3)
    big = sine(2e6, 100e6, 4000)
    write_wfm("large_file.wfm", big, 100e6)

    session = tk.Session()

    trace1 = session.load_trace("capture.wfm")
    trace2 = session.load_trace("data.csv", name="SENSOR_DATA")
    trace3 = session.load_trace("large_file.wfm", lazy=True)

    names = session.list_traces()
    assert "SENSOR_DATA" in names
    assert len(names) == 3
    # default name: from the file name (the to_script example loads
    # "signal.wfm" and fetches it as get_trace("signal"))
    same_trace(session.get_trace("capture"), trace1)
    same_trace(session.get_trace("SENSOR_DATA"), trace2)
    same_trace(session.get_trace("large_file"), trace3)

    np.testing.assert_allclose(np.asarray(trace2.data), csv_data, atol=1e-9)
    assert trace2.sample_rate == pytest.approx(100e3, rel=1e-6)
    np.testing.assert_allclose(np.asarray(trace3.data), big, atol=1e-3)
    assert trace3.sample_rate == pytest.approx(100e6)


def test_load_trace_returns_trace_and_records_history():
    write_wfm("capture.wfm", sine(1e6, 100e6, 1000), 100e6)
    session = tk.Session()
    session.load_trace("capture.wfm")
    ops = [e.operation for e in session.history.entries]
    assert ops == ["load_trace"]
    e = session.history.entries[0]
    assert e.parameters.get("path") == "capture.wfm"
    assert e.success is True


# ---------------------------------------------------------------------------
# add_trace() (lines 165-195)
# ---------------------------------------------------------------------------


def test_add_trace_example():
    session = tk.Session()
    t = np.linspace(0, 1e-3, 10000)
    data = 3.3 * np.sin(2 * np.pi * 1000 * t)
    trace = tk.WaveformTrace(data=data, sample_rate=10e6)

    session.add_trace("SINE_1KHZ", trace)

    assert session.list_traces() == ["SINE_1KHZ"]
    got = session.get_trace("SINE_1KHZ")
    assert isinstance(got, tk.WaveformTrace)
    assert got.sample_rate == 10e6
    np.testing.assert_array_equal(np.asarray(got.data), data)


def test_add_digital_trace():
    session = tk.Session()
    bits = bits_square(100, 10).astype(bool)
    dt = tk.DigitalTrace(data=bits, sample_rate=1e6)
    session.add_trace("D0", dt)
    got = session.get_trace("D0")
    assert isinstance(got, tk.DigitalTrace)
    same_trace(got, dt)


# ---------------------------------------------------------------------------
# annotate() (lines 197-240)
# ---------------------------------------------------------------------------


def test_annotate_example():
    write_wfm("debug.wfm", sine(1e6, 100e6, 2000), 100e6)
    session = tk.Session()
    session.load_trace("debug.wfm")

    session.annotate("Glitch detected", time=1.5e-6)
    session.annotate("Data packet", time_range=(2e-6, 5e-6), layer="protocol")
    session.annotate("Critical error", time=10e-6, layer="errors", color="#FF0000", style="dashed")

    # layer default is "default"
    assert set(session.annotation_layers) == {"default", "protocol", "errors"}
    (glitch,) = session.get_annotations(layer="default")
    assert glitch.text == "Glitch detected"
    assert glitch.time == pytest.approx(1.5e-6)
    assert glitch.time_range is None

    (packet,) = session.get_annotations(layer="protocol")
    assert packet.text == "Data packet"
    assert tuple(packet.time_range) == pytest.approx((2e-6, 5e-6))

    (crit,) = session.get_annotations(layer="errors")
    assert crit.text == "Critical error"
    assert crit.time == pytest.approx(10e-6)
    assert crit.color == "#FF0000"
    assert crit.style == "dashed"

    # annotate() is documented "-> None"; evident returns the Annotation
    # (a superset, see the report's doubtful points): not asserted.


def test_annotate_time_is_keyword_only():
    session = tk.Session()
    with pytest.raises(TypeError):
        session.annotate("Glitch", 1.5e-6)  # type: ignore[misc]


# ---------------------------------------------------------------------------
# record_measurement() (lines 242-292)
# ---------------------------------------------------------------------------


def test_record_measurement_example(capsys):
    # 1 MHz pulse train, 20 ns linear edges -> 10-90 % rise time 16 ns
    write_wfm("signal.wfm", trapezoid(1e6, 1e9, 10000, edge_s=20e-9), 1e9)

    session = tk.Session()
    trace = session.load_trace("signal.wfm", name="CH1")

    rise = tk.rise_time(trace)
    session.record_measurement(
        "rise_time", rise, unit="s", trace_name="CH1", standard="IEEE 181-2011"
    )

    freq = tk.frequency(trace)
    session.record_measurement("frequency", freq, unit="Hz", trace_name="CH1", confidence=0.95)

    assert float(rise) == pytest.approx(16e-9, rel=0.1)
    assert float(freq) == pytest.approx(1e6, rel=0.01)

    measurements = session.get_measurements()
    print(measurements)
    assert capsys.readouterr().out.strip() != ""

    assert set(measurements) == {"rise_time", "frequency"}
    assert measurements["rise_time"]["value"] == pytest.approx(float(rise))
    assert measurements["rise_time"]["unit"] == "s"
    assert measurements["frequency"]["value"] == pytest.approx(float(freq))
    assert measurements["frequency"]["unit"] == "Hz"
    # trace_name and the extra metadata are kept with the measurement
    assert contains_value(measurements["rise_time"], "CH1")
    assert contains_value(measurements["rise_time"], "IEEE 181-2011")
    assert contains_value(measurements["frequency"], 0.95)


def test_record_measurement_defaults_and_positional_unit():
    session = tk.Session()
    session.record_measurement("count", 3)
    session.record_measurement("frequency", 1000.0, "Hz")  # Example 2 style
    m = session.get_measurements()
    assert m["count"]["value"] == 3
    assert m["count"]["unit"] == ""  # unit default ""
    assert m["frequency"]["unit"] == "Hz"


# ---------------------------------------------------------------------------
# save() (lines 294-327)
# ---------------------------------------------------------------------------


def test_save_example():
    write_wfm("capture.wfm", sine(1e6, 100e6, 20000), 100e6)
    session = tk.Session(name="Analysis")
    session.load_trace("capture.wfm")
    session.annotate("Start", time=0)

    p1 = session.save("analysis.tks")
    p2 = session.save("analysis_meta.tks", include_traces=False)
    p3 = session.save("analysis_raw.tks", compress=False)

    for p, name in ((p1, "analysis.tks"), (p2, "analysis_meta.tks"), (p3, "analysis_raw.tks")):
        assert isinstance(p, Path)
        assert p.is_file()
        assert p.name == name

    # compress defaults to True. The document says gzip; evident's session
    # file is its own (versioned, hash-chained) format, compressed with zstd
    # (a deliberate difference, see the report): the default save is
    # compressed, compress=False is not.
    assert p1.stat().st_size < p3.stat().st_size
    # without trace data the file is smaller
    assert p2.stat().st_size < p1.stat().st_size

    for p in (p1, p2, p3):
        s = tk.load_session(p)
        assert s.name == "Analysis"
        assert texts(s.get_annotations()) == ["Start"]

    full = tk.load_session("analysis.tks")
    raw = tk.load_session("analysis_raw.tks")
    for s in (full, raw):
        assert s.list_traces() == ["capture"]
        np.testing.assert_allclose(
            np.asarray(s.get_trace("capture").data), sine(1e6, 100e6, 20000), atol=1e-3
        )


def test_save_without_path_uses_existing_path():
    session = tk.Session(name="Reuse")
    first = session.save("reuse.tks")
    session.record_measurement("x", 1.0)
    second = session.save()
    assert Path(second).resolve() == Path(first).resolve()
    assert "x" in tk.load_session("reuse.tks").get_measurements()


def test_save_without_path_generates_one():
    # Best practice 4: "session.save()  # Quick save" on a session never saved
    session = tk.Session(name="2026-01-08_Power_Supply_Debug")
    p = session.save()
    assert isinstance(p, Path)
    assert p.is_file()
    assert tk.load_session(p).name == "2026-01-08_Power_Supply_Debug"


def test_save_path_accepts_pathlib():
    session = tk.Session(name="P")
    p = session.save(Path("sub_dir_free.tks"))
    assert p.is_file()
    assert tk.load_session(Path("sub_dir_free.tks")).name == "P"


# ---------------------------------------------------------------------------
# get_annotations() (lines 329-365)
# ---------------------------------------------------------------------------


def test_get_annotations_example():
    write_wfm("signal.wfm", sine(1e6, 100e6, 1000), 100e6)
    session = tk.Session()
    session.load_trace("signal.wfm")

    session.annotate("Event 1", time=1e-6, layer="events")
    session.annotate("Event 2", time=2e-6, layer="events")
    session.annotate("Error", time=1.5e-6, layer="errors")

    all_annotations = session.get_annotations()
    assert sorted(texts(all_annotations)) == ["Error", "Event 1", "Event 2"]
    assert all(isinstance(a, tk.Annotation) for a in all_annotations)

    events = session.get_annotations(layer="events")
    assert texts(events) == ["Event 1", "Event 2"]

    window = session.get_annotations(time_range=(1e-6, 2e-6))
    assert sorted(texts(window)) == ["Error", "Event 1", "Event 2"]

    narrow = session.get_annotations(time_range=(1.2e-6, 1.8e-6))
    assert texts(narrow) == ["Error"]

    assert session.get_annotations(layer="events", time_range=(1.5e-6, 3e-6)) != []
    assert texts(session.get_annotations(layer="events", time_range=(1.5e-6, 3e-6))) == ["Event 2"]


# ---------------------------------------------------------------------------
# load_session() (lines 367-397)
# ---------------------------------------------------------------------------


def test_load_session_example(capsys):
    write_wfm("debug.wfm", sine(1e6, 100e6, 1000), 100e6)
    s = tk.Session(name="Debug")
    s.load_trace("debug.wfm", name="CH1")
    s.record_measurement("vpp", 2.0, unit="V", trace_name="CH1")
    s.annotate("Mark", time=1e-6)
    s.save("debug_session.tks")

    session = tk.load_session("debug_session.tks")
    assert isinstance(session, tk.Session)

    print(session.summary())
    print(f"Traces: {session.list_traces()}")
    out = capsys.readouterr().out
    assert "Traces: ['CH1']" in out

    measurements = session.get_measurements()
    annotations = session.get_annotations()
    history = session.history.entries

    assert measurements["vpp"]["value"] == 2.0
    assert measurements["vpp"]["unit"] == "V"
    assert texts(annotations) == ["Mark"]
    assert isinstance(history, list)
    assert [e.operation for e in history][:1] == ["load_trace"]
    assert all(isinstance(e, tk.HistoryEntry) for e in history)


# ---------------------------------------------------------------------------
# Annotation / AnnotationType (lines 399-472)
# ---------------------------------------------------------------------------


def test_annotation_class_example():
    from evident.compat.tracekit import Annotation, AnnotationType

    ann1 = Annotation(text="Trigger point", time=1.5e-6, color="#00FF00")
    ann2 = Annotation(
        text="Data burst",
        time_range=(2e-6, 5e-6),
        annotation_type=AnnotationType.RANGE,
        color="#FF6B6B",
        style="dashed",
    )
    ann3 = Annotation(
        text="Threshold", amplitude=3.3, annotation_type=AnnotationType.HORIZONTAL, color="#0000FF"
    )
    ann4 = Annotation(
        text="Operating range",
        time_range=(0, 1e-3),
        amplitude_range=(2.5, 3.5),
        annotation_type=AnnotationType.REGION,
    )

    assert ann1.text == "Trigger point"
    assert ann1.time == 1.5e-6
    assert ann1.color == "#00FF00"
    assert ann1.annotation_type == AnnotationType.POINT
    assert ann1.visible is True
    assert ann1.created_at is not None
    assert ann1.metadata == {}

    assert ann2.time_range == (2e-6, 5e-6)
    assert ann2.annotation_type is AnnotationType.RANGE
    assert ann2.style == "dashed"
    assert ann3.amplitude == 3.3
    assert ann3.annotation_type is AnnotationType.HORIZONTAL
    assert ann4.amplitude_range == (2.5, 3.5)
    assert ann4.annotation_type is AnnotationType.REGION


def test_annotation_type_enum():
    from enum import Enum

    from evident.compat.tracekit import AnnotationType

    assert issubclass(AnnotationType, Enum)
    assert {m.name: m.value for m in AnnotationType} == {
        "POINT": "point",
        "RANGE": "range",
        "VERTICAL": "vertical",
        "HORIZONTAL": "horizontal",
        "REGION": "region",
        "TEXT": "text",
    }


# ---------------------------------------------------------------------------
# AnnotationLayer (lines 474-524)
# ---------------------------------------------------------------------------


def test_annotation_layer_management():
    from evident.compat.tracekit import AnnotationLayer

    events = AnnotationLayer(
        name="Protocol Events", color="#00FF00", description="Communication protocol events"
    )
    assert events.name == "Protocol Events"
    assert events.visible is True
    assert events.locked is False
    assert events.annotations == []

    events.add(text="START", time=0)
    events.add(text="DATA", time_range=(1e-6, 5e-6))
    events.add(text="STOP", time=10e-6)
    assert texts(events.annotations) == ["START", "DATA", "STOP"]
    # "color: Default color for new annotations"
    assert all(a.color == "#00FF00" for a in events.annotations)

    at_time = events.find_at_time(1e-6, tolerance=100e-9)
    assert "DATA" in texts(at_time)
    assert "START" not in texts(at_time) and "STOP" not in texts(at_time)

    in_range = events.find_in_range(0, 5e-6)
    assert sorted(texts(in_range)) == ["DATA", "START"]

    events.locked = True
    # "Lock layer to prevent modifications"
    try:
        events.add(text="LATE", time=11e-6)
    except Exception:
        pass
    assert texts(events.annotations) == ["START", "DATA", "STOP"]
    try:
        events.clear()
    except Exception:
        pass
    assert len(events.annotations) == 3

    events.locked = False
    events.clear()
    assert events.annotations == []


def test_multiple_layers_example():
    write_wfm("debug.wfm", sine(1e6, 100e6, 1000), 100e6)
    session = tk.Session()
    session.load_trace("debug.wfm")

    session.annotate("Start bit", time=0, layer="uart")
    session.annotate("Data byte", time_range=(1e-6, 9e-6), layer="uart")
    session.annotate("Parity error", time=8e-6, layer="errors")
    session.annotate("Maximum voltage", time=5e-6, layer="measurements")

    uart_layer = session.annotation_layers["uart"]
    assert isinstance(uart_layer, tk.AnnotationLayer)
    assert uart_layer.name == "uart"
    uart_layer.color = "#0000FF"
    uart_layer.description = "UART protocol decode"

    uart_annotations = session.get_annotations(layer="uart")
    error_annotations = session.get_annotations(layer="errors")
    assert texts(uart_annotations) == ["Start bit", "Data byte"]
    assert texts(error_annotations) == ["Parity error"]
    assert set(session.annotation_layers) == {"uart", "errors", "measurements"}
    assert session.annotation_layers["uart"].description == "UART protocol decode"


def test_annotate_into_locked_layer_is_prevented():
    session = tk.Session()
    session.annotate("a", time=0, layer="L")
    session.annotation_layers["L"].locked = True
    try:
        session.annotate("b", time=1e-6, layer="L")
    except Exception:
        pass
    assert texts(session.get_annotations(layer="L")) == ["a"]


# ---------------------------------------------------------------------------
# HistoryEntry / OperationHistory (lines 526-601)
# ---------------------------------------------------------------------------


def test_history_entry_fields():
    from evident.compat.tracekit import HistoryEntry  # noqa: F401

    history = tk.OperationHistory()
    history.record("op", parameters={"a": 1}, result="ok", duration_ms=1.5)
    e = history.entries[0]
    assert isinstance(e, tk.HistoryEntry)
    assert e.operation == "op"
    assert e.parameters == {"a": 1}
    assert e.result == "ok"
    assert e.timestamp is not None
    assert e.duration_ms == 1.5
    assert e.success is True
    assert e.error_message is None
    assert isinstance(e.metadata, dict)


def test_operation_history_tracking(capsys):
    from evident.compat.tracekit import OperationHistory

    history = OperationHistory(max_entries=100)
    assert history.max_entries == 100

    history.record(
        "load_trace",
        parameters={"path": "capture.wfm"},
        result="Loaded successfully",
        duration_ms=45.3,
    )
    history.record(
        "measure_frequency", parameters={"trace": "CH1"}, result="1000000.0 Hz", duration_ms=2.1
    )
    history.record(
        "apply_filter",
        parameters={"type": "lowpass", "cutoff": 1e6},
        success=False,
        error_message="Cutoff frequency too high",
    )

    all_ops = history.entries
    successful = history.find(success_only=True)
    measurements = history.find(operation="measure_frequency")

    assert [e.operation for e in all_ops] == ["load_trace", "measure_frequency", "apply_filter"]
    assert [e.operation for e in successful] == ["load_trace", "measure_frequency"]
    assert [e.operation for e in measurements] == ["measure_frequency"]
    failed = all_ops[2]
    assert failed.success is False
    assert failed.error_message == "Cutoff frequency too high"
    assert all_ops[0].result == "Loaded successfully"
    assert all_ops[1].parameters == {"trace": "CH1"}

    stats = history.summary()
    print(f"Total operations: {stats['total_operations']}")
    print(f"Success rate: {stats['successful']}/{stats['total_operations']}")
    print(f"Total time: {stats['total_duration_ms']:.1f} ms")

    assert stats["total_operations"] == 3
    assert stats["successful"] == 2
    assert stats["total_duration_ms"] == pytest.approx(47.4)
    assert capsys.readouterr().out == (
        "Total operations: 3\nSuccess rate: 2/3\nTotal time: 47.4 ms\n"
    )


def test_operation_history_max_entries():
    history = tk.OperationHistory(max_entries=3)
    for i in range(5):
        history.record(f"op{i}")
    ops = [e.operation for e in history.entries]
    assert len(ops) == 3
    assert ops[-1] == "op4"

    unlimited = tk.OperationHistory(max_entries=0)  # 0 = unlimited
    for i in range(50):
        unlimited.record(f"op{i}")
    assert len(unlimited.entries) == 50


def test_operation_history_default_attributes():
    history = tk.OperationHistory()
    assert history.entries == []
    assert isinstance(history.max_entries, int)
    assert isinstance(history.auto_record, bool)


# ---------------------------------------------------------------------------
# Example - Script Generation (lines 603-640)
# ---------------------------------------------------------------------------


def test_script_generation(capsys):
    write_wfm("signal.wfm", trapezoid(1e6, 1e9, 5000, edge_s=20e-9), 1e9)

    session = tk.Session()
    session.load_trace("signal.wfm")
    tk.frequency(session.get_trace("signal"))
    tk.rise_time(session.get_trace("signal"))

    script = session.history.to_script()
    print(script)
    assert capsys.readouterr().out == script + "\n"

    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env python3"
    assert lines[1] == '"""TraceKit analysis script.'
    assert lines[2] == ""
    assert re.fullmatch(r"Generated: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", lines[3]), lines[3]
    assert lines[4] == '"""'
    # evident writes the import as `try: import tracekit as tk` / `except
    # ImportError: import evident.compat.tracekit as tk` (doubtful point)
    assert "import tracekit as tk" in [ln.strip() for ln in lines]

    first_comment = next(i for i, ln in enumerate(lines) if ln.startswith("# "))
    body = [ln for ln in lines[first_comment:] if ln.strip()]
    assert len(body) == 6, body
    assert re.fullmatch(r"# \d\d:\d\d:\d\d - load_trace", body[0]), body[0]
    assert body[1] == 'tk.load_trace(path="signal.wfm")'
    assert re.fullmatch(r"# \d\d:\d\d:\d\d - measure_frequency", body[2]), body[2]
    assert body[3] == "tk.measure_frequency()"
    assert re.fullmatch(r"# \d\d:\d\d:\d\d - measure_rise_time", body[4]), body[4]
    assert body[5] == "tk.measure_rise_time()"

    compile(script, "<script>", "exec")


def test_script_generation_replays(capsys):
    # "Export history as Python script": the script replays the analysis
    write_wfm("signal.wfm", trapezoid(1e6, 1e9, 5000, edge_s=20e-9), 1e9)
    session = tk.Session()
    session.load_trace("signal.wfm")
    tk.frequency(session.get_trace("signal"))
    script = session.history.to_script()
    Path("replay.py").write_text(script)
    exec(compile(script, "replay.py", "exec"), {"__name__": "__main__"})


def test_history_auto_record_off():
    # OperationHistory.auto_record: "Whether to automatically record operations"
    write_wfm("signal.wfm", sine(1e6, 100e6, 1000), 100e6)
    session = tk.Session()
    assert session.history.auto_record is True
    session.history.auto_record = False
    session.load_trace("signal.wfm")
    tk.frequency(session.get_trace("signal"))
    assert session.history.entries == []
    session.history.auto_record = True
    tk.frequency(session.get_trace("signal"))
    assert [e.operation for e in session.history.entries] == ["measure_frequency"]


# ---------------------------------------------------------------------------
# Example 1: Complete Analysis Session (lines 905-944)
# Example 3: Resuming Saved Session (lines 993-1036)
# ---------------------------------------------------------------------------


def _motor_inputs():
    # 20 kHz PWM, 25 % duty, 0..3.3 V, 200 ns edges, 10 MS/s
    write_wfm(
        "pwm_signal.wfm", trapezoid(20e3, 10e6, 10000, duty=0.25, edge_s=200e-9, high=3.3), 10e6
    )
    write_wfm("current_sense.wfm", sine(1e3, 1e6, 5000, amp=0.5, offset=1.0), 1e6)
    write_sr("can_bus.sr", bits_square(5000, 8), 2_000_000)


def _example1(capsys):
    session = tk.Session(name="Motor Controller Debug")
    session.metadata["project"] = "MC-2024"
    session.metadata["engineer"] = "Alice"

    session.load_trace("pwm_signal.wfm", name="PWM")
    session.load_trace("current_sense.wfm", name="CURRENT")
    session.load_trace("can_bus.sr", name="CAN")

    pwm = session.get_trace("PWM")
    freq = tk.frequency(pwm)
    duty = tk.duty_cycle(pwm)

    session.record_measurement("pwm_frequency", freq, unit="Hz", trace_name="PWM")
    session.record_measurement("duty_cycle", duty, unit="%", trace_name="PWM")

    session.annotate("Motor start", time=0, layer="events")
    session.annotate("Acceleration phase", time_range=(0, 0.1), layer="phases")
    session.annotate("Steady state", time_range=(0.1, 0.5), layer="phases")
    session.annotate("Overshoot detected", time=0.05, layer="issues", color="#FF0000")

    path = session.save("motor_debug.tks")
    print(f"Session saved to {path}")
    print("\n" + session.summary())
    return session, path, freq, duty


def test_example1_complete_analysis_session(capsys):
    _motor_inputs()
    session, path, freq, duty = _example1(capsys)

    out = capsys.readouterr().out
    assert isinstance(path, Path)
    assert path.name == "motor_debug.tks" and path.is_file()
    assert f"Session saved to {path}" in out
    assert "Motor Controller Debug" in out

    assert float(freq) == pytest.approx(20e3, rel=0.01)
    d = float(duty)
    assert d == pytest.approx(0.25, abs=0.02) or d == pytest.approx(25.0, abs=2.0)

    assert session.list_traces() == ["PWM", "CURRENT", "CAN"]
    assert isinstance(session.get_trace("CAN"), tk.DigitalTrace)
    assert session.get_trace("CAN").sample_rate == pytest.approx(2e6)
    assert set(session.annotation_layers) == {"events", "phases", "issues"}
    (over,) = session.get_annotations(layer="issues")
    assert over.color == "#FF0000"


def test_example3_resuming_saved_session(capsys):
    _motor_inputs()
    original, _, freq, duty = _example1(capsys)
    capsys.readouterr()

    session = tk.load_session("motor_debug.tks")

    print(f"Loaded session: {session.name}")
    print(f"Created: {session.created_at}")
    print(f"Modified: {session.modified_at}")
    print(f"\nTraces: {session.list_traces()}")

    measurements = session.get_measurements()
    for name, data in measurements.items():
        print(f"  {name}: {data['value']} {data['unit']}")

    for layer_name, layer in session.annotation_layers.items():
        print(f"\nLayer '{layer_name}':")
        for ann in layer.annotations:
            print(f"  - {ann.text} @ {ann.time}")

    print(f"\nOperation history ({len(session.history.entries)} entries):")
    for entry in session.history.entries[:5]:
        status = "✓" if entry.success else "✗"
        print(f"  {status} {entry.operation} ({entry.duration_ms:.1f}ms)")

    trace = session.get_trace("PWM")
    rise = tk.rise_time(trace)
    session.record_measurement("rise_time", rise, "s", trace_name="PWM")
    saved = session.save()

    out = capsys.readouterr().out
    assert "Loaded session: Motor Controller Debug" in out
    assert f"Created: {original.created_at}" in out
    assert "Traces: ['PWM', 'CURRENT', 'CAN']" in out
    assert f"  pwm_frequency: {measurements['pwm_frequency']['value']} Hz" in out
    assert "  duty_cycle: " in out and " %\n" in out
    assert "Layer 'events':" in out and re.search(r"  - Motor start @ 0(\.0)?\n", out)
    assert "Layer 'phases':" in out and "  - Acceleration phase @ None" in out
    assert "  - Overshoot detected @ 0.05" in out
    assert "✓ load_trace" in out

    assert session.name == "Motor Controller Debug"
    assert session.metadata == {"project": "MC-2024", "engineer": "Alice"}
    assert measurements["pwm_frequency"]["value"] == pytest.approx(float(freq))
    assert measurements["duty_cycle"]["value"] == pytest.approx(float(duty))
    assert measurements["duty_cycle"]["unit"] == "%"
    assert [e.operation for e in session.history.entries][:3] == ["load_trace"] * 3

    # 3.3 V pulse with 200 ns linear edges -> 160 ns 10-90 % rise time
    assert float(rise) == pytest.approx(160e-9, rel=0.15)

    # save() without a path writes back to the file it was loaded from
    assert Path(saved).resolve() == Path("motor_debug.tks").resolve()
    again = tk.load_session("motor_debug.tks")
    assert set(again.get_measurements()) == {"pwm_frequency", "duty_cycle", "rise_time"}
    assert again.get_measurements()["rise_time"]["unit"] == "s"
    assert isinstance(again.get_trace("CAN"), tk.DigitalTrace)
    np.testing.assert_array_equal(
        np.asarray(again.get_trace("CAN").data).astype(bool), bits_square(5000, 8).astype(bool)
    )


def test_timestamps_survive_save_and_load():
    s = tk.Session(name="T")
    s.save("t.tks")
    back = tk.load_session("t.tks")
    assert str(back.created_at) == str(s.created_at)
    assert type(back.created_at) is type(s.created_at)


def test_modified_at_moves_on_modification():
    s = tk.Session(name="M")
    before = s.modified_at
    import time

    time.sleep(0.01)
    s.record_measurement("x", 1)
    assert s.modified_at != before
    assert s.modified_at >= s.created_at


# ---------------------------------------------------------------------------
# Example 2: Session with Audit Trail (lines 946-991)
# ---------------------------------------------------------------------------


def test_example2_session_with_audit_trail(capsys):
    # 1 kHz fundamental with a 10 % third harmonic: THD 10 % (-20 dB)
    fs = 1e6
    t = np.arange(20000) / fs
    sig = np.sin(2 * np.pi * 1e3 * t) + 0.1 * np.sin(2 * np.pi * 3e3 * t)
    write_wfm("test_signal.wfm", sig, fs)

    session = tk.Session(name="Compliance Test")
    audit = tk.AuditTrail(secret_key=b"compliance-secret-key")

    audit.record_action("create_session", {"name": session.name})

    trace = session.load_trace("test_signal.wfm")
    audit.record_action("load_trace", {"file": "test_signal.wfm"})

    freq = tk.frequency(trace)
    session.record_measurement("frequency", freq, "Hz")
    audit.record_action("measure_frequency", {"result": freq, "unit": "Hz", "standard": "IEEE 181"})

    thd = tk.thd(trace)
    session.record_measurement("thd", thd, "%")
    audit.record_action("measure_thd", {"result": thd, "unit": "%", "harmonics": 10})

    session.save("compliance_session.tks")
    audit.record_action("save_session", {"file": "compliance_session.tks"})

    audit.export_audit_log("compliance_audit.json")
    audit.record_action("export_audit", {"file": "compliance_audit.json"})

    if audit.verify_integrity():
        print("Audit trail verified - no tampering detected")
    else:
        print("WARNING: Audit trail integrity check failed!")

    assert capsys.readouterr().out == "Audit trail verified - no tampering detected\n"

    assert float(freq) == pytest.approx(1e3, rel=0.01)
    th = float(thd)
    assert (
        th == pytest.approx(10.0, rel=0.05)
        or th == pytest.approx(0.1, rel=0.05)
        or th == pytest.approx(-20.0, abs=0.5)
    )

    exported = json.loads(Path("compliance_audit.json").read_text())
    assert [e["action"] for e in exported["entries"]] == [
        "create_session",
        "load_trace",
        "measure_frequency",
        "measure_thd",
        "save_session",
    ]
    assert exported["entries"][0]["details"] == {"name": "Compliance Test"}
    assert exported["entries"][2]["details"]["result"] == pytest.approx(float(freq))
    assert exported["entries"][3]["details"]["harmonics"] == 10
    assert len(audit.get_entries()) == 6

    back = tk.load_session("compliance_session.tks")
    assert back.get_measurements()["thd"]["value"] == pytest.approx(th)
    assert back.get_measurements()["thd"]["unit"] == "%"
    assert back.get_measurements()["frequency"]["unit"] == "Hz"


# ---------------------------------------------------------------------------
# Example 4: Multi-Layer Annotations (lines 1038-1093)
# ---------------------------------------------------------------------------


def test_example4_multi_layer_annotations(capsys):
    write_wfm("uart_capture.wfm", trapezoid(115200 / 2, 10e6, 2000, edge_s=50e-9), 10e6)

    session = tk.Session(name="Protocol Analysis")
    trace = session.load_trace("uart_capture.wfm")
    assert trace is not None

    session.annotate("START", time=0, layer="protocol", color="#00FF00")
    session.annotate("DATA: 0x41", time_range=(1e-6, 9e-6), layer="protocol")
    session.annotate("PARITY", time=9e-6, layer="protocol")
    session.annotate("STOP", time=10e-6, layer="protocol")

    session.annotate("Bit 0", time_range=(1e-6, 2e-6), layer="timing")
    session.annotate("Bit 1", time_range=(2e-6, 3e-6), layer="timing")

    session.annotate("Timing violation", time=5e-6, layer="issues", color="#FF0000", style="dashed")

    protocol_layer = session.annotation_layers["protocol"]
    protocol_layer.description = "UART protocol decode at 115200 baud"
    protocol_layer.color = "#00FF00"

    issues_layer = session.annotation_layers["issues"]
    issues_layer.locked = False

    protocol_events = session.get_annotations(layer="protocol")
    issues = session.get_annotations(layer="issues")

    print(f"Protocol events: {len(protocol_events)}")
    print(f"Issues found: {len(issues)}")

    window_annotations = session.get_annotations(time_range=(0, 5e-6))
    print(f"Annotations in first 5μs: {len(window_annotations)}")

    session.save("uart_analysis.tks")

    out = capsys.readouterr().out
    assert "Protocol events: 4\n" in out
    assert "Issues found: 1\n" in out
    assert re.search(r"Annotations in first 5μs: \d+\n", out)

    wt = texts(window_annotations)
    for t in ("START", "Bit 0", "Bit 1", "Timing violation"):
        assert t in wt
    for t in ("PARITY", "STOP"):
        assert t not in wt

    assert Path("uart_analysis.tks").is_file()
    back = tk.load_session("uart_analysis.tks")
    assert set(back.annotation_layers) == {"protocol", "timing", "issues"}
    assert back.annotation_layers["protocol"].description == "UART protocol decode at 115200 baud"
    assert back.annotation_layers["protocol"].color == "#00FF00"
    assert texts(back.get_annotations(layer="protocol")) == [
        "START",
        "DATA: 0x41",
        "PARITY",
        "STOP",
    ]
    (viol,) = back.get_annotations(layer="issues")
    assert viol.color == "#FF0000" and viol.style == "dashed"
    assert tuple(back.get_annotations(layer="timing")[1].time_range) == pytest.approx((2e-6, 3e-6))


# ---------------------------------------------------------------------------
# Example 5: Compliance Audit Trail (lines 1095-1173)
# ---------------------------------------------------------------------------


def test_example5_compliance_audit_trail(capsys):
    audit = tk.AuditTrail(secret_key=b"production-secret-key", hash_algorithm="sha256")

    audit.record_action(
        "calibration_check",
        {"device": "Oscilloscope-001", "calibration_date": "2026-01-01", "status": "valid"},
        user="calibration_lab",
    )
    audit.record_action(
        "load_test_data",
        {"file": "compliance_test_001.wfm", "sha256": "abc123...", "size_bytes": 1048576},
        user="test_engineer",
    )
    audit.record_action(
        "run_measurement",
        {"type": "THD", "result": -65.3, "unit": "dB", "standard": "IEC 61000-4-7", "pass": True},
        user="test_engineer",
    )
    audit.record_action(
        "generate_report",
        {"format": "PDF", "pages": 15, "includes_raw_data": True},
        user="test_engineer",
    )
    audit.record_action(
        "review_results",
        {
            "reviewer": "senior_engineer",
            "status": "approved",
            "comments": "All measurements within specification",
        },
        user="senior_engineer",
    )

    if not audit.verify_integrity():
        raise RuntimeError("Audit trail integrity check failed!")

    audit.export_audit_log("compliance_audit_2026-01-08.json", format="json")
    audit.export_audit_log("compliance_audit_2026-01-08.csv", format="csv")

    entries = audit.get_entries()
    print("COMPLIANCE AUDIT REPORT")
    print("=" * 60)
    print(f"Total actions: {len(entries)}")
    print("Integrity: VERIFIED")
    print("\nAudit chain:")
    for i, entry in enumerate(entries, 1):
        print(f"{i}. {entry.timestamp} - {entry.action} by {entry.user}")
        print(f"   HMAC: {entry.hmac[:32]}...")

    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[:4] == [
        "COMPLIANCE AUDIT REPORT",
        "=" * 60,
        "Total actions: 5",
        "Integrity: VERIFIED",
    ]
    actions = [
        ("calibration_check", "calibration_lab"),
        ("load_test_data", "test_engineer"),
        ("run_measurement", "test_engineer"),
        ("generate_report", "test_engineer"),
        ("review_results", "senior_engineer"),
    ]
    chain = lines[6:]
    assert len(chain) == 10
    for i, (action, user) in enumerate(actions):
        assert re.fullmatch(rf"{i + 1}\. \S+ - {action} by {user}", chain[2 * i]), chain[2 * i]
        assert re.fullmatch(r"   HMAC: [0-9a-f]{32}\.\.\.", chain[2 * i + 1]), chain[2 * i + 1]

    doc = json.loads(Path("compliance_audit_2026-01-08.json").read_text())
    assert doc["hash_algorithm"] == "sha256"
    assert [e["action"] for e in doc["entries"]] == [a for a, _ in actions]
    with open("compliance_audit_2026-01-08.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["action"] for r in rows] == [a for a, _ in actions]
    assert [r["user"] for r in rows] == [u for _, u in actions]
    assert all(len(e.hmac) == 64 for e in entries)


# ---------------------------------------------------------------------------
# Best Practices (lines 1175-1213)
# ---------------------------------------------------------------------------


def test_best_practices_session():
    session = tk.Session(name="2026-01-08_Power_Supply_Debug")
    session.metadata["project"] = "PSU-REV-B"
    session.metadata["engineer"] = "Alice"
    session.metadata["dut_serial"] = "PSU-001234"

    session.annotate("...", layer="protocol")
    session.annotate("...", layer="measurements")
    session.annotate("...", layer="issues")

    thd_value = -65.3
    session.record_measurement(
        name="thd",
        value=thd_value,
        unit="dB",
        trace_name="SIGNAL",
        standard="IEC 61000-4-7",
        pass_criteria=thd_value < -60,
    )

    p = session.save()  # Quick save
    back = tk.load_session(p)
    assert back.metadata == {
        "project": "PSU-REV-B",
        "engineer": "Alice",
        "dut_serial": "PSU-001234",
    }
    assert set(back.annotation_layers) == {"protocol", "measurements", "issues"}
    # text-only annotations (no time): type TEXT or POINT with time None
    for a in back.get_annotations():
        assert a.text == "..."
        assert a.time is None
    m = back.get_measurements()["thd"]
    assert m["value"] == -65.3 and m["unit"] == "dB"
    assert contains_value(m, "IEC 61000-4-7")
    assert contains_value(m, True)


def test_best_practices_audit(monkeypatch):
    import os

    monkeypatch.setenv("AUDIT_SECRET_KEY", "from-the-environment")
    secret_key = os.environ.get("AUDIT_SECRET_KEY").encode()
    audit = tk.AuditTrail(secret_key=secret_key)

    value, outcome, result_value = 1.0, "ok", -65.3
    audit.record_action("action", {"parameter": value, "context": "information", "result": outcome})
    assert audit.verify_integrity(), "Audit tampering detected!"
    audit.record_action(
        "measurement",
        {
            "type": "THD",
            "standard": "IEC 61000-4-7",
            "equipment": "OSC-001",
            "calibration_date": "2026-01-01",
            "result": result_value,
        },
    )

    timestamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    audit.export_audit_log(f"audit_{timestamp}.json")
    doc = json.loads(Path(f"audit_{timestamp}.json").read_text())  # default format: json
    assert [e["action"] for e in doc["entries"]] == ["action", "measurement"]
    assert doc["entries"][1]["details"]["equipment"] == "OSC-001"


def test_session_and_global_audit_trail_together():
    # The global trail (lines 878-903) used alongside a session
    write_wfm("capture.wfm", sine(1e6, 100e6, 1000), 100e6)
    session = tk.Session(name="power_supply")
    tk.record_audit("start_analysis", {"project": session.name})
    session.load_trace("capture.wfm")
    tk.record_audit("load_trace", {"file": "capture.wfm"})
    audit = tk.get_global_audit_trail()
    assert [e.action for e in audit.get_entries()] == ["start_analysis", "load_trace"]
    assert audit.verify_integrity()


def test_layer_color_is_default_for_new_annotations_of_a_session_layer():
    # AnnotationLayer.color: "Default color for new annotations"
    session = tk.Session()
    session.annotate("a", time=0, layer="uart")
    session.annotation_layers["uart"].color = "#0000FF"
    session.annotate("b", time=1e-6, layer="uart")
    session.annotate("c", time=2e-6, layer="uart", color="#FF0000")
    session.annotation_layers["uart"].add(text="d", time=3e-6)
    session.annotate("e", time=4e-6, layer="other")
    assert [a.color for a in session.get_annotations(layer="uart")] == [
        None,
        "#0000FF",
        "#FF0000",
        "#0000FF",
    ]
    assert session.get_annotations(layer="other")[0].color is None
    session.save("colors.tks")
    back = tk.load_session("colors.tks")
    assert [a.color for a in back.get_annotations(layer="uart")][1:] == [
        "#0000FF",
        "#FF0000",
        "#0000FF",
    ]


def test_dataclass_constructors_take_the_documented_attributes():
    # Session, AnnotationLayer, HistoryEntry and OperationHistory are
    # documented as dataclasses with these attributes
    s = tk.Session(name="x", metadata={"project": "P"})
    assert s.metadata == {"project": "P"}

    layer = tk.AnnotationLayer(
        name="L", annotations=[tk.Annotation(text="a", time=1.0)], color="#123456"
    )
    assert texts(layer.annotations) == ["a"]
    assert layer.annotations[0].color == "#123456"

    e = tk.HistoryEntry(operation="op", parameters={"a": 1})
    assert (e.operation, e.parameters, e.success, e.error_message) == ("op", {"a": 1}, True, None)

    h = tk.OperationHistory(max_entries=5, auto_record=False)
    assert (h.max_entries, h.auto_record) == (5, False)


def test_save_to_an_existing_file_replaces_what_load_session_sees():
    a = tk.Session(name="first")
    a.record_measurement("only_in_first", 1)
    a.save("same.tks")
    b = tk.Session(name="second")
    b.save("same.tks")
    back = tk.load_session("same.tks")
    assert back.name == "second"
    assert back.get_measurements() == {}
