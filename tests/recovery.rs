//! Tail recovery: what a writer may move aside when it opens a log, and what
//! it must refuse (spec § 9.5, § 10.3). Regression tests for issue 9 items
//! 5, 6, 8, 9, 12, 20, 24 and the sidecar part of 25.
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use evident::storage::{Fault, FaultPlan, FaultyStorage, FileStorage, Storage};
use evident::{
    verify, Durability, Error, Event, Framing, Key, LockMode, Log, OpenOptions, Repair,
    VerifyOptions, ViolationKind,
};
use serde_json::json;

mod support;
use support::sidecars;

const FRAMINGS: [Framing; 2] = [Framing::Jsonl, Framing::Binary];

fn name(framing: Framing) -> &'static str {
    match framing {
        Framing::Jsonl => "audit.jsonl",
        Framing::Binary => "audit.evl",
    }
}

fn ev(i: u64) -> Event {
    Event::new("RECOVERY", "append").details(json!({"i": i, "note": "a b c d e f"}))
}

fn opts(framing: Framing) -> OpenOptions {
    OpenOptions::new().framing(framing)
}

/// A closed log of `n` entries; returns its path and the offset where the
/// last record starts.
fn log_of(dir: &Path, framing: Framing, n: u64, key: Option<Key>) -> (PathBuf, u64) {
    let path = dir.join(name(framing));
    let mut o = opts(framing);
    o.key = key;
    let log = Log::open(&path, o).unwrap();
    let mut last_start = 0;
    for i in 0..n {
        last_start = fs::metadata(&path).unwrap().len();
        log.append(&ev(i)).unwrap();
    }
    log.close().unwrap();
    (path, last_start)
}

fn one_thread() -> VerifyOptions {
    VerifyOptions::default().threads(1).all(true)
}

/// Item 20: a bit flipped anywhere in the last record is damage, never a torn
/// tail: verify does not call it torn, open refuses and changes nothing, so
/// no ordinary append can erase the record.
#[test]
fn changing_the_last_record_is_damage_not_a_torn_tail() {
    for framing in FRAMINGS {
        let dir = tempfile::tempdir().unwrap();
        let (path, last) = log_of(dir.path(), framing, 5, None);
        let orig = fs::read(&path).unwrap();
        let copy = dir.path().join(format!("copy-{}", name(framing)));
        let mut torn = Vec::new();
        let mut opened = Vec::new();
        for byte in last as usize..orig.len() {
            for bit in 0..8 {
                let mut img = orig.clone();
                img[byte] ^= 1 << bit;
                fs::write(&copy, &img).unwrap();
                // No lock file: nothing says where the synced bytes end.
                let _ = fs::remove_file(format!("{}.lock", copy.display()));
                let r = verify(&copy, &one_thread()).unwrap();
                assert!(!r.valid, "{framing:?} byte {byte} bit {bit}");
                if r.violations
                    .iter()
                    .any(|v| v.kind == ViolationKind::TornTail)
                {
                    torn.push((byte, bit));
                }
                // Opening for writing (as the next append does) refuses and
                // leaves the file as it was. Every 3rd flip keeps it quick.
                if (byte * 8 + bit) % 3 == 0 {
                    match Log::open(&copy, opts(framing).create(false)) {
                        Err(Error::Corrupt { .. }) => {}
                        other => opened.push((byte, bit, format!("{other:?}"))),
                    }
                    assert_eq!(fs::read(&copy).unwrap(), img, "{framing:?} {byte}/{bit}");
                    assert!(sidecars(&copy).is_empty(), "{framing:?} {byte}/{bit}");
                }
            }
        }
        assert!(torn.is_empty(), "{framing:?}: reported as torn: {torn:?}");
        assert!(
            opened.is_empty(),
            "{framing:?}: opened: {:?}",
            &opened[..opened.len().min(5)]
        );
        // In place, with the lock file saying the log was synced to its end.
        let mut img = orig.clone();
        let mid = (last as usize + orig.len()) / 2;
        img[mid] ^= 0x10;
        fs::write(&path, &img).unwrap();
        assert!(matches!(
            Log::open(&path, opts(framing)),
            Err(Error::Corrupt { .. })
        ));
        assert_eq!(fs::read(&path).unwrap(), img);
    }
}

