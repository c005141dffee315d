//! Shipping a local log into PostgreSQL.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::Client;

use super::Target;
use crate::chain::{Chain, Hash, Key};
use crate::error::{Error, Position, Result};
use crate::format::{self, Framing, RecordKind};
use crate::source::{FileSource, RecordSource, SourceKind};

/// Options for [`ship`].
#[derive(Clone)]
#[non_exhaustive]
pub struct ShipOptions {
    /// The HMAC key of a keyed log: with it every record's hash is checked
    /// before it is shipped (without it, links and seqs only).
    pub key: Option<Key>,
    /// Records per transaction.
    pub batch: usize,
    /// Keep shipping as the log grows, and across rotation (the path
    /// naming a new file), until `stop` is set.
    pub follow: bool,
    /// How often `follow` looks for new records.
    pub poll: Duration,
    /// How long to keep reconnecting after the connection is lost.
    pub retry_for: Duration,
    /// Set to end `follow`.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for ShipOptions {
    fn default() -> Self {
        ShipOptions {
            key: None,
            batch: 20_000,
            follow: false,
            poll: Duration::from_millis(200),
            retry_for: Duration::from_secs(30),
            stop: None,
        }
    }
}

impl std::fmt::Debug for ShipOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShipOptions")
            .field("batch", &self.batch)
            .field("follow", &self.follow)
            .finish_non_exhaustive()
    }
}

/// What [`ship`] did for one log.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ShipReport {
    pub log_id: String,
    /// Records inserted now (the genesis counts).
    pub shipped: u64,
    /// Records the database already held (checked byte for byte at its head).
    pub already: u64,
    /// The database's head seq for this log afterwards.
    pub head_seq: u64,
}

/// Copies the records of the log at `path` that the database lacks into
/// it, in one transaction per batch. Resumable and idempotent: it starts
/// from the database's head for the log, checks that the local record at
/// that seq is byte-identical to the stored one, and inserts only what
/// follows. A local log that does not continue the database's chain (a
/// fork, a rewritten or truncated file) is refused: nothing is inserted,
/// the refusal is recorded in `evident.refusals`, and the error is
/// [`Error::Refused`]. Records that do not link to the one before them
/// locally (or fail their hash, when it can be checked) are not shipped
/// either ([`Error::Corrupt`], naming the file and entry). A torn or
/// in-flight record at the end of the file is left for later.
pub fn ship(path: impl AsRef<Path>, url: &str, opts: &ShipOptions) -> Result<Vec<ShipReport>> {
    let target = Target::parse(url)?;
    ship_to(path.as_ref(), &target, opts)
}

/// [`ship`] to a parsed target.
pub fn ship_to(path: &Path, target: &Target, opts: &ShipOptions) -> Result<Vec<ShipReport>> {
    let mut sh = Shipper {
        target: target.clone(),
        client: None,
        path: path.to_path_buf(),
        origin: super::origin(path),
        opts: opts.clone(),
        reports: Vec::new(),
    };
    sh.run()?;
    Ok(sh.reports)
}

struct Shipper {
    target: Target,
    client: Option<Client>,
    path: PathBuf,
    origin: String,
    opts: ShipOptions,
    reports: Vec<ShipReport>,
}

/// Where shipping of one file stands.
struct Cursor {
    file: File,
    ident: (u64, u64),
    framing: Framing,
    log_id: String,
    chain: Option<Chain>,
    /// Offset and line of the next record in the file.
    offset: u64,
    line: u64,
    /// Next expected seq and the hash it must name.
    next_seq: u64,
    prev: Hash,
    /// The database's head for this log (None: nothing yet).
    db_head: Option<u64>,
}

/// A record ready for the database.
struct Row {
    seq: u64,
    hash: Hash,
    body: Vec<u8>,
}

fn retryable(e: &postgres::Error) -> bool {
    match e.as_db_error() {
        None => true,
        // connection exceptions, operator intervention (shutdown, restart)
        Some(db) => {
            let c = db.code().code();
            c.starts_with("08") || c.starts_with("57")
        }
    }
}

enum Fail {
    /// Worth reconnecting (the connection or server went away).
    Retry(Error),
    Fatal(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Fatal(e)
    }
}

