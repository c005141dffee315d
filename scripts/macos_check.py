"""Reads the macOS builds of evident without Apple or LLVM tools (nothing
here can run a Mach-O file: the checks read the files).

    macos_check.py link TARGET OUTDIR MINOS SYMBOLS
        the library (cdylib, staticlib) and CLI that cargo-zigbuild linked
        into OUTDIR for TARGET (scripts/cross-check.sh macos_link);
    macos_check.py wheel WHEEL SYMBOLS
        a macOS wheel (scripts/cross-check.sh macos_wheel): its name, tag,
        WHEEL and RECORD files, every binary in it, and that the package's
        own evident/_native.py finds the library in it;
    macos_check.py wrong-wheels WHEEL SYMBOLS
        the wheel check rejects wrong wheels made from the good WHEEL (a
        wrong tag, architecture, minimum macOS, hash, library name, an ELF
        file in it, ...), each with the message expected.

SYMBOLS is abi/symbols.txt: the library must export every function listed
there and no other symbol (but the two the linker adds). Both libraries and
executables must be for the target's architecture and minimum macOS version,
signed on arm64 (the linker's ad-hoc signature: arm64 macOS loads only
signed code) and link only the system's libraries in /usr/lib: no framework
(see macos_frameworks in scripts/cross-check.sh), no path of this machine,
no run path.

Exits with a message naming the file and what is wrong at the first fault.
"""

import hashlib
import os
import struct
import sys
import zipfile

import wheel_check
from wheel_check import abi_symbols, fail

ARCH = {"aarch64": (0x0100000C, "arm64"), "x86_64": (0x01000007, "x86_64")}
MH_EXECUTE, MH_DYLIB = 2, 6
LC_ID_DYLIB, LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB = 0xD, 0xC, 0x80000018, 0x8000001F
LC_RPATH = 0x8000001C
LC_DYLD_INFO_ONLY, LC_DYLD_EXPORTS_TRIE = 0x80000022, 0x80000033
LC_CODE_SIGNATURE, LC_VERSION_MIN_MACOSX, LC_BUILD_VERSION = 0x1D, 0x24, 0x32
# The wheel platform tags and what they promise: the architecture and the
# oldest macOS (Rust's oldest for each target).
WHEEL_PLATFORMS = {
    "macosx_11_0_arm64": ("aarch64-apple-darwin", "11.0"),
    "macosx_10_12_x86_64": ("x86_64-apple-darwin", "10.12"),
}
LIBRARY = "evident/libevident.dylib"
wheel_check.PREFIX = "macOS check: "


def uleb(b, i):
    v = s = 0
    while True:
        if i >= len(b):
            raise IndexError("truncated ULEB128")
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


