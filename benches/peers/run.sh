#!/usr/bin/env bash
# Runs the peer benchmarks (Python: evident vs ogentic-audit; Go: evident vs
# the OpenParallax audit logger) one after the other and keeps their output,
# with the machine's load, in benches/peers/results/ (or $OUT).
#
#   PYTHON=/path/to/venv/bin/python benches/peers/run.sh
#
# PYTHON must have the evident package and ogentic-audit installed (see
# README.md). GO_BENCHTIME / GO_ROUNDS / PY_ARGS tune the runs; QUICK=1 makes
# a smoke run; ISSUE12_ONLY=1 stops after issue 12's append targets. The Go benchmarks run GO_ROUNDS times in turn (each benchmark
# once per round, not -count N in a row), so a slow stretch of the shared
# disk or CPU hits evident and the peer alike; go_summary.py takes medians.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/results}
python=${PYTHON:-python3}
mkdir -p "$out"

if [[ ${QUICK:-0} == 1 ]]; then
	py_args=${PY_ARGS:---quick}
	benchtime=${GO_BENCHTIME:-200ms}
	rounds=${GO_ROUNDS:-1}
else
	py_args=${PY_ARGS:-}
	benchtime=${GO_BENCHTIME:-2s}
	rounds=${GO_ROUNDS:-3}
fi

{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "host: $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
	echo "memory: $(free -g | awk '/Mem:/ {print $2 " GiB"}')"
	echo "filesystem of the logs: $(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}')"
	echo "python: $("$python" --version 2>&1)"
	echo "go: $(go version)"
	echo "evident commit: $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/machine.txt"

echo "== Python: evident vs ogentic-audit"
(cd "$here/python" && "$python" bench_peers.py $py_args --json "$out/python.json") | tee "$out/python.txt"
(cd "$here/python" && "$python" profile_binding.py) | tee "$out/python-profile.txt"
echo "load average after Python: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"

echo "== Issue 12 append targets (Python, alternating rounds)"
(cd "$here/python" && "$python" bench_issue12.py $py_args) | tee "$out/issue12.txt"
echo "== Rust Buffered append per CPU-second (load $(cut -d' ' -f1-3 /proc/loadavg))"
root=$(cd "$here/../.." && pwd)
(cd "$root" && cargo run --quiet --release --locked --example append_rate -- \
	"$([[ ${QUICK:-0} == 1 ]] && echo 200000 || echo 2000000)" "${TMPDIR:-/tmp}") | tee "$out/rust-append.txt"
echo "load average after issue 12: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"

if [[ ${ISSUE12_ONLY:-0} == 1 ]]; then
	exit 0
fi

echo "== Go: evident vs OpenParallax audit"
: >"$out/go.txt"
for r in $(seq "$rounds"); do
	echo "-- round $r/$rounds, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/go.txt"
	(cd "$here/go" && go test -run '^$' -bench . -benchtime "$benchtime" -count 1 -tags "evident_dev${GO_TAGS:+,$GO_TAGS}") | tee -a "$out/go.txt"
done
"$python" "$here/go_summary.py" "$out/go.txt" | tee "$out/go-summary.txt"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt"