/// A changed last record is not silently dropped by readers either: query
/// (cat, tail, export, the bindings' reads), oldest first and newest first,
/// returns it (query does not check hashes) or reports it as damaged, for a
/// flip of every bit of every byte of the last record. Before, a binary
/// frame whose CRC failed, and a JSONL line whose line feed was changed,
/// were skipped without a word, like a torn write.
#[test]
fn a_changed_last_record_is_not_silently_dropped_by_readers() {
    use evident::{query, Order, Query};
    for framing in FRAMINGS {
        let dir = tempfile::tempdir().unwrap();
        let (path, last) = log_of(dir.path(), framing, 4, None);
        let orig = fs::read(&path).unwrap();
        let copy = dir.path().join(format!("copy-{}", name(framing)));
        // A record whose kind is changed ("entry" -> "dntry") is a record
        // of a later kind, which readers skip (spec § 13.2); only verify,
        // which checks its hash, can tell. Those five bytes are left out.
        let kind = b"\"kind\":\"entry\"";
        let kind_at = last as usize
            + orig[last as usize..]
                .windows(kind.len())
                .position(|w| w == kind)
                .unwrap()
            + 8;
        let mut silent = Vec::new();
        for byte in last as usize..orig.len() {
            if (kind_at..kind_at + 5).contains(&byte) {
                continue;
            }
            for bit in 0..8 {
                let mut img = orig.clone();
                img[byte] ^= 1 << bit;
                fs::write(&copy, &img).unwrap();
                for order in [Order::OldestFirst, Order::NewestFirst] {
                    let items: Vec<_> = query(&copy, &Query::default().order(order))
                        .unwrap()
                        .collect();
                    let ok = items.iter().filter(|r| r.is_ok()).count();
                    let errors = items.len() - ok;
                    if ok < 4 && errors == 0 {
                        silent.push((byte, bit, order));
                    }
                }
                // The reader of reports and reproduction scripts.
                let mut src = evident::source::FileSource::open(&copy).unwrap();
                let mut out = Vec::new();
                let r = evident::report::source_entries(&mut src, &Query::default(), &mut out);
                if r.is_ok() && out.len() < 4 {
                    silent.push((byte, bit, Order::OldestFirst));
                }
            }
        }
        assert!(
            silent.is_empty(),
            "{framing:?}: {} flips of the last record silently dropped it, e.g. {:?}",
            silent.len(),
            &silent[..silent.len().min(6)]
        );
        // A record cut short (a torn write, or one still being written) is
        // still skipped quietly.
        for cut in [1, 5, 9, orig.len() - last as usize - 1] {
            fs::write(&copy, &orig[..orig.len() - cut]).unwrap();
            let items: Vec<_> = query(&copy, &Query::default()).unwrap().collect();
            assert_eq!(items.len(), 3, "{framing:?} cut {cut}");
            assert!(items.iter().all(|r| r.is_ok()), "{framing:?} cut {cut}");
        }
    }
}

