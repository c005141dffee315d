//! Reports and reproduction scripts from recorded entries.
//!
//! - [`write_reports`]: Markdown reports, one file per day, per ISO week or
//!   per tool (the layout of RTGS Lab Tools' daily reports: summary counts
//!   and percentages, tools used, one section per operation marked ✅/❌),
//!   or one self-contained HTML report with inline SVG charts (activity over
//!   time, by event type, action, actor and tool, success rate) and the
//!   verification result and head of every log at the top. Nothing in the
//!   HTML loads anything from the network. The same report as a PDF
//!   ([`ReportFormat::Pdf`]).
//! - [`write_reproduction`]: a bash script that re-runs recorded operations
//!   in time order (RTGS Lab Tools' layout: `set -e`, `git checkout` of the
//!   recorded commit, one echoed command per operation, parameters quoted
//!   exactly, a reproduction note).
//!
//! Inputs are evident logs, directories and Markdown reports written here:
//! every Markdown report ends with the entries it covers (one JSON object
//! per line inside an HTML comment), so a directory of reports that a user
//! curated by deleting files is a valid input for reproduction.
//!
//! Times are UTC; a day is a UTC day. Templates are minijinja templates
//! compiled into the library.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use minijinja::{context, Environment};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Digest as _;

use crate::chain::Key;
use crate::error::{Error, Result};
use crate::format::{Entry, BINARY_MAGIC};
use crate::query::{query, Query};
use crate::verify::{verify, VerifyOptions, VerifyReport, ViolationKind};

mod pdf;
mod python;
mod sources;
pub use sources::source_entries;

/// Marker line that opens the embedded entries of a Markdown report.
pub const ENTRIES_MARKER: &str = "<!-- evident-entries";

/// Report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// Markdown files, grouped by [`GroupBy`].
    #[default]
    #[serde(alias = "markdown")]
    Md,
    /// One self-contained HTML file.
    Html,
    /// One PDF file (A4) with what the HTML report shows: verification
    /// results, summary, the charts drawn as vector graphics, and every
    /// entry. Text is set in the PDF standard fonts (Helvetica, Courier),
    /// which cover Windows-1252; any other character is written as
    /// `<U+XXXX>`, so nothing is dropped.
    Pdf,
}

/// How Markdown reports are split into files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// One file per UTC day (`audit_report_YYYY-MM-DD.md`).
    #[default]
    Day,
    /// One file per ISO week (`weekly_report_YYYY-Www.md`).
    Week,
    /// One file per tool (entry `source`) (`tool_report_NAME.md`).
    Tool,
}

/// Options of [`write_reports`] and [`write_entries_report`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ReportOptions {
    pub format: ReportFormat,
    pub by: GroupBy,
    /// Entries with `ts >= since`.
    pub since: Option<DateTime<Utc>>,
    /// Entries with `ts < until`.
    pub until: Option<DateTime<Utc>>,
    /// Only entries of this tool (`source`).
    pub source: Option<String>,
    /// Only entries of this event type.
    pub event_type: Option<String>,
    /// HTML title (default "Audit Report").
    pub title: Option<String>,
    /// HTML charts (default true).
    pub no_charts: bool,
    /// Logs to verify and show at the top of an HTML report built from
    /// entries ([`write_entries_report`]).
    pub logs: Vec<PathBuf>,
    /// HMAC key (hex) of keyed logs, for verification.
    pub key_hex: Option<String>,
    /// The same as a key (set by Rust callers; wins over `key_hex`).
    #[serde(skip)]
    pub key: Option<Key>,
}

/// One file written by [`write_reports`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportFile {
    /// The group: a day (`2026-11-30`), a week (`2026-W48`), a tool name,
    /// or `all` for the HTML report.
    pub group: String,
    pub path: PathBuf,
}

/// The verification result of one log, as shown in reports.
#[derive(Debug, Clone, Serialize)]
pub struct LogStatus {
    pub path: String,
    pub valid: bool,
    pub entries: u64,
    pub head: String,
    pub problem: Option<String>,
}

fn key_of(hex_key: &Option<String>) -> Result<Option<Key>> {
    match hex_key {
        None => Ok(None),
        Some(h) => {
            let bytes = hex::decode(h.trim())
                .map_err(|e| Error::InvalidArgument(format!("key_hex: {e}")))?;
            Ok(Some(Key::new(bytes)?))
        }
    }
}

impl LogStatus {
    /// The status a report shows for a verify report (of a file, or of a
    /// log in a database from [`crate::pg::verify_db`]: `path` is then the
    /// database's redacted URL with `?log_id=`).
    pub fn from_report(r: &crate::verify::VerifyReport) -> LogStatus {
        LogStatus {
            path: r.path.display().to_string(),
            valid: r.valid,
            entries: r.entries,
            head: format!("{}:{}", r.head_seq, r.head_hash.clone().unwrap_or_default()),
            problem: r.first().map(|v| v.to_string()),
        }
    }
}

/// Verifies `path` for a report; an unreadable log is a status, not an error.
pub fn log_status(path: &Path, key: Option<&Key>) -> LogStatus {
    match verify_given_key(path, key, false) {
        Ok(r) => LogStatus::from_report(&r),
        Err(e) => LogStatus {
            path: path.display().to_string(),
            valid: false,
            entries: 0,
            head: String::new(),
            problem: Some(e.to_string()),
        },
    }
}

/// Verifies `path` (every violation with `all`) with `key` when the log is
/// keyed. The one key given for several logs is for the keyed ones: a
/// keyless log is checked without it (given a key, its hashes would not
/// be checked at all, only a `wrong_key` reported).
fn verify_given_key(path: &Path, key: Option<&Key>, all: bool) -> Result<VerifyReport> {
    let r = verify(path, &VerifyOptions::default().key(key.cloned()).all(all))?;
    if key.is_some() && r.alg.as_deref().is_some_and(|a| !a.starts_with("hmac-")) {
        return verify(path, &VerifyOptions::default().all(all));
    }
    Ok(r)
}

// --- inputs ------------------------------------------------------------------

/// What a file is, from its first bytes and name.
enum Kind {
    Log,
    Report,
    Other,
}

/// Whether `path` starts as an evident log (either framing's first
/// record), whatever its name; a FIFO or device is refused.
pub(crate) fn is_log_file(path: &Path) -> Result<bool> {
    Ok(matches!(sniff(path)?, Kind::Log))
}

fn sniff(path: &Path) -> Result<Kind> {
    // Refuses a FIFO, socket or device without blocking in open(2).
    let mut f = crate::storage::open_regular(path, crate::storage::Access::Read, "read")?;
    let mut head = [0u8; 256];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, "read", e)),
        }
    }
    let head = &head[..n];
    if head.starts_with(&BINARY_MAGIC)
        || (head.starts_with(b"{\"v\":") && memchr::memmem::find(head, b"\"genesis\"").is_some())
    {
        return Ok(Kind::Log);
    }
    let md = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown"));
    Ok(if md { Kind::Report } else { Kind::Other })
}

/// Entries embedded in a Markdown report written by [`write_reports`],
/// and what its text shows of them ([`curated`]); `None` without an
/// entries block.
fn report_entries(path: &Path) -> Result<Option<(Vec<Entry>, Curation)>> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))?;
    // The block starts a line (values in the report's body never do: they
    // are written on one line after `- **Key**: `).
    let start = if text.starts_with(ENTRIES_MARKER) {
        Some(0)
    } else {
        text.rfind(&format!("\n{ENTRIES_MARKER}")).map(|i| i + 1)
    };
    let Some(start) = start else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (i, line) in text[start..].lines().enumerate().skip(1) {
        let line = line.trim();
        if line == "-->" {
            let body = &text[..start];
            return curated(body, out).map(|(es, mut c)| {
                c.not_valid = not_valid_lines(body);
                Some((es, c))
            });
        }
        if line.is_empty() {
            continue;
        }
        let e: Entry = serde_json::from_str(line).map_err(|e| {
            Error::InvalidArgument(format!(
                "{}: recorded entry {} of the report is not an evident entry: {e}",
                path.display(),
                i
            ))
        })?;
        out.push(e);
    }
    Err(Error::InvalidArgument(format!(
        "{}: the recorded entries block is not closed (`-->` missing)",
        path.display()
    )))
}

/// What the text of a report shows of the entries embedded in it.
#[derive(Debug, Default)]
struct Curation {
    /// Hashes of the entries whose section differs from the one the
    /// report was written with.
    edited: HashSet<String>,
    /// Sections that show none of the entries (a heading changed, say).
    unknown: usize,
    /// The first line is none of the layouts `evident report` writes, or
    /// the Operations heading is gone.
    layout_unknown: bool,
    /// The report's own Evidence lines saying that a log (not another
    /// Markdown report) it was written from was NOT VALID.
    not_valid: Vec<String>,
}

/// The lines of the Evidence section of a report's `body` that say a log
/// it was written from was NOT VALID (`- `PATH`: NOT VALID: …`). The
/// statuses of Markdown reports read to write it are left out: they say
/// their entries were read alone or that the report was edited, and the
/// log's entries were then shown, both said of reports read alone anyway.
fn not_valid_lines(body: &str) -> Vec<String> {
    const SAYS: &str = ": NOT VALID: ";
    body.lines()
        .map(str::trim_end)
        .skip_while(|l| *l != "## Evidence")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("- `"))
        .filter(|l| {
            l.find(SAYS).is_some_and(|i| {
                let path = l[..i].trim_end_matches('`').to_ascii_lowercase();
                !(path.ends_with(".md") || path.ends_with(".markdown"))
            })
        })
        .map(|l| l[2..].to_string())
        .collect()
}

impl Curation {
    /// What the text of a report shows that its recorded entries do not:
    /// `edited`, the seqs of its sections that differ (of entries also
    /// read from a log). `None`: nothing.
    fn problem(&self, edited: &[u64]) -> Option<String> {
        if self.layout_unknown {
            return Some(
                "its first line, or its Operations heading, is not what `evident report` \
                 writes: the report was edited; its recorded entries are used, not its text"
                    .into(),
            );
        }
        let mut parts = Vec::new();
        if !edited.is_empty() {
            let seqs: Vec<String> = edited.iter().take(10).map(u64::to_string).collect();
            let one = edited.len() == 1;
            parts.push(format!(
                "{} operation {} from the recorded {} (seq {}{})",
                edited.len(),
                if one {
                    "section differs"
                } else {
                    "sections differ"
                },
                if one {
                    "entry it shows"
                } else {
                    "entries they show"
                },
                seqs.join(", "),
                if edited.len() > 10 { ", …" } else { "" }
            ));
        }
        if self.unknown > 0 {
            let one = self.unknown == 1;
            parts.push(format!(
                "{} operation {} no recorded entry",
                self.unknown,
                if one {
                    "section shows"
                } else {
                    "sections show"
                }
            ));
        }
        (!parts.is_empty()).then(|| {
            format!(
                "{}: the report was edited; the recorded entries are used, not its text",
                parts.join(" and ")
            )
        })
    }
}

