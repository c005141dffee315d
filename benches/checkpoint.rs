//! Criterion benchmarks of signed checkpoints (spec/checkpoints.md).
//!
//! - `prove`: inclusion and consistency proof generation on a log of N
//!   entries (from the stored tree: O(log n) reads), and their verification
//!   (Merkle path alone, and with the checkpoint's Ed25519 signature).
//! - `checkpoint`: signing a checkpoint after 1,000 appends (the cost per
//!   append is a thousandth of it).
//! - `incremental`: verifying the 1,000 entries appended after a trusted
//!   checkpoint of the N-entry log, against a full check of the same log.
//!
//! - `auto`: the cost per append of automatic checkpoints
//!   (`OpenOptions::checkpoint`, every 1,000 entries, `Buffered`) against
//!   none, measured in alternating rounds (printed), and with criterion.
//!
//! Environment: `EVIDENT_BENCH_CP_ENTRIES` (default 1,000,000; entries
//! carry ~200 bytes of details, ~550 bytes per JSONL record, so 2,000,000
//! make a 1 GB log; 0 skips the groups that need the big log);
//! `EVIDENT_BENCH_CP_SMALL=1` writes entries without details (~340 bytes
//! per record: 10,000,000 make a 3.4 GB log); `EVIDENT_BENCH_DIR` (default:
//! a temporary directory).

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use evident::checkpoint::{
    self, merkle, AutoCheckpoint, CheckOptions, CheckpointOptions, KeyType, NoteSigner,
    SignedCheckpoint,
};
use evident::{Durability, Event, Log, OpenOptions};

fn event(i: u64) -> Event {
    if std::env::var_os("EVIDENT_BENCH_CP_SMALL").is_some() {
        return Event::new("ACTION_EXECUTED", "acquire_trace").session("sess-4f1c2a");
    }
    Event::new("ACTION_EXECUTED", "acquire_trace")
        .session("sess-4f1c2a")
        .details(serde_json::json!({
            "instrument": "HPLC-07",
            "method": "assay-v3",
            "file": "/data/run-0042/trace.bin",
            "sample": format!("S-{i:06}"),
            "params": {"flow_ml_min": 1.0, "temp_c": 30.5, "wavelength_nm": 254},
            "result": {"peaks": 12, "area": 18342.77},
        }))
}

fn append(path: &Path, from: u64, to: u64) {
    let log = Log::open(path, OpenOptions::new().durability(Durability::Buffered)).unwrap();
    for i in from..to {
        log.append(&event(i)).unwrap();
    }
    log.close().unwrap();
}

fn key() -> NoteSigner {
    NoteSigner::from_seed("bench.example/log", KeyType::Ed25519, [5; 32])
}

struct Setup {
    _tmp: Option<tempfile::TempDir>,
    log: PathBuf,
    n: u64,
    cp: SignedCheckpoint,
}

fn setup() -> Setup {
    let n: u64 = std::env::var("EVIDENT_BENCH_CP_ENTRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let (tmp, dir) = match std::env::var("EVIDENT_BENCH_DIR") {
        Ok(d) => (None, PathBuf::from(d)),
        Err(_) => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let log = dir.join(format!("checkpoint-{n}.jsonl"));
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(checkpoint::tree::tree_path(&log));
    let t = std::time::Instant::now();
    append(&log, 0, n);
    eprintln!(
        "log of {n} entries, {} MB, written in {:.1?}",
        std::fs::metadata(&log).unwrap().len() >> 20,
        t.elapsed()
    );
    let t = std::time::Instant::now();
    let cp = checkpoint::create(&log, &key(), &CheckpointOptions::default()).unwrap();
    eprintln!(
        "first checkpoint (stored tree built from the log): {:.1?}, tree {} MB",
        t.elapsed(),
        std::fs::metadata(checkpoint::tree::tree_path(&log))
            .unwrap()
            .len()
            >> 20
    );
    Setup {
        _tmp: tmp,
        log,
        n,
        cp,
    }
}

/// Appends `n` entries to `log`; returns the time taken.
fn timed_appends(log: &Log, from: u64, n: u64) -> Duration {
    let t = std::time::Instant::now();
    for i in from..from + n {
        log.append(&event(i)).unwrap();
    }
    t.elapsed()
}

fn auto_benches(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let open = |name: &str, auto: bool| {
        let mut o = OpenOptions::new().durability(Durability::Buffered);
        if auto {
            o = o.checkpoint(AutoCheckpoint::new(key()).every_entries(1000));
        }
        Log::open(tmp.path().join(name), o).unwrap()
    };
    let (none, auto) = (open("none.jsonl", false), open("auto.jsonl", true));
    // Alternating rounds of 20,000 appends each (the machine is shared).
    let (mut tn, mut ta) = (Vec::new(), Vec::new());
    let mut at = 0;
    for _ in 0..7 {
        tn.push(timed_appends(&none, at, 20_000));
        ta.push(timed_appends(&auto, at, 20_000));
        at += 20_000;
    }
    tn.sort();
    ta.sort();
    let per = |d: Duration| d.as_nanos() as f64 / 20_000.0;
    eprintln!(
        "auto checkpoints every 1000 (Buffered), median of 7 alternating rounds of 20,000 appends: none {:.0} ns/append, auto {:.0} ns/append, ratio {:.2}, checkpoint cost {:.0} ns/append amortised",
        per(tn[3]),
        per(ta[3]),
        per(ta[3]) / per(tn[3]),
        per(ta[3]) - per(tn[3])
    );
    assert!(auto.checkpoint_error().is_none());
    let mut g = c.benchmark_group("auto");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for (name, log) in [("none", &none), ("every_1000", &auto)] {
        g.bench_function(format!("append_1000_buffered/{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += timed_appends(log, at, 1000);
                    at += 1000;
                }
                total
            })
        });
    }
    g.finish();
    none.close().unwrap();
    auto.close().unwrap();
}

