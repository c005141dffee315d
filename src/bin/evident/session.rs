//! `evident session info|versions|export|compact|verify`: session files
//! (the session container, [`evident::session`]). A thin layer over the
//! library's public API: loading, listing versions, compacting and
//! verifying are the library's; this file prints their results and writes
//! the export files (NumPy `.npy` and CSV).
//!
//! Exit status as for the log commands: 0 success; 1 the file failed a
//! check (damage, tampering: `verify` reports each problem with its byte
//! offset; the other commands refuse a damaged version); 2 usage or I/O
//! error, not a session file, a missing or wrong key, a locked file. A torn
//! tail (an interrupted save) does not make a session file invalid: the
//! versions before it are intact, `verify` notes it and exits 0.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use evident::session::{
    self, Dtype, LoadOptions, Problem, Session, SessionReport, Trace, VersionInfo,
};
use evident::{Error, Key};
use serde_json::{json, Value};

use crate::util::{io_err, load_key, stdout_err, word, Failure, EXIT_FAILED};
use crate::KeyArg;

const SESSION_HELP: &str = "\
Exit status:
  0  success (verify: the file is valid; a torn tail alone, an interrupted
     save, is noted but is not a problem: the versions before it are intact)
  1  the file failed a check: damage or tampering (verify lists each problem
     with its byte offset; the other commands refuse a damaged version)
  2  usage error, I/O error, not a session file, a missing or wrong key,
     the file locked by a writer";

/// Session files: the versioned, crash-safe container of an analysis
/// session (traces, annotation layers, measurements, history).
#[derive(Args, Debug)]
#[command(after_help = SESSION_HELP)]
pub struct SessionArgs {
    #[command(subcommand)]
    pub cmd: SessionCmd,
}

#[derive(Subcommand, Debug)]
pub enum SessionCmd {
    /// Summarise a version (the newest by default): name, commit, times,
    /// traces, annotation layers, measurements, history.
    Info(InfoArgs),
    /// List the saved versions, oldest first.
    Versions(VersionsArgs),
    /// Write a version's contents into a directory: session.json, plus one
    /// .npy or .csv file per trace.
    ///
    /// session.json is the session without samples (as `info --json`), each
    /// trace with the name of its file. .npy files are NumPy format 1.0
    /// arrays of the trace's type (bit traces unpacked to bool); CSV files
    /// have a time column (start time + i / sample rate, in seconds) and a
    /// value column. Every trace's samples are checked against the hash in
    /// the file before they are written. Existing files are never replaced
    /// unless --force; each file is written to a temporary name and renamed.
    Export(ExportArgs),
    /// Rewrite the file with only its newest version (atomically; the old
    /// file stays in place until the new one is durable). Refuses a damaged
    /// file.
    Compact(CompactArgs),
    /// Check the whole file: framing, CRCs, the hash chain, every version,
    /// the hash of every trace's samples. Exit 0 valid, 1 problems, 2 error.
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
// `--version N` is the session version, not the program's.
#[command(disable_version_flag = true)]
pub struct InfoArgs {
    /// The session file.
    pub file: PathBuf,
    /// The version to show (default: the newest).
    #[arg(long, value_name = "N")]
    pub version: Option<u64>,
    #[command(flatten)]
    pub key: KeyArg,
    /// Print the session (without samples) as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VersionsArgs {
    /// The session file.
    pub file: PathBuf,
    #[command(flatten)]
    pub key: KeyArg,
    /// Print as a JSON array.
    #[arg(long)]
    pub json: bool,
}

/// `session export --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TraceFormat {
    /// Only session.json (no samples).
    Json,
    /// session.json and one NumPy .npy file per trace.
    Npy,
    /// session.json and one CSV file (time, value) per trace.
    Csv,
}

impl TraceFormat {
    fn name(self) -> &'static str {
        match self {
            TraceFormat::Json => "json",
            TraceFormat::Npy => "npy",
            TraceFormat::Csv => "csv",
        }
    }
}

