#!/usr/bin/env python3
"""A clean-room reader and checker of evident session files (spec/session.md).

Written from spec/session.md and the parts of spec/format.md it cites, in
standard-library Python; the log-format pieces (binary frames, JSON
readability, the genesis rules, hashes) come from spec_verify.py, the
clean-room verifier of format.md next to this file. Zstandard frames are
decoded by zstd_decode.py (RFC 8878, also standard-library only).

    python3 tests/spec_verifier/session_reader.py FILE [--key HEX] [--json]
    python3 tests/spec_verifier/session_reader.py --vectors spec/vectors/session

read_session(data, key) returns a dict in the terms of the vectors' .expect
files (load, version, versions, verify_ok, torn_tail_at,
incomplete_versions, history_parameters, content) plus `problems` (offset,
message), `exit` (the exit status § 12 gives `evident session verify`) and
`load_lazy` (loading the newest version without hashing its samples, as
§ 5 rule 6 allows).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spec_verify as sv  # noqa: E402
import zstd_decode  # noqa: E402

MAGIC = b"\x89EVS\r\n\x1a\n"
LOG_MAGIC = sv.MAGIC
DATA_TAG = 0xFFFFFFFF
ITEM = {"f64": 8, "f32": 4, "i8": 1, "i16": 2, "i32": 4, "i64": 8,
        "u8": 1, "u16": 2, "u32": 4, "u64": 8, "bool": 1, "bit": None}
SECTIONS = ("meta", "layers", "measurements", "history")


class Fail(Exception):
    """A version fails to load (kind: corrupt / not_found / ...)."""

    def __init__(self, kind, msg):
        super().__init__(msg)
        self.kind = kind


# ---------------------------------------------------------------------------
# JSON helpers

def plain(v):
    """spec_verify's parse tree (Obj pairs, Int, Num) -> plain Python.
    Duplicate names: the last wins."""
    if isinstance(v, sv.Obj):
        return {k: plain(x) for k, x in v}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, sv.Num):
        return v.value
    if isinstance(v, sv.Int):
        return int(v)
    return v


def _skip_ws(b, i):
    while i < len(b) and b[i] in b" \t\r\n":
        i += 1
    return i


def _skip_string(b, i):
    assert b[i] == 0x22
    i += 1
    while b[i] != 0x22:
        i += 2 if b[i] == 0x5C else 1
    return i + 1


def _skip_value(b, i):
    c = b[i]
    if c == 0x22:
        return _skip_string(b, i)
    if c in b"[{":
        depth = 0
        while True:
            c = b[i]
            if c == 0x22:
                i = _skip_string(b, i)
                continue
            if c in b"[{":
                depth += 1
            elif c in b"]}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
    while i < len(b) and b[i] not in b" \t\r\n,]}":
        i += 1
    return i


def member_spans(body):
    """Top-level members of a (valid JSON object) body: [(name, start, end)]
    where body[start:end] is the value exactly as written."""
    out = []
    i = _skip_ws(body, 0)
    assert body[i] == 0x7B
    i = _skip_ws(body, i + 1)
    if body[i] == 0x7D:
        return out
    while True:
        j = _skip_string(body, i)
        name = json.loads(body[i:j].decode("utf-8"))
        i = _skip_ws(body, j)
        assert body[i] == 0x3A
        i = _skip_ws(body, i + 1)
        j = _skip_value(body, i)
        out.append((name, i, j))
        i = _skip_ws(body, j)
        if body[i] == 0x7D:
            return out
        i = _skip_ws(body, i + 1)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool))


# ---------------------------------------------------------------------------
# Frames (§ 2)

class Rec:
    def __init__(self, off, end, record):
        self.off = off
        self.end = end
        self.r = record                  # spec_verify.Record
        self.seq = int(record.seq)
        self.kind = record.kind
        self.hash = record.hash
        self.body = record.body
        self.obj = plain(record.parsed.top)
        self.hash_ok = True
        self.link_ok = True
        self.after_damage = False    # the first record after damaged bytes

    def counts_as_commit(self):
        """§ 5 rule 4: a commit whose own hash and link verify; the first
        record after damaged bytes always has a broken link, and for that
        one the damage decides (lost page: tail; other damage: reported)."""
        return self.kind == "commit" and self.hash_ok and \
            (self.link_ok or self.after_damage)


class DataFrame:
    def __init__(self, off, end, data_off, n, sha):
        self.off = off
        self.end = end
        self.data_off = data_off
        self.n = n
        self.sha = sha


def record_frame_at(data, p):
    """A valid record frame at p with a readable body: (Record, end) or None."""
    f = sv.frame_at(data, p)
    if f is None:
        return None
    body, hash_, total = f
    rec = sv.read_record(body, hash_)
    if rec is None:
        return None
    return rec, p + total


def data_frame_at(data, p):
    """§ 2: a valid data frame at p: DataFrame or None (never reads or
    allocates data_len bytes before the frame is known to fit)."""
    if len(data) - p < 20:
        return None
    tag, hlen, flags, n, pad = struct.unpack_from("<IHHQI", data, p)
    if tag != DATA_TAG or hlen != 32 or flags != 1:
        return None
    if pad != (64 - (p + 20) % 64) % 64:
        return None
    end = p + 20 + pad + n + 36
    if end > len(data):
        return None
    if any(data[p + 20:p + 20 + pad]):
        return None
    sha = data[p + 20 + pad + n:p + 52 + pad + n]
    crc = struct.unpack_from("<I", data, p + 52 + pad + n)[0]
    if zlib.crc32(data[p:p + 20] + sha) != crc:
        return None
    return DataFrame(p, end, p + 20 + pad, n, sha)


def zero_sector(data, lo, hi, durable):
    """Some 512-aligned sector [s, s+512) lies within [lo, hi) once the
    bytes before the durable point are left out, and its bytes at or
    after the durable point are all zero (§ 5 rule 4)."""
    s = (lo // 512) * 512
    while s < hi:
        a = max(s, durable)
        if a >= lo and s + 512 <= hi and a < s + 512:
            if not any(data[a:s + 512]):
                return True
        s += 512
    return False


# ---------------------------------------------------------------------------
# The reader

def read_session(data, key=None):
    res = {"load": None, "versions": None, "verify_ok": None,
           "torn_tail_at": None, "incomplete_versions": None,
           "problems": [], "exit": None}

    def stop(kind, exit_code, msg, offset=0):
        res["load"] = "error:" + kind
        res["versions"] = "error:" + kind
        if exit_code == 1:
            res["verify_ok"] = False
        else:
            res["verify_ok"] = "error:" + kind
        res["problems"].append((offset, msg))
        res["exit"] = exit_code
        return res

    # § 1 header
    if data[:8] != MAGIC:
        if data[:8] == LOG_MAGIC or data[:1] == b"{":
            return stop("malformed", 2, "an audit log, not a session file")
        if len(data) < 8 and MAGIC.startswith(data) and data:
            return stop("corrupt", 1, "session header cut short")
        return stop("malformed", 2, "not a session file")
    if len(data) < 16:
        return stop("corrupt", 1, "session header cut short")
    version, flags = struct.unpack_from("<II", data, 8)
    if version != 1 or flags != 0:
        return stop("unsupported", 2, "unsupported framing version/flags")

    # § 5 rule 1: the genesis
    f = sv.frame_at(data, 16)
    if f is None:
        return stop("corrupt", 1, "genesis frame damaged or cut short", 16)
    g_body, g_hash, g_total = f
    err, g = sv.check_genesis(g_body, g_hash)
    if err == "unsupported":
        return stop("unsupported", 2, "genesis needs a newer reader", 16)
    if err is not None:
        # check_genesis wants format "evident": retry the session format
        gp = sv.parse_json(g_body)
        alg = None
        if gp is not None and gp.top is not None:
            algs = gp.all("alg")
            alg = algs[0] if len(algs) == 1 else None
        if isinstance(alg, str) and alg not in sv.HASH_LEN:
            return stop("unsupported", 2, "unsupported hash algorithm", 16)
    patched = None
    if err is None:
        return stop("corrupt", 1, 'genesis format is "evident" (a log)', 16)
    if b'"format":"evident-session"' in g_body:
        patched = g_body.replace(b'"format":"evident-session"',
                                 b'"format":"evident"', 1)
        err, g = sv.check_genesis(patched, g_hash)
    if err is not None or g is None:
        return stop("corrupt", 1, "genesis malformed", 16)
    gobj = plain(sv.parse_json(g_body).top)
    if gobj.get("format") != "evident-session":
        return stop("corrupt", 1, "genesis format", 16)
    alg = g.alg
    if alg == "sha256":
        if key is not None:
            return stop("wrong_key", 2, "a keyless file refuses a key", 16)
    else:
        if key is None or g.key_id is None or sv.key_id_of(key) != g.key_id:
            return stop("wrong_key", 2, "missing or wrong key", 16)
    if sv.record_hash(alg, key, g_body) != g_hash:
        return stop("corrupt", 1, "genesis hash mismatch", 16)
    hlen = sv.HASH_LEN[alg]
    g_end = 16 + g_total

    # § 5 rules 2-3: walk
    items = []        # Rec, DataFrame, ("damage", a, b)
    issues = []       # (offset, kind, message)
    torn_at = None
    p = g_end
    prev_hash, prev_seq, after_damage = g_hash, 0, False
    while p < len(data):
        got = None
        if data[p:p + 4] == b"\xff\xff\xff\xff":
            df = data_frame_at(data, p)
            if df is not None:
                items.append(df)
                p = df.end
                continue
        else:
            got = record_frame_at(data, p)
        if got is None:
            q = p + 1
            while q < len(data):
                if data[q:q + 4] != b"\xff\xff\xff\xff":
                    cand = record_frame_at(data, q)
                    if cand is not None:
                        break
                q += 1
            if q >= len(data):
                torn_at = p
                break
            items.append(("damage", p, q))
            issues.append((p, "damage", "%d damaged bytes" % (q - p)))
            after_damage = True
            p = q
            continue
        record, end = got
        r = Rec(p, end, record)
        r.after_damage = after_damage
        if len(r.hash) != hlen or r.kind == "genesis":
            # not a record of this chain: damage
            items.append(("damage", p, end))
            issues.append((p, "damage", "malformed record"))
            after_damage = True
            p = end
            continue
        if r.seq != prev_seq + 1:
            r.link_ok = False
            issues.append((p, "seq_gap", "seq %d where %d expected"
                           % (r.seq, prev_seq + 1)))
        if after_damage or r.r.prev != prev_hash.hex():
            r.link_ok = False
            issues.append((p, "chain_break", "chain break"))
        if sv.record_hash(alg, key, r.body) != r.hash:
            r.hash_ok = False
            issues.append((p, "hash_mismatch", "hash mismatch"))
        items.append(r)
        prev_hash, prev_seq, after_damage = r.hash, r.seq, False
        p = end

    recs = [x for x in items if isinstance(x, Rec)]
    by_off = {x.off: x for x in items if not isinstance(x, tuple)}
    commits = [r for r in recs if r.kind == "commit"]

    # § 5 rule 4: durable point and uncommitted tail
    durable = g_end
    cstar_end = g_end
    for c in commits:
        if c.counts_as_commit():
            cstar_end = c.end
            if c.obj.get("barrier", None) is not False:
                durable = c.end
    cands = []
    for off, kind, _ in issues:
        if off >= cstar_end:
            cands.append(off)
    for x in items:
        if isinstance(x, tuple) and durable <= x[1] < cstar_end:
            if zero_sector(data, x[1], x[2], durable):
                cands.append(x[1])
    if torn_at is not None:
        cands.append(torn_at)
    tail = min(cands) if cands else None
    # data frames of saves after the durable point (lost pages of samples)
    for c in commits:
        if c.off < durable or (tail is not None and c.off >= tail):
            continue
        refs = c.obj.get("traces")
        for ref in refs if isinstance(refs, list) else []:
            at = ref.get("at") if isinstance(ref, dict) else None
            t = by_off.get(at) if is_int(at) else None
            if not isinstance(t, Rec) or t.kind != "trace":
                continue
            d = t.obj.get("data")
            fr = d.get("frame") if isinstance(d, dict) else None
            df = by_off.get(fr) if is_int(fr) else None
            if not isinstance(df, DataFrame) or df.off < durable:
                continue
            samples = data[df.data_off:df.data_off + df.n]
            if hashlib.sha256(samples).digest() == df.sha:
                continue
            if zero_sector(data, df.data_off, df.data_off + df.n, durable):
                if tail is None or df.off < tail:
                    tail = df.off
            else:
                issues.append((df.off, "damage",
                               "samples do not match the data frame's SHA-256"))
    # the reported problems: everything before the uncommitted tail
    reported = sorted(i for i in issues if tail is None or i[0] < tail)
    res["problems"] = [(o, m) for o, _, m in reported]
    res["torn_tail_at"] = tail
    complete = [c for c in commits if tail is None or c.off < tail]
    res["incomplete_versions"] = [
        c.obj.get("version") for c in commits
        if tail is not None and c.off >= tail and is_int(c.obj.get("version"))]
    res["versions"] = [c.obj.get("version") for c in complete]
    if not all(listable(c.obj) for c in complete):
        # the library's listing parses every commit (§ 4.4 `counts`)
        res["versions"] = "error:corrupt"

    ctx = Ctx(data, alg, key, items, by_off, commits, reported)
    # § 5 rule 5: verify
    ok = not reported
    res["version_loads"] = []
    for c in complete:
        try:
            ctx.load(c, check_samples=False)
            res["version_loads"].append((c.obj.get("version"), "ok"))
        except Fail as e:
            res["version_loads"].append((c.obj.get("version"), "error:" + e.kind))
        try:
            ctx.load(c, check_samples=True)
        except Fail as e:
            ok = False
            res["problems"].append((c.off, "version %r: %s"
                                    % (c.obj.get("version"), e)))
    res["verify_ok"] = ok
    res["exit"] = 0 if ok else 1

    # § 5 rules 6-7: load the newest complete version
    if not complete:
        res["load"] = res["load_lazy"] = "error:not_found"
        return res
    c = complete[-1]
    res["newest"] = (c.obj.get("version"), c.hash.hex())
    try:
        res["content_lazy"], res["history_parameters_lazy"] = \
            ctx.load(c, check_samples=False)
        res["load_lazy"] = "ok"
    except Fail as e:
        res["load_lazy"] = "error:" + e.kind
    try:
        content, hp = ctx.load(c, check_samples=True)
    except Fail as e:
        res["load"] = "error:" + e.kind
        return res
    res["load"] = "ok"
    res["version"] = c.obj["version"]
    res["content"] = content
    res["history_parameters"] = hp
    return res


def is_uint(v):
    return is_int(v) and v >= 0


def listable(o):
    """A commit whose members have the types of § 4.4 (what a listing
    shows without loading the version)."""
    counts = o.get("counts")
    refs = o.get("traces"), o.get("sections")
    return (is_uint(o.get("version"))
            and (o.get("parent") is None or isinstance(o.get("parent"), str))
            and isinstance(o.get("name"), str)
            and all(isinstance(r, list) and all(isinstance(x, dict) for x in r)
                    for r in refs)
            and isinstance(counts, dict)
            and all(is_uint(counts.get(k)) for k in (
                "annotations", "history", "layers", "measurements",
                "trace_bytes", "traces")))


def param_order(entry):
    """§ 4.3: the names of an entry's parameters in their order."""
    params = entry.get("parameters")
    if not isinstance(params, dict):
        return []
    order = entry.get("parameter_order")
    out = []
    if isinstance(order, list):
        for n in order:
            if isinstance(n, str) and n in params and n not in out:
                out.append(n)
    rest = sorted((n for n in params if n not in out),
                  key=lambda s: s.encode("utf-8"))
    return out + rest


