//! Attacks on a log that signed checkpoints, proofs and a witness detect
//! (issue 13): each test mounts one and checks the outcome.

use std::path::{Path, PathBuf};

use evident::checkpoint::{
    self, merkle, CheckOptions, CheckpointOptions, CheckpointOutcome, ConsistencyProof, KeyType,
    NoteSigner, SignedCheckpoint,
};
use evident::witness::{Outcome, TrustedLog, Witness};
use evident::{Durability, Event, Framing, Log, OpenOptions};
use sha2::{Digest, Sha256};

fn log_key() -> NoteSigner {
    NoteSigner::from_seed("example.com/audit", KeyType::Ed25519, [1; 32])
}

fn witness_key() -> NoteSigner {
    NoteSigner::from_seed("witness.example/w1", KeyType::Cosignature, [2; 32])
}

fn append(path: &Path, framing: Framing, from: u64, to: u64, tag: &str) {
    let log = Log::open(
        path,
        OpenOptions::new()
            .framing(framing)
            .durability(Durability::Buffered),
    )
    .unwrap();
    for i in from..to {
        log.append(
            &Event::new("ACTION_EXECUTED", format!("{tag}{i}"))
                .details(serde_json::json!({ "i": i })),
        )
        .unwrap();
    }
    log.close().unwrap();
}

fn new_log(dir: &Path, name: &str, framing: Framing, n: u64) -> PathBuf {
    let p = dir.join(name);
    append(&p, framing, 0, n, "a");
    p
}

fn sign(log: &Path) -> SignedCheckpoint {
    checkpoint::create(log, &log_key(), &CheckpointOptions::default()).unwrap()
}

fn full(log: &Path, cp: &SignedCheckpoint) -> checkpoint::CheckpointReport {
    checkpoint::verify_against(log, cp, &log_key().verifier(), &CheckOptions::default()).unwrap()
}

fn incr(log: &Path, cp: &SignedCheckpoint) -> checkpoint::CheckpointReport {
    checkpoint::verify_incremental(log, cp, &log_key().verifier(), &CheckOptions::default())
        .unwrap()
}

/// Offsets just past each record of a log (both framings).
fn record_ends(log: &Path) -> Vec<u64> {
    let leaves = checkpoint::tree::LogLeaves::open(log, None).unwrap();
    let mut ends = Vec::new();
    leaves.read_all(|r| ends.push(r.end)).unwrap();
    ends
}

#[test]
fn delete_last_k_entries_is_truncation() {
    for framing in [Framing::Jsonl, Framing::Binary] {
        for k in [1usize, 2, 17] {
            let d = tempfile::tempdir().unwrap();
            let log = new_log(d.path(), "a.log", framing, 40);
            let cp = sign(&log);
            assert_eq!(cp.checkpoint.size, 41);
            assert!(full(&log, &cp).valid);
            let ends = record_ends(&log);
            let cut = ends[ends.len() - 1 - k];
            std::fs::OpenOptions::new()
                .write(true)
                .open(&log)
                .unwrap()
                .set_len(cut)
                .unwrap();
            // The chain alone is still valid: only the checkpoint tells.
            assert!(evident::verify(&log, &Default::default()).unwrap().valid);
            let r = full(&log, &cp);
            assert!(!r.valid);
            assert_eq!(r.outcome, CheckpointOutcome::Truncated, "{framing:?} k={k}");
            assert_eq!(r.log_size, 41 - k as u64);
            let r = incr(&log, &cp);
            assert_eq!(r.outcome, CheckpointOutcome::Truncated);
            assert_eq!(r.mode, "full", "incremental falls back to a full check");
            assert!(r.fallback_reason.is_some());
        }
    }
}

/// Rewrites a keyless JSONL log: changes entry `seq`'s action and
/// recomputes every later hash, so the chain verifies.
fn rewrite_keyless(log: &Path, seq: usize) {
    let text = std::fs::read_to_string(log).unwrap();
    let mut prev: Option<String> = None;
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let cut = line.rfind(",\"hash\":\"").unwrap();
        let mut body = format!("{}}}", &line[..cut]);
        if let Some(p) = &prev {
            let at = body.find("\"prev\":\"").unwrap() + 8;
            body.replace_range(at..at + 64, p);
        }
        if i == seq {
            body = body.replacen("\"action\":\"a", "\"action\":\"X", 1);
        }
        let h = hex::encode(Sha256::digest(body.as_bytes()));
        out.push_str(&format!("{},\"hash\":\"{h}\"}}\n", &body[..body.len() - 1]));
        prev = Some(h);
    }
    std::fs::write(log, out).unwrap();
}

