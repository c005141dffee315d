"""Seed 004 (OpenParallax's "Audit Python API" page): every example on the
page, with ``openparallax_audit`` replaced by ``evident.compat.openparallax``
and nothing else changed, checked against what the page says it does.

The page's signatures (``AuditLogger(path: str)``, ``logger.log(...)``,
``verify_integrity(path)``, ``read_entries(path, query)``, ``Query(...)``,
``AuditEntry``) are run with concrete values. The ``pip install
openparallax-audit`` line is not an example of the API and is not run.
Each test runs in its own temporary directory (``workdir`` in conftest), so
the page's relative ``./audit.jsonl`` is a fresh file.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import List

import pytest

import evident

AUDIT = "./audit.jsonl"


def _records(path: str = AUDIT) -> List[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def _entries(path: str = AUDIT) -> List[dict]:
    """The file's entry records (an evident log also holds a genesis record)."""
    return [r for r in _records(path) if r["kind"] == "entry"]


def _write_page_log() -> None:
    """The page's ``log`` example, used as the starting point of later ones."""
    from evident.compat.openparallax import AuditLogger, EventType

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


# --- AuditLogger ---------------------------------------------------------------


def test_audit_logger_creates_or_opens_and_recovers_chain(workdir: Path) -> None:
    # logger = AuditLogger(path: str)
    from evident.compat.openparallax import AuditLogger, EventType

    logger = AuditLogger("./audit.jsonl")
    assert Path("audit.jsonl").is_file()  # "Creates ... an audit log at the given path"
    logger.log(EventType.SESSION_STARTED, session_id="s")
    logger.close()
    first = _entries()[-1]

    # "If the file already exists, the logger recovers the chain hash from the last entry."
    logger = AuditLogger("./audit.jsonl")
    logger.log(EventType.SESSION_ENDED, session_id="s")
    logger.close()
    entries = _entries()
    assert [e["event_type"] for e in entries] == ["SESSION_STARTED", "SESSION_ENDED"]
    assert entries[1]["prev"] == first["hash"]
    assert entries[0] == first  # nothing rewritten
    from evident.compat.openparallax import verify_integrity

    assert verify_integrity("./audit.jsonl").valid


# --- log ---------------------------------------------------------------------


def test_log_signature_every_parameter(workdir: Path) -> None:
    # logger.log(event_type, action_type="", session_id="", details=None, otr=False, source="")
    from evident.compat.openparallax import AuditLogger, EventType, Query, read_entries

    logger = AuditLogger("./audit.jsonl")
    before = int(time.time() * 1000)
    logger.log(
        event_type=EventType.ACTION_EXECUTED,
        action_type="write_file",
        session_id="sess-009",
        details='{"path": "/tmp/x", "bytes": 12}',  # a str: the details JSON
        otr=True,
        source="pipeline",
    )
    logger.log(event_type=EventType.CONFIG_CHANGED)  # every other parameter defaulted
    after = int(time.time() * 1000)
    logger.close()

    newest, oldest = read_entries("./audit.jsonl")
    assert oldest.event_type is EventType.ACTION_EXECUTED
    assert (oldest.action_type, oldest.session_id, oldest.otr, oldest.source) == (
        "write_file",
        "sess-009",
        True,
        "pipeline",
    )
    assert oldest.details == {"path": "/tmp/x", "bytes": 12}
    assert before - 1 <= oldest.timestamp <= after + 1  # Unix milliseconds
    assert newest.event_type is EventType.CONFIG_CHANGED
    assert (newest.action_type, newest.session_id, newest.otr, newest.source) == ("", "", False, "")
    assert newest.details == {}
    # "automatic hash chain computation"
    assert newest.previous_hash == oldest.hash
    assert read_entries("./audit.jsonl", Query(event_type=EventType.CONFIG_CHANGED)) == [newest]


def test_log_example(workdir: Path) -> None:
    _write_page_log()  # the page's example, verbatim apart from the import

    entries = _entries()
    assert len(entries) == 2
    assert [(e["event_type"], e["action"], e["session_id"]) for e in entries] == [
        ("ACTION_PROPOSED", "run_command", "sess-001"),
        ("ACTION_BLOCKED", "run_command", "sess-001"),
    ]
    # "If a dict, it is serialized to JSON."
    assert entries[0]["details"] == {"command": "ls -la", "working_dir": "/workspace"}
    assert entries[1]["details"] == {"command": "rm -rf /", "reason": "denied by policy"}
    # "with automatic hash chain computation"
    assert entries[1]["prev"] == entries[0]["hash"]
    assert evident.verify(AUDIT).valid


