//! The hard tests of the session container: a saver SIGKILLed at random
//! moments, simulated power cuts, and tampering.
//!
//! 1. `crash_during_save` (sled style, like `tests/crash.rs`): the test
//!    binary re-runs itself as a child (`session_crash_child` with
//!    `EVIDENT_SESSION_CRASH_CHILD` set) that loads the session file and saves
//!    in a loop, each save changing something else ([`apply_step`]: traces of
//!    every sample type up to 3 MB, replaced, renamed, re-described or
//!    removed; annotations of every kind, locked layers; measurements;
//!    history with a limit; metadata; zstd on some saves; a compaction now
//!    and then). The content of version `v` is a deterministic function of
//!    `v`, so the parent rebuilds it and compares everything, sample by
//!    sample. After every successful save the child appends
//!    `version N commit HASH` to a side file and fsyncs it. The parent kills
//!    the child at random moments (often in the middle of a save) and then
//!    checks: every byte of the previous file is still in place or in a
//!    torn-tail sidecar; `verify_session` is ok (a torn tail is allowed); the
//!    newest version is at least the last acknowledged one, with the
//!    acknowledged commit hash and exactly the expected content; versions are
//!    consecutive and keep their commit hashes; an older version loads as it
//!    was. The next round continues on the same file.
//!    Knobs: `EVIDENT_SESSION_CRASH_ROUNDS` (rounds per file, keyless and
//!    keyed; default 55 each) and `EVIDENT_SESSION_CRASH_SEED`.
//! 2. Power cuts: truncation at every frame boundary and inside frames,
//!    zeroed tails, lost pages of an unsynced save.
//! 3. Tampering: a forged record with a recomputed keyless hash, forgeries of
//!    a keyed file, swapped sample bytes.
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use evident::session::*;
use evident::{Chain, Error, HashAlg, Key};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

// ------------------------------------------------------ deterministic content --

/// splitmix64: a tiny deterministic generator (the same in child and parent,
/// fast enough in debug builds to fill megabytes).
struct Mix(u64);

impl Mix {
    fn new(seed: u64) -> Mix {
        Mix(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// A float with a short decimal form or a full-precision one.
    fn float(&mut self) -> f64 {
        let mant = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        match self.below(4) {
            0 => (self.below(2001) as f64 - 1000.0) / 8.0,
            1 => mant * 1e-9,
            2 => -mant * 1e6,
            _ => mant,
        }
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// Whole microseconds: the files store timestamps with microseconds.
fn ts(v: u64, sub: u64) -> DateTime<Utc> {
    Utc.timestamp_micros(1_700_000_000_000_000 + v as i64 * 1_000_003 + sub as i64)
        .unwrap()
}

/// `len` samples of `dtype` from `seed` (bool samples are 0/1; packed bits
/// keep random bits past the last sample).
fn gen_samples(dtype: Dtype, len: u64, seed: u64) -> Vec<u8> {
    let n = dtype.byte_len(len).unwrap() as usize;
    let mut m = Mix::new(seed);
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        out.extend_from_slice(&m.next().to_le_bytes());
    }
    out.truncate(n);
    if dtype == Dtype::Bool {
        for b in &mut out {
            *b &= 1;
        }
    }
    out
}

const TRACE_NAMES: [&str; 8] = [
    "CH1",
    "CH2",
    "CH3",
    "CH4",
    "D0",
    "D1",
    "math/fft",
    "Ström ✓",
];
const LAYERS: [&str; 3] = ["default", "protocol", "marker \"quoted\""];

fn gen_trace(m: &mut Mix, v: u64) -> Trace {
    let dtype = Dtype::all()[m.below(12) as usize];
    let bytes = match m.below(100) {
        0..=4 => 0,
        5..=59 => m.below(4096),
        60..=84 => m.below(100_000),
        _ => m.below(3 << 20),
    };
    let len = match dtype.item_size() {
        Some(n) => bytes / n,
        None => (bytes * 8).saturating_sub(m.below(8)),
    };
    let mut info = TraceInfo::with_rate(1.0 + m.below(1_000_000_000) as f64 * 0.25);
    info.start_time = m.float();
    info.units = m.pick(&["V", "A", "", "°C", "mV/√Hz"]).to_string();
    info.metadata.insert("v".into(), json!(v));
    if m.chance(50) {
        info.metadata.insert(
            "probe".into(),
            json!({"gain": m.float(), "coupling": m.pick(&["AC", "DC"]), "tags": [1, "x", null]}),
        );
    }
    let data = gen_samples(dtype, len, m.next());
    Trace::from_bytes(dtype, len, &data, info).unwrap()
}

fn gen_annotation(m: &mut Mix, v: u64) -> Annotation {
    let mut a = Annotation::new(format!(
        "{} v{v}",
        m.pick(&["spike", "glitch \"x\"", "päckchen\nline 2", "", "\\ back"])
    ));
    let t = m.float();
    match m.below(6) {
        0 => a = a.at(t),
        1 => a = a.over(t, t + m.below(1000) as f64 * 0.5),
        2 => a = a.at(t).kind(AnnotationKind::Vertical),
        3 => a.amplitude = Some(m.float()),
        4 => {
            a = a.over(t, t + 1.0);
            a.amplitude_range = Some((-1.0, m.float().abs()));
        }
        _ => {}
    }
    if m.chance(30) {
        a.color = Some(m.pick(&["#ff0000", "red", "rgba(0,0,0,.5)"]).to_string());
    }
    if m.chance(30) {
        a.style = m.pick(&["dashed", "dotted"]).to_string();
    }
    a.visible = !m.chance(20);
    a.created_at = ts(v, 10 + m.below(1000));
    if m.chance(40) {
        a.metadata
            .insert("by".into(), json!({"user": "ana", "n": m.below(9)}));
    }
    a
}

fn gen_value(m: &mut Mix) -> Value {
    match m.below(7) {
        0 => json!(m.float()),
        1 => json!(m.below(1 << 40)),
        2 => json!("12.5 ns ± 0.1"),
        3 => json!([m.float(), null, true]),
        4 => json!({"min": m.float(), "max": m.float(), "n": m.below(99)}),
        5 => Value::Null,
        _ => json!(false),
    }
}

/// The change that turns version `v - 1` into version `v`. Depends only on
/// `v` and the session's content, never on where it is stored.
fn apply_step(s: &mut Session, v: u64) {
    let mut m = Mix::new(v.wrapping_mul(0xA24B_AED4_963E_E407));
    if v == 1 {
        s.set_history_limit(40);
    }
    if v % 10 == 1 {
        s.set_name(format!("crash session {}", v / 10));
    }
    s.metadata_mut().insert("last_version".into(), json!(v));
    let op = m.below(100);
    let names: Vec<String> = s.trace_names().iter().map(|n| n.to_string()).collect();
    match op {
        // A new trace, or a replacement of one with the same name.
        0..=34 => {
            let name = TRACE_NAMES[m.below(8) as usize];
            let t = gen_trace(&mut m, v);
            s.add_trace(name, t).unwrap();
        }
        // Remove, rename, or describe a trace differently (same samples).
        35..=44 if !names.is_empty() => {
            let name = &names[m.below(names.len() as u64) as usize];
            match m.below(3) {
                0 => {
                    s.remove_trace(name).unwrap();
                }
                1 => {
                    let t = s.remove_trace(name).unwrap();
                    s.add_trace(TRACE_NAMES[m.below(8) as usize], t).unwrap();
                }
                _ => {
                    let mut t = s.trace(name).unwrap().clone();
                    t.info_mut().units = format!("u{v}");
                    t.info_mut().sample_rate *= 2.0;
                    s.add_trace(name, t).unwrap();
                }
            }
        }
        // Annotations (a locked layer refuses them until unlocked).
        35..=69 => {
            let layer = LAYERS[m.below(3) as usize];
            let a = gen_annotation(&mut m, v);
            if s.layer(layer).is_some_and(|l| l.locked) {
                assert!(matches!(
                    s.annotate(layer, a.clone()),
                    Err(Error::LayerLocked { .. })
                ));
                s.set_layer(&LayerProps {
                    name: layer.into(),
                    locked: Some(false),
                    ..LayerProps::default()
                })
                .unwrap();
            }
            if s.layer(layer).is_some_and(|l| l.annotations.len() >= 24) {
                s.clear_layer(layer).unwrap();
            }
            s.annotate(layer, a).unwrap();
        }
        70..=79 => {
            let mut me = Measurement::new(
                m.pick(&["rise_time", "freq", "vpp", "jitter rms"]),
                gen_value(&mut m),
                m.pick(&["s", "Hz", "V", ""]),
            );
            me.trace_name = names.first().cloned().filter(|_| m.chance(60));
            if m.chance(40) {
                me.metadata
                    .insert("standard".into(), json!("IEEE 181-2011"));
            }
            me.recorded_at = ts(v, 1);
            s.record_measurement(me).unwrap();
        }
        // Layer properties (locking included), or a layer removed.
        80..=89 => {
            let layer = LAYERS[m.below(3) as usize];
            if m.chance(20) && s.layer(layer).is_some_and(|l| !l.locked) {
                s.remove_layer(layer).unwrap();
            } else {
                s.set_layer(&LayerProps {
                    name: layer.into(),
                    visible: Some(m.chance(70)),
                    locked: Some(m.chance(50)),
                    color: m.chance(50).then(|| format!("#{:06x}", m.below(1 << 24))),
                    description: m.chance(50).then(|| format!("set at v{v}")),
                })
                .unwrap();
            }
        }
        90..=93 => s.set_history_limit([0, 5, 20, 40][m.below(4) as usize]),
        _ => {
            let k = format!("k{}", m.below(5));
            if m.chance(30) {
                s.metadata_mut().remove(&k);
            } else {
                let val = gen_value(&mut m);
                s.metadata_mut().insert(k, val);
            }
        }
    }
    let mut h = HistoryEntry::new(format!("step_{op}"));
    h.parameters.insert("v".into(), json!(v));
    h.parameters.insert("op".into(), json!(op));
    h.result = gen_value(&mut m);
    h.timestamp = ts(v, 2);
    h.duration_ms = m.below(100_000) as f64 / 8.0;
    h.success = v % 7 != 0;
    if !h.success {
        h.error_message = Some(format!("failed at v{v}: \"quoted\""));
    }
    s.record_history(h).unwrap();
}

/// How version `v` is saved (zstd on some saves).
fn save_options(v: u64, key: Option<&Key>) -> SaveOptions<'static> {
    SaveOptions::default()
        .compress(match v % 5 {
            0 => Some(1),
            3 => Some(3),
            _ => None,
        })
        .key(key.cloned())
}

/// Compares everything but the timestamps the library sets itself
/// (`created_at`, `modified_at`) and where things are stored.
fn diff(want: &Session, got: &Session) -> Option<String> {
    if want.name() != got.name() {
        return Some(format!("name {:?} vs {:?}", want.name(), got.name()));
    }
    if want.metadata() != got.metadata() {
        return Some(format!(
            "metadata {:?} vs {:?}",
            want.metadata(),
            got.metadata()
        ));
    }
    if want.history_limit() != got.history_limit() {
        return Some("history limit".into());
    }
    if want.trace_names() != got.trace_names() {
        return Some(format!(
            "traces {:?} vs {:?}",
            want.trace_names(),
            got.trace_names()
        ));
    }
    for (name, t) in want.traces() {
        let u = got.trace(name).unwrap();
        if (t.dtype(), t.len(), t.info()) != (u.dtype(), u.len(), u.info()) {
            return Some(format!("trace {name}: {t:?} vs {u:?}"));
        }
        let (a, b) = (t.bytes().unwrap(), u.bytes());
        match b {
            Ok(b) if a == b => {}
            Ok(b) => {
                let i = a.iter().zip(b).position(|(x, y)| x != y);
                return Some(format!(
                    "trace {name}: samples differ (lengths {} {}, first difference at byte {i:?})",
                    a.len(),
                    b.len()
                ));
            }
            Err(e) => return Some(format!("trace {name}: bytes: {e}")),
        }
    }
    if want.layers() != got.layers() {
        return Some(format!(
            "layers\n{:#?}\nvs\n{:#?}",
            want.layers(),
            got.layers()
        ));
    }
    if want.measurements() != got.measurements() {
        return Some("measurements".into());
    }
    if want.history() != got.history() {
        return Some(format!(
            "history ({} vs {} entries)",
            want.history().len(),
            got.history().len()
        ));
    }
    None
}

fn key_opt(key: &Option<Key>, version: Option<u64>) -> LoadOptions {
    LoadOptions::default().key(key.clone()).version(version)
}

// ---------------------------------------- the file layout, read independently --

/// Data frames (spec/session.md § 2): tag, hash_len 32, flags 1, data_len,
/// pad_len, zero padding to a 64-byte boundary, data, SHA-256, CRC-32.
fn data_pad(at: u64) -> u64 {
    (64 - (at + 20) % 64) % 64
}

fn data_frame_head(at: u64, data_len: u64) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&u32::MAX.to_le_bytes());
    h.extend_from_slice(&32u16.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&data_len.to_le_bytes());
    h.extend_from_slice(&(data_pad(at) as u32).to_le_bytes());
    h.resize(20 + data_pad(at) as usize, 0);
    h
}

