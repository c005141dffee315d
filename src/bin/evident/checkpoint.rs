//! `evident keygen`, `checkpoint`, `prove`, `verify-proof`, `witness`, and
//! `verify --checkpoint`: signed checkpoints, Merkle proofs and a witness
//! (spec/checkpoints.md).

use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use evident::checkpoint::{
    self, CheckOptions, CheckpointOptions, ConsistencyProof, InclusionProof, KeyType, NoteSigner,
    NoteVerifier, SignedCheckpoint,
};
use evident::witness::{Outcome, TrustedLog, Witness};

use crate::util::{self, Failure, EXIT_FAILED};
use crate::{KeyArg, VerifyArgs};

/// Arguments of `evident keygen`.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Key name: a schema-less URL naming the log or witness, e.g.
    /// `example.com/audit` (no spaces, no `+`).
    #[arg(long)]
    pub name: String,
    /// Make a witness (cosignature) key instead of a log key.
    #[arg(long)]
    pub witness: bool,
    /// Write the private key here (never overwritten; only you may open it:
    /// mode 0600 on Unix, on Windows an access list granting your user
    /// alone) and the public key to FILE.pub; without it, both are printed.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Arguments of `evident checkpoint`.
#[derive(Args, Debug)]
pub struct CheckpointArgs {
    /// The log file.
    pub log: PathBuf,
    /// The log's private signing key file (`PRIVATE+KEY+…`, from keygen).
    #[arg(long, value_name = "SKEY")]
    pub key: PathBuf,
    /// Write the checkpoint here instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Origin line (default: evident/<log id>).
    #[arg(long)]
    pub origin: Option<String>,
    /// Sign only the first N records (default: all).
    #[arg(long, value_name = "N")]
    pub size: Option<u64>,
    /// Do not check against or append to `<log>.checkpoints`.
    #[arg(long)]
    pub no_sidecar: bool,
    #[command(flatten)]
    pub hmac: KeyArg,
}

/// Arguments of `evident prove`.
#[derive(Args, Debug)]
pub struct ProveArgs {
    /// The log file.
    pub log: PathBuf,
    /// Prove that the entry with this seq is in the checkpoint.
    #[arg(
        long,
        value_name = "N",
        requires = "checkpoint",
        conflicts_with = "consistency"
    )]
    pub seq: Option<u64>,
    /// The signed checkpoint the inclusion proof is for.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Prove that checkpoint NEW extends checkpoint OLD (the output is a
    /// tlog-witness request: `evident witness` reads it). OLD `0`: from
    /// nothing, the request for a witness that has no checkpoint of this log
    /// yet (a file named 0: `./0`).
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"])]
    pub consistency: Option<Vec<PathBuf>>,
    /// Write the proof here instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub hmac: KeyArg,
}

/// Arguments of `evident verify-proof`.
#[derive(Args, Debug)]
pub struct VerifyProofArgs {
    /// A proof from `evident prove`: inclusion (tlog-proof) or consistency.
    pub proof: PathBuf,
    /// The log's public key (vkey text or a file holding it).
    #[arg(long, value_name = "VKEY")]
    pub pubkey: String,
    /// For a consistency proof: the old checkpoint.
    #[arg(long, value_name = "FILE")]
    pub old: Option<PathBuf>,
    /// For an inclusion proof: the log; its entry must be the proven one,
    /// and the checkpoint's origin `evident/<log id>` unless --origin names
    /// another.
    #[arg(long, value_name = "LOG")]
    pub log: Option<PathBuf>,
    /// The origin the checkpoint must have (spec/checkpoints.md rule 8a;
    /// default with --log: `evident/<log id>`). An inclusion proof needs
    /// --log or --origin; a consistency proof's origin must also be the
    /// --old checkpoint's.
    #[arg(long)]
    pub origin: Option<String>,
    #[command(flatten)]
    pub witnesses: WitnessPolicy,
}

/// Witness requirements of a verifier.
#[derive(Args, Debug, Clone, Default)]
pub struct WitnessPolicy {
    /// A witness public key (repeat for several).
    #[arg(long = "witness-key", value_name = "VKEY")]
    pub witness_keys: Vec<String>,
    /// Cosignatures required from distinct witness keys.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub min_witnesses: usize,
}

