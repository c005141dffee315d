"""Two builds of the Python binding side by side (a benchmark, not a test):
issue 12's append cases from bench_issue12.py, each round in a fresh
process per build, the builds alternating (A B, then B A, ...), so that both
see the same load. Prints entries per CPU-second (and per wall second), the
medians over the rounds and the ratios B/A and each build vs ogentic-audit.

    python bench_ab.py --a OLD_SRC:OLD_LIB --b NEW_SRC:NEW_LIB [--rounds 6] [--quick]

SRC is a ``bindings/python/src`` directory, LIB the ``libevident.so`` built
with it (e.g. a ``git archive`` of the old commit and a copy of its
library).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import json, os, shutil, sys, tempfile
sys.path.insert(0, sys.argv[1])
import bench_issue12 as B
quick = sys.argv[2] == "1"
n, n_per = (5_000, 50) if quick else (30_000, 300)
root = tempfile.mkdtemp(prefix="evident-ab-", dir=os.environ.get("TMPDIR"))
c = B.Cases(root, n, 100, 8, 0.0)
out = {}
try:
    for name, fn in [
        ("og Writer.append", c.og_append),
        ("log(dict) buffered", c.ev_log),
        ("log_many(1000) buffered", c.ev_log_many),
        ("AuditLog.log 8 threads group", lambda: c.ev_group_8(n_per, 0.0)),
        ("AuditHandler 8 threads group", lambda: c.ev_handler_8(n_per, 0.0)),
    ]:
        out[name] = fn()
finally:
    shutil.rmtree(root, ignore_errors=True)
print(json.dumps(out))
"""


def run(build: str, quick: bool) -> Dict[str, List[float]]:
    src, lib = build.split(":", 1)
    env = dict(os.environ, PYTHONPATH=src, EVIDENT_LIBRARY=lib)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, HERE, "1" if quick else "0"],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        cwd=HERE,
    ).stdout
    return json.loads(out.decode().strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="SRC:LIB of build A (old)")
    ap.add_argument("--b", required=True, help="SRC:LIB of build B (new)")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    rows: Dict[str, Dict[str, List[List[float]]]] = {"A": {}, "B": {}}
    for r in range(a.rounds):
        order = ["A", "B"] if r % 2 == 0 else ["B", "A"]
        print(f"-- round {r + 1}/{a.rounds}, load {os.getloadavg()[0]:.2f}", flush=True)
        for which in order:
            res = run(a.a if which == "A" else a.b, a.quick)
            for name, rate in res.items():
                rows[which].setdefault(name, []).append(rate)
                print(f"   {which} {name:30s} {rate[0]:>10,.0f}/s wall {rate[1]:>10,.0f}/CPU-s", flush=True)

    def med(which: str, name: str, i: int) -> float:
        return statistics.median(x[i] for x in rows[which][name])

    names = list(rows["A"])
    print("\nmedians (per CPU-second; wall in brackets), B/A, and vs ogentic-audit:")
    for name in names:
        ca, cb = med("A", name, 1), med("B", name, 1)
        wa, wb = med("A", name, 0), med("B", name, 0)
        oa, ob = med("A", "og Writer.append", 1), med("B", "og Writer.append", 1)
        print(
            f"  {name:30s} A {ca:>9,.0f} ({wa:>9,.0f})  B {cb:>9,.0f} ({wb:>9,.0f})"
            f"  B/A {cb / ca:5.2f}x  vs og: A {ca / oa:5.2f}x B {cb / ob:5.2f}x"
        )
    for which in ("A", "B"):
        h = med(which, "AuditHandler 8 threads group", 1)
        lg = med(which, "AuditLog.log 8 threads group", 1)
        print(f"  {which}: handler 8 thr / AuditLog.log 8 thr, per CPU-s: {h / lg:.2f}x")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
