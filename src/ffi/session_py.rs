//! Session calls that take one JSON argument where a binding would
//! otherwise make many calls or repeat a rule: saving with options given as
//! one JSON object, loading a capture file and recording it in the history
//! (TraceKit's `Session.load_trace` does), and storing a whole annotation
//! layer at once (copying a layer between sessions). Used by the Python
//! binding; usable from any binding.

use std::ffi::c_char;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::log::evident_log;
use super::measure::{import_options, loader_options};
use super::session::{compress_level, evident_session, opt_out, parse_object, save_into};
use super::{
    evident_status, ffi_status, key_arg, opt_str, owned_string, try_mut, try_opt_str, try_out,
    try_ref, try_str, Failure, FfiResult,
};
use crate::session::{
    Annotation, Dtype, HistoryEntry, Layer, LayerProps, Params, SaveOptions, Session,
};

/// The fields of `options_json` of `evident_session_save_json`.
/// `exclude_traces`, `no_sync` and `lock_timeout_ns` are the same options in
/// the shape of a marshalled Go struct (every zero value is the default).
const SAVE_FIELDS: [&str; 8] = [
    "compress",
    "include_traces",
    "sync",
    "lock_timeout",
    "adopt_empty",
    "exclude_traces",
    "no_sync",
    "lock_timeout_ns",
];

fn bool_field(k: &str, v: &Value) -> FfiResult<bool> {
    v.as_bool()
        .ok_or_else(|| Failure::invalid(format!("{k} must be a boolean")))
}

/// `lock_timeout` in seconds: a number >= 0, or `"inf"` (wait forever).
fn lock_timeout(v: &Value) -> FfiResult<Duration> {
    let secs = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let Some(secs) = secs.filter(|t| *t >= 0.0) else {
        return Err(Failure::invalid(format!(
            "lock_timeout must be >= 0 seconds (or \"inf\"), not {v}"
        )));
    };
    let ms = (secs * 1000.0).round_ties_even();
    // Saturating: infinity and anything beyond u64 milliseconds wait forever.
    Ok(Duration::from_millis(if ms >= u64::MAX as f64 {
        u64::MAX
    } else {
        ms as u64
    }))
}

/// Save options from their JSON object (see `evident_session_save_json`).
fn save_options(text: Option<&str>) -> FfiResult<SaveOptions<'static>> {
    let mut o = SaveOptions::default();
    let Some(text) = text else { return Ok(o) };
    for (k, v) in parse_object(text, "options_json")? {
        match k.as_str() {
            "compress" => {
                o.compress = match &v {
                    Value::Bool(b) => b.then_some(3),
                    Value::Number(n) => {
                        let level = n.as_i64().ok_or_else(|| {
                            Failure::invalid(format!("compress level {n} is not an integer"))
                        })?;
                        let level = i32::try_from(level).map_err(|_| {
                            Failure::invalid(format!("compress level {level} is out of range"))
                        })?;
                        compress_level(level)?
                    }
                    other => {
                        return Err(Failure::invalid(format!(
                            "compress must be a bool or a zstd level (int), not {other}"
                        )))
                    }
                }
            }
            "include_traces" => o.include_traces = bool_field(&k, &v)?,
            "sync" => o.sync = bool_field(&k, &v)?,
            "adopt_empty" => o.adopt_empty = bool_field(&k, &v)?,
            "lock_timeout" if v.is_null() => {}
            "lock_timeout" => o.lock_timeout = lock_timeout(&v)?,
            "exclude_traces" => o.include_traces = !bool_field(&k, &v)?,
            "no_sync" => o.sync = !bool_field(&k, &v)?,
            "lock_timeout_ns" => match v.as_i64() {
                Some(0) => {}
                // Rounded up to whole milliseconds.
                Some(ns) if ns > 0 => {
                    o.lock_timeout = Duration::from_millis((ns as u64).div_ceil(1_000_000))
                }
                _ => {
                    return Err(Failure::invalid(format!(
                        "lock_timeout_ns must be an integer >= 0 (0: the default), not {v}"
                    )))
                }
            },
            _ => {
                return Err(Failure::invalid(format!(
                    "`options_json`: unknown save option `{k}` (known: {})",
                    SAVE_FIELDS.join(", ")
                )))
            }
        }
    }
    Ok(o)
}

