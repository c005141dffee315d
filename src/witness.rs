//! A witness (C2SP `tlog-witness` semantics, local transport): it keeps,
//! per log origin, the last checkpoint it cosigned, and cosigns a new
//! checkpoint only with a valid consistency proof from that one.
//!
//! Requests are `tlog-witness` add-checkpoint bodies ([`ConsistencyProof`]
//! text: `old <size>`, proof lines, a blank line, the checkpoint); the
//! outcome carries the HTTP status the protocol gives it. A split view (a
//! checkpoint of the size the witness holds with another root, or one its
//! checkpoint is not a prefix of) is refused and its evidence kept in
//! `<store>/evidence/`.
//!
//! The store is a directory: `<sha256(origin) hex>.checkpoint` per log
//! (the cosigned checkpoint), replaced atomically (write a temporary file,
//! fsync, rename, fsync the directory) under an exclusive lock on
//! `<store>/.lock`, so a witness killed at any moment leaves the old or
//! the new checkpoint, and concurrent requests cannot roll it back.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::checkpoint::merkle;
use crate::checkpoint::{ConsistencyProof, NoteSigner, NoteVerifier, SignedCheckpoint};
use crate::error::{Error, Result};

/// A log the witness accepts: its key and, optionally, its origin.
#[derive(Debug, Clone)]
pub struct TrustedLog {
    /// The origin the log's checkpoints must have (`None`: any origin
    /// signed by `key`).
    pub origin: Option<String>,
    /// The log's public key (Ed25519).
    pub key: NoteVerifier,
}

/// A witness over a store directory.
#[derive(Debug)]
pub struct Witness {
    store: PathBuf,
    signer: NoteSigner,
    logs: Vec<TrustedLog>,
}

/// The outcome of an add-checkpoint request, with its `tlog-witness` HTTP
/// status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 200: cosigned. `signature_lines` is the response body; `cosigned`
    /// the checkpoint with the cosignature added.
    Cosigned {
        signature_lines: String,
        cosigned: SignedCheckpoint,
    },
    /// 400: not a well-formed request, or old size larger than the size.
    BadRequest(String),
    /// 403: no valid signature by a key trusted for the origin.
    Forbidden(String),
    /// 404: the origin is not one the witness knows.
    UnknownOrigin(String),
    /// 409: the old size is not the size the witness holds (`latest`).
    /// `evidence` is set when the checkpoint also shows a split view.
    Conflict {
        latest: u64,
        evidence: Option<PathBuf>,
    },
    /// 422: the proof does not verify, or a split view; evidence kept.
    Unprocessable {
        message: String,
        split_view: bool,
        evidence: Option<PathBuf>,
    },
}

impl Outcome {
    /// The HTTP status of `tlog-witness`.
    pub fn status(&self) -> u16 {
        match self {
            Outcome::Cosigned { .. } => 200,
            Outcome::BadRequest(_) => 400,
            Outcome::Forbidden(_) => 403,
            Outcome::UnknownOrigin(_) => 404,
            Outcome::Conflict { .. } => 409,
            Outcome::Unprocessable { .. } => 422,
        }
    }

    /// A stable name.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Cosigned { .. } => "cosigned",
            Outcome::BadRequest(_) => "bad_request",
            Outcome::Forbidden(_) => "forbidden",
            Outcome::UnknownOrigin(_) => "unknown_origin",
            Outcome::Conflict { .. } => "conflict",
            Outcome::Unprocessable {
                split_view: true, ..
            } => "split_view",
            Outcome::Unprocessable { .. } => "inconsistent",
        }
    }

    /// One line describing the outcome.
    pub fn message(&self) -> String {
        match self {
            Outcome::Cosigned { cosigned, .. } => format!(
                "cosigned {} at size {}",
                cosigned.checkpoint.origin, cosigned.checkpoint.size
            ),
            Outcome::BadRequest(m) | Outcome::Forbidden(m) | Outcome::UnknownOrigin(m) => m.clone(),
            Outcome::Conflict { latest, evidence } => {
                let mut s = format!(
                    "the witness holds a checkpoint of size {latest}: send a proof from {latest}"
                );
                if let Some(e) = evidence {
                    s.push_str(&format!(
                        "; the checkpoint has the witness's size and another root: split view, evidence kept in {}",
                        e.display()
                    ));
                }
                s
            }
            Outcome::Unprocessable {
                message, evidence, ..
            } => match evidence {
                Some(e) => format!("{message}; evidence kept in {}", e.display()),
                None => message.clone(),
            },
        }
    }
}

