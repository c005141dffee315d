//! Queries over the shipped records, across logs. Every filter is a bound
//! parameter; the SQL text is assembled only from fixed clauses.

use chrono::{DateTime, Utc};
use postgres::types::ToSql;

use super::Target;
use crate::error::{Error, Position, Result};
use crate::format::{self, Entry, Framing};
use crate::query::{Order, Query};

/// Filters over the database: the file filters plus host and log id.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DbQuery {
    /// The file query's filters, order and limit.
    pub q: Query,
    /// Only entries from this host.
    pub host: Option<String>,
    /// Only this log (also taken from the URL's `log_id=`).
    pub log_id: Option<String>,
}

/// An entry with the log it belongs to.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DbEntry {
    pub log_id: String,
    #[serde(flatten)]
    pub entry: Entry,
}

fn build(dq: &DbQuery, select: &str) -> (String, Vec<Box<dyn ToSql + Sync>>) {
    let mut sql = format!("SELECT {select} FROM evident.records WHERE kind = 'entry'");
    let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    let mut add = |clause: &str, p: Box<dyn ToSql + Sync>, params: &mut Vec<_>| {
        params.push(p);
        sql.push_str(&format!(" AND {clause} ${}", params.len()));
    };
    let q = &dq.q;
    let s = |v: &Option<String>| v.clone().map(|v| Box::new(v) as Box<dyn ToSql + Sync>);
    for (col, v) in [
        ("log_id =", &dq.log_id),
        ("host =", &dq.host),
        ("session_id =", &q.session_id),
        ("event_type =", &q.event_type),
        ("action =", &q.action),
        ("actor =", &q.actor),
        ("source =", &q.source),
    ] {
        if let Some(p) = s(v) {
            add(col, p, &mut params);
        }
    }
    let t = |v: &Option<DateTime<Utc>>| v.map(|v| Box::new(v) as Box<dyn ToSql + Sync>);
    if let Some(p) = t(&q.since) {
        add("ts >=", p, &mut params);
    }
    if let Some(p) = t(&q.until) {
        add("ts <", p, &mut params);
    }
    let n = |v: Option<u64>| {
        v.map(|v| Box::new(v.min(i64::MAX as u64) as i64) as Box<dyn ToSql + Sync>)
    };
    if let Some(p) = n(q.seq_min) {
        add("seq >=", p, &mut params);
    }
    if let Some(p) = n(q.seq_max) {
        add("seq <=", p, &mut params);
    }
    (sql, params)
}

/// The SQL and parameters of a query (for EXPLAIN in tests).
pub fn query_sql(dq: &DbQuery) -> (String, Vec<Box<dyn ToSql + Sync>>) {
    let (mut sql, mut params) = build(dq, "log_id, body, hash");
    // One log: the file's order (seq), as a query of the file gives it
    // (entries appended with `--ts` may be out of time order); several: by
    // time.
    sql.push_str(match (dq.log_id.is_some(), dq.q.order) {
        (true, Order::OldestFirst) => " ORDER BY seq",
        (true, Order::NewestFirst) => " ORDER BY seq DESC",
        (false, Order::OldestFirst) => " ORDER BY ts, log_id, seq",
        (false, Order::NewestFirst) => " ORDER BY ts DESC, log_id DESC, seq DESC",
    });
    if let Some(l) = dq.q.limit {
        params.push(Box::new(l.min(i64::MAX as usize) as i64));
        sql.push_str(&format!(" LIMIT ${}", params.len()));
    }
    (sql, params)
}

/// Rows fetched per round trip by [`for_each_db_entry`].
const PAGE: i32 = 10_000;

/// Entries matching `dq` across the logs in the database, ordered by time
/// (then log id and seq); of one log (`log_id`), in seq order, as a query
/// of its file. Each entry is decoded from its stored body, the
/// same way a file query decodes it. All of them are in memory at once:
/// give a limit, or read them with [`for_each_db_entry`].
pub fn query_db(target: &Target, dq: &DbQuery) -> Result<Vec<DbEntry>> {
    let mut out = Vec::new();
    for_each_db_entry(target, dq, |e| {
        out.push(e);
        Ok(())
    })?;
    Ok(out)
}

