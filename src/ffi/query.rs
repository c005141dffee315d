//! `evident_query`: filter builder, iterator, entries.

use std::ffi::{c_char, CString};

use super::log::parse_ts;
use super::{
    evident_status, ffi_status, owned_string, run_value, to_cstring, try_mut, try_opt_str, try_out,
    try_ref, try_str, with_obj, Failure,
};
use crate::format::{format_ts, Entry};
use crate::query::{query as run_query, Order, Query, QueryIter};

/// Filters and order for `evident_query_run`, built with the
/// `evident_query_set_*` functions. Every filter set must match (AND);
/// string filters match exactly. A new query has no filter, reads oldest
/// first and has no limit.
///
/// Thread safety: setters need exclusive access; a built query may be read
/// by several concurrent `evident_query_run` calls. Ownership: created by
/// `evident_query_new`, freed with `evident_query_free`; `evident_query_run`
/// copies it.
pub struct evident_query {
    q: Query,
}

/// An iterator over the entries matching a query.
///
/// Thread safety: needs exclusive access (one thread at a time; it may move
/// between threads). Ownership: created by `evident_query_run`, freed with
/// `evident_query_iter_free`. Entries it yields are independent objects.
pub struct evident_query_iter {
    iter: QueryIter,
    done: bool,
    /// The error of a damaged record met by `evident_query_next_batch`
    /// after entries it returned: reported by the next call.
    pending: Option<crate::Error>,
}

/// One entry read from a log.
///
/// Thread safety: immutable; may be read from several threads, but not
/// freed while read. Ownership: created by `evident_query_next`, freed with
/// `evident_entry_free`; every string its accessors return belongs to it
/// and stays valid until then.
///
/// Strings are NUL-terminated UTF-8. A field that contains U+0000 (possible
/// in entries appended as JSON) ends at that character in the accessors;
/// `evident_entry_to_json` always gives the exact content.
pub struct evident_entry {
    entry: Entry,
    ts: CString,
    event_type: CString,
    action: CString,
    actor: CString,
    host: CString,
    session_id: CString,
    source: CString,
    error: Option<CString>,
    note: Option<CString>,
    git_commit: Option<CString>,
    details_json: CString,
    prev: CString,
    hash: CString,
}

/// A C view of a string: cut at the first NUL, never failing.
fn cut(s: &str) -> CString {
    let b = s.as_bytes();
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    CString::new(&b[..end]).unwrap_or_default()
}

impl evident_entry {
    fn new(entry: Entry) -> evident_entry {
        evident_entry {
            ts: to_cstring(&format_ts(&entry.ts)),
            event_type: cut(&entry.event_type),
            action: cut(&entry.action),
            actor: cut(&entry.actor),
            host: cut(&entry.host),
            session_id: cut(&entry.session_id),
            source: cut(&entry.source),
            error: entry.error.as_deref().map(cut),
            note: entry.note.as_deref().map(cut),
            git_commit: entry.git_commit.as_deref().map(cut),
            details_json: to_cstring(&entry.details.to_string()),
            prev: cut(&entry.prev),
            hash: cut(&entry.hash),
            entry,
        }
    }
}

/// Creates a query with no filter, oldest first, no limit. `*out_query`
/// receives it (NULL on failure); free it with `evident_query_free`.
#[no_mangle]
pub extern "C" fn evident_query_new(out_query: *mut *mut evident_query) -> evident_status {
    ffi_status!({
        let out = try_out!(out_query, "out_query", std::ptr::null_mut());
        *out = Box::into_raw(Box::new(evident_query {
            q: Query::default(),
        }));
        Ok(evident_status::Ok)
    })
}

/// Frees a query. NULL is a no-op.
#[no_mangle]
pub extern "C" fn evident_query_free(query: *mut evident_query) {
    run_value((), || {
        if !query.is_null() {
            // SAFETY: `query` came from evident_query_new.
            drop(unsafe { Box::from_raw(query) });
        }
    })
}

