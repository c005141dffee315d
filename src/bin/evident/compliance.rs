//! `evident compliance-check`: the library's dataset compliance checks
//! ([`evident::compliance`]) on a CSV or JSON-lines file.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use evident::compliance::{self, csv_value, DatasetBuilder};
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

fn read_csv(path: &Path, b: &mut DatasetBuilder, delimiter: u8) -> Result<(), Failure> {
    let file = File::open(path).map_err(|e| Failure::at(path, format!("cannot open: {e}")))?;
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(file);
    let header: Vec<String> = r
        .headers()
        .map_err(|e| Failure::at(path, format!("header row: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    b.header(&header);
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| Failure::at(path, format!("record {}: {e}", i + 1)))?;
        if rec.len() > header.len() {
            return Err(Failure::at(
                path,
                format!(
                    "record {} (line {}): {} fields, the header has {}",
                    i + 1,
                    rec.position().map_or(0, |p| p.line()),
                    rec.len(),
                    header.len()
                ),
            ));
        }
        b.record(
            header
                .iter()
                .map(String::as_str)
                .zip(rec.iter().map(csv_value)),
        );
    }
    Ok(())
}

fn read_jsonl(path: &Path, b: &mut DatasetBuilder) -> Result<(), Failure> {
    let file = File::open(path).map_err(|e| Failure::at(path, format!("cannot open: {e}")))?;
    let mut line = String::new();
    let mut r = BufReader::new(file);
    let mut n = 0u64;
    loop {
        line.clear();
        let got = r
            .read_line(&mut line)
            .map_err(|e| Failure::at(path, format!("line {}: {e}", n + 1)))?;
        if got == 0 {
            return Ok(());
        }
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(m)) => b.record(m.iter().map(|(k, v)| (k.as_str(), v.clone()))),
            Ok(_) => return Err(Failure::at(path, format!("line {n}: not a JSON object"))),
            Err(e) => return Err(Failure::at(path, format!("line {n}: {e}"))),
        }
    }
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