/// `evident_session_save` with its options as one JSON object
/// `options_json` (NULL: the defaults): `compress` (true: zstd level 3,
/// false: none, or a zstd level, at most 22), `include_traces` (boolean,
/// default true), `sync` (boolean, default true) and `lock_timeout`
/// (seconds to wait for another writer, a number >= 0 or `"inf"`; default
/// 10), `adopt_empty` (boolean, default false: save into an existing empty
/// file instead of refusing it, since ABI 1.10). The same options may be given as a marshalled Go struct would give
/// them, where every zero value is the default: `exclude_traces`, `no_sync`
/// (booleans) and `lock_timeout_ns` (integer nanoseconds, rounded up to
/// milliseconds; 0: the default). Unknown members are refused.
/// `key`/`key_len`: the file's HMAC key (NULL and 0: none). `audit_log`
/// (may be NULL) gets an entry naming the saved version and its commit; it
/// is borrowed for the call. `path` and `out_info_json` are those of
/// `evident_session_save`.
#[no_mangle]
pub extern "C" fn evident_session_save_json(
    session: *mut evident_session,
    path: *const c_char,
    key: *const u8,
    key_len: usize,
    options_json: *const c_char,
    audit_log: *const evident_log,
    out_info_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = opt_out(out_info_json);
        let path = try_opt_str!(path, "path");
        let mut opts = save_options(opt_str(options_json, "options_json")?)?;
        opts.key = key_arg(key, key_len)?;
        // SAFETY: `audit_log` is NULL or a live log for the call (header contract).
        let log = unsafe { audit_log.as_ref() };
        let opts = SaveOptions {
            audit: log.map(|l| &l.log),
            ..opts
        };
        let s = &mut try_mut!(session, "session").s;
        save_into(s, path, &opts, out)?;
        Ok(evident_status::Ok)
    })
}

/// Loads the capture file and adds its trace; with `record`, records the
/// attempt, successful or not, as a `load_trace` history entry.
fn load_and_record(
    s: &mut Session,
    path: &str,
    name: Option<&str>,
    options: Params,
    record: bool,
) -> FfiResult<String> {
    let start = Instant::now();
    let loaded = import_options(options.as_map())
        .and_then(|o| Ok(s.load_trace_with(std::path::Path::new(path), name, &o)?));
    if record {
        let mut e = HistoryEntry::new("load_trace");
        e.parameters.insert("path".into(), json!(path));
        if let Some(n) = name {
            e.parameters.insert("name".into(), json!(n));
        }
        e.parameters.extend(options);
        e.duration_ms = start.elapsed().as_secs_f64() * 1000.0;
        match &loaded {
            Ok(n) => e.result = json!(format!("loaded {}", crate::pytext::repr_str(n))),
            Err(f) => {
                e.success = false;
                e.error_message = Some(f.message.clone());
            }
        }
        s.record_history(e)?;
    }
    loaded
}

/// `evident_session_load_trace_with`, and, when `record_history` is true,
/// the attempt recorded in the history (as TraceKit does): an entry
/// `load_trace` with the parameters `path`, `name` (when given) and the
/// loader options, the result `"loaded '<name>'"` (Python's `repr` of the
/// name), the duration, and on failure `success` false with the error's
/// message (the call then returns that error; the entry stays). Arguments
/// that are not valid (NULL path, bad UTF-8, `options_json` not a JSON
/// object) are refused before anything is recorded. `out_name` may be
/// NULL; otherwise it receives the trace's name, to free with
/// `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_load_trace_json(
    session: *mut evident_session,
    path: *const c_char,
    name: *const c_char,
    options_json: *const c_char,
    record_history: bool,
    out_name: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = opt_out(out_name);
        let s = &mut try_mut!(session, "session").s;
        let path = try_str!(path, "path");
        let name = try_opt_str!(name, "name");
        let options = match opt_str(options_json, "options_json")? {
            Some(text) => loader_options(text)?,
            None => Params::new(),
        };
        let used = load_and_record(s, path, name, options, record_history)?;
        if let Some(o) = out {
            *o = owned_string(&used);
        }
        Ok(evident_status::Ok)
    })
}

/// The fields of `layer_json` of `evident_session_put_layer_json`.
const LAYER_FIELDS: [&str; 6] = [
    "name",
    "visible",
    "locked",
    "color",
    "description",
    "annotations",
];

