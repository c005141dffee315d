//! The trace-import fuzz harness, shared by the cargo-fuzz target
//! `import_trace` (`fuzz/fuzz_targets/import_trace.rs` includes this file
//! with `#[path]`) and this test, which replays every input in
//! `tests/fixtures/fuzz-import/` (crash inputs found by the fuzzer and
//! hand-made seeds) and a few thousand random mutations of them.
//!
//! [`fuzz_one`]: the first input byte picks what the rest becomes
//! ([`build`]): bits 0–1 the file type (`.csv`, `.npy`, `.sr`, `.wfm`),
//! bit 2 whether the bytes are the file as they are (0) or a description
//! the harness turns into a well-framed file of that type (1):
//!
//! - `.csv`: the bytes as they are either way;
//! - `.npy`: a valid preamble (version from the second byte) and a header
//!   length that fits, then the rest up to the first 0xFF as the header
//!   dict text, and what follows as the samples;
//! - `.sr`: a ZIP archive (stored or deflated) whose members are the rest
//!   split at 0xFF bytes into name, content, name, content, …
//!   (the CRCs and sizes right, so the reader gets to what they say);
//! - `.wfm`: a valid `:WFM#003` file (or `:WFM#002`/`:WFM#001`, either byte
//!   order) of a few samples, whose header fields (byte order mark,
//!   version, bytes per sample, curve offset, frame count, format code,
//!   scales, data offsets) the rest overwrites, five bytes a field.
//!
//! Bits 3–5 of the first byte pick the [`ImportOptions`] (none, a sample
//! rate, a bad sample rate, a channel by name or index, `lazy`).
//!
//! Checks: nothing panics; every error names the file; a trace that reads
//! has as many sample bytes as its length and type say and a finite
//! positive sample rate (the option's when the file has none).
#![allow(dead_code)]
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use evident::session::*;

/// The longest a single input may take (flagged by the tests).
pub const SLOW: Duration = Duration::from_secs(1);

pub const KINDS: [&str; 4] = ["csv", "npy", "sr", "wfm"];

fn scratch_dir() -> PathBuf {
    thread_local! {
        static DIR: tempfile::TempDir = {
            let shm = Path::new("/dev/shm");
            let mut b = tempfile::Builder::new();
            b.prefix("evident-import-fuzz-");
            if shm.is_dir() {
                b.tempdir_in(shm).or_else(|_| b.tempdir()).unwrap()
            } else {
                b.tempdir().unwrap()
            }
        };
    }
    DIR.with(|d| d.path().to_path_buf())
}

/// The options picked by bits 3–5 of the selector.
pub fn options(sel: u8, data: &[u8]) -> ImportOptions {
    let mut o = ImportOptions::default();
    match (sel >> 3) & 7 {
        1 => o.sample_rate = Some(1000.0),
        2 => {
            o.sample_rate =
                Some([0.0, -1.0, f64::NAN, f64::INFINITY, 1e-300, 1e300][data.len() % 6])
        }
        3 => o.channel = Some(ChannelSel::Name("D0".into())),
        4 => {
            o.channel = Some(ChannelSel::Index(
                data.first().copied().unwrap_or(0) as usize % 9,
            ))
        }
        5 => o.channel = Some(ChannelSel::Name("A0".into())),
        6 => o.lazy = true,
        7 => o.channel = Some(ChannelSel::Index(usize::MAX)),
        _ => {}
    }
    o
}

/// A minimal `:WFM#003` file of `samples` (int16, little-endian): the
/// layout of `src/session/capture.rs`'s test helper `wfm_bytes`.
pub fn wfm_bytes(samples: &[i16], vscale: f64, voffset: f64, dt: f64) -> Vec<u8> {
    const H: usize = 838;
    let mut h = vec![0u8; H];
    h[0..2].copy_from_slice(&0x0F0Fu16.to_le_bytes());
    h[2..10].copy_from_slice(b":WFM#003");
    h[15] = 2;
    h[16..20].copy_from_slice(&(H as i32).to_le_bytes());
    h[114..118].copy_from_slice(&1u32.to_le_bytes());
    h[118..122].copy_from_slice(&1u32.to_le_bytes());
    h[122..126].copy_from_slice(&2u32.to_le_bytes());
    h[168..176].copy_from_slice(&vscale.to_le_bytes());
    h[176..184].copy_from_slice(&voffset.to_le_bytes());
    h[240..244].copy_from_slice(&0i32.to_le_bytes());
    h[488..496].copy_from_slice(&dt.to_le_bytes());
    h[496..504].copy_from_slice(&0f64.to_le_bytes());
    let pre = 16u32 * 2;
    let post = pre + samples.len() as u32 * 2;
    h[822..826].copy_from_slice(&pre.to_le_bytes());
    h[826..830].copy_from_slice(&post.to_le_bytes());
    h[830..834].copy_from_slice(&(post + 32).to_le_bytes());
    let mut out = h;
    out.extend(std::iter::repeat_n(0u8, pre as usize));
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out.extend(std::iter::repeat_n(0u8, 32));
    out
}

