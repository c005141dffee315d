//! Helpers shared by the power-cut and tamper suites: building logs with
//! known record boundaries and heads, scratch directories, sidecar lookup
//! and independent (engine-free) parsing of the two framings.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use evident::{
    query, verify, Durability, Entry, Event, Framing, Hash, HashAlg, Head, Key, Log, OpenOptions,
    Order, Query, Result, VerifyOptions, VerifyReport,
};
use serde_json::json;
use tempfile::TempDir;

/// A framing and a hash algorithm (keyed algorithms use [`key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cfg {
    pub framing: Framing,
    pub alg: HashAlg,
}

/// The configurations every suite runs: both framings, keyless and keyed
/// (HMAC-SHA256 with JSONL, HMAC-SHA512 with binary so that both hash
/// lengths appear in both key modes across the suites).
pub const CFGS: [Cfg; 4] = [
    Cfg {
        framing: Framing::Jsonl,
        alg: HashAlg::Sha256,
    },
    Cfg {
        framing: Framing::Jsonl,
        alg: HashAlg::HmacSha256,
    },
    Cfg {
        framing: Framing::Binary,
        alg: HashAlg::Sha256,
    },
    Cfg {
        framing: Framing::Binary,
        alg: HashAlg::HmacSha512,
    },
];

impl Cfg {
    pub fn new(framing: Framing, alg: HashAlg) -> Cfg {
        Cfg { framing, alg }
    }

    pub fn key(&self) -> Option<Key> {
        self.alg.is_keyed().then(key)
    }

    /// File name used for this configuration's log.
    pub fn file_name(&self) -> &'static str {
        match self.framing {
            Framing::Jsonl => "audit.jsonl",
            Framing::Binary => "audit.evl",
        }
    }

    /// Open options: fixed actor and host (so record sizes are
    /// deterministic), buffered (the suites cut files themselves).
    pub fn open_opts(&self) -> OpenOptions {
        let mut o = OpenOptions::new()
            .framing(self.framing)
            .alg(self.alg)
            .durability(Durability::Buffered);
        o.key = self.key();
        o.actor = Some("alice".into());
        o.host = Some("lab1".into());
        o
    }

    /// Verify options: this configuration's key, one thread.
    pub fn verify_opts(&self) -> VerifyOptions {
        VerifyOptions::default().key(self.key()).threads(1)
    }

    pub fn verify_all(&self) -> VerifyOptions {
        self.verify_opts().all(true)
    }

    /// Hash length in hex digits.
    pub fn hex_len(&self) -> usize {
        self.alg.hash_len() * 2
    }

    /// Line number reported for record `k` (genesis = 0): 1-based line for
    /// JSONL, 0 for binary.
    pub fn line_of(&self, k: usize) -> u64 {
        match self.framing {
            Framing::Jsonl => k as u64 + 1,
            Framing::Binary => 0,
        }
    }
}

/// The HMAC key of the keyed configurations.
pub fn key() -> Key {
    Key::new(b"evident tamper-suite key 0123456789".to_vec()).unwrap()
}

/// Another key (same length, different id).
pub fn other_key() -> Key {
    Key::new(b"evident tamper-suite key 9876543210".to_vec()).unwrap()
}

/// A scratch directory on tmpfs when available: the suites open thousands
/// of logs and every torn-tail repair fsyncs the sidecar, the directory
/// and the log.
pub fn scratch() -> TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::Builder::new()
            .prefix("evident-test-")
            .tempdir_in(shm)
        {
            return d;
        }
    }
    tempfile::Builder::new()
        .prefix("evident-test-")
        .tempdir()
        .unwrap()
}

/// The event for entry number `i` (deterministic, ~100 bytes of details).
pub fn ev(i: usize) -> Event {
    Event::new("ACTION_EXECUTED", format!("act{}", i % 3))
        .session(format!("s{}", i % 2))
        .source("suite")
        .details(json!({"i": i, "pad": "p".repeat(40 + i % 7)}))
}

/// A log written by the engine, with its bytes, record boundaries and the
/// head after every entry.
#[derive(Debug, Clone)]
pub struct Built {
    pub cfg: Cfg,
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    /// `bounds[k]` is the offset of record `k` (0 = genesis);
    /// `bounds[n + 1]` is the file length.
    pub bounds: Vec<u64>,
    /// `heads[k]` is the hash of record `k` (0 = genesis).
    pub heads: Vec<Hash>,
}

