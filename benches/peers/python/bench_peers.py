#!/usr/bin/env python3
"""evident vs ogentic-audit, side by side, in one process (a benchmark, not a test).

Both logs get the same entries (about 200 bytes of details, the same
HMAC-SHA256 key) in the same directory, and every case runs once per round,
alternating peer and evident, so machine load hits both sides alike. The
report gives the median of the rounds: wall-clock ops/s (or MB/s) and CPU
time per op (process CPU, all threads; less sensitive to other load).

Durability of each mode (checked with strace, see docs/peers.md):

- ogentic-audit ``Writer.append``: one write(2) per record, no fsync
  (survives a crash of the process, not a power cut); ``Writer.flush``:
  fsync of the segment file and of the directory. Its durable mode is
  therefore append + flush per record.
- evident ``durability="buffered", buffer_size=1``: one write(2) per entry,
  no fsync: the same as ogentic's append. With the default buffer (64 KiB)
  entries stay in memory until the buffer fills or ``sync()`` (weaker until
  then; the timed loop ends with ``sync()``).
- evident ``durability="sync"``: fdatasync per entry; ``"group"``: threads
  share fdatasyncs, each append durable when it returns.

Run: python bench_peers.py [--quick] [--json results.json]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Dict, List, Tuple

import evident
import ogentic_audit
from ogentic_audit import KeyHandle, Writer

KEY = bytes(range(32))  # 32-byte HMAC-SHA256 key, the same for both logs
ACTOR = "user:alice"
EVENT = "ACTION_EXECUTED"
ACTION = "load_trace"
SESSION = "s-0001"

# About 200 bytes of details as compact JSON. No floats and no nulls:
# ogentic-audit refuses both in payloads (its canonical CBOR rules).
DETAILS: Dict[str, object] = {
    "instrument": "HPLC-7 (serial 4711-0815)",
    "sample": "S-2024-000123",
    "file": "/data/runs/2024/06/run-000123.raw",
    "injections": 3,
    "passed": True,
    "tags": ["gmp", "release", "batch-17"],
    "note": "",
}
_base = len(json.dumps(DETAILS, separators=(",", ":")))
DETAILS["note"] = "x" * (200 - _base)
DETAILS_JSON = json.dumps(DETAILS, separators=(",", ":"))
assert len(DETAILS_JSON) == 200, len(DETAILS_JSON)
EVENT_JSON = json.dumps(
    {
        "event_type": EVENT,
        "action": ACTION,
        "actor": ACTOR,
        "session_id": SESSION,
        "details": DETAILS,
    },
    separators=(",", ":"),
)


def now_ts() -> str:
    """ogentic-audit writes 1970-01-01 unless the caller passes ts_wall, so
    a real caller builds one per record (evident stamps entries itself)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def og_record() -> Dict[str, object]:
    return {"actor": ACTOR, "event": EVENT, "ts_wall": now_ts(), "payload": DETAILS}


# --- one timed run of each case: returns (ops, wall s, cpu s, bytes) -------

Result = Tuple[int, float, float, int]


def dir_size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))


class Bench:
    def __init__(self, root: str, n_buf: int, n_dur: int, n_verify: int, threads: int):
        self.root = root
        self.n_buf = n_buf
        self.n_dur = n_dur
        self.n_verify = n_verify
        self.threads = threads
        self.key = KeyHandle.from_bytes(KEY)
        self.seq = 0

    def fresh(self, name: str) -> str:
        self.seq += 1
        return os.path.join(self.root, f"{self.seq:04d}-{name}")

    # ogentic-audit -------------------------------------------------------

    def og_append(self, n: int, durable: bool) -> Result:
        d = self.fresh("og")
        w = Writer.open(d, key=self.key)
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            w.append(og_record())
            if durable:
                w.flush()
        w.flush()  # durable at the end, like evident's sync() below
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        w.close()
        shutil.rmtree(d)
        return n, wall, cpu, 0

    # evident --------------------------------------------------------------

    def ev_append(self, n: int, durability: str, buffer_size=None, how: str = "log") -> Result:
        p = self.fresh("ev") + ".jsonl"
        log = evident.AuditLog(p, key=KEY, durability=durability, buffer_size=buffer_size)
        c0, t0 = time.process_time(), time.perf_counter()
        if how == "log":
            for _ in range(n):
                log.log(EVENT, ACTION, actor=ACTOR, session_id=SESSION, details=DETAILS)
        elif how == "log_str":
            for _ in range(n):
                log.log(EVENT, ACTION, actor=ACTOR, session_id=SESSION, details=DETAILS_JSON)
        elif how == "append_json":
            for _ in range(n):
                log.append_json(EVENT_JSON)
        else:
            raise ValueError(how)
        log.sync()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        log.close()
        os.unlink(p)
        return n, wall, cpu, 0

    def ev_group(self, n_per_thread: int, threads: int) -> Result:
        p = self.fresh("evg") + ".jsonl"
        log = evident.AuditLog(p, key=KEY, durability="group")
        start = threading.Barrier(threads + 1)

        def work() -> None:
            start.wait()
            for _ in range(n_per_thread):
                log.log(EVENT, ACTION, actor=ACTOR, session_id=SESSION, details=DETAILS)

        ts = [threading.Thread(target=work) for _ in range(threads)]
        for t in ts:
            t.start()
        c0, t0 = time.process_time(), time.perf_counter()
        start.wait()
        for t in ts:
            t.join()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = n_per_thread * threads
        assert log.head().seq == n
        log.close()
        os.unlink(p)
        return n, wall, cpu, 0

    # verify ---------------------------------------------------------------

    def build_verify_logs(self) -> Tuple[str, str]:
        og_dir = os.path.join(self.root, "verify-og")
        w = Writer.open(og_dir, key=self.key)
        for _ in range(self.n_verify):
            w.append(og_record())
        w.close()
        ev_path = os.path.join(self.root, "verify-ev.jsonl")
        with evident.AuditLog(ev_path, key=KEY, durability="buffered") as log:
            for _ in range(self.n_verify):
                log.log(EVENT, ACTION, actor=ACTOR, session_id=SESSION, details=DETAILS)
        return og_dir, ev_path

    def og_verify(self, og_dir: str) -> Result:
        c0, t0 = time.process_time(), time.perf_counter()
        rep = ogentic_audit.verify(og_dir, self.key)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert rep.ok and rep.records_inspected == self.n_verify, rep.compact
        return self.n_verify, wall, cpu, dir_size(og_dir)

    def ev_verify(self, path: str, threads: int = 0) -> Result:
        c0, t0 = time.process_time(), time.perf_counter()
        res = evident.verify(path, key=KEY, threads=threads)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert res.valid and res.entries == self.n_verify, res.error
        return self.n_verify, wall, cpu, os.path.getsize(path)