#[derive(Args, Debug)]
// `--version N` is the session version, not the program's.
#[command(disable_version_flag = true)]
pub struct ExportArgs {
    /// The session file.
    pub file: PathBuf,
    /// The version to export (default: the newest).
    #[arg(long, value_name = "N")]
    pub version: Option<u64>,
    /// Directory to write into (created if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// What to write.
    #[arg(long, value_enum, default_value_t = TraceFormat::Npy)]
    pub format: TraceFormat,
    /// Replace files that already exist.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub key: KeyArg,
}

#[derive(Args, Debug)]
pub struct CompactArgs {
    /// The session file.
    pub file: PathBuf,
    #[command(flatten)]
    pub key: KeyArg,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The session file.
    pub file: PathBuf,
    #[command(flatten)]
    pub key: KeyArg,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: SessionArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    match a.cmd {
        SessionCmd::Info(a) => info(a, out),
        SessionCmd::Versions(a) => list_versions(a, out),
        SessionCmd::Export(a) => export(a, out),
        SessionCmd::Compact(a) => compact(a, out),
        SessionCmd::Verify(a) => verify(a, out),
    }
}

/// For the audit-log commands: refuses a session file with a pointer to
/// the session commands (instead of "not an evident log").
pub fn refuse_session_file(path: &Path, command: &str) -> Result<(), Failure> {
    if !session::is_session_file(path) {
        return Ok(());
    }
    let hint = match command {
        "verify" => format!("`evident session verify {}`", path.display()),
        _ => "`evident session info|versions|export|compact|verify`".to_string(),
    };
    Err(Failure::at(
        path,
        format!("this is a session file, not an audit log; use {hint}"),
    ))
}

/// Checks that `path` is a session file before the library reads it, so
/// that "not a session file" is a usage error (2), not damage (1).
pub(crate) fn require_session(path: &Path) -> Result<(), Failure> {
    if session::is_session_file(path) {
        return Ok(());
    }
    let meta = fs::metadata(path).map_err(|e| Failure::lib(path, io_err(path, "open", e)))?;
    if !meta.is_file() {
        return Err(Failure::at(path, "not a regular file"));
    }
    if meta.len() == 0 {
        return Err(Failure::at(path, "empty file, not a session file"));
    }
    let mut head = Vec::with_capacity(8);
    fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 8), &mut head))
        .map_err(|e| Failure::lib(path, io_err(path, "read", e)))?;
    // A file shorter than the magic that starts like one is a damaged
    // session file: the library reports it.
    if head.len() < 8 && session::SESSION_MAGIC.starts_with(&head) {
        return Ok(());
    }
    if evident::inspect(path).is_ok() {
        return Err(Failure::at(
            path,
            "this is an evident audit log, not a session file; use `evident verify`, `evident cat`",
        ));
    }
    Err(Failure::at(
        path,
        "not a session file (it does not start with the session magic)",
    ))
}

/// A library error about a session file. Damage exits 1 (with a pointer
/// to `evident session verify` when `hint`); a keyed file opened without a
/// key says how to pass one.
fn fail(path: &Path, e: Error, key_given: bool, hint: bool) -> Failure {
    match e {
        Error::Corrupt { at, msg, .. } | Error::Malformed { at, msg, .. } => Failure {
            code: EXIT_FAILED,
            // The library's own pointer to verify (without the file name)
            // gives way to this one.
            msg: if hint {
                let msg = msg.trim_end_matches(evident::session::CORRUPT_HINT);
                format!(
                    "{}: {at}: {msg} (run `evident session verify {}`)",
                    path.display(),
                    path.display()
                )
            } else {
                format!("{}: {at}: {msg}", path.display())
            },
        },
        Error::WrongKey { msg, .. } if !key_given => {
            Failure::at(path, format!("{msg}; pass --key-file FILE"))
        }
        other => Failure::lib(path, other),
    }
}

fn key_of(k: &KeyArg) -> Result<Option<Key>, Failure> {
    load_key(k.key_file.as_deref())
}

fn load(path: &Path, key: Option<Key>, version: Option<u64>) -> Result<Session, Failure> {
    require_session(path)?;
    let key_given = key.is_some();
    Session::load(path, &LoadOptions::default().key(key).version(version))
        .map_err(|e| fail(path, e, key_given, true))
}