impl Built {
    /// Number of entries.
    pub fn n(&self) -> usize {
        self.heads.len() - 1
    }
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    /// Start of record `k`.
    pub fn start(&self, k: usize) -> u64 {
        self.bounds[k]
    }
    /// End of record `k` (start of the next one).
    pub fn end(&self, k: usize) -> u64 {
        self.bounds[k + 1]
    }
    /// Bytes of record `k` (JSONL: with its newline).
    pub fn record(&self, k: usize) -> &[u8] {
        &self.bytes[self.bounds[k] as usize..self.bounds[k + 1] as usize]
    }
    /// The record containing byte `pos`.
    pub fn record_at(&self, pos: u64) -> usize {
        assert!(pos >= self.bounds[0] && pos < self.len());
        self.bounds.partition_point(|&b| b <= pos) - 1
    }
    pub fn head(&self, k: usize) -> Head {
        Head {
            seq: k as u64,
            hash: self.heads[k],
        }
    }
    pub fn expected_head(&self, k: usize) -> evident::ExpectedHead {
        evident::ExpectedHead {
            seq: k as u64,
            hash: self.heads[k],
        }
    }
}

/// Writes a log of `n` entries (events `ev(0..n)`) at `dir/<file name>`.
pub fn build(dir: &Path, cfg: Cfg, n: usize) -> Built {
    build_at(&dir.join(cfg.file_name()), cfg, n)
}

pub fn build_at(path: &Path, cfg: Cfg, n: usize) -> Built {
    let log = Log::open(path, cfg.open_opts()).unwrap();
    assert!(log.recovery().created);
    let mut heads = vec![log.head().hash];
    for i in 0..n {
        let h = log.append(&ev(i)).unwrap();
        assert_eq!(h.seq, i as u64 + 1);
        heads.push(h.hash);
    }
    log.close().unwrap();
    drop(log);
    let bytes = fs::read(path).unwrap();
    let bounds = record_bounds(cfg.framing, &bytes);
    assert_eq!(
        bounds.len(),
        n + 2,
        "{cfg:?}: records found by the test parser"
    );
    let b = Built {
        cfg,
        path: path.to_path_buf(),
        bytes,
        bounds,
        heads,
    };
    let r = verify(path, &cfg.verify_opts()).unwrap();
    assert!(r.valid, "{cfg:?}: fresh log invalid: {:?}", r.violations);
    assert_eq!(r.entries, n as u64);
    b
}

/// Record start offsets of an intact log (genesis first) followed by the
/// file length, found without the engine: JSONL lines, or binary frames by
/// their length fields.
pub fn record_bounds(framing: Framing, bytes: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    match framing {
        Framing::Jsonl => {
            out.push(0);
            for (i, &c) in bytes.iter().enumerate() {
                if c == b'\n' {
                    out.push(i as u64 + 1);
                }
            }
            assert_eq!(*out.last().unwrap(), bytes.len() as u64);
        }
        Framing::Binary => {
            let mut p = 16usize;
            out.push(p as u64);
            while p < bytes.len() {
                let body = u32::from_le_bytes(bytes[p..p + 4].try_into().unwrap()) as usize;
                let hash = u16::from_le_bytes(bytes[p + 4..p + 6].try_into().unwrap()) as usize;
                let frame = 16 + body + hash;
                let trailer =
                    u32::from_le_bytes(bytes[p + frame - 4..p + frame].try_into().unwrap());
                assert_eq!(trailer as usize, frame);
                p += frame;
                out.push(p as u64);
            }
            assert_eq!(p, bytes.len());
        }
    }
    out
}

/// Offsets of the binary frame fields of a record starting at `start`.
pub mod frame {
    pub const BODY_LEN: usize = 0;
    pub const HASH_LEN: usize = 4;
    pub const FLAGS: usize = 6;
    pub const BODY: usize = 8;
}

/// Torn-tail sidecars of `log` (files named `<log>.torn-…`), sorted.
pub fn sidecars(log: &Path) -> Vec<PathBuf> {
    let name = log.file_name().unwrap().to_string_lossy().into_owned();
    let prefix = format!("{name}.torn-");
    let mut v: Vec<PathBuf> = fs::read_dir(log.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&prefix)
        })
        .collect();
    v.sort();
    v
}