def median_row(runs: List[Result]) -> Dict[str, float]:
    ops = runs[0][0]
    nbytes = runs[0][3]
    wall = statistics.median(r[1] for r in runs)
    cpu = statistics.median(r[2] for r in runs)
    row = {
        "n": ops,
        "wall_s": wall,
        "ops_per_s": ops / wall,
        "cpu_us_per_op": cpu / ops * 1e6,
        "runs_ops_per_s": [r[0] / r[1] for r in runs],
    }
    if nbytes:
        row["bytes"] = nbytes
        row["mb_per_s"] = nbytes / wall / 1e6
        row["cpu_mb_per_s"] = nbytes / cpu / 1e6
        row["bytes_per_entry"] = nbytes / ops
    return row


def profile_evident(b: Bench, n: int) -> str:
    """cProfile of the evident Python path in buffered mode (CPU only)."""
    p = b.fresh("prof") + ".jsonl"
    log = evident.AuditLog(p, key=KEY, durability="buffered")
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(n):
        log.log(EVENT, ACTION, actor=ACTOR, session_id=SESSION, details=DETAILS)
    pr.disable()
    log.close()
    os.unlink(p)
    out = io.StringIO()
    pstats.Stats(pr, stream=out).sort_stats("tottime").print_stats(14)
    return out.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", help="where the logs go (default: a temp dir under $TMPDIR)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n-buffered", type=int, default=20000, help="entries per OS-buffered run")
    ap.add_argument("--n-durable", type=int, default=300, help="entries per durable run")
    ap.add_argument("--n-verify", type=int, default=100000, help="entries in the verified logs")
    ap.add_argument("--threads", type=int, default=8, help="threads for evident group commit")
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 round (smoke run)")
    ap.add_argument("--profile", action="store_true", help="also print a cProfile of evident")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.n_buffered, a.n_durable, a.n_verify = 1, 2000, 20, 5000

    root = tempfile.mkdtemp(prefix="evident-peers-", dir=a.dir)
    b = Bench(root, a.n_buffered, a.n_durable, a.n_verify, a.threads)
    per_thread = max(1, a.n_durable // a.threads) * 4

    cases: List[Tuple[str, Callable[[], Result]]] = [
        # OS-buffered: one write(2) per entry, no fsync (equal durability)
        ("og append (write/entry)", lambda: b.og_append(a.n_buffered, False)),
        (
            "ev buffered buffer_size=1 (write/entry)",
            lambda: b.ev_append(a.n_buffered, "buffered", buffer_size=1),
        ),
        # evident's in-memory buffer and faster Python paths
        ("ev buffered 64KiB, log(details=dict)", lambda: b.ev_append(a.n_buffered, "buffered")),
        (
            "ev buffered 64KiB, log(details=str)",
            lambda: b.ev_append(a.n_buffered, "buffered", how="log_str"),
        ),
        (
            "ev buffered 64KiB, append_json(str)",
            lambda: b.ev_append(a.n_buffered, "buffered", how="append_json"),
        ),
        # durable: on disk when the call returns
        ("og append+flush (fsync file+dir/entry)", lambda: b.og_append(a.n_durable, True)),
        ("ev sync (fdatasync/entry)", lambda: b.ev_append(a.n_durable, "sync")),
        (f"ev group, {a.threads} threads", lambda: b.ev_group(per_thread, a.threads)),
    ]
    load0 = os.getloadavg()
    og_dir, ev_path = b.build_verify_logs()
    cases += [
        ("og verify", lambda: b.og_verify(og_dir)),
        ("ev verify (threads=default)", lambda: b.ev_verify(ev_path)),
        ("ev verify (threads=1)", lambda: b.ev_verify(ev_path, threads=1)),
    ]
    runs: Dict[str, List[Result]] = {name: [] for name, _ in cases}
    started = time.time()
    for r in range(a.rounds):
        for name, fn in cases:
            runs[name].append(fn())
        print(f"round {r + 1}/{a.rounds} done, load {os.getloadavg()}", file=sys.stderr)
    load1 = os.getloadavg()
    rows = {name: median_row(rs) for name, rs in runs.items()}

    def ratio(ev: str, og: str, key: str = "ops_per_s") -> float:
        return rows[ev][key] / rows[og][key]

    def cpu_ratio(ev: str, og: str, key: str) -> float:
        if key == "mb_per_s":  # bytes per CPU second
            return rows[ev]["cpu_mb_per_s"] / rows[og]["cpu_mb_per_s"]
        return rows[og]["cpu_us_per_op"] / rows[ev]["cpu_us_per_op"]

    og_buf, og_dur, og_ver = (
        "og append (write/entry)",
        "og append+flush (fsync file+dir/entry)",
        "og verify",
    )
    comparisons = [
        (
            "appends, OS-buffered (equal durability)",
            "ev buffered buffer_size=1 (write/entry)",
            og_buf,
            "ops_per_s",
            5.0,
        ),
        (
            "appends, evident 64 KiB buffer vs og write/entry",
            "ev buffered 64KiB, log(details=dict)",
            og_buf,
            "ops_per_s",
            None,
        ),
        (
            "appends, evident fastest path (append_json) vs og",
            "ev buffered 64KiB, append_json(str)",
            og_buf,
            "ops_per_s",
            None,
        ),
        (
            "appends, durable, 1 thread (equal durability)",
            "ev sync (fdatasync/entry)",
            og_dur,
            "ops_per_s",
            5.0,
        ),
        (
            f"appends, durable, evident group {a.threads} threads vs og 1 thread",
            f"ev group, {a.threads} threads",
            og_dur,
            "ops_per_s",
            None,
        ),
        (
            "verify MB/s (each by its own file size)",
            "ev verify (threads=default)",
            og_ver,
            "mb_per_s",
            20.0,
        ),
        ("verify MB/s, evident 1 thread", "ev verify (threads=1)", og_ver, "mb_per_s", None),
        ("verify entries/s, evident 1 thread", "ev verify (threads=1)", og_ver, "ops_per_s", None),
    ]

    print()
    print(
        f"evident {evident.__version__} (library {evident.library_version()}), "
        f"ogentic-audit {ogentic_audit.core_version()} "
        f"(format {ogentic_audit.format_version()}), "
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs"
    )
    print(
        f"load average before {load0}, after {load1}; logs in {root}; "
        f"{a.rounds} rounds, medians; {time.time() - started:.0f} s"
    )
    print()
    print("| case | n | ops/s | MB/s | CPU µs/op | MB per CPU s | bytes/entry |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, row in rows.items():
        mb = f"{row['mb_per_s']:.1f}" if "mb_per_s" in row else ""
        cmb = f"{row['cpu_mb_per_s']:.1f}" if "cpu_mb_per_s" in row else ""
        bpe = f"{row['bytes_per_entry']:.0f}" if "bytes_per_entry" in row else ""
        print(
            f"| {name} | {row['n']} | {row['ops_per_s']:,.0f} | {mb} "
            f"| {row['cpu_us_per_op']:.2f} | {cmb} | {bpe} |"
        )
    print()
    print("| comparison | ratio (wall) | ratio (CPU time) | target | met (wall) |")
    print("|---|---:|---:|---:|---|")
    out_cmp = []
    for title, ev, og, key, target in comparisons:
        rw = ratio(ev, og, key)
        rc = cpu_ratio(ev, og, key)
        met = "" if target is None else ("yes" if rw >= target else "NO")
        tgt = "" if target is None else f"≥ {target:g}×"
        print(f"| {title} | {rw:.1f}× | {rc:.1f}× | {tgt} | {met} |")
        out_cmp.append(
            {
                "comparison": title,
                "evident": ev,
                "peer": og,
                "metric": key,
                "ratio_wall": rw,
                "ratio_cpu": rc,
                "target": target,
            }
        )
    if a.profile:
        print()
        print(profile_evident(b, a.n_buffered))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(
                {
                    "load_before": load0,
                    "load_after": load1,
                    "rounds": a.rounds,
                    "rows": rows,
                    "comparisons": out_cmp,
                    "versions": {
                        "evident": evident.library_version(),
                        "ogentic_audit": ogentic_audit.core_version(),
                        "python": platform.python_version(),
                    },
                },
                f,
                indent=1,
            )
    shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
