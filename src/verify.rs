//! Verification: a streaming, constant-memory, multi-threaded check of a
//! whole log.
//!
//! One thread reads the file in chunks and splits them at record
//! boundaries; worker threads parse and hash the records of each chunk and
//! check the links inside it; the calling thread joins the chunks in order,
//! checking the link across each chunk boundary. Memory is bounded by the
//! number of chunks in flight.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::chain::{Chain, Hash, Key};
use crate::error::{Error, Result};
use crate::format::{self, Framing, RecordKind};
use crate::log::{chain_for, read_genesis, GenesisInfo, Head};
use crate::scan::{self, ReadAt, Span, SpanKind};

/// The kinds of violation, with stable numbers (used by the C ABI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
#[non_exhaustive]
pub enum ViolationKind {
    /// A record's stored hash is not the hash of its body.
    HashMismatch = 1,
    /// A record's `prev` is not the previous record's hash.
    ChainBreak = 2,
    /// A record's `seq` is not one more than the previous record's.
    SeqGap = 3,
    /// Bytes that are not a record (bad framing, CRC, JSON or fields); in a
    /// database, also a row whose query columns disagree with its body.
    Malformed = 4,
    /// The file ends in bytes that are not a complete record (a torn write):
    /// open moves them aside (unless the lock file records them as durable:
    /// then open refuses them); nothing before them is damaged.
    TornTail = 5,
    /// The key does not match the log (or a keyed log was checked without
    /// its key, or a keyless log where a key was expected).
    WrongKey = 6,
    /// The log id is not the expected one.
    WrongLogId = 7,
    /// The log does not reach the expected head (entries were removed from
    /// the end), or its entry at the expected seq has another hash.
    HeadMismatch = 8,
    /// The log needs a newer reader.
    Unsupported = 9,
}

impl ViolationKind {
    /// Stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            ViolationKind::HashMismatch => "hash_mismatch",
            ViolationKind::ChainBreak => "chain_break",
            ViolationKind::SeqGap => "seq_gap",
            ViolationKind::Malformed => "malformed",
            ViolationKind::TornTail => "torn_tail",
            ViolationKind::WrongKey => "wrong_key",
            ViolationKind::WrongLogId => "wrong_log_id",
            ViolationKind::HeadMismatch => "head_mismatch",
            ViolationKind::Unsupported => "unsupported",
        }
    }
}

impl std::fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One violation found by verify.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Violation {
    pub kind: ViolationKind,
    /// The record's seq when it could be read.
    pub seq: Option<u64>,
    /// 1-based line (JSONL), 0 for binary logs.
    pub line: u64,
    /// Byte offset of the record in the file.
    pub offset: u64,
    /// Human-readable description.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(s) = self.seq {
            write!(f, " at entry seq {s}")?;
        }
        if self.line > 0 {
            write!(f, ", line {}", self.line)?;
        }
        write!(f, ", byte offset {}: {}", self.offset, self.message)
    }
}

/// A head kept outside the log (count of entries and last hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedHead {
    /// The entry count (= last seq) when the head was taken.
    pub seq: u64,
    /// The hash of that entry.
    pub hash: Hash,
}

/// Options for [`verify`].
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The HMAC key for keyed logs. Giving a key for a keyless log is a
    /// violation (the log may have been rewritten without the key).
    pub key: Option<Key>,
    /// A head taken earlier: the log must contain it (detects truncation).
    pub expected_head: Option<ExpectedHead>,
    /// The log id the log must have.
    pub expected_log_id: Option<String>,
    /// Report every violation instead of the first.
    pub all: bool,
    /// Worker threads (0: all cores). At most one per core and at most
    /// [`MAX_THREADS`] are used; when the OS refuses a thread, fewer (down
    /// to the calling thread alone).
    pub threads: usize,
    /// Called with (bytes checked, total bytes) as verification proceeds.
    pub progress: Option<Arc<dyn Fn(u64, u64) + Send + Sync>>,
    /// How long a torn tail that is only a record's beginning is watched
    /// for the file to grow, i.e. for a writer still appending that record
    /// (spec/format.md § 9.5, "in flight"). `None`: [`IN_FLIGHT_WAIT`].
    /// `Some(Duration::ZERO)` checks the size once without waiting: for
    /// logs nobody appends to any more (archives, copies), whose torn
    /// tails are then reported without a pause.
    pub in_flight_wait: Option<Duration>,
}

/// How long [`verify`] watches a torn tail for a writer still appending
/// it, unless [`VerifyOptions::in_flight_wait`] says otherwise.
pub const IN_FLIGHT_WAIT: Duration = Duration::from_millis(126);

impl VerifyOptions {
    /// The defaults: no key, no expected head or log id, first violation
    /// only, all cores.
    pub fn new() -> VerifyOptions {
        VerifyOptions::default()
    }

    /// The HMAC key for a keyed log.
    pub fn key(mut self, key: Option<Key>) -> Self {
        self.key = key;
        self
    }

    /// A head taken earlier that the log must contain.
    pub fn expected_head(mut self, head: ExpectedHead) -> Self {
        self.expected_head = Some(head);
        self
    }

    /// The log id the log must have.
    pub fn expected_log_id(mut self, id: impl Into<String>) -> Self {
        self.expected_log_id = Some(id.into());
        self
    }

    /// Report every violation instead of the first.
    pub fn all(mut self, all: bool) -> Self {
        self.all = all;
        self
    }

    /// Worker threads (0: all cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Called with (bytes checked, total bytes) as verification proceeds.
    pub fn progress(mut self, f: impl Fn(u64, u64) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// How long a torn tail is watched for a writer still appending it
    /// (default [`IN_FLIGHT_WAIT`]; `Duration::ZERO`: no pause).
    pub fn in_flight_wait(mut self, wait: Duration) -> Self {
        self.in_flight_wait = Some(wait);
        self
    }
}

impl std::fmt::Debug for VerifyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("key", &self.key)
            .field("expected_head", &self.expected_head)
            .field("expected_log_id", &self.expected_log_id)
            .field("all", &self.all)
            .field("threads", &self.threads)
            .field("in_flight_wait", &self.in_flight_wait)
            .finish_non_exhaustive()
    }
}

/// Most violations kept in a report (the total is still counted).
pub const MAX_REPORTED: usize = 10_000;

/// The result of [`verify`].
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// True when no violation was found.
    pub valid: bool,
    /// The file checked.
    pub path: PathBuf,
    /// The framing, when the file has one.
    #[serde(serialize_with = "ser_framing")]
    pub framing: Option<Framing>,
    /// Algorithm name, log id and key id from the genesis.
    pub alg: Option<String>,
    pub log_id: Option<String>,
    pub key_id: Option<String>,
    /// Entry records checked (the genesis is not counted).
    pub entries: u64,
    /// Seq and hash (hex) of the last complete record.
    pub head_seq: u64,
    pub head_hash: Option<String>,
    /// File size.
    pub bytes: u64,
    /// The first violation, or all of them (up to [`MAX_REPORTED`]) when
    /// `all` was set.
    pub violations: Vec<Violation>,
    /// Number of violations found (may exceed `violations.len()`).
    pub violations_total: u64,
    /// Bytes at the end of the file that are the beginning of a record
    /// being written while verify ran (the file grew): not a violation,
    /// not checked (spec § 9.5).
    pub in_flight_tail: Option<u64>,
    /// The file is not an evident log (spec § 9.2): it is empty, in neither
    /// framing, or does not start with a readable genesis record. Nothing in
    /// it could be checked; the one violation is `malformed` at its start.
    /// Tools report this as "not an evident log", not as tampering.
    pub not_a_log: bool,
}

fn ser_framing<S: serde::Serializer>(
    f: &Option<Framing>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match f {
        Some(f) => s.serialize_str(f.name()),
        None => s.serialize_none(),
    }
}

impl VerifyReport {
    /// The first violation.
    pub fn first(&self) -> Option<&Violation> {
        self.violations.first()
    }

    /// The head found (entries count and last hash).
    pub fn head(&self) -> Option<Head> {
        let hash = Hash::from_hex(self.head_hash.as_deref()?)?;
        Some(Head {
            seq: self.head_seq,
            hash,
        })
    }

    /// True when the only problem is a torn tail.
    pub fn only_torn_tail(&self) -> bool {
        !self.violations.is_empty()
            && self
                .violations
                .iter()
                .all(|v| v.kind == ViolationKind::TornTail)
    }

