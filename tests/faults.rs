//! Fault injection: writes and fsyncs that fail (disk full, I/O error) and
//! simulated power cuts, through `OpenOptions::storage_hook`.
//!
//! What must hold after any failure: the failed entry is not acknowledged,
//! the error is clear (`is_disk_full` for ENOSPC), the file ends on a record
//! boundary (or in a torn tail that reopening moves aside), the writer is
//! poisoned (appends and `sync` return `Error::Poisoned` until reopened), and
//! after reopening every acknowledged entry is there and verify is valid.
//!
//! With `CrashStorage`: an acknowledged append in `Sync`/`GroupCommit` mode
//! is covered by a successful fsync (acknowledged => synced); in `Buffered`
//! mode the synced length moves only at `sync()`/`close()`; and cutting a
//! copy of the file at the synced length (plus any part of the unsynced
//! bytes, or with them zeroed) loses no acknowledged entry.
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::Duration;

use evident::log::StorageHook;
use evident::storage::{
    CrashState, CrashStorage, Fault, FaultPlan, FaultyStorage, FileStorage, Storage,
};
use evident::{
    query, verify, Durability, Entry, Error, Event, Framing, Log, OpenOptions, Query, VerifyOptions,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const FRAMINGS: [Framing; 2] = [Framing::Jsonl, Framing::Binary];

fn ev(i: u64) -> Event {
    Event::new("FAULT", "append")
        .details(json!({"i": i, "pad": "x".repeat(40 + (i as usize * 7) % 50)}))
}

fn ev_t(t: u64, i: u64) -> Event {
    Event::new("FAULT", "append").details(json!({"t": t, "i": i}))
}

fn log_path(dir: &Path, framing: Framing) -> PathBuf {
    dir.join(match framing {
        Framing::Jsonl => "f.jsonl",
        Framing::Binary => "f.evl",
    })
}

fn base_opts(framing: Framing, durability: Durability) -> OpenOptions {
    let mut o = OpenOptions::new().framing(framing).durability(durability);
    o.actor = Some("fault-test".into());
    o.host = Some("fault-host".into());
    o
}

fn faulty_hook(plan: &Arc<FaultPlan>) -> StorageHook {
    let plan = plan.clone();
    Arc::new(move |fs: FileStorage| -> Box<dyn Storage> {
        Box::new(FaultyStorage::new(fs, plan.clone()))
    })
}

/// A hook that wraps the storage in `CrashStorage` (over `FaultyStorage`)
/// and hands the state to the test.
fn crash_hook(plan: &Arc<FaultPlan>, slot: &Arc<Mutex<Option<Arc<CrashState>>>>) -> StorageHook {
    let plan = plan.clone();
    let slot = slot.clone();
    Arc::new(move |fs: FileStorage| -> Box<dyn Storage> {
        let state = CrashState::new(fs.len().unwrap());
        *slot.lock().unwrap() = Some(state.clone());
        Box::new(CrashStorage::new(
            FaultyStorage::new(fs, plan.clone()),
            state,
        ))
    })
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

fn assert_poisoned(r: evident::Result<impl std::fmt::Debug>, what: &str) {
    match r {
        Err(Error::Poisoned { path, cause }) => {
            assert!(!cause.is_empty(), "{what}: poison cause is empty");
            assert!(path.file_name().is_some(), "{what}: no path in {path:?}");
        }
        other => panic!("{what}: expected Error::Poisoned, got {other:?}"),
    }
}

/// Entries of a log, with their `details.i` (and `details.t` when set).
fn entries(path: &Path) -> Vec<Entry> {
    query(path, &Query::default())
        .unwrap()
        .collect::<evident::Result<Vec<_>>>()
        .unwrap()
}

/// Reopens the log without fault injection and checks it: reopen succeeds
/// (a torn tail must be in its sidecar), verify is valid, and the entries
/// are `i = 0, 1, …, n-1` in order with `n >= acked`. Returns `n`.
fn reopen_and_check(path: &Path, framing: Framing, acked: u64, what: &str) -> u64 {
    let before = std::fs::read(path).unwrap();
    let log = Log::open(path, base_opts(framing, Durability::Sync))
        .unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
    for t in &log.recovery().torn {
        let side = std::fs::read(&t.sidecar).unwrap();
        assert_eq!(
            side.as_slice(),
            &before[t.offset as usize..],
            "{what}: sidecar content"
        );
    }
    let head = log.head();
    log.close().unwrap();
    drop(log);
    let r = verify(path, &VerifyOptions::default()).unwrap();
    assert!(r.valid, "{what}: verify after reopen: {:?}", r.violations);
    let es = entries(path);
    assert_eq!(es.len() as u64, head.seq, "{what}");
    for (k, e) in es.iter().enumerate() {
        assert_eq!(e.seq, k as u64 + 1, "{what}");
        assert_eq!(
            e.details["i"], k as u64,
            "{what}: entry {} out of order",
            e.seq
        );
    }
    assert!(
        head.seq >= acked,
        "{what}: {acked} entries acknowledged but the log holds {}",
        head.seq
    );
    head.seq
}

/// The size of the record of `ev(i)` when it is entry `i + 1` (appends
/// `ev(0..=i)` to a scratch log).
fn record_size(framing: Framing, i: u64) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path(), framing);
    let log = Log::open(&path, base_opts(framing, Durability::Buffered)).unwrap();
    for k in 0..i {
        log.append(&ev(k)).unwrap();
    }
    log.sync().unwrap();
    let before = file_len(&path);
    log.append(&ev(i)).unwrap();
    log.close().unwrap();
    file_len(&path) - before
}

