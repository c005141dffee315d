//! Reports and reproduction scripts (`evident_report_*`,
//! `evident_reproduce_*`): the C face of [`crate::report`].
//!
//! Arguments and results are JSON texts: a list of input paths (logs,
//! Markdown reports written by `evident report`, directories of them), an
//! options object, and a result to free with `evident_string_free`.

use std::ffi::c_char;
use std::path::{Path, PathBuf};

use super::{evident_status, ffi_status, owned_string, try_opt_str, try_out, try_str, Failure};
use crate::report::{self, ReportOptions, ReproOptions};

fn parse<T: serde::de::DeserializeOwned + Default>(
    text: Option<&str>,
    what: &str,
) -> Result<T, Failure> {
    match text {
        None => Ok(T::default()),
        Some(t) => serde_json::from_str(t).map_err(|e| Failure::invalid(format!("{what}: {e}"))),
    }
}

fn inputs(text: &str) -> Result<Vec<PathBuf>, Failure> {
    serde_json::from_str(text)
        .map_err(|e| Failure::invalid(format!("inputs: not a JSON array of paths: {e}")))
}

fn files_json(files: &[report::ReportFile]) -> String {
    serde_json::to_string(files).unwrap_or_else(|_| "[]".into())
}

/// Writes reports of the entries in `inputs_json` (a JSON array of paths:
/// logs, Markdown reports written by `evident report`, directories) into
/// `out` (Markdown: a directory, created when there is something to write;
/// HTML: the file when its name ends in .html, else a directory for
/// `audit_report.html`; PDF: the same with .pdf and `audit_report.pdf`).
/// `options_json` (NULL for the defaults) is an object with `format`
/// (`"md"`, `"html"` or `"pdf"`), `by`
/// (`"day"`, `"week"`, `"tool"`), `since`/`until` (RFC 3339), `source`,
/// `event_type`, `title`, `no_charts`, `key_hex`. `*out_files_json`
/// receives a JSON array of `{"group", "path"}` (free with
/// `evident_string_free`; NULL on failure).
#[no_mangle]
pub extern "C" fn evident_report_write(
    inputs_json: *const c_char,
    options_json: *const c_char,
    out: *const c_char,
    out_files_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let result = try_out!(out_files_json, "out_files_json", std::ptr::null_mut());
        let inputs = inputs(try_str!(inputs_json, "inputs_json"))?;
        let opts: ReportOptions =
            parse(try_opt_str!(options_json, "options_json"), "options_json")?;
        let out = try_str!(out, "out");
        let files = report::write_reports(&inputs, &opts, Path::new(out))?;
        *result = owned_string(&files_json(&files));
        Ok(evident_status::Ok)
    })
}

/// Like `evident_report_write` for entries given as a JSON array in
/// `entries_json` (evident entries, or objects with at least `ts`; missing
/// fields are empty). The option `logs` (an array of paths) names logs to
/// verify and show at the top of the report.
#[no_mangle]
pub extern "C" fn evident_report_write_entries(
    entries_json: *const c_char,
    options_json: *const c_char,
    out: *const c_char,
    out_files_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let result = try_out!(out_files_json, "out_files_json", std::ptr::null_mut());
        let entries = report::entries_from_json(try_str!(entries_json, "entries_json"))?;
        let opts: ReportOptions =
            parse(try_opt_str!(options_json, "options_json"), "options_json")?;
        let out = try_str!(out, "out");
        let files = report::write_entries_report(&entries, &opts, Path::new(out))?;
        *result = owned_string(&files_json(&files));
        Ok(evident_status::Ok)
    })
}

