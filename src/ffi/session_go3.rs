//! Session operations called by name, with their arguments as one JSON
//! array (for bindings that would otherwise keep a wrapper per C call: the
//! Go package). Each operation runs the C call it names, so its checks,
//! errors and results are that call's; the rules for the bindings' "unset"
//! values (`""` for an optional string, Go's zero values in structures)
//! live here, not in each binding.

use std::ffi::{c_char, CStr, CString};

use serde_json::Value;

use super::session::{self as ffi_session, evident_session, opt_out};
use super::session_go2::args_from_go;
use super::{evident_status, ffi_status, owned_string, try_opt_str, try_ref, Failure, FfiResult};

/// The operations of `evident_session_get_json` and what they run.
const GET_OPS: [&str; 12] = [
    "info",
    "metadata",
    "summary",
    "to_json",
    "trace_names",
    "layers",
    "measurements",
    "history",
    "history_summary",
    "measurements_tracekit",
    "annotations",
    "history_script",
];

/// The operations of `evident_session_change_json`.
const CHANGE_OPS: [&str; 13] = [
    "set_name",
    "set_metadata",
    "remove_trace",
    "set_layer",
    "clear_layer",
    "remove_layer",
    "annotate",
    "remove_annotation",
    "record_measurement",
    "record_history",
    "set_history_limit",
    "set_history_auto_record",
    "load_trace",
];

/// The positional arguments of an operation.
struct Args<'a> {
    op: &'a str,
    v: Vec<Value>,
}

impl<'a> Args<'a> {
    /// Parses `text` (NULL or `null`: none) as a JSON array of at most
    /// `max` values.
    fn parse(op: &'a str, text: Option<&str>, max: usize) -> FfiResult<Self> {
        let v: Option<Vec<Value>> = match text {
            None => None,
            Some(t) => serde_json::from_str(t).map_err(|e| {
                Failure::invalid(format!("`args_json` of `{op}` is not a JSON array: {e}"))
            })?,
        };
        let v = v.unwrap_or_default();
        if v.len() > max {
            return Err(Failure::invalid(format!(
                "`{op}` takes {max} arguments, not {}",
                v.len()
            )));
        }
        Ok(Args { op, v })
    }

    fn get(&self, i: usize) -> &Value {
        self.v.get(i).unwrap_or(&Value::Null)
    }

    fn bad(&self, name: &str, want: &str) -> Failure {
        Failure::invalid(format!("`{}`: `{name}` must be {want}", self.op))
    }

    /// A string argument as a C string: `None` for null, and for `""` when
    /// `empty_unset`; U+0000 is refused.
    fn text(&self, i: usize, name: &str, empty_unset: bool) -> FfiResult<Option<CString>> {
        match self.get(i) {
            Value::Null => Ok(None),
            Value::String(s) if s.is_empty() && empty_unset => Ok(None),
            Value::String(s) => CString::new(s.as_str()).map(Some).map_err(|_| {
                Failure::invalid(format!("`{}`: `{name}` contains a NUL byte", self.op))
            }),
            _ => Err(self.bad(name, "a string")),
        }
    }

    /// A required string argument.
    fn req(&self, i: usize, name: &str) -> FfiResult<CString> {
        self.text(i, name, false)?
            .ok_or_else(|| self.bad(name, "a string"))
    }

    /// A JSON argument as text; `go`: Go's zero values unset
    /// (`evident_args_from_go_json`).
    fn json(&self, i: usize, go: bool) -> FfiResult<CString> {
        let text = self.get(i).to_string();
        let text = if go { args_from_go(&text)? } else { text };
        CString::new(text).map_err(|_| Failure::invalid("JSON text holds a NUL byte"))
    }

    /// An integer argument; `negative` is the failure for a number below 0.
    fn count(&self, i: usize, name: &str, negative: Failure) -> FfiResult<u64> {
        let v = self.get(i);
        if v.as_i64().is_some_and(|n| n < 0) {
            return Err(negative);
        }
        v.as_u64()
            .ok_or_else(|| self.bad(name, "a non-negative integer"))
    }
}

