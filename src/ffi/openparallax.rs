//! Existing OpenParallax audit files from C (`evident_openparallax_*`,
//! since ABI 1.11): the C face of [`crate::legacy_openparallax`]. Paths are
//! UTF-8; JSON out; strings returned are freed with `evident_string_free`.

use std::ffi::c_char;
use std::path::Path;

use serde_json::Value;

use super::{evident_status, ffi_status, owned_string, try_opt_str, try_out, try_str};
use crate::error::Error;
use crate::format::Framing;
use crate::legacy_openparallax as op;

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Whether `path` is an OpenParallax audit file (not an evident log; its
/// first non-blank line an object with OpenParallax's keys).
/// `*out_is` receives 1 or 0.
#[no_mangle]
pub extern "C" fn evident_openparallax_detect(
    path: *const c_char,
    out_is: *mut i32,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_is, "out_is", 0);
        *out = i32::from(op::is_openparallax(Path::new(try_str!(path, "path")))?);
        Ok(evident_status::Ok)
    })
}

/// Checks the chain of the OpenParallax file `path` by OpenParallax's rule.
/// `*out_json` receives `{"valid", "entries", "line", "error", "kind"
/// ("invalid_json", "chain_broken", "hash_mismatch", "line_too_long" or
/// null), "lines", "last_hash", "bytes", "sha256"}` (free it with
/// `evident_string_free`; NULL on failure); a violation is not an error
/// status (an unreadable file is). A file that is not OpenParallax's is
/// checked by the same rule (`evident_openparallax_detect` tells first).
#[no_mangle]
pub extern "C" fn evident_openparallax_verify(
    path: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let r = op::verify(Path::new(try_str!(path, "path")))?;
        *out = owned_string(&to_json(&r));
        Ok(evident_status::Ok)
    })
}

/// OpenParallax's `ReadEntries`: the entries of `path` matching
/// `query_json` (NULL or an object with optional `session_id`,
/// `event_type` (a number), `action_type`, `limit`; empty / 0: no filter),
/// newest first; lines that are not entries are skipped, nothing is
/// verified. `*out_json` receives an array of objects with `line`, `id`,
/// `event_type`, `timestamp` (Unix ms), `session_id`, `action_type`,
/// `details_json`, `previous_hash`, `hash`, `otr`, `source` (free it with
/// `evident_string_free`; NULL on failure).
#[no_mangle]
pub extern "C" fn evident_openparallax_read(
    path: *const c_char,
    query_json: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let path = Path::new(try_str!(path, "path"));
        let mut q = op::LegacyQuery::new();
        if let Some(text) = try_opt_str!(query_json, "query_json") {
            let v: Value = serde_json::from_str(text)
                .map_err(|e| Error::InvalidArgument(format!("query_json: {e}")))?;
            let Some(m) = v.as_object() else {
                return Err(Error::InvalidArgument("query_json: not an object".into()).into());
            };
            for (k, v) in m {
                let bad = || Error::InvalidArgument(format!("query_json: bad {k}: {v}"));
                match k.as_str() {
                    "session_id" => q.session_id = v.as_str().map(str::to_owned),
                    "action_type" => q.action_type = v.as_str().map(str::to_owned),
                    "event_type" => q.event_type = Some(v.as_i64().ok_or_else(bad)?),
                    "limit" => {
                        q.limit = usize::try_from(v.as_u64().ok_or_else(bad)?).map_err(|_| bad())?
                    }
                    _ => {
                        return Err(Error::InvalidArgument(format!(
                            "query_json: unknown key {k:?}"
                        ))
                        .into())
                    }
                }
            }
        }
        let entries = op::read_entries(path, &q)?;
        *out = owned_string(&to_json(&entries));
        Ok(evident_status::Ok)
    })
}

fn import_options(options_json: Option<&str>) -> Result<op::ImportOptions, Error> {
    let mut o = op::ImportOptions::new();
    let Some(text) = options_json else {
        return Ok(o);
    };
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::InvalidArgument(format!("options_json: {e}")))?;
    let m = v
        .as_object()
        .ok_or_else(|| Error::InvalidArgument("options_json: not an object".into()))?;
    for (k, v) in m {
        match (k.as_str(), v) {
            ("framing", Value::String(s)) if s == "jsonl" => o = o.framing(Framing::Jsonl),
            ("framing", Value::String(s)) if s == "binary" => o = o.framing(Framing::Binary),
            ("lock_timeout", Value::Number(n))
                if n.as_f64().is_some_and(|f| (0.0..1e9).contains(&f)) =>
            {
                o.lock_timeout = Some(std::time::Duration::from_secs_f64(
                    n.as_f64().unwrap_or(0.0),
                ));
            }
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "options_json: unknown key or bad value: {k}: {v}"
                )))
            }
        }
    }
    Ok(o)
}

/// Imports the OpenParallax file `src` into a new evident log at `dst`
/// (which must not exist: else `EVIDENT_STATUS_IO`, "refusing to
/// overwrite an existing file"). `options_json`: NULL or `{"framing":
/// "jsonl" | "binary"}` (a `lock_timeout` member, as for
/// `evident_openparallax_migrate`, is accepted and not used). `src` must be an OpenParallax file (else
/// `EVIDENT_STATUS_UNSUPPORTED`) that verifies (else
/// `EVIDENT_STATUS_CORRUPT`, naming the line). `*out_json` receives
/// `{"entries", "lines", "bytes", "sha256", "last_hash", "head_seq",
/// "head_hash", "log", "legacy"}` (free it with `evident_string_free`;
/// NULL on failure).
#[no_mangle]
pub extern "C" fn evident_openparallax_import(
    src: *const c_char,
    dst: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let o = import_options(try_opt_str!(options_json, "options_json"))?;
        let r = op::import(
            Path::new(try_str!(src, "src")),
            Path::new(try_str!(dst, "dst")),
            &o,
        )?;
        *out = owned_string(&to_json(&r));
        Ok(evident_status::Ok)
    })
}

/// Turns the OpenParallax file at `path` into an evident log at the same
/// path, crash-safely, keeping its bytes at `PATH.openparallax` (see
/// spec/openparallax.md § 6). `options_json`: NULL or `{"framing": …,
/// "lock_timeout": seconds}`. `*out_json` receives the import report (as
/// `evident_openparallax_import`; free it with `evident_string_free`, NULL
/// on failure), or `null` when `path` is not an OpenParallax file (nothing
/// changed; a missing file is `EVIDENT_STATUS_IO`). A `PATH.openparallax`
/// holding other bytes is `EVIDENT_STATUS_IO`, a writer holding the log
/// `EVIDENT_STATUS_LOCKED`; neither changes anything.
#[no_mangle]
pub extern "C" fn evident_openparallax_migrate(
    path: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let o = import_options(try_opt_str!(options_json, "options_json"))?;
        let r = op::migrate_in_place(Path::new(try_str!(path, "path")), &o)?;
        *out = owned_string(&match r {
            Some(r) => to_json(&r),
            None => "null".into(),
        });
        Ok(evident_status::Ok)
    })
}
