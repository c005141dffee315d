"""Differential test: the clean-room verifier (spec_verify.py, written from
spec/format.md alone) against `evident verify --json` on logs written by the
real library (Python bindings) and then mutated in many ways.

For every case both verifiers must agree on valid/invalid and on the number
of entries; where the CLI reports a first violation, its kind, seq and offset
are compared too.

Run (from the repository root, after `cargo build --release --bins --lib`):

    PYTHONPATH=bindings/python/src \
    EVIDENT_LIBRARY=$PWD/target/release/libevident.so \
    EVIDENT_CLI=$PWD/target/release/evident \
    python -m pytest -q tests/spec_verifier/test_differential.py

EVIDENT_DIFF_SEED (default 1) seeds the random choices;
EVIDENT_DIFF_RANDOM (default 300) is the number of random mutations per base
log; EVIDENT_DIFF_TRUNCATE (default 0: every offset) limits the truncations
of the last two records to a random sample of that many offsets;
EVIDENT_DIFF_BIG=1 adds entries of MAX_BODY - 1, MAX_BODY and MAX_BODY + 1 bytes.
"""

from __future__ import annotations

import json
import os
import random
import re
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

import spec_verify as sv  # noqa: E402

evident = pytest.importorskip("evident")

SEED = int(os.environ.get("EVIDENT_DIFF_SEED", "1"))
RANDOM = int(os.environ.get("EVIDENT_DIFF_RANDOM", "300"))   # random mutations per log
TRUNCATE = int(os.environ.get("EVIDENT_DIFF_TRUNCATE", "0"))  # 0: every offset; else a sample
KEY = bytes(range(32))
PLACEHOLDER = b"@@PREV@@"


def cli() -> str:
    env = os.environ.get("EVIDENT_CLI")
    if env:
        return env
    p = REPO / "target" / "release" / "evident"
    if not p.is_file():
        pytest.skip("no evident CLI (cargo build --release --bins)")
    return str(p)


# ---------------------------------------------------------------------------
# Logs through the real API


def write_base(tmp: Path, framing: str, alg: Optional[str]) -> Path:
    path = tmp / ("base-%s-%s.%s" % (framing, alg or "sha256", "jsonl" if framing == "jsonl" else "evl"))
    key = KEY if alg else None
    with evident.AuditLog(path, key=key, alg=alg, actor="alice", host="lab-pc-1") as log:
        log.log("SESSION_START", "login", session_id="s1", source="ui")
        log.log(
            "ACTION_EXECUTED",
            "load_trace",
            session_id="s1",
            source="ui",
            otr=True,
            success=False,
            duration_ms=12.5,
            error="boom \"quoted\" \\ back",
            note="é ü µs 漢字 🙂 \u2028 \x7f tab\there /slash",
            git_commit="0123abcd",
            details={"file": "run 1.bin", "unit": "µs", "ctl": "\x01\x1f", "e": "é/"},
        )
        log.log("MEASUREMENT", "numbers", success=True, duration_ms=0.0,
                details={"big": 2**64 - 1, "neg": -(2**63), "huge": 2**70, "f": 1e300,
                         "tiny": 1e-7, "one": 1, "half": 0.5, "arr": [1, [2, [3, {}]], []]})
        log.log("EMPTY", "", details={})
        log.log("NULL", "null-details", details="null")
        log.log("DEEP", "nesting", details=json.loads("[" * 120 + "]" * 120))
    return path


# ---------------------------------------------------------------------------
# Records, framings, re-chaining


split_records = sv.split_records


def frame(body: bytes, h: bytes, flags: int = 0) -> bytes:
    head = struct.pack("<IHH", len(body), len(h), flags) + body + h
    return head + struct.pack("<II", zlib.crc32(head), len(head) + 8)


def line(body: bytes, h: bytes) -> bytes:
    return body[:-1] + b',"hash":"' + h.hex().encode() + b'"}\n'


def assemble(framing: str, recs: List[Tuple[bytes, bytes]]) -> bytes:
    if framing == "binary":
        return b"\x89EVD\r\n\x1a\n" + b"\x01\0\0\0\0\0\0\0" + b"".join(frame(b, h) for b, h in recs)
    return b"".join(line(b, h) for b, h in recs)


def H(alg: Optional[str], body: bytes) -> bytes:
    return sv.record_hash(alg or "sha256", KEY, body)


