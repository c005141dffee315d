//! The bytes of a session file (spec/session.md): the file header, record
//! frames (exactly the binary log's frames, chained) and data frames (raw
//! sample bytes, 64-byte aligned, bound by SHA-256 in a chained record).
//! Reading here is pure: a [`Scan`] of a mapped file; writing policy lives
//! in `store.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use super::base::{sha256, SectionRef, TraceRef, CORRUPT_HINT};
use crate::chain::{Chain, Hash, HashAlg, Key};
use crate::error::{Error, Position, Result};
use crate::format::{self, Framing};

/// Magic of a session file: like the binary log's, with `S` for `D`.
pub const SESSION_MAGIC: [u8; 8] = *b"\x89EVS\r\n\x1a\n";
/// Bytes of the file header.
pub const HEADER_LEN: u64 = 16;
/// Version of the session framing.
pub const SESSION_VERSION: u32 = 1;
/// The first four bytes of a data frame (never a record frame's body_len).
pub const DATA_TAG: u32 = 0xFFFF_FFFF;
/// Frame flags of a data frame.
pub const DATA_FLAGS: u16 = 1;
/// Alignment of sample bytes in the file.
pub const DATA_ALIGN: u64 = 64;
/// Bytes of a data frame before its padding.
pub const DATA_HEADER: u64 = 20;
/// Bytes of a data frame after its data: SHA-256 and CRC-32.
pub const DATA_TRAILER: u64 = 32 + 4;
/// The `format` of a session file's genesis.
pub const GENESIS_FORMAT: &str = "evident-session";

/// The file header.
pub fn file_header() -> [u8; 16] {
    let mut h = [0u8; 16];
    h[..8].copy_from_slice(&SESSION_MAGIC);
    h[8..12].copy_from_slice(&SESSION_VERSION.to_le_bytes());
    h
}

/// Padding that puts the data of a frame starting at `at` on a 64-byte
/// boundary.
pub fn data_pad(at: u64) -> u64 {
    (DATA_ALIGN - (at + DATA_HEADER) % DATA_ALIGN) % DATA_ALIGN
}

/// The header and padding of a data frame at `at` holding `data_len` bytes.
pub fn data_frame_head(at: u64, data_len: u64) -> Vec<u8> {
    let pad = data_pad(at);
    let mut h = Vec::with_capacity((DATA_HEADER + pad) as usize);
    h.extend_from_slice(&DATA_TAG.to_le_bytes());
    h.extend_from_slice(&32u16.to_le_bytes());
    h.extend_from_slice(&DATA_FLAGS.to_le_bytes());
    h.extend_from_slice(&data_len.to_le_bytes());
    h.extend_from_slice(&(pad as u32).to_le_bytes());
    h.resize((DATA_HEADER + pad) as usize, 0);
    h
}

/// The trailer of a data frame: the data's SHA-256, then the CRC-32 of the
/// 20 header bytes and the SHA-256.
pub fn data_frame_tail(head: &[u8], digest: &Hash) -> Vec<u8> {
    let mut crc = crc32fast::Hasher::new();
    crc.update(head.get(..DATA_HEADER as usize).unwrap_or_default());
    crc.update(digest.as_bytes());
    let mut t = digest.as_bytes().to_vec();
    t.extend_from_slice(&crc.finalize().to_le_bytes());
    t
}

/// The canonical body of a session record: the common head of § 2 of the
/// log format, then the members of `payload` (a struct serialised in field
/// order; maps sorted by key).
pub fn record_body<T: Serialize>(
    seq: u64,
    prev: &Hash,
    kind: &str,
    ts: &DateTime<Utc>,
    payload: &T,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    format::push_head(&mut out, seq, prev, kind, ts);
    let rest = serde_json::to_vec(payload)
        .map_err(|e| Error::InvalidArgument(format!("session record: {e}")))?;
    match rest.get(1..) {
        Some(members) if rest.first() == Some(&b'{') && members.len() > 1 => {
            out.push(b',');
            out.extend_from_slice(members);
        }
        _ => out.push(b'}'),
    }
    // What every reader of the record will require (spec § 5.5).
    format::check_json(&out).map_err(|d| Error::InvalidArgument(format!("session record: {d}")))?;
    Ok(out)
}

/// The genesis members of a session file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenesisPayload {
    pub format: String,
    pub alg: String,
    /// Absent in a keyless file; when present a string (`null` is not
    /// absent: the genesis is malformed, format.md § 3 rule 4).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "format::present_key_id"
    )]
    pub key_id: Option<String>,
    pub log_id: String,
}

/// Where a trace record puts its samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRef {
    /// `"raw"` or `"zstd"`.
    pub encoding: String,
    /// Offset of the data frame.
    pub frame: u64,
    /// Bytes of the samples (after decompression).
    pub raw_len: u64,
    /// SHA-256 of the data frame's bytes.
    pub sha256: String,
    /// Bytes in the data frame.
    pub stored_len: u64,
}

/// The members of a `trace` record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TracePayload {
    pub name: String,
    pub dtype: super::model::Dtype,
    pub len: u64,
    pub info: super::model::TraceInfo,
    pub data: DataRef,
}

/// The members of a `section` record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SectionPayload {
    pub section: String,
    pub content: Value,
}

/// Counts recorded in a commit, for listing versions without loading them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub annotations: u64,
    pub history: u64,
    pub layers: u64,
    pub measurements: u64,
    pub trace_bytes: u64,
    pub traces: u64,
}

