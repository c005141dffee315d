//! The rules of the compatibility layers (`bindings/python/src/evident/compat/`)
//! that are more than a renaming: how an evident entry reads as an RTGS Lab
//! Tools operation record, what an RTGS date range covers, and where
//! SecureML's per-operation log lives. One implementation for every
//! binding (C: `evident_compat_*` in `src/ffi/compat_more.rs`).

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::format::{format_ts, Entry};

/// An RTGS operation record of `e` (seed 002's documented keys):
/// `timestamp` (RFC 3339 text, UTC), `operation_id` (the details' one,
/// else the entry's seq), `tool_name` (source), `operation` (action),
/// `user` (actor), `git_branch`, `git_commit`, `parameters`, `results`,
/// `duration_seconds`, `success` (recorded, else "no error recorded"),
/// `error_message`, `note` (`""` when none: pandas turns `None` into a
/// truthy NaN next to real notes, and RTGS code tests `if log['note']:`),
/// `status` (`"success"`/`"failed"`), and `hostname`, `seq`, `hash`.
pub fn rtgs_record(e: &Entry) -> Value {
    let d = e.details.as_object();
    let get = |k: &str| d.and_then(|d| d.get(k));
    let success = e.success.unwrap_or(e.error.is_none());
    let operation_id = match get("operation_id") {
        None | Some(Value::Null | Value::Bool(false)) => json!(e.seq.to_string()),
        Some(Value::String(s)) if s.is_empty() => json!(e.seq.to_string()),
        Some(v) => v.clone(),
    };
    let obj_or_empty = |k: &str| match get(k) {
        Some(v @ Value::Object(_)) => v.clone(),
        Some(Value::Null) | None => json!({}),
        Some(v) => v.clone(),
    };
    json!({
        "timestamp": format_ts(&e.ts),
        "operation_id": operation_id,
        "tool_name": e.source,
        "operation": e.action,
        "user": e.actor,
        "git_branch": get("git_branch").cloned().unwrap_or(Value::Null),
        "git_commit": e.git_commit,
        "parameters": obj_or_empty("parameters"),
        "results": obj_or_empty("results"),
        "duration_seconds": e.duration_ms.unwrap_or(0.0) / 1000.0,
        "success": success,
        "error_message": e.error,
        "note": e.note.clone().unwrap_or_default(),
        "status": if success { "success" } else { "failed" },
        "hostname": e.host,
        "seq": e.seq,
        "hash": e.hash,
    })
}

/// The JSON text of RTGS records (as [`rtgs_record`] makes them) of
/// `entries`: an array, one object per entry in order, whose `parameters`
/// and `results` list their members in the order the operation gave them
/// (`details.parameter_order` / `result_order`, which the RTGS compat
/// records; by name otherwise), as RTGS's JSON columns do.
pub fn rtgs_records_json<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> String {
    use serde::ser::{SerializeMap, SerializeSeq};
    use serde::{Serialize, Serializer};

    struct InOrder<'a>(&'a Value, &'a Value, &'static str);
    impl Serialize for InOrder<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            match self.0 {
                Value::Object(m) => {
                    let mut out = s.serialize_map(Some(m.len()))?;
                    for (k, v) in crate::report::recorded_order(m, self.1, self.2) {
                        out.serialize_entry(k, v)?;
                    }
                    out.end()
                }
                other => other.serialize(s),
            }
        }
    }
    struct Record<'a>(&'a Entry);
    impl Serialize for Record<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let rec = rtgs_record(self.0);
            let Value::Object(m) = &rec else {
                return rec.serialize(s);
            };
            let d = &self.0.details;
            let mut out = s.serialize_map(Some(m.len()))?;
            for (k, v) in m {
                match k.as_str() {
                    "parameters" => out.serialize_entry(k, &InOrder(v, d, "parameter_order"))?,
                    "results" => out.serialize_entry(k, &InOrder(v, d, "result_order"))?,
                    _ => out.serialize_entry(k, v)?,
                }
            }
            out.end()
        }
    }
    struct All<'a>(Vec<&'a Entry>);
    impl Serialize for All<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            let mut out = s.serialize_seq(Some(self.0.len()))?;
            for e in &self.0 {
                out.serialize_element(&Record(e))?;
            }
            out.end()
        }
    }
    // Values that came from JSON always serialize.
    serde_json::to_string(&All(entries.into_iter().collect())).unwrap_or_else(|_| "[]".into())
}

/// One bound of an RTGS date range: `YYYY-MM-DD` (a UTC day; one-digit
/// months and days too) or an RFC
/// 3339 time with its offset. Returns the instant and whether a day was
/// given.
fn rtgs_bound(v: &str, name: &str) -> Result<(DateTime<Utc>, bool)> {
    let s = v.trim();
    let bad = || {
        Error::InvalidArgument(format!(
            "{name} must be a date in YYYY-MM-DD format, got {v:?}"
        ))
    };
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let t = d.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc();
        return Ok((t, true));
    }
    let t = DateTime::parse_from_rfc3339(&s.replace(' ', "T")).map_err(|_| bad())?;
    Ok((t.with_timezone(&Utc), false))
}

