//! The fuzz harness of the text readers of the TraceKit and RTGS
//! compatibility layers and of Markdown reports, shared by the cargo-fuzz
//! target `report_text` (`fuzz/fuzz_targets/report_text.rs` includes this
//! file with `#[path]`) and this test, which replays every input in
//! `tests/fixtures/fuzz-text/` and a few thousand random mutations of them.
//!
//! [`fuzz_one`] gives the bytes (as text) to `PyJson::parse` (TraceKit's
//! JSON dialect; what parses must dump to text that parses and dumps the
//! same), `ExportEntry::list_from_json` (TraceKit audit exports),
//! `report::entries_from_json`, the RTGS time, range and `.env` readers,
//! and, as a `.md` file, to `report::collect` (the entries embedded in a
//! Markdown report: what it reads renders back to a report that reads the
//! same). Checks: nothing panics; file errors name the file.
#![allow(dead_code)]
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

use std::path::{Path, PathBuf};

use evident::report::{collect, entries_from_json, render_markdown, ReportOptions};
use evident::tracekit::{ExportEntry, PyJson};

fn scratch_dir() -> PathBuf {
    thread_local! {
        static DIR: tempfile::TempDir = {
            let shm = Path::new("/dev/shm");
            let mut b = tempfile::Builder::new();
            b.prefix("evident-text-fuzz-");
            if shm.is_dir() {
                b.tempdir_in(shm).or_else(|_| b.tempdir()).unwrap()
            } else {
                b.tempdir().unwrap()
            }
        };
    }
    DIR.with(|d| d.path().to_path_buf())
}

/// The fuzz target. Panics on any broken invariant.
pub fn fuzz_one(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(v) = PyJson::parse(&text) {
        for sorted in [false, true] {
            let d = v.dumps(sorted);
            let back = PyJson::parse(&d)
                .unwrap_or_else(|e| panic!("dumps of a parsed value does not parse: {e}: {d}"));
            assert_eq!(back.dumps(sorted), d, "PyJson dumps round trip");
        }
    }
    let _ = ExportEntry::list_from_json(&text);
    let _ = entries_from_json(&text);
    let _ = evident::compat::parse_time(&text, "start");
    let _ = evident::compat::rtgs_range(Some(&text), None);
    let _ = evident::compat::rtgs_range(None, Some(&text));
    let _ = evident::compat::rtgs_dotenv(&text);
    let _ = evident::compat::rtgs_logging_enabled(Some(&text));
    let _ = evident::compat::secureml_file_name(&text);

    let dir = scratch_dir();
    let path = dir.join("fuzz-text.md");
    std::fs::write(&path, data).unwrap();
    match collect(std::slice::from_ref(&path), None, None) {
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.contains("fuzz-text"), "error names no file: {msg}");
        }
        Ok(c) if !c.entries.is_empty() => {
            // What a report holds renders into a report holding the same.
            let files = render_markdown(&c.entries, &[], &ReportOptions::default())
                .unwrap_or_else(|e| panic!("entries read from a report do not render: {e}"));
            let mut again = Vec::new();
            for (i, (_, _, md)) in files.iter().enumerate() {
                let p = dir.join(format!("fuzz-text-again-{i}.md"));
                std::fs::write(&p, md).unwrap();
                let back = collect(std::slice::from_ref(&p), None, None)
                    .unwrap_or_else(|e| panic!("a re-rendered report does not read: {e}"));
                again.extend(back.entries);
                let _ = std::fs::remove_file(&p);
            }
            assert_eq!(
                again.len(),
                c.entries.len(),
                "a re-rendered report holds another number of entries"
            );
        }
        Ok(_) => {}
    }
    let _ = std::fs::remove_file(&path);
}

#[cfg(test)]
#[path = "support/fuzz.rs"]
mod fuzz_support;

#[cfg(test)]
mod tests {
    use super::fuzz_support::*;
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::time::Duration;

    fn run(what: &str, input: &[u8]) {
        run_within(what, Duration::from_secs(1), || fuzz_one(input));
    }

    #[test]
    fn text_fuzz_regressions() {
        let files = fixtures("fuzz-text");
        assert!(files.len() >= 5, "fixtures missing");
        for (p, b) in &files {
            run(&p.display().to_string(), b);
        }
    }

    fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
        let mut b = seeds[rng.gen_range(0..seeds.len())].clone();
        for _ in 0..rng.gen_range(1..4) {
            let len = b.len();
            match rng.gen_range(0..5) {
                0 if len > 0 => {
                    let i = rng.gen_range(0..len);
                    b[i] ^= 1 << rng.gen_range(0..8);
                }
                1 if len > 0 => {
                    let i = rng.gen_range(0..len);
                    let j = rng.gen_range(i..=len.min(i + 16));
                    b.drain(i..j);
                }
                2 if len > 0 => {
                    let i = rng.gen_range(0..len);
                    if let Some(p) = b[i..].iter().position(u8::is_ascii_digit) {
                        let tok: &[u8] = [
                            b"0".as_slice(),
                            b"1e400",
                            b"-0.0",
                            b"99999999999999999999999",
                            b"5e-324",
                            b"NaN",
                        ][rng.gen_range(0..6)];
                        b.splice(i + p..i + p + 1, tok.iter().copied());
                    }
                }
                _ => {
                    let i = rng.gen_range(0..=len);
                    let tok: &[u8] = [
                        b"\n".as_slice(),
                        b"-->",
                        b"<!-- evident-entries -->\n",
                        b"\"\\ud800\"",
                        b"[",
                        b"{",
                        b"\\",
                        b"Infinity",
                        b"T24:00:00",
                    ][rng.gen_range(0..9)];
                    b.splice(i..i, tok.iter().copied());
                }
            }
        }
        b
    }

    #[test]
    fn text_random_mutations() {
        let seeds: Vec<Vec<u8>> = fixtures("fuzz-text").into_iter().map(|(_, b)| b).collect();
        let (cases, seed) = cases_and_seed(2000, 0x7E47_0001);
        let mut rng = StdRng::seed_from_u64(seed);
        for case in 0..cases {
            let input = mutate(&mut rng, &seeds);
            run(&format!("case {case} of seed {seed}"), &input);
        }
    }

    /// Writes the hand-made seeds into `tests/fixtures/fuzz-text/` (run
    /// with `--ignored` to regenerate them).
    #[test]
    #[ignore]
    fn write_text_seed_fixtures() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-text");
        std::fs::create_dir_all(&dir).unwrap();
        let put = |name: &str, body: &[u8]| std::fs::write(dir.join(name), body).unwrap();
        let json = r#"[{"seq":0,"ts":"2024-01-02T03:04:05.000000Z","event_type":"run","action":"fit","actor":"ana","source":"lab","details":{"x":[1,2.5,"a --> b"],"n":null},"note":"line1\n<!-- evident-entries -->"},{"seq":1,"ts":"2024-01-03T00:00:00Z","event_type":"run","success":false,"error":"boom","duration_ms":12.5}]"#;
        put("seed-entries.json", json.as_bytes());
        let es = entries_from_json(json).unwrap();
        let files = render_markdown(&es, &[], &ReportOptions::default()).unwrap();
        put("seed-report.md", files[0].2.as_bytes());
        put(
            "seed-tracekit-export.json",
            br#"[{"timestamp": "2024-01-02T03:04:05.123456", "action": "load", "user": "u", "host": "h", "details": {"f": NaN, "g": -Infinity, "big": 123456789012345678901234567890, "s": "\ud800"}, "previous_hash": "0000", "hmac": "ab"}]"#,
        );
        put(
            "seed-pyjson-floats",
            b"[1e16, 0.1, 5e-324, 1.7976931348623157e308, -0.0, 1E+2]",
        );
        put("seed-time", b"2024-02-29T12:34:56.789+05:30");
        put("seed-day", b"2024-02-29");
        put(
            "seed-dotenv",
            b"# c\nexport POSTGRES_HOST='db'\nPOSTGRES_PORT=\"5432\"\nX\n=y\n",
        );
    }
}

/// A FIFO given as a report input is refused at once: `collect` opened it
/// with a blocking open(2), which waits for a writer forever.
#[cfg(all(test, unix))]
mod fifo {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_fifo_report_input_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["fifo.md", "fifo.jsonl"] {
            let p = dir.path().join(name);
            let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
            let (tx, rx) = std::sync::mpsc::channel();
            let q = p.clone();
            std::thread::spawn(move || {
                let _ = tx.send(collect(&[q], None, None).map(|_| ()));
            });
            let r = rx.recv_timeout(Duration::from_secs(5));
            if r.is_err() {
                let _ = std::fs::OpenOptions::new().write(true).open(&p);
            }
            let e = r
                .unwrap_or_else(|_| panic!("{name}: reading a FIFO hangs"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(name) && e.contains("not a regular file"),
                "{name}: {e}"
            );
        }
    }
}
