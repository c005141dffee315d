//! Verify's memory is bounded independently of the file's size and
//! content (issue 9, finding 11): a counting global allocator measures the
//! peak of live heap bytes while verifying a 64 MiB log full of bad lines
//! with 1, 2 and 8 threads.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use evident::{verify, Framing, Log, OpenOptions, VerifyOptions, ViolationKind};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            if new > l.size() {
                let now = LIVE.fetch_add(new - l.size(), Relaxed) + new - l.size();
                PEAK.fetch_max(now, Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn verify_memory_does_not_grow_with_bad_lines_or_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    let log = Log::open(&path, OpenOptions::new().framing(Framing::Jsonl)).unwrap();
    log.close().unwrap();
    drop(log);
    // A readable record for the end (from another log: after unreadable
    // lines its link is not checked, spec § 9.4).
    let other = dir.path().join("other.jsonl");
    let log = Log::open(&other, OpenOptions::new().framing(Framing::Jsonl)).unwrap();
    log.append(&evident::Event::new("T", "a")).unwrap();
    log.close().unwrap();
    drop(log);
    let text = std::fs::read(&other).unwrap();
    let entry = text
        .split_inclusive(|&c| c == b'\n')
        .nth(1)
        .unwrap()
        .to_vec();
    let size = 64usize << 20;
    {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        let block = b"{\"a\":1}\n".repeat(64 << 10);
        let mut written = 0;
        while written < size {
            f.write_all(&block).unwrap();
            written += block.len();
        }
        // A readable record at the end, so that the bad lines are damage
        // in the middle, not a torn tail.
        f.write_all(&entry).unwrap();
    }
    let lines = (size / 8) as u64;
    let bound = 40usize << 20;
    for (threads, all) in [(1, true), (2, true), (8, false), (8, true)] {
        PEAK.store(LIVE.load(Relaxed), Relaxed);
        let base = LIVE.load(Relaxed);
        let r = verify(&path, &VerifyOptions::default().threads(threads).all(all)).unwrap();
        let peak = PEAK.load(Relaxed) - base;
        assert!(!r.valid);
        assert_eq!(r.entries, 1);
        assert_eq!(r.violations_total, lines, "threads {threads}");
        assert_eq!(r.violations[0].kind, ViolationKind::Malformed);
        assert_eq!(r.violations.len(), if all { 10_000 } else { 1 });
        assert!(
            peak < bound,
            "threads {threads} all {all}: peak heap {} MiB for a {} MiB file",
            peak >> 20,
            size >> 20
        );
        eprintln!("threads {threads} all {all}: peak heap {} MiB", peak >> 20);
    }
}

/// Reading backward checks every position of the last frame where another
/// frame could end (spec § 8 rule 5): a CRC-valid frame of 4 MiB of zero
/// bytes has a candidate at every byte, and they must not be collected
/// (16 bytes each: 64 MiB) but visited one at a time.
#[test]
fn backward_reading_memory_does_not_grow_with_candidate_frame_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zeros.evl");
    let log = Log::open(&path, OpenOptions::new().framing(Framing::Binary)).unwrap();
    log.append(&evident::Event::new("T", "a")).unwrap();
    log.close().unwrap();
    drop(log);
    let body = vec![0u8; 4 << 20];
    let mut f = Vec::with_capacity(body.len() + 48);
    f.extend_from_slice(&(body.len() as u32).to_le_bytes());
    f.extend_from_slice(&32u16.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    f.extend_from_slice(&body);
    f.extend_from_slice(&[0u8; 32]);
    let crc = crc32fast::hash(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    f.extend_from_slice(&(f.len() as u32 + 4).to_le_bytes());
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(&f)
        .unwrap();
    drop((body, f));
    let q = evident::Query::last(1);
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let got: Vec<_> = evident::query(&path, &q).unwrap().collect();
    let peak = PEAK.load(Relaxed) - before;
    // The frame is unreadable (its body is not JSON): damage, then the entry.
    assert!(got.iter().any(|r| r.is_ok()), "{got:?}");
    assert!(peak < 24 << 20, "peak {} MiB", peak >> 20);
}
