//! The session-file fuzz harness, shared by the cargo-fuzz target
//! `session_load` (`fuzz/fuzz_targets/session_load.rs` includes this file
//! with `#[path]`) and this test, which replays every input in
//! `tests/fixtures/fuzz-session/` (crash inputs found by the fuzzer and
//! hand-made seeds) and a few thousand random mutations of them.
//!
//! [`fuzz_one`]: the first input byte picks how the rest becomes a session
//! file ([`variant`]):
//!
//! - 0: the bytes as they are;
//! - 1: a fixed keyless header and genesis, then the bytes;
//! - 2 and 3: the bytes are a whole session file whose integrity fields the
//!   harness recomputes ([`fix_up`]) keyless (2) or with the HMAC key
//!   [`FUZZ_KEY`] (3): every record's hash, CRC and `prev`, every data
//!   frame's SHA-256 and CRC, and every reference to a hash that changed.
//!   Mutations inside record bodies and samples then reach the loader's
//!   checks of what the records say (offsets, lengths, sample types,
//!   encodings, sections) instead of stopping at a CRC.
//!
//! For each file it runs `Session::load` (newest and every listed version),
//! `versions`, `verify_session`, reads every trace (`bytes`, `as_slice`,
//! `verify`), `to_json`, `summary`, and checks:
//!
//! - nothing panics, and every error names the file;
//! - `verify_session`'s `ok` matches its problems; a file it calls ok loads
//!   in every version, and every trace of it reads and verifies;
//! - `load` and `versions` agree on the newest version and its commit;
//! - readers never write;
//! - a session that loads (and whose samples read) saves into a new file
//!   and loads back with the same content;
//! - a file that verifies (a torn tail allowed) takes a new version, which
//!   loads, and after which the file still verifies.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use evident::session::*;
use evident::{Chain, Error, HashAlg, Key};

/// The HMAC key of variant 3.
pub const FUZZ_KEY: [u8; 32] = [0x42; 32];

/// The largest record body the format allows.
const MAX_BODY: usize = 16 * 1024 * 1024;

fn fuzz_key() -> Key {
    Key::new(FUZZ_KEY.to_vec()).unwrap()
}

