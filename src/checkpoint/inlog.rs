//! Checkpoint records in a log (spec/checkpoints.md § 2.2): found, and
//! checked against the records before them, in one forward read.

use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::auto::CHECKPOINT_EVENT_TYPE;
use super::tree::{Frontier, LogLeaves};
use super::{check_signatures, CheckOptions, NoteVerifier, SignedCheckpoint};
use crate::error::Result;
use crate::verify::ViolationKind;

/// The result of checking the checkpoint records of a log.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct InLogReport {
    /// True when every checkpoint record is well formed, signed by the log
    /// key, of the size its seq says, and has the root of the records
    /// before it (and reading the log met no damage).
    pub valid: bool,
    /// Checkpoint records found.
    pub checkpoints: u64,
    /// The size of the last checkpoint record that verified.
    pub last_size: Option<u64>,
    /// One line per failing checkpoint record (`record seq N: …`) or
    /// damage that stopped reading.
    pub failures: Vec<String>,
    /// Records read.
    pub records_read: u64,
    /// The last checkpoint record that verified (as note text).
    #[serde(skip)]
    pub last: Option<SignedCheckpoint>,
}

/// The signed note a record body carries, when the record is a checkpoint
/// record: `Some(Err)` when it is one but malformed.
pub fn checkpoint_of(body: &[u8]) -> Option<std::result::Result<SignedCheckpoint, String>> {
    let marker = CHECKPOINT_EVENT_TYPE.as_bytes();
    if !body.windows(marker.len()).any(|w| w == marker) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if v.get("event_type").and_then(|t| t.as_str()) != Some(CHECKPOINT_EVENT_TYPE) {
        return None;
    }
    let Some(text) = v
        .get("details")
        .and_then(|d| d.get("checkpoint"))
        .and_then(|t| t.as_str())
    else {
        return Some(Err("details.checkpoint is not a string".into()));
    };
    Some(SignedCheckpoint::parse(text.as_bytes()).map_err(|e| e.to_string()))
}

/// Checks every checkpoint record of the log at `log` with the log's
/// public key: each MUST sign the records before it (its size is its
/// seq) with their root. Reads the whole log once.
pub fn verify_in_log(
    log: &Path,
    log_key: &NoteVerifier,
    opts: &CheckOptions,
) -> Result<InLogReport> {
    let leaves = LogLeaves::open(log, opts.key.as_ref())?;
    let mut f = Frontier::new();
    let mut r = InLogReport {
        valid: true,
        checkpoints: 0,
        last_size: None,
        failures: Vec::new(),
        records_read: 0,
        last: None,
    };
    let end = leaves.read_all(|rec| {
        if let Some(found) = checkpoint_of(&rec.body) {
            r.checkpoints += 1;
            let fail = match found {
                Err(e) => Some(format!("malformed checkpoint: {e}")),
                Ok(cp) if cp.checkpoint.size != rec.seq => Some(format!(
                    "the checkpoint is of {} records, not of the {} before it",
                    cp.checkpoint.size, rec.seq
                )),
                Ok(cp) => match check_signatures(&cp, log_key, opts, opts.origin.as_deref()) {
                    Err((o, m)) => Some(format!("{}: {m}", o.name())),
                    Ok(_) if cp.checkpoint.root != f.root() => Some(format!(
                        "root_mismatch: the {} records before it are not the ones it signed (root {}, log has {})",
                        rec.seq,
                        B64.encode(cp.checkpoint.root),
                        B64.encode(f.root())
                    )),
                    Ok(_) => {
                        r.last_size = Some(cp.checkpoint.size);
                        r.last = Some(cp);
                        None
                    }
                },
            };
            if let Some(m) = fail {
                r.valid = false;
                r.failures.push(format!("record seq {}: {m}", rec.seq));
            }
        }
        f.push(rec.leaf);
    })?;
    r.records_read = f.size();
    if let Some(p) = end.problem {
        if p.kind != ViolationKind::TornTail {
            r.valid = false;
            r.failures.push(format!("reading stopped: {p}"));
        }
    }
    Ok(r)
}
