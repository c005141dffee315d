//! Batch appends (`Log::append_batch`) and details given as JSON text.
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

mod support;

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use evident::storage::{FileStorage, Storage};
use evident::{
    query, verify, Durability, Error, Event, Framing, LockMode, Log, OpenOptions, Query,
    VerifyOptions,
};
use serde_json::json;
use support::{ev, scratch, sidecars};

fn opts(framing: Framing, d: Durability) -> OpenOptions {
    let mut o = OpenOptions::new().framing(framing).durability(d);
    o.actor = Some("tester".into());
    o.host = Some("box".into());
    o
}

fn entries(path: &Path) -> Vec<evident::Entry> {
    query(path, &Query::default())
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
}

/// Counts fsyncs and writes.
struct Counting {
    inner: FileStorage,
    syncs: Arc<AtomicUsize>,
    writes: Arc<AtomicUsize>,
}

impl Storage for Counting {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.append(buf)
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
        self.inner.sync_data()
    }
}

#[test]
fn batch_is_one_write_and_one_fsync_and_returns_every_head() {
    for framing in [Framing::Jsonl, Framing::Binary] {
        for d in [Durability::Sync, Durability::GroupCommit] {
            let dir = scratch();
            let path = dir.path().join("b.log");
            let syncs = Arc::new(AtomicUsize::new(0));
            let writes = Arc::new(AtomicUsize::new(0));
            let mut o = opts(framing, d);
            let (s2, w2) = (syncs.clone(), writes.clone());
            o = o.storage_hook(Arc::new(move |fs: FileStorage| -> Box<dyn Storage> {
                Box::new(Counting {
                    inner: fs,
                    syncs: s2.clone(),
                    writes: w2.clone(),
                })
            }));
            let log = Log::open(&path, o).unwrap();
            log.append(&ev(0)).unwrap();
            let (s0, w0) = (syncs.load(Ordering::SeqCst), writes.load(Ordering::SeqCst));
            let batch: Vec<Event> = (1..=50).map(ev).collect();
            let heads = log.append_batch(&batch).unwrap();
            assert_eq!(writes.load(Ordering::SeqCst) - w0, 1, "{framing:?} {d:?}");
            assert_eq!(syncs.load(Ordering::SeqCst) - s0, 1, "{framing:?} {d:?}");
            assert_eq!(heads.len(), 50);
            assert_eq!(
                heads.iter().map(|h| h.seq).collect::<Vec<_>>(),
                (2..=51).collect::<Vec<_>>()
            );
            assert_eq!(log.head(), *heads.last().unwrap());
            assert!(log.append_batch(&[]).unwrap().is_empty());
            log.close().unwrap();
            let got = entries(&path);
            assert_eq!(got.len(), 51);
            for (e, h) in got.iter().skip(1).zip(&heads) {
                assert_eq!(e.seq, h.seq);
                assert_eq!(e.hash, h.hash.to_hex());
                assert_eq!(e.details["i"], json!(e.seq - 1));
            }
            let r = verify(&path, &VerifyOptions::default()).unwrap();
            assert!(r.valid, "{:?}", r.violations);
        }
    }
}

#[test]
fn an_invalid_event_rejects_the_whole_batch_before_anything_is_written() {
    for d in [Durability::Sync, Durability::Buffered] {
        let dir = scratch();
        let path = dir.path().join("b.log");
        let log = Log::open(&path, opts(Framing::Jsonl, d)).unwrap();
        log.append(&ev(0)).unwrap();
        log.sync().unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        let head = log.head();
        let mut batch: Vec<Event> = (1..=5).map(ev).collect();
        batch[3].duration_ms = Some(f64::NAN);
        let err = log.append_batch(&batch).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
        batch[3].duration_ms = None;
        batch[4].details_json = Some("{not json".into());
        let err = log.append_batch(&batch).unwrap_err();
        assert!(err.to_string().contains("details_json"), "{err}");
        batch[4].details_json = None;
        batch[2].details = Some(json!({"big": "x".repeat(evident::format::MAX_BODY)}));
        let err = log.append_batch(&batch).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
        assert_eq!(log.head(), head);
        log.sync().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
        // The handle is still usable, and the chain continues from the head.
        batch[2].details = None;
        let heads = log.append_batch(&batch).unwrap();
        assert_eq!(heads.first().unwrap().seq, 2);
        log.close().unwrap();
        assert_eq!(entries(&path).len(), 6);
        assert!(verify(&path, &VerifyOptions::default()).unwrap().valid);
    }
}

