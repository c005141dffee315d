"""Seed 000 (TraceKit): the Complete Examples 1-4 and the session Best
Practices, with only the import line changed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from .captures import pwm, sine, write_sr, write_wfm

import evident
import evident.compat.tracekit as tk


def motor_captures(d: Path) -> None:
    # 20 kHz PWM at 30 % duty, 0-3.3 V, 10 MS/s
    write_wfm(d / "pwm_signal.wfm", pwm(20e3, 10e6, 100_000, 0.30), 10e6)
    write_wfm(d / "current_sense.wfm", sine(20e3, 10e6, 100_000, 0.2, 1.0), 10e6)
    bits = (np.arange(8000) // 7 % 2).astype(np.uint8) | 2
    write_sr(d / "can_bus.sr", bits, ["CAN_RX", "CAN_TX"], "1 MHz")


def example_1(capsys: pytest.CaptureFixture[str]) -> Path:
    # --- the document's Example 1 ---
    import numpy as np

    import evident.compat.tracekit as tk

    # Create session with metadata
    session = tk.Session(name="Motor Controller Debug")
    session.metadata["project"] = "MC-2024"
    session.metadata["engineer"] = "Alice"

    # Load multiple traces
    session.load_trace("pwm_signal.wfm", name="PWM")
    session.load_trace("current_sense.wfm", name="CURRENT")
    session.load_trace("can_bus.sr", name="CAN")

    # Perform measurements
    pwm = session.get_trace("PWM")
    freq = tk.frequency(pwm)
    duty = tk.duty_cycle(pwm)

    session.record_measurement("pwm_frequency", freq, unit="Hz", trace_name="PWM")
    session.record_measurement("duty_cycle", duty, unit="%", trace_name="PWM")

    # Add structured annotations
    session.annotate("Motor start", time=0, layer="events")
    session.annotate("Acceleration phase", time_range=(0, 0.1), layer="phases")
    session.annotate("Steady state", time_range=(0.1, 0.5), layer="phases")
    session.annotate("Overshoot detected", time=0.05, layer="issues", color="#FF0000")

    # Save session
    path = session.save("motor_debug.tks")
    print(f"Session saved to {path}")

    # Print summary
    print("\n" + session.summary())
    # --- end ---
    assert np is not None
    assert freq == pytest.approx(20e3, rel=1e-4)
    assert duty == pytest.approx(30.0, rel=1e-3)
    return path


def test_example_1_complete_analysis_session(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    motor_captures(workdir)
    path = example_1(capsys)
    out = capsys.readouterr().out
    assert f"Session saved to {path}" in out and "Motor Controller Debug" in out
    back = tk.load_session("motor_debug.tks")
    assert back.metadata == {"project": "MC-2024", "engineer": "Alice"}
    assert back.list_traces() == ["PWM", "CURRENT", "CAN"]
    m = back.get_measurements()
    assert m["pwm_frequency"]["value"] == pytest.approx(20e3, rel=1e-4)
    assert (m["duty_cycle"]["unit"], m["duty_cycle"]["trace_name"]) == ("%", "PWM")
    assert [a.text for a in back.get_annotations(layer="phases")] == [
        "Acceleration phase",
        "Steady state",
    ]
    assert back.get_annotations(layer="issues")[0].color == "#FF0000"
    assert isinstance(back.get_trace("CAN"), tk.DigitalTrace)
    assert evident.verify_session("motor_debug.tks").ok


def test_example_2_session_with_audit_trail(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 1 kHz test tone with 1 % third harmonic
    rate, n = 1e6, 200_000
    t = np.arange(n) / rate
    tone = np.sin(2 * np.pi * 1e3 * t) + 0.01 * np.sin(2 * np.pi * 3e3 * t)
    write_wfm(workdir / "test_signal.wfm", tone, rate)

    # --- the document's Example 2 ---
    import evident.compat.tracekit as tk

    # Create session with audit trail
    session = tk.Session(name="Compliance Test")
    audit = tk.AuditTrail(secret_key=b"compliance-secret-key")

    # Record all operations
    audit.record_action("create_session", {"name": session.name})

    # Load and analyze
    trace = session.load_trace("test_signal.wfm")
    audit.record_action("load_trace", {"file": "test_signal.wfm"})

    # Measurements with audit
    freq = tk.frequency(trace)
    session.record_measurement("frequency", freq, "Hz")
    audit.record_action(
        "measure_frequency", {"result": freq, "unit": "Hz", "standard": "IEEE 181"}
    )

    thd = tk.thd(trace)
    session.record_measurement("thd", thd, "%")
    audit.record_action("measure_thd", {"result": thd, "unit": "%", "harmonics": 10})

    # Save both
    session.save("compliance_session.tks")
    audit.record_action("save_session", {"file": "compliance_session.tks"})

    audit.export_audit_log("compliance_audit.json")
    audit.record_action("export_audit", {"file": "compliance_audit.json"})

    # Verify audit integrity
    if audit.verify_integrity():
        print("Audit trail verified - no tampering detected")
    else:
        print("WARNING: Audit trail integrity check failed!")
    # --- end ---

    assert capsys.readouterr().out == "Audit trail verified - no tampering detected\n"
    assert freq == pytest.approx(1e3, rel=1e-5)
    assert thd == pytest.approx(1.0, rel=2e-2)  # 1 % third harmonic (quantised to int16)
    m = tk.load_session("compliance_session.tks").get_measurements()
    assert m["thd"]["value"] == thd and m["thd"]["unit"] == "%"
    exported = json.loads(Path("compliance_audit.json").read_text())["entries"]
    assert [e["action"] for e in exported] == [
        "create_session",
        "load_trace",
        "measure_frequency",
        "measure_thd",
        "save_session",
    ]
    assert exported[3]["details"]["result"] == thd
    assert len(audit.get_entries()) == 6


def test_example_3_resuming_saved_session(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    motor_captures(workdir)
    example_1(capsys)
    capsys.readouterr()

    # --- the document's Example 3 ---
    import evident.compat.tracekit as tk

    # Load previous session
    session = tk.load_session("motor_debug.tks")

    print(f"Loaded session: {session.name}")
    print(f"Created: {session.created_at}")
    print(f"Modified: {session.modified_at}")

    # Access saved data
    print(f"\nTraces: {session.list_traces()}")

    measurements = session.get_measurements()
    for name, data in measurements.items():
        print(f"  {name}: {data['value']} {data['unit']}")

    # View annotations by layer
    for layer_name, layer in session.annotation_layers.items():
        print(f"\nLayer '{layer_name}':")
        for ann in layer.annotations:
            print(f"  - {ann.text} @ {ann.time}")

    # Review operation history
    print(f"\nOperation history ({len(session.history.entries)} entries):")
    for entry in session.history.entries[:5]:
        status = "✓" if entry.success else "✗"
        print(f"  {status} {entry.operation} ({entry.duration_ms:.1f}ms)")

    # Continue analysis
    trace = session.get_trace("PWM")
    rise = tk.rise_time(trace)
    session.record_measurement("rise_time", rise, "s", trace_name="PWM")

    # Save updated session
    session.save()
    # --- end ---

    out = capsys.readouterr().out
    assert "Loaded session: Motor Controller Debug" in out
    assert "Traces: ['PWM', 'CURRENT', 'CAN']" in out
    assert "  duty_cycle: " in out and "Layer 'phases':" in out
    assert "  - Motor start @ 0.0" in out
    assert "Operation history (5 entries):" in out  # 3 loads, 2 measurements
    assert "  ✓ load_trace (" in out and "  ✓ measure_duty_cycle (" in out
    # 20 kHz PWM at 10 MS/s with 20-sample edges: 10-90 % is 16 samples
    assert rise == pytest.approx(1.6e-6, rel=2e-2)
    again = tk.load_session("motor_debug.tks")
    assert again.get_measurements()["rise_time"]["value"] == rise
    assert [v.version for v in again.versions()] == [1, 2]


def test_example_4_multi_layer_annotations(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_wfm(workdir / "uart_capture.wfm", pwm(115200, 100e6, 20_000, 0.5), 100e6)

    # --- the document's Example 4 ---
    import evident.compat.tracekit as tk

    session = tk.Session(name="Protocol Analysis")
    trace = session.load_trace("uart_capture.wfm")

    # Protocol decode layer
    session.annotate("START", time=0, layer="protocol", color="#00FF00")
    session.annotate("DATA: 0x41", time_range=(1e-6, 9e-6), layer="protocol")
    session.annotate("PARITY", time=9e-6, layer="protocol")
    session.annotate("STOP", time=10e-6, layer="protocol")

    # Timing analysis layer
    session.annotate("Bit 0", time_range=(1e-6, 2e-6), layer="timing")
    session.annotate("Bit 1", time_range=(2e-6, 3e-6), layer="timing")

    # Issues layer
    session.annotate(
        "Timing violation", time=5e-6, layer="issues", color="#FF0000", style="dashed"
    )

    # Access layers
    protocol_layer = session.annotation_layers["protocol"]
    protocol_layer.description = "UART protocol decode at 115200 baud"
    protocol_layer.color = "#00FF00"

    issues_layer = session.annotation_layers["issues"]
    issues_layer.locked = False  # Allow modifications

    # Query annotations
    protocol_events = session.get_annotations(layer="protocol")
    issues = session.get_annotations(layer="issues")

    print(f"Protocol events: {len(protocol_events)}")
    print(f"Issues found: {len(issues)}")

    # Find annotations in specific time window
    window_annotations = session.get_annotations(time_range=(0, 5e-6))
    print(f"Annotations in first 5μs: {len(window_annotations)}")

    session.save("uart_analysis.tks")
    # --- end ---

    assert capsys.readouterr().out == (
        "Protocol events: 4\nIssues found: 1\nAnnotations in first 5μs: 5\n"
    )
    assert len(trace) == 20_000
    back = tk.load_session("uart_analysis.tks")
    assert back.annotation_layers["protocol"].description == "UART protocol decode at 115200 baud"
    assert len(back.get_annotations()) == 7


def test_best_practices_session(workdir: Path) -> None:
    thd_value = -65.3

    # --- the document's snippets ---
    session = tk.Session(name="2026-01-08_Power_Supply_Debug")

    session.metadata["project"] = "PSU-REV-B"
    session.metadata["engineer"] = "Alice"
    session.metadata["dut_serial"] = "PSU-001234"

    session.annotate("...", layer="protocol")
    session.annotate("...", layer="measurements")
    session.annotate("...", layer="issues")

    session.save()  # Quick save

    session.record_measurement(
        name="thd",
        value=thd_value,
        unit="dB",
        trace_name="SIGNAL",
        standard="IEC 61000-4-7",
        pass_criteria=thd_value < -60,
    )
    # --- end ---

    first = session.path
    assert first is not None and first.name.startswith("2026-01-08_Power_Supply_Debug_")
    assert session.save() == first
    back = tk.load_session(first)
    assert back.metadata["dut_serial"] == "PSU-001234"
    assert back.get_measurements()["thd"]["pass_criteria"] is True
    assert set(back.annotation_layers) == {"protocol", "measurements", "issues"}
