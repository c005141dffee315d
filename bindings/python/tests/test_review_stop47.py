"""Outside review of 7 December 2026: OpenParallax users switching with an
import line, and TraceKit sessions whose sample bytes were damaged."""

import json
from pathlib import Path

import pytest

import evident
from evident.compat import openparallax as op

from test_openparallax_legacy import write_op


def test_migrated_details_read_as_openparallax_read_them(tmp_path):
    p = tmp_path / "audit.jsonl"
    write_op(p, [
        {"event_type": 1, "session_id": "s", "action_type": "a",
         "details_json": '{"z": 18446744073709551617, "a": 1, "f": 1.5}'},
        {"event_type": 4, "session_id": "s", "action_type": "b", "details_json": ""},
        {"event_type": 5, "details_json": "not json"},
    ])
    before = op.read_entries(p)
    with op.AuditLogger(p) as log:
        log.log(op.EventType.ACTION_EXECUTED, "new")
    after = op.read_entries(p)
    assert after[1:] == before
    big = after[-1].details
    assert big == {"z": 18446744073709551617, "a": 1, "f": 1.5}
    assert list(big) == ["z", "a", "f"] and isinstance(big["z"], int)
    assert after[-2].details == {} and after[-3].details == "not json"


def test_read_entries_returns_openparallax_events_only(tmp_path):
    p = tmp_path / "audit.jsonl"
    write_op(p, [{"event_type": n} for n in (1, 2, 3)])
    with op.AuditLogger(p) as log:
        log.log(op.EventType.ACTION_BLOCKED, "x")
    got = op.read_entries(p)
    assert [e.event_type for e in got] == [op.EventType(n) for n in (4, 3, 2, 1)]
    assert [e.event_type.name for e in got][0] == "ACTION_BLOCKED"
    # The limit counts OpenParallax events (the anchor sits between them).
    for limit in (1, 2, 3, 4, 5):
        got = op.read_entries(p, op.Query(limit=limit))
        assert [int(e.event_type) for e in got] == [4, 3, 2, 1][:limit]
    anchor = op.read_entries(p, op.Query(event_type="OPENPARALLAX_IMPORT", limit=1))
    assert len(anchor) == 1 and anchor[0].details["openparallax_import"]["entries"] == 3
    # evident's own readers still show every entry.
    assert [e.event_type for e in evident.read_entries(p)][3] == "OPENPARALLAX_IMPORT"