/// The header fields of a `:WFM#003` file the structured `.wfm` variant
/// overwrites: (offset, size).
const WFM_FIELDS: [(usize, usize); 16] = [
    (0, 2),   // byte-order mark
    (2, 8),   // version (":WFM#00" + the byte)
    (15, 1),  // bytes per sample
    (16, 4),  // curve buffer offset
    (72, 4),  // frames - 1
    (240, 4), // format code
    (168, 8), // vscale
    (176, 8), // voffset
    (488, 8), // tscale
    (496, 8), // tstart
    (822, 4), // data start
    (826, 4), // data end
    (830, 4), // curve buffer end
    (804, 4), // (near the offsets in older layouts)
    (808, 4),
    (812, 4),
];

fn build_wfm(data: &[u8]) -> Vec<u8> {
    let (n, rest) = match data.split_first() {
        Some((n, r)) => (*n as usize, r),
        None => (4, data),
    };
    let samples: Vec<i16> = (0..n % 80).map(|i| (i as i16).wrapping_mul(997)).collect();
    let mut b = wfm_bytes(&samples, 0.01, -0.5, 1e-6);
    for c in rest.chunks(5) {
        let (f, v) = (c[0] as usize % WFM_FIELDS.len(), &c[1..]);
        let (at, size) = WFM_FIELDS[f];
        match (at, v) {
            // The version: one of the known ones, or the byte as it is.
            (2, [x, ..]) => {
                let d = match x % 5 {
                    0 => b'1',
                    1 => b'2',
                    2 => b'3',
                    _ => *x,
                };
                b[2..10].copy_from_slice(&[b':', b'W', b'F', b'M', b'#', b'0', b'0', d]);
            }
            // The byte-order mark: little, big or the bytes.
            (0, [x, ..]) => {
                let m: [u8; 2] = match x % 3 {
                    0 => [0x0F, 0x0F],
                    1 => [0xF0, 0xF0],
                    _ => [*x, x.wrapping_add(1)],
                };
                b[0..2].copy_from_slice(&m);
            }
            // Floats: interesting values by index.
            (168 | 176 | 488 | 496, [x, ..]) => {
                let f = [
                    1.0,
                    0.0,
                    -1.0,
                    f64::NAN,
                    f64::INFINITY,
                    1e-300,
                    1e300,
                    f64::MIN_POSITIVE / 4.0,
                ][*x as usize % 8];
                b[at..at + 8].copy_from_slice(&f.to_le_bytes());
            }
            _ => {
                let mut w = [0u8; 8];
                let k = v.len().min(4);
                w[..k].copy_from_slice(&v[..k]);
                let val = u32::from_le_bytes(w[..4].try_into().unwrap());
                // Small values near the real ones half the time.
                let val = if val & 1 == 0 { (val >> 1) % 2048 } else { val };
                let bytes = val.to_le_bytes();
                let bytes = &bytes[..size.min(4)];
                b[at..at + bytes.len()].copy_from_slice(bytes);
            }
        }
    }
    b
}

fn build_npy(data: &[u8]) -> Vec<u8> {
    let (v, rest) = match data.split_first() {
        Some((v, r)) => (*v, r),
        None => (1, data),
    };
    let (dict, samples) = match rest.iter().position(|&b| b == 0xFF) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let mut out = b"\x93NUMPY".to_vec();
    match v % 3 {
        0 => {
            out.extend_from_slice(&[1, 0]);
            out.extend_from_slice(&(dict.len().min(65535) as u16).to_le_bytes());
        }
        1 => {
            out.extend_from_slice(&[2, 0]);
            out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
        }
        _ => {
            out.extend_from_slice(&[3, 0]);
            out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
        }
    }
    out.extend_from_slice(dict);
    out.extend_from_slice(samples);
    out
}