/// Compares the Operations section of a report (`body`: its text before
/// the entries block) with the sections its `entries` give (the same
/// templates, line ends and trailing blanks aside), for reports curated by
/// hand. When every section shows one of the entries, an entry whose
/// section was deleted is left out; otherwise (a section shows none: its
/// heading, or the entry, was changed) every entry is kept. A section that
/// differs from its entry's is counted (the entry is kept as recorded: the
/// report's text is never read back).
fn curated(body: &str, entries: Vec<Entry>) -> Result<(Vec<Entry>, Curation)> {
    let first = body.lines().next().unwrap_or("");
    let (name, dated, headed) = if first.starts_with("# Audit Report - ") {
        ("op.md", false, true)
    } else if first.starts_with("# Tool Report - ") {
        ("op.md", true, true)
    } else if first.starts_with("# Weekly Audit Report - ") {
        ("op_line.md", false, false)
    } else {
        ("", false, false)
    };
    if name.is_empty() || !body.lines().any(|l| l.trim_end() == "## Operations") {
        let c = Curation {
            layout_unknown: true,
            ..Curation::default()
        };
        return Ok((entries, c));
    }
    let lines: Vec<&str> = body
        .lines()
        .map(str::trim_end)
        .skip_while(|l| *l != "## Operations")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| !l.is_empty())
        .collect();
    let mut items: Vec<Vec<&str>> = Vec::new();
    for l in lines {
        match items.last_mut() {
            Some(item) if headed && !l.starts_with("### ") => item.push(l),
            _ => items.push(vec![l]),
        }
    }
    let env = env();
    let template = env
        .get_template(name)
        .map_err(|e| Error::InvalidArgument(format!("rendering {name}: {e}")))?;
    let mut shown = Vec::with_capacity(entries.len());
    // Entries by their whole section and by its first line, in order:
    // sections whose headings are equal (same second, tool and action)
    // differ in the entry they show (its seq), so a section is matched to
    // the entry it is, and only a section that is no entry's (edited) to
    // the first entry left with its heading. Each index leaves each queue
    // once: linear in the entries.
    let mut by_text: HashMap<String, std::collections::VecDeque<usize>> = HashMap::new();
    let mut by_head: HashMap<String, std::collections::VecDeque<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let text = template
            .render(context! { op => op(e), dated => dated })
            .map_err(|e| Error::InvalidArgument(format!("rendering {name}: {e}")))?;
        let section: Vec<String> = text
            .lines()
            .map(|l| l.trim_end().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        let head = section.first().cloned().unwrap_or_default();
        by_head.entry(head).or_default().push_back(i);
        by_text.entry(section.join("\n")).or_default().push_back(i);
        shown.push(section);
    }
    let mut c = Curation::default();
    let mut kept = vec![false; entries.len()];
    let unkept = |q: &mut std::collections::VecDeque<usize>, kept: &[bool]| {
        while let Some(i) = q.pop_front() {
            if !kept.get(i).copied().unwrap_or(true) {
                return Some(i);
            }
        }
        None
    };
    for item in &items {
        let head = item.first().copied().unwrap_or_default();
        let found = by_text
            .get_mut(&item.join("\n"))
            .and_then(|q| unkept(q, &kept))
            .or_else(|| by_head.get_mut(head).and_then(|q| unkept(q, &kept)));
        match found {
            Some(i) => {
                kept[i] = true;
                if !shown[i].iter().map(String::as_str).eq(item.iter().copied()) {
                    c.edited.insert(entries[i].hash.clone());
                }
            }
            None => c.unknown += 1,
        }
    }
    if c.unknown > 0 {
        return Ok((entries, c));
    }
    let entries = entries
        .into_iter()
        .zip(kept)
        .filter_map(|(e, k)| k.then_some(e))
        .collect();
    Ok((entries, c))
}

/// Entries and log statuses read from inputs.
#[derive(Debug, Default)]
pub struct Collected {
    /// Oldest first, each entry once (duplicates by hash dropped; an
    /// entry of a log wins over a Markdown report's copy).
    pub entries: Vec<Entry>,
    /// Every log read (not the Markdown reports).
    pub logs: Vec<PathBuf>,
    /// What the Markdown reports read cannot vouch for, as statuses to
    /// show next to the logs' (never valid): a report whose entry differs
    /// from a log's entry of the same hash (the report was edited; the
    /// log's entry is kept), and a report with entries found in no log
    /// read (not verified against a hash chain).
    pub report_problems: Vec<LogStatus>,
    /// The reports that cannot be trusted, as `path: problem`: one whose
    /// entry differs from a log's entry of the same hash (edited).
    pub report_failures: Vec<String>,
}

fn filter_query(opts_since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> Query {
    Query {
        since: opts_since,
        until,
        ..Query::default()
    }
}

/// Reads the entries of `inputs`: evident logs, Markdown reports written by
/// [`write_reports`], directories of them and their subdirectories (other
/// files in a directory are skipped; a file named explicitly must be one of
/// the two), and PostgreSQL
/// databases (`postgres://…`, `?log_id=` for one log; feature `postgres`),
/// whose logs are read as record sources like files.
pub fn collect(
    inputs: &[PathBuf],
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Result<Collected> {
    let q = filter_query(since, until);
    let mut files: Vec<(PathBuf, bool)> = Vec::new();
    let mut db_entries = Vec::new();
    for input in inputs {
        if sources::is_db_input(input) {
            sources::db_entries(&input.to_string_lossy(), &q, &mut db_entries)?;
            continue;
        }
        let meta = fs::metadata(input).map_err(|e| Error::io(input, "stat", e))?;
        if meta.is_dir() {
            files.extend(dir_files(input)?.into_iter().map(|p| (p, false)));
        } else {
            files.push((input.clone(), true));
        }
    }
    let mut out = Collected::default();
    // The logs' (and databases') entries first, so that a Markdown
    // report's copy of an entry, which nothing verifies, never stands in
    // for the log's: it is compared with it instead.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut reports = Vec::new();
    for (path, explicit) in files {
        match sniff(&path)? {
            Kind::Log => {
                out.logs.push(path.clone());
                for e in query(&path, &q)? {
                    let e = e?;
                    if !seen.contains_key(&e.hash) {
                        seen.insert(e.hash.clone(), out.entries.len());
                        out.entries.push(e);
                    }
                }
            }
            Kind::Report => {
                match report_entries(&path)? {
                    Some((es, curation)) => reports.push((path, es, curation)),
                    None if explicit => {
                        return Err(Error::InvalidArgument(format!(
                            "{}: a Markdown file without recorded entries (not written by `evident report`)",
                            path.display()
                        )))
                    }
                    None => {}
                }
            }
            Kind::Other if explicit => {
                let what = if crate::legacy_openparallax::is_openparallax(&path)? {
                    "an OpenParallax audit file, not an evident log: import it first \
                     (`evident import-openparallax FILE -o NEW.jsonl`)"
                } else {
                    "neither an evident log nor a report written by `evident report`"
                };
                return Err(Error::InvalidArgument(format!(
                    "{}: {what}",
                    path.display()
                )));
            }
            Kind::Other => continue,
        }
    }
    for e in db_entries {
        if !seen.contains_key(&e.hash) {
            seen.insert(e.hash.clone(), out.entries.len());
            out.entries.push(e);
        }
    }
    let verified = out.entries.len();
    for (path, es, curation) in reports {
        // Entries also read from a log: the report's copies are compared
        // with them, and its text with its copies (read alone, a report is
        // taken as it is).
        let (mut edited, mut alone, mut text_edited, mut checked) =
            (Vec::new(), 0u64, Vec::new(), false);
        for e in es.into_iter().filter(|e| q.matches(e)) {
            match seen.get(&e.hash).copied() {
                Some(i) if i < verified => {
                    checked = true;
                    if out.entries.get(i) != Some(&e) {
                        edited.push(e.seq);
                    } else if curation.edited.contains(&e.hash) {
                        text_edited.push(e.seq);
                    }
                }
                Some(_) => {} // in another report already
                None => {
                    alone += 1;
                    seen.insert(e.hash.clone(), out.entries.len());
                    out.entries.push(e);
                }
            }
        }
        let status = |problem: String| LogStatus {
            path: path.display().to_string(),
            valid: false,
            entries: 0,
            head: String::new(),
            problem: Some(problem),
        };
        let shown = path.display();
        if !edited.is_empty() {
            let seqs: Vec<String> = edited.iter().take(10).map(u64::to_string).collect();
            let problem = format!(
                "{} recorded {} (seq {}{}) from the log's entries of the same hash: the report was edited; the log's entries are shown",
                edited.len(),
                if edited.len() == 1 { "entry differs" } else { "entries differ" },
                seqs.join(", "),
                if edited.len() > 10 { ", …" } else { "" }
            );
            out.report_failures.push(format!("{shown}: {problem}"));
            out.report_problems.push(status(problem));
        }
        if let Some(problem) = curation.problem(&text_edited).filter(|_| checked) {
            out.report_failures.push(format!("{shown}: {problem}"));
            out.report_problems.push(status(problem));
        }
        if alone > 0 {
            if let Some(first) = curation.not_valid.first() {
                out.report_failures.push(format!(
                    "{shown}: the report records that {} it was written from did not verify \
                     ({first}{}); its {alone} {} read from it alone {} as read, not as recorded",
                    if curation.not_valid.len() == 1 {
                        "a log"
                    } else {
                        "logs"
                    },
                    if curation.not_valid.len() > 1 {
                        "; …"
                    } else {
                        ""
                    },
                    if alone == 1 { "entry" } else { "entries" },
                    if alone == 1 { "is" } else { "are" },
                ));
            }
            let problem = format!(
                "{alone} {} read from this Markdown report alone, in no log given: not verified against a hash chain",
                if alone == 1 { "entry" } else { "entries" }
            );
            out.report_problems.push(status(problem));
        }
    }
    out.entries
        .sort_by(|a, b| a.ts.cmp(&b.ts).then(a.seq.cmp(&b.seq)));
    Ok(out)
}

/// The files under the directory `dir` and its subdirectories (RTGS keeps
/// reports in `reports/week_…/`), in name order, a directory's files before
/// its subdirectories'. Hidden subdirectories (`.git`) and symbolic links
/// to directories are not entered, and at most [`DIR_DEPTH`] levels.
fn dir_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, depth)) = pending.pop() {
        let mut names: Vec<(PathBuf, fs::FileType)> = fs::read_dir(&d)
            .map_err(|e| Error::io(&d, "read directory", e))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_type().ok().map(|t| (e.path(), t)))
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        let mut subdirs = Vec::new();
        for (p, t) in names {
            if t.is_dir() {
                let hidden = p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                if !hidden && depth < DIR_DEPTH {
                    subdirs.push((p, depth + 1));
                }
            } else if p.is_file() {
                out.push(p);
            }
        }
        // Popped in name order.
        pending.extend(subdirs.into_iter().rev());
    }
    Ok(out)
}

/// How deep [`dir_files`] looks below a directory given as input.
const DIR_DEPTH: usize = 8;

/// An entry as given by a binding: only `ts` is required; the other
/// fields default to empty (`details` to `{}`).
#[derive(Deserialize)]
#[serde(default)]
struct LooseEntry {
    seq: u64,
    ts: Option<DateTime<Utc>>,
    event_type: String,
    action: String,
    actor: String,
    host: String,
    session_id: String,
    source: String,
    otr: bool,
    success: Option<bool>,
    duration_ms: Option<f64>,
    error: Option<String>,
    note: Option<String>,
    git_commit: Option<String>,
    details: Value,
    prev: String,
    hash: String,
}

impl Default for LooseEntry {
    fn default() -> Self {
        LooseEntry {
            seq: 0,
            ts: None,
            event_type: String::new(),
            action: String::new(),
            actor: String::new(),
            host: String::new(),
            session_id: String::new(),
            source: String::new(),
            otr: false,
            success: None,
            duration_ms: None,
            error: None,
            note: None,
            git_commit: None,
            details: Value::Object(Map::new()),
            prev: String::new(),
            hash: String::new(),
        }
    }
}

