//! What is made from an operation history: its summary and the Python
//! script replaying it (TraceKit's `OperationHistory.summary()` /
//! `to_script()` / `HistoryEntry.to_code()`), once for every binding.
//!
//! A history read from a file is data, not code: an operation that is not
//! one plain Python name becomes a comment, parameter names that are not
//! Python identifiers are passed as `**{"name": value}`, and every value is
//! written as a Python literal (strings quoted and escaped), so a script
//! made from a hostile file calls nothing but the alias's own functions.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::model::HistoryEntry;
use crate::error::{Error, Result};

/// Which script layout [`script`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptStyle {
    /// evident's: values as Python's `repr()`, times in UTC, `import
    /// module as alias`.
    Evident,
    /// TraceKit's (spec seed 000): string values in double quotes (JSON),
    /// times in local time, `import tracekit` falling back to
    /// `evident.compat.tracekit`.
    TraceKit,
}

impl ScriptStyle {
    /// The style of a C ABI number (0 evident, 1 TraceKit).
    pub fn from_u32(n: u32) -> Option<ScriptStyle> {
        match n {
            0 => Some(ScriptStyle::Evident),
            1 => Some(ScriptStyle::TraceKit),
            _ => None,
        }
    }
}

/// Statistics of a history: `total_operations`, `successful`, `failed`,
/// `total_duration_ms`, `average_duration_ms`, `operations` (count per
/// operation name), `first` / `last` (RFC 3339 timestamps, null when empty).
pub fn summary<'a>(entries: impl IntoIterator<Item = &'a HistoryEntry>) -> Value {
    let mut ops = Map::new();
    let (mut n, mut ok, mut total) = (0u64, 0u64, 0.0f64);
    let (mut first, mut last) = (None, None);
    for e in entries {
        n += 1;
        if e.success {
            ok += 1;
        }
        total += e.duration_ms;
        let c = ops.get(&e.operation).and_then(Value::as_u64).unwrap_or(0);
        ops.insert(e.operation.clone(), json!(c + 1));
        first.get_or_insert(e.timestamp);
        last = Some(e.timestamp);
    }
    let ts = |t: Option<DateTime<Utc>>| t.map(|t| crate::format::format_ts(&t));
    json!({
        "total_operations": n,
        "successful": ok,
        "failed": n - ok,
        "total_duration_ms": total,
        "average_duration_ms": if n > 0 { total / n as f64 } else { 0.0 },
        "operations": ops,
        "first": ts(first),
        "last": ts(last),
    })
}

/// Python's keywords (`keyword.kwlist`).
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// A name written bare as a keyword argument: ASCII letters, digits and
/// `_`, not starting with a digit. Other names go through `**{...}`:
/// Python reads a non-ASCII name NFKC-normalised (`ﬁle` as `file`), and
/// refuses some that `unicode-ident` accepts (`k` + U+200D).
fn is_identifier(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && cs.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// An operation a script may call: one plain ASCII name, not a keyword.
fn is_operation(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphabetic())
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&s)
}

/// Python's `str.split()` separators (`str.isspace()`).
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Text on one comment line: runs of whitespace become one space, and
/// the other control, bidi and invisible characters
/// ([`crate::report::is_hidden`]) are written as Python escapes
/// (`\x00`, `\x1b`, `\u202e`): a NUL byte would stop Python from reading
/// the script, an escape sequence or bidi override would change what a
/// reader of the script sees.
pub(crate) fn comment(text: &str) -> String {
    let words: Vec<&str> = text.split(py_space).filter(|w| !w.is_empty()).collect();
    let mut out = String::with_capacity(text.len());
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&crate::report::escape_invisible(w, |c, out| {
            match c as u32 {
                n @ 0..=0xff => out.push_str(&format!("\\x{n:02x}")),
                n @ 0..=0xffff => out.push_str(&format!("\\u{n:04x}")),
                n => out.push_str(&format!("\\U{n:08x}")),
            }
        }));
    }
    out
}

/// Python's `repr()` of a float.
fn py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Shortest round-trip digits and the decimal exponent.
    let sci = format!("{x:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.unsigned_abs())
    }
}

/// Python's `repr()` of the value `json.loads` makes of a JSON value.
pub(crate) fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => py_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => crate::pytext::repr_str(s),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(py_repr).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", crate::pytext::repr_str(k), py_repr(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// A value as TraceKit's script writes it: a string as JSON (double quotes,
/// non-ASCII escaped, as Python's `json.dumps`), anything else as `repr()`.
fn tk_value(v: &Value) -> String {
    match v {
        Value::String(s) => json_ascii(s),
        other => py_repr(other),
    }
}

