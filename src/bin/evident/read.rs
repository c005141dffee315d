//! Reading commands: cat, tail, head, stats, export.
//!
//! These read through [`evident::query`], which does not check hashes
//! (`evident verify` does). A damaged record is reported on stderr with its
//! position: cat, tail and stats go on with the next record and exit 1 at
//! the end; export stops (an export must not be silently incomplete).

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use evident::format::format_ts;
use evident::{Entry, Error, Order, Query, VerifyOptions};
use serde_json::json;

use crate::check::{missing_key_msg, missing_key_only, violation_line};
use crate::util::{
    head_str, io_err, lib_msg, load_key, read_genesis, span, stdout_err, Failure, EXIT_FAILED,
};
use crate::{CatArgs, ExportArgs, ExportFormat, Filters, HeadArgs, StatsArgs, TailArgs};

/// The library query for the filter flags.
pub fn to_query(f: &Filters) -> Query {
    let mut q = Query::default();
    q.session_id = f.session.clone();
    q.event_type = f.event_type.clone();
    q.action = f.action.clone();
    q.actor = f.actor.clone();
    q.source = f.source.clone();
    q.since = f.since;
    q.until = f.until;
    q.seq_min = f.seq_min;
    q.seq_max = f.seq_max;
    q
}

/// Counts damaged records met while reading and reports each one.
struct Damage<'a> {
    path: &'a Path,
    count: u64,
}

impl<'a> Damage<'a> {
    fn new(path: &'a Path) -> Self {
        Damage { path, count: 0 }
    }

