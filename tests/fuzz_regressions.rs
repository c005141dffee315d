//! The fuzz harness shared by the cargo-fuzz target (`fuzz/`, which
//! includes this file with `#[path]`) and this test, which runs it over every
//! input in `tests/fixtures/fuzz/` (crash inputs found by the fuzzer and
//! hand-made nasty seeds) and over a few thousand random mutations of them.
//!
//! [`fuzz_one`] writes the bytes to a temporary file one of three ways (the
//! first byte chooses): as they are, after a fixed keyless JSONL genesis, or
//! after a fixed keyed binary genesis (so mutations get past the header);
//! [`fuzz_all`] does all three. For each file it runs verify
//! (1 and 2 threads, first / all violations), query oldest-first and
//! newest-first to exhaustion, then `Log::open` and, if that succeeded, an
//! append and close, checking that the readers agree with each other and
//! with the writer:
//!
//! - verify returns a report (never an I/O error for a readable file) whose
//!   `valid` matches its violations, and the same report on 1 and 2 threads;
//! - a valid log queries as entries `1..=n` both ways, without errors;
//! - a valid log opens without moving anything and with verify's head; a
//!   log whose only problem is a torn tail opens and moves exactly those
//!   bytes to a sidecar; a failed open leaves the file untouched;
//! - an append after a successful open adds no violation: a log that was
//!   valid (or only torn) is valid afterwards with one more entry.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use evident::format::{self, Genesis};
use evident::{
    query, verify, Chain, Durability, Event, ExpectedHead, Framing, HashAlg, Key, Log, OpenOptions,
    Order, Query, VerifyOptions, VerifyReport,
};

/// The HMAC key of the keyed genesis prefix.
pub const FUZZ_KEY: [u8; 32] = [0x42; 32];

/// Most items a query may yield for a small file before it counts as a
/// runaway iterator.
const MAX_ITEMS: usize = 1_000_000;

fn fuzz_key() -> Key {
    Key::new(FUZZ_KEY.to_vec()).unwrap()
}

/// A fixed genesis record (header included for binary framing), so that
/// entries generated once keep chaining onto it.
pub fn genesis_prefix(framing: Framing, keyed: bool) -> Vec<u8> {
    let key = keyed.then(fuzz_key);
    let alg = if keyed {
        HashAlg::HmacSha256
    } else {
        HashAlg::Sha256
    };
    let chain = Chain::new(alg, key.as_ref()).unwrap();
    let g = Genesis {
        version: format::FORMAT_VERSION,
        ts: Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap(),
        alg,
        key_id: chain.key_id().map(str::to_string),
        log_id: "00112233445566778899aabbccddeeff".into(),
        critical: Vec::new(),
    };
    let mut body = Vec::new();
    format::encode_genesis(&mut body, &g);
    let mut out = framing.file_header();
    format::frame(&mut out, framing, &body, &chain.hash(&body));
    out
}

/// The file made from `data` for variant `v`: 0 as it is, 1 after a
/// keyless JSONL genesis, 2 after a keyed (HMAC-SHA256) binary genesis.
/// Returns (name, bytes, key).
fn variant(v: u8, data: &[u8]) -> (&'static str, Vec<u8>, Option<Key>) {
    match v % 3 {
        0 => ("raw", data.to_vec(), None),
        1 => {
            let mut b = genesis_prefix(Framing::Jsonl, false);
            b.extend_from_slice(data);
            ("jsonl", b, None)
        }
        _ => {
            let mut b = genesis_prefix(Framing::Binary, true);
            b.extend_from_slice(data);
            ("binary", b, Some(fuzz_key()))
        }
    }
}

fn scratch_dir() -> PathBuf {
    thread_local! {
        static DIR: tempfile::TempDir = {
            // tmpfs when there is one: the harness fsyncs on every run.
            let shm = Path::new("/dev/shm");
            let mut b = tempfile::Builder::new();
            b.prefix("evident-fuzz-");
            if shm.is_dir() {
                b.tempdir_in(shm).or_else(|_| b.tempdir()).unwrap()
            } else {
                b.tempdir().unwrap()
            }
        };
    }
    DIR.with(|d| d.path().to_path_buf())
}

