#!/usr/bin/env python3
"""A clean-room verifier of spec/checkpoints.md (signed checkpoints, proofs, witnesses).

Written from spec/checkpoints.md, spec/format.md, spec/vectors/checkpoints and
the public C2SP documents (signed-note, tlog-checkpoint, tlog-cosignature,
tlog-witness, tlog-proof) and RFC 6962 / RFC 9162 only, without reading
src/. Standard library plus `cryptography` (Ed25519). Logs are read with
spec_verify.py (the clean-room verifier of spec/format.md).

    checkpoint_verify.py verify LOG --checkpoint CP --pubkey VKEY [--origin O]
                         [--key HEX] [--witness-key WKEY ... --min-witnesses K] [--json]
    checkpoint_verify.py inclusion PROOF --pubkey VKEY [--origin O] [--entry-body FILE]
    checkpoint_verify.py consistency REQ --old CP --pubkey VKEY [--origin O]
    checkpoint_verify.py witness --log-key VKEY --witness-skey SKEY --store DIR REQ...
    checkpoint_verify.py root LOG [--key HEX]      (leaf hashes and roots, as tree.txt)
    checkpoint_verify.py sidecar LOG --pubkey VKEY  (the <log>.checkpoints file, § 2.1)
    checkpoint_verify.py in-log LOG --pubkey VKEY   (checkpoint records, § 2.2)
    checkpoint_verify.py --vectors spec/vectors/checkpoints
"""

import base64
import binascii
import hashlib
import json
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spec_verify as sv  # noqa: E402

from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: E402
    Ed25519PrivateKey, Ed25519PublicKey)

EM_DASH = "\u2014"
MAX_NOTE = 1 << 20          # rule 8: a note is at most 1 MiB
MAX_SIGS = 100              # rule 8: at most 100 signatures
MAX_PROOF_HASHES = 63       # rule 12 (tlog-witness), and what any u64 tree needs
TYPE_ED25519 = 0x01
TYPE_COSIG = 0x04
EMPTY_ROOT = hashlib.sha256(b"").digest()

# Guesses where the spec is silent (see README.md, "Where spec/checkpoints.md
# was silent or ambiguous"); each is a switch so the differential test can
# show which way the implementation goes.
STRICT_BASE64 = True        # RFC 4648 § 3.5: reject non-zero pad bits


class Malformed(Exception):
    """Not a well-formed note / checkpoint / proof / key."""


# --------------------------------------------------------------------------
# base64 (RFC 4648 § 4, standard alphabet, padded)

B64_RE = re.compile(r"\A(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\Z")


def b64d(s):
    if isinstance(s, bytes):
        s = s.decode("ascii", "replace")
    if not B64_RE.match(s):
        raise Malformed("not base64: %r" % s[:40])
    out = binascii.a2b_base64(s)
    if STRICT_BASE64 and base64.b64encode(out).decode() != s:
        raise Malformed("non-canonical base64 (pad bits): %r" % s[:40])
    return out


def b64e(b):
    return base64.b64encode(b).decode()


# --------------------------------------------------------------------------
# Keys (rule 5; C2SP signed-note)

def valid_name(name):
    # signed-note: non-empty, no Unicode space, no '+'
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name, typ, pub):
    return hashlib.sha256(name.encode() + b"\n" + bytes([typ]) + pub).digest()[:4]


class Key:
    def __init__(self, name, typ, pub, seed=None):
        self.name, self.typ, self.pub, self.seed = name, typ, pub, seed
        self.id = key_id(name, typ, pub)

    def vkey(self):
        return "%s+%s+%s" % (self.name, self.id.hex(), b64e(bytes([self.typ]) + self.pub))

    def as_cosig(self):
        """Rule 20: a type 0x01 key given as a witness key is the 0x04 key."""
        return Key(self.name, TYPE_COSIG, self.pub, self.seed)

    def verify(self, sig, msg):
        try:
            Ed25519PublicKey.from_public_bytes(self.pub).verify(sig, msg)
            return True
        except InvalidSignature:
            return False

    def sign(self, msg):
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(msg)


# rule 5 says "8 hex digits"; the CLI (as Go's strconv.ParseUint) reads either case
HEX8_RE = re.compile(r"\A[0-9a-fA-F]{8}\Z")


def _key_parts(name, hex8, b64):
    if not valid_name(name):
        raise Malformed("bad key name %r" % name)
    if not HEX8_RE.match(hex8):
        raise Malformed("key id is not 8 hex digits")
    data = b64d(b64)
    if len(data) != 33 or data[0] not in (TYPE_ED25519, TYPE_COSIG):
        raise Malformed("not an Ed25519 key of type 0x01 or 0x04")
    return data[0], data[1:]


