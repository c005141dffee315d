//! The checkpoint-side fuzz harness, shared by the cargo-fuzz target
//! `checkpoint_parse` (`fuzz/fuzz_targets/checkpoint_parse.rs` includes
//! this file with `#[path]`) and this test, which replays every input in
//! `tests/fixtures/fuzz-checkpoint/` and a few thousand random mutations of
//! them.
//!
//! [`fuzz_one`]: the first input byte picks the variant, the rest is the
//! data.
//!
//! - Even: the data as it is goes to every parser: `Note::parse`,
//!   `SignedCheckpoint::parse`, `Checkpoint::from_text`,
//!   `InclusionProof::parse`, `ConsistencyProof::parse` (the witness's
//!   add-checkpoint request), `NoteVerifier::from_vkey`,
//!   `NoteSigner::from_skey`; and as a file to `read_checkpoints` (a
//!   sidecar), `SignedCheckpoint::read`, `read_verifier` and `read_signer`.
//!   What parses must print back to text that parses to the same value.
//! - Odd: the data is a proof head and a checkpoint text (split at the first
//!   blank line); the harness signs the checkpoint with a fixed log key, so
//!   the request gets past the signature check to the proof itself: the
//!   proof is verified (`InclusionProof::verify`, `ConsistencyProof::verify`
//!   against an old checkpoint of the old size), and a witness that trusts
//!   the key takes the request (after a checkpoint of the old size when
//!   there is one).
//!
//! Checks: nothing panics; file errors name the file; round trips hold;
//! the witness fails only on I/O, and what it cosigns verifies with its
//! key.
#![allow(dead_code)]
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

use std::path::{Path, PathBuf};

use evident::checkpoint::*;
use evident::witness::{Outcome, TrustedLog, Witness};

/// The witness request time.
const NOW: u64 = 1_700_000_000;

pub fn log_signer() -> NoteSigner {
    NoteSigner::from_seed("example.com/log", KeyType::Ed25519, [1; 32])
}

pub fn witness_signer() -> NoteSigner {
    NoteSigner::from_seed("example.com/witness", KeyType::Cosignature, [2; 32])
}

