//! The database as a record source: verify and cross-check.

use std::path::{Path, PathBuf};

use postgres::Client;

use super::{columns, Target};
use crate::error::Result;
use crate::format::Framing;
use crate::source::{FileSource, RecordSource, SourceFinding, SourceKind, SourceRecord};
use crate::verify::{verify_source, VerifyOptions, VerifyReport};

/// A stored record: (seq, body, hash).
pub type StoredRecord = (u64, Vec<u8>, Vec<u8>);

/// Rows fetched per round trip.
const PAGE: i64 = 10_000;

/// Findings kept (the rest are counted).
const MAX_FINDINGS: usize = 1000;

/// One log's records in the database, in seq order, each rendered as the
/// JSONL line its stored body and hash make (exactly the line a JSONL log
/// holds). Fetched page by page on the primary key: memory is bounded by
/// one page, whatever the size of the log.
pub struct DbSource<'c> {
    client: &'c mut Client,
    target: Target,
    log_id: String,
    name: PathBuf,
    page: std::vec::IntoIter<(StoredRecord, columns::StoredColumns)>,
    after: i64,
    done: bool,
    offset: u64,
    line: u64,
    /// The last row's typed columns (checked by `next_record` against the
    /// line it makes of the body).
    pending: Option<columns::StoredColumns>,
    findings: Vec<SourceFinding>,
    more_findings: u64,
}

impl<'c> DbSource<'c> {
    /// The records of `log_id`.
    pub fn new(client: &'c mut Client, target: &Target, log_id: &str) -> DbSource<'c> {
        let target = target.with_log_id(Some(log_id.to_string()));
        DbSource {
            client,
            name: target.name(),
            target,
            log_id: log_id.to_string(),
            page: Vec::new().into_iter(),
            after: -1,
            done: false,
            offset: 0,
            line: 1,
            pending: None,
            findings: Vec::new(),
            more_findings: 0,
        }
    }

    /// The next stored (seq, body, hash).
    pub fn next_row(&mut self) -> Result<Option<StoredRecord>> {
        loop {
            if let Some((r, stored)) = self.page.next() {
                self.pending = Some(stored);
                return Ok(Some(r));
            }
            if self.done {
                return Ok(None);
            }
            // The page must come from the primary key in order: without
            // statistics (a table just filled by a shipment, before
            // autovacuum's ANALYZE) the planner estimates a few rows and
            // sorts every remaining row of the log for each page, which
            // makes a whole-log read quadratic. Sorting and bitmap scans
            // are turned off for this one statement's transaction.
            let mut tx = self
                .client
                .transaction()
                .map_err(|e| self.target.err("reading records", e))?;
            tx.batch_execute("SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off")
                .map_err(|e| self.target.err("reading records", e))?;
            let rows = tx
                .query(
                    &format!(
                        "SELECT seq, body, hash, {} FROM evident.records WHERE log_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                        columns::SELECT
                    ),
                    &[&self.log_id, &self.after, &PAGE],
                )
                .map_err(|e| self.target.err("reading records", e))?;
            tx.commit()
                .map_err(|e| self.target.err("reading records", e))?;
            self.done = (rows.len() as i64) < PAGE;
            let mut page = Vec::with_capacity(rows.len());
            for r in &rows {
                let get = || -> std::result::Result<_, postgres::Error> {
                    let seq: i64 = r.try_get(0)?;
                    let stored = columns::StoredColumns::get(r, 3)?;
                    Ok((
                        seq,
                        r.try_get::<_, Vec<u8>>(1)?,
                        r.try_get::<_, Vec<u8>>(2)?,
                        stored,
                    ))
                };
                let (seq, body, hash, stored) =
                    get().map_err(|e| self.target.err("reading records", e))?;
                page.push(((seq as u64, body, hash), stored));
            }
            if let Some(last) = page.last() {
                self.after = last.0 .0 as i64;
            }
            self.page = page.into_iter();
        }
    }
}

/// Where a row's typed columns disagree with its body (`None` also when
/// the body is no record: verify reports that).
fn row_disagreement(line: &[u8], stored: &columns::StoredColumns) -> Option<String> {
    let p = crate::format::parse(Framing::Jsonl, line).ok()?;
    columns::disagreement(&columns::columns(&p), stored)
}

/// The JSONL line of a stored body and hash. Bytes that could not have
/// come from a record (a body not ending in `}`, a hash of another length)
/// are rendered as they are, so that verify reports them as malformed.
pub(super) fn jsonl_line(body: &[u8], hash: &[u8]) -> Vec<u8> {
    let mut line = Vec::with_capacity(body.len() + 10 + hash.len() * 2);
    match body.split_last() {
        Some((b'}', head)) => line.extend_from_slice(head),
        _ => line.extend_from_slice(body),
    }
    line.extend_from_slice(b",\"hash\":\"");
    line.extend_from_slice(hex::encode(hash).as_bytes());
    line.extend_from_slice(b"\"}");
    line
}

impl RecordSource for DbSource<'_> {
    fn framing(&self) -> Framing {
        Framing::Jsonl
    }
    fn name(&self) -> &Path {
        &self.name
    }
    fn next_record(&mut self) -> Result<Option<SourceRecord>> {
        let Some((seq, body, hash)) = self.next_row()? else {
            return Ok(None);
        };
        let bytes = jsonl_line(&body, &hash);
        let disagreement = self
            .pending
            .take()
            .and_then(|stored| row_disagreement(&bytes, &stored));
        let r = SourceRecord {
            offset: self.offset,
            line: self.line,
            kind: SourceKind::Record,
            bytes,
        };
        if let Some(message) = disagreement {
            if self.findings.len() < MAX_FINDINGS {
                self.findings.push(SourceFinding {
                    offset: r.offset,
                    line: r.line,
                    seq,
                    message,
                });
            } else {
                self.more_findings += 1;
            }
        }
        self.offset = r.end(Framing::Jsonl);
        self.line += 1;
        Ok(Some(r))
    }
    fn take_findings(&mut self) -> (Vec<SourceFinding>, u64) {
        (
            std::mem::take(&mut self.findings),
            std::mem::take(&mut self.more_findings),
        )
    }
}