/// Parses a JSON array of entries (evident entries, or objects with at
/// least `ts`; missing fields are empty).
pub fn entries_from_json(text: &str) -> Result<Vec<Entry>> {
    let loose: Vec<LooseEntry> = serde_json::from_str(text).map_err(|e| {
        Error::InvalidArgument(format!("entries: not a JSON array of entries: {e}"))
    })?;
    loose
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let ts = l
                .ts
                .ok_or_else(|| Error::InvalidArgument(format!("entries: entry {i} has no `ts`")))?;
            Ok(Entry {
                seq: l.seq,
                ts,
                event_type: l.event_type,
                action: l.action,
                actor: l.actor,
                host: l.host,
                session_id: l.session_id,
                source: l.source,
                otr: l.otr,
                success: l.success,
                duration_ms: l.duration_ms,
                error: l.error,
                note: l.note,
                git_commit: l.git_commit,
                details: l.details,
                prev: l.prev,
                hash: if l.hash.is_empty() {
                    format!("entry-{i}")
                } else {
                    l.hash
                },
            })
        })
        .collect()
}

// --- presentation helpers ---------------------------------------------------

fn title_case(key: &str) -> String {
    key.split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn thousands(n: i128) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Line breaks a Markdown viewer (or a terminal) may start a line at.
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// A recorded value as Markdown text: one line, shown as the characters
/// it holds. Markdown's active characters are backslash-escaped (no HTML
/// tag, comment, link, image, code span, emphasis, table cell or heading
/// from content; `_` only where it could open or close emphasis), other
/// control, bidi and invisible characters ([`is_hidden`]) are written
/// `\u{..}`, and the outcome marks
/// ✅ ❌ as `U+2705` `U+274C` so that only the report's own marks show.
fn md(s: &str) -> String {
    let cs: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 8);
    for (i, &c) in cs.iter().enumerate() {
        match c {
            // A line break is a control character too: shown as `\u{a}`,
            // not as a space a real space cannot be told from.
            c if is_line_break(c) || is_hidden(c) => out.push_str(&c.escape_unicode().to_string()),
            '✅' => out.push_str("U+2705"),
            '❌' => out.push_str("U+274C"),
            // `:` also: GitHub's Markdown links a bare `https://…`,
            // `ftp://…`, `mailto:…`; and the `.` of `www.` (a bare `www.x`).
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '#' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '.' if i >= 3
                && cs
                    .get(i - 3..i)
                    .is_some_and(|w| w.iter().all(|c| c.eq_ignore_ascii_case(&'w'))) =>
            {
                out.push_str("\\.");
            }
            '_' => {
                let word = |j: Option<usize>| {
                    j.and_then(|j| cs.get(j))
                        .is_some_and(|c| c.is_alphanumeric())
                };
                if !(word(i.checked_sub(1)) && word(Some(i + 1))) {
                    out.push('\\');
                }
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A recorded value as a Markdown code span: one line, the fence one
/// backtick longer than the longest run of backticks inside, control, bidi
/// and invisible characters ([`is_hidden`]) written `\u{..}` (a code span
/// shows everything else literally, HTML included).
fn md_code(s: &str) -> String {
    let mut body = String::with_capacity(s.len());
    let (mut run, mut longest) = (0usize, 0usize);
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
        if is_line_break(c) || is_hidden(c) {
            body.push_str(&c.escape_unicode().to_string());
        } else {
            body.push(c);
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// A value in a Markdown report (Markdown-escaped, see [`md`]).
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => md(s),
        Value::Number(n) => match n.as_i64() {
            Some(i) => thousands(i.into()),
            None => n.to_string(),
        },
        Value::Null => "null".into(),
        other => md_code(&other.to_string()),
    }
}

fn seconds(ms: f64) -> String {
    format!("{:.1}s", ms / 1000.0)
}

fn obj<'a>(details: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    details.get(key).and_then(Value::as_object)
}

fn str_field<'a>(details: &'a Value, key: &str) -> Option<&'a str> {
    details
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn op_title(e: &Entry) -> String {
    match (e.source.is_empty(), e.action.is_empty()) {
        (false, false) => format!("{} {}", e.source, e.action),
        (true, false) => e.action.clone(),
        (false, true) => format!("{} {}", e.source, e.event_type),
        (true, true) => e.event_type.clone(),
    }
}

fn mark(e: &Entry) -> &'static str {
    match e.success {
        Some(true) => "✅",
        Some(false) => "❌",
        None => "",
    }
}

/// The members of `map` (an object of `details`) in the order the
/// operation gave them: the names listed in `details[order_key]` (a log's
/// details are sorted by name, so RTGS's compat records the order of
/// parameters and results there), then the members it does not list, by
/// name. Names listed twice or not in `map` are skipped; linear time.
pub(crate) fn recorded_order<'a>(
    map: &'a Map<String, Value>,
    details: &'a Value,
    order_key: &str,
) -> Vec<(&'a String, &'a Value)> {
    let mut out = Vec::with_capacity(map.len());
    let mut seen = std::collections::HashSet::new();
    if let Some(Value::Array(names)) = details.get(order_key) {
        for name in names.iter().filter_map(Value::as_str) {
            if let Some((k, v)) = map.get_key_value(name) {
                if seen.insert(name) {
                    out.push((k, v));
                }
            }
        }
    }
    out.extend(map.iter().filter(|(k, _)| !seen.contains(k.as_str())));
    out
}

/// The label of a parameter or result named `key`: its title case
/// (`project_name` → `Project Name`), or, when that is empty (a name of
/// only `-`, `_` and spaces, or ""), the name itself quoted as a code span
/// (`"--"`), never an empty `****`.
fn label(key: &str) -> String {
    let t = title_case(key);
    if t.is_empty() {
        md_code(&py_repr(key))
    } else {
        md(&t)
    }
}

/// The `- **Key**: value` lines of one operation.
fn op_fields(e: &Entry) -> Vec<(String, String)> {
    let mut f = Vec::new();
    let params = obj(&e.details, "parameters");
    let results = obj(&e.details, "results");
    if let Some(p) = params {
        let range = (p.get("start_date"), p.get("end_date"));
        for (k, v) in recorded_order(p, &e.details, "parameter_order") {
            if let (Some(a), Some(b)) = range {
                if k == "start_date" || k == "end_date" {
                    if !f.iter().any(|(n, _)| n == "Date Range") {
                        f.push(("Date Range".into(), format!("{} to {}", show(a), show(b))));
                    }
                    continue;
                }
            }
            f.push((label(k), show(v)));
        }
    }
    // RTGS's layout: the results, the duration, then the output file.
    let mut output = None;
    if let Some(r) = results {
        for (k, v) in recorded_order(r, &e.details, "result_order") {
            // RTGS's documented labels for its usual results.
            let label = match k.as_str() {
                "success" => continue,
                "records_extracted" => "Records".to_string(),
                "output_file" => {
                    output = Some(show(v));
                    continue;
                }
                _ => label(k),
            };
            f.push((label, show(v)));
        }
    }
    if params.is_none() && results.is_none() && e.details.as_object().is_some_and(|m| !m.is_empty())
    {
        f.push(("Details".into(), show(&e.details)));
    }
    if let Some(ms) = e.duration_ms {
        f.push(("Duration".into(), seconds(ms)));
    }
    if let Some(o) = output {
        f.push(("Output".into(), o));
    }
    if let Some(err) = &e.error {
        f.push(("Error".into(), md(err)));
    }
    if let Some(n) = &e.note {
        f.push(("Note".into(), md(n)));
    }
    if !e.actor.is_empty() {
        f.push(("User".into(), md(&e.actor)));
    }
    if let Some(c) = &e.git_commit {
        // A commit id is shortened as git shows it; anything else recorded
        // there is shown whole (as text).
        let short: String = if c.chars().all(|ch| ch.is_ascii_hexdigit()) {
            c.chars().take(12).collect()
        } else {
            c.clone()
        };
        match str_field(&e.details, "git_branch") {
            Some(b) => f.push(("Git".into(), format!("{} @ {}", md(b), md(&short)))),
            None => f.push(("Git".into(), md(&short))),
        }
    }
    f.push(("Entry".into(), format!("seq {}", e.seq)));
    f
}

#[derive(Serialize)]
struct Summary {
    total: usize,
    ok: usize,
    failed: usize,
    unknown: usize,
    ok_pct: String,
    failed_pct: String,
    tools: Vec<String>,
}

fn pct(n: usize, total: usize) -> String {
    if total == 0 {
        "0.0".into()
    } else {
        format!("{:.1}", 100.0 * n as f64 / total as f64)
    }
}

fn summary(es: &[&Entry]) -> Summary {
    let ok = es.iter().filter(|e| e.success == Some(true)).count();
    let failed = es.iter().filter(|e| e.success == Some(false)).count();
    let mut tools = Vec::new();
    for e in es {
        if !e.source.is_empty() && !tools.contains(&e.source) {
            tools.push(e.source.clone());
        }
    }
    Summary {
        total: es.len(),
        ok,
        failed,
        unknown: es.len() - ok - failed,
        ok_pct: pct(ok, es.len()),
        failed_pct: pct(failed, es.len()),
        tools,
    }
}

#[derive(Serialize)]
struct Op {
    time: String,
    date: String,
    title: String,
    mark: &'static str,
    fields: Vec<(String, String)>,
}

fn op(e: &Entry) -> Op {
    Op {
        time: e.ts.format("%H:%M:%S").to_string(),
        date: e.ts.format("%Y-%m-%d").to_string(),
        title: md(&op_title(e)),
        mark: mark(e),
        fields: op_fields(e),
    }
}

#[derive(Serialize)]
struct Row {
    name: String,
    count: usize,
    ok: usize,
    failed: usize,
    mean_duration: String,
}

fn rows_by(es: &[&Entry], key: impl Fn(&Entry) -> String) -> Vec<Row> {
    let mut m: BTreeMap<String, Vec<&Entry>> = BTreeMap::new();
    for e in es {
        m.entry(key(e)).or_default().push(e);
    }
    m.into_iter()
        .map(|(name, v)| {
            let ds: Vec<f64> = v.iter().filter_map(|e| e.duration_ms).collect();
            Row {
                name,
                count: v.len(),
                ok: v.iter().filter(|e| e.success == Some(true)).count(),
                failed: v.iter().filter(|e| e.success == Some(false)).count(),
                mean_duration: if ds.is_empty() {
                    "-".into()
                } else {
                    seconds(ds.iter().sum::<f64>() / ds.len() as f64)
                },
            }
        })
        .collect()
}

/// The embedded entries block: one JSON object per line; `>` and every
/// non-ASCII character are escaped (`\u003e`, `\u274c`: only possible inside
/// strings), so no line can close the comment or show a report's mark.
fn entries_block(es: &[&Entry]) -> String {
    let mut s = String::from(ENTRIES_MARKER);
    s.push_str(" (the entries this report covers, one JSON object per line; read by `evident reproduce`)\n");
    for e in es {
        let j = serde_json::to_string(e).unwrap_or_default();
        // ASCII only, and no `>` (which could end the comment): the same
        // JSON, but a recorded ❌ or ✅ (or any other character) cannot be
        // mistaken for the report's own marks by a grep over the file.
        for c in j.chars() {
            if c == '>' || !c.is_ascii() {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    s.push_str(&format!("\\u{u:04x}"));
                }
            } else {
                s.push(c);
            }
        }
        s.push('\n');
    }
    s.push_str("-->\n");
    s
}

const DAILY_MD: &str = r#"# Audit Report - {{ day }}

## Summary
- Total Operations: {{ s.total }}
- Successful: {{ s.ok }} ({{ s.ok_pct }}%)
- Failed: {{ s.failed }} ({{ s.failed_pct }}%)
{% if s.unknown %}- Outcome Not Recorded: {{ s.unknown }}
{% endif %}- Tools Used: {% for t in s.tools %}{{ t|md }}{% if not loop.last %}, {% endif %}{% endfor %}