/// A torn tail of any length (a large append cut short by a crash) is
/// skipped by newest-first and last-N reads as by forward reads: the
/// backward reader does not report the part of it beyond its resync window
/// (about 1 MiB) as damage.
#[test]
fn a_long_torn_tail_is_skipped_by_backward_reads() {
    use evident::{query, Order, Query};
    let entries = |path: &Path, q: Query| -> Vec<u64> {
        query(path, &q)
            .unwrap()
            .map(|r| r.unwrap_or_else(|e| panic!("{e}")).seq)
            .collect()
    };
    for framing in FRAMINGS {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = log_of(dir.path(), framing, 3, None);
        let len = fs::metadata(&path).unwrap().len();
        // A 6 MiB entry, appended whole, then cut inside its record.
        let log = Log::open(&path, opts(framing)).unwrap();
        let big = "x".repeat(6 << 20);
        log.append(&Event::new("RECOVERY", "big").details(json!({ "big": big })))
            .unwrap();
        log.close().unwrap();
        let whole = fs::read(&path).unwrap();
        let copy = dir.path().join(format!("copy-{}", name(framing)));
        for cut in [500 << 10, 1100 << 10, 5 << 20] {
            fs::write(&copy, &whole[..len as usize + cut]).unwrap();
            let forward = entries(&copy, Query::default());
            assert_eq!(forward, [1, 2, 3], "{framing:?} cut {cut}");
            let back = entries(&copy, Query::default().order(Order::NewestFirst));
            assert_eq!(back, [3, 2, 1], "{framing:?} cut {cut}");
            assert_eq!(
                entries(&copy, Query::last(2)),
                [3, 2],
                "{framing:?} cut {cut}"
            );
            let r = verify(&copy, &one_thread()).unwrap();
            assert_eq!(r.violations.len(), 1, "{framing:?} cut {cut}");
            assert_eq!(r.violations[0].kind, ViolationKind::TornTail);
        }
    }
}

/// Item 8: a copy of an old record appended at the end is not a head to
/// continue from.
#[test]
fn a_replayed_record_at_the_end_is_refused() {
    for framing in FRAMINGS {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::new(b"0123456789abcdef0123".to_vec()).unwrap();
        let (path, _) = log_of(dir.path(), framing, 10, Some(key.clone()));
        // The bytes of entry 5: read them through an independent split.
        let bytes = fs::read(&path).unwrap();
        let rec5 = record_bytes(&bytes, framing, 5);
        let mut img = bytes.clone();
        img.extend_from_slice(&rec5);
        fs::write(&path, &img).unwrap();
        let mut o = opts(framing);
        o.key = Some(key.clone());
        match Log::open(&path, o) {
            Err(Error::Corrupt { msg, .. }) => {
                assert!(msg.contains("does not follow"), "{msg}")
            }
            other => panic!("{framing:?}: {other:?}"),
        }
        assert_eq!(fs::read(&path).unwrap(), img);
    }
}

/// The bytes of the record with `seq` (genesis 0), framing included.
fn record_bytes(file: &[u8], framing: Framing, seq: usize) -> Vec<u8> {
    match framing {
        Framing::Jsonl => {
            let line = file.split_inclusive(|b| *b == b'\n').nth(seq).unwrap();
            line.to_vec()
        }
        Framing::Binary => {
            let mut off = 16;
            for _ in 0..seq {
                let body = u32::from_le_bytes(file[off..off + 4].try_into().unwrap()) as usize;
                let hash = u16::from_le_bytes(file[off + 4..off + 6].try_into().unwrap()) as usize;
                off += 16 + body + hash;
            }
            let body = u32::from_le_bytes(file[off..off + 4].try_into().unwrap()) as usize;
            let hash = u16::from_le_bytes(file[off + 4..off + 6].try_into().unwrap()) as usize;
            file[off..off + 16 + body + hash].to_vec()
        }
    }
}