class MachO:
    """The load commands and exported names of a thin 64-bit Mach-O file."""

    def __init__(self, name, b):
        self.name = name
        if len(b) >= 4 and struct.unpack_from(">I", b)[0] in (0xCAFEBABE, 0xCAFEBABF):
            fail(f"{name}: a universal (fat) Mach-O file; the wheels hold one architecture each")
        if len(b) < 32 or struct.unpack_from("<I", b)[0] != 0xFEEDFACF:
            fail(f"{name}: not a 64-bit little-endian Mach-O file")
        _, self.cpu, _, self.ftype, ncmds, _, _, _ = struct.unpack_from("<8I", b)
        off = 32
        self.dylib_id, self.deps, self.rpaths = None, [], []
        self.minos, self.signed, trie = None, False, None
        self.data, self.signature = b, None
        try:
            for _ in range(ncmds):
                cmd, size = struct.unpack_from("<2I", b, off)
                if size < 8:
                    fail(f"{name}: load command {cmd:#x} of size {size}")
                if cmd in (LC_ID_DYLIB, LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, LC_RPATH):
                    name_off = struct.unpack_from("<I", b, off + 8)[0]
                    text = b[off + name_off:off + size].split(b"\0")[0].decode()
                    if cmd == LC_ID_DYLIB:
                        self.dylib_id = text
                    elif cmd == LC_RPATH:
                        self.rpaths.append(text)
                    else:
                        self.deps.append(text)
                elif cmd == LC_DYLD_INFO_ONLY:
                    trie = struct.unpack_from("<2I", b, off + 40)
                elif cmd == LC_DYLD_EXPORTS_TRIE:
                    trie = struct.unpack_from("<2I", b, off + 8)
                elif cmd == LC_BUILD_VERSION:
                    platform, v = struct.unpack_from("<2I", b, off + 8)
                    if platform != 1:
                        fail(f"{name}: built for platform {platform}, not macOS")
                    self.minos = f"{v >> 16}.{(v >> 8) & 0xFF}"
                elif cmd == LC_VERSION_MIN_MACOSX:
                    v = struct.unpack_from("<I", b, off + 8)[0]
                    self.minos = f"{v >> 16}.{(v >> 8) & 0xFF}"
                elif cmd == LC_CODE_SIGNATURE:
                    self.signed = True
                    self.signature = struct.unpack_from("<2I", b, off + 8)
                off += size
            self.exports = self._exports(b, trie)
        except (struct.error, IndexError, ValueError, UnicodeDecodeError) as e:
            fail(f"{name}: damaged Mach-O file ({e})")

    def _exports(self, b, trie):
        exports = []
        if not trie or not trie[1]:
            return exports
        data = b[trie[0]:trie[0] + trie[1]]
        stack, seen = [(0, b"")], set()
        while stack:
            node, prefix = stack.pop()
            if node in seen:
                fail(f"{self.name}: export trie loops")
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
        return exports

    def check_signature(self):
        """The code directory's page hashes match the file (a file changed
        after the linker signed it does not load on arm64 macOS)."""
        b, (off, size) = self.data, self.signature
        try:
            blob = b[off:off + size]
            magic, _, count = struct.unpack_from(">3I", blob)
            if magic != 0xFADE0CC0:
                fail(f"{self.name}: code signature is not an embedded signature blob")
            for k in range(count):
                slot, sub = struct.unpack_from(">2I", blob, 12 + 8 * k)
                if slot != 0:  # the code directory
                    continue
                (cd_magic, _, _, _, hash_off, _, _, n_code, code_limit, hash_size, hash_type,
                 _, page_log) = struct.unpack_from(">9I4B", blob, sub)
                if cd_magic != 0xFADE0C02 or hash_type != 2 or hash_size != 32:
                    fail(f"{self.name}: code directory magic {cd_magic:#x}, hash type"
                         f" {hash_type}: expected SHA-256 page hashes")
                page = 1 << page_log
                if n_code != (code_limit + page - 1) // page or code_limit != off:
                    fail(f"{self.name}: code directory covers {code_limit} bytes in {n_code}"
                         f" pages; the signature starts at {off}")
                for i in range(n_code):
                    start = sub + hash_off + i * hash_size
                    want = blob[start:start + hash_size]
                    got = hashlib.sha256(b[i * page:min((i + 1) * page, code_limit)]).digest()
                    if got != want:
                        fail(f"{self.name}: code signature does not match page {i}"
                             f" (bytes {i * page}..): the file changed after it was signed")
                return
            fail(f"{self.name}: code signature without a code directory")
        except struct.error as e:
            fail(f"{self.name}: damaged code signature ({e})")

    def check(self, target, want_minos, ftype):
        cpu_want, arch = ARCH[target.split("-")[0]]
        kind = {MH_DYLIB: "dynamic library", MH_EXECUTE: "executable"}[ftype]
        if self.cpu != cpu_want or self.ftype != ftype:
            fail(f"{self.name}: cpu type {self.cpu:#x}, file type {self.ftype}: expected an {arch} {kind}")
        if self.minos != want_minos:
            fail(f"{self.name}: minimum macOS {self.minos}, expected {want_minos}")
        if arch == "arm64" and not self.signed:
            fail(f"{self.name}: no code signature (arm64 macOS refuses to load it)")
        if self.signed:
            self.check_signature()
        for d in self.deps:
            if not d.startswith("/usr/lib/"):
                fail(f"{self.name}: links {d} (only the system's /usr/lib libraries are expected)")
        if self.rpaths:
            fail(f"{self.name}: run paths {self.rpaths} (nothing is looked up through them)")
        return arch


def check_library(lib, target, minos, want, quiet=False):
    """The C ABI library: exports exactly the functions of SYMBOLS."""
    arch = lib.check(target, minos, MH_DYLIB)
    if lib.dylib_id != "@rpath/libevident.dylib":
        fail(f"{lib.name}: install name {lib.dylib_id!r}, expected '@rpath/libevident.dylib'")
    got = {e[1:] for e in lib.exports if e.startswith("_evident_")}
    if want - got:
        fail(f"{lib.name}: does not export {sorted(want - got)}")
    if got - want:
        fail(f"{lib.name}: exports {sorted(got - want)}, not in abi/symbols.txt")
    other = sorted(e for e in lib.exports if not e.startswith("_evident_"))
    if other != ["___dso_handle", "__mh_dylib_header"]:
        fail(f"{lib.name}: exports {len(other)} symbols besides evident_*, e.g. {other[:5]}")
    if quiet:
        return
    print(f"{target}: {lib.name}: {arch} dynamic library for macOS {minos}+, install name"
          f" {lib.dylib_id}, exports the {len(got)} evident_* functions and nothing else (but the"
          f" linker's {', '.join(other)}); links {', '.join(lib.deps)}")