/// Writes a script (mode 0755) to `out_file` that re-runs the operations
/// recorded in `inputs_json` (as for `evident_report_write`) in time
/// order. `options_json` (NULL for the defaults): `format` (`"bash"`, the
/// default, RTGS Lab Tools' layout; or `"python"`, TraceKit's
/// `to_script()` layout), `title`, `since`, `until`, `include_tools`,
/// `exclude_operations`, `event_type`, `skip_failed`; bash only: `program`,
/// `add_timing`, `add_error_handling`, `no_note`; Python only: `module`
/// (default `tracekit`, falling back to `evident.compat.tracekit`) and
/// `alias` (default `tk`); `key_hex`: the HMAC key of keyed logs, whose
/// hashes are checked only with it (their links and seqs always are).
/// `*out_info_json` receives `{"script_path", "operation_count",
/// "start_date", "end_date", "unverified"}` (free with
/// `evident_string_free`); `unverified` lists the input logs that do not
/// verify (`"path: problem"`), whose entries the script was written from as
/// they are (it says so at its top); the call still succeeds.
#[no_mangle]
pub extern "C" fn evident_reproduce_write(
    inputs_json: *const c_char,
    options_json: *const c_char,
    out_file: *const c_char,
    out_info_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let result = try_out!(out_info_json, "out_info_json", std::ptr::null_mut());
        let inputs = inputs(try_str!(inputs_json, "inputs_json"))?;
        let opts: ReproOptions = parse(try_opt_str!(options_json, "options_json"), "options_json")?;
        let out = try_str!(out_file, "out_file");
        let info = report::write_reproduction(&inputs, &opts, Path::new(out))?;
        *result = owned_string(&serde_json::to_string(&info).unwrap_or_default());
        Ok(evident_status::Ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::evident_string_free;
    use crate::{Event, Log, OpenOptions};
    use std::ffi::{CStr, CString};

    fn take(p: *mut c_char) -> String {
        // SAFETY: a string returned by the functions above.
        let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string();
        evident_string_free(p);
        s
    }

    #[test]
    fn report_and_reproduce_through_the_c_abi() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.jsonl");
        let l = Log::open(&log, OpenOptions::new()).unwrap();
        l.append(
            &Event::new("tool_operation", "extract")
                .source("sensing-data")
                .details(serde_json::json!({"parameters": {"project": "P 1"}})),
        )
        .unwrap();
        l.close().unwrap();
        let inputs = CString::new(serde_json::to_string(&[&log]).unwrap()).unwrap();
        let out_dir = CString::new(dir.path().join("r").to_str().unwrap()).unwrap();
        let mut res = std::ptr::null_mut();
        let st = evident_report_write(
            inputs.as_ptr(),
            std::ptr::null(),
            out_dir.as_ptr(),
            &mut res,
        );
        assert_eq!(st, evident_status::Ok);
        let files: serde_json::Value = serde_json::from_str(&take(res)).unwrap();
        assert_eq!(files.as_array().unwrap().len(), 1);
        let md = std::fs::read_to_string(files[0]["path"].as_str().unwrap()).unwrap();
        assert!(md.contains("- Total Operations: 1"), "{md}");

        let opts = CString::new(r#"{"program":"rtgs"}"#).unwrap();
        let script = CString::new(dir.path().join("s.sh").to_str().unwrap()).unwrap();
        let reports =
            CString::new(serde_json::to_string(&[dir.path().join("r")]).unwrap()).unwrap();
        let st =
            evident_reproduce_write(reports.as_ptr(), opts.as_ptr(), script.as_ptr(), &mut res);
        assert_eq!(st, evident_status::Ok);
        let info: serde_json::Value = serde_json::from_str(&take(res)).unwrap();
        assert_eq!(info["operation_count"], 1);
        let sh = std::fs::read_to_string(dir.path().join("s.sh")).unwrap();
        assert!(
            sh.contains("rtgs sensing-data extract \\\n  --project \"P 1\""),
            "{sh}"
        );

        // a PDF report into a file named .pdf
        let opts = CString::new(r#"{"format":"pdf","title":"Run 7"}"#).unwrap();
        let pdf_out = CString::new(dir.path().join("out/run.pdf").to_str().unwrap()).unwrap();
        let st = evident_report_write(inputs.as_ptr(), opts.as_ptr(), pdf_out.as_ptr(), &mut res);
        assert_eq!(st, evident_status::Ok);
        let files: serde_json::Value = serde_json::from_str(&take(res)).unwrap();
        assert_eq!(
            files[0]["path"],
            dir.path().join("out/run.pdf").to_str().unwrap()
        );
        let pdf = std::fs::read(dir.path().join("out/run.pdf")).unwrap();
        assert!(pdf.starts_with(b"%PDF-") && pdf.ends_with(b"%%EOF"));

        // bad options: an error status and a message, no panic
        let bad = CString::new(r#"{"format":"docx"}"#).unwrap();
        let st = evident_report_write(inputs.as_ptr(), bad.as_ptr(), out_dir.as_ptr(), &mut res);
        assert_eq!(st, evident_status::InvalidArgument);
        assert!(res.is_null());
        let st = evident_report_write(std::ptr::null(), bad.as_ptr(), out_dir.as_ptr(), &mut res);
        assert_eq!(st, evident_status::NullArgument);
    }
}
