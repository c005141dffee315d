#!/usr/bin/env bash
# evident verify against the hash-speed limit (issue 12): builds the release
# binary, makes a ~1 GB JSONL log and the same log in the binary framing,
# and times, on the same cached files, in alternating rounds (the order is
# reversed every other round):
#
#   openssl dgst -sha256 FILE      (SHA-NI when the CPU has it: the limit)
#   sha256sum FILE                 (coreutils)
#   evident verify FILE --threads 1
#   evident verify FILE            (all cores)
#
# It prints, per round, wall and CPU (user + system) seconds and peak RSS
# (/usr/bin/time -v when present), then medians and the ratios of the
# targets: verify 1 thread >= 0.8 x openssl; all cores >= 0.7 x cores x the
# 1-thread rate with at most 16 MiB per thread; and the load (uptime) at
# the start and the end. The logs are deleted afterwards.
#
# Environment: EVIDENT_VERIFY_MB (default 1024), EVIDENT_VERIFY_ROUNDS
# (default 3), EVIDENT_VERIFY_NO_BUILD=1 (use the release binary as it is),
# EVIDENT_VERIFY_DIR (default: a new directory under
# ${TMPDIR:-/tmp}, removed at the end), EVIDENT_VERIFY_KEEP=1 (keep the
# logs, for other measurements; delete them yourself), CARGO_TARGET_DIR.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mb=${EVIDENT_VERIFY_MB:-1024}
rounds=${EVIDENT_VERIFY_ROUNDS:-3}
target=${CARGO_TARGET_DIR:-$root/target}
bin=$target/release/evident

if [ -z "${EVIDENT_VERIFY_NO_BUILD:-}" ]; then
    echo "== build"
    (cd "$root" && cargo build --release --locked --bin evident)
fi
echo "== evident: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"

if [ -n "${EVIDENT_VERIFY_DIR:-}" ]; then
    dir=$EVIDENT_VERIFY_DIR
    mkdir -p "$dir"
    cleanup() { rm -f "$dir/verify-bench.jsonl" "$dir/verify-bench.evl"; }
else
    dir=$(mktemp -d "${TMPDIR:-/tmp}/evident-verify-bench.XXXXXX")
    cleanup() { rm -rf "$dir"; }
fi
[ -n "${EVIDENT_VERIFY_KEEP:-}" ] || trap cleanup EXIT
jsonl=$dir/verify-bench.jsonl
evl=$dir/verify-bench.evl

echo "== load at start: $(uptime)"
echo "== cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $(nproc) cores, sha_ni: $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)"

echo "== generating a ${mb} MB JSONL log (entries like docs/benchmarks.md: ~550-byte lines)"
n=$((mb * 1000 * 1000 / 560))
python3 - "$n" <<'EOF' | "$bin" append "$jsonl" --json - --durability buffered >/dev/null
import json, sys
n = int(sys.argv[1])
w = sys.stdout.write
for i in range(n):
    w(json.dumps({
        "event_type": "ACTION_EXECUTED", "action": "measure", "session_id": "sess-001",
        "source": "pipeline",
        "details": {"instrument": "scope-7", "method": "fft", "file": "run_%06d.bin" % i,
                    "sample": i, "parameters": {"window": "hann", "n": 4096, "gain": 1.25},
                    "result": {"peak_hz": 1234.5, "snr_db": 42.1, "ok": True},
                    "note": "\u00b5s timing"},
    }) + "\n")
EOF
"$bin" convert "$jsonl" "$evl" --to binary >/dev/null
ls -l "$jsonl" "$evl"

echo "== sha2 crate (evident's SHA-256) against the CPU's SHA extensions"
if [ -x "$target/release/examples/sha256_speed" ]; then
    "$target/release/examples/sha256_speed" 256 480 | sed 's/^/   /'
else
    echo "   (build it with: cargo build --release --example sha256_speed)"
fi

python3 - "$bin" "$jsonl" "$evl" "$rounds" <<'EOF'
import os, re, shutil, statistics, subprocess, sys, time

bin_, jsonl, evl, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cores = os.cpu_count() or 1
gnu_time = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None

