//! `evident_log`: open, append, sync, close, head, recovery report.

use std::ffi::{c_char, CString};
use std::path::Path;

use chrono::{DateTime, Utc};

use super::options::evident_open_options;
use super::{
    c_slice, evident_alg, evident_framing, evident_status, ffi_status, ffi_value, opt_ptr,
    run_value, to_cstring, try_out, try_ref, try_str, Failure, FfiResult,
    EVIDENT_HASH_HEX_CAPACITY,
};
use std::borrow::Cow;

use crate::format::{AsEventView, Event, EventView};
use crate::log::{Head, Log, OpenOptions};

/// An open log.
///
/// Thread safety: one `evident_log` may be used from several threads at
/// once for `evident_log_append`, `evident_log_append_json`,
/// `evident_log_append_batch`, `evident_log_append_jsonl`,
/// `evident_log_append_json_array`, `evident_log_sync`, `evident_log_head`,
/// `evident_log_recovery`, `evident_log_close` and the accessors (appends are serialised inside;
/// with `EVIDENT_DURABILITY_GROUP_COMMIT` concurrent appenders share
/// fsyncs). `evident_log_free` needs exclusive access: no other call on the
/// log may be running or follow.
/// Processes: a log handle belongs to the process that opened it. After
/// `fork()` the child must not use an inherited handle (it shares the
/// parent's file offset, lock and chain head): append, sync and close fail
/// there with `EVIDENT_STATUS_FORKED` and write nothing. Open the log again
/// in the child (shared mode if the parent keeps writing);
/// `evident_log_free` on the inherited handle in the child frees its memory
/// and leaves the parent's lock alone.
/// Ownership: created by `evident_log_open`, freed with `evident_log_free`.
pub struct evident_log {
    pub(crate) log: Log,
    path: CString,
    log_id: CString,
    key_id: Option<CString>,
}

/// The chain head: the number of entries (= the last seq, 0 for a log
/// without entries) and the hash of the last record as lowercase hex,
/// NUL-terminated (64 hex digits for SHA-256 / HMAC-SHA256, 128 for
/// HMAC-SHA512). Keep it outside the log to detect truncation later (see
/// `evident_verify_options_set_expected_head`).
#[repr(C)]
pub struct evident_head {
    /// Seq of the last entry (= the number of entries).
    pub seq: u64,
    /// Hash of the last record, lowercase hex, NUL-terminated.
    pub hash: [c_char; EVIDENT_HASH_HEX_CAPACITY],
}

/// One entry to append, as plain C fields. Zero-initialise it
/// (`evident_event ev = {0};` in C, `evident_event ev{};` in C++) and set
/// what you need; every pointer may be NULL (= unset). Strings are
/// NUL-terminated UTF-8 and are only read during the call.
///
/// The layout of this struct is fixed for ABI major version 1; event fields
/// added later are reachable through `evident_log_append_json`.
#[repr(C)]
pub struct evident_event {
    /// Category of the event (e.g. `"ACTION_EXECUTED"`). NULL: `""`.
    pub event_type: *const c_char,
    /// What was done (e.g. `"load_trace"`). NULL: `""`.
    pub action: *const c_char,
    /// Who did it. NULL: the log's default actor.
    pub actor: *const c_char,
    /// Where. NULL: the log's default host.
    pub host: *const c_char,
    /// Session the event belongs to. NULL: `""`.
    pub session_id: *const c_char,
    /// Originating component or tool. NULL: `""`.
    pub source: *const c_char,
    /// Error text of a failed action. NULL: none.
    pub error: *const c_char,
    /// Free-text note. NULL: none.
    pub note: *const c_char,
    /// Source revision the action ran from. NULL: none.
    pub git_commit: *const c_char,
    /// Details as a JSON text (any JSON value, usually an object). NULL: `{}`.
    pub details_json: *const c_char,
    /// Explicit RFC 3339 timestamp (for imports). NULL: now.
    pub ts: *const c_char,
    /// Off-the-record flag.
    pub otr: bool,
    /// Whether `success` is set.
    pub has_success: bool,
    /// Outcome of the action (read when `has_success`).
    pub success: bool,
    /// Whether `duration_ms` is set.
    pub has_duration_ms: bool,
    /// Duration in milliseconds (read when `has_duration_ms`; finite).
    pub duration_ms: f64,
}

/// The torn-tail report of one log handle: what `evident_log_open` (or, in
/// shared mode, a later append) found and moved aside.
///
/// Thread safety: a snapshot; may be read from any thread, but not freed
/// while read. Ownership: created by `evident_log_recovery`, freed with
/// `evident_recovery_free`; the strings it returns belong to it.
pub struct evident_recovery {
    created: bool,
    torn: Vec<(u64, u64, CString)>,
    /// (durable length, length at open) of a log found cut below it.
    truncated: Option<(u64, u64)>,
}

fn path_cstring(p: &Path) -> CString {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        CString::new(p.as_os_str().as_bytes()).unwrap_or_default()
    }
    #[cfg(not(unix))]
    {
        to_cstring(&p.to_string_lossy())
    }
}

pub(crate) fn parse_ts(s: &str, name: &str) -> FfiResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            Failure::invalid(format!(
                "`{name}` is not an RFC 3339 timestamp ({e}): {s:?}"
            ))
        })
}

fn event_from_c(ev: &evident_event) -> FfiResult<Event> {
    let s = |p: *const c_char, name: &'static str| -> FfiResult<Option<String>> {
        Ok(super::opt_str(p, name)?.map(str::to_owned))
    };
    // Validated (and written as given when canonical) by the writer.
    let details_json = s(ev.details_json, "details_json")?;
    let ts = match super::opt_str(ev.ts, "ts")? {
        None => None,
        Some(t) => Some(parse_ts(t, "ts")?),
    };
    Ok(Event {
        event_type: s(ev.event_type, "event_type")?.unwrap_or_default(),
        action: s(ev.action, "action")?.unwrap_or_default(),
        actor: s(ev.actor, "actor")?,
        host: s(ev.host, "host")?,
        session_id: s(ev.session_id, "session_id")?.unwrap_or_default(),
        source: s(ev.source, "source")?.unwrap_or_default(),
        otr: ev.otr,
        success: ev.has_success.then_some(ev.success),
        duration_ms: ev.has_duration_ms.then_some(ev.duration_ms),
        error: s(ev.error, "error")?,
        note: s(ev.note, "note")?,
        git_commit: s(ev.git_commit, "git_commit")?,
        details: None,
        details_json,
        ts,
    })
}