/// Where a compacted file's version came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactedFrom {
    pub commit: String,
    pub version: u64,
}

/// The members of a `commit` record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommitPayload {
    pub version: u64,
    pub parent: Option<String>,
    pub name: String,
    pub traces: Vec<TraceRef>,
    pub sections: Vec<SectionRef>,
    pub counts: Counts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compacted_from: Option<CompactedFrom>,
    /// `Some(false)` when the writer appended this commit without first
    /// making what it names durable (a save without sync): a power cut may
    /// have lost any page written since the last commit that had that
    /// barrier. Absent (the default) for a save with sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barrier: Option<bool>,
}

impl CommitPayload {
    /// Everything this commit names was durable before it was written.
    pub fn has_barrier(&self) -> bool {
        self.barrier != Some(false)
    }
}

/// One record frame found by a scan.
#[derive(Debug, Clone)]
pub struct RecordInfo {
    pub at: u64,
    pub end: u64,
    pub seq: u64,
    pub hash: Hash,
    pub kind: String,
    /// For a trace record: the offset of the data frame it names.
    pub data_frame: Option<u64>,
}

/// One data frame found by a scan.
#[derive(Debug, Clone)]
pub struct DataInfo {
    pub at: u64,
    pub data_at: u64,
    pub data_len: u64,
    pub sha256: Hash,
}

/// A problem found by a scan, at a byte offset.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub offset: u64,
    pub seq: Option<u64>,
    pub message: String,
}

/// A commit the scan found after the last barrier (a save without sync)
/// that is not complete: a page it names was lost (a power cut before the
/// OS wrote the save). It belongs to the uncommitted tail.
#[derive(Debug, Clone, Serialize)]
pub struct Incomplete {
    pub version: u64,
    /// Offset of its commit record.
    pub offset: u64,
}

/// Everything a forward pass over a session file finds. The sample bytes
/// of data frames are skipped, not read (except those written by saves
/// without sync after the last save with sync, whose SHA-256 is checked).
///
/// The file is opened once: the mapping, every byte the scan checks and
/// every record body parsed later ([`Scan::record_body`], which checks the
/// bytes again against the hash the scan found) come from that one open
/// file, never from the path again.
pub struct Scan {
    pub path: PathBuf,
    pub file: Arc<std::fs::File>,
    pub map: Arc<memmap2::Mmap>,
    pub file_len: u64,
    pub genesis: GenesisPayload,
    pub chain: Chain,
    pub records: Vec<RecordInfo>,
    pub data: Vec<DataInfo>,
    /// Indexes into `records` of the complete commits, oldest first.
    pub commits: Vec<usize>,
    /// The commit payloads, parsed from the bytes the scan checked (one
    /// per entry of `commits`).
    commit_payloads: Vec<std::result::Result<CommitPayload, String>>,
    /// End of the last valid frame.
    pub valid_end: u64,
    /// Chain breaks, hash mismatches and damaged frames followed by valid
    /// frames. Those after the last commit are remains of an interrupted
    /// save, not damage to any version (see [`Scan::uncommitted_cut`]).
    pub problems: Vec<Problem>,
    /// Offset where an incomplete or damaged tail starts (nothing valid
    /// follows it): a torn write.
    pub torn_at: Option<u64>,
    /// Where the uncommitted tail starts (see [`Scan::uncommitted_cut`]).
    cut: Option<u64>,
    /// Commits dropped because the uncommitted tail starts before them.
    pub incomplete: Vec<Incomplete>,
    /// Set when the scan stopped looking for valid frames after damage
    /// because the candidates cost more than its budget (a crafted file):
    /// nothing after this problem is known, so every version is refused.
    pub gave_up: Option<Problem>,
    /// Bytes the scan ran CRC-32 over (its work is bounded by the file's
    /// length; tests check it).
    pub crc_bytes: u64,
    /// Damaged regions `[from, to)` found by resynchronising.
    damaged: Vec<(u64, u64)>,
    pub dev: u64,
    pub ino: u64,
}

impl std::fmt::Debug for Scan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scan")
            .field("path", &self.path)
            .field("records", &self.records.len())
            .field("commits", &self.commits.len())
            .field("problems", &self.problems)
            .field("torn_at", &self.torn_at)
            .field("cut", &self.cut)
            .field("incomplete", &self.incomplete)
            .finish()
    }
}

fn u32_at(b: &[u8], at: u64) -> Option<u32> {
    let s = b.get(at as usize..at as usize + 4)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}
fn u16_at(b: &[u8], at: u64) -> Option<u16> {
    let s = b.get(at as usize..at as usize + 2)?;
    Some(u16::from_le_bytes(s.try_into().ok()?))
}
fn u64_at(b: &[u8], at: u64) -> Option<u64> {
    let s = b.get(at as usize..at as usize + 8)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

/// Reads the file with `pread` through a window, so that scanning never
/// touches a mapping beyond the end of the valid frames: a writer may cut a
/// torn tail off the file while a reader scans it, and reading a cut-off
/// page of a mapping would kill the reader with SIGBUS. Only frames the scan
/// found valid (which no writer ever cuts) are read through the mapping.
///
/// It also keeps the scan's work linear in the file's length: checking a
/// frame that turns out not to be valid (a CRC over up to 16 MiB, then
/// parsing) is charged to a budget of the file's length plus
/// [`RESYNC_SLACK`]; a crafted file whose candidate frames would cost more
/// makes the scan give up (an error naming the offset), not run for
/// minutes.
struct Window<'f> {
    file: &'f std::fs::File,
    len: u64,
    at: u64,
    buf: Vec<u8>,
    /// Bytes run through CRC-32.
    crc_bytes: u64,
    /// Bytes of frames checked that were not valid.
    failed_bytes: u64,
}

