"""read_entries / iter_entries: every filter, order, limit, damaged records."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import evident

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)

ROWS = [
    # event_type, action, actor, session, source
    ("ACTION_PROPOSED", "run_command", "alice", "s1", "agent"),
    ("ACTION_BLOCKED", "run_command", "alice", "s1", "shield"),
    ("ACTION_EXECUTED", "read_file", "bob", "s2", "agent"),
    ("ACTION_EXECUTED", "write_file", "alice", "s2", "agent"),
    ("SESSION_ENDED", "", "bob", "s1", "runtime"),
]


@pytest.fixture
def populated(any_log_path: Path) -> Path:
    with evident.AuditLog(any_log_path) as log:
        for i, (et, action, actor, session, source) in enumerate(ROWS):
            log.log(
                et,
                action,
                actor=actor,
                session_id=session,
                source=source,
                ts=T0 + timedelta(minutes=i),
            )
    return any_log_path


def actions(path: Path, q: evident.Query | None = None) -> list:
    return [e.seq for e in evident.read_entries(path, q)]


def test_no_query_reads_everything_oldest_first(populated: Path) -> None:
    assert actions(populated) == [1, 2, 3, 4, 5]
    assert actions(populated, evident.Query()) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "query, want",
    [
        (evident.Query(session_id="s1"), [1, 2, 5]),
        (evident.Query(event_type="ACTION_EXECUTED"), [3, 4]),
        (evident.Query(action="run_command"), [1, 2]),
        (evident.Query(actor="bob"), [3, 5]),
        (evident.Query(source="agent"), [1, 3, 4]),
        (evident.Query(since=T0 + timedelta(minutes=2)), [3, 4, 5]),
        (evident.Query(until=T0 + timedelta(minutes=2)), [1, 2]),
        (evident.Query(since="2024-05-01T12:01:00Z", until="2024-05-01T12:03:00Z"), [2, 3]),
        (
            evident.Query(
                since=(T0 + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=-5)))
            ),
            [2, 3, 4, 5],
        ),
        (evident.Query(seq_min=2, seq_max=4), [2, 3, 4]),
        (evident.Query(seq_min=0), [1, 2, 3, 4, 5]),
        (evident.Query(newest_first=True), [5, 4, 3, 2, 1]),
        (evident.Query(newest_first=True, limit=2), [5, 4]),
        (evident.Query(limit=2), [1, 2]),
        (evident.Query(limit=0), []),
        (evident.Query(session_id="s1", actor="alice", newest_first=True), [2, 1]),
        (evident.Query(session_id="nope"), []),
    ],
)
def test_filters(populated: Path, query: evident.Query, want: list) -> None:
    assert actions(populated, query) == want


def test_iter_entries_is_lazy_and_closeable(populated: Path) -> None:
    it = evident.iter_entries(populated, evident.Query(newest_first=True))
    assert iter(it) is it
    assert next(it).seq == 5
    assert next(it).seq == 4
    it.close()
    assert it.closed
    with pytest.raises(StopIteration):
        next(it)
    with evident.iter_entries(populated) as it2:
        assert [e.seq for e in it2] == [1, 2, 3, 4, 5]
        assert it2.closed  # freed as soon as the iteration ended
    with pytest.raises(StopIteration):
        next(it2)


def test_entries_are_timezone_aware(populated: Path) -> None:
    e = evident.read_entries(populated)[1]
    assert e.ts == T0 + timedelta(minutes=1)
    assert e.ts.tzinfo is not None


def test_query_does_not_return_a_torn_tail(log_path: Path) -> None:
    with evident.AuditLog(log_path) as log:
        log.log("A")
    with open(log_path, "ab") as f:
        f.write(b'{"v":1,"seq":2,"pr')
    assert actions(log_path) == [1]
    assert actions(log_path, evident.Query(newest_first=True)) == [1]


def test_damaged_record_raises_and_iteration_goes_on(log_path: Path) -> None:
    with evident.AuditLog(log_path) as log:
        for i in range(3):
            log.log("A", str(i))
    lines = log_path.read_bytes().splitlines(keepends=True)
    lines[2] = b"this line is garbage\n"  # entry seq 2
    log_path.write_bytes(b"".join(lines))
    with pytest.raises(evident.MalformedLogError) as e:
        evident.read_entries(log_path)
    assert str(log_path) in str(e.value)
    it = evident.iter_entries(log_path)
    assert next(it).seq == 1
    with pytest.raises(evident.MalformedLogError):
        next(it)
    assert next(it).seq == 3  # the JSONL framing allows going on
    with pytest.raises(StopIteration):
        next(it)


def test_reading_while_a_writer_is_open(log_path: Path) -> None:
    with evident.AuditLog(log_path) as log:
        log.log("A")
        assert actions(log_path) == [1]
        log.log("B")
        assert actions(log_path, evident.Query(newest_first=True, limit=1)) == [2]


def test_entries_with_details_are_hashable_and_equal_entries_hash_alike(any_log_path: Path) -> None:
    # Entry is immutable and compares by its fields; details (a dict) made
    # hash() fail, so entries could not go into a set or be dict keys.
    with evident.AuditLog(any_log_path) as log:
        for i in range(4):
            log.log("ACTION_EXECUTED", "run", details={"i": i, "args": [i, {"k": "v"}]})
    first = evident.read_entries(any_log_path)
    again = evident.read_entries(any_log_path)
    assert {hash(a) for a in first} == {hash(b) for b in again}
    assert len(set(first) | set(again)) == len(first) == 4
    assert {e: e.seq for e in first}[again[2]] == 3
