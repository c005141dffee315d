//! `evident report` and `evident reproduce`: thin wrappers over
//! [`evident::report`].

use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use evident::report::{self, GroupBy, ReportFormat, ReportOptions, ReproOptions};

use crate::util::{self, Failure};
use crate::KeyArg;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Markdown files, one per day, week or tool (see --by).
    Md,
    /// One self-contained HTML file with charts.
    Html,
    /// One PDF file (A4) with the HTML report's content.
    Pdf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ByArg {
    Day,
    Week,
    Tool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScriptFormat {
    /// A bash script (RTGS Lab Tools' layout).
    Bash,
    /// A Python script (TraceKit's `to_script()` layout): one
    /// `tk.operation(name=value, ...)` call per operation.
    Python,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Logs, Markdown reports written by `evident report`, or directories of them.
    #[arg(required = true)]
    pub logs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Md)]
    pub format: FormatArg,
    /// Markdown: one file per day, ISO week or tool.
    #[arg(long, value_enum, default_value_t = ByArg::Day)]
    pub by: ByArg,
    /// Only entries at or after this time (RFC 3339, YYYY-MM-DD (UTC), 1h, 2d, yesterday, today).
    #[arg(long, value_name = "TIME", value_parser = crate::timespec::parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Only entries before this time (RFC 3339, YYYY-MM-DD (UTC), 1h, 2d, yesterday, today).
    #[arg(long, value_name = "TIME", value_parser = crate::timespec::parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// Only entries of this tool (source).
    #[arg(long, value_name = "TOOL")]
    pub source: Option<String>,
    /// Only entries of this event type.
    #[arg(long, value_name = "TYPE")]
    pub event_type: Option<String>,
    /// HTML and PDF: the report's title.
    #[arg(long)]
    pub title: Option<String>,
    /// HTML and PDF: leave out the charts.
    #[arg(long)]
    pub no_charts: bool,
    #[command(flatten)]
    pub key: KeyArg,
    /// Output directory (HTML, PDF: the .html / .pdf file to write, or a directory for audit_report.html / audit_report.pdf).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct ReproduceArgs {
    /// Logs, Markdown reports written by `evident report`, directories of
    /// them, or PostgreSQL databases (postgres://…, ?log_id=ID for one log).
    #[arg(required = true)]
    pub logs: Vec<PathBuf>,
    /// The key of keyed logs, to verify them before their entries are used
    /// (without it only their links and seqs are checked).
    #[command(flatten)]
    pub key: KeyArg,
    /// Script language.
    #[arg(long, value_enum, default_value_t = ScriptFormat::Bash)]
    pub format: ScriptFormat,
    /// The script to write (mode 0755; replaced if it exists).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Bash: command run for each operation, before TOOL OPERATION (e.g. rtgs).
    #[arg(long)]
    pub program: Option<String>,
    /// Python: the module whose functions replay the operations (default
    /// tracekit, falling back to evident.compat.tracekit).
    #[arg(long, value_name = "MODULE")]
    pub module: Option<String>,
    /// Python: the name the module is imported as (default tk).
    #[arg(long, value_name = "NAME")]
    pub alias: Option<String>,
    /// What the script says it reproduces.
    #[arg(long)]
    pub title: Option<String>,
    /// Only operations at or after this time.
    #[arg(long, value_name = "TIME", value_parser = crate::timespec::parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Only operations before this time.
    #[arg(long, value_name = "TIME", value_parser = crate::timespec::parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// Only operations of these tools (repeatable).
    #[arg(long = "tool", value_name = "TOOL")]
    pub tools: Vec<String>,
    /// Leave out these operations (repeatable).
    #[arg(long = "exclude-operation", value_name = "OP")]
    pub exclude: Vec<String>,
    /// Only entries of this event type.
    #[arg(long, value_name = "TYPE")]
    pub event_type: Option<String>,
    /// Leave out operations that failed.
    #[arg(long)]
    pub skip_failed: bool,
    /// Bash: print each operation's run time.
    #[arg(long)]
    pub timing: bool,
    /// Bash: name the failing operation on stderr.
    #[arg(long)]
    pub error_handling: bool,
    /// Bash: do not add `--note "Reproduction: …"` to each command.
    #[arg(long)]
    pub no_note: bool,
}

/// A library error as one line: the library's messages name the file.
fn fail(e: evident::Error) -> Failure {
    match e {
        evident::Error::InvalidArgument(m) => Failure::usage(m),
        e @ (evident::Error::Malformed { .. } | evident::Error::Corrupt { .. }) => Failure {
            code: util::EXIT_FAILED,
            msg: e.to_string(),
        },
        e @ evident::Error::Database { .. } => Failure {
            code: util::EXIT_ERROR,
            msg: e.to_string(),
        },
        e => Failure::usage(e.to_string()),
    }
}

