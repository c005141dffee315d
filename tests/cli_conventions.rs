//! The command-line conventions users expect: `tail -f` / `follow`,
//! relative times, several files and `-` for stdin, `--color`, JSON error
//! objects, shell completions and a man page, and Python reproduction
//! scripts.
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::Command;
use chrono::{DateTime, TimeDelta, Utc};
use evident::{Durability, Event, Log, OpenOptions};
use predicates::prelude::*;
use serde_json::{json, Value};
use tempfile::tempdir;

fn evident() -> Command {
    Command::cargo_bin("evident").unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Appends entries with actions `names` (at `ts` when given) to `path`.
fn append(path: &Path, names: &[&str], ts: Option<DateTime<Utc>>) {
    let log = Log::open(path, OpenOptions::new().durability(Durability::Buffered)).unwrap();
    for n in names {
        let mut e = Event::new("ACTION_EXECUTED", *n).source("scope");
        e.ts = ts;
        log.append(&e).unwrap();
    }
    log.close().unwrap();
}

fn stdout_json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

// --- relative times -----------------------------------------------------------

#[test]
fn since_and_until_take_relative_times_and_day_names() {
    let d = tempdir().unwrap();
    let log = d.path().join("a.jsonl");
    let now = Utc::now();
    let today = now.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    // Entries written in time order (the chain does not care, the test
    // reads by filter).
    append(&log, &["two_days"], Some(today - TimeDelta::days(2)));
    append(&log, &["yesterday"], Some(today - TimeDelta::hours(12)));
    append(&log, &["three_hours"], Some(now - TimeDelta::hours(3)));
    append(&log, &["ninety_min"], Some(now - TimeDelta::minutes(90)));
    append(&log, &["ten_min"], Some(now - TimeDelta::minutes(10)));
    let actions = |args: &[&str]| -> Vec<String> {
        let mut c = evident();
        c.args(["cat", s(&log), "--json"]).args(args);
        let out = c.assert().success().get_output().stdout.clone();
        stdout_json_lines(&out)
            .iter()
            .map(|v| v["action"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(actions(&["--since", "1h"]), ["ten_min"]);
    assert_eq!(actions(&["--since", "30m"]), ["ten_min"]);
    assert_eq!(
        actions(&["--since", "2h", "--until", "30m"]),
        ["ninety_min"]
    );
    assert_eq!(
        actions(&["--since", "1h 45m", "--until", "1h"]),
        ["ninety_min"]
    );
    assert_eq!(actions(&["--until", "3d"]), Vec::<String>::new());
    assert_eq!(actions(&["--until", "2d"]), ["two_days"]);
    assert_eq!(
        actions(&["--since", "3d", "--until", "yesterday"]),
        ["two_days"]
    );
    // Which entries fall on which UTC day depends on the time of day the
    // test runs (shortly after midnight, "3 hours ago" is yesterday).
    let times = [
        ("yesterday", today - TimeDelta::hours(12)),
        ("three_hours", now - TimeDelta::hours(3)),
        ("ninety_min", now - TimeDelta::minutes(90)),
        ("ten_min", now - TimeDelta::minutes(10)),
    ];
    let on = |from: chrono::DateTime<Utc>, to: chrono::DateTime<Utc>| -> Vec<String> {
        times
            .iter()
            .filter(|(_, t)| *t >= from && *t < to)
            .map(|(a, _)| a.to_string())
            .collect()
    };
    let y = actions(&["--since", "yesterday", "--until", "today"]);
    assert_eq!(y, on(today - TimeDelta::days(1), today));
    assert!(y.contains(&"yesterday".to_string()));
    let t = actions(&["--since", "today"]);
    assert_eq!(t, on(today, now + TimeDelta::days(1)));
    assert!(!t.contains(&"yesterday".to_string()));
    // absolute times still work
    let rfc = (now - TimeDelta::minutes(20)).to_rfc3339();
    assert_eq!(actions(&["--since", &rfc]), ["ten_min"]);
    // stats and tail take them too
    evident()
        .args(["stats", s(&log), "--json", "--since", "1h"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"entries\": 1"));
    // nonsense: exit 2, naming what is accepted
    evident()
        .args(["cat", s(&log), "--since", "5 parsecs"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("1h").and(predicate::str::contains("yesterday")));
}

// --- completions and man page ---------------------------------------------------

#[test]
fn shell_completions_and_man_page() {
    for (shell, marker) in [
        ("bash", "_evident()"),
        ("zsh", "#compdef evident"),
        ("fish", "complete -c evident"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        evident()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains(marker).and(predicate::str::contains("verify")));
    }
    evident().args(["completions", "tcsh"]).assert().code(2);
    evident().arg("man").assert().success().stdout(
        predicate::str::starts_with(".ie")
            .or(predicate::str::contains(".TH evident"))
            .and(predicate::str::contains(".TH evident"))
            .and(predicate::str::contains("verify")),
    );
    let d = tempdir().unwrap();
    evident()
        .args(["man", "--dir", s(d.path())])
        .assert()
        .success()
        .stdout(predicate::str::contains("evident-verify.1"));
    let page = fs::read_to_string(d.path().join("evident-verify.1")).unwrap();
    assert!(page.contains("expect\\-head"), "{page}");
    assert!(d.path().join("evident.1").exists());
}

// --- color ------------------------------------------------------------------------

#[test]
fn color_auto_always_never_and_no_color() {
    let d = tempdir().unwrap();
    let log = d.path().join("a.jsonl");
    let l = Log::open(&log, OpenOptions::new()).unwrap();
    let mut e = Event::new("ACTION_EXECUTED", "x");
    e.success = Some(false);
    l.append(&e).unwrap();
    l.close().unwrap();
    let out = |args: &[&str], no_color: bool| -> String {
        let mut c = evident();
        c.args(args);
        if no_color {
            c.env("NO_COLOR", "1");
        } else {
            c.env_remove("NO_COLOR");
        }
        c.env_remove("CLICOLOR_FORCE");
        let o = c.assert().success().get_output().stdout.clone();
        String::from_utf8(o).unwrap()
    };
    let plain = out(&["cat", s(&log)], false);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(plain.contains("FAILED"));
    let always = out(&["cat", s(&log), "--color", "always"], false);
    assert!(always.contains("\x1b["), "{always:?}");
    // the same text once the styles are removed
    let stripped = regex_free_strip(&always);
    assert_eq!(stripped, plain);
    // global option, before the subcommand
    assert!(out(&["--color", "always", "cat", s(&log)], false).contains("\x1b["));
    assert_eq!(out(&["cat", s(&log), "--color", "never"], false), plain);
    assert_eq!(out(&["cat", s(&log), "--color", "auto"], true), plain);
    // --color always wins over NO_COLOR (an explicit request)
    assert!(out(&["cat", s(&log), "--color", "always"], true).contains("\x1b["));
    // verify's verdict
    let v = out(&["verify", s(&log), "--color", "always"], false);
    assert!(v.contains("\x1b["), "{v:?}");
    evident()
        .args(["cat", s(&log), "--color", "sometimes"])
        .assert()
        .code(2);
}

/// Removes ANSI SGR sequences (`ESC [ ... m`).
fn regex_free_strip(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\x1b' && it.peek() == Some(&'[') {
            for c in it.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

// --- JSON errors ---------------------------------------------------------------------

fn stderr_json(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

#[test]
fn json_errors_on_stderr_keep_the_exit_codes() {
    let d = tempdir().unwrap();
    let missing = d.path().join("missing.jsonl");
    let o = evident()
        .args(["cat", s(&missing), "--json"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let errs = stderr_json(&o);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let e = &errs[0]["error"];
    assert_eq!(e["kind"], "io");
    assert_eq!(e["path"], s(&missing));
    assert!(e["message"].as_str().unwrap().contains("missing.jsonl"));
    assert!(e["seq"].is_null());

    // a damaged record: one object per damaged record, with its seq, exit 1
    let log = d.path().join("a.jsonl");
    append(&log, &["a", "b", "c"], None);
    let text = fs::read_to_string(&log).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[2] = lines[2].replace("\"action\":\"b\"", "\"action\":\"b\",\"x\":");
    fs::write(&log, lines.join("\n") + "\n").unwrap();
    let o = evident()
        .args(["cat", s(&log), "--json"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let errs = stderr_json(&o);
    assert!(!errs.is_empty());
    assert_eq!(errs[0]["error"]["kind"], "malformed", "{errs:?}");
    assert_eq!(errs[0]["error"]["path"], s(&log));
    assert_eq!(stdout_json_lines(&o.stdout).len(), 2);
    // the same without --json: plain lines, unchanged
    evident()
        .args(["cat", s(&log)])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("evident: "));

    // a usage error under --json
    let o = evident()
        .args(["stats", s(&log), "--json", "--bogus"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let errs = stderr_json(&o);
    assert_eq!(errs[0]["error"]["kind"], "usage", "{errs:?}");
    assert!(errs[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("--bogus"));

    // a log that is not a log, under verify --json
    let junk = d.path().join("junk.jsonl");
    fs::write(&junk, "hello\n").unwrap();
    let o = evident()
        .args(["verify", s(&junk), "--json"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let errs = stderr_json(&o);
    assert_eq!(errs[0]["error"]["path"], s(&junk), "{errs:?}");
    assert!(errs[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not an evident log"));
}

// --- several files and stdin ------------------------------------------------------------

/// `-` was copied into a named file in the temporary directory without
/// bound: `verify - < /dev/zero` filled the disk, and a run killed (Ctrl-C)
/// while copying left a copy of the input behind. Input that cannot start
/// a log is now not copied beyond its first bytes, and on Linux the copy
/// has no name.
#[cfg(unix)]
#[test]
fn standard_input_is_not_copied_without_bound_or_left_behind() {
    let d = tempdir().unwrap();
    let tmp = d.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    // /dev/zero: refused at once as not a log (was: copied until the disk filled)
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("evident"))
        .args(["verify", "-"])
        .env("TMPDIR", &tmp)
        .stdin(fs::File::open("/dev/zero").unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let mut stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        let mut e = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut e).unwrap();
        tx.send(e).unwrap();
    });
    let Ok(err) = rx.recv_timeout(Duration::from_secs(20)) else {
        child.kill().unwrap();
        panic!("`verify - < /dev/zero` still copying after 20 s");
    };
    assert_eq!(child.wait().unwrap().code(), Some(2));
    assert!(
        err.contains("<stdin>") && err.contains("not an evident log"),
        "{err}"
    );
    // Killed while copying a log-looking input: nothing is left (Linux: the
    // copy has no name; elsewhere it is removed when the command ends).
    if cfg!(target_os = "linux") {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("evident"))
            .args(["verify", "-"])
            .env("TMPDIR", &tmp)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(&vec![b'{'; 1 << 20]).unwrap();
        input.flush().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        child.kill().unwrap();
        child.wait().unwrap();
        drop(input);
    }
    // At most a dangling symbolic link (the name the copy was read by),
    // never a file holding the input.
    let left: Vec<_> = fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            !fs::read_link(p).is_ok_and(|t| t.to_string_lossy().starts_with("/proc/self/fd/"))
        })
        .collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}

/// The copy of `-` is shown as `<stdin>`: only its own (random) name is
/// replaced, never text in the entries (a fixed name such as
/// `/proc/self/fd/3` would have been replaced in an entry that holds it).
#[test]
fn entries_read_from_standard_input_are_printed_as_stored() {
    let d = tempdir().unwrap();
    let a = d.path().join("a.jsonl");
    let log = Log::open(&a, OpenOptions::new().durability(Durability::Buffered)).unwrap();
    for fd in 0..12 {
        let cmd = format!("cat /proc/self/fd/{fd} > out; ls /dev/fd/{fd}");
        log.append(&Event::new("RUN", cmd)).unwrap();
    }
    log.close().unwrap();
    let by_name = evident()
        .args(["cat", s(&a), "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let by_stdin = evident()
        .args(["cat", "-", "--json"])
        .write_stdin(fs::read(&a).unwrap())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(by_stdin).unwrap(),
        String::from_utf8(by_name).unwrap()
    );
}

#[test]
fn several_files_and_stdin() {
    let d = tempdir().unwrap();
    let a = d.path().join("a.jsonl");
    let b = d.path().join("b.evl");
    append(&a, &["a1", "a2"], None);
    append(&b, &["b1"], None);
    let o = evident()
        .args(["cat", s(&a), s(&b), "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let acts: Vec<_> = stdout_json_lines(&o)
        .iter()
        .map(|v| v["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(acts, ["a1", "a2", "b1"]);

    // stdin, JSONL and binary
    for (p, n) in [(&a, 2), (&b, 1)] {
        let o = evident()
            .args(["cat", "-", "--json"])
            .write_stdin(fs::read(p).unwrap())
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert_eq!(stdout_json_lines(&o).len(), n);
    }
    let o = evident()
        .args(["stats", "-", "--json"])
        .write_stdin(fs::read(&a).unwrap())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&o).unwrap();
    assert_eq!(v["entries"], 2);
    evident()
        .args(["verify", "-"])
        .write_stdin(fs::read(&a).unwrap())
        .assert()
        .success()
        .stdout(predicate::str::contains("<stdin>"));

    // verify several: every file is checked; the exit code is the worst
    let bad = d.path().join("bad.jsonl");
    append(&bad, &["x", "y"], None);
    let t = fs::read_to_string(&bad).unwrap().replace("\"x\"", "\"z\"");
    fs::write(&bad, t).unwrap();
    evident()
        .args(["verify", s(&a), s(&bad), s(&b)])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains(s(&a))
                .and(predicate::str::contains(s(&bad)))
                .and(predicate::str::contains(s(&b))),
        );
    // a missing file among others: reported, the others still read, exit 2
    let missing = d.path().join("missing.jsonl");
    let o = evident()
        .args(["cat", s(&missing), s(&a), "--json"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert_eq!(stdout_json_lines(&o.stdout).len(), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.jsonl"));
    // empty stdin is not a log
    evident()
        .args(["cat", "-"])
        .write_stdin(Vec::new())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("<stdin>"));
}

// --- follow ------------------------------------------------------------------------------

/// A running `evident` whose stdout lines arrive on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("evident"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Running { child, lines: rx }
    }

    /// The next `n` lines (fails after 20 s without one).
    fn take(&self, n: usize) -> Vec<Value> {
        (0..n)
            .map(|_| {
                let l = self
                    .lines
                    .recv_timeout(Duration::from_secs(20))
                    .expect("a line from evident follow");
                serde_json::from_str(&l).unwrap()
            })
            .collect()
    }

    /// The next `n` lines as they are (fails after 20 s without one).
    fn take_lines(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                self.lines
                    .recv_timeout(Duration::from_secs(20))
                    .expect("a line from evident follow")
            })
            .collect()
    }

    /// No line within `ms`.
    fn quiet(&self, ms: u64) {
        if let Ok(l) = self.lines.recv_timeout(Duration::from_millis(ms)) {
            panic!("unexpected line {l}");
        }
    }
}

/// Waits (up to 20 s) until the position file `pos` holds JSON for which
/// `done` holds: `follow` saves it just after printing, and a loaded
/// machine may run it later than the test reads the line. (On Windows
/// this reading could make `follow`'s save fail, and `follow` stop: see
/// `follow_keeps_going_while_its_position_file_is_open`.)
fn wait_saved(pos: &Path, done: impl Fn(&Value) -> bool) {
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        let saved = fs::read_to_string(pos).ok();
        if saved
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .is_some_and(|v| done(&v))
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `evident follow LOG --json --interval 0.05 --position-file POS`.
fn follow_saving(log: &Path, pos: &Path) -> Running {
    Running::start(&[
        "follow",
        s(log),
        "--json",
        "--interval",
        "0.05",
        "--position-file",
        s(pos),
    ])
}

/// The JSON in the position file `pos`.
fn read_saved(pos: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(pos).unwrap()).unwrap()
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn actions(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn tail_f_follows_growth_rotation_and_repair() {
    let d = tempdir().unwrap();
    let log = d.path().join("a.jsonl");
    append(&log, &["a1", "a2", "a3"], None);
    let r = Running::start(&[
        "tail",
        "-f",
        "-n",
        "1",
        s(&log),
        "--json",
        "--interval",
        "0.05",
    ]);
    assert_eq!(actions(&r.take(1)), ["a3"]);
    append(&log, &["a4", "a5"], None);
    assert_eq!(actions(&r.take(2)), ["a4", "a5"]);

    // a torn tail moved aside by repair (the file is truncated), then more
    // entries: nothing printed twice, nothing lost
    let mut f = fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"{\"v\":1,\"seq\":6,\"ts\":\"2026").unwrap();
    drop(f);
    r.quiet(300);
    evident().args(["repair", s(&log)]).assert().success();
    append(&log, &["a6"], None);
    let e = r.take(1);
    assert_eq!(actions(&e), ["a6"]);
    assert_eq!(e[0]["seq"], 6);

    // rotation: the file is renamed and a new log takes its name
    fs::rename(&log, d.path().join("a.jsonl.1")).unwrap();
    r.quiet(200);
    append(&log, &["b1", "b2"], None);
    let e = r.take(2);
    assert_eq!(actions(&e), ["b1", "b2"]);
    assert_eq!(e[0]["seq"], 1);
    append(&log, &["b3"], None);
    assert_eq!(actions(&r.take(1)), ["b3"]);
    r.quiet(200);
}

#[test]
fn follow_prints_entries_that_take_the_seqs_of_printed_entries_moved_aside() {
    let d = tempdir().unwrap();
    let log = d.path().join("a.jsonl");
    append(&log, &["a1", "a2", "a3"], None);
    let r = Running::start(&["follow", s(&log), "--json", "--interval", "0.05"]);
    assert_eq!(actions(&r.take(3)), ["a1", "a2", "a3"]);
    // the printed last entry is damaged, then moved aside by repair --force
    let t = fs::read_to_string(&log)
        .unwrap()
        .replace("\"a3\"", "\"a3-changed\"");
    fs::write(&log, t).unwrap();
    r.quiet(300);
    evident()
        .args(["repair", "--force", s(&log)])
        .assert()
        .success();
    assert!(
        fs::read_dir(d.path()).unwrap().count() > 1,
        "a sidecar file"
    );
    append(&log, &["n3"], None);
    let e = r.take(1);
    assert_eq!(actions(&e), ["n3"]);
    assert_eq!(e[0]["seq"], 3);
    r.quiet(200);
}

/// The same, with the file cut back and written again to the same size
/// between two checks (nothing to see in its size).
#[test]
fn follow_notices_a_rewrite_to_the_same_size_between_two_checks() {
    let d = tempdir().unwrap();
    let log = d.path().join("a.jsonl");
    append(&log, &["a1", "a2", "a3"], None);
    let r = Running::start(&["follow", s(&log), "--json", "--interval", "1.5"]);
    assert_eq!(actions(&r.take(3)), ["a1", "a2", "a3"]);
    let t = fs::read_to_string(&log)
        .unwrap()
        .replace("\"a3\"", "\"zz\"");
    fs::write(&log, t).unwrap();
    evident()
        .args(["repair", "--force", s(&log)])
        .assert()
        .success();
    append(&log, &["n3"], None);
    let e = r.take(1);
    assert_eq!(actions(&e), ["n3"]);
    assert_eq!(e[0]["seq"], 3);
    r.quiet(2000);
}

#[test]
fn follow_resumes_from_a_position_file_and_from_seq() {
    let d = tempdir().unwrap();
    let log = d.path().join("a.evl");
    let pos = d.path().join("a.pos");
    append(&log, &["e1", "e2", "e3"], None);
    {
        let r = follow_saving(&log, &pos);
        assert_eq!(actions(&r.take(3)), ["e1", "e2", "e3"]);
        append(&log, &["e4"], None);
        assert_eq!(actions(&r.take(1)), ["e4"]);
        // the position is saved once the line is out
        wait_saved(&pos, |v| v["seq"] == 4);
    }
    let saved = read_saved(&pos);
    assert_eq!(saved["seq"], 4, "{saved}");
    // written while nobody followed: printed after a restart, once
    append(&log, &["e5", "e6"], None);
    {
        let r = follow_saving(&log, &pos);
        assert_eq!(actions(&r.take(2)), ["e5", "e6"]);
        r.quiet(300);
    }
    let r = Running::start(&[
        "follow",
        s(&log),
        "--json",
        "--from-seq",
        "5",
        "--interval",
        "0.05",
    ]);
    assert_eq!(actions(&r.take(2)), ["e5", "e6"]);
    r.quiet(200);
    drop(r);
    // a position file of another log (a rotation while nobody followed):
    // the new log is followed from its first entry, and the file updated
    let other = d.path().join("b.jsonl");
    append(&other, &["x"], None);
    let r = follow_saving(&other, &pos);
    assert_eq!(actions(&r.take(1)), ["x"]);
    wait_saved(&pos, |v| v["seq"] == 1);
    drop(r);
    let saved = read_saved(&pos);
    assert_eq!(saved["seq"], 1, "{saved}");
    // the follow options need -f
    evident()
        .args(["tail", s(&other), "--from-seq", "1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("-f"));
}

/// Another process reading the position file (a monitoring script, or a
/// backup) holds it open while `follow` saves a new position. On Windows a
/// file that is open cannot be replaced by a rename (Wine refuses it
/// whatever the sharing mode; Windows unless the reader allowed deletion):
/// `follow` stopped with "rename: access denied". It must keep following
/// and save the position once the reader lets go.
#[test]
fn follow_keeps_going_while_its_position_file_is_open() {
    let d = tempdir().unwrap();
    let log = d.path().join("a.evl");
    let pos = d.path().join("a.pos");
    append(&log, &["e1"], None);
    let r = follow_saving(&log, &pos);
    assert_eq!(actions(&r.take(1)), ["e1"]);
    wait_saved(&pos, |v| v["seq"] == 1);
    for (i, held_ms) in [(2, 300u64), (3, 50), (4, 600)] {
        let reader = fs::File::open(&pos).unwrap();
        append(&log, &[&format!("e{i}")], None);
        assert_eq!(actions(&r.take(1)), [format!("e{i}")]);
        std::thread::sleep(Duration::from_millis(held_ms));
        drop(reader);
        wait_saved(&pos, |v| v["seq"] == i);
    }
    // still following
    append(&log, &["e5"], None);
    assert_eq!(actions(&r.take(1)), ["e5"]);
    wait_saved(&pos, |v| v["seq"] == 5);
    drop(r);
    let saved = read_saved(&pos);
    assert_eq!(saved["seq"], 5, "{saved}");
    #[cfg(windows)]
    {
        // not left marked as a temporary file (FILE_ATTRIBUTE_TEMPORARY)
        use std::os::windows::fs::MetadataExt;
        assert_eq!(fs::metadata(&pos).unwrap().file_attributes() & 0x100, 0);
    }
    let left: Vec<_> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".evident-position-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

fn files(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|e| e["file"].as_str().unwrap().to_string())
        .collect()
}

/// `evident follow a b` / `tail -f a b`: entries of both files as they
/// arrive, each labelled with its file; a writer rotating one of them
/// (the file renamed, a new log under its name) is followed on.
#[test]
fn follow_several_logs_labels_entries_and_survives_a_rotation() {
    let d = tempdir().unwrap();
    let a = d.path().join("a.jsonl");
    let b = d.path().join("b.evl");
    append(&a, &["a1", "a2"], None);
    append(&b, &["b1"], None);
    let r = Running::start(&[
        "follow",
        s(&a),
        s(&b),
        "-n",
        "1",
        "--json",
        "--interval",
        "0.05",
    ]);
    let e = r.take(2);
    assert_eq!(actions(&e), ["a2", "b1"]);
    assert_eq!(files(&e), [s(&a), s(&b)]);
    // the object is the entry with its file first
    assert_eq!(e[0]["seq"], 2);
    assert_eq!(e[0]["event_type"], "ACTION_EXECUTED");
    // by arrival, whichever file grows
    append(&b, &["b2"], None);
    let e = r.take(1);
    assert_eq!(
        (actions(&e), files(&e)),
        (vec!["b2".into()], vec![s(&b).to_string()])
    );
    append(&a, &["a3"], None);
    let e = r.take(1);
    assert_eq!(
        (actions(&e), files(&e)),
        (vec!["a3".into()], vec![s(&a).to_string()])
    );
    // the writer of b rotates it: renamed away, a new log takes its name
    fs::rename(&b, d.path().join("b.evl.1")).unwrap();
    r.quiet(200);
    append(&b, &["c1", "c2"], None);
    let e = r.take(2);
    assert_eq!(actions(&e), ["c1", "c2"]);
    assert_eq!(files(&e), [s(&b), s(&b)]);
    assert_eq!(e[0]["seq"], 1);
    // and a goes on
    append(&a, &["a4"], None);
    let e = r.take(1);
    assert_eq!(
        (actions(&e), files(&e)),
        (vec!["a4".into()], vec![s(&a).to_string()])
    );
    r.quiet(200);
    drop(r);

    // tail -f, text: every line starts with its file's name
    let r = Running::start(&["tail", "-f", "-n", "1", s(&a), s(&b), "--interval", "0.05"]);
    let l = r.take_lines(2);
    assert!(
        l[0].starts_with(&format!("{}: ", s(&a))) && l[0].contains("a4"),
        "{l:?}"
    );
    assert!(
        l[1].starts_with(&format!("{}: ", s(&b))) && l[1].contains("c2"),
        "{l:?}"
    );
    append(&b, &["c3"], None);
    let l = r.take_lines(1);
    assert!(
        l[0].starts_with(&format!("{}: ", s(&b))) && l[0].contains("c3"),
        "{l:?}"
    );
    drop(r);

    // a position file keeps one position per log
    let pos = d.path().join("ab.pos");
    let args = [
        "follow",
        s(&a),
        s(&b),
        "--json",
        "--interval",
        "0.05",
        "--position-file",
        s(&pos),
    ];
    {
        let r = Running::start(&args);
        assert_eq!(r.take(7).len(), 7, "a1..a4 and c1..c3");
        wait_saved(&pos, |v| {
            v.as_array()
                .is_some_and(|a| a.len() == 2 && a[1]["seq"] == 3)
        });
    }
    let saved = read_saved(&pos);
    let saved = saved.as_array().unwrap_or_else(|| panic!("{saved}"));
    assert_eq!(saved.len(), 2, "{saved:?}");
    assert_eq!(
        (saved[0]["log"].as_str(), saved[0]["seq"].as_u64()),
        (Some(s(&a)), Some(4))
    );
    assert_eq!(
        (saved[1]["log"].as_str(), saved[1]["seq"].as_u64()),
        (Some(s(&b)), Some(3))
    );
    // written while nobody followed: printed after a restart, once
    append(&b, &["c4"], None);
    append(&a, &["a5"], None);
    {
        let r = Running::start(&args);
        let e = r.take(2);
        assert_eq!(actions(&e), ["a5", "c4"]);
        assert_eq!(files(&e), [s(&a), s(&b)]);
        r.quiet(300);
    }
    // --from-seq names one log's seq
    evident()
        .args(["follow", s(&a), s(&b), "--from-seq", "2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--from-seq"));
}

/// `evident export a b`: one output, the logs in turn, each entry with its
/// file (a `file` member, a first CSV column); one log's export unchanged.
#[test]
fn export_of_several_logs_names_each_entrys_file() {
    let d = tempdir().unwrap();
    let a = d.path().join("a.jsonl");
    let b = d.path().join("b.evl");
    append(&a, &["a1", "a2"], None);
    append(&b, &["b1"], None);
    let run = |args: &[&str]| -> Vec<u8> {
        evident()
            .arg("export")
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    let e = stdout_json_lines(&run(&[s(&a), s(&b), "--format", "jsonl"]));
    assert_eq!(actions(&e), ["a1", "a2", "b1"]);
    assert_eq!(files(&e), [s(&a), s(&a), s(&b)]);
    assert_eq!(e[2]["seq"], 1);
    // one log: no file member (as before)
    let e = stdout_json_lines(&run(&[s(&a), "--format", "jsonl"]));
    assert!(e.iter().all(|e| e.get("file").is_none()), "{e:?}");
    // a JSON array, with a filter, to a file
    let outf = d.path().join("out.json");
    run(&[
        s(&a),
        s(&b),
        "--format",
        "json",
        "--action",
        "a2",
        "-o",
        s(&outf),
    ]);
    let v: Value = serde_json::from_slice(&fs::read(&outf).unwrap()).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(
        (v[0]["file"].as_str(), v[0]["action"].as_str()),
        (Some(s(&a)), Some("a2"))
    );
    // CSV: a first `file` column
    let text = String::from_utf8(run(&[s(&a), s(&b), "--format", "csv"])).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("file,seq,ts,"), "{text}");
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[3].starts_with(&format!("{},1,", s(&b))), "{text}");
    // standard input among them is <stdin>
    let o = evident()
        .args(["export", s(&a), "-", "--format", "jsonl"])
        .write_stdin(fs::read(&b).unwrap())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(files(&stdout_json_lines(&o)), [s(&a), s(&a), "<stdin>"]);
    // the TraceKit formats are one chain: one log
    let key = d.path().join("tk.key");
    fs::write(&key, "00112233445566778899aabbccddeeff").unwrap();
    evident()
        .args([
            "export",
            s(&a),
            s(&b),
            "--format",
            "tracekit-json",
            "--tracekit-key",
            s(&key),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("one log"));
    // a damaged record in the second log stops the export: exit 1, no file
    let c = d.path().join("c.jsonl");
    append(&c, &["c1", "c2"], None);
    // not JSON any more: a damaged record (export does not check hashes)
    let text = fs::read_to_string(&c).unwrap().replace("\"c1\"", "c1\"");
    fs::write(&c, text).unwrap();
    let outf = d.path().join("out.jsonl");
    evident()
        .args(["export", s(&a), s(&c), "--format", "jsonl", "-o", s(&outf)])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("c.jsonl"));
    assert!(!outf.exists());
}

// --- reproduce --format python ----------------------------------------------------------

fn python() -> Option<PathBuf> {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| PathBuf::from("python3"))
}

#[test]
fn reproduce_python_script_replays_the_recorded_calls() {
    let d = tempdir().unwrap();
    let log = d.path().join("audit.jsonl");
    let l = Log::open(&log, OpenOptions::new()).unwrap();
    let ops = [
        ("load_trace", json!({"path": "signal.wfm"}), true),
        (
            "measure_frequency",
            json!({"parameters": {"trace": "CH1", "min hz": 1e3}}),
            true,
        ),
        (
            "apply_filter",
            json!({"parameters": {"cutoff": 1e9}}),
            false,
        ),
        ("__import__('os').system('false')", json!({}), true),
        (
            "export",
            json!({"parameters": {"to": "a \"b\"\n$HOME", "ok": true, "n": null}}),
            true,
        ),
    ];
    for (op, details, ok) in ops {
        let mut e = Event::new("tool_operation", op).details(details);
        e.success = Some(ok);
        e.error = (!ok).then(|| "Cutoff frequency too high".to_string());
        l.append(&e).unwrap();
    }
    l.close().unwrap();
    let script = d.path().join("replay.py");
    evident()
        .args([
            "reproduce",
            s(&log),
            "--format",
            "python",
            "--module",
            "fakelab",
            "--alias",
            "fl",
            "-o",
            s(&script),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("5 operation(s)"));
    let text = fs::read_to_string(&script).unwrap();
    assert!(
        text.starts_with("#!/usr/bin/env python3\n\"\"\"TraceKit analysis script.\n"),
        "{text}"
    );
    assert!(text.contains("\nimport fakelab as fl\n"), "{text}");
    assert!(
        text.contains("# FAILED: fl.apply_filter(cutoff=1000000000.0): Cutoff frequency too high"),
        "{text}"
    );
    // the default module: TraceKit, or evident's compatible module
    evident()
        .args(["reproduce", s(&log), "--format", "python", "-o", s(&script)])
        .assert()
        .success();
    let text_tk = fs::read_to_string(&script).unwrap();
    assert!(text_tk.contains("    import tracekit as tk\nexcept ImportError:\n    import evident.compat.tracekit as tk\n"));
    assert!(
        text_tk.contains("\ntk.load_trace(path=\"signal.wfm\")\n"),
        "{text_tk}"
    );
    // bash-only options are refused for python
    evident()
        .args([
            "reproduce",
            s(&log),
            "--format",
            "python",
            "--program",
            "rtgs",
            "-o",
            s(&script),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bash"));

    // run it against a module that prints each call
    let Some(py) = python() else {
        eprintln!("python3 not found; the script was not run");
        return;
    };
    fs::write(&script, &text).unwrap();
    fs::write(
        d.path().join("fakelab.py"),
        "import json\n\ndef __getattr__(name):\n    def call(**kw):\n        print(json.dumps([name, kw], sort_keys=True))\n    return call\n",
    )
    .unwrap();
    let o = std::process::Command::new(py)
        .arg(&script)
        .env("PYTHONPATH", d.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let calls: Vec<Value> = stdout_json_lines(&o.stdout);
    assert_eq!(
        calls,
        [
            json!(["load_trace", {"path": "signal.wfm"}]),
            json!(["measure_frequency", {"trace": "CH1", "min hz": 1000.0}]),
            json!(["export", {"to": "a \"b\"\n$HOME", "ok": true, "n": null}]),
        ]
    );
}

#[test]
fn tail_export_and_json_arrays_of_several_logs() {
    let d = tempdir().unwrap();
    let a = d.path().join("a.jsonl");
    let b = d.path().join("b.evl");
    append(&a, &["a1", "a2", "a3"], None);
    append(&b, &["b1", "b2"], None);
    // tail of several logs: each log's last N in turn
    let o = evident()
        .args(["tail", "-n", "2", s(&a), s(&b), "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(actions(&stdout_json_lines(&o)), ["a2", "a3", "b1", "b2"]);
    // tail of stdin
    let o = evident()
        .args(["tail", "-n", "1", "-", "--json"])
        .write_stdin(fs::read(&b).unwrap())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(actions(&stdout_json_lines(&o)), ["b2"]);
    // export of stdin
    let o = evident()
        .args(["export", "-", "--format", "jsonl"])
        .write_stdin(fs::read(&a).unwrap())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(actions(&stdout_json_lines(&o)), ["a1", "a2", "a3"]);
    // follow: log files, not standard input
    evident()
        .args(["tail", "-f", "-"])
        .write_stdin(fs::read(&a).unwrap())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("standard input"));

    // verify/stats --json of several logs: one array, in order; of one log,
    // the document alone (unchanged)
    for cmd in ["verify", "stats"] {
        let o = evident()
            .args([cmd, s(&a), "-", "--json"])
            .write_stdin(fs::read(&b).unwrap())
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let v: Value = serde_json::from_slice(&o).unwrap_or_else(|e| panic!("{cmd}: {e}"));
        let arr = v
            .as_array()
            .unwrap_or_else(|| panic!("{cmd}: not an array: {v}"));
        assert_eq!(arr.len(), 2, "{cmd}: {v}");
        assert!(arr[0].to_string().contains("a.jsonl"), "{cmd}: {v}");
        assert!(arr[1].to_string().contains("<stdin>"), "{cmd}: {v}");
        let one = evident()
            .args([cmd, s(&a), "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let v: Value = serde_json::from_slice(&one).unwrap();
        assert!(v.is_object(), "{cmd}: {v}");
    }
    // a bad log among them: still one array, exit status of the worst
    let bad = d.path().join("bad.jsonl");
    append(&bad, &["x", "y"], None);
    let t = fs::read_to_string(&bad).unwrap().replace("\"x\"", "\"z\"");
    fs::write(&bad, t).unwrap();
    let o = evident()
        .args(["verify", s(&a), s(&bad), "--json"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&o).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["valid"], true);
    assert_eq!(arr[1]["valid"], false);
}

// --- a standard error nobody reads ----------------------------------------------

/// Runs the CLI with standard error a pipe whose reading end is closed (as
/// under `2>&1 | head -1` once `head` has gone, or a supervisor that
/// closed its end), standard output discarded or closed the same way.
#[cfg(unix)]
fn run_with_closed_stderr(args: &[&str], close_stdout_too: bool) -> std::process::ExitStatus {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::ExitStatusExt;
    let closed_pipe = || {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe(2) returns.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both descriptors were just returned by pipe(2) and are owned here.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        drop(r);
        Stdio::from(w)
    };
    let stdout = if close_stdout_too {
        closed_pipe()
    } else {
        Stdio::null()
    };
    let status = std::process::Command::new(assert_cmd::cargo::cargo_bin("evident"))
        .args(args)
        .stdout(stdout)
        .stderr(closed_pipe())
        .status()
        .unwrap();
    assert_eq!(status.signal(), None, "{args:?} was killed: {status:?}");
    status
}

#[cfg(unix)]
#[test]
fn a_closed_standard_error_never_crashes_the_command() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("a.log");
    append(&log, &["one", "two"], None);
    let missing = dir.path().join("missing.log");
    // `cat` writes a note ("hashes are not checked") to standard error.
    let st = run_with_closed_stderr(&["cat", s(&log)], false);
    assert_eq!(st.code(), Some(0), "cat");
    // A failure keeps its exit status when its message cannot be written.
    let st = run_with_closed_stderr(&["cat", s(&missing)], false);
    assert_eq!(st.code(), Some(2), "cat of a missing file");
    let st = run_with_closed_stderr(&["verify", "--no-such-flag", s(&log)], false);
    assert_eq!(st.code(), Some(2), "usage error");
    let st = run_with_closed_stderr(&["verify", s(&log)], false);
    assert_eq!(st.code(), Some(0), "verify");
    // Both streams gone: still no crash.
    let st = run_with_closed_stderr(&["cat", s(&log)], true);
    assert!(matches!(st.code(), Some(0 | 2)), "cat, both closed: {st:?}");
}

/// `-o` naming a FIFO (or a device such as /dev/null, or a shell's
/// `>(cmd)`) is written into, as a shell's `>` would: a file renamed over
/// it replaced the FIFO itself (run as root, `-o /dev/null` left a regular
/// file at `/dev/null` for the whole machine). Exports, reproduction
/// scripts and HTML reports.
#[cfg(unix)]
#[test]
fn output_to_a_fifo_or_device_is_written_into_not_replaced() {
    use std::io::Read as _;
    use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
    let dir = tempdir().unwrap();
    let log = dir.path().join("a.jsonl");
    append(&log, &["one", "two"], None);
    let cases: [(&str, Vec<&str>); 3] = [
        (
            "export.json",
            vec!["export", s(&log), "--format", "json", "-o"],
        ),
        ("script.sh", vec!["reproduce", s(&log), "-o"]),
        (
            "report.html",
            vec!["report", s(&log), "--format", "html", "-o"],
        ),
    ];
    for (name, args) in cases {
        let p = dir.path().join(name);
        let c = std::ffi::CString::new(s(&p)).unwrap();
        // SAFETY: a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // The reader opens first (without blocking), so the command's open
        // for writing returns; the outputs fit in the pipe's buffer.
        let mut r = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&p)
            .unwrap();
        let out = evident().args(&args).arg(&p).output().unwrap();
        let mut got = Vec::new();
        let _ = r.read_to_end(&mut got);
        let kind = fs::symlink_metadata(&p).unwrap().file_type();
        assert!(
            kind.is_fifo(),
            "{name}: the FIFO was replaced ({kind:?}); {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{name}: {out:?}");
        assert!(!got.is_empty(), "{name}: nothing written into the FIFO");
    }
    // Nothing but the log, its lock and the FIFOs: no temporary file left.
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

/// README: file names are shown escaped in notes too (a crafted name
/// cannot rewrite the line above). `append`'s torn-tail note printed the
/// log's and the sidecar's names raw.
#[cfg(unix)]
#[test]
fn append_notes_show_a_crafted_file_name_escaped() {
    let d = tempdir().unwrap();
    let p = d.path().join("log\u{1b}[1A\u{1b}[2K\rFAKE\u{202e}.jsonl");
    append(&p, &["a"], None);
    let mut f = fs::OpenOptions::new().append(true).open(&p).unwrap();
    f.write_all(b"{\"v\":1").unwrap(); // a torn tail, moved aside by the next open
    drop(f);
    let out = evident()
        .args(["append", s(&p), "--event-type", "E", "--action", "b"])
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(out).unwrap();
    assert!(err.contains("torn tail"), "{err}");
    for raw in ['\u{1b}', '\r', '\u{202e}'] {
        assert!(!err.contains(raw), "raw {raw:?} in {err:?}");
    }
}

/// Spec § 9.7: a binary log's positions have line 0 (lines are JSONL's).
/// The "not an evident log" message of a binary file said "line 1".
#[test]
fn a_binary_file_that_is_not_a_log_is_named_without_a_line() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors");
    let err = evident()
        .args(["verify", s(&vectors.join("genesis_malformed.evl"))])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(err).unwrap();
    assert!(
        err.contains("not an evident log (byte offset 16: "),
        "{err}"
    );
    evident()
        .args(["verify", s(&vectors.join("genesis_malformed.jsonl"))])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("(line 1, byte offset 0: "));
}

/// Errors are one line, `evident: <file>: <problem>` (the top-level help):
/// a key file too short said `evident: not a usable key file: FILE: …`.
#[test]
fn a_key_file_error_names_the_file_first() {
    let d = tempfile::tempdir().unwrap();
    let key = d.path().join("k15hex");
    std::fs::write(&key, "000102030405060708090a0b0c0d0e").unwrap();
    let out = evident()
        .current_dir(d.path())
        .args(["append", "x.jsonl", "--key-file", "k15hex"])
        .args(["--event-type", "a", "--action", "b"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("evident: k15hex: not a usable key file: key file holds 30 hex digits"),
        "{err}"
    );
    assert!(!d.path().join("x.jsonl").exists());
}

/// `-` is standard input for every reading command; `append -` created a
/// log named `-` in the working directory. Refused, pointing to `--json -`.
#[test]
fn append_refuses_dash_as_the_log() {
    let d = tempfile::tempdir().unwrap();
    let out = evident()
        .current_dir(d.path())
        .args(["append", "-", "--event-type", "a", "--action", "b"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--json -"), "{err}");
    assert!(!d.path().join("-").exists());
}
