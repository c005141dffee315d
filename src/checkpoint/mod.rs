//! Signed checkpoints and Merkle proofs over a log (spec/checkpoints.md).
//!
//! A checkpoint is a C2SP `tlog-checkpoint`: a signed note whose text names
//! the log (origin), the number of records it covers (tree size: the
//! genesis and the entries, seq 0 to size − 1) and the RFC 6962 Merkle root
//! of their bodies. Signed with an Ed25519 key, it lets anyone holding only
//! the public key check that a log still holds what was signed, that one
//! entry is in it ([`prove_inclusion`]) and that a later checkpoint extends
//! an earlier one ([`prove_consistency`]); witnesses ([`crate::witness`])
//! cosign checkpoints they have seen extend each other.
//!
//! - [`note`]: signed notes and keys; [`merkle`]: hashing and proofs;
//!   [`tree`]: the log's leaves and the stored tree `<log>.tree`.

pub mod auto;
pub mod inlog;
pub mod merkle;
pub mod note;
pub mod tree;

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::chain::Key;
use crate::error::{Error, Result};
use crate::verify::{Violation, ViolationKind};
pub use auto::{
    checkpoint_event, AutoCheckpoint, CheckpointPolicy, CheckpointingLog, CHECKPOINT_ACTION,
    CHECKPOINT_EVENT_TYPE,
};
pub use inlog::{verify_in_log, InLogReport};
use merkle::Node;
pub use note::{KeyType, Note, NoteError, NoteSigner, NoteVerifier, Verified};
use tree::{Frontier, LogLeaves, Step, StoredTree};

/// The text of a checkpoint (the note's text, without signatures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity: by default `evident/<log id>`.
    pub origin: String,
    /// Records covered: seq 0 (the genesis) to `size - 1`.
    pub size: u64,
    /// RFC 6962 root of the records' bodies.
    pub root: Node,
    /// Extension lines (opaque; none written by this library).
    pub extensions: Vec<String>,
}

/// The origin used when none is given: `evident/<log id>`.
pub fn default_origin(log_id: &str) -> String {
    format!("evident/{log_id}")
}

impl Checkpoint {
    /// The note text: origin, size, base64 root, extension lines, each
    /// ending in a newline.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a note text as a checkpoint.
    pub fn from_text(text: &str) -> std::result::Result<Checkpoint, NoteError> {
        let bad = |m: String| Err(NoteError::Malformed(m));
        let Some(body) = text.strip_suffix('\n') else {
            return bad("checkpoint text does not end with a newline".into());
        };
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return bad("checkpoint has fewer than three lines (origin, size, root)".into());
        };
        if origin.is_empty() {
            return bad("checkpoint origin line is empty".into());
        }
        let size_ok = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        if !size_ok {
            return bad(format!(
                "checkpoint size {size:?} is not a decimal number without leading zeros"
            ));
        }
        // Digits alone: the parse fails only past u64 (rule 6).
        let Ok(size) = size.parse::<u64>() else {
            return bad(format!(
                "checkpoint size {size} is too large: a tree size is at most 18446744073709551615 (2^64 - 1)"
            ));
        };
        let root: Node = match B64.decode(root).ok().and_then(|v| v.try_into().ok()) {
            Some(r) => r,
            None => {
                return bad(format!(
                    "checkpoint root {root:?} is not the base64 of 32 bytes"
                ))
            }
        };
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if extensions.iter().any(String::is_empty) {
            return bad("checkpoint has an empty extension line".into());
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }
}

/// A checkpoint with its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The parsed text.
    pub checkpoint: Checkpoint,
    /// The note (text and every signature line).
    pub note: Note,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint (signatures are not checked).
    pub fn parse(bytes: &[u8]) -> std::result::Result<SignedCheckpoint, NoteError> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::from_text(&note.text)?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Reads and parses a checkpoint file.
    pub fn read(path: &Path) -> Result<SignedCheckpoint> {
        let bytes = read_small(path, note::MAX_NOTE)?;
        Self::parse(&bytes).map_err(|e| note_err(path, e))
    }

    /// Signs `checkpoint` with `signer`.
    pub fn sign(checkpoint: Checkpoint, signer: &NoteSigner) -> Result<SignedCheckpoint> {
        if signer.key_type() != KeyType::Ed25519 {
            return Err(Error::InvalidArgument(
                "a checkpoint is signed with a log key (type Ed25519), not a cosigner key".into(),
            ));
        }
        // Sign only a text that reads back as this checkpoint: an origin
        // or extension holding a line feed would sign other lines (another
        // size and root), an empty one or a control character a note no
        // verifier accepts. An origin starting with "— " would read as a
        // signature line in the checkpoints sidecar (rule 10a).
        let bad = |why: &str| {
            Err(Error::InvalidArgument(format!(
                "cannot sign a checkpoint with origin {:?}: {why}",
                checkpoint.origin
            )))
        };
        if checkpoint.origin.starts_with("\u{2014} ") {
            return bad("it starts with \"\u{2014} \", which reads as a signature line");
        }
        let note = Note::sign(&checkpoint.to_text(), &[signer], 0)
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        match SignedCheckpoint::parse(note.to_text().as_bytes()) {
            Ok(back) if back.checkpoint == checkpoint => {}
            Ok(_) => return bad("its text reads back as another checkpoint (a line feed?)"),
            Err(e) => return bad(&e.to_string()),
        }
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// The note's bytes.
    pub fn to_text(&self) -> String {
        self.note.to_text()
    }

    /// Checks that the checkpoint is of the log named `expected` (its
    /// origin line; spec/checkpoints.md rule 8a). The error says which
    /// origin it has.
    pub fn check_origin(&self, expected: &str) -> std::result::Result<(), String> {
        if self.checkpoint.origin == expected {
            return Ok(());
        }
        Err(format!(
            "the checkpoint's origin is {}, expected {expected}",
            self.checkpoint.origin
        ))
    }

    /// Checks the log's signature: `log_key` (an Ed25519 key) signed it.
    pub fn verify_log(&self, log_key: &NoteVerifier) -> std::result::Result<(), NoteError> {
        if log_key.key_type() != KeyType::Ed25519 {
            return Err(NoteError::Malformed(
                "the log key must be an Ed25519 key (type 0x01)".into(),
            ));
        }
        self.note.verify(std::slice::from_ref(log_key)).map(|_| ())
    }

    /// The distinct witnesses among `witness_keys` whose cosignature
    /// verifies. Fails when a cosignature by one of them is forged. A type
    /// 0x01 key is taken as the cosignature key of the same public key
    /// ([`NoteVerifier::as_cosignature`]): only cosignatures count.
    /// Witnesses are distinct by public key: the cosigned message does not
    /// name the witness (tlog-cosignature), so a key trusted under two
    /// names is one witness.
    pub fn witnesses(
        &self,
        witness_keys: &[NoteVerifier],
    ) -> std::result::Result<Vec<Verified>, NoteError> {
        let keys: Vec<NoteVerifier> = witness_keys
            .iter()
            .map(NoteVerifier::as_cosignature)
            .collect();
        let mut counted: Vec<&NoteVerifier> = Vec::new();
        let mut out = Vec::new();
        for v in self.note.verified_by(&keys)? {
            let Some(k) = keys.iter().find(|k| k.name() == v.name && k.id() == v.id) else {
                continue;
            };
            if !counted.iter().any(|c| c.same_public_key(k)) {
                counted.push(k);
                out.push(v);
            }
        }
        Ok(out)
    }
}