## Operations
{% for op in ops %}{% include "op.md" %}{% endfor %}
{% include "evidence.md" %}"#;

/// One operation of a daily or tool report (`dated`: with its day), and
/// of a weekly report: what `evident reproduce` compares with the entry
/// it shows ([`curated`]).
const OP_MD: &str = r#"
### {% if dated %}{{ op.date }} {% endif %}{{ op.time }} - {{ op.title }} {{ op.mark }}
{% for f in op.fields %}- **{{ f[0] }}**: {{ f[1] }}
{% endfor %}"#;
const OP_LINE_MD: &str = r#"- {{ op.date }} {{ op.time }} - {{ op.title }} {{ op.mark }}"#;

const WEEKLY_MD: &str = r#"# Weekly Audit Report - {{ week }} ({{ first }} to {{ last }})

## Summary
- Total Operations: {{ s.total }}
- Successful: {{ s.ok }} ({{ s.ok_pct }}%)
- Failed: {{ s.failed }} ({{ s.failed_pct }}%)
{% if s.unknown %}- Outcome Not Recorded: {{ s.unknown }}
{% endif %}- Tools Used: {% for t in s.tools %}{{ t|md }}{% if not loop.last %}, {% endif %}{% endfor %}
- Active Days: {{ days|length }}

## By Tool

| Tool | Operations | Successful | Failed | Mean Duration |
|---|---:|---:|---:|---:|
{% for r in tools %}| {{ (r.name|md) or "(none)" }} | {{ r.count }} | {{ r.ok }} | {{ r.failed }} | {{ r.mean_duration }} |
{% endfor %}
## By Day

| Day | Operations | Successful | Failed |
|---|---:|---:|---:|
{% for r in days %}| {{ r.name }} | {{ r.count }} | {{ r.ok }} | {{ r.failed }} |
{% endfor %}
## Operations
{% for op in ops %}{% include "op_line.md" %}
{% endfor %}
{% include "evidence.md" %}"#;

const TOOL_MD: &str = r#"# Tool Report - {{ tool|md }}

## Summary
- Total Operations: {{ s.total }}
- Successful: {{ s.ok }} ({{ s.ok_pct }}%)
- Failed: {{ s.failed }} ({{ s.failed_pct }}%)
- Period: {{ first }} to {{ last }}

## By Operation

| Operation | Runs | Successful | Failed | Mean Duration |
|---|---:|---:|---:|---:|
{% for r in actions %}| {{ r.name|md }} | {{ r.count }} | {{ r.ok }} | {{ r.failed }} | {{ r.mean_duration }} |
{% endfor %}
## Operations
{% for op in ops %}{% with dated = true %}{% include "op.md" %}{% endwith %}{% endfor %}
{% include "evidence.md" %}"#;

const EVIDENCE_MD: &str = r#"{% if logs %}## Evidence
{% for l in logs %}- {{ l.path|mdcode }}: {% if l.valid %}verified, {{ l.entries }} entries, head {{ l.head }}{% else %}NOT VALID: {{ l.problem|md }}{% endif %}
{% endfor %}
{% endif %}{{ block }}"#;

const HTML: &str = include_str!("report/report.html");
const BASH: &str = include_str!("report/reproduce.sh");

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(false);
    env.add_filter("md", |s: String| md(&s));
    env.add_filter("mdcode", |s: String| md_code(&s));
    env.set_formatter(html_formatter);
    for (name, src) in [
        ("daily.md", DAILY_MD),
        ("weekly.md", WEEKLY_MD),
        ("tool.md", TOOL_MD),
        ("evidence.md", EVIDENCE_MD),
        ("op.md", OP_MD),
        ("op_line.md", OP_LINE_MD),
        ("report.html", HTML),
        ("reproduce.sh", BASH),
    ] {
        // The templates are part of the library; a syntax error is a bug
        // caught by the unit tests.
        env.add_template(name, src).expect("built-in template");
    }
    env
}

/// The HTML report's output of a value: HTML-escaped, with the characters
/// a reader cannot see ([`is_hidden`]: control, bidi and invisible
/// characters) written `\u{..}` as in the Markdown reports, so that
/// `alice` and `alice` followed by a zero-width space do not look the
/// same. Markup already rendered (a macro's output) is left as it is: its
/// values went through here. Other templates: minijinja's default.
fn html_formatter(
    out: &mut minijinja::Output,
    state: &minijinja::State,
    value: &minijinja::Value,
) -> std::result::Result<(), minijinja::Error> {
    if matches!(state.auto_escape(), minijinja::AutoEscape::Html) && !value.is_safe() {
        if let Some(s) = value.as_str().filter(|s| s.chars().any(is_hidden)) {
            let mut shown = String::with_capacity(s.len() + 16);
            for c in s.chars() {
                if is_hidden(c) {
                    shown.push_str(&c.escape_unicode().to_string());
                } else {
                    shown.push(c);
                }
            }
            return minijinja::escape_formatter(out, state, &minijinja::Value::from(shown));
        }
    }
    minijinja::escape_formatter(out, state, value)
}

fn render(name: &str, ctx: minijinja::Value) -> Result<String> {
    env()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| Error::InvalidArgument(format!("rendering {name}: {e}")))
}

/// `s` as part of a file name: as it is when it is one already (ASCII
/// letters, digits, `-` and `.`, not starting with `.`, at most 80
/// characters); otherwise its other characters replaced by `_`, cut at
/// 80, and followed by `-` and the first 8 hex digits of its SHA-256, so
/// that names differing only in what was replaced (`a b`, `a_b`, `a/b`)
/// give files of their own.
fn safe_name(s: &str) -> String {
    if !s.is_empty() && s.len() <= 80 && !s.starts_with('.') && s.chars().all(file_safe) {
        return s.to_string();
    }
    hashed_name(s)
}

/// A character kept as it is in a file name made of a value.
fn file_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.'
}

/// A tool (entry `source`) in a file name: `none` for entries without
/// one, so a tool named `none` is given the hashed form of [`safe_name`].
fn tool_file_name(tool: &str) -> String {
    match tool {
        "" => "none".to_string(),
        "none" => hashed_name(tool),
        _ => safe_name(tool),
    }
}

/// `s` with what is unsafe in a file name replaced, then `-` and 8 hex
/// digits of its SHA-256 (so that names that differ stay apart).
fn hashed_name(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| if file_safe(c) { c } else { '_' })
        .take(80)
        .collect();
    let digest = sha2::Sha256::digest(s.as_bytes());
    let tag = hex::encode(digest.get(..4).unwrap_or_default());
    if t.starts_with('.') {
        format!("_{t}-{tag}")
    } else {
        format!("{t}-{tag}")
    }
}

fn selected<'a>(entries: &'a [Entry], opts: &ReportOptions) -> Vec<&'a Entry> {
    entries
        .iter()
        .filter(|e| opts.since.is_none_or(|s| e.ts >= s))
        .filter(|e| opts.until.is_none_or(|u| e.ts < u))
        .filter(|e| opts.source.as_deref().is_none_or(|s| e.source == s))
        .filter(|e| opts.event_type.as_deref().is_none_or(|t| e.event_type == t))
        .collect()
}

/// Renders the Markdown reports of `entries` as (group, file name, text).
pub fn render_markdown(
    entries: &[Entry],
    logs: &[LogStatus],
    opts: &ReportOptions,
) -> Result<Vec<(String, String, String)>> {
    let es = selected(entries, opts);
    let mut groups: BTreeMap<String, Vec<&Entry>> = BTreeMap::new();
    for e in &es {
        let key = match opts.by {
            GroupBy::Day => e.ts.format("%Y-%m-%d").to_string(),
            GroupBy::Week => {
                let w = e.ts.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            GroupBy::Tool => e.source.clone(),
        };
        groups.entry(key).or_default().push(e);
    }
    let mut out = Vec::new();
    for (key, group) in groups {
        let ops: Vec<Op> = group.iter().map(|e| op(e)).collect();
        let block = entries_block(&group);
        let first = group[0].ts.format("%Y-%m-%d").to_string();
        let last = group[group.len() - 1].ts.format("%Y-%m-%d").to_string();
        let (name, text) = match opts.by {
            GroupBy::Day => (
                format!("audit_report_{key}.md"),
                render(
                    "daily.md",
                    context! { day => key, s => summary(&group), ops => ops, logs => logs, block => block },
                )?,
            ),
            GroupBy::Week => {
                let (y, w) = key.split_once("-W").unwrap_or(("", ""));
                let monday = NaiveDate::from_isoywd_opt(
                    y.parse().unwrap_or(1970),
                    w.parse().unwrap_or(1),
                    chrono::Weekday::Mon,
                );
                let span = monday.map(|m| (m, m + chrono::Duration::days(6)));
                let (first, last) = span
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .unwrap_or((first, last));
                (
                    format!("weekly_report_{key}.md"),
                    render(
                        "weekly.md",
                        context! {
                            week => key, first => first, last => last, s => summary(&group),
                            tools => rows_by(&group, |e| e.source.clone()),
                            days => rows_by(&group, |e| e.ts.format("%Y-%m-%d").to_string()),
                            ops => ops, logs => logs, block => block,
                        },
                    )?,
                )
            }
            GroupBy::Tool => (
                format!("tool_report_{}.md", tool_file_name(&key)),
                render(
                    "tool.md",
                    context! {
                        tool => if key.is_empty() { "(none)".to_string() } else { key.clone() },
                        first => first, last => last, s => summary(&group),
                        actions => rows_by(&group, |e| e.action.clone()),
                        ops => ops, logs => logs, block => block,
                    },
                )?,
            ),
        };
        out.push((key, name, text));
    }
    Ok(out)
}

#[derive(Serialize)]
struct Bar {
    label: String,
    short: String,
    count: usize,
    /// Length in chart units (0..=100).
    len: f64,
}

fn bars(counts: Vec<(String, usize)>, max_bars: usize) -> Vec<Bar> {
    let mut counts = counts;
    if counts.len() > max_bars {
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let rest: usize = counts[max_bars - 1..].iter().map(|c| c.1).sum();
        counts.truncate(max_bars - 1);
        counts.push(("(other)".into(), rest));
    }
    let max = counts.iter().map(|c| c.1).max().unwrap_or(0).max(1);
    counts
        .into_iter()
        .map(|(label, count)| {
            let label = if label.is_empty() {
                "(none)".to_string()
            } else {
                label
            };
            let short = if label.chars().count() > 24 {
                label.chars().take(23).chain(['…']).collect()
            } else {
                label.clone()
            };
            Bar {
                label,
                short,
                count,
                len: 100.0 * count as f64 / max as f64,
            }
        })
        .collect()
}

fn count_by(es: &[&Entry], key: impl Fn(&Entry) -> String) -> Vec<(String, usize)> {
    let mut m: BTreeMap<String, usize> = BTreeMap::new();
    for e in es {
        *m.entry(key(e)).or_default() += 1;
    }
    m.into_iter().collect()
}

#[derive(Serialize)]
struct HtmlRow {
    ts: String,
    event_type: String,
    action: String,
    actor: String,
    source: String,
    outcome: &'static str,
    duration: String,
    error: String,
    details: String,
}

/// What the HTML and the PDF report show (the HTML template's context).
#[derive(Serialize)]
struct Model<'a> {
    title: String,
    generated: String,
    first: Option<String>,
    last: Option<String>,
    logs: &'a [LogStatus],
    all_valid: bool,
    s: Summary,
    charts: bool,
    activity: Vec<Bar>,
    by_event_type: Vec<Bar>,
    by_action: Vec<Bar>,
    by_actor: Vec<Bar>,
    by_source: Vec<Bar>,
    ok_len: f64,
    failed_len: f64,
    rows: Vec<HtmlRow>,
}

