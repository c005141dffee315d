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
# tests are built and, when Debian's wine64 is installed, run under Wine. macOS: type-checked only
# (no Apple SDK or linker here), without the zstd feature, whose C sources
# need the SDK's headers.
#
# Linking for macOS: `macos_link` (cargo-zigbuild), only with an Apple SDK
# in SDKROOT (see there).
#
# Usage: scripts/cross-check.sh [windows|macos|msrv|macos_link]...
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
  echo "== macOS (aarch64-apple-darwin): library (no zstd), C ABI and CLI type-check"
  xcargo check --locked -Zbuild-std=std,panic_abort,panic_unwind \
    --target aarch64-apple-darwin --no-default-features --features cli --lib --bins
}

macos_link() {
  # Linking for macOS with cargo-zigbuild: Zig (PyPI's `ziglang`, in
  # target/py-tools as scripts/build-wheel.sh installs it) brings macOS's
  # libc headers and libSystem stubs, not Apple's frameworks. Everything
  # compiles, but the link of libevident.dylib and the CLI needs the
  # CoreFoundation framework (chrono's local time zone, iana-time-zone) and
  # SystemConfiguration (whoami's host name): "unable to find system
  # framework". So this step (not among the defaults) runs only with an
  # Apple SDK named by SDKROOT (cargo-zigbuild passes its frameworks to zig).
  if [ -z "${SDKROOT:-}" ]; then
    echo "== macOS link: skipped (needs SDKROOT=<MacOSX.sdk> for CoreFoundation and SystemConfiguration)"
    return 0
  fi
  local tools="$root/target/py-tools" zig_reqs="ziglang==0.17.1 cargo-zigbuild==0.24.1"
  [ -x "$tools/bin/python" ] || python3 -m venv "$tools"
  if [ "$(cat "$tools/.installed-zig" 2>/dev/null)" != "$zig_reqs" ]; then
    "$tools/bin/pip" install --quiet $zig_reqs && echo "$zig_reqs" >"$tools/.installed-zig"
  fi
  local zig
  zig=$("$tools/bin/python" -c \
    'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')
  local t
  for t in ${EVIDENT_MACOS_TARGETS:-aarch64-apple-darwin x86_64-apple-darwin}; do
    echo "== macOS ($t): library (no zstd), C ABI and CLI, linked by cargo-zigbuild (not run)"
    RUSTC="$rustc" RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$root/target/xcheck" CARGO_INCREMENTAL=0 \
      CARGO_ZIGBUILD_ZIG_PATH="$zig" CARGO_ZIGBUILD_CACHE_DIR="$root/target/zig-cache" \
      ZIG_GLOBAL_CACHE_DIR="$root/target/zig-cache/zig" ZIG_LOCAL_CACHE_DIR="$root/target/zig-cache/zig-local" \
      "$tools/bin/cargo-zigbuild" zigbuild --locked -Zbuild-std=std,panic_abort,panic_unwind \
      --target "$t" --no-default-features --features cli --lib --bins
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