/// The JSON form of an event, read with its details kept as text (checked
/// and, when canonical, written as given by the writer). Strings without
/// escapes are borrowed from the caller's buffer, not copied.
#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct EventJson<'a> {
    #[serde(borrow)]
    event_type: Cow<'a, str>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    actor: Option<Cow<'a, str>>,
    #[serde(borrow)]
    host: Option<Cow<'a, str>>,
    #[serde(borrow)]
    session_id: Cow<'a, str>,
    #[serde(borrow)]
    source: Cow<'a, str>,
    otr: bool,
    success: Option<bool>,
    duration_ms: Option<f64>,
    #[serde(borrow)]
    error: Option<Cow<'a, str>>,
    #[serde(borrow)]
    note: Option<Cow<'a, str>>,
    #[serde(borrow)]
    git_commit: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "raw_details")]
    details: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    ts: Option<Cow<'a, str>>,
}

/// `details` given as JSON `null` is kept (written `null`); absent details
/// are `{}`.
fn raw_details<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<&'de serde_json::value::RawValue>, D::Error> {
    <&serde_json::value::RawValue as serde::Deserialize>::deserialize(d).map(Some)
}

/// An event of the JSON calls, parsed from the caller's buffer (and
/// borrowing from it) with its timestamp checked: what the writer appends.
struct ParsedEvent<'a> {
    json: EventJson<'a>,
    ts: Option<DateTime<Utc>>,
}

impl AsEventView for ParsedEvent<'_> {
    fn event_view(&self) -> EventView<'_> {
        let e = &self.json;
        EventView {
            event_type: &e.event_type,
            action: &e.action,
            actor: e.actor.as_deref(),
            host: e.host.as_deref(),
            session_id: &e.session_id,
            source: &e.source,
            otr: e.otr,
            success: e.success,
            duration_ms: e.duration_ms,
            error: e.error.as_deref(),
            note: e.note.as_deref(),
            git_commit: e.git_commit.as_deref(),
            details: None,
            details_json: e.details.map(|r| r.get()),
            ts: self.ts.as_ref(),
        }
    }
}

/// Parses an event from a JSON object (unknown fields are rejected).
fn event_from_json(text: &str) -> FfiResult<ParsedEvent<'_>> {
    let t = text.trim_start();
    if !t.starts_with('{') {
        // Say what it is rather than what serde expected.
        return match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Err(e) => Err(Failure::invalid(format!(
                "event JSON is not valid JSON: {e}"
            ))),
            Ok(_) => Err(Failure::invalid("event JSON must be a JSON object")),
        };
    }
    let e: EventJson<'_> = serde_json::from_str(text).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            Failure::invalid(format!("event JSON is not valid JSON: {e}"))
        } else {
            Failure::invalid(format!("event JSON: {e}"))
        }
    })?;
    event_from_parsed(e)
}

/// An event from its parsed JSON form (the timestamp checked here).
fn event_from_parsed(e: EventJson<'_>) -> FfiResult<ParsedEvent<'_>> {
    let ts = event_ts(&e)?;
    Ok(ParsedEvent { json: e, ts })
}

/// The event's own timestamp, checked.
fn event_ts(e: &EventJson<'_>) -> FfiResult<Option<DateTime<Utc>>> {
    e.ts.as_deref().map(|t| parse_ts(t, "ts")).transpose()
}

fn write_head(out: *mut evident_head, head: &Head) {
    // SAFETY: `out` is NULL or points to a writable evident_head.
    if let Some(o) = unsafe { out.as_mut() } {
        o.seq = head.seq;
        write_hash_hex(&mut o.hash, head.hash.as_bytes());
    }
}

/// Writes `bytes` as lowercase hex, NUL-terminated, into `buf`: formatted
/// on the stack (no allocation per append). A hash longer than the buffer
/// holds (never: 64 bytes at most) is cut at the buffer's capacity.
fn write_hash_hex(buf: &mut [c_char; EVIDENT_HASH_HEX_CAPACITY], bytes: &[u8]) {
    let mut hex = [0u8; EVIDENT_HASH_HEX_CAPACITY - 1];
    let n = bytes.len().min(hex.len() / 2);
    let text = &mut hex[..2 * n];
    if hex::encode_to_slice(&bytes[..n], text).is_err() {
        // Unreachable: `text` is exactly twice as long as the input.
        buf.fill(0);
        return;
    }
    for (dst, src) in buf.iter_mut().zip(text.iter()) {
        *dst = *src as c_char;
    }
    buf[2 * n..].fill(0);
}

fn clear_head(out: *mut evident_head) {
    // SAFETY: as in write_head.
    if let Some(o) = unsafe { out.as_mut() } {
        o.seq = 0;
        o.hash.fill(0);
    }
}

/// Opens the log at `path` (UTF-8), creating it when it does not exist
/// (unless the options say otherwise). Opening takes the lock, reads the
/// genesis, and recovers the tail: a torn last record is moved into a
/// sidecar file `<path>.torn-<time>-at-<offset>` (see `evident_log_recovery`);
/// a last record that fails its hash check gives `EVIDENT_STATUS_CORRUPT`.
///
/// `options` may be NULL (all defaults); it is not kept. `*out_log`
/// receives the log (NULL on failure); free it with `evident_log_free`.
/// `EVIDENT_STATUS_LOCKED` means another writer holds the log; the message
/// names it (pid, host, user, since when).
#[no_mangle]
pub extern "C" fn evident_log_open(
    path: *const c_char,
    options: *const evident_open_options,
    out_log: *mut *mut evident_log,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_log, "out_log", std::ptr::null_mut());
        let path = try_str!(path, "path");
        // SAFETY: `options` is NULL or a live options object.
        let opts = match unsafe { options.as_ref() } {
            Some(o) => o.opts.clone(),
            None => OpenOptions::new(),
        };
        let log = Log::open(path, opts)?;
        let g = log.genesis();
        let handle = evident_log {
            path: path_cstring(log.path()),
            log_id: to_cstring(&g.log_id),
            key_id: g.key_id.as_deref().map(to_cstring),
            log,
        };
        *out = Box::into_raw(Box::new(handle));
        Ok(evident_status::Ok)
    })
}