/// The SHA-256 and CRC trailer of a data frame whose 20 header bytes are
/// `head20`.
fn data_frame_tail(head20: &[u8], data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&head20[..20]);
    crc.update(&digest);
    let mut t = digest.to_vec();
    t.extend_from_slice(&crc.finalize().to_le_bytes());
    t
}

/// One frame of a well-formed session file.
#[derive(Debug, Clone)]
enum Frame {
    /// A record frame: its body and stored hash.
    Record {
        at: usize,
        end: usize,
        body: std::ops::Range<usize>,
        kind: String,
    },
    /// A data frame: where its data is.
    Data {
        at: usize,
        end: usize,
        data: std::ops::Range<usize>,
    },
}

impl Frame {
    fn at(&self) -> usize {
        match self {
            Frame::Record { at, .. } | Frame::Data { at, .. } => *at,
        }
    }
    fn end(&self) -> usize {
        match self {
            Frame::Record { end, .. } | Frame::Data { end, .. } => *end,
        }
    }
}

fn le32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// Every frame of a well-formed file, walked by the layout alone.
fn frames(b: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut at = 16;
    while at < b.len() {
        if le32(b, at) == u32::MAX as usize {
            let n = u64::from_le_bytes(b[at + 8..at + 16].try_into().unwrap()) as usize;
            let data_at = at + 20 + le32(b, at + 16);
            let end = data_at + n + 36;
            out.push(Frame::Data {
                at,
                end,
                data: data_at..data_at + n,
            });
            at = end;
        } else {
            let body_len = le32(b, at);
            let hash_len = u16::from_le_bytes([b[at + 4], b[at + 5]]) as usize;
            let end = at + 8 + body_len + hash_len + 8;
            assert_eq!(le32(b, end - 4), end - at, "frame length at {at}");
            let body = at + 8..at + 8 + body_len;
            let v: Value = serde_json::from_slice(&b[body.clone()]).unwrap();
            out.push(Frame::Record {
                at,
                end,
                body,
                kind: v["kind"].as_str().unwrap().to_string(),
            });
            at = end;
        }
    }
    assert_eq!(at, b.len(), "the last frame runs past the end");
    out
}

// ------------------------------------------------------------------ child --

const CHILD_ENV: &str = "EVIDENT_SESSION_CRASH_CHILD";
const CHILD_TEST: &str = "session_crash_child";
/// The child compacts the file after a save that leaves it larger.
const COMPACT_AT: u64 = 8 << 20;

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes()).unwrap();
    out.write_all(b"\n").unwrap();
    out.flush().unwrap();
}

/// The child role. Does nothing unless the parent set
/// `EVIDENT_SESSION_CRASH_CHILD`.
#[test]
fn session_crash_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    // Die with the parent test; never outlive a stuck parent.
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(300));
        std::process::exit(4);
    });
    let var = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("child: {n} not set"));
    let path = PathBuf::from(var("EVIDENT_SESSION_CRASH_PATH"));
    let acks = PathBuf::from(var("EVIDENT_SESSION_CRASH_ACKS"));
    let key = var("EVIDENT_SESSION_CRASH_KEY");
    let key = (!key.is_empty()).then(|| Key::new(hex::decode(key).unwrap()).unwrap());

    // The acknowledgement file: a line cut by an earlier kill stays alone on
    // its line (the parent ignores it).
    let mut side = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(&acks)
        .unwrap();
    let mut text = Vec::new();
    side.read_to_end(&mut text).unwrap();
    if text.last().is_some_and(|c| *c != b'\n') {
        side.write_all(b"\n").unwrap();
    }
    let ack = |side: &mut std::fs::File, line: String| {
        side.write_all(line.as_bytes()).unwrap();
        side.sync_data().unwrap();
    };

    let mut s = if path.exists() {
        match Session::load(&path, &key_opt(&key, None)) {
            Ok(s) => s,
            // The first save never completed.
            Err(Error::NotFound { .. }) => Session::new("new"),
            Err(e) => panic!("child load: {e}"),
        }
    } else {
        Session::new("new")
    };
    say(&format!("@ready {}", s.version().unwrap_or(0)));
    loop {
        let v = s.version().unwrap_or(0) + 1;
        apply_step(&mut s, v);
        // Samples over 1 MB not in the file yet: the save writes them in
        // one long write(2), which a kill can cut.
        let big = s.traces().any(|(_, t)| {
            !t.is_mapped() && !t.is_compressed() && t.bytes().unwrap().len() > 1 << 20
        });
        say(&format!("@saving {v}{}", if big { " big" } else { "" }));
        let info = s
            .save(Some(&path), &save_options(v, key.as_ref()))
            .unwrap_or_else(|e| panic!("child save of version {v}: {e}"));
        assert_eq!(info.version, v, "child: save numbered the version");
        ack(
            &mut side,
            format!("version {v} commit {}\n", info.commit.to_hex()),
        );
        say(&format!("@saved {v}"));
        if std::fs::metadata(&path).unwrap().len() > COMPACT_AT {
            say("@compacting");
            let c = compact(&path, key.as_ref()).unwrap_or_else(|e| panic!("child compact: {e}"));
            assert_eq!(c.version, v);
            ack(&mut side, format!("compacted {v} commit {}\n", c.commit));
            // Bound to the new file, so the next save appends only changes.
            s = Session::load(&path, &key_opt(&key, None)).unwrap();
            say("@compacted");
        }
    }
}

// ----------------------------------------------------------------- parent --

/// What the side file says.
#[derive(Debug, Default)]
struct Acks {
    /// Highest version whose save returned Ok.
    max: u64,
    /// Commit of each acknowledged version (the compacted commit after a
    /// compaction).
    commits: BTreeMap<u64, String>,
    /// Original commit of each compacted version.
    compacted_from: BTreeMap<u64, String>,
}

fn read_acks(path: &Path) -> Acks {
    let mut a = Acks::default();
    let text = std::fs::read(path).unwrap_or_default();
    for line in text.split_inclusive(|c| *c == b'\n') {
        if line.last() != Some(&b'\n') {
            continue;
        }
        let line = String::from_utf8_lossy(line);
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(&what), Some(v), Some(&"commit"), Some(&c), None) = (
            f.first(),
            f.get(1).and_then(|v| v.parse::<u64>().ok()),
            f.get(2),
            f.get(3),
            f.get(4),
        ) else {
            continue; // a line cut by a kill
        };
        if c.len() != 64 {
            continue;
        }
        match what {
            "version" => {
                a.max = a.max.max(v);
                a.commits.insert(v, c.to_string());
            }
            "compacted" => {
                if let Some(old) = a.commits.insert(v, c.to_string()) {
                    a.compacted_from.insert(v, old);
                }
            }
            _ => {}
        }
    }
    a
}

/// The file as the parent saw it after the previous round.
struct Prev {
    ino: u64,
    bytes: Vec<u8>,
    torn_at: Option<u64>,
}

#[derive(Debug, Default)]
struct Stats {
    rounds: u64,
    killed_before_ready: u64,
    killed_mid_save: u64,
    torn_tails: u64,
    sidecars_checked: u64,
    injected_torn_tails: u64,
    compactions_seen: u64,
    old_versions_checked: u64,
    /// (count, total ms) of saves seen from start to end: small, big.
    save_ms: [(u64, f64); 2],
    /// Seconds spent running children and checking after them.
    child_s: f64,
    check_s: f64,
}