    /// `"valid"`, `"torn_tail"` (a torn tail is the only problem) or
    /// `"invalid"`: the `status` of `evident verify --json`.
    pub fn status(&self) -> &'static str {
        if self.valid {
            "valid"
        } else if self.only_torn_tail() && self.violations_total == self.violations.len() as u64 {
            "torn_tail"
        } else {
            "invalid"
        }
    }

    /// The report as `evident verify --json` writes it: every field, plus
    /// `status` ([`VerifyReport::status`]) and `head` (`"SEQ:HASH"`, null
    /// when the log has no readable genesis).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let serde_json::Value::Object(m) = &mut v {
            m.insert("status".into(), self.status().into());
            m.insert(
                "head".into(),
                self.head_hash
                    .as_deref()
                    .map(|h| format!("{}:{h}", self.head_seq))
                    .into(),
            );
        }
        v
    }
}

/// Checks the log at `path`. Returns `Err` only when the file cannot be
/// read (I/O errors); every finding about its content is in the report.
pub fn verify(path: impl AsRef<Path>, opts: &VerifyOptions) -> Result<VerifyReport> {
    let path = path.as_ref();
    let file = crate::storage::open_regular(path, crate::storage::Access::Read, "open")?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(path, "stat", e))?
        .len();
    let mut report = VerifyReport {
        valid: false,
        path: path.to_path_buf(),
        framing: None,
        alg: None,
        log_id: None,
        key_id: None,
        entries: 0,
        head_seq: 0,
        head_hash: None,
        bytes: len,
        violations: Vec::new(),
        violations_total: 0,
        in_flight_tail: None,
        not_a_log: false,
    };
    let mut sink = Sink::new(opts.all);
    let gi = match read_genesis(path, &file, len) {
        Ok(g) => g,
        Err(Error::Io { source, op, .. }) => return Err(Error::io(path, op, source)),
        Err(e) => {
            report.not_a_log = matches!(e, Error::Malformed { .. });
            let (kind, offset, line) = genesis_error_at(&file, &e);
            sink.push(Violation {
                kind,
                seq: Some(0),
                line,
                offset,
                // The violation carries the position; keep only the problem.
                message: match &e {
                    Error::Malformed { msg, .. } | Error::Unsupported { msg, .. } => msg.clone(),
                    Error::Corrupt { msg, .. } => msg
                        .trim_end_matches(crate::log::LOG_CORRUPT_HINT)
                        .to_string(),
                    other => other.to_string(),
                },
            });
            return Ok(sink.finish(report));
        }
    };
    let (framing, genesis_hash, genesis_end) = (gi.framing, gi.hash, gi.end);
    let genesis = &gi.genesis;
    report.framing = Some(framing);
    report.alg = Some(genesis.alg.name().to_string());
    report.log_id = Some(genesis.log_id.clone());
    report.key_id = genesis.key_id.clone();
    report.head_hash = Some(genesis_hash.to_hex());
    let g_line = u64::from(framing == Framing::Jsonl);
    let g_off = framing.data_start();
    let chain = check_genesis(path, &gi, opts, &mut sink, g_line, g_off)?;

    let mut joiner = Joiner {
        sink,
        expect: Expect::after_genesis(genesis_hash),
        line_base: g_line,
        last_good_end: genesis_end,
        tail_start: None,
        head: (0, genesis_hash),
        entries: 0,
        expected_seq_hash: None,
        framing,
    };
    let threads = worker_threads(opts.threads);
    let target_seq = opts.expected_head.map(|h| h.seq);
    let hash_len = genesis.alg.hash_len();
    stream_chunks(
        path,
        &file,
        framing,
        genesis_end,
        len,
        threads,
        opts,
        |chunk| check_chunk(framing, chain.as_ref(), hash_len, chunk, target_seq),
        &mut joiner,
    )?;

    // What follows the last readable record (spec § 9.5): a torn tail, a
    // record still being written, or damage (whose malformed spans the
    // chunks already reported).
    if let Some((off, line)) = joiner.tail_start {
        match crate::tail::classify(&file, framing, off, len)
            .map_err(|e| Error::io(path, "read", e))?
        {
            crate::tail::Tail::Torn { lost_block } => {
                joiner.sink.retain_before(off);
                let wait = opts.in_flight_wait.unwrap_or(IN_FLIGHT_WAIT);
                if !lost_block && growing(&file, len, wait) {
                    report.in_flight_tail = Some(len - off);
                } else {
                    joiner.sink.push(Violation {
                        kind: ViolationKind::TornTail,
                        seq: None,
                        line: if framing == Framing::Jsonl { line } else { 0 },
                        offset: off,
                        message: format!(
                            "{} bytes at the end of the file are not a complete record (an interrupted write or a power cut); opening the log moves them aside, unless its lock file records them as written durably (then open refuses them and `evident repair --force` moves them)",
                            len - off
                        ),
                    });
                }
            }
            crate::tail::Tail::Clean | crate::tail::Tail::Damaged(_) => {}
        }
    }
    check_expected_head(&mut joiner, opts, genesis_hash);
    report.entries = joiner.entries;
    report.head_seq = joiner.head.0;
    report.head_hash = Some(joiner.head.1.to_hex());
    Ok(joiner.sink.finish(report))
}

/// Whether the file grows within `wait`: a writer is appending, so an
/// incomplete record at its end is in flight, not torn. Looks at once, then
/// after pauses of 2, 4, 8, ... ms (the last one cut to end at `wait`).
fn growing(file: &File, len: u64, wait: Duration) -> bool {
    let mut waited = Duration::ZERO;
    let mut pause = Duration::from_millis(2);
    loop {
        if file.metadata().map(|m| m.len()).unwrap_or(len) > len {
            return true;
        }
        let Some(left) = wait.checked_sub(waited).filter(|l| !l.is_zero()) else {
            return false;
        };
        let p = pause.min(left);
        std::thread::sleep(p);
        waited += p;
        pause = pause.saturating_mul(2);
    }
}

/// Kind and position (offset, line) of a violation for a log whose header
/// or genesis cannot be read: the genesis record's position (offset 0 and
/// line 1 in JSONL, offset 16 and line 0 in binary), or offset 0 for a
/// damaged or unsupported binary header and a file in no framing.
fn genesis_error_at(file: &File, e: &Error) -> (ViolationKind, u64, u64) {
    let mut first = [0u8; format::BINARY_HEADER_LEN];
    let n = file.read_full_at(&mut first, 0).unwrap_or(0);
    let first = first.get(..n).unwrap_or_default();
    let binary = Framing::detect(first) == Some(Framing::Binary);
    // Magic, framing version 1, flags 0.
    let header_ok = first == Framing::Binary.file_header().as_slice();
    let kind = match e {
        Error::Unsupported { .. } => ViolationKind::Unsupported,
        _ => ViolationKind::Malformed,
    };
    let at_genesis = match e {
        Error::Malformed { at, .. } => at.offset != 0 || !binary,
        _ => true,
    };
    match (binary, header_ok && at_genesis) {
        (true, true) => (kind, Framing::Binary.data_start(), 0),
        (true, false) => (kind, 0, 0),
        (false, _) => (kind, 0, 1),
    }
}

fn check_genesis(
    path: &Path,
    gi: &GenesisInfo,
    opts: &VerifyOptions,
    sink: &mut Sink,
    line: u64,
    offset: u64,
) -> Result<Option<Chain>> {
    let at = |kind, message: String| Violation {
        kind,
        seq: Some(0),
        line,
        offset,
        message,
    };
    let genesis = &gi.genesis;
    let chain = match chain_for(path, genesis, opts.key.as_ref()) {
        Ok(c) => Some(c),
        Err(Error::WrongKey { msg, .. }) => {
            sink.push(at(ViolationKind::WrongKey, msg));
            None
        }
        Err(e) => return Err(e),
    };
    if let Some(chain) = &chain {
        if !gi.hash_ok(chain) {
            sink.push(at(
                ViolationKind::HashMismatch,
                "genesis record fails its hash check".into(),
            ));
        }
    }
    if let Some(want) = &opts.expected_log_id {
        if !want.eq_ignore_ascii_case(&genesis.log_id) {
            sink.push(at(
                ViolationKind::WrongLogId,
                format!("log id is {}, expected {want}", genesis.log_id),
            ));
        }
    }
    Ok(chain)
}

/// Collects violations: the first only, or all up to a cap.
struct Sink {
    all: bool,
    list: Vec<Violation>,
    total: u64,
    /// Malformed violations counted after the last readable record (kept
    /// in `list` or not): the ones a torn tail replaces.
    tail_malformed: u64,
}

