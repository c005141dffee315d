//! Compliance checks of a dataset (`evident_compliance_check`): the C face
//! of [`crate::compliance`].

use std::ffi::c_char;

use super::{evident_status, ffi_status, owned_string, try_out, try_str};
use crate::compliance;

/// Checks a dataset against `regulation` (any name, compared upper-cased;
/// GDPR, CCPA, HIPAA have their own wording). `dataset_json` is an object
/// `{"columns": [{"name": "email", "values": [...]}, ...], "dataset_name":
/// "...", "num_records": N, "metadata": {"consent_obtained": true,
/// "purpose": "..."}}` (only `columns` is required; only string values
/// are looked at, at most 1000 per column). `*out_report_json` receives the
/// report: `{"regulation", "dataset_name", "num_records", "columns",
/// "personal_data_columns" ({column: category}, in column order),
/// "issues" ([{"component", "issue", "severity", "recommendation"}]),
/// "warnings" ([{"component", "warning", "recommendation"}]),
/// "passed_checks", "compliant", "checks" ([{"check", "passed",
/// "details"}])}` (free with `evident_string_free`; NULL on failure).
/// Bad JSON returns `EVIDENT_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn evident_compliance_check(
    regulation: *const c_char,
    dataset_json: *const c_char,
    out_report_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let result = try_out!(out_report_json, "out_report_json", std::ptr::null_mut());
        let regulation = try_str!(regulation, "regulation");
        let report = compliance::audit_json(regulation, try_str!(dataset_json, "dataset_json"))?;
        *result = owned_string(&report);
        Ok(evident_status::Ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::evident_string_free;
    use std::ffi::{CStr, CString};

    #[test]
    fn checks_and_refuses_bad_input() {
        let reg = CString::new("gdpr").unwrap();
        let ds = CString::new(r#"{"columns":[{"name":"contact","values":["a@b.org"]}]}"#).unwrap();
        let mut out: *mut c_char = std::ptr::null_mut();
        assert_eq!(
            evident_compliance_check(reg.as_ptr(), ds.as_ptr(), &mut out),
            evident_status::Ok
        );
        let text = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_string();
        evident_string_free(out);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["personal_data_columns"]["contact"], "email");
        assert_eq!(v["regulation"], "GDPR");
        let bad = CString::new("[1]").unwrap();
        let mut out: *mut c_char = std::ptr::null_mut();
        assert_eq!(
            evident_compliance_check(reg.as_ptr(), bad.as_ptr(), &mut out),
            evident_status::InvalidArgument
        );
        assert!(out.is_null());
        assert_eq!(
            evident_compliance_check(std::ptr::null(), ds.as_ptr(), &mut out),
            evident_status::NullArgument
        );
    }
}
