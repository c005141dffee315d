//! For bindings that marshal a structure rather than call a setter per
//! field (the Go package): the rule turning Go's zero values into "unset"
//! in an argument object (saving with the options as one JSON object is
//! `evident_session_save_json` in `session_py.rs`, which also reads the
//! options in the shape of a marshalled Go struct). The rules live here,
//! not in each binding.

use std::ffi::c_char;

#[cfg(test)]
use super::session::evident_session;
use super::{evident_status, ffi_status, owned_string, try_out, try_str, Failure, FfiResult};
use serde_json::{Map, Value};

/// Members whose Go zero value (`""`) means "unset".
const OPTIONAL_STRINGS: [&str; 5] = ["type", "color", "style", "trace_name", "error_message"];
/// Members whose Go zero value (the zero `time.Time`) means "now".
const OPTIONAL_TIMES: [&str; 3] = ["created_at", "recorded_at", "timestamp"];
/// Members that the C calls would take as C strings: U+0000 is refused in
/// them (free-form members such as `value`, `result` and `metadata` may
/// hold it).
const PLAIN_STRINGS: [&str; 10] = [
    "text",
    "type",
    "color",
    "style",
    "units",
    "name",
    "unit",
    "trace_name",
    "operation",
    "error_message",
];
/// How encoding/json writes the zero `time.Time`.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The Go rule for an argument object (see `evident_args_from_go_json`).
pub(super) fn args_from_go(text: &str) -> FfiResult<String> {
    let obj: Map<String, Value> = serde_json::from_str(text)
        .map_err(|e| Failure::invalid(format!("`json` is not a JSON object: {e}")))?;
    let mut out = Map::new();
    for (k, v) in obj {
        if let Value::String(s) = &v {
            if s.contains('\0') && PLAIN_STRINGS.contains(&k.as_str()) {
                return Err(Failure::invalid(format!("`{k}` contains a NUL byte")));
            }
        }
        let unset = match &v {
            Value::Null => true,
            Value::String(s) if s.is_empty() => OPTIONAL_STRINGS.contains(&k.as_str()),
            Value::String(s) => s == GO_ZERO_TIME && OPTIONAL_TIMES.contains(&k.as_str()),
            Value::Number(n) => k == "sample_rate" && n.as_f64() == Some(0.0),
            _ => false,
        };
        if !unset {
            out.insert(k, v);
        }
    }
    Ok(Value::Object(out).to_string())
}

