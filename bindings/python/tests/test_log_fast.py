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
