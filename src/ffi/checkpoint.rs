//! Signed checkpoints, proofs and the witness (`evident_checkpoint_*`,
//! `evident_witness_*`): the C face of [`crate::checkpoint`] and
//! [`crate::witness`] (spec/checkpoints.md).
//!
//! Keys, checkpoints and proofs are passed as their text forms (C2SP
//! signed-note keys, checkpoint notes, `tlog-proof` and `tlog-witness`
//! texts); options and reports as JSON. Every string result is freed with
//! `evident_string_free`.

use std::ffi::c_char;
use std::path::Path;

use super::{
    evident_status, ffi_status, owned_string, reset_outs, try_opt_str, try_out, try_str, Failure,
};
use crate::checkpoint::{
    self, CheckOptions, CheckpointOptions, ConsistencyProof, InclusionProof, KeyType, NoteSigner,
    NoteVerifier, SignedCheckpoint,
};
use crate::witness::{TrustedLog, Witness};

fn signer(text: &str) -> Result<NoteSigner, Failure> {
    NoteSigner::from_skey(text).map_err(|e| Failure::invalid(format!("private key: {e}")))
}

fn verifier(text: &str) -> Result<NoteVerifier, Failure> {
    NoteVerifier::from_vkey(text).map_err(|e| Failure::invalid(format!("public key: {e}")))
}

fn signed(text: &str, what: &str) -> Result<SignedCheckpoint, Failure> {
    SignedCheckpoint::parse(text.as_bytes())
        .map_err(|e| Failure::new(evident_status::Malformed, format!("{what}: {e}")))
}

/// The JSON type an option member must have.
#[derive(Clone, Copy)]
enum Opt {
    Str,
    U64,
    Bool,
    StrArray,
}

/// Parses `options_json`: NULL or `null` for none, else an object whose
/// members are among `known`, each of its type (or `null`, the same as
/// leaving it out). A misspelt or mistyped member is refused, not ignored.
fn options(text: Option<&str>, known: &[(&str, Opt)]) -> Result<serde_json::Value, Failure> {
    let Some(t) = text else {
        return Ok(serde_json::Value::Null);
    };
    let v: serde_json::Value =
        serde_json::from_str(t).map_err(|e| Failure::invalid(format!("options_json: {e}")))?;
    let m = match &v {
        serde_json::Value::Null => return Ok(v),
        serde_json::Value::Object(m) => m,
        _ => return Err(Failure::invalid("options_json must be a JSON object")),
    };
    for (name, value) in m {
        let names = || known.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
        let Some((_, kind)) = known.iter().find(|(n, _)| n == name) else {
            return Err(Failure::invalid(format!(
                "options_json: unknown member {name:?} (known: {})",
                names()
            )));
        };
        let (ok, what) = match kind {
            Opt::Str => (value.is_string(), "a string"),
            Opt::U64 => (value.is_u64(), "an unsigned integer"),
            Opt::Bool => (value.is_boolean(), "true or false"),
            Opt::StrArray => (
                value
                    .as_array()
                    .is_some_and(|a| a.iter().all(serde_json::Value::is_string)),
                "an array of strings",
            ),
        };
        if !ok && !value.is_null() {
            return Err(Failure::invalid(format!(
                "options_json: {name:?} must be {what}"
            )));
        }
    }
    Ok(v)
}

fn hmac_key(o: &serde_json::Value) -> Result<Option<crate::chain::Key>, Failure> {
    match o.get("key_hex").and_then(|v| v.as_str()) {
        None => Ok(None),
        Some(h) => {
            let bytes = hex::decode(h).map_err(|_| Failure::invalid("key_hex is not hex"))?;
            Ok(Some(crate::chain::Key::new(bytes)?))
        }
    }
}

/// Makes a key pair named `name` (a log key, or with `witness` non-zero a
/// cosignature key): `*out_skey` receives the private key text
/// (`PRIVATE+KEY+…`), `*out_vkey` the public key text.
#[no_mangle]
pub extern "C" fn evident_checkpoint_keygen(
    name: *const c_char,
    witness: i32,
    out_skey: *mut *mut c_char,
    out_vkey: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        reset_outs!(out_skey => std::ptr::null_mut(), out_vkey => std::ptr::null_mut());
        let skey = try_out!(out_skey, "out_skey", std::ptr::null_mut());
        let vkey = try_out!(out_vkey, "out_vkey", std::ptr::null_mut());
        let t = if witness != 0 {
            KeyType::Cosignature
        } else {
            KeyType::Ed25519
        };
        let s = NoteSigner::generate(try_str!(name, "name"), t)
            .map_err(|e| Failure::invalid(e.to_string()))?;
        *skey = owned_string(&s.to_skey());
        *vkey = owned_string(&s.verifier().to_vkey());
        Ok(evident_status::Ok)
    })
}

