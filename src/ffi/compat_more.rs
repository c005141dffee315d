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
/// `error_message`, `note`, `status`) and `hostname`, `seq`, `hash`;
/// `parameters` and `results` list their members in the order the
/// operation gave them (`details.parameter_order` / `result_order`, which
/// the RTGS compat records), else by name.
#[no_mangle]
pub extern "C" fn evident_compat_rtgs_records(
    entries_json: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let entries = crate::report::entries_from_json(try_str!(entries_json, "entries_json"))?;
        *out = owned_string(&compat::rtgs_records_json(&entries));
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

/// The compatibility layers' one rule for time arguments given as text
/// (see `compat::parse_time`): `text` is `YYYY-MM-DD` (a day),
/// `YYYY-MM-DD[T ]HH:MM[:SS[.f]]` (a naive, local time) or the same with
/// `Z` or `±HH:MM` (an instant); `name` names the argument in the error
/// (`EVIDENT_INVALID_ARGUMENT` for any other form). `*out_json` receives
/// `{"kind": "day"|"naive"|"instant", "value": …}`: `YYYY-MM-DD`,
/// `YYYY-MM-DDTHH:MM:SS.ffffff` (local; the binding applies its host's
/// time zone) or RFC 3339 UTC text. Free with `evident_string_free`.
#[no_mangle]
pub extern "C" fn evident_compat_parse_time(
    text: *const c_char,
    name: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let name = try_str!(name, "name");
        let v = match compat::parse_time(try_str!(text, "text"), name)? {
            compat::TimeArg::Day(d) => {
                serde_json::json!({"kind": "day", "value": d.format("%Y-%m-%d").to_string()})
            }
            compat::TimeArg::Naive(t) => serde_json::json!({
                "kind": "naive",
                "value": t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
            }),
            compat::TimeArg::Instant(t) => {
                serde_json::json!({"kind": "instant", "value": format_ts(&t)})
            }
        };
        *out = owned_string(&v.to_string());
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

/// RTGS Lab Tools' recent operations in the evident log `log_path`: the
/// `limit` newest (a negative `limit`: all) operations (`event_type`
/// `tool_operation`) by time, then seq, of tool `tool_name` (NULL: any),
/// at or after `since` (NULL: any; RFC 3339 with its offset), newest
/// first. By time, not log position: an operation imported with its
/// original time takes its place in time. Reads the whole log, holding at
/// most `limit` entries. `*out_json` receives a JSON array of RTGS records
/// (as `evident_compat_rtgs_records` makes them). A missing log is
/// `EVIDENT_NOT_FOUND` or an I/O error as for `evident_query`; a damaged
/// record fails, naming the file and the record.
#[no_mangle]
pub extern "C" fn evident_compat_rtgs_recent(
    log_path: *const c_char,
    tool_name: *const c_char,
    since: *const c_char,
    limit: i64,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let path = std::path::Path::new(try_str!(log_path, "log_path"));
        let since = match try_opt_str!(since, "since") {
            None => None,
            Some(s) => Some(
                chrono::DateTime::parse_from_rfc3339(s.trim())
                    .map_err(|_| {
                        crate::Error::InvalidArgument(format!(
                            "since must be an RFC 3339 time with its offset, got {s:?}"
                        ))
                    })?
                    .with_timezone(&chrono::Utc),
            ),
        };
        let limit = usize::try_from(limit).ok();
        let entries =
            compat::rtgs_recent_entries(path, try_opt_str!(tool_name, "tool_name"), since, limit)?;
        *out = owned_string(&compat::rtgs_records_json(&entries));
        Ok(evident_status::Ok)
    })
}

/// The RTGS compatibility layer's places and logging status, from the
/// process environment: the directory (`EVIDENT_RTGS_DIR`, else
/// `$XDG_DATA_HOME/evident/rtgs`, else `$HOME/.local/share/evident/rtgs`),
/// the log `audit.jsonl` and the switch file `logging.json` in it, and
/// the PostgreSQL configuration (as `evident_compat_rtgs_pg_config` with
/// `.env` in the working directory). `*out_json` receives `{"dir",
/// "log_path", "status_file", "status": {…}}` where `status` is RTGS's
/// `get_logging_status()` (`enabled`: off only when `logging.json` says
/// so; `storage`, `database` when PostgreSQL is configured, `log_path`,
/// `message`). No place (none of the three variables set) is
/// `EVIDENT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn evident_compat_rtgs_status(out_json: *mut *mut c_char) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let dir = compat::rtgs_dir(|k| std::env::var(k).ok())?;
        let log_path = dir.join("audit.jsonl");
        let status_file = dir.join("logging.json");
        let enabled =
            compat::rtgs_logging_enabled(std::fs::read_to_string(&status_file).ok().as_deref());
        let pg = compat::rtgs_pg_config(
            env_strings(),
            std::fs::read_to_string(".env").ok().as_deref(),
        );
        let lossy = |p: &std::path::Path| p.to_string_lossy().into_owned();
        let text = serde_json::json!({
            "dir": lossy(&dir),
            "log_path": lossy(&log_path),
            "status_file": lossy(&status_file),
            "status": compat::rtgs_logging_status(enabled, &lossy(&log_path), pg.as_ref()),
        });
        *out = owned_string(&text.to_string());
        Ok(evident_status::Ok)
    })
}

