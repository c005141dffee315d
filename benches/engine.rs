//! Criterion benchmarks of the core engine (see docs/benchmarks.md).
//!
//! Groups (filter with `cargo bench --bench engine -- <group>`):
//! - `append`: entries/s per durability mode, framing and thread count.
//! - `verify`: MB/s of `evident::verify` (all cores and 1 thread) against
//!   `sha256sum` of the same file, in the same run.
//! - `open` and `last10`: chain recovery (`Log::open` + `close`) and
//!   `query(path, &Query::last(10))` on logs of growing size.
//!
//! Environment:
//! - `EVIDENT_BENCH_MB`: size of the verify log in MB (default 64).
//! - `EVIDENT_BENCH_BIG=1`: add a 1 GB log to `open` and `last10`.
//! - `EVIDENT_BENCH_DIR`: where the generated logs are cached (default
//!   `<target>/tmp/evident-bench`); they are reused when present.
//!
//! At the end a summary with the ratios the targets are stated in is
//! printed (from criterion's estimates of this run).
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion, SamplingMode, Throughput};
use evident::{query, verify, Durability, Event, Framing, Log, OpenOptions, Query, VerifyOptions};

/// CPU time consumed so far by this process (all threads, user + system)
/// or by the calling thread.
fn cpu_time(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec to the valid pointer given.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// What a measurement reports: wall-clock time, or the CPU time the
/// process spent (an estimate of the rate on an otherwise idle machine for
/// CPU-bound work, since the benchmarks share the cores with other jobs).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clock {
    Wall,
    Cpu,
}

/// An event like an instrument's audit entry, with ~200 bytes of details.
fn event() -> Event {
    let details = serde_json::json!({
        "instrument": "HPLC-07",
        "method": "assay-v3",
        "file": "/data/run-0042/trace.bin",
        "sample": "S-000123",
        "params": {"flow_ml_min": 1.0, "temp_c": 30.5, "wavelength_nm": 254},
        "result": {"peaks": 12, "area": 18342.77},
    });
    Event::new("ACTION_EXECUTED", "acquire_trace")
        .session("sess-4f1c2a")
        .actor("analyst1")
        .source("bench")
        .details(details)
}

fn details_len() -> usize {
    event()
        .details
        .map(|d| serde_json::to_vec(&d).map(|v| v.len()).unwrap_or(0))
        .unwrap_or(0)
}

fn cache_dir() -> PathBuf {
    let dir = std::env::var_os("EVIDENT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("evident-bench"));
    std::fs::create_dir_all(&dir).expect("create bench cache dir");
    dir
}

fn ext(framing: Framing) -> &'static str {
    match framing {
        Framing::Jsonl => "jsonl",
        Framing::Binary => "evl",
    }
}

fn fname(framing: Framing) -> &'static str {
    match framing {
        Framing::Jsonl => "jsonl",
        Framing::Binary => "binary",
    }
}

fn mode_name(d: Durability) -> &'static str {
    match d {
        Durability::Sync => "sync",
        Durability::GroupCommit => "group_commit",
        Durability::Buffered => "buffered",
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut lock = path.as_os_str().to_owned();
    lock.push(".lock");
    PathBuf::from(lock)
}

fn remove_log(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(lock_path(path));
}

/// A valid log of at least `bytes` bytes, generated once (Buffered mode)
/// and reused from the cache directory afterwards.
fn cached_log(framing: Framing, bytes: u64) -> PathBuf {
    let mb = bytes / (1024 * 1024);
    let path = cache_dir().join(format!("log-{mb}mb.{}", ext(framing)));
    if path.exists() {
        return path;
    }
    let tmp = cache_dir().join(format!("generating-{mb}mb.{}", ext(framing)));
    remove_log(&tmp);
    eprintln!("generating {} ({mb} MB) ...", path.display());
    let t = Instant::now();
    let log = Log::open(
        &tmp,
        OpenOptions::new()
            .framing(framing)
            .durability(Durability::Buffered),
    )
    .expect("open generated log");
    let ev = event();
    let mut len = 0u64;
    let mut n = 0u64;
    while len < bytes {
        log.append(&ev).expect("append");
        n += 1;
        if n % 4096 == 0 {
            len = std::fs::metadata(&tmp).expect("stat").len();
        }
    }
    log.close().expect("close generated log");
    drop(log);
    let _ = std::fs::remove_file(lock_path(&tmp));
    std::fs::rename(&tmp, &path).expect("rename generated log");
    eprintln!(
        "generated {} entries in {:.1} s",
        n,
        t.elapsed().as_secs_f64()
    );
    path
}