/// The checkpoint options of `evident verify`.
#[derive(Args, Debug, Clone, Default)]
pub struct CheckpointVerifyArgs {
    /// A signed checkpoint: the log must still hold its records unchanged.
    #[arg(long, value_name = "FILE", requires = "pubkey")]
    pub checkpoint: Option<PathBuf>,
    /// The log's public key (vkey text or file) that signed the checkpoint.
    #[arg(long, value_name = "VKEY")]
    pub pubkey: Option<String>,
    /// Only check what follows the checkpoint (it is trusted): time grows
    /// with the new records; falls back to a full check when it does not
    /// match.
    #[arg(long, requires = "checkpoint")]
    pub incremental: bool,
    /// Check the checkpoint records written into the log by the writer
    /// (spec/checkpoints.md § 2.2) with --pubkey: each must sign the
    /// records before it.
    #[arg(long, requires = "pubkey")]
    pub in_log: bool,
    /// The origin the checkpoint must have (default: `evident/<log id>`;
    /// with --in-log: any).
    #[arg(long, requires = "pubkey")]
    pub origin: Option<String>,
    #[command(flatten)]
    pub witnesses: WitnessPolicy,
}

/// Arguments of `evident witness`.
#[derive(Args, Debug)]
pub struct WitnessArgs {
    /// The witness's store directory (created if needed).
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// The witness's private key (from `keygen --witness`; an Ed25519 note key, as Go's `note.GenerateKey` makes, cosigns as its cosignature key).
    #[arg(long, value_name = "SKEY")]
    pub key: PathBuf,
    /// A log public key the witness accepts (repeat for several).
    #[arg(long = "log-key", value_name = "VKEY", required = true)]
    pub log_keys: Vec<String>,
    /// The origin the logs' checkpoints must have (default: any).
    #[arg(long)]
    pub origin: Option<String>,
    /// The request (from `evident prove --consistency`), `-` for standard
    /// input.
    #[arg(default_value = "-")]
    pub request: PathBuf,
    /// Also write the cosigned checkpoint here.
    #[arg(long, value_name = "FILE")]
    pub cosigned: Option<PathBuf>,
}

fn lib(path: &Path, e: evident::Error) -> Failure {
    Failure::lib(path, e)
}

fn write_out(out: &mut dyn Write, file: Option<&Path>, text: &str) -> Result<(), Failure> {
    match file {
        Some(p) => {
            evident::witness::write_atomic(p, text.as_bytes()).map_err(|e| lib(p, e))?;
            Ok(())
        }
        None => out.write_all(text.as_bytes()).map_err(util::stdout_err),
    }
}

fn signer(path: &Path) -> Result<NoteSigner, Failure> {
    checkpoint::read_signer(path).map_err(|e| lib(path, e))
}

fn verifier(arg: &str) -> Result<NoteVerifier, Failure> {
    checkpoint::read_verifier(arg).map_err(|e| Failure::usage(util::lib_msg(Path::new(arg), &e)))
}

/// Reads a checkpoint file, or the last checkpoint of a `<log>.checkpoints`
/// sidecar (several notes one after another).
fn read_checkpoint(path: &Path) -> Result<SignedCheckpoint, Failure> {
    match SignedCheckpoint::read(path) {
        Ok(c) => Ok(c),
        Err(e) if path.extension().is_some_and(|x| x == "checkpoints") => {
            match checkpoint::last_checkpoint(path) {
                Ok(Some(c)) => Ok(c),
                Ok(None) => Err(lib(path, e)),
                // Read as a sidecar, what is wrong with it (a damaged note,
                // sizes that decrease), not why it is not one checkpoint.
                Err(sidecar) => Err(lib(path, sidecar)),
            }
        }
        Err(e) => Err(lib(path, e)),
    }
}

/// `evident verify --in-log`: the checkpoint records of the log.
fn verify_in_log(a: &VerifyArgs, pk: &str, out: &mut dyn Write) -> Result<u8, Failure> {
    let key = verifier(pk)?;
    let mut opts = CheckOptions::default();
    opts.key = util::load_key(a.key.key_file.as_deref())?;
    opts.origin = a.cp.origin.clone();
    let r = checkpoint::verify_in_log(&a.log, &key, &opts).map_err(|e| lib(&a.log, e))?;
    if a.json {
        let v = serde_json::to_string(&r).map_err(|e| Failure::usage(e.to_string()))?;
        writeln!(out, "{v}").map_err(util::stdout_err)?;
    } else {
        let last = r
            .last_size
            .map_or(String::new(), |n| format!(", the last of {n} records"));
        writeln!(
            out,
            "checkpoint records: {} found{last}: {}",
            r.checkpoints,
            if r.valid { "all verify" } else { "FAILED" }
        )
        .map_err(util::stdout_err)?;
        for f in &r.failures {
            writeln!(out, "checkpoint records: {f}").map_err(util::stdout_err)?;
        }
    }
    Ok(if r.valid { 0 } else { EXIT_FAILED })
}

