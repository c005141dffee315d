//! The Merkle tree of a log: its leaves read from the log, and the stored
//! tree, a sidecar `<log>.tree` of node hashes that makes proofs O(log n).
//!
//! Leaf *i* is the record with seq *i* (the genesis is leaf 0); its leaf
//! hash is `SHA-256(0x00 || body)`, the body being the exact bytes the
//! chain hashes (spec/format.md § 6.1). The tree does not depend on the
//! framing or on the chain's key.
//!
//! The stored tree is derived data, never trusted over the log: every slot
//! carries a CRC, its header names the log and the last record it covers,
//! and that record is checked against the log whenever the tree is opened.
//! Anything that does not match is rebuilt from the log. Proofs made from
//! it are checked against the log's record and the signed root before they
//! are handed out.
//!
//! Layout: a 64-byte header, then one 44-byte slot per node (32-byte hash,
//! for a leaf the record's offset in the log (else 0) as u64le, CRC-32 of
//! the slot's number, hash and offset) in post-order: the node of
//! `level` and `index` is slot `2(m-1) - popcount(m-1) + level` with
//! `m = (index + 1) << level`. A tree of `n` leaves has `2n - popcount(n)`
//! slots; appending a leaf appends its slot and those of the subtrees it
//! completes.

use crate::sys::FileExt as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::merkle::{self, Node, NodeSource};
use crate::chain::{Chain, Hash, Key};
use crate::error::{Error, Position, Result};
use crate::format::{self, Framing, RecordKind};
use crate::log::{read_genesis, GenesisInfo};
use crate::scan::{Forward, SpanKind};
use crate::verify::{Violation, ViolationKind};

/// One record as the tree sees it.
#[derive(Debug, Clone)]
pub struct LeafRecord {
    /// The record's seq (= leaf index).
    pub seq: u64,
    /// Offset of the record's first byte.
    pub offset: u64,
    /// Offset just past the record (JSONL: past its LF).
    pub end: u64,
    /// The leaf hash of its body.
    pub leaf: Node,
    /// The record's stored chain hash.
    pub hash: Hash,
    /// The record's body.
    pub body: Vec<u8>,
}

/// An open log read as a sequence of leaves.
pub struct LogLeaves {
    path: PathBuf,
    file: File,
    pub(crate) gi: GenesisInfo,
    len: u64,
    chain: Option<Chain>,
}

