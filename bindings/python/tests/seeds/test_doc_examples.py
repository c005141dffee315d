"""Every code example of the five seed documents, read from the documents
(``doc_examples``) and run with only the import line mapped, in a fresh
directory holding the inputs the document takes for granted; each has a
check of what the document says it does. An example without a check fails,
so a new or re-segmented example cannot go unnoticed."""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import hmac as _hmac
import inspect
import io
import json
import os
import re
import socket
import subprocess
import sys
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import pytest

import evident

from . import doc_examples as D
from .captures import pwm, write_sr, write_wfm

BASE = D.seeds_dir()
EXAMPLES: Dict[str, List[D.Example]] = D.all_examples(BASE) if BASE else {}
ALL = [ex for exs in EXAMPLES.values() for ex in exs]
BY_ID = {ex.id: ex for ex in ALL}

needs_docs = pytest.mark.skipif(BASE is None, reason="seed documents not found (set EVIDENT_SEEDS_DIR)")

#: How many examples each document has (a change of the segmentation shows here).
COUNTS = {"000": 58, "001": 8, "002": 20, "003": 5, "004": 14}

# The capture every .wfm of seed 000 is: a 1 kHz PWM, 25 % duty, 0-3.3 V,
# sampled at 1 MHz, edges 20 samples long (10-90 %: 16 us).
PWM_FREQ, PWM_RATE, PWM_DUTY = 1e3, 1e6, 0.25


class Ctx:
    """One example's run: its directory, its namespace and its output."""

    def __init__(self, ex: D.Example, workdir: Path) -> None:
        self.ex = ex
        self.dir = workdir
        self.ns: Dict[str, Any] = {"__name__": "__doc_example__"}
        self.out = ""
        if ex.seed == "000":  # the examples use the Quick Start's ``import tracekit as tk``
            exec(D.map_imports("import tracekit as tk"), self.ns)
        if ex.seed == "004":  # the imports of the examples before it (a reader's open session)
            for prev in EXAMPLES["004"]:
                if prev.line >= ex.line:
                    break
                for ln in prev.code.splitlines():
                    if ln.startswith("from openparallax_audit import"):
                        exec(D.map_imports(ln), self.ns)
        if ex.seed == "001":  # docstring examples run in their module's namespace
            exec(D.map_imports("from tracekit.core.audit import *"), self.ns)

    def run(self, id: Optional[str] = None, **given: Any) -> str:
        """Runs an example (default: this one) in the shared namespace, with
        ``given`` names the document takes for granted; returns its output."""
        ex = BY_ID[id or self.ex.id]
        self.ns.update(given)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the documents' short keys
            exec(compile(ex.mapped, f"<seed {ex.id}>", "exec"), self.ns)
        self.out = buf.getvalue()
        return self.out

    def __getitem__(self, name: str) -> Any:
        return self.ns[name]

    def lines(self) -> List[str]:
        return self.out.splitlines()


CHECKS: Dict[str, Callable[[Ctx], None]] = {}


def check(*ids: str) -> Callable[[Callable[[Ctx], None]], Callable[[Ctx], None]]:
    def reg(fn: Callable[[Ctx], None]) -> Callable[[Ctx], None]:
        for i in ids:
            assert i not in CHECKS, i
            CHECKS[i] = fn
        return fn

    return reg


def captures(code: str, workdir: Path) -> None:
    """Writes the capture files an example names (seed 000)."""
    for name in set(re.findall(r'"([\w.-]+\.(?:wfm|sr|csv|npy))"', code)):
        p = workdir / name
        if p.exists():
            continue
        if name.endswith(".wfm"):
            write_wfm(p, pwm(PWM_FREQ, PWM_RATE, 20_000, PWM_DUTY), PWM_RATE)
        elif name.endswith(".sr"):
            words = (np.arange(4000) // 7 % 4).astype(np.uint8)
            write_sr(p, words, ["CLK", "DATA"])
        elif name.endswith(".csv"):
            p.write_text("time (s),value\n" + "".join(f"{i * 1e-3},{i % 5}\n" for i in range(100)))
        else:
            np.save(p, np.sin(np.linspace(0, 6.28, 100)))


@needs_docs
@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.id)
def test_example(ex: D.Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fn = CHECKS.get(ex.id)
    assert fn is not None, f"no check for the example at {ex.id} ({ex.kind}): {ex.code[:80]!r}"
    monkeypatch.chdir(tmp_path)
    import evident.compat.tracekit as tk

    tk._global_audit_trail = None
    if ex.seed == "002":  # an empty RTGS log of its own
        monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "rtgs-data"))
        monkeypatch.setenv("MPLBACKEND", "Agg")
        for k in list(os.environ):
            if k.startswith("POSTGRES_"):
                monkeypatch.delenv(k)
    if ex.seed == "000":
        captures("\n".join(e.code for e in EXAMPLES["000"]), tmp_path)
    fn(Ctx(ex, tmp_path))
    tk._global_audit_trail = None


@needs_docs
def test_every_document_is_segmented_as_expected() -> None:
    assert {s: len(v) for s, v in EXAMPLES.items()} == COUNTS
    # every example starts with code, not prose
    for ex in ALL:
        assert not D._is_prose(ex.code.split("\n", 1)[0]), ex.id
    # no code left outside the examples: what looks like code elsewhere is a
    # heading (``save()``), a CLI option bullet (test_cli_options_of_seed_002),
    # a table row or a sentence (seed 001's other lines are audit.py itself)
    for seed in ("000", "002", "003", "004"):
        lines = (BASE / D.DOCS[seed]).read_text(encoding="utf-8").split("\n")  # type: ignore[operator]
        inside = {i for ex in EXAMPLES[seed] for i in range(ex.line, ex.end + 1)}
        for i, line in enumerate(lines, 1):
            if i in inside or not re.search(r"[=(){}\[\]]|^\s*(import|from|rtgs|pip) ", line):
                continue
            allowed = (
                re.fullmatch(r"\w+\(\)", line)
                or re.match(r"^\s*• --[\w-]+ [A-Z]+: ", line)
                or re.match(r"^[a-z_]+(int|str|bool)[A-Z]", line)
                or re.match(r"^\d+ lines \(\d+ loc\)", line)
                or re.match(r"^[A-Z][a-z]+ [^=]*[.)]$", line)
            )
            assert allowed, f"seed {seed} line {i} looks like code outside every example: {line!r}"


# --- generic checks: signatures and class definitions ------------------------------


def _doc_params(code: str) -> List[inspect.Parameter]:
    """The parameters a ``def`` block (or a call written with annotations)
    documents."""
    import ast

    src = code
    if not src.lstrip().startswith("def "):
        m = re.search(r"(\w+)\((.*?)\)(\s*->[^\n]*)?\s*$", src, re.S)
        assert m, code
        src = f"def {m.group(1)}({m.group(2)}): pass"
    else:
        src = re.sub(r"\)\s*->[^:]*:", "):", src, count=1)
    src = src.replace("self,", "")
    tree = ast.parse(src.strip())
    fn = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))
    a = fn.args
    out = []
    pos = a.posonlyargs + a.args
    defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    for arg, d in zip(pos, defaults):
        out.append(
            inspect.Parameter(
                arg.arg,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=inspect.Parameter.empty if d is None else ast.literal_eval(d),
            )
        )
    for arg, d in zip(a.kwonlyargs, a.kw_defaults):
        out.append(
            inspect.Parameter(
                arg.arg,
                inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if d is None else ast.literal_eval(d),
            )
        )
    if a.kwarg:
        out.append(inspect.Parameter(a.kwarg.arg, inspect.Parameter.VAR_KEYWORD))
    return out