/// Signs a checkpoint of the log at `log` with the private key text
/// `skey`; `*out_checkpoint` receives the signed checkpoint. Options
/// (`options_json`, NULL for none): `origin`, `size`, `key_hex` (the HMAC
/// key of a keyed log), `no_sidecar` (do not check against or append to
/// `<log>.checkpoints`). In every `options_json` of the checkpoint
/// functions a member of another name or type is refused
/// (`EVIDENT_STATUS_INVALID_ARGUMENT` naming it); `null` is leaving it out.
#[no_mangle]
pub extern "C" fn evident_checkpoint_create(
    log: *const c_char,
    skey: *const c_char,
    options_json: *const c_char,
    out_checkpoint: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_checkpoint, "out_checkpoint", std::ptr::null_mut());
        let log = Path::new(try_str!(log, "log"));
        let s = signer(try_str!(skey, "skey"))?;
        let o = options(
            try_opt_str!(options_json, "options_json"),
            &[
                ("origin", Opt::Str),
                ("size", Opt::U64),
                ("key_hex", Opt::Str),
                ("no_sidecar", Opt::Bool),
            ],
        )?;
        let no_sidecar = o.get("no_sidecar").and_then(|v| v.as_bool()) == Some(true);
        let sidecar = checkpoint::checkpoints_path(log);
        let previous = if no_sidecar {
            None
        } else {
            checkpoint::last_checkpoint(&sidecar)?.map(|c| c.checkpoint)
        };
        let opts = CheckpointOptions {
            origin: o.get("origin").and_then(|v| v.as_str()).map(str::to_string),
            key: hmac_key(&o)?,
            size: o.get("size").and_then(|v| v.as_u64()),
            previous,
        };
        let cp = checkpoint::create(log, &s, &opts)?;
        if !no_sidecar {
            checkpoint::append_checkpoint(&sidecar, &cp)?;
        }
        *out = owned_string(&cp.to_text());
        Ok(evident_status::Ok)
    })
}

/// Checks the log at `log` against the signed checkpoint text `cp` and the
/// log's public key `vkey`. `*out_report_json` receives the report (JSON:
/// `valid`, `outcome` — `match`, `truncated`, `root_mismatch`, `damaged`,
/// `bad_signature`, `too_few_witnesses` — `message`, `mode`, `log_size`,
/// …). Options: `incremental`, `witness_keys` (array of public key texts),
/// `min_witnesses`, `origin` (the origin the checkpoint must have; default
/// the log's, `evident/<log id>`), `key_hex`. Returns OK whatever the outcome;
/// an error only when the log cannot be read or an argument is wrong.
#[no_mangle]
pub extern "C" fn evident_checkpoint_verify(
    log: *const c_char,
    cp: *const c_char,
    vkey: *const c_char,
    options_json: *const c_char,
    out_report_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_report_json, "out_report_json", std::ptr::null_mut());
        let log = Path::new(try_str!(log, "log"));
        let cp = signed(try_str!(cp, "cp"), "checkpoint")?;
        let key = verifier(try_str!(vkey, "vkey"))?;
        let o = options(
            try_opt_str!(options_json, "options_json"),
            &[
                ("incremental", Opt::Bool),
                ("witness_keys", Opt::StrArray),
                ("min_witnesses", Opt::U64),
                ("origin", Opt::Str),
                ("key_hex", Opt::Str),
            ],
        )?;
        let mut witness_keys = Vec::new();
        if let Some(a) = o.get("witness_keys").and_then(|v| v.as_array()) {
            for k in a {
                witness_keys.push(verifier(k.as_str().unwrap_or(""))?);
            }
        }
        let opts = CheckOptions {
            key: hmac_key(&o)?,
            witness_keys,
            min_witnesses: o.get("min_witnesses").and_then(|v| v.as_u64()).unwrap_or(0) as usize,
            origin: o.get("origin").and_then(|v| v.as_str()).map(str::to_string),
        };
        let r = if o.get("incremental").and_then(|v| v.as_bool()) == Some(true) {
            checkpoint::verify_incremental(log, &cp, &key, &opts)?
        } else {
            checkpoint::verify_against(log, &cp, &key, &opts)?
        };
        let text = serde_json::to_string(&r).map_err(|e| Failure::invalid(e.to_string()))?;
        *out = owned_string(&text);
        Ok(evident_status::Ok)
    })
}

