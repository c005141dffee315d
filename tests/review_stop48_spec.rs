//! Outside review of the spec (stop 48): a genesis `key_id` of `null`,
//! a seq that would wrap past 2⁶⁴ − 1, `verify-proof` without an expected
//! origin, a checkpoint size past 2⁶⁴ − 1 and a checkpoints sidecar whose
//! sizes decrease.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use evident::checkpoint::{
    self, Checkpoint, InclusionProof, KeyType, NoteSigner, SignedCheckpoint,
};
use evident::query::{query, Query};
use evident::{
    verify, Error, Event, Key, Log, OpenOptions, VerifyOptions, VerifyReport, ViolationKind,
};
use hmac::Mac as _;
use predicates::prelude::*;
use sha2::{Digest as _, Sha256};

fn evident() -> Command {
    Command::cargo_bin("evident").unwrap()
}

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors/checkpoints")
}

const ZERO: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const TS: &str = "2026-03-01T09:00:00.000000Z";
const LOG_ID: &str = "00112233445566778899aabbccddeeff";

/// The key of the test vectors (spec/format.md: key id 08d64b44a629d45e).
fn vector_key() -> Vec<u8> {
    (0u8..32).collect()
}

/// A JSONL log of `bodies`, each `{P}` in a body replaced by the hash of
/// the record before it; hashed with SHA-256, or HMAC-SHA256 under `key`.
fn jsonl(bodies: &[String], key: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev = String::new();
    for b in bodies {
        let b = b.replace("{P}", &prev);
        prev = match key {
            None => hex::encode(Sha256::digest(b.as_bytes())),
            Some(k) => {
                let mut m = hmac::Hmac::<Sha256>::new_from_slice(k).unwrap();
                m.update(b.as_bytes());
                hex::encode(m.finalize().into_bytes())
            }
        };
        out.extend_from_slice(&b.as_bytes()[..b.len() - 1]);
        out.extend_from_slice(format!(",\"hash\":\"{prev}\"}}\n").as_bytes());
    }
    out
}

/// A genesis body with `extra` members after `alg` (before `log_id`).
fn genesis(alg: &str, extra: &str) -> String {
    format!(
        r#"{{"v":1,"seq":0,"prev":"{ZERO}","kind":"genesis","ts":"{TS}","format":"evident","alg":"{alg}"{extra},"log_id":"{LOG_ID}"}}"#
    )
}

/// An entry body with seq `seq` and `extra` members before `details`.
fn entry(seq: u64, extra: &str) -> String {
    format!(
        r#"{{"v":1,"seq":{seq},"prev":"{{P}}","kind":"entry","ts":"{TS}","event_type":"E","action":"a","actor":"u","host":"h","session_id":"","source":""{extra},"details":{{}}}}"#
    )
}

fn all(key: Option<Vec<u8>>, threads: usize) -> VerifyOptions {
    let mut o = VerifyOptions::default();
    o.key = key.map(|k| Key::new(k).unwrap());
    o.all = true;
    o.threads = threads;
    o.in_flight_wait = Some(std::time::Duration::ZERO);
    o
}

fn kinds(r: &VerifyReport) -> Vec<(ViolationKind, Option<u64>)> {
    r.violations.iter().map(|v| (v.kind, v.seq)).collect()
}

// ---------------------------------------------------------------------
// 1. A member of the genesis that is null is not absent.
// ---------------------------------------------------------------------