struct Harness {
    name: String,
    _dir: tempfile::TempDir,
    path: PathBuf,
    acks: PathBuf,
    key: Option<Key>,
    rng: StdRng,
    seed: u64,
    /// The expected session at version `exp_v`, and recent versions.
    expected: Session,
    exp_v: u64,
    snapshots: BTreeMap<u64, Session>,
    /// Commit hash of every version seen in the file.
    seen: BTreeMap<u64, String>,
    max_loaded: u64,
    created_at: Option<DateTime<Utc>>,
    prev: Option<Prev>,
    /// Torn-tail sidecars already checked.
    sidecars: Vec<String>,
    stats: Stats,
}

struct Running {
    child: std::process::Child,
    rx: mpsc::Receiver<(Instant, String)>,
    out_thread: std::thread::JoinHandle<()>,
    err_thread: std::thread::JoinHandle<String>,
}

fn seed_for(name: &str) -> u64 {
    if let Ok(s) = std::env::var("EVIDENT_SESSION_CRASH_SEED") {
        return s
            .parse()
            .expect("EVIDENT_SESSION_CRASH_SEED must be a number");
    }
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

impl Harness {
    fn new(name: &str, key: Option<Key>) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let seed = seed_for(name);
        Harness {
            name: name.to_string(),
            path: dir.path().join("crash.evs"),
            acks: dir.path().join("acks.txt"),
            _dir: dir,
            key,
            rng: StdRng::seed_from_u64(seed),
            seed,
            expected: Session::new("new"),
            exp_v: 0,
            snapshots: BTreeMap::new(),
            seen: BTreeMap::new(),
            max_loaded: 0,
            created_at: None,
            prev: None,
            sidecars: Vec::new(),
            stats: Stats::default(),
        }
    }

    fn fail(&self, round: u64, msg: impl std::fmt::Display) -> ! {
        panic!(
            "{} round {round} (rerun with EVIDENT_SESSION_CRASH_SEED={}; files in {}): {msg}",
            self.name,
            self.seed,
            self.path.parent().unwrap().display()
        )
    }

    fn spawn(&self) -> Running {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "1")
            .env("EVIDENT_SESSION_CRASH_PATH", &self.path)
            .env("EVIDENT_SESSION_CRASH_ACKS", &self.acks)
            .env(
                "EVIDENT_SESSION_CRASH_KEY",
                self.key
                    .as_ref()
                    .map(|_| hex::encode(CRASH_KEY))
                    .unwrap_or_default(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel::<(Instant, String)>();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let out_thread = std::thread::spawn(move || {
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match stdout.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if buf.last() == Some(&b'\n') => {
                        let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                        let _ = tx.send((Instant::now(), line));
                    }
                    Ok(_) => break,
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let err_thread = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Running {
            child,
            rx,
            out_thread,
            err_thread,
        }
    }

    /// Runs one child and SIGKILLs it; returns its stdout lines.
    fn run_round(&mut self, round: u64) -> Vec<(Instant, String)> {
        let r = self.spawn();
        let mut lines = Vec::new();
        // How the kill is timed: 0 anywhere from the start (also during
        // startup, load and moving a torn tail aside); 1 shortly after the
        // k-th save started; 2 at a random moment after the load; 3 during
        // a save that writes megabytes of samples.
        let how = match self.rng.gen_range(0..100) {
            0..=9 => 0,
            10..=39 => 1,
            40..=64 => 2,
            _ => 3,
        };
        if how == 0 {
            std::thread::sleep(Duration::from_micros(self.rng.gen_range(0..20_000)));
        } else {
            let k = self.rng.gen_range(1..=8);
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut savings = 0;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match r.rx.recv_timeout(left) {
                    Ok((at, line)) => {
                        savings += line.contains("@saving") as u32;
                        let ready = line.contains("@ready");
                        let big = line.contains("@saving") && line.ends_with(" big");
                        lines.push((at, line));
                        if (how == 2 && ready)
                            || (how == 1 && savings == k)
                            || (how == 3 && (big || savings == 16))
                        {
                            break;
                        }
                    }
                    Err(_) => {
                        let Running {
                            mut child,
                            err_thread,
                            ..
                        } = r;
                        let _ = child.kill();
                        let _ = child.wait();
                        let err = err_thread.join().unwrap_or_default();
                        self.fail(round, format!("child stopped talking; stderr:\n{err}"));
                    }
                }
            }
            let delay = match how {
                1 => self.rng.gen_range(0..3_000),
                2 => self.rng.gen_range(0..60_000),
                _ => self.rng.gen_range(0..8_000),
            };
            std::thread::sleep(Duration::from_micros(delay));
        }
        let Running {
            mut child,
            rx,
            out_thread,
            err_thread,
        } = r;
        child.kill().unwrap();
        let status = child.wait().unwrap();
        out_thread.join().unwrap();
        let err = err_thread.join().unwrap_or_default();
        if status.signal() != Some(libc::SIGKILL) {
            self.fail(
                round,
                format!("child ended by itself ({status}) before the kill; stderr:\n{err}"),
            );
        }
        lines.extend(rx.try_iter());
        lines
    }

    /// Advances the expected session to version `v`.
    fn expect(&mut self, v: u64) -> &Session {
        while self.exp_v < v {
            self.exp_v += 1;
            apply_step(&mut self.expected, self.exp_v);
            self.snapshots.insert(self.exp_v, self.expected.clone());
            while self.snapshots.len() > 64 {
                self.snapshots.pop_first();
            }
        }
        &self.expected
    }

    /// Checks the torn-tail sidecars made since the previous round: each is
    /// named after the previous torn tail's offset and holds the start of
    /// its bytes (all of them unless a kill cut the copy); when the tail is
    /// no longer in the file, one sidecar holds all of it.
    fn check_sidecars(&mut self, round: u64, prev: &Prev, tail_in_place: bool) {
        let file_name = self
            .path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let prefix = format!("{file_name}.torn-");
        let mut all: Vec<(String, Vec<u8>)> = std::fs::read_dir(self.path.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&prefix))
            .map(|n| {
                let b = std::fs::read(self.path.with_file_name(&n)).unwrap();
                (n, b)
            })
            .collect();
        all.sort();
        let torn = prev.torn_at.map(|t| (t, &prev.bytes[t as usize..]));
        let mut complete = false;
        for (n, b) in &all {
            if self.sidecars.contains(n) {
                continue;
            }
            self.stats.sidecars_checked += 1;
            let Some((t, tail)) = torn else {
                self.fail(round, format!("sidecar {n} but the file had no torn tail"));
            };
            if !n.ends_with(&format!("-at-{t}")) || !tail.starts_with(b) {
                self.fail(
                    round,
                    format!(
                        "sidecar {n} ({} bytes) does not hold the start of the torn tail at {t} ({} bytes)",
                        b.len(),
                        tail.len()
                    ),
                );
            }
            complete |= b.len() == tail.len();
        }
        if let Some((t, tail)) = torn {
            let old_complete = all
                .iter()
                .any(|(n, b)| n.ends_with(&format!("-at-{t}")) && b.as_slice() == tail);
            if !tail_in_place && !complete && !old_complete {
                self.fail(
                    round,
                    format!(
                        "the torn tail at {t} ({} bytes) is gone and no sidecar holds it",
                        tail.len()
                    ),
                );
            }
        }
        self.sidecars = all.into_iter().map(|(n, _)| n).collect();
    }

    /// Appends what an interrupted save could have left (the start of a
    /// data frame, of a record frame, or zeros), for the next child to move
    /// aside.
    fn inject_torn_tail(&mut self, round: u64) {
        let p = self.prev.as_mut().unwrap();
        let at = p.bytes.len() as u64;
        let mut junk = match self.rng.gen_range(0..3) {
            0 => {
                let n = self.rng.gen_range(1..2_000_000u64);
                let mut f = data_frame_head(at, n);
                let k = self.rng.gen_range(0..n.min(70_000)) as usize;
                f.extend((0..k).map(|i| (i * 7) as u8));
                f
            }
            1 => {
                let body = format!(
                    "{{\"v\":1,\"seq\":999,\"prev\":\"{}\",\"kind\":\"section\",\"ts\":\"2024-01-01T00:00:00.000000Z\",\"section\":\"meta\",\"content\":{{}}}}",
                    "ab".repeat(32)
                );
                let mut f = Vec::new();
                let chain = Chain::new(HashAlg::Sha256, None).unwrap();
                evident::format::frame(
                    &mut f,
                    evident::Framing::Binary,
                    body.as_bytes(),
                    &chain.hash(body.as_bytes()),
                );
                f
            }
            _ => vec![0u8; self.rng.gen_range(1..9000)],
        };
        // A strict prefix: a complete frame would not be a torn write.
        junk.truncate(self.rng.gen_range(1..junk.len()));
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .unwrap();
        f.write_all(&junk).unwrap();
        drop(f);
        p.bytes.extend_from_slice(&junk);
        let want = *p.torn_at.get_or_insert(at);
        let r = verify_session(&self.path, self.key.as_ref()).unwrap();
        if !r.ok || r.torn_tail_at != Some(want) || r.head_version != Some(self.max_loaded) {
            self.fail(
                round,
                format!("after appending a torn tail at {want}: {r:?}"),
            );
        }
        self.stats.injected_torn_tails += 1;
    }

    fn check_round(&mut self, round: u64, lines: &[(Instant, String)]) {
        if !lines.iter().any(|(_, l)| l.contains("@ready")) {
            self.stats.killed_before_ready += 1;
        }
        let last_saving = lines.iter().rposition(|(_, l)| l.contains("@saving"));
        let last_saved = lines.iter().rposition(|(_, l)| l.contains("@saved"));
        if last_saving > last_saved {
            self.stats.killed_mid_save += 1;
        }
        for w in lines.windows(2) {
            if let [(t0, a), (t1, b)] = w {
                if a.starts_with("@saving") && b.starts_with("@saved") {
                    let ms = (*t1 - *t0).as_secs_f64() * 1e3;
                    let i = a.ends_with(" big") as usize;
                    self.stats.save_ms[i].0 += 1;
                    self.stats.save_ms[i].1 += ms;
                }
            }
        }
        let acks = read_acks(&self.acks);
        let prev = self.prev.take();
        if !self.path.exists() {
            if acks.max > 0 || prev.is_some() {
                self.fail(round, "the session file is gone");
            }
            return;
        }
        let bytes = std::fs::read(&self.path).unwrap();
        let ino = std::fs::metadata(&self.path).unwrap().ino();

        // 1. Nothing was rewritten or deleted: the previous file's valid
        //    bytes are still in place and its torn tail is either still
        //    there or in a sidecar, byte for byte. Only a compaction
        //    replaces the file (a new inode).
        let mut replaced = false;
        if let Some(p) = &prev {
            if p.ino != ino {
                // A compaction follows a save, and that save moved any torn
                // tail aside first.
                replaced = true;
                self.stats.compactions_seen += 1;
                self.check_sidecars(round, p, false);
            } else {
                let keep = p.torn_at.map_or(p.bytes.len(), |t| t as usize);
                if bytes.len() < keep || bytes[..keep] != p.bytes[..keep] {
                    self.fail(
                        round,
                        format!(
                            "bytes before offset {keep} changed (file {} -> {} bytes)",
                            p.bytes.len(),
                            bytes.len()
                        ),
                    );
                }
                let in_place = p.torn_at.is_none_or(|t| {
                    bytes.get(t as usize..p.bytes.len()) == Some(&p.bytes[t as usize..])
                });
                self.check_sidecars(round, p, in_place);
            }
        }

        // 2. The file verifies; a torn tail is allowed.
        let report = verify_session(&self.path, self.key.as_ref())
            .unwrap_or_else(|e| self.fail(round, format!("verify_session: {e}")));
        if !report.ok {
            self.fail(round, format!("verify_session: {:?}", report.problems));
        }
        self.stats.torn_tails += report.torn_tail_at.is_some() as u64;

        // 3. The newest version: at least the last acknowledged one.
        let loaded = match Session::load(&self.path, &key_opt(&self.key, None)) {
            Ok(s) => s,
            Err(Error::NotFound { .. }) if acks.max == 0 && report.versions == 0 => {
                self.prev = Some(Prev {
                    ino,
                    bytes,
                    torn_at: report.torn_tail_at,
                });
                return;
            }
            Err(e) => self.fail(
                round,
                format!("load after kill (acknowledged up to {}): {e}", acks.max),
            ),
        };
        let v = loaded.version().unwrap();
        let commit = loaded.commit().unwrap().to_hex();
        if v < acks.max || v < self.max_loaded {
            self.fail(
                round,
                format!(
                    "newest version {v}, but version {} was acknowledged and {} loaded before",
                    acks.max, self.max_loaded
                ),
            );
        }
        if report.head_version != Some(v) || report.head_commit.as_deref() != Some(&commit) {
            self.fail(round, "verify_session and load disagree on the head");
        }

        // 4. Versions are consecutive, keep their commits, and end here.
        let vs = versions(&self.path, self.key.as_ref())
            .unwrap_or_else(|e| self.fail(round, format!("versions: {e}")));
        let nums: Vec<u64> = vs.iter().map(|x| x.version).collect();
        let first = nums[0];
        if nums != (first..=v).collect::<Vec<_>>() {
            self.fail(round, format!("versions {nums:?}"));
        }
        if vs.last().unwrap().commit != commit {
            self.fail(round, "versions and load disagree on the newest commit");
        }
        for (i, x) in vs.iter().enumerate() {
            let acked = acks.commits.get(&x.version);
            let seen = self.seen.get(&x.version);
            match &x.compacted_from {
                None => {
                    if let Some(k) = [acked, seen]
                        .into_iter()
                        .flatten()
                        .find(|k| **k != x.commit)
                    {
                        self.fail(
                            round,
                            format!("version {} has commit {}, it was {k}", x.version, x.commit),
                        );
                    }
                }
                Some(cf) => {
                    // The compacted version is the file's first; it names
                    // the commit the child saved (and acknowledged before
                    // compacting).
                    let orig = acks.compacted_from.get(&x.version).or(acked);
                    if i != 0 || cf.version != x.version || orig != Some(&cf.commit) {
                        self.fail(
                            round,
                            format!(
                                "version {} (#{i}) compacted from {cf:?}; acknowledged as {orig:?}",
                                x.version
                            ),
                        );
                    }
                    if acked.is_some_and(|k| *k != x.commit && *k != cf.commit) {
                        self.fail(round, "compacted commit is not the acknowledged one");
                    }
                    match seen {
                        Some(k) if *k == x.commit => {}
                        Some(k) if *k == cf.commit && !replaced => {
                            self.fail(round, "compacted without replacing the file")
                        }
                        Some(k) if *k == cf.commit => {}
                        None => {}
                        Some(k) => {
                            self.fail(round, format!("version {} was {k}, now {x:?}", x.version))
                        }
                    }
                }
            }
        }
        if replaced && vs[0].compacted_from.is_none() {
            self.fail(round, "the file was replaced but is not a compacted file");
        }
        self.seen = vs.iter().map(|x| (x.version, x.commit.clone())).collect();
        self.max_loaded = v;

        // 5. Exactly the content of version v, samples included.
        if let Some(d) = diff(self.expect(v), &loaded) {
            self.fail(round, format!("version {v} content: {d}"));
        }
        match self.created_at {
            None => self.created_at = Some(loaded.created_at()),
            Some(c) if c != loaded.created_at() => {
                self.fail(round, "created_at changed between versions")
            }
            Some(_) => {}
        }
        // (verify_session hashed every data frame already; Trace::verify
        // now and then.)
        if round % 4 == 0 {
            for (name, t) in loaded.traces() {
                if let Err(e) = t.verify() {
                    self.fail(round, format!("trace {name}: verify: {e}"));
                }
            }
        }

        // 6. An older version still loads as it was.
        let older: Vec<u64> = nums
            .iter()
            .copied()
            .filter(|x| *x < v && self.snapshots.contains_key(x))
            .collect();
        if !older.is_empty() {
            let o = older[self.rng.gen_range(0..older.len())];
            let s = Session::load(&self.path, &key_opt(&self.key, Some(o)))
                .unwrap_or_else(|e| self.fail(round, format!("load version {o}: {e}")));
            if let Some(d) = diff(&self.snapshots[&o], &s) {
                self.fail(round, format!("old version {o} content: {d}"));
            }
            self.stats.old_versions_checked += 1;
        }

        self.prev = Some(Prev {
            ino,
            bytes,
            torn_at: report.torn_tail_at,
        });
    }
}

const CRASH_KEY: [u8; 32] = [0x6b; 32];

fn crash_rounds() -> u64 {
    std::env::var("EVIDENT_SESSION_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(55)
}

/// A saver killed at random moments, keyless and keyed (HMAC) files: every
/// acknowledged save survives with exactly its content, and nothing is
/// ever rewritten or deleted.
#[test]
fn crash_during_save() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    for (name, key) in [
        ("keyless", None),
        ("keyed", Some(Key::new(CRASH_KEY.to_vec()).unwrap())),
    ] {
        let mut h = Harness::new(&format!("crash_during_save/{name}"), key);
        for round in 0..crash_rounds() {
            let t0 = Instant::now();
            let lines = h.run_round(round);
            let t1 = Instant::now();
            h.check_round(round, &lines);
            h.stats.child_s += (t1 - t0).as_secs_f64();
            h.stats.check_s += t1.elapsed().as_secs_f64();
            if h.max_loaded > 0 && h.rng.gen_ratio(1, 5) {
                h.inject_torn_tail(round);
            }
            h.stats.rounds += 1;
        }
        eprintln!(
            "{}: {:?}, newest version {}, file {} bytes",
            h.name,
            h.stats,
            h.max_loaded,
            std::fs::metadata(&h.path).map(|m| m.len()).unwrap_or(0)
        );
        assert!(h.max_loaded > 0, "{}: no save ever completed", h.name);
    }
}

/// Every float saved comes back with the same bits (serde_json's default
/// float parser is off by one ulp for some shortest representations, such
/// as 4.612013777510087e-10; the engine enables `float_roundtrip`).
#[test]
fn floats_round_trip_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.evs");
    let tricky = [
        4.612013777510087e-10,
        0.1,
        1e-300,
        5e-324,
        1.7976931348623157e308,
        -0.0,
    ];
    let mut m = Mix::new(99);
    let mut floats: Vec<f64> = tricky.to_vec();
    floats.extend((0..2000).map(|_| m.float()));
    floats.extend((0..2000).map(|_| f64::from_bits(m.next() >> 2)));
    floats.retain(|f| f.is_finite());
    let mut s = Session::new("floats");
    for (i, &f) in floats.iter().enumerate().take(200) {
        let mut info = TraceInfo::with_rate(f.abs().max(1e-300));
        info.start_time = f;
        s.add_trace(&format!("t{i}"), Trace::from_slice(&[f], info).unwrap())
            .unwrap();
    }
    for &f in &floats {
        s.annotate("a", Annotation::new("x").at(f)).unwrap();
    }
    s.record_measurement(Measurement::new("all", json!(floats), "V"))
        .unwrap();
    s.save(Some(&path), &SaveOptions::default()).unwrap();
    let back = Session::load(&path, &LoadOptions::default()).unwrap();
    let bits = |xs: Vec<f64>| xs.into_iter().map(f64::to_bits).collect::<Vec<_>>();
    let got: Vec<f64> = back
        .annotations(Some("a"), None)
        .iter()
        .map(|(_, a)| a.time.unwrap())
        .collect();
    assert_eq!(bits(got), bits(floats.clone()), "annotation times");
    for (i, &f) in floats.iter().enumerate().take(200) {
        let t = back.trace(&format!("t{i}")).unwrap();
        assert_eq!(
            t.info().start_time.to_bits(),
            f.to_bits(),
            "start_time {f:e}"
        );
    }
    let got: Vec<f64> = back.measurements()[0]
        .value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(bits(got), bits(floats), "measurement values");
    assert_eq!(diff(&s, &back), None);
    // Timestamps set by the library (now) are whole microseconds too.
    assert_eq!(back.created_at(), s.created_at());
    assert_eq!(back.modified_at(), s.modified_at());
}