/// Only entries of this session (copied; NULL removes the filter).
#[no_mangle]
pub extern "C" fn evident_query_set_session_id(
    query: *mut evident_query,
    value: *const c_char,
) -> evident_status {
    ffi_status!({
        let q = try_mut!(query, "query");
        q.q.session_id = try_opt_str!(value, "value").map(str::to_owned);
        Ok(evident_status::Ok)
    })
}

/// Only entries of this event type (copied; NULL removes the filter).
#[no_mangle]
pub extern "C" fn evident_query_set_event_type(
    query: *mut evident_query,
    value: *const c_char,
) -> evident_status {
    ffi_status!({
        let q = try_mut!(query, "query");
        q.q.event_type = try_opt_str!(value, "value").map(str::to_owned);
        Ok(evident_status::Ok)
    })
}

/// Only entries with this action (copied; NULL removes the filter).
#[no_mangle]
pub extern "C" fn evident_query_set_action(
    query: *mut evident_query,
    value: *const c_char,
) -> evident_status {
    ffi_status!({
        let q = try_mut!(query, "query");
        q.q.action = try_opt_str!(value, "value").map(str::to_owned);
        Ok(evident_status::Ok)
    })
}

/// Only entries by this actor (copied; NULL removes the filter).
#[no_mangle]
pub extern "C" fn evident_query_set_actor(
    query: *mut evident_query,
    value: *const c_char,
) -> evident_status {
    ffi_status!({
        let q = try_mut!(query, "query");
        q.q.actor = try_opt_str!(value, "value").map(str::to_owned);
        Ok(evident_status::Ok)
    })
}

/// Only entries from this source (copied; NULL removes the filter).
#[no_mangle]
pub extern "C" fn evident_query_set_source(
    query: *mut evident_query,
    value: *const c_char,
) -> evident_status {
    ffi_status!({
        let q = try_mut!(query, "query");
        q.q.source = try_opt_str!(value, "value").map(str::to_owned);
        Ok(evident_status::Ok)
    })
}

/// Only entries with `ts >= since` (an RFC 3339 timestamp, e.g.
/// `"2024-05-01T00:00:00Z"`; NULL removes the filter).
#[no_mangle]
pub extern "C" fn evident_query_set_since(
    query: *mut evident_query,
    since: *const c_char,
) -> evident_status {
    ffi_status!({
        let q = try_mut!(query, "query");
        q.q.since = match try_opt_str!(since, "since") {
            None => None,
            Some(s) => Some(parse_ts(s, "since")?),
        };
        Ok(evident_status::Ok)
    })
}

/// Only entries with `ts < until` (RFC 3339; NULL removes the filter).
#[no_mangle]
pub extern "C" fn evident_query_set_until(
    query: *mut evident_query,
    until: *const c_char,
) -> evident_status {
    ffi_status!({
        let q = try_mut!(query, "query");
        q.q.until = match try_opt_str!(until, "until") {
            None => None,
            Some(s) => Some(parse_ts(s, "until")?),
        };
        Ok(evident_status::Ok)
    })
}

/// Only entries with `seq >= seq_min` (0 removes the filter: seqs start at 1).
#[no_mangle]
pub extern "C" fn evident_query_set_seq_min(
    query: *mut evident_query,
    seq_min: u64,
) -> evident_status {
    ffi_status!({
        let q = try_mut!(query, "query");
        q.q.seq_min = (seq_min > 0).then_some(seq_min);
        Ok(evident_status::Ok)
    })
}

/// Only entries with `seq <= seq_max` (`UINT64_MAX` removes the filter).
#[no_mangle]
pub extern "C" fn evident_query_set_seq_max(
    query: *mut evident_query,
    seq_max: u64,
) -> evident_status {
    ffi_status!({
        let q = try_mut!(query, "query");
        q.q.seq_max = (seq_max < u64::MAX).then_some(seq_max);
        Ok(evident_status::Ok)
    })
}

