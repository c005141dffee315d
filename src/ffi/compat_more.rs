//! The compatibility layers' rules from C (`evident_compat_*`): the C face
//! of [`crate::compat`]. JSON in and out; strings returned are freed with
//! `evident_string_free`.

use std::ffi::c_char;

use super::{evident_status, ffi_status, owned_string, try_opt_str, try_out, try_str};
use crate::compat;
use crate::format::format_ts;

/// RTGS Lab Tools operation records of `entries_json`, a JSON array of
/// evident entries (as `evident_query` returns them; at least `ts`).
/// `*out_json` receives a JSON array with one object per entry, in the
/// same order, with RTGS's documented keys (`timestamp` as RFC 3339 UTC
/// text, `operation_id`, `tool_name`, `operation`, `user`, `git_branch`,
/// `git_commit`, `parameters`, `results`, `duration_seconds`, `success`,
/// `error_message`, `note`, `status`) and `hostname`, `seq`, `hash`.
#[no_mangle]
pub extern "C" fn evident_compat_rtgs_records(
    entries_json: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let entries = crate::report::entries_from_json(try_str!(entries_json, "entries_json"))?;
        let records: Vec<_> = entries.iter().map(compat::rtgs_record).collect();
        *out = owned_string(&serde_json::Value::Array(records).to_string());
        Ok(evident_status::Ok)
    })
}

/// RTGS's date range: `start` and `end` (each NULL for none) are
/// `YYYY-MM-DD` (a UTC day) or an RFC 3339 time with its offset.
/// `*out_json` receives `{"since": …, "until": …}` (RFC 3339 UTC text or
/// null), the half-open range `[since, until)`: an end day is included
/// whole, an end time up to that instant. A bound in another form is
/// `EVIDENT_INVALID_ARGUMENT`, naming `start_date` or `end_date`.
#[no_mangle]
pub extern "C" fn evident_compat_rtgs_range(
    start: *const c_char,
    end: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let (since, until) =
            compat::rtgs_range(try_opt_str!(start, "start"), try_opt_str!(end, "end"))?;
        let text = serde_json::json!({
            "since": since.map(|t| format_ts(&t)),
            "until": until.map(|t| format_ts(&t)),
        });
        *out = owned_string(&text.to_string());
        Ok(evident_status::Ok)
    })
}

/// The file name (`NAME.jsonl`, no directory) of SecureML operation
/// `operation_name`'s log: characters other than ASCII letters, digits,
/// `.`, `_`, `-` replaced by `_`, leading dots dropped, at most 120
/// characters, `operation` when nothing is left. `*out_name` receives it.
#[no_mangle]
pub extern "C" fn evident_compat_secureml_file_name(
    operation_name: *const c_char,
    out_name: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_name, "out_name", std::ptr::null_mut());
        let name = try_str!(operation_name, "operation_name");
        *out = owned_string(&compat::secureml_file_name(name));
        Ok(evident_status::Ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::evident_string_free;
    use std::ffi::{CStr, CString};

    fn take(p: *mut c_char) -> String {
        // SAFETY: a string returned by the functions above.
        let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string();
        evident_string_free(p);
        s
    }

    #[test]
    fn compat_rules_through_the_c_abi() {
        let c = |s: &str| CString::new(s).unwrap();
        let mut out: *mut c_char = std::ptr::null_mut();
        let entries =
            c(r#"[{"ts":"2023-06-15T14:30:22.000000Z","source":"t","action":"a","error":"x"}]"#);
        assert_eq!(
            evident_compat_rtgs_records(entries.as_ptr(), &mut out),
            evident_status::Ok
        );
        let v: serde_json::Value = serde_json::from_str(&take(out)).unwrap();
        assert_eq!(v[0]["status"], "failed");
        assert_eq!(v[0]["tool_name"], "t");
        let bad = c("{");
        assert_eq!(
            evident_compat_rtgs_records(bad.as_ptr(), &mut out),
            evident_status::InvalidArgument
        );
        assert!(out.is_null());

        let day = c("2023-06-30");
        assert_eq!(
            evident_compat_rtgs_range(std::ptr::null(), day.as_ptr(), &mut out),
            evident_status::Ok
        );
        assert_eq!(
            take(out),
            r#"{"since":null,"until":"2023-07-01T00:00:00.000000Z"}"#
        );
        let junk = c("soon");
        assert_eq!(
            evident_compat_rtgs_range(junk.as_ptr(), std::ptr::null(), &mut out),
            evident_status::InvalidArgument
        );

        let name = c("a b");
        assert_eq!(
            evident_compat_secureml_file_name(name.as_ptr(), &mut out),
            evident_status::Ok
        );
        assert_eq!(take(out), "a_b.jsonl");
        assert_eq!(
            evident_compat_secureml_file_name(std::ptr::null(), &mut out),
            evident_status::NullArgument
        );
    }
}