const WINDOW: usize = 256 * 1024;

/// Bytes of invalid candidate frames a scan checks beyond the file's
/// length before it gives up (two of the largest frames).
pub const RESYNC_SLACK: u64 = 2 * (format::MAX_BODY as u64 + 128);

impl<'f> Window<'f> {
    fn new(file: &'f std::fs::File, len: u64) -> Self {
        Window {
            file,
            len,
            at: 0,
            buf: Vec::new(),
            crc_bytes: 0,
            failed_bytes: 0,
        }
    }

    /// Whether checking `n` more bytes of a frame that may be invalid stays
    /// within the budget.
    fn affordable(&self, n: u64) -> bool {
        self.failed_bytes.saturating_add(n) <= self.len.saturating_add(RESYNC_SLACK)
    }

    /// Bytes `[at, at + n)`, fewer at the end of the file (or on a read
    /// error, which the caller sees as a short frame).
    fn get(&mut self, at: u64, n: usize) -> &[u8] {
        use crate::sys::FileExt;
        let end = at.saturating_add(n as u64).min(self.len);
        let have = at >= self.at && end <= self.at + self.buf.len() as u64;
        if !have {
            let want = (end.saturating_sub(at) as usize).max(WINDOW);
            let want = want.min(self.len.saturating_sub(at) as usize);
            self.buf.resize(want, 0);
            let mut got = 0;
            while got < want {
                match self
                    .file
                    .read_at(self.buf.get_mut(got..).unwrap_or_default(), at + got as u64)
                {
                    Ok(0) | Err(_) => break,
                    Ok(k) => got += k,
                }
            }
            self.buf.truncate(got);
            self.at = at;
        }
        let from = (at - self.at) as usize;
        let to = (end.saturating_sub(self.at) as usize).min(self.buf.len());
        self.buf.get(from..to).unwrap_or_default()
    }
}

/// What is at an offset of the file.
enum At {
    /// A valid record frame (its bytes) ending at the offset given.
    Record(Vec<u8>, u64),
    Data(DataInfo, u64),
    /// The frame runs past the end of the file.
    Incomplete,
    /// Not a valid frame.
    Bad(String),
    /// Checking the candidate would exceed the scan's budget.
    GiveUp,
}

fn frame_at(w: &mut Window<'_>, at: u64) -> At {
    let len = w.len;
    let head = w.get(at, DATA_HEADER as usize).to_vec();
    let Some(first) = u32_at(&head, 0) else {
        return At::Incomplete;
    };
    if first == DATA_TAG {
        let (Some(hash_len), Some(flags), Some(data_len), Some(pad)) = (
            u16_at(&head, 4),
            u16_at(&head, 6),
            u64_at(&head, 8),
            u32_at(&head, 16),
        ) else {
            return At::Incomplete;
        };
        if hash_len != 32 || flags != DATA_FLAGS || u64::from(pad) != data_pad(at) {
            return At::Bad("data frame header fields are impossible".into());
        }
        let data_at = at + DATA_HEADER + u64::from(pad);
        let Some(end) = data_at
            .checked_add(data_len)
            .and_then(|e| e.checked_add(DATA_TRAILER))
        else {
            return At::Bad("data frame length overflows".into());
        };
        if end > len {
            return At::Incomplete;
        }
        if w.get(at + DATA_HEADER, pad as usize)
            .iter()
            .any(|b| *b != 0)
        {
            return At::Bad("data frame padding is not zero".into());
        }
        let tail = w.get(data_at + data_len, DATA_TRAILER as usize).to_vec();
        let (Some(digest), Some(crc)) = (tail.get(..32), u32_at(&tail, 32)) else {
            return At::Incomplete;
        };
        let mut h = crc32fast::Hasher::new();
        h.update(&head);
        h.update(digest);
        w.crc_bytes += DATA_HEADER + 32;
        if h.finalize() != crc {
            return At::Bad("data frame CRC mismatch".into());
        }
        let sha256 = Hash::from_slice(digest).unwrap_or_else(|| Hash::zero(32));
        return At::Data(
            DataInfo {
                at,
                data_at,
                data_len,
                sha256,
            },
            end,
        );
    }
    match format::frame_size(&head) {
        format::FrameSize::NeedMore => At::Incomplete,
        format::FrameSize::Bad => At::Bad("impossible frame length fields".into()),
        format::FrameSize::Len(n) => {
            let end = at + n as u64;
            if end > len {
                return At::Incomplete;
            }
            // The trailer (frame length) first: four bytes tell most
            // non-frames apart without reading the frame.
            if u32_at(w.get(end - 4, 4), 0) != Some(n as u32) {
                return At::Bad("frame trailer length mismatch".into());
            }
            if !w.affordable(n as u64) {
                return At::GiveUp;
            }
            let bytes = w.get(at, n).to_vec();
            w.crc_bytes += n as u64;
            match format::parse(Framing::Binary, &bytes) {
                Ok(_) => At::Record(bytes, end),
                Err(d) => {
                    w.failed_bytes += n as u64;
                    At::Bad(d.0)
                }
            }
        }
    }
}