/// Appends `iters` entries split over `threads` threads to a fresh log;
/// returns the time from the start barrier until every thread is done (the
/// final close/sync is not included; it is one fsync for the whole run).
/// With `Clock::Cpu`, returns the CPU time the process spent meanwhile.
fn timed_appends(
    dir: &Path,
    d: Durability,
    framing: Framing,
    threads: usize,
    iters: u64,
    clock: Clock,
) -> Duration {
    let path = dir.join(format!(
        "append-{}-{}-{}.{}",
        mode_name(d),
        threads,
        std::process::id(),
        ext(framing)
    ));
    remove_log(&path);
    let log = Arc::new(
        Log::open(&path, OpenOptions::new().framing(framing).durability(d)).expect("open log"),
    );
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads as u64)
        .map(|t| {
            let n = iters / threads as u64 + u64::from(t < iters % threads as u64);
            let log = Arc::clone(&log);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let ev = event();
                barrier.wait();
                for _ in 0..n {
                    log.append(&ev).expect("append");
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let cpu_start = cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID);
    for h in handles {
        h.join().expect("appender thread");
    }
    let elapsed = match clock {
        Clock::Wall => start.elapsed(),
        Clock::Cpu => cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID) - cpu_start,
    };
    log.close().expect("close");
    let head = log.head();
    assert_eq!(head.seq, iters, "every append is in the chain");
    drop(log);
    remove_log(&path);
    elapsed
}

fn bench_append(c: &mut Criterion) {
    let dir = cache_dir();
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(1));
    use Clock::{Cpu, Wall};
    let cases: &[(Durability, Framing, usize, Clock)] = &[
        (Durability::Sync, Framing::Jsonl, 1, Wall),
        (Durability::Sync, Framing::Jsonl, 8, Wall),
        (Durability::GroupCommit, Framing::Jsonl, 1, Wall),
        (Durability::GroupCommit, Framing::Jsonl, 8, Wall),
        (Durability::GroupCommit, Framing::Jsonl, 64, Wall),
        (Durability::GroupCommit, Framing::Binary, 8, Wall),
        (Durability::Buffered, Framing::Jsonl, 1, Wall),
        (Durability::Buffered, Framing::Jsonl, 1, Cpu),
        (Durability::Buffered, Framing::Jsonl, 8, Wall),
        (Durability::Buffered, Framing::Binary, 1, Wall),
        (Durability::Buffered, Framing::Binary, 1, Cpu),
        (Durability::Buffered, Framing::Binary, 8, Wall),
    ];
    for &(d, framing, threads, clock) in cases {
        if d == Durability::Buffered {
            g.sampling_mode(SamplingMode::Auto)
                .sample_size(20)
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(4));
        } else {
            // fsync-bound: a few ms per iteration at most.
            g.sampling_mode(SamplingMode::Flat)
                .sample_size(10)
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(5));
        }
        let id = BenchmarkId::new(
            format!("{}/{}", mode_name(d), fname(framing)),
            match clock {
                Wall => format!("{threads}t"),
                Cpu => format!("{threads}t_cputime"),
            },
        );
        g.bench_function(id, |b| {
            b.iter_custom(|iters| timed_appends(&dir, d, framing, threads, iters, clock))
        });
    }
    g.finish();
}

/// Prototypes of faster engine routines, used only to measure what the
/// changes proposed in docs/benchmarks.md would gain. Each is checked to
/// give exactly the engine's bytes before it is timed.
mod proto {
    use chrono::{DateTime, Datelike, Timelike, Utc};
    use evident::{Event, Hash};

    fn push_u64(out: &mut Vec<u8>, mut n: u64) {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        out.extend_from_slice(&buf[i..]);
    }

    fn push_2(out: &mut Vec<u8>, n: u32) {
        out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
    }