#[test]
fn rewritten_keyless_log_fails_the_checkpoint() {
    let d = tempfile::tempdir().unwrap();
    let log = new_log(d.path(), "a.jsonl", Framing::Jsonl, 30);
    let cp = sign(&log);
    rewrite_keyless(&log, 7);
    let v = evident::verify(&log, &Default::default()).unwrap();
    assert!(v.valid, "the rewrite recomputed every hash");
    let r = full(&log, &cp);
    assert_eq!(r.outcome, CheckpointOutcome::RootMismatch);
    assert!(!r.valid);
    // The incremental check finds the last record changed (its prev) and
    // falls back to the full check.
    let r = incr(&log, &cp);
    assert_eq!(r.outcome, CheckpointOutcome::RootMismatch);
    assert_eq!(r.mode, "full");
    // Proving the rewritten entry against the checkpoint is refused.
    assert!(checkpoint::prove_inclusion(&log, 7, &cp, None).is_err());
}

#[test]
fn rollback_to_an_older_copy() {
    let d = tempfile::tempdir().unwrap();
    let log = new_log(d.path(), "a.evl", Framing::Binary, 30);
    let old_copy = d.path().join("old.evl");
    std::fs::copy(&log, &old_copy).unwrap();
    append(&log, Framing::Binary, 30, 60, "a");
    let cp = sign(&log);
    std::fs::copy(&old_copy, &log).unwrap();
    let r = full(&log, &cp);
    assert_eq!(r.outcome, CheckpointOutcome::Truncated);
    assert_eq!(r.log_size, 31);
    // The writer rolled back and appended other entries past the signed
    // size: it refuses to sign a checkpoint inconsistent with the last one.
    append(&log, Framing::Binary, 30, 80, "b");
    let mut opts = CheckpointOptions::default();
    opts.previous = Some(cp.checkpoint.clone());
    let e = checkpoint::create(&log, &log_key(), &opts).unwrap_err();
    assert!(e.to_string().contains("refusing to sign"), "{e}");
    let r = full(&log, &cp);
    assert_eq!(r.outcome, CheckpointOutcome::RootMismatch);
}

fn request(old_size: u64, proof: &[merkle::Node], cp: &SignedCheckpoint) -> Vec<u8> {
    ConsistencyProof {
        old_size,
        hashes: proof.to_vec(),
        checkpoint: cp.clone(),
    }
    .to_text()
    .into_bytes()
}

#[test]
fn fork_presented_to_the_same_witness() {
    let d = tempfile::tempdir().unwrap();
    let a = new_log(d.path(), "a.jsonl", Framing::Jsonl, 20);
    let b = d.path().join("b.jsonl");
    std::fs::copy(&a, &b).unwrap();
    let cp20 = sign(&a);
    append(&a, Framing::Jsonl, 20, 30, "a");
    append(&b, Framing::Jsonl, 20, 30, "fork");
    let cpa = sign(&a);
    let cpb = sign(&b);
    assert_eq!(cpa.checkpoint.origin, cpb.checkpoint.origin);
    assert_eq!(cpa.checkpoint.size, cpb.checkpoint.size);
    let w = Witness::new(
        &d.path().join("store"),
        witness_key(),
        vec![TrustedLog {
            origin: None,
            key: log_key().verifier(),
        }],
    )
    .unwrap();
    assert_eq!(
        w.add_checkpoint(&request(0, &[], &cp20), 1000)
            .unwrap()
            .status(),
        200
    );
    let pa = checkpoint::prove_consistency(&a, &cp20.checkpoint, &cpa, None).unwrap();
    let o = w.add_checkpoint(pa.to_text().as_bytes(), 1001).unwrap();
    let Outcome::Cosigned { cosigned, .. } = &o else {
        panic!("{o:?}")
    };
    assert_eq!(
        cosigned
            .witnesses(&[witness_key().verifier()])
            .unwrap()
            .len(),
        1
    );
    // Fork B at the same size: a split view, evidence kept.
    let o = w.add_checkpoint(&request(31, &[], &cpb), 1002).unwrap();
    assert_eq!(o.status(), 422);
    assert_eq!(o.name(), "split_view");
    let Outcome::Unprocessable {
        evidence: Some(ev), ..
    } = &o
    else {
        panic!("{o:?}")
    };
    let text = std::fs::read_to_string(ev).unwrap();
    assert!(text.contains(&cpa.note.text) && text.contains(&cpb.note.text));
    // Fork B grown, with B's own proof from its size 31: inconsistent with
    // what the witness holds.
    let b31 = cpb.clone();
    append(&b, Framing::Jsonl, 30, 40, "fork");
    let cpb2 = sign(&b);
    let pb = checkpoint::prove_consistency(&b, &b31.checkpoint, &cpb2, None).unwrap();
    let o = w.add_checkpoint(pb.to_text().as_bytes(), 1003).unwrap();
    assert_eq!((o.status(), o.name()), (422, "inconsistent"));
    // Fork B claiming the old size the witness does not hold: 409, and
    // the same-size fork is still recorded as a split view.
    let o = w.add_checkpoint(&request(20, &[], &cpb), 1004).unwrap();
    assert!(
        matches!(
            o,
            Outcome::Conflict {
                latest: 31,
                evidence: Some(_)
            }
        ),
        "{o:?}"
    );
    // The witness still holds A.
    assert_eq!(
        w.latest(&cpa.checkpoint.origin)
            .unwrap()
            .unwrap()
            .checkpoint,
        cpa.checkpoint
    );
    // A proof of A's checkpoint from B's size is refused by anyone.
    assert!(checkpoint::prove_consistency(&a, &cpb.checkpoint, &cpa, None).is_err());
}