/// Calls `f` with each entry [`query_db`] returns, in its order, read
/// page by page (10 000 rows) through one portal of one read-only
/// transaction: memory is bounded by a page, whatever the number of
/// entries, and every page comes from the same snapshot. An error `f`
/// returns stops the read and is returned.
pub fn for_each_db_entry(
    target: &Target,
    dq: &DbQuery,
    mut f: impl FnMut(DbEntry) -> Result<()>,
) -> Result<()> {
    let mut dq = dq.clone();
    if dq.log_id.is_none() {
        dq.log_id = target.log_id.clone();
    }
    let mut client = target.connect()?;
    let (sql, params) = query_sql(&dq);
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
    let mut tx = client
        .build_transaction()
        .read_only(true)
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .start()
        .map_err(|e| target.err("query", e))?;
    let portal = match tx.bind(sql.as_str(), &refs) {
        Ok(p) => p,
        // A database nothing was shipped to yet has no evident tables:
        // no entries (as the readers of a log that does not exist yet).
        Err(e) if e.code() == Some(&postgres::error::SqlState::UNDEFINED_TABLE) => return Ok(()),
        Err(e) => return Err(target.err("query", e)),
    };
    loop {
        let rows = tx
            .query_portal(&portal, PAGE)
            .map_err(|e| target.err("query", e))?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            f(decode(target, r)?)?;
        }
    }
    tx.commit().map_err(|e| target.err("query", e))
}

/// The entry of a row of `log_id, body, hash`.
fn decode(target: &Target, r: &postgres::Row) -> Result<DbEntry> {
    let log_id: String = r.try_get(0).map_err(|e| target.err("query", e))?;
    let body: Vec<u8> = r.try_get(1).map_err(|e| target.err("query", e))?;
    let hash: Vec<u8> = r.try_get(2).map_err(|e| target.err("query", e))?;
    let line = super::source::jsonl_line(&body, &hash);
    let named = target.with_log_id(Some(log_id.clone())).name();
    let at = Position::default();
    let p = format::parse(Framing::Jsonl, &line).map_err(|d| Error::malformed(&named, at, d.0))?;
    let at = Position {
        seq: Some(p.seq),
        ..at
    };
    let entry = format::decode_entry(&p).map_err(|d| Error::malformed(&named, at, d.0))?;
    Ok(DbEntry { log_id, entry })
}

/// Counts over the database for `evident stats postgres://…`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DbStats {
    pub logs: i64,
    pub entries: i64,
    pub first_ts: Option<DateTime<Utc>>,
    pub last_ts: Option<DateTime<Utc>>,
    pub by_event_type: Vec<(String, i64)>,
    pub by_action: Vec<(String, i64)>,
    pub by_actor: Vec<(String, i64)>,
    pub by_host: Vec<(String, i64)>,
    pub by_source: Vec<(String, i64)>,
    pub success: i64,
    pub failure: i64,
}

/// Aggregates over the entries matching the filters of `dq` (not its
/// order or limit).
pub fn stats_db(target: &Target, dq: &DbQuery) -> Result<DbStats> {
    let mut dq = dq.clone();
    if dq.log_id.is_none() {
        dq.log_id = target.log_id.clone();
    }
    let mut client = target.connect()?;
    let (sql, params) = build(
        &dq,
        "count(DISTINCT log_id), count(*), min(ts), max(ts), count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success)",
    );
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
    let row = client
        .query_one(sql.as_str(), &refs)
        .map_err(|e| target.err("stats", e))?;
    let mut s = DbStats {
        logs: row.get(0),
        entries: row.get(1),
        first_ts: row.get(2),
        last_ts: row.get(3),
        success: row.get(4),
        failure: row.get(5),
        ..DbStats::default()
    };
    for (col, slot) in [
        ("event_type", &mut s.by_event_type),
        ("action", &mut s.by_action),
        ("actor", &mut s.by_actor),
        ("host", &mut s.by_host),
        ("source", &mut s.by_source),
    ] {
        // `col` is one of the fixed names above, never input.
        let (mut sql, params) = build(&dq, &format!("coalesce({col}, ''), count(*)"));
        sql.push_str(" GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1000");
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
        let rows = client
            .query(sql.as_str(), &refs)
            .map_err(|e| target.err("stats", e))?;
        *slot = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    }
    Ok(s)
}