impl Sink {
    fn new(all: bool) -> Sink {
        Sink {
            all,
            list: Vec::new(),
            total: 0,
            tail_malformed: 0,
        }
    }
    fn push(&mut self, v: Violation) {
        self.total += 1;
        if self.list.len() < MAX_REPORTED {
            self.list.push(v);
        }
    }
    /// Forgets the malformed violations from `off` on: the ones after the
    /// last readable record (some may not be in `list`, only counted).
    fn retain_before(&mut self, off: u64) {
        self.list
            .retain(|v| v.offset < off || v.kind != ViolationKind::Malformed);
        self.total -= self.tail_malformed;
        self.tail_malformed = 0;
    }
    fn finish(mut self, mut report: VerifyReport) -> VerifyReport {
        // Stable order: by file position (genesis findings first).
        self.list.sort_by_key(|v| v.offset);
        if !self.all {
            self.list.truncate(1);
        }
        report.valid = self.total == 0;
        report.violations_total = self.total;
        report.violations = self.list;
        report
    }
}

/// A chunk of whole records handed to a worker.
struct Chunk {
    index: u64,
    offset: u64,
    /// The chunk's bytes are `buf[..len]` (the rest of `buf` is spare).
    buf: Vec<u8>,
    len: usize,
    /// JSONL: the complete lines are `buf[..lines_end]` (the worker finds
    /// them: a span per line would cost memory that grows with the number
    /// of lines); `spans` are the spans after them. Binary: 0, and `spans`
    /// are all the spans (a frame is at least 50 bytes, and damaged regions
    /// lie between frames, so their number is bounded by the chunk size).
    lines_end: usize,
    spans: Vec<Span>,
}

/// One record's link information.
#[derive(Clone, Copy)]
struct LinkInfo {
    seq: u64,
    prev: Hash,
    offset: u64,
    line: u64,
}

/// Shortest possible record line in a JSONL log (LF included): every
/// readable line holds two hashes of at least 64 hex digits (spec § 9.4).
const MIN_JSONL_RECORD: u64 = 128;

/// Shortest possible binary frame: 16 bytes of framing, a 2-byte body and
/// a 32-byte hash (spec § 8).
const MIN_BINARY_RECORD: u64 = (format::FRAME_OVERHEAD + 2 + 32) as u64;

/// How many records an unreadable span could have held (spec § 9.4): its
/// length over the shortest record, at least one.
fn records_held(framing: Framing, span: &Span) -> u64 {
    let (len, min) = match framing {
        Framing::Jsonl => (
            span.len as u64 + u64::from(span.kind == SpanKind::Record),
            MIN_JSONL_RECORD,
        ),
        Framing::Binary => (span.len as u64, MIN_BINARY_RECORD),
    };
    (len / min).max(1)
}

/// The expectation `E` of spec § 9.3: the next seq and the previous hash,
/// and how many records the unreadable spans since the last readable
/// record could have held (after one, the hash is forgotten and the seq
/// may advance by at most that many records, § 9.4).
///
/// The next seq is kept as the seq of the last readable record (`last`):
/// it is `last + 1`, and none after 2⁶⁴ − 1 (no record has seq 2⁶⁴, § 2;
/// a seq that wrapped to 0 would make the record after 2⁶⁴ − 1 look like
/// its successor).
#[derive(Clone, Copy)]
pub(crate) struct Expect {
    last: u64,
    hash: Hash,
    unreadable: u64,
}

impl Expect {
    /// The expectation after the genesis, whose stored hash is `hash`.
    fn after_genesis(hash: Hash) -> Expect {
        Expect {
            last: 0,
            hash,
            unreadable: 0,
        }
    }

    /// The expectation after the readable record `p`: the chain goes on
    /// from it as stored, whatever its violations.
    pub(crate) fn after(p: &format::Parsed<'_>) -> Expect {
        Expect {
            last: p.seq,
            hash: p.raw.hash,
            unreadable: 0,
        }
    }

    /// The link violation of a record with `seq` and `prev` under this
    /// expectation, if any.
    fn check(&self, seq: u64, prev: &Hash) -> Option<(ViolationKind, String)> {
        let last = self.last;
        if self.unreadable == 0 {
            // `None` after 2⁶⁴ − 1: every record is a gap.
            if Some(seq) != last.checked_add(1) {
                return Some((
                    ViolationKind::SeqGap,
                    format!("seq {seq} follows seq {last}"),
                ));
            }
            if *prev != self.hash {
                return Some((
                    ViolationKind::ChainBreak,
                    "\"prev\" is not the previous record's hash".into(),
                ));
            }
            return None;
        }
        let k = self.unreadable;
        let spans = if k == 1 {
            "unreadable bytes that can hold at most 1 record".to_string()
        } else {
            format!("unreadable bytes that can hold at most {k} records")
        };
        // The record is accepted when its seq is in [last + 1, last + 1 + K]
        // (§ 9.4); `d` = seq − last, so 1 ≤ d ≤ K + 1 (none after 2⁶⁴ − 1:
        // d would be 0).
        match seq.checked_sub(last).filter(|d| *d > 0) {
            Some(d) if d - 1 <= k => None,
            Some(d) => {
                let missing = d - 1 - k;
                let what = if missing == 1 {
                    "1 entry is missing".to_string()
                } else {
                    format!("{missing} entries are missing")
                };
                Some((
                    ViolationKind::SeqGap,
                    format!("seq {seq} follows seq {last} and {spans}: {what}"),
                ))
            }
            None => Some((
                ViolationKind::SeqGap,
                format!("seq {seq} follows seq {last} and {spans}"),
            )),
        }
    }
}

/// The check of spec § 9.3 for one readable record `p` (from
/// [`format::parse_fast`] or [`format::parse`]), in its order of priority:
/// a genesis after the start or a hash of the wrong length (`malformed`),
/// then the link to the records before it (`seq_gap`, `chain_break`)
/// under the expectation `expect` (`None`: not known here, as for the
/// first record of a piece checked on its own, whose link the caller
/// checks when it joins the pieces), then the hash (`hash_mismatch`;
/// `chain: None` when the key is wrong and no hash is checked). At most one
/// violation per record. After it, whatever it returns, the chain goes on
/// from the record as stored: [`Expect::after`].
///
/// Every record source (a file's chunks here) runs its records through
/// this one function.
pub(crate) fn check_record(
    p: &format::Parsed<'_>,
    expect: Option<&Expect>,
    computed: Option<&Hash>,
    hash_len: usize,
) -> Option<(ViolationKind, String)> {
    if p.kind == RecordKind::Genesis {
        return Some((
            ViolationKind::Malformed,
            "a genesis record after the start of the log".into(),
        ));
    }
    if p.raw.hash.as_bytes().len() != hash_len {
        return Some((
            ViolationKind::Malformed,
            "hash length does not match the log's algorithm".into(),
        ));
    }
    if let Some(link) = expect.and_then(|e| e.check(p.seq, &p.prev)) {
        return Some(link);
    }
    match computed {
        Some(h) if *h != p.raw.hash => Some((
            ViolationKind::HashMismatch,
            "stored hash is not the hash of the record".into(),
        )),
        _ => None,
    }
}

/// What a worker found in one chunk (lines relative to the chunk).
struct ChunkResult {
    index: u64,
    bytes_end: u64,
    lines: u64,
    /// The chunk's first readable record (its link to what came before is
    /// checked by the joiner), with the violation the worker found for it
    /// on its own (malformed, hash mismatch).
    first: Option<(LinkInfo, Option<Violation>)>,
    /// Unreadable spans before the first readable record (all of them if
    /// there is none).
    leading_unreadable: u64,
    /// How many of `violations`, from the first, are malformed spans
    /// before the first readable record (their messages do not yet say
    /// which record they follow).
    leading_malformed: usize,
    /// Expectation after the chunk, when it holds a readable record.
    expect_after: Option<Expect>,
    /// Last parsed record: (seq, hash, end offset).
    last: Option<(u64, Hash, u64)>,
    /// First malformed span after the last parsed record: (offset, line).
    trailing_bad: Option<(u64, u64)>,
    /// Malformed spans after the last parsed record (all, if none).
    trailing_bad_count: u64,
    /// At most [`MAX_REPORTED`] violations, in file order ...
    violations: Vec<Violation>,
    /// ... and how many more were found.
    dropped: u64,
    entries: u64,
    target_hash: Option<Hash>,
}

