//! Commands that write: append, convert, repair.

use std::io::{self, BufRead, Write};
use std::path::Path;
use std::time::Duration;

use evident::format::format_ts;
use evident::{
    ConvertOptions, Durability, Event, Framing, LockMode, Log, OpenOptions, Recovery, Repair,
    VerifyOptions, ViolationKind,
};
use serde_json::{Map, Value};

use crate::check::{missing_key_msg, missing_key_only, violation_line};
use crate::util::{entries, head_str, load_key, stdout_err, Failure};
use crate::{AppendArgs, ConvertArgs, DurabilityArg, RepairArgs};

/// The entry fields given as flags, as a JSON object.
fn flag_fields(a: &AppendArgs) -> Result<Map<String, Value>, Failure> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    };
    put("event_type", a.event_type.clone().map(Value::from));
    put("action", a.action.clone().map(Value::from));
    put("actor", a.actor.clone().map(Value::from));
    put("host", a.host.clone().map(Value::from));
    put("session_id", a.session.clone().map(Value::from));
    put("source", a.source.clone().map(Value::from));
    put("details", a.details.clone());
    put("note", a.note.clone().map(Value::from));
    put("success", a.success.map(Value::from));
    put("error", a.error.clone().map(Value::from));
    put("git_commit", a.git_commit.clone().map(Value::from));
    put("otr", a.otr.then_some(Value::Bool(true)));
    put("ts", a.ts.as_ref().map(|t| Value::from(format_ts(t))));
    if let Some(d) = a.duration_ms {
        if !d.is_finite() {
            return Err(Failure::usage("--duration-ms must be a finite number"));
        }
        put("duration_ms", Some(Value::from(d)));
    }
    Ok(m)
}

/// The event from the flags, overridden by the fields of a JSON object.
fn make_event(base: &Map<String, Value>, obj: Option<Value>) -> Result<Event, String> {
    let mut m = base.clone();
    match obj {
        None => {}
        Some(Value::Object(o)) => m.extend(o),
        Some(_) => return Err("expected a JSON object".into()),
    }
    let ev: Event = serde_json::from_value(Value::Object(m)).map_err(|e| e.to_string())?;
    if ev.event_type.is_empty() || ev.action.is_empty() {
        return Err(
            "an entry needs an event type and an action (--event-type and --action, \
                    or \"event_type\" and \"action\" in the JSON object)"
                .into(),
        );
    }
    Ok(ev)
}

fn parse_obj(text: &str) -> Result<Value, String> {
    serde_json::from_str::<Value>(text).map_err(|e| format!("not valid JSON: {e}"))
}

pub fn append(a: AppendArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let path = a.log.clone();
    if path.as_os_str() == "-" {
        // Elsewhere `-` is standard input; a log named `-` is never meant.
        return Err(Failure::usage(
            "append writes to a log file, and `-` (standard input) is none: \
             `evident append --json - LOG` reads entries from standard input (`./-` for a file named -)",
        ));
    }
    let base = flag_fields(&a)?;
    // Check a single entry before opening, so a usage error creates nothing.
    let single = match a.json.as_deref() {
        Some("-") => None,
        Some(text) => Some(
            parse_obj(text)
                .and_then(|v| make_event(&base, Some(v)))
                .map_err(|e| Failure::at(&path, format!("--json: {e}")))?,
        ),
        None => Some(make_event(&base, None).map_err(|e| Failure::at(&path, e))?),
    };
    let mut opts = OpenOptions::new()
        .durability(match a.durability {
            DurabilityArg::Sync => Durability::Sync,
            DurabilityArg::Group => Durability::GroupCommit,
            DurabilityArg::Buffered => Durability::Buffered,
        })
        .lock(if a.shared {
            LockMode::Shared
        } else {
            LockMode::Exclusive
        });
    opts.key = load_key(a.key.key_file.as_deref())?;
    opts.framing = if a.binary {
        Some(Framing::Binary)
    } else {
        a.framing.map(|f| f.framing())
    };
    if let Some(t) = a.lock_timeout {
        let t = Duration::try_from_secs_f64(t)
            .map_err(|_| Failure::usage("--lock-timeout must be a number of seconds >= 0"))?;
        opts.lock_timeout = Some(t);
    }
    let log = Log::open(&path, opts).map_err(|e| Failure::lib(&path, e))?;
    warn_truncated(&path, &log.recovery());
    for t in log.recovery().torn {
        stderr_line!(
            "evident: {}: note: a torn tail ({} bytes at byte offset {}) from an interrupted write was moved to {}",
            crate::util::shown(&path),
            t.len,
            t.offset,
            crate::util::shown(&t.sidecar)
        );
    }
    let result = match single {
        Some(ev) => log
            .append(&ev)
            .map_err(|e| Failure::lib(&path, e))
            .and_then(|h| writeln!(out, "{}", head_str(h.seq, h.hash)).map_err(stdout_err)),
        None => append_stdin(&log, &base, out),
    };
    let closed = log.close();
    match (result, closed) {
        // One line, the cause first. Closing a writer that an append
        // poisoned fails only because of that append: nothing to add.
        (Err(f), Err(evident::Error::Poisoned { .. })) | (Err(f), Ok(())) => Err(f),
        (Err(mut f), Err(c)) => {
            f.msg = format!("{}; closing the log also failed: {c}", f.msg);
            Err(f)
        }
        (Ok(()), Err(c)) => Err(Failure::lib(&path, c)),
        (Ok(()), Ok(())) => Ok(0),
    }
}