fn clear_dir(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let _ = std::fs::remove_file(e.unwrap().path());
    }
}

/// The fuzz target: the first input byte picks the variant (see
/// [`variant`]), the rest is the data. Panics on any broken invariant.
pub fn fuzz_one(input: &[u8]) {
    match input.split_first() {
        Some((&v, data)) => fuzz_variant(v, data),
        None => fuzz_variant(0, &[]),
    }
}

/// Runs the harness on `data` in all three variants.
pub fn fuzz_all(data: &[u8]) {
    for v in 0..3 {
        fuzz_variant(v, data);
    }
}

fn fuzz_variant(v: u8, data: &[u8]) {
    let dir = scratch_dir();
    let (name, bytes, key) = variant(v, data);
    clear_dir(&dir);
    let path = dir.join(format!("fuzz-{name}.log"));
    std::fs::write(&path, &bytes).unwrap();
    check_file(&path, &bytes, key, name);
    clear_dir(&dir);
}

/// Nothing appends to the file while the harness verifies it, so a torn
/// tail is not watched for a writer (the default pause of about 0.1 s per
/// torn tail was nearly all of this test's time).
fn vopts(key: &Option<Key>, threads: usize, all: bool) -> VerifyOptions {
    VerifyOptions::default()
        .key(key.clone())
        .threads(threads)
        .all(all)
        .in_flight_wait(std::time::Duration::ZERO)
}

fn check_report(r: &VerifyReport, all: bool, what: &str) {
    assert_eq!(
        r.valid,
        r.violations.is_empty(),
        "{what}: valid={} with {:?}",
        r.valid,
        r.violations
    );
    assert_eq!(r.valid, r.violations_total == 0, "{what}");
    assert!(r.violations.len() as u64 <= r.violations_total, "{what}");
    if !all {
        assert!(r.violations.len() <= 1, "{what}: {:?}", r.violations);
    } else {
        let want = r.violations_total.min(evident::verify::MAX_REPORTED as u64);
        assert_eq!(r.violations.len() as u64, want, "{what}");
    }
    if r.valid {
        assert_eq!(r.head_seq, r.entries, "{what}: valid log with a gap");
    }
}

/// Everything a query yields: `Ok` seqs and the number of errors.
fn run_query(path: &Path, q: &Query, what: &str) -> Option<(Vec<u64>, usize)> {
    let binary = std::fs::read(path)
        .map(|b| b.starts_with(&format::BINARY_MAGIC))
        .unwrap_or(false);
    let it = match query(path, q) {
        Ok(it) => it,
        Err(_) => return None,
    };
    let mut seqs = Vec::new();
    let mut errors = 0;
    for (n, item) in it.enumerate() {
        assert!(n < MAX_ITEMS, "{what}: query does not terminate");
        match item {
            Ok(e) => {
                assert_eq!(e.hash.len(), e.prev.len(), "{what}");
                seqs.push(e.seq);
            }
            Err(err) => {
                let msg = err.to_string();
                assert!(msg.contains("fuzz-"), "{what}: error names no file: {msg}");
                // A binary log has byte offsets, not lines.
                assert!(
                    !(binary && msg.contains(" line ")),
                    "{what}: binary log error names a line: {msg}"
                );
                errors += 1;
            }
        }
    }
    Some((seqs, errors))
}