#[test]
fn checkpoint_signed_by_another_key() {
    let d = tempfile::tempdir().unwrap();
    let log = new_log(d.path(), "a.jsonl", Framing::Jsonl, 5);
    let cp = sign(&log);
    // Another key of the same name: its signature is ignored, none verifies.
    let other = NoteSigner::from_seed("example.com/audit", KeyType::Ed25519, [9; 32]);
    let forged = SignedCheckpoint::sign(cp.checkpoint.clone(), &other).unwrap();
    let r = full(&log, &forged);
    assert_eq!(r.outcome, CheckpointOutcome::BadSignature);
    // The right key id with a signature that does not verify: rejected.
    let mut bad = cp.clone();
    bad.note.signatures[0].sig[3] ^= 1;
    let r = full(&log, &bad);
    assert_eq!(r.outcome, CheckpointOutcome::BadSignature);
    assert!(r.message.contains("does not verify"), "{}", r.message);
    // A text changed after signing.
    let mut changed = cp.clone();
    changed.checkpoint.size = 3;
    changed.note.text = changed.checkpoint.to_text();
    assert_eq!(
        full(&log, &changed).outcome,
        CheckpointOutcome::BadSignature
    );
    // A witness refuses it (403).
    let w = Witness::new(
        &d.path().join("store"),
        witness_key(),
        vec![TrustedLog {
            origin: None,
            key: log_key().verifier(),
        }],
    )
    .unwrap();
    let o = w.add_checkpoint(&request(0, &[], &forged), 5).unwrap();
    assert_eq!(o.status(), 403);
    // A witness that knows no key for the origin: 404.
    let w2 = Witness::new(
        &d.path().join("store2"),
        witness_key(),
        vec![TrustedLog {
            origin: Some("elsewhere.example/log".into()),
            key: log_key().verifier(),
        }],
    )
    .unwrap();
    assert_eq!(
        w2.add_checkpoint(&request(0, &[], &cp), 5)
            .unwrap()
            .status(),
        404
    );
    // Requiring a witness cosignature that is not there.
    let mut opts = CheckOptions::default();
    opts.witness_keys = vec![witness_key().verifier()];
    opts.min_witnesses = 1;
    let r = checkpoint::verify_against(&log, &cp, &log_key().verifier(), &opts).unwrap();
    assert_eq!(r.outcome, CheckpointOutcome::TooFewWitnesses);
}

#[test]
fn proof_for_the_wrong_entry() {
    let d = tempfile::tempdir().unwrap();
    let log = new_log(d.path(), "a.jsonl", Framing::Jsonl, 12);
    let cp = sign(&log);
    let v = log_key().verifier();
    let p5 = checkpoint::prove_inclusion(&log, 5, &cp, None).unwrap();
    let p6 = checkpoint::prove_inclusion(&log, 6, &cp, None).unwrap();
    p5.verify(&v, Some(&p5.body)).unwrap();
    // The proof of 5 presented for entry 6's body.
    assert!(p5.verify(&v, Some(&p6.body)).is_err());
    let mut swapped = p5.clone();
    swapped.body = p6.body.clone();
    assert!(swapped.verify(&v, None).is_err());
    // The proof of 5 claimed for index 6.
    let mut moved = p5.clone();
    moved.index = 6;
    assert!(moved.verify(&v, None).is_err());
    // Round trip through the text form.
    let back = checkpoint::InclusionProof::parse(p5.to_text().as_bytes()).unwrap();
    assert_eq!(back, p5);
    back.verify(&v, None).unwrap();
}