def templates(recs: List[Tuple[bytes, bytes]]) -> List[bytes]:
    """Bodies with their prev hex replaced by PLACEHOLDER (entries only)."""
    out = [recs[0][0]]
    for i in range(1, len(recs)):
        prev = recs[i - 1][1].hex().encode()
        b = recs[i][0]
        assert b.count(prev) == 1
        out.append(b.replace(prev, PLACEHOLDER))
    return out


def rechain(alg: Optional[str], tmpl: List[bytes],
            fill: Callable[[int, bytes, bytes], bytes] = lambda i, b, p: b.replace(PLACEHOLDER, p)
            ) -> List[Tuple[bytes, bytes]]:
    recs, prev = [], None
    for i, t in enumerate(tmpl):
        body = fill(i, t, prev.hex().encode()) if prev is not None else fill(i, t, b"0" * 64)
        h = H(alg, body)
        recs.append((body, h))
        prev = h
    return recs


# ---------------------------------------------------------------------------
# Text-level JSON edits (outside strings)


def outside_strings(body: bytes, fn: Callable[[int, int], Optional[bytes]]) -> bytes:
    """Rebuilds body, letting fn(index, byte) replace bytes outside strings."""
    out, in_str, esc = bytearray(), False, False
    for i, c in enumerate(body):
        if in_str:
            out.append(c)
            if esc:
                esc = False
            elif c == 0x5C:
                esc = True
            elif c == 0x22:
                in_str = False
            continue
        if c == 0x22:
            in_str = True
            out.append(c)
            continue
        r = fn(i, c)
        out += bytes([c]) if r is None else r
    return bytes(out)


def spaced(ws: bytes) -> Callable[[bytes], bytes]:
    def m(b: bytes) -> bytes:
        return outside_strings(b, lambda i, c: bytes([c]) + ws if c in b",:{[" else
                               (ws + bytes([c]) if c in b"}]" else None))
    return m


def top_pairs(body: bytes) -> List[Tuple[str, str]]:
    """Top-level members as (name, raw value text) pairs."""
    text = body.decode()
    dec = json.JSONDecoder()
    pairs, i = [], 1
    while True:
        while text[i] in " \t\r,":
            i += 1
        if text[i] == "}":
            return pairs
        name, i = dec.raw_decode(text, i)
        while text[i] in " \t\r:":
            i += 1
        # the raw value text: decode to find its end
        _, j = dec.raw_decode(text, i) if not text.startswith(PLACEHOLDER.decode(), i + 1) else (None, text.index('"', i + 1) + 1)
        pairs.append((name, text[i:j]))
        i = j


def from_pairs(pairs: List[Tuple[str, str]]) -> bytes:
    return ("{" + ",".join(json.dumps(n, ensure_ascii=False) + ":" + v for n, v in pairs) + "}").encode()


def sub_member(name: str, new: str) -> Callable[[bytes], bytes]:
    def m(b: bytes) -> bytes:
        return from_pairs([(n, new if n == name else v) for n, v in top_pairs(b)])
    return m


def add_member(name: str, value: str, first: bool = False) -> Callable[[bytes], bytes]:
    def m(b: bytes) -> bytes:
        p = top_pairs(b)
        return from_pairs([(name, value)] + p if first else p + [(name, value)])
    return m


def shuffled(rng: random.Random) -> Callable[[bytes], bytes]:
    def m(b: bytes) -> bytes:
        p = top_pairs(b)
        rng.shuffle(p)
        return from_pairs(p)
    return m


def replace(old: bytes, new: bytes, count: int = -1) -> Callable[[bytes], bytes]:
    return lambda b: b.replace(old, new, count) if count >= 0 else b.replace(old, new)


def details(text: str) -> Callable[[bytes], bytes]:
    return sub_member("details", text)


