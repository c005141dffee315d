//! TraceKit's audit-log export (`evident_tracekit_export`): the C face of
//! [`crate::tracekit::export`].

use std::ffi::c_char;

use super::{
    c_slice, evident_status, ffi_status, owned_string, try_opt_str, try_out, try_str, Failure,
};
use crate::tracekit;

/// Writes TraceKit's `export_audit_log` file text for `entries_json`, a JSON
/// array of `{"timestamp", "action", "details", "user", "host"}`, optionally
/// with `"previous_hash"` and `"hmac"` (other members are refused). The text
/// is read as Python's `json` reads it: `details` keep the order of their
/// members and integers of any size exactly, and `NaN`, `Infinity`,
/// `-Infinity` are accepted; the export writes them back as TraceKit's
/// `json.dump` does. `previous_hash` and `hmac` are kept as given; when absent they are
/// computed: HMAC(`key`, `timestamp|action|json.dumps(details,
/// sort_keys=True)|user|host|previous_hash`) with `algorithm` `"sha256"` or
/// `"sha512"`, the first `previous_hash` `"GENESIS"`. `format` is `"json"`
/// (`{"version": "1.0", "hash_algorithm", "entries"}` indented by 2, as
/// Python's `json.dump(..., indent=2)`) or `"csv"` (timestamp, action,
/// user, host, previous_hash, hmac, `detail_<key>`…; `\r\n` line ends).
/// `key` may be NULL when `key_len` is 0 (any length is accepted).
/// `*out_text` receives the text (free with `evident_string_free`; NULL on
/// failure).
#[no_mangle]
pub extern "C" fn evident_tracekit_export(
    algorithm: *const c_char,
    key: *const u8,
    key_len: usize,
    entries_json: *const c_char,
    format: *const c_char,
    out_text: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_text, "out_text", std::ptr::null_mut());
        *out = owned_string(&export_text(algorithm, key, key_len, entries_json, format)?);
        Ok(evident_status::Ok)
    })
}

/// The export text of [`evident_tracekit_export`]'s arguments.
fn export_text(
    algorithm: *const c_char,
    key: *const u8,
    key_len: usize,
    entries_json: *const c_char,
    format: *const c_char,
) -> Result<String, Failure> {
    let alg = tracekit::Algorithm::from_name(try_str!(algorithm, "algorithm"))?;
    let key = c_slice(key, key_len, "key")?;
    let format = tracekit::ExportFormat::from_name(try_str!(format, "format"))?;
    let entries = tracekit::ExportEntry::list_from_json(try_str!(entries_json, "entries_json"))
        .map_err(|e| Failure::invalid(format!("`entries_json`: {e}")))?;
    Ok(tracekit::export(alg, key, &entries, format)?)
}

/// [`evident_tracekit_export`] written straight to the file at `path`
/// (UTF-8; created or truncated, as TraceKit's `open(path, "w")`; the
/// parent directory must exist). The file holds the exact text, including
/// any NUL a field holds (which a C string cannot carry: the CSV layout
/// writes NUL characters as they are, as Python's `csv` module does).
/// Since ABI 1.9.
#[no_mangle]
pub extern "C" fn evident_tracekit_export_file(
    algorithm: *const c_char,
    key: *const u8,
    key_len: usize,
    entries_json: *const c_char,
    format: *const c_char,
    path: *const c_char,
) -> evident_status {
    ffi_status!({
        let path = std::path::Path::new(try_str!(path, "path"));
        let text = export_text(algorithm, key, key_len, entries_json, format)?;
        std::fs::write(path, text).map_err(|e| crate::Error::io(path, "write", e))?;
        Ok(evident_status::Ok)
    })
}

/// TraceKit's `AuditTrail.get_entries(since=, action_type=)`:
/// `entries_json` is a JSON array of objects with the strings `timestamp`
/// and `action` (other members are ignored); `since` is an RFC 3339 time
/// (NULL: any time) and `action_type` an action (NULL: any). An entry is
/// kept when its time is at or after `since` (compared as instants; a
/// timestamp that is not RFC 3339 is compared as text with `since` written
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, as TraceKit does) and its action is
/// `action_type`. `*out_json` receives a JSON array of the kept entries'
/// indices, oldest first (free with `evident_string_free`; NULL on
/// failure).
#[no_mangle]
pub extern "C" fn evident_tracekit_filter(
    entries_json: *const c_char,
    since: *const c_char,
    action_type: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let since = try_opt_str!(since, "since");
        let action_type = try_opt_str!(action_type, "action_type");
        let entries: Vec<tracekit::FilterEntry> =
            serde_json::from_str(try_str!(entries_json, "entries_json"))
                .map_err(|e| Failure::invalid(format!("`entries_json`: {e}")))?;
        let kept = tracekit::filter(&entries, since, action_type)?;
        *out = owned_string(&serde_json::to_string(&kept).unwrap_or_default());
        Ok(evident_status::Ok)
    })
}