impl LogLeaves {
    /// Opens a log. With `key`, keyed logs get their hashes checked; a
    /// keyless log's hashes are always checked; without a key, a keyed
    /// log's hashes are not (its links and leaves are).
    pub fn open(path: &Path, key: Option<&Key>) -> Result<LogLeaves> {
        let file = crate::storage::open_regular(path, crate::storage::Access::Read, "open")?;
        let len = file
            .metadata()
            .map_err(|e| Error::io(path, "stat", e))?
            .len();
        let gi = read_genesis(path, &file, len)?;
        let chain = match (gi.genesis.alg.is_keyed(), key) {
            (true, None) => None,
            _ => Some(crate::log::chain_for(path, &gi.genesis, key)?),
        };
        if let Some(c) = &chain {
            if !gi.hash_ok(c) {
                return Err(Error::Corrupt {
                    path: path.to_path_buf(),
                    at: Position {
                        offset: gi.framing.data_start(),
                        line: u64::from(gi.framing == Framing::Jsonl),
                        seq: Some(0),
                    },
                    msg: "genesis record fails its hash check".into(),
                });
            }
        }
        Ok(LogLeaves {
            path: path.to_path_buf(),
            file,
            gi,
            len,
            chain,
        })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The log's id.
    pub fn log_id(&self) -> &str {
        &self.gi.genesis.log_id
    }

    /// The log's framing.
    pub fn framing(&self) -> Framing {
        self.gi.framing
    }

    /// The file length when opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file held nothing (never: a log has a genesis).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether record hashes are checked (keyless log, or key given).
    pub fn checks_hashes(&self) -> bool {
        self.chain.is_some()
    }

    /// The genesis as leaf 0.
    pub fn genesis_leaf(&self) -> Result<LeafRecord> {
        let p = format::parse(self.gi.framing, &self.gi.bytes)
            .map_err(|d| Error::malformed(&self.path, Position::default(), d.0))?;
        let body = p.raw.body();
        Ok(LeafRecord {
            seq: 0,
            offset: self.gi.framing.data_start(),
            end: self.gi.end,
            leaf: merkle::leaf_hash(&body),
            hash: self.gi.hash,
            body,
        })
    }

    /// The record at `offset` (a record boundary), parsed, if it is one.
    pub fn record_at(&self, offset: u64, end: u64) -> Result<Option<LeafRecord>> {
        if end <= offset || end > self.len || end - offset > (format::MAX_BODY as u64) * 2 {
            return Ok(None);
        }
        let mut buf = vec![0u8; (end - offset) as usize];
        let n = self
            .file
            .read_at_full(&mut buf, offset)
            .map_err(|e| Error::io(&self.path, "read", e))?;
        if n != buf.len() {
            return Ok(None);
        }
        if self.gi.framing == Framing::Jsonl && buf.pop() != Some(b'\n') {
            return Ok(None);
        }
        let Ok(p) = format::parse(self.gi.framing, &buf) else {
            return Ok(None);
        };
        let body = p.raw.body();
        Ok(Some(LeafRecord {
            seq: p.seq,
            offset,
            end,
            leaf: merkle::leaf_hash(&body),
            hash: p.raw.hash,
            body,
        }))
    }

    /// The record that starts at `offset`, if a readable one does.
    pub fn record_from(&self, offset: u64) -> Result<Option<LeafRecord>> {
        if offset < self.gi.framing.data_start() || offset >= self.len {
            return Ok(None);
        }
        let mut fwd = Forward::new(&self.file, self.gi.framing, offset, self.len, 0);
        let item = match fwd.next_item() {
            None => return Ok(None),
            Some(Err(e)) => return Err(Error::io(&self.path, "read", e)),
            Some(Ok((item, _))) => item,
        };
        if item.kind != SpanKind::Record || item.offset != offset {
            return Ok(None);
        }
        let Ok(p) = format::parse(self.gi.framing, &item.bytes) else {
            return Ok(None);
        };
        let body = p.raw.body();
        Ok(Some(LeafRecord {
            seq: p.seq,
            offset,
            end: item.end(self.gi.framing),
            leaf: merkle::leaf_hash(&body),
            hash: p.raw.hash,
            body,
        }))
    }

    /// Reads records from `offset` on (a record boundary), the first of
    /// which must have seq `seq` and name `prev`.
    pub fn reader(&self, offset: u64, seq: u64, prev: Hash) -> LeafReader<'_> {
        let line = if self.gi.framing == Framing::Jsonl {
            seq + 1
        } else {
            0
        };
        LeafReader {
            log: self,
            fwd: Forward::new(&self.file, self.gi.framing, offset, self.len, line),
            seq,
            prev,
            hash_len: self.gi.genesis.alg.hash_len(),
            stopped: false,
        }
    }

    /// Whether the bytes from `offset` (an unreadable span) to the end of
    /// the file are a torn tail (spec/format.md § 9.5): no readable record
    /// after them, and only a record prefix or a lost block (what
    /// `evident verify` reports as `torn_tail`).
    fn torn_from(&self, offset: u64) -> Result<bool> {
        let framing = self.gi.framing;
        let mut fwd = Forward::new(&self.file, framing, offset, self.len, 1);
        while let Some(item) = fwd.next_item() {
            let (item, _) = item.map_err(|e| Error::io(&self.path, "read", e))?;
            if item.kind == SpanKind::Record && format::parse(framing, &item.bytes).is_ok() {
                return Ok(false);
            }
        }
        let tail = crate::tail::classify(&self.file, framing, offset, self.len)
            .map_err(|e| Error::io(&self.path, "read", e))?;
        Ok(matches!(tail, crate::tail::Tail::Torn { .. }))
    }

