"""TraceKit's export (the library's evident_tracekit_export, through the
compat AuditTrail and `evident export --format tracekit-*`) checked with
TraceKit's own algorithm (seed 001: HMAC over
``timestamp|action|json.dumps(details, sort_keys=True)|user|host|previous_hash``),
on details with unicode, floats, large integers and nesting."""

import copy
import csv
import hashlib
import hmac
import json
import os
import subprocess
from pathlib import Path

import pytest

import evident.compat.tracekit as tk

TRICKY = [
    {"value": 0.1, "small": 1e-7, "big": 1e16, "third": 1 / 3, "neg": -0.0, "exp": 1e-05},
    {"unicode": "na\u00efve \u2013 \u65e5\u672c \U0001F600 \x7f \x01", "quote": 'a,"b"\nc'},
    {"max": 18446744073709551615, "min": -9223372036854775808, "t": True, "n": None},
    {"nested": {"z": [], "y": {}, "x": [{"b": 2, "a": 1}]}, "\u00e9": "key", "A": 1},
]


def tracekit_hmac(key: bytes, alg: str, e: dict) -> str:
    canonical = (
        f"{e['timestamp']}|{e['action']}|{json.dumps(e['details'], sort_keys=True)}"
        f"|{e['user']}|{e['host']}|{e['previous_hash']}"
    )
    return hmac.new(key, canonical.encode("utf-8"), getattr(hashlib, alg)).hexdigest()


def tracekit_verify(key: bytes, alg: str, entries: list) -> bool:
    for i, e in enumerate(entries):
        if e["hmac"] != tracekit_hmac(key, alg, e):
            return False
        if e["previous_hash"] != ("GENESIS" if i == 0 else entries[i - 1]["hmac"]):
            return False
    return True


@pytest.mark.parametrize("alg", ["sha256", "sha512"])
def test_compat_export_verifies_with_tracekits_algorithm(tmp_path: Path, alg: str) -> None:
    key = b"compliance-secret-key"
    audit = tk.AuditTrail(secret_key=key, hash_algorithm=alg)
    for i, d in enumerate(TRICKY):
        audit.record_action(f"step{i}", copy.deepcopy(d), user="\u00e5sa")
    audit.export_audit_log(str(tmp_path / "a.json"), format="json")
    audit.export_audit_log(str(tmp_path / "a.csv"), format="csv")
    data = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert data["version"] == "1.0" and data["hash_algorithm"] == alg
    assert tracekit_verify(key, alg, data["entries"])
    assert [e["hmac"] for e in data["entries"]] == [e.hmac for e in audit._entries]
    assert [e["details"] for e in data["entries"]] == TRICKY
    # the JSON text is what TraceKit's json.dump(indent=2) writes (details sorted)
    ref = {
        "version": "1.0",
        "hash_algorithm": alg,
        "entries": [
            {**e.to_dict(), "details": json.loads(json.dumps(e.details, sort_keys=True))}
            for e in audit._entries
        ],
    }
    assert (tmp_path / "a.json").read_text(encoding="utf-8") == json.dumps(ref, indent=2)
    # CSV: TraceKit's columns and csv.DictWriter's text
    rows = list(csv.DictReader(open(tmp_path / "a.csv", newline="", encoding="utf-8")))
    assert [r["hmac"] for r in rows] == [e.hmac for e in audit._entries]
    keys = sorted({k for d in TRICKY for k in d})
    assert list(rows[0]) == ["timestamp", "action", "user", "host", "previous_hash", "hmac"] + [
        f"detail_{k}" for k in keys
    ]
    assert rows[1]["detail_unicode"] == json.dumps(TRICKY[1]["unicode"])
    assert rows[0]["detail_value"] == "0.1" and rows[0]["detail_small"] == "1e-07"
    assert rows[2]["detail_max"] == "18446744073709551615" and rows[2]["detail_n"] == ""

    # an entry changed after it was recorded stays caught in the export
    audit._entries[0].details["value"] = 999
    audit.export_audit_log(str(tmp_path / "t.json"))
    assert not tracekit_verify(key, alg, json.loads((tmp_path / "t.json").read_text())["entries"])


def test_cli_export_verifies_with_tracekits_algorithm(tmp_path: Path) -> None:
    cli = os.environ.get("EVIDENT_CLI")
    if not cli:
        pytest.skip("EVIDENT_CLI is not set")
    import evident

    log = evident.AuditLog(tmp_path / "audit.jsonl")
    for i, d in enumerate(TRICKY):
        log.log("tracekit", f"step{i}", actor="bob", host="lab", details=d)
    log.close()
    (tmp_path / "k").write_bytes(b"short")
    for fmt in ("tracekit-json", "tracekit-csv"):
        out = tmp_path / f"out.{fmt}"
        subprocess.run(
            [cli, "export", str(tmp_path / "audit.jsonl"), "--format", fmt,
             "--tracekit-key", str(tmp_path / "k"), "--tracekit-alg", "sha512", "-o", str(out)],
            check=True, capture_output=True,
        )
    entries = json.loads((tmp_path / "out.tracekit-json").read_text())["entries"]
    assert [e["details"] for e in entries] == TRICKY and entries[0]["user"] == "bob"
    assert tracekit_verify(b"short", "sha512", entries)
    rows = list(csv.DictReader(open(tmp_path / "out.tracekit-csv", newline="")))
    assert [r["hmac"] for r in rows] == [e["hmac"] for e in entries]
