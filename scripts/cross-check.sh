#!/usr/bin/env bash
# Cross-checks the crate for Windows (x86_64-pc-windows-gnu) and macOS
# (aarch64-apple-darwin), and builds it with its declared MSRV (1.85).
#
# rustup cannot download other targets' standard libraries here, so this
# uses Debian's rustc 1.85 and its rust-src (Debian trixie packages,
# unpacked into target/xrust, the system untouched) and builds the standard
# library for each target with -Zbuild-std (RUSTC_BOOTSTRAP=1).
# Windows: library, CLI and C ABI are compiled and linked with mingw-w64
# (installed from Debian when missing), and the platform-neutral integration
# tests are built and, when Debian's wine64 is installed, run under Wine.
# macOS (aarch64-apple-darwin and x86_64-apple-darwin): library, C ABI and
# CLI with every feature linked with cargo-zigbuild (no Apple SDK needed)
# and the Mach-O files inspected, then the Python wheels built from release
# libraries and inspected (scripts/macos_check.py), nothing run; without Zig
# (its PyPI package cannot be installed), aarch64 is only type-checked.
# `macos_link` and `macos_wheel` (each of the two) link or fail.
#
# Usage: scripts/cross-check.sh [windows|macos|msrv|macos_link|macos_wheel]...
#        (default: windows macos msrv)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
x="$root/target/xrust"
sysroot="$x/root"
rustc="$sysroot/usr/bin/rustc"
ver=1.85.1+dfsg1-1+deb13u1