    /// Checks a record's stored hash with the chain, when there is one.
    pub fn hash_ok(&self, r: &LeafRecord) -> bool {
        match &self.chain {
            Some(c) => c.hash(&r.body) == r.hash,
            None => true,
        }
    }

    /// Reads every leaf up to the end of the log (or the first problem).
    pub fn read_all(&self, mut each: impl FnMut(&LeafRecord)) -> Result<ReadEnd> {
        let g = self.genesis_leaf()?;
        each(&g);
        let mut r = self.reader(g.end, 1, g.hash);
        let mut last = g;
        loop {
            match r.next_leaf()? {
                Step::Leaf(l) => {
                    each(&l);
                    last = l;
                }
                Step::End => {
                    return Ok(ReadEnd {
                        last,
                        problem: None,
                    })
                }
                Step::Problem(v) => {
                    return Ok(ReadEnd {
                        last,
                        problem: Some(v),
                    })
                }
            }
        }
    }
}

trait ReadAtFull {
    fn read_at_full(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize>;
}

impl ReadAtFull for File {
    fn read_at_full(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

/// How reading the leaves ended.
#[derive(Debug, Clone)]
pub struct ReadEnd {
    /// The last good record.
    pub last: LeafRecord,
    /// What stopped the reading before the end of the file, if anything:
    /// damage, a break in the chain, or a torn tail.
    pub problem: Option<Violation>,
}

/// One step of a [`LeafReader`].
#[derive(Debug)]
pub enum Step {
    /// The next record.
    Leaf(LeafRecord),
    /// The end of the file.
    End,
    /// A record that does not continue the chain, or damage; reading stops.
    Problem(Violation),
}

/// Reads records forward, checking that each continues the chain.
pub struct LeafReader<'a> {
    log: &'a LogLeaves,
    fwd: Forward<&'a File>,
    seq: u64,
    prev: Hash,
    hash_len: usize,
    stopped: bool,
}

impl LeafReader<'_> {
    /// The next record, the end, or the problem that ends the reading.
    pub fn next_leaf(&mut self) -> Result<Step> {
        if self.stopped {
            return Ok(Step::End);
        }
        let jsonl = self.log.gi.framing == Framing::Jsonl;
        let (item, line) = match self.fwd.next_item() {
            None => return Ok(Step::End),
            Some(Err(e)) => return Err(Error::io(&self.log.path, "read", e)),
            Some(Ok(x)) => x,
        };
        let line = if jsonl { line } else { 0 };
        let stop = |s: &mut Self, kind, seq, msg: String| {
            s.stopped = true;
            Ok(Step::Problem(Violation {
                kind,
                seq,
                line,
                offset: item.offset,
                message: msg,
            }))
        };
        match item.kind {
            SpanKind::Record => {}
            SpanKind::Partial | SpanKind::Bad => {
                // A torn tail only as spec/format.md § 9.5 says (the
                // verifier's rule): a complete record failing its check,
                // or bytes no record starts with, are damage, also at
                // the end of the file (spec/checkpoints.md rule 4).
                if self.log.torn_from(item.offset)? {
                    return stop(
                        self,
                        ViolationKind::TornTail,
                        None,
                        "bytes at the end of the file are not a complete record".into(),
                    );
                }
                let msg = if item.kind == SpanKind::Bad {
                    crate::verify::bad_span_message(self.log.gi.framing, item.bytes.len())
                } else {
                    "bytes at the end of the file that no interrupted write leaves: a record that fails its check".into()
                };
                let msg = crate::verify::after_seq(msg, self.seq);
                return stop(self, ViolationKind::Malformed, None, msg);
            }
        }
        let p = match format::parse(self.log.gi.framing, &item.bytes) {
            Ok(p) => p,
            // A complete line holding a lost block is torn too (§ 9.5).
            Err(_) if self.log.torn_from(item.offset)? => {
                return stop(
                    self,
                    ViolationKind::TornTail,
                    None,
                    "bytes at the end of the file are not a complete record".into(),
                )
            }
            Err(d) => {
                let msg = crate::verify::after_seq(d.0, self.seq);
                return stop(self, ViolationKind::Malformed, None, msg);
            }
        };
        if p.kind == RecordKind::Genesis || p.raw.hash.as_bytes().len() != self.hash_len {
            return stop(
                self,
                ViolationKind::Malformed,
                Some(p.seq),
                "a genesis record after the start, or a hash of the wrong length".into(),
            );
        }
        if p.seq != self.seq {
            let msg = format!("seq {} where seq {} was expected", p.seq, self.seq);
            return stop(self, ViolationKind::SeqGap, Some(p.seq), msg);
        }
        if p.prev != self.prev {
            return stop(
                self,
                ViolationKind::ChainBreak,
                Some(p.seq),
                "\"prev\" is not the previous record's hash".into(),
            );
        }
        let body = p.raw.body();
        let rec = LeafRecord {
            seq: p.seq,
            offset: item.offset,
            end: item.end(self.log.gi.framing),
            leaf: merkle::leaf_hash(&body),
            hash: p.raw.hash,
            body,
        };
        if !self.log.hash_ok(&rec) {
            return stop(
                self,
                ViolationKind::HashMismatch,
                Some(p.seq),
                "stored hash is not the hash of the record".into(),
            );
        }
        self.seq += 1;
        self.prev = rec.hash;
        Ok(Step::Leaf(rec))
    }
}

/// The right edge of a tree: the roots of its complete subtrees, largest
/// first. Enough to append leaves and compute the root (O(log n) memory).
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    size: u64,
    peaks: Vec<(u32, Node)>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// The frontier of the first `size` leaves of `src`.
    pub fn of<S: NodeSource + ?Sized>(
        src: &mut S,
        size: u64,
    ) -> std::result::Result<Frontier, S::Error> {
        let mut peaks = Vec::new();
        let mut at = 0u64;
        for level in (0..64u32).rev() {
            if size & (1u64 << level) != 0 {
                peaks.push((level, src.node(level, at >> level)?));
                at += 1u64 << level;
            }
        }
        Ok(Frontier { size, peaks })
    }

