//! The session container: a crash-safe, versioned file holding an analysis
//! session's traces, annotation layers, measurements, operation history and
//! metadata (the format is in `spec/session.md`).
//!
//! It is built on the log engine: the same binary frames, CRC and hash
//! chain (SHA-256 or HMAC), the same writer lock, the same rule that a torn
//! tail is moved aside and damage is reported, never repaired. Each save
//! appends what changed plus a commit record; loading reads the newest
//! complete commit and maps trace samples instead of copying them.
//!
//! ```no_run
//! use evident::session::{Annotation, Measurement, SaveOptions, Session, Trace, TraceInfo, LoadOptions};
//! let mut s = Session::new("Power rail");
//! let samples: Vec<f64> = (0..1000).map(|i| (i as f64 / 50.0).sin()).collect();
//! s.add_trace("CH1", Trace::from_slice(&samples, TraceInfo::with_rate(1e6))?)?;
//! s.annotate("default", Annotation::new("spike").at(1.5e-6))?;
//! s.record_measurement(Measurement::new("rise_time", 2.3e-9, "s"))?;
//! let info = s.save(Some("analysis.evs".as_ref()), &SaveOptions::default())?;
//! let back = Session::load("analysis.evs", &LoadOptions::default())?;
//! assert_eq!(back.trace("CH1").unwrap().as_slice::<f64>()?, &samples[..]);
//! # Ok::<(), evident::Error>(())
//! ```

mod base;
mod capture;
pub(crate) mod file;
pub(crate) mod history;
mod import;
mod model;
mod params;
mod store;

pub use capture::read_trace_file_with;
pub use file::{CompactedFrom, Counts, Problem, CORRUPT_HINT, SESSION_MAGIC};
pub use history::{script as history_script, summary as history_summary, ScriptStyle};
pub use import::{ChannelSel, ImportOptions};
pub(crate) use model::aligned_copy;
pub use model::{
    trace_json, Annotation, AnnotationKind, Dtype, HistoryEntry, Layer, LayerProps, Measurement,
    Sample, Session, Trace, TraceInfo,
};
pub use params::Params;
// Test hook; public only with the `__internal` feature (the crate's tests).
#[cfg(feature = "__internal")]
#[doc(hidden)]
pub use store::fail_thread_spawns;
pub use store::{
    compact, verify_session, versions, CompactInfo, LoadOptions, SaveInfo, SaveOptions,
    SessionReport, VersionInfo,
};

/// True when the file starts with the session magic.
pub fn is_session_file(path: impl AsRef<std::path::Path>) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 8];
    crate::storage::open_regular(path.as_ref(), crate::storage::Access::Read, "open")
        .ok()
        .and_then(|mut f| f.read_exact(&mut magic).ok())
        .is_some()
        && magic == SESSION_MAGIC
}
