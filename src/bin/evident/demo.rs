//! `evident demo`: a guided tour for a new user.
//!
//! Writes an example log (an oscilloscope session and an AI-agent session),
//! verifies it, takes its head, then shows three copies being caught: an
//! edited entry, deleted entries (caught with the head), and a crash in the
//! middle of a write (a torn tail, moved aside by `repair`); finally saves
//! the analysis session in a session file, twice, each save recorded in the
//! audit log, and loads it after a simulated crash. Every step runs
//! the same code as the real subcommand and shows its output. The demo
//! checks its own results and exits 1 if anything was not caught.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use evident::{Event, Log, OpenOptions};
use serde_json::json;

use crate::util::{head_str, stdout_err, Failure};
use crate::{
    check, read, write, DemoArgs, Filters, HeadArgs, KeyArg, RepairArgs, TailArgs, VerifyArgs,
};

const LOG: &str = "scope-audit.jsonl";
const TAMPERED: &str = "scope-audit.tampered.jsonl";
const TRUNCATED: &str = "scope-audit.truncated.jsonl";
const CRASHED: &str = "scope-audit.crashed.jsonl";
const SESSION: &str = "scope-session.evs";
const SESSION_CRASHED: &str = "scope-session.crashed.evs";

fn events() -> Vec<Event> {
    let scope = |ev: Event| {
        ev.session("bench-scope-0412")
            .actor("j.doe")
            .source("scope-ui")
    };
    let agent = |ev: Event| {
        ev.session("agent-run-7f3a")
            .actor("lab-assistant-agent")
            .source("agent-runtime")
    };
    let done = |mut ev: Event, ok: bool, ms: f64| {
        ev.success = Some(ok);
        ev.duration_ms = Some(ms);
        ev
    };
    let mut annotate = scope(Event::new("ACTION_EXECUTED", "annotate").details(
        json!({"channel": 1, "cursor_t_ns": 152.5, "text": "ringing on the falling edge"}),
    ));
    annotate.note = Some("ringing on the falling edge".into());
    let mut failed = done(
        agent(
            Event::new("TOOL_CALL", "run_command")
                .details(json!({"command": "python analyze.py ch1_measurements.csv"})),
        ),
        false,
        412.0,
    );
    failed.error = Some("exit status 1: ModuleNotFoundError: No module named 'numpy'".into());
    vec![
        scope(Event::new("SESSION_START", "open_session").details(json!({
            "instrument": "DSO-4024 oscilloscope", "serial": "SN-100234", "firmware": "2.14.1"
        }))),
        done(
            scope(Event::new("ACTION_EXECUTED", "load_trace").details(json!({
                "file": "ch1_capture_0412.bin", "channel": 1, "samples": 1_000_000,
                "sample_rate_hz": 2.5e9
            }))),
            true,
            84.2,
        ),
        done(
            scope(Event::new("ACTION_EXECUTED", "measure").details(json!({
                "channel": 1, "measurement": "vpp", "value": 1.204, "unit": "V"
            }))),
            true,
            3.1,
        ),
        done(
            scope(Event::new("ACTION_EXECUTED", "measure").details(json!({
                "channel": 1, "measurement": "frequency", "value": 10_000_000.0, "unit": "Hz"
            }))),
            true,
            2.7,
        ),
        annotate,
        done(
            scope(Event::new("ACTION_EXECUTED", "export").details(json!({
                "format": "csv", "file": "ch1_measurements.csv", "rows": 2
            }))),
            true,
            15.0,
        ),
        done(
            agent(
                Event::new("TOOL_CALL", "read_file")
                    .details(json!({"path": "ch1_measurements.csv"})),
            ),
            true,
            2.0,
        ),
        failed,
        done(
            agent(Event::new("TOOL_CALL", "run_command").details(json!({
                "command": "pip install numpy && python analyze.py ch1_measurements.csv"
            }))),
            true,
            5230.0,
        ),
        agent(Event::new("AGENT_MESSAGE", "report").details(json!({
            "summary": "Vpp 1.204 V at 10 MHz; ringing on the falling edge, check the probe ground"
        }))),
        scope(Event::new("SESSION_END", "close_session").details(json!({"entries_in_session": 6}))),
    ]
}

