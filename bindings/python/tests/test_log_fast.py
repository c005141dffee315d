"""The fast paths of AuditLog.log (the event text put together from its
fields) and AuditLog.log_many (the whole batch encoded at once): they write
exactly what the general paths write, and fall back to them for anything
unusual (same entries, same errors)."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest

import evident
from evident import log as evident_log

TS = "2026-12-03T06:00:00.123456Z"

CASES: List[Dict[str, Any]] = [
    dict(event_type="ACTION_EXECUTED", action="load", details={"b": 1, "a": [1, 2.5, None]}),
    dict(event_type="E", action="a\x00b \u00e9 \"q\" \\ \n", actor="al\x00ice", host="h\u00e9"),
    dict(event_type="E", session_id="s-1", source="src", error="boom", note="n", git_commit="abc"),
    dict(event_type="E", details={"z": {"y": 1, "x": ""}, "\u00e9": "\u2603"}, otr=True),
    dict(event_type="E", success=True, details=[]),
    dict(event_type="E", success=0, details={}),
    dict(event_type="E", success=None, actor=None, host=None, error=None),
    dict(event_type="E", duration_ms=12, details={"k": 1}),
    dict(event_type="E", duration_ms=1.5),
    dict(event_type="E", details='{"b": 1, "a": 2}'),
    dict(event_type="E", details="null"),
    dict(event_type="E", details={1: "int key", "s": "str key"}),
    dict(event_type="E", details=OrderedDict([("b", 1), ("a", 2)])),
    dict(event_type="E", ts=TS),
    dict(event_type="E", ts=datetime(2026, 12, 3, 6, 0, tzinfo=timezone.utc)),
]


def _records(path: Path) -> List[Dict[str, Any]]:
    """The entries' records without the chain fields (differ per log)."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]  # no genesis
    out = []
    for line in lines:
        rec = json.loads(line)
        for k in ("hash", "prev", "ts"):
            rec.pop(k, None)
        out.append(rec)
    return out


def _general_log(log: evident.AuditLog, kw: Dict[str, Any]) -> evident.Head:
    """The general path of log(): the same call with the fast path off."""
    saved = evident_log._q

    def refuse(value: Any) -> str:
        raise TypeError

    evident_log._q = refuse
    try:
        return log.log(**kw)
    finally:
        evident_log._q = saved


def test_log_fast_path_writes_what_the_general_path_writes(tmp_path: Path) -> None:
    import json.encoder

    if json.encoder.c_encode_basestring is not None:  # the fast path is on
        assert evident_log._q is json.encoder.c_encode_basestring
    fast_p, slow_p, batch_p = tmp_path / "f.jsonl", tmp_path / "s.jsonl", tmp_path / "b.jsonl"
    with evident.AuditLog(fast_p, actor="a", host="h") as fast, evident.AuditLog(
        slow_p, actor="a", host="h"
    ) as slow, evident.AuditLog(batch_p, actor="a", host="h") as batch:
        for kw in CASES:
            assert fast.log(**kw).seq == _general_log(slow, kw).seq
        batch.log_many(CASES)
    fast_r, slow_r = _records(fast_p), _records(slow_p)
    assert len(fast_r) == len(CASES)
    assert fast_r == slow_r
    assert _records(batch_p) == fast_r
    # Spot checks of what was written.
    assert fast_r[0]["details"] == {"a": [1, 2.5, None], "b": 1}
    assert fast_r[1]["action"] == 'a\x00b \u00e9 "q" \\ \n' and fast_r[1]["actor"] == "al\x00ice"
    assert fast_r[6]["actor"] == "a" and fast_r[6]["details"] == {}
    assert fast_r[10]["details"] is None
    entries = evident.read_entries(fast_p)
    assert entries[13].ts == datetime(2026, 12, 3, 6, 0, 0, 123456, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "kw",
    [
        dict(event_type=5),
        dict(event_type="E", action=b"bytes"),
        dict(event_type="E", actor=7),
        dict(event_type="E", details={"f": float("nan")}),
        dict(event_type="E", details={"o": object()}),
        dict(event_type="E", ts="yesterday"),
        dict(event_type="E", ts=datetime(2026, 12, 3)),  # naive
        dict(event_type="E", duration_ms=True),
    ],
)
def test_log_fast_path_errors_as_the_general_path(tmp_path: Path, kw: Dict[str, Any]) -> None:
    with evident.AuditLog(tmp_path / "f.jsonl") as fast, evident.AuditLog(
        tmp_path / "s.jsonl"
    ) as slow:
        with pytest.raises(evident.EvidentError) as fast_e:
            fast.log(**kw)
        with pytest.raises(evident.EvidentError) as slow_e:
            _general_log(slow, kw)
        assert type(fast_e.value) is type(slow_e.value)
        assert str(fast_e.value) == str(slow_e.value)
        assert fast.head().seq == 0