fn file_len(path: &Path) -> Result<u64, Failure> {
    fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| Failure::lib(path, io_err(path, "stat", e)))
}

fn json_out(v: &impl serde::Serialize, out: &mut dyn Write) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(v).map_err(|e| Failure::usage(e.to_string()))?;
    writeln!(out, "{text}").map_err(stdout_err)
}

/// A number with an SI prefix: `1 MHz`, `2.5 ms`, `0 s`.
fn si(x: f64, unit: &str) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x} {unit}");
    }
    // Six significant digits at most.
    let x: f64 = format!("{x:.5e}").parse().unwrap_or(x);
    const PREFIXES: [(f64, &str); 8] = [
        (1e9, "G"),
        (1e6, "M"),
        (1e3, "k"),
        (1.0, ""),
        (1e-3, "m"),
        (1e-6, "u"),
        (1e-9, "n"),
        (1e-12, "p"),
    ];
    for (scale, p) in PREFIXES {
        let v = x / scale;
        if v.abs() >= 1.0 - 1e-9 && v.abs() < 1000.0 - 1e-6 {
            let digits = 5 - v.abs().log10().floor().clamp(0.0, 5.0) as usize;
            let s = format!("{v:.digits$}");
            let s = if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.')
            } else {
                &s
            };
            return format!("{s} {p}{unit}");
        }
    }
    format!("{x:e} {unit}")
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn trace_line(name: &str, t: &Trace) -> String {
    let info = t.info();
    let mut s = format!(
        "  {}: {}, {}, {}, {} from {}",
        word(name),
        t.dtype().name(),
        plural(t.len(), "sample", "samples"),
        si(info.sample_rate, "Hz"),
        si(t.len() as f64 / info.sample_rate, "s"),
        si(info.start_time, "s"),
    );
    if !info.units.is_empty() {
        let _ = write!(s, ", units {}", word(&info.units));
    }
    let _ = write!(
        s,
        ", stored {}, {}",
        if t.is_compressed() { "zstd" } else { "raw" },
        plural(t.dtype().byte_len(t.len()).unwrap_or(0), "byte", "bytes")
    );
    if !info.metadata.is_empty() {
        let _ = write!(
            s,
            ", metadata {}",
            serde_json::to_string(&info.metadata).unwrap_or_default()
        );
    }
    s
}

// ------------------------------------------------------------------ info

pub fn info(a: InfoArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let key = key_of(&a.key)?;
    let s = load(&a.file, key.clone(), a.version)?;
    let key_given = key.is_some();
    let all =
        session::versions(&a.file, key.as_ref()).map_err(|e| fail(&a.file, e, key_given, true))?;
    let newest = all.last().map(|v| v.version);
    let bytes = file_len(&a.file)?;
    if a.json {
        let mut v = s.to_json();
        if let Value::Object(m) = &mut v {
            m.insert("version".into(), json!(s.version()));
            m.insert("commit".into(), json!(s.commit().map(|c| c.to_hex())));
            m.insert("versions".into(), json!(all.len()));
            m.insert("newest_version".into(), json!(newest));
            m.insert("file_bytes".into(), json!(bytes));
            if let Some(n) = s.load_notice() {
                m.insert("load_notice".into(), json!(n));
            }
        }
        json_out(&s.json_in_order(&v), out)?;
        return Ok(0);
    }
    print_info(&a.file, &s, all.len(), newest, bytes, out).map_err(stdout_err)?;
    Ok(0)
}

