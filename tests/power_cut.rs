//! Power-cut tests: a log cut at every byte offset (and at random offsets
//! of a bigger log), zero-filled tails, and etcd-style repair round trips
//! (tear the tail, reopen, append again, reopen, re-read every entry).
//!
//! After any cut, `Log::open` must succeed, move exactly the bytes after
//! the last complete record into one sidecar, resume the chain at the last
//! complete entry (seq and hash as returned by `append` while writing),
//! and accept new entries; verify then finds a valid chain.

mod support;

use std::fs;
use std::path::Path;

use evident::{verify, Entry, Error, Log, Order, Query, Repair, ViolationKind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::*;

/// What a cut at `off` must leave: the number of complete entries and the
/// end of the last complete record.
fn complete_before(b: &Built, off: u64) -> (usize, u64) {
    // Records 1..=n; record k is complete when its end <= off.
    let mut k = 0;
    while k < b.n() && b.end(k + 1) <= off {
        k += 1;
    }
    (k, b.end(k))
}

/// Cuts `b` at `off` into `dir`, opens, checks the recovery, appends one
/// entry and verifies. Returns the number of complete entries.
fn cut_and_check(b: &Built, dir: &Path, off: u64, verify_every: bool) -> usize {
    let cfg = b.cfg;
    let ctx = format!("{cfg:?} cut at {off} of {}", b.len());
    let path = write_case(dir, cfg.file_name(), &b.bytes[..off as usize]);
    let (complete, boundary) = complete_before(b, off);

    let log = Log::open(&path, cfg.open_opts()).unwrap_or_else(|e| panic!("{ctx}: open: {e}"));
    assert_eq!(log.head(), b.head(complete), "{ctx}: resumed head");
    let rec = log.recovery();
    assert!(!rec.created, "{ctx}");
    if off == boundary {
        assert!(rec.torn.is_empty(), "{ctx}: no torn tail expected");
        assert!(sidecars(&path).is_empty(), "{ctx}");
    } else {
        assert_eq!(rec.torn.len(), 1, "{ctx}: one torn tail expected");
        let t = &rec.torn[0];
        assert_eq!(t.offset, boundary, "{ctx}: torn offset");
        assert_eq!(t.len, off - boundary, "{ctx}: torn length");
        assert_eq!(sidecars(&path), vec![t.sidecar.clone()], "{ctx}: sidecar");
        assert_eq!(
            fs::read(&t.sidecar).unwrap(),
            &b.bytes[boundary as usize..off as usize],
            "{ctx}: the sidecar holds exactly the cut-off bytes"
        );
        let name = t
            .sidecar
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with(&format!("{}.torn-", cfg.file_name()))
                && name.ends_with(&format!("-at-{boundary}")),
            "{ctx}: sidecar name {name}"
        );
    }
    assert_eq!(
        fs::read(&path).unwrap(),
        &b.bytes[..boundary as usize],
        "{ctx}: the log keeps every complete record, unchanged"
    );
    let h = log.append(&ev(10_000)).unwrap();
    assert_eq!(h.seq, complete as u64 + 1, "{ctx}");
    log.close().unwrap();
    drop(log);

    if verify_every || off == boundary || off == b.len() {
        // Valid, one more entry than survived the cut, and the head held
        // before the cut (the last complete entry) is in the repaired log.
        let r = verify(
            &path,
            &cfg.verify_opts().expected_head(b.expected_head(complete)),
        )
        .unwrap();
        assert!(r.valid, "{ctx}: {}", describe(&r));
        assert_eq!(r.entries, complete as u64 + 1, "{ctx}");
        assert_eq!(r.head(), Some(h), "{ctx}");
    }
    complete
}

fn every_offset(cfg: Cfg) {
    let dir = scratch();
    let b = build(dir.path(), cfg, 20);
    let cases = dir.path().join("cases");
    fs::create_dir(&cases).unwrap();
    let mut seen = vec![0usize; b.n() + 1];
    for off in b.end(0)..=b.len() {
        let complete = cut_and_check(&b, &cases, off, true);
        seen[complete] += 1;
    }
    // Every count of complete entries 0..=n occurred, once per byte of
    // the following record (and once for the full file).
    for (k, &count) in seen.iter().enumerate().take(b.n()) {
        assert_eq!(count as u64, b.end(k + 1) - b.start(k + 1), "{cfg:?}");
    }
    assert_eq!(seen[b.n()], 1);
}

