//! TraceKit's audit-trail HMAC chain (`tracekit.core.audit`), so that the
//! TraceKit view of an evident trail (and its JSON/CSV export) verifies
//! with TraceKit's own checker.
//!
//! Each entry's HMAC is `HMAC(key, "timestamp|action|details|user|host|previous_hash")`
//! (UTF-8) with SHA-256 or SHA-512, as lowercase hex; `details` is the
//! caller's canonical JSON of the entry's details (TraceKit's is Python's
//! `json.dumps(details, sort_keys=True)`); the first entry's
//! `previous_hash` is `"GENESIS"`, every other entry's is the previous
//! entry's HMAC.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Sha256, Sha512};

use crate::error::{Error, Result};

/// `previous_hash` of the first entry.
pub const GENESIS: &str = "GENESIS";

/// TraceKit's hash algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    /// `"sha256"` or `"sha512"`.
    pub fn from_name(name: &str) -> Result<Algorithm> {
        match name {
            "sha256" => Ok(Algorithm::Sha256),
            "sha512" => Ok(Algorithm::Sha512),
            other => Err(Error::InvalidArgument(format!(
                "Unsupported hash algorithm: {other} (use sha256 or sha512)"
            ))),
        }
    }
}

/// One TraceKit entry; `details` is the canonical JSON text of its details.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub timestamp: String,
    pub action: String,
    pub details: String,
    pub user: String,
    pub host: String,
    pub previous_hash: String,
    #[serde(default)]
    pub hmac: String,
}

/// The entry's HMAC (lowercase hex). Keys of any length are accepted.
pub fn entry_hmac(alg: Algorithm, key: &[u8], e: &Entry) -> String {
    let canonical = format!(
        "{}|{}|{}|{}|{}|{}",
        e.timestamp, e.action, e.details, e.user, e.host, e.previous_hash
    );
    match alg {
        Algorithm::Sha256 => {
            let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
            m.update(canonical.as_bytes());
            hex::encode(m.finalize().into_bytes())
        }
        Algorithm::Sha512 => {
            let mut m = <Hmac<Sha512> as Mac>::new_from_slice(key).expect("HMAC takes any key");
            m.update(canonical.as_bytes());
            hex::encode(m.finalize().into_bytes())
        }
    }
}

/// Index of the first entry whose HMAC or link is wrong, `None` when the
/// chain is intact (an empty chain is intact).
pub fn first_bad(alg: Algorithm, key: &[u8], entries: &[Entry]) -> Option<usize> {
    let mut prev = GENESIS;
    for (i, e) in entries.iter().enumerate() {
        if e.previous_hash != prev || e.hmac != entry_hmac(alg, key, e) {
            return Some(i);
        }
        prev = &e.hmac;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(prev: &str) -> Entry {
        Entry {
            timestamp: "2026-01-08T10:30:00.000000Z".into(),
            action: "load".into(),
            details: r#"{"file": "a.wfm"}"#.into(),
            user: "alice".into(),
            host: "lab".into(),
            previous_hash: prev.into(),
            hmac: String::new(),
        }
    }

    #[test]
    fn known_answer_and_chain() {
        // HMAC-SHA256(b"key", "2026-01-08T10:30:00.000000Z|load|{\"file\": \"a.wfm\"}|alice|lab|GENESIS"),
        // computed independently with Python's hmac module.
        let mut a = entry(GENESIS);
        a.hmac = entry_hmac(Algorithm::Sha256, b"key", &a);
        assert_eq!(
            a.hmac,
            "3606cc929a655b5a79582e7fb751382331a4fab26337ff9df8d983a6be3e49ec"
        );
        let mut b = entry(&a.hmac);
        b.hmac = entry_hmac(Algorithm::Sha256, b"key", &b);
        let chain = vec![a.clone(), b.clone()];
        assert_eq!(first_bad(Algorithm::Sha256, b"key", &chain), None);
        assert_eq!(first_bad(Algorithm::Sha256, b"other", &chain), Some(0));
        let mut t = chain.clone();
        t[1].details = r#"{"file": "b.wfm"}"#.into();
        assert_eq!(first_bad(Algorithm::Sha256, b"key", &t), Some(1));
        let mut r = chain.clone();
        r.remove(0);
        assert_eq!(first_bad(Algorithm::Sha256, b"key", &r), Some(0));
        let mut c = entry(GENESIS);
        c.hmac = entry_hmac(Algorithm::Sha512, b"k", &c);
        assert_eq!(c.hmac.len(), 128);
        assert_eq!(first_bad(Algorithm::Sha512, b"k", &[c]), None);
        assert!(Algorithm::from_name("md5").is_err());
    }
}
