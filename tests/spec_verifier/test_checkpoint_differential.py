"""Differential test: the clean-room checkpoint verifier (checkpoint_verify.py,
written from spec/checkpoints.md alone) against the `evident` CLI.

The CLI makes logs, keys, checkpoints, inclusion and consistency proofs and
witness cosignatures; the test checks that both agree on the genuine
artefacts and on mutated ones (bytes flipped in every line of a checkpoint,
re-signed checkpoints with a changed size, root, origin or extension lines,
foreign and repeated signature lines, wrong keys and origins; proofs with a
hash changed, removed, added or reordered, for another index or size;
logs truncated, torn, rewritten and re-hashed, with an entry changed or
deleted; witness requests that do not extend, split views, stale old
sizes; cosignatures with odd timestamps; the checkpoints sidecar cut
mid-note). Accept/reject must agree everywhere, and the reason class
where the CLI's --json gives one.

    EVIDENT_CLI=$PWD/target/release/evident python -m pytest -q \
        tests/spec_verifier/test_checkpoint_differential.py

EVIDENT_CKPT_DIFF_SEED (default 1) seeds the random choices.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import struct
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

pytest.importorskip("cryptography")
import checkpoint_verify as cv  # noqa: E402
import spec_verify as sv  # noqa: E402

SEED = int(os.environ.get("EVIDENT_CKPT_DIFF_SEED", "1"))
HMAC_KEY = bytes(range(32))
HMAC_KEY512 = bytes(range(64))


def cli() -> str:
    p = os.environ.get("EVIDENT_CLI") or str(REPO / "target" / "release" / "evident")
    if not os.path.isfile(p):
        pytest.skip("no evident CLI (cargo build --release --bins)")
    return p


def run(*args, check=False, cwd=None):
    r = subprocess.run([cli(), *map(str, args)], capture_output=True, cwd=cwd, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError("evident %s: exit %d\n%s" % (
            " ".join(map(str, args)), r.returncode, r.stderr.decode(errors="replace")))
    return r


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


# ---------------------------------------------------------------------------
# Logs: records, framings, re-chaining (format.md § 6-8)


split_records = sv.split_records


def frame(body: bytes, h: bytes) -> bytes:
    head = struct.pack("<IHH", len(body), len(h), 0) + body + h
    return head + struct.pack("<II", zlib.crc32(head), len(head) + 8)


def assemble(framing: str, recs) -> bytes:
    if framing == "binary":
        return sv.MAGIC + b"\x01\0\0\0\0\0\0\0" + b"".join(frame(b, h) for b, h in recs)
    return b"".join(b[:-1] + b',"hash":"' + h.hex().encode() + b'"}\n' for b, h in recs)


def record_hash(alg: str, body: bytes) -> bytes:
    key = HMAC_KEY512 if alg == "hmac-sha512" else HMAC_KEY
    return sv.record_hash(alg, key, body)


def rechain(alg: str, bodies: List[bytes]) -> List[Tuple[bytes, bytes]]:
    """Every prev and hash recomputed: a consistent chain of other bodies."""
    out, prev = [], None
    zero = "0" * (128 if alg == "hmac-sha512" else 64)
    for i, b in enumerate(bodies):
        j = json.loads(b)
        old_prev = j["prev"]
        new_prev = prev.hex() if prev is not None else zero
        b = b.replace(b'"prev":"%s"' % old_prev.encode(), b'"prev":"%s"' % new_prev.encode(), 1)
        h = record_hash(alg, b)
        out.append((b, h))
        prev = h
    return out


# ---------------------------------------------------------------------------
# The world: keys, logs, checkpoints made by the CLI


class World:
    pass


SIZES = (1, 2, 3, 4, 5, 7, 8, 9, 13)
N_RECORDS = 13


def entries_json(start: int, count: int) -> bytes:
    return b"".join(json.dumps({
        "event_type": "STEP", "action": "a%d" % i, "actor": "alice",
        "ts": "2026-03-01T09:00:%02d.000000Z" % (i % 60),
        "details": {"i": i, "s": "\u00e9\t%d" % i}}).encode() + b"\n"
        for i in range(start, start + count))


def write_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World()
    d = tmp_path_factory.mktemp("ckpt")
    w.dir = d
    w.n = 0
    run("keygen", "--name", "example.com/audit", "-o", d / "log.key", check=True)
    run("keygen", "--name", "example.com/audit", "-o", d / "other.key", check=True)
    run("keygen", "--name", "witness.example/w1", "--witness", "-o", d / "w1.key", check=True)
    run("keygen", "--name", "witness.example/w2", "--witness", "-o", d / "w2.key", check=True)
    w.skey = cv.parse_skey((d / "log.key").read_bytes())
    w.vkey = cv.parse_vkey((d / "log.key.pub").read_bytes())
    w.pub = d / "log.key.pub"
    w.other = cv.parse_skey((d / "other.key").read_bytes())
    w.w1 = cv.parse_skey((d / "w1.key").read_bytes())
    w.w2 = cv.parse_skey((d / "w2.key").read_bytes())
    write_file(d / "k256", HMAC_KEY.hex().encode())
    write_file(d / "k512", HMAC_KEY512.hex().encode())
    write_file(d / "kother", bytes(range(1, 33)).hex().encode())
    w.logs = {}
    # keyless JSONL and binary, hmac-sha256 by the CLI
    for name, keyfile in (("plain.jsonl", None), ("plain.evl", None), ("hmac.jsonl", d / "k256")):
        path = d / name
        args = ["append", path, "--json", "-"]
        if keyfile:
            args += ["--key-file", keyfile]
        r = subprocess.run([cli(), *map(str, args)], input=entries_json(1, N_RECORDS - 1),
                           capture_output=True)
        assert r.returncode == 0, r.stderr
        w.logs[name] = Log(path, "hmac-sha256" if keyfile else "sha256", keyfile)
    # hmac-sha512 (binary): the hmac log re-keyed by this test (the CLI's
    # append keys new logs with hmac-sha256)
    framing, recs = split_records((d / "hmac.jsonl").read_bytes())
    bodies = [b for b, _ in recs]
    g = bodies[0].replace(b'"alg":"hmac-sha256"', b'"alg":"hmac-sha512"')
    g = g.replace(b'"key_id":"%s"' % json.loads(bodies[0])["key_id"].encode(),
                  b'"key_id":"%s"' % sv.key_id_of(HMAC_KEY512).encode())
    path = write_file(d / "hmac512.evl", assemble("binary", rechain("hmac-sha512", [g] + bodies[1:])))
    w.logs["hmac512.evl"] = Log(path, "hmac-sha512", d / "k512")
    for lg in w.logs.values():
        r = run("verify", lg.path, *(["--key-file", lg.keyfile] if lg.keyfile else []))
        assert r.returncode == 0, r.stdout + r.stderr
        for size in SIZES:
            out = d / ("%s.cp%d" % (lg.path.name, size))
            run("checkpoint", lg.path, "--key", d / "log.key", "--size", size, "-o", out,
                *(["--key-file", lg.keyfile] if lg.keyfile else []), check=True)
            lg.cps[size] = out.read_bytes()
        lg.data = lg.path.read_bytes()
        lg.origin = cv.parse_checkpoint(lg.cps[1]).origin
    return w


class Log:
    def __init__(self, path, alg, keyfile):
        self.path, self.alg, self.keyfile = path, alg, keyfile
        self.cps = {}

    @property
    def key(self):
        return None if self.keyfile is None else bytes.fromhex(self.keyfile.read_text())


def tmpfile(w, suffix: str, data: bytes) -> Path:
    w.n += 1
    return write_file(w.dir / ("t%05d%s" % (w.n, suffix)), data)


def parallel(fn, items):
    with ThreadPoolExecutor(max_workers=4) as ex:
        return list(ex.map(fn, items))


# ---------------------------------------------------------------------------
# Mutations of a signed checkpoint


def note_lines(cp: bytes) -> List[Tuple[int, int]]:
    """(start, end) of every line of a note, LF included."""
    out, p = [], 0
    while p < len(cp):
        nl = cp.find(b"\n", p)
        nl = len(cp) - 1 if nl < 0 else nl
        out.append((p, nl + 1))
        p = nl + 1
    return out


def flipped_checkpoints(cp: bytes):
    """A byte changed in every line: first, middle and last byte, the LF."""
    for li, (s, e) in enumerate(note_lines(cp)):
        positions = sorted({s, (s + e - 1) // 2, max(s, e - 2), e - 1})
        for p in positions:
            for mask in (0x01, 0x20, 0x80):
                m = bytearray(cp)
                m[p] ^= mask
                yield "line %d byte %d ^%02x" % (li, p - s, mask), bytes(m)
        yield "line %d deleted" % li, cp[:s] + cp[e:]
        yield "line %d doubled" % li, cp[:e] + cp[s:e] + cp[e:]
    yield "CRLF", cp.replace(b"\n", b"\r\n")
    yield "no final LF", cp[:-1]
    yield "extra final LF", cp + b"\n"
    yield "leading LF", b"\n" + cp
    yield "empty", b""


def text_of(cp: bytes) -> Tuple[bytes, bytes]:
    """(text, signature block) of a note."""
    i = cp.rfind(b"\n\n")
    return cp[:i + 1], cp[i + 2:]


def resigned_checkpoints(w, cp: bytes, size: int, root: bytes, origin: str):
    """Texts changed and signed again with the log's key: only the rule
    under test differs."""
    def mk(lines):
        return cv.sign_note("".join(x + "\n" for x in lines).encode(), [w.skey])
    r = b64(root)
    yield "re-signed genuine", mk([origin, str(size), r])
    yield "size + 1", mk([origin, str(size + 1), r])
    if size > 0:
        yield "size - 1", mk([origin, str(size - 1), r])
    yield "size with leading zero", mk([origin, "0" + str(size), r])
    yield "size with plus", mk([origin, "+" + str(size), r])
    yield "size 2^64", mk([origin, str(1 << 64), r])
    yield "size 2^64-1", mk([origin, str((1 << 64) - 1), r])
    yield "size 2^63", mk([origin, str(1 << 63), r])
    yield "size hex", mk([origin, hex(size), r])
    yield "size with space", mk([origin, str(size) + " ", r])
    yield "root changed", mk([origin, str(size), b64(bytes([root[0] ^ 1]) + root[1:])])
    yield "root 31 bytes", mk([origin, str(size), b64(root[:31])])
    yield "root 33 bytes", mk([origin, str(size), b64(root + b"\0")])
    yield "root unpadded", mk([origin, str(size), r.rstrip("=")])
    yield "root url-safe", mk([origin, str(size), base64.urlsafe_b64encode(root).decode()])
    yield "root hex", mk([origin, str(size), root.hex()])
    yield "root pad bits", mk([origin, str(size), r[:-2] + chr(ord(r[-2]) ^ 1) + "="])
    yield "origin other", mk(["evident/ffffffffffffffffffffffffffffffff", str(size), r])
    yield "origin upper case", mk([origin.upper(), str(size), r])
    yield "origin trailing space", mk([origin + " ", str(size), r])
    yield "origin empty", mk(["", str(size), r])
    yield "extension line", mk([origin, str(size), r, "ext one"])
    yield "two extension lines", mk([origin, str(size), r, "a", "b"])
    yield "empty extension line", mk([origin, str(size), r, ""])
    yield "empty line then extension", mk([origin, str(size), r, "", "x"])
    yield "only two lines", mk([origin, str(size)])
    yield "DEL in extension", mk([origin, str(size), r, "a\x7fb"])
    yield "C1 control in extension", mk([origin, str(size), r, "a\u0085b"])
    yield "tab in extension", mk([origin, str(size), r, "a\tb"])
    yield "CR in extension", mk([origin, str(size), r, "a\rb"])
    yield "NUL in extension", mk([origin, str(size), r, "a\0b"])
    yield "non-ASCII extension", mk([origin, str(size), r, "µ 漢字 🙂"])
    yield "BOM before origin", mk(["\ufeff" + origin, str(size), r])


def signature_variants(w, cp: bytes):
    """The genuine text with other signature blocks."""
    text, block = text_of(cp)
    genuine = block
    name = w.skey.name

    def line(k_name, kid, sig):
        return ("\u2014 %s %s\n" % (k_name, b64(kid + sig))).encode()
    other_same_name = line(name, w.other.id, w.other.sign(text))
    unknown = cv.Key("unknown.example/k", 1, w.other.pub, w.other.seed)
    unk = line(unknown.name, unknown.id, unknown.sign(text))
    bad = bytearray(w.skey.sign(text))
    bad[10] ^= 1
    bad_line = line(name, w.skey.id, bytes(bad))
    yield "genuine", text + b"\n" + genuine
    yield "genuine twice", text + b"\n" + genuine + genuine
    yield "genuine then failing copy", text + b"\n" + genuine + bad_line
    yield "failing copy then genuine", text + b"\n" + bad_line + genuine
    yield "failing only", text + b"\n" + bad_line
    yield "other key same name only", text + b"\n" + other_same_name
    yield "other key same name + genuine", text + b"\n" + other_same_name + genuine
    yield "unknown key + genuine", text + b"\n" + unk + genuine
    yield "unknown key only", text + b"\n" + unk
    yield "log key id under another name", text + b"\n" + line("evil.example/x", w.skey.id, bytes(bad)) + genuine
    yield "log signature 63 bytes", text + b"\n" + line(name, w.skey.id, w.skey.sign(text)[:63])
    yield "log signature 65 bytes", text + b"\n" + line(name, w.skey.id, w.skey.sign(text) + b"\0")
    yield "log signature + 63 bytes copy", text + b"\n" + genuine + line(name, w.skey.id, w.skey.sign(text)[:63])
    yield "sig of 4 bytes (id only)", text + b"\n" + line("x.example/y", b"\1\2\3\4", b"") + genuine
    yield "sig of 5 bytes", text + b"\n" + line("x.example/y", b"\1\2\3\4", b"\5") + genuine
    yield "99 unknown + genuine", text + b"\n" + unk * 99 + genuine
    yield "100 unknown + genuine", text + b"\n" + unk * 100 + genuine
    s = b64(w.skey.id + w.skey.sign(text))
    # 68 bytes: 2 pad bits in the last base64 digit before "="
    pad = s[:-2] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".index(s[-2]) ^ 1)] + "="
    yield "signature pad bits", text + b"\n" + ("\u2014 %s %s\n" % (name, pad)).encode()
    yield "signature unpadded", text + b"\n" + ("\u2014 %s %s\n" % (name, s.rstrip("="))).encode()
    yield "two spaces after dash", text + b"\n" + ("\u2014  %s %s\n" % (name, s)).encode()
    yield "trailing space", text + b"\n" + ("\u2014 %s %s \n" % (name, s)).encode()
    yield "hyphen for em dash", text + b"\n" + ("- %s %s\n" % (name, s)).encode()
    yield "blank line between sigs", text + b"\n" + unk + b"\n" + genuine
    for label, odd in (("NBSP", "a\u00a0b"), ("EM SPACE", "a\u2003b"), ("plus", "a+b"),
                       ("ideographic space", "a\u3000b"), ("NEL", "a\u0085b")):
        yield "name with %s + genuine" % label, text + b"\n" + line(odd, b"\1\2\3\4", b"\5" * 64) + genuine
    yield "name with NBSP of the log key", text + b"\n" + line(name + "\u00a0", w.skey.id, w.skey.sign(text))
    yield "empty name + genuine", text + b"\n" + ("\u2014  %s\n" % b64(b"\1\2\3\4\5")).encode() + genuine


# ---------------------------------------------------------------------------
# Mutations of a log after its checkpoint of size n


def mutated_logs(data: bytes, alg: str, n: int, rng: random.Random):
    framing, recs = split_records(data)
    bodies = [b for b, _ in recs]
    total = len(recs)
    yield "genuine", data
    yield "last record removed", assemble(framing, recs[:-1])
    yield "cut to n-1 records", assemble(framing, recs[:n - 1])
    cut = assemble(framing, recs[:n])
    yield "cut to n records", cut
    if n >= 2:
        part = assemble(framing, recs[:n - 1])
        yield "record n-1 torn (half)", part + assemble(framing, recs[:n])[len(part):][:-7]
        if framing == "jsonl":
            yield "record n-1 without LF", assemble(framing, recs[:n])[:-1]
    yield "garbage appended", data + (b"garbage\n" if framing == "jsonl" else b"\1\2\3garbage")
    yield "garbage appended, no LF", data + b"garbage"
    if framing == "jsonl":
        yield "last LF changed", data[:-1] + b" "
    last = len(assemble(framing, recs[:-1]))
    yield "lost block in the last record", data[:last + 10] + b"\0" * 20 + data[last + 30:]
    yield "lost block, then a record", data[:last + 10] + b"\0" * 20 + data[last + 30:] + \
        assemble(framing, recs)[len(assemble(framing, recs[:1])):][:len(assemble(framing, recs[1:2]))]
    yield "zeros appended", data + b"\0" * 64
    for j in sorted({1, n // 2, n - 1} & set(range(1, total))):
        b = bodies[j]
        edited = b.replace(b'"actor":"alice"', b'"actor":"mallo"', 1)
        if edited == b:
            continue
        r = list(recs)
        r[j] = (edited, recs[j][1])
        yield "entry %d edited, hash kept" % j, assemble(framing, r)
        r[j] = (edited, record_hash(alg, edited))
        yield "entry %d edited, own hash recomputed" % j, assemble(framing, r)
        yield "entry %d edited, chain re-hashed" % j, assemble(
            framing, rechain(alg, bodies[:j] + [edited] + bodies[j + 1:]))
        # deleted: seqs renumbered and re-hashed, or just dropped
        ren = []
        for k, bb in enumerate(bodies[:j] + bodies[j + 1:]):
            jj = json.loads(bb)
            ren.append(bb.replace(b'"seq":%d,' % jj["seq"], b'"seq":%d,' % k, 1))
        yield "entry %d deleted, renumbered, re-hashed" % j, assemble(framing, rechain(alg, ren))
        yield "entry %d deleted" % j, assemble(framing, recs[:j] + recs[j + 1:])
        # a byte of the record damaged
        raw = bytearray(assemble(framing, recs))
        off = len(assemble(framing, recs[:j])) + (3 if framing == "jsonl" else 20)
        raw[off] ^= 0x40
        yield "entry %d byte damaged" % j, bytes(raw)
    # rolled back to n-1 and appended to with other entries (re-hashed)
    if n >= 2:
        alt = [b.replace(b'"actor":"alice"', b'"actor":"bobby"', 1) for b in bodies[n - 1:]]
        yield "rolled back and rewritten", assemble(framing, rechain(alg, bodies[:n - 1] + alt))
    # the whole log rewritten with every hash recomputed (keyless: undetectable by the chain)
    alt = [bodies[0]] + [b.replace(b'"actor":"alice"', b'"actor":"bobby"', 1) for b in bodies[1:]]
    yield "every entry rewritten, re-hashed", assemble(framing, rechain(alg, alt))
    # random byte flips in the first n records
    end = len(assemble(framing, recs[:n]))
    start = 16 if framing == "binary" else 0
    for i in range(6):
        raw = bytearray(data)
        p = rng.randrange(start, end)
        raw[p] ^= 1 << rng.randrange(8)
        yield "random flip at %d" % p, bytes(raw)


# ---------------------------------------------------------------------------
# The CLI's verdicts


def cli_verify(w, log_path: Path, cp: bytes, *extra, keyfile=None):
    """`evident verify --checkpoint --json`: (outcome or "error", valid, json)."""
    cpf = tmpfile(w, ".cp", cp)
    args = ["verify", log_path, "--checkpoint", cpf, "--pubkey", w.pub, "--json", *extra]
    if keyfile:
        args += ["--key-file", keyfile]
    r = run(*args)
    try:
        j = json.loads(r.stdout)
    except ValueError:
        return "error", False, r.stderr.decode(errors="replace").strip()
    if "outcome" not in j:
        return "error", False, j
    # the exit status is the whole chain's (format.md § 9; a torn tail or a
    # keyed log without its key is 1), "valid" the checkpoint's (rule 14)
    if r.returncode not in (0, 1) or (r.returncode == 0 and not j["valid"]):
        return "exit %d" % r.returncode, j["valid"], j
    return j["outcome"], j["valid"], j


def same_class(mine: str, theirs: str) -> bool:
    """A malformed checkpoint is reported by the CLI as an error (exit 2) or
    as bad_signature; a log that is not one (or whose genesis fails its hash
    check) as an error."""
    if mine == theirs:
        return True
    if mine == "malformed":
        return theirs in ("error", "bad_signature")
    if mine in ("not_a_log", "unsupported", "genesis_hash", "wrong_key"):
        return theirs == "error"
    return False


def check_all(cases, label):
    bad = [c for c in cases if c is not None]
    assert not bad, "%s: %d disagreements:\n%s" % (label, len(bad), "\n".join(map(str, bad[:60])))


# ---------------------------------------------------------------------------
# Tests


def test_vectors():
    compared, bad = cv.check_vectors(str(REPO / "spec" / "vectors" / "checkpoints"))
    assert compared > 40 and not bad, bad


def test_vectors_through_the_cli(tmp_path):
    d = REPO / "spec" / "vectors" / "checkpoints"
    man = json.loads((d / "manifest.json").read_text())
    bad = []
    for v in man["vectors"]:
        if v["kind"] == "verify":
            args = ["verify", d / v["log"], "--checkpoint", d / v["checkpoint"], "--pubkey",
                    d / man["log_vkey"], "--json"]
            if v.get("min_witnesses"):
                args += ["--witness-key", d / man["witness_vkey"], "--min-witnesses",
                         v["min_witnesses"]]
            j = json.loads(run(*args).stdout)
            if j["outcome"] != v["expect"]:
                bad.append((v, j["outcome"]))
        elif v["kind"] in ("inclusion", "consistency"):
            args = ["verify-proof", d / v["proof"], "--pubkey", d / man["log_vkey"]]
            if v["kind"] == "consistency":
                args += ["--old", d / v["old"]]
            else:  # rule 8a: the origin expected (without it: refused, exit 2)
                assert run(*args).returncode == 2
                args += ["--origin", man["origin"]]
            r = run(*args)
            if (r.returncode == 0) != (v["expect"] == "ok"):
                bad.append((v, r.returncode))
    assert not bad, bad


def test_keys(world, tmp_path):
    w = world
    # the private keys give the public keys the CLI wrote; ids as rule 5 says
    for name in ("log.key", "other.key", "w1.key", "w2.key"):
        s = cv.parse_skey((w.dir / name).read_bytes())
        assert (w.dir / (name + ".pub")).read_text().strip() == s.vkey()
    assert w.skey.typ == 1 and w.w1.typ == 4
    # keys made by this test work with the CLI, both ways
    mine = cv.new_key("mine.example/log", 1, bytes(range(32)))
    write_file(tmp_path / "m.key", cv.skey_text(mine).encode() + b"\n")
    write_file(tmp_path / "m.key.pub", mine.vkey().encode() + b"\n")
    lg = w.logs["plain.jsonl"]
    r = run("checkpoint", lg.path, "--key", tmp_path / "m.key", "--no-sidecar", check=True)
    cp = cv.parse_checkpoint(r.stdout)
    assert cv.check_note(cp.note, mine)[0]
    made = cv.make_checkpoint(cp.origin, cp.size, cp.root, mine)
    cpf = write_file(tmp_path / "made.cp", made)
    r = run("verify", lg.path, "--checkpoint", cpf, "--pubkey", tmp_path / "m.key.pub", "--json")
    assert json.loads(r.stdout)["outcome"] == "match"
    # a vkey is also accepted as text
    r = run("verify", lg.path, "--checkpoint", cpf, "--pubkey", mine.vkey(), "--json")
    assert json.loads(r.stdout)["outcome"] == "match"


def test_roots_of_every_size(world):
    """The CLI's signed roots are RFC 6962 roots of the record bodies (§ 1);
    both verifiers match every checkpoint against its log."""
    w = world
    bad = []
    for name, lg in w.logs.items():
        t = cv.log_tree(lg.data)
        assert t.stop == "end" and len(t.bodies) == N_RECORDS
        for size, cp in lg.cps.items():
            c = cv.parse_checkpoint(cp)
            if c.size != size or c.root != cv.mth(t.hashes[:size]) or c.origin != lg.origin:
                bad.append((name, size, "root"))
            mine = cv.verify_log(lg.data, cp, w.vkey, key=None)["outcome"]
            theirs = cli_verify(w, lg.path, cp, keyfile=lg.keyfile)[0]
            if mine != "match" or theirs != "match":
                bad.append((name, size, mine, theirs))
    # the two framings of one log have one tree (rule 1)
    conv = w.dir / "plain-converted.evl"
    run("convert", w.logs["plain.jsonl"].path, conv, "--to", "binary", check=True)
    assert cv.log_tree(conv.read_bytes()).hashes == cv.log_tree(w.logs["plain.jsonl"].data).hashes
    assert cli_verify(w, conv, w.logs["plain.jsonl"].cps[13])[0] == "match"
    assert not bad, bad


def _cmp_verify(w, lg, label, cp, log_data=None, keyfile=None, extra=(), mine_kw=None):
    path = lg.path if log_data is None else tmpfile(w, lg.path.suffix, log_data)
    data = lg.data if log_data is None else log_data
    kw = dict(mine_kw or {})
    key = bytes.fromhex(keyfile.read_text()) if keyfile else None
    mine = cv.verify_log(data, cp, w.vkey, key=key, **kw)
    theirs, valid, j = cli_verify(w, path, cp, *extra, keyfile=keyfile)
    if not same_class(mine["outcome"], theirs):
        return (label, "mine", mine["outcome"], "cli", theirs, j if theirs in ("error",) else
                (j.get("message") if isinstance(j, dict) else j))
    if theirs not in ("error",) and mine["valid"] != valid:
        return (label, "valid: mine", mine["valid"], "cli", valid, j.get("chain", {}).get("violations"))
    return None


def test_checkpoint_mutations(world):
    w = world
    lg = w.logs["plain.jsonl"]
    cases = []
    for size in (1, 5, 13):
        cp = lg.cps[size]
        c = cv.parse_checkpoint(cp)
        for label, m in flipped_checkpoints(cp):
            cases.append(("size %d flip %s" % (size, label), m))
        for label, m in resigned_checkpoints(w, cp, c.size, c.root, c.origin):
            cases.append(("size %d re-signed %s" % (size, label), m))
        for label, m in signature_variants(w, cp):
            cases.append(("size %d sigs %s" % (size, label), m))
    # a checkpoint of size 0 (the empty root) matches every log
    cases.append(("size 0 empty root", cv.make_checkpoint(lg.origin, 0, cv.EMPTY_ROOT, w.skey)))
    cases.append(("size 0 other root", cv.make_checkpoint(lg.origin, 0, b"\1" * 32, w.skey)))
    check_all(parallel(lambda c: _cmp_verify(w, lg, c[0], c[1]), cases), "checkpoint mutations")


def test_origins(world):
    w = world
    bad = []
    for name in ("plain.jsonl", "hmac512.evl"):
        lg = w.logs[name]
        c = cv.parse_checkpoint(lg.cps[5])
        other = cv.make_checkpoint("example.com/audit", 5, c.root, w.skey)
        for label, cp, extra, kw in (
                ("default origin", lg.cps[5], (), {}),
                ("--origin of another", lg.cps[5], ("--origin", "example.com/audit"),
                 {"origin": "example.com/audit"}),
                ("custom origin, no --origin", other, (), {}),
                ("custom origin, --origin", other, ("--origin", "example.com/audit"),
                 {"origin": "example.com/audit"}),
                ("custom origin, --origin upper", other, ("--origin", "EXAMPLE.COM/audit"),
                 {"origin": "EXAMPLE.COM/audit"}),
                ("another log's checkpoint", w.logs["plain.evl"].cps[5], (), {})):
            bad.append(_cmp_verify(w, lg, name + " " + label, cp, keyfile=lg.keyfile,
                                   extra=extra, mine_kw=kw))
    check_all(bad, "origins")


def test_log_mutations(world):
    w = world
    rng = random.Random(SEED)
    cases = []
    for name, lg in w.logs.items():
        for size in (5, 13):
            for label, data in mutated_logs(lg.data, lg.alg, size, rng):
                cases.append((lg, "%s size %d: %s" % (name, size, label), lg.cps[size], data,
                              lg.keyfile))
                if lg.keyfile:   # also without the HMAC key: hashes not computable
                    cases.append((lg, "%s size %d (no key): %s" % (name, size, label),
                                  lg.cps[size], data, None))
        # a key that is not the log's (any key, for a keyless log)
        cases.append((lg, "%s: another HMAC key" % name, lg.cps[5], lg.data, w.dir / "kother"))
    check_all(parallel(lambda c: _cmp_verify(w, c[0], c[1], c[2], log_data=c[3], keyfile=c[4]),
                       cases), "log mutations")


# ---------------------------------------------------------------------------
# Proofs (§ 3)


def cli_verify_proof(w, proof: bytes, *extra):
    pf = tmpfile(w, ".proof", proof)
    r = run("verify-proof", pf, "--pubkey", w.pub, *extra)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace").strip()


def inclusion_variants(w, lg, proof: bytes, rng: random.Random):
    p = cv.parse_inclusion(proof)
    cp = p.cp.raw

    def mk(extra=p.extra, index=p.index, path=p.path, cp=cp, index_text=None):
        out = cv.make_inclusion(extra, index, path, cp)
        if index_text is not None:
            out = out.replace(b"\nindex %d\n" % index, b"\nindex %s\n" % index_text.encode(), 1)
        return out
    yield "genuine", proof
    for i in range(len(p.path)):
        h = bytearray(p.path[i])
        h[rng.randrange(32)] ^= 1 << rng.randrange(8)
        yield "hash %d changed" % i, mk(path=p.path[:i] + [bytes(h)] + p.path[i + 1:])
        yield "hash %d removed" % i, mk(path=p.path[:i] + p.path[i + 1:])
    yield "hash added at end", mk(path=p.path + [rng.randbytes(32)])
    yield "hash added at start", mk(path=[rng.randbytes(32)] + p.path)
    yield "root appended", mk(path=p.path + [p.cp.root])
    if len(p.path) >= 2:
        yield "hashes swapped", mk(path=[p.path[1], p.path[0]] + p.path[2:])
        yield "hashes reversed", mk(path=p.path[::-1])
    yield "index + 1", mk(index=p.index + 1)
    if p.index:
        yield "index - 1", mk(index=p.index - 1)
    yield "index = size", mk(index=p.cp.size)
    yield "index 2^64-1", mk(index=(1 << 64) - 1)
    yield "index leading zero", mk(index_text="0%d" % p.index)
    yield "index plus", mk(index_text="+%d" % p.index)
    yield "extra of another entry", mk(extra=cv.log_tree(lg.data).bodies[(p.index + 1) % 13])
    yield "extra changed", mk(extra=p.extra.replace(b"alice", b"alicf"))
    yield "extra with a space", mk(extra=p.extra[:-1] + b" }")
    yield "extra empty", mk(extra=b"")
    yield "no extra line", proof.replace(b"extra %s\n" % b64(p.extra).encode(), b"")
    yield "extra unpadded", proof.replace(b64(p.extra).encode(), b64(p.extra).rstrip("=").encode())
    yield "header typo", proof.replace(b"c2sp.org/tlog-proof@v1", b"c2sp.org/tlog-proof@v2")
    yield "CRLF in header", proof.replace(b"\nindex", b"\r\nindex")
    yield "blank line in path", proof.replace(b"\nindex %d\n" % p.index, b"\nindex %d\n\n" % p.index)
    yield "hash as hex", mk().replace(b64(p.path[0]).encode(), p.path[0].hex().encode()) if p.path else proof
    yield "64 hashes", mk(path=p.path + [rng.randbytes(32)] * (64 - len(p.path)))
    # the checkpoint: another one of the log (other size), re-signed edits, flips
    for size, other in lg.cps.items():
        if size != p.cp.size:
            yield "checkpoint of size %d" % size, mk(cp=other)
    yield "checkpoint bit flipped", mk(cp=cp[:-10] + bytes([cp[-10] ^ 1]) + cp[-9:])
    yield "checkpoint by another key", mk(cp=cv.make_checkpoint(p.cp.origin, p.cp.size, p.cp.root, w.other))
    yield "checkpoint with other origin", mk(cp=cv.make_checkpoint("x.example/y", p.cp.size, p.cp.root, w.skey))
    yield "checkpoint size + 1 re-signed", mk(cp=cv.make_checkpoint(p.cp.origin, p.cp.size + 1, p.cp.root, w.skey))


def test_inclusion_proofs(world):
    w = world
    rng = random.Random(SEED + 1)
    jobs = []
    for name, lg in w.logs.items():
        for size in SIZES:
            for seq in range(size):
                jobs.append((name, lg, size, seq))

    def prove(job):
        name, lg, size, seq = job
        cpf = w.dir / ("%s.cp%d" % (lg.path.name, size))
        r = run("prove", lg.path, "--seq", seq, "--checkpoint", cpf,
                *(["--key-file", lg.keyfile] if lg.keyfile else []))
        return job, r
    bad = []
    proofs = {}
    for (name, lg, size, seq), r in parallel(prove, jobs):
        if r.returncode != 0:
            bad.append((name, size, seq, "prove failed", r.stderr))
            continue
        p = cv.parse_inclusion(r.stdout)
        hashes = cv.log_tree(lg.data).hashes
        if (p.index != seq or p.extra != cv.log_tree(lg.data).bodies[seq]
                or p.path != cv.inclusion_path(seq, hashes[:size]) or p.cp.raw != lg.cps[size]):
            bad.append((name, size, seq, "not RFC 9162 PATH / not the body / not the checkpoint"))
        if cv.inclusion_outcome(r.stdout, w.vkey, lg.origin) != "ok":
            bad.append((name, size, seq, "mine rejects the CLI's proof"))
        proofs[(name, size, seq)] = (lg, r.stdout)
    # the CLI refuses to prove what the checkpoint does not cover
    lg = w.logs["plain.jsonl"]
    r = run("prove", lg.path, "--seq", 5, "--checkpoint", w.dir / "plain.jsonl.cp5")
    assert r.returncode != 0
    # mutations, on a sample
    cases = []
    for key in sorted(proofs):
        name, size, seq = key
        if size not in (5, 13) or seq not in (0, 2, size - 1):
            continue
        lg, proof = proofs[key]
        for label, m in inclusion_variants(w, lg, proof, rng):
            cases.append(("%s size %d seq %d: %s" % (name, size, seq, label), lg, m))

    def compare(c):
        label, lg, m = c
        # rule 8a: the origin expected is given (without it the CLI refuses)
        mine = cv.inclusion_outcome(m, w.vkey, lg.origin)
        rc, msg = cli_verify_proof(w, m, "--origin", lg.origin)
        if (mine == "ok") != (rc == 0) or rc not in (0, 1):
            return (label, "mine", mine, "cli", rc, msg[:200])
        # with the log: its entry must be the proven one, origin the log's
        mine = cv.inclusion_outcome(m, w.vkey, lg.origin, body=None)
        if mine == "ok":
            p = cv.parse_inclusion(m)
            t = cv.log_tree(lg.data)
            if p.index >= len(t.bodies) or t.bodies[p.index] != p.extra:
                mine = "invalid"
        rc, msg = cli_verify_proof(w, m, "--log", lg.path)
        if (mine == "ok") != (rc == 0) or rc not in (0, 1):
            return (label + " (--log)", "mine", mine, "cli", rc, msg[:200])
        return None
    check_all(bad + parallel(compare, cases), "inclusion proofs")


def consistency_variants(w, req: bytes, old_cp: bytes, rng):
    r = cv.parse_request(req)
    yield "genuine", req, old_cp
    for i in range(len(r.path)):
        h = bytearray(r.path[i])
        h[rng.randrange(32)] ^= 1 << rng.randrange(8)
        yield "hash %d changed" % i, cv.make_request(r.old, r.path[:i] + [bytes(h)] + r.path[i + 1:], r.cp_data), old_cp
        yield "hash %d removed" % i, cv.make_request(r.old, r.path[:i] + r.path[i + 1:], r.cp_data), old_cp
    yield "hash added", cv.make_request(r.old, r.path + [rng.randbytes(32)], r.cp_data), old_cp
    yield "old root prepended", cv.make_request(r.old, [cv.parse_checkpoint(old_cp).root] + r.path, r.cp_data), old_cp
    if len(r.path) >= 2:
        yield "hashes swapped", cv.make_request(r.old, [r.path[1], r.path[0]] + r.path[2:], r.cp_data), old_cp
    yield "old + 1", cv.make_request(r.old + 1, r.path, r.cp_data), old_cp
    yield "old - 1", cv.make_request(r.old - 1, r.path, r.cp_data), old_cp
    yield "old 0", cv.make_request(0, r.path, r.cp_data), old_cp
    yield "old 0 empty", cv.make_request(0, [], r.cp_data), old_cp
    yield "old leading zero", req.replace(b"old %d\n" % r.old, b"old 0%d\n" % r.old, 1), old_cp
    yield "64 hashes", cv.make_request(r.old, r.path + [rng.randbytes(32)] * (64 - len(r.path)), r.cp_data), old_cp
    yield "new and old swapped", cv.make_request(cv.parse_checkpoint(r.cp_data).size, r.path, old_cp), r.cp_data
    new = cv.parse_checkpoint(r.cp_data)
    yield "new re-signed with another root", cv.make_request(
        r.old, r.path, cv.make_checkpoint(new.origin, new.size, rng.randbytes(32), w.skey)), old_cp
    yield "new with another origin", cv.make_request(
        r.old, r.path, cv.make_checkpoint("x.example/y", new.size, new.root, w.skey)), old_cp
    yield "new by another key", cv.make_request(
        r.old, r.path, cv.make_checkpoint(new.origin, new.size, new.root, w.other)), old_cp
    o = cv.parse_checkpoint(old_cp)
    yield "old by another key", req, cv.make_checkpoint(o.origin, o.size, o.root, w.other)
    yield "old with another origin", req, cv.make_checkpoint("x.example/y", o.size, o.root, w.skey)


def test_consistency_proofs(world):
    w = world
    rng = random.Random(SEED + 2)
    bad, cases = [], []
    for name, lg in w.logs.items():
        hashes = cv.log_tree(lg.data).hashes
        pairs = [(a, b) for a in SIZES for b in SIZES if a <= b]
        for a, b in pairs:
            r = run("prove", lg.path, "--consistency", w.dir / ("%s.cp%d" % (lg.path.name, a)),
                    w.dir / ("%s.cp%d" % (lg.path.name, b)),
                    *(["--key-file", lg.keyfile] if lg.keyfile else []))
            if r.returncode != 0:
                bad.append((name, a, b, "prove failed", r.stderr))
                continue
            req = cv.parse_request(r.stdout)
            if req.old != a or req.path != cv.consistency_path(a, hashes[:b]) or req.cp_data != lg.cps[b]:
                bad.append((name, a, b, "not RFC 9162 PROOF"))
            if cv.consistency_outcome(r.stdout, lg.cps[a], w.vkey) != "ok":
                bad.append((name, a, b, "mine rejects the CLI's proof"))
            if name == "plain.jsonl" or (a, b) in ((4, 13), (5, 7)):
                for label, m, old in consistency_variants(w, r.stdout, lg.cps[a], rng):
                    cases.append(("%s %d->%d: %s" % (name, a, b, label), m, old))
        # from 0 (a witness's first request)
        r = run("prove", lg.path, "--consistency", "0", w.dir / ("%s.cp5" % lg.path.name),
                *(["--key-file", lg.keyfile] if lg.keyfile else []))
        req = cv.parse_request(r.stdout)
        assert r.returncode == 0 and req.old == 0 and req.path == []

    def compare(c):
        label, m, old = c
        mine = cv.consistency_outcome(m, old, w.vkey)
        rc, msg = cli_verify_proof(w, m, "--old", tmpfile(w, ".cp", old))
        if (mine == "ok") != (rc == 0) or rc not in (0, 1):
            return (label, "mine", mine, "cli", rc, msg[:200])
        return None
    check_all(bad + parallel(compare, cases), "consistency proofs")


# ---------------------------------------------------------------------------
# Witnesses (§ 6)

WITNESS_STATUS = re.compile(r"witness: (\d{3}) (\w+)")


def cli_witness(w, store: Path, req: bytes, wkey: Path, *extra):
    rf = tmpfile(w, ".req", req)
    r = run("witness", "--store", store, "--key", wkey, "--log-key", w.pub, rf, *extra)
    if r.returncode == 0:
        return 200, "cosigned", r.stdout
    m = WITNESS_STATUS.search(r.stderr.decode(errors="replace"))
    if not m:
        return "exit %d" % r.returncode, r.stderr.decode(errors="replace"), None
    return int(m.group(1)), m.group(2), r.stderr.decode(errors="replace")


def request(w, lg, old: int, new: int) -> bytes:
    a = "0" if old == 0 else w.dir / ("%s.cp%d" % (lg.path.name, old))
    r = run("prove", lg.path, "--consistency", a, w.dir / ("%s.cp%d" % (lg.path.name, new)), check=True)
    return r.stdout


def witness_script(w, lg, rng):
    """(label, request) in order, for a witness starting empty."""
    c = {s: cv.parse_checkpoint(lg.cps[s]) for s in SIZES}
    t = cv.log_tree(lg.data)
    fork13 = cv.make_checkpoint(lg.origin, 13, rng.randbytes(32), w.skey)
    fork8 = cv.make_checkpoint(lg.origin, 8, rng.randbytes(32), w.skey)
    yield "stale before any (old 5)", request(w, lg, 5, 8)
    yield "garbage", b"garbage\n"
    yield "from 0 with a proof", cv.make_request(0, [t.hashes[0]], lg.cps[4])
    yield "first: from 0", request(w, lg, 0, 4)
    yield "same again", request(w, lg, 4, 4)
    yield "same size, other root (split view)", cv.make_request(
        4, [], cv.make_checkpoint(lg.origin, 4, rng.randbytes(32), w.skey))
    yield "old larger than size", cv.make_request(5, [], lg.cps[4])
    yield "4 -> 5 proof with a hash flipped", cv.make_request(
        4, [bytes([h[0] ^ 1]) + h[1:] for h in cv.parse_request(request(w, lg, 4, 5)).path], lg.cps[5])
    yield "4 -> 5 empty proof", cv.make_request(4, [], lg.cps[5])
    yield "4 -> 8 (skipping 5)", request(w, lg, 4, 8)
    yield "8 -> 13 signed by another key", cv.make_request(
        8, cv.parse_request(request(w, lg, 8, 13)).path,
        cv.make_checkpoint(lg.origin, 13, c[13].root, w.other))
    yield "8 -> 13 with a failing log signature", cv.make_request(
        8, cv.parse_request(request(w, lg, 8, 13)).path,
        lg.cps[13][:-10] + bytes([lg.cps[13][-10] ^ 1]) + lg.cps[13][-9:])
    yield "stale old 4", request(w, lg, 4, 13)
    yield "stale old 4 showing a split view at 8", cv.make_request(4, [], fork8)
    yield "8 -> forked 13 (inconsistent)", cv.make_request(
        8, cv.parse_request(request(w, lg, 8, 13)).path, fork13)
    yield "8 -> 13", request(w, lg, 8, 13)
    yield "13 -> 13", request(w, lg, 13, 13)
    yield "13 -> forked 13", cv.make_request(13, [], fork13)
    yield "13 -> 8 (rolled back)", cv.make_request(13, [], lg.cps[8])
    yield "other origin from 0", cv.make_request(
        0, [], cv.make_checkpoint("example.com/audit", 5, c[5].root, w.skey))
    yield "other origin again from 0", cv.make_request(
        0, [], cv.make_checkpoint("example.com/audit", 8, c[8].root, w.skey))
    yield "size 0 with the empty root", cv.make_request(
        0, [], cv.make_checkpoint("example.com/zero", 0, cv.EMPTY_ROOT, w.skey))
    yield "size 0 with another root", cv.make_request(
        0, [], cv.make_checkpoint("example.com/zero2", 0, b"\1" * 32, w.skey))
    yield "64 hashes", cv.make_request(13, [b"\0" * 32] * 64, lg.cps[13])
    yield "old with a leading zero", request(w, lg, 13, 13).replace(b"old 13", b"old 013")
    yield "no checkpoint", b"old 13\n\n"


def test_witness(world, tmp_path):
    w = world
    rng = random.Random(SEED + 3)
    lg = w.logs["plain.jsonl"]
    bad = []
    for origins in (None, [lg.origin]):
        store = tmp_path / ("store-%s" % ("any" if origins is None else "one"))
        extra = () if origins is None else ("--origin", lg.origin)
        model = cv.Witness(w.w1, [w.vkey], origins)
        for label, req in witness_script(w, lg, rng):
            st, outcome, extra_out = model.add(req)
            cst, coutcome, cout = cli_witness(w, store, req, w.dir / "w1.key", *extra)
            if (st, outcome) != (cst, coutcome):
                bad.append((label, origins is not None, "mine", st, outcome, "cli", cst, coutcome,
                            (cout or b"")[-200:]))
                continue
            if st == 200:
                cp = cv.parse_checkpoint(cv.parse_request(req).cp_data)
                note = cv.parse_note(cp.note.text + b"\n" + cout)
                _, wits = cv.check_note(note, w.vkey, [w.w1])
                sig = note.sigs[0][2]
                t = struct.unpack(">Q", sig[:8])[0]
                if len(wits) != 1 or abs(t - time.time()) > 3600:
                    bad.append((label, "cosignature", wits, t))
            if st == 409 and "latest" not in label:
                held = model.held.get(cv.parse_checkpoint(cv.parse_request(req).cp_data).origin)
                if held and ("size %d" % held[0]) not in cout:
                    bad.append((label, "409 does not name the size held", held[0], cout))
        # evidence of every split view and inconsistent checkpoint (rule 19)
        ev = list((store / "evidence").iterdir()) if (store / "evidence").is_dir() else []
        if len(ev) < len(model.evidence):
            bad.append(("evidence", origins is not None, "files", len(ev), "model", len(model.evidence)))
    check_all(bad, "witness")


def cosig_line(wkey, text: bytes, t: int, signed_t: Optional[int] = None, sig_len: int = 64) -> bytes:
    sig = wkey.sign(cv.cosig_message(t if signed_t is None else signed_t, text))[:sig_len]
    return ("\u2014 %s %s\n" % (wkey.name, b64(wkey.id + struct.pack(">Q", t) + sig))).encode()


def test_witness_policy(world, tmp_path):
    """Rule 20: k distinct trusted witness keys; a failing trusted
    cosignature rejects; timestamps; a 0x01 key given as a witness key."""
    w = world
    lg = w.logs["plain.jsonl"]
    cp = lg.cps[8]
    text, block = text_of(cp)
    now = 1_790_000_000
    w1_01 = cv.Key(w.w1.name, 1, w.w1.pub, w.w1.seed)     # the same key as a note key
    write_file(tmp_path / "w1-01.pub", w1_01.vkey().encode())
    # a note key of a witness (Go's note.GenerateKey): cosigns as its 0x04 key
    g = cv.new_key("witness.example/go", 1, bytes([7]) * 32)
    write_file(tmp_path / "go.key", cv.skey_text(g).encode())
    write_file(tmp_path / "go.pub", g.vkey().encode())
    gc = g.as_cosig()
    unknown = cv.new_key("witness.example/w1", 4, bytes([9]) * 32)   # same name, other key
    alias = cv.Key("witness.example/alias", 4, w.w1.pub, w.w1.seed)  # w1's key, another name
    write_file(tmp_path / "alias.pub", alias.vkey().encode())
    variants = [
        ("none", block),
        ("w1", block + cosig_line(w.w1, text, now)),
        ("w1 twice", block + cosig_line(w.w1, text, now) + cosig_line(w.w1, text, now + 1)),
        ("w1 + w2", block + cosig_line(w.w1, text, now) + cosig_line(w.w2, text, now)),
        ("w1 first", cosig_line(w.w1, text, now) + block),
        ("w1 time 0", block + cosig_line(w.w1, text, 0)),
        ("w1 time 2^63", block + cosig_line(w.w1, text, 1 << 63)),
        ("w1 time 2^64-1", block + cosig_line(w.w1, text, (1 << 64) - 1)),
        ("w1 time in 100 years", block + cosig_line(w.w1, text, now + 100 * 365 * 86400)),
        ("w1 time changed after signing", block + cosig_line(w.w1, text, now, signed_t=now + 1)),
        ("w1 signature 63 bytes", block + cosig_line(w.w1, text, now, sig_len=63)),
        ("w1 failing + w2", block + cosig_line(w.w1, text, now, signed_t=1) + cosig_line(w.w2, text, now)),
        ("w1 over another checkpoint", block + cosig_line(w.w1, text_of(lg.cps[5])[0], now)),
        ("w1 as plain note signature", block + ("\u2014 %s %s\n" % (
            w.w1.name, b64(w1_01.id + w.w1.sign(text)))).encode()),
        ("w1 0x04 id, plain signature", block + ("\u2014 %s %s\n" % (
            w.w1.name, b64(w.w1.id + w.w1.sign(text)))).encode()),
        ("same name other key", block + cosig_line(unknown, text, now)),
        ("go-made witness", block + cosig_line(gc, text, now)),
        ("log key as cosigner", block + cosig_line(w.skey.as_cosig(), text, now)),
        ("w1 and its alias", block + cosig_line(w.w1, text, now) + cosig_line(alias, text, now)),
    ]
    policies = [
        ("w1 k=1", [("w1.key.pub", w.w1)], 1),
        ("w1 k=0", [("w1.key.pub", w.w1)], 0),
        ("w1,w2 k=2", [("w1.key.pub", w.w1), ("w2.key.pub", w.w2)], 2),
        ("w1,w2 k=1", [("w1.key.pub", w.w1), ("w2.key.pub", w.w2)], 1),
        ("w1 as 0x01 k=1", [(tmp_path / "w1-01.pub", w1_01)], 1),
        ("go key k=1", [(tmp_path / "go.pub", g)], 1),
        ("log key as witness k=1", [("log.key.pub", w.vkey)], 1),
        ("no witness k=1", [], 1),
        ("w1 and its alias k=2", [("w1.key.pub", w.w1), (tmp_path / "alias.pub", alias)], 2),
        ("w1, alias, w2 k=2", [("w1.key.pub", w.w1), (tmp_path / "alias.pub", alias),
                               ("w2.key.pub", w.w2)], 2),
    ]
    cases = []
    for vlabel, blk in variants:
        for plabel, keys, k in policies:
            cases.append((vlabel + " / " + plabel, text + b"\n" + blk, keys, k))

    def compare(c):
        label, note, keys, k = c
        extra = []
        for f, _ in keys:
            extra += ["--witness-key", w.dir / f if isinstance(f, str) else f]
        extra += ["--min-witnesses", k]
        return _cmp_verify(w, lg, label, note, extra=extra,
                           mine_kw={"witness_keys": [kk for _, kk in keys], "min_witnesses": k})
    check_all(parallel(compare, cases), "witness policy")
    # the CLI's witness cosigns with a Go-style note key as its 0x04 key
    store = tmp_path / "gostore"
    st, _, out = cli_witness(w, store, request(w, lg, 0, 8), tmp_path / "go.key")
    assert st == 200
    note = cv.parse_note(text + b"\n" + out)
    assert cv.check_note(note, w.vkey, [gc])[1] == {(gc.name, gc.id)}


# ---------------------------------------------------------------------------
# The checkpoints sidecar (§ 2.1)


def test_sidecar(world, tmp_path):
    w = world
    bad = []
    for name, lg in w.logs.items():
        side = (lg.path.parent / (lg.path.name + ".checkpoints")).read_bytes()
        notes, torn = cv.split_sidecar(side)
        if notes != [lg.cps[s] for s in SIZES] or torn:
            bad.append((name, "sidecar is not the checkpoints signed, in order"))
        r = cv.verify_sidecar(lg.data, side, w.vkey, key=lg.key)
        if r["checkpoints"] != ["match"] * len(SIZES):
            bad.append((name, r))
        # the sidecar is not a checkpoint: both refuse it as one
        mine = cv.verify_log(lg.data, side, w.vkey)["outcome"]
        theirs = cli_verify(w, lg.path, side, keyfile=lg.keyfile)[0]
        if not same_class(mine, theirs) or mine == "match":
            bad.append((name, "sidecar as a checkpoint", mine, theirs))
    # a torn last note: ignored by readers, moved aside by the next append
    lg = w.logs["plain.jsonl"]
    side = (lg.path.parent / (lg.path.name + ".checkpoints")).read_bytes()
    start = len(b"".join(lg.cps[s] for s in SIZES[:-1]))
    last = lg.cps[SIZES[-1]]
    for cut in sorted({1, 20, last.index(b"\n\n") + 1, last.index(b"\n\n") + 2,
                       last.index(b"\n\n") + 5, len(last) - 1}):
        d = tmp_path / ("cut%d" % cut)
        d.mkdir()
        log = write_file(d / lg.path.name, lg.data)
        torn_side = side[:start + cut]
        write_file(d / (lg.path.name + ".checkpoints"), torn_side)
        notes, torn = cv.split_sidecar(torn_side)
        if notes != [lg.cps[s] for s in SIZES[:-1]] or torn != cut:
            bad.append(("cut %d" % cut, "reader", len(notes), torn))
        r = run("checkpoint", log, "--key", w.dir / "log.key")
        if r.returncode != 0:
            bad.append(("cut %d" % cut, "checkpoint refused", r.stderr))
            continue
        after = (d / (lg.path.name + ".checkpoints")).read_bytes()
        notes, torn = cv.split_sidecar(after)
        if notes[:-1] != [lg.cps[s] for s in SIZES[:-1]] or notes[-1] != r.stdout or torn:
            bad.append(("cut %d" % cut, "sidecar after the append"))
        aside = [p for p in d.iterdir() if ".checkpoints.torn-" in p.name]
        if len(aside) != 1 or aside[0].read_bytes() != last[:cut] \
                or not aside[0].name.endswith("-at-%d" % start):
            bad.append(("cut %d" % cut, "torn bytes not moved aside exactly",
                        [p.name for p in aside]))
    # a complete last note that does not parse is damage, not a torn append:
    # the next checkpoint is refused (it could not be checked against it)
    d = tmp_path / "damaged"
    d.mkdir()
    log = write_file(d / lg.path.name, lg.data)
    damaged = side[:start] + last.replace(b"\n13\n", b"\nx3\n", 1)
    write_file(d / (lg.path.name + ".checkpoints"), damaged)
    mine = cv.verify_sidecar(lg.data, damaged, w.vkey)
    if mine["checkpoints"][-1] != "malformed" or mine["incomplete_tail"]:
        bad.append(("damaged last note", "mine", mine))
    r = run("checkpoint", log, "--key", w.dir / "log.key")
    if r.returncode == 0:
        bad.append(("damaged last note", "the CLI signed past it", r.stdout))
    check_all(bad, "sidecar")


# ---------------------------------------------------------------------------
# Checkpoint records in the log (§ 2.2)


def _in_log(w, tmp_path, name: str, recs_fn):
    """A keyless log of entries and checkpoint records written with the CLI
    (`append --json` of an `evident.checkpoint` entry); recs_fn may change
    each record's details before it is appended."""
    path = tmp_path / name
    run("append", path, "--event-type", "STEP", "--action", "a0", check=True)
    seq = 1
    for k in range(1, 12):
        if k % 4 == 0:
            r = run("checkpoint", path, "--key", w.dir / "log.key", "--no-sidecar", check=True)
            det = {"checkpoint": r.stdout.decode(), "size": seq}
            det = recs_fn(seq, det, path)
            run("append", path, "--json", json.dumps({
                "event_type": "evident.checkpoint", "action": "checkpoint", "source": "evident",
                "details": det}), check=True)
        else:
            run("append", path, "--event-type", "STEP", "--action", "a%d" % k, check=True)
        seq += 1
    return path