pub(crate) fn note_err(path: &Path, e: NoteError) -> Error {
    Error::Malformed {
        path: path.to_path_buf(),
        at: crate::error::Position::default(),
        msg: e.to_string(),
    }
}

/// Reads a small regular file (key, checkpoint, proof) of at most `max`
/// bytes.
pub fn read_small(path: &Path, max: usize) -> Result<Vec<u8>> {
    use std::io::Read as _;
    // Keys, checkpoints, proofs and requests: not "open", whose message
    // calls a file that is not a regular one "not an evident log".
    let f = crate::storage::open_regular(path, crate::storage::Access::Read, "open file")?;
    let mut buf = Vec::new();
    f.take(max as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(path, "read", e))?;
    if buf.len() > max {
        return Err(Error::malformed(
            path,
            crate::error::Position::default(),
            format!("file is longer than {max} bytes"),
        ));
    }
    Ok(buf)
}

fn key_err(path: &Path, msg: String) -> Error {
    Error::InvalidArgument(format!("{}: {msg}", path.display()))
}

/// The text of a key file: too long or not UTF-8 is an invalid argument
/// (a bad key given), not a malformed log.
fn read_key_file(path: &Path) -> Result<String> {
    let b = read_small(path, 4096).map_err(|e| match e {
        Error::Malformed { msg, .. } => key_err(path, format!("key {msg}")),
        e => e,
    })?;
    String::from_utf8(b).map_err(|_| key_err(path, "key file is not UTF-8".into()))
}

/// Reads a private key file (`PRIVATE+KEY+…`).
pub fn read_signer(path: &Path) -> Result<NoteSigner> {
    let s = read_key_file(path)?;
    NoteSigner::from_skey(&s).map_err(|e| key_err(path, e.to_string()))
}

/// Reads a public key: a vkey given inline, or a file holding one.
pub fn read_verifier(arg: &str) -> Result<NoteVerifier> {
    if let Ok(v) = NoteVerifier::from_vkey(arg) {
        return Ok(v);
    }
    let path = Path::new(arg);
    if !path.exists() {
        return NoteVerifier::from_vkey(arg)
            .map_err(|e| Error::InvalidArgument(format!("public key {arg:?}: {e}")));
    }
    let s = read_key_file(path)?;
    NoteVerifier::from_vkey(&s).map_err(|e| key_err(path, e.to_string()))
}

/// Options for [`create`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CheckpointOptions {
    /// The origin line (default: [`default_origin`]).
    pub origin: Option<String>,
    /// The log's HMAC key (keyed logs): record hashes are checked too.
    pub key: Option<Key>,
    /// Sign this many records instead of all (must not exceed the log).
    pub size: Option<u64>,
    /// A checkpoint signed earlier: the new one must be consistent with
    /// it, or nothing is signed.
    pub previous: Option<Checkpoint>,
}

/// Signs a checkpoint of the log at `log`: every record up to its end (or
/// `opts.size`). Updates (or rebuilds) the stored tree. Refuses when the
/// log is damaged before that size (a torn tail at the end is not signed
/// and not an error), and when the new checkpoint is not consistent with
/// `opts.previous` (a log never signs a fork of itself).
pub fn create(
    log: &Path,
    signer: &NoteSigner,
    opts: &CheckpointOptions,
) -> Result<SignedCheckpoint> {
    let leaves = LogLeaves::open(log, opts.key.as_ref())?;
    let (mut tree, problem) = StoredTree::open_updated(&leaves)?;
    if let Some(p) = &problem {
        if p.kind != ViolationKind::TornTail && opts.size.is_none_or(|s| s > tree.size()) {
            return Err(corrupt(log, p));
        }
    }
    let size = opts.size.unwrap_or(tree.size());
    if size > tree.size() || size == 0 {
        return Err(Error::InvalidArgument(format!(
            "{}: cannot sign {size} records: the log holds {} readable records",
            log.display(),
            tree.size()
        )));
    }
    let origin = opts
        .origin
        .clone()
        .unwrap_or_else(|| default_origin(leaves.log_id()));
    let make = |tree: &mut StoredTree| -> Result<Checkpoint> {
        let cp = Checkpoint {
            origin: origin.clone(),
            size,
            root: merkle::root(tree, size)?,
            extensions: Vec::new(),
        };
        if let Some(prev) = &opts.previous {
            check_extends(log, tree, prev, &cp)?;
        }
        Ok(cp)
    };
    let cp = match make(&mut tree) {
        Ok(cp) => cp,
        // The stored tree may be damaged: rebuilt from the log, which
        // decides.
        Err(_) => {
            let (mut t2, _) = StoredTree::rebuild(&leaves)?;
            make(&mut t2)?
        }
    };
    SignedCheckpoint::sign(cp, signer)
}