# Mutations applied to one entry's template, then the chain is recomputed
# with the right key: what is left is a question about the body alone.
BODY_MUTATIONS: Dict[str, Callable[[bytes], bytes]] = {
    "ws-space": spaced(b" "),
    "ws-tab": spaced(b"\t"),
    "ws-cr": spaced(b"\r"),
    "ws-crlf-in-body": spaced(b"\r\n"),
    "ws-formfeed": spaced(b"\x0c"),
    "ws-nbsp": spaced("\u00a0".encode()),
    "lead-space": lambda b: b" " + b,
    "trail-space-inside": lambda b: b[:-1] + b" }",
    "v-1.0": sub_member("v", "1.0"),
    "v-1e0": sub_member("v", "1e0"),
    "v-1E0": sub_member("v", "1E0"),
    "v-01": sub_member("v", "01"),
    "v-0": sub_member("v", "0"),
    "v-neg0": sub_member("v", "-0"),
    "v-2": sub_member("v", "2"),
    "v-2**32": sub_member("v", str(2**32)),
    "v-2**32-1": sub_member("v", str(2**32 - 1)),
    "v-string": sub_member("v", '"1"'),
    "v-true": sub_member("v", "true"),
    "v-dup": add_member("v", "1"),
    "seq-dup": add_member("seq", "999"),
    "prev-dup": add_member("prev", '"' + "0" * 64 + '"'),
    "kind-dup": add_member("kind", '"entry"'),
    "ts-dup": add_member("ts", '"2026-01-01T00:00:00.000000Z"'),
    "details-dup": add_member("details", "{}"),
    "event_type-dup": add_member("event_type", '"X"'),
    "hash-member-in-body": add_member("hash", '"' + "ab" * 32 + '"'),
    "unknown-member": add_member("zz_unknown", '{"a":[1,2]}'),
    "unknown-member-first": add_member("aa_unknown", "null", first=True),
    "no-ts": lambda b: from_pairs([(n, v) for n, v in top_pairs(b) if n != "ts"]),
    "no-event_type": lambda b: from_pairs([(n, v) for n, v in top_pairs(b) if n != "event_type"]),
    "no-details": lambda b: from_pairs([(n, v) for n, v in top_pairs(b) if n != "details"]),
    "no-v": lambda b: from_pairs([(n, v) for n, v in top_pairs(b) if n != "v"]),
    "no-kind": lambda b: from_pairs([(n, v) for n, v in top_pairs(b) if n != "kind"]),
    "kind-escaped": sub_member("kind", '"\\u0065ntry"'),
    "kind-upper": sub_member("kind", '"Entry"'),
    "kind-other": sub_member("kind", '"checkpoint"'),
    "kind-empty": sub_member("kind", '""'),
    "kind-number": sub_member("kind", "1"),
    "kind-genesis": sub_member("kind", '"genesis"'),
    "ts-space": sub_member("ts", '"2026-03-01 09:00:00.000000Z"'),
    "ts-number": sub_member("ts", "0"),
    "e-acute-escaped": replace("é".encode(), b"\\u00e9"),
    "e-acute-escaped-upper": replace("é".encode(), b"\\u00E9"),
    "slash-escaped": replace(b"/", b"\\/"),
    "emoji-surrogate-pair": replace("🙂".encode(), b"\\ud83d\\ude42"),
    "lone-high-surrogate": details('"\\ud83d"'),
    "lone-low-surrogate": details('"\\ude42x"'),
    "reversed-surrogates": details('"\\ude42\\ud83d"'),
    "surrogate-key": details('{"\\ud800":1}'),
    "nul-escape": details('"a\\u0000b"'),
    "raw-control": details('"a\x01b"'),
    "raw-tab": details('"a\tb"'),
    "raw-del": details('"a\x7fb"'),
    "raw-u2028": details('"a\u2028b"'),
    "invalid-utf8": lambda b: b.replace(b'"details":', b'"x":"\xff","details":'),
    "overlong-utf8": lambda b: b.replace(b'"details":', b'"x":"\xc0\xaf","details":'),
    "utf8-surrogate": lambda b: b.replace(b'"details":', b'"x":"\xed\xa0\x80","details":'),
    "bad-escape": details('"\\x41"'),
    "num-1.0": details("1.0"),
    "num-1e0": details("1e0"),
    "num-1E+0": details("1E+0"),
    "num-neg0": details("-0"),
    "num-leading-zero": details("01"),
    "num-plus": details("+1"),
    "num-dot": details("1."),
    "num-dot-lead": details(".5"),
    "num-2**64": details(str(2**64)),
    "num-400-digits": details("9" * 400),
    "num-300-digits": details("9" * 300),
    "num-1e400": details("1e400"),
    "num-neg1e400": details("-1e400"),
    "num-1e-400": details("1e-400"),
    "num-max-double": details("1.7976931348623157e308"),
    "num-just-above-max": details("1.7976931348623159e308"),
    "num-NaN": details("NaN"),
    "num-Infinity": details("Infinity"),
    "depth-127": details("[" * 127 + "]" * 127),
    "depth-128": details("[" * 128 + "]" * 128),
    "depth-obj-127": details('{"a":' * 127 + "1" + "}" * 127),
    "depth-obj-128": details('{"a":' * 128 + "1" + "}" * 128),
    "depth-100000": details("[" * 100000 + "]" * 100000),
    "details-trailing-comma": details("[1,]"),
    "details-true": details("true"),
    "details-string": details('"x"'),
    "empty-key": details('{"":1}'),
    "dup-key-in-details": details('{"a":1,"a":2}'),
    "duration-exp": replace(b'"duration_ms":12.5', b'"duration_ms":1.25e1'),
    "duration-1e400": replace(b'"duration_ms":12.5', b'"duration_ms":1e400'),
    "success-null": replace(b'"success":false', b'"success":null'),
}


