"""Clean-room acceptance tests for seed 004 (OpenParallax audit, Python API).

Every documented example of the seed document is run with only its import
line changed (``openparallax_audit`` -> ``evident.compat.openparallax``), and
what the document states is asserted: the JSONL file and its hash chain, the
EventType codes, log's parameters and defaults, verify_integrity's
VerifyResult (and the first violation's line), read_entries with a Query
(reverse chronological order, filters, limit), AuditEntry's fields, and
AuditError.  Each test runs in its own working directory (conftest.py), so
the relative ``./audit.jsonl`` of the document is a fresh file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from pathlib import Path

import pytest

from evident.compat.openparallax import (
    AuditEntry,
    AuditError,
    AuditLogger,
    EventType,
    Query,
    read_entries,
    verify_integrity,
)

LOG = "./audit.jsonl"


def _lines(path: str = LOG) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line for line in f.read().splitlines() if line.strip()]


def _records(path: str = LOG) -> list[dict]:
    return [json.loads(line) for line in _lines(path)]


def _write_lines(lines: list[str], path: str = LOG) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def _entry_line_no(text: str, path: str = LOG) -> int:
    """1-based number of the (only) line of the file that contains ``text``."""
    hits = [i for i, line in enumerate(_lines(path), 1) if text in line]
    assert len(hits) == 1, (text, hits)
    return hits[0]


def _details_in(rec: dict):
    """The details a JSONL line holds, whatever the layout (a ``details``
    object or a ``details_json`` text)."""
    if "details_json" in rec:
        return json.loads(rec["details_json"])
    return rec.get("details")


def _doc_log_example() -> None:
    """The document's `log` example, verbatim (apart from the import)."""
    logger = AuditLogger("./audit.jsonl")

    logger.log(
        event_type=EventType.ACTION_PROPOSED,
        action_type="run_command",
        session_id="sess-001",
        details={"command": "ls -la", "working_dir": "/workspace"},
    )

    logger.log(
        event_type=EventType.ACTION_BLOCKED,
        action_type="run_command",
        session_id="sess-001",
        details={"command": "rm -rf /", "reason": "denied by policy"},
    )

    logger.close()


def _log_n(n: int, path: str = LOG, **kw) -> None:
    with AuditLogger(path) as logger:
        for i in range(n):
            logger.log(
                event_type=kw.get("event_type", EventType.ACTION_EXECUTED),
                action_type=f"act-{i}",
                session_id=kw.get("session_id", "s"),
                details={"i": i},
            )


# ---------------------------------------------------------------------------
# AuditLogger: creation, log, close, context manager
# ---------------------------------------------------------------------------


def test_constructor_creates_the_log_file():
    """"Creates or opens an audit log at the given path." """
    logger = AuditLogger("./audit.jsonl")
    try:
        assert os.path.exists("./audit.jsonl")
    finally:
        logger.close()
    # Nothing logged: a valid, empty chain.
    result = verify_integrity("./audit.jsonl")
    assert result.valid is True
    assert result.entries == 0


def test_log_example_writes_a_chained_jsonl_file():
    """The `log` example: a JSONL file (one JSON object a line) holding the
    two entries, linked by a SHA-256 hash chain.  The document does not fix
    the line layout, so only what it states is checked here."""
    _doc_log_example()

    records = _records()
    assert all(isinstance(rec, dict) for rec in records)
    # "If a dict, it is serialized to JSON": each details dict is in a line.
    details = [_details_in(rec) for rec in records]
    assert {"command": "ls -la", "working_dir": "/workspace"} in details
    assert {"command": "rm -rf /", "reason": "denied by policy"} in details
    assert _entry_line_no('"ls -la"') < _entry_line_no('"rm -rf /"')

    newest, oldest = read_entries("./audit.jsonl")
    for entry in (newest, oldest):
        # A SHA-256 hash, in hex, written in the entry's line.
        assert len(entry.hash) == 64
        int(entry.hash, 16)
    assert newest.previous_hash == oldest.hash
    assert newest.hash != oldest.hash
    assert any(newest.hash in line for line in _lines())