fn build_sr(data: &[u8]) -> Vec<u8> {
    let (flags, rest) = match data.split_first() {
        Some((f, r)) => (*f, r),
        None => (0, data),
    };
    let method = if flags & 1 == 0 {
        zip::CompressionMethod::Stored
    } else {
        zip::CompressionMethod::Deflated
    };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut parts = rest.split(|&b| b == 0xFF);
    let mut seen = std::collections::HashSet::new();
    while let Some(name) = parts.next() {
        let content = parts.next().unwrap_or(&[]);
        let name = String::from_utf8_lossy(name).into_owned();
        if !seen.insert(name.clone()) || z.start_file(name, opts).is_err() {
            continue;
        }
        let _ = z.write_all(content);
    }
    match z.finish() {
        Ok(c) => c.into_inner(),
        Err(_) => Vec::new(),
    }
}

/// The file kind and bytes for a selector byte and the rest of the input.
pub fn build(sel: u8, data: &[u8]) -> (&'static str, Vec<u8>) {
    let kind = KINDS[(sel & 3) as usize];
    if sel & 4 == 0 {
        return (kind, data.to_vec());
    }
    let b = match kind {
        "npy" => build_npy(data),
        "sr" => build_sr(data),
        "wfm" => build_wfm(data),
        _ => data.to_vec(),
    };
    (kind, b)
}

/// The fuzz target: the first byte picks the kind, framing and options.
/// Panics on any broken invariant.
pub fn fuzz_one(input: &[u8]) {
    let (sel, data) = match input.split_first() {
        Some((s, d)) => (*s, d),
        None => (0, input),
    };
    let (kind, bytes) = build(sel, data);
    let opts = options(sel, data);
    check(kind, &bytes, &opts);
}

/// Reads `bytes` as a `kind` file with `opts` and checks the result.
pub fn check(kind: &str, bytes: &[u8], opts: &ImportOptions) {
    let dir = scratch_dir();
    let path = dir.join(format!("fuzz-import.{kind}"));
    std::fs::write(&path, bytes).unwrap();
    let r = read_trace_file_with(&path, opts);
    match r {
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains("fuzz-import"),
                "{kind}: error names no file: {msg}"
            );
        }
        Ok(t) => {
            let n = t.len();
            let b = t
                .bytes()
                .unwrap_or_else(|e| panic!("{kind}: an imported trace's bytes: {e}"));
            assert_eq!(
                Some(b.len() as u64),
                t.dtype().byte_len(n),
                "{kind}: bytes for {n} samples of {}",
                t.dtype().name()
            );
            let rate = t.info().sample_rate;
            assert!(rate.is_finite() && rate > 0.0, "{kind}: sample rate {rate}");
            if let Some(want) = opts.sample_rate {
                assert!(
                    (rate - want).abs() <= 1e-9 * rate.max(want),
                    "{kind}: sample rate {rate}, option {want}"
                );
            }
            assert!(t.info().start_time.is_finite(), "{kind}: start time");
            // What imports goes into a session and back.
            let mut s = Session::new("fuzz");
            s.add_trace("t", t.clone())
                .unwrap_or_else(|e| panic!("{kind}: an imported trace does not add: {e}"));
            let _ = s.to_json();
        }
    }
    let _ = std::fs::remove_file(&path);
}

// ------------------------------------------------------------------ tests --

#[cfg(test)]
#[path = "support/fuzz.rs"]
mod fuzz_support;

#[cfg(test)]
mod tests {
    use super::fuzz_support::*;
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::time::Instant;

    /// Runs one input under the allocation guard and the time limit.
    fn run_guarded(what: &str, input: &[u8]) {
        let r = std::panic::catch_unwind(|| {
            take_largest();
            let t0 = Instant::now();
            fuzz_one(input);
            let took = t0.elapsed();
            let big = take_largest();
            assert!(big <= ALLOC_LIMIT, "an allocation of {big} bytes");
            assert!(took <= SLOW, "took {took:?}");
        });
        if let Err(e) = r {
            panic!("{what}: {}", panic_text(e));
        }
    }

    /// Every crash input the fuzzer found, and the hand-made seeds: as the
    /// fuzzer ran them, and with every other selector byte.
    #[test]
    fn import_fuzz_regressions() {
        let files = fixtures("fuzz-import");
        assert!(files.len() >= 8, "fixtures missing");
        for (p, b) in &files {
            run_guarded(&p.display().to_string(), b);
            if let Some((_, rest)) = b.split_first() {
                for sel in 0..64u8 {
                    let mut input = vec![sel];
                    input.extend_from_slice(rest);
                    run_guarded(&format!("{} as selector {sel}", p.display()), &input);
                }
            }
        }
    }

