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

/// Appended to errors about damage: what to do next.
pub const CORRUPT_HINT: &str = " (run `evident session verify` for every problem)";

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Hash {
    Hash::from_slice(&Sha256::digest(bytes)).unwrap_or_else(|| Hash::zero(32))
}

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    pub log_id: String,
}

/// Where a trace record puts its samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRef {
    /// Offset of the data frame.
    pub frame: u64,
    /// `"raw"` or `"zstd"`.
    pub encoding: String,
    /// Bytes in the data frame.
    pub stored_len: u64,
    /// Bytes of the samples (after decompression).
    pub raw_len: u64,
    /// SHA-256 of the data frame's bytes.
    pub sha256: String,
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

/// A commit's reference to a section record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionRef {
    pub section: String,
    pub at: u64,
    pub hash: String,
    /// SHA-256 of the section's canonical content (to detect changes).
    pub content: String,
}

/// A commit's reference to a trace record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceRef {
    pub name: String,
    pub at: u64,
    pub hash: String,
}

/// Counts recorded in a commit, for listing versions without loading them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub traces: u64,
    pub layers: u64,
    pub annotations: u64,
    pub measurements: u64,
    pub history: u64,
    pub trace_bytes: u64,
}

/// Where a compacted file's version came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactedFrom {
    pub version: u64,
    pub commit: String,
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
}

/// One record frame found by a scan.
#[derive(Debug, Clone)]
pub struct RecordInfo {
    pub at: u64,
    pub end: u64,
    pub seq: u64,
    pub hash: Hash,
    pub kind: String,
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

/// Everything a forward pass over a session file finds. The sample bytes
/// of data frames are skipped, not read.
pub struct Scan {
    pub path: PathBuf,
    pub map: Arc<memmap2::Mmap>,
    pub file_len: u64,
    pub genesis: GenesisPayload,
    pub chain: Chain,
    pub records: Vec<RecordInfo>,
    pub data: Vec<DataInfo>,
    /// Indexes into `records` of the commits, oldest first.
    pub commits: Vec<usize>,
    /// End of the last valid frame.
    pub valid_end: u64,
    /// Chain breaks, hash mismatches and damaged frames followed by valid
    /// frames. Those after the last commit are remains of an interrupted
    /// save, not damage to any version (see [`Scan::uncommitted_cut`]).
    pub problems: Vec<Problem>,
    /// Offset where an incomplete or damaged tail starts (nothing valid
    /// follows it): a torn write.
    pub torn_at: Option<u64>,
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
struct Window<'f> {
    file: &'f std::fs::File,
    len: u64,
    at: u64,
    buf: Vec<u8>,
}

const WINDOW: usize = 256 * 1024;

impl<'f> Window<'f> {
    fn new(file: &'f std::fs::File, len: u64) -> Self {
        Window {
            file,
            len,
            at: 0,
            buf: Vec::new(),
        }
    }

    /// Bytes `[at, at + n)`, fewer at the end of the file (or on a read
    /// error, which the caller sees as a short frame).
    fn get(&mut self, at: u64, n: usize) -> &[u8] {
        use std::os::unix::fs::FileExt;
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
            let bytes = w.get(at, n).to_vec();
            match format::parse(Framing::Binary, &bytes) {
                Ok(_) => At::Record(bytes, end),
                Err(d) => At::Bad(d.0),
            }
        }
    }
}

/// The first offset after `from` where a valid record frame starts.
fn next_valid_record(w: &mut Window<'_>, from: u64) -> Option<u64> {
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
                if let At::Record(..) = frame_at(w, at) {
                    return Some(at);
                }
            }
        }
        pos += CHUNK as u64;
    }
    None
}

