//! Shared helpers: the error type with its exit code, key loading, argument
//! parsers, the genesis of a log, and entry formatting.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use chrono::{DateTime, Utc};
use evident::format;
use evident::{Entry, Error, ExpectedHead, Hash, Key};
use serde_json::Value;

/// Exit code: the log failed a check.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage error, I/O error, wrong key, locked.
pub const EXIT_ERROR: u8 = 2;

/// Why a command failed: the exit code and one line for stderr (without
/// the `evident: ` prefix; empty when already reported).
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub msg: String,
}

impl Failure {
    /// A usage or I/O error (exit 2) about `path`.
    pub fn at(path: &Path, msg: impl std::fmt::Display) -> Failure {
        Failure {
            code: EXIT_ERROR,
            msg: format!("{}: {msg}", path.display()),
        }
    }

    /// A usage error not about a file (exit 2).
    pub fn usage(msg: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_ERROR,
            msg: msg.into(),
        }
    }

    /// The log failed a check (exit 1).
    pub fn failed(path: &Path, msg: impl std::fmt::Display) -> Failure {
        Failure {
            code: EXIT_FAILED,
            msg: format!("{}: {msg}", path.display()),
        }
    }

    /// An exit code whose reason was already printed.
    pub fn quiet(code: u8) -> Failure {
        Failure {
            code,
            msg: String::new(),
        }
    }

    /// A library error about `path`. Damage found in the log's content
    /// (malformed or corrupt records) exits 1; everything else 2.
    pub fn lib(path: &Path, e: Error) -> Failure {
        let code = match e {
            Error::Malformed { .. } | Error::Corrupt { .. } => EXIT_FAILED,
            _ => EXIT_ERROR,
        };
        let msg = lib_msg(path, &e);
        crate::output::remember(path, &e, &msg);
        Failure { code, msg }
    }
}

/// One line for a library error, naming the file exactly once.
pub fn lib_msg(path: &Path, e: &Error) -> String {
    let p = path.display().to_string();
    match e {
        Error::InvalidArgument(m) if m.starts_with(&format!("{p}: ")) => m.clone(),
        Error::InvalidArgument(m) => format!("{p}: {m}"),
        _ => {
            let s = e.to_string();
            if s.starts_with(&p) {
                s
            } else {
                format!("{p}: {s}")
            }
        }
    }
}

/// A message as one line: line breaks and other control characters (from a
/// file name or a value on the command line) are escaped, so an error is
/// always exactly one line and never drives the terminal.
pub fn one_line(msg: &str) -> String {
    let mut s = String::with_capacity(msg.len());
    for c in msg.trim_end_matches('\n').chars() {
        match c {
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            // Also what reorders the line (bidi) or shows nothing.
            c if c.is_control() || evident::report::is_hidden(c) => {
                let _ = write!(s, "\\u{{{:x}}}", c as u32);
            }
            c => s.push(c),
        }
    }
    s
}

/// A file's name as a line shows it: escaped as in [`one_line`], so a
/// name cannot move the cursor, end the line or hide itself (a log named
/// `x\e[1A\e[2K\rprod.jsonl: valid…` would rewrite the line above).
pub fn shown(path: &std::path::Path) -> String {
    one_line(&path.display().to_string())
}

/// A failed write to standard output. A closed pipe (`evident cat | head`)
/// ends the command quietly.
pub fn stdout_err(e: io::Error) -> Failure {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Failure::quiet(0)
    } else {
        Failure::usage(format!("standard output: write error: {e}"))
    }
}

/// Loads the key named by `--key-file` (a regular file of at most 4 KiB;
/// the hex/raw rule is [`Key::FILE_RULE`]).
pub fn load_key(file: Option<&Path>) -> Result<Option<Key>, Failure> {
    let Some(f) = file else { return Ok(None) };
    Key::from_file(f).map(Some).map_err(|e| match e {
        // The library's message names the file first: `evident: FILE: problem`.
        Error::InvalidArgument(m) => {
            let named = format!("{}: ", f.display());
            let m = m.strip_prefix(named.as_str()).unwrap_or(&m);
            Failure::at(f, format!("not a usable key file: {m}"))
        }
        Error::Io { source, op, .. } => Failure::at(f, format!("{op}: {source}")),
        other => Failure::at(f, format!("not a usable key file: {other}")),
    })
}

