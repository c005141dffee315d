"""AuditLog: opening options, appending every field, head, sync, recovery,
closing and the native handle's life."""

from __future__ import annotations

import gc
import json
import weakref
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import evident
from conftest import KEY_A


def test_version_matches_library() -> None:
    assert evident.__version__ == evident.library_version()
    assert Path(evident.library_path).is_file()


def test_create_append_read_verify(any_log_path: Path, framing: str) -> None:
    with evident.AuditLog(any_log_path, actor="alice", host="bench-3") as log:
        assert log.framing == framing
        assert log.alg == "sha256"
        assert log.key_id is None
        assert len(log.log_id) == 32 and int(log.log_id, 16) >= 0
        assert log.path == str(any_log_path)
        assert log.recovery == evident.Recovery(created=True, torn=[])
        assert log.head().seq == 0
        h1 = log.log("ACTION_EXECUTED", "load_trace", details={"file": "ch1.bin"})
        h2 = log.append("ACTION_EXECUTED", "compute_fft", details={"samples": 1024})
        assert (h1.seq, h2.seq) == (1, 2)
        assert h1.hash != h2.hash and len(h2.hash) == 64
        assert log.head() == h2
    entries = evident.read_entries(any_log_path)
    assert [(e.seq, e.action, e.details) for e in entries] == [
        (1, "load_trace", {"file": "ch1.bin"}),
        (2, "compute_fft", {"samples": 1024}),
    ]
    assert entries[1].prev == entries[0].hash == h1.hash
    assert entries[1].hash == h2.hash
    assert {(e.actor, e.host) for e in entries} == {("alice", "bench-3")}
    r = evident.verify(any_log_path)
    assert r.valid and r.entries == 2 and r.head == h2 and r.framing == framing


def test_every_field_round_trips(log_path: Path) -> None:
    ts = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    details = {"nested": {"list": [1, 2.5, None, True], "text": 'quote " and \\ and é'}}
    with evident.AuditLog(log_path) as log:
        head = log.log(
            "MEASUREMENT",
            "read_channel",
            session_id="sess-7",
            source="scope-driver",
            actor="bob",
            host="lab-pc",
            details=details,
            otr=True,
            success=False,
            duration_ms=12.5,
            error="overrange",
            note="channel 2",
            git_commit="abc123",
            ts=ts,
        )
        log.log("EMPTY")
    e, empty = evident.read_entries(log_path)
    assert e == evident.Entry(
        seq=1,
        ts=ts.astimezone(timezone.utc),
        event_type="MEASUREMENT",
        action="read_channel",
        actor="bob",
        host="lab-pc",
        session_id="sess-7",
        source="scope-driver",
        details=details,
        otr=True,
        success=False,
        duration_ms=12.5,
        error="overrange",
        note="channel 2",
        git_commit="abc123",
        prev=e.prev,
        hash=head.hash,
    )
    assert e.ts.tzinfo is not None and e.ts.utcoffset() == timedelta(0)
    assert (empty.action, empty.session_id, empty.source, empty.details) == ("", "", "", {})
    assert (empty.otr, empty.success, empty.duration_ms) == (False, None, None)
    assert (empty.error, empty.note, empty.git_commit) == (None, None, None)
    with pytest.raises(dataclasses_frozen()):
        e.seq = 5  # type: ignore[misc]


def dataclasses_frozen() -> type:
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_details_forms(log_path: Path) -> None:
    with evident.AuditLog(log_path) as log:
        log.log("T", "json-text", details='{"a": [1, 2], "b": "x"}')
        log.log("T", "list", details=[1, "two"])
        log.log("T", "scalar-text", details='"just a string"')
        log.log("T", "unicode", details={"unit": "µV", "emoji": "🔬"})
    got = [e.details for e in evident.read_entries(log_path)]
    assert got == [
        {"a": [1, 2], "b": "x"},
        [1, "two"],
        "just a string",
        {"unit": "µV", "emoji": "🔬"},
    ]


def test_null_details_are_kept_and_none_is_empty(log_path: Path) -> None:
    """spec § 4, § 5.4: no details (None) is {}, the JSON value null is null,
    through the C struct, the JSON form (strings with U+0000) and append_json."""
    with evident.AuditLog(log_path) as log:
        log.log("T", "none")
        log.log("T", "null-text", details="null")
        log.log("T\x00", "null-text-json-path", details="null")
        log.append_json({"event_type": "T", "action": "null-json", "details": None})
        log.append_json({"event_type": "T", "action": "absent-json"})
    got = [e.details for e in evident.read_entries(log_path)]
    assert got == [{}, None, None, None, {}]
    text = log_path.read_text(encoding="utf-8")
    assert text.count('"details":null,') == 3 and text.count('"details":{},') == 2