/// The inclusion proof (`c2sp.org/tlog-proof@v1` text) of entry `seq` of
/// the log at `log` against the signed checkpoint text `cp`.
#[no_mangle]
pub extern "C" fn evident_checkpoint_prove(
    log: *const c_char,
    seq: u64,
    cp: *const c_char,
    out_proof: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_proof, "out_proof", std::ptr::null_mut());
        let log = Path::new(try_str!(log, "log"));
        let cp = signed(try_str!(cp, "cp"), "checkpoint")?;
        let p = checkpoint::prove_inclusion(log, seq, &cp, None)?;
        *out = owned_string(&p.to_text());
        Ok(evident_status::Ok)
    })
}

/// The consistency proof (a `tlog-witness` request text) from the
/// checkpoint text `old_cp` to `new_cp`, both of the log at `log`.
#[no_mangle]
pub extern "C" fn evident_checkpoint_prove_consistency(
    log: *const c_char,
    old_cp: *const c_char,
    new_cp: *const c_char,
    out_proof: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_proof, "out_proof", std::ptr::null_mut());
        let log = Path::new(try_str!(log, "log"));
        let old = signed(try_str!(old_cp, "old_cp"), "old checkpoint")?;
        let new = signed(try_str!(new_cp, "new_cp"), "new checkpoint")?;
        let p = checkpoint::prove_consistency(log, &old.checkpoint, &new, None)?;
        *out = owned_string(&p.to_text());
        Ok(evident_status::Ok)
    })
}

/// Verifies a proof text with the log's public key: an inclusion proof
/// (`old_cp` NULL), or a consistency proof from the checkpoint text
/// `old_cp`. `*out_valid` is 1 when it verifies, else 0 with the reason in
/// `*out_reason` (NULL when valid; free with `evident_string_free`).
/// The proof's checkpoint may have any origin: use
/// `evident_checkpoint_verify_proof_origin` to require the log's.
#[no_mangle]
pub extern "C" fn evident_checkpoint_verify_proof(
    proof: *const c_char,
    vkey: *const c_char,
    old_cp: *const c_char,
    out_valid: *mut i32,
    out_reason: *mut *mut c_char,
) -> evident_status {
    evident_checkpoint_verify_proof_origin(
        proof,
        vkey,
        old_cp,
        std::ptr::null(),
        out_valid,
        out_reason,
    )
}

/// `evident_checkpoint_verify_proof`, also requiring the proof's
/// checkpoint to have the origin `origin` (for a log of evident,
/// `evident/<log id>` unless it was signed with another; NULL: any origin).
/// A checkpoint of another origin is invalid (`*out_valid` 0, the reason
/// naming both origins), as `evident verify-proof --origin` reports it
/// (since ABI 1.8).
#[no_mangle]
pub extern "C" fn evident_checkpoint_verify_proof_origin(
    proof: *const c_char,
    vkey: *const c_char,
    old_cp: *const c_char,
    origin: *const c_char,
    out_valid: *mut i32,
    out_reason: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        reset_outs!(out_valid => 0, out_reason => std::ptr::null_mut());
        let valid = try_out!(out_valid, "out_valid", 0);
        let reason = try_out!(out_reason, "out_reason", std::ptr::null_mut());
        let proof = try_str!(proof, "proof");
        let key = verifier(try_str!(vkey, "vkey"))?;
        let origin = try_opt_str!(origin, "origin");
        let res: Result<(), String> = match try_opt_str!(old_cp, "old_cp") {
            None => InclusionProof::parse(proof.as_bytes())
                .map_err(|e| e.to_string())
                .and_then(|p| {
                    p.verify(&key, None).map_err(|e| e.to_string())?;
                    origin.map_or(Ok(()), |o| p.checkpoint.check_origin(o))
                }),
            Some(old) => {
                let old = signed(old, "old checkpoint")?;
                ConsistencyProof::parse(proof.as_bytes())
                    .map_err(|e| e.to_string())
                    .and_then(|p| {
                        p.verify(&old, &key).map_err(|e| e.to_string())?;
                        origin.map_or(Ok(()), |o| p.checkpoint.check_origin(o))
                    })
            }
        };
        match res {
            Ok(()) => *valid = 1,
            Err(e) => *reason = owned_string(&e),
        }
        Ok(evident_status::Ok)
    })
}