    /// Leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf; returns the nodes it completes (level, index,
    /// hash), the leaf first.
    pub fn push(&mut self, leaf: Node) -> Vec<(u32, u64, Node)> {
        let mut out = vec![(0, self.size, leaf)];
        let mut cur = leaf;
        let mut level = 0u32;
        while let Some(&(l, left)) = self.peaks.last() {
            if l != level {
                break;
            }
            self.peaks.pop();
            cur = merkle::node_hash(&left, &cur);
            level += 1;
            out.push((level, self.size >> level, cur));
        }
        self.peaks.push((level, cur));
        self.size += 1;
        out
    }

    /// The root hash.
    pub fn root(&self) -> Node {
        let mut it = self.peaks.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return merkle::empty_root();
        };
        for (_, left) in it {
            acc = merkle::node_hash(left, &acc);
        }
        acc
    }
}

const MAGIC: &[u8; 8] = b"EVDTREE1";
const HEADER: u64 = 64;
const SLOT: u64 = 44;

/// Slot of the node at `level` and `index`.
pub fn slot_of(level: u32, index: u64) -> u64 {
    let m = (index + 1) << level;
    2 * (m - 1) - u64::from((m - 1).count_ones()) + u64::from(level)
}

/// Number of slots of a tree of `n` leaves.
pub fn slots_for(n: u64) -> u64 {
    2 * n - u64::from(n.count_ones())
}

fn slot_crc(slot: u64, hash: &Node, offset: u64) -> u32 {
    let mut c = crc32fast::Hasher::new();
    c.update(&slot.to_le_bytes());
    c.update(hash);
    c.update(&offset.to_le_bytes());
    c.finalize()
}

