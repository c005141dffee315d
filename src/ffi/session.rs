//! `evident_session`: the session container (traces, annotation layers,
//! measurements, history, metadata) saved to a crash-safe, versioned file;
//! `evident_trace`: a view of one trace's samples; `evident_save_options`.
//!
//! Structured data crosses the boundary as JSON in the serde shapes of
//! `evident::session` (`Annotation`, `LayerProps`, `Measurement`,
//! `HistoryEntry`, `TraceInfo`). JSON arguments must be objects; unknown
//! fields are rejected, and a bad value names its field.

use std::ffi::c_char;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::OnceLock;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use super::log::evident_log;
use super::{
    evident_status, ffi_status, key_arg, owned_string, run_value, try_mut, try_opt_str, try_out,
    try_ref, try_str, Failure, FfiResult,
};
use crate::chain::Key;
use crate::error::Error;
use crate::session::history::{self, ScriptStyle};
use crate::session::{
    compact, trace_json, verify_session, versions, Annotation, Dtype, HistoryEntry, LayerProps,
    LoadOptions, Measurement, SaveOptions, Session, Trace, TraceInfo,
};

/// Sample types of a trace. Passed as `uint32_t`. Samples are
/// little-endian.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum evident_dtype {
    /// 64-bit IEEE 754 floating point (`double`).
    F64 = 1,
    /// 32-bit IEEE 754 floating point (`float`).
    F32 = 2,
    /// `int8_t`.
    I8 = 3,
    /// `int16_t`.
    I16 = 4,
    /// `int32_t`.
    I32 = 5,
    /// `int64_t`.
    I64 = 6,
    /// `uint8_t`.
    U8 = 7,
    /// `uint16_t`.
    U16 = 8,
    /// `uint32_t`.
    U32 = 9,
    /// `uint64_t`.
    U64 = 10,
    /// One byte per sample, 0 or 1 (C `bool`).
    Bool = 11,
    /// Packed bits for digital channels: eight samples per byte, the first
    /// sample in the least significant bit; `len_samples` samples take
    /// `(len_samples + 7) / 8` bytes.
    Bit = 12,
}

impl From<Dtype> for evident_dtype {
    fn from(d: Dtype) -> Self {
        match d {
            Dtype::F64 => Self::F64,
            Dtype::F32 => Self::F32,
            Dtype::I8 => Self::I8,
            Dtype::I16 => Self::I16,
            Dtype::I32 => Self::I32,
            Dtype::I64 => Self::I64,
            Dtype::U8 => Self::U8,
            Dtype::U16 => Self::U16,
            Dtype::U32 => Self::U32,
            Dtype::U64 => Self::U64,
            Dtype::Bool => Self::Bool,
            Dtype::Bit => Self::Bit,
        }
    }
}

/// An analysis session: traces, annotation layers, measurements, operation
/// history and metadata, in memory; saved with `evident_session_save`.
///
/// Thread safety: functions taking `const evident_session *` may run on
/// several threads at once; a function taking `evident_session *` (a
/// change, a save, `evident_session_free`) needs exclusive access: no other
/// call on the session may run at the same time. A session may move between
/// threads. Ownership: created by `evident_session_new` or
/// `evident_session_load`, freed with `evident_session_free`.
pub struct evident_session {
    pub(super) s: Session,
}

/// One trace of a session: its samples and what they mean. An independent,
/// immutable object: it keeps its samples (for a loaded session, the file
/// mapping) alive by itself, so it stays valid after the session is freed,
/// changed or saved, until `evident_trace_free`.
///
/// Thread safety: immutable; may be read from several threads at once, but
/// not freed while read. Ownership: created by `evident_session_get_trace`,
/// freed with `evident_trace_free`.
pub struct evident_trace {
    name: String,
    pub(super) trace: Trace,
    /// The checked view of the samples, made on first access: `None` when
    /// the trace's own bytes are aligned and valid, `Some(copy)` when they
    /// had to be copied to an aligned buffer.
    view: OnceLock<SampleView>,
}

/// The checked view of a trace's samples (see `evident_trace::view`), or
/// why there is none.
type SampleView = Result<Option<Vec<u64>>, (evident_status, String)>;

/// Options for `evident_session_save`, built with the
/// `evident_save_options_set_*` functions. Defaults: no compression, traces
/// included, no key, fsync on (`sync` true), lock timeout 10 s (how long a
/// save waits for another process saving the same file), no audit log.
///
/// Thread safety: setters need exclusive access; a built object may be read
/// by several concurrent `evident_session_save` calls (on different
/// sessions). Ownership: created by `evident_save_options_new`, freed with
/// `evident_save_options_free`; the audit log set with
/// `evident_save_options_set_audit_log` is borrowed, not owned.
pub struct evident_save_options {
    compress: Option<i32>,
    include_traces: bool,
    key: Option<Key>,
    sync: bool,
    lock_timeout: Duration,
    audit: Option<AuditLog>,
    adopt_empty: bool,
}

/// A borrowed `evident_log` (the caller keeps it alive across every save
/// that uses the options).
struct AuditLog(NonNull<evident_log>);

// SAFETY: `evident_log` is Send + Sync (see `thread_safety_promises` in
// mod.rs); this is only ever used as a shared reference to it.
unsafe impl Send for AuditLog {}
// SAFETY: as above.
unsafe impl Sync for AuditLog {}

// ---------------------------------------------------------------------------
// JSON arguments

/// Parses a JSON argument that must be an object.
pub(super) fn parse_object(text: &str, arg: &str) -> FfiResult<Map<String, Value>> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Failure::invalid(format!("`{arg}` is not valid JSON: {e}")))?;
    match v {
        Value::Object(m) => Ok(m),
        other => Err(Failure::invalid(format!(
            "`{arg}` must be a JSON object, not {}",
            json_kind(&other)
        ))),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object argument with a fixed set of fields.
struct Shape {
    /// The C argument's name, for messages.
    arg: &'static str,
    /// Every field the Rust type reads.
    known: &'static [&'static str],
    /// The required field and a valid value for it (to find which field of
    /// a rejected object is at fault).
    required: Option<(&'static str, &'static str)>,
}

const ANNOTATION: Shape = Shape {
    arg: "annotation_json",
    known: &[
        "text",
        "type",
        "time",
        "time_range",
        "amplitude",
        "amplitude_range",
        "color",
        "style",
        "visible",
        "created_at",
        "metadata",
    ],
    required: Some(("text", "")),
};

const LAYER: Shape = Shape {
    arg: "layer_json",
    known: &["name", "visible", "locked", "color", "description"],
    required: Some(("name", "x")),
};

const MEASUREMENT: Shape = Shape {
    arg: "measurement_json",
    known: &[
        "name",
        "value",
        "unit",
        "trace_name",
        "metadata",
        "recorded_at",
    ],
    required: Some(("name", "x")),
};

const HISTORY: Shape = Shape {
    arg: "entry_json",
    known: &[
        "operation",
        "parameters",
        "result",
        "timestamp",
        "duration_ms",
        "success",
        "error_message",
        "metadata",
        "parameter_order",
    ],
    required: Some(("operation", "x")),
};

/// A history entry from its JSON object (`entry_json`): the parameters in
/// the order of the document, or in the order `parameter_order` gives (an
/// array of their names, for bindings whose JSON encoder sorts a map's
/// keys: Go). Names it does not give follow in the document's order;
/// names that are no parameter are skipped.
pub(super) fn parse_history(text: &str) -> FfiResult<HistoryEntry> {
    let mut e: HistoryEntry = HISTORY.parse(text)?;
    match parse_object(text, HISTORY.arg)?.get("parameter_order") {
        None | Some(Value::Null) => {}
        Some(Value::Array(names)) if names.iter().all(Value::is_string) => {
            e.parameters.reorder(names.iter().filter_map(Value::as_str))
        }
        Some(_) => {
            return Err(Failure::invalid(
                "`entry_json`: field `parameter_order` must be an array of parameter names",
            ))
        }
    }
    Ok(e)
}

/// The history as `evident_session_history_json` gives it, every entry
/// with parameters with `parameter_order` too, the names of its parameters
/// in their order (for bindings that decode an object into an unordered
/// map: Go).
pub(super) fn history_json_with_order(s: &Session) -> FfiResult<String> {
    #[derive(serde::Serialize)]
    struct WithOrder<'a> {
        #[serde(flatten)]
        e: &'a HistoryEntry,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        parameter_order: Vec<&'a String>,
    }
    let v: Vec<WithOrder<'_>> = s
        .history()
        .iter()
        .map(|e| WithOrder {
            e,
            parameter_order: e.parameters.keys().collect(),
        })
        .collect();
    serde_json::to_string(&v)
        .map_err(|e| Failure::invalid(format!("cannot serialise the history: {e}")))
}

const TRACE_INFO: Shape = Shape {
    arg: "info_json",
    known: &["sample_rate", "start_time", "units", "metadata"],
    required: None,
};