/// A witness over the store directory `store` with the private key text
/// `skey` (a cosignature key, or an Ed25519 note key used as one) accepting the logs whose public key texts
/// are in the JSON array `log_vkeys_json`, handles the request text
/// `request` (`old N`, proof lines, blank line, checkpoint). `*out_json`
/// receives `{"status": 200|400|403|404|409|422, "outcome", "message",
/// "signature_lines", "cosigned", "latest", "evidence"}`.
#[no_mangle]
pub extern "C" fn evident_witness_add_checkpoint(
    store: *const c_char,
    skey: *const c_char,
    log_vkeys_json: *const c_char,
    request: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let store = Path::new(try_str!(store, "store"));
        let s = signer(try_str!(skey, "skey"))?;
        let keys: Vec<String> = serde_json::from_str(try_str!(log_vkeys_json, "log_vkeys_json"))
            .map_err(|e| Failure::invalid(format!("log_vkeys_json: {e}")))?;
        let logs = keys
            .iter()
            .map(|k| {
                Ok(TrustedLog {
                    origin: None,
                    key: verifier(k)?,
                })
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        let w = Witness::new(store, s, logs)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1);
        let o = w.add_checkpoint(try_str!(request, "request").as_bytes(), now)?;
        let mut v = serde_json::json!({
            "status": o.status(),
            "outcome": o.name(),
            "message": o.message(),
        });
        match &o {
            crate::witness::Outcome::Cosigned {
                signature_lines,
                cosigned,
            } => {
                v["signature_lines"] = signature_lines.clone().into();
                v["cosigned"] = cosigned.to_text().into();
            }
            crate::witness::Outcome::Conflict { latest, evidence } => {
                v["latest"] = (*latest).into();
                if let Some(e) = evidence {
                    v["evidence"] = e.display().to_string().into();
                }
            }
            crate::witness::Outcome::Unprocessable {
                evidence: Some(e), ..
            } => {
                v["evidence"] = e.display().to_string().into();
            }
            _ => {}
        }
        *out = owned_string(&v.to_string());
        Ok(evident_status::Ok)
    })
}

/// Makes logs opened with `options` sign checkpoints automatically
/// (spec/checkpoints.md § 2.1) with the private key text `skey` (a log
/// key, `PRIVATE+KEY+…`): after every `every_entries` entries (0: not by
/// count), at the first append once `every_ms` milliseconds have passed
/// since the last checkpoint (0: not by time), and at close, into
/// `<log>.checkpoints`; with `in_log` non-zero each checkpoint is also
/// written as a checkpoint record in the log. Before a checkpoint the log
/// is synced (in `EVIDENT_DURABILITY_BUFFERED` mode a due checkpoint is a
/// sync point), so a checkpoint never claims more than is durable. A
/// failure to sign does not fail the append (see
/// `evident_log_checkpoint_error`); at close it is returned by
/// `evident_log_close` after the log is closed. Needs
/// `EVIDENT_LOCK_MODE_EXCLUSIVE` (open refuses shared mode). `skey` NULL
/// turns automatic checkpoints off.
#[no_mangle]
pub extern "C" fn evident_open_options_set_checkpoint(
    options: *mut super::options::evident_open_options,
    skey: *const c_char,
    every_entries: u64,
    every_ms: u64,
    in_log: i32,
) -> evident_status {
    ffi_status!({
        let o = super::try_mut!(options, "options");
        o.opts.checkpoint = match try_opt_str!(skey, "skey") {
            None => None,
            Some(t) => {
                let s = signer(t)?;
                if s.key_type() != KeyType::Ed25519 {
                    return Err(Failure::invalid(
                        "skey: checkpoints are signed with a log key (Ed25519), not a witness key",
                    ));
                }
                Some(
                    checkpoint::AutoCheckpoint::new(s)
                        .every_entries(every_entries)
                        .every(std::time::Duration::from_millis(every_ms))
                        .in_log(in_log != 0),
                )
            }
        };
        Ok(evident_status::Ok)
    })
}

/// The last failure to sign an automatic checkpoint of `log`:
/// `*out_message` receives its text (free with `evident_string_free`), or
/// NULL when the last attempt succeeded or none failed.
#[no_mangle]
pub extern "C" fn evident_log_checkpoint_error(
    log: *const super::log::evident_log,
    out_message: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_message, "out_message", std::ptr::null_mut());
        let l = super::try_ref!(log, "log");
        if let Some(m) = l.log.checkpoint_error() {
            *out = owned_string(&m);
        }
        Ok(evident_status::Ok)
    })
}

