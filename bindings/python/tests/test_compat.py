"""evident.compat.openparallax and evident.compat.tracekit."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import evident
from conftest import KEY_A
from evident.compat import openparallax as op
from evident.compat import tracekit as tk

# --- OpenParallax ---------------------------------------------------------


def test_event_type_numbers() -> None:
    assert len(op.EventType) == 23
    assert op.EventType.ACTION_PROPOSED == 1
    assert op.EventType.ACTION_BLOCKED == 4
    assert op.EventType.SELF_PROTECTION == 12
    assert op.EventType.SANDBOX_CANARY_RESULT == 23
    assert [int(e) for e in op.EventType] == list(range(1, 24))


def test_openparallax_logger_round_trip(log_path: Path) -> None:
    logger = op.AuditLogger(str(log_path))
    logger.log(
        event_type=op.EventType.ACTION_PROPOSED,
        action_type="run_command",
        session_id="sess-001",
        details={"command": "ls -la", "working_dir": "/workspace"},
    )
    logger.log(
        event_type=op.EventType.ACTION_BLOCKED,
        action_type="run_command",
        session_id="sess-001",
        details={"command": "rm -rf /", "reason": "denied by policy"},
        otr=True,
        source="shield",
    )
    logger.log(op.EventType.SESSION_STARTED, session_id="sess-002", details='{"from": "json text"}')
    logger.log(5, "read_file")  # a plain int is an event type number
    logger.close()
    logger.close()

    everything = op.read_entries(str(log_path))
    assert [e.id for e in everything] == ["4", "3", "2", "1"]  # most recent first
    assert everything[0].event_type is op.EventType.ACTION_EXECUTED
    blocked = op.read_entries(
        str(log_path), op.Query(session_id="sess-001", event_type=op.EventType.ACTION_BLOCKED)
    )
    assert len(blocked) == 1
    b = blocked[0]
    assert b.event_type == op.EventType.ACTION_BLOCKED and isinstance(b.event_type, op.EventType)
    assert (b.action_type, b.session_id, b.otr, b.source) == (
        "run_command",
        "sess-001",
        True,
        "shield",
    )
    assert b.details == {"command": "rm -rf /", "reason": "denied by policy"}
    raw = evident.read_entries(log_path, evident.Query(seq_min=2, seq_max=2))[0]
    assert b.timestamp == int(raw.ts.timestamp() * 1000)
    assert (b.hash, b.previous_hash) == (raw.hash, raw.prev)
    assert [e.id for e in op.read_entries(str(log_path), op.Query(limit=2))] == ["4", "3"]
    assert op.read_entries(str(log_path), op.Query(session_id="sess-002"))[0].details == {
        "from": "json text"
    }
    # stored as the event type's name, readable by any evident tool
    assert raw.event_type == "ACTION_BLOCKED"


def test_openparallax_verify_integrity(log_path: Path) -> None:
    with op.AuditLogger(log_path) as logger:
        for i in range(3):
            logger.log(op.EventType.ACTION_EXECUTED, "read_file", details={"i": i})
    result = op.verify_integrity(str(log_path))
    assert (result.valid, result.entries, result.line, result.error) == (True, 3, 0, "")
    lines = log_path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"i":1', b'"i":7')
    log_path.write_bytes(b"".join(lines))
    result = op.verify_integrity(str(log_path))
    assert not result.valid and result.line == 3 and result.error


def test_openparallax_errors_are_audit_errors(tmp_path: Path) -> None:
    with pytest.raises(op.AuditError):
        op.AuditLogger(str(tmp_path / "nonexistent" / "path" / "audit.jsonl"))
    with pytest.raises(op.AuditError):
        op.read_entries(str(tmp_path / "missing.jsonl"))
    with op.AuditLogger(tmp_path / "a.jsonl") as logger:
        with pytest.raises(op.AuditError):
            logger.log(99)  # not an event type
        with pytest.raises(op.AuditError):
            logger.log(op.EventType.ACTION_FAILED, details="{broken")


def test_openparallax_logger_options(tmp_path: Path) -> None:
    p = tmp_path / "keyed.jsonl"
    with op.AuditLogger(p, key=KEY_A) as logger:
        logger.log(op.EventType.CONFIG_CHANGED)
        assert logger.audit_log.alg == "hmac-sha256"
    assert op.verify_integrity(p, key=KEY_A).valid
    assert not op.verify_integrity(p).valid


# --- TraceKit -------------------------------------------------------------


def test_tracekit_record_verify_query(tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    audit = tk.AuditTrail(secret_key=KEY_A, path=path)
    e1 = audit.record_action("load_trace", {"file": "data.bin", "size_mb": 100}, user="alice")
    e2 = audit.record_action("compute_fft", {"samples": 1000000})
    assert isinstance(e1, tk.AuditEntry)
    assert (e1.action, e1.details, e1.user) == (
        "load_trace",
        {"file": "data.bin", "size_mb": 100},
        "alice",
    )
    assert e1.host and e2.user  # default OS user
    assert e2.previous_hash == e1.hmac and len(e1.hmac) == 64
    assert e1.timestamp.endswith("Z")
    assert audit.verify_integrity() is True
    assert [e.action for e in audit.get_entries()] == ["load_trace", "compute_fft"]
    assert [e.action for e in audit.get_entries(action_type="load_trace")] == ["load_trace"]
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert audit.get_entries(since=future) == []
    hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    assert len(audit.get_entries(since=hour_ago)) == 2
    assert len(audit.get_entries(since=hour_ago.replace(tzinfo=None))) == 2  # naive = UTC
    assert audit.get_entries()[0] == e1
    assert tk.AuditEntry.from_dict(e1.to_dict()) == e1
    audit.close()
    assert evident.verify(path, key=KEY_A).valid


def test_tracekit_detects_tampering(tmp_path: Path) -> None:
    path = tmp_path / "trail.jsonl"
    with tk.AuditTrail(secret_key=KEY_A, path=path) as audit:
        audit.record_action("action1", {})
        audit.record_action("action2", {})
        assert audit.verify_integrity()
        data = path.read_bytes().replace(b'"action1"', b'"modified"')
        path.write_bytes(data)
        assert audit.verify_integrity() is False


def test_tracekit_sha512_and_keyless(tmp_path: Path) -> None:
    with tk.AuditTrail(KEY_A, "sha512", path=tmp_path / "s512.jsonl") as audit:
        e = audit.record_action("x", {})
        assert len(e.hmac) == 128 and audit.audit_log.alg == "hmac-sha512"
        assert audit.verify_integrity()
    with tk.AuditTrail(path=tmp_path / "plain.jsonl") as audit:
        audit.record_action("x", {})
        assert audit.audit_log.alg == "sha256" and audit.verify_integrity()
    with pytest.raises(ValueError, match="Unsupported hash algorithm"):
        tk.AuditTrail(KEY_A, "md5", path=tmp_path / "x.jsonl")
    # no key: a random one for the TraceKit chain (as TraceKit), keyless log
    with tk.AuditTrail(None, "sha512", path=tmp_path / "y.jsonl") as audit:
        assert len(audit.record_action("x", {}).hmac) == 128
        assert audit.audit_log.alg == "sha256" and audit.verify_integrity()
    # a key too short for evident's HMAC: refused for a log (the file could
    # be rewritten unnoticed; test_review_stop48_tracekit.py), in memory a warning
    with pytest.raises(ValueError, match="at least 16 bytes"):
        tk.AuditTrail(b"key", path=tmp_path / "z.jsonl")
    with pytest.warns(UserWarning, match="3 bytes"):
        short = tk.AuditTrail(b"key")
    short.record_action("x", {})
    assert short.verify_integrity()


def test_tracekit_buffered_read_back(tmp_path: Path) -> None:
    with tk.AuditTrail(KEY_A, path=tmp_path / "b.jsonl", durability="buffered") as audit:
        e = audit.record_action("buffered", {"k": 1})
        assert e.details == {"k": 1}
        assert len(audit.get_entries()) == 1 and audit.verify_integrity()


def test_tracekit_export_json_and_csv(tmp_path: Path) -> None:
    with tk.AuditTrail(KEY_A, path=tmp_path / "t.jsonl") as audit:
        audit.record_action("load", {"file": "a.bin"}, user="u1")
        audit.record_action("fft", {"n": 8, "window": "hann"}, user="u2")
        audit.export_audit_log(str(tmp_path / "out" / "audit.json"))
        audit.export_audit_log(str(tmp_path / "audit.csv"), format="csv")
        with pytest.raises(ValueError, match="Unsupported format"):
            audit.export_audit_log(str(tmp_path / "audit.xml"), format="xml")
        entries = audit.get_entries()
    data = json.loads((tmp_path / "out" / "audit.json").read_text())
    assert data["version"] == "1.0" and data["hash_algorithm"] == "sha256"
    assert data["entries"] == [e.to_dict() for e in entries]
    assert set(data["entries"][0]) == {
        "timestamp",
        "action",
        "details",
        "user",
        "host",
        "previous_hash",
        "hmac",
    }
    with open(tmp_path / "audit.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "timestamp",
        "action",
        "user",
        "host",
        "previous_hash",
        "hmac",
        "detail_file",
        "detail_n",
        "detail_window",
    ]
    assert (rows[0]["action"], rows[0]["detail_file"], rows[0]["detail_n"]) == (
        "load",
        '"a.bin"',
        "",
    )
    assert (rows[1]["user"], rows[1]["detail_n"], rows[1]["detail_window"]) == ("u2", "8", '"hann"')
    assert rows[1]["hmac"] == entries[1].hmac


def test_tracekit_global_trail(tmp_path: Path) -> None:
    tk._global_audit_trail = None
    try:
        trail = tk.get_global_audit_trail(KEY_A, path=tmp_path / "g.jsonl")
        assert tk.get_global_audit_trail() is trail
        e = tk.record_audit("compute_fft", {"samples": 1000000})
        assert e.action == "compute_fft" and trail.verify_integrity()
        trail.close()
        tk._global_audit_trail = None
        # with no prior configuration: an in-memory trail, as TraceKit's
        assert tk.record_audit("x", {}).previous_hash == "GENESIS"
        assert tk.get_global_audit_trail().path is None
    finally:
        tk._global_audit_trail = None


def test_tracekit_session_api_is_reexported(tmp_path: Path) -> None:
    from evident.compat import tracekit as tk

    session = tk.Session(name="Debug Session")
    session.add_trace("SYNTHETIC", [0.0, 0.5, 1.0], sample_rate=1e6)
    session.annotate("Glitch detected", time=1.5e-6)
    session.record_measurement("rise_time", 2.3e-9, unit="s", trace_name="SYNTHETIC")
    session.save(tmp_path / "analysis.tks")
    back = tk.load_session(tmp_path / "analysis.tks")
    assert back.list_traces() == ["SYNTHETIC"]
    assert back.get_measurements()["rise_time"]["value"] == 2.3e-9
    assert [a.text for a in back.get_annotations()] == ["Glitch detected"]
    assert back.get_annotations()[0].annotation_type == tk.AnnotationType.POINT
