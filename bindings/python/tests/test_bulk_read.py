"""Bulk reads (issue 12): read_entries in batches with lazily built
Entry objects, read_records (dicts), to_pandas / read_dataframe, and the
batch boundaries of the native evident_query_next_batch."""

from __future__ import annotations

import ctypes
import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import evident
from evident import _native as N

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def populate(path: Path, n: int) -> None:
    with evident.AuditLog(path, durability="buffered") as log:
        for i in range(n):
            kw = {}
            if i % 3 == 0:
                kw = dict(success=i % 2 == 0, duration_ms=i + 0.5, error="e", note="n",
                          git_commit="abc", otr=True)
            log.log("T", f"a{i}", actor="bob", session_id=f"s{i % 4}",
                    details={"i": i, "text": "µ\x00\"q\""}, ts=T0 + timedelta(seconds=i), **kw)


def test_read_entries_across_batches_matches_the_iterator(any_log_path: Path) -> None:
    n = 2500  # more than two native batches
    populate(any_log_path, n)
    entries = evident.read_entries(any_log_path)
    assert isinstance(entries, list) and isinstance(entries, evident.EntryList)
    assert [e.seq for e in entries] == list(range(1, n + 1))
    assert list(evident.iter_entries(any_log_path)) == entries
    e = entries[3]
    assert e.ts == T0 + timedelta(seconds=3) and e.ts.tzinfo is not None
    assert (e.action, e.actor, e.session_id) == ("a3", "bob", "s3")
    assert e.details == {"i": 3, "text": "µ\x00\"q\""}
    assert (e.otr, e.success, e.duration_ms, e.error, e.note, e.git_commit) == (
        True, False, 3.5, "e", "n", "abc")
    f = entries[4]
    assert (f.otr, f.success, f.duration_ms, f.error, f.note, f.git_commit) == (
        False, None, None, None, None, None)
    assert len(e.hash) == 64 and f.prev == e.hash
    newest = evident.read_entries(any_log_path, evident.Query(newest_first=True, limit=10))
    assert [x.seq for x in newest] == list(range(n, n - 10, -1))
    assert newest[0] == entries[-1]


def test_entries_are_immutable_and_compare_by_value(log_path: Path) -> None:
    populate(log_path, 2)
    a, b = evident.read_entries(log_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.seq = 5  # type: ignore[misc]
    built = evident.Entry(**{f: getattr(a, f) for f in (
        "seq", "ts", "event_type", "action", "actor", "host", "session_id", "source",
        "details", "otr", "success", "duration_ms", "error", "note", "git_commit",
        "prev", "hash")})
    assert built == a and a != b
    assert "seq=1" in repr(a)
    assert built.record() == a.record()


def test_records_and_read_records(any_log_path: Path) -> None:
    populate(any_log_path, 7)
    recs = evident.read_records(any_log_path)
    assert recs == evident.read_entries(any_log_path).records()
    r0, r1 = recs[0], recs[1]
    assert r0["ts"] == "2024-05-01T12:00:00.000000Z"
    assert r0["otr"] is True and r0["success"] is True
    assert "otr" not in r1 and "success" not in r1  # written only when set
    assert r1["details"] == {"i": 1, "text": "µ\x00\"q\""}
    q = evident.Query(session_id="s1")
    assert [r["seq"] for r in evident.read_records(any_log_path, q)] == [2, 6]


def test_to_pandas(log_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    populate(log_path, 5)
    df = evident.read_entries(log_path).to_pandas()
    assert list(df["seq"]) == [1, 2, 3, 4, 5]
    assert df["ts"].iloc[2] == pd.Timestamp(T0 + timedelta(seconds=2))
    assert list(df["otr"]) == [True, False, False, True, False]
    assert df["success"].iloc[1] is None or pd.isna(df["success"].iloc[1])
    assert df["details"].iloc[4] == {"i": 4, "text": "µ\x00\"q\""}
    assert list(evident.read_dataframe(log_path)["action"]) == list(df["action"])


def test_damaged_record_in_a_batch(log_path: Path) -> None:
    populate(log_path, 40)
    lines = log_path.read_bytes().splitlines(keepends=True)
    lines[21] = b"garbage\n"  # entry seq 21
    log_path.write_bytes(b"".join(lines))
    with pytest.raises(evident.MalformedLogError):
        evident.read_entries(log_path)
    seen = []
    it = evident.iter_entries(log_path)
    while True:
        try:
            seen.append(next(it).seq)
        except evident.MalformedLogError:
            seen.append("bad")
        except StopIteration:
            break
    assert seen == list(range(1, 21)) + ["bad"] + list(range(22, 41))


def test_native_batch_reports_counts_end_and_pending_errors(log_path: Path) -> None:
    populate(log_path, 5)
    lines = log_path.read_bytes().splitlines(keepends=True)
    lines[4] = b"garbage\n"  # entry seq 4
    log_path.write_bytes(b"".join(lines))
    lib = N.lib
    handle = ctypes.c_void_p()
    N.check(lib.evident_query_run(N.path_arg(log_path), None, ctypes.byref(handle)))
    try:
        out, count = ctypes.c_void_p(), ctypes.c_size_t()

        def batch(m: int) -> int:
            return lib.evident_query_next_batch(handle, m, ctypes.byref(out), ctypes.byref(count))

        assert batch(2) == 0 and count.value == 2
        assert [r["seq"] for r in __import__("json").loads(N.take_bytes(out))] == [1, 2]
        assert batch(10) == 0 and count.value == 1  # stops before the damaged record
        N.take_bytes(out)
        assert batch(10) != 0 and not out.value and count.value == 0  # its error
        assert batch(0) == 0 and count.value == 1  # max 0 reads one
        N.take_bytes(out)
        assert batch(10) == evident.errors.STATUS_END and not out.value and count.value == 0
        assert batch(10) == evident.errors.STATUS_END
    finally:
        lib.evident_query_iter_free(handle)