/// The status of a C call this module ran, with its last error, as a result.
fn lift(st: evident_status) -> FfiResult<()> {
    if st == evident_status::Ok {
        return Ok(());
    }
    let mut fail = Failure::new(st, "");
    let _ = super::LAST_ERROR.try_with(|e| {
        if let Some(l) = e.borrow().as_ref() {
            fail.message = l.message.to_string_lossy().into_owned();
            fail.errno = l.errno;
            fail.path = l
                .path
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned().into());
        }
    });
    Err(fail)
}

/// Runs `f`, a C call writing a string to free to its out-pointer, and
/// returns that string.
fn take(f: impl FnOnce(*mut *mut c_char) -> evident_status) -> FfiResult<String> {
    let mut out: *mut c_char = std::ptr::null_mut();
    let st = f(&mut out);
    let text = if out.is_null() {
        String::new()
    } else {
        // SAFETY: a NUL-terminated string from this library, freed once here.
        let t = unsafe { CStr::from_ptr(out) }
            .to_string_lossy()
            .into_owned();
        super::evident_string_free(out);
        t
    };
    lift(st).map(|()| text)
}

/// A text result as a JSON string.
fn quoted(text: String) -> String {
    Value::String(text).to_string()
}

fn ptr(c: &Option<CString>) -> *const c_char {
    c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr())
}

fn unknown(op: &str, known: &[&str], other: &str) -> Failure {
    Failure::invalid(format!(
        "unknown operation `{op}` (expected one of: {}{other})",
        known.join(", ")
    ))
}

fn get_op(s: *const evident_session, op: &str, args: Option<&str>) -> FfiResult<String> {
    if CHANGE_OPS.contains(&op) {
        return Err(Failure::invalid(format!(
            "`{op}` changes the session: call evident_session_change_json"
        )));
    } else if !GET_OPS.contains(&op) {
        return Err(unknown(op, &GET_OPS, ""));
    }
    let nargs = match op {
        "annotations" => 2,
        "history_script" => 3,
        _ => 0,
    };
    let a = Args::parse(op, args, nargs)?;
    use ffi_session as f;
    Ok(match op {
        "info" => take(|o| f::evident_session_info_json(s, o))?,
        "metadata" => take(|o| f::evident_session_metadata_json(s, o))?,
        "summary" => quoted(take(|o| f::evident_session_summary(s, o))?),
        "to_json" => take(|o| f::evident_session_to_json(s, o))?,
        "trace_names" => take(|o| f::evident_session_trace_names_json(s, o))?,
        "layers" => take(|o| f::evident_session_layers_json(s, o))?,
        "measurements" => take(|o| f::evident_session_measurements_json(s, o))?,
        "history" => super::session::history_json_with_order(&try_ref!(s, "session").s)?,
        "history_summary" => take(|o| f::evident_session_history_summary_json(s, o))?,
        "measurements_tracekit" => take(|o| f::evident_session_measurements_tracekit_json(s, o))?,
        "annotations" => {
            let layer = a.text(0, "layer", true)?;
            let range = match a.get(1) {
                Value::Null => None,
                Value::Array(r) if r.len() == 2 => match (r[0].as_f64(), r[1].as_f64()) {
                    (Some(t0), Some(t1)) => Some((t0, t1)),
                    _ => return Err(a.bad("time_range", "two numbers or null")),
                },
                _ => return Err(a.bad("time_range", "two numbers or null")),
            };
            let (t0, t1) = range.unwrap_or((0.0, 0.0));
            let has = i32::from(range.is_some());
            take(|o| f::evident_session_annotations_json(s, ptr(&layer), has, t0, t1, o))?
        }
        "history_script" => {
            let (module, alias) = (a.text(0, "module", true)?, a.text(1, "alias", true)?);
            let style = a.count(2, "style", a.bad("style", "0 or 1"))?;
            let style = u32::try_from(style).map_err(|_| a.bad("style", "0 or 1"))?;
            quoted(take(|o| {
                f::evident_session_history_script(s, ptr(&module), ptr(&alias), style, o)
            })?)
        }
        _ => unreachable!("checked above"),
    })
}

