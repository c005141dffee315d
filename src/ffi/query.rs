//! `evident_query`: filter builder, iterator, entries.

use std::ffi::{c_char, CString};

use super::log::parse_ts;
use super::{
    evident_status, ffi_status, owned_string, reset_outs, run_value, to_cstring, try_mut,
    try_opt_str, try_out, try_ref, try_str, with_obj, Failure,
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

/// Reads up to `max` more entries in one call (`max` 0 counts as 1): `*out_json`
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
        reset_outs!(out_json => std::ptr::null_mut(), out_count => 0);
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

/// Hands JSONL text (lines without NUL: JSON text holds none) to C as an
/// owned string, with its length.
fn owned_lines(mut text: Vec<u8>, out: &mut *mut c_char, len: &mut usize) -> Result<(), Failure> {
    let n = text.len();
    // The C string's NUL without a reallocation the allocator may refuse.
    text.try_reserve_exact(1).map_err(|_| {
        Failure::new(
            evident_status::Io,
            format!("out of memory for {n} bytes of record lines"),
        )
    })?;
    let c = CString::new(text)
        .map_err(|_| Failure::invalid("a record line holds a NUL byte".to_string()))?;
    *out = c.into_raw();
    *len = n;
    Ok(())
}

/// Reads up to `max` more entries in one call (`max` 0 counts as 1), as their JSONL
/// record lines: `*out_lines` receives the lines one after another, each
/// ending with `\n` (no line holds another `\n` or a NUL), NUL-terminated,
/// to free with `evident_string_free`; `*out_len` its length in bytes
/// (without the NUL) and `*out_count` the number of lines. Each line is the
/// record exactly as a JSONL log stores it (`v`, `seq`, `prev`, `kind`,
/// `ts`, every field, `details`, `hash`); for a binary log, the JSONL line
/// of the same body and hash, as `evident convert` would write it. Lines
/// come oldest or newest first as the query reads, and only for entries
/// that `evident_query_next` would return (the same checks and filters).
/// `EVIDENT_STATUS_END` with `*out_lines` NULL, `*out_len` and
/// `*out_count` 0 when there are no more (and on every later call). A
/// damaged record after some entries ends the batch there (status OK); the
/// next call reports it (`EVIDENT_STATUS_MALFORMED` naming the file and
/// the record's position), and the call after that goes on with the next
/// record where the framing allows, as `evident_query_next_batch` does.
#[no_mangle]
pub extern "C" fn evident_query_next_lines(
    iter: *mut evident_query_iter,
    max: usize,
    out_lines: *mut *mut c_char,
    out_len: *mut usize,
    out_count: *mut usize,
) -> evident_status {
    ffi_status!({
        reset_outs!(out_lines => std::ptr::null_mut(), out_len => 0, out_count => 0);
        let out = try_out!(out_lines, "out_lines", std::ptr::null_mut());
        let len = try_out!(out_len, "out_len", 0);
        let count = try_out!(out_count, "out_count", 0);
        let it = try_mut!(iter, "iter");
        if let Some(e) = it.pending.take() {
            return Err(e.into());
        }
        if it.done {
            return Ok(evident_status::End);
        }
        let mut text = Vec::with_capacity(16 * 1024);
        let mut n = 0usize;
        while n < max.max(1) {
            match it.iter.next_line(&mut text) {
                None => {
                    it.done = true;
                    break;
                }
                Some(Err(e)) if n == 0 => return Err(e.into()),
                Some(Err(e)) => {
                    it.pending = Some(e);
                    break;
                }
                Some(Ok(())) => n += 1,
            }
        }
        if n == 0 {
            return Ok(evident_status::End);
        }
        owned_lines(text, out, len)?;
        *count = n;
        Ok(evident_status::Ok)
    })
}

/// The last `n` entries of the log at `path` (UTF-8) in one call, newest
/// first, as their JSONL record lines in the form `evident_query_next_lines`
/// gives: `*out_lines` (free with `evident_string_free`), `*out_len` its
/// length in bytes, `*out_count` the number of lines (less than `n` when
/// the log has fewer entries). Reads backward from the end, so it costs
/// O(n), not O(file); like a query, it does not check hashes and never
/// returns a torn last record. `EVIDENT_STATUS_END` with `*out_lines`
/// NULL and both counts 0 when the log has no entry or `n` is 0. A damaged
/// record among the last `n` fails the whole call
/// (`EVIDENT_STATUS_MALFORMED` naming the file and the record's position),
/// with nothing returned.
#[no_mangle]
pub extern "C" fn evident_read_last(
    path: *const c_char,
    n: usize,
    out_lines: *mut *mut c_char,
    out_len: *mut usize,
    out_count: *mut usize,
) -> evident_status {
    ffi_status!({
        reset_outs!(out_lines => std::ptr::null_mut(), out_len => 0, out_count => 0);
        let out = try_out!(out_lines, "out_lines", std::ptr::null_mut());
        let len = try_out!(out_len, "out_len", 0);
        let count = try_out!(out_count, "out_count", 0);
        let path = try_str!(path, "path");
        if n == 0 {
            return Ok(evident_status::End);
        }
        let mut it = run_query(path, &Query::last(n))?;
        let mut text = Vec::with_capacity(n.min(64) * 512);
        let mut got = 0usize;
        while let Some(r) = it.next_line(&mut text) {
            r?;
            got += 1;
        }
        if got == 0 {
            return Ok(evident_status::End);
        }
        owned_lines(text, out, len)?;
        *count = got;
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

    fn make(path: &std::path::Path, framing: crate::format::Framing, n: usize) {
        let log = crate::Log::open(path, crate::OpenOptions::new().framing(framing)).unwrap();
        for i in 0..n {
            let ev = crate::Event::new("T", format!("a{i}"))
                .session(if i % 2 == 0 { "even" } else { "odd" })
                .details(serde_json::json!({"i": i, "s": "é\"\n", "f": 1.5}));
            log.append(&ev).unwrap();
        }
        log.close().unwrap();
    }

    fn cpath(p: &std::path::Path) -> CString {
        CString::new(p.to_str().unwrap()).unwrap()
    }

    /// Every batch of `evident_query_next_lines` until the end or an error,
    /// as (status, lines).
    fn all_lines(
        path: &CStr,
        q: *const evident_query,
        max: usize,
    ) -> Vec<(evident_status, Vec<String>)> {
        let mut it = std::ptr::null_mut();
        assert_eq!(
            evident_query_run(path.as_ptr(), q, &mut it),
            evident_status::Ok
        );
        let mut out = Vec::new();
        for _ in 0..1000 {
            let (mut p, mut len, mut n) = (std::ptr::null_mut(), 7usize, 7usize);
            let st = evident_query_next_lines(it, max, &mut p, &mut len, &mut n);
            if st != evident_status::Ok {
                assert!(p.is_null());
                assert_eq!((len, n), (0, 0));
                out.push((st, Vec::new()));
                if st == evident_status::End {
                    break;
                }
                continue;
            }
            let bytes = unsafe { CStr::from_ptr(p) }.to_bytes().to_vec();
            assert_eq!(bytes.len(), len);
            crate::ffi::evident_string_free(p);
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.ends_with('\n'));
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            assert_eq!(lines.len(), n);
            assert!(n >= 1 && n <= max.max(1));
            out.push((st, lines));
        }
        evident_query_iter_free(it);
        out
    }

    /// The entries `evident_query_next` gives, as JSON values.
    fn all_entries(path: &CStr, q: *const evident_query) -> Vec<serde_json::Value> {
        let mut it = std::ptr::null_mut();
        assert_eq!(
            evident_query_run(path.as_ptr(), q, &mut it),
            evident_status::Ok
        );
        let mut out = Vec::new();
        loop {
            let mut e = std::ptr::null_mut();
            match evident_query_next(it, &mut e) {
                evident_status::Ok => {
                    let mut j = std::ptr::null_mut();
                    assert_eq!(evident_entry_to_json(e, &mut j), evident_status::Ok);
                    let t = unsafe { CStr::from_ptr(j) }.to_str().unwrap().to_owned();
                    crate::ffi::evident_string_free(j);
                    evident_entry_free(e);
                    out.push(serde_json::from_str(&t).unwrap());
                }
                evident_status::End => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        evident_query_iter_free(it);
        out
    }

    /// A record line as the entry's fields (what `evident_entry_to_json` gives).
    fn line_fields(line: &str) -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        let o = v.as_object_mut().unwrap();
        assert_eq!(o.remove("kind").unwrap(), "entry");
        assert_eq!(o.remove("v").unwrap(), 1);
        v
    }

    #[test]
    fn next_lines_are_the_stored_lines_of_the_entries_next_gives() {
        let dir = tempfile::tempdir().unwrap();
        for framing in [
            crate::format::Framing::Jsonl,
            crate::format::Framing::Binary,
        ] {
            let p = dir.path().join(format!("l.{}", framing.name()));
            make(&p, framing, 50);
            let path = cpath(&p);
            // Every entry, in batches of 7, oldest first, then a filtered
            // newest-first query.
            let mut q = std::ptr::null_mut();
            assert_eq!(evident_query_new(&mut q), evident_status::Ok);
            for query in [std::ptr::null(), q as *const _] {
                let batches = all_lines(&path, query, 7);
                let (last, batches) = batches.split_last().unwrap();
                assert_eq!(last.0, evident_status::End);
                let lines: Vec<String> = batches.iter().flat_map(|b| b.1.clone()).collect();
                let fields: Vec<_> = lines.iter().map(|l| line_fields(l)).collect();
                assert_eq!(fields, all_entries(&path, query));
                if query.is_null() {
                    assert_eq!(lines.len(), 50);
                    assert_eq!(batches.len(), 8); // 7 × 7 + 1
                    if framing == crate::format::Framing::Jsonl {
                        // The lines are the file's own lines (after the genesis).
                        let file = std::fs::read_to_string(&p).unwrap();
                        let stored: Vec<&str> = file.lines().skip(1).collect();
                        assert_eq!(lines, stored);
                    }
                } else {
                    assert_eq!(lines.len(), 25);
                    assert_eq!(fields[0]["seq"], 50); // "odd" sessions: the even seqs
                    assert_eq!(fields[24]["seq"], 2);
                }
                let v = evident_query_set_session_id(q, c"odd".as_ptr());
                assert_eq!(v, evident_status::Ok);
                assert_eq!(evident_query_set_order(q, 2), evident_status::Ok);
            }
            evident_query_free(q);
        }
    }

    #[test]
    fn binary_lines_are_what_convert_writes() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("b.bin");
        let jl = dir.path().join("b.jsonl");
        make(&bin, crate::format::Framing::Binary, 5);
        crate::convert::convert(
            &bin,
            &jl,
            &crate::convert::ConvertOptions::new().to(crate::format::Framing::Jsonl),
        )
        .unwrap();
        let batches = all_lines(&cpath(&bin), std::ptr::null(), 100);
        let file = std::fs::read_to_string(&jl).unwrap();
        let stored: Vec<String> = file.lines().skip(1).map(str::to_owned).collect();
        assert_eq!(batches[0].1, stored);
        assert_eq!(batches[1].0, evident_status::End);
    }

    #[test]
    fn a_damaged_record_ends_the_batch_then_is_reported_then_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.jsonl");
        make(&p, crate::format::Framing::Jsonl, 6);
        let text = std::fs::read_to_string(&p).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        // Entry 3 (line 4) loses its closing brace and hash ending.
        let cut_at = lines[3].len() - 10;
        lines[3].truncate(cut_at);
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        let path = cpath(&p);
        let batches = all_lines(&path, std::ptr::null(), 100);
        let seqs = |b: &Vec<String>| -> Vec<u64> {
            b.iter()
                .map(|l| line_fields(l)["seq"].as_u64().unwrap())
                .collect()
        };
        assert_eq!(batches.len(), 4, "{batches:?}");
        assert_eq!(batches[0].0, evident_status::Ok);
        assert_eq!(seqs(&batches[0].1), [1, 2]);
        assert_eq!(batches[1].0, evident_status::Malformed);
        assert_eq!(seqs(&batches[2].1), [4, 5, 6]);
        assert_eq!(batches[3].0, evident_status::End);
        // The error names the file and the line, as evident_query_next's does.
        let mut it = std::ptr::null_mut();
        assert_eq!(
            evident_query_run(path.as_ptr(), std::ptr::null(), &mut it),
            evident_status::Ok
        );
        let (mut out, mut len, mut n) = (std::ptr::null_mut(), 0, 0);
        assert_eq!(
            evident_query_next_lines(it, 2, &mut out, &mut len, &mut n),
            evident_status::Ok
        );
        crate::ffi::evident_string_free(out);
        assert_eq!(
            evident_query_next_lines(it, 2, &mut out, &mut len, &mut n),
            evident_status::Malformed
        );
        let msg = unsafe { CStr::from_ptr(crate::ffi::evident_last_error()) }
            .to_str()
            .unwrap()
            .to_owned();
        assert!(msg.contains("d.jsonl") && msg.contains("line 4"), "{msg}");
        evident_query_iter_free(it);
    }

    fn last(path: &CStr, n: usize) -> (evident_status, Vec<u64>, Vec<String>) {
        let (mut out, mut len, mut count) = (std::ptr::null_mut(), 9usize, 9usize);
        let st = evident_read_last(path.as_ptr(), n, &mut out, &mut len, &mut count);
        if st != evident_status::Ok {
            assert!(out.is_null());
            assert_eq!((len, count), (0, 0));
            return (st, Vec::new(), Vec::new());
        }
        let text = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_owned();
        crate::ffi::evident_string_free(out);
        assert_eq!(text.len(), len);
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        assert_eq!(lines.len(), count);
        let seqs = lines
            .iter()
            .map(|l| line_fields(l)["seq"].as_u64().unwrap())
            .collect();
        (st, seqs, lines)
    }

    #[test]
    fn read_last_gives_the_last_n_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        for framing in [
            crate::format::Framing::Jsonl,
            crate::format::Framing::Binary,
        ] {
            let p = dir.path().join(format!("t.{}", framing.name()));
            make(&p, framing, 20);
            let path = cpath(&p);
            let (st, seqs, lines) = last(&path, 3);
            assert_eq!(st, evident_status::Ok);
            assert_eq!(seqs, [20, 19, 18]);
            let fields: Vec<_> = lines.iter().map(|l| line_fields(l)).collect();
            let mut q = std::ptr::null_mut();
            assert_eq!(evident_query_new(&mut q), evident_status::Ok);
            assert_eq!(evident_query_set_order(q, 2), evident_status::Ok);
            assert_eq!(evident_query_set_limit(q, 3), evident_status::Ok);
            assert_eq!(fields, all_entries(&path, q));
            evident_query_free(q);
            assert_eq!(last(&path, 100).1, (1..=20).rev().collect::<Vec<u64>>());
            assert_eq!(last(&path, 0).0, evident_status::End);
            // A torn last record is not an entry: the beginning of a record
            // of the log's framing (a binary frame's first 12 bytes).
            let bytes = std::fs::read(&p).unwrap();
            let torn: Vec<u8> = match framing {
                crate::format::Framing::Jsonl => b"{\"v\":1,\"seq\":21,\"pr".to_vec(),
                crate::format::Framing::Binary => {
                    let n = bytes.len();
                    let tail: [u8; 4] = bytes[n - 4..].try_into().unwrap();
                    let start = n - u32::from_le_bytes(tail) as usize;
                    bytes[start..start + 12].to_vec()
                }
            };
            let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
            std::io::Write::write_all(&mut f, &torn).unwrap();
            drop(f);
            assert_eq!(last(&path, 2).1, [20, 19]);
            // Bytes no interrupted write leaves there (JSON text in a binary
            // log, a changed line feed) are damage, reported (spec § 9.5).
            if framing == crate::format::Framing::Binary {
                let mut f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
                std::io::Write::write_all(&mut f, &bytes).unwrap();
                f.set_len(bytes.len() as u64).unwrap();
                let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
                std::io::Write::write_all(&mut f, b"{\"v\":1,\"seq\":21,\"pr").unwrap();
                drop(f);
                assert_eq!(last(&path, 2).0, evident_status::Malformed);
                std::fs::write(&p, &bytes).unwrap();
            }
        }
        let empty = dir.path().join("e.jsonl");
        make(&empty, crate::format::Framing::Jsonl, 0);
        assert_eq!(last(&cpath(&empty), 10).0, evident_status::End);
        let missing = cpath(&dir.path().join("missing.jsonl"));
        assert_eq!(last(&missing, 10).0, evident_status::Io); // as evident_query_run
        let (mut out, mut len, mut count) = (std::ptr::null_mut(), 0, 0);
        assert_eq!(
            evident_read_last(std::ptr::null(), 1, &mut out, &mut len, &mut count),
            evident_status::NullArgument
        );
        assert_eq!(
            evident_read_last(
                missing.as_ptr(),
                1,
                std::ptr::null_mut(),
                &mut len,
                &mut count
            ),
            evident_status::NullArgument
        );
        let mut it = std::ptr::null_mut();
        assert_eq!(
            evident_query_next_lines(it, 1, &mut out, &mut len, &mut count),
            evident_status::NullArgument
        );
        assert_eq!(
            evident_query_run(cpath(&empty).as_ptr(), std::ptr::null(), &mut it),
            evident_status::Ok
        );
        assert_eq!(
            evident_query_next_lines(it, 1, &mut out, std::ptr::null_mut(), &mut count),
            evident_status::NullArgument
        );
        assert_eq!(
            evident_query_next_lines(it, 1, &mut out, &mut len, &mut count),
            evident_status::End
        );
        evident_query_iter_free(it);
    }

    #[test]
    fn read_last_reports_a_damaged_record_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.jsonl");
        make(&p, crate::format::Framing::Jsonl, 5);
        let text = std::fs::read_to_string(&p).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines[4] = lines[4].replace("\"seq\":4", "\"seq\":\"4\"");
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        let path = cpath(&p);
        assert_eq!(last(&path, 1).1, [5]);
        assert_eq!(last(&path, 2).0, evident_status::Malformed);
        let msg = unsafe { CStr::from_ptr(crate::ffi::evident_last_error()) }
            .to_str()
            .unwrap()
            .to_owned();
        assert!(msg.contains("bad.jsonl"), "{msg}");
    }
}
