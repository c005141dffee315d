//! Tamper and damage tests: every single-bit flip of a small log; deleted,
//! inserted, reordered and duplicated entries; garbage and zeroed sectors;
//! impossible binary length fields; huge JSONL lines; wrong keys and log
//! ids; and what query returns from damaged files.
//!
//! Expectations follow `spec/format.md` § 9 (verification) and § 10.3 (tail
//! recovery on open). They are exact: the kind, seq, line and offset of
//! every violation, the entry count, and what open keeps, moves aside or
//! refuses. A counting global allocator checks that no damaged length field
//! or line makes a reader allocate more than `MAX_BODY` plus a few MiB.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs;
use std::path::Path;

use evident::format::{self, MAX_BODY};
use evident::{
    query, verify, Chain, Entry, Error, Event, ExpectedHead, Framing, Hash, HashAlg, Log, Order,
    Query, Repair, VerifyOptions, VerifyReport, Violation, ViolationKind,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use support::*;

use ViolationKind::{
    ChainBreak, HashMismatch, HeadMismatch, Malformed, SeqGap, TornTail, Unsupported, WrongKey,
    WrongLogId,
};

// ---------------------------------------------------------------------------
// Counting allocator: the largest single allocation of the current thread.

struct PeakAlloc;

#[path = "support/peak_slot.rs"]
mod peak_slot;

fn note(size: usize) {
    if size > peak_slot::get() {
        peak_slot::set(size);
    }
}

unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note(l.size());
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note(l.size());
        System.alloc_zeroed(l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        note(new);
        System.realloc(p, l, new)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
}

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// Largest single allocation a reader may make on damaged input.
const ALLOC_LIMIT: usize = MAX_BODY + 8 * 1024 * 1024;

/// Runs `f` and returns its result with the largest single allocation it
/// made on this thread (readers run with `threads: 1`).
fn peak<T>(f: impl FnOnce() -> T) -> (T, usize) {
    peak_slot::set(0);
    let r = f();
    (r, peak_slot::get())
}

fn assert_small_allocs<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let (r, p) = peak(f);
    assert!(
        p <= ALLOC_LIMIT,
        "{what}: allocated {p} bytes at once (limit {ALLOC_LIMIT})"
    );
    r
}

// ---------------------------------------------------------------------------
// Expected violations.

/// An expected violation: kind, seq, line, offset.
type V = (ViolationKind, Option<u64>, u64, u64);

fn got(r: &VerifyReport) -> Vec<V> {
    r.violations
        .iter()
        .map(|v| (v.kind, v.seq, v.line, v.offset))
        .collect()
}

fn verify_all(path: &Path, opts: &VerifyOptions) -> VerifyReport {
    verify(path, &opts.clone().all(true)).unwrap()
}

/// Checks the full report (all: true) and the first-only report.
fn assert_report(path: &Path, opts: &VerifyOptions, want: &[V], entries: u64, ctx: &str) {
    let r = verify_all(path, opts);
    assert_eq!(got(&r), want, "{ctx}: {}", describe(&r));
    assert_eq!(r.valid, want.is_empty(), "{ctx}");
    assert_eq!(r.violations_total, want.len() as u64, "{ctx}");
    assert_eq!(r.entries, entries, "{ctx}: entries");
    let first = verify(path, &opts.clone().all(false)).unwrap();
    assert_eq!(
        got(&first),
        want.iter().take(1).copied().collect::<Vec<_>>()
    );
    for v in &r.violations {
        check_message(v, path, ctx);
    }
}

/// A violation's message is one readable line.
fn check_message(v: &Violation, _path: &Path, ctx: &str) {
    assert!(!v.message.is_empty(), "{ctx}");
    assert!(!v.message.contains('\n'), "{ctx}: {:?}", v.message);
}

// ---------------------------------------------------------------------------
// An independent reader of record bodies (spec § 2 rule 4, § 3, § 7): what
// a verifier must accept as a readable record.

/// A JSON object's members in order, duplicates kept.
struct Members(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis;
        impl<'de> serde::de::Visitor<'de> for Vis {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Members, A::Error> {
                let mut v = Vec::new();
                while let Some(e) = a.next_entry::<String, Value>()? {
                    v.push(e);
                }
                Ok(Members(v))
            }
        }
        d.deserialize_map(Vis)
    }
}

impl Members {
    /// The member `name` when it occurs exactly once.
    fn one(&self, name: &str) -> Option<&Value> {
        let mut it = self.0.iter().filter(|(k, _)| k == name);
        let first = it.next().map(|(_, v)| v);
        if it.next().is_some() {
            None
        } else {
            first
        }
    }
}