/// The demo's working directory: the given one (created if needed) or a new
/// temporary one.
fn workdir(dir: Option<PathBuf>) -> Result<PathBuf, Failure> {
    let dir = match dir {
        Some(d) => {
            fs::create_dir_all(&d).map_err(|e| Failure::at(&d, format!("cannot create: {e}")))?;
            d
        }
        None => {
            let base = std::env::temp_dir();
            let mut tries = 0;
            loop {
                let d = base.join(format!("evident-demo-{:08x}", rand::random::<u32>()));
                match fs::create_dir(&d) {
                    Ok(()) => break d,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 10 => {
                        tries += 1
                    }
                    Err(e) => return Err(Failure::at(&d, format!("cannot create: {e}"))),
                }
            }
        }
    };
    let dir = dir
        .canonicalize()
        .map_err(|e| Failure::at(&dir, format!("cannot open: {e}")))?;
    for f in [LOG, TAMPERED, TRUNCATED, CRASHED, SESSION, SESSION_CRASHED] {
        if dir.join(f).exists() {
            return Err(Failure::at(
                &dir.join(f),
                "already exists; run the demo in a new or empty directory",
            ));
        }
    }
    Ok(dir)
}

/// Runs a subcommand into a buffer; returns its exit code and output.
fn capture(f: impl FnOnce(&mut dyn Write) -> Result<u8, Failure>) -> Result<(u8, String), Failure> {
    let mut buf = Vec::new();
    let code = match f(&mut buf) {
        Ok(c) => c,
        Err(fail) if fail.code == 1 => {
            buf.extend_from_slice(format!("evident: {}\n", fail.msg).as_bytes());
            1
        }
        Err(fail) => return Err(fail),
    };
    Ok((code, String::from_utf8_lossy(&buf).into_owned()))
}

fn verify_args(log: &str) -> VerifyArgs {
    VerifyArgs {
        log: log.into(),
        more: Vec::new(),
        key: KeyArg { key_file: None },
        expect_head: None,
        expect_log_id: None,
        all: false,
        json: false,
        threads: 0,
        cp: Default::default(),
    }
}

struct Shown<'a> {
    out: &'a mut dyn Write,
}

impl Shown<'_> {
    fn say(&mut self, text: &str) -> Result<(), Failure> {
        writeln!(self.out, "{text}").map_err(stdout_err)
    }

    /// Prints a command line and its indented output.
    fn show(&mut self, cmd: &str, output: &str) -> Result<(), Failure> {
        self.say(&format!("   $ {cmd}"))?;
        for line in output.lines() {
            self.say(&format!("     {line}"))?;
        }
        Ok(())
    }
}

fn broken(msg: impl std::fmt::Display) -> Failure {
    Failure {
        code: 1,
        msg: format!("demo: {msg} (this is a bug in evident; please report it)"),
    }
}