/// A time argument of the compatibility layers, read by [`parse_time`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeArg {
    /// `YYYY-MM-DD`: a calendar day.
    Day(NaiveDate),
    /// A time of day without an offset: a local time, which the binding
    /// turns into an instant with its host's time zone (as Python's
    /// `datetime.now()` and `datetime.astimezone()` do).
    Naive(NaiveDateTime),
    /// A time with `Z` or a `±HH:MM` offset.
    Instant(DateTime<Utc>),
}

/// The one rule of the compatibility layers for time arguments given as
/// text (SecureML's `start_time`/`end_time`, RTGS's `start_date`/`end_date`,
/// the `rtgs audit` options): `YYYY-MM-DD` is a day; `YYYY-MM-DD`, `T` or a
/// space, `HH:MM[:SS[.fraction]]` is a naive (local) time, or an instant
/// when followed by `Z` or a `±HH:MM` offset. Surrounding spaces are
/// ignored; anything else is an error naming `name`.
pub fn parse_time(v: &str, name: &str) -> Result<TimeArg> {
    let s = v.trim();
    let bad = || {
        Error::InvalidArgument(format!(
            "{name} must be a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM[:SS], \
             optionally with Z or an offset), got {v:?}"
        ))
    };
    if s.len() <= 10 {
        return NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(TimeArg::Day)
            .map_err(|_| bad());
    }
    if s.len() > 64 || !s.is_ascii() {
        return Err(bad());
    }
    let t = s.replacen(' ', "T", 1);
    let (body, offset) = if let Some(b) = t.strip_suffix(['Z', 'z']) {
        (b, Some("+00:00"))
    } else if t.len() > 16 && matches!(t.as_bytes()[t.len() - 6], b'+' | b'-') {
        (&t[..t.len() - 6], Some(&t[t.len() - 6..]))
    } else {
        (t.as_str(), None)
    };
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(body, f).ok())
        .ok_or_else(bad)?;
    match offset {
        None => Ok(TimeArg::Naive(naive)),
        Some(off) => {
            let text = format!("{}{off}", naive.format("%Y-%m-%dT%H:%M:%S%.f"));
            DateTime::parse_from_rfc3339(&text)
                .map(|t| TimeArg::Instant(t.with_timezone(&Utc)))
                .map_err(|_| bad())
        }
    }
}

/// A half-open time range `[since, until)`; `None`: unbounded.
pub type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// RTGS's `[since, until)` for `start_date` and `end_date`: a start day
/// begins at its UTC midnight; an end given as a day includes that whole
/// day, an end given as a time includes that instant.
pub fn rtgs_range(start: Option<&str>, end: Option<&str>) -> Result<Range> {
    let since = start
        .map(|s| rtgs_bound(s, "start_date").map(|b| b.0))
        .transpose()?;
    let until = end
        .map(|s| {
            rtgs_bound(s, "end_date").map(|(t, day)| {
                t + if day {
                    Duration::days(1)
                } else {
                    Duration::microseconds(1)
                }
            })
        })
        .transpose()?;
    Ok((since, until))
}

/// The file name of SecureML operation `operation_name`'s log in its
/// `log_dir`: every character but ASCII letters, digits, `.`, `_` and `-`
/// replaced by `_`, leading dots dropped, at most 120 characters (then
/// `operation` when nothing is left), and `.jsonl`.
pub fn secureml_file_name(operation_name: &str) -> String {
    let safe: String = operation_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    let safe: String = if safe.is_empty() {
        "operation".into()
    } else {
        safe.chars().take(120).collect()
    };
    format!("{safe}.jsonl")
}

/// The event type of RTGS operations in an evident log.
pub const RTGS_EVENT_TYPE: &str = "tool_operation";

/// RTGS's "recent" operations in the log at `path`: the `limit` (`None`:
/// all) newest RTGS operations by time (then by seq), of tool `tool_name`
/// when given, at or after `since` when given, newest first, as
/// [`rtgs_record`]s. By time, not by position in the log: an operation
/// imported later with its original time takes its place in time. Reads
/// the whole log, keeping at most `limit` entries in memory; a damaged
/// record is an error naming the file and the record.
pub fn rtgs_recent(
    path: &std::path::Path,
    tool_name: Option<&str>,
    since: Option<DateTime<Utc>>,
    limit: Option<usize>,
) -> Result<Vec<Value>> {
    Ok(rtgs_recent_entries(path, tool_name, since, limit)?
        .iter()
        .map(rtgs_record)
        .collect())
}