fn is_lower_hex(s: &[u8]) -> bool {
    s.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// A readable record: members, seq, prev, kind, stored hash (hex).
struct Readable {
    m: Members,
    seq: u64,
    prev: String,
    kind: String,
    hash: String,
}

/// Splits a JSONL line's content (spec § 7) and reads its body (§ 2 rule 4).
fn read_jsonl(content: &[u8]) -> Option<Readable> {
    let rest = content.strip_suffix(b"\"}")?;
    let mut found = None;
    for n in [64usize, 128] {
        if rest.len() < n {
            continue;
        }
        let (before, hex) = rest.split_at(rest.len() - n);
        if let Some(head) = before.strip_suffix(b",\"hash\":\"") {
            if is_lower_hex(hex) && head.first() == Some(&b'{') {
                found = Some(String::from_utf8(hex.to_vec()).unwrap());
            }
            break;
        }
    }
    let hash = found?;
    let m: Members = serde_json::from_slice(content).ok()?;
    read_members(m, hash)
}

fn read_members(m: Members, hash: String) -> Option<Readable> {
    let v = m.one("v")?.as_u64()?;
    if v == 0 || v > u32::MAX as u64 {
        return None;
    }
    let seq = m.one("seq")?.as_u64()?;
    let prev = m.one("prev")?.as_str()?.to_string();
    let kind = m.one("kind")?.as_str()?.to_string();
    if !(prev.len() == 64 || prev.len() == 128) || !is_lower_hex(prev.as_bytes()) {
        return None;
    }
    if prev.len() != hash.len() {
        return None;
    }
    Some(Readable {
        m,
        seq,
        prev,
        kind,
        hash,
    })
}

/// What a verifier must report about a JSONL genesis line (spec § 3, § 9.2)
/// that differs from the original in one byte. Returns the allowed kinds
/// (several only for a damaged `ts`, whose RFC 3339 reading is left to the
/// implementation's date parser).
fn genesis_kinds(cfg: Cfg, content: &[u8]) -> Vec<ViolationKind> {
    let Some(m) = serde_json::from_slice::<Members>(content).ok() else {
        return vec![Malformed];
    };
    if let Some(v) = m.one("v").and_then(Value::as_u64) {
        if v > 1 {
            // Only if the rest is a readable genesis would an implementation
            // that checks the version last agree; one flip changes one thing.
            return vec![Unsupported];
        }
    }
    let Some(r) = read_jsonl(content) else {
        return vec![Malformed];
    };
    let s = |name: &str| r.m.one(name).and_then(Value::as_str);
    let ok = r.kind == "genesis"
        && r.seq == 0
        && s("format") == Some("evident")
        && s("alg") == Some(cfg.alg.name())
        && s("log_id").is_some()
        && r.prev.bytes().all(|c| c == b'0')
        && r.hash.len() == cfg.hex_len()
        && r.m.one("key_id").is_none_or(Value::is_string)
        && r.m.one("critical").is_none();
    if !ok {
        return vec![Malformed];
    }
    let key_ok = !cfg.alg.is_keyed() || s("key_id") == Some(key().key_id().as_str());
    let ts = s("ts");
    // Spec § 5.3: exactly YYYY-MM-DDTHH:MM:SS.ffffffZ, a real date and time.
    let ts_ok = ts.is_some_and(|t| {
        t.len() == 27
            && t.bytes().enumerate().all(|(i, c)| match i {
                4 | 7 => c == b'-',
                10 => c == b'T',
                13 | 16 => c == b':',
                19 => c == b'.',
                26 => c == b'Z',
                _ => c.is_ascii_digit(),
            })
            && chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.6fZ").is_ok()
    });
    let after_ts = if key_ok { HashMismatch } else { WrongKey };
    if ts_ok {
        vec![after_ts]
    } else {
        vec![Malformed]
    }
}

// ---------------------------------------------------------------------------
// Bit flips.

/// What verify and open must say about one flipped bit.
struct FlipExpect {
    /// Allowed violation lists (all: true); usually exactly one.
    reports: Vec<Vec<V>>,
    /// Entry count (None: not asserted).
    entries: Option<u64>,
    open: OpenExpect,
}

#[derive(Debug, Clone, PartialEq)]
enum OpenExpect {
    /// Opens with this head and no torn tail.
    Head(usize),
    /// Refuses with the error matching the genesis violation.
    GenesisError,
    /// Refuses with Corrupt at this record.
    Corrupt(usize),
}

fn expect_flip(b: &Built, m: &[u8], pos: usize) -> FlipExpect {
    let cfg = b.cfg;
    let n = b.n();
    let line = |k: usize| cfg.line_of(k);
    match cfg.framing {
        Framing::Binary => {
            if pos < 16 {
                // Magic (no framing: malformed), version and header flags
                // (unsupported): one violation at offset 0, line 0 or 1.
                let kind = if pos < 8 { Malformed } else { Unsupported };
                let line = if pos < 8 { 1 } else { 0 };
                return FlipExpect {
                    reports: vec![vec![(kind, Some(0), line, 0)]],
                    entries: Some(0),
                    open: OpenExpect::GenesisError,
                };
            }
            let k = b.record_at(pos as u64);
            if k == 0 {
                // CRC-32 detects every single-bit error in the genesis frame.
                return FlipExpect {
                    reports: vec![vec![(Malformed, Some(0), 0, 16)]],
                    entries: Some(0),
                    open: OpenExpect::GenesisError,
                };
            }
            // Any flip in frame k makes it unreadable (length fields out
            // of range or pointing elsewhere, CRC, flags or frame_len). In
            // the last frame too: a complete frame that fails its check is
            // damage, not a torn write (spec § 9.5), and open refuses.
            let open = if k == n {
                OpenExpect::Corrupt(n)
            } else {
                OpenExpect::Head(n)
            };
            FlipExpect {
                reports: vec![vec![(Malformed, None, 0, b.start(k))]],
                entries: Some(n as u64 - 1),
                open,
            }
        }
        Framing::Jsonl => {
            let k = b.record_at(pos as u64);
            let lf_flipped = b.bytes[pos] == b'\n';
            let lf_made = m[pos] == b'\n';
            if k == 0 {
                let content = &m[..b.end(0) as usize - 1];
                let kinds = if lf_flipped || lf_made {
                    vec![Malformed]
                } else {
                    genesis_kinds(cfg, content)
                };
                let in_hash =
                    pos >= b.end(0) as usize - 3 - cfg.hex_len() && pos < b.end(0) as usize - 3;
                let reports = kinds
                    .iter()
                    .map(|&kind| {
                        let mut r = vec![(kind, Some(0), 1, 0)];
                        if kind == HashMismatch && in_hash {
                            // The chain goes on from the stored hash, which
                            // entry 1 does not name.
                            r.push((ChainBreak, Some(1), line(1), b.start(1)));
                        }
                        r
                    })
                    .collect();
                return FlipExpect {
                    reports,
                    entries: None,
                    open: OpenExpect::GenesisError,
                };
            }
            let at = |kind, seq| (kind, seq, line(k), b.start(k));
            let readable = if lf_flipped || lf_made {
                None
            } else {
                read_jsonl(&m[b.start(k) as usize..b.end(k) as usize - 1])
            };
            match readable {
                None => {
                    // Unreadable. When it reaches the end of the file (the
                    // last record, or the one before whose LF was flipped,
                    // merged with the last) it is damage at the end, not a
                    // torn write (spec § 9.5): open refuses.
                    let to_end = k == n || (k == n - 1 && lf_flipped);
                    let mut r = vec![at(Malformed, None)];
                    let mut entries = n as u64 - 1;
                    if lf_made {
                        // Two unreadable lines; later lines shift by one.
                        r.push((Malformed, None, line(k) + 1, pos as u64 + 1));
                    }
                    if lf_flipped && k < n {
                        entries -= 1; // two records merged into one line
                    }
                    FlipExpect {
                        reports: vec![r],
                        entries: Some(entries),
                        open: if to_end {
                            OpenExpect::Corrupt(k)
                        } else {
                            OpenExpect::Head(n)
                        },
                    }
                }
                Some(r) => {
                    // Readable: the first failing check of spec § 9.3.
                    let in_hash =
                        pos >= b.end(k) as usize - 3 - cfg.hex_len() && pos < b.end(k) as usize - 3;
                    let mut want = Vec::new();
                    if r.kind == "genesis" {
                        want.push(at(Malformed, Some(r.seq)));
                    } else if r.seq != k as u64 {
                        want.push(at(SeqGap, Some(r.seq)));
                        if k < n {
                            want.push((SeqGap, Some(k as u64 + 1), line(k + 1), b.start(k + 1)));
                        }
                    } else if r.prev != b.heads[k - 1].to_hex() {
                        want.push(at(ChainBreak, Some(k as u64)));
                    } else {
                        want.push(at(HashMismatch, Some(k as u64)));
                        if in_hash && k < n {
                            want.push((
                                ChainBreak,
                                Some(k as u64 + 1),
                                line(k + 1),
                                b.start(k + 1),
                            ));
                        }
                    }
                    let entries = n as u64 - u64::from(r.kind != "entry");
                    // Open checks the last record's link to the one before
                    // it (spec § 10.3): a changed seq or stored hash of the
                    // record before the last is refused at the last.
                    let open = if k == n || (k == n - 1 && (r.seq != k as u64 || in_hash)) {
                        OpenExpect::Corrupt(n)
                    } else {
                        OpenExpect::Head(n)
                    };
                    FlipExpect {
                        reports: vec![want],
                        entries: Some(entries),
                        open,
                    }
                }
            }
        }
    }
}

/// Checks one flipped bit. `sampled` adds the first-violation-only report
/// and (binary) query in both orders, which are checked for a share of the
/// flips to keep the run short.
fn check_flip(b: &Built, dir: &Path, pos: usize, bit: u8, sampled: bool) {
    let cfg = b.cfg;
    let ctx = format!(
        "{cfg:?}: bit {bit} of byte {pos} ({:?} -> {:?}) in {}",
        b.bytes[pos] as char,
        (b.bytes[pos] ^ (1 << bit)) as char,
        if (pos as u64) < b.start(0) {
            "the file header".to_string()
        } else {
            format!("record {}", b.record_at(pos as u64))
        }
    );
    let mut m = b.bytes.clone();
    m[pos] ^= 1 << bit;
    let exp = expect_flip(b, &m, pos);
    let path = write_case(dir, cfg.file_name(), &m);

    let r = verify_all(&path, &cfg.verify_opts());
    let g = got(&r);
    assert!(
        exp.reports.contains(&g),
        "{ctx}: expected one of {:?}, got {}",
        exp.reports,
        describe(&r)
    );
    assert!(!r.valid, "{ctx}");
    if let Some(e) = exp.entries {
        assert_eq!(r.entries, e, "{ctx}: entries");
    }
    if sampled {
        let first = verify(&path, &cfg.verify_opts()).unwrap();
        assert_eq!(got(&first), g[..1], "{ctx}: first violation");
    }

    let opened = Log::open(&path, cfg.open_opts());
    match (&exp.open, opened) {
        (OpenExpect::Head(h), Ok(log)) => {
            assert_eq!(log.head(), b.head(*h), "{ctx}: head");
            assert!(log.recovery().torn.is_empty(), "{ctx}: nothing moved");
            drop(log);
            assert_eq!(fs::read(&path).unwrap(), m, "{ctx}: file untouched");
        }
        (OpenExpect::Corrupt(k), Err(e @ Error::Corrupt { .. })) => {
            let Error::Corrupt { at, .. } = &e else {
                unreachable!()
            };
            assert_eq!(at.offset, b.start(*k), "{ctx}");
            // One line naming the file and the entry.
            let msg = e.to_string();
            assert!(msg.contains(&path.display().to_string()), "{ctx}: {msg}");
            assert!(msg.contains("entry seq"), "{ctx}: {msg}");
            assert!(!msg.contains('\n'), "{ctx}: {msg}");
            assert_eq!(fs::read(&path).unwrap(), m, "{ctx}: file untouched");
        }
        (OpenExpect::GenesisError, Err(e)) => {
            let msg = e.to_string();
            assert!(msg.contains(&path.display().to_string()), "{ctx}: {msg}");
            assert!(!msg.contains('\n'), "{ctx}: {msg}");
            let want = match g[0].0 {
                Malformed => "malformed",
                Unsupported => "unsupported",
                WrongKey => "wrong_key",
                HashMismatch => "corrupt",
                other => panic!("{ctx}: genesis violation {other:?}"),
            };
            assert_eq!(e.kind_name(), want, "{ctx}: {e}");
            assert_eq!(fs::read(&path).unwrap(), m, "{ctx}: file untouched");
            assert!(sidecars(&path).is_empty());
        }
        (want, Ok(log)) => panic!(
            "{ctx}: open should give {want:?}, opened with head {:?}, torn {:?}",
            log.head(),
            log.recovery().torn
        ),
        (want, Err(e)) => panic!("{ctx}: open should give {want:?}, got {e:?}"),
    }

    if cfg.framing == Framing::Binary && pos >= b.end(0) as usize && sampled {
        // Query: every intact entry and one error for the damaged frame,
        // the last one too (a flipped bit never makes a torn write, spec
        // § 9.5); in both orders.
        let k = b.record_at(pos as u64);
        let n = b.n();
        for order in [Order::OldestFirst, Order::NewestFirst] {
            let items = read_items(&path, order);
            let oks: Vec<u64> = items
                .iter()
                .filter_map(|i| i.as_ref().ok().map(|e| e.seq))
                .collect();
            let mut want: Vec<u64> = (1..=n as u64).filter(|&s| s != k as u64).collect();
            if order == Order::NewestFirst {
                want.reverse();
            }
            assert_eq!(oks, want, "{ctx}: query {order:?}");
            let errs: Vec<u64> = items
                .iter()
                .filter_map(|i| match i {
                    Err(Error::Malformed { at, .. }) => Some(at.offset),
                    Err(e) => panic!("{ctx}: {e}"),
                    Ok(_) => None,
                })
                .collect();
            assert_eq!(errs, vec![b.start(k)], "{ctx}: query errors {order:?}");
        }
    }
}

fn flip_every_bit(cfg: Cfg) {
    let dir = scratch();
    let b = build(dir.path(), cfg, 5);
    let cases = dir.path().join("cases");
    fs::create_dir(&cases).unwrap();
    for pos in 0..b.bytes.len() {
        for bit in 0..8 {
            // Sampled: every flip in a binary frame's length fields and
            // frame_len (where query's resynchronisation differs), and one
            // flip in four elsewhere.
            let sampled = if cfg.framing == Framing::Binary && pos >= b.end(0) as usize {
                let k = b.record_at(pos as u64);
                let (rel, end) = (pos as u64 - b.start(k), b.end(k) - pos as u64);
                rel < 8 || end <= 4 || (pos + bit as usize) % 4 == 0
            } else {
                (pos + bit as usize) % 4 == 0
            };
            check_flip(&b, &cases, pos, bit, sampled);
        }
    }
}

#[test]
fn flip_every_bit_jsonl_sha256() {
    flip_every_bit(CFGS[0]);
}

#[test]
fn flip_every_bit_jsonl_hmac_sha256() {
    flip_every_bit(CFGS[1]);
}

#[test]
fn flip_every_bit_binary_sha256() {
    flip_every_bit(CFGS[2]);
}

#[test]
fn flip_every_bit_binary_hmac_sha512() {
    flip_every_bit(CFGS[3]);
}

// ---------------------------------------------------------------------------
// Structural tampering: records deleted, inserted, reordered, duplicated.

/// A file assembled from `b`'s header and genesis followed by pieces
/// (records of `b`, forged records), with the offset of every piece.
struct Composed {
    bytes: Vec<u8>,
    starts: Vec<u64>,
}

enum Piece<'a> {
    Rec(usize),
    Raw(&'a [u8]),
}

fn compose(b: &Built, pieces: &[Piece]) -> Composed {
    let mut bytes = b.bytes[..b.end(0) as usize].to_vec();
    let mut starts = Vec::new();
    for p in pieces {
        starts.push(bytes.len() as u64);
        match p {
            Piece::Rec(k) => bytes.extend_from_slice(b.record(*k)),
            Piece::Raw(r) => bytes.extend_from_slice(r),
        }
    }
    Composed { bytes, starts }
}

fn recs(r: impl IntoIterator<Item = usize>) -> Vec<Piece<'static>> {
    r.into_iter().map(Piece::Rec).collect()
}