def parse_vkey(text):
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    text = text.strip()
    parts = text.split("+", 2)     # the base64 may hold '+'
    if len(parts) != 3:
        raise Malformed("a verifier key is name+id+base64")
    typ, pub = _key_parts(*parts)
    k = Key(parts[0], typ, pub)
    if k.id.hex() != parts[1].lower():
        raise Malformed("key id does not match the key")
    return k


def parse_skey(text):
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    text = text.strip()
    parts = text.split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise Malformed("a private key is PRIVATE+KEY+name+id+base64")
    typ, seed = _key_parts(*parts[2:])
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    k = Key(parts[2], typ, pub, seed)
    if k.id.hex() != parts[3].lower():
        raise Malformed("key id does not match the key")
    return k


def new_key(name, typ, seed):
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    return Key(name, typ, pub, seed)


def skey_text(k):
    return "PRIVATE+KEY+%s+%s+%s" % (k.name, k.id.hex(), b64e(bytes([k.typ]) + k.seed))


# --------------------------------------------------------------------------
# Signed notes (rules 7, 8; C2SP signed-note)

class Note:
    def __init__(self, text, sigs):
        self.text = text      # bytes, ending in LF
        self.sigs = sigs      # [(name, key id bytes, signature bytes without id)]


def parse_note(data):
    if len(data) > MAX_NOTE:
        raise Malformed("note larger than 1 MiB")
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("note is not UTF-8")
    if any(ord(c) < 0x20 and c != "\n" for c in s):
        raise Malformed("control character in note")
    if not data.endswith(b"\n"):
        raise Malformed("note without final newline")
    split = data.rfind(b"\n\n")
    if split < 0:
        raise Malformed("no blank line before the signatures")
    text, block = data[:split + 1], data[split + 2:]
    if not block:
        raise Malformed("no signature line")
    sigs = []
    for line in block[:-1].split(b"\n"):
        line = line.decode("utf-8")
        if not line.startswith(EM_DASH + " "):
            raise Malformed("signature line without the em dash")
        name, sp, b64 = line[2:].partition(" ")
        if not sp or not valid_name(name) or not b64:
            raise Malformed("bad signature line")
        sig = b64d(b64)
        if len(sig) < 5:
            raise Malformed("signature shorter than 5 bytes")
        sigs.append((name, sig[:4], sig[4:]))
    if len(sigs) > MAX_SIGS:
        raise Malformed("more than 100 signatures")
    return Note(text, sigs)


def cosig_message(t, text):
    return b"cosignature/v1\ntime %d\n" % t + text


def check_note(note, log_key, witness_keys=()):
    """Rule 8 and rule 20: returns (log_ok, set of witness key ids that verified).

    Raises BadSignature when a signature by a known key fails."""
    log_ok = False
    witnesses = set()
    wkeys = {(k.name, k.id): k for k in witness_keys}
    for name, kid, sig in note.sigs:
        if name == log_key.name and kid == log_key.id:
            if len(sig) != 64 or not log_key.verify(sig, note.text):
                raise BadSignature("a signature by the log key fails")
            log_ok = True
        elif (name, kid) in wkeys:
            wk = wkeys[(name, kid)]
            if len(sig) != 72:
                raise BadWitness("a cosignature by a trusted witness has the wrong length")
            t = struct.unpack(">Q", sig[:8])[0]
            if t > (1 << 63) - 1:      # tlog-cosignature: MUST NOT exceed 2^63 - 1
                raise BadWitness("a cosignature time past 2^63 - 1")
            if not wk.verify(sig[8:], cosig_message(t, note.text)):
                raise BadWitness("a cosignature by a trusted witness fails")
            witnesses.add((name, kid))
    return log_ok, witnesses


def distinct_witnesses(wits, witness_keys):
    """Rule 20's "distinct witness keys": by public key (the cosigned
    message does not name the witness, so one key under two names is one
    witness; the spec said so only after this verifier found the CLI
    counting names)."""
    pubs = {(k.name, k.id): k.pub for k in witness_keys}
    return {pubs[w] for w in wits}


class BadSignature(Exception):
    pass


class BadWitness(Exception):
    pass


# --------------------------------------------------------------------------
# Checkpoints (rule 6; C2SP tlog-checkpoint)

class Checkpoint:
    def __init__(self, origin, size, root, extensions, note, raw):
        self.origin, self.size, self.root = origin, size, root
        self.extensions, self.note, self.raw = extensions, note, raw


SIZE_RE = re.compile(r"\A(?:0|[1-9][0-9]*)\Z")