#[test]
fn cut_at_every_offset_jsonl_sha256() {
    every_offset(CFGS[0]);
}

#[test]
fn cut_at_every_offset_jsonl_hmac_sha256() {
    every_offset(CFGS[1]);
}

#[test]
fn cut_at_every_offset_binary_sha256() {
    every_offset(CFGS[2]);
}

#[test]
fn cut_at_every_offset_binary_hmac_sha512() {
    every_offset(CFGS[3]);
}

/// A cut inside the genesis record (or the binary file header), including
/// an empty file, is not a log: open and verify refuse it with a clear
/// Malformed error and leave the file untouched.
#[test]
fn cut_inside_genesis_is_malformed() {
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 2);
        for off in 0..b.end(0) {
            let ctx = format!("{cfg:?} cut at {off} (genesis ends at {})", b.end(0));
            let cut = &b.bytes[..off as usize];
            let path = write_case(dir.path(), "cut.log", cut);
            match Log::open(&path, cfg.open_opts()) {
                Err(Error::Malformed { path: p, at, msg }) => {
                    assert_eq!(p, path, "{ctx}");
                    assert!(at.offset <= cfg.framing.data_start(), "{ctx}");
                    assert!(!msg.is_empty(), "{ctx}");
                }
                Err(e) => panic!("{ctx}: expected Malformed, got {e:?}"),
                Ok(_) => panic!("{ctx}: opened a log without a complete genesis"),
            }
            assert_eq!(fs::read(&path).unwrap(), cut, "{ctx}: file changed");
            assert!(sidecars(&path).is_empty(), "{ctx}");
            let r = verify(&path, &cfg.verify_opts()).unwrap();
            assert!(!r.valid, "{ctx}");
            assert_eq!(r.violations.len(), 1, "{ctx}: {}", describe(&r));
            let v = &r.violations[0];
            assert_eq!(v.kind, ViolationKind::Malformed, "{ctx}: {v}");
            assert_eq!(v.seq, Some(0), "{ctx}");
            assert!(evident::query(&path, &Query::default()).is_err(), "{ctx}");
        }
    }
}

/// Random cuts of a log of a few thousand entries.
#[test]
fn cut_at_random_offsets_of_a_big_log() {
    let mut rng = StdRng::seed_from_u64(0x05ee_dc07);
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 3000);
        let cases = dir.path().join("cases");
        fs::create_dir(&cases).unwrap();
        for i in 0..60 {
            let off = match i {
                0 => b.end(0),
                1 => b.len(),
                2 => b.len() - 1,
                3 => b.start(b.n()),
                4 => b.start(1500) + 1,
                _ => rng.gen_range(b.end(0)..=b.len()),
            };
            // Verify a third of the cases in full (hashing the whole log
            // each time); the others check head, sidecar and bytes.
            cut_and_check(&b, &cases, off, i % 3 == 0);
        }
    }
}

