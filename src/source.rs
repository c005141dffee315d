//! Record sources: where verify (and the shipper) get records from.
//!
//! A [`RecordSource`] yields a log's records in order, genesis first, as
//! the exact bytes of their framing together with their position. A log
//! file is one source ([`FileSource`]); the PostgreSQL store is another
//! (`crate::pg`, which renders each stored body and hash as the JSONL line
//! they make). [`crate::verify::verify_source`] runs the one per-record
//! chain check of [`crate::verify()`] over any of them, so a database copy
//! is checked by the same code as the file it came from.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::format::Framing;
use crate::scan::{Forward, SpanKind};

/// What a record's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A complete record by its framing (it may still fail its checks).
    Record,
    /// The beginning of a record at the end of the source (a torn write,
    /// or one still being written).
    Partial,
    /// Bytes that are no record by the framing (damage).
    Damaged,
}

/// One record as a source yields it.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    /// Byte offset of the record in the source's framing (for a database
    /// source: in the JSONL file its records make).
    pub offset: u64,
    /// 1-based line (JSONL), 0 for binary.
    pub line: u64,
    pub kind: SourceKind,
    /// The record: a JSONL line without its line feed, or a binary frame.
    pub bytes: Vec<u8>,
}

impl SourceRecord {
    /// Offset just past the record (a JSONL record's line feed included).
    pub fn end(&self, framing: Framing) -> u64 {
        let nl = u64::from(framing == Framing::Jsonl && self.kind == SourceKind::Record);
        self.offset + self.bytes.len() as u64 + nl
    }
}

/// A log's records in order, genesis first.
pub trait RecordSource {
    /// The framing of the records' bytes.
    fn framing(&self) -> Framing;
    /// What the report names (a file's path, a redacted database URL with
    /// the log id).
    fn name(&self) -> &Path;
    /// The next record, or `None` at the end.
    fn next_record(&mut self) -> Result<Option<SourceRecord>>;
    /// What the source found wrong with records it yielded that the chain
    /// check does not see (a database row whose query columns disagree
    /// with its hashed body), taken once after the last record: the first
    /// findings and how many more there were.
    fn take_findings(&mut self) -> (Vec<SourceFinding>, u64) {
        (Vec::new(), 0)
    }
}

/// A source's own finding about one record it yielded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFinding {
    /// The record's offset and line, as in its [`SourceRecord`].
    pub offset: u64,
    pub line: u64,
    pub seq: u64,
    pub message: String,
}

/// The records of a log file, read forward in chunks without a lock.
pub struct FileSource {
    path: PathBuf,
    framing: Framing,
    fwd: Forward<File>,
}

impl FileSource {
    /// Opens `path` and reads its records from the first (the genesis).
    pub fn open(path: impl AsRef<Path>) -> Result<FileSource> {
        FileSource::open_at(path, None)
    }

    /// Opens `path` and reads from `start` = (offset, line) of a record
    /// boundary found earlier (None: the file's first record).
    pub fn open_at(path: impl AsRef<Path>, start: Option<(u64, u64)>) -> Result<FileSource> {
        let path = path.as_ref().to_path_buf();
        let file = crate::storage::open_regular(&path, crate::storage::Access::Read, "open")?;
        let mut first = [0u8; crate::format::BINARY_HEADER_LEN];
        let n = crate::scan::ReadAt::read_full_at(&file, &mut first, 0)
            .map_err(|e| Error::io(&path, "read", e))?;
        let framing = Framing::detect(first.get(..n).unwrap_or_default()).ok_or_else(|| {
            Error::malformed(
                &path,
                crate::error::Position {
                    offset: 0,
                    line: 1,
                    seq: None,
                },
                "not an evident log (neither JSONL nor binary framing)",
            )
        })?;
        let start = start.unwrap_or((framing.data_start(), 1));
        FileSource::from_file(&path, file, framing, start)
    }

    /// Reads an open file from `start` = (offset, line) to its current end.
    pub(crate) fn from_file(
        path: &Path,
        file: File,
        framing: Framing,
        start: (u64, u64),
    ) -> Result<FileSource> {
        let len = file
            .metadata()
            .map_err(|e| Error::io(path, "stat", e))?
            .len();
        let (offset, line) = start;
        let line = if framing == Framing::Jsonl { line } else { 0 };
        let fwd = Forward::new(file, framing, offset, len, line);
        Ok(FileSource {
            path: path.to_path_buf(),
            framing,
            fwd,
        })
    }
}

impl RecordSource for FileSource {
    fn framing(&self) -> Framing {
        self.framing
    }
    fn name(&self) -> &Path {
        &self.path
    }
    fn next_record(&mut self) -> Result<Option<SourceRecord>> {
        match self.fwd.next_item() {
            None => Ok(None),
            Some(Err(e)) => Err(Error::io(&self.path, "read", e)),
            Some(Ok((item, line))) => Ok(Some(SourceRecord {
                offset: item.offset,
                line,
                kind: match item.kind {
                    SpanKind::Record => SourceKind::Record,
                    SpanKind::Partial => SourceKind::Partial,
                    SpanKind::Bad => SourceKind::Damaged,
                },
                bytes: item.bytes,
            })),
        }
    }
}
