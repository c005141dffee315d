//! The fuzz harness of the OpenParallax legacy reader
//! (`evident::legacy_openparallax`), shared by the cargo-fuzz target
//! `openparallax` (`fuzz/fuzz_targets/openparallax.rs` includes this file
//! with `#[path]`) and this test, which replays every input in
//! `tests/fixtures/fuzz-openparallax/` and a few thousand random mutations
//! of them.
//!
//! [`fuzz_one`] gives the bytes to the reader twice:
//!
//! 1. as they are, as a file: `is_openparallax`, `verify`, `read_entries`
//!    (all and the last two), and `import` when the file verifies. Nothing
//!    may panic; an error names the file; `verify` counts no more entries
//!    than `read_entries` reads; a file that verifies imports into a log
//!    that evident verifies, from which every legacy entry (all its hashed
//!    fields) comes back and hashes to its recorded hash.
//! 2. each line `parse_line` accepts, as a chain: the entries re-linked
//!    (`previous_hash`, `hash` recomputed) and written back with `to_line`
//!    (Go's encoding), which must parse to the same entry, and the file
//!    must verify, import and come back as in 1. This carries whatever odd
//!    text the fuzzer puts into ids, details and sessions through the
//!    writer, the verifier and the import.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use evident::legacy_openparallax::{self as op, parse_line, ImportOptions, LegacyQuery};
use evident::{query, Query, VerifyOptions};

fn scratch_dir() -> PathBuf {
    thread_local! {
        static DIR: tempfile::TempDir = {
            let shm = Path::new("/dev/shm");
            let mut b = tempfile::Builder::new();
            b.prefix("evident-op-fuzz-");
            if shm.is_dir() {
                b.tempdir_in(shm).or_else(|_| b.tempdir()).unwrap()
            } else {
                b.tempdir().unwrap()
            }
        };
    }
    DIR.with(|d| d.path().to_path_buf())
}

fn names_file(e: &evident::Error, p: &Path) {
    let msg = e.to_string();
    let name = p.file_name().unwrap().to_string_lossy();
    assert!(msg.contains(name.as_ref()), "error names no file: {msg}");
}

