//! The typed columns of a stored record: what `ship` writes next to the
//! hashed body, and what `verify` checks against it.
//!
//! The columns are what queries, filters, statistics and the RTGS
//! `audit_logs` view show, but only `body` and `hash` are covered by the
//! chain. A row whose columns were changed in the database (the body left
//! alone) would show a forged `success`, `source` or `details` under a
//! valid chain; verify therefore derives each row's columns from its body
//! again, as `ship` did, and compares them with the row's.

use std::borrow::Cow;

use serde_json::value::RawValue;

use crate::format::{self, RecordKind};

/// The fields of a record that have typed columns, borrowed from its JSON
/// (`details` as its exact text: no value is built).
#[derive(serde::Deserialize)]
struct Typed<'a> {
    #[serde(borrow, default)]
    ts: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    action: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    actor: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    host: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    session_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source: Option<Cow<'a, str>>,
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    duration_ms: Option<f64>,
    #[serde(borrow, default)]
    details: Option<&'a RawValue>,
}

/// Text for a `text` column: PostgreSQL refuses NUL characters (the exact
/// text stays in `body`).
fn no_nul(s: Option<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    s.map(|s| {
        if s.contains('\0') {
            Cow::Owned(s.replace('\0', "\u{FFFD}"))
        } else {
            s
        }
    })
}

/// One row's typed columns, in table order.
pub(super) struct Columns<'a> {
    pub kind: &'a str,
    pub ts: Option<chrono::DateTime<chrono::Utc>>,
    pub event_type: Option<Cow<'a, str>>,
    pub action: Option<Cow<'a, str>>,
    pub actor: Option<Cow<'a, str>>,
    pub host: Option<Cow<'a, str>>,
    pub session_id: Option<Cow<'a, str>>,
    pub source: Option<Cow<'a, str>>,
    pub success: Option<bool>,
    pub duration_ms: Option<f64>,
    pub details: Option<&'a RawValue>,
}

/// The columns `ship` writes for a parsed record: from an entry its fields
/// (from a genesis its time only). A record whose fields do not decode
/// keeps NULLs (its bytes are kept in `body`).
pub(super) fn columns<'a>(p: &'a format::Parsed<'a>) -> Columns<'a> {
    let kind = match &p.kind {
        RecordKind::Genesis => "genesis",
        RecordKind::Entry => "entry",
        RecordKind::Other(k) => k.as_str(),
    };
    let mut de = serde_json::Deserializer::from_slice(p.raw.json);
    de.disable_recursion_limit();
    let typed = <Typed<'_> as serde::Deserialize>::deserialize(&mut de).ok();
    let ts = typed
        .as_ref()
        .and_then(|t| t.ts.as_deref())
        .and_then(format::parse_ts)
        .filter(|ts| {
            use chrono::Datelike;
            ts.year() >= 1
        });
    let mut c = Columns {
        kind,
        ts,
        event_type: None,
        action: None,
        actor: None,
        host: None,
        session_id: None,
        source: None,
        success: None,
        duration_ms: None,
        details: None,
    };
    if let Some(t) = typed.filter(|_| p.kind == RecordKind::Entry) {
        c.details = match t.details {
            // jsonb refuses \u0000; the exact text stays in `body`.
            Some(d) if d.get().contains("\\u0000") => None,
            Some(d) => Some(d),
            None => serde_json::from_str::<&RawValue>("null").ok(),
        };
        c.event_type = no_nul(t.event_type);
        c.action = no_nul(t.action);
        c.actor = no_nul(t.actor);
        c.host = no_nul(t.host);
        c.session_id = no_nul(t.session_id);
        c.source = no_nul(t.source);
        c.success = t.success;
        c.duration_ms = t.duration_ms.filter(|d| d.is_finite());
    }
    c
}

/// A `timestamptz` as PostgreSQL stores it: microseconds since
/// 2000-01-01 00:00 UTC (`i64::MAX` / `MIN` for ±infinity). Read raw, so
/// that any stored value compares without a conversion that could fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PgTime(pub i64);

impl<'a> postgres::types::FromSql<'a> for PgTime {
    fn from_sql(
        _: &postgres::types::Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let b: [u8; 8] = raw.try_into().map_err(|_| "timestamptz: not 8 bytes")?;
        Ok(PgTime(i64::from_be_bytes(b)))
    }
    fn accepts(ty: &postgres::types::Type) -> bool {
        *ty == postgres::types::Type::TIMESTAMPTZ
    }
}