class Ctx:
    def __init__(self, data, alg, key, items, by_off, commits, reported):
        self.data = data
        self.alg = alg
        self.key = key
        self.items = items
        self.by_off = by_off
        self.commits = commits
        self.reported = reported

    def samples_of(self, t, check_samples):
        """§ 4.2: check a trace record's data reference; return its samples."""
        o = t.obj
        name, dtype, n = o.get("name"), o.get("dtype"), o.get("len")
        info, d = o.get("info"), o.get("data")
        if not isinstance(name, str) or dtype not in ITEM or not is_int(n) \
                or n < 0 or not isinstance(info, dict) or not isinstance(d, dict):
            raise Fail("corrupt", "trace record at %d malformed" % t.off)
        raw_len = (n + 7) // 8 if dtype == "bit" else n * ITEM[dtype]
        enc, fr = d.get("encoding"), d.get("frame")
        rl, sl, sha = d.get("raw_len"), d.get("stored_len"), d.get("sha256")
        if rl != raw_len or not is_int(rl):
            raise Fail("corrupt", "raw_len %r, expected %d" % (rl, raw_len))
        if enc not in ("raw", "zstd") or not is_int(sl) or not isinstance(sha, str):
            raise Fail("corrupt", "bad data member")
        df = self.by_off.get(fr) if is_int(fr) else None
        if not isinstance(df, DataFrame) or df.off >= t.off:
            raise Fail("corrupt", "data frame %r not found" % fr)
        if df.n != sl or df.sha.hex() != sha:
            raise Fail("corrupt", "data frame length or sha256 differs")
        if enc == "raw" and sl != rl:
            raise Fail("corrupt", "raw: stored_len != raw_len")
        if not check_samples:
            return None
        stored = self.data[df.data_off:df.data_off + df.n]
        if hashlib.sha256(stored).digest() != df.sha:
            raise Fail("corrupt", "samples do not match their SHA-256")
        if enc == "zstd":
            try:
                samples = zstd_decode.decode_frame(stored, limit=rl)
            except zstd_decode.ZstdError as e:
                raise Fail("corrupt", "zstd: %s" % e)
            if len(samples) != rl:
                raise Fail("corrupt", "zstd decodes to %d bytes, not %d"
                           % (len(samples), rl))
        else:
            samples = stored
        if dtype == "bool" and any(b > 1 for b in samples):
            raise Fail("corrupt", "bool sample other than 0 or 1")
        return samples

    def load(self, c, check_samples):
        """§ 5 rule 6: load the version of commit record c."""
        for off, _, msg in self.reported:
            if off < c.end:
                raise Fail("corrupt", "problem before the commit: %s at %d"
                           % (msg, off))
        o = c.obj
        version, parent = o.get("version"), o.get("parent")
        idx = self.commits.index(c)
        cf = o.get("compacted_from")
        if idx == 0:
            if "compacted_from" in o:
                if not isinstance(cf, dict) or not is_int(cf.get("version")) \
                        or version != cf.get("version") \
                        or not isinstance(cf.get("commit"), str):
                    raise Fail("corrupt", "compacted_from")
            elif version != 1:
                raise Fail("corrupt", "first commit's version is not 1")
            if parent is not None:
                raise Fail("corrupt", "first commit's parent is not null")
        else:
            before = self.commits[idx - 1]
            if "compacted_from" in o:
                raise Fail("corrupt", "compacted_from in a later commit")
            bv = before.obj.get("version")
            if not is_int(version) or not is_int(bv) or version != bv + 1:
                raise Fail("corrupt", "version is not the previous + 1")
            if parent != before.hash.hex():
                raise Fail("corrupt", "parent is not the previous commit")
        if not is_int(version):
            raise Fail("corrupt", "version")
        trefs, srefs, counts = o.get("traces"), o.get("sections"), o.get("counts")
        if not isinstance(trefs, list) or not isinstance(srefs, list) \
                or not isinstance(counts, dict):
            raise Fail("corrupt", "commit members")

        def target(ref, kind):
            if not isinstance(ref, dict):
                raise Fail("corrupt", "reference")
            at = ref.get("at")
            r = self.by_off.get(at) if is_int(at) else None
            if not isinstance(r, Rec) or r.kind != kind or r.off >= c.off:
                raise Fail("corrupt", "%s reference to nothing at %r" % (kind, at))
            if ref.get("hash") != r.hash.hex():
                raise Fail("corrupt", "%s reference hash differs" % kind)
            return r

        traces = []
        trace_bytes = 0
        names = set()
        for ref in trefs:
            t = target(ref, "trace")
            samples = self.samples_of(t, check_samples)
            to = t.obj
            info = to["info"]
            trace_bytes += to["data"]["raw_len"]
            # the reference's name is the trace record's name, and names
            # are unique (§ 4.4)
            name = ref.get("name")
            if not isinstance(name, str):
                raise Fail("corrupt", "trace reference without a name")
            if to.get("name") != name:
                raise Fail("corrupt", "trace reference names another name")
            if name in names:
                raise Fail("corrupt", "commit names trace %r twice" % name)
            names.add(name)
            traces.append({
                "name": name, "dtype": to["dtype"], "len": to["len"],
                "bytes": to["data"]["raw_len"],
                "sample_rate": info.get("sample_rate"),
                "start_time": info.get("start_time"),
                "units": info.get("units"), "metadata": info.get("metadata"),
                "samples": samples.hex() if samples is not None else None})
        sections = {}
        for ref in srefs:
            s = target(ref, "section")
            name = ref.get("section")
            if s.obj.get("section") != name:
                raise Fail("corrupt", "section name differs")
            spans = [(n, a, b) for n, a, b in member_spans(s.body)
                     if n == "content"]
            if not spans:
                raise Fail("corrupt", "section without content")
            _, a, b = spans[-1]
            if hashlib.sha256(s.body[a:b]).hexdigest() != ref.get("content"):
                raise Fail("corrupt", "section content hash differs")
            if name not in SECTIONS:
                # (the library: "needs a newer reader"; spec § 4.3)
                raise Fail("unsupported", "section %r needs a newer reader" % name)
            if name in sections:
                raise Fail("corrupt", "section %r named twice" % name)  # § 4.4
            sections[name] = s.obj.get("content")
        if "meta" not in sections or not isinstance(sections["meta"], dict):
            raise Fail("corrupt", "no meta section")
        meta = sections["meta"]
        layers = sections.get("layers", [])
        meas = sections.get("measurements", [])
        hist = sections.get("history", [])
        if not all(isinstance(x, list) for x in (layers, meas, hist)):
            raise Fail("corrupt", "section content type")
        try:
            n_ann = sum(len(l["annotations"]) for l in layers)
        except (TypeError, KeyError):
            raise Fail("corrupt", "layers")
        want = {"traces": len(trefs), "trace_bytes": trace_bytes,
                "layers": len(layers), "annotations": n_ann,
                "measurements": len(meas), "history": len(hist)}
        for k, v in want.items():
            if counts.get(k) != v or not is_int(counts.get(k)):
                raise Fail("corrupt", "counts.%s %r, expected %d"
                           % (k, counts.get(k), v))
        history = []
        for e in hist:
            if isinstance(e, dict):
                e = {k: v for k, v in e.items() if k != "parameter_order"}
            history.append(e)
        content = {
            "name": meta.get("name"), "version": version,
            "commit": c.hash.hex(), "created_at": meta.get("created_at"),
            "modified_at": meta.get("modified_at"),
            "metadata": meta.get("metadata"),
            "history_limit": meta.get("history_limit"),
            "layers": layers, "measurements": meas, "history": history,
            "traces": traces}
        if meta.get("history_auto_record") is False:  # written only when off
            content["history_auto_record"] = False
        hp = [param_order(e) if isinstance(e, dict) else [] for e in hist]
        return content, hp


