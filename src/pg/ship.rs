//! Shipping a local log into PostgreSQL.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
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
    /// Whether every record's hash was checked before it was shipped:
    /// false for a keyed log shipped without its key (links and seqs only;
    /// check the database copy with the key).
    pub hashes_checked: bool,
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

fn retryable(e: &postgres::Error) -> bool {
    match e.as_db_error() {
        // A certificate refused now is refused on every try.
        None => !super::certificate_refused(e),
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
    /// The database moved on since the cursor read its head (another
    /// shipper): start over from the database's head.
    Resync,
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
                Err(Fail::Resync) => {
                    cursor = None;
                    continue;
                }
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
                        Ok(()) | Err(Fail::Retry(_)) | Err(Fail::Resync) => {}
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
            hashes_checked: chain.is_some(),
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

    /// Ships what the file holds beyond the cursor. Records the database
    /// already holds are read and linked locally; the one at the
    /// database's head is compared with the stored copy byte for byte
    /// (once per cursor: after a start, a reconnect or a rotation), and
    /// the records after it are streamed into one binary `COPY` per batch
    /// while the file is read, so reading and the server's work overlap.
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
        let src = FileSource::from_file(&self.path, file, c.framing, (c.offset, c.line))?;
        let mut rd = Reader {
            src,
            path: self.path.clone(),
            c,
        };
        while let Some(row) = rd.next_row()? {
            let head = rd.c.db_head;
            if head.is_some_and(|h| row.seq < h) {
                // Linked to the record at the head, which is compared.
                rd.advance(&row);
                if let Some(rep) = self.reports.last_mut() {
                    rep.already += 1;
                }
                continue;
            }
            if head == Some(row.seq) {
                self.compare_head(rd.c, &row)?;
                rd.advance(&row);
                if let Some(rep) = self.reports.last_mut() {
                    rep.already += 1;
                }
                continue;
            }
            self.send(&mut rd, row)?;
        }
        let c = rd.c;
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

    /// The local record at the database's head must be the stored one.
    fn compare_head(&mut self, c: &Cursor, row: &Row) -> FResult<()> {
        let p = row.parsed(&self.path)?;
        let body = p.raw.body();
        let hash = p.raw.hash;
        let got = {
            let client = self.client()?;
            client.query_opt(
                "SELECT body, hash FROM evident.records WHERE log_id = $1 AND seq = $2",
                &[&c.log_id, &(row.seq as i64)],
            )
        };
        let stored = match got {
            Ok(r) => r.map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, Vec<u8>>(1))),
            Err(e) => return Err(self.db("reading the stored head", e)),
        };
        match stored {
            Some((b, h)) if b == body && h == hash.as_bytes() => Ok(()),
            other => {
                let db = other.map(|x| x.1).unwrap_or_default();
                let seq = row.seq;
                Err(self.refuse(
                    c,
                    seq,
                    Some(&hash),
                    Some(&db),
                    format!("entry {seq} differs from the database's copy (hash {} there, {} here): the local log is a fork or was rewritten", hex::encode(&db), hash.to_hex()),
                ))
            }
        }
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

    /// One transaction: lock the log, check that the database's head is
    /// the record before `first`, and stream `first` and the records that
    /// follow it in the file (up to a batch) into a binary `COPY`. A local
    /// record that cannot be shipped ends the batch: what was streamed
    /// before it is committed, then its error is returned.
    fn send(&mut self, rd: &mut Reader<'_>, first: Row) -> FResult<()> {
        let log_id = rd.c.log_id.clone();
        let target = self.target.clone();
        let dberr = |what: &str, e: postgres::Error| {
            if retryable(&e) {
                Fail::Retry(target.err(what, e))
            } else {
                Fail::Fatal(target.err(what, e))
            }
        };
        let batch = self.opts.batch.max(1);
        let path = self.path.clone();
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
        let want = head.map_or(0, |h| h + 1);
        if want != first.seq {
            drop(tx);
            if want > first.seq {
                // Another shipper got further since the cursor read the
                // head: start over from the database's head.
                return Err(Fail::Resync);
            }
            let have = head.map_or("nothing".to_string(), |h| format!("entries up to {h}"));
            let seq = first.seq;
            return Err(self.refuse(
                rd.c,
                seq,
                None,
                None,
                format!("the database holds {have} of this log, and this batch starts at entry {seq}: the records between are missing there"),
            ));
        }
        let w = tx
            .copy_in(
                "COPY evident.records (log_id, seq, kind, body, hash, ts, event_type, action, actor, host, session_id, source, success, duration_ms, details) FROM STDIN (FORMAT binary)",
            )
            .map_err(|e| dberr("starting COPY", e))?;
        let mut w = BinaryCopyInWriter::new(w, COLUMNS);
        let mut n = 0u64;
        let mut last = (first.seq, first.end);
        let mut local_err = None;
        let mut row = Some(first);
        while let Some(r) = row.take() {
            match write_row(&mut w, &log_id, &r, &path) {
                Ok(()) => {}
                Err(RowErr::Local(e)) => return Err(Fail::Fatal(e)),
                Err(RowErr::Db(e)) => return Err(dberr("COPY", e)),
            }
            n += 1;
            last = (r.seq, r.end);
            if n >= batch as u64 {
                break;
            }
            match rd.next_row() {
                Ok(next) => row = next,
                Err(e) => local_err = Some(e),
            }
        }
        w.finish().map_err(|e| dberr("COPY", e))?;
        tx.commit().map_err(|e| dberr("commit", e))?;
        rd.c.next_seq = last.0 + 1;
        rd.c.offset = last.1 .0;
        rd.c.line = last.1 .1;
        rd.c.db_head = Some(last.0);
        if let Some(rep) = self.reports.last_mut() {
            rep.shipped += n;
            rep.head_seq = last.0;
        }
        match local_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The columns of [`COLUMNS`]' COPY, in order.
const COLUMNS: &[Type] = &[
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::BYTEA,
    Type::BYTEA,
    Type::TIMESTAMPTZ,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::BOOL,
    Type::FLOAT8,
    Type::JSONB,
];

/// A local record that links to the one before it, with where it ends.
struct Row {
    seq: u64,
    framing: Framing,
    bytes: Vec<u8>,
    offset: u64,
    line: u64,
    /// (offset, line) just past it.
    end: (u64, u64),
}

impl Row {
    fn parsed(&self, path: &Path) -> Result<format::Parsed<'_>> {
        let at = Position {
            offset: self.offset,
            line: self.line,
            seq: Some(self.seq),
        };
        format::parse_fast(self.framing, &self.bytes).map_err(|d| Error::malformed(path, at, d.0))
    }
}

/// Reads a log's records from the cursor on and checks that each links
/// to the one before it (and, when it can, its hash).
struct Reader<'a> {
    src: FileSource,
    path: PathBuf,
    c: &'a mut Cursor,
}