#[test]
fn buffered_and_shared_batches_chain_on() {
    let dir = scratch();
    let path = dir.path().join("b.evl");
    {
        let mut o = opts(Framing::Binary, Durability::Buffered);
        o.buffer_size = 300;
        let log = Log::open(&path, o).unwrap();
        for k in 0..10 {
            let batch: Vec<Event> = (k * 7..k * 7 + 7).map(ev).collect();
            log.append_batch(&batch).unwrap();
        }
        log.close().unwrap();
    }
    {
        let a = Log::open(
            &path,
            opts(Framing::Binary, Durability::Sync).lock(LockMode::Shared),
        )
        .unwrap();
        let b = Log::open(
            &path,
            opts(Framing::Binary, Durability::Sync).lock(LockMode::Shared),
        )
        .unwrap();
        let ha = a.append_batch(&[ev(70), ev(71)]).unwrap();
        let hb = b.append_batch(&[ev(72), ev(73)]).unwrap();
        let ha2 = a.append_batch(&[ev(74)]).unwrap();
        assert_eq!(ha[1].seq, 72);
        assert_eq!(hb[1].seq, 74);
        assert_eq!(ha2[0].seq, 75);
    }
    let got = entries(&path);
    assert_eq!(got.len(), 75);
    for (k, e) in got.iter().enumerate() {
        assert_eq!(e.details["i"], json!(k), "entry {}", e.seq);
    }
    assert!(verify(&path, &VerifyOptions::default()).unwrap().valid);
}

/// Storage that writes only the first `cut` bytes of the next large write
/// and then "loses power": every later call fails, nothing is rolled back.
struct TearOnce {
    inner: FileStorage,
    cut: usize,
    torn: Arc<AtomicBool>,
}

impl Storage for TearOnce {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        if self.torn.load(Ordering::SeqCst) {
            return Err(io::Error::other("power is off"));
        }
        if buf.len() > self.cut {
            self.inner.append(&buf[..self.cut])?;
            self.torn.store(true, Ordering::SeqCst);
            return Err(io::Error::other("power cut during the write"));
        }
        self.inner.append(buf)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        if self.torn.load(Ordering::SeqCst) {
            return Err(io::Error::other("power is off"));
        }
        self.inner.truncate(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        if self.torn.load(Ordering::SeqCst) {
            return Err(io::Error::other("power is off"));
        }
        self.inner.sync_data()
    }
}

#[test]
fn a_batch_torn_by_a_crash_leaves_a_prefix_of_valid_records_and_no_ack() {
    for framing in [Framing::Jsonl, Framing::Binary] {
        for cut in [1usize, 150, 1000, 2345, 4000] {
            let dir = scratch();
            let path = dir.path().join(match framing {
                Framing::Jsonl => "t.log",
                Framing::Binary => "t.evl",
            });
            {
                let log = Log::open(&path, opts(framing, Durability::Sync)).unwrap();
                log.append_batch(&[ev(0), ev(1)]).unwrap();
            }
            let before = std::fs::metadata(&path).unwrap().len();
            let torn = Arc::new(AtomicBool::new(false));
            let mut o = opts(framing, Durability::Sync);
            let t2 = torn.clone();
            o = o.storage_hook(Arc::new(move |fs: FileStorage| -> Box<dyn Storage> {
                Box::new(TearOnce {
                    inner: fs,
                    cut,
                    torn: t2.clone(),
                })
            }));
            let log = Log::open(&path, o).unwrap();
            let batch: Vec<Event> = (2..32).map(ev).collect();
            assert!(log.append_batch(&batch).is_err(), "cut {cut}");
            assert!(torn.load(Ordering::SeqCst));
            assert!(log.append(&ev(99)).is_err());
            drop(log);
            assert_eq!(std::fs::metadata(&path).unwrap().len(), before + cut as u64);

            // Reopen: the complete records of the batch stay as valid,
            // linked records; the torn rest goes into a sidecar.
            let log = Log::open(&path, opts(framing, Durability::Sync)).unwrap();
            let head = log.head();
            assert!(
                (2..=31).contains(&head.seq),
                "{framing:?} cut {cut}: {head:?}"
            );
            let moved: u64 = log.recovery().torn.iter().map(|t| t.len).sum();
            log.append(&ev(head.seq as usize)).unwrap();
            log.close().unwrap();
            let got = entries(&path);
            assert_eq!(got.len() as u64, head.seq + 1);
            for (k, e) in got.iter().enumerate() {
                assert_eq!(e.details["i"], json!(k));
            }
            assert!(verify(&path, &VerifyOptions::default()).unwrap().valid);
            // Every byte of the torn write is kept: in the log or a sidecar.
            let side: u64 = sidecars(&path)
                .iter()
                .map(|p| std::fs::metadata(p).unwrap().len())
                .sum();
            assert_eq!(side, moved);
        }
    }
}