#[test]
fn consistency_proof_between_unrelated_trees() {
    let d = tempfile::tempdir().unwrap();
    let a = new_log(d.path(), "a.jsonl", Framing::Jsonl, 10);
    let b = new_log(d.path(), "b.jsonl", Framing::Jsonl, 10);
    let a_old = sign(&a);
    let b_old = sign(&b);
    append(&b, Framing::Jsonl, 10, 20, "a");
    let b_new = sign(&b);
    // No proof from A's checkpoint to B's exists.
    assert!(checkpoint::prove_consistency(&b, &a_old.checkpoint, &b_new, None).is_err());
    // B's own proof, presented as one from A's checkpoint (same size).
    let pb = checkpoint::prove_consistency(&b, &b_old.checkpoint, &b_new, None).unwrap();
    pb.verify(&b_old, &log_key().verifier()).unwrap();
    assert!(pb.verify(&a_old, &log_key().verifier()).is_err());
    let mut as_a = pb.clone();
    as_a.checkpoint.checkpoint.origin = a_old.checkpoint.origin.clone();
    assert!(as_a.verify(&a_old, &log_key().verifier()).is_err());
    assert!(merkle::verify_consistency(
        11,
        21,
        &pb.hashes,
        &a_old.checkpoint.root,
        &b_new.checkpoint.root
    )
    .is_err());
}

