"""What the wheel checks of every platform share (scripts/macos_check.py,
scripts/windows_check.py): reading a wheel (its name, WHEEL, METADATA and
RECORD files), finding the binaries in it, running the package's own
evident/_native.py over the unpacked wheel, writing wrong wheels from a good
one and showing that the platform's check rejects each for its fault.

No platform's binaries are read here: each platform's module does that.
Faults end the check with SystemExit("<platform> check: <message>").
"""

import ast
import base64
import csv
import hashlib
import io
import os
import re
import struct
import sys
import tempfile
import zipfile

# Set by the platform's module: the prefix of every message.
PREFIX = "wheel check: "

# The first bytes of the binaries a wheel could hold by mistake: ELF,
# Mach-O (thin 64-bit, universal), a Windows PE file (MZ), an ar archive.
BINARY_MAGIC = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf")

# The start of an x86-64 ELF shared object (for wrong wheels: the checks
# read the magic).
ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + struct.pack("<HH", 3, 62) + bytes(44)
# The start of a 64-bit Mach-O dynamic library for x86_64, no load commands.
MACHO_BYTES = struct.pack("<8I", 0xFEEDFACF, 0x01000007, 3, 6, 0, 0, 0, 0)


def fail(msg):
    sys.exit(f"{PREFIX}{msg}")


def abi_symbols(path):
    """The function names of abi/symbols.txt."""
    want = set()
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                want.add(line.split("(")[0].split()[-1].lstrip("*"))
    return want


def record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def read_wheel(path, platforms):
    """Reads wheel PATH, tagged py3-none-PLATFORM with PLATFORM one of
    PLATFORMS: its name, members, WHEEL (one tag, the file name's; not
    pure), METADATA (evident-audit, the file name's version) and RECORD
    (every file once with its size and SHA-256). Returns (file name,
    version, platform, {member: bytes})."""
    base = os.path.basename(path)
    m = re.fullmatch(r"evident_audit-([0-9][0-9A-Za-z.+!]*)-py3-none-([a-z0-9_]+)\.whl", base)
    if not m:
        fail(f"{base}: not named evident_audit-VERSION-py3-none-PLATFORM.whl")
    version, plat = m.groups()
    if plat not in platforms:
        fail(f"{base}: platform tag {plat}, expected one of {sorted(platforms)}")
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        fail(f"{base}: not a zip archive ({e})")
    with z:
        names = z.namelist()
        if len(set(names)) != len(names):
            fail(f"{base}: an archive member is stored twice")
        for n in names:
            if n.startswith("/") or ".." in n.split("/") or "\\" in n or ":" in n:
                fail(f"{base}: member {n!r} would be written outside the install directory")
        info = f"evident_audit-{version}.dist-info"
        files = {n: z.read(n) for n in names if not n.endswith("/")}

    # WHEEL: not pure (the package holds a platform's binary), one tag,
    # the file name's.
    wheel_meta = files.get(f"{info}/WHEEL")
    if wheel_meta is None:
        fail(f"{base}: no {info}/WHEEL")
    fields = [line.split(":", 1) for line in wheel_meta.decode().splitlines() if line.strip()]
    tags = [v.strip() for k, v in fields if k == "Tag"]
    if tags != [f"py3-none-{plat}"]:
        fail(f"{base}: WHEEL tags {tags}, expected ['py3-none-{plat}'] (the file name's)")
    pure = [v.strip() for k, v in fields if k == "Root-Is-Purelib"]
    if pure != ["false"]:
        fail(f"{base}: WHEEL Root-Is-Purelib {pure}, expected ['false'] (a platform wheel)")
    if [v.strip() for k, v in fields if k == "Wheel-Version"] != ["1.0"]:
        fail(f"{base}: WHEEL Wheel-Version is not 1.0")
    metadata = files.get(f"{info}/METADATA", b"").decode()
    if "\nName: evident-audit\n" not in "\n" + metadata or f"\nVersion: {version}\n" not in metadata:
        fail(f"{base}: METADATA does not name evident-audit {version}")

    # RECORD: every file once, with its size and SHA-256; RECORD itself
    # without a hash.
    record = files.get(f"{info}/RECORD")
    if record is None:
        fail(f"{base}: no {info}/RECORD")
    rows = list(csv.reader(io.StringIO(record.decode())))
    listed = {}
    for row in rows:
        if len(row) != 3:
            fail(f"{base}: RECORD row {row}: expected path,hash,size")
        if row[0] in listed:
            fail(f"{base}: RECORD lists {row[0]} twice")
        listed[row[0]] = row
    if set(listed) != set(files):
        fail(f"{base}: RECORD lists {sorted(set(listed) - set(files))} that are not in the"
             f" wheel, and not {sorted(set(files) - set(listed))} that are")
    for name, data in files.items():
        _, digest, size = listed[name]
        if name == f"{info}/RECORD":
            if digest or size:
                fail(f"{base}: RECORD lists a hash for itself")
            continue
        if digest != record_hash(data) or size != str(len(data)):
            fail(f"{base}: {name}: RECORD says {digest} ({size} bytes), the file is"
                 f" {record_hash(data)} ({len(data)} bytes)")
    return base, version, plat, files


