"""A second outsider pass over the TraceKit seed documents (seed 000, the
"Session Management & Audit Trail API" page, and seed 001, the coverage
listing of ``tracekit/core/audit.py``), written from the documents only.

Every code example of the documents runs here as written, with only the
import line changed as the README's "Switching from TraceKit" says
(``tracekit``, ``tracekit.session``, ``tracekit.core.audit`` ->
``evident.compat.tracekit``). The capture files the examples open are made
first (Tektronix ``.wfm`` by ``tm_data_types``, sigrok ``.sr`` by hand,
CSV). The audit trail's HMAC input and the JSON/CSV export layouts are
compared byte for byte with what seed 001's own code (embedded below, only
its ``format_timestamp`` import replaced) computes and writes for the same
entries.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import hmac as hmac_mod
import io
import json
import math
import re
import socket
import sys
import textwrap
import types
import zipfile
from dataclasses import fields as dc_fields
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict

import pytest

np = pytest.importorskip("numpy")
tm = pytest.importorskip("tm_data_types")

import evident.compat.tracekit as tk  # noqa: E402

# --- seed 001's own code, the reference ------------------------------------------
# Lines 22-449 of seed 001, verbatim except: the tracekit.core.logging import
# (not part of the document) is replaced by an ISO 8601 formatter.

SEED_AUDIT = '''
from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal


def format_timestamp(dt, format="iso8601"):
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class AuditEntry:
    timestamp: str
    action: str
    details: dict[str, Any]
    user: str
    host: str
    previous_hash: str
    hmac: str = field(default="")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEntry:
        return cls(**data)


class AuditTrail:
    def __init__(self, secret_key=None, hash_algorithm="sha256"):
        self._entries: list[AuditEntry] = []
        self._secret_key = secret_key or os.urandom(32)
        self._hash_algorithm = hash_algorithm

    def _compute_hmac(self, entry: AuditEntry) -> str:
        canonical = (
            f"{entry.timestamp}|{entry.action}|{json.dumps(entry.details, sort_keys=True)}"
            f"|{entry.user}|{entry.host}|{entry.previous_hash}"
        )
        if self._hash_algorithm == "sha256":
            h = hmac.new(self._secret_key, canonical.encode("utf-8"), hashlib.sha256)
        elif self._hash_algorithm == "sha512":
            h = hmac.new(self._secret_key, canonical.encode("utf-8"), hashlib.sha512)
        else:
            raise ValueError(f"Unsupported hash algorithm: {self._hash_algorithm}")
        return h.hexdigest()

    def verify_integrity(self) -> bool:
        if not self._entries:
            return True
        for i, entry in enumerate(self._entries):
            expected_hmac = self._compute_hmac(entry)
            if entry.hmac != expected_hmac:
                return False
            if i == 0:
                if entry.previous_hash != "GENESIS":
                    return False
            elif entry.previous_hash != self._entries[i - 1].hmac:
                return False
        return True

    def _export_json(self, path: Path) -> None:
        data = {
            "version": "1.0",
            "hash_algorithm": self._hash_algorithm,
            "entries": [entry.to_dict() for entry in self._entries],
        }
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)

    def _export_csv(self, path: Path) -> None:
        import csv

        with open(path, "w", newline="", encoding="utf-8") as f:
            if not self._entries:
                return
            detail_keys = set()
            for entry in self._entries:
                detail_keys.update(entry.details.keys())
            detail_keys = sorted(detail_keys)
            fieldnames = [
                "timestamp",
                "action",
                "user",
                "host",
                "previous_hash",
                "hmac",
            ] + [f"detail_{k}" for k in detail_keys]
            writer = csv.DictWriter(f, fieldnames=fieldnames)
            writer.writeheader()
            for entry in self._entries:
                row = {
                    "timestamp": entry.timestamp,
                    "action": entry.action,
                    "user": entry.user,
                    "host": entry.host,
                    "previous_hash": entry.previous_hash,
                    "hmac": entry.hmac,
                }
                for key in detail_keys:
                    value = entry.details.get(key)
                    row[f"detail_{key}"] = json.dumps(value) if value is not None else ""
                writer.writerow(row)
'''


def seed() -> Dict[str, Any]:
    mod = types.ModuleType("seed_001_audit")
    sys.modules[mod.__name__] = mod  # dataclasses look their module up
    exec(compile(SEED_AUDIT, "seed_001_audit.py", "exec"), mod.__dict__)
    return mod.__dict__


def reference(trail: Any, key: bytes, alg: str = "sha256") -> Any:
    """Seed 001's AuditTrail holding the same entries as ``trail``."""
    ns = seed()
    ref = ns["AuditTrail"](secret_key=key, hash_algorithm=alg)
    ref._entries = [ns["AuditEntry"].from_dict(e.to_dict()) for e in trail.get_entries()]
    return ref


KEY = b"compliance-secret-key"

# --- capture files the examples open ---------------------------------------------

RATE = 1e6


def _signal(n: int = 5000, f: float = 1e3, amp: float = 3.3) -> Any:
    t = np.arange(n) / RATE
    # a trapezoid: finite edges for rise_time, a period for frequency
    return amp * np.clip(3 * np.sin(2 * np.pi * f * t), -1, 1)


def write_wfm(path: Path, volts: Any = None) -> None:
    from tm_data_types.helpers.enums import ByteOrderFormat, VersionNumber
    from tm_data_types.helpers.instrument_series import InstrumentSeriesDataStyle

    class _Series:
        value = InstrumentSeriesDataStyle(
            byte_order=ByteOrderFormat.PPC,
            version=VersionNumber.TWO,
            slot_ids=5,
            gen_purpose_default=0,
        )

    volts = _signal() if volts is None else volts
    scale = 4.0 / 30000
    wf = tm.AnalogWaveform()
    wf.y_axis_values = np.round(volts / scale).astype(np.int16)
    wf.y_axis_spacing = scale
    wf.y_axis_offset = 0.0
    wf.x_axis_spacing = 1.0 / RATE
    tm.write_file(str(path), wf, product=_Series())