impl Shape {
    /// Parses `text` into `T`: a JSON object with only known fields; a
    /// value that does not fit names its field. `T` is read from the text
    /// itself, so that what keeps the order of an object's members (a
    /// history entry's `parameters`) gets them in the document's order;
    /// a `serde_json::Value` in between would sort them.
    fn parse<T: DeserializeOwned>(&self, text: &str) -> FfiResult<T> {
        let arg = self.arg;
        let obj = parse_object(text, arg)?;
        if let Some(k) = obj.keys().find(|k| !self.known.contains(&k.as_str())) {
            return Err(Failure::invalid(format!(
                "`{arg}`: unknown field `{k}` (expected one of: {})",
                self.known.join(", ")
            )));
        }
        // A repeated top-level member fails here (serde's "duplicate
        // field") and is read below as before: the last one counts.
        if let Ok(v) = serde_json::from_str::<T>(text) {
            return Ok(v);
        }
        let whole = match serde_json::from_value::<T>(Value::Object(obj.clone())) {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        // Which field is at fault: try each alone (with the required one).
        for (k, v) in &obj {
            let mut probe = Map::new();
            if let Some((req, val)) = self.required {
                probe.insert(req.to_string(), Value::String(val.to_string()));
            }
            probe.insert(k.clone(), v.clone());
            if let Err(e) = serde_json::from_value::<T>(Value::Object(probe)) {
                return Err(Failure::invalid(format!("`{arg}`: field `{k}`: {e}")));
            }
        }
        Err(Failure::invalid(format!("`{arg}`: {whole}")))
    }
}

fn to_json_string(v: &impl serde::Serialize, what: &str) -> FfiResult<*mut c_char> {
    let text = serde_json::to_string(v)
        .map_err(|e| Failure::invalid(format!("cannot serialise {what}: {e}")))?;
    Ok(owned_string(&text))
}

/// Writes an optional out-string: NULL first, the string on success.
pub(super) fn opt_out<'a>(out: *mut *mut c_char) -> Option<&'a mut *mut c_char> {
    // SAFETY: `out` is NULL or points to a writable `char *` (header contract).
    let r = unsafe { out.as_mut() }?;
    *r = std::ptr::null_mut();
    Some(r)
}

/// Writes through an optional out-pointer (NULL: nothing).
fn set_out<T>(p: *mut T, v: T) {
    // SAFETY: `p` is NULL or writable (header contract).
    if let Some(r) = unsafe { p.as_mut() } {
        *r = v;
    }
}

fn not_found(what: String) -> Failure {
    Error::NotFound { what }.into()
}

// ---------------------------------------------------------------------------
// Session

fn session_box(s: Session) -> *mut evident_session {
    Box::into_raw(Box::new(evident_session { s }))
}

/// Creates an empty session named `name` (UTF-8, may be empty). `*out`
/// receives it (NULL on failure); free it with `evident_session_free`.
#[no_mangle]
pub extern "C" fn evident_session_new(
    name: *const c_char,
    out: *mut *mut evident_session,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let name = try_str!(name, "name");
        *out = session_box(Session::new(name));
        Ok(evident_status::Ok)
    })
}

/// Loads a session from the file at `path`: the newest complete version
/// when `version` is 0, otherwise that version (see
/// `evident_session_versions_json`; a version the file does not hold gives
/// `EVIDENT_STATUS_NOT_FOUND`). `key`/`key_len` is the file's HMAC key
/// (NULL and 0 for a keyless file). Loading never runs code from the file;
/// a damaged file gives `EVIDENT_STATUS_MALFORMED` or `_CORRUPT` with a
/// message naming the file and what is wrong. Uncompressed trace samples
/// are not read here: they are mapped and read on first access.
///
/// `*out` receives the session (NULL on failure); free it with
/// `evident_session_free`. The key is copied.
#[no_mangle]
pub extern "C" fn evident_session_load(
    path: *const c_char,
    key: *const u8,
    key_len: usize,
    version: u64,
    out: *mut *mut evident_session,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let path = try_str!(path, "path");
        let opts = LoadOptions {
            key: key_arg(key, key_len)?,
            version: (version != 0).then_some(version),
        };
        *out = session_box(Session::load(path, &opts)?);
        Ok(evident_status::Ok)
    })
}

/// Frees a session (unsaved changes are lost). Traces obtained with
/// `evident_session_get_trace` stay valid. NULL is a no-op.
#[no_mangle]
pub extern "C" fn evident_session_free(session: *mut evident_session) {
    run_value((), || {
        if !session.is_null() {
            // SAFETY: `session` came from evident_session_new/_load and is
            // not in use.
            drop(unsafe { Box::from_raw(session) });
        }
    })
}

/// A short description of the session as a JSON object: `name`,
/// `created_at`, `modified_at` (RFC 3339), `path` (the file it was loaded
/// from or last saved to, or null), `version` and `commit` (hex) of that
/// file (or null), the counts `traces`, `layers`, `annotations`,
/// `measurements`, `history`, `history_limit` (0: unlimited),
/// `history_auto_record` (TraceKit's `auto_record` flag; see
/// `evident_session_set_history_auto_record`), and
/// `load_notice` (null, or a sentence when loading the newest version
/// skipped newer commits whose saves, made without sync, lost pages in a
/// power cut).
///
/// `*out` receives a string to free with `evident_string_free` (NULL on
/// failure).
#[no_mangle]
pub extern "C" fn evident_session_info_json(
    session: *const evident_session,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        let mut info = Map::new();
        for f in super::session_more::INFO_FIELDS {
            info.insert(f.to_string(), super::session_more::info_field(s, f)?);
        }
        *out = to_json_string(&Value::Object(info), "the session info")?;
        Ok(evident_status::Ok)
    })
}

/// Renames the session (`name` is copied).
#[no_mangle]
pub extern "C" fn evident_session_set_name(
    session: *mut evident_session,
    name: *const c_char,
) -> evident_status {
    ffi_status!({
        let s = &mut try_mut!(session, "session").s;
        s.set_name(try_str!(name, "name"));
        Ok(evident_status::Ok)
    })
}

/// The session metadata as a JSON object. `*out` receives a string to free
/// with `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_metadata_json(
    session: *const evident_session,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        *out = to_json_string(s.metadata(), "the metadata")?;
        Ok(evident_status::Ok)
    })
}

/// Replaces the session metadata with `json_object` (a JSON object; any
/// other JSON value gives `EVIDENT_STATUS_INVALID_ARGUMENT`).
#[no_mangle]
pub extern "C" fn evident_session_set_metadata_json(
    session: *mut evident_session,
    json_object: *const c_char,
) -> evident_status {
    ffi_status!({
        let s = &mut try_mut!(session, "session").s;
        let map = parse_object(try_str!(json_object, "json_object"), "json_object")?;
        *s.metadata_mut() = map;
        Ok(evident_status::Ok)
    })
}

/// A short human-readable summary of the session (several lines: name,
/// times, file and version, traces, annotation layers, measurements,
/// history). `*out` receives a string to free with `evident_string_free`
/// (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_summary(
    session: *const evident_session,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        *out = owned_string(&s.summary());
        Ok(evident_status::Ok)
    })
}

/// Everything but the samples as one JSON object: `name`, `created_at`,
/// `modified_at`, `metadata`, `path`, `version`, `commit`, `traces` (as
/// `evident_trace_info_json` describes each), `layers` (with their
/// annotations), `measurements`, `history`, `history_limit`. `*out`
/// receives a string to free with `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_to_json(
    session: *const evident_session,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        let doc = s.to_json();
        *out = to_json_string(&s.json_in_order(&doc), "the session")?;
        Ok(evident_status::Ok)
    })
}

// ---------------------------------------------------------------------------
// Traces

/// Adds a trace named `name`, replacing a trace of the same name (which
/// keeps its place in the list). The samples are copied: `data` points to
/// `len_samples` samples of `dtype` (an `EVIDENT_DTYPE_*` value),
/// little-endian, packed for `EVIDENT_DTYPE_BIT` (see `evident_dtype`);
/// `EVIDENT_DTYPE_BOOL` bytes must be 0 or 1. `data` may be NULL only when
/// the samples take 0 bytes.
///
/// `info_json` (NULL: the defaults) is a JSON object with the optional
/// fields `sample_rate` (Hz, finite and > 0; default 1), `start_time`
/// (seconds, finite; default 0), `units` (default `""`) and `metadata` (an
/// object).
#[no_mangle]
pub extern "C" fn evident_session_add_trace(
    session: *mut evident_session,
    name: *const c_char,
    dtype: u32,
    data: *const std::ffi::c_void,
    len_samples: u64,
    info_json: *const c_char,
) -> evident_status {
    ffi_status!({
        let s = &mut try_mut!(session, "session").s;
        let name = try_str!(name, "name");
        let dt = Dtype::from_u32(dtype).ok_or_else(|| {
            Failure::invalid(format!(
                "unknown dtype {dtype} (expected an EVIDENT_DTYPE_* value, 1 to 12)"
            ))
        })?;
        let info: TraceInfo = match try_opt_str!(info_json, "info_json") {
            None => TraceInfo::default(),
            Some(text) => TRACE_INFO.parse(text)?,
        };
        let n_bytes = dt
            .byte_len(len_samples)
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| isize::try_from(*n).is_ok())
            .ok_or_else(|| {
                Failure::invalid(format!(
                    "{len_samples} samples of {} are too many for this machine",
                    dt.name()
                ))
            })?;
        let bytes: &[u8] = if n_bytes == 0 {
            &[]
        } else if data.is_null() {
            return Err(Failure::null("data"));
        } else {
            // SAFETY: the caller passes `n_bytes` readable bytes at `data`
            // (header contract); the length fits isize (checked above).
            unsafe { std::slice::from_raw_parts(data.cast::<u8>(), n_bytes) }
        };
        let trace = Trace::from_bytes(dt, len_samples, bytes, info)?;
        s.add_trace(name, trace)?;
        Ok(evident_status::Ok)
    })
}

/// Reads a trace from a CSV or NumPy `.npy` file at `path` and adds it
/// under `name` (NULL: the file name without its extension), replacing a
/// trace of that name. `out_name` may be NULL; otherwise it receives the
/// name used, to free with `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_load_trace(
    session: *mut evident_session,
    path: *const c_char,
    name: *const c_char,
    out_name: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = opt_out(out_name);
        let s = &mut try_mut!(session, "session").s;
        let path = try_str!(path, "path");
        let name = try_opt_str!(name, "name");
        let used = s.load_trace(Path::new(path), name)?;
        if let Some(o) = out {
            *o = owned_string(&used);
        }
        Ok(evident_status::Ok)
    })
}

/// Removes the trace named `name` (`EVIDENT_STATUS_NOT_FOUND` if there is
/// none). Trace objects obtained before stay valid.
#[no_mangle]
pub extern "C" fn evident_session_remove_trace(
    session: *mut evident_session,
    name: *const c_char,
) -> evident_status {
    ffi_status!({
        let s = &mut try_mut!(session, "session").s;
        s.remove_trace(try_str!(name, "name"))?;
        Ok(evident_status::Ok)
    })
}

/// The trace names as a JSON array of strings, in the order the traces
/// were added. `*out` receives a string to free with `evident_string_free`
/// (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_trace_names_json(
    session: *const evident_session,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        *out = to_json_string(&s.trace_names(), "the trace names")?;
        Ok(evident_status::Ok)
    })
}