#[test]
fn details_json_is_written_as_given_when_canonical_and_canonicalised_otherwise() {
    let dir = scratch();
    let path = dir.path().join("d.log");
    let log = Log::open(&path, opts(Framing::Jsonl, Durability::Buffered)).unwrap();
    let texts = [
        (r#"{"a":1,"b":[2.5,"x"]}"#, r#"{"a":1,"b":[2.5,"x"]}"#),
        (r#"{"b": 1, "a": 2}"#, r#"{"a":2,"b":1}"#),
        (r#"{"a":1e-05}"#, r#"{"a":0.00001}"#),
        ("null", "null"),
        (r#""\u00e9""#, "\"\u{e9}\""),
    ];
    let mut batch = Vec::new();
    for (given, _) in texts {
        let mut e = Event::new("T", "a");
        e.details_json = Some(given.into());
        batch.push(e);
    }
    log.append_batch(&batch).unwrap();
    let mut both = Event::new("T", "a");
    both.details = Some(json!({}));
    both.details_json = Some("{}".into());
    assert!(matches!(log.append(&both), Err(Error::InvalidArgument(_))));
    let mut deep = Event::new("T", "a");
    deep.details_json = Some(format!("{}{}", "[".repeat(128), "]".repeat(128)));
    assert!(matches!(log.append(&deep), Err(Error::InvalidArgument(_))));
    deep.details_json = Some(format!("{}{}", "[".repeat(127), "]".repeat(127)));
    log.append(&deep).unwrap();
    log.close().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for (k, (_, want)) in texts.iter().enumerate() {
        let line = text.lines().nth(k + 1).unwrap();
        assert!(
            line.contains(&format!(",\"details\":{want},\"hash\"")),
            "{line}"
        );
    }
    assert!(verify(&path, &VerifyOptions::default()).unwrap().valid);
}

/// An append that returned `Ok` while another thread closed the log is in
/// the closed log (close flushes and marks the log closed in one step).
#[test]
fn appends_racing_close_are_never_lost() {
    for round in 0..20 {
        // On a real disk: a slow fsync inside close widens the window.
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let path = dir.path().join("c.log");
        let log = Arc::new(Log::open(&path, opts(Framing::Jsonl, Durability::Buffered)).unwrap());
        let acked = Arc::new(std::sync::Mutex::new(0u64));
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let (log, acked) = (log.clone(), acked.clone());
                std::thread::spawn(move || loop {
                    match log.append(&ev(1)) {
                        Ok(h) => {
                            let mut a = acked.lock().unwrap();
                            *a = (*a).max(h.seq);
                        }
                        Err(Error::Closed { .. }) => return,
                        Err(e) => panic!("{e}"),
                    }
                })
            })
            .collect();
        while *acked.lock().unwrap() < 200 {
            std::thread::yield_now();
        }
        log.close().unwrap();
        for t in threads {
            t.join().unwrap();
        }
        let max = *acked.lock().unwrap();
        let n = entries(&path).len() as u64;
        assert!(
            n >= max,
            "round {round}: {n} entries in the log, seq {max} acknowledged"
        );
    }
}

/// A disk whose fsync takes 20 ms, so that appenders overlap.
struct SlowSync(Counting);

impl Storage for SlowSync {
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
        std::thread::sleep(std::time::Duration::from_millis(20));
        self.0.sync_data()
    }
}

/// With a commit delay, concurrent group-commit appenders share fsyncs, and
/// every acknowledged entry is durable and in order.
#[test]
fn commit_delay_gathers_appenders_into_one_fsync() {
    let dir = scratch();
    let path = dir.path().join("g.log");
    let syncs = Arc::new(AtomicUsize::new(0));
    let writes = Arc::new(AtomicUsize::new(0));
    let mut o = opts(Framing::Jsonl, Durability::GroupCommit)
        .commit_delay(std::time::Duration::from_millis(50));
    let (s2, w2) = (syncs.clone(), writes.clone());
    o = o.storage_hook(Arc::new(move |fs: FileStorage| -> Box<dyn Storage> {
        Box::new(SlowSync(Counting {
            inner: fs,
            syncs: s2.clone(),
            writes: w2.clone(),
        }))
    }));
    let log = Arc::new(Log::open(&path, o).unwrap());
    let s0 = syncs.load(Ordering::SeqCst);
    let barrier = Arc::new(std::sync::Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (log, barrier) = (log.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (0..3)
                    .map(|i| log.append(&ev(t * 3 + i)).unwrap().seq)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=24).collect::<Vec<_>>());
    let n = syncs.load(Ordering::SeqCst) - s0;
    assert!(n < 24, "{n} fsyncs for 24 appends: none was shared");
    log.close().unwrap();
    assert!(verify(&path, &VerifyOptions::default()).unwrap().valid);
}
