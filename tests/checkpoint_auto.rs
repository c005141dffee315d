//! Automatic checkpoints by the writer: every N entries, every T seconds,
//! at close, into `<log>.checkpoints`.

use std::time::Duration;

use evident::checkpoint::{
    self, CheckOptions, CheckpointOutcome, CheckpointPolicy, CheckpointingLog, KeyType, NoteSigner,
    SignedCheckpoint,
};
use evident::{Event, Framing, Log, OpenOptions};

fn key() -> NoteSigner {
    NoteSigner::from_seed("example.com/audit", KeyType::Ed25519, [4; 32])
}

/// Every signed checkpoint in the sidecar, in order.
fn sidecar(log: &std::path::Path) -> Vec<SignedCheckpoint> {
    let text = std::fs::read_to_string(checkpoint::checkpoints_path(log)).unwrap_or_default();
    let mut out = Vec::new();
    let mut cur = String::new();
    for part in text.split_inclusive('\n') {
        cur.push_str(part);
        if part.starts_with('\u{2014}') {
            out.push(SignedCheckpoint::parse(cur.as_bytes()).unwrap());
            cur.clear();
        }
    }
    out
}

#[test]
fn every_n_entries_and_at_close() {
    for framing in [Framing::Jsonl, Framing::Binary] {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("a.log");
        let log = Log::open(&path, OpenOptions::new().framing(framing)).unwrap();
        let policy = CheckpointPolicy {
            every_entries: Some(10),
            at_close: true,
            ..Default::default()
        };
        let w = CheckpointingLog::new(log, key(), policy);
        for i in 0..35 {
            w.append(&Event::new("E", format!("a{i}"))).unwrap();
        }
        assert_eq!(w.last_error(), None);
        let sizes: Vec<u64> = sidecar(&path).iter().map(|c| c.checkpoint.size).collect();
        assert_eq!(sizes, vec![11, 21, 31]);
        let last = w.close().unwrap().unwrap();
        assert_eq!(last.checkpoint.size, 36);
        let all = sidecar(&path);
        assert_eq!(all.len(), 4);
        for c in &all {
            let r =
                checkpoint::verify_against(&path, c, &key().verifier(), &CheckOptions::default())
                    .unwrap();
            assert_eq!(r.outcome, CheckpointOutcome::Match);
        }
        // Each extends the one before.
        for pair in all.windows(2) {
            checkpoint::prove_consistency(&path, &pair[0].checkpoint, &pair[1], None).unwrap();
        }
    }
}

#[test]
fn every_t_seconds_and_resumes_after_reopen() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("a.jsonl");
    let policy = CheckpointPolicy {
        every: Some(Duration::from_secs(2)),
        ..Default::default()
    };
    let w = CheckpointingLog::new(
        Log::open(&path, OpenOptions::new()).unwrap(),
        key(),
        policy.clone(),
    );
    w.append(&Event::new("E", "a")).unwrap();
    assert!(sidecar(&path).is_empty());
    std::thread::sleep(Duration::from_millis(2100));
    w.append(&Event::new("E", "b")).unwrap();
    assert_eq!(sidecar(&path).len(), 1);
    assert!(
        w.close().unwrap().is_none(),
        "no checkpoint at close unless asked"
    );
    // Reopened, the writer continues the same sidecar, consistently.
    let w = CheckpointingLog::new(Log::open(&path, OpenOptions::new()).unwrap(), key(), policy);
    w.append(&Event::new("E", "c")).unwrap();
    let cp = w.checkpoint_now().unwrap();
    assert_eq!(cp.checkpoint.size, 4);
    w.close().unwrap();
    assert_eq!(sidecar(&path).len(), 2);
}

/// A rolled-back log is not signed again: the failure is kept, the
/// append itself succeeds.
#[test]
fn a_rolled_back_log_is_not_signed() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("a.jsonl");
    let w = CheckpointingLog::new(
        Log::open(&path, OpenOptions::new()).unwrap(),
        key(),
        CheckpointPolicy::default(),
    );
    for i in 0..5 {
        w.append(&Event::new("E", format!("a{i}"))).unwrap();
    }
    let old = std::fs::read(&path).unwrap();
    for i in 5..10 {
        w.append(&Event::new("E", format!("a{i}"))).unwrap();
    }
    w.checkpoint_now().unwrap();
    w.close().unwrap();
    std::fs::write(&path, &old).unwrap();
    let w = CheckpointingLog::new(
        Log::open(&path, OpenOptions::new()).unwrap(),
        key(),
        CheckpointPolicy {
            every_entries: Some(1),
            ..Default::default()
        },
    );
    for i in 0..10 {
        w.append(&Event::new("E", format!("b{i}"))).unwrap();
    }
    let e = w.last_error().expect("signing was refused");
    assert!(e.contains("refusing to sign"), "{e}");
    assert_eq!(sidecar(&path).len(), 1);
    w.close().unwrap();
}
