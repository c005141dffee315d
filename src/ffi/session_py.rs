//! Session calls that take one JSON argument where a binding would
//! otherwise make many calls or repeat a rule: saving with options given as
//! one JSON object, loading a capture file and recording it in the history
//! (TraceKit's `Session.load_trace` does), and storing a whole annotation
//! layer at once (copying a layer between sessions). Used by the Python
//! binding; usable from any binding.

use std::ffi::c_char;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::log::evident_log;
use super::measure::{import_options, loader_options};
use super::session::{compress_level, evident_session, opt_out, parse_object, save_into};
use super::{
    evident_status, ffi_status, key_arg, opt_str, owned_string, try_mut, try_opt_str, try_str,
    Failure, FfiResult,
};
use crate::session::{Annotation, HistoryEntry, Layer, LayerProps, SaveOptions, Session};

/// The fields of `options_json` of `evident_session_save_json`.
/// `exclude_traces`, `no_sync` and `lock_timeout_ns` are the same options in
/// the shape of a marshalled Go struct (every zero value is the default).
const SAVE_FIELDS: [&str; 7] = [
    "compress",
    "include_traces",
    "sync",
    "lock_timeout",
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
/// 10). The same options may be given as a marshalled Go struct would give
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
    options: Map<String, Value>,
    record: bool,
) -> FfiResult<String> {
    let start = Instant::now();
    let loaded = import_options(&options)
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
            None => Map::new(),
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
}