// ------------------------------------------------------------ disk full --

/// ENOSPC after `budget` bytes, in a durable mode: the append that hits it
/// fails with a disk-full error, the file is rolled back to the last
/// record, the writer is poisoned, and reopening finds every acknowledged
/// entry.
#[test]
fn disk_full_in_durable_modes_rolls_back_and_poisons() {
    for framing in FRAMINGS {
        let rec = record_size(framing, 0);
        // Budgets inside the first record, at its end, inside later ones.
        let mut budgets: Vec<u64> = vec![0, 1, 7, rec / 2, rec - 1, rec, rec + 1];
        budgets.extend((1..12).map(|k| k * rec * 3 / 4 + k));
        for mode in [Durability::Sync, Durability::GroupCommit] {
            for &budget in &budgets {
                let what = format!("{framing:?} {mode:?} DiskFullAfter({budget})");
                let dir = tempfile::tempdir().unwrap();
                let path = log_path(dir.path(), framing);
                let plan = FaultPlan::new();
                let mut opts = base_opts(framing, mode);
                opts = opts.storage_hook(faulty_hook(&plan));
                let log = Log::open(&path, opts).unwrap();
                plan.arm(Fault::DiskFullAfter(budget));
                let mut acked = 0u64;
                let mut len_acked = file_len(&path);
                let err = loop {
                    match log.append(&ev(acked)) {
                        Ok(h) => {
                            acked += 1;
                            assert_eq!(h.seq, acked, "{what}");
                            len_acked = file_len(&path);
                            assert!(acked < 100, "{what}: the disk never filled");
                        }
                        Err(e) => break e,
                    }
                };
                assert!(err.is_disk_full(), "{what}: {err} is not disk-full");
                let msg = err.to_string();
                assert!(msg.contains("f."), "{what}: message names no file: {msg}");
                // Rolled back to the end of the last acknowledged record.
                assert_eq!(file_len(&path), len_acked, "{what}: not rolled back");
                let r = verify(&path, &VerifyOptions::default()).unwrap();
                assert!(r.valid, "{what}: {:?}", r.violations);
                assert_eq!(r.entries, acked, "{what}");
                plan.clear();
                // Poisoned, even though the disk has room again.
                assert_poisoned(log.append(&ev(acked)), &what);
                assert_poisoned(log.sync(), &what);
                assert_poisoned(log.append(&ev(acked)), &what);
                assert_eq!(file_len(&path), len_acked, "{what}: poisoned writer wrote");
                let _ = log.close();
                drop(log);
                let n = reopen_and_check(&path, framing, acked, &what);
                assert_eq!(n, acked, "{what}: the failed entry must not be in the log");
            }
        }
    }
}

/// ENOSPC in Buffered mode: the failure shows up in the append that
/// flushes the buffer or in `sync()`. Entries covered by a successful
/// `sync()` survive; what reopening finds is a prefix of what was appended.
#[test]
fn disk_full_in_buffered_mode() {
    let mut rng = StdRng::seed_from_u64(7);
    for framing in FRAMINGS {
        for round in 0..24 {
            let what = format!("{framing:?} Buffered round {round}");
            let dir = tempfile::tempdir().unwrap();
            let path = log_path(dir.path(), framing);
            let plan = FaultPlan::new();
            let mut opts = base_opts(framing, Durability::Buffered);
            opts.buffer_size = rng.gen_range(1..1500);
            opts = opts.storage_hook(faulty_hook(&plan));
            let log = Log::open(&path, opts).unwrap();
            let budget = rng.gen_range(0..4000);
            plan.arm(Fault::DiskFullAfter(budget));
            let every = rng.gen_range(1..6u64);
            let mut appended = 0u64;
            let mut synced = 0u64;
            let err = loop {
                match log.append(&ev(appended)) {
                    Ok(_) => appended += 1,
                    Err(e) => break e,
                }
                if appended % every == 0 {
                    match log.sync() {
                        Ok(()) => synced = appended,
                        Err(e) => break e,
                    }
                }
                assert!(appended < 200, "{what}: the disk never filled");
            };
            assert!(err.is_disk_full(), "{what}: {err}");
            let r = verify(&path, &VerifyOptions::default()).unwrap();
            assert!(
                r.valid,
                "{what}: file does not end on a record: {:?}",
                r.violations
            );
            plan.clear();
            assert_poisoned(log.append(&ev(appended)), &what);
            assert_poisoned(log.sync(), &what);
            let _ = log.close();
            drop(log);
            let n = reopen_and_check(&path, framing, synced, &what);
            assert!(
                n <= appended,
                "{what}: {n} entries but only {appended} appended"
            );
        }
    }
}

