"""A log cut below the length its last writer made durable is reported at
open (``AuditLog.recovery.truncated``), once; unsynced bytes lost are not."""

from __future__ import annotations

import os

import evident


def _log(path, n):
    with evident.AuditLog(path) as log:
        starts = []
        for i in range(n):
            starts.append(os.path.getsize(path))
            log.log("T", f"a{i}", details={"i": i})
    return starts


def test_cut_below_durable_length_is_reported_once(tmp_path):
    path = tmp_path / "audit.jsonl"
    starts = _log(path, 3)
    durable = os.path.getsize(path)
    os.truncate(path, starts[-1])  # the last entry removed whole: no torn tail
    with evident.AuditLog(path) as log:
        rec = log.recovery
        assert rec.truncated == evident.Truncated(durable, starts[-1])
        assert rec.torn == []
        assert log.head().seq == 2
    with evident.AuditLog(path) as log:
        assert log.recovery.truncated is None


def test_an_intact_log_is_not_truncated(tmp_path):
    path = tmp_path / "audit.jsonl"
    _log(path, 2)
    with evident.AuditLog(path) as log:
        assert log.recovery.truncated is None
        assert log.recovery == evident.Recovery(False, [], None)
