//! Criterion benchmarks of the session container (see docs/benchmarks.md,
//! "Session container"; the Python side-by-side run against `numpy.save`
//! and pickle+gzip is `benches/session/bench_session.py`).
//!
//! Every session holds 8 traces of equal byte size (f64, f32 and i16: a
//! noisy sine, the i16 ones quantised like ADC codes), one annotation layer
//! with 100 annotations, 20 measurements and 20 history entries.
//!
//! Groups (filter with `cargo bench --bench session -- <group>`):
//! - `session_save`: a new file holding the whole session, `sync: true`
//!   and `sync: false`, next to the same bytes written with plain
//!   `write` + `fdatasync` to one file per trace (what `numpy.save` does)
//!   and SHA-256 of the same bytes alone (the work a save adds).
//! - `session_open`: `Session::load` + name, metadata and every trace's
//!   name, dtype, length and info, on files with 16 MiB, 256 MiB and 1 GiB
//!   of samples (same records, only the sample bytes grow).
//! - `session_first_access`: after a load (untimed), `trace(..).bytes()`
//!   and reading its first and last sample; next to copying the samples
//!   (what a format without mapping has to do at least).
//! - `session_incremental`: add one annotation to a loaded 256 MiB session
//!   and save it again (a new version), synced and not.
//!
//! After the groups: alternating rounds (evident save, plain write, evident
//! save, …) at the largest save size, and a demonstration that the first
//! access to a 1 GiB session's trace copies nothing (the pointer lies in
//! the file's mapping; resident anonymous memory does not grow).
//!
//! Environment:
//! - `EVIDENT_BENCH_SAVE_MB`: save sizes in MiB, comma-separated (default
//!   `64,256`).
//! - `EVIDENT_BENCH_OPEN_MB`: open sizes in MiB (default `16,256,1024`).
//! - `EVIDENT_BENCH_INCR_MB`: size of the incremental-save session (256).
//! - `EVIDENT_BENCH_ROUNDS`: alternating save rounds (default 3; 0 skips).
//! - `EVIDENT_BENCH_DIR`: where files are written and the open files cached
//!   (default `<target>/tmp/evident-session-bench`).
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{criterion_group, BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput};
use evident::session::{
    Annotation, HistoryEntry, LoadOptions, Measurement, SaveOptions, Session, Trace, TraceInfo,
};
use sha2::{Digest, Sha256};

const MIB: u64 = 1024 * 1024;
const TRACES: usize = 8;