def cli_in_log(w, path: Path):
    r = run("verify", path, "--in-log", "--pubkey", w.pub, "--json")
    j = json.loads(r.stdout)
    return j


def test_checkpoint_records(world, tmp_path):
    w = world
    other_cp = cv.make_checkpoint("evident/ffffffffffffffffffffffffffffffff", 1,
                                  b"\0" * 32, w.skey).decode()

    def flip(cp):
        return cp[:-10] + chr(ord(cp[-10]) ^ 1) + cp[-9:]
    variants = {
        "genuine": lambda s, d, p: d,
        "size member off": lambda s, d, p: dict(d, size=s + 1),
        "size member missing": lambda s, d, p: {"checkpoint": d["checkpoint"]},
        "checkpoint not a string": lambda s, d, p: dict(d, checkpoint=5),
        "checkpoint garbage": lambda s, d, p: dict(d, checkpoint="hello\n"),
        "signature flipped": lambda s, d, p: dict(d, checkpoint=flip(d["checkpoint"])),
        "checkpoint of one record fewer": lambda s, d, p: dict(d, checkpoint=run(
            "checkpoint", p, "--key", w.dir / "log.key", "--no-sidecar", "--size", s - 1,
            check=True).stdout.decode()),
        "another key": lambda s, d, p: dict(d, checkpoint=run(
            "checkpoint", p, "--key", w.dir / "other.key", "--no-sidecar", check=True).stdout.decode()),
        "other origin": lambda s, d, p: dict(d, checkpoint=run(
            "checkpoint", p, "--key", w.dir / "log.key", "--no-sidecar", "--origin",
            "example.com/audit", check=True).stdout.decode()),
        "another log's checkpoint": lambda s, d, p: dict(d, checkpoint=other_cp),
    }
    bad = []
    for label, fn in variants.items():
        path = _in_log(w, tmp_path, label.replace(" ", "_").replace("'", "") + ".jsonl", fn)
        data = path.read_bytes()
        mine = cv.verify_in_log(data, w.vkey)
        j = cli_in_log(w, path)
        mine_ok = mine["valid"]
        if mine_ok != j["valid"] or len(mine["records"]) != j["checkpoints"]:
            bad.append((label, "mine", mine["records"], "cli", j))
        # with an origin named, it is checked (rule 8a)
        for origin in ("example.com/audit", "evident/" + cv.log_tree(data).log_id):
            mine = cv.verify_in_log(data, w.vkey, origin)
            j = json.loads(run("verify", path, "--in-log", "--pubkey", w.pub, "--json",
                               "--origin", origin).stdout)
            mine_ok = mine["valid"]
            if mine_ok != j["valid"]:
                bad.append((label, origin, "mine", mine["records"], "cli", j))
        # the records before each checkpoint record rewritten and re-hashed
        framing, recs = split_records(data)
        bodies = [b.replace(b'"action":"a1"', b'"action":"zz"') for b, _ in recs]
        data2 = assemble(framing, rechain("sha256", bodies))
        path2 = write_file(tmp_path / ("rw-" + path.name), data2)
        mine = cv.verify_in_log(data2, w.vkey)
        j = cli_in_log(w, path2)
        if mine["valid"] != j["valid"] or mine["valid"]:
            bad.append((label + " rewritten", "mine", mine["records"], "cli", j))
        # records deleted (a seq gap before a checkpoint record), or from the
        # end (the checkpoint records cannot show that: rule 10h)
        for cut, drop in (("seq 2 deleted", [2]), ("seq 6 deleted", [6]),
                          ("last 3 deleted", [len(recs) - 3, len(recs) - 2, len(recs) - 1])):
            data3 = assemble(framing, [r for i, r in enumerate(recs) if i not in drop])
            path3 = write_file(tmp_path / ("cut-%s-%s" % (cut.replace(" ", ""), path.name)), data3)
            mine = cv.verify_in_log(data3, w.vkey)
            j = cli_in_log(w, path3)
            if mine["valid"] != j["valid"] or len(mine["records"]) != j["checkpoints"]:
                bad.append((label + " " + cut, "mine", mine["records"], mine["valid"], "cli", j))
    check_all(bad, "checkpoint records")