fn corrupt(log: &Path, v: &Violation) -> Error {
    Error::Corrupt {
        path: log.to_path_buf(),
        at: crate::error::Position {
            offset: v.offset,
            line: v.line,
            seq: v.seq,
        },
        msg: format!("{}: {}", v.kind, v.message),
    }
}

/// Checks that `new` extends `prev` in the stored tree (whose roots are
/// re-derived from the log when the stored tree is damaged).
fn check_extends(
    log: &Path,
    tree: &mut StoredTree,
    prev: &Checkpoint,
    new: &Checkpoint,
) -> Result<()> {
    if prev.origin != new.origin {
        return Ok(());
    }
    let proof = merkle::consistency_proof(tree, prev.size.min(new.size), new.size)
        .ok()
        .flatten();
    let ok = prev.size <= new.size
        && proof.is_some_and(|p| {
            merkle::verify_consistency(prev.size, new.size, &p, &prev.root, &new.root).is_ok()
        });
    if !ok {
        return Err(Error::Corrupt {
            path: log.to_path_buf(),
            at: crate::error::Position::default(),
            msg: format!(
                "the log is not consistent with the checkpoint of {} records signed before (rolled back or rewritten); refusing to sign",
                prev.size
            ),
        });
    }
    Ok(())
}

/// An inclusion proof of one record, in the C2SP `tlog-proof@v1` format
/// with the record's body as the `extra` data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The record's seq (leaf index).
    pub index: u64,
    /// The record's body (the leaf data).
    pub body: Vec<u8>,
    /// The proof hashes, from the leaf's sibling up.
    pub hashes: Vec<Node>,
    /// The signed checkpoint the proof is for.
    pub checkpoint: SignedCheckpoint,
}

/// The first line of an inclusion proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

impl InclusionProof {
    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{TLOG_PROOF_HEADER}\nextra {}\nindex {}\n",
            B64.encode(&self.body),
            self.index
        );
        for h in &self.hashes {
            s.push_str(&B64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint.to_text());
        s
    }

    /// Parses the text form (checks nothing but the syntax).
    pub fn parse(bytes: &[u8]) -> std::result::Result<InclusionProof, NoteError> {
        let bad = |m: &str| NoteError::Malformed(format!("inclusion proof: {m}"));
        let s = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        let Some((head, cp)) = s.split_once("\n\n") else {
            return Err(bad("no blank line before the checkpoint"));
        };
        let mut lines = head.split('\n');
        if lines.next() != Some(TLOG_PROOF_HEADER) {
            return Err(bad("first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next();
        let mut body = Vec::new();
        if let Some(extra) = line.and_then(|l| l.strip_prefix("extra ")) {
            body = B64.decode(extra).map_err(|_| bad("extra is not base64"))?;
            line = lines.next();
        }
        let index = line
            .and_then(|l| l.strip_prefix("index "))
            .filter(|d| {
                !d.is_empty()
                    && d.bytes().all(|b| b.is_ascii_digit())
                    && (*d == "0" || !d.starts_with('0'))
            })
            .and_then(|d| d.parse::<u64>().ok())
            .ok_or_else(|| bad("no valid index line"))?;
        let hashes = parse_hash_lines(lines)?;
        let checkpoint = SignedCheckpoint::parse(cp.as_bytes())?;
        Ok(InclusionProof {
            index,
            body,
            hashes,
            checkpoint,
        })
    }

    /// Verifies the proof: the checkpoint is signed by `log_key`, and the
    /// body is leaf `index` of its tree. `body`, when given, is the record
    /// the verifier holds (it must equal the proof's).
    pub fn verify(
        &self,
        log_key: &NoteVerifier,
        body: Option<&[u8]>,
    ) -> std::result::Result<(), ProofFailure> {
        self.checkpoint
            .verify_log(log_key)
            .map_err(ProofFailure::Signature)?;
        if let Some(b) = body {
            if b != self.body.as_slice() {
                return Err(ProofFailure::Proof(merkle::ProofError::Mismatch(
                    "the proof is for another record (its body differs)".into(),
                )));
            }
        }
        let cp = &self.checkpoint.checkpoint;
        merkle::verify_inclusion(
            self.index,
            cp.size,
            &merkle::leaf_hash(&self.body),
            &self.hashes,
            &cp.root,
        )
        .map_err(ProofFailure::Proof)
    }
}

fn parse_hash_lines<'a>(
    lines: impl Iterator<Item = &'a str>,
) -> std::result::Result<Vec<Node>, NoteError> {
    let mut out = Vec::new();
    for l in lines {
        if out.len() == merkle::MAX_PROOF_LEN {
            return Err(NoteError::Malformed("proof has more than 64 hashes".into()));
        }
        let h: Node = B64
            .decode(l)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| {
                NoteError::Malformed(format!("proof line {l:?} is not the base64 of 32 bytes"))
            })?;
        out.push(h);
    }
    Ok(out)
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofFailure {
    /// The checkpoint's signature.
    Signature(NoteError),
    /// The proof itself.
    Proof(merkle::ProofError),
}

impl std::fmt::Display for ProofFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProofFailure::Signature(e) => write!(f, "checkpoint signature: {e}"),
            ProofFailure::Proof(e) => write!(f, "proof: {e}"),
        }
    }
}

/// A consistency proof in the C2SP `tlog-witness` request form: `old
/// <size>`, the proof hashes, a blank line, the new signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The old tree size.
    pub old_size: u64,
    /// The proof hashes.
    pub hashes: Vec<Node>,
    /// The new signed checkpoint.
    pub checkpoint: SignedCheckpoint,
}