/// A slot's bytes: the hash, the record's offset in the log (leaves; 0
/// for other nodes), a CRC-32 of the slot number, hash and offset.
fn slot_bytes(out: &mut Vec<u8>, slot: u64, hash: &Node, offset: u64) {
    out.extend_from_slice(hash);
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&slot_crc(slot, hash, offset).to_le_bytes());
}

/// The stored tree's header: magic, log id, size, where the last covered
/// record ends and starts, framing, CRC.
fn header(log: &LogLeaves, size: u64, last_end: u64, last_offset: u64) -> [u8; HEADER as usize] {
    let mut h = [0u8; HEADER as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..24].copy_from_slice(&log_id_bytes(log.log_id()));
    h[24..32].copy_from_slice(&size.to_le_bytes());
    h[32..40].copy_from_slice(&last_end.to_le_bytes());
    h[40..48].copy_from_slice(&last_offset.to_le_bytes());
    h[48..52].copy_from_slice(&u32::from(log.framing() == Framing::Binary).to_le_bytes());
    let crc = crc32fast::hash(&h[..56]);
    h[56..60].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The stored tree's path for a log.
pub fn tree_path(log: &Path) -> PathBuf {
    let mut s = log.as_os_str().to_owned();
    s.push(".tree");
    PathBuf::from(s)
}

/// The stored tree of a log (see the module documentation).
pub struct StoredTree {
    path: PathBuf,
    file: File,
    /// Leaves covered.
    size: u64,
    /// The last covered record: its offset and end in the log.
    last_offset: u64,
    last_end: u64,
    /// The last covered record's chain hash (from the log).
    last_hash: Option<Hash>,
    frontier: Frontier,
}

/// Why the stored tree was not usable (rebuilt or, read-only, ignored).
#[derive(Debug, Clone)]
pub struct Damage(pub String);

impl NodeSource for StoredTree {
    type Error = Error;
    fn node(&mut self, level: u32, index: u64) -> Result<Node> {
        let slot = slot_of(level, index);
        if (index + 1) << level > self.size {
            return Err(Error::InvalidArgument(format!(
                "node {level}/{index} is not in a tree of {} leaves",
                self.size
            )));
        }
        read_slot(&self.path, &self.file, slot)
    }
}

fn read_slot(path: &Path, file: &File, slot: u64) -> Result<Node> {
    read_slot_full(path, file, slot).map(|(h, _)| h)
}

fn read_slot_full(path: &Path, file: &File, slot: u64) -> Result<(Node, u64)> {
    let mut buf = [0u8; SLOT as usize];
    let n = file
        .read_at_full(&mut buf, HEADER + slot * SLOT)
        .map_err(|e| Error::io(path, "read", e))?;
    let mut h = [0u8; 32];
    h.copy_from_slice(&buf[..32]);
    let offset = u64::from_le_bytes(buf[32..40].try_into().unwrap_or([0; 8]));
    let crc = u32::from_le_bytes([buf[40], buf[41], buf[42], buf[43]]);
    if n != buf.len() || crc != slot_crc(slot, &h, offset) {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            at: Position {
                offset: HEADER + slot * SLOT,
                line: 0,
                seq: None,
            },
            msg: format!("stored tree slot {slot} fails its check"),
        });
    }
    Ok((h, offset))
}

fn log_id_bytes(log_id: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    if let Ok(v) = hex::decode(log_id) {
        if let Ok(a) = <[u8; 16]>::try_from(v.as_slice()) {
            out = a;
        }
    }
    out
}

impl StoredTree {
    /// The offset in the log of record `seq` as stored (untrusted: the
    /// caller checks the record it finds there).
    pub fn leaf_offset(&self, seq: u64) -> Result<u64> {
        if seq >= self.size {
            return Err(Error::InvalidArgument(format!(
                "record {seq} is not in a tree of {} leaves",
                self.size
            )));
        }
        read_slot_full(&self.path, &self.file, slot_of(0, seq)).map(|(_, o)| o)
    }

    /// Leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the whole stored tree.
    pub fn root(&self) -> Node {
        self.frontier.root()
    }