fn print_info(
    path: &Path,
    s: &Session,
    n_versions: usize,
    newest: Option<u64>,
    bytes: u64,
    out: &mut dyn Write,
) -> io::Result<()> {
    let ts = |t| evident::format::format_ts(&t);
    writeln!(out, "session: {}", word(s.name()))?;
    writeln!(
        out,
        "file: {} ({}, {})",
        path.display(),
        plural(bytes, "byte", "bytes"),
        plural(n_versions as u64, "version", "versions")
    )?;
    let v = s.version().unwrap_or(0);
    if newest == Some(v) {
        writeln!(out, "version: {v} (newest)")?;
    } else {
        writeln!(
            out,
            "version: {v} (not the newest: that is {})",
            newest.unwrap_or(0)
        )?;
    }
    if let Some(c) = s.commit() {
        writeln!(out, "commit: {c}")?;
    }
    if let Some(n) = s.load_notice() {
        writeln!(out, "note: {n}")?;
    }
    writeln!(out, "created: {}", ts(s.created_at()))?;
    writeln!(out, "modified: {}", ts(s.modified_at()))?;
    if !s.metadata().is_empty() {
        writeln!(
            out,
            "metadata: {}",
            serde_json::to_string(s.metadata()).unwrap_or_default()
        )?;
    }
    let traces: Vec<(&str, &Trace)> = s.traces().collect();
    let sample_bytes: u64 = traces
        .iter()
        .map(|(_, t)| t.dtype().byte_len(t.len()).unwrap_or(0))
        .sum();
    writeln!(
        out,
        "traces: {} ({})",
        traces.len(),
        plural(sample_bytes, "sample byte", "sample bytes")
    )?;
    for (name, t) in &traces {
        writeln!(out, "{}", trace_line(name, t))?;
    }
    let total: usize = s.layers().iter().map(|l| l.annotations.len()).sum();
    writeln!(
        out,
        "layers: {} ({})",
        s.layers().len(),
        plural(total as u64, "annotation", "annotations")
    )?;
    for l in s.layers() {
        let mut flags = vec![if l.visible { "visible" } else { "hidden" }];
        if l.locked {
            flags.push("locked");
        }
        let mut line = format!(
            "  {}: {}, {}",
            word(&l.name),
            plural(l.annotations.len() as u64, "annotation", "annotations"),
            flags.join(", ")
        );
        if let Some(c) = &l.color {
            let _ = write!(line, ", color {}", word(c));
        }
        if !l.description.is_empty() {
            let _ = write!(line, ", description {}", word(&l.description));
        }
        writeln!(out, "{line}")?;
    }
    writeln!(out, "measurements: {}", s.measurements().len())?;
    for m in s.measurements() {
        let mut line = format!(
            "  {} = {}",
            word(&m.name),
            serde_json::to_string(&m.value).unwrap_or_default()
        );
        if !m.unit.is_empty() {
            let _ = write!(line, " {}", word(&m.unit));
        }
        if let Some(t) = &m.trace_name {
            let _ = write!(line, " (trace {})", word(t));
        }
        writeln!(out, "{line}")?;
    }
    let h = s.history();
    let ok = h.iter().filter(|e| e.success).count() as u64;
    let limit = match s.history_limit() {
        0 => "no limit".to_string(),
        n => format!("limit {n}"),
    };
    writeln!(
        out,
        "history: {} ({ok} successful, {limit})",
        plural(h.len() as u64, "entry", "entries")
    )
}

// ------------------------------------------------------------------ versions

fn version_line(v: &VersionInfo) -> String {
    let c = &v.counts;
    let mut s = format!(
        "{:>4}  {}  {}  {}  traces={} layers={} annotations={} measurements={} history={} trace_bytes={}",
        v.version,
        v.ts,
        v.commit.get(..12).unwrap_or(&v.commit),
        word(&v.name),
        c.traces,
        c.layers,
        c.annotations,
        c.measurements,
        c.history,
        c.trace_bytes
    );
    if let Some(f) = &v.compacted_from {
        let _ = write!(
            s,
            "  compacted from version {} (commit {})",
            f.version,
            f.commit.get(..12).unwrap_or(&f.commit)
        );
    }
    s
}

pub fn list_versions(a: VersionsArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let key = key_of(&a.key)?;
    require_session(&a.file)?;
    let key_given = key.is_some();
    let all =
        session::versions(&a.file, key.as_ref()).map_err(|e| fail(&a.file, e, key_given, true))?;
    if a.json {
        json_out(&all, out)?;
        return Ok(0);
    }
    if all.is_empty() {
        writeln!(
            out,
            "{}: no complete version (the first save was interrupted)",
            a.file.display()
        )
        .map_err(stdout_err)?;
        return Ok(0);
    }
    for v in &all {
        writeln!(out, "{}", version_line(v)).map_err(stdout_err)?;
    }
    Ok(0)
}