/// A framed entry record with the given seq and prev, hashed by `chain`.
fn forge(cfg: Cfg, seq: u64, prev: &Hash, chain: &Chain, action: &str) -> Vec<u8> {
    let mut body = Vec::new();
    let ev = Event::new("ACTION_EXECUTED", action).session("s0");
    format::encode_entry(
        &mut body,
        seq,
        prev,
        &chrono::Utc::now(),
        &ev,
        "mallory",
        "lab1",
    )
    .unwrap();
    let mut out = Vec::new();
    format::frame(&mut out, cfg.framing, &body, &chain.hash(&body));
    out
}

/// The chain an attacker without the key can compute: the right one for
/// keyless logs, HMAC with another key for keyed logs.
fn attacker_chain(cfg: Cfg) -> Chain {
    if cfg.alg.is_keyed() {
        Chain::new(cfg.alg, Some(&other_key())).unwrap()
    } else {
        Chain::new(HashAlg::Sha256, None).unwrap()
    }
}

/// Line number of piece `i` (0 = first record after the genesis).
fn piece_line(cfg: Cfg, i: usize) -> u64 {
    match cfg.framing {
        Framing::Jsonl => i as u64 + 2,
        Framing::Binary => 0,
    }
}

struct Case {
    what: &'static str,
    pieces: Vec<usize>,
}

#[test]
fn deleted_entries_are_one_seq_gap() {
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 10);
        let cases = [
            Case {
                what: "first entry deleted",
                pieces: (2..=10).collect(),
            },
            Case {
                what: "entry 5 deleted",
                pieces: (1..=4).chain(6..=10).collect(),
            },
            Case {
                what: "entries 4..=7 deleted",
                pieces: (1..=3).chain(8..=10).collect(),
            },
            Case {
                what: "entry 9 deleted",
                pieces: (1..=8).chain(10..=10).collect(),
            },
        ];
        for c in cases {
            let ctx = format!("{cfg:?}: {}", c.what);
            let f = compose(&b, &recs(c.pieces.iter().copied()));
            let path = write_case(dir.path(), "t.log", &f.bytes);
            // The hole is before the first piece whose seq is not one more
            // than the previous piece's.
            let i = (0..c.pieces.len()).find(|&i| c.pieces[i] != i + 1).unwrap();
            let want = vec![(
                SeqGap,
                Some(c.pieces[i] as u64),
                piece_line(cfg, i),
                f.starts[i],
            )];
            assert_report(
                &path,
                &cfg.verify_opts(),
                &want,
                c.pieces.len() as u64,
                &ctx,
            );
            // Open reads only the tail and checks the last record's link to
            // the one before it (spec § 10.3): a hole just before the last
            // record is refused there; elsewhere nothing is repaired.
            let last = c.pieces.len() - 1;
            if c.pieces[last - 1] + 1 != c.pieces[last] {
                match Log::open(&path, cfg.open_opts()) {
                    Err(Error::Corrupt { at, .. }) => assert_eq!(at.offset, f.starts[last]),
                    other => panic!("{ctx}: {other:?}"),
                }
                assert_eq!(fs::read(&path).unwrap(), f.bytes, "{ctx}");
                continue;
            }
            let log = Log::open(&path, cfg.open_opts()).unwrap();
            assert_eq!(log.head(), b.head(10), "{ctx}");
            assert!(log.recovery().torn.is_empty());
        }
    }
}

#[test]
fn truncation_at_a_record_boundary_needs_the_expected_head() {
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 10);
        for keep in [0usize, 1, 6, 9] {
            let ctx = format!("{cfg:?}: cut after entry {keep}");
            let path = write_case(dir.path(), "t.log", &b.bytes[..b.end(keep) as usize]);
            // Indistinguishable from a shorter log without the head.
            assert_report(&path, &cfg.verify_opts(), &[], keep as u64, &ctx);
            let with_head = |h: ExpectedHead| cfg.verify_opts().expected_head(h);
            let end = b.end(keep);
            // The head taken before the cut is missing.
            assert_report(
                &path,
                &with_head(b.expected_head(10)),
                &[(HeadMismatch, Some(keep as u64), 0, end)],
                keep as u64,
                &ctx,
            );
            // Any head the log still contains is fine.
            for k in 0..=keep {
                assert_report(
                    &path,
                    &with_head(b.expected_head(k)),
                    &[],
                    keep as u64,
                    &ctx,
                );
            }
            // A head with the right seq and another hash: rewritten.
            let wrong = ExpectedHead {
                seq: keep as u64,
                hash: b.heads[(keep + 1) % 11],
            };
            assert_report(
                &path,
                &with_head(wrong),
                &[(HeadMismatch, Some(keep as u64), 0, end)],
                keep as u64,
                &ctx,
            );
            let log = Log::open(&path, cfg.open_opts()).unwrap();
            assert_eq!(log.head(), b.head(keep), "{ctx}");
        }
    }
}

