//! Buffered appends per CPU-second on one thread (issue 12's target: 1M):
//! `cargo run --release --example append_rate [N] [DIR]`. Entries carry
//! 199 bytes of details as in `benches/engine.rs`; prints wall and CPU rates.

use std::time::Instant;

use evident::{Durability, Event, Log, OpenOptions};
use serde_json::json;

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = args
        .next()
        .unwrap_or_else(|| std::env::temp_dir().display().to_string());
    let path = std::path::Path::new(&dir).join(format!("append-rate-{}.jsonl", std::process::id()));
    let mut o = OpenOptions::new().durability(Durability::Buffered);
    o.actor = Some("user:alice".into());
    o.host = Some("bench-host".into());
    o.buffer_size = 1 << 20;
    let log = Log::open(&path, o).expect("open");
    let ev = Event::new("ACTION_EXECUTED", "load_trace")
        .session("s-0001")
        .details(json!({
            "instrument": "HPLC-7 (serial 4711-0815)", "sample": "S-2024-000123",
            "file": "/data/runs/2024/06/run-000123.raw", "injections": 3, "passed": true,
            "tags": ["gmp", "release", "batch-17"], "note": "x".repeat(44)
        }));
    let (c0, t0) = (cpu_seconds(), Instant::now());
    for _ in 0..n {
        log.append(&ev).expect("append");
    }
    log.sync().expect("sync");
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    log.close().expect("close");
    let _ = std::fs::remove_file(&path);
    // The writer's lock file (`<log>.lock`) stays after close: remove it too.
    let mut lock = path.clone().into_os_string();
    lock.push(".lock");
    let _ = std::fs::remove_file(lock);
    println!(
        "rust Buffered append, 1 thread: {n} entries, {:.0}/s wall, {:.0} per CPU-second",
        n as f64 / wall,
        n as f64 / cpu
    );
}
