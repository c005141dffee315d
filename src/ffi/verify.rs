//! `evident_verify`: options builder, result object, violations.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use super::{
    evident_alg, evident_framing, evident_status, evident_violation_kind, ffi_status, key_arg,
    opt_ptr, owned_string, run_value, to_cstring, try_mut, try_opt_str, try_out, try_ref, try_str,
    with_obj, Failure,
};
use crate::chain::{Hash, HashAlg};
use crate::verify::{verify, ExpectedHead, VerifyOptions, VerifyReport};

/// Progress callback for `evident_verify`: called with the bytes checked so
/// far and the file size, on the thread that called `evident_verify`. It
/// must not unwind (no C++ exception may leave it) and must not free the
/// options object it was set on.
pub type evident_progress_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, done: u64, total: u64)>;

/// Options for `evident_verify`, built with the `evident_verify_options_set_*`
/// functions. Defaults: no key, no expected head or log id, stop at the
/// first violation, one worker per core, no progress callback.
///
/// Thread safety: setters need exclusive access; a built object may be read
/// by several concurrent `evident_verify` calls (the progress callback is
/// then called from each of them). Ownership: created by
/// `evident_verify_options_new`, freed with `evident_verify_options_free`.
pub struct evident_verify_options {
    opts: VerifyOptions,
}

/// The result of `evident_verify`.
///
/// Thread safety: immutable once returned; may be read from several
/// threads, but not freed while read. Ownership: created by
/// `evident_verify`, freed with `evident_verify_result_free`; every string
/// and `evident_violation` it returns belongs to it and stays valid until
/// then.
pub struct evident_verify_result {
    report: VerifyReport,
    head_hash: Option<CString>,
    log_id: Option<CString>,
    key_id: Option<CString>,
    violations: Vec<evident_violation>,
}

/// One violation found by verify, borrowed from its `evident_verify_result`.
pub struct evident_violation {
    kind: evident_violation_kind,
    seq: Option<u64>,
    line: u64,
    offset: u64,
    message: CString,
}

struct Progress {
    cb: unsafe extern "C" fn(*mut c_void, u64, u64),
    user: *mut c_void,
}

impl Progress {
    fn call(&self, done: u64, total: u64) {
        // SAFETY: a C function pointer and user data given by the caller.
        unsafe { (self.cb)(self.user, done, total) }
    }
}

// SAFETY: the header requires the callback and its user data to be usable
// from the thread calling evident_verify; the pointer is only passed back.
unsafe impl Send for Progress {}
// SAFETY: as above.
unsafe impl Sync for Progress {}

/// Creates a verify options object with the defaults. `*out_options`
/// receives it (NULL on failure); free it with `evident_verify_options_free`.
#[no_mangle]
pub extern "C" fn evident_verify_options_new(
    out_options: *mut *mut evident_verify_options,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_options, "out_options", std::ptr::null_mut());
        *out = Box::into_raw(Box::new(evident_verify_options {
            opts: VerifyOptions::default(),
        }));
        Ok(evident_status::Ok)
    })
}

/// Frees a verify options object. NULL is a no-op.
#[no_mangle]
pub extern "C" fn evident_verify_options_free(options: *mut evident_verify_options) {
    run_value((), || {
        if !options.is_null() {
            // SAFETY: `options` came from evident_verify_options_new.
            drop(unsafe { Box::from_raw(options) });
        }
    })
}

/// Sets the HMAC key of a keyed log (`key_len` bytes, at least 16, copied).
/// Giving a key for a keyless log is reported as a violation. `key` NULL
/// with `key_len` 0 removes the key.
#[no_mangle]
pub extern "C" fn evident_verify_options_set_key(
    options: *mut evident_verify_options,
    key: *const u8,
    key_len: usize,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.key = key_arg(key, key_len)?;
        Ok(evident_status::Ok)
    })
}

/// Sets a head kept outside the log (from `evident_log_head`): the log must
/// still contain entry `seq` with hash `hash_hex` (hex digits in either
/// case), which detects truncation. `hash_hex` NULL removes the
/// expectation; invalid hex gives `EVIDENT_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn evident_verify_options_set_expected_head(
    options: *mut evident_verify_options,
    seq: u64,
    hash_hex: *const c_char,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.expected_head = match try_opt_str!(hash_hex, "hash_hex") {
            None => None,
            Some(h) => {
                let hash = Hash::from_hex(&h.to_ascii_lowercase()).ok_or_else(|| {
                    Failure::invalid(format!("hash_hex is not a hash in hex: {h:?}"))
                })?;
                Some(ExpectedHead { seq, hash })
            }
        };
        Ok(evident_status::Ok)
    })
}