/// Sets the reading order (an `EVIDENT_ORDER_*` value). Newest first reads
/// backward from the end, so "the last N entries" costs O(N).
#[no_mangle]
pub extern "C" fn evident_query_set_order(query: *mut evident_query, order: u32) -> evident_status {
    ffi_status!({
        let q = try_mut!(query, "query");
        q.q.order = match order {
            1 => Order::OldestFirst,
            2 => Order::NewestFirst,
            v => {
                return Err(Failure::invalid(format!(
                    "unknown order {v} (expected EVIDENT_ORDER_OLDEST_FIRST or _NEWEST_FIRST)"
                )))
            }
        };
        Ok(evident_status::Ok)
    })
}

/// Returns at most `limit` entries (`SIZE_MAX` removes the limit).
#[no_mangle]
pub extern "C" fn evident_query_set_limit(
    query: *mut evident_query,
    limit: usize,
) -> evident_status {
    ffi_status!({
        let q = try_mut!(query, "query");
        q.q.limit = (limit < usize::MAX).then_some(limit);
        Ok(evident_status::Ok)
    })
}

/// Opens the log at `path` (UTF-8) for reading and returns an iterator over
/// the entries matching `query` (NULL: every entry, oldest first). Query
/// does not check hashes (that is `evident_verify`'s job) and never returns
/// a torn last record. `*out_iter` receives the iterator (NULL on
/// failure); free it with `evident_query_iter_free`.
#[no_mangle]
pub extern "C" fn evident_query_run(
    path: *const c_char,
    query: *const evident_query,
    out_iter: *mut *mut evident_query_iter,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_iter, "out_iter", std::ptr::null_mut());
        let path = try_str!(path, "path");
        let all = Query::default();
        // SAFETY: `query` is NULL or a live query.
        let q = unsafe { query.as_ref() }.map_or(&all, |q| &q.q);
        let iter = run_query(path, q)?;
        *out = Box::into_raw(Box::new(evident_query_iter {
            iter,
            done: false,
            pending: None,
        }));
        Ok(evident_status::Ok)
    })
}

/// Advances the iterator. Returns `EVIDENT_STATUS_OK` with the next entry in
/// `*out_entry` (free it with `evident_entry_free`), or `EVIDENT_STATUS_END`
/// with `*out_entry` NULL when there are no more (and on every later call).
/// A damaged record gives `EVIDENT_STATUS_MALFORMED` naming its position;
/// calling again goes on with the next record where the framing allows.
#[no_mangle]
pub extern "C" fn evident_query_next(
    iter: *mut evident_query_iter,
    out_entry: *mut *mut evident_entry,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_entry, "out_entry", std::ptr::null_mut());
        let it = try_mut!(iter, "iter");
        if it.done {
            return Ok(evident_status::End);
        }
        match it.iter.next() {
            None => {
                it.done = true;
                Ok(evident_status::End)
            }
            Some(Err(e)) => Err(e.into()),
            Some(Ok(entry)) => {
                *out = Box::into_raw(Box::new(evident_entry::new(entry)));
                Ok(evident_status::Ok)
            }
        }
    })
}