fn benches(c: &mut Criterion) {
    if std::env::var("EVIDENT_BENCH_CP_ENTRIES").as_deref() == Ok("0") {
        return;
    }
    let s = setup();
    let n = s.n;
    let vk = key().verifier();
    let mut g = c.benchmark_group("prove");
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    let mut seq = 1u64;
    g.bench_function(format!("inclusion_proof_gen/{n}"), |b| {
        b.iter(|| {
            seq = (seq * 6_364_136_223_846_793_005 + 1) % (n + 1);
            checkpoint::prove_inclusion(&s.log, seq, &s.cp, None).unwrap()
        })
    });
    let p = checkpoint::prove_inclusion(&s.log, n / 3, &s.cp, None).unwrap();
    let leaf = merkle::leaf_hash(&p.body);
    g.bench_function(format!("inclusion_verify_path/{n}"), |b| {
        b.iter(|| {
            merkle::verify_inclusion(
                p.index,
                s.cp.checkpoint.size,
                &leaf,
                &p.hashes,
                &s.cp.checkpoint.root,
            )
            .unwrap()
        })
    });
    g.bench_function(format!("inclusion_verify_with_signature/{n}"), |b| {
        b.iter(|| p.verify(&vk, None).unwrap())
    });
    let old = checkpoint::Checkpoint {
        size: n / 2,
        root: {
            // The root at n/2 from a proof-free source: the stored tree.
            let leaves = checkpoint::tree::LogLeaves::open(&s.log, None).unwrap();
            let (mut t, _) = checkpoint::tree::StoredTree::open_updated(&leaves).unwrap();
            merkle::root(&mut t, n / 2).unwrap()
        },
        ..s.cp.checkpoint.clone()
    };
    g.bench_function(format!("consistency_proof_gen/{n}"), |b| {
        b.iter(|| checkpoint::prove_consistency(&s.log, &old, &s.cp, None).unwrap())
    });
    let cproof = checkpoint::prove_consistency(&s.log, &old, &s.cp, None).unwrap();
    g.bench_function(format!("consistency_verify_path/{n}"), |b| {
        b.iter(|| {
            merkle::verify_consistency(
                old.size,
                s.cp.checkpoint.size,
                &cproof.hashes,
                &old.root,
                &s.cp.checkpoint.root,
            )
            .unwrap()
        })
    });
    g.finish();

    // 1,000 new entries after the checkpoint.
    append(&s.log, n, n + 1000);
    let mut g = c.benchmark_group("incremental");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    let opts = CheckOptions::default();
    g.bench_function(format!("verify_1000_new/{n}"), |b| {
        b.iter(|| {
            let r = checkpoint::verify_incremental(&s.log, &s.cp, &vk, &opts).unwrap();
            assert!(r.valid && r.mode == "incremental", "{r:?}");
        })
    });
    g.bench_function(format!("full_check_against_checkpoint/{n}"), |b| {
        b.iter(|| {
            let r = checkpoint::verify_against(&s.log, &s.cp, &vk, &opts).unwrap();
            assert!(r.valid);
        })
    });
    g.finish();

    let mut g = c.benchmark_group("checkpoint");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    let mut at = n + 1000;
    g.bench_function("sign_after_1000_appends", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                append(&s.log, at, at + 1000);
                at += 1000;
                let t = std::time::Instant::now();
                checkpoint::create(&s.log, &key(), &CheckpointOptions::default()).unwrap();
                total += t.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(checkpoint_benches, auto_benches, benches);
criterion_main!(checkpoint_benches);