/// TraceKit's HMAC chain of `entries_json` (entries as for
/// `evident_tracekit_export`: `details` any JSON value in Python's dialect,
/// `previous_hash` and `hmac` optional). The HMAC input,
/// `timestamp|action|json.dumps(details, sort_keys=True)|user|host|previous_hash`,
/// is built here, so every interface computes the same HMAC: `details` are
/// written as Python's `json.dumps(..., sort_keys=True)` writes them (exact
/// integers of any size, floats as Python's `repr`, `NaN`/`Infinity`,
/// `\uXXXX` escapes). An entry without `previous_hash` links to the entry
/// before (the first to `"GENESIS"`); one without `hmac` gets it computed.
/// `*out_json` receives a JSON array with one `{"previous_hash", "hmac"}`
/// per entry (free with `evident_string_free`; NULL on failure). A string
/// with a lone surrogate escape (`"\ud800"`, which Python's `str` allows)
/// is refused with an error naming its path.
#[no_mangle]
pub extern "C" fn evident_tracekit_chain(
    algorithm: *const c_char,
    key: *const u8,
    key_len: usize,
    entries_json: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let alg = tracekit::Algorithm::from_name(try_str!(algorithm, "algorithm"))?;
        let key = c_slice(key, key_len, "key")?;
        let entries = tracekit::ExportEntry::list_from_json(try_str!(entries_json, "entries_json"))
            .map_err(|e| Failure::invalid(format!("`entries_json`: {e}")))?;
        let links: Vec<serde_json::Value> = tracekit::chain_entries(alg, key, &entries)
            .into_iter()
            .map(|c| serde_json::json!({"previous_hash": c.previous_hash, "hmac": c.hmac}))
            .collect();
        *out = owned_string(&serde_json::Value::Array(links).to_string());
        Ok(evident_status::Ok)
    })
}

/// TraceKit's `verify_integrity` of `entries_json` (entries as for
/// `evident_tracekit_chain`, each with its `previous_hash` and `hmac`; the
/// HMAC input is built here). `*out_first_bad` receives -1 when every link
/// and HMAC is right (the first `previous_hash` is `"GENESIS"`), else the
/// index of the first entry whose link or HMAC is wrong or missing; 0 on
/// failure (never -1, so an ignored failure does not read as valid).
#[no_mangle]
pub extern "C" fn evident_tracekit_verify_entries(
    algorithm: *const c_char,
    key: *const u8,
    key_len: usize,
    entries_json: *const c_char,
    out_first_bad: *mut i64,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_first_bad, "out_first_bad", 0);
        let alg = tracekit::Algorithm::from_name(try_str!(algorithm, "algorithm"))?;
        let key = c_slice(key, key_len, "key")?;
        let entries = tracekit::ExportEntry::list_from_json(try_str!(entries_json, "entries_json"))
            .map_err(|e| Failure::invalid(format!("`entries_json`: {e}")))?;
        *out = match tracekit::first_bad_export(alg, key, &entries) {
            None => -1,
            Some(i) => i64::try_from(i).unwrap_or(i64::MAX),
        };
        Ok(evident_status::Ok)
    })
}