impl ChunkResult {
    fn push(&mut self, v: Violation) {
        if self.violations.len() < MAX_REPORTED {
            self.violations.push(v);
        } else {
            self.dropped += 1;
        }
    }
}

fn check_chunk(
    framing: Framing,
    chain: Option<&Chain>,
    hash_len: usize,
    c: &Chunk,
    target_seq: Option<u64>,
) -> ChunkResult {
    let mut r = ChunkResult {
        index: c.index,
        bytes_end: c.offset + c.len as u64,
        lines: 0,
        first: None,
        leading_unreadable: 0,
        leading_malformed: 0,
        expect_after: None,
        last: None,
        trailing_bad: None,
        trailing_bad_count: 0,
        violations: Vec::new(),
        dropped: 0,
        entries: 0,
        target_hash: None,
    };
    let mut expect: Option<Expect> = None;
    let mut lfs_before = 0u64;
    let lines = scan::jsonl_line_spans(c.buf.get(..c.lines_end).unwrap_or_default());
    let mut spans = lines.chain(c.spans.iter().copied());
    // Records are parsed a group at a time and the group's bodies hashed
    // together (two at a time on SHA-NI: `Chain::hash_many`), then checked
    // in order.
    let mut group = Vec::with_capacity(HASH_GROUP);
    let mut bodies = Vec::with_capacity(HASH_GROUP);
    let mut hashes = Vec::with_capacity(HASH_GROUP);
    loop {
        group.clear();
        group.extend(spans.by_ref().take(HASH_GROUP).map(|span| {
            let bytes = c
                .buf
                .get(span.start..span.start + span.len)
                .unwrap_or_default();
            let parsed = match span.kind {
                SpanKind::Record => match framing {
                    Framing::Jsonl => format::parse_fast(framing, bytes),
                    // The scanner checked the frame (CRC included).
                    Framing::Binary => format::parse_fast_checked_frame(bytes),
                }
                .map_err(|d| d.0),
                // Reported only when the tail is not torn (§ 9.5): usually a
                // complete record that fails its check, not a cut write.
                SpanKind::Partial => Err(
                    "the end of the file is a record that fails its check, not a cut-short write"
                        .to_string(),
                ),
                SpanKind::Bad => Err(bad_span_message(framing, span.len)),
            };
            (span, parsed)
        }));
        if group.is_empty() {
            break;
        }
        hashes.clear();
        if let Some(chain) = chain {
            bodies.clear();
            bodies.extend(
                group
                    .iter()
                    .filter_map(|(_, p)| p.as_ref().ok())
                    .map(|p| (p.raw.body_head, p.raw.body_tail)),
            );
            chain.hash_many(&bodies, &mut hashes);
        }
        let mut computed = hashes.iter();
        for (span, parsed) in &group {
            let span = *span;
            let offset = c.offset + span.start as u64;
            let line = if framing == Framing::Jsonl {
                lfs_before + 1
            } else {
                0
            };
            // Lines are counted by LF bytes: only complete records end in one
            // (an over-long run without LF may be split into several spans).
            if framing == Framing::Jsonl && span.kind == SpanKind::Record {
                lfs_before += 1;
            }
            let p = match parsed {
                Ok(p) => p,
                Err(msg) => {
                    let msg = msg.clone();
                    // Which record it follows: known here after this chunk's
                    // first readable record, else said by the joiner.
                    let message = match &expect {
                        Some(e) => after_record(msg, e.last),
                        None => {
                            r.leading_malformed += 1;
                            msg
                        }
                    };
                    r.push(Violation {
                        kind: ViolationKind::Malformed,
                        seq: None,
                        line,
                        offset,
                        message,
                    });
                    if r.trailing_bad.is_none() {
                        r.trailing_bad = Some((offset, line));
                    }
                    r.trailing_bad_count += 1;
                    let holds = records_held(framing, &span);
                    match &mut expect {
                        Some(e) => e.unreadable += holds,
                        None => r.leading_unreadable += holds,
                    }
                    continue;
                }
            };
            r.trailing_bad = None;
            r.trailing_bad_count = 0;
            let end = offset + span.len as u64 + u64::from(framing == Framing::Jsonl);
            let is_first = r.first.is_none();
            let v = check_record(p, expect.as_ref(), computed.next(), hash_len).map(
                |(kind, message)| Violation {
                    kind,
                    seq: Some(p.seq),
                    line,
                    offset,
                    message,
                },
            );
            if is_first {
                r.first = Some((
                    LinkInfo {
                        seq: p.seq,
                        prev: p.prev,
                        offset,
                        line,
                    },
                    v,
                ));
            } else if let Some(v) = v {
                r.push(v);
            }
            if p.kind == RecordKind::Entry {
                r.entries += 1;
            }
            if Some(p.seq) == target_seq {
                r.target_hash = Some(p.raw.hash);
            }
            expect = Some(Expect::after(p));
            r.last = Some((p.seq, p.raw.hash, end));
        }
    }
    r.lines = lfs_before;
    r.expect_after = expect;
    r
}

/// Joins chunk results in file order.
struct Joiner {
    sink: Sink,
    expect: Expect,
    line_base: u64,
    last_good_end: u64,
    tail_start: Option<(u64, u64)>,
    head: (u64, Hash),
    entries: u64,
    expected_seq_hash: Option<Hash>,
    framing: Framing,
}

impl Joiner {
    fn join(&mut self, mut r: ChunkResult) {
        let base = self.line_base;
        for v in r.violations.iter_mut().take(r.leading_malformed) {
            v.message = after_record(std::mem::take(&mut v.message), self.expect.last);
        }
        let fix_line = |mut v: Violation| {
            if v.line > 0 {
                v.line += base;
            }
            v
        };
        if let Some((link, own)) = r.first {
            let line = if link.line > 0 { link.line + base } else { 0 };
            let e = Expect {
                unreadable: self.expect.unreadable + r.leading_unreadable,
                ..self.expect
            };
            let v = e
                .check(link.seq, &link.prev)
                .map(|(kind, message)| Violation {
                    kind,
                    seq: Some(link.seq),
                    line,
                    offset: link.offset,
                    message,
                });
            // A malformed record (found by the worker) outranks a link
            // violation; a hash mismatch does not (spec § 9.3).
            let chosen = match own.map(fix_line) {
                Some(o) if o.kind == ViolationKind::Malformed => Some(o),
                o => v.or(o),
            };
            if let Some(v) = chosen {
                self.sink.push(v);
            }
        }
        for v in r.violations {
            self.sink.push(fix_line(v));
        }
        self.sink.total += r.dropped;
        if let Some((seq, hash, end)) = r.last {
            self.head = (seq, hash);
            self.last_good_end = end;
            self.tail_start = None;
        }
        if let Some((off, line)) = r.trailing_bad {
            if self.tail_start.is_none() {
                self.tail_start = Some((off, line + base));
            }
        }
        match r.expect_after {
            Some(e) => self.expect = e,
            None => self.expect.unreadable += r.leading_unreadable,
        }
        // The malformed spans after the last readable record (a torn tail
        // if nothing readable follows).
        if r.last.is_some() {
            self.sink.tail_malformed = 0;
        }
        self.sink.tail_malformed += r.trailing_bad_count;
        self.entries += r.entries;
        if r.target_hash.is_some() {
            self.expected_seq_hash = r.target_hash;
        }
        if self.framing == Framing::Jsonl {
            self.line_base += r.lines;
        }
    }
}

/// Records hashed together by [`check_chunk`] (an even number: they are
/// hashed in pairs).
const HASH_GROUP: usize = 16;

/// The bytes read for a chunk: small enough that a chunk read, split and
/// checked stays in a core's L2 cache (against 4 MiB: half the memory and
/// a few percent less CPU on one thread, docs/benchmarks.md).
const VERIFY_CHUNK: usize = 1024 * 1024;

/// The most read at once while a record or damaged region is still
/// undecided (each read rescans what is buffered: reads that grow with the
/// buffer keep that linear).
const VERIFY_READ_MAX: usize = 4 * 1024 * 1024;

/// Most threads verify uses, whatever is asked.
pub const MAX_THREADS: usize = 256;

/// The worker threads to use for `requested` (0: all cores): at most one
/// per core (verification is CPU-bound) and at most [`MAX_THREADS`].
fn worker_threads(requested: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = if requested == 0 { cores } else { requested };
    n.min(cores).clamp(1, MAX_THREADS)
}