def binaries(files):
    """The members that are binaries (ELF, Mach-O, PE, ar), sorted."""
    return [name for name, data in sorted(files.items())
            if data[:4] in BINARY_MAGIC or data[:2] == b"MZ" or data[:8] == b"!<arch>\n"]


def check_only_binary(base, files, library):
    """LIBRARY is the wheel's one binary."""
    found = binaries(files)
    if found != [library]:
        fail(f"{base}: binaries {found}, expected only {library}")


def check_native_finds(path, files, library):
    """The package's own evident/_native.py finds LIBRARY in wheel PATH:
    its _candidates and _find_library (the module itself loads the library
    when imported, which another platform's binary cannot be here) run over
    the unpacked wheel; the first candidate that exists must be LIBRARY."""
    base = os.path.basename(path)
    native = files.get("evident/_native.py")
    if native is None:
        fail(f"{base}: no evident/_native.py")
    tree = ast.parse(native, "evident/_native.py")
    body = [n for n in tree.body if isinstance(n, ast.Import)
            or (isinstance(n, ast.ImportFrom) and not n.level)]
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)
             and n.name in ("_candidates", "_find_library")]
    if len(funcs) != 2:
        fail(f"{base}: evident/_native.py has no _candidates and _find_library")
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(path) as z:
            z.extractall(tmp)
        scope = {"__file__": os.path.join(tmp, "evident", "_native.py"), "__name__": "evident._native"}
        exec(compile(ast.Module(body=body + funcs, type_ignores=[]), "evident/_native.py", "exec"), scope)
        saved = os.environ.pop("EVIDENT_LIBRARY", None)
        try:
            found = scope["_find_library"]()
        except ImportError as e:
            fail(f"{base}: evident/_native.py finds no library in the wheel: {e}")
        finally:
            if saved is not None:
                os.environ["EVIDENT_LIBRARY"] = saved
        if os.path.realpath(found) != os.path.realpath(os.path.join(tmp, library)):
            fail(f"{base}: evident/_native.py would load {os.path.relpath(found, tmp)}, not {library}")


def rewrite(src, dst, replace=None, rename=None, record=True):
    """Copies wheel SRC to DST with members replaced (name -> bytes, or None
    to drop) or renamed; RECORD written anew for the result unless
    record=False."""
    replace, rename = replace or {}, rename or {}
    with zipfile.ZipFile(src) as z:
        files = {n: z.read(n) for n in z.namelist()}
    out = {}
    for name, data in {**files, **replace}.items():
        data = replace.get(name, data)
        if data is not None:
            out[rename.get(name, name)] = data
    rec = next(n for n in out if n.endswith(".dist-info/RECORD"))
    if record:
        text = io.StringIO()
        w = csv.writer(text, lineterminator="\n")
        for name, data in out.items():
            w.writerow([name, "", ""] if name == rec else [name, record_hash(data), len(data)])
        out[rec] = text.getvalue().encode()
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as z:
        for name, data in out.items():
            z.writestr(name, data)


