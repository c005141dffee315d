"""Batch appends (log_many), the one-call append path and the lock-free
logging handler."""

import json
import logging
import threading
from datetime import datetime, timezone

import pytest

import evident
from evident import AuditLog
from evident.errors import ClosedError, InvalidArgumentError


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()][1:]


def test_log_many_returns_every_head_and_writes_one_batch(tmp_path):
    path = tmp_path / "b.jsonl"
    with AuditLog(path, durability="sync", actor="a", host="h") as log:
        log.log("FIRST", "x")
        heads = log.log_many(
            [
                {"event_type": "E", "action": "a0", "details": {"i": 0, "z": [1, 2.5]}},
                {"event_type": "E", "action": "a1", "details": '{"b": 1, "a": 2}'},
                '{"event_type":"E","action":"a2","details":{"i":2}}',
                {
                    "event_type": "E",
                    "action": "a3",
                    "success": True,
                    "duration_ms": 3,
                    "ts": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                    "note": None,
                },
            ]
        )
        assert [h.seq for h in heads] == [2, 3, 4, 5]
        assert log.head() == heads[-1]
        assert len({h.hash for h in heads}) == 4
        assert log.log_many([]) == []
    entries = _lines(path)
    assert [e["action"] for e in entries] == ["x", "a0", "a1", "a2", "a3"]
    assert entries[2]["details"] == {"a": 2, "b": 1}
    assert entries[4]["ts"] == "2026-01-02T03:04:05.000000Z"
    assert entries[4]["duration_ms"] == 3.0
    assert [e["hash"] for e in entries[1:]] == [h.hash for h in heads]
    assert evident.verify(path).valid


@pytest.mark.parametrize(
    "alg, key", [("sha256", None), ("hmac-sha256", b"k" * 32), ("hmac-sha512", b"k" * 64)]
)
def test_log_many_heads_are_those_written_for_every_hash_length(tmp_path, alg, key):
    p = str(tmp_path / f"{alg}.jsonl")
    with AuditLog(p, key=key, alg=alg, durability="buffered") as log:
        first = log.log("E", "before")
        heads = log.log_many([{"event_type": "E", "action": str(i)} for i in range(300)])
        assert log.head() == heads[-1]
    assert [h.seq for h in heads] == list(range(first.seq + 1, first.seq + 301))
    written = [json.loads(line) for line in open(p, encoding="utf-8")][-300:]
    assert [(h.seq, h.hash) for h in heads] == [(r["seq"], r["hash"]) for r in written]
    assert {len(h.hash) for h in heads} == {128 if alg == "hmac-sha512" else 64}
    assert all(type(h) is evident.Head and type(h.hash) is str for h in heads)


def test_log_many_is_all_or_nothing(tmp_path):
    path = tmp_path / "b.jsonl"
    with AuditLog(path, durability="sync") as log:
        log.log("FIRST")
        good = {"event_type": "E"}
        with pytest.raises(InvalidArgumentError, match="event 1"):
            log.log_many([good, {"event_type": "E", "bogus": 1}, good])
        with pytest.raises(InvalidArgumentError, match="line 2"):
            log.log_many([good, '{"event_type":"E","nope":1}'])
        with pytest.raises(InvalidArgumentError):
            log.log_many([good, {"event_type": "E", "duration_ms": float("nan")}])
        with pytest.raises(InvalidArgumentError):
            log.log_many([good, {"event_type": "E", "details": {"x": object()}}])
        with pytest.raises(InvalidArgumentError):
            log.log_many([good, 42])
        assert log.head().seq == 1
        log.append_many([good, good])
        assert log.head().seq == 3
    assert len(_lines(path)) == 3
    assert evident.verify(path).valid


def test_details_reach_the_log_as_canonical_json(tmp_path):
    path = tmp_path / "c.jsonl"
    with AuditLog(path, durability="buffered") as log:
        log.log("E", details={"b": 1, "a": {"d": [1, 0.5, 1e-7], "c": "tab\t\u00b5"}})
        log.log("E", details={1: "int key", "a": 2})  # unsortable: the library sorts
        log.log("E", details={"nul": "a\x00b"}, actor="x\x00y")
        log.log("E", details=None)
        log.log("E", details="null")
    with open(path, encoding="utf-8") as f:
        raw = f.read().splitlines()[1:]
    assert ',"details":{"a":{"c":"tab\\t\u00b5","d":[1,0.5,1e-7]},"b":1},' in raw[0]
    assert ',"details":{"1":"int key","a":2},' in raw[1]
    assert json.loads(raw[2])["details"] == {"nul": "a\x00b"}
    assert json.loads(raw[2])["actor"] == "x\x00y"
    assert ',"details":{},' in raw[3]
    assert ',"details":null,' in raw[4]
    assert evident.verify(path).valid


def test_appends_from_threads_need_no_python_lock_and_close_is_safe(tmp_path):
    path = tmp_path / "t.jsonl"
    log = AuditLog(path, durability="group")
    errors = []
    counts = [0] * 8

    def work(t):
        for i in range(200):
            try:
                if i % 10 == 0:
                    log.log_many([{"event_type": "B", "details": {"t": t, "i": i}}] * 3)
                    counts[t] += 3
                else:
                    log.log("E", details={"t": t, "i": i})
                    counts[t] += 1
            except ClosedError:
                return
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)
                return

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert log.head().seq == sum(counts)
    log.close()
    with pytest.raises(ClosedError):
        log.log("E")
    with pytest.raises(ClosedError):
        log.log_many([{"event_type": "E"}])
    assert evident.verify(path).valid


def test_close_while_other_threads_append(tmp_path):
    path = tmp_path / "c.jsonl"
    log = AuditLog(path, durability="buffered")
    stop = threading.Event()
    acked = []

    def work():
        while not stop.is_set():
            try:
                acked.append(log.log("E").seq)
            except ClosedError:
                return

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    while len(acked) < 100:
        pass
    log.close()
    stop.set()
    for th in threads:
        th.join()
    # Every acknowledged entry is in the closed log.
    assert len(_lines(path)) >= max(acked)
    assert evident.verify(path).valid


def test_handler_appends_without_the_handler_lock(tmp_path):
    path = tmp_path / "h.jsonl"
    handler = evident.AuditHandler(path, durability="group")
    logger = logging.getLogger("evident-test-batch")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    inside = []
    in_emit = threading.Semaphore(0)
    orig = handler.audit_log.log
    barrier = threading.Barrier(2, timeout=10)

    def slow_log(*a, **k):
        # Two threads must be inside the append at the same time: with the
        # handler lock held around emit this barrier would time out.
        inside.append(1)
        barrier.wait()
        return orig(*a, **k)

    handler.audit_log.log = slow_log
    try:
        ts = [
            threading.Thread(target=logger.info, args=("m %d", i), kwargs={"extra": {"x": object()}})
            for i in range(2)
        ]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    finally:
        handler.audit_log.log = orig
        logger.removeHandler(handler)
        handler.close()
    assert len(inside) >= 2
    entries = _lines(path)
    assert len(entries) == 2
    # Values JSON cannot hold are written as their repr().
    assert all(e["details"]["x"].startswith("<object object") for e in entries)
    assert evident.verify(path).valid