def test_details_deeper_than_a_record_holds_are_refused(log_path: Path) -> None:
    """spec § 5.5: details nest at most 127 levels (the body is level 1)."""
    with evident.AuditLog(log_path) as log:
        log.log("T", "deepest", details="[" * 127 + "]" * 127)
        with pytest.raises(evident.InvalidArgumentError):
            log.log("T", "too-deep", details="[" * 128 + "]" * 128)
        with pytest.raises(evident.InvalidArgumentError):
            log.log("T", "not-finite", details="[1e400]")
    (e,) = evident.read_entries(log_path)
    assert e.action == "deepest"
    assert evident.verify(log_path).valid


def test_nul_characters_are_kept_not_truncated(log_path: Path) -> None:
    with evident.AuditLog(log_path) as log:
        log.log("A\x00B", "act\x00ion", note="n\x00", details={"k\x00": "v\x00"})
    (e,) = evident.read_entries(log_path)
    assert (e.event_type, e.action, e.note, e.details) == (
        "A\x00B",
        "act\x00ion",
        "n\x00",
        {"k\x00": "v\x00"},
    )
    assert evident.verify(log_path).valid


def test_append_json(log_path: Path) -> None:
    with evident.AuditLog(log_path) as log:
        h1 = log.append_json(
            {
                "event_type": "IMPORT",
                "action": "a",
                "ts": "2020-01-02T03:04:05Z",
                "details": {"x": 1},
            }
        )
        h2 = log.append_json('{"event_type":"IMPORT","action":"b","success":true}')
        assert (h1.seq, h2.seq) == (1, 2)
    a, b = evident.read_entries(log_path)
    assert a.ts == datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert (a.action, a.details, b.action, b.success) == ("a", {"x": 1}, "b", True)


def test_keyed_logs(tmp_path: Path) -> None:
    p256, p512 = tmp_path / "k256.jsonl", tmp_path / "k512.evl"
    with evident.AuditLog(p256, key=KEY_A) as log:
        assert log.alg == "hmac-sha256" and log.key_id
        log.log("K")
        key_id = log.key_id
    with evident.AuditLog(p512, key=KEY_A, alg="hmac-sha512") as log:
        assert log.alg == "hmac-sha512" and log.framing == "binary"
        h = log.log("K")
        assert len(h.hash) == 128
    assert evident.verify(p256, key=KEY_A).valid
    assert evident.verify(p512, key=KEY_A, expected_head=h).valid
    with evident.AuditLog(p256, key=bytearray(KEY_A), create=False) as log:
        assert log.key_id == key_id and log.head().seq == 1


def test_explicit_framing_and_existing_log(tmp_path: Path) -> None:
    p = tmp_path / "log.data"
    with evident.AuditLog(p, framing="binary") as log:
        log.log("B")
    assert p.read_bytes()[:8] == bytes([0x89, 0x45, 0x56, 0x44, 0x0D, 0x0A, 0x1A, 0x0A])
    with evident.AuditLog(p) as log:  # auto: whatever the file is
        assert log.framing == "binary" and log.head().seq == 1
    with pytest.raises(evident.EvidentError):
        evident.AuditLog(p, framing="jsonl")


@pytest.mark.parametrize("durability", ["sync", "group", "buffered"])
def test_durability_modes(log_path: Path, durability: str) -> None:
    with evident.AuditLog(log_path, durability=durability, buffer_size=1 << 20) as log:
        for i in range(5):
            log.log("D", str(i))
        assert log.head().seq == 5
        log.sync()
        # After sync() every entry is in the file, whatever the mode.
        assert [e.action for e in evident.read_entries(log_path)] == ["0", "1", "2", "3", "4"]
        log.log("D", "5")
    assert evident.verify(log_path).entries == 6


def test_buffered_entries_reach_the_file_on_close(log_path: Path) -> None:
    log = evident.AuditLog(log_path, durability="buffered", buffer_size=1 << 20)
    log.log("B", "1")
    log.log("B", "2")
    log.close()
    assert evident.verify(log_path).entries == 2


def test_create_false_and_create_new(log_path: Path) -> None:
    with pytest.raises(evident.EvidentIOError) as e:
        evident.AuditLog(log_path, create=False)
    assert str(log_path) in str(e.value)
    assert not log_path.exists()
    evident.AuditLog(log_path, create_new=True).close()
    with pytest.raises(evident.EvidentError) as e:
        evident.AuditLog(log_path, create_new=True)
    assert str(log_path) in str(e.value)


def test_default_actor_and_host_are_filled_in(log_path: Path) -> None:
    with evident.AuditLog(log_path) as log:
        log.log("X")
        log.log("X", actor="explicit", host="h2")
    a, b = evident.read_entries(log_path)
    assert a.actor and a.host
    assert (b.actor, b.host) == ("explicit", "h2")


