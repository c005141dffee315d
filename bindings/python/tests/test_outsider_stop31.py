"""Outsider acceptance tests of stop 31's newest features, written from the
documents only: seed 004 (OpenParallax), README ("Switching from
OpenParallax", the durability/recovery paragraph, the CLI section),
spec/openparallax.md with spec/vectors/openparallax/, spec/format.md
§ 10.3/§ 10.4, spec/session.md § 4.3 and CHANGELOG's newest entry.

OpenParallax files are written here in Python from spec/openparallax.md's
rules (§ 3: sorted keys, empty fields omitted, Go's escaping, integers
through a float64; the line itself in the struct's key order), not by
evident. The CLI is run through $EVIDENT_CLI (tests needing it skip when it
is unset).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import evident
import evident.compat.openparallax as op

REPO = Path(__file__).resolve().parent.parent.parent.parent
VECTORS = REPO / "spec" / "vectors" / "openparallax"


# --------------------------------------------------------------------------
# An OpenParallax writer, from spec/openparallax.md § 3


def go_string(s: str) -> str:
    """A string as Go's json.Marshal writes it (spec § 3)."""
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif c < 0x20 or ch in "<>&":
            out.append("\\u%04x" % c)
        elif c in (0x2028, 0x2029):
            out.append("\\u%04x" % c)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def float_int(n: int) -> str:
    """An integer as OpenParallax's canonicaliser writes it: through a
    float64, the shortest digits, no exponent or fraction (spec § 3)."""
    d = Decimal(repr(float(n))).to_integral_value()
    s = format(d, "f")
    return "0" if s in ("-0", "0") else s


def hash_input(e: Dict[str, Any]) -> str:
    parts = []
    for k in ("action_type", "details_json", "event_type", "hash", "id", "otr",
              "previous_hash", "session_id", "source", "timestamp"):
        if k in ("action_type", "details_json", "session_id", "source") and not e.get(k):
            continue
        if k == "hash":
            v = '""'
        elif k in ("event_type", "timestamp"):
            v = float_int(e[k])
        elif k == "otr":
            v = "true" if e.get("otr") else "false"
        else:
            v = go_string(e.get(k, ""))
        parts.append(go_string(k) + ":" + v)
    return "{" + ",".join(parts) + "}"


def entry_hash(e: Dict[str, Any]) -> str:
    return hashlib.sha256(hash_input(e).encode("utf-8")).hexdigest()


def go_line(e: Dict[str, Any]) -> str:
    """The line as OpenParallax's writer writes it (json.Marshal of its
    struct: the table's key order, empty fields omitted)."""
    parts = []
    for k in ("id", "event_type", "timestamp", "session_id", "action_type",
              "details_json", "previous_hash", "hash", "otr", "source"):
        if k in ("session_id", "action_type", "details_json", "source") and not e.get(k):
            continue
        if k in ("event_type", "timestamp"):
            v = str(e[k])
        elif k == "otr":
            v = "true" if e.get("otr") else "false"
        else:
            v = go_string(e.get(k, ""))
        parts.append(go_string(k) + ":" + v)
    return "{" + ",".join(parts) + "}"


