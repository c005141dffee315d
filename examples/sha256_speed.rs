//! Whether the `sha2` crate uses the CPU's SHA extensions (SHA-NI): prints
//! the CPU features `sha2`'s detection looks for and the crate's SHA-256
//! throughput over one large buffer and over record-sized pieces (as
//! `evident verify` hashes them), for comparison with
//! `openssl dgst -sha256` (which uses SHA-NI when the CPU has it).
//! Portable SHA-256 runs at roughly a third of the SHA-NI speed.
//!
//! `cargo run --release --example sha256_speed [MiB] [record bytes]`

use sha2::{Digest, Sha256};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(256);
    let rec: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(480);
    #[cfg(target_arch = "x86_64")]
    println!(
        "cpu: sha={} sse2={} ssse3={} sse4.1={} (sha2 uses SHA-NI when all are present)",
        std::arch::is_x86_feature_detected!("sha"),
        std::arch::is_x86_feature_detected!("sse2"),
        std::arch::is_x86_feature_detected!("ssse3"),
        std::arch::is_x86_feature_detected!("sse4.1"),
    );
    let buf: Vec<u8> = (0..mib << 20).map(|i| (i * 31 + i / 7) as u8).collect();
    for round in 0..3 {
        let t = Instant::now();
        let whole = Sha256::digest(&buf);
        let s_whole = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut x = 0u8;
        for piece in buf.chunks(rec) {
            x ^= Sha256::digest(piece)[0];
        }
        let s_rec = t.elapsed().as_secs_f64();
        println!(
            "round {round}: one buffer {:.0} MB/s, {rec}-byte records {:.0} MB/s ({:02x}{:02x})",
            buf.len() as f64 / s_whole / 1e6,
            buf.len() as f64 / s_rec / 1e6,
            whole[0],
            x
        );
    }
}