impl ConsistencyProof {
    /// The text form (a `tlog-witness` add-checkpoint request body).
    pub fn to_text(&self) -> String {
        let mut s = format!("old {}\n", self.old_size);
        for h in &self.hashes {
            s.push_str(&B64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint.to_text());
        s
    }

    /// Parses the text form.
    pub fn parse(bytes: &[u8]) -> std::result::Result<ConsistencyProof, NoteError> {
        let bad = |m: &str| NoteError::Malformed(format!("consistency proof: {m}"));
        let s = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        let Some((head, cp)) = s.split_once("\n\n") else {
            return Err(bad("no blank line before the checkpoint"));
        };
        let mut lines = head.split('\n');
        let old_size = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|d| {
                !d.is_empty()
                    && d.bytes().all(|b| b.is_ascii_digit())
                    && (*d == "0" || !d.starts_with('0'))
            })
            .and_then(|d| d.parse::<u64>().ok())
            .ok_or_else(|| bad("first line is not \"old <size>\""))?;
        let hashes = parse_hash_lines(lines)?;
        if hashes.len() > 63 {
            return Err(bad("more than 63 proof lines"));
        }
        let checkpoint = SignedCheckpoint::parse(cp.as_bytes())?;
        Ok(ConsistencyProof {
            old_size,
            hashes,
            checkpoint,
        })
    }

    /// Verifies that the new checkpoint extends `old` (both signed by
    /// `log_key`, same origin).
    pub fn verify(
        &self,
        old: &SignedCheckpoint,
        log_key: &NoteVerifier,
    ) -> std::result::Result<(), ProofFailure> {
        old.verify_log(log_key).map_err(ProofFailure::Signature)?;
        self.checkpoint
            .verify_log(log_key)
            .map_err(ProofFailure::Signature)?;
        let (o, n) = (&old.checkpoint, &self.checkpoint.checkpoint);
        if o.origin != n.origin {
            return Err(ProofFailure::Proof(merkle::ProofError::Mismatch(format!(
                "the checkpoints are of different logs ({} and {})",
                o.origin, n.origin
            ))));
        }
        if o.size != self.old_size {
            return Err(ProofFailure::Proof(merkle::ProofError::OutOfRange(
                format!(
                    "the proof starts at size {}, the old checkpoint has size {}",
                    self.old_size, o.size
                ),
            )));
        }
        merkle::verify_consistency(o.size, n.size, &self.hashes, &o.root, &n.root)
            .map_err(ProofFailure::Proof)
    }
}

/// Opens the log and its stored tree, brought up to date, and checks that
/// the tree at `cp.size` has `cp.root`.
fn tree_for(log: &Path, key: Option<&Key>, cp: &Checkpoint) -> Result<(LogLeaves, StoredTree)> {
    let leaves = LogLeaves::open(log, key)?;
    let (mut t, _) = StoredTree::open_updated(&leaves)?;
    let mut ok = cp.size <= t.size() && merkle::root(&mut t, cp.size).ok() == Some(cp.root);
    if !ok {
        // The stored tree may be damaged: rebuild it from the log once.
        let (t2, _) = StoredTree::rebuild(&leaves)?;
        t = t2;
        ok = cp.size <= t.size() && merkle::root(&mut t, cp.size).ok() == Some(cp.root);
    }
    if !ok {
        return Err(Error::Corrupt {
            path: log.to_path_buf(),
            at: crate::error::Position::default(),
            msg: if cp.size > t.size() {
                format!(
                    "the log holds {} readable records, the checkpoint covers {}: records were removed",
                    t.size(),
                    cp.size
                )
            } else {
                format!(
                    "the log's first {} records are not the ones the checkpoint signed (their Merkle root differs)",
                    cp.size
                )
            },
        });
    }
    Ok((leaves, t))
}

/// The inclusion proof of record `seq` against the signed checkpoint `cp`
/// (whose root must be the log's). The proof is verified before it is
/// returned.
pub fn prove_inclusion(
    log: &Path,
    seq: u64,
    cp: &SignedCheckpoint,
    key: Option<&Key>,
) -> Result<InclusionProof> {
    let c = &cp.checkpoint;
    if seq >= c.size {
        return Err(Error::InvalidArgument(format!(
            "entry seq {seq} is not covered by the checkpoint of {} records (seq 0 to {})",
            c.size,
            c.size.saturating_sub(1)
        )));
    }
    let (leaves, mut t) = tree_for(log, key, c)?;
    // The record is read from the log where the stored tree says it is;
    // the proof is checked against its body and the signed root.
    let attempt = |t: &mut StoredTree| -> Result<Option<(Vec<u8>, Vec<Node>)>> {
        let Ok(offset) = t.leaf_offset(seq) else {
            return Ok(None);
        };
        let Some(rec) = leaves.record_from(offset)? else {
            return Ok(None);
        };
        if rec.seq != seq {
            return Ok(None);
        }
        let Some(h) = merkle::inclusion_proof(t, seq, c.size).ok().flatten() else {
            return Ok(None);
        };
        if merkle::verify_inclusion(seq, c.size, &rec.leaf, &h, &c.root).is_err() {
            return Ok(None);
        }
        Ok(Some((rec.body, h)))
    };
    let (body, hashes) = match attempt(&mut t)? {
        Some(x) => x,
        None => {
            // The stored tree is damaged, or the record is not the signed one.
            let (mut t2, _) = StoredTree::rebuild(&leaves)?;
            attempt(&mut t2)?.ok_or_else(|| Error::Corrupt {
                path: log.to_path_buf(),
                at: crate::error::Position {
                    seq: Some(seq),
                    ..Default::default()
                },
                msg: format!("entry seq {seq} is not the record the checkpoint signed"),
            })?
        }
    };
    Ok(InclusionProof {
        index: seq,
        body,
        hashes,
        checkpoint: cp.clone(),
    })
}

