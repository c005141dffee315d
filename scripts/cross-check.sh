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
# (see wine_tests).
# macOS (aarch64-apple-darwin and x86_64-apple-darwin): library, C ABI and
# CLI linked with cargo-zigbuild (no Apple SDK needed) and the Mach-O files
# inspected, nothing run; without Zig (its PyPI package cannot be
# installed), aarch64 is only type-checked. `macos_link` links or fails.
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
  wine_tests
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
# cover (power_cut, fuzz_regressions, session_fuzz_regressions,
# verify_memory): minutes each under Wine.
wine_tests() {
  local wine=/usr/lib/wine/wine64
  if [ ! -x "$wine" ]; then
    echo "== Windows: installing Debian's wine64 (runs the Windows tests)"
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine64)
    "${apt[@]}" >/dev/null || { apt-get update -qq && "${apt[@]}" >/dev/null; }
  fi
  local tests=(basic tamper vectors record_rules verify_hardening api tracing_layer batch
    c_abi checkpoint_attacks checkpoint_auto checkpoint_vectors cli cli_checkpoint cli_conventions
    cli_report cli_seeds cli_session fast_record faults recovery session session_import
    session_layering session_threads session_vectors)
  local args=()
  for t in "${tests[@]}"; do args+=(--test "$t"); done
  echo "== Windows: unit tests and integration tests build (${tests[*]})"
  xcargo test --locked -Zbuild-std=std,panic_abort,panic_unwind \
    --target x86_64-pc-windows-gnu --no-run --lib "${args[@]}"

  local x="$root/target/xcheck" out="$root/target/xcheck/x86_64-pc-windows-gnu/debug"
  export WINEPREFIX="$x/wineprefix" WINEDEBUG=-all
  local sys32="$WINEPREFIX/drive_c/windows/system32"
  [ -d "$sys32" ] || "$wine" wineboot --init >/dev/null 2>&1 || true
  [ -d "$sys32" ] || { echo "cross-check: could not create the Wine prefix $WINEPREFIX" >&2; return 1; }
  # Wine 8 (Debian 12) lacks bcryptprimitives.dll, whose ProcessPrng the
  # standard library uses for randomness: a stand-in over RtlGenRandom in
  # the prefix's system32, for the test programs, the CLI and the C tests.
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
    # A Windows bug, not Wine's (open): saving a session loaded from a file
    # with a torn tail back into that file fails there with
    # ERROR_USER_MAPPED_FILE: the loaded traces map the file, and Windows
    # does not shorten a mapped file. The save fails cleanly (I/O error,
    # nothing lost or written).
    truncated_at_every_offset_loads_previous_version
  )
  local skip_args=()
  for t in "${skips[@]}"; do skip_args+=(--skip "$t"); done
  echo "== Windows: the same tests under Wine (skipped: ${skips[*]})"
  # The runner without its own variable: assert_cmd reads it and would run
  # the CLI through it, from inside Wine.
  local runner="env -u CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER $wine"
  CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$runner" xcargo test --locked \
    -Zbuild-std=std,panic_abort,panic_unwind --target x86_64-pc-windows-gnu --no-fail-fast \
    --lib "${args[@]}" -- --test-threads=2 "${skip_args[@]}"

  echo "== Windows: evident.exe verify on the spec's test vectors (exit 0 valid, 1 invalid, 2 not a log)"
  # One Wine server for the 127 runs, kept for 30 s after its last client
  # (it then exits by itself, also when a step fails): started per run, it
  # cost about 2 s each (0.2 s with it kept).
  /usr/lib/wine/wineserver -p30
  python3 "$root/scripts/verify-vectors.py" "$root/spec/vectors" "$wine" "$out/evident.exe"

  echo "== Windows: the C test programs (tests/c), built with mingw against evident.dll"
  local cdir="$x/wine-c"
  rm -rf "$cdir" && mkdir -p "$cdir"
  cp "$out/evident.dll" "$cdir/"
  local src p
  for src in "$root"/tests/c/*.c; do
    p=$(basename "$src" .c)
    x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -Werror -O1 -I"$root/include" \
      -o "$cdir/$p.exe" "$src" "$out/libevident.dll.a"
    # session_test compacts a session (a rename over the open file: the
    # Wine limitation above): built, not run.
    [ "$p" = session_test ] && continue
    mkdir "$cdir/work-$p"
    (cd "$cdir" && "$wine" "./$p.exe" "work-$p")
  done
  # Wine's server stays a few seconds after the last program: wait for it.
  /usr/lib/wine/wineserver -w 2>/dev/null || true
}

macos() {
  # Linked with cargo-zigbuild when Zig can be had (the pinned PyPI
  # packages, as scripts/build-wheel.sh installs them); else type-checked.
  if zig_tools; then
    macos_link
  else
    echo "== macOS (aarch64-apple-darwin): library, C ABI and CLI type-check (Zig unavailable: not linked)"
    xcargo check --locked -Zbuild-std=std,panic_abort,panic_unwind \
      --target aarch64-apple-darwin --no-default-features --features "$macos_features" --lib --bins
  fi
}

# Every feature but `postgres`, whose dependencies (chrono's `clock`,
# whoami 2 in tokio-postgres) link Apple's CoreFoundation and
# SystemConfiguration frameworks, which Zig does not ship.
macos_features=cli,tracing,zstd
# The C functions of the `postgres` feature (not built for macOS here).
postgres_symbols=(evident_ship evident_db_cross_check evident_db_query evident_db_verify)

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
  # and the stubs of libSystem (and libiconv), not Apple's frameworks, which
  # the crate does not need (src/sys asks the C library for host and user
  # names and the local time zone). The zstd C sources are compiled by
  # `zig cc`. Linked and inspected, never run (no macOS here).
  if [ -z "${zig:-}" ] && ! zig_tools; then
    echo "cross-check: macos_link needs ziglang and cargo-zigbuild (pip install failed)" >&2
    return 1
  fi
  local t out minos
  for t in ${EVIDENT_MACOS_TARGETS:-aarch64-apple-darwin x86_64-apple-darwin}; do
    # Rust's oldest macOS for each target. Without MACOSX_DEPLOYMENT_TARGET
    # Zig writes its own default, macOS 15.0, as the binaries' minimum
    # (rustc's -mmacosx-version-min is not honoured).
    case $t in aarch64-*) minos=11.0 ;; *) minos=10.12 ;; esac
    echo "== macOS ($t): library (cdylib, staticlib), C ABI and CLI for macOS $minos+, linked by cargo-zigbuild (not run)"
    # Zig's linker ignores rustc's -exported_symbols_list (Apple's honours
    # it) and would export every Rust symbol (about 80,000): hidden
    # visibility by default leaves only the C ABI's #[no_mangle] functions.
    MACOSX_DEPLOYMENT_TARGET=$minos RUSTFLAGS="-Zdefault-visibility=hidden" RUSTC="$rustc" RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$root/target/xcheck" CARGO_INCREMENTAL=0 \
      CARGO_ZIGBUILD_ZIG_PATH="$zig" CARGO_ZIGBUILD_CACHE_DIR="$root/target/zig-cache" \
      ZIG_GLOBAL_CACHE_DIR="$root/target/zig-cache/zig" ZIG_LOCAL_CACHE_DIR="$root/target/zig-cache/zig-local" \
      "$root/target/py-tools/bin/cargo-zigbuild" zigbuild --locked -Zbuild-std=std,panic_abort,panic_unwind \
      --target "$t" --no-default-features --features "$macos_features" --lib --bins
    out="$root/target/xcheck/$t/debug"
    macho_check "$t" "$out" "$minos"
  done
}

# Reads the Mach-O files just linked (Python, no Apple or LLVM tools): they
# are for the target's architecture and minimum macOS version (and signed,
# on arm64); the library is a dynamic library with the
# install name @rpath/libevident.dylib that exports every function of
# abi/symbols.txt (but the postgres feature's) and no other symbol;
# library and CLI link only the system's libraries in /usr/lib (no
# frameworks, no path of this machine).
macho_check() {
  python3 - "$1" "$2" "$3" "$root/abi/symbols.txt" "${postgres_symbols[@]}" <<'PY'
import struct, sys

ARCH = {"aarch64": (0x0100000C, "arm64"), "x86_64": (0x01000007, "x86_64")}
MH_EXECUTE, MH_DYLIB = 2, 6
LC_ID_DYLIB, LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB = 0xD, 0xC, 0x80000018, 0x8000001F
LC_DYLD_INFO_ONLY, LC_DYLD_EXPORTS_TRIE = 0x80000022, 0x80000033
LC_CODE_SIGNATURE, LC_VERSION_MIN_MACOSX, LC_BUILD_VERSION = 0x1D, 0x24, 0x32


def fail(msg):
    sys.exit(f"macOS link check: {msg}")


def uleb(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def macho(path):
    b = open(path, "rb").read()
    if len(b) < 32 or struct.unpack_from("<I", b)[0] != 0xFEEDFACF:
        fail(f"{path}: not a 64-bit little-endian Mach-O file")
    _, cpu, _, ftype, ncmds, _, _, _ = struct.unpack_from("<8I", b)
    off, dylib_id, deps, trie, minos, signed = 32, None, [], None, None, False
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<2I", b, off)
        if cmd in (LC_ID_DYLIB, LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB):
            name_off = struct.unpack_from("<I", b, off + 8)[0]
            name = b[off + name_off:off + size].split(b"\0")[0].decode()
            if cmd == LC_ID_DYLIB:
                dylib_id = name
            else:
                deps.append(name)
        elif cmd == LC_DYLD_INFO_ONLY:
            eo, es = struct.unpack_from("<2I", b, off + 40)
            trie = (eo, es)
        elif cmd == LC_DYLD_EXPORTS_TRIE:
            trie = struct.unpack_from("<2I", b, off + 8)
        elif cmd == LC_BUILD_VERSION:
            platform, v = struct.unpack_from("<2I", b, off + 8)
            if platform != 1:
                fail(f"{path}: built for platform {platform}, not macOS")
            minos = f"{v >> 16}.{(v >> 8) & 0xFF}"
        elif cmd == LC_VERSION_MIN_MACOSX:
            v = struct.unpack_from("<I", b, off + 8)[0]
            minos = f"{v >> 16}.{(v >> 8) & 0xFF}"
        elif cmd == LC_CODE_SIGNATURE:
            signed = True
        off += size
    exports = []
    if trie and trie[1]:
        data = b[trie[0]:trie[0] + trie[1]]
        stack = [(0, b"")]
        seen = set()
        while stack:
            node, prefix = stack.pop()
            if node in seen:
                fail(f"{path}: export trie loops")
            seen.add(node)
            size, i = uleb(data, node)
            if size:
                exports.append(prefix.decode())
            i += size
            n, i = data[i], i + 1
            for _ in range(n):
                end = data.index(b"\0", i)
                label, i = data[i:end], end + 1
                child, i = uleb(data, i)
                stack.append((child, prefix + label))
    if minos != want_minos:
        fail(f"{path}: minimum macOS {minos}, expected {want_minos} (MACOSX_DEPLOYMENT_TARGET)")
    # arm64 macOS runs only signed code: the linker's ad-hoc signature.
    if arch == "arm64" and not signed:
        fail(f"{path}: no code signature (arm64 macOS refuses to load it)")
    return cpu, ftype, dylib_id, deps, exports


def check_deps(path, deps):
    for d in deps:
        if not d.startswith("/usr/lib/") or "/System/Library/Frameworks/" in d:
            fail(f"{path}: links {d} (only the system's /usr/lib libraries are expected)")


target, outdir, want_minos, symbols = sys.argv[1:5]
skip = set(sys.argv[5:])
cpu_want, arch = ARCH[target.split("-")[0]]
want = set()
for line in open(symbols):
    if line.strip() and not line.startswith("#"):
        name = line.split("(")[0].split()[-1].lstrip("*")
        if name not in skip:
            want.add(name)

lib = f"{outdir}/libevident.dylib"
cpu, ftype, dylib_id, deps, exports = macho(lib)
if cpu != cpu_want or ftype != MH_DYLIB:
    fail(f"{lib}: cpu type {cpu:#x}, file type {ftype}: expected an {arch} dynamic library")
if dylib_id != "@rpath/libevident.dylib":
    fail(f"{lib}: install name {dylib_id!r}, expected '@rpath/libevident.dylib'")
check_deps(lib, deps)
got = {e[1:] for e in exports if e.startswith("_evident_")}
if want - got:
    fail(f"{lib}: does not export {sorted(want - got)}")
if got - want:
    fail(f"{lib}: exports {sorted(got - want)}, not in {symbols}")
other = sorted(e for e in exports if not e.startswith("_evident_"))
if other != ["___dso_handle", "__mh_dylib_header"]:
    fail(f"{lib}: exports {len(other)} symbols besides evident_*, e.g. {other[:5]}")
print(f"{target}: libevident.dylib: {arch} dynamic library for macOS {want_minos}+, install name {dylib_id},"
      f" exports the {len(got)} evident_* functions and nothing else (but the linker's {', '.join(other)});"
      f" links {', '.join(deps)}")

cli = f"{outdir}/evident"
cpu, ftype, _, deps, _ = macho(cli)
if cpu != cpu_want or ftype != MH_EXECUTE:
    fail(f"{cli}: cpu type {cpu:#x}, file type {ftype}: expected an {arch} executable")
check_deps(cli, deps)
print(f"{target}: evident: {arch} executable for macOS {want_minos}+; links {', '.join(deps)}")

a = f"{outdir}/libevident.a"
with open(a, "rb") as f:
    if f.read(8) != b"!<arch>\n":
        fail(f"{a}: not an ar archive")
print(f"{target}: libevident.a: ar archive")
PY
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