    /// Replays every file of the directory `EVIDENT_IMPORT_FUZZ_REPLAY`
    /// (a fuzzer corpus, say); nothing when unset.
    #[test]
    fn import_fuzz_replay_dir() {
        let Some(dir) = std::env::var_os("EVIDENT_IMPORT_FUZZ_REPLAY") else {
            return;
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for p in &files {
            let b = std::fs::read(p).unwrap();
            run_guarded(&p.display().to_string(), &b);
        }
        eprintln!("replayed {} inputs", files.len());
    }

    fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
        let mut b = seeds[rng.gen_range(0..seeds.len())].clone();
        for _ in 0..rng.gen_range(1..4) {
            let len = b.len();
            match rng.gen_range(0..7) {
                0 if len > 1 => {
                    let i = rng.gen_range(1..len);
                    b[i] ^= 1 << rng.gen_range(0..8);
                }
                1 if len > 1 => {
                    let i = rng.gen_range(1..len);
                    b[i] = rng.gen();
                }
                2 => b.truncate(rng.gen_range(1..=len.max(1))),
                3 => {
                    let i = rng.gen_range(1..=len.max(1)).min(len);
                    let n = rng.gen_range(1..16);
                    let ins: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
                    b.splice(i..i, ins);
                }
                4 if len > 2 => {
                    let i = rng.gen_range(1..len);
                    let j = rng.gen_range(i..=len.min(i + 64));
                    b.drain(i..j);
                }
                5 if len >= 9 => {
                    // A length or offset field: a u32 of an interesting value.
                    let i = rng.gen_range(1..len - 3);
                    let v: u32 =
                        [0, 1, 2, 7, 838, 0x7fff_ffff, 0x8000_0000, u32::MAX][rng.gen_range(0..8)];
                    b[i..i + 4].copy_from_slice(&v.to_le_bytes());
                }
                _ if len > 0 => {
                    // Another kind, framing or option.
                    b[0] = rng.gen();
                }
                _ => {}
            }
        }
        b.truncate(64 * 1024);
        b
    }

    /// Random mutations of the fixtures (a fixed seed; more with
    /// `EVIDENT_FUZZ_CASES`, another seed with `EVIDENT_FUZZ_SEED`).
    #[test]
    fn import_random_mutations() {
        let seeds: Vec<Vec<u8>> = fixtures("fuzz-import")
            .into_iter()
            .map(|(_, b)| b)
            .collect();
        let (cases, seed) = cases_and_seed(3000, 0x1A7E_F022);
        let mut rng = StdRng::seed_from_u64(seed);
        for case in 0..cases {
            let input = mutate(&mut rng, &seeds);
            run_guarded(&format!("case {case} of seed {seed}"), &input);
        }
    }

