"""Issue 12's append targets, side by side in one process, alternating rounds
(a benchmark, not a test; ratios are what count on a shared machine).

Prints, per round and as medians over the rounds:

- ``log(dict)`` 1 thread, Buffered vs ogentic-audit ``Writer.append``
  (target >= 1.5x);
- ``log_many`` (batches of 1000) 1 thread, Buffered vs ``Writer.append``
  (target >= 5x);
- durable: ``log_many`` batches of 100 and of 1000 in Sync mode, and 8 threads calling
  ``log`` in group-commit mode (with a commit delay), vs Sync from one
  thread (target >= 50x);
- ``logging`` through ``AuditHandler`` from 8 threads vs ``AuditLog.log``
  from 8 threads, both group commit (target >= 0.8x).

Run from benches/peers/run.sh, or: ``python bench_issue12.py [--quick]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import tempfile
import threading
import time
from typing import Callable, Dict, List, Tuple

import evident
from evident import log as evident_log
from bench_peers import ACTION, ACTOR, DETAILS, EVENT, KEY, SESSION, og_record
from ogentic_audit import KeyHandle, Writer

Rate = Tuple[float, float]  # entries per wall second, per CPU second


def timed(n: int, fn: Callable[[], None]) -> Rate:
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return n / wall, n / max(cpu, 1e-9)


class Cases:
    def __init__(self, root: str, n: int, n_sync: int, threads: int, delay: float):
        self.root, self.n, self.n_sync, self.threads, self.delay = root, n, n_sync, threads, delay
        self.key = KeyHandle.from_bytes(KEY)
        self.k = 0

    def fresh(self, name: str) -> str:
        self.k += 1
        return os.path.join(self.root, f"{self.k:04d}-{name}")

    def og_append(self) -> Rate:
        d = self.fresh("og")
        w = Writer.open(d, key=self.key)

        def run() -> None:
            for _ in range(self.n):
                w.append(og_record())
            w.flush()

        r = timed(self.n, run)
        w.close()
        shutil.rmtree(d)
        return r

    def _log(self, durability: str, **kw) -> Tuple[evident.AuditLog, str]:
        p = self.fresh("ev") + ".jsonl"
        return evident.AuditLog(p, key=KEY, durability=durability, **kw), p

    def ev_log(self) -> Rate:
        log, p = self._log("buffered")

        def run() -> None:
            for _ in range(self.n):
                log.log(EVENT, ACTION, actor=ACTOR, session_id=SESSION, details=DETAILS)
            log.sync()

        r = timed(self.n, run)
        log.close()
        os.unlink(p)
        return r

    def ev_log_many(self, durability: str = "buffered", batch: int = 1000, n: int = 0) -> Rate:
        n = n or self.n
        log, p = self._log(durability)
        ev = {"event_type": EVENT, "action": ACTION, "actor": ACTOR, "session_id": SESSION,
              "details": DETAILS}

        def run() -> None:
            done = 0
            while done < n:
                k = min(batch, n - done)
                log.log_many([ev] * k)
                done += k
            log.sync()

        r = timed(n, run)
        log.close()
        os.unlink(p)
        return r

    def ev_sync_1(self) -> Rate:
        log, p = self._log("sync")

        def run() -> None:
            for _ in range(self.n_sync):
                log.log(EVENT, ACTION, actor=ACTOR, session_id=SESSION, details=DETAILS)

        r = timed(self.n_sync, run)
        log.close()
        os.unlink(p)
        return r

    def _threads(self, n_per: int, work: Callable[[], None]) -> Rate:
        start = threading.Barrier(self.threads + 1)

        def body() -> None:
            start.wait()
            work()

        ts = [threading.Thread(target=body) for _ in range(self.threads)]
        for t in ts:
            t.start()

        def run() -> None:
            start.wait()
            for t in ts:
                t.join()

        return timed(n_per * self.threads, run)

    def ev_group_8(self, n_per: int, delay: float) -> Rate:
        log, p = self._log("group", commit_delay=delay)

        def work() -> None:
            for _ in range(n_per):
                log.log(EVENT, ACTION, actor=ACTOR, session_id=SESSION, details=DETAILS)

        r = self._threads(n_per, work)
        assert log.head().seq == n_per * self.threads
        log.close()
        os.unlink(p)
        return r

    def ev_handler_8(self, n_per: int, delay: float) -> Rate:
        p = self.fresh("evh") + ".jsonl"
        h = evident.AuditHandler(p, key=KEY, durability="group", commit_delay=delay)
        lg = logging.getLogger(f"bench-{self.k}")
        lg.propagate = False
        lg.setLevel(logging.INFO)
        lg.addHandler(h)

        def work() -> None:
            for _ in range(n_per):
                lg.info("load_trace", extra={"session_id": SESSION, "sample": "S-1"})

        r = self._threads(n_per, work)
        lg.removeHandler(h)
        h.close()
        os.unlink(p)
        return r


def std_json(fn: Callable[[], Rate]) -> Rate:
    """``fn`` with the standard json encoder (orjson, evident-audit[fast], off)."""
    saved = evident_log._fast_dumps
    evident_log._fast_dumps = None
    try:
        return fn()
    finally:
        evident_log._fast_dumps = saved


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=0)
    ap.add_argument("--commit-delay", type=float, default=0.002)
    a = ap.parse_args()
    n = 5_000 if a.quick else 50_000
    n_sync = 100 if a.quick else 300
    n_per = 50 if a.quick else 300
    rounds = a.rounds or (1 if a.quick else 3)
    root = tempfile.mkdtemp(prefix="evident-issue12-", dir=os.environ.get("TMPDIR"))
    c = Cases(root, n, n_sync, 8, a.commit_delay)
    rows: Dict[str, List[Rate]] = {}
    cases = [
        ("og Writer.append", c.og_append),
        ("ev log(dict) buffered", c.ev_log),
        ("ev log_many buffered", c.ev_log_many),
        ("ev log(dict) buffered, std json", lambda: std_json(c.ev_log)),
        ("ev log_many buffered, std json", lambda: std_json(c.ev_log_many)),
        ("ev Sync 1 thread", c.ev_sync_1),
        ("ev log_many(100) Sync", lambda: c.ev_log_many("sync", 100, n_sync * 100)),
        ("ev log_many(1000) Sync", lambda: c.ev_log_many("sync", 1000, n_sync * 1000)),
        ("ev group 8 threads", lambda: c.ev_group_8(n_per, a.commit_delay)),
        ("ev group 8 threads, no delay", lambda: c.ev_group_8(n_per, 0.0)),
        ("ev AuditLog.log 8 threads group", lambda: c.ev_group_8(n_per, 0.0)),
        ("ev AuditHandler 8 threads group", lambda: c.ev_handler_8(n_per, 0.0)),
    ]
    try:
        for r in range(rounds):
            order = cases if r % 2 == 0 else list(reversed(cases))
            print(f"-- round {r + 1}/{rounds}, load {os.getloadavg()[0]:.2f}", flush=True)
            for name, fn in order:
                rate = fn()
                rows.setdefault(name, []).append(rate)
                print(f"   {name:34s} {rate[0]:>11,.0f}/s wall {rate[1]:>11,.0f}/CPU-s", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    def med(name: str, i: int = 0) -> float:
        return statistics.median(x[i] for x in rows[name])

    print("\nmedians over rounds (ratio, target):")
    targets = [
        ("log(dict) vs ogentic Writer.append", med("ev log(dict) buffered") / med("og Writer.append"), 1.5),
        ("  per CPU-second", med("ev log(dict) buffered", 1) / med("og Writer.append", 1), 1.5),
        ("log_many vs ogentic Writer.append", med("ev log_many buffered") / med("og Writer.append"), 5.0),
        ("  per CPU-second", med("ev log_many buffered", 1) / med("og Writer.append", 1), 5.0),
        ("log(dict), std json, per CPU-second",
         med("ev log(dict) buffered, std json", 1) / med("og Writer.append", 1), 1.5),
        ("log_many, std json, per CPU-second",
         med("ev log_many buffered, std json", 1) / med("og Writer.append", 1), 5.0),
        ("durable log_many(100) vs Sync 1 thread", med("ev log_many(100) Sync") / med("ev Sync 1 thread"), 50.0),
        ("durable log_many(1000) vs Sync 1 thread", med("ev log_many(1000) Sync") / med("ev Sync 1 thread"), 50.0),
        ("durable 8 threads group+delay vs Sync 1 thread", med("ev group 8 threads") / med("ev Sync 1 thread"), 50.0),
        ("durable 8 threads group, no delay vs Sync 1 thread",
         med("ev group 8 threads, no delay") / med("ev Sync 1 thread"), 50.0),
        ("logging handler 8 thr vs AuditLog.log 8 thr",
         med("ev AuditHandler 8 threads group") / med("ev AuditLog.log 8 threads group"), 0.8),
        ("  per CPU-second",
         med("ev AuditHandler 8 threads group", 1) / med("ev AuditLog.log 8 threads group", 1), 0.8),
    ]
    for name, ratio, target in targets:
        ok = "met" if ratio >= target else "MISSED"
        print(f"  {name:52s} {ratio:7.2f}x  (target >= {target}x: {ok})")
    print(f"orjson (evident-audit[fast]) used: {evident_log._fast_dumps is not None}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
