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
from evident.errors import InvalidArgumentError

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
    # the JSON text is what TraceKit's json.dump(indent=2) writes: details in
    # the order they were recorded (only the HMAC input sorts them)
    ref = {
        "version": "1.0",
        "hash_algorithm": alg,
        "entries": [e.to_dict() for e in audit._entries],
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


# --- byte-for-byte against TraceKit's own export code (seed 001) ---------------
#
# The three functions below are TraceKit's `_compute_hmac`, `_export_json` and
# `_export_csv` (seed 001, `tracekit/core/audit.py`), transcribed with `self`
# replaced by arguments. A TraceKit user's checker reads what these write, so
# evident's export must write the same bytes for the same entries.


def seed_compute_hmac(secret_key: bytes, hash_algorithm: str, entry: dict) -> str:
    canonical = (
        f"{entry['timestamp']}|{entry['action']}|{json.dumps(entry['details'], sort_keys=True)}"
        f"|{entry['user']}|{entry['host']}|{entry['previous_hash']}"
    )
    if hash_algorithm == "sha256":
        h = hmac.new(secret_key, canonical.encode("utf-8"), hashlib.sha256)
    elif hash_algorithm == "sha512":
        h = hmac.new(secret_key, canonical.encode("utf-8"), hashlib.sha512)
    else:
        raise ValueError(f"Unsupported hash algorithm: {hash_algorithm}")
    return h.hexdigest()


def seed_export_json(path: Path, hash_algorithm: str, entries: list) -> None:
    data = {
        "version": "1.0",
        "hash_algorithm": hash_algorithm,
        "entries": [dict(entry) for entry in entries],  # entry.to_dict() (asdict)
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)


def seed_export_csv(path: Path, entries: list) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        if not entries:
            return
        detail_keys = set()
        for entry in entries:
            detail_keys.update(entry["details"].keys())
        detail_keys = sorted(detail_keys)
        fieldnames = ["timestamp", "action", "user", "host", "previous_hash", "hmac"] + [
            f"detail_{k}" for k in detail_keys
        ]
        writer = csv.DictWriter(f, fieldnames=fieldnames)
        writer.writeheader()
        for entry in entries:
            row = {k: entry[k] for k in ("timestamp", "action", "user", "host", "previous_hash", "hmac")}
            for key in detail_keys:
                value = entry["details"].get(key)
                row[f"detail_{key}"] = json.dumps(value) if value is not None else ""
            writer.writerow(row)


# details in insertion order that is not sorted, at every level; integers past
# 2**53 and past 64 bits; unicode in keys and values; floats of every repr form
UNSORTED = [
    {"zeta": 1, "alpha": {"y": [3, {"d": 1, "c": 2}], "x": None}, "mid": "m"},
    {"big53": 2**53 + 1, "u64max": 2**64 - 1, "beyond64": 2**64 + 1, "neg_beyond": -(2**63) - 1,
     "huge": 10**40, "list": [2**70, -(2**70), 9007199254740993]},
    {"\u00fcber": "gr\u00fc\u00df \U0001F600", "\u65e5": {"\u00e9": "\u2013", "a": "\x7f"}, "b": 'q,"u"\n'},
    {"f3": 1 / 3, "f1": 0.1, "tiny": 1e-7, "e16": 1e16, "e15": 1e15, "neg0": -0.0, "two": 2.0,
     "inf": float("inf"), "ninf": float("-inf"), "nan": float("nan"), "e300": 1e300},
    {},
    {"only_here": [], "zeta": {"nested": {"deep": {"b": 1, "a": 2}}}},
]


@pytest.mark.parametrize("alg", ["sha256", "sha512"])
def test_export_is_byte_identical_to_tracekits_export_code(tmp_path: Path, alg: str) -> None:
    key = b"compliance-secret-key"
    audit = tk.AuditTrail(secret_key=key, hash_algorithm=alg)
    for i, d in enumerate(UNSORTED):
        audit.record_action(f"step{i}", copy.deepcopy(d), user="\u00e5sa")
    # TraceKit's trail of the same actions (same times, user, host): its own
    # chain, computed with its own code
    ref: list = []
    for e in audit._entries:
        entry = {
            "timestamp": e.timestamp, "action": e.action, "details": copy.deepcopy(e.details),
            "user": e.user, "host": e.host,
            "previous_hash": ref[-1]["hmac"] if ref else "GENESIS", "hmac": "",
        }
        entry["hmac"] = seed_compute_hmac(key, alg, entry)
        ref.append(entry)
    assert [e.hmac for e in audit._entries] == [r["hmac"] for r in ref]

    seed_export_json(tmp_path / "tracekit.json", alg, ref)
    seed_export_csv(tmp_path / "tracekit.csv", ref)
    audit.export_audit_log(str(tmp_path / "evident.json"), format="json")
    audit.export_audit_log(str(tmp_path / "evident.csv"), format="csv")
    assert (tmp_path / "evident.json").read_bytes() == (tmp_path / "tracekit.json").read_bytes()
    assert (tmp_path / "evident.csv").read_bytes() == (tmp_path / "tracekit.csv").read_bytes()
    # and the details come back as recorded, in their order, integers exact
    back = json.loads((tmp_path / "evident.json").read_text(encoding="utf-8"))["entries"]
    assert [list(b["details"]) for b in back] == [list(d) for d in UNSORTED]
    assert back[1]["details"]["beyond64"] == 2**64 + 1 and back[1]["details"]["huge"] == 10**40


def test_export_of_an_empty_trail_is_tracekits(tmp_path: Path) -> None:
    audit = tk.AuditTrail(secret_key=b"k" * 16)
    seed_export_json(tmp_path / "tracekit.json", "sha256", [])
    seed_export_csv(tmp_path / "tracekit.csv", [])
    audit.export_audit_log(str(tmp_path / "evident.json"), format="json")
    audit.export_audit_log(str(tmp_path / "evident.csv"), format="csv")
    assert (tmp_path / "evident.json").read_bytes() == (tmp_path / "tracekit.json").read_bytes()
    assert (tmp_path / "evident.csv").read_bytes() == b""


def test_get_entries_filters_in_the_library_as_tracekit_does() -> None:
    from datetime import datetime, timedelta, timezone

    audit = tk.AuditTrail(secret_key=b"k" * 16)
    for a in ("load", "analyze", "load", "export"):
        audit.record_action(a, {})
    # fixed, known times (TraceKit's layout), one hour apart
    for i, e in enumerate(audit._entries):
        e.timestamp = f"2026-01-08T1{i}:00:00.000000Z"
    at = lambda h: datetime(2026, 1, 8, h, tzinfo=timezone.utc)  # noqa: E731
    assert [e.action for e in audit.get_entries(action_type="load")] == ["load", "load"]
    assert audit.get_entries(since=at(12)) == audit._entries[2:]  # at or after
    assert audit.get_entries(since=at(12), action_type="load") == [audit._entries[2]]
    # an aware time in another zone is the same instant; naive is UTC
    cet = timezone(timedelta(hours=1))
    assert audit.get_entries(since=datetime(2026, 1, 8, 12, 30, tzinfo=cet)) == audit._entries[2:]
    assert audit.get_entries(since=datetime(2026, 1, 8, 12, 30)) == audit._entries[3:]
    assert audit.get_entries(action_type="missing") == []
    assert audit.get_entries() == audit._entries and audit.get_entries() is not audit._entries


# --- the HMAC input is built by the library; lone surrogates; log-backed trails --


def _seed_ref(key: bytes, alg: str, audit: "tk.AuditTrail", details_of=copy.deepcopy) -> list:
    """TraceKit's own trail of ``audit``'s actions (same times, user, host,
    details as ``details_of`` gives them), chained by TraceKit's code."""
    ref: list = []
    for e in audit._entries:
        entry = {
            "timestamp": e.timestamp, "action": e.action, "details": details_of(e.details),
            "user": e.user, "host": e.host,
            "previous_hash": ref[-1]["hmac"] if ref else "GENESIS", "hmac": "",
        }
        entry["hmac"] = seed_compute_hmac(key, alg, entry)
        ref.append(entry)
    return ref


def _chain(alg: str, key: bytes, entries: list) -> list:
    import ctypes

    from evident import _native as N

    k = (ctypes.c_uint8 * len(key)).from_buffer_copy(key)
    out = ctypes.c_void_p()
    N.check(N.measure_lib().evident_tracekit_chain(
        alg.encode(), k, len(key), json.dumps(entries).encode(), ctypes.byref(out)))
    return json.loads(N.take_string(out))


TRICKIER = UNSORTED + [
    {"lone": "a\ud800b", "pair_and_lone": ["\udc00", "\U0001F600\udbff"], "z": {"\u00e9": "\udfff"}},
    {"floats": [1e16, 1e15, 0.1, -0.0, 1e-5, 1e-4, 123456789012345680.0, 5e-324, 1.7976931348623157e308]},
]


@pytest.mark.parametrize("alg", ["sha256", "sha512"])
def test_library_builds_the_hmac_input_as_pythons_json_dumps(alg: str) -> None:
    # evident_tracekit_chain takes details as JSON values (in their order)
    # and builds `...|json.dumps(details, sort_keys=True)|...` itself
    key = b"\x00k\xffey"
    entries = [
        {"timestamp": f"2026-01-0{i % 9 + 1}T00:00:00.000000Z", "action": f"a{i}",
         "details": d, "user": "\u00e5sa", "host": "h\u00f6st"}
        for i, d in enumerate(TRICKIER)
    ]
    links = _chain(alg, key, entries)
    prev = "GENESIS"
    for e, link in zip(entries, links):
        want = seed_compute_hmac(key, alg, dict(e, previous_hash=prev))
        assert link == {"previous_hash": prev, "hmac": want}, e["details"]
        prev = want
    assert len(links) == len(entries)


@pytest.mark.parametrize("alg", ["sha256", "sha512"])
def test_in_memory_trail_keeps_lone_surrogates_as_tracekit_does(tmp_path: Path, alg: str) -> None:
    # Python's str allows "\ud800" and TraceKit's json.dumps writes it as that
    # escape: its trail records, verifies and exports such details
    key = b"compliance-secret-key"
    audit = tk.AuditTrail(secret_key=key, hash_algorithm=alg)
    for i, d in enumerate(TRICKIER):
        audit.record_action(f"step{i}", copy.deepcopy(d), user="u")
    ref = _seed_ref(key, alg, audit)
    assert [e.hmac for e in audit._entries] == [r["hmac"] for r in ref]
    assert audit.verify_integrity() is True
    seed_export_json(tmp_path / "tracekit.json", alg, ref)
    seed_export_csv(tmp_path / "tracekit.csv", ref)
    audit.export_audit_log(str(tmp_path / "evident.json"), format="json")
    audit.export_audit_log(str(tmp_path / "evident.csv"), format="csv")
    assert (tmp_path / "evident.json").read_bytes() == (tmp_path / "tracekit.json").read_bytes()
    assert (tmp_path / "evident.csv").read_bytes() == (tmp_path / "tracekit.csv").read_bytes()
    # tampering with such a value is seen
    audit._entries[len(UNSORTED)].details["lone"] = "a\ud801b"
    assert audit.verify_integrity() is False


def test_lone_surrogate_in_a_detail_name_is_refused_naming_it() -> None:
    # evident keeps member names as Unicode text: such a name is refused
    # (TraceKit would accept it), before anything is recorded
    audit = tk.AuditTrail(secret_key=b"k" * 16)
    with pytest.raises(InvalidArgumentError) as err:
        audit.record_action("x", {"ok": 1, "inner": {"\ud800": 1}})
    assert "lone surrogate" in str(err.value) and '["inner"]' in str(err.value)
    assert audit._entries == []


@pytest.mark.parametrize(
    "details, where",
    [
        ({"a": [0, 2**64 + 1]}, 'details["a"][1]'),
        ({"n": {"m": -(2**63) - 1}}, 'details["n"]["m"]'),
        ({"x": float("nan")}, 'details["x"]'),
        ({"s": ["ok", "\udc00"]}, 'details["s"][1]'),
    ],
)
def test_log_backed_trail_refuses_what_the_log_cannot_hold_naming_it(
    tmp_path: Path, details: dict, where: str
) -> None:
    # the evident log holds integers of 64 bits exactly, finite floats and
    # Unicode text (spec § 5.2, § 5.5): anything else would come back changed
    # when the trail is reopened (and its HMACs with it), so it is refused
    key = b"compliance-secret-key"
    path = tmp_path / "trail.jsonl"
    with tk.AuditTrail(secret_key=key, path=path) as audit:
        audit.record_action("ok", {"v": 1})
        with pytest.raises(InvalidArgumentError) as err:
            audit.record_action("bad", details)
        assert where in str(err.value)
        assert [e.action for e in audit._entries] == ["ok"]
    with tk.AuditTrail(secret_key=key, path=path) as again:
        assert [e.action for e in again._entries] == ["ok"]


@pytest.mark.parametrize("alg", ["sha256", "sha512"])
def test_log_backed_export_is_tracekits_before_and_after_reopening(tmp_path: Path, alg: str) -> None:
    # what the log holds exactly: UNSORTED without non-finite floats and
    # integers beyond 64 bits
    def holdable(v):  # noqa: ANN001, ANN202
        if isinstance(v, dict):
            return {k: holdable(x) for k, x in v.items() if keep(x)}
        if isinstance(v, list):
            return [holdable(x) for x in v if keep(x)]
        return v

    def keep(v):  # noqa: ANN001, ANN202
        if isinstance(v, float):
            return v == v and abs(v) != float("inf")
        if isinstance(v, int) and not isinstance(v, bool):
            return -(2**63) <= v < 2**64
        return True

    details = [holdable(d) for d in UNSORTED]
    assert any(list(d) != sorted(d) for d in details)
    key = b"compliance-secret-key"
    path = tmp_path / "trail.jsonl"
    with tk.AuditTrail(secret_key=key, hash_algorithm=alg, path=path) as audit:
        for i, d in enumerate(details):
            audit.record_action(f"step{i}", copy.deepcopy(d), user="\u00e5sa")
        first = [e.hmac for e in audit._entries]
        ref = _seed_ref(key, alg, audit)
        assert first == [r["hmac"] for r in ref]
        # in the recording session: TraceKit's bytes, details in their order
        seed_export_json(tmp_path / "tracekit.json", alg, ref)
        seed_export_csv(tmp_path / "tracekit.csv", ref)
        audit.export_audit_log(str(tmp_path / "evident.json"), format="json")
        audit.export_audit_log(str(tmp_path / "evident.csv"), format="csv")
        assert (tmp_path / "evident.json").read_bytes() == (tmp_path / "tracekit.json").read_bytes()
        assert (tmp_path / "evident.csv").read_bytes() == (tmp_path / "tracekit.csv").read_bytes()
    with tk.AuditTrail(secret_key=key, hash_algorithm=alg, path=path) as again:
        # rebuilt from the log: the same chain (HMACs see sorted details), and
        # details in the log's order (sorted by name, spec § 5.4) with the
        # same values
        assert [e.hmac for e in again._entries] == first
        assert [e.details for e in again._entries] == details
        ref2 = _seed_ref(key, alg, again, lambda d: json.loads(json.dumps(d, sort_keys=True)))
        assert [r["hmac"] for r in ref2] == first
        seed_export_json(tmp_path / "tracekit2.json", alg, ref2)
        seed_export_csv(tmp_path / "tracekit2.csv", ref2)
        again.export_audit_log(str(tmp_path / "evident2.json"), format="json")
        again.export_audit_log(str(tmp_path / "evident2.csv"), format="csv")
        assert (tmp_path / "evident2.json").read_bytes() == (tmp_path / "tracekit2.json").read_bytes()
        assert (tmp_path / "evident2.csv").read_bytes() == (tmp_path / "tracekit2.csv").read_bytes()
        assert tracekit_verify(key, alg, json.loads((tmp_path / "evident2.json").read_text())["entries"])