/// The trace named `name` (`EVIDENT_STATUS_NOT_FOUND` if there is none).
/// `*out` receives an independent trace object (NULL on failure), which
/// shares the samples without copying them and stays valid after the
/// session is changed or freed; free it with `evident_trace_free`.
#[no_mangle]
pub extern "C" fn evident_session_get_trace(
    session: *const evident_session,
    name: *const c_char,
    out: *mut *mut evident_trace,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        let name = try_str!(name, "name");
        let trace = s
            .trace(name)
            .ok_or_else(|| not_found(format!("trace {name:?}")))?;
        *out = Box::into_raw(Box::new(evident_trace {
            name: name.to_string(),
            trace: trace.clone(),
            view: OnceLock::new(),
        }));
        Ok(evident_status::Ok)
    })
}

/// Frees a trace object (the samples go when nothing else uses them). NULL
/// is a no-op.
#[no_mangle]
pub extern "C" fn evident_trace_free(trace: *mut evident_trace) {
    run_value((), || {
        if !trace.is_null() {
            // SAFETY: `trace` came from evident_session_get_trace and is not
            // in use.
            drop(unsafe { Box::from_raw(trace) });
        }
    })
}

impl evident_trace {
    /// The samples as bytes, aligned for the sample type and checked. A
    /// bool trace's bytes are in memory private to this process (a copy of
    /// mapped samples, made and checked once): the callers view them as C,
    /// numpy or Go bools, which must never change into invalid values after
    /// the check (as a shared mapping can, when another program writes the
    /// file).
    fn samples(&self) -> FfiResult<&[u8]> {
        if self.trace.dtype() == Dtype::Bool {
            return self.trace.bool_bytes().map_err(|e| match e {
                Error::InvalidArgument(m) => Failure::new(
                    evident_status::Malformed,
                    format!(
                        "trace {:?}: {m} (damaged samples; see evident_trace_verify)",
                        self.name
                    ),
                ),
                other => Failure::from(other),
            });
        }
        let view = self.view.get_or_init(|| {
            let bytes = self
                .trace
                .bytes()
                .map_err(|e| (super::status_of(&e), e.to_string()))?;
            let dt = self.trace.dtype();
            let align = dt.item_size().unwrap_or(1) as usize;
            if (bytes.as_ptr() as usize) % align == 0 {
                Ok(None)
            } else {
                crate::session::aligned_copy(bytes)
                    .map(Some)
                    .map_err(|e| (evident_status::Io, e.to_string()))
            }
        });
        match view {
            Err((st, msg)) => Err(Failure::new(*st, msg.clone())),
            Ok(None) => Ok(self.trace.bytes().map_err(Failure::from)?),
            Ok(Some(words)) => {
                let n = self.trace.bytes().map_or(0, <[u8]>::len);
                // SAFETY: u64 words viewed as bytes; `n` does not exceed the
                // copy's size (it was made from those bytes).
                let all = unsafe {
                    std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), words.len() * 8)
                };
                Ok(all.get(..n).unwrap_or(all))
            }
        }
    }
}

/// The samples of a trace, without copying them: `*data` points to
/// `*len_bytes` bytes holding `*len_samples` samples of type `*dtype` (an
/// `EVIDENT_DTYPE_*` value), little-endian, aligned for the type (packed
/// bits for `EVIDENT_DTYPE_BIT`). Each out-pointer may be NULL; all are set
/// to NULL / 0 first. On success `*data` is never NULL (for 0 bytes it must
/// not be dereferenced).
///
/// The memory belongs to the trace object: read-only, valid until
/// `evident_trace_free` (whatever happens to the session). For a loaded
/// uncompressed trace it is the file mapping itself; a compressed trace is
/// decompressed on the first call and kept. Calls from several threads at
/// once are safe. Because the samples are the file mapping, another
/// program that truncates the session file while they are read makes the
/// process receive SIGBUS (evident never cuts committed bytes; compaction
/// replaces the file by rename, which is safe).
///
/// The first call on a loaded trace checks its stored bytes against the
/// SHA-256 its chained record names (reading them all once, as
/// `evident_trace_verify` does): damaged samples give
/// `EVIDENT_STATUS_CORRUPT` naming the file and the trace, never data.
/// Compressed bytes that do not decode, and an `EVIDENT_DTYPE_BOOL` trace
/// holding a byte other than 0 or 1, give `EVIDENT_STATUS_MALFORMED`.
#[no_mangle]
pub extern "C" fn evident_trace_data(
    trace: *const evident_trace,
    data: *mut *const std::ffi::c_void,
    len_samples: *mut u64,
    len_bytes: *mut u64,
    dtype: *mut u32,
) -> evident_status {
    ffi_status!({
        set_out(data, std::ptr::null());
        set_out(len_samples, 0);
        set_out(len_bytes, 0);
        set_out(dtype, 0);
        let t = try_ref!(trace, "trace");
        let bytes = t.samples()?;
        set_out(data, bytes.as_ptr().cast());
        set_out(len_samples, t.trace.len());
        set_out(len_bytes, bytes.len() as u64);
        set_out(dtype, t.trace.dtype() as u32);
        Ok(evident_status::Ok)
    })
}

/// A description of the trace as a JSON object (no samples): `name`,
/// `dtype` (`"f64"` … `"u64"`, `"bool"`, `"bit"`), `len` (samples), `bytes`,
/// `sample_rate`, `start_time`, `units`, `metadata`, `mapped` (samples read
/// straight from the file mapping), `compressed`. `*out` receives a string
/// to free with `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_trace_info_json(
    trace: *const evident_trace,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let t = try_ref!(trace, "trace");
        *out = to_json_string(&trace_json(&t.name, &t.trace), "the trace info")?;
        Ok(evident_status::Ok)
    })
}

/// Checks the trace's stored bytes against the SHA-256 named by its chained
/// record in the file (reads every byte). `EVIDENT_STATUS_CORRUPT` when they
/// differ; `EVIDENT_STATUS_OK` for a trace not loaded from a file (nothing
/// to check).
#[no_mangle]
pub extern "C" fn evident_trace_verify(trace: *const evident_trace) -> evident_status {
    ffi_status!({
        let t = try_ref!(trace, "trace");
        t.trace.verify()?;
        Ok(evident_status::Ok)
    })
}

// ---------------------------------------------------------------------------
// Annotations

/// Adds an annotation to the layer named `layer` (created when missing).
/// `EVIDENT_STATUS_LAYER_LOCKED` when the layer is locked.
///
/// `annotation_json` is a JSON object with the fields `text` (required),
/// `type` (`"point"`, `"range"`, `"vertical"`, `"horizontal"`, `"region"`,
/// `"text"`; when missing it is inferred: `time_range` and
/// `amplitude_range` → region, `time_range` → range, `time` → point,
/// `amplitude` → horizontal, else text), `time`, `time_range` (`[t0, t1]`,
/// t0 <= t1), `amplitude`, `amplitude_range`, `color`, `style` (default
/// `"solid"`), `visible` (default true), `created_at` (RFC 3339, default
/// now) and `metadata` (an object). Unknown fields are rejected.
#[no_mangle]
pub extern "C" fn evident_session_annotate(
    session: *mut evident_session,
    layer: *const c_char,
    annotation_json: *const c_char,
) -> evident_status {
    ffi_status!({
        let s = &mut try_mut!(session, "session").s;
        let layer = try_str!(layer, "layer");
        let a: Annotation = ANNOTATION.parse(try_str!(annotation_json, "annotation_json"))?;
        s.annotate(layer, a)?;
        Ok(evident_status::Ok)
    })
}

/// Creates a layer or changes its properties. `layer_json` is a JSON object
/// with `name` (required) and the optional `visible`, `locked`, `color`
/// (`""` removes it) and `description`; fields left out keep their value
/// (a new layer: visible, unlocked, no colour, no description). Allowed on
/// a locked layer (that is how it is unlocked). Unknown fields are
/// rejected.
#[no_mangle]
pub extern "C" fn evident_session_set_layer(
    session: *mut evident_session,
    layer_json: *const c_char,
) -> evident_status {
    ffi_status!({
        let s = &mut try_mut!(session, "session").s;
        let props: LayerProps = LAYER.parse(try_str!(layer_json, "layer_json"))?;
        s.set_layer(&props)?;
        Ok(evident_status::Ok)
    })
}

/// Removes every annotation of a layer (`EVIDENT_STATUS_NOT_FOUND`,
/// `EVIDENT_STATUS_LAYER_LOCKED`).
#[no_mangle]
pub extern "C" fn evident_session_clear_layer(
    session: *mut evident_session,
    layer: *const c_char,
) -> evident_status {
    ffi_status!({
        let s = &mut try_mut!(session, "session").s;
        s.clear_layer(try_str!(layer, "layer"))?;
        Ok(evident_status::Ok)
    })
}

/// Removes a layer and its annotations (`EVIDENT_STATUS_NOT_FOUND`,
/// `EVIDENT_STATUS_LAYER_LOCKED`).
#[no_mangle]
pub extern "C" fn evident_session_remove_layer(
    session: *mut evident_session,
    layer: *const c_char,
) -> evident_status {
    ffi_status!({
        let s = &mut try_mut!(session, "session").s;
        s.remove_layer(try_str!(layer, "layer"))?;
        Ok(evident_status::Ok)
    })
}

/// The annotation layers as a JSON array, in creation order: objects with
/// `name`, `visible`, `locked`, `color` (left out when unset),
/// `description` and `annotations` (each with every field, `type`
/// included). `*out` receives a string to free with `evident_string_free`
/// (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_layers_json(
    session: *const evident_session,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        *out = to_json_string(&s.layers(), "the layers")?;
        Ok(evident_status::Ok)
    })
}

/// Annotations as a JSON array of `{"layer": name, "index": i,
/// "annotation": {…}}` (`index`: its place in its layer, from 0), in
/// layer order then insertion order: those of the layer named `layer` (NULL:
/// every layer; a layer that does not exist gives `[]`), and, when
/// `has_range` is non-zero, only those touching the time range `[t0, t1]`
/// (point and vertical: time inside; range and region: overlapping;
/// annotations without a time are left out). `t0` and `t1` must be finite
/// with t0 <= t1. `*out` receives a string to free with
/// `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_annotations_json(
    session: *const evident_session,
    layer: *const c_char,
    has_range: std::ffi::c_int,
    t0: f64,
    t1: f64,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        let layer = try_opt_str!(layer, "layer");
        let range = if has_range != 0 {
            if !(t0.is_finite() && t1.is_finite() && t0 <= t1) {
                return Err(Failure::invalid(format!(
                    "time range [{t0}, {t1}] must be finite with t0 <= t1"
                )));
            }
            Some((t0, t1))
        } else {
            None
        };
        let list: Vec<Value> = s
            .annotations_at(layer, range)
            .into_iter()
            .map(|(l, i, a)| json!({ "layer": l, "index": i, "annotation": a }))
            .collect();
        *out = to_json_string(&list, "the annotations")?;
        Ok(evident_status::Ok)
    })
}

