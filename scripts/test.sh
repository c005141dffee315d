#!/usr/bin/env bash
# Runs every test of the project: Rust (unit, integration, crash, tamper,
# vectors, C ABI header/symbol checks, C and C++ programs under valgrind, CLI),
# then the Python and Go bindings when their directories exist, then the
# installs (scripts/test-install.sh).
# Installs what it needs from the package registries; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# In CI: no incremental caches and line tables only as debug information.
# The test programs then take about a third of the disk (CI's disk is
# shared; a full disk once failed a run); backtraces keep file and line.
if [ "${CI:-}" = true ]; then
  export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=line-tables-only
fi
disk() { df -h "$root" | tail -1 | awk '{print "(" $4 " free on the disk)"}'; }
disk

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
# The library as users build it: without `__internal`, which the test
# targets above turn on (docs/api-surface.md); and its docs' links.
cargo clippy --lib --bins --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked --quiet

echo "== library alone (no CLI, session container or zstd)"
# The library and every test, bench and example compile without the default
# features (each names what it needs in Cargo.toml), lint-clean: checked,
# not built, as building them all again took minutes of CI and running them
# about 10 more (`cargo test --no-default-features` runs them).
cargo clippy --locked --no-default-features --all-targets -- -D warnings
echo "== PostgreSQL for the database tests (scripts/pg-cluster.sh)"
pg_dir=$(mktemp -d)
if EVIDENT_PG_URL=$(scripts/pg-cluster.sh start "$pg_dir"); then
  export EVIDENT_PG_URL EVIDENT_PG_DIR="$pg_dir"
  trap 'scripts/pg-cluster.sh stop "$pg_dir"' EXIT
else
  # The tests skip loudly without a server; with CI=true they fail.
  echo "warning: no PostgreSQL server for the database tests" >&2
  unset EVIDENT_PG_URL
  rm -rf "$pg_dir"
fi

echo "== cargo test"
cargo test --locked --all-targets
disk

# Windows and macOS with Debian's rustc 1.85 (see the script). In CI, the
# quick form: the library, the C ABI and the CLI type-checked for both by
# the MSRV's compiler, about 6 minutes (EVIDENT_CROSS=check asks for it
# outside CI). EVIDENT_CROSS=1 runs the whole of it
# (links for both, the Rust tests and C programs under Wine, the Windows
# and macOS wheels): about an hour on two cores, more than CI's time with
# everything else, so it is run by hand (README, "Platforms").
if [ "${EVIDENT_CROSS:-}" = 1 ]; then
  ./scripts/cross-check.sh
elif [ "${CI:-}" = true ] || [ "${EVIDENT_CROSS:-}" = check ]; then
  ./scripts/cross-check.sh check
fi

if [ -d bindings/python ] || [ -d bindings/go ]; then
  echo "== release build of the library and the CLI (used by the bindings)"
  cargo build --release --lib --bins --locked
  # The clean-room C tests (written from include/evident.h alone), also
  # under valgrind: about 10 s.
  echo "== C ABI clean-room tests (tests/c_cleanroom)"
  sh tests/c_cleanroom/run.sh
fi

if [ -d bindings/python ]; then
  echo "== Python bindings"
  venv="$root/target/py-venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  # numpy is optional for the package; installed here so the zero-copy
  # numpy views are tested too (the tests also run the no-numpy paths);
  # tm_data_types (Tektronix) writes the .wfm files the seed tests read.
  # The seed examples (tests/seeds) use pandas and matplotlib, as the
  # documents they come from do; pypdf reads the PDF reports back and
  # pypdfium2 draws them; orjson is the optional fast encoder
  # (evident-audit[fast]; tests/test_json_fast.py covers both paths);
  # cryptography (Ed25519) serves the clean-room checkpoint verifier
  # (tests/spec_verifier). One pip command, so that one resolution
  # satisfies all of them (tm_data_types needs numba, which bounds numpy).
  "$venv/bin/pip" install --quiet pytest numpy tm_data_types pandas matplotlib pypdf pypdfium2 orjson cryptography
  EVIDENT_CARGO_PROFILE=release "$venv/bin/pip" install --quiet "$root/bindings/python"
  # Headless Chromium renders the HTML reports (tests/test_report_browser.py);
  # installed from Debian's packages where this script may (root, apt-get).
  # In CI (CI=true) a missing browser fails the browser test; elsewhere it skips.
  if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
      || echo "warning: could not install chromium" >&2
  fi
  browser_required=0
  if command -v chromium >/dev/null 2>&1 || [ "${CI:-}" = true ]; then
    browser_required=1
  fi
  (cd bindings/python && EVIDENT_CLI="$root/target/release/evident" \
    EVIDENT_REQUIRE_BROWSER=$browser_required "$venv/bin/python" -m pytest -q tests)
  # The clean-room verifier (written from spec/ alone) against `evident verify`
  # on mutated logs: fixed seed, about 5000 cases, under a minute.
  EVIDENT_CLI="$root/target/release/evident" EVIDENT_DIFF_SEED=1 EVIDENT_DIFF_RANDOM=100 \
    EVIDENT_DIFF_TRUNCATE=40 "$venv/bin/python" -m pytest -q tests/spec_verifier/test_differential.py
  # The clean-room session reader (written from spec/session.md alone)
  # against `evident session verify|versions|info`: about 10 s.
  EVIDENT_CLI="$root/target/release/evident" "$venv/bin/python" -m pytest -q \
    tests/spec_verifier/test_session_differential.py
  # The clean-room checkpoint verifier (written from spec/checkpoints.md
  # alone; Ed25519 from `cryptography`) against `evident checkpoint|prove|
  # verify-proof|witness|verify --checkpoint|--in-log`: fixed seed, ~15 s.
  EVIDENT_CLI="$root/target/release/evident" EVIDENT_CKPT_DIFF_SEED=1 "$venv/bin/python" -m pytest -q \
    tests/spec_verifier/test_checkpoint_differential.py
fi

if [ -d bindings/go ]; then
  echo "== Go bindings"
  (
    cd bindings/go
    export EVIDENT_CLI="$root/target/release/evident"
    export EVIDENT_PYTHON="$root/target/py-venv/bin/python"
    export EVIDENT_GO_REQUIRE_PEERS=1
    # Go's build cache does not see a change of include/evident.h (outside
    # the package): a cgo object compiled against an older header would be
    # reused. The header's hash in CGO_CFLAGS is part of the cache key.
    CGO_CFLAGS="${CGO_CFLAGS:--g -O2} -DEVIDENT_HEADER_SHA256_$(sha256sum "$root/include/evident.h" | cut -c1-16)"
    export CGO_CFLAGS
    # evident_dev: link this checkout's target/release/libevident.a (without
    # the tag the package uses the installed library through pkg-config,
    # tested by scripts/test-install.sh).
    go vet -tags evident_dev ./...
    go test -tags evident_dev -race -count=1 ./...
  )
  # Interop with the reference Go signed-note, checkpoint, cosignature and Merkle code (tests/interop/go, its own module).
  (cd tests/interop/go && EVIDENT_CLI="$root/target/release/evident" go test -count=1 ./...)
fi
if [ -d bindings/python ] || [ -d bindings/go ]; then
  echo "== installs: crate contents, C/C++ (pkg-config, CMake), Go outside the repository, Python wheel in a clean venv"
  ./scripts/test-install.sh
fi
disk
echo "== all tests passed"