// ------------------------------------------------------------------ compact

pub fn compact(a: CompactArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let key = key_of(&a.key)?;
    require_session(&a.file)?;
    let key_given = key.is_some();
    let r =
        session::compact(&a.file, key.as_ref()).map_err(|e| fail(&a.file, e, key_given, true))?;
    if a.json {
        json_out(&r, out)?;
        return Ok(0);
    }
    writeln!(
        out,
        "{}: compacted: kept version {} (new commit {}); {} -> {} bytes",
        a.file.display(),
        r.version,
        r.commit,
        r.bytes_before,
        r.bytes_after
    )
    .map_err(stdout_err)?;
    Ok(0)
}

// ------------------------------------------------------------------ verify

/// "valid", "torn_tail" (valid, with an interrupted save at the end) or
/// "invalid".
fn status(r: &SessionReport) -> &'static str {
    match (r.ok, r.torn_tail_at) {
        (true, None) => "valid",
        (true, Some(_)) => "torn_tail",
        (false, _) => "invalid",
    }
}

fn problem_line(path: &Path, p: &Problem) -> String {
    let at = evident::Position {
        offset: p.offset,
        line: 0,
        seq: p.seq,
    };
    format!(
        "{}: TAMPERED/damaged at {at}: {}",
        path.display(),
        p.message
    )
}

pub fn verify(a: VerifyArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let key = key_of(&a.key)?;
    require_session(&a.file)?;
    let key_given = key.is_some();
    let r = session::verify_session(&a.file, key.as_ref())
        .map_err(|e| fail(&a.file, e, key_given, false))?;
    let code = if r.ok { 0 } else { EXIT_FAILED };
    if a.json {
        let mut v = serde_json::to_value(&r).map_err(|e| Failure::usage(e.to_string()))?;
        if let Value::Object(m) = &mut v {
            m.insert("status".into(), json!(status(&r)));
        }
        json_out(&v, out)?;
        return Ok(code);
    }
    print_verify(&a.file, &r, out).map_err(stdout_err)?;
    Ok(code)
}

fn print_verify(path: &Path, r: &SessionReport, out: &mut dyn Write) -> io::Result<()> {
    let desc = format!(
        "{}, {}, {}, {} checked, {}",
        plural(r.versions as u64, "version", "versions"),
        plural(r.records as u64, "record", "records"),
        plural(r.data_frames as u64, "data frame", "data frames"),
        plural(r.sample_bytes_checked, "sample byte", "sample bytes"),
        plural(r.bytes, "byte", "bytes"),
    );
    if r.ok {
        writeln!(out, "{}: valid: {desc}", path.display())?;
    } else {
        for p in &r.problems {
            writeln!(out, "{}", problem_line(path, p))?;
        }
        writeln!(
            out,
            "{}: {} ({desc})",
            path.display(),
            plural(r.problems.len() as u64, "problem", "problems")
        )?;
    }
    match (r.head_version, &r.head_commit) {
        (Some(v), Some(c)) => writeln!(out, "newest loadable version: {v}, commit {c}")?,
        _ if r.versions == 0 => writeln!(
            out,
            "note: the file holds no complete version (its first save was interrupted)"
        )?,
        _ => writeln!(out, "no version loads")?,
    }
    if !r.incomplete_versions.is_empty() {
        let vs: Vec<String> = r.incomplete_versions.iter().map(u64::to_string).collect();
        writeln!(
            out,
            "note: incomplete version(s) {} in the uncommitted tail: saved without sync, they \
             lost pages in a power cut (not damage; the next save moves them into a sidecar file)",
            vs.join(", ")
        )?;
    }
    if let Some(t) = r.torn_tail_at {
        writeln!(
            out,
            "note: torn tail at byte offset {t} ({} after it): an interrupted save, not part of \
             any version; the versions before it are intact and the next save moves it into a \
             sidecar file",
            plural(r.bytes.saturating_sub(t), "byte", "bytes")
        )?;
    }
    Ok(())
}