/// Every entry, oldest first, requiring no errors.
pub fn read_all(path: &Path) -> Vec<Entry> {
    query(path, &Query::default())
        .unwrap()
        .collect::<Result<Vec<_>>>()
        .unwrap()
}

/// Every item (entries and errors) in the given order.
pub fn read_items(path: &Path, order: Order) -> Vec<Result<Entry>> {
    query(path, &Query::default().order(order))
        .unwrap()
        .collect()
}

/// A short description of a report for assertion messages.
pub fn describe(r: &VerifyReport) -> String {
    format!(
        "valid={} entries={} head_seq={} violations={:#?}",
        r.valid, r.entries, r.head_seq, r.violations
    )
}

/// Writes `bytes` to a fresh file `dir/<name>`, removing any leftovers of
/// an earlier case (lock file, sidecars).
pub fn write_case(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    clean_case(&path);
    fs::write(&path, bytes).unwrap();
    path
}

/// Removes a case's log, lock file and sidecars.
pub fn clean_case(path: &Path) {
    let _ = fs::remove_file(path);
    let mut lock = path.as_os_str().to_owned();
    lock.push(".lock");
    let _ = fs::remove_file(PathBuf::from(lock));
    for s in sidecars(path) {
        fs::remove_file(s).unwrap();
    }
}

/// Runs the command `bin ARGS` under `ulimit LIMIT N` (`-n`: open
/// descriptors, `-v`: address space in KiB), through `sh -c`. Unix only.
#[cfg(unix)]
pub fn run_under_ulimit(
    bin: &std::path::Path,
    limit: &str,
    n: u32,
    args: &[&str],
) -> std::process::Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit {limit} {n} && exec \"$0\" \"$@\""))
        .arg(bin)
        .args(args)
        .output()
        .unwrap()
}

/// The smallest address-space limit (KiB, in 2 MiB steps) under which
/// `bin --version` starts at all: where a sweep of `ulimit -v` begins.
#[cfg(unix)]
pub fn smallest_address_space_kib(bin: &std::path::Path) -> u32 {
    let Some(base) = (6_000..=2_000_000).step_by(2_000).find(|&k| {
        run_under_ulimit(bin, "-v", k, &["--version"])
            .status
            .success()
    }) else {
        panic!(
            "{} does not start under any address-space limit",
            bin.display()
        );
    };
    base
}

/// How a run of `evident` under `ulimit -v` ended.
#[cfg(unix)]
pub enum UnderLimit {
    /// Exit 0.
    Ran,
    /// Exit 2, naming the file and saying that memory was refused.
    Refused,
    /// Anything else: another exit status, or a signal (`None`: an abort
    /// on a small allocation, where the limit leaves no room at all).
    Other(Option<i32>),
}

/// Checks a run `o` under `ulimit -v` (`at` names it in messages): no
/// panic; an abort only on an allocation under 1 MiB; exit 2 only naming
/// `file` and saying out of memory.
#[cfg(unix)]
pub fn under_memory_limit(at: &str, file: &str, o: &std::process::Output) -> UnderLimit {
    let stderr = String::from_utf8_lossy(&o.stderr);
    // Rust's runtime could not start the program (the main thread's signal
    // stack refused, before `main`): no room at all, not the program's doing.
    if stderr.contains("fatal runtime error: initialization or cleanup bug") {
        return UnderLimit::Other(o.status.code());
    }
    assert!(
        !stderr.contains("panicked") && !stderr.contains("internal error"),
        "{at}: {stderr}"
    );
    if let Some(size) = failed_allocation(&stderr) {
        assert!(size < 1 << 20, "{at}: {stderr}");
    }
    match o.status.code() {
        Some(0) => UnderLimit::Ran,
        Some(2) => {
            assert!(
                stderr.contains(file)
                    && (stderr.contains("out of memory")
                        || stderr.contains("Cannot allocate memory")),
                "{at}: {stderr}"
            );
            UnderLimit::Refused
        }
        code => UnderLimit::Other(code),
    }
}

/// The size in a "memory allocation of N bytes failed" abort, if any.
pub fn failed_allocation(stderr: &str) -> Option<usize> {
    let rest = stderr.split("memory allocation of ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}
