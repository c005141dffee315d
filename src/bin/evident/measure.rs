//! `evident measure`: the library's waveform measurements
//! ([`evident::measure`]) of the traces of a session file. Read-only: the
//! session file is not changed (the measurements are not added to its
//! history; use the session API for that). Each trace's samples are checked
//! against their hash first (like `session export`).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use evident::measure::{self, Measure};
use evident::session::{LoadOptions, Session};
use serde_json::{json, Map, Value};

use crate::util::{load_key, stdout_err, Failure};
use crate::KeyArg;

#[derive(Args, Debug)]
// `--version N` is the session version, not the program's.
#[command(disable_version_flag = true)]
pub struct MeasureArgs {
    /// The session file (.evs).
    pub session: PathBuf,
    /// A trace to measure (repeat for several; default: every trace).
    #[arg(long = "trace", value_name = "NAME")]
    pub traces: Vec<String>,
    /// The measurements, comma-separated: frequency, period, amplitude,
    /// rise_time, fall_time, duty_cycle, thd (default: all). Transitions use
    /// IEEE 181 reference levels (10 %/50 %/90 % of the state levels).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub what: Vec<String>,
    /// Load this version of the session (default: the newest).
    #[arg(long, value_name = "N")]
    pub version: Option<u64>,
    #[command(flatten)]
    pub key: KeyArg,
    /// Print JSON: {trace: {measurement: {"value", "unit"}}} (a value that
    /// cannot be measured is null).
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: MeasureArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let what: Vec<Measure> = if a.what.is_empty() {
        Measure::ALL.to_vec()
    } else {
        a.what
            .iter()
            .map(|w| {
                Measure::from_name(w.trim()).ok_or_else(|| {
                    let all: Vec<&str> = Measure::ALL.iter().map(|m| m.name()).collect();
                    Failure::usage(format!(
                        "--what: unknown measurement {w:?} (use {})",
                        all.join(", ")
                    ))
                })
            })
            .collect::<Result<_, _>>()?
    };
    let key = load_key(a.key.key_file.as_deref())?;
    crate::session::require_session(&a.session)?;
    let session = Session::load(&a.session, &LoadOptions::new().key(key).version(a.version))
        .map_err(|e| Failure::lib(&a.session, e))?;
    let names: Vec<String> = if a.traces.is_empty() {
        session.traces().map(|(n, _)| n.to_string()).collect()
    } else {
        a.traces.clone()
    };
    let mut results = Vec::new();
    for name in &names {
        let trace = session
            .trace(name)
            .ok_or_else(|| Failure::at(&a.session, format!("no trace named {name:?}")))?;
        // Values are only reported of samples that match their hash.
        trace.verify().map_err(|e| Failure::lib(&a.session, e))?;
        let samples = measure::trace_samples(trace).map_err(|e| Failure::lib(&a.session, e))?;
        let rate = trace.info().sample_rate;
        let row = what
            .iter()
            .map(|m| {
                let v = m.try_apply(&samples, rate).map_err(|e| {
                    Failure::at(&a.session, format!("trace {name:?}: {}: {e}", m.name()))
                })?;
                Ok((*m, v))
            })
            .collect::<Result<Vec<(Measure, f64)>, Failure>>()?;
        results.push((name.clone(), trace.info().units.clone(), row));
    }
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(stdout_err);
    if a.json {
        let mut doc = Map::new();
        for (name, units, row) in &results {
            let mut m = Map::new();
            for (k, v) in row {
                let value = serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number);
                m.insert(
                    k.name().into(),
                    json!({"value": value, "unit": k.unit_for(units)}),
                );
            }
            doc.insert(name.clone(), Value::Object(m));
        }
        w(out, Value::Object(doc).to_string())?;
    } else {
        for (name, units, row) in &results {
            for (k, v) in row {
                let v = if v.is_finite() {
                    format!("{v:.6e}")
                } else {
                    "n/a".into()
                };
                let unit = match k.unit_for(units) {
                    "" => String::new(),
                    u => format!(" {u}"),
                };
                w(out, format!("{name}\t{}\t{v}{unit}", k.name()))?;
            }
        }
    }
    Ok(0)
}