    /// RFC 3339, UTC, microseconds, `Z`, without allocating (chrono's
    /// formatter for the rare cases: years outside 0..=9999, leap seconds).
    fn push_ts(out: &mut Vec<u8>, ts: &DateTime<Utc>) {
        let (y, ns) = (ts.year(), ts.nanosecond());
        if !(0..=9999).contains(&y) || ns >= 1_000_000_000 {
            let s = evident::format::format_ts(ts);
            out.extend_from_slice(s.as_bytes());
            return;
        }
        let y = y as u32;
        push_2(out, y / 100);
        push_2(out, y % 100);
        out.push(b'-');
        push_2(out, ts.month());
        out.push(b'-');
        push_2(out, ts.day());
        out.push(b'T');
        push_2(out, ts.hour());
        out.push(b':');
        push_2(out, ts.minute());
        out.push(b':');
        push_2(out, ts.second());
        out.push(b'.');
        let us = ns / 1000;
        push_2(out, us / 10_000);
        push_2(out, us / 100 % 100);
        push_2(out, us % 100);
        out.push(b'Z');
    }

    /// serde_json escapes exactly `"`, `\` and bytes below 0x20; strings
    /// without them are copied as they are.
    fn push_json_str(out: &mut Vec<u8>, s: &str) {
        if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
        } else {
            let _ = serde_json::to_writer(&mut *out, s);
        }
    }

    fn push_field_str(out: &mut Vec<u8>, name: &str, value: &str) {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        push_json_str(out, value);
    }

    /// `format::encode_entry` for events without the optional RTGS fields.
    pub fn encode_entry(
        out: &mut Vec<u8>,
        seq: u64,
        prev: &Hash,
        ts: &DateTime<Utc>,
        ev: &Event,
        actor: &str,
        host: &str,
    ) {
        assert!(
            !ev.otr
                && ev.success.is_none()
                && ev.duration_ms.is_none()
                && ev.error.is_none()
                && ev.note.is_none()
                && ev.git_commit.is_none()
        );
        out.clear();
        out.extend_from_slice(b"{\"v\":");
        push_u64(out, u64::from(evident::format::FORMAT_VERSION));
        out.extend_from_slice(b",\"seq\":");
        push_u64(out, seq);
        out.extend_from_slice(b",\"prev\":\"");
        let start = out.len();
        out.resize(start + prev.as_bytes().len() * 2, 0);
        let _ = hex::encode_to_slice(prev.as_bytes(), &mut out[start..]);
        out.extend_from_slice(b"\",\"kind\":\"entry\",\"ts\":\"");
        push_ts(out, ts);
        out.push(b'"');
        push_field_str(out, "event_type", &ev.event_type);
        push_field_str(out, "action", &ev.action);
        push_field_str(out, "actor", actor);
        push_field_str(out, "host", host);
        push_field_str(out, "session_id", &ev.session_id);
        push_field_str(out, "source", &ev.source);
        out.extend_from_slice(b",\"details\":");
        match &ev.details {
            None => out.extend_from_slice(b"{}"),
            Some(v) => serde_json::to_writer(&mut *out, v).expect("details"),
        }
        out.push(b'}');
    }
}