def make_entries(specs: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Fills in id, previous_hash and hash along a chain."""
    prev = ""
    out = []
    for i, s in enumerate(specs):
        e = {"id": "00000000-0000-4000-8000-%012d" % (i + 1),
             "event_type": 5, "timestamp": 1711929600000 + i, "otr": False}
        e.update(s)
        if isinstance(e.get("details"), (dict, list)):
            e["details_json"] = go_json(e.pop("details"))
        e["previous_hash"] = prev
        e["hash"] = ""
        e["hash"] = entry_hash(e)
        prev = e["hash"]
        out.append(e)
    return out


def go_json(v: Any) -> str:
    """A details value as Go's json.Marshal of a map writes it (sorted keys)."""
    if isinstance(v, dict):
        return "{" + ",".join(go_string(k) + ":" + go_json(v[k]) for k in sorted(v)) + "}"
    if isinstance(v, list):
        return "[" + ",".join(go_json(x) for x in v) + "]"
    if isinstance(v, str):
        return go_string(v)
    return json.dumps(v)


def write_op(path: Path, entries: List[Dict[str, Any]], *, eol: str = "\n") -> bytes:
    data = "".join(go_line(e) + eol for e in entries).encode("utf-8")
    path.write_bytes(data)
    return data


SAMPLE = [
    {"event_type": 17, "session_id": "sess-001", "source": "engine"},
    {"event_type": 1, "session_id": "sess-001", "action_type": "run_command",
     "details": {"command": "ls -la", "working_dir": "/workspace"}, "source": "pipeline"},
    {"event_type": 4, "session_id": "sess-001", "action_type": "run_command",
     "details": {"command": "rm -rf /", "reason": "denied by policy"}},
    {"event_type": 5, "session_id": "sess-002", "action_type": "read_file", "otr": True},
    {"event_type": 19, "details_json": "not json at all", "source": "config"},
    {"event_type": 4, "session_id": "sess-002", "action_type": "write_file",
     "details": {"path": "/etc/<passwd>&", "text": "héllo ✓ 日本語 😀 \u2028\u2029 \x01\x7f"}},
    {"event_type": 18, "session_id": "sess-001"},
]


@pytest.fixture
def op_file(tmp_path: Path) -> Path:
    p = tmp_path / "audit.jsonl"
    write_op(p, make_entries(SAMPLE))
    return p


def cli() -> Path:
    env = os.environ.get("EVIDENT_CLI")
    if not env:
        pytest.skip("EVIDENT_CLI is not set")
    return Path(env)


def run(*args: Any, check: Optional[int] = None) -> subprocess.CompletedProcess:
    r = subprocess.run([str(cli()), *map(str, args)], capture_output=True, text=True,
                       env={**os.environ, "NO_COLOR": "1"}, timeout=120)
    if check is not None:
        assert r.returncode == check, (r.returncode, r.stdout, r.stderr)
    return r


def dir_names(d: Path) -> set:
    return {p.name for p in d.iterdir()}


# --------------------------------------------------------------------------
# 0. The writer above agrees with the spec's vectors (it is the test's basis)


def test_writer_reproduces_the_basic_vector_byte_for_byte():
    lines = (VECTORS / "basic.jsonl").read_text("utf-8").splitlines()
    for line in lines:
        e = json.loads(line)
        assert go_line(e) == line
        assert entry_hash(e) == e["hash"]


def test_writer_hashes_every_tricky_and_random_vector_entry():
    for name in ("tricky.jsonl", "random.jsonl"):
        prev = ""
        for raw in (VECTORS / name).read_bytes().split(b"\n"):
            if not raw:
                continue
            e = json.loads(raw.decode("utf-8", "replace"))
            e.setdefault("otr", False)
            assert e["previous_hash"] == prev
            assert entry_hash(e) == e["hash"], (name, raw[:80])
            prev = e["hash"]


# --------------------------------------------------------------------------
# 1a. The spec's vectors, as spec § 7's manifest says


MANIFEST = json.loads((VECTORS / "manifest.json").read_text("utf-8"))
KIND_WORDS = {"hash_mismatch": "hash mismatch", "chain_broken": "chain broken",
              "invalid_json": "invalid JSON"}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_vector_verify_integrity(name):
    m = MANIFEST[name]
    r = op.verify_integrity(VECTORS / name)
    assert r.valid is m["valid"]
    assert r.entries == m["entries"]
    assert r.line == m["line"]
    if m["valid"]:
        assert r.error == ""
    else:
        assert r.error.startswith("line %d: %s: " % (m["line"], KIND_WORDS[m["kind"]])), r.error


@pytest.mark.parametrize("name", sorted(n for n in MANIFEST if MANIFEST[n]["valid"]))
def test_vector_read_entries_newest_first_with_last_hash(name):
    m = MANIFEST[name]
    es = op.read_entries(VECTORS / name)
    assert len(es) == m["entries"]
    assert es[0].hash == m["last_hash"]
    assert es[-1].previous_hash == ""
    for newer, older in zip(es, es[1:]):
        assert newer.previous_hash == older.hash


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_vector_cli_verify_json(name):
    m = MANIFEST[name]
    r = run("verify", "--json", VECTORS / name)
    assert r.returncode == (0 if m["valid"] else 1), r.stderr
    doc = json.loads(r.stdout)
    for k in ("valid", "entries", "line", "kind", "last_hash"):
        assert doc[k] == m[k], k


def test_cli_verify_reads_an_openparallax_file_from_stdin_and_among_logs(tmp_path):
    for name, code in (("basic.jsonl", 0), ("modified_field.jsonl", 1)):
        r = subprocess.run([str(cli()), "verify", "-"], input=(VECTORS / name).read_bytes(),
                           capture_output=True, timeout=60)
        assert r.returncode == code, r
        assert b"OpenParallax" in r.stdout
    log = tmp_path / "log.jsonl"
    _make_log(log, 2)
    run("verify", VECTORS / "basic.jsonl", log, check=0)
    r = run("verify", "--json", VECTORS / "deleted_line.jsonl", log, check=1)
    docs = json.loads(r.stdout)
    assert [d["valid"] for d in docs] == [False, True]
    assert docs[0]["path"].endswith("deleted_line.jsonl") and docs[1]["path"] == str(log)


def test_vector_basic_fields_as_the_seed_describes():
    es = op.read_entries(VECTORS / "basic.jsonl")
    first = es[-1]
    assert first.id == "6f1f0d3a-6b0e-4c55-9d3e-0a4f7a1d2b01"
    assert first.event_type == op.EventType.SESSION_STARTED
    assert first.timestamp == 1711929600000
    assert first.session_id == "sess-001" and first.source == "engine"
    blocked = es[3]
    assert blocked.event_type == op.EventType.ACTION_BLOCKED
    assert blocked.details == {"command": "rm -rf /", "reason": "denied by policy"}
    assert es[2].otr is True and es[2].action_type == "read_file"


# --------------------------------------------------------------------------
# 1b. Files written here: verify_integrity, read_entries, the CLI


def test_generated_file_verifies_with_every_field(op_file):
    r = op.verify_integrity(op_file)
    assert (r.valid, r.entries, r.line, r.error) == (True, len(SAMPLE), 0, "")
    es = op.read_entries(op_file)
    assert [e.id for e in es] == ["00000000-0000-4000-8000-%012d" % i
                                  for i in range(len(SAMPLE), 0, -1)]
    w = es[1]  # the write_file entry
    assert w.details == {"path": "/etc/<passwd>&",
                         "text": "héllo ✓ 日本語 😀 \u2028\u2029 \x01\x7f"}
    assert w.event_type == op.EventType.ACTION_BLOCKED and w.session_id == "sess-002"
    assert isinstance(w.timestamp, int) and w.timestamp == 1711929600005


def test_query_filters_of_the_seed(op_file):
    assert [e.timestamp for e in op.read_entries(op_file, op.Query(limit=2))] == [
        1711929600006, 1711929600005]
    blocked = op.read_entries(op_file, op.Query(session_id="sess-001",
                                                event_type=op.EventType.ACTION_BLOCKED))
    assert [e.details for e in blocked] == [{"command": "rm -rf /", "reason": "denied by policy"}]
    s2 = op.read_entries(op_file, op.Query(session_id="sess-002"))
    assert [e.action_type for e in s2] == ["write_file", "read_file"]
    b = op.read_entries(op_file, op.Query(event_type=op.EventType.ACTION_BLOCKED, limit=1))
    assert [e.action_type for e in b] == ["write_file"]
    assert op.read_entries(op_file, op.Query(session_id="nope")) == []


def test_large_details_and_many_entries(tmp_path):
    big = {"blob": "x<&>" * 250_000, "n": list(range(1000))}  # ~1 MB of details
    specs = [{"event_type": 1 + i % 23, "session_id": "s%d" % (i % 7),
              "action_type": "a%d" % i, "details": {"i": i, "u": "ü%d" % i}}
             for i in range(3000)]
    specs.insert(1500, {"event_type": 5, "action_type": "big", "details": big})
    p = tmp_path / "audit.jsonl"
    write_op(p, make_entries(specs))
    r = op.verify_integrity(p)
    assert (r.valid, r.entries) == (True, 3001), r.error
    es = op.read_entries(p)
    assert len(es) == 3001
    bigs = [e for e in es if e.action_type == "big"]
    assert bigs[0].details == big
    assert [e.details["i"] for e in op.read_entries(p, op.Query(session_id="s3", limit=3))] == [
        2999, 2992, 2985]
    run("verify", p, check=0)


def _lines(p: Path) -> List[bytes]:
    return p.read_bytes().split(b"\n")


def test_tampered_middle_line_is_a_hash_mismatch_at_its_line(op_file):
    lines = _lines(op_file)
    e = json.loads(lines[2])
    e["details_json"] = e["details_json"].replace("rm -rf /", "ls")
    lines[2] = go_line(e).encode()
    op_file.write_bytes(b"\n".join(lines))
    r = op.verify_integrity(op_file)
    assert (r.valid, r.line, r.entries) == (False, 3, 2)
    assert r.error.startswith("line 3: hash mismatch: "), r.error
    assert e["hash"] in r.error
    cr = run("verify", op_file, check=1)
    assert "line 3" in cr.stdout + cr.stderr
    # the entries before it still read; the seed's reader reads every entry
    assert len(op.read_entries(op_file)) == len(SAMPLE)


def test_changed_stored_hash_is_a_hash_mismatch(op_file):
    lines = _lines(op_file)
    e = json.loads(lines[2])
    e["hash"] = "0" * 64
    lines[2] = go_line(e).encode()
    op_file.write_bytes(b"\n".join(lines))
    r = op.verify_integrity(op_file)
    assert (r.valid, r.line) == (False, 3)
    assert r.error.startswith("line 3: hash mismatch: stored \"" + "0" * 64), r.error


def test_deleted_line_is_a_chain_break_at_the_next_line(op_file):
    lines = _lines(op_file)
    del lines[2]
    op_file.write_bytes(b"\n".join(lines))
    r = op.verify_integrity(op_file)
    assert (r.valid, r.line, r.entries) == (False, 3, 2)
    assert r.error.startswith("line 3: chain broken: previous_hash "), r.error


def test_truncated_last_line_is_invalid_json_at_that_line(op_file):
    data = op_file.read_bytes()
    op_file.write_bytes(data[:-30])
    r = op.verify_integrity(op_file)
    assert (r.valid, r.line, r.entries) == (False, len(SAMPLE), len(SAMPLE) - 1)
    assert r.error.startswith("line %d: invalid JSON: " % len(SAMPLE)), r.error
    run("verify", op_file, check=1)


def test_blank_lines_are_skipped_and_lines_counted_physically(op_file):
    lines = _lines(op_file)
    # two empty lines after line 2, one after line 4
    new = lines[:2] + [b"", b""] + lines[2:4] + [b""] + lines[4:]
    op_file.write_bytes(b"\n".join(new))
    r = op.verify_integrity(op_file)
    assert (r.valid, r.entries) == (True, len(SAMPLE)), r.error
    assert len(op.read_entries(op_file)) == len(SAMPLE)
    # now tamper the entry that was line 5 and is physical line 8
    e = json.loads(new[7])
    e["session_id"] = "other"
    new[7] = go_line(e).encode()
    op_file.write_bytes(b"\n".join(new))
    r = op.verify_integrity(op_file)
    assert (r.valid, r.line) == (False, 8), r.error
    assert r.error.startswith("line 8: hash mismatch"), r.error


def test_whitespace_only_line_between_entries_is_invalid_json(op_file):
    lines = _lines(op_file)
    new = lines[:2] + [b"   "] + lines[2:]
    op_file.write_bytes(b"\n".join(new))
    r = op.verify_integrity(op_file)
    assert (r.valid, r.line) == (False, 3)
    assert r.error.startswith("line 3: invalid JSON"), r.error


def test_white_space_at_start_and_end_of_file_is_ignored(op_file):
    data = op_file.read_bytes()
    op_file.write_bytes(data + b"\n \t\n\n")
    r = op.verify_integrity(op_file)
    assert (r.valid, r.entries) == (True, len(SAMPLE)), r.error


def test_crlf_lines_verify(tmp_path):
    p = tmp_path / "audit.jsonl"
    write_op(p, make_entries(SAMPLE), eol="\r\n")
    r = op.verify_integrity(p)
    assert (r.valid, r.entries) == (True, len(SAMPLE)), r.error
    assert len(op.read_entries(p)) == len(SAMPLE)
    run("verify", p, check=0)


def test_decoding_rules_of_spec_section_2(tmp_path):
    """Unknown keys ignored, keys matched case-insensitively, the last of
    duplicate keys wins, null leaves a field empty, invalid UTF-8 is U+FFFD."""
    es = make_entries([
        {"event_type": 17, "session_id": "a"},
        {"event_type": 1, "session_id": "", "action_type": "x"},
        {"event_type": 2, "source": "s"},
        {"event_type": 3, "action_type": "b\ufffdc"},
        {"event_type": 4, "details": {"k": 1}},
    ])
    lines = [go_line(e) for e in es]
    lines[0] = lines[0][:-1] + ',"extra":{"nested":[1,2,3]}}'
    lines[1] = lines[1][:-1] + ',"session_id":null}'
    lines[2] = lines[2].replace('"source":', '"SOURCE":').replace('"id":', '"ID":')
    lines[3] = lines[3].replace("b\ufffdc", "b\udcffc")  # placeholder for raw byte
    lines[4] = lines[4].replace('"otr":false', '"otr":true,"otr":false')
    data = "\n".join(lines[:3]).encode() + b"\n"
    data += lines[3].encode("utf-8", "surrogateescape") + b"\n"
    data += lines[4].encode() + b"\n"
    assert b"b\xffc" in data
    p = tmp_path / "audit.jsonl"
    p.write_bytes(data)
    r = op.verify_integrity(p)
    assert (r.valid, r.entries) == (True, 5), r.error
    got = op.read_entries(p)
    assert got[1].action_type == "b\ufffdc"
    assert got[2].source == "s" and got[2].id == es[2]["id"]


def test_wrong_types_are_invalid_json(op_file):
    for bad in ('"event_type":"5"', '"event_type":5.0', '"event_type":5e0'):
        lines = _lines(op_file)
        lines[1] = lines[1].replace(b'"event_type":1', bad.encode())
        p = op_file.with_name("bad.jsonl")
        p.write_bytes(b"\n".join(lines))
        r = op.verify_integrity(p)
        assert (r.valid, r.line) == (False, 2), (bad, r.error)
        assert r.error.startswith("line 2: invalid JSON"), (bad, r.error)


def test_null_line_is_an_entry_with_every_field_empty(op_file):
    lines = _lines(op_file)
    op_file.write_bytes(b"\n".join(lines[:2] + [b"null"] + lines[2:]))
    r = op.verify_integrity(op_file)
    assert (r.valid, r.line) == (False, 3)
    assert r.error.startswith("line 3: chain broken: "), r.error


def test_more_invalid_lines(op_file):
    deep = b'"x":' + b"[" * 10_001 + b"]" * 10_001 + b","
    for bad in (lambda l: l.replace(b'"event_type":1', b'"event_type":99999999999999999999'),
                lambda l: l.replace(b'"otr":false', b'"otr":0'),
                lambda l: l.replace(b'"id":', deep + b'"id":'),
                lambda l: b"[" + l + b"]",
                lambda l: l + b" x"):
        lines = _lines(op_file)
        lines[1] = bad(lines[1])
        p = op_file.with_name("bad.jsonl")
        p.write_bytes(b"\n".join(lines))
        r = op.verify_integrity(p)
        assert (r.valid, r.line) == (False, 2), r.error
        assert r.error.startswith("line 2: invalid JSON"), r.error


def test_unicode_case_folding_of_keys(tmp_path):
    es = make_entries([{"event_type": 17, "session_id": "a"},
                       {"event_type": 1, "source": "src", "session_id": "b"}])
    lines = [go_line(e) for e in es]
    lines[1] = lines[1].replace('"source":', '"\u017fource":').replace(
        '"session_id":', '"Session_Id":')
    p = tmp_path / "audit.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = op.verify_integrity(p)
    assert (r.valid, r.entries) == (True, 2), r.error
    assert op.read_entries(p)[0].source == "src"


def test_leading_white_space_and_unicode_spaces_at_the_end(op_file):
    data = op_file.read_bytes()
    op_file.write_bytes(b"\n\n" + data + "\u00a0\u0085\u3000\n".encode())
    r = op.verify_integrity(op_file)
    assert (r.valid, r.entries) == (True, len(SAMPLE)), r.error
    # lines are physical lines of the file
    lines = _lines(op_file)
    e = json.loads(lines[3])
    e["otr"] = True
    lines[3] = go_line(e).encode()
    op_file.write_bytes(b"\n".join(lines))
    r = op.verify_integrity(op_file)
    assert (r.valid, r.line) == (False, 4), r.error


def test_files_that_are_not_recognised(tmp_path):
    """spec § 5: the first non-blank line needs id, event_type, timestamp,
    previous_hash and hash, and no seq."""
    e = make_entries(SAMPLE)[0]
    no_hash = {k: v for k, v in e.items() if k != "hash"}
    with_seq = dict(e, seq=0)
    for first in (json.dumps(no_hash), json.dumps(with_seq)):
        p = tmp_path / "x.jsonl"
        p.write_text(first + "\n")
        assert op.migrate(p) is None
        r = run("verify", p)
        assert r.returncode == 2 and "not an evident log" in (r.stdout + r.stderr), r
        assert "OpenParallax audit file" not in r.stdout


def test_a_line_longer_than_64_mib_is_refused(tmp_path):
    es = make_entries([{"event_type": 1}, {"event_type": 2, "details_json": "z" * (64 << 20)}])
    p = tmp_path / "audit.jsonl"
    write_op(p, es)
    r = op.verify_integrity(p)
    assert (r.valid, r.line, r.entries) == (False, 2, 1), r.error[:200]
    assert r.error.startswith("line 2: ")
    doc = json.loads(run("verify", "--json", p, check=1).stdout)
    assert (doc["kind"], doc["line"]) == ("line_too_long", 2)


def test_timestamps_beyond_2_53_hash_through_a_float(tmp_path):
    es = make_entries([
        {"event_type": 1, "timestamp": 2**53 + 1},
        {"event_type": -7, "timestamp": -1},
        {"event_type": 99, "timestamp": 2**63 - 1},
    ])
    assert float_int(2**53 + 1) == "9007199254740992"
    p = tmp_path / "audit.jsonl"
    write_op(p, es)
    r = op.verify_integrity(p)
    assert (r.valid, r.entries) == (True, 3), r.error
    got = op.read_entries(p)
    assert [e.timestamp for e in got] == [2**63 - 1, -1, 2**53 + 1]
    assert int(got[0].event_type) == 99


# --------------------------------------------------------------------------
# 1c. Migration (AuditLogger(path), migrate) and import (import_file, CLI)


def _legacy_fields(e: evident.Entry) -> Dict[str, Any]:
    return e.details["openparallax"]


def _depth(v: Any) -> int:
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    if isinstance(v, dict):
        return 1 + max((_depth(x) for x in v.values()), default=0)
    return 0


def expected_details(dj: str) -> Any:
    """spec § 6: `details_json` parsed, `{}` when empty, the text as a JSON
    string when it is not JSON or is JSON a record cannot hold (README,
    Known limitations: numbers must be finite doubles; details nest at most
    127 levels, the imported entry's details holding D one level down)."""
    if not dj:
        return {}
    try:
        # integers beyond 64 bits are read as doubles (README)
        v = json.loads(dj, parse_int=lambda t: int(t) if -2**63 <= int(t) < 2**64 else float(t))
        json.dumps(v, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return dj
    return dj if _depth(v) > 126 else v


def check_imported(log: Path, entries: List[Dict[str, Any]], data: bytes,
                   src_name: Optional[str] = None,
                   line_numbers: Optional[List[int]] = None) -> None:
    """What spec § 6 says the new log holds."""
    assert evident.verify(log).valid
    got = list(evident.read_entries(log))
    assert len(got) == len(entries) + 1
    names = {int(m): m.name for m in op.EventType}
    for i, (g, e) in enumerate(zip(got, entries)):
        n = e["event_type"]
        if 24 <= n <= 29:  # named by spec § 6 (1-29), beyond the seed's 23
            assert g.event_type and not g.event_type.lstrip("-").isdigit()
        else:
            assert g.event_type == names.get(n, str(n))
        assert g.action == e.get("action_type", "")
        assert g.session_id == e.get("session_id", "")
        assert g.source == e.get("source", "")
        assert g.otr is bool(e.get("otr"))
        assert g.actor == "" and g.host == ""
        if -62135596800000 <= e["timestamp"] <= 253402300799999:  # years 1-9999
            assert round(g.ts.timestamp() * 1000) == e["timestamp"]
        dj = e.get("details_json", "")
        assert g.details["details"] == expected_details(dj)
        leg = _legacy_fields(g)
        assert leg["line"] == (line_numbers[i] if line_numbers else i + 1)
        for k in ("id", "event_type", "timestamp", "previous_hash", "hash"):
            assert leg[k] == e[k], k
        assert leg["details_json"] == dj
        # every OpenParallax hash can be recomputed from the new log
        rebuilt = {"id": leg["id"], "event_type": leg["event_type"],
                   "timestamp": leg["timestamp"], "session_id": g.session_id,
                   "action_type": g.action, "details_json": leg["details_json"],
                   "previous_hash": leg["previous_hash"], "otr": g.otr,
                   "source": g.source}
        assert entry_hash(rebuilt) == leg["hash"]
    anchor = got[-1]
    assert anchor.event_type == "OPENPARALLAX_IMPORT" and anchor.action == "import"
    a = anchor.details["openparallax_import"]
    assert a["entries"] == len(entries)
    assert a["lines"] == data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    assert a["bytes"] == len(data)
    assert a["sha256"] == hashlib.sha256(data).hexdigest()
    assert a["last_hash"] == entries[-1]["hash"]
    assert "file" in a
    if src_name is not None:
        assert src_name in str(a["file"])


def test_import_file_keeps_every_field(tmp_path, op_file):
    data = op_file.read_bytes()
    st = op_file.stat()
    dst = tmp_path / "new.jsonl"
    rep = op.import_file(op_file, dst)
    assert rep["entries"] == len(SAMPLE)
    check_imported(dst, make_entries(SAMPLE), data, "audit.jsonl")
    assert op_file.read_bytes() == data and op_file.stat().st_mtime_ns == st.st_mtime_ns
    # compat read of the new log: the original id, timestamp, details, hashes
    es = [e for e in op.read_entries(dst) if e.action_type != "import"]
    want = make_entries(SAMPLE)[::-1]
    assert [e.id for e in es] == [w["id"] for w in want]
    assert [e.timestamp for e in es] == [w["timestamp"] for w in want]
    assert [e.hash for e in es] == [w["hash"] for w in want]
    assert [e.previous_hash for e in es] == [w["previous_hash"] for w in want]
    assert es[1].details == {"path": "/etc/<passwd>&",
                             "text": "héllo ✓ 日本語 😀 \u2028\u2029 \x01\x7f"}


@pytest.mark.parametrize("name", sorted(n for n in MANIFEST if MANIFEST[n]["valid"]))
def test_vector_import_keeps_every_field(tmp_path, name):
    src = VECTORS / name
    data = src.read_bytes()
    entries = []
    for raw in data.split(b"\n"):
        if raw.strip():
            e = json.loads(raw.decode("utf-8", "replace"))
            e.setdefault("otr", False)
            entries.append(e)
    dst = tmp_path / "imported.jsonl"
    op.import_file(src, dst)
    check_imported(dst, entries, data, name)
    run("verify", dst, check=0)
    # read back through the compat API: the original id, timestamp, hashes
    # (also timestamps no record can hold: they are kept in the entry)
    back = [e for e in op.read_entries(dst) if e.action_type != "import"][::-1]
    assert [(e.id, e.timestamp, e.previous_hash, e.hash) for e in back] == [
        (e["id"], e["timestamp"], e["previous_hash"], e["hash"]) for e in entries]


@pytest.mark.parametrize("depth", [1, 126, 127, 128, 300])
def test_import_of_deeply_nested_details(tmp_path, depth):
    """A file that verifies imports (spec § 6): details OpenParallax took
    (Go nests up to 10 000 levels) are kept, as text when a record cannot
    hold them parsed."""
    dj = '{"a":' * depth + "1" + "}" * depth
    entries = make_entries([{"event_type": 1, "details_json": dj}, {"event_type": 2}])
    src = tmp_path / "audit.jsonl"
    data = write_op(src, entries)
    assert op.verify_integrity(src).valid
    dst = tmp_path / "new.jsonl"
    op.import_file(src, dst)
    check_imported(dst, entries, data)
    assert isinstance(expected_details(dj), dict if depth <= 126 else str)
    op.migrate(src)
    check_imported(src, entries, data)


def test_import_keeps_json_a_record_cannot_hold_as_text(tmp_path):
    djs = ['{"n":1e400}', '{"n":-1e309,"m":1}', '{"s":"\\ud800"}', '["\\udc00x"]',
           '{"n":1.50,"big":12345678901234567890123}', '"just a string"', "42", "null"]
    entries = make_entries([{"event_type": 3, "details_json": dj} for dj in djs])
    src = tmp_path / "audit.jsonl"
    data = write_op(src, entries)
    assert op.verify_integrity(src).valid
    dst = tmp_path / "new.jsonl"
    op.import_file(src, dst)
    check_imported(dst, entries, data)
    got = [e.details["details"] for e in list(evident.read_entries(dst))[:len(djs)]]
    assert got[:4] == djs[:4]
    assert got[4] == {"n": 1.5, "big": 1.2345678901234568e22}


def test_import_never_replaces_an_existing_file(tmp_path, op_file):
    dst = tmp_path / "new.jsonl"
    dst.write_bytes(b"keep me")
    with pytest.raises(op.AuditError):
        op.import_file(op_file, dst)
    assert dst.read_bytes() == b"keep me"
    r = run("import-openparallax", op_file, "-o", dst)
    assert r.returncode != 0
    assert dst.read_bytes() == b"keep me"


def test_import_of_a_tampered_file_is_refused_naming_the_line(tmp_path, op_file):
    lines = _lines(op_file)
    del lines[3]
    op_file.write_bytes(b"\n".join(lines))
    before = dir_names(tmp_path)
    with pytest.raises(op.AuditError, match="line 4"):
        op.import_file(op_file, tmp_path / "new.jsonl")
    r = run("import-openparallax", op_file, "-o", tmp_path / "new2.jsonl")
    assert r.returncode != 0 and "line 4" in r.stderr, r.stderr
    assert dir_names(tmp_path) == before


def test_cli_import_then_verify_and_every_field(tmp_path, op_file):
    data = op_file.read_bytes()
    dst = tmp_path / "audit.evident.jsonl"
    run("import-openparallax", op_file, "-o", dst, check=0)
    run("verify", dst, check=0)
    check_imported(dst, make_entries(SAMPLE), data, "audit.jsonl")
    assert op_file.read_bytes() == data
    # binary framing too
    dstb = tmp_path / "audit.evl"
    run("import-openparallax", op_file, "-o", dstb, "--framing", "binary", check=0)
    run("verify", dstb, check=0)
    check_imported(dstb, make_entries(SAMPLE), data)


def test_cli_verify_names_the_format_and_other_commands_name_the_import(op_file):
    r = run("verify", op_file, check=0)
    assert "OpenParallax" in r.stdout
    for cmd in (["cat"], ["stats"], ["tail"]):
        r = run(*cmd, op_file)
        assert r.returncode != 0, cmd
        assert "import-openparallax" in r.stderr, (cmd, r.stderr)
    data = op_file.read_bytes()
    r = run("append", op_file, "--event-type", "ACTION_EXECUTED", "--action", "x")
    assert r.returncode != 0
    assert op_file.read_bytes() == data


def test_import_entry_over_the_record_limit_is_refused_naming_its_line(tmp_path):
    specs = [{"event_type": 1}, {"event_type": 2, "details": {"blob": "y" * (9 << 20)}},
             {"event_type": 3}]
    p = tmp_path / "audit.jsonl"
    write_op(p, make_entries(specs))
    assert op.verify_integrity(p).valid
    before = dir_names(tmp_path)
    with pytest.raises(op.AuditError, match="line 2"):
        op.import_file(p, tmp_path / "new.jsonl")
    assert dir_names(tmp_path) == before


def test_auditlogger_migrates_and_continues_the_chain(tmp_path, op_file):
    data = op_file.read_bytes()
    mode = stat.S_IMODE(op_file.stat().st_mode)
    with op.AuditLogger(op_file) as logger:
        logger.log(event_type=op.EventType.ACTION_EXECUTED, action_type="read_file",
                   session_id="sess-001", details={"after": "migration"})
    legacy = tmp_path / "audit.jsonl.openparallax"
    assert legacy.read_bytes() == data
    assert stat.S_IMODE(legacy.stat().st_mode) == mode
    # no temporary file is left behind by a migration that finished
    assert not [n for n in dir_names(tmp_path) if "migrating" in n]
    r = op.verify_integrity(op_file)
    assert r.valid, r.error
    run("verify", op_file, check=0)
    got = list(evident.read_entries(op_file))
    check_imported_prefix = got[:len(SAMPLE) + 1]
    assert check_imported_prefix[-1].event_type == "OPENPARALLAX_IMPORT"
    assert got[-1].action == "read_file" and got[-1].details == {"after": "migration"}
    es = op.read_entries(op_file)
    assert es[0].details == {"after": "migration"}
    blocked = op.read_entries(op_file, op.Query(session_id="sess-001",
                                                event_type=op.EventType.ACTION_BLOCKED))
    assert [e.details for e in blocked] == [{"command": "rm -rf /", "reason": "denied by policy"}]
    assert blocked[0].id == make_entries(SAMPLE)[2]["id"]
    assert [e.id for e in op.read_entries(op_file, op.Query(limit=2))] == [e.id for e in es[:2]]
    imported = [e for e in es if e.id.startswith("00000000-")]
    assert [e.id for e in imported] == [w["id"] for w in make_entries(SAMPLE)[::-1]]
    # a second logger: nothing more to migrate, the copy is untouched
    with op.AuditLogger(op_file) as logger:
        logger.log(event_type=op.EventType.SESSION_ENDED, session_id="sess-001")
    assert legacy.read_bytes() == data
    assert len(list(evident.read_entries(op_file))) == len(got) + 1
    assert op.verify_integrity(op_file).valid


def test_migrate_crlf_file_with_blank_lines_keeps_physical_line_numbers(tmp_path):
    entries = make_entries(SAMPLE)
    lines = [go_line(e).encode() + b"\r" for e in entries]
    body = lines[:3] + [b""] + lines[3:5] + [b"", b""] + lines[5:]
    data = b"\n".join(body) + b"\n"
    p = tmp_path / "audit.jsonl"
    p.write_bytes(data)
    assert op.verify_integrity(p).valid
    assert op.migrate(p)["entries"] == len(SAMPLE)
    check_imported(p, entries, data, line_numbers=[1, 2, 3, 5, 6, 9, 10])
    assert (tmp_path / "audit.jsonl.openparallax").read_bytes() == data


def test_migrate_twice(tmp_path, op_file):
    data = op_file.read_bytes()
    rep = op.migrate(op_file)
    assert rep is not None and rep["entries"] == len(SAMPLE)
    check_imported(op_file, make_entries(SAMPLE), data)
    log_bytes = op_file.read_bytes()
    assert op.migrate(op_file) is None
    assert op_file.read_bytes() == log_bytes
    assert (tmp_path / "audit.jsonl.openparallax").read_bytes() == data


def test_migration_of_a_tampered_file_changes_nothing(tmp_path, op_file):
    lines = _lines(op_file)
    e = json.loads(lines[4])
    e["action_type"] = "forged"
    lines[4] = go_line(e).encode()
    op_file.write_bytes(b"\n".join(lines))
    data = op_file.read_bytes()
    before = dir_names(tmp_path)
    with pytest.raises(op.AuditError, match="line 5"):
        op.AuditLogger(op_file)
    with pytest.raises(op.AuditError, match="line 5"):
        op.migrate(op_file)
    assert op_file.read_bytes() == data
    after = dir_names(tmp_path)
    # the lock file is the writer's (spec/format.md § 10.4: never removed)
    assert after - before <= {"audit.jsonl.lock"}
    assert "audit.jsonl.openparallax" not in after


def test_migration_stops_on_a_different_openparallax_copy(tmp_path, op_file):
    data = op_file.read_bytes()
    other = tmp_path / "audit.jsonl.openparallax"
    other.write_bytes(b"something else\n")
    with pytest.raises(op.AuditError):
        op.migrate(op_file)
    assert op_file.read_bytes() == data
    assert other.read_bytes() == b"something else\n"


def test_migration_goes_on_after_a_crash_between_link_and_rename(tmp_path, op_file):
    """The state a kill after the second name and before the rename leaves."""
    data = op_file.read_bytes()
    os.link(op_file, tmp_path / "audit.jsonl.openparallax")
    (tmp_path / ".audit.jsonl.migrating-12345-deadbeef").write_bytes(b"partial")
    with op.AuditLogger(op_file) as logger:
        logger.log(event_type=op.EventType.ACTION_EXECUTED, action_type="x")
    assert (tmp_path / "audit.jsonl.openparallax").read_bytes() == data
    assert op.verify_integrity(op_file).valid
    got = list(evident.read_entries(op_file))
    assert got[len(SAMPLE)].event_type == "OPENPARALLAX_IMPORT"
    assert got[-1].action == "x"


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_the_next_migration_removes_leftovers_of_killed_ones(tmp_path, op_file):
    """spec § 6: temporaries a killed migration left are removed by the next
    migration in that directory once their process no longer runs."""
    dead = _dead_pid()
    left = [".audit.jsonl.migrating-%d-0011223344556677" % dead,
            ".audit.jsonl.migrating-%d-0011223344556677.lock" % dead,
            "..audit.jsonl.migrating-%d-0011223344556677.creating-%d-8899aabbccddeeff"
            % (dead, dead)]
    alive = ".audit.jsonl.migrating-%d-00aa" % os.getpid()
    for n in left + [alive]:
        (tmp_path / n).write_bytes(b"partial")
    op.migrate(op_file)
    names = dir_names(tmp_path)
    assert not set(left) & names, names
    assert alive in names


MIGRATE_CHILD = r"""
import sys, evident.compat.openparallax as op
print("start", flush=True)
op.migrate(sys.argv[1])
print("done", flush=True)
"""


def test_migration_killed_at_any_moment(tmp_path):
    specs = [{"event_type": 1 + i % 20, "session_id": "s", "action_type": "a%d" % i,
              "details": {"i": i, "pad": "p" * 200}} for i in range(4000)]
    entries = make_entries(specs)
    src = tmp_path / "src.jsonl"
    data = write_op(src, entries)
    states = {"untouched": 0, "migrated": 0}
    delays = [0.0, 0.01, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6, 0.9, 3.0]
    for k, delay in enumerate(delays):
        d = tmp_path / ("k%d" % k)
        d.mkdir()
        p = d / "audit.jsonl"
        shutil.copyfile(src, p)
        mode = stat.S_IMODE(p.stat().st_mode)
        child = subprocess.Popen([sys.executable, "-c", MIGRATE_CHILD, str(p)],
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "start"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        legacy = d / "audit.jsonl.openparallax"
        if p.read_bytes() == data:
            states["untouched"] += 1
            if legacy.exists():
                assert legacy.read_bytes() == data
        else:
            states["migrated"] += 1
            assert legacy.read_bytes() == data
            assert evident.verify(p).valid
        leftovers = dir_names(d) - {"audit.jsonl", "audit.jsonl.openparallax", "audit.jsonl.lock"}
        assert all(n.startswith((".audit.jsonl.migrating-", "..audit.jsonl.migrating-"))
                   for n in leftovers), leftovers
        if os.name == "posix":
            # a temporary holding the entries is never open to more users
            # than the OpenParallax file was (private while written, the
            # file's own bits just before the rename)
            for n in leftovers:
                extra = stat.S_IMODE((d / n).stat().st_mode) & ~mode & 0o777
                assert extra == 0, (n, oct(extra))
        # the next AuditLogger(path) goes on
        with op.AuditLogger(p) as logger:
            logger.log(event_type=op.EventType.ACTION_EXECUTED, action_type="after")
        assert legacy.read_bytes() == data
        got = list(evident.read_entries(p))
        assert len(got) == len(entries) + 2
        assert got[len(entries)].details["openparallax_import"]["sha256"] == \
            hashlib.sha256(data).hexdigest()
        assert evident.verify(p).valid
    # a kill right away leaves the file untouched; one after 3 s (the
    # migration takes well under a second) finds it migrated
    assert states["untouched"] >= 1 and states["migrated"] >= 1, states


CONCURRENT_CHILD = r"""
import sys, time, evident.compat.openparallax as op
t = float(sys.argv[2])
while time.time() < t:
    pass
r = op.migrate(sys.argv[1])
print("migrated" if r else "nothing", flush=True)
"""


def test_two_migrations_at_once_import_once(tmp_path):
    specs = [{"event_type": 5, "action_type": "a%d" % i, "details": {"i": i}}
             for i in range(2000)]
    entries = make_entries(specs)
    p = tmp_path / "audit.jsonl"
    data = write_op(p, entries)
    start = time.time() + 1.0
    kids = [subprocess.Popen([sys.executable, "-c", CONCURRENT_CHILD, str(p), str(start)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outs = [k.communicate(timeout=120) for k in kids]
    assert all(k.returncode == 0 for k in kids), outs
    assert sorted(o[0].strip() for o in outs) == ["migrated", "nothing"], outs
    check_imported(p, entries, data)
    assert (tmp_path / "audit.jsonl.openparallax").read_bytes() == data


def test_timestamps_no_record_can_hold_are_kept(tmp_path):
    """spec § 6: ts is the timestamp when a record can hold it (years
    0000-9999), else the import time; the original stays in the entry."""
    big = 300_000_000_000_000  # year ~11476
    entries = make_entries([{"event_type": 1, "timestamp": big},
                            {"event_type": 2, "timestamp": -70_000_000_000_000}])
    src = tmp_path / "audit.jsonl"
    data = write_op(src, entries)
    before = time.time()
    op.import_file(src, tmp_path / "new.jsonl")
    got = list(evident.read_entries(tmp_path / "new.jsonl"))
    for g in got[:2]:
        assert before - 5 <= g.ts.timestamp() <= time.time() + 5
    check_imported(tmp_path / "new.jsonl", entries, data)
    back = [e for e in op.read_entries(tmp_path / "new.jsonl") if e.action_type != "import"]
    assert [e.timestamp for e in back] == [-70_000_000_000_000, big]


def test_a_new_file_is_an_evident_log_and_nothing_is_migrated(tmp_path):
    p = tmp_path / "audit.jsonl"
    with op.AuditLogger(p) as logger:
        assert getattr(logger, "migrated", None) is None
        logger.log(event_type=op.EventType.ACTION_PROPOSED, action_type="run_command",
                   session_id="sess-001", details={"command": "ls -la"})
    assert not (tmp_path / "audit.jsonl.openparallax").exists()
    assert op.migrate(p) is None
    run("verify", p, check=0)


def test_empty_file_is_not_recognised_and_reads_no_entries(tmp_path):
    """spec § 4: an empty file is not recognised as an OpenParallax file (it
    could become either kind of log); the compat readers read no entries
    from it and AuditLogger(path) makes it a new log (README)."""
    p = tmp_path / "audit.jsonl"
    p.write_bytes(b"")
    r = op.verify_integrity(p)
    assert (r.valid, r.entries) == (False, 0)
    assert "not an evident log" in r.error
    assert op.read_entries(p) == []
    assert op.migrate(p) is None
    with op.AuditLogger(p) as logger:
        logger.log(event_type=op.EventType.SESSION_STARTED, session_id="s")
    r = op.verify_integrity(p)
    assert r.valid, r.error
    assert [e.session_id for e in op.read_entries(p)] == ["s"]
    w = tmp_path / "white.jsonl"
    w.write_bytes(b"\n  \n")
    assert op.verify_integrity(w).valid is False
    with pytest.raises(op.AuditError):
        op.read_entries(w)
    with pytest.raises(op.AuditError):
        op.AuditLogger(w)
    assert w.read_bytes() == b"\n  \n"


@pytest.mark.skipif(os.name != "posix", reason="Unix permission bits")
@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_migration_keeps_the_files_permission_bits(tmp_path, op_file, mode):
    """The new log replaces the OpenParallax file at its path: it must not
    become readable by more users than the file was (as a log created in
    place of an empty file keeps its bits, CHANGELOG adopt_empty)."""
    os.chmod(op_file, mode)
    with op.AuditLogger(op_file) as logger:
        logger.log(event_type=op.EventType.ACTION_EXECUTED, action_type="x")
    assert stat.S_IMODE(op_file.stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "audit.jsonl.openparallax").stat().st_mode) == mode
    p2 = tmp_path / "second.jsonl"
    write_op(p2, make_entries(SAMPLE))
    os.chmod(p2, mode)
    op.migrate(p2)
    assert stat.S_IMODE(p2.stat().st_mode) == mode
    assert op.verify_integrity(p2).valid


# --------------------------------------------------------------------------
# 2. A log cut below its durable length (spec/format.md § 10.3)


def _make_log(path: Path, n: int) -> List[int]:
    """Returns the file length after each entry."""
    ends = []
    with evident.AuditLog(path) as log:
        for i in range(n):
            log.log("ACTION_EXECUTED", "a%d" % i, details={"i": i})
            ends.append(path.stat().st_size)
    return ends


def test_clean_close_reports_nothing(log_path):
    _make_log(log_path, 3)
    with evident.AuditLog(log_path) as log:
        assert log.recovery.truncated is None


def test_cut_at_a_record_boundary_is_reported_once(log_path):
    ends = _make_log(log_path, 5)
    with open(log_path, "r+b") as f:
        f.truncate(ends[2])
    with evident.AuditLog(log_path) as log:
        t = log.recovery.truncated
        assert isinstance(t, evident.Truncated)
        assert t.durable_length == ends[4] and t.length == ends[2]
        log.log("ACTION_EXECUTED", "after")
    with evident.AuditLog(log_path) as log:
        assert log.recovery.truncated is None
    assert evident.verify(log_path).valid
    assert [e.action for e in evident.read_entries(log_path)] == ["a0", "a1", "a2", "after"]


def test_cut_binary_log_is_reported_once(tmp_path):
    p = tmp_path / "audit.evl"
    ends = _make_log(p, 4)
    with open(p, "r+b") as f:
        f.truncate(ends[1])
    with evident.AuditLog(p) as log:
        t = log.recovery.truncated
        assert t is not None and (t.durable_length, t.length) == (ends[3], ends[1])
    with evident.AuditLog(p) as log:
        assert log.recovery.truncated is None


def test_cut_is_reported_to_a_shared_mode_writer(log_path):
    ends = _make_log(log_path, 4)
    with open(log_path, "r+b") as f:
        f.truncate(ends[0])
    with evident.AuditLog(log_path, lock="shared") as log:
        t = log.recovery.truncated
        assert t is not None and (t.durable_length, t.length) == (ends[3], ends[0])
    with evident.AuditLog(log_path, lock="shared") as log:
        assert log.recovery.truncated is None


def test_cut_inside_a_record_is_reported_and_the_tail_moved_aside(log_path, tmp_path):
    ends = _make_log(log_path, 5)
    with open(log_path, "r+b") as f:
        f.truncate(ends[2] + 10)
    with evident.AuditLog(log_path) as log:
        t = log.recovery.truncated
        assert t is not None and t.durable_length == ends[4] and t.length == ends[2] + 10
    assert log_path.stat().st_size == ends[2]
    assert [n for n in dir_names(tmp_path) if ".torn-" in n]


def test_an_older_copy_put_in_place_is_reported(log_path, tmp_path):
    _make_log(log_path, 2)
    old = tmp_path / "old.jsonl"
    shutil.copyfile(log_path, old)
    with evident.AuditLog(log_path) as log:
        log.log("ACTION_EXECUTED", "more")
        log.log("ACTION_EXECUTED", "more2")
    os.replace(old, log_path)
    with evident.AuditLog(log_path) as log:
        assert log.recovery.truncated is not None


def test_another_smaller_log_put_in_place_is_not_this_logs_truncation(log_path, tmp_path):
    """The synced length is recorded for a log id (spec § 10.4)."""
    _make_log(log_path, 5)
    other = tmp_path / "other.jsonl"
    _make_log(other, 1)
    os.replace(other, log_path)
    with evident.AuditLog(log_path) as log:
        assert log.recovery.truncated is None


def test_ordinary_torn_tail_is_not_a_truncation(log_path, tmp_path):
    _make_log(log_path, 3)
    with open(log_path, "ab") as f:
        f.write(b'{"v":1,"seq":3,"ts":"2026')  # the start of a record, cut short
    with evident.AuditLog(log_path) as log:
        assert log.recovery.truncated is None
    assert [n for n in dir_names(tmp_path) if ".torn-" in n]


def test_buffered_writer_unsynced_loss_is_not_a_truncation(log_path):
    with evident.AuditLog(log_path) as log:
        log.log("ACTION_EXECUTED", "synced")
    size = log_path.stat().st_size
    with evident.AuditLog(log_path, durability="buffered") as log:
        log.log("ACTION_EXECUTED", "unsynced")
        log.log("ACTION_EXECUTED", "unsynced2")
        log.close()
    # close syncs in buffered mode: cutting after it is a truncation
    with open(log_path, "r+b") as f:
        f.truncate(size)
    with evident.AuditLog(log_path) as log:
        assert log.recovery.truncated is not None


def _warn(stderr: str) -> bool:
    s = stderr.lower()
    return "truncat" in s or "durable" in s or "synced" in s


def test_cli_append_warns_once_after_a_cut(log_path):
    ends = _make_log(log_path, 4)
    r = run("append", log_path, "--event-type", "ACTION_EXECUTED", "--action", "clean", check=0)
    assert not _warn(r.stderr), r.stderr
    size = log_path.stat().st_size
    with open(log_path, "r+b") as f:
        f.truncate(ends[1])
    r = run("append", log_path, "--event-type", "ACTION_EXECUTED", "--action", "x", check=0)
    assert _warn(r.stderr), r.stderr
    assert str(size) in r.stderr and str(ends[1]) in r.stderr, r.stderr
    r = run("append", log_path, "--event-type", "ACTION_EXECUTED", "--action", "y", check=0)
    assert not _warn(r.stderr), r.stderr


def test_cli_repair_warns_for_a_cut_inside_a_record(log_path):
    ends = _make_log(log_path, 4)
    with open(log_path, "r+b") as f:
        f.truncate(ends[2] + 7)
    r = run("repair", log_path, check=0)
    assert _warn(r.stderr), r.stderr
    assert log_path.stat().st_size == ends[2]
    r = run("repair", log_path, check=0)
    assert not _warn(r.stderr), r.stderr


def test_cli_repair_warns_for_a_cut_at_a_record_boundary(log_path):
    """CHANGELOG: the cut is reported "instead of passing as an ordinary
    torn tail or a clean end: ... `evident repair` print[s] a warning"."""
    ends = _make_log(log_path, 4)
    with open(log_path, "r+b") as f:
        f.truncate(ends[1])
    r = run("repair", log_path, check=0)
    assert _warn(r.stderr), r.stderr
    assert str(ends[3]) in r.stderr and str(ends[1]) in r.stderr, r.stderr
    assert log_path.stat().st_size == ends[1]
    # reported once
    r = run("repair", log_path, check=0)
    assert not _warn(r.stderr), r.stderr
    r = run("append", log_path, "--event-type", "ACTION_EXECUTED", "--action", "y", check=0)
    assert not _warn(r.stderr), r.stderr


def test_cli_repair_of_a_torn_tail_or_a_clean_log_does_not_warn(log_path):
    ends = _make_log(log_path, 4)
    r = run("repair", log_path, check=0)
    assert not _warn(r.stderr), r.stderr
    with open(log_path, "ab") as f:
        f.write(b'{"v":1,"seq":4')
    r = run("repair", log_path, check=0)
    assert not _warn(r.stderr), r.stderr
    assert log_path.stat().st_size == ends[3]


def test_cli_repair_of_a_valid_log_held_by_a_writer_still_succeeds(log_path):
    _make_log(log_path, 2)
    with evident.AuditLog(log_path):
        r = run("repair", log_path, check=0)
        assert "nothing to repair" in r.stdout


def test_readers_do_not_see_the_cut(log_path):
    """Readers and verifiers do not read the lock file (§ 10.3)."""
    ends = _make_log(log_path, 4)
    with open(log_path, "r+b") as f:
        f.truncate(ends[1])
    assert evident.verify(log_path).valid
    run("verify", log_path, check=0)


# --------------------------------------------------------------------------
# 3. TraceKit's history.auto_record saved with a session (spec/session.md § 4.3)


def _info(path: Path) -> Dict[str, Any]:
    return json.loads(run("session", "info", path, "--json", check=0).stdout)


def _trace_csv(path: Path) -> Path:
    path.write_text("time,voltage\n" + "".join("%g,%d\n" % (i * 1e-6, i % 2) for i in range(64)))
    return path


def test_auto_record_off_survives_save_and_load(tmp_path):
    import evident.compat.tracekit as tk

    s = tk.Session(name="a")
    assert s.history.auto_record is True
    s.history.auto_record = False
    p = tmp_path / "a.tks"
    s.save(str(p))
    s2 = tk.load_session(str(p))
    assert s2.history.auto_record is False
    # off means off: loading a trace records nothing
    n = len(s2.history.entries)
    s2.load_trace(str(_trace_csv(tmp_path / "t.csv")), name="T")
    assert len(s2.history.entries) == n
    # and on again survives too
    s2.history.auto_record = True
    s2.save(str(p))
    s3 = tk.load_session(str(p))
    assert s3.history.auto_record is True
    s3.load_trace(str(tmp_path / "t.csv"), name="T2")
    assert [e.operation for e in s3.history.entries][-1] == "load_trace"


def test_auto_record_is_saved_per_version(tmp_path):
    import evident.compat.tracekit as tk

    p = tmp_path / "v.tks"
    s = tk.Session(name="v")
    s.save(str(p))
    s.history.auto_record = False
    s.save(str(p))
    assert _info(p)["history_auto_record"] is False
    v1 = json.loads(run("session", "info", p, "--version", "1", "--json", check=0).stdout)
    assert v1.get("history_auto_record", True) is True


def test_member_is_written_only_when_off(tmp_path):
    """spec/session.md § 4.3: written only when false, never as true."""
    import evident.compat.tracekit as tk

    on, off = tmp_path / "on.tks", tmp_path / "off.tks"
    tk.Session(name="on").save(str(on), compress=False)
    s = tk.Session(name="off")
    s.history.auto_record = False
    s.save(str(off), compress=False, include_traces=False)
    assert b"history_auto_record" not in on.read_bytes()
    assert b'"history_auto_record":false' in off.read_bytes()
    assert tk.load_session(str(off)).history.auto_record is False


def test_absent_means_true(tmp_path):
    import evident.compat.tracekit as tk

    p = tmp_path / "b.tks"
    tk.Session(name="b").save(str(p))
    assert tk.load_session(str(p)).history.auto_record is True
    if os.environ.get("EVIDENT_CLI"):
        info = _info(p)
        assert info.get("history_auto_record", True) is True


def test_session_info_gives_auto_record_off(tmp_path):
    import evident.compat.tracekit as tk

    s = tk.Session(name="c")
    s.history.auto_record = False
    p = tmp_path / "c.tks"
    s.save(str(p))
    assert _info(p)["history_auto_record"] is False