/// Power cut after the file was extended but before the data reached the
/// disk: the tail reads as zeros. Open treats it as a torn tail.
#[test]
fn zero_filled_tail_is_a_torn_tail() {
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 12);
        let n = b.n();
        // (description, file contents, complete entries left)
        let mut cases: Vec<(String, Vec<u8>, usize)> = Vec::new();
        for zeros in [1usize, 7, 8, 9, 31, 512, 4096, 2 << 20] {
            let mut v = b.bytes.clone();
            v.resize(v.len() + zeros, 0);
            cases.push((format!("{zeros} zero bytes appended"), v, n));
        }
        let mut v = b.bytes.clone();
        v[b.start(n) as usize..].fill(0);
        cases.push(("last record zeroed".into(), v, n - 1));
        let mut v = b.bytes.clone();
        v[b.start(n) as usize..b.len() as usize - 1].fill(0);
        cases.push(("last record zeroed but its last byte".into(), v, n - 1));
        let mut v = b.bytes.clone();
        v[b.start(n - 2) as usize..].fill(0);
        v.resize(v.len() + 1000, 0);
        cases.push(("last three records zeroed and more".into(), v, n - 3));
        let mut v = b.bytes.clone();
        let mid = (b.start(n) + b.end(n)) as usize / 2;
        v[mid..].fill(0);
        cases.push(("second half of the last record zeroed".into(), v, n - 1));

        for (what, bytes, complete) in cases {
            let ctx = format!("{cfg:?}: {what}");
            let path = write_case(dir.path(), "z.log", &bytes);
            let boundary = b.end(complete);
            let r = verify(&path, &cfg.verify_all()).unwrap();
            assert_eq!(r.violations.len(), 1, "{ctx}: {}", describe(&r));
            let v = &r.violations[0];
            assert_eq!(
                (v.kind, v.offset, v.line),
                (ViolationKind::TornTail, boundary, cfg.line_of(complete + 1)),
                "{ctx}: {v}"
            );
            assert!(r.only_torn_tail());
            assert_eq!(r.entries, complete as u64, "{ctx}");

            let log = Log::open(&path, cfg.open_opts()).unwrap();
            assert_eq!(log.head(), b.head(complete), "{ctx}");
            let torn = log.recovery().torn;
            assert_eq!(torn.len(), 1, "{ctx}");
            assert_eq!(torn[0].offset, boundary, "{ctx}");
            assert_eq!(torn[0].len, bytes.len() as u64 - boundary, "{ctx}");
            assert_eq!(
                fs::read(&torn[0].sidecar).unwrap(),
                &bytes[boundary as usize..],
                "{ctx}"
            );
            let h = log.append(&ev(99)).unwrap();
            log.close().unwrap();
            drop(log);
            let r = verify(&path, &cfg.verify_opts()).unwrap();
            assert!(r.valid, "{ctx}: {}", describe(&r));
            assert_eq!(r.head(), Some(h));
            assert_eq!(r.entries, complete as u64 + 1);
        }
    }
}

/// Appends `count` entries to the log at `path`, returning them as read
/// back (checked against the heads `append` returned).
fn append_more(path: &Path, cfg: Cfg, first: usize, count: usize) -> Vec<evident::Head> {
    let log = Log::open(path, cfg.open_opts()).unwrap();
    let heads = (first..first + count)
        .map(|i| log.append(&ev(i)).unwrap())
        .collect();
    log.close().unwrap();
    heads
}

/// Checks an entry read back against the event and head it was written with.
fn assert_entry(e: &Entry, i: usize, head: &evident::Head, ctx: &str) {
    let want = ev(i);
    assert_eq!(e.seq, head.seq, "{ctx}");
    assert_eq!(e.hash, head.hash.to_hex(), "{ctx}");
    assert_eq!(e.action, want.action, "{ctx}");
    assert_eq!(e.session_id, want.session_id, "{ctx}");
    assert_eq!(Some(&e.details), want.details.as_ref(), "{ctx}");
    assert_eq!((e.actor.as_str(), e.host.as_str()), ("alice", "lab1"));
}

/// Reads every entry oldest-first and newest-first and compares both with
/// `want`.
fn assert_reads(path: &Path, want: &[Entry], ctx: &str) {
    let fwd = read_all(path);
    assert_eq!(fwd.len(), want.len(), "{ctx}: entry count oldest-first");
    for (a, w) in fwd.iter().zip(want) {
        assert_eq!(a, w, "{ctx}: oldest-first");
    }
    let back: Vec<Entry> = read_items(path, Order::NewestFirst)
        .into_iter()
        .collect::<evident::Result<_>>()
        .unwrap();
    let mut rev = want.to_vec();
    rev.reverse();
    assert_eq!(back, rev, "{ctx}: newest-first");
}

type Corrupt = fn(&Built, &mut Vec<u8>) -> usize;

/// etcd's `testRepair`: write, corrupt, open (repairs the tail), append
/// ten more, close, reopen, read everything back in both orders.
fn repair_round_trip(cfg: Cfg, n: usize, what: &str, corrupt: Corrupt) {
    repair_round_trip_with(cfg, n, what, corrupt, Repair::No)
}