def assert_signature(ex: D.Example, obj: Callable[..., Any]) -> None:
    ours = [p for p in inspect.signature(obj).parameters.values() if p.name != "self"]
    by_name = {p.name: p for p in ours}
    doc = _doc_params(ex.code)
    positional = [p.name for p in ours if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for i, p in enumerate(doc):
        if p.kind == p.VAR_KEYWORD:
            assert any(q.kind == q.VAR_KEYWORD for q in ours), f"{obj}: **{p.name}"
            continue
        assert p.name in by_name, f"{obj.__qualname__}: no parameter {p.name!r}"
        q = by_name[p.name]
        if p.kind == p.POSITIONAL_OR_KEYWORD:
            assert positional[i] == p.name, f"{obj.__qualname__}: {p.name!r} is not argument {i}"
        else:
            assert q.kind in (q.KEYWORD_ONLY, q.POSITIONAL_OR_KEYWORD), p.name
        assert q.default == p.default, f"{obj.__qualname__}({p.name}=): {q.default!r} != {p.default!r}"
    # nothing else is required
    extra = [q for q in ours if q.name not in {p.name for p in doc}]
    assert all(q.default is not q.empty or q.kind in (q.VAR_KEYWORD, q.VAR_POSITIONAL) for q in extra), extra


def doc_attributes(code: str) -> List[str]:
    """The names under ``Attributes:`` of a class docstring, or the fields
    of a dataclass body."""
    m = re.search(r"Attributes:\n(.*?)\"\"\"", code, re.S)
    if m:
        return re.findall(r"^\s+(\w+):", m.group(1), re.M)
    return re.findall(r"^    (\w+): ", code, re.M)


# --- seed 000 (TraceKit: sessions and audit trail) -------------------------------

import evident.compat.tracekit as tk  # noqa: E402


SIGNATURES_000 = {
    "load_trace": tk.Session.load_trace,
    "add_trace": tk.Session.add_trace,
    "annotate": tk.Session.annotate,
    "record_measurement": tk.Session.record_measurement,
    "save": tk.Session.save,
    "get_annotations": tk.Session.get_annotations,
    "load_session": tk.load_session,
    "record_action": tk.AuditTrail.record_action,
    "verify_integrity": tk.AuditTrail.verify_integrity,
    "get_entries": tk.AuditTrail.get_entries,
    "export_audit_log": tk.AuditTrail.export_audit_log,
    "get_global_audit_trail": tk.get_global_audit_trail,
    "record_audit": tk.record_audit,
}

for _ex in EXAMPLES.get("000", []):
    if _ex.kind == "signature":
        _name = re.match(r"def (\w+)", _ex.code).group(1)  # type: ignore[union-attr]

        def _check_sig(c: Ctx, _f: Callable[..., Any] = SIGNATURES_000[_name]) -> None:
            assert_signature(c.ex, _f)

        CHECKS[_ex.id] = _check_sig


def _instances_000() -> Dict[str, Any]:
    s = tk.Session(name="x")
    s.annotate("a", time=1.0)
    s.history.record("op", parameters={})
    audit = tk.AuditTrail(secret_key=b"0123456789abcdef")
    return {
        "Session": s,
        "Annotation": tk.Annotation(text="t", time=1.0),
        "AnnotationLayer": tk.AnnotationLayer(name="l"),
        "HistoryEntry": s.history.entries[0],
        "OperationHistory": tk.OperationHistory(),
        "AuditEntry": audit.record_action("a", {}),
        "AuditTrail": audit,
    }


for _ex in EXAMPLES.get("000", []):
    if _ex.kind == "class":

        def _check_class(c: Ctx) -> None:
            cls = re.search(r"class (\w+)", c.ex.code).group(1)  # type: ignore[union-attr]
            if cls == "AnnotationType":
                for name, value in re.findall(r'^    (\w+) = "(\w+)"', c.ex.code, re.M):
                    assert tk.AnnotationType[name].value == value
                assert len(tk.AnnotationType) == len(re.findall(r"^    \w+ = ", c.ex.code, re.M))
                return
            obj = _instances_000()[cls]
            assert isinstance(obj, getattr(tk, cls))
            attrs = doc_attributes(c.ex.code)
            if cls != "AuditTrail":
                assert attrs, c.ex.code
            for a in attrs:
                assert hasattr(obj, a), f"{cls}.{a}"

        CHECKS[_ex.id] = _check_class


def _entries_json(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text())


def tracekit_checks(path: Path, key: bytes, alg: str = "sha256") -> bool:
    """TraceKit's own verification (seed 001, ``_compute_hmac`` and
    ``verify_integrity``) applied to an exported JSON file."""
    data = _entries_json(path)
    assert data["version"] == "1.0" and data["hash_algorithm"] == alg
    prev = "GENESIS"
    for e in data["entries"]:
        canonical = (
            f"{e['timestamp']}|{e['action']}|{json.dumps(e['details'], sort_keys=True)}"
            f"|{e['user']}|{e['host']}|{e['previous_hash']}"
        )
        h = _hmac.new(key, canonical.encode("utf-8"), getattr(hashlib, alg)).hexdigest()
        if e["hmac"] != h or e["previous_hash"] != prev:
            return False
        prev = e["hmac"]
    return True


@check("000:13")
def _quick_start(c: Ctx) -> None:
    c.run()
    s = c["session"]
    assert s.name == "Power Supply Analysis" and "Power Supply Analysis" in c.out
    assert s.list_traces() == ["capture"]
    assert s.get_measurements()["rise_time"]["value"] == 2.3e-9
    assert [a.text for a in s.get_annotations()] == ["Voltage spike"]
    assert tracekit_checks(c.dir / "audit.json", b"your-secret-key")
    assert len(_entries_json(c.dir / "audit.json")["entries"]) == 1


@check("000:57")
def _basic_session(c: Ctx) -> None:
    c.run()
    assert c.lines() == ["['CH1', 'DIGITAL']"]
    s = c["session"]
    assert s.list_traces() == ["CH1", "DIGITAL", "SYNTHETIC"]
    assert isinstance(c["trace"], tk.WaveformTrace) and c["trace"].name == "CH1"
    assert isinstance(s.get_trace("DIGITAL"), tk.DigitalTrace)
    syn = s.get_trace("SYNTHETIC")
    assert len(syn) == 1000 and syn.sample_rate == 1e6
    np.testing.assert_allclose(syn.data, c["data"])


@check("000:80")
def _complete_workflow(c: Ctx) -> None:
    c.run()
    assert c["freq"] == pytest.approx(PWM_FREQ, rel=1e-3)
    assert c["ripple"] == pytest.approx(3.3, rel=0.02)
    s = tk.load_session(c.dir / "power_analysis.tks")
    m = s.get_measurements()
    assert m["frequency"]["unit"] == "Hz" and m["frequency"]["trace_name"] == "5V_RAIL"
    assert m["ripple_vpp"]["value"] == pytest.approx(c["ripple"])
    assert m["ripple_vpp"]["acceptable"] is False
    assert {a.text for a in s.get_annotations(layer="analysis")} == {"Transient response"}
    assert {a.text for a in s.get_annotations(layer="measurements")} == {"Maximum ripple"}
    assert "Power Rail Analysis" in c.out


@check("000:149")
def _load_trace(c: Ctx) -> None:
    c.run()
    s = c["session"]
    assert s.list_traces() == ["capture", "SENSOR_DATA", "large_file"]
    for t in ("trace1", "trace2", "trace3"):
        assert isinstance(c[t], tk.WaveformTrace)
    assert len(c["trace3"]) == 20_000
    assert len(c["trace2"]) == 100


@check("000:177")
def _add_trace(c: Ctx) -> None:
    c.run()
    t = c["session"].get_trace("SINE_1KHZ")
    assert len(t) == 10_000 and t.sample_rate == 10e6
    np.testing.assert_allclose(t.data, c["data"])
    assert max(t.data) == pytest.approx(3.3, rel=1e-3)


@check("000:214")
def _annotate(c: Ctx) -> None:
    c.run()
    anns = {a.text: a for a in c["session"].get_annotations()}
    assert set(anns) == {"Glitch detected", "Data packet", "Critical error"}
    assert anns["Glitch detected"].time == 1.5e-6
    assert anns["Data packet"].time_range == (2e-6, 5e-6)
    assert anns["Critical error"].color == "#FF0000" and anns["Critical error"].style == "dashed"
    assert [a.text for a in c["session"].get_annotations(layer="errors")] == ["Critical error"]


@check("000:259")
def _record_measurement(c: Ctx) -> None:
    c.run()
    m = c["measurements"]
    assert m["rise_time"]["value"] == pytest.approx(16e-6, rel=0.05)
    assert m["rise_time"]["unit"] == "s" and m["rise_time"]["standard"] == "IEEE 181-2011"
    assert m["frequency"]["value"] == pytest.approx(PWM_FREQ, rel=1e-3)
    assert m["frequency"]["confidence"] == 0.95 and m["frequency"]["trace_name"] == "CH1"
    assert "rise_time" in c.out and "frequency" in c.out


@check("000:310")
def _save(c: Ctx) -> None:
    c.run()
    full, meta, raw = (c.dir / n for n in ("analysis.tks", "analysis_meta.tks", "analysis_raw.tks"))
    assert full.exists() and meta.exists() and raw.exists()
    assert meta.stat().st_size < full.stat().st_size  # "smaller file"
    assert raw.stat().st_size > full.stat().st_size  # uncompressed
    assert tk.load_session(meta).list_traces() == [] or not tk.load_session(meta).get_trace("capture").data.size
    assert tk.load_session(full).list_traces() == ["capture"]
    assert tk.load_session(raw).list_traces() == ["capture"]


@check("000:343")
def _get_annotations(c: Ctx) -> None:
    c.run()
    assert len(c["all_annotations"]) == 3
    assert [a.text for a in c["events"]] == ["Event 1", "Event 2"]
    assert sorted(a.text for a in c["window"]) == ["Error", "Event 1", "Event 2"]


@check("000:376")
def _load_session(c: Ctx) -> None:
    s = tk.Session(name="Debug")
    s.load_trace("signal.wfm")
    s.record_measurement("frequency", 1000.0, unit="Hz")
    s.annotate("Glitch", time=1e-6)
    s.save("debug_session.tks")
    s.close()
    c.run()
    assert "Debug" in c.out and "Traces: ['signal']" in c.out
    assert c["measurements"]["frequency"]["value"] == 1000.0
    assert [a.text for a in c["annotations"]] == ["Glitch"]
    assert [e.operation for e in c["history"]][0] == "load_trace"


@check("000:418")
def _annotation(c: Ctx) -> None:
    c.run()
    T = tk.AnnotationType
    assert c["ann1"].annotation_type == T.POINT and c["ann1"].color == "#00FF00"
    assert c["ann2"].annotation_type == T.RANGE and c["ann2"].time_range == (2e-6, 5e-6)
    assert c["ann3"].annotation_type == T.HORIZONTAL and c["ann3"].amplitude == 3.3
    assert c["ann4"].annotation_type == T.REGION and c["ann4"].amplitude_range == (2.5, 3.5)


@check("000:487")
def _layer_management(c: Ctx) -> None:
    c.run()
    assert [a.text for a in c["at_time"]] == ["DATA"]
    assert [a.text for a in c["in_range"]] == ["START", "DATA"]
    assert c["events"].annotations == [] and c["events"].locked is False


@check("000:514")
def _multiple_layers(c: Ctx) -> None:
    c.run()
    assert [a.text for a in c["uart_annotations"]] == ["Start bit", "Data byte"]
    assert [a.text for a in c["error_annotations"]] == ["Parity error"]
    layer = c["session"].annotation_layers["uart"]
    assert layer.color == "#0000FF" and layer.description == "UART protocol decode"


@check("000:575")
def _tracking(c: Ctx) -> None:
    c.run()
    assert c.lines() == ["Total operations: 3", "Success rate: 2/3", "Total time: 47.4 ms"]
    assert [e.operation for e in c["successful"]] == ["load_trace", "measure_frequency"]
    assert [e.operation for e in c["measurements"]] == ["measure_frequency"]
    assert c["all_ops"][2].error_message == "Cutoff frequency too high"


def _script_shape(text: str) -> List[str]:
    """A history script with its times taken out."""
    text = re.sub(r"Generated: \S+", "Generated: T", text)
    text = re.sub(r"# \d\d:\d\d:\d\d - ", "# T - ", text)
    return [ln.rstrip() for ln in text.strip().splitlines()]


@check("000:615")
def _script_generation(c: Ctx) -> None:
    c.run()
    script = c["script"]
    assert script.strip() == c.out.strip()
    ops = re.findall(r"^# \d\d:\d\d:\d\d - (\w+)$", script, re.M)
    assert ops == ["load_trace", "measure_frequency", "measure_rise_time"]
    assert re.search(r'^tk\.load_trace\(path="signal\.wfm"\)$', script, re.M)
    assert re.search(r"^tk\.measure_frequency\(\)$", script, re.M)
    assert re.search(r"^tk\.measure_rise_time\(\)$", script, re.M)


@check("000:628")
def _script_output(c: Ctx) -> None:
    """The script 000:615 prints has the document's layout (times apart; our
    import line falls back to evident's module when tracekit is absent)."""
    c.run("000:615")
    ours = _script_shape(c["script"])
    doc = _script_shape(c.ex.code)
    doc_imports = [ln for ln in doc if "import" in ln]
    assert doc_imports == ["import tracekit as tk"]
    assert any(ln.startswith("import tracekit as tk") for ln in ours) or "    import tracekit as tk" in ours
    strip = lambda lines: [ln for ln in lines if "import" not in ln and not ln.startswith(("try", "except"))]  # noqa: E731
    assert strip(ours) == strip(doc)
    # and the script runs (with evident's module standing in for tracekit)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(c["script"], "<script>", "exec"), {"__name__": "__main__"})


@check("000:663")
def _basic_audit(c: Ctx) -> None:
    c.run()
    assert c.lines() == ["Audit trail valid: True"]
    data = _entries_json(c.dir / "audit.json")
    assert [e["action"] for e in data["entries"]] == ["load_trace", "compute_fft", "measure_thd"]
    assert tracekit_checks(c.dir / "audit.json", b"your-secret-key")
    with open(c.dir / "audit.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:6] == ["timestamp", "action", "user", "host", "previous_hash", "hmac"]
    assert rows[2]["detail_thd_db"] == "-65.3" and rows[0]["detail_file"] == '"oscilloscope.wfm"'
    assert rows[0]["user"] == "alice" and rows[0]["previous_hash"] == "GENESIS"


@check("000:740")
def _record_action(c: Ctx) -> None:
    c.run()
    lines = c.lines()
    assert lines[:2] == ["Action: export_results", "User: bob"]
    assert lines[2] == f"Host: {socket.gethostname()}"
    ts = lines[3].removeprefix("Time: ")
    assert datetime.fromisoformat(ts.replace("Z", "+00:00")).tzinfo is not None
    import getpass

    assert c["entry1"].user == getpass.getuser()


@check("000:773")
def _verify_integrity(c: Ctx) -> None:
    c.run()  # its own asserts: intact, then tampered
    assert c["audit"].verify_integrity() is False


@check("000:804")
def _get_entries(c: Ctx) -> None:
    c.run()
    assert c.lines() == ["Load operations: 2", "Recent entries: 4"]
    assert [e.details["file"] for e in c["loads"]] == ["a.wfm", "b.wfm"]


@check("000:840")
def _export(c: Ctx) -> None:
    c.run()
    assert tracekit_checks(c.dir / "audit.json", b"key")
    with open(c.dir / "audit.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["action"] for r in rows] == ["test1", "test2"] and rows[1]["detail_value"] == "2"


@check("000:890")
def _global(c: Ctx) -> None:
    c.run()
    assert c.lines() == ["Total audit entries: 3"]
    data = _entries_json(c.dir / "global_audit.json")
    assert [e["action"] for e in data["entries"]] == ["start_analysis", "load_trace", "compute_measurements"]
    assert data["entries"][0]["previous_hash"] == "GENESIS"


@check("000:910")
def _example_1(c: Ctx) -> None:
    c.run()
    assert c.lines()[0] == "Session saved to motor_debug.tks"
    assert c["path"] == Path("motor_debug.tks") or Path(c["path"]).name == "motor_debug.tks"
    assert "Motor Controller Debug" in c.out
    assert c["freq"] == pytest.approx(PWM_FREQ, rel=1e-3)
    assert c["duty"] == pytest.approx(PWM_DUTY * 100, rel=0.05)
    s = tk.load_session("motor_debug.tks")
    assert s.list_traces() == ["PWM", "CURRENT", "CAN"]
    assert s.metadata["project"] == "MC-2024"
    assert s.get_measurements()["duty_cycle"]["unit"] == "%"


@check("000:946")
def _example_2(c: Ctx) -> None:
    c.run()
    assert c.lines() == ["Audit trail verified - no tampering detected"]
    assert c["thd"] > 0 and c["freq"] == pytest.approx(PWM_FREQ, rel=1e-3)
    data = _entries_json(c.dir / "compliance_audit.json")
    assert [e["action"] for e in data["entries"]] == [
        "create_session", "load_trace", "measure_frequency", "measure_thd", "save_session"]
    assert tracekit_checks(c.dir / "compliance_audit.json", b"compliance-secret-key")
    m = tk.load_session("compliance_session.tks").get_measurements()
    assert m["frequency"]["unit"] == "Hz" and m["thd"]["unit"] == "%"


@check("000:989")
def _example_3(c: Ctx) -> None:
    c.run("000:910")
    c.run()
    lines = c.lines()
    assert lines[0] == "Loaded session: Motor Controller Debug"
    assert lines[1].startswith("Created: 20") and lines[2].startswith("Modified: 20")
    assert "Traces: ['PWM', 'CURRENT', 'CAN']" in c.out
    assert re.search(r"^  pwm_frequency: [\d.]+ Hz$", c.out, re.M)
    assert re.search(r"^  duty_cycle: [\d.]+ %$", c.out, re.M)
    assert "Layer 'events':" in c.out and "  - Motor start @ 0" in c.out
    assert re.search(r"^  ✓ load_trace \([\d.]+ms\)$", c.out, re.M)
    assert tk.load_session("motor_debug.tks").get_measurements()["rise_time"]["unit"] == "s"


@check("000:1027")
def _example_4(c: Ctx) -> None:
    c.run()
    assert c.lines() == ["Protocol events: 4", "Issues found: 1", "Annotations in first 5μs: 5"]
    assert (c.dir / "uart_analysis.tks").exists()
    s = tk.load_session("uart_analysis.tks")
    assert s.annotation_layers["protocol"].description == "UART protocol decode at 115200 baud"


@check("000:1076")
def _example_5(c: Ctx) -> None:
    c.run()
    lines = c.lines()
    assert lines[:4] == ["COMPLIANCE AUDIT REPORT", "=" * 60, "Total actions: 5", "Integrity: VERIFIED"]
    assert re.match(r"^1\. \S+ - calibration_check by calibration_lab$", lines[6])
    assert re.match(r"^   HMAC: [0-9a-f]{32}\.\.\.$", lines[7])
    assert tracekit_checks(c.dir / "compliance_audit_2026-01-08.json", b"production-secret-key")
    assert (c.dir / "compliance_audit_2026-01-08.csv").exists()


# Best practices: fragments, chained as a reader does (the session ones on one
# session, the audit ones on one trail).
_BP_SESSION = ["000:1163", "000:1165", "000:1169", "000:1173", "000:1175"]
_BP_AUDIT = ["000:1187", "000:1191", "000:1197", "000:1199", "000:1203"]


def _chain(c: Ctx, ids: List[str], **given: Any) -> None:
    for i in ids[: ids.index(c.ex.id) + 1]:
        c.run(i, **given)


@check(*_BP_SESSION)
def _bp_session(c: Ctx) -> None:
    s_trace = tk.WaveformTrace(data=pwm(PWM_FREQ, PWM_RATE, 20_000, PWM_DUTY), sample_rate=PWM_RATE)
    _chain(c, _BP_SESSION, thd_value=tk.thd(s_trace))
    s = c["session"]
    assert s.name == "2026-01-08_Power_Supply_Debug"
    i = _BP_SESSION.index(c.ex.id)
    if i >= 1:
        assert s.metadata["dut_serial"] == "PSU-001234"
    if i >= 2:
        assert sorted(s.annotation_layers) == ["issues", "measurements", "protocol"]
    if i >= 3:
        saved = list(c.dir.glob("2026-01-08_Power_Supply_Debug_*.tks"))
        assert len(saved) == 1, "save() with no path makes one up"
    if i >= 4:
        m = s.get_measurements()["thd"]
        assert m["standard"] == "IEC 61000-4-7" and m["pass_criteria"] == (c["thd_value"] < -60)


@check(*_BP_AUDIT)
def _bp_audit(c: Ctx) -> None:
    os.environ["AUDIT_SECRET_KEY"] = "a-secret-from-the-environment"
    try:
        _chain(c, _BP_AUDIT, value=42, outcome="ok", result_value=-65.3)
    finally:
        del os.environ["AUDIT_SECRET_KEY"]
    audit = c["audit"]
    assert audit._secret_key == b"a-secret-from-the-environment"
    i = _BP_AUDIT.index(c.ex.id)
    assert len(audit.get_entries()) == (0 if i == 0 else 1 if i < 4 else 2)
    if i >= 3:
        [f] = list(c.dir.glob("audit_*.json"))
        assert re.fullmatch(r"audit_\d{8}_\d{6}\.json", f.name)
        assert tracekit_checks(f, b"a-secret-from-the-environment")


# --- seed 001 (TraceKit's core/audit.py docstrings) ---------------------------------


@check("001:9")
def _mod_doc(c: Ctx) -> None:
    c.run()
    assert c["is_valid"] is True
    assert tracekit_checks(c.dir / "audit.json", b"my-secret-key")
    assert [e.action for e in c["audit"].get_entries()] == ["load_trace", "compute_fft"]


@check("001:84")
def _class_doc(c: Ctx) -> None:
    c.run()
    assert len(c["audit"].get_entries()) == 1


@check("001:118")
def _record_doc(c: Ctx) -> None:
    c.run()
    e = c["entry"]
    assert isinstance(e, tk.AuditEntry) and e.user == "alice" and e.previous_hash == "GENESIS"
    assert e.details == {"file": "data.bin", "size_mb": 100}


@check("001:165")
def _verify_doc(c: Ctx) -> None:
    c.run()  # its asserts: True, then False after tampering
    assert c["audit"]._entries[0].action == "modified"


@check("001:201")
def _export_doc(c: Ctx) -> None:
    c.run()
    assert tracekit_checks(c.dir / "audit.json", b"key")


@check("001:227")
def _entries_doc(c: Ctx) -> None:
    c.run()
    assert [e.action for e in c["loads"]] == ["load"]
    assert [e.action for e in c["recent"]] == ["load", "analyze"]


@check("001:332")
def _global_doc(c: Ctx) -> None:
    c.run()
    assert tk.get_global_audit_trail() is c["audit"]
    assert c["audit"]._secret_key == b"my-key" and len(c["audit"].get_entries()) == 1


@check("001:352")
def _record_audit_doc(c: Ctx) -> None:
    c.run()
    [e] = tk.get_global_audit_trail().get_entries()
    assert e.action == "compute_fft" and e.details == {"samples": 1000000}


# --- seed 002 (RTGS Lab Tools' audit module) -------------------------------------

COMMIT = "abc123def4567890abc123def4567890abc12345"


def rtgs_op(ts: datetime, tool: str, op: str, params: Optional[Dict[str, Any]] = None,
            results: Optional[Dict[str, Any]] = None, success: bool = True, duration: float = 1.0,
            note: Optional[str] = None, error: Optional[str] = None) -> None:
    from evident.compat import rtgs

    rtgs.record_operation(
        tool, op, parameters=params or {}, results=results or {}, success=success,
        duration_seconds=duration, note=note, error_message=error, git_commit=COMMIT,
        git_branch="feature/analysis", timestamp=ts,
    )


def june() -> None:
    """The document's operations of June 2023 (two days, one failure)."""
    u = lambda *a: datetime(*a, tzinfo=timezone.utc)  # noqa: E731
    rtgs_op(u(2023, 6, 15, 14, 30, 22), "sensing-data", "extract",
            {"project": "Winter Turf - v3", "start_date": "2023-01-01", "end_date": "2023-01-31"},
            {"success": True, "records_extracted": 15420,
             "output_file": "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv"},
            duration=45.7, note="Monthly analysis for winter conditions")
    rtgs_op(u(2023, 6, 15, 14, 32, 15), "visualization", "create",
            {"file": "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv",
             "parameter": "Temperature", "node_id": "LCCMR_01"},
            {"output": "plot.png"}, duration=3.2, note="Temperature analysis visualization")
    rtgs_op(u(2023, 6, 20, 9, 0, 0), "sensing-data", "extract", {"project": "Summer - v1"},
            success=False, duration=2.0, error="DatabaseError: timeout")
    rtgs_op(u(2023, 6, 20, 9, 5, 0), "sensing-data", "list-projects", {}, duration=0.5)
    rtgs_op(u(2023, 7, 1, 9, 0, 0), "sensing-data", "extract", {"project": "July"})


def lately(n: int = 25, step_min: int = 5) -> None:
    """``n`` operations in the last hours, newest ``op0``, alternating tools;
    ``op3`` failed."""
    now = datetime.now(timezone.utc)
    rtgs_op(now - timedelta(hours=3), "sensing-data", "old-op")
    for i in reversed(range(n)):
        rtgs_op(now - timedelta(minutes=step_min * i), "sensing-data" if i % 2 else "visualization",
                f"op{i}", {"i": i}, success=i != 3, duration=0.5 + i, note=f"note {i}" if i % 4 == 0 else None,
                error="ValueError: x" if i == 3 else None)


def rtgs_cli(argv: List[str]) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, "-m", "evident.compat.rtgs", *argv], capture_output=True,
                          text=True, env=os.environ.copy(), timeout=120)


def run_bash(c: Ctx) -> List["subprocess.CompletedProcess[str]"]:
    """Runs each ``rtgs audit …`` line of a bash example, in order."""
    out = []
    for line in c.ex.code.splitlines():
        argv = D.map_shell(line)
        if argv is not None:
            r = rtgs_cli(argv)
            assert r.returncode == 0, (line, r.stderr)
            out.append(r)
    return out


@check("002:24")
def _cli_recent(c: Ctx) -> None:
    lately()
    default, limit20, minutes60, tool = (r.stdout.strip().splitlines() for r in run_bash(c))
    assert len(default) == 10 and " op0 " in default[0] + " " and " op9" in default[-1]
    assert len(limit20) == 20
    assert len(minutes60) == 10 and "old-op" not in "".join(minutes60)  # default limit 10
    assert len(tool) == 10 and all("sensing-data" in ln for ln in tool)


@check("002:38")
def _cli_report(c: Ctx) -> None:
    june()
    run_bash(c)
    assert sorted(p.name for p in (c.dir / "logs").iterdir()) == [
        "audit_report_2023-06-15.md", "audit_report_2023-06-20.md"]
    assert sorted(p.name for p in (c.dir / "audit_reports").iterdir()) == [
        "audit_report_2023-06-15.md", "audit_report_2023-06-20.md"]
    # the second command (--tool-name visualization) left the visualization day in logs/
    # before the third wrote all tools to audit_reports/
    text = (c.dir / "audit_reports" / "audit_report_2023-06-20.md").read_text()
    assert "- Total Operations: 2" in text and "❌" in text


@check("002:49")
def _cli_reproduce(c: Ctx) -> None:
    june()
    now = datetime.now(timezone.utc)
    rtgs_op(now - timedelta(minutes=10), "gridded-data", "download", {"variable": "t2m"})
    rtgs_op(now - timedelta(minutes=50), "gridded-data", "old", {})
    assert rtgs_cli(["report", "--start-date", "2023-06-01", "--end-date", "2023-06-30"]).returncode == 0
    run_bash(c)
    full = (c.dir / "reproduce_analysis.sh").read_text()
    assert full.count("\nrtgs ") == 4 and "git checkout " + COMMIT in full
    recent = (c.dir / "recent_work.sh").read_text()
    assert "rtgs gridded-data download" in recent and "old" not in recent.replace("# Original", "")


@check("002:57")
def _cli_pg(c: Ctx) -> None:
    status, enable, disable = run_bash(c)
    assert "enabled" in status.stdout.lower()
    from evident.compat import rtgs

    assert rtgs.get_logging_status()["enabled"] is False  # the last command disabled it
    assert "disabled" in disable.stdout.lower()


@check("002:90")
def _basic_usage(c: Ctx) -> None:
    june()
    lately()
    c.run()
    lines = c.lines()
    ops = [ln for ln in lines if re.match(r"^\d{4}-\d\d-\d\d", ln)]
    assert len(ops) == 17  # the sensing-data ones: op1, op3, ... op23, old-op and June's four
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00:00: op1 - success$", ops[0]), ops[0]
    assert any(ln.endswith(": op3 - failed") for ln in ops)
    assert "Generated 2 report files" in lines
    assert lines[-1] == "Created reproduction script: reproduce_june_analysis.sh"
    assert c["script_info"]["operation_count"] == 4


@check("002:114")
def _advanced(c: Ctx) -> None:
    june()
    c.run()
    tu = c["tool_usage"]
    assert tu.loc["sensing-data", ("operation_id", "count")] == 3
    assert tu.loc["sensing-data", ("success", "mean")] == pytest.approx(0.67)
    assert tu.loc["visualization", ("duration_seconds", "sum")] == 3.2
    assert "Most active day: 2023-06-15 (2 operations)" in c.out


@check("002:146")
def _weekly(c: Ctx) -> None:
    now = datetime.now(timezone.utc)
    for d in (1, 9, 20):
        rtgs_op(now - timedelta(days=d), "sensing-data", "extract", {"d": d})
    c.run()
    reports = c["weekly_reports"]
    assert len(reports) == len({(now - timedelta(days=d)).isocalendar()[:2] for d in (1, 9, 20)})
    for week, p in reports.items():
        assert f"Week {week}: {p}" in c.lines()
        assert Path(p).read_text().startswith("# Weekly Audit Report - ")


@check("002:167")
def _custom_script(c: Ctx) -> None:
    june()
    from evident.compat.rtgs import generate_report

    generate_report("2023-06-01", "2023-06-30", output_dir="./filtered_logs")  # the logs it takes
    c.run()
    assert c.lines() == ["Custom script created: custom_reproduction.sh"]
    text = (c.dir / "custom_reproduction.sh").read_text()
    assert "list-projects" not in text and text.count("\nrtgs ") == 3


@check("002:191")
def _log_entry_format(c: Ctx) -> None:
    documented = json.loads(re.sub(r"\btrue\b", "true", c.ex.code))
    from evident.compat import rtgs

    with rtgs.log_custom_operation(documented["tool_name"], documented["operation"],
                                   parameters=documented["parameters"]) as op:
        for k, v in documented["results"].items():
            if k != "success":
                op.add_result(k, v)
        op.add_note(documented["note"])
    [log] = rtgs.recent_logs()
    assert set(documented) <= set(log)
    assert isinstance(log["timestamp"], datetime)
    assert log["parameters"] == documented["parameters"]
    assert log["results"]["records_extracted"] == 15420 and log["note"] == documented["note"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", log["operation_id"])


@check("002:240")
def _daily_report(c: Ctx) -> None:
    """The document's day: 12 operations, one failed, three tools."""
    u = lambda *a: datetime(*a, tzinfo=timezone.utc)  # noqa: E731
    rtgs_op(u(2023, 6, 15, 14, 30, 22), "sensing-data", "extract",
            {"project": "Winter Turf - v3", "start_date": "2023-01-01", "end_date": "2023-01-31"},
            {"records_extracted": 15420, "output_file": "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv"},
            duration=45.7)
    for i in range(10):
        rtgs_op(u(2023, 6, 15, 15, i, 0), "visualization" if i < 5 else "gridded-data", f"op{i}")
    rtgs_op(u(2023, 6, 15, 16, 0, 0), "gridded-data", "download", success=False, error="boom")
    from evident.compat import rtgs

    [path] = rtgs.generate_report("2023-06-15", "2023-06-15", "reports")
    ours = Path(path).read_text()
    doc = c.ex.code.strip()
    head, section = doc.split("\n\n### ")
    assert ours.startswith(head + "\n"), (ours[:400], head)
    # the operation's section: the document's lines, parameters in their recorded order
    title, *fields = section.splitlines()
    mine = ours.split("### " + title + "\n")[1].split("\n\n")[0].splitlines()
    same = [ln for ln in fields if ln in mine and "Duration" not in ln]
    assert [ln for ln in mine if ln in same] == same
    assert set(fields) <= set(mine), (fields, mine)
    assert mine.index("- **Project**: Winter Turf - v3") < mine.index("- **Date Range**: 2023-01-01 to 2023-01-31")


@check("002:269")
def _script_layout(c: Ctx) -> None:
    june()
    from evident.compat import rtgs

    rtgs.generate_report("2023-06-01", "2023-06-30", "logs")
    rtgs.create_reproduction_script("logs", "reproduce.sh")
    ours = (c.dir / "reproduce.sh").read_text().splitlines()
    doc = c.ex.code.splitlines()
    assert ours[0] == doc[0] == "#!/bin/bash"
    assert ours[1].startswith("# Reproduction script generated on ")
    assert ours[2] == "# Original execution timespan: 2023-06-15 to 2023-06-20"
    for line in ('set -e  # Exit on error', 'echo "Starting reproduction of RTGS Lab Tools operations..."',
                 "# Ensure correct git state", f"git checkout {COMMIT}",
                 'echo "Reproduction script completed successfully"'):
        assert line in ours
    # the operation as the document shows it, parameters in their recorded order
    i = ours.index('echo "Executing: sensing-data extract (2023-06-15 14:30:22)"')
    assert ours[i + 1 : i + 6] == [
        "rtgs sensing-data extract \\",
        '  --project "Winter Turf - v3" \\',
        '  --start-date "2023-01-01" \\',
        '  --end-date "2023-01-31" \\',
        '  --note "Reproduction: Monthly analysis for winter conditions"',
    ]
    j = ours.index('echo "Executing: visualization create (2023-06-15 14:32:15)"')
    assert ours[j + 1 : j + 6] == [
        "rtgs visualization create \\",
        '  --file "./data/Winter_Turf_v3_2023-01-01_to_2023-01-31.csv" \\',
        '  --parameter "Temperature" \\',
        '  --node-id "LCCMR_01" \\',
        '  --note "Reproduction: Temperature analysis visualization"',
    ]
    assert re.match(r"^# Operation 1: ", ours[i - 1])


@check("002:310")
def _workflow(c: Ctx) -> None:
    lately(n=25, step_min=4)  # 0..96 minutes ago: all but old-op within 120 minutes
    c.run()
    assert c.lines()[0] == "Research Session Workflow:"
    steps = re.findall(r"^  (\d+)\. (\S+) (\S+)$", c.out, re.M)
    assert len(steps) == 10  # recent_logs' default limit
    assert steps[0] == ("1", "visualization", "op0")
    assert "     Duration: 0.5s" in c.lines() and "     Note: note 0" in c.lines()
    assert "     Note: None" not in c.out


@check("002:330")
def _qa(c: Ctx) -> None:
    now = datetime.now(timezone.utc)
    rtgs_op(now - timedelta(days=1), "sensing-data", "extract", success=False, error="x")
    rtgs_op(now - timedelta(days=2), "sensing-data", "extract")
    rtgs_op(now - timedelta(days=3), "visualization", "create", success=False, error="y")
    c.run()
    assert len(c["qa_files"]) == 3
    assert c.lines() == ["QA Review: 2 files contain failed operations"]


@check("002:355")
def _collab(c: Ctx) -> None:
    june()
    from evident.compat import rtgs

    rtgs.generate_report("2023-06-01", "2023-06-30", "./shared_analysis_logs")
    c.run()
    assert c.lines() == [
        "Reproduction script created for collaboration:",
        "  Script: shared_analysis_reproduction.sh",
        "  Operations: 4",
        "  Time span: 2023-06-15 to 2023-06-20",
    ]


@check("002:374")
def _dotenv(c: Ctx) -> None:
    """The .env settings are read (the PostgreSQL store is tested in test_seed_002_rtgs_pg)."""
    (c.dir / ".env").write_text(c.ex.code + "\n")
    from evident.compat import rtgs

    cfg = rtgs._pg_config()
    assert cfg is not None and cfg["database"] == "postgres://audit_user@localhost:5432/rtgs_audit"
    assert re.search(r"audit_user(:[^@]*)?@localhost:5432/rtgs_audit", cfg["url"]), cfg["url"]


@check("002:383")
def _global_logging(c: Ctx) -> None:
    c.run()
    assert c.lines() == ["Postgres logging enabled: False"]
    from evident.compat import rtgs

    with rtgs.log_custom_operation("t", "o") as op:
        op.add_result("ran", True)  # still runs
    assert rtgs.recent_logs() == []
    # and it holds in another process
    r = subprocess.run([sys.executable, "-c", "from evident.compat import rtgs;"
                        "print(rtgs.get_logging_status()['enabled'])"],
                       capture_output=True, text=True, env=os.environ.copy())
    assert r.stdout.strip() == "False"


@check("002:400")
def _weekly_generation(c: Ctx) -> None:
    now = datetime.now(timezone.utc)
    rtgs_op(now - timedelta(days=3), "sensing-data", "extract")
    rtgs_op(now - timedelta(days=25), "visualization", "create")
    c.run()
    assert c.lines() == ["Generated reports for 5 weeks"]
    files = [f for w in c["week_reports"] for f in w["files"]]
    assert len(files) == 2 and all(Path(f).exists() for f in files)


@check("002:431")
def _performance(c: Ctx) -> None:
    june()
    import matplotlib

    matplotlib.use("Agg")
    c.run()
    perf = c["performance"]
    assert perf.loc["sensing-data", "count"] == 3 and perf.loc["visualization", "mean"] == 3.2
    assert c["daily_usage"].shape == (2, 2)
    assert c.lines()[0] == "Tool Performance Summary:"
    import matplotlib.pyplot as plt

    plt.close("all")


@check("002:472")
def _integration(c: Ctx) -> None:
    from evident.compat import rtgs

    class sensing_data:  # noqa: N801  (RTGS's own tools, which log their operations)
        @staticmethod
        def extract_data(project: str) -> List[float]:
            with rtgs.log_custom_operation("sensing-data", "extract", parameters={"project": project}):
                return [1.0, 2.0]

    class visualization:  # noqa: N801
        @staticmethod
        def create_time_series_plot(data: Any, parameter: str) -> str:
            with rtgs.log_custom_operation("visualization", "create", parameters={"parameter": parameter}):
                return "plot.png"

    c.run(sensing_data=sensing_data, visualization=visualization)
    assert c.lines() == ["visualization: create - True", "sensing-data: extract - True"]


@check("002:485")
def _custom_op(c: Ctx) -> None:
    import pandas as pd

    data = pd.Series([10.0, 12.0, 14.0], name="temperature")
    c.run(data=data, perform_statistical_analysis=lambda d: d)
    from evident.compat import rtgs

    [log] = rtgs.recent_logs()
    assert (log["tool_name"], log["operation"], log["success"]) == ("custom_analysis", "statistical_summary", True)
    assert log["results"] == {"mean_temperature": 12.0, "std_temperature": 2.0}
    assert log["note"] == "Statistical summary of temperature data"


# --- seed 003 (SecureML's audit trail) --------------------------------------------

_SML = ["003:9", "003:61", "003:94", "003:120", "003:139"]


def _sml_chain(c: Ctx, *ids: str) -> None:
    import pandas as pd

    for i in ids:  # the document's examples build on each other (data, all_logs)
        c.run(i, pd=pd)


@check("003:9")
def _sml_basic(c: Ctx) -> None:
    _sml_chain(c, "003:9")
    from evident.compat.secureml import get_audit_logs

    logs = get_audit_logs(operation_name="data_preprocessing_example", log_dir="audit_logs")
    kinds = [log["event_type"] for log in logs]
    assert kinds == ["operation_start", "data_access", "data_transformation", "operation_end"]
    assert logs[1]["user"] == "analyst_123" and logs[1]["num_records"] == 2
    assert logs[1]["columns_accessed"] == ["name", "age", "income", "email"]
    assert logs[2]["parameters"]["k"] == 3
    assert logs[-1]["status"] == "completed" and logs[-1]["details"]["records_processed"] == 2
    assert logs[0]["context"] == {"project": "credit_scoring", "environment": "development"}
    assert logs[0]["regulations"] == ["GDPR"]
    files = sorted(p.name for p in (c.dir / "audit_logs").iterdir())
    assert files and all(evident.verify(c.dir / "audit_logs" / f).valid for f in files if f.endswith(".jsonl")), files


@check("003:61")
def _sml_decorator(c: Ctx) -> None:
    _sml_chain(c, "003:9", "003:61")
    assert c.lines() == ["Training gradient_boosting model with 2 records"]
    assert c["result"] == {"model": "gradient_boosting_model", "accuracy": 0.92, "training_time": 35.7}
    from evident.compat.secureml import get_audit_logs

    logs = get_audit_logs(operation_name="model_training_example", log_dir="audit_logs")
    assert logs[0]["regulations"] == ["GDPR", "CCPA"]
    text = json.dumps(logs)
    assert "gradient_boosting" in text and "n_estimators" in text and "0.92" in text
    assert logs[-1]["event_type"] == "operation_end"


@check("003:94")
def _sml_get(c: Ctx) -> None:
    _sml_chain(c, "003:9", "003:61", "003:94")
    lines = c.lines()
    assert lines[0] == "Retrieved 4 logs for data preprocessing"
    assert [ln.split(" - ")[0] for ln in lines[1:]] == [
        "Event: operation_start", "Event: data_access", "Event: data_transformation", "Event: operation_end"]
    assert all(re.search(r"Time: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", ln) for ln in lines[1:])
    assert len(c["all_logs"]) == 4 + len(c["all_logs"]) - 4 and len(c["all_logs"]) >= 7


@check("003:120")
def _sml_report(c: Ctx) -> None:
    _sml_chain(c, "003:9", "003:61", "003:94", "003:120")
    assert c.lines() == ["Audit report generated at: audit_report.html"]
    text = (c.dir / "audit_report.html").read_text()
    assert text.startswith("<!DOCTYPE html>") and "<title>SecureML Operations Audit Report</title>" in text
    assert text.count("<svg") >= 3
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)  # self-contained


@check("003:139")
def _sml_compliance(c: Ctx) -> None:
    _sml_chain(c, "003:9", "003:139")
    r = c["dataset_report"]
    assert r.has_issues()
    assert {"name", "email"} <= set(r.personal_data_columns)
    from evident.compat.secureml import get_audit_logs

    logs = [log for log in get_audit_logs(log_dir="audit_logs") if log.get("dataset_name") == "customer_records"]
    assert logs, "the auditor's work is in the audit trail"


# --- seed 004 (OpenParallax's audit wrapper) ---------------------------------------

from evident.compat import openparallax as op  # noqa: E402


@check("004:10")
def _op_install(c: Ctx) -> None:
    """``pip install openparallax-audit``: not run; the module it names is
    evident's (importable, every documented name present)."""
    for name in ("AuditLogger", "EventType", "verify_integrity", "read_entries", "Query",
                 "AuditEntry", "AuditError"):
        assert hasattr(op, name), name


@check("004:17")
def _op_ctor(c: Ctx) -> None:
    assert_signature(c.ex, op.AuditLogger.__init__)
    with op.AuditLogger(str(c.dir / "a.jsonl")) as lg:
        lg.log(op.EventType.SESSION_STARTED)
    with op.AuditLogger(str(c.dir / "a.jsonl")) as lg:  # reopened: the chain goes on
        lg.log(op.EventType.SESSION_ENDED)
    assert op.verify_integrity(str(c.dir / "a.jsonl")).entries == 2


@check("004:26")
def _op_log_sig(c: Ctx) -> None:
    assert_signature(c.ex, op.AuditLogger.log)


@check("004:111")
def _op_verify_sig(c: Ctx) -> None:
    assert_signature(c.ex, op.verify_integrity)


@check("004:130")
def _op_read_sig(c: Ctx) -> None:
    assert_signature(c.ex, op.read_entries)


@check("004:139")
def _op_query_sig(c: Ctx) -> None:
    assert_signature(c.ex, op.Query)
    q = op.Query()
    assert (q.session_id, q.event_type, q.limit) == ("", 0, 0)


@check("004:150")
def _op_entry_class(c: Ctx) -> None:
    import dataclasses

    doc = re.findall(r"^    (\w+): (\w+)", c.ex.code, re.M)
    fields = {f.name: f for f in dataclasses.fields(op.AuditEntry)}
    assert [n for n, _ in doc] == list(fields)
    c.run("004:45")
    [e, *_] = op.read_entries("./audit.jsonl")
    for name, typ in doc:
        want = {"str": str, "int": int, "dict": dict, "bool": bool, "EventType": op.EventType}[typ]
        assert isinstance(getattr(e, name), want), (name, getattr(e, name))


def _op_lines(path: str) -> List[Dict[str, Any]]:
    return [json.loads(ln) for ln in Path(path).read_text().splitlines()]


@check("004:45")
def _op_log(c: Ctx) -> None:
    c.run()
    r = op.verify_integrity("./audit.jsonl")
    assert (r.valid, r.entries, r.line, r.error) == (True, 2, 0, "")
    [blocked, proposed] = op.read_entries("./audit.jsonl")
    assert proposed.event_type == op.EventType.ACTION_PROPOSED
    assert blocked.details == {"command": "rm -rf /", "reason": "denied by policy"}
    assert blocked.session_id == "sess-001" and blocked.action_type == "run_command"
    assert evident.verify("./audit.jsonl").valid


@check("004:68")
def _op_close(c: Ctx) -> None:
    c.ns["logger"] = op.AuditLogger("./audit.jsonl")  # the logger the reader has open
    c.ns["logger"].log(event_type=op.EventType.ACTION_EXECUTED, action_type="x")
    c.run()
    with pytest.raises(op.AuditError):
        c["logger"].log(event_type=op.EventType.ACTION_EXECUTED)
    assert op.verify_integrity("./audit.jsonl").entries == 1


@check("004:75")
def _op_ctx(c: Ctx) -> None:
    c.run()
    [e] = op.read_entries("./audit.jsonl")
    assert e.event_type == op.EventType.ACTION_EXECUTED and e.action_type == "read_file"
    with pytest.raises(op.AuditError):
        c["logger"].log(event_type=op.EventType.ACTION_EXECUTED)


@check("004:82")
def _op_event_types(c: Ctx) -> None:
    c.run()
    listed = re.findall(r"EventType\.(\w+)\s+# (\d+)", c.ex.code)
    assert len(listed) == 23
    for name, code in listed:
        assert int(op.EventType[name]) == int(code), name
    assert len(op.EventType) == 23


@check("004:123")
def _op_verify(c: Ctx) -> None:
    c.run("004:45")
    c.run()
    assert c.out == "" and c["result"].valid
    lines = Path("audit.jsonl").read_text().splitlines()
    [n] = [i for i, ln in enumerate(lines) if "denied" in ln]
    lines[n] = lines[n].replace("denied", "allowed")  # someone edits the blocked action
    Path("audit.jsonl").write_text("\n".join(lines) + "\n")
    c.run()
    assert c.lines() and c.lines()[0].startswith(f"Tampered at line {n + 1}: ")
    assert c["result"].line == n + 1 and not c["result"].valid and c["result"].error


@check("004:166")
def _op_read(c: Ctx) -> None:
    c.run("004:45")
    c.run()
    assert [e.event_type for e in c["entries"]] == [op.EventType.ACTION_BLOCKED, op.EventType.ACTION_PROPOSED]
    assert [e.details["reason"] for e in c["blocked"]] == ["denied by policy"]
    assert c.lines() == [
        "run_command: {'command': 'rm -rf /', 'reason': 'denied by policy'}",
        "run_command: {'command': 'ls -la', 'working_dir': '/workspace'}",
    ]


@check("004:184")
def _op_error(c: Ctx) -> None:
    c.run()
    assert c.lines()[0].startswith("Failed to create logger: ")
    assert "/nonexistent/path/audit.jsonl" in c.out


# --- README: the "Switching from …" sections -----------------------------------------

README = next((p / "README.md" for p in Path(__file__).resolve().parents if (p / "Cargo.toml").is_file()), None)


def switching_snippet(system: str) -> "tuple[str, str]":
    """The README's before/after snippet for ``system``: (before, after),
    each the whole snippet as a user of that side writes it."""
    assert README is not None
    text = README.read_text(encoding="utf-8")
    m = re.search(rf"^#+ Switching from {system}\n(.*?)^```python\n(.*?)^```", text, re.S | re.M)
    assert m, f"README.md has no 'Switching from {system}' section with a Python snippet"
    code = m.group(2)
    lines = code.splitlines()
    if "# before" in lines and "# after" in lines:  # a block of each
        b, a = lines.index("# before"), lines.index("# after")
        end = a + (a - b)
        before = lines[b + 1 : a] + lines[end:]
        after = lines[a + 1 : end] + lines[end:]
    else:  # one line each, marked at its end
        before = [ln for ln in lines if not ln.rstrip().endswith("# after")]
        after = [ln for ln in lines if not ln.rstrip().endswith("# before")]
    strip = lambda ls: "\n".join(re.sub(r"\s+# (before|after)$", "", ln) for ln in ls) + "\n"  # noqa: E731
    return strip(before), strip(after)


@pytest.mark.parametrize("system", ["TraceKit", "RTGS Lab Tools", "SecureML", "OpenParallax"])
def test_readme_switching_snippet_changes_only_the_imports(system: str) -> None:
    before, after = switching_snippet(system)
    assert before != after
    assert D.map_imports(before) == after
    changed = [(x, y) for x, y in zip(before.splitlines(), after.splitlines()) if x != y]
    assert changed and all(x.lstrip().startswith(("import ", "from ")) for x, _ in changed)


def test_readme_switching_from_tracekit_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_wfm(tmp_path / "power_supply.wfm", pwm(PWM_FREQ, PWM_RATE, 20_000, PWM_DUTY), PWM_RATE)
    _, after = switching_snippet("TraceKit")
    ns: Dict[str, Any] = {}
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        exec(compile(after, "README.md", "exec"), ns)
    assert re.search(r'^tk\.load_trace\((name="5V_RAIL", path="power_supply\.wfm"|path="power_supply\.wfm", name="5V_RAIL")\)$',
                     buf.getvalue(), re.M)
    assert "tk.measure_frequency()" in buf.getvalue()
    assert tracekit_checks(tmp_path / "audit.json", b"compliance-secret-key")
    assert tk.load_session("power_analysis.tks").get_measurements()["frequency"]["value"] == pytest.approx(PWM_FREQ, rel=1e-3)


def test_readme_switching_from_rtgs_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "rtgs"))
    _, after = switching_snippet("RTGS Lab Tools")
    exec(compile(after, "README.md", "exec"), {})
    from evident.compat import rtgs

    [log] = rtgs.recent_logs()
    assert (log["tool_name"], log["operation"], log["results"]) == (
        "custom_analysis", "statistical_summary", {"mean_temperature": 21.4})
    assert log["note"] == "Statistical summary of temperature data"
    assert evident.verify(rtgs.log_path()).valid


