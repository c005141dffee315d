//! # evident
//!
//! Tamper-evident, crash-safe, append-only audit logs.
//!
//! A log is a hash chain of records, written in one of two framings that
//! carry the same bytes: JSONL (one JSON object per line, readable with
//! `jq`) or binary (CRC-framed). Each record's hash is SHA-256 or HMAC over
//! its canonical body, which names the previous record's hash.
//!
//! ```no_run
//! use evident::{Log, OpenOptions, Event, verify, VerifyOptions};
//! let log = Log::open("audit.jsonl", OpenOptions::new())?;
//! log.append(&Event::new("ACTION_EXECUTED", "load_trace")
//!     .details(serde_json::json!({"file": "scope.bin"})))?;
//! log.close()?;
//! let report = verify("audit.jsonl", &VerifyOptions::default())?;
//! assert!(report.valid);
//! # Ok::<(), evident::Error>(())
//! ```
//!
//! Layers, each readable alone: [`mod@format`] (bytes, no I/O), [`chain`]
//! (hashing and keys), [`storage`] and `scan` (file access), [`log`] (the
//! writer), [`mod@verify`] and [`mod@query`] (readers), [`session`] (the
//! session container: an analysis session's traces, annotations,
//! measurements and history in a crash-safe, versioned file on the same
//! frames and chain), and `ffi` (the C ABI, hidden from these docs: Rust users call the
//! crate's own types).
//!
//! Items marked `#[doc(hidden)]` (the C ABI, the fault- and crash-injecting
//! storage test hooks, the record codec's building blocks) are public only
//! for the crate's own tests, benches and bindings; they are not part of the
//! API and may change in any release.

/// The library version (crate version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

mod canon;
pub mod chain;
pub mod checkpoint;
pub mod compliance;
pub mod convert;
mod crc_range;
pub mod error;
mod fast_record;
/// The C ABI (`include/evident.h`): `extern "C"` functions for C, C++,
/// Python and Go. Not part of the Rust API (use the crate's own types).
#[doc(hidden)]
pub mod ffi;
pub mod format;
mod lock;
pub mod log;
#[cfg(feature = "session")]
pub mod measure;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod query;
pub mod report;
pub(crate) mod scan;
#[cfg(feature = "session")]
pub mod session;
pub mod source;
pub mod storage;
mod sys;
pub(crate) mod tail;
pub mod tracekit;
#[cfg(feature = "tracing")]
#[path = "tracing_layer.rs"]
pub mod tracing;
pub mod verify;
pub mod witness;

pub use chain::{Chain, Hash, HashAlg, Key};
pub use convert::{convert, ConvertOptions, ConvertReport};
pub use error::{Error, Position, Result};
pub use format::{Entry, Event, Framing, Genesis};
pub use log::{
    inspect, Durability, Head, LockMode, Log, LogInfo, OpenOptions, Recovery, Repair, TornTail,
};
pub use query::{query, Order, Query, QueryIter};
pub use verify::{verify, ExpectedHead, VerifyOptions, VerifyReport, Violation, ViolationKind};

/// Compiles the README's examples as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
