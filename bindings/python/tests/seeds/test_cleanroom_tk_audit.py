"""Clean-room acceptance tests: TraceKit's audit trail, run on evident.

Written from the seed documents alone (seed 000 lines ~645-905 and its audit-only
examples: Quick Start, Example 5, the audit best practices; all of seed 001, the
source of tracekit/core/audit.py), with only the import line changed:
``import tracekit as tk`` / ``from tracekit.core.audit import ...`` ->
``evident.compat.tracekit``.

Every export evident writes is checked with TraceKit's own algorithm as given in
seed 001 (lines 321-335 for the HMAC input, 337-398 for the JSON and CSV layouts),
re-implemented here for each hash algorithm TraceKit supports (sha256, sha512).
"""

from __future__ import annotations

import csv
import dataclasses
import getpass
import hashlib
import hmac as hmac_mod
import io
import json
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import evident.compat.tracekit as tk
from evident.compat.tracekit import (
    AuditEntry,
    AuditTrail,
    get_global_audit_trail,
    record_audit,
)

ENTRY_FIELDS = ["timestamp", "action", "details", "user", "host", "previous_hash", "hmac"]
CSV_FIXED = ["timestamp", "action", "user", "host", "previous_hash", "hmac"]


# --------------------------------------------------------------------------
# TraceKit's algorithm, transcribed from seed 001
# --------------------------------------------------------------------------

def th_canonical(e: dict[str, Any]) -> str:
    # seed 001 lines 322-325
    return (
        f"{e['timestamp']}|{e['action']}|{json.dumps(e['details'], sort_keys=True)}"
        f"|{e['user']}|{e['host']}|{e['previous_hash']}"
    )


def th_hmac(key: bytes, algorithm: str, e: dict[str, Any]) -> str:
    # seed 001 lines 328-335
    if algorithm == "sha256":
        digest = hashlib.sha256
    elif algorithm == "sha512":
        digest = hashlib.sha512
    else:
        raise ValueError(f"Unsupported hash algorithm: {algorithm}")
    return hmac_mod.new(key, th_canonical(e).encode("utf-8"), digest).hexdigest()


def th_verify(key: bytes, algorithm: str, entries: list[dict[str, Any]]) -> bool:
    # seed 001 lines 216-232
    if not entries:
        return True
    for i, e in enumerate(entries):
        if e["hmac"] != th_hmac(key, algorithm, e):
            return False
        if i == 0:
            if e["previous_hash"] != "GENESIS":
                return False
        elif e["previous_hash"] != entries[i - 1]["hmac"]:
            return False
    return True


def entry_dict(e: Any) -> dict[str, Any]:
    """An entry as TraceKit's to_dict() gives it (asdict: fields in order)."""
    return {f: getattr(e, f) for f in ENTRY_FIELDS}


def expected_json_text(algorithm: str, entries: list[Any]) -> str:
    # seed 001 lines 343-350
    data = {
        "version": "1.0",
        "hash_algorithm": algorithm,
        "entries": [entry_dict(e) for e in entries],
    }
    return json.dumps(data, indent=2)


def expected_csv_text(entries: list[Any]) -> str:
    # seed 001 lines 358-398
    buf = io.StringIO(newline="")
    if not entries:
        return ""
    keys: set[str] = set()
    for e in entries:
        keys.update(e.details.keys())
    detail_keys = sorted(keys)
    writer = csv.DictWriter(buf, fieldnames=CSV_FIXED + [f"detail_{k}" for k in detail_keys])
    writer.writeheader()
    for e in entries:
        row = {f: getattr(e, f) for f in CSV_FIXED}
        for k in detail_keys:
            v = e.details.get(k)
            row[f"detail_{k}"] = json.dumps(v) if v is not None else ""
        writer.writerow(row)
    return buf.getvalue()


