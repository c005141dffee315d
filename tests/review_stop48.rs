//! Outside reviews of 7 December 2026 (second round): a log wiped to zero
//! bytes must not restart silently as a new log when its lock file says
//! bytes of it were made durable.

use evident::{Durability, Event, Framing, Log, OpenOptions};

/// RTGS's and SecureML's compat modules open with `adopt_empty` (a file
/// made by `touch` becomes a log). A log that was written, synced and then
/// truncated to zero bytes is not such a file: its lock file records the
/// length an fsync made durable. Adopting it started a new log with a new
/// id, and `evident verify` called the result valid; the acknowledged
/// entries were gone without a trace.
#[test]
fn a_wiped_log_is_not_adopted_as_an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    for (framing, ext) in [(Framing::Jsonl, "jsonl"), (Framing::Binary, "evl")] {
        let path = dir.path().join(format!("audit.{ext}"));
        let opts = || {
            OpenOptions::new()
                .framing(framing)
                .durability(Durability::Sync)
                .adopt_empty(true)
        };
        let log = Log::open(&path, opts()).unwrap();
        for a in ["a1", "a2", "a3"] {
            log.append(&Event::new("X", a)).unwrap();
        }
        log.close().unwrap();
        std::fs::write(&path, b"").unwrap(); // `: > audit.jsonl`
        let Err(err) = Log::open(&path, opts()) else {
            panic!("{ext}: a wiped log was adopted")
        };
        let msg = err.to_string();
        assert!(
            msg.contains("durable") && msg.contains("empty"),
            "{ext}: {msg}"
        );
        // Refused unchanged: still empty, for whoever investigates.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "{ext}");

        // A file made by `touch` with no log behind it is still adopted,
        // and one whose lock file belongs to no synced bytes too.
        let fresh = dir.path().join(format!("fresh.{ext}"));
        std::fs::write(&fresh, b"").unwrap();
        let log = Log::open(&fresh, opts()).unwrap();
        assert!(log.recovery().created, "{ext}");
        log.close().unwrap();
    }
}

/// The last entry of a keyless log rewritten, longer, with its hash
/// recomputed (anyone can: a SHA-256 chain has no key). The lock file
/// records where the durable bytes ended; that point now falls inside a
/// record, which no crash and no honest writer leaves. Open took the
/// rewritten record as the head and appended after it; it must refuse.
#[test]
fn a_rewritten_last_entry_across_the_durable_length_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (framing, ext) in [(Framing::Jsonl, "jsonl"), (Framing::Binary, "evl")] {
        let path = dir.path().join(format!("audit.{ext}"));
        let opts = || {
            OpenOptions::new()
                .framing(framing)
                .durability(Durability::Sync)
        };
        let log = Log::open(&path, opts()).unwrap();
        log.append(&Event::new("X", "a1")).unwrap();
        log.append(&Event::new("X", "a2")).unwrap();
        let two = std::fs::metadata(&path).unwrap().len();
        log.append(&Event::new("X", "approved: no")).unwrap();
        log.close().unwrap();
        // The forger's copy: the first two entries, then a longer third
        // entry appended by the library itself (so its hash is right).
        let forged = dir.path().join(format!("forged.{ext}"));
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&forged, &bytes[..two as usize]).unwrap();
        let f = Log::open(&forged, opts()).unwrap();
        f.append(&Event::new("X", "approved: yes, by the head of the lab"))
            .unwrap();
        f.close().unwrap();
        std::fs::copy(&forged, &path).unwrap();
        let before = std::fs::read(&path).unwrap();
        let Err(err) = Log::open(&path, opts()) else {
            panic!("{ext}: a log rewritten across its durable length was opened")
        };
        assert!(
            matches!(err, evident::Error::Corrupt { .. }),
            "{ext}: {err}"
        );
        assert!(err.to_string().contains("durable"), "{ext}: {err}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "{ext}: changed");
    }
}

/// Shared mode: a long-lived writer, another process's acknowledged
/// (durable) entry, then the file cut back to the long-lived writer's last
/// record. Its next append took the removed entry's seq, said nothing, and
/// overwrote the lock file's record of the durable length, so no later
/// open could report the cut either. It must report it as open does
/// (`Recovery::truncated`).
#[test]
fn a_shared_writer_reports_a_cut_below_another_writers_durable_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = Log::open(
        &path,
        OpenOptions::new()
            .lock(evident::LockMode::Shared)
            .durability(Durability::Sync),
    )
    .unwrap();
    log.append(&Event::new("X", "a1")).unwrap();
    let mine = std::fs::metadata(&path).unwrap().len();
    assert_cmd::Command::cargo_bin("evident")
        .unwrap()
        .args(["append", "--shared", "--event-type", "X", "--action", "b1"])
        .arg(&path)
        .assert()
        .success();
    assert!(std::fs::metadata(&path).unwrap().len() > mine);
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(mine).unwrap(); // the other writer's entry, cut at its start
    drop(f);
    log.append(&Event::new("X", "a2")).unwrap();
    let t = log
        .recovery()
        .truncated
        .expect("the cut below another writer's durable entry was not reported");
    assert_eq!(t.len, mine);
    assert!(t.durable_len > mine);
    log.close().unwrap();
}

/// `evident checkpoint --key FIFO` called the key "not an evident log or
/// session file" (the message of a log opened by mistake); a key, proof or
/// checkpoint file that is not a regular file is named as such.
#[cfg(unix)]
#[test]
fn a_key_that_is_not_a_regular_file_is_not_called_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.jsonl");
    let l = Log::open(&log, OpenOptions::new()).unwrap();
    l.append(&Event::new("X", "a")).unwrap();
    l.close().unwrap();
    let fifo = dir.path().join("k");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = assert_cmd::Command::cargo_bin("evident")
        .unwrap()
        .arg("checkpoint")
        .arg(&log)
        .arg("--key")
        .arg(&fifo)
        .arg("-o")
        .arg(dir.path().join("cp"))
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not a regular file") && !err.contains("evident log"),
        "{err}"
    );
}

/// Importing an OpenParallax file that does not verify named the line of
/// the violation but "byte offset 0"; the offset is the line's.
#[test]
fn an_openparallax_refusal_names_the_lines_offset() {
    let dir = tempfile::tempdir().unwrap();
    let bad = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("spec/vectors/openparallax/modified_field.jsonl");
    let text = std::fs::read(&bad).unwrap();
    let line3: usize = text
        .split_inclusive(|&b| b == b'\n')
        .take(2)
        .map(<[u8]>::len)
        .sum();
    let err = evident::legacy_openparallax::import(
        &bad,
        dir.path().join("new.jsonl"),
        &Default::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("line 3") && err.contains(&format!("byte offset {line3}")),
        "{err}"
    );
}