/// The process environment's variables that are valid UTF-8.
fn env_strings() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

/// RTGS Lab Tools' PostgreSQL configuration: `POSTGRES_HOST`,
/// `POSTGRES_PORT` (default 5432), `POSTGRES_DB`, `POSTGRES_USER`,
/// `POSTGRES_PASSWORD` from the process environment, else from the file
/// `dotenv_path` (NULL: `.env` in the working directory; a file that
/// cannot be read as UTF-8 counts as empty). `*out_json` receives `null`
/// when the host or database is missing, else `{"url": …, "database": …}`:
/// the connection URL (password included, `connect_timeout=5`) and the
/// URL without password to show in messages.
#[no_mangle]
pub extern "C" fn evident_compat_rtgs_pg_config(
    dotenv_path: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let path = try_opt_str!(dotenv_path, "dotenv_path").unwrap_or(".env");
        let dotenv = std::fs::read_to_string(path).ok();
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        let text = match compat::rtgs_pg_config(env, dotenv.as_deref()) {
            None => serde_json::Value::Null,
            Some(pg) => serde_json::json!({"url": pg.url, "database": pg.database}),
        };
        *out = owned_string(&text.to_string());
        Ok(evident_status::Ok)
    })
}

/// What `rtgs audit recent` prints for `records_json`, a JSON array of
/// RTGS operation records (as `evident_compat_rtgs_records` returns them,
/// newest first; `timestamp` RFC 3339 with any offset): one line per
/// record (UTC time, ✅/❌, tool, operation, duration, status, note and
/// error when not empty), or `No recent logs found.` for none.
/// `*out_text` receives the lines joined by `\n`. A record without a
/// readable `timestamp` is `EVIDENT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn evident_compat_rtgs_recent_text(
    records_json: *const c_char,
    out_text: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_text, "out_text", std::ptr::null_mut());
        let records: Vec<serde_json::Value> =
            serde_json::from_str(try_str!(records_json, "records_json")).map_err(|e| {
                crate::Error::InvalidArgument(format!(
                    "records_json is not a JSON array of records: {e}"
                ))
            })?;
        *out = owned_string(&compat::rtgs_recent_text(&records)?);
        Ok(evident_status::Ok)
    })
}

/// Whether SecureML's `AuditTrail.close(status)` is a success:
/// `*out_json` receives `true` for `completed`, `complete`, `success`,
/// `succeeded`, `ok`, `done` (any case), else `false`.
#[no_mangle]
pub extern "C" fn evident_compat_secureml_status_success(
    status: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let ok = compat::secureml_status_success(try_str!(status, "status"));
        *out = owned_string(if ok { "true" } else { "false" });
        Ok(evident_status::Ok)
    })
}

