"""Reads the Windows wheel of evident and its DLL without Windows tools
(the PE file is parsed here from its published layout, Microsoft's "PE
Format" specification: DOS stub, COFF header, PE32+ optional header, data
directories, section table, export and import directories).

    windows_check.py wheel WHEEL SYMBOLS
        the Windows wheel (scripts/cross-check.sh windows_wheel): its name,
        tag, WHEEL, METADATA and RECORD files (scripts/wheel_check.py), its
        one binary evident/evident.dll (below), and that the package's own
        evident/_native.py finds it;
    windows_check.py wrong-wheels WHEEL SYMBOLS
        the wheel check rejects wrong wheels made from the good WHEEL (a
        wrong tag, an ELF or Mach-O file in place of the DLL, a DLL that
        imports mingw's runtime DLLs, a missing export, ...), each with the
        message expected;
    windows_check.py objdump DLL
        the PE reader here and binutils' (x86_64-w64-mingw32-objdump -p)
        find the same imported DLLs and exported names in DLL;
    windows_check.py rename-import DLL NAME OUT
        writes to OUT the DLL with its longest imported DLL name replaced by
        NAME (e.g. libgcc_s_seh-1.dll): cross-check.sh shows that Wine
        refuses to load it, i.e. that the load under Wine catches a
        missing dependency.

The DLL must be a PE32+ DLL for x86-64 (machine AMD64), stripped (no COFF
symbol table, no debug sections), relocatable with NX and high-entropy ASLR
(as Windows expects of a DLL), exporting by name exactly the functions of
SYMBOLS (abi/symbols.txt: nothing else, no forwarders, no ordinal-only
exports) and importing only Windows system DLLs (SYSTEM_DLLS), in
particular none of mingw's runtime DLLs (libgcc_s_seh-1.dll,
libwinpthread-1.dll, libstdc++-6.dll): it must load from the wheel's
directory alone.

Exits with a message naming the file and what is wrong at the first fault.
"""

import os
import re
import struct
import subprocess
import sys
import zipfile

import wheel_check
from wheel_check import abi_symbols, fail

wheel_check.PREFIX = "Windows check: "

# The wheel platform tag and the PE machine it promises.
WHEEL_PLATFORMS = {"win_amd64": (0x8664, "x86-64")}
LIBRARY = "evident/evident.dll"

# The DLLs the library may import: part of every Windows 10 and later (in
# system32), each with what imports it.
SYSTEM_DLLS = {
    "kernel32.dll": "files, threads, memory: the standard library, mingw's C runtime start-up",
    "msvcrt.dll": "the C library of mingw-w64's default (msvcrt) flavour: mingw's C runtime"
                  " and the C code of zstd and ring",
    "ntdll.dll": "NtCreateFile, NtReadFile, NtWriteFile, RtlNtStatusToDosError (the standard"
                 " library); NtDeviceIoControlFile, NtCancelIoFileEx (mio, tokio-postgres' sockets)",
    "advapi32.dll": "SystemFunction036 (the standard library, getrandom), GetUserNameW (whoami)",
    "ws2_32.dll": "sockets: the standard library, mio (tokio-postgres, the postgres feature)",
    "userenv.dll": "GetUserProfileDirectoryW (the standard library's home_dir)",
    "bcrypt.dll": "BCryptGenRandom (getrandom 0.2, through ring)",
    "bcryptprimitives.dll": "ProcessPrng (the standard library, getrandom 0.3/0.4): Windows 10+",
    "api-ms-win-core-synch-l1-2-0.dll": "WaitOnAddress, WakeByAddress* (the standard library's"
                                        " locks): an API set of Windows 8+, served by kernelbase",
    "secur32.dll": "GetUserNameExW (whoami, through tokio-postgres)",
}
# mingw's runtime DLLs, which no Windows has: named for a precise message.
MINGW_RUNTIME = ("libgcc_s_seh-1.dll", "libwinpthread-1.dll", "libstdc++-6.dll", "libssp-0.dll",
                 "libgomp-1.dll", "libatomic-1.dll", "libquadmath-0.dll")

