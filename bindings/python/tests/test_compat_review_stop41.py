"""Defects an outside review of the compat modules found (seeds 002 and 004,
README "Switching from OpenParallax" / "Switching from RTGS Lab Tools").
Each test failed before its fix."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from evident.compat import openparallax as op
from evident.compat import rtgs

VECTORS = Path(__file__).resolve().parents[3] / "spec" / "vectors" / "openparallax"


def _op_entry(prev: str, i: int, event_type: int) -> dict:
    e = {"id": f"00000000-0000-4000-8000-00000000000{i}", "event_type": event_type,
         "timestamp": 1711929600000 + i, "session_id": "sess-001", "action_type": "mode",
         "previous_hash": prev, "hash": "", "otr": False}
    e["hash"] = hashlib.sha256(
        json.dumps(e, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return e


def test_event_types_24_to_29_are_read_the_same_before_and_after_migration(tmp_path):
    # The library imports OpenParallax's event types 1-29; the Python
    # EventType stopped at 23, so a migrated file's type 24 could not be
    # queried (or logged) any more.
    p = tmp_path / "audit.jsonl"
    a = _op_entry("", 1, 17)
    b = _op_entry(a["hash"], 2, 24)
    p.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in (a, b)))
    before = [(e.id, e.event_type) for e in op.read_entries(p, op.Query(event_type=24))]
    assert before == [(b["id"], 24)]
    op.AuditLogger(p).close()  # migrates
    after = [(e.id, e.event_type) for e in op.read_entries(p, op.Query(event_type=24))]
    assert after == before
    assert len(op.EventType) == 23  # the seed's enum; later numbers only read back
    with op.AuditLogger(p) as lg:
        with pytest.raises(op.AuditError):
            lg.log(27, "flow")  # log takes the documented types
    got = op.read_entries(p, op.Query(event_type="SECURITY_MODE_CHANGED"))
    assert [e.event_type for e in got] == [24]
    with pytest.raises(op.AuditError):
        op.read_entries(p, op.Query(event_type=30))
    # Seed 004: log(event_type: EventType): an unknown number was refused,
    # but any string (a typo such as "ACTION_BLOKED"), True and 4.0 were
    # written.
    with op.AuditLogger(p) as lg:
        for bad in (99, "ACTION_BLOKED", "not an event", True, 4.0, None):
            with pytest.raises(op.AuditError):
                lg.log(bad, "x")
        lg.log("ACTION_BLOCKED", "by name")
    assert [e.event_type for e in op.read_entries(p, op.Query(limit=1))] == [
        op.EventType.ACTION_BLOCKED]
    anchors = op.read_entries(p, op.Query(event_type="OPENPARALLAX_IMPORT"))
    assert len(anchors) == 1  # the migration's anchor entry
    # "All functions raise AuditError on failure": a query that is not a
    # Query was an AttributeError
    with pytest.raises(op.AuditError):
        op.read_entries(p, {"limit": 1})


@pytest.fixture
def ws(tmp_path, monkeypatch):
    for k in list(os.environ):
        if k.startswith("POSTGRES_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("EVIDENT_RTGS_DIR", str(tmp_path / "rtgsdata"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_record_operation_takes_a_naive_time_as_text_as_local_time(ws):
    # README (RTGS): a naive time (datetime.now(), "2023-06-15T14:00:00") is
    # the host's local time; record_operation(timestamp=...) refused the text.
    naive = datetime(2023, 6, 15, 14, 30, 22, 123456)
    for i, text in enumerate(["2023-06-15T14:30:22.123456", "2023-06-15 14:30:22.123456"]):
        rtgs.record_operation("tool", f"op{i}", timestamp=text)
    rtgs.record_operation("tool", "dt", timestamp=naive)
    rtgs.record_operation("tool", "day", timestamp="2023-06-15")
    rtgs.record_operation("tool", "utc", timestamp="2023-06-15T14:30:22.123456Z")
    logs = {r["operation"]: r["timestamp"] for r in
            rtgs.AuditService().get_audit_logs("2023-06-01", "2023-06-30")}
    want = naive.astimezone(timezone.utc)
    for name in ("op0", "op1", "dt"):
        assert logs[name] == want, name
    assert logs["day"] == datetime(2023, 6, 15).astimezone(timezone.utc)
    assert logs["utc"] == datetime(2023, 6, 15, 14, 30, 22, 123456, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        rtgs.record_operation("tool", "bad", timestamp="15/06/2023")


def test_get_audit_logs_is_oldest_first_by_time(ws):
    # Its documentation says oldest first; operations imported out of order
    # came back in the order they were appended, and limit= kept the first
    # appended instead of the oldest.
    rtgs.record_operation("a", "late", timestamp="2023-06-20T10:00:00Z")
    rtgs.record_operation("a", "early", timestamp="2023-06-10T10:00:00Z")
    rtgs.record_operation("a", "mid", timestamp="2023-06-15T10:00:00Z")
    svc = rtgs.AuditService()
    got = [r["operation"] for r in svc.get_audit_logs("2023-06-01", "2023-06-30")]
    assert got == ["early", "mid", "late"]
    got = [r["operation"] for r in svc.get_audit_logs("2023-06-01", "2023-06-30", limit=2)]
    assert got == ["early", "mid"]


# --- TraceKit (seeds 000 and 001) -------------------------------------------------

import evident.compat.tracekit as tk  # noqa: E402


def test_a_locked_layer_refuses_with_a_value_error(tmp_path):
    # TraceKit's AnnotationLayer.add/remove/clear raise ValueError on a
    # locked layer; LayerLockedError was not one.
    s = tk.Session(name="s")
    layer = s.set_layer("marks", locked=True)
    for call in (lambda: s.annotate("x", time=1.0, layer="marks"),
                 lambda: layer.add(tk.Annotation("y", time=2.0)),
                 lambda: layer.clear()):
        with pytest.raises(ValueError):
            call()


def test_the_seed_modules_names_are_there_to_patch(monkeypatch):
    # Seed 001 imports socket, hashlib, hmac, UTC and format_timestamp at
    # module level; tests patch them (the host fallback, frozen times).
    for name in ("socket", "hashlib", "hmac", "UTC", "format_timestamp", "getpass", "json"):
        assert hasattr(tk, name), name
    monkeypatch.setattr(tk.socket, "gethostname", lambda: "bench-7")
    monkeypatch.setattr(tk, "format_timestamp",
                        lambda dt, format="iso8601": "2026-01-08T10:30:00.000000Z")
    trail = tk.AuditTrail(secret_key=b"0123456789abcdef0123")
    e = trail.record_action("load_trace", {"file": "a.wfm"})
    assert (e.host, e.timestamp) == ("bench-7", "2026-01-08T10:30:00.000000Z")
    assert trail.verify_integrity()


def test_a_session_gives_back_the_same_trace_object(tmp_path):
    # Seed 000: "traces: Dictionary of loaded traces (name -> trace)";
    # get_trace and traces[...] made a new wrapper on every call.
    csv = tmp_path / "data.csv"
    csv.write_text("time,v\n" + "".join(f"{i / 1000},{(i % 10) / 10}\n" for i in range(200)))
    s = tk.Session(name="same")
    t1 = s.load_trace(csv, name="CH1")
    assert s.get_trace("CH1") is t1 and s.traces["CH1"] is t1
    tk.frequency(t1)  # measuring (recorded in the history) keeps it
    assert s.get_trace("CH1") is t1
    w = tk.WaveformTrace(data=[0.0, 1.0, 0.0, 1.0], sample_rate=10.0)
    s.add_trace("W", w)  # the session's copy, one object for it
    tw = s.get_trace("W")
    assert tw is s.traces["W"] and tw.name == "W"
    assert tk.frequency(tw) == tk.frequency(w)
    assert s.history.entries[-1].operation == "measure_frequency"  # bound: recorded
    s.add_trace("c", t1)  # a copy under another name: its own object
    assert s.get_trace("c") is not t1 and s.get_trace("c").name == "c"
    assert s.get_trace("CH1") is t1
    t2 = s.load_trace(csv, name="CH1")  # replaced: the new trace from now on
    assert t2 is not t1 and s.get_trace("CH1") is t2
    s.add_trace("W", [1.0, 2.0])
    assert s.get_trace("W") is not tw and len(s.get_trace("W")) == 2
    s.remove_trace("W")
    with pytest.raises(KeyError):
        s.get_trace("W")


def test_reproduce_from_a_log_that_does_not_verify_warns(tmp_path):
    import evident
    log = tmp_path / "a.jsonl"
    with evident.AuditLog(log) as a:
        a.log("tool_operation", "extract", source="sensing-data",
              details={"parameters": {"project": "Winter"}})
    text = log.read_text().replace("Winter", "Summer")
    log.write_text(text)
    with pytest.warns(UserWarning, match="hash_mismatch"):
        info = evident.reproduce(log, tmp_path / "r.sh")
    assert len(info["unverified"]) == 1
    assert "# WARNING: a log did not verify" in (tmp_path / "r.sh").read_text()


def test_a_measurement_of_nan_or_infinity_reads_back_as_the_float(tmp_path):
    # Seed 000: record_measurement(value: Any); TraceKit keeps NaN (a rise
    # time of a trace without an edge). It came back as the text 'nan', so
    # math.isnan(value) raised TypeError.
    import math
    s = tk.Session(name="nan")
    s.record_measurement("rise_time", float("nan"), unit="s")
    s.record_measurement("gain", float("inf"))
    s.record_measurement("low", float("-inf"))
    s.record_measurement("label", "nan-ish")
    for sess in (s, tk.load_session(s.save(tmp_path / "m.tks"))):
        m = sess.get_measurements()
        assert math.isnan(m["rise_time"]["value"]) and m["rise_time"]["unit"] == "s"
        assert m["gain"]["value"] == math.inf and m["low"]["value"] == -math.inf
        assert m["label"]["value"] == "nan-ish"
        assert math.isnan(sess.measurements["rise_time"]["value"])
        assert math.isnan(sess.measurement_records()[0].value)


def test_reproduce_verifies_a_keyed_log_with_its_key(tmp_path):
    import evident
    key = bytes(range(32))
    log = tmp_path / "k.jsonl"
    with evident.AuditLog(log, key=key) as a:
        a.log("tool_operation", "run", source="tool", details={"parameters": {"n": 1}})
    log.write_text(log.read_text().replace('"n":1', '"n":2'))
    with pytest.warns(UserWarning, match="hash_mismatch"):
        info = evident.reproduce(log, tmp_path / "r.sh", key=key)
    assert len(info["unverified"]) == 1


def test_openparallax_logger_options_and_event_type_forms(tmp_path):
    # The shared lock by default must not refuse automatic checkpoints
    # (they need the exclusive lock); queries may name any stored type;
    # numpy integers are event type numbers.
    import evident
    p = tmp_path / "a.jsonl"
    with evident.AuditLog(p) as a:
        a.log("deploy", "by another writer")
    assert [e.action_type for e in op.read_entries(p, op.Query(event_type="deploy"))] == [
        "by another writer"]
    from evident.checkpoint import AutoCheckpoint, keygen
    skey, _vkey = keygen("example.org/log")
    with op.AuditLogger(tmp_path / "c.jsonl", checkpoint=AutoCheckpoint(skey, every_entries=1)) as lg:
        lg.log(op.EventType.ACTION_EXECUTED, "x")
    assert op.verify_integrity(tmp_path / "c.jsonl").valid
    np = pytest.importorskip("numpy")
    with op.AuditLogger(p) as lg:
        lg.log(np.int64(4), "numpy")
    assert op.read_entries(p, op.Query(limit=1))[0].event_type == op.EventType.ACTION_BLOCKED