/// The entries [`rtgs_recent`] makes its records of, newest first.
pub fn rtgs_recent_entries(
    path: &std::path::Path,
    tool_name: Option<&str>,
    since: Option<DateTime<Utc>>,
    limit: Option<usize>,
) -> Result<Vec<Entry>> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    let mut q = crate::query::Query::default().event_type(RTGS_EVENT_TYPE);
    if let Some(t) = tool_name {
        q = q.source(t);
    }
    if let Some(t) = since {
        q = q.since(t);
    }
    if limit == Some(0) {
        return Ok(Vec::new());
    }
    // A min-heap of the newest `limit` so far, keyed by (ts, seq).
    struct Keyed(DateTime<Utc>, u64, Entry);
    impl PartialEq for Keyed {
        fn eq(&self, o: &Self) -> bool {
            (self.0, self.1) == (o.0, o.1)
        }
    }
    impl Eq for Keyed {}
    impl PartialOrd for Keyed {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for Keyed {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            (self.0, self.1).cmp(&(o.0, o.1))
        }
    }
    let mut heap: BinaryHeap<Reverse<Keyed>> = BinaryHeap::new();
    for e in crate::query::query(path, &q)? {
        let e = e?;
        let k = Keyed(e.ts, e.seq, e);
        match limit {
            Some(l) if heap.len() >= l => {
                if heap.peek().is_some_and(|Reverse(min)| k > *min) {
                    heap.pop();
                    heap.push(Reverse(k));
                }
            }
            _ => heap.push(Reverse(k)),
        }
    }
    // into_sorted_vec of Reverse: newest first.
    Ok(heap
        .into_sorted_vec()
        .into_iter()
        .map(|Reverse(k)| k.2)
        .collect())
}

/// Where the RTGS compatibility layer keeps its files: `dir` from
/// `EVIDENT_RTGS_DIR`, else `$XDG_DATA_HOME/evident/rtgs`, else
/// `$HOME/.local/share/evident/rtgs` (empty values count as unset); `get`
/// reads one environment variable.
pub fn rtgs_dir(get: impl Fn(&str) -> Option<String>) -> Result<std::path::PathBuf> {
    let set = |k: &str| get(k).filter(|v| !v.is_empty());
    if let Some(d) = set("EVIDENT_RTGS_DIR") {
        return Ok(d.into());
    }
    let base = match set("XDG_DATA_HOME") {
        Some(x) => std::path::PathBuf::from(x),
        None => std::path::PathBuf::from(set("HOME").ok_or_else(|| {
            Error::InvalidArgument(
                "no place for the RTGS log: set EVIDENT_RTGS_DIR, XDG_DATA_HOME or HOME".into(),
            )
        })?)
        .join(".local")
        .join("share"),
    };
    Ok(base.join("evident").join("rtgs"))
}

/// Whether RTGS recording is on, from the text of `logging.json` (`None`:
/// no file): `enabled` of the JSON object, read as Python's `bool()` reads
/// a value (RTGS's rule); on when the file is missing, unreadable, not an
/// object or has no `enabled`.
pub fn rtgs_logging_enabled(text: Option<&str>) -> bool {
    let Some(v) = text.and_then(|t| serde_json::from_str::<Value>(t).ok()) else {
        return true;
    };
    match v.get("enabled") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::Null) => false,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// RTGS's `get_logging_status()`: `enabled`, `storage` (`"postgresql"`
/// with `database`, the URL without password, when `pg` is configured,
/// else `"evident"`), `log_path` and a `message` saying where entries go.
pub fn rtgs_logging_status(enabled: bool, log_path: &str, pg: Option<&RtgsPg>) -> Value {
    match pg {
        Some(pg) => json!({
            "enabled": enabled,
            "storage": "postgresql",
            "database": pg.database,
            "log_path": log_path,
            "message": format!(
                "entries go to the local evident log {log_path} and are shipped to PostgreSQL {}",
                pg.database
            ),
        }),
        None => json!({
            "enabled": enabled,
            "storage": "evident",
            "log_path": log_path,
            "message": format!("entries go to the local evident log {log_path}"),
        }),
    }
}

/// `KEY=VALUE` lines of an RTGS `.env` file as RTGS reads them: blank
/// lines, `#` comments and lines without `=` skipped, an `export ` prefix
/// dropped, one pair of matching quotes (`'` or `"`) around the value
/// removed. Later lines win.
pub fn rtgs_dotenv(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let mut k = k.trim();
        if let Some(rest) = k.strip_prefix("export ") {
            k = rest.trim();
        }
        let mut v = v.trim();
        let b = v.as_bytes();
        if b.len() >= 2 && b[0] == b[b.len() - 1] && matches!(b[0], b'\'' | b'"') {
            v = &v[1..v.len() - 1];
        }
        out.push((k.to_string(), v.to_string()));
    }
    out
}