/// Reads up to `max` (at least 1) more entries in one call: `*out_json`
/// receives a JSON array of them, oldest or newest first as the query
/// reads, each element the object `evident_entry_to_json` gives (seq, ts,
/// every field, details, prev, hash), to free with `evident_string_free`;
/// `*out_count` the number of entries in it. `EVIDENT_STATUS_END` with
/// `*out_json` NULL and `*out_count` 0 when there are no more (and on every
/// later call). A damaged record after some entries ends the batch there
/// (status OK); the next call reports it (`EVIDENT_STATUS_MALFORMED` naming
/// its position), and the call after that goes on with the next record
/// where the framing allows, as `evident_query_next` does.
#[no_mangle]
pub extern "C" fn evident_query_next_batch(
    iter: *mut evident_query_iter,
    max: usize,
    out_json: *mut *mut c_char,
    out_count: *mut usize,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let count = try_out!(out_count, "out_count", 0);
        let it = try_mut!(iter, "iter");
        if let Some(e) = it.pending.take() {
            return Err(e.into());
        }
        if it.done {
            return Ok(evident_status::End);
        }
        let mut text = Vec::with_capacity(4096);
        text.push(b'[');
        let mut n = 0usize;
        while n < max.max(1) {
            match it.iter.next() {
                None => {
                    it.done = true;
                    break;
                }
                Some(Err(e)) if n == 0 => return Err(e.into()),
                Some(Err(e)) => {
                    it.pending = Some(e);
                    break;
                }
                Some(Ok(entry)) => {
                    if n > 0 {
                        text.push(b',');
                    }
                    serde_json::to_writer(&mut text, &entry).map_err(|err| {
                        Failure::invalid(format!("cannot serialise the entry: {err}"))
                    })?;
                    n += 1;
                }
            }
        }
        if n == 0 {
            return Ok(evident_status::End);
        }
        text.push(b']');
        // JSON text holds no NUL byte (U+0000 is written as an escape).
        *out = CString::new(text).map_or(std::ptr::null_mut(), CString::into_raw);
        *count = n;
        Ok(evident_status::Ok)
    })
}

/// Frees an iterator (entries it returned stay valid). NULL is a no-op.
#[no_mangle]
pub extern "C" fn evident_query_iter_free(iter: *mut evident_query_iter) {
    run_value((), || {
        if !iter.is_null() {
            // SAFETY: `iter` came from evident_query_run.
            drop(unsafe { Box::from_raw(iter) });
        }
    })
}

/// Frees an entry. NULL is a no-op.
#[no_mangle]
pub extern "C" fn evident_entry_free(entry: *mut evident_entry) {
    run_value((), || {
        if !entry.is_null() {
            // SAFETY: `entry` came from evident_query_next.
            drop(unsafe { Box::from_raw(entry) });
        }
    })
}

/// The entry's seq (1 for the first entry; 0 if `entry` is NULL).
#[no_mangle]
pub extern "C" fn evident_entry_seq(entry: *const evident_entry) -> u64 {
    with_obj(entry, 0, |e| e.entry.seq)
}

/// The entry's time, RFC 3339 UTC with microseconds (e.g.
/// `"2024-05-01T12:00:00.000000Z"`). Owned by the entry; NULL if `entry`
/// is NULL.
#[no_mangle]
pub extern "C" fn evident_entry_ts(entry: *const evident_entry) -> *const c_char {
    with_obj(entry, std::ptr::null(), |e| e.ts.as_ptr())
}

/// The entry's time in microseconds since the Unix epoch (0 if NULL).
#[no_mangle]
pub extern "C" fn evident_entry_ts_unix_us(entry: *const evident_entry) -> i64 {
    with_obj(entry, 0, |e| e.entry.ts.timestamp_micros())
}

/// The event type. Owned by the entry; NULL if `entry` is NULL.
#[no_mangle]
pub extern "C" fn evident_entry_event_type(entry: *const evident_entry) -> *const c_char {
    with_obj(entry, std::ptr::null(), |e| e.event_type.as_ptr())
}

/// The action. Owned by the entry; NULL if `entry` is NULL.
#[no_mangle]
pub extern "C" fn evident_entry_action(entry: *const evident_entry) -> *const c_char {
    with_obj(entry, std::ptr::null(), |e| e.action.as_ptr())
}

/// The actor. Owned by the entry; NULL if `entry` is NULL.
#[no_mangle]
pub extern "C" fn evident_entry_actor(entry: *const evident_entry) -> *const c_char {
    with_obj(entry, std::ptr::null(), |e| e.actor.as_ptr())
}

/// The host. Owned by the entry; NULL if `entry` is NULL.
#[no_mangle]
pub extern "C" fn evident_entry_host(entry: *const evident_entry) -> *const c_char {
    with_obj(entry, std::ptr::null(), |e| e.host.as_ptr())
}

/// The session id. Owned by the entry; NULL if `entry` is NULL.
#[no_mangle]
pub extern "C" fn evident_entry_session_id(entry: *const evident_entry) -> *const c_char {
    with_obj(entry, std::ptr::null(), |e| e.session_id.as_ptr())
}