fn repair_round_trip_with(cfg: Cfg, n: usize, what: &str, corrupt: Corrupt, repair: Repair) {
    let ctx = format!("{cfg:?}: {what}");
    let dir = scratch();
    let b = build(dir.path(), cfg, n);
    let original = read_all(&b.path);
    assert_eq!(original.len(), n);
    let mut bytes = b.bytes.clone();
    let complete = corrupt(&b, &mut bytes);
    fs::write(&b.path, &bytes).unwrap();

    // Before any repair, readers return the complete entries and never a
    // partial record (a damaged complete JSONL line at the tail may be
    // reported as an error).
    for order in [Order::OldestFirst, Order::NewestFirst] {
        let mut got: Vec<Entry> = read_items(&b.path, order)
            .into_iter()
            .filter_map(|r| r.ok())
            .collect();
        if order == Order::NewestFirst {
            got.reverse();
        }
        assert_eq!(got, &original[..complete], "{ctx} (torn, {order:?})");
    }

    if repair == Repair::Force {
        // Without the repair, open refuses: this is not what a crash leaves.
        match Log::open(&b.path, cfg.open_opts()) {
            Err(Error::Corrupt { .. }) => {}
            other => panic!("{ctx}: {other:?}"),
        }
    }
    let log = Log::open(&b.path, cfg.open_opts().repair(repair)).unwrap();
    assert_eq!(log.head(), b.head(complete), "{ctx}");
    let torn = log.recovery().torn;
    assert_eq!(torn.len(), 1, "{ctx}");
    assert_eq!(torn[0].offset, b.end(complete), "{ctx}");
    assert_eq!(
        fs::read(&torn[0].sidecar).unwrap(),
        &bytes[b.end(complete) as usize..]
    );
    log.close().unwrap();
    drop(log);

    let heads = append_more(&b.path, cfg, 1000, 10);
    // Reopen: nothing torn any more, chain continues.
    let log = Log::open(&b.path, cfg.open_opts()).unwrap();
    assert!(log.recovery().torn.is_empty(), "{ctx}");
    assert_eq!(log.head(), *heads.last().unwrap());
    log.close().unwrap();
    drop(log);

    let all = read_all(&b.path);
    assert_eq!(all.len(), complete + 10, "{ctx}");
    assert_eq!(&all[..complete], &original[..complete], "{ctx}");
    for (j, e) in all[complete..].iter().enumerate() {
        assert_entry(e, 1000 + j, &heads[j], &ctx);
    }
    assert_reads(&b.path, &all, &ctx);
    let r = verify(&b.path, &cfg.verify_opts()).unwrap();
    assert!(r.valid, "{ctx}: {}", describe(&r));
    assert_eq!(r.entries, complete as u64 + 10);
    assert_eq!(sidecars(&b.path).len(), 1);
}

#[test]
fn repair_truncate() {
    // etcd TestRepairTruncate: the last 4 bytes are lost.
    for cfg in CFGS {
        repair_round_trip(cfg, 10, "last 4 bytes cut", |b, v| {
            v.truncate(v.len() - 4);
            b.n() - 1
        });
    }
}

#[test]
fn repair_write_tear_last() {
    // etcd TestRepairWriteTearLast: a write that straddled two sectors;
    // the file was cut at a sector boundary then extended (zero-filled)
    // to its length.
    for cfg in CFGS {
        repair_round_trip(cfg, 50, "torn across a sector boundary", |b, v| {
            // Lost pages were never synced: the lock file's synced length
            // (here the whole log, written at close) would say otherwise,
            // and bytes before it that look torn are damage (spec § 10.3 B
            // rule 4). As after a real power cut, it is older: none here.
            fs::remove_file(format!("{}.lock", b.path.display())).unwrap();
            let len = v.len();
            let sector = (b.start(40) as usize / 512 + 1) * 512;
            assert!(sector < len);
            v.truncate(sector);
            v.resize(len, 0);
            b.record_at(sector as u64) - 1
        });
    }
}