type FResult<T> = std::result::Result<T, Fail>;

impl Shipper {
    fn db(&self, what: &str, e: postgres::Error) -> Fail {
        if retryable(&e) {
            Fail::Retry(self.target.err(what, e))
        } else {
            Fail::Fatal(self.target.err(what, e))
        }
    }

    fn client(&mut self) -> FResult<&mut Client> {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            self.client = None;
            let c = match self.target.connect_pg()? {
                Ok(mut c) => match super::migrate(&self.target, &mut c) {
                    Ok(_) => c,
                    Err(e) => return Err(Fail::Fatal(e)),
                },
                Err(e) => return Err(self.db("cannot connect", e)),
            };
            self.client = Some(c);
        }
        match self.client.as_mut() {
            Some(c) => Ok(c),
            None => Err(Fail::Fatal(Error::InvalidArgument("no connection".into()))),
        }
    }

    fn stopped(&self) -> bool {
        self.opts
            .stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }

    fn run(&mut self) -> Result<()> {
        let mut cursor: Option<Cursor> = None;
        let mut lost_since: Option<Instant> = None;
        loop {
            match self.pass(&mut cursor) {
                Ok(()) => lost_since = None,
                Err(Fail::Fatal(e)) => return Err(e),
                Err(Fail::Retry(e)) => {
                    // Start over from the database's head on a new connection.
                    self.client = None;
                    cursor = None;
                    let since = *lost_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= self.opts.retry_for || self.stopped() {
                        return Err(e);
                    }
                    std::thread::sleep(Duration::from_millis(250));
                    continue;
                }
            }
            if !self.opts.follow || self.stopped() {
                return Ok(());
            }
            std::thread::sleep(self.opts.poll);
            if self.stopped() {
                return Ok(());
            }
            // Rotation: the path now names another file. The old one was
            // read to its end by the pass; start on the new one.
            if let Some(c) = &cursor {
                let now = crate::sys::path_id(&self.path).ok();
                if now.is_some_and(|n| n != c.ident) {
                    // Drain whatever the old file got since the last pass.
                    match self.pass(&mut cursor) {
                        Ok(()) | Err(Fail::Retry(_)) => {}
                        Err(Fail::Fatal(e)) => return Err(e),
                    }
                    cursor = None;
                }
            }
        }
    }

    fn open_cursor(&mut self) -> FResult<Option<Cursor>> {
        let file =
            match crate::storage::open_regular(&self.path, crate::storage::Access::Read, "open") {
                Ok(f) => f,
                // Following a log that is being rotated in: wait for it.
                Err(Error::Io { source, .. })
                    if self.opts.follow && source.kind() == std::io::ErrorKind::NotFound =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(e.into()),
            };
        let meta = file
            .metadata()
            .map_err(|e| Error::io(&self.path, "stat", e))?;
        let ident = crate::sys::file_id(&file).map_err(|e| Error::io(&self.path, "stat", e))?;
        let gi = match crate::log::read_genesis(&self.path, &file, meta.len()) {
            Ok(g) => g,
            // A new file whose genesis is not written yet, while following.
            Err(Error::Malformed { .. }) if self.opts.follow => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let chain = match (&self.opts.key, gi.genesis.alg.is_keyed()) {
            (None, true) => None,
            (key, _) => Some(crate::log::chain_for(
                &self.path,
                &gi.genesis,
                key.as_ref(),
            )?),
        };
        let log_id = gi.genesis.log_id.clone();
        let client = self.client()?;
        let row = client.query_opt(
            "SELECT seq FROM evident.records WHERE log_id = $1 ORDER BY seq DESC LIMIT 1",
            &[&log_id],
        );
        let db_head = match row {
            Ok(r) => r.map(|r| r.get::<_, i64>(0) as u64),
            Err(e) => return Err(self.db("reading the head", e)),
        };
        self.reports.push(ShipReport {
            log_id: log_id.clone(),
            head_seq: db_head.unwrap_or(0),
            ..ShipReport::default()
        });
        Ok(Some(Cursor {
            file,
            ident,
            framing: gi.framing,
            log_id,
            chain,
            offset: gi.framing.data_start(),
            line: 1,
            next_seq: 0,
            prev: Hash::zero(gi.genesis.alg.hash_len()),
            db_head,
        }))
    }

    /// Ships what the file holds beyond the cursor.
    fn pass(&mut self, cursor: &mut Option<Cursor>) -> FResult<()> {
        if cursor.is_none() {
            *cursor = self.open_cursor()?;
        }
        let Some(c) = cursor.as_mut() else {
            return Ok(());
        };
        let file = c
            .file
            .try_clone()
            .map_err(|e| Error::io(&self.path, "open", e))?;
        let mut src = FileSource::from_file(&self.path, file, c.framing, (c.offset, c.line))?;
        let mut batch: Vec<Row> = Vec::new();
        let mut pending_end = (c.offset, c.line);
        while let Some(r) = src.next_record()? {
            let at = Position {
                offset: r.offset,
                line: r.line,
                seq: None,
            };
            match r.kind {
                // Being written, or torn: left for a later pass / repair.
                SourceKind::Partial => break,
                SourceKind::Damaged => {
                    return Err(Error::malformed(
                        &self.path,
                        at,
                        "damaged bytes, no valid record: not shipped (run `evident verify`)",
                    )
                    .into())
                }
                SourceKind::Record => {}
            }
            let p = format::parse(c.framing, &r.bytes)
                .map_err(|d| Error::malformed(&self.path, at, d.0))?;
            let at = Position {
                seq: Some(p.seq),
                ..at
            };
            let corrupt = |msg: String| {
                Fail::Fatal(Error::Corrupt {
                    path: self.path.clone(),
                    at,
                    msg: format!("{msg}: not shipped (run `evident verify`)"),
                })
            };
            if p.seq != c.next_seq {
                return Err(corrupt(format!(
                    "seq {} follows seq {}",
                    p.seq,
                    c.next_seq.wrapping_sub(1)
                )));
            }
            if p.prev != c.prev {
                return Err(corrupt("\"prev\" is not the previous record's hash".into()));
            }
            if (p.seq == 0) != (p.kind == RecordKind::Genesis) {
                return Err(corrupt(
                    "a genesis record after the start of the log".into(),
                ));
            }
            if let Some(chain) = &c.chain {
                if p.raw.compute_hash(chain) != p.raw.hash {
                    return Err(corrupt("stored hash is not the hash of the record".into()));
                }
            }
            let row = Row {
                seq: p.seq,
                hash: p.raw.hash,
                body: p.raw.body(),
            };
            c.next_seq = p.seq + 1;
            c.prev = p.raw.hash;
            let end = (
                r.end(c.framing),
                r.line + u64::from(c.framing == Framing::Jsonl),
            );
            if c.db_head.is_some_and(|h| row.seq < h) {
                // Linked to the record at the head, which is compared.
                c.offset = end.0;
                c.line = end.1;
                pending_end = end;
                if let Some(rep) = self.reports.last_mut() {
                    rep.already += 1;
                }
                continue;
            }
            batch.push(row);
            pending_end = end;
            if batch.len() >= self.opts.batch.max(1) {
                self.send(c, &mut batch)?;
                c.offset = pending_end.0;
                c.line = pending_end.1;
            }
        }
        if !batch.is_empty() {
            self.send(c, &mut batch)?;
        }
        c.offset = pending_end.0;
        c.line = pending_end.1;
        // The local file must reach the database's head.
        if let Some(h) = c.db_head {
            if c.next_seq <= h {
                let seq = c.next_seq.saturating_sub(1);
                return Err(self.refuse(
                    c,
                    seq,
                    None,
                    None,
                    format!(
                        "the local log ends at entry {seq} but the database holds this log up to entry {h}: the local file was truncated or rewritten"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Records a refusal (best effort) and returns the error.
    fn refuse(
        &mut self,
        c: &Cursor,
        seq: u64,
        local: Option<&Hash>,
        db: Option<&[u8]>,
        reason: String,
    ) -> Fail {
        let origin = self.origin.clone();
        let local = local.map(|h| h.as_bytes().to_vec());
        let db = db.map(<[u8]>::to_vec);
        let recorded = match self.client() {
            Ok(client) => client
                .execute(
                    "INSERT INTO evident.refusals (log_id, seq, local_hash, db_hash, origin, reason) VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&c.log_id, &(seq as i64), &local, &db, &origin, &reason],
                )
                .is_ok(),
            Err(_) => false,
        };
        Fail::Fatal(Error::Refused {
            target: self.target.redacted().to_string(),
            log_id: c.log_id.clone(),
            seq,
            msg: format!(
                "{reason}; nothing was inserted{} (local file {})",
                if recorded {
                    ", the refusal is recorded in evident.refusals"
                } else {
                    ""
                },
                self.path.display()
            ),
        })
    }

    /// One transaction: lock the log, read its head, compare the overlap
    /// byte for byte, COPY the rest.
    fn send(&mut self, c: &mut Cursor, batch: &mut Vec<Row>) -> FResult<()> {
        let Some(first) = batch.first().map(|r| r.seq) else {
            return Ok(());
        };
        let last = batch.last().map_or(first, |r| r.seq);
        let log_id = c.log_id.clone();
        let target = self.target.clone();
        let dberr = |what: &str, e: postgres::Error| {
            if retryable(&e) {
                Fail::Retry(target.err(what, e))
            } else {
                Fail::Fatal(target.err(what, e))
            }
        };
        let client = self.client()?;
        let mut tx = client.transaction().map_err(|e| dberr("begin", e))?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 7310268657430716417))",
            &[&log_id],
        )
        .map_err(|e| dberr("locking the log", e))?;
        let head: Option<i64> = tx
            .query_one(
                "SELECT max(seq) FROM evident.records WHERE log_id = $1",
                &[&log_id],
            )
            .map_err(|e| dberr("reading the head", e))?
            .get(0);
        let head = head.map(|h| h as u64);
        // Rows the database already holds (this batch's overlap with its
        // head, after a restart or another shipper): must be identical.
        let mut mismatch = None;
        if let Some(h) = head.filter(|h| *h >= first) {
            let upto = h.min(last);
            let rows = tx
                .query(
                    "SELECT seq, body, hash FROM evident.records WHERE log_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq",
                    &[&log_id, &(first as i64), &(upto as i64)],
                )
                .map_err(|e| dberr("reading stored records", e))?;
            for (row, db) in batch.iter().zip(rows.iter()) {
                let seq = db.get::<_, i64>(0) as u64;
                let body: &[u8] = db.get(1);
                let hash: &[u8] = db.get(2);
                if seq != row.seq || body != row.body || hash != row.hash.as_bytes() {
                    mismatch = Some((row.seq, row.hash, hash.to_vec()));
                    break;
                }
            }
            if mismatch.is_none() && rows.len() as u64 != upto - first + 1 {
                mismatch = Some((first, batch[0].hash, Vec::new()));
            }
        } else if head.map_or(0, |h| h + 1) != first {
            let have = head.map_or("nothing".to_string(), |h| format!("entries up to {h}"));
            drop(tx);
            return Err(self.refuse(
                c,
                first,
                None,
                None,
                format!("the database holds {have} of this log, and this batch starts at entry {first}: the records between are missing there"),
            ));
        }
        if let Some((seq, local, db)) = mismatch {
            drop(tx);
            return Err(self.refuse(
                c,
                seq,
                Some(&local),
                Some(&db),
                format!("entry {seq} differs from the database's copy (hash {} there, {} here): the local log is a fork or was rewritten", hex::encode(&db), local.to_hex()),
            ));
        }
        let skip = head.map_or(0, |h| (h + 1).saturating_sub(first)) as usize;
        let new = batch.get(skip..).unwrap_or_default();
        if !new.is_empty() {
            let mut buf = Vec::with_capacity(new.len() * 512);
            for r in new {
                encode_row(&mut buf, &log_id, r);
            }
            let mut w = tx
                .copy_in(
                    "COPY evident.records (log_id, seq, kind, body, hash, ts, event_type, action, actor, host, session_id, source, success, duration_ms, details) FROM STDIN",
                )
                .map_err(|e| dberr("starting COPY", e))?;
            if let Err(e) = w.write_all(&buf) {
                return Err(Fail::Retry(Error::Database {
                    target: target.redacted().to_string(),
                    msg: format!("COPY: {e}"),
                }));
            }
            w.finish().map_err(|e| dberr("COPY", e))?;
        }
        tx.commit().map_err(|e| dberr("commit", e))?;
        let n = new.len() as u64;
        if let Some(rep) = self.reports.last_mut() {
            rep.shipped += n;
            rep.already += skip as u64;
            rep.head_seq = last;
        }
        c.db_head = Some(last);
        batch.clear();
        Ok(())
    }
}

/// COPY text format: one row.
fn encode_row(out: &mut Vec<u8>, log_id: &str, r: &Row) {
    let text = |out: &mut Vec<u8>, s: &str| {
        for ch in s.chars() {
            match ch {
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\0' => out.extend_from_slice("\u{FFFD}".as_bytes()),
                c => {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
    };
    let bytea = |out: &mut Vec<u8>, b: &[u8]| {
        out.extend_from_slice(b"\\\\x");
        let start = out.len();
        out.resize(start + b.len() * 2, 0);
        if let Some(dst) = out.get_mut(start..) {
            let _ = hex::encode_to_slice(b, dst);
        }
    };
    const NULL: &[u8] = b"\\N";
    text(out, log_id);
    out.push(b'\t');
    out.extend_from_slice(r.seq.to_string().as_bytes());
    out.push(b'\t');
    // Decode the typed columns from the body (the exact bytes stay in `body`).
    let mut line = Vec::with_capacity(r.body.len() + 140);
    format::frame(&mut line, Framing::Jsonl, &r.body, &r.hash);
    line.pop();
    let p = format::parse(Framing::Jsonl, &line).ok();
    let kind = match p.as_ref().map(|p| &p.kind) {
        Some(RecordKind::Genesis) => "genesis".to_string(),
        Some(RecordKind::Entry) => "entry".to_string(),
        Some(RecordKind::Other(k)) => k.clone(),
        None => "unknown".to_string(),
    };
    text(out, &kind);
    out.push(b'\t');
    bytea(out, &r.body);
    out.push(b'\t');
    bytea(out, r.hash.as_bytes());
    let entry = p.as_ref().and_then(|p| format::decode_entry(p).ok());
    let ts_ok = |ts: &chrono::DateTime<chrono::Utc>| {
        use chrono::Datelike;
        ts.year() >= 1
    };
    let genesis_ts = if entry.is_none() {
        p.as_ref()
            .and_then(|p| format::decode_genesis(p).ok())
            .map(|g| g.ts)
    } else {
        None
    };
    let ts = entry.as_ref().map(|e| e.ts).or(genesis_ts).filter(ts_ok);
    out.push(b'\t');
    match ts {
        Some(ts) => out.extend_from_slice(format::format_ts(&ts).as_bytes()),
        None => out.extend_from_slice(NULL),
    }
    match &entry {
        Some(e) => {
            for s in [
                &e.event_type,
                &e.action,
                &e.actor,
                &e.host,
                &e.session_id,
                &e.source,
            ] {
                out.push(b'\t');
                text(out, s);
            }
            out.push(b'\t');
            match e.success {
                Some(true) => out.push(b't'),
                Some(false) => out.push(b'f'),
                None => out.extend_from_slice(NULL),
            }
            out.push(b'\t');
            match e.duration_ms.filter(|d| d.is_finite()) {
                Some(d) => out.extend_from_slice(format!("{d:?}").as_bytes()),
                None => out.extend_from_slice(NULL),
            }
            out.push(b'\t');
            let details = serde_json::to_string(&e.details).unwrap_or_default();
            // jsonb refuses \u0000; the exact text stays in `body`.
            if details.is_empty() || details.contains("\\u0000") {
                out.extend_from_slice(NULL);
            } else {
                text(out, &details);
            }
        }
        None => {
            for _ in 0..9 {
                out.push(b'\t');
                out.extend_from_slice(NULL);
            }
        }
    }
    out.push(b'\n');
}