pub fn demo(a: DemoArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let dir = workdir(a.dir)?;
    std::env::set_current_dir(&dir).map_err(|e| Failure::at(&dir, format!("cannot enter: {e}")))?;
    let mut s = Shown { out };
    s.say("evident demo: a tamper-evident audit log, step by step")?;
    s.say(&format!(
        "Working in {} (the files stay there for you to explore).",
        dir.display()
    ))?;

    // 1. Write.
    s.say("")?;
    s.say(&format!("1. Writing an example audit log, {LOG}"))?;
    s.say("   An operator measures a signal on an oscilloscope, then an AI agent analyses")?;
    s.say("   the exported data. Each entry is chained to the one before it by SHA-256:")?;
    let log = Log::open(LOG, OpenOptions::new()).map_err(|e| Failure::lib(Path::new(LOG), e))?;
    for ev in events() {
        let h = log
            .append(&ev)
            .map_err(|e| Failure::lib(Path::new(LOG), e))?;
        s.say(&format!(
            "   {:>3}  {:<17} {:<15} {:<14} hash {}…",
            h.seq,
            ev.session_id,
            ev.event_type,
            ev.action,
            h.hash.to_hex().get(..16).unwrap_or_default()
        ))?;
    }
    let head = log.head();
    log.close().map_err(|e| Failure::lib(Path::new(LOG), e))?;
    s.say(&format!(
        "   {} entries written (plus a genesis record naming the algorithm and a random log id).",
        head.seq
    ))?;

    // 2. Verify.
    s.say("")?;
    s.say("2. Verifying it: every hash and every link of the chain is recomputed.")?;
    let (code, text) = capture(|o| check::verify(verify_args(LOG), o))?;
    s.show(&format!("evident verify {LOG}"), &text)?;
    if code != 0 {
        return Err(broken("the fresh log did not verify"));
    }

    // 3. Head.
    s.say("")?;
    s.say("3. Taking the head: the last entry's number and hash. Keep it somewhere else")?;
    s.say("   (a lab notebook, a database, another machine) to detect truncation later.")?;
    let (_, text) = capture(|o| {
        read::head(
            HeadArgs {
                log: LOG.into(),
                key: KeyArg { key_file: None },
                no_verify: false,
                json: false,
            },
            o,
        )
    })?;
    s.show(&format!("evident head {LOG}"), &text)?;
    let checkpoint = head_str(head.seq, head.hash);

    // 4. Edit an entry.
    s.say("")?;
    s.say(&format!(
        "4. Tampering: in a copy, {TAMPERED}, the measured amplitude in entry 3"
    ))?;
    s.say("   (line 4 of the file) is changed from 1.204 V to 1.5 V, as someone might")?;
    s.say("   \"correct\" a result with a text editor.")?;
    let text = fs::read_to_string(LOG).map_err(|e| Failure::at(Path::new(LOG), e))?;
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut edited = lines.clone();
    let target = edited
        .get_mut(3)
        .filter(|l| l.contains("\"value\":1.204"))
        .ok_or_else(|| broken("entry 3 is not on line 4"))?;
    *target = target.replacen("\"value\":1.204", "\"value\":1.5", 1);
    write_lines(TAMPERED, &edited, edited.len())?;
    let (code, text) = capture(|o| check::verify(verify_args(TAMPERED), o))?;
    s.show(&format!("evident verify {TAMPERED}"), &text)?;
    if code != 1 || !text.contains("hash_mismatch at entry seq 3, line 4") {
        return Err(broken("the edited entry was not caught"));
    }
    s.say("   Caught: kind hash_mismatch, entry seq 3, line 4. The edit is exposed even")?;
    s.say("   though the file is still perfectly valid JSON.")?;

    // 5. Delete the last entries.
    s.say("")?;
    s.say(&format!(
        "5. Deleting: a copy, {TRUNCATED}, lacks the last two entries. What is left"
    ))?;
    s.say("   is a valid chain, so verify alone cannot tell; the head from step 3 can:")?;
    write_lines(TRUNCATED, &lines, lines.len() - 2)?;
    let (code, text) = capture(|o| check::verify(verify_args(TRUNCATED), o))?;
    s.show(&format!("evident verify {TRUNCATED}"), &text)?;
    if code != 0 {
        return Err(broken("the truncated copy is not a valid chain"));
    }
    let mut args = verify_args(TRUNCATED);
    args.expect_head = Some(evident::ExpectedHead {
        seq: head.seq,
        hash: head.hash,
    });
    let (code, text) = capture(|o| check::verify(args, o))?;
    s.show(
        &format!("evident verify --expect-head {checkpoint} {TRUNCATED}"),
        &text,
    )?;
    if code != 1 || !text.contains("head_mismatch") {
        return Err(broken("the deleted entries were not caught"));
    }
    s.say("   Caught: kind head_mismatch. (With an HMAC key, --key-file, nobody without")?;
    s.say("   the key can rewrite the chain to hide an edit either.)")?;

    // 6. A crash mid-write.
    s.say("")?;
    s.say(&format!(
        "6. A crash: in {CRASHED} the power failed while an entry was being written,"
    ))?;
    s.say("   leaving half a line at the end. That is reported differently from tampering:")?;
    let mut crashed = text_of(&lines, lines.len());
    crashed.push_str(&format!(
        "{{\"v\":1,\"seq\":{},\"prev\":\"{}\",\"kind\":\"entry\",\"ts\":\"20",
        head.seq + 1,
        head.hash
    ));
    fs::write(CRASHED, crashed).map_err(|e| Failure::at(Path::new(CRASHED), e))?;
    let (code, text) = capture(|o| check::verify(verify_args(CRASHED), o))?;
    s.show(&format!("evident verify {CRASHED}"), &text)?;
    if code != 1 || !text.contains("torn tail") {
        return Err(broken("the torn tail was not reported"));
    }
    let (code, text) = capture(|o| {
        write::repair(
            RepairArgs {
                log: CRASHED.into(),
                key: KeyArg { key_file: None },
                force: false,
            },
            o,
        )
    })?;
    s.show(&format!("evident repair {CRASHED}"), &text)?;
    if code != 0 {
        return Err(broken("the torn tail was not repaired"));
    }
    s.say("   The incomplete bytes are kept in the sidecar file, never silently dropped;")?;
    s.say("   a writer opening the log does the same automatically.")?;

    // 7. Reading.
    s.say("")?;
    s.say("7. Reading: the last three entries of the original log.")?;
    let (_, text) = capture(|o| {
        read::tail(
            TailArgs {
                log: LOG.into(),
                more: Vec::new(),
                n: 3,
                filters: Filters::default(),
                json: false,
                follow: Default::default(),
            },
            o,
        )
    })?;
    s.show(&format!("evident tail -n 3 {LOG}"), &text)?;

    // 8. A session file.
    session_step(&mut s)?;

    s.say("")?;
    s.say("Try it yourself:")?;
    let p = dir.join(LOG);
    let p = p.display();
    for cmd in [
        format!("evident cat {p}"),
        format!("evident cat --session agent-run-7f3a --json {p}"),
        format!("evident stats {p}"),
        format!("evident verify {}", dir.join(TAMPERED).display()),
        format!("evident export --format csv {p}"),
        format!("evident append {p} --event-type ACTION_EXECUTED --action measure --details '{{\"value\": 2}}'"),
        format!("evident session info {}", dir.join(SESSION).display()),
        format!("evident session export --format csv --out . {}", dir.join(SESSION).display()),
    ] {
        s.say(&format!("   {cmd}"))?;
    }
    s.say("(Without `evident` on your PATH: `cargo install --path .` in the evident")?;
    s.say(" repository, or `cargo run --release --bin evident -- <command>`.)")?;
    Ok(0)
}