/// Checks the checkpoint records in the log at `log` (spec/checkpoints.md
/// § 2.2) with the log's public key text `vkey`: `*out_report_json`
/// receives `{"valid", "checkpoints", "last_size", "failures",
/// "records_read"}`. Options (`options_json`, NULL for none): `key_hex`
/// (the HMAC key of a keyed log).
#[no_mangle]
pub extern "C" fn evident_checkpoint_verify_in_log(
    log: *const c_char,
    vkey: *const c_char,
    options_json: *const c_char,
    out_report_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_report_json, "out_report_json", std::ptr::null_mut());
        let log = Path::new(try_str!(log, "log"));
        let key = verifier(try_str!(vkey, "vkey"))?;
        let o = options(
            try_opt_str!(options_json, "options_json"),
            &[("key_hex", Opt::Str)],
        )?;
        let opts = CheckOptions {
            key: hmac_key(&o)?,
            ..CheckOptions::default()
        };
        let r = checkpoint::verify_in_log(log, &key, &opts)?;
        let text = serde_json::to_string(&r).map_err(|e| Failure::invalid(e.to_string()))?;
        *out = owned_string(&text);
        Ok(evident_status::Ok)
    })
}

/// The checkpoints in the sidecar `<log>.checkpoints` of the log at `log`,
/// in order: `*out_json` receives a JSON array of `{"size", "origin",
/// "checkpoint"}` (the signed note text); `[]` when there is none.
#[no_mangle]
pub extern "C" fn evident_checkpoint_list(
    log: *const c_char,
    out_json: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_json, "out_json", std::ptr::null_mut());
        let log = Path::new(try_str!(log, "log"));
        let all = checkpoint::read_checkpoints(&checkpoint::checkpoints_path(log))?;
        let v: Vec<serde_json::Value> = all
            .iter()
            .map(|c| {
                serde_json::json!({
                    "size": c.checkpoint.size,
                    "origin": c.checkpoint.origin,
                    "checkpoint": c.to_text(),
                })
            })
            .collect();
        let text = serde_json::to_string(&v).map_err(|e| Failure::invalid(e.to_string()))?;
        *out = owned_string(&text);
        Ok(evident_status::Ok)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::ffi::{CStr, CString};

    use super::*;

    fn last_error() -> String {
        // SAFETY: never NULL.
        unsafe { CStr::from_ptr(crate::ffi::evident_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn misspelt_or_mistyped_options_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.jsonl");
        let l = crate::Log::open(&log, crate::OpenOptions::new()).unwrap();
        l.append(&crate::Event::new("T", "a")).unwrap();
        l.close().unwrap();
        let skey = NoteSigner::from_seed("example.com/log", KeyType::Ed25519, [5; 32]).to_skey();
        let c = |s: &str| CString::new(s).unwrap();
        let (log_c, skey_c) = (c(log.to_str().unwrap()), c(&skey));
        let create = |opts: Option<&str>| {
            let o = opts.map(c);
            let mut out = std::ptr::null_mut();
            let st = evident_checkpoint_create(
                log_c.as_ptr(),
                skey_c.as_ptr(),
                o.as_ref().map_or(std::ptr::null(), |o| o.as_ptr()),
                &mut out,
            );
            crate::ffi::evident_string_free(out);
            st
        };
        for (bad, says) in [
            (r#"{"no_sidcar": true}"#, "unknown member \"no_sidcar\""),
            (r#"{"size": "1"}"#, "\"size\" must be an unsigned integer"),
            (
                r#"{"no_sidecar": 1}"#,
                "\"no_sidecar\" must be true or false",
            ),
            ("[]", "must be a JSON object"),
        ] {
            assert_eq!(create(Some(bad)), evident_status::InvalidArgument, "{bad}");
            assert!(last_error().contains(says), "{bad}: {}", last_error());
        }
        // null members are left out; NULL and null are no options
        assert_eq!(
            create(Some(r#"{"origin": null, "no_sidecar": true}"#)),
            evident_status::Ok,
            "{}",
            last_error()
        );
        assert_eq!(create(Some("null")), evident_status::Ok, "{}", last_error());
        assert_eq!(create(None), evident_status::Ok, "{}", last_error());
    }
}