/// What verify says of `len` bytes no record starts with, in the
/// framing's words.
pub(crate) fn bad_span_message(framing: Framing, len: usize) -> String {
    let what = match framing {
        Framing::Jsonl => "no valid record line",
        Framing::Binary => "no valid frame",
    };
    format!("damaged bytes: {len} bytes with {what}")
}

/// The message of a malformed span, which has no seq of its own, saying
/// which readable record it follows: the one before `next_seq` (the genesis
/// is seq 0).
pub(crate) fn after_seq(message: String, next_seq: u64) -> String {
    after_record(message, next_seq.wrapping_sub(1))
}

/// [`after_seq`] by the seq of the readable record the span follows.
fn after_record(mut message: String, last_seq: u64) -> String {
    use std::fmt::Write as _;
    let _ = write!(message, " (after seq {last_seq})");
    message
}

#[cfg(test)]
thread_local! {
    /// Test hook: how many threads may still be spawned (None: no limit).
    static SPAWN_BUDGET: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
    /// Test hook: the chunk size.
    static CHUNK_SIZE: std::cell::Cell<usize> = const { std::cell::Cell::new(VERIFY_CHUNK) };
}

fn chunk_size() -> usize {
    #[cfg(test)]
    {
        CHUNK_SIZE.with(|c| c.get())
    }
    #[cfg(not(test))]
    {
        VERIFY_CHUNK
    }
}

/// Spawns a scoped thread; `None` when the OS refuses one.
fn try_spawn<'scope, F>(
    s: &'scope std::thread::Scope<'scope, '_>,
    f: F,
) -> Option<std::thread::ScopedJoinHandle<'scope, ()>>
where
    F: FnOnce() + Send + 'scope,
{
    #[cfg(test)]
    {
        let refused = SPAWN_BUDGET.with(|b| match b.get() {
            Some(0) => true,
            Some(n) => {
                b.set(Some(n - 1));
                false
            }
            None => false,
        });
        if refused {
            return None;
        }
    }
    std::thread::Builder::new()
        .name("evident-verify".into())
        .spawn_scoped(s, f)
        .ok()
}

/// Reads `[start, len)` in chunks split at record boundaries, checks them
/// on up to `threads` workers and joins the results in order. The calling
/// thread reads, splits and joins; at most `2 * threads` chunks are read
/// and not yet joined. Runs on the calling thread alone when `threads` is 1
/// or the OS gives no thread.
#[allow(clippy::too_many_arguments)]
fn stream_chunks<F>(
    path: &Path,
    file: &File,
    framing: Framing,
    start: u64,
    len: u64,
    threads: usize,
    opts: &VerifyOptions,
    work: F,
    joiner: &mut Joiner,
) -> Result<()>
where
    F: Fn(&Chunk) -> ChunkResult + Sync,
{
    let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
    let chunk_len = chunk_size();
    let mut reader = ChunkReader {
        file,
        framing,
        pos: start,
        len,
        buf: Vec::new(),
        filled: 0,
        free: free_rx,
        index: 0,
        chunk: chunk_len,
    };
    let total = len;
    let report = |done: u64| {
        if let Some(p) = &opts.progress {
            p(done, total);
        }
    };
    let read_err = |e| Error::io(path, "read", e);
    let sequential = |first: Option<Chunk>, reader: &mut ChunkReader, joiner: &mut Joiner| {
        let mut next = first;
        loop {
            let chunk = match next.take() {
                Some(c) => c,
                None => match reader.next_chunk().map_err(read_err)? {
                    Some(c) => c,
                    None => return Ok(()),
                },
            };
            let r = work(&chunk);
            recycle(&free_tx, chunk, chunk_len);
            report(r.bytes_end);
            joiner.join(r);
        }
    };
    if threads <= 1 {
        return sequential(None, &mut reader, joiner);
    }
    // The first chunk is read before any thread starts: its buffer comes
    // before their stacks, so that memory enough for the calling thread
    // alone is never refused for the threads' sake (then fewer of them
    // start, or none).
    let Some(first) = reader.next_chunk().map_err(read_err)? else {
        return Ok(());
    };
    let window = threads * 2;
    let (job_tx, job_rx) = mpsc::sync_channel::<Chunk>(window);
    let job_rx = Mutex::new(job_rx);
    let (res_tx, res_rx) = mpsc::channel::<ChunkResult>();
    std::thread::scope(|s| -> Result<()> {
        let mut workers = 0;
        for _ in 0..threads {
            let res_tx = res_tx.clone();
            let free_tx = free_tx.clone();
            let job_rx = &job_rx;
            let work = &work;
            let spawned = try_spawn(s, move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                match job {
                    Ok(chunk) => {
                        let r = work(&chunk);
                        recycle(&free_tx, chunk, chunk_len);
                        if res_tx.send(r).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            });
            match spawned {
                Some(_) => workers += 1,
                None => break,
            }
        }
        drop(res_tx);
        if workers == 0 {
            drop(job_tx);
            return sequential(Some(first), &mut reader, joiner);
        }
        if job_tx.send(first).is_err() {
            return Err(Error::io(
                path,
                "verify",
                std::io::Error::other("a verification thread stopped"),
            ));
        }
        let mut pending = BTreeMap::new();
        let (mut sent, mut joined) = (1u64, 0u64);
        let mut receive = |pending: &mut BTreeMap<u64, ChunkResult>, joined: &mut u64| -> bool {
            let Ok(r) = res_rx.recv() else {
                return false;
            };
            pending.insert(r.index, r);
            while let Some(r) = pending.remove(joined) {
                report(r.bytes_end);
                joiner.join(r);
                *joined += 1;
            }
            true
        };
        let mut failed = None;
        loop {
            // Bound the chunks in flight (read, queued, checked or waiting
            // to be joined).
            while sent - joined >= window as u64 {
                if !receive(&mut pending, &mut joined) {
                    break;
                }
            }
            match reader.next_chunk() {
                Ok(Some(chunk)) => {
                    if job_tx.send(chunk).is_err() {
                        break;
                    }
                    sent += 1;
                }
                Ok(None) => break,
                // Memory for another chunk was refused: fewer chunks in
                // flight. Wait for one to come back (its buffer is freed
                // for the next read), then read again.
                Err(e) if e.kind() == std::io::ErrorKind::OutOfMemory && sent > joined => {
                    if !receive(&mut pending, &mut joined) {
                        failed = Some(e);
                        break;
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        drop(job_tx);
        while joined < sent {
            if !receive(&mut pending, &mut joined) {
                break;
            }
        }
        if let Some(e) = failed {
            return Err(read_err(e));
        }
        if joined < sent {
            return Err(Error::io(
                path,
                "verify",
                std::io::Error::other("a verification thread stopped"),
            ));
        }
        Ok(())
    })
}

struct ChunkReader<'a> {
    file: &'a File,
    framing: Framing,
    /// File offset of `buf[0]`.
    pos: u64,
    len: u64,
    /// The bytes read and not yet handed out: `buf[..filled]`. Its length
    /// beyond `filled` is memory initialised by earlier reads, reused
    /// without zeroing it again.
    buf: Vec<u8>,
    filled: usize,
    /// Buffers the workers are done with.
    free: mpsc::Receiver<Vec<u8>>,
    index: u64,
    chunk: usize,
}

/// A read buffer the allocator refused: the caller waits for a chunk in
/// flight to come back (its buffer), or fails with a clear error when
/// none is in flight, instead of the process aborting.
fn out_of_memory() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::OutOfMemory,
        "out of memory for a read buffer",
    )
}

impl ChunkReader<'_> {
    /// Grows `buf` to `need` bytes, keeping `buf[..filled]`. When the
    /// allocator refuses, the buffers the workers gave back are freed and
    /// it is asked once more; then `OutOfMemory` (the reader's state is
    /// unchanged, so the call can be repeated).
    fn grow(&mut self, need: usize) -> std::io::Result<()> {
        let more = need.saturating_sub(self.buf.len());
        if self.buf.try_reserve_exact(more).is_err() {
            while self.free.try_recv().is_ok() {}
            self.buf
                .try_reserve_exact(more)
                .map_err(|_| out_of_memory())?;
        }
        self.buf.resize(need, 0);
        Ok(())
    }

    fn next_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        loop {
            let read_from = self.pos + self.filled as u64;
            let at_eof = read_from >= self.len;
            if at_eof && self.filled == 0 {
                return Ok(None);
            }
            if !at_eof {
                let want = self
                    .chunk
                    .max(self.filled.min(VERIFY_READ_MAX))
                    .min((self.len - read_from) as usize);
                let need = self.filled + want;
                if self.buf.len() < need {
                    // Exact: amortized doubling would allocate up to twice
                    // the longest line on a damaged file.
                    self.grow(need)?;
                }
                let got = self.file.read_full_at(
                    self.buf.get_mut(self.filled..need).unwrap_or_default(),
                    read_from,
                )?;
                self.filled += got;
                if got < want {
                    self.len = read_from + got as u64;
                }
            }
            let at_eof = self.pos + self.filled as u64 >= self.len;
            let data = self.buf.get(..self.filled).unwrap_or_default();
            let mut spans = Vec::new();
            let (lines_end, consumed) = match self.framing {
                Framing::Jsonl => scan::split_jsonl_lines(data, at_eof, &mut spans),
                Framing::Binary => (0, scan::split(self.framing, data, at_eof, &mut spans)),
            };
            if consumed == 0 && !at_eof {
                continue;
            }
            // Hand this buffer out; what follows the last whole record
            // starts the next one (a buffer a worker gave back, if any).
            let rest = self.filled - consumed;
            let mut next = self.free.try_recv().unwrap_or_default();
            if next.len() < rest {
                next.try_reserve_exact(rest - next.len())
                    .map_err(|_| out_of_memory())?;
                next.resize(rest, 0);
            }
            if let (Some(dst), Some(src)) =
                (next.get_mut(..rest), self.buf.get(consumed..self.filled))
            {
                dst.copy_from_slice(src);
            }
            let buf = std::mem::replace(&mut self.buf, next);
            let chunk = Chunk {
                index: self.index,
                offset: self.pos,
                buf,
                len: consumed,
                lines_end,
                spans,
            };
            self.index += 1;
            self.pos += consumed as u64;
            self.filled = rest;
            return Ok(Some(chunk));
        }
    }
}