#[test]
fn inserted_entries() {
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 10);
        let attacker = attacker_chain(cfg);
        // An entry 5 forged to follow entry 4, inserted before the real 5.
        let forged = forge(cfg, 5, &b.heads[4], &attacker, "forged");
        let mut pieces = recs(1..=4);
        pieces.push(Piece::Raw(&forged));
        pieces.extend(recs(5..=10));
        let f = compose(&b, &pieces);
        let path = write_case(dir.path(), "t.log", &f.bytes);
        let ctx = format!("{cfg:?}: forged entry inserted after entry 4");
        let real5 = (SeqGap, Some(5), piece_line(cfg, 5), f.starts[5]);
        let want = if cfg.alg.is_keyed() {
            // Without the key the forgery cannot carry a valid HMAC; the
            // real entry 5 then does not follow it.
            vec![
                (HashMismatch, Some(5), piece_line(cfg, 4), f.starts[4]),
                real5,
            ]
        } else {
            // A keyless forgery is a valid record: the chain breaks where
            // the real entry 5 repeats its seq.
            vec![real5]
        };
        assert_report(&path, &cfg.verify_opts(), &want, 11, &ctx);

        // A forged entry appended at the end.
        let forged = forge(cfg, 11, &b.heads[10], &attacker, "forged");
        let mut pieces = recs(1..=10);
        pieces.push(Piece::Raw(&forged));
        let f = compose(&b, &pieces);
        let path = write_case(dir.path(), "t.log", &f.bytes);
        let ctx = format!("{cfg:?}: forged entry appended");
        if cfg.alg.is_keyed() {
            assert_report(
                &path,
                &cfg.verify_opts(),
                &[(HashMismatch, Some(11), piece_line(cfg, 10), f.starts[10])],
                11,
                &ctx,
            );
            // Open refuses to extend a chain whose head fails its HMAC.
            match Log::open(&path, cfg.open_opts()) {
                Err(Error::Corrupt { at, .. }) => assert_eq!(at.offset, f.starts[10]),
                other => panic!("{ctx}: {other:?}"),
            }
        } else {
            // Keyless chains cannot tell an appended forgery from a real
            // entry: that is what keyed logs are for.
            assert_report(&path, &cfg.verify_opts(), &[], 11, &ctx);
        }

        // A keyless attacker may recompute the chain from the insertion
        // on; the external head still catches it.
        if !cfg.alg.is_keyed() {
            let mut bytes = b.bytes[..b.end(4) as usize].to_vec();
            let mut prev = b.heads[4];
            for seq in 5..=11u64 {
                let r = forge(cfg, seq, &prev, &attacker, "rewritten");
                let p = format::parse(cfg.framing, r.strip_suffix(b"\n").unwrap_or(&r)).unwrap();
                prev = p.raw.hash;
                bytes.extend_from_slice(&r);
            }
            let path = write_case(dir.path(), "t.log", &bytes);
            let ctx = format!("{cfg:?}: chain rewritten after entry 4");
            assert_report(&path, &cfg.verify_opts(), &[], 11, &ctx);
            let opts = cfg.verify_opts().expected_head(b.expected_head(10));
            let end = bytes.len() as u64;
            assert_report(&path, &opts, &[(HeadMismatch, Some(10), 0, end)], 11, &ctx);
        }
    }
}

#[test]
fn reordered_entries_are_three_seq_gaps() {
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 10);
        for k in [1usize, 5, 9] {
            let ctx = format!("{cfg:?}: entries {k} and {} swapped", k + 1);
            let order: Vec<usize> = (1..=10)
                .map(|i| {
                    if i == k {
                        k + 1
                    } else if i == k + 1 {
                        k
                    } else {
                        i
                    }
                })
                .collect();
            let f = compose(&b, &recs(order.iter().copied()));
            let path = write_case(dir.path(), "t.log", &f.bytes);
            let at = |i: usize| {
                (
                    SeqGap,
                    Some(order[i] as u64),
                    piece_line(cfg, i),
                    f.starts[i],
                )
            };
            // k+1 after k-1; k after k+1; k+2 after k (spec § 9.3).
            let mut want = vec![at(k - 1), at(k)];
            if k + 1 < 10 {
                want.push(at(k + 1));
            }
            assert_report(&path, &cfg.verify_opts(), &want, 10, &ctx);
        }
    }
}

#[test]
fn duplicated_entries_are_one_seq_gap() {
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 10);
        for (k, after) in [(1usize, 1usize), (5, 5), (3, 7), (10, 10)] {
            let ctx = format!("{cfg:?}: entry {k} copied after entry {after}");
            let mut order: Vec<usize> = (1..=10).collect();
            order.insert(after, k);
            let f = compose(&b, &recs(order.iter().copied()));
            let path = write_case(dir.path(), "t.log", &f.bytes);
            // The copy does not follow its predecessor; the real successor
            // follows the copy of its predecessor only when k == after.
            let mut want = vec![(
                SeqGap,
                Some(k as u64),
                piece_line(cfg, after),
                f.starts[after],
            )];
            if k != after && after < 10 {
                want.push((
                    SeqGap,
                    Some(after as u64 + 1),
                    piece_line(cfg, after + 1),
                    f.starts[after + 1],
                ));
            }
            assert_report(&path, &cfg.verify_opts(), &want, 11, &ctx);
        }
    }
}

/// A replayed old record at the tail: open checks the last record's link to
/// the one before it (spec § 10.3) and refuses, so the writer never resumes
/// from a replay; the file is left as it is and verify reports the replay.
#[test]
fn replayed_tail_record_is_refused() {
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 10);
        let mut order: Vec<usize> = (1..=10).collect();
        order.push(6);
        let f = compose(&b, &recs(order.iter().copied()));
        let path = write_case(dir.path(), "t.log", &f.bytes);
        match Log::open(&path, cfg.open_opts()) {
            Err(Error::Corrupt { at, msg, .. }) => {
                assert_eq!(at.offset, f.starts[10], "{cfg:?}");
                assert!(msg.contains("replayed"), "{msg}");
            }
            other => panic!("{cfg:?}: {other:?}"),
        }
        assert_eq!(fs::read(&path).unwrap(), f.bytes);
        let want = [(SeqGap, Some(6), piece_line(cfg, 10), f.starts[10])];
        assert_report(&path, &cfg.verify_opts(), &want, 11, &format!("{cfg:?}"));
        assert_eq!(read_all(&path).len(), 11);
    }
}