// ---------------------------------------------------------------------------
// Measurements and history

/// Records a measurement. `measurement_json` is a JSON object with `name`
/// (required), `value` (any JSON value; default null), `unit` (default
/// `""`), `trace_name`, `metadata` (an object) and `recorded_at` (RFC 3339,
/// default now). Unknown fields are rejected.
#[no_mangle]
pub extern "C" fn evident_session_record_measurement(
    session: *mut evident_session,
    measurement_json: *const c_char,
) -> evident_status {
    ffi_status!({
        let s = &mut try_mut!(session, "session").s;
        let m: Measurement = MEASUREMENT.parse(try_str!(measurement_json, "measurement_json"))?;
        s.record_measurement(m)?;
        Ok(evident_status::Ok)
    })
}

/// The measurements as a JSON array of objects (the fields of
/// `evident_session_record_measurement`, `recorded_at` always set), in the
/// order recorded. `*out` receives a string to free with
/// `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_measurements_json(
    session: *const evident_session,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        *out = to_json_string(&s.measurements(), "the measurements")?;
        Ok(evident_status::Ok)
    })
}

/// Records an operation in the session history (the oldest entries go when
/// the history limit is reached). `entry_json` is a JSON object with
/// `operation` (required), `parameters` (an object), `result` (any JSON
/// value), `timestamp` (RFC 3339, default now), `duration_ms` (default 0),
/// `success` (default true), `error_message`, `metadata` (an object) and
/// `parameter_order`. The parameters keep the order of their members in
/// the text (a repeated member: the last value at the first place), or
/// the order `parameter_order` gives (an array of their names, for
/// encoders that sort a map's keys; names it leaves out follow). Unknown
/// fields are rejected.
#[no_mangle]
pub extern "C" fn evident_session_record_history(
    session: *mut evident_session,
    entry_json: *const c_char,
) -> evident_status {
    ffi_status!({
        let s = &mut try_mut!(session, "session").s;
        let e = parse_history(try_str!(entry_json, "entry_json"))?;
        s.record_history(e)?;
        Ok(evident_status::Ok)
    })
}

/// The history as a JSON array of objects (the fields of
/// `evident_session_record_history`), oldest first. `*out` receives a
/// string to free with `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_history_json(
    session: *const evident_session,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        *out = to_json_string(s.history(), "the history")?;
        Ok(evident_status::Ok)
    })
}

/// Keeps at most `max_entries` history entries (0: unlimited), dropping the
/// oldest now and on later records.
#[no_mangle]
pub extern "C" fn evident_session_set_history_limit(
    session: *mut evident_session,
    max_entries: u64,
) -> evident_status {
    ffi_status!({
        let s = &mut try_mut!(session, "session").s;
        let n = usize::try_from(max_entries).unwrap_or(usize::MAX);
        s.set_history_limit(n);
        Ok(evident_status::Ok)
    })
}

/// Sets the session's `history_auto_record` flag (TraceKit's
/// `OperationHistory.auto_record`: whether loading a trace records itself
/// in the history; default true). The library stores it: it is saved with
/// the session and given back by `evident_session_info_json` as
/// `history_auto_record`. `evident_session_load_trace` and
/// `evident_session_load_trace_with` never record;
/// `evident_session_load_trace_json` records when its `record_history`
/// argument is true (pass this flag there to follow TraceKit, as Python
/// does); the `load_trace` operation of `evident_session_change_json` (Go's
/// `LoadTrace`) passes this flag. Since ABI 1.11.
#[no_mangle]
pub extern "C" fn evident_session_set_history_auto_record(
    session: *mut evident_session,
    on: bool,
) -> evident_status {
    ffi_status!({
        try_mut!(session, "session").s.set_history_auto_record(on);
        Ok(evident_status::Ok)
    })
}

// ---------------------------------------------------------------------------
// Saving

/// Creates save options with the defaults (see `evident_save_options`).
/// `*out` receives them (NULL on failure); free them with
/// `evident_save_options_free`.
#[no_mangle]
pub extern "C" fn evident_save_options_new(out: *mut *mut evident_save_options) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let d = SaveOptions::default();
        *out = Box::into_raw(Box::new(evident_save_options {
            compress: d.compress,
            include_traces: d.include_traces,
            key: d.key,
            sync: d.sync,
            lock_timeout: d.lock_timeout,
            audit: None,
            adopt_empty: d.adopt_empty,
        }));
        Ok(evident_status::Ok)
    })
}

/// Frees save options (not the audit log they name). NULL is a no-op.
#[no_mangle]
pub extern "C" fn evident_save_options_free(options: *mut evident_save_options) {
    run_value((), || {
        if !options.is_null() {
            // SAFETY: `options` came from evident_save_options_new.
            drop(unsafe { Box::from_raw(options) });
        }
    })
}

/// Compresses the traces a save writes with zstd at `zstd_level` (1 to 22;
/// negative levels are faster; 0 turns compression off, the default).
/// Traces unchanged since the last save keep their stored form.
#[no_mangle]
pub extern "C" fn evident_save_options_set_compress(
    options: *mut evident_save_options,
    zstd_level: i32,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.compress = compress_level(zstd_level)?;
        Ok(evident_status::Ok)
    })
}

/// The compression of a zstd level (0: none; at most 22).
pub(super) fn compress_level(zstd_level: i32) -> FfiResult<Option<i32>> {
    if zstd_level > 22 {
        return Err(Failure::invalid(format!(
            "zstd level {zstd_level} is out of range (at most 22; 0 turns compression off)"
        )));
    }
    Ok((zstd_level != 0).then_some(zstd_level))
}

/// Whether a save writes the trace samples (default true). Without them the
/// saved version holds the session's other parts only.
#[no_mangle]
pub extern "C" fn evident_save_options_set_include_traces(
    options: *mut evident_save_options,
    include: bool,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.include_traces = include;
        Ok(evident_status::Ok)
    })
}

/// Sets the HMAC key: `key_len` bytes at `key` (at least 16), copied. A new
/// file is chained with HMAC-SHA256 under it; an existing file must have
/// been created with the same key. `key` NULL with `key_len` 0 removes the
/// key.
#[no_mangle]
pub extern "C" fn evident_save_options_set_key(
    options: *mut evident_save_options,
    key: *const u8,
    key_len: usize,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.key = key_arg(key, key_len)?;
        Ok(evident_status::Ok)
    })
}

/// Whether a save fsyncs the file (and, for a new file, its directory)
/// before returning (default true). Without it the save returns once it is
/// in the OS page cache: a crash of the process loses nothing; a power cut
/// or OS crash before the OS wrote it back may lose this save and every
/// other save since the last save with sync, never an earlier version
/// saved with sync, and the file stays loadable and saveable (loading gives
/// the newest complete version, `evident_session_verify` lists the lost
/// ones in `incomplete_versions`, the next save moves them into a sidecar).
#[no_mangle]
pub extern "C" fn evident_save_options_set_sync(
    options: *mut evident_save_options,
    sync: bool,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.sync = sync;
        Ok(evident_status::Ok)
    })
}

/// Whether a save into an existing *empty* file (made by `touch` or
/// `mkstemp`) replaces it atomically by a new session file, keeping its
/// permission bits, instead of refusing it as not a session file (default
/// false). Since ABI 1.10.
#[no_mangle]
pub extern "C" fn evident_save_options_set_adopt_empty(
    options: *mut evident_save_options,
    adopt_empty: bool,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.adopt_empty = adopt_empty;
        Ok(evident_status::Ok)
    })
}

/// How long a save waits for another process's save of the same file to
/// finish, in milliseconds (default 10000; 0: fail at once). When it runs
/// out the save returns `EVIDENT_STATUS_LOCKED`, naming the holder.
#[no_mangle]
pub extern "C" fn evident_save_options_set_lock_timeout_ms(
    options: *mut evident_save_options,
    ms: u64,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.lock_timeout = Duration::from_millis(ms);
        Ok(evident_status::Ok)
    })
}

/// Makes each save append an entry to the audit log `log` naming the saved
/// version and its commit hash, so the audit trail proves which version of
/// the session existed when (NULL: no audit entry, the default).
///
/// The log is borrowed, not copied: it must stay open and not be freed
/// while any `evident_session_save` using these options runs. A failing
/// audit append makes the save return its error after the session file was
/// written.
#[no_mangle]
pub extern "C" fn evident_save_options_set_audit_log(
    options: *mut evident_save_options,
    log: *mut evident_log,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.audit = NonNull::new(log).map(AuditLog);
        Ok(evident_status::Ok)
    })
}

/// Saves the session: appends what changed since the last save plus a
/// commit record to the file at `path` (created when missing), or, when
/// `path` is NULL, to the file the session was loaded from or last saved to
/// (`EVIDENT_STATUS_INVALID_ARGUMENT` if there is none). A crash during the
/// save leaves the previous version loadable. `options` may be NULL (the
/// defaults of `evident_save_options`).
///
/// `out_info_json` may be NULL; otherwise it receives a JSON object to free
/// with `evident_string_free` (NULL on failure): `path`, `version` (the new
/// version's number), `commit` (hex), `bytes_written` (bytes appended),
/// `traces_written` (trace records written), `traces_reused` (traces
/// already in the file, only named by the new commit) and
/// `sample_bytes_written`.
#[no_mangle]
pub extern "C" fn evident_session_save(
    session: *mut evident_session,
    path: *const c_char,
    options: *const evident_save_options,
    out_info_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = opt_out(out_info_json);
        let s = &mut try_mut!(session, "session").s;
        let path = try_opt_str!(path, "path");
        let mut opts = SaveOptions::default();
        // SAFETY: `options` is NULL or live save options (header contract).
        if let Some(o) = unsafe { options.as_ref() } {
            opts.compress = o.compress;
            opts.include_traces = o.include_traces;
            opts.key = o.key.clone();
            opts.sync = o.sync;
            opts.lock_timeout = o.lock_timeout;
            opts.adopt_empty = o.adopt_empty;
            // SAFETY: the audit log outlives this call (header contract).
            opts.audit = o.audit.as_ref().map(|a| &unsafe { a.0.as_ref() }.log);
        }
        save_into(s, path, &opts, out)?;
        Ok(evident_status::Ok)
    })
}

