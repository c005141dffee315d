#!/usr/bin/env python3
"""Side-by-side benchmark: evident session files against ``numpy.save`` and
pickle+gzip (TraceKit's current session format), on the same arrays, in one
run, in alternating rounds. See README.md next to this file.

Run from anywhere with any Python 3; without numpy it creates (or reuses)
the virtual environment ``<checkout>/target/py-venv`` like scripts/test.sh,
installs numpy there if missing and re-runs itself with it. The evident
package is imported from ``bindings/python/src`` of this checkout and uses
the shared library named by ``EVIDENT_LIBRARY``, or one built here with
``cargo build --release --lib`` (``CARGO_TARGET_DIR`` honoured).

    python3 benches/session/bench_session.py            # 1 GiB, 3 rounds
    python3 benches/session/bench_session.py --size-mb 256 --rounds 5
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


# --- environment ---------------------------------------------------------------


def ensure_numpy() -> None:
    """Re-runs this script in target/py-venv (numpy installed) when numpy is
    missing from the current interpreter."""
    try:
        import numpy  # noqa: F401

        return
    except ImportError:
        pass
    venv = ROOT / "target" / "py-venv"
    py = venv / "bin" / "python"
    if Path(sys.executable).resolve() == py.resolve() and os.environ.get("_EVIDENT_BENCH_REEXEC"):
        raise SystemExit("numpy is still missing in target/py-venv after installing it")
    if not py.exists():
        print(f"creating {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    if subprocess.run([str(py), "-c", "import numpy"], capture_output=True).returncode != 0:
        print("installing numpy into target/py-venv", file=sys.stderr)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "numpy"], check=True)
    env = dict(os.environ, _EVIDENT_BENCH_REEXEC="1")
    os.execve(str(py), [str(py), str(Path(__file__).resolve()), *sys.argv[1:]], env)


def ensure_library() -> str:
    """The evident shared library to use (built here when not given)."""
    lib = os.environ.get("EVIDENT_LIBRARY")
    if lib:
        return lib
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    print("building the library: cargo build --release --lib --locked", file=sys.stderr)
    subprocess.run(
        ["cargo", "build", "--release", "--lib", "--locked"],
        cwd=ROOT,
        check=True,
    )
    so = target / "release" / ("libevident.dylib" if sys.platform == "darwin" else "libevident.so")
    os.environ["EVIDENT_LIBRARY"] = str(so)
    return str(so)


# --- measuring ----------------------------------------------------------------


def now() -> float:
    return time.perf_counter()


def rss_kib() -> Tuple[int, int]:
    """(RssAnon, RssFile) of this process in KiB (Linux; zeros elsewhere)."""
    anon = file = 0
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    anon = int(line.split()[1])
                elif line.startswith("RssFile:"):
                    file = int(line.split()[1])
    except OSError:
        pass
    return anon, file


def loadavg() -> str:
    """UTC time and the 1/5/15-minute load averages."""
    stamp = time.strftime("%H:%M:%S UTC", time.gmtime())
    try:
        with open("/proc/loadavg") as f:
            return stamp + " load " + " ".join(f.read().split()[:3])
    except OSError:
        return stamp


def fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: Bytes of memory to touch and free before every timed step (0: do not).
PRIME = [0]


def settle() -> None:
    """Untimed, before every timed step: flush whatever is dirty (ours or
    other processes') so one contender's writeback does not land in the
    next one's time, collect garbage, then touch and free PRIME[0] bytes.

    The last step is for virtual machines with free page reporting (virtio
    balloon): memory freed for a few seconds is handed back to the host, and
    the next first touch of it costs a host fault. On the machine of
    docs/benchmarks.md writing 1 GiB into the page cache took 0.16 s right
    after a file was deleted and 1.4-2.7 s after a 4 s pause. Without this
    the order of the contenders decides who pays that; with it every step
    starts with backed free memory (``--cold`` turns it off)."""
    gc.collect()
    os.sync()
    if PRIME[0]:
        import numpy as np

        buf = np.empty(PRIME[0], dtype=np.uint8)
        buf.fill(1)
        del buf


def rm(*paths: Path) -> None:
    for p in paths:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def med(xs: List[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


# --- the data -------------------------------------------------------------------


def make_arrays(np: Any, total: int, n: int) -> Dict[str, Any]:
    """``n`` traces of ``total / n`` bytes each, dtypes f64, f32, i16 in turn:
    a noisy sine (the i16 ones quantised like ADC codes)."""
    per = total // n
    rng = np.random.default_rng(12345)
    out: Dict[str, Any] = {}
    for k in range(n):
        kind = ("f64", "f32", "i16")[k % 3]
        size = {"f64": 8, "f32": 4, "i16": 2}[kind]
        count = per // size
        t = np.arange(count, dtype=np.float64) / 1000.0
        x = np.sin(t * (1 + k))
        x += 0.05 * rng.standard_normal(count)
        if kind == "f64":
            a = x
        elif kind == "f32":
            a = x.astype(np.float32)
        else:
            a = (x * 16000).astype(np.int16)
        del t, x
        out[f"CH{k + 1}"] = a
    return out


def trace_meta(k: int) -> Dict[str, Any]:
    return {
        "sample_rate": 1e6,
        "start_time": 0.0,
        "units": "V",
        "metadata": {"channel": k, "probe": "10x", "coupling": "DC"},
    }


SESSION_META = {"instrument": "scope-07", "operator": "bench"}


# --- contenders: save -------------------------------------------------------------


class Files:
    def __init__(self, d: Path, names: List[str]) -> None:
        self.dir = d
        self.npy = [d / f"{n}.npy" for n in names]
        self.evs = d / "session.evs"
        self.evs_z = d / "session-zstd.evs"
        self.pkl = d / "session.pkl.gz"

    def evs_all(self, p: Path) -> List[Path]:
        return [p, Path(str(p) + ".lock")]


def save_numpy(np: Any, arrays: Dict[str, Any], f: Files, durable: bool) -> Dict[str, float]:
    rm(*f.npy)
    settle()
    t0 = now()
    for i, a in enumerate(arrays.values()):
        p = f.npy[i]
        if durable:
            with open(p, "wb") as fh:
                np.save(fh, a)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            np.save(p, a)
    if durable:
        fsync_dir(f.dir)  # new files: their names must be durable too
    return {"save": now() - t0}


def build_session(evident: Any, arrays: Dict[str, Any]) -> Any:
    s = evident.Session(name="bench session", metadata=SESSION_META)
    for k, (name, a) in enumerate(arrays.items()):
        s.add_trace(name, a, **trace_meta(k))
    for i in range(100):
        t0 = i * 1e-3
        if i % 2:
            s.annotate(f"burst {i}", time_range=(t0, t0 + 5e-4), layer="review")
        else:
            s.annotate(f"glitch {i}", time=t0, layer="review")
    for i in range(20):
        s.record_measurement(f"rise_time_{i}", 2.3e-9, unit="s")
    return s


def save_evident(
    evident: Any,
    arrays: Dict[str, Any],
    f: Files,
    sync: bool,
    compress: int = 0,
    path: Optional[Path] = None,
) -> Dict[str, float]:
    p = path or f.evs
    rm(*f.evs_all(p))
    settle()
    t0 = now()
    s = build_session(evident, arrays)
    add = now() - t0
    settle()
    t1 = now()
    s.save(p, sync=sync, compress=compress)
    t2 = now()
    info = s.last_save
    assert info is not None and info.traces_written == len(arrays), info
    s.close()
    return {"add_trace": add, "save": t2 - t1, "bytes": float(p.stat().st_size)}


def pickle_doc(arrays: Dict[str, Any]) -> Dict[str, Any]:
    """What TraceKit pickles: a dict holding the arrays and the metadata."""
    return {
        "name": "bench session",
        "metadata": SESSION_META,
        "traces": {n: {"data": a, **trace_meta(k)} for k, (n, a) in enumerate(arrays.items())},
        "annotations": [{"text": f"a{i}", "time": i * 1e-3} for i in range(100)],
        "measurements": {f"rise_time_{i}": {"value": 2.3e-9, "unit": "s"} for i in range(20)},
    }


def save_pickle(arrays: Dict[str, Any], f: Files, durable: bool) -> Dict[str, float]:
    rm(f.pkl)
    settle()
    t0 = now()
    with gzip.open(f.pkl, "wb") as fh:  # default level (9), as TraceKit
        pickle.dump(pickle_doc(arrays), fh)
    if durable:
        with open(f.pkl, "rb+") as fh:
            os.fsync(fh.fileno())
        fsync_dir(f.dir)
    return {"save": now() - t0, "bytes": float(f.pkl.stat().st_size)}


# --- contenders: load -------------------------------------------------------------


def checksum(np: Any, a: Any) -> float:
    return float(np.add.reduce(a, dtype=np.float64))


def load_numpy(np: Any, f: Files, mmap: bool) -> Dict[str, float]:
    settle()
    t0 = now()
    arrays = [np.load(p, mmap_mode="r" if mmap else None) for p in f.npy]
    meta = [(a.dtype.str, a.shape) for a in arrays]
    t1 = now()
    x = float(arrays[0][0]) + float(arrays[0][-1])
    t2 = now()
    total = sum(checksum(np, a) for a in arrays)
    t3 = now()
    del arrays, meta, x, total
    return {"open_meta": t1 - t0, "first_access": t2 - t1, "read_all": t3 - t0}


def load_evident(evident: Any, np: Any, p: Path) -> Dict[str, float]:
    settle()
    r0 = rss_kib()
    t0 = now()
    s = evident.load_session(p)
    names = s.list_traces()
    md = s.metadata
    traces = [s.get_trace(n) for n in names]
    meta = [(t.dtype, len(t), t.sample_rate, t.units, t.metadata) for t in traces]
    t1 = now()
    r1 = rss_kib()
    a = traces[0].data
    x = float(a[0]) + float(a[-1])
    t2 = now()
    r2 = rss_kib()
    total = sum(checksum(np, t.data) for t in traces)
    t3 = now()
    r3 = rss_kib()
    out = {
        "open_meta": t1 - t0,
        "first_access": t2 - t1,
        "read_all": t3 - t0,
        "first_trace_bytes": float(a.nbytes),
        "first_trace_mapped": float(traces[0].is_mapped),
        "rss_anon_open_kib": float(r1[0] - r0[0]),
        "rss_anon_first_access_kib": float(r2[0] - r1[0]),
        "rss_file_first_access_kib": float(r2[1] - r1[1]),
        "rss_anon_read_all_kib": float(r3[0] - r2[0]),
        "rss_file_read_all_kib": float(r3[1] - r2[1]),
    }
    del a, traces, meta, md, names, x, total
    s.close()
    return out


def load_pickle(np: Any, f: Files) -> Dict[str, float]:
    settle()
    t0 = now()
    with gzip.open(f.pkl, "rb") as fh:
        doc = pickle.load(fh)
    t1 = now()
    arrays = [t["data"] for t in doc["traces"].values()]
    x = float(arrays[0][0]) + float(arrays[0][-1])
    t2 = now()
    total = sum(checksum(np, a) for a in arrays)
    t3 = now()
    del doc, arrays, x, total
    return {"open_meta": t1 - t0, "first_access": t2 - t1, "read_all": t3 - t0}


# --- the run --------------------------------------------------------------------------


TIMES = ("add_trace", "save", "open_meta", "first_access", "read_all")


def alternate(
    rounds: int, contenders: List[Tuple[str, Callable[[], Dict[str, float]]]]
) -> Dict[str, List[Dict[str, float]]]:
    """Runs every contender once per round; the order is reversed every other
    round (ABCD DCBA ABCD ...)."""
    res: Dict[str, List[Dict[str, float]]] = {name: [] for name, _ in contenders}
    for r in range(rounds):
        order = contenders if r % 2 == 0 else list(reversed(contenders))
        for name, fn in order:
            m = fn()
            res[name].append(m)
            shown = ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in m.items() if k in TIMES)
            print(f"  round {r + 1} {name:<22} {shown}", flush=True)
    return res


def summary_of(
    res: Dict[str, List[Dict[str, float]]],
    key: str,
    agg: Callable[[List[float]], float] = med,
) -> Dict[str, float]:
    return {
        name: agg([m[key] for m in ms if key in m])
        for name, ms in res.items()
        if any(key in m for m in ms)
    }


def machine() -> Dict[str, Any]:
    info: Dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "nproc": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        info["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        pass
    return info


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size-mb", type=int, default=1024, help="MiB of trace data (default 1024)")
    ap.add_argument("--traces", type=int, default=8, help="number of traces (default 8)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument(
        "--pickle-mb", type=int, default=None, help="MiB for pickle+gzip (default: --size-mb)"
    )
    ap.add_argument(
        "--pickle-rounds", type=int, default=1, help="pickle+gzip rounds (default 1; 0 skips)"
    )
    ap.add_argument("--incremental", type=int, default=10, help="incremental saves (default 10)")
    ap.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where the files go (default <target>/session-bench; keep it on one filesystem)",
    )
    ap.add_argument(
        "--cold",
        action="store_true",
        help="do not touch and free memory before each timed step (see settle())",
    )
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    args = ap.parse_args()

    ensure_numpy()
    lib = ensure_library()
    sys.path.insert(0, str(ROOT / "bindings" / "python" / "src"))
    import numpy as np

    import evident

    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    d: Path = args.dir or target / "session-bench"
    d.mkdir(parents=True, exist_ok=True)
    total = args.size_mb * MIB
    PRIME[0] = 0 if args.cold else total + total // 4
    info = machine()
    info.update(
        numpy=np.__version__,
        evident_module=evident.__file__,
        library=lib,
        dir=str(d),
        load_before=loadavg(),
        size_mib=args.size_mb,
        traces=args.traces,
        rounds=args.rounds,
        primed_bytes=PRIME[0],
    )
    df = subprocess.run(["df", "-T", str(d)], capture_output=True, text=True).stdout.splitlines()
    info["filesystem"] = df[-1] if df else "?"
    print(json.dumps(info, indent=1, default=str))

    print(f"\ngenerating {args.traces} traces, {args.size_mb} MiB (f64/f32/i16)", flush=True)
    arrays = make_arrays(np, total, args.traces)
    nbytes = sum(a.nbytes for a in arrays.values())
    f = Files(d, list(arrays))
    results: Dict[str, Any] = {"machine": info, "bytes": nbytes}

    print("\n== save (alternating rounds)", flush=True)
    save = alternate(
        args.rounds,
        [
            ("numpy.save", lambda: save_numpy(np, arrays, f, durable=False)),
            ("evident sync=False", lambda: save_evident(evident, arrays, f, sync=False)),
            ("numpy.save+fsync", lambda: save_numpy(np, arrays, f, durable=True)),
            ("evident sync=True", lambda: save_evident(evident, arrays, f, sync=True)),
        ],
    )
    results["save"] = save

    print("\n== evident save, zstd level 3 (once, sync=True)", flush=True)
    z = save_evident(evident, arrays, f, sync=True, compress=3, path=f.evs_z)
    print(
        f"  save {ms(z['save'])} (add_trace {ms(z['add_trace'])}), file {z['bytes'] / MIB:.1f} MiB"
    )
    results["save_zstd3"] = z

    pickle_mb = args.pickle_mb or args.size_mb
    pickle_arrays = (
        arrays if pickle_mb == args.size_mb else make_arrays(np, pickle_mb * MIB, args.traces)
    )
    pk_save: List[Dict[str, float]] = []
    if args.pickle_rounds:
        how = f"{pickle_mb} MiB, {args.pickle_rounds} round(s); gzip default level 9"
        print(f"\n== pickle+gzip save ({how})", flush=True)
        for r in range(args.pickle_rounds):
            m = save_pickle(pickle_arrays, f, durable=True)
            pk_save.append(m)
            size = m["bytes"] / MIB
            print(f"  round {r + 1} save+fsync {ms(m['save'])}, file {size:.1f} MiB", flush=True)
        if pickle_mb != args.size_mb:
            # The same-size evident save to compare with.
            m = save_evident(evident, pickle_arrays, f, sync=True, path=d / "pickle-size.evs")
            results["evident_at_pickle_size"] = m
            print(
                f"  evident sync=True at {pickle_mb} MiB: save {m['save'] * 1e3:.1f} ms", flush=True
            )
    results["pickle_save"] = pk_save

    # The files the loads read: written once more, durably.
    save_numpy(np, arrays, f, durable=True)
    save_evident(evident, arrays, f, sync=True)

    print("\n== load (alternating rounds; files in the page cache: no root to drop it)", flush=True)
    load = alternate(
        args.rounds,
        [
            ("np.load", lambda: load_numpy(np, f, mmap=False)),
            ("np.load mmap_mode=r", lambda: load_numpy(np, f, mmap=True)),
            ("evident load_session", lambda: load_evident(evident, np, f.evs)),
        ],
    )
    results["load"] = load
    zl = load_evident(evident, np, f.evs_z)
    print(
        f"  zstd file: open_meta {ms(zl['open_meta'])}, first access (decompresses the trace) "
        f"{ms(zl['first_access'])}, read_all {ms(zl['read_all'])}"
    )
    results["load_zstd3"] = zl
    pk_load: List[Dict[str, float]] = []
    if args.pickle_rounds:
        for r in range(args.pickle_rounds):
            m = load_pickle(np, f)
            pk_load.append(m)
            got = f"load {ms(m['open_meta'])}, read_all {ms(m['read_all'])}"
            print(f"  round {r + 1} pickle+gzip {got}")
    results["pickle_load"] = pk_load

    print(
        f"\n== incremental save: one annotation added, then save ({args.incremental} times each)",
        flush=True,
    )
    incr: Dict[str, List[float]] = {"sync=True": [], "sync=False": []}
    written: List[int] = []
    s = evident.load_session(f.evs)
    for i in range(args.incremental):
        for mode, sync in (("sync=True", True), ("sync=False", False)):
            s.annotate(f"note {i} {mode}", time=0.5, layer="review")
            t0 = now()
            s.save(sync=sync)
            incr[mode].append(now() - t0)
            assert s.last_save is not None and s.last_save.sample_bytes_written == 0
            written.append(s.last_save.bytes_written)
    s.close()
    for mode, xs in incr.items():
        print(f"  {mode}: median {ms(med(xs))} (min {ms(min(xs))}, max {ms(max(xs))})")
    print(f"  bytes appended per save: median {med([float(w) for w in written]):.0f}")
    results["incremental"] = {"times": incr, "bytes_written": written}

    # ---- summary
    info["load_after"] = loadavg()
    sv = summary_of(save, "save")
    sv_min = summary_of(save, "save", min)
    ad = summary_of(save, "add_trace")
    ld = {k: summary_of(load, k) for k in ("open_meta", "first_access", "read_all")}
    gib = nbytes / (1024**3)
    what = f"{nbytes / MIB:.0f} MiB in {args.traces} traces, medians of {args.rounds} rounds"
    print(f"\n==== summary: {what}")
    print(f"load average before {info['load_before']}, after {info['load_after']}")
    for k, v in sv.items():
        extra = f"; + add_trace copy {ad[k] * 1e3:.0f} ms" if k in ad else ""
        lo = sv_min[k]
        print(
            f"save {k:<22} {v * 1e3:9.1f} ms  {gib / v:6.2f} GiB/s "
            f"(min {lo * 1e3:.1f} ms, {gib / lo:.2f} GiB/s{extra})"
        )
    if pk_save:
        ps = med([m["save"] for m in pk_save])
        print(f"save pickle+gzip (+fsync) {ps * 1e3:9.1f} ms  at {pickle_mb} MiB")
    ratios = {
        "save evident sync=True / numpy.save+fsync": sv["evident sync=True"]
        / sv["numpy.save+fsync"],
        "save evident sync=False / numpy.save": sv["evident sync=False"] / sv["numpy.save"],
        "save evident sync=True / numpy.save (no fsync)": sv["evident sync=True"]
        / sv["numpy.save"],
        "save minima: evident sync=True / numpy.save+fsync": sv_min["evident sync=True"]
        / sv_min["numpy.save+fsync"],
        "save minima: evident sync=False / numpy.save": sv_min["evident sync=False"]
        / sv_min["numpy.save"],
    }
    if pk_save:
        ps = med([m["save"] for m in pk_save])
        ev_same = results.get("evident_at_pickle_size", {}).get("save", sv["evident sync=True"])
        ratios["save pickle+gzip / evident sync=True (same size)"] = ps / ev_same
    for k in ("open_meta", "first_access", "read_all"):
        for name, v in ld[k].items():
            print(f"load {k:<13} {name:<22} {v * 1e3:10.3f} ms")
    if pk_load:
        for k in ("open_meta", "first_access", "read_all"):
            v = med([m[k] for m in pk_load])
            print(f"load {k:<13} {'pickle+gzip':<22} {v * 1e3:10.3f} ms  at {pickle_mb} MiB")
    ev = "evident load_session"
    ratios["read_all np.load / evident"] = ld["read_all"]["np.load"] / ld["read_all"][ev]
    ratios["open_meta np.load(mmap) / evident"] = (
        ld["open_meta"]["np.load mmap_mode=r"] / ld["open_meta"][ev]
    )
    if pk_load:
        ratios["open_meta pickle+gzip / evident"] = (
            med([m["open_meta"] for m in pk_load]) / ld["open_meta"][ev]
        )
    print("-- ratios")
    for k, v in ratios.items():
        print(f"{k:<52} {v:8.2f}x")
    ev_loads = load[ev]
    print("-- targets")
    for what, key in (
        ("durable, like for like; medians", "save evident sync=True / numpy.save+fsync"),
        ("durable, like for like; minima", "save minima: evident sync=True / numpy.save+fsync"),
        ("neither syncs; medians", "save evident sync=False / numpy.save"),
        ("neither syncs; minima", "save minima: evident sync=False / numpy.save"),
    ):
        ratio = ratios[key]
        verdict = "met" if ratio <= 1.5 else "MISSED"
        print(f"save within 1.5x of numpy.save ({what}): {ratio:.2f}x -> {verdict}")
    om = ld["open_meta"][ev]
    print(f"open + metadata under 10 ms: {om * 1e3:.2f} ms -> {'met' if om < 0.010 else 'MISSED'}")
    e = ev_loads[-1]
    print(
        f"first access without copying: {e['first_access'] * 1e6:.0f} us for a "
        f"{e['first_trace_bytes'] / MIB:.0f} MiB trace, mapped={bool(e['first_trace_mapped'])}, "
        f"RssAnon +{e['rss_anon_first_access_kib']:.0f} KiB, "
        f"RssFile +{e['rss_file_first_access_kib']:.0f} KiB"
    )
    print(
        f"reading every trace: RssAnon +{e['rss_anon_read_all_kib']:.0f} KiB, "
        f"RssFile +{e['rss_file_read_all_kib'] / 1024:.0f} MiB"
    )
    results["ratios"] = ratios
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    for p in [
        *f.npy,
        *f.evs_all(f.evs),
        *f.evs_all(f.evs_z),
        f.pkl,
        *f.evs_all(d / "pickle-size.evs"),
    ]:
        rm(p)


if __name__ == "__main__":
    main()