/// Where an append's CPU time goes: its steps alone, in thread CPU time.
fn bench_append_parts(c: &mut Criterion) {
    use evident::format;
    let mut g = c.benchmark_group("append_parts");
    g.throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    let ev = event();
    let chain = evident::Chain::new(evident::HashAlg::Sha256, None).expect("chain");
    let prev = chain.hash(b"previous");
    let ts = chrono::Utc::now();
    let mut body = Vec::new();
    format::encode_entry(&mut body, 1, &prev, &ts, &ev, "analyst1", "host").expect("encode");
    let hash = chain.hash(&body);
    let thread_cpu = |iters: u64, f: &mut dyn FnMut()| {
        let t0 = cpu_time(libc::CLOCK_THREAD_CPUTIME_ID);
        for _ in 0..iters {
            f();
        }
        cpu_time(libc::CLOCK_THREAD_CPUTIME_ID) - t0
    };
    g.bench_function("utc_now", |b| {
        b.iter_custom(|n| {
            thread_cpu(n, &mut || {
                std::hint::black_box(chrono::Utc::now());
            })
        })
    });
    g.bench_function("details_to_json", |b| {
        let mut out = Vec::with_capacity(1024);
        b.iter_custom(|n| {
            thread_cpu(n, &mut || {
                out.clear();
                serde_json::to_writer(&mut out, &ev.details).expect("json");
                std::hint::black_box(&out);
            })
        })
    });
    g.bench_function("encode_entry", |b| {
        let mut out = Vec::with_capacity(1024);
        b.iter_custom(|n| {
            thread_cpu(n, &mut || {
                format::encode_entry(&mut out, 1, &prev, &ts, &ev, "analyst1", "host")
                    .expect("encode");
                std::hint::black_box(&out);
            })
        })
    });
    let mut check = Vec::new();
    proto::encode_entry(&mut check, 1, &prev, &ts, &ev, "analyst1", "host");
    assert_eq!(check, body, "prototype encoder gives the engine's bytes");
    for (s, secs) in [("tab\there \"q\" \\ é", 0i64), ("", 59), ("x", 86399)] {
        let t = ts + chrono::Duration::seconds(secs);
        let ev2 = Event::new(s, s).session(s).source(s);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        format::encode_entry(&mut a, 1 << 40, &prev, &t, &ev2, s, s).expect("encode");
        proto::encode_entry(&mut b, 1 << 40, &prev, &t, &ev2, s, s);
        assert_eq!(a, b, "prototype encoder gives the engine's bytes");
    }
    g.bench_function("encode_entry_prototype", |b| {
        let mut out = Vec::with_capacity(1024);
        b.iter_custom(|n| {
            thread_cpu(n, &mut || {
                proto::encode_entry(&mut out, 1, &prev, &ts, &ev, "analyst1", "host");
                std::hint::black_box(&out);
            })
        })
    });
    g.bench_function(format!("sha256_body_{}B", body.len()), |b| {
        b.iter_custom(|n| {
            thread_cpu(n, &mut || {
                std::hint::black_box(chain.hash(std::hint::black_box(&body)));
            })
        })
    });
    for framing in [Framing::Jsonl, Framing::Binary] {
        g.bench_function(format!("frame_{}", fname(framing)), |b| {
            let mut out = Vec::with_capacity(64 * 1024);
            b.iter_custom(|n| {
                thread_cpu(n, &mut || {
                    if out.len() > 60 * 1024 {
                        out.clear();
                    }
                    format::frame(&mut out, framing, &body, &hash);
                })
            })
        });
    }
    g.finish();

    // Verify's per-record work: split the framing, parse the common fields
    // (a full JSON parse), decode the hex hashes, recompute the hash.
    let mut g = c.benchmark_group("verify_parts");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    for framing in [Framing::Jsonl, Framing::Binary] {
        let mut rec = Vec::new();
        format::frame(&mut rec, framing, &body, &hash);
        if framing == Framing::Jsonl {
            rec.pop(); // the newline is not part of the record
        }
        g.throughput(Throughput::Bytes(rec.len() as u64));
        g.bench_function(format!("parse_{}_{}B", fname(framing), rec.len()), |b| {
            b.iter_custom(|n| {
                thread_cpu(n, &mut || {
                    let p = format::parse(framing, std::hint::black_box(&rec)).expect("parse");
                    std::hint::black_box(p.seq);
                })
            })
        });
        if framing == Framing::Jsonl {
            g.bench_function("split_jsonl", |b| {
                b.iter_custom(|n| {
                    thread_cpu(n, &mut || {
                        let r = format::split_jsonl(std::hint::black_box(&rec)).expect("split");
                        std::hint::black_box(r.hash);
                    })
                })
            });
        }
    }
    // 1024 different hashes: decoding one string over and over would let
    // the branch predictor learn its digits, which never happens in verify.
    let hexes: Vec<String> = (0..1024u32)
        .map(|i| chain.hash(&i.to_le_bytes()).to_hex())
        .collect();
    g.throughput(Throughput::Bytes(64));
    g.bench_function("hash_from_hex", |b| {
        let mut i = 0;
        b.iter_custom(|n| {
            thread_cpu(n, &mut || {
                i = (i + 1) % hexes.len();
                std::hint::black_box(evident::Hash::from_hex(&hexes[i]));
            })
        })
    });
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("sha256_body", |b| {
        b.iter_custom(|n| {
            thread_cpu(n, &mut || {
                std::hint::black_box(chain.hash(std::hint::black_box(&body)));
            })
        })
    });
    g.finish();
}