def test_log_example_entries_read_back_and_verify():
    _doc_log_example()
    result = verify_integrity("./audit.jsonl")
    assert result.valid is True
    assert result.entries == 2
    assert result.line == 0
    assert result.error == ""

    entries = read_entries("./audit.jsonl")
    assert [e.event_type for e in entries] == [EventType.ACTION_BLOCKED,
                                               EventType.ACTION_PROPOSED]
    assert entries[0].details == {"command": "rm -rf /", "reason": "denied by policy"}
    assert entries[1].details == {"command": "ls -la", "working_dir": "/workspace"}
    assert entries[0].previous_hash == entries[1].hash


def test_log_defaults():
    """log(event_type) alone: action_type "", session_id "", otr False, source ""."""
    with AuditLogger(LOG) as logger:
        logger.log(EventType.SESSION_STARTED)
    (entry,) = read_entries(LOG)
    assert entry.event_type == EventType.SESSION_STARTED
    assert entry.action_type == ""
    assert entry.session_id == ""
    assert entry.otr is False
    assert entry.source == ""
    assert verify_integrity(LOG).valid is True


def test_log_otr_and_source_round_trip():
    with AuditLogger(LOG) as logger:
        logger.log(
            event_type=EventType.ACTION_EXECUTED,
            action_type="write_file",
            session_id="sess-9",
            details={"path": "/tmp/x"},
            otr=True,
            source="pipeline",
        )
    (entry,) = read_entries(LOG)
    assert entry.otr is True
    assert entry.source == "pipeline"
    assert entry.action_type == "write_file"
    assert entry.session_id == "sess-9"
    assert entry.details == {"path": "/tmp/x"}
    assert verify_integrity(LOG).valid is True


def test_log_accepts_details_as_a_json_string():
    """details may be a str; AuditEntry.details is "parsed from details_json"."""
    with AuditLogger(LOG) as logger:
        logger.log(EventType.CONFIG_CHANGED, action_type="set",
                   details='{"key": "limit", "value": 5}')
    (entry,) = read_entries(LOG)
    assert entry.details == {"key": "limit", "value": 5}
    assert {"key": "limit", "value": 5} in [_details_in(r) for r in _records()]
    assert verify_integrity(LOG).valid is True


def test_log_without_details_reads_back_an_empty_dict():
    """AuditEntry.details is a dict, also when log() had no details."""
    with AuditLogger(LOG) as logger:
        logger.log(EventType.CANARY_VERIFIED, action_type="check")
    (entry,) = read_entries(LOG)
    assert isinstance(entry.details, dict)
    assert entry.details == {}


def test_log_details_dict_unicode_and_nesting_round_trip():
    details = {"path": "/données/été.txt", "argv": ["rm", "-rf", "/"],
               "nested": {"n": 1, "ok": True, "none": None}, "emoji": "\u2603"}
    with AuditLogger(LOG) as logger:
        logger.log(EventType.ACTION_PROPOSED, "run_command", "s", details)
    (entry,) = read_entries(LOG)
    assert entry.details == details
    assert verify_integrity(LOG).valid is True


def test_log_positional_parameter_order():
    """The signature's order: event_type, action_type, session_id, details, otr, source."""
    with AuditLogger(LOG) as logger:
        logger.log(EventType.ACTION_FAILED, "run_command", "sess-2",
                   {"exit": 1}, True, "shell")
    (entry,) = read_entries(LOG)
    assert (entry.event_type, entry.action_type, entry.session_id, entry.details,
            entry.otr, entry.source) == (EventType.ACTION_FAILED, "run_command",
                                         "sess-2", {"exit": 1}, True, "shell")


