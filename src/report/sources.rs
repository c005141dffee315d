//! Entries of a [`RecordSource`] for reports and reproduction scripts: the
//! same reader for a log file and for the logs shipped to PostgreSQL
//! (`postgres://…` inputs, `?log_id=` for one log).

use std::path::Path;

use crate::error::{Error, Position, Result};
use crate::format::{self, Entry, RecordKind};
use crate::query::Query;
use crate::source::{RecordSource, SourceKind};

/// Appends the entries of `src` matching `q` (filters only: order and
/// limit are the caller's) to `out`. The genesis record (the first) and
/// record kinds of later versions are not entries; a genesis after the
/// first record is damage; a torn record at the end is skipped (as
/// a file query skips it); damaged bytes, an undecodable record or a
/// changed last record are an error naming the source and the record's
/// position.
pub fn source_entries(src: &mut dyn RecordSource, q: &Query, out: &mut Vec<Entry>) -> Result<()> {
    let framing = src.framing();
    let mut first = true;
    while let Some(r) = src.next_record()? {
        let at = Position {
            offset: r.offset,
            line: r.line,
            seq: None,
        };
        match r.kind {
            SourceKind::Partial if crate::tail::may_be_cut_short(framing, &r.bytes, r.offset) => {
                continue
            }
            SourceKind::Partial => {
                return Err(Error::malformed(src.name(), at, crate::tail::CHANGED_END))
            }
            SourceKind::Damaged => {
                return Err(Error::malformed(
                    src.name(),
                    at,
                    "damaged bytes, no valid record",
                ))
            }
            SourceKind::Record => {}
        }
        let p =
            format::parse(framing, &r.bytes).map_err(|d| Error::malformed(src.name(), at, d.0))?;
        match p.kind {
            RecordKind::Entry => {}
            // The source's first record is its genesis; another is a
            // second log spliced in: damage, never entries of this log.
            RecordKind::Genesis if !first => {
                return Err(Error::malformed(
                    src.name(),
                    at,
                    crate::query::GENESIS_AFTER_START,
                ))
            }
            _ => {
                first = false;
                continue;
            }
        }
        first = false;
        let at = Position {
            seq: Some(p.seq),
            ..at
        };
        let e = format::decode_entry(&p).map_err(|d| Error::malformed(src.name(), at, d.0))?;
        if q.matches(&e) {
            out.push(e);
        }
    }
    Ok(())
}

/// Whether an input names a database rather than a file.
pub fn is_db_input(input: &Path) -> bool {
    input
        .to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// The entries matching `q` of every log in the database `url` names (the
/// one log of its `?log_id=`), each log read in seq order through
/// [`crate::pg::DbSource`].
#[cfg(feature = "postgres")]
pub fn db_entries(url: &str, q: &Query, out: &mut Vec<Entry>) -> Result<()> {
    use crate::pg::{self, DbSource, Target};
    let target = Target::parse(url)?;
    let mut client = target.connect()?;
    // A database nothing was shipped to yet has no evident tables: no
    // entries (a log that does not exist yet is no error to the readers).
    let shipped = client
        .query_one("SELECT to_regclass('evident.records') IS NOT NULL", &[])
        .map_err(|e| target.err("looking up the evident tables", e))?;
    if !shipped.get::<_, bool>(0) {
        return Ok(());
    }
    for id in pg::log_ids(&target, &mut client)? {
        let mut src = DbSource::new(&mut client, &target, &id);
        source_entries(&mut src, q, out)?;
    }
    Ok(())
}

/// Without the `postgres` feature a database input is refused.
#[cfg(not(feature = "postgres"))]
pub fn db_entries(_url: &str, _q: &Query, _out: &mut Vec<Entry>) -> Result<()> {
    Err(Error::InvalidArgument(
        "reading a PostgreSQL database needs the `postgres` feature".into(),
    ))
}