/// Stores `layer` whole, replacing a layer of that name.
fn put_layer(s: &mut Session, layer: Layer) -> FfiResult<()> {
    if layer.name.is_empty() {
        return Err(Failure::invalid("a layer needs a name"));
    }
    // Every annotation checked first: nothing changes when one is refused.
    let annotations = layer
        .annotations
        .into_iter()
        .map(Annotation::normalise)
        .collect::<crate::error::Result<Vec<_>>>()?;
    if s.layer(&layer.name).is_some() {
        s.remove_layer(&layer.name)?; // refused when locked
    }
    let name = layer.name;
    s.set_layer(&LayerProps {
        name: name.clone(),
        visible: Some(layer.visible),
        locked: Some(false),
        color: Some(layer.color.unwrap_or_default()),
        description: Some(layer.description),
    })?;
    for a in annotations {
        s.annotate(&name, a)?;
    }
    if layer.locked {
        s.set_layer(&LayerProps {
            name,
            locked: Some(true),
            ..LayerProps::default()
        })?;
    }
    Ok(())
}

/// Stores a whole annotation layer, replacing the layer of that name
/// (`EVIDENT_STATUS_LAYER_LOCKED` when that one is locked). `layer_json` is
/// an object as `evident_session_layers_json` lists them: `name`
/// (required), `visible` (default true), `locked` (default false), `color`,
/// `description` and `annotations` (objects as `evident_session_annotate`
/// takes, kept in order). A layer of one session copied into another is
/// one call: its JSON from `evident_session_layers_json`, stored here.
/// Refused as a whole when an annotation is not valid.
#[no_mangle]
pub extern "C" fn evident_session_put_layer_json(
    session: *mut evident_session,
    layer_json: *const c_char,
) -> evident_status {
    ffi_status!({
        let s = &mut try_mut!(session, "session").s;
        let obj = parse_object(try_str!(layer_json, "layer_json"), "layer_json")?;
        if let Some(k) = obj.keys().find(|k| !LAYER_FIELDS.contains(&k.as_str())) {
            return Err(Failure::invalid(format!(
                "`layer_json`: unknown field `{k}` (expected one of: {})",
                LAYER_FIELDS.join(", ")
            )));
        }
        let layer: Layer = serde_json::from_value(Value::Object(obj))
            .map_err(|e| Failure::invalid(format!("`layer_json`: {e}")))?;
        put_layer(s, layer)?;
        Ok(evident_status::Ok)
    })
}

// ---------------------------------------------------------------------------
// Sample types as bindings name them

/// A sample type's facts: `name`, `code` (`EVIDENT_DTYPE_*`), `size`
/// (bytes per sample, 0 for packed bits), `format` (the one-character
/// buffer format of a sample in native order, as Python's `struct`,
/// `array` and `memoryview` and the buffer protocol name it) and `numpy`
/// (numpy's type string; `""` for bits, which numpy has not).
fn dtype_facts(d: Dtype) -> Value {
    let (format, numpy) = match d {
        Dtype::F64 => ("d", "<f8"),
        Dtype::F32 => ("f", "<f4"),
        Dtype::I8 => ("b", "i1"),
        Dtype::I16 => ("h", "<i2"),
        Dtype::I32 => ("i", "<i4"),
        Dtype::I64 => ("q", "<i8"),
        Dtype::U8 => ("B", "u1"),
        Dtype::U16 => ("H", "<u2"),
        Dtype::U32 => ("I", "<u4"),
        Dtype::U64 => ("Q", "<u8"),
        Dtype::Bool => ("?", "?"),
        Dtype::Bit => ("B", ""),
    };
    json!({"name": d.name(), "code": d as u32, "size": d.item_size().unwrap_or(0),
           "format": format, "numpy": numpy})
}

/// The sample type of a buffer format (`struct` characters, optionally
/// after `@`, `=` or `<`) whose items take `itemsize` bytes: `d`/`f` a
/// float, `?` a bool, `b h i l q` a signed and `B H I L Q` an unsigned
/// integer of that size. `None` when the items are no sample type (other
/// characters, big-endian `>`/`!`, sizes without a type).
fn dtype_of_format(format: &str, itemsize: u32) -> Option<Dtype> {
    let kind = match format.trim_start_matches(['@', '=', '<']) {
        "d" | "f" => 'f',
        "?" => '?',
        "b" | "h" | "i" | "l" | "q" => 'i',
        "B" | "H" | "I" | "L" | "Q" => 'u',
        _ => return None,
    };
    Some(match (kind, itemsize) {
        ('f', 8) => Dtype::F64,
        ('f', 4) => Dtype::F32,
        ('?', 1) => Dtype::Bool,
        ('i', 1) => Dtype::I8,
        ('i', 2) => Dtype::I16,
        ('i', 4) => Dtype::I32,
        ('i', 8) => Dtype::I64,
        ('u', 1) => Dtype::U8,
        ('u', 2) => Dtype::U16,
        ('u', 4) => Dtype::U32,
        ('u', 8) => Dtype::U64,
        _ => return None,
    })
}

