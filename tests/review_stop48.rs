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
        let err = Log::open(&path, opts()).err().expect("a wiped log was adopted");
        let msg = err.to_string();
        assert!(msg.contains("durable") && msg.contains("empty"), "{ext}: {msg}");
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