/// `--json -`: one JSON object per line of stdin, each appended.
fn append_stdin(log: &Log, base: &Map<String, Value>, out: &mut dyn Write) -> Result<(), Failure> {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut appended = 0u64;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| Failure::usage(format!("<stdin>: read error: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let bad = |msg: String| {
            Failure::usage(format!(
                "<stdin>: line {line_no}: {msg} ({appended} entries before it were appended to {})",
                log.path().display()
            ))
        };
        let text = std::str::from_utf8(&buf).map_err(|_| bad("not valid UTF-8".into()))?;
        if text.trim().is_empty() {
            continue;
        }
        let ev = parse_obj(text)
            .and_then(|v| make_event(base, Some(v)))
            .map_err(bad)?;
        let h = log.append(&ev).map_err(|e| Failure::lib(log.path(), e))?;
        appended += 1;
        writeln!(out, "{}", head_str(h.seq, h.hash)).map_err(stdout_err)?;
        out.flush().map_err(stdout_err)?;
    }
}

pub fn convert(a: ConvertArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    if a.src.as_os_str() == "-" || a.dst.as_os_str() == "-" {
        return Err(Failure::usage(
            "convert reads a log file and writes a new one: name both (`-` is not standard input or output here)",
        ));
    }
    let mut opts = ConvertOptions::new()
        .key(load_key(a.key.key_file.as_deref())?)
        .threads(a.threads);
    if let Some(f) = a.to {
        opts = opts.to(f.framing());
    }
    let r = evident::convert(&a.src, &a.dst, &opts).map_err(|e| {
        let s = e.to_string();
        let names = |p: &Path| s.starts_with(&p.display().to_string());
        let mut f = Failure::lib(&a.src, e);
        if names(&a.src) || names(&a.dst) {
            f.msg = s;
        }
        f
    })?;
    writeln!(
        out,
        "converted {} ({}, {} bytes) to {} ({}, {} bytes)\n\
         {}, head {}, log id {}\n\
         {} verified: same chain and head as {}",
        a.src.display(),
        r.from,
        r.bytes_in,
        a.dst.display(),
        r.to,
        r.bytes_out,
        entries(r.entries),
        head_str(r.head.seq, r.head.hash),
        r.log_id,
        a.dst.display(),
        a.src.display()
    )
    .map_err(stdout_err)?;
    Ok(0)
}

/// One line per torn tail that opening the log moved aside.
fn write_moved(out: &mut dyn Write, rec: &Recovery) -> Result<(), Failure> {
    for t in &rec.torn {
        writeln!(
            out,
            "moved {} bytes from byte offset {} to {}",
            t.len,
            t.offset,
            t.sidecar.display()
        )
        .map_err(stdout_err)?;
    }
    Ok(())
}