fn check_file(path: &Path, bytes: &[u8], key: Option<Key>, name: &str) {
    // 1. verify: 1 and 2 threads agree; first violation = first of all.
    let mut reports = Vec::new();
    for all in [false, true] {
        let r1 = verify(path, &vopts(&key, 1, all))
            .unwrap_or_else(|e| panic!("{name}: verify returned an error: {e}"));
        check_report(&r1, all, name);
        let r2 = verify(path, &vopts(&key, 2, all)).unwrap();
        check_report(&r2, all, name);
        assert_eq!(
            (
                r1.valid,
                r1.entries,
                r1.head_seq,
                &r1.head_hash,
                &r1.violations
            ),
            (
                r2.valid,
                r2.entries,
                r2.head_seq,
                &r2.head_hash,
                &r2.violations
            ),
            "{name}: verify differs between 1 and 2 threads"
        );
        reports.push(r1);
    }
    let (first, all) = (&reports[0], &reports[1]);
    assert_eq!(first.valid, all.valid, "{name}");
    assert_eq!(
        first.violations.first(),
        all.violations.first(),
        "{name}: first violation differs with all=true"
    );
    // Checked against its own head and log id, the report stays the same.
    if let (Some(head), Some(log_id)) = (all.head(), all.log_id.clone()) {
        let mut o = vopts(&key, 1, true);
        o.expected_head = Some(ExpectedHead {
            seq: head.seq,
            hash: head.hash,
        });
        o.expected_log_id = Some(log_id);
        let again = verify(path, &o).unwrap();
        assert_eq!(
            again.violations, all.violations,
            "{name}: verify against its own head and log id"
        );
    }
    assert_eq!(
        std::fs::read(path).unwrap(),
        bytes,
        "{name}: a reader wrote"
    );

    // 2. query both ways, to exhaustion.
    let fwd = run_query(path, &Query::default(), name);
    let back = run_query(path, &Query::default().order(Order::NewestFirst), name);
    let last3 = run_query(path, &Query::last(3), name);
    if all.valid {
        let (f, fe) = fwd.unwrap_or_else(|| panic!("{name}: valid log but query fails"));
        let (b, be) = back.unwrap();
        assert_eq!((fe, be), (0, 0), "{name}: query errors on a valid log");
        let want: Vec<u64> = (1..=all.entries).collect();
        assert_eq!(f, want, "{name}: oldest-first seqs");
        let rev: Vec<u64> = want.iter().rev().copied().collect();
        assert_eq!(b, rev, "{name}: newest-first seqs");
        let (l, _) = last3.unwrap();
        assert_eq!(l, rev.iter().take(3).copied().collect::<Vec<_>>(), "{name}");
        // Seq filters, both ways.
        let (lo, hi) = (all.entries / 3 + 1, all.entries * 2 / 3);
        for order in [Order::OldestFirst, Order::NewestFirst] {
            let q = Query::default().seq_min(lo).seq_max(hi).order(order);
            let (mut got, errs) = run_query(path, &q, name).unwrap();
            if order == Order::NewestFirst {
                got.reverse();
            }
            assert_eq!(errs, 0, "{name}");
            assert_eq!(
                got,
                (lo..=hi).collect::<Vec<_>>(),
                "{name}: seq range {order:?}"
            );
        }
    } else if all.only_torn_tail() {
        // A torn tail is never an entry, and nothing before it is damaged
        // (a complete but malformed line in the tail may be an error item).
        let (f, _) = fwd.unwrap();
        let (b, _) = back.unwrap();
        let want: Vec<u64> = (1..=all.entries).collect();
        assert_eq!(f, want, "{name}: oldest-first seqs before a torn tail");
        assert_eq!(b, want.iter().rev().copied().collect::<Vec<_>>(), "{name}");
    }

    // 3. open; append and close if it opened.
    let mut opts = OpenOptions::new().durability(Durability::Buffered);
    opts.key = key.clone();
    opts.actor = Some("fuzz".into());
    opts.host = Some("fuzz".into());
    let opened = Log::open(path, opts);
    let after_open = std::fs::read(path).unwrap();
    let log = match opened {
        Err(e) => {
            assert_eq!(
                after_open, bytes,
                "{name}: failed open ({e}) changed the file"
            );
            assert!(!all.valid, "{name}: verify says valid but open fails: {e}");
            assert!(
                !all.only_torn_tail(),
                "{name}: verify finds only a torn tail but open fails: {e}"
            );
            let msg = e.to_string();
            assert!(msg.contains("fuzz-"), "{name}: error names no file: {msg}");
            return;
        }
        Ok(log) => log,
    };
    let rec = log.recovery();
    let head = log.head();
    if all.valid {
        assert!(
            rec.torn.is_empty(),
            "{name}: valid log, open moved {:?}",
            rec.torn
        );
        assert_eq!(after_open, bytes, "{name}: open changed a valid log");
        assert_eq!(head.seq, all.head_seq, "{name}: open head vs verify head");
        assert_eq!(Some(head.hash.to_hex()), all.head_hash, "{name}");
    } else if all.only_torn_tail() {
        let off = all.violations[0].offset;
        assert_eq!(
            rec.torn.len(),
            1,
            "{name}: torn tail at {off}, open: {:?}",
            rec.torn
        );
        let t = &rec.torn[0];
        assert_eq!(
            t.offset, off,
            "{name}: verify and open disagree on the torn tail"
        );
        assert_eq!(t.offset + t.len, bytes.len() as u64, "{name}");
        assert_eq!(after_open.as_slice(), &bytes[..off as usize], "{name}");
        let side = std::fs::read(&t.sidecar).unwrap();
        assert_eq!(side.as_slice(), &bytes[off as usize..], "{name}: sidecar");
        assert_eq!(head.seq, all.head_seq, "{name}");
    }
    for t in &rec.torn {
        // Whatever was moved is kept, byte for byte.
        let side = std::fs::read(&t.sidecar).unwrap();
        assert_eq!(
            side.as_slice(),
            &bytes[t.offset as usize..(t.offset + t.len) as usize],
            "{name}: sidecar content"
        );
        assert_eq!(after_open.len() as u64, t.offset, "{name}");
    }
    let ev = Event::new("FUZZ", "append").details(serde_json::json!({"n": 1}));
    let h = log
        .append(&ev)
        .unwrap_or_else(|e| panic!("{name}: append after open: {e}"));
    assert_eq!(h.seq, head.seq + 1, "{name}");
    log.close()
        .unwrap_or_else(|e| panic!("{name}: close after append: {e}"));
    drop(log);

    // 4. the append added no violation.
    let post = verify(path, &vopts(&key, 1, true)).unwrap();
    check_report(&post, true, name);
    let old_len = after_open.len() as u64;
    assert!(
        post.violations.iter().all(|v| v.offset < old_len),
        "{name}: the appended entry is a violation: {:?}",
        post.violations
    );
    assert_eq!(post.head_seq, head.seq + 1, "{name}: head after append");
    if all.valid || all.only_torn_tail() {
        assert!(post.valid, "{name}: after append: {:?}", post.violations);
        assert_eq!(post.entries, all.entries + 1, "{name}");
    }
}