/// The stored form of a time, as `ship` sends it (the postgres crate's
/// conversion: whole microseconds since 2000, rounded down).
fn pg_time(ts: &chrono::DateTime<chrono::Utc>) -> Option<PgTime> {
    let base = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)?.and_hms_opt(0, 0, 0)?;
    (ts.naive_utc() - base).num_microseconds().map(PgTime)
}

/// A row's typed columns as read back from the database (`details` as
/// jsonb's text).
pub(super) struct StoredColumns {
    pub kind: String,
    pub ts: Option<PgTime>,
    pub event_type: Option<String>,
    pub action: Option<String>,
    pub actor: Option<String>,
    pub host: Option<String>,
    pub session_id: Option<String>,
    pub source: Option<String>,
    pub success: Option<bool>,
    pub duration_ms: Option<f64>,
    pub details: Option<String>,
}

/// The columns to select, in [`StoredColumns`] order.
pub(super) const SELECT: &str = "kind, ts, event_type, action, actor, host, session_id, source, success, duration_ms, details::text";

impl StoredColumns {
    /// Reads the columns from `row`, starting at column `at`.
    pub fn get(row: &postgres::Row, at: usize) -> std::result::Result<Self, postgres::Error> {
        Ok(StoredColumns {
            kind: row.try_get(at)?,
            ts: row.try_get(at + 1)?,
            event_type: row.try_get(at + 2)?,
            action: row.try_get(at + 3)?,
            actor: row.try_get(at + 4)?,
            host: row.try_get(at + 5)?,
            session_id: row.try_get(at + 6)?,
            source: row.try_get(at + 7)?,
            success: row.try_get(at + 8)?,
            duration_ms: row.try_get(at + 9)?,
            details: row.try_get(at + 10)?,
        })
    }
}

/// How a value is shown in a finding (quoted, cut at 60 characters).
fn shown<T: std::fmt::Debug>(v: &Option<T>) -> String {
    match v {
        None => "NULL".to_string(),
        Some(v) => {
            let s = format!("{v:?}");
            match s.char_indices().nth(60) {
                Some((i, _)) => format!("{}…", s.get(..i).unwrap_or_default()),
                None => s,
            }
        }
    }
}

/// Where the row's columns disagree with what its body says: one line
/// naming each differing column, or `None` when they all agree.
pub(super) fn disagreement(want: &Columns<'_>, got: &StoredColumns) -> Option<String> {
    let mut diffs: Vec<String> = Vec::new();
    let mut text = |name: &str, want: &Option<Cow<'_, str>>, got: &Option<String>| {
        if want.as_deref() != got.as_deref() {
            diffs.push(format!(
                "column `{name}` is {}, the body says {}",
                shown(got),
                shown(want)
            ));
        }
    };
    text(
        "kind",
        &Some(Cow::Borrowed(want.kind)),
        &Some(got.kind.clone()),
    );
    text("event_type", &want.event_type, &got.event_type);
    text("action", &want.action, &got.action);
    text("actor", &want.actor, &got.actor);
    text("host", &want.host, &got.host);
    text("session_id", &want.session_id, &got.session_id);
    text("source", &want.source, &got.source);
    let want_ts = want.ts.as_ref().and_then(pg_time);
    // A time beyond what PostgreSQL stores was not sent (ship fails on it).
    if want_ts != got.ts && !(want.ts.is_some() && want_ts.is_none()) {
        diffs.push(format!(
            "column `ts` is {}, the body says {}",
            got.ts.map_or("NULL".to_string(), |t| shown_time(t.0)),
            want.ts.map_or("NULL".to_string(), |t| t.to_rfc3339())
        ));
    }
    if want.success != got.success {
        diffs.push(format!(
            "column `success` is {}, the body says {}",
            shown(&got.success),
            shown(&want.success)
        ));
    }
    if want.duration_ms.map(f64::to_bits) != got.duration_ms.map(f64::to_bits) {
        diffs.push(format!(
            "column `duration_ms` is {}, the body says {}",
            shown(&got.duration_ms),
            shown(&want.duration_ms)
        ));
    }
    let details_agree = match (want.details, got.details.as_deref()) {
        (None, None) => true,
        (Some(w), Some(g)) => same_json(w.get(), g),
        _ => false,
    };
    if !details_agree {
        diffs.push(format!(
            "column `details` is {}, the body says {}",
            shown(&got.details),
            shown(&want.details.map(RawValue::get))
        ));
    }
    if diffs.is_empty() {
        None
    } else {
        Some(format!(
            "database row: its query columns disagree with its hashed body: {} (changed after shipping)",
            diffs.join("; ")
        ))
    }
}