def test_shared_mode_two_handles_in_one_process(log_path: Path) -> None:
    with (
        evident.AuditLog(log_path, lock="shared", lock_timeout=5) as a,
        evident.AuditLog(log_path, lock="shared", lock_timeout=5) as b,
    ):
        a.log("S", "a1")
        b.log("S", "b1")
        a.log("S", "a2")
    assert [e.action for e in evident.read_entries(log_path)] == ["a1", "b1", "a2"]
    assert evident.verify(log_path).valid


def test_recovery_reports_the_torn_tail(log_path: Path) -> None:
    with evident.AuditLog(log_path) as log:
        log.log("R", "1")
        good = log.head()
    size = log_path.stat().st_size
    with open(log_path, "ab") as f:
        f.write(b'{"v":1,"seq":2,"prev":"')  # an interrupted write
    with evident.AuditLog(log_path) as log:
        rec = log.recovery
        assert rec.created is False and len(rec.torn) == 1
        torn = rec.torn[0]
        assert torn.offset == size and torn.length == 23
        assert Path(torn.sidecar).read_bytes() == b'{"v":1,"seq":2,"prev":"'
        assert log.head() == good
        assert log.log("R", "2").seq == 2
    assert log.recovery == rec  # still readable after close
    assert evident.verify(log_path).valid


def test_close_twice_closed_state_and_final_head(log_path: Path) -> None:
    log = evident.AuditLog(log_path)
    h = log.log("C")
    assert not log.closed
    log.close()
    log.close()
    assert log.closed
    assert log.head() == h  # the final head stays readable
    assert "closed" in repr(log)
    for call in (lambda: log.log("C"), lambda: log.append_json({}), log.sync):
        with pytest.raises(evident.ClosedError):
            call()


def test_context_manager_closes_on_exception(log_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with evident.AuditLog(log_path) as log:
            log.log("E")
            raise RuntimeError("boom")
    assert log.closed
    # the exclusive lock was released: opening again works at once
    evident.AuditLog(log_path, lock_timeout=0).close()


def test_finalizer_frees_an_unclosed_log(log_path: Path) -> None:
    log = evident.AuditLog(log_path, durability="buffered")
    log.log("F", "1")
    finalizer = log._finalizer
    ref = weakref.ref(log)
    del log
    gc.collect()
    assert ref() is None and finalizer is not None and not finalizer.alive
    # freed: the buffered entry was written and the lock released
    with evident.AuditLog(log_path, lock_timeout=0) as log2:
        assert log2.head().seq == 1


def test_explicit_close_detaches_the_finalizer(log_path: Path) -> None:
    # Appends take no Python lock, so close() closes the native log (later
    # calls fail with ClosedError, the file lock is released) and the
    # handle's memory is freed once the object is gone, exactly once.
    log = evident.AuditLog(log_path)
    fin = log._finalizer
    assert fin is not None and fin.alive
    log.close()
    assert log.closed
    with evident.AuditLog(log_path):  # the lock was released
        pass
    del log
    gc.collect()
    assert not fin.alive


def test_naive_ts_is_refused(log_path: Path) -> None:
    with evident.AuditLog(log_path) as log:
        with pytest.raises(evident.InvalidArgumentError, match="timezone"):
            log.log("T", ts=datetime(2024, 1, 1))
        with pytest.raises(evident.InvalidArgumentError):
            log.log("T", ts="yesterday")
        assert log.head().seq == 0


def test_pathlike_and_str_paths(tmp_path: Path) -> None:
    with evident.AuditLog(str(tmp_path / "s.jsonl")) as log:
        log.log("P")
    assert evident.verify(str(tmp_path / "s.jsonl")).valid
    assert evident.read_entries(tmp_path / "s.jsonl")[0].event_type == "P"


def test_entries_are_json_lines_readable_without_evident(log_path: Path) -> None:
    with evident.AuditLog(log_path) as log:
        log.log("J", "x", details={"a": 1})
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert lines[0]["kind"] == "genesis" and lines[1]["details"] == {"a": 1}


def test_unclosed_log_is_flushed_at_interpreter_exit(log_path: Path) -> None:
    """weakref.finalize runs at exit: buffered entries of a log the program
    forgot to close still reach the file."""
    import subprocess

    from conftest import run_python

    code = (
        "import sys, evident\n"
        "log = evident.AuditLog(sys.argv[1], durability='buffered', buffer_size=1 << 20)\n"
        "log.log('EXIT', 'unclosed')\n"
    )
    p = run_python(code, str(log_path), stderr=subprocess.PIPE, text=True)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert [e.action for e in evident.read_entries(log_path)] == ["unclosed"]


def test_infinite_lock_timeout_and_raw_nul_json(log_path: Path) -> None:
    with evident.AuditLog(log_path, lock_timeout=float("inf")) as log:
        with pytest.raises(evident.InvalidArgumentError, match="NUL"):
            log.append_json('{"event_type": "A\x00"}')
        assert log.append_json({"event_type": "A\x00"}).seq == 1  # escaped by json.dumps
    assert evident.read_entries(log_path)[0].event_type == "A\x00"