// ------------------------------------------------------------- power cuts --

/// A scratch directory, on tmpfs when there is one (these tests save, and
/// so fsync, hundreds of times).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let mut b = tempfile::Builder::new();
    b.prefix("evident-session-crash-");
    if shm.is_dir() {
        b.tempdir_in(shm).or_else(|_| b.tempdir()).unwrap()
    } else {
        b.tempdir().unwrap()
    }
}

/// A session file with versions `1..=n` of [`apply_step`] (step seeds
/// offset by `base`, saved with [`save_options`]); its bytes and the
/// expected content of every version.
fn build_file(path: &Path, n: u64, key: Option<&Key>) -> (Vec<u8>, BTreeMap<u64, Session>) {
    let mut s = Session::new("power cut");
    let mut snaps = BTreeMap::new();
    for v in 1..=n {
        apply_step(&mut s, v);
        let info = s.save(Some(path), &save_options(v, key)).unwrap();
        assert_eq!(info.version, v);
        snaps.insert(v, s.clone());
    }
    (std::fs::read(path).unwrap(), snaps)
}

/// A session file and what every prefix of it must load as.
struct Base {
    bytes: Vec<u8>,
    frames: Vec<Frame>,
    commits: Vec<(usize, u64)>,
    snaps: BTreeMap<u64, Session>,
    genesis_end: usize,
    key: Option<Key>,
}