# ---------------------------------------------------------------------------
# Incremental verification (rule 15)


def test_incremental(world):
    """`verify --incremental` with the log's stored tree beside each mutated
    copy: whatever it decides (or falls back to), the outcome is the full
    check's, except that an in-place change of records before the
    checkpoint's last one may go unseen (rule 15, § 8)."""
    w = world
    rng = random.Random(SEED + 4)
    cases = []
    for name, lg in w.logs.items():
        tree = (lg.path.parent / (lg.path.name + ".tree")).read_bytes()
        for size in (5, 13):
            for label, data in mutated_logs(lg.data, lg.alg, size, rng):
                cases.append((lg, "%s size %d: %s" % (name, size, label), size, data, tree))
                # the stored tree rebuilt from the mutated log (as whoever
                # changed the log would): the signed root still decides
                cases.append((lg, "%s size %d: %s (own tree)" % (name, size, label), size, data,
                              None))

    def compare(c):
        lg, label, size, data, tree = c
        path = tmpfile(w, lg.path.suffix, data)
        if tree is not None:
            write_file(path.parent / (path.name + ".tree"), tree)
        else:
            run("checkpoint", path, "--key", w.dir / "other.key", "--no-sidecar",
                *(["--key-file", lg.keyfile] if lg.keyfile else []))
        mine = cv.verify_log(data, lg.cps[size], w.vkey, key=lg.key)
        inc, valid, j = cli_verify(w, path, lg.cps[size], "--incremental", keyfile=lg.keyfile)
        if same_class(mine["outcome"], inc) and (inc == "error" or valid == mine["valid"]):
            return None
        # allowed: records before seq size-1 changed in place (the record
        # size-1 itself at its offset, unchanged), unseen by design
        framing, old = split_records(lg.data)
        off_a, off_b = len(assemble(framing, old[:size - 1])), len(assemble(framing, old[:size]))
        if (inc == "match" and isinstance(j, dict) and j.get("mode") == "incremental"
                and data[off_a:off_b] == lg.data[off_a:off_b]
                and data[:off_a] != lg.data[:off_a]):
            return None
        return (label, "mine", mine["outcome"], mine["valid"], "cli --incremental", inc, valid,
                j.get("mode") if isinstance(j, dict) else j,
                j.get("fallback_reason") if isinstance(j, dict) else None)
    check_all(parallel(compare, cases), "incremental")