def seq_mutations(seq: int) -> Dict[str, Callable[[bytes], bytes]]:
    return {
        "seq-float": sub_member("seq", "%d.0" % seq),
        "seq-exp": sub_member("seq", "%de0" % seq),
        "seq-leading-zero": sub_member("seq", "0%d" % seq),
        "seq-string": sub_member("seq", '"%d"' % seq),
        "seq-neg": sub_member("seq", "-%d" % seq),
        "seq-2**64": sub_member("seq", str(2**64)),
    }


# Mutations of the prev member at fill time (the value after re-chaining).
def prev_fill(kind: str) -> Callable[[int, bytes, bytes], bytes]:
    def f(i: int, t: bytes, p: bytes) -> bytes:
        if kind == "escaped":
            p = b"\\u00" + b"%x" % p[0] + p[1:]
        elif kind == "upper":
            p = p.upper()
        elif kind == "solidus":
            p = p[:10] + b"\\/" + p[10:]
        return t.replace(PLACEHOLDER, p)
    return f


# ---------------------------------------------------------------------------
# The two verifiers


def run_cli_batch(paths: List[Path], key: Optional[bytes]) -> Dict[str, dict]:
    """`evident verify --json` on several logs at once: {path: summary}.
    A file that is not a log is left out of the JSON array; its error
    (kind not_a_log) is on stderr."""
    args = [cli(), "verify", "--json", "--all"]
    if key is not None:
        # written once before the batches start (never while one runs)
        kf = paths[0].with_name("key.hex")
        assert kf.read_bytes() == key.hex().encode()
        args += ["--key-file", str(kf)]
    p = subprocess.run(args + [str(x) for x in paths], capture_output=True, timeout=600)
    out: Dict[str, dict] = {}
    text = p.stdout.decode()
    try:
        reports = json.loads(text) if text.strip() else []
    except ValueError:
        raise AssertionError("evident verify --json gave no JSON (rc %d): %r %r"
                             % (p.returncode, text[:300], p.stderr[:300]))
    if isinstance(reports, dict):
        reports = [reports]
    for r in reports:
        out[r["path"]] = cli_summary(r)
    for errline in p.stderr.decode().splitlines():
        try:
            e = json.loads(errline)["error"]
        except (ValueError, KeyError, TypeError):
            continue
        if e.get("kind") == "not_a_log":
            # the error names no offset (the genesis's: 0 or 16)
            out[e["path"]] = {"valid": False, "entries": 0, "first": ("malformed", 0, None),
                              "head": None, "violations": 1, "not_a_log": True}
        else:
            out[e["path"]] = {"error": e}
    missing = [x for x in paths if str(x) not in out]
    if missing:
        # say why: the exit status and what the CLI printed that is not JSON
        for x in missing:
            out[str(x)] = {"error": {"rc": p.returncode, "stderr": p.stderr.decode()[-2000:]}}
    return out


def cli_summary(r: dict) -> dict:
    v = r.get("violations") or []
    first = v[0] if v else None
    return {
        "valid": bool(r.get("valid")),
        "entries": r.get("entries"),
        "first": None if first is None else (first.get("kind"), first.get("seq"), first.get("offset")),
        "head": r.get("head"),
        "violations": r.get("violations_total"),
        "not_a_log": r.get("not_a_log"),
    }


