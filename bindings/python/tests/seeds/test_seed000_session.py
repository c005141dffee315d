"""Seed 000 (TraceKit, Session Management & Audit Trail API): the Quick
Start and the Session Management examples, each run as the document shows
it with only the import line changed (``import tracekit as tk`` ->
``import evident.compat.tracekit as tk``)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy
import numpy as np
import pytest
from .captures import pwm, ramp_step, sine, write_sr, write_wfm

import evident
import evident.compat.tracekit as _tk
import evident.compat.tracekit as tk


def test_quick_start(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_wfm(workdir / "capture.wfm", sine(1e6, 1e9, 10_000, 1.0), 1e9)

    # --- the document's example ---
    import evident.compat.tracekit as tk

    # Create and work with a session
    session = tk.Session(name="Power Supply Analysis")
    trace = session.load_trace("capture.wfm")
    session.annotate("Voltage spike", time=1.5e-6)
    session.record_measurement("rise_time", 2.3e-9, unit="s")
    session.save("analysis.tks")

    # Resume later
    session = tk.load_session("analysis.tks")
    print(session.summary())

    # Enable audit trail for compliance
    with pytest.warns(UserWarning, match="15 bytes"):
        audit = tk.AuditTrail(secret_key=b"your-secret-key")
    audit.record_action("load_trace", {"file": "data.wfm"})
    assert audit.verify_integrity()
    audit.export_audit_log("audit.json", format="json")
    # --- end ---

    out = capsys.readouterr().out
    assert "Power Supply Analysis" in out
    assert session.name == "Power Supply Analysis"
    assert session.list_traces() == ["capture"]
    t = session.get_trace("capture")
    assert len(t) == 10_000 and t.sample_rate == pytest.approx(1e9)
    np.testing.assert_allclose(t.data, sine(1e6, 1e9, 10_000, 1.0), atol=1e-4)
    assert [a.text for a in session.get_annotations()] == ["Voltage spike"]
    assert session.get_measurements()["rise_time"]["value"] == 2.3e-9
    assert session.get_measurements()["rise_time"]["unit"] == "s"
    assert isinstance(trace, tk.WaveformTrace)
    import json

    data = json.loads((workdir / "audit.json").read_text())
    assert data["version"] == "1.0" and data["hash_algorithm"] == "sha256"
    assert [e["action"] for e in data["entries"]] == ["load_trace"]
    assert data["entries"][0]["previous_hash"] == "GENESIS"


def test_basic_session_usage(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_wfm(workdir / "oscilloscope.wfm", sine(10e3, 10e6, 5000, 2.0), 10e6)
    words = (numpy.arange(4096) % 256).astype(numpy.uint8)
    write_sr(workdir / "logic_analyzer.sr", words, ["D0", "D1", "D2", "D3"], "2 MHz")

    # --- the document's example ---
    import evident.compat.tracekit as tk

    # Create a new session
    session = tk.Session(name="Debug Session")

    # Load traces
    trace1 = session.load_trace("oscilloscope.wfm", name="CH1")
    trace2 = session.load_trace("logic_analyzer.sr", name="DIGITAL")

    # List loaded traces
    print(session.list_traces())  # ['CH1', 'DIGITAL']

    # Get a specific trace
    trace = session.get_trace("CH1")

    # Add in-memory trace
    import numpy as np

    data = np.sin(np.linspace(0, 2 * np.pi, 1000))
    my_trace = tk.WaveformTrace(data=data, sample_rate=1e6)
    session.add_trace("SYNTHETIC", my_trace)
    # --- end ---

    assert capsys.readouterr().out.strip() == "['CH1', 'DIGITAL']"
    assert isinstance(trace1, tk.WaveformTrace) and isinstance(trace2, tk.DigitalTrace)
    assert trace.name == "CH1" and trace.sample_rate == pytest.approx(10e6)
    assert trace2.sample_rate == pytest.approx(2e6)
    numpy.testing.assert_array_equal(trace2.data, words)
    assert trace2.metadata["channels"] == {"D0": 0, "D1": 1, "D2": 2, "D3": 3}
    assert session.list_traces() == ["CH1", "DIGITAL", "SYNTHETIC"]
    syn = session.get_trace("SYNTHETIC")
    np.testing.assert_array_equal(syn.data, data)
    assert syn.sample_rate == 1e6


def test_complete_analysis_workflow(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a 5 V rail with 40 mV peak-to-peak ripple at 100 kHz
    write_wfm(workdir / "power_supply.wfm", sine(100e3, 50e6, 50_000, 0.02, 5.0), 50e6)

    # --- the document's example ---
    import evident.compat.tracekit as tk

    # Create session
    session = tk.Session(name="Power Rail Analysis")

    # Load and analyze
    trace = session.load_trace("power_supply.wfm", name="5V_RAIL")

    # Record measurements
    freq = tk.frequency(trace)
    session.record_measurement("frequency", freq, unit="Hz", trace_name="5V_RAIL")

    ripple = tk.amplitude(trace)
    session.record_measurement(
        "ripple_vpp", ripple, unit="V", trace_name="5V_RAIL", acceptable=ripple < 0.1
    )

    # Add annotations
    session.annotate("Transient response", time_range=(1e-3, 2e-3), layer="analysis")

    session.annotate("Maximum ripple", time=1.5e-3, layer="measurements")

    # Save session
    session.save("power_analysis.tks", compress=True)

    # Get summary
    print(session.summary())
    # --- end ---

    assert freq == pytest.approx(100e3, rel=1e-4)
    assert ripple == pytest.approx(0.04, rel=1e-2)
    m = tk.load_session("power_analysis.tks").get_measurements()
    assert m["frequency"]["value"] == pytest.approx(100e3, rel=1e-4)
    assert m["frequency"]["trace_name"] == "5V_RAIL"
    assert m["ripple_vpp"]["unit"] == "V" and m["ripple_vpp"]["acceptable"] is True
    assert session.last_save is not None and session.last_save.bytes_written > 0
    assert [a.text for a in session.get_annotations(layer="analysis")] == ["Transient response"]
    assert "Power Rail Analysis" in capsys.readouterr().out
    # the measurements were recorded in the history
    assert [e.operation for e in session.history.entries] == [
        "load_trace",
        "measure_frequency",
        "measure_amplitude",
    ]


def test_load_trace_example(workdir: Path) -> None:
    write_wfm(workdir / "capture.wfm", sine(1e3, 1e6, 2000), 1e6)
    (workdir / "data.csv").write_text(
        "time (s),temperature (C)\n" + "".join(f"{i * 0.5},{20 + i}\n" for i in range(10))
    )
    write_wfm(workdir / "large_file.wfm", sine(5e3, 1e6, 200_000), 1e6)

    # --- the document's example ---
    session = tk.Session()

    # Load with auto-generated name
    trace1 = session.load_trace("capture.wfm")

    # Load with custom name
    trace2 = session.load_trace("data.csv", name="SENSOR_DATA")

    # Load with loader options
    trace3 = session.load_trace("large_file.wfm", lazy=True)
    # --- end ---

    assert session.list_traces() == ["capture", "SENSOR_DATA", "large_file"]
    assert trace1.name == "capture" and len(trace1) == 2000
    assert list(trace2.data) == [20.0 + i for i in range(10)]
    assert trace2.sample_rate == pytest.approx(2.0) and trace2.units == "C"
    assert len(trace3) == 200_000
    assert session.history.entries[-1].parameters == {"path": "large_file.wfm", "lazy": True}


def test_add_trace_example(workdir: Path) -> None:
    # --- the document's example ---
    import numpy as np

    import evident.compat.tracekit as tk

    session = tk.Session()

    # Create synthetic waveform
    t = np.linspace(0, 1e-3, 10000)
    data = 3.3 * np.sin(2 * np.pi * 1000 * t)
    trace = tk.WaveformTrace(data=data, sample_rate=10e6)

    # Add to session
    session.add_trace("SINE_1KHZ", trace)
    # --- end ---

    got = session.get_trace("SINE_1KHZ")
    np.testing.assert_array_equal(got.data, data)
    assert got.sample_rate == 10e6
    assert session.list_traces() == ["SINE_1KHZ"]


def test_annotate_example(workdir: Path) -> None:
    write_wfm(workdir / "debug.wfm", sine(1e6, 1e9, 20_000), 1e9)

    # --- the document's example ---
    session = tk.Session()
    session.load_trace("debug.wfm")

    # Point annotation
    session.annotate("Glitch detected", time=1.5e-6)

    # Range annotation
    session.annotate("Data packet", time_range=(2e-6, 5e-6), layer="protocol")

    # Custom styling
    session.annotate(
        "Critical error", time=10e-6, layer="errors", color="#FF0000", style="dashed"
    )
    # --- end ---

    assert [a.text for a in session.get_annotations(layer="default")] == ["Glitch detected"]
    (packet,) = session.get_annotations(layer="protocol")
    assert packet.time_range == (2e-6, 5e-6)
    (err,) = session.get_annotations(layer="errors")
    assert (err.time, err.color, err.style) == (10e-6, "#FF0000", "dashed")
    assert set(session.annotation_layers) == {"default", "protocol", "errors"}


def test_record_measurement_example(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a 1 MHz clock, 0-3.3 V, with linear 20 ns edges (10-90 %: 16 ns)
    write_wfm(workdir / "signal.wfm", pwm(1e6, 1e9, 20_000, 0.5), 1e9)

    # --- the document's example ---
    import evident.compat.tracekit as tk

    session = tk.Session()
    trace = session.load_trace("signal.wfm", name="CH1")

    # Record measurements
    rise = tk.rise_time(trace)
    session.record_measurement(
        "rise_time", rise, unit="s", trace_name="CH1", standard="IEEE 181-2011"
    )

    freq = tk.frequency(trace)
    session.record_measurement("frequency", freq, unit="Hz", trace_name="CH1", confidence=0.95)

    # Get all measurements
    measurements = session.get_measurements()
    print(measurements)
    # --- end ---

    assert rise == pytest.approx(16e-9, rel=2e-2)
    assert freq == pytest.approx(1e6, rel=1e-4)
    assert measurements["rise_time"]["value"] == rise
    assert measurements["rise_time"]["standard"] == "IEEE 181-2011"
    assert measurements["frequency"]["confidence"] == 0.95
    assert measurements["frequency"]["trace_name"] == "CH1"
    assert "rise_time" in capsys.readouterr().out


def test_save_example(workdir: Path) -> None:
    write_wfm(workdir / "capture.wfm", sine(1e3, 1e6, 100_000), 1e6)

    # --- the document's example ---
    session = tk.Session(name="Analysis")
    session.load_trace("capture.wfm")
    session.annotate("Start", time=0)

    # Save with all defaults
    session.save("analysis.tks")

    # Save without trace data (smaller file)
    session.save("analysis_meta.tks", include_traces=False)

    # Save uncompressed
    session.save("analysis_raw.tks", compress=False)
    # --- end ---

    full = (workdir / "analysis.tks").stat().st_size
    meta = (workdir / "analysis_meta.tks").stat().st_size
    raw = (workdir / "analysis_raw.tks").stat().st_size
    assert meta < full < raw  # compressed by default; no samples without traces
    assert raw > 100_000 * 8
    assert tk.load_session("analysis_meta.tks").list_traces() == []
    for name in ("analysis.tks", "analysis_raw.tks"):
        back = tk.load_session(name)
        np.testing.assert_allclose(back.get_trace("capture").data, sine(1e3, 1e6, 100_000), atol=1e-4)
        assert [a.text for a in back.get_annotations()] == ["Start"]
        assert evident.verify_session(name).ok


def test_save_without_path_generates_one(workdir: Path) -> None:
    session = tk.Session(name="Quick save")
    session.record_measurement("x", 1)
    path = session.save()
    assert path.exists() and path.suffix == ".tks" and path.parent.resolve() == workdir.resolve()
    assert path.name.startswith("Quick_save_")
    session.record_measurement("y", 2)
    assert session.save() == path  # then the same file
    assert set(tk.load_session(path).get_measurements()) == {"x", "y"}


def test_get_annotations_example(workdir: Path) -> None:
    write_wfm(workdir / "signal.wfm", sine(1e6, 1e9, 10_000), 1e9)

    # --- the document's example ---
    session = tk.Session()
    session.load_trace("signal.wfm")

    # Add annotations
    session.annotate("Event 1", time=1e-6, layer="events")
    session.annotate("Event 2", time=2e-6, layer="events")
    session.annotate("Error", time=1.5e-6, layer="errors")

    # Get all annotations
    all_annotations = session.get_annotations()

    # Get annotations from specific layer
    events = session.get_annotations(layer="events")

    # Get annotations in time range
    window = session.get_annotations(time_range=(1e-6, 2e-6))
    # --- end ---

    assert sorted(a.text for a in all_annotations) == ["Error", "Event 1", "Event 2"]
    assert [a.text for a in events] == ["Event 1", "Event 2"]
    assert sorted(a.text for a in window) == ["Error", "Event 1", "Event 2"]
    assert [a.text for a in session.get_annotations(time_range=(1.2e-6, 1.8e-6))] == ["Error"]


def test_load_session_example(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the session the example resumes
    s = _tk.Session(name="Debug")
    s.add_trace("CH1", _tk.WaveformTrace(data=sine(1e3, 1e6, 1000), sample_rate=1e6))
    s.record_measurement("frequency", 1e3, unit="Hz", trace_name="CH1")
    s.annotate("Glitch", time=1e-6)
    s.history.record("measure_frequency", {"trace": "CH1"}, result=1e3)
    s.save("debug_session.tks")
    s.close()

    # --- the document's example ---
    import evident.compat.tracekit as tk

    # Load saved session
    session = tk.load_session("debug_session.tks")

    # Resume analysis
    print(session.summary())
    print(f"Traces: {session.list_traces()}")

    # Access saved data
    measurements = session.get_measurements()
    annotations = session.get_annotations()
    history = session.history.entries
    # --- end ---

    out = capsys.readouterr().out
    assert "Traces: ['CH1']" in out and "Debug" in out
    assert measurements["frequency"]["value"] == 1e3
    assert [a.text for a in annotations] == ["Glitch"]
    assert [e.operation for e in history] == ["measure_frequency"]
    assert isinstance(session, tk.Session)


def test_load_trace_sigrok_channel_and_csv_npy(workdir: Path) -> None:
    words = np.array([0, 1, 2, 3, 0, 1, 2, 3], dtype=np.uint8)
    write_sr(workdir / "la.sr", words, ["CLK", "DATA"])
    np.save(workdir / "ramp.npy", np.arange(10, dtype=np.float32))
    s = tk.Session()
    clk = s.load_trace("la.sr", name="CLK", channel="CLK")
    assert isinstance(clk, tk.DigitalTrace)
    assert list(clk.data) == [False, True, False, True] * 2
    assert list(s.load_trace("la.sr", name="D", channel=1).data) == [False, False, True, True] * 2
    assert list(s.load_trace("ramp.npy").data) == list(range(10))
    with pytest.raises(evident.InvalidArgumentError, match="unknown loader option"):
        s.load_trace("ramp.npy", bogus=1)
    with pytest.raises(evident.InvalidArgumentError, match="CLK, DATA"):
        s.load_trace("la.sr", channel="nope")


def test_short_key_warns_and_long_key_does_not() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tk.AuditTrail(secret_key=b"k" * 16)
    with pytest.warns(UserWarning):
        tk.AuditTrail(secret_key=b"key")


def test_wfm_rise_time_matches_document_units(workdir: Path) -> None:
    # a 0-5 V step rising over 100 samples at 1 GS/s: 10-90 % is 80 ns
    write_wfm(workdir / "step.wfm", ramp_step(1e9, 0.0, 5.0, 100, 4000), 1e9)
    s = tk.Session()
    t = s.load_trace("step.wfm")
    assert tk.rise_time(t) == pytest.approx(80e-9, rel=1e-2)
    assert np.isnan(tk.fall_time(t))
    assert tk.amplitude(t) == pytest.approx(5.0, rel=1e-3)


def test_readme_switching_section_runs(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import re

    readme = Path(__file__).resolve().parents[4] / "README.md"
    if not readme.is_file():
        pytest.skip("README.md is not here")
    text = readme.read_text(encoding="utf-8")
    section = text.split("## Switching from TraceKit", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "import tracekit as tk                    # before" in code
    code = code.replace("import tracekit as tk                    # before\n", "")
    write_wfm(workdir / "power_supply.wfm", sine(100e3, 50e6, 50_000, 0.02, 5.0), 50e6)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert 'tk.load_trace(path="power_supply.wfm", name="5V_RAIL")' in out
    assert "tk.measure_frequency()" in out
    assert json.loads(Path("audit.json").read_text())["entries"][0]["action"] == "measure_thd"


def test_trace_metadata_like_tracekit() -> None:
    w = tk.WaveformTrace(
        data=sine(1e3, 1e6, 10_000), metadata=tk.TraceMetadata(sample_rate=1e6, channel="CH2")
    )
    assert w.sample_rate == 1e6 and w.metadata.sample_rate == 1e6
    s = tk.Session()
    s.add_trace("CH2", w)
    t = s.get_trace("CH2")
    assert t.metadata.sample_rate == 1e6 and t.metadata["channel"] == "CH2"
    assert tk.frequency(t) == pytest.approx(1e3, rel=1e-6)
    assert len(t) == 10_000 and t.duration == pytest.approx(0.01)


def test_load_trace_sample_rate_for_files_without_one(workdir: Path) -> None:
    """``load_trace(path, name, **load_kwargs)``: ``sample_rate=`` gives the
    rate of a capture that has none (.npy, a CSV of values only), so its
    measurements are in seconds and hertz; a capture with its own rate
    keeps it, and a different one is refused rather than silently used."""
    np.save(workdir / "sig.npy", sine(1e3, 1e6, 10_000))
    (workdir / "vals.csv").write_text("".join(f"{v:.6f}\n" for v in sine(1e3, 1e6, 10_000)))
    write_wfm(workdir / "scope.wfm", sine(1e3, 1e6, 10_000), 1e6)
    session = tk.Session()
    for f in ("sig.npy", "vals.csv"):
        t = session.load_trace(f, sample_rate=1e6)
        assert t.sample_rate == 1e6
        assert tk.frequency(t) == pytest.approx(1e3, rel=1e-3)
    assert session.load_trace("scope.wfm", sample_rate=1e6).sample_rate == pytest.approx(1e6)
    with pytest.raises(evident.InvalidArgumentError, match="sample rate"):
        session.load_trace("scope.wfm", name="x", sample_rate=2e6)
    for bad in (0, -1.0, float("nan"), "fast"):
        with pytest.raises(evident.InvalidArgumentError, match="sample_rate"):
            session.load_trace("sig.npy", name="y", sample_rate=bad)
    # the history replays it with the option
    assert 'tk.load_trace(path="sig.npy", sample_rate=1000000.0)' in session.history.to_script()
    assert tk.load_trace("sig.npy", sample_rate=1e6).sample_rate == 1e6