def load_json_export(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_csv_export(path: str | Path) -> list[dict[str, Any]]:
    """Rebuilds entries from a CSV export (details: the non-empty detail_ cells)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        e = {k: r[k] for k in CSV_FIXED}
        e["details"] = {
            k[len("detail_"):]: json.loads(v)
            for k, v in r.items()
            if k.startswith("detail_") and v != ""
        }
        out.append(e)
    return out


def read_text_exact(path: str | Path) -> str:
    with open(path, newline="", encoding="utf-8") as f:
        return f.read()


def parse_utc(ts: str) -> datetime:
    """An ISO 8601 timestamp in UTC ('Z', '+00:00' or no designator)."""
    assert isinstance(ts, str)
    dt = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    assert dt.utcoffset() == timedelta(0), ts
    return dt


def assert_recent(ts: str) -> None:
    dt = parse_utc(ts)
    assert abs((datetime.now(UTC) - dt).total_seconds()) < 120, ts


# --------------------------------------------------------------------------
# Seed 000: Quick Start (lines 26-30)
# --------------------------------------------------------------------------

def test_quick_start_audit(workdir: Path) -> None:
    audit = tk.AuditTrail(secret_key=b"your-secret-key")
    audit.record_action("load_trace", {"file": "data.wfm"})
    assert audit.verify_integrity()
    audit.export_audit_log("audit.json", format="json")

    data = load_json_export(workdir / "audit.json")
    assert [e["action"] for e in data["entries"]] == ["load_trace"]
    assert data["entries"][0]["details"] == {"file": "data.wfm"}
    assert th_verify(b"your-secret-key", "sha256", data["entries"])


# --------------------------------------------------------------------------
# Seed 000: Example - Basic Audit Trail (lines 662-696)
# --------------------------------------------------------------------------

def test_basic_audit_trail_example(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    audit = tk.AuditTrail(secret_key=b"your-secret-key")
    audit.record_action("load_trace", {"file": "oscilloscope.wfm", "size_mb": 150}, user="alice")
    audit.record_action("compute_fft", {"samples": 1000000, "window": "hann"}, user="alice")
    audit.record_action("measure_thd", {"fundamental_freq": 1000.0, "thd_db": -65.3}, user="alice")

    is_valid = audit.verify_integrity()
    print(f"Audit trail valid: {is_valid}")
    audit.export_audit_log("audit.json", format="json")
    audit.export_audit_log("audit.csv", format="csv")

    assert is_valid is True
    assert capsys.readouterr().out == "Audit trail valid: True\n"

    data = load_json_export("audit.json")
    assert data["version"] == "1.0"
    assert data["hash_algorithm"] == "sha256"
    assert [e["action"] for e in data["entries"]] == ["load_trace", "compute_fft", "measure_thd"]
    assert [e["user"] for e in data["entries"]] == ["alice"] * 3
    assert data["entries"][0]["details"] == {"file": "oscilloscope.wfm", "size_mb": 150}
    assert data["entries"][2]["details"] == {"fundamental_freq": 1000.0, "thd_db": -65.3}
    assert th_verify(b"your-secret-key", "sha256", data["entries"])

    rows = load_csv_export("audit.csv")
    assert th_verify(b"your-secret-key", "sha256", rows)
    with open("audit.csv", newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header == CSV_FIXED + [
        "detail_file", "detail_fundamental_freq", "detail_samples",
        "detail_size_mb", "detail_thd_db", "detail_window",
    ]


def test_basic_example_writes_only_the_exports(workdir: Path) -> None:
    """TraceKit's trail lives in memory: the example leaves only its two exports."""
    audit = tk.AuditTrail(secret_key=b"your-secret-key")
    audit.record_action("load_trace", {"file": "oscilloscope.wfm"}, user="alice")
    audit.verify_integrity()
    audit.export_audit_log("audit.json", format="json")
    audit.export_audit_log("audit.csv", format="csv")
    assert sorted(p.name for p in workdir.iterdir()) == ["audit.csv", "audit.json"]


# --------------------------------------------------------------------------
# AuditEntry (seed 000 lines 698-716, seed 001 lines 38-84)
# --------------------------------------------------------------------------

def test_audit_entry_is_the_documented_dataclass() -> None:
    assert dataclasses.is_dataclass(AuditEntry)
    assert [f.name for f in dataclasses.fields(AuditEntry)] == ENTRY_FIELDS
    e = AuditEntry("2026-01-08T10:00:00Z", "load", {"a": 1}, "alice", "h", "GENESIS")
    assert e.hmac == ""  # field(default="")
    assert e.to_dict() == {
        "timestamp": "2026-01-08T10:00:00Z", "action": "load", "details": {"a": 1},
        "user": "alice", "host": "h", "previous_hash": "GENESIS", "hmac": "",
    }
    assert list(e.to_dict()) == ENTRY_FIELDS
    assert e.to_dict() == dataclasses.asdict(e)
    assert AuditEntry.from_dict(e.to_dict()) == e


def test_recorded_entry_to_dict_from_dict_round_trip() -> None:
    audit = AuditTrail(secret_key=b"key")
    entry = audit.record_action("load", {"file": "a.wfm", "n": [1, 2]}, user="alice")
    d = entry.to_dict()
    assert list(d) == ENTRY_FIELDS
    back = AuditEntry.from_dict(d)
    assert isinstance(back, AuditEntry)
    assert back == entry
    assert th_hmac(b"key", "sha256", d) == entry.hmac


# --------------------------------------------------------------------------
# record_action() (seed 000 lines 718-746, seed 001 lines 127-191)
# --------------------------------------------------------------------------

def test_record_action_example(capsys: pytest.CaptureFixture[str]) -> None:
    audit = tk.AuditTrail(secret_key=b"key")
    entry1 = audit.record_action("load_trace", {"file": "data.wfm", "size_mb": 100})
    entry2 = audit.record_action("export_results", {"format": "csv", "rows": 1000}, user="bob")

    print(f"Action: {entry2.action}")
    print(f"User: {entry2.user}")
    print(f"Host: {entry2.host}")
    print(f"Time: {entry2.timestamp}")

    assert isinstance(entry1, AuditEntry) and isinstance(entry2, AuditEntry)
    assert entry1.user == getpass.getuser()  # automatic user detection
    assert entry2.user == "bob"
    assert entry1.host == entry2.host == socket.gethostname()
    assert entry1.action == "load_trace"
    assert entry1.details == {"file": "data.wfm", "size_mb": 100}
    assert_recent(entry1.timestamp)
    assert_recent(entry2.timestamp)
    out = capsys.readouterr().out
    assert out == (
        "Action: export_results\nUser: bob\n"
        f"Host: {socket.gethostname()}\nTime: {entry2.timestamp}\n"
    )


def test_record_action_builds_the_hmac_chain() -> None:
    audit = AuditTrail(secret_key=b"key")
    e1 = audit.record_action("a", {"v": 1}, user="u")
    e2 = audit.record_action("b", {"v": 2}, user="u")
    e3 = audit.record_action("c", {}, user="u")
    assert e1.previous_hash == "GENESIS"
    assert e2.previous_hash == e1.hmac
    assert e3.previous_hash == e2.hmac
    for e in (e1, e2, e3):
        assert len(e.hmac) == 64 and int(e.hmac, 16) >= 0  # sha256 hexdigest
        assert e.hmac == th_hmac(b"key", "sha256", entry_dict(e))
    assert parse_utc(e1.timestamp) <= parse_utc(e2.timestamp) <= parse_utc(e3.timestamp)


def test_hmac_input_with_awkward_details() -> None:
    """The HMAC covers json.dumps(details, sort_keys=True) with its defaults
    (', ' / ': ' separators, ASCII escapes), and UTF-8 of the whole line."""
    audit = AuditTrail(secret_key=b"k\x00\xffey")
    details = {
        "z": 1, "a": {"y": [1, 2.5, None, True], "b": "µs – Ω"},
        "none": None, "flag": False, "neg": -65.3, "big": 10**18, "empty": "",
        "quote": 'he said "hi" | pipe',
    }
    e = audit.record_action("mesure_é|x", details, user="ælice")
    assert e.details == details
    assert e.hmac == th_hmac(b"k\x00\xffey", "sha256", entry_dict(e))
    assert audit.verify_integrity() is True


def test_record_action_entry_is_the_chain_entry() -> None:
    """record_action returns the entry it appended to the chain (seed 001 186-191)."""
    audit = AuditTrail(secret_key=b"key")
    entry = audit.record_action("action1", {"value": 100})
    audit.record_action("action2", {"value": 200})
    assert audit.get_entries()[0] == entry
    entry.details["value"] = 999
    assert audit.verify_integrity() is False


# --------------------------------------------------------------------------
# verify_integrity() (seed 000 lines 748-770, seed 001 lines 193-232)
# --------------------------------------------------------------------------

def test_verify_integrity_example() -> None:
    audit = tk.AuditTrail(secret_key=b"key")
    audit.record_action("action1", {"value": 100})
    audit.record_action("action2", {"value": 200})
    assert audit.verify_integrity()
    audit._entries[0].details["value"] = 999
    assert not audit.verify_integrity()


def test_verify_integrity_docstring_example() -> None:
    # seed 001 lines 205-211
    audit = AuditTrail(secret_key=b"key")
    audit.record_action("action1", {})
    audit.record_action("action2", {})
    assert audit.verify_integrity()
    audit._entries[0].action = "modified"
    assert not audit.verify_integrity()


def test_verify_integrity_returns_bool_and_empty_is_valid() -> None:
    audit = AuditTrail(secret_key=b"key")
    assert audit.verify_integrity() is True  # "Empty trail is valid"
    audit.record_action("x", {"a": 1})
    assert audit.verify_integrity() is True


@pytest.mark.parametrize("index", [0, 1, 2])
@pytest.mark.parametrize(
    "field,value",
    [
        ("timestamp", "2000-01-01T00:00:00Z"),
        ("action", "forged"),
        ("details", {"value": 1, "extra": True}),
        ("user", "mallory"),
        ("host", "elsewhere"),
        ("previous_hash", "0" * 64),
        ("hmac", "f" * 64),
    ],
)
def test_tampering_any_field_is_detected(index: int, field: str, value: Any) -> None:
    audit = AuditTrail(secret_key=b"key")
    for i in range(3):
        audit.record_action(f"a{i}", {"value": i}, user="alice")
    assert audit.verify_integrity() is True
    setattr(audit._entries[index], field, value)
    assert audit.verify_integrity() is False


def test_removed_reordered_or_forged_entries_are_detected() -> None:
    def fresh() -> AuditTrail:
        a = AuditTrail(secret_key=b"key")
        for i in range(3):
            a.record_action(f"a{i}", {"value": i}, user="alice")
        return a

    a = fresh()
    del a._entries[0]  # first removed: the new first does not start at GENESIS
    assert a.verify_integrity() is False

    a = fresh()
    del a._entries[1]  # middle removed: broken linkage
    assert a.verify_integrity() is False

    a = fresh()
    a._entries[1], a._entries[2] = a._entries[2], a._entries[1]
    assert a.verify_integrity() is False

    a = fresh()
    last = a._entries[-1]
    forged = AuditEntry(last.timestamp, "forged", {}, "mallory", last.host, last.hmac)
    forged.hmac = th_hmac(b"wrong-key", "sha256", entry_dict(forged))
    a._entries.append(forged)
    assert a.verify_integrity() is False


def test_entry_correctly_signed_with_the_key_is_accepted() -> None:
    """The check is exactly TraceKit's: an entry signed with the trail's key and
    linked to the last HMAC verifies (the chain is the in-memory entry list)."""
    a = AuditTrail(secret_key=b"key")
    a.record_action("a0", {"value": 0}, user="alice")
    last = a._entries[-1]
    extra = AuditEntry(last.timestamp, "appended", {"v": 1}, "alice", last.host, last.hmac)
    extra.hmac = th_hmac(b"key", "sha256", entry_dict(extra))
    a._entries.append(extra)
    assert a.verify_integrity() is True


# --------------------------------------------------------------------------
# get_entries() (seed 000 lines 772-806, seed 001 lines 266-304)
# --------------------------------------------------------------------------

def test_get_entries_example(capsys: pytest.CaptureFixture[str]) -> None:
    audit = tk.AuditTrail(secret_key=b"key")
    audit.record_action("load", {"file": "a.wfm"})
    audit.record_action("analyze", {"type": "fft"})
    audit.record_action("load", {"file": "b.wfm"})
    audit.record_action("export", {"format": "csv"})

    loads = audit.get_entries(action_type="load")
    print(f"Load operations: {len(loads)}")
    one_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    recent = audit.get_entries(since=one_hour_ago)
    print(f"Recent entries: {len(recent)}")

    assert capsys.readouterr().out == "Load operations: 2\nRecent entries: 4\n"
    assert isinstance(loads, list) and all(isinstance(e, AuditEntry) for e in loads)
    assert [e.details["file"] for e in loads] == ["a.wfm", "b.wfm"]
    assert [e.action for e in recent] == ["load", "analyze", "load", "export"]


def test_get_entries_docstring_example() -> None:
    # seed 001 lines 281-288
    audit = AuditTrail(secret_key=b"key")
    audit.record_action("load", {})
    audit.record_action("analyze", {})
    loads = audit.get_entries(action_type="load")
    recent = audit.get_entries(since=datetime.now(UTC) - timedelta(hours=1))
    assert [e.action for e in loads] == ["load"]
    assert [e.action for e in recent] == ["load", "analyze"]


def test_get_entries_filters() -> None:
    audit = AuditTrail(secret_key=b"key")
    assert audit.get_entries() == []
    e1 = audit.record_action("load", {"i": 1})
    time.sleep(1.1)
    cut = datetime.now(UTC)
    time.sleep(1.1)
    e2 = audit.record_action("analyze", {"i": 2})
    e3 = audit.record_action("load", {"i": 3})

    assert audit.get_entries() == [e1, e2, e3]
    assert audit.get_entries(action_type="nothing") == []
    assert audit.get_entries(since=cut) == [e2, e3]
    assert audit.get_entries(since=cut, action_type="load") == [e3]
    assert audit.get_entries(since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert audit.get_entries(since=datetime.now(UTC) - timedelta(days=1)) == [e1, e2, e3]


def test_get_entries_returns_a_copy_of_the_list() -> None:
    audit = AuditTrail(secret_key=b"key")
    audit.record_action("a", {})
    got = audit.get_entries()
    got.clear()
    got.append("junk")
    assert len(audit.get_entries()) == 1
    assert audit.verify_integrity() is True


# --------------------------------------------------------------------------
# export_audit_log() (seed 000 lines 808-832, seed 001 lines 234-264, 337-398)
# --------------------------------------------------------------------------

def test_export_example(workdir: Path) -> None:
    audit = tk.AuditTrail(secret_key=b"key")
    audit.record_action("test1", {"value": 1})
    audit.record_action("test2", {"value": 2})
    assert audit.export_audit_log("audit.json", format="json") is None
    assert audit.export_audit_log("audit.csv", format="csv") is None

    entries = audit.get_entries()
    assert read_text_exact("audit.json") == expected_json_text("sha256", entries)
    assert read_text_exact("audit.csv") == expected_csv_text(entries)
    assert th_verify(b"key", "sha256", load_json_export("audit.json")["entries"])
    assert th_verify(b"key", "sha256", load_csv_export("audit.csv"))


def test_export_default_format_is_json(workdir: Path) -> None:
    audit = AuditTrail(secret_key=b"key")
    audit.record_action("test", {})
    audit.export_audit_log("out.log")  # no format: JSON
    assert read_text_exact("out.log") == expected_json_text("sha256", audit.get_entries())


def test_export_unsupported_format_raises_value_error(workdir: Path) -> None:
    audit = AuditTrail(secret_key=b"key")
    audit.record_action("test", {})
    with pytest.raises(ValueError, match="Unsupported format"):
        audit.export_audit_log("audit.xml", format="xml")  # type: ignore[arg-type]


def test_export_creates_parent_directories(workdir: Path) -> None:
    audit = AuditTrail(secret_key=b"key")
    audit.record_action("test", {"v": 1})
    audit.export_audit_log("deep/er/audit.json", format="json")
    audit.export_audit_log("other/dir/audit.csv", format="csv")
    assert th_verify(b"key", "sha256", load_json_export("deep/er/audit.json")["entries"])
    assert th_verify(b"key", "sha256", load_csv_export("other/dir/audit.csv"))


def test_json_export_exact_layout_with_awkward_values(workdir: Path) -> None:
    audit = AuditTrail(secret_key=b"key")
    audit.record_action("load", {"file": "µ.wfm", "nested": {"b": 1, "a": [1.5, None]}}, user="ælice")
    audit.record_action("flag", {"ok": True, "none": None, "zero": 0})
    audit.export_audit_log("a.json")
    text = read_text_exact("a.json")
    assert text == expected_json_text("sha256", audit.get_entries())
    assert "\\u00b5.wfm" in text  # json.dump's default ensure_ascii
    assert not text.endswith("\n")
    data = json.loads(text)
    assert list(data) == ["version", "hash_algorithm", "entries"]
    assert all(list(e) == ENTRY_FIELDS for e in data["entries"])
    assert th_verify(b"key", "sha256", data["entries"])
    assert [AuditEntry.from_dict(d) for d in data["entries"]] == audit.get_entries()


def test_json_export_of_empty_trail(workdir: Path) -> None:
    AuditTrail(secret_key=b"key").export_audit_log("empty.json")
    assert load_json_export("empty.json") == {"version": "1.0", "hash_algorithm": "sha256", "entries": []}
    assert read_text_exact("empty.json") == expected_json_text("sha256", [])


def test_csv_export_exact_layout(workdir: Path) -> None:
    audit = AuditTrail(secret_key=b"key")
    audit.record_action("one", {"b": "text", "a": 1.5}, user="alice")
    audit.record_action("two", {"c": {"x": [1, 2]}, "a": None}, user="bob")
    audit.record_action("three", {"d": False, "e": 0, "f": "", "g": 'q"uote,comma'}, user="carol")
    audit.export_audit_log("a.csv", format="csv")
    text = read_text_exact("a.csv")
    assert text == expected_csv_text(audit.get_entries())
    lines = text.split("\r\n")
    assert lines[0] == ",".join(CSV_FIXED + [f"detail_{k}" for k in "abcdefg"])
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows[0]["detail_b"] == '"text"'  # json.dumps of each value
    assert rows[0]["detail_a"] == "1.5"
    assert rows[1]["detail_a"] == ""  # None -> empty
    assert rows[0]["detail_c"] == "" and rows[1]["detail_c"] == '{"x": [1, 2]}'
    assert rows[2]["detail_d"] == "false" and rows[2]["detail_e"] == "0"
    assert rows[2]["detail_f"] == '""'
    assert "details" not in rows[0]


def test_csv_export_of_empty_trail_is_an_empty_file(workdir: Path) -> None:
    AuditTrail(secret_key=b"key").export_audit_log("empty.csv", format="csv")
    assert Path("empty.csv").read_bytes() == b""


def test_export_overwrites_and_tracks_new_entries(workdir: Path) -> None:
    audit = AuditTrail(secret_key=b"key")
    audit.record_action("a", {"v": 1})
    audit.export_audit_log("x.json")
    audit.export_audit_log("x.csv", format="csv")
    audit.record_action("b", {"v": 2})
    audit.export_audit_log("x.json")
    audit.export_audit_log("x.csv", format="csv")
    assert [e["action"] for e in load_json_export("x.json")["entries"]] == ["a", "b"]
    assert [e["action"] for e in load_csv_export("x.csv")] == ["a", "b"]


# --------------------------------------------------------------------------
# hash_algorithm and secret_key (seed 001 lines 99-125, 327-335)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_exports_verify_with_tracekit_algorithm(workdir: Path, algorithm: str) -> None:
    key = b"compliance-secret-key"
    audit = AuditTrail(secret_key=key, hash_algorithm=algorithm)
    audit.record_action("create", {"name": "Compliance Test"}, user="alice")
    audit.record_action("measure", {"result": 1234.5, "unit": "Hz", "ok": True})
    audit.record_action("review", {"comments": "fine – ✓"}, user="bob")
    assert audit.verify_integrity() is True
    for e in audit.get_entries():
        assert len(e.hmac) == (64 if algorithm == "sha256" else 128)
        assert e.hmac == th_hmac(key, algorithm, entry_dict(e))

    audit.export_audit_log("a.json", format="json")
    audit.export_audit_log("a.csv", format="csv")
    data = load_json_export("a.json")
    assert data["hash_algorithm"] == algorithm
    assert read_text_exact("a.json") == expected_json_text(algorithm, audit.get_entries())
    assert th_verify(key, data["hash_algorithm"], data["entries"])
    assert not th_verify(b"another-key", algorithm, data["entries"])
    assert read_text_exact("a.csv") == expected_csv_text(audit.get_entries())
    assert th_verify(key, algorithm, load_csv_export("a.csv"))

    # a tampered export fails TraceKit's check
    data["entries"][1]["details"]["result"] = 1.0
    assert not th_verify(key, algorithm, data["entries"])


def test_unsupported_hash_algorithm_raises_value_error() -> None:
    with pytest.raises(ValueError):
        audit = AuditTrail(secret_key=b"key", hash_algorithm="md5")  # type: ignore[arg-type]
        audit.record_action("x", {})


def test_secret_key_defaults_to_a_random_key(workdir: Path) -> None:
    a = AuditTrail()
    b = AuditTrail(secret_key=None)
    ea = a.record_action("x", {"v": 1}, user="u")
    eb = b.record_action("x", {"v": 1}, user="u")
    assert a.verify_integrity() is True and b.verify_integrity() is True
    # not an empty or fixed key
    for key in (b"", b"\x00" * 32, b"None"):
        assert ea.hmac != th_hmac(key, "sha256", entry_dict(ea))
    if ea.timestamp == eb.timestamp:
        assert ea.hmac != eb.hmac


def test_entries_restored_from_a_json_export_verify(workdir: Path) -> None:
    a = AuditTrail(secret_key=b"key")
    a.record_action("a", {"v": 1})
    a.record_action("b", {"v": [1, {"z": None}]})
    a.export_audit_log("a.json")
    b = AuditTrail(secret_key=b"key")
    b._entries.extend(AuditEntry.from_dict(d) for d in load_json_export("a.json")["entries"])
    assert b.verify_integrity() is True
    assert b.get_entries() == a.get_entries()
    c = AuditTrail(secret_key=b"other")
    c._entries.extend(AuditEntry.from_dict(d) for d in load_json_export("a.json")["entries"])
    assert c.verify_integrity() is False


# --------------------------------------------------------------------------
# Global audit trail (seed 000 lines 834-884, seed 001 lines 401-449)
# --------------------------------------------------------------------------

def test_global_audit_trail_example(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = tk.record_audit("start_analysis", {"project": "power_supply"})
    tk.record_audit("load_trace", {"file": "capture.wfm"})
    tk.record_audit("compute_measurements", {"count": 10})

    audit = tk.get_global_audit_trail()
    entries = audit.get_entries()
    print(f"Total audit entries: {len(entries)}")
    assert audit.verify_integrity()
    audit.export_audit_log("global_audit.json")

    assert isinstance(r, AuditEntry) and r.user == getpass.getuser()
    assert isinstance(audit, AuditTrail)
    assert capsys.readouterr().out == "Total audit entries: 3\n"
    data = load_json_export("global_audit.json")
    assert [e["action"] for e in data["entries"]] == [
        "start_analysis", "load_trace", "compute_measurements"]
    assert data["entries"][0]["previous_hash"] == "GENESIS"


def test_global_trail_is_a_singleton_keyed_on_first_call(workdir: Path) -> None:
    # seed 001 lines 414-417
    audit = get_global_audit_trail(secret_key=b"my-key")
    audit.record_action("test", {})
    assert get_global_audit_trail() is audit
    assert get_global_audit_trail(secret_key=b"ignored") is audit
    assert tk._global_audit_trail is audit
    e = record_audit("compute_fft", {"samples": 1000000}, user="alice")
    assert e.user == "alice"
    assert [x.action for x in audit.get_entries()] == ["test", "compute_fft"]
    audit.export_audit_log("g.json")
    data = load_json_export("g.json")
    assert th_verify(b"my-key", "sha256", data["entries"])


def test_record_audit_first_creates_global_trail_with_random_key(workdir: Path) -> None:
    # seed 001 lines 442-449: record_audit goes through get_global_audit_trail()
    record_audit("compute_fft", {"samples": 1000000})
    audit = get_global_audit_trail(secret_key=b"late-key")  # key no longer used
    assert len(audit.get_entries()) == 1
    audit.export_audit_log("g.json")
    entries = load_json_export("g.json")["entries"]
    assert not th_verify(b"late-key", "sha256", entries)
    assert audit.verify_integrity() is True


# --------------------------------------------------------------------------
# Seed 001 module docstring (lines 7-15)
# --------------------------------------------------------------------------

def test_module_docstring_example(workdir: Path) -> None:
    audit = AuditTrail(secret_key=b"my-secret-key")
    audit.record_action("load_trace", {"file": "data.bin"}, user="alice")
    audit.record_action("compute_fft", {"samples": 1000000}, user="alice")
    is_valid = audit.verify_integrity()
    audit.export_audit_log("audit.json", format="json")
    assert is_valid is True
    assert th_verify(b"my-secret-key", "sha256", load_json_export("audit.json")["entries"])


def test_class_docstring_example() -> None:
    # seed 001 lines 103-106
    audit = AuditTrail(secret_key=b"my-secret")
    audit.record_action("operation", {"param": "value"})
    assert audit.verify_integrity()


# --------------------------------------------------------------------------
# Seed 000 Example 5: Compliance Audit Trail (lines 1074-1157)
# --------------------------------------------------------------------------

def test_example5_compliance_audit_trail(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    audit = tk.AuditTrail(secret_key=b"production-secret-key", hash_algorithm="sha256")
    audit.record_action("calibration_check", {"device": "Oscilloscope-001",
                        "calibration_date": "2026-01-01", "status": "valid"}, user="calibration_lab")
    audit.record_action("load_test_data", {"file": "compliance_test_001.wfm",
                        "sha256": "abc123...", "size_bytes": 1048576}, user="test_engineer")
    audit.record_action("run_measurement", {"type": "THD", "result": -65.3, "unit": "dB",
                        "standard": "IEC 61000-4-7", "pass": True}, user="test_engineer")
    audit.record_action("generate_report", {"format": "PDF", "pages": 15,
                        "includes_raw_data": True}, user="test_engineer")
    audit.record_action("review_results", {"reviewer": "senior_engineer", "status": "approved",
                        "comments": "All measurements within specification"}, user="senior_engineer")

    if not audit.verify_integrity():
        raise RuntimeError("Audit trail integrity check failed!")
    audit.export_audit_log("compliance_audit_2026-01-08.json", format="json")
    audit.export_audit_log("compliance_audit_2026-01-08.csv", format="csv")

    entries = audit.get_entries()
    print("COMPLIANCE AUDIT REPORT")
    print("=" * 60)
    print(f"Total actions: {len(entries)}")
    print(f"Integrity: VERIFIED")
    print(f"\nAudit chain:")
    for i, entry in enumerate(entries, 1):
        print(f"{i}. {entry.timestamp} - {entry.action} by {entry.user}")
        print(f"   HMAC: {entry.hmac[:32]}...")

    out = capsys.readouterr().out.splitlines()
    assert out[:6] == ["COMPLIANCE AUDIT REPORT", "=" * 60, "Total actions: 5",
                       "Integrity: VERIFIED", "", "Audit chain:"]
    assert out[6] == f"1. {entries[0].timestamp} - calibration_check by calibration_lab"
    assert out[7] == f"   HMAC: {entries[0].hmac[:32]}..."
    assert out[14] == f"5. {entries[4].timestamp} - review_results by senior_engineer"
    assert len(out) == 16

    key = b"production-secret-key"
    data = load_json_export("compliance_audit_2026-01-08.json")
    assert th_verify(key, "sha256", data["entries"])
    assert read_text_exact("compliance_audit_2026-01-08.json") == expected_json_text("sha256", entries)
    assert read_text_exact("compliance_audit_2026-01-08.csv") == expected_csv_text(entries)
    assert th_verify(key, "sha256", load_csv_export("compliance_audit_2026-01-08.csv"))


# --------------------------------------------------------------------------
# Seed 000 Best Practices: Audit Trail (lines 1184-1213)
# --------------------------------------------------------------------------

def test_best_practices_audit(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("AUDIT_SECRET_KEY", "from-the-environment")
    secret_key = os.environ.get("AUDIT_SECRET_KEY").encode()
    audit = tk.AuditTrail(secret_key=secret_key)
    value, outcome, result_value = 3.3, "pass", -61.2
    audit.record_action("action", {"parameter": value, "context": "information", "result": outcome})
    assert audit.verify_integrity(), "Audit tampering detected!"
    timestamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    audit.export_audit_log(f"audit_{timestamp}.json")
    audit.record_action("measurement", {"type": "THD", "standard": "IEC 61000-4-7",
                        "equipment": "OSC-001", "calibration_date": "2026-01-01",
                        "result": result_value})
    assert audit.verify_integrity()

    data = load_json_export(f"audit_{timestamp}.json")
    assert len(data["entries"]) == 1
    assert th_verify(b"from-the-environment", "sha256", data["entries"])


# --------------------------------------------------------------------------
# Behaviours of seed 001's code, beyond the examples
# --------------------------------------------------------------------------

def test_user_and_host_fall_back_to_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    # seed 001 lines 157-166
    def boom() -> str:
        raise OSError("no user")

    monkeypatch.setattr(getpass, "getuser", boom)
    monkeypatch.setattr(socket, "gethostname", boom)
    audit = AuditTrail(secret_key=b"key")
    e = audit.record_action("x", {})
    assert e.user == "unknown" and e.host == "unknown"
    assert e.hmac == th_hmac(b"key", "sha256", entry_dict(e))
    assert audit.record_action("y", {}, user="").user == ""  # only None means "current user"


def test_positional_arguments_and_path_objects(workdir: Path) -> None:
    audit = AuditTrail(b"0123456789abcdef", "sha512")
    e = audit.record_action("a", {"v": 1}, "bob")
    assert e.user == "bob" and len(e.hmac) == 128
    assert [x.action for x in audit.get_entries(None, "a")] == ["a"]
    audit.export_audit_log(Path("sub") / "p.csv", "csv")  # type: ignore[arg-type]
    assert th_verify(b"0123456789abcdef", "sha512", load_csv_export("sub/p.csv"))


def test_get_entries_since_is_inclusive() -> None:
    # seed 001 line 298: e.timestamp >= since_str
    audit = AuditTrail(secret_key=b"key")
    audit.record_action("a0", {})
    e1 = audit.record_action("a1", {})
    e2 = audit.record_action("a2", {})
    since = parse_utc(e1.timestamp)
    got = audit.get_entries(since=since)
    assert got[-2:] == [e1, e2]
    assert audit.get_entries(since=parse_utc(e2.timestamp) + timedelta(seconds=1)) == []


def test_non_json_details_raise_type_error_and_record_nothing() -> None:
    audit = AuditTrail(secret_key=b"key")
    audit.record_action("ok", {"v": 1})
    with pytest.raises(TypeError):
        audit.record_action("bad", {"when": datetime.now(UTC)})
    with pytest.raises(TypeError):
        audit.record_action("bad", {1: "a", "b": 2})  # sort_keys cannot order these
    assert [e.action for e in audit.get_entries()] == ["ok"]
    assert audit.verify_integrity() is True


def test_type_changes_in_details_are_tampering_but_key_order_is_not() -> None:
    def fresh() -> AuditTrail:
        a = AuditTrail(secret_key=b"key")
        a.record_action("a", {"value": 100, "f": 1.0, "b": True, "n": None, "s": "x"})
        return a

    for change in (("value", 100.0), ("value", "100"), ("f", 1), ("b", 1)):
        a = fresh()
        a._entries[0].details[change[0]] = change[1]
        assert a.verify_integrity() is False, change
    a = fresh()
    a._entries[0].details.pop("n")
    assert a.verify_integrity() is False
    a = fresh()
    a._entries[0].hmac = a._entries[0].hmac.upper()
    assert a.verify_integrity() is False
    a = fresh()
    a._entries[0].details = dict(reversed(list(a._entries[0].details.items())))
    assert a.verify_integrity() is True  # json.dumps(..., sort_keys=True)


def test_export_writes_entries_as_they_are(workdir: Path) -> None:
    """The export is of the in-memory entries: a tampered entry is written as is,
    and TraceKit's checker then rejects the file."""
    audit = AuditTrail(secret_key=b"key")
    audit.record_action("action1", {"value": 100})
    audit.record_action("action2", {"value": 200})
    audit._entries[0].details["value"] = 999
    audit.export_audit_log("t.json")
    data = load_json_export("t.json")
    assert data["entries"][0]["details"] == {"value": 999}
    assert not th_verify(b"key", "sha256", data["entries"])


def test_example2_numpy_results_in_details(workdir: Path) -> None:
    """Example 2 (seed 000 lines 944-986) records measurement results (numpy
    floats) in details; the audit part, with such a result."""
    import numpy as np

    freq = np.float64(999.87654321)
    audit = tk.AuditTrail(secret_key=b"compliance-secret-key")
    audit.record_action("create_session", {"name": "Compliance Test"})
    audit.record_action("load_trace", {"file": "test_signal.wfm"})
    audit.record_action("measure_frequency", {"result": freq, "unit": "Hz", "standard": "IEEE 181"})
    audit.record_action("measure_thd", {"result": np.float64(-65.3), "unit": "%", "harmonics": 10})
    audit.record_action("save_session", {"file": "compliance_session.tks"})
    audit.export_audit_log("compliance_audit.json")
    audit.record_action("export_audit", {"file": "compliance_audit.json"})
    assert audit.verify_integrity() is True
    data = load_json_export("compliance_audit.json")
    assert len(data["entries"]) == 5
    assert data["entries"][2]["details"]["result"] == 999.87654321
    assert th_verify(b"compliance-secret-key", "sha256", data["entries"])


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_exports_of_values_python_json_accepts(workdir: Path, fmt: str) -> None:
    """Integers beyond 64 bits, NaN and infinities, floats at the edges, lone
    surrogates, control characters: TraceKit's json.dumps takes them all."""
    key = b"key"
    audit = AuditTrail(secret_key=key)
    audit.record_action("big", {"v": 2**70, "w": -(10**30)})
    audit.record_action("nan", {"v": float("nan"), "i": float("inf"), "m": float("-inf")})
    audit.record_action("floats", {"a": 1e16, "b": 5e-324, "c": -0.0, "d": 1e-7, "e": 1e308})
    audit.record_action("text\nline\u2028", {"s": "\ud800 \x00 \x1f \u2028 😀"}, user="ü\tx")
    assert audit.verify_integrity() is True
    for e in audit.get_entries():
        assert e.hmac == th_hmac(key, "sha256", entry_dict(e))
    audit.export_audit_log(f"x.{fmt}", format=fmt)  # type: ignore[arg-type]
    text = read_text_exact(f"x.{fmt}")
    if fmt == "json":
        assert text == expected_json_text("sha256", audit.get_entries())
        assert th_verify(key, "sha256", json.loads(text)["entries"])
    else:
        assert text == expected_csv_text(audit.get_entries())
        assert th_verify(key, "sha256", load_csv_export(f"x.{fmt}"))


def test_csv_export_keeps_nul_characters(workdir: Path) -> None:
    audit = AuditTrail(secret_key=b"key")
    audit.record_action("a\x00c", {"v": 1}, user="u\x00")
    audit.export_audit_log("n.csv", format="csv")
    assert read_text_exact("n.csv") == expected_csv_text(audit.get_entries())
    assert th_verify(b"key", "sha256", load_csv_export("n.csv"))