fn scratch_dir() -> PathBuf {
    thread_local! {
        static DIR: tempfile::TempDir = {
            let shm = Path::new("/dev/shm");
            let mut b = tempfile::Builder::new();
            b.prefix("evident-checkpoint-fuzz-");
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
        let p = e.unwrap().path();
        if p.is_dir() {
            let _ = std::fs::remove_dir_all(&p);
        } else {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// The fuzz target. Panics on any broken invariant.
pub fn fuzz_one(input: &[u8]) {
    let (sel, data) = match input.split_first() {
        Some((s, d)) => (*s, d),
        None => (0, input),
    };
    let dir = scratch_dir();
    clear_dir(&dir);
    if sel & 1 == 0 {
        parsers(data);
        files(&dir, data);
    } else {
        signed(&dir, data);
    }
    clear_dir(&dir);
}

/// Every parser on the bytes; round trips.
pub fn parsers(data: &[u8]) {
    if let Ok(n) = Note::parse(data) {
        let back = Note::parse(n.to_text().as_bytes())
            .unwrap_or_else(|e| panic!("a parsed note's text does not parse: {e}"));
        assert_eq!(back, n, "note round trip");
    }
    if let Ok(c) = SignedCheckpoint::parse(data) {
        let back = SignedCheckpoint::parse(c.to_text().as_bytes())
            .unwrap_or_else(|e| panic!("a parsed checkpoint's text does not parse: {e}"));
        assert_eq!(back, c, "checkpoint round trip");
        let t = Checkpoint::from_text(&c.checkpoint.to_text()).unwrap();
        assert_eq!(t, c.checkpoint, "checkpoint text round trip");
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(c) = Checkpoint::from_text(&text) {
        assert_eq!(
            Checkpoint::from_text(&c.to_text()).unwrap(),
            c,
            "checkpoint text round trip"
        );
    }
    if let Ok(p) = InclusionProof::parse(data) {
        let back = InclusionProof::parse(p.to_text().as_bytes())
            .unwrap_or_else(|e| panic!("a parsed inclusion proof's text does not parse: {e}"));
        assert_eq!(back, p, "inclusion proof round trip");
    }
    if let Ok(p) = ConsistencyProof::parse(data) {
        let back = ConsistencyProof::parse(p.to_text().as_bytes())
            .unwrap_or_else(|e| panic!("a parsed consistency proof's text does not parse: {e}"));
        assert_eq!(back, p, "consistency proof round trip");
    }
    if let Ok(v) = NoteVerifier::from_vkey(&text) {
        let back = NoteVerifier::from_vkey(&v.to_vkey()).unwrap();
        assert_eq!(back.to_vkey(), v.to_vkey(), "vkey round trip");
    }
    if let Ok(s) = NoteSigner::from_skey(&text) {
        let back = NoteSigner::from_skey(&s.to_skey()).unwrap();
        assert_eq!(back.to_skey(), s.to_skey(), "skey round trip");
    }
}

fn named(e: &evident::Error, what: &str) {
    let msg = e.to_string();
    assert!(
        msg.contains("fuzz-cp"),
        "{what}: error names no file: {msg}"
    );
}

/// The bytes as a sidecar, a checkpoint file and key files.
pub fn files(dir: &Path, data: &[u8]) {
    let path = dir.join("fuzz-cp.checkpoints");
    std::fs::write(&path, data).unwrap();
    match read_checkpoints(&path) {
        Ok(all) => {
            for c in &all {
                assert_eq!(
                    SignedCheckpoint::parse(c.to_text().as_bytes()).as_ref(),
                    Ok(c),
                    "sidecar checkpoint round trip"
                );
            }
        }
        Err(e) => named(&e, "read_checkpoints"),
    }
    if let Err(e) = SignedCheckpoint::read(&path) {
        named(&e, "SignedCheckpoint::read");
    }
    let p = path.to_str().unwrap();
    if let Err(e) = read_verifier(p) {
        named(&e, "read_verifier");
    }
    if let Err(e) = read_signer(&path) {
        named(&e, "read_signer");
    }
    // The text itself as a key argument, when it names no file.
    let text = String::from_utf8_lossy(data);
    if !text.contains(['/', '\\', '\0']) && !text.trim().is_empty() && !Path::new(&*text).exists() {
        let _ = read_verifier(&text);
    }
}

/// The data with its checkpoint signed by [`log_signer`]: proof head,
/// blank line, note. `None` when there is no blank line or the text
/// cannot be signed.
pub fn sign_request(data: &[u8]) -> Option<(String, SignedCheckpoint)> {
    let s = String::from_utf8_lossy(data);
    let (head, cp) = s.split_once("\n\n")?;
    let note = Note::sign(cp, &[&log_signer()], 0).ok()?;
    let signed = SignedCheckpoint::parse(note.to_text().as_bytes()).ok()?;
    Some((format!("{head}\n\n{}", note.to_text()), signed))
}

/// `cp` with another size, signed by the log key.
fn resized(cp: &SignedCheckpoint, size: u64, root: [u8; 32]) -> SignedCheckpoint {
    let c = Checkpoint {
        size,
        root,
        ..cp.checkpoint.clone()
    };
    SignedCheckpoint::sign(c, &log_signer()).unwrap()
}

pub fn signed(dir: &Path, data: &[u8]) {
    let Some((req, cp)) = sign_request(data) else {
        return;
    };
    let log_key = log_signer().verifier();
    parsers(req.as_bytes());
    if let Ok(p) = InclusionProof::parse(req.as_bytes()) {
        let r = p.verify(&log_key, None);
        if r.is_ok() {
            assert!(
                p.index < p.checkpoint.checkpoint.size,
                "an inclusion proof of index {} verifies in a tree of {}",
                p.index,
                p.checkpoint.checkpoint.size
            );
        }
        let _ = p.verify(&log_key, Some(b"x"));
    }
    let proof = ConsistencyProof::parse(req.as_bytes()).ok();
    let store = dir.join("fuzz-cp-store");
    let witness = Witness::new(
        &store,
        witness_signer(),
        vec![TrustedLog {
            origin: None,
            key: log_key.clone(),
        }],
    )
    .unwrap();
    if let Some(p) = &proof {
        // An old checkpoint of the old size, its root the first proof hash.
        let root = p.hashes.first().copied().unwrap_or([0; 32]);
        let old = resized(&cp, p.old_size, root);
        let r = p.verify(&old, &log_key);
        if r.is_ok() {
            assert!(
                p.old_size <= cp.checkpoint.size,
                "consistency from {} to {} verifies",
                p.old_size,
                cp.checkpoint.size
            );
        }
        if p.old_size > 0 {
            let first = format!("old 0\n\n{}", old.to_text());
            let out = witness
                .add_checkpoint(first.as_bytes(), NOW)
                .unwrap_or_else(|e| panic!("witness (old checkpoint): {e}"));
            check_outcome(&witness, &out, &old);
        }
    }
    for now in [NOW, NOW + 1] {
        let out = witness
            .add_checkpoint(req.as_bytes(), now)
            .unwrap_or_else(|e| panic!("witness: {e}"));
        check_outcome(&witness, &out, &cp);
    }
}

fn check_outcome(w: &Witness, out: &Outcome, cp: &SignedCheckpoint) {
    let _ = (out.status(), out.name(), out.message());
    if let Outcome::Cosigned { cosigned, .. } = out {
        assert_eq!(
            cosigned.checkpoint, cp.checkpoint,
            "cosigned another checkpoint"
        );
        let ok = cosigned
            .witnesses(&[w.verifier()])
            .unwrap_or_else(|e| panic!("the witness's cosignature: {e}"));
        assert_eq!(ok.len(), 1, "the witness's cosignature does not verify");
        let held = w.latest(&cp.checkpoint.origin).unwrap().unwrap();
        assert_eq!(held.checkpoint, cp.checkpoint, "the witness holds another");
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
    use std::time::Duration;

    fn run(what: &str, input: &[u8]) {
        run_within(what, Duration::from_secs(1), || fuzz_one(input));
    }

    #[test]
    fn checkpoint_fuzz_regressions() {
        let files = fixtures("fuzz-checkpoint");
        assert!(files.len() >= 6, "fixtures missing");
        for (p, b) in &files {
            run(&p.display().to_string(), b);
            if let Some((s, rest)) = b.split_first() {
                let mut other = vec![s ^ 1];
                other.extend_from_slice(rest);
                run(&format!("{} (other variant)", p.display()), &other);
            }
        }
    }

    fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
        let mut b = seeds[rng.gen_range(0..seeds.len())].clone();
        for _ in 0..rng.gen_range(1..4) {
            let len = b.len();
            match rng.gen_range(0..7) {
                0 if len > 1 => {
                    let i = rng.gen_range(1..len);
                    b[i] ^= 1 << rng.gen_range(0..8);
                }
                1 if len > 1 => {
                    let i = rng.gen_range(1..len);
                    b.remove(i);
                }
                2 if len > 1 => {
                    // A number: an interesting one.
                    let i = rng.gen_range(1..len);
                    if let Some(p) = b[i..].iter().position(u8::is_ascii_digit) {
                        let tok: &[u8] = [
                            b"0".as_slice(),
                            b"1",
                            b"18446744073709551615",
                            b"18446744073709551616",
                            b"9223372036854775808",
                            b"4294967296",
                        ][rng.gen_range(0..6)];
                        b.splice(i + p..i + p + 1, tok.iter().copied());
                    }
                }
                3 if len > 1 => {
                    // Duplicate a line.
                    let i = rng.gen_range(1..len);
                    let s = b[..i]
                        .iter()
                        .rposition(|&c| c == b'\n')
                        .map_or(1, |x| x + 1);
                    let e = b[i..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(len, |x| i + x + 1);
                    let line = b[s.max(1)..e].to_vec();
                    b.splice(s.max(1)..s.max(1), line);
                }
                4 => {
                    let i = rng.gen_range(1..=len.max(1)).min(len);
                    let tok: &[u8] = [
                        b"\n".as_slice(),
                        b"\n\n",
                        "\u{2014} ".as_bytes(),
                        b"+",
                        b"=",
                        b"\r",
                        b"old ",
                        b"index ",
                        b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
                    ][rng.gen_range(0..9)];
                    b.splice(i..i, tok.iter().copied());
                }
                5 if len > 0 => b[0] = rng.gen(),
                _ => b.truncate(rng.gen_range(1..=len.max(1))),
            }
        }
        b
    }

    #[test]
    fn checkpoint_random_mutations() {
        let seeds: Vec<Vec<u8>> = fixtures("fuzz-checkpoint")
            .into_iter()
            .map(|(_, b)| b)
            .collect();
        let (cases, seed) = cases_and_seed(2000, 0xC4EC_4901);
        let mut rng = StdRng::seed_from_u64(seed);
        for case in 0..cases {
            let input = mutate(&mut rng, &seeds);
            run(&format!("case {case} of seed {seed}"), &input);
        }
    }

    /// Trees of more than 2^63 leaves: the paths of the old (or proved)
    /// leaf and of the last one split at the top bit. The proof lengths
    /// were computed with a shift by 64 (a panic with overflow checks, a
    /// shift by 0 without: valid proofs refused).
    #[test]
    fn proofs_in_trees_above_2_63() {
        use evident::checkpoint::merkle::{
            leaf_hash, node_hash, verify_consistency, verify_inclusion,
        };
        let top = 1u64 << 63;
        let last = leaf_hash(b"last");
        // Consistency from 2^63 to 2^63 + 1: the proof is the last leaf.
        let old_root = [7u8; 32];
        let new_root = node_hash(&old_root, &last);
        verify_consistency(top, top + 1, &[last], &old_root, &new_root).unwrap();
        assert!(verify_consistency(top, top + 1, &[last, last], &old_root, &new_root).is_err());
        // Consistency from 2^63 - 1 leaves (their root: the left subtree
        // of 2^62 and so on) is refused without a panic either way.
        let _ = verify_consistency(top - 1, top + 1, &[last], &old_root, &new_root);
        // Inclusion of leaf 5 in 2^63 + 1 leaves: 63 hashes inside the
        // left subtree of 2^63, then the last leaf.
        let leaf = leaf_hash(b"five");
        let path: Vec<[u8; 32]> = (0..63u8).map(|i| [i; 32]).collect();
        let mut r = leaf;
        for (level, p) in path.iter().enumerate() {
            r = if (5u64 >> level) & 1 == 1 {
                node_hash(p, &r)
            } else {
                node_hash(&r, p)
            };
        }
        let root = node_hash(&r, &last);
        let mut proof = path.clone();
        proof.push(last);
        verify_inclusion(5, top + 1, &leaf, &proof, &root).unwrap();
        assert!(verify_inclusion(5, top + 1, &leaf, &proof[1..], &root).is_err());
    }

    /// Writes the hand-made seeds into `tests/fixtures/fuzz-checkpoint/`
    /// (run with `--ignored` to regenerate them).
    #[test]
    #[ignore]
    fn write_checkpoint_seed_fixtures() {
        use evident::checkpoint::merkle::{leaf_hash, node_hash};
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-checkpoint");
        std::fs::create_dir_all(&dir).unwrap();
        let put = |name: &str, sel: u8, body: &[u8]| {
            let mut b = vec![sel];
            b.extend_from_slice(body);
            std::fs::write(dir.join(name), b).unwrap();
        };
        let b64 = |n: &[u8; 32]| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(n)
        };
        let leaves: Vec<[u8; 32]> = (0..4u8).map(|i| leaf_hash(&[i])).collect();
        let n01 = node_hash(&leaves[0], &leaves[1]);
        let n23 = node_hash(&leaves[2], &leaves[3]);
        let root4 = node_hash(&n01, &n23);
        let cp = |size: u64, root: [u8; 32]| Checkpoint {
            origin: "evident/00112233445566778899aabbccddeeff".into(),
            size,
            root,
            extensions: vec![],
        };
        let log = log_signer();
        let s4 = SignedCheckpoint::sign(cp(4, root4), &log).unwrap();
        let s2 = SignedCheckpoint::sign(cp(2, n01), &log).unwrap();
        put("seed-checkpoint", 0, s4.to_text().as_bytes());
        let mut cos = s4.note.clone();
        cos.add_signature(&witness_signer(), NOW).unwrap();
        put("seed-checkpoint-cosigned", 0, cos.to_text().as_bytes());
        let mut side = s2.to_text();
        side.push_str(&s4.to_text());
        put("seed-sidecar", 0, side.as_bytes());
        let mut torn = side.clone();
        torn.push_str("evident/x\n5\n");
        put("seed-sidecar-torn", 0, torn.as_bytes());
        put("seed-vkey", 0, log.verifier().to_vkey().as_bytes());
        put("seed-skey", 0, log.to_skey().as_bytes());
        let incl = InclusionProof {
            index: 2,
            body: vec![2],
            hashes: vec![leaves[3], n01],
            checkpoint: s4.clone(),
        };
        put("seed-inclusion", 0, incl.to_text().as_bytes());
        let cons = ConsistencyProof {
            old_size: 2,
            hashes: vec![n23],
            checkpoint: s4.clone(),
        };
        put("seed-consistency", 0, cons.to_text().as_bytes());
        // Unsigned forms for the signing variant: head, blank line, text.
        put(
            "seed-signed-consistency",
            1,
            format!("old 2\n{}\n\n{}", b64(&n23), cp(4, root4).to_text()).as_bytes(),
        );
        put(
            "seed-signed-consistency-from-3",
            1,
            format!(
                "old 3\n{}\n{}\n{}\n\n{}",
                b64(&leaves[2]),
                b64(&leaves[3]),
                b64(&n01),
                cp(4, root4).to_text()
            )
            .as_bytes(),
        );
        put(
            "seed-signed-consistency-from-0",
            1,
            format!("old 0\n\n{}", cp(4, root4).to_text()).as_bytes(),
        );
        put(
            "seed-signed-inclusion",
            1,
            format!(
                "{TLOG_PROOF_HEADER}\nextra Ag==\nindex 2\n{}\n{}\n\n{}",
                b64(&leaves[3]),
                b64(&n01),
                cp(4, root4).to_text()
            )
            .as_bytes(),
        );
        put(
            "seed-signed-huge-size",
            1,
            format!(
                "old 18446744073709551614\n{}\n\n{}",
                b64(&n23),
                cp(u64::MAX, root4).to_text()
            )
            .as_bytes(),
        );
        put(
            "seed-signed-inclusion-huge",
            1,
            format!(
                "{TLOG_PROOF_HEADER}\nindex 18446744073709551614\n{}\n\n{}",
                b64(&leaves[3]),
                cp(u64::MAX, root4).to_text()
            )
            .as_bytes(),
        );
    }
}

/// A FIFO (or a device) as a checkpoints sidecar is refused at once:
/// `last_checkpoint` and `read_checkpoints` read it with `fs::read`, which
/// blocks in open(2) on a FIFO nobody writes to, and reads `/dev/zero`
/// without end (`evident checkpoint` falls back to `last_checkpoint` for a
/// checkpoint file that does not parse).
#[cfg(all(test, unix))]
mod fifo {
    use super::*;
    use std::time::Duration;

    fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        let r = rx.recv_timeout(Duration::from_secs(5)).ok();
        if r.is_none() {
            eprintln!("{what} hangs");
        }
        r
    }

    #[test]
    fn a_fifo_or_device_sidecar_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log.jsonl.checkpoints");
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let q = p.clone();
        let last = bounded("last_checkpoint", move || {
            last_checkpoint(&q).map(|_| ()).map_err(|e| e.to_string())
        });
        let q = p.clone();
        let all = bounded("read_checkpoints", move || {
            read_checkpoints(&q).map(|_| ()).map_err(|e| e.to_string())
        });
        if last.is_none() || all.is_none() {
            for _ in 0..2 {
                let _ = std::fs::OpenOptions::new().write(true).open(&p);
            }
            panic!("a FIFO sidecar hangs the readers");
        }
        for e in [last.unwrap().unwrap_err(), all.unwrap().unwrap_err()] {
            assert!(
                e.contains("log.jsonl.checkpoints") && e.contains("not a regular file"),
                "{e}"
            );
        }
    }
}