/// The first offset after `from` where a valid record frame starts
/// (`Err` when the budget runs out first).
fn next_valid_record(w: &mut Window<'_>, from: u64) -> std::result::Result<Option<u64>, ()> {
    let finder = memchr::memmem::Finder::new(b"{\"v\":");
    const CHUNK: usize = 1 << 20;
    let mut pos = from + 8;
    while pos < w.len {
        let hits: Vec<u64> = finder
            .find_iter(w.get(pos, CHUNK + 4))
            .map(|i| pos + i as u64)
            .collect();
        for body_at in hits {
            let at = body_at - 8;
            if at > from {
                match frame_at(w, at) {
                    At::Record(..) => return Ok(Some(at)),
                    At::GiveUp => return Err(()),
                    _ => {}
                }
            }
        }
        pos += CHUNK as u64;
    }
    Ok(None)
}

/// Checks the header of a mapped session file.
fn check_header(path: &Path, map: &[u8]) -> Result<()> {
    let head = map.get(..HEADER_LEN as usize);
    let at0 = Position::default();
    match head {
        _ if map.is_empty() => Err(Error::malformed(
            path,
            at0,
            "empty file, not a session file",
        )),
        Some(h) if h.get(..8) == Some(&SESSION_MAGIC[..]) => {
            let version = u32_at(h, 8).unwrap_or(0);
            let flags = u32_at(h, 12).unwrap_or(0);
            if version != SESSION_VERSION || flags != 0 {
                return Err(Error::Unsupported {
                    path: path.to_path_buf(),
                    msg: format!(
                        "session framing version {version}, flags {flags:#x}; this reader knows version 1, flags 0"
                    ),
                });
            }
            Ok(())
        }
        _ if map.get(..8) == Some(&format::BINARY_MAGIC[..]) || map.first() == Some(&b'{') => {
            Err(Error::malformed(
                path,
                at0,
                "this is an evident audit log, not a session file (use `evident verify`)",
            ))
        }
        _ if map.len() < HEADER_LEN as usize
            && (map.starts_with(&SESSION_MAGIC) || SESSION_MAGIC.starts_with(map)) =>
        {
            Err(Error::malformed(
                path,
                at0,
                format!("file of {} bytes ends inside the session header", map.len()),
            ))
        }
        // What a TraceKit user may still have under the same name: its
        // sessions are pickles, gzip-compressed by default.
        _ if map.starts_with(&[0x1f, 0x8b]) => Err(Error::malformed(
            path,
            at0,
            "not a session file (bad magic): gzip data, such as a TraceKit .tks session \
             (a compressed pickle); evident never loads pickles (loading one runs its code)",
        )),
        _ if map.first() == Some(&0x80) && map.get(1).is_some_and(|p| (2..=5).contains(p)) => {
            Err(Error::malformed(
                path,
                at0,
                "not a session file (bad magic): a Python pickle, such as an uncompressed \
                 TraceKit .tks session; evident never loads pickles (loading one runs its code)",
            ))
        }
        _ => Err(Error::malformed(
            path,
            at0,
            "not a session file (bad magic)",
        )),
    }
}