fn model<'a>(entries: &[Entry], logs: &'a [LogStatus], opts: &ReportOptions) -> Model<'a> {
    let es = selected(entries, opts);
    let span_days = match (es.first(), es.last()) {
        (Some(a), Some(b)) => (b.ts - a.ts).num_hours() >= 48,
        _ => true,
    };
    let time_key = |e: &Entry| {
        if span_days {
            e.ts.format("%Y-%m-%d").to_string()
        } else {
            e.ts.format("%Y-%m-%d %H:00").to_string()
        }
    };
    let mut activity = count_by(&es, time_key);
    if activity.len() > 60 {
        activity = activity.split_off(activity.len() - 60);
    }
    let rows: Vec<HtmlRow> = es
        .iter()
        .map(|e| {
            let mut details = e.details.to_string();
            if details.len() > 400 {
                let mut cut = 400;
                while !details.is_char_boundary(cut) {
                    cut -= 1;
                }
                details.truncate(cut);
                details.push('…');
            }
            HtmlRow {
                ts: e.ts.to_rfc3339_opts(SecondsFormat::Secs, true),
                event_type: e.event_type.clone(),
                action: e.action.clone(),
                actor: e.actor.clone(),
                source: e.source.clone(),
                outcome: match e.success {
                    Some(true) => "success",
                    Some(false) => "failed",
                    None => "",
                },
                duration: e.duration_ms.map(seconds).unwrap_or_default(),
                error: e.error.clone().unwrap_or_default(),
                details,
            }
        })
        .collect();
    let total = es.len().max(1) as f64;
    let stamp = |e: &&Entry| e.ts.to_rfc3339_opts(SecondsFormat::Secs, true);
    Model {
        title: opts.title.clone().unwrap_or_else(|| "Audit Report".into()),
        generated: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        first: es.first().map(stamp),
        last: es.last().map(stamp),
        logs,
        all_valid: logs.iter().all(|l| l.valid),
        charts: !opts.no_charts && !es.is_empty(),
        activity: bars(activity, usize::MAX),
        by_event_type: bars(count_by(&es, |e| e.event_type.clone()), 12),
        by_action: bars(count_by(&es, |e| e.action.clone()), 12),
        by_actor: bars(count_by(&es, |e| e.actor.clone()), 12),
        by_source: bars(count_by(&es, |e| e.source.clone()), 12),
        ok_len: 100.0 * es.iter().filter(|e| e.success == Some(true)).count() as f64 / total,
        failed_len: 100.0 * es.iter().filter(|e| e.success == Some(false)).count() as f64 / total,
        s: summary(&es),
        rows,
    }
}

/// Renders the HTML report of `entries`.
pub fn render_html(entries: &[Entry], logs: &[LogStatus], opts: &ReportOptions) -> Result<String> {
    let mut text = render(
        "report.html",
        minijinja::Value::from_serialize(model(entries, logs, opts)),
    )?;
    // A text file ends with a newline, as the Markdown reports do (the
    // template engine drops the template's last one).
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// Renders the PDF report of `entries`: what the HTML report shows, in
/// A4 pages (see [`ReportFormat::Pdf`]).
pub fn render_pdf(entries: &[Entry], logs: &[LogStatus], opts: &ReportOptions) -> Vec<u8> {
    pdf::render(&model(entries, logs, opts))
}

/// Replaces `path` with `text` ([`crate::output`]: a temporary file,
/// fsynced, renamed over it; a device or a pipe is written into);
/// `executable`: mode 0755.
fn write_atomic(path: &Path, text: impl AsRef<[u8]>, executable: bool) -> Result<()> {
    crate::output::Output {
        replace: true,
        executable,
    }
    .write(path, text.as_ref())
}

fn write_rendered(
    entries: &[Entry],
    logs: &[LogStatus],
    opts: &ReportOptions,
    out: &Path,
) -> Result<Vec<ReportFile>> {
    match opts.format {
        ReportFormat::Html | ReportFormat::Pdf => {
            let (exts, default): (&[&str], _) = match opts.format {
                ReportFormat::Pdf => (&["pdf"], "audit_report.pdf"),
                _ => (&["html", "htm"], "audit_report.html"),
            };
            let named = out
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)));
            let target = if out.is_dir() || !named {
                fs::create_dir_all(out).map_err(|e| Error::io(out, "create directory", e))?;
                out.join(default)
            } else {
                if let Some(p) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
                    fs::create_dir_all(p).map_err(|e| Error::io(p, "create directory", e))?;
                }
                out.to_path_buf()
            };
            match opts.format {
                ReportFormat::Pdf => write_atomic(&target, render_pdf(entries, logs, opts), false)?,
                _ => write_atomic(&target, render_html(entries, logs, opts)?, false)?,
            }
            Ok(vec![ReportFile {
                group: "all".into(),
                path: target,
            }])
        }
        ReportFormat::Md => {
            let files = render_markdown(entries, logs, opts)?;
            if !files.is_empty() {
                fs::create_dir_all(out).map_err(|e| Error::io(out, "create directory", e))?;
            }
            let mut written = Vec::new();
            for (group, name, text) in files {
                let path = out.join(name);
                write_atomic(&path, &text, false)?;
                written.push(ReportFile { group, path });
            }
            Ok(written)
        }
    }
}

/// Writes the reports of the entries in `inputs` (logs, report files,
/// directories) into `out`: Markdown files into the directory `out`
/// (created when there is something to write), HTML into the file `out`
/// when its name ends in `.html`/`.htm` and it is not a directory, else
/// into `out/audit_report.html`. Each log is verified and its result shown.
pub fn write_reports(
    inputs: &[PathBuf],
    opts: &ReportOptions,
    out: &Path,
) -> Result<Vec<ReportFile>> {
    write_reports_with_status(inputs, opts, out).map(|(files, _)| files)
}

/// [`write_reports`], also returning the verification result of every log
/// read (not the Markdown reports'), as the reports show it: a caller
/// warns about the ones not `valid` (`evident report` exits 1; the
/// reports are written all the same, saying NOT VALID).
pub fn write_reports_with_status(
    inputs: &[PathBuf],
    opts: &ReportOptions,
    out: &Path,
) -> Result<(Vec<ReportFile>, Vec<LogStatus>)> {
    let c = collect(inputs, opts.since, opts.until)?;
    let key = opts
        .key
        .clone()
        .map_or_else(|| key_of(&opts.key_hex), |k| Ok(Some(k)))?;
    let statuses: Vec<LogStatus> = c.logs.iter().map(|p| log_status(p, key.as_ref())).collect();
    let mut logs = statuses.clone();
    logs.extend(c.report_problems);
    let files = write_rendered(&c.entries, &logs, opts, out)?;
    Ok((files, statuses))
}

/// Like [`write_reports`] for entries given directly (e.g. read and
/// filtered by a binding); `opts.logs` are verified and shown.
pub fn write_entries_report(
    entries: &[Entry],
    opts: &ReportOptions,
    out: &Path,
) -> Result<Vec<ReportFile>> {
    let key = opts
        .key
        .clone()
        .map_or_else(|| key_of(&opts.key_hex), |k| Ok(Some(k)))?;
    let mut logs: Vec<LogStatus> = opts
        .logs
        .iter()
        .map(|p| log_status(p, key.as_ref()))
        .collect();
    let mut es = if opts.logs.is_empty() {
        entries.to_vec()
    } else {
        let (es, problems) = checked_against_logs(entries, &opts.logs);
        logs.extend(problems);
        es
    };
    es.sort_by(|a, b| a.ts.cmp(&b.ts).then(a.seq.cmp(&b.seq)));
    write_rendered(&es, &logs, opts, out)
}

/// `seqs` as a report names them: the first ten, then `…`.
fn seq_list(seqs: &[u64]) -> String {
    let shown: Vec<String> = seqs.iter().take(10).map(u64::to_string).collect();
    format!(
        "{}{}",
        shown.join(", "),
        if seqs.len() > 10 { ", …" } else { "" }
    )
}

/// Whether the details given for an entry agree with the log's: every
/// member of the log's details that the given details also have holds the
/// same value (numbers compared as numbers: `2` and `2.0` agree, as a
/// pandas round trip makes them); members added or left out are the
/// caller's. Details that are not objects must be equal.
fn details_agree(log: &Value, given: &Value) -> bool {
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
            }
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            _ => a == b,
        }
    }
    match (log, given) {
        (Value::Object(l), Value::Object(g)) => {
            l.iter().all(|(k, v)| g.get(k).is_none_or(|w| same(v, w)))
        }
        (Value::Null, _) | (_, Value::Null) => true,
        _ => same(log, given),
    }
}

/// The entries given to [`write_entries_report`] checked against the
/// `logs` given with them (read as a stream; only the entries whose hash
/// is among the given ones are kept, so memory is bounded by `entries`).
/// Entries are shown as given, once per hash (a binding maps fields, users
/// add columns while analysing); one whose seq, time, event type or a
/// detail the log's entry holds differs from the log's is counted as
/// edited, one found in no log as unverified. Returns the entries to show
/// and the NOT VALID statuses to show next to the logs'.
fn checked_against_logs(entries: &[Entry], logs: &[PathBuf]) -> (Vec<Entry>, Vec<LogStatus>) {
    let wanted: HashSet<&str> = entries.iter().map(|e| e.hash.as_str()).collect();
    let mut found: HashMap<String, Entry> = HashMap::new();
    for path in logs {
        // A log that cannot be read (or is damaged from some point on) is
        // NOT VALID in its own status; its entries before that are used.
        let Ok(iter) = query(path, &Query::default()) else {
            continue;
        };
        for e in iter {
            let Ok(e) = e else { break };
            if wanted.contains(e.hash.as_str()) && !found.contains_key(&e.hash) {
                found.insert(e.hash.clone(), e);
            }
        }
    }
    let (mut out, mut edited, mut alone) =
        (Vec::with_capacity(entries.len()), Vec::new(), Vec::new());
    let mut shown: HashSet<&str> = HashSet::new();
    for e in entries {
        match found.get(&e.hash) {
            Some(l) => {
                // Shown as given (a binding maps fields, users add columns
                // while analysing); what the log holds must not differ.
                if l.seq != e.seq
                    || l.ts != e.ts
                    || l.event_type != e.event_type
                    || !details_agree(&l.details, &e.details)
                {
                    edited.push(e.seq);
                }
                if shown.insert(e.hash.as_str()) {
                    out.push(e.clone());
                }
            }
            None => {
                alone.push(e.seq);
                out.push(e.clone());
            }
        }
    }
    let status = |problem: String| LogStatus {
        path: "entries given".into(),
        valid: false,
        entries: 0,
        head: String::new(),
        problem: Some(problem),
    };
    let mut problems = Vec::new();
    if !edited.is_empty() {
        let one = edited.len() == 1;
        problems.push(status(format!(
            "{} {} given {} from the log's entry of the same hash (seq, time, event type or a detail the log holds; seq {}): edited, shown as given",
            edited.len(),
            if one { "entry" } else { "entries" },
            if one { "differs" } else { "differ" },
            seq_list(&edited),
        )));
    }
    if !alone.is_empty() {
        let one = alone.len() == 1;
        problems.push(status(format!(
            "{} {} given {} in no log given: not verified against a hash chain (seq {})",
            alone.len(),
            if one { "entry" } else { "entries" },
            if one { "is" } else { "are" },
            seq_list(&alone),
        )));
    }
    (out, problems)
}