// ------------------------------------------------------------------ export

/// A file name for a trace: its name with every character that is not an
/// ASCII letter, digit, `-`, `_` or `.` replaced by `_`, never hidden or
/// empty, unique (case-insensitively) among the export's files.
fn file_name(name: &str, ext: &str, taken: &mut Vec<String>) -> String {
    let mut base: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if base.is_empty() || base.starts_with('.') {
        base.insert(0, '_');
    }
    let mut candidate = format!("{base}.{ext}");
    let mut n = 2;
    while taken.iter().any(|t| t.eq_ignore_ascii_case(&candidate)) {
        candidate = format!("{base}-{n}.{ext}");
        n += 1;
    }
    taken.push(candidate.clone());
    candidate
}

/// NumPy's `descr` of a trace type (bit traces are unpacked to bool).
fn npy_descr(d: Dtype) -> &'static str {
    match d {
        Dtype::F64 => "<f8",
        Dtype::F32 => "<f4",
        Dtype::I8 => "|i1",
        Dtype::I16 => "<i2",
        Dtype::I32 => "<i4",
        Dtype::I64 => "<i8",
        Dtype::U8 => "|u1",
        Dtype::U16 => "<u2",
        Dtype::U32 => "<u4",
        Dtype::U64 => "<u8",
        Dtype::Bool | Dtype::Bit => "|b1",
    }
}

/// A NumPy format 1.0 header for a 1-D array of `len` items: magic,
/// version, header length, the dict literal padded with spaces and ended
/// by a newline so that the data starts on a 64-byte boundary.
fn npy_header(d: Dtype, len: u64) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': ({len},), }}",
        npy_descr(d)
    );
    let unpadded = 10 + dict.len() + 1;
    let total = unpadded.div_ceil(64) * 64;
    let header_len = (total - 10) as u16; // a few dozen bytes
    let mut h = Vec::with_capacity(total);
    h.extend_from_slice(b"\x93NUMPY\x01\x00");
    h.extend_from_slice(&header_len.to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(total - 1, b' ');
    h.push(b'\n');
    h
}