fn change_op(s: *mut evident_session, op: &str, args: Option<&str>) -> FfiResult<String> {
    if GET_OPS.contains(&op) {
        return get_op(s, op, args);
    }
    let nargs = match op {
        "annotate" | "remove_annotation" => 2,
        "load_trace" => 3,
        _ => 1,
    };
    let a = Args::parse(op, args, nargs)?;
    use ffi_session as f;
    match op {
        "set_name" => lift(f::evident_session_set_name(s, a.req(0, "name")?.as_ptr()))?,
        "set_metadata" => {
            let m = match a.get(0) {
                Value::Null => c"{}".to_owned(),
                _ => a.json(0, false)?,
            };
            lift(f::evident_session_set_metadata_json(s, m.as_ptr()))?
        }
        "remove_trace" => lift(f::evident_session_remove_trace(
            s,
            a.req(0, "name")?.as_ptr(),
        ))?,
        "set_layer" => {
            // As a C string would be: U+0000 refused in the layer's strings.
            for k in ["name", "color", "description"] {
                if a.get(0)[k].as_str().is_some_and(|v| v.contains('\0')) {
                    return Err(Failure::invalid(format!(
                        "`set_layer`: `{k}` contains a NUL byte"
                    )));
                }
            }
            lift(f::evident_session_set_layer(s, a.json(0, false)?.as_ptr()))?
        }
        "clear_layer" => lift(f::evident_session_clear_layer(
            s,
            a.req(0, "layer")?.as_ptr(),
        ))?,
        "remove_layer" => lift(f::evident_session_remove_layer(
            s,
            a.req(0, "layer")?.as_ptr(),
        ))?,
        "annotate" => {
            let layer = a.req(0, "layer")?;
            lift(f::evident_session_annotate(
                s,
                layer.as_ptr(),
                a.json(1, true)?.as_ptr(),
            ))?
        }
        "remove_annotation" => {
            let layer = a.req(0, "layer")?;
            let negative = Failure::new(
                evident_status::NotFound,
                "annotation index must not be negative",
            );
            let i = a.count(1, "index", negative)?;
            lift(f::evident_session_remove_annotation(s, layer.as_ptr(), i))?
        }
        "record_measurement" => lift(f::evident_session_record_measurement(
            s,
            a.json(0, true)?.as_ptr(),
        ))?,
        "record_history" => lift(f::evident_session_record_history(
            s,
            a.json(0, true)?.as_ptr(),
        ))?,
        "set_history_limit" => {
            let negative = Failure::invalid("history limit must not be negative");
            lift(f::evident_session_set_history_limit(
                s,
                a.count(0, "n", negative)?,
            ))?
        }
        "set_history_auto_record" => match a.get(0) {
            Value::Bool(on) => lift(f::evident_session_set_history_auto_record(s, *on))?,
            _ => return Err(a.bad("on", "true or false")),
        },
        "load_trace" => {
            let (path, name) = (a.req(0, "path")?, a.text(1, "name", true)?);
            // null, an object, or an array of at most one (Go's variadic
            // options).
            let opts = match a.get(2) {
                Value::Null => None,
                Value::Array(v) if v.is_empty() => None,
                Value::Array(v) if v.len() == 1 => v.first(),
                v @ Value::Object(_) => Some(v),
                Value::Array(_) => {
                    return Err(a.bad("options", "at most one object of loader options"))
                }
                _ => return Err(a.bad("options", "an object of loader options or null")),
            };
            let opts = opts
                .map(|v| {
                    CString::new(v.to_string())
                        .map_err(|_| Failure::invalid("JSON text holds a NUL byte"))
                })
                .transpose()?;
            // Recorded in the history as Python's load_trace records it,
            // unless the session's auto-record flag is off.
            let record = try_ref!(s, "session").s.history_auto_record();
            let used = take(|o| {
                crate::ffi::session_py::evident_session_load_trace_json(
                    s,
                    path.as_ptr(),
                    ptr(&name),
                    ptr(&opts),
                    record,
                    o,
                )
            })?;
            return Ok(quoted(used));
        }
        _ => {
            return Err(unknown(
                op,
                &CHANGE_OPS,
                ", or an operation of evident_session_get_json",
            ))
        }
    }
    Ok("null".into())
}