def link(target, outdir, minos, symbols):
    want = abi_symbols(symbols)
    path = f"{outdir}/libevident.dylib"
    with open(path, "rb") as f:
        check_library(MachO(path, f.read()), target, minos, want)
    path = f"{outdir}/evident"
    with open(path, "rb") as f:
        cli = MachO(path, f.read())
    arch = cli.check(target, minos, MH_EXECUTE)
    print(f"{target}: {path}: {arch} executable for macOS {minos}+; links {', '.join(cli.deps)}")
    path = f"{outdir}/libevident.a"
    with open(path, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            fail(f"{path}: not an ar archive")
    print(f"{target}: {path}: ar archive")


def wheel(path, symbols, quiet=False):
    """A macOS wheel: wheel_check's reading, then its one binary, the
    Mach-O library for the tag's architecture and macOS."""
    want = abi_symbols(symbols)
    base, _, plat, files = wheel_check.read_wheel(path, WHEEL_PLATFORMS)
    target, minos = WHEEL_PLATFORMS[plat]
    wheel_check.check_only_binary(base, files, LIBRARY)
    check_library(MachO(f"{base}:{LIBRARY}", files[LIBRARY]), target, minos, want, quiet)
    wheel_check.check_native_finds(path, files, LIBRARY)
    if quiet:
        return
    print(f"{base}: tag py3-none-{plat} (WHEEL and file name), {len(files)} files, RECORD"
          f" hashes and sizes match; the one binary is {LIBRARY} ({target}, macOS {minos}+),"
          f" which evident/_native.py finds")


def patch_minos(b, minos):
    """The Mach-O file B with its minimum macOS (LC_BUILD_VERSION or
    LC_VERSION_MIN_MACOSX) set to MINOS."""
    b = bytearray(b)
    ncmds = struct.unpack_from("<I", b, 16)[0]
    major, minor = (int(x) for x in minos.split("."))
    off = 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<2I", b, off)
        if cmd in (LC_BUILD_VERSION, LC_VERSION_MIN_MACOSX):
            field = off + (12 if cmd == LC_BUILD_VERSION else 8)
            struct.pack_into("<I", b, field, major << 16 | minor << 8)
        off += size
    return bytes(b)


def flip_code_byte(b):
    """The Mach-O file B with one byte of its code (past the load
    commands) changed, the signature left as it was."""
    b = bytearray(b)
    i = 32 + struct.unpack_from("<I", b, 20)[0] + 4096
    b[i] ^= 0xFF
    return bytes(b)


def wrong_wheels(path, symbols):
    """Each wrong wheel made from the good one is rejected, for its fault:
    wheel_check's common cases and the macOS ones."""
    base = os.path.basename(path)
    stem, plat, info = wheel_check.split_name(path)
    other = next(p for p in WHEEL_PLATFORMS if p != plat)
    with zipfile.ZipFile(path) as z:
        lib = z.read(LIBRARY)
        meta = z.read(f"{info}/WHEEL").decode()
    minos = WHEEL_PLATFORMS[plat][1]
    cases = wheel_check.common_cases(path, LIBRARY, "libevident.dylib") + [
        # (what, file name, rewrite arguments, expected message)
        ("the file name's tag is another platform's", f"{stem}-py3-none-{other}.whl", {},
         "WHEEL tags"),
        ("the other platform's tag throughout (file name and WHEEL)", f"{stem}-py3-none-{other}.whl",
         {"replace": {f"{info}/WHEEL": meta.replace(plat, other).encode()}}, "expected an"),
        ("the Linux library (ELF) in place of the Mach-O one", base,
         {"replace": {LIBRARY: wheel_check.ELF_BYTES}}, "not a 64-bit little-endian Mach-O"),
        ("a Windows DLL (PE) in place of the Mach-O one", base,
         {"replace": {LIBRARY: b"MZ" + bytes(126)}}, "not a 64-bit little-endian Mach-O"),
        ("a library for a newer macOS than the tag says", base,
         {"replace": {LIBRARY: patch_minos(lib, "14.0")}}, f"minimum macOS 14.0, expected {minos}"),
        ("a truncated library", base,
         {"replace": {LIBRARY: lib[:4096]}}, "damaged Mach-O"),
    ]
    if MachO(LIBRARY, lib).signed:  # arm64 (x86_64 macOS runs unsigned code)
        cases.append(("a library changed after it was signed", base,
                      {"replace": {LIBRARY: flip_code_byte(lib)}}, "code signature does not match"))
    wheel_check.reject_all(path, cases, lambda w: wheel(w, symbols, quiet=True))


def main(argv):
    if len(argv) == 5 and argv[0] == "link":
        link(*argv[1:])
    elif len(argv) == 3 and argv[0] == "wheel":
        wheel(*argv[1:])
    elif len(argv) == 3 and argv[0] == "wrong-wheels":
        wrong_wheels(*argv[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