/// Like [`write_entries_report`] with the verification results to show
/// given by the caller (e.g. of the logs in a database, from
/// [`crate::pg::verify_db`] and [`LogStatus::from_report`]) instead of
/// `opts.logs`.
pub fn write_entries_report_with_status(
    entries: &[Entry],
    logs: &[LogStatus],
    opts: &ReportOptions,
    out: &Path,
) -> Result<Vec<ReportFile>> {
    let mut es = entries.to_vec();
    es.sort_by(|a, b| a.ts.cmp(&b.ts).then(a.seq.cmp(&b.seq)));
    write_rendered(&es, logs, opts, out)
}

// --- reproduction -------------------------------------------------------------

/// Language of a reproduction script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScriptFormat {
    /// A bash script (RTGS Lab Tools' layout).
    #[default]
    #[serde(alias = "sh")]
    Bash,
    /// A Python script (TraceKit's `OperationHistory.to_script()` layout).
    #[serde(alias = "py")]
    Python,
}

/// Options of [`write_reproduction`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ReproOptions {
    /// Script language (default bash).
    pub format: ScriptFormat,
    /// Python: the module whose functions replay the operations (default
    /// `tracekit`, falling back to `evident.compat.tracekit`).
    pub module: Option<String>,
    /// Python: the name the module is imported as (default `tk`).
    pub alias: Option<String>,
    /// Command prefix before `TOOL OPERATION` (e.g. `rtgs`); none by default.
    pub program: Option<String>,
    /// What the script says it reproduces (default "recorded operations").
    pub title: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only these tools (`source`); empty: all.
    pub include_tools: Vec<String>,
    /// Not these operations (`action`).
    pub exclude_operations: Vec<String>,
    /// Only entries of this event type.
    pub event_type: Option<String>,
    /// Leave out operations that failed.
    pub skip_failed: bool,
    /// Print each operation's run time.
    pub add_timing: bool,
    /// Name the failed operation on stderr when one fails.
    pub add_error_handling: bool,
    /// Do not append `--note "Reproduction: …"` to each command.
    pub no_note: bool,
    /// HMAC key (hex) of keyed logs, to verify them before their entries
    /// are used (without it a keyed log's links and seqs are checked, not
    /// its hashes).
    pub key_hex: Option<String>,
    /// The same as a key (set by Rust callers; wins over `key_hex`).
    #[serde(skip)]
    pub key: Option<Key>,
}

/// What [`write_reproduction`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ReproInfo {
    pub script_path: PathBuf,
    pub operation_count: usize,
    /// UTC date of the first and last operation (`None` without operations).
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    /// The input log files that do not verify, as `path: first problem`
    /// (a keyed log without [`ReproOptions::key`]: its links and seqs
    /// only). The script is written from their entries as they are, and
    /// says so at its top; empty when every log verifies. Markdown reports
    /// and databases given as inputs are read, not verified (see the
    /// README's known limitations; `evident verify postgres://…`).
    #[serde(default)]
    pub unverified: Vec<String>,
    /// The keyed logs given without their key, as `path: what` (not a
    /// failure; the script is as usual): their links and seqs were checked,
    /// not their hashes. (Entries read from Markdown reports alone are not
    /// verified either, as documented; an edited report is `unverified`.)
    #[serde(default)]
    pub unchecked: Vec<String>,
}

/// A bash word: bare when it has only safe characters, else quoted (in
/// double quotes, or `$'…'` for control characters), so the value is
/// passed exactly.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-:=+,@%".contains(c))
    {
        return s.to_string();
    }
    dq(s)
}

/// Characters that change how text is shown rather than being shown:
/// control characters (C0, DEL, C1), the bidirectional embeddings,
/// overrides, isolates and marks, and the line and paragraph separators.
pub fn is_invisible_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{2028}' | '\u{2029}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Characters that show nothing at all: Unicode's default-ignorable code
/// points (DerivedCoreProperties, Unicode 15): the soft hyphen, the
/// combining grapheme joiner, the Hangul fillers, the Mongolian free
/// variation selectors and vowel separator, zero-width space and
/// (non-)joiners, the word joiner and invisible operators, variation
/// selectors, the BOM (zero-width no-break space), shorthand format
/// controls, musical symbol formatting and the tag characters. Shown raw,
/// `alice` and `alice` followed by one of them look the same.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{61c}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fff8}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}'
    )
}

/// Characters a reader cannot see as themselves: those that change how
/// text is shown ([`is_invisible_control`]) and those that show nothing
/// ([`is_invisible_format`]). What a person reads (a terminal line, a
/// Markdown or HTML report) writes them as escapes.
pub fn is_hidden(c: char) -> bool {
    is_invisible_control(c) || is_invisible_format(c)
}

/// `s` with each [`is_hidden`] character replaced by what `escape` writes
/// for it (the escape syntax of where the text goes: JSON, Python, a
/// terminal line); `s` unchanged, not copied, without any.
pub fn escape_invisible(s: &str, escape: impl Fn(char, &mut String)) -> Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_hidden(c) {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Double-quoted (the layout of RTGS scripts) with `\ " $ `` ` escaped; a
/// value with control, bidi or invisible characters ([`is_hidden`]) is
/// ANSI-C quoted (`$'...'`) with
/// those characters as `\xHH` bytes, so the script shows them escaped and
/// bash passes them exactly. A NUL byte cannot be passed: see [`bash_values`].
fn dq(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    if s.chars().any(is_hidden) {
        out.push_str("$'");
        for c in s.chars() {
            if is_hidden(c) {
                let mut b = [0u8; 4];
                for byte in c.encode_utf8(&mut b).bytes() {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
            } else {
                if matches!(c, '\\' | '\'') {
                    out.push('\\');
                }
                out.push(c);
            }
        }
        out.push('\'');
        return out;
    }
    out.push('"');
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Text in a `#` comment of a script: one line, control, bidi and
/// invisible characters escaped (`\u{1b}`), so nothing in it is run or
/// hidden.
fn comment_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_hidden(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// A string as a JSON string (quoted, escapes visible), for comments.
fn py_repr(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A recorded git commit that is a commit id (4 to 64 hex digits): only
/// such a commit is checked out (anything else could be an option of
/// `git checkout` or a ref an attacker prepared).
fn is_commit_id(c: &str) -> bool {
    (4..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_hexdigit())
}

fn has_nul_byte(v: &Value) -> bool {
    // iterative: a value nests at most 128 levels, but stay off the stack
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) if s.contains('\0') => return true,
            Value::Array(a) => stack.extend(a),
            Value::Object(m) => {
                for (k, x) in m {
                    if k.contains('\0') {
                        return true;
                    }
                    stack.push(x);
                }
            }
            _ => {}
        }
    }
    false
}

/// Refuses an entry whose replayed words hold a NUL byte: no command line
/// can carry one (bash would cut or drop it), so the replay would differ.
/// Refuses a tool or operation name starting with `-` too: it would reach
/// the replayed program as an option, not as the name recorded; and a
/// parameter named "" (the word `--`, which ends the options).
fn bash_values(e: &Entry, opts: &ReproOptions) -> Result<()> {
    for (what, word) in [
        ("tool (source)", &e.source),
        ("operation (action)", &e.action),
    ] {
        if word.starts_with('-') {
            return Err(Error::InvalidArgument(format!(
                "reproduce: entry seq {}: the {what} {:?} starts with '-', so the \
                 replayed command would take it as an option",
                e.seq, word
            )));
        }
    }
    let mut texts: Vec<&str> = vec![&e.source, &e.action];
    texts.extend(e.note.as_deref());
    texts.extend(opts.program.as_deref());
    let mut has_nul = texts.iter().any(|t| t.contains('\0'));
    if let Some(params) = obj(&e.details, "parameters") {
        for (k, v) in params {
            if k.is_empty() && !matches!(v, Value::Null | Value::Bool(false)) {
                return Err(Error::InvalidArgument(format!(
                    "reproduce: entry seq {}: a parameter has an empty name, which would \
                     be the word `--` and end the replayed command's options",
                    e.seq
                )));
            }
            if k.contains('=') && !matches!(v, Value::Null | Value::Bool(false)) {
                return Err(Error::InvalidArgument(format!(
                    "reproduce: entry seq {}: the parameter name {:?} holds '=', so the \
                     replayed command would read `--NAME=…` as another option with a value",
                    e.seq, k
                )));
            }
            has_nul |= k.contains('\0') || has_nul_byte(v);
        }
    }
    if has_nul {
        return Err(Error::InvalidArgument(format!(
            "reproduce: entry seq {}: a value holds a NUL byte, which a command line cannot pass",
            e.seq
        )));
    }
    Ok(())
}

#[derive(Serialize)]
struct ReproOp {
    checkout: Option<String>,
    /// A recorded git state that is not a commit id (shown, not used).
    not_checked_out: Option<String>,
    /// A recorded shell command (`details.command`), shown, never run.
    recorded_command: Option<String>,
    title: String,
    echo: String,
    command: String,
    failed: Option<String>,
}

fn command_of(e: &Entry, opts: &ReproOptions) -> String {
    let mut words: Vec<String> = Vec::new();
    if let Some(p) = opts.program.as_deref().filter(|p| !p.is_empty()) {
        words.push(shell_quote(p));
    }
    if !e.source.is_empty() {
        words.push(shell_quote(&e.source));
    }
    words.push(shell_quote(&e.action));
    let mut lines = vec![words.join(" ")];
    if let Some(params) = obj(&e.details, "parameters") {
        for (k, v) in recorded_order(params, &e.details, "parameter_order") {
            let flag = format!("--{}", k.replace('_', "-"));
            let flag = shell_quote(&flag);
            match v {
                Value::Null | Value::Bool(false) => {}
                Value::Bool(true) => lines.push(flag),
                Value::String(s) => lines.push(format!("{flag} {}", dq(s))),
                Value::Number(n) => lines.push(format!("{flag} {}", dq(&n.to_string()))),
                other => lines.push(format!("{flag} {}", dq(&other.to_string()))),
            }
        }
    }
    if !opts.no_note {
        let note = match &e.note {
            Some(n) => format!("Reproduction: {n}"),
            None => format!(
                "Reproduction of {} at {}",
                op_title(e),
                crate::format::format_ts(&e.ts)
            ),
        };
        lines.push(format!("--note {}", dq(&note)));
    }
    lines.join(" \\\n  ")
}

/// The operations a reproduction script replays, oldest first.
pub(crate) fn repro_selected<'a>(entries: &'a [Entry], opts: &ReproOptions) -> Vec<&'a Entry> {
    entries
        .iter()
        .filter(|e| !e.action.is_empty())
        .filter(|e| opts.since.is_none_or(|s| e.ts >= s))
        .filter(|e| opts.until.is_none_or(|u| e.ts < u))
        .filter(|e| opts.include_tools.is_empty() || opts.include_tools.contains(&e.source))
        .filter(|e| !opts.exclude_operations.contains(&e.action))
        .filter(|e| opts.event_type.as_deref().is_none_or(|t| e.event_type == t))
        .filter(|e| !(opts.skip_failed && e.success == Some(false)))
        .collect()
}