def spec_summary(data: bytes, key: Optional[bytes]) -> dict:
    return spec_summary_of(sv.verify(data, key=key))


def spec_summary_of(r: dict) -> dict:
    v = r["violations"]
    first = v[0] if v else None
    return {
        "valid": r["valid"],
        "entries": r["entries"],
        "first": None if first is None else (first["kind"], first["seq"], first["offset"]),
        "head": r["head"],
        "violations": len(v),
        "not_a_log": r["not_a_log"],
    }


# ---------------------------------------------------------------------------
# Cases


def cases_for(framing: str, alg: Optional[str], data: bytes, rng: random.Random,
              n_random: int) -> List[Tuple[str, bytes]]:
    f, recs = split_records(data)
    assert f == framing
    tmpl = templates(recs)
    out: List[Tuple[str, bytes]] = [("base", data)]
    # 1. body mutations of each entry, re-chained (the chain is right)
    for idx in range(1, len(tmpl)):
        seq = idx
        muts = dict(BODY_MUTATIONS)
        muts.update(seq_mutations(seq))
        for name, m in muts.items():
            if idx > 2 and not name.startswith(("ws-", "e-", "slash", "num-1", "kind-esc")):
                continue   # every mutation on entries 1 and 2, a few on the rest
            try:
                t = m(tmpl[idx])
            except (ValueError, IndexError):
                continue
            if t == tmpl[idx]:
                continue
            tt = list(tmpl)
            tt[idx] = t
            out.append(("body:%s@%d" % (name, idx), assemble(framing, rechain(alg, tt))))
        for r in range(3):   # member order
            tt = list(tmpl)
            tt[idx] = shuffled(rng)(tmpl[idx])
            out.append(("body:key-order%d@%d" % (r, idx), assemble(framing, rechain(alg, tt))))
    gt = list(tmpl)
    gt[0] = shuffled(rng)(tmpl[0])
    out.append(("genesis:key-order", assemble(framing, rechain(alg, gt))))
    # the genesis too (its members are checked more strictly)
    for name, m in {"ws-space": spaced(b" "), "unknown": add_member("zz", "1"),
                    "critical-empty": add_member("critical", "[]"),
                    "critical-x": add_member("critical", '["x-test"]'),
                    "critical-num": add_member("critical", "[1]"),
                    "log_id-short": sub_member("log_id", '"00"'),
                    "key_id-upper": lambda b: re.sub(rb'"key_id":"([0-9a-f]+)"', lambda m: b'"key_id":"' + m.group(1).upper() + b'"', b),
                    "format-escaped": sub_member("format", '"\\u0065vident"'),
                    "alg-escaped": lambda b: b.replace(b'"alg":"s', b'"alg":"\\u0073', 1).replace(b'"alg":"h', b'"alg":"\\u0068', 1),
                    "v-1.0": sub_member("v", "1.0"), "v-2": sub_member("v", "2"),
                    "v-neg0": sub_member("v", "-0"), "seq-1": sub_member("seq", "1"),
                    "seq-neg0": sub_member("seq", "-0"),
                    "ts-leap-second": sub_member("ts", '"2026-12-31T23:59:60.000000Z"'),
                    "ts-feb29-2025": sub_member("ts", '"2025-02-29T00:00:00.000000Z"'),
                    "ts-feb29-2024": sub_member("ts", '"2024-02-29T00:00:00.000000Z"'),
                    "ts-year0": sub_member("ts", '"0000-01-01T00:00:00.000000Z"'),
                    "ts-escaped": lambda b: b.replace(b'"ts":"2', b'"ts":"\\u0032', 1),
                    "ts-hour24": sub_member("ts", '"2026-01-01T24:00:00.000000Z"'),
                    "format-dup": add_member("format", '"evident"'),
                    "log_id-dup": add_member("log_id", '"00112233445566778899aabbccddeeff"'),
                    "kind-escaped": sub_member("kind", '"\\u0067enesis"'),
                    "prev-escaped": lambda b: b.replace(b'"prev":"0', b'"prev":"\\u0030', 1),
                    }.items():
        try:
            t = m(tmpl[0])
        except (ValueError, IndexError):
            continue
        if t == tmpl[0]:
            continue
        out.append(("genesis:%s" % name, assemble(framing, rechain(alg, [t] + tmpl[1:]))))
    # 2. prev spellings (right value, other text)
    for kind in ("escaped", "upper", "solidus"):
        out.append(("prev:%s" % kind, assemble(framing, rechain(alg, tmpl, prev_fill(kind)))))
    # 3. structure: delete / duplicate / swap records, re-chained or not
    n = len(recs)
    for i in range(1, n):
        r = recs[:i] + recs[i + 1:]
        out.append(("delete@%d" % i, assemble(framing, r)))
        out.append(("dup@%d" % i, assemble(framing, recs[:i + 1] + recs[i:])))
        if i + 1 < n:
            out.append(("swap@%d" % i, assemble(framing, recs[:i] + [recs[i + 1], recs[i]] + recs[i + 2:])))
    out.append(("genesis-twice", assemble(framing, recs[:1] + recs)))
    out.append(("concat-self", data + data))
    out.append(("only-genesis", assemble(framing, recs[:1])))
    # 4. framing-level edits
    ends = record_ends(framing, recs)
    if framing == "jsonl":
        out.append(("bom", b"\xef\xbb\xbf" + data))
        out.append(("crlf", data.replace(b"\n", b"\r\n")))
        out.append(("crlf-last", data[:-1] + b"\r\n"))
        out.append(("no-final-lf", data[:-1]))
        out.append(("blank-line-end", data + b"\n"))
        out.append(("blank-line-mid", data.replace(b"\n", b"\n\n", 2)))
        out.append(("space-after-lf", data + b" "))
        out.append(("hash-upper", data.replace(recs[-1][1].hex().encode(), recs[-1][1].hex().upper().encode())))
        out.append(("hash-spaced", data.replace(b',"hash":"', b', "hash":"')))
    else:
        out.append(("header-version-2", data[:8] + b"\x02" + data[9:]))
        out.append(("header-flags", data[:12] + b"\x01" + data[13:]))
        out.append(("frame-flags-last", assemble_flags(recs, len(recs) - 1)))
        out.append(("frame-flags-mid", assemble_flags(recs, 2)))
        out.append(("header-only", data[:16]))
        out.append(("zero-tail-8", data + b"\0" * 8))
        out.append(("zero-tail-7", data + b"\0" * 7))
        # tail shapes of § 9.5: a cut frame whose flags are set, a frame
        # cut short that ends in its own length, a short tail ending in it
        last = ends[-2]
        for cut in (last + 8, last + 20, len(data) - 5):
            d = bytearray(data[:cut])
            d[last + 6] ^= 1
            out.append(("torn-frame-flags@%d" % cut, bytes(d)))
        for cut in (last + 12, last + 40, len(data) - 8):
            d = data[:cut - 4] + struct.pack("<I", cut - last)
            out.append(("torn-ends-in-length@%d" % cut, d))
        out.append(("tail-5-ends-in-length", data + b"\x01\x05\0\0\0"))
        out.append(("tail-8-ends-in-length", data + b"\x08\0\0\0\x08\0\0\0"))
    out.append(("zero-tail-16", data + b"\0" * 16))
    out.append(("zero-mid-tail", data + b"{" + b"\0" * 16 + b"garbage\n{}\n"))
    out.append(("prefix-then-zero-page", data[:ends[-2] + 30] + b"\0" * 4096))
    # entries deleted behind unreadable bytes: K = max(1, L / M) (§ 9.4)
    mrec = 128 if framing == "jsonl" else 50
    for k in (1, 2, 3):
        for L in (k * mrec - 1, k * mrec, k * mrec + 1, (k + 1) * mrec):
            if framing == "jsonl":
                filler = b"x" * (L - 1) + b"\n"
            else:
                filler = b"\xee" * L
            d = assemble(framing, recs[:2])[:] + filler + assemble(framing, recs[2 + k:])[16 if framing == "binary" else 0:]
            out.append(("deleted-%d-behind-%d-bytes" % (k, L), d))
            d = assemble(framing, recs[:2]) + filler + assemble(framing, recs[2:])[16 if framing == "binary" else 0:]
            out.append(("inserted-%d-bytes" % L, d))
    out.append(("garbage-tail", data + b"garbage"))
    # 5. truncation at every offset of the last two records
    ends = record_ends(framing, recs)
    cuts = list(range(ends[-3], len(data)))
    if TRUNCATE and len(cuts) > TRUNCATE:
        cuts = sorted(set(rng.sample(cuts, TRUNCATE) + [ends[-2], ends[-2] - 1, len(data) - 1]))
    for cut in cuts:
        out.append(("truncate@%d" % cut, data[:cut]))
    # 6. a byte flipped in each field of the last two records and the genesis
    for start, end in ((ends[-3], ends[-2]), (ends[-2], ends[-1]), (0 if framing == "jsonl" else 16, ends[0])):
        seg = data[start:end]
        for m in re.finditer(rb'"([a-z_]+)":', seg):
            p = start + m.end()  # first byte of the value
            for off in (0, 1):
                if p + off < end:
                    out.append(("flip-field:%s@%d" % (m.group(1).decode(), p + off), flip(data, p + off, 0x01)))
        for p in range(start, min(start + 8, end)):
            out.append(("flip-frame@%d" % p, flip(data, p, 0x80)))
        for p in range(max(start, end - 70), end):
            out.append(("flip-end@%d" % p, flip(data, p, 0x01)))
    # 7. random flips, random insertions and deletions
    for k in range(n_random):
        d = bytearray(data)
        what = rng.randrange(4)
        p = rng.randrange(len(d))
        if what == 0:
            d[p] ^= 1 << rng.randrange(8)
        elif what == 1:
            d[p] = rng.randrange(256)
        elif what == 2:
            del d[p:p + rng.randrange(1, 40)]
        else:
            d[p:p] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 8)))
        out.append(("random%d:%d@%d" % (k, what, p), bytes(d)))
    return out