    /// Reports a read error: I/O errors end the command, damaged records
    /// are printed and skipped.
    fn note(&mut self, e: Error) -> Result<(), Failure> {
        if matches!(e, Error::Io { .. }) {
            return Err(Failure::lib(self.path, e));
        }
        stderr_line!("{}", crate::output::damage_line(self.path, &e));
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> Result<u8, Failure> {
        if self.count == 0 {
            return Ok(0);
        }
        Err(Failure::failed(
            self.path,
            format!(
                "{} damaged record(s) skipped; run `evident verify --all {}`",
                self.count,
                self.path.display()
            ),
        ))
    }
}

fn print_entry(e: &Entry, as_json: bool, out: &mut dyn Write) -> Result<(), Failure> {
    if as_json {
        serde_json::to_writer(&mut *out, e).map_err(|e| stdout_err(e.into()))?;
        writeln!(out).map_err(stdout_err)
    } else {
        writeln!(out, "{}", crate::output::entry_line(e)).map_err(stdout_err)
    }
}

/// The note cat and tail print on stderr (not with --json): they show
/// entries as stored, without checking a hash.
pub const UNCHECKED_NOTE: &str = "hashes are not checked; run `evident verify` for that";

/// Prints the note after cat or tail read the log (exit 0, or 1 with
/// damaged records skipped), unless the output is JSON.
pub fn note_unchecked(path: &std::path::Path, as_json: bool, r: &Result<u8, Failure>) {
    let read = match r {
        Ok(_) => true,
        Err(f) => f.code == crate::util::EXIT_FAILED,
    };
    if read && !as_json {
        stderr_line!(
            "{}",
            crate::output::renamed(format!(
                "evident: {}: note: {UNCHECKED_NOTE}",
                crate::util::shown(path)
            ))
        );
    }
}

pub fn cat(a: CatArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let mut q = to_query(&a.filters).order(if a.newest_first {
        Order::NewestFirst
    } else {
        Order::OldestFirst
    });
    q.limit = a.limit;
    let mut damage = Damage::new(&a.log);
    for r in evident::query(&a.log, &q).map_err(|e| Failure::lib(&a.log, e))? {
        match r {
            Ok(e) => print_entry(&e, a.json, out)?,
            Err(e) => damage.note(e)?,
        }
    }
    damage.finish()
}

pub fn tail(a: TailArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    // Newest first from the end of the file: costs O(n), not O(file).
    let q = to_query(&a.filters).order(Order::NewestFirst).limit(a.n);
    let mut damage = Damage::new(&a.log);
    let mut last = Vec::with_capacity(a.n.min(10_000));
    if a.n > 0 {
        for r in evident::query(&a.log, &q).map_err(|e| Failure::lib(&a.log, e))? {
            match r {
                Ok(e) => last.push(e),
                Err(e) => damage.note(e)?,
            }
        }
    }
    for e in last.iter().rev() {
        print_entry(e, a.json, out)?;
    }
    damage.finish()
}

pub fn head(a: HeadArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let path = &a.log;
    if path.as_os_str() == "-" {
        return Err(Failure::usage(
            "head reads the log's last records from its file: name the file (`-`, standard input, is not read here)",
        ));
    }
    let g = read_genesis(path)?;
    let (entries, seq, hash, verified, torn) = if a.no_verify {
        let mut it = evident::query(path, &Query::last(1)).map_err(|e| Failure::lib(path, e))?;
        let last = match it.next() {
            None => None,
            Some(Ok(e)) => Some(e),
            Some(Err(e)) => {
                return Err(Failure {
                    code: if matches!(e, Error::Io { .. }) {
                        2
                    } else {
                        EXIT_FAILED
                    },
                    msg: format!(
                        "{}; the last record is damaged (run `evident verify`)",
                        lib_msg(path, &e)
                    ),
                })
            }
        };
        match last {
            Some(e) => (e.seq, e.seq, e.hash, false, false),
            None => (0, 0, g.genesis_hash.to_hex(), false, false),
        }
    } else {
        let key = load_key(a.key.key_file.as_deref())?;
        let key_given = key.is_some();
        let r = evident::verify(path, &VerifyOptions::default().key(key))
            .map_err(|e| Failure::lib(path, e))?;
        if missing_key_only(&r, key_given) {
            return Err(missing_key_msg(
                path,
                &r,
                " to verify it (or --no-verify to read the head unchecked)",
            ));
        }
        match r.status() {
            "valid" => {}
            "torn_tail" => {
                let what = r.first().map_or_else(String::new, |v| {
                    violation_line(path, v)
                        .strip_prefix(&format!("{}: ", crate::util::shown(path)))
                        .map(str::to_string)
                        .unwrap_or_default()
                });
                crate::util::note(
                    path,
                    &format!("the head below is the last complete entry; {what}"),
                );
            }
            _ => {
                // One line: the first violation, the count, what to run.
                let first = r.first().map_or_else(String::new, |v| {
                    let line = violation_line(path, v);
                    let line = line
                        .strip_prefix(&format!("{}: ", crate::util::shown(path)))
                        .unwrap_or(&line)
                        .to_string();
                    line
                });
                let more = match r.violations_total {
                    0 | 1 => String::new(),
                    n => format!(" ({n} violations in total)"),
                };
                return Err(Failure::failed(
                    path,
                    format!(
                        "the log does not verify, so no head is printed: {first}{more}; see `evident verify --all`"
                    ),
                ));
            }
        }
        let hash = r.head_hash.clone().unwrap_or_default();
        (r.entries, r.head_seq, hash, true, r.status() == "torn_tail")
    };
    let gen = &g.genesis;
    if a.json {
        let v = json!({
            "head": head_str(seq, &hash),
            "head_seq": seq,
            "head_hash": hash,
            "entries": entries,
            "log_id": gen.log_id,
            "framing": g.framing.name(),
            "alg": gen.alg.name(),
            "key_id": gen.key_id,
            "verified": verified,
            "torn_tail": torn,
        });
        let text = serde_json::to_string_pretty(&v).map_err(|e| Failure::usage(e.to_string()))?;
        writeln!(out, "{text}").map_err(stdout_err)?;
    } else {
        let key = gen
            .key_id
            .as_deref()
            .map(|k| format!(", key id {k}"))
            .unwrap_or_default();
        let text = format!(
            "head:    {}\nentries: {entries}\nlog id:  {}\nformat:  {}, {}{key}\nchecked: {}\n",
            head_str(seq, &hash),
            gen.log_id,
            g.framing,
            gen.alg,
            if torn {
                "the chain verified up to a torn tail (see the note on stderr)"
            } else if verified {
                "the whole chain verified"
            } else {
                "not verified (--no-verify)"
            }
        );
        out.write_all(text.as_bytes()).map_err(stdout_err)?;
    }
    Ok(0)
}

#[derive(Default)]
struct Stats {
    entries: u64,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
    earliest: Option<DateTime<Utc>>,
    latest: Option<DateTime<Utc>>,
    by_event_type: BTreeMap<String, u64>,
    by_action: BTreeMap<String, u64>,
    by_actor: BTreeMap<String, u64>,
    by_session: BTreeMap<String, u64>,
    succeeded: u64,
    failed: u64,
}

impl Stats {
    fn add(&mut self, e: &Entry) {
        self.entries += 1;
        self.first_seq.get_or_insert(e.seq);
        self.last_seq = Some(e.seq);
        if self.earliest.is_none_or(|t| e.ts < t) {
            self.earliest = Some(e.ts);
        }
        if self.latest.is_none_or(|t| e.ts > t) {
            self.latest = Some(e.ts);
        }
        *self.by_event_type.entry(e.event_type.clone()).or_default() += 1;
        *self.by_action.entry(e.action.clone()).or_default() += 1;
        *self.by_actor.entry(e.actor.clone()).or_default() += 1;
        *self.by_session.entry(e.session_id.clone()).or_default() += 1;
        match e.success {
            Some(true) => self.succeeded += 1,
            Some(false) => self.failed += 1,
            None => {}
        }
    }
}

/// Most values listed per table in the human-readable stats.
const STATS_TOP: usize = 20;

fn table(out: &mut dyn Write, title: &str, m: &BTreeMap<String, u64>) -> io::Result<()> {
    writeln!(out, "by {title} ({} distinct):", m.len())?;
    let mut rows: Vec<(&String, &u64)> = m.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let width = rows
        .iter()
        .take(STATS_TOP)
        .map(|(k, _)| crate::util::word(k).chars().count())
        .max()
        .unwrap_or(0);
    for (k, n) in rows.iter().take(STATS_TOP) {
        writeln!(out, "  {:<width$}  {n}", crate::util::word(k))?;
    }
    if rows.len() > STATS_TOP {
        writeln!(out, "  ... and {} more", rows.len() - STATS_TOP)?;
    }
    Ok(())
}

pub fn stats(a: StatsArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let path = &a.log;
    let g = read_genesis(path)?;
    let mut s = Stats::default();
    let mut damage = Damage::new(path);
    for r in evident::query(path, &to_query(&a.filters)).map_err(|e| Failure::lib(path, e))? {
        match r {
            Ok(e) => s.add(&e),
            Err(e) => damage.note(e)?,
        }
    }
    let span_secs = match (s.earliest, s.latest) {
        (Some(a), Some(b)) => Some((b - a).num_microseconds().unwrap_or(0) as f64 / 1e6),
        _ => None,
    };
    if a.json {
        let v = json!({
            "log_id": g.genesis.log_id,
            "framing": g.framing.name(),
            "alg": g.genesis.alg.name(),
            "entries": s.entries,
            "first_seq": s.first_seq,
            "last_seq": s.last_seq,
            "first_ts": s.earliest.as_ref().map(format_ts),
            "last_ts": s.latest.as_ref().map(format_ts),
            "span_seconds": span_secs,
            "by_event_type": s.by_event_type,
            "by_action": s.by_action,
            "by_actor": s.by_actor,
            "by_session": s.by_session,
            "outcomes": {"success": s.succeeded, "failure": s.failed,
                         "unknown": s.entries - s.succeeded - s.failed},
            "damaged_records": damage.count,
            // The summary reads the entries without checking their hashes.
            "hashes_checked": false,
        });
        let text = serde_json::to_string_pretty(&v).map_err(|e| Failure::usage(e.to_string()))?;
        writeln!(out, "{text}").map_err(stdout_err)?;
    } else {
        let w = |out: &mut dyn Write| -> io::Result<()> {
            writeln!(
                out,
                "log:      {} ({}, {}, log id {})",
                crate::util::shown(path),
                g.framing,
                g.genesis.alg,
                g.genesis.log_id
            )?;
            writeln!(out, "hashes:   not checked (run `evident verify`)")?;
            writeln!(out, "entries:  {}", s.entries)?;
            if let (Some(f), Some(l)) = (s.first_seq, s.last_seq) {
                writeln!(out, "seq:      {f} .. {l}")?;
            }
            if let (Some(e), Some(l)) = (s.earliest, s.latest) {
                writeln!(out, "first:    {}", format_ts(&e))?;
                writeln!(out, "last:     {}", format_ts(&l))?;
                writeln!(out, "span:     {}", span(l - e))?;
            }
            writeln!(
                out,
                "outcomes: {} succeeded, {} failed, {} not stated",
                s.succeeded,
                s.failed,
                s.entries - s.succeeded - s.failed
            )?;
            table(out, "event type", &s.by_event_type)?;
            table(out, "action", &s.by_action)?;
            table(out, "actor", &s.by_actor)?;
            table(out, "session", &s.by_session)
        };
        w(out).map_err(stdout_err)?;
    }
    damage.finish()
}

/// CSV columns, in order.
pub const CSV_COLUMNS: [&str; 17] = [
    "seq",
    "ts",
    "event_type",
    "action",
    "actor",
    "host",
    "session_id",
    "source",
    "success",
    "duration_ms",
    "error",
    "note",
    "git_commit",
    "details",
    "prev",
    "hash",
    "otr",
];

fn csv_row(e: &Entry) -> [String; 17] {
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    [
        e.seq.to_string(),
        format_ts(&e.ts),
        e.event_type.clone(),
        e.action.clone(),
        e.actor.clone(),
        e.host.clone(),
        e.session_id.clone(),
        e.source.clone(),
        e.success.map(|b| b.to_string()).unwrap_or_default(),
        e.duration_ms
            .and_then(|d| serde_json::to_string(&d).ok())
            .unwrap_or_default(),
        opt(&e.error),
        opt(&e.note),
        opt(&e.git_commit),
        serde_json::to_string(&e.details).unwrap_or_default(),
        e.prev.clone(),
        e.hash.clone(),
        e.otr.to_string(),
    ]
}

/// Writes the export of `logs` (path, name) to `w`, the logs in turn;
/// returns the number of entries. Stops at the first damaged record. With
/// `label`, each entry carries its log's name (a first `file` member or
/// column).
fn write_export(
    logs: &[(PathBuf, String)],
    label: bool,
    q: &Query,
    fmt: ExportFormat,
    tk: Option<&(evident::tracekit::Algorithm, Vec<u8>)>,
    w: &mut dyn Write,
    werr: &dyn Fn(io::Error) -> Failure,
) -> Result<u64, Failure> {
    let stop = |path: &Path, e: Error| -> Failure {
        if matches!(e, Error::Io { .. }) {
            return Failure::lib(path, e);
        }
        Failure {
            code: EXIT_FAILED,
            msg: format!(
                "{}; export stopped (run `evident verify --all {}`)",
                lib_msg(path, &e),
                path.display()
            ),
        }
    };
    let open = |path: &Path| evident::query(path, q).map_err(|e| Failure::lib(path, e));
    let mut n = 0u64;
    match fmt {
        ExportFormat::TracekitJson | ExportFormat::TracekitCsv => {
            let [(path, _)] = logs else {
                return Err(Failure::usage(
                    "the TraceKit formats export one log (one TraceKit chain)",
                ));
            };
            let entries = open(path)?;
            n = crate::tracekit::write(path, entries, fmt, tk, w, &|e| stop(path, e), werr)?;
        }
        ExportFormat::Csv => {
            // Every log is opened before anything is written: a log that
            // cannot be opened leaves no header behind.
            let opened = open_all(logs, &open)?;
            let mut cw = csv::Writer::from_writer(&mut *w);
            let cerr = |e: csv::Error| match e.into_kind() {
                csv::ErrorKind::Io(e) => werr(e),
                other => Failure::usage(format!("csv: {other:?}")),
            };
            let file_col = label.then_some("file");
            cw.write_record(file_col.into_iter().chain(CSV_COLUMNS))
                .map_err(cerr)?;
            for ((path, name), entries) in logs.iter().zip(opened) {
                let file_col = label.then_some(name.clone());
                for r in entries {
                    let e = r.map_err(|e| stop(path, e))?;
                    cw.write_record(file_col.iter().cloned().chain(csv_row(&e)))
                        .map_err(cerr)?;
                    n += 1;
                }
            }
            cw.flush().map_err(werr)?;
        }
        ExportFormat::Json | ExportFormat::Jsonl => {
            let array = fmt == ExportFormat::Json;
            let opened = open_all(logs, &open)?;
            if array {
                w.write_all(b"[").map_err(werr)?;
            }
            for ((path, name), entries) in logs.iter().zip(opened) {
                let name = serde_json::to_string(name).map_err(|e| werr(e.into()))?;
                for r in entries {
                    let e = r.map_err(|e| stop(path, e))?;
                    if array {
                        w.write_all(if n == 0 { b"\n" } else { b",\n" })
                            .map_err(werr)?;
                    }
                    if label {
                        // {"file": NAME, ...the entry's members}
                        let text = serde_json::to_string(&e).map_err(|e| werr(e.into()))?;
                        let rest = text.strip_prefix('{').unwrap_or(&text);
                        write!(w, "{{\"file\":{name},{rest}").map_err(werr)?;
                    } else {
                        serde_json::to_writer(&mut *w, &e).map_err(|e| werr(e.into()))?;
                    }
                    if !array {
                        w.write_all(b"\n").map_err(werr)?;
                    }
                    n += 1;
                }
            }
            if array {
                w.write_all(if n == 0 { b"]\n" } else { b"\n]\n" })
                    .map_err(werr)?;
            }
        }
    }
    Ok(n)
}

/// `open` of every log, in order; the first failure.
fn open_all<T>(
    logs: &[(PathBuf, String)],
    open: &dyn Fn(&Path) -> Result<T, Failure>,
) -> Result<Vec<T>, Failure> {
    logs.iter().map(|(path, _)| open(path)).collect()
}

pub fn export(a: ExportArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let logs = [(a.log.clone(), a.log.display().to_string())];
    export_logs(a, &logs, out)
}

/// Exports `logs` (path, name): one log as it is; several into one output,
/// each entry with its file's name.
pub fn export_logs(
    a: ExportArgs,
    logs: &[(PathBuf, String)],
    out: &mut dyn Write,
) -> Result<u8, Failure> {
    let q = to_query(&a.filters);
    let tk = crate::tracekit::options(&a)?;
    let label = logs.len() > 1;
    let Some(dest) = &a.output else {
        write_export(logs, label, &q, a.format, tk.as_ref(), out, &stdout_err)?;
        return Ok(0);
    };
    // Written to a temporary file next to the destination, then renamed
    // over it: a reader never sees a half-written export (a device or a
    // pipe is written into: evident::output).
    let werr = |e: io::Error| Failure::lib(dest, io_err(dest, "write", e));
    let result = (|| -> Result<u64, Failure> {
        let lib = |e| Failure::lib(dest, e);
        let f = evident::output::Output {
            replace: true,
            executable: false,
        }
        .create(dest)
        .map_err(lib)?;
        let mut bw = BufWriter::new(f.file());
        let n = write_export(logs, label, &q, a.format, tk.as_ref(), &mut bw, &werr)?;
        bw.into_inner().map_err(|e| werr(e.into_error()))?;
        f.finish().map_err(lib)?;
        Ok(n)
    })();
    let n = result?;
    writeln!(
        out,
        "exported {n} entries ({}) to {}",
        format!("{:?}", a.format).to_lowercase(),
        dest.display()
    )
    .map_err(stdout_err)?;
    Ok(0)
}
