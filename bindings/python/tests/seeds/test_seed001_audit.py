"""Seed 001 (the source of TraceKit's ``tracekit/core/audit.py``): its
docstring examples with ``tracekit.core.audit`` replaced by
``evident.compat.tracekit``, and TraceKit's own verification algorithm
(re-implemented below from that source) run on what evident exports."""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest

import evident.compat.tracekit as tk

warnings.filterwarnings("ignore", message="AuditTrail secret_key is", category=UserWarning)


# --- TraceKit's checker, from seed 001 (_compute_hmac and verify_integrity) ---


def tracekit_hmac(key: bytes, alg: str, e: Dict[str, Any]) -> str:
    canonical = (
        f"{e['timestamp']}|{e['action']}|{json.dumps(e['details'], sort_keys=True)}"
        f"|{e['user']}|{e['host']}|{e['previous_hash']}"
    )
    if alg == "sha256":
        h = hmac.new(key, canonical.encode("utf-8"), hashlib.sha256)
    elif alg == "sha512":
        h = hmac.new(key, canonical.encode("utf-8"), hashlib.sha512)
    else:
        raise ValueError(f"Unsupported hash algorithm: {alg}")
    return h.hexdigest()


def tracekit_verify(key: bytes, alg: str, entries: List[Dict[str, Any]]) -> bool:
    for i, entry in enumerate(entries):
        if entry["hmac"] != tracekit_hmac(key, alg, entry):
            return False
        if i == 0:
            if entry["previous_hash"] != "GENESIS":
                return False
        elif entry["previous_hash"] != entries[i - 1]["hmac"]:
            return False
    return True


def csv_entries(path: Path) -> List[Dict[str, Any]]:
    """Entries back from TraceKit's CSV layout (details from detail_ columns)."""
    out = []
    for row in csv.DictReader(open(path, newline="", encoding="utf-8")):
        details = {k[7:]: json.loads(v) for k, v in row.items() if k.startswith("detail_") and v}
        out.append({**{k: v for k, v in row.items() if not k.startswith("detail_")}, "details": details})
    return out


# --- the docstring examples ---


def test_module_docstring_example(workdir: Path) -> None:
    from evident.compat.tracekit import AuditTrail

    audit = AuditTrail(secret_key=b"my-secret-key")
    audit.record_action("load_trace", {"file": "data.bin"}, user="alice")
    audit.record_action("compute_fft", {"samples": 1000000}, user="alice")
    # Verify integrity
    is_valid = audit.verify_integrity()
    # Export audit log
    audit.export_audit_log("audit.json", format="json")

    assert is_valid is True
    data = json.loads(Path("audit.json").read_text())
    assert tracekit_verify(b"my-secret-key", data["hash_algorithm"], data["entries"])
    assert [e["details"] for e in data["entries"]] == [{"file": "data.bin"}, {"samples": 1000000}]


def test_class_docstring_example() -> None:
    audit = tk.AuditTrail(secret_key=b"my-secret")
    audit.record_action("operation", {"param": "value"})
    assert audit.verify_integrity()


def test_record_action_docstring_example() -> None:
    audit = tk.AuditTrail(secret_key=b"key")
    entry = audit.record_action("load_trace", {"file": "data.bin", "size_mb": 100}, user="alice")
    assert isinstance(entry, tk.AuditEntry)
    assert (entry.action, entry.user, entry.previous_hash) == ("load_trace", "alice", "GENESIS")
    assert entry.hmac == tracekit_hmac(b"key", "sha256", entry.to_dict())
    assert tk.AuditEntry.from_dict(entry.to_dict()) == entry


def test_verify_integrity_docstring_example() -> None:
    audit = tk.AuditTrail(secret_key=b"key")
    audit.record_action("action1", {})
    audit.record_action("action2", {})
    assert audit.verify_integrity()  # Should be True
    # Tampering with an entry would break the chain
    audit._entries[0].action = "modified"
    assert not audit.verify_integrity()  # Should be False


def test_export_audit_log_docstring_example(workdir: Path) -> None:
    audit = tk.AuditTrail(secret_key=b"key")
    audit.record_action("test", {})
    audit.export_audit_log("audit.json", format="json")
    data = json.loads(Path("audit.json").read_text())
    assert data["entries"][0]["details"] == {}
    assert tracekit_verify(b"key", "sha256", data["entries"])
    # parent directories are created, as TraceKit does
    audit.export_audit_log("out/nested/audit.csv", format="csv")
    assert Path("out/nested/audit.csv").exists()