pub fn keygen(a: KeygenArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let t = if a.witness {
        KeyType::Cosignature
    } else {
        KeyType::Ed25519
    };
    let s = NoteSigner::generate(&a.name, t).map_err(|e| Failure::usage(e.to_string()))?;
    let vkey = s.verifier().to_vkey();
    match &a.out {
        Some(p) => {
            let mut pubp = p.as_os_str().to_owned();
            pubp.push(".pub");
            let pubp = PathBuf::from(pubp);
            // Neither key is ever replaced: a public key already there may
            // be what verifiers were given (checked again when it is
            // written, which never replaces it).
            if std::fs::symlink_metadata(&pubp).is_ok() {
                return Err(Failure::at(
                    &pubp,
                    "create public key: already exists (keygen never replaces a key)",
                ));
            }
            // Only this user may open it (Unix: 0600; Windows: an ACL
            // for this user alone), from its creation on.
            let mut f = evident::output::create_private(p).map_err(|e| lib(p, e))?;
            let written = f
                .write_all(format!("{}\n", s.to_skey()).as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| Failure::at(p, format!("write: {e}")))
                .and_then(|()| {
                    // Closed first: writing the public key needs descriptors.
                    drop(f);
                    evident::output::Output {
                        replace: false,
                        executable: false,
                    }
                    .write(&pubp, format!("{vkey}\n").as_bytes())
                    .map_err(|e| lib(&pubp, e))
                });
            if let Err(e) = written {
                // A private key without its public key (or a partial one)
                // would make the next `keygen -o` refuse the name: nothing
                // has used it yet, so it goes.
                let _ = std::fs::remove_file(p);
                return Err(e);
            }
            writeln!(out, "{vkey}").map_err(util::stdout_err)?;
        }
        None => {
            writeln!(out, "{}\n{vkey}", s.to_skey()).map_err(util::stdout_err)?;
        }
    }
    Ok(0)
}

pub fn checkpoint(a: CheckpointArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let s = signer(&a.key)?;
    let hmac = util::load_key(a.hmac.key_file.as_deref())?;
    let sidecar = checkpoint::checkpoints_path(&a.log);
    let previous = if a.no_sidecar {
        None
    } else {
        checkpoint::last_checkpoint(&sidecar)
            .map_err(|e| lib(&sidecar, e))?
            .map(|c| c.checkpoint)
    };
    let mut opts = CheckpointOptions::default();
    opts.origin = a.origin.clone();
    opts.key = hmac;
    opts.size = a.size;
    opts.previous = previous;
    let cp = checkpoint::create(&a.log, &s, &opts).map_err(|e| lib(&a.log, e))?;
    if !a.no_sidecar {
        checkpoint::append_checkpoint(&sidecar, &cp).map_err(|e| lib(&sidecar, e))?;
    }
    write_out(out, a.out.as_deref(), &cp.to_text())?;
    Ok(0)
}

pub fn prove(a: ProveArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let hmac = util::load_key(a.hmac.key_file.as_deref())?;
    let text = match (&a.seq, &a.checkpoint, &a.consistency) {
        (Some(seq), Some(cpf), None) => {
            let cp = read_checkpoint(cpf)?;
            checkpoint::prove_inclusion(&a.log, *seq, &cp, hmac.as_ref())
                .map_err(|e| lib(&a.log, e))?
                .to_text()
        }
        (None, _, Some(files)) => {
            let (Some(oldf), Some(newf)) = (files.first(), files.get(1)) else {
                return Err(Failure::usage(
                    "--consistency takes two checkpoint files: OLD NEW",
                ));
            };
            let new = read_checkpoint(newf)?;
            let old = if oldf.as_os_str() == "0" {
                // From nothing: only the size matters.
                checkpoint::Checkpoint {
                    size: 0,
                    ..new.checkpoint.clone()
                }
            } else {
                read_checkpoint(oldf)?.checkpoint
            };
            if old.origin != new.checkpoint.origin {
                return Err(Failure::usage(format!(
                    "the checkpoints are of different logs ({} and {})",
                    old.origin, new.checkpoint.origin
                )));
            }
            checkpoint::prove_consistency(&a.log, &old, &new, hmac.as_ref())
                .map_err(|e| lib(&a.log, e))?
                .to_text()
        }
        _ => {
            return Err(Failure::usage(
                "give --seq N --checkpoint FILE, or --consistency OLD NEW",
            ))
        }
    };
    write_out(out, a.out.as_deref(), &text)?;
    Ok(0)
}

fn witness_keys(p: &WitnessPolicy) -> Result<Vec<NoteVerifier>, Failure> {
    p.witness_keys.iter().map(|k| verifier(k)).collect()
}