/// The entries of a report over PostgreSQL databases (`postgres://…`
/// inputs, `?log_id=` for one log), filtered there; None for files.
#[cfg(feature = "postgres")]
#[allow(clippy::type_complexity)]
fn db_entries(
    inputs: &[PathBuf],
    opts: &ReportOptions,
) -> Result<Option<(Vec<evident::Entry>, Vec<report::LogStatus>)>, Failure> {
    use evident::pg::{self, DbQuery, Target};
    let is_url = |p: &PathBuf| p.to_str().is_some_and(pg::is_url);
    if !inputs.iter().any(is_url) {
        return Ok(None);
    }
    if !inputs.iter().all(is_url) {
        return Err(Failure::usage(
            "a report reads either log files or databases (postgres://…), not both",
        ));
    }
    let mut entries = Vec::new();
    let mut logs = Vec::new();
    let db_fail = |e: evident::Error| Failure {
        code: util::EXIT_ERROR,
        msg: e.to_string(),
    };
    for url in inputs.iter().filter_map(|p| p.to_str()) {
        // Every chain in the database (or the URL's one log) is verified
        // and shown at the top, as a file report verifies its files.
        let mut vo = evident::VerifyOptions::default().key(opts.key.clone());
        vo.threads = 1;
        let reports = pg::verify_db(url, &vo).map_err(db_fail)?;
        logs.extend(reports.iter().map(report::LogStatus::from_report));
        let t = Target::parse(url).map_err(fail)?;
        let mut dq = DbQuery::default();
        dq.q.since = opts.since;
        dq.q.until = opts.until;
        dq.q.source.clone_from(&opts.source);
        dq.q.event_type.clone_from(&opts.event_type);
        let rows = pg::query_db(&t, &dq).map_err(db_fail)?;
        entries.extend(rows.into_iter().map(|r| r.entry));
    }
    Ok(Some((entries, logs)))
}

#[cfg(not(feature = "postgres"))]
#[allow(clippy::type_complexity)]
fn db_entries(
    _: &[PathBuf],
    _: &ReportOptions,
) -> Result<Option<(Vec<evident::Entry>, Vec<report::LogStatus>)>, Failure> {
    Ok(None)
}

/// [`fail`], except that a log file whose header or genesis record cannot be
/// read is "not an evident log" (exit 2), as `verify` says, not a log that
/// failed a check (exit 1).
fn fail_input(e: evident::Error) -> Failure {
    if let evident::Error::Malformed { path, .. } = &e {
        // A Markdown report's own damage keeps its message.
        let markdown = path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| x.eq_ignore_ascii_case("md") || x.eq_ignore_ascii_case("markdown"));
        if !markdown {
            if let Err(refused) = util::refuse_non_log(path) {
                return refused;
            }
        }
    }
    fail(e)
}

pub fn report(a: ReportArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let key = util::load_key(a.key.key_file.as_deref())?;
    let mut opts = ReportOptions::default();
    opts.format = match a.format {
        FormatArg::Md => ReportFormat::Md,
        FormatArg::Html => ReportFormat::Html,
        FormatArg::Pdf => ReportFormat::Pdf,
    };
    opts.by = match a.by {
        ByArg::Day => GroupBy::Day,
        ByArg::Week => GroupBy::Week,
        ByArg::Tool => GroupBy::Tool,
    };
    opts.since = a.since;
    opts.until = a.until;
    opts.source = a.source;
    opts.event_type = a.event_type;
    opts.title = a.title;
    opts.no_charts = a.no_charts;
    opts.key = key;
    let (files, statuses) = match db_entries(&a.logs, &opts)? {
        Some((entries, logs)) => {
            report::write_entries_report_with_status(&entries, &logs, &opts, &a.output)
                .map(|files| (files, logs))
        }
        None => report::write_reports_with_status(&a.logs, &opts, &a.output),
    }
    .map_err(fail_input)?;
    for f in &files {
        writeln!(out, "{}", f.path.display()).map_err(util::stdout_err)?;
    }
    if files.is_empty() {
        stderr_line!("evident: no entries matched; no report written");
    }
    // A log that does not verify (a torn tail too, as `verify` says) is
    // NOT VALID in the reports, which are written all the same; the
    // command says so and fails, as `verify` and `reproduce` do.
    let bad: Vec<&report::LogStatus> = statuses.iter().filter(|l| !l.valid).collect();
    for l in &bad {
        stderr_line!(
            "evident: warning: {}: NOT VALID: {}; the report says so",
            util::one_line(&l.path),
            util::one_line(l.problem.as_deref().unwrap_or("does not verify"))
        );
    }
    Ok(if bad.is_empty() { 0 } else { util::EXIT_FAILED })
}

pub fn reproduce(a: ReproduceArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let mut opts = ReproOptions::default();
    opts.format = match a.format {
        ScriptFormat::Bash => report::ScriptFormat::Bash,
        ScriptFormat::Python => report::ScriptFormat::Python,
    };
    opts.module = a.module;
    opts.alias = a.alias;
    opts.program = a.program;
    opts.title = a.title;
    opts.since = a.since;
    opts.until = a.until;
    opts.include_tools = a.tools;
    opts.exclude_operations = a.exclude;
    opts.event_type = a.event_type;
    opts.skip_failed = a.skip_failed;
    opts.add_timing = a.timing;
    opts.add_error_handling = a.error_handling;
    opts.no_note = a.no_note;
    opts.key = util::load_key(a.key.key_file.as_deref())?;
    let info = report::write_reproduction(&a.logs, &opts, &a.output).map_err(fail_input)?;
    writeln!(
        out,
        "{}: {} operation(s){}",
        info.script_path.display(),
        info.operation_count,
        match (&info.start_date, &info.end_date) {
            (Some(s), Some(e)) => format!(", {s} to {e}"),
            _ => String::new(),
        }
    )
    .map_err(util::stdout_err)?;
    for u in &info.unchecked {
        stderr_line!("evident: note: {}", util::one_line(u));
    }
    if info.unverified.is_empty() {
        return Ok(0);
    }
    for u in &info.unverified {
        stderr_line!(
            "evident: warning: {}; the script was written from its entries as they are",
            util::one_line(u)
        );
    }
    Ok(1)
}