/// Sets the log id the log must have (copied). NULL removes it.
#[no_mangle]
pub extern "C" fn evident_verify_options_set_expected_log_id(
    options: *mut evident_verify_options,
    log_id: *const c_char,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.expected_log_id = try_opt_str!(log_id, "log_id").map(str::to_owned);
        Ok(evident_status::Ok)
    })
}

/// Report every violation (up to 10000 kept, all counted) instead of
/// stopping at the first.
#[no_mangle]
pub extern "C" fn evident_verify_options_set_all(
    options: *mut evident_verify_options,
    all: bool,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.all = all;
        Ok(evident_status::Ok)
    })
}

/// Sets the number of worker threads (0: one per core).
#[no_mangle]
pub extern "C" fn evident_verify_options_set_threads(
    options: *mut evident_verify_options,
    threads: usize,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.threads = threads;
        Ok(evident_status::Ok)
    })
}

/// Sets how long a torn tail that is only a record's beginning is watched
/// for the file to grow (a writer still appending it: reported as in
/// flight, spec/format.md § 9.5), in milliseconds. Default 126 (about
/// 0.1 s); 0 looks once without a pause, for logs nobody appends to any
/// more. Since C ABI 1.13.
#[no_mangle]
pub extern "C" fn evident_verify_options_set_in_flight_wait_ms(
    options: *mut evident_verify_options,
    wait_ms: u64,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.in_flight_wait = Some(std::time::Duration::from_millis(wait_ms));
        Ok(evident_status::Ok)
    })
}

/// Sets a progress callback (NULL removes it); `user_data` is passed back
/// to it unchanged.
#[no_mangle]
pub extern "C" fn evident_verify_options_set_progress(
    options: *mut evident_verify_options,
    callback: evident_progress_fn,
    user_data: *mut c_void,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.progress = callback.map(|cb| {
            let p = Progress {
                cb,
                user: user_data,
            };
            Arc::new(move |done: u64, total: u64| p.call(done, total))
                as Arc<dyn Fn(u64, u64) + Send + Sync>
        });
        Ok(evident_status::Ok)
    })
}

/// Checks the whole log at `path` (UTF-8): every hash, link and seq, the
/// key, and the expectations set in `options` (NULL: defaults).
///
/// Returns `EVIDENT_STATUS_OK` whenever the file could be read — whether it
/// is valid or not is in the result (`evident_verify_result_valid`). Other
/// statuses mean the file could not be checked (e.g. `EVIDENT_STATUS_IO`).
/// `*out_result` receives the result (NULL on failure); free it with
/// `evident_verify_result_free`.
#[no_mangle]
pub extern "C" fn evident_verify(
    path: *const c_char,
    options: *const evident_verify_options,
    out_result: *mut *mut evident_verify_result,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_result, "out_result", std::ptr::null_mut());
        let path = try_str!(path, "path");
        let default = VerifyOptions::default();
        // SAFETY: `options` is NULL or a live options object.
        let opts = unsafe { options.as_ref() }.map_or(&default, |o| &o.opts);
        let report = verify(path, opts)?;
        let violations = report
            .violations
            .iter()
            .map(|v| evident_violation {
                kind: v.kind.into(),
                seq: v.seq,
                line: v.line,
                offset: v.offset,
                message: to_cstring(&v.message),
            })
            .collect();
        let result = evident_verify_result {
            head_hash: report.head_hash.as_deref().map(to_cstring),
            log_id: report.log_id.as_deref().map(to_cstring),
            key_id: report.key_id.as_deref().map(to_cstring),
            violations,
            report,
        };
        *out = Box::into_raw(Box::new(result));
        Ok(evident_status::Ok)
    })
}

/// Frees a verify result (and every violation and string borrowed from
/// it). NULL is a no-op.
#[no_mangle]
pub extern "C" fn evident_verify_result_free(result: *mut evident_verify_result) {
    run_value((), || {
        if !result.is_null() {
            // SAFETY: `result` came from evident_verify.
            drop(unsafe { Box::from_raw(result) });
        }
    })
}

fn with_result<T>(
    r: *const evident_verify_result,
    default: T,
    f: impl FnOnce(&evident_verify_result) -> T,
) -> T {
    with_obj(r, default, f)
}