def test_verifier_keys(world):
    """The vkey text (rule 5) as both verifiers read it."""
    w = world
    lg = w.logs["plain.jsonl"]
    v = w.vkey.vkey()
    name, kid, data = v.split("+", 2)
    raw = base64.b64decode(data)
    variants = [
        ("genuine", v),
        ("trailing newline", v + "\n"),
        ("surrounding spaces", "  " + v + "  "),
        ("upper-case key id", "%s+%s+%s" % (name, kid.upper(), data)),
        ("wrong key id", "%s+%08x+%s" % (name, int(kid, 16) ^ 1, data)),
        ("short key id", "%s+%s+%s" % (name, kid[:7], data)),
        ("other name", "example.com/other+%s+%s" % (cv.key_id("example.com/other", 1, raw[1:]).hex(), data)),
        ("type 0x04 (a witness key)", w.vkey.as_cosig().vkey()),
        ("type 0x02", "%s+%s+%s" % (name, cv.key_id(name, 2, raw[1:]).hex(), b64(b"\2" + raw[1:]))),
        ("31-byte key", "%s+%s+%s" % (name, cv.key_id(name, 1, raw[1:32]).hex(), b64(raw[:32]))),
        ("unpadded base64", v.rstrip("=")),
        ("no name", "+%s+%s" % (kid, data)),
        ("name with a space", "exa mple+%s+%s" % (cv.key_id("exa mple", 1, raw[1:]).hex(), data)),
        ("private key given", cv.skey_text(w.skey)),
    ]
    bad = []
    for label, text in variants:
        try:
            k = cv.parse_vkey(text)
            mine = cv.verify_log(lg.data, lg.cps[5], k)["outcome"]
        except cv.Malformed:
            mine = "malformed"
        r = run("verify", lg.path, "--checkpoint", w.dir / "plain.jsonl.cp5", "--pubkey", text, "--json")
        try:
            theirs = json.loads(r.stdout)["outcome"]
        except (ValueError, KeyError):
            theirs = "error"
        if not same_class(mine, theirs):
            bad.append((label, "mine", mine, "cli", theirs, r.stderr[-200:]))
    check_all(bad, "verifier keys")


