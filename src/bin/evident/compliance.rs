//! `evident compliance-check`: the library's dataset compliance checks
//! ([`evident::compliance`]) on a CSV or JSON-lines file.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use clap::Args;
use evident::compliance::{self, csv_value, DatasetBuilder};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::util::{stdout_err, Failure, EXIT_FAILED};

#[derive(Args, Debug)]
pub struct ComplianceArgs {
    /// The dataset: CSV with a header row (`.csv`, `.tsv` tab-separated),
    /// or one JSON object per line (`.jsonl`, `.ndjson`). Every record is
    /// counted; the first 1000 values of each column are checked.
    pub file: PathBuf,
    /// The regulation: GDPR (default), CCPA, HIPAA or any other name.
    #[arg(long, default_value = "GDPR")]
    pub regulation: String,
    /// The dataset's name in the report (default: the file name).
    #[arg(long)]
    pub name: Option<String>,
    /// Documentation of the processing, a JSON object, e.g.
    /// '{"consent_obtained": true, "purpose": "billing"}'.
    #[arg(long, value_name = "JSON")]
    pub metadata: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A library error as the message after the file's name.
fn lib_text(e: evident::Error) -> String {
    match e {
        evident::Error::InvalidArgument(m) => m,
        e => e.to_string(),
    }
}

/// Opens the dataset: a regular file only (a FIFO, device or directory is
/// refused at once, naming the file).
fn open(path: &Path) -> Result<File, Failure> {
    compliance::open_dataset(path).map_err(|e| Failure::lib(path, e))
}

fn too_long(path: &Path, what: &str, line: u64) -> Failure {
    Failure::at(
        path,
        format!(
            "line {line}: {what} longer than {} bytes: not read",
            compliance::MAX_RECORD_BYTES
        ),
    )
}

/// Counts the bytes the CSV reader takes since the last [`Budget::mark`],
/// failing the read once they pass what one record (with the reader's own
/// buffer) may take: an over-long record stops after about
/// [`compliance::MAX_RECORD_BYTES`] read, whatever the file's size.
struct Budget<R> {
    inner: R,
    since_mark: Rc<Cell<usize>>,
}

/// What [`Budget`] lets through between two marks: one record, and what
/// the CSV reader's buffer read ahead.
const BUDGET: usize = compliance::MAX_RECORD_BYTES + (256 << 10);

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let used = self.since_mark.get();
        if used > BUDGET {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "record too long",
            ));
        }
        let room = (BUDGET + 1 - used).min(buf.len());
        let n = self.inner.read(buf.get_mut(..room).unwrap_or_default())?;
        self.since_mark.set(used + n);
        Ok(n)
    }
}

fn read_csv(path: &Path, b: &mut DatasetBuilder, delimiter: u8) -> Result<(), Failure> {
    let file = open(path)?;
    let since_mark = Rc::new(Cell::new(0usize));
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(Budget {
            inner: file,
            since_mark: since_mark.clone(),
        });
    // A record's bytes, from where the last one ended; over the bound
    // (counted exactly, or as the budget ran out) it is refused.
    let check = |r: &csv::Reader<Budget<File>>, start: &csv::Position, what: &str| {
        let over = r.position().byte() - start.byte() > compliance::MAX_RECORD_BYTES as u64;
        if over || since_mark.get() > BUDGET {
            return Err(too_long(path, what, start.line()));
        }
        since_mark.set(since_mark.get().saturating_sub(
            usize::try_from(r.position().byte() - start.byte()).unwrap_or(usize::MAX),
        ));
        Ok(())
    };
    let mut rec = csv::StringRecord::new();
    let start = r.position().clone();
    let got = r.read_record(&mut rec);
    check(&r, &start, "header row")?;
    got.map_err(|e| Failure::at(path, format!("header row: {e}")))?;
    let header: Vec<String> = rec.iter().map(str::to_string).collect();
    b.try_header(&header)
        .map_err(|e| Failure::at(path, format!("header row: {}", lib_text(e))))?;
    let mut i = 0u64;
    loop {
        let start = r.position().clone();
        let got = r.read_record(&mut rec);
        check(&r, &start, "record")?;
        match got {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => return Err(Failure::at(path, format!("record {}: {e}", i + 1))),
        }
        i += 1;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() > header.len() {
            return Err(Failure::at(
                path,
                format!(
                    "record {i} (line {line}): {} fields, the header has {}",
                    rec.len(),
                    header.len()
                ),
            ));
        }
        b.try_record(
            header
                .iter()
                .map(String::as_str)
                .zip(rec.iter().map(csv_value)),
        )
        .map_err(|e| Failure::at(path, format!("record {i} (line {line}): {}", lib_text(e))))?;
    }
}