/// Appends one entry built from C fields. In the durable modes the entry is
/// on disk when this returns `EVIDENT_STATUS_OK`.
///
/// `out_head` may be NULL; otherwise it receives the new head (the new
/// entry's seq and hash), or zeros on failure.
#[no_mangle]
pub extern "C" fn evident_log_append(
    log: *mut evident_log,
    event: *const evident_event,
    out_head: *mut evident_head,
) -> evident_status {
    ffi_status!({
        clear_head(out_head);
        let l = try_ref!(log.cast_const(), "log");
        let ev = event_from_c(try_ref!(event, "event"))?;
        let head = l.log.append(&ev)?;
        write_head(out_head, &head);
        Ok(evident_status::Ok)
    })
}

/// Appends one entry given as a JSON object with the fields of an event:
/// `event_type`, `action`, `actor`, `host`, `session_id`, `source`, `otr`,
/// `success`, `duration_ms`, `error`, `note`, `git_commit`, `details`, `ts`
/// (RFC 3339). Unknown fields are rejected (`EVIDENT_STATUS_INVALID_ARGUMENT`).
///
/// `out_head` may be NULL; otherwise it receives the new head, or zeros on
/// failure.
#[no_mangle]
pub extern "C" fn evident_log_append_json(
    log: *mut evident_log,
    event_json: *const c_char,
    out_head: *mut evident_head,
) -> evident_status {
    ffi_status!({
        clear_head(out_head);
        let l = try_ref!(log.cast_const(), "log");
        let ev = event_from_json(try_str!(event_json, "event_json"))?;
        let head = l.log.append_one(&ev)?;
        write_head(out_head, &head);
        Ok(evident_status::Ok)
    })
}

/// Writes `heads` into the caller's array of `cap` heads (`out` may be NULL).
fn write_heads(out: *mut evident_head, cap: usize, heads: &[Head]) {
    if out.is_null() {
        return;
    }
    for (i, h) in heads.iter().take(cap).enumerate() {
        // SAFETY: `out` points to `cap` writable heads (header contract).
        write_head(unsafe { out.add(i) }, h);
    }
}

/// Appends `count` entries built from C fields as one batch: one lock, one
/// write and, in the durable modes, one fsync for all of them. In the
/// durable modes every entry is on disk when this returns
/// `EVIDENT_STATUS_OK`; on any other status none of them is acknowledged.
/// Every event is checked before anything is written: an invalid event
/// rejects the whole batch (the message names its index) and writes
/// nothing. A crash during the call may leave a prefix of the batch in the
/// log as valid entries (spec § 10.5): check the head before retrying.
///
/// `events` points to `count` events (may be NULL when `count` is 0; an
/// empty batch writes nothing). `out_heads` may be NULL; otherwise it
/// points to `count` caller-owned `evident_head`s that receive each entry's
/// head in order (untouched on failure). Nothing is kept after the call.
#[no_mangle]
pub extern "C" fn evident_log_append_batch(
    log: *mut evident_log,
    events: *const evident_event,
    count: usize,
    out_heads: *mut evident_head,
) -> evident_status {
    ffi_status!({
        let l = try_ref!(log.cast_const(), "log");
        let evs = c_slice(events, count, "events")?
            .iter()
            .enumerate()
            .map(|(i, e)| {
                event_from_c(e).map_err(|mut f| {
                    f.message = format!("event {i}: {}", f.message);
                    f
                })
            })
            .collect::<FfiResult<Vec<Event>>>()?;
        let heads = l.log.append_batch(&evs)?;
        write_heads(out_heads, count, &heads);
        Ok(evident_status::Ok)
    })
}

/// Appends the events of a buffer of newline-separated JSON objects (the
/// form of `evident_log_append_json`, one per line; empty lines and a
/// `\r` before the newline are ignored) as one batch, with the guarantees
/// of `evident_log_append_batch`. An invalid line rejects the whole batch
/// (the message names its line number) and writes nothing.
///
/// `buf` points to `len` bytes of UTF-8 (not NUL-terminated; may be NULL
/// when `len` is 0). `out_heads` may be NULL; otherwise it points to
/// `heads_capacity` caller-owned `evident_head`s that receive the heads of
/// the first `heads_capacity` entries in order. `out_count` may be NULL;
/// otherwise it receives the number of entries appended (0 on failure).
#[no_mangle]
pub extern "C" fn evident_log_append_jsonl(
    log: *mut evident_log,
    buf: *const c_char,
    len: usize,
    out_heads: *mut evident_head,
    heads_capacity: usize,
    out_count: *mut usize,
) -> evident_status {
    append_events(
        log,
        buf,
        len,
        out_heads,
        heads_capacity,
        out_count,
        |bytes, _| {
            let mut evs = Vec::new();
            for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let ev = std::str::from_utf8(line)
                    .map_err(|e| {
                        Failure::new(
                            evident_status::InvalidUtf8,
                            format!("line {}: not UTF-8: {e}", i + 1),
                        )
                    })
                    .and_then(event_from_json)
                    .map_err(|mut f| {
                        if !f.message.starts_with("line ") {
                            f.message = format!("line {}: {}", i + 1, f.message);
                        }
                        f
                    })?;
                evs.push(ev);
            }
            Ok(evs)
        },
    )
}