/// A witness process killed at random moments of its update leaves the
/// store holding the old or the new checkpoint, never anything else, and
/// the next request works.
#[cfg(feature = "cli")] // runs the `evident` command
#[test]
fn witness_store_killed_mid_update() {
    use std::process::{Command, Stdio};
    let d = tempfile::tempdir().unwrap();
    let log = new_log(d.path(), "a.jsonl", Framing::Jsonl, 3);
    let skey = d.path().join("w.key");
    std::fs::write(&skey, witness_key().to_skey()).unwrap();
    let vkey = log_key().verifier().to_vkey();
    let store = d.path().join("store");
    let wv = witness_key().verifier();
    let run = |req: &Path| {
        Command::new(env!("CARGO_BIN_EXE_evident"))
            .args(["witness", "--store"])
            .arg(&store)
            .arg("--key")
            .arg(&skey)
            .args(["--log-key", &vkey])
            .arg(req)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut held = sign(&log);
    let r0 = d.path().join("r0");
    std::fs::write(&r0, request(0, &[], &held)).unwrap();
    assert!(run(&r0).wait().unwrap().success());
    let origin = held.checkpoint.origin.clone();
    let state = evident::witness::state_file(&store, &origin);
    let mut rng_state = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..40u64 {
        append(&log, Framing::Jsonl, 3 + round, 4 + round, "a");
        let next = sign(&log);
        let p = checkpoint::prove_consistency(&log, &held.checkpoint, &next, None).unwrap();
        let req = d.path().join("req");
        std::fs::write(&req, p.to_text()).unwrap();
        let mut child = run(&req);
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        std::thread::sleep(std::time::Duration::from_micros(rng_state % 4000));
        let _ = child.kill();
        let _ = child.wait();
        let now = SignedCheckpoint::parse(&std::fs::read(&state).unwrap())
            .expect("the store always holds a whole checkpoint");
        assert_eq!(now.witnesses(std::slice::from_ref(&wv)).unwrap().len(), 1);
        now.verify_log(&log_key().verifier()).unwrap();
        let s = now.checkpoint.size;
        assert!(
            s == held.checkpoint.size || s == next.checkpoint.size,
            "round {round}: size {s}"
        );
        if s == next.checkpoint.size {
            held = next;
        } else {
            // Killed before the update: the same request succeeds now.
            assert!(run(&req).wait().unwrap().success(), "round {round}");
            held = next;
        }
    }
}

/// The stored tree is never trusted: damaged, cut or of another log, it is
/// rebuilt and proofs stay right.
#[test]
fn damaged_stored_tree_is_rebuilt() {
    let d = tempfile::tempdir().unwrap();
    let log = new_log(d.path(), "a.jsonl", Framing::Jsonl, 100);
    let cp = sign(&log);
    let tree = checkpoint::tree::tree_path(&log);
    let good = std::fs::read(&tree).unwrap();
    let v = log_key().verifier();
    let mut flipped = good.clone();
    let n = flipped.len();
    flipped[n / 2] ^= 0x40;
    for damaged in [flipped, good[..good.len() / 3].to_vec(), vec![0u8; 10]] {
        std::fs::write(&tree, &damaged).unwrap();
        for seq in [0u64, 1, 50, 100] {
            let p = checkpoint::prove_inclusion(&log, seq, &cp, None).unwrap();
            p.verify(&v, None).unwrap();
        }
    }
    // The tree of another log at the same path.
    let other = new_log(d.path(), "b.jsonl", Framing::Jsonl, 100);
    sign(&other);
    std::fs::copy(checkpoint::tree::tree_path(&other), &tree).unwrap();
    let p = checkpoint::prove_inclusion(&log, 42, &cp, None).unwrap();
    p.verify(&v, None).unwrap();
    // Incremental verification with a damaged tree falls back to full.
    append(&log, Framing::Jsonl, 100, 110, "a");
    std::fs::write(&tree, b"junk").unwrap();
    let r = incr(&log, &cp);
    assert!(r.valid);
    assert_eq!(r.mode, "full");
}

#[test]
fn incremental_reads_only_the_new_records() {
    let d = tempfile::tempdir().unwrap();
    let log = new_log(d.path(), "a.evl", Framing::Binary, 500);
    let cp = sign(&log);
    append(&log, Framing::Binary, 500, 530, "a");
    let r = incr(&log, &cp);
    assert!(r.valid, "{r:?}");
    assert_eq!(r.mode, "incremental");
    assert_eq!(
        r.records_read, 31,
        "the checkpoint's last record and 30 new"
    );
    assert_eq!(r.log_size, 531);
    // The new root it computes is the root a new checkpoint signs.
    let cp2 = sign(&log);
    assert_eq!(
        r.log_root.as_deref(),
        Some(
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                cp2.checkpoint.root
            )
            .as_str()
        )
    );
    // Damage after the checkpoint is found by the incremental check.
    let ends = record_ends(&log);
    let mut bytes = std::fs::read(&log).unwrap();
    let at = ends[515] as usize + 30;
    bytes[at] ^= 1;
    std::fs::write(&log, &bytes).unwrap();
    let r = incr(&log, &cp);
    assert!(!r.valid);
    assert_eq!(r.mode, "incremental");
    // It says where: the damaged frame has no seq, but follows seq 515.
    let p = r.problem.unwrap();
    assert_eq!(p.offset, ends[515]);
    assert!(
        p.message.starts_with("damaged bytes: ")
            && p.message.contains(" bytes with no valid frame")
            && p.message.ends_with("(after seq 515)"),
        "{p:?}"
    );
}

/// Found by the interop test against the Go reference
/// (tests/interop/go): a checkpoint signed by the log's key with another
/// log's origin, whose root is this log's root. `log.ParseCheckpoint`
/// rejects it (the verifier names the origin it expects); evident
/// accepted it when no origin was given, which let a fork signed under a
/// fresh origin (cosigned by witnesses that had never seen it) pass a
/// witness policy. The expected origin defaults to `evident/<log id>`.
#[test]
fn checkpoint_with_another_origin() {
    for framing in [Framing::Jsonl, Framing::Binary] {
        let d = tempfile::tempdir().unwrap();
        let log = new_log(d.path(), "a.log", framing, 5);
        let mut opts = CheckpointOptions::default();
        opts.origin = Some("evident/ffffffffffffffffffffffffffffffff".into());
        let cp = checkpoint::create(&log, &log_key(), &opts).unwrap();
        for r in [full(&log, &cp), incr(&log, &cp)] {
            assert_eq!(r.outcome, CheckpointOutcome::BadSignature, "{r:?}");
            assert!(!r.valid);
            assert!(r.message.contains("origin"), "{}", r.message);
        }
        // Named, the origin is accepted; the default one is too.
        let mut o = CheckOptions::default();
        o.origin = Some("evident/ffffffffffffffffffffffffffffffff".into());
        let r = checkpoint::verify_against(&log, &cp, &log_key().verifier(), &o).unwrap();
        assert_eq!(r.outcome, CheckpointOutcome::Match, "{r:?}");
        assert!(full(&log, &sign(&log)).valid);
    }
}