/// The samples of a bit trace, unpacked to one byte (0 or 1) each, in
/// chunks.
fn for_each_bit_chunk(
    packed: &[u8],
    len: u64,
    mut f: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    let mut left = len;
    for byte in packed {
        let n = left.min(8);
        for i in 0..n {
            buf.push((byte >> i) & 1);
        }
        left -= n;
        if buf.len() >= (1 << 16) - 8 {
            f(&buf)?;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        f(&buf)?;
    }
    Ok(())
}

fn write_npy(t: &Trace, bytes: &[u8], w: &mut dyn Write) -> io::Result<()> {
    w.write_all(&npy_header(t.dtype(), t.len()))?;
    match t.dtype() {
        Dtype::Bit => for_each_bit_chunk(bytes, t.len(), |c| w.write_all(c)),
        _ => w.write_all(bytes),
    }
}

/// A float as its shortest round-trip text (`1e-6`, `0.5`, `NaN`, `inf`).
fn float_text(x: f64) -> String {
    if x.is_finite() {
        serde_json::to_string(&x).unwrap_or_else(|_| x.to_string())
    } else {
        x.to_string()
    }
}

fn float32_text(x: f32) -> String {
    if x.is_finite() {
        serde_json::to_string(&x).unwrap_or_else(|_| x.to_string())
    } else {
        x.to_string()
    }
}

fn write_csv(name: &str, t: &Trace, bytes: &[u8], w: &mut dyn Write) -> io::Result<()> {
    let info = t.info();
    let value_col = if info.units.is_empty() {
        name.to_string()
    } else {
        format!("{name} ({})", info.units)
    };
    let mut cw = csv::Writer::from_writer(w);
    cw.write_record(["time (s)", value_col.as_str()])?;
    let time = |i: usize| float_text(info.start_time + i as f64 / info.sample_rate);
    macro_rules! rows {
        ($t:ty, $fmt:expr) => {{
            let s = t.as_slice::<$t>().map_err(io::Error::other)?;
            for (i, v) in s.iter().enumerate() {
                cw.write_record([time(i), $fmt(*v)])?;
            }
        }};
    }
    match t.dtype() {
        Dtype::F64 => rows!(f64, float_text),
        Dtype::F32 => rows!(f32, float32_text),
        Dtype::I8 => rows!(i8, |v: i8| v.to_string()),
        Dtype::I16 => rows!(i16, |v: i16| v.to_string()),
        Dtype::I32 => rows!(i32, |v: i32| v.to_string()),
        Dtype::I64 => rows!(i64, |v: i64| v.to_string()),
        Dtype::U8 => rows!(u8, |v: u8| v.to_string()),
        Dtype::U16 => rows!(u16, |v: u16| v.to_string()),
        Dtype::U32 => rows!(u32, |v: u32| v.to_string()),
        Dtype::U64 => rows!(u64, |v: u64| v.to_string()),
        Dtype::Bool => rows!(bool, |v: bool| u8::from(v).to_string()),
        Dtype::Bit => {
            let mut i = 0usize;
            for_each_bit_chunk(bytes, t.len(), |c| {
                for b in c {
                    cw.write_record([time(i), b.to_string()])?;
                    i += 1;
                }
                Ok(())
            })?;
        }
    }
    cw.flush()
}

/// Writes one export file: to a temporary file in `dir`, made durable,
/// then moved to `dest` (renamed over it with `force`; otherwise linked,
/// which fails if `dest` exists).
fn write_file(
    dir: &Path,
    dest: &Path,
    force: bool,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Failure> {
    let tmp = dir.join(format!(
        ".evident-export-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let werr = |e: io::Error| Failure::lib(dest, io_err(dest, "write", e));
    let result = (|| {
        let f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Failure::lib(dir, io_err(&tmp, "create temporary file", e)))?;
        let mut bw = BufWriter::with_capacity(1 << 20, f);
        fill(&mut bw).map_err(werr)?;
        let f = bw.into_inner().map_err(|e| werr(e.into_error()))?;
        f.sync_all().map_err(werr)?;
        if force {
            fs::rename(&tmp, dest).map_err(|e| Failure::lib(dest, io_err(dest, "rename", e)))
        } else {
            fs::hard_link(&tmp, dest).map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    Failure::at(dest, "already exists (use --force to replace it)")
                } else {
                    Failure::lib(dest, io_err(dest, "link into place", e))
                }
            })
        }
    })();
    let _ = fs::remove_file(&tmp);
    result
}

