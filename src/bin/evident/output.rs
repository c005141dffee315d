//! Output conventions: `--color auto|always|never` (auto honours NO_COLOR,
//! CLICOLOR_FORCE and whether standard output is a terminal, through
//! anstream), and error objects on stderr under `--json`:
//! `{"error": {"kind", "message", "path", "seq"}}`, one per line, with the
//! same exit codes as the plain `evident: <file>: <problem>` lines.

use std::cell::RefCell;
use std::ffi::OsString;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anstyle::{AnsiColor, Style};
use clap::ValueEnum;
use evident::format::format_ts;
use evident::{Entry, Error};
use serde_json::{json, Value};

use crate::util::{one_line, Failure, EXIT_FAILED};

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorArg {
    /// Color when standard output is a terminal and NO_COLOR is not set.
    #[default]
    Auto,
    /// Always color (also when NO_COLOR is set).
    Always,
    /// Never color.
    Never,
}

static COLOR: AtomicBool = AtomicBool::new(false);
static JSON_ERRORS: AtomicBool = AtomicBool::new(false);

/// Decides once whether standard output gets colors.
pub fn init_color(c: ColorArg) {
    let on = match c {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => !matches!(
            anstream::AutoStream::choice(&std::io::stdout()),
            anstream::ColorChoice::Never
        ),
    };
    COLOR.store(on, Ordering::Relaxed);
}

/// Whether standard output gets colors.
pub fn color() -> bool {
    COLOR.load(Ordering::Relaxed)
}