/// Gives a chunk's buffer back for the next read, unless it grew far
/// beyond a chunk (for an over-long record): then it is freed.
fn recycle(free: &mpsc::Sender<Vec<u8>>, chunk: Chunk, chunk_len: usize) {
    if chunk.buf.len() <= 2 * chunk_len {
        let _ = free.send(chunk.buf);
    }
}

// ---- Verification of any record source (files, PostgreSQL: src/source.rs).

/// The expected head (spec § 9): the log must reach it with that hash.
fn check_expected_head(joiner: &mut Joiner, opts: &VerifyOptions, genesis_hash: Hash) {
    if let Some(eh) = opts.expected_head {
        let found = joiner.expected_seq_hash.or(if eh.seq == 0 {
            Some(genesis_hash)
        } else {
            None
        });
        match found {
            None => joiner.sink.push(Violation {
                kind: ViolationKind::HeadMismatch,
                seq: Some(joiner.head.0),
                line: 0,
                offset: joiner.last_good_end,
                message: format!(
                    "log ends at entry {} but the expected head is entry {}: entries were removed from the end",
                    joiner.head.0, eh.seq
                ),
            }),
            Some(h) if h != eh.hash => joiner.sink.push(Violation {
                kind: ViolationKind::HeadMismatch,
                seq: Some(eh.seq),
                line: 0,
                offset: joiner.last_good_end,
                message: format!(
                    "entry {} has hash {} but the expected head hash is {}",
                    eh.seq, h, eh.hash
                ),
            }),
            Some(_) => {}
        }
    }
}