/// The store file of an origin.
pub fn state_file(store: &Path, origin: &str) -> PathBuf {
    store.join(format!(
        "{}.checkpoint",
        hex::encode(Sha256::digest(origin.as_bytes()))
    ))
}

impl Witness {
    /// A witness with its cosigning key and the logs it accepts. A
    /// cosignature key (type 0x04, `evident keygen --witness`) is used as
    /// it is; an Ed25519 note key (type 0x01, as Go's `note.GenerateKey`
    /// makes them) cosigns as the cosignature key of the same seed, as the
    /// Go reference does (its cosignatures never count as note signatures).
    /// The key of a log it accepts is refused (a log cannot witness itself).
    /// Creates the store directory if needed.
    pub fn new(store: &Path, signer: NoteSigner, logs: Vec<TrustedLog>) -> Result<Witness> {
        let signer = signer.into_cosignature();
        // A log cannot witness itself: its cosignature would be its own
        // signature again.
        if logs
            .iter()
            .any(|l| l.key.same_public_key(&signer.verifier()))
        {
            return Err(Error::InvalidArgument(
                "the witness key is the key of a log it accepts: a log cannot witness itself \
                 (make a witness key with `evident keygen --witness`)"
                    .into(),
            ));
        }
        std::fs::create_dir_all(store).map_err(|e| Error::io(store, "create store", e))?;
        Ok(Witness {
            store: store.to_path_buf(),
            signer,
            logs,
        })
    }

    /// The witness's public key.
    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    /// The checkpoint the witness holds for `origin`.
    pub fn latest(&self, origin: &str) -> Result<Option<SignedCheckpoint>> {
        let path = state_file(&self.store, origin);
        match std::fs::read(&path) {
            Ok(b) => SignedCheckpoint::parse(&b)
                .map(Some)
                .map_err(|e| crate::checkpoint::note_err(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, "read", e)),
        }
    }