/// Maps an open session file and checks its header; returns the mapping,
/// the device and the inode.
pub fn map_open(path: &Path, f: &std::fs::File) -> Result<(Arc<memmap2::Mmap>, u64, u64)> {
    let meta = f.metadata().map_err(|e| Error::io(path, "stat", e))?;
    if !meta.is_file() {
        return Err(Error::InvalidArgument(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    // SAFETY: session files are append-only; the mapped prefix is never
    // rewritten in place by evident (compaction replaces the file by
    // rename, which leaves this mapping on the old inode; a torn tail is
    // only ever cut beyond the last valid frame, which no reference points
    // into). Another program may still write into the file: the mapping is
    // only ever exposed as plain bytes and numbers (any bit pattern valid),
    // and every byte the reader decides on is read and checked through
    // `pread`, not the mapping.
    let map = unsafe { memmap2::Mmap::map(f) }.map_err(|e| Error::io(path, "mmap", e))?;
    check_header(path, &map)?;
    let (dev, ino) = crate::sys::file_id(f).map_err(|e| Error::io(path, "stat", e))?;
    Ok((Arc::new(map), dev, ino))
}

fn chain_from_genesis(path: &Path, g: &GenesisPayload, key: Option<&Key>) -> Result<Chain> {
    let alg = HashAlg::from_name(&g.alg).ok_or_else(|| Error::Unsupported {
        path: path.to_path_buf(),
        msg: format!("hash algorithm {:?}", g.alg),
    })?;
    match (alg.is_keyed(), key, &g.key_id) {
        (false, Some(_), _) => Err(Error::WrongKey {
            path: path.to_path_buf(),
            msg: "the session file is keyless (sha256) but a key was given".into(),
        }),
        (true, None, _) => Err(Error::WrongKey {
            path: path.to_path_buf(),
            msg: format!(
                "the session file is keyed ({}); give its key to read it",
                g.alg
            ),
        }),
        (true, Some(_), None) => Err(Error::WrongKey {
            path: path.to_path_buf(),
            msg: "the session file is keyed but its genesis names no key id".into(),
        }),
        (true, Some(k), Some(id)) if &k.key_id() != id => Err(Error::WrongKey {
            path: path.to_path_buf(),
            msg: format!("the key's id is {}, the session file's is {id}", k.key_id()),
        }),
        _ => Chain::new(alg, key),
    }
}

/// Reads every frame of a session file (skipping sample bytes), checking
/// framing, CRCs, the chain and every record hash. Damage and chain
/// problems are collected, not returned as errors; only a file that is not
/// a session file, a damaged genesis and a wrong key are errors. The path
/// is opened once (see [`Scan`]).
pub fn scan(path: &Path, key: Option<&Key>) -> Result<Scan> {
    let f = crate::storage::open_regular(path, crate::storage::Access::Read, "open")?;
    scan_file(path, Arc::new(f), key)
}

/// [`scan`] of a file already open (for reading; a writer passes the file
/// it will append to, so that it scans and writes the same file).
pub fn scan_file(path: &Path, file: Arc<std::fs::File>, key: Option<&Key>) -> Result<Scan> {
    let (map, dev, ino) = map_open(path, &file)?;
    let file_len = map.len() as u64;
    let mut w = Window::new(&file, file_len);

    // The genesis.
    let g_at = HEADER_LEN;
    let genesis_err = |msg: String| {
        Error::malformed(
            path,
            Position {
                offset: g_at,
                line: 0,
                seq: Some(0),
            },
            msg,
        )
    };
    let (g_bytes, g_end) = match frame_at(&mut w, g_at) {
        At::Record(b, end) => (b, end),
        At::Incomplete => {
            return Err(genesis_err(
                "the file ends inside its genesis record (a crash while creating it?)".into(),
            ))
        }
        At::Bad(m) => return Err(genesis_err(format!("damaged genesis record: {m}"))),
        At::GiveUp => return Err(genesis_err("damaged genesis record".into())),
        At::Data(..) => return Err(genesis_err("a data frame where the genesis must be".into())),
    };
    // A `v` above this version or an unknown `critical` extension decides
    // before everything else (format.md § 3 rules 2-3): a newer writer's file.
    if let Some(reason) = format::unsupported_genesis(Framing::Binary, &g_bytes) {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            msg: format!("session file needs a newer reader: {reason}"),
        });
    }
    let parsed = format::parse(Framing::Binary, &g_bytes)
        .map_err(|d| genesis_err(format!("damaged genesis record: {}", d.0)))?;
    if parsed.seq != 0 || parsed.kind != format::RecordKind::Genesis {
        return Err(genesis_err("the first record is not a genesis".into()));
    }
    let genesis: GenesisPayload = serde_json::from_slice(parsed.raw.json)
        .map_err(|e| genesis_err(format!("genesis: {e}")))?;
    #[derive(Deserialize)]
    struct GenesisTs<'a> {
        #[serde(borrow)]
        ts: std::borrow::Cow<'a, str>,
    }
    let ts_ok = serde_json::from_slice::<GenesisTs<'_>>(parsed.raw.json)
        .ok()
        .and_then(|g| format::parse_ts(&g.ts));
    if ts_ok.is_none() {
        return Err(genesis_err(
            "genesis ts is not a time in the form YYYY-MM-DDTHH:MM:SS.ffffffZ".into(),
        ));
    }
    if genesis.format != GENESIS_FORMAT {
        return Err(genesis_err(format!(
            "genesis format is {:?}, not {GENESIS_FORMAT:?}",
            genesis.format
        )));
    }
    let chain = chain_from_genesis(path, &genesis, key)?;
    if parsed.prev != chain.zero() {
        return Err(genesis_err("genesis prev is not all zeros".into()));
    }
    if parsed.raw.compute_hash(&chain) != parsed.raw.hash {
        return Err(match key {
            Some(_) => Error::WrongKey {
                path: path.to_path_buf(),
                msg: "the genesis record's HMAC does not match: wrong key or a forged genesis"
                    .into(),
            },
            None => Error::Corrupt {
                path: path.to_path_buf(),
                at: Position {
                    offset: g_at,
                    line: 0,
                    seq: Some(0),
                },
                msg: "the genesis record's hash does not match its body".into(),
            },
        });
    }

    let mut s = Scan {
        path: path.to_path_buf(),
        file: file.clone(),
        map: map.clone(),
        file_len,
        genesis,
        chain,
        records: vec![RecordInfo {
            at: g_at,
            end: g_end,
            seq: 0,
            hash: parsed.raw.hash,
            kind: "genesis".into(),
            data_frame: None,
        }],
        data: Vec::new(),
        commits: Vec::new(),
        commit_payloads: Vec::new(),
        valid_end: g_end,
        problems: Vec::new(),
        torn_at: None,
        cut: None,
        incomplete: Vec::new(),
        gave_up: None,
        crc_bytes: 0,
        damaged: Vec::new(),
        dev,
        ino,
    };

    #[derive(Deserialize)]
    struct FrameOf {
        frame: u64,
    }
    #[derive(Deserialize)]
    struct DataOf {
        data: FrameOf,
    }

    let mut at = g_end;
    while at < file_len {
        match frame_at(&mut w, at) {
            At::Record(bytes, end) => {
                let Ok(p) = format::parse(Framing::Binary, &bytes) else {
                    break;
                };
                let (seq, prev_hash) = match s.records.last() {
                    Some(r) => (r.seq + 1, r.hash),
                    None => (0, s.chain.zero()),
                };
                let problems_before = s.problems.len();
                let computed = p.raw.compute_hash(&s.chain);
                if computed != p.raw.hash {
                    s.problems.push(Problem {
                        offset: at,
                        seq: Some(p.seq),
                        message: format!(
                            "record hash mismatch (stored {}, computed {computed})",
                            p.raw.hash
                        ),
                    });
                }
                if p.seq != seq {
                    s.problems.push(Problem {
                        offset: at,
                        seq: Some(p.seq),
                        message: format!("seq {} where {seq} was expected", p.seq),
                    });
                }
                if p.prev != prev_hash {
                    s.problems.push(Problem {
                        offset: at,
                        seq: Some(p.seq),
                        message: format!(
                            "chain break (prev {}, previous record's hash {prev_hash})",
                            p.prev
                        ),
                    });
                }
                let kind = match &p.kind {
                    format::RecordKind::Genesis => "genesis".to_string(),
                    format::RecordKind::Entry => "entry".to_string(),
                    format::RecordKind::Other(k) => k.clone(),
                };
                let mut data_frame = None;
                if kind == "commit" {
                    s.commits.push(s.records.len());
                    // Parsed from the bytes just checked, never read again.
                    s.commit_payloads.push(
                        serde_json::from_slice::<CommitPayload>(p.raw.json)
                            .map_err(|e| e.to_string()),
                    );
                } else if kind == "trace" && s.problems.len() == problems_before {
                    data_frame = serde_json::from_slice::<DataOf>(p.raw.json)
                        .ok()
                        .map(|d| d.data.frame);
                }
                s.records.push(RecordInfo {
                    at,
                    end,
                    seq: p.seq,
                    hash: p.raw.hash,
                    kind,
                    data_frame,
                });
                at = end;
                s.valid_end = end;
            }
            At::Data(d, end) => {
                s.data.push(d);
                at = end;
                s.valid_end = end;
            }
            bad => {
                let why = match bad {
                    At::Bad(m) => m,
                    At::GiveUp => "frame not checked".to_string(),
                    _ => "incomplete frame".to_string(),
                };
                match next_valid_record(&mut w, at) {
                    Ok(Some(next)) => {
                        s.damaged.push((at, next));
                        s.problems.push(Problem {
                            offset: at,
                            seq: None,
                            message: format!(
                                "{} damaged bytes ({why}) before a valid record at byte offset {next}",
                                next - at
                            ),
                        });
                        at = next;
                    }
                    Ok(None) => {
                        s.torn_at = Some(at);
                        break;
                    }
                    Err(()) => {
                        let p = Problem {
                            offset: at,
                            seq: None,
                            message: format!(
                                "damaged bytes ({why}) from here on: the reader gave up looking \
                                 for a valid frame after checking {} bytes of candidate frames \
                                 (a crafted or badly damaged file); versions after this offset \
                                 may exist and are not read",
                                w.failed_bytes
                            ),
                        };
                        s.problems.push(p.clone());
                        s.gave_up = Some(p);
                        break;
                    }
                }
            }
        }
    }
    s.crc_bytes = w.crc_bytes;
    if s.gave_up.is_none() {
        s.settle();
    }
    Ok(s)
}

