//! Verification hardening (issue 9): deleted entries hidden behind an
//! unreadable span, thread counts the OS refuses or that are absurd.

mod support;

use std::fs;

use evident::{verify, Framing, HashAlg, ViolationKind};
use support::*;

/// Replaces entries `from..=to` of `b` with `filler`.
fn replace_entries(b: &Built, from: usize, to: usize, filler: &[u8]) -> Vec<u8> {
    let mut out = b.bytes[..b.start(from) as usize].to_vec();
    out.extend_from_slice(filler);
    out.extend_from_slice(&b.bytes[b.end(to) as usize..]);
    out
}

#[test]
fn entries_deleted_behind_an_unreadable_span_are_a_seq_gap() {
    let dir = scratch();
    for cfg in [
        Cfg::new(Framing::Jsonl, HashAlg::HmacSha256),
        Cfg::new(Framing::Binary, HashAlg::HmacSha512),
    ] {
        let b = build(dir.path(), cfg, 100);
        // Entries 11..=60 replaced by one unreadable line / damaged region
        // too short to hold two records (spec § 9.4).
        let filler: Vec<u8> = match cfg.framing {
            Framing::Jsonl => {
                let mut f = vec![0u8; 200];
                f.push(b'\n');
                f
            }
            Framing::Binary => vec![0u8; 60],
        };
        let bytes = replace_entries(&b, 11, 60, &filler);
        let path = write_case(dir.path(), "deleted", &bytes);
        for threads in [1, 2, 3] {
            let r = verify(&path, &cfg.verify_all().threads(threads)).unwrap();
            let kinds: Vec<_> = r.violations.iter().map(|v| v.kind).collect();
            assert_eq!(
                kinds,
                [ViolationKind::Malformed, ViolationKind::SeqGap],
                "{cfg:?} threads {threads}: {}",
                describe(&r)
            );
            assert_eq!(r.violations_total, 2);
            assert_eq!(r.violations[0].offset, b.start(11));
            assert_eq!(r.violations[0].line, cfg.line_of(11));
            let gap = &r.violations[1];
            assert_eq!(gap.seq, Some(61));
            assert_eq!(gap.offset, b.start(11) + filler.len() as u64);
            assert!(
                gap.message.contains("49 entries are missing"),
                "{}",
                gap.message
            );
            assert_eq!(r.entries, 50);
        }
        // One entry replaced by one unreadable span: damage, no gap.
        let bytes = replace_entries(&b, 11, 11, &filler);
        fs::write(&path, &bytes).unwrap();
        let r = verify(&path, &cfg.verify_all()).unwrap();
        assert_eq!(r.violations_total, 1, "{}", describe(&r));
        assert_eq!(r.violations[0].kind, ViolationKind::Malformed);
        // Two entries deleted after one unreadable span: a gap of one.
        let bytes = replace_entries(&b, 11, 12, &filler);
        fs::write(&path, &bytes).unwrap();
        let r = verify(&path, &cfg.verify_all()).unwrap();
        assert_eq!(r.violations_total, 2, "{}", describe(&r));
        assert!(r.violations[1].message.contains("1 entry is missing"));
        // An entry replayed after damage: seq goes back.
        let mut bytes = replace_entries(&b, 11, 11, &filler);
        let again = b.record(5).to_vec();
        let at = b.start(11) as usize + filler.len();
        bytes.splice(at..at, again);
        fs::write(&path, &bytes).unwrap();
        let r = verify(&path, &cfg.verify_all()).unwrap();
        let kinds: Vec<_> = r.violations.iter().map(|v| v.kind).collect();
        assert_eq!(
            kinds,
            [
                ViolationKind::Malformed,
                ViolationKind::SeqGap,
                ViolationKind::SeqGap
            ],
            "{}",
            describe(&r)
        );
        // Entries 11..=60 overwritten in place with zeros (a lost write):
        // the damage can hold them all, so it is damage, not a gap.
        let mut bytes = b.bytes.clone();
        bytes[b.start(11) as usize..b.end(60) as usize - 1].fill(0);
        fs::write(&path, &bytes).unwrap();
        let r = verify(&path, &cfg.verify_all()).unwrap();
        assert_eq!(r.violations_total, 1, "{}", describe(&r));
        assert_eq!(r.violations[0].kind, ViolationKind::Malformed);
    }
}

#[test]
fn a_flipped_newline_is_damage_not_a_gap() {
    let dir = scratch();
    let cfg = Cfg::new(Framing::Jsonl, HashAlg::Sha256);
    let b = build(dir.path(), cfg, 20);
    let mut bytes = b.bytes.clone();
    // Lines 6 and 7 become one unreadable line.
    bytes[b.end(5) as usize - 1] = b'\x0b';
    let path = write_case(dir.path(), "flip", &bytes);
    let r = verify(&path, &cfg.verify_all()).unwrap();
    assert_eq!(r.violations_total, 1, "{}", describe(&r));
    assert_eq!(r.violations[0].kind, ViolationKind::Malformed);
    assert_eq!(r.entries, 18);
}