fn base(dir: &Path, n: u64, key: Option<Key>) -> Base {
    let path = dir.join(format!("base-{}.evs", key.is_some()));
    let (bytes, snaps) = build_file(&path, n, key.as_ref());
    let frames = frames(&bytes);
    Base {
        commits: commit_ends(&bytes),
        genesis_end: frames[0].end(),
        frames,
        bytes,
        snaps,
        key,
    }
}

/// (end offset, version) of every commit record, in file order.
fn commit_ends(bytes: &[u8]) -> Vec<(usize, u64)> {
    frames(bytes)
        .iter()
        .filter_map(|f| match f {
            Frame::Record {
                end, body, kind, ..
            } if kind == "commit" => {
                let v: Value = serde_json::from_slice(&bytes[body.clone()]).unwrap();
                Some((*end, v["version"].as_u64().unwrap()))
            }
            _ => None,
        })
        .collect()
}

/// The newest version whose commit lies entirely in the first `n` bytes.
fn newest_within(commits: &[(usize, u64)], n: usize) -> Option<u64> {
    commits.iter().rev().find(|(e, _)| *e <= n).map(|(_, v)| *v)
}

fn sidecars(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".torn-"))
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
        .collect();
    v.sort();
    v
}

/// Checks a damaged image of a session file whose durable part ends at
/// `durable` (the image is unchanged before it): loading gives the newest
/// version committed before `durable`, or a clear error when there is
/// none; `verify_session` finds at most a torn tail at `torn_at`; a save
/// then works, moves the torn tail into a sidecar and makes the next
/// version. Returns an error message instead of panicking.
fn check_image(
    dir: &Path,
    image: &[u8],
    durable: usize,
    torn_at: Option<usize>,
    base: &Base,
    save: bool,
) -> Result<(), String> {
    let (commits, snaps, key) = (&base.commits[..], &base.snaps, base.key.as_ref());
    let sub = tempfile::tempdir_in(dir).unwrap();
    let path = sub.path().join("cut.evs");
    std::fs::write(&path, image).unwrap();
    let lopts = key_opt(&key.cloned(), None);
    let want = newest_within(commits, durable);
    let has_genesis = durable >= base.genesis_end;
    let loaded = Session::load(&path, &lopts);
    match (want, &loaded) {
        (None, Err(e)) => {
            let msg = e.to_string();
            if !msg.contains("cut.evs") {
                return Err(format!("error names no file: {msg}"));
            }
        }
        (None, Ok(s)) => return Err(format!("loaded version {:?} of nothing", s.version())),
        (Some(v), Err(e)) => return Err(format!("version {v} expected: {e}")),
        (Some(v), Ok(s)) => {
            if s.version() != Some(v) {
                return Err(format!("loaded version {:?}, expected {v}", s.version()));
            }
            if let Some(d) = diff(&snaps[&v], s) {
                return Err(format!("version {v}: {d}"));
            }
            for (name, t) in s.traces() {
                t.verify().map_err(|e| format!("trace {name}: {e}"))?;
            }
        }
    }
    let report = verify_session(&path, key);
    if !has_genesis {
        // No complete genesis: not a session file yet; nothing to save to.
        if report.is_ok() {
            return Err(format!(
                "verify_session of a file without genesis: {report:?}"
            ));
        }
        if Session::new("x")
            .save(Some(&path), &SaveOptions::default().key(key.cloned()))
            .is_ok()
        {
            return Err("saved into a file without a genesis".into());
        }
        if std::fs::read(&path).unwrap() != image {
            return Err("a failed save changed the file".into());
        }
        return Ok(());
    }
    let r = report.map_err(|e| format!("verify_session: {e}"))?;
    if !r.ok || r.torn_tail_at != torn_at.map(|t| t as u64) || r.head_version != want {
        return Err(format!(
            "verify_session: ok {} torn {:?} head {:?} (expected torn {torn_at:?}, head {want:?}): {:?}",
            r.ok, r.torn_tail_at, r.head_version, r.problems
        ));
    }
    if !save {
        return Ok(());
    }
    let mut s = loaded.unwrap_or_else(|_| Session::new("after the power cut"));
    s.annotate("after", Annotation::new("saved after the power cut"))
        .unwrap();
    let info = s
        .save(Some(&path), &SaveOptions::default().key(key.cloned()))
        .map_err(|e| format!("save after the power cut: {e}"))?;
    if info.version != want.unwrap_or(0) + 1 {
        return Err(format!("the save made version {}", info.version));
    }
    let back = Session::load(&path, &lopts).map_err(|e| format!("load after save: {e}"))?;
    if back.version() != Some(info.version) {
        return Err(format!("load after save: version {:?}", back.version()));
    }
    if let Some(d) = diff(&s, &back) {
        return Err(format!("after save: {d}"));
    }
    let r = verify_session(&path, key).map_err(|e| e.to_string())?;
    if !r.ok || r.torn_tail_at.is_some() {
        return Err(format!("verify after save: {r:?}"));
    }
    let now = std::fs::read(&path).unwrap();
    let kept = torn_at.unwrap_or(image.len());
    if now.get(..kept) != Some(&image[..kept]) {
        return Err("the save changed bytes before the torn tail".into());
    }
    let sc = sidecars(sub.path());
    match torn_at {
        None if !sc.is_empty() => return Err(format!("sidecar without a torn tail: {sc:?}")),
        Some(t) => {
            let ok = sc.len() == 1
                && sc[0].1 == image[t..]
                && sc[0].0.to_string_lossy().ends_with(&format!("-at-{t}"));
            if !ok {
                return Err(format!(
                    "torn tail at {t}: sidecars {:?}",
                    sc.iter().map(|s| (&s.0, s.1.len())).collect::<Vec<_>>()
                ));
            }
        }
        None => {}
    }
    Ok(())
}

/// The start of the frame that holds offset `n` (`None` at a boundary).
fn frame_holding(fr: &[Frame], n: usize) -> Option<usize> {
    fr.iter().find(|f| f.at() < n && n < f.end()).map(Frame::at)
}