/// True when no violation was found (false if `result` is NULL).
#[no_mangle]
pub extern "C" fn evident_verify_result_valid(result: *const evident_verify_result) -> bool {
    with_result(result, false, |r| r.report.valid)
}

/// True when the file is not an evident log (spec § 9.2: empty, in neither
/// framing, or not starting with a readable genesis record): nothing in it
/// could be checked, and the one violation is `malformed` at its start.
/// Report it as "not an evident log", not as tampering. False if `result`
/// is NULL.
#[no_mangle]
pub extern "C" fn evident_verify_result_not_a_log(result: *const evident_verify_result) -> bool {
    with_result(result, false, |r| r.report.not_a_log)
}

/// True when the only problems are torn tails (an interrupted write, not
/// tampering; opening the log moves it aside).
#[no_mangle]
pub extern "C" fn evident_verify_result_only_torn_tail(
    result: *const evident_verify_result,
) -> bool {
    with_result(result, false, |r| r.report.only_torn_tail())
}

/// Entry records checked (the genesis is not counted).
#[no_mangle]
pub extern "C" fn evident_verify_result_entries(result: *const evident_verify_result) -> u64 {
    with_result(result, 0, |r| r.report.entries)
}

/// Seq of the last complete record found.
#[no_mangle]
pub extern "C" fn evident_verify_result_head_seq(result: *const evident_verify_result) -> u64 {
    with_result(result, 0, |r| r.report.head_seq)
}

/// Hash (hex) of the last complete record, or NULL when the file has none.
/// Owned by the result.
#[no_mangle]
pub extern "C" fn evident_verify_result_head_hash(
    result: *const evident_verify_result,
) -> *const c_char {
    with_result(result, std::ptr::null(), |r| opt_ptr(&r.head_hash))
}

/// The log id from the genesis, or NULL when unreadable. Owned by the result.
#[no_mangle]
pub extern "C" fn evident_verify_result_log_id(
    result: *const evident_verify_result,
) -> *const c_char {
    with_result(result, std::ptr::null(), |r| opt_ptr(&r.log_id))
}

/// The key id from the genesis, or NULL (keyless or unreadable). Owned by
/// the result.
#[no_mangle]
pub extern "C" fn evident_verify_result_key_id(
    result: *const evident_verify_result,
) -> *const c_char {
    with_result(result, std::ptr::null(), |r| opt_ptr(&r.key_id))
}

/// The file's framing (`EVIDENT_FRAMING_AUTO` when it has none).
#[no_mangle]
pub extern "C" fn evident_verify_result_framing(
    result: *const evident_verify_result,
) -> evident_framing {
    with_result(result, evident_framing::Auto, |r| {
        r.report.framing.map_or(evident_framing::Auto, Into::into)
    })
}

/// The log's algorithm (`EVIDENT_ALG_AUTO` when unreadable).
#[no_mangle]
pub extern "C" fn evident_verify_result_alg(result: *const evident_verify_result) -> evident_alg {
    with_result(result, evident_alg::Auto, |r| {
        r.report
            .alg
            .as_deref()
            .and_then(HashAlg::from_name)
            .map_or(evident_alg::Auto, Into::into)
    })
}

/// The file size in bytes.
#[no_mangle]
pub extern "C" fn evident_verify_result_bytes(result: *const evident_verify_result) -> u64 {
    with_result(result, 0, |r| r.report.bytes)
}

/// Number of violations kept in the result (readable with
/// `evident_verify_result_violation`): at most 1 unless "all" was set.
#[no_mangle]
pub extern "C" fn evident_verify_result_violation_count(
    result: *const evident_verify_result,
) -> usize {
    with_result(result, 0, |r| r.violations.len())
}

/// Number of violations found (may exceed the number kept).
#[no_mangle]
pub extern "C" fn evident_verify_result_violations_total(
    result: *const evident_verify_result,
) -> u64 {
    with_result(result, 0, |r| r.report.violations_total)
}

/// Bytes at the end of the file that were a record being written while
/// verify ran (the file grew): not a violation, not checked. 0 when none.
#[no_mangle]
pub extern "C" fn evident_verify_result_in_flight_tail(
    result: *const evident_verify_result,
) -> u64 {
    with_result(result, 0, |r| r.report.in_flight_tail.unwrap_or(0))
}