/// A storage whose rollback `truncate` fails too (after a short write the
/// file then ends in a torn record): reopening must move it aside.
struct NoTruncate<S>(S);

impl<S: Storage> Storage for NoTruncate<S> {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.0.append(buf)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.0.read_at(buf, offset)
    }
    fn len(&self) -> io::Result<u64> {
        self.0.len()
    }
    fn truncate(&self, _len: u64) -> io::Result<()> {
        Err(io::Error::from_raw_os_error(libc::EIO))
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
}

#[test]
fn short_write_without_rollback_leaves_a_torn_tail_that_reopen_moves_aside() {
    for framing in FRAMINGS {
        let rec = record_size(framing, 0);
        for mode in [
            Durability::Sync,
            Durability::GroupCommit,
            Durability::Buffered,
        ] {
            for cut in [1, rec / 3, rec - 1] {
                let what = format!("{framing:?} {mode:?} short write of {cut} bytes");
                let dir = tempfile::tempdir().unwrap();
                let path = log_path(dir.path(), framing);
                let plan = FaultPlan::new();
                let p2 = plan.clone();
                let mut opts = base_opts(framing, mode);
                opts.buffer_size = 1; // Buffered: write every entry at once
                opts = opts.storage_hook(Arc::new(move |fs: FileStorage| -> Box<dyn Storage> {
                    Box::new(NoTruncate(FaultyStorage::new(fs, p2.clone())))
                }));
                let log = Log::open(&path, opts).unwrap();
                for i in 0..3 {
                    log.append(&ev(i)).unwrap();
                }
                log.sync().unwrap();
                let good_len = file_len(&path);
                let rec3 = record_size(framing, 3);
                assert!(cut < rec3);
                plan.arm(Fault::DiskFullAfter(cut));
                let err = log.append(&ev(3)).unwrap_err();
                assert!(err.is_disk_full(), "{what}: {err}");
                assert_eq!(file_len(&path), good_len + cut, "{what}: short write");
                let r = verify(&path, &VerifyOptions::default()).unwrap();
                assert!(r.only_torn_tail(), "{what}: {:?}", r.violations);
                assert_eq!(r.first().unwrap().offset, good_len, "{what}");
                plan.clear();
                assert_poisoned(log.append(&ev(3)), &what);
                assert_poisoned(log.sync(), &what);
                let _ = log.close();
                drop(log);
                let log = Log::open(&path, base_opts(framing, Durability::Sync)).unwrap();
                let torn = log.recovery().torn;
                assert_eq!(torn.len(), 1, "{what}: {torn:?}");
                assert_eq!((torn[0].offset, torn[0].len), (good_len, cut), "{what}");
                assert_eq!(std::fs::read(&torn[0].sidecar).unwrap().len() as u64, cut);
                drop(log);
                assert_eq!(reopen_and_check(&path, framing, 3, &what), 3);
            }
        }
    }
}

/// EIO on write: same contract as disk full, but not reported as disk full.
#[test]
fn write_error_poisons_and_loses_nothing_acknowledged() {
    for framing in FRAMINGS {
        for mode in [
            Durability::Sync,
            Durability::GroupCommit,
            Durability::Buffered,
        ] {
            let what = format!("{framing:?} {mode:?} EIO on write");
            let dir = tempfile::tempdir().unwrap();
            let path = log_path(dir.path(), framing);
            let plan = FaultPlan::new();
            let mut opts = base_opts(framing, mode);
            opts = opts.storage_hook(faulty_hook(&plan));
            let log = Log::open(&path, opts).unwrap();
            for i in 0..5 {
                log.append(&ev(i)).unwrap();
            }
            log.sync().unwrap();
            let len = file_len(&path);
            plan.arm(Fault::WriteError);
            let err = match mode {
                Durability::Buffered => {
                    log.append(&ev(5)).unwrap();
                    log.sync().unwrap_err()
                }
                _ => log.append(&ev(5)).unwrap_err(),
            };
            assert!(!err.is_disk_full(), "{what}");
            assert!(
                matches!(&err, Error::Io { .. }) && err.raw_os_error() == Some(libc::EIO),
                "{what}: {err:?}"
            );
            assert_eq!(file_len(&path), len, "{what}");
            plan.clear();
            assert_poisoned(log.append(&ev(5)), &what);
            assert_poisoned(log.sync(), &what);
            let _ = log.close();
            drop(log);
            assert_eq!(reopen_and_check(&path, framing, 5, &what), 5);
        }
    }
}

// ----------------------------------------------------------- fsync fails --

