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
        let alg = tracekit::Algorithm::from_name(try_str!(algorithm, "algorithm"))?;
        let key = c_slice(key, key_len, "key")?;
        let format = tracekit::ExportFormat::from_name(try_str!(format, "format"))?;
        let entries = tracekit::ExportEntry::list_from_json(try_str!(entries_json, "entries_json"))
            .map_err(|e| Failure::invalid(format!("`entries_json`: {e}")))?;
        *out = owned_string(&tracekit::export(alg, key, &entries, format)?);
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
}
