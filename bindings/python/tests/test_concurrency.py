"""Threads sharing one AuditLog, close() racing appends, two processes in
shared mode, and a writer killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Dict, List

import pytest

import evident
from conftest import run_python, seqs


@pytest.mark.parametrize("durability", ["sync", "group", "buffered"])
def test_threads_append_to_one_log(log_path: Path, durability: str) -> None:
    n_threads, per_thread = 8, 40
    heads: Dict[int, List[evident.Head]] = {t: [] for t in range(n_threads)}
    failures: List[BaseException] = []
    start = threading.Barrier(n_threads)

    with evident.AuditLog(log_path, durability=durability) as log:

        def work(t: int) -> None:
            try:
                start.wait()
                for i in range(per_thread):
                    heads[t].append(log.log("T", f"{t}:{i}", details={"thread": t, "i": i}))
            except BaseException as e:  # pragma: no cover - reported below
                failures.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert not failures, failures
    total = n_threads * per_thread
    r = evident.verify(log_path)
    assert r.valid and r.entries == total
    entries = {e.seq: e for e in evident.read_entries(log_path)}
    assert sorted(entries) == list(range(1, total + 1))
    for t, hs in heads.items():
        assert [h.seq for h in hs] == sorted(h.seq for h in hs)  # each thread's order kept
        for i, h in enumerate(hs):
            e = entries[h.seq]
            assert (e.hash, e.action, e.details) == (h.hash, f"{t}:{i}", {"thread": t, "i": i})


def test_close_while_threads_append(log_path: Path) -> None:
    """close() from one thread while others append: every append either
    succeeds (and is in the file) or raises ClosedError; nothing crashes."""
    log = evident.AuditLog(log_path, durability="buffered")
    acked: List[evident.Head] = []
    closed_errors = []
    other: List[BaseException] = []
    lock = threading.Lock()
    started = threading.Barrier(5)

    def work(t: int) -> None:
        started.wait()
        for i in range(100_000):
            try:
                h = log.log("C", f"{t}:{i}")
            except evident.ClosedError:
                closed_errors.append(t)
                return
            except BaseException as e:  # pragma: no cover
                other.append(e)
                return
            with lock:
                acked.append(h)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    started.wait()
    while True:  # let them append a little
        with lock:
            if len(acked) >= 200:
                break
        time.sleep(0.001)
    log.close()
    for th in threads:
        th.join()
    assert not other, other
    assert sorted(closed_errors) == [0, 1, 2, 3]
    final = log.head()
    assert final.seq == len(acked)
    entries = {e.seq: e.hash for e in evident.read_entries(log_path)}
    assert entries == {h.seq: h.hash for h in acked}
    assert evident.verify(log_path, expected_head=final).valid


def test_gil_is_released_while_the_library_waits(log_path: Path) -> None:
    """A thread blocked inside the library (waiting for the lock) must not
    hold the GIL: the main thread then releases the lock it is waiting for.
    If ctypes held the GIL, the waiter would time out with LockedError."""
    holder = evident.AuditLog(log_path)
    result: List[object] = []

    def waiter() -> None:
        try:
            with evident.AuditLog(log_path, lock_timeout=120) as log:
                result.append(log.log("W"))
        except BaseException as e:  # pragma: no cover
            result.append(e)

    th = threading.Thread(target=waiter)
    th.start()
    time.sleep(0.3)  # give the waiter time to enter the library (not an assertion)
    holder.close()
    th.join()
    assert len(result) == 1 and isinstance(result[0], evident.Head), result


WRITER = textwrap.dedent(
    """
    import sys, evident
    path, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with evident.AuditLog(path, lock="shared", lock_timeout=60) as log:
        for i in range(n):
            log.log("P", f"{name}:{i}", source=name, details={"i": i})
    """
)


def test_two_processes_append_in_shared_mode(tmp_path: Path, framing: str) -> None:
    path = tmp_path / ("shared.jsonl" if framing == "jsonl" else "shared.evl")
    evident.AuditLog(path).close()  # create it (genesis) once
    n = 60
    procs = [run_python(WRITER, str(path), name, str(n)) for name in ("p1", "p2")]
    # this process appends too, through its own shared handle
    with evident.AuditLog(path, lock="shared", lock_timeout=60) as log:
        for i in range(n):
            log.log("P", f"p0:{i}", source="p0", details={"i": i})
    for p in procs:
        assert p.wait(timeout=300) == 0
    r = evident.verify(path)
    assert r.valid, r
    assert r.entries == 3 * n
    entries = evident.read_entries(path)
    assert [e.seq for e in entries] == list(range(1, 3 * n + 1))
    for name in ("p0", "p1", "p2"):
        mine = [e.details["i"] for e in entries if e.source == name]
        assert mine == list(range(n)), name


KILLED_WRITER = textwrap.dedent(
    """
    import sys, evident
    log = evident.AuditLog(sys.argv[1], durability="sync")
    i = 0
    while True:
        h = log.log("K", str(i), details={"pad": "x" * 200, "i": i})
        print(h.seq, h.hash, flush=True)  # acknowledged: durable
        i += 1
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkilled_writer_loses_no_acknowledged_entry(any_log_path: Path) -> None:
    acked: Dict[int, str] = {}
    for _round in range(3):
        p = run_python(KILLED_WRITER, str(any_log_path), stdout=subprocess.PIPE, text=True)
        assert p.stdout is not None
        target = len(acked) + 25
        while len(acked) < target:
            line = p.stdout.readline()
            assert line, "writer died"
            seq, h = line.split()
            acked[int(seq)] = h
        os.kill(p.pid, signal.SIGKILL)
        for line in p.stdout:  # acknowledged before the kill
            seq, h = line.split()
            acked[int(seq)] = h
        p.wait(timeout=60)
        assert p.returncode == -signal.SIGKILL
        # reopen (recovers a torn tail, if the kill left one), then verify
        with evident.AuditLog(any_log_path) as log:
            head = log.head()
        assert head.seq >= max(acked)
        r = evident.verify(any_log_path)
        assert r.valid, r
        entries = {e.seq: e.hash for e in evident.read_entries(any_log_path)}
        for seq, h in acked.items():
            assert entries.get(seq) == h, f"acknowledged entry {seq} lost or changed"
        assert sorted(entries) == list(range(1, head.seq + 1))
    assert set(acked) <= set(seqs(any_log_path))