fn verify_mb() -> u64 {
    std::env::var("EVIDENT_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(64)
}

/// CPU time (user + system) of the waited-for children of this process.
fn children_cpu_time() -> Duration {
    // SAFETY: getrusage writes one rusage to the valid pointer given;
    // an all-zero rusage is a valid value of the plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    assert_eq!(rc, 0, "getrusage");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn run_sha256sum(path: &Path) {
    let st = Command::new("sha256sum")
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .expect("run sha256sum");
    assert!(st.success());
}

fn bench_verify(c: &mut Criterion) {
    let mb = verify_mb();
    for framing in [Framing::Jsonl, Framing::Binary] {
        let path = cached_log(framing, mb * 1024 * 1024);
        let size = std::fs::metadata(&path).expect("stat").len();
        let mut g = c.benchmark_group(format!("verify/{}", fname(framing)));
        g.throughput(Throughput::Bytes(size))
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_secs(2))
            .measurement_time(Duration::from_secs(6));
        let label = format!("{mb}MB");
        for clock in [Clock::Wall, Clock::Cpu] {
            let suffix = if clock == Clock::Cpu { "_cputime" } else { "" };
            g.bench_function(
                BenchmarkId::new(format!("sha256sum{suffix}"), &label),
                |b| {
                    b.iter_custom(|iters| {
                        let (t0, c0) = (Instant::now(), children_cpu_time());
                        for _ in 0..iters {
                            run_sha256sum(&path);
                        }
                        match clock {
                            Clock::Wall => t0.elapsed(),
                            Clock::Cpu => children_cpu_time() - c0,
                        }
                    })
                },
            );
            for (name, threads) in [("all_cores", 0usize), ("1_thread", 1)] {
                let opts = VerifyOptions::default().threads(threads);
                let id = BenchmarkId::new(format!("evident_{name}{suffix}"), &label);
                g.bench_function(id, |b| {
                    b.iter_custom(|iters| {
                        let t0 = Instant::now();
                        let c0 = cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID);
                        for _ in 0..iters {
                            let r = verify(&path, &opts).expect("verify");
                            assert!(r.valid, "{:?}", r.first());
                        }
                        match clock {
                            Clock::Wall => t0.elapsed(),
                            Clock::Cpu => cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID) - c0,
                        }
                    })
                });
            }
        }
        g.finish();
    }
}

fn open_sizes() -> Vec<u64> {
    let mut v = vec![10, 100];
    if std::env::var("EVIDENT_BENCH_BIG").is_ok_and(|s| s == "1") {
        v.push(1024);
    }
    v
}