/// Item 9: a power cut that lost an unsynced page while later pages
/// survived. The lock file records where the synced bytes end (after every
/// fsync, without an fsync of its own), so open moves aside everything from
/// the first damaged record after that point, including records a later
/// page kept, and the log verifies. Without that record (no lock file),
/// zeros before intact records are damage: left in place and reported.
#[test]
fn a_lost_unsynced_page_before_surviving_records_is_moved_aside() {
    for framing in FRAMINGS {
        for keep_lock_file in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(name(framing));
            let log = Log::open(&path, opts(framing)).unwrap();
            for i in 0..10 {
                log.append(&ev(i)).unwrap();
            }
            log.close().unwrap();
            drop(log);
            let synced = fs::metadata(&path).unwrap().len();
            // Buffered, written at once, never synced.
            let mut o = opts(framing).durability(Durability::Buffered);
            o.buffer_size = 1;
            let log = Log::open(&path, o).unwrap();
            let mut ends = vec![];
            for i in 10..60 {
                log.append(&ev(i)).unwrap();
                ends.push(fs::metadata(&path).unwrap().len());
            }
            // The power cut: an image of the file and of its lock file now.
            let mut img = fs::read(&path).unwrap();
            let lock = fs::read(format!("{}.lock", path.display())).unwrap();
            drop(log);
            let copy = dir.path().join(format!("copy-{}", name(framing)));
            // A page lost in the middle of the unsynced bytes.
            let page = (synced / 4096 + 1) * 4096;
            assert!(page + 4096 < ends[45], "log too short for the test");
            img[page as usize..(page + 4096) as usize].fill(0);
            fs::write(&copy, &img).unwrap();
            if keep_lock_file {
                fs::write(format!("{}.lock", copy.display()), &lock).unwrap();
            }
            let log = Log::open(&copy, opts(framing)).unwrap();
            let head = log.head();
            let rec = log.recovery();
            // Unsynced bytes lost are a crash's doing, not a truncation.
            assert!(rec.truncated.is_none(), "{framing:?}");
            if keep_lock_file {
                // The head is the last record that ends before the lost page.
                let keep = 10 + ends.iter().filter(|e| **e <= page).count() as u64;
                assert_eq!(head.seq, keep, "{framing:?}");
                assert_eq!(rec.torn.len(), 1, "{framing:?}");
                let side = fs::read(&rec.torn[0].sidecar).unwrap();
                assert_eq!(side, img[rec.torn[0].offset as usize..], "{framing:?}");
            } else {
                assert_eq!(head.seq, 60, "{framing:?}");
                assert!(rec.torn.is_empty(), "{framing:?}");
            }
            log.append(&ev(99)).unwrap();
            log.close().unwrap();
            let r = verify(&copy, &one_thread()).unwrap();
            assert_eq!(r.valid, keep_lock_file, "{framing:?}: {:?}", r.violations);
        }
    }
}

/// Item 6: a shared-mode writer refuses to append when the file no longer
/// holds what it appended itself (cut back, or cut back and extended).
#[test]
fn a_shared_writer_refuses_a_rollback_of_its_own_entries() {
    for framing in FRAMINGS {
        for extend in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(name(framing));
            let so = || opts(framing).lock(LockMode::Shared);
            let a = Log::open(&path, so()).unwrap();
            let mut ends = vec![];
            for i in 0..10 {
                a.append(&ev(i)).unwrap();
                ends.push(fs::metadata(&path).unwrap().len());
            }
            // Cut after seq 5 by something that is not an evident writer.
            let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(ends[4]).unwrap();
            drop(f);
            if extend {
                // Another writer goes on from seq 5 past the old length.
                let b = Log::open(&path, so()).unwrap();
                for i in 0..12 {
                    b.append(&ev(100 + i)).unwrap();
                }
                b.close().unwrap();
            }
            let before = fs::read(&path).unwrap();
            match a.append(&ev(10)) {
                Err(Error::RolledBack { seq, .. }) => assert_eq!(seq, 10),
                other => panic!("{framing:?} extend={extend}: {other:?}"),
            }
            assert_eq!(fs::read(&path).unwrap(), before, "nothing appended");
        }
    }
}

/// Item 5: a failed fsync while a shared-mode append moves another writer's
/// torn tail aside poisons the handle.
#[test]
fn a_failed_fsync_during_shared_tail_recovery_poisons() {
    for framing in FRAMINGS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name(framing));
        let plan = FaultPlan::new();
        let p2 = plan.clone();
        let mut o = opts(framing).lock(LockMode::Shared);
        o = o.storage_hook(Arc::new(move |fs: FileStorage| -> Box<dyn Storage> {
            Box::new(FaultyStorage::new(fs, p2.clone()))
        }));
        let a = Log::open(&path, o).unwrap();
        a.append(&ev(0)).unwrap();
        // Another writer crashed in the middle of a record.
        let first = record_bytes(&fs::read(&path).unwrap(), framing, 1);
        let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
        std::io::Write::write_all(&mut f, &first[..20]).unwrap();
        drop(f);
        plan.arm(Fault::SyncError);
        assert!(a.append(&ev(1)).is_err(), "{framing:?}");
        match a.append(&ev(2)) {
            Err(Error::Poisoned { .. }) => {}
            other => panic!("{framing:?}: {other:?}"),
        }
    }
}