pub fn verify_proof(a: VerifyProofArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let key = verifier(&a.pubkey)?;
    let wkeys = witness_keys(&a.witnesses)?;
    let bytes = checkpoint::read_small(&a.proof, 1 << 26).map_err(|e| lib(&a.proof, e))?;
    let fail = |m: String| -> Result<u8, Failure> { Err(Failure::failed(&a.proof, m)) };
    // The origin the checkpoint must have (spec/checkpoints.md rule 8a).
    let expected = match (&a.origin, &a.log) {
        (Some(o), _) => Some(o.clone()),
        (None, Some(log)) => Some(checkpoint::default_origin(
            checkpoint::tree::LogLeaves::open(log, None)
                .map_err(|e| lib(log, e))?
                .log_id(),
        )),
        (None, None) => None,
    };
    let origin_err =
        |cp: &SignedCheckpoint| expected.as_ref().and_then(|o| cp.check_origin(o).err());
    let (ok, cp) = if bytes.starts_with(checkpoint::TLOG_PROOF_HEADER.as_bytes()) {
        let p = InclusionProof::parse(&bytes).map_err(|e| Failure::failed(&a.proof, e))?;
        // Without an origin to expect, a checkpoint signed by the log's
        // key under any origin (a fork the witnesses cosign as a new log)
        // would pass: refuse rather than check less than rule 8a asks.
        if expected.is_none() {
            return Err(Failure::usage(
                "an inclusion proof needs the origin its checkpoint must have: give --log LOG (the origin evident/<log id> of that log) or --origin ORIGIN (spec/checkpoints.md rule 8a)",
            ));
        }
        let body = match &a.log {
            Some(log) => Some(entry_body(log, p.index)?),
            None => None,
        };
        if let Err(e) = p.verify(&key, body.as_deref()) {
            return fail(format!(
                "inclusion proof of entry seq {} does not verify: {e}",
                p.index
            ));
        }
        if let Some(m) = origin_err(&p.checkpoint) {
            return fail(m);
        }
        let ok = format!(
            "ok: entry seq {} is in {} at size {}",
            p.index, p.checkpoint.checkpoint.origin, p.checkpoint.checkpoint.size
        );
        (ok, p.checkpoint)
    } else {
        let p = ConsistencyProof::parse(&bytes).map_err(|e| Failure::failed(&a.proof, e))?;
        let Some(oldf) = &a.old else {
            return Err(Failure::usage("a consistency proof needs --old CHECKPOINT"));
        };
        let old = read_checkpoint(oldf)?;
        if let Err(e) = p.verify(&old, &key) {
            return fail(format!(
                "consistency proof from size {} to {} does not verify: {e}",
                p.old_size, p.checkpoint.checkpoint.size
            ));
        }
        if let Some(m) = origin_err(&p.checkpoint) {
            return fail(m);
        }
        let ok = format!(
            "ok: {} at size {} extends size {}",
            p.checkpoint.checkpoint.origin, p.checkpoint.checkpoint.size, p.old_size
        );
        (ok, p.checkpoint)
    };
    let w = cp
        .witnesses(&wkeys)
        .map_err(|e| Failure::failed(&a.proof, e))?;
    if w.len() < a.witnesses.min_witnesses {
        return fail(format!(
            "{} of the required {} witness cosignatures verify",
            w.len(),
            a.witnesses.min_witnesses
        ));
    }
    // "ok" only once every check passed, the witnesses' too.
    writeln!(out, "{ok}").map_err(util::stdout_err)?;
    Ok(0)
}

/// The body of entry `seq` of `log`, read through a query-free walk.
fn entry_body(log: &Path, seq: u64) -> Result<Vec<u8>, Failure> {
    let leaves = checkpoint::tree::LogLeaves::open(log, None).map_err(|e| lib(log, e))?;
    let mut found = None;
    let end = leaves
        .read_all(|r| {
            if r.seq == seq {
                found = Some(r.body.clone());
            }
        })
        .map_err(|e| lib(log, e))?;
    found.ok_or_else(|| match end.problem {
        // Reading stopped before the entry: say why, not that it is missing.
        Some(p) if end.last.seq < seq => Failure::failed(
            log,
            format!(
                "entry seq {seq} cannot be read: the log's chain stops at seq {}: {p}",
                end.last.seq
            ),
        ),
        _ => Failure::failed(log, format!("the log has no entry seq {seq}")),
    })
}