/// Opens and maps a session file and checks its header.
pub fn map_file(path: &Path) -> Result<(Arc<memmap2::Mmap>, u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, "open", e))?;
    let meta = f.metadata().map_err(|e| Error::io(path, "stat", e))?;
    if !meta.is_file() {
        return Err(Error::InvalidArgument(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    // SAFETY: session files are append-only; the mapped prefix is never
    // rewritten in place (compaction replaces the file by rename, which
    // leaves this mapping on the old inode; a torn tail is only ever cut
    // beyond the last valid frame, which no reference points into).
    let map = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| Error::io(path, "mmap", e))?;
    let head = map.get(..HEADER_LEN as usize);
    let at0 = Position::default();
    match head {
        _ if map.is_empty() => {
            return Err(Error::malformed(
                path,
                at0,
                "empty file, not a session file",
            ))
        }
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
        }
        _ if map.get(..8) == Some(&format::BINARY_MAGIC[..]) || map.first() == Some(&b'{') => {
            return Err(Error::malformed(
                path,
                at0,
                "this is an evident audit log, not a session file (use `evident verify`)",
            ));
        }
        _ if map.len() < HEADER_LEN as usize
            && (map.starts_with(&SESSION_MAGIC) || SESSION_MAGIC.starts_with(&map)) =>
        {
            return Err(Error::malformed(
                path,
                at0,
                format!("file of {} bytes ends inside the session header", map.len()),
            ));
        }
        _ => {
            return Err(Error::malformed(
                path,
                at0,
                "not a session file (bad magic)",
            ))
        }
    }
    Ok((Arc::new(map), meta.dev(), meta.ino()))
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
/// a session file, a damaged genesis and a wrong key are errors.
pub fn scan(path: &Path, key: Option<&Key>) -> Result<Scan> {
    let (map, dev, ino) = map_file(path)?;
    let file_len = map.len() as u64;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "open", e))?;
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
        At::Data(..) => return Err(genesis_err("a data frame where the genesis must be".into())),
    };
    let parsed = format::parse(Framing::Binary, &g_bytes)
        .map_err(|d| genesis_err(format!("damaged genesis record: {}", d.0)))?;
    if parsed.seq != 0 || parsed.kind != format::RecordKind::Genesis {
        return Err(genesis_err("the first record is not a genesis".into()));
    }
    let genesis: GenesisPayload = serde_json::from_slice(parsed.raw.json)
        .map_err(|e| genesis_err(format!("genesis: {e}")))?;
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
        }],
        data: Vec::new(),
        commits: Vec::new(),
        valid_end: g_end,
        problems: Vec::new(),
        torn_at: None,
        dev,
        ino,
    };

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
                if kind == "commit" {
                    s.commits.push(s.records.len());
                }
                s.records.push(RecordInfo {
                    at,
                    end,
                    seq: p.seq,
                    hash: p.raw.hash,
                    kind,
                });
                at = end;
                s.valid_end = end;
            }
            At::Data(d, end) => {
                s.data.push(d);
                at = end;
                s.valid_end = end;
            }
            At::Incomplete | At::Bad(_) => {
                let why = match frame_at(&mut w, at) {
                    At::Bad(m) => m,
                    _ => "incomplete frame".to_string(),
                };
                match next_valid_record(&mut w, at) {
                    Some(next) => {
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
                    None => {
                        s.torn_at = Some(at);
                        break;
                    }
                }
            }
        }
    }
    Ok(s)
}

impl Scan {
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

    /// The JSON of the record `r` (its body).
    pub fn body(&self, r: &RecordInfo) -> &[u8] {
        let map: &[u8] = &self.map;
        let body_len = u32_at(map, r.at).unwrap_or(0) as usize;
        let start = r.at as usize + 8;
        map.get(start..start + body_len).unwrap_or_default()
    }

    /// The commit record at position `i` of `commits`, parsed.
    pub fn commit(&self, i: usize) -> Result<(&RecordInfo, CommitPayload)> {
        let r = self
            .commits
            .get(i)
            .and_then(|&j| self.records.get(j))
            .ok_or_else(|| Error::NotFound {
                what: format!("commit {i} of {}", self.path.display()),
            })?;
        let c = serde_json::from_slice(self.body(r)).map_err(|e| {
            Error::malformed(&self.path, self.pos(r), format!("commit record: {e}"))
        })?;
        Ok((r, c))
    }

    /// The position of a record, for errors.
    pub fn pos(&self, r: &RecordInfo) -> Position {
        Position {
            offset: r.at,
            line: 0,
            seq: Some(r.seq),
        }
    }

    /// End of the last commit record (of the genesis when there is none):
    /// nothing after it belongs to any version, since a save returns only
    /// once its commit is durable.
    pub fn committed_end(&self) -> u64 {
        self.commits
            .last()
            .and_then(|&i| self.records.get(i))
            .or_else(|| self.records.first())
            .map_or(HEADER_LEN, |r| r.end)
    }

    /// Where the remains of an interrupted save stop being valid frames:
    /// the first damaged byte, record with a bad hash or link, or torn frame
    /// after the last commit. A power cut during a save may lose any page
    /// it wrote, not only the last ones, so everything from here on is cut
    /// off (moved aside) by the next save; it belongs to no version.
    pub fn uncommitted_cut(&self) -> Option<u64> {
        let end = self.committed_end();
        let damaged = self.problems.iter().map(|p| p.offset).filter(|&o| o >= end);
        damaged.chain(self.torn_at).min()
    }

    /// The first problem at or before `end`, as an error.
    pub fn problem_before(&self, end: u64) -> Option<Error> {
        self.problems
            .iter()
            .find(|p| p.offset < end)
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
