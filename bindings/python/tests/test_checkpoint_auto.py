"""Automatic checkpoints from Python: ``AuditLog(..., checkpoint=AutoCheckpoint(...))``
signs every N entries and at close, into ``<log>.checkpoints`` and as
checkpoint records in the log; each verifies with the public key alone, and
a log cut after its last checkpoint is reported truncated."""

from __future__ import annotations

from pathlib import Path

import pytest

import evident
from evident import checkpoint as cp
from evident.errors import InvalidArgumentError


@pytest.mark.parametrize("durability", ["sync", "buffered"])
@pytest.mark.parametrize("in_log", [False, True])
def test_auto_checkpoints(tmp_path: Path, durability: str, in_log: bool) -> None:
    skey, vkey = cp.keygen("example.com/py-test")
    path = tmp_path / "a.jsonl"
    auto = cp.AutoCheckpoint(skey, every_entries=5, in_log=in_log)
    with evident.AuditLog(path, durability=durability, checkpoint=auto) as log:
        for i in range(12):
            log.log("E", f"a{i}")
        assert log.checkpoint_error() is None
        sizes = [c["size"] for c in cp.list_checkpoints(path)]
        assert sizes == ([6, 12] if in_log else [6, 11])
    all_cps = cp.list_checkpoints(path)
    assert [c["size"] for c in all_cps] == ([6, 12, 15] if in_log else [6, 11, 13])
    for c in all_cps:
        r = cp.verify(path, c["checkpoint"], vkey)
        assert r["outcome"] == "match" and r["valid"], r
    r = cp.verify_in_log(path, vkey)
    assert r["valid"], r
    assert r["checkpoints"] == (3 if in_log else 0)
    # Delete the last three records: the last checkpoint catches it.
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-3]))
    r = cp.verify(path, all_cps[-1]["checkpoint"], vkey)
    assert r["outcome"] == "truncated" and not r["valid"], r


def test_bad_key_and_failure_kept(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError):
        evident.AuditLog(tmp_path / "x.jsonl", checkpoint=cp.AutoCheckpoint("not a key"))
    with pytest.raises(InvalidArgumentError):
        evident.AuditLog(tmp_path / "y.jsonl", checkpoint="nope")
    skey, _ = cp.keygen("example.com/py-test")
    path = tmp_path / "z.jsonl"
    # The sidecar cannot be written (a directory is in the way): appends
    # still succeed, the failure is kept.
    (tmp_path / "z.jsonl.checkpoints").mkdir()
    log = evident.AuditLog(path, checkpoint=cp.AutoCheckpoint(skey, every_entries=1))
    log.log("E", "a")
    assert log.checkpoint_error()
    with pytest.raises(evident.errors.EvidentError):
        log.close()
    assert evident.verify(path).valid