/// `"key_id":null` breaks spec/format.md § 3 rule 4 ("`key_id` a string if
/// present"; § 4: an absent member is omitted, never written as null), in
/// a keyless log as in a keyed one: the log is malformed (not an evident
/// log), not valid, and in a keyed log not a `wrong_key`. The same for
/// `"critical":null` and a `key_id` of another type.
#[test]
fn a_genesis_key_id_of_null_is_malformed_to_the_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let key = vector_key();
    let cases: &[(&str, &str, Option<&[u8]>)] = &[
        ("sha256", r#","key_id":null"#, None),
        ("sha256", r#","key_id":5"#, None),
        ("hmac-sha256", r#","key_id":null"#, Some(&key)),
        (
            "hmac-sha256",
            r#","key_id":["08d64b44a629d45e"]"#,
            Some(&key),
        ),
        ("sha256", r#","critical":null"#, None),
        (
            "hmac-sha256",
            r#","key_id":"08d64b44a629d45e","critical":null"#,
            Some(&key),
        ),
    ];
    for (i, (alg, extra, k)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("g{i}.jsonl"));
        let bodies = [genesis(alg, extra), entry(1, "")];
        std::fs::write(&path, jsonl(&bodies, *k)).unwrap();
        let r = verify(&path, &all(k.map(<[u8]>::to_vec), 1)).unwrap();
        assert!(!r.valid, "{alg} {extra}: valid");
        assert!(r.not_a_log, "{alg} {extra}: {:?}", r.violations);
        assert_eq!(
            kinds(&r),
            [(ViolationKind::Malformed, Some(0))],
            "{alg} {extra}: {:?}",
            r.violations
        );
        evident()
            .arg("verify")
            .arg(&path)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("not an evident log"));
    }
    // The well-formed logs the cases were made from verify.
    for (alg, extra, k) in [
        ("sha256", "", None),
        (
            "hmac-sha256",
            r#","key_id":"08d64b44a629d45e""#,
            Some(&key[..]),
        ),
    ] {
        let path = dir.path().join(format!("ok-{alg}.jsonl"));
        std::fs::write(&path, jsonl(&[genesis(alg, extra), entry(1, "")], k)).unwrap();
        let r = verify(&path, &all(k.map(<[u8]>::to_vec), 1)).unwrap();
        assert!(r.valid, "{alg}: {:?}", r.violations);
    }
}

/// Every reader that opens a log reads its genesis the same way: the
/// writer refuses to append to a log whose genesis has `"key_id":null`,
/// and a query reports it as malformed.
#[test]
fn a_genesis_key_id_of_null_is_malformed_to_the_writer_and_the_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("null.jsonl");
    let bytes = jsonl(
        &[genesis("sha256", r#","key_id":null"#), entry(1, "")],
        None,
    );
    std::fs::write(&path, &bytes).unwrap();
    match Log::open(&path, OpenOptions::new()) {
        Err(Error::Malformed { msg, .. }) => assert!(msg.contains("key_id"), "{msg}"),
        Err(e) => panic!("open: {e}"),
        Ok(log) => {
            let appended = log.append(&Event::new("E", "a"));
            panic!("open accepted the log (append: {appended:?})");
        }
    }
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the log was changed");
    let first = query(&path, &Query::default()).map(|mut it| it.next());
    assert!(
        matches!(
            first,
            Err(Error::Malformed { .. }) | Ok(Some(Err(Error::Malformed { .. })))
        ),
        "{first:?}"
    );
    evident()
        .arg("append")
        .arg(&path)
        .args(["--event-type", "E", "--action", "a"])
        .assert()
        .code(2);
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the log was changed");
}

/// The optional members of an entry (spec/format.md § 4) are of their
/// type when present, never null: a query that returns such an entry
/// reports it as malformed, naming its seq. A verifier does not interpret
/// them (the log verifies).
#[test]
fn an_optional_entry_member_of_null_is_malformed_to_a_query() {
    let dir = tempfile::tempdir().unwrap();
    for member in [
        "success",
        "duration_ms",
        "error",
        "note",
        "git_commit",
        "otr",
    ] {
        let path = dir.path().join(format!("{member}.jsonl"));
        let extra = format!(r#","{member}":null"#);
        let bodies = [genesis("sha256", ""), entry(1, ""), entry(2, &extra)];
        std::fs::write(&path, jsonl(&bodies, None)).unwrap();
        let r = verify(&path, &all(None, 1)).unwrap();
        assert!(r.valid, "{member}: {:?}", r.violations);
        let got: Vec<_> = query(&path, &Query::default()).unwrap().collect();
        assert_eq!(got.len(), 2, "{member}: {got:?}");
        assert!(got[0].is_ok(), "{member}: {got:?}");
        match &got[1] {
            Err(Error::Malformed { msg, .. }) => {
                assert!(msg.contains("null"), "{member}: {msg}")
            }
            other => panic!("{member}: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------
// 2. No seq follows 2⁶⁴ − 1.
// ---------------------------------------------------------------------

/// After an entry with seq 2⁶⁴ − 1 the expected seq is none (§ 2: seq <
/// 2⁶⁴): the next record, seq 0, is a `seq_gap`, not the successor of
/// 2⁶⁴ − 1. Also after an unreadable line (§ 9.4: no seq is in range), and
/// with the records split across the verifier's chunks.
#[test]
fn no_record_follows_seq_2_64_minus_1() {
    let dir = tempfile::tempdir().unwrap();
    let max = u64::MAX;
    let plain = [
        genesis("sha256", ""),
        entry(max, ""),
        entry(0, ""),
        entry(1, ""),
    ];
    let path = dir.path().join("wrap.jsonl");
    std::fs::write(&path, jsonl(&plain, None)).unwrap();
    for threads in [1, 4] {
        let r = verify(&path, &all(None, threads)).unwrap();
        assert_eq!(
            kinds(&r),
            [
                (ViolationKind::SeqGap, Some(max)),
                (ViolationKind::SeqGap, Some(0))
            ],
            "{:?}",
            r.violations
        );
        assert!(
            r.violations[1]
                .message
                .contains(&format!("follows seq {max}")),
            "{}",
            r.violations[1].message
        );
    }
    evident()
        .args(["verify", "--all"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("seq_gap").count(2))
        .stdout(predicate::str::contains(format!("seq 0 follows seq {max}")));

    // An unreadable line after 2⁶⁴ − 1: it may stand for one record, but no
    // seq is one past 2⁶⁴ − 1, so seq 0 is still a gap.
    let mut bytes = jsonl(&plain, None);
    let second_end = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .unwrap()
        .0;
    bytes.splice(second_end + 1..second_end + 1, b"garbage\n".iter().copied());
    let path = dir.path().join("wrap-damaged.jsonl");
    std::fs::write(&path, &bytes).unwrap();
    let r = verify(&path, &all(None, 1)).unwrap();
    assert_eq!(
        kinds(&r),
        [
            (ViolationKind::SeqGap, Some(max)),
            (ViolationKind::Malformed, None),
            (ViolationKind::SeqGap, Some(0))
        ],
        "{:?}",
        r.violations
    );
    assert!(
        r.violations[1]
            .message
            .contains(&format!("after seq {max}")),
        "{}",
        r.violations[1].message
    );

    // Records of 2 MiB each: the record after 2⁶⁴ − 1 is in another chunk
    // than it (its link is checked when the chunks are joined).
    let pad = format!(r#","note":"{}""#, "x".repeat(2 << 20));
    let big = [
        genesis("sha256", ""),
        entry(max, &pad),
        entry(0, &pad),
        entry(1, &pad),
    ];
    let path = dir.path().join("wrap-big.jsonl");
    std::fs::write(&path, jsonl(&big, None)).unwrap();
    for threads in [1, 4] {
        let r = verify(&path, &all(None, threads)).unwrap();
        assert_eq!(
            kinds(&r),
            [
                (ViolationKind::SeqGap, Some(max)),
                (ViolationKind::SeqGap, Some(0))
            ],
            "{threads}: {:?}",
            r.violations
        );
    }
}

// ---------------------------------------------------------------------
// 3. verify-proof needs the origin it expects.
// ---------------------------------------------------------------------

/// The vectors' inclusion proof of seq 1, its checkpoint re-signed by the
/// log key under the origin `origin`.
fn proof_under(origin: &str) -> String {
    let skey = checkpoint::read_signer(&vectors().join("log.skey")).unwrap();
    let bytes = std::fs::read(vectors().join("inclusion-1.tlog-proof")).unwrap();
    let mut p = InclusionProof::parse(&bytes).unwrap();
    let cp = Checkpoint {
        origin: origin.into(),
        ..p.checkpoint.checkpoint.clone()
    };
    p.checkpoint = SignedCheckpoint::sign(cp, &skey).unwrap();
    p.to_text()
}

/// spec/checkpoints.md rule 8a: a verifier MUST check the checkpoint's
/// origin. Without `--log` or `--origin` `verify-proof` has no origin to
/// expect: it refuses an inclusion proof with a usage error (exit 2)
/// naming both flags, instead of accepting a checkpoint of any origin.
#[test]
fn verify_proof_of_an_inclusion_needs_the_expected_origin() {
    let dir = tempfile::tempdir().unwrap();
    let v = vectors();
    let vkey = v.join("log.vkey");
    let foreign = dir.path().join("foreign.tlog-proof");
    std::fs::write(&foreign, proof_under("attacker.example/fork")).unwrap();
    for proof in [foreign.clone(), v.join("inclusion-1.tlog-proof")] {
        evident()
            .arg("verify-proof")
            .arg(&proof)
            .arg("--pubkey")
            .arg(&vkey)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("--log"))
            .stderr(predicate::str::contains("--origin"));
    }
    // With the log, its origin is expected: the fork is refused.
    evident()
        .arg("verify-proof")
        .arg(&foreign)
        .arg("--pubkey")
        .arg(&vkey)
        .arg("--log")
        .arg(v.join("log.jsonl"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("origin"));
    let expected = format!("evident/{LOG_ID}");
    evident()
        .arg("verify-proof")
        .arg(&foreign)
        .arg("--pubkey")
        .arg(&vkey)
        .args(["--origin", &expected])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("attacker.example/fork"));
    // The right origin, by either flag.
    evident()
        .arg("verify-proof")
        .arg(v.join("inclusion-1.tlog-proof"))
        .arg("--pubkey")
        .arg(&vkey)
        .args(["--origin", &expected])
        .assert()
        .success()
        .stdout(predicate::str::contains("ok: entry seq 1"));
    evident()
        .arg("verify-proof")
        .arg(v.join("inclusion-1.tlog-proof"))
        .arg("--pubkey")
        .arg(&vkey)
        .arg("--log")
        .arg(v.join("log.jsonl"))
        .assert()
        .success();
    // An origin the verifier names itself is the one it expects.
    evident()
        .arg("verify-proof")
        .arg(&foreign)
        .arg("--pubkey")
        .arg(&vkey)
        .args(["--origin", "attacker.example/fork"])
        .assert()
        .success();
    // The help says so.
    evident()
        .args(["verify-proof", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--log or --origin"));
}

/// A consistency proof is checked against the old checkpoint the verifier
/// holds (rule 12: same origin), which names the expected origin: `--old`
/// is enough, and a new checkpoint under another origin is refused.
#[test]
fn verify_proof_of_a_consistency_expects_the_old_checkpoints_origin() {
    let dir = tempfile::tempdir().unwrap();
    let v = vectors();
    let vkey = v.join("log.vkey");
    evident()
        .arg("verify-proof")
        .arg(v.join("consistency-2-3.txt"))
        .arg("--pubkey")
        .arg(&vkey)
        .arg("--old")
        .arg(v.join("size2.checkpoint"))
        .assert()
        .success();
    let text = std::fs::read_to_string(v.join("consistency-2-3.txt")).unwrap();
    let mut p = checkpoint::ConsistencyProof::parse(text.as_bytes()).unwrap();
    let skey = checkpoint::read_signer(&v.join("log.skey")).unwrap();
    p.checkpoint = SignedCheckpoint::sign(
        Checkpoint {
            origin: "attacker.example/fork".into(),
            ..p.checkpoint.checkpoint.clone()
        },
        &skey,
    )
    .unwrap();
    let forked = dir.path().join("forked.txt");
    std::fs::write(&forked, p.to_text()).unwrap();
    evident()
        .arg("verify-proof")
        .arg(&forked)
        .arg("--pubkey")
        .arg(&vkey)
        .arg("--old")
        .arg(v.join("size2.checkpoint"))
        .assert()
        .code(1);
}

// ---------------------------------------------------------------------
// 4. Checkpoint sizes.
// ---------------------------------------------------------------------

/// A size past 2⁶⁴ − 1 is a number, too large: the message says so, not
/// that it is not a decimal number (rule 6).
#[test]
fn a_checkpoint_size_past_2_64_minus_1_is_too_large() {
    let root = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let e = Checkpoint::from_text(&format!("o\n18446744073709551616\n{root}\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("too large"), "{e}");
    assert!(!e.contains("not a decimal number"), "{e}");
    let ok = Checkpoint::from_text(&format!("o\n18446744073709551615\n{root}\n")).unwrap();
    assert_eq!(ok.size, u64::MAX);
    for bad in ["05", "-1", "+1", "1e3", "", " 1"] {
        let e = Checkpoint::from_text(&format!("o\n{bad}\n{root}\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a decimal number"), "{bad:?}: {e}");
    }
}

fn signed(size: u64) -> String {
    let s = NoteSigner::from_seed("a.example/l", KeyType::Ed25519, [7; 32]);
    SignedCheckpoint::sign(
        Checkpoint {
            origin: "o".into(),
            size,
            root: [size as u8; 32],
            extensions: vec![],
        },
        &s,
    )
    .unwrap()
    .to_text()
}

/// spec/checkpoints.md rule 10a: the sizes in `<log>.checkpoints` never
/// decrease. A sidecar whose sizes do (3, then 2) is damage: the reader
/// reports an error naming the file and the note, instead of taking the
/// last note as the sidecar's checkpoint.
#[test]
fn a_sidecar_whose_sizes_decrease_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl.checkpoints");
    let (one, three) = (signed(1), signed(3));
    std::fs::write(&p, format!("{one}{three}{}", signed(2))).unwrap();
    let offset = one.len() + three.len();
    for e in [
        checkpoint::read_checkpoints(&p).unwrap_err(),
        checkpoint::last_checkpoint(&p).unwrap_err(),
    ] {
        let m = e.to_string();
        assert!(matches!(e, Error::Malformed { .. }), "{m}");
        assert!(m.contains("a.jsonl.checkpoints"), "{m}");
        assert!(m.contains("note 3"), "{m}");
        assert!(m.contains(&format!("offset {offset}")), "{m}");
        assert!(m.contains("size 2") && m.contains("size 3"), "{m}");
    }
    // Equal sizes do not decrease; increasing ones are read as before.
    std::fs::write(&p, format!("{one}{three}{three}{}", signed(4))).unwrap();
    let sizes: Vec<u64> = checkpoint::read_checkpoints(&p)
        .unwrap()
        .iter()
        .map(|c| c.checkpoint.size)
        .collect();
    assert_eq!(sizes, [1, 3, 3, 4]);
}

/// The commands that read a sidecar report it too: `checkpoint` signs
/// nothing, and `verify --checkpoint LOG.checkpoints` says why the sidecar
/// cannot be read.
#[test]
fn the_cli_reports_a_sidecar_whose_sizes_decrease() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let log = d.join("audit.jsonl");
    let l = Log::open(&log, OpenOptions::new()).unwrap();
    for i in 0..4 {
        l.append(&Event::new("E", format!("a{i}"))).unwrap();
    }
    l.close().unwrap();
    evident()
        .current_dir(d)
        .args(["keygen", "--name", "example.com/audit", "-o", "log.key"])
        .assert()
        .success();
    for size in ["3", "2"] {
        evident()
            .current_dir(d)
            .args([
                "checkpoint",
                "audit.jsonl",
                "--key",
                "log.key",
                "--size",
                size,
            ])
            .args(["--no-sidecar", "-o", &format!("cp{size}")])
            .assert()
            .success();
    }
    let sidecar = d.join("audit.jsonl.checkpoints");
    let cp3 = std::fs::read_to_string(d.join("cp3")).unwrap();
    let cp2 = std::fs::read_to_string(d.join("cp2")).unwrap();
    std::fs::write(&sidecar, format!("{cp3}{cp2}")).unwrap();
    let before = std::fs::read(&sidecar).unwrap();
    evident()
        .current_dir(d)
        .args(["checkpoint", "audit.jsonl", "--key", "log.key"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("audit.jsonl.checkpoints"))
        .stderr(predicate::str::contains("note 2"));
    assert_eq!(std::fs::read(&sidecar).unwrap(), before);
    evident()
        .current_dir(d)
        .args([
            "verify",
            "audit.jsonl",
            "--checkpoint",
            "audit.jsonl.checkpoints",
        ])
        .args(["--pubkey", "log.key.pub"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("note 2"))
        .stderr(predicate::str::contains("decrease"));
}

/// A session file's genesis is the log format's (spec/session.md § 5 rule
/// 1, format.md § 3): `"key_id":null` makes it malformed there too, not a
/// keyless file (and, keyed, not a wrong key).
#[cfg(feature = "session")]
#[test]
fn a_session_genesis_key_id_of_null_is_malformed() {
    use evident::session::{verify_session, LoadOptions, Session};
    let v = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors/session/no_commit.evs");
    let bytes = std::fs::read(v).unwrap();
    // The file header, then the genesis frame: body_len, hash_len, flags, body.
    let body_len = u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as usize;
    let body = std::str::from_utf8(&bytes[24..24 + body_len]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let mut out = bytes[..16].to_vec();
        let hash = evident::Hash::from_hex(&hex::encode(Sha256::digest(body.as_bytes()))).unwrap();
        evident::format::frame(&mut out, evident::Framing::Binary, body.as_bytes(), &hash);
        let p = dir.path().join(name);
        std::fs::write(&p, out).unwrap();
        p
    };
    // The genesis rebuilt as it is reads as the vector does.
    let same = write("same.evs", body);
    assert_eq!(std::fs::read(&same).unwrap(), bytes);
    assert!(verify_session(&same, None).unwrap().ok);
    let null = body.replacen(r#""alg":"sha256""#, r#""alg":"sha256","key_id":null"#, 1);
    assert_ne!(null, body);
    let p = write("null.evs", &null);
    match verify_session(&p, None) {
        Err(e) => assert!(e.to_string().contains("key_id"), "{e}"),
        Ok(r) => panic!("verified: {r:?}"),
    }
    let Err(e) = Session::load(&p, &LoadOptions::default()) else {
        panic!("loaded");
    };
    assert!(e.to_string().contains("key_id"), "{e}");
}