IMAGE_FILE_EXECUTABLE_IMAGE, IMAGE_FILE_DLL = 0x0002, 0x2000
PE32_PLUS = 0x20B
DLLCHAR_HIGH_ENTROPY_VA, DLLCHAR_DYNAMIC_BASE, DLLCHAR_NX_COMPAT = 0x20, 0x40, 0x100
DIR_EXPORT, DIR_IMPORT, DIR_DELAY_IMPORT = 0, 1, 13
MAX_ENTRIES = 1 << 16  # bound on names read from one table


class PE:
    """The headers, sections, exports and imports of a PE32+ file."""

    def __init__(self, name, b):
        self.name, self.b = name, b
        if len(b) < 64 or b[:2] != b"MZ":
            fail(f"{name}: not a PE file (no MZ header)")
        try:
            pe = struct.unpack_from("<I", b, 0x3C)[0]
            if b[pe:pe + 4] != b"PE\0\0":
                fail(f"{name}: not a PE file (no PE signature at {pe:#x})")
            (self.machine, nsect, _, self.symtab, self.nsyms, opt_size,
             self.characteristics) = struct.unpack_from("<2H3I2H", b, pe + 4)
            opt = pe + 24
            self.magic = struct.unpack_from("<H", b, opt)[0]
            if self.magic != PE32_PLUS:
                fail(f"{name}: optional header magic {self.magic:#x}: not PE32+ (64-bit)")
            self.subsystem_version = struct.unpack_from("<2H", b, opt + 48)
            self.dll_characteristics = struct.unpack_from("<H", b, opt + 70)[0]
            ndirs = struct.unpack_from("<I", b, opt + 108)[0]
            self.dirs = [struct.unpack_from("<2I", b, opt + 112 + 8 * i) for i in range(min(ndirs, 16))]
            self.sections = []
            for i in range(nsect):
                s = opt + opt_size + 40 * i
                sname = b[s:s + 8].rstrip(b"\0").decode("latin-1")
                vsize, va, raw_size, raw_ptr = struct.unpack_from("<4I", b, s + 8)
                if raw_ptr + raw_size > len(b):
                    fail(f"{name}: section {sname} ends at {raw_ptr + raw_size}, past the file's end")
                self.sections.append((sname, va, vsize, raw_ptr, raw_size,
                                      struct.unpack_from("<I", b, s + 36)[0]))
            self.dll_name, self.exports, self.forwarders, self.unnamed = self._exports()
            self.name_offsets = []
            self.imports = self._imports(DIR_IMPORT, 20, 12)
            self.delay_imports = self._imports(DIR_DELAY_IMPORT, 32, 4)
        except (struct.error, IndexError, ValueError, UnicodeDecodeError) as e:
            fail(f"{name}: damaged PE file ({e})")

    def offset(self, rva):
        """The file offset of RVA (within a section's raw data)."""
        for _, va, vsize, raw_ptr, raw_size, _ in self.sections:
            if va <= rva < va + max(vsize, raw_size):
                if rva - va >= raw_size:
                    raise ValueError(f"RVA {rva:#x} is in a section's uninitialised part")
                return raw_ptr + rva - va
        raise ValueError(f"RVA {rva:#x} is in no section")

    def cstr(self, rva):
        off = self.offset(rva)
        end = self.b.index(b"\0", off)
        return self.b[off:end].decode("ascii")

    def u32(self, rva, k=0):
        return struct.unpack_from("<I", self.b, self.offset(rva) + 4 * k)[0]

    def _exports(self):
        rva, size = self.dirs[DIR_EXPORT] if len(self.dirs) > DIR_EXPORT else (0, 0)
        if not rva:
            return None, [], [], 0
        off = self.offset(rva)
        (name_rva, _, nfuncs, nnames, funcs, names, ordinals) = struct.unpack_from("<7I", self.b, off + 12)
        if nfuncs > MAX_ENTRIES or nnames > MAX_ENTRIES:
            raise ValueError(f"{nfuncs} exported functions, {nnames} names")
        exports, forwarders = [], []
        named = set()
        for i in range(nnames):
            n = self.cstr(self.u32(names, i))
            ordinal = struct.unpack_from("<H", self.b, self.offset(ordinals) + 2 * i)[0]
            if ordinal >= nfuncs:
                raise ValueError(f"export {n} has ordinal index {ordinal} of {nfuncs}")
            named.add(ordinal)
            target = self.u32(funcs, ordinal)
            if rva <= target < rva + size:  # points into the export directory: a forwarder
                forwarders.append(f"{n} -> {self.cstr(target)}")
            exports.append(n)
        unnamed = sum(1 for i in range(nfuncs) if i not in named and self.u32(funcs, i))
        return self.cstr(name_rva), exports, forwarders, unnamed

    def _imports(self, which, entry, name_at):
        """The DLL names of the import (or delay-import) descriptors; their
        file offsets in self.name_offsets."""
        rva, _ = self.dirs[which] if len(self.dirs) > which else (0, 0)
        dlls = []
        while rva:
            desc = self.b[self.offset(rva):self.offset(rva) + entry]
            if len(desc) < entry:
                raise ValueError("import directory runs past the file's end")
            if desc == bytes(entry):
                break
            name_rva = struct.unpack_from("<I", desc, name_at)[0]
            dlls.append(self.cstr(name_rva))
            self.name_offsets.append(self.offset(name_rva))
            if len(dlls) > MAX_ENTRIES:
                raise ValueError("import directory without an end")
            rva += entry
        return dlls