def run(cmd):
    """(wall s, cpu s, peak RSS KiB or None) of one run, output discarded."""
    if gnu_time:
        t0 = time.perf_counter()
        p = subprocess.run([gnu_time, "-v"] + cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            sys.exit(f"{cmd} failed: {p.stderr[-2000:]}")
        f = dict(re.findall(r"^\s*(.+?): (.+)$", p.stderr, re.M))
        cpu = float(f["User time (seconds)"]) + float(f["System time (seconds)"])
        return wall, cpu, int(f["Maximum resident set size (kbytes)"])
    r0 = os.times()
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t0
    r1 = os.times()
    return wall, (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system), None

for f in (jsonl, evl):  # into the page cache
    with open(f, "rb") as fh:
        while fh.read(1 << 24):
            pass

tools = {
    "openssl": lambda f: ["openssl", "dgst", "-sha256", f],
    "sha256sum": lambda f: ["sha256sum", f],
    "verify_1t": lambda f: [bin_, "verify", f, "--threads", "1"],
    "verify_all": lambda f: [bin_, "verify", f],
}
res = {}
for rnd in range(rounds):
    for fname, f in (("jsonl", jsonl), ("binary", evl)):
        order = list(tools) if rnd % 2 == 0 else list(reversed(tools))
        line = []
        for t in order:
            wall, cpu, rss = run(tools[t](f))
            res.setdefault((fname, t), []).append((wall, cpu, rss))
            line.append(f"{t} {wall:.2f}s wall {cpu:.2f}s cpu" + (f" {rss/1024:.1f}MiB" if rss else ""))
        print(f"round {rnd} {fname}: " + "; ".join(line), flush=True)

size = {"jsonl": os.path.getsize(jsonl), "binary": os.path.getsize(evl)}
med = lambda xs: statistics.median(xs)
print()
print(f"medians over {rounds} rounds (MB/s = 10^6 bytes per second; cpu = user + system)")
for fname in ("jsonl", "binary"):
    for t in tools:
        rs = res[(fname, t)]
        w, c = med([r[0] for r in rs]), med([r[1] for r in rs])
        rss = [r[2] for r in rs if r[2]]
        print(f"  {fname:6} {t:10} {size[fname]/w/1e6:7.0f} MB/s wall {size[fname]/c/1e6:7.0f} MB/s cpu"
              + (f"  peak RSS {max(rss)/1024:.1f} MiB" if rss else ""))
print()
print("ratios per round (target: verify 1 thread >= 0.8 x openssl; all cores >= 0.7 x cores x 1 thread)")
for fname in ("jsonl", "binary"):
    one = res[(fname, "verify_1t")]
    allc = res[(fname, "verify_all")]
    osl = res[(fname, "openssl")]
    sha = res[(fname, "sha256sum")]
    r_wall = [o[0] / v[0] for o, v in zip(osl, one)]
    r_cpu = [o[1] / v[1] for o, v in zip(osl, one)]
    r_sum = [o[0] / v[0] for o, v in zip(sha, one)]
    scale = [v1[0] / va[0] / cores for v1, va in zip(one, allc)]
    rss1 = [r[2] for r in one if r[2]]
    rssa = [r[2] for r in allc if r[2]]
    fmt = lambda xs: ", ".join(f"{x:.2f}" for x in xs)
    print(f"  {fname}: verify 1t / openssl: wall {fmt(r_wall)} (median {med(r_wall):.2f}); per CPU-second {fmt(r_cpu)} (median {med(r_cpu):.2f})")
    print(f"  {fname}: verify 1t / sha256sum: wall {fmt(r_sum)} (median {med(r_sum):.2f})")
    print(f"  {fname}: verify all cores / ({cores} x 1 thread), wall: {fmt(scale)} (median {med(scale):.2f})")
    if rss1 and rssa:
        print(f"  {fname}: peak RSS 1 thread {max(rss1)/1024:.1f} MiB; all cores {max(rssa)/1024:.1f} MiB = {max(rssa)/1024/cores:.1f} MiB per thread")
EOF
echo "== load at end: $(uptime)"