fetch_toolchain() {
  [ -x "$rustc" ] && "$rustc" -V >/dev/null 2>&1 && return
  command -v apt-get >/dev/null || { echo "cross-check: needs apt-get (Debian)" >&2; exit 1; }
  command -v patchelf >/dev/null || apt-get install -y -qq patchelf >/dev/null
  mkdir -p "$x/apt/lists/partial" "$x/debs" "$sysroot"
  # A private apt configuration: the system's sources and lists stay as they are.
  cat > "$x/apt/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
SRC
  local opts=(-o Dir::Etc::SourceList="$x/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$x/apt/lists" -o Dir::Cache::Archives="$x/debs" -o APT::Default-Release=trixie
    -o Debug::NoLocking=1)
  apt-get "${opts[@]}" update -qq
  (cd "$x/debs" && apt-get "${opts[@]}" download -qq \
    rustc=$ver libstd-rust-1.85=$ver libstd-rust-dev=$ver rust-src=$ver \
    libllvm19 libc6 libstdc++6 libgcc-s1 libz3-4 libxml2 libedit2 libffi8 libzstd1 zlib1g \
    libbsd0 libmd0 libicu76 liblzma5 libtinfo6)
  for f in "$x"/debs/*.deb; do dpkg -x "$f" "$sysroot"; done
  # Run Debian's rustc against its own (newer) C library: interpreter and
  # library path point into the unpacked tree.
  local lib="$sysroot/usr/lib/x86_64-linux-gnu"
  patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --force-rpath \
    --set-rpath "$lib:$sysroot/usr/lib" "$rustc"
  "$rustc" -V
}

xcargo() {
  RUSTC="$rustc" RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$root/target/xcheck" \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
    CARGO_INCREMENTAL=0 cargo "$@"
}

windows() {
  if ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-mingw-w64-x86-64 >/dev/null
  fi
  # -Zbuild-std does not build the CRT start/end objects the windows-gnu
  # linker wants; build them from the same rust-src.
  local rtdir="$sysroot/usr/lib/rustlib/x86_64-pc-windows-gnu/lib"
  if [ ! -f "$rtdir/rsend.o" ]; then
    mkdir -p "$rtdir"
    for f in rsbegin rsend; do
      RUSTC_BOOTSTRAP=1 "$rustc" --target x86_64-pc-windows-gnu --emit=obj -C panic=abort -O \
        -o "$rtdir/$f.o" "$sysroot/usr/lib/rustlib/src/rust/library/rtstartup/$f.rs"
    done
  fi
  echo "== Windows (x86_64-pc-windows-gnu): library, C ABI and CLI, linked"
  xcargo build --locked -Zbuild-std=std,panic_abort,panic_unwind \
    --target x86_64-pc-windows-gnu --lib --bins
  # The integration tests that do not use Unix-only APIs (fork, signals,
  # FIFOs, symbolic links, permission bits); the others are Unix tests.
  local tests=(basic tamper vectors record_rules verify_hardening api tracing_layer)
  local args=()
  for t in "${tests[@]}"; do args+=(--test "$t"); done
  echo "== Windows: platform-neutral integration tests build (${tests[*]})"
  xcargo build --locked -Zbuild-std=std,panic_abort,panic_unwind \
    --target x86_64-pc-windows-gnu "${args[@]}"
  local wine=/usr/lib/wine/wine64
  if [ -x "$wine" ]; then
    echo "== Windows: the same tests under Wine"
    local prefix="$root/target/xcheck/wineprefix"
    local deps="$root/target/xcheck/x86_64-pc-windows-gnu/debug/deps"
    # Wine 8 (Debian 12) lacks bcryptprimitives.dll, whose ProcessPrng the
    # standard library uses for randomness: a stand-in over RtlGenRandom,
    # next to the test programs only.
    if [ ! -f "$deps/bcryptprimitives.dll" ]; then
      cat > "$root/target/xcheck/prng.c" <<'C'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n; len -= n;
    }
    return TRUE;
}
C
      x86_64-w64-mingw32-gcc -shared -O2 -o "$deps/bcryptprimitives.dll" \
        "$root/target/xcheck/prng.c" -ladvapi32
    fi
    # Built, not run under Wine: verify_hardening drives the CLI through
    # `sh -c "ulimit ..."`; tamper overflows the main thread's stack at start
    # under Wine 8 (not investigated yet).
    for t in basic vectors record_rules api tracing_layer; do
      local exe
      exe=$(ls -t "$root"/target/xcheck/x86_64-pc-windows-gnu/debug/deps/"$t"-*.exe | head -1)
      WINEPREFIX="$prefix" WINEDEBUG=-all "$wine" "$exe" --test-threads=2
    done
  else
    echo "(Wine not installed: the Windows tests were built, not run)"
  fi
}

macos() {
  # Linked with cargo-zigbuild when Zig can be had (the pinned PyPI
  # packages, as scripts/build-wheel.sh installs them), and the wheels
  # built; else type-checked.
  if zig_tools; then
    macos_link
    macos_wheel
  else
    echo "== macOS (aarch64-apple-darwin): library, C ABI and CLI type-check (Zig unavailable: not linked)"
    xcargo check --locked -Zbuild-std=std,panic_abort,panic_unwind \
      --target aarch64-apple-darwin --no-default-features --features "$macos_features" --lib --bins
  fi
}

# Every feature, `postgres` too (as `cargo build` builds the crate).
macos_features=cli,session,zstd,tracing,postgres
# Apple's frameworks that dependencies of the `postgres` feature name in
# #[link(kind = "framework")]: CoreFoundation through postgres-types ->
# chrono `clock` -> iana-time-zone -> core-foundation-sys (for
# chrono::Local) and whoami 2 (tokio-postgres) -> objc2-core-foundation;
# SystemConfiguration through whoami 2 -> objc2-system-configuration (for
# whoami::devicename). Neither can be switched off from this crate
# (postgres-types asks for chrono's `clock`, tokio-postgres for whoami's
# default features), and Zig ships no framework. None of their functions is
# called: tokio-postgres calls whoami::username (getpwuid_r, libSystem) and
# the library never uses chrono::Local. So each framework is given to the
# linker as a stub of our own that exports nothing (a .tbd naming only the
# framework's install name; nothing of Apple's SDK): a call that reached one
# of their functions would fail the link with an undefined symbol, and
# -dead_strip_dylibs drops the unused frameworks from the load commands
# (macos_check.py checks that only /usr/lib's libraries are linked).
macos_frameworks=(CoreFoundation SystemConfiguration)
macos_stubs="$root/target/xcheck/macos-frameworks"

# Writes the framework stubs (see macos_frameworks) into $macos_stubs.
macos_framework_stubs() {
  local f
  for f in "${macos_frameworks[@]}"; do
    mkdir -p "$macos_stubs/$f.framework"
    printf '%s\n' '--- !tapi-tbd' 'tbd-version: 4' 'targets: [ x86_64-macos, arm64-macos ]' \
      "install-name: '/System/Library/Frameworks/$f.framework/Versions/A/$f'" '...' \
      >"$macos_stubs/$f.framework/$f.tbd"
  done
}

# Rust's oldest macOS for a target. Without MACOSX_DEPLOYMENT_TARGET Zig
# writes its own default, macOS 15.0, as the binaries' minimum (rustc's
# -mmacosx-version-min is not honoured).
macos_minos() {
  case $1 in aarch64-*) echo 11.0 ;; *) echo 10.12 ;; esac
}

# macos_cargo TARGET EXTRA_RUSTFLAGS CARGO_ARGS...: cargo-zigbuild for TARGET
# with every feature. Zig's linker ignores rustc's -exported_symbols_list
# (Apple's honours it) and would export every Rust symbol (about 80,000):
# hidden visibility by default leaves only the C ABI's #[no_mangle]
# functions. (A change of RUSTFLAGS rebuilds everything, the standard
# library too: keep them as they are.)
macos_cargo() {
  local t=$1 extra=$2
  shift 2
  macos_framework_stubs
  MACOSX_DEPLOYMENT_TARGET=$(macos_minos "$t") \
    RUSTFLAGS="-Zdefault-visibility=hidden -Clink-arg=-F$macos_stubs -Clink-arg=-Wl,-dead_strip_dylibs$extra" \
    RUSTC="$rustc" RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$root/target/xcheck" CARGO_INCREMENTAL=0 \
    CARGO_ZIGBUILD_ZIG_PATH="$zig" CARGO_ZIGBUILD_CACHE_DIR="$root/target/zig-cache" \
    ZIG_GLOBAL_CACHE_DIR="$root/target/zig-cache/zig" ZIG_LOCAL_CACHE_DIR="$root/target/zig-cache/zig-local" \
    "$root/target/py-tools/bin/cargo-zigbuild" zigbuild --locked -Zbuild-std=std,panic_abort,panic_unwind \
    --target "$t" --no-default-features --features "$macos_features" "$@"
}

# Installs the pinned ziglang + cargo-zigbuild into target/py-tools (shared
# with scripts/build-wheel.sh) and sets $zig; false when they cannot be had.
zig_tools() {
  local tools="$root/target/py-tools" zig_reqs="ziglang==0.17.1 cargo-zigbuild==0.24.1"
  [ -x "$tools/bin/python" ] || python3 -m venv "$tools" || return 1
  if [ "$(cat "$tools/.installed-zig" 2>/dev/null)" != "$zig_reqs" ]; then
    "$tools/bin/pip" install --quiet $zig_reqs || return 1
    echo "$zig_reqs" >"$tools/.installed-zig"
  fi
  zig=$("$tools/bin/python" -c \
    'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))') || return 1
  "$zig" version >/dev/null 2>&1 && "$tools/bin/cargo-zigbuild" --version >/dev/null 2>&1
}

macos_link() {
  # Linking for macOS with cargo-zigbuild: Zig brings macOS's libc headers
  # and the stubs of libSystem (and libiconv), not Apple's frameworks (see
  # macos_frameworks). src/sys asks the C library for host and user names
  # and the local time zone. The zstd and ring C sources are compiled by
  # `zig cc`. Linked and inspected, never run (no macOS here).
  if [ -z "${zig:-}" ] && ! zig_tools; then
    echo "cross-check: macos_link needs ziglang and cargo-zigbuild (pip install failed)" >&2
    return 1
  fi
  local t
  for t in ${EVIDENT_MACOS_TARGETS:-aarch64-apple-darwin x86_64-apple-darwin}; do
    echo "== macOS ($t): library (cdylib, staticlib), C ABI and CLI with every feature for macOS $(macos_minos "$t")+, linked by cargo-zigbuild (not run)"
    macos_release "$t" --lib --bins
    macho_check "$t" "$root/target/xcheck/$t/release"
  done
}

# Reads the Mach-O files just linked (scripts/macos_check.py: Python, no
# Apple or LLVM tools): they are for the target's architecture and minimum
# macOS version (and signed, on arm64); the library is a dynamic library
# with the install name @rpath/libevident.dylib that exports every function
# of abi/symbols.txt (the postgres feature's too) and no other symbol;
# library and CLI link only the system's libraries in /usr/lib (no
# frameworks, no path of this machine).
# macos_release TARGET CARGO_ARGS...: a release build for TARGET, the one
# build both macos_link and macos_wheel check (one build per target: the
# same flags, so the second step finds it done). Stripped by the linker
# (-s), which signs the file last: not by rustc, which would run
# rust-objcopy on it afterwards (Cargo's default strip=debuginfo for a
# profile without debug information).
macos_release() {
  local t=$1
  shift
  CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=none \
    macos_cargo "$t" " -Clink-arg=-Wl,-s" --release "$@"
}

macho_check() {
  python3 "$root/scripts/macos_check.py" link "$1" "$2" "$(macos_minos "$1")" "$root/abi/symbols.txt"
}

# The Python wheels for macOS, one per architecture, each for every Python 3
# (the library is loaded with ctypes), into $EVIDENT_MACOS_WHEEL_DIR
# (default target/xcheck/wheels):
#   evident_audit-VERSION-py3-none-macosx_11_0_arm64.whl
#   evident_audit-VERSION-py3-none-macosx_10_12_x86_64.whl
# Each holds the package and libevident.dylib, as the Linux wheel holds the
# package and _libevident.so (no CLI: the Linux wheel has none either):
# the library is a release build with every feature, linked by
# cargo-zigbuild, stripped by the linker (-s: no debug information; the
# panic messages' source paths stay, as in the Linux wheel), and packaged
# by bindings/python/setup.py
# (EVIDENT_PREBUILT_LIBRARY, EVIDENT_WHEEL_PLATFORM). Each wheel is then
# unpacked and read (scripts/macos_check.py wheel: name and WHEEL tag,
# RECORD hashes, the Mach-O architecture, minimum macOS, code signature
# (its page hashes), links and exports of every binary, that
# evident/_native.py finds the library),
# and the check is shown to reject wrong wheels made from it
# (macos_check.py wrong-wheels). Nothing is installed or run: no macOS here.
macos_wheel() {
  if [ -z "${zig:-}" ] && ! zig_tools; then
    echo "cross-check: macos_wheel needs ziglang and cargo-zigbuild (pip install failed)" >&2
    return 1
  fi
  local out=${EVIDENT_MACOS_WHEEL_DIR:-$root/target/xcheck/wheels} t plat lib whl tmp
  case "$out" in /*) ;; *) out=$root/$out ;; esac
  mkdir -p "$out"
  for t in ${EVIDENT_MACOS_TARGETS:-aarch64-apple-darwin x86_64-apple-darwin}; do
    case $t in aarch64-*) plat=macosx_11_0_arm64 ;; *) plat=macosx_10_12_x86_64 ;; esac
    echo "== macOS ($t): release library for the wheel (py3-none-$plat)"
    macos_release "$t" --lib
    lib="$root/target/xcheck/$t/release/libevident.dylib"
    tmp=$(mktemp -d)
    EVIDENT_PREBUILT_LIBRARY="$lib" EVIDENT_WHEEL_PLATFORM=$plat \
      "$root/target/py-tools/bin/pip" wheel --quiet --no-deps -w "$tmp" "$root/bindings/python"
    whl=$(ls "$tmp"/evident_audit-*-py3-none-$plat.whl)
    rm -f "$out"/evident_audit-*-py3-none-$plat.whl
    mv "$whl" "$out/"
    rm -rf "$tmp"
    whl="$out/$(basename "$whl")"
    python3 "$root/scripts/macos_check.py" wheel "$whl" "$root/abi/symbols.txt"
    python3 "$root/scripts/macos_check.py" wrong-wheels "$whl" "$root/abi/symbols.txt"
  done
}

msrv() {
  # The library and the CLI (what a user of the crate compiles); the tests,
  # benches and examples use newer dev-dependencies and are built with the
  # stable toolchain (EVIDENT_MSRV_ALL=1 checks them too, ~15 min).
  local what=(--lib --bins)
  [ "${EVIDENT_MSRV_ALL:-}" = 1 ] && what=(--all-targets)
  echo "== MSRV: the declared rust-version ($("$rustc" -V | cut -d' ' -f2)) builds ${what[*]}"
  RUSTC="$rustc" CARGO_TARGET_DIR="$root/target/msrv" cargo check --locked "${what[@]}"
}

fetch_toolchain
for step in "${@:-windows macos msrv}"; do
  for s in $step; do "$s"; done
done