def check_dll(dll, plat, want, quiet=False):
    machine, arch = WHEEL_PLATFORMS[plat]
    name = dll.name
    if dll.machine != machine:
        fail(f"{name}: machine {dll.machine:#x}, expected {machine:#x} ({arch}) for {plat}")
    if not dll.characteristics & IMAGE_FILE_DLL or not dll.characteristics & IMAGE_FILE_EXECUTABLE_IMAGE:
        fail(f"{name}: characteristics {dll.characteristics:#x}: not a DLL")
    if dll.symtab or dll.nsyms:
        fail(f"{name}: a COFF symbol table ({dll.nsyms} symbols at {dll.symtab:#x}): not stripped")
    debug = [s[0] for s in dll.sections if s[0].startswith((".debug", "/"))]
    if debug:
        fail(f"{name}: debug information sections {debug}: not stripped")
    need = DLLCHAR_DYNAMIC_BASE | DLLCHAR_NX_COMPAT | DLLCHAR_HIGH_ENTROPY_VA
    if dll.dll_characteristics & need != need:
        fail(f"{name}: DLL characteristics {dll.dll_characteristics:#x}: expected dynamic base,"
             f" NX and high-entropy ASLR ({need:#x})")
    if dll.dll_name != "evident.dll":
        fail(f"{name}: export directory names the DLL {dll.dll_name!r}, expected 'evident.dll'")
    got = set(dll.exports)
    if len(got) != len(dll.exports):
        fail(f"{name}: an export name is listed twice")
    faults = []
    if want - got:
        faults.append(f"does not export {sorted(want - got)}")
    if got - want:
        faults.append(f"exports {sorted(got - want)}, not in abi/symbols.txt")
    if faults:
        fail(f"{name}: {'; '.join(faults)}")
    if dll.forwarders:
        fail(f"{name}: forwarded exports {dll.forwarders[:5]}")
    if dll.unnamed:
        fail(f"{name}: {dll.unnamed} exports by ordinal only")
    imports = dll.imports + dll.delay_imports
    for d in imports:
        if d.lower() in MINGW_RUNTIME:
            fail(f"{name}: imports {d}, a mingw runtime DLL that Windows does not have"
                 " (link it statically)")
        if d.lower() not in SYSTEM_DLLS:
            fail(f"{name}: imports {d}, not a Windows system DLL of the allow-list")
    if quiet:
        return
    print(f"{plat}: {name}: PE32+ DLL for {arch}, stripped, ASLR (high entropy) and NX,"
          f" subsystem version {dll.subsystem_version[0]}.{dll.subsystem_version[1]}; exports"
          f" exactly the {len(got)} functions of abi/symbols.txt by name (export name"
          f" {dll.dll_name}); imports only system DLLs ({len(imports)} descriptors):"
          f" {', '.join(sorted({d.lower() for d in imports}))}"
          + (f" ({len(dll.delay_imports)} delay-loaded)" if dll.delay_imports else ""))


