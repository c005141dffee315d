#!/usr/bin/env python3
"""Medians and ratios of the Go peer benchmarks (the output of one or more
`go test -bench` runs in benches/peers/go).

Run: python3 go_summary.py results/go.txt
"""

from __future__ import annotations

import re
import statistics
import sys
from collections import defaultdict
from typing import Dict, List, Optional

LINE = re.compile(r"^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$")


def parse(text: str) -> Dict[str, Dict[str, List[float]]]:
    runs: Dict[str, Dict[str, List[float]]] = defaultdict(lambda: defaultdict(list))
    for line in text.splitlines():
        m = LINE.match(line.strip())
        if not m:
            continue
        fields = m.group(2).split()
        for value, unit in zip(fields[0::2], fields[1::2], strict=False):
            runs[m.group(1)][unit].append(float(value))
    return runs


def main() -> int:
    text = "".join(open(p).read() for p in sys.argv[1:]) if sys.argv[1:] else sys.stdin.read()
    runs = parse(text)
    med = {
        name: {u: statistics.median(v) for u, v in units.items()} for name, units in runs.items()
    }
    n_runs = {name: len(units["ns/op"]) for name, units in runs.items()}

    print("| benchmark | runs | appends/s or MB/s (median) | CPU µs/op | MB per CPU s |")
    print("|---|---:|---:|---:|---:|")
    for name, m in med.items():
        if "appends/s" in m:
            rate = f"{m['appends/s']:,.0f} appends/s"
            cmb = ""
        else:
            rate = f"{m['MB/s']:.1f} MB/s ({m['entries/s']:,.0f} entries/s)"
            cmb = f"{m['B/entry'] / m['cpu-µs/op']:.0f}"
        print(f"| {name} | {n_runs[name]} | {rate} | {m['cpu-µs/op']:.2f} | {cmb} |")

    def ratio(ev: str, peer: str, key: str) -> Optional[float]:
        if ev not in med or peer not in med:
            return None
        return med[ev][key] / med[peer][key]

    def cpu_ratio(ev: str, peer: str, verify: bool) -> Optional[float]:
        if ev not in med or peer not in med:
            return None
        if verify:  # bytes per CPU second
            e, p = med[ev], med[peer]
            return (e["B/entry"] / e["cpu-µs/op"]) / (p["B/entry"] / p["cpu-µs/op"])
        return med[peer]["cpu-µs/op"] / med[ev]["cpu-µs/op"]

    A, V = "Append/", "Verify/"
    comparisons = [
        (
            "OS-buffered, 1 goroutine (equal durability)",
            A + "g=1/evident/buffered-write-each",
            A + "g=1/openparallax/os-buffered",
            None,
        ),
        (
            "evident 64 KiB buffer vs OpenParallax, 1 goroutine",
            A + "g=1/evident/buffered-64KiB",
            A + "g=1/openparallax/os-buffered",
            None,
        ),
        (
            "OS-buffered, 8 goroutines (equal durability)",
            A + "g=8/evident/buffered-write-each",
            A + "g=8/openparallax/os-buffered",
            None,
        ),
        (
            "durable, 1 goroutine: evident sync vs fsync-each",
            A + "g=1/evident/sync",
            A + "g=1/openparallax/fsync-each",
            None,
        ),
        (
            "durable, 8 goroutines: evident group commit vs fsync-each",
            A + "g=8/evident/group-commit",
            A + "g=8/openparallax/fsync-each",
            20.0,
        ),
        (
            "durable, 32 goroutines group commit vs fsync-each 8 goroutines",
            A + "g=32/evident/group-commit",
            A + "g=8/openparallax/fsync-each",
            None,
        ),
        (
            "evident durable group commit (8) vs OpenParallax as published (no fsync, 8)",
            A + "g=8/evident/group-commit",
            A + "g=8/openparallax/os-buffered",
            None,
        ),
        ("verify MB/s, evident 1 thread", V + "evident/threads=1", V + "openparallax", None),
        ("verify MB/s, evident all threads", V + "evident/threads=all", V + "openparallax", None),
    ]
    print()
    print("| comparison | ratio (wall, medians) | ratio (CPU time) | target | met (wall) |")
    print("|---|---:|---:|---:|---|")
    for title, ev, peer, target in comparisons:
        verify = ev.startswith(V)
        r = ratio(ev, peer, "MB/s" if verify else "appends/s")
        rc = cpu_ratio(ev, peer, verify)
        if r is None or rc is None:
            continue
        tgt = "" if target is None else f"≥ {target:g}×"
        met = "" if target is None else ("yes" if r >= target else "NO")
        print(f"| {title} | {r:.1f}× | {rc:.1f}× | {tgt} | {met} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