/// Checks that an evident log holds `details_json` (one JSON value in
/// Python's dialect) exactly, so that a TraceKit trail rebuilt from the log
/// has the same HMACs: `EVIDENT_STATUS_INVALID_ARGUMENT`, with a message
/// naming the value's path (`details["list"][0]`), for an integer outside
/// 64 bits, a non-finite float or a lone surrogate escape; Ok otherwise.
#[no_mangle]
pub extern "C" fn evident_tracekit_check_log_details(
    details_json: *const c_char,
) -> evident_status {
    ffi_status!({
        let text = try_str!(details_json, "details_json");
        let v =
            tracekit::PyJson::parse(text).map_err(|e| Failure::invalid(format!("details: {e}")))?;
        tracekit::check_log_exact(&v)?;
        Ok(evident_status::Ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::evident_string_free;
    use std::ffi::{CStr, CString};

    #[test]
    fn exports_and_refuses_bad_arguments() {
        let c = |s: &str| CString::new(s).unwrap();
        let entries =
            c(r#"[{"timestamp":"t","action":"a","details":{"k":1},"user":"u","host":"h"}]"#);
        let mut out: *mut c_char = std::ptr::null_mut();
        let st = evident_tracekit_export(
            c("sha256").as_ptr(),
            b"key".as_ptr(),
            3,
            entries.as_ptr(),
            c("csv").as_ptr(),
            &mut out,
        );
        assert_eq!(st, evident_status::Ok);
        let text = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_string();
        evident_string_free(out);
        assert!(text.starts_with(
            "timestamp,action,user,host,previous_hash,hmac,detail_k\r\nt,a,u,h,GENESIS,"
        ));
        for (alg, fmt, ents) in [
            ("md5", "csv", r#"[]"#),
            ("sha256", "xml", r#"[]"#),
            ("sha256", "json", r#"[{"action":"a"}]"#),
        ] {
            let mut out: *mut c_char = std::ptr::null_mut();
            let st = evident_tracekit_export(
                c(alg).as_ptr(),
                std::ptr::null(),
                0,
                c(ents).as_ptr(),
                c(fmt).as_ptr(),
                &mut out,
            );
            assert_eq!(st, evident_status::InvalidArgument, "{alg} {fmt} {ents}");
            assert!(out.is_null());
        }
    }

    #[test]
    fn filter_returns_indices_and_refuses_bad_arguments() {
        let c = |s: &str| CString::new(s).unwrap();
        let entries = c(
            r#"[{"timestamp":"2026-01-08T10:00:00.000000Z","action":"load","details":{}},
            {"timestamp":"2026-01-08T11:00:00.000000Z","action":"analyze"},
            {"timestamp":"2026-01-08T12:00:00.000000Z","action":"load"}]"#,
        );
        let run = |since: Option<&str>, action: Option<&str>| {
            let since = since.map(c);
            let action = action.map(c);
            let mut out: *mut c_char = std::ptr::null_mut();
            let st = evident_tracekit_filter(
                entries.as_ptr(),
                since.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                action.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                &mut out,
            );
            if st != evident_status::Ok {
                assert!(out.is_null());
                return Err(st);
            }
            let text = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_string();
            evident_string_free(out);
            Ok(text)
        };
        assert_eq!(run(None, None).unwrap(), "[0,1,2]");
        assert_eq!(run(None, Some("load")).unwrap(), "[0,2]");
        assert_eq!(run(Some("2026-01-08T10:30:00Z"), None).unwrap(), "[1,2]");
        assert_eq!(
            run(Some("2026-01-08T10:30:00Z"), Some("load")).unwrap(),
            "[2]"
        );
        assert_eq!(
            run(Some("soon"), None),
            Err(evident_status::InvalidArgument)
        );
        let mut out: *mut c_char = std::ptr::null_mut();
        let st = evident_tracekit_filter(
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null(),
            &mut out,
        );
        assert_eq!(st, evident_status::NullArgument);
        let bad = c("[{\"action\":\"a\"}]");
        let st =
            evident_tracekit_filter(bad.as_ptr(), std::ptr::null(), std::ptr::null(), &mut out);
        assert_eq!(st, evident_status::InvalidArgument);
        assert!(out.is_null());
    }

    fn run_chain(alg: &str, key: &[u8], entries: &str) -> Result<String, evident_status> {
        let c = |s: &str| CString::new(s).unwrap();
        let mut out: *mut c_char = std::ptr::null_mut();
        let st = evident_tracekit_chain(
            c(alg).as_ptr(),
            key.as_ptr(),
            key.len(),
            c(entries).as_ptr(),
            &mut out,
        );
        if st != evident_status::Ok {
            assert!(out.is_null());
            return Err(st);
        }
        let text = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_string();
        evident_string_free(out);
        Ok(text)
    }

    #[test]
    fn chain_builds_the_hmac_input_as_pythons_json_dumps_sort_keys() {
        let key = b"k";
        // Python: json.dumps({"b": 1, "a": [1e16, 0.1, -0.0, 2**64 + 1, "\u00e9"]},
        //                    sort_keys=True)
        let py = r#"{"a": [1e+16, 0.1, -0.0, 18446744073709551617, "\u00e9"], "b": 1}"#;
        let want = tracekit::entry_hmac(
            tracekit::Algorithm::Sha512,
            key,
            &tracekit::Entry {
                timestamp: "t".into(),
                action: "a".into(),
                details: py.into(),
                user: "u".into(),
                host: "h".into(),
                previous_hash: "GENESIS".into(),
                hmac: String::new(),
            },
        );
        let entries = r#"[{"timestamp":"t","action":"a","user":"u","host":"h",
            "details":{"b":1,"a":[1e16,0.1,-0.0,18446744073709551617,"\u00e9"]}}]"#;
        let got: serde_json::Value =
            serde_json::from_str(&run_chain("sha512", key, entries).unwrap()).unwrap();
        assert_eq!(got[0]["previous_hash"], "GENESIS");
        assert_eq!(got[0]["hmac"], want.as_str());
        // a lone surrogate in a value is kept, as Python's str keeps it:
        // json.dumps writes "\ud800"
        let lone = r#"[{"timestamp":"t","action":"a","user":"u","host":"h",
            "details":{"x":["\ud800"]}}]"#;
        let want = tracekit::entry_hmac(
            tracekit::Algorithm::Sha256,
            key,
            &tracekit::Entry {
                timestamp: "t".into(),
                action: "a".into(),
                details: r#"{"x": ["\ud800"]}"#.into(),
                user: "u".into(),
                host: "h".into(),
                previous_hash: "GENESIS".into(),
                hmac: String::new(),
            },
        );
        let got: serde_json::Value =
            serde_json::from_str(&run_chain("sha256", key, lone).unwrap()).unwrap();
        assert_eq!(got[0]["hmac"], want.as_str());
        // in a member name it is refused
        let bad = r#"[{"timestamp":"t","action":"a","user":"u","host":"h",
            "details":{"\ud800":1}}]"#;
        assert_eq!(
            run_chain("sha256", key, bad),
            Err(evident_status::InvalidArgument)
        );
    }

    #[test]
    fn verify_entries_finds_the_first_wrong_entry() {
        let c = |s: &str| CString::new(s).unwrap();
        let entries = r#"[{"timestamp":"t","action":"a","user":"u","host":"h","details":{"v":1}},
            {"timestamp":"t2","action":"b","user":"u","host":"h","details":{"z":0,"y":[1]}}]"#;
        let links: serde_json::Value =
            serde_json::from_str(&run_chain("sha256", b"key", entries).unwrap()).unwrap();
        let with = |v0: &str| {
            format!(
                r#"[{{"timestamp":"t","action":"a","user":"u","host":"h","details":{{"v":{v0}}},
                "previous_hash":{},"hmac":{}}},
                {{"timestamp":"t2","action":"b","user":"u","host":"h","details":{{"y":[1],"z":0}},
                "previous_hash":{},"hmac":{}}}]"#,
                links[0]["previous_hash"],
                links[0]["hmac"],
                links[1]["previous_hash"],
                links[1]["hmac"]
            )
        };
        let run = |text: &str| {
            let mut bad = 7i64;
            let st = evident_tracekit_verify_entries(
                c("sha256").as_ptr(),
                b"key".as_ptr(),
                3,
                c(text).as_ptr(),
                &mut bad,
            );
            (st, bad)
        };
        // member order does not matter (sorted in the HMAC input)
        assert_eq!(run(&with("1")), (evident_status::Ok, -1));
        assert_eq!(run(&with("999")), (evident_status::Ok, 0));
        // a missing hmac is a wrong entry
        assert_eq!(
            run(r#"[{"timestamp":"t","action":"a","user":"u","host":"h"}]"#),
            (evident_status::Ok, 0)
        );
        assert_eq!(run("[]"), (evident_status::Ok, -1));
        assert_eq!(run("{").0, evident_status::InvalidArgument);
    }

    #[test]
    fn check_log_details_names_the_value_the_log_cannot_hold() {
        let c = |s: &str| CString::new(s).unwrap();
        for ok in [
            r#"{"b":[1,-9223372036854775808,18446744073709551615],"a":1e300}"#,
            "null",
        ] {
            assert_eq!(
                evident_tracekit_check_log_details(c(ok).as_ptr()),
                evident_status::Ok
            );
        }
        for (bad, path) in [
            (
                r#"{"a":{"b":[0,18446744073709551616]}}"#,
                r#"details["a"]["b"][1]"#,
            ),
            (r#"{"x":NaN}"#, r#"details["x"]"#),
            (r#"{"s":["ok","\udc00"]}"#, r#"[1]"#),
        ] {
            assert_eq!(
                evident_tracekit_check_log_details(c(bad).as_ptr()),
                evident_status::InvalidArgument
            );
            let msg = unsafe { CStr::from_ptr(crate::ffi::evident_last_error()) }
                .to_string_lossy()
                .into_owned();
            assert!(msg.contains(path), "{msg}");
        }
        assert_eq!(
            evident_tracekit_check_log_details(std::ptr::null()),
            evident_status::NullArgument
        );
    }
}