def test_context_manager_example():
    """The Context Manager example: the entry is written, the logger closed."""
    with AuditLogger("./audit.jsonl") as logger:
        assert isinstance(logger, AuditLogger)
        logger.log(event_type=EventType.ACTION_EXECUTED, action_type="read_file")
    # Automatically closed on exit.
    (entry,) = read_entries("./audit.jsonl")
    assert entry.event_type == EventType.ACTION_EXECUTED
    assert entry.action_type == "read_file"
    assert verify_integrity("./audit.jsonl").entries == 1
    assert verify_integrity("./audit.jsonl").valid is True


def test_context_manager_closes_on_exception():
    with pytest.raises(RuntimeError):
        with AuditLogger(LOG) as logger:
            logger.log(EventType.ACTION_EXECUTED, action_type="before")
            raise RuntimeError("boom")
    (entry,) = read_entries(LOG)
    assert entry.action_type == "before"
    assert verify_integrity(LOG).valid is True


def test_close_flushes():
    """close "Flushes and closes the audit log file"."""
    logger = AuditLogger(LOG)
    for i in range(5):
        logger.log(EventType.ACTION_EVALUATED, action_type=f"a{i}")
    logger.close()
    assert len(read_entries(LOG)) == 5
    result = verify_integrity(LOG)
    assert (result.valid, result.entries) == (True, 5)


def test_log_from_several_threads_keeps_one_chain():
    """The Go core's logger is goroutine-safe (one lock around Log)."""
    import threading

    with AuditLogger(LOG) as logger:
        def work(t: int) -> None:
            for i in range(25):
                logger.log(EventType.ACTION_EXECUTED, f"t{t}-{i}", f"s{t}")

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    result = verify_integrity(LOG)
    assert (result.valid, result.entries) == (True, 100)
    entries = read_entries(LOG)
    assert len({e.action_type for e in entries}) == 100
    for newer, older in zip(entries, entries[1:]):
        assert newer.previous_hash == older.hash


def test_reopen_recovers_chain_hash_from_last_entry():
    """"If the file already exists, the logger recovers the chain hash from
    the last entry." """
    _doc_log_example()
    before = _lines()
    last_hash = read_entries("./audit.jsonl")[0].hash

    with AuditLogger("./audit.jsonl") as logger:
        logger.log(EventType.SESSION_ENDED, action_type="", session_id="sess-001")

    # The earlier lines are untouched, one line was appended.
    after = _lines()
    assert after[: len(before)] == before
    assert len(after) == len(before) + 1
    entries = read_entries("./audit.jsonl")
    assert len(entries) == 3
    assert entries[0].event_type == EventType.SESSION_ENDED
    assert entries[0].previous_hash == last_hash
    result = verify_integrity("./audit.jsonl")
    assert (result.valid, result.entries, result.line, result.error) == (True, 3, 0, "")


def test_reopen_several_times():
    for round_ in range(3):
        with AuditLogger(LOG) as logger:
            logger.log(EventType.ACTION_PROPOSED, action_type=f"r{round_}")
            logger.log(EventType.ACTION_APPROVED, action_type=f"r{round_}")
    entries = list(reversed(read_entries(LOG)))
    assert len(entries) == 6
    assert [e.action_type for e in entries] == ["r0", "r0", "r1", "r1", "r2", "r2"]
    for prev, cur in zip(entries, entries[1:]):
        assert cur.previous_hash == prev.hash
    result = verify_integrity(LOG)
    assert (result.valid, result.entries) == (True, 6)


# ---------------------------------------------------------------------------
# EventType
# ---------------------------------------------------------------------------

EVENT_CODES = {
    "ACTION_PROPOSED": 1,
    "ACTION_EVALUATED": 2,
    "ACTION_APPROVED": 3,
    "ACTION_BLOCKED": 4,
    "ACTION_EXECUTED": 5,
    "ACTION_FAILED": 6,
    "SHIELD_ERROR": 7,
    "CANARY_VERIFIED": 8,
    "CANARY_MISSING": 9,
    "RATE_LIMIT_HIT": 10,
    "BUDGET_EXHAUSTED": 11,
    "SELF_PROTECTION": 12,
    "TRANSACTION_BEGIN": 13,
    "TRANSACTION_COMMIT": 14,
    "TRANSACTION_ROLLBACK": 15,
    "INTEGRITY_VIOLATION": 16,
    "SESSION_STARTED": 17,
    "SESSION_ENDED": 18,
    "CONFIG_CHANGED": 19,
    "IFC_CLASSIFIED": 20,
    "CHRONICLE_SNAPSHOT": 21,
    "CHRONICLE_SNAPSHOT_FAILED": 22,
    "SANDBOX_CANARY_RESULT": 23,
}