    /// Handles an add-checkpoint request at time `now` (seconds since the
    /// epoch, the cosignature's timestamp). `Err` only for I/O failures of
    /// the store (nothing is cosigned then).
    pub fn add_checkpoint(&self, request: &[u8], now: u64) -> Result<Outcome> {
        let req = match ConsistencyProof::parse(request) {
            Ok(r) => r,
            Err(e) => return Ok(Outcome::BadRequest(e.to_string())),
        };
        let cp = &req.checkpoint.checkpoint;
        let keys: Vec<NoteVerifier> = self
            .logs
            .iter()
            .filter(|l| l.origin.as_deref().is_none_or(|o| o == cp.origin))
            .map(|l| l.key.clone())
            .collect();
        if keys.is_empty() {
            return Ok(Outcome::UnknownOrigin(format!(
                "unknown log origin {:?}",
                cp.origin
            )));
        }
        if let Err(e) = req.checkpoint.note.verify(&keys) {
            return Ok(Outcome::Forbidden(format!(
                "checkpoint of {:?} is not signed by a trusted log key: {e}",
                cp.origin
            )));
        }
        if req.old_size > cp.size {
            return Ok(Outcome::BadRequest(format!(
                "old size {} is larger than the checkpoint size {}",
                req.old_size, cp.size
            )));
        }
        if now == 0 || now > i64::MAX as u64 {
            return Err(Error::InvalidArgument(
                "the cosignature time must be after the epoch".into(),
            ));
        }
        // Check and update under the store's lock, atomically.
        let _lock = self.lock()?;
        let held = self.latest(&cp.origin)?;
        let latest = held.as_ref().map_or(0, |h| h.checkpoint.size);
        let split = held
            .as_ref()
            .is_some_and(|h| h.checkpoint.size == cp.size && h.checkpoint.root != cp.root);
        if req.old_size != latest {
            let evidence = if split {
                Some(self.keep_evidence(held.as_ref(), request, now, "split view")?)
            } else {
                None
            };
            return Ok(Outcome::Conflict { latest, evidence });
        }
        if cp.size == 0 && cp.root != merkle::empty_root() {
            return Ok(Outcome::Unprocessable {
                message: "a checkpoint of size 0 must have the empty tree's root".into(),
                split_view: false,
                evidence: None,
            });
        }
        if req.old_size == 0 && !req.hashes.is_empty() {
            return Ok(Outcome::Unprocessable {
                message: "a proof from size 0 must be empty".into(),
                split_view: false,
                evidence: None,
            });
        }
        if let Some(h) = &held {
            if let Err(e) = merkle::verify_consistency(
                h.checkpoint.size,
                cp.size,
                &req.hashes,
                &h.checkpoint.root,
                &cp.root,
            ) {
                let what = if split { "split view" } else { "inconsistent" };
                let evidence = self.keep_evidence(held.as_ref(), request, now, what)?;
                return Ok(Outcome::Unprocessable {
                    message: if split {
                        format!(
                            "split view: the log signed two checkpoints of size {} with different roots",
                            cp.size
                        )
                    } else {
                        format!(
                            "the checkpoint is not consistent with the one the witness holds (size {}): {e}",
                            h.checkpoint.size
                        )
                    },
                    split_view: split,
                    evidence: Some(evidence),
                });
            }
        }
        let line = self.signer.sign_line(&req.checkpoint.note.text, now);
        let mut cosigned = req.checkpoint.clone();
        // Keep only the log's signatures and ours.
        cosigned
            .note
            .signatures
            .retain(|s| keys.iter().any(|k| k.name() == s.name && k.id() == s.id));
        cosigned
            .note
            .add_signature(&self.signer, now)
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        self.store_checkpoint(&cp.origin, &cosigned)?;
        Ok(Outcome::Cosigned {
            signature_lines: line,
            cosigned,
        })
    }

    fn lock(&self) -> Result<File> {
        let path = self.store.join(".lock");
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, "open lock", e))?;
        crate::sys::lock(&f).map_err(|e| Error::io(&path, "lock", e))?;
        Ok(f)
    }

    fn store_checkpoint(&self, origin: &str, cp: &SignedCheckpoint) -> Result<()> {
        let path = state_file(&self.store, origin);
        write_atomic(&path, cp.to_text().as_bytes())
    }

    fn keep_evidence(
        &self,
        held: Option<&SignedCheckpoint>,
        request: &[u8],
        now: u64,
        what: &str,
    ) -> Result<PathBuf> {
        let dir = self.store.join("evidence");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "create", e))?;
        let mut body = format!("# {what} observed at {now}\n# checkpoint held by the witness:\n");
        match held {
            Some(h) => body.push_str(&h.to_text()),
            None => body.push_str("(none)\n"),
        }
        body.push_str("# request received:\n");
        body.push_str(&String::from_utf8_lossy(request));
        for n in 0u32.. {
            let path = dir.join(format!("{now}-{n}-{}.txt", what.replace(' ', "-")));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(body.as_bytes())
                        .and_then(|_| f.sync_all())
                        .map_err(|e| Error::io(&path, "write evidence", e))?;
                    crate::storage::sync_dir(&dir).map_err(|e| Error::io(&dir, "fsync", e))?;
                    return Ok(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(&path, "create evidence", e)),
            }
        }
        Err(Error::InvalidArgument("no evidence file name left".into()))
    }
}

/// Replaces `path` with `bytes`: a temporary file in the same directory,
/// fsync, rename over `path`, fsync the directory ([`crate::output`]: a
/// device or a pipe is written into instead).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::output::Output {
        replace: true,
        executable: false,
    }
    .write(path, bytes)
}
