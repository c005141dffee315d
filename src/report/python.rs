//! Python reproduction scripts in TraceKit's layout (its
//! `OperationHistory.to_script()`): a shebang, a docstring with the time it
//! was generated, the import, then per operation a `# HH:MM:SS - name`
//! comment and one `alias.operation(name=value, ...)` call.
//!
//! The log is data, never code: an operation that is not one plain Python
//! name becomes a comment, so a script written from a hostile log calls
//! nothing but the module's own public functions; every value is written as
//! a Python literal (strings JSON-escaped, which Python reads the same way).

use chrono::Utc;
use serde_json::Value;

use super::{obj, repro_selected, ReproOptions};
use crate::error::{Error, Result};
use crate::format::Entry;

/// Python's reserved words (not the soft keywords, which are valid names).
const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Deeper values are refused (entries of a log nest at most 128 levels).
const MAX_DEPTH: usize = 256;

fn is_name(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&s)
}

/// A dotted module path of plain names (`pkg.module`).
fn is_module(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_name)
}

/// An operation replayed as a call: a plain name that does not start with
/// `_` (the module's public functions only).
fn is_operation(s: &str) -> bool {
    is_name(s) && !s.starts_with('_')
}

/// A JSON string as a Python string literal (JSON's escapes are Python's).
/// Bidi controls, C1/DEL and characters that show nothing are written as
/// `\uXXXX` too, so a literal cannot reorder or hide what its line shows
/// (trojan source).
fn py_str(s: &str) -> String {
    let j = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    if !j.chars().any(super::is_hidden) {
        return j;
    }
    let mut out = String::with_capacity(j.len() + 8);
    for c in j.chars() {
        if super::is_hidden(c) {
            // Beyond the BMP (the tag characters): Python's 8-digit form.
            if (c as u32) < 0x10000 {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08x}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A JSON value as a Python literal.
fn py_value(v: &Value, depth: usize, out: &mut String) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::InvalidArgument(format!(
            "reproduce: parameters nest more than {MAX_DEPTH} levels deep"
        )));
    }
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&py_str(s)),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_value(x, depth + 1, out)?;
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&py_str(k));
                out.push_str(": ");
                py_value(x, depth + 1, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// The call of one operation: `alias.op(k=v, **{"not a name": v})`, or a
/// comment when the operation is not a plain Python name. The parameters
/// are `details.parameters` (RTGS's layout) when it is an object, else the
/// details object itself (TraceKit's `record_action(action, details)`).
fn call(e: &Entry, alias: &str) -> Result<String> {
    if !is_operation(&e.action) {
        return Ok(format!("# (not a Python name) {}", py_str(&e.action)));
    }
    // RTGS's parameters in the order the operation gave them (as the bash
    // script writes them); TraceKit's details by name.
    let params = match obj(&e.details, "parameters") {
        Some(p) => super::recorded_order(p, &e.details, "parameter_order"),
        None => e.details.as_object().into_iter().flatten().collect(),
    };
    let mut args = Vec::new();
    for (k, v) in params {
        let mut val = String::new();
        py_value(v, 1, &mut val)?;
        if is_name(k) {
            args.push(format!("{k}={val}"));
        } else {
            args.push(format!("**{{{}: {val}}}", py_str(k)));
        }
    }
    Ok(format!("{alias}.{}({})", e.action, args.join(", ")))
}

/// Text for a comment: one line, control and invisible characters escaped
/// (a NUL byte would stop Python from reading the script at all).
fn comment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if super::is_hidden(c) {
            out.push_str(&c.escape_default().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// Text inside the docstring: one line, with `\` and `"` escaped.
fn doc_text(s: &str) -> String {
    comment(&s.replace('\\', "\\\\").replace('"', "\\\""))
}

pub(super) fn render<'a>(
    entries: &'a [Entry],
    opts: &ReproOptions,
) -> Result<(String, Vec<&'a Entry>)> {
    let bash_only = [
        (opts.program.is_some(), "program"),
        (opts.add_timing, "add_timing"),
        (opts.add_error_handling, "add_error_handling"),
    ];
    if let Some((_, name)) = bash_only.iter().find(|(set, _)| *set) {
        return Err(Error::InvalidArgument(format!(
            "reproduce: the option {name} applies to bash scripts only"
        )));
    }
    let module = opts.module.as_deref().unwrap_or("tracekit");
    let alias = opts.alias.as_deref().unwrap_or("tk");
    if !is_module(module) {
        return Err(Error::InvalidArgument(format!(
            "reproduce: module {} is not a Python module name",
            py_str(module)
        )));
    }
    if !is_name(alias) {
        return Err(Error::InvalidArgument(format!(
            "reproduce: alias {} is not a Python name",
            py_str(alias)
        )));
    }
    let ops = repro_selected(entries, opts);
    let first = match &opts.title {
        Some(t) => format!("Reproduction of {}.", doc_text(t)),
        None => "TraceKit analysis script.".to_string(),
    };
    let span = match (ops.first(), ops.last()) {
        (Some(a), Some(b)) => format!("{} to {}", a.ts.format("%Y-%m-%d"), b.ts.format("%Y-%m-%d")),
        _ => "-".into(),
    };
    let mut s = String::new();
    s.push_str("#!/usr/bin/env python3\n\"\"\"");
    s.push_str(&first);
    s.push_str("\n\nGenerated: ");
    s.push_str(&Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string());
    s.push_str(&format!(
        "\nWritten by `evident reproduce` from {} recorded operation(s), {span} (times UTC).\n\"\"\"\n\n",
        ops.len()
    ));
    if module == "tracekit" {
        s.push_str(&format!(
            "try:\n    import tracekit as {alias}\nexcept ImportError:\n    import evident.compat.tracekit as {alias}\n"
        ));
    } else if module == alias {
        s.push_str(&format!("import {module}\n"));
    } else {
        s.push_str(&format!("import {module} as {alias}\n"));
    }
    let mut commit: Option<&str> = None;
    for e in &ops {
        s.push('\n');
        if let Some(c) = e.git_commit.as_deref().filter(|c| !c.is_empty()) {
            if commit != Some(c) {
                commit = Some(c);
                s.push_str(&format!("# Recorded at git commit {}\n", py_str(c)));
            }
        }
        s.push_str(&format!(
            "# {} - {}\n",
            e.ts.format("%H:%M:%S"),
            comment(&e.action)
        ));
        let code = call(e, alias)?;
        if e.success == Some(false) {
            let code = code.trim_start_matches("# ");
            let msg = e.error.as_deref().unwrap_or("no error message recorded");
            s.push_str(&format!("# FAILED: {}: {}\n", comment(code), comment(msg)));
        } else {
            s.push_str(&code);
            s.push('\n');
        }
    }
    Ok((s, ops))
}
