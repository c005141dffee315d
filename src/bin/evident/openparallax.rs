//! OpenParallax audit files (`audit.jsonl` written by OpenParallax itself):
//! `evident verify` checks one with OpenParallax's own rule and says what it
//! is; `evident import-openparallax` copies one into a new evident log;
//! every other command refuses one, naming the import.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use evident::legacy_openparallax as op;

use crate::util::{Failure, EXIT_FAILED};
use crate::{Cmd, FramingArg};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The OpenParallax audit file (must verify; it is only read).
    pub src: PathBuf,
    /// The new evident log (must not exist).
    #[arg(short = 'o', long = "output", value_name = "DST")]
    pub dst: PathBuf,
    /// The new log's framing.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub framing: FramingArg,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Whether `path` is an OpenParallax file. A file that could not be read
/// to tell (no descriptor or memory left, a read error) is an error, not
/// "no": the command would otherwise call it "not an evident log".
fn is_op(path: &Path) -> Result<bool, Failure> {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Ok(false);
    }
    op::is_openparallax(path).map_err(|e| Failure::lib(path, e))
}

fn import_hint(path: &Path) -> String {
    format!(
        "evident import-openparallax {} -o NEW.jsonl",
        shell_word(&path.display().to_string())
    )
}

fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/+=:@".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Runs `cmd` here when its file is an OpenParallax file: `verify` checks
/// it, the other commands refuse it. `None`: not such a file.
pub fn intercept(cmd: &Cmd, out: &mut dyn Write) -> Option<Result<u8, Failure>> {
    let (path, name) = cmd.log()?;
    match is_op(path) {
        Ok(true) => {}
        Ok(false) => return None,
        Err(f) => return Some(Err(f)),
    }
    if let Cmd::Verify(a) = cmd {
        let evident_only = evident_only_options(a);
        if !evident_only.is_empty() {
            return Some(Err(Failure::failed(
                path,
                format!(
                    "an OpenParallax audit file, not an evident log: {} cannot hold for it \
                     (they state what an evident log holds); `evident verify` without them \
                     checks its chain by OpenParallax's rule",
                    evident_only.join(", ")
                ),
            )));
        }
        return Some(verify(&a.log, a.json, out));
    }
    Some(Err(Failure::at(
        path,
        format!(
            "an OpenParallax audit file, not an evident log: `evident {name}` reads evident logs; \
             `evident verify` checks this file's chain, `{}` imports it",
            import_hint(path)
        ),
    )))
}

/// The options of `evident verify` given that only an evident log can
/// satisfy (a head it holds, its id, its key, a checkpoint, witnesses): an
/// OpenParallax file, which anyone can write, must not pass them.
fn evident_only_options(a: &crate::VerifyArgs) -> Vec<&'static str> {
    let w = &a.cp.witnesses;
    [
        ("--expect-head", a.expect_head.is_some()),
        ("--expect-log-id", a.expect_log_id.is_some()),
        ("--key-file", a.key.key_file.is_some()),
        ("--checkpoint", a.cp.checkpoint.is_some()),
        ("--pubkey", a.cp.pubkey.is_some()),
        ("--incremental", a.cp.incremental),
        ("--in-log", a.cp.in_log),
        ("--origin", a.cp.origin.is_some()),
        ("--witness-key", !w.witness_keys.is_empty()),
        ("--min-witnesses", w.min_witnesses > 0),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
    .collect()
}

/// `evident verify` of an OpenParallax file: its chain, by OpenParallax's
/// rule; exit 0 valid, 1 a violation.
pub fn verify(path: &Path, json: bool, out: &mut dyn Write) -> Result<u8, Failure> {
    let r = op::verify(path).map_err(|e| Failure::lib(path, e))?;
    let code = if r.valid { 0 } else { EXIT_FAILED };
    if json {
        let mut v = serde_json::to_value(&r).map_err(|e| Failure::usage(e.to_string()))?;
        if let Some(m) = v.as_object_mut() {
            m.insert("format".into(), "openparallax".into());
            m.insert("path".into(), path.display().to_string().into());
        }
        let text = serde_json::to_string_pretty(&v).map_err(|e| Failure::usage(e.to_string()))?;
        writeln!(out, "{text}").map_err(crate::util::stdout_err)?;
        return Ok(code);
    }
    let p = path.display();
    let res = if r.valid {
        writeln!(
            out,
            "{p}: an OpenParallax audit file (not an evident log), checked with OpenParallax's rule: \
             valid: {} entries, {} lines, last hash {}\n\
             the chain cannot show entries removed from the end: keep the line count and last hash \
             elsewhere, or import it (`{}`), which records both",
            r.entries,
            r.lines,
            if r.last_hash.is_empty() { "(none)" } else { &r.last_hash },
            import_hint(path)
        )
    } else {
        writeln!(
            out,
            "{p}: an OpenParallax audit file (not an evident log), checked with OpenParallax's rule: \
             INVALID at line {}: {}\n{} entries before it verified",
            r.line,
            crate::util::one_line(&r.error),
            r.entries
        )
    };
    res.map_err(crate::util::stdout_err)?;
    Ok(code)
}

/// `evident import-openparallax SRC -o DST`.
pub fn import(a: ImportArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let opts = op::ImportOptions::new().framing(a.framing.framing());
    let r = op::import(&a.src, &a.dst, &opts).map_err(|e| {
        let s = e.to_string();
        let mut f = Failure::lib(&a.src, e);
        if s.starts_with(&a.dst.display().to_string())
            || s.starts_with(&a.src.display().to_string())
        {
            f.msg = s;
        }
        f
    })?;
    if a.json {
        let text = serde_json::to_string_pretty(&r).map_err(|e| Failure::usage(e.to_string()))?;
        writeln!(out, "{text}").map_err(crate::util::stdout_err)?;
        return Ok(0);
    }
    writeln!(
        out,
        "imported {} ({} entries, {} lines, {} bytes, last hash {}) into {}\n\
         head {}:{} (entry {} is the anchor recording the file's line count, size, SHA-256 and last hash)\n\
         {} was not changed",
        a.src.display(),
        r.entries,
        r.lines,
        r.bytes,
        if r.last_hash.is_empty() { "(none)" } else { &r.last_hash },
        a.dst.display(),
        r.head_seq,
        r.head_hash,
        r.head_seq,
        a.src.display(),
    )
    .map_err(crate::util::stdout_err)?;
    if let Some(t) = &r.torn_tail {
        writeln!(
            out,
            "line {} ({} bytes at byte offset {}) was cut short by an unfinished write and was not imported; \
             its bytes are still in {}",
            t.line,
            t.bytes,
            t.offset,
            a.src.display()
        )
        .map_err(crate::util::stdout_err)?;
    }
    Ok(0)
}
