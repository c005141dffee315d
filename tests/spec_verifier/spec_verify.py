#!/usr/bin/env python3
"""A clean-room verifier of the evident log format, version 1.

Written from spec/format.md and spec/vectors/README.md alone (no look at
src/), with the Python standard library only. It reports the verdict in the
terms of the vectors' `.expect` files.

    spec_verify.py LOG [--key HEX] [--expected-head SEQ:HASH]
                       [--expected-log-id ID] [--json]
    spec_verify.py --vectors DIR      # check every DIR/*.expect

Section numbers (§) refer to spec/format.md.
"""

import hashlib
import hmac
import json
import re
import struct
import sys
import zlib

MAX_BODY = 16_777_216
MAGIC = b"\x89EVD\r\n\x1a\n"
MAX_DEPTH = 128
HASH_LEN = {"sha256": 32, "hmac-sha256": 32, "hmac-sha512": 64}
GENESIS_MEMBERS = ("v", "seq", "prev", "kind", "ts", "format", "alg",
                   "key_id", "log_id", "critical")
HEX_RE = re.compile(r"\A(?:[0-9a-f]{64}|[0-9a-f]{128})\Z")
TS_RE = re.compile(r"\A(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z\Z")
DIGITS = frozenset(b"0123456789")


# --------------------------------------------------------------------------
# JSON (§ 2 rule 4, § 5.5)

class Obj(list):
    """A JSON object as its list of (name, value) pairs, in order."""


class Num:
    """A JSON number that is not an exact 64-bit integer."""

    def __init__(self, text, value):
        self.text = text
        self.value = value


class Parsed:
    def __init__(self, top, content_ok):
        self.top = top                # Obj, or None when not an object
        self.content_ok = content_ok  # § 5.5 rules hold

    def all(self, name):
        return [v for k, v in self.top if k == name]


class Int(int):
    """An exact JSON integer, with its spelling."""


def _parse_int(text):
    n = int(text) if len(text) <= 21 else None
    if n is not None and -(1 << 63) <= n < (1 << 64):
        i = Int(n)
        i.text = text
        return i
    return Num(text, float(text))      # beyond 64 bits: a double (§ 5.5 r2)


def _parse_float(text):
    return Num(text, float(text))


def _reject_constant(name):
    raise ValueError("not JSON: " + name)