def wheel(path, symbols, quiet=False):
    """A Windows wheel: wheel_check's reading, then its one binary, the DLL."""
    want = abi_symbols(symbols)
    base, _, plat, files = wheel_check.read_wheel(path, WHEEL_PLATFORMS)
    wheel_check.check_only_binary(base, files, LIBRARY)
    check_dll(PE(f"{base}:{LIBRARY}", files[LIBRARY]), plat, want, quiet)
    wheel_check.check_native_finds(path, files, LIBRARY)
    if quiet:
        return
    print(f"{base}: tag py3-none-{plat} (WHEEL and file name), {len(files)} files, RECORD"
          f" hashes and sizes match; the one binary is {LIBRARY}, which evident/_native.py finds")


# Wrong DLLs, made from the good one by changing bytes in place.

def pe_offsets(b):
    pe = struct.unpack_from("<I", b, 0x3C)[0]
    return pe, pe + 24


def patched(b, at, fmt, value):
    b = bytearray(b)
    struct.pack_into(fmt, b, at, value)
    return bytes(b)


def rename_import(dll, new):
    """The DLL with the name of its import descriptor of the longest DLL
    name overwritten by NEW (the rest of the old name zeroed)."""
    pe = PE("dll", dll)
    i = max(range(len(pe.imports)), key=lambda k: len(pe.imports[k]))
    old, at = pe.imports[i], pe.name_offsets[i]
    if len(new) > len(old):
        fail(f"cannot write {new} over {old}: the longest import name is too short")
    b = bytearray(dll)
    b[at:at + len(old)] = new.encode().ljust(len(old), b"\0")
    return bytes(b)


def rename_export(dll, old, new):
    """The DLL with exported name OLD overwritten by NEW (same length)."""
    assert len(old) == len(new)
    b = bytearray(dll)
    i = b.index(b"\0" + old.encode() + b"\0") + 1
    b[i:i + len(old)] = new.encode()
    return bytes(b)


def drop_last_export(dll):
    """The DLL with one name fewer in its export directory (the last)."""
    pe = PE("dll", dll)
    off = pe.offset(pe.dirs[DIR_EXPORT][0])
    nnames = struct.unpack_from("<I", dll, off + 24)[0]
    return patched(dll, off + 24, "<I", nnames - 1), pe.exports[-1]