/// Found by the interop test: the log's own public key (type 0x01) given
/// as a witness key counted the log's signature as a witness cosignature.
/// The reference (`NewVerifierForCosignatureV1`) takes a type 0x01 key as
/// the cosignature/v1 key of the same public key, whose key id differs,
/// so a plain signature never counts.
#[test]
fn log_key_given_as_a_witness_key_is_no_witness() {
    let d = tempfile::tempdir().unwrap();
    let log = new_log(d.path(), "a.log", Framing::Jsonl, 5);
    let cp = sign(&log);
    let mut o = CheckOptions::default();
    o.witness_keys = vec![log_key().verifier()];
    o.min_witnesses = 1;
    let r = checkpoint::verify_against(&log, &cp, &log_key().verifier(), &o).unwrap();
    assert_eq!(r.outcome, CheckpointOutcome::TooFewWitnesses, "{r:?}");
    assert!(cp.witnesses(&[log_key().verifier()]).unwrap().is_empty());
    // A cosignature by the witness seed under a type 0x01 key of the same
    // public key counts, as in the reference.
    let mut cosigned = cp.clone();
    cosigned
        .note
        .add_signature(&witness_key(), 1_700_000_000)
        .unwrap();
    let as_ed25519 = NoteSigner::from_seed("witness.example/w1", KeyType::Ed25519, [2; 32]);
    let w = cosigned.witnesses(&[as_ed25519.verifier()]).unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].key_type, KeyType::Cosignature);
}

/// A witness key made by Go's `note.GenerateKey` is an Ed25519 note key
/// (type 0x01); the reference `NewSignerForCosignatureV1` cosigns with it
/// as the cosignature key (type 0x04) of the same public key. evident's
/// witness does the same: its cosignatures verify with the cosignature
/// verifier of that public key, and never as a plain note signature.
#[test]
fn a_type_01_witness_key_cosigns_as_its_cosignature_key() {
    let d = tempfile::tempdir().unwrap();
    let a = new_log(d.path(), "a.jsonl", Framing::Jsonl, 5);
    let cp = sign(&a);
    let note_key = NoteSigner::from_seed("witness.example/go", KeyType::Ed25519, [3; 32]);
    let as_text = note_key.to_skey();
    let w = Witness::new(
        &d.path().join("store"),
        NoteSigner::from_skey(&as_text).unwrap(),
        vec![TrustedLog {
            origin: None,
            key: log_key().verifier(),
        }],
    )
    .unwrap();
    assert_eq!(w.verifier().key_type(), KeyType::Cosignature);
    let o = w.add_checkpoint(&request(0, &[], &cp), 1000).unwrap();
    let Outcome::Cosigned { cosigned, .. } = &o else {
        panic!("{o:?}")
    };
    let cosig = note_key.verifier().as_cosignature();
    assert_eq!(cosigned.witnesses(&[cosig]).unwrap().len(), 1);
    // As a note signature by that key (a log's signature) it does not count.
    assert!(cosigned.verify_log(&note_key.verifier()).is_err());
}