/// Several separate damages in one file: `all` reports each once, at its
/// exact place, and nothing in between (resynchronisation, spec § 9.4).
#[test]
fn all_reports_each_damage_once() {
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 30);
        // Delete 5, duplicate 12, swap 20/21, damage 26's body, delete 29.
        let order: Vec<usize> = (1..=4)
            .chain(6..=12)
            .chain([12])
            .chain(13..=19)
            .chain([21, 20])
            .chain(22..=28)
            .chain([30])
            .collect();
        let mut f = compose(&b, &recs(order.iter().copied()));
        let i26 = order.iter().position(|&k| k == 26).unwrap();
        // "act" -> "acu" in entry 26's action: still readable JSON.
        let s = f.starts[i26] as usize;
        let e = f.starts[i26 + 1] as usize;
        let rel = memchr_find(&f.bytes[s..e], b"\"action\":\"act").unwrap() + 12;
        f.bytes[s + rel] ^= 0x01;
        let path = write_case(dir.path(), "t.log", &f.bytes);
        let at = |kind, i: usize, seq: Option<u64>| (kind, seq, piece_line(cfg, i), f.starts[i]);
        let pos = |k: usize| order.iter().position(|&x| x == k).unwrap();
        let i20 = pos(20);
        let mut want = vec![
            at(SeqGap, pos(6), Some(6)),
            at(SeqGap, pos(12) + 1, Some(12)),
            at(SeqGap, i20 - 1, Some(21)),
            at(SeqGap, i20, Some(20)),
            at(SeqGap, i20 + 1, Some(22)),
        ];
        let damaged26 = match cfg.framing {
            // The CRC no longer matches: unreadable, and entry 27 is not
            // link-checked.
            Framing::Binary => at(Malformed, i26, None),
            Framing::Jsonl => at(HashMismatch, i26, Some(26)),
        };
        want.push(damaged26);
        want.push(at(SeqGap, pos(30), Some(30)));
        let entries = order.len() as u64 - u64::from(cfg.framing == Framing::Binary);
        assert_report(
            &path,
            &cfg.verify_opts(),
            &want,
            entries,
            &format!("{cfg:?}"),
        );
    }
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A genesis record after the start (two logs concatenated): malformed,
/// and open refuses to extend from it.
#[test]
fn genesis_after_the_start() {
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 4);
        let f = compose(
            &b,
            &[
                Piece::Rec(1),
                Piece::Rec(2),
                Piece::Rec(3),
                Piece::Rec(4),
                Piece::Rec(0),
            ],
        );
        let path = write_case(dir.path(), "t.log", &f.bytes);
        let want = [(Malformed, Some(0), piece_line(cfg, 4), f.starts[4])];
        assert_report(&path, &cfg.verify_opts(), &want, 4, &format!("{cfg:?}"));
        match Log::open(&path, cfg.open_opts()) {
            Err(Error::Corrupt { at, .. }) => assert_eq!(at.offset, f.starts[4]),
            other => panic!("{cfg:?}: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// Garbage, zeroed sectors, length fields, huge lines.

/// Opening `path` for writing is refused (Corrupt at `at`) and changes
/// nothing.
fn open_refuses(path: &Path, cfg: Cfg, at: u64, ctx: &str) {
    let before = fs::read(path).unwrap();
    match assert_small_allocs(ctx, || Log::open(path, cfg.open_opts())) {
        Err(Error::Corrupt { at: p, .. }) => assert_eq!(p.offset, at, "{ctx}"),
        other => panic!("{ctx}: {other:?}"),
    }
    assert_eq!(fs::read(path).unwrap(), before, "{ctx}: file untouched");
    assert!(sidecars(path).is_empty(), "{ctx}");
}

/// Opens `path` and checks head and torn tail: `torn_at` None means no
/// repair. Returns the sidecar's bytes.
fn open_expect(
    path: &Path,
    cfg: Cfg,
    head: evident::Head,
    torn_at: Option<u64>,
    ctx: &str,
) -> Vec<u8> {
    let before = fs::read(path).unwrap();
    let log = assert_small_allocs(ctx, || Log::open(path, cfg.open_opts()))
        .unwrap_or_else(|e| panic!("{ctx}: open: {e}"));
    assert_eq!(log.head(), head, "{ctx}: head");
    let torn = log.recovery().torn;
    drop(log);
    match torn_at {
        None => {
            assert!(torn.is_empty(), "{ctx}: {torn:?}");
            assert_eq!(fs::read(path).unwrap(), before, "{ctx}: file untouched");
            Vec::new()
        }
        Some(off) => {
            assert_eq!(torn.len(), 1, "{ctx}");
            assert_eq!(torn[0].offset, off, "{ctx}");
            assert_eq!(torn[0].len, before.len() as u64 - off, "{ctx}");
            let side = fs::read(&torn[0].sidecar).unwrap();
            assert_eq!(side, &before[off as usize..], "{ctx}: sidecar");
            assert_eq!(fs::read(path).unwrap(), &before[..off as usize], "{ctx}");
            side
        }
    }
}

/// Query in both orders: the entries with the given seqs (oldest first)
/// and one error at each of `errors` (offsets), in file order. Errors name
/// the JSONL line (one plus the LFs before the offset) reading oldest
/// first; newest first a line may be unknown (0); binary logs have none.
fn assert_query(path: &Path, seqs: &[u64], errors: &[u64], ctx: &str) {
    let bytes = fs::read(path).unwrap();
    let jsonl = bytes.first() == Some(&b'{');
    let line_at = |off: u64| {
        if jsonl {
            1 + bytes[..off as usize]
                .iter()
                .filter(|&&c| c == b'\n')
                .count() as u64
        } else {
            0
        }
    };
    for order in [Order::OldestFirst, Order::NewestFirst] {
        let items = assert_small_allocs(ctx, || read_items(path, order));
        let mut oks = Vec::new();
        let mut errs = Vec::new();
        for it in &items {
            match it {
                Ok(e) => oks.push(e.seq),
                Err(Error::Malformed { at, path: p, .. }) => {
                    assert_eq!(p, path);
                    let line = line_at(at.offset);
                    let ok = at.line == line || (order == Order::NewestFirst && at.line == 0);
                    assert!(ok, "{ctx}: {order:?}: {at:?}, line {line} expected");
                    errs.push(at.offset);
                }
                Err(e) => panic!("{ctx}: {order:?}: {e}"),
            }
        }
        if order == Order::NewestFirst {
            oks.reverse();
            errs.reverse();
        }
        assert_eq!(oks, seqs, "{ctx}: {order:?} entries");
        assert_eq!(errs, errors, "{ctx}: {order:?} errors");
    }
}

#[test]
fn garbage_after_the_tail_is_torn_or_damage() {
    let mut rng = StdRng::seed_from_u64(0xbad);
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 8);
        let random: Vec<u8> = (0..3000).map(|_| rng.gen()).collect();
        let garbage: Vec<(&str, Vec<u8>)> = vec![
            ("random bytes", random),
            ("a text line", b"garbage\n".to_vec()),
            ("unreadable lines", b"{\"v\":1}\n{not json\n\n{".to_vec()),
            ("one byte", vec![b'{']),
            ("a newline", b"\n".to_vec()),
            ("0xff", vec![0xff; 100]),
            // A frame header announcing a maximal body that never came.
            ("a frame header", {
                let mut v = (MAX_BODY as u32).to_le_bytes().to_vec();
                v.extend_from_slice(&32u16.to_le_bytes());
                v.extend_from_slice(&[0, 0]);
                v
            }),
        ];
        for (what, g) in garbage {
            let ctx = format!("{cfg:?}: {what} appended");
            let mut bytes = b.bytes.clone();
            bytes.extend_from_slice(&g);
            let path = write_case(dir.path(), "t.log", &bytes);
            // Torn only where an interrupted write can leave such bytes: the
            // beginning of a record (spec § 9.5). A complete line, or a
            // binary frame header no writer wrote, is damage.
            let jsonl = cfg.framing == Framing::Jsonl;
            let torn = match what {
                "one byte" | "a frame header" => true,
                "a newline" => !jsonl,
                "0xff" => jsonl,
                _ => false,
            };
            if !torn {
                let r = verify_all(&path, &cfg.verify_opts());
                assert!(!r.valid, "{ctx}");
                assert_eq!(r.entries, 8, "{ctx}");
                assert!(
                    r.violations.iter().all(|v| v.kind == Malformed),
                    "{ctx}: {}",
                    describe(&r)
                );
                assert_eq!(r.violations[0].offset, b.len(), "{ctx}");
                match Log::open(&path, cfg.open_opts()) {
                    Err(Error::Corrupt { at, .. }) => assert_eq!(at.offset, b.len(), "{ctx}"),
                    other => panic!("{ctx}: {other:?}"),
                }
                assert_eq!(fs::read(&path).unwrap(), bytes, "{ctx}: untouched");
                // Moved aside only on request, every byte kept.
                let log = Log::open(&path, cfg.open_opts().repair(Repair::Force)).unwrap();
                assert_eq!(log.head(), b.head(8), "{ctx}");
                let t = log.recovery().torn;
                drop(log);
                assert_eq!(fs::read(&t[0].sidecar).unwrap(), g, "{ctx}");
                assert_report(&path, &cfg.verify_opts(), &[], 8, &ctx);
                continue;
            }
            let want = [(TornTail, None, cfg.line_of(9), b.len())];
            assert_report(&path, &cfg.verify_opts(), &want, 8, &ctx);
            // Query returns every entry; complete but unreadable JSONL
            // lines at the end are reported, never returned as entries.
            let seqs: Vec<u64> = (1..=8).collect();
            for order in [Order::OldestFirst, Order::NewestFirst] {
                let oks: Vec<u64> = read_items(&path, order)
                    .into_iter()
                    .filter_map(|r| r.ok().map(|e| e.seq))
                    .collect();
                let mut want = seqs.clone();
                if order == Order::NewestFirst {
                    want.reverse();
                }
                assert_eq!(oks, want, "{ctx}: {order:?}");
            }
            let side = open_expect(&path, cfg, b.head(8), Some(b.len()), &ctx);
            assert_eq!(side, g);
            assert_report(&path, &cfg.verify_opts(), &[], 8, &ctx);
        }
    }
}

/// Every 512-byte sector of a log zeroed in turn (a lost sector write).
#[test]
fn zeroed_sectors() {
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 30);
        let n = b.n();
        let len = b.len();
        let mut sector = 0;
        while sector < len {
            let s = sector;
            let e = (s + 512).min(len);
            sector += 512;
            let ctx = format!("{cfg:?}: sector [{s}, {e}) of {len} zeroed");
            let mut bytes = b.bytes.clone();
            bytes[s as usize..e as usize].fill(0);
            let path = write_case(dir.path(), "t.log", &bytes);
            // The bytes that actually changed (binary frames hold zeros).
            let changed: Vec<u64> = (s..e).filter(|&i| b.bytes[i as usize] != 0).collect();
            let (Some(&lo), Some(&hi)) = (changed.first(), changed.last()) else {
                assert_report(&path, &cfg.verify_opts(), &[], n as u64, &ctx);
                continue;
            };
            if lo < b.end(0) {
                // The header or genesis: not a log any more.
                let r = verify_all(&path, &cfg.verify_opts());
                let g = got(&r);
                assert_eq!(g.len(), 1, "{ctx}: {}", describe(&r));
                let want_off = if lo < 16 && cfg.framing == Framing::Binary {
                    0
                } else {
                    b.start(0)
                };
                assert_eq!(
                    (g[0].0, g[0].1, g[0].3),
                    (Malformed, Some(0), want_off),
                    "{ctx}"
                );
                assert!(Log::open(&path, cfg.open_opts()).is_err(), "{ctx}");
                assert_eq!(fs::read(&path).unwrap(), bytes);
                continue;
            }
            let first = b.record_at(lo);
            // First intact record after the damage: JSONL, the line after
            // the first LF at or after the last changed byte; binary, the
            // frame after the last changed byte.
            let lf = bytes[hi as usize..].iter().position(|&c| c == b'\n');
            let after = match (cfg.framing, lf) {
                (Framing::Binary, _) => b.record_at(hi) + 1,
                (Framing::Jsonl, Some(p)) => b.record_at(hi + p as u64) + 1,
                (Framing::Jsonl, None) => n + 1,
            };
            let seqs: Vec<u64> = (1..first as u64).chain(after as u64..=n as u64).collect();
            let entries = seqs.len() as u64;
            if after > n {
                // The damage reaches the end: a torn tail.
                let want = [(TornTail, None, cfg.line_of(first), b.start(first))];
                assert_report(&path, &cfg.verify_opts(), &want, entries, &ctx);
                // A JSONL tail ending in an LF is a complete but unreadable
                // line, which query reports; a partial one it skips.
                let errors = if cfg.framing == Framing::Jsonl && lf.is_some() {
                    vec![b.start(first)]
                } else {
                    vec![]
                };
                assert_query(&path, &seqs, &errors, &ctx);
                open_expect(&path, cfg, b.head(first - 1), Some(b.start(first)), &ctx);
            } else {
                let want = [(Malformed, None, cfg.line_of(first), b.start(first))];
                assert_report(&path, &cfg.verify_opts(), &want, entries, &ctx);
                assert_query(&path, &seqs, &[b.start(first)], &ctx);
                open_expect(&path, cfg, b.head(n), None, &ctx);
            }
        }
    }
}

