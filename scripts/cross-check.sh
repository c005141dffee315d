#!/usr/bin/env bash
# Cross-checks the crate for Windows (x86_64-pc-windows-gnu) and macOS
# (aarch64-apple-darwin), and builds it with its declared MSRV (1.85).
#
# rustup cannot download other targets' standard libraries here, so this
# uses Debian's rustc 1.85 and its rust-src (Debian trixie packages,
# unpacked into target/xrust, the system untouched) and builds the standard
# library for each target with -Zbuild-std (RUSTC_BOOTSTRAP=1).
# Windows: library, CLI and C ABI are compiled and linked with mingw-w64
# (installed from Debian when missing); the unit tests and the integration
# tests that build for Windows run under Wine (Debian's wine64, installed
# when missing), and so do the CLI on spec/vectors and the C test programs
# (see wine_tests). `windows_wheel`: the Python wheel for Windows
# (py3-none-win_amd64) from a release build of the library, read and checked
# (scripts/windows_check.py), its DLL loaded and used under Wine alone in an
# empty directory.
# macOS (aarch64-apple-darwin and x86_64-apple-darwin): library, C ABI and
# CLI with every feature linked with cargo-zigbuild (no Apple SDK needed)
# and the Mach-O files inspected, then the Python wheels built from release
# libraries and inspected (scripts/macos_check.py), nothing run; without Zig
# (its PyPI package cannot be installed), aarch64 is only type-checked.
# `macos_link` and `macos_wheel` (each of the two) link or fail.
#
# Usage: scripts/cross-check.sh [check|windows|windows_wheel|macos|msrv|macos_link|macos_wheel]...
#        (default: windows windows_wheel macos msrv, about an hour on two
#        cores; `check`, run by scripts/test.sh in CI, type-checks only)
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

# mingw-w64 (installed from Debian when missing), and the CRT start/end
# objects the windows-gnu linker wants, which -Zbuild-std does not build:
# built from the same rust-src.
mingw_setup() {
  if ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-mingw-w64-x86-64 >/dev/null
  fi
  local rtdir="$sysroot/usr/lib/rustlib/x86_64-pc-windows-gnu/lib"
  if [ ! -f "$rtdir/rsend.o" ]; then
    mkdir -p "$rtdir"
    for f in rsbegin rsend; do
      RUSTC_BOOTSTRAP=1 "$rustc" --target x86_64-pc-windows-gnu --emit=obj -C panic=abort -O \
        -o "$rtdir/$f.o" "$sysroot/usr/lib/rustlib/src/rust/library/rtstartup/$f.rs"
    done
  fi
}

windows() {
  mingw_setup
  echo "== Windows (x86_64-pc-windows-gnu): library, C ABI and CLI, linked"
  xcargo build --locked -Zbuild-std=std,panic_abort,panic_unwind \
    --target x86_64-pc-windows-gnu --lib --bins
  wine_tests
}

# Debian's wine64 (installed when missing, like mingw) and the Wine prefix
# target/xcheck/wineprefix; sets $wine and exports WINEPREFIX. Needs mingw
# (mingw_setup).
wine_setup() {
  wine=/usr/lib/wine/wine64
  if [ ! -x "$wine" ]; then
    echo "== Windows: installing Debian's wine64 (runs the Windows tests)"
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine64)
    "${apt[@]}" >/dev/null || { apt-get update -qq && "${apt[@]}" >/dev/null; }
  fi
  local x="$root/target/xcheck"
  export WINEPREFIX="$x/wineprefix" WINEDEBUG=-all
  local sys32="$WINEPREFIX/drive_c/windows/system32"
  [ -d "$sys32" ] || "$wine" wineboot --init >/dev/null 2>&1 || true
  [ -d "$sys32" ] || { echo "cross-check: could not create the Wine prefix $WINEPREFIX" >&2; return 1; }
  # Wine 8 (Debian 12) lacks bcryptprimitives.dll, whose ProcessPrng the
  # standard library uses for randomness: a stand-in over RtlGenRandom in
  # the prefix's system32 (Windows 10 and later have the DLL), for the test
  # programs, the CLI, the C tests and the wheel's DLL.
  if [ ! -f "$sys32/bcryptprimitives.dll" ]; then
    cat > "$x/prng.c" <<'C'
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
    x86_64-w64-mingw32-gcc -shared -O2 -o "$sys32/bcryptprimitives.dll" "$x/prng.c" -ladvapi32
  fi
}

