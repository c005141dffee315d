//! Automatic checkpoints by the writer: every N entries, every T seconds,
//! at close, into `<log>.checkpoints`.

use std::time::Duration;

use std::path::Path;
use std::sync::{Arc, Mutex};

use evident::checkpoint::{
    self, AutoCheckpoint, CheckOptions, CheckpointOutcome, CheckpointPolicy, CheckpointingLog,
    KeyType, NoteSigner, SignedCheckpoint,
};
use evident::storage::{FileStorage, Storage};
use evident::{Durability, Event, Framing, Log, OpenOptions};

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

fn check_all_match(path: &Path, cps: &[SignedCheckpoint]) {
    // Only the public key is needed.
    let vk = checkpoint::NoteVerifier::from_vkey(&key().verifier().to_vkey()).unwrap();
    for c in cps {
        let r = checkpoint::verify_against(path, c, &vk, &CheckOptions::default()).unwrap();
        assert_eq!(r.outcome, CheckpointOutcome::Match, "{r:?}");
        assert!(r.valid, "{r:?}");
    }
    for pair in cps.windows(2) {
        checkpoint::prove_consistency(path, &pair[0].checkpoint, &pair[1], None).unwrap();
    }
}

/// Removes the last `k` records of a JSONL or binary log by rewriting it
/// without them (what an attacker deleting entries does).
fn drop_last_records(path: &Path, k: usize) {
    let mut entries: Vec<evident::Entry> = evident::query(path, &evident::Query::default())
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    let keep = entries.len() - k;
    entries.truncate(keep);
    let last_seq = entries.last().map_or(0, |e| e.seq);
    // Cut the file just after the record with seq `last_seq`.
    let bytes = std::fs::read(path).unwrap();
    let cut = record_end(&bytes, path, last_seq);
    std::fs::write(path, &bytes[..cut]).unwrap();
}

fn record_end(bytes: &[u8], path: &Path, seq: u64) -> usize {
    let leaves = checkpoint::tree::LogLeaves::open(path, None).unwrap();
    let mut end = 0;
    leaves
        .read_all(|r| {
            if r.seq == seq {
                end = r.end as usize;
            }
        })
        .unwrap();
    assert!(end > 0 && end <= bytes.len());
    end
}

/// The writer setting: every N entries and at close, into the sidecar and
/// (optionally) as checkpoint records in the log; each checkpoint verifies
/// with the public key alone, and a truncated log is caught.
#[test]
fn open_option_every_n_entries_at_close_and_in_log() {
    for framing in [Framing::Jsonl, Framing::Binary] {
        for in_log in [false, true] {
            for durability in [Durability::Sync, Durability::Buffered] {
                let d = tempfile::tempdir().unwrap();
                let path = d.path().join("a.log");
                let o = OpenOptions::new()
                    .framing(framing)
                    .durability(durability)
                    .checkpoint(AutoCheckpoint::new(key()).every_entries(10).in_log(in_log));
                let log = Log::open(&path, o).unwrap();
                for i in 0..35 {
                    log.append(&Event::new("E", format!("a{i}"))).unwrap();
                }
                assert_eq!(log.checkpoint_error(), None);
                let sizes: Vec<u64> = sidecar(&path).iter().map(|c| c.checkpoint.size).collect();
                // With records in the log, each checkpoint record takes a
                // seq of its own: 10 entries, then the record, and so on.
                let want: Vec<u64> = if in_log {
                    vec![11, 22, 33]
                } else {
                    vec![11, 21, 31]
                };
                assert_eq!(sizes, want, "{framing:?} in_log={in_log} {durability:?}");
                log.close().unwrap();
                let all = sidecar(&path);
                let last = all.last().unwrap().checkpoint.size;
                assert_eq!(last, if in_log { 39 } else { 36 });
                check_all_match(&path, &all);
                let vk = key().verifier();
                let r = checkpoint::verify_in_log(&path, &vk, &CheckOptions::default()).unwrap();
                assert!(r.valid, "{r:?}");
                assert_eq!(r.checkpoints, if in_log { 4 } else { 0 });
                if in_log {
                    assert_eq!(r.last_size, Some(39));
                    // Reopened and closed without appends: nothing is signed.
                    Log::open(
                        &path,
                        OpenOptions::new().checkpoint(AutoCheckpoint::new(key())),
                    )
                    .unwrap()
                    .close()
                    .unwrap();
                    assert_eq!(sidecar(&path).len(), 4);
                }
                // The whole chain is still valid.
                let v = evident::verify(&path, &evident::VerifyOptions::default()).unwrap();
                assert!(v.valid, "{v:?}");
                // Deleting the last entries is caught by the last checkpoint.
                drop_last_records(&path, 3);
                let r = checkpoint::verify_against(
                    &path,
                    all.last().unwrap(),
                    &vk,
                    &CheckOptions::default(),
                )
                .unwrap();
                assert_eq!(r.outcome, CheckpointOutcome::Truncated, "{r:?}");
                assert!(!r.valid);
            }
        }
    }
}