/// A failed fsync in Sync mode: the append is not acknowledged (its bytes
/// may be in the file), and the writer refuses further appends and syncs.
#[test]
fn failed_fsync_in_sync_mode_poisons() {
    for framing in FRAMINGS {
        for k in [0u64, 1, 4] {
            let what = format!("{framing:?} Sync fsync fails after {k} appends");
            let dir = tempfile::tempdir().unwrap();
            let path = log_path(dir.path(), framing);
            let plan = FaultPlan::new();
            let mut opts = base_opts(framing, Durability::Sync);
            opts = opts.storage_hook(faulty_hook(&plan));
            let log = Log::open(&path, opts).unwrap();
            for i in 0..k {
                log.append(&ev(i)).unwrap();
            }
            plan.arm(Fault::SyncError);
            let err = log.append(&ev(k)).unwrap_err();
            assert!(
                matches!(&err, Error::Io { op: "fsync", .. }),
                "{what}: {err:?}"
            );
            assert!(err.to_string().contains("fsync"), "{what}: {err}");
            // The next fsync would succeed: the writer must not trust it.
            assert_poisoned(log.append(&ev(k + 1)), &what);
            assert_poisoned(log.sync(), &what);
            assert_poisoned(log.append(&ev(k + 1)), &what);
            let _ = log.close();
            drop(log);
            let n = reopen_and_check(&path, framing, k, &what);
            assert!(n <= k + 1, "{what}");
        }
    }
}

/// A failed `sync()` in Buffered mode poisons the writer; entries covered
/// by an earlier successful sync survive.
#[test]
fn failed_sync_in_buffered_mode_poisons() {
    for framing in FRAMINGS {
        for buffer_size in [1, 64 * 1024] {
            let what = format!("{framing:?} Buffered({buffer_size}) sync fails");
            let dir = tempfile::tempdir().unwrap();
            let path = log_path(dir.path(), framing);
            let plan = FaultPlan::new();
            let mut opts = base_opts(framing, Durability::Buffered);
            opts.buffer_size = buffer_size;
            opts = opts.storage_hook(faulty_hook(&plan));
            let log = Log::open(&path, opts).unwrap();
            for i in 0..4 {
                log.append(&ev(i)).unwrap();
            }
            log.sync().unwrap();
            for i in 4..9 {
                log.append(&ev(i)).unwrap();
            }
            plan.arm(Fault::SyncError);
            let err = log.sync().unwrap_err();
            assert!(
                matches!(&err, Error::Io { op: "fsync", .. }),
                "{what}: {err:?}"
            );
            assert_poisoned(log.append(&ev(9)), &what);
            assert_poisoned(log.sync(), &what);
            let _ = log.close();
            drop(log);
            let n = reopen_and_check(&path, framing, 4, &what);
            assert!(n <= 9, "{what}");
        }
    }
}

/// A storage whose first armed fsync waits until `want` appends have been
/// written (so several group-commit appenders are waiting on it) and then
/// fails with EIO.
struct GateStorage {
    inner: FileStorage,
    armed: AtomicBool,
    want: u64,
    appends: Mutex<u64>,
    cv: Condvar,
    timed_out: AtomicBool,
    syncs: AtomicU64,
}

impl Storage for GateStorage {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.inner.append(buf)?;
        *self.appends.lock().unwrap() += 1;
        self.cv.notify_all();
        Ok(())
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        if self.armed.swap(false, Ordering::SeqCst) {
            let g = self.appends.lock().unwrap();
            let (_g, t) = self
                .cv
                .wait_timeout_while(g, Duration::from_secs(20), |n| *n < self.want)
                .unwrap();
            if t.timed_out() {
                self.timed_out.store(true, Ordering::SeqCst);
            }
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        self.inner.sync_data()
    }
}