/// What SecureML's `get_audit_logs` reads in `log_dir`: operation
/// `operation_name`'s log (NULL: every `*.jsonl` file, in name order), and
/// the time range from `start_time` and `end_time` (each NULL for none; RFC
/// 3339 with offset; `end_time` included). `*out_json` receives
/// `{"files": [paths of existing files], "skipped": [paths], "since": …,
/// "until": …}` (RFC 3339 UTC text or null; `until` exclusive). Reading
/// every log, `skipped` lists the `*.jsonl` files that do not start as an
/// evident log (another program's), which are not in `files` (an empty
/// file is). A missing directory or log gives no files; a time in
/// another form is `EVIDENT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn evident_compat_secureml_select(
    log_dir: *const c_char,
    operation_name: *const c_char,
    start_time: *const c_char,
    end_time: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let sel = compat::secureml_select(
            std::path::Path::new(try_str!(log_dir, "log_dir")),
            try_opt_str!(operation_name, "operation_name"),
            try_opt_str!(start_time, "start_time"),
            try_opt_str!(end_time, "end_time"),
        )?;
        let names = |ps: &[std::path::PathBuf]| -> Vec<String> {
            ps.iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect()
        };
        let text = serde_json::json!({
            "files": names(&sel.files),
            "skipped": names(&sel.skipped),
            "since": sel.since.map(|t| format_ts(&t)),
            "until": sel.until.map(|t| format_ts(&t)),
        });
        *out = owned_string(&text.to_string());
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
    fn parse_time_through_the_c_abi() {
        let c = |s: &str| CString::new(s).unwrap();
        let run = |t: &str| {
            let mut out: *mut c_char = std::ptr::null_mut();
            let st = evident_compat_parse_time(c(t).as_ptr(), c("end_date").as_ptr(), &mut out);
            (
                st,
                if out.is_null() {
                    String::new()
                } else {
                    take(out)
                },
            )
        };
        assert_eq!(
            run("2023-06-30"),
            (
                evident_status::Ok,
                r#"{"kind":"day","value":"2023-06-30"}"#.into()
            )
        );
        assert_eq!(
            run("2023-06-30 16:45"),
            (
                evident_status::Ok,
                r#"{"kind":"naive","value":"2023-06-30T16:45:00.000000"}"#.into()
            )
        );
        assert_eq!(
            run("2023-06-30T16:45:30+01:00"),
            (
                evident_status::Ok,
                r#"{"kind":"instant","value":"2023-06-30T15:45:30.000000Z"}"#.into()
            )
        );
        assert_eq!(run("June").0, evident_status::InvalidArgument);
        let mut out: *mut c_char = std::ptr::null_mut();
        assert_eq!(
            evident_compat_parse_time(std::ptr::null(), c("x").as_ptr(), &mut out),
            evident_status::NullArgument
        );
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
    #[test]
    fn new_compat_calls_through_the_c_abi() {
        let c = |s: &str| CString::new(s).unwrap();
        let mut out: *mut c_char = std::ptr::null_mut();
        let d = tempfile::tempdir().unwrap();

        // pg config: from a .env file (no POSTGRES_* in this test's environment
        // is assumed only for the keys the file leaves out of the answer)
        let env_file = d.path().join("env");
        std::fs::write(&env_file, "POSTGRES_HOST=dbhost\nPOSTGRES_DB=audit\n").unwrap();
        let p = c(env_file.to_str().unwrap());
        assert_eq!(
            evident_compat_rtgs_pg_config(p.as_ptr(), &mut out),
            evident_status::Ok
        );
        let v: serde_json::Value = serde_json::from_str(&take(out)).unwrap();
        if std::env::vars().all(|(k, _)| !k.starts_with("POSTGRES_")) {
            assert_eq!(v["database"], "postgres://dbhost:5432/audit");
            assert_eq!(v["url"], "postgres://dbhost:5432/audit?connect_timeout=5");
        }
        let missing = c(d.path().join("none").to_str().unwrap());
        assert_eq!(
            evident_compat_rtgs_pg_config(missing.as_ptr(), &mut out),
            evident_status::Ok
        );
        let v = take(out);
        if std::env::var_os("POSTGRES_HOST").is_none() {
            assert_eq!(v, "null");
        }
        assert_eq!(
            evident_compat_rtgs_pg_config(p.as_ptr(), std::ptr::null_mut()),
            evident_status::NullArgument
        );

        // recent text
        let recs = c(
            r#"[{"timestamp":"2023-06-15T14:30:22Z","success":false,"tool_name":"t","operation":"o","duration_seconds":2,"status":"failed","note":"","error_message":"boom"}]"#,
        );
        assert_eq!(
            evident_compat_rtgs_recent_text(recs.as_ptr(), &mut out),
            evident_status::Ok
        );
        assert_eq!(take(out), "2023-06-15 14:30:22 ❌ t o (2.0s) failed - boom");
        let empty = c("[]");
        assert_eq!(
            evident_compat_rtgs_recent_text(empty.as_ptr(), &mut out),
            evident_status::Ok
        );
        assert_eq!(take(out), "No recent logs found.");
        let bad = c(r#"[{"timestamp":"yesterday"}]"#);
        assert_eq!(
            evident_compat_rtgs_recent_text(bad.as_ptr(), &mut out),
            evident_status::InvalidArgument
        );
        assert!(out.is_null());

        // status
        for (s, want) in [("Completed", "true"), ("failed", "false")] {
            let s = c(s);
            assert_eq!(
                evident_compat_secureml_status_success(s.as_ptr(), &mut out),
                evident_status::Ok
            );
            assert_eq!(take(out), want);
        }
        assert_eq!(
            evident_compat_secureml_status_success(std::ptr::null(), &mut out),
            evident_status::NullArgument
        );

        // select
        std::fs::write(d.path().join("op.jsonl"), "").unwrap();
        let dir = c(d.path().to_str().unwrap());
        let op = c("op");
        let end = c("2023-06-15T12:00:00+00:00");
        assert_eq!(
            evident_compat_secureml_select(
                dir.as_ptr(),
                op.as_ptr(),
                std::ptr::null(),
                end.as_ptr(),
                &mut out
            ),
            evident_status::Ok
        );
        let v: serde_json::Value = serde_json::from_str(&take(out)).unwrap();
        assert_eq!(
            v["files"],
            serde_json::json!([d.path().join("op.jsonl").to_str().unwrap()])
        );
        assert_eq!(v["since"], serde_json::Value::Null);
        assert_eq!(v["until"], "2023-06-15T12:00:00.000001Z");
        let junk = c("noon");
        assert_eq!(
            evident_compat_secureml_select(
                dir.as_ptr(),
                std::ptr::null(),
                junk.as_ptr(),
                std::ptr::null(),
                &mut out
            ),
            evident_status::InvalidArgument
        );
        assert_eq!(
            evident_compat_secureml_select(
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                &mut out
            ),
            evident_status::NullArgument
        );
    }
    #[test]
    fn rtgs_recent_through_the_c_abi() {
        let c = |s: &str| CString::new(s).unwrap();
        let mut out: *mut c_char = std::ptr::null_mut();
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("audit.jsonl");
        let log = crate::Log::open(&path, crate::OpenOptions::new()).unwrap();
        for (op, ts) in [
            ("new", "2023-06-15T12:00:00Z"),
            ("old", "2023-06-15T09:00:00Z"),
        ] {
            let mut ev = crate::Event::new(crate::compat::RTGS_EVENT_TYPE, op).source("t");
            ev.ts = crate::format::parse_ts(&ts.replace('Z', ".000000Z"));
            log.append(&ev).unwrap();
        }
        drop(log);
        let p = c(path.to_str().unwrap());
        let ops = |v: &str| -> Vec<String> {
            let v: Vec<serde_json::Value> = serde_json::from_str(v).unwrap();
            v.iter()
                .map(|r| r["operation"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            evident_compat_rtgs_recent(p.as_ptr(), std::ptr::null(), std::ptr::null(), 1, &mut out),
            evident_status::Ok
        );
        assert_eq!(ops(&take(out)), ["new"]);
        assert_eq!(
            evident_compat_rtgs_recent(
                p.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                -1,
                &mut out
            ),
            evident_status::Ok
        );
        assert_eq!(ops(&take(out)), ["new", "old"]);
        let since = c("2023-06-15T11:00:00+01:00");
        let tool = c("t");
        assert_eq!(
            evident_compat_rtgs_recent(p.as_ptr(), tool.as_ptr(), since.as_ptr(), -1, &mut out),
            evident_status::Ok
        );
        assert_eq!(ops(&take(out)), ["new"]);
        let other = c("other");
        assert_eq!(
            evident_compat_rtgs_recent(p.as_ptr(), other.as_ptr(), std::ptr::null(), -1, &mut out),
            evident_status::Ok
        );
        assert_eq!(take(out), "[]");
        let junk = c("noon");
        assert_eq!(
            evident_compat_rtgs_recent(p.as_ptr(), std::ptr::null(), junk.as_ptr(), -1, &mut out),
            evident_status::InvalidArgument
        );
        assert!(out.is_null());
        assert_eq!(
            evident_compat_rtgs_recent(
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                1,
                &mut out
            ),
            evident_status::NullArgument
        );
        let missing = c(d.path().join("none.jsonl").to_str().unwrap());
        assert_ne!(
            evident_compat_rtgs_recent(
                missing.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                1,
                &mut out
            ),
            evident_status::Ok
        );
    }
    #[test]
    fn rtgs_status_through_the_c_abi() {
        let mut out: *mut c_char = std::ptr::null_mut();
        assert_eq!(
            evident_compat_rtgs_status(std::ptr::null_mut()),
            evident_status::NullArgument
        );
        // The process environment is shared by every test: only check what
        // holds for any environment with a place.
        if compat::rtgs_dir(|k| std::env::var(k).ok()).is_ok() {
            assert_eq!(evident_compat_rtgs_status(&mut out), evident_status::Ok);
            let v: serde_json::Value = serde_json::from_str(&take(out)).unwrap();
            let dir = v["dir"].as_str().unwrap();
            assert_eq!(v["log_path"], format!("{dir}/audit.jsonl"));
            assert_eq!(v["status_file"], format!("{dir}/logging.json"));
            assert_eq!(v["status"]["log_path"], v["log_path"]);
            assert!(v["status"]["enabled"].is_boolean());
        }
    }
}