def test_event_type_codes():
    for name, code in EVENT_CODES.items():
        member = getattr(EventType, name)
        assert int(member) == code, name
        assert member == code, name


def test_every_event_type_is_logged_and_read_back():
    with AuditLogger(LOG) as logger:
        for name in EVENT_CODES:
            logger.log(getattr(EventType, name), action_type=name.lower())
    entries = read_entries(LOG)
    assert [e.event_type for e in reversed(entries)] == [
        getattr(EventType, n) for n in EVENT_CODES]
    assert [int(e.event_type) for e in reversed(entries)] == list(EVENT_CODES.values())
    assert all(isinstance(e.event_type, EventType) for e in entries)
    for name, code in EVENT_CODES.items():
        (hit,) = read_entries(LOG, Query(event_type=getattr(EventType, name)))
        assert hit.action_type == name.lower()
    assert verify_integrity(LOG).entries == len(EVENT_CODES)


# ---------------------------------------------------------------------------
# verify_integrity
# ---------------------------------------------------------------------------


def test_verify_result_fields_on_a_valid_log():
    _log_n(4)
    result = verify_integrity(LOG)
    assert isinstance(result.valid, bool) and result.valid is True
    assert isinstance(result.entries, int) and result.entries == 4
    assert isinstance(result.line, int) and result.line == 0
    assert isinstance(result.error, str) and result.error == ""


def test_verify_returns_a_verify_result():
    _log_n(1)
    result = verify_integrity(LOG)
    assert type(result).__name__ == "VerifyResult"


def test_verify_example_prints_nothing_when_valid(capsys):
    _doc_log_example()
    result = verify_integrity("./audit.jsonl")
    if not result.valid:
        print(f"Tampered at line {result.line}: {result.error}")
    assert capsys.readouterr().out == ""


def _tamper(old: str, new: str) -> int:
    """Replace ``old`` by ``new`` in the one line holding it; its line number."""
    lines = _lines()
    n = _entry_line_no(old)
    lines[n - 1] = lines[n - 1].replace(old, new)
    _write_lines(lines)
    return n


def test_verify_example_reports_tampered_line(capsys):
    """Edit the details of the middle entry: the first violation is its line."""
    _log_n(3)
    lines = _lines()
    n = _entry_line_no('"act-1"')
    # details {"i": 1} -> {"i": 9}, whether stored as an object or a JSON text.
    edited = re.sub(r'("i\\?"\s*:\s*)1\b', r"\g<1>9", lines[n - 1])
    assert edited != lines[n - 1]
    lines[n - 1] = edited
    _write_lines(lines)

    result = verify_integrity("./audit.jsonl")
    if not result.valid:
        print(f"Tampered at line {result.line}: {result.error}")

    assert result.valid is False
    assert result.line == n
    assert isinstance(result.error, str) and result.error != ""
    out = capsys.readouterr().out
    assert out.startswith(f"Tampered at line {n}: ")
    assert out.strip() != f"Tampered at line {n}:"


def test_verify_reports_the_first_of_several_violations():
    _log_n(5)
    late = _tamper('"act-3"', '"act-X"')
    early = _tamper('"act-1"', '"act-Y"')
    assert early < late
    result = verify_integrity(LOG)
    assert (result.valid, result.line) == (False, early)


def test_verify_tampered_first_entry():
    _log_n(3)
    n = _tamper('"act-0"', '"something_else"')
    result = verify_integrity(LOG)
    assert result.valid is False
    assert result.line == n
    assert result.error != ""