/// Binary length fields set to impossible values, in a middle frame and in
/// the last one: damage, read without allocating by the length.
#[test]
fn binary_length_fields() {
    for cfg in CFGS.into_iter().filter(|c| c.framing == Framing::Binary) {
        let dir = scratch();
        let b = build(dir.path(), cfg, 10);
        let n = b.n();
        for k in [5usize, n] {
            let start = b.start(k) as usize;
            let frame_len = (b.end(k) - b.start(k)) as usize;
            let remains = b.len() as usize - start;
            let mut cases: Vec<(String, usize, Vec<u8>)> = Vec::new();
            for v in [
                0u32,
                1,
                remains as u32 - 16,
                remains as u32,
                MAX_BODY as u32,
                MAX_BODY as u32 + 1,
                u32::MAX,
            ] {
                cases.push((format!("body_len = {v}"), 0, v.to_le_bytes().to_vec()));
            }
            for v in [0u16, 31, 33, 64, u16::MAX] {
                if usize::from(v) != cfg.alg.hash_len() {
                    cases.push((format!("hash_len = {v}"), 4, v.to_le_bytes().to_vec()));
                }
            }
            for v in [1u16, 0x8000] {
                cases.push((format!("frame flags = {v:#x}"), 6, v.to_le_bytes().to_vec()));
            }
            for v in [0u32, frame_len as u32 + 1, remains as u32 + 1, u32::MAX] {
                cases.push((
                    format!("frame_len = {v}"),
                    frame_len - 4,
                    v.to_le_bytes().to_vec(),
                ));
            }
            for (what, at, val) in cases {
                let ctx = format!("{cfg:?}: record {k} of {n}: {what}");
                let mut bytes = b.bytes.clone();
                bytes[start + at..start + at + val.len()].copy_from_slice(&val);
                let path = write_case(dir.path(), "t.log", &bytes);
                let seqs: Vec<u64> = (1..=n as u64).filter(|&s| s != k as u64).collect();
                // The last frame too is damage, not a torn write: its bytes
                // are all there (spec § 9.5), so open refuses and readers
                // report it.
                let errors = vec![b.start(k)];
                let opts = cfg.verify_opts();
                assert_small_allocs(&ctx, || {
                    assert_report(
                        &path,
                        &opts,
                        &[(Malformed, None, 0, b.start(k))],
                        n as u64 - 1,
                        &ctx,
                    )
                });
                assert_query(&path, &seqs, &errors, &ctx);
                if k == n {
                    open_refuses(&path, cfg, b.start(n), &ctx);
                } else {
                    open_expect(&path, cfg, b.head(n), None, &ctx);
                }
            }
        }
    }
}

/// A run of 20 MiB without a newline in a JSONL log: at the end it is a
/// torn tail, in the middle an unreadable line; lines are still counted by
/// newlines after it. Memory stays bounded.
#[test]
fn huge_jsonl_line() {
    let cfg = CFGS[0];
    let dir = scratch();
    let b = build(dir.path(), cfg, 10);
    let huge = vec![b'x'; 20 << 20];

    // At the end, without a newline.
    let mut bytes = b.bytes.clone();
    bytes.extend_from_slice(&huge);
    let path = write_case(dir.path(), "t.jsonl", &bytes);
    let ctx = "huge tail";
    // Longer than any record: no interrupted write leaves it (spec § 9.5).
    let r = assert_small_allocs(ctx, || verify_all(&path, &cfg.verify_opts()));
    let g = got(&r);
    assert_eq!(
        g[0],
        (Malformed, None, 12, b.len()),
        "{ctx}: {}",
        describe(&r)
    );
    assert!(
        g.iter().all(|v| v.0 == Malformed),
        "{ctx}: {}",
        describe(&r)
    );
    assert_eq!(r.entries, 10);
    // Query returns every entry; a run longer than any line may be
    // reported as damage (never as an entry), inside the tail only.
    for order in [Order::OldestFirst, Order::NewestFirst] {
        let items = assert_small_allocs(ctx, || read_items(&path, order));
        let mut oks = Vec::new();
        for it in &items {
            match it {
                Ok(e) => oks.push(e.seq),
                Err(Error::Malformed { at, .. }) => assert!(at.offset >= b.len(), "{ctx}: {at:?}"),
                Err(e) => panic!("{ctx}: {e}"),
            }
        }
        if order == Order::NewestFirst {
            oks.reverse();
        }
        assert_eq!(oks, (1..=10).collect::<Vec<u64>>(), "{ctx}: {order:?}");
    }
    open_refuses(&path, cfg, b.len(), ctx);

    // In the middle (after entry 5), with a newline, and entry 8 modified
    // further on: the later violation is at its true line.
    let mut f = compose(
        &b,
        &recs(1..=5)
            .into_iter()
            .chain([Piece::Raw(&[huge.as_slice(), b"\n"].concat())])
            .chain(recs(6..=10))
            .collect::<Vec<_>>(),
    );
    let i8 = 8; // piece index of entry 8 (huge line is piece 5)
    let s = f.starts[i8] as usize;
    let rel = memchr_find(&f.bytes[s..], b"\"action\":\"act").unwrap() + 12;
    f.bytes[s + rel] ^= 0x01;
    let path = write_case(dir.path(), "t.jsonl", &f.bytes);
    let ctx = "huge line in the middle";
    let r = assert_small_allocs(ctx, || verify_all(&path, &cfg.verify_opts()));
    let g = got(&r);
    // The huge line may be reported as several malformed spans (spec § 12)
    // starting at its first byte; the damaged entry 8 is at line 10.
    assert_eq!(
        g[0],
        (Malformed, None, 7, f.starts[5]),
        "{ctx}: {}",
        describe(&r)
    );
    assert_eq!(
        g.last(),
        Some(&(HashMismatch, Some(8), 10, f.starts[i8])),
        "{ctx}: {}",
        describe(&r)
    );
    for v in &g[1..g.len() - 1] {
        assert_eq!(v.0, Malformed, "{ctx}");
        assert!(v.3 > f.starts[5] && v.3 < f.starts[6], "{ctx}: {v:?}");
    }
    assert_eq!(r.entries, 10);
    let first = verify(&path, &cfg.verify_opts()).unwrap();
    assert_eq!(got(&first), g[..1]);
    // Query: entries 1..=10 (query does not check hashes), an error at the
    // huge line (possibly several), positions by newline count.
    for order in [Order::OldestFirst, Order::NewestFirst] {
        let items = assert_small_allocs(ctx, || read_items(&path, order));
        let oks: Vec<u64> = items
            .iter()
            .filter_map(|i| i.as_ref().ok().map(|e| e.seq))
            .collect();
        assert_eq!(oks.len(), 10, "{ctx}: {order:?}");
        let errs: Vec<(u64, u64)> = items
            .iter()
            .filter_map(|i| match i {
                Err(Error::Malformed { at, .. }) => Some((at.offset, at.line)),
                _ => None,
            })
            .collect();
        assert!(!errs.is_empty(), "{ctx}");
        for (off, _) in &errs {
            assert!(*off >= f.starts[5] && *off < f.starts[6], "{ctx}: {errs:?}");
        }
        if order == Order::OldestFirst {
            assert_eq!(errs[0], (f.starts[5], 7), "{ctx}");
        }
    }
    open_expect(&path, cfg, b.head(10), None, ctx);
}