/// The shared part of the buffer batch calls: `out_count` set to 0 first,
/// the events `parse` reads from the `len` bytes at `buf` appended as one
/// batch, their heads written to `out_heads` and their number to
/// `out_count`.
fn append_events<'b>(
    log: *mut evident_log,
    buf: *const c_char,
    len: usize,
    out_heads: *mut evident_head,
    heads_capacity: usize,
    out_count: *mut usize,
    parse: impl FnOnce(&'b [u8], usize) -> FfiResult<Vec<ParsedEvent<'b>>>,
) -> evident_status {
    ffi_status!({
        // SAFETY: `out_count` is NULL or points to a writable size_t.
        if let Some(c) = unsafe { out_count.as_mut() } {
            *c = 0;
        }
        let l = try_ref!(log.cast_const(), "log");
        let bytes = c_slice(buf.cast::<u8>(), len, "buf")?;
        // The caller's head slots: a batch of n events usually comes with
        // n (at most one event per 2 bytes).
        let evs = parse(bytes, heads_capacity.min(bytes.len() / 2))?;
        let heads = l.log.append_batch_of(&evs)?;
        write_heads(out_heads, heads_capacity, &heads);
        // SAFETY: as above.
        if let Some(c) = unsafe { out_count.as_mut() } {
            *c = heads.len();
        }
        Ok(evident_status::Ok)
    })
}

/// The events of a JSON array of event objects, parsed in one pass and
/// converted as they are parsed, into a vector made for `hint` events (so
/// that neither it nor the parsed forms are moved as it grows). An invalid
/// array is parsed again element by element to name the first invalid
/// event (`event <index>: ...`) with the message `evident_log_append_json`
/// would give for it.
fn events_from_json_array(text: &str, hint: usize) -> FfiResult<Vec<ParsedEvent<'_>>> {
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = serde::de::DeserializeSeed::deserialize(
        EventsSeed {
            hint,
            failure: &mut failure,
        },
        &mut de,
    )
    .and_then(|evs| de.end().map(|()| evs));
    match parsed {
        Ok(evs) => Ok(evs),
        Err(first) => {
            if let Some(f) = failure {
                return Err(f); // a conversion's failure, with its index
            }
            let items: Vec<&serde_json::value::RawValue> =
                serde_json::from_str(text).map_err(|e| {
                    if e.is_syntax() || e.is_eof() {
                        Failure::invalid(format!("events JSON is not valid JSON: {e}"))
                    } else {
                        Failure::invalid(format!("events JSON must be a JSON array: {e}"))
                    }
                })?;
            for (i, item) in items.iter().enumerate() {
                event_from_json(item.get())
                    .map_err(|f| Failure::invalid(format!("event {i}: {}", f.message)))?;
            }
            // Every element is valid alone: not expected; say what serde said.
            Err(Failure::invalid(format!("events JSON: {first}")))
        }
    }
}

/// The events of `bytes`, UTF-8 holding a JSON array of event objects
/// (see `events_from_json_array`).
fn json_array_events(bytes: &[u8], hint: usize) -> FfiResult<Vec<ParsedEvent<'_>>> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let which = bytes
            .get(..at)
            .and_then(array_element_at_end)
            .map_or_else(String::new, |i| format!("event {i}: "));
        Failure::new(
            evident_status::InvalidUtf8,
            format!(
                "{which}events JSON is not UTF-8 at byte {at} (a lone surrogate, or bytes that are not text): {e}"
            ),
        )
    })?;
    events_from_json_array(text, hint)
}

/// The 0-based index of the element of a JSON array that `prefix`, the
/// start of the array's text, ends inside (`None` when it ends outside
/// any element): commas at depth 1, outside strings, counted.
fn array_element_at_end(prefix: &[u8]) -> Option<usize> {
    let (mut depth, mut index, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &c in prefix {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => index += 1,
            _ => {}
        }
    }
    (depth >= 1).then_some(index)
}

/// The array of `events_from_json_array`: each event converted as soon as
/// it is parsed; a conversion's failure is kept in `failure`, naming the
/// event's index.
struct EventsSeed<'f> {
    hint: usize,
    failure: &'f mut Option<Failure>,
}

impl<'de> serde::de::DeserializeSeed<'de> for EventsSeed<'_> {
    type Value = Vec<ParsedEvent<'de>>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> Result<Vec<ParsedEvent<'de>>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for EventsSeed<'_> {
    type Value = Vec<ParsedEvent<'de>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of event objects")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> Result<Vec<ParsedEvent<'de>>, A::Error> {
        let mut out = Vec::with_capacity(self.hint);
        while let Some(json) = seq.next_element::<EventJson<'de>>()? {
            // Checked by reference and moved once, into its slot (the
            // parsed form is a few hundred bytes).
            match event_ts(&json) {
                Ok(ts) => out.push(ParsedEvent { json, ts }),
                Err(f) => {
                    let msg = format!("event {}: {}", out.len(), f.message);
                    *self.failure = Some(Failure::invalid(msg));
                    return Err(serde::de::Error::custom("an event is not valid"));
                }
            }
        }
        Ok(out)
    }
}

/// Appends the events of a JSON array of event objects (each of the form
/// of `evident_log_append_json`; `[]` appends nothing) as one batch, with
/// the guarantees of `evident_log_append_batch`: one lock, one write and,
/// in the durable modes, one fsync; every event is checked before anything
/// is written, and an invalid one rejects the whole batch (the message
/// names its index, from 0) and writes nothing. A crash during the call may
/// leave a prefix of the batch in the log as valid entries (spec § 10.5):
/// check the head before retrying.
///
/// `buf` points to `len` bytes of UTF-8 (not NUL-terminated; may be NULL
/// when `len` is 0, which is refused as not JSON). `out_heads` may be NULL;
/// otherwise it points to `heads_capacity` caller-owned `evident_head`s
/// that receive the heads of the first `heads_capacity` entries in order.
/// `out_count` may be NULL; otherwise it receives the number of entries
/// appended (0 on failure). Nothing is kept after the call.
#[no_mangle]
pub extern "C" fn evident_log_append_json_array(
    log: *mut evident_log,
    buf: *const c_char,
    len: usize,
    out_heads: *mut evident_head,
    heads_capacity: usize,
    out_count: *mut usize,
) -> evident_status {
    append_events(
        log,
        buf,
        len,
        out_heads,
        heads_capacity,
        out_count,
        json_array_events,
    )
}