def test_readme_switching_from_secureml_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _, after = switching_snippet("SecureML")
    exec(compile(after, "README.md", "exec"), {})
    text = (tmp_path / "audit_report.html").read_text()
    assert "<title>Audit</title>" in text and "analyst_123" in text
    assert all(evident.verify(p).valid for p in (tmp_path / "audit_logs").glob("*.jsonl"))


def test_readme_switching_from_openparallax_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _, after = switching_snippet("OpenParallax")
    ns: Dict[str, Any] = {}
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(after, "README.md", "exec"), ns)
    assert buf.getvalue() == "True 2\n"
    assert [e.details["reason"] for e in ns["blocked"]] == ["denied by policy"]
    assert evident.verify(tmp_path / "audit.jsonl").valid


# --- seed 002's "Command Options" (documentation in prose bullets) ------------------


def documented_cli_options() -> List["tuple[str, str, str, Optional[str], bool]"]:
    """(subcommand, option, type, default, required) of each bullet under
    "Command Options"."""
    assert BASE is not None
    text = (BASE / D.DOCS["002"]).read_text(encoding="utf-8")
    section = text.split("Command Options", 1)[1].split("Python API Usage", 1)[0]
    out = []
    sub = ""
    for line in section.splitlines():
        m = re.match(r"^(\w+):$", line.strip())
        if m:
            sub = m.group(1)
            continue
        m = re.match(r"^\s*• (--[\w-]+) (\w+): .*?(?:\((default: ([^)]+)|required)\))?$", line)
        if m:
            out.append((sub, m.group(1), m.group(2), m.group(4), m.group(3) == "required"))
    return out


@needs_docs
def test_cli_options_of_seed_002(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opts = documented_cli_options()
    assert len(opts) == 9 and {o[0] for o in opts} == {"recent", "report", "reproduce"}
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "rtgs"))
    for sub, opt, typ, default, required in opts:
        help_text = rtgs_cli([sub, "--help"]).stdout
        assert opt in help_text, (sub, opt)
        if default is not None:  # the default is the documented one (argparse shows it)
            assert f"(default: {default})" in " ".join(help_text.split()), (sub, opt, default)
        if typ == "INTEGER":  # an integer option refuses text
            assert rtgs_cli([sub, opt, "many"]).returncode == 2
    required = [o for o in opts if o[4]]
    assert [(s, o) for s, o, *_ in required] == [("report", "--start-date"), ("report", "--end-date")]
    r = rtgs_cli(["report", "--start-date", "2023-06-01"])
    assert r.returncode == 2 and "--end-date" in r.stderr
    r = rtgs_cli(["report", "--end-date", "2023-06-01"])
    assert r.returncode == 2 and "--start-date" in r.stderr