/// What follows a checkpoint's records is judged as spec/format.md § 9.5
/// judges a log's end (spec/checkpoints.md rules 4 and 14): only the
/// beginning of a record, or a lost block, is a torn tail. A complete
/// record failing its check, garbage that no record starts with, or a line
/// whose line feed was changed is damage: a checkpoint of the records
/// before it matches but the log is not valid against it, and a
/// checkpoint covering the damaged record reports `damaged`, not
/// `truncated` (found by tests/spec_verifier/test_checkpoint_differential.py).
#[test]
fn damage_at_the_end_of_the_log_is_not_a_torn_tail() {
    for framing in [Framing::Jsonl, Framing::Binary] {
        let d = tempfile::tempdir().unwrap();
        let log = new_log(d.path(), "a.log", framing, 10);
        let all = sign(&log); // 11 records
        let mut opts = CheckpointOptions::default();
        opts.size = Some(10);
        let ten = checkpoint::create(&log, &log_key(), &opts).unwrap();
        let data = std::fs::read(&log).unwrap();
        let ends = record_ends(&log);
        let last = ends[9] as usize; // the last record's first byte
        let case = |name: &str, bytes: &[u8]| {
            let p = d.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            let chain = evident::verify(&p, &Default::default()).unwrap();
            let torn = chain.only_torn_tail();
            (
                full(&p, &ten),
                full(&p, &all),
                incr_copy(&log, &p, &ten),
                torn,
            )
        };
        // Damage, each as the log's verification sees it.
        let mut damaged: Vec<(&str, Vec<u8>)> = Vec::new();
        let mut flipped = data.clone();
        flipped[last + 20] ^= 0x40;
        damaged.push(("last record changed", flipped));
        if framing == Framing::Binary {
            damaged.push((
                "garbage appended",
                [&data[..], b"\x01\x02\x03garbage"].concat(),
            ));
        } else {
            damaged.push(("garbage line appended", [&data[..], b"garbage\n"].concat()));
            let mut no_lf = data.clone();
            *no_lf.last_mut().unwrap() = b' ';
            damaged.push(("last line feed changed", no_lf));
        }
        for (name, bytes) in &damaged {
            let (ten_r, all_r, incr_r, torn) = case(name, bytes);
            assert!(
                !torn,
                "{framing:?} {name}: the log's verification calls it damage"
            );
            assert_eq!(
                ten_r.outcome,
                CheckpointOutcome::Match,
                "{framing:?} {name}"
            );
            assert!(
                !ten_r.valid,
                "{framing:?} {name}: damage after the checkpoint"
            );
            assert!(
                !incr_r.valid,
                "{framing:?} {name}: damage after the checkpoint (incremental)"
            );
            let last_changed = *name == "last record changed" || *name == "last line feed changed";
            let want = if last_changed {
                CheckpointOutcome::Damaged
            } else {
                CheckpointOutcome::Match
            };
            assert_eq!(all_r.outcome, want, "{framing:?} {name}");
            assert!(!all_r.valid, "{framing:?} {name}");
        }
        // Torn tails stay harmless: the last record cut short, zeros.
        let torn: Vec<(&str, Vec<u8>)> = vec![
            ("last record cut short", data[..data.len() - 7].to_vec()),
            ("zeros appended", [&data[..], &[0u8; 64][..]].concat()),
            ("lost block in the last record", {
                let mut z = data.clone();
                z[last + 10..last + 30].fill(0);
                z
            }),
        ];
        for (name, bytes) in &torn {
            let (ten_r, all_r, incr_r, torn) = case(name, bytes);
            assert!(
                torn,
                "{framing:?} {name}: the log's verification calls it torn"
            );
            assert_eq!(
                ten_r.outcome,
                CheckpointOutcome::Match,
                "{framing:?} {name}"
            );
            assert!(
                ten_r.valid,
                "{framing:?} {name}: a torn tail is not a failure"
            );
            assert!(
                incr_r.valid,
                "{framing:?} {name}: a torn tail is not a failure (incremental)"
            );
            let want = if *name == "zeros appended" {
                CheckpointOutcome::Match
            } else {
                CheckpointOutcome::Truncated
            };
            assert_eq!(all_r.outcome, want, "{framing:?} {name}");
        }
    }
}

/// The incremental check of a copy of `log` (with `log`'s stored tree).
fn incr_copy(log: &Path, copy: &Path, cp: &SignedCheckpoint) -> checkpoint::CheckpointReport {
    let tree = |p: &Path| {
        let mut s = p.as_os_str().to_owned();
        s.push(".tree");
        PathBuf::from(s)
    };
    std::fs::copy(tree(log), tree(copy)).unwrap();
    incr(copy, cp)
}

/// The cosigned message does not name the witness (tlog-cosignature: "the
/// same public key can't be used across multiple cosigners"), so one
/// witness key trusted under two names must count once: otherwise one
/// cosigner meets `min_witnesses = 2` by repeating its line under the
/// other name (found by tests/spec_verifier/test_checkpoint_differential.py).
#[test]
fn one_witness_key_under_two_names_counts_once() {
    let d = tempfile::tempdir().unwrap();
    let log = new_log(d.path(), "a.log", Framing::Jsonl, 5);
    let mut cp = sign(&log);
    let alias = NoteSigner::from_seed("witness.example/alias", KeyType::Cosignature, [2; 32]);
    cp.note
        .add_signature(&witness_key(), 1_700_000_000)
        .unwrap();
    cp.note.add_signature(&alias, 1_700_000_000).unwrap();
    let trusted = vec![witness_key().verifier(), alias.verifier()];
    assert_eq!(cp.witnesses(&trusted).unwrap().len(), 1);
    let mut o = CheckOptions::default();
    o.witness_keys = trusted;
    o.min_witnesses = 2;
    let r = checkpoint::verify_against(&log, &cp, &log_key().verifier(), &o).unwrap();
    assert_eq!(r.outcome, CheckpointOutcome::TooFewWitnesses, "{r:?}");
    // Two witnesses with their own keys still make two.
    let other = NoteSigner::from_seed("witness.example/w2", KeyType::Cosignature, [4; 32]);
    cp.note.add_signature(&other, 1_700_000_000).unwrap();
    o.witness_keys.push(other.verifier());
    let r = checkpoint::verify_against(&log, &cp, &log_key().verifier(), &o).unwrap();
    assert_eq!(r.outcome, CheckpointOutcome::Match, "{r:?}");
    assert_eq!(r.witnesses.len(), 2);
}