def assemble_flags(recs, i):
    data = assemble("binary", recs[:i])
    return data + frame(recs[i][0], recs[i][1], flags=1) + b"".join(frame(b, h) for b, h in recs[i + 1:]) \
        if i else data


def record_ends(framing: str, recs) -> List[int]:
    ends, p = [], (16 if framing == "binary" else 0)
    for b, h in recs:
        p += (16 + len(b) + len(h)) if framing == "binary" else len(line(b, h))
        ends.append(p)
    return ends


def flip(data: bytes, p: int, bit: int) -> bytes:
    d = bytearray(data)
    d[p] ^= bit
    return bytes(d)


BASES = [(f, a) for f in ("jsonl", "binary") for a in (None, "hmac-sha256", "hmac-sha512")]


@pytest.mark.parametrize("framing,alg", BASES, ids=["%s-%s" % (f, a or "sha256") for f, a in BASES])
def test_differential(tmp_path: Path, framing: str, alg: Optional[str]) -> None:
    rng = random.Random("%d-%s-%s" % (SEED, framing, alg))
    base = write_base(tmp_path, framing, alg)
    data = base.read_bytes()
    key = KEY if alg else None
    # the spec verifier accepts the real writer's log
    assert sv.verify(data, key=key)["valid"], "the spec verifier rejects a log the library wrote"
    cases = cases_for(framing, alg, data, rng, RANDOM)
    # a key given for a keyless log and no key for a keyed one
    checks: List[Tuple[str, bytes, Optional[bytes]]] = [(n, d, key) for n, d in cases]
    checks.append(("wrong-key-presence", data, None if key else KEY))
    ext = ".jsonl" if framing == "jsonl" else ".evl"
    (tmp_path / "key.hex").write_bytes(KEY.hex().encode())
    by_key: Dict[Optional[bytes], List[Tuple[str, Path, bytes]]] = {}
    for i, (name, d, k) in enumerate(checks):
        p = tmp_path / ("case%d%s" % (i, ext))
        p.write_bytes(d)
        by_key.setdefault(k, []).append((name, p, d))
    # a torn tail costs the CLI a 0.1 s look for a growing file: batches in
    # parallel (the waiting is idle time)
    jobs = []
    with ThreadPoolExecutor(max_workers=16) as pool:
        for k, items in by_key.items():
            for j in range(0, len(items), 25):
                chunk = items[j:j + 25]
                jobs.append((k, chunk, pool.submit(run_cli_batch, [p for _, p, _ in chunk], k)))
    disagreements, detail_diffs = [], []
    for k, chunk, fut in jobs:
        theirs_all = fut.result()
        for name, p, d in chunk:
            mine = spec_summary(d, k)
            theirs = theirs_all.get(str(p))
            if theirs and theirs.get("not_a_log") and mine["first"]:
                mine["first"] = mine["first"][:2] + (None,)
            if theirs is None or "error" in theirs:
                disagreements.append((name, mine, theirs))
                continue
            if (mine["valid"], mine["entries"]) != (theirs["valid"], theirs["entries"]):
                disagreements.append((name, mine, theirs))
            elif mine != theirs:
                detail_diffs.append((name, mine, theirs))
    # expected heads and log ids, one CLI run each
    f, recs = split_records(data)
    lid = json.loads(recs[0][0])["log_id"]
    heads = [(i, recs[i][1].hex()) for i in range(len(recs))]
    heads += [(len(recs), heads[-1][1]), (3, heads[2][1]), (2, heads[2][1].upper()), (2**64 - 1, "00" * len(recs[0][1]))]
    for i, (sq, hx) in enumerate(heads + [(None, None)] * 3):
        args, eh, el = [], None, None
        if i < len(heads):
            args = ["--expect-head", "%d:%s" % (sq, hx)]
            eh = (sq, hx)
        else:
            el = [lid.upper(), "0" * 32, lid][i - len(heads)]
            args = ["--expect-log-id", el]
        for d in (data, data[:record_ends(framing, recs)[-2]]):
            p = tmp_path / ("eh%d%s" % (i, ext))
            p.write_bytes(d)
            cmd = [cli(), "verify", "--json", "--all"] + args + [str(p)]
            if key:
                cmd[4:4] = ["--key-file", str(tmp_path / "key.hex")]
            r = subprocess.run(cmd, capture_output=True)
            theirs = cli_summary(json.loads(r.stdout))
            r0 = sv.verify(d, key=key, expected_head=eh, expected_log_id=el)
            mine = spec_summary_of(r0)
            checks.append(("expect %s" % args, d, key))
            if (mine["valid"], mine["entries"]) != (theirs["valid"], theirs["entries"]):
                disagreements.append(("expect %s" % args, mine, theirs))
            elif mine != theirs:
                detail_diffs.append(("expect %s" % args, mine, theirs))
    report = "\n".join("%s:\n  spec    %s\n  evident %s" % x for x in disagreements + detail_diffs)
    print("%s/%s: %d cases compared, %d verdict disagreements, %d detail disagreements"
          % (framing, alg or "sha256", len(checks), len(disagreements), len(detail_diffs)))
    if report:
        print(report)
    assert not disagreements and not detail_diffs, report