/// The source. Owned by the entry; NULL if `entry` is NULL.
#[no_mangle]
pub extern "C" fn evident_entry_source(entry: *const evident_entry) -> *const c_char {
    with_obj(entry, std::ptr::null(), |e| e.source.as_ptr())
}

/// The error text, or NULL when the entry has none. Owned by the entry.
#[no_mangle]
pub extern "C" fn evident_entry_error(entry: *const evident_entry) -> *const c_char {
    with_obj(entry, std::ptr::null(), |e| super::opt_ptr(&e.error))
}

/// The note, or NULL when the entry has none. Owned by the entry.
#[no_mangle]
pub extern "C" fn evident_entry_note(entry: *const evident_entry) -> *const c_char {
    with_obj(entry, std::ptr::null(), |e| super::opt_ptr(&e.note))
}

/// The git commit, or NULL when the entry has none. Owned by the entry.
#[no_mangle]
pub extern "C" fn evident_entry_git_commit(entry: *const evident_entry) -> *const c_char {
    with_obj(entry, std::ptr::null(), |e| super::opt_ptr(&e.git_commit))
}

/// The details as compact JSON text (`"{}"` when none were given).
/// Owned by the entry; NULL if `entry` is NULL.
#[no_mangle]
pub extern "C" fn evident_entry_details_json(entry: *const evident_entry) -> *const c_char {
    with_obj(entry, std::ptr::null(), |e| e.details_json.as_ptr())
}

/// The previous record's hash (hex). Owned by the entry.
#[no_mangle]
pub extern "C" fn evident_entry_prev(entry: *const evident_entry) -> *const c_char {
    with_obj(entry, std::ptr::null(), |e| e.prev.as_ptr())
}

/// This record's hash (hex). Owned by the entry.
#[no_mangle]
pub extern "C" fn evident_entry_hash(entry: *const evident_entry) -> *const c_char {
    with_obj(entry, std::ptr::null(), |e| e.hash.as_ptr())
}

/// The off-the-record flag.
#[no_mangle]
pub extern "C" fn evident_entry_otr(entry: *const evident_entry) -> bool {
    with_obj(entry, false, |e| e.entry.otr)
}

/// Whether the entry records an outcome.
#[no_mangle]
pub extern "C" fn evident_entry_has_success(entry: *const evident_entry) -> bool {
    with_obj(entry, false, |e| e.entry.success.is_some())
}

/// The outcome (false when `evident_entry_has_success` is false).
#[no_mangle]
pub extern "C" fn evident_entry_success(entry: *const evident_entry) -> bool {
    with_obj(entry, false, |e| e.entry.success.unwrap_or(false))
}

/// Whether the entry records a duration.
#[no_mangle]
pub extern "C" fn evident_entry_has_duration_ms(entry: *const evident_entry) -> bool {
    with_obj(entry, false, |e| e.entry.duration_ms.is_some())
}

/// The duration in milliseconds (0 when `evident_entry_has_duration_ms` is
/// false).
#[no_mangle]
pub extern "C" fn evident_entry_duration_ms(entry: *const evident_entry) -> f64 {
    with_obj(entry, 0.0, |e| e.entry.duration_ms.unwrap_or(0.0))
}