# The Rust tests under Wine (Debian's wine64, installed when missing, like
# mingw above): the library's unit tests and every integration test that
# builds for Windows; then the CLI on the spec's test vectors and the C test
# programs (tests/c) built with mingw against evident.dll.
#
# Not built for Windows (they use Unix-only APIs throughout: fork, kill,
# signals, prctl, FIFOs, permission bits, symbolic links, the C library's
# file descriptors): concurrency crash locking session_crash
# session_hardening. In the others, a test that needs a Unix API is
# cfg(unix). Not run: pg, pg_reproduce, pg_restart
# (PostgreSQL), and the heavy suites whose platform code the others already
# cover (power_cut, fuzz_regressions: 340 s under Wine, verify_memory).
# The other fuzz-regression suites run: seconds each.
wine_tests() {
  wine_setup
  local tests=(basic tamper vectors record_rules verify_hardening api tracing_layer batch
    c_abi checkpoint_attacks checkpoint_auto checkpoint_vectors cli cli_checkpoint cli_conventions
    cli_report cli_seeds cli_session fast_record faults recovery session session_import
    session_layering session_threads session_vectors checkpoint_fuzz_regressions
    import_fuzz_regressions session_fuzz_regressions text_fuzz_regressions openparallax_legacy
    openparallax_fuzz_regressions)
  local args=()
  for t in "${tests[@]}"; do args+=(--test "$t"); done
  echo "== Windows: unit tests and integration tests build (${tests[*]})"
  xcargo test --locked -Zbuild-std=std,panic_abort,panic_unwind \
    --target x86_64-pc-windows-gnu --no-run --lib "${args[@]}"

  local x="$root/target/xcheck" out="$root/target/xcheck/x86_64-pc-windows-gnu/debug"

  # Skipped under Wine, each for a limitation of Wine 8 (not of Windows),
  # shown by scripts/wine-probes.c (build it with mingw, run it under Wine):
  # - replacing a file that is open (rename over it): Windows 10+ does it
  #   with POSIX semantics (std's rename falls back to FileRenameInfoEx
  #   when MoveFileEx is refused); Wine 8 refuses FileRenameInfoEx with
  #   ERROR_INVALID_PARAMETER, so the rename fails with "access denied".
  local skips=(
    a_file_replaced_while_waiting_is_reopened  # lock: rename over the locked file
    # session compaction renames over the open (locked) session file
    save_and_file_functions_through_the_boundary a_torn_tail_is_moved_aside_by_compact
    compact_keeps_the_newest_version compression_and_keys round_trip_versions_incremental_compact
    # the checkpoint's stored tree is rebuilt and renamed over the open one
    damaged_stored_tree_is_rebuilt rollback_to_an_older_copy a_rolled_back_log_is_not_signed
    the_whole_workflow
    # Not for Wine: tamper's single-bit flips of whole logs (a verification
    # per bit, platform-neutral parsing that the Linux run covers) take over
    # 10 minutes under Wine; tamper's other tests run.
    flip_every_bit
  )
  local skip_args=()
  for t in "${skips[@]}"; do skip_args+=(--skip "$t"); done
  echo "== Windows: the same tests under Wine (skipped: ${skips[*]})"
  # The runner without its own variable: assert_cmd reads it and would run
  # the CLI through it, from inside Wine.
  # scripts/wine-run.sh runs each program again when Wine itself lost its
  # server connection (see there; never when a test failed).
  local runner="env -u CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER EVIDENT_WINE=$wine $root/scripts/wine-run.sh"
  CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$runner" xcargo test --locked \
    -Zbuild-std=std,panic_abort,panic_unwind --target x86_64-pc-windows-gnu --no-fail-fast \
    --lib "${args[@]}" -- --test-threads=2 "${skip_args[@]}"

  echo "== Windows: evident.exe verify on the spec's test vectors (exit 0 valid, 1 invalid, 2 not a log)"
  EVIDENT_WINE=$wine python3 "$root/scripts/verify-vectors.py" "$root/spec/vectors" \
    "$root/scripts/wine-run.sh" "$out/evident.exe"

  echo "== Windows: the C test programs (tests/c), built with mingw against evident.dll"
  local cdir="$x/wine-c"
  rm -rf "$cdir" && mkdir -p "$cdir"
  cp "$out/evident.dll" "$cdir/"
  wine_c_tests "$cdir" "$out/libevident.dll.a"
}