def parse_checkpoint(data):
    note = parse_note(data)
    lines = note.text.decode("utf-8").split("\n")[:-1]
    if len(lines) < 3:
        raise Malformed("a checkpoint has three lines")
    origin, size, root = lines[:3]
    if not origin:
        raise Malformed("empty origin")
    if not SIZE_RE.match(size) or int(size) >= 1 << 64:
        raise Malformed("bad size %r" % size)
    r = b64d(root)
    if len(r) != 32:
        raise Malformed("root is not 32 bytes")
    ext = lines[3:]
    if any(not e for e in ext):
        raise Malformed("empty extension line")
    return Checkpoint(origin, int(size), r, ext, note, data)


def checkpoint_outcome(data, log_key, origin, witness_keys=(), min_witnesses=0):
    """Rules 8, 8a, 20: (outcome or None, Checkpoint or None)."""
    try:
        cp = parse_checkpoint(data)
    except Malformed:
        return "malformed", None
    wkeys = [k if k.typ == TYPE_COSIG else k.as_cosig() for k in witness_keys]
    try:
        ok, wits = check_note(cp.note, log_key, wkeys)
    except BadSignature:
        return "bad_signature", cp
    except BadWitness:
        # rule 20 says reject, not which outcome: the CLI says too_few_witnesses
        return "too_few_witnesses", cp
    if not ok:
        return "bad_signature", cp
    if origin is not None and cp.origin != origin:
        return "bad_signature", cp
    if len(distinct_witnesses(wits, wkeys)) < min_witnesses:
        return "too_few_witnesses", cp
    return None, cp


def make_checkpoint(origin, size, root, log_key, extensions=()):
    text = ("%s\n%d\n%s\n" % (origin, size, b64e(root))).encode()
    for e in extensions:
        text += e.encode() + b"\n"
    return sign_note(text, [log_key])


def sign_note(text, keys):
    out = text + b"\n"
    for k in keys:
        out += ("%s %s %s\n" % (EM_DASH, k.name, b64e(k.id + k.sign(text)))).encode()
    return out


def cosign(text, wkey, t):
    sig = wkey.sign(cosig_message(t, text))
    return ("%s %s %s\n" % (EM_DASH, wkey.name, b64e(wkey.id + struct.pack(">Q", t) + sig))).encode()


# --------------------------------------------------------------------------
# Merkle trees (RFC 6962 § 2.1, RFC 9162 § 2.1)

def leaf_hash(body):
    return hashlib.sha256(b"\x00" + body).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n):
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def mth(hashes):
    """MTH over leaf hashes."""
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[0]
    k = split_point(n)
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


class Frontier:
    """Roots of the complete subtrees of a growing tree (the root of every prefix)."""

    def __init__(self):
        self.stack = []   # (height, hash)
        self.size = 0

    def push(self, lh):
        h, height = lh, 0
        while self.stack and self.stack[-1][0] == height:
            _, left = self.stack.pop()
            h, height = node_hash(left, h), height + 1
        self.stack.append((height, h))
        self.size += 1

    def root(self):
        if not self.stack:
            return EMPTY_ROOT
        r = self.stack[-1][1]
        for _, h in reversed(self.stack[:-1]):
            r = node_hash(h, r)
        return r


def inclusion_path(m, hashes):
    """RFC 9162 § 2.1.3.1 PATH(m, D[n])."""
    n = len(hashes)
    if n <= 1:
        return []
    k = split_point(n)
    if m < k:
        return inclusion_path(m, hashes[:k]) + [mth(hashes[k:])]
    return inclusion_path(m - k, hashes[k:]) + [mth(hashes[:k])]


def consistency_path(m, hashes):
    """RFC 9162 § 2.1.4.1 PROOF(m, D[n])."""
    def sub(m, d, b):
        n = len(d)
        if m == n:
            return [] if b else [mth(d)]
        k = split_point(n)
        if m <= k:
            return sub(m, d[:k], b) + [mth(d[k:])]
        return sub(m - k, d[k:], False) + [mth(d[:k])]
    if m == 0 or m == len(hashes):
        return []
    return sub(m, hashes, True)


