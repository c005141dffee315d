"""Python reads, old package vs new, side by side (issue 12).

Runs each case in a fresh subprocess, alternating old and new in every
round (old, new, new, old, ...), against the same native library, on the
same log. Reports process CPU seconds (``time.process_time``: the engine's
share included) and, for last 10, the median per call.

    cargo build --release --lib --locked
    EVIDENT_LIBRARY=$PWD/target/release/libevident.so \\
      /work/main/target/py-venv/bin/python benches/python_read.py \\
      --old-rev 415643b --log /tmp/pyread-bench/1g.jsonl --size-mb 1024

``--old-rev``: the git revision whose ``bindings/python/src`` is the old
package (extracted with ``git archive``). The log is generated once
(``AuditLog.log_many``, about 500 B per entry) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NEW_SRC = REPO / "bindings" / "python" / "src"

CASE = r"""
import json, sys, time
import evident
path, case, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
q = evident.Query(limit=n)
if case == "read_entries":
    t = time.process_time(); r = evident.read_entries(path, q); dt = time.process_time() - t
    assert len(r) == n
elif case == "read_entries+details":
    t = time.process_time()
    r = evident.read_entries(path, q); s = sum(len(e.details) for e in r)
    dt = time.process_time() - t
elif case == "read_entries+ts":
    t = time.process_time()
    r = evident.read_entries(path, q); s = [e.ts for e in r]
    dt = time.process_time() - t
elif case == "read_records":
    t = time.process_time(); r = evident.read_records(path, q); dt = time.process_time() - t
    assert len(r) == n
elif case == "to_pandas":
    r = evident.read_entries(path, q)
    t = time.process_time(); df = r.to_pandas(); dt = time.process_time() - t
elif case == "json.loads":
    with open(path, "rb") as f:
        f.readline()
        lines = [f.readline() for _ in range(n)]
    t = time.process_time(); r = [json.loads(l) for l in lines]; dt = time.process_time() - t
elif case == "last10":
    lq = evident.Query(newest_first=True, limit=10)
    for _ in range(20):
        evident.read_entries(path, lq)
    walls, cpus = [], []
    for _ in range(n):
        c, w = time.process_time(), time.perf_counter()
        r = evident.read_entries(path, lq)
        walls.append(time.perf_counter() - w); cpus.append(time.process_time() - c)
    assert [e.seq for e in r][0] > [e.seq for e in r][-1]
    walls.sort(); cpus.sort()
    dt = walls[len(walls) // 2]
    print(json.dumps({"wall_median": dt, "cpu_mean": sum(cpus) / len(cpus)}))
    sys.exit(0)
print(json.dumps({"cpu": dt}))
"""


def generate(path: Path, size_mb: int) -> None:
    sys.path.insert(0, str(NEW_SRC))
    import evident

    path.parent.mkdir(parents=True, exist_ok=True)
    pad = "x" * 200
    with evident.AuditLog(path, durability="buffered") as log:
        i = 0
        while path.stat().st_size < size_mb * 1024 * 1024:
            log.log_many([
                {"event_type": "ACTION_EXECUTED", "action": f"op{(i + k) % 17}",
                 "session_id": f"s{(i + k) % 64}",
                 "details": {"i": i + k, "pad": pad, "vals": [1.5, 2, "µ"], "ok": True}}
                for k in range(1000)
            ])
            i += 1000
            if i % 200000 == 0:
                log.flush() if hasattr(log, "flush") else None


def run(src: Path, path: Path, case: str, n: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run([sys.executable, "-c", CASE, str(path), case, str(n)], env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old-rev", required=True)
    ap.add_argument("--log", default="/tmp/pyread-bench/1g.jsonl")
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    log = Path(args.log)
    if not log.exists():
        generate(log, args.size_mb)
    tmp = Path(tempfile.mkdtemp(prefix="pyread-old-"))
    archive = subprocess.run(["git", "-C", str(REPO), "archive", args.old_rev,
                              "bindings/python/src"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    old_src = tmp / "bindings" / "python" / "src"
    print(f"log {log} ({log.stat().st_size / 1e9:.2f} GB), n={args.n}, "
          f"old={args.old_rev}, load {os.getloadavg()}")
    cases = [("read_entries", args.n), ("read_records", args.n),
             ("read_entries+details", args.n), ("read_entries+ts", args.n),
             ("to_pandas", args.n), ("last10", 300)]
    results: dict = {}
    for r in range(args.rounds):
        order = [("old", old_src), ("new", NEW_SRC)]
        if r % 2:
            order.reverse()
        for case, n in cases:
            for name, src in order:
                res = run(src, log, case, n)
                results.setdefault((case, name), []).append(res)
        res = run(NEW_SRC, log, "json.loads", args.n)
        results.setdefault(("json.loads", "-"), []).append(res)
        print(f"round {r + 1} done, load {os.getloadavg()}", flush=True)
    print()
    print("| case | old | new | old/new per round |")
    print("|---|---|---|---|")
    for case, _ in cases + [("json.loads", 0)]:
        if case == "json.loads":
            v = [x["cpu"] for x in results[(case, "-")]]
            print(f"| json.loads of the same lines | {', '.join(f'{x:.3f}' for x in v)} s | | |")
            continue
        key = "wall_median" if case == "last10" else "cpu"
        old = [x[key] for x in results[(case, "old")]]
        new = [x[key] for x in results[(case, "new")]]
        ratios = [o / w for o, w in zip(old, new)]
        if case == "last10":
            fmt = lambda xs: ", ".join(f"{x * 1e6:.0f}" for x in xs) + " µs"  # noqa: E731
            oc = [x["cpu_mean"] for x in results[(case, "old")]]
            nc = [x["cpu_mean"] for x in results[(case, "new")]]
            extra = (f" (CPU mean per call: old {statistics.median(oc) * 1e6:.0f} µs, "
                     f"new {statistics.median(nc) * 1e6:.0f} µs)")
        else:
            fmt = lambda xs: ", ".join(f"{x:.3f}" for x in xs) + " s"  # noqa: E731
            extra = ""
        print(f"| {case} | {fmt(old)} | {fmt(new)} | "
              f"{', '.join(f'{x:.1f}' for x in ratios)} (median "
              f"{statistics.median(ratios):.1f}×){extra} |")
    print(f"\nload at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
