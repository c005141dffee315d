//! The rules of the compatibility layers (`bindings/python/src/evident/compat/`)
//! that are more than a renaming: how an evident entry reads as an RTGS Lab
//! Tools operation record, what an RTGS date range covers, and where
//! SecureML's per-operation log lives. One implementation for every
//! binding (C: `evident_compat_*` in `src/ffi/compat_more.rs`).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::format::{format_ts, Entry};

/// An RTGS operation record of `e` (seed 002's documented keys):
/// `timestamp` (RFC 3339 text, UTC), `operation_id` (the details' one,
/// else the entry's seq), `tool_name` (source), `operation` (action),
/// `user` (actor), `git_branch`, `git_commit`, `parameters`, `results`,
/// `duration_seconds`, `success` (recorded, else "no error recorded"),
/// `error_message`, `note` (`""` when none: pandas turns `None` into a
/// truthy NaN next to real notes, and RTGS code tests `if log['note']:`),
/// `status` (`"success"`/`"failed"`), and `hostname`, `seq`, `hash`.
pub fn rtgs_record(e: &Entry) -> Value {
    let d = e.details.as_object();
    let get = |k: &str| d.and_then(|d| d.get(k));
    let success = e.success.unwrap_or(e.error.is_none());
    let operation_id = match get("operation_id") {
        None | Some(Value::Null | Value::Bool(false)) => json!(e.seq.to_string()),
        Some(Value::String(s)) if s.is_empty() => json!(e.seq.to_string()),
        Some(v) => v.clone(),
    };
    let obj_or_empty = |k: &str| match get(k) {
        Some(v @ Value::Object(_)) => v.clone(),
        Some(Value::Null) | None => json!({}),
        Some(v) => v.clone(),
    };
    json!({
        "timestamp": format_ts(&e.ts),
        "operation_id": operation_id,
        "tool_name": e.source,
        "operation": e.action,
        "user": e.actor,
        "git_branch": get("git_branch").cloned().unwrap_or(Value::Null),
        "git_commit": e.git_commit,
        "parameters": obj_or_empty("parameters"),
        "results": obj_or_empty("results"),
        "duration_seconds": e.duration_ms.unwrap_or(0.0) / 1000.0,
        "success": success,
        "error_message": e.error,
        "note": e.note.clone().unwrap_or_default(),
        "status": if success { "success" } else { "failed" },
        "hostname": e.host,
        "seq": e.seq,
        "hash": e.hash,
    })
}

/// One bound of an RTGS date range: `YYYY-MM-DD` (a UTC day; one-digit
/// months and days too) or an RFC
/// 3339 time with its offset. Returns the instant and whether a day was
/// given.
fn rtgs_bound(v: &str, name: &str) -> Result<(DateTime<Utc>, bool)> {
    let s = v.trim();
    let bad = || {
        Error::InvalidArgument(format!(
            "{name} must be a date in YYYY-MM-DD format, got {v:?}"
        ))
    };
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let t = d.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc();
        return Ok((t, true));
    }
    let t = DateTime::parse_from_rfc3339(&s.replace(' ', "T")).map_err(|_| bad())?;
    Ok((t.with_timezone(&Utc), false))
}

/// A half-open time range `[since, until)`; `None`: unbounded.
pub type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// RTGS's `[since, until)` for `start_date` and `end_date`: a start day
/// begins at its UTC midnight; an end given as a day includes that whole
/// day, an end given as a time includes that instant.
pub fn rtgs_range(start: Option<&str>, end: Option<&str>) -> Result<Range> {
    let since = start
        .map(|s| rtgs_bound(s, "start_date").map(|b| b.0))
        .transpose()?;
    let until = end
        .map(|s| {
            rtgs_bound(s, "end_date").map(|(t, day)| {
                t + if day {
                    Duration::days(1)
                } else {
                    Duration::microseconds(1)
                }
            })
        })
        .transpose()?;
    Ok((since, until))
}