/// The consistency proof from `old` to `new` (both checkpoints of this
/// log), verified before it is returned.
pub fn prove_consistency(
    log: &Path,
    old: &Checkpoint,
    new: &SignedCheckpoint,
    key: Option<&Key>,
) -> Result<ConsistencyProof> {
    let n = &new.checkpoint;
    if old.size > n.size {
        return Err(Error::InvalidArgument(format!(
            "the old checkpoint ({} records) is larger than the new one ({})",
            old.size, n.size
        )));
    }
    let (leaves, mut t) = tree_for(log, key, n)?;
    if old.size == 0 {
        // From nothing (a witness that has no checkpoint of this log yet;
        // tlog-witness "old 0"): an empty proof. The new checkpoint was
        // checked against the log above.
        return Ok(ConsistencyProof {
            old_size: 0,
            hashes: Vec::new(),
            checkpoint: new.clone(),
        });
    }
    let attempt = |t: &mut StoredTree| -> Option<Vec<Node>> {
        let h = merkle::consistency_proof(t, old.size, n.size)
            .ok()
            .flatten()?;
        merkle::verify_consistency(old.size, n.size, &h, &old.root, &n.root).ok()?;
        Some(h)
    };
    let hashes = match attempt(&mut t) {
        Some(h) => h,
        None => {
            let (mut t2, _) = StoredTree::rebuild(&leaves)?;
            attempt(&mut t2).ok_or_else(|| Error::Corrupt {
                path: log.to_path_buf(),
                at: crate::error::Position::default(),
                msg: format!(
                    "the checkpoint of {} records is not a prefix of this log",
                    old.size
                ),
            })?
        }
    };
    Ok(ConsistencyProof {
        old_size: old.size,
        hashes,
        checkpoint: new.clone(),
    })
}

/// What checking a log against a checkpoint found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointOutcome {
    /// The log holds the checkpointed records unchanged.
    Match,
    /// The log holds fewer records than the checkpoint covers (records
    /// removed from the end, or rolled back to an older copy).
    Truncated,
    /// The log's first `size` records are not the signed ones (rewritten,
    /// a fork, or another log).
    RootMismatch,
    /// Reading the log stopped at damage or a break in the chain before
    /// the checkpoint's size.
    Damaged,
    /// The checkpoint is not signed by the log key.
    BadSignature,
    /// Fewer witnesses than required cosigned it.
    TooFewWitnesses,
}

impl CheckpointOutcome {
    /// Stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            CheckpointOutcome::Match => "match",
            CheckpointOutcome::Truncated => "truncated",
            CheckpointOutcome::RootMismatch => "root_mismatch",
            CheckpointOutcome::Damaged => "damaged",
            CheckpointOutcome::BadSignature => "bad_signature",
            CheckpointOutcome::TooFewWitnesses => "too_few_witnesses",
        }
    }
}

/// Options for [`verify_against`] and [`verify_incremental`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CheckOptions {
    /// The log's HMAC key (keyed logs).
    pub key: Option<Key>,
    /// Witness public keys (cosignature keys).
    pub witness_keys: Vec<NoteVerifier>,
    /// Cosignatures required from distinct keys of `witness_keys`.
    pub min_witnesses: usize,
    /// Origin the checkpoint must have (default: `evident/<log id>` of the
    /// log verified; for the checkpoint records of [`verify_in_log`]: any).
    pub origin: Option<String>,
}

/// The result of checking a log against a checkpoint.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckpointReport {
    /// True when the outcome is `match` and the records read after the
    /// checkpoint continue the chain.
    pub valid: bool,
    /// The outcome.
    pub outcome: CheckpointOutcome,
    /// One line explaining it.
    pub message: String,
    /// The checkpoint's size and origin.
    pub checkpoint_size: u64,
    pub origin: String,
    /// Witnesses whose cosignature verified.
    pub witnesses: Vec<String>,
    /// `"incremental"` or `"full"`.
    pub mode: &'static str,
    /// Why an incremental check fell back to a full one.
    pub fallback_reason: Option<String>,
    /// Records read from the log.
    pub records_read: u64,
    /// Records in the log (readable, continuing the chain) and their root.
    pub log_size: u64,
    pub log_root: Option<String>,
    /// What stopped reading the log, if anything (damage, a torn tail).
    pub problem: Option<Violation>,
}

/// Checks the log's signature, the origin (`origin`, when given) and the
/// witness policy.
pub(crate) fn check_signatures(
    cp: &SignedCheckpoint,
    log_key: &NoteVerifier,
    opts: &CheckOptions,
    origin: Option<&str>,
) -> std::result::Result<Vec<String>, (CheckpointOutcome, String)> {
    if let Err(e) = cp.verify_log(log_key) {
        return Err((CheckpointOutcome::BadSignature, e.to_string()));
    }
    if let Some(o) = origin {
        cp.check_origin(o)
            .map_err(|m| (CheckpointOutcome::BadSignature, m))?;
    }
    let w = cp
        .witnesses(&opts.witness_keys)
        .map_err(|e| (CheckpointOutcome::TooFewWitnesses, e.to_string()))?;
    let names: Vec<String> = w.iter().map(|v| v.name.clone()).collect();
    if names.len() < opts.min_witnesses {
        return Err((
            CheckpointOutcome::TooFewWitnesses,
            format!(
                "{} of the required {} witness cosignatures verify",
                names.len(),
                opts.min_witnesses
            ),
        ));
    }
    Ok(names)
}

/// The origin a checkpoint of this log must have: the one named in
/// `opts`, else the log's default origin (spec/checkpoints.md rule 8a).
fn expected_origin(leaves: &LogLeaves, opts: &CheckOptions) -> String {
    opts.origin
        .clone()
        .unwrap_or_else(|| default_origin(leaves.log_id()))
}

fn report(
    cp: &SignedCheckpoint,
    outcome: CheckpointOutcome,
    message: String,
    mode: &'static str,
) -> CheckpointReport {
    CheckpointReport {
        valid: false,
        outcome,
        message,
        checkpoint_size: cp.checkpoint.size,
        origin: cp.checkpoint.origin.clone(),
        witnesses: Vec::new(),
        mode,
        fallback_reason: None,
        records_read: 0,
        log_size: 0,
        log_root: None,
        problem: None,
    }
}