/// Percent-encodes everything but ASCII letters, digits and `_.-~` (a
/// user, password or database name inside a URL).
fn url_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The PostgreSQL database RTGS is configured to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtgsPg {
    /// The connection URL (with the password and `connect_timeout=5`: a
    /// server that does not answer must not hold up the user's operation).
    pub url: String,
    /// The URL without password or options: what messages show.
    pub database: String,
}

/// RTGS's PostgreSQL configuration: `POSTGRES_HOST`, `POSTGRES_PORT`
/// (default 5432), `POSTGRES_DB`, `POSTGRES_USER`, `POSTGRES_PASSWORD`
/// from `env` (the process environment), else from `dotenv` (the text of
/// `.env`). A variable set in `env`, even empty, wins over `.env`. `None`
/// when the host or the database is missing or empty.
pub fn rtgs_pg_config<I>(env: I, dotenv: Option<&str>) -> Option<RtgsPg>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut vars: std::collections::HashMap<String, String> = dotenv
        .map(rtgs_dotenv)
        .unwrap_or_default()
        .into_iter()
        .collect();
    vars.extend(env.into_iter().filter(|(k, _)| k.starts_with("POSTGRES_")));
    let get = |k: &str| vars.get(k).map(String::as_str);
    let host = get("POSTGRES_HOST").filter(|s| !s.is_empty())?;
    let db = get("POSTGRES_DB").filter(|s| !s.is_empty())?;
    let user = url_quote(get("POSTGRES_USER").unwrap_or(""));
    let pw = get("POSTGRES_PASSWORD").unwrap_or("");
    let port = get("POSTGRES_PORT").unwrap_or("5432");
    let db = url_quote(db);
    let auth = if pw.is_empty() {
        user.clone()
    } else {
        format!("{user}:{}", url_quote(pw))
    };
    let at = |a: &str| {
        if a.is_empty() {
            String::new()
        } else {
            format!("{a}@")
        }
    };
    if host.starts_with('/') {
        // A unix socket's directory: psql's form, the host as the `host=`
        // parameter (in the authority it would end at its first `/`).
        let q = format!("host={}&port={}", url_quote(host), url_quote(port));
        return Some(RtgsPg {
            url: format!("postgres://{}/{db}?{q}&connect_timeout=5", at(&auth)),
            database: format!("postgres://{}/{db}?{q}", at(&user)),
        });
    }
    Some(RtgsPg {
        url: format!(
            "postgres://{}{host}:{port}/{db}?connect_timeout=5",
            at(&auth)
        ),
        database: format!("postgres://{}{host}:{port}/{db}", at(&user)),
    })
}

/// The text `rtgs audit recent` prints for `records` (RTGS operation
/// records as [`rtgs_record`] makes them, newest first; `timestamp` RFC
/// 3339 with any offset): one line per record, `YYYY-MM-DD HH:MM:SS` (UTC),
/// ✅ or ❌ (`success`), tool, operation, `(D.Ds)`, `status`, then
/// ` - note` and ` - error_message` when not empty; `No recent logs
/// found.` when there are none.
pub fn rtgs_recent_text(records: &[Value]) -> Result<String> {
    if records.is_empty() {
        return Ok("No recent logs found.".into());
    }
    // A value is shown on its line: control and bidi characters escaped
    // (`\n`, `\u{1b}`), as the text goes to a terminal.
    let text = |r: &Value, k: &str| {
        let raw = match &r[k] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            v => v.to_string(),
        };
        crate::report::escape_invisible(&raw, |c, out| out.extend(c.escape_default())).into_owned()
    };
    let mut lines = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let ts = r["timestamp"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "record {i}: timestamp must be an RFC 3339 time, got {}",
                    r["timestamp"]
                ))
            })?
            .with_timezone(&Utc);
        let ok = match &r["success"] {
            Value::Bool(b) => *b,
            Value::Null => false,
            Value::Number(n) => n.as_f64() != Some(0.0),
            Value::String(s) => !s.is_empty(),
            _ => true,
        };
        let mut line = format!(
            "{} {} {} {} ({:.1}s) {}",
            ts.format("%Y-%m-%d %H:%M:%S"),
            if ok { "✅" } else { "❌" },
            text(r, "tool_name"),
            text(r, "operation"),
            r["duration_seconds"].as_f64().unwrap_or(0.0),
            text(r, "status"),
        );
        for k in ["note", "error_message"] {
            let v = text(r, k);
            if !v.is_empty() {
                line.push_str(" - ");
                line.push_str(&v);
            }
        }
        lines.push(line);
    }
    Ok(lines.join("\n"))
}

/// Whether a SecureML `AuditTrail.close(status=…)` means success:
/// `completed`, `complete`, `success`, `succeeded`, `ok` or `done`, in
/// any case. Every other status is a failure.
pub fn secureml_status_success(status: &str) -> bool {
    matches!(
        status.to_lowercase().as_str(),
        "completed" | "complete" | "success" | "succeeded" | "ok" | "done"
    )
}

