"""Reads as record lines (issue 12): evident_query_next_lines and
evident_read_last, Entry objects parsed from their line on first access,
and the same results as the record path (evident_query_next_batch) for
both framings, torn and damaged tails included."""

from __future__ import annotations

import ctypes
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import evident
from evident import _native as N
from evident.errors import STATUS_END

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def populate(path: Path, n: int) -> None:
    with evident.AuditLog(path, durability="buffered") as log:
        for i in range(n):
            kw: Dict[str, Any] = {}
            if i % 3 == 0:
                kw = dict(success=i % 2 == 0, duration_ms=i + 0.5, error="e", note="n",
                          git_commit="abc", otr=True)
            if i % 5 == 1:
                kw["duration_ms"] = i  # an integer: read back as a float
            details: Any = {"i": i, "text": "µ\x00\"q\"\n", "f": [1.5, None, True]}
            if i % 7 == 2:
                details = None if i % 2 else "null"
            log.log("T", f"a{i}", actor="bob", session_id=f"s{i % 4}",
                    details=details, ts=T0 + timedelta(seconds=i), **kw)


def batch_records(path: Path, query_ptr: Any = None) -> List[Dict[str, Any]]:
    """Every record through the JSON-array path (evident_query_next_batch),
    the reference for what the line path must give."""
    lib = N.lib
    handle = ctypes.c_void_p()
    N.check(lib.evident_query_run(N.path_arg(path), query_ptr, ctypes.byref(handle)))
    out: List[Dict[str, Any]] = []
    try:
        while True:
            p, count = ctypes.c_void_p(), ctypes.c_size_t()
            st = lib.evident_query_next_batch(handle, 100, ctypes.byref(p), ctypes.byref(count))
            if st == STATUS_END:
                return out
            N.check(st)
            out.extend(json.loads(N.take_bytes(p)))
    finally:
        lib.evident_query_iter_free(handle)


def native_lines(path: Path, max_entries: int) -> List[List[bytes]]:
    lib = N.lib
    handle = ctypes.c_void_p()
    N.check(lib.evident_query_run(N.path_arg(path), None, ctypes.byref(handle)))
    batches = []
    try:
        while True:
            p, length, count = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_size_t()
            st = lib.evident_query_next_lines(
                handle, max_entries, ctypes.byref(p), ctypes.byref(length), ctypes.byref(count))
            if st == STATUS_END:
                assert not p.value and length.value == 0 and count.value == 0
                return batches
            N.check(st)
            text = ctypes.string_at(p.value, length.value)
            assert ctypes.string_at(p.value) == text  # NUL-terminated, no NUL inside
            lib.evident_string_free(p)
            assert text.endswith(b"\n")
            lines = text.split(b"\n")[:-1]
            assert len(lines) == count.value and 1 <= count.value <= max_entries
            batches.append(lines)
    finally:
        lib.evident_query_iter_free(handle)


def test_read_records_and_entries_equal_the_record_path(any_log_path: Path) -> None:
    populate(any_log_path, 60)
    want = batch_records(any_log_path)
    got = evident.read_records(any_log_path)
    assert got == want
    for g, w in zip(got, want):
        assert set(g) == set(w)  # optional fields present exactly when set
        if "duration_ms" in g:
            assert type(g["duration_ms"]) is float
    entries = evident.read_entries(any_log_path)
    assert entries.records() == want
    assert [e.record() for e in evident.iter_entries(any_log_path)] == want
    e = entries[1]
    assert e.duration_ms == 1.0 and type(e.duration_ms) is float
    assert entries[2].details == "null" or entries[2].details is None
    assert entries[0].details == {"i": 0, "text": "µ\x00\"q\"\n", "f": [1.5, None, True]}
    assert entries[0].ts == T0 and entries[5].ts == T0 + timedelta(seconds=5)
    df = entries.to_pandas()
    assert list(df["seq"]) == list(range(1, 61))
    assert list(df["otr"]) == [i % 3 == 0 for i in range(60)]


def test_entries_parse_their_line_on_first_access(log_path: Path) -> None:
    populate(log_path, 3)
    entries = evident.read_entries(log_path)
    stored = log_path.read_bytes().split(b"\n")[1:4]
    e = entries[1]
    assert e._r is None and e._l == stored[1]  # nothing parsed yet
    assert e.action == "a1"
    assert e._l is None and e._r["seq"] == 2  # parsed once, line dropped
    assert entries[2].ts == T0 + timedelta(seconds=2)  # ts first
    assert entries[0] == evident.read_entries(log_path)[0]


def test_native_next_lines_batches_are_the_stored_lines(framing: str, tmp_path: Path) -> None:
    jl = tmp_path / "a.jsonl"
    populate(jl, 23)
    batches = native_lines(jl, 5)
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    stored = jl.read_bytes().split(b"\n")[1:-1]
    assert [line for b in batches for line in b] == stored
    if framing == "binary":
        # A binary log gives the JSONL lines of the same records.
        bin_path = tmp_path / "a.evl"
        subprocess_convert(jl, bin_path)
        assert [line for b in native_lines(bin_path, 100) for line in b] == stored


