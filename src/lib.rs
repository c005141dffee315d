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
//! (hashing and keys), `storage` and `scan` (file access), [`log`] (the
//! writer), [`mod@verify`] and [`mod@query`] (readers), [`session`] (the
//! session container: an analysis session's traces, annotations,
//! measurements and history in a crash-safe, versioned file on the same
//! frames and chain), and `ffi` (the C ABI, hidden from these docs: Rust users call the
//! crate's own types).
//!
//! The C ABI, the file-access layer with its fault- and crash-injecting
//! test hooks, and the record codec's building blocks are internal: they
//! are public only with the `__internal` feature, which the crate's own
//! tests, benches and fuzz targets enable and which is not part of the API
//! (no semver promise; see `docs/api-surface.md`).

/// The library version (crate version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

mod canon;
pub mod chain;
pub mod checkpoint;
pub mod compat;
pub mod compliance;
pub mod convert;
mod crc_range;
pub mod error;
mod fast_record;
// The C ABI (`include/evident.h`): `extern "C"` functions for C, C++,
// Python and Go, exported from the cdylib and staticlib whatever the
// module's visibility. Not part of the Rust API (use the crate's own
// types); public only with the `__internal` feature (the crate's tests).
#[cfg(feature = "__internal")]
#[doc(hidden)]
pub mod ffi;
#[cfg(not(feature = "__internal"))]
#[allow(dead_code)] // the header-only enums (cbindgen reads them)
mod ffi;
#[path = "format.rs"]
mod format_impl;
pub mod format {
    //! The record format (spec/format.md): framings, the entry and genesis
    //! types, timestamps and the format's limits. The record codec itself
    //! (encode, frame, parse, decode) is internal.
    pub use crate::format_impl::{
        format_ts, parse_ts, ts_writable, Entry, Event, Framing, Genesis, BINARY_HEADER_LEN,
        BINARY_MAGIC, BINARY_VERSION, FORMAT_VERSION, FRAME_OVERHEAD, KNOWN_EXTENSIONS, MAX_BODY,
        MAX_DEPTH,
    };
    // The codec's building blocks: public only with the `__internal`
    // feature (the crate's tests, benches and fuzz targets).
    #[cfg(feature = "__internal")]
    #[doc(hidden)]
    pub use crate::format_impl::*;
    #[cfg(not(feature = "__internal"))]
    pub(crate) use crate::format_impl::*;
}
pub mod legacy_openparallax;
mod lock;
pub mod log;
#[cfg(feature = "session")]
pub mod measure;
pub mod output;
#[cfg(feature = "postgres")]
pub mod pg;
mod pytext;
pub mod query;
pub mod report;
pub(crate) mod scan;
#[cfg(feature = "session")]
pub mod session;
mod sha_lanes;
pub mod source;
// File access (the `Storage` trait) and the fault- and crash-injecting test
// hooks: internal; public only with the `__internal` feature.
#[cfg(feature = "__internal")]
#[doc(hidden)]
pub mod storage;
#[cfg(not(feature = "__internal"))]
pub(crate) mod storage;
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
    Truncated,
};
pub use query::{query, Order, Query, QueryIter};
pub use verify::{
    verify, ExpectedHead, VerifyOptions, VerifyReport, Violation, ViolationKind, IN_FLIGHT_WAIT,
};

/// Compiles the README's examples as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Compiles `docs/api-surface.md` (builders work, struct literals of the
/// `#[non_exhaustive]` options do not).
#[cfg(doctest)]
#[doc = include_str!("../docs/api-surface.md")]
pub struct ApiSurfaceDoctests;