#[test]
fn repair_tear_then_garbage() {
    for cfg in CFGS {
        // Non-zero garbage after a tear is not what an interrupted write or a
        // lost page leaves (spec § 9.5): damage, moved aside only on request.
        let garbage: Corrupt = |b, v| {
            let n = b.n();
            v.truncate((b.start(n) + b.end(n)) as usize / 2);
            v.extend_from_slice(b"\xff\xfe garbage \n{\"v\":1,\"seq\":");
            n - 1
        };
        // (In a binary log the garbage stands where the rest of the torn
        // frame would be: that is a torn tail.)
        let repair = match cfg.framing {
            evident::Framing::Jsonl => Repair::Force,
            evident::Framing::Binary => Repair::No,
        };
        repair_round_trip_with(cfg, 20, "half a record then garbage", garbage, repair);
    }
}

/// etcd TestRepairWriteTearMiddle: a zeroed sector in the middle is damage,
/// not a torn tail: open does not repair it (the tail is intact), appends
/// continue the chain, verify reports the damaged record and nothing else,
/// and query reports it as an error between the intact entries.
#[test]
fn write_tear_middle_is_not_repaired() {
    for cfg in CFGS {
        let ctx = format!("{cfg:?}");
        let dir = scratch();
        let b = build(dir.path(), cfg, 30);
        let n = b.n();
        let original = read_all(&b.path);
        let mut bytes = b.bytes.clone();
        let sector = (b.start(10) as usize / 512 + 1) * 512;
        bytes[sector..sector + 512].fill(0);
        fs::write(&b.path, &bytes).unwrap();
        let first_bad = b.record_at(sector as u64);
        // The damaged span: JSONL until the first newline after the
        // sector; binary until the next intact frame.
        // The damaged span ends at the first newline after the sector
        // (JSONL) or at the next intact frame (binary).
        let j = b.record_at(sector as u64 + 512);
        let after_bad = match cfg.framing {
            evident::Framing::Binary if b.start(j) == sector as u64 + 512 => j,
            _ => j + 1,
        };

        let check = |entries: u64| {
            let r = verify(&b.path, &cfg.verify_all()).unwrap();
            assert_eq!(r.violations.len(), 1, "{ctx}: {}", describe(&r));
            let v = &r.violations[0];
            assert_eq!(
                (v.kind, v.offset, v.line, v.seq),
                (
                    ViolationKind::Malformed,
                    b.start(first_bad),
                    cfg.line_of(first_bad),
                    None
                ),
                "{ctx}: {v}"
            );
            assert_eq!(r.entries, entries, "{ctx}");
        };
        let damaged = after_bad - first_bad;
        check((n - damaged) as u64);

        let log = Log::open(&b.path, cfg.open_opts()).unwrap();
        assert_eq!(log.head(), b.head(n), "{ctx}: tail intact, head kept");
        assert!(
            log.recovery().torn.is_empty(),
            "{ctx}: middle damage is not moved"
        );
        log.close().unwrap();
        drop(log);
        assert_eq!(fs::read(&b.path).unwrap(), bytes, "{ctx}: file untouched");
        let heads = append_more(&b.path, cfg, 500, 10);
        assert_eq!(heads[0].seq, n as u64 + 1);
        check((n - damaged + 10) as u64);

        for order in [Order::OldestFirst, Order::NewestFirst] {
            let mut items = read_items(&b.path, order);
            if order == Order::NewestFirst {
                items.reverse();
            }
            // Intact entries before and after, one error in between.
            assert_eq!(items.len(), n - damaged + 10 + 1, "{ctx} {order:?}");
            for (i, it) in items.iter().enumerate() {
                let k = i + 1; // seq of the entry expected at this position
                if k < first_bad {
                    assert_eq!(it.as_ref().unwrap(), &original[k - 1], "{ctx} {order:?}");
                } else if k == first_bad {
                    match it {
                        Err(Error::Malformed { at, .. }) => {
                            assert_eq!(at.offset, b.start(first_bad), "{ctx} {order:?}");
                        }
                        other => panic!("{ctx} {order:?}: expected an error, got {other:?}"),
                    }
                } else {
                    let seq = k - 1 + damaged;
                    let e = it.as_ref().unwrap();
                    assert_eq!(e.seq as usize, seq, "{ctx} {order:?}");
                    if seq <= n {
                        assert_eq!(e, &original[seq - 1]);
                    } else {
                        assert_entry(e, 500 + seq - n - 1, &heads[seq - n - 1], &ctx);
                    }
                }
            }
        }
    }
}