impl Scan {
    /// Decides where the uncommitted tail starts and which commits are
    /// complete (spec/session.md § 5, rule 4).
    ///
    /// After the end of the newest commit whose own record verifies,
    /// everything that is not valid frames is the tail, as for an
    /// interrupted save. Between the *durable point* (the end of the newest
    /// commit written with a barrier) and that commit, saves without sync
    /// may have lost pages in a power cut: damage there that a lost page
    /// explains (an all-zero sector, 512-aligned, within the damaged
    /// bytes) starts the tail too, and so does a data frame there, named by
    /// a commit after the durable point, whose samples do not hash to its
    /// SHA-256 and hold such a sector. Other damage there (a flipped byte)
    /// stays damage, reported, and a data frame whose samples do not match
    /// without that excuse is reported as damage too. Commits after the
    /// tail's start are incomplete: dropped, listed in `incomplete`.
    fn settle(&mut self) {
        // A commit whose own hash does not verify, or whose link is broken
        // though the record before it is intact, is not a commit. (The
        // first record after damaged bytes always has a broken link: the
        // damage decides about that one.)
        let own_problem = |s: &Scan, at: u64| {
            let mine = || s.problems.iter().filter(move |p| p.offset == at);
            let after_damage = s.damaged.iter().any(|(_, to)| *to == at);
            mine().any(|p| p.message.starts_with("record hash mismatch"))
                || (mine().next().is_some() && !after_damage)
        };
        let genesis_end = self.records.first().map_or(HEADER_LEN, |r| r.end);
        let (mut durable, mut last_end) = (genesis_end, genesis_end);
        for (k, &i) in self.commits.iter().enumerate() {
            let Some(r) = self.records.get(i) else {
                continue;
            };
            if own_problem(self, r.at) {
                continue; // not a commit: its hash or link does not verify
            }
            last_end = r.end;
            let barrier = match self.commit_payloads.get(k) {
                Some(Ok(c)) => c.has_barrier(),
                _ => true,
            };
            if barrier {
                durable = r.end;
            }
        }
        // After the last commit: the tail starts at the first problem.
        let mut cut = self
            .problems
            .iter()
            .map(|p| p.offset)
            .filter(|&o| o >= last_end)
            .chain(self.torn_at)
            .min();
        // Between the durable point and the last commit: lost pages.
        let lost_regions: Vec<u64> = self
            .damaged
            .iter()
            .filter(|(from, _)| *from >= durable && *from < last_end)
            .filter(|(from, to)| self.lost_page_in(*from, *to, durable))
            .map(|(from, _)| *from)
            .collect();
        cut = cut.into_iter().chain(lost_regions).min();
        // Samples written after the durable point that a commit after it
        // names (no CRC covers them).
        let mut frames: Vec<u64> = Vec::new();
        for (k, &i) in self.commits.iter().enumerate() {
            let (Some(r), Some(Ok(c))) = (self.records.get(i), self.commit_payloads.get(k)) else {
                continue;
            };
            if r.at < durable {
                continue;
            }
            for tr in &c.traces {
                if let Some(f) = self
                    .record_at(tr.at)
                    .filter(|x| x.end <= r.at)
                    .and_then(|x| x.data_frame)
                    .filter(|&f| f >= durable)
                {
                    frames.push(f);
                }
            }
        }
        frames.sort_unstable();
        frames.dedup();
        for f in frames {
            if cut.is_some_and(|c| f >= c) {
                break;
            }
            let Some(d) = self.data_at(f).cloned() else {
                continue;
            };
            if self.samples_match(&d) {
                continue;
            }
            if self.lost_page_in(d.data_at, d.data_at + d.data_len, durable) {
                cut = Some(f);
                break;
            }
            self.problems.push(Problem {
                offset: f,
                seq: None,
                message: format!(
                    "data frame at byte offset {f}: its samples do not hash to the SHA-256 it \
                     records (written by a save without sync, but not a page lost in a power \
                     cut: damage)"
                ),
            });
        }
        self.cut = cut;
        if let Some(c) = cut {
            let mut keep = Vec::new();
            let mut keep_p = Vec::new();
            let payloads = std::mem::take(&mut self.commit_payloads);
            for (i, p) in self.commits.iter().copied().zip(payloads) {
                match self.records.get(i) {
                    Some(r) if r.end > c => self.incomplete.push(Incomplete {
                        version: p.as_ref().map_or(0, |p| p.version),
                        offset: r.at,
                    }),
                    _ => {
                        keep.push(i);
                        keep_p.push(p);
                    }
                }
            }
            self.commits = keep;
            self.commit_payloads = keep_p;
        }
    }