/// Runs the read-only operation `op` on `session` with `args_json` (NULL or
/// `null`: none), a JSON array of its arguments, and writes its result as JSON to
/// `*out` (may be NULL: the result is dropped) — a string to free with
/// `evident_string_free`, NULL on failure. A string argument may hold any
/// Unicode but U+0000 (`EVIDENT_STATUS_INVALID_ARGUMENT`).
///
/// The operations, each as the C call named (its errors too):
/// `info` (`evident_session_info_json`), `metadata`, `summary` (a JSON
/// string), `to_json`, `trace_names`, `layers`, `measurements`, `history`
/// (every entry with parameters with `parameter_order` too: the names of
/// its parameters in their order, for a decoder whose maps have none),
/// `history_summary`, `measurements_tracekit` (each `evident_session_<op>`
/// or `..._json`), no arguments; `annotations` `[layer, time_range]`
/// (`evident_session_annotations_json`; layer null or `""`: every layer;
/// time_range null or `[t0, t1]`); `history_script` `[module, alias,
/// style]` (`evident_session_history_script`, a JSON string; module and
/// alias null or `""`: the defaults). Another `op` gives
/// `EVIDENT_STATUS_INVALID_ARGUMENT`, as does an operation that changes
/// the session (use `evident_session_change_json`).
///
/// Thread safety: as the C calls it runs (a shared session).
#[no_mangle]
pub extern "C" fn evident_session_get_json(
    session: *const evident_session,
    op: *const c_char,
    args_json: *const c_char,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = opt_out(out);
        let op = try_opt_str!(op, "op").ok_or_else(|| Failure::null("op"))?;
        let text = get_op(session, op, try_opt_str!(args_json, "args_json"))?;
        if let Some(o) = out {
            *o = owned_string(&text);
        }
        Ok(evident_status::Ok)
    })
}