def test_close(workdir: Path) -> None:
    from evident.compat.openparallax import AuditError, AuditLogger, EventType

    logger = AuditLogger("./audit.jsonl")
    logger.log(EventType.ACTION_APPROVED, "write_file")
    logger.close()
    # "Flushes and closes": the entry is in the file once close returns.
    assert [e["event_type"] for e in _entries()] == ["ACTION_APPROVED"]
    # "The logger should not be used after calling close."
    with pytest.raises(AuditError):
        logger.log(EventType.ACTION_APPROVED, "write_file")
    assert len(_entries()) == 1


def test_context_manager(workdir: Path) -> None:
    from evident.compat.openparallax import AuditError, AuditLogger, EventType

    with AuditLogger("./audit.jsonl") as logger:
        logger.log(event_type=EventType.ACTION_EXECUTED, action_type="read_file")
    # Automatically closed on exit.

    assert [(e["event_type"], e["action"]) for e in _entries()] == [
        ("ACTION_EXECUTED", "read_file")
    ]
    with pytest.raises(AuditError):  # closed
        logger.log(event_type=EventType.ACTION_EXECUTED, action_type="read_file")


# --- EventType -----------------------------------------------------------------


def test_event_type_codes(workdir: Path) -> None:
    from evident.compat.openparallax import EventType

    page = {
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
    assert {e.name: int(e) for e in EventType} == page
    assert EventType.ACTION_PROPOSED == 1
    assert EventType.SANDBOX_CANARY_RESULT == 23

    # each code round-trips through a log
    from evident.compat.openparallax import AuditLogger, read_entries

    with AuditLogger("./audit.jsonl") as logger:
        for e in EventType:
            logger.log(e)
    back = [e.event_type for e in reversed(read_entries("./audit.jsonl"))]
    assert back == list(EventType) and all(isinstance(t, EventType) for t in back)


# --- verify_integrity --------------------------------------------------------


def test_verify_integrity_signature_valid_log(workdir: Path) -> None:
    _write_page_log()
    from evident.compat.openparallax import verify_integrity

    result = verify_integrity("./audit.jsonl")
    # valid / entries / line (0 if valid) / error (empty if valid)
    assert result.valid is True
    assert result.entries == 2
    assert result.line == 0
    assert result.error == ""


def test_verify_integrity_example_tampered(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_page_log()
    # a third entry, so the damage is in the middle of the log
    from evident.compat.openparallax import AuditLogger, EventType

    with AuditLogger("./audit.jsonl") as logger:
        logger.log(EventType.ACTION_EXECUTED, "run_command", "sess-001", {"command": "ls"})

    # Tamper: the blocked command now reads "echo hi".
    lines = Path("audit.jsonl").read_text().splitlines(keepends=True)
    tampered = next(i for i, line in enumerate(lines) if '"rm -rf /"' in line)
    lines[tampered] = lines[tampered].replace('"rm -rf /"', '"echo hi"')
    Path("audit.jsonl").write_text("".join(lines))
    tampered_line = tampered + 1  # 1-based line number in the file

    from evident.compat.openparallax import verify_integrity

    result = verify_integrity("./audit.jsonl")
    if not result.valid:
        print(f"Tampered at line {result.line}: {result.error}")

    assert result.valid is False
    assert result.line == tampered_line  # the first violation
    assert result.error
    assert capsys.readouterr().out == f"Tampered at line {tampered_line}: {result.error}\n"


def test_verify_integrity_first_violation_when_several(workdir: Path) -> None:
    from evident.compat.openparallax import AuditLogger, EventType, verify_integrity

    with AuditLogger("./audit.jsonl") as logger:
        for i in range(5):
            logger.log(EventType.ACTION_EXECUTED, "read_file", details={"i": i})
    lines = Path("audit.jsonl").read_text().splitlines(keepends=True)
    hit = [i for i, line in enumerate(lines) if '"i":1' in line or '"i":3' in line]
    assert len(hit) == 2
    for i in hit:
        lines[i] = lines[i].replace('"i":', '"i":9')
    Path("audit.jsonl").write_text("".join(lines))
    result = verify_integrity("./audit.jsonl")
    assert not result.valid
    assert result.line == hit[0] + 1  # line of the FIRST violation


# --- read_entries / Query / AuditEntry -----------------------------------------


def test_read_entries_signature_no_query_newest_first(workdir: Path) -> None:
    _write_page_log()
    from evident.compat.openparallax import AuditEntry, EventType, read_entries

    entries = read_entries("./audit.jsonl")  # query: Query = None
    assert isinstance(entries, list) and all(isinstance(e, AuditEntry) for e in entries)
    # "reverse chronological order (most recent first)"
    assert [e.event_type for e in entries] == [EventType.ACTION_BLOCKED, EventType.ACTION_PROPOSED]
    assert entries[0].timestamp >= entries[1].timestamp


def test_query_defaults(workdir: Path) -> None:
    from evident.compat.openparallax import Query

    q = Query()
    assert (q.session_id, q.event_type, q.limit) == ("", 0, 0)
    q = Query(session_id="sess-001", event_type=4, limit=3)
    assert (q.session_id, q.event_type, q.limit) == ("sess-001", 4, 3)


def test_audit_entry_fields(workdir: Path) -> None:
    _write_page_log()
    from evident.compat.openparallax import AuditEntry, EventType, read_entries

    assert dataclasses.is_dataclass(AuditEntry)
    assert [f.name for f in dataclasses.fields(AuditEntry)] == [
        "id",
        "event_type",
        "timestamp",
        "session_id",
        "action_type",
        "details",
        "previous_hash",
        "hash",
        "otr",
        "source",
    ]
    raw = _entries()
    blocked, proposed = read_entries("./audit.jsonl")
    for entry, rec in ((proposed, raw[0]), (blocked, raw[1])):
        assert isinstance(entry.id, str) and entry.id
        assert isinstance(entry.event_type, EventType)
        assert entry.event_type.name == rec["event_type"]
        assert isinstance(entry.timestamp, int)
        assert abs(entry.timestamp - int(time.time() * 1000)) < 60_000  # Unix milliseconds
        assert (entry.session_id, entry.action_type) == (rec["session_id"], rec["action"])
        assert entry.details == rec["details"] and isinstance(entry.details, dict)
        assert (entry.previous_hash, entry.hash) == (rec["prev"], rec["hash"])
        assert (entry.otr, entry.source) == (False, "")
    assert blocked.previous_hash == proposed.hash
    assert proposed.id != blocked.id


def test_read_entries_examples(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from evident.compat.openparallax import AuditLogger, EventType

    # A log with more than 10 entries, two sessions, blocked actions in both.
    with AuditLogger("./audit.jsonl") as logger:
        for i in range(12):
            session = "sess-001" if i % 2 == 0 else "sess-002"
            event = EventType.ACTION_BLOCKED if i % 3 == 0 else EventType.ACTION_EXECUTED
            logger.log(event, f"act{i}", session, {"i": i})
    # i: 0..11; sess-001 = even i; blocked = i % 3 == 0 -> sess-001 blocked: 0, 6

    from evident.compat.openparallax import EventType, Query, read_entries

    # Most recent 10 entries.
    entries = read_entries("./audit.jsonl", Query(limit=10))

    # All blocked actions in a session.
    blocked = read_entries(
        "./audit.jsonl",
        Query(
            session_id="sess-001",
            event_type=EventType.ACTION_BLOCKED,
        ),
    )

    # Iterate over results.
    for entry in entries:
        print(f"{entry.action_type}: {entry.details}")

    assert [e.details["i"] for e in entries] == list(range(11, 1, -1))
    assert [e.details["i"] for e in blocked] == [6, 0]
    assert all(
        e.session_id == "sess-001" and e.event_type is EventType.ACTION_BLOCKED for e in blocked
    )
    assert capsys.readouterr().out == "".join(f"act{i}: {{'i': {i}}}\n" for i in range(11, 1, -1))


# --- Error Handling ---------------------------------------------------------------


def test_error_handling_example(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert not Path("/nonexistent").exists()
    from evident.compat.openparallax import AuditLogger  # imported earlier on the page
    from evident.compat.openparallax import AuditError

    try:
        logger = AuditLogger("/nonexistent/path/audit.jsonl")
    except AuditError as e:
        print(f"Failed to create logger: {e}")
    else:  # pragma: no cover - the page says this fails
        logger.close()
        pytest.fail("AuditLogger on a missing directory did not raise AuditError")

    out = capsys.readouterr().out
    assert out.startswith("Failed to create logger: ")
    assert "/nonexistent/path/audit.jsonl" in out  # the error names the file
    assert not Path("/nonexistent").exists()  # nothing was created


def test_all_functions_raise_audit_error(workdir: Path) -> None:
    # "All functions raise AuditError on failure"
    from evident.compat.openparallax import AuditError, AuditLogger, read_entries, verify_integrity

    with pytest.raises(AuditError, match="missing.jsonl"):
        verify_integrity("./missing.jsonl")
    with pytest.raises(AuditError, match="missing.jsonl"):
        read_entries("./missing.jsonl")
    with AuditLogger("./audit.jsonl") as logger:
        with pytest.raises(AuditError):
            logger.log(99)  # not an EventType
    assert _entries() == []
    assert issubclass(AuditError, Exception)