/// Step 8: the analysis session saved twice into a session file, each save
/// recorded in the audit log, then loaded after a crash cut the second save.
fn session_step(s: &mut Shown<'_>) -> Result<(), Failure> {
    use evident::session::{
        Annotation, LoadOptions, Measurement, SaveOptions, Session, Trace, TraceInfo,
    };
    fn lib(p: &'static str) -> impl Fn(evident::Error) -> Failure {
        move |e| Failure::lib(Path::new(p), e)
    }
    s.say("")?;
    s.say(&format!(
        "8. Saving the analysis itself in a session file, {SESSION}: a captured trace,"
    ))?;
    s.say("   an annotation and a measurement. Each save appends only what changed plus a")?;
    s.say("   commit record, and is recorded in the audit log with the commit's hash:")?;
    let mut sess = Session::new("Scope capture, rail 5V");
    let wave: Vec<f64> = (0..200_000)
        .map(|i| 1.204 * (i as f64 * std::f64::consts::TAU * 1e3 / 1e6).sin())
        .collect();
    let mut info = TraceInfo::with_rate(1e6);
    info.units = "V".into();
    let trace = Trace::from_slice(&wave, info).map_err(lib(SESSION))?;
    sess.add_trace("CH1", trace).map_err(lib(SESSION))?;
    sess.annotate("events", Annotation::new("glitch").at(1.5e-3))
        .map_err(lib(SESSION))?;
    let mut m = Measurement::new("amplitude", 1.204, "V");
    m.trace_name = Some("CH1".into());
    sess.record_measurement(m).map_err(lib(SESSION))?;
    let log = Log::open(LOG, OpenOptions::new()).map_err(lib(LOG))?;
    let opts = SaveOptions::default().audit(&log);
    let v1 = sess
        .save(Some(Path::new(SESSION)), &opts)
        .map_err(lib(SESSION))?;
    sess.annotate("events", Annotation::new("ringing").over(2e-3, 2.4e-3))
        .map_err(lib(SESSION))?;
    let v2 = sess.save(None, &opts).map_err(lib(SESSION))?;
    log.close().map_err(lib(LOG))?;
    for v in [&v1, &v2] {
        s.say(&format!(
            "   version {}: {:>7} bytes appended ({} of samples), commit {}…",
            v.version,
            v.bytes_written,
            v.sample_bytes_written,
            v.commit.to_hex().get(..16).unwrap_or_default()
        ))?;
    }
    if v2.traces_reused != 1 || v2.sample_bytes_written != 0 {
        return Err(broken("the second save rewrote the unchanged trace"));
    }
    let (_, text) = capture(|o| {
        crate::session::list_versions(
            crate::session::VersionsArgs {
                file: SESSION.into(),
                key: KeyArg { key_file: None },
                json: false,
            },
            o,
        )
    })?;
    s.show(&format!("evident session versions {SESSION}"), &text)?;
    let full = fs::read(SESSION).map_err(|e| Failure::at(Path::new(SESSION), e))?;
    let cut = full
        .get(..full.len().saturating_sub(40))
        .unwrap_or_default();
    fs::write(SESSION_CRASHED, cut).map_err(|e| Failure::at(Path::new(SESSION_CRASHED), e))?;
    let back =
        Session::load(SESSION_CRASHED, &LoadOptions::default()).map_err(lib(SESSION_CRASHED))?;
    if back.version() != Some(1) {
        return Err(broken(
            "the crashed session did not load its previous version",
        ));
    }
    s.say(&format!(
        "   {SESSION_CRASHED} lost the end of the second save in a crash: loading it"
    ))?;
    s.say(&format!(
        "   gives version {} intact ({} annotation, trace CH1 read from the file without",
        back.version().unwrap_or(0),
        back.annotations(None, None).len()
    ))?;
    s.say("   copying). The audit log's SESSION_SAVED entries prove which version existed when.")?;
    Ok(())
}

fn text_of(lines: &[String], n: usize) -> String {
    let mut t = String::new();
    for l in lines.iter().take(n) {
        t.push_str(l);
        t.push('\n');
    }
    t
}

fn write_lines(name: &str, lines: &[String], n: usize) -> Result<(), Failure> {
    fs::write(name, text_of(lines, n)).map_err(|e| Failure::at(Path::new(name), e))
}