/// Reads the next line into `line` (without its `\n`): `Ok(false)` at the
/// end of the file. A line longer than [`compliance::MAX_RECORD_BYTES`] is
/// refused as soon as that many bytes were read; the buffer grows
/// fallibly (memory the allocator refuses is an error, never an abort).
fn next_line(
    path: &Path,
    r: &mut impl BufRead,
    line: &mut Vec<u8>,
    n: u64,
) -> Result<bool, Failure> {
    line.clear();
    let mut any = false;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::at(path, format!("line {n}: {e}"))),
        };
        if chunk.is_empty() {
            return Ok(any);
        }
        any = true;
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(p) => (p + 1, true),
            None => (chunk.len(), false),
        };
        let text = chunk.get(..take - usize::from(done)).unwrap_or_default();
        if line.len() + text.len() > compliance::MAX_RECORD_BYTES {
            return Err(too_long(path, "line", n));
        }
        line.try_reserve(text.len())
            .map_err(|_| Failure::at(path, format!("line {n}: out of memory for the line")))?;
        line.extend_from_slice(text);
        r.consume(take);
        if done {
            return Ok(true);
        }
    }
}

/// A field of a JSON-lines record as kept in the sample
/// ([`compliance::sample_value`]), without building nested arrays and
/// objects (only strings are checked).
fn field_value(raw: &RawValue) -> serde_json::Result<Value> {
    match raw.get().as_bytes().first() {
        Some(b'[') => Ok(Value::Array(Vec::new())),
        Some(b'{') => Ok(Value::Object(Map::new())),
        _ => serde_json::from_str(raw.get()),
    }
}

fn read_jsonl(path: &Path, b: &mut DatasetBuilder) -> Result<(), Failure> {
    let file = open(path)?;
    let mut r = BufReader::with_capacity(64 << 10, file);
    let mut line = Vec::new();
    let mut n = 0u64;
    while next_line(path, &mut r, &mut line, n + 1)? {
        n += 1;
        let Ok(text) = std::str::from_utf8(&line) else {
            return Err(Failure::at(
                path,
                format!("line {n}: stream did not contain valid UTF-8"),
            ));
        };
        if text.trim().is_empty() {
            continue;
        }
        // The line's JSON is checked whole, then its object's fields are
        // taken in the order (and with the last of duplicate keys) a JSON
        // object gives them, nested values not built.
        let raw: &RawValue =
            serde_json::from_str(text).map_err(|e| Failure::at(path, format!("line {n}: {e}")))?;
        if !raw.get().starts_with('{') {
            return Err(Failure::at(path, format!("line {n}: not a JSON object")));
        }
        let m: BTreeMap<String, &RawValue> = serde_json::from_str(raw.get())
            .map_err(|e| Failure::at(path, format!("line {n}: {e}")))?;
        let mut fields = Vec::new();
        fields
            .try_reserve_exact(m.len())
            .map_err(|_| Failure::at(path, format!("line {n}: out of memory for the record")))?;
        for (k, v) in &m {
            let v = field_value(v).map_err(|e| {
                // The error as the whole line's parse words it (its column).
                let e = serde_json::from_str::<Value>(text)
                    .err()
                    .map_or(e.to_string(), |e| e.to_string());
                Failure::at(path, format!("line {n}: {e}"))
            })?;
            fields.push((k.as_str(), v));
        }
        b.try_record(fields)
            .map_err(|e| Failure::at(path, format!("line {n}: {}", lib_text(e))))?;
    }
    Ok(())
}

/// Exit 0 when compliant, 1 when the checks found issues.
pub fn run(a: ComplianceArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let metadata: Map<String, Value> = match &a.metadata {
        None => Map::new(),
        Some(t) => match serde_json::from_str(t) {
            Ok(Value::Object(m)) => m,
            _ => return Err(Failure::usage("--metadata: not a JSON object")),
        },
    };
    let ext = a
        .file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut b = DatasetBuilder::new();
    match ext.as_str() {
        "csv" => read_csv(&a.file, &mut b, b',')?,
        "tsv" => read_csv(&a.file, &mut b, b'\t')?,
        "jsonl" | "ndjson" => read_jsonl(&a.file, &mut b)?,
        _ => {
            return Err(Failure::at(
                &a.file,
                "unknown dataset format (use .csv, .tsv, .jsonl or .ndjson)",
            ))
        }
    }
    let name = a.name.clone().unwrap_or_else(|| {
        a.file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let report = compliance::audit_dataset(&a.regulation, &b.finish(&name, metadata));
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(stdout_err);
    if a.json {
        w(out, report.to_json())?;
    } else {
        w(
            out,
            format!(
                "{}: {} ({} records, {} columns): {}",
                report.dataset_name,
                report.regulation,
                report.num_records,
                report.columns.len(),
                if report.compliant {
                    "no issues".to_string()
                } else {
                    format!("{} issues", report.issues.len())
                }
            ),
        )?;
        for i in &report.issues {
            w(
                out,
                format!(
                    "  {} [{}]: {} ({})",
                    i.component, i.severity, i.issue, i.recommendation
                ),
            )?;
        }
        for x in &report.warnings {
            w(
                out,
                format!("  warning: {} ({})", x.warning, x.recommendation),
            )?;
        }
        for c in &report.checks {
            w(
                out,
                format!(
                    "  check {}: {}",
                    c.check,
                    if c.passed { "passed" } else { "failed" }
                ),
            )?;
        }
    }
    Ok(if report.compliant { 0 } else { EXIT_FAILED })
}