/// Verifies every log in the database (or the one the URL's `log_id=`
/// names) with the file verifier's chain check; one report per log, in
/// log id order. Reports name the database (redacted) and the log id;
/// offsets and lines are those of the JSONL file the stored records make.
pub fn verify_db(url: &str, opts: &VerifyOptions) -> Result<Vec<VerifyReport>> {
    let target = Target::parse(url)?;
    let mut client = target.connect()?;
    let ids = super::log_ids(&target, &mut client)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        // The rows stored under a log id hold that log: a genesis of
        // another log under it (ids swapped or rows relabelled in the
        // database) is a `wrong_log_id` finding.
        let mut o = opts.clone();
        if o.expected_log_id.is_none() {
            o.expected_log_id = Some(id.clone());
        }
        let mut src = DbSource::new(&mut client, &target, &id);
        out.push(verify_source(&mut src, &o)?);
    }
    Ok(out)
}

/// How a local log and its database copy compare.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CrossCheck {
    pub log_id: String,
    /// Records present in both and identical (body and hash).
    pub same: u64,
    /// The first seq whose records differ.
    pub first_difference: Option<u64>,
    /// Records only in the file (not shipped yet) / only in the database.
    pub only_local: u64,
    pub only_db: u64,
}

/// Compares the log at `path` with its copy in the database, record by
/// record (body and hash), streaming both.
pub fn cross_check(path: impl AsRef<Path>, url: &str) -> Result<CrossCheck> {
    let path = path.as_ref();
    let target = Target::parse(url)?;
    let mut client = target.connect()?;
    let mut file = FileSource::open(path)?;
    let framing = file.framing();
    let mut next_local = || -> Result<Option<StoredRecord>> {
        match file.next_record()? {
            Some(r) if r.kind == SourceKind::Record => {
                let at = crate::error::Position {
                    offset: r.offset,
                    line: r.line,
                    seq: None,
                };
                let p = crate::format::parse(framing, &r.bytes)
                    .map_err(|d| crate::error::Error::malformed(path, at, d.0))?;
                Ok(Some((p.seq, p.raw.body(), p.raw.hash.as_bytes().to_vec())))
            }
            _ => Ok(None),
        }
    };
    let first = next_local()?;
    let log_id = match &first {
        Some((_, body, hash)) => {
            let line = jsonl_line(body, hash);
            crate::format::parse(Framing::Jsonl, &line)
                .ok()
                .and_then(|p| crate::format::decode_genesis(&p).ok())
                .map(|g| g.log_id)
                .unwrap_or_default()
        }
        None => String::new(),
    };
    let mut db = DbSource::new(&mut client, &target, &log_id);
    let mut cc = CrossCheck {
        log_id: log_id.clone(),
        same: 0,
        first_difference: None,
        only_local: 0,
        only_db: 0,
    };
    let mut local = first;
    loop {
        let remote = db.next_row()?;
        match (local.take(), remote) {
            (None, None) => break,
            (Some(_), None) => cc.only_local += 1,
            (None, Some(_)) => cc.only_db += 1,
            (Some(l), Some(r)) => {
                if l == r {
                    cc.same += 1;
                } else if cc.first_difference.is_none() {
                    cc.first_difference = Some(l.0.min(r.0));
                }
            }
        }
        local = next_local()?;
    }
    Ok(cc)
}