def verify_inclusion(index, size, lh, path, root):
    """RFC 9162 § 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, lh
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m, n, old_root, new_root, path):
    """RFC 9162 § 2.1.4.2, with rule 12 for sizes 0 and equal sizes."""
    if m > n:
        return False
    if m == 0:
        return not path and old_root == EMPTY_ROOT
    if m == n:
        return not path and old_root == new_root
    if not path:
        return False
    if m & (m - 1) == 0:
        path = [old_root] + list(path)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


def inclusion_count(index, size):
    """How many hashes PATH(index, D[size]) has (rule 11: any other count is invalid)."""
    if index >= size:
        return None
    count = 0
    while size > 1:
        k = split_point(size)
        if index < k:
            size = k
        else:
            index, size = index - k, size - k
        count += 1
    return count


# --------------------------------------------------------------------------
# The tree of a log (§ 1)

class LogTree:
    """Leaves of a log: its records from the genesis up to the first that is
    not readable or does not continue the chain (rule 4)."""

    def __init__(self):
        self.bodies = []        # leaf data, by seq
        self.records = []       # sv.Record of each leaf
        self.stop = "end"       # "end", "torn_tail", "damaged", "not_a_log", "unsupported",
        #                         "genesis_hash" (its hash check fails: no tree),
        #                         "wrong_key" (a key given that is not the log's)
        self.log_id = None
        self.framing = None
        self.alg = None
        self.hash_checked = False

    @property
    def hashes(self):
        return [leaf_hash(b) for b in self.bodies]


def log_tree(data, key=None):
    t = LogTree()
    if data[:8] == sv.MAGIC:
        t.framing = "binary"
    elif data[:1] == b"{":
        t.framing = "jsonl"
    else:
        t.stop = "not_a_log"
        return t
    if t.framing == "binary":
        if len(data) < 16:
            t.stop = "not_a_log"
            return t
        version, flags = struct.unpack_from("<II", data, 8)
        if version != 1 or flags != 0:
            t.stop = "unsupported"
            return t
        f = sv.frame_at(data, 16)
        g_body, g_hash, g_end = (f[0], f[1], 16 + f[2]) if f else (None, None, None)
    else:
        nl = data.find(b"\n")
        got = sv.jsonl_line(data[:nl]) if nl >= 0 else None
        g_body, g_hash = got if got else (None, None)
        g_end = nl + 1
    bad, g = sv.check_genesis(g_body, g_hash) if g_body is not None else ("malformed", None)
    if bad:
        t.stop = "not_a_log" if bad == "malformed" else "unsupported"
        return t
    t.log_id, t.alg = g.log_id, g.alg
    n = sv.HASH_LEN[g.alg]
    # "hash when the verifier can compute it" (rule 4): keyless, or the right
    # key. A key that is not the log's (or any key for a keyless log) is
    # refused: the spec was silent, the CLI reports an error (wrong_key)
    if key is not None and (g.alg == "sha256" or g.key_id is None
                            or sv.key_id_of(key) != g.key_id):
        t.stop = "wrong_key"
        return t
    can_hash = g.alg == "sha256" or key is not None
    t.hash_checked = can_hash
    if can_hash and sv.record_hash(g.alg, key, g.body) != g.hash:
        # the spec is silent; the CLI refuses the log (an error, exit 2)
        t.stop = "genesis_hash"
        return t
    t.bodies.append(g.body)
    t.records.append(g)
    spans = sv.jsonl_spans(data[g_end:]) if t.framing == "jsonl" else sv.binary_spans(data, g_end)
    if t.framing == "jsonl":
        for sp in spans:
            sp.offset += g_end
    E_seq, E_hash = 1, g.hash
    for i, sp in enumerate(spans):
        R = sp.record
        if R is None:
            rest = spans[i:]
            if all(s.record is None for s in rest) and sv.is_torn(t.framing, data, rest):
                t.stop = "torn_tail"
            else:
                t.stop = "damaged"
            return t
        if (R.kind == "genesis" or len(R.hash) != n or R.seq != E_seq
                or bytes.fromhex(R.prev) != E_hash
                or (can_hash and sv.record_hash(g.alg, key, R.body) != R.hash)):
            t.stop = "damaged"
            return t
        t.bodies.append(R.body)
        t.records.append(R)
        E_seq, E_hash = R.seq + 1, R.hash
    return t


# --------------------------------------------------------------------------
# § 4: a log against a checkpoint

def verify_log(data, cp_data, log_key, origin=None, key=None, witness_keys=(),
               min_witnesses=0):
    """Rule 14. Returns a dict: outcome, size, root, log_size, valid."""
    t = log_tree(data, key)
    res = {"outcome": None, "log_size": len(t.bodies), "stop": t.stop}
    if t.stop in ("not_a_log", "unsupported", "genesis_hash", "wrong_key"):
        res["outcome"] = t.stop
        res["valid"] = False
        return res
    expected = origin if origin is not None else "evident/" + t.log_id
    bad, cp = checkpoint_outcome(cp_data, log_key, expected, witness_keys, min_witnesses)
    if cp is not None:
        res["size"], res["root"] = cp.size, cp.root.hex()
    if bad:
        res["outcome"] = bad
        res["valid"] = False
        return res
    hashes = t.hashes
    if len(hashes) >= cp.size:
        res["outcome"] = "match" if mth(hashes[:cp.size]) == cp.root else "root_mismatch"
    elif t.stop == "damaged":
        res["outcome"] = "damaged"
    else:
        res["outcome"] = "truncated"
    # valid: match and what follows continues the chain (a torn tail is reported)
    res["valid"] = res["outcome"] == "match" and t.stop != "damaged"
    return res


# --------------------------------------------------------------------------
# § 3: proofs

class InclusionProof:
    def __init__(self, extra, index, path, cp):
        self.extra, self.index, self.path, self.cp = extra, index, path, cp


INDEX_RE = SIZE_RE


def _hash_line(line):
    h = b64d(line)
    if len(h) != 32:
        raise Malformed("a proof hash is not 32 bytes")
    return h


def parse_inclusion(data):
    blank = data.find(b"\n\n")
    if blank < 0:
        raise Malformed("no blank line before the checkpoint")
    head = data[:blank].decode("utf-8", "replace").split("\n")
    if head[0] != "c2sp.org/tlog-proof@v1":
        raise Malformed("not a c2sp.org/tlog-proof@v1")
    i = 1
    extra = None
    if i < len(head) and head[i].startswith("extra "):
        extra = b64d(head[i][6:])
        i += 1
    if i >= len(head) or not head[i].startswith("index "):
        raise Malformed("no index line")
    idx = head[i][6:]
    if not INDEX_RE.match(idx) or int(idx) >= 1 << 64:
        raise Malformed("bad index")
    path = [_hash_line(x) for x in head[i + 1:]]
    if len(path) > MAX_PROOF_HASHES:
        raise Malformed("too many hashes")
    cp = parse_checkpoint(data[blank + 2:])
    return InclusionProof(extra, int(idx), path, cp)


def inclusion_outcome(data, log_key, origin=None, body=None):
    """Rule 11: "ok", "invalid", "bad_signature" or "malformed"."""
    try:
        p = parse_inclusion(data)
    except (Malformed, UnicodeDecodeError):
        return "malformed"
    try:
        ok, _ = check_note(p.cp.note, log_key)
    except (BadSignature, BadWitness):
        return "bad_signature"
    if not ok or (origin is not None and p.cp.origin != origin):
        return "bad_signature"
    if p.extra is None and body is None:
        return "malformed"
    if body is not None and p.extra is not None and body != p.extra:
        return "invalid"
    leaf = p.extra if p.extra is not None else body
    if inclusion_count(p.index, p.cp.size) != len(p.path):
        return "invalid"
    if not verify_inclusion(p.index, p.cp.size, leaf_hash(leaf), p.path, p.cp.root):
        return "invalid"
    return "ok"


def make_inclusion(body, index, path, cp_data):
    out = "c2sp.org/tlog-proof@v1\nextra %s\nindex %d\n" % (b64e(body), index)
    for h in path:
        out += b64e(h) + "\n"
    return out.encode() + b"\n" + cp_data


class ConsistencyRequest:
    def __init__(self, old, path, cp_data):
        self.old, self.path, self.cp_data = old, path, cp_data


def parse_request(data):
    """Rule 12 / tlog-witness add-checkpoint body."""
    blank = data.find(b"\n\n")
    if blank < 0:
        raise Malformed("no blank line before the checkpoint")
    try:
        head = data[:blank].decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise Malformed("not UTF-8")
    if not head[0].startswith("old "):
        raise Malformed("no old line")
    old = head[0][4:]
    if not SIZE_RE.match(old) or int(old) >= 1 << 64:
        raise Malformed("bad old size")
    path = [_hash_line(x) for x in head[1:]]
    if len(path) > MAX_PROOF_HASHES:
        raise Malformed("more than 63 hashes")
    return ConsistencyRequest(int(old), path, data[blank + 2:])


def make_request(old, path, cp_data):
    out = "old %d\n" % old
    for h in path:
        out += b64e(h) + "\n"
    return out.encode() + b"\n" + cp_data


def consistency_outcome(data, old_cp_data, log_key, origin=None):
    """Rule 12: "ok", "invalid", "bad_signature" or "malformed"."""
    try:
        req = parse_request(data)
        new = parse_checkpoint(req.cp_data)
        old = parse_checkpoint(old_cp_data)
    except Malformed:
        return "malformed"
    for cp in (old, new):
        try:
            ok, _ = check_note(cp.note, log_key)
        except (BadSignature, BadWitness):
            return "bad_signature"
        if not ok or (origin is not None and cp.origin != origin):
            return "bad_signature"
    if old.origin != new.origin or req.old != old.size:
        return "invalid"
    if not verify_consistency(old.size, new.size, old.root, new.root, req.path):
        return "invalid"
    return "ok"


# --------------------------------------------------------------------------
# § 6: a witness (rules 18, 19)

class Witness:
    """A witness without a network: origin → (size, root, checkpoint bytes).

    `origins` None: every origin is configured for the log keys (as the
    CLI's `witness` without --origin); else only those."""

    def __init__(self, wkey, log_keys, origins=None, now=lambda: 1700000000):
        self.wkey, self.now = wkey, now
        self.log_keys = list(log_keys)
        self.origins = origins
        self.held = {}
        self.evidence = []

    def add(self, data):
        """Returns (status, outcome, extra): extra is the cosignature line or the held size."""
        try:
            req = parse_request(data)
            cp = parse_checkpoint(req.cp_data)
        except Malformed:
            return 400, "bad_request", None
        if self.origins is not None and cp.origin not in self.origins:
            return 404, "unknown_origin", None
        ok = False
        for k in self.log_keys:
            try:
                ok = ok or check_note(cp.note, k)[0]
            except (BadSignature, BadWitness):
                ok = False
                break
        if not ok:
            return 403, "forbidden", None
        if req.old > cp.size:
            return 400, "bad_request", None
        held_size, held_root, held_cp = self.held.get(cp.origin, (0, EMPTY_ROOT, None))
        if held_cp is not None and cp.size == held_size and cp.root != held_root:
            self.evidence.append((held_cp, data))
            split = True
        else:
            split = False
        if req.old != held_size:
            return 409, "conflict", held_size
        if split:
            return 422, "split_view", None
        if req.old == 0:
            if req.path or (cp.size == 0 and cp.root != EMPTY_ROOT):
                if held_cp is not None:
                    self.evidence.append((held_cp, data))
                return 422, "inconsistent", None
        elif not verify_consistency(held_size, cp.size, held_root, cp.root, req.path):
            self.evidence.append((held_cp, data))
            return 422, "inconsistent", None
        self.held[cp.origin] = (cp.size, cp.root, cp.raw)
        return 200, "cosigned", cosign(cp.note.text, self.wkey, self.now())


# --------------------------------------------------------------------------
# § 2.1 the sidecar, § 2.2 checkpoint records

def split_sidecar(data):
    """Rule 10a: the complete notes of a <log>.checkpoints file, in order, and
    the length of an incomplete last note (ignored)."""
    notes = []
    pos = 0
    while pos < len(data):
        # the text runs to the first blank line; then signature lines
        blank = data.find(b"\n\n", pos)
        if blank < 0:
            break
        q = blank + 2
        end = None
        while q < len(data) and data.startswith(EM_DASH.encode() + b" ", q):
            nl = data.find(b"\n", q)
            if nl < 0:
                break
            q = end = nl + 1
        if end is None:
            break
        notes.append(data[pos:end])
        pos = end
    return notes, len(data) - pos


def verify_sidecar(log_data, side_data, log_key, origin=None, key=None):
    """Each complete note: signature, sizes never decrease, consistent with the
    one before, and (as rule 14) matching the log. Returns a list of outcomes."""
    notes, torn = split_sidecar(side_data)
    t = log_tree(log_data, key)
    expected = origin if origin is not None else (
        "evident/" + t.log_id if t.log_id else None)
    hashes = t.hashes
    out = []
    prev = None
    for raw in notes:
        bad, cp = checkpoint_outcome(raw, log_key, expected)
        if bad:
            out.append(bad)
            continue
        if prev is not None and (cp.size < prev.size or (
                cp.size == prev.size and cp.root != prev.root)):
            out.append("inconsistent")
        elif cp.size <= len(hashes):
            out.append("match" if mth(hashes[:cp.size]) == cp.root else "root_mismatch")
        else:
            out.append("damaged" if t.stop == "damaged" else "truncated")
        prev = cp
    return {"checkpoints": out, "incomplete_tail": torn}


def verify_in_log(data, log_key, origin=None, key=None):
    """Rule 10h: every checkpoint record of the log. Returns
    [(seq, outcome)] with outcome "ok", "not_a_checkpoint", "size",
    "bad_signature" or "root_mismatch"."""
    t = log_tree(data, key)
    # the spec (rule 10h) was silent on the origin; the CLI checks it only
    # when one is named (`--in-log --origin`; default: any)
    expected = origin
    fr = Frontier()
    out = []
    for seq, (rec, body) in enumerate(zip(t.records, t.bodies)):
        if rec.kind == "entry":
            top = rec.parsed.top
            ev = dict(top).get("event_type") if isinstance(top, list) else None
            if ev == "evident.checkpoint":
                out.append((seq, _check_record(top, seq, fr.root(), log_key, expected)))
        fr.push(leaf_hash(body))
    # the records are read once (rule 10h): damage or a break in the chain
    # is a failure too (what is after it is not checked)
    valid = all(o == "ok" for _, o in out) and t.stop in ("end", "torn_tail")
    return {"records": out, "stop": t.stop, "size": len(t.bodies), "valid": valid}


def _check_record(top, seq, root, log_key, expected):
    det = dict(top).get("details")
    det = dict(det) if isinstance(det, sv.Obj) else {}
    text = det.get("checkpoint")
    if not isinstance(text, str):
        return "not_a_checkpoint"
    try:
        cp = parse_checkpoint(text.encode("utf-8"))
    except Malformed:
        return "not_a_checkpoint"
    if cp.size != seq:
        return "size"
    try:
        ok, _ = check_note(cp.note, log_key)
    except (BadSignature, BadWitness):
        ok = False
    if not ok or (expected is not None and cp.origin != expected):
        return "bad_signature"
    if cp.root != root:
        return "root_mismatch"
    return "ok"


# --------------------------------------------------------------------------
# The vectors (spec/vectors/checkpoints/manifest.json)

def check_vectors(directory):
    def rd(name):
        with open(os.path.join(directory, name), "rb") as f:
            return f.read()
    man = json.loads(rd("manifest.json"))
    log_key = parse_vkey(rd(man["log_vkey"]))
    wkey_pub = parse_vkey(rd(man["witness_vkey"]))
    origin = man["origin"]
    compared, bad = 0, []

    def cmp(name, want, got):
        nonlocal compared
        compared += 1
        if want != got:
            bad.append("%s: expected %s, got %s" % (name, want, got))

    # keys: ids, the private keys give the public ones
    for pub, priv in (("log.vkey", "log.skey"), ("witness.vkey", "witness.skey")):
        s = parse_skey(rd(priv))
        cmp(priv, rd(pub).decode().strip(), s.vkey())
    # tree.txt
    t = log_tree(rd("log.jsonl"))
    fr = Frontier()
    for line in rd("tree.txt").decode().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        seq, lh, root = line.split()
        seq = int(seq)
        got_lh = leaf_hash(t.bodies[seq])
        fr.push(got_lh)
        cmp("tree.txt seq %d leaf" % seq, lh, got_lh.hex())
        cmp("tree.txt seq %d root" % seq, root, fr.root().hex())
        cmp("tree.txt seq %d mth" % seq, root, mth(t.hashes[:seq + 1]).hex())
    tb = log_tree(rd("log.evl"))
    cmp("log.evl leaves", t.hashes, tb.hashes)
    for v in man["vectors"]:
        kind = v["kind"]
        if kind == "verify":
            wk = [wkey_pub] if v.get("min_witnesses") else []
            r = verify_log(rd(v["log"]), rd(v["checkpoint"]), log_key, origin,
                           witness_keys=wk, min_witnesses=v.get("min_witnesses", 0))
            cmp("verify %s %s" % (v["log"], v["checkpoint"]), v["expect"], r["outcome"])
        elif kind == "inclusion":
            cmp("inclusion %s" % v["proof"], v["expect"],
                inclusion_outcome(rd(v["proof"]), log_key, origin))
            # the proofs that verify are exactly RFC 9162 PATH
            if v["expect"] == "ok":
                p = parse_inclusion(rd(v["proof"]))
                cmp("inclusion %s path" % v["proof"], inclusion_path(p.index, t.hashes[:p.cp.size]),
                    p.path)
        elif kind == "consistency":
            cmp("consistency %s" % v["proof"], v["expect"],
                consistency_outcome(rd(v["proof"]), rd(v["old"]), log_key, origin))
            if v["expect"] == "ok":
                r = parse_request(rd(v["proof"]))
                new = parse_checkpoint(r.cp_data)
                cmp("consistency %s path" % v["proof"],
                    consistency_path(r.old, t.hashes[:new.size]), r.path)
        elif kind == "witness":
            w = Witness(parse_skey(rd("witness.skey")), [log_key], [origin])
            for step in v["requests"]:
                status, outcome, extra = w.add(rd(step["request"]))
                cmp("witness %s status" % step["request"], step["status"], status)
                if "outcome" in step:
                    cmp("witness %s outcome" % step["request"], step["outcome"], outcome)
                if "latest" in step:
                    cmp("witness %s latest" % step["request"], step["latest"], extra)
                if status == 200:
                    cp = parse_checkpoint(parse_request(rd(step["request"])).cp_data)
                    note = parse_note(cp.note.text + b"\n" + extra)
                    _, wits = check_note(note, log_key, [wkey_pub])
                    cmp("witness %s cosignature" % step["request"], 1, len(wits))
        else:
            bad.append("unknown vector kind %r" % kind)
    # the cosigned vector's cosignature verifies, also with the type 0x01 form
    # of the witness key (rule 20)
    cp = parse_checkpoint(rd("size3-cosigned.checkpoint"))
    _, wits = check_note(cp.note, log_key, [wkey_pub])
    cmp("size3-cosigned witness", 1, len(wits))
    w01 = Key(wkey_pub.name, TYPE_ED25519, wkey_pub.pub)
    r = verify_log(rd("log.jsonl"), rd("size3-cosigned.checkpoint"), log_key, origin,
                   witness_keys=[w01], min_witnesses=1)
    cmp("size3-cosigned with the 0x01 form of the witness key", "match", r["outcome"])
    # the witness key is never the log key: the log's own signature is no cosignature
    r = verify_log(rd("log.jsonl"), rd("size3.checkpoint"), log_key, origin,
                   witness_keys=[log_key], min_witnesses=1)
    cmp("log key as witness key", "too_few_witnesses", r["outcome"])
    return compared, bad


# --------------------------------------------------------------------------
# CLI

def _read(path):
    with open(path, "rb") as f:
        return f.read()


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vectors", metavar="DIR")
    sub = ap.add_subparsers(dest="cmd")
    p = sub.add_parser("verify")
    p.add_argument("log")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--pubkey", required=True)
    p.add_argument("--origin")
    p.add_argument("--key")
    p.add_argument("--witness-key", action="append", default=[])
    p.add_argument("--min-witnesses", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("inclusion")
    p.add_argument("proof")
    p.add_argument("--pubkey", required=True)
    p.add_argument("--origin")
    p.add_argument("--entry-body")
    p = sub.add_parser("consistency")
    p.add_argument("request")
    p.add_argument("--old", required=True)
    p.add_argument("--pubkey", required=True)
    p.add_argument("--origin")
    p = sub.add_parser("root")
    p.add_argument("log")
    p.add_argument("--key")
    p = sub.add_parser("sidecar")
    p.add_argument("log")
    p.add_argument("--pubkey", required=True)
    p.add_argument("--origin")
    p.add_argument("--key")
    p = sub.add_parser("in-log")
    p.add_argument("log")
    p.add_argument("--pubkey", required=True)
    p.add_argument("--origin")
    p.add_argument("--key")
    a = ap.parse_args(argv)
    if a.vectors:
        compared, bad = check_vectors(a.vectors)
        for line in bad:
            print(line)
        print("%d checks, %d disagree" % (compared, len(bad)))
        return 1 if bad else 0
    key = bytes.fromhex(a.key) if getattr(a, "key", None) else None
    if a.cmd == "verify":
        r = verify_log(_read(a.log), _read(a.checkpoint), parse_vkey(_read(a.pubkey)),
                       a.origin, key, [parse_vkey(_read(w)) for w in a.witness_key],
                       a.min_witnesses)
        print(json.dumps(r) if a.json else r["outcome"])
        return 0 if r["valid"] else 1
    if a.cmd == "inclusion":
        body = _read(a.entry_body) if a.entry_body else None
        r = inclusion_outcome(_read(a.proof), parse_vkey(_read(a.pubkey)), a.origin, body)
        print(r)
        return 0 if r == "ok" else 1
    if a.cmd == "consistency":
        r = consistency_outcome(_read(a.request), _read(a.old), parse_vkey(_read(a.pubkey)),
                                a.origin)
        print(r)
        return 0 if r == "ok" else 1
    if a.cmd == "root":
        t = log_tree(_read(a.log), key)
        fr = Frontier()
        for seq, b in enumerate(t.bodies):
            fr.push(leaf_hash(b))
            print(seq, leaf_hash(b).hex(), fr.root().hex())
        print("# stop:", t.stop)
        return 0
    if a.cmd == "sidecar":
        r = verify_sidecar(_read(a.log), _read(a.log + ".checkpoints"),
                           parse_vkey(_read(a.pubkey)), a.origin, key)
        print(json.dumps(r))
        return 0 if all(x == "match" for x in r["checkpoints"]) else 1
    if a.cmd == "in-log":
        r = verify_in_log(_read(a.log), parse_vkey(_read(a.pubkey)), a.origin, key)
        print(json.dumps(r))
        return 0 if r["valid"] else 1
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