/// The whole entry as a JSON object (seq, ts, every field, details, prev,
/// hash). `*out_json` receives a string to free with `evident_string_free`
/// (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_entry_to_json(
    entry: *const evident_entry,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let e = try_ref!(entry, "entry");
        let text = serde_json::to_string(&e.entry)
            .map_err(|err| Failure::invalid(format!("cannot serialise the entry: {err}")))?;
        *out = owned_string(&text);
        Ok(evident_status::Ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::log::*;
    use std::ffi::CStr;

    #[test]
    fn iterator_ends_and_stays_ended_and_nulls_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = CString::new(dir.path().join("q.jsonl").to_str().unwrap()).unwrap();
        let mut log = std::ptr::null_mut();
        assert_eq!(
            evident_log_open(path.as_ptr(), std::ptr::null(), &mut log),
            evident_status::Ok
        );
        for i in 0..3 {
            let j = CString::new(format!(r#"{{"event_type":"T","action":"a{i}"}}"#)).unwrap();
            assert_eq!(
                evident_log_append_json(log, j.as_ptr(), std::ptr::null_mut()),
                evident_status::Ok
            );
        }
        evident_log_free(log);

        let mut q = std::ptr::null_mut();
        assert_eq!(evident_query_new(&mut q), evident_status::Ok);
        assert_eq!(evident_query_set_order(q, 2), evident_status::Ok);
        assert_eq!(
            evident_query_set_order(q, 0),
            evident_status::InvalidArgument
        );
        let mut it = std::ptr::null_mut();
        assert_eq!(
            evident_query_run(path.as_ptr(), q, &mut it),
            evident_status::Ok
        );
        evident_query_free(q);
        let mut seqs = Vec::new();
        loop {
            let mut e = std::ptr::null_mut();
            match evident_query_next(it, &mut e) {
                evident_status::Ok => {
                    seqs.push(evident_entry_seq(e));
                    let a = unsafe { CStr::from_ptr(evident_entry_action(e)) };
                    assert_eq!(
                        a.to_str().unwrap(),
                        format!("a{}", seqs.last().unwrap() - 1)
                    );
                    evident_entry_free(e);
                }
                evident_status::End => {
                    assert!(e.is_null());
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(seqs, [3, 2, 1]);
        let mut e = std::ptr::null_mut();
        assert_eq!(evident_query_next(it, &mut e), evident_status::End);
        assert_eq!(
            evident_query_next(it, std::ptr::null_mut()),
            evident_status::NullArgument
        );
        evident_query_iter_free(it);

        assert_eq!(
            evident_query_next(std::ptr::null_mut(), &mut e),
            evident_status::NullArgument
        );
        assert_eq!(
            evident_query_run(std::ptr::null(), std::ptr::null(), &mut it),
            evident_status::NullArgument
        );
        assert!(it.is_null());
        assert!(evident_entry_hash(std::ptr::null()).is_null());
        assert_eq!(evident_entry_duration_ms(std::ptr::null()), 0.0);
        evident_entry_free(std::ptr::null_mut());
        evident_query_iter_free(std::ptr::null_mut());
        evident_query_free(std::ptr::null_mut());
    }

    #[test]
    fn nul_inside_a_field_is_cut_in_the_c_view_but_exact_in_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = CString::new(dir.path().join("n.jsonl").to_str().unwrap()).unwrap();
        let mut log = std::ptr::null_mut();
        assert_eq!(
            evident_log_open(path.as_ptr(), std::ptr::null(), &mut log),
            evident_status::Ok
        );
        let j = CString::new(r#"{"event_type":"T","action":"ab\u0000cd"}"#).unwrap();
        assert_eq!(
            evident_log_append_json(log, j.as_ptr(), std::ptr::null_mut()),
            evident_status::Ok
        );
        evident_log_free(log);
        let mut it = std::ptr::null_mut();
        assert_eq!(
            evident_query_run(path.as_ptr(), std::ptr::null(), &mut it),
            evident_status::Ok
        );
        let mut e = std::ptr::null_mut();
        assert_eq!(evident_query_next(it, &mut e), evident_status::Ok);
        let a = unsafe { CStr::from_ptr(evident_entry_action(e)) };
        assert_eq!(a.to_bytes(), b"ab");
        let mut json = std::ptr::null_mut();
        assert_eq!(evident_entry_to_json(e, &mut json), evident_status::Ok);
        let text = unsafe { CStr::from_ptr(json) }
            .to_str()
            .unwrap()
            .to_string();
        assert!(text.contains(r#""action":"ab\u0000cd""#), "{text}");
        crate::ffi::evident_string_free(json);
        evident_entry_free(e);
        evident_query_iter_free(it);
    }
}