// ------------------------------------------------------------------ tests --

#[cfg(test)]
#[path = "support/fuzz.rs"]
mod fuzz_support;

#[cfg(test)]
mod tests {
    use super::fuzz_support::*;
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Every crash input the fuzzer found, and the hand-made seeds.
    #[test]
    fn fuzz_regressions() {
        let files = fixtures("fuzz");
        assert!(files.len() >= 10, "fixtures missing");
        for (p, b) in files {
            // As the fuzzer ran it (first byte = variant), and the whole
            // file as data in every variant.
            let r = std::panic::catch_unwind(|| {
                fuzz_one(&b);
                fuzz_all(&b);
            });
            if let Err(e) = r {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("{}: {msg}", p.display());
            }
        }
    }

    fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
        let mut b = seeds[rng.gen_range(0..seeds.len())].clone();
        for _ in 0..rng.gen_range(1..5) {
            let len = b.len();
            match rng.gen_range(0..8) {
                0 if len > 0 => {
                    let i = rng.gen_range(0..len);
                    b[i] ^= 1 << rng.gen_range(0..8);
                }
                1 if len > 0 => {
                    let i = rng.gen_range(0..len);
                    b[i] = rng.gen();
                }
                2 => b.truncate(rng.gen_range(0..=len)),
                3 => {
                    let i = rng.gen_range(0..=len);
                    let n = rng.gen_range(1..16);
                    let ins: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
                    b.splice(i..i, ins);
                }
                4 if len > 0 => {
                    let i = rng.gen_range(0..len);
                    let j = rng.gen_range(i..=len.min(i + 64));
                    b.drain(i..j);
                }
                5 => {
                    // Splice in a piece of another seed.
                    let o = &seeds[rng.gen_range(0..seeds.len())];
                    if !o.is_empty() {
                        let a = rng.gen_range(0..o.len());
                        let z = rng.gen_range(a..=o.len());
                        let i = rng.gen_range(0..=len);
                        b.splice(i..i, o[a..z].iter().copied());
                    }
                }
                6 if len >= 4 => {
                    // An interesting length value.
                    let i = rng.gen_range(0..len - 3);
                    let v: u32 = [0, 1, 2, 0x7fff_ffff, 0xffff_ffff, 16 << 20, (16 << 20) + 1]
                        [rng.gen_range(0..7)];
                    b[i..i + 4].copy_from_slice(&v.to_le_bytes());
                }
                _ => {
                    let i = rng.gen_range(0..=len);
                    let tok: &[u8] = [
                        b"\n".as_slice(),
                        b"{",
                        b"}",
                        b"\"",
                        b"\\",
                        b"\r\n",
                        b"\0",
                        b",\"hash\":\"",
                    ][rng.gen_range(0..8)];
                    b.splice(i..i, tok.iter().copied());
                }
            }
        }
        b.truncate(4096);
        b
    }

    /// Random mutations of the fixtures (a fixed seed; more with
    /// `EVIDENT_FUZZ_CASES`).
    #[test]
    fn random_mutations() {
        let seeds: Vec<Vec<u8>> = fixtures("fuzz").into_iter().map(|(_, b)| b).collect();
        let (cases, seed) = cases_and_seed(2000, 0xF022);
        let mut rng = StdRng::seed_from_u64(seed);
        for case in 0..cases {
            let mut b = mutate(&mut rng, &seeds);
            b.insert(0, rng.gen_range(0..3));
            let r = std::panic::catch_unwind(|| fuzz_one(&b));
            if let Err(e) = r {
                let out = std::env::temp_dir().join(format!("evident-fuzz-failure-{case}"));
                let _ = std::fs::write(&out, &b);
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!(
                    "case {case} (seed {seed}); input saved to {}: {msg}",
                    out.display()
                );
            }
        }
    }

    /// Rewrites the hand-made seeds in `tests/fixtures/fuzz/` (run with
    /// `--ignored` after a format change).
    #[test]
    #[ignore = "writes the seed fixtures"]
    fn write_seed_fixtures() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in seeds::all() {
            std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
        }
    }
}