/// Turns a JSON object written by Go's encoding/json from a struct into the
/// argument object of the session calls (`evident_session_annotate`,
/// `_add_trace`'s `info_json`, `_record_measurement`, `_record_history`,
/// `evident_measurement_tracekit_json`, `evident_history_entry_code`): Go
/// writes every field, so members holding Go's zero value for "unset" are
/// left out and the library's default applies: `null`; `""` in `type`,
/// `color`, `style`, `trace_name`, `error_message`; the zero time
/// (`"0001-01-01T00:00:00Z"`) in `created_at`, `recorded_at`, `timestamp`;
/// 0 in `sample_rate`. U+0000 in `text`, `type`, `color`, `style`, `units`,
/// `name`, `unit`, `trace_name`, `operation` or `error_message` is refused
/// (`EVIDENT_STATUS_INVALID_ARGUMENT`, as for the strings the C calls take).
/// Members are otherwise kept as they are. `*out` receives a string to free
/// with `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_args_from_go_json(
    json: *const c_char,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        *out = owned_string(&args_from_go(try_str!(json, "json"))?);
        Ok(evident_status::Ok)
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::{CStr, CString};

    use super::*;
    use crate::ffi::session::{evident_session_free, evident_session_new};
    use crate::ffi::{evident_last_error, evident_string_free};

    fn cstr(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    fn save(s: *mut evident_session, path: &str, opts: Option<&str>) -> (evident_status, String) {
        let (p, o) = (cstr(path), opts.map(cstr));
        let mut out = std::ptr::null_mut();
        let st = crate::ffi::session_py::evident_session_save_json(
            s,
            p.as_ptr(),
            std::ptr::null(),
            0,
            o.as_ref().map_or(std::ptr::null(), |o| o.as_ptr()),
            std::ptr::null(),
            &mut out,
        );
        let text = if out.is_null() {
            // SAFETY: the thread's last error message, NULL or a C string.
            let m = evident_last_error();
            if m.is_null() {
                String::new()
            } else {
                unsafe { CStr::from_ptr(m) }.to_string_lossy().into_owned()
            }
        } else {
            // SAFETY: a string from the library, freed once.
            let t = unsafe { CStr::from_ptr(out) }
                .to_string_lossy()
                .into_owned();
            evident_string_free(out);
            t
        };
        (st, text)
    }

    #[test]
    fn go_zero_values_are_left_out() {
        let go = r#"{"text":"","type":"","time":null,"time_range":[1,2],"color":"","style":"",
            "visible":null,"created_at":"0001-01-01T00:00:00Z","metadata":null,"units":"",
            "sample_rate":0,"start_time":0,"recorded_at":"2024-01-02T03:04:05+02:00",
            "timestamp":"0001-01-01T00:00:00Z","duration_ms":0,"name":"","unit":"",
            "trace_name":"","error_message":"","value":{"a":null,"b":""},"success":false}"#;
        let v: Value = serde_json::from_str(&args_from_go(go).unwrap()).unwrap();
        let want: Value = serde_json::from_str(
            r#"{"text":"","time_range":[1,2],"units":"","start_time":0,
            "recorded_at":"2024-01-02T03:04:05+02:00","duration_ms":0,"name":"","unit":"",
            "value":{"a":null,"b":""},"success":false}"#,
        )
        .unwrap();
        assert_eq!(v, want);
        // Set values are kept: a real type, colour, time, rate.
        let v = args_from_go(
            r#"{"type":"point","color":"red","created_at":"2024-01-01T00:00:00Z","sample_rate":2}"#,
        )
        .unwrap();
        assert_eq!(
            v.len(),
            r#"{"type":"point","color":"red","created_at":"2024-01-01T00:00:00Z","sample_rate":2}"#
                .len()
        );
        // A NUL in a plain string is refused, naming the member; in
        // free-form values it is kept.
        let e = args_from_go(r#"{"name":"a\u0000b"}"#).unwrap_err();
        assert_eq!(e.status, evident_status::InvalidArgument);
        assert!(e.message.contains("`name`"), "{}", e.message);
        assert!(args_from_go(r#"{"metadata":{"k":"a\u0000b"}}"#).is_ok());
        assert!(args_from_go(r#"{"value":"a\u0000b","result":"\u0000"}"#).is_ok());
        assert!(args_from_go("[1]").is_err());

        let (js, mut out) = (cstr(r#"{"type":""}"#), std::ptr::null_mut());
        assert_eq!(
            evident_args_from_go_json(js.as_ptr(), &mut out),
            evident_status::Ok
        );
        // SAFETY: a string from the library, freed once.
        assert_eq!(unsafe { CStr::from_ptr(out) }.to_str().unwrap(), "{}");
        evident_string_free(out);
    }

    #[test]
    fn options_as_json_are_checked_and_applied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.evs");
        let path = path.to_str().unwrap();
        let name = cstr("s");
        let mut s = std::ptr::null_mut();
        assert_eq!(
            evident_session_new(name.as_ptr(), &mut s),
            evident_status::Ok
        );

        for (bad, word) in [
            (r#"{"compress": 1000}"#, "zstd level"),
            (r#"{"compress": 4294967296}"#, "out of range"),
            (r#"{"lock_timeout_ns": -1}"#, "lock_timeout_ns"),
            (r#"{"lock_timeout_ns": 1.5}"#, "lock_timeout_ns"),
            (r#"{"nosync": true}"#, "unknown save option"),
            ("[1]", "options_json"),
        ] {
            let (st, msg) = save(s, path, Some(bad));
            assert_eq!(st, evident_status::InvalidArgument, "{bad}");
            assert!(msg.contains(word), "{bad}: {msg}");
        }
        assert!(
            !dir.path().join("s.evs").exists(),
            "a refused save wrote nothing"
        );

        let (st, info) = save(s, path, None);
        assert_eq!(st, evident_status::Ok, "{info}");
        let v: serde_json::Value = serde_json::from_str(&info).unwrap();
        assert_eq!(v["version"], 1);
        let opts =
            r#"{"compress": 3, "exclude_traces": true, "no_sync": true, "lock_timeout_ns": 1}"#;
        let (st, info) = save(s, path, Some(opts));
        assert_eq!(st, evident_status::Ok, "{info}");
        let v: serde_json::Value = serde_json::from_str(&info).unwrap();
        assert_eq!(v["version"], 2);
        evident_session_free(s);
    }
}