/// Keys: a wrong key, a key for a keyless log, no key for a keyed log; and
/// a wrong expected log id.
#[test]
fn wrong_key_and_log_id() {
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 6);
        let g = |kind| (kind, Some(0), cfg.line_of(0), b.start(0));
        let ctx = format!("{cfg:?}");
        let keys: Vec<(&str, Option<evident::Key>)> = if cfg.alg.is_keyed() {
            vec![("another key", Some(other_key())), ("no key", None)]
        } else {
            vec![("a key for a keyless log", Some(key()))]
        };
        for (what, k) in keys {
            let ctx = format!("{ctx}: {what}");
            let opts = cfg.verify_opts().key(k.clone());
            // One violation: hashes are not checked, links and seqs are.
            assert_report(&b.path, &opts, &[g(WrongKey)], 6, &ctx);
            let mut o = cfg.open_opts();
            o.key = k;
            match Log::open(&b.path, o) {
                Err(Error::WrongKey { path, msg }) => {
                    assert_eq!(path, b.path);
                    assert!(!msg.is_empty());
                }
                other => panic!("{ctx}: {other:?}"),
            }
            // Links are still checked without the key.
            let f = compose(&b, &recs([1, 2, 4, 5, 6]));
            let p = write_case(dir.path(), "t.log", &f.bytes);
            assert_report(
                &p,
                &opts,
                &[
                    g(WrongKey),
                    (SeqGap, Some(4), piece_line(cfg, 2), f.starts[2]),
                ],
                5,
                &ctx,
            );
        }
        // A keyed log rewritten by someone with another key who copied the
        // original key id: every hash fails, starting with the genesis.
        if cfg.alg.is_keyed() {
            let attacker = Log::open(dir.path().join(format!("forged-{}", cfg.file_name())), {
                let mut o = cfg.open_opts();
                o.key = Some(other_key());
                o
            })
            .unwrap();
            attacker.append(&ev(0)).unwrap();
            let forged_path = attacker.path().to_path_buf();
            attacker.close().unwrap();
            drop(attacker);
            let forged = fs::read(&forged_path).unwrap();
            let text = forged
                .windows(16)
                .position(|w| w == other_key().key_id().as_bytes())
                .unwrap();
            let mut forged = forged;
            forged[text..text + 16].copy_from_slice(key().key_id().as_bytes());
            let p = write_case(dir.path(), "t.log", &forged);
            let r = verify_all(&p, &cfg.verify_opts());
            let v = got(&r);
            match cfg.framing {
                // The binary genesis frame's CRC no longer matches.
                Framing::Binary => assert_eq!(v, [(Malformed, Some(0), 0, 16)], "{ctx}"),
                Framing::Jsonl => {
                    let bounds = record_bounds(cfg.framing, &forged);
                    assert_eq!(
                        v,
                        [g(HashMismatch), (HashMismatch, Some(1), 2, bounds[1])],
                        "{ctx}"
                    );
                }
            }
        }
        // Expected log id.
        let genesis_id = verify(&b.path, &cfg.verify_opts()).unwrap().log_id.unwrap();
        let mut other = genesis_id.clone().into_bytes();
        other[0] = if other[0] == b'0' { b'1' } else { b'0' };
        let opts = cfg
            .verify_opts()
            .expected_log_id(String::from_utf8(other).unwrap());
        assert_report(&b.path, &opts, &[g(WrongLogId)], 6, &ctx);
        let opts = cfg.verify_opts().expected_log_id(genesis_id.to_uppercase());
        assert_report(&b.path, &opts, &[], 6, &ctx);
    }
}

/// Query never returns a partial record as an entry, whatever the cut.
#[test]
fn query_never_returns_a_partial_record() {
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 6);
        let all = read_all(&b.path);
        for off in b.end(0)..b.len() {
            let path = write_case(dir.path(), "t.log", &b.bytes[..off as usize]);
            let complete = (1..=6).take_while(|&k| b.end(k) <= off).count();
            for order in [Order::OldestFirst, Order::NewestFirst] {
                let items: Vec<Entry> = read_items(&path, order)
                    .into_iter()
                    .map(|r| r.unwrap_or_else(|e| panic!("{cfg:?} cut at {off}: {e}")))
                    .collect();
                let mut want = all[..complete].to_vec();
                if order == Order::NewestFirst {
                    want.reverse();
                }
                assert_eq!(items, want, "{cfg:?} cut at {off} {order:?}");
            }
            // "The last N" too.
            let last: Vec<u64> = query(&path, &Query::last(2))
                .unwrap()
                .map(|r| r.unwrap().seq)
                .collect();
            let want: Vec<u64> = (1..=complete as u64).rev().take(2).collect();
            assert_eq!(last, want, "{cfg:?} cut at {off}");
        }
    }
}