def write_sr(path: Path, n: int = 4000) -> None:
    bits = ((np.arange(n) // 50) % 2).astype(np.uint8)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("version", "2")
        z.writestr(
            "metadata",
            "[global]\nsigrok version=0.5.2\n\n[device 1]\ncapturefile=logic-1\n"
            "total probes=1\nsamplerate=1 MHz\ntotal analog=0\nprobe1=D0\nunitsize=1\n",
        )
        z.writestr("logic-1-1", bits.tobytes())


def write_csv(path: Path, n: int = 2000) -> None:
    t = np.arange(n) / RATE
    v = _signal(n)
    path.write_text("time,voltage\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(t, v)))


WFM_FILES = [
    "capture.wfm", "data.wfm", "oscilloscope.wfm", "power_supply.wfm", "large_file.wfm",
    "debug.wfm", "signal.wfm", "pwm_signal.wfm", "current_sense.wfm", "test_signal.wfm",
    "uart_capture.wfm",
]


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("captures")
    write_wfm(d / "capture.wfm")
    for name in WFM_FILES[1:]:
        (d / name).write_bytes((d / "capture.wfm").read_bytes())
    write_sr(d / "logic_analyzer.sr")
    write_sr(d / "can_bus.sr")
    write_csv(d / "data.csv")
    return d


@pytest.fixture
def work(tmp_path: Path, captures: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for f in captures.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tk, "_global_audit_trail", None)
    return tmp_path


IMPORTS = [
    (re.compile(r"^import tracekit as tk\b.*$", re.M), "import evident.compat.tracekit as tk"),
    (re.compile(r"^from tracekit(?:\.session|\.core\.audit)? import ", re.M),
     "from evident.compat.tracekit import "),
]


def run(code: str) -> Dict[str, Any]:
    """Runs a document's example as written, the import line mapped only."""
    code = textwrap.dedent(code)
    for pat, repl in IMPORTS:
        code = pat.sub(repl, code)
    assert "tracekit" not in code.replace("evident.compat.tracekit", ""), code
    ns: Dict[str, Any] = {"__name__": "__example__"}
    exec(compile(code, "<seed example>", "exec"), ns)
    return ns


# --- seed 000: Quick Start ---------------------------------------------------------


def test_quick_start(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns = run('''
        import tracekit as tk

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
        audit = tk.AuditTrail(secret_key=b"your-secret-key")
        audit.record_action("load_trace", {"file": "data.wfm"})
        assert audit.verify_integrity()
        audit.export_audit_log("audit.json", format="json")
    ''')
    s = ns["session"]
    assert s.name == "Power Supply Analysis"
    assert s.list_traces() == ["capture"]  # default name: the file name's stem
    m = s.get_measurements()["rise_time"]
    assert m["value"] == 2.3e-9 and m["unit"] == "s"
    [a] = s.get_annotations()
    assert (a.text, a.time) == ("Voltage spike", 1.5e-6)
    out = capsys.readouterr().out
    assert "Power Supply Analysis" in out
    data = json.loads((work / "audit.json").read_text())
    assert data["version"] == "1.0" and data["hash_algorithm"] == "sha256"
    assert [e["action"] for e in data["entries"]] == ["load_trace"]
    assert data["entries"][0]["details"] == {"file": "data.wfm"}


# --- Session -----------------------------------------------------------------------


def test_session_attributes(work: Path) -> None:
    s = tk.Session(name="Attr")
    s.load_trace("capture.wfm", name="CH1")
    s.annotate("x", time=1e-6, layer="L")
    s.record_measurement("m", 1.0)
    for attr in ("name", "traces", "annotation_layers", "measurements", "history",
                 "metadata", "created_at", "modified_at"):
        assert hasattr(s, attr), attr
    assert s.name == "Attr"
    assert set(s.traces) == {"CH1"}  # name -> trace
    assert isinstance(s.traces["CH1"], tk.WaveformTrace)
    assert "L" in s.annotation_layers
    assert "m" in s.measurements
    assert isinstance(s.metadata, dict)
    assert isinstance(s.created_at, datetime) and isinstance(s.modified_at, datetime)
    assert s.modified_at >= s.created_at
    assert [e.operation for e in s.history.entries] == ["load_trace"]


def test_basic_session_usage(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns = run('''
        import tracekit as tk

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
        data = np.sin(np.linspace(0, 2*np.pi, 1000))
        my_trace = tk.WaveformTrace(data=data, sample_rate=1e6)
        session.add_trace("SYNTHETIC", my_trace)
    ''')
    assert capsys.readouterr().out.splitlines()[0] == "['CH1', 'DIGITAL']"
    s = ns["session"]
    assert s.list_traces() == ["CH1", "DIGITAL", "SYNTHETIC"]
    syn = s.get_trace("SYNTHETIC")
    assert syn.sample_rate == 1e6
    assert np.array_equal(np.asarray(syn.data), ns["data"])
    assert np.allclose(np.asarray(ns["trace"].data), np.asarray(ns["trace1"].data))
    assert isinstance(ns["trace2"], tk.DigitalTrace)
    assert isinstance(ns["trace1"], tk.WaveformTrace)


def test_complete_analysis_workflow(work: Path) -> None:
    ns = run('''
        import tracekit as tk

        # Create session
        session = tk.Session(name="Power Rail Analysis")

        # Load and analyze
        trace = session.load_trace("power_supply.wfm", name="5V_RAIL")

        # Record measurements
        freq = tk.frequency(trace)
        session.record_measurement(
            "frequency",
            freq,
            unit="Hz",
            trace_name="5V_RAIL"
        )

        ripple = tk.amplitude(trace)
        session.record_measurement(
            "ripple_vpp",
            ripple,
            unit="V",
            trace_name="5V_RAIL",
            acceptable=ripple < 0.1
        )

        # Add annotations
        session.annotate(
            "Transient response",
            time_range=(1e-3, 2e-3),
            layer="analysis"
        )

        session.annotate(
            "Maximum ripple",
            time=1.5e-3,
            layer="measurements"
        )

        # Save session
        session.save("power_analysis.tks", compress=True)

        # Get summary
        print(session.summary())
    ''')
    assert ns["freq"] == pytest.approx(1e3, rel=1e-3)
    assert ns["ripple"] == pytest.approx(6.6, rel=0.02)
    s = tk.load_session(work / "power_analysis.tks")
    m = s.get_measurements()
    assert m["frequency"]["value"] == pytest.approx(1e3, rel=1e-3)
    assert m["frequency"]["unit"] == "Hz" and m["frequency"]["trace_name"] == "5V_RAIL"
    assert m["ripple_vpp"]["acceptable"] is False
    assert sorted(s.annotation_layers) == ["analysis", "measurements"]
    [rng] = s.get_annotations(layer="analysis")
    assert rng.time_range == (1e-3, 2e-3)


def test_load_trace_names_and_options(work: Path) -> None:
    ns = run('''
        import tracekit as tk
        session = tk.Session()

        # Load with auto-generated name
        trace1 = session.load_trace("capture.wfm")

        # Load with custom name
        trace2 = session.load_trace("data.csv", name="SENSOR_DATA")

        # Load with loader options
        trace3 = session.load_trace("large_file.wfm", lazy=True)
    ''')
    s = ns["session"]
    assert s.list_traces() == ["capture", "SENSOR_DATA", "large_file"]
    # "Returns: Loaded trace."
    for t in (ns["trace1"], ns["trace2"], ns["trace3"]):
        assert isinstance(t, tk.WaveformTrace) and len(t) > 0
    assert len(ns["trace2"]) == 2000
    assert ns["trace2"].sample_rate == pytest.approx(RATE)
    assert np.allclose(np.asarray(ns["trace2"].data), _signal(2000))
    assert np.array_equal(np.asarray(ns["trace1"].data), np.asarray(ns["trace3"].data))


def test_load_trace_missing_file_raises(work: Path) -> None:
    s = tk.Session()
    with pytest.raises(Exception):
        s.load_trace("no_such_file.wfm")
    assert s.list_traces() == []


def test_add_trace_example(work: Path) -> None:
    ns = run('''
        import numpy as np
        import tracekit as tk

        session = tk.Session()

        # Create synthetic waveform
        t = np.linspace(0, 1e-3, 10000)
        data = 3.3 * np.sin(2 * np.pi * 1000 * t)
        trace = tk.WaveformTrace(data=data, sample_rate=10e6)

        # Add to session
        result = session.add_trace("SINE_1KHZ", trace)
    ''')
    assert ns["result"] is None  # -> None
    t = ns["session"].get_trace("SINE_1KHZ")
    assert t.sample_rate == 10e6
    assert np.array_equal(np.asarray(t.data), ns["data"])


def test_annotate_examples(work: Path) -> None:
    ns = run('''
        import tracekit as tk
        session = tk.Session()
        session.load_trace("debug.wfm")

        # Point annotation
        session.annotate("Glitch detected", time=1.5e-6)

        # Range annotation
        session.annotate(
            "Data packet",
            time_range=(2e-6, 5e-6),
            layer="protocol"
        )

        # Custom styling
        session.annotate(
            "Critical error",
            time=10e-6,
            layer="errors",
            color="#FF0000",
            style="dashed"
        )
    ''')
    s = ns["session"]
    [g] = s.get_annotations(layer="default")  # layer: str = "default"
    assert g.text == "Glitch detected" and g.time == 1.5e-6
    assert g.annotation_type == tk.AnnotationType.POINT
    [p] = s.get_annotations(layer="protocol")
    assert p.time_range == (2e-6, 5e-6) and p.annotation_type == tk.AnnotationType.RANGE
    [e] = s.get_annotations(layer="errors")
    assert (e.color, e.style, e.time) == ("#FF0000", "dashed", 10e-6)
    s.save("ann.tks")
    [e2] = tk.load_session("ann.tks").get_annotations(layer="errors")
    assert (e2.color, e2.style, e2.time) == ("#FF0000", "dashed", 10e-6)


def test_record_measurement_example(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns = run('''
        import tracekit as tk

        session = tk.Session()
        trace = session.load_trace("signal.wfm", name="CH1")

        # Record measurements
        rise = tk.rise_time(trace)
        session.record_measurement(
            "rise_time",
            rise,
            unit="s",
            trace_name="CH1",
            standard="IEEE 181-2011"
        )

        freq = tk.frequency(trace)
        session.record_measurement(
            "frequency",
            freq,
            unit="Hz",
            trace_name="CH1",
            confidence=0.95
        )

        # Get all measurements
        measurements = session.get_measurements()
        print(measurements)
    ''')
    m = ns["measurements"]
    assert set(m) == {"rise_time", "frequency"}
    assert 0 < m["rise_time"]["value"] < 1e-3
    assert m["rise_time"]["standard"] == "IEEE 181-2011"
    assert m["rise_time"]["trace_name"] == "CH1" and m["rise_time"]["unit"] == "s"
    assert m["frequency"]["confidence"] == 0.95
    assert "IEEE 181-2011" in capsys.readouterr().out


def test_record_measurement_defaults_and_return(work: Path) -> None:
    s = tk.Session()
    assert s.record_measurement("v", 1.25) is None  # -> None
    m = s.get_measurements()["v"]
    assert m["value"] == 1.25
    assert m["unit"] == ""  # unit: str = ""
    assert m["trace_name"] is None  # trace_name: None


def test_save_examples_and_options(work: Path) -> None:
    ns = run('''
        import tracekit as tk
        session = tk.Session(name="Analysis")
        session.load_trace("capture.wfm")
        session.annotate("Start", time=0)

        # Save with all defaults
        p1 = session.save("analysis.tks")

        # Save without trace data (smaller file)
        p2 = session.save("analysis_meta.tks", include_traces=False)

        # Save uncompressed
        p3 = session.save("analysis_raw.tks", compress=False)
    ''')
    for p, name in ((ns["p1"], "analysis.tks"), (ns["p2"], "analysis_meta.tks"),
                    (ns["p3"], "analysis_raw.tks")):
        assert isinstance(p, Path)  # -> Path
        assert p.resolve() == (work / name).resolve()
        assert p.exists()
    assert (work / "analysis_meta.tks").stat().st_size < (work / "analysis.tks").stat().st_size
    full = tk.load_session("analysis.tks")
    raw = tk.load_session("analysis_raw.tks")
    assert np.array_equal(np.asarray(full.get_trace("capture").data),
                          np.asarray(raw.get_trace("capture").data))
    meta = tk.load_session("analysis_meta.tks")
    assert [a.text for a in meta.get_annotations()] == ["Start"]
    # without trace data: the trace is not in the file
    assert meta.list_traces() == []


def test_save_default_path_generated_then_reused(work: Path) -> None:
    s = tk.Session(name="Never Saved")
    s.record_measurement("x", 1)
    p = s.save()  # "default: use existing or generate"
    assert isinstance(p, Path) and p.exists() and p.suffix == ".tks"
    s.record_measurement("y", 2)
    assert s.save().resolve() == p.resolve()  # the existing one
    assert set(tk.load_session(p).get_measurements()) == {"x", "y"}


def test_get_annotations_example(work: Path) -> None:
    ns = run('''
        import tracekit as tk
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
    ''')
    assert isinstance(ns["all_annotations"], list)
    assert sorted(a.text for a in ns["all_annotations"]) == ["Error", "Event 1", "Event 2"]
    assert all(isinstance(a, tk.Annotation) for a in ns["all_annotations"])
    assert [a.text for a in ns["events"]] == ["Event 1", "Event 2"]
    assert sorted(a.text for a in ns["window"]) == ["Error", "Event 1", "Event 2"]
    s = ns["session"]
    assert s.get_annotations(layer="nope") == []  # a filter with no match
    assert s.get_annotations(time_range=(1e-3, 2e-3)) == []
    assert [a.text for a in s.get_annotations(layer="events", time_range=(1.9e-6, 3e-6))] == [
        "Event 2"
    ]


def test_load_session_example(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = tk.Session(name="Debug")
    s.load_trace("debug.wfm")
    s.annotate("a", time=1e-6)
    s.record_measurement("f", 10.0, unit="Hz")
    s.save("debug_session.tks")
    ns = run('''
        import tracekit as tk

        # Load saved session
        session = tk.load_session("debug_session.tks")

        # Resume analysis
        print(session.summary())
        print(f"Traces: {session.list_traces()}")

        # Access saved data
        measurements = session.get_measurements()
        annotations = session.get_annotations()
        history = session.history.entries
    ''')
    assert isinstance(ns["session"], tk.Session)  # -> Session
    assert "Traces: ['debug']" in capsys.readouterr().out
    assert ns["measurements"]["f"]["value"] == 10.0
    assert [a.text for a in ns["annotations"]] == ["a"]
    assert [h.operation for h in ns["history"]] == ["load_trace"]
    assert isinstance(ns["history"][0], tk.HistoryEntry)


def test_load_session_missing_or_garbage(work: Path) -> None:
    with pytest.raises(Exception):
        tk.load_session("nothing_here.tks")
    (work / "garbage.tks").write_bytes(b"\x80\x04not a session at all")
    with pytest.raises(Exception):
        tk.load_session("garbage.tks")


# --- Annotations -------------------------------------------------------------------


def test_annotation_dataclass_fields_and_example() -> None:
    names = [f.name for f in dc_fields(tk.Annotation)]
    assert names[:11] == [
        "text", "time", "time_range", "amplitude", "amplitude_range", "annotation_type",
        "color", "style", "visible", "created_at", "metadata",
    ]
    ns = run('''
        from tracekit import Annotation, AnnotationType

        # Point annotation
        ann1 = Annotation(
            text="Trigger point",
            time=1.5e-6,
            color="#00FF00"
        )

        # Range annotation
        ann2 = Annotation(
            text="Data burst",
            time_range=(2e-6, 5e-6),
            annotation_type=AnnotationType.RANGE,
            color="#FF6B6B",
            style="dashed"
        )

        # Horizontal reference line
        ann3 = Annotation(
            text="Threshold",
            amplitude=3.3,
            annotation_type=AnnotationType.HORIZONTAL,
            color="#0000FF"
        )

        # Region annotation (time + amplitude)
        ann4 = Annotation(
            text="Operating range",
            time_range=(0, 1e-3),
            amplitude_range=(2.5, 3.5),
            annotation_type=AnnotationType.REGION
        )
    ''')
    a1, a2, a3, a4 = (ns[f"ann{i}"] for i in range(1, 5))
    assert (a1.text, a1.time, a1.color, a1.style, a1.visible) == (
        "Trigger point", 1.5e-6, "#00FF00", "solid", True)
    assert a1.metadata == {} and isinstance(a1.created_at, datetime)
    assert a2.annotation_type is tk.AnnotationType.RANGE and a2.style == "dashed"
    assert a3.amplitude == 3.3 and a3.annotation_type is tk.AnnotationType.HORIZONTAL
    assert a4.amplitude_range == (2.5, 3.5) and a4.annotation_type is tk.AnnotationType.REGION


def test_annotation_type_values() -> None:
    assert {t.name: t.value for t in tk.AnnotationType} == {
        "POINT": "point", "RANGE": "range", "VERTICAL": "vertical",
        "HORIZONTAL": "horizontal", "REGION": "region", "TEXT": "text",
    }


def test_annotation_layer_example() -> None:
    ns = run('''
        from tracekit import AnnotationLayer, Annotation

        # Create layer
        events = AnnotationLayer(
            name="Protocol Events",
            color="#00FF00",
            description="Communication protocol events"
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
    ''')
    ev = ns["events"]
    assert (ev.name, ev.color, ev.description, ev.visible) == (
        "Protocol Events", "#00FF00", "Communication protocol events", True)
    assert [a.text for a in ns["at_time"]] == ["DATA"]
    assert [a.text for a in ns["in_range"]] == ["START", "DATA"]
    assert ev.annotations == [] and ev.locked is False


def test_locked_layer_refuses_modifications() -> None:
    layer = tk.AnnotationLayer(name="L")
    layer.add(text="keep", time=1.0)
    layer.locked = True
    with pytest.raises(Exception):
        layer.add(text="no", time=2.0)
    with pytest.raises(Exception):
        layer.clear()
    assert [a.text for a in layer.annotations] == ["keep"]
    layer.locked = False
    layer.add(text="yes", time=2.0)
    assert [a.text for a in layer.annotations] == ["keep", "yes"]


def test_multiple_layers_example(work: Path) -> None:
    ns = run('''
        import tracekit as tk

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
    ''')
    assert [a.text for a in ns["uart_annotations"]] == ["Start bit", "Data byte"]
    assert [a.text for a in ns["error_annotations"]] == ["Parity error"]
    s = ns["session"]
    assert s.annotation_layers["uart"].color == "#0000FF"
    s.save("layers.tks")
    back = tk.load_session("layers.tks")
    u = back.annotation_layers["uart"]
    assert (u.color, u.description) == ("#0000FF", "UART protocol decode")
    assert sorted(back.annotation_layers) == ["errors", "measurements", "uart"]
    with pytest.raises(KeyError):
        back.annotation_layers["missing"]


# --- Operation history -----------------------------------------------------------


def test_history_entry_fields() -> None:
    assert [f.name for f in dc_fields(tk.HistoryEntry)][:8] == [
        "operation", "parameters", "result", "timestamp", "duration_ms", "success",
        "error_message", "metadata",
    ]


def test_operation_history_example(capsys: pytest.CaptureFixture[str]) -> None:
    ns = run('''
        from tracekit.session import OperationHistory

        # Create history
        history = OperationHistory(max_entries=100)

        # Record operations
        history.record(
            "load_trace",
            parameters={"path": "capture.wfm"},
            result="Loaded successfully",
            duration_ms=45.3
        )

        history.record(
            "measure_frequency",
            parameters={"trace": "CH1"},
            result="1000000.0 Hz",
            duration_ms=2.1
        )

        history.record(
            "apply_filter",
            parameters={"type": "lowpass", "cutoff": 1e6},
            success=False,
            error_message="Cutoff frequency too high"
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
    ''')
    assert [e.operation for e in ns["all_ops"]] == ["load_trace", "measure_frequency",
                                                   "apply_filter"]
    assert [e.operation for e in ns["successful"]] == ["load_trace", "measure_frequency"]
    assert [e.result for e in ns["measurements"]] == ["1000000.0 Hz"]
    f = ns["all_ops"][2]
    assert (f.success, f.error_message) == (False, "Cutoff frequency too high")
    assert f.parameters == {"type": "lowpass", "cutoff": 1e6}
    assert ns["all_ops"][0].duration_ms == 45.3
    assert capsys.readouterr().out == (
        "Total operations: 3\nSuccess rate: 2/3\nTotal time: 47.4 ms\n"
    )
    h = ns["history"]
    assert h.max_entries == 100 and h.auto_record is True
    assert h.find(operation="nothing") == []


def test_operation_history_defaults_and_limit() -> None:
    h = tk.OperationHistory()
    assert h.entries == [] and h.max_entries == 0 and h.auto_record is True
    for i in range(50):
        h.record(f"op{i}")
    assert len(h.entries) == 50  # 0 = unlimited
    small = tk.OperationHistory(max_entries=2)
    for i in range(5):
        small.record(f"op{i}")
    assert [e.operation for e in small.entries] == ["op3", "op4"]


def test_script_generation_example(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns = run('''
        import tracekit as tk

        session = tk.Session()
        session.load_trace("signal.wfm")
        tk.frequency(session.get_trace("signal"))
        tk.rise_time(session.get_trace("signal"))

        # Export history as Python script
        script = session.history.to_script()
        print(script)
    ''')
    script = ns["script"]
    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env python3"
    assert lines[1] == '"""TraceKit analysis script.'
    assert lines[2] == ""
    assert re.fullmatch(r"Generated: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", lines[3]), lines[3]
    assert lines[4] == '"""'
    assert "import tracekit as tk" in script
    calls = [ln for ln in lines if ln.startswith("tk.")]
    assert calls == ['tk.load_trace(path="signal.wfm")', "tk.measure_frequency()",
                     "tk.measure_rise_time()"]
    heads = [ln for ln in lines if re.fullmatch(r"# \d\d:\d\d:\d\d - \w+", ln)]
    assert [h.split(" - ")[1] for h in heads] == ["load_trace", "measure_frequency",
                                                  "measure_rise_time"]
    # each call under its comment, as the document's output shows
    for h, c in zip(heads, calls):
        assert lines[lines.index(h) + 1] == c
    assert script in capsys.readouterr().out
    # the script runs (tracekit falls back to evident.compat.tracekit)
    exec(compile(script, "replay.py", "exec"), {"__name__": "__main__"})


def test_to_script_survives_save_and_load(work: Path) -> None:
    s = tk.Session()
    s.load_trace("signal.wfm")
    tk.frequency(s.get_trace("signal"))
    s.save("hist.tks")
    back = tk.load_session("hist.tks")
    calls = [ln for ln in back.history.to_script().splitlines() if ln.startswith("tk.")]
    assert calls == ['tk.load_trace(path="signal.wfm")', "tk.measure_frequency()"]
    a, b = s.history.entries, back.history.entries
    assert [(e.operation, e.parameters, e.success) for e in a] == [
        (e.operation, e.parameters, e.success) for e in b]


# --- Audit trail: seed 000 examples ----------------------------------------------


def test_basic_audit_trail_example(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns = run('''
        import tracekit as tk

        # Create audit trail with secret key
        # WARNING: Use secure key management in production!
        audit = tk.AuditTrail(secret_key=b"your-secret-key")

        # Record actions
        audit.record_action(
            "load_trace",
            {"file": "oscilloscope.wfm", "size_mb": 150},
            user="alice"
        )

        audit.record_action(
            "compute_fft",
            {"samples": 1000000, "window": "hann"},
            user="alice"
        )

        audit.record_action(
            "measure_thd",
            {"fundamental_freq": 1000.0, "thd_db": -65.3},
            user="alice"
        )

        # Verify integrity
        is_valid = audit.verify_integrity()
        print(f"Audit trail valid: {is_valid}")

        # Export audit log
        audit.export_audit_log("audit.json", format="json")
        audit.export_audit_log("audit.csv", format="csv")
    ''')
    assert "Audit trail valid: True" in capsys.readouterr().out
    ref = reference(ns["audit"], b"your-secret-key")
    assert ref.verify_integrity()
    ref._export_json(work / "ref.json")
    ref._export_csv(work / "ref.csv")
    assert (work / "audit.json").read_bytes() == (work / "ref.json").read_bytes()
    assert (work / "audit.csv").read_bytes() == (work / "ref.csv").read_bytes()


def test_record_action_example_entry_fields(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns = run('''
        import tracekit as tk
        audit = tk.AuditTrail(secret_key=b"key")

        # Record with automatic user detection
        entry1 = audit.record_action(
            "load_trace",
            {"file": "data.wfm", "size_mb": 100}
        )

        # Record with explicit user
        entry2 = audit.record_action(
            "export_results",
            {"format": "csv", "rows": 1000},
            user="bob"
        )

        print(f"Action: {entry2.action}")
        print(f"User: {entry2.user}")
        print(f"Host: {entry2.host}")
        print(f"Time: {entry2.timestamp}")
    ''')
    e1, e2 = ns["entry1"], ns["entry2"]
    assert isinstance(e1, tk.AuditEntry)
    assert e1.user == getpass.getuser()  # defaults to current user
    assert e2.user == "bob"
    assert e1.host == socket.gethostname() == e2.host
    assert e1.previous_hash == "GENESIS" and e2.previous_hash == e1.hmac
    out = capsys.readouterr().out
    assert f"Action: export_results\nUser: bob\nHost: {socket.gethostname()}\nTime: " in out
    # ISO 8601, UTC, close to now
    ts = datetime.fromisoformat(e2.timestamp.replace("Z", "+00:00"))
    assert ts.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - ts) < timedelta(minutes=1)
    assert [f.name for f in dc_fields(tk.AuditEntry)] == [
        "timestamp", "action", "details", "user", "host", "previous_hash", "hmac"]


def test_verify_integrity_example_details_tampering() -> None:
    ns = run('''
        import tracekit as tk
        audit = tk.AuditTrail(secret_key=b"key")
        audit.record_action("action1", {"value": 100})
        audit.record_action("action2", {"value": 200})

        # Verify integrity
        assert audit.verify_integrity()  # Should pass

        # Detect tampering
        audit._entries[0].details["value"] = 999
        assert not audit.verify_integrity()  # Should fail
    ''')
    assert ns["audit"].verify_integrity() is False


def test_get_entries_example(capsys: pytest.CaptureFixture[str]) -> None:
    ns = run('''
        import tracekit as tk
        from datetime import datetime, UTC, timedelta

        audit = tk.AuditTrail(secret_key=b"key")

        # Record various actions
        audit.record_action("load", {"file": "a.wfm"})
        audit.record_action("analyze", {"type": "fft"})
        audit.record_action("load", {"file": "b.wfm"})
        audit.record_action("export", {"format": "csv"})

        # Query by action type
        loads = audit.get_entries(action_type="load")
        print(f"Load operations: {len(loads)}")

        # Query by time
        one_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        recent = audit.get_entries(since=one_hour_ago)
        print(f"Recent entries: {len(recent)}")
    ''')
    assert capsys.readouterr().out == "Load operations: 2\nRecent entries: 4\n"
    assert [e.details["file"] for e in ns["loads"]] == ["a.wfm", "b.wfm"]
    assert all(isinstance(e, tk.AuditEntry) for e in ns["recent"])


def test_export_audit_log_example(work: Path) -> None:
    ns = run('''
        import tracekit as tk
        audit = tk.AuditTrail(secret_key=b"key")
        audit.record_action("test1", {"value": 1})
        audit.record_action("test2", {"value": 2})

        # Export as JSON (human-readable, structured)
        r1 = audit.export_audit_log("audit.json", format="json")

        # Export as CSV (spreadsheet-friendly)
        r2 = audit.export_audit_log("audit.csv", format="csv")
    ''')
    assert ns["r1"] is None and ns["r2"] is None  # -> None
    ref = reference(ns["audit"], b"key")
    ref._export_json(work / "ref.json")
    ref._export_csv(work / "ref.csv")
    assert (work / "audit.json").read_bytes() == (work / "ref.json").read_bytes()
    assert (work / "audit.csv").read_bytes() == (work / "ref.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO((work / "audit.csv").read_text())))
    assert [r["detail_value"] for r in rows] == ["1", "2"]


def test_global_audit_trail_example(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns = run('''
        import tracekit as tk

        # Use global singleton (convenient for simple cases)
        tk.record_audit("start_analysis", {"project": "power_supply"})
        tk.record_audit("load_trace", {"file": "capture.wfm"})
        tk.record_audit("compute_measurements", {"count": 10})

        # Access global trail
        audit = tk.get_global_audit_trail()
        entries = audit.get_entries()
        print(f"Total audit entries: {len(entries)}")

        # Verify and export
        assert audit.verify_integrity()
        audit.export_audit_log("global_audit.json")
    ''')
    assert capsys.readouterr().out == "Total audit entries: 3\n"
    data = json.loads((work / "global_audit.json").read_text())  # default format: json
    assert [e["action"] for e in data["entries"]] == [
        "start_analysis", "load_trace", "compute_measurements"]
    assert tk.get_global_audit_trail() is ns["audit"]  # the singleton


def test_global_secret_key_only_first_call(work: Path) -> None:
    k1 = b"first-global-key-0123456789"
    g = tk.get_global_audit_trail(secret_key=k1)
    assert tk.get_global_audit_trail(secret_key=b"second-key-ignored-xxxxx") is g
    e = tk.record_audit("a", {"n": 1}, user="carol")
    assert isinstance(e, tk.AuditEntry) and e.user == "carol"
    e2 = tk.record_audit("b", {"n": 2})
    assert e2.user == getpass.getuser()
    # the HMACs are made with the first key
    ref = reference(g, k1)
    assert ref.verify_integrity()
    assert [x.hmac for x in ref._entries] == [e.hmac, e2.hmac]


# --- Complete examples ---------------------------------------------------------


EXAMPLE_1 = '''
import tracekit as tk
import numpy as np

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
print("\\n" + session.summary())
'''

EXAMPLE_3 = '''
import tracekit as tk

# Load previous session
session = tk.load_session("motor_debug.tks")

print(f"Loaded session: {session.name}")
print(f"Created: {session.created_at}")
print(f"Modified: {session.modified_at}")

# Access saved data
print(f"\\nTraces: {session.list_traces()}")

measurements = session.get_measurements()
for name, data in measurements.items():
    print(f"  {name}: {data['value']} {data['unit']}")

# View annotations by layer
for layer_name, layer in session.annotation_layers.items():
    print(f"\\nLayer '{layer_name}':")
    for ann in layer.annotations:
        print(f"  - {ann.text} @ {ann.time}")

# Review operation history
print(f"\\nOperation history ({len(session.history.entries)} entries):")
for entry in session.history.entries[:5]:
    status = "✓" if entry.success else "✗"
    print(f"  {status} {entry.operation} ({entry.duration_ms:.1f}ms)")

# Continue analysis
trace = session.get_trace("PWM")
rise = tk.rise_time(trace)
session.record_measurement("rise_time", rise, "s", trace_name="PWM")

# Save updated session
session.save()
'''


def test_example_1_and_3_resume(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns1 = run(EXAMPLE_1)
    out = capsys.readouterr().out
    assert f"Session saved to {ns1['path']}" in out
    assert Path(ns1["path"]).resolve() == (work / "motor_debug.tks").resolve()
    assert ns1["duty"] == pytest.approx(50.0, abs=1.0)  # in %
    created = ns1["session"].created_at
    ns3 = run(EXAMPLE_3)
    out = capsys.readouterr().out
    assert "Loaded session: Motor Controller Debug" in out
    assert "Traces: ['PWM', 'CURRENT', 'CAN']" in out
    assert "  duty_cycle: " in out and " %\n" in out
    assert "Layer 'events':\n  - Motor start @ 0" in out
    assert "  - Acceleration phase @ None" in out
    assert "Operation history (" in out and "✓ load_trace (" in out
    s = ns3["session"]
    assert s.created_at == created
    assert s.metadata == {"project": "MC-2024", "engineer": "Alice"}
    # "Save updated session": session.save() wrote motor_debug.tks again
    back = tk.load_session("motor_debug.tks")
    m = back.get_measurements()
    assert set(m) == {"pwm_frequency", "duty_cycle", "rise_time"}
    assert m["rise_time"]["unit"] == "s" and m["rise_time"]["trace_name"] == "PWM"
    assert back.modified_at >= s.created_at
    assert sorted(back.annotation_layers) == ["events", "issues", "phases"]
    [o] = back.get_annotations(layer="issues")
    assert o.color == "#FF0000"
    assert np.array_equal(np.asarray(back.get_trace("PWM").data),
                          np.asarray(ns1["pwm"].data))
    assert back.get_trace("PWM").sample_rate == pytest.approx(RATE)


def test_example_2_session_with_audit(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns = run('''
        import tracekit as tk

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
            "measure_frequency",
            {"result": freq, "unit": "Hz", "standard": "IEEE 181"}
        )

        thd = tk.thd(trace)
        session.record_measurement("thd", thd, "%")
        audit.record_action(
            "measure_thd",
            {"result": thd, "unit": "%", "harmonics": 10}
        )

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
    ''')
    assert capsys.readouterr().out == "Audit trail verified - no tampering detected\n"
    audit = ns["audit"]
    assert len(audit.get_entries()) == 6
    data = json.loads((work / "compliance_audit.json").read_text())
    assert len(data["entries"]) == 5  # exported before the sixth
    m = tk.load_session("compliance_session.tks").get_measurements()
    assert m["frequency"]["unit"] == "Hz" and m["thd"]["unit"] == "%"  # unit positional
    assert math.isfinite(ns["thd"]) and ns["thd"] > 0


def test_example_4_multi_layer(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns = run('''
        import tracekit as tk

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
            "Timing violation",
            time=5e-6,
            layer="issues",
            color="#FF0000",
            style="dashed"
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
        window_annotations = session.get_annotations(
            time_range=(0, 5e-6)
        )
        print(f"Annotations in first 5μs: {len(window_annotations)}")

        session.save("uart_analysis.tks")
    ''')
    out = capsys.readouterr().out
    assert "Protocol events: 4\nIssues found: 1\n" in out
    # START@0, DATA 1-9us, Bit 0, Bit 1, Timing violation@5us
    assert sorted(a.text for a in ns["window_annotations"]) == [
        "Bit 0", "Bit 1", "DATA: 0x41", "START", "Timing violation"]
    assert "Annotations in first 5μs: 5" in out
    back = tk.load_session("uart_analysis.tks")
    assert back.annotation_layers["protocol"].description == "UART protocol decode at 115200 baud"
    assert back.annotation_layers["issues"].locked is False


def test_example_5_compliance_audit(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns = run('''
        import tracekit as tk
        from datetime import datetime, UTC

        # Initialize audit trail with production settings
        # In production: load secret_key from environment or secrets manager
        audit = tk.AuditTrail(
            secret_key=b"production-secret-key",
            hash_algorithm="sha256"
        )

        # Record compliance operations
        audit.record_action(
            "calibration_check",
            {
                "device": "Oscilloscope-001",
                "calibration_date": "2026-01-01",
                "status": "valid"
            },
            user="calibration_lab"
        )

        audit.record_action(
            "load_test_data",
            {
                "file": "compliance_test_001.wfm",
                "sha256": "abc123...",
                "size_bytes": 1048576
            },
            user="test_engineer"
        )

        audit.record_action(
            "run_measurement",
            {
                "type": "THD",
                "result": -65.3,
                "unit": "dB",
                "standard": "IEC 61000-4-7",
                "pass": True
            },
            user="test_engineer"
        )

        audit.record_action(
            "generate_report",
            {
                "format": "PDF",
                "pages": 15,
                "includes_raw_data": True
            },
            user="test_engineer"
        )

        audit.record_action(
            "review_results",
            {
                "reviewer": "senior_engineer",
                "status": "approved",
                "comments": "All measurements within specification"
            },
            user="senior_engineer"
        )

        # Verify integrity before export
        if not audit.verify_integrity():
            raise RuntimeError("Audit trail integrity check failed!")

        # Export for archival
        audit.export_audit_log("compliance_audit_2026-01-08.json", format="json")
        audit.export_audit_log("compliance_audit_2026-01-08.csv", format="csv")

        # Generate compliance report
        entries = audit.get_entries()
        print("COMPLIANCE AUDIT REPORT")
        print("=" * 60)
        print(f"Total actions: {len(entries)}")
        print(f"Integrity: VERIFIED")
        print(f"\\nAudit chain:")
        for i, entry in enumerate(entries, 1):
            print(f"{i}. {entry.timestamp} - {entry.action} by {entry.user}")
            print(f"   HMAC: {entry.hmac[:32]}...")
    ''')
    out = capsys.readouterr().out
    assert "Total actions: 5" in out
    assert re.search(r"^3\. \S+ - run_measurement by test_engineer$", out, re.M)
    assert re.search(r"^   HMAC: [0-9a-f]{32}\.\.\.$", out, re.M)
    ref = reference(ns["audit"], b"production-secret-key")
    ref._export_json(work / "r.json")
    ref._export_csv(work / "r.csv")
    assert (work / "compliance_audit_2026-01-08.json").read_bytes() == (work / "r.json").read_bytes()
    assert (work / "compliance_audit_2026-01-08.csv").read_bytes() == (work / "r.csv").read_bytes()


# --- Best practices ----------------------------------------------------------------


def test_best_practices_snippets(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_SECRET_KEY", "a-key-from-the-environment")
    ns = run('''
        import tracekit as tk
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
            pass_criteria=thd_value < -60
        )
        p = session.save()  # Quick save

        import os
        secret_key = os.environ.get("AUDIT_SECRET_KEY").encode()
        audit = tk.AuditTrail(secret_key=secret_key)
        value, outcome, result_value = 1, "ok", 2.5
        audit.record_action("action", {
            "parameter": value,
            "context": "information",
            "result": outcome
        })
        assert audit.verify_integrity(), "Audit tampering detected!"
        from datetime import datetime
        timestamp = datetime.now().strftime("%Y%m%d_%H%M%S")
        audit.export_audit_log(f"audit_{timestamp}.json")
        audit.record_action(
            "measurement",
            {
                "type": "THD",
                "standard": "IEC 61000-4-7",
                "equipment": "OSC-001",
                "calibration_date": "2026-01-01",
                "result": result_value
            }
        )
    ''')
    back = tk.load_session(ns["p"])
    assert back.name == "2026-01-08_Power_Supply_Debug"
    assert back.metadata == {"project": "PSU-REV-B", "engineer": "Alice",
                             "dut_serial": "PSU-001234"}
    m = back.get_measurements()["thd"]
    assert (m["value"], m["unit"], m["pass_criteria"], m["standard"]) == (
        -65.3, "dB", True, "IEC 61000-4-7")
    # annotations without time are text annotations
    assert [a.annotation_type for a in back.get_annotations(layer="issues")] == [
        tk.AnnotationType.TEXT]
    [exported] = list(work.glob("audit_*.json"))
    assert json.loads(exported.read_text())["entries"][0]["details"]["result"] == "ok"
    ref = reference(ns["audit"], b"a-key-from-the-environment")
    assert ref.verify_integrity()


# --- seed 001: the module's own statements -----------------------------------------


def test_module_exports() -> None:
    for name in ("AuditEntry", "AuditTrail", "get_global_audit_trail", "record_audit"):
        assert name in tk.__all__ and callable(getattr(tk, name))


def test_module_docstring_example(work: Path) -> None:
    ns = run('''
        from tracekit.core.audit import AuditTrail
        audit = AuditTrail(secret_key=b"my-secret-key")
        audit.record_action("load_trace", {"file": "data.bin"}, user="alice")
        audit.record_action("compute_fft", {"samples": 1000000}, user="alice")
        # Verify integrity
        is_valid = audit.verify_integrity()
        # Export audit log
        audit.export_audit_log("audit.json", format="json")
    ''')
    assert ns["is_valid"] is True
    ref = reference(ns["audit"], b"my-secret-key")
    ref._export_json(work / "ref.json")
    assert (work / "audit.json").read_bytes() == (work / "ref.json").read_bytes()


def test_docstring_examples_of_001(work: Path) -> None:
    run('''
        from tracekit.core.audit import AuditTrail
        audit = AuditTrail(secret_key=b"my-secret")
        audit.record_action("operation", {"param": "value"})
        assert audit.verify_integrity()

        audit = AuditTrail(secret_key=b"key")
        entry = audit.record_action(
            "load_trace",
            {"file": "data.bin", "size_mb": 100},
            user="alice"
        )

        audit = AuditTrail(secret_key=b"key")
        audit.record_action("action1", {})
        audit.record_action("action2", {})
        assert audit.verify_integrity() # Should be True
        # Tampering with an entry would break the chain
        audit._entries[0].action = "modified"
        assert not audit.verify_integrity() # Should be False

        audit = AuditTrail(secret_key=b"key")
        audit.record_action("test", {})
        audit.export_audit_log("audit.json", format="json")

        from datetime import datetime, UTC, timedelta
        audit = AuditTrail(secret_key=b"key")
        audit.record_action("load", {})
        audit.record_action("analyze", {})
        # Get all load actions
        loads = audit.get_entries(action_type="load")
        # Get entries from last hour
        recent = audit.get_entries(since=datetime.now(UTC) - timedelta(hours=1))
        assert len(loads) == 1 and len(recent) == 2

        from tracekit.core.audit import get_global_audit_trail
        audit = get_global_audit_trail(secret_key=b"my-key")
        audit.record_action("test", {})

        from tracekit.core.audit import record_audit
        record_audit("compute_fft", {"samples": 1000000})
    ''')
    g = tk.get_global_audit_trail()
    assert [e.action for e in g.get_entries()] == ["test", "compute_fft"]
    ref = reference(g, b"my-key")
    assert ref.verify_integrity()


def test_audit_entry_to_dict_from_dict() -> None:
    e = tk.AuditEntry("2026-01-01T00:00:00Z", "a", {"k": [1, {"x": 2}]}, "u", "h", "GENESIS")
    assert e.hmac == ""  # hmac: field(default="")
    d = e.to_dict()
    assert d == {"timestamp": "2026-01-01T00:00:00Z", "action": "a",
                 "details": {"k": [1, {"x": 2}]}, "user": "u", "host": "h",
                 "previous_hash": "GENESIS", "hmac": ""}
    d["details"]["k"][1]["x"] = 3  # asdict: a deep copy
    assert e.details == {"k": [1, {"x": 2}]}
    assert tk.AuditEntry.from_dict(e.to_dict()) == e


def test_random_key_when_none() -> None:
    a = tk.AuditTrail()
    b = tk.AuditTrail(secret_key=None)
    ea = a.record_action("x", {}, user="u")
    eb = b.record_action("x", {}, user="u")
    assert a.verify_integrity() and b.verify_integrity()
    assert len(a._secret_key) == 32 and a._secret_key != b._secret_key
    # an HMAC under the random key, not under some fixed key
    assert ea.hmac == reference(a, a._secret_key)._compute_hmac(
        seed()["AuditEntry"].from_dict(ea.to_dict()))


@pytest.mark.parametrize("alg", ["sha256", "sha512"])
def test_hmac_input_exactly_the_seeds(alg: str) -> None:
    key = b"k" * 40
    audit = tk.AuditTrail(secret_key=key, hash_algorithm=alg)
    details_list = [
        {},
        {"b": 1, "a": 2},
        {"nested": {"z": [1, 2, {"y": None, "x": True}], "a": 1.5}},
        {"text": "Ω µs 日本 😀 \"q\" \\ \n\t", "ctl": "\x00\x1f\x7f"},
        {"f": 0.1 + 0.2, "tiny": 5e-324, "big": 1e20, "neg0": -0.0, "e": 1e-9},
        {"int": 2**70, "neg": -(2**63) - 1, "bool": False, "none": None},
        {"tuple": (1, 2), "unicode key ü": "v", "": "empty key"},
    ]
    for i, d in enumerate(details_list):
        audit.record_action(f"act|{i}", d, user=f"üser {i}")
    ref = reference(audit, key, alg)
    for mine, theirs in zip(audit.get_entries(), ref._entries):
        assert mine.hmac == ref._compute_hmac(theirs)
        assert len(mine.hmac) == (64 if alg == "sha256" else 128)
    assert ref.verify_integrity()
    assert audit.verify_integrity()
    # the canonical string, spelled out for one entry
    e = audit.get_entries()[1]
    canonical = (f"{e.timestamp}|{e.action}|{json.dumps(e.details, sort_keys=True)}"
                 f"|{e.user}|{e.host}|{e.previous_hash}")
    assert canonical.split("|")[3] == '{"a": 2, "b": 1}'
    h = hmac_mod.new(key, canonical.encode("utf-8"), getattr(hashlib, alg)).hexdigest()
    assert e.hmac == h


def test_entries_chain_from_genesis() -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    es = [audit.record_action(f"a{i}", {"i": i}) for i in range(5)]
    assert es[0].previous_hash == "GENESIS"
    for prev, cur in zip(es, es[1:]):
        assert cur.previous_hash == prev.hmac
    assert [e.hmac for e in audit._entries] == [e.hmac for e in es]


def test_empty_trail_is_valid_and_exports(work: Path) -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    assert audit.verify_integrity() is True  # Empty trail is valid
    assert audit.get_entries() == []
    audit.export_audit_log("e.json")
    audit.export_audit_log("e.csv", format="csv")
    ref = reference(audit, KEY)
    ref._export_json(work / "r.json")
    ref._export_csv(work / "r.csv")
    assert (work / "e.json").read_bytes() == (work / "r.json").read_bytes()
    assert (work / "e.csv").read_bytes() == (work / "r.csv").read_bytes() == b""


@pytest.mark.parametrize(
    "tamper",
    [
        "audit._entries[1].action = 'modified'",
        "audit._entries[1].details['i'] = 99",
        "audit._entries[1].details['new'] = 1",
        "audit._entries[1].user = 'mallory'",
        "audit._entries[1].host = 'elsewhere'",
        "audit._entries[1].timestamp = audit._entries[0].timestamp",
        "audit._entries[1].hmac = '0' * 64",
        "audit._entries[1].previous_hash = 'GENESIS'",
        "audit._entries[0].previous_hash = 'x'",
        "del audit._entries[1]",
        "del audit._entries[0]",
        "audit._entries.reverse()",
        "audit._entries.insert(1, audit._entries[2])",
        "audit._entries.append(type(audit._entries[0])(audit._entries[-1].timestamp, 'forged', {},"
        " 'u', 'h', audit._entries[-1].hmac, 'f' * 64))",
    ],
)
def test_tampering_detected(tamper: str) -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    for i in range(4):
        audit.record_action(f"a{i}", {"i": i, "nested": {"l": [i]}})
    assert audit.verify_integrity()
    exec(tamper, {"audit": audit})
    assert audit.verify_integrity() is False


def test_tampering_nested_detail_detected() -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    audit.record_action("a", {"nested": {"l": [1, 2]}})
    audit._entries[0].details["nested"]["l"].append(3)
    assert audit.verify_integrity() is False


def test_other_key_fails_verification() -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    audit.record_action("a", {"v": 1})
    ref = reference(audit, b"another-key-entirely-xx")
    assert ref.verify_integrity() is False
    assert reference(audit, KEY).verify_integrity() is True


def test_unsupported_hash_algorithm_valueerror() -> None:
    with pytest.raises(ValueError):
        a = tk.AuditTrail(secret_key=KEY, hash_algorithm="md5")  # type: ignore[arg-type]
        a.record_action("x", {})


def test_export_unsupported_format_valueerror(work: Path) -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    audit.record_action("x", {})
    with pytest.raises(ValueError, match="Unsupported format: xml"):
        audit.export_audit_log("a.xml", format="xml")  # type: ignore[arg-type]


def test_export_creates_parent_dirs_and_overwrites(work: Path) -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    audit.record_action("x", {"v": 1})
    target = work / "deep" / "er" / "audit.json"
    audit.export_audit_log(str(target))  # path_obj.parent.mkdir(parents=True)
    assert target.exists()
    target.write_text("x" * 100000)  # a path that exists (longer than the export)
    audit.record_action("y", {"v": 2})
    audit.export_audit_log(str(target))
    ref = reference(audit, KEY)
    ref._export_json(work / "r.json")
    assert target.read_bytes() == (work / "r.json").read_bytes()
    c = work / "deep" / "c.csv"
    c.write_text("old,content\n" * 1000)
    audit.export_audit_log(str(c), format="csv")
    ref._export_csv(work / "r.csv")
    assert c.read_bytes() == (work / "r.csv").read_bytes()


def test_export_byte_identical_edge_details(work: Path) -> None:
    audit = tk.AuditTrail(secret_key=KEY, hash_algorithm="sha512")
    audit.record_action("first", {"b": 1, "a": "x"}, user="alice")
    audit.record_action("ünïcode ✓", {"text": "Ω µs 日本 😀", "q": 'a,"b"\nc\r\n'},
                        user="bób")
    audit.record_action("nested", {"d": {"z": 1, "a": [1, 2.5, None, True]}, "a": None})
    audit.record_action("nums", {"f": 0.1 + 0.2, "big": 2**70, "e": 1e-9, "h": 1e20,
                                 "n0": -0.0, "nan": float("nan"), "inf": float("inf")})
    audit.record_action("empty", {})
    audit.record_action("strings", {"s": "", "t": "null", "ctl": "\x00\x1f\x7f\u2028"})
    audit.export_audit_log("x.json", format="json")
    audit.export_audit_log("x.csv", format="csv")
    ref = reference(audit, KEY, "sha512")
    assert ref.verify_integrity()
    ref._export_json(work / "r.json")
    ref._export_csv(work / "r.csv")
    assert (work / "x.json").read_bytes() == (work / "r.json").read_bytes()
    assert (work / "x.csv").read_bytes() == (work / "r.csv").read_bytes()
    assert json.loads((work / "x.json").read_text())["hash_algorithm"] == "sha512"


def test_csv_layout_columns(work: Path) -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    audit.record_action("a", {"zeta": 1, "alpha": "s"}, user="u")
    audit.record_action("b", {"mid": [1, 2]}, user="u")
    audit.export_audit_log("c.csv", format="csv")
    raw = (work / "c.csv").read_bytes()
    header = raw.split(b"\r\n")[0].decode()
    assert header == ("timestamp,action,user,host,previous_hash,hmac,"
                      "detail_alpha,detail_mid,detail_zeta")
    rows = list(csv.DictReader(io.StringIO(raw.decode(), newline="")))
    assert rows[0]["detail_alpha"] == '"s"'  # json.dumps(value)
    assert rows[0]["detail_mid"] == ""  # missing: ""
    assert rows[1]["detail_mid"] == "[1, 2]"
    assert rows[0]["previous_hash"] == "GENESIS"


def test_get_entries_filters(work: Path) -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    before = datetime.now(UTC) - timedelta(seconds=1)
    audit.record_action("load", {"f": 1})
    audit.record_action("analyze", {})
    audit.record_action("load", {"f": 2})
    all_ = audit.get_entries()
    assert [e.action for e in all_] == ["load", "analyze", "load"]
    assert audit.get_entries(action_type="missing") == []  # no match
    assert audit.get_entries(since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert len(audit.get_entries(since=before)) == 3
    assert [e.details for e in audit.get_entries(since=before, action_type="load")] == [
        {"f": 1}, {"f": 2}]
    # inclusive: an entry's own time selects it (e.timestamp >= since)
    t2 = datetime.fromisoformat(all_[2].timestamp.replace("Z", "+00:00"))
    assert all_[2] in audit.get_entries(since=t2)
    # the list is a copy: changing it leaves the trail
    got = audit.get_entries()
    got.clear()
    assert len(audit.get_entries()) == 3
    # the entries are the trail's objects (AuditEntry)
    assert audit.get_entries()[0] is audit._entries[0]


def test_details_with_non_str_key(work: Path) -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    # TraceKit's json.dumps(sort_keys=True) refuses keys of mixed types
    with pytest.raises(TypeError):
        audit.record_action("mixed", {1: "one", "2": "two"})
    audit.record_action("k", {1: "one", 3: "three"})
    ref = reference(audit, KEY)
    assert ref.verify_integrity() and audit.verify_integrity()
    audit.export_audit_log("k.json")
    ref._export_json(work / "r.json")
    assert (work / "k.json").read_bytes() == (work / "r.json").read_bytes()


def test_non_json_details_typeerror() -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    with pytest.raises(TypeError):
        audit.record_action("bad", {"obj": object()})
    assert audit.get_entries() == []


# --- README: a trail kept in an evident log, reopened -------------------------------


def test_trail_with_path_reopens(work: Path) -> None:
    key = b"k" * 32
    with tk.AuditTrail(secret_key=key, path="trail.jsonl") as a:
        a.record_action("one", {"v": 1}, user="u")
        a.record_action("two", {"w": [1, "ü"]}, user="u")
        hmacs = [e.hmac for e in a.get_entries()]
    with tk.AuditTrail(secret_key=key, path="trail.jsonl") as b:
        assert [e.hmac for e in b.get_entries()] == hmacs
        assert b.verify_integrity()
        b.record_action("three", {}, user="u")
        assert b.get_entries()[2].previous_hash == hmacs[1]


# --- session round trips --------------------------------------------------------


def test_session_round_trip_everything(work: Path) -> None:
    s = tk.Session(name="Sëssion ✓ 日本")
    s.metadata.update({"nested": {"a": [1, 2, {"b": None}]}, "ü": "ö"})
    s.load_trace("capture.wfm", name="CH1")
    s.add_trace("DIG", tk.DigitalTrace(data=np.array([0, 1, 1, 0], dtype=bool), sample_rate=1e3))
    s.add_trace("Ω", tk.WaveformTrace(data=np.arange(10, dtype=np.float64), sample_rate=5.0))
    s.annotate("pt", time=1e-6, layer="A", color="red", style="dotted", note="meta")
    s.annotate("rng", time_range=(1e-6, 2e-6), layer="A")
    s.annotate("amp", amplitude=3.3, layer="B")
    s.annotation_layers["B"].locked = True
    s.annotation_layers["B"].visible = False
    s.record_measurement("m1", 1.5, unit="V", trace_name="CH1", extra={"k": [1]})
    s.history.record("custom", parameters={"z": 1, "a": 2}, result="ok", duration_ms=3.25)
    p = s.save("rt.tks")
    b = tk.load_session(p)
    assert b.name == "Sëssion ✓ 日本"
    assert b.metadata == {"nested": {"a": [1, 2, {"b": None}]}, "ü": "ö"}
    assert b.list_traces() == ["CH1", "DIG", "Ω"]
    assert np.array_equal(np.asarray(b.get_trace("CH1").data), np.asarray(s.get_trace("CH1").data))
    assert list(np.asarray(b.get_trace("DIG").data)) == [False, True, True, False]
    assert isinstance(b.get_trace("DIG"), tk.DigitalTrace)
    assert b.get_trace("Ω").sample_rate == 5.0
    [pt, rng] = b.get_annotations(layer="A")
    assert (pt.text, pt.time, pt.color, pt.style) == ("pt", 1e-6, "red", "dotted")
    assert pt.metadata == {"note": "meta"}
    assert rng.time_range == (1e-6, 2e-6)
    lb = b.annotation_layers["B"]
    assert lb.locked is True and lb.visible is False
    assert lb.annotations[0].amplitude == 3.3
    m = b.get_measurements()["m1"]
    assert (m["value"], m["unit"], m["trace_name"], m["extra"]) == (1.5, "V", "CH1", {"k": [1]})
    ops = [e.operation for e in b.history.entries]
    assert ops == ["load_trace", "custom"]
    c = b.history.entries[1]
    assert (c.parameters, c.result, c.duration_ms) == ({"z": 1, "a": 2}, "ok", 3.25)
    assert list(c.parameters) == ["z", "a"]
    assert b.created_at == s.created_at


def test_session_reopen_save_twice(work: Path) -> None:
    s = tk.Session(name="Re")
    s.record_measurement("a", 1)
    s.save("re.tks")
    s2 = tk.load_session("re.tks")
    s2.record_measurement("b", 2)
    s2.save()  # to the file it was loaded from
    s3 = tk.load_session("re.tks")
    assert set(s3.get_measurements()) == {"a", "b"}
    s3.save("re.tks")  # a path that exists, the same one
    assert set(tk.load_session("re.tks").get_measurements()) == {"a", "b"}


def test_save_refuses_to_write_over_a_foreign_file(work: Path) -> None:
    # TraceKit's pickle save would replace the file; evident's never writes
    # over a file that is not a session file (spec/session.md § 6), such as
    # the TraceKit .tks a script saved before the switch. The README says so.
    old = b"\x1f\x8b a TraceKit pickle .tks from before the switch"
    (work / "exists.tks").write_bytes(old)
    s = tk.Session(name="X")
    s.record_measurement("a", 1)
    with pytest.raises(Exception, match="exists.tks"):
        s.save("exists.tks")
    assert (work / "exists.tks").read_bytes() == old
    (work / "exists.tks").unlink()
    s.save("exists.tks")
    assert tk.load_session("exists.tks").get_measurements()["a"]["value"] == 1


def test_save_over_an_empty_file(work: Path) -> None:
    (work / "made.tks").touch()  # a file made beforehand (tempfile, touch)
    s = tk.Session(name="Y")
    s.record_measurement("a", 1)
    s.save("made.tks")
    assert tk.load_session("made.tks").get_measurements()["a"]["value"] == 1


def test_reopened_trail_exports_details_sorted(work: Path) -> None:
    # README, Known limitations: exports from an evident log write details
    # sorted by name; the HMACs are the same (TraceKit sorts for them).
    key = b"k" * 32
    with tk.AuditTrail(secret_key=key, path="trail.jsonl") as a:
        a.record_action("x", {"b": 1, "a": {"d": 1, "c": 2}}, user="u")
        a.export_audit_log("before.json")
        first = [e.to_dict() for e in a.get_entries()]
    with tk.AuditTrail(secret_key=key, path="trail.jsonl") as b:
        assert list(b.get_entries()[0].details) == ["a", "b"]
        assert b.get_entries()[0].hmac == first[0]["hmac"]
        b.export_audit_log("after.json")
        ref = reference(b, key)
    ref._export_json(work / "r.json")
    assert (work / "after.json").read_bytes() == (work / "r.json").read_bytes()
    assert json.loads((work / "before.json").read_text())["entries"][0]["details"] == {
        "b": 1, "a": {"d": 1, "c": 2}}
    assert list(json.loads((work / "before.json").read_text())["entries"][0]["details"]) == [
        "b", "a"]


def test_empty_session_round_trip(work: Path) -> None:
    s = tk.Session()
    p = s.save("empty.tks")
    b = tk.load_session(p)
    assert b.list_traces() == [] and b.get_annotations() == []
    assert b.get_measurements() == {} and b.history.entries == []
    assert isinstance(b.summary(), str)


# --- more statements of seed 000 ------------------------------------------------


def test_positional_arguments_as_in_signatures(work: Path) -> None:
    audit = tk.AuditTrail(b"positional-key-0123", "sha512")  # (secret_key, hash_algorithm)
    e = audit.record_action("a", {"v": 1}, "bob")  # (action, details, user)
    assert e.user == "bob" and len(e.hmac) == 128
    audit.record_action("b", {})
    since = datetime.now(UTC) - timedelta(minutes=5)
    assert [x.action for x in audit.get_entries(since, "b")] == ["b"]  # (since, action_type)
    audit.export_audit_log("p.csv", "csv")  # (path, format)
    ref = reference(audit, b"positional-key-0123", "sha512")
    ref._export_csv(work / "r.csv")
    assert (work / "p.csv").read_bytes() == (work / "r.csv").read_bytes()
    g = tk.record_audit("g", {"x": 1}, "carol")  # (action, details, user)
    assert g.user == "carol"


def test_layer_color_is_default_for_new_annotations() -> None:
    events = tk.AnnotationLayer(name="E", color="#00FF00")
    a = events.add(text="START", time=0)
    b = events.add(text="RED", time=1, color="#FF0000")
    assert a.color == "#00FF00" and b.color == "#FF0000"
    assert [x.color for x in events.annotations] == ["#00FF00", "#FF0000"]


def test_history_timestamps_and_auto_record(work: Path) -> None:
    s = tk.Session()
    t0 = datetime.now(UTC) - timedelta(seconds=5)
    s.load_trace("capture.wfm")
    [e] = s.history.entries
    assert isinstance(e.timestamp, datetime)
    assert t0 <= e.timestamp.astimezone(UTC) <= datetime.now(UTC) + timedelta(seconds=5)
    assert e.success is True and isinstance(e.duration_ms, float)
    s.history.auto_record = False  # "Whether to automatically record operations"
    s.load_trace("signal.wfm")
    tk.frequency(s.get_trace("signal"))
    assert [x.operation for x in s.history.entries] == ["load_trace"]
    s.save("ar.tks")
    assert tk.load_session("ar.tks").history.auto_record is False


def test_failed_load_is_recorded_as_failure(work: Path) -> None:
    s = tk.Session()
    with pytest.raises(Exception):
        s.load_trace("missing.wfm")
    entries = s.history.entries
    # HistoryEntry.success / error_message: "Whether operation succeeded", "Error message if failed"
    if entries:
        assert entries[-1].success is False and entries[-1].error_message


def test_history_summary_keys() -> None:
    h = tk.OperationHistory()
    h.record("a", duration_ms=1.0)
    h.record("a", duration_ms=3.0, success=False, error_message="x")
    st = h.summary()
    assert st["total_operations"] == 2 and st["successful"] == 1
    assert st["total_duration_ms"] == 4.0


def test_load_function_and_module_load_trace(work: Path) -> None:
    t = tk.load("capture.wfm")  # "**load_kwargs: Additional arguments for load()"
    assert isinstance(t, tk.WaveformTrace) and len(t) == 5000
    assert t.sample_rate == pytest.approx(RATE)
    assert np.allclose(np.asarray(t.data), _signal(), atol=4.0 / 30000)


# --- README "Switching from TraceKit" and "Session container" ---------------------


def test_readme_switching_example(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns = run('''
        import tracekit as tk                    # before

        session = tk.Session(name="Power Rail Analysis")
        trace = session.load_trace("power_supply.wfm", name="5V_RAIL")   # also .csv, .npy, sigrok .sr
        session.record_measurement("frequency", tk.frequency(trace), unit="Hz", trace_name="5V_RAIL")
        session.save("power_analysis.tks")       # an evident session file (compressed, versioned)
        print(session.history.to_script())       # load_trace + measure_frequency, replayable

        audit = tk.AuditTrail(secret_key=b"compliance-secret-key")      # in memory, as TraceKit's
        audit.record_action("measure_thd", {"result": tk.thd(trace), "unit": "%"})
        assert audit.verify_integrity()
        audit.export_audit_log("audit.json")     # TraceKit's layout: TraceKit's checker accepts it
    ''')
    out = capsys.readouterr().out
    assert 'tk.load_trace(path="power_supply.wfm", name="5V_RAIL")' in out
    assert "tk.measure_frequency()" in out
    ref = reference(ns["audit"], b"compliance-secret-key")
    ref._export_json(work / "r.json")
    assert (work / "audit.json").read_bytes() == (work / "r.json").read_bytes()


def test_readme_short_key_warns_empty_key_random(work: Path) -> None:
    with pytest.warns(UserWarning):
        short = tk.AuditTrail(secret_key=b"key")
    short.record_action("a", {})
    assert reference(short, b"key").verify_integrity()
    empty = tk.AuditTrail(secret_key=b"")  # TraceKit: secret_key or os.urandom(32)
    e = empty.record_action("a", {})
    assert len(empty._secret_key) == 32
    assert not hmac_mod.compare_digest(
        e.hmac, reference(empty, b"\x00")._compute_hmac(seed()["AuditEntry"].from_dict(e.to_dict()))
    )


def test_readme_default_save_name(work: Path) -> None:
    s = tk.Session(name="Power Rail Analysis")
    p = s.save()
    assert re.fullmatch(r"Power_Rail_Analysis_\d{8}_\d{6}\.tks", p.name), p.name
    assert p.resolve().parent == work.resolve()


def test_readme_npy_and_csv_without_time_take_sample_rate(work: Path) -> None:
    np.save(work / "x.npy", np.arange(100, dtype=np.float64))
    (work / "v.csv").write_text("voltage\n" + "".join(f"{v}\n" for v in range(50)))
    s = tk.Session()
    a = s.load_trace("x.npy", sample_rate=2e3)
    b = s.load_trace("v.csv", sample_rate=500.0)
    assert a.sample_rate == 2e3 and b.sample_rate == 500.0
    assert list(np.asarray(a.data)[:3]) == [0.0, 1.0, 2.0]
    assert len(b) == 50 and float(np.asarray(b.data)[-1]) == 49.0
    assert s.list_traces() == ["x", "v"]


def test_readme_sr_channel_and_wfm_byte_order(work: Path) -> None:
    s = tk.Session()
    d = s.load_trace("logic_analyzer.sr", channel=0)
    assert isinstance(d, tk.DigitalTrace)
    bits = np.asarray(d.data).astype(int)
    assert list(bits[:3]) == [0, 0, 0] and list(bits[50:53]) == [1, 1, 1]
    assert d.sample_rate == pytest.approx(1e6)
    w = s.load_trace("capture.wfm")
    assert w.metadata["curve_byte_order"] in ("little", "big")


def test_readme_session_file_is_never_unpickled(work: Path) -> None:
    import gzip
    import pickle

    marker = work / "pwned"

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (Path.write_text, (marker, "ran"))

    (work / "tracekit_made.tks").write_bytes(gzip.compress(pickle.dumps(Evil())))
    with pytest.raises(Exception):
        tk.load_session("tracekit_made.tks")
    assert not marker.exists()


def test_readme_versions_stay_loadable(work: Path) -> None:
    import evident

    s = tk.Session(name="V")
    s.record_measurement("a", 1)
    s.save("v.tks")
    s.record_measurement("b", 2)
    s.save()
    assert [v.version for v in evident.session_versions("v.tks")] == [1, 2]
    assert set(tk.load_session("v.tks", version=1).get_measurements()) == {"a"}
    assert set(tk.load_session("v.tks").get_measurements()) == {"a", "b"}


def test_readme_locked_layer_refuses_session_annotate(work: Path) -> None:
    s = tk.Session()
    s.annotate("first", time=0, layer="x")
    s.annotation_layers["x"].locked = True
    with pytest.raises(Exception):
        s.annotate("second", time=1, layer="x")
    assert [a.text for a in s.get_annotations(layer="x")] == ["first"]
    s.save("lock.tks")
    back = tk.load_session("lock.tks")
    assert back.annotation_layers["x"].locked is True
    with pytest.raises(Exception):
        back.annotate("third", time=2, layer="x")


def test_readme_session_container_example(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import evident

    ns: Dict[str, Any] = {}
    exec(textwrap.dedent('''
        import numpy as np
        import evident

        session = evident.Session(name="Power Rail Analysis")
        t = np.linspace(0, 1e-3, 1_000_000)
        session.add_trace("5V_RAIL", 5 + 0.02 * np.sin(2 * np.pi * 1e3 * t), sample_rate=1e9, units="V")
        session.annotate("Transient response", time_range=(1e-4, 2e-4), layer="analysis")
        session.record_measurement("ripple_vpp", 0.04, unit="V", trace_name="5V_RAIL")
        with evident.AuditLog("audit.jsonl") as audit:       # the audit entry names the commit hash
            session.save("power.evs", audit_log=audit)

        session = evident.load_session("power.evs")           # newest complete version, in ~ms
        rail = session.get_trace("5V_RAIL").data               # numpy view of the file mapping, no copy
        session.annotation_layers["analysis"].locked = True    # a locked layer refuses changes
        session.save(compress=True)                            # version 2: only what changed (new traces zstd)
        print([v.version for v in evident.session_versions("power.evs")])   # [1, 2]
    '''), ns)
    assert capsys.readouterr().out == "[1, 2]\n"
    assert ns["rail"].shape == (1_000_000,) and not ns["rail"].flags.writeable
    assert evident.verify("audit.jsonl").valid


def test_python_session_doc_example(work: Path) -> None:
    import evident

    samples = np.arange(16, dtype=np.float64)
    ns: Dict[str, Any] = {"evident": evident, "samples": samples}
    exec(textwrap.dedent('''
        session = evident.Session(name="Power Supply Analysis")
        session.add_trace("CH1", samples, sample_rate=1e6)
        session.annotate("Voltage spike", time=1.5e-6)
        session.record_measurement("rise_time", 2.3e-9, unit="s")
        session.save("analysis.evs")
        session = evident.load_session("analysis.evs")
    '''), ns)
    s = ns["session"]
    assert np.array_equal(np.asarray(s.get_trace("CH1").data), samples)
    m = s.get_measurements()["rise_time"]
    # "TraceKit's shape, {value, unit, trace_name, timestamp, **metadata}"
    assert {"value", "unit", "trace_name", "timestamp"} <= set(m)


def test_measurement_and_metadata_values_json_cannot_hold(work: Path) -> None:
    s = tk.Session(name="odd")
    s.record_measurement("nan", float("nan"), unit="s")
    s.metadata["when"] = datetime(2026, 1, 8, 10, 30)
    p = s.save("odd.tks")
    back = tk.load_session(p)
    assert math.isnan(float(back.get_measurements()["nan"]["value"]))
    assert "2026-01-08" in str(back.metadata["when"])


def test_unicode_paths(work: Path) -> None:
    d = work / "ünï 日本"
    s = tk.Session(name="ü")
    s.load_trace("capture.wfm", name="Kanal Ω")
    d.mkdir()  # (the seed does not say that save creates directories)
    p = s.save(d / "sëssion.tks")  # a Path
    assert tk.load_session(p).list_traces() == ["Kanal Ω"]
    audit = tk.AuditTrail(secret_key=KEY)
    audit.record_action("ü", {"ö": "日本"})
    audit.export_audit_log(str(d / "a 日本.json"))
    ref = reference(audit, KEY)
    ref._export_json(work / "r.json")
    assert (d / "a 日本.json").read_bytes() == (work / "r.json").read_bytes()


# --- README: the trail in an evident log, and the command line ---------------------


def _cli(*args: str) -> Any:
    import os
    import subprocess

    return subprocess.run([os.environ.get("EVIDENT_CLI", "evident"), *args],
                          capture_output=True, text=True, timeout=120)


def test_trail_log_verified_by_cli_and_tampering_detected(work: Path) -> None:
    key = b"k" * 32
    (work / "key").write_bytes(key)
    a = tk.AuditTrail(secret_key=key, path="trail.jsonl")
    a.record_action("one", {"v": 1}, user="u")
    a.record_action("two", {"v": 2}, user="u")
    assert a.verify_integrity()
    a.close()
    r = _cli("verify", "--key-file", "key", "trail.jsonl")
    assert r.returncode == 0, r.stdout + r.stderr
    text = (work / "trail.jsonl").read_text()
    assert '"v":1' in text
    (work / "trail.jsonl").write_text(text.replace('"v":1', '"v":7'))
    r = _cli("verify", "--key-file", "key", "trail.jsonl")
    assert r.returncode == 1, r.stdout + r.stderr


def test_cli_tracekit_export_matches_seed_code(work: Path) -> None:
    key = b"k" * 32
    (work / "key").write_bytes(key)
    with tk.AuditTrail(secret_key=key, path="trail.jsonl") as a:
        a.record_action("load", {"file": "a.wfm", "b": [1, {"z": 1, "a": 2}]}, user="u")
        a.record_action("ünï", {"text": "日本 😀", "n": None}, user="ü")
        entries = a.get_entries()
    for fmt in ("json", "csv"):
        r = _cli("export", "trail.jsonl", "--format", f"tracekit-{fmt}", "--tracekit-key", "key",
                 "-o", f"cli.{fmt}")
        assert r.returncode == 0, r.stderr
    ns = seed()
    ref = ns["AuditTrail"](secret_key=key)
    for e in entries:
        d = e.to_dict()
        d["details"] = json.loads(json.dumps(d["details"], sort_keys=True))  # the log's order
        ref._entries.append(ns["AuditEntry"].from_dict(d))
    assert ref.verify_integrity()
    ref._export_json(work / "r.json")
    ref._export_csv(work / "r.csv")
    assert (work / "cli.json").read_bytes() == (work / "r.json").read_bytes()
    assert (work / "cli.csv").read_bytes() == (work / "r.csv").read_bytes()


def test_cli_measure_of_a_compat_session(work: Path) -> None:
    s = tk.Session()
    s.load_trace("signal.wfm", name="CH1")
    f = tk.frequency(s.get_trace("CH1"))
    s.save("m.tks")
    r = _cli("measure", "m.tks", "--trace", "CH1", "--what", "frequency,rise_time", "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["CH1"]["frequency"]["value"] == pytest.approx(f)
    assert got["CH1"]["frequency"]["unit"] == "Hz"


# --- more edges ------------------------------------------------------------------


def test_returned_entry_is_the_trails(work: Path) -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    e = audit.record_action("a", {"v": 1})
    assert audit._entries[-1] is e
    e.details["v"] = 2  # the created entry is the one in the chain
    assert audit.verify_integrity() is False
    # a tampered trail exports as it is, as TraceKit's does
    audit.export_audit_log("t.json")
    audit.export_audit_log("t.csv", format="csv")
    ref = reference(audit, KEY)
    ref._export_json(work / "r.json")
    ref._export_csv(work / "r.csv")
    assert (work / "t.json").read_bytes() == (work / "r.json").read_bytes()
    assert (work / "t.csv").read_bytes() == (work / "r.csv").read_bytes()


def test_float_and_number_spelling_in_exports(work: Path) -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    floats = [1e16, 1e15, 1e-5, 1e-4, 123456789.123, 2.5e-7, 1.7976931348623157e308,
              -1e-300, 100.0, 1e22, 1e21, 123456789012345678.0, 0.5, 2.0**-1074]
    audit.record_action("floats", {"l": floats, "np": np.float64(0.1), "z": 0, "f": False,
                                   "e": [], "o": {}, "neg": -5})
    audit.record_action("second", {"l": None, "z": 0.0})
    audit.export_audit_log("f.json")
    audit.export_audit_log("f.csv", format="csv")
    ref = reference(audit, KEY)
    assert ref.verify_integrity()
    ref._export_json(work / "r.json")
    ref._export_csv(work / "r.csv")
    assert (work / "f.json").read_bytes() == (work / "r.json").read_bytes()
    assert (work / "f.csv").read_bytes() == (work / "r.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO((work / "f.csv").read_text(), newline="")))
    assert (rows[0]["detail_z"], rows[0]["detail_f"], rows[0]["detail_e"]) == ("0", "false", "[]")
    assert rows[1]["detail_l"] == ""  # None -> ""


def test_unknown_user_and_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> str:
        raise OSError("no user")

    monkeypatch.setattr(getpass, "getuser", boom)
    monkeypatch.setattr(socket, "gethostname", boom)
    audit = tk.AuditTrail(secret_key=KEY)
    e = audit.record_action("a", {})
    assert (e.user, e.host) == ("unknown", "unknown")
    assert audit.verify_integrity()


def test_session_replacements_and_missing(work: Path) -> None:
    s = tk.Session()
    s.record_measurement("f", 1.0, unit="Hz")
    s.record_measurement("f", 2.0, unit="Hz")
    assert s.get_measurements()["f"]["value"] == 2.0  # the latest of a name
    s.add_trace("T", tk.WaveformTrace(data=np.zeros(4), sample_rate=1.0))
    s.add_trace("T", tk.WaveformTrace(data=np.ones(6), sample_rate=2.0))
    assert s.list_traces() == ["T"]
    t = s.get_trace("T")
    assert len(t) == 6 and t.sample_rate == 2.0
    with pytest.raises(KeyError):
        s.get_trace("missing")


def test_dataclass_like_attributes_settable_and_modified_at(work: Path) -> None:
    s = tk.Session(name="before")
    m0 = s.modified_at
    s.record_measurement("x", 1)
    assert s.modified_at >= m0  # "Last modification timestamp"
    s.name = "after"  # Session is a dataclass in the seed: fields are assignable
    s.metadata = {"project": "P"}
    s.save("attrs.tks")
    b = tk.load_session("attrs.tks")
    assert (b.name, b.metadata) == ("after", {"project": "P"})


def test_get_entries_since_in_other_zones_and_naive_utc() -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    audit.record_action("x", {})
    plus2 = timezone(timedelta(hours=2))
    assert len(audit.get_entries(since=datetime.now(plus2) - timedelta(minutes=1))) == 1
    assert audit.get_entries(since=datetime.now(plus2) + timedelta(minutes=1)) == []
    naive_utc = datetime.now(UTC).replace(tzinfo=None)  # "(UTC)"
    assert len(audit.get_entries(since=naive_utc - timedelta(minutes=1))) == 1
    assert audit.get_entries(since=naive_utc + timedelta(minutes=1)) == []


def test_lone_surrogate_and_large_details(work: Path) -> None:
    audit = tk.AuditTrail(secret_key=KEY)
    audit.record_action("s", {"lone": "a\ud800b", "pair": "\ud83d\ude00"})
    audit.record_action("big", {"blob": "x" * 1_000_000, "list": list(range(10000))})
    assert audit.verify_integrity()
    audit.export_audit_log("s.json")
    audit.export_audit_log("s.csv", format="csv")
    ref = reference(audit, KEY)
    assert ref.verify_integrity()
    ref._export_json(work / "r.json")
    ref._export_csv(work / "r.csv")
    assert (work / "s.json").read_bytes() == (work / "r.json").read_bytes()
    assert (work / "s.csv").read_bytes() == (work / "r.csv").read_bytes()