/// Violation number `index` (0 is the first in file order).
/// `*out_violation` receives a pointer owned by the result, valid until
/// `evident_verify_result_free` (NULL on failure). An index out of range
/// gives `EVIDENT_STATUS_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn evident_verify_result_violation(
    result: *const evident_verify_result,
    index: usize,
    out_violation: *mut *const evident_violation,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_violation, "out_violation", std::ptr::null());
        let r = try_ref!(result, "result");
        let Some(v) = r.violations.get(index) else {
            return Err(Failure::invalid(format!(
                "violation index {index} out of range (count {})",
                r.violations.len()
            )));
        };
        *out = v;
        Ok(evident_status::Ok)
    })
}

/// The whole result as a JSON object (the same fields as `evident verify
/// --json`, `status` and `head` included). `*out_json` receives a string to free with
/// `evident_string_free` (NULL on failure).
#[no_mangle]
pub extern "C" fn evident_verify_result_to_json(
    result: *const evident_verify_result,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let r = try_ref!(result, "result");
        let text = serde_json::to_string(&r.report.to_json())
            .map_err(|e| Failure::invalid(format!("cannot serialise the result: {e}")))?;
        *out = owned_string(&text);
        Ok(evident_status::Ok)
    })
}

/// The kind of the violation: an `EVIDENT_VIOLATION_KIND_*` value (0 if
/// `violation` is NULL).
#[no_mangle]
pub extern "C" fn evident_violation_get_kind(violation: *const evident_violation) -> u32 {
    with_obj(violation, 0, |v| v.kind as u32)
}

/// Whether the violation names an entry seq.
#[no_mangle]
pub extern "C" fn evident_violation_has_seq(violation: *const evident_violation) -> bool {
    with_obj(violation, false, |v| v.seq.is_some())
}

/// The seq of the record (0 when `evident_violation_has_seq` is false).
#[no_mangle]
pub extern "C" fn evident_violation_seq(violation: *const evident_violation) -> u64 {
    with_obj(violation, 0, |v| v.seq.unwrap_or(0))
}

/// The 1-based line of the record (JSONL), 0 for binary logs.
#[no_mangle]
pub extern "C" fn evident_violation_line(violation: *const evident_violation) -> u64 {
    with_obj(violation, 0, |v| v.line)
}

/// The byte offset of the record in the file.
#[no_mangle]
pub extern "C" fn evident_violation_offset(violation: *const evident_violation) -> u64 {
    with_obj(violation, 0, |v| v.offset)
}

/// A one-line description. Owned by the result the violation came from.
/// NULL if `violation` is NULL.
#[no_mangle]
pub extern "C" fn evident_violation_message(violation: *const evident_violation) -> *const c_char {
    with_obj(violation, std::ptr::null(), |v| v.message.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_out_of_range_arguments() {
        let mut r = std::ptr::NonNull::dangling().as_ptr();
        assert_eq!(
            evident_verify(std::ptr::null(), std::ptr::null(), &mut r),
            evident_status::NullArgument
        );
        assert!(r.is_null());
        let p = CString::new("/nonexistent/dir/x.jsonl").unwrap();
        assert_eq!(
            evident_verify(p.as_ptr(), std::ptr::null(), &mut r),
            evident_status::Io
        );
        assert!(r.is_null());
        let mut o = std::ptr::null_mut();
        assert_eq!(evident_verify_options_new(&mut o), evident_status::Ok);
        let bad = CString::new("zz").unwrap();
        assert_eq!(
            evident_verify_options_set_expected_head(o, 1, bad.as_ptr()),
            evident_status::InvalidArgument
        );
        assert_eq!(
            evident_verify_options_set_key(o, std::ptr::null(), 3),
            evident_status::NullArgument
        );
        assert_eq!(
            evident_verify_options_set_progress(o, None, std::ptr::null_mut()),
            evident_status::Ok
        );
        evident_verify_options_free(o);
        let mut v = std::ptr::null();
        assert_eq!(
            evident_verify_result_violation(std::ptr::null(), 0, &mut v),
            evident_status::NullArgument
        );
        assert_eq!(evident_violation_get_kind(std::ptr::null()), 0);
        assert!(evident_violation_message(std::ptr::null()).is_null());
        assert!(!evident_verify_result_valid(std::ptr::null()));
        evident_verify_result_free(std::ptr::null_mut());
        evident_verify_options_free(std::ptr::null_mut());
    }
}