/// A stored time for a message (microseconds since 2000 when it is no
/// date chrono shows).
fn shown_time(us: i64) -> String {
    let at = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|b| b.checked_add_signed(chrono::TimeDelta::microseconds(us)));
    match at {
        Some(t) => t.and_utc().to_rfc3339(),
        None if us == i64::MAX => "infinity".to_string(),
        None if us == i64::MIN => "-infinity".to_string(),
        None => format!("{us} µs after 2000-01-01"),
    }
}

/// Levels of nesting compared value by value; deeper, the texts are
/// compared without their whitespace (each level reads its value's text
/// once, so the bound keeps the comparison linear in the text's length).
const MAX_DEPTH: usize = 64;

/// Whether two JSON texts hold the same value as jsonb sees it: objects
/// by their keys (the last of a repeated key counts, as in jsonb), numbers
/// by their exact decimal value (`1e2` = `100`, `1.50` = `1.5`), strings
/// after their escapes. `want` is the record's own text: when it is no
/// readable JSON, nothing is compared (true).
pub(super) fn same_json(want: &str, got: &str) -> bool {
    let mut stack = vec![(want, got, 0usize)];
    while let Some((w, g, depth)) = stack.pop() {
        let (w, g) = (w.trim_matches(is_ws), g.trim_matches(is_ws));
        // The same text is the same value (most scalars: jsonb writes
        // strings, integers and plain decimals as a serializer does).
        if w == g {
            continue;
        }
        let (Some(&wc), Some(&gc)) = (w.as_bytes().first(), g.as_bytes().first()) else {
            return false;
        };
        match (wc, gc) {
            (b'{' | b'[', _) if depth >= MAX_DEPTH => {
                if without_ws(w) != without_ws(g) {
                    return false;
                }
            }
            (b'{', b'{') => {
                let Some(wm) = object(w) else {
                    continue;
                };
                let Some(gm) = object(g) else {
                    return false;
                };
                if wm.len() != gm.len() {
                    return false;
                }
                for (k, wv) in wm {
                    let Some(gv) = gm.get(&k) else {
                        return false;
                    };
                    stack.push((wv.get(), gv.get(), depth + 1));
                }
            }
            (b'[', b'[') => {
                let Ok(wa) = serde_json::from_str::<Vec<&RawValue>>(w) else {
                    continue;
                };
                let Ok(ga) = serde_json::from_str::<Vec<&RawValue>>(g) else {
                    return false;
                };
                if wa.len() != ga.len() {
                    return false;
                }
                stack.extend(
                    wa.iter()
                        .zip(ga.iter())
                        .map(|(a, b)| (a.get(), b.get(), depth + 1)),
                );
            }
            (b'"', b'"') => {
                let Ok(ws) = serde_json::from_str::<String>(w) else {
                    continue;
                };
                if serde_json::from_str::<String>(g).ok() != Some(ws) {
                    return false;
                }
            }
            _ => match (Decimal::parse(w), Decimal::parse(g)) {
                (Some(a), Some(b)) => {
                    if a != b {
                        return false;
                    }
                }
                (Some(_), None) => return false,
                _ => {
                    if w != g {
                        return false;
                    }
                }
            },
        }
    }
    true
}

/// An object key, borrowed from the text when it holds no escape.
#[derive(serde::Deserialize, PartialEq, Eq, PartialOrd, Ord)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

/// An object's members by key (the last of a repeated key).
fn object(text: &str) -> Option<std::collections::BTreeMap<Key<'_>, &RawValue>> {
    serde_json::from_str(text).ok()
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// A JSON text without the whitespace between its tokens.
fn without_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let (mut in_str, mut escaped) = (false, false);
    for c in s.chars() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if !is_ws(c) {
            if c == '"' {
                in_str = true;
            }
            out.push(c);
        }
    }
    out
}

/// A JSON number's exact value: sign, significant digits (no leading or
/// trailing zeros) and the power of ten of the last one. Zero is
/// (false, "", 0) whatever its spelling.
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    exp: i128,
}