/// clap parser: a JSON value.
pub fn parse_json(s: &str) -> Result<Value, String> {
    serde_json::from_str(s).map_err(|e| format!("not valid JSON: {e}"))
}

/// clap parser: an RFC 3339 time, converted to UTC, or a date
/// (`YYYY-MM-DD`, meaning its midnight UTC).
pub fn parse_ts(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!("not an RFC 3339 time (like 2026-01-02T03:04:05Z) or a date (2026-01-02): {e}")
        })
}

/// "1 entry", "2 entries".
pub fn entries(n: u64) -> String {
    if n == 1 {
        "1 entry".into()
    } else {
        format!("{n} entries")
    }
}

/// clap parser: `SEQ:HASH` as printed by `evident head`.
pub fn parse_head(s: &str) -> Result<ExpectedHead, String> {
    let (seq, hash) = s
        .split_once(':')
        .ok_or_else(|| "expected SEQ:HASH (as printed by `evident head`)".to_string())?;
    let seq = seq
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("{seq:?} is not an entry number"))?;
    let hash = Hash::from_hex(&hash.trim().to_ascii_lowercase())
        .ok_or_else(|| "the hash must be 64 or 128 hex digits".to_string())?;
    Ok(ExpectedHead { seq, hash })
}

/// `SEQ:HASH`, the form `--expect-head` accepts.
pub fn head_str(seq: u64, hash: impl std::fmt::Display) -> String {
    format!("{seq}:{hash}")
}

/// A note on stderr (an object `{"note": {"message", "path"}}` under
/// --json, where stderr holds one JSON object per line).
pub fn note(path: &Path, msg: &str) {
    if crate::output::json_errors() {
        let v = serde_json::json!({"note": {"message": msg, "path": path.display().to_string()}});
        stderr_line!("{v}");
    } else {
        stderr_line!("evident: {}: note: {}", shown(path), one_line(msg));
    }
}

/// "not an evident log" for a file that does not start with a readable
/// genesis record (spec § 9.2): exit 2, one line naming the file, the
/// position and the reason.
pub fn not_a_log(path: &Path, at: &evident::Position, msg: &str) -> Failure {
    if msg.contains("not an evident log") {
        return Failure::at(path, msg);
    }
    let at = evident::Position { seq: None, ..*at };
    Failure::at(path, format!("not an evident log ({at}: {msg})"))
}

/// Refuses, before a command runs, a file that exists but is not an evident
/// log (exit 2, "not an evident log"), instead of reporting it as a damaged
/// log. Files that cannot be read are left to the command, which reports
/// the I/O error.
pub fn refuse_non_log(path: &Path) -> Result<(), Failure> {
    // Regular files and character devices (`/dev/null`); never a FIFO,
    // whose bytes reading would consume.
    #[cfg(unix)]
    let char_device = |ft: std::fs::FileType| {
        use std::os::unix::fs::FileTypeExt;
        ft.is_char_device()
    };
    #[cfg(not(unix))]
    let char_device = |_: std::fs::FileType| false;
    let readable = std::fs::metadata(path).is_ok_and(|m| m.is_file() || char_device(m.file_type()));
    if !readable {
        return Ok(());
    }
    match evident::inspect(path) {
        Err(Error::Malformed { at, msg, .. }) => Err(not_a_log(path, &at, &msg)),
        _ => Ok(()),
    }
}

/// Reads the log's header and genesis record (no lock, no scan). The hash
/// is not checked here (that needs the key and is verify's job).
pub fn read_genesis(path: &Path) -> Result<evident::LogInfo, Failure> {
    evident::inspect(path).map_err(|e| Failure::lib(path, e))
}