/// `text` in `style` when colors are on.
pub fn paint(style: Style, text: &str) -> String {
    if color() {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

pub fn green() -> Style {
    Style::new().fg_color(Some(AnsiColor::Green.into()))
}

pub fn red() -> Style {
    Style::new().fg_color(Some(AnsiColor::Red.into())).bold()
}

fn dim() -> Style {
    Style::new().dimmed()
}

fn bold() -> Style {
    Style::new().bold()
}

/// One entry as one human-readable line ([`crate::util::human_entry`]),
/// with seq and time dimmed, the event type bold and the outcome in green
/// or red when colors are on. Without colors it is exactly `human_entry`.
pub fn entry_line(e: &Entry) -> String {
    let line = crate::util::human_entry(e);
    if !color() {
        return line;
    }
    // The line is: seq and time, event type, action, fields, the outcome
    // marker, then duration, otr and details. Cut it at known lengths.
    let head = format!("{:>5}  {}", e.seq, format_ts(&e.ts));
    let ty = format!("  {}", crate::util::word(&e.event_type));
    let mut bare = e.clone();
    bare.duration_ms = None;
    bare.otr = false;
    bare.details = Value::Object(serde_json::Map::new());
    let base = crate::util::human_entry(&bare);
    let (marker, style) = match e.success {
        Some(true) => ("  ok", green()),
        Some(false) => ("  FAILED", red()),
        None => ("", Style::new()),
    };
    let (Some(rest), true) = (line.get(head.len() + ty.len()..), line.starts_with(&base)) else {
        return line;
    };
    let fields_end = base.len() - marker.len() - head.len() - ty.len();
    let (fields, tail) = rest.split_at(fields_end.min(rest.len()));
    let tail = tail.strip_prefix(marker).unwrap_or(tail);
    let mut s = paint(dim(), &head);
    s.push_str(&paint(bold(), &ty));
    s.push_str(fields);
    if !marker.is_empty() {
        s.push_str("  ");
        s.push_str(&paint(style, marker.trim_start()));
    }
    s.push_str(tail);
    s
}

/// Whether errors are JSON objects: `--json` given to a subcommand other
/// than `append` (whose `--json` is the entry to append).
pub fn json_errors_from_args(args: &[OsString]) -> bool {
    let words: Vec<&str> = args.iter().skip(1).filter_map(|a| a.to_str()).collect();
    // The first word that is neither an option nor the value of --color.
    let sub = words
        .iter()
        .enumerate()
        .find(|(i, w)| !w.starts_with('-') && (*i == 0 || words[i - 1] != "--color"))
        .map(|(_, w)| w);
    sub.is_some_and(|s| *s != "append") && words.contains(&"--json")
}

pub fn set_json_errors(on: bool) {
    JSON_ERRORS.store(on, Ordering::Relaxed);
}

pub fn json_errors() -> bool {
    JSON_ERRORS.load(Ordering::Relaxed)
}

/// What a library error said: kept by [`remember`] so the error object of
/// the failure it became has its kind, file and seq.
struct Detail {
    msg: String,
    kind: &'static str,
    path: String,
    seq: Option<u64>,
}

thread_local! {
    static LAST: RefCell<Option<Detail>> = const { RefCell::new(None) };
}

fn seq_of(e: &Error) -> Option<u64> {
    match e {
        Error::Malformed { at, .. } | Error::Corrupt { at, .. } => at.seq,
        Error::RolledBack { seq, .. } => Some(*seq),
        _ => None,
    }
}

/// Notes the library error behind the failure message `msg`.
pub fn remember(path: &Path, e: &Error, msg: &str) {
    let d = Detail {
        msg: msg.to_string(),
        kind: e.kind_name(),
        path: path.display().to_string(),
        seq: seq_of(e),
    };
    LAST.with(|l| *l.borrow_mut() = Some(d));
}

// Paths the current command reads, for naming the file of a failure that
// did not come from a library error.
thread_local! {
    static PATHS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

thread_local! {
    static RENAME: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Shows the file `from` as `to` in messages (a temporary copy of stdin).
pub fn set_rename(r: Option<(String, String)>) {
    RENAME.with(|x| *x.borrow_mut() = r);
}

/// `line` with the renamed file's name replaced.
pub fn renamed(line: String) -> String {
    RENAME.with(|x| match &*x.borrow() {
        Some((from, to)) => line.replace(from.as_str(), to),
        None => line,
    })
}

pub fn set_paths(paths: Vec<String>) {
    PATHS.with(|p| *p.borrow_mut() = paths);
}

fn object(kind: &str, message: &str, path: Option<&str>, seq: Option<u64>) -> String {
    json!({"error": {"kind": kind, "message": message, "path": path, "seq": seq}}).to_string()
}

/// The stderr line of a failure (without the newline).
pub fn failure_line(f: &Failure) -> String {
    renamed(failure_line_raw(f))
}

fn failure_line_raw(f: &Failure) -> String {
    if !json_errors() {
        return format!("evident: {}", one_line(&f.msg));
    }
    let known = LAST.with(|l| {
        l.borrow()
            .as_ref()
            .filter(|d| d.msg == f.msg)
            .map(|d| object(d.kind, &f.msg, Some(&d.path), d.seq))
    });
    if let Some(o) = known {
        return o;
    }
    let path = PATHS.with(|p| {
        p.borrow()
            .iter()
            .find(|p| f.msg.starts_with(&format!("{p}: ")))
            .cloned()
    });
    let kind = if f.msg.contains("not an evident log") {
        "not_a_log"
    } else if f.code == EXIT_FAILED {
        "check_failed"
    } else if path.is_none() {
        "usage"
    } else {
        "error"
    };
    object(kind, &f.msg, path.as_deref(), None)
}

/// The stderr line of a damaged record that a reading command skips.
pub fn damage_line(path: &Path, e: &Error) -> String {
    renamed(damage_line_raw(path, e))
}

fn damage_line_raw(path: &Path, e: &Error) -> String {
    let msg = crate::util::lib_msg(path, e);
    if json_errors() {
        object(
            e.kind_name(),
            &msg,
            Some(&path.display().to_string()),
            seq_of(e),
        )
    } else {
        format!("evident: {}", one_line(&msg))
    }
}

/// The stderr line of a usage error (clap's), message without `evident: `.
pub fn usage_line(msg: &str) -> String {
    if json_errors() {
        object("usage", msg, None, None)
    } else {
        format!("evident: {}", one_line(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_follow_the_subcommand() {
        let on = |a: &[&str]| {
            let v: Vec<OsString> = std::iter::once("evident")
                .chain(a.iter().copied())
                .map(OsString::from)
                .collect();
            json_errors_from_args(&v)
        };
        assert!(on(&["cat", "x", "--json"]));
        assert!(on(&["--color", "always", "cat", "x", "--json"]));
        assert!(!on(&["--color", "always", "append", "x", "--json", "{}"]));
        assert!(!on(&["append", "x", "--json", "-"]));
        assert!(!on(&["cat", "x"]));
    }
}