    /// Opens the stored tree of `log` without changing anything; `Err`
    /// names why it cannot be used (missing, damaged, of another log, or
    /// not matching the log's record).
    pub fn open_existing(log: &LogLeaves) -> std::result::Result<StoredTree, Damage> {
        let path = tree_path(log.path());
        // Read-write when allowed (to extend it); read-only otherwise.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .or_else(|_| File::open(&path))
            .map_err(|e| Damage(format!("{}: {e}", path.display())))?;
        let mut h = [0u8; HEADER as usize];
        let n = file
            .read_at_full(&mut h, 0)
            .map_err(|e| Damage(format!("{}: {e}", path.display())))?;
        if n != h.len() || &h[..8] != MAGIC {
            return Err(Damage("not a stored tree (bad header)".into()));
        }
        let crc = u32::from_le_bytes([h[56], h[57], h[58], h[59]]);
        if crc != crc32fast::hash(&h[..56]) {
            return Err(Damage("header fails its check".into()));
        }
        if h[8..24] != log_id_bytes(log.log_id()) {
            return Err(Damage("the stored tree belongs to another log".into()));
        }
        let u = |a: usize| u64::from_le_bytes(h[a..a + 8].try_into().unwrap_or([0; 8]));
        let (size, last_end, last_offset) = (u(24), u(32), u(40));
        let framing = u32::from_le_bytes([h[48], h[49], h[50], h[51]]);
        if framing != u32::from(log.framing() == Framing::Binary) {
            return Err(Damage("the stored tree is of another framing".into()));
        }
        let file_len = file
            .metadata()
            .map_err(|e| Damage(format!("{}: {e}", path.display())))?
            .len();
        if size == 0 || size > (1 << 56) || HEADER + slots_for(size) * SLOT > file_len {
            return Err(Damage(
                "the stored tree is shorter than its header says".into(),
            ));
        }
        let mut t = StoredTree {
            path,
            file,
            size,
            last_offset,
            last_end,
            last_hash: None,
            frontier: Frontier::new(),
        };
        t.frontier = Frontier::of(&mut t, size).map_err(|e| Damage(format!("stored tree: {e}")))?;
        // The last covered record must be in the log, unchanged.
        let rec = if size == 1 {
            log.genesis_leaf().ok()
        } else {
            log.record_at(last_offset, last_end).ok().flatten()
        };
        let Some(rec) = rec else {
            return Err(Damage(format!(
                "the log has no record at byte offset {last_offset} where the stored tree's last leaf was"
            )));
        };
        let stored_leaf = t
            .node(0, size - 1)
            .map_err(|e| Damage(format!("stored tree: {e}")))?;
        if rec.seq != size - 1 || rec.leaf != stored_leaf || !log.hash_ok(&rec) {
            return Err(Damage(format!(
                "record {} of the log is not the stored tree's last leaf",
                size - 1
            )));
        }
        t.last_hash = Some(rec.hash);
        Ok(t)
    }

    /// Opens the stored tree of `log` and brings it up to the log's end
    /// (or to the first problem in the log), rebuilding it from the log
    /// when it is missing or does not match. Returns the tree and the
    /// problem that stopped reading the log, if any.
    pub fn open_updated(log: &LogLeaves) -> Result<(StoredTree, Option<Violation>)> {
        match Self::open_existing(log) {
            Ok(mut t) => {
                let problem = t.extend(log)?;
                Ok((t, problem))
            }
            Err(_) => Self::rebuild(log),
        }
    }