fn dtype_names() -> String {
    let names: Vec<&str> = Dtype::all().iter().map(|d| d.name()).collect();
    names.join(", ")
}

/// Every sample type as a JSON array, in numbering order, each an object
/// `{"name", "code", "size", "format", "numpy"}`: its name, its
/// `EVIDENT_DTYPE_*` value, bytes per sample (0 for packed bits), the
/// buffer format character of one sample in native order (Python's
/// `struct`/`array`; `"B"` for bits: bytes) and numpy's type string (`""`
/// for bits). `*out` receives a string to free with `evident_string_free`
/// (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_dtypes_json(out: *mut *mut c_char) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let all: Vec<Value> = Dtype::all().iter().map(|&d| dtype_facts(d)).collect();
        *out = owned_string(&Value::Array(all).to_string());
        Ok(evident_status::Ok)
    })
}

/// Resolves a sample type as people and buffers name it, giving its object
/// of `evident_dtypes_json`. With `itemsize` 0, `spec` is a name or alias,
/// case-insensitively (`"f64"`, `"float64"`, `"double"`, `"float"`,
/// `"int8"` … `"uint64"`, `"bool_"`, `"bits"`; see
/// `evident_dtype_from_name`). Otherwise `spec` is a buffer format
/// (Python's `struct` characters, as `memoryview.format`,
/// `array.typecode` and numpy's `dtype.char` give them, optionally after
/// `@`, `=` or `<`) whose items take `itemsize` bytes: `d`/`f` a float,
/// `?` a bool, `b h i l q` a signed and `B H I L Q` an unsigned integer of
/// that size. What is no sample type gives
/// `EVIDENT_STATUS_INVALID_ARGUMENT`. `*out` receives a string to free
/// with `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_dtype_json(
    spec: *const c_char,
    itemsize: u32,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let spec = try_str!(spec, "spec");
        let d = if itemsize == 0 {
            Dtype::from_alias(spec).ok_or_else(|| {
                Failure::invalid(format!(
                    "unsupported dtype {spec:?}: use one of {}",
                    dtype_names()
                ))
            })?
        } else {
            dtype_of_format(spec, itemsize).ok_or_else(|| {
                Failure::invalid(format!(
                    "format {spec:?} of {itemsize} bytes is not a sample type (use one of {})",
                    dtype_names()
                ))
            })?
        };
        *out = owned_string(&dtype_facts(d).to_string());
        Ok(evident_status::Ok)
    })
}

/// The number of samples of `dtype` (an `EVIDENT_DTYPE_*` value) that
/// `nbytes` bytes hold, checked: with `len_samples` `UINT64_MAX`, derived
/// from `nbytes` (refused when it is not a whole number of samples; bits:
/// 8 per byte); otherwise `len_samples` itself, refused unless those
/// samples take exactly `nbytes` bytes (bits: packed). `*out` receives it
/// (0 on failure).
#[no_mangle]
pub extern "C" fn evident_dtype_len_samples(
    dtype: u32,
    nbytes: u64,
    len_samples: u64,
    out: *mut u64,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", 0);
        let d = Dtype::from_u32(dtype)
            .ok_or_else(|| Failure::invalid(format!("unknown dtype number {dtype}")))?;
        let name = d.name();
        let n = match (len_samples, d.item_size()) {
            (u64::MAX, None) => nbytes.checked_mul(8).ok_or_else(|| {
                Failure::invalid(format!("{nbytes} bytes hold too many bit samples"))
            })?,
            (u64::MAX, Some(size)) if nbytes % size != 0 => {
                return Err(Failure::invalid(format!(
                    "{nbytes} bytes is not a whole number of {name} samples ({size} bytes each)"
                )))
            }
            (u64::MAX, Some(size)) => nbytes / size,
            (n, _) => match d.byte_len(n) {
                Some(b) if b == nbytes => n,
                b => {
                    let take = b.map_or("more than 2^64".into(), |b| b.to_string());
                    return Err(Failure::invalid(format!(
                        "{n} {name} samples take {take} bytes, the buffer has {nbytes}"
                    )));
                }
            },
        };
        *out = n;
        Ok(evident_status::Ok)
    })
}