/// A cut, a repair, more appends, another cut, another repair: every
/// entry acknowledged before each cut survives, in order, with one
/// sidecar per repair.
#[test]
fn repeated_cuts_keep_every_complete_entry() {
    let mut rng = StdRng::seed_from_u64(77);
    for cfg in CFGS {
        let ctx = format!("{cfg:?}");
        let dir = scratch();
        let b = build(dir.path(), cfg, 5);
        let path = b.path.clone();
        let mut kept: Vec<Entry> = read_all(&path);
        for round in 0..8 {
            let heads = append_more(&path, cfg, 100 * (round + 1), 6);
            let all = read_all(&path);
            assert_eq!(all.len(), kept.len() + 6, "{ctx} round {round}");
            assert_eq!(&all[..kept.len()], &kept[..]);
            assert_eq!(all.last().unwrap().hash, heads[5].hash.to_hex());
            // Cut inside one of the last three records.
            let bytes = fs::read(&path).unwrap();
            let bounds = record_bounds(cfg.framing, &bytes);
            let m = bounds.len() - 2; // last record index
            let k = m - rng.gen_range(0..3usize);
            let off = rng.gen_range(bounds[k] + 1..bounds[k + 1]);
            fs::write(&path, &bytes[..off as usize]).unwrap();
            let log = Log::open(&path, cfg.open_opts()).unwrap();
            assert_eq!(log.head().seq, k as u64 - 1, "{ctx} round {round}");
            log.close().unwrap();
            drop(log);
            kept = all[..k - 1].to_vec();
            assert_reads(&path, &kept, &ctx);
            assert_eq!(sidecars(&path).len(), round + 1);
        }
        let r = verify(&path, &cfg.verify_opts()).unwrap();
        assert!(r.valid, "{ctx}: {}", describe(&r));
        assert_eq!(r.entries as usize, kept.len());
    }
}

/// Binary: a torn tail of 1 to 3 bytes right after the genesis made
/// `Backward` slice below its buffer (an arithmetic overflow panic in debug
/// builds) while opening.
#[test]
fn regression_tiny_tail_after_the_genesis() {
    for cfg in CFGS {
        let dir = scratch();
        let b = build(dir.path(), cfg, 1);
        for extra in 1..=5u64 {
            let off = b.end(0) + extra;
            let complete = cut_and_check(&b, dir.path(), off, true);
            assert_eq!(complete, 0);
        }
    }
}

/// Shared mode: another process crashed mid-append, leaving a torn tail
/// behind this writer's back. The next append notices the length change,
/// moves the torn bytes aside and continues the chain.
#[test]
fn shared_writer_moves_aside_a_tail_torn_by_another_process() {
    for cfg in CFGS {
        let ctx = format!("{cfg:?}");
        let dir = scratch();
        let b = build(dir.path(), cfg, 3);
        let log = Log::open(
            &b.path,
            cfg.open_opts()
                .lock(evident::LockMode::Shared)
                .durability(evident::Durability::Sync),
        )
        .unwrap();
        // The "other process": half of a record appended, no newline.
        let half = &b.record(2)[..b.record(2).len() / 2];
        let mut f = fs::OpenOptions::new().append(true).open(&b.path).unwrap();
        std::io::Write::write_all(&mut f, half).unwrap();
        drop(f);
        let h = log.append(&ev(50)).unwrap();
        assert_eq!(h.seq, 4, "{ctx}");
        let torn = log.recovery().torn;
        assert_eq!(torn.len(), 1, "{ctx}");
        assert_eq!((torn[0].offset, torn[0].len), (b.len(), half.len() as u64));
        assert_eq!(fs::read(&torn[0].sidecar).unwrap(), half);
        log.close().unwrap();
        drop(log);
        let r = verify(&b.path, &cfg.verify_opts()).unwrap();
        assert!(r.valid, "{ctx}: {}", describe(&r));
        assert_eq!(r.entries, 4);
    }
}