impl Decimal {
    /// The value of a JSON number's text (`None`: not a JSON number).
    fn parse(s: &str) -> Option<Decimal> {
        let (negative, rest) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let (mantissa, exp_text) = match rest.find(['e', 'E']) {
            Some(i) => (rest.get(..i)?, Some(rest.get(i + 1..)?)),
            None => (rest, None),
        };
        let (int, frac) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !all_digits(int) || !all_digits(frac) {
            return None;
        }
        if mantissa.contains('.') && frac.is_empty() {
            return None;
        }
        let mut exp: i128 = 0;
        if let Some(e) = exp_text {
            let (neg, digits) = match e.as_bytes().first() {
                Some(b'-') => (true, e.get(1..)?),
                Some(b'+') => (false, e.get(1..)?),
                _ => (false, e),
            };
            if digits.is_empty() || !all_digits(digits) {
                return None;
            }
            for b in digits.bytes() {
                exp = exp.saturating_mul(10).saturating_add(i128::from(b - b'0'));
            }
            if neg {
                exp = -exp;
            }
        }
        let mut digits: String = int.chars().chain(frac.chars()).collect();
        exp = exp.saturating_sub(frac.len() as i128);
        let keep = digits.trim_end_matches('0').len();
        exp = exp.saturating_add((digits.len() - keep) as i128);
        digits.truncate(keep);
        let digits = digits.trim_start_matches('0').to_string();
        if digits.is_empty() {
            return Some(Decimal {
                negative: false,
                digits,
                exp: 0,
            });
        }
        Some(Decimal {
            negative,
            digits,
            exp,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_exact_value() {
        let d = |s: &str| Decimal::parse(s).unwrap();
        assert_eq!(d("1e2"), d("100"));
        assert_eq!(d("1.50"), d("1.5"));
        assert_eq!(d("-0"), d("0.000"));
        assert_eq!(d("0.0015"), d("1.5E-3"));
        assert_eq!(d("12300"), d("1.23e+4"));
        assert_ne!(d("123456789012345678901234"), d("123456789012345678901235"));
        assert_ne!(d("0.1000000000000000001"), d("0.1000000000000000002"));
        assert_ne!(d("-1"), d("1"));
        assert_ne!(d("10"), d("1"));
        for bad in [
            "", "-", "1.", ".5", "1e", "1e+", "0x10", "1.2.3", "+1", "true",
        ] {
            assert_eq!(Decimal::parse(bad), None, "{bad}");
        }
        // A huge exponent saturates instead of overflowing.
        assert!(Decimal::parse("1e99999999999999999999999999999999999999999").is_some());
    }

    #[test]
    fn json_compares_as_jsonb_sees_it() {
        let body = r#"{"n":1e2,"m":1.50,"z":-0,"s":"caf\u00e9","d":{"b":1,"a":2},"k":1,"k":[1,{"x":null}]}"#;
        let jsonb = r#"{"d": {"a": 2, "b": 1}, "k": [1, {"x": null}], "m": 1.50, "n": 100, "s": "café", "z": 0}"#;
        assert!(same_json(body, jsonb));
        for changed in [
            r#"{"d": {"a": 2, "b": 1}, "k": [1, {"x": null}], "m": 1.50, "n": 101, "s": "café", "z": 0}"#,
            r#"{"d": {"a": 2, "b": 1}, "k": [1, {"x": 0}], "m": 1.50, "n": 100, "s": "café", "z": 0}"#,
            r#"{"d": {"a": 2}, "k": [1, {"x": null}], "m": 1.50, "n": 100, "s": "café", "z": 0}"#,
            r#"{"d": {"a": 2, "b": 1}, "k": [1, {"x": null}], "m": 1.50, "n": 100, "s": "cafe", "z": 0}"#,
            r#"{"d": {"a": 2, "b": 1}, "k": [{"x": null}, 1], "m": 1.50, "n": 100, "s": "café", "z": 0}"#,
            r#"{"d": {"a": 2, "b": 1}, "k": [1, {"x": null}], "m": "1.50", "n": 100, "s": "café", "z": 0}"#,
            "[1]",
            "null",
        ] {
            assert!(!same_json(body, changed), "{changed}");
        }
        // Deep values: compared as text beyond MAX_DEPTH, in linear time.
        let deep = |n: usize, x: &str| format!("{}{x}{}", "[".repeat(n), "]".repeat(n));
        assert!(same_json(&deep(100_000, "1"), &deep(100_000, " 1 ")));
        assert!(!same_json(&deep(100_000, "1"), &deep(100_000, "2")));
        assert!(!same_json(&deep(300, "1"), &deep(299, "1")));
        // Not JSON on the record's side: nothing to compare.
        assert!(same_json("{", "{}"));
    }
}