def split_name(path):
    """(stem evident_audit-VERSION, platform tag, dist-info directory) of a
    wheel's file name."""
    m = re.fullmatch(r"(evident_audit-[^-]+)-py3-none-([a-z0-9_]+)\.whl", os.path.basename(path))
    stem, plat = m.groups()
    return stem, plat, stem + ".dist-info"


def common_cases(path, library, native_name):
    """The wrong wheels every platform's check must reject: (what, file
    name, rewrite arguments, expected message). NATIVE_NAME is the
    library's name as evident/_native.py spells it."""
    base = os.path.basename(path)
    stem, plat, info = split_name(path)
    with zipfile.ZipFile(path) as z:
        meta = z.read(f"{info}/WHEEL").decode()
        native = z.read("evident/_native.py").decode()
        lib = z.read(library)
    if f'"{native_name}"' not in native:
        fail(f"{base}: evident/_native.py does not name {native_name!r}")
    changed = lib[:-1] + bytes([lib[-1] ^ 1])
    return [
        ("WHEEL's tag is not the file name's", base,
         {"replace": {f"{info}/WHEEL": meta.replace(plat, "any").encode()}}, "WHEEL tags"),
        ("a pure-Python tag", f"{stem}-py3-none-any.whl",
         {"replace": {f"{info}/WHEEL": meta.replace(plat, "any").encode()}}, "platform tag any"),
        ("a Linux tag", f"{stem}-py3-none-manylinux_2_17_x86_64.whl", {}, "platform tag"),
        ("two tags in WHEEL", base,
         {"replace": {f"{info}/WHEEL": meta.replace(f"Tag: py3-none-{plat}\n",
                                                    f"Tag: py3-none-{plat}\nTag: py3-none-any\n")
                      .encode()}}, "WHEEL tags"),
        ("Root-Is-Purelib: true", base,
         {"replace": {f"{info}/WHEEL": meta.replace("Root-Is-Purelib: false",
                                                    "Root-Is-Purelib: true").encode()}},
         "Root-Is-Purelib"),
        ("METADATA of another package", base,
         {"replace": {f"{info}/METADATA": b"Metadata-Version: 2.1\nName: evident\n"}}, "METADATA"),
        ("a file changed after RECORD was written", base,
         {"replace": {"evident/log.py": b"# changed\n"}, "record": False}, "RECORD says"),
        ("the library changed (one bit) after RECORD was written", base,
         {"replace": {library: changed}, "record": False}, "RECORD says"),
        ("a file RECORD does not list", base,
         {"replace": {"evident/extra.py": b""}, "record": False}, "RECORD lists"),
        ("a member outside the install directory", base,
         {"replace": {"../evident.pth": b""}}, "outside the install directory"),
        ("a Linux library next to the platform's", base,
         {"replace": {"evident/_libevident.so": ELF_BYTES}}, "binaries"),
        ("the library under the Linux wheel's name", base,
         {"rename": {library: "evident/_libevident.so"}}, "binaries"),
        ("no library", base, {"replace": {library: None}}, "binaries"),
        (f"an _native.py that does not look for {native_name}", base,
         {"replace": {"evident/_native.py": native.replace(f'"{native_name}"', '"nothing"').encode()}},
         "finds no library"),
    ]


def reject_all(path, cases, check):
    """Writes each wrong wheel of CASES next to nothing else and runs
    CHECK(wheel) on it: each must be rejected with its expected message."""
    base = os.path.basename(path)
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for what, name, args, expected in cases:
            dst = os.path.join(tmp, name)
            rewrite(path, dst, **args)
            try:
                check(dst)
                failed.append(f"{what}: accepted")
            except SystemExit as e:
                msg = str(e.code)
                if expected not in msg:
                    failed.append(f"{what}: rejected, but for another reason: {msg}")
                else:
                    print(f"rejected as expected: {what}: {msg[len(PREFIX):][:160]}")
            os.remove(dst)
    if failed:
        fail("the wheel check let wrong wheels through:\n  " + "\n  ".join(failed))
    print(f"{base}: the wheel check rejects all {len(cases)} wrong wheels made from it")
