//! The bottom layer of the session module: what the model and the file
//! format both need (hashing, the commit's record references, the hint
//! appended to damage errors). It uses no other session module.
//!
//! Layers, each using only those before it: `base` → `model` → `history` (summary, scripts) → `file`
//! (format) → `store` → `import` (CSV, `.npy`) → `capture` (`.sr`,
//! `.wfm`, choosing the loader). `tests/session_layering.rs` checks it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chain::Hash;

/// Appended to errors about damage: what to do next.
pub const CORRUPT_HINT: &str = " (run `evident session verify` for every problem)";

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Hash {
    Hash::from_slice(&Sha256::digest(bytes)).unwrap_or_else(|| Hash::zero(32))
}

/// A commit's reference to a section record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionRef {
    pub at: u64,
    /// SHA-256 of the section's `content` as written in its record.
    pub content: String,
    pub hash: String,
    pub section: String,
}

/// A commit's reference to a trace record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceRef {
    pub at: u64,
    pub hash: String,
    pub name: String,
}