def test_spec_vectors() -> None:
    """The clean-room verifier gives every vector's expected result."""
    compared, bad = sv.check_vectors(str(REPO / "spec" / "vectors"))
    assert compared >= 120 and not bad, bad


@pytest.mark.skipif(not os.environ.get("EVIDENT_DIFF_BIG"), reason="16 MiB logs: set EVIDENT_DIFF_BIG=1")
@pytest.mark.parametrize("framing", ["jsonl", "binary"])
def test_max_body_boundary(tmp_path: Path, framing: str) -> None:
    """An entry body of MAX_BODY - 1, MAX_BODY and MAX_BODY + 1 bytes."""
    g = (b'{"v":1,"seq":0,"prev":"' + b"0" * 64 + b'","kind":"genesis","ts":"2026-03-01T09:00:00.000000Z",'
         b'"format":"evident","alg":"sha256","log_id":"00112233445566778899aabbccddeeff"}')
    gh = H(None, g)
    head = (b'{"v":1,"seq":1,"prev":"' + gh.hex().encode()
            + b'","kind":"entry","ts":"2026-03-01T09:00:00.000000Z","details":"')
    for size in (sv.MAX_BODY - 1, sv.MAX_BODY, sv.MAX_BODY + 1):
        body = head + b"x" * (size - len(head) - 2) + b'"}'
        recs = [(g, gh), (body, H(None, body))]
        if framing == "binary" and size > sv.MAX_BODY:
            d = assemble("binary", recs[:1]) + frame(body, recs[1][1])   # length out of range
        else:
            d = assemble(framing, recs)
        p = tmp_path / ("big%s" % (".jsonl" if framing == "jsonl" else ".evl"))
        p.write_bytes(d)
        theirs = run_cli_batch([p], None)[str(p)]
        mine = spec_summary(d, None)
        assert mine == theirs, (size, mine, theirs)
        assert mine["valid"] == (size <= sv.MAX_BODY)
