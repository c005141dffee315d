//! PostgreSQL from C (`evident_ship`, `evident_db_query`,
//! `evident_db_verify`, `evident_db_cross_check`): the C face of
//! [`crate::pg`]. Options and results are JSON texts; results are freed
//! with `evident_string_free`. Errors name the database without its
//! password (status `EVIDENT_STATUS_DATABASE`; a fork or rewritten local
//! log: `EVIDENT_STATUS_REFUSED`).

use std::ffi::c_char;
use std::path::Path;

use super::{evident_status, ffi_status, owned_string, try_opt_str, try_out, try_str, Failure};
use crate::chain::Key;
use crate::pg::{self, DbQuery, ShipOptions, Target};
use crate::query::Order;
use crate::verify::VerifyOptions;

#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ShipJson {
    batch: Option<usize>,
    key_hex: Option<String>,
    retry_for_ms: Option<u64>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct VerifyJson {
    key_hex: Option<String>,
    all: bool,
}

#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct QueryJson {
    log_id: Option<String>,
    host: Option<String>,
    session_id: Option<String>,
    event_type: Option<String>,
    action: Option<String>,
    actor: Option<String>,
    source: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
    newest_first: bool,
}

fn parse<T: serde::de::DeserializeOwned + Default>(
    text: Option<&str>,
    what: &str,
) -> Result<T, Failure> {
    match text {
        None => Ok(T::default()),
        Some(t) => serde_json::from_str(t).map_err(|e| Failure::invalid(format!("{what}: {e}"))),
    }
}

/// The HMAC key given as hex in an options object.
fn key_hex(h: Option<&str>) -> Result<Option<Key>, Failure> {
    match h {
        None => Ok(None),
        Some(h) => {
            let bytes =
                hex::decode(h.trim()).map_err(|e| Failure::invalid(format!("key_hex: {e}")))?;
            Ok(Some(Key::new(bytes)?))
        }
    }
}

fn ts(v: &Option<String>, what: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, Failure> {
    match v {
        None => Ok(None),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&chrono::Utc)))
            .map_err(|e| Failure::invalid(format!("{what}: {s:?} is not RFC 3339: {e}"))),
    }
}

/// Ships the log at `log_path` into the PostgreSQL database at `url`
/// (`postgres://…`; `evident ship`): resumable and idempotent, one
/// transaction per batch; a local log that does not continue the
/// database's chain is refused (`EVIDENT_STATUS_REFUSED`) and recorded.
/// `options_json` (NULL for the defaults) is an object with `batch`
/// (records per transaction), `key_hex` (the HMAC key of a keyed log, to
/// check hashes before shipping) and `retry_for_ms` (how long to keep
/// reconnecting; default 30 000). `*out_report_json` receives a JSON array
/// of `{"log_id", "shipped", "already", "head_seq", "hashes_checked"}`
/// (`hashes_checked` false: a keyed log shipped without `key_hex`, links
/// and seqs checked only) (free with
/// `evident_string_free`; NULL on failure).
#[no_mangle]
pub extern "C" fn evident_ship(
    log_path: *const c_char,
    url: *const c_char,
    options_json: *const c_char,
    out_report_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let result = try_out!(out_report_json, "out_report_json", std::ptr::null_mut());
        let path = try_str!(log_path, "log_path");
        let url = try_str!(url, "url");
        let o: ShipJson = parse(try_opt_str!(options_json, "options_json"), "options_json")?;
        let target = Target::parse(url)?;
        let mut opts = ShipOptions::default();
        if let Some(b) = o.batch {
            opts.batch = b.max(1);
        }
        if let Some(ms) = o.retry_for_ms {
            opts.retry_for = std::time::Duration::from_millis(ms);
        }
        opts.key = key_hex(o.key_hex.as_deref())?;
        let reports = pg::ship::ship_to(Path::new(path), &target, &opts)?;
        *result = owned_string(&serde_json::to_string(&reports).unwrap_or_else(|_| "[]".into()));
        Ok(evident_status::Ok)
    })
}