/// `json.dumps(s)` (ensure_ascii), read as a Python string literal: a
/// character beyond U+FFFF is written `\UXXXXXXXX`, not as JSON's pair of
/// `\uXXXX` surrogates, which Python would read as two lone surrogates
/// (another value, which cannot even be encoded as UTF-8).
fn json_ascii(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (' '..='~').contains(&c) => out.push(c),
            c if u32::from(c) > 0xFFFF => out.push_str(&format!("\\U{:08x}", u32::from(c))),
            c => out.push_str(&format!("\\u{:04x}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// The entry as one line of Python, `alias.operation(param=value, ...)`,
/// or a comment when the operation is not a plain Python name.
pub(crate) fn to_code(e: &HistoryEntry, alias: &str, style: ScriptStyle) -> String {
    if !is_operation(&e.operation) {
        return format!(
            "# (not a Python name) {}",
            comment(&crate::pytext::repr_str(&e.operation))
        );
    }
    let args: Vec<String> = e
        .parameters
        .iter()
        .map(|(k, v)| match style {
            ScriptStyle::Evident if is_identifier(k) && !KEYWORDS.contains(&k.as_str()) => {
                format!("{k}={}", py_repr(v))
            }
            ScriptStyle::Evident => format!("**{{{}: {}}}", crate::pytext::repr_str(k), py_repr(v)),
            ScriptStyle::TraceKit if is_identifier(k) && !KEYWORDS.contains(&k.as_str()) => {
                format!("{k}={}", tk_value(v))
            }
            ScriptStyle::TraceKit => format!("**{{{}: {}}}", json_ascii(k), tk_value(v)),
        })
        .collect();
    format!("{alias}.{}({})", e.operation, args.join(", "))
}

/// A module path: dotted names (evident), or a name followed by name
/// characters and dots (TraceKit's check).
fn is_module(s: &str, style: ScriptStyle) -> bool {
    match style {
        ScriptStyle::Evident => s.split('.').all(|part| {
            let mut cs = part.chars();
            cs.next()
                .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
                && cs.all(|c| c == '_' || c.is_ascii_alphanumeric())
        }),
        ScriptStyle::TraceKit => {
            let mut cs = s.chars();
            cs.next()
                .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
                && cs.all(|c| c == '_' || c == '.' || c.is_alphanumeric())
        }
    }
}

/// A Python script replaying the history: a header naming when it was
/// `generated`, the import of `module` as `alias`, then per entry a comment
/// with its time and operation and its call (failed operations as a
/// `# FAILED:` comment with the error message).
pub fn script<'a>(
    entries: impl IntoIterator<Item = &'a HistoryEntry>,
    module: &str,
    alias: &str,
    style: ScriptStyle,
    generated: DateTime<Utc>,
) -> Result<String> {
    if !is_module(module, style) || !is_identifier(alias) {
        return Err(Error::InvalidArgument(
            "module and alias must be Python names".into(),
        ));
    }
    let mut lines: Vec<String> = vec!["#!/usr/bin/env python3".into()];
    match style {
        ScriptStyle::Evident => {
            lines.push("\"\"\"Analysis script generated from an evident session history.".into());
            lines.push(String::new());
            lines.push(format!(
                "Generated: {}",
                generated.format("%Y-%m-%dT%H:%M:%SZ")
            ));
            lines.extend(["\"\"\"".into(), String::new()]);
            lines.push(if module != alias {
                format!("import {module} as {alias}")
            } else {
                format!("import {module}")
            });
        }
        ScriptStyle::TraceKit => {
            lines.push("\"\"\"TraceKit analysis script.".into());
            lines.push(String::new());
            let local = crate::sys::local_time(&generated);
            lines.push(format!("Generated: {}", local.format("%Y-%m-%dT%H:%M:%S")));
            lines.extend(["\"\"\"".into(), String::new()]);
            if module == "tracekit" {
                lines.push("try:".into());
                lines.push(format!("    import tracekit as {alias}"));
                lines.push("except ImportError:".into());
                lines.push(format!("    import evident.compat.tracekit as {alias}"));
            } else {
                lines.push(format!("import {module} as {alias}"));
            }
        }
    }
    lines.push(String::new());
    for e in entries {
        let time = match style {
            ScriptStyle::Evident => e.timestamp.format("%H:%M:%S").to_string(),
            ScriptStyle::TraceKit => crate::sys::local_time(&e.timestamp)
                .format("%H:%M:%S")
                .to_string(),
        };
        lines.push(format!("# {time} - {}", comment(&e.operation)));
        let code = to_code(e, alias, style);
        if e.success {
            lines.push(code);
        } else {
            let msg = comment(e.error_message.as_deref().unwrap_or(""));
            let call = comment(code.trim_start_matches(['#', ' ']));
            lines.push(format!("# FAILED: {call}: {msg}"));
        }
        lines.push(String::new());
    }
    Ok(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_reprs() {
        assert_eq!(py_repr(&json!(1e-6)), "1e-06");
        assert_eq!(py_repr(&json!(2.5)), "2.5");
        assert_eq!(py_repr(&json!(3.0)), "3.0");
        assert_eq!(py_repr(&json!(1e16)), "1e+16");
        assert_eq!(py_repr(&json!(123456789012345.0)), "123456789012345.0");
        assert_eq!(py_repr(&json!(-0.0001)), "-0.0001");
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
        assert_eq!(py_repr(&json!("a'\"b\n")), "'a\\'\"b\\n'");
        assert_eq!(
            py_repr(&json!({"a": [1, null, true]})),
            "{'a': [1, None, True]}"
        );
        assert_eq!(py_repr(&json!("é\u{7}")), "'é\\x07'");
        assert_eq!(tk_value(&json!("é")), "\"\\u00e9\"");
        // Python reads "\ud83d\ude00" as two lone surrogates, not the emoji.
        assert_eq!(tk_value(&json!("a\u{1F600}b")), "\"a\\U0001f600b\"");
        assert_eq!(json_ascii("\u{10FFFF}\u{FFFF}"), "\"\\U0010ffff\\uffff\"");
    }

    #[test]
    fn hostile_operations_and_names_stay_data() {
        let mut e = HistoryEntry::new("os.system");
        assert!(to_code(&e, "tk", ScriptStyle::Evident).starts_with("# (not a Python name)"));
        e.operation = "import".into();
        assert!(to_code(&e, "tk", ScriptStyle::Evident).starts_with('#'));
        e.operation = "f\n".into();
        assert!(to_code(&e, "tk", ScriptStyle::Evident).starts_with('#'));
        e.operation = "load".into();
        e.parameters.insert("a b".into(), json!("x"));
        e.parameters.insert("class".into(), json!(1));
        assert_eq!(
            to_code(&e, "tk", ScriptStyle::Evident),
            "tk.load(**{'a b': 'x'}, **{'class': 1})"
        );
        assert!(script([&e], "os; x", "tk", ScriptStyle::Evident, Utc::now()).is_err());
    }

    /// Parameter names Python would read differently, or not at all, as
    /// bare keyword arguments go through `**{...}`: before, `k` + U+200D
    /// was written bare (a SyntaxError), `ﬁle` bare (Python reads `file`:
    /// another call, or "keyword argument repeated" next to `file`), and
    /// in TraceKit's style a keyword (`class=1`: a SyntaxError).
    #[test]
    fn only_plain_names_are_bare_keyword_arguments() {
        let mut e = HistoryEntry::new("op");
        for (k, v) in [
            ("k\u{200d}", 1),
            ("\u{fb01}le", 2),
            ("file", 3),
            ("class", 4),
            ("ok_1", 5),
        ] {
            e.parameters.insert(k.into(), json!(v));
        }
        for style in [ScriptStyle::Evident, ScriptStyle::TraceKit] {
            let s = script([&e], "tracekit", "tk", style, Utc::now()).unwrap();
            let call = s.lines().find(|l| l.starts_with("tk.op(")).unwrap();
            for bare in ["k\u{200d}=", "\u{fb01}le=", "class="] {
                assert!(!call.contains(bare), "{style:?}: {call}");
            }
            for kept in ["file=3", "ok_1=5", "**{"] {
                assert!(call.contains(kept), "{style:?}: {call}");
            }
        }
    }

    #[test]
    fn comments_show_controls_escaped_and_no_line_breaks() {
        let mut e = HistoryEntry::new("op\0\u{1b}[2J\u{202e}x\u{85}y\u{200b}");
        e.success = false;
        e.error_message = Some("bad\0\u{1b}]0;t\u{7}\u{9b}\u{2066}\r\nimport os".into());
        let mut ok = HistoryEntry::new("load");
        ok.parameters.insert("p".into(), json!("\u{202e}\0\u{1b}"));
        for style in [ScriptStyle::Evident, ScriptStyle::TraceKit] {
            let s = script([&e, &ok], "tracekit", "tk", style, Utc::now()).unwrap();
            let raw: Vec<char> = s
                .chars()
                .filter(|c| *c != '\n' && crate::report::is_hidden(*c))
                .collect();
            assert!(raw.is_empty(), "{raw:?} in {s:?}");
            assert!(s.contains("# FAILED: "), "{s}");
            assert!(!s.lines().any(|l| l.starts_with("import os")), "{s}");
        }
    }
}