/// A rewritten record before an in-log checkpoint is caught by that
/// record with only the public key.
#[test]
fn in_log_checkpoint_catches_a_rewrite() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("a.jsonl");
    let o = OpenOptions::new().checkpoint(AutoCheckpoint::new(key()).every_entries(5).in_log(true));
    let log = Log::open(&path, o).unwrap();
    for i in 0..12 {
        log.append(&Event::new("E", format!("a{i}"))).unwrap();
    }
    log.close().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"event_type\":\"evident.checkpoint\""));
    // Rewrite entry a2 in place, recomputing every hash after it (a
    // keyless log): the chain verifies, the checkpoint records do not.
    let forged_path = path.clone();
    let mut prev: Option<String> = None;
    let mut out = String::new();
    for line in text.lines() {
        let cut = line.rfind(",\"hash\":\"").unwrap();
        let mut body = format!("{}}}", &line[..cut]);
        if let Some(p) = &prev {
            let at = body.find("\"prev\":\"").unwrap() + 8;
            body.replace_range(at..at + 64, p);
        }
        body = body.replacen("\"action\":\"a2\"", "\"action\":\"XX\"", 1);
        let h = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()));
        out.push_str(&format!("{},\"hash\":\"{h}\"}}\n", &body[..body.len() - 1]));
        prev = Some(h);
    }
    std::fs::write(&path, &out).unwrap();
    let clean = text;
    assert!(
        evident::verify(&forged_path, &evident::VerifyOptions::default())
            .unwrap()
            .valid
    );
    let r = checkpoint::verify_in_log(&forged_path, &key().verifier(), &CheckOptions::default())
        .unwrap();
    assert!(!r.valid);
    assert!(
        r.failures.iter().all(|f| f.contains("root_mismatch")),
        "{r:?}"
    );
    // Signed by another key: a bad signature, never a pass.
    let other = NoteSigner::from_seed("example.com/audit", KeyType::Ed25519, [9; 32]);
    std::fs::write(&path, clean).unwrap();
    let r = checkpoint::verify_in_log(&path, &other.verifier(), &CheckOptions::default()).unwrap();
    assert!(!r.valid && r.failures[0].contains("bad_signature"), "{r:?}");
}

/// A checkpoint that cannot be written does not fail the append: the
/// entry is in the log, the failure is kept, close reports it after
/// closing the log.
#[test]
fn a_failed_checkpoint_does_not_fail_the_append() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("a.jsonl");
    std::fs::create_dir(checkpoint::checkpoints_path(&path)).unwrap();
    let o = OpenOptions::new().checkpoint(AutoCheckpoint::new(key()).every_entries(2));
    let log = Log::open(&path, o).unwrap();
    for i in 0..3 {
        log.append(&Event::new("E", format!("a{i}"))).unwrap();
    }
    assert!(log.checkpoint_error().is_some());
    assert!(log.close().is_err(), "the checkpoint at close failed");
    let v = evident::verify(&path, &evident::VerifyOptions::default()).unwrap();
    assert!(v.valid);
    assert_eq!(v.entries, 3);
    // Closed all the same: the lock is free.
    Log::open(&path, OpenOptions::new())
        .unwrap()
        .close()
        .unwrap();
}

#[test]
fn shared_mode_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let o = OpenOptions::new()
        .lock(evident::LockMode::Shared)
        .checkpoint(AutoCheckpoint::new(key()));
    let e = Log::open(d.path().join("a.jsonl"), o).unwrap_err();
    assert!(e.to_string().contains("exclusive"), "{e}");
}

/// Power cut at every storage call: the sidecar (fsynced at each append)
/// never claims more records than the durable (fsynced) part of the log
/// holds, and every checkpoint in it matches that part.
/// (durable log bytes, sidecar bytes) at each storage call.
type Snaps = Arc<Mutex<Vec<(Vec<u8>, Vec<u8>)>>>;

struct Snapshots {
    inner: FileStorage,
    log: std::path::PathBuf,
    written: std::sync::atomic::AtomicU64,
    synced: std::sync::atomic::AtomicU64,
    snaps: Snaps,
}

impl Snapshots {
    fn snap(&self) {
        use std::sync::atomic::Ordering;
        let synced = self.synced.load(Ordering::SeqCst) as usize;
        let mut log = std::fs::read(&self.log).unwrap();
        log.truncate(synced);
        let side = std::fs::read(checkpoint::checkpoints_path(&self.log)).unwrap_or_default();
        self.snaps.lock().unwrap().push((log, side));
    }
}

