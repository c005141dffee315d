//! `evident keygen`, `checkpoint`, `prove`, `verify-proof`, `witness` and
//! `verify --checkpoint`: outputs and exit codes.

use std::path::Path;

use assert_cmd::Command;
use evident::{Durability, Event, Log, OpenOptions};
use predicates::prelude::*;

fn evident(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("evident").unwrap();
    c.current_dir(dir);
    c
}

fn append(log: &Path, from: u64, to: u64) {
    let l = Log::open(log, OpenOptions::new().durability(Durability::Buffered)).unwrap();
    for i in from..to {
        l.append(&Event::new("ACTION_EXECUTED", format!("a{i}")))
            .unwrap();
    }
    l.close().unwrap();
}

#[test]
fn the_whole_workflow() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let log = p.join("audit.jsonl");
    append(&log, 0, 20);
    evident(p)
        .args(["keygen", "--name", "example.com/audit", "-o", "log.key"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("example.com/audit+"));
    evident(p)
        .args([
            "keygen",
            "--name",
            "witness.example/w1",
            "--witness",
            "-o",
            "w.key",
        ])
        .assert()
        .success();
    // keygen never overwrites a key.
    evident(p)
        .args(["keygen", "--name", "example.com/audit", "-o", "log.key"])
        .assert()
        .code(2);
    evident(p)
        .args(["checkpoint", "audit.jsonl", "--key", "log.key", "-o", "cp1"])
        .assert()
        .success();
    let cp1 = std::fs::read_to_string(p.join("cp1")).unwrap();
    assert!(cp1.contains("\n21\n"), "{cp1}");
    assert!(p.join("audit.jsonl.checkpoints").exists());
    assert!(p.join("audit.jsonl.tree").exists());
    append(&log, 20, 30);
    evident(p)
        .args(["checkpoint", "audit.jsonl", "--key", "log.key", "-o", "cp2"])
        .assert()
        .success();
    // Inclusion proof, checked against the log.
    evident(p)
        .args([
            "prove",
            "audit.jsonl",
            "--seq",
            "7",
            "--checkpoint",
            "cp1",
            "-o",
            "p7",
        ])
        .assert()
        .success();
    evident(p)
        .args([
            "verify-proof",
            "p7",
            "--pubkey",
            "log.key.pub",
            "--log",
            "audit.jsonl",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("entry seq 7"));
    // Against a copy whose entry 6 (action a5) was altered: the entry cannot be read,
    // and the message says why (not that the log has no entry seq 7).
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(p.join("altered.jsonl"), text.replace("\"a5\"", "\"EVIL\"")).unwrap();
    evident(p)
        .args([
            "verify-proof",
            "p7",
            "--pubkey",
            "log.key.pub",
            "--log",
            "altered.jsonl",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot be read"))
        .stderr(predicate::str::contains("hash_mismatch at entry seq 6"));
    // The proof does not verify with another key.
    evident(p)
        .args(["keygen", "--name", "example.com/audit", "-o", "other.key"])
        .assert()
        .success();
    evident(p)
        .args(["verify-proof", "p7", "--pubkey", "other.key.pub"])
        .assert()
        .code(1);
    // Consistency proof, as a witness request.
    evident(p)
        .args([
            "prove",
            "audit.jsonl",
            "--consistency",
            "cp1",
            "cp2",
            "-o",
            "c12",
        ])
        .assert()
        .success();
    evident(p)
        .args([
            "verify-proof",
            "c12",
            "--pubkey",
            "log.key.pub",
            "--old",
            "cp1",
        ])
        .assert()
        .success();
    // A witness: first checkpoint from old 0 (stdin), then the proof.
    let mut r0 = String::from("old 0\n\n");
    r0.push_str(&cp1);
    // `prove --consistency 0 NEW` makes that request.
    evident(p)
        .args(["prove", "audit.jsonl", "--consistency", "0", "cp1"])
        .assert()
        .success()
        .stdout(predicate::eq(r0.clone()));
    evident(p)
        .args([
            "witness",
            "--store",
            "ws",
            "--key",
            "w.key",
            "--log-key",
            "log.key.pub",
        ])
        .write_stdin(r0)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("\u{2014} witness.example/w1 "));
    evident(p)
        .args([
            "witness",
            "--store",
            "ws",
            "--key",
            "w.key",
            "--log-key",
            "log.key.pub",
            "c12",
            "--cosigned",
            "cp2w",
        ])
        .assert()
        .success();
    // The same request again: the witness is at 31 now (409).
    evident(p)
        .args([
            "witness",
            "--store",
            "ws",
            "--key",
            "w.key",
            "--log-key",
            "log.key.pub",
            "c12",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("409 conflict"));
    // verify with the checkpoint, requiring the witness.
    evident(p)
        .args([
            "verify",
            "audit.jsonl",
            "--checkpoint",
            "cp2w",
            "--pubkey",
            "log.key.pub",
            "--witness-key",
            "w.key.pub",
            "--min-witnesses",
            "1",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("checkpoint: match"))
        .stdout(predicate::str::contains("valid"));
    // --json: one object, the chain's report under "chain".
    let a = evident(p)
        .args([
            "verify",
            "audit.jsonl",
            "--json",
            "--checkpoint",
            "cp2w",
            "--pubkey",
            "log.key.pub",
        ])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(v["outcome"], "match");
    assert_eq!(v["chain"]["status"], "valid", "{v}");
    assert_eq!(v["chain"]["entries"], 30, "{v}");
    evident(p)
        .args([
            "verify",
            "audit.jsonl",
            "--checkpoint",
            "cp2",
            "--pubkey",
            "log.key.pub",
            "--witness-key",
            "w.key.pub",
            "--min-witnesses",
            "1",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("too_few_witnesses"));
    // Incremental from cp1.
    evident(p)
        .args([
            "verify",
            "audit.jsonl",
            "--checkpoint",
            "cp1",
            "--pubkey",
            "log.key.pub",
            "--incremental",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("(incremental, 11 records read)"));
    // Cut the log: truncated, exit 1, with --json too.
    let text = std::fs::read_to_string(&log).unwrap();
    let keep: String = text.lines().take(25).map(|l| format!("{l}\n")).collect();
    std::fs::write(&log, keep).unwrap();
    evident(p)
        .args([
            "verify",
            "audit.jsonl",
            "--checkpoint",
            "cp2",
            "--pubkey",
            "log.key.pub",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("checkpoint: truncated"));
    let out = evident(p)
        .args([
            "verify",
            "audit.jsonl",
            "--checkpoint",
            "cp2",
            "--pubkey",
            "log.key.pub",
            "--json",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["outcome"], "truncated");
    assert_eq!(v["log_size"], 25);
    // The writer refuses to sign a log inconsistent with its last
    // checkpoint once it grows past it again.
    append(&log, 24, 40);
    evident(p)
        .args(["checkpoint", "audit.jsonl", "--key", "log.key"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("refusing to sign"));
}

#[test]
fn bad_keys_and_files_are_errors() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    append(&p.join("a.jsonl"), 0, 3);
    std::fs::write(p.join("bad.key"), "PRIVATE+KEY+x+00000000+AAAA\n").unwrap();
    evident(p)
        .args(["checkpoint", "a.jsonl", "--key", "bad.key"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.key"));
    evident(p)
        .args(["checkpoint", "a.jsonl", "--key", "missing.key"])
        .assert()
        .code(2);
    evident(p)
        .args(["keygen", "--name", "has space"])
        .assert()
        .code(2);
    evident(p)
        .args(["keygen", "--name", "example.com/a", "-o", "k"])
        .assert()
        .success();
    std::fs::write(p.join("cp"), "not a checkpoint\n").unwrap();
    evident(p)
        .args([
            "verify",
            "a.jsonl",
            "--checkpoint",
            "cp",
            "--pubkey",
            "k.pub",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cp"));
    evident(p)
        .args([
            "verify",
            "a.jsonl",
            "--checkpoint",
            "cp",
            "--pubkey",
            "nonsense",
        ])
        .assert()
        .code(2);
    // A witness key cannot sign checkpoints; a log cannot witness itself
    // (its own key as the witness key).
    evident(p)
        .args(["keygen", "--name", "w.example/w", "--witness", "-o", "w"])
        .assert()
        .success();
    evident(p)
        .args(["checkpoint", "a.jsonl", "--key", "w"])
        .assert()
        .code(2);
    evident(p)
        .args([
            "witness",
            "--store",
            "s",
            "--key",
            "k",
            "--log-key",
            "k.pub",
        ])
        .write_stdin("old 0\n\n")
        .assert()
        .code(2);
}

/// keygen never overwrites a key, the public one included: a `k.pub`
/// left from another key pair (its private key moved away) was replaced
/// by the new public key, so what verifiers were given as `k.pub` silently
/// changed. Now the command fails before writing anything.
#[test]
fn keygen_never_replaces_a_public_key() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("k.pub"), "someone else's key\n").unwrap();
    evident(p)
        .args(["keygen", "--name", "example.com/a", "-o", "k"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("k.pub"));
    assert_eq!(
        std::fs::read_to_string(p.join("k.pub")).unwrap(),
        "someone else's key\n"
    );
    assert!(!p.join("k").exists(), "a private key was left behind");
}