/// Renders the reproduction script of `entries` (oldest first) in
/// `opts.format`.
pub fn render_reproduction<'a>(
    entries: &'a [Entry],
    opts: &ReproOptions,
) -> Result<(String, Vec<&'a Entry>)> {
    if opts.format == ScriptFormat::Python {
        return python::render(entries, opts);
    }
    let ops = repro_selected(entries, opts);
    let mut current: Option<&str> = None;
    let mut rops = Vec::new();
    for e in &ops {
        bash_values(e, opts)?;
        let (checkout, not_checked_out) = match e.git_commit.as_deref().filter(|c| !c.is_empty()) {
            Some(c) if current != Some(c) => {
                current = Some(c);
                if is_commit_id(c) {
                    (Some(c.to_string()), None)
                } else {
                    (None, Some(comment_text(&py_repr(c))))
                }
            }
            _ => (None, None),
        };
        let title = op_title(e);
        let when = e.ts.format("%Y-%m-%d %H:%M:%S").to_string();
        rops.push(ReproOp {
            checkout,
            not_checked_out,
            recorded_command: str_field(&e.details, "command").map(comment_text),
            // echoed to a terminal: controls shown escaped, one line
            echo: dq(&comment_text(&format!("Executing: {title} ({when})"))),
            title: comment_text(&title),
            command: command_of(e, opts),
            failed: (e.success == Some(false))
                .then(|| comment_text(e.error.as_deref().unwrap_or("no error message recorded"))),
        });
    }
    let day = |e: Option<&&Entry>| e.map(|e| e.ts.format("%Y-%m-%d").to_string());
    let title = opts
        .title
        .clone()
        .unwrap_or_else(|| "recorded operations".into());
    let text = render(
        "reproduce.sh",
        context! {
            generated => Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
            start => day(ops.first()).unwrap_or_else(|| "-".into()),
            end => day(ops.last()).unwrap_or_else(|| "-".into()),
            start_msg => dq(&comment_text(&format!("Starting reproduction of {title}..."))),
            ops => rops,
            timing => opts.add_timing,
            error_handling => opts.add_error_handling,
        },
    )?;
    // A script is a text file: it ends with a newline (the template engine
    // drops the template's last one), so a line appended with `>>` is a
    // command of its own.
    let mut text = text;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok((text, ops))
}

/// Writes the reproduction script (bash or Python, `opts.format`) of the
/// operations recorded in `inputs` (logs, Markdown reports, directories) to
/// `out` (mode 0755).
pub fn write_reproduction(
    inputs: &[PathBuf],
    opts: &ReproOptions,
    out: &Path,
) -> Result<ReproInfo> {
    let key = opts
        .key
        .clone()
        .map_or_else(|| key_of(&opts.key_hex), |k| Ok(Some(k)))?;
    let c = collect(inputs, opts.since, opts.until)?;
    let mut unverified = Vec::new();
    let mut unchecked = Vec::new();
    for log in &c.logs {
        // Every violation (a keyed log checked without its key reports
        // that first; its links and seqs are still checked).
        let r = match verify_given_key(log, key.as_ref(), true) {
            Ok(r) => r,
            Err(e) => {
                unverified.push(e.to_string());
                continue;
            }
        };
        let keyed = r.alg.as_deref().is_some_and(|a| a.starts_with("hmac-"));
        let found = r
            .violations
            .iter()
            // A torn tail fails too, as `verify` fails it: the bytes cut
            // off may be an acknowledged entry, cut on purpose.
            // Without a key, a keyed log's missing key is noted below; with
            // one, a wrong key is a failure like any other. The one key is
            // for the keyed logs given: a keyless log given with it is fine.
            .find(|v| match v.kind {
                ViolationKind::WrongKey => key.is_some() && keyed,
                _ => true,
            });
        if let Some(v) = found {
            unverified.push(format!("{}: {v}", log.display()));
        } else if key.is_none()
            && r.violations
                .iter()
                .any(|v| matches!(v.kind, ViolationKind::WrongKey))
        {
            unchecked.push(log.display().to_string());
        }
    }

    unverified.extend(c.report_failures.iter().cloned());
    let notes: Vec<String> = unchecked
        .iter()
        .map(|p| {
            format!(
                "{p}: the log is keyed and no key was given (--key-file, key=): its \
                 hashes were not checked, its links and sequence numbers were"
            )
        })
        .collect();
    let mut info = write_reproduction_with(&c.entries, opts, out, &unverified)?;
    info.unverified = unverified;
    info.unchecked = notes;
    Ok(info)
}

/// Like [`write_reproduction`] for entries given directly.
pub fn write_reproduction_of(
    entries: &[Entry],
    opts: &ReproOptions,
    out: &Path,
) -> Result<ReproInfo> {
    write_reproduction_with(entries, opts, out, &[])
}

/// [`write_reproduction_of`], the script saying first which logs did not
/// verify (`unverified`, from [`write_reproduction`]). What could not be
/// checked is not written into the script: its layout (RTGS's) stays as
/// it is for the usual case, a directory of reports.
fn write_reproduction_with(
    entries: &[Entry],
    opts: &ReproOptions,
    out: &Path,
    unverified: &[String],
) -> Result<ReproInfo> {
    let (mut text, ops) = render_reproduction(entries, opts)?;
    // After the `#!` line: a comment in bash and in Python alike.
    let mut warn = String::new();
    for u in unverified {
        warn.push_str(&format!(
            "# WARNING: a log did not verify; its operations below are as read, \
             not as recorded: {}\n",
            comment_text(u)
        ));
    }
    let at = text.find('\n').map_or(0, |i| i + 1);
    text.insert_str(at, &warn);
    if let Some(p) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(p).map_err(|e| Error::io(p, "create directory", e))?;
    }
    write_atomic(out, &text, true)?;
    let day = |e: Option<&&Entry>| e.map(|e| e.ts.format("%Y-%m-%d").to_string());
    Ok(ReproInfo {
        script_path: out.to_path_buf(),
        operation_count: ops.len(),
        start_date: day(ops.first()),
        end_date: day(ops.last()),
        unverified: Vec::new(),
        unchecked: Vec::new(),
    })
}