def test_verify_tampered_last_entry():
    with AuditLogger(LOG) as logger:
        for i in range(4):
            logger.log(EventType.ACTION_EXECUTED, f"act-{i}", f"sess-{i}")
    n = _tamper('"sess-3"', '"forged"')
    assert n == len(_lines())
    result = verify_integrity(LOG)
    assert result.valid is False
    assert result.line == n
    assert result.error != ""


def test_verify_tampered_event_type_detected():
    """Turning the blocked action into an approved one is caught."""
    _doc_log_example()
    lines = _lines()
    n = _entry_line_no('"rm -rf /"')
    rec = json.loads(lines[n - 1])
    assert rec["event_type"] in (4, "ACTION_BLOCKED")
    rec["event_type"] = 3 if rec["event_type"] == 4 else "ACTION_APPROVED"
    lines[n - 1] = json.dumps(rec, separators=(",", ":"))
    _write_lines(lines)
    result = verify_integrity(LOG)
    assert (result.valid, result.line) == (False, n)


def test_verify_rewritten_hash_is_caught():
    """Replacing an entry's hash breaks that entry or the next one's link."""
    _log_n(3)
    target = read_entries(LOG)[-1].hash  # the first entry's hash
    lines = _lines()
    n = _entry_line_no('"act-0"')
    lines[n - 1] = lines[n - 1].replace(target, "0" * 64)
    _write_lines(lines)
    result = verify_integrity(LOG)
    assert result.valid is False
    assert result.line in (n, n + 1)


def test_verify_deleted_middle_entry():
    _log_n(4)
    lines = _lines()
    n = _entry_line_no('"act-1"')
    del lines[n - 1]
    _write_lines(lines)
    result = verify_integrity(LOG)
    assert result.valid is False
    # The next entry's line moved up to n, and its link no longer holds.
    assert result.line == n
    assert result.error != ""


def test_verify_swapped_entries():
    _log_n(4)
    lines = _lines()
    a, b = _entry_line_no('"act-1"'), _entry_line_no('"act-2"')
    lines[a - 1], lines[b - 1] = lines[b - 1], lines[a - 1]
    _write_lines(lines)
    result = verify_integrity(LOG)
    assert result.valid is False
    assert result.line == min(a, b)