/// Several threads waiting on the same failed group-commit fsync all get
/// an error; none is told its entry is durable.
#[test]
fn failed_group_fsync_fails_every_waiter() {
    const THREADS: u64 = 4;
    for framing in FRAMINGS {
        let what = format!("{framing:?} GroupCommit shared fsync fails");
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(dir.path(), framing);
        let slot: Arc<Mutex<Option<Arc<GateStorage>>>> = Arc::default();
        let slot2 = slot.clone();
        let mut opts = base_opts(framing, Durability::GroupCommit);
        opts = opts.storage_hook(Arc::new(move |fs: FileStorage| -> Box<dyn Storage> {
            let g = Arc::new(GateStorage {
                inner: fs,
                armed: AtomicBool::new(false),
                want: THREADS,
                appends: Mutex::new(0),
                cv: Condvar::new(),
                timed_out: AtomicBool::new(false),
                syncs: AtomicU64::new(0),
            });
            *slot2.lock().unwrap() = Some(g.clone());
            Box::new(ArcStorage(g))
        }));
        let log = Arc::new(Log::open(&path, opts).unwrap());
        let gate = slot.lock().unwrap().clone().unwrap();
        log.append(&ev_t(9, 0)).unwrap();
        *gate.appends.lock().unwrap() = 0;
        gate.armed.store(true, Ordering::SeqCst);
        let barrier = Arc::new(Barrier::new(THREADS as usize));
        let results: Vec<_> = (0..THREADS)
            .map(|t| {
                let log = log.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    log.append(&ev_t(t, 0))
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        assert!(
            !gate.timed_out.load(Ordering::SeqCst),
            "{what}: the appends did not all reach the file while the fsync was pending"
        );
        for (t, r) in results.iter().enumerate() {
            assert!(
                r.is_err(),
                "{what}: thread {t} was told its entry is durable: {r:?}"
            );
        }
        let io_errors = results
            .iter()
            .filter(|r| matches!(r, Err(Error::Io { op: "fsync", .. })))
            .count();
        assert!(io_errors >= 1, "{what}: {results:?}");
        for r in &results {
            assert!(
                matches!(
                    r,
                    Err(Error::Io { op: "fsync", .. }) | Err(Error::Poisoned { .. })
                ),
                "{what}: {r:?}"
            );
        }
        assert_poisoned(log.append(&ev_t(0, 1)), &what);
        assert_poisoned(log.sync(), &what);
        let _ = log.close();
        drop(log);
        drop(gate);
        let l = Log::open(&path, base_opts(framing, Durability::Sync)).unwrap();
        assert!(l.head().seq >= 1, "{what}");
        drop(l);
        let r = verify(&path, &VerifyOptions::default()).unwrap();
        assert!(r.valid, "{what}: {:?}", r.violations);
    }
}

/// Storage behind an `Arc` (so the test keeps a handle on it).
struct ArcStorage<S>(Arc<S>);

impl<S: Storage> Storage for ArcStorage<S> {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.0.append(buf)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.0.read_at(buf, offset)
    }
    fn len(&self) -> io::Result<u64> {
        self.0.len()
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.0.truncate(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
}

/// Many group-commit threads, one fsync fails in the middle: every
/// acknowledged entry survives, every later append is refused.
#[test]
fn failed_fsync_during_concurrent_group_commit() {
    const THREADS: u64 = 4;
    for framing in FRAMINGS {
        for trigger in [3u64, 17, 40] {
            let what = format!("{framing:?} GroupCommit fsync fails at {trigger}");
            let dir = tempfile::tempdir().unwrap();
            let path = log_path(dir.path(), framing);
            let plan = FaultPlan::new();
            let mut opts = base_opts(framing, Durability::GroupCommit);
            opts = opts.storage_hook(faulty_hook(&plan));
            let log = Arc::new(Log::open(&path, opts).unwrap());
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let log = log.clone();
                    let plan = plan.clone();
                    std::thread::spawn(move || {
                        let mut acked = Vec::new();
                        for i in 0..1000u64 {
                            if t == 0 && i == trigger {
                                plan.arm(Fault::SyncError);
                            }
                            match log.append(&ev_t(t, i)) {
                                Ok(h) => acked.push((h.seq, i)),
                                Err(e) => {
                                    assert!(
                                        matches!(
                                            e,
                                            Error::Io { op: "fsync", .. } | Error::Poisoned { .. }
                                        ),
                                        "{e:?}"
                                    );
                                    return (acked, true);
                                }
                            }
                        }
                        (acked, false)
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            assert!(
                results.iter().all(|(_, failed)| *failed),
                "{what}: a thread never failed"
            );
            assert_poisoned(log.append(&ev_t(0, 1000)), &what);
            let _ = log.close();
            drop(log);
            let l = Log::open(&path, base_opts(framing, Durability::Sync)).unwrap();
            drop(l);
            let r = verify(&path, &VerifyOptions::default()).unwrap();
            assert!(r.valid, "{what}: {:?}", r.violations);
            let got: BTreeMap<u64, (u64, u64)> = entries(&path)
                .iter()
                .map(|e| {
                    (
                        e.seq,
                        (
                            e.details["t"].as_u64().unwrap(),
                            e.details["i"].as_u64().unwrap(),
                        ),
                    )
                })
                .collect();
            for (t, (acked, _)) in results.iter().enumerate() {
                for &(seq, i) in acked {
                    assert_eq!(
                        got.get(&seq),
                        Some(&(t as u64, i)),
                        "{what}: acknowledged entry seq {seq} (thread {t}, i {i})"
                    );
                }
            }
        }
    }
}

// ------------------------------------------------- crash storage: synced --

fn crash_log(
    path: &Path,
    framing: Framing,
    mode: Durability,
    buffer_size: usize,
) -> (Log, Arc<CrashState>, Arc<FaultPlan>) {
    let plan = FaultPlan::new();
    let slot = Arc::default();
    let mut opts = base_opts(framing, mode);
    opts.buffer_size = buffer_size;
    opts = opts.storage_hook(crash_hook(&plan, &slot));
    let log = Log::open(path, opts).unwrap();
    let state = slot.lock().unwrap().clone().unwrap();
    (log, state, plan)
}

/// Ends of the records of a log (byte offset just past each entry), by
/// entry seq, read from the raw bytes.
fn record_ends(bytes: &[u8], framing: Framing) -> Vec<u64> {
    let mut ends = Vec::new();
    match framing {
        Framing::Jsonl => {
            for (i, b) in bytes.iter().enumerate() {
                if *b == b'\n' {
                    ends.push(i as u64 + 1);
                }
            }
        }
        Framing::Binary => {
            let mut p = 16usize;
            while p + 8 <= bytes.len() {
                let body = u32::from_le_bytes(bytes[p..p + 4].try_into().unwrap()) as usize;
                let hash = u16::from_le_bytes(bytes[p + 4..p + 6].try_into().unwrap()) as usize;
                let n = 16 + body + hash;
                if p + n > bytes.len() {
                    break;
                }
                p += n;
                ends.push(p as u64);
            }
        }
    }
    // ends[0] is the genesis; ends[seq] is entry seq's end.
    ends
}

/// Acknowledged => synced, single thread: after every acknowledged append
/// the synced length covers the whole file.
#[test]
fn acknowledged_means_synced_single_thread() {
    for framing in FRAMINGS {
        for mode in [Durability::Sync, Durability::GroupCommit] {
            let dir = tempfile::tempdir().unwrap();
            let path = log_path(dir.path(), framing);
            let (log, state, _plan) = crash_log(&path, framing, mode, 0);
            for i in 0..20 {
                log.append(&ev(i)).unwrap();
                let len = file_len(&path);
                assert_eq!(state.written(), len, "{framing:?} {mode:?}");
                assert!(
                    state.synced() >= len,
                    "{framing:?} {mode:?}: entry {i} acknowledged with {} of {len} bytes synced",
                    state.synced()
                );
            }
        }
    }
}

/// Acknowledged => synced with several group-commit threads: the synced
/// length seen right after each acknowledgement covers that entry's end.
#[test]
fn acknowledged_means_synced_group_commit_threads() {
    const THREADS: u64 = 4;
    const PER: u64 = 60;
    for framing in FRAMINGS {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(dir.path(), framing);
        let (log, state, _plan) = crash_log(&path, framing, Durability::GroupCommit, 0);
        let log = Arc::new(log);
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let log = log.clone();
                let state = state.clone();
                std::thread::spawn(move || {
                    (0..PER)
                        .map(|i| {
                            let h = log.append(&ev_t(t, i)).unwrap();
                            (h.seq, state.synced())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let acks: Vec<(u64, u64)> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        log.close().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let ends = record_ends(&bytes, framing);
        assert_eq!(ends.len() as u64, THREADS * PER + 1);
        for (seq, synced) in &acks {
            let end = ends[*seq as usize];
            assert!(
                *synced >= end,
                "{framing:?}: entry {seq} (ends at {end}) acknowledged with only {synced} bytes synced"
            );
        }
        // Power cut at every sync point: every entry acknowledged with a
        // synced length up to that point survives.
        let points = state.sync_points();
        assert!(!points.is_empty());
        let mut rng = StdRng::seed_from_u64(11);
        for _ in 0..12 {
            let p = points[rng.gen_range(0..points.len())];
            let need = acks
                .iter()
                .filter(|(_, s)| *s <= p)
                .map(|(seq, _)| *seq)
                .max()
                .unwrap_or(0);
            let head = power_cut_copy(&path, framing, p, None, &format!("{framing:?} cut {p}"));
            assert!(
                head >= need,
                "{framing:?}: cut at {p} kept {head}, need {need}"
            );
        }
    }
}

/// In Buffered mode the synced length moves only at `sync()` and `close()`.
#[test]
fn buffered_mode_syncs_only_on_sync_and_close() {
    for framing in FRAMINGS {
        for buffer_size in [1usize, 700, 1 << 20] {
            let what = format!("{framing:?} Buffered({buffer_size})");
            let dir = tempfile::tempdir().unwrap();
            let path = log_path(dir.path(), framing);
            let (log, state, _plan) = crash_log(&path, framing, Durability::Buffered, buffer_size);
            let start = state.synced();
            for i in 0..10 {
                log.append(&ev(i)).unwrap();
                assert_eq!(state.synced(), start, "{what}: append {i} synced");
            }
            if buffer_size == 1 {
                assert!(state.written() > start, "{what}: nothing written");
            }
            log.sync().unwrap();
            let len = file_len(&path);
            assert_eq!(state.synced(), len, "{what}: sync()");
            assert_eq!(state.written(), len, "{what}");
            for i in 10..15 {
                log.append(&ev(i)).unwrap();
                assert_eq!(state.synced(), len, "{what}: append {i} synced");
            }
            log.close().unwrap();
            let len2 = file_len(&path);
            assert!(len2 > len);
            assert_eq!(state.synced(), len2, "{what}: close()");
        }
    }
}

/// Copies the log, keeps the first `keep` bytes of the copy, then (if
/// `extra` is given) the next `extra.0` bytes of the original, zeroing them
/// when `extra.1`; reopens the copy and checks it. Returns the head seq.
fn power_cut_copy(
    path: &Path,
    framing: Framing,
    keep: u64,
    extra: Option<(u64, bool)>,
    what: &str,
) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    let mut cut = bytes[..keep as usize].to_vec();
    if let Some((n, zero)) = extra {
        let more = &bytes[keep as usize..(keep + n) as usize];
        if zero {
            cut.extend(std::iter::repeat_n(0u8, more.len()));
        } else {
            cut.extend_from_slice(more);
        }
    }
    power_cut_image(path, framing, &cut, None, what)
}

/// Writes `image` (what a power cut left of the log at `path`) next to it,
/// reopens it, appends, and checks that verify finds it valid. Returns the
/// head seq at reopening.
/// Writes `cut` as a copy of the log after a power cut (with `lock` as its
/// lock file's content when the lock file's page survived too), reopens
/// it, appends, and checks that it verifies. Returns the head seq kept.
fn power_cut_image(
    path: &Path,
    framing: Framing,
    cut: &[u8],
    lock: Option<&[u8]>,
    what: &str,
) -> u64 {
    let keep = cut.len();
    let copy = path.with_file_name(format!(
        "cut-{}-{}.{}",
        keep,
        rand::random::<u32>(),
        if framing == Framing::Binary {
            "evl"
        } else {
            "jsonl"
        }
    ));
    std::fs::write(&copy, cut).unwrap();
    if let Some(lock) = lock {
        std::fs::write(format!("{}.lock", copy.display()), lock).unwrap();
    }
    let log = Log::open(&copy, base_opts(framing, Durability::Sync))
        .unwrap_or_else(|e| panic!("{what}: reopen after power cut: {e}"));
    let head = log.head();
    for t in log.recovery().torn {
        assert!(t.sidecar.exists(), "{what}");
    }
    // The chain resumes.
    log.append(&Event::new("AFTER", "cut")).unwrap();
    log.close().unwrap();
    drop(log);
    let r = verify(&copy, &VerifyOptions::default()).unwrap();
    assert!(r.valid, "{what}: {:?}", r.violations);
    assert_eq!(r.entries, head.seq + 1, "{what}");
    head.seq
}

/// Power cut simulation: cut a copy of the file at the synced length, and
/// at the synced length plus a random part of the unsynced bytes (kept or
/// zeroed): reopening succeeds and every acknowledged entry survives.
#[test]
fn power_cut_keeps_every_acknowledged_entry() {
    let mut rng = StdRng::seed_from_u64(5);
    for framing in FRAMINGS {
        for mode in [
            Durability::Sync,
            Durability::GroupCommit,
            Durability::Buffered,
        ] {
            let what = format!("{framing:?} {mode:?}");
            let dir = tempfile::tempdir().unwrap();
            let path = log_path(dir.path(), framing);
            let (log, state, plan) = crash_log(&path, framing, mode, 200);
            let mut durable = 0u64;
            let mut i = 0u64;
            // Acknowledged entries, then unsynced ones after them.
            for _ in 0..12 {
                log.append(&ev(i)).unwrap();
                i += 1;
                if mode == Durability::Buffered && i % 4 == 0 {
                    log.sync().unwrap();
                    durable = i;
                }
            }
            if mode != Durability::Buffered {
                durable = i;
                // One more whose fsync fails: written, not synced.
                plan.arm(Fault::SyncError);
                assert!(log.append(&ev(i)).is_err(), "{what}");
            } else {
                for _ in 0..6 {
                    log.append(&ev(i)).unwrap();
                    i += 1;
                }
            }
            let synced = state.synced();
            let written = file_len(&path);
            assert!(written > synced, "{what}: nothing unsynced ({written})");
            drop(log);
            let head = power_cut_copy(&path, framing, synced, None, &what);
            assert!(
                head >= durable,
                "{what}: cut at synced kept {head} < {durable}"
            );
            let unsynced = written - synced;
            for k in 0..10 {
                let n = if k == 0 {
                    unsynced
                } else {
                    rng.gen_range(0..=unsynced)
                };
                for zero in [false, true] {
                    let w = format!("{what} synced {synced} + {n} (zeroed: {zero})");
                    let head = power_cut_copy(&path, framing, synced, Some((n, zero)), &w);
                    assert!(head >= durable, "{w}: kept {head} < {durable}");
                }
            }
        }
    }
}

// ------------------------------------------------------- faults at open --

fn sidecars_of(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut v: Vec<PathBuf> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}.torn-"))
        })
        .collect();
    v.sort();
    v
}

/// Moving a torn tail aside at open when the log's fsync or truncate
/// fails: open reports the error, the torn bytes are in a sidecar (or
/// still in the log), and a later open succeeds with every entry.
#[test]
fn failures_while_moving_a_torn_tail_aside_lose_nothing() {
    for framing in FRAMINGS {
        for fault in ["fsync", "truncate"] {
            let what = format!("{framing:?} {fault} fails at open");
            let dir = tempfile::tempdir().unwrap();
            let path = log_path(dir.path(), framing);
            let log = Log::open(&path, base_opts(framing, Durability::Sync)).unwrap();
            for i in 0..5 {
                log.append(&ev(i)).unwrap();
            }
            log.close().unwrap();
            drop(log);
            let good = std::fs::read(&path).unwrap();
            // A torn record: the first bytes of a real one.
            let full = {
                let log = Log::open(&path, base_opts(framing, Durability::Sync)).unwrap();
                log.append(&ev(5)).unwrap();
                log.close().unwrap();
                drop(log);
                std::fs::read(&path).unwrap()
            };
            let torn = &full[good.len()..good.len() + (full.len() - good.len()) / 2];
            std::fs::write(&path, [good.as_slice(), torn].concat()).unwrap();

            let plan = FaultPlan::new();
            let mut opts = base_opts(framing, Durability::Sync);
            opts = opts.storage_hook(match fault {
                "fsync" => {
                    plan.arm(Fault::SyncError);
                    faulty_hook(&plan)
                }
                _ => Arc::new(|fs: FileStorage| -> Box<dyn Storage> { Box::new(NoTruncate(fs)) }),
            });
            let err = Log::open(&path, opts).unwrap_err();
            assert!(matches!(err, Error::Io { .. }), "{what}: {err:?}");
            assert!(err.to_string().contains("f."), "{what}: {err}");
            let sides = sidecars_of(&path);
            assert_eq!(sides.len(), 1, "{what}: {sides:?}");
            assert_eq!(std::fs::read(&sides[0]).unwrap(), torn, "{what}: sidecar");
            let now = std::fs::read(&path).unwrap();
            assert!(
                now == good || now == [good.as_slice(), torn].concat(),
                "{what}: the log is neither before nor after the move"
            );

            let log = Log::open(&path, base_opts(framing, Durability::Sync))
                .unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
            assert_eq!(log.head().seq, 5, "{what}");
            let moved = log.recovery().torn;
            assert_eq!(moved.is_empty(), now == good, "{what}: {moved:?}");
            log.append(&ev(5)).unwrap();
            log.close().unwrap();
            drop(log);
            for s in sidecars_of(&path) {
                assert_eq!(std::fs::read(&s).unwrap(), torn, "{what}: {}", s.display());
            }
            assert_eq!(reopen_and_check(&path, framing, 6, &what), 6);
        }
    }
}

/// The disk model (see `evident::storage`): bytes written after the last
/// successful fsync may be lost, partly written or zeroed after a power
/// cut, page by page and in any order. So a later unsynced page can survive
/// while an earlier one is lost. Reopening must still succeed, keep every
/// synced entry, and leave a log that verifies as valid (this is a power
/// cut, not tampering).
///
/// Open knows where the unsynced bytes begin from the lock file, which
/// records the synced length after every fsync (spec § 10.3); the lock
/// file's page survives here.
#[test]
fn power_cut_losing_an_earlier_unsynced_page_but_keeping_a_later_one() {
    let mut rng = StdRng::seed_from_u64(9);
    let mut failures = Vec::new();
    for framing in FRAMINGS {
        let what = format!("{framing:?} Buffered");
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(dir.path(), framing);
        // buffer_size 1: every entry is written at once, none is synced.
        let (log, state, _plan) = crash_log(&path, framing, Durability::Buffered, 1);
        for i in 0..8 {
            log.append(&ev(i)).unwrap();
        }
        log.sync().unwrap();
        for i in 8..40 {
            log.append(&ev(i)).unwrap();
        }
        let synced = state.synced() as usize;
        let bytes = std::fs::read(&path).unwrap();
        let lock = std::fs::read(format!("{}.lock", path.display())).unwrap();
        let written = bytes.len();
        drop(log);
        for k in 0..8 {
            // Damage a range of unsynced bytes in place (zeros or stale
            // garbage); the unsynced bytes after it survive.
            let a = rng.gen_range(synced..written - 200);
            let b = rng.gen_range(a + 1..=(a + 300).min(written - 100));
            let mut image = bytes.clone();
            let zero = k % 2 == 0;
            if zero {
                image[a..b].fill(0);
            } else {
                rng.fill(&mut image[a..b]);
            }
            let w = format!(
                "{what}: unsynced bytes {a}..{b} {} (synced {synced}, written {written})",
                if zero { "zeroed" } else { "garbled" }
            );
            let r = std::panic::catch_unwind(|| {
                power_cut_image(&path, framing, &image, Some(&lock), &w)
            });
            match r {
                Ok(head) => assert!(head >= 8, "{w}: kept {head} < 8 synced entries"),
                Err(e) => failures.push(
                    e.downcast_ref::<String>()
                        .cloned()
                        .unwrap_or_else(|| w.clone()),
                ),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