# ---------------------------------------------------------------------------
# Vectors (§ 11)

VECTOR_KEY = bytes(range(32))


def vector_key(name):
    return VECTOR_KEY if name.startswith("keyed_") or name == "compacted" else None


def same(a, b):
    """Numbers as numbers, objects as objects."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if is_num(a) and is_num(b):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def check_vector(path):
    """[] when the reader reports what path's .expect says, else the
    differing members."""
    name = os.path.basename(path)[:-4]
    with open(path, "rb") as fh:
        got = read_session(fh.read(), vector_key(name))
    with open(path[:-4] + ".expect", encoding="utf-8") as fh:
        want = json.load(fh)
    return [(k, got.get(k), v) for k, v in want.items() if not same(got.get(k), v)]


def main(argv):
    if len(argv) >= 2 and argv[0] == "--vectors":
        d = argv[1]
        bad = 0
        for f in sorted(os.listdir(d)):
            if f.endswith(".evs"):
                diff = check_vector(os.path.join(d, f))
                print(("ok   " if not diff else "FAIL ") + f)
                for k, g, w in diff:
                    bad += 1
                    print("   %s: got %s, want %s" % (k, json.dumps(g)[:300],
                                                      json.dumps(w)[:300]))
        return 1 if bad else 0
    path, key, as_json = None, None, False
    i = 0
    while i < len(argv):
        if argv[i] == "--key":
            key = bytes.fromhex(argv[i + 1])
            i += 1
        elif argv[i] == "--json":
            as_json = True
        else:
            path = argv[i]
        i += 1
    with open(path, "rb") as fh:
        res = read_session(fh.read(), key)
    if as_json:
        print(json.dumps(res, indent=1))
    else:
        for off, msg in res["problems"]:
            print("%s: problem at byte offset %d: %s" % (path, off, msg))
        print("%s: verify %s, load %s, versions %s, torn tail %s, incomplete %s"
              % (path, res["verify_ok"], res["load"], res["versions"],
                 res["torn_tail_at"], res["incomplete_versions"]))
    return res["exit"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