/// Checks that the log at `log` still holds the records `cp` signed,
/// unchanged, reading the whole log (never the stored tree). Reports the
/// outcome; `Err` only when the log cannot be read at all.
pub fn verify_against(
    log: &Path,
    cp: &SignedCheckpoint,
    log_key: &NoteVerifier,
    opts: &CheckOptions,
) -> Result<CheckpointReport> {
    let leaves = LogLeaves::open(log, opts.key.as_ref())?;
    let witnesses = match check_signatures(cp, log_key, opts, Some(&expected_origin(&leaves, opts)))
    {
        Ok(w) => w,
        Err((o, m)) => return Ok(report(cp, o, m, "full")),
    };
    let size = cp.checkpoint.size;
    let mut f = Frontier::new();
    let mut at_size: Option<Node> = if size == 0 {
        Some(merkle::empty_root())
    } else {
        None
    };
    let end = leaves.read_all(|rec| {
        f.push(rec.leaf);
        if f.size() == size {
            at_size = Some(f.root());
        }
    })?;
    let mut r = finish(cp, at_size, &f, end.problem, "full");
    r.witnesses = witnesses;
    r.records_read = f.size();
    Ok(r)
}

fn finish(
    cp: &SignedCheckpoint,
    at_size: Option<Node>,
    f: &Frontier,
    problem: Option<Violation>,
    mode: &'static str,
) -> CheckpointReport {
    let size = cp.checkpoint.size;
    let (outcome, message) = match at_size {
        Some(r) if r == cp.checkpoint.root && mode == "incremental" => (
            CheckpointOutcome::Match,
            format!(
                "the log's stored tree and the records after it give the checkpoint's root \
                 for its {size} records (incremental: records the stored tree covers were \
                 not read again; a full check reads them)"
            ),
        ),
        Some(r) if r == cp.checkpoint.root => (
            CheckpointOutcome::Match,
            format!("the log holds the {size} records of the checkpoint unchanged"),
        ),
        Some(_) => (
            CheckpointOutcome::RootMismatch,
            format!(
                "the log's first {size} records are not the ones the checkpoint signed (rewritten, forked or another log)"
            ),
        ),
        None => match &problem {
            Some(p) if p.kind != ViolationKind::TornTail => (
                CheckpointOutcome::Damaged,
                format!(
                    "reading stopped after {} records, before the checkpoint's {size}: {p}",
                    f.size()
                ),
            ),
            _ => (
                CheckpointOutcome::Truncated,
                format!(
                    "the log holds {} records but the checkpoint covers {size}: records were removed from the end (or the log was rolled back)",
                    f.size()
                ),
            ),
        },
    };
    let mut r = report(cp, outcome, message, mode);
    // Damage after the checkpoint is reported and makes the log invalid;
    // a torn tail (an interrupted write) does not.
    r.valid = outcome == CheckpointOutcome::Match
        && problem
            .as_ref()
            .is_none_or(|p| p.kind == ViolationKind::TornTail);
    r.log_size = f.size();
    r.log_root = Some(B64.encode(f.root()));
    r.problem = problem;
    r
}

/// Checks the log against a trusted checkpoint reading only what follows
/// it: the stored tree gives the checkpoint's tree (checked against its
/// signed root), the log's record `size - 1` is found from the end of the
/// file and proven to be the checkpoint's last leaf, and the records after
/// it are read and checked. Falls back to [`verify_against`] (reading the
/// whole log) whenever the stored tree or the log's end does not match.
///
/// An incremental check proves that the records after the checkpoint
/// continue its chain; it does not re-read the records before it (a full
/// check does).
pub fn verify_incremental(
    log: &Path,
    cp: &SignedCheckpoint,
    log_key: &NoteVerifier,
    opts: &CheckOptions,
) -> Result<CheckpointReport> {
    let leaves = LogLeaves::open(log, opts.key.as_ref())?;
    let witnesses = match check_signatures(cp, log_key, opts, Some(&expected_origin(&leaves, opts)))
    {
        Ok(w) => w,
        Err((o, m)) => return Ok(report(cp, o, m, "incremental")),
    };
    let fallback = |reason: String| -> Result<CheckpointReport> {
        let mut r = verify_against(log, cp, log_key, opts)?;
        r.fallback_reason = Some(reason);
        Ok(r)
    };
    let size = cp.checkpoint.size;
    if size == 0 {
        return fallback("the checkpoint is of the empty tree".into());
    }
    let mut t = match StoredTree::open_existing(&leaves) {
        Ok(t) => t,
        Err(d) => return fallback(format!("no usable stored tree: {}", d.0)),
    };
    if t.size() < size {
        return fallback(format!(
            "the stored tree covers {} records, fewer than the checkpoint",
            t.size()
        ));
    }
    let mut f = match Frontier::of(&mut t, size) {
        Ok(f) if f.root() == cp.checkpoint.root => f,
        _ => return fallback("the stored tree does not match the checkpoint".into()),
    };
    // Find record size-1 from the end of the file.
    let Some(last) = find_from_end(&leaves, size - 1)? else {
        return fallback(format!(
            "record {} was not found near the end of the log",
            size - 1
        ));
    };
    let proof = merkle::inclusion_proof(&mut t, size - 1, size)
        .ok()
        .flatten();
    let proven = proof.is_some_and(|p| {
        merkle::verify_inclusion(size - 1, size, &last.leaf, &p, &cp.checkpoint.root).is_ok()
    });
    if !proven || !leaves.hash_ok(&last) {
        return fallback(format!(
            "record {} is not the checkpoint's last record",
            size - 1
        ));
    }
    let mut r = leaves.reader(last.end, size, last.hash);
    let mut read = 1u64;
    let problem = loop {
        match r.next_leaf()? {
            Step::Leaf(l) => {
                f.push(l.leaf);
                read += 1;
            }
            Step::End => break None,
            Step::Problem(v) => break Some(v),
        }
    };
    let mut rep = finish(cp, Some(cp.checkpoint.root), &f, problem, "incremental");
    rep.witnesses = witnesses;
    rep.records_read = read;
    Ok(rep)
}

