//! `evident verify`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use evident::{VerifyOptions, VerifyReport, Violation, ViolationKind};

use crate::util::{entries, head_str, load_key, not_a_log, stdout_err, Failure, EXIT_FAILED};
use crate::VerifyArgs;

/// Logs at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 64 * 1024 * 1024;

/// What a violation means, in the words an auditor reads first.
pub fn verdict(kind: ViolationKind) -> &'static str {
    match kind {
        ViolationKind::TornTail => "torn tail (incomplete write at the end; run `evident repair`)",
        ViolationKind::WrongKey => "WRONG KEY: the hashes could not be checked",
        ViolationKind::WrongLogId => "WRONG LOG: not the log that was expected",
        ViolationKind::Unsupported => "UNSUPPORTED: this log needs a newer evident",
        _ => "TAMPERED/damaged",
    }
}

/// One line per violation: `<log>: <verdict>: <violation>`.
pub fn violation_line(path: &Path, v: &Violation) -> String {
    // Messages about the genesis repeat the file and the position; they are
    // already on the line.
    let mut v = v.clone();
    let mut msg = v.message.as_str();
    msg = msg
        .strip_prefix(&format!("{}: ", path.display()))
        .or_else(|| msg.strip_prefix(&format!("{}: ", crate::util::shown(path))))
        .unwrap_or(msg);
    let at = evident::Position {
        offset: v.offset,
        line: v.line,
        seq: v.seq,
    };
    msg = msg.strip_prefix(&format!("{at}: ")).unwrap_or(msg);
    v.message = msg.to_string();
    format!("{}: {}: {v}", crate::util::shown(path), verdict(v.kind))
}

/// The failure for a report of a file that is not an evident log (exit 2).
pub fn not_a_log_failure(path: &Path, r: &VerifyReport) -> Failure {
    let (at, msg) = r.first().map_or_else(
        || (evident::Position::default(), String::new()),
        |v| {
            (
                evident::Position {
                    offset: v.offset,
                    line: v.line,
                    seq: None,
                },
                v.message.clone(),
            )
        },
    );
    not_a_log(path, &at, &msg)
}

/// True when the only finding is that a keyed log was checked without a
/// key: a usage error, not a finding about the log.
pub fn missing_key_only(r: &VerifyReport, key_given: bool) -> bool {
    !key_given
        && r.violations_total == 1
        && r.first().is_some_and(|v| v.kind == ViolationKind::WrongKey)
}

/// The message for [`missing_key_only`].
pub fn missing_key_msg(path: &Path, r: &VerifyReport, what: &str) -> Failure {
    Failure::at(
        path,
        format!(
            "log is keyed ({}, key id {}): pass --key-file FILE{what}",
            r.alg.as_deref().unwrap_or("?"),
            r.key_id.as_deref().unwrap_or("?")
        ),
    )
}

fn progress_bar(path: &Path) -> Option<indicatif::ProgressBar> {
    let len = std::fs::metadata(path).ok()?.len();
    if len < PROGRESS_MIN_BYTES || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "verifying {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        pb.set_style(style);
    }
    Some(pb)
}

pub fn verify(a: VerifyArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let key = load_key(a.key.key_file.as_deref())?;
    let key_given = key.is_some();
    let pb = if a.json { None } else { progress_bar(&a.log) };
    let progress = pb.clone().map(|pb| {
        Arc::new(move |done: u64, _total: u64| pb.set_position(done))
            as Arc<dyn Fn(u64, u64) + Send + Sync>
    });
    let mut opts = VerifyOptions::default().key(key);
    opts.expected_head = a.expect_head;
    opts.expected_log_id = a.expect_log_id.clone();
    opts.all = a.all;
    opts.threads = a.threads;
    opts.progress = progress;
    let r = evident::verify(&a.log, &opts);
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let r = r.map_err(|e| Failure::lib(&a.log, e))?;
    if r.not_a_log {
        return Err(not_a_log_failure(&a.log, &r));
    }
    // A keyed log checked without its key: a `wrong_key` finding, and the
    // sequence numbers and links are still checked (spec § 9.2 step 4).
    let code = if r.valid { 0 } else { EXIT_FAILED };
    if a.json {
        let text = serde_json::to_string_pretty(&r.to_json())
            .map_err(|e| Failure::usage(e.to_string()))?;
        // The same JSON value, nothing in it a terminal acts on (line by
        // line: the line breaks are the pretty layout's, outside strings).
        let text: Vec<String> = text.lines().map(crate::util::terminal_json).collect();
        let text = text.join("\n");
        writeln!(out, "{text}").map_err(stdout_err)?;
        return Ok(code);
    }
    print_report(&a.log, &r, a.all, out).map_err(stdout_err)?;
    if !key_given
        && r.violations
            .iter()
            .any(|v| v.kind == ViolationKind::WrongKey)
        && r.key_id.is_some()
    {
        writeln!(
            out,
            "the log is keyed ({}, key id {}): pass --key-file FILE to check its hashes; \
             sequence numbers and links were checked",
            r.alg.as_deref().unwrap_or("?"),
            r.key_id.as_deref().unwrap_or("?")
        )
        .map_err(stdout_err)?;
    }
    Ok(code)
}

/// The human-readable report.
pub fn print_report(
    path: &Path,
    r: &VerifyReport,
    all: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let head = head_str(r.head_seq, r.head_hash.as_deref().unwrap_or("?"));
    let desc = format!(
        "{}, {}{}, log id {}",
        r.framing.map(|f| f.name()).unwrap_or("?"),
        r.alg.as_deref().unwrap_or("?"),
        r.key_id
            .as_deref()
            .map(|k| format!(" key id {k}"))
            .unwrap_or_default(),
        r.log_id.as_deref().unwrap_or("?")
    );
    if r.valid {
        writeln!(
            out,
            "{}: {}: {} verified ({desc})",
            crate::util::shown(path),
            crate::output::paint(crate::output::green(), "valid"),
            entries(r.entries)
        )?;
        if let Some(n) = r.in_flight_tail {
            writeln!(
                out,
                "note: the last {n} bytes are a record being written (in flight), not checked"
            )?;
        }
        return writeln!(out, "head: {head}");
    }
    for v in &r.violations {
        writeln!(
            out,
            "{}",
            crate::output::paint(crate::output::red(), &violation_line(path, v))
        )?;
    }
    let shown = r.violations.len() as u64;
    if r.violations_total > shown {
        if all {
            writeln!(
                out,
                "... {} violations in total; the first {shown} are listed",
                r.violations_total
            )?;
        } else {
            writeln!(
                out,
                "{} violations in total; `--all` lists them",
                r.violations_total
            )?;
        }
    } else if all && shown > 1 {
        writeln!(out, "{shown} violations")?;
    }
    if r.status() == "torn_tail" {
        writeln!(
            out,
            "the {} before the torn tail verify ({desc}); head: {head}",
            entries(r.entries)
        )?;
    }
    Ok(())
}