/// Entries in the PostgreSQL database at `url` (`postgres://…`, with
/// `?log_id=` for one log) matching `query_json` (NULL: all), across logs,
/// oldest first: an object with `log_id`, `host`, `session_id`,
/// `event_type`, `action`, `actor`, `source`, `since`/`until` (RFC 3339;
/// `ts >= since`, `ts < until`), `limit` and `newest_first`.
/// `*out_entries_json` receives a JSON array of entries (the fields of an
/// evident entry plus `log_id`; free with `evident_string_free`).
#[no_mangle]
// Field by field: `Query` may become #[non_exhaustive] (no struct literal).
#[allow(clippy::field_reassign_with_default)]
pub extern "C" fn evident_db_query(
    url: *const c_char,
    query_json: *const c_char,
    out_entries_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let result = try_out!(out_entries_json, "out_entries_json", std::ptr::null_mut());
        let url = try_str!(url, "url");
        let o: QueryJson = parse(try_opt_str!(query_json, "query_json"), "query_json")?;
        let target = Target::parse(url)?;
        let mut dq = DbQuery::default();
        dq.log_id = o.log_id;
        dq.host = o.host;
        dq.q.session_id = o.session_id;
        dq.q.event_type = o.event_type;
        dq.q.action = o.action;
        dq.q.actor = o.actor;
        dq.q.source = o.source;
        dq.q.since = ts(&o.since, "since")?;
        dq.q.until = ts(&o.until, "until")?;
        dq.q.limit = o.limit;
        dq.q.order = if o.newest_first {
            Order::NewestFirst
        } else {
            Order::OldestFirst
        };
        let entries = pg::query_db(&target, &dq)?;
        *result = owned_string(&serde_json::to_string(&entries).unwrap_or_else(|_| "[]".into()));
        Ok(evident_status::Ok)
    })
}

/// Verifies the chains stored in the PostgreSQL database at `url`
/// (`postgres://…`; every log, or the one `?log_id=` names) with the file
/// verifier's own check, streaming (`evident verify postgres://…`).
/// `options_json` (NULL for the defaults) is an object with `key_hex` (the
/// HMAC key of keyed logs) and `all` (keep every violation, not only the
/// first). `*out_reports_json` receives a JSON array with one report per
/// log, in log id order: the fields of a file verify report (`valid`,
/// `log_id`, `entries`, `head_seq`, `head_hash`, `violations` [{`kind`,
/// `seq`, `line`, `offset`, `message`}], `violations_total`, …; `path` is
/// the redacted URL and the log id, offsets and lines those of the JSONL
/// file the stored records make). A damaged chain is a report, not an
/// error: the status is OK; errors are for a database that cannot be read.
#[no_mangle]
pub extern "C" fn evident_db_verify(
    url: *const c_char,
    options_json: *const c_char,
    out_reports_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let result = try_out!(out_reports_json, "out_reports_json", std::ptr::null_mut());
        let url = try_str!(url, "url");
        let o: VerifyJson = parse(try_opt_str!(options_json, "options_json"), "options_json")?;
        let mut opts = VerifyOptions::new().key(key_hex(o.key_hex.as_deref())?);
        opts.all = o.all;
        let reports = pg::verify_db(url, &opts)?;
        *result = owned_string(&serde_json::to_string(&reports).unwrap_or_else(|_| "[]".into()));
        Ok(evident_status::Ok)
    })
}

/// Compares the log at `log_path` with its copy in the database at `url`,
/// record by record, body and hash (`evident ship --check-only`).
/// `*out_json` receives `{"log_id", "same", "first_difference" (a seq or
/// null), "only_local", "only_db"}`.
#[no_mangle]
pub extern "C" fn evident_db_cross_check(
    log_path: *const c_char,
    url: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let result = try_out!(out_json, "out_json", std::ptr::null_mut());
        let path = try_str!(log_path, "log_path");
        let url = try_str!(url, "url");
        let report = pg::cross_check(Path::new(path), url)?;
        *result = owned_string(&serde_json::to_string(&report).unwrap_or_else(|_| "{}".into()));
        Ok(evident_status::Ok)
    })
}