/// An `evident::Error::Io` for `path` (the constructor is crate-private).
pub fn io_err(path: &Path, op: &'static str, source: io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

/// A value as printed in a human-readable line: bare when it is a plain
/// word, JSON-quoted otherwise (so control characters never reach the
/// terminal and every line splits unambiguously). Like `git log` and
/// `journalctl`, nothing a terminal acts on is printed raw: C0, DEL, C1
/// (a lone U+009B is a CSI to some terminals) and the bidi controls
/// (which reorder what the line shows) are `\uXXXX` escapes; so are the
/// characters that show nothing (the library's one definition of both:
/// [`evident::report::is_hidden`], which the reports use too).
pub fn word(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars().all(|c| {
            !c.is_whitespace()
                && !evident::report::is_hidden(c)
                && c != '"'
                && c != '='
                && c != '\\'
        });
    if plain {
        v.to_string()
    } else {
        terminal_json(&serde_json::to_string(v).unwrap_or_default())
    }
}

/// JSON text (`serde_json` output) with the characters serde_json leaves
/// raw but a terminal acts on (DEL, C1, bidi controls) or that show
/// nothing ([`evident::report::is_hidden`]) as `\uXXXX` escapes: still the
/// same JSON value (they only occur inside its strings).
pub fn terminal_json(j: &str) -> String {
    let mut out = String::with_capacity(j.len());
    for c in j.chars() {
        if evident::report::is_hidden(c) {
            // JSON escapes UTF-16 units: a pair beyond the BMP.
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{:04x}", u);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One entry as one human-readable line.
pub fn human_entry(e: &Entry) -> String {
    let mut s = format!(
        "{:>5}  {}  {}  {}",
        e.seq,
        format::format_ts(&e.ts),
        word(&e.event_type),
        word(&e.action)
    );
    let mut kv = |k: &str, v: &str| {
        let _ = write!(s, "  {k}={}", word(v));
    };
    kv("actor", &e.actor);
    kv("host", &e.host);
    if !e.session_id.is_empty() {
        kv("session", &e.session_id);
    }
    if !e.source.is_empty() {
        kv("source", &e.source);
    }
    if let Some(err) = &e.error {
        kv("error", err);
    }
    if let Some(n) = &e.note {
        kv("note", n);
    }
    if let Some(g) = &e.git_commit {
        kv("git", g);
    }
    match e.success {
        Some(true) => s.push_str("  ok"),
        Some(false) => s.push_str("  FAILED"),
        None => {}
    }
    if let Some(d) = e.duration_ms {
        let _ = write!(s, "  {d}ms");
    }
    if e.otr {
        s.push_str("  otr");
    }
    if !matches!(&e.details, Value::Object(m) if m.is_empty()) {
        let _ = write!(
            s,
            "  details={}",
            terminal_json(&serde_json::to_string(&e.details).unwrap_or_default())
        );
    }
    s
}

/// A duration as `1d 2h 3m 4.5s`.
pub fn span(d: chrono::TimeDelta) -> String {
    let micros = d.num_microseconds().unwrap_or(i64::MAX).max(0);
    let secs = micros / 1_000_000;
    let (days, hours, mins) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    let s = (micros % 60_000_000) as f64 / 1e6;
    let mut out = String::new();
    if days > 0 {
        let _ = write!(out, "{days}d ");
    }
    if days > 0 || hours > 0 {
        let _ = write!(out, "{hours}h ");
    }
    if days > 0 || hours > 0 || mins > 0 {
        let _ = write!(out, "{mins}m ");
    }
    let _ = write!(out, "{}s", (s * 1000.0).round() / 1000.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        assert_eq!(one_line("a\nb: x\r\u{1b}[2J\n"), "a\\nb: x\\r\\u{1b}[2J");
        assert_eq!(one_line("plain: text"), "plain: text");
    }

    #[test]
    fn words_are_quoted_when_needed() {
        assert_eq!(word("load_trace"), "load_trace");
        assert_eq!(word(""), "\"\"");
        assert_eq!(word("a b"), "\"a b\"");
        assert_eq!(word("x\u{1b}[2J"), "\"x\\u001b[2J\"");
    }

    #[test]
    fn head_parser() {
        let h = parse_head(&format!("12:{}", "ab".repeat(32))).unwrap();
        assert_eq!(h.seq, 12);
        assert!(parse_head("12").is_err());
        assert!(parse_head("x:ab").is_err());
        assert!(parse_head("1:abc").is_err());
    }

    #[test]
    fn spans() {
        assert_eq!(span(chrono::TimeDelta::milliseconds(1500)), "1.5s");
        assert_eq!(span(chrono::TimeDelta::seconds(3725)), "1h 2m 5s");
        assert_eq!(span(chrono::TimeDelta::seconds(90_000)), "1d 1h 0m 0s");
    }
}