fn bench_open_last10(c: &mut Criterion) {
    let logs: Vec<(Framing, u64, PathBuf)> = [Framing::Jsonl, Framing::Binary]
        .into_iter()
        .flat_map(|f| {
            open_sizes()
                .into_iter()
                .map(move |mb| (f, mb, cached_log(f, mb * 1024 * 1024)))
        })
        .collect();
    let mut g = c.benchmark_group("open");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    for (framing, mb, path) in &logs {
        g.bench_function(BenchmarkId::new(fname(*framing), format!("{mb}MB")), |b| {
            b.iter(|| {
                let log = Log::open(path, OpenOptions::new()).expect("open");
                let head = log.head();
                log.close().expect("close");
                head.seq
            })
        });
    }
    g.finish();
    // What open + close does besides reading: the I/O that waits for the
    // disk. Timed alone on the 100 MB JSONL log, next to the whole.
    if let Some((_, _, path)) = logs
        .iter()
        .find(|(f, mb, _)| *f == Framing::Jsonl && *mb == 100)
    {
        let mut g = c.benchmark_group("open_parts");
        g.warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .sample_size(30);
        g.bench_function("fdatasync_nothing_dirty", |b| {
            let f = std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .expect("open");
            b.iter(|| f.sync_data().expect("fdatasync"))
        });
        let lock = lock_path(path);
        let open_lock = || {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&lock)
                .expect("open lock file")
        };
        g.bench_function("lock_file_open_truncate_write_close", |b| {
            // What open + close do to record the exclusive holder in
            // `<log>.lock` (ext4 flushes a file truncated to 0 at close).
            use std::io::Write;
            let text = format!(
                "pid {} on host bench (user bench), exclusive writer since now\n",
                std::process::id()
            );
            b.iter(|| {
                let f = open_lock();
                f.set_len(0).expect("truncate");
                (&f).write_all(text.as_bytes()).expect("write");
            })
        });
        g.bench_function("lock_file_open_pwrite_close", |b| {
            // The proposed alternative: overwrite a fixed-size record in
            // place, never truncate.
            use std::os::unix::fs::FileExt;
            let text = format!(
                "{:<255}\n",
                "pid 1 on host bench (user bench), exclusive writer since now"
            );
            b.iter(|| {
                let f = open_lock();
                f.write_all_at(text.as_bytes(), 0).expect("pwrite");
            })
        });
        g.bench_function("query_last1_no_lock_no_fsync", |b| {
            b.iter(|| {
                let v: Vec<_> = query(path, &Query::last(1))
                    .expect("query")
                    .collect::<evident::Result<Vec<_>>>()
                    .expect("entries");
                assert_eq!(v.len(), 1);
                v
            })
        });
        g.finish();
    }
    let mut g = c.benchmark_group("last10");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    for (framing, mb, path) in &logs {
        g.bench_function(BenchmarkId::new(fname(*framing), format!("{mb}MB")), |b| {
            b.iter(|| {
                let v: Vec<_> = query(path, &Query::last(10))
                    .expect("query")
                    .collect::<evident::Result<Vec<_>>>()
                    .expect("entries");
                assert_eq!(v.len(), 10);
                v
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_append,
    bench_append_parts,
    bench_verify,
    bench_open_last10
);

/// Criterion's output directory (as criterion itself computes it).
fn criterion_dir() -> PathBuf {
    if let Some(h) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(h);
    }
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|t| t.join("criterion"))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// (full id, seconds per iteration) of every benchmark measured since
/// `since`, read from criterion's `new/estimates.json` files.
fn results_since(since: std::time::SystemTime) -> Vec<(String, f64)> {
    fn walk(dir: &Path, since: std::time::SystemTime, out: &mut Vec<(String, f64)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if !p.is_dir() {
                continue;
            }
            if p.file_name().is_some_and(|n| n == "new") {
                let (Ok(b), Ok(est)) = (
                    std::fs::read(p.join("benchmark.json")),
                    std::fs::read(p.join("estimates.json")),
                ) else {
                    continue;
                };
                let fresh = std::fs::metadata(p.join("estimates.json"))
                    .and_then(|m| m.modified())
                    .is_ok_and(|m| m >= since);
                let (Ok(b), Ok(est)) = (
                    serde_json::from_slice::<serde_json::Value>(&b),
                    serde_json::from_slice::<serde_json::Value>(&est),
                ) else {
                    continue;
                };
                // Slope for linear sampling, else the mean (ns/iteration).
                let ns = est["slope"]["point_estimate"]
                    .as_f64()
                    .or_else(|| est["mean"]["point_estimate"].as_f64());
                if let (true, Some(id), Some(ns)) = (fresh, b["full_id"].as_str(), ns) {
                    out.push((id.to_string(), ns * 1e-9));
                }
            } else {
                walk(&p, since, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&criterion_dir(), since, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The real file storage, counting fsyncs and the time spent in them.
struct CountingStorage {
    inner: evident::storage::FileStorage,
    syncs: Arc<std::sync::atomic::AtomicU64>,
    sync_nanos: Arc<std::sync::atomic::AtomicU64>,
}

impl evident::storage::Storage for CountingStorage {
    fn append(&self, buf: &[u8]) -> std::io::Result<()> {
        self.inner.append(buf)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn truncate(&self, len: u64) -> std::io::Result<()> {
        self.inner.truncate(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        use std::sync::atomic::Ordering;
        let t = Instant::now();
        let r = self.inner.sync_data();
        self.sync_nanos
            .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.syncs.fetch_add(1, Ordering::Relaxed);
        r
    }
}

/// One timed run of [`rate_for`].
struct Rate {
    per_sec: f64,
    entries_per_fsync: f64,
    fsync_ms: f64,
}

/// Appends with `threads` threads for about `secs` seconds.
fn rate_for(dir: &Path, d: Durability, threads: usize, secs: f64) -> Rate {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let path = dir.join(format!(
        "paired-{}-{threads}-{}.jsonl",
        mode_name(d),
        std::process::id()
    ));
    remove_log(&path);
    let syncs = Arc::new(AtomicU64::new(0));
    let sync_nanos = Arc::new(AtomicU64::new(0));
    let mut opts = OpenOptions::new().durability(d);
    let (s2, n2) = (Arc::clone(&syncs), Arc::clone(&sync_nanos));
    opts = opts.storage_hook(Arc::new(move |fs| {
        Box::new(CountingStorage {
            inner: fs,
            syncs: Arc::clone(&s2),
            sync_nanos: Arc::clone(&n2),
        })
    }));
    let log = Arc::new(Log::open(&path, opts).expect("open log"));
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (log, stop, count, barrier) = (
                Arc::clone(&log),
                Arc::clone(&stop),
                Arc::clone(&count),
                Arc::clone(&barrier),
            );
            std::thread::spawn(move || {
                let ev = event();
                barrier.wait();
                while !stop.load(Ordering::Relaxed) {
                    log.append(&ev).expect("append");
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    barrier.wait();
    let (s0, n0) = (
        syncs.load(Ordering::Relaxed),
        sync_nanos.load(Ordering::Relaxed),
    );
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("appender thread");
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let n = count.load(Ordering::Relaxed);
    let fsyncs = (syncs.load(Ordering::Relaxed) - s0).max(1);
    let nanos = sync_nanos.load(Ordering::Relaxed) - n0;
    log.close().expect("close");
    assert_eq!(log.head().seq, n, "every append is in the chain");
    drop(log);
    remove_log(&path);
    Rate {
        per_sec: n as f64 / elapsed,
        entries_per_fsync: n as f64 / fsyncs as f64,
        fsync_ms: nanos as f64 / fsyncs as f64 / 1e6,
    }
}

/// fsync latency on a shared disk drifts by several times within a minute,
/// so criterion's one-after-the-other estimates can pair a slow Sync run
/// with a fast GroupCommit run. Here the modes alternate in short rounds,
/// each round gives its own ratio, and fsyncs are counted so the ratio can
/// be split into entries per fsync and fsync latency.
fn paired_fsync_rounds() {
    let rounds: usize = std::env::var("EVIDENT_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    if rounds == 0 {
        return;
    }
    let dir = cache_dir();
    let cases: [(&str, Durability, usize); 4] = [
        ("sync 1t", Durability::Sync, 1),
        ("sync 8t", Durability::Sync, 8),
        ("gc 8t", Durability::GroupCommit, 8),
        ("gc 64t", Durability::GroupCommit, 64),
    ];
    println!(
        "-- paired rounds (JSONL, 1 s per case, order reversed every other round): \
         entries/s (entries per fsync, mean fsync ms)"
    );
    let mut r8 = Vec::new();
    let mut r64 = Vec::new();
    for i in 0..rounds {
        let mut order: Vec<usize> = (0..cases.len()).collect();
        if i % 2 == 1 {
            order.reverse();
        }
        let mut got: Vec<Option<Rate>> = (0..cases.len()).map(|_| None).collect();
        for k in order {
            let (_, d, t) = cases[k];
            got[k] = Some(rate_for(&dir, d, t, 1.0));
        }
        let got: Vec<Rate> = got.into_iter().flatten().collect();
        let line: Vec<String> = cases
            .iter()
            .zip(&got)
            .map(|((name, _, _), r)| {
                format!(
                    "{name} {:.0} ({:.1}, {:.2})",
                    r.per_sec, r.entries_per_fsync, r.fsync_ms
                )
            })
            .collect();
        let (g8, g64) = (
            got[2].per_sec / got[0].per_sec,
            got[3].per_sec / got[0].per_sec,
        );
        println!(
            "round {}: {} | gc8/sync1 {g8:.1}x gc64/sync1 {g64:.1}x",
            i + 1,
            line.join(", ")
        );
        r8.push(g8);
        r64.push(g64);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (m8, m64) = (median(&mut r8), median(&mut r64));
    println!(
        "median group_commit 8t / sync 1t: {m8:.1}x (target >= 50: {}); 64t / sync 1t: {m64:.1}x",
        if m8 >= 50.0 { "met" } else { "MISSED" }
    );
}

/// Prints the measured numbers and the ratios the targets are stated in.
fn summary(since: std::time::SystemTime) {
    let res = results_since(since);
    if res.is_empty() {
        return;
    }
    let get = |id: &str| res.iter().find(|(i, _)| i == id).map(|(_, s)| *s);
    println!("\n==== evident benchmark summary (this run) ====");
    let mut sizes: Vec<(String, u64)> = Vec::new();
    for framing in [Framing::Jsonl, Framing::Binary] {
        let path = cache_dir().join(format!("log-{}mb.{}", verify_mb(), ext(framing)));
        if let Ok(m) = std::fs::metadata(&path) {
            sizes.push((format!("verify/{}", fname(framing)), m.len()));
        }
    }
    for (id, secs) in &res {
        if id.starts_with("verify_parts") {
            println!("{id:<40} {:>14.1} ns", secs * 1e9);
        } else if id.starts_with("append") {
            println!("{id:<40} {:>14.0} entries/s", 1.0 / secs);
        } else if let Some((_, bytes)) = sizes.iter().find(|(g, _)| id.starts_with(g.as_str())) {
            println!(
                "{id:<40} {:>14.1} MiB/s",
                *bytes as f64 / secs / (1024.0 * 1024.0)
            );
        } else {
            println!("{id:<40} {:>14.1} us", secs * 1e6);
        }
    }
    let ratio = |name: &str, num: &str, den: &str, target: Option<f64>| {
        if let (Some(n), Some(d)) = (get(num), get(den)) {
            // Times per iteration: the rate ratio is den/num.
            let r = d / n;
            let verdict = match target {
                Some(t) if r >= t => format!("(target >= {t}: met)"),
                Some(t) => format!("(target >= {t}: MISSED)"),
                None => String::new(),
            };
            println!("{name:<52} {r:>8.2}x {verdict}");
        }
    };
    println!("-- ratios (measured side by side in this run)");
    ratio(
        "group_commit 8t / sync 1t (jsonl)",
        "append/group_commit/jsonl/8t",
        "append/sync/jsonl/1t",
        Some(50.0),
    );
    ratio(
        "group_commit 8t / sync 8t (jsonl)",
        "append/group_commit/jsonl/8t",
        "append/sync/jsonl/8t",
        None,
    );
    ratio(
        "group_commit 1t / sync 1t (jsonl)",
        "append/group_commit/jsonl/1t",
        "append/sync/jsonl/1t",
        None,
    );
    let mb = verify_mb();
    for f in ["jsonl", "binary"] {
        for t in ["all_cores", "1_thread"] {
            ratio(
                &format!("verify {f} {t} / sha256sum (wall)"),
                &format!("verify/{f}/evident_{t}/{mb}MB"),
                &format!("verify/{f}/sha256sum/{mb}MB"),
                (t == "all_cores").then_some(1.0),
            );
        }
        for t in ["all_cores", "1_thread"] {
            ratio(
                &format!("verify {f} {t} / sha256sum (per CPU-second)"),
                &format!("verify/{f}/evident_{t}_cputime/{mb}MB"),
                &format!("verify/{f}/sha256sum_cputime/{mb}MB"),
                None,
            );
        }
    }
    for f in ["jsonl", "binary"] {
        for t in ["1t", "1t_cputime"] {
            if let Some(s) = get(&format!("append/buffered/{f}/{t}")) {
                let r = 1.0 / s;
                println!(
                    "buffered {f} {t}: {r:.0} entries/s (target >= 1000000: {})",
                    if r >= 1e6 { "met" } else { "MISSED" }
                );
            }
        }
    }
    if get("append/sync/jsonl/1t").is_some() {
        paired_fsync_rounds();
    }
    let slow: Vec<_> = res
        .iter()
        .filter(|(id, s)| (id.starts_with("open/") || id.starts_with("last10/")) && *s >= 1e-3)
        .collect();
    if res
        .iter()
        .any(|(id, _)| id.starts_with("open/") || id.starts_with("last10/"))
    {
        println!(
            "open / last10 under 1 ms: {}",
            if slow.is_empty() {
                "met for every size".to_string()
            } else {
                format!("MISSED for {slow:?}")
            }
        );
    }
}

fn main() {
    let since = std::time::SystemTime::now();
    eprintln!("details: {} bytes of JSON per entry", details_len());
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary(since);
}
