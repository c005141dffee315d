#!/usr/bin/env bash
# Runs every test of the project: Rust (unit, integration, crash, tamper,
# vectors, C ABI header/symbol checks, C and C++ programs under valgrind, CLI),
# then the Python and Go bindings when their directories exist.
# Installs what it needs from the package registries; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --locked --all-targets

if [ -d bindings/python ]; then
  echo "== Python bindings"
  cargo build --release --lib --locked
  venv="$root/target/py-venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet pytest
  EVIDENT_CARGO_PROFILE=release "$venv/bin/pip" install --quiet "$root/bindings/python"
  (cd bindings/python && EVIDENT_CLI="$root/target/release/evident" "$venv/bin/python" -m pytest -q tests)
fi

if [ -d bindings/go ]; then
  echo "== Go bindings"
  cargo build --release --lib --locked
  (cd bindings/go && go test -race -count=1 ./...)
fi
echo "== all tests passed"