def wrong_wheels(path, symbols):
    """Each wrong wheel made from the good one is rejected, for its fault:
    wheel_check's common cases and the Windows ones."""
    base = os.path.basename(path)
    stem, plat, info = wheel_check.split_name(path)
    with zipfile.ZipFile(path) as z:
        dll = z.read(LIBRARY)
        meta = z.read(f"{info}/WHEEL").decode()
    pe, opt = pe_offsets(dll)
    chars = struct.unpack_from("<H", dll, pe + 22)[0]
    dllchars = struct.unpack_from("<H", dll, opt + 70)[0]
    fewer, dropped = drop_last_export(dll)
    lib = LIBRARY
    cases = wheel_check.common_cases(path, LIBRARY, "evident.dll") + [
        # (what, file name, rewrite arguments, expected message)
        ("a 32-bit Windows tag (file name and WHEEL)", f"{stem}-py3-none-win32.whl",
         {"replace": {f"{info}/WHEEL": meta.replace(plat, "win32").encode()}}, "platform tag win32"),
        ("an ARM64 Windows tag (file name and WHEEL)", f"{stem}-py3-none-win_arm64.whl",
         {"replace": {f"{info}/WHEEL": meta.replace(plat, "win_arm64").encode()}},
         "platform tag win_arm64"),
        ("the Linux library (ELF) in place of the DLL", base,
         {"replace": {lib: wheel_check.ELF_BYTES}}, "not a PE file (no MZ header)"),
        ("a macOS library (Mach-O) in place of the DLL", base,
         {"replace": {lib: wheel_check.MACHO_BYTES}}, "not a PE file (no MZ header)"),
        ("an MS-DOS program (MZ, no PE header)", base,
         {"replace": {lib: dll[:0x3C] + struct.pack("<I", 0x40) + bytes(64)}}, "no PE signature"),
        ("the DLL as a .pyd next to nothing else", base,
         {"rename": {lib: "evident/_libevident.pyd"}}, "binaries"),
        ("an ARM64 DLL", base, {"replace": {lib: patched(dll, pe + 4, "<H", 0xAA64)}},
         "machine 0xaa64"),
        ("a 32-bit (PE32) file", base, {"replace": {lib: patched(dll, opt, "<H", 0x10B)}},
         "not PE32+"),
        ("an executable, not a DLL", base,
         {"replace": {lib: patched(dll, pe + 22, "<H", chars & ~IMAGE_FILE_DLL)}}, "not a DLL"),
        ("a COFF symbol table (not stripped)", base,
         {"replace": {lib: patched(dll, pe + 12, "<I", 1)}}, "not stripped"),
        ("no ASLR", base,
         {"replace": {lib: patched(dll, opt + 70, "<H", dllchars & ~DLLCHAR_DYNAMIC_BASE)}},
         "dynamic base"),
        ("a DLL that imports libgcc_s_seh-1.dll", base,
         {"replace": {lib: rename_import(dll, "libgcc_s_seh-1.dll")}}, "imports libgcc_s_seh-1.dll"),
        ("a DLL that imports libwinpthread-1.dll", base,
         {"replace": {lib: rename_import(dll, "libwinpthread-1.dll")}}, "imports libwinpthread-1.dll"),
        ("a DLL that imports libstdc++-6.dll", base,
         {"replace": {lib: rename_import(dll, "libstdc++-6.dll")}}, "imports libstdc++-6.dll"),
        ("a DLL that imports a DLL Windows does not have (python3.dll)", base,
         {"replace": {lib: rename_import(dll, "python3.dll")}}, "not a Windows system DLL"),
        (f"a missing export ({dropped})", base, {"replace": {lib: fewer}},
         f"does not export ['{dropped}']"),
        ("an export renamed (evident_version -> evident_versioX)", base,
         {"replace": {lib: rename_export(dll, "evident_version", "evident_versioX")}},
         "exports ['evident_versioX'], not in abi/symbols.txt"),
        ("a truncated DLL", base, {"replace": {lib: dll[:4096]}}, "past the file's end"),
    ]
    wheel_check.reject_all(path, cases, lambda w: wheel(w, symbols, quiet=True))


def objdump(path):
    """The PE reader here and binutils' objdump agree on DLL's imports and
    exports."""
    with open(path, "rb") as f:
        dll = PE(path, f.read())
    out = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", path], check=True,
                         capture_output=True, text=True).stdout
    imports = re.findall(r"^\s*DLL Name: (\S+)$", out, re.M)
    table = out.split("[Ordinal/Name Pointer] Table", 1)
    exports = re.findall(r"^\s*\[\s*\d+\] (\S+)$", table[1], re.M) if len(table) == 2 else []
    if imports != dll.imports + dll.delay_imports:
        fail(f"{path}: objdump finds imports {imports}, this reader {dll.imports + dll.delay_imports}")
    if sorted(exports) != sorted(dll.exports):
        fail(f"{path}: objdump finds {len(exports)} exports, this reader {len(dll.exports)}:"
             f" {sorted(set(exports) ^ set(dll.exports))[:5]}")
    print(f"{path}: objdump -p agrees: {len(imports)} imported DLLs, {len(exports)} exports")


def main(argv):
    if len(argv) == 3 and argv[0] == "wheel":
        wheel(*argv[1:])
    elif len(argv) == 3 and argv[0] == "wrong-wheels":
        wrong_wheels(*argv[1:])
    elif len(argv) == 2 and argv[0] == "objdump":
        objdump(argv[1])
    elif len(argv) == 4 and argv[0] == "rename-import":
        with open(argv[1], "rb") as f:
            dll = rename_import(f.read(), argv[2])
        with open(argv[3], "wb") as f:
            f.write(dll)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