/// The history entries of `operation` (NULL: every operation), oldest
/// first, as `evident_session_history_json` gives them; with
/// `success_only`, only those that succeeded. `*out` receives a string to
/// free with `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_session_history_find_json(
    session: *const evident_session,
    operation: *const c_char,
    success_only: bool,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let s = &try_ref!(session, "session").s;
        let operation = try_opt_str!(operation, "operation");
        let found: Vec<&HistoryEntry> = s
            .history()
            .iter()
            .filter(|e| operation.is_none_or(|op| e.operation == op))
            .filter(|e| e.success || !success_only)
            .collect();
        let text = serde_json::to_string(&found)
            .map_err(|e| Failure::invalid(format!("cannot serialise the history: {e}")))?;
        *out = owned_string(&text);
        Ok(evident_status::Ok)
    })
}

/// The `evident_measure` value of the measurement named `name`
/// (`"frequency"`, `"period"`, `"amplitude"`, `"rise_time"`,
/// `"fall_time"`, `"duty_cycle"`, `"thd"`); another name gives
/// `EVIDENT_STATUS_INVALID_ARGUMENT` naming them. `*out` receives it (0 on
/// failure).
#[no_mangle]
pub extern "C" fn evident_measure_from_name(name: *const c_char, out: *mut u32) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", 0);
        let name = try_str!(name, "name");
        // `evident_measure` numbers the measurements in the order of `Measure::ALL`.
        let i = crate::measure::Measure::ALL
            .iter()
            .position(|m| m.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = crate::measure::Measure::ALL
                    .iter()
                    .map(|m| m.name())
                    .collect();
                Failure::invalid(format!(
                    "unknown measurement {name:?}: use one of {}",
                    names.join(", ")
                ))
            })?;
        *out = i as u32 + 1;
        Ok(evident_status::Ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::session::{
        evident_session_annotate, evident_session_free, evident_session_history_json,
        evident_session_layers_json, evident_session_new, evident_session_set_layer,
    };
    use crate::ffi::{evident_last_error, evident_string_free};
    use std::ffi::{CStr, CString};

    fn c(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    fn new_session() -> *mut evident_session {
        let mut s = std::ptr::null_mut();
        assert_eq!(
            evident_session_new(c("t").as_ptr(), &mut s),
            evident_status::Ok
        );
        s
    }

    fn take(p: *mut c_char) -> String {
        // SAFETY: a string returned by the library.
        let t = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string();
        evident_string_free(p);
        t
    }

    fn last_error() -> String {
        // SAFETY: the thread's last error, a C string.
        unsafe { CStr::from_ptr(evident_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    fn json_of(
        s: *mut evident_session,
        f: extern "C" fn(*const evident_session, *mut *mut c_char) -> evident_status,
    ) -> Value {
        let mut out = std::ptr::null_mut();
        assert_eq!(f(s, &mut out), evident_status::Ok);
        serde_json::from_str(&take(out)).unwrap()
    }

    #[test]
    fn save_options_from_json() {
        let o = save_options(Some(
            r#"{"compress":true,"include_traces":false,"sync":false,"lock_timeout":1.5}"#,
        ))
        .unwrap();
        assert_eq!(o.compress, Some(3));
        assert!(!o.include_traces && !o.sync);
        assert_eq!(o.lock_timeout, Duration::from_millis(1500));
        let o = save_options(Some(r#"{"compress":19,"lock_timeout":"inf"}"#)).unwrap();
        assert_eq!(o.compress, Some(19));
        assert_eq!(o.lock_timeout, Duration::from_millis(u64::MAX));
        assert_eq!(
            save_options(Some(r#"{"compress":0}"#)).unwrap().compress,
            None
        );
        assert_eq!(
            save_options(None).unwrap().lock_timeout,
            Duration::from_secs(10)
        );
        for bad in [
            r#"{"compress":23}"#,
            r#"{"compress":"yes"}"#,
            r#"{"compress":1.5}"#,
            r#"{"compress":4294967296}"#,
            r#"{"lock_timeout":-1}"#,
            r#"{"lock_timeout":"nan"}"#,
            r#"{"lock_timeout":"-inf"}"#,
            r#"{"sync":1}"#,
            r#"{"colour":1}"#,
            r#"[]"#,
        ] {
            let e = save_options(Some(bad))
                .err()
                .unwrap_or_else(|| panic!("{bad}"));
            assert_eq!(e.status, evident_status::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn save_json_saves_with_the_options() {
        let dir = tempfile::tempdir().unwrap();
        let path = c(dir.path().join("s.evs").to_str().unwrap());
        let s = new_session();
        let mut out = std::ptr::null_mut();
        let opts = c(r#"{"compress":true,"sync":false,"lock_timeout":0}"#);
        let st = evident_session_save_json(
            s,
            path.as_ptr(),
            std::ptr::null(),
            0,
            opts.as_ptr(),
            std::ptr::null(),
            &mut out,
        );
        assert_eq!(st, evident_status::Ok, "{}", last_error());
        let info: Value = serde_json::from_str(&take(out)).unwrap();
        assert_eq!(info["version"], 1);
        // A bad option: refused before anything is written.
        let bad = c(r#"{"compress":"yes"}"#);
        let st = evident_session_save_json(
            s,
            std::ptr::null(),
            std::ptr::null(),
            0,
            bad.as_ptr(),
            std::ptr::null(),
            &mut out,
        );
        assert_eq!(st, evident_status::InvalidArgument);
        assert!(out.is_null());
        assert!(last_error().contains("compress"), "{}", last_error());
        evident_session_free(s);
    }

    #[test]
    fn load_trace_json_records_success_and_failure() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("cap.csv");
        std::fs::write(&csv, "t,v (V)\n0,1.5\n0.001,2.5\n").unwrap();
        let csv = c(csv.to_str().unwrap());
        let s = new_session();
        let mut out = std::ptr::null_mut();
        let st = evident_session_load_trace_json(
            s,
            csv.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            true,
            &mut out,
        );
        assert_eq!(st, evident_status::Ok, "{}", last_error());
        assert_eq!(take(out), "cap");
        let opts = c(r#"{"bogus":true}"#);
        let st = evident_session_load_trace_json(
            s,
            csv.as_ptr(),
            c("N").as_ptr(),
            opts.as_ptr(),
            true,
            &mut out,
        );
        assert_eq!(st, evident_status::InvalidArgument);
        assert!(out.is_null());
        // Not recorded when asked not to.
        let st = evident_session_load_trace_json(
            s,
            csv.as_ptr(),
            c("again").as_ptr(),
            std::ptr::null(),
            false,
            std::ptr::null_mut(),
        );
        assert_eq!(st, evident_status::Ok);
        // Arguments refused before anything is recorded.
        let st = evident_session_load_trace_json(
            s,
            csv.as_ptr(),
            std::ptr::null(),
            c("[1]").as_ptr(),
            true,
            std::ptr::null_mut(),
        );
        assert_eq!(st, evident_status::InvalidArgument);
        let h = json_of(s, evident_session_history_json);
        let h = h.as_array().unwrap();
        assert_eq!(h.len(), 2, "{h:?}");
        assert_eq!(h[0]["operation"], "load_trace");
        assert_eq!(h[0]["success"], true);
        assert_eq!(h[0]["result"], "loaded 'cap'");
        assert_eq!(h[0]["parameters"], json!({"path": csv.to_str().unwrap()}));
        assert_eq!(h[1]["success"], false);
        assert_eq!(
            h[1]["parameters"],
            json!({"path": csv.to_str().unwrap(), "name": "N", "bogus": true})
        );
        assert!(h[1]["error_message"]
            .as_str()
            .unwrap()
            .contains("unknown loader option"));
        evident_session_free(s);
    }

    #[test]
    fn put_layer_json_copies_a_layer_whole() {
        let a = new_session();
        let props = c(r##"{"name":"L","color":"#f00","description":"d","visible":false}"##);
        assert_eq!(
            evident_session_set_layer(a, props.as_ptr()),
            evident_status::Ok
        );
        for t in ["x", "y"] {
            let body = c(&format!(r#"{{"text":"{t}","time_range":[1,2]}}"#));
            let st = evident_session_annotate(a, c("L").as_ptr(), body.as_ptr());
            assert_eq!(st, evident_status::Ok);
        }
        let lock = c(r#"{"name":"L","locked":true}"#);
        assert_eq!(
            evident_session_set_layer(a, lock.as_ptr()),
            evident_status::Ok
        );
        let layers = json_of(a, evident_session_layers_json);
        let layer = layers[0].clone();
        // Into another session, under another name.
        let b = new_session();
        let mut copy = layer.clone();
        copy["name"] = json!("M");
        let text = c(&copy.to_string());
        let st = evident_session_put_layer_json(b, text.as_ptr());
        assert_eq!(st, evident_status::Ok, "{}", last_error());
        assert_eq!(json_of(b, evident_session_layers_json), json!([copy]));
        // Onto a locked layer: refused; onto itself after unlocking: the same.
        assert_eq!(
            evident_session_put_layer_json(b, text.as_ptr()),
            evident_status::LayerLocked
        );
        let unlock = c(r#"{"name":"L","locked":false}"#);
        assert_eq!(
            evident_session_set_layer(a, unlock.as_ptr()),
            evident_status::Ok
        );
        let mut unlocked = layer.clone();
        unlocked["locked"] = json!(false);
        let text = c(&layer.to_string());
        assert_eq!(
            evident_session_put_layer_json(a, text.as_ptr()),
            evident_status::Ok
        );
        assert_eq!(json_of(a, evident_session_layers_json), json!([layer]));
        // A bad annotation or field: refused, nothing changed.
        let mut bad = unlocked.clone();
        bad["annotations"][1]["time_range"] = json!([3, 2]);
        let text = c(&bad.to_string());
        let st = evident_session_put_layer_json(b, c(r#"{"name":"M"}"#).as_ptr());
        assert_eq!(st, evident_status::LayerLocked);
        let c2 = new_session();
        assert_eq!(
            evident_session_put_layer_json(c2, text.as_ptr()),
            evident_status::InvalidArgument
        );
        assert_eq!(json_of(c2, evident_session_layers_json), json!([]));
        for bad in [r#"{"name":"L","colour":"red"}"#, r#"{"name":""}"#, "[]"] {
            let st = evident_session_put_layer_json(c2, c(bad).as_ptr());
            assert_eq!(st, evident_status::InvalidArgument, "{bad}");
        }
        for s in [a, b, c2] {
            evident_session_free(s);
        }
    }

    fn dtype_json(spec: &str, itemsize: u32) -> Result<Value, String> {
        let mut out = std::ptr::null_mut();
        match evident_dtype_json(c(spec).as_ptr(), itemsize, &mut out) {
            evident_status::Ok => Ok(serde_json::from_str(&take(out)).unwrap()),
            st => {
                assert!(out.is_null());
                assert_eq!(st, evident_status::InvalidArgument);
                Err(last_error())
            }
        }
    }

    #[test]
    fn dtypes_json_lists_every_type_with_its_facts() {
        let mut out = std::ptr::null_mut();
        assert_eq!(evident_dtypes_json(&mut out), evident_status::Ok);
        let all: Value = serde_json::from_str(&take(out)).unwrap();
        let all = all.as_array().unwrap();
        assert_eq!(all.len(), 12);
        for (d, v) in Dtype::all().iter().zip(all) {
            assert_eq!(v["name"], d.name());
            assert_eq!(v["code"], *d as u32);
            assert_eq!(v["size"], d.item_size().unwrap_or(0));
        }
        assert_eq!(
            all[0],
            json!({"name": "f64", "code": 1, "size": 8, "format": "d", "numpy": "<f8"})
        );
        assert_eq!(all[11]["numpy"], "");
        // Every type with a format resolves back to itself by it.
        for v in &all[..11] {
            let size = v["size"].as_u64().unwrap() as u32;
            assert_eq!(&dtype_json(v["format"].as_str().unwrap(), size).unwrap(), v);
        }
        assert_eq!(
            evident_dtypes_json(std::ptr::null_mut()),
            evident_status::NullArgument
        );
    }

    #[test]
    fn dtype_json_resolves_aliases_and_buffer_formats() {
        assert_eq!(dtype_json("Double", 0).unwrap()["name"], "f64");
        assert_eq!(dtype_json("uint16", 0).unwrap()["code"], 8);
        assert_eq!(dtype_json("bits", 0).unwrap()["name"], "bit");
        assert!(dtype_json("complex128", 0)
            .unwrap_err()
            .contains("unsupported dtype \"complex128\": use one of f64"));
        // Buffer formats: the size decides (C long is 4 or 8 bytes).
        for (fmt, size, name) in [
            ("d", 8, "f64"),
            ("<f", 4, "f32"),
            ("@l", 8, "i64"),
            ("l", 4, "i32"),
            ("=L", 8, "u64"),
            ("b", 1, "i8"),
            ("B", 1, "u8"),
            ("?", 1, "bool"),
        ] {
            assert_eq!(dtype_json(fmt, size).unwrap()["name"], name, "{fmt}");
        }
        for (fmt, size) in [
            (">h", 2),
            ("!i", 4),
            ("e", 2),
            ("D", 16),
            ("c", 1),
            ("d", 2),
        ] {
            let e = dtype_json(fmt, size).unwrap_err();
            assert!(e.contains("is not a sample type"), "{fmt}: {e}");
        }
        let mut out = std::ptr::null_mut();
        assert_eq!(
            evident_dtype_json(std::ptr::null(), 0, &mut out),
            evident_status::NullArgument
        );
    }

    #[test]
    fn len_samples_derives_or_checks_the_count() {
        let len = |d: Dtype, nbytes: u64, n: u64| {
            let mut out = 99;
            let st = evident_dtype_len_samples(d as u32, nbytes, n, &mut out);
            if st == evident_status::Ok {
                Ok(out)
            } else {
                assert_eq!((st, out), (evident_status::InvalidArgument, 0));
                Err(last_error())
            }
        };
        assert_eq!(len(Dtype::U16, 6, u64::MAX), Ok(3));
        assert_eq!(len(Dtype::Bit, 2, u64::MAX), Ok(16));
        assert_eq!(len(Dtype::Bit, 2, 9), Ok(9));
        assert_eq!(len(Dtype::F64, 0, 0), Ok(0));
        assert_eq!(
            len(Dtype::U16, 3, u64::MAX).unwrap_err(),
            "3 bytes is not a whole number of u16 samples (2 bytes each)"
        );
        assert_eq!(
            len(Dtype::Bit, 1, 9).unwrap_err(),
            "9 bit samples take 2 bytes, the buffer has 1"
        );
        assert!(len(Dtype::U64, 8, u64::MAX / 2)
            .unwrap_err()
            .contains("more than 2^64"));
        assert!(len(Dtype::Bit, u64::MAX, u64::MAX).is_err());
        let mut out = 0;
        assert_eq!(
            evident_dtype_len_samples(13, 0, 0, &mut out),
            evident_status::InvalidArgument
        );
    }

    #[test]
    fn history_find_filters_by_operation_and_success() {
        let s = new_session();
        for (op, ok) in [("a", true), ("b", true), ("a", false), ("a", true)] {
            let e = c(&format!(r#"{{"operation":"{op}","success":{ok}}}"#));
            let st = crate::ffi::session::evident_session_record_history(s, e.as_ptr());
            assert_eq!(st, evident_status::Ok, "{}", last_error());
        }
        let find = |op: Option<&str>, success_only: bool| -> Vec<(String, bool)> {
            let op = op.map(c);
            let mut out = std::ptr::null_mut();
            let p = op.as_ref().map_or(std::ptr::null(), |o| o.as_ptr());
            let st = evident_session_history_find_json(s, p, success_only, &mut out);
            assert_eq!(st, evident_status::Ok, "{}", last_error());
            let v: Value = serde_json::from_str(&take(out)).unwrap();
            v.as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["operation"].as_str().unwrap().to_string(),
                        e["success"] == true,
                    )
                })
                .collect()
        };
        let t = |op: &str, ok| (op.to_string(), ok);
        assert_eq!(
            find(Some("a"), false),
            [t("a", true), t("a", false), t("a", true)]
        );
        assert_eq!(find(Some("a"), true), [t("a", true), t("a", true)]);
        assert_eq!(find(None, true), [t("a", true), t("b", true), t("a", true)]);
        assert_eq!(find(None, false).len(), 4);
        assert_eq!(find(Some("zzz"), false), []);
        // The whole entries, as evident_session_history_json gives them.
        let mut out = std::ptr::null_mut();
        let st = evident_session_history_find_json(s, std::ptr::null(), false, &mut out);
        assert_eq!(st, evident_status::Ok);
        let found: Value = serde_json::from_str(&take(out)).unwrap();
        assert_eq!(found, json_of(s, evident_session_history_json));
        let st = evident_session_history_find_json(s, c("a").as_ptr(), false, std::ptr::null_mut());
        assert_eq!(st, evident_status::NullArgument);
        evident_session_free(s);
    }

    #[test]
    fn measure_from_name_gives_the_enum_value() {
        use crate::ffi::measure::evident_measure as M;
        let code = |n: &str| {
            let mut out = 99;
            let st = evident_measure_from_name(c(n).as_ptr(), &mut out);
            (st, out)
        };
        for (name, want) in [
            ("frequency", M::Frequency),
            ("period", M::Period),
            ("amplitude", M::Amplitude),
            ("rise_time", M::RiseTime),
            ("fall_time", M::FallTime),
            ("duty_cycle", M::DutyCycle),
            ("thd", M::Thd),
        ] {
            assert_eq!(code(name), (evident_status::Ok, want as u32), "{name}");
        }
        assert_eq!(code("Frequency"), (evident_status::InvalidArgument, 0));
        assert!(
            last_error().contains("use one of frequency, period"),
            "{}",
            last_error()
        );
        assert_eq!(
            evident_measure_from_name(std::ptr::null(), &mut 0),
            evident_status::NullArgument
        );
    }
}