pub fn witness(a: WitnessArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let s = signer(&a.key)?;
    let logs = a
        .log_keys
        .iter()
        .map(|k| {
            Ok(TrustedLog {
                origin: a.origin.clone(),
                key: verifier(k)?,
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let w = Witness::new(&a.store, s, logs).map_err(|e| lib(&a.store, e))?;
    let request = if a.request.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .take(1 << 22)
            .read_to_end(&mut b)
            .map_err(|e| Failure::usage(format!("standard input: {e}")))?;
        b
    } else {
        checkpoint::read_small(&a.request, 1 << 22).map_err(|e| lib(&a.request, e))?
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(1);
    let o = w
        .add_checkpoint(&request, now)
        .map_err(|e| lib(&a.store, e))?;
    match &o {
        Outcome::Cosigned {
            signature_lines,
            cosigned,
        } => {
            if let Some(p) = &a.cosigned {
                evident::witness::write_atomic(p, cosigned.to_text().as_bytes())
                    .map_err(|e| lib(p, e))?;
            }
            out.write_all(signature_lines.as_bytes())
                .map_err(util::stdout_err)?;
            Ok(0)
        }
        other => Err(Failure {
            code: EXIT_FAILED,
            // Named as every error is (`<file>: <problem>`): the request.
            msg: format!(
                "{}: witness: {} {}: {}",
                if a.request.as_os_str() == "-" {
                    "standard input".into()
                } else {
                    a.request.display().to_string()
                },
                other.status(),
                other.name(),
                other.message()
            ),
        }),
    }
}

/// `evident verify LOG --checkpoint FILE --pubkey VKEY`: the checkpoint
/// check, then (unless --incremental) the whole chain.
pub fn verify(a: VerifyArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let c = a.cp.clone();
    let in_log_code = match (&c.pubkey, c.in_log) {
        (Some(pk), true) => {
            let code = verify_in_log(&a, pk, out)?;
            if a.json || c.checkpoint.is_none() {
                // JSON: one report per run.
                if a.json || code != 0 {
                    return Ok(code);
                }
                let chain = crate::check::verify(a, out)?;
                return Ok(code.max(chain));
            }
            code
        }
        _ => 0,
    };
    let (Some(cpf), Some(pk)) = (&c.checkpoint, &c.pubkey) else {
        return crate::check::verify(a, out);
    };
    let key = verifier(pk)?;
    let cp = read_checkpoint(cpf)?;
    let hmac = util::load_key(a.key.key_file.as_deref())?;
    let mut opts = CheckOptions::default();
    opts.key = hmac;
    opts.witness_keys = witness_keys(&c.witnesses)?;
    opts.min_witnesses = c.witnesses.min_witnesses;
    opts.origin = c.origin.clone();
    let r = if c.incremental {
        checkpoint::verify_incremental(&a.log, &cp, &key, &opts)
    } else {
        checkpoint::verify_against(&a.log, &cp, &key, &opts)
    }
    .map_err(|e| lib(&a.log, e))?;
    if a.json {
        // One JSON object: the checkpoint's report, and (unless
        // --incremental) the whole chain's under "chain".
        let mut v = serde_json::to_value(&r).map_err(|e| Failure::usage(e.to_string()))?;
        let mut code = if r.valid { in_log_code } else { EXIT_FAILED };
        if !c.incremental {
            let mut buf = Vec::new();
            code = code.max(crate::check::verify(a, &mut buf)?);
            let chain: serde_json::Value =
                serde_json::from_slice(&buf).map_err(|e| Failure::usage(e.to_string()))?;
            if let Some(o) = v.as_object_mut() {
                o.insert("chain".into(), chain);
            }
        }
        writeln!(out, "{v}").map_err(util::stdout_err)?;
        return Ok(code);
    } else {
        writeln!(
            out,
            "checkpoint: {} ({}, {} records read): {}",
            r.outcome.name(),
            r.mode,
            r.records_read,
            r.message
        )
        .map_err(util::stdout_err)?;
        if let Some(f) = &r.fallback_reason {
            writeln!(out, "checkpoint: full check because {f}").map_err(util::stdout_err)?;
        }
        if !r.witnesses.is_empty() {
            writeln!(out, "checkpoint: cosigned by {}", r.witnesses.join(", "))
                .map_err(util::stdout_err)?;
        }
        if let Some(p) = &r.problem {
            writeln!(out, "checkpoint: reading the log stopped at: {p}")
                .map_err(util::stdout_err)?;
        }
    }
    let cp_code = if r.valid { in_log_code } else { EXIT_FAILED };
    if c.incremental {
        return Ok(cp_code);
    }
    let chain_code = crate::check::verify(a, out)?;
    Ok(cp_code.max(chain_code))
}