#[cfg(feature = "cli")] // runs the `evident` command
fn evident_bin() -> &'static str {
    env!("CARGO_BIN_EXE_evident")
}

#[cfg(feature = "cli")] // runs the `evident` command
#[test]
fn cli_verify_with_absurd_thread_counts() {
    let dir = scratch();
    for cfg in [CFGS[0], CFGS[2]] {
        let b = build(dir.path(), cfg, 50);
        for threads in ["100000", "18446744073709551615", "0", "1"] {
            let out = std::process::Command::new(evident_bin())
                .arg("verify")
                .arg(&b.path)
                .args(["--threads", threads])
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(0),
                "--threads {threads}: {stdout} {stderr}"
            );
            assert!(stdout.contains("valid: 50 entries"), "{stdout}");
            assert!(stderr.is_empty(), "{stderr}");
        }
    }
}

/// Under a small address-space limit the OS refuses thread stacks: verify
/// falls back to fewer threads (down to the calling one) instead of
/// panicking. The limits tried go from "cannot start" to "threads start".
/// Unix only: the limit is set with `sh -c "ulimit -v"` (Windows has no
/// address-space limit a shell could set).
#[cfg(all(unix, feature = "cli"))] // runs the `evident` command
#[test]
fn cli_verify_when_the_os_refuses_threads() {
    let dir = scratch();
    let cfg = CFGS[2];
    let b = build(dir.path(), cfg, 50);
    // The smallest limit under which the command starts at all (the debug
    // binary with every feature maps well over 40 MiB), then 34 MiB above
    // it in 500 KiB steps: from "threads cannot start" to "they start".
    let base = smallest_address_space_kib(evident_bin().as_ref());
    let mut ok = 0;
    for kib in (base..=base + 34_000).step_by(500) {
        let path = b.path.to_str().unwrap();
        let args = ["verify", path, "--threads", "4"];
        let out = run_under_ulimit(evident_bin().as_ref(), "-v", kib, &args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("internal error"),
            "ulimit -v {kib}: {stderr}"
        );
        if out.status.code() == Some(0) {
            assert!(stdout.contains("valid: 50 entries"), "{stdout}");
            ok += 1;
        }
    }
    assert!(ok > 0, "verify never ran under any limit");
}

/// A log of several verification chunks (1 MiB) under an address-space
/// limit: the chunk buffers can be refused, not only the threads. Before,
/// `verify --threads 4` aborted ("memory allocation of 4194304 bytes
/// failed") under limits where `--threads 1` verified the log, and both
/// aborted below that. Now the first chunk is read before the threads
/// start, the chunks in flight shrink to what memory allows, and a buffer
/// refused with nothing in flight is an error naming the file. (An abort
/// for a small allocation right at the edge, or in the C library as a
/// thread starts, is not what this is about.)
#[cfg(all(unix, feature = "cli"))] // runs the `evident` command
#[test]
fn cli_verify_when_the_os_refuses_chunk_buffers() {
    let dir = scratch();
    let path = dir.path().join("chunks.jsonl");
    let log =
        evident::Log::open(&path, Cfg::new(Framing::Jsonl, HashAlg::Sha256).open_opts()).unwrap();
    // About 12 MiB: twelve chunks.
    let pad = "p".repeat(4000);
    for i in 0..3000 {
        let e = evident::Event::new("ACTION_EXECUTED", "act")
            .details(serde_json::json!({"i": i, "pad": pad}));
        log.append(&e).unwrap();
    }
    log.close().unwrap();
    let base = smallest_address_space_kib(evident_bin().as_ref());
    let (mut ok, mut refused) = (0, 0);
    // Steps smaller than a chunk buffer, so that some limit falls between
    // "the threads start" and "their buffers fit"; from below `base`,
    // which is found in steps of 2 MiB.
    for kib in (base.saturating_sub(2_000)..=base + 12_000).step_by(250) {
        for threads in ["1", "4"] {
            let args = ["verify", path.to_str().unwrap(), "--threads", threads];
            let out = run_under_ulimit(evident_bin().as_ref(), "-v", kib, &args);
            let at = format!("ulimit -v {kib}, --threads {threads}");
            match under_memory_limit(&at, &path.to_string_lossy(), &out) {
                UnderLimit::Ran => {
                    let stdout = String::from_utf8_lossy(&out.stdout);
                    assert!(stdout.contains("valid: 3000 entries"), "{at}: {stdout}");
                    ok += 1;
                }
                UnderLimit::Refused => refused += 1,
                UnderLimit::Other(_) => {}
            }
        }
    }
    assert!(ok > 0, "verify never ran under any limit");
    assert!(refused > 0, "no limit was low enough to refuse a buffer");
}