/// Saves `s` (see `evident_session_save`); `out` receives the save info.
pub(super) fn save_into(
    s: &mut Session,
    path: Option<&str>,
    opts: &SaveOptions,
    out: Option<&mut *mut c_char>,
) -> FfiResult<()> {
    let info = s.save(path.map(Path::new), opts)?;
    if let Some(o) = out {
        let v = json!({
            "path": info.path.to_string_lossy(),
            "version": info.version,
            "commit": info.commit.to_hex(),
            "bytes_written": info.bytes_written,
            "traces_written": info.traces_written,
            "traces_reused": info.traces_reused,
            "sample_bytes_written": info.sample_bytes_written,
        });
        *o = to_json_string(&v, "the save info")?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// File level

/// Lists the complete versions in the session file at `path`, oldest first,
/// as a JSON array of objects: `version`, `commit` (hex), `ts` (RFC 3339),
/// `name` (the session's name in that version), `offset` (of the commit
/// record), the counts `traces`, `layers`, `annotations`, `measurements`,
/// `history`, `trace_bytes` (sample bytes), and `compacted_from` (for the
/// first version of a compacted file `{"version", "commit"}` of the version
/// it was made from, else null). `key`/`key_len`: the file's HMAC
/// key (NULL and 0 for a keyless file). `*out` receives a string to free
/// with `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_versions_json(
    path: *const c_char,
    key: *const u8,
    key_len: usize,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let path = try_str!(path, "path");
        let key = key_arg(key, key_len)?;
        let list: Vec<Value> = versions(Path::new(path), key.as_ref())?
            .iter()
            .map(|v| {
                json!({
                    "version": v.version,
                    "commit": v.commit,
                    "ts": v.ts,
                    "name": v.name,
                    "offset": v.offset,
                    "traces": v.counts.traces,
                    "layers": v.counts.layers,
                    "annotations": v.counts.annotations,
                    "measurements": v.counts.measurements,
                    "history": v.counts.history,
                    "trace_bytes": v.counts.trace_bytes,
                    "compacted_from": v.compacted_from,
                })
            })
            .collect();
        *out = to_json_string(&list, "the versions")?;
        Ok(evident_status::Ok)
    })
}

/// Rewrites the session file at `path` with only its newest version
/// (atomically: a temporary file, fsync, rename, fsync of the directory);
/// earlier versions are gone afterwards. `key`/`key_len`: the file's HMAC
/// key (NULL and 0 for a keyless file). `out_info_json` may be NULL;
/// otherwise it receives a JSON object to free with `evident_string_free`
/// (NULL on failure): `version` (the version kept, which keeps its number),
/// `commit` (its new commit hash), `bytes_before`, `bytes_after`.
#[no_mangle]
pub extern "C" fn evident_session_compact(
    path: *const c_char,
    key: *const u8,
    key_len: usize,
    out_info_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = opt_out(out_info_json);
        let path = try_str!(path, "path");
        let key = key_arg(key, key_len)?;
        let info = compact(Path::new(path), key.as_ref())?;
        if let Some(o) = out {
            let v = json!({
                "version": info.version,
                "commit": info.commit,
                "bytes_before": info.bytes_before,
                "bytes_after": info.bytes_after,
            });
            *o = to_json_string(&v, "the compact info")?;
        }
        Ok(evident_status::Ok)
    })
}

/// Checks the whole session file at `path`: every frame, CRC, hash and
/// chain link, every commit and the trace samples against their hashes.
/// Returns `EVIDENT_STATUS_OK` whenever the check ran, even when it found
/// problems: `*out_report_json` receives a JSON object to free with
/// `evident_string_free` (NULL on failure): `path`, `ok` (true when nothing
/// is damaged, every version loads and every sample hash matches; a torn
/// tail alone does not make it false), `versions` (the number of complete
/// versions), `problems` (array of one-line messages, each naming the byte
/// offset), `problem_details` (the same as objects `{offset, seq, message}`),
/// `torn_tail_at` (byte offset of an incomplete save at the end, or null;
/// the next save moves it aside), `head_version` and `head_commit` (the
/// newest version, or null), `incomplete_versions` (versions whose commit
/// lies in the uncommitted tail: saved without sync, they lost pages in a
/// power cut; the next save moves them aside with the tail), `records`,
/// `data_frames`, `bytes` (file size) and `sample_bytes_checked`.
/// `key`/`key_len`: the file's HMAC key (NULL and 0 for a keyless file).
#[no_mangle]
pub extern "C" fn evident_session_verify(
    path: *const c_char,
    key: *const u8,
    key_len: usize,
    out_report_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_report_json, "out_report_json", std::ptr::null_mut());
        let path = try_str!(path, "path");
        let key = key_arg(key, key_len)?;
        let r = verify_session(Path::new(path), key.as_ref())?;
        let problems: Vec<String> = r
            .problems
            .iter()
            .map(|p| match p.seq {
                Some(seq) => format!("at byte {} (seq {seq}): {}", p.offset, p.message),
                None => format!("at byte {}: {}", p.offset, p.message),
            })
            .collect();
        let report = json!({
            "path": r.path.to_string_lossy(),
            "ok": r.ok,
            "versions": r.versions,
            "problems": problems,
            "problem_details": r.problems,
            "torn_tail_at": r.torn_tail_at,
            "head_version": r.head_version,
            "head_commit": r.head_commit,
            "incomplete_versions": r.incomplete_versions,
            "records": r.records,
            "data_frames": r.data_frames,
            "bytes": r.bytes,
            "sample_bytes_checked": r.sample_bytes_checked,
        });
        *out = to_json_string(&report, "the report")?;
        Ok(evident_status::Ok)
    })
}

// ---------------------------------------------------------------------------
// Logic shared by the bindings (so that Python and Go only convert)

/// Removes the annotation at `index` (0-based, in insertion order, as
/// `evident_session_layers_json` lists them) of the layer `layer`
/// (`EVIDENT_STATUS_NOT_FOUND` when the layer or the index does not exist,
/// `EVIDENT_STATUS_LAYER_LOCKED` when the layer is locked).
#[no_mangle]
pub extern "C" fn evident_session_remove_annotation(
    session: *mut evident_session,
    layer: *const c_char,
    index: u64,
) -> evident_status {
    ffi_status!({
        let s = &mut try_mut!(session, "session").s;
        let layer = try_str!(layer, "layer");
        let i = usize::try_from(index).unwrap_or(usize::MAX);
        s.remove_annotation(layer, i)?;
        Ok(evident_status::Ok)
    })
}

/// Replaces an annotation of the layer `layer` with `annotation_json` (the
/// form `evident_session_annotate` takes): the one at `index` (0-based, as
/// `evident_session_annotations_json` gives it) if it is still
/// `expected_json` (the annotation as the caller read it, compared after
/// normalising both), else the first one equal to it (annotations before
/// it were removed since): `EVIDENT_STATUS_NOT_FOUND` when the layer does
/// not exist or holds no such annotation (it was changed or removed
/// since), `EVIDENT_STATUS_LAYER_LOCKED`
/// on a locked layer, `EVIDENT_STATUS_INVALID_ARGUMENT` for an annotation
/// the session cannot hold. Nothing changes on failure. (C ABI 1.14.)
#[no_mangle]
pub extern "C" fn evident_session_replace_annotation(
    session: *mut evident_session,
    layer: *const c_char,
    index: u64,
    expected_json: *const c_char,
    annotation_json: *const c_char,
) -> evident_status {
    ffi_status!({
        let s = &mut try_mut!(session, "session").s;
        let layer = try_str!(layer, "layer");
        let expected: Annotation = ANNOTATION.parse(try_str!(expected_json, "expected_json"))?;
        let new: Annotation = ANNOTATION.parse(try_str!(annotation_json, "annotation_json"))?;
        let i = usize::try_from(index).unwrap_or(usize::MAX);
        s.replace_annotation(layer, i, &expected, new)?;
        Ok(evident_status::Ok)
    })
}

/// The sample type named `name`: a dtype name (`"f64"` … `"bit"`) or a
/// common alias (`"float64"`, `"double"`, `"float"`, `"float32"`, `"int8"`
/// … `"uint64"`, `"bool_"`, `"bits"`), case-insensitively. `*out` receives
/// its `evident_dtype` number (0 on failure; `EVIDENT_STATUS_INVALID_ARGUMENT`
/// for an unknown name).
#[no_mangle]
pub extern "C" fn evident_dtype_from_name(name: *const c_char, out: *mut u32) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", 0);
        let name = try_str!(name, "name");
        let d = Dtype::from_alias(name).ok_or_else(|| {
            let names: Vec<&str> = Dtype::all().iter().map(|d| d.name()).collect();
            Failure::invalid(format!(
                "unsupported dtype {name:?}: use one of {}",
                names.join(", ")
            ))
        })?;
        *out = evident_dtype::from(d) as u32;
        Ok(evident_status::Ok)
    })
}

/// The annotation `annotation_json` (the object `evident_session_annotate`
/// takes) as the session would store it: `type` inferred when missing
/// (time_range and amplitude_range: region; time_range: range; time:
/// point; amplitude: horizontal; else text), defaults filled in, and its
/// numbers checked (finite; a time range ending before it starts is
/// refused). `*out` receives a string to free with `evident_string_free`
/// (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_annotation_normalise_json(
    annotation_json: *const c_char,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let a: Annotation = ANNOTATION.parse(try_str!(annotation_json, "annotation_json"))?;
        *out = to_json_string(&a.normalise()?, "the annotation")?;
        Ok(evident_status::Ok)
    })
}

