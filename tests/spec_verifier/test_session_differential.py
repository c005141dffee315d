"""Differential test: the clean-room session reader (session_reader.py, written
from spec/session.md alone) against `evident session verify|versions|info`.

1. Every vector of spec/vectors/session/ gives what its .expect file says.
2. Session files written by the real library (Python bindings: keyless and
   keyed, raw and zstd, saves with and without sync, several versions) are
   mutated (bit flips, truncations, appended garbage, zeroed 4 KiB pages,
   spliced and replayed saves, re-hashed edits of commit and trace members)
   and the reader's verdict is compared with the CLI's: `verify` exit status,
   torn_tail_at, incomplete versions, newest loadable version; `versions`
   (the complete versions); `info --json` (version, commit, meta, layers,
   measurements, history and the order of its parameters, traces) and
   `info --version N` for every complete and incomplete version.
3. Files written by a small writer of this test (crafted zstd frames, bool
   and bit samples, duplicate/unknown sections, parameter_order, lost
   sectors with and without sync, header and genesis variants, keys).
   The genesis rules of the log format (v, critical, ts, key_id), where
   the library once differed, have their own test.
4. A torn file saved again: the tail goes to a sidecar, byte for byte.

Run from the repository root:

    PYTHONPATH=bindings/python/src \
    EVIDENT_LIBRARY=$PWD/target/release/libevident.so \
    EVIDENT_CLI=$PWD/target/release/evident \
    python -m pytest -q tests/spec_verifier/test_session_differential.py

EVIDENT_SESSION_DIFF_SEED (default 1) seeds the random mutations,
EVIDENT_SESSION_DIFF_N (default 40) is the number of random mutations of
each kind per base file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import random
import re
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
import session_reader as sr  # noqa: E402

VECTORS = REPO / "spec" / "vectors" / "session"
KEY = bytes(range(32))
CLI = os.environ.get("EVIDENT_CLI", str(REPO / "target" / "release" / "evident"))
SEED = int(os.environ.get("EVIDENT_SESSION_DIFF_SEED", "1"))
N = int(os.environ.get("EVIDENT_SESSION_DIFF_N", "40"))


# ---------------------------------------------------------------------------
# 1. vectors

@pytest.mark.parametrize("name", sorted(p.stem for p in VECTORS.glob("*.evs")))
def test_vector(name):
    assert sr.check_vector(str(VECTORS / (name + ".evs"))) == []


# ---------------------------------------------------------------------------
# 2. files written by the library

def _have_tools():
    if not os.path.exists(CLI):
        return "no CLI at " + CLI
    try:
        import evident  # noqa: F401
    except Exception as e:  # pragma: no cover
        return "evident Python package not importable: %s" % e
    return None


def write_base(path, seed, keyed, compress, nver, unsync_last):
    from evident import Session
    rnd = random.Random(seed)
    s = Session("sess %d" % seed, metadata={"seed": seed, "µ": "x"})
    s.history.record("apply_filter", {"type": "lowpass", "cutoff": 1e6, "order": 4})
    for v in range(nver):
        n = rnd.choice([3, 50, 700, 3000])
        s.add_trace("t%d" % v, [math.sin(i / 9.0) for i in range(n)], dtype="f64",
                    sample_rate=1e6, units="V")
        s.add_trace("i%d" % v, [rnd.randrange(-100, 100) for _ in range(n)], dtype="i16")
        s.add_trace("b%d" % v, [rnd.random() < .5 for _ in range(n)], dtype="bool")
        s.annotate("a%d" % v, time=v * 1e-6, layer="L%d" % (v % 2))
        s.record_measurement("m%d" % v, v * 1.5, unit="s", trace_name="t%d" % v)
        sync = not (unsync_last and v == nver - 1)
        s.save(path, compress=compress, key=KEY if keyed else None, sync=sync)
    s.close()


BASES = [  # name, seed, keyed, compress, versions, last save without sync
    ("plain", 1, False, False, 3, False),
    ("keyed_zstd", 2, True, True, 2, False),
    ("unsync", 3, False, False, 3, True),
    ("zstd", 4, False, True, 2, False),
]


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    why = _have_tools()
    if why:
        pytest.skip(why)
    d = tmp_path_factory.mktemp("bases")
    out = {}
    for name, seed, keyed, comp, nver, unsync in BASES:
        p = d / (name + ".evs")
        write_base(str(p), seed, keyed, comp, nver, unsync)
        out[name] = (p.read_bytes(), KEY if keyed else None)
    for name in ("plain", "keyed_zstd"):                 # § 7 compaction
        p = d / (name + "_compacted.evs")
        data, key = out[name]
        p.write_bytes(data)
        cmd = [CLI, "session", "compact", str(p)]
        if key is not None:
            kf = d / "key.hex"
            kf.write_text(key.hex())
            cmd[3:3] = ["--key-file", str(kf)]
        subprocess.run(cmd, check=True, capture_output=True)
        out[name + "_compacted"] = (p.read_bytes(), key)
    return out


# --- structure of a file, for targeted mutations ----------------------------

def frames(data):
    """[(kind, offset, end, body or None)] of a valid file."""
    out = []
    p = 16
    while p < len(data):
        if data[p:p + 4] == b"\xff\xff\xff\xff":
            df = sr.data_frame_at(data, p)
            out.append(("data", p, df.end, None))
            p = df.end
        else:
            blen, hlen = struct.unpack_from("<IH", data, p)
            end = p + 16 + blen + hlen
            body = data[p + 8:p + 8 + blen]
            kind = json.loads(body)["kind"]
            out.append((kind, p, end, body))
            p = end
    return out


def rechain(data, offset, new_body):
    """Replace the body of the record at offset (same length) and re-hash it
    and every later record (keyless files): later bodies naming an old hash
    name the new one."""
    assert data[16 + 8:16 + 9] == b"{"
    buf = bytearray(data)
    renamed = {}
    for kind, p, end, body in frames(data):
        if p < offset or body is None:
            continue
        blen, hlen = struct.unpack_from("<IH", data, p)
        b = new_body if p == offset else body
        assert len(b) == blen
        for old, new in renamed.items():
            b = b.replace(old.encode(), new.encode())
        old_hash = data[p + 8 + blen:p + 8 + blen + hlen].hex()
        h = hashlib.sha256(b).digest()
        renamed[old_hash] = h.hex()
        buf[p + 8:p + 8 + blen] = b
        buf[p + 8 + blen:p + 8 + blen + hlen] = h
        struct.pack_into("<I", buf, p + 8 + blen + hlen,
                         zlib.crc32(bytes(buf[p:p + 8 + blen + hlen])))
    return bytes(buf)


def edits(data):
    """Re-hashed, length-preserving edits of commit and trace members."""
    out = []
    fr = frames(data)

    def sub(kind, pattern, repl, tag, which=-1):
        recs = [f for f in fr if f[0] == kind]
        if not recs:
            return
        _, p, _, body = recs[which]
        m = re.search(pattern, body)
        if not m:
            return
        nb = body[:m.start(1)] + repl(m.group(1)) + body[m.end(1):]
        if len(nb) == len(body) and nb != body:
            out.append((tag, rechain(data, p, nb)))

    def bump(b):
        return str(int(b) + 1).encode() if len(str(int(b) + 1)) == len(b) else str(int(b) - 1).encode()

    def hexflip(b):
        return (b"1" if b[:1] != b"1" else b"2") + b[1:]

    for key in (b"traces", b"trace_bytes", b"layers", b"annotations",
                b"measurements", b"history"):
        sub("commit", rb'"counts":\{[^}]*"' + key + rb'":(\d+)', bump,
            "counts." + key.decode())
    sub("commit", rb'"version":(\d+)', bump, "commit.version")
    sub("commit", rb'"version":(\d+)', bump, "first commit.version", 0)
    sub("commit", rb'"parent":"([0-9a-f]+)"', hexflip, "commit.parent")
    sub("commit", rb'"traces":\[\{"at":(\d+)', bump, "commit trace at")
    sub("commit", rb'"traces":\[\{"at":\d+,"hash":"([0-9a-f]+)"', hexflip,
        "commit trace hash")
    sub("commit", rb'"content":"([0-9a-f]+)"', hexflip, "commit section content")
    sub("commit", rb'"section":"(meta)"', lambda b: b"mute", "commit section name")
    sub("section", rb'"section":"(history)"', lambda b: b"hxstory", "section name")
    sub("trace", rb'"raw_len":(\d+)', bump, "trace raw_len")
    sub("trace", rb'"stored_len":(\d+)', bump, "trace stored_len")
    sub("trace", rb'"sha256":"([0-9a-f]+)"', hexflip, "trace sha256")
    sub("trace", rb'"frame":(\d+)', bump, "trace frame")
    sub("trace", rb'"dtype":"(i16)"', lambda b: b"u16", "trace dtype i16->u16")
    sub("trace", rb'"dtype":"(i16)"', lambda b: b"f16", "trace dtype unknown")
    sub("trace", rb'"len":(\d+)', bump, "trace len")
    sub("trace", rb'"encoding":"(raw)"', lambda b: b"rax", "trace encoding")
    sub("genesis", rb'"format":"(evident-session)"', lambda b: b"evident-sessiom",
        "genesis format")
    return out


def mutations(name, data, rnd):
    out = [("original", data)]
    fr = frames(data)
    n = len(data)
    for _ in range(N):                                   # bit flips
        i = rnd.randrange(n)
        b = bytearray(data)
        b[i] ^= 1 << rnd.randrange(8)
        out.append(("flip %d" % i, bytes(b)))
    for _ in range(N // 2):                              # truncations
        i = rnd.randrange(n)
        out.append(("truncate %d" % i, data[:i]))
    last = fr[-1]
    for i in sorted(rnd.sample(range(last[1], last[2]), 6)) + [last[1], n - 1]:
        out.append(("truncate last commit %d" % i, data[:i]))
    for _ in range(N // 4):                              # appended garbage
        g = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300)))
        out.append(("append %d random" % len(g), data + g))
    out.append(("append zeros", data + bytes(4096)))
    out.append(("append last frame again", data + data[last[1]:last[2]]))
    for _ in range(N // 4):                              # zeroed pages
        pg = rnd.randrange((n + 4095) // 4096) * 4096
        b = bytearray(data)
        b[pg:pg + 4096] = bytes(len(b[pg:pg + 4096]))
        out.append(("zero page %d" % pg, bytes(b)))
    for p in range(0, n, 4096):                          # every page, zeroed
        b = bytearray(data)
        b[p:p + 4096] = bytes(len(b[p:p + 4096]))
        out.append(("zero page %d (each)" % p, bytes(b)))
    commits = [f for f in fr if f[0] == "commit"]
    if len(commits) >= 2:                                # spliced / replayed saves
        c1, c2 = commits[-2], commits[-1]
        out.append(("replay last save", data + data[c1[2]:c2[2]]))
        out.append(("drop last save's commit, keep frames", data[:c2[1]]))
        out.append(("last save moved before previous commit",
                    data[:c1[1]] + data[c1[2]:c2[2]] + data[c1[1]:c1[2]]))
        out.append(("previous save removed",
                    data[:commits[-3][2] if len(commits) >= 3 else fr[0][2]]
                    + data[c1[2]:]))
    for _ in range(N // 4):                              # random spans removed
        i = rnd.randrange(16, n)
        j = min(n, i + rnd.randrange(1, 200))
        out.append(("cut %d..%d" % (i, j), data[:i] + data[j:]))
    dfs = [f for f in fr if f[0] == "data"]
    for kind, p, end, _ in ([dfs[0], dfs[-1], dfs[len(dfs) // 2]] if dfs else []):
        pad = struct.unpack_from("<I", data, p + 16)[0]
        n = struct.unpack_from("<Q", data, p + 8)[0]

        def fixcrc(b, p=p, pad=pad, n=n):
            sha = bytes(b[p + 20 + pad + n:p + 52 + pad + n])
            struct.pack_into("<I", b, p + 52 + pad + n, zlib.crc32(bytes(b[p:p + 20]) + sha))
            return bytes(b)
        if pad:
            b = bytearray(data)
            b[p + 20] = 1
            out.append(("data frame %d: padding not zero" % p, bytes(b)))
        for field, fmt, off, val in (("hash_len 64", "<H", 4, 64), ("flags 0", "<H", 6, 0),
                                     ("flags 3", "<H", 6, 3), ("pad_len + 64", "<I", 16, pad + 64),
                                     ("pad_len - 1", "<I", 16, max(pad - 1, 0) if pad else 63)):
            b = bytearray(data)
            struct.pack_into(fmt, b, p + off, val)
            sha = data[p + 20 + pad + n:p + 52 + pad + n]
            struct.pack_into("<I", b, p + 52 + pad + n, zlib.crc32(bytes(b[p:p + 20]) + sha))
            out.append(("data frame %d: %s, CRC fixed" % (p, field), bytes(b)))
        for big in (1 << 63, (1 << 64) - 1, n + 1, len(data)):
            b = bytearray(data)
            struct.pack_into("<Q", b, p + 8, big)
            out.append(("data frame %d: data_len %d" % (p, big), bytes(b)))
    for kind, p, end, body in [f for f in fr if f[3] is not None][1:4]:
        b = bytearray(data)                              # record frame flags
        struct.pack_into("<H", b, p + 6, 1)
        crc_at = end - 8
        struct.pack_into("<I", b, crc_at, zlib.crc32(bytes(b[p:crc_at])))
        out.append(("record %d: frame flags 1, CRC fixed" % p, bytes(b)))
    recs = [f for f in fr if f[3] is not None and f[0] != "genesis"]
    picks = [recs[-1], recs[-2], recs[len(recs) // 2]] + \
        [c for c in commits[:-1]][-1:]
    for kind, p, end, body in picks:                     # hash mismatch only
        i = body.index(b'"ts":"') + 7
        nb = body[:i] + (b"1" if body[i:i + 1] != b"1" else b"2") + body[i + 1:]
        b = bytearray(data)
        b[p + 8:p + 8 + len(body)] = nb
        crc_at = p + 8 + len(body) + (end - p - 16 - len(body))
        struct.pack_into("<I", b, crc_at, zlib.crc32(bytes(b[p:crc_at])))
        out.append(("hash mismatch at %s %d" % (kind, p), bytes(b)))
    if data[24:25] == b"{" and b'"alg":"sha256"' in data[:400]:
        for kind, p, end, body in picks:                 # broken link only
            i = body.index(b'"prev":"') + 8
            nb = body[:i] + (b"1" if body[i:i + 1] != b"1" else b"2") + body[i + 1:]
            out.append(("broken link at %s %d" % (kind, p), rechain(data, p, nb)))
        out.extend(edits(data))
    return [(name + ": " + t, d) for t, d in out]


# --- the CLI ----------------------------------------------------------------

def cli(args, path, key):
    cmd = [CLI, "session"] + args + ["--json", str(path)]
    if key is not None:
        cmd[3:3] = ["--key-file", str(path) + ".key"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    try:
        js = json.loads(p.stdout) if p.stdout.strip() else None
    except ValueError:
        js = None
    return p.returncode, js, p.stderr


def compare(path, data, key):
    """The differences between the reader and the CLI on one file."""
    path.write_bytes(data)
    if key is not None:
        Path(str(path) + ".key").write_text(key.hex())
    got = sr.read_session(data, key)
    diffs = []
    rc, js, err = cli(["verify"], path, key)
    if rc != got["exit"]:
        diffs.append("verify exit: CLI %d (%s), reader %d (%s)" % (
            rc, (js or {}).get("problems") or err.strip()[:200], got["exit"],
            got["problems"][:3]))
        return diffs
    if rc == 2 or js is None:
        return diffs
    if js.get("torn_tail_at") != got["torn_tail_at"]:
        diffs.append("torn_tail_at: CLI %r, reader %r"
                     % (js.get("torn_tail_at"), got["torn_tail_at"]))
    if js.get("incomplete_versions") != got["incomplete_versions"]:
        diffs.append("incomplete_versions: CLI %r, reader %r"
                     % (js.get("incomplete_versions"), got["incomplete_versions"]))
    newest = got.get("version") if got["load"] == "ok" else None
    if js.get("head_version") != newest and rc == 0:
        diffs.append("head_version: CLI %r, reader %r (load %s)"
                     % (js.get("head_version"), newest, got["load"]))
    rc2, vs, err2 = cli(["versions"], path, key)
    cli_versions = [v["version"] for v in vs] if rc2 == 0 and isinstance(vs, list) \
        else "error:corrupt" if rc2 == 1 else "exit %d" % rc2
    if cli_versions != got["versions"]:
        diffs.append("versions: CLI %r (%s), reader %r"
                     % (cli_versions, err2.strip()[:200], got["versions"]))
    rc3, info, err3 = cli(["info"], path, key)
    if got["load_lazy"] == "ok":
        if rc3 != 0:
            diffs.append("info: CLI exit %d (%s), reader loads version %r"
                         % (rc3, err3.strip()[:200], got["newest"]))
        elif (info.get("version"), info.get("commit")) != got["newest"]:
            diffs.append("info: CLI v%r %s, reader v%r %s" % (
                info.get("version"), info.get("commit"), *got["newest"]))
        else:
            diffs.extend(compare_content(info, got))
    elif rc3 == 0:
        diffs.append("info: CLI loads v%r, reader %s (%s)" % (
            info.get("version"), got["load_lazy"], got["problems"][:3]))
    # every version by number (§ 5 rule 6; § 12: not found is exit 2)
    nums = [v for v, _ in got["version_loads"]]
    want = {v: (0 if st == "ok" else 2 if st == "error:unsupported" else 1)
            for v, st in got["version_loads"]
            if nums.count(v) == 1}
    for v in got["incomplete_versions"] or []:
        if v not in nums:
            want[v] = 2
    for v, code in sorted(want.items()):
        rc4, _, err4 = cli(["info", "--version", str(v)], path, key)
        if rc4 != code:
            diffs.append("info --version %d: CLI exit %d (%s), reader %d"
                         % (v, rc4, err4.strip()[:200], code))
    return diffs


def compare_content(info, got):
    """`session info --json` against the reader's (lazily) loaded version:
    every member the spec defines (§ 4.3, § 11 `content`), and the order of
    history parameters (§ 4.3)."""
    out = []
    mine = got["content_lazy"]
    for k in ("name", "created_at", "modified_at", "metadata", "history_limit",
              "layers", "measurements", "history"):
        if not sr.same(info.get(k), mine.get(k)):
            out.append("info %s: CLI %s, reader %s" % (
                k, json.dumps(info.get(k))[:200], json.dumps(mine.get(k))[:200]))
    fields = ("name", "dtype", "len", "bytes", "sample_rate", "start_time",
              "units", "metadata")
    cli_t = [{f: t.get(f) for f in fields} for t in info.get("traces", [])]
    my_t = [{f: t.get(f) for f in fields} for t in mine["traces"]]
    if not sr.same(cli_t, my_t):
        out.append("info traces: CLI %s, reader %s" % (
            json.dumps(cli_t)[:300], json.dumps(my_t)[:300]))
    order = [list(h.get("parameters", {})) for h in info.get("history", [])]
    if order != got["history_parameters_lazy"]:
        out.append("history parameter order: CLI %r, reader %r"
                   % (order, got["history_parameters_lazy"]))
    return out


def test_differential(bases, tmp_path):
    rnd = random.Random(SEED)
    cases = []
    for name, (data, key) in bases.items():
        for tag, d in mutations(name, data, rnd):
            cases.append((tag, d, key))
    work = [(i, tag, d, key) for i, (tag, d, key) in enumerate(cases)]

    def run(item):
        i, tag, d, key = item
        return tag, compare(tmp_path / ("case%d.evs" % i), d, key)

    with ThreadPoolExecutor(2) as ex:
        results = list(ex.map(run, work))
    bad = [(t, d) for t, d in results if d]
    report = "\n".join("%s:\n    %s" % (t, "\n    ".join(d)) for t, d in bad)
    print("%d cases, %d disagreements" % (len(results), len(bad)))
    assert not bad, report


# ---------------------------------------------------------------------------
# 3. files written by a small writer of this test (spec/session.md § 2-4),
#    for what the library's writer never writes

TS = "2026-12-04T12:00:00.000000Z"
# zstd -19 of bytes(range(40)) * 3: with a checksum, without, without
# Frame_Content_Size; zstd of 120 bytes "a" (an RLE block)
Z120 = bytes.fromhex("28b52ffd24788501008402000102030405060708090a0b0c0d0e0f1011121314"
                     "15161718191a1b1c1d1e1f20212223242526270100e885aa32f089f3f3")
Z120_NOCHECK = bytes.fromhex("28b52ffd20788501008402000102030405060708090a0b0c0d0e0f10"
                             "1112131415161718191a1b1c1d1e1f20212223242526270100e885aa32")
Z120_NOFCS = bytes.fromhex("28b52ffd04008501008402000102030405060708090a0b0c0d0e0f1011"
                           "12131415161718191a1b1c1d1e1f20212223242526270100e885aa32f089f3f3")
ZA = bytes.fromhex("28b52ffd04584500001061610100370558e6fb65a2")
SKIPPABLE = bytes.fromhex("5a2a4d1804000000") + b"skip"


def canon(v):
    return json.dumps(v, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


class Writer:
    """Writes keyless session files record by record (canonical bodies)."""

    def __init__(self, genesis=None, key=None, v=1):
        self.buf = bytearray(b"\x89EVS\r\n\x1a\n" + struct.pack("<II", 1, 0))
        self.seq = -1
        self.prev = bytes(32)
        self.commits = []
        self.key = key
        self.v = v
        self.record("genesis", genesis or '"format":"evident-session","alg":"sha256",'
                    '"log_id":"00112233445566778899aabbccddeeff"')
        self.v = 1

    def record(self, kind, members):
        self.seq += 1
        body = ('{"v":%d,"seq":%d,"prev":"%s","kind":"%s","ts":"%s",%s}'
                % (self.v, self.seq, self.prev.hex(), kind, TS, members)).encode()
        h = hashlib.sha256(body).digest() if self.key is None else \
            hmac.new(self.key, body, hashlib.sha256).digest()
        at = len(self.buf)
        head = struct.pack("<IHH", len(body), 32, 0) + body + h
        self.buf += head + struct.pack("<II", zlib.crc32(head), 16 + len(body) + 32)
        self.prev = h
        return at, h

    def data(self, stored):
        at = len(self.buf)
        pad = (64 - (at + 20) % 64) % 64
        sha = hashlib.sha256(stored).digest()
        head = struct.pack("<IHHQI", 0xFFFFFFFF, 32, 1, len(stored), pad)
        self.buf += head + bytes(pad) + stored + sha + struct.pack(
            "<I", zlib.crc32(head + sha))
        return at, sha

    def trace(self, name, dtype, n, stored, encoding="raw", raw_len=None):
        fr, sha = self.data(stored)
        if raw_len is None:
            raw_len = len(stored)
        m = ('"name":%s,"dtype":"%s","len":%d,"info":%s,"data":%s' % (
            json.dumps(name), dtype, n,
            canon({"metadata": {}, "sample_rate": 1.0, "start_time": 0.0, "units": ""}),
            canon({"encoding": encoding, "frame": fr, "raw_len": raw_len,
                   "sha256": sha.hex(), "stored_len": len(stored)})))
        at, h = self.record("trace", m)
        return {"at": at, "hash": h.hex(), "name": name, "_raw_len": raw_len}

    def section(self, name, content):
        text = canon(content)
        at, h = self.record("section", '"section":"%s","content":%s' % (name, text))
        return {"at": at, "content": hashlib.sha256(text.encode()).hexdigest(),
                "hash": h.hex(), "section": name}

    def meta(self, name="crafted"):
        return self.section("meta", {"created_at": TS, "history_limit": 0,
                                     "metadata": {}, "modified_at": TS, "name": name})

    def commit(self, traces, sections, counts=None, extra=""):
        contents = {}
        for s in sections:
            rec = self.buf  # noqa: F841
            contents[s["section"]] = s.get("_value")
        if counts is None:
            counts = {"annotations": 0, "history": sections and sum(
                len(s.get("_value") or []) for s in sections
                if s["section"] == "history") or 0,
                "layers": 0, "measurements": 0,
                "trace_bytes": sum(t["_raw_len"] for t in traces),
                "traces": len(traces)}
        version = len(self.commits) + 1
        parent = json.dumps(self.commits[-1].hex()) if self.commits else "null"
        tr = [{k: v for k, v in t.items() if not k.startswith("_")} for t in traces]
        se = [{k: v for k, v in s.items() if not k.startswith("_")} for s in sections]
        m = ('"version":%d,"parent":%s,"name":"crafted","traces":%s,"sections":%s,'
             '"counts":%s%s' % (version, parent, canon(tr), canon(se), canon(counts), extra))
        _, h = self.record("commit", m)
        self.commits.append(h)
        return h

    def bytes(self):
        return bytes(self.buf)


def crafted():
    """(tag, file bytes) of files the library's writer would not write."""
    out = []

    def one(tag, *traces, extra="", sections=None, counts=None):
        w = Writer()
        ts = [w.trace(*t) if isinstance(t, tuple) else t(w) for t in traces]
        secs = sections(w) if sections else [w.meta()]
        w.commit(ts, secs, counts=counts, extra=extra)
        out.append((tag, w.bytes()))

    seq = bytes(range(40)) * 3
    one("zstd with checksum", ("z", "u8", 120, Z120, "zstd", 120))
    one("zstd without checksum", ("z", "u8", 120, Z120_NOCHECK, "zstd", 120))
    one("zstd without Frame_Content_Size", ("z", "u8", 120, Z120_NOFCS, "zstd", 120))
    one("zstd RLE block", ("z", "u8", 124, ZA, "zstd", 124))
    one("zstd RLE block, raw_len 120", ("z", "u8", 120, ZA, "zstd", 120))
    one("zstd FCS differs from raw_len", ("z", "u8", 60, Z120, "zstd", 60))
    one("zstd decodes to more than raw_len (no FCS)",
        ("z", "u8", 119, Z120_NOFCS, "zstd", 119))
    one("zstd decodes to less than raw_len (no FCS)",
        ("z", "u8", 121, Z120_NOFCS, "zstd", 121))
    one("zstd trailing byte", ("z", "u8", 120, Z120 + b"\0", "zstd", 120))
    one("zstd two frames", ("z", "u8", 240, Z120_NOFCS + Z120_NOFCS, "zstd", 240))
    one("zstd skippable frame first", ("z", "u8", 120, SKIPPABLE + Z120, "zstd", 120))
    one("zstd checksum wrong", ("z", "u8", 120, Z120[:-1] + bytes([Z120[-1] ^ 1]),
                                "zstd", 120))
    one("zstd raw stored as zstd", ("z", "u8", 120, seq, "zstd", 120))
    one("bool sample 2", ("b", "bool", 3, b"\x01\x02\x00"))
    one("bool samples 0/1", ("b", "bool", 3, b"\x01\x00\x01"))
    one("bit: unused bits set", ("b", "bit", 3, b"\xff"))
    one("bit: 11 samples", ("b", "bit", 11, b"\xa5\x06"))
    one("empty trace", ("e", "f64", 0, b""))
    one("unknown dtype", ("x", "f16", 2, b"\0\0\0\0"))
    one("two traces, one data frame",
        lambda w: w.trace("a", "u8", 4, b"abcd"),
        lambda w: dict(w.trace("b", "u8", 4, b"abcd"), name="b"))

    def same_frame(w):
        t = w.trace("a", "u8", 4, b"abcd")
        rec = json.loads(w.bytes()[t["at"] + 8:t["at"] + 8 + struct.unpack_from(
            "<I", w.bytes(), t["at"])[0]])
        m = ('"name":"b","dtype":"u8","len":4,"info":%s,"data":%s'
             % (canon(rec["info"]), canon(rec["data"])))
        at, h = w.record("trace", m)
        return [t, {"at": at, "hash": h.hex(), "name": "b", "_raw_len": 4}]

    w = Writer()
    ts = same_frame(w)
    w.commit(ts, [w.meta()])
    out.append(("two trace records name one data frame", w.bytes()))

    def frame_after(w):
        m = w.meta()
        at, h = w.record("trace", '"name":"late","dtype":"u8","len":4,"info":%s,"data":%s'
                         % (canon({"metadata": {}, "sample_rate": 1.0, "start_time": 0.0,
                                   "units": ""}),
                            canon({"encoding": "raw", "frame": len(w.buf) + 400, "raw_len": 4,
                                   "sha256": hashlib.sha256(b"abcd").hexdigest(),
                                   "stored_len": 4})))
        return m, {"at": at, "hash": h.hex(), "name": "late", "_raw_len": 4}

    w = Writer()
    m, t = frame_after(w)
    w.commit([t], [m])
    out.append(("trace names a frame that is not there", w.bytes()))

    one("trace reference names another name",
        lambda w: dict(w.trace("a", "u8", 4, b"abcd"), name="not-a"))
    one("two trace references of one name",
        lambda w: w.trace("a", "u8", 4, b"abcd"),
        lambda w: dict(w.trace("b", "u8", 4, b"efgh"), name="a"))
    one("no meta section", sections=lambda w: [w.section("layers", [])])
    one("unknown section name", sections=lambda w: [w.meta(), w.section("extra", [1])])
    one("meta section twice", sections=lambda w: [w.meta("one"), w.meta("two")])
    one("layers section twice", sections=lambda w: [
        w.meta(), w.section("layers", []), w.section("layers", [])])
    one("barrier true", extra=',"barrier":true')
    one("barrier false, last", extra=',"barrier":false')
    one("unknown commit member", extra=',"future":{"x":1}')
    one("counts with an extra member",
        counts={"annotations": 0, "history": 0, "layers": 0, "measurements": 0,
                "trace_bytes": 0, "traces": 0, "future": 5})
    one("counts member missing",
        counts={"annotations": 0, "history": 0, "layers": 0, "measurements": 0,
                "trace_bytes": 0})
    one("counts as floats",
        counts={"annotations": 0.0, "history": 0, "layers": 0, "measurements": 0,
                "trace_bytes": 0, "traces": 0})
    one("compacted_from in a first commit",
        extra=',"compacted_from":{"commit":"%s","version":1}' % ("ab" * 32))

    def history(order):
        def f(w):
            e = {"duration_ms": 0.0, "metadata": {}, "operation": "op",
                 "parameters": {"a": 1, "b": 2, "c": 3}, "result": None,
                 "success": True, "timestamp": TS}
            if order is not None:
                e["parameter_order"] = order
            s = w.section("history", [e])
            s["_value"] = [e]
            return [w.meta(), s]
        return f

    for order in (["c", "a", "b"], ["c"], ["c", "c", "zz", 5, "a"], "cab", [],
                  ["a", "b", "c"], {"c": 1}):
        one("parameter_order %s" % json.dumps(order), sections=history(order))
    # versions: a second commit, synced or not, after the first
    w = Writer()
    w.commit([], [w.meta()])
    w.commit([], [w.meta("second")], extra=',"barrier":false')
    out.append(("v2 without sync", w.bytes()))
    w = Writer()
    w.commit([], [w.meta()])
    s = w.meta("second")
    w.commit([], [s], extra=',"barrier":false')
    b = bytearray(w.bytes())
    b[s["at"]:s["at"] + 600] = bytes(600)      # v2's section lost: zeros
    out.append(("v2 without sync, its section and commit zeroed", bytes(b)))
    w = Writer()
    w.commit([], [w.meta()])
    s = w.meta("second")
    w.commit([], [s], extra=',"barrier":false')
    b = bytearray(w.bytes())
    slen = 16 + 32 + struct.unpack_from("<I", b, s["at"])[0]
    b[s["at"]:s["at"] + slen] = bytes(slen)     # less than a 512-byte sector
    out.append(("v2 without sync, its section record zeroed (no full sector)", bytes(b)))
    w = Writer()
    w.commit([], [w.meta()])
    t = w.trace("big", "u8", 3000, bytes(range(256)) * 11 + bytes(184))
    w.commit([t], [w.meta("second")], extra=',"barrier":false')
    b = bytearray(w.bytes())
    start = ((t["at"] - 3000) // 512 + 1) * 512
    b[start:start + 512] = bytes(512)           # a lost sector of its samples
    out.append(("v2 without sync, a sector of its samples zeroed", bytes(b)))
    w = Writer()
    w.commit([], [w.meta()])
    t = w.trace("big", "u8", 3000, bytes(range(256)) * 11 + bytes(184))
    w.commit([t], [w.meta("second")])
    b = bytearray(w.bytes())
    b[start:start + 512] = bytes(512)
    out.append(("v2 synced, a sector of its samples zeroed", bytes(b)))
    w = Writer()
    w.commit([], [w.meta()])
    t = w.trace("big", "u8", 3000, bytes(range(256)) * 11 + bytes(184))
    w.commit([t], [w.meta("second")], extra=',"barrier":false')
    b = bytearray(w.bytes())
    b[start + 7] ^= 1
    out.append(("v2 without sync, a flipped sample", bytes(b)))
    for third_sync in (False, True):
        w = Writer()
        w.commit([], [w.meta()])
        t = w.trace("big", "u8", 3000, bytes(range(256)) * 11 + bytes(184))
        w.commit([t], [w.meta("second")], extra=',"barrier":false')
        w.commit([t], [w.meta("third")], extra="" if third_sync else ',"barrier":false')
        b = bytearray(w.bytes())
        b[start:start + 512] = bytes(512)
        out.append(("v2, v3 (%s) a sector of v2's samples zeroed"
                    % ("synced" if third_sync else "without sync"), bytes(b)))
    w = Writer()
    w.commit([], [w.meta()])
    w.commit([], [w.meta("second")], extra=',"barrier":false')
    w.commit([], [w.meta("third")])
    b = bytearray(w.bytes())
    out.append(("v2 without sync, v3 synced", bytes(b)))
    # header and genesis
    base = out[0][1]
    out.append(("header version 2", base[:8] + struct.pack("<I", 2) + base[12:]))
    out.append(("header flags 1", base[:12] + struct.pack("<I", 1) + base[16:]))
    out.append(("header cut short", base[:12]))
    out.append(("magic only", base[:8]))
    out.append(("magic prefix", base[:5]))
    out.append(("empty", b""))
    out.append(("genesis cut short", base[:100]))
    out.append(("log magic", b"\x89EVD" + base[4:]))
    out.append(("JSON text", b'{"v":1}\n'))
    for tag, repl in (("alg unknown", None),):
        w = Writer()
        g = w.bytes()
        blen = struct.unpack_from("<I", g, 16)[0]
        body = g[24:24 + blen]
        if repl is not None:
            body = repl + body[len(b'{"v":1,'):]
        else:
            body = body.replace(b'"alg":"sha256"', b'"alg":"sha257"')
        h = hashlib.sha256(body).digest()
        head = struct.pack("<IHH", len(body), 32, 0) + body + h
        out.append(("genesis " + tag, g[:16] + head + struct.pack(
            "<II", zlib.crc32(head), 16 + len(body) + 32)))
    for sync in (True, False):       # a lost sector right before the commit
        w = Writer()
        w.commit([], [w.meta()])
        big = w.section("meta", {"created_at": TS, "history_limit": 0,
                                 "metadata": {"pad": "x" * 3000}, "modified_at": TS,
                                 "name": "big"})
        w.commit([], [big], extra="" if sync else ',"barrier":false')
        b = bytearray(w.bytes())
        z = (big["at"] // 512 + 2) * 512
        b[z:z + 512] = bytes(512)
        out.append(("v2 (%s): a zero sector in its last record before the commit"
                    % ("synced" if sync else "without sync"), bytes(b)))
    for hit in ("tag", "crc"):
        w = Writer()
        w.commit([], [w.meta()])
        m = w.meta("inner")
        inner = w.bytes()[m["at"]:]             # a valid record frame, as samples
        t = w.trace("emb", "u8", len(inner), inner)
        w.commit([t], [w.meta("outer")])
        b = bytearray(w.bytes())
        fr = [f for f in frames(bytes(b)) if f[0] == "data"][0]
        b[fr[1] if hit == "tag" else fr[2] - 1] ^= 0x10
        out.append(("a record frame inside samples, data frame %s damaged" % hit, bytes(b)))
    w = Writer(genesis='"format":"evident-session","alg":"sha256","log_id":"x"')
    w.commit([], [w.meta()])
    out.append(("genesis log_id not hex", w.bytes()))
    return out


KEYED_GENESIS = ('"format":"evident-session","alg":"hmac-sha256","key_id":"%s",'
                 '"log_id":"00112233445566778899aabbccddeeff"'
                 % hashlib.sha256(b"evident key id v1" + KEY).digest()[:8].hex())


def keyed_crafted():
    """(tag, bytes, key) of keyed files."""
    out = []
    w = Writer(genesis=KEYED_GENESIS, key=KEY)
    w.commit([w.trace("a", "u8", 4, b"abcd")], [w.meta()])
    good = w.bytes()
    out.append(("keyed", good, KEY))
    out.append(("keyed, no key", good, None))
    out.append(("keyed, wrong key", good, bytes(range(1, 33))))
    w = Writer()
    w.commit([], [w.meta()])
    out.append(("keyless, a key", w.bytes(), KEY))
    return out


def defects():
    """(tag, bytes, key) of files breaking the log format's genesis rules
    (format.md § 3), where the library once differed from the spec (fixed;
    README, session)."""
    out = []
    for tag, v, extra in (("genesis v 2", 2, ""),
                          ("genesis critical", 1, ',"critical":["x-future"]')):
        w = Writer(genesis='"format":"evident-session","alg":"sha256",'
                   '"log_id":"00112233445566778899aabbccddeeff"' + extra, v=v)
        w.commit([], [w.meta()])
        out.append((tag, w.bytes(), None))
    for tag, ts in (("genesis ts with a space", "2026-12-04 12:00:00.000000Z"),
                    ("genesis ts not a time", "yesterday")):
        w = Writer()
        w.commit([], [w.meta()])
        b = w.bytes().replace(TS.encode(), ts.encode().ljust(len(TS))[:len(TS)], 1)
        blen = struct.unpack_from("<I", b, 16)[0]
        body = b[24:24 + blen]
        # re-hash the genesis and the chain after it
        b = rechain(w.bytes(), 16, body)
        out.append((tag, b, None))
    w = Writer(genesis=KEYED_GENESIS.replace('"key_id":', '"kid":'), key=KEY)
    w.commit([], [w.meta()])
    out.append(("keyed genesis without key_id, the right key", w.bytes(), KEY))
    return out


@pytest.mark.parametrize("tag,data,key", keyed_crafted(), ids=lambda x: x if isinstance(x, str) else "")
def test_keyed_crafted(tag, data, key, tmp_path):
    if not os.path.exists(CLI):
        pytest.skip("no CLI")
    assert compare(tmp_path / "k.evs", data, key) == []


@pytest.mark.parametrize("tag,data,key", defects(), ids=lambda x: x if isinstance(x, str) else "")
def test_genesis_rules_of_the_log_format(tag, data, key, tmp_path):
    if not os.path.exists(CLI):
        pytest.skip("no CLI")
    assert compare(tmp_path / "d.evs", data, key) == []


def test_crafted(tmp_path):
    if not os.path.exists(CLI):
        pytest.skip("no CLI")
    bad = []
    for i, (tag, data) in enumerate(crafted()):
        d = compare(tmp_path / ("crafted%d.evs" % i), data, None)
        if d:
            bad.append((tag, d))
    report = "\n".join("%s:\n    %s" % (t, "\n    ".join(d)) for t, d in bad)
    assert not bad, report


def test_torn_then_save(bases, tmp_path):
    """§ 6 step 3: a save after an interrupted one moves the uncommitted tail
    into <file>.torn-<time>-at-<offset> and continues; the reader agrees
    with the CLI on the result, and the sidecar holds the tail's bytes."""
    from evident import Session
    data, _ = bases["plain"]
    last = frames(data)[-1]
    p = tmp_path / "t.evs"
    p.write_bytes(data[:last[2] - 5])
    before = sr.read_session(p.read_bytes())
    assert before["torn_tail_at"] is not None and before["versions"] == [1, 2]
    s = Session.load(str(p))
    s.record_measurement("after", 1)
    s.save(str(p))
    s.close()
    side = [q for q in tmp_path.iterdir() if ".torn-" in q.name]
    assert len(side) == 1, side
    assert side[0].name.endswith("-at-%d" % before["torn_tail_at"])
    assert side[0].read_bytes() == data[before["torn_tail_at"]:last[2] - 5]
    after = p.read_bytes()
    got = sr.read_session(after)
    assert got["versions"] == [1, 2, 3] and got["verify_ok"] is True
    assert got["torn_tail_at"] is None
    assert compare(tmp_path / "t2.evs", after, None) == []