/// Runs the operation `op` that changes `session` (or any operation of
/// `evident_session_get_json`), as that function does.
///
/// The operations, each as the C call `evident_session_<op>` (its errors
/// too), with result `null` unless said: `set_name` `[name]`,
/// `set_metadata` `[object]` (null: empty), `remove_trace` `[name]`,
/// `set_layer` `[props]` (the object of `evident_session_set_layer`),
/// `clear_layer` `[layer]`, `remove_layer` `[layer]`, `annotate` `[layer,
/// annotation]`, `remove_annotation` `[layer, index]` (a negative index
/// gives `EVIDENT_STATUS_NOT_FOUND`), `record_measurement`
/// `[measurement]`, `record_history` `[entry]`, `set_history_limit` `[n]`
/// (0: unlimited; negative: `EVIDENT_STATUS_INVALID_ARGUMENT`),
/// `load_trace` `[path, name, options]` (`evident_session_load_trace_json`
/// with `record_history` = the session's `history_auto_record` flag: the
/// attempt is recorded in the history as Python's `load_trace` records it;
/// name null or `""`: from the file name; options null, the loader options
/// object of `evident_session_load_trace_with`, or an array of at most one
/// such object; result: the name used, a JSON string). In the annotation, measurement
/// and entry objects Go's zero values mean "unset", as for
/// `evident_args_from_go_json`.
///
/// Thread safety: needs exclusive access to the session, as the C calls it
/// runs.
#[no_mangle]
pub extern "C" fn evident_session_change_json(
    session: *mut evident_session,
    op: *const c_char,
    args_json: *const c_char,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = opt_out(out);
        let op = try_opt_str!(op, "op").ok_or_else(|| Failure::null("op"))?;
        let text = change_op(session, op, try_opt_str!(args_json, "args_json"))?;
        if let Some(o) = out {
            *o = owned_string(&text);
        }
        Ok(evident_status::Ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::session::{evident_session_free, evident_session_new};
    use crate::ffi::{evident_last_error, evident_string_free};

    /// Runs `op` (a change when `change`) and returns its status and its
    /// result, or the last error.
    fn call(
        s: *mut evident_session,
        change: bool,
        op: &str,
        args: &str,
    ) -> (evident_status, String) {
        let (op, args) = (CString::new(op).unwrap(), CString::new(args).unwrap());
        let mut out = std::ptr::null_mut();
        let st = if change {
            evident_session_change_json(s, op.as_ptr(), args.as_ptr(), &mut out)
        } else {
            evident_session_get_json(s, op.as_ptr(), args.as_ptr(), &mut out)
        };
        if st != evident_status::Ok {
            assert!(out.is_null());
            // SAFETY: the thread's last error, a C string.
            let m = unsafe { CStr::from_ptr(evident_last_error()) };
            return (st, m.to_string_lossy().into_owned());
        }
        // SAFETY: a string from the library, freed once.
        let text = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_string();
        evident_string_free(out);
        (st, text)
    }

    fn ok(s: *mut evident_session, change: bool, op: &str, args: &str) -> Value {
        let (st, text) = call(s, change, op, args);
        assert_eq!(st, evident_status::Ok, "{op} {args}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    fn new_session() -> *mut evident_session {
        let mut s = std::ptr::null_mut();
        assert_eq!(
            evident_session_new(c"s".as_ptr(), &mut s),
            evident_status::Ok
        );
        s
    }

    #[test]
    fn operations_run_their_c_calls() {
        let s = new_session();
        assert_eq!(ok(s, true, "set_name", r#"["run 1"]"#), Value::Null);
        assert_eq!(ok(s, false, "info", "[]")["name"], "run 1");
        ok(s, true, "set_metadata", r#"[{"k":[1,"two"]}]"#);
        assert_eq!(
            ok(s, false, "metadata", "[]"),
            serde_json::json!({"k":[1,"two"]})
        );
        ok(s, true, "set_metadata", "[null]");
        assert_eq!(ok(s, false, "metadata", "[]"), serde_json::json!({}));

        // Go's zero values are unset: the type is inferred, the time is now.
        let a = r#"["L",{"text":"a","type":"","time":1.5,"time_range":null,"color":"",
            "created_at":"0001-01-01T00:00:00Z","metadata":null}]"#;
        ok(s, true, "annotate", a);
        ok(
            s,
            true,
            "annotate",
            r#"["L",{"text":"b","time_range":[3,4]}]"#,
        );
        let layers = ok(s, false, "layers", "[]");
        let first = &layers[0]["annotations"][0];
        assert_eq!(
            (first["type"].as_str(), first["text"].as_str()),
            (Some("point"), Some("a"))
        );
        assert!(!first["created_at"].as_str().unwrap().starts_with("0001"));
        let found = ok(s, false, "annotations", r#"["", [3.5, 10]]"#);
        assert_eq!(found.as_array().unwrap().len(), 1);
        assert_eq!(found[0]["annotation"]["text"], "b");
        assert_eq!(
            ok(s, false, "annotations", "[]").as_array().unwrap().len(),
            2
        );
        // A change runs through the get call too, never the other way.
        assert_eq!(ok(s, true, "layers", "[]"), layers);
        let (st, msg) = call(s, false, "annotate", a);
        assert_eq!(st, evident_status::InvalidArgument);
        assert!(msg.contains("evident_session_change_json"), "{msg}");

        let (st, msg) = call(s, true, "remove_annotation", r#"["L", -1]"#);
        assert_eq!(st, evident_status::NotFound, "{msg}");
        let (st, _) = call(s, true, "remove_annotation", r#"["L", 2]"#);
        assert_eq!(st, evident_status::NotFound);
        ok(s, true, "remove_annotation", r#"["L", 0]"#);
        assert_eq!(
            ok(s, false, "layers", "[]")[0]["annotations"][0]["text"],
            "b"
        );
        ok(s, true, "set_layer", r#"[{"name":"L","locked":true}]"#);
        let (st, _) = call(s, true, "clear_layer", r#"["L"]"#);
        assert_eq!(st, evident_status::LayerLocked);
        let (st, _) = call(s, true, "remove_layer", r#"["nope"]"#);
        assert_eq!(st, evident_status::NotFound);

        ok(
            s,
            true,
            "record_measurement",
            r#"[{"name":"v","value":2,"unit":"V","trace_name":"",
            "recorded_at":"0001-01-01T00:00:00Z"}]"#,
        );
        assert_eq!(
            ok(s, false, "measurements", "[]")[0]["trace_name"],
            Value::Null
        );
        assert_eq!(ok(s, false, "measurements_tracekit", "[]")["v"]["value"], 2);
        ok(
            s,
            true,
            "record_history",
            r#"[{"operation":"f","timestamp":"0001-01-01T00:00:00Z"}]"#,
        );
        ok(
            s,
            true,
            "record_history",
            r#"[{"operation":"g","success":false}]"#,
        );
        assert_eq!(ok(s, false, "history_summary", "[]")["failed"], 1);
        let script = ok(s, false, "history_script", r#"["", "", 0]"#);
        assert!(script.as_str().unwrap().contains("tk.f("), "{script}");
        ok(s, true, "set_history_limit", "[1]");
        assert_eq!(ok(s, false, "history", "[]").as_array().unwrap().len(), 1);
        let (st, _) = call(s, true, "set_history_limit", "[-1]");
        assert_eq!(st, evident_status::InvalidArgument);
        assert!(ok(s, false, "summary", "[]")
            .as_str()
            .unwrap()
            .contains("run 1"));
        assert_eq!(ok(s, false, "to_json", "[]")["name"], "run 1");
        assert_eq!(ok(s, false, "trace_names", "[]"), serde_json::json!([]));
        evident_session_free(s);
    }

    #[test]
    fn load_trace_returns_the_name_used() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("wave.csv");
        std::fs::write(&csv, "1\n2\n3\n").unwrap();
        let s = new_session();
        let args = serde_json::json!([csv.to_str().unwrap(), ""]).to_string();
        assert_eq!(ok(s, true, "load_trace", &args), "wave");
        let args = serde_json::json!([csv.to_str().unwrap(), "w2"]).to_string();
        assert_eq!(ok(s, true, "load_trace", &args), "w2");
        assert_eq!(
            ok(s, false, "trace_names", "[]"),
            serde_json::json!(["wave", "w2"])
        );
        ok(s, true, "remove_trace", r#"["wave"]"#);
        let (st, _) = call(s, true, "remove_trace", r#"["wave"]"#);
        assert_eq!(st, evident_status::NotFound);
        let (st, _) = call(s, true, "load_trace", r#"["/nonexistent/x.csv", ""]"#);
        assert_eq!(st, evident_status::Io);
        // loader options: a rate for a capture without its own
        let args = serde_json::json!([csv.to_str().unwrap(), "w3", {"sample_rate": 250.0}]);
        assert_eq!(ok(s, true, "load_trace", &args.to_string()), "w3");
        // SAFETY: `s` is a live session of this test.
        let rate = unsafe { &(*s).s }.trace("w3").map(|t| t.info().sample_rate);
        assert_eq!(rate, Some(250.0));
        let args = serde_json::json!([csv.to_str().unwrap(), "w5", [{"sample_rate": 8.0}]]);
        assert_eq!(ok(s, true, "load_trace", &args.to_string()), "w5");
        let args = serde_json::json!([csv.to_str().unwrap(), "w6", []]);
        assert_eq!(ok(s, true, "load_trace", &args.to_string()), "w6");
        // SAFETY: as above.
        let rates: Vec<f64> = ["w5", "w6"]
            .iter()
            .map(|n| unsafe { &(*s).s }.trace(n).unwrap().info().sample_rate)
            .collect();
        assert_eq!(rates, [8.0, 1.0]);
        for (opts, word) in [
            (
                serde_json::json!({"rate": 1}),
                "unknown loader option `rate`",
            ),
            (serde_json::json!(5), "loader options"),
            (serde_json::json!([{}, {}]), "at most one"),
        ] {
            let args = serde_json::json!([csv.to_str().unwrap(), "w4", opts]).to_string();
            let (st, msg) = call(s, true, "load_trace", &args);
            assert_eq!(st, evident_status::InvalidArgument);
            assert!(msg.contains(word), "{msg}");
        }
        evident_session_free(s);
    }

    #[test]
    fn bad_arguments_are_refused() {
        let s = new_session();
        for (change, op, args, st, word) in [
            (
                true,
                "set_name",
                r#"["a\u0000b"]"#,
                evident_status::InvalidArgument,
                "NUL",
            ),
            (
                true,
                "set_name",
                "[1]",
                evident_status::InvalidArgument,
                "`name`",
            ),
            (
                true,
                "set_name",
                r#"["a","b"]"#,
                evident_status::InvalidArgument,
                "takes 1",
            ),
            (
                true,
                "set_name",
                "{}",
                evident_status::InvalidArgument,
                "JSON array",
            ),
            (
                true,
                "rename",
                "[]",
                evident_status::InvalidArgument,
                "unknown operation",
            ),
            (
                false,
                "info",
                "[1]",
                evident_status::InvalidArgument,
                "takes 0",
            ),
            (
                false,
                "annotations",
                r#"["", [1]]"#,
                evident_status::InvalidArgument,
                "time_range",
            ),
            (
                true,
                "annotate",
                r#"["L", {"text":"x","style":"\u0000"}]"#,
                evident_status::InvalidArgument,
                "`style`",
            ),
            (
                true,
                "record_measurement",
                "[{}]",
                evident_status::InvalidArgument,
                "name",
            ),
            (
                true,
                "set_layer",
                r#"[{"name":"L","description":"a\u0000"}]"#,
                evident_status::InvalidArgument,
                "`description`",
            ),
        ] {
            let (got, msg) = call(s, change, op, args);
            assert_eq!(got, st, "{op} {args}: {msg}");
            assert!(msg.contains(word), "{op} {args}: {msg}");
        }
        // Every operation named in the lists has its arm (no panic), on
        // either call.
        for op in GET_OPS.iter().chain(CHANGE_OPS.iter()) {
            for change in [false, true] {
                let (st, msg) = call(s, change, op, "null");
                assert_ne!(st, evident_status::Panic, "{op}: {msg}");
            }
        }
        // NULL arguments: the session and op are required, args_json not.
        let mut out = std::ptr::null_mut();
        let null: *const c_char = std::ptr::null();
        assert_eq!(
            evident_session_get_json(std::ptr::null(), c"info".as_ptr(), null, &mut out),
            evident_status::NullArgument
        );
        assert_eq!(
            evident_session_change_json(s, null, null, &mut out),
            evident_status::NullArgument
        );
        assert_eq!(
            evident_session_get_json(s, c"info".as_ptr(), null, std::ptr::null_mut()),
            evident_status::Ok
        );
        assert_eq!(ok(s, false, "info", "null")["name"], "s");
        evident_session_free(s);
    }
}
