"""An attacker's review of the log format (spec/format.md): forgeries that
`evident verify` must refuse, and readers (`evident cat`, `evident tail`,
`evident verify --json`, Python read_entries / read_records / iter_entries,
the newest-first fast path) that must show what was hashed, the same in
every reader.

Every log here is built byte by byte from the spec's rules (§ 2, § 6, § 7,
§ 8), in both framings, with the hashes and CRCs recomputed the way an
attacker would: with SHA-256 for a keyless log, with the HMAC key when the
attacker is supposed to hold it, and with a CRC that matches a changed body.
The CLI is run through subprocess (EVIDENT_CLI); those tests are skipped when
it is not set."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import pytest

import evident
from evident import Query

KEY_A = bytes(range(0x00, 0x20))
KEY_B = bytes(range(0x20, 0x40))
MAGIC = b"\x89EVD\r\n\x1a\n"
HEADER = MAGIC + struct.pack("<II", 1, 0)
LOG_ID = "00112233445566778899aabbccddeeff"
TS = "2026-03-01T09:00:01.000000Z"

Body = Union[bytes, Callable[[int, str], bytes]]


# --------------------------------------------------------------------------
# Building logs from the spec's rules


def key_id(key: bytes) -> str:
    """§ 6.2."""
    return hashlib.sha256(b"evident key id v1" + key).digest()[:8].hex()


def rhash(body: bytes, key: Optional[bytes] = None, alg: str = "sha256") -> bytes:
    """§ 6.1: H(body)."""
    if alg == "sha256":
        return hashlib.sha256(body).digest()
    assert key is not None
    digest = hashlib.sha512 if alg == "hmac-sha512" else hashlib.sha256
    return hmac.new(key, body, digest).digest()


def genesis(key: Optional[bytes] = None, alg: Optional[str] = None, log_id: str = LOG_ID) -> bytes:
    """§ 3: the canonical genesis body."""
    alg = alg or ("sha256" if key is None else "hmac-sha256")
    n = 64 if alg == "hmac-sha512" else 32
    kid = f',"key_id":"{key_id(key)}"' if key is not None else ""
    return (
        f'{{"v":1,"seq":0,"prev":"{"00" * n}","kind":"genesis",'
        f'"ts":"2026-03-01T09:00:00.000000Z","format":"evident","alg":"{alg}"{kid},'
        f'"log_id":"{log_id}"}}'
    ).encode()


def entry(seq: int, prev: str, tail: str = ',"details":{}', *, ts: str = TS, **fields: Any) -> bytes:
    """§ 4: an entry body; ``tail`` is raw text after the string members
    (details, extra or duplicated members), ``fields`` override them."""
    f: Dict[str, Any] = dict(
        event_type="E", action="a", actor="alice", host="h", session_id="s", source="ui"
    )
    f.update(fields)
    mid = "".join(
        f',"{k}":{json.dumps(v, ensure_ascii=False, separators=(",", ":"))}' for k, v in f.items()
    )
    return f'{{"v":1,"seq":{seq},"prev":"{prev}","kind":"entry","ts":"{ts}"{mid}{tail}}}'.encode()


def ent(tail: str = ',"details":{}', **kw: Any) -> Callable[[int, str], bytes]:
    """An entry maker: called with its seq and the previous hash in hex."""
    return lambda seq, prev: entry(seq, prev, tail, **kw)


def jsonl_line(body: bytes, h: bytes) -> bytes:
    """§ 7."""
    return body[:-1] + b',"hash":"' + h.hex().encode() + b'"}\n'


def frame(body: bytes, h: bytes, flags: int = 0) -> bytes:
    """§ 8."""
    f = struct.pack("<IHH", len(body), len(h), flags) + body + h
    return f + struct.pack("<II", zlib.crc32(f), len(f) + 8)


def framed(framing: str, body: bytes, h: bytes) -> bytes:
    return jsonl_line(body, h) if framing == "jsonl" else frame(body, h)


class Built:
    """A log built from bodies: its bytes, every record's bytes, body and
    hash (genesis first)."""

    def __init__(self, framing: str, bodies: List[bytes], hashes: List[bytes], records: List[bytes]):
        self.framing, self.bodies, self.hashes, self.records = framing, bodies, hashes, records

    @property
    def data(self) -> bytes:
        return (HEADER if self.framing == "binary" else b"") + b"".join(self.records)

    def offset(self, i: int) -> int:
        return len(HEADER if self.framing == "binary" else b"") + sum(map(len, self.records[:i]))

    def head(self, i: int = -1) -> str:
        i = i % len(self.hashes)
        return f"{i}:{self.hashes[i].hex()}"


def build(
    framing: str,
    makers: Sequence[Body],
    *,
    key: Optional[bytes] = None,
    alg: Optional[str] = None,
    gen: Optional[bytes] = None,
) -> Built:
    """A log: the genesis (``gen`` or the canonical one), then one record per
    maker, seq 1, 2, …, each linked to the hash before it."""
    alg = alg or ("sha256" if key is None else "hmac-sha256")
    bodies: List[bytes] = []
    hashes: List[bytes] = []
    records: List[bytes] = []
    for i, m in enumerate([gen or genesis(key, alg)] + list(makers)):
        body = m if isinstance(m, bytes) else m(i, hashes[-1].hex())
        h = rhash(body, key, alg)
        bodies.append(body)
        hashes.append(h)
        records.append(framed(framing, body, h))
    return Built(framing, bodies, hashes, records)


def write(tmp_path: Path, framing: str, data: bytes, name: str = "audit") -> Path:
    p = tmp_path / (name + (".jsonl" if framing == "jsonl" else ".evl"))
    p.write_bytes(data)
    return p


# --------------------------------------------------------------------------
# Readers


def _cli() -> Optional[str]:
    return os.environ.get("EVIDENT_CLI") or None


needs_cli = pytest.mark.skipif(_cli() is None, reason="EVIDENT_CLI is not set")


def run(*args: Any) -> subprocess.CompletedProcess:
    cli = _cli()
    if cli is None:
        pytest.skip("EVIDENT_CLI is not set")
    return subprocess.run(
        [cli, "--color", "never", *map(str, args)], capture_output=True, timeout=120
    )


def cli_verify(p: Path, *args: Any) -> Tuple[int, Dict[str, Any]]:
    r = run("verify", p, "--json", "--all", *args)
    doc = json.loads(r.stdout) if r.stdout.strip() else {}
    return r.returncode, doc


def violations(doc: Dict[str, Any]) -> List[Tuple[str, Optional[int]]]:
    return [(v["kind"], v["seq"]) for v in doc.get("violations", [])]


def py_violations(p: Path, **kw: Any) -> List[Tuple[str, Optional[int], int, int]]:
    r = evident.verify(p, all=True, **kw)
    return [(v.kind, v.seq, v.line, v.offset) for v in r.violations]


def lines(out: bytes) -> List[str]:
    """Output lines split at LF only (U+2028 in a value is not a line end)."""
    return [x.decode() for x in out.split(b"\n") if x]


def canon(x: Any) -> str:
    """A value's exact JSON text: tells 0 from -0.0 and an integer from a
    double, which == does not."""
    return json.dumps(x, sort_keys=True, ensure_ascii=False)


def readers(p: Path, n: int) -> Dict[str, List[str]]:
    """Every reader's view of the entries of ``p`` (oldest first), each
    entry as its exact JSON text. ``n``: the number of entries."""
    out: Dict[str, List[str]] = {}
    out["python read_entries"] = [canon(e.record()) for e in evident.read_entries(p)]
    out["python read_records"] = [canon(r) for r in evident.read_records(p)]
    with evident.iter_entries(p) as it:
        out["python iter_entries"] = [canon(e.record()) for e in it]
    # Query(newest_first, limit) takes the backward fast path (evident_read_last).
    last = evident.read_entries(p, Query(newest_first=True, limit=n))
    out["python read_last"] = [canon(e.record()) for e in reversed(last)]
    filtered = evident.read_entries(p, Query(actor="alice"))
    out["python filtered"] = [canon(e.record()) for e in filtered]
    if _cli() is not None:
        for name, args in [
            ("cli cat --json", ["cat", p, "--json"]),
            ("cli tail --json", ["tail", p, "-n", n, "--json"]),
            ("cli cat --actor", ["cat", p, "--actor", "alice", "--json"]),
        ]:
            r = run(*args)
            assert r.returncode == 0, (name, r.stderr)
            out[name] = [canon(json.loads(line)) for line in lines(r.stdout)]
        r = run("cat", p, "--newest-first", "--json")
        assert r.returncode == 0, r.stderr
        out["cli cat --newest-first"] = [
            canon(json.loads(line)) for line in reversed(lines(r.stdout))
        ]
    return out


def assert_readers_agree(p: Path, n: int) -> List[Dict[str, Any]]:
    """Every reader shows the same ``n`` entries; returns them."""
    views = readers(p, n)
    first_name, first = next(iter(views.items()))
    assert len(first) == n, (first_name, first)
    for name, view in views.items():
        assert view == first, f"{name} differs from {first_name}:\n{view}\n{first}"
    return [json.loads(e) for e in first]


def assert_valid(p: Path, entries: int, **kw: Any) -> None:
    r = evident.verify(p, all=True, **kw)
    assert r.valid, [(v.kind, v.seq, v.message) for v in r.violations]
    assert r.entries == entries
    if _cli() is not None and not kw:
        rc, doc = cli_verify(p)
        assert (rc, doc["valid"], doc["entries"]) == (0, True, entries), doc


def assert_first(p: Path, kind: str, seq: Optional[int], *cli_args: str, **kw: Any) -> List[Tuple[str, Optional[int], int, int]]:
    """The first violation is ``kind`` at ``seq``, in the Python verifier and
    in `evident verify --json` (exit 1); their violation lists agree."""
    vs = py_violations(p, **kw)
    assert vs and vs[0][:2] == (kind, seq), vs
    if _cli() is not None:
        rc, doc = cli_verify(p, *cli_args)
        assert rc == 1 and doc["valid"] is False, doc
        assert [(v["kind"], v["seq"], v["line"], v["offset"]) for v in doc["violations"]] == vs
    return vs


@pytest.fixture(params=["jsonl", "binary"])
def framing(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    k = tmp_path / "key_a"
    k.write_text(KEY_A.hex())
    return k


# --------------------------------------------------------------------------
# One JSON value written several ways: verify accepts (§ 2 rule 5), and
# every reader shows the value, not the spelling (§ 2 rule 7).

SPELLINGS = [
    # (raw tail after the string members, expected details)
    (',"details":{"a":"\\u0041\\/\\u00e9"}', {"a": "A/é"}),
    (',"details":{"\\u0061":1}', {"a": 1}),
    (',"details":{"s":"\\ud83d\\ude00"}', {"s": "\U0001F600"}),
    (',"details":{"s":"\U0001F600"}', {"s": "\U0001F600"}),
    (',"details":{"n":[1.0,1e0,1E+0,100e-2,0.1e1]}', {"n": [1.0] * 5}),
    (',"details":{"n":[1,0,-1,18446744073709551615,-9223372036854775808]}',
     {"n": [1, 0, -1, 18446744073709551615, -9223372036854775808]}),
    (',"details":{"n":1e-400}', {"n": 0.0}),
    (',"details":{"n":1.7976931348623157e308}', {"n": 1.7976931348623157e308}),
    (',"details":{"s":"x\\u0000y"}', {"s": "x\x00y"}),
    (' ,\r\t"details" : { "b" : [ 1 , 2 ] ,"a":null } ', {"a": None, "b": [1, 2]}),
    (',"details":{"z":1,"a":2}', {"a": 2, "z": 1}),
    (',"details":"\\u2028"', "\u2028"),
    (',"details":null', None),
]


@pytest.mark.parametrize("tail,details", SPELLINGS, ids=[str(i) for i in range(len(SPELLINGS))])
def test_one_value_many_spellings_every_reader_shows_the_value(
    tmp_path: Path, framing: str, tail: str, details: Any
) -> None:
    b = build(framing, [ent(), ent(tail), ent()])
    p = write(tmp_path, framing, b.data)
    assert_valid(p, 3)
    got = assert_readers_agree(p, 3)
    assert canon(got[1]["details"]) == canon(details)
    assert got[1]["hash"] == b.hashes[2].hex()


def test_common_members_by_value_not_spelling(tmp_path: Path, framing: str) -> None:
    """`"kind":"\\u0065ntry"` is an entry and a prev may spell a digit
    `\\u0030` (§ 2 rule 7); member order and whitespace are free (rule 5)."""

    def escaped_kind(seq: int, prev: str) -> bytes:
        return entry(seq, prev).replace(b'"kind":"entry"', b'"kind":"\\u0065ntry"')

    def escaped_prev(seq: int, prev: str) -> bytes:
        return entry(seq, prev).replace(
            b'"prev":"' + prev[:1].encode(), b'"prev":"\\u00' + b"%02x" % ord(prev[0])
        )

    def reordered(seq: int, prev: str) -> bytes:
        return (
            f'{{ "details":{{}},"source":"ui","session_id":"s","host":"h","actor":"alice",'
            f'"action":"a","event_type":"E","ts":"{TS}","kind":"entry","prev":"{prev}",'
            f'"seq":{seq},"v":1 }}'
        ).encode()

    b = build(framing, [escaped_kind, escaped_prev, reordered, ent()])
    p = write(tmp_path, framing, b.data)
    assert_valid(p, 4)
    got = assert_readers_agree(p, 4)
    assert [e["seq"] for e in got] == [1, 2, 3, 4]
    assert [e["prev"] for e in got] == [h.hex() for h in b.hashes[:4]]


def test_a_hash_member_inside_the_body_is_not_the_record_hash(tmp_path: Path, framing: str) -> None:
    """A body may hold a member named `hash` (§ 2 rule 4); the framing's
    `"hash"` is the last member of a JSONL line, and every reader shows the
    record's hash, not the body's fake one."""
    fake = "ab" * 32
    b = build(framing, [ent(f',"details":{{}},"hash":"{fake}"'), ent()])
    p = write(tmp_path, framing, b.data)
    assert_valid(p, 2)
    got = assert_readers_agree(p, 2)
    assert got[0]["hash"] == b.hashes[1].hex() != fake


# --------------------------------------------------------------------------
# Numbers: § 5.5 rule 2: integers beyond 64 bits are read as the nearest
# double, by every reader.

BIG_NUMBERS = [
    ("18446744073709551616", 18446744073709551616.0),  # 2^64
    ("123456789012345678901234567890", 1.2345678901234568e29),
    ("-9223372036854775809", -9.223372036854776e18),  # below i64
    ("1" + "0" * 300, 1e300),
]


@pytest.mark.parametrize("text,value", BIG_NUMBERS, ids=[t[:12] for t, _ in BIG_NUMBERS])
def test_integers_beyond_64_bits_are_doubles_in_every_reader(
    tmp_path: Path, framing: str, text: str, value: float
) -> None:
    b = build(framing, [ent(f',"details":{{"n":{text},"m":[{text}]}}')])
    p = write(tmp_path, framing, b.data)
    assert_valid(p, 1)
    got = assert_readers_agree(p, 1)
    assert canon(got[0]["details"]) == canon({"m": [value], "n": value})


def test_negative_zero_integer_reads_as_the_engine_reads_it(tmp_path: Path, framing: str) -> None:
    """`-0` (not a canonical spelling, but valid JSON) is read by the engine
    (serde_json) as the double -0.0; the Python readers must not make it the
    integer 0."""
    b = build(framing, [ent(',"details":{"z":-0,"y":[-0],"x":0}')])
    p = write(tmp_path, framing, b.data)
    assert_valid(p, 1)
    got = assert_readers_agree(p, 1)
    assert canon(got[0]["details"]) == canon({"x": 0, "y": [-0.0], "z": -0.0})


def test_duration_ms_integer_forms_read_as_doubles(tmp_path: Path, framing: str) -> None:
    b = build(framing, [ent(',"duration_ms":5,"details":{}'), ent(',"duration_ms":1e2,"details":{}')])
    p = write(tmp_path, framing, b.data)
    assert_valid(p, 2)
    got = assert_readers_agree(p, 2)
    assert [canon(e["duration_ms"]) for e in got] == ["5.0", "100.0"]


# --------------------------------------------------------------------------
# Duplicates


def test_duplicate_member_in_details_last_wins_in_every_reader(tmp_path: Path, framing: str) -> None:
    """§ 5.4: the writer keeps the last value of a name given twice; a stored
    body with a duplicated details member is readable, and every reader
    shows the same (last) value."""
    b = build(framing, [ent(',"details":{"a":1,"b":{"c":1,"c":2},"a":"second"}')])
    p = write(tmp_path, framing, b.data)
    assert_valid(p, 1)
    got = assert_readers_agree(p, 1)
    assert got[0]["details"] == {"a": "second", "b": {"c": 2}}


@pytest.mark.parametrize(
    "tail,ts",
    [
        (',"details":{},"actor":"mallory"', TS),  # an entry member twice
        (',"details":{},"details":{"x":1}', TS),
        (',"details":{},"\\u0061ctor":"mallory"', TS),  # twice, once escaped
        (',"details":{}', "2026-03-01T09:00:01.000000+00:00"),  # § 5.3
        (',"details":{},"otr":null', TS),
        (',"details":{},"success":"yes"', TS),
    ],
    ids=["dup-actor", "dup-details", "dup-escaped", "ts-offset", "otr-null", "success-string"],
)
def test_entry_verify_accepts_but_no_reader_shows_a_value_for(
    tmp_path: Path, framing: str, tail: str, ts: str
) -> None:
    """§ 4: a verifier does not interpret the entry members; a query that
    must return such an entry reports it as malformed, naming its seq. No
    reader may pick one of two values (an auditor would see one, a tool the
    other)."""
    b = build(framing, [ent(), ent(tail, ts=ts), ent()])
    p = write(tmp_path, framing, b.data)
    assert_valid(p, 3)
    for q in [None, Query(newest_first=True, limit=2), Query(actor="mallory"), Query(newest_first=True)]:
        with pytest.raises(evident.MalformedLogError, match="seq 2"):
            evident.read_entries(p, q)
    with pytest.raises(evident.MalformedLogError, match="seq 2"):
        evident.read_records(p)
    if _cli() is not None:
        for args in (["cat", p, "--json"], ["tail", p, "-n", "2", "--json"], ["cat", p, "--actor", "mallory", "--json"]):
            r = run(*args)
            assert r.returncode == 1, (args, r.stdout, r.stderr)
            assert b"seq 2" in r.stderr
            shown = [json.loads(x)["seq"] for x in lines(r.stdout)]
            assert 2 not in shown
            assert b"mallory" not in r.stdout


# --------------------------------------------------------------------------
# The members every record has: spellings verify must refuse (§ 2 rule 4).

HEAD_FORGERIES = [
    ('"seq":2', '"seq":2.0'),
    ('"seq":2', '"seq":2e0'),
    ('"seq":2', '"seq":"2"'),
    ('"seq":2', '"seq":02'),
    ('"seq":2', '"seq":+2'),
    ('"v":1', '"v":0'),
    ('"v":1', '"v":4294967296'),
    ('"v":1', '"v":-1'),
    ('"kind":"entry"', '"kind":"entry","\\u0073eq":9'),
    ('"kind":"entry"', '"kind":"entry","kind":"genesis"'),
    ('"kind":"entry"', '"kind":"entry","prev":"PREV"'),
    ('"kind":"entry"', '"kind":"entry","v":1'),
    ('"kind":"entry"', '"kind":1'),
]


@pytest.mark.parametrize("old,new", HEAD_FORGERIES, ids=[n for _, n in HEAD_FORGERIES])
def test_common_member_forgeries_are_malformed(tmp_path: Path, framing: str, old: str, new: str) -> None:
    def forged(seq: int, prev: str) -> bytes:
        body = entry(seq, prev)
        out = body.replace(old.encode(), new.replace("PREV", prev).encode(), 1)
        assert out != body
        return out

    b = build(framing, [ent(), forged, ent()])
    p = write(tmp_path, framing, b.data)
    vs = assert_first(p, "malformed", None)
    assert vs[0][3] == b.offset(2)
    # The record after it is accepted as the new start of the chain (§ 9.4).
    assert len(vs) == 1, vs


def test_prev_in_upper_case_is_malformed(tmp_path: Path, framing: str) -> None:
    b = build(framing, [ent(), lambda s, p: entry(s, p.upper()), ent()])
    p = write(tmp_path, framing, b.data)
    assert_first(p, "malformed", None)


# --------------------------------------------------------------------------
# The content rule (§ 5.5) and JSON itself


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


CONTENT = [
    (',"details":' + _nested(127), True),  # level 128
    (',"details":' + _nested(128), False),  # level 129
    (',"details":1e400', False),
    (',"details":-1e400', False),
    (',"details":' + "9" * 400, False),
    (',"details":"\\ud800"', False),
    (',"details":"\\udc00\\ud800"', False),
    (',"details":"\\ud800\\u0041"', False),
    (',"details":NaN', False),
    (',"details":Infinity', False),
    (',"details":[1,]', False),
    (',"details":"a\tb"', False),  # a raw control character in a string
    (',"details":"a\x00b"', False),
]


@pytest.mark.parametrize("tail,ok", CONTENT, ids=[str(i) for i in range(len(CONTENT))])
def test_content_rule(tmp_path: Path, framing: str, tail: str, ok: bool) -> None:
    b = build(framing, [ent(), ent(tail), ent()])
    p = write(tmp_path, framing, b.data)
    if ok:
        assert_valid(p, 3)
        assert_readers_agree(p, 3)
    else:
        assert_first(p, "malformed", None)


@pytest.mark.parametrize(
    "raw",
    [b"\xc0\x81", b"\xe0\x80\x81", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xff", b"\x80"],
    ids=["overlong2", "overlong3", "surrogate", "above-10ffff", "ff", "continuation"],
)
def test_invalid_utf8_is_malformed(tmp_path: Path, framing: str, raw: bytes) -> None:
    def bad(seq: int, prev: str) -> bytes:
        return entry(seq, prev, ',"details":"xRAWy"').replace(b"RAW", raw)

    b = build(framing, [ent(), bad, ent()])
    p = write(tmp_path, framing, b.data)
    assert_first(p, "malformed", None)


# --------------------------------------------------------------------------
# The JSONL framing (§ 7)


@pytest.mark.parametrize(
    "mutate,first",
    [
        (lambda d: d.replace(b"\n", b"\r\n"), "not-a-log"),
        (lambda d: b"\xef\xbb\xbf" + d, "not-a-log"),
        (lambda d: d.replace(b'"}\n', b'"} \n'), "not-a-log"),
        (lambda d: d.replace(b"\n", b"\n\n", 1), "malformed"),
        (lambda d: d.replace(b'"}\n', b'"}\r\n', 2).replace(b'"}\r\n', b'"}\n', 1), "malformed"),
        (lambda d: d.replace(b',"hash":"', b', "hash":"'), "not-a-log"),
    ],
    ids=["crlf", "bom", "trailing-space", "blank-line", "one-crlf", "space-before-hash"],
)
def test_jsonl_framing_variants_are_not_valid(tmp_path: Path, mutate: Callable[[bytes], bytes], first: str) -> None:
    b = build("jsonl", [ent(), ent(), ent()])
    p = write(tmp_path, "jsonl", mutate(b.data))
    r = evident.verify(p, all=True)
    assert not r.valid
    if first == "not-a-log":
        assert r.not_a_log
        if _cli() is not None:
            assert run("verify", p).returncode == 2
    else:
        assert [v.kind for v in r.violations][:1] == ["malformed"]
        if _cli() is not None:
            assert run("verify", p).returncode == 1


def test_uppercase_record_hash_is_malformed(tmp_path: Path) -> None:
    b = build("jsonl", [ent(), ent(), ent()])
    line = b.records[2]
    h = b.hashes[2].hex()
    b.records[2] = line.replace(h.encode(), h.upper().encode())
    p = write(tmp_path, "jsonl", b.data)
    assert_first(p, "malformed", None)


# --------------------------------------------------------------------------
# The genesis (§ 3)


@pytest.mark.parametrize(
    "mutate,outcome",
    [
        (lambda g: g.replace(b'"format":"evident"', b'"format":"\\u0065vident"'), "valid"),
        (lambda g: g.replace(b'"log_id"', b'"critical":[],"log_id"'), "valid"),
        (lambda g: g[:-1] + b',"x-later":{"a":1}}', "valid"),
        (lambda g: g.replace(b'"alg":"sha256"', b'"alg":"sha256","key_id":"0011223344556677"'), "valid"),
        (lambda g: g[:-1] + b',"alg":"hmac-sha256"}', "not-a-log"),
        (lambda g: g[:-1] + b',"log_id":"ffffffffffffffffffffffffffffffff"}', "not-a-log"),
        (lambda g: g[:-1] + b',"format":"evident"}', "not-a-log"),
        (lambda g: g[:-1] + b',"ts":"2026-03-01T09:00:00.000000Z"}', "not-a-log"),
        (lambda g: g.replace(b'"prev":"0', b'"prev":"1'), "not-a-log"),
        (lambda g: g.replace(b'"seq":0', b'"seq":1'), "not-a-log"),
        (lambda g: g.replace(b'"kind":"genesis"', b'"kind":"entry"'), "not-a-log"),
        (lambda g: g.replace(b"00.000000Z", b"00Z"), "not-a-log"),
        (lambda g: g.replace(b'"v":1', b'"v":2'), "unsupported"),
        (lambda g: g[:-1] + b',"v":2}', "unsupported"),
        (lambda g: g.replace(b'"log_id"', b'"critical":["x-mine"],"log_id"'), "unsupported"),
    ],
    ids=[
        "escaped-format", "empty-critical", "unknown-member", "key-id-in-keyless",
        "dup-alg", "dup-log-id", "dup-format", "dup-ts", "nonzero-prev", "seq-1", "kind-entry",
        "ts-seconds", "v2", "dup-v2", "critical",
    ],
)
def test_genesis_variants(tmp_path: Path, framing: str, mutate: Callable[[bytes], bytes], outcome: str) -> None:
    g = mutate(genesis())
    b = build(framing, [ent(), ent()], gen=g)
    p = write(tmp_path, framing, b.data)
    r = evident.verify(p, all=True)
    if outcome == "valid":
        assert r.valid, [(v.kind, v.message) for v in r.violations]
        assert_readers_agree(p, 2)
        return
    assert not r.valid
    kind = "unsupported" if outcome == "unsupported" else "malformed"
    want_pos = (0, 1, 0) if framing == "jsonl" else (0, 0, 16)
    assert [(v.kind, v.seq, v.line, v.offset) for v in r.violations] == [(kind, *want_pos)]
    assert r.not_a_log == (outcome == "not-a-log")
    with pytest.raises(evident.EvidentError):
        evident.read_entries(p)
    with pytest.raises(evident.EvidentError):
        evident.AuditLog(p).close()
    assert p.read_bytes() == b.data
    if _cli() is not None:
        assert run("verify", p).returncode == (2 if outcome == "not-a-log" else 1)
        assert run("cat", p).returncode != 0


def test_a_second_genesis_is_malformed_and_its_log_is_not_read_as_entries(tmp_path: Path, framing: str) -> None:
    a = build(framing, [ent(), ent()])
    other = build(framing, [ent(action="other")], gen=genesis(log_id="ff" * 16))
    data = a.data + b"".join(other.records)
    p = write(tmp_path, framing, data)
    vs = assert_first(p, "malformed", 0)
    assert vs[0][3] == a.offset(3)
    # The concatenated log's entry links to its own genesis: it is read
    # (as spec § 9.3 says) but the verifier has flagged the join.
    assert len(vs) == 1


# --------------------------------------------------------------------------
# Keys (§ 6, § 9.2 rule 4)


def test_keyed_log_forgeries(tmp_path: Path, framing: str, key_file: Path) -> None:
    good = build(framing, [ent(), ent(), ent()], key=KEY_A)
    p = write(tmp_path, framing, good.data, "good")
    assert_valid(p, 3, key=KEY_A)
    rc, doc = cli_verify(p, "--key-file", key_file) if _cli() else (0, {"valid": True})
    assert rc == 0 and doc["valid"]

    # Without the key, with a wrong one: wrong_key at the genesis, never valid.
    assert py_violations(p)[:1] == [("wrong_key", 0, 1 if framing == "jsonl" else 0, good.offset(0))]
    assert py_violations(p, key=KEY_B)[:1][0][:2] == ("wrong_key", 0)

    # An attacker without the key edits entry 2 and recomputes its SHA-256
    # (and, in binary, a CRC that matches the changed body).
    forged = build(framing, [ent(), ent(actor="mallory"), ent()], key=KEY_A)
    f = Built(framing, good.bodies, good.hashes, list(good.records))
    f.records[2] = framed(framing, forged.bodies[2], rhash(forged.bodies[2]))
    q = write(tmp_path, framing, f.data, "forged")
    assert_first(q, "hash_mismatch", 2, "--key-file", str(key_file), key=KEY_A)

    # Same, keeping the stored HMAC (only the body changed, same length).
    f.records[2] = framed(framing, good.bodies[2].replace(b"alice", b"alicf"), good.hashes[2])
    q.write_bytes(f.data)
    assert_first(q, "hash_mismatch", 2, "--key-file", str(key_file), key=KEY_A)

    # Downgrade: the whole log rewritten as a keyless SHA-256 log.
    down = build(framing, [ent(), ent(actor="mallory"), ent()], gen=genesis(log_id=LOG_ID))
    q.write_bytes(down.data)
    assert_first(q, "wrong_key", 0, "--key-file", str(key_file), key=KEY_A)

    # Re-keyed with the attacker's own key, key_id and all.
    rekeyed = build(framing, [ent(), ent(actor="mallory"), ent()], key=KEY_B)
    q.write_bytes(rekeyed.data)
    assert_first(q, "wrong_key", 0, "--key-file", str(key_file), key=KEY_A)

    # key_id removed, upper-cased, or of another key: the key names no key.
    kid = key_id(KEY_A).encode()
    for g in [
        genesis(KEY_A).replace(b',"key_id":"' + kid + b'"', b""),
        genesis(KEY_A).replace(kid, kid.upper()),
        genesis(KEY_A).replace(kid, key_id(KEY_B).encode()),
    ]:
        q.write_bytes(build(framing, [ent()], key=KEY_A, gen=g).data)
        assert_first(q, "wrong_key", 0, "--key-file", str(key_file), key=KEY_A)


def test_keyless_log_verified_with_a_key_is_wrong_key(tmp_path: Path, framing: str, key_file: Path) -> None:
    p = write(tmp_path, framing, build(framing, [ent()]).data)
    assert_first(p, "wrong_key", 0, "--key-file", str(key_file), key=KEY_A)


def test_hmac_sha512_with_32_byte_hashes_is_malformed(tmp_path: Path, framing: str) -> None:
    """A genesis naming hmac-sha512 stored with a 32-byte hash: the stored
    hash MUST have the length of alg (§ 3 rule 4)."""
    g = genesis(KEY_A, "hmac-sha512")
    data = (HEADER if framing == "binary" else b"") + framed(framing, g, rhash(g, KEY_A, "hmac-sha256"))
    p = write(tmp_path, framing, data)
    r = evident.verify(p, key=KEY_A)
    assert not r.valid and r.not_a_log


def test_record_with_a_hash_of_the_other_length_is_malformed(tmp_path: Path, framing: str) -> None:
    """§ 9.3: len(h) ≠ n of the log's alg → malformed, even when the body's
    prev has that length too and the hash is right for it."""
    b = build(framing, [ent(), ent()])
    # A prev of 128 hex digits, as long as the stored hash (else the record
    # is unreadable, § 2 rule 4, and has no seq).
    body = entry(3, b.hashes[2].hex() * 2)
    h64 = hashlib.sha512(body).digest()
    data = b.data + framed(framing, body, h64)
    p = write(tmp_path, framing, data)
    assert_first(p, "malformed", 3)


# --------------------------------------------------------------------------
# Records changed, swapped, removed, added (§ 9.3, § 9.6, § 15)


def test_record_changed_in_place_keeping_its_length(tmp_path: Path, framing: str) -> None:
    b = build(framing, [ent(), ent(), ent()])
    data = bytearray(b.data)
    at = b.offset(2) + b.records[2].find(b"alice")
    data[at : at + 5] = b"bobby"
    p = write(tmp_path, framing, bytes(data))
    if framing == "jsonl":
        assert_first(p, "hash_mismatch", 2)
    else:
        assert_first(p, "malformed", None)  # the CRC catches it first
        # With the CRC recomputed it is the hash that fails.
        rec = bytearray(b.records[2])
        rec[rec.find(b"alice") : rec.find(b"alice") + 5] = b"bobby"
        body_end = len(rec) - 8
        rec[body_end : body_end + 4] = struct.pack("<I", zlib.crc32(bytes(rec[:body_end])))
        b.records[2] = bytes(rec)
        p.write_bytes(b.data)
        assert_first(p, "hash_mismatch", 2)


def test_swapped_duplicated_and_deleted_records(tmp_path: Path, framing: str) -> None:
    b = build(framing, [ent(), ent(), ent(), ent()])
    r = b.records
    pre = HEADER if framing == "binary" else b""
    p = write(tmp_path, framing, pre + r[0] + r[1] + r[3] + r[2] + r[4])
    assert [v[:2] for v in py_violations(p)] == [("seq_gap", 3), ("seq_gap", 2), ("seq_gap", 4)]
    assert_first(p, "seq_gap", 3)
    p.write_bytes(pre + r[0] + r[1] + r[2] + r[2] + r[3] + r[4])
    assert_first(p, "seq_gap", 2)
    p.write_bytes(pre + r[0] + r[1] + r[3] + r[4])
    assert_first(p, "seq_gap", 3)
    # The last record written twice (a replay at the end).
    p.write_bytes(b.data + r[4])
    assert_first(p, "seq_gap", 4)


def test_chain_rewritten_from_an_entry(tmp_path: Path, framing: str) -> None:
    """Keyless: a changed prev with the hash recomputed is a chain_break
    there and at the next record; the whole rest rewritten is valid (§ 15)
    and only an expected head catches it."""
    b = build(framing, [ent(), ent(), ent()])
    other = build(framing, [ent(), ent(actor="mallory"), ent()])
    p = write(tmp_path, framing, other.data)
    assert_valid(p, 3)
    assert_first(p, "head_mismatch", 3, "--expect-head", b.head(), expected_head=(3, b.hashes[3].hex()))


def test_truncation_is_found_only_with_an_expected_head(tmp_path: Path, framing: str) -> None:
    b = build(framing, [ent(), ent(), ent()])
    cut = Built(framing, b.bodies[:3], b.hashes[:3], b.records[:3])
    p = write(tmp_path, framing, cut.data)
    assert_valid(p, 2)
    vs = assert_first(p, "head_mismatch", 2, "--expect-head", b.head(), expected_head=(3, b.hashes[3].hex()))
    assert vs == [("head_mismatch", 2, 0, len(cut.data))]
    # Down to the genesis alone.
    p.write_bytes(Built(framing, b.bodies[:1], b.hashes[:1], b.records[:1]).data)
    assert_valid(p, 0)
    assert_first(p, "head_mismatch", 0, "--expect-head", b.head(), expected_head=(3, b.hashes[3].hex()))
    # A longer log still contains the head (§ 9.6).
    p.write_bytes(b.data)
    r = evident.verify(p, expected_head=(1, b.hashes[1].hex()))
    assert r.valid


def test_replaced_log_is_found_by_its_log_id(tmp_path: Path, framing: str) -> None:
    other = build(framing, [ent()], gen=genesis(log_id="ff" * 16))
    p = write(tmp_path, framing, other.data)
    assert_first(p, "wrong_log_id", 0, "--expect-log-id", LOG_ID, expected_log_id=LOG_ID)
    assert evident.verify(p, expected_log_id=("FF" * 16)).valid  # ASCII case ignored


def test_records_of_a_later_kind(tmp_path: Path, framing: str) -> None:
    """§ 13.2: full members of the chain, checked, never returned as entries;
    verify's entry count is the readers' count."""

    def later(seq: int, prev: str) -> bytes:
        return entry(seq, prev).replace(b'"kind":"entry"', b'"kind":"checkpoint-x"')

    def entry_case(seq: int, prev: str) -> bytes:
        return entry(seq, prev).replace(b'"kind":"entry"', b'"kind":"Entry"')

    b = build(framing, [ent(), later, entry_case, ent()])
    p = write(tmp_path, framing, b.data)
    assert_valid(p, 2)
    got = assert_readers_agree(p, 2)
    assert [e["seq"] for e in got] == [1, 4]
    # Changed in place afterwards: still checked like any record.
    data = bytearray(b.data)
    at = b.offset(2) + b.records[2].find(b"alice")
    data[at] = ord("A")
    p.write_bytes(bytes(data))
    assert_first(p, "hash_mismatch" if framing == "jsonl" else "malformed", 2 if framing == "jsonl" else None)


def test_mixed_framings_are_never_valid(tmp_path: Path, framing: str) -> None:
    b = build(framing, [ent(), ent()])
    other = "binary" if framing == "jsonl" else "jsonl"
    extra = build(other, [ent()])
    # The next record, correctly linked, in the other framing.
    body = entry(3, b.hashes[2].hex())
    p = write(tmp_path, framing, b.data + framed(other, body, rhash(body)) + framed(framing, entry(4, rhash(body).hex()), rhash(entry(4, rhash(body).hex()))))
    r = evident.verify(p, all=True)
    assert not r.valid
    assert r.violations[0].kind == "malformed"
    assert extra.data  # built without error in both framings


# --------------------------------------------------------------------------
# The binary framing (§ 8)


def _crc_fixed(f: bytes) -> bytes:
    body_end = len(f) - 8
    return f[:body_end] + struct.pack("<I", zlib.crc32(f[:body_end])) + f[body_end + 4 :]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda f: _crc_fixed(f[:6] + b"\x01\x00" + f[8:]),  # frame flags, CRC right
        lambda f: f[:-4] + struct.pack("<I", len(f) + 1),  # frame_len
        lambda f: _crc_fixed(struct.pack("<I", struct.unpack("<I", f[:4])[0] - 1) + f[4:]),  # body_len
        lambda f: _crc_fixed(f[:4] + struct.pack("<H", 64) + f[6:]),  # hash_len
        lambda f: struct.pack("<I", 0xFFFFFFFF) + f[4:],
        lambda f: f[:8] + b" " + f[9:],  # body starts with a space
    ],
    ids=["flags", "frame-len", "body-len", "hash-len", "len-max", "leading-space"],
)
def test_binary_frame_fields(tmp_path: Path, mutate: Callable[[bytes], bytes]) -> None:
    b = build("binary", [ent(), ent(), ent()])
    b.records[2] = mutate(b.records[2])
    p = write(tmp_path, "binary", b.data)
    vs = assert_first(p, "malformed", None)
    assert vs[0][3] == b.offset(2)


def test_binary_body_with_a_line_feed_verifies_as_malformed(tmp_path: Path) -> None:
    """A body that no JSONL line can hold (whitespace LF between tokens) is
    unreadable (§ 2 rule 4), even with hash and CRC right."""
    b = build("binary", [ent(), ent(' ,\n"details":{}'), ent()])
    p = write(tmp_path, "binary", b.data)
    assert_first(p, "malformed", None)


@pytest.mark.parametrize("header", [MAGIC + struct.pack("<II", 2, 0), MAGIC + struct.pack("<II", 1, 1)])
def test_binary_header_changes_are_unsupported(tmp_path: Path, header: bytes) -> None:
    b = build("binary", [ent()])
    p = write(tmp_path, "binary", header + b"".join(b.records))
    assert py_violations(p) == [("unsupported", 0, 0, 0)]


def test_zero_padding_between_frames_is_damage(tmp_path: Path) -> None:
    b = build("binary", [ent(), ent(), ent()])
    b.records[1] = b.records[1] + b"\0" * 64
    p = write(tmp_path, "binary", b.data)
    vs = assert_first(p, "malformed", None)
    assert vs[0][3] == b.offset(2) - 64


# --------------------------------------------------------------------------
# Damaged middle vs damaged tail: what readers and a writer's open do
# (§ 9.5, § 10.3).


def _written(tmp_path: Path, framing: str, n: int = 4) -> Path:
    p = tmp_path / ("w.jsonl" if framing == "jsonl" else "w.evl")
    with evident.AuditLog(p) as lg:
        for i in range(n):
            lg.log("E", f"act{i}", details={"i": i})
    return p


def test_open_never_repairs_a_damaged_middle(tmp_path: Path, framing: str) -> None:
    p = _written(tmp_path, framing)
    data = bytearray(p.read_bytes())
    at = data.find(b"act1")
    data[at + 3] ^= 1
    p.write_bytes(bytes(data))
    before = py_violations(p)
    assert before and before[0][0] in ("hash_mismatch", "malformed")
    with evident.AuditLog(p) as lg:
        assert lg.recovery.torn == []
        lg.log("E", "after")
    after = p.read_bytes()
    assert after[: len(data)] == bytes(data)  # nothing before the end changed
    assert py_violations(p) == before
    assert not list(tmp_path.glob("*.torn-*"))


@pytest.mark.parametrize("lock", [True, False], ids=["synced-length", "no-lock-file"])
def test_torn_tail_is_moved_aside_whole(tmp_path: Path, framing: str, lock: bool) -> None:
    p = _written(tmp_path, framing)
    if not lock:
        os.remove(str(p) + ".lock")
    full = p.read_bytes()
    cut = full[:-7]
    p.write_bytes(cut)
    start = max(full.rfind(b'\n{"v"') + 1, 0) if framing == "jsonl" else len(full) - struct.unpack("<I", full[-4:])[0]
    r = evident.verify(p)
    assert [(v.kind, v.seq, v.offset) for v in r.violations] == [("torn_tail", None, start)]
    # No reader shows the torn record.
    assert [e.seq for e in evident.read_entries(p)] == [1, 2, 3]
    assert [e.seq for e in evident.read_entries(p, Query(newest_first=True, limit=9))] == [3, 2, 1]
    with evident.AuditLog(p) as lg:
        torn = lg.recovery.torn
    assert len(torn) == 1 and torn[0].offset == start
    assert Path(torn[0].sidecar).read_bytes() == cut[start:]
    assert p.read_bytes()[:start] == cut[:start]


@pytest.mark.parametrize(
    "tail",
    [b"garbage\n", b"garbage!garbage!", "last-changed"],
    ids=["garbage-line", "garbage-bytes", "last-record-changed"],
)
def test_open_refuses_a_damaged_end_and_changes_nothing(tmp_path: Path, framing: str, tail: Any) -> None:
    if framing == "jsonl" and tail == b"garbage!garbage!":
        pytest.skip("bytes without a LF at the end of a JSONL log are a record prefix (§ 9.5)")
    p = _written(tmp_path, framing)
    os.remove(str(p) + ".lock")  # no synced length: § 10.3 case B
    data = bytearray(p.read_bytes())
    if tail == "last-changed":
        at = data.rfind(b"act3")
        data[at + 3] ^= 1
    else:
        data += tail
    p.write_bytes(bytes(data))
    with pytest.raises(evident.CorruptLogError):
        evident.AuditLog(p)
    assert p.read_bytes() == bytes(data)
    assert not list(tmp_path.glob("*.torn-*"))
    assert not evident.verify(p).valid


def test_complete_json_without_its_line_feed_is_never_a_record(tmp_path: Path) -> None:
    """§ 7: bytes after the last LF are never a record, even a complete,
    correctly linked and hashed JSON object."""
    b = build("jsonl", [ent(), ent(), ent()])
    p = write(tmp_path, "jsonl", b.data[:-1])
    r = evident.verify(p)
    assert [(v.kind, v.offset) for v in r.violations] == [("torn_tail", b.offset(3))]
    assert r.entries == 2
    assert [e.seq for e in evident.read_entries(p)] == [1, 2]
    assert [e.seq for e in evident.read_entries(p, Query(newest_first=True, limit=5))] == [2, 1]
    if _cli() is not None:
        for args in (["cat", p, "--json"], ["tail", p, "--json"]):
            out = lines(run(*args).stdout)
            assert [json.loads(x)["seq"] for x in out] == [1, 2], args


# --------------------------------------------------------------------------
# Forward and backward readers of a crafted binary region (§ 8 rule 3)


def _overlapping_frames() -> Tuple[bytes, int]:
    """A binary log where entry 3 (actor alice) is a valid frame G1, and a
    second valid frame G2 (entry 3 again, actor mallory, correctly hashed)
    starts at G1's 4-byte frame_len: G2's body_len is G1's frame_len, its
    hash_len and flags follow G1, and it ends exactly where entry 4 (linked
    to G2) starts. Read forward (§ 8 rule 3: frame after frame from offset
    16), the log holds G1, then damaged bytes (G2 without its first four
    bytes), then entry 4; G2 is not a record of the log. Returns the bytes
    and the offset where forward reading finds the damage."""
    g = genesis()
    hs = [rhash(g)]
    frames = [frame(g, hs[0])]
    for seq in (1, 2):
        b = entry(seq, hs[-1].hex())
        hs.append(rhash(b))
        frames.append(frame(b, hs[-1]))
    g1 = entry(3, hs[2].hex(), actor="alice")
    f1 = frame(g1, rhash(g1))
    base = entry(3, hs[2].hex(), ',"details":{"pad":""}', actor="mallory")
    g2 = entry(3, hs[2].hex(), ',"details":{"pad":"' + "x" * (len(f1) - len(base)) + '"}', actor="mallory")
    assert len(g2) == len(f1)
    f2 = frame(g2, rhash(g2))
    assert f2[:4] == f1[-4:]
    e4 = entry(4, rhash(g2).hex())
    data = HEADER + b"".join(frames) + f1 + f2[4:] + frame(e4, rhash(e4))
    return data, len(HEADER) + sum(map(len, frames)) + len(f1)


def test_overlapping_frames_are_damage_for_the_verifier(tmp_path: Path) -> None:
    data, damage_at = _overlapping_frames()
    p = write(tmp_path, "binary", data)
    assert_first(p, "malformed", None)
    assert py_violations(p) == [("malformed", None, 0, damage_at)]
    # Forward readers show G1 (alice) as entry 3 and report the damage.
    with pytest.raises(evident.MalformedLogError):
        evident.read_entries(p)
    if _cli() is not None:
        r = run("cat", p, "--json")
        assert r.returncode == 1
        assert [json.loads(x)["actor"] for x in lines(r.stdout)] == ["alice"] * 4


def test_backward_readers_do_not_show_a_frame_the_forward_walk_never_reads(tmp_path: Path) -> None:
    """Backward reading (evident tail, cat --newest-first, read_last, the
    writer's walk back) took G2, a valid frame ending where entry 4 starts,
    without seeing that G1 overlaps its start: it showed mallory as entry 3,
    and tail -n 2 reported no damage (exit 0)."""
    data, damage_at = _overlapping_frames()
    p = write(tmp_path, "binary", data)
    with pytest.raises(evident.MalformedLogError, match=f"byte offset {damage_at}"):
        evident.read_entries(p, Query(newest_first=True, limit=2))
    if _cli() is not None:
        for args in (["tail", p, "-n", "2", "--json"], ["cat", p, "--newest-first", "--json"]):
            r = run(*args)
            assert r.returncode == 1, args
            assert f"byte offset {damage_at}".encode() in r.stderr
            shown = [json.loads(x) for x in lines(r.stdout)]
            assert shown and all(e["actor"] == "alice" for e in shown), (args, shown)
        r = run("tail", p, "-n", "2", "--json")
        assert [json.loads(x)["seq"] for x in lines(r.stdout)] == [3, 4]


# --------------------------------------------------------------------------
# Record times at the edges of § 5.3 (years 0000-9999, leap seconds)

EDGE_TS = [
    "2026-03-01T23:59:60.500000Z",
    "2024-02-29T00:00:00.000000Z",
    "0000-01-01T00:00:00.000000Z",
    "9999-12-31T23:59:60.999999Z",
]


def test_edge_times_verify_and_every_reader_shows_the_text(tmp_path: Path, framing: str) -> None:
    b = build(framing, [ent(ts=t) for t in EDGE_TS])
    p = write(tmp_path, framing, b.data)
    assert_valid(p, len(EDGE_TS))
    got = assert_readers_agree(p, len(EDGE_TS))
    assert [e["ts"] for e in got] == EDGE_TS


def test_python_entry_times_beyond_datetime_are_a_clear_error_not_a_failed_read(
    tmp_path: Path,
) -> None:
    """Python's datetime has no year 0 nor a time after 9999-12-31T23:59:59.999999,
    which spec § 5.3 allows: reading such records never fails (§ 2); the text is
    there (``record()``, ``repr``, equality) and ``Entry.ts`` / ``to_pandas()`` raise
    UnsupportedError naming the entry and its time (README, Reading)."""
    b = build("jsonl", [ent(ts=t) for t in EDGE_TS])
    p = write(tmp_path, "jsonl", b.data)
    entries = evident.read_entries(p)
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert [e.record()["ts"] for e in entries] == EDGE_TS
    assert [e.ts.year for e in entries[:2]] == [2026, 2024]
    for e in entries[2:]:
        with pytest.raises(evident.UnsupportedError) as info:
            e.ts
        assert f"seq {e.seq}" in str(info.value) and e.record()["ts"] in str(info.value)
        assert e.record()["ts"] in repr(e)
        assert e == evident.read_entries(p)[e.seq - 1]
    assert entries[2] != entries[3]
    try:
        import pandas  # noqa: F401
    except ImportError:
        return
    with pytest.raises(evident.UnsupportedError, match="seq 3"):
        entries.to_pandas()
    assert list(evident.read_entries(p, Query(seq_max=2)).to_pandas()["seq"]) == [1, 2]


# --------------------------------------------------------------------------
# MAX_BODY (§ 12) and standard input


@pytest.mark.parametrize("extra", [0, 1], ids=["max-body", "one-byte-more"])
def test_max_body_boundary_in_every_reader(tmp_path: Path, framing: str, extra: int) -> None:
    max_body = 16_777_216

    def big(seq: int, prev: str) -> bytes:
        b = entry(seq, prev, ',"details":"PAD"')
        return b.replace(b"PAD", b"x" * (max_body + extra - (len(b) - 3)))

    b = build(framing, [big, ent()])
    assert len(b.bodies[1]) == max_body + extra
    p = write(tmp_path, framing, b.data)
    if extra == 0:
        assert_valid(p, 2)
        assert [e.seq for e in evident.read_entries(p)] == [1, 2]
        assert [e.seq for e in evident.read_entries(p, Query(newest_first=True, limit=2))] == [2, 1]
        if _cli() is not None:
            r = run("tail", p, "-n", "2", "--json")
            assert r.returncode == 0 and [json.loads(x)["seq"] for x in lines(r.stdout)] == [1, 2]
    else:
        assert_first(p, "malformed", None)
        with pytest.raises(evident.MalformedLogError):
            evident.read_entries(p)
        with pytest.raises(evident.MalformedLogError):
            evident.read_entries(p, Query(newest_first=True, limit=2))
        if _cli() is not None:
            r = run("tail", p, "-n", "2", "--json")
            assert r.returncode == 1 and [json.loads(x)["seq"] for x in lines(r.stdout)] == [2]


@needs_cli
def test_verify_of_standard_input_is_the_verify_of_the_file(tmp_path: Path, framing: str) -> None:
    b = build(framing, [ent(), ent(), ent()])
    data = bytearray(b.data)
    at = b.offset(2) + b.records[2].find(b"alice")
    data[at] = ord("A")
    p = write(tmp_path, framing, bytes(data))
    cli = _cli()
    assert cli is not None
    r = subprocess.run([cli, "verify", "-", "--json", "--all"], input=bytes(data), capture_output=True, timeout=60)
    rc, doc = cli_verify(p)
    assert r.returncode == rc == 1
    assert json.loads(r.stdout)["violations"] == doc["violations"]


def _force_crc(data: bytearray, pos: int, target: int) -> None:
    """Sets data[pos:pos+4] so that the CRC-32 of data is ``target`` (the
    CRC is affine in those 32 bits: solve over GF(2))."""
    data[pos : pos + 4] = bytes(4)
    base = zlib.crc32(bytes(data))
    basis: Dict[int, Tuple[int, int]] = {}
    for bit in range(32):
        d = bytearray(data)
        d[pos + bit // 8] ^= 1 << (bit % 8)
        v, m = zlib.crc32(bytes(d)) ^ base, 1 << bit
        for b in range(31, -1, -1):
            if (v >> b) & 1:
                if b not in basis:
                    basis[b] = (v, m)
                    break
                v, m = v ^ basis[b][0], m ^ basis[b][1]
    x, v = 0, base ^ target
    for b in range(31, -1, -1):
        if (v >> b) & 1:
            v, x = v ^ basis[b][0], x ^ basis[b][1]
    data[pos : pos + 4] = x.to_bytes(4, "little")
    assert zlib.crc32(bytes(data)) == target


def test_backward_readers_and_a_frame_hidden_inside_an_unreadable_frame(tmp_path: Path) -> None:
    """The general case: a valid (CRC-correct) frame P with an unreadable
    body that contains a whole readable frame F (entry 3, mallory) and ends
    inside F's hash, where F's hash bytes are P's length trailer (F ground
    until a hash byte is 0) and P's CRC is forced to F's bytes. Reading
    forward, P is read (malformed) and F never is; reading backward must
    not show F."""
    g = genesis()
    hs = [rhash(g)]
    data = bytearray(HEADER + frame(g, hs[0]))
    for seq in (1, 2):
        b = entry(seq, hs[-1].hex())
        hs.append(rhash(b))
        data += frame(b, hs[-1])
    for nonce in range(100_000):
        body = entry(3, hs[2].hex(), f',"details":{{"n":{nonce}}}', actor="mallory")
        h = rhash(body)
        js = [j for j in range(3, 32) if h[j] == 0 and 400 < int.from_bytes(h[j - 3 : j + 1], "little") <= 4_000_000]
        if js:
            break
    j = js[0]
    n = int.from_bytes(h[j - 3 : j + 1], "little")
    f = frame(body, h)
    p_start = len(data)
    f_start = p_start + n - (8 + len(body) + j + 1)
    region = bytearray(b"x" * (f_start - p_start)) + f
    region[0:8] = struct.pack("<IHH", n - 16 - 32, 32, 0)
    head = region[: n - 8]
    _force_crc(head, 8, int.from_bytes(bytes(region[n - 8 : n - 4]), "little"))
    region[: n - 8] = head
    assert bytes(region[f_start - p_start :]) == f
    e4 = entry(4, h.hex())
    data += region + frame(e4, rhash(e4))
    p = write(tmp_path, "binary", bytes(data))
    assert [(v.kind, v.offset) for v in evident.verify(p, all=True).violations] == [
        ("malformed", p_start),
        ("malformed", p_start + n),
    ]
    with pytest.raises(evident.MalformedLogError):
        evident.read_entries(p, Query(newest_first=True, limit=2))
    if _cli() is not None:
        r = run("tail", p, "-n", "2", "--json")
        assert r.returncode == 1
        assert b"mallory" not in r.stdout
        r = run("cat", p, "--json")
        assert b"mallory" not in r.stdout