/// Whether the JSON text holds a `null` literal (outside strings). Linear;
/// a text without the bytes `null` is settled by one vectorised search.
/// Meant for valid JSON: it runs once the parser has accepted the text.
fn holds_null(text: &[u8]) -> bool {
    if memchr::memmem::find(text, b"null").is_none() {
        return false;
    }
    let (mut in_string, mut escaped) = (false, false);
    for &b in text {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'n' {
            // Outside strings only `null` holds an `n` in JSON.
            return true;
        }
    }
    false
}

/// As `evident_log_append_json_array`, but a JSON `null` anywhere in the
/// array (as a field's value or inside `details`) refuses the whole batch
/// with `EVIDENT_STATUS_INVALID_ARGUMENT` and writes nothing. For callers
/// whose JSON encoder writes NaN and the infinities as `null` (orjson does):
/// a refused batch is one to encode again by stricter rules, and a batch
/// without `null` needs no search of the caller's own. The search costs a
/// fraction of the parse. Since ABI 1.12.
#[no_mangle]
pub extern "C" fn evident_log_append_json_array_no_null(
    log: *mut evident_log,
    buf: *const c_char,
    len: usize,
    out_heads: *mut evident_head,
    heads_capacity: usize,
    out_count: *mut usize,
) -> evident_status {
    append_events(
        log,
        buf,
        len,
        out_heads,
        heads_capacity,
        out_count,
        |bytes, hint| {
            let evs = json_array_events(bytes, hint)?;
            if holds_null(bytes) {
                return Err(Failure::invalid(
                    "events JSON holds a null (refused by evident_log_append_json_array_no_null)",
                ));
            }
            Ok(evs)
        },
    )
}

/// Writes buffered entries and makes everything appended so far durable.
#[no_mangle]
pub extern "C" fn evident_log_sync(log: *mut evident_log) -> evident_status {
    ffi_status!({
        let l = try_ref!(log.cast_const(), "log");
        l.log.sync()?;
        Ok(evident_status::Ok)
    })
}

/// Flushes, syncs and releases the lock. Later appends and syncs return
/// `EVIDENT_STATUS_CLOSED`; closing twice is OK. The object stays valid (for
/// the accessors) until `evident_log_free`, and so do its open file
/// descriptors (the log and its lock file; the lock itself is released
/// here): free a closed log when done with it. Call this before
/// `evident_log_free` to see a failing final sync.
#[no_mangle]
pub extern "C" fn evident_log_close(log: *mut evident_log) -> evident_status {
    ffi_status!({
        let l = try_ref!(log.cast_const(), "log");
        l.log.close()?;
        Ok(evident_status::Ok)
    })
}

/// Frees a log, closing it first if needed (errors of that close are lost:
/// call `evident_log_close` to see them). NULL is a no-op.
#[no_mangle]
pub extern "C" fn evident_log_free(log: *mut evident_log) {
    run_value((), || {
        if !log.is_null() {
            // SAFETY: `log` came from evident_log_open and is not in use.
            drop(unsafe { Box::from_raw(log) });
        }
    })
}

/// Writes the current head (including entries buffered but not yet synced)
/// to `*out_head`. On a handle inherited over fork(): `EVIDENT_STATUS_FORKED`.
#[no_mangle]
pub extern "C" fn evident_log_head(
    log: *const evident_log,
    out_head: *mut evident_head,
) -> evident_status {
    ffi_status!({
        clear_head(out_head);
        let l = try_ref!(log, "log");
        if out_head.is_null() {
            return Err(Failure::null("out_head"));
        }
        // In a forked child, without taking the log's lock (a thread of
        // the parent may have held it at the fork: the child would wait
        // for ever).
        write_head(out_head, &l.log.try_head()?);
        Ok(evident_status::Ok)
    })
}

/// Takes a snapshot of what this handle found and repaired: whether open
/// created the log and every torn tail moved aside. `*out_recovery`
/// receives it (NULL on failure); free it with `evident_recovery_free`. On a
/// handle inherited over fork(): `EVIDENT_STATUS_FORKED`.
#[no_mangle]
pub extern "C" fn evident_log_recovery(
    log: *const evident_log,
    out_recovery: *mut *mut evident_recovery,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_recovery, "out_recovery", std::ptr::null_mut());
        let l = try_ref!(log, "log");
        let r = l.log.try_recovery()?;
        let rec = evident_recovery {
            created: r.created,
            torn: r
                .torn
                .iter()
                .map(|t| (t.offset, t.len, path_cstring(&t.sidecar)))
                .collect(),
            truncated: r.truncated.map(|t| (t.durable_len, t.len)),
        };
        *out = Box::into_raw(Box::new(rec));
        Ok(evident_status::Ok)
    })
}

/// The log's path as given to `evident_log_open`. Owned by the log, valid
/// until `evident_log_free`. NULL if `log` is NULL.
#[no_mangle]
pub extern "C" fn evident_log_path(log: *const evident_log) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: `log` is NULL or a live log.
        unsafe { log.as_ref() }.map_or(std::ptr::null(), |l| l.path.as_ptr())
    })
}

/// The log id from the genesis record (random, chosen at creation). Owned by
/// the log, valid until `evident_log_free`. NULL if `log` is NULL.
#[no_mangle]
pub extern "C" fn evident_log_log_id(log: *const evident_log) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: `log` is NULL or a live log.
        unsafe { log.as_ref() }.map_or(std::ptr::null(), |l| l.log_id.as_ptr())
    })
}

/// The key id from the genesis record (identifies the HMAC key without
/// revealing it), or NULL for a keyless log (or a NULL `log`). Owned by the
/// log, valid until `evident_log_free`.
#[no_mangle]
pub extern "C" fn evident_log_key_id(log: *const evident_log) -> *const c_char {
    ffi_value!(std::ptr::null(), {
        // SAFETY: `log` is NULL or a live log.
        unsafe { log.as_ref() }.map_or(std::ptr::null(), |l| opt_ptr(&l.key_id))
    })
}

/// The log's framing (`EVIDENT_FRAMING_JSONL` or `_BINARY`;
/// `EVIDENT_FRAMING_AUTO` if `log` is NULL).
#[no_mangle]
pub extern "C" fn evident_log_framing(log: *const evident_log) -> evident_framing {
    ffi_value!(evident_framing::Auto, {
        // SAFETY: `log` is NULL or a live log.
        unsafe { log.as_ref() }.map_or(evident_framing::Auto, |l| l.log.framing().into())
    })
}