/// A fixed keyless header and genesis (the start of a real session file).
pub fn genesis_prefix() -> Vec<u8> {
    let body = br#"{"v":1,"seq":0,"prev":"0000000000000000000000000000000000000000000000000000000000000000","kind":"genesis","ts":"2024-01-02T03:04:05.000000Z","format":"evident-session","alg":"sha256","log_id":"00112233445566778899aabbccddeeff"}"#;
    let chain = Chain::new(HashAlg::Sha256, None).unwrap();
    let mut out = SESSION_MAGIC.to_vec();
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    evident::format::frame(&mut out, evident::Framing::Binary, body, &chain.hash(body));
    out
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn replace_all(buf: &mut [u8], from: &[u8], to: &[u8]) {
    debug_assert_eq!(from.len(), to.len());
    if from.is_empty() || from == to {
        return;
    }
    let mut i = 0;
    while i + from.len() <= buf.len() {
        if &buf[i..i + from.len()] == from {
            buf[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
}

/// Recomputes the integrity fields of a session file (see the module
/// documentation), frame by frame, as far as the length fields make sense.
/// Offsets never move: every rewrite has the same length.
pub fn fix_up(mut b: Vec<u8>, chain: &Chain) -> Vec<u8> {
    use sha2::Digest;
    let zero = chain.zero();
    let hash_len = zero.as_bytes().len();
    let mut prev_hex = zero.to_hex();
    // (old hex, new hex) of every hash that changed.
    let mut map: Vec<(String, String)> = Vec::new();
    // The SHA-256 of each section record's content, by the record's offset
    // (a commit names it).
    let mut contents: std::collections::HashMap<u64, String> = Default::default();
    let mut at = 16usize;
    while at + 8 <= b.len() {
        let Some(first) = u32_at(&b, at) else { break };
        if first == u32::MAX {
            // A data frame.
            let Some(head) = b.get(at..at + 20) else {
                break;
            };
            let data_len = u64::from_le_bytes(head[8..16].try_into().unwrap());
            let pad = u32::from_le_bytes(head[16..20].try_into().unwrap()) as u64;
            let data_at = at as u64 + 20 + pad;
            let Some(end) = data_at
                .checked_add(data_len)
                .and_then(|e| e.checked_add(36))
                .filter(|e| *e <= b.len() as u64)
            else {
                break;
            };
            let (data_at, data_end, end) = (
                data_at as usize,
                (data_at + data_len) as usize,
                end as usize,
            );
            let digest = sha2::Sha256::digest(&b[data_at..data_end]);
            let old = hex::encode(&b[data_end..data_end + 32]);
            let new = hex::encode(digest);
            b[data_end..data_end + 32].copy_from_slice(&digest);
            let mut crc = crc32fast::Hasher::new();
            crc.update(&b[at..at + 20]);
            crc.update(&digest);
            b[data_end + 32..end].copy_from_slice(&crc.finalize().to_le_bytes());
            if old != new {
                map.push((old, new));
            }
            at = end;
            continue;
        }
        let body_len = first as usize;
        let hl = u16::from_le_bytes([b[at + 4], b[at + 5]]) as usize;
        if !(2..=MAX_BODY).contains(&body_len) || hl != hash_len {
            break;
        }
        let end = at + 8 + body_len + hl + 8;
        if end > b.len() {
            break;
        }
        let (body_at, hash_at) = (at + 8, at + 8 + body_len);
        {
            let body = &mut b[body_at..hash_at];
            for (o, n) in &map {
                replace_all(body, o.as_bytes(), n.as_bytes());
            }
            // A commit's section references get their content's SHA-256.
            // (No serde derive: the cargo-fuzz crate shares this file.)
            type Members = std::collections::BTreeMap<String, Box<serde_json::value::RawValue>>;
            if let Ok(m) = serde_json::from_slice::<Members>(body) {
                let kind = m.get("kind").map(|k| k.get().to_string());
                match (kind.as_deref(), m.get("content")) {
                    (Some("\"section\""), Some(c)) => {
                        contents.insert(
                            at as u64,
                            hex::encode(sha2::Sha256::digest(c.get().as_bytes())),
                        );
                    }
                    (Some("\"commit\""), _) => {
                        let refs: Vec<serde_json::Value> = m
                            .get("sections")
                            .and_then(|r| serde_json::from_str(r.get()).ok())
                            .unwrap_or_default();
                        let mut pairs = Vec::new();
                        for sr in &refs {
                            let (Some(a), Some(old)) = (sr["at"].as_u64(), sr["content"].as_str())
                            else {
                                continue;
                            };
                            if let Some(new) = contents.get(&a).filter(|n| n.len() == old.len()) {
                                pairs.push((old.to_string(), new.clone()));
                            }
                        }
                        for (o, n) in pairs {
                            replace_all(body, o.as_bytes(), n.as_bytes());
                        }
                    }
                    _ => {}
                }
            }
            // The first "prev":"…" gets the previous record's hash.
            let key = b"\"prev\":\"";
            if let Some(i) = body.windows(key.len()).position(|w| w == key) {
                let s = i + key.len();
                if let Some(dst) = body.get_mut(s..s + 2 * hash_len) {
                    dst.copy_from_slice(prev_hex.as_bytes());
                }
            }
        }
        let h = chain.hash(&b[body_at..hash_at]);
        let old = hex::encode(&b[hash_at..hash_at + hl]);
        b[hash_at..hash_at + hl].copy_from_slice(h.as_bytes());
        let crc = crc32fast::hash(&b[at..hash_at + hl]);
        b[hash_at + hl..hash_at + hl + 4].copy_from_slice(&crc.to_le_bytes());
        b[end - 4..end].copy_from_slice(&((end - at) as u32).to_le_bytes());
        prev_hex = h.to_hex();
        if old != prev_hex {
            map.push((old, prev_hex.clone()));
        }
        at = end;
    }
    b
}

/// The file made from `data` for variant `v`, and the key to read it with.
pub fn variant(v: u8, data: &[u8]) -> (&'static str, Vec<u8>, Option<Key>) {
    match v % 4 {
        0 => ("raw", data.to_vec(), None),
        1 => {
            let mut b = genesis_prefix();
            b.extend_from_slice(data);
            ("genesis", b, None)
        }
        2 => {
            let chain = Chain::new(HashAlg::Sha256, None).unwrap();
            ("fixed", fix_up(data.to_vec(), &chain), None)
        }
        _ => {
            let key = fuzz_key();
            let chain = Chain::new(HashAlg::HmacSha256, Some(&key)).unwrap();
            ("keyed", fix_up(data.to_vec(), &chain), Some(key))
        }
    }
}

fn scratch_dir() -> PathBuf {
    thread_local! {
        static DIR: tempfile::TempDir = {
            // tmpfs when there is one: saves fsync.
            let shm = Path::new("/dev/shm");
            let mut b = tempfile::Builder::new();
            b.prefix("evident-session-fuzz-");
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

/// The fuzz target: the first byte picks the variant, the rest is the data.
/// Panics on any broken invariant.
pub fn fuzz_one(input: &[u8]) {
    match input.split_first() {
        Some((&v, data)) => fuzz_variant(v, data),
        None => fuzz_variant(0, &[]),
    }
}

/// Runs the harness on `data` in every variant.
pub fn fuzz_all(data: &[u8]) {
    for v in 0..4 {
        fuzz_variant(v, data);
    }
}

fn fuzz_variant(v: u8, data: &[u8]) {
    let dir = scratch_dir();
    let (name, bytes, key) = variant(v, data);
    clear_dir(&dir);
    let path = dir.join(format!("fuzz-{name}.evs"));
    std::fs::write(&path, &bytes).unwrap();
    check_file(&dir, &path, &bytes, key, name);
    clear_dir(&dir);
}

fn named(e: &Error, what: &str) {
    let msg = e.to_string();
    assert!(msg.contains("fuzz-"), "{what}: error names no file: {msg}");
}

/// Everything but where it is stored, as JSON, and the samples.
fn content(s: &Session) -> (serde_json::Value, Vec<Vec<u8>>) {
    let mut v = s.to_json();
    let o = v.as_object_mut().unwrap();
    for k in ["path", "version", "commit"] {
        o.remove(k);
    }
    for t in o["traces"].as_array_mut().unwrap() {
        let t = t.as_object_mut().unwrap();
        t.remove("mapped");
        t.remove("compressed");
    }
    let samples = s
        .traces()
        .map(|(_, t)| t.bytes().map(|b| b.to_vec()).unwrap_or_default())
        .collect();
    (v, samples)
}

/// Reads everything of a loaded session; true when every trace's samples
/// read and verify.
fn exercise(s: &Session, what: &str) -> bool {
    let _ = s.to_json();
    let _ = s.summary();
    let _ = s.annotations(None, Some((-1.0, 1.0)));
    let _ = s.annotations(Some("default"), None);
    let mut all_ok = true;
    for (n, t) in s.traces() {
        let verified = t.verify();
        if let Err(e) = &verified {
            named(e, what);
        }
        match t.bytes() {
            Ok(b) => {
                assert_eq!(
                    Some(b.len() as u64),
                    t.dtype().byte_len(t.len()),
                    "{what}: trace {n}: bytes for {} samples of {}",
                    t.len(),
                    t.dtype().name()
                );
            }
            Err(e) => {
                named(&e, what);
                all_ok = false;
            }
        }
        all_ok &= verified.is_ok();
        let _ = match t.dtype() {
            Dtype::F64 => t.as_slice::<f64>().map(|x| x.len()),
            Dtype::F32 => t.as_slice::<f32>().map(|x| x.len()),
            Dtype::I8 => t.as_slice::<i8>().map(|x| x.len()),
            Dtype::I16 => t.as_slice::<i16>().map(|x| x.len()),
            Dtype::I32 => t.as_slice::<i32>().map(|x| x.len()),
            Dtype::I64 => t.as_slice::<i64>().map(|x| x.len()),
            Dtype::U8 => t.as_slice::<u8>().map(|x| x.len()),
            Dtype::U16 => t.as_slice::<u16>().map(|x| x.len()),
            Dtype::U32 => t.as_slice::<u32>().map(|x| x.len()),
            Dtype::U64 => t.as_slice::<u64>().map(|x| x.len()),
            Dtype::Bool => t.as_slice::<bool>().map(|x| x.len()),
            Dtype::Bit => t.as_slice::<u8>().map(|x| x.len()),
        };
    }
    all_ok
}

fn check_file(dir: &Path, path: &Path, bytes: &[u8], key: Option<Key>, name: &str) {
    let lopts = |version| LoadOptions::default().key(key.clone()).version(version);

    // 1. The readers.
    let report = verify_session(path, key.as_ref());
    let listed = versions(path, key.as_ref());
    let loaded = Session::load(path, &lopts(None));
    for e in [
        report.as_ref().err(),
        listed.as_ref().err(),
        loaded.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    {
        named(e, name);
    }
    assert_eq!(
        std::fs::read(path).unwrap(),
        bytes,
        "{name}: a reader wrote"
    );
    if let Ok(r) = &report {
        assert_eq!(r.ok, r.problems.is_empty(), "{name}: {r:?}");
        assert!(
            r.head_version.is_some() == r.head_commit.is_some(),
            "{name}"
        );
    }
    match (&loaded, &listed) {
        (Ok(s), Ok(vs)) => {
            let last = vs.last().expect("loaded a version of a file without any");
            assert_eq!(s.version(), Some(last.version), "{name}: newest version");
            assert_eq!(
                s.commit().map(|c| c.to_hex()).as_deref(),
                Some(last.commit.as_str()),
                "{name}: newest commit"
            );
        }
        // An older commit record that does not parse fails the listing
        // (with an error naming it) while the newest version loads; such a
        // file must not verify.
        (Ok(_), Err(e)) => assert!(
            !matches!(&report, Ok(r) if r.ok),
            "{name}: verifies and loads, but versions fails: {e}"
        ),
        _ => {}
    }
    let mut samples_ok = false;
    if let Ok(s) = &loaded {
        samples_ok = exercise(s, name);
    }
    // Every listed version (a few).
    if let Ok(vs) = &listed {
        for x in vs.iter().rev().take(6) {
            match Session::load(path, &lopts(Some(x.version))) {
                Ok(s) => {
                    // Versions are numbered by their commits; the newest
                    // of a number is the one loaded.
                    assert_eq!(s.version(), Some(x.version), "{name}");
                    exercise(&s, name);
                }
                Err(e) => named(&e, name),
            }
        }
    }
    let ok = matches!(&report, Ok(r) if r.ok);
    if ok {
        let r = report.as_ref().unwrap();
        if r.versions > 0 {
            let s = loaded
                .as_ref()
                .unwrap_or_else(|e| panic!("{name}: verify_session ok, load fails: {e}"));
            assert!(samples_ok, "{name}: verify_session ok, but a trace fails");
            assert_eq!(r.head_version, s.version(), "{name}");
            for x in listed.as_ref().unwrap() {
                if let Err(e) = Session::load(path, &lopts(Some(x.version))) {
                    panic!(
                        "{name}: verify_session ok, version {} fails: {e}",
                        x.version
                    );
                }
            }
        }
    }

    // 2. What loads (and whose samples read) saves elsewhere and loads
    //    back the same.
    let readable = |s: &Session| s.traces().all(|(_, t)| t.bytes().is_ok());
    if let (Ok(s), true) = (&loaded, samples_ok && loaded.as_ref().is_ok_and(readable)) {
        let mut copy = s.clone();
        let out = dir.join("fuzz-copy.evs");
        let opts = SaveOptions::default().sync(false);
        match copy.save(Some(&out), &opts) {
            Ok(_) => {
                let back = Session::load(&out, &LoadOptions::default())
                    .unwrap_or_else(|e| panic!("{name}: load of the re-saved copy: {e}"));
                assert_eq!(content(s), content(&back), "{name}: re-saved copy differs");
            }
            Err(e) => panic!("{name}: a loaded session does not save: {e}"),
        }
    }

    // 3. A file that verifies (torn tail allowed) takes a new version.
    if ok {
        let before = versions(path, key.as_ref()).unwrap();
        // The loaded session itself (not a copy next to it): on Windows a
        // save cannot cut a torn tail while another session maps the file
        // (ERROR_USER_MAPPED_FILE; the save says so), and it detaches only
        // its own session's mappings.
        let mut s = match loaded {
            Ok(s) => s,
            Err(_) => Session::new("fuzz"),
        };
        s.annotate("fuzz", Annotation::new("appended by the fuzz harness"))
            .unwrap();
        let opts = SaveOptions::default().sync(false).key(key.clone());
        let info = s
            .save(Some(path), &opts)
            .unwrap_or_else(|e| panic!("{name}: save onto a file that verifies: {e}"));
        let after = versions(path, key.as_ref()).unwrap();
        assert_eq!(after.len(), before.len() + 1, "{name}: versions after save");
        assert_eq!(after.last().unwrap().version, info.version, "{name}");
        let back = Session::load(path, &lopts(None)).unwrap();
        assert_eq!(content(&s), content(&back), "{name}: the appended version");
        let r = verify_session(path, key.as_ref()).unwrap();
        assert!(
            r.ok && r.torn_tail_at.is_none(),
            "{name}: after save: {r:?}"
        );
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

    /// Every crash input the fuzzer found, and the hand-made seeds: as the
    /// fuzzer ran them (first byte = variant) and as data in every variant.
    #[test]
    fn session_fuzz_regressions() {
        let files = fixtures("fuzz-session");
        assert!(files.len() >= 10, "fixtures missing");
        for (p, b) in files {
            let r = std::panic::catch_unwind(|| {
                take_largest();
                fuzz_one(&b);
                fuzz_all(&b);
                let big = take_largest();
                assert!(big <= ALLOC_LIMIT, "an allocation of {big} bytes");
            });
            if let Err(e) = r {
                panic!("{}: {}", p.display(), panic_text(e));
            }
        }
    }

    /// Replays every file of the directory `EVIDENT_SESSION_FUZZ_REPLAY`
    /// (a fuzzer corpus, say) with the allocation guard; nothing when unset.
    #[test]
    fn session_fuzz_replay_dir() {
        let Some(dir) = std::env::var_os("EVIDENT_SESSION_FUZZ_REPLAY") else {
            return;
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for p in &files {
            let b = std::fs::read(p).unwrap();
            let r = std::panic::catch_unwind(|| {
                take_largest();
                fuzz_one(&b);
                let big = take_largest();
                assert!(big <= ALLOC_LIMIT, "an allocation of {big} bytes");
            });
            if let Err(e) = r {
                panic!("{}: {}", p.display(), panic_text(e));
            }
        }
        eprintln!("replayed {} inputs", files.len());
    }

    fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
        let mut b = seeds[rng.gen_range(0..seeds.len())].clone();
        for _ in 0..rng.gen_range(1..4) {
            let len = b.len();
            match rng.gen_range(0..9) {
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
                5 if len > 8 => {
                    // Duplicate a stretch (a frame, often).
                    let a = rng.gen_range(0..len);
                    let z = rng.gen_range(a..=len.min(a + 600));
                    let piece = b[a..z].to_vec();
                    let i = rng.gen_range(0..=len);
                    b.splice(i..i, piece);
                }
                6 if len >= 8 => {
                    // A length field: a u32 or u64 of an interesting value.
                    let i = rng.gen_range(0..len - 7);
                    let v: u64 = [
                        0,
                        1,
                        31,
                        64,
                        0xffff_ffff,
                        16 << 20,
                        (16 << 20) + 1,
                        1 << 40,
                        u64::MAX,
                        u64::MAX - 35,
                    ][rng.gen_range(0..10)];
                    if rng.gen_bool(0.5) {
                        b[i..i + 8].copy_from_slice(&v.to_le_bytes());
                    } else {
                        b[i..i + 4].copy_from_slice(&(v as u32).to_le_bytes());
                    }
                }
                7 if len > 0 => {
                    // A number in JSON text: change a digit run.
                    let i = rng.gen_range(0..len);
                    if let Some(p) = b[i..].iter().position(u8::is_ascii_digit) {
                        let tok: &[u8] = [
                            b"0".as_slice(),
                            b"18446744073709551615",
                            b"99999999999",
                            b"-1",
                            b"1e308",
                            b"4294967296",
                        ][rng.gen_range(0..6)];
                        b.splice(i + p..i + p + 1, tok.iter().copied());
                    }
                }
                _ => {
                    let i = rng.gen_range(0..=len);
                    let tok: &[u8] = [
                        b"\"zstd\"".as_slice(),
                        b"\"raw\"",
                        b"\"bit\"",
                        b"null",
                        b"{",
                        b"}",
                        b"\"",
                        b"\\",
                        b"\0",
                    ][rng.gen_range(0..9)];
                    b.splice(i..i, tok.iter().copied());
                }
            }
        }
        b.truncate(64 * 1024);
        b
    }

    /// Random mutations of the fixtures (a fixed seed; more with
    /// `EVIDENT_FUZZ_CASES`, another seed with `EVIDENT_FUZZ_SEED`).
    #[test]
    fn session_random_mutations() {
        let seeds: Vec<Vec<u8>> = fixtures("fuzz-session")
            .into_iter()
            .map(|(_, b)| b)
            .collect();
        let (cases, seed) = cases_and_seed(3000, 0x5E55);
        let mut rng = StdRng::seed_from_u64(seed);
        for case in 0..cases {
            let mut b = mutate(&mut rng, &seeds);
            // Mostly the fixed-up variants: they get past the checksums.
            b.insert(0, [0, 1, 2, 2, 3, 3][rng.gen_range(0..6)]);
            let r = std::panic::catch_unwind(|| {
                take_largest();
                fuzz_one(&b);
                let big = take_largest();
                assert!(big <= ALLOC_LIMIT, "an allocation of {big} bytes");
            });
            if let Err(e) = r {
                let out = std::env::temp_dir().join(format!("evident-session-fuzz-failure-{case}"));
                let _ = std::fs::write(&out, &b);
                panic!(
                    "case {case} (seed {seed}); input saved to {}: {}",
                    out.display(),
                    panic_text(e)
                );
            }
        }
    }

    /// verify_session calls a file ok only when every trace of every
    /// version can be read, compressed ones included.
    #[test]
    fn verify_session_ok_means_every_trace_reads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-session");
        let mut bad = Vec::new();
        for name in [
            "seed-zstd-not-zstd",
            "seed-zstd-short",
            "seed-zstd-claims-800-mb",
        ] {
            let b = std::fs::read(dir.join(name)).unwrap();
            let (_, bytes, key) = variant(b[0], &b[1..]);
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().join("fuzz-zstd.evs");
            std::fs::write(&path, bytes).unwrap();
            let r = verify_session(&path, key.as_ref()).unwrap();
            let s = Session::load(&path, &LoadOptions::default().key(key).version(None)).unwrap();
            let read = s
                .trace("T")
                .unwrap()
                .bytes()
                .map(|_| ())
                .map_err(|e| e.to_string());
            if let (true, Err(e)) = (r.ok, read) {
                bad.push(format!("{name}: verify ok, read: {e}"));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    /// Rewrites the hand-made seeds in `tests/fixtures/fuzz-session/` (run
    /// with `--ignored` after a format change).
    #[test]
    #[ignore = "writes the seed fixtures"]
    fn write_session_seed_fixtures() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-session");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in seeds::all() {
            std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
        }
    }
}

/// Hand-made inputs: real session files (written by the engine with fixed
/// ids and times where it matters), cut, damaged and hostile ones. Each is
/// stored with its variant byte first.
#[cfg(test)]
mod seeds {
    use super::*;
    use serde_json::json;

    fn session_file(
        key: Option<&Key>,
        build: impl FnOnce(&Path, &SaveOptions<'static>),
    ) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.evs");
        let opts = SaveOptions::default().key(key.cloned()).sync(false);
        build(&path, &opts);
        std::fs::read(&path).unwrap()
    }

    fn small(path: &Path, opts: &SaveOptions<'static>) {
        let mut s = Session::new("seed");
        s.metadata_mut().insert("operator".into(), json!("ana"));
        let wave: Vec<f64> = (0..16).map(|i| i as f64 * 0.5).collect();
        let mut info = TraceInfo::with_rate(1e3);
        info.units = "V".into();
        s.add_trace("CH1", Trace::from_slice(&wave, info).unwrap())
            .unwrap();
        let bits = [0b1010_0110u8, 0b0000_0001];
        s.add_trace(
            "D0",
            Trace::from_bytes(Dtype::Bit, 9, &bits, TraceInfo::default()).unwrap(),
        )
        .unwrap();
        s.annotate("default", Annotation::new("spike").at(0.25))
            .unwrap();
        s.record_measurement(Measurement::new("vpp", 7.5, "V"))
            .unwrap();
        s.record_history(HistoryEntry::new("load")).unwrap();
        s.save(Some(path), opts).unwrap();
    }

    fn versions3(path: &Path, opts: &SaveOptions<'static>) {
        small(path, opts);
        let mut s = Session::load(
            path,
            &LoadOptions::default().key(opts.key.clone()).version(None),
        )
        .unwrap();
        // Version 2: a zstd trace, a changed description of CH1.
        let ramp: Vec<i16> = (0..40).collect();
        s.add_trace(
            "ramp",
            Trace::from_slice(&ramp, TraceInfo::default()).unwrap(),
        )
        .unwrap();
        let mut ch1 = s.trace("CH1").unwrap().clone();
        ch1.info_mut().units = "mV".into();
        s.add_trace("CH1", ch1).unwrap();
        s.save(None, &opts.clone().compress(Some(3))).unwrap();
        // Version 3: a trace removed, a locked layer.
        s.remove_trace("D0").unwrap();
        s.set_layer(&LayerProps {
            name: "default".into(),
            locked: Some(true),
            ..LayerProps::default()
        })
        .unwrap();
        s.save(None, opts).unwrap();
    }

    /// Replaces `from` by `to` (same length: offsets stay) in the file.
    fn edit(mut b: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let f = from.as_bytes();
        let i = b
            .windows(f.len())
            .position(|w| w == f)
            .unwrap_or_else(|| panic!("{from:?} not in the seed"));
        b[i..i + f.len()].copy_from_slice(to.as_bytes());
        b
    }

    /// Writes a session file frame by frame, with whatever the records
    /// say (for records no writer of this library would make).
    struct Builder {
        out: Vec<u8>,
        chain: Chain,
        seq: u64,
        prev: evident::Hash,
        /// raw_len of each trace record, by offset (for the commit's counts).
        raw_lens: std::collections::HashMap<u64, u64>,
        /// The last layers content written (for the commit's counts).
        layers: serde_json::Value,
        /// The hash of the last commit (the next commit's parent).
        parent: Option<String>,
    }

    impl Builder {
        fn new(key: Option<&Key>) -> Builder {
            let alg = if key.is_some() {
                HashAlg::HmacSha256
            } else {
                HashAlg::Sha256
            };
            let chain = Chain::new(alg, key).unwrap();
            let mut b = Builder {
                out: SESSION_MAGIC.to_vec(),
                prev: chain.zero(),
                chain,
                seq: 0,
                raw_lens: Default::default(),
                layers: json!([]),
                parent: None,
            };
            b.out.extend_from_slice(&1u32.to_le_bytes());
            b.out.extend_from_slice(&0u32.to_le_bytes());
            let mut g = json!({
                "format": "evident-session",
                "alg": alg.name(),
                "log_id": "00112233445566778899aabbccddeeff",
            });
            if let Some(id) = b.chain.key_id() {
                g["key_id"] = json!(id);
            }
            b.record("genesis", g);
            b
        }

        /// Appends a record with these members after the common head;
        /// returns its offset and hash.
        fn record(&mut self, kind: &str, members: serde_json::Value) -> (u64, String) {
            let mut body = format!(
                "{{\"v\":1,\"seq\":{},\"prev\":\"{}\",\"kind\":\"{kind}\",\"ts\":\"2024-01-02T03:04:05.000000Z\"",
                self.seq,
                self.prev.to_hex()
            );
            for (k, v) in members.as_object().unwrap() {
                body.push_str(&format!(",{}:{v}", serde_json::Value::from(k.as_str())));
            }
            body.push('}');
            let h = self.chain.hash(body.as_bytes());
            let at = self.out.len() as u64;
            if kind == "trace" {
                let n = members["data"]["raw_len"].as_u64().unwrap_or(0);
                self.raw_lens.insert(at, n);
            }
            evident::format::frame(&mut self.out, evident::Framing::Binary, body.as_bytes(), &h);
            self.seq += 1;
            self.prev = h;
            (at, h.to_hex())
        }

        /// Appends a data frame; returns its offset and SHA-256.
        fn data(&mut self, bytes: &[u8]) -> (u64, String) {
            use sha2::Digest;
            let at = self.out.len() as u64;
            let pad = (64 - (at + 20) % 64) % 64;
            let mut head = Vec::new();
            head.extend_from_slice(&u32::MAX.to_le_bytes());
            head.extend_from_slice(&32u16.to_le_bytes());
            head.extend_from_slice(&1u16.to_le_bytes());
            head.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            head.extend_from_slice(&(pad as u32).to_le_bytes());
            let digest = sha2::Sha256::digest(bytes);
            let mut crc = crc32fast::Hasher::new();
            crc.update(&head);
            crc.update(&digest);
            self.out.extend_from_slice(&head);
            self.out.resize(self.out.len() + pad as usize, 0);
            self.out.extend_from_slice(bytes);
            self.out.extend_from_slice(&digest);
            self.out.extend_from_slice(&crc.finalize().to_le_bytes());
            (at, hex::encode(digest))
        }

        /// The four sections of a plain session; their references.
        fn sections(
            &mut self,
            meta: serde_json::Value,
            layers: serde_json::Value,
        ) -> serde_json::Value {
            let mut refs = Vec::new();
            for (name, content) in [
                ("meta", meta),
                ("layers", layers),
                ("measurements", json!([])),
                ("history", json!([])),
            ] {
                // The SHA-256 of the content as the record writes it.
                use sha2::Digest;
                let digest = hex::encode(sha2::Sha256::digest(content.to_string().as_bytes()));
                if name == "layers" {
                    self.layers = content.clone();
                }
                let (at, hash) =
                    self.record("section", json!({"section": name, "content": content}));
                refs.push(json!({"section": name, "at": at, "hash": hash, "content": digest}));
            }
            json!(refs)
        }

        fn commit(&mut self, version: u64, traces: serde_json::Value, sections: serde_json::Value) {
            // Counts that agree with what the commit names.
            let refs = traces.as_array().cloned().unwrap_or_default();
            let trace_bytes: u64 = refs
                .iter()
                .filter_map(|r| self.raw_lens.get(&r["at"].as_u64().unwrap_or(0)))
                .fold(0u64, |a, b| a.saturating_add(*b));
            let layers = self.layers.as_array().cloned().unwrap_or_default();
            let annotations: usize = layers
                .iter()
                .map(|l| l["annotations"].as_array().map_or(0, |a| a.len()))
                .sum();
            let parent = self.parent.clone();
            let (_, hash) = self.record(
                "commit",
                json!({
                    "version": version,
                    "parent": parent,
                    "name": "hostile",
                    "traces": traces,
                    "sections": sections,
                    "counts": {"traces": refs.len(), "layers": layers.len(), "annotations": annotations, "measurements": 0, "history": 0, "trace_bytes": trace_bytes},
                }),
            );
            self.parent = Some(hash);
        }
    }

    fn meta() -> serde_json::Value {
        json!({
            "name": "hostile",
            "metadata": {},
            "created_at": "2024-01-02T03:04:05.000000Z",
            "modified_at": "2024-01-02T03:04:05.000000Z",
            "history_limit": 0,
        })
    }

    /// A one-version file with one trace whose record says `trace` (its
    /// `data` member is completed with the frame's offset and SHA-256 unless
    /// it sets them) over a data frame holding `stored`.
    fn one_trace(stored: &[u8], trace: serde_json::Value) -> Vec<u8> {
        let mut b = Builder::new(None);
        let (frame, sha) = b.data(stored);
        let mut t = json!({
            "name": "T",
            "dtype": "u8",
            "len": stored.len(),
            "info": {"sample_rate": 1.0, "start_time": 0.0, "units": "", "metadata": {}},
            "data": {"frame": frame, "encoding": "raw", "stored_len": stored.len(), "raw_len": stored.len(), "sha256": sha},
        });
        for (k, v) in trace.as_object().unwrap() {
            if k == "data" {
                for (dk, dv) in v.as_object().unwrap() {
                    t["data"][dk] = dv.clone();
                }
            } else {
                t[k] = v.clone();
            }
        }
        let (at, hash) = b.record("trace", t);
        let secs = b.sections(meta(), json!([]));
        b.commit(1, json!([{"name": "T", "at": at, "hash": hash}]), secs);
        b.out
    }

    fn with(v: u8, b: Vec<u8>) -> Vec<u8> {
        let mut out = vec![v];
        out.extend(b);
        out
    }

    pub fn all() -> Vec<(String, Vec<u8>)> {
        let key = fuzz_key();
        let plain = session_file(None, versions3);
        let keyed = session_file(Some(&key), versions3);
        let one = session_file(None, small);
        let mut v: Vec<(String, Vec<u8>)> = vec![
            ("versions".into(), with(2, plain.clone())),
            ("versions-keyed".into(), with(3, keyed.clone())),
            ("small".into(), with(2, one.clone())),
            ("small-raw".into(), with(0, one.clone())),
            ("torn".into(), with(2, plain[..plain.len() - 23].to_vec())),
            ("header-only".into(), with(0, plain[..16].to_vec())),
            (
                "genesis-only".into(),
                with(
                    2,
                    plain[..16 + 8 + u32_at(&plain, 16).unwrap() as usize + 32 + 8].to_vec(),
                ),
            ),
            ("empty".into(), vec![0]),
            (
                "zeros".into(),
                with(2, [plain.clone(), vec![0; 700]].concat()),
            ),
            (
                "duplicated".into(),
                with(2, [plain.clone(), plain[16..].to_vec()].concat()),
            ),
            (
                "audit-log-magic".into(),
                with(0, {
                    let mut b = plain.clone();
                    b[..8].copy_from_slice(b"\x89EVD\r\n\x1a\n");
                    b
                }),
            ),
        ];
        // Same-length edits of real records (variant 2 makes the hashes
        // right again).
        for (name, from, to) in [
            ("dtype-unknown", "\"dtype\":\"f64\"", "\"dtype\":\"c64\""),
            (
                "encoding-unknown",
                "\"encoding\":\"raw\"",
                "\"encoding\":\"lz4\"",
            ),
            (
                "section-unknown",
                "\"section\":\"history\"",
                "\"section\":\"macros!\"",
            ),
            (
                "rate-zero",
                "\"sample_rate\":1000.0",
                "\"sample_rate\":0.0000",
            ),
            ("kind-entry", "\"kind\":\"trace\"", "\"kind\":\"entry\""),
            ("version-zero", "\"version\":2", "\"version\":0"),
            ("version-repeated", "\"version\":3", "\"version\":2"),
        ] {
            v.push((name.into(), with(2, edit(plain.clone(), from, to))));
        }
        // Whole hostile files (valid frames and hashes; variant 0 keeps
        // them as they are, 2 leaves them unchanged too).
        let z = zstd::bulk::compress(&[7u8; 80], 3).unwrap();
        // A zstd frame that does not record its size (as a streaming
        // compressor writes it): only the record says how big it is.
        let z_nosize = {
            use std::io::Write;
            let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
            e.include_contentsize(false).unwrap();
            e.write_all(&[7u8; 80]).unwrap();
            e.finish().unwrap()
        };
        let hostile: Vec<(&str, Vec<u8>)> = vec![
            (
                "zstd-claims-2-62-bytes",
                one_trace(
                    &z,
                    json!({"len": 1u64 << 62, "data": {"encoding": "zstd", "raw_len": 1u64 << 62}}),
                ),
            ),
            (
                "zstd-claims-800-mb",
                one_trace(
                    &z,
                    json!({"len": 800_000_000, "data": {"encoding": "zstd", "raw_len": 800_000_000}}),
                ),
            ),
            (
                "zstd-claims-i64-2-60",
                one_trace(
                    &z,
                    json!({"dtype": "i64", "len": 1u64 << 60, "data": {"encoding": "zstd", "raw_len": 1u64 << 63}}),
                ),
            ),
            (
                "zstd-no-size-claims-1-tb",
                one_trace(
                    &z_nosize,
                    json!({"len": 1u64 << 40, "data": {"encoding": "zstd", "raw_len": 1u64 << 40}}),
                ),
            ),
            (
                "zstd-no-size-claims-800-mb",
                one_trace(
                    &z_nosize,
                    json!({"len": 800_000_000, "data": {"encoding": "zstd", "raw_len": 800_000_000}}),
                ),
            ),
            (
                "zstd-no-size-80",
                one_trace(
                    &z_nosize,
                    json!({"len": 80, "data": {"encoding": "zstd", "raw_len": 80}}),
                ),
            ),
            (
                "zstd-short",
                one_trace(
                    &z,
                    json!({"len": 81, "data": {"encoding": "zstd", "raw_len": 81}}),
                ),
            ),
            (
                "zstd-not-zstd",
                one_trace(
                    &[1, 2, 3, 4, 5, 6, 7, 8],
                    json!({"data": {"encoding": "zstd"}}),
                ),
            ),
            (
                "raw-len-overflows",
                one_trace(
                    &[0; 8],
                    json!({"dtype": "u64", "len": u64::MAX, "data": {"raw_len": 8}}),
                ),
            ),
            (
                "raw-len-mismatch",
                one_trace(&[0; 8], json!({"len": 9, "data": {"raw_len": 9}})),
            ),
            (
                "bool-not-0-1",
                one_trace(&[0, 1, 2, 255], json!({"dtype": "bool"})),
            ),
            (
                "bit-len",
                one_trace(&[0xff; 3], json!({"dtype": "bit", "len": 17})),
            ),
            (
                "frame-is-a-record",
                one_trace(&[0; 8], json!({"data": {"frame": 16}})),
            ),
            (
                "frame-past-end",
                one_trace(&[0; 8], json!({"data": {"frame": u64::MAX}})),
            ),
            (
                "stored-len-lies",
                one_trace(&[0; 8], json!({"data": {"stored_len": 1u64 << 50}})),
            ),
            (
                "sha-not-hex",
                one_trace(&[0; 8], json!({"data": {"sha256": "zz"}})),
            ),
            (
                "rate-negative",
                one_trace(&[0; 8], json!({"info": {"sample_rate": -1.0}})),
            ),
            ("name-empty", one_trace(&[0; 8], json!({"name": ""}))),
            (
                "metadata-deep",
                one_trace(
                    &[0; 8],
                    json!({"info": {"sample_rate": 1.0, "metadata": {"x": serde_json::from_str::<serde_json::Value>(&format!("{}{}", "[".repeat(100), "]".repeat(100))).unwrap()}}}),
                ),
            ),
            (
                "number-huge",
                one_trace(
                    &[0; 8],
                    json!({"info": {"sample_rate": 1e308, "start_time": -1.7976931348623157e308}}),
                ),
            ),
        ];
        for (name, b) in hostile {
            v.push((name.into(), with(0, b)));
        }
        // A commit naming itself, a later record, a trace twice, no meta.
        {
            let mut b = Builder::new(None);
            let (frame, sha) = b.data(&[1, 2, 3, 4]);
            let t = json!({"name": "T", "dtype": "u8", "len": 4, "info": {"sample_rate": 1.0}, "data": {"frame": frame, "encoding": "raw", "stored_len": 4, "raw_len": 4, "sha256": sha}});
            let (at, hash) = b.record("trace", t);
            let secs = b.sections(meta(), json!([{"name": "L", "annotations": [{"text": "t", "type": "range", "time_range": [5.0, 1.0], "created_at": "2024-01-02T03:04:05.123456789+05:00"}]}]));
            let tr = json!({"name": "T", "at": at, "hash": hash});
            b.commit(1, json!([tr.clone(), tr]), secs);
            v.push(("trace-twice".into(), with(0, b.out.clone())));
            let mut b = Builder::new(None);
            let (frame, sha) = b.data(&[1, 2, 3, 4]);
            let t = json!({"name": "T", "dtype": "u8", "len": 4, "info": {"sample_rate": 1.0}, "data": {"frame": frame, "encoding": "raw", "stored_len": 4, "raw_len": 4, "sha256": sha}});
            let (at, hash) = b.record("trace", t);
            let secs = b.sections(meta(), json!([{"name": "L", "locked": true, "annotations": [{"text": "t", "time_range": [5.0, 1.0], "created_at": "2024-01-02T03:04:05.123456789+05:00"}]}]));
            let next = b.out.len() as u64;
            b.commit(
                1,
                json!([{"name": "T", "at": at, "hash": hash}]),
                secs.clone(),
            );
            v.push(("odd-but-valid".into(), with(0, b.out.clone())));
            b.commit(
                2,
                json!([{"name": "T", "at": next + 4096, "hash": hash}]),
                secs.clone(),
            );
            v.push(("commit-names-later-record".into(), with(0, b.out.clone())));
            b.commit(3, json!([]), json!([]));
            v.push(("commit-without-meta".into(), with(0, b.out.clone())));
        }
        // A data frame whose length runs past the end, and one of u64::MAX.
        let data_at = plain.windows(4).position(|w| w == [0xff; 4]).unwrap();
        for (name, len) in [
            ("data-len-past-end", 1u64 << 40),
            ("data-len-u64-max", u64::MAX),
            ("data-len-wraps", u64::MAX - 40),
        ] {
            let mut b = plain.clone();
            b[data_at + 8..data_at + 16].copy_from_slice(&len.to_le_bytes());
            v.push((name.into(), with(2, b)));
        }
        let mut b = plain.clone();
        b[data_at + 16] ^= 0x10; // pad_len
        v.push(("data-pad-wrong".into(), with(2, b)));
        v
    }
}
