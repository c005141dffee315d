#!/usr/bin/env bash
# Issue 12's benchmarks in one run: the peers benchmark (Python vs
# ogentic-audit, the append targets, Rust Buffered append, Go vs
# OpenParallax) and, when present, verify vs `openssl dgst -sha256`.
# Prints the ratios with the machine's load.
#
#   PYTHON=/path/to/venv/bin/python scripts/bench.sh     (QUICK=1: smoke run)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
echo "load at start: $(uptime)"
"$root/benches/peers/run.sh"
if [[ -x "$root/benches/verify_vs_openssl.sh" || -f "$root/benches/verify_vs_openssl.sh" ]]; then
	echo "== verify vs openssl (load $(cut -d' ' -f1-3 /proc/loadavg))"
	bash "$root/benches/verify_vs_openssl.sh"
fi
echo "load at end: $(uptime)"