/// A checkpoint is signed only when its text reads back as the same
/// checkpoint: an origin holding a line feed would sign other lines (here
/// a size of 1000 records and a root the log never had), an empty origin
/// or a control character a note no verifier accepts, and an origin
/// starting with "— " would read as a signature line in the checkpoints
/// sidecar (spec/checkpoints.md rules 6, 10a). Found by
/// tests/spec_verifier/test_checkpoint_differential.py's author trying
/// `evident checkpoint --origin`.
#[test]
fn an_origin_that_is_not_one_line_is_not_signed() {
    let d = tempfile::tempdir().unwrap();
    let log = new_log(d.path(), "a.log", Framing::Jsonl, 5);
    let genuine = sign(&log);
    let injected = format!(
        "{}\n1000\n{}",
        genuine.checkpoint.origin, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    );
    for origin in [
        injected.as_str(),
        "",
        "a\tb",
        "a\rb",
        "\u{2014} evil",
        "x\n",
    ] {
        let mut o = CheckpointOptions::default();
        o.origin = Some(origin.to_string());
        let r = checkpoint::create(&log, &log_key(), &o);
        assert!(
            r.is_err(),
            "{origin:?} was signed: {:?}",
            r.map(|c| c.to_text())
        );
    }
    for origin in ["example.com/audit", "evident/x y", "\u{2014}x"] {
        let mut o = CheckpointOptions::default();
        o.origin = Some(origin.to_string());
        let cp = checkpoint::create(&log, &log_key(), &o).unwrap();
        assert_eq!(cp.checkpoint.origin, origin);
        assert_eq!(cp.checkpoint.size, genuine.checkpoint.size);
    }
}

/// Only an incomplete last note of the checkpoints sidecar is ignored
/// (spec/checkpoints.md rule 10a: what a crash during an append leaves).
/// A complete note that does not parse is damage: skipping it made the
/// writer check a new checkpoint against the one before it, so a log
/// rolled back and appended to was signed again, a fork of the checkpoint
/// whose note was damaged (rule 9).
#[test]
fn a_damaged_last_note_of_the_sidecar_is_not_skipped() {
    let d = tempfile::tempdir().unwrap();
    let log = new_log(d.path(), "a.jsonl", Framing::Jsonl, 3);
    let sidecar = checkpoint::checkpoints_path(&log);
    let mut o = CheckpointOptions::default();
    o.size = Some(2);
    let cp2 = checkpoint::create(&log, &log_key(), &o).unwrap();
    checkpoint::append_checkpoint(&sidecar, &cp2).unwrap();
    let cp4 = sign(&log);
    assert_eq!(cp4.checkpoint.size, 4);
    checkpoint::append_checkpoint(&sidecar, &cp4).unwrap();
    let text = std::fs::read_to_string(&sidecar).unwrap();
    // A torn last note is ignored.
    std::fs::write(&sidecar, &text[..text.len() - 5]).unwrap();
    let last = checkpoint::last_checkpoint(&sidecar).unwrap().unwrap();
    assert_eq!(last.checkpoint.size, 2);
    assert_eq!(checkpoint::read_checkpoints(&sidecar).unwrap().len(), 1);
    // A complete last note whose size line is damaged is not.
    let damaged = text.replacen("\n4\n", "\nx\n", 1);
    assert_ne!(damaged, text);
    std::fs::write(&sidecar, &damaged).unwrap();
    assert!(checkpoint::last_checkpoint(&sidecar).is_err());
    assert!(checkpoint::read_checkpoints(&sidecar).is_err());
}