# wine_c_tests DIR LIB: builds each program of tests/c with mingw into DIR,
# linked against LIB (an import library or the DLL itself), and runs it
# under Wine in DIR, next to DIR/evident.dll.
wine_c_tests() {
  local dir=$1 lib=$2 src p
  for src in "$root"/tests/c/*.c; do
    p=$(basename "$src" .c)
    x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -Werror -O1 -I"$root/include" \
      -o "$dir/$p.exe" "$src" "$lib"
    # session_test compacts a session (a rename over the open file: Wine
    # 8's limitation, see wine_tests): built, not run.
    [ "$p" = session_test ] && continue
    mkdir "$dir/work-$p"
    echo "$p.exe:"
    (cd "$dir" && EVIDENT_WINE=$wine "$root/scripts/wine-run.sh" "./$p.exe" "work-$p")
  done
  # Wine's server stays a few seconds after the last program: wait for it.
  /usr/lib/wine/wineserver -w 2>/dev/null || true
}

# The Python wheel for Windows, for every Python 3 (the library is loaded
# with ctypes), into $EVIDENT_WINDOWS_WHEEL_DIR (default
# target/xcheck/wheels):
#   evident_audit-VERSION-py3-none-win_amd64.whl
# holding the package and evident.dll, as the Linux wheel holds the package
# and _libevident.so (no CLI: the Linux wheel has none either): the library
# is a release build with the default features (as the Linux wheel's),
# cross-built with mingw-w64 like the `windows` step's, without debug
# information and stripped by the linker (--strip-all: no COFF symbol
# table; the panic messages' source paths stay, as in the Linux wheel),
# packaged by bindings/python/setup.py (EVIDENT_PREBUILT_LIBRARY,
# EVIDENT_WHEEL_PLATFORM) with pinned setuptools in target/py-wheel.
# Then:
# - the wheel is read (scripts/windows_check.py wheel: name and WHEEL tag,
#   METADATA, RECORD hashes and sizes, one binary, evident/evident.dll: a
#   PE32+ DLL for x86-64, stripped, exporting exactly abi/symbols.txt's
#   functions and importing only Windows system DLLs, none of mingw's
#   runtime DLLs; evident/_native.py finds it), binutils' objdump reads the
#   same imports and exports, and the check is shown to reject wrong wheels
#   made from it (windows_check.py wrong-wheels);
# - under Wine, the wheel's evident.dll alone in an empty directory
#   (target/xcheck/wine-wheel/dll): loaded as CPython's ctypes loads a
#   library on Windows (scripts/windows-dll-load.c: LoadLibraryExW, its
#   dependencies looked up only in its own directory and system32), every
#   function of abi/symbols.txt resolved, a log created, appended, closed,
#   verified, tampered with and verified again; and the C test programs
#   (tests/c) linked with mingw directly against that evident.dll (no
#   import library) and run next to it. Wine's system32 has nothing of
#   mingw's (only the bcryptprimitives.dll stand-in, see wine_setup): a
#   missing dependency fails the load.
# No Windows CPython here: `import evident` on Windows is not run.
windows_wheel() {
  mingw_setup
  echo "== Windows (x86_64-pc-windows-gnu): release library for the wheel (py3-none-win_amd64)"
  CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols \
    xcargo build --locked --release -Zbuild-std=std,panic_abort,panic_unwind \
    --target x86_64-pc-windows-gnu --lib
  local dll="$root/target/xcheck/x86_64-pc-windows-gnu/release/evident.dll"
  local out=${EVIDENT_WINDOWS_WHEEL_DIR:-$root/target/xcheck/wheels} whl tmp
  case "$out" in /*) ;; *) out=$root/$out ;; esac
  mkdir -p "$out"
  wheel_tools
  tmp=$(mktemp -d)
  EVIDENT_PREBUILT_LIBRARY="$dll" EVIDENT_WHEEL_PLATFORM=win_amd64 \
    "$root/target/py-wheel/bin/pip" wheel --quiet --no-deps --no-build-isolation -w "$tmp" \
    "$root/bindings/python"
  whl=$(ls "$tmp"/evident_audit-*-py3-none-win_amd64.whl)
  rm -f "$out"/evident_audit-*-py3-none-win_amd64.whl
  mv "$whl" "$out/"
  rm -rf "$tmp"
  whl="$out/$(basename "$whl")"
  echo "== Windows: $(basename "$whl") ($(du -k "$whl" | cut -f1) KiB) read and checked"
  python3 "$root/scripts/windows_check.py" wheel "$whl" "$root/abi/symbols.txt"
  python3 "$root/scripts/windows_check.py" wrong-wheels "$whl" "$root/abi/symbols.txt"
  local d="$root/target/xcheck/wine-wheel"
  rm -rf "$d" && mkdir -p "$d/dll" "$d/work" "$d/bad"
  python3 - "$whl" "$d/dll" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2] + "/evident.dll", "wb") as f:
    f.write(z.read("evident/evident.dll"))
PY
  python3 "$root/scripts/windows_check.py" objdump "$d/dll/evident.dll"

  echo "== Windows: the wheel's evident.dll alone in an empty directory, under Wine"
  wine_setup
  x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -Werror -O1 -I"$root/include" \
    -o "$d/windows-dll-load.exe" "$root/scripts/windows-dll-load.c"
  # Full Windows paths (Wine's Z: is /): the loader needs an absolute path.
  local wd="Z:${d//\//\\}" abi="Z:${root//\//\\}\\abi\\symbols.txt" res
  (cd "$d" && EVIDENT_WINE=$wine "$root/scripts/wine-run.sh" ./windows-dll-load.exe "$wd\\dll\\evident.dll" "$abi" "$wd\\work")
  # The control: the same DLL importing libgcc_s_seh-1.dll (which no
  # Windows and no Wine prefix has) must not load.
  python3 "$root/scripts/windows_check.py" rename-import "$d/dll/evident.dll" libgcc_s_seh-1.dll \
    "$d/bad/evident.dll"
  if res=$(cd "$d" && EVIDENT_WINE=$wine "$root/scripts/wine-run.sh" ./windows-dll-load.exe "$wd\\bad\\evident.dll" "$abi" "$wd\\work" 2>&1); then
    echo "cross-check: a DLL importing libgcc_s_seh-1.dll loaded under Wine: the load proves nothing" >&2
    return 1
  fi
  case $res in
    *"LoadLibraryExW"*"error 126"*) echo "control: the DLL patched to import libgcc_s_seh-1.dll is refused: $res" ;;
    *) echo "cross-check: the control DLL failed otherwise than as a missing module: $res" >&2; return 1 ;;
  esac
  echo "== Windows: the C test programs (tests/c) linked against the wheel's evident.dll, run next to it"
  wine_c_tests "$d/dll" "$d/dll/evident.dll"
}

# Pinned setuptools and setuptools-rust (setup.py imports it) in a venv of
# their own, target/py-wheel: the Windows wheel is packaged with them (no
# build isolation: nothing is fetched per build).
wheel_tools() {
  local tools="$root/target/py-wheel"
  local reqs="setuptools==80.9.0 setuptools-rust==1.12.0 semantic-version==2.10.0"
  [ -x "$tools/bin/python" ] || python3 -m venv "$tools"
  if [ "$(cat "$tools/.installed" 2>/dev/null)" != "$reqs" ]; then
    "$tools/bin/pip" install --quiet $reqs
    echo "$reqs" >"$tools/.installed"
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
    "$root/target/py-tools/bin/cargo-zigbuild" "${macos_sub:-zigbuild}" --locked -Zbuild-std=std,panic_abort,panic_unwind \
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

# The quick form, run by scripts/test.sh in CI (the full one takes about an
# hour here, more than CI's time with everything else): the library, the C
# ABI and the CLI type-checked for Windows and for macOS by Debian's rustc
# 1.85, the declared MSRV, which so checks the MSRV as well (all code but
# the Linux-only lines; `msrv` builds for Linux). Build scripts run, so
# zstd's C sources are compiled for each target (mingw; zig cc). Nothing is
# linked, packaged or run: `windows`, `windows_wheel` and `macos` do that.
# About 6 minutes from nothing on two cores (CI, toolchain downloaded).
check() {
  mingw_setup
  echo "== Windows (x86_64-pc-windows-gnu): library, C ABI and CLI type-checked with Rust $("$rustc" -V | cut -d' ' -f2), the MSRV (not linked, not run)"
  xcargo check --locked -Zbuild-std=std,panic_abort,panic_unwind \
    --target x86_64-pc-windows-gnu --lib --bins
  if ! zig_tools; then
    echo "cross-check: ziglang and cargo-zigbuild could not be installed: macOS not checked" >&2
    return 1
  fi
  echo "== macOS (aarch64-apple-darwin): library, C ABI and CLI with every feature type-checked with Rust $("$rustc" -V | cut -d' ' -f2) (not linked)"
  macos_sub=check macos_cargo aarch64-apple-darwin "" --lib --bins
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

# In CI (CI=true, or EVIDENT_CROSS_CLEAN=1) each step's build directory is
# removed once the step has passed: the Windows test programs alone take
# several GB, and CI's disk is shared (a full disk failed a CI run with
# "failed to write: NoSpaceLeft").
clean_after() {
  [ "${CI:-}" = true ] || [ "${EVIDENT_CROSS_CLEAN:-}" = 1 ] || return 0
  local d s
  case $1 in
    windows) d=(x86_64-pc-windows-gnu wine-c) ;;
    check) d=(x86_64-pc-windows-gnu aarch64-apple-darwin) ;;
    windows_wheel) d=(x86_64-pc-windows-gnu wine-wheel) ;;
    macos | macos_link | macos_wheel) d=(aarch64-apple-darwin x86_64-apple-darwin) ;;
    *) return 0 ;;
  esac
  for s in "${d[@]}"; do rm -rf "${root:?}/target/xcheck/$s"; done
  df -h "$root/target" | tail -1 | awk '{print "cross-check: " $4 " free after " step}' step="$1"
}

fetch_toolchain
for step in "${@:-windows windows_wheel macos msrv}"; do
  for s in $step; do
    "$s"
    # macos_link's build is the one macos_wheel packages: kept until then.
    [ "$s" = macos_link ] || clean_after "$s"
  done
done