impl Reader<'_> {
    /// The next complete record; `None` at the end of the file or at a
    /// record being written (or torn: left for a later pass or repair); an
    /// error at a changed last record.
    fn next_row(&mut self) -> FResult<Option<Row>> {
        let Some(r) = self.src.next_record()? else {
            return Ok(None);
        };
        let path = self.path.as_path();
        let at = Position {
            offset: r.offset,
            line: r.line,
            seq: None,
        };
        match r.kind {
            // A record cut short (torn, or being written: the file grew
            // since) waits for a later pass or `repair`; anything else at
            // the end is a record that fails its check (spec § 9.5).
            SourceKind::Partial => {
                let end = r.offset + r.bytes.len() as u64;
                if crate::tail::may_be_cut_short(self.c.framing, &r.bytes, r.offset)
                    || std::fs::metadata(path).is_ok_and(|m| m.len() > end)
                {
                    return Ok(None);
                }
                let msg = format!(
                    "{}: not shipped (run `evident verify`)",
                    crate::tail::CHANGED_END
                );
                return Err(Error::malformed(path, at, msg).into());
            }
            SourceKind::Damaged => {
                return Err(Error::malformed(
                    path,
                    at,
                    "damaged bytes, no valid record: not shipped (run `evident verify`)",
                )
                .into())
            }
            SourceKind::Record => {}
        }
        let c = &mut *self.c;
        let end = (
            r.end(c.framing),
            r.line + u64::from(c.framing == Framing::Jsonl),
        );
        let p =
            format::parse_fast(c.framing, &r.bytes).map_err(|d| Error::malformed(path, at, d.0))?;
        let at = Position {
            seq: Some(p.seq),
            ..at
        };
        let corrupt = |msg: String| {
            Fail::Fatal(Error::Corrupt {
                path: path.to_path_buf(),
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
        let seq = p.seq;
        c.next_seq = seq + 1;
        c.prev = p.raw.hash;
        Ok(Some(Row {
            seq,
            framing: c.framing,
            offset: r.offset,
            line: r.line,
            bytes: r.bytes,
            end,
        }))
    }

    /// A record the database already holds: the cursor moves past it.
    fn advance(&mut self, row: &Row) {
        self.c.offset = row.end.0;
        self.c.line = row.end.1;
    }
}

enum RowErr {
    Local(Error),
    Db(postgres::Error),
}

/// Writes one record as a row of the binary COPY.
fn write_row(
    w: &mut BinaryCopyInWriter<'_>,
    log_id: &str,
    r: &Row,
    path: &Path,
) -> std::result::Result<(), RowErr> {
    let p = r.parsed(path).map_err(RowErr::Local)?;
    let body = p.raw.body();
    let seq = r.seq as i64;
    let c = super::columns::columns(&p);
    let details = c.details.map(postgres::types::Json);
    w.write(&[
        &log_id,
        &seq,
        &c.kind,
        &body,
        &p.raw.hash.as_bytes(),
        &c.ts,
        &c.event_type.as_deref(),
        &c.action.as_deref(),
        &c.actor.as_deref(),
        &c.host.as_deref(),
        &c.session_id.as_deref(),
        &c.source.as_deref(),
        &c.success,
        &c.duration_ms,
        &details,
    ])
    .map_err(RowErr::Db)
}
