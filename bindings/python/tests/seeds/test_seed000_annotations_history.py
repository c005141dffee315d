"""Seed 000 (TraceKit): the Annotations and Operation History examples,
with only the import line changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from .captures import pwm, sine, write_wfm

import evident
import evident.compat.tracekit as tk


def test_annotation_example() -> None:
    # --- the document's example ---
    from evident.compat.tracekit import Annotation, AnnotationType

    # Point annotation
    ann1 = Annotation(text="Trigger point", time=1.5e-6, color="#00FF00")

    # Range annotation
    ann2 = Annotation(
        text="Data burst",
        time_range=(2e-6, 5e-6),
        annotation_type=AnnotationType.RANGE,
        color="#FF6B6B",
        style="dashed",
    )

    # Horizontal reference line
    ann3 = Annotation(
        text="Threshold", amplitude=3.3, annotation_type=AnnotationType.HORIZONTAL, color="#0000FF"
    )

    # Region annotation (time + amplitude)
    ann4 = Annotation(
        text="Operating range",
        time_range=(0, 1e-3),
        amplitude_range=(2.5, 3.5),
        annotation_type=AnnotationType.REGION,
    )
    # --- end ---

    assert ann1.annotation_type == AnnotationType.POINT and ann1.color == "#00FF00"
    assert ann2.time_range == (2e-6, 5e-6) and ann2.style == "dashed"
    assert ann3.amplitude == 3.3 and ann3.annotation_type == AnnotationType.HORIZONTAL
    assert ann4.amplitude_range == (2.5, 3.5) and ann4.annotation_type == AnnotationType.REGION
    assert [t.value for t in AnnotationType] == [
        "point",
        "range",
        "vertical",
        "horizontal",
        "region",
        "text",
    ]


def test_layer_management_example() -> None:
    # --- the document's example ---
    from evident.compat.tracekit import Annotation, AnnotationLayer

    # Create layer
    events = AnnotationLayer(
        name="Protocol Events", color="#00FF00", description="Communication protocol events"
    )

    # Add annotations
    events.add(text="START", time=0)
    events.add(text="DATA", time_range=(1e-6, 5e-6))
    events.add(text="STOP", time=10e-6)

    # Find annotations
    at_time = events.find_at_time(1e-6, tolerance=100e-9)
    in_range = events.find_in_range(0, 5e-6)

    # Lock layer to prevent modifications
    events.locked = True

    # Clear all annotations
    events.locked = False
    events.clear()
    # --- end ---

    assert [a.text for a in at_time] == ["DATA"]
    assert [a.text for a in in_range] == ["START", "DATA"]
    assert events.annotations == [] and events.color == "#00FF00"
    events.locked = True
    with pytest.raises(evident.LayerLockedError):
        events.add(text="late", time=1.0)
    assert Annotation  # imported as the document does


def test_multiple_layers_example(workdir: Path) -> None:
    write_wfm(workdir / "debug.wfm", sine(1e6, 1e9, 20_000), 1e9)

    # --- the document's example ---
    import evident.compat.tracekit as tk

    session = tk.Session()
    session.load_trace("debug.wfm")

    # Add annotations to different layers
    session.annotate("Start bit", time=0, layer="uart")
    session.annotate("Data byte", time_range=(1e-6, 9e-6), layer="uart")
    session.annotate("Parity error", time=8e-6, layer="errors")
    session.annotate("Maximum voltage", time=5e-6, layer="measurements")

    # Access layer directly
    uart_layer = session.annotation_layers["uart"]
    uart_layer.color = "#0000FF"
    uart_layer.description = "UART protocol decode"

    # Query by layer
    uart_annotations = session.get_annotations(layer="uart")
    error_annotations = session.get_annotations(layer="errors")
    # --- end ---

    assert [a.text for a in uart_annotations] == ["Start bit", "Data byte"]
    assert [a.text for a in error_annotations] == ["Parity error"]
    assert session.annotation_layers["uart"].color == "#0000FF"
    assert session.annotation_layers["uart"].description == "UART protocol decode"


def test_tracking_operations_example(capsys: pytest.CaptureFixture[str]) -> None:
    # --- the document's example ---
    from evident.compat.tracekit import OperationHistory

    # Create history
    history = OperationHistory(max_entries=100)

    # Record operations
    history.record(
        "load_trace", parameters={"path": "capture.wfm"}, result="Loaded successfully", duration_ms=45.3
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

    # Query history
    all_ops = history.entries
    successful = history.find(success_only=True)
    measurements = history.find(operation="measure_frequency")

    # Get summary statistics
    stats = history.summary()
    print(f"Total operations: {stats['total_operations']}")
    print(f"Success rate: {stats['successful']}/{stats['total_operations']}")
    print(f"Total time: {stats['total_duration_ms']:.1f} ms")
    # --- end ---

    assert capsys.readouterr().out == (
        "Total operations: 3\nSuccess rate: 2/3\nTotal time: 47.4 ms\n"
    )
    assert len(all_ops) == 3 and [e.operation for e in successful] == ["load_trace", "measure_frequency"]
    assert [e.result for e in measurements] == ["1000000.0 Hz"]
    assert all_ops[2].error_message == "Cutoff frequency too high"


def test_script_generation_example(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_wfm(workdir / "signal.wfm", pwm(1e6, 1e9, 20_000, 0.5), 1e9)

    # --- the document's example ---
    import evident.compat.tracekit as tk

    session = tk.Session()
    session.load_trace("signal.wfm")
    tk.frequency(session.get_trace("signal"))
    tk.rise_time(session.get_trace("signal"))

    # Export history as Python script
    script = session.history.to_script()
    print(script)
    # --- end ---

    assert capsys.readouterr().out == script + "\n"
    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env python3"
    assert lines[1] == '"""TraceKit analysis script.'
    assert lines[3].startswith("Generated: 20")
    assert "import tracekit as tk" in script
    body = [ln for ln in lines if ln.startswith(("tk.", "# "))]
    assert [ln.split(" - ")[-1] if ln.startswith("#") else ln for ln in body] == [
        "load_trace",
        'tk.load_trace(path="signal.wfm")',
        "measure_frequency",
        "tk.measure_frequency()",
        "measure_rise_time",
        "tk.measure_rise_time()",
    ]
    import re

    assert all(re.match(r"^# \d\d:\d\d:\d\d - ", ln) for ln in body if ln.startswith("#"))
    # the script runs (here with the compat module in place of tracekit)
    Path("replay.py").write_text(script + "\nprint(tk.measure_frequency())\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    run = subprocess.run([sys.executable, "replay.py"], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout) == pytest.approx(1e6, rel=1e-4)


def test_history_records_measurements_with_results(workdir: Path) -> None:
    write_wfm(workdir / "signal.wfm", pwm(1e6, 1e9, 20_000, 0.25), 1e9)
    s = tk.Session()
    t = s.load_trace("signal.wfm", name="CH1")
    d = tk.duty_cycle(t)
    assert d == pytest.approx(25.0, rel=1e-3)
    assert tk.duty_cycle(t, percentage=False) == pytest.approx(0.25, rel=1e-3)
    e = s.history.entries[1]
    assert (e.operation, e.parameters, e.result) == ("measure_duty_cycle", {}, d)
    assert e.metadata["trace"] == "CH1"
    s.history.auto_record = False
    tk.frequency(t)
    assert len(s.history.entries) == 3  # load, duty cycle twice; not the last
    # a free-standing trace is measured without any session
    w = tk.WaveformTrace(data=sine(50.0, 10e3, 10_000), sample_rate=10e3)
    assert tk.frequency(w) == pytest.approx(50.0, rel=1e-6)


def test_measurements_need_a_sample_rate() -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        tk.frequency([0.0, 1.0] * 10)