/// Hand-made nasty inputs.
#[cfg(test)]
mod seeds {
    use super::*;

    /// Entries that chain onto [`genesis_prefix`] (bytes after it).
    pub fn entries_after_genesis(framing: Framing, keyed: bool, n: u64) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.log");
        let prefix = genesis_prefix(framing, keyed);
        std::fs::write(&path, &prefix).unwrap();
        let mut opts = OpenOptions::new().durability(Durability::Buffered);
        opts.key = keyed.then(fuzz_key);
        opts.actor = Some("seed".into());
        opts.host = Some("seed-host".into());
        let log = Log::open(&path, opts).unwrap();
        for i in 0..n {
            let mut ev = Event::new("SEED", format!("a{i}"))
                .session("s")
                .details(serde_json::json!({"i": i, "s": "é\"\\\n"}));
            ev.ts = Some(Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 6).unwrap());
            log.append(&ev).unwrap();
        }
        log.close().unwrap();
        let all = std::fs::read(&path).unwrap();
        all[prefix.len()..].to_vec()
    }

    fn frame(body: &[u8], hash_len: u16, body_len: Option<u32>) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&body_len.unwrap_or(body.len() as u32).to_le_bytes());
        f.extend_from_slice(&hash_len.to_le_bytes());
        f.extend_from_slice(&0u16.to_le_bytes());
        f.extend_from_slice(body);
        f.extend(std::iter::repeat_n(0xAB, hash_len as usize));
        let crc = crc32fast::hash(&f);
        f.extend_from_slice(&crc.to_le_bytes());
        let n = (f.len() + 4) as u32;
        f.extend_from_slice(&n.to_le_bytes());
        f
    }

    pub fn all() -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = Vec::new();
        let j = entries_after_genesis(Framing::Jsonl, false, 4);
        let b = entries_after_genesis(Framing::Binary, true, 4);
        let jg = genesis_prefix(Framing::Jsonl, false);
        let bg = genesis_prefix(Framing::Binary, true);
        v.push(("jsonl-entries".into(), j.clone()));
        v.push(("binary-entries".into(), b.clone()));
        v.push(("jsonl-whole-log".into(), [jg.clone(), j.clone()].concat()));
        v.push(("binary-whole-log".into(), [bg.clone(), b.clone()].concat()));
        v.push(("jsonl-torn".into(), j[..j.len() - 17].to_vec()));
        v.push(("binary-torn".into(), b[..b.len() - 17].to_vec()));
        // Entries in the other framing / chained to the other genesis.
        v.push(("jsonl-reordered".into(), {
            let lines: Vec<&[u8]> = j.split_inclusive(|c| *c == b'\n').collect();
            [lines[1], lines[0], lines[2], lines[3]].concat()
        }));
        v.push(("jsonl-duplicated".into(), [j.clone(), j.clone()].concat()));
        v.push(("jsonl-crlf".into(), {
            let mut x = Vec::new();
            for c in &j {
                if *c == b'\n' {
                    x.push(b'\r');
                }
                x.push(*c);
            }
            x
        }));
        v.push(("jsonl-no-final-newline".into(), j[..j.len() - 1].to_vec()));
        v.push(("jsonl-zeros".into(), [j.clone(), vec![0u8; 600]].concat()));
        v.push(("binary-zeros".into(), [b.clone(), vec![0u8; 600]].concat()));
        v.push(("jsonl-long-line".into(), vec![b'{'; 4000]));
        v.push(("jsonl-deep-nesting".into(), {
            let mut x = b"{\"v\":1,\"seq\":1,\"details\":".to_vec();
            x.extend(std::iter::repeat_n(b'[', 2000));
            x.extend(std::iter::repeat_n(b']', 2000));
            x.extend_from_slice(b"}\n");
            x
        }));
        v.push((
            "jsonl-second-genesis".into(),
            [jg.clone(), j.clone()].concat(),
        ));
        v.push((
            "binary-second-genesis".into(),
            [bg[16..].to_vec(), b.clone()].concat(),
        ));
        v.push(("binary-header-only".into(), bg[..16].to_vec()));
        v.push(("binary-bad-version".into(), {
            let mut x = bg.clone();
            x[8] = 2;
            x
        }));
        // Binary length fields: 0, more than remains, the maximum.
        for (name, len) in [
            ("len-zero", 0u32),
            ("len-one", 1),
            ("len-past-end", 5000),
            ("len-max-body", 16 << 20),
            ("len-over-max", (16 << 20) + 1),
            ("len-u32-max", u32::MAX),
        ] {
            v.push((
                format!("binary-{name}"),
                [b.clone(), frame(b"{\"v\":1}", 32, Some(len))].concat(),
            ));
        }
        v.push((
            "binary-bad-hash-len".into(),
            [b.clone(), frame(b"{\"v\":1,\"seq\":5}", 48, None)].concat(),
        ));
        v.push((
            "binary-valid-crc-not-json".into(),
            [b.clone(), frame(b"\xff\xfe not json", 32, None)].concat(),
        ));
        v.push((
            "binary-valid-crc-unknown-kind".into(),
            [
                b.clone(),
                frame(
                    format!(
                        "{{\"v\":1,\"seq\":5,\"prev\":\"{}\",\"kind\":\"checkpoint\"}}",
                        "ab".repeat(32)
                    )
                    .as_bytes(),
                    32,
                    None,
                ),
            ]
            .concat(),
        ));
        v.push((
            "jsonl-huge-seq".into(),
            format!(
                "{{\"v\":1,\"seq\":18446744073709551615,\"prev\":\"{}\",\"kind\":\"entry\",\"hash\":\"{}\"}}\n",
                "00".repeat(32),
                "11".repeat(32)
            )
            .into_bytes(),
        ));
        v.push(("jsonl-invalid-utf8".into(), {
            let mut x = j.clone();
            let p = x.iter().position(|c| *c == b'\xc3').unwrap();
            x[p] = 0xff;
            x
        }));
        v.push(("empty".into(), Vec::new()));
        v.push(("one-newline".into(), b"\n".to_vec()));
        v
    }
}