/// The distinct tools of `entries` (for callers listing them).
pub fn tools(entries: &[Entry]) -> BTreeSet<String> {
    entries.iter().map(|e| e.source.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(seq: u64, ts: &str, tool: &str, op: &str, ok: Option<bool>, details: Value) -> Entry {
        Entry {
            seq,
            ts: DateTime::parse_from_rfc3339(ts)
                .unwrap()
                .with_timezone(&Utc),
            event_type: "tool_operation".into(),
            action: op.into(),
            actor: "alice".into(),
            host: "h".into(),
            session_id: String::new(),
            source: tool.into(),
            otr: false,
            success: ok,
            duration_ms: Some(45_700.0),
            error: (ok == Some(false)).then(|| "boom".to_string()),
            note: Some("Monthly analysis".into()),
            git_commit: Some("abc123def456".into()),
            details,
            prev: String::new(),
            hash: format!("h{seq}"),
        }
    }

    fn sample() -> Vec<Entry> {
        vec![
            entry(
                1,
                "2023-06-15T14:30:22Z",
                "sensing-data",
                "extract",
                Some(true),
                json!({"parameters": {"project": "Winter Turf - v3", "start_date": "2023-01-01", "end_date": "2023-01-31"},
                       "results": {"records_extracted": 15420}}),
            ),
            entry(
                2,
                "2023-06-15T15:00:00Z",
                "visualization",
                "create",
                Some(false),
                json!({"parameters": {"file": "a \"b\" $HOME"}}),
            ),
            entry(
                3,
                "2023-06-16T09:00:00Z",
                "sensing-data",
                "list-projects",
                Some(true),
                json!({}),
            ),
        ]
    }

    #[test]
    fn daily_markdown_has_the_rtgs_layout() {
        let files = render_markdown(&sample(), &[], &ReportOptions::default()).unwrap();
        assert_eq!(files.len(), 2);
        let (day, name, text) = &files[0];
        assert_eq!(day, "2023-06-15");
        assert_eq!(name, "audit_report_2023-06-15.md");
        assert!(text.starts_with("# Audit Report - 2023-06-15\n\n## Summary\n- Total Operations: 2\n- Successful: 1 (50.0%)\n- Failed: 1 (50.0%)\n- Tools Used: sensing-data, visualization\n"), "{text}");
        assert!(text.contains("### 14:30:22 - sensing-data extract ✅\n- **Date Range**: 2023-01-01 to 2023-01-31\n- **Project**: Winter Turf - v3\n- **Records**: 15,420\n- **Duration**: 45.7s\n"), "{text}");
        assert!(text.contains("### 15:00:00 - visualization create ❌"));
        let back = report_entries_from_text(text);
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].details["parameters"]["file"], "a \"b\" $HOME");
    }

    fn report_entries_from_text(text: &str) -> Vec<Entry> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.md");
        fs::write(&p, text).unwrap();
        let (es, curation) = report_entries(&p).unwrap().unwrap();
        assert!(curation.edited.is_empty(), "as written: {curation:?}");
        assert_eq!(curation.problem(&[]), None, "as written: {curation:?}");
        es
    }

    #[test]
    fn embedded_entries_survive_comment_closers_and_bad_blocks_are_named() {
        let mut es = sample();
        es[0].details = json!({"parameters": {"x": "a --> b <!-- c > d"}});
        es[0].note = Some("line1\n<!-- evident-entries -->".into());
        let files = render_markdown(&es, &[], &ReportOptions::default()).unwrap();
        let text = &files[0].2;
        let block = &text[text.rfind(&format!("\n{ENTRIES_MARKER}")).unwrap()..];
        assert_eq!(
            block.matches("-->").count(),
            1,
            "only the closing line: {block}"
        );
        let back = report_entries_from_text(text);
        assert_eq!(back[0].details["parameters"]["x"], "a --> b <!-- c > d");
        assert_eq!(
            back[0].note.as_deref(),
            Some("line1\n<!-- evident-entries -->")
        );
        assert!(
            text.contains("- **Note**: line1\\u{a}\\<!-- evident-entries --\\>"),
            "one line in the Markdown, no comment opened: {text}"
        );

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.md");
        fs::write(&p, format!("{ENTRIES_MARKER}\n{{\"seq\": 1}}\n-->\n")).unwrap();
        let e = report_entries(&p).unwrap_err().to_string();
        assert!(e.contains("bad.md") && e.contains("entry 1"), "{e}");
        fs::write(&p, format!("{ENTRIES_MARKER}\n")).unwrap();
        assert!(report_entries(&p)
            .unwrap_err()
            .to_string()
            .contains("not closed"));
        let e = collect(std::slice::from_ref(&p), None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.md"), "{e}");
    }

    #[test]
    fn weekly_and_tool_reports() {
        let o = ReportOptions {
            by: GroupBy::Week,
            ..ReportOptions::default()
        };
        let files = render_markdown(&sample(), &[], &o).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, "2023-W24");
        assert!(files[0].2.contains("(2023-06-12 to 2023-06-18)"));
        assert!(
            files[0].2.contains("| sensing-data | 2 | 2 | 0 | 45.7s |"),
            "{}",
            files[0].2
        );
        let o = ReportOptions {
            by: GroupBy::Tool,
            ..ReportOptions::default()
        };
        let files = render_markdown(&sample(), &[], &o).unwrap();
        assert_eq!(
            files.iter().map(|f| f.1.as_str()).collect::<Vec<_>>(),
            [
                "tool_report_sensing-data.md",
                "tool_report_visualization.md"
            ]
        );
    }

    #[test]
    fn html_is_self_contained_with_charts_and_escaping() {
        let mut es = sample();
        es[0].action = "<script>alert(1)</script>".into();
        let logs = [LogStatus {
            path: "a.jsonl".into(),
            valid: true,
            entries: 3,
            head: "3:ff".into(),
            problem: None,
        }];
        let html = render_html(&es, &logs, &ReportOptions::default()).unwrap();
        assert!(html.contains("<svg"));
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("http://") || !html.contains("src=\"http"));
        assert!(html.contains("3:ff"));
        assert!(!html.contains("<script"), "no scripts at all");
    }

    #[test]
    fn parameters_and_results_keep_their_recorded_order() {
        // seed 002's script and report show parameters as the operation gave
        // them (project, start, end); the log's details are sorted by name,
        // so the order is recorded next to them
        let mut es = sample();
        es[0].details = json!({
            "parameters": {"project": "Winter Turf - v3", "start_date": "2023-01-01", "end_date": "2023-01-31"},
            "parameter_order": ["project", "start_date", "end_date", "project", "missing", 7],
            "results": {"records_extracted": 15420, "output_file": "./o.csv", "zeta": 1},
            "result_order": ["zeta", "records_extracted"],
        });
        let (text, _) = render_reproduction(
            &es[..1],
            &ReproOptions {
                program: Some("rtgs".into()),
                ..ReproOptions::default()
            },
        )
        .unwrap();
        assert!(text.contains("rtgs sensing-data extract \\\n  --project \"Winter Turf - v3\" \\\n  --start-date \"2023-01-01\" \\\n  --end-date \"2023-01-31\" \\\n  --note "), "{text}");
        let files = render_markdown(&es[..1], &[], &ReportOptions::default()).unwrap();
        assert!(files[0].2.contains("### 14:30:22 - sensing-data extract ✅\n- **Project**: Winter Turf - v3\n- **Date Range**: 2023-01-01 to 2023-01-31\n- **Zeta**: 1\n- **Records**: 15,420\n- **Duration**: 45.7s\n- **Output**: ./o.csv\n"), "{}", files[0].2);
        // the Python script passes them in the same order
        let (py, _) = render_reproduction(
            &es[..1],
            &ReproOptions {
                format: ScriptFormat::Python,
                ..ReproOptions::default()
            },
        )
        .unwrap();
        assert!(
            py.contains(
                ".extract(project=\"Winter Turf - v3\", start_date=\"2023-01-01\", end_date=\"2023-01-31\")"
            ),
            "{py}"
        );
        // without a recorded order: by name, as before
        let plain = render_markdown(&sample()[..1], &[], &ReportOptions::default()).unwrap();
        assert!(plain[0].2.contains(
            "- **Date Range**: 2023-01-01 to 2023-01-31\n- **Project**: Winter Turf - v3\n"
        ));
    }

    #[test]
    fn a_directory_is_read_with_its_subdirectories() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |rel: &str, action: &str| {
            let p = dir.path().join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            let log = crate::Log::open(&p, crate::OpenOptions::new()).unwrap();
            log.append(&crate::Event::new("tool_operation", action))
                .unwrap();
            log.close().unwrap();
        };
        mk("a.jsonl", "top");
        mk("week_1/b.jsonl", "nested");
        mk("week_1/deeper/c.jsonl", "deeper");
        mk(".hidden/d.jsonl", "hidden");
        fs::write(dir.path().join("week_1/notes.txt"), "not a log").unwrap();
        let got = collect(&[dir.path().to_path_buf()], None, None).unwrap();
        let mut actions: Vec<&str> = got.entries.iter().map(|e| e.action.as_str()).collect();
        actions.sort_unstable();
        assert_eq!(actions, ["deeper", "nested", "top"]);
        assert_eq!(got.logs.len(), 3);
    }

    /// Bare URLs and `www.` names are not links in GitHub's Markdown (its
    /// autolink extension): the `:` and the `.` after `www` are escaped,
    /// which renders them as they are. (A bare e-mail address is still
    /// linked there, as `mailto:`: no escape stops that.)
    #[test]
    fn recorded_urls_are_not_links() {
        assert_eq!(
            md("see https://evil.example/x and WWW.evil.example, ftp://a"),
            "see https\\://evil.example/x and WWW\\.evil.example, ftp\\://a"
        );
        assert_eq!(md("10:30 v1.2 www"), "10\\:30 v1.2 www");
    }

    /// A Markdown report next to its log, its recorded entry edited (the
    /// hash kept): the entry read first (the report's name sorts first)
    /// replaced the log's in every report and script, under the log's
    /// "valid". Now the log's entry is kept and the report named as
    /// edited; entries only a report holds are named as not verified.
    #[test]
    fn an_edited_report_never_stands_in_for_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let log_path = dir.path().join("prod.jsonl");
        let log = crate::Log::open(&log_path, crate::OpenOptions::new()).unwrap();
        log.append(&crate::Event::new("ACTION_EXECUTED", "delete_backups").actor("mallory"))
            .unwrap();
        log.close().unwrap();
        let md = dir.path().join("md");
        let files = write_reports(
            std::slice::from_ref(&log_path),
            &ReportOptions::default(),
            &md,
        )
        .unwrap();
        let text = fs::read_to_string(&files[0].path).unwrap();
        let edited = text
            .replace("delete_backups", "read_metrics")
            .replace("mallory", "alice");
        let name = files[0].path.file_name().unwrap();
        fs::write(dir.path().join(name), &edited).unwrap(); // "audit_…" < "prod…"
        let got = collect(&[dir.path().to_path_buf()], None, None).unwrap();
        assert_eq!(got.entries.len(), 1);
        assert_eq!(got.entries[0].action, "delete_backups");
        assert_eq!(got.report_problems.len(), 1, "{:?}", got.report_problems);
        let p = got.report_problems[0].problem.as_deref().unwrap();
        assert!(!got.report_problems[0].valid && p.contains("edited"), "{p}");
        // The same report alone: its entry is shown, as not verified.
        let alone = collect(&[dir.path().join(name)], None, None).unwrap();
        assert_eq!(alone.entries[0].action, "read_metrics");
        let p = alone.report_problems[0].problem.as_deref().unwrap();
        assert!(p.contains("not verified"), "{p}");
        // An unedited copy next to its log says nothing.
        fs::write(dir.path().join(name), &text).unwrap();
        let got = collect(&[dir.path().to_path_buf()], None, None).unwrap();
        assert!(got.report_problems.is_empty(), "{:?}", got.report_problems);
    }

    #[test]
    fn a_commit_id_is_shortened_and_other_text_shown_whole() {
        let mut es = sample();
        es[0].git_commit = Some("0123456789abcdef0123".into());
        es[1].git_commit = Some("not-hex; rm -rf /".into());
        let files = render_markdown(&es[..2], &[], &ReportOptions::default()).unwrap();
        let text = &files[0].2;
        assert!(text.contains("- **Git**: 0123456789ab\n"), "{text}");
        assert!(text.contains("- **Git**: not-hex; rm -rf /\n"), "{text}");
    }

    #[test]
    fn bash_script_quotes_exactly_and_checks_out_commits() {
        let es = sample();
        let (text, ops) = render_reproduction(
            &es,
            &ReproOptions {
                program: Some("rtgs".into()),
                exclude_operations: vec!["list-projects".into()],
                ..ReproOptions::default()
            },
        )
        .unwrap();
        assert_eq!(ops.len(), 2);
        assert!(text.starts_with("#!/bin/bash\n# Reproduction script generated on "));
        assert!(text.contains("# Original execution timespan: 2023-06-15 to 2023-06-15\n"));
        assert!(text.contains("set -e  # Exit on error\n"));
        assert_eq!(text.matches("git checkout abc123def456").count(), 1);
        assert!(text.contains("echo \"Executing: sensing-data extract (2023-06-15 14:30:22)\"\nrtgs sensing-data extract \\\n  --end-date \"2023-01-31\" \\\n  --project \"Winter Turf - v3\" \\\n  --start-date \"2023-01-01\" \\\n  --note \"Reproduction: Monthly analysis\"\n"), "{text}");
        assert!(text.contains(r#"--file "a \"b\" \$HOME""#));
        assert!(!text.contains("list-projects"));
        assert!(text.ends_with("echo \"Reproduction script completed successfully\"\n"));
    }

    #[test]
    fn python_script_has_the_tracekit_layout_and_is_safe() {
        let mut es = sample();
        es.push(entry(
            4,
            "2023-06-16T10:00:00Z",
            "scope",
            "measure",
            Some(true),
            json!({"parameters": {"class": 1, "ok": true, "none": null, "x y": [1.5, "s\n\"'"], "nested": {"a": false}}}),
        ));
        es.push(entry(
            5,
            "2023-06-16T10:00:01Z",
            "scope",
            "os.system('rm -rf /')",
            Some(true),
            json!({"path": "a.wfm"}),
        ));
        es.push(entry(
            6,
            "2023-06-16T10:00:02Z",
            "scope",
            "load_trace",
            None,
            json!({"path": "signal.wfm"}),
        ));
        let (text, ops) = render_reproduction(
            &es,
            &ReproOptions {
                format: ScriptFormat::Python,
                exclude_operations: vec!["list-projects".into()],
                ..ReproOptions::default()
            },
        )
        .unwrap();
        assert_eq!(ops.len(), 5);
        assert!(
            text.starts_with(
                "#!/usr/bin/env python3\n\"\"\"TraceKit analysis script.\n\nGenerated: "
            ),
            "{text}"
        );
        assert!(text.contains("\ntry:\n    import tracekit as tk\nexcept ImportError:\n    import evident.compat.tracekit as tk\n"), "{text}");
        assert!(
            text.contains("# 14:30:22 - extract\ntk.extract(end_date=\"2023-01-31\", project=\"Winter Turf - v3\", start_date=\"2023-01-01\")\n"),
            "{text}"
        );
        // a failed operation is a comment naming its error
        assert!(
            text.contains(
                "# 15:00:00 - create\n# FAILED: tk.create(file=\"a \\\"b\\\" $HOME\"): boom\n"
            ),
            "{text}"
        );
        // keywords and non-identifiers go through **{...}; values are Python literals
        assert!(
            text.contains(r#"tk.measure(**{"class": 1}, nested={"a": False}, none=None, ok=True, **{"x y": [1.5, "s\n\"'"]})"#),
            "{text}"
        );
        // an operation that is not a Python name calls nothing
        assert!(
            text.contains("# (not a Python name) \"os.system('rm -rf /')\"\n"),
            "{text}"
        );
        assert!(!text.contains("\ntk.os"), "{text}");
        // details without "parameters" are the parameters (TraceKit's record_action)
        assert!(
            text.contains("# 10:00:02 - load_trace\ntk.load_trace(path=\"signal.wfm\")\n"),
            "{text}"
        );
        // the bash-only options are refused, and so are bad module names
        for bad in [
            ReproOptions {
                program: Some("rtgs".into()),
                ..ReproOptions::default()
            },
            ReproOptions {
                module: Some("os; import x".into()),
                ..ReproOptions::default()
            },
            ReproOptions {
                alias: Some("a b".into()),
                ..ReproOptions::default()
            },
        ] {
            let opts = ReproOptions {
                format: ScriptFormat::Python,
                ..bad
            };
            assert!(matches!(
                render_reproduction(&es, &opts),
                Err(Error::InvalidArgument(_))
            ));
        }
        let (custom, _) = render_reproduction(
            &es,
            &ReproOptions {
                format: ScriptFormat::Python,
                module: Some("mylab.tools".into()),
                alias: Some("ml".into()),
                title: Some("the \"June\" runs".into()),
                skip_failed: true,
                ..ReproOptions::default()
            },
        )
        .unwrap();
        assert!(
            custom.contains("\"\"\"Reproduction of the \\\"June\\\" runs.\n"),
            "{custom}"
        );
        assert!(custom.contains("\nimport mylab.tools as ml\n"), "{custom}");
        assert!(!custom.contains("FAILED"), "{custom}");
    }
}