pub fn export(a: ExportArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let key = key_of(&a.key)?;
    let s = load(&a.file, key, a.version)?;
    let ext = match a.format {
        TraceFormat::Json => None,
        TraceFormat::Npy => Some("npy"),
        TraceFormat::Csv => Some("csv"),
    };
    // Every file name first: nothing is written when one already exists.
    let mut taken = vec!["session.json".to_string()];
    let plan: Vec<(&str, &Trace, String)> = match ext {
        None => Vec::new(),
        Some(ext) => s
            .traces()
            .map(|(n, t)| (n, t, file_name(n, ext, &mut taken)))
            .collect(),
    };
    fs::create_dir_all(&a.out)
        .map_err(|e| Failure::lib(&a.out, io_err(&a.out, "create directory", e)))?;
    if !a.force {
        let names = plan.iter().map(|p| p.2.as_str()).chain(["session.json"]);
        for n in names {
            let p = a.out.join(n);
            if p.symlink_metadata().is_ok() {
                return Err(Failure::at(
                    &p,
                    "already exists (use --force to replace it); nothing was written",
                ));
            }
        }
    }

    let mut written = Vec::new();
    for (name, t, fname) in &plan {
        let dest = a.out.join(fname);
        // The samples are checked against the hash the chain binds them to
        // before anything is written from them.
        let bytes = t.verify().and_then(|_| t.bytes()).map_err(|e| match e {
            Error::Corrupt { at, msg, .. } | Error::Malformed { at, msg, .. } => Failure {
                code: EXIT_FAILED,
                msg: format!(
                    "{}: trace {}: {at}: {}; the export stopped (run `evident session verify {}`)",
                    a.file.display(),
                    word(name),
                    msg.trim_end_matches(evident::session::CORRUPT_HINT),
                    a.file.display()
                ),
            },
            other => Failure::lib(&a.file, other),
        })?;
        write_file(&a.out, &dest, a.force, |w| match a.format {
            TraceFormat::Csv => write_csv(name, t, bytes, w),
            _ => write_npy(t, bytes, w),
        })?;
        writeln!(
            out,
            "wrote {} ({} {} -> {})",
            dest.display(),
            plural(t.len(), "sample", "samples"),
            t.dtype().name(),
            match a.format {
                TraceFormat::Csv => "csv".to_string(),
                _ => format!("npy {}", npy_descr(t.dtype())),
            }
        )
        .map_err(stdout_err)?;
        written.push(((*name).to_string(), fname.clone()));
    }

    // session.json last: its presence means the export is complete.
    let mut doc = s.to_json();
    if let Some(traces) = doc.get_mut("traces").and_then(Value::as_array_mut) {
        for (t, (_, fname)) in traces.iter_mut().zip(&written) {
            if let Value::Object(m) = t {
                m.insert("file".into(), json!(fname));
            }
        }
    }
    let dest = a.out.join("session.json");
    write_file(&a.out, &dest, a.force, |w| {
        serde_json::to_writer_pretty(&mut *w, &s.json_in_order(&doc))?;
        w.write_all(b"\n")
    })?;
    // The new directory entries made durable. Unix only: Windows cannot
    // flush a directory (a directory handle's FlushFileBuffers is "access
    // denied") and NTFS journals its entries; the library does the same.
    #[cfg(unix)]
    fs::File::open(&a.out)
        .and_then(|d| d.sync_all())
        .map_err(|e| Failure::lib(&a.out, io_err(&a.out, "fsync directory", e)))?;
    writeln!(out, "wrote {}", dest.display()).map_err(stdout_err)?;
    writeln!(
        out,
        "exported version {} of {} ({}, {}) to {}",
        s.version().unwrap_or(0),
        a.file.display(),
        a.format.name(),
        plural(written.len() as u64, "trace", "traces"),
        a.out.display()
    )
    .map_err(stdout_err)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_consistent() {
        // Catches clashes such as `--version N` against the program's
        // `--version` (propagated to every subcommand).
        use clap::CommandFactory;
        crate::Cli::command().debug_assert();
    }

    #[test]
    fn si_prefixes() {
        assert_eq!(si(1e6, "Hz"), "1 MHz");
        assert_eq!(si(2.5e-3, "s"), "2.5 ms");
        assert_eq!(si(0.0, "s"), "0 s");
        assert_eq!(si(-1e-4, "s"), "-100 us");
        assert_eq!(si(44100.0, "Hz"), "44.1 kHz");
        assert_eq!(si(1.0 / 3.0, "s"), "333.333 ms");
        assert_eq!(si(999.9999999, "Hz"), "1 kHz");
    }

    #[test]
    fn file_names_are_safe_and_unique() {
        let mut taken = vec!["session.json".to_string()];
        assert_eq!(file_name("CH1", "npy", &mut taken), "CH1.npy");
        assert_eq!(file_name("ch1", "npy", &mut taken), "ch1-2.npy");
        assert_eq!(
            file_name("../etc/passwd", "npy", &mut taken),
            "_.._etc_passwd.npy"
        );
        assert_eq!(file_name("", "npy", &mut taken), "_.npy");
        assert_eq!(file_name("a b/c", "csv", &mut taken), "a_b_c.csv");
        assert_eq!(file_name("session", "json", &mut taken), "session-2.json");
    }

    #[test]
    fn npy_headers_are_64_byte_aligned() {
        for d in Dtype::all() {
            for len in [0u64, 1, 77, u64::MAX] {
                let h = npy_header(*d, len);
                assert_eq!(h.len() % 64, 0);
                assert_eq!(h.last(), Some(&b'\n'));
                let hl = u16::from_le_bytes([h[8], h[9]]) as usize;
                assert_eq!(hl + 10, h.len());
            }
        }
    }
}