/// Scans backward from the end of the log for the record with `seq`.
fn find_from_end(leaves: &LogLeaves, seq: u64) -> Result<Option<tree::LeafRecord>> {
    let file = crate::storage::open_regular(leaves.path(), crate::storage::Access::Read, "open")?;
    let framing = leaves.framing();
    let mut b = crate::scan::Backward::new(&file, framing, framing.data_start(), leaves.len());
    while let Some(item) = b.prev_item() {
        let item = item.map_err(|e| Error::io(leaves.path(), "read", e))?;
        if item.kind != crate::scan::SpanKind::Record {
            continue;
        }
        let Ok(p) = crate::format::parse(framing, &item.bytes) else {
            continue;
        };
        if p.seq == seq {
            let body = p.raw.body();
            return Ok(Some(tree::LeafRecord {
                seq,
                offset: item.offset,
                end: item.end(framing),
                leaf: merkle::leaf_hash(&body),
                hash: p.raw.hash,
                body,
            }));
        }
        if p.seq < seq {
            return Ok(None);
        }
    }
    Ok(None)
}

/// The sidecar of checkpoints a writer keeps next to a log:
/// `<log>.checkpoints`, signed checkpoints one after another.
pub fn checkpoints_path(log: &Path) -> PathBuf {
    let mut s = log.as_os_str().to_owned();
    s.push(".checkpoints");
    PathBuf::from(s)
}

/// Calls `f` with every note of a checkpoints sidecar, in order, as text
/// (invalid UTF-8 replaced), its offset in the file and whether it is the
/// last; nothing when the sidecar does not exist. A FIFO, device or
/// directory is refused without blocking in open(2) or reading without end
/// (`/dev/zero`). The file is read a line at a time: a note longer than a
/// note may be (rule 8) is an error naming the file and its offset, found
/// in bounded memory (no torn append leaves one: it cuts a note that was
/// at most that long).
fn each_note(sidecar: &Path, mut f: impl FnMut(&str, u64, bool) -> Result<()>) -> Result<()> {
    use std::io::{BufRead as _, Read as _};
    match std::fs::metadata(sidecar) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        _ => {}
    }
    let file = crate::storage::open_regular(sidecar, crate::storage::Access::Read, "read")?;
    let mut r = std::io::BufReader::with_capacity(64 << 10, file);
    let too_long = |at: u64| {
        Error::malformed(
            sidecar,
            crate::error::Position {
                offset: at,
                ..Default::default()
            },
            format!(
                "a note longer than {} bytes (spec/checkpoints.md rule 8)",
                note::MAX_NOTE
            ),
        )
    };
    let (mut line, mut cur) = (Vec::new(), String::new());
    let (mut offset, mut start, mut in_sigs) = (0u64, 0u64, false);
    loop {
        line.clear();
        let n = (&mut r)
            .take(note::MAX_NOTE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(sidecar, "read", e))?;
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        // A note is text, a blank line and signature lines: the first line
        // after a signature line that is not one starts the next note.
        if in_sigs && !text.starts_with('\u{2014}') {
            f(&cur, start, false)?;
            cur.clear();
            (start, in_sigs) = (offset, false);
        }
        if text == "\n" {
            in_sigs = true;
        }
        cur.push_str(&text);
        if cur.len() > note::MAX_NOTE {
            return Err(too_long(start));
        }
        offset += n as u64;
    }
    if !cur.is_empty() {
        f(&cur, start, true)?;
    }
    Ok(())
}

/// The last checkpoint in a checkpoints sidecar (`None` when it does not
/// exist or is empty). An incomplete last checkpoint is skipped; a
/// complete note that does not parse is an error (see [`read_checkpoints`]).
pub fn last_checkpoint(sidecar: &Path) -> Result<Option<SignedCheckpoint>> {
    let mut last = None;
    each_checkpoint(sidecar, |c| last = Some(c))?;
    Ok(last)
}

/// Every complete checkpoint in a checkpoints sidecar, in order (none
/// when it does not exist). An incomplete last note (no signature line
/// ending in a newline: what a crash during an append leaves) is skipped;
/// any other note that does not parse, the last one too, is an error
/// naming the file (spec/checkpoints.md rule 10a): skipping a damaged last
/// note would let the writer check a new checkpoint against an older one.
/// So is a note whose size is smaller than the one before it (sizes never
/// decrease: such a sidecar was not written by appending, and its last
/// note is not the last checkpoint signed); the error names the note by
/// its number and offset.
pub fn read_checkpoints(sidecar: &Path) -> Result<Vec<SignedCheckpoint>> {
    let mut out = Vec::new();
    each_checkpoint(sidecar, |c| out.push(c))?;
    Ok(out)
}

/// [`read_checkpoints`], one checkpoint at a time.
fn each_checkpoint(sidecar: &Path, mut f: impl FnMut(SignedCheckpoint)) -> Result<()> {
    let (mut number, mut size) = (0u64, 0u64);
    each_note(sidecar, |chunk, offset, last| {
        number += 1;
        match SignedCheckpoint::parse(chunk.as_bytes()) {
            Ok(c) if c.checkpoint.size < size => {
                return Err(Error::malformed(
                    sidecar,
                    crate::error::Position {
                        offset,
                        ..Default::default()
                    },
                    format!(
                        "note {number} has size {}, after a note of size {size}: the sizes of a checkpoints sidecar never decrease (spec/checkpoints.md rule 10a)",
                        c.checkpoint.size
                    ),
                ))
            }
            Ok(c) => {
                size = c.checkpoint.size;
                f(c)
            }
            Err(_) if last && !complete_note(chunk) => {} // a torn last append
            Err(e) => return Err(note_err(sidecar, e)),
        }
        Ok(())
    })
}

/// Whether a note of the sidecar is complete: a blank line, then a
/// signature line, and a final newline.
fn complete_note(chunk: &str) -> bool {
    chunk.ends_with('\n')
        && chunk
            .find("\n\n")
            .and_then(|i| chunk.get(i + 2..))
            .is_some_and(|sigs| sigs.starts_with("\u{2014} "))
}