def subprocess_convert(src: Path, dst: Path) -> None:
    import subprocess

    from conftest import cli_path

    subprocess.run([str(cli_path()), "convert", str(src), str(dst)], check=True,
                   capture_output=True)


def last(path: Path, n: int, **kw: Any) -> List[int]:
    return [e.seq for e in evident.read_entries(path, evident.Query(newest_first=True, limit=n,
                                                                     **kw))]


def test_last_n_in_one_call(any_log_path: Path) -> None:
    populate(any_log_path, 40)
    assert last(any_log_path, 10) == list(range(40, 30, -1))
    assert last(any_log_path, 100) == list(range(40, 0, -1))
    assert last(any_log_path, 0) == []
    # The same entries as through the iterator (a filter that keeps all).
    via_iter = evident.read_entries(
        any_log_path, evident.Query(newest_first=True, limit=10, seq_min=1))
    fast = evident.read_entries(any_log_path, evident.Query(newest_first=True, limit=10))
    assert fast == via_iter and fast.records() == via_iter.records()
    assert evident.read_records(any_log_path, evident.Query(newest_first=True, limit=3)) == [
        r for r in reversed(batch_records(any_log_path))][:3]
    with pytest.raises(evident.InvalidArgumentError):
        evident.read_entries(any_log_path, evident.Query(newest_first=True, limit=-1))


def test_last_n_of_an_empty_log(any_log_path: Path) -> None:
    evident.AuditLog(any_log_path).close()
    assert evident.read_entries(any_log_path, evident.Query(newest_first=True, limit=5)) == []


def test_last_n_skips_a_torn_tail(any_log_path: Path) -> None:
    populate(any_log_path, 12)
    data = any_log_path.read_bytes()
    any_log_path.write_bytes(data[:-7])  # the last record cut short
    assert last(any_log_path, 3) == [11, 10, 9]
    assert [e.seq for e in evident.read_entries(any_log_path)] == list(range(1, 12))


def errors_of(path: Path, query: evident.Query) -> str:
    with pytest.raises(evident.MalformedLogError) as info:
        evident.read_entries(path, query)
    return str(info.value)


def test_last_n_reports_a_damaged_record_as_the_iterator_does(log_path: Path) -> None:
    populate(log_path, 12)
    lines = log_path.read_bytes().split(b"\n")
    lines[11] = lines[11].replace(b'"seq":11', b'"seq":"11"')  # entry 11 of 12
    log_path.write_bytes(b"\n".join(lines))
    assert last(log_path, 1) == [12]
    fast = errors_of(log_path, evident.Query(newest_first=True, limit=5))
    slow = errors_of(log_path, evident.Query(newest_first=True, limit=5, seq_min=1))
    assert fast == slow
    assert str(log_path) in fast or log_path.name in fast
    # Oldest first, the entries before it come, then the error.
    it = evident.iter_entries(log_path)
    assert [next(it).seq for _ in range(10)] == list(range(1, 11))
    with pytest.raises(evident.MalformedLogError) as info:
        next(it)
    assert log_path.name in str(info.value) and "line 12" in str(info.value)
    assert next(it).seq == 12


def outcomes(path: Path, n: int) -> List[str]:
    """What the one-call path and the iterator path give for the last n."""
    out: List[str] = []
    for q in (evident.Query(newest_first=True, limit=n),
              evident.Query(newest_first=True, limit=n, seq_min=1)):
        try:
            out.append(repr([e.record() for e in evident.read_entries(path, q)]))
        except evident.MalformedLogError as e:
            out.append("error: " + str(e))
    return out


def test_damaged_binary_frames(tmp_path: Path) -> None:
    path = tmp_path / "d.evl"
    populate(path, 8)
    good = path.read_bytes()
    # The last frame damaged: reported like any damage (a complete frame
    # that fails its check is not a torn write, spec § 9.5).
    data = bytearray(good)
    data[-30] ^= 0x55
    path.write_bytes(bytes(data))
    fast, slow = outcomes(path, 3)
    assert fast == slow
    assert fast.startswith("error: ") and path.name in fast, fast
    # The last frame cut short (a torn write): not an entry, no error.
    path.write_bytes(good[:-7])
    fast, slow = outcomes(path, 3)
    assert fast == slow
    assert last(path, 3) == [7, 6, 5]
    # A frame in the middle damaged: reported, naming the file.
    data = bytearray(good)
    data[len(data) // 2] ^= 0x55
    path.write_bytes(bytes(data))
    fast, slow = outcomes(path, 8)
    assert fast == slow
    assert fast.startswith("error: ") and path.name in fast, fast