/// Checks the log a [`RecordSource`](crate::source::RecordSource) yields with the same per-record chain
/// check as [`verify()`] (the chunk worker and the joiner), on the calling
/// thread, holding one chunk of records at a time. The report names
/// `src.name()`; `bytes` counts the bytes of the records checked. A
/// partial record at the end is reported as a torn tail.
pub fn verify_source(
    src: &mut dyn crate::source::RecordSource,
    opts: &VerifyOptions,
) -> Result<VerifyReport> {
    use crate::source::SourceKind;
    let framing = src.framing();
    let path = src.name().to_path_buf();
    let mut report = VerifyReport {
        valid: false,
        path: path.clone(),
        framing: Some(framing),
        alg: None,
        log_id: None,
        key_id: None,
        entries: 0,
        head_seq: 0,
        head_hash: None,
        bytes: 0,
        violations: Vec::new(),
        violations_total: 0,
        in_flight_tail: None,
        not_a_log: false,
    };
    let mut sink = Sink::new(opts.all);
    let first = src.next_record()?;
    let (g_off, g_line) = first.as_ref().map_or((0, 0), |r| (r.offset, r.line));
    let gi = first.as_ref().and_then(|r| {
        if r.kind != SourceKind::Record {
            return None;
        }
        let p = format::parse(framing, &r.bytes).ok()?;
        let genesis = format::decode_genesis(&p).ok()?;
        Some(GenesisInfo {
            framing,
            genesis,
            hash: p.raw.hash,
            end: r.end(framing),
            bytes: r.bytes.clone(),
        })
    });
    let Some(gi) = gi else {
        report.not_a_log = true;
        report.bytes = first.as_ref().map_or(0, |r| r.end(framing));
        sink.push(Violation {
            kind: ViolationKind::Malformed,
            seq: Some(0),
            line: g_line,
            offset: g_off,
            message: "does not start with a readable genesis record".into(),
        });
        return Ok(sink.finish(report));
    };
    report.alg = Some(gi.genesis.alg.name().to_string());
    report.log_id = Some(gi.genesis.log_id.clone());
    report.key_id = gi.genesis.key_id.clone();
    let chain = check_genesis(&path, &gi, opts, &mut sink, g_line, g_off)?;
    let mut joiner = Joiner {
        sink,
        expect: Expect::after_genesis(gi.hash),
        line_base: g_line,
        last_good_end: gi.end,
        tail_start: None,
        head: (0, gi.hash),
        entries: 0,
        expected_seq_hash: None,
        framing,
    };
    let target_seq = opts.expected_head.map(|h| h.seq);
    let hash_len = gi.genesis.alg.hash_len();
    let limit = chunk_size();
    let mut chunk = Chunk {
        index: 0,
        offset: gi.end,
        buf: Vec::new(),
        len: 0,
        lines_end: 0,
        spans: Vec::new(),
    };
    let mut end = gi.end;
    let mut last_partial = None;
    let flush = |chunk: &mut Chunk, next_offset: u64, joiner: &mut Joiner| {
        if !chunk.buf.is_empty() || !chunk.spans.is_empty() {
            chunk.len = chunk.buf.len();
            let r = check_chunk(framing, chain.as_ref(), hash_len, chunk, target_seq);
            joiner.join(r);
        }
        chunk.index += 1;
        chunk.offset = next_offset;
        chunk.buf.clear();
        chunk.len = 0;
        chunk.lines_end = 0;
        chunk.spans.clear();
    };
    while let Some(r) = src.next_record()? {
        let contiguous = r.offset == chunk.offset + chunk.buf.len() as u64;
        let as_line = framing == Framing::Jsonl && r.kind == SourceKind::Record;
        // Lines first, then spans (the worker's chunk layout).
        if !contiguous || chunk.buf.len() >= limit || (as_line && !chunk.spans.is_empty()) {
            flush(&mut chunk, r.offset, &mut joiner);
        }
        if as_line {
            chunk.buf.extend_from_slice(&r.bytes);
            chunk.buf.push(b'\n');
            chunk.lines_end = chunk.buf.len();
        } else {
            chunk.spans.push(Span {
                start: chunk.buf.len(),
                len: r.bytes.len(),
                kind: match r.kind {
                    SourceKind::Record => SpanKind::Record,
                    SourceKind::Partial => SpanKind::Partial,
                    SourceKind::Damaged => SpanKind::Bad,
                },
            });
            chunk.buf.extend_from_slice(&r.bytes);
        }
        last_partial = (r.kind == SourceKind::Partial).then_some((r.offset, r.line, r.bytes.len()));
        end = r.end(framing);
    }
    flush(&mut chunk, end, &mut joiner);
    // The source's own findings (a database row's columns changed).
    let (found, more) = src.take_findings();
    for f in found {
        joiner.sink.push(Violation {
            kind: ViolationKind::Malformed,
            seq: Some(f.seq),
            line: f.line,
            offset: f.offset,
            message: f.message,
        });
    }
    joiner.sink.total += more;
    // A partial record at the end after the last readable one: a torn tail.
    if let (Some((off, line, len)), Some((t_off, _))) = (last_partial, joiner.tail_start) {
        if t_off == off {
            joiner.sink.retain_before(off);
            joiner.sink.push(Violation {
                kind: ViolationKind::TornTail,
                seq: None,
                line: if framing == Framing::Jsonl { line } else { 0 },
                offset: off,
                message: format!(
                    "{len} bytes at the end of the file are not a complete record (an interrupted write or a power cut); opening the log moves them aside, unless its lock file records them as written durably (then open refuses them and `evident repair --force` moves them)"
                ),
            });
        }
    }
    check_expected_head(&mut joiner, opts, gi.hash);
    report.bytes = end;
    report.entries = joiner.entries;
    report.head_seq = joiner.head.0;
    report.head_hash = Some(joiner.head.1.to_hex());
    Ok(joiner.sink.finish(report))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::chain::HashAlg;
    use crate::format::Event;
    use crate::log::{Durability, Log, OpenOptions};

    /// A thread that appends `bytes` to `path` after `delay` (a writer
    /// finishing a record while verify watches the tail).
    fn append_later(
        path: &Path,
        delay: Duration,
        bytes: &'static [u8],
    ) -> std::thread::JoinHandle<()> {
        use std::io::Write;
        let p = path.to_path_buf();
        std::thread::Builder::new()
            .spawn(move || {
                std::thread::sleep(delay);
                let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
                f.write_all(bytes).unwrap();
            })
            .unwrap()
    }

    /// `growing` with no wait looks once; with a wait it sees a file that
    /// grows during it, and a file already longer than the length read.
    #[test]
    fn growing_looks_once_without_a_wait_and_sees_growth_within_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123").unwrap();
        let file = File::open(&path).unwrap();
        assert!(!growing(&file, 4, Duration::ZERO));
        assert!(!growing(&file, 4, Duration::from_millis(5)));
        assert!(growing(&file, 3, Duration::ZERO));
        let writer = append_later(&path, Duration::from_millis(20), b"45");
        // A wait far longer than the writer's pause (a loaded machine).
        assert!(growing(&file, 4, Duration::from_secs(60)));
        writer.join().unwrap();
    }

    /// The wait given is the one used: a writer that extends a torn tail
    /// after 300 ms (longer than the default wait) is seen with a wait of
    /// 20 s, its bytes reported in flight and the log valid.
    #[test]
    fn a_long_in_flight_wait_sees_a_slow_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slow.jsonl");
        let (bytes, offsets) = build(&path, Framing::Jsonl, 3);
        let last = offsets[offsets.len() - 2];
        let torn = &bytes[..last + (bytes.len() - last) / 2];
        let mut rounds = 0;
        let r = loop {
            std::fs::write(&path, torn).unwrap();
            let writer = append_later(&path, Duration::from_millis(300), b"x");
            let r = verify(&path, &opts(1).in_flight_wait(Duration::from_secs(20))).unwrap();
            writer.join().unwrap();
            rounds += 1;
            // A loaded machine may run the writer before verify reads the
            // length (then nothing grows and the 20 s pass): run again.
            if r.in_flight_tail.is_some() || rounds == 3 {
                break r;
            }
        };
        assert!(r.valid, "{:?}", r.violations);
        assert_eq!(r.in_flight_tail, Some((torn.len() - last) as u64));
        assert_eq!(r.entries, 2);
    }

    /// A torn tail checked without a wait is reported as torn, as with the
    /// default wait when nothing writes.
    #[test]
    fn a_torn_tail_without_an_in_flight_wait_is_torn() {
        let dir = tempfile::tempdir().unwrap();
        for framing in [Framing::Jsonl, Framing::Binary] {
            let path = dir.path().join(format!("t-{framing:?}"));
            let (bytes, offsets) = build(&path, framing, 3);
            let last = offsets[offsets.len() - 2];
            let cut = last + (bytes.len() - last) / 2;
            std::fs::write(&path, &bytes[..cut]).unwrap();
            for o in [opts(1), opts(1).in_flight_wait(Duration::ZERO)] {
                let r = verify(&path, &o).unwrap();
                assert!(!r.valid && r.in_flight_tail.is_none(), "{framing:?}");
                assert_eq!(r.violations[0].kind, ViolationKind::TornTail, "{framing:?}");
                assert_eq!(r.violations[0].offset, last as u64, "{framing:?}");
                assert_eq!(r.entries, 2, "{framing:?}");
            }
        }
    }

    /// A log of `n` entries and the offsets of its records (genesis first,
    /// then the file length).
    fn build(path: &Path, framing: Framing, n: usize) -> (Vec<u8>, Vec<usize>) {
        let key = Key::new(b"verify unit-test key 0123456789".to_vec()).unwrap();
        let mut o = OpenOptions::new()
            .framing(framing)
            .alg(HashAlg::HmacSha256)
            .durability(Durability::Buffered);
        o.key = Some(key);
        let log = Log::open(path, o).unwrap();
        let mut bounds = vec![std::fs::metadata(path).unwrap().len() as usize];
        for i in 0..n {
            log.append(&Event::new("T", format!("a{i}")).session("s"))
                .unwrap();
            log.sync().unwrap();
            bounds.push(std::fs::metadata(path).unwrap().len() as usize);
        }
        log.close().unwrap();
        // bounds[k] = end of record k; make it the start of record k + 1.
        let start = framing.data_start() as usize;
        bounds.insert(0, start);
        (std::fs::read(path).unwrap(), bounds)
    }

    fn opts(threads: usize) -> VerifyOptions {
        VerifyOptions {
            key: Some(Key::new(b"verify unit-test key 0123456789".to_vec()).unwrap()),
            all: true,
            threads,
            ..Default::default()
        }
    }

    fn summary(r: &VerifyReport) -> String {
        let mut v = serde_json::to_value(r).unwrap();
        v.as_object_mut().unwrap().remove("path");
        v.to_string()
    }

    /// Damaged variants of a log: deleted entries behind an unreadable
    /// span, damage in place, a flipped byte, a torn tail, garbage between
    /// records.
    fn variants(framing: Framing, bytes: &[u8], b: &[usize]) -> Vec<Vec<u8>> {
        let mut out = vec![bytes.to_vec()];
        let filler: &[u8] = match framing {
            Framing::Jsonl => b"\0\0\0\0\n",
            Framing::Binary => &[0u8; 20],
        };
        let splice = |from: usize, to: usize, with: &[u8]| {
            let mut v = bytes[..b[from]].to_vec();
            v.extend_from_slice(with);
            v.extend_from_slice(&bytes[b[to + 1]..]);
            v
        };
        out.push(splice(5, 20, filler));
        out.push(splice(5, 5, filler));
        out.push(splice(3, 4, filler));
        let mut two = splice(30, 34, filler);
        let cut = two.len() - (bytes.len() - b[8]);
        two.splice(cut..cut, filler.iter().copied());
        out.push(two);
        let mut z = bytes.to_vec();
        z[b[10] + 3..b[14] - 1].fill(0);
        out.push(z);
        let mut f = bytes.to_vec();
        f[b[12] + 30] ^= 0x10;
        out.push(f);
        let mut t = bytes.to_vec();
        t.truncate(b[39] - 7);
        out.push(t);
        let mut g = splice(25, 25, filler);
        g.extend_from_slice(filler);
        g.extend_from_slice(b"{\"x\":1}\n");
        out.push(g);
        out
    }

    #[test]
    fn chunk_boundaries_and_threads_do_not_change_the_report() {
        let dir = tempfile::tempdir().unwrap();
        for framing in [Framing::Jsonl, Framing::Binary] {
            let src = dir.path().join(format!("src.{}", framing.name()));
            let (bytes, b) = build(&src, framing, 40);
            for (i, v) in variants(framing, &bytes, &b).into_iter().enumerate() {
                let path = dir.path().join(format!("v{i}.{}", framing.name()));
                std::fs::write(&path, &v).unwrap();
                let want = summary(&verify(&path, &opts(1)).unwrap());
                for chunk in [1, 5, 64, 333, 1000, 4096] {
                    CHUNK_SIZE.with(|c| c.set(chunk));
                    for threads in [1, 2, 3] {
                        let got = summary(&verify(&path, &opts(threads)).unwrap());
                        assert_eq!(
                            got, want,
                            "{framing} variant {i} chunk {chunk} threads {threads}"
                        );
                    }
                }
                CHUNK_SIZE.with(|c| c.set(VERIFY_CHUNK));
            }
        }
    }

    /// Records are hashed a group at a time (two at once on SHA-NI): every
    /// changed record is still reported at its own seq, with unreadable
    /// records among them, in groups of any fill, and nothing else is.
    #[test]
    fn hash_mismatches_are_reported_at_their_own_seq() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let (mut bytes, b) = build(&path, Framing::Jsonl, 40);
        let changed = [3u64, 4, 15, 16, 17, 18, 19, 33, 40];
        for &seq in &changed {
            let line = &mut bytes[b[seq as usize]..b[seq as usize + 1]];
            let action = format!("\"action\":\"a{}\"", seq - 1);
            let at = line
                .windows(action.len())
                .position(|w| w == action.as_bytes())
                .unwrap();
            line[at + 10] = b'b';
        }
        // Two unreadable lines between them.
        for seq in [10usize, 11] {
            bytes[b[seq]] = b'x';
        }
        std::fs::write(&path, &bytes).unwrap();
        for chunk in [1, 333, 4096, VERIFY_CHUNK] {
            CHUNK_SIZE.with(|c| c.set(chunk));
            for threads in [1, 2] {
                let r = verify(&path, &opts(threads)).unwrap();
                let got: Vec<(ViolationKind, Option<u64>)> =
                    r.violations.iter().map(|v| (v.kind, v.seq)).collect();
                let mut want: Vec<(ViolationKind, Option<u64>)> = changed
                    .iter()
                    .map(|&s| (ViolationKind::HashMismatch, Some(s)))
                    .collect();
                want.insert(2, (ViolationKind::Malformed, None));
                want.insert(2, (ViolationKind::Malformed, None));
                assert_eq!(got, want, "chunk {chunk} threads {threads}");
            }
        }
        CHUNK_SIZE.with(|c| c.set(VERIFY_CHUNK));
    }

    #[test]
    fn refused_threads_fall_back_to_fewer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        let (mut bytes, b) = build(&path, Framing::Jsonl, 40);
        bytes[b[7] + 20] = b'\n';
        std::fs::write(&path, &bytes).unwrap();
        let want = summary(&verify(&path, &opts(1)).unwrap());
        CHUNK_SIZE.with(|c| c.set(500));
        for budget in [0, 1, 2] {
            SPAWN_BUDGET.with(|s| s.set(Some(budget)));
            for threads in [0, 2, 8, 100_000] {
                let got = summary(&verify(&path, &opts(threads)).unwrap());
                assert_eq!(got, want, "budget {budget} threads {threads}");
            }
        }
        SPAWN_BUDGET.with(|s| s.set(None));
        CHUNK_SIZE.with(|c| c.set(VERIFY_CHUNK));
    }

    /// A malformed span has no seq of its own: its message says which
    /// readable record it follows (and, for damaged bytes, how many there
    /// are), whatever the chunking and the threads.
    #[test]
    fn damage_says_which_record_it_follows() {
        let dir = tempfile::tempdir().unwrap();
        for framing in [Framing::Jsonl, Framing::Binary] {
            let src = dir.path().join(format!("src.{}", framing.name()));
            let (bytes, b) = build(&src, framing, 12);
            // seq k is bytes[b[k]..b[k + 1]] (b[0] = 0: the genesis first)
            let flip = |seq: usize, with: u8| {
                let mut v = bytes.clone();
                v[(b[seq] + b[seq + 1]) / 2] = with;
                v
            };
            // 200 bytes no record starts with (a line of them in JSONL)
            let mut garbage = vec![0x7f; 200];
            if framing == Framing::Jsonl {
                garbage.push(b'\n');
            }
            let cases = [
                (flip(4, 0x01), 3u64),
                (flip(1, 0x01), 0),
                (flip(12, 0x01), 11),
                ([&bytes[..b[7]], &garbage[..], &bytes[b[7]..]].concat(), 6),
            ];
            for (i, (v, after)) in cases.iter().enumerate() {
                let path = dir.path().join(format!("d{i}.{}", framing.name()));
                std::fs::write(&path, v).unwrap();
                for chunk in [1, 64, 333, VERIFY_CHUNK] {
                    CHUNK_SIZE.with(|c| c.set(chunk));
                    for threads in [1, 2] {
                        let r = verify(&path, &opts(threads)).unwrap();
                        let m: Vec<_> = r
                            .violations
                            .iter()
                            .filter(|v| v.kind == ViolationKind::Malformed)
                            .collect();
                        let what = format!("{framing} case {i} chunk {chunk} threads {threads}");
                        assert_eq!(m.len(), 1, "{what}: {:?}", r.violations);
                        let msg = &m[0].message;
                        assert!(
                            msg.ends_with(&format!("(after seq {after})")),
                            "{what}: {msg}"
                        );
                        if framing == Framing::Binary && i != 2 {
                            // (the last frame damaged is a complete record
                            // failing its check: said so, not "damaged bytes")
                            assert!(msg.contains(" bytes with no valid frame"), "{what}: {msg}");
                        }
                        if i == 3 && framing == Framing::Binary {
                            assert!(msg.contains("damaged bytes: 200 bytes"), "{what}: {msg}");
                        }
                    }
                }
                CHUNK_SIZE.with(|c| c.set(VERIFY_CHUNK));
            }
        }
    }

    /// No record follows seq 2⁶⁴ − 1 (§ 2, § 9.3): the next one, seq 0, is a
    /// seq gap, also right after an unreadable span (§ 9.4), in every
    /// chunking (the link is then checked when chunks are joined).
    #[test]
    fn no_seq_follows_the_largest() {
        let dir = tempfile::tempdir().unwrap();
        let chain = crate::chain::Chain::new(HashAlg::Sha256, None).unwrap();
        let zero = "0".repeat(64);
        for framing in [Framing::Jsonl, Framing::Binary] {
            for damaged in [false, true] {
                let mut bytes = framing.file_header();
                let mut prev = String::new();
                for (i, seq) in [0, u64::MAX, 0, 1].into_iter().enumerate() {
                    let body = if i == 0 {
                        format!(
                            r#"{{"v":1,"seq":0,"prev":"{zero}","kind":"genesis","ts":"2026-03-01T09:00:00.000000Z","format":"evident","alg":"sha256","log_id":"00112233445566778899aabbccddeeff"}}"#
                        )
                    } else {
                        format!(r#"{{"v":1,"seq":{seq},"prev":"{prev}","kind":"entry"}}"#)
                    };
                    let hash = chain.hash(body.as_bytes());
                    format::frame(&mut bytes, framing, body.as_bytes(), &hash);
                    if i == 1 && damaged {
                        bytes.extend_from_slice(match framing {
                            Framing::Jsonl => b"garbage\n".as_slice(),
                            Framing::Binary => &[0x7f; 20],
                        });
                    }
                    prev = hash.to_hex();
                }
                let path = dir
                    .path()
                    .join(format!("wrap-{damaged}.{}", framing.name()));
                std::fs::write(&path, &bytes).unwrap();
                let mut want = vec![
                    (ViolationKind::SeqGap, Some(u64::MAX)),
                    (ViolationKind::SeqGap, Some(0)),
                ];
                if damaged {
                    want.insert(1, (ViolationKind::Malformed, None));
                }
                for chunk in [1, 64, 333, VERIFY_CHUNK] {
                    CHUNK_SIZE.with(|c| c.set(chunk));
                    for threads in [1, 2] {
                        let o = VerifyOptions {
                            all: true,
                            threads,
                            ..Default::default()
                        };
                        let r = verify(&path, &o).unwrap();
                        let got: Vec<_> = r.violations.iter().map(|v| (v.kind, v.seq)).collect();
                        let what = format!("{framing} {damaged} chunk {chunk} threads {threads}");
                        assert_eq!(got, want, "{what}: {:?}", r.violations);
                        let gap = r.violations.last().unwrap();
                        assert!(
                            gap.message
                                .contains("seq 0 follows seq 18446744073709551615"),
                            "{what}: {}",
                            gap.message
                        );
                        assert_eq!((r.entries, r.head_seq), (3, 1), "{what}");
                    }
                }
                CHUNK_SIZE.with(|c| c.set(VERIFY_CHUNK));
            }
        }
    }

    #[test]
    fn thread_count_is_clamped() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(worker_threads(0), cores.min(MAX_THREADS));
        assert_eq!(worker_threads(1), 1);
        assert_eq!(worker_threads(100_000), cores.min(MAX_THREADS));
        assert_eq!(worker_threads(usize::MAX), cores.min(MAX_THREADS));
    }
}