/// Where the complete notes of a checkpoints sidecar end: just past its
/// last whole signature line. `tail` is the file's last bytes, starting
/// at offset `base`.
fn complete_end(tail: &[u8], base: u64) -> Option<u64> {
    let sig = "\u{2014} ".as_bytes();
    let mut end = (base == 0).then_some(0);
    // When the window starts inside the file its first line may be partial.
    let mut pos = if base > 0 {
        tail.iter().position(|&b| b == b'\n')? + 1
    } else {
        0
    };
    while let Some(rest) = tail.get(pos..).filter(|r| !r.is_empty()) {
        let Some(i) = rest.iter().position(|&b| b == b'\n') else {
            break;
        };
        if rest.starts_with(sig) {
            end = Some(base + (pos + i + 1) as u64);
        }
        pos += i + 1;
    }
    end
}

/// Makes sure the sidecar ends with a complete note before one is
/// appended: an incomplete last note (an append cut by a crash) is moved
/// aside into `<sidecar>.torn-<time>-at-<offset>`, never deleted
/// (spec/checkpoints.md rule 9b).
fn repair_sidecar_tail(sidecar: &Path, f: &std::fs::File) -> Result<()> {
    let len = f
        .metadata()
        .map_err(|e| Error::io(sidecar, "stat", e))?
        .len();
    if len == 0 {
        return Ok(());
    }
    let window = (2 * note::MAX_NOTE as u64).min(len);
    let base = len - window;
    let mut tail = vec![0u8; window as usize];
    use crate::scan::ReadAt as _;
    let got = f
        .read_full_at(&mut tail, base)
        .map_err(|e| Error::io(sidecar, "read", e))?;
    tail.truncate(got);
    if tail.ends_with(b"\n")
        && tail
            .rsplit(|&b| b == b'\n')
            .nth(1)
            .is_some_and(|l| l.starts_with("\u{2014} ".as_bytes()))
    {
        return Ok(());
    }
    let Some(end) = complete_end(&tail, base) else {
        return Err(Error::malformed(
            sidecar,
            crate::error::Position {
                offset: base,
                ..Default::default()
            },
            "the checkpoints file does not end with a complete signed note, and none was found in its last 2 MiB",
        ));
    };
    if end >= len {
        return Ok(());
    }
    let mut torn = crate::log::create_torn_sidecar(sidecar, end)?;
    use std::io::Write as _;
    let bytes = tail.get((end - base) as usize..).unwrap_or_default();
    torn.file
        .write_all(bytes)
        .map_err(|e| Error::io(torn.path(), "write", e))?;
    torn.finish()?;
    f.set_len(end)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(sidecar, "truncate torn checkpoint", e))?;
    Ok(())
}

/// Appends a signed checkpoint to the sidecar (append, fsync; the
/// directory is fsynced when the file is created). An incomplete note at
/// its end (a crash during an earlier append) is moved aside first.
pub fn append_checkpoint(sidecar: &Path, cp: &SignedCheckpoint) -> Result<()> {
    use std::io::Write as _;
    let existed = sidecar.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(sidecar)
        .map_err(|e| Error::io(sidecar, "open", e))?;
    repair_sidecar_tail(sidecar, &f)?;
    f.write_all(cp.to_text().as_bytes())
        .map_err(|e| Error::io(sidecar, "write", e))?;
    f.sync_data().map_err(|e| Error::io(sidecar, "fsync", e))?;
    if !existed {
        if let Some(d) = sidecar.parent() {
            crate::storage::sync_dir(d).map_err(|e| Error::io(d, "fsync", e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_text_round_trip_and_rules() {
        let c = Checkpoint {
            origin: "example.com/log".into(),
            size: 12,
            root: [3; 32],
            extensions: vec!["ext 1".into()],
        };
        assert_eq!(Checkpoint::from_text(&c.to_text()).unwrap(), c);
        for bad in [
            "o\n012\nAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=\n",
            "o\n-1\nAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=\n",
            "o\n1\nAwMD\n",
            "\n1\nAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=\n",
            "o\n1\n",
            "o\n1\nAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=",
        ] {
            assert!(Checkpoint::from_text(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_notes_of_a_sidecar_are_read_one_at_a_time() {
        let s = NoteSigner::from_seed("a.example/l", KeyType::Ed25519, [1; 32]);
        let mk = |n| {
            SignedCheckpoint::sign(
                Checkpoint {
                    origin: "o".into(),
                    size: n,
                    root: [0; 32],
                    extensions: vec![],
                },
                &s,
            )
            .unwrap()
            .to_text()
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.checkpoints");
        std::fs::write(&p, format!("{}{}{}", mk(1), mk(2), mk(3))).unwrap();
        let sizes = |p: &Path| -> Vec<u64> {
            let all = read_checkpoints(p).unwrap();
            all.iter().map(|c| c.checkpoint.size).collect()
        };
        assert_eq!(sizes(&p), [1, 2, 3]);
        assert_eq!(last_checkpoint(&p).unwrap().unwrap().checkpoint.size, 3);
        // A torn last append is skipped; the same damage before it is not.
        let torn = mk(4);
        let torn = &torn[..torn.len() - 5];
        std::fs::write(&p, format!("{}{}{torn}", mk(1), mk(2))).unwrap();
        assert_eq!(sizes(&p), [1, 2]);
        assert_eq!(last_checkpoint(&p).unwrap().unwrap().checkpoint.size, 2);
        let bad = "not a checkpoint\n\n\u{2014} k AAAA\n";
        std::fs::write(&p, format!("{}{bad}{}", mk(1), mk(2))).unwrap();
        assert!(read_checkpoints(&p).is_err());
        assert!(last_checkpoint(&p).is_err());
        // No note is longer than 1 MiB, the last one neither.
        let long = format!("{}{}\n", mk(1), "x".repeat(note::MAX_NOTE));
        std::fs::write(&p, long).unwrap();
        let e = last_checkpoint(&p).unwrap_err().to_string();
        assert!(
            e.contains("longer than 1048576") && e.contains("a.checkpoints"),
            "{e}"
        );
    }
}