/// What SecureML's `get_audit_logs` reads: the log files and the
/// half-open time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecuremlSelection {
    /// Existing log files to read, in name order.
    pub files: Vec<std::path::PathBuf>,
    /// Other `*.jsonl` files of the directory (every log read), which do
    /// not start as an evident log: not read (another program's). An empty
    /// file is in `files`.
    pub skipped: Vec<std::path::PathBuf>,
    /// Events at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Events strictly before this instant (`end_time` plus one
    /// microsecond: `end_time` itself is included).
    pub until: Option<DateTime<Utc>>,
}

/// The files and range of `get_audit_logs(operation_name, start_time,
/// end_time, log_dir)`: operation `operation_name`'s log in `log_dir`
/// (when it exists), or every `*.jsonl` file in `log_dir` (none when the
/// directory does not exist); `start` and `end` are RFC 3339 times with
/// their offset, `end` included.
pub fn secureml_select(
    log_dir: &std::path::Path,
    operation_name: Option<&str>,
    start: Option<&str>,
    end: Option<&str>,
) -> Result<SecuremlSelection> {
    let time = |v: &str, name: &str| {
        DateTime::parse_from_rfc3339(v.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                Error::InvalidArgument(format!(
                    "{name} must be an RFC 3339 time with its offset, got {v:?}"
                ))
            })
    };
    let since = start.map(|s| time(s, "start_time")).transpose()?;
    let until = end
        .map(|s| time(s, "end_time").map(|t| t + Duration::microseconds(1)))
        .transpose()?;
    let (mut files, mut skipped) = (Vec::new(), Vec::new());
    if let Some(name) = operation_name {
        let f = log_dir.join(secureml_file_name(name));
        if f.is_file() {
            files.push(f);
        }
    } else if let Ok(rd) = std::fs::read_dir(log_dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "jsonl")
                && p.file_stem().is_some_and(|s| !s.is_empty())
                && p.is_file()
            {
                // An empty file (made by hand: `touch`) is listed, its reader
                // finds nothing; an error is named by the reader.
                let empty = p.metadata().is_ok_and(|m| m.len() == 0);
                match crate::report::is_log_file(&p) {
                    Ok(false) if !empty => skipped.push(p),
                    _ => files.push(p),
                }
            }
        }
        files.sort();
        skipped.sort();
    }
    Ok(SecuremlSelection {
        files,
        skipped,
        since,
        until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(details: Value, success: Option<bool>, error: Option<&str>) -> Entry {
        Entry {
            seq: 7,
            ts: Utc.with_ymd_and_hms(2023, 6, 15, 14, 30, 22).unwrap(),
            event_type: "tool_operation".into(),
            action: "extract".into(),
            actor: "alice".into(),
            host: "lab".into(),
            session_id: String::new(),
            source: "sensing-data".into(),
            otr: false,
            success,
            duration_ms: Some(45_700.0),
            error: error.map(str::to_string),
            note: None,
            git_commit: Some("abc123".into()),
            details,
            prev: String::new(),
            hash: "h".into(),
        }
    }

    #[test]
    fn rtgs_records_json_keeps_the_given_order() {
        let ordered = entry(
            json!({"parameters": {"project": "P", "start_date": "a", "end_date": "b"},
                   "parameter_order": ["project", "start_date", "end_date"],
                   "results": {"n": 1, "file": "o"}, "result_order": ["n", "file"]}),
            Some(true),
            None,
        );
        let plain = entry(json!({"parameters": {"b": 1, "a": 2}}), None, None);
        let text = rtgs_records_json([&ordered, &plain]);
        assert!(
            text.contains(r#""parameters":{"project":"P","start_date":"a","end_date":"b"}"#),
            "{text}"
        );
        assert!(text.contains(r#""results":{"n":1,"file":"o"}"#), "{text}");
        assert!(text.contains(r#""parameters":{"a":2,"b":1}"#), "{text}");
        // the same records as rtgs_record, only the order differs
        let back: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, vec![rtgs_record(&ordered), rtgs_record(&plain)]);
        assert_eq!(rtgs_records_json([]), "[]");
    }

    #[test]
    fn rtgs_records_have_the_documented_keys_and_rules() {
        let r = rtgs_record(&entry(
            json!({"operation_id": "u-1", "git_branch": "main", "parameters": {"p": 1}}),
            Some(true),
            None,
        ));
        assert_eq!(r["timestamp"], "2023-06-15T14:30:22.000000Z");
        assert_eq!(r["operation_id"], "u-1");
        assert_eq!(r["tool_name"], "sensing-data");
        assert_eq!(r["operation"], "extract");
        assert_eq!(r["git_branch"], "main");
        assert_eq!(r["parameters"], json!({"p": 1}));
        assert_eq!(r["results"], json!({}));
        assert_eq!(r["duration_seconds"], 45.7);
        assert_eq!(r["note"], "");
        assert_eq!(
            (r["success"].clone(), r["status"].clone()),
            (json!(true), json!("success"))
        );
        // No success recorded: an error means failure; no operation id:
        // the seq.
        let r = rtgs_record(&entry(json!(null), None, Some("boom")));
        assert_eq!(
            (r["success"].clone(), r["status"].clone()),
            (json!(false), json!("failed"))
        );
        assert_eq!(r["operation_id"], "7");
        assert_eq!(r["git_branch"], Value::Null);
        assert_eq!(r["error_message"], "boom");
        let r = rtgs_record(&entry(json!({}), None, None));
        assert_eq!(r["success"], true);
    }

    #[test]
    fn one_time_rule() {
        use super::{parse_time, TimeArg};
        let day = |y, m, d| TimeArg::Day(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        assert_eq!(parse_time(" 2023-06-01 ", "t").unwrap(), day(2023, 6, 1));
        assert_eq!(parse_time("2023-6-1", "t").unwrap(), day(2023, 6, 1));
        let naive = |t: &str| TimeArg::Naive(t.parse().unwrap());
        assert_eq!(
            parse_time("2023-06-01T00:00:00", "t").unwrap(),
            naive("2023-06-01T00:00:00")
        );
        assert_eq!(
            parse_time("2023-06-01 14:30", "t").unwrap(),
            naive("2023-06-01T14:30:00")
        );
        assert_eq!(
            parse_time("2023-06-01T14:30:22.5", "t").unwrap(),
            naive("2023-06-01T14:30:22.500")
        );
        let at = |t: &str| TimeArg::Instant(t.parse().unwrap());
        assert_eq!(
            parse_time("2023-06-01T14:30:22Z", "t").unwrap(),
            at("2023-06-01T14:30:22Z")
        );
        assert_eq!(
            parse_time("2023-06-01T14:30:22.123456+02:00", "t").unwrap(),
            at("2023-06-01T12:30:22.123456Z")
        );
        assert_eq!(
            parse_time("2023-06-01T14:30-05:00", "t").unwrap(),
            at("2023-06-01T19:30:00Z")
        );
        for bad in [
            "",
            "yesterday",
            "2023-13-01",
            "2023-06-01T25:00",
            "2023-06-01T14:30:22+2",
            "2023-06-01T14:30:22 garbage",
            "2023-06-01T14:30:22+99:00",
            "2023-06-01T14:30:22\u{e9}",
        ] {
            let e = parse_time(bad, "start_time").unwrap_err().to_string();
            assert!(e.contains("start_time"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn rtgs_ranges() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let (s, u) = rtgs_range(Some("2023-06-01"), Some("2023-06-30")).unwrap();
        assert_eq!(s, Some(t("2023-06-01T00:00:00Z")));
        assert_eq!(u, Some(t("2023-07-01T00:00:00Z")));
        let (s, u) = rtgs_range(None, Some("2023-06-30T12:00:00+02:00")).unwrap();
        assert_eq!(s, None);
        assert_eq!(u, Some(t("2023-06-30T10:00:00.000001Z")));
        let e = rtgs_range(Some("June 1st"), None).unwrap_err().to_string();
        assert!(
            e.contains("start_date must be a date in YYYY-MM-DD format"),
            "{e}"
        );
        assert!(rtgs_range(None, Some("2023-13-01")).is_err());
        assert_eq!(
            rtgs_range(Some("2023-6-1"), None).unwrap().0,
            Some(t("2023-06-01T00:00:00Z"))
        );
    }

    #[test]
    fn secureml_file_names() {
        assert_eq!(secureml_file_name("train model/v2"), "train_model_v2.jsonl");
        assert_eq!(secureml_file_name("..hidden"), "hidden.jsonl");
        assert_eq!(secureml_file_name("..."), "operation.jsonl");
        assert_eq!(secureml_file_name("é"), "_.jsonl");
        assert_eq!(secureml_file_name(&"x".repeat(300)).len(), 126);
    }
    #[test]
    fn rtgs_dotenv_and_pg_config() {
        let dotenv = "# In .env file\nPOSTGRES_HOST=localhost\n\nPOSTGRES_PORT=5432\nexport POSTGRES_DB=rtgs_audit\nPOSTGRES_USER='audit_user'\nPOSTGRES_PASSWORD=\"p@ss word\"\nnot a pair\n";
        assert_eq!(
            rtgs_dotenv(dotenv)[2],
            ("POSTGRES_DB".into(), "rtgs_audit".into())
        );
        let none = std::iter::empty::<(String, String)>;
        let pg = rtgs_pg_config(none(), Some(dotenv)).unwrap();
        assert_eq!(
            pg.url,
            "postgres://audit_user:p%40ss%20word@localhost:5432/rtgs_audit?connect_timeout=5"
        );
        assert_eq!(
            pg.database,
            "postgres://audit_user@localhost:5432/rtgs_audit"
        );
        // the environment wins, even empty; other variables are ignored
        let env = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let pg = rtgs_pg_config(
            env(&[
                ("POSTGRES_DB", "other db"),
                ("POSTGRES_PASSWORD", ""),
                ("HOME", "/x"),
            ]),
            Some(dotenv),
        )
        .unwrap();
        assert_eq!(
            pg.url,
            "postgres://audit_user@localhost:5432/other%20db?connect_timeout=5"
        );
        assert_eq!(
            rtgs_pg_config(env(&[("POSTGRES_HOST", "")]), Some(dotenv)),
            None
        );
        assert_eq!(rtgs_pg_config(none(), None), None);
        let pg =
            rtgs_pg_config(env(&[("POSTGRES_HOST", "h"), ("POSTGRES_DB", "d")]), None).unwrap();
        assert_eq!(pg.url, "postgres://h:5432/d?connect_timeout=5");
        assert_eq!(pg.database, "postgres://h:5432/d");
    }

    #[test]
    fn rtgs_recent_lines() {
        assert_eq!(rtgs_recent_text(&[]).unwrap(), "No recent logs found.");
        let ok = rtgs_record(&entry(json!({}), Some(true), None));
        let mut failed = rtgs_record(&entry(json!({}), None, Some("boom")));
        failed["timestamp"] = json!("2023-06-15T16:30:22+02:00");
        let mut noted = ok.clone();
        noted["note"] = json!("Monthly");
        assert_eq!(
            rtgs_recent_text(&[ok, failed, noted]).unwrap(),
            "2023-06-15 14:30:22 ✅ sensing-data extract (45.7s) success\n\
             2023-06-15 14:30:22 ❌ sensing-data extract (45.7s) failed - boom\n\
             2023-06-15 14:30:22 ✅ sensing-data extract (45.7s) success - Monthly"
        );
        let e = rtgs_recent_text(&[json!({"timestamp": 5})])
            .unwrap_err()
            .to_string();
        assert!(e.contains("record 0: timestamp"), "{e}");

        // a recorded value cannot start a line (forge a ✅ record) or send
        // a terminal escape sequence: controls and bidi shown escaped
        let mut hostile = rtgs_record(&entry(json!({}), None, Some("boom")));
        hostile["note"] =
            json!("x\n2023-06-15 14:30:22 ✅ sensing-data extract (1.0s) success\u{1b}[2J\u{202e}\u{200b}");
        hostile["tool_name"] = json!("t\r\u{9b}1m");
        let text = rtgs_recent_text(&[hostile]).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.chars().any(crate::report::is_hidden), "{text:?}");
        assert!(
            text.contains("x\\n2023-06-15") && text.contains("t\\r\\u{9b}1m"),
            "{text}"
        );
    }

    #[test]
    fn secureml_statuses() {
        for s in [
            "completed",
            "Complete",
            "SUCCESS",
            "succeeded",
            "ok",
            "done",
        ] {
            assert!(secureml_status_success(s), "{s}");
        }
        for s in ["failed", "error", "aborted", "", "completed "] {
            assert!(!secureml_status_success(s), "{s}");
        }
    }

    #[test]
    fn secureml_selection_skips_what_is_not_a_log() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("data.jsonl"), "{\"a\": 1}\n").unwrap();
        std::fs::write(d.path().join("empty.jsonl"), "").unwrap();
        let log = d.path().join("op.jsonl");
        crate::Log::open(&log, crate::OpenOptions::new())
            .unwrap()
            .close()
            .unwrap();
        let s = secureml_select(d.path(), None, None, None).unwrap();
        assert_eq!(s.files, [d.path().join("empty.jsonl"), log]);
        assert_eq!(s.skipped, [d.path().join("data.jsonl")]);
        // a log asked for by name is read whatever it holds
        let s = secureml_select(d.path(), Some("data"), None, None).unwrap();
        assert_eq!(s.files, [d.path().join("data.jsonl")]);
        assert!(s.skipped.is_empty());
    }

    #[test]
    fn secureml_selection() {
        let d = tempfile::tempdir().unwrap();
        for f in ["b.jsonl", "a.jsonl", "x.txt", "train_model_v2.jsonl"] {
            std::fs::write(d.path().join(f), "").unwrap();
        }
        std::fs::create_dir(d.path().join("dir.jsonl")).unwrap();
        let s = secureml_select(d.path(), None, None, None).unwrap();
        let names: Vec<_> = s
            .files
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["a.jsonl", "b.jsonl", "train_model_v2.jsonl"]);
        assert_eq!((s.since, s.until), (None, None));
        let s = secureml_select(
            d.path(),
            Some("train model/v2"),
            Some("2023-06-15T00:00:00+02:00"),
            Some("2023-06-15T12:00:00Z"),
        )
        .unwrap();
        assert_eq!(s.files, [d.path().join("train_model_v2.jsonl")]);
        assert_eq!(format_ts(&s.since.unwrap()), "2023-06-14T22:00:00.000000Z");
        assert_eq!(format_ts(&s.until.unwrap()), "2023-06-15T12:00:00.000001Z");
        assert!(secureml_select(d.path(), Some("never"), None, None)
            .unwrap()
            .files
            .is_empty());
        assert!(secureml_select(&d.path().join("missing"), None, None, None)
            .unwrap()
            .files
            .is_empty());
        let e = secureml_select(d.path(), None, None, Some("tomorrow"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("end_time"), "{e}");
    }
    #[test]
    fn rtgs_recent_is_by_time() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("audit.jsonl");
        let log = crate::Log::open(&path, crate::OpenOptions::new()).unwrap();
        let t0 = Utc.with_ymd_and_hms(2023, 6, 15, 12, 0, 0).unwrap();
        // (minutes after t0, tool): log order is not time order
        for (i, (m, tool)) in [(10, "a"), (30, "b"), (-60, "a"), (20, "a"), (30, "a")]
            .into_iter()
            .enumerate()
        {
            let mut ev = crate::Event::new(RTGS_EVENT_TYPE, format!("op{i}")).source(tool);
            ev.ts = Some(t0 + Duration::minutes(m));
            log.append(&ev).unwrap();
        }
        log.append(&crate::Event::new("other", "x")).unwrap();
        drop(log);
        let ops = |tool, since, limit| -> Vec<String> {
            rtgs_recent(&path, tool, since, limit)
                .unwrap()
                .iter()
                .map(|r| r["operation"].as_str().unwrap().to_string())
                .collect()
        };
        // equal times: the later in the log first
        assert_eq!(ops(None, None, None), ["op4", "op1", "op3", "op0", "op2"]);
        assert_eq!(ops(None, None, Some(2)), ["op4", "op1"]);
        assert_eq!(ops(Some("a"), None, Some(3)), ["op4", "op3", "op0"]);
        assert_eq!(
            ops(None, Some(t0 + Duration::minutes(15)), None),
            ["op4", "op1", "op3"]
        );
        assert!(ops(None, None, Some(0)).is_empty());
        assert!(rtgs_recent(&d.path().join("missing.jsonl"), None, None, None).is_err());
    }
    #[test]
    fn rtgs_places_and_logging_status() {
        let env = |kv: &'static [(&'static str, &'static str)]| {
            move |k: &str| kv.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let p = |s: &str| std::path::PathBuf::from(s);
        assert_eq!(
            rtgs_dir(env(&[("EVIDENT_RTGS_DIR", "/d"), ("HOME", "/h")])).unwrap(),
            p("/d")
        );
        assert_eq!(
            rtgs_dir(env(&[
                ("EVIDENT_RTGS_DIR", ""),
                ("XDG_DATA_HOME", "/x"),
                ("HOME", "/h")
            ]))
            .unwrap(),
            p("/x/evident/rtgs")
        );
        assert_eq!(
            rtgs_dir(env(&[("HOME", "/h")])).unwrap(),
            p("/h/.local/share/evident/rtgs")
        );
        assert!(rtgs_dir(env(&[]))
            .unwrap_err()
            .to_string()
            .contains("EVIDENT_RTGS_DIR"));

        assert!(rtgs_logging_enabled(None));
        assert!(rtgs_logging_enabled(Some("not json")));
        assert!(rtgs_logging_enabled(Some("[false]")));
        assert!(rtgs_logging_enabled(Some("{}")));
        assert!(!rtgs_logging_enabled(Some(r#"{"enabled": false}"#)));
        assert!(!rtgs_logging_enabled(Some(r#"{"enabled": 0}"#)));
        assert!(rtgs_logging_enabled(Some(r#"{"enabled": true}"#)));

        let st = rtgs_logging_status(false, "/d/audit.jsonl", None);
        assert_eq!(st["storage"], "evident");
        assert_eq!(st["enabled"], false);
        assert_eq!(
            st["message"],
            "entries go to the local evident log /d/audit.jsonl"
        );
        let pg = RtgsPg {
            url: "postgres://u:pw@h:5432/d?connect_timeout=5".into(),
            database: "postgres://u@h:5432/d".into(),
        };
        let st = rtgs_logging_status(true, "/d/audit.jsonl", Some(&pg));
        assert_eq!(st["storage"], "postgresql");
        assert_eq!(st["database"], "postgres://u@h:5432/d");
        assert!(!st.to_string().contains("pw"));
    }
}