    /// Rebuilds the stored tree from the log (written to a temporary file,
    /// then renamed over the old one; not fsynced: the tree is checked
    /// whenever it is opened and rebuilt when it does not match).
    pub fn rebuild(log: &LogLeaves) -> Result<(StoredTree, Option<Violation>)> {
        use crate::storage::{Durable, NewFile, Perm, Place};
        let path = tree_path(log.path());
        // Removed on any error below (dropped unplaced).
        let tmp = NewFile {
            what: "tree",
            perm: Perm::Default,
            durable: Durable::No,
            place: Place::RenameOver,
        }
        .create(&path)
        .map_err(|f| Error::io(&f.path, "create stored tree", f.error))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.file());
        w.write_all(&[0u8; HEADER as usize])
            .map_err(|e| Error::io(tmp.tmp(), "write", e))?;
        let mut frontier = Frontier::new();
        let mut slot = 0u64;
        let mut write_err = None;
        let end = log.read_all(|rec| {
            for (level, index, hash) in frontier.push(rec.leaf) {
                debug_assert_eq!(slot_of(level, index), slot);
                let mut b = Vec::with_capacity(SLOT as usize);
                let offset = if level == 0 { rec.offset } else { 0 };
                slot_bytes(&mut b, slot, &hash, offset);
                if write_err.is_none() {
                    if let Err(e) = w.write_all(&b) {
                        write_err = Some(e);
                    }
                }
                slot += 1;
            }
        })?;
        let flushed = w.flush();
        drop(w);
        if let Some(e) = write_err.or(flushed.err()) {
            return Err(Error::io(tmp.tmp(), "write", e));
        }
        let size = frontier.size();
        let (last_offset, last_end) = (end.last.offset, end.last.end);
        tmp.file()
            .write_all_at(&header(log, size, last_end, last_offset), 0)
            .map_err(|e| Error::io(tmp.tmp(), "write", e))?;
        let file = tmp
            .place_open()
            .map_err(|f| Error::io(&f.path, "rename stored tree", f.error))?;
        let t = StoredTree {
            path,
            file,
            size,
            last_offset,
            last_end,
            last_hash: Some(end.last.hash),
            frontier,
        };
        Ok((t, end.problem))
    }

    fn write_header(&mut self, log: &LogLeaves) -> std::io::Result<()> {
        let h = header(log, self.size, self.last_end, self.last_offset);
        self.file.write_all_at(&h, 0)
    }

    /// Appends the records after the last covered one.
    pub fn extend(&mut self, log: &LogLeaves) -> Result<Option<Violation>> {
        let Some(prev) = self.last_hash else {
            return Ok(None);
        };
        let mut r = log.reader(self.last_end, self.size, prev);
        let mut buf: Vec<u8> = Vec::new();
        let first_slot = slots_for(self.size);
        let mut slot = first_slot;
        let mut problem = None;
        let mut last: Option<LeafRecord> = None;
        loop {
            match r.next_leaf()? {
                Step::Leaf(rec) => {
                    for (level, _, hash) in self.frontier.push(rec.leaf) {
                        let offset = if level == 0 { rec.offset } else { 0 };
                        slot_bytes(&mut buf, slot, &hash, offset);
                        slot += 1;
                    }
                    last = Some(rec);
                    if buf.len() >= 1 << 20 {
                        self.flush_slots(&mut buf, &mut slot, first_slot)?;
                    }
                }
                Step::End => break,
                Step::Problem(v) => {
                    problem = Some(v);
                    break;
                }
            }
        }
        let _ = first_slot;
        if let Some(rec) = last {
            let start = slot - (buf.len() as u64 / SLOT);
            self.file
                .write_all_at(&buf, HEADER + start * SLOT)
                .map_err(|e| Error::io(&self.path, "write", e))?;
            self.size = self.frontier.size();
            self.last_offset = rec.offset;
            self.last_end = rec.end;
            self.last_hash = Some(rec.hash);
            self.write_header(log)
                .map_err(|e| Error::io(&self.path, "write", e))?;
        }
        Ok(problem)
    }

    fn flush_slots(&mut self, buf: &mut Vec<u8>, slot: &mut u64, _first: u64) -> Result<()> {
        let start = *slot - (buf.len() as u64 / SLOT);
        self.file
            .write_all_at(buf, HEADER + start * SLOT)
            .map_err(|e| Error::io(&self.path, "write", e))?;
        buf.clear();
        Ok(())
    }
}