    /// Writes the hand-made seeds into `tests/fixtures/fuzz-import/` (run
    /// with `--ignored` to regenerate them).
    #[test]
    #[ignore]
    fn write_import_seed_fixtures() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-import");
        std::fs::create_dir_all(&dir).unwrap();
        let put = |name: &str, sel: u8, body: &[u8]| {
            let mut b = vec![sel];
            b.extend_from_slice(body);
            std::fs::write(dir.join(name), b).unwrap();
        };
        // CSV (raw).
        put(
            "seed-csv-time-value",
            0,
            b"time,value\n0,1.5\n0.001,2.5\n0.002,-3\n",
        );
        put("seed-csv-one-column", 0, b"v\n1\n2\n3\n4\n");
        put(
            "seed-csv-quoted",
            0,
            b"\"t\",\"v\"\n\"0\",\"1e3\"\n\"1e-3\",\"nan\"\n",
        );
        // npy: raw whole files and structured header text.
        let npy = |ver: u8, dict: &str, data: &[u8]| {
            let mut b = vec![0x93];
            b.extend_from_slice(b"NUMPY");
            b.extend_from_slice(&[ver, 0]);
            let mut d = dict.as_bytes().to_vec();
            let pre = if ver == 1 { 10 } else { 12 };
            while (pre + d.len() + 1) % 64 != 0 {
                d.push(b' ');
            }
            d.push(b'\n');
            if ver == 1 {
                b.extend_from_slice(&(d.len() as u16).to_le_bytes());
            } else {
                b.extend_from_slice(&(d.len() as u32).to_le_bytes());
            }
            b.extend_from_slice(&d);
            b.extend_from_slice(data);
            b
        };
        let f64s: Vec<u8> = [1.0f64, 2.0, 3.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        put(
            "seed-npy-f8",
            1,
            &npy(
                1,
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                &f64s,
            ),
        );
        put(
            "seed-npy-i2-big-v2",
            1,
            &npy(
                2,
                "{'descr': '>i2', 'fortran_order': True, 'shape': (1, 4), }",
                &[0, 1, 0, 2, 0, 3, 0, 4],
            ),
        );
        put(
            "seed-npy-b1",
            1,
            &npy(
                3,
                "{'descr': '|b1', 'fortran_order': False, 'shape': (4, 1), }",
                &[0, 1, 1, 0],
            ),
        );
        let mut s = vec![1u8];
        s.extend_from_slice(b"{'descr': '<u4', 'fortran_order': False, 'shape': (2,), }");
        s.push(0xFF);
        s.extend_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0]);
        put("seed-npy-structured", 1 | 4, &s);
        let mut s = vec![0u8];
        s.extend_from_slice(b"{'descr': [('a', '<f8')], 'shape': ((((2,),),),), }");
        s.push(0xFF);
        put("seed-npy-structured-nested", 1 | 4, &s);
        // sigrok: structured (member names and contents).
        let sr = |flags: u8, members: &[(&str, &[u8])]| {
            let mut b = vec![flags];
            for (i, (n, c)) in members.iter().enumerate() {
                if i > 0 {
                    b.push(0xFF);
                }
                b.extend_from_slice(n.as_bytes());
                b.push(0xFF);
                b.extend_from_slice(c);
            }
            b
        };
        let meta = b"[global]\nsigrok version=0.5.2\n\n[device 1]\ncapturefile=logic-1\ntotal probes=2\nsamplerate=1 MHz\ntotal analog=0\nprobe1=D0\nprobe2=D1\nunitsize=1\n";
        put(
            "seed-sr-logic",
            2 | 4,
            &sr(
                0,
                &[
                    ("version", b"2"),
                    ("metadata", meta),
                    ("logic-1-1", &[0, 1, 2, 3]),
                    ("logic-1-2", &[3, 2, 1, 0]),
                ],
            ),
        );
        put(
            "seed-sr-logic-channel",
            2 | 4 | (3 << 3),
            &sr(
                1,
                &[
                    ("version", b"2"),
                    ("metadata", meta),
                    ("logic-1", &[0, 1, 2, 3]),
                ],
            ),
        );
        let ameta = b"[device 1]\nsamplerate=20 kHz\ntotal analog=1\nanalog1=A0\nunitsize=2\n";
        let fl: Vec<u8> = [0.5f32, -1.0, 2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        put(
            "seed-sr-analog",
            2 | 4,
            &sr(1, &[("metadata", ameta), ("analog-1-1-1", &fl)]),
        );
        // The raw .sr of the structured logic seed.
        let raw = build_sr(
            &sr(
                1,
                &[
                    ("version", b"2"),
                    ("metadata", meta),
                    ("logic-1-1", &[0, 1, 2, 3]),
                ],
            )[1..],
        );
        put("seed-sr-raw", 2, &raw);
        // wfm: raw whole file, and structured field overwrites.
        let w = wfm_bytes(&[1, -2, 3, -4, 5, 6, 7, 8], 0.01, 0.0, 1e-6);
        put("seed-wfm-raw", 3, &w);
        put("seed-wfm-structured", 3 | 4, &[8, 2, 2]);
        put(
            "seed-wfm-structured-fields",
            3 | 4,
            &[40, 1, 1, 0, 0, 0, 2, 4, 0, 0, 0, 5, 4, 0, 0, 0],
        );
        put("seed-wfm-rate-option", 3 | 4 | (1 << 3), &[4]);
    }
}

/// A FIFO named like a capture file is refused at once: the importers
/// opened it with a blocking open(2), which waits for a writer forever.
#[cfg(all(test, unix))]
mod fifo {
    use super::*;

    #[test]
    fn a_fifo_capture_file_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        for kind in KINDS {
            let p = dir.path().join(format!("fifo.{kind}"));
            let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
            let (tx, rx) = std::sync::mpsc::channel();
            let q = p.clone();
            std::thread::spawn(move || {
                let _ = tx.send(read_trace_file_with(&q, &ImportOptions::default()).map(|_| ()));
            });
            let r = rx.recv_timeout(Duration::from_secs(5));
            if r.is_err() {
                // Let the blocked open return before failing.
                let _ = std::fs::OpenOptions::new().write(true).open(&p);
            }
            let e = r
                .unwrap_or_else(|_| panic!(".{kind}: reading a FIFO hangs"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("fifo.") && e.contains("not a regular file"),
                ".{kind}: {e}"
            );
        }
    }
}