/// Item 24: a torn tail larger than open looks back (80 MiB of zeros) can be
/// moved aside, every byte kept: by open itself when the lock file records
/// where the synced bytes end, by `Repair::Torn` (`evident repair`) when it
/// does not.
#[test]
fn a_torn_tail_larger_than_the_scan_limit_can_be_moved_aside() {
    let framing = Framing::Jsonl;
    for keep_lock_file in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = log_of(dir.path(), framing, 3, None);
        let len = fs::metadata(&path).unwrap().len();
        let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len + 81 * 1024 * 1024).unwrap();
        drop(f);
        if !keep_lock_file {
            fs::remove_file(format!("{}.lock", path.display())).unwrap();
            match Log::open(&path, opts(framing)) {
                Err(Error::Corrupt { msg, .. }) => {
                    assert!(msg.contains("evident repair"), "{msg}")
                }
                other => panic!("{other:?}"),
            }
        }
        let repair = if keep_lock_file {
            Repair::No
        } else {
            Repair::Torn
        };
        let log = Log::open(&path, opts(framing).repair(repair)).unwrap();
        assert_eq!(log.head().seq, 3);
        let torn = log.recovery().torn;
        assert_eq!(torn.len(), 1);
        assert_eq!(torn[0].len, 81 * 1024 * 1024);
        assert_eq!(
            fs::metadata(&torn[0].sidecar).unwrap().len(),
            81 * 1024 * 1024
        );
        log.close().unwrap();
        assert!(verify(&path, &one_thread()).unwrap().valid);
    }
}

/// Item 24 / 20: `Repair::Force` (`evident repair --force`) moves a damaged
/// last record aside into a sidecar, every byte kept.
#[test]
fn force_repair_moves_a_damaged_end_aside() {
    for framing in FRAMINGS {
        let dir = tempfile::tempdir().unwrap();
        let (path, last) = log_of(dir.path(), framing, 5, None);
        let mut img = fs::read(&path).unwrap();
        let mid = (last as usize + img.len()) / 2;
        img[mid] ^= 0x01;
        fs::write(&path, &img).unwrap();
        assert!(Log::open(&path, opts(framing)).is_err());
        let log = Log::open(&path, opts(framing).repair(Repair::Force)).unwrap();
        assert_eq!(log.head().seq, 4);
        let torn = log.recovery().torn;
        assert_eq!(torn.len(), 1);
        assert_eq!(fs::read(&torn[0].sidecar).unwrap(), img[last as usize..]);
        log.close().unwrap();
        assert!(verify(&path, &one_thread()).unwrap().valid);
    }
}

/// Item 12: a record being written while verify runs is in flight, not a
/// torn tail: verify waits a moment, sees the file grow, reports the bytes as
/// in flight and the log as valid. (A writer that never completes it leaves
/// a torn tail, which verify still reports.)
#[test]
fn verify_reports_a_record_being_written_as_in_flight() {
    for framing in FRAMINGS {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = log_of(dir.path(), framing, 5, None);
        // The bytes of the next record, from a copy that appends it.
        let copy = dir.path().join(format!("copy-{}", name(framing)));
        fs::copy(&path, &copy).unwrap();
        let log = Log::open(&copy, opts(framing)).unwrap();
        log.append(&ev(5)).unwrap();
        log.close().unwrap();
        let len = fs::metadata(&path).unwrap().len() as usize;
        let next = fs::read(&copy).unwrap()[len..].to_vec();
        let (first, rest) = next.split_at(next.len() / 2);
        let clean = fs::read(&path).unwrap();
        // On a loaded machine verify may start only after the finisher
        // wrote the rest (it then sees six entries), or the finisher may
        // be held up past verify's wait of about 0.1 s (a torn tail): such
        // a round is run again from the five entries, up to 10 times.
        let mut rounds = 0;
        let r = loop {
            fs::write(&path, &clean).unwrap();
            let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
            std::io::Write::write_all(&mut f, first).unwrap();
            let rest = rest.to_vec();
            let finisher = std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(30));
                std::io::Write::write_all(&mut f, &rest).unwrap();
            });
            let r = verify(&path, &one_thread()).unwrap();
            finisher.join().unwrap();
            rounds += 1;
            let seen = r.valid && r.in_flight_tail == Some(first.len() as u64) && r.entries == 5;
            if seen || rounds == 10 {
                break r;
            }
        };
        assert!(r.valid, "{framing:?}: {:?}", r.violations);
        assert_eq!(r.in_flight_tail, Some(first.len() as u64), "{framing:?}");
        assert_eq!(r.entries, 5);
        // Complete now: valid with six entries.
        let r = verify(&path, &one_thread()).unwrap();
        assert!(r.valid && r.entries == 6 && r.in_flight_tail.is_none());
        // A write that never completes is a torn tail.
        let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
        std::io::Write::write_all(&mut f, first).unwrap();
        let r = verify(&path, &one_thread()).unwrap();
        assert!(!r.valid);
        assert_eq!(r.violations[0].kind, ViolationKind::TornTail);
    }
}