/// Reads, verifies and (when it verifies) imports the file at `p`.
/// Returns whether it verified.
fn check_file(p: &Path, dir: &Path) -> bool {
    let is_op = match op::is_openparallax(p) {
        Ok(b) => b,
        Err(e) => {
            names_file(&e, p);
            return false;
        }
    };
    let report = match op::verify(p) {
        Ok(r) => r,
        Err(e) => {
            names_file(&e, p);
            return false;
        }
    };
    let all = match op::read_entries(p, &LegacyQuery::new()) {
        Ok(v) => v,
        Err(e) => {
            names_file(&e, p);
            return false;
        }
    };
    let last2 = op::read_entries(p, &LegacyQuery::new().limit(2)).unwrap();
    assert_eq!(
        last2.as_slice(),
        &all[..all.len().min(2)],
        "limit 2 is not the newest two"
    );
    if report.valid {
        assert_eq!(report.line, 0, "{report:?}");
        assert!(report.error.is_empty(), "{report:?}");
        assert_eq!(report.entries as usize, all.len(), "{report:?}");
    } else {
        assert!(report.line >= 1 && !report.error.is_empty(), "{report:?}");
        assert!(report.kind.is_some(), "{report:?}");
    }
    if !(report.valid && is_op) {
        return report.valid;
    }
    let dst = dir.join("fuzz-op-imported.jsonl");
    let _ = std::fs::remove_file(&dst);
    let _ = std::fs::remove_file(dir.join("fuzz-op-imported.jsonl.lock"));
    let r = match op::import(p, &dst, &ImportOptions::new()) {
        Ok(r) => r,
        // An entry whose details are too large for a record is refused
        // with its line named; nothing else may fail.
        Err(e) => panic!("a file that verifies does not import: {e}"),
    };
    assert_eq!(r.entries as usize, all.len());
    assert_eq!(r.head_seq, r.entries + 1, "{r:?}");
    let rep = evident::verify(&dst, &VerifyOptions::default().threads(1)).unwrap();
    assert!(rep.valid, "the imported log does not verify: {rep:?}");
    assert_eq!(rep.entries, r.entries + 1);
    let entries: Vec<_> = query(&dst, &Query::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (e, l) in entries.iter().zip(all.iter().rev()) {
        let back = op::legacy_of(e)
            .unwrap_or_else(|| panic!("imported entry {} holds no legacy entry", e.seq));
        assert_eq!(&back, l, "entry {} does not come back", e.seq);
        assert_eq!(back.computed_hash(), back.hash, "entry {}", e.seq);
    }
    let _ = std::fs::remove_file(&dst);
    let _ = std::fs::remove_file(dir.join("fuzz-op-imported.jsonl.lock"));
    true
}

/// The fuzz target. Panics on any broken invariant.
pub fn fuzz_one(data: &[u8]) {
    let dir = scratch_dir();
    let path = dir.join("fuzz-op.jsonl");
    std::fs::write(&path, data).unwrap();
    check_file(&path, &dir);

    // The lines that parse, re-linked into a valid chain.
    let mut prev = String::new();
    let mut out = Vec::new();
    let mut n = 0usize;
    for line in data.split(|&b| b == b'\n') {
        let Ok(mut e) = parse_line(line) else {
            continue;
        };
        e.previous_hash = prev.clone();
        e.hash = e.computed_hash();
        prev = e.hash.clone();
        let text = e.to_line();
        let back = parse_line(&text).unwrap_or_else(|err| {
            panic!(
                "to_line does not parse: {err}: {}",
                String::from_utf8_lossy(&text)
            )
        });
        assert_eq!(
            back.canonical(),
            e.canonical(),
            "to_line does not read back as the same entry"
        );
        assert_eq!(back.computed_hash(), e.hash);
        out.extend_from_slice(&text);
        out.push(b'\n');
        n += 1;
    }
    if n == 0 {
        return;
    }
    let chained = dir.join("fuzz-op-chain.jsonl");
    std::fs::write(&chained, &out).unwrap();
    assert!(
        op::is_openparallax(&chained).unwrap(),
        "a file written by to_line is not recognised"
    );
    assert!(
        check_file(&chained, &dir),
        "a chain written by to_line does not verify: {:?}",
        op::verify(&chained).unwrap()
    );
}

#[cfg(test)]
#[path = "support/fuzz.rs"]
mod fuzz_support;

#[cfg(test)]
mod tests {
    use super::fuzz_support::*;
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::time::Duration;

    fn run(what: &str, input: &[u8]) {
        run_within(what, Duration::from_secs(2), || fuzz_one(input));
    }

    #[test]
    fn openparallax_fuzz_regressions() {
        let files = fixtures("fuzz-openparallax");
        assert!(files.len() >= 3, "fixtures missing");
        for (p, b) in &files {
            run(&p.display().to_string(), b);
        }
    }

    fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
        let mut b = seeds[rng.gen_range(0..seeds.len())].clone();
        for _ in 0..rng.gen_range(1..4) {
            let len = b.len();
            match rng.gen_range(0..5) {
                0 if len > 0 => {
                    let i = rng.gen_range(0..len);
                    b[i] ^= 1 << rng.gen_range(0..8);
                }
                1 if len > 0 => {
                    let i = rng.gen_range(0..len);
                    let j = rng.gen_range(i..=len.min(i + 16));
                    b.drain(i..j);
                }
                2 if len > 0 => {
                    let i = rng.gen_range(0..len);
                    if let Some(p) = b[i..].iter().position(u8::is_ascii_digit) {
                        let tok: &[u8] = [
                            b"0".as_slice(),
                            b"1e400",
                            b"-0.0",
                            b"99999999999999999999999",
                            b"9007199254740993",
                            b"5e-324",
                            b"1.5",
                        ][rng.gen_range(0..7)];
                        b.splice(i + p..i + p + 1, tok.iter().copied());
                    }
                }
                _ => {
                    let i = rng.gen_range(0..=len);
                    let tok: &[u8] = [
                        b"\n".as_slice(),
                        b"\r\n",
                        b"\"\\ud800\"",
                        b"\\u2028",
                        b"<>&",
                        b"\xe2\x80\xa8",
                        b"\xff",
                        b"[",
                        b"{",
                        b"\\",
                        b"\"ID\":\"x\",",
                        b"\"details_json\":\"{\\\"a\\\":1}\",",
                        b"null",
                        b" \t",
                    ][rng.gen_range(0..14)];
                    b.splice(i..i, tok.iter().copied());
                }
            }
        }
        b
    }

    #[test]
    fn openparallax_random_mutations() {
        let seeds: Vec<Vec<u8>> = fixtures("fuzz-openparallax")
            .into_iter()
            .map(|(_, b)| b)
            .collect();
        let (cases, seed) = cases_and_seed(1500, 0x0FA1_1A11);
        let mut rng = StdRng::seed_from_u64(seed);
        for case in 0..cases {
            let input = mutate(&mut rng, &seeds);
            run(&format!("case {case} of seed {seed}"), &input);
        }
    }
}
