"""Seed 000 (TraceKit): the Audit Trail examples, with only the import line
changed."""

from __future__ import annotations

import csv
import json
import os
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import evident
import evident.compat.tracekit as tk

warnings.filterwarnings("ignore", message="AuditTrail secret_key is", category=UserWarning)

try:
    from datetime import UTC  # Python >= 3.11, as the document uses
except ImportError:  # pragma: no cover
    UTC = timezone.utc


def test_basic_audit_trail(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # --- the document's example ---
    import evident.compat.tracekit as tk

    # Create audit trail with secret key
    # WARNING: Use secure key management in production!
    audit = tk.AuditTrail(secret_key=b"your-secret-key")

    # Record actions
    audit.record_action("load_trace", {"file": "oscilloscope.wfm", "size_mb": 150}, user="alice")

    audit.record_action("compute_fft", {"samples": 1000000, "window": "hann"}, user="alice")

    audit.record_action(
        "measure_thd", {"fundamental_freq": 1000.0, "thd_db": -65.3}, user="alice"
    )

    # Verify integrity
    is_valid = audit.verify_integrity()
    print(f"Audit trail valid: {is_valid}")

    # Export audit log
    audit.export_audit_log("audit.json", format="json")
    audit.export_audit_log("audit.csv", format="csv")
    # --- end ---

    assert capsys.readouterr().out == "Audit trail valid: True\n"
    data = json.loads(Path("audit.json").read_text())
    assert [e["action"] for e in data["entries"]] == ["load_trace", "compute_fft", "measure_thd"]
    assert all(e["user"] == "alice" for e in data["entries"])
    assert data["entries"][2]["details"] == {"fundamental_freq": 1000.0, "thd_db": -65.3}
    rows = list(csv.DictReader(open("audit.csv", newline="")))
    assert list(rows[0]) == [
        "timestamp",
        "action",
        "user",
        "host",
        "previous_hash",
        "hmac",
        "detail_file",
        "detail_fundamental_freq",
        "detail_samples",
        "detail_size_mb",
        "detail_thd_db",
        "detail_window",
    ]
    assert rows[0]["detail_file"] == '"oscilloscope.wfm"' and rows[0]["detail_samples"] == ""
    assert rows[1]["detail_samples"] == "1000000"
    assert [r["hmac"] for r in rows] == [e["hmac"] for e in data["entries"]]


def test_record_action_example(capsys: pytest.CaptureFixture[str]) -> None:
    # --- the document's example ---
    audit = tk.AuditTrail(secret_key=b"key")

    # Record with automatic user detection
    entry1 = audit.record_action("load_trace", {"file": "data.wfm", "size_mb": 100})

    # Record with explicit user
    entry2 = audit.record_action("export_results", {"format": "csv", "rows": 1000}, user="bob")

    print(f"Action: {entry2.action}")
    print(f"User: {entry2.user}")
    print(f"Host: {entry2.host}")
    print(f"Time: {entry2.timestamp}")
    # --- end ---

    import getpass
    import socket

    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["Action: export_results", "User: bob", f"Host: {socket.gethostname()}"]
    assert out[3] == f"Time: {entry2.timestamp}"
    ts = datetime.fromisoformat(entry2.timestamp.replace("Z", "+00:00"))
    assert abs(ts - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert entry1.user == getpass.getuser()
    assert entry1.previous_hash == "GENESIS" and entry2.previous_hash == entry1.hmac
    assert len(entry1.hmac) == 64


def test_verify_integrity_example() -> None:
    # --- the document's example ---
    audit = tk.AuditTrail(secret_key=b"key")
    audit.record_action("action1", {"value": 100})
    audit.record_action("action2", {"value": 200})

    # Verify integrity
    assert audit.verify_integrity()  # Should pass

    # Detect tampering
    audit._entries[0].details["value"] = 999
    assert not audit.verify_integrity()  # Should fail
    # --- end ---

    audit._entries[0].details["value"] = 100
    assert audit.verify_integrity()  # restoring the value restores the chain
    del audit._entries[0]
    assert not audit.verify_integrity()  # a removed entry breaks the chain


def test_get_entries_example(capsys: pytest.CaptureFixture[str]) -> None:
    # --- the document's example ---
    from datetime import datetime, timedelta

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
    # --- end ---

    assert capsys.readouterr().out == "Load operations: 2\nRecent entries: 4\n"
    assert [e.details["file"] for e in loads] == ["a.wfm", "b.wfm"]
    assert audit.get_entries(since=datetime.now(UTC) + timedelta(hours=1)) == []


def test_export_audit_log_example(workdir: Path) -> None:
    # --- the document's example ---
    audit = tk.AuditTrail(secret_key=b"key")
    audit.record_action("test1", {"value": 1})
    audit.record_action("test2", {"value": 2})

    # Export as JSON (human-readable, structured)
    audit.export_audit_log("audit.json", format="json")

    # Export as CSV (spreadsheet-friendly)
    audit.export_audit_log("audit.csv", format="csv")
    # --- end ---

    text = Path("audit.json").read_text()
    assert text.startswith('{\n  "version": "1.0",\n  "hash_algorithm": "sha256",\n  "entries": [')
    data = json.loads(text)
    assert [list(e) for e in data["entries"]] == [
        ["timestamp", "action", "details", "user", "host", "previous_hash", "hmac"]
    ] * 2
    rows = list(csv.DictReader(open("audit.csv", newline="")))
    assert [(r["action"], r["detail_value"]) for r in rows] == [("test1", "1"), ("test2", "2")]
    with pytest.raises(ValueError, match="Unsupported format"):
        audit.export_audit_log("audit.xml", format="xml")


def test_global_audit_trail_example(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # --- the document's example ---
    import evident.compat.tracekit as tk

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
    # --- end ---

    assert capsys.readouterr().out == "Total audit entries: 3\n"
    data = json.loads(Path("global_audit.json").read_text())
    assert [e["action"] for e in data["entries"]] == [
        "start_analysis",
        "load_trace",
        "compute_measurements",
    ]
    assert tk.get_global_audit_trail() is audit


def test_compliance_audit_trail_example(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # --- the document's example (Example 5) ---
    import evident.compat.tracekit as tk

    # Initialize audit trail with production settings
    # In production: load secret_key from environment or secrets manager
    audit = tk.AuditTrail(secret_key=b"production-secret-key", hash_algorithm="sha256")

    # Record compliance operations
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
        {
            "type": "THD",
            "result": -65.3,
            "unit": "dB",
            "standard": "IEC 61000-4-7",
            "pass": True,
        },
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
    print(f"\nAudit chain:")
    for i, entry in enumerate(entries, 1):
        print(f"{i}. {entry.timestamp} - {entry.action} by {entry.user}")
        print(f"   HMAC: {entry.hmac[:32]}...")
    # --- end ---

    out = capsys.readouterr().out
    assert "Total actions: 5" in out
    assert f"5. {entries[4].timestamp} - review_results by senior_engineer" in out
    assert f"   HMAC: {entries[0].hmac[:32]}..." in out
    assert Path("compliance_audit_2026-01-08.json").exists()
    assert len(list(csv.DictReader(open("compliance_audit_2026-01-08.csv")))) == 5


def test_best_practices_audit(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_SECRET_KEY", "a-key-from-the-environment")
    value, outcome, result_value = 42, "ok", -65.3

    # --- the document's snippets ---
    import os

    secret_key = os.environ.get("AUDIT_SECRET_KEY").encode()
    audit = tk.AuditTrail(secret_key=secret_key)

    audit.record_action(
        "action", {"parameter": value, "context": "information", "result": outcome}
    )

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
            "result": result_value,
        },
    )
    # --- end ---

    (exported,) = Path(".").glob("audit_*.json")
    assert json.loads(exported.read_text())["entries"][0]["details"]["parameter"] == 42
    assert [e.action for e in audit.get_entries()] == ["action", "measurement"]
    assert audit.verify_integrity()


def test_audit_trail_persisted_to_an_evident_log(workdir: Path) -> None:
    key = b"k" * 32
    audit = tk.AuditTrail(secret_key=key, path="trail.jsonl")
    audit.record_action("load", {"file": "a.wfm"}, user="alice")
    audit.record_action("measure", {"value": 1.5}, user="alice")
    assert audit.verify_integrity()
    audit.close()
    # an ordinary evident log, verified by evident
    assert evident.verify("trail.jsonl", key=key).valid
    entries = evident.read_entries("trail.jsonl")
    assert [(e.action, e.actor) for e in entries] == [("load", "alice"), ("measure", "alice")]
    # opened again, the trail is rebuilt with the same TraceKit HMACs
    again = tk.AuditTrail(secret_key=key, path="trail.jsonl")
    assert [e.hmac for e in again.get_entries()] == [e.hmac for e in audit.get_entries()]
    again.record_action("export", {})
    assert again.verify_integrity() and len(again.get_entries()) == 3
    again.close()
    # a short key cannot key the log: refused with path= (the file could be
    # rewritten and pass verify_integrity; test_review_stop48_tracekit.py)
    with pytest.raises(ValueError, match="at least 16 bytes"):
        tk.AuditTrail(secret_key=b"key", path="short.jsonl")