def test_log_fast_path_circular_details(tmp_path: Path) -> None:
    d: Dict[str, Any] = {}
    d["self"] = d
    with evident.AuditLog(tmp_path / "f.jsonl") as log:
        with pytest.raises(evident.InvalidArgumentError, match="circular"):
            log.log("E", details=d)
        assert log.head().seq == 0


BATCH: List[Any] = [
    dict(event_type="A", action="x", details={"b": [1, {"d": 2, "c": 3}], "a": "\u00e9\x00"}),
    dict(event_type="B", actor=None, host="h2", session_id="s", source="src", otr=True),
    dict(event_type="C", success=False, duration_ms=2, error="e", note="n", git_commit="g"),
    dict(event_type="D", ts=TS, details=[1, 2]),
    dict(event_type="E"),
]
# Each of these sends the batch down the general path.
UNUSUAL: List[Any] = [
    '{"event_type":"S","details":{"z":1,"y":2}}',
    dict(event_type="T", details='{"z": 1, "y": 2}'),
    dict(event_type="U", details=None),
    dict(event_type="V", success=1),
    dict(event_type="W", ts=datetime(2026, 12, 3, 6, 0, tzinfo=timezone.utc)),
    OrderedDict(event_type="X", details={"k": 1}),
    dict(event_type="Y", details={1: "int key", "s": "str key"}),
]


def _general_many(log: evident.AuditLog, evs: List[Any]) -> List[evident.Head]:
    saved = evident_log._append_array
    evident_log._append_array = None
    try:
        return log.log_many(evs)
    finally:
        evident_log._append_array = saved


def test_log_many_array_writes_what_the_general_path_writes(tmp_path: Path) -> None:
    assert evident_log._append_array is not None, "the library has the array call"
    calls: List[int] = []
    real = evident_log._append_array

    def counting(*args: Any) -> int:
        calls.append(1)
        return real(*args)

    evident_log._append_array = counting
    try:
        with evident.AuditLog(tmp_path / "f.jsonl", actor="a", host="h") as fast:
            heads = fast.log_many(BATCH)
            assert len(calls) == 1, "one library call for the batch"
            assert [h.seq for h in heads] == [1, 2, 3, 4, 5]
            assert heads[-1] == fast.head()
            more = fast.log_many(iter(BATCH))  # any iterable
            assert [h.seq for h in more] == [6, 7, 8, 9, 10]
            for ev in UNUSUAL:
                calls.clear()
                (h,) = fast.log_many([BATCH[0], ev])[1:]
            assert fast.log_many([]) == []
            last = fast.head()
    finally:
        evident_log._append_array = real
    with evident.AuditLog(tmp_path / "s.jsonl", actor="a", host="h") as slow:
        _general_many(slow, BATCH)
        _general_many(slow, BATCH)
        for ev in UNUSUAL:
            _general_many(slow, [BATCH[0], ev])
        assert slow.head().seq == last.seq
    fast_r, slow_r = _records(tmp_path / "f.jsonl"), _records(tmp_path / "s.jsonl")
    assert fast_r == slow_r
    assert fast_r[0]["details"] == {"a": "\u00e9\x00", "b": [1, {"c": 3, "d": 2}]}
    assert fast_r[1]["actor"] == "a" and fast_r[1]["otr"] is True
    assert fast_r[2]["duration_ms"] == 2.0
    assert fast_r[11]["details"] == {"y": 2, "z": 1}  # the JSON text event
    assert fast_r[13]["details"] == {"y": 2, "z": 1}  # details as JSON text
    assert fast_r[15]["details"] == {}  # details None
    assert fast_r[17]["success"] is True  # success=1


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(event_type="E", bogus=1), "event 1 of the batch: unknown event field(s): bogus"),
        (dict(event_type="E", ts="yesterday"), "line 2: `ts` is not an RFC 3339"),
        (dict(event_type=None), "line 2: "),
        (dict(event_type="E", details={"f": float("inf")}), "event 1 of the batch"),
        (dict(event_type="E", otr="yes"), "line 2: "),
    ],
)
def test_log_many_array_errors_as_the_general_path(
    tmp_path: Path, bad: Dict[str, Any], message: str
) -> None:
    with evident.AuditLog(tmp_path / "f.jsonl") as fast, evident.AuditLog(
        tmp_path / "s.jsonl"
    ) as slow:
        with pytest.raises(evident.EvidentError) as fast_e:
            fast.log_many([BATCH[0], bad, BATCH[1]])
        with pytest.raises(evident.EvidentError) as slow_e:
            _general_many(slow, [BATCH[0], bad, BATCH[1]])
        assert type(fast_e.value) is type(slow_e.value)
        assert str(fast_e.value) == str(slow_e.value)
        assert message in str(fast_e.value)
        assert fast.head().seq == 0, "nothing of the batch written"


def test_log_many_array_on_a_closed_log(tmp_path: Path) -> None:
    log = evident.AuditLog(tmp_path / "f.jsonl")
    log.close()
    with pytest.raises(evident.ClosedError):
        log.log_many(BATCH)