/// The log's hash algorithm (`EVIDENT_ALG_AUTO` if `log` is NULL).
#[no_mangle]
pub extern "C" fn evident_log_alg(log: *const evident_log) -> evident_alg {
    ffi_value!(evident_alg::Auto, {
        // SAFETY: `log` is NULL or a live log.
        unsafe { log.as_ref() }.map_or(evident_alg::Auto, |l| l.log.genesis().alg.into())
    })
}

/// Frees a recovery report. NULL is a no-op.
#[no_mangle]
pub extern "C" fn evident_recovery_free(recovery: *mut evident_recovery) {
    run_value((), || {
        if !recovery.is_null() {
            // SAFETY: `recovery` came from evident_log_recovery.
            drop(unsafe { Box::from_raw(recovery) });
        }
    })
}

/// Whether the log was created by this open (false if `recovery` is NULL).
#[no_mangle]
pub extern "C" fn evident_recovery_created(recovery: *const evident_recovery) -> bool {
    ffi_value!(false, {
        // SAFETY: `recovery` is NULL or a live report.
        unsafe { recovery.as_ref() }.is_some_and(|r| r.created)
    })
}

/// Whether open found the log shorter than the length an earlier writer had
/// made durable (recorded in the lock file): bytes were removed from its
/// end after they were synced, which no crash does (a truncation, or an
/// older copy put in its place). Open recovers as always (a torn tail is
/// moved aside, the chain goes on from the last complete entry) and reports
/// it here, once. When true, `*out_durable_len` and `*out_len` (each may be
/// NULL) receive the durable length and the length at open; otherwise 0.
/// False if `recovery` is NULL. Since ABI 1.11.
#[no_mangle]
pub extern "C" fn evident_recovery_truncated(
    recovery: *const evident_recovery,
    out_durable_len: *mut u64,
    out_len: *mut u64,
) -> bool {
    ffi_value!(false, {
        // SAFETY: `recovery` is NULL or a live report.
        let t = unsafe { recovery.as_ref() }.and_then(|r| r.truncated);
        let (durable, len) = t.unwrap_or((0, 0));
        // SAFETY: each out-pointer is NULL or writable.
        unsafe {
            if let Some(o) = out_durable_len.as_mut() {
                *o = durable;
            }
            if let Some(o) = out_len.as_mut() {
                *o = len;
            }
        }
        t.is_some()
    })
}

/// The number of torn tails moved aside (0 if `recovery` is NULL).
#[no_mangle]
pub extern "C" fn evident_recovery_torn_count(recovery: *const evident_recovery) -> usize {
    ffi_value!(0, {
        // SAFETY: `recovery` is NULL or a live report.
        unsafe { recovery.as_ref() }.map_or(0, |r| r.torn.len())
    })
}