pub fn repair(a: RepairArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let path = &a.log;
    let key = load_key(a.key.key_file.as_deref())?;
    let key_given = key.is_some();
    let vopts = VerifyOptions::default().key(key.clone()).all(true);
    let r = evident::verify(path, &vopts).map_err(|e| Failure::lib(path, e))?;
    if missing_key_only(&r, key_given) {
        return Err(missing_key_msg(path, &r, " to repair it"));
    }
    if let Some(v) = r
        .violations
        .iter()
        .find(|v| matches!(v.kind, ViolationKind::WrongKey | ViolationKind::Unsupported))
    {
        return Err(Failure::at(
            path,
            format!("{}: {}; nothing was changed", v.kind, v.message),
        ));
    }
    let w = |e| stdout_err(e);
    match r.status() {
        "valid" => {
            // A log cut at a record boundary below the length an earlier
            // writer made durable verifies; opening it as a writer is what
            // finds and reports the cut, once (spec/format.md § 10.3). A log
            // another writer holds (that writer reported it) or that this
            // user may not write is left as before.
            let mut o = OpenOptions::new().create(false);
            o.key = key;
            if let Ok(log) = Log::open(path, o) {
                let rec = log.recovery();
                warn_truncated(path, &rec);
                write_moved(out, &rec)?;
                log.close().map_err(|e| Failure::lib(path, e))?;
            }
            writeln!(
                out,
                "{}: nothing to repair: the log verifies ({}, head {})",
                path.display(),
                entries(r.entries),
                head_str(r.head_seq, r.head_hash.as_deref().unwrap_or("?"))
            )
            .map_err(w)?;
            Ok(0)
        }
        st if st == "torn_tail" || a.force => {
            for v in &r.violations {
                writeln!(out, "{}", violation_line(path, v)).map_err(w)?;
            }
            let mut o = OpenOptions::new().create(false).repair(if a.force {
                Repair::Force
            } else {
                Repair::Torn
            });
            o.key = key;
            // Opening the log for writing moves a torn tail aside.
            let log = Log::open(path, o).map_err(|e| Failure::lib(path, e))?;
            let rec = log.recovery();
            warn_truncated(path, &rec);
            let head = log.head();
            log.close().map_err(|e| Failure::lib(path, e))?;
            if rec.torn.is_empty() && st == "torn_tail" {
                writeln!(
                    out,
                    "{}: nothing to repair: no torn tail was found when opening the log (another writer may have moved it)",
                    path.display()
                )
                .map_err(w)?;
            } else if rec.torn.is_empty() {
                writeln!(
                    out,
                    "{}: nothing moved: the log's end is intact; what verify reports lies before it",
                    path.display()
                )
                .map_err(w)?;
            }
            write_moved(out, &rec)?;
            let after = evident::verify(path, &vopts).map_err(|e| Failure::lib(path, e))?;
            if !after.valid {
                for v in &after.violations {
                    writeln!(out, "{}", violation_line(path, v)).map_err(w)?;
                }
                return Err(Failure::failed(
                    path,
                    "the log still does not verify: damage before the end is never repaired (it is evidence)",
                ));
            }
            writeln!(
                out,
                "{}: repaired: the log verifies ({}, head {})",
                path.display(),
                entries(after.entries),
                head_str(head.seq, head.hash)
            )
            .map_err(w)?;
            Ok(0)
        }
        _ => {
            for v in &r.violations {
                writeln!(out, "{}", violation_line(path, v)).map_err(w)?;
            }
            // The last entry itself is damaged: damage at the end, which
            // only --force moves aside.
            let last_damaged =
                r.head_seq > 0 && r.violations.iter().any(|v| v.seq == Some(r.head_seq));
            let msg = if last_damaged {
                format!(
                    "the last entry (seq {}) is damaged: damage is evidence, so repair moves it \
                     aside only when asked. Nothing was changed; keep the file as it is and \
                     investigate (`evident verify --all`); `evident repair --force` moves the \
                     damaged end aside into a sidecar file (every byte kept)",
                    r.head_seq
                )
            } else {
                "damage before the end of the log is never repaired: it is evidence. \
                 Nothing was changed; keep the file as it is and investigate (`evident verify --all`); \
                 `evident repair --force` moves damage at the very end aside into a sidecar file"
                    .to_string()
            };
            Err(Failure::failed(path, msg))
        }
    }
}

/// Says, on standard error, that open found the log cut below the length
/// an earlier writer had made durable (spec § 10.3; reported once).
fn warn_truncated(path: &Path, rec: &Recovery) {
    if let Some(t) = rec.truncated {
        stderr_line!(
            "evident: {}: warning: the log is {} bytes long, but an earlier writer had made {} bytes durable: \
             {} bytes were removed from its end after they were written (no crash does that: a truncation, \
             or an older copy put in its place); a checkpoint or witness shows which entries",
            crate::util::shown(path),
            t.len,
            t.durable_len,
            t.durable_len - t.len
        );
    }
}