/// The file name of SecureML operation `operation_name`'s log in its
/// `log_dir`: every character but ASCII letters, digits, `.`, `_` and `-`
/// replaced by `_`, leading dots dropped, at most 120 characters (then
/// `operation` when nothing is left), and `.jsonl`.
pub fn secureml_file_name(operation_name: &str) -> String {
    let safe: String = operation_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    let safe: String = if safe.is_empty() {
        "operation".into()
    } else {
        safe.chars().take(120).collect()
    };
    format!("{safe}.jsonl")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(details: Value, success: Option<bool>, error: Option<&str>) -> Entry {
        Entry {
            seq: 7,
            ts: Utc.with_ymd_and_hms(2023, 6, 15, 14, 30, 22).unwrap(),
            event_type: "tool_operation".into(),
            action: "extract".into(),
            actor: "alice".into(),
            host: "lab".into(),
            session_id: String::new(),
            source: "sensing-data".into(),
            otr: false,
            success,
            duration_ms: Some(45_700.0),
            error: error.map(str::to_string),
            note: None,
            git_commit: Some("abc123".into()),
            details,
            prev: String::new(),
            hash: "h".into(),
        }
    }

    #[test]
    fn rtgs_records_have_the_documented_keys_and_rules() {
        let r = rtgs_record(&entry(
            json!({"operation_id": "u-1", "git_branch": "main", "parameters": {"p": 1}}),
            Some(true),
            None,
        ));
        assert_eq!(r["timestamp"], "2023-06-15T14:30:22.000000Z");
        assert_eq!(r["operation_id"], "u-1");
        assert_eq!(r["tool_name"], "sensing-data");
        assert_eq!(r["operation"], "extract");
        assert_eq!(r["git_branch"], "main");
        assert_eq!(r["parameters"], json!({"p": 1}));
        assert_eq!(r["results"], json!({}));
        assert_eq!(r["duration_seconds"], 45.7);
        assert_eq!(r["note"], "");
        assert_eq!(
            (r["success"].clone(), r["status"].clone()),
            (json!(true), json!("success"))
        );
        // No success recorded: an error means failure; no operation id:
        // the seq.
        let r = rtgs_record(&entry(json!(null), None, Some("boom")));
        assert_eq!(
            (r["success"].clone(), r["status"].clone()),
            (json!(false), json!("failed"))
        );
        assert_eq!(r["operation_id"], "7");
        assert_eq!(r["git_branch"], Value::Null);
        assert_eq!(r["error_message"], "boom");
        let r = rtgs_record(&entry(json!({}), None, None));
        assert_eq!(r["success"], true);
    }

    #[test]
    fn rtgs_ranges() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let (s, u) = rtgs_range(Some("2023-06-01"), Some("2023-06-30")).unwrap();
        assert_eq!(s, Some(t("2023-06-01T00:00:00Z")));
        assert_eq!(u, Some(t("2023-07-01T00:00:00Z")));
        let (s, u) = rtgs_range(None, Some("2023-06-30T12:00:00+02:00")).unwrap();
        assert_eq!(s, None);
        assert_eq!(u, Some(t("2023-06-30T10:00:00.000001Z")));
        let e = rtgs_range(Some("June 1st"), None).unwrap_err().to_string();
        assert!(
            e.contains("start_date must be a date in YYYY-MM-DD format"),
            "{e}"
        );
        assert!(rtgs_range(None, Some("2023-13-01")).is_err());
        assert_eq!(
            rtgs_range(Some("2023-6-1"), None).unwrap().0,
            Some(t("2023-06-01T00:00:00Z"))
        );
    }

    #[test]
    fn secureml_file_names() {
        assert_eq!(secureml_file_name("train model/v2"), "train_model_v2.jsonl");
        assert_eq!(secureml_file_name("..hidden"), "hidden.jsonl");
        assert_eq!(secureml_file_name("..."), "operation.jsonl");
        assert_eq!(secureml_file_name("é"), "_.jsonl");
        assert_eq!(secureml_file_name(&"x".repeat(300)).len(), 126);
    }
}