/// Statistics of the session's history as a JSON object:
/// `total_operations`, `successful`, `failed`, `total_duration_ms`,
/// `average_duration_ms`, `operations` (count per operation name), `first`
/// and `last` (RFC 3339, null when the history is empty). `*out` receives
/// a string to free with `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_history_summary_json(
    session: *const evident_session,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        *out = to_json_string(&history::summary(s.history()), "the summary")?;
        Ok(evident_status::Ok)
    })
}

fn script_style(style: u32) -> FfiResult<ScriptStyle> {
    ScriptStyle::from_u32(style).ok_or_else(|| {
        Failure::invalid(format!(
            "script style {style} is unknown (0 evident, 1 TraceKit)"
        ))
    })
}

/// A Python script replaying the session's history: `import module as
/// alias` (`module`: dotted Python names, `alias`: a Python identifier;
/// NULL: `"tracekit"` and `"tk"`), then per entry a comment with its time
/// and operation and the call `alias.operation(param=value, …)`; failed
/// operations and operations that are not plain Python names appear as
/// comments. `style`: 0 evident's layout (UTC times, values as Python
/// `repr`), 1 TraceKit's (local times, strings in double quotes, `import
/// tracekit` falling back to `evident.compat.tracekit`). `*out` receives a
/// string to free with `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_history_script(
    session: *const evident_session,
    module: *const c_char,
    alias: *const c_char,
    style: u32,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        let module = try_opt_str!(module, "module").unwrap_or("tracekit");
        let alias = try_opt_str!(alias, "alias").unwrap_or("tk");
        let text = history::script(
            s.history(),
            module,
            alias,
            script_style(style)?,
            chrono::Utc::now(),
        )?;
        *out = owned_string(&text);
        Ok(evident_status::Ok)
    })
}

/// One history entry (`entry_json`, the object
/// `evident_session_record_history` takes) as the line of Python
/// `evident_session_history_script` writes for it (`alias`: NULL for
/// `"tk"`; `style` as there). `*out` receives a string to free with
/// `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_history_entry_code(
    entry_json: *const c_char,
    alias: *const c_char,
    style: u32,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let e = parse_history(try_str!(entry_json, "entry_json"))?;
        let alias = try_opt_str!(alias, "alias").unwrap_or("tk");
        *out = owned_string(&history::to_code(&e, alias, script_style(style)?));
        Ok(evident_status::Ok)
    })
}

/// A measurement (`measurement_json`, the object
/// `evident_session_record_measurement` takes) in TraceKit's shape: its
/// metadata's members, `value`, `unit`, `trace_name` (null when unset) and
/// `timestamp` (`recorded_at` as Python's `isoformat()`,
/// `2026-01-08T10:30:00.5+00:00` style with six fraction digits, none when
/// zero). `*out` receives a string to free with `evident_string_free`
/// (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_measurement_tracekit_json(
    measurement_json: *const c_char,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let m: Measurement = MEASUREMENT.parse(try_str!(measurement_json, "measurement_json"))?;
        *out = owned_string(&ordered_object(m.tracekit_pairs())?);
        Ok(evident_status::Ok)
    })
}

/// A JSON object with its members in the order given.
fn ordered_object(pairs: Vec<(String, Value)>) -> FfiResult<String> {
    let mut text = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        let err = |e: serde_json::Error| Failure::invalid(format!("cannot serialise: {e}"));
        text.push_str(&serde_json::to_string(k).map_err(err)?);
        text.push(':');
        text.push_str(&serde_json::to_string(v).map_err(err)?);
    }
    text.push('}');
    Ok(text)
}