/// Damage at verify's chunk boundaries (it splits files into 4 MiB chunks
/// checked in parallel): the result is the same with 1 and 4 threads and
/// exact at and around the boundary.
#[test]
fn damage_at_chunk_boundaries() {
    for cfg in [CFGS[0], CFGS[3]] {
        let dir = scratch();
        let path = dir.path().join(cfg.file_name());
        // ~4.7 MiB: entries of ~2 KiB, so one chunk boundary.
        let log = Log::open(&path, cfg.open_opts()).unwrap();
        for i in 0..2300 {
            let e = ev(i).details(serde_json::json!({"i": i, "pad": "q".repeat(1900)}));
            log.append(&e).unwrap();
        }
        log.close().unwrap();
        drop(log);
        let bytes = fs::read(&path).unwrap();
        let bounds = record_bounds(cfg.framing, &bytes);
        let n = bounds.len() - 2;
        // The record straddling the 4 MiB boundary (counted from the end of
        // the genesis, where verify's first chunk starts) is the first of
        // the second chunk; the one before it ends the first chunk.
        let at = bounds[1] + (4u64 << 20);
        let k = bounds.partition_point(|&x| x <= at) - 1;
        let targets = [k - 1, k, k + 1];
        for &k in &targets {
            for what in ["delete", "damage", "swap"] {
                let ctx = format!("{cfg:?}: {what} record {k} of {n}");
                let r = |j: usize| &bytes[bounds[j] as usize..bounds[j + 1] as usize];
                let mut out = bytes[..bounds[k] as usize].to_vec();
                let want: Vec<V>;
                let line = |j: u64| cfg.line_of(j as usize);
                match what {
                    "delete" => {
                        out.extend_from_slice(&bytes[bounds[k + 1] as usize..]);
                        want = vec![(SeqGap, Some(k as u64 + 1), line(k as u64), bounds[k])];
                    }
                    "damage" => {
                        let mut rec = r(k).to_vec();
                        let p = memchr_find(&rec, b"qqqq").unwrap();
                        rec[p] = b'Q';
                        out.extend_from_slice(&rec);
                        out.extend_from_slice(&bytes[bounds[k + 1] as usize..]);
                        want = vec![match cfg.framing {
                            Framing::Jsonl => {
                                (HashMismatch, Some(k as u64), line(k as u64), bounds[k])
                            }
                            Framing::Binary => (Malformed, None, 0, bounds[k]),
                        }];
                    }
                    _ => {
                        out.extend_from_slice(r(k + 1));
                        out.extend_from_slice(r(k));
                        out.extend_from_slice(&bytes[bounds[k + 2] as usize..]);
                        let mid = bounds[k] + (bounds[k + 2] - bounds[k + 1]);
                        want = vec![
                            (SeqGap, Some(k as u64 + 1), line(k as u64), bounds[k]),
                            (SeqGap, Some(k as u64), line(k as u64 + 1), mid),
                            (
                                SeqGap,
                                Some(k as u64 + 2),
                                line(k as u64 + 2),
                                bounds[k + 2],
                            ),
                        ];
                    }
                }
                let p = write_case(dir.path(), "t.log", &out);
                let entries = match what {
                    "delete" => n - 1,
                    "damage" if cfg.framing == Framing::Binary => n - 1,
                    _ => n,
                } as u64;
                for threads in [1, 4] {
                    let opts = cfg.verify_opts().threads(threads);
                    let r = verify_all(&p, &opts);
                    assert_eq!(got(&r), want, "{ctx}, {threads} threads: {}", describe(&r));
                    assert_eq!(r.entries, entries, "{ctx}");
                    assert_eq!(r.head_seq, n as u64);
                    let first = verify(&p, &opts.all(false)).unwrap();
                    assert_eq!(got(&first), want[..1], "{ctx}, {threads} threads");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Minimal reproductions of engine bugs found by the suites above (each was
// a failure before its fix; see the commit history of src/).

/// Binary: a middle frame whose `body_len` points past the end of the file
/// hid every record after it (reported as a torn tail at the damaged frame,
/// entries after it uncounted, and skipped by query oldest-first).
#[test]
fn regression_binary_length_past_eof_in_the_middle() {
    let cfg = CFGS[2];
    let dir = scratch();
    let b = build(dir.path(), cfg, 4);
    let mut bytes = b.bytes.clone();
    let s = b.start(2) as usize;
    bytes[s..s + 4].copy_from_slice(&(1u32 << 20).to_le_bytes());
    let path = write_case(dir.path(), "t.evl", &bytes);
    assert_report(
        &path,
        &cfg.verify_opts(),
        &[(Malformed, None, 0, b.start(2))],
        3,
        "body_len past EOF",
    );
    assert_query(&path, &[1, 3, 4], &[b.start(2)], "body_len past EOF");
}

/// Binary: a header flag set was accepted (the header is covered by no CRC
/// or hash, so this is also undetected damage).
#[test]
fn regression_binary_header_flags() {
    let cfg = CFGS[2];
    let dir = scratch();
    let b = build(dir.path(), cfg, 1);
    let mut bytes = b.bytes.clone();
    bytes[15] = 0x80;
    let path = write_case(dir.path(), "t.evl", &bytes);
    assert_report(
        &path,
        &cfg.verify_opts(),
        &[(Unsupported, Some(0), 0, 0)],
        0,
        "flags",
    );
    match Log::open(&path, cfg.open_opts()) {
        Err(Error::Unsupported { .. }) => {}
        other => panic!("{other:?}"),
    }
}

/// JSONL: lines after a run longer than `MAX_LINE` were numbered one too
/// high (the run is split into several spans, each counted as a line).
#[test]
fn regression_line_numbers_after_an_overlong_line() {
    let cfg = CFGS[0];
    let dir = scratch();
    let b = build(dir.path(), cfg, 3);
    let long = [vec![b'x'; MAX_BODY + 300], b"\n".to_vec()].concat();
    let mut rec3 = b.record(3).to_vec();
    let p = memchr_find(&rec3, b"\"action\":\"act").unwrap() + 12;
    rec3[p] ^= 1;
    let f = compose(
        &b,
        &[
            Piece::Rec(1),
            Piece::Raw(&long),
            Piece::Rec(2),
            Piece::Raw(&rec3),
        ],
    );
    let path = write_case(dir.path(), "t.jsonl", &f.bytes);
    let r = verify_all(&path, &cfg.verify_opts());
    let g = got(&r);
    assert_eq!(g.first(), Some(&(Malformed, None, 3, f.starts[1])));
    // Entry 3 is on line 5: genesis, entry 1, the long line, entry 2.
    assert_eq!(g.last(), Some(&(HashMismatch, Some(3), 5, f.starts[3])));
    let lines: Vec<u64> = read_items(&path, Order::OldestFirst)
        .into_iter()
        .filter_map(|i| match i {
            Err(Error::Malformed { at, .. }) => Some(at.line),
            _ => None,
        })
        .collect();
    assert!(lines.iter().all(|&l| l == 3), "{lines:?}");
}

/// Verify and query grew their read buffers by doubling, allocating 32 MiB
/// at once for a long run without LF.
#[test]
fn regression_no_doubling_of_read_buffers() {
    let cfg = CFGS[0];
    let dir = scratch();
    let b = build(dir.path(), cfg, 1);
    let mut bytes = b.bytes.clone();
    bytes.resize(bytes.len() + MAX_BODY + (2 << 20), b'x');
    let path = write_case(dir.path(), "t.jsonl", &bytes);
    let r = assert_small_allocs("verify", || verify(&path, &cfg.verify_opts()).unwrap());
    assert_eq!(got(&r), [(Malformed, None, 3, b.len())]);
    assert_small_allocs("query", || read_items(&path, Order::OldestFirst));
}

// ---------------------------------------------------------------------------
// More shapes of damage.

/// A blank line, and a log converted to CRLF line ends by a text-mode copy.
#[test]
fn blank_lines_and_crlf() {
    let cfg = CFGS[1];
    let dir = scratch();
    let b = build(dir.path(), cfg, 4);
    let f = compose(
        &b,
        &[
            Piece::Rec(1),
            Piece::Rec(2),
            Piece::Raw(b"\n"),
            Piece::Rec(3),
            Piece::Rec(4),
        ],
    );
    let path = write_case(dir.path(), "t.jsonl", &f.bytes);
    // The blank line is unreadable; entry 3 after it starts a new chain
    // segment (not link-checked), so nothing else is reported.
    assert_report(
        &path,
        &cfg.verify_opts(),
        &[(Malformed, None, 4, f.starts[2])],
        4,
        "blank line",
    );
    assert_query(&path, &[1, 2, 3, 4], &[f.starts[2]], "blank line");
    open_expect(&path, cfg, b.head(4), None, "blank line");

    let crlf: Vec<u8> = b
        .bytes
        .iter()
        .flat_map(|&c| {
            if c == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![c]
            }
        })
        .collect();
    let path = write_case(dir.path(), "t.jsonl", &crlf);
    let r = verify_all(&path, &cfg.verify_opts());
    assert_eq!(
        got(&r),
        [(Malformed, Some(0), 1, 0)],
        "CRLF: {}",
        describe(&r)
    );
    match Log::open(&path, cfg.open_opts()) {
        Err(e @ Error::Malformed { .. }) => assert!(e.to_string().contains("t.jsonl")),
        other => panic!("CRLF: {other:?}"),
    }
    assert_eq!(fs::read(&path).unwrap(), crlf, "CRLF file untouched");
}

/// A keyless log whose last entry was forged with the largest seq: open
/// may accept it (its hash is right), but appending must fail cleanly
/// rather than overflow the sequence number.
#[test]
fn forged_maximal_seq_does_not_panic_the_writer() {
    for cfg in [CFGS[0], CFGS[2]] {
        let dir = scratch();
        let b = build(dir.path(), cfg, 3);
        let forged = forge(cfg, u64::MAX, &b.heads[3], &attacker_chain(cfg), "forged");
        let mut bytes = b.bytes.clone();
        bytes.extend_from_slice(&forged);
        let path = write_case(dir.path(), "t.log", &bytes);
        assert_report(
            &path,
            &cfg.verify_opts(),
            &[(SeqGap, Some(u64::MAX), cfg.line_of(4), b.len())],
            4,
            &format!("{cfg:?}"),
        );
        let r = std::panic::catch_unwind(|| match Log::open(&path, cfg.open_opts()) {
            Ok(log) => log.append(&ev(9)).map(|_| ()),
            Err(e) => Err(e),
        });
        let r = r.unwrap_or_else(|_| panic!("{cfg:?}: the writer panicked"));
        assert!(r.is_err(), "{cfg:?}: appended after seq u64::MAX");
        let after = fs::read(&path).unwrap();
        assert_eq!(after, bytes, "{cfg:?}: nothing written");
    }
}

/// A damaged region shorter than `MAX_BODY` is one unreadable span (spec
/// § 8 rule 3), even where it crosses the boundary between two buffers of
/// a reader (verify's 4 MiB chunks, query's 256 KiB reads), and parallel
/// verification gives the sequential result (§ 9.8).
#[test]
fn damaged_region_across_read_boundaries_is_one_span() {
    for cfg in [CFGS[0], CFGS[2]] {
        let dir = scratch();
        let b = build(dir.path(), cfg, 15_000);
        let n = b.n();
        assert!(
            b.len() > b.end(0) + (4 << 20) + (1 << 20),
            "{cfg:?}: log too short"
        );
        for (name, at, width) in [
            ("verify chunk", b.end(0) + (4 << 20), 64u64 << 10),
            ("query read", b.end(0) + (256 << 10), 16 << 10),
        ] {
            let ctx = format!("{cfg:?}: {width} bytes zeroed across the {name} boundary");
            let (s, e) = (at - width / 2, at + width / 2);
            let mut bytes = b.bytes.clone();
            bytes[s as usize..e as usize].fill(0);
            let changed: Vec<u64> = (s..e).filter(|&i| b.bytes[i as usize] != 0).collect();
            let (lo, hi) = (changed[0], *changed.last().unwrap());
            let first = b.record_at(lo);
            let after = match cfg.framing {
                Framing::Binary => b.record_at(hi) + 1,
                Framing::Jsonl => {
                    let lf = bytes[hi as usize..].iter().position(|&c| c == b'\n');
                    b.record_at(hi + lf.unwrap() as u64) + 1
                }
            };
            let path = write_case(dir.path(), "t.log", &bytes);
            let want = vec![(Malformed, None, cfg.line_of(first), b.start(first))];
            let entries = (n - (after - first)) as u64;
            for threads in [1, 3] {
                let opts = cfg.verify_opts().threads(threads);
                let r = verify_all(&path, &opts);
                assert_eq!(got(&r), want, "{ctx}, {threads} threads: {}", describe(&r));
                assert_eq!(r.entries, entries, "{ctx}");
            }
            let seqs: Vec<u64> = (1..first as u64).chain(after as u64..=n as u64).collect();
            assert_query(&path, &seqs, &[b.start(first)], &ctx);
        }
    }
}