def test_get_entries_docstring_example() -> None:
    from datetime import datetime, timedelta, timezone

    audit = tk.AuditTrail(secret_key=b"key")
    audit.record_action("load", {})
    audit.record_action("analyze", {})
    # Get all load actions
    loads = audit.get_entries(action_type="load")
    # Get entries from last hour
    recent = audit.get_entries(since=datetime.now(timezone.utc) - timedelta(hours=1))
    assert [e.action for e in loads] == ["load"]
    assert [e.action for e in recent] == ["load", "analyze"]


def test_get_global_audit_trail_docstring_example() -> None:
    from evident.compat.tracekit import get_global_audit_trail

    audit = get_global_audit_trail(secret_key=b"my-key")
    audit.record_action("test", {})
    assert audit._secret_key == b"my-key"
    assert get_global_audit_trail(secret_key=b"other") is audit  # key used on first call only
    assert audit.verify_integrity()


def test_record_audit_docstring_example() -> None:
    from evident.compat.tracekit import record_audit

    entry = record_audit("compute_fft", {"samples": 1000000})
    assert entry.action == "compute_fft"
    assert tk.get_global_audit_trail().get_entries() == [entry]


# --- TraceKit's checker accepts evident's exports ---


@pytest.mark.parametrize("alg", ["sha256", "sha512"])
def test_tracekit_checker_accepts_json_and_csv_exports(workdir: Path, alg: str) -> None:
    key = b"compliance-secret-key"
    audit = tk.AuditTrail(secret_key=key, hash_algorithm=alg)
    audit.record_action("calibration_check", {"device": "Oscilloscope-001", "ok": True})
    audit.record_action("measure", {"result": -65.3, "unit": "dB", "note": "é ✓ \"q\""}, user="bob")
    audit.record_action("nested", {"a": {"z": 1, "b": [1, 2.5, None]}, "n": None})
    audit.export_audit_log("a.json", format="json")
    audit.export_audit_log("a.csv", format="csv")

    data = json.loads(Path("a.json").read_text())
    assert data["hash_algorithm"] == alg
    entries = data["entries"]
    assert entries[0]["previous_hash"] == "GENESIS"
    assert len(entries[0]["hmac"]) == (64 if alg == "sha256" else 128)
    assert tracekit_verify(key, alg, entries)
    assert not tracekit_verify(b"wrong-key", alg, entries)
    tampered = json.loads(json.dumps(entries))
    tampered[1]["details"]["result"] = -80.0
    assert not tracekit_verify(key, alg, tampered)

    rows = csv_entries(Path("a.csv"))
    # CSV drops null details (as TraceKit's does): the first two entries carry none
    assert [r["hmac"] for r in rows] == [e["hmac"] for e in entries]
    assert tracekit_verify(key, alg, rows[:2])


def test_evident_checker_accepts_tracekit_made_entries() -> None:
    """Entries made by TraceKit's algorithm verify with the compat trail
    (the same chain, in the other direction)."""
    key = b"k"
    audit = tk.AuditTrail(secret_key=key)
    prev = "GENESIS"
    for i in range(3):
        e = tk.AuditEntry(
            timestamp=(datetime(2026, 1, 8, tzinfo=timezone.utc) + timedelta(seconds=i)).isoformat(),
            action=f"a{i}",
            details={"i": i},
            user="u",
            host="h",
            previous_hash=prev,
        )
        e.hmac = tracekit_hmac(key, "sha256", e.to_dict())
        prev = e.hmac
        audit._entries.append(e)
    assert audit.verify_integrity()
    audit._entries[1].user = "mallory"
    assert not audit.verify_integrity()


def test_unsupported_algorithm_is_refused() -> None:
    with pytest.raises(ValueError, match="Unsupported hash algorithm"):
        tk.AuditTrail(secret_key=b"key", hash_algorithm="md5")


def test_empty_key_is_no_key_random_and_without_a_warning() -> None:
    """``self._secret_key = secret_key or os.urandom(32)``: an empty key is
    no key (a random one), as ``None`` is; nothing to warn about."""
    for key in (None, b""):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            audit = tk.AuditTrail(secret_key=key)
        assert len(audit._secret_key) == 32 and audit._secret_key != b"\0" * 32
        audit.record_action("a", {})
        assert audit.verify_integrity()
    with pytest.warns(UserWarning, match="3 bytes"):
        tk.AuditTrail(secret_key=b"key")