/// The session's measurements in TraceKit's shape, by name (the latest
/// of a name recorded twice): `{name: {…}}` with the members of
/// `evident_measurement_tracekit_json`. `*out` receives a string to free
/// with `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_measurements_tracekit_json(
    session: *const evident_session,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        // In the order names were first recorded (a Python dict built by
        // recording order), each with its latest measurement.
        let mut by_name: Vec<(String, String)> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = Default::default();
        for m in s.measurements() {
            let text = ordered_object(m.tracekit_pairs())?;
            match index.get(&m.name).and_then(|&i| by_name.get_mut(i)) {
                Some(slot) => slot.1 = text,
                None => {
                    index.insert(m.name.clone(), by_name.len());
                    by_name.push((m.name.clone(), text));
                }
            }
        }
        let mut text = String::from("{");
        for (i, (name, obj)) in by_name.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(
                &serde_json::to_string(name).map_err(|e| Failure::invalid(e.to_string()))?,
            );
            text.push(':');
            text.push_str(obj);
        }
        text.push('}');
        *out = owned_string(&text);
        Ok(evident_status::Ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::{CStr, CString};

    fn cstr(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    fn last_error() -> String {
        // SAFETY: never NULL.
        unsafe { CStr::from_ptr(crate::ffi::evident_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    /// Takes an owned string returned through an out-pointer.
    fn take(p: *mut c_char) -> String {
        assert!(!p.is_null());
        // SAFETY: a NUL-terminated string from owned_string.
        let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string();
        crate::ffi::evident_string_free(p);
        s
    }

    fn json_out(f: impl FnOnce(*mut *mut c_char) -> evident_status) -> Value {
        let mut out = std::ptr::null_mut();
        assert_eq!(f(&mut out), evident_status::Ok, "{}", last_error());
        serde_json::from_str(&take(out)).unwrap()
    }

    fn new_session(name: &str) -> *mut evident_session {
        let mut s = std::ptr::null_mut();
        assert_eq!(
            evident_session_new(cstr(name).as_ptr(), &mut s),
            evident_status::Ok
        );
        s
    }

    #[test]
    fn remove_one_annotation_keeps_the_others_and_respects_the_lock() {
        let s = new_session("r");
        for t in ["a", "b", "c"] {
            let a = cstr(&format!(r#"{{"text":"{t}","time":1.0}}"#));
            let st = evident_session_annotate(s, cstr("L").as_ptr(), a.as_ptr());
            assert_eq!(st, evident_status::Ok);
        }
        let before = json_out(|o| evident_session_layers_json(s, o));
        assert_eq!(
            evident_session_remove_annotation(s, cstr("L").as_ptr(), 1),
            evident_status::Ok
        );
        let after = json_out(|o| evident_session_layers_json(s, o));
        let anns = |v: &Value| v[0]["annotations"].as_array().unwrap().clone();
        let (b, a) = (anns(&before), anns(&after));
        assert_eq!(a, vec![b[0].clone(), b[2].clone()], "the others unchanged");
        assert_eq!(
            evident_session_remove_annotation(s, cstr("L").as_ptr(), 2),
            evident_status::NotFound
        );
        assert_eq!(
            evident_session_remove_annotation(s, cstr("nope").as_ptr(), 0),
            evident_status::NotFound
        );
        let lock = cstr(r#"{"name":"L","locked":true}"#);
        assert_eq!(
            evident_session_set_layer(s, lock.as_ptr()),
            evident_status::Ok
        );
        assert_eq!(
            evident_session_remove_annotation(s, cstr("L").as_ptr(), 0),
            evident_status::LayerLocked
        );
        evident_session_free(s);
    }

    #[test]
    fn dtype_names_and_aliases() {
        for (name, want) in [
            ("f64", evident_dtype::F64),
            ("float64", evident_dtype::F64),
            ("Double", evident_dtype::F64),
            ("float", evident_dtype::F64),
            ("float32", evident_dtype::F32),
            ("UINT16", evident_dtype::U16),
            ("bool_", evident_dtype::Bool),
            ("bits", evident_dtype::Bit),
        ] {
            let mut code = 99u32;
            assert_eq!(
                evident_dtype_from_name(cstr(name).as_ptr(), &mut code),
                evident_status::Ok,
                "{name}"
            );
            assert_eq!(code, want as u32, "{name}");
        }
        let mut code = 99u32;
        assert_eq!(
            evident_dtype_from_name(cstr("complex128").as_ptr(), &mut code),
            evident_status::InvalidArgument
        );
        assert_eq!(code, 0);
        assert!(last_error().contains("use one of f64"), "{}", last_error());
    }

    #[test]
    fn annotation_kind_is_inferred_and_ranges_checked() {
        for (json, kind) in [
            (
                r#"{"text":"x","time_range":[1,2],"amplitude_range":[0,1]}"#,
                "region",
            ),
            (r#"{"text":"x","time_range":[1,2]}"#, "range"),
            (r#"{"text":"x","time":1}"#, "point"),
            (r#"{"text":"x","amplitude":1}"#, "horizontal"),
            (r#"{"text":"x"}"#, "text"),
            (r#"{"text":"x","time":1,"type":"vertical"}"#, "vertical"),
        ] {
            let v = json_out(|o| evident_annotation_normalise_json(cstr(json).as_ptr(), o));
            assert_eq!(v["type"], kind, "{json}");
        }
        let mut out = std::ptr::null_mut();
        let bad = cstr(r#"{"text":"x","time_range":[2,1]}"#);
        assert_eq!(
            evident_annotation_normalise_json(bad.as_ptr(), &mut out),
            evident_status::InvalidArgument
        );
        assert!(out.is_null() && last_error().contains("after it ends"));
    }

    #[test]
    fn history_summary_script_and_entry_code() {
        let s = new_session("h");
        for e in [
            r#"{"operation":"load_trace","parameters":{"path":"a.wfm"},"duration_ms":2,"timestamp":"2026-01-08T10:30:01Z"}"#,
            r#"{"operation":"fft","success":false,"error_message":"too\nlong","duration_ms":1,"timestamp":"2026-01-08T10:30:02Z"}"#,
        ] {
            assert_eq!(
                evident_session_record_history(s, cstr(e).as_ptr()),
                evident_status::Ok
            );
        }
        let sum = json_out(|o| evident_session_history_summary_json(s, o));
        assert_eq!(sum["total_operations"], 2);
        assert_eq!(sum["failed"], 1);
        assert_eq!(sum["total_duration_ms"], 3.0);
        assert_eq!(sum["operations"]["fft"], 1);
        assert_eq!(sum["first"], "2026-01-08T10:30:01.000000Z");
        let mut out = std::ptr::null_mut();
        assert_eq!(
            evident_session_history_script(s, std::ptr::null(), std::ptr::null(), 0, &mut out),
            evident_status::Ok
        );
        let script = take(out);
        assert!(script.contains("\nimport tracekit as tk\n"), "{script}");
        assert!(script.contains("# 10:30:01 - load_trace\ntk.load_trace(path='a.wfm')\n"));
        assert!(
            script.contains("# FAILED: tk.fft(): too long\n"),
            "{script}"
        );
        let mut out = std::ptr::null_mut();
        assert_eq!(
            evident_session_history_script(s, cstr("os;x").as_ptr(), std::ptr::null(), 0, &mut out),
            evident_status::InvalidArgument
        );
        assert_eq!(
            evident_session_history_script(s, std::ptr::null(), std::ptr::null(), 7, &mut out),
            evident_status::InvalidArgument
        );
        let e = cstr(r#"{"operation":"f","parameters":{"s":"x","n":1.5}}"#);
        let mut out = std::ptr::null_mut();
        assert_eq!(
            evident_history_entry_code(e.as_ptr(), cstr("ev").as_ptr(), 1, &mut out),
            evident_status::Ok
        );
        // the parameters in the order given (issue 11)
        assert_eq!(take(out), r#"ev.f(s="x", n=1.5)"#);
        evident_session_free(s);
    }

    #[test]
    fn measurements_in_tracekit_shape() {
        let m = cstr(
            r#"{"name":"f","value":2.5,"unit":"Hz","metadata":{"k":1},"recorded_at":"2026-01-08T10:30:00Z"}"#,
        );
        let v = json_out(|o| evident_measurement_tracekit_json(m.as_ptr(), o));
        assert_eq!(
            v,
            json!({"k": 1, "value": 2.5, "unit": "Hz", "trace_name": null,
                   "timestamp": "2026-01-08T10:30:00+00:00"})
        );
        let s = new_session("m");
        assert_eq!(
            evident_session_record_measurement(s, m.as_ptr()),
            evident_status::Ok
        );
        let m2 = cstr(r#"{"name":"f","value":3,"recorded_at":"2026-01-08T10:30:00.25Z"}"#);
        assert_eq!(
            evident_session_record_measurement(s, m2.as_ptr()),
            evident_status::Ok
        );
        let by = json_out(|o| evident_session_measurements_tracekit_json(s, o));
        assert_eq!(by["f"]["value"], 3, "the latest of a name");
        assert_eq!(by["f"]["timestamp"], "2026-01-08T10:30:00.250000+00:00");
        evident_session_free(s);
    }

    #[test]
    fn dtype_numbers_match_the_library() {
        assert_eq!(Dtype::all().len(), 12);
        for &d in Dtype::all() {
            let c: evident_dtype = d.into();
            assert_eq!(c as u32, d as u32, "{d:?}");
            assert_eq!(Dtype::from_u32(c as u32), Some(d));
            // cbindgen's EVIDENT_DTYPE_<VARIANT> is the upper-case name.
            assert_eq!(format!("{c:?}").to_lowercase(), d.name());
        }
        assert_eq!(Dtype::from_u32(0), None);
        assert_eq!(Dtype::from_u32(13), None);
    }

    #[test]
    fn json_arguments_name_the_field_at_fault() {
        let cases = [
            (r#"{"text":"a","time":"noon"}"#, "field `time`"),
            (r#"{"text":"a","time_range":[1]}"#, "field `time_range`"),
            (r#"{"text":"a","type":"blob"}"#, "field `type`"),
            (r#"{"text":"a","created_at":"later"}"#, "field `created_at`"),
            (r#"{"text":"a","metadata":[]}"#, "field `metadata`"),
            (r#"{"text":5}"#, "field `text`"),
            (r#"{"time":1}"#, "missing field `text`"),
            (r#"{"text":"a","colour":"red"}"#, "unknown field `colour`"),
            ("[]", "must be a JSON object, not an array"),
            ("{", "is not valid JSON"),
        ];
        for (text, want) in cases {
            let e = ANNOTATION.parse::<Annotation>(text).unwrap_err();
            assert_eq!(e.status, evident_status::InvalidArgument, "{text}");
            assert!(e.message.starts_with("`annotation_json`"), "{}", e.message);
            assert!(e.message.contains(want), "{text}: {}", e.message);
        }
        let e = HISTORY
            .parse::<HistoryEntry>(r#"{"operation":"x","duration_ms":"slow"}"#)
            .unwrap_err();
        assert!(e.message.contains("field `duration_ms`"), "{}", e.message);
        let e = TRACE_INFO
            .parse::<TraceInfo>(r#"{"sample_rate":null}"#)
            .unwrap_err();
        assert!(e.message.contains("field `sample_rate`"), "{}", e.message);
        let e = LAYER
            .parse::<LayerProps>(r#"{"name":"l","locked":1}"#)
            .unwrap_err();
        assert!(e.message.contains("field `locked`"), "{}", e.message);
        let e = MEASUREMENT
            .parse::<Measurement>(r#"{"unit":"V"}"#)
            .unwrap_err();
        assert!(e.message.contains("missing field `name`"), "{}", e.message);
    }

    /// Every field of annotations, layers, measurements and history goes
    /// in as JSON and comes out unchanged; what comes out goes back in.
    #[test]
    fn every_json_field_round_trips() {
        let s = new_session("rt");
        let layer = r##"{"name":"faults","visible":false,"locked":false,"color":"#00ff00","description":"d"}"##;
        assert_eq!(
            evident_session_set_layer(s, cstr(layer).as_ptr()),
            evident_status::Ok
        );
        let ann = json!({
            "text": "burst", "type": "region", "time": 0.5, "time_range": [1.0, 2.0],
            "amplitude": -0.25, "amplitude_range": [-1.0, 1.0], "color": "red",
            "style": "dashed", "visible": false,
            "created_at": "2024-05-01T12:00:00.000001Z",
            "metadata": {"k": [1, "two", null]}
        });
        let ann_text = cstr(&ann.to_string());
        assert_eq!(
            evident_session_annotate(s, cstr("faults").as_ptr(), ann_text.as_ptr()),
            evident_status::Ok,
            "{}",
            last_error()
        );
        let m = json!({
            "name": "vpp", "value": {"v": 3.25, "ok": true}, "unit": "V",
            "trace_name": "CH1", "metadata": {"m": 1},
            "recorded_at": "2024-05-02T00:00:00.000000Z"
        });
        assert_eq!(
            evident_session_record_measurement(s, cstr(&m.to_string()).as_ptr()),
            evident_status::Ok
        );
        let h = json!({
            "operation": "fft", "parameters": {"n": 1024}, "result": [1, 2],
            "timestamp": "2024-05-03T00:00:00.000000Z", "duration_ms": 1.5,
            "success": false, "error_message": "too short", "metadata": {"x": "y"}
        });
        assert_eq!(
            evident_session_record_history(s, cstr(&h.to_string()).as_ptr()),
            evident_status::Ok
        );
        let meta = json!({"operator": "ana", "n": [1, 2]});
        assert_eq!(
            evident_session_set_metadata_json(s, cstr(&meta.to_string()).as_ptr()),
            evident_status::Ok
        );

        let layers = json_out(|o| evident_session_layers_json(s, o));
        let mut want_layer: Value = serde_json::from_str(layer).unwrap();
        want_layer["annotations"] = json!([ann]);
        assert_eq!(layers, json!([want_layer]));
        let ms = json_out(|o| evident_session_measurements_json(s, o));
        assert_eq!(ms, json!([m]));
        let hs = json_out(|o| evident_session_history_json(s, o));
        assert_eq!(hs, json!([h]));
        assert_eq!(json_out(|o| evident_session_metadata_json(s, o)), meta);
        let listed =
            json_out(|o| evident_session_annotations_json(s, std::ptr::null(), 0, 0.0, 0.0, o));
        assert_eq!(
            listed,
            json!([{"layer": "faults", "index": 0, "annotation": ann}])
        );

        // What comes out goes back in: a second session built from the
        // output is identical.
        let s2 = new_session("rt");
        let mut props = want_layer.clone();
        props.as_object_mut().unwrap().remove("annotations");
        assert_eq!(
            evident_session_set_layer(s2, cstr(&props.to_string()).as_ptr()),
            evident_status::Ok
        );
        for a in layers[0]["annotations"].as_array().unwrap() {
            let t = cstr(&a.to_string());
            assert_eq!(
                evident_session_annotate(s2, cstr("faults").as_ptr(), t.as_ptr()),
                evident_status::Ok
            );
        }
        for m in ms.as_array().unwrap() {
            let t = cstr(&m.to_string());
            assert_eq!(
                evident_session_record_measurement(s2, t.as_ptr()),
                evident_status::Ok
            );
        }
        for h in hs.as_array().unwrap() {
            let t = cstr(&h.to_string());
            assert_eq!(
                evident_session_record_history(s2, t.as_ptr()),
                evident_status::Ok
            );
        }
        assert_eq!(json_out(|o| evident_session_layers_json(s2, o)), layers);
        assert_eq!(json_out(|o| evident_session_measurements_json(s2, o)), ms);
        assert_eq!(json_out(|o| evident_session_history_json(s2, o)), hs);
        evident_session_free(s);
        evident_session_free(s2);
    }

    /// Issue 11: parameters cross the C ABI in the order of the JSON given,
    /// come out in it, and keep it through a save and a load.
    #[test]
    fn history_parameters_keep_the_order_given() {
        let dir = tempfile::tempdir().unwrap();
        let path = cstr(dir.path().join("o.evs").to_str().unwrap());
        let s = new_session("o");
        for e in [
            r#"{"operation":"apply_filter","parameters":{"type":"lowpass","cutoff":1000000.0}}"#,
            r#"{"parameters":{"b":1,"a":{"y":1,"x":2},"b":3},"operation":"dup"}"#,
        ] {
            assert_eq!(
                evident_session_record_history(s, cstr(e).as_ptr()),
                evident_status::Ok,
                "{}",
                last_error()
            );
        }
        let text = |f: &dyn Fn(*mut *mut c_char) -> evident_status| {
            let mut out = std::ptr::null_mut();
            assert_eq!(f(&mut out), evident_status::Ok, "{}", last_error());
            take(out)
        };
        let check = |t: String| {
            assert!(
                t.contains(r#""parameters":{"type":"lowpass","cutoff":1000000.0}"#),
                "{t}"
            );
            // a repeated member: the last value at the first place
            assert!(
                t.contains(r#""parameters":{"b":3,"a":{"x":2,"y":1}}"#),
                "{t}"
            );
        };
        check(text(&|o| evident_session_history_json(s, o)));
        check(text(&|o| evident_session_to_json(s, o)));
        check(text(&|o| {
            crate::ffi::session_py::evident_session_history_find_json(s, std::ptr::null(), false, o)
        }));
        assert_eq!(
            evident_session_save(s, path.as_ptr(), std::ptr::null(), std::ptr::null_mut()),
            evident_status::Ok,
            "{}",
            last_error()
        );
        let mut l = std::ptr::null_mut();
        assert_eq!(
            evident_session_load(path.as_ptr(), std::ptr::null(), 0, 0, &mut l),
            evident_status::Ok
        );
        check(text(&|o| evident_session_history_json(l, o)));
        let script =
            text(&|o| evident_session_history_script(l, std::ptr::null(), std::ptr::null(), 1, o));
        assert!(
            script.contains(r#"# FAILED: tk.apply_filter(type="lowpass", cutoff=1000000.0)"#)
                || script.contains(r#"tk.apply_filter(type="lowpass", cutoff=1000000.0)"#),
            "{script}"
        );
        assert!(
            script.contains(r#"tk.dup(b=3, a={'x': 2, 'y': 1})"#),
            "{script}"
        );
        evident_session_free(s);
        evident_session_free(l);
    }

    #[test]
    fn traces_copy_samples_and_outlive_their_session() {
        let s = new_session("t");
        let mut samples: Vec<i32> = (0..100).map(|i| i * 7 - 300).collect();
        let info = cstr(r#"{"sample_rate":48000,"units":"mV","metadata":{"ch":2}}"#);
        assert_eq!(
            evident_session_add_trace(
                s,
                cstr("A").as_ptr(),
                evident_dtype::I32 as u32,
                samples.as_ptr().cast(),
                samples.len() as u64,
                info.as_ptr()
            ),
            evident_status::Ok
        );
        let want = samples.clone();
        samples.fill(0); // the session holds its own copy
        let mut t = std::ptr::null_mut();
        assert_eq!(
            evident_session_get_trace(s, cstr("A").as_ptr(), &mut t),
            evident_status::Ok
        );
        evident_session_free(s);
        let (mut data, mut n, mut nb, mut dt) = (std::ptr::null(), 0u64, 0u64, 0u32);
        assert_eq!(
            evident_trace_data(t, &mut data, &mut n, &mut nb, &mut dt),
            evident_status::Ok
        );
        assert_eq!((n, nb, dt), (100, 400, evident_dtype::I32 as u32));
        assert_eq!(data as usize % 4, 0);
        // SAFETY: the library returned 100 aligned i32 samples.
        let got = unsafe { std::slice::from_raw_parts(data.cast::<i32>(), 100) };
        assert_eq!(got, &want[..]);
        // Only some out-pointers.
        let mut n2 = 0u64;
        assert_eq!(
            evident_trace_data(
                t,
                std::ptr::null_mut(),
                &mut n2,
                std::ptr::null_mut(),
                std::ptr::null_mut()
            ),
            evident_status::Ok
        );
        assert_eq!(n2, 100);
        let info = json_out(|o| evident_trace_info_json(t, o));
        assert_eq!(info["name"], "A");
        assert_eq!(info["dtype"], "i32");
        assert_eq!(info["sample_rate"], 48000.0);
        assert_eq!(info["units"], "mV");
        assert_eq!(info["metadata"], json!({"ch": 2}));
        assert_eq!(info["mapped"], false);
        assert_eq!(evident_trace_verify(t), evident_status::Ok);
        evident_trace_free(t);
    }

    #[test]
    fn aligned_copy_keeps_the_bytes() {
        let bytes: Vec<u8> = (0..=20).collect();
        let words = crate::session::aligned_copy(&bytes[1..]).unwrap();
        assert_eq!(words.len(), 3);
        // SAFETY: viewing u64 words as bytes.
        let back = unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), 24) };
        assert_eq!(&back[..20], &bytes[1..]);
        assert!(crate::session::aligned_copy(&[]).unwrap().is_empty());
    }

    #[test]
    fn save_and_file_functions_through_the_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let path = cstr(dir.path().join("s.evs").to_str().unwrap());
        let s = new_session("saved");
        let x = [1.0f64, 2.0, 3.0];
        assert_eq!(
            evident_session_add_trace(
                s,
                cstr("X").as_ptr(),
                1,
                x.as_ptr().cast(),
                3,
                std::ptr::null()
            ),
            evident_status::Ok
        );
        let mut o = std::ptr::null_mut();
        assert_eq!(evident_save_options_new(&mut o), evident_status::Ok);
        assert_eq!(evident_save_options_set_sync(o, false), evident_status::Ok);
        let info = json_out(|out| evident_session_save(s, path.as_ptr(), o, out));
        assert_eq!(info["version"], 1);
        assert_eq!(info["traces_written"], 1);
        assert_eq!(info["commit"].as_str().unwrap().len(), 64);
        // Without a path: the same file.
        let info2 = json_out(|out| evident_session_save(s, std::ptr::null(), o, out));
        assert_eq!(info2["version"], 2);
        assert_eq!(info2["path"], info["path"]);
        evident_save_options_free(o);
        let i = json_out(|out| evident_session_info_json(s, out));
        assert_eq!(i["version"], 2);
        assert_eq!(i["commit"], info2["commit"]);
        evident_session_free(s);

        let vs =
            json_out(|out| evident_session_versions_json(path.as_ptr(), std::ptr::null(), 0, out));
        let vs = vs.as_array().unwrap();
        assert_eq!(vs.len(), 2);
        assert_eq!(vs[1]["commit"], info2["commit"]);
        assert_eq!(vs[0]["traces"], 1);
        assert_eq!(vs[0]["name"], "saved");
        let r = json_out(|out| evident_session_verify(path.as_ptr(), std::ptr::null(), 0, out));
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["versions"], 2);
        assert_eq!(r["problems"], json!([]));
        // Compact without asking for the info.
        assert_eq!(
            evident_session_compact(path.as_ptr(), std::ptr::null(), 0, std::ptr::null_mut()),
            evident_status::Ok
        );
        let mut l = std::ptr::null_mut();
        assert_eq!(
            evident_session_load(path.as_ptr(), std::ptr::null(), 0, 0, &mut l),
            evident_status::Ok
        );
        let mut t = std::ptr::null_mut();
        assert_eq!(
            evident_session_get_trace(l, cstr("X").as_ptr(), &mut t),
            evident_status::Ok
        );
        evident_session_free(l);
        let info = json_out(|out| evident_trace_info_json(t, out));
        assert_eq!(info["mapped"], true);
        let (mut data, mut nb) = (std::ptr::null(), 0u64);
        assert_eq!(
            evident_trace_data(
                t,
                &mut data,
                std::ptr::null_mut(),
                &mut nb,
                std::ptr::null_mut()
            ),
            evident_status::Ok
        );
        assert_eq!(nb, 24);
        // SAFETY: 3 aligned f64 samples, kept alive by the trace.
        assert_eq!(
            unsafe { std::slice::from_raw_parts(data.cast::<f64>(), 3) },
            &x
        );
        evident_trace_free(t);

        // A version that does not exist; a missing file.
        let mut l = std::ptr::dangling_mut();
        assert_eq!(
            evident_session_load(path.as_ptr(), std::ptr::null(), 0, 9, &mut l),
            evident_status::NotFound
        );
        assert!(l.is_null());
        let missing = cstr(dir.path().join("nope.evs").to_str().unwrap());
        let mut out = std::ptr::dangling_mut();
        assert_eq!(
            evident_session_verify(missing.as_ptr(), std::ptr::null(), 0, &mut out),
            evident_status::Io
        );
        assert!(out.is_null());
        assert!(last_error().contains("nope.evs"), "{}", last_error());
    }

    /// A damaged bool sample (2 instead of 0/1) in a file never reaches
    /// the caller as data: loading or reading the trace fails.
    #[test]
    fn damaged_bool_samples_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.evs");
        let path = cstr(p.to_str().unwrap());
        let pattern: Vec<u8> = (0..64u32)
            .map(|i| u8::from((i * 7 + i / 3) % 5 < 2))
            .collect();
        let s = new_session("b");
        assert_eq!(
            evident_session_add_trace(
                s,
                cstr("D").as_ptr(),
                evident_dtype::Bool as u32,
                pattern.as_ptr().cast(),
                64,
                std::ptr::null()
            ),
            evident_status::Ok
        );
        assert_eq!(
            evident_session_save(s, path.as_ptr(), std::ptr::null(), std::ptr::null_mut()),
            evident_status::Ok
        );
        evident_session_free(s);
        let mut bytes = std::fs::read(&p).unwrap();
        let at = bytes
            .windows(64)
            .position(|w| w == &pattern[..])
            .expect("raw samples in the file");
        bytes[at + 5] = 2;
        std::fs::write(&p, &bytes).unwrap();

        let mut l = std::ptr::null_mut();
        let st = evident_session_load(path.as_ptr(), std::ptr::null(), 0, 0, &mut l);
        if st != evident_status::Ok {
            assert!(
                matches!(st, evident_status::Malformed | evident_status::Corrupt),
                "{st:?}: {}",
                last_error()
            );
            return;
        }
        let mut t = std::ptr::null_mut();
        assert_eq!(
            evident_session_get_trace(l, cstr("D").as_ptr(), &mut t),
            evident_status::Ok
        );
        evident_session_free(l);
        let mut data = std::ptr::dangling();
        let mut n = 9u64;
        assert_eq!(
            evident_trace_data(
                t,
                &mut data,
                &mut n,
                std::ptr::null_mut(),
                std::ptr::null_mut()
            ),
            evident_status::Corrupt
        );
        assert!(data.is_null() && n == 0, "out-pointers reset on failure");
        // The samples fail their hash before any is read as a bool.
        assert!(
            last_error().contains("trace \"D\": its samples hash to"),
            "{}",
            last_error()
        );
        assert_eq!(evident_trace_verify(t), evident_status::Corrupt);
        evident_trace_free(t);
    }
}