def test_signed_origins(world):
    """What `evident checkpoint --origin` signs reads back (rule 6) as a
    checkpoint of that origin, of the log's size and root, or is refused:
    an origin holding a line feed must not sign other lines."""
    w = world
    lg = w.logs["plain.jsonl"]
    c13 = cv.parse_checkpoint(lg.cps[13])
    bad = []
    for origin in ("example.com/audit", "evident/x y", "\u2014x", "µ/漢字",
                   "%s\n1000\n%s" % (lg.origin, b64(b"\0" * 32)), "", "a\tb", "a\rb",
                   "\u2014 evil", "x\n", "a\x7fb"):
        r = run("checkpoint", lg.path, "--key", w.dir / "log.key", "--no-sidecar", "--origin", origin)
        if r.returncode != 0:
            continue
        try:
            cp = cv.parse_checkpoint(r.stdout)
        except cv.Malformed as e:
            bad.append((origin, "signed a malformed checkpoint", str(e)))
            continue
        if (cp.origin, cp.size, cp.root) != (origin, 13, c13.root) or cp.extensions:
            bad.append((origin, "signed", cp.origin, cp.size, cp.extensions))
        elif not cv.check_note(cp.note, w.vkey)[0]:
            bad.append((origin, "signature does not verify"))
    check_all(bad, "signed origins")