    /// Whether `[from, to)` holds what a page lost in a power cut leaves:
    /// a 512-byte-aligned sector whose bytes at or after `durable` (and
    /// before the end of the file) are all zero. Read with `pread`.
    fn lost_page_in(&self, from: u64, to: u64, durable: u64) -> bool {
        use crate::sys::FileExt;
        const SECTOR: u64 = 512;
        let to = to.min(self.file_len);
        let mut b = from - from % SECTOR;
        let mut buf = [0u8; SECTOR as usize];
        while b < to {
            let lo = b.max(durable);
            let hi = (b + SECTOR).min(self.file_len);
            if lo < hi {
                let chunk = buf.get_mut(..(hi - lo) as usize).unwrap_or_default();
                if self.file.read_exact_at(chunk, lo).is_ok() && chunk.iter().all(|x| *x == 0) {
                    return true;
                }
            }
            b += SECTOR;
        }
        false
    }

    /// Whether the samples of a data frame hash to its SHA-256 (read with
    /// `pread`, never through the mapping).
    pub fn samples_match(&self, d: &DataInfo) -> bool {
        use crate::sys::FileExt;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; (d.data_len as usize).clamp(1, 1 << 20)];
        let mut off = 0u64;
        while off < d.data_len {
            let n = ((d.data_len - off) as usize).min(buf.len());
            let chunk = buf.get_mut(..n).unwrap_or_default();
            if self.file.read_exact_at(chunk, d.data_at + off).is_err() {
                return false;
            }
            h.update(&*chunk);
            off += n as u64;
        }
        Hash::from_slice(&h.finalize()).is_some_and(|x| x == d.sha256)
    }

    /// The record starting at `at`, if the scan found one there.
    pub fn record_at(&self, at: u64) -> Option<&RecordInfo> {
        self.records
            .binary_search_by_key(&at, |r| r.at)
            .ok()
            .and_then(|i| self.records.get(i))
    }

    /// The data frame starting at `at`.
    pub fn data_at(&self, at: u64) -> Option<&DataInfo> {
        self.data
            .binary_search_by_key(&at, |d| d.at)
            .ok()
            .and_then(|i| self.data.get(i))
    }

    /// The JSON body of the record `r`, read again from the open file and
    /// checked again (CRC and the record hash the scan found): what is
    /// parsed is exactly what was checked, even if another program changes
    /// the file meanwhile.
    pub fn record_body(&self, r: &RecordInfo) -> Result<Vec<u8>> {
        use crate::sys::FileExt;
        let changed = |why: &str| Error::Corrupt {
            path: self.path.clone(),
            at: self.pos(r),
            msg: format!(
                "the record changed since the file was read ({why}): another program is \
                     writing into it{CORRUPT_HINT}"
            ),
        };
        let n = usize::try_from(r.end - r.at).map_err(|_| changed("length"))?;
        let mut buf = vec![0u8; n];
        self.file
            .read_exact_at(&mut buf, r.at)
            .map_err(|e| Error::io(&self.path, "read", e))?;
        let p = format::parse(Framing::Binary, &buf).map_err(|d| changed(&d.0))?;
        if p.raw.hash != r.hash || p.raw.compute_hash(&self.chain) != r.hash {
            return Err(changed("hash"));
        }
        let body_len = p.raw.json.len();
        buf.truncate(8 + body_len);
        buf.drain(..8);
        Ok(buf)
    }

    /// The commit record at position `i` of `commits`, parsed (from the
    /// bytes the scan checked).
    pub fn commit(&self, i: usize) -> Result<(&RecordInfo, CommitPayload)> {
        let r = self
            .commits
            .get(i)
            .and_then(|&j| self.records.get(j))
            .ok_or_else(|| Error::NotFound {
                what: format!("commit {i} of {}", self.path.display()),
            })?;
        match self.commit_payloads.get(i) {
            Some(Ok(c)) => Ok((r, c.clone())),
            Some(Err(e)) => Err(Error::malformed(
                &self.path,
                self.pos(r),
                format!("commit record: {e}"),
            )),
            None => Err(Error::NotFound {
                what: format!("commit {i} of {}", self.path.display()),
            }),
        }
    }

    /// The position of a record, for errors.
    pub fn pos(&self, r: &RecordInfo) -> Position {
        Position {
            offset: r.at,
            line: 0,
            seq: Some(r.seq),
        }
    }

    /// End of the last complete commit record (of the genesis when there is
    /// none): nothing after it belongs to any version.
    pub fn committed_end(&self) -> u64 {
        self.commits
            .last()
            .and_then(|&i| self.records.get(i))
            .or_else(|| self.records.first())
            .map_or(HEADER_LEN, |r| r.end)
    }

    /// Where the uncommitted tail starts: the remains of an interrupted
    /// save, or of saves without sync that lost pages in a power cut. From
    /// the end of the newest commit written with a barrier, the first
    /// damaged byte, record with a bad hash or link, torn frame, or data
    /// frame named by a later commit whose samples do not match (see
    /// `settle`). Everything from here on belongs to no version and is
    /// moved aside (into a sidecar) by the next save.
    pub fn uncommitted_cut(&self) -> Option<u64> {
        self.cut
    }

    /// The first problem at or before `end` (any problem, when the scan gave
    /// up: nothing after it is known), as an error.
    pub fn problem_before(&self, end: u64) -> Option<Error> {
        self.gave_up
            .iter()
            .chain(self.problems.iter().filter(|p| p.offset < end))
            .next()
            .map(|p| Error::Corrupt {
                path: self.path.clone(),
                at: Position {
                    offset: p.offset,
                    line: 0,
                    seq: p.seq,
                },
                msg: format!("{}{CORRUPT_HINT}", p.message),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid session file with one version (made by the store).
    fn valid_file(path: &Path) {
        let mut s = crate::session::Session::new("crafted");
        s.annotate("a", crate::session::Annotation::new("x"))
            .unwrap();
        s.save(Some(path), &crate::session::SaveOptions::default())
            .unwrap();
    }

    /// Finding 10: candidate record frames whose length fields and trailer
    /// agree, one every 16 bytes, each claiming to end far away, made each
    /// candidate cost a CRC over its whole claimed length: quadratic. The
    /// CRC work of a scan is bounded by the file's length (counted, not
    /// timed), and the file is refused as damaged, naming the offset.
    #[test]
    fn crafted_candidates_cost_linear_crc_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crafted.evs");
        valid_file(&path);
        let mut b = std::fs::read(&path).unwrap();
        let base = b.len();
        let tail = 256 * 1024;
        let half = tail / 2;
        let n = half; // every candidate claims a frame of `half` bytes
        b.resize(base + tail, b' ');
        let mut p = base;
        while p + 16 <= base + half {
            let body_len = (n - 8 - 32 - 8) as u32;
            b[p..p + 4].copy_from_slice(&body_len.to_le_bytes());
            b[p + 4..p + 6].copy_from_slice(&32u16.to_le_bytes());
            b[p + 6..p + 8].copy_from_slice(&0u16.to_le_bytes());
            b[p + 8..p + 13].copy_from_slice(b"{\"v\":");
            // The trailer of this candidate, in the second half.
            let t = p + n - 4;
            b[t..t + 4].copy_from_slice(&(n as u32).to_le_bytes());
            p += 16;
        }
        std::fs::write(&path, &b).unwrap();
        let s = scan(&path, None).unwrap();
        let len = b.len() as u64;
        eprintln!(
            "{len} bytes, {} CRC bytes, gave up: {:?}",
            s.crc_bytes, s.gave_up
        );
        assert!(
            s.crc_bytes <= 3 * len + RESYNC_SLACK + 2 * format::MAX_BODY as u64,
            "{} CRC bytes for a file of {len}",
            s.crc_bytes
        );
        // Damage the reader could not get past: refused, with the offset.
        let e = s.problem_before(0).expect("refused");
        assert!(e.to_string().contains(&format!("{base}")), "{e}");
        assert!(crate::session::Session::load(&path, &Default::default()).is_err());
        // The scan maps the file: Windows cannot shorten a mapped file.
        drop(s);

        // The same tail after a clean file costs nothing near the budget
        // when candidates are few: a torn tail, as before.
        let mut c = std::fs::read(&path).unwrap();
        c.truncate(base);
        c.extend_from_slice(&b[base..base + 64]);
        std::fs::write(&path, &c).unwrap();
        let s = scan(&path, None).unwrap();
        assert!(s.gave_up.is_none());
        assert_eq!(s.uncommitted_cut(), Some(base as u64));
    }
}