/// Power cut = the file ends early: at every frame boundary, at several
/// offsets inside every frame (headers, padding, samples, trailers), and
/// inside the header and genesis. Keyless and keyed.
#[test]
fn power_cut_truncation_everywhere() {
    let dir = scratch();
    let mut rng = StdRng::seed_from_u64(0x7C07);
    let mut failures = Vec::new();
    for key in [None, Some(Key::new(vec![0x33; 32]).unwrap())] {
        let b = base(dir.path(), 14, key);
        let mut cuts: Vec<(usize, bool)> = (0..=17).map(|n| (n, true)).collect();
        for f in &b.frames {
            cuts.push((f.end(), true));
            let inner: Vec<usize> = match f {
                Frame::Data { at, data, .. } => vec![
                    at + 1,
                    at + 4,
                    at + 19,
                    at + 20,
                    data.start,
                    data.start + (data.len() / 2),
                    data.end,
                    data.end + 31,
                    f.end() - 1,
                ],
                Frame::Record { at, body, .. } => vec![
                    at + 1,
                    at + 8,
                    body.start + rng.gen_range(0..body.len()),
                    body.end + 5,
                    f.end() - 4,
                    f.end() - 1,
                ],
            };
            for n in inner {
                if f.at() < n && n < f.end() {
                    cuts.push((n, rng.gen_ratio(1, 3)));
                }
            }
        }
        cuts.sort();
        cuts.dedup_by_key(|c| c.0);
        let what = if b.key.is_some() { "keyed" } else { "keyless" };
        eprintln!(
            "{what}: {} bytes, {} frames, {} versions, {} cuts",
            b.bytes.len(),
            b.frames.len(),
            b.commits.len(),
            cuts.len()
        );
        for (n, save) in cuts {
            let torn = if n < b.genesis_end {
                None
            } else {
                frame_holding(&b.frames, n)
            };
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                check_image(dir.path(), &b.bytes[..n], n, torn, &b, save)
            }));
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failures.push(format!("{what}: cut at {n}: {e}")),
                Err(_) => failures.push(format!("{what}: cut at {n}: PANIC")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Power cut = the file keeps its length but its last bytes never reached
/// the disk (zeros), or it grew by pages that never got their data.
#[test]
fn power_cut_zeroed_tail() {
    let dir = scratch();
    let mut failures = Vec::new();
    for key in [None, Some(Key::new(vec![0x44; 32]).unwrap())] {
        let b = base(dir.path(), 10, key);
        let what = if b.key.is_some() { "keyed" } else { "keyless" };
        let len = b.bytes.len();
        let mut ns: Vec<usize> = vec![
            1,
            3,
            4,
            8,
            17,
            36,
            64,
            100,
            512,
            4095,
            4096,
            4096 + 123,
            3 * 4096,
            65536,
            200_000,
        ];
        // And exactly the last frames.
        ns.extend(b.frames.iter().rev().take(12).map(|f| len - f.at()));
        ns.retain(|n| *n <= len - b.genesis_end);
        for n in ns {
            let mut image = b.bytes.clone();
            image[len - n..].fill(0);
            // The first byte the zeros changed (the last bytes of a frame
            // length field are often zero already).
            let Some(from) = (len - n..len).find(|&i| b.bytes[i] != 0) else {
                continue;
            };
            let torn = b
                .frames
                .iter()
                .find(|f| f.at() <= from && from < f.end())
                .map(Frame::at);
            if let Err(e) = check_image(dir.path(), &image, from, torn, &b, true) {
                failures.push(format!("{what}: last {n} bytes zeroed: {e}"));
            }
        }
        for n in [1, 4096, 3 * 4096] {
            let mut image = b.bytes.clone();
            image.resize(len + n, 0);
            if let Err(e) = check_image(dir.path(), &image, len, Some(len), &b, true) {
                failures.push(format!("{what}: {n} zeros appended: {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Power cut during the first phase of a save (before its first fsync): any
/// page of what the save wrote may be lost (zeros) while later pages of it
/// survive, and the commit is not there. The previous version must load;
/// verify_session reports the first damaged frame after the last commit as
/// the uncommitted tail, not as damage (a hole only in samples no version
/// names is nothing at all); then a save must work, move exactly that tail
/// into a sidecar, and leave a file that verifies.
#[test]
fn power_cut_loses_an_unsynced_page_of_a_save() {
    let failures = lost_page_failures();
    assert!(
        failures.is_empty(),
        "{} failures, the first:\n{}",
        failures.len(),
        failures[..failures.len().min(6)].join("\n")
    );
}

fn lost_page_failures() -> Vec<String> {
    let dir = scratch();
    let b = base(dir.path(), 4, None);
    let path = dir.path().join("base-false.evs");
    // Version 5: a 256 KiB trace (raw: its data frame spans many pages),
    // then the trace record, sections and the commit.
    let mut s = Session::load(&path, &LoadOptions::default()).unwrap();
    let wave: Vec<f64> = (0..32768).map(|i| (i as f64 * 0.01).sin()).collect();
    s.add_trace(
        "BIG",
        Trace::from_slice(&wave, TraceInfo::with_rate(1e6)).unwrap(),
    )
    .unwrap();
    for i in 0..40 {
        s.annotate(
            "late",
            Annotation::new(format!("annotation {i}")).at(i as f64),
        )
        .unwrap();
    }
    s.save(None, &SaveOptions::default()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let fr = frames(&bytes);
    let p = b.bytes.len(); // the end of version 4
    let c = fr.last().unwrap().at(); // the commit of version 5
    let mut failures = Vec::new();
    // Each lost page alone (the file reached the commit's offset), then
    // random sets of lost pages in a file that reached a random length.
    let pages: Vec<usize> = (p / 4096..c.div_ceil(4096)).map(|i| i * 4096).collect();
    let mut cases: Vec<(Vec<usize>, usize)> = pages.iter().map(|&pg| (vec![pg], c)).collect();
    let mut rng = StdRng::seed_from_u64(0x1057);
    for _ in 0..40 {
        let n = rng.gen_range(1..=4);
        let lost: Vec<usize> = (0..n)
            .map(|_| pages[rng.gen_range(0..pages.len())])
            .collect();
        cases.push((lost, rng.gen_range(p + 1..=c)));
    }
    for (lost, len) in cases {
        let mut image = bytes[..len].to_vec();
        let holes: Vec<(usize, usize)> = lost
            .iter()
            .map(|&pg| (pg.max(p), (pg + 4096).min(len)))
            .filter(|(lo, hi)| lo < hi)
            .collect();
        for &(lo, hi) in &holes {
            image[lo..hi].fill(0);
        }
        let what = format!("the save at {p}..{c}, file cut at {len}, lost {holes:?}");
        // The first frame broken: a record frame a hole touches, a data
        // frame whose header or trailer a hole touches (a scan does not
        // read samples), or the frame the end of the file cuts.
        let broken_by_hole = |f: &Frame| {
            holes.iter().any(|&(lo, hi)| {
                f.at() < hi
                    && lo < f.end()
                    && match f {
                        Frame::Record { .. } => true,
                        Frame::Data { data, .. } => lo < data.start || hi > data.end,
                    }
            })
        };
        let torn = fr
            .iter()
            .filter(|f| f.at() >= p && f.at() < len)
            .filter(|f| broken_by_hole(f) || f.end() > len)
            .map(Frame::at)
            .min();
        let sub = tempfile::tempdir_in(dir.path()).unwrap();
        let cut = sub.path().join("cut.evs");
        std::fs::write(&cut, &image).unwrap();
        match verify_session(&cut, None) {
            Ok(r)
                if r.ok
                    && r.torn_tail_at == torn.map(|t| t as u64)
                    && r.head_version == Some(4) => {}
            Ok(r) => failures.push(format!(
                "{what}: verify before save: ok {} torn {:?} (expected {torn:?}) head {:?}: {:?}",
                r.ok, r.torn_tail_at, r.head_version, r.problems
            )),
            Err(e) => failures.push(format!("{what}: verify before save: {e}")),
        }
        let mut s = match Session::load(&cut, &LoadOptions::default()) {
            Ok(s) if s.version() == Some(4) && diff(&b.snaps[&4], &s).is_none() => s,
            Ok(s) => {
                failures.push(format!("{what}: load gave version {:?}", s.version()));
                continue;
            }
            Err(e) => {
                failures.push(format!("{what}: load: {e}"));
                continue;
            }
        };
        s.annotate("after", Annotation::new("saved after the power cut"))
            .unwrap();
        match s.save(None, &SaveOptions::default()) {
            Ok(info) if info.version == 5 => {}
            Ok(info) => failures.push(format!("{what}: save made version {}", info.version)),
            Err(e) => {
                failures.push(format!("{what}: save after the power cut: {e}"));
                continue;
            }
        }
        match Session::load(&cut, &LoadOptions::default()) {
            Ok(back) if back.version() == Some(5) && diff(&s, &back).is_none() => {}
            Ok(back) => failures.push(format!("{what}: reload gave {:?}", back.version())),
            Err(e) => failures.push(format!("{what}: reload after save: {e}")),
        }
        match verify_session(&cut, None) {
            Ok(r) if r.ok => {}
            Ok(r) => failures.push(format!("{what}: verify after save: {:?}", r.problems)),
            Err(e) => failures.push(format!("{what}: verify after save: {e}")),
        }
        let kept = torn.unwrap_or(len);
        if std::fs::read(&cut).unwrap().get(..kept) != Some(&image[..kept]) {
            failures.push(format!("{what}: the save changed bytes before {kept}"));
        }
        let sc = sidecars(sub.path());
        let want: Vec<&[u8]> = torn.iter().map(|t| &image[*t..]).collect();
        if sc.iter().map(|x| x.1.as_slice()).collect::<Vec<_>>() != want {
            failures.push(format!(
                "{what}: sidecars {:?}, expected the {} bytes from {torn:?}",
                sc.iter().map(|x| (&x.0, x.1.len())).collect::<Vec<_>>(),
                want.first().map_or(0, |w| w.len())
            ));
        }
    }
    failures
}

/// Power cut after saves without sync (finding 15): `save(sync=False)`
/// writes its commit with no barrier, so a power cut may keep the commit
/// and lose any page the save wrote before it: records (whose CRC then
/// fails) or samples (which only their SHA-256 covers). Two such saves
/// follow four durable ones. Whatever page is lost, the newest version
/// that is complete must load, with exactly its content (never zeroed
/// samples) and a notice naming the versions skipped; verify_session must
/// call the file ok with the uncommitted tail at the first damaged frame
/// and those versions incomplete; the next save must work, move exactly
/// that tail into a sidecar and leave a file that verifies.
#[test]
fn power_cut_after_saves_without_sync_loses_a_page_the_commit_names() {
    let failures = unsynced_lost_page_failures();
    assert!(
        failures.is_empty(),
        "{} failures, the first:\n{}",
        failures.len(),
        failures[..failures.len().min(6)].join("\n")
    );
}

fn unsynced_lost_page_failures() -> Vec<String> {
    let dir = scratch();
    let b = base(dir.path(), 4, None);
    let path = dir.path().join("base-false.evs");
    let unsynced = SaveOptions::default().sync(false);
    let mut snaps = b.snaps.clone();
    // Version 5: a 256 KiB trace and annotations; version 6: more
    // annotations (it names the trace of version 5 again).
    let mut s = Session::load(&path, &LoadOptions::default()).unwrap();
    let wave: Vec<f64> = (0..32768).map(|i| (i as f64 * 0.01).sin() + 2.0).collect();
    s.add_trace(
        "BIG",
        Trace::from_slice(&wave, TraceInfo::with_rate(1e6)).unwrap(),
    )
    .unwrap();
    for i in 0..40 {
        s.annotate(
            "late",
            Annotation::new(format!("annotation {i}")).at(i as f64),
        )
        .unwrap();
    }
    assert_eq!(s.save(None, &unsynced).unwrap().version, 5);
    snaps.insert(5, s.clone());
    for i in 0..40 {
        s.annotate("later", Annotation::new(format!("annotation {i}")))
            .unwrap();
    }
    assert_eq!(s.save(None, &unsynced).unwrap().version, 6);
    snaps.insert(6, s.clone());
    let bytes = std::fs::read(&path).unwrap();
    let fr = frames(&bytes);
    let commits = commit_ends(&bytes);
    let p = b.bytes.len(); // the end of version 4, the last barrier
    let len = bytes.len();
    let pages: Vec<usize> = (p / 4096..len.div_ceil(4096)).map(|i| i * 4096).collect();
    let mut cases: Vec<Vec<usize>> = pages.iter().map(|&pg| vec![pg]).collect();
    let mut rng = StdRng::seed_from_u64(0x5E55);
    for _ in 0..30 {
        let n = rng.gen_range(2..=4);
        cases.push(
            (0..n)
                .map(|_| pages[rng.gen_range(0..pages.len())])
                .collect(),
        );
    }
    let mut failures = Vec::new();
    for lost in cases {
        let mut image = bytes.clone();
        for &pg in &lost {
            let (lo, hi) = (pg.max(p), (pg + 4096).min(len));
            image[lo..hi].fill(0);
        }
        let what = format!("saves without sync at {p}..{len}, lost pages {lost:?}");
        // The first frame the lost pages changed (a data frame too when
        // only its samples changed: both are named by versions 5 and 6).
        let torn = fr
            .iter()
            .filter(|f| f.at() >= p)
            .find(|f| image[f.at()..f.end()] != bytes[f.at()..f.end()])
            .map(Frame::at);
        let want = newest_within(&commits, torn.unwrap_or(len)).unwrap();
        // Versions after it whose commit record survived.
        let skipped: Vec<u64> = fr
            .iter()
            .zip(frames(&bytes).iter().map(|f| match f {
                Frame::Record { kind, body, .. } if kind == "commit" => {
                    let v: Value = serde_json::from_slice(&bytes[body.clone()]).unwrap();
                    v["version"].as_u64()
                }
                _ => None,
            }))
            .filter_map(|(f, v)| v.map(|v| (f, v)))
            .filter(|(f, v)| *v > want && image[f.at()..f.end()] == bytes[f.at()..f.end()])
            .map(|(_, v)| v)
            .collect();
        let sub = tempfile::tempdir_in(dir.path()).unwrap();
        let cut = sub.path().join("cut.evs");
        std::fs::write(&cut, &image).unwrap();
        match verify_session(&cut, None) {
            Ok(r)
                if r.ok
                    && r.torn_tail_at == torn.map(|t| t as u64)
                    && r.head_version == Some(want)
                    && r.incomplete_versions == skipped => {}
            Ok(r) => failures.push(format!(
                "{what}: verify before save: ok {} torn {:?} (expected {torn:?}) head {:?} \
                 (expected {want}) incomplete {:?}: {:?}",
                r.ok, r.torn_tail_at, r.head_version, r.incomplete_versions, r.problems
            )),
            Err(e) => failures.push(format!("{what}: verify before save: {e}")),
        }
        let mut s = match Session::load(&cut, &LoadOptions::default()) {
            Ok(s) if s.version() == Some(want) && diff(&snaps[&want], &s).is_none() => s,
            Ok(s) => {
                failures.push(format!(
                    "{what}: load gave version {:?} (expected {want}): {:?}",
                    s.version(),
                    diff(&snaps[&want], &s)
                ));
                continue;
            }
            Err(e) => {
                failures.push(format!("{what}: load: {e}"));
                continue;
            }
        };
        if s.load_notice().is_none() != skipped.is_empty() {
            failures.push(format!("{what}: notice {:?}", s.load_notice()));
        }
        for (name, t) in s.traces() {
            if let Err(e) = t.verify() {
                failures.push(format!("{what}: trace {name} of the loaded version: {e}"));
            }
        }
        for v in &skipped {
            let opts = LoadOptions::default().key(None).version(Some(*v));
            if Session::load(&cut, &opts).is_ok() {
                failures.push(format!("{what}: incomplete version {v} loads"));
            }
        }
        s.annotate("after", Annotation::new("saved after the power cut"))
            .unwrap();
        match s.save(None, &SaveOptions::default()) {
            Ok(info) if info.version == want + 1 => {}
            Ok(info) => failures.push(format!("{what}: save made version {}", info.version)),
            Err(e) => {
                failures.push(format!("{what}: save after the power cut: {e}"));
                continue;
            }
        }
        match Session::load(&cut, &LoadOptions::default()) {
            Ok(back) if back.version() == Some(want + 1) && diff(&s, &back).is_none() => {}
            Ok(back) => failures.push(format!("{what}: reload gave {:?}", back.version())),
            Err(e) => failures.push(format!("{what}: reload after save: {e}")),
        }
        match verify_session(&cut, None) {
            Ok(r) if r.ok && r.torn_tail_at.is_none() && r.incomplete_versions.is_empty() => {}
            Ok(r) => failures.push(format!("{what}: verify after save: {r:?}")),
            Err(e) => failures.push(format!("{what}: verify after save: {e}")),
        }
        let kept = torn.unwrap_or(len);
        if std::fs::read(&cut).unwrap().get(..kept) != Some(&image[..kept]) {
            failures.push(format!("{what}: the save changed bytes before {kept}"));
        }
        let sc = sidecars(sub.path());
        let want_sc: Vec<&[u8]> = torn.iter().map(|t| &image[*t..]).collect();
        if sc.iter().map(|x| x.1.as_slice()).collect::<Vec<_>>() != want_sc {
            failures.push(format!(
                "{what}: sidecars {:?}, expected the {} bytes from {torn:?}",
                sc.iter().map(|x| (&x.0, x.1.len())).collect::<Vec<_>>(),
                want_sc.first().map_or(0, |w| w.len())
            ));
        }
    }
    failures
}

// -------------------------------------------------------------- tampering --

/// A session saved in four versions; version 2 adds the annotation the
/// forger wants to change.
fn tamper_file(path: &Path, key: Option<&Key>) -> Vec<(u64, String)> {
    let mut s = Session::new("tamper");
    let wave: Vec<f64> = (0..4096).map(|i| (i as f64 * 0.01).sin()).collect();
    s.add_trace(
        "CH1",
        Trace::from_slice(&wave, TraceInfo::with_rate(1e6)).unwrap(),
    )
    .unwrap();
    let ramp: Vec<i32> = (0..3000).collect();
    s.add_trace(
        "ramp",
        Trace::from_slice(&ramp, TraceInfo::default()).unwrap(),
    )
    .unwrap();
    let opts = SaveOptions::default().key(key.cloned());
    let mut commits = Vec::new();
    let mut save = |s: &mut Session, compress: Option<i32>| {
        let info = s
            .save(Some(path), &opts.clone().compress(compress))
            .unwrap();
        commits.push((info.version, info.commit.to_hex()));
    };
    save(&mut s, None);
    s.annotate("default", Annotation::new("pass: 12.5 mV").at(1e-3))
        .unwrap();
    save(&mut s, None);
    s.record_measurement(Measurement::new("vpp", 3.3, "V"))
        .unwrap();
    let bits: Vec<u8> = (0..512).map(|i| (i * 37 % 256) as u8).collect();
    s.add_trace(
        "D0",
        Trace::from_bytes(Dtype::Bit, 4096, &bits, TraceInfo::default()).unwrap(),
    )
    .unwrap();
    save(&mut s, Some(3));
    s.record_history(HistoryEntry::new("measure")).unwrap();
    save(&mut s, None);
    commits
}

/// The record frames of a file with their bodies.
fn records(bytes: &[u8]) -> Vec<(usize, usize, Value)> {
    frames(bytes)
        .into_iter()
        .filter_map(|f| match f {
            Frame::Record { at, end, body, .. } => {
                Some((at, end, serde_json::from_slice(&bytes[body]).unwrap()))
            }
            Frame::Data { .. } => None,
        })
        .collect()
}

/// Replaces the body of the record frame at `at` (same length) and
/// recomputes its hash with `chain` and its CRC.
fn rewrite_record(bytes: &mut [u8], at: usize, body: &[u8], chain: &Chain) -> String {
    let body_len = le32(bytes, at);
    let hash_len = u16::from_le_bytes([bytes[at + 4], bytes[at + 5]]) as usize;
    assert_eq!(body.len(), body_len, "a forgery of the same length");
    bytes[at + 8..at + 8 + body_len].copy_from_slice(body);
    let h = chain.hash(body);
    assert_eq!(h.as_bytes().len(), hash_len);
    let hash_at = at + 8 + body_len;
    bytes[hash_at..hash_at + hash_len].copy_from_slice(h.as_bytes());
    let crc = crc32fast::hash(&bytes[at..hash_at + hash_len]);
    bytes[hash_at + hash_len..hash_at + hash_len + 4].copy_from_slice(&crc.to_le_bytes());
    h.to_hex()
}

/// The `layers` section record holding the annotation text `text`.
fn forge_annotation(bytes: &mut [u8], text: &str, forged: &str, chain: &Chain) -> (usize, String) {
    let (at, end, _) = records(bytes)
        .into_iter()
        .find(|(_, _, v)| v["section"] == "layers" && v.to_string().contains(text))
        .unwrap();
    let body = &bytes[at + 8..at + 8 + le32(bytes, at)];
    let body = String::from_utf8(body.to_vec())
        .unwrap()
        .replace(text, forged);
    let _ = end;
    (at, rewrite_record(bytes, at, body.as_bytes(), chain))
}

fn corrupt_offset(e: &Error) -> Option<u64> {
    match e {
        Error::Corrupt { at, .. } => Some(at.offset),
        _ => None,
    }
}

/// A forged middle record of a keyless file (text changed, SHA-256 and CRC
/// recomputed): the versions before it still load; every version at or
/// after it fails with Corrupt naming the chain break at the next record;
/// verify_session reports it. A forger who re-chains every later record too
/// gets a file that loads, but not with the commit hash the save reported
/// (which is what an audit log or a receipt keeps).
#[test]
fn tamper_forged_middle_record_keyless() {
    let dir = scratch();
    let path = dir.path().join("t.evs");
    let commits = tamper_file(&path, None);
    let orig = std::fs::read(&path).unwrap();
    let sha = Chain::new(HashAlg::Sha256, None).unwrap();
    let mut bytes = orig.clone();
    let (at, _) = forge_annotation(&mut bytes, "pass: 12.5 mV", "FAIL: 99.9 mV", &sha);
    let recs = records(&bytes);
    let next = recs.iter().find(|r| r.0 > at).unwrap().0 as u64;
    let bad = dir.path().join("forged.evs");
    std::fs::write(&bad, &bytes).unwrap();
    let commit_at: Vec<(u64, usize)> = commit_ends(&bytes).iter().map(|(e, v)| (*v, *e)).collect();
    for (v, end) in commit_at {
        let r = Session::load(&bad, &key_opt(&None, Some(v)));
        if end <= at {
            let s = r.unwrap_or_else(|e| panic!("version {v} before the forgery: {e}"));
            assert!(s.annotations(None, None).is_empty());
        } else {
            let e = r.expect_err("a version after the forgery loaded");
            assert_eq!(corrupt_offset(&e), Some(next), "version {v}: {e}");
            let msg = e.to_string();
            assert!(
                msg.contains("chain break") && msg.contains("forged.evs"),
                "{msg}"
            );
            assert!(
                msg.contains(&format!("byte offset {next}")) || msg.contains(&next.to_string()),
                "{msg}"
            );
        }
    }
    let e = Session::load(&bad, &LoadOptions::default()).unwrap_err();
    assert_eq!(corrupt_offset(&e), Some(next));
    let r = verify_session(&bad, None).unwrap();
    assert!(!r.ok);
    assert!(
        r.problems
            .iter()
            .any(|p| p.offset == next && p.message.contains("chain break")),
        "{:?}",
        r.problems
    );
    // Saving onto a forged file is refused (damage is reported, not fixed).
    let mut s = Session::load(&bad, &key_opt(&None, Some(1))).unwrap();
    s.set_name("x");
    let e = s.save(None, &SaveOptions::default()).unwrap_err();
    assert_eq!(corrupt_offset(&e), Some(next), "{e}");
    assert_eq!(std::fs::read(&bad).unwrap(), bytes, "a refused save wrote");

    // The full forgery: every later record re-chained, every reference to
    // a changed hash rewritten.
    let mut full = orig.clone();
    let mut map: Vec<(String, String)> = Vec::new();
    for (rat, _, v) in records(&orig) {
        if rat < at {
            continue;
        }
        let old_hash = {
            let bl = le32(&orig, rat);
            hex::encode(&orig[rat + 8 + bl..rat + 8 + bl + 32])
        };
        let mut body =
            String::from_utf8(orig[rat + 8..rat + 8 + le32(&orig, rat)].to_vec()).unwrap();
        if rat == at {
            // The forged section, and the SHA-256 of its content that the
            // commits name (the content is the body's last member).
            let content_digest = |b: &str| {
                let i = b.find("\"content\":").unwrap() + "\"content\":".len();
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                    &b.as_bytes()[i..b.len() - 1],
                ))
            };
            let before = content_digest(&body);
            body = body.replace("pass: 12.5 mV", "FAIL: 99.9 mV");
            map.push((before, content_digest(&body)));
        }
        for (o, n) in &map {
            body = body.replace(o.as_str(), n.as_str());
        }
        let _ = v;
        let new_hash = rewrite_record(&mut full, rat, body.as_bytes(), &sha);
        map.push((old_hash, new_hash));
    }
    std::fs::write(&bad, &full).unwrap();
    let s = Session::load(&bad, &LoadOptions::default()).unwrap();
    assert_eq!(s.annotations(None, None)[0].1.text, "FAIL: 99.9 mV");
    assert!(verify_session(&bad, None).unwrap().ok);
    let (v, c) = commits.last().unwrap();
    assert_eq!(s.version(), Some(*v));
    assert_ne!(
        &s.commit().unwrap().to_hex(),
        c,
        "the recorded commit hash exposes it"
    );
    // Versions before the forgery keep their commit hashes.
    let vs = versions(&bad, None).unwrap();
    assert_eq!(vs[0].commit, commits[0].1);
}

/// A keyed (HMAC) file: no forgery made without the key is accepted when
/// the file is read with its key: a record re-hashed with SHA-256, the whole
/// chain re-hashed with another key, or the genesis turned keyless.
#[test]
fn tamper_keyed_file_rejects_every_forgery_without_the_key() {
    let dir = scratch();
    let path = dir.path().join("k.evs");
    let key = Key::new(vec![0x5c; 32]).unwrap();
    tamper_file(&path, Some(&key));
    let orig = std::fs::read(&path).unwrap();
    let lopts = key_opt(&Some(key.clone()), None);
    assert!(Session::load(&path, &lopts).is_ok());
    let bad = dir.path().join("forged.evs");

    // 1. One record re-hashed with plain SHA-256.
    let mut bytes = orig.clone();
    let sha = Chain::new(HashAlg::Sha256, None).unwrap();
    let (at, _) = forge_annotation(&mut bytes, "pass: 12.5 mV", "FAIL: 99.9 mV", &sha);
    std::fs::write(&bad, &bytes).unwrap();
    let e = Session::load(&bad, &lopts).unwrap_err();
    assert_eq!(corrupt_offset(&e), Some(at as u64), "{e}");
    assert!(e.to_string().contains("hash mismatch"), "{e}");
    let r = verify_session(&bad, Some(&key)).unwrap();
    assert!(!r.ok && r.problems.iter().any(|p| p.offset == at as u64));

    // 2. The whole chain re-hashed with the forger's key (the genesis
    //    keeps the real key id): the genesis HMAC fails under the real key.
    let other = Key::new(vec![0x11; 32]).unwrap();
    let forger = Chain::new(HashAlg::HmacSha256, Some(&other)).unwrap();
    let mut bytes = orig.clone();
    for (rat, _, _) in records(&orig) {
        let bl = le32(&orig, rat);
        let body = String::from_utf8(orig[rat + 8..rat + 8 + bl].to_vec())
            .unwrap()
            .replace("pass: 12.5 mV", "FAIL: 99.9 mV");
        rewrite_record(&mut bytes, rat, body.as_bytes(), &forger);
    }
    std::fs::write(&bad, &bytes).unwrap();
    let e = Session::load(&bad, &lopts).unwrap_err();
    assert!(matches!(e, Error::WrongKey { .. }), "{e}");
    assert!(matches!(
        verify_session(&bad, Some(&key)),
        Err(Error::WrongKey { .. })
    ));
    assert!(versions(&bad, Some(&key)).is_err());

    // 3. The genesis rewritten as keyless (different length: everything
    //    after it re-chained with SHA-256 at new offsets is a new file, and
    //    a reader that holds the key refuses a keyless file).
    let mut s = Session::load(&path, &lopts).unwrap();
    let plain = dir.path().join("plain.evs");
    s.annotate("default", Annotation::new("FAIL: 99.9 mV"))
        .unwrap();
    s.save(Some(&plain), &SaveOptions::default()).unwrap();
    assert!(matches!(
        Session::load(&plain, &lopts),
        Err(Error::WrongKey { .. })
    ));
    assert!(matches!(
        verify_session(&plain, Some(&key)),
        Err(Error::WrongKey { .. })
    ));
}

/// Where the data frame of trace `name` (in its newest trace record) is,
/// and the SHA-256 the record names.
fn data_frame_of(bytes: &[u8], name: &str) -> (usize, std::ops::Range<usize>, String) {
    let (_, _, rec) = records(bytes)
        .into_iter()
        .rev()
        .find(|(_, _, v)| v["kind"] == "trace" && v["name"] == name)
        .unwrap();
    let frame = rec["data"]["frame"].as_u64().unwrap() as usize;
    let f = frames(bytes).into_iter().find(|f| f.at() == frame).unwrap();
    let Frame::Data { data, .. } = f else {
        panic!("trace {name} names a record frame")
    };
    (
        frame,
        data,
        rec["data"]["sha256"].as_str().unwrap().to_string(),
    )
}

/// Swapped sample bytes, keyless and keyed, raw and zstd:
/// - with the frame's SHA-256 and CRC recomputed (a consistent data frame),
///   the trace record still names the old SHA-256: the versions naming it
///   fail to load with Corrupt naming the trace, older versions load, and
///   verify_session reports it;
/// - with only the samples changed, the version loads (samples are checked
///   lazily), `Trace::verify` fails naming the frame, reading the samples
///   never panics, and verify_session names the old hash.
#[test]
fn tamper_swapped_sample_bytes() {
    let dir = scratch();
    for key in [None, Some(Key::new(vec![0x77; 32]).unwrap())] {
        let path = dir.path().join(format!("s-{}.evs", key.is_some()));
        tamper_file(&path, key.as_ref());
        let orig = std::fs::read(&path).unwrap();
        let lopts = key_opt(&key, None);
        // CH1 is raw (version 1), D0 is zstd (version 3).
        for (name, first_version) in [("CH1", 1u64), ("D0", 3)] {
            let what = format!("keyed {} {name}", key.is_some());
            let (frame, data, sha) = data_frame_of(&orig, name);
            let bad = dir.path().join("swapped.evs");

            // 1. A consistent data frame with other samples.
            let mut b = orig.clone();
            for x in &mut b[data.clone()] {
                *x = x.wrapping_add(1);
            }
            let tail = data_frame_tail(&b[frame..frame + 20], &b[data.clone()]);
            b[data.end..data.end + 36].copy_from_slice(&tail);
            std::fs::write(&bad, &b).unwrap();
            let e = Session::load(&bad, &lopts).unwrap_err();
            assert!(matches!(e, Error::Corrupt { .. }), "{what}: {e}");
            assert!(e.to_string().contains(name), "{what}: {e}");
            if first_version > 1 {
                let s = Session::load(&bad, &key_opt(&key, Some(first_version - 1))).unwrap();
                assert!(s.trace(name).is_none());
            }
            let r = verify_session(&bad, key.as_ref()).unwrap();
            assert!(!r.ok, "{what}");
            assert!(
                r.problems.iter().any(|p| p.message.contains(name)),
                "{what}: {:?}",
                r.problems
            );

            // 2. Only the samples changed.
            let mut b = orig.clone();
            let mid = data.start + data.len() / 2;
            b[mid] ^= 0x40;
            std::fs::write(&bad, &b).unwrap();
            let s = Session::load(&bad, &lopts)
                .unwrap_or_else(|e| panic!("{what}: lazy sample check: {e}"));
            let t = s.trace(name).unwrap();
            let e = t.verify().unwrap_err();
            assert!(matches!(e, Error::Corrupt { .. }), "{what}: {e}");
            assert!(e.to_string().contains(&sha), "{what}: {e}");
            match &e {
                Error::Corrupt { at, path, .. } => {
                    assert_eq!(at.offset, frame as u64, "{what}");
                    assert_eq!(path, &bad, "{what}");
                }
                _ => unreachable!(),
            }
            let _ = t.bytes(); // garbage or an error, never a panic
            let r = verify_session(&bad, key.as_ref()).unwrap();
            assert!(!r.ok, "{what}");
            assert!(
                r.problems
                    .iter()
                    .any(|p| p.offset == frame as u64 && p.message.contains(&sha)),
                "{what}: {:?}",
                r.problems
            );
            // The untouched traces still verify.
            for (n, t) in s.traces().filter(|(n, _)| *n != name) {
                t.verify().unwrap_or_else(|e| panic!("{what}: {n}: {e}"));
            }
        }
    }
}