/// Item 25: an open that fails while moving a torn tail aside (here: the
/// sidecar cannot be written, EFBIG from RLIMIT_FSIZE, as ENOSPC would) leaves
/// no sidecar behind, and the log as it was.
#[cfg(unix)] // RLIMIT_FSIZE
#[test]
fn a_failed_move_aside_leaves_no_sidecar() {
    if let Ok(dir) = std::env::var("EVIDENT_TEST_FSIZE_CHILD") {
        // In the child: writes past 1 KiB fail with EFBIG (SIGXFSZ ignored).
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: 1024,
                rlim_max: 1024,
            };
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
        }
        let path = Path::new(&dir).join("audit.jsonl");
        let r = Log::open(&path, OpenOptions::new().create(false));
        std::process::exit(if r.is_err() { 3 } else { 4 });
    }
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = log_of(dir.path(), Framing::Jsonl, 20, None);
    let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
    std::io::Write::write_all(&mut f, "{\"v\":1,\"seq\":21 torn".repeat(200).as_bytes()).unwrap();
    drop(f);
    let before = fs::read(&path).unwrap();
    let st = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_failed_move_aside_leaves_no_sidecar",
            "--nocapture",
        ])
        .env("EVIDENT_TEST_FSIZE_CHILD", dir.path())
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(3), "the child's open should fail");
    assert!(sidecars(&path).is_empty(), "{:?}", sidecars(&path));
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[cfg(feature = "cli")] // runs the `evident` command
fn cli(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_evident"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// From the command line: an ordinary append never erases a changed last
/// record (item 20); `repair` leaves damage alone, `repair --force` moves a
/// damaged end aside, every byte kept (item 24); `repair` moves a torn tail
/// longer than open looks back (item 24).
#[cfg(feature = "cli")] // runs the `evident` command
#[test]
fn cli_append_refuses_a_damaged_end_and_repair_force_moves_it() {
    let dir = tempfile::tempdir().unwrap();
    let (path, last) = log_of(dir.path(), Framing::Binary, 5, None);
    let p = path.to_str().unwrap();
    let mut img = fs::read(&path).unwrap();
    img[last as usize + 40] ^= 0x04;
    fs::write(&path, &img).unwrap();
    let (code, _, err) = cli(&["append", p, "--event-type", "X", "--action", "y"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("repair --force"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(fs::read(&path).unwrap(), img);
    let (code, out, _) = cli(&["verify", p]);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("torn"), "{out}");
    let (code, _, _) = cli(&["repair", p]);
    assert_eq!(code, 1);
    assert_eq!(fs::read(&path).unwrap(), img);
    let (code, out, err) = cli(&["repair", p, "--force"]);
    assert_eq!(code, 0, "{out}{err}");
    let side = sidecars(&path);
    assert_eq!(side.len(), 1);
    assert_eq!(fs::read(&side[0]).unwrap(), img[last as usize..]);
    assert_eq!(cli(&["verify", p]).0, 0);
    assert_eq!(
        cli(&["append", p, "--event-type", "X", "--action", "y"]).0,
        0
    );

    // A torn tail of 81 MiB, with no lock file to say where synced bytes
    // end: verify calls it torn, repair moves it aside.
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = log_of(dir.path(), Framing::Jsonl, 3, None);
    let p = path.to_str().unwrap();
    let len = fs::metadata(&path).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len + 81 * 1024 * 1024)
        .unwrap();
    fs::remove_file(format!("{p}.lock")).unwrap();
    let (code, out, _) = cli(&["verify", p]);
    assert_eq!(code, 1);
    assert!(out.contains("torn"), "{out}");
    let (code, out, err) = cli(&["repair", p]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(fs::metadata(&path).unwrap().len(), len);
    assert_eq!(cli(&["verify", p]).0, 0);
}

/// A log cut back below the length its last writer made durable (recorded in
/// the lock file, spec § 10.4) was not cut by a crash: no crash removes
/// synced bytes. Open still recovers as before (a torn tail moved aside, the
/// chain continued from the last complete entry), and now says so in
/// `Recovery::truncated` instead of hiding it.
#[test]
fn a_log_cut_below_its_durable_length_is_reported_at_open() {
    for framing in FRAMINGS {
        for cut_in_record in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let (path, last_start) = log_of(dir.path(), framing, 3, None);
            let durable = fs::metadata(&path).unwrap().len();
            let cut = if cut_in_record {
                last_start + 5
            } else {
                last_start
            };
            fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(cut)
                .unwrap();
            let log = Log::open(&path, opts(framing)).unwrap();
            let rec = log.recovery();
            let t = rec.truncated.expect("the cut is reported");
            assert_eq!((t.durable_len, t.len), (durable, cut), "{framing:?}");
            assert_eq!(rec.torn.len(), usize::from(cut_in_record), "{framing:?}");
            assert_eq!(log.head().seq, 2, "{framing:?}");
            log.append(&ev(9)).unwrap();
            log.close().unwrap();
            // Reported once: the lock file now records the new length.
            let log = Log::open(&path, opts(framing)).unwrap();
            assert!(log.recovery().truncated.is_none(), "{framing:?}");
            log.close().unwrap();
        }
    }
}

/// The command says it, on the writer's open (append) and in repair.
#[cfg(feature = "cli")]
#[test]
fn the_command_warns_of_a_log_cut_below_its_durable_length() {
    for cmd in ["append", "repair"] {
        let dir = tempfile::tempdir().unwrap();
        let (path, last_start) = log_of(dir.path(), Framing::Jsonl, 3, None);
        let durable = fs::metadata(&path).unwrap().len();
        let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(last_start + 5).unwrap();
        drop(f);
        let p = path.to_str().unwrap();
        let args: Vec<&str> = match cmd {
            "append" => vec!["append", p, "--event-type", "X", "--action", "y"],
            _ => vec!["repair", p],
        };
        let (code, out, err) = cli(&args);
        assert_eq!(code, 0, "{cmd}: {out}{err}");
        let want = format!(
            "the log is {} bytes long, but an earlier writer had made {durable} bytes durable",
            last_start + 5
        );
        assert!(
            err.contains("warning:") && err.contains(&want),
            "{cmd}: {err}"
        );
        let (code, _, err) = cli(&args);
        assert_eq!(code, 0, "{cmd}: {err}");
        assert!(!err.contains("warning:"), "{cmd}: said twice: {err}");
    }
}

/// Bytes an earlier writer made durable (the lock file records the synced
/// length) that now look like a torn write — overwritten in place with
/// garbage or zeros, or a last line feed removed and bytes added — were
/// moved aside as a torn tail: acknowledged entries left the log, and the
/// next append continued the chain without them. No crash damages durable
/// bytes, so this is damage: open refuses and changes nothing; `Repair::Force`
/// still moves it aside (every byte kept). Without a lock file nothing says
/// the bytes were durable, and the tail is moved aside as before.
#[test]
fn durable_bytes_that_look_torn_are_damage_not_a_torn_tail() {
    for framing in FRAMINGS {
        let fill = if framing == Framing::Jsonl { b'A' } else { 0 };
        type Damage = Box<dyn Fn(&[u8], usize) -> Vec<u8>>;
        let variants: Vec<(&str, Damage)> = vec![
            (
                "overwritten",
                Box::new(move |img: &[u8], from: usize| {
                    let mut img = img.to_vec();
                    img[from..].fill(fill);
                    img
                }),
            ),
            (
                "last byte changed, bytes added",
                Box::new(|img: &[u8], _| {
                    let mut img = img.to_vec();
                    img.pop();
                    img.extend_from_slice(b"xy");
                    img
                }),
            ),
        ];
        for (what, damage) in &variants {
            let dir = tempfile::tempdir().unwrap();
            let (path, _) = log_of(dir.path(), framing, 5, None);
            let orig = fs::read(&path).unwrap();
            // Where entry 3 starts: the length of a log of 2 (entries of
            // one size: the same details, fixed-width times and ids).
            let d2 = tempfile::tempdir().unwrap();
            let third = fs::read(log_of(d2.path(), framing, 2, None).0)
                .unwrap()
                .len();
            let img = damage(&orig, third);
            fs::write(&path, &img).unwrap();
            let at = format!("{framing:?}, {what}");
            match Log::open(&path, opts(framing)) {
                Err(Error::Corrupt { msg, .. }) => {
                    // (A binary frame with a changed last byte is a complete
                    // frame that fails its check: refused as before.)
                    let binary_frame = framing == Framing::Binary && *what != "overwritten";
                    assert!(msg.contains("durable") || binary_frame, "{at}: {msg}")
                }
                other => panic!("{at}: {other:?}"),
            }
            assert_eq!(fs::read(&path).unwrap(), img, "{at}");
            assert!(sidecars(&path).is_empty(), "{at}");
            // Recorded and moved aside on request, every byte kept.
            let log = Log::open(&path, opts(framing).repair(Repair::Force)).unwrap();
            let torn = log.recovery().torn.clone();
            log.close().unwrap();
            assert_eq!(torn.len(), 1, "{at}");
            let kept = fs::read(&torn[0].sidecar).unwrap();
            let now = fs::read(&path).unwrap();
            assert_eq!([&now[..], &kept[..]].concat(), img, "{at}");
            if framing == Framing::Binary && *what != "overwritten" {
                continue; // damage with or without the lock file
            }
            // Without the lock file, nothing says the bytes were durable.
            fs::write(&path, &img).unwrap();
            fs::remove_file(format!("{}.lock", path.display())).unwrap();
            let log = Log::open(&path, opts(framing)).unwrap();
            assert_eq!(log.recovery().torn.len(), 1, "{at}");
            log.close().unwrap();
        }
    }
}

/// Spec § 10.3: a shared-mode writer refuses to append when the file "no
/// longer holds" its own last record — also when it was rewritten in place
/// and the file kept its length (before, only a change of length was
/// looked at, and the writer appended on top of the rewritten record).
#[test]
fn a_shared_writer_refuses_its_own_record_rewritten_in_place() {
    for framing in FRAMINGS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name(framing));
        let a = Log::open(&path, opts(framing).lock(LockMode::Shared)).unwrap();
        for i in 0..3 {
            a.append(&ev(i)).unwrap();
        }
        // One byte of the last entry's details changed ("a b c" -> "a x c"),
        // the stored hash kept: same length, same seq and hash field (in
        // the binary framing the frame's CRC fails too).
        let mut img = fs::read(&path).unwrap();
        let at = img.windows(5).rposition(|w| w == b"a b c").unwrap() + 2;
        img[at] = b'x';
        fs::write(&path, &img).unwrap();
        match a.append(&ev(9)) {
            Err(Error::RolledBack { seq, .. }) => assert_eq!(seq, 3, "{framing:?}"),
            other => panic!("{framing:?}: {other:?}"),
        }
        assert_eq!(
            fs::read(&path).unwrap(),
            img,
            "{framing:?}: nothing appended"
        );
    }
}