def test_verify_malformed_line_is_a_violation_at_that_line():
    _log_n(3)
    lines = _lines()
    n = _entry_line_no('"act-1"')
    lines[n - 1] = lines[n - 1][: len(lines[n - 1]) // 2]  # a line cut in half
    _write_lines(lines)
    result = verify_integrity(LOG)
    assert result.valid is False
    assert result.line == n
    assert result.error != ""


def test_verify_torn_last_line_is_reported():
    _log_n(3)
    lines = _lines()
    n = _entry_line_no('"act-2"')
    assert n == len(lines)
    lines[n - 1] = lines[n - 1][: len(lines[n - 1]) // 2]
    _write_lines(lines)
    result = verify_integrity(LOG)
    assert result.valid is False
    assert result.line == n


def test_verify_entries_counts_the_whole_file():
    """"Reads the entire audit log" - entries counts every line."""
    _log_n(25)
    result = verify_integrity(LOG)
    assert (result.valid, result.entries) == (True, 25)


def test_existing_empty_file_becomes_the_log():
    """"Creates or opens an audit log at the given path": an existing empty
    file (``touch``, ``tempfile``) has no chain to recover, so the logger
    starts the chain in it (evident's ``adopt_empty``, on in this module;
    evident itself refuses an empty file unless asked). Before that, it
    reads as no entries."""
    Path(LOG).write_bytes(b"")
    assert read_entries(LOG) == []
    with AuditLogger(LOG) as logger:
        logger.log(EventType.SESSION_STARTED, session_id="s")
    result = verify_integrity(LOG)
    assert (result.valid, result.entries) == (True, 1)
    assert [e.event_type for e in read_entries(LOG)] == [EventType.SESSION_STARTED]


def test_verify_missing_file_raises_audit_error():
    """"All functions raise AuditError on failure"."""
    with pytest.raises(AuditError):
        verify_integrity("./does-not-exist.jsonl")


# ---------------------------------------------------------------------------
# read_entries and Query
# ---------------------------------------------------------------------------


def test_read_entries_reverse_chronological():
    _log_n(5)
    entries = read_entries(LOG)
    assert isinstance(entries, list)
    assert len(entries) == 5
    assert [e.action_type for e in entries] == [f"act-{i}" for i in range(4, -1, -1)]
    assert [e.details for e in entries] == [{"i": i} for i in range(4, -1, -1)]
    stamps = [e.timestamp for e in entries]
    assert stamps == sorted(stamps, reverse=True)


def test_audit_entry_fields_and_types():
    before = int(time.time() * 1000)
    _doc_log_example()
    after = int(time.time() * 1000)
    entries = read_entries(LOG)
    for entry in entries:
        assert isinstance(entry, AuditEntry)
        assert dataclasses.is_dataclass(entry)
        names = {f.name for f in dataclasses.fields(entry)}
        assert {"id", "event_type", "timestamp", "session_id", "action_type",
                "details", "previous_hash", "hash", "otr", "source"} <= names
        assert isinstance(entry.id, str) and entry.id
        assert isinstance(entry.event_type, EventType)
        # Unix milliseconds.
        assert isinstance(entry.timestamp, int) and not isinstance(entry.timestamp, bool)
        assert before - 1000 <= entry.timestamp <= after + 1000
        assert entry.session_id == "sess-001"
        assert entry.action_type == "run_command"
        assert isinstance(entry.details, dict)
        assert isinstance(entry.previous_hash, str)
        assert isinstance(entry.hash, str)
        assert entry.otr is False
        assert entry.source == ""
        # The entry's hash is written in the file.
        assert any(entry.hash in line for line in _lines())
    assert entries[0].id != entries[1].id


def test_query_defaults():
    q = Query()
    assert q.session_id == ""
    assert q.event_type == 0
    assert q.limit == 0


def test_query_limit_example_most_recent_10():
    """# Most recent 10 entries."""
    _log_n(15)
    entries = read_entries("./audit.jsonl", Query(limit=10))
    assert len(entries) == 10
    assert [e.action_type for e in entries] == [f"act-{i}" for i in range(14, 4, -1)]


def test_query_limit_larger_than_log():
    _log_n(3)
    entries = read_entries(LOG, Query(limit=10))
    assert len(entries) == 3


def test_query_blocked_in_session_example():
    """# All blocked actions in a session."""
    with AuditLogger(LOG) as logger:
        logger.log(EventType.ACTION_BLOCKED, "run_command", "sess-001", {"n": 1})
        logger.log(EventType.ACTION_PROPOSED, "run_command", "sess-001", {"n": 2})
        logger.log(EventType.ACTION_BLOCKED, "run_command", "sess-002", {"n": 3})
        logger.log(EventType.ACTION_BLOCKED, "write_file", "sess-001", {"n": 4})
        logger.log(EventType.ACTION_EXECUTED, "read_file", "sess-001", {"n": 5})

    blocked = read_entries("./audit.jsonl", Query(
        session_id="sess-001",
        event_type=EventType.ACTION_BLOCKED,
    ))
    assert [e.details["n"] for e in blocked] == [4, 1]
    assert all(e.session_id == "sess-001" for e in blocked)
    assert all(e.event_type == EventType.ACTION_BLOCKED for e in blocked)


def test_query_session_only_and_event_type_only():
    with AuditLogger(LOG) as logger:
        logger.log(EventType.ACTION_BLOCKED, "a", "s1")
        logger.log(EventType.ACTION_EXECUTED, "b", "s2")
        logger.log(EventType.ACTION_BLOCKED, "c", "s2")
        logger.log(EventType.ACTION_EXECUTED, "d", "s1")
    assert [e.action_type for e in read_entries(LOG, Query(session_id="s1"))] == ["d", "a"]
    assert [e.action_type for e in read_entries(
        LOG, Query(event_type=EventType.ACTION_EXECUTED))] == ["d", "b"]
    assert read_entries(LOG, Query(session_id="nobody")) == []


def test_query_filters_then_limit():
    with AuditLogger(LOG) as logger:
        for i in range(6):
            logger.log(EventType.ACTION_BLOCKED if i % 2 else EventType.ACTION_APPROVED,
                       f"x{i}", "s")
    got = read_entries(LOG, Query(event_type=EventType.ACTION_BLOCKED, limit=2))
    assert [e.action_type for e in got] == ["x5", "x3"]


def test_read_entries_query_none_and_keyword():
    _log_n(3)
    assert len(read_entries(LOG, None)) == 3
    assert len(read_entries(LOG, query=Query(limit=1))) == 1
    assert len(read_entries(path=LOG)) == 3


def test_iterate_example_prints_action_and_details(capsys):
    """# Iterate over results."""
    _doc_log_example()
    entries = read_entries("./audit.jsonl", Query(limit=10))
    for entry in entries:
        print(f"{entry.action_type}: {entry.details}")
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "run_command: " + str({"command": "rm -rf /", "reason": "denied by policy"}),
        "run_command: " + str({"command": "ls -la", "working_dir": "/workspace"}),
    ]


def test_query_positional_fields():
    """Query(session_id, event_type, limit), in the documented order."""
    with AuditLogger(LOG) as logger:
        for i in range(4):
            logger.log(EventType.ACTION_BLOCKED, f"b{i}", "sess-001")
        logger.log(EventType.ACTION_BLOCKED, "other", "sess-002")
    got = read_entries(LOG, Query("sess-001", EventType.ACTION_BLOCKED, 3))
    assert [e.action_type for e in got] == ["b3", "b2", "b1"]


def test_query_event_type_as_plain_int():
    """Query.event_type defaults to 0, so an int code is accepted."""
    _doc_log_example()
    (hit,) = read_entries(LOG, Query(event_type=4))
    assert hit.event_type == EventType.ACTION_BLOCKED
    assert read_entries(LOG, Query(event_type=0, limit=0)) == read_entries(LOG)


def test_read_entries_missing_file_raises_audit_error():
    with pytest.raises(AuditError):
        read_entries("./does-not-exist.jsonl")


# ---------------------------------------------------------------------------
# AuditError
# ---------------------------------------------------------------------------


def test_audit_error_example(capsys):
    try:
        logger = AuditLogger("/nonexistent/path/audit.jsonl")
    except AuditError as e:
        print(f"Failed to create logger: {e}")
    else:  # pragma: no cover - the example expects the failure
        logger.close()
        pytest.fail("AuditLogger on a missing directory did not raise AuditError")
    out = capsys.readouterr().out
    assert out.startswith("Failed to create logger: ")
    assert out.strip() != "Failed to create logger:"
    assert not os.path.exists("/nonexistent/path/audit.jsonl")


def test_log_details_not_serializable_raises_audit_error():
    """A details dict is serialized to JSON; when it cannot be, log fails
    with AuditError ("All functions raise AuditError on failure")."""
    import datetime

    with AuditLogger(LOG) as logger:
        with pytest.raises(AuditError):
            logger.log(EventType.ACTION_PROPOSED, details={"at": datetime.datetime.now()})
        logger.log(EventType.ACTION_PROPOSED, action_type="after")
    (entry,) = read_entries(LOG)
    assert entry.action_type == "after"
    assert verify_integrity(LOG).valid is True


def test_audit_error_is_an_exception():
    assert issubclass(AuditError, Exception)


def test_audit_logger_on_a_directory_raises_audit_error(tmp_path: Path):
    d = tmp_path / "adir"
    d.mkdir()
    with pytest.raises(AuditError):
        AuditLogger(str(d))