/// Torn tail number `index` (0-based, below `evident_recovery_torn_count`):
/// the offset in the log where the torn bytes started (the log now ends
/// there), their length, and the sidecar file that holds them (owned by the
/// report, valid until `evident_recovery_free`). Each out-pointer may be
/// NULL. An index out of range gives `EVIDENT_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn evident_recovery_torn_tail(
    recovery: *const evident_recovery,
    index: usize,
    out_offset: *mut u64,
    out_len: *mut u64,
    out_sidecar: *mut *const c_char,
) -> evident_status {
    ffi_status!({
        // SAFETY: each out-pointer is NULL or writable.
        unsafe {
            if let Some(o) = out_offset.as_mut() {
                *o = 0;
            }
            if let Some(o) = out_len.as_mut() {
                *o = 0;
            }
            if let Some(o) = out_sidecar.as_mut() {
                *o = std::ptr::null();
            }
        }
        let r = try_ref!(recovery, "recovery");
        let Some((offset, len, sidecar)) = r.torn.get(index) else {
            return Err(Failure::invalid(format!(
                "torn tail index {index} out of range (count {})",
                r.torn.len()
            )));
        };
        // SAFETY: as above.
        unsafe {
            if let Some(o) = out_offset.as_mut() {
                *o = *offset;
            }
            if let Some(o) = out_len.as_mut() {
                *o = *len;
            }
            if let Some(o) = out_sidecar.as_mut() {
                *o = sidecar.as_ptr();
            }
        }
        Ok(evident_status::Ok)
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_element_a_prefix_ends_in_is_named() {
        let at = |s: &str| array_element_at_end(s.as_bytes());
        assert_eq!(at(""), None);
        assert_eq!(at("["), Some(0));
        assert_eq!(at(r#"[{"a":"x"#), Some(0));
        assert_eq!(at(r#"[{"a":1},{"b":[1,2,{"c":"x"#), Some(1));
        assert_eq!(at(r#"[{"a":"1,2"},{"b":"\","}, {"c":"#), Some(2));
        assert_eq!(at(r#"[{"a":1}]"#), None);
        let json = [
            &br#"[{"event_type":"ok"},{"event_type":"x","details":{"k":""#[..],
            b"\xed\xb2\x80\"}}]",
        ]
        .concat();
        let e = json_array_events(&json, 2)
            .err()
            .map(|f| f.message)
            .unwrap_or_default();
        assert!(
            e.starts_with("event 1: events JSON is not UTF-8 at byte "),
            "{e}"
        );
    }

    use super::*;
    use crate::ffi::options::*;
    use std::ffi::CStr;

    fn cstr(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    fn last_error() -> String {
        // SAFETY: never NULL.
        unsafe { CStr::from_ptr(crate::ffi::evident_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn head_hex_is_formatted_like_to_hex() {
        for len in [0usize, 1, 32, 64] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 5) as u8).collect();
            let hash = crate::chain::Hash::from_slice(&bytes)
                .unwrap_or_else(|| crate::chain::Hash::zero(len));
            let mut fast = [1 as c_char; EVIDENT_HASH_HEX_CAPACITY];
            write_hash_hex(&mut fast, hash.as_bytes());
            let mut slow = [1 as c_char; EVIDENT_HASH_HEX_CAPACITY];
            // The former formatting: a String per head, copied.
            slow.fill(0);
            for (dst, src) in slow.iter_mut().zip(hash.to_hex().bytes()) {
                *dst = src as c_char;
            }
            assert_eq!(fast, slow, "hash of {len} bytes");
            let text: Vec<u8> = fast
                .iter()
                .take_while(|&&c| c != 0)
                .map(|&c| c as u8)
                .collect();
            assert_eq!(String::from_utf8(text).unwrap(), hash.to_hex());
        }
    }

    #[test]
    fn null_arguments_are_errors_not_crashes() {
        let mut log: *mut evident_log = std::ptr::NonNull::dangling().as_ptr();
        let st = evident_log_open(std::ptr::null(), std::ptr::null(), &mut log);
        assert_eq!(st, evident_status::NullArgument);
        assert!(log.is_null(), "out pointer is reset on failure");
        assert!(last_error().contains("`path`"));

        let p = cstr("/nonexistent/x.jsonl");
        let st = evident_log_open(p.as_ptr(), std::ptr::null(), std::ptr::null_mut());
        assert_eq!(st, evident_status::NullArgument);

        let ev: evident_event = unsafe { std::mem::zeroed() };
        let st = evident_log_append(std::ptr::null_mut(), &ev, std::ptr::null_mut());
        assert_eq!(st, evident_status::NullArgument);
        assert_eq!(
            evident_log_sync(std::ptr::null_mut()),
            evident_status::NullArgument
        );
        assert_eq!(
            evident_log_close(std::ptr::null_mut()),
            evident_status::NullArgument
        );
        let mut head: evident_head = unsafe { std::mem::zeroed() };
        assert_eq!(
            evident_log_head(std::ptr::null(), &mut head),
            evident_status::NullArgument
        );
        assert!(evident_log_path(std::ptr::null()).is_null());
        assert_eq!(evident_log_framing(std::ptr::null()), evident_framing::Auto);
        evident_log_free(std::ptr::null_mut());
        evident_recovery_free(std::ptr::null_mut());
        evident_open_options_free(std::ptr::null_mut());
        assert_eq!(evident_recovery_torn_count(std::ptr::null()), 0);
        assert!(!evident_recovery_truncated(
            std::ptr::null(),
            std::ptr::null_mut(),
            std::ptr::null_mut()
        ));
        assert_eq!(
            evident_open_options_set_durability(std::ptr::null_mut(), 1),
            evident_status::NullArgument
        );
    }

    #[test]
    fn append_json_array_is_one_batch_with_the_json_rules() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        let path = cstr(p.to_str().unwrap());
        let mut log = std::ptr::null_mut();
        assert_eq!(
            evident_log_open(path.as_ptr(), std::ptr::null(), &mut log),
            evident_status::Ok
        );
        let mut heads: [evident_head; 3] = unsafe { std::mem::zeroed() };
        let mut count = 99usize;
        let call = |text: &str, heads: &mut [evident_head], count: &mut usize| {
            evident_log_append_json_array(
                log,
                text.as_ptr().cast(),
                text.len(),
                heads.as_mut_ptr(),
                heads.len(),
                count,
            )
        };

        // Invalid events: nothing written, the index named, count 0.
        for (text, needle) in [
            (
                r#"[{"event_type":"A"},{"event_type":"B","bogus":1}]"#,
                "event 1: ",
            ),
            (
                r#"[{"event_type":"A"},"text"]"#,
                "event 1: event JSON must be a JSON object",
            ),
            (r#"[{"event_type":"A","ts":"yesterday"}]"#, "event 0: `ts`"),
            (r#"[{"event_type":"A","success":1}]"#, "event 0: "),
            (r#"{"event_type":"A"}"#, "must be a JSON array"),
            (r#"[{"event_type":"A"}"#, "not valid JSON"),
            ("", "not valid JSON"),
        ] {
            assert_eq!(
                call(text, &mut heads, &mut count),
                evident_status::InvalidArgument,
                "{text}"
            );
            assert!(last_error().contains(needle), "{text}: {}", last_error());
            assert_eq!(count, 0);
        }
        let bad = [0xffu8, b'[', b']'];
        assert_eq!(
            evident_log_append_json_array(
                log,
                bad.as_ptr().cast(),
                bad.len(),
                std::ptr::null_mut(),
                0,
                &mut count
            ),
            evident_status::InvalidUtf8
        );
        assert!(last_error().contains("not UTF-8"), "{}", last_error());
        let mut head: evident_head = unsafe { std::mem::zeroed() };
        assert_eq!(evident_log_head(log, &mut head), evident_status::Ok);
        assert_eq!(head.seq, 0, "no invalid batch wrote anything");

        // An empty array appends nothing.
        assert_eq!(call("[]", &mut heads, &mut count), evident_status::Ok);
        assert_eq!(count, 0);

        // Three events, heads in order; details written as given when
        // canonical, canonicalised otherwise; `null` optional fields unset.
        let text = r#" [ {"event_type":"A","action":"a","details":{"b":1,"a":[true,null]}},
            {"action":"b","event_type":"B","details":{ "z" : 2 },"actor":null,"ts":"2026-12-03T06:00:00Z"},
            {"event_type":"C","details":"text","success":false,"duration_ms":5} ] "#;
        assert_eq!(call(text, &mut heads, &mut count), evident_status::Ok);
        assert_eq!(count, 3);
        assert_eq!(
            heads.iter().map(|h| h.seq).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(evident_log_head(log, &mut head), evident_status::Ok);
        assert_eq!(head.seq, 3);
        assert_eq!(head.hash, heads[2].hash);
        assert_eq!(evident_log_close(log), evident_status::Ok);
        evident_log_free(log);

        let entries: Vec<serde_json::Value> = std::fs::read_to_string(&p)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0]["event_type"], "A");
        assert_eq!(
            entries[0]["details"],
            serde_json::json!({"a": [true, null], "b": 1})
        );
        assert_eq!(entries[1]["action"], "b");
        assert_eq!(entries[1]["details"], serde_json::json!({"z": 2}));
        assert_eq!(entries[1]["ts"], "2026-12-03T06:00:00.000000Z");
        assert_eq!(entries[2]["details"], "text");
        assert_eq!(entries[2]["success"], false);
        assert_eq!(entries[2]["duration_ms"], 5.0);
    }

    #[test]
    fn holds_null_finds_null_literals_only() {
        for (text, want) in [
            (r#"[]"#, false),
            (r#"[{"a":null}]"#, true),
            (r#"[null]"#, true),
            (r#" [ {"a" : [1, null ] } ] "#, true),
            (r#"[{"null":"null"}]"#, false),
            (r#"[{"a":"x\"null"}]"#, false),
            (r#"[{"a":"\\"},null]"#, true),
            (r#"[{"a":"\\\"null"}]"#, false),
            (r#"[{"nullify":true,"b":false}]"#, false),
            (r#"[{"a":"nul","b":"l"}]"#, false),
        ] {
            assert_eq!(holds_null(text.as_bytes()), want, "{text}");
        }
    }

    #[test]
    fn append_json_array_no_null_refuses_a_null_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        let path = cstr(p.to_str().unwrap());
        let mut log = std::ptr::null_mut();
        assert_eq!(
            evident_log_open(path.as_ptr(), std::ptr::null(), &mut log),
            evident_status::Ok
        );
        let mut heads: [evident_head; 2] = unsafe { std::mem::zeroed() };
        let mut count = 99usize;
        let call = |text: &str, heads: &mut [evident_head], count: &mut usize| {
            evident_log_append_json_array_no_null(
                log,
                text.as_ptr().cast(),
                text.len(),
                heads.as_mut_ptr(),
                heads.len(),
                count,
            )
        };
        let mut head: evident_head = unsafe { std::mem::zeroed() };
        for text in [
            r#"[{"event_type":"A","details":{"x":null}}]"#,
            r#"[{"event_type":"A"},{"event_type":"B","actor":null}]"#,
            r#"[{"event_type":"A","details":null}]"#,
        ] {
            assert_eq!(
                call(text, &mut heads, &mut count),
                evident_status::InvalidArgument,
                "{text}"
            );
            assert!(last_error().contains("holds a null"), "{}", last_error());
            assert_eq!(count, 0);
            assert_eq!(evident_log_head(log, &mut head), evident_status::Ok);
            assert_eq!(head.seq, 0, "{text}: nothing written");
        }
        // Other errors are the array call's own.
        assert_eq!(
            call(
                r#"[{"event_type":"A","bogus":null}]"#,
                &mut heads,
                &mut count
            ),
            evident_status::InvalidArgument
        );
        assert!(last_error().contains("event 0: "), "{}", last_error());
        // Without null (the word inside strings is no null): appended.
        let text = r#"[{"event_type":"A","action":"null","details":{"null":[1,"x\"null"]}},
            {"event_type":"B","details":{"n":false}}]"#;
        assert_eq!(call(text, &mut heads, &mut count), evident_status::Ok);
        assert_eq!(count, 2);
        assert_eq!(evident_log_head(log, &mut head), evident_status::Ok);
        assert_eq!((head.seq, head.hash), (2, heads[1].hash));
        assert_eq!(evident_log_close(log), evident_status::Ok);
        evident_log_free(log);
        let text = std::fs::read_to_string(&p).unwrap();
        let entries: Vec<serde_json::Value> = text
            .lines()
            .skip(1)
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(entries[0]["action"], "null");
        assert_eq!(
            entries[0]["details"],
            serde_json::json!({"null": [1, "x\"null"]})
        );
    }

    #[test]
    fn append_fields_and_json_through_the_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let path = cstr(dir.path().join("a.jsonl").to_str().unwrap());
        let mut opts = std::ptr::null_mut();
        assert_eq!(evident_open_options_new(&mut opts), evident_status::Ok);
        assert_eq!(
            evident_open_options_set_durability(opts, 99),
            evident_status::InvalidArgument
        );
        let actor = cstr("tester");
        assert_eq!(
            evident_open_options_set_actor(opts, actor.as_ptr()),
            evident_status::Ok
        );
        let mut log = std::ptr::null_mut();
        assert_eq!(
            evident_log_open(path.as_ptr(), opts, &mut log),
            evident_status::Ok
        );
        evident_open_options_free(opts);

        let (t, a, d) = (cstr("RUN"), cstr("measure"), cstr(r#"{"v":1.5}"#));
        let mut ev: evident_event = unsafe { std::mem::zeroed() };
        ev.event_type = t.as_ptr();
        ev.action = a.as_ptr();
        ev.details_json = d.as_ptr();
        ev.has_success = true;
        ev.success = true;
        let mut head: evident_head = unsafe { std::mem::zeroed() };
        assert_eq!(evident_log_append(log, &ev, &mut head), evident_status::Ok);
        assert_eq!(head.seq, 1);
        let hex = unsafe { CStr::from_ptr(head.hash.as_ptr()) }
            .to_str()
            .unwrap();
        assert_eq!(hex.len(), 64);

        let bad = cstr("{not json");
        ev.details_json = bad.as_ptr();
        assert_eq!(
            evident_log_append(log, &ev, &mut head),
            evident_status::InvalidArgument
        );
        assert_eq!(head.seq, 0, "head is zeroed on failure");
        assert!(last_error().contains("details_json"), "{}", last_error());

        let j = cstr(r#"{"event_type":"RUN","action":"x","bogus":1}"#);
        assert_eq!(
            evident_log_append_json(log, j.as_ptr(), &mut head),
            evident_status::InvalidArgument
        );
        assert!(last_error().contains("bogus"), "{}", last_error());
        let j = cstr(r#"["RUN","x"]"#);
        assert_eq!(
            evident_log_append_json(log, j.as_ptr(), &mut head),
            evident_status::InvalidArgument
        );
        let j = cstr(r#"{"event_type":"RUN","action":"x","success":false}"#);
        assert_eq!(
            evident_log_append_json(log, j.as_ptr(), &mut head),
            evident_status::Ok
        );
        assert_eq!(head.seq, 2);

        assert_eq!(evident_log_close(log), evident_status::Ok);
        assert_eq!(
            evident_log_append_json(log, j.as_ptr(), std::ptr::null_mut()),
            evident_status::Closed
        );
        evident_log_free(log);
    }
}