def _content_ok(top):
    """§ 5.5: depth ≤ 128 (body = level 1), finite numbers, no lone
    surrogates (Python's json joins a valid \\uD8xx\\uDCxx pair into one
    character, so any surrogate left in a string was a lone one)."""
    stack = [(top, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, Obj):
            if d > MAX_DEPTH:
                return False
            for k, x in v:
                if _has_surrogate(k):
                    return False
                stack.append((x, d + 1))
        elif isinstance(v, list):
            if d > MAX_DEPTH:
                return False
            for x in v:
                stack.append((x, d + 1))
        elif isinstance(v, str):
            if _has_surrogate(v):
                return False
        elif isinstance(v, Num):
            if v.value != v.value or v.value in (float("inf"), float("-inf")):
                return False
    return True


def _has_surrogate(s):
    try:
        s.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def parse_json(data):
    """Parse bytes as RFC 8259 JSON. Returns Parsed or None (not JSON)."""
    try:
        text = data.decode("utf-8")          # strict: valid UTF-8 only
    except UnicodeDecodeError:
        return None
    try:
        top = json.loads(text, object_pairs_hook=Obj, parse_int=_parse_int,
                         parse_float=_parse_float,
                         parse_constant=_reject_constant, strict=True)
    except RecursionError:
        # far deeper than 128 levels: grammar unknown, content rule broken
        return Parsed(None, False) if text.lstrip(" \t\r\n")[:1] == "{" else None
    except (ValueError, OverflowError):
        return None
    if not isinstance(top, Obj):
        return Parsed(None, False)
    return Parsed(top, _content_ok(top))


# --------------------------------------------------------------------------
# Records (§ 2, § 3)

class Record:
    """A readable record."""

    def __init__(self, seq, prev, kind, hash_, body, parsed):
        self.seq = seq
        self.prev = prev
        self.kind = kind
        self.hash = hash_
        self.body = body
        self.parsed = parsed


def _is_uint(v, limit):
    # digits only: no sign (`-0`), fraction or exponent (§ 2 rule 4)
    return isinstance(v, Int) and v.text.isdigit() and v < limit


def read_record(body, hash_):
    """§ 2 rule 4: a Record, or None when the body is unreadable."""
    if not (2 <= len(body) <= MAX_BODY):
        return None
    if body[:1] != b"{" or body[-1:] != b"}" or b"\n" in body:
        return None
    p = parse_json(body)
    if p is None or p.top is None or not p.content_ok:
        return None
    vals = {}
    for name in ("v", "seq", "prev", "kind"):
        a = p.all(name)
        if len(a) != 1:
            return None
        vals[name] = a[0]
    if not _is_uint(vals["v"], 1 << 32) or vals["v"] == 0:
        return None
    if not _is_uint(vals["seq"], 1 << 64):
        return None
    if not isinstance(vals["kind"], str):
        return None
    prev = vals["prev"]
    if not isinstance(prev, str) or not HEX_RE.match(prev):
        return None
    if len(prev) != 2 * len(hash_):
        return None
    return Record(vals["seq"], prev, vals["kind"], hash_, body, p)


def valid_ts(ts):
    """§ 5.3: exactly YYYY-MM-DDTHH:MM:SS.ffffffZ, a real date."""
    m = TS_RE.match(ts)
    if not m:
        return False
    y, mo, d, hh, mi, ss = (int(x) for x in m.groups())
    if not 1 <= mo <= 12 or hh > 23 or mi > 59 or ss > 60:
        return False
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return 1 <= d <= days[mo - 1]


def check_genesis(body, hash_):
    """§ 3 rules 1-4. Returns (None, Record) or (kind, None)."""
    p = parse_json(body) if body is not None else None
    if p is None or p.top is None:
        return "malformed", None                                  # rule 1
    for v in p.all("v"):                                          # rule 2
        if isinstance(v, Int) and 2 <= v < (1 << 64) and v.text.isdigit():
            return "unsupported", None
    for c in p.all("critical"):                                   # rule 3
        if (isinstance(c, list) and not isinstance(c, Obj) and c
                and all(isinstance(x, str) for x in c)):
            return "unsupported", None
    rec = read_record(body, hash_)                                # rule 4
    if rec is None or rec.kind != "genesis" or rec.seq != 0:
        return "malformed", None
    top = rec.parsed
    for name in GENESIS_MEMBERS:
        if len(top.all(name)) > 1:
            return "malformed", None
    one = {n: (top.all(n) or [None])[0] for n in GENESIS_MEMBERS}
    for name in ("ts", "format", "alg", "log_id"):
        if not isinstance(one[name], str):
            return "malformed", None
    if top.all("key_id") and not isinstance(one["key_id"], str):
        return "malformed", None
    if top.all("critical"):
        c = one["critical"]
        if not (isinstance(c, list) and not isinstance(c, Obj)
                and all(isinstance(x, str) for x in c)):
            return "malformed", None
    if one["format"] != "evident" or one["alg"] not in HASH_LEN:
        return "malformed", None
    if len(hash_) != HASH_LEN[one["alg"]]:
        return "malformed", None
    if rec.prev != "0" * len(rec.prev):
        return "malformed", None
    if not valid_ts(one["ts"]):
        return "malformed", None
    rec.alg = one["alg"]
    rec.key_id = one["key_id"] if top.all("key_id") else None
    rec.log_id = one["log_id"]
    return None, rec



# --------------------------------------------------------------------------
# Framings: a list of spans (§ 7, § 8)

class Span:
    def __init__(self, offset, length, line, record=None, body=None,
                 hash_=None, complete=True):
        self.offset = offset
        self.length = length
        self.line = line
        self.record = record      # Record when readable
        self.body = body          # body bytes when the framing gave one
        self.hash = hash_
        self.complete = complete  # JSONL: has its LF

    @property
    def end(self):
        return self.offset + self.length


def jsonl_line(content):
    """§ 7 steps 1-4: (body, hash bytes) or None."""
    if not content.endswith(b'"}'):
        return None
    r = content[:-2]
    for n in (128, 64):
        h = r[-n:]
        if len(h) == n and all(c in b"0123456789abcdef" for c in h) \
                and r[:-n].endswith(b',"hash":"'):
            head = r[:-n - 9]
            if head[:1] != b"{":
                return None
            return head + b"}", bytes.fromhex(h.decode())
    return None


def jsonl_spans(data):
    spans = []
    pos, line = 0, 1
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:
            spans.append(Span(pos, len(data) - pos, line, complete=False))
            break
        content = data[pos:nl]
        sp = Span(pos, nl + 1 - pos, line)
        got = jsonl_line(content)
        if got is not None:
            sp.body, sp.hash = got
            sp.record = read_record(sp.body, sp.hash)
        spans.append(sp)
        pos, line = nl + 1, line + 1
    return spans


def frame_at(data, p):
    """§ 8 rule 2: (body, hash, frame length) of a valid frame at p, or None."""
    if len(data) - p < 8:
        return None
    blen, hlen, flags = struct.unpack_from("<IHH", data, p)
    if not (2 <= blen <= MAX_BODY) or hlen not in (32, 64):
        return None
    total = 16 + blen + hlen
    if len(data) - p < total:
        return None
    if struct.unpack_from("<I", data, p + 12 + blen + hlen)[0] != total:
        return None
    crc = struct.unpack_from("<I", data, p + 8 + blen + hlen)[0]
    if zlib.crc32(data[p:p + 8 + blen + hlen]) != crc:
        return None
    if flags != 0:
        return None
    return data[p + 8:p + 8 + blen], data[p + 8 + blen:p + 8 + blen + hlen], total



def split_records(data):
    """(framing, [(body, hash bytes), ...]) of a log every record of which
    is readable (the differential tests take logs apart with it)."""
    if data[:8] == MAGIC:
        out, p = [], 16
        while p < len(data):
            body, h, total = frame_at(data, p)
            out.append((body, h))
            p += total
        return "binary", out
    return "jsonl", [jsonl_line(line) for line in data.split(b"\n")[:-1]]

def binary_spans(data, start):
    spans = []
    p = start
    while p < len(data):
        f = frame_at(data, p)
        if f is not None:
            body, h, total = f
            spans.append(Span(p, total, 0, read_record(body, h), body, h))
            p += total
            continue
        q = p + 1
        while q < len(data) and frame_at(data, q) is None:
            q += 1
        spans.append(Span(p, q - p, 0))
        p = q
    return spans


# --------------------------------------------------------------------------
# Torn tail (§ 9.5)

def holds_lost_block(b, at_eof):
    if b"\0" * 16 in b:
        return True
    return at_eof and len(b) >= 8 and b.endswith(b"\0" * 8)


def is_record_prefix(framing, b, at_eof):
    if not at_eof:
        return False
    if framing == "jsonl":
        if b"\n" in b or len(b) > MAX_BODY + 256:
            return False
        got = jsonl_line(b[:-1])
        return got is None or read_record(*got) is None
    if len(b) < 8:
        return True
    blen, hlen, _flags = struct.unpack_from("<IHH", b, 0)
    if not (2 <= blen <= MAX_BODY) or hlen not in (32, 64):
        return False
    if 16 + blen + hlen <= len(b):
        return False
    return struct.unpack_from("<I", b, len(b) - 4)[0] != len(b)


def is_torn(framing, data, tail):
    for i, sp in enumerate(tail):
        b = data[sp.offset:sp.end]
        at_eof = sp.end == len(data)
        if holds_lost_block(b, at_eof):
            return True
        if not is_record_prefix(framing, b, at_eof):
            return False
    return True


# --------------------------------------------------------------------------
# Verification (§ 9)

def key_id_of(key):
    return hashlib.sha256(b"evident key id v1" + key).digest()[:8].hex()


def record_hash(alg, key, body):
    if alg == "sha256":
        return hashlib.sha256(body).digest()
    digest = hashlib.sha512 if alg == "hmac-sha512" else hashlib.sha256
    return hmac.new(key, body, digest).digest()


def verify(data, key=None, expected_head=None, expected_log_id=None):
    """Returns a dict in the terms of the .expect files."""
    res = {"violations": [], "entries": 0, "head": None, "not_a_log": False}
    viol = res["violations"]

    def add(kind, seq, line, offset):
        viol.append({"kind": kind, "seq": seq, "line": line, "offset": offset})

    # § 9.2 step 1: framing
    if data[:8] == MAGIC:
        framing = "binary"
    elif data[:1] == b"{":
        framing = "jsonl"
    else:
        add("malformed", 0, 1, 0)
        res["not_a_log"] = True
        return _finish(res)

    # step 2: binary header
    if framing == "binary":
        if len(data) < 16:
            add("malformed", 0, 0, 0)
            res["not_a_log"] = True
            return _finish(res)
        version, flags = struct.unpack_from("<II", data, 8)
        if version != 1 or flags != 0:
            add("unsupported", 0, 0, 0)
            return _finish(res)

    # step 3: the genesis
    if framing == "binary":
        g_off, g_line = 16, 0
        f = frame_at(data, 16)
        g_body, g_hash, g_end = (f[0], f[1], 16 + f[2]) if f else (None, None, None)
    else:
        g_off, g_line = 0, 1
        nl = data.find(b"\n")
        got = jsonl_line(data[:nl]) if nl >= 0 else None
        g_body, g_hash = got if got else (None, None)
        g_end = nl + 1
    bad, genesis = check_genesis(g_body, g_hash) if g_body is not None else ("malformed", None)
    if bad:
        add(bad, 0, g_line, g_off)
        res["not_a_log"] = bad == "malformed"
        return _finish(res)

    alg = genesis.alg
    n = HASH_LEN[alg]
    # step 4: the key
    key_ok = True
    if alg == "sha256":
        if key is not None:
            key_ok = False
    elif key is None or genesis.key_id is None or key_id_of(key) != genesis.key_id:
        key_ok = False
    if not key_ok:
        add("wrong_key", 0, g_line, g_off)
    # step 5
    if key_ok and record_hash(alg, key, genesis.body) != genesis.hash:
        add("hash_mismatch", 0, g_line, g_off)
    # step 6
    if expected_log_id is not None and expected_log_id.lower() != genesis.log_id.lower():
        add("wrong_log_id", 0, g_line, g_off)

    # § 9.3 records
    spans = jsonl_spans(data[g_end:]) if framing == "jsonl" else binary_spans(data, g_end)
    if framing == "jsonl":
        for sp in spans:
            sp.offset += g_end
            sp.line += 1
    readable = [(0, genesis.hash, g_end)]   # (seq, hash, end) of readable records
    E_seq, E_hash, K = 1, genesis.hash, 0
    M = 128 if framing == "jsonl" else 50
    last_readable = -1
    for i, sp in enumerate(spans):
        if sp.record is not None:
            last_readable = i
    found = []
    for i, sp in enumerate(spans):
        R = sp.record
        if R is None:
            found.append(("malformed", None, sp.line, sp.offset, i))
            K += max(1, sp.length // M)
            continue
        s = R.seq
        kind = None
        if R.kind == "genesis":
            kind = "malformed"
        elif len(R.hash) != n:
            kind = "malformed"
        elif K == 0 and s != E_seq:
            kind = "seq_gap"
        elif K > 0 and not (E_seq <= s <= E_seq + K):
            kind = "seq_gap"
        elif K == 0 and bytes.fromhex(R.prev) != E_hash:
            kind = "chain_break"
        elif key_ok and record_hash(alg, key, R.body) != R.hash:
            kind = "hash_mismatch"
        if kind:
            found.append((kind, s, sp.line, sp.offset, i))
        if R.kind == "entry":
            res["entries"] += 1
        readable.append((s, R.hash, sp.end))
        E_seq, E_hash, K = s + 1, R.hash, 0

    # § 9.5 the tail
    tail = spans[last_readable + 1:]
    if tail and is_torn(framing, data, tail):
        found = [v for v in found if v[4] <= last_readable]
        found.append(("torn_tail", None, tail[0].line, tail[0].offset, len(spans)))
    for kind, s, line, off, _ in found:
        add(kind, s, line, off)

    head_seq, head_hash, head_end = readable[-1]
    res["head"] = "%d:%s" % (head_seq, head_hash.hex())

    # § 9.6 expected head
    if expected_head is not None:
        S, X = expected_head
        match = [r for r in readable if r[0] == S]
        if not match:
            add("head_mismatch", head_seq, 0, head_end)
        elif match[-1][1].hex() != X.lower():
            add("head_mismatch", S, 0, head_end)
    return _finish(res)


def _finish(res):
    # § 9.7: ordered by offset, ties in the order found (stable sort)
    res["violations"].sort(key=lambda v: v["offset"])
    res["valid"] = not res["violations"]
    return res


# --------------------------------------------------------------------------
# .expect files

def as_expect(res):
    out = {"expect": "valid" if res["valid"] else "invalid",
           "violations": str(len(res["violations"])),
           "entries": str(res["entries"]),
           "not-a-log": "yes" if res["not_a_log"] else "no"}
    if res["violations"]:
        v = res["violations"][0]
        out["kind"] = v["kind"]
        out["seq"] = "none" if v["seq"] is None else str(v["seq"])
        out["line"] = str(v["line"])
        out["offset"] = str(v["offset"])
    if res["head"] is not None:
        out["head"] = res["head"]
    return out


def read_expect(path):
    kv = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            k, _, v = line.partition(": ")
            kv[k] = v
    return kv


def parse_head(text):
    s, _, h = text.partition(":")
    return int(s), h


def check_vectors(directory):
    import glob
    import os
    compared, bad = 0, []
    for path in sorted(glob.glob(os.path.join(directory, "*.expect"))):
        exp = read_expect(path)
        with open(os.path.join(directory, exp["log"]), "rb") as f:
            data = f.read()
        res = verify(data,
                     key=bytes.fromhex(exp["key"]) if "key" in exp else None,
                     expected_head=parse_head(exp["expected-head"]) if "expected-head" in exp else None,
                     expected_log_id=exp.get("expected-log-id"))
        got = as_expect(res)
        exp.setdefault("not-a-log", "no")
        diffs = [(k, exp[k], got.get(k)) for k in
                 ("expect", "kind", "seq", "line", "offset", "violations",
                  "entries", "head", "not-a-log") if k in exp and exp[k] != got.get(k)]
        compared += 1
        if diffs:
            bad.append((os.path.basename(path), diffs))
    return compared, bad


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("log", nargs="?")
    ap.add_argument("--key")
    ap.add_argument("--expected-head")
    ap.add_argument("--expected-log-id")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--vectors", metavar="DIR")
    a = ap.parse_args(argv)
    if a.vectors:
        compared, bad = check_vectors(a.vectors)
        for name, diffs in bad:
            for k, e, g in diffs:
                print("%s: %s expected %r, got %r" % (name, k, e, g))
        print("%d vectors compared, %d disagree" % (compared, len(bad)))
        return 1 if bad else 0
    with open(a.log, "rb") as f:
        data = f.read()
    res = verify(data, key=bytes.fromhex(a.key) if a.key else None,
                 expected_head=parse_head(a.expected_head) if a.expected_head else None,
                 expected_log_id=a.expected_log_id)
    if a.json:
        print(json.dumps(res))
    else:
        for k, v in as_expect(res).items():
            print("%s: %s" % (k, v))
    return 0 if res["valid"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