impl Storage for Snapshots {
    fn append(&self, buf: &[u8]) -> std::io::Result<()> {
        self.snap();
        self.inner.append(buf)?;
        self.written
            .fetch_add(buf.len() as u64, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn truncate(&self, len: u64) -> std::io::Result<()> {
        self.inner.truncate(len)?;
        self.written.store(len, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    fn sync_data(&self) -> std::io::Result<()> {
        use std::sync::atomic::Ordering;
        self.snap();
        let w = self.written.load(Ordering::SeqCst);
        self.inner.sync_data()?;
        self.synced.store(w, Ordering::SeqCst);
        self.snap();
        Ok(())
    }
}

#[test]
fn power_cut_at_every_write_never_leaves_a_checkpoint_past_the_log() {
    for in_log in [false, true] {
        for durability in [Durability::Buffered, Durability::Sync] {
            let d = tempfile::tempdir().unwrap();
            let path = d.path().join("a.jsonl");
            Log::open(&path, OpenOptions::new())
                .unwrap()
                .close()
                .unwrap();
            let snaps = Arc::new(Mutex::new(Vec::new()));
            let (s2, p2) = (snaps.clone(), path.clone());
            let mut o = OpenOptions::new()
                .durability(durability)
                .checkpoint(AutoCheckpoint::new(key()).every_entries(4).in_log(in_log));
            o.buffer_size = 300; // a write every few entries
            let o = o.storage_hook(Arc::new(move |fs: FileStorage| -> Box<dyn Storage> {
                let len = fs.len().unwrap();
                Box::new(Snapshots {
                    inner: fs,
                    log: p2.clone(),
                    written: len.into(),
                    synced: len.into(),
                    snaps: s2.clone(),
                })
            }));
            let log = Log::open(&path, o).unwrap();
            for i in 0..30 {
                log.append(&Event::new("E", format!("a{i}"))).unwrap();
            }
            log.close().unwrap();
            let snaps = snaps.lock().unwrap();
            assert!(snaps.len() > 10);
            let mut with_checkpoints = 0;
            for (i, (log_bytes, side)) in snaps.iter().enumerate() {
                let cut = d.path().join(format!("cut{i}.jsonl"));
                std::fs::write(&cut, log_bytes).unwrap();
                std::fs::write(checkpoint::checkpoints_path(&cut), side).unwrap();
                let cps = sidecar(&cut);
                if cps.is_empty() {
                    continue;
                }
                with_checkpoints += 1;
                // Reopening after the power cut keeps the durable records.
                let reopened = Log::open(&cut, OpenOptions::new()).unwrap();
                let held = reopened.head().seq + 1;
                reopened.close().unwrap();
                for c in &cps {
                    assert!(
                        c.checkpoint.size <= held,
                        "snapshot {i}: checkpoint of {} records, log holds {held}",
                        c.checkpoint.size
                    );
                }
                check_all_match(&cut, &cps);
            }
            assert!(with_checkpoints > 3);
        }
    }
}

/// `evident verify --in-log` checks the checkpoint records; `--checkpoint`
/// takes the sidecar (its last checkpoint).
#[test]
fn cli_verifies_in_log_checkpoints_and_the_sidecar() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("a.jsonl");
    let o = OpenOptions::new().checkpoint(AutoCheckpoint::new(key()).every_entries(3).in_log(true));
    let log = Log::open(&path, o).unwrap();
    for i in 0..7 {
        log.append(&Event::new("E", format!("a{i}"))).unwrap();
    }
    log.close().unwrap();
    let vkey = key().verifier().to_vkey();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_evident"))
            .args(args)
            .output()
            .unwrap()
    };
    let p = path.to_str().unwrap();
    let out = run(&["verify", p, "--pubkey", &vkey, "--in-log"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("checkpoint records: 3 found"), "{text}");
    let side = checkpoint::checkpoints_path(&path);
    let out = run(&[
        "verify",
        p,
        "--pubkey",
        &vkey,
        "--checkpoint",
        side.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Cut the last record: the sidecar's last checkpoint catches it.
    let bytes = std::fs::read(&path).unwrap();
    let end = record_end(&bytes, &path, 8);
    std::fs::write(&path, &bytes[..end]).unwrap();
    let out = run(&[
        "verify",
        p,
        "--pubkey",
        &vkey,
        "--checkpoint",
        side.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success());
    assert!(text.contains("truncated"), "{text}");
}

/// A checkpoint append cut by a crash leaves an incomplete note at the
/// end of the sidecar: the next append moves it aside (kept) instead of
/// gluing the new checkpoint onto it.
#[test]
fn torn_sidecar_append_is_moved_aside() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("a.jsonl");
    let o = || OpenOptions::new().checkpoint(AutoCheckpoint::new(key()).every_entries(2));
    let log = Log::open(&path, o()).unwrap();
    for i in 0..2 {
        log.append(&Event::new("E", format!("a{i}"))).unwrap();
    }
    log.close().unwrap();
    let side = checkpoint::checkpoints_path(&path);
    let good = std::fs::read(&side).unwrap();
    let torn = &good[..good.len() / 2];
    let mut bytes = good.clone();
    bytes.extend_from_slice(torn);
    std::fs::write(&side, &bytes).unwrap();
    let log = Log::open(&path, o()).unwrap();
    for i in 2..4 {
        log.append(&Event::new("E", format!("a{i}"))).unwrap();
    }
    assert_eq!(log.checkpoint_error(), None);
    log.close().unwrap();
    let sizes: Vec<u64> = checkpoint::read_checkpoints(&side)
        .unwrap()
        .iter()
        .map(|c| c.checkpoint.size)
        .collect();
    assert_eq!(sizes, vec![3, 5]);
    let kept: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".checkpoints.torn-"))
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(std::fs::read(&kept[0]).unwrap(), torn);
}