fn bench_dir() -> PathBuf {
    let dir = std::env::var_os("EVIDENT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("evident-session-bench"));
    std::fs::create_dir_all(&dir).expect("create bench dir");
    dir
}

/// True under `cargo bench` (which passes `--bench`); `cargo test
/// --all-targets` runs each benchmark once without it, and then small
/// sizes are enough to check that the benchmark works.
fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn sizes(var: &str, default: &[u64]) -> Vec<u64> {
    match std::env::var(var) {
        Ok(s) if !s.trim().is_empty() => s
            .split(',')
            .map(|x| x.trim().parse().expect("sizes in MiB, comma-separated"))
            .collect(),
        _ if !bench_mode() => vec![4],
        _ => default.to_vec(),
    }
}

/// A small deterministic generator (xorshift64*), uniform in [-1, 1).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

fn signal(i: usize, k: usize, noise: &mut Noise) -> f64 {
    let t = i as f64 / 1000.0;
    (t * (1.0 + k as f64)).sin() + 0.05 * noise.next()
}

/// The traces of a session with `total` bytes of samples: 8 traces of
/// `total / 8` bytes, dtypes f64, f32, i16 in turn.
fn make_traces(total: u64) -> Vec<(String, Trace)> {
    let per = (total / TRACES as u64) as usize;
    (0..TRACES)
        .map(|k| {
            let mut noise = Noise(0x9e37_79b9_7f4a_7c15 ^ (k as u64 + 1));
            let info = TraceInfo {
                sample_rate: 1e6,
                start_time: 0.0,
                units: "V".into(),
                metadata: serde_json::json!({"channel": k, "probe": "10x", "coupling": "DC"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            };
            let t = match k % 3 {
                0 => {
                    let v: Vec<f64> = (0..per / 8).map(|i| signal(i, k, &mut noise)).collect();
                    Trace::from_slice(&v, info)
                }
                1 => {
                    let v: Vec<f32> = (0..per / 4)
                        .map(|i| signal(i, k, &mut noise) as f32)
                        .collect();
                    Trace::from_slice(&v, info)
                }
                _ => {
                    let v: Vec<i16> = (0..per / 2)
                        .map(|i| (signal(i, k, &mut noise) * 16000.0) as i16)
                        .collect();
                    Trace::from_slice(&v, info)
                }
            }
            .expect("trace");
            (format!("CH{}", k + 1), t)
        })
        .collect()
}

/// A session over `traces` with the non-sample state a real one has.
fn make_session(traces: &[(String, Trace)]) -> Session {
    let mut s = Session::new("bench session");
    s.metadata_mut()
        .insert("instrument".into(), "scope-07".into());
    for (name, t) in traces {
        s.add_trace(name, t.clone()).expect("add trace");
    }
    for i in 0..100 {
        let t0 = i as f64 * 1e-3;
        let a = if i % 2 == 0 {
            Annotation::new(format!("glitch {i}")).at(t0)
        } else {
            Annotation::new(format!("burst {i}")).over(t0, t0 + 5e-4)
        };
        s.annotate("review", a).expect("annotate");
    }
    for i in 0..20 {
        s.record_measurement(Measurement::new(format!("rise_time_{i}"), 2.3e-9, "s"))
            .expect("measurement");
        s.record_history(HistoryEntry::new(format!("filter_{i}")))
            .expect("history");
    }
    s
}

fn remove_session(path: &Path) {
    let _ = std::fs::remove_file(path);
    let mut lock = path.as_os_str().to_owned();
    lock.push(".lock");
    let _ = std::fs::remove_file(PathBuf::from(lock));
}

fn save_opts(sync: bool, compress: Option<i32>) -> SaveOptions<'static> {
    SaveOptions::default().sync(sync).compress(compress)
}

/// CPU time of this process so far (all threads, user + system).
fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec to the valid pointer given.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Wall-clock and process CPU time of one timed step.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Duration,
}

fn timing<T>(f: impl FnOnce() -> T) -> (T, Timing) {
    let (c, t) = (cpu_time(), Instant::now());
    let r = f();
    let wall = t.elapsed();
    (
        r,
        Timing {
            wall,
            cpu: cpu_time() - c,
        },
    )
}

/// One evident save of a new file; the time of `save` alone.
fn timed_save(traces: &[(String, Trace)], path: &Path, opts: &SaveOptions<'_>) -> Timing {
    remove_session(path);
    let mut s = make_session(traces);
    let (info, t) = timing(|| s.save(Some(path), opts).expect("save"));
    assert_eq!(info.traces_written, TRACES);
    drop(s);
    remove_session(path);
    t
}

/// SHA-256 of every trace's samples on this thread (what a save adds to
/// the plain write).
fn timed_sha256(traces: &[(String, Trace)]) -> Timing {
    timing(|| {
        for (_, t) in traces {
            black_box(Sha256::digest(t.bytes().expect("bytes")));
        }
    })
    .1
}

/// The same sample bytes written with plain `write` to one new file per
/// trace (as `numpy.save` does), `fdatasync` on each when `sync`.
fn timed_plain(traces: &[(String, Trace)], dir: &Path, sync: bool) -> Timing {
    let paths: Vec<PathBuf> = (0..traces.len())
        .map(|i| dir.join(format!("plain-{i}.bin")))
        .collect();
    for p in &paths {
        let _ = std::fs::remove_file(p);
    }
    let ((), d) = timing(|| {
        for ((_, tr), p) in traces.iter().zip(&paths) {
            let mut f = std::fs::File::create(p).expect("create");
            f.write_all(tr.bytes().expect("bytes")).expect("write");
            if sync {
                f.sync_data().expect("fdatasync");
            }
        }
    });
    for p in &paths {
        let _ = std::fs::remove_file(p);
    }
    d
}

fn bench_save(c: &mut Criterion) {
    let dir = bench_dir();
    let mut g = c.benchmark_group("session_save");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for mb in sizes("EVIDENT_BENCH_SAVE_MB", &[64, 256]) {
        let traces = make_traces(mb * MIB);
        let total: u64 = traces
            .iter()
            .map(|(_, t)| t.bytes().unwrap().len() as u64)
            .sum();
        g.throughput(Throughput::Bytes(total));
        let path = dir.join("save.evs");
        for sync in [true, false] {
            let mode = if sync { "sync" } else { "nosync" };
            let opts = save_opts(sync, None);
            g.bench_function(
                BenchmarkId::new(format!("evident/{mode}"), format!("{mb}MiB")),
                |b| {
                    b.iter_custom(|iters| {
                        (0..iters)
                            .map(|_| timed_save(&traces, &path, &opts).wall)
                            .sum()
                    })
                },
            );
            g.bench_function(
                BenchmarkId::new(format!("plain_write/{mode}"), format!("{mb}MiB")),
                |b| {
                    b.iter_custom(|iters| {
                        (0..iters)
                            .map(|_| timed_plain(&traces, &dir, sync).wall)
                            .sum()
                    })
                },
            );
        }
        g.bench_function(BenchmarkId::new("sha256_only", format!("{mb}MiB")), |b| {
            b.iter(|| {
                for (_, t) in &traces {
                    black_box(Sha256::digest(t.bytes().unwrap()));
                }
            })
        });
        if mb == 64 {
            let opts = save_opts(false, Some(3));
            g.bench_function(
                BenchmarkId::new("evident_zstd3/nosync", format!("{mb}MiB")),
                |b| {
                    b.iter_custom(|iters| {
                        (0..iters)
                            .map(|_| timed_save(&traces, &path, &opts).wall)
                            .sum()
                    })
                },
            );
        }
    }
    g.finish();
}

/// A cached session file with `mb` MiB of samples (written once, reused).
fn cached_session(mb: u64) -> PathBuf {
    let path = bench_dir().join(format!("open-{mb}MiB.evs"));
    if Session::load(&path, &LoadOptions::default()).is_ok() {
        return path;
    }
    remove_session(&path);
    eprintln!("writing {}", path.display());
    let mut s = make_session(&make_traces(mb * MIB));
    s.save(Some(&path), &save_opts(true, None))
        .expect("save cached session");
    path
}

/// What "open and read the metadata" means here.
fn open_and_read_metadata(path: &Path) -> usize {
    let s = Session::load(path, &LoadOptions::default()).expect("load");
    let mut n = s.name().len() + s.metadata().len() + s.layers().len();
    for name in s.trace_names() {
        let t = s.trace(name).expect("trace");
        n += name.len() + t.len() as usize + t.dtype().name().len() + t.info().metadata.len();
    }
    assert_eq!(s.trace_names().len(), TRACES);
    n
}

fn bench_open(c: &mut Criterion) {
    let files: Vec<(u64, PathBuf)> = sizes("EVIDENT_BENCH_OPEN_MB", &[16, 256, 1024])
        .into_iter()
        .map(|mb| (mb, cached_session(mb)))
        .collect();
    let mut g = c.benchmark_group("session_open");
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (mb, path) in &files {
        g.bench_function(BenchmarkId::new("load_metadata", format!("{mb}MiB")), |b| {
            b.iter(|| open_and_read_metadata(path))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("session_first_access");
    g.sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (mb, path) in &files {
        g.bench_function(
            BenchmarkId::new("bytes_first_last", format!("{mb}MiB")),
            |b| {
                b.iter_batched(
                    || Session::load(path, &LoadOptions::default()).expect("load"),
                    |s| {
                        let t = s.trace("CH1").expect("CH1");
                        let v = t.as_slice::<f64>().expect("f64 samples");
                        let x = v[0] + v[v.len() - 1];
                        assert!(t.is_mapped());
                        black_box(x);
                        s
                    },
                    BatchSize::PerIteration,
                )
            },
        );
    }
    // What a format without mapping must do at least: copy the samples.
    if let Some((mb, path)) = files.iter().find(|(mb, _)| *mb == 256).or(files.first()) {
        let s = Session::load(path, &LoadOptions::default()).expect("load");
        let t = s.trace("CH1").expect("CH1").clone();
        g.throughput(Throughput::Bytes(t.bytes().unwrap().len() as u64));
        g.bench_function(
            BenchmarkId::new("copy_trace_for_contrast", format!("{mb}MiB")),
            |b| b.iter(|| black_box(t.bytes().unwrap().to_vec())),
        );
    }
    g.finish();
}

fn bench_incremental(c: &mut Criterion) {
    let mb = sizes("EVIDENT_BENCH_INCR_MB", &[256])[0];
    let base = cached_session(mb);
    let work = bench_dir().join("incremental.evs");
    remove_session(&work);
    std::fs::copy(&base, &work).expect("copy session");
    let base_len = std::fs::metadata(&work).expect("stat").len();
    let mut g = c.benchmark_group("session_incremental");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for sync in [true, false] {
        let mode = if sync { "sync" } else { "nosync" };
        let opts = save_opts(sync, None);
        g.bench_function(
            BenchmarkId::new(format!("annotate_save/{mode}"), format!("{mb}MiB")),
            |b| {
                b.iter_custom(|iters| {
                    // Back to the cached version, so every sample starts from
                    // the same file (a save only ever appends).
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&work)
                        .and_then(|f| f.set_len(base_len))
                        .expect("truncate");
                    let mut s = Session::load(&work, &LoadOptions::default()).expect("load");
                    let mut d = Duration::ZERO;
                    for i in 0..iters {
                        s.annotate("review", Annotation::new(format!("note {i}")).at(0.5))
                            .expect("annotate");
                        let t = Instant::now();
                        let info = s.save(None, &opts).expect("save");
                        d += t.elapsed();
                        assert_eq!((info.traces_written, info.sample_bytes_written), (0, 0));
                    }
                    d
                })
            },
        );
    }
    g.finish();
    remove_session(&work);
}

criterion_group!(benches, bench_save, bench_open, bench_incremental);

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Touches and frees `bytes` of memory (+25%) right before a timed step.
/// On a VM with free page reporting (virtio balloon) memory that stayed
/// free for a few seconds goes back to the host and its next first touch
/// costs a host fault (page-cache writes 5-15x slower on the machine of
/// docs/benchmarks.md); this gives every contender backed free memory.
fn prime(bytes: u64) {
    let v = vec![1u8; (bytes + bytes / 4) as usize];
    black_box(&v);
}

/// A prototype of the save's data path on one file: for each trace, write
/// its bytes while a second thread hashes them (as `Writer::data` does),
/// 64-byte aligned; one `fdatasync` at the end. With `overlap`, also
/// `sync_file_range(SYNC_FILE_RANGE_WRITE)` after each trace, so the disk
/// writes trace i while trace i+1 is hashed (the change proposed in
/// docs/benchmarks.md).
fn timed_proto(traces: &[(String, Trace)], path: &Path, overlap: bool) -> Timing {
    use std::os::unix::fs::FileExt;
    use std::os::unix::io::AsRawFd;
    let _ = std::fs::remove_file(path);
    let f = std::fs::File::create(path).expect("create");
    let ((), t) = timing(|| {
        let mut at = 0u64;
        for (_, tr) in traces {
            let bytes = tr.bytes().expect("bytes");
            let digest = std::thread::scope(|sc| {
                let h = sc.spawn(|| Sha256::digest(bytes));
                f.write_all_at(bytes, at).expect("pwrite");
                h.join().expect("hash thread")
            });
            black_box(digest);
            if overlap {
                // SAFETY: plain syscall on an open descriptor.
                let rc = unsafe {
                    libc::sync_file_range(
                        f.as_raw_fd(),
                        at as i64,
                        bytes.len() as i64,
                        libc::SYNC_FILE_RANGE_WRITE,
                    )
                };
                assert_eq!(rc, 0, "sync_file_range");
            }
            at = (at + bytes.len() as u64).next_multiple_of(64);
        }
        f.sync_data().expect("fdatasync");
    });
    drop(f);
    let _ = std::fs::remove_file(path);
    t
}

/// Alternating rounds at the largest save size: evident's save, the plain
/// write of the same bytes, SHA-256 alone and (synced) the two prototypes
/// of the data path, one after the other, the order reversed every other
/// round; wall and process CPU time.
fn alternating_rounds() {
    let rounds: usize = std::env::var("EVIDENT_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let Some(mb) = sizes("EVIDENT_BENCH_SAVE_MB", &[64, 256]).into_iter().max() else {
        return;
    };
    if rounds == 0 {
        return;
    }
    let dir = bench_dir();
    let path = dir.join("rounds.evs");
    let proto = dir.join("proto.bin");
    let traces = make_traces(mb * MIB);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("\n-- alternating rounds, {mb} MiB, {TRACES} traces: wall ms (process CPU ms)");
    for sync in [true, false] {
        let mode = if sync { "sync" } else { "nosync" };
        let opts = save_opts(sync, None);
        type Step<'a> = (&'static str, Box<dyn Fn() -> Timing + 'a>);
        let mut steps: Vec<Step<'_>> = vec![
            (
                "evident",
                Box::new(|| {
                    prime(mb * MIB);
                    timed_save(&traces, &path, &opts)
                }),
            ),
            (
                "plain",
                Box::new(|| {
                    prime(mb * MIB);
                    timed_plain(&traces, &dir, sync)
                }),
            ),
            ("sha256", Box::new(|| timed_sha256(&traces))),
        ];
        if sync {
            steps.push((
                "proto",
                Box::new(|| {
                    prime(mb * MIB);
                    timed_proto(&traces, &proto, false)
                }),
            ));
            steps.push((
                "proto+srf",
                Box::new(|| {
                    prime(mb * MIB);
                    timed_proto(&traces, &proto, true)
                }),
            ));
        }
        let mut got: Vec<Vec<Timing>> = vec![Vec::new(); steps.len()];
        for r in 0..rounds {
            let mut order: Vec<usize> = (0..steps.len()).collect();
            if r % 2 == 1 {
                order.reverse();
            }
            for i in order {
                got[i].push((steps[i].1)());
            }
            let line: Vec<String> = steps
                .iter()
                .zip(&got)
                .map(|((name, _), ts)| {
                    let t = ts[r];
                    format!("{name} {:.0} ({:.0})", ms(t.wall), ms(t.cpu))
                })
                .collect();
            println!("{mode:<6} round {}: {}", r + 1, line.join("  "));
        }
        let stats = |i: usize| {
            let mut w: Vec<f64> = got[i].iter().map(|t| ms(t.wall)).collect();
            let m = median(&mut w);
            (m, w[0])
        };
        for (i, (name, _)) in steps.iter().enumerate() {
            let (m, lo) = stats(i);
            println!("{mode:<6} {name:<10} median {m:>8.1} ms  min {lo:>8.1} ms");
        }
        let mut ratios: Vec<f64> = got[0]
            .iter()
            .zip(&got[1])
            .map(|(e, p)| e.wall.as_secs_f64() / p.wall.as_secs_f64())
            .collect();
        let m = median(&mut ratios);
        let (lo_e, lo_p) = (stats(0).1, stats(1).1);
        println!(
            "{mode:<6} evident / plain: median of per-round ratios {m:.2}, ratio of minima {:.2} (target for numpy.save <= 1.5: {})",
            lo_e / lo_p,
            if m <= 1.5 { "met" } else { "MISSED" }
        );
    }
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The mapping of this process that holds `addr` (a /proc/self/maps line).
fn mapping_of(addr: usize) -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .find(|l| {
            let range = l.split_whitespace().next().unwrap_or("");
            let mut it = range
                .split('-')
                .map(|x| usize::from_str_radix(x, 16).unwrap_or(0));
            matches!((it.next(), it.next()), (Some(a), Some(b)) if a <= addr && addr < b)
        })
        .map(str::to_string)
}

/// Shows that the first access to a trace of the largest open file copies
/// nothing: where its bytes are, and resident memory around the access.
fn zero_copy_demo() {
    let Some(mb) = sizes("EVIDENT_BENCH_OPEN_MB", &[16, 256, 1024])
        .into_iter()
        .max()
    else {
        return;
    };
    let path = cached_session(mb);
    let rss = || (status_kb("RssAnon:"), status_kb("RssFile:"));
    println!(
        "\n-- first access without copying, {mb} MiB session ({})",
        path.display()
    );
    let r0 = rss();
    let t0 = Instant::now();
    let s = Session::load(&path, &LoadOptions::default()).expect("load");
    let t_load = t0.elapsed();
    let r1 = rss();
    let t1 = Instant::now();
    let t = s.trace("CH1").expect("CH1");
    let v = t.as_slice::<f64>().expect("f64");
    let x = black_box(v[0] + v[v.len() - 1]);
    let t_access = t1.elapsed();
    let r2 = rss();
    let ptr = v.as_ptr() as usize;
    println!(
        "load {:.3} ms; trace CH1 ({} samples, {} MiB): first+last sample in {:.1} us (sum {x:.3})",
        t_load.as_secs_f64() * 1e3,
        v.len(),
        std::mem::size_of_val(v) as u64 / MIB,
        t_access.as_secs_f64() * 1e6
    );
    println!(
        "is_mapped: {}; samples at {ptr:#x}, in mapping: {}",
        t.is_mapped(),
        mapping_of(ptr).unwrap_or_else(|| "NONE".into())
    );
    println!(
        "RssAnon / RssFile (KiB): before load {} / {}, after load {} / {}, after first access {} / {}",
        r0.0, r0.1, r1.0, r1.1, r2.0, r2.1
    );
    // Reading every sample faults in file pages (shared with the page
    // cache), still no anonymous copy.
    let sum: f64 = v.iter().step_by(512).sum();
    let r3 = rss();
    println!(
        "after reading one sample per 4 KiB page of CH1 (sum {sum:.1}): {} / {} (RssFile +{} MiB, RssAnon +{} KiB)",
        r3.0,
        r3.1,
        r3.1.saturating_sub(r2.1) / 1024,
        r3.0.saturating_sub(r2.0)
    );
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // Only when the whole bench runs (not for `--list` or a filter that
    // leaves the save group out).
    let args: Vec<String> = std::env::args().collect();
    if !bench_mode() || args.iter().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |group: &str, alone: &str| {
        filter.is_none_or(|f| group.contains(f.as_str()) || f.contains(group) || f == alone)
    };
    if wanted("session_save", "rounds") {
        alternating_rounds();
    }
    if wanted("session_first_access", "zero_copy") {
        zero_copy_demo();
    }
}
