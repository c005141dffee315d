//! The `evident` command-line tool: every subcommand's success and failure
//! paths, exit codes (0 ok / 1 the log failed a check / 2 usage or I/O
//! error), wording, and machine-readable output.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use chrono::{DateTime, TimeZone, Utc};
use evident::{Durability, Event, Framing, Key, Log, OpenOptions};
use predicates::prelude::*;
use serde_json::{json, Value};
use tempfile::{tempdir, TempDir};

fn evident() -> Command {
    Command::cargo_bin("evident").unwrap()
}

fn bin_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("evident")
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

/// Entry `i` (0-based, so seq i+1) of the standard test log.
fn ev(i: usize) -> Event {
    let mut e = Event::new(
        if i % 4 == 3 {
            "DATA_ACCESS"
        } else {
            "ACTION_EXECUTED"
        },
        format!("act{}", i % 3),
    )
    .session(format!("s{}", i % 2))
    .actor(if i % 5 == 0 { "bob" } else { "alice" })
    .source("scope")
    .details(json!({"i": i, "text": "a,b \"q\"\nline2"}));
    e.ts = Some(t0() + chrono::TimeDelta::minutes(i as i64));
    e.success = Some(i % 7 != 6);
    e
}

/// A log of `n` standard entries; returns its path.
fn make_log(dir: &Path, name: &str, n: usize, framing: Framing, key: Option<Key>) -> PathBuf {
    let path = dir.join(name);
    let mut o = OpenOptions::new()
        .framing(framing)
        .durability(Durability::Buffered);
    o.key = key;
    let log = Log::open(&path, o).unwrap();
    for i in 0..n {
        log.append(&ev(i)).unwrap();
    }
    log.close().unwrap();
    path
}

fn jsonl(dir: &TempDir, n: usize) -> PathBuf {
    make_log(dir.path(), "a.jsonl", n, Framing::Jsonl, None)
}

/// Replaces the first `from` on 1-based line `line` of a JSONL file.
fn edit_line(path: &Path, line: usize, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    assert!(lines[line - 1].contains(from), "{from} not on line {line}");
    lines[line - 1] = lines[line - 1].replacen(from, to, 1);
    fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn append_bytes(path: &Path, b: &[u8]) {
    let mut all = fs::read(path).unwrap();
    all.extend_from_slice(b);
    fs::write(path, all).unwrap();
}

fn key_file(dir: &Path, name: &str, byte: u8) -> (PathBuf, Key) {
    let p = dir.join(name);
    fs::write(&p, hex::encode([byte; 32]) + "\n").unwrap();
    (p, Key::new(vec![byte; 32]).unwrap())
}

fn stdout_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

fn stderr_of(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stderr.clone()).unwrap()
}

/// The error contract: exactly one line, `evident: <file>: <problem>`.
fn assert_one_line_error(a: &assert_cmd::assert::Assert, names: &str) {
    let err = stderr_of(a);
    assert_eq!(err.lines().count(), 1, "stderr: {err:?}");
    assert!(err.starts_with("evident: "), "stderr: {err:?}");
    assert!(err.contains(names), "stderr {err:?} should name {names}");
    assert!(!err.contains("panicked"), "{err}");
}

fn head_of(path: &Path) -> String {
    let a = evident()
        .arg("head")
        .arg("--json")
        .arg(path)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    v["head"].as_str().unwrap().to_string()
}

fn cat_json(path: &Path, extra: &[&str]) -> Vec<Value> {
    let a = evident()
        .arg("cat")
        .arg("--json")
        .args(extra)
        .arg(path)
        .assert()
        .success();
    stdout_of(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn seqs(v: &[Value]) -> Vec<u64> {
    v.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

// ---------------------------------------------------------------- general

#[test]
fn help_version_and_usage_errors() {
    evident()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("verify").and(predicate::str::contains("Exit status")));
    evident()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(evident::VERSION));
    evident().assert().code(2);
    evident().arg("frobnicate").assert().code(2);
    evident().args(["verify"]).assert().code(2);
    evident()
        .args(["export", "x.jsonl", "--format", "xml"])
        .assert()
        .code(2);
}

#[test]
fn garbage_empty_and_directory_inputs_never_panic() {
    let dir = tempdir().unwrap();
    let garbage = dir.path().join("garbage.bin");
    let mut bytes = evident::format::BINARY_MAGIC.to_vec();
    bytes.extend((0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    fs::write(&garbage, &bytes).unwrap();
    let empty = dir.path().join("empty.jsonl");
    fs::write(&empty, b"").unwrap();
    let text = dir.path().join("notes.txt");
    fs::write(&text, b"hello\nworld\n").unwrap();
    let subdir = dir.path().join("adir");
    fs::create_dir(&subdir).unwrap();
    for f in [&garbage, &empty, &text, &subdir] {
        for cmd in [
            vec!["verify"],
            vec!["verify", "--json"],
            vec!["cat"],
            vec!["tail"],
            vec!["head"],
            vec!["head", "--no-verify"],
            vec!["stats"],
            vec!["export", "--format", "csv"],
            vec!["repair"],
        ] {
            let a = evident().args(&cmd).arg(f).assert();
            let code = a.get_output().status.code();
            assert!(
                matches!(code, Some(1) | Some(2)),
                "{cmd:?} {f:?}: exit {code:?}"
            );
            let err = stderr_of(&a);
            assert!(!err.contains("panicked"), "{cmd:?} {f:?}: {err}");
            assert!(err.lines().count() <= 12, "{cmd:?} {f:?}: {err}");
        }
    }
    // Nothing was changed or created by any of them.
    assert_eq!(fs::read(&garbage).unwrap(), bytes);
    assert_eq!(fs::read(&text).unwrap(), b"hello\nworld\n");
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 4, "{names:?}");
}

#[test]
fn missing_file_is_exit_2_with_one_line_naming_it() {
    let dir = tempdir().unwrap();
    let missing = dir.path().join("missing.jsonl");
    for cmd in [
        vec!["verify"],
        vec!["cat"],
        vec!["tail"],
        vec!["head"],
        vec!["stats"],
        vec!["export", "--format", "json"],
        vec!["repair"],
    ] {
        let a = evident().args(&cmd).arg(&missing).assert().code(2);
        assert_one_line_error(&a, "missing.jsonl");
    }
    assert!(
        !missing.exists(),
        "no subcommand creates a missing log except append"
    );
}

#[test]
fn closed_stdout_pipe_ends_quietly() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 2000);
    let mut child = std::process::Command::new(bin_path())
        .arg("cat")
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then closed
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}

// ----------------------------------------------------------------- append

#[test]
fn append_from_flags_prints_head_and_writes_every_field() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("new.jsonl");
    let a = evident()
        .arg("append")
        .arg(&log)
        .args([
            "--event-type",
            "ACTION_EXECUTED",
            "--action",
            "load_trace",
            "--actor",
            "j.doe",
            "--host",
            "scope-7",
            "--session",
            "sess-1",
            "--source",
            "scope-ui",
            "--details",
            r#"{"file":"ch1.bin","n":3}"#,
            "--note",
            "first capture",
            "--success",
            "false",
            "--duration-ms",
            "12.5",
            "--error",
            "probe disconnected",
            "--git-commit",
            "abc123",
            "--otr",
            "--ts",
            "2026-03-04T05:06:07.000008Z",
        ])
        .assert()
        .success();
    let out = stdout_of(&a);
    let (seq, hash) = out.trim().split_once(':').unwrap();
    assert_eq!(seq, "1");
    assert_eq!(hash.len(), 64);
    assert!(hash.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(out.trim(), head_of(&log));

    let e = &cat_json(&log, &[])[0];
    assert_eq!(e["event_type"], "ACTION_EXECUTED");
    assert_eq!(e["action"], "load_trace");
    assert_eq!(e["actor"], "j.doe");
    assert_eq!(e["host"], "scope-7");
    assert_eq!(e["session_id"], "sess-1");
    assert_eq!(e["source"], "scope-ui");
    assert_eq!(e["details"], json!({"file": "ch1.bin", "n": 3}));
    assert_eq!(e["note"], "first capture");
    assert_eq!(e["success"], false);
    assert_eq!(e["duration_ms"], 12.5);
    assert_eq!(e["error"], "probe disconnected");
    assert_eq!(e["git_commit"], "abc123");
    assert_eq!(e["otr"], true);
    assert_eq!(e["ts"], "2026-03-04T05:06:07.000008Z");
    assert_eq!(e["hash"], hash);

    // A second append continues the chain.
    evident()
        .arg("append")
        .arg(&log)
        .args(["--event-type", "T", "--action", "measure"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("2:"));
    evident().arg("verify").arg(&log).assert().success();
}

#[test]
fn append_json_object_and_stdin_lines() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("j.jsonl");
    // The object's fields override the flags.
    evident()
        .arg("append")
        .arg(&log)
        .args(["--session", "from-flag", "--action", "flag-action"])
        .args([
            "--json",
            r#"{"event_type":"E","action":"obj-action","details":{"k":[1,2]}}"#,
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("1:"));
    // One object per line of stdin; blank lines are skipped; flags are defaults.
    let a = evident()
        .arg("append")
        .arg(&log)
        .args(["--json", "-", "--event-type", "DEFAULT", "--session", "s9"])
        .write_stdin("{\"action\":\"a1\"}\n\n{\"action\":\"a2\",\"event_type\":\"OWN\"}\n")
        .assert()
        .success();
    let out = stdout_of(&a);
    let heads: Vec<&str> = out.lines().collect();
    assert_eq!(heads.len(), 2);
    assert!(heads[0].starts_with("2:") && heads[1].starts_with("3:"));
    let all = cat_json(&log, &[]);
    assert_eq!(all[0]["action"], "obj-action");
    assert_eq!(all[0]["session_id"], "from-flag");
    assert_eq!(all[0]["details"], json!({"k": [1, 2]}));
    assert_eq!(
        (
            &all[1]["action"],
            &all[1]["event_type"],
            &all[1]["session_id"]
        ),
        (&json!("a1"), &json!("DEFAULT"), &json!("s9"))
    );
    assert_eq!(all[2]["event_type"], "OWN");

    // A bad line stops with exit 2, naming the line; earlier lines stay.
    let a = evident()
        .arg("append")
        .arg(&log)
        .args(["--json", "-"])
        .write_stdin(
            "{\"event_type\":\"E\",\"action\":\"ok\"}\n{\"event_type\":\"E\",\"action\":\"x\",\"colour\":1}\n{\"event_type\":\"E\",\"action\":\"never\"}\n",
        )
        .assert()
        .code(2);
    let err = stderr_of(&a);
    assert!(err.contains("line 2") && err.contains("colour"), "{err}");
    assert!(err.contains("1 entries before it were appended"), "{err}");
    let all = cat_json(&log, &[]);
    assert_eq!(all.len(), 4);
    assert_eq!(all[3]["action"], "ok");
    evident().arg("verify").arg(&log).assert().success();
}

#[test]
fn append_usage_errors_create_nothing() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("u.jsonl");
    let cases: Vec<Vec<&str>> = vec![
        vec!["--event-type", "T"],
        vec!["--action", "A"],
        vec!["--json", r#"{"event_type":"T","action":"A","bogus":1}"#],
        vec!["--json", "[1,2]"],
        vec!["--json", "{not json"],
        vec!["--event-type", "T", "--action", "A", "--duration-ms", "NaN"],
    ];
    for args in cases {
        let a = evident()
            .arg("append")
            .arg(&log)
            .args(&args)
            .assert()
            .code(2);
        assert_one_line_error(&a, "");
        assert!(!log.exists(), "{args:?} created the log");
    }
    // Parse errors of typed flags come from clap (exit 2).
    for args in [
        vec!["--event-type", "T", "--action", "A", "--details", "{bad"],
        vec!["--event-type", "T", "--action", "A", "--success", "maybe"],
        vec!["--event-type", "T", "--action", "A", "--ts", "noon"],
        vec!["--event-type", "T", "--action", "A", "--framing", "xml"],
    ] {
        evident()
            .arg("append")
            .arg(&log)
            .args(&args)
            .assert()
            .code(2);
        assert!(!log.exists());
    }
}

#[test]
fn append_binary_framing_and_mismatch() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("b.log");
    evident()
        .arg("append")
        .arg(&log)
        .args(["--binary", "--event-type", "T", "--action", "A"])
        .assert()
        .success();
    assert!(fs::read(&log)
        .unwrap()
        .starts_with(&evident::format::BINARY_MAGIC));
    evident()
        .arg("append")
        .arg(&log)
        .args([
            "--event-type",
            "T",
            "--action",
            "B",
            "--durability",
            "group",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("2:"));
    let a = evident()
        .arg("append")
        .arg(&log)
        .args(["--framing", "jsonl", "--event-type", "T", "--action", "C"])
        .assert()
        .code(2);
    assert_one_line_error(&a, "b.log");
    assert!(stderr_of(&a).contains("binary"));
    evident()
        .arg("append")
        .arg(&log)
        .args(["--event-type", "T", "--action", "D"])
        .args(["--durability", "buffered", "--shared"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("3:"));
    evident()
        .arg("verify")
        .arg(&log)
        .assert()
        .success()
        .stdout(predicate::str::contains("3 entries verified (binary"));
}

#[test]
fn append_keyed_log_and_wrong_or_missing_key() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("k.jsonl");
    let (kf, _) = key_file(dir.path(), "k.hex", 7);
    let (wrong, _) = key_file(dir.path(), "wrong.hex", 8);
    let app = |extra: &[&Path]| {
        let mut c = evident();
        c.arg("append")
            .arg(&log)
            .args(["--event-type", "T", "--action", "A"]);
        for k in extra {
            c.arg("--key-file").arg(k);
        }
        c.assert()
    };
    app(&[&kf]).success();
    let before = fs::read(&log).unwrap();
    let a = app(&[]).code(2);
    assert_one_line_error(&a, "k.jsonl");
    assert!(stderr_of(&a).contains("key"));
    let a = app(&[&wrong]).code(2);
    assert_one_line_error(&a, "k.jsonl");
    assert!(stderr_of(&a).contains("does not match"));
    let a = app(&[&dir.path().join("nokey")]).code(2);
    assert_one_line_error(&a, "nokey");
    let short = dir.path().join("short.key");
    fs::write(&short, b"tooshort").unwrap();
    let a = app(&[&short]).code(2);
    assert_one_line_error(&a, "short.key");
    assert!(stderr_of(&a).contains("at least 16 bytes"));
    assert_eq!(
        fs::read(&log).unwrap(),
        before,
        "failed appends wrote nothing"
    );
    app(&[&kf])
        .success()
        .stdout(predicate::str::starts_with("2:"));
}

#[test]
fn append_to_unwritable_or_locked_path() {
    let dir = tempdir().unwrap();
    let bad = dir.path().join("no-such-dir").join("x.jsonl");
    let a = evident()
        .arg("append")
        .arg(&bad)
        .args(["--event-type", "T", "--action", "A"])
        .assert()
        .code(2);
    assert_one_line_error(&a, "x.jsonl");
    // A directory where the log should be.
    let a = evident()
        .arg("append")
        .arg(dir.path())
        .args(["--event-type", "T", "--action", "A"])
        .assert()
        .code(2);
    assert!(stderr_of(&a).starts_with("evident: "));
    assert!(!stderr_of(&a).contains("panicked"));
    // Another process holds the exclusive lock.
    let log = jsonl(&dir, 1);
    let holder = Log::open(&log, OpenOptions::new()).unwrap();
    let a = evident()
        .arg("append")
        .arg(&log)
        .args(["--event-type", "T", "--action", "A"])
        .assert()
        .code(2);
    assert_one_line_error(&a, "a.jsonl");
    assert!(stderr_of(&a).contains("locked by"), "{}", stderr_of(&a));
    drop(holder);
}

// ----------------------------------------------------------------- verify

#[test]
fn verify_valid_log() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 12);
    let head = head_of(&log);
    for threads in ["1", "2"] {
        let a = evident()
            .args(["verify", "--threads", threads])
            .arg(&log)
            .assert()
            .success();
        let out = stdout_of(&a);
        assert!(
            out.contains("valid: 12 entries verified (jsonl, sha256"),
            "{out}"
        );
        assert!(out.contains(&format!("head: {head}")), "{out}");
        assert!(stderr_of(&a).is_empty());
    }
}

#[test]
fn verify_tampered_entry_names_kind_seq_and_line() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 8);
    edit_line(&log, 4, "\"i\":2", "\"i\":9"); // entry seq 3
    let a = evident().arg("verify").arg(&log).assert().code(1);
    let out = stdout_of(&a);
    assert!(
        out.contains("TAMPERED/damaged: hash_mismatch at entry seq 3, line 4, byte offset"),
        "{out}"
    );
    assert!(!out.contains("torn tail"), "{out}");
}

#[test]
fn verify_torn_tail_is_worded_differently_from_tampering() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 5);
    let head = head_of(&log);
    append_bytes(&log, b"{\"v\":1,\"seq\":6,\"prev\":\"ab");
    let a = evident().arg("verify").arg(&log).assert().code(1);
    let out = stdout_of(&a);
    assert!(
        out.contains("torn tail (incomplete write at the end; run `evident repair`)"),
        "{out}"
    );
    assert!(out.contains("line 7"), "{out}");
    assert!(!out.contains("TAMPERED"), "{out}");
    assert!(out.contains(&format!("head: {head}")), "{out}");
    let a = evident()
        .args(["verify", "--json"])
        .arg(&log)
        .assert()
        .code(1);
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(v["status"], "torn_tail");
    assert_eq!(v["violations"][0]["kind"], "torn_tail");
}

#[test]
fn verify_all_lists_every_violation() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 8);
    edit_line(&log, 3, "\"i\":1", "\"i\":7"); // seq 2
    edit_line(&log, 7, "\"i\":5", "\"i\":0"); // seq 6
    let a = evident().arg("verify").arg(&log).assert().code(1);
    let out = stdout_of(&a);
    assert_eq!(out.matches("TAMPERED/damaged").count(), 1, "{out}");
    assert!(out.contains("entry seq 2, line 3"), "{out}");
    assert!(
        out.contains("2 violations in total; `--all` lists them"),
        "{out}"
    );
    let a = evident()
        .args(["verify", "--all"])
        .arg(&log)
        .assert()
        .code(1);
    let out = stdout_of(&a);
    assert_eq!(out.matches("TAMPERED/damaged").count(), 2, "{out}");
    assert!(out.contains("entry seq 6, line 7"), "{out}");
    let a = evident()
        .args(["verify", "--all", "--json"])
        .arg(&log)
        .assert()
        .code(1);
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(v["status"], "invalid");
    assert_eq!(v["valid"], false);
    let found: Vec<(String, u64, u64)> = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["kind"].as_str().unwrap().to_string(),
                x["seq"].as_u64().unwrap(),
                x["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("hash_mismatch".to_string(), 2, 3),
            ("hash_mismatch".to_string(), 6, 7)
        ]
    );
}

#[test]
fn verify_json_of_a_valid_log() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 3);
    let a = evident()
        .args(["verify", "--json"])
        .arg(&log)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(v["status"], "valid");
    assert_eq!(v["valid"], true);
    assert_eq!(v["entries"], 3);
    assert_eq!(v["framing"], "jsonl");
    assert_eq!(v["alg"], "sha256");
    assert_eq!(v["head"], head_of(&log));
    assert_eq!(v["violations"], json!([]));
}

#[test]
fn verify_binary_log_damage_reports_offset() {
    let dir = tempdir().unwrap();
    let log = make_log(dir.path(), "b.evl", 6, Framing::Binary, None);
    evident().arg("verify").arg(&log).assert().success();
    let mut bytes = fs::read(&log).unwrap();
    let at = bytes.windows(6).position(|w| w == b"\"i\":3,").unwrap() + 4;
    bytes[at] = b'4';
    fs::write(&log, &bytes).unwrap();
    let a = evident().arg("verify").arg(&log).assert().code(1);
    let out = stdout_of(&a);
    assert!(out.contains("TAMPERED/damaged"), "{out}");
    assert!(out.contains("byte offset"), "{out}");
    assert!(!out.contains("line "), "binary logs have no lines: {out}");
}

#[test]
fn verify_expect_head_catches_truncation() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 6);
    let head = head_of(&log);
    evident()
        .args(["verify", "--expect-head", &head])
        .arg(&log)
        .assert()
        .success();
    // Remove the last two entries: the rest is a valid chain.
    let text = fs::read_to_string(&log).unwrap();
    let kept: Vec<&str> = text.lines().take(5).collect();
    fs::write(&log, kept.join("\n") + "\n").unwrap();
    evident().arg("verify").arg(&log).assert().success();
    let a = evident()
        .args(["verify", "--expect-head", &head])
        .arg(&log)
        .assert()
        .code(1);
    let out = stdout_of(&a);
    assert!(out.contains("TAMPERED/damaged: head_mismatch"), "{out}");
    assert!(out.contains("removed from the end"), "{out}");
    // An earlier head is still contained.
    let (_, hash) = head.split_once(':').unwrap();
    let a = evident()
        .args(["verify", "--expect-head", &format!("4:{hash}")])
        .arg(&log)
        .assert()
        .code(1);
    assert!(stdout_of(&a).contains("head_mismatch"));
    for bad in ["6", "x:abc", &format!("6:{}", &hash[..10])] {
        evident()
            .args(["verify", "--expect-head", bad])
            .arg(&log)
            .assert()
            .code(2);
    }
}

#[test]
fn verify_expect_log_id() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 2);
    let a = evident()
        .args(["head", "--json"])
        .arg(&log)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    let id = v["log_id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    evident()
        .args(["verify", "--expect-log-id", id])
        .arg(&log)
        .assert()
        .success();
    let a = evident()
        .args(["verify", "--expect-log-id", &"0".repeat(32)])
        .arg(&log)
        .assert()
        .code(1);
    assert!(stdout_of(&a).contains("WRONG LOG"), "{}", stdout_of(&a));
}

#[test]
fn verify_keyed_log_right_wrong_and_missing_key() {
    let dir = tempdir().unwrap();
    let (kf, key) = key_file(dir.path(), "k.hex", 3);
    let (wrong, _) = key_file(dir.path(), "w.hex", 4);
    let log = make_log(dir.path(), "k.jsonl", 4, Framing::Jsonl, Some(key));
    evident()
        .arg("verify")
        .arg(&log)
        .arg("--key-file")
        .arg(&kf)
        .assert()
        .success()
        .stdout(predicate::str::contains("hmac-sha256"));
    // Raw (non-hex) key files work too.
    let raw = dir.path().join("raw.key");
    fs::write(&raw, [3u8; 32]).unwrap();
    evident()
        .arg("verify")
        .arg(&log)
        .arg("--key-file")
        .arg(&raw)
        .assert()
        .success();
    // No key: a `wrong_key` finding (exit 1, spec § 9.2 step 4), telling
    // how to check the hashes.
    let a = evident().arg("verify").arg(&log).assert().code(1);
    assert!(stdout_of(&a).contains("WRONG KEY"), "{}", stdout_of(&a));
    assert!(stdout_of(&a).contains("--key-file"), "{}", stdout_of(&a));
    // Wrong key: verification fails (exit 1), clearly worded.
    let a = evident()
        .arg("verify")
        .arg(&log)
        .arg("--key-file")
        .arg(&wrong)
        .assert()
        .code(1);
    assert!(stdout_of(&a).contains("WRONG KEY"), "{}", stdout_of(&a));
    // A key for a keyless log is a finding too (a keyed log may have been
    // rewritten without its key).
    let plain = jsonl(&dir, 1);
    let a = evident()
        .arg("verify")
        .arg(&plain)
        .arg("--key-file")
        .arg(&kf)
        .assert()
        .code(1);
    assert!(stdout_of(&a).contains("keyless"));
    // Unreadable or unusable key files: exit 2.
    let a = evident()
        .arg("verify")
        .arg(&log)
        .arg("--key-file")
        .arg(dir.path().join("absent.key"))
        .assert()
        .code(2);
    assert_one_line_error(&a, "absent.key");
}

/// Spec § 9.2 step 4 and the `missing_key` vectors: a keyed log verified
/// without a key is reported as `wrong_key` and the sequence numbers and
/// links are still checked.
#[test]
fn verify_keyed_log_without_key_reports_wrong_key_and_checks_links() {
    let dir = tempdir().unwrap();
    let (_, key) = key_file(dir.path(), "k.hex", 3);
    let log = make_log(dir.path(), "k.jsonl", 5, Framing::Jsonl, Some(key));
    let a = evident()
        .args(["verify", "--json"])
        .arg(&log)
        .assert()
        .code(1);
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(v["violations"][0]["kind"], "wrong_key", "{v}");
    assert_eq!(v["entries"], 5, "{v}");
    assert_eq!(v["status"], "invalid", "{v}");
    // Delete entry 3: without the key, the hole is still found.
    let text = fs::read_to_string(&log).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 3)
        .map(|(_, l)| l)
        .collect();
    fs::write(&log, kept.join("\n") + "\n").unwrap();
    let a = evident()
        .args(["verify", "--all"])
        .arg(&log)
        .assert()
        .code(1);
    let out = stdout_of(&a);
    assert!(
        out.contains("WRONG KEY") && out.contains("seq_gap at entry seq 4"),
        "{out}"
    );
    assert!(stderr_of(&a).is_empty(), "{}", stderr_of(&a));
}

// ------------------------------------------------------------- cat / tail

#[test]
fn cat_human_and_json_with_filters() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 12);
    let a = evident().arg("cat").arg(&log).assert().success();
    let out = stdout_of(&a);
    assert_eq!(out.lines().count(), 12);
    let first = out.lines().next().unwrap();
    assert!(first
        .trim_start()
        .starts_with("1  2026-01-01T00:00:00.000000Z  ACTION_EXECUTED  act0"));
    assert!(
        first.contains("actor=bob") && first.contains("session=s0"),
        "{first}"
    );
    // Newlines and quotes in details stay on one line.
    assert!(first.contains(r#""text":"a,b \"q\"\nline2""#), "{first}");

    let all = cat_json(&log, &[]);
    assert_eq!(seqs(&all), (1..=12).collect::<Vec<_>>());
    assert_eq!(all[3]["event_type"], "DATA_ACCESS");
    assert_eq!(all[0]["details"]["text"], "a,b \"q\"\nline2");
    assert_eq!(
        seqs(&cat_json(&log, &["--session", "s1"])),
        vec![2, 4, 6, 8, 10, 12]
    );
    assert_eq!(
        seqs(&cat_json(&log, &["--session", "s1", "--action", "act1"])),
        vec![2, 8]
    );
    assert_eq!(seqs(&cat_json(&log, &["--actor", "bob"])), vec![1, 6, 11]);
    assert_eq!(
        seqs(&cat_json(&log, &["--event-type", "DATA_ACCESS"])),
        vec![4, 8, 12]
    );
    assert_eq!(
        seqs(&cat_json(&log, &["--source", "nope"])),
        Vec::<u64>::new()
    );
    assert_eq!(
        seqs(&cat_json(&log, &["--seq-min", "3", "--seq-max", "5"])),
        vec![3, 4, 5]
    );
    assert_eq!(
        seqs(&cat_json(
            &log,
            &[
                "--since",
                "2026-01-01T00:02:00Z",
                "--until",
                "2026-01-01T00:04:00Z"
            ]
        )),
        vec![3, 4]
    );
    assert_eq!(
        seqs(&cat_json(&log, &["--since", "2026-01-01T01:05:00+01:00"])),
        vec![6, 7, 8, 9, 10, 11, 12]
    );
    assert_eq!(
        seqs(&cat_json(&log, &["--until", "2026-01-01"])),
        Vec::<u64>::new()
    );
    assert_eq!(
        seqs(&cat_json(&log, &["--newest-first", "--limit", "3"])),
        vec![12, 11, 10]
    );
    assert_eq!(
        seqs(&cat_json(&log, &["--limit", "2", "--session", "s0"])),
        vec![1, 3]
    );
    evident()
        .args(["cat", "--since", "the day before"])
        .arg(&log)
        .assert()
        .code(2);
}

#[test]
fn cat_reports_damaged_records_and_goes_on() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 6);
    edit_line(&log, 3, "\"hash\":\"", "\"hash\":\"zz");
    let a = evident().args(["cat", "--json"]).arg(&log).assert().code(1);
    let got: Vec<Value> = stdout_of(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(seqs(&got), vec![1, 3, 4, 5, 6]);
    let err = stderr_of(&a);
    assert!(err.contains("a.jsonl") && err.contains("line 3"), "{err}");
    assert!(err.contains("1 damaged record(s) skipped"), "{err}");
}

#[test]
fn tail_prints_last_entries_in_order_without_reading_the_whole_file() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 15);
    let a = evident().arg("tail").arg(&log).assert().success();
    let out = stdout_of(&a);
    let got: Vec<u64> = out
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(got, (6..=15).collect::<Vec<_>>());
    let a = evident()
        .args(["tail", "-n", "3", "--json"])
        .arg(&log)
        .assert()
        .success();
    let v: Vec<Value> = stdout_of(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(seqs(&v), vec![13, 14, 15]);
    let a = evident()
        .args(["tail", "-n", "2", "--json", "--session", "s0"])
        .arg(&log)
        .assert()
        .success();
    let v: Vec<Value> = stdout_of(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(seqs(&v), vec![13, 15]);
    evident()
        .args(["tail", "-n", "0"])
        .arg(&log)
        .assert()
        .success()
        .stdout("");
    // Damage near the start is never read by tail (it reads from the end),
    // while cat meets it.
    edit_line(&log, 3, "\"hash\":\"", "\"hash\":\"zz");
    evident().arg("cat").arg(&log).assert().code(1);
    let a = evident()
        .args(["tail", "-n", "5"])
        .arg(&log)
        .assert()
        .success();
    assert_eq!(stdout_of(&a).lines().count(), 5);
    // The only thing on stderr: the note that hashes are not checked.
    assert_eq!(stderr_of(&a).lines().count(), 1, "{}", stderr_of(&a));
    assert!(stderr_of(&a).contains("hashes are not checked"));
}

// ------------------------------------------------------------------- head

#[test]
fn head_prints_checkpoint_form_count_and_log_id() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 7);
    let last = cat_json(&log, &[]).pop().unwrap();
    let expect = format!("7:{}", last["hash"].as_str().unwrap());
    let a = evident().arg("head").arg(&log).assert().success();
    let out = stdout_of(&a);
    assert!(out.contains(&format!("head:    {expect}")), "{out}");
    assert!(out.contains("entries: 7"), "{out}");
    assert!(out.contains("log id:  "), "{out}");
    assert!(out.contains("the whole chain verified"), "{out}");
    let a = evident()
        .args(["head", "--json"])
        .arg(&log)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(v["head"], expect);
    assert_eq!(v["head_seq"], 7);
    assert_eq!(v["entries"], 7);
    assert_eq!(v["verified"], true);
    assert_eq!(v["framing"], "jsonl");
    let a = evident()
        .args(["head", "--json", "--no-verify"])
        .arg(&log)
        .assert()
        .success();
    let w: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!((&w["head"], &w["log_id"]), (&v["head"], &v["log_id"]));
    assert_eq!(w["verified"], false);
    // The printed form is what --expect-head accepts.
    evident()
        .args(["verify", "--expect-head", &expect])
        .arg(&log)
        .assert()
        .success();
}

#[test]
fn head_of_empty_keyed_and_damaged_logs() {
    let dir = tempdir().unwrap();
    // A log with only its genesis record.
    let empty = make_log(dir.path(), "e.jsonl", 0, Framing::Jsonl, None);
    let a = evident()
        .args(["head", "--json"])
        .arg(&empty)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(v["entries"], 0);
    assert!(v["head"].as_str().unwrap().starts_with("0:"));
    evident()
        .args(["verify", "--expect-head", v["head"].as_str().unwrap()])
        .arg(&empty)
        .assert()
        .success();
    // Keyed: needs the key to verify, or --no-verify.
    let (kf, key) = key_file(dir.path(), "k.hex", 5);
    let keyed = make_log(dir.path(), "k.evl", 3, Framing::Binary, Some(key));
    let a = evident().arg("head").arg(&keyed).assert().code(2);
    assert_one_line_error(&a, "k.evl");
    evident()
        .arg("head")
        .arg(&keyed)
        .arg("--key-file")
        .arg(&kf)
        .assert()
        .success()
        .stdout(predicate::str::contains("head:    3:"));
    evident()
        .args(["head", "--no-verify"])
        .arg(&keyed)
        .assert()
        .success()
        .stdout(predicate::str::contains("not verified"));
    // A tampered log has no trustworthy head.
    let log = jsonl(&dir, 4);
    edit_line(&log, 2, "\"i\":0", "\"i\":5");
    let a = evident().arg("head").arg(&log).assert().code(1);
    assert!(stdout_of(&a).is_empty());
    assert!(stderr_of(&a).contains("hash_mismatch"), "{}", stderr_of(&a));
    assert!(stderr_of(&a).contains("no head is printed"));
    // A torn tail: the head of the complete entries, with a note.
    let torn = make_log(dir.path(), "t.jsonl", 3, Framing::Jsonl, None);
    let h = head_of(&torn);
    append_bytes(&torn, b"{\"v\":1,");
    let a = evident().arg("head").arg(&torn).assert().success();
    assert!(stdout_of(&a).contains(&h));
    assert!(stderr_of(&a).contains("torn tail"));
    // ... and it does not claim the whole file verified.
    assert!(!stdout_of(&a).contains("whole chain"), "{}", stdout_of(&a));
    assert!(
        stdout_of(&a).contains("checked: the chain verified up to a torn tail"),
        "{}",
        stdout_of(&a)
    );
    let a = evident()
        .args(["head", "--json"])
        .arg(&torn)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["torn_tail"], true, "{v}");
    let a = evident()
        .args(["head", "--json"])
        .arg(&empty)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(v["torn_tail"], false, "{v}");
}

// ------------------------------------------------------------------ stats

#[test]
fn stats_counts_and_span() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 12);
    let a = evident()
        .args(["stats", "--json"])
        .arg(&log)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(v["entries"], 12);
    assert_eq!(v["first_ts"], "2026-01-01T00:00:00.000000Z");
    assert_eq!(v["last_ts"], "2026-01-01T00:11:00.000000Z");
    assert_eq!(v["span_seconds"], 660.0);
    assert_eq!(
        v["by_event_type"],
        json!({"ACTION_EXECUTED": 9, "DATA_ACCESS": 3})
    );
    assert_eq!(v["by_action"], json!({"act0": 4, "act1": 4, "act2": 4}));
    assert_eq!(v["by_actor"], json!({"alice": 9, "bob": 3}));
    assert_eq!(v["by_session"], json!({"s0": 6, "s1": 6}));
    assert_eq!(
        v["outcomes"],
        json!({"success": 11, "failure": 1, "unknown": 0})
    );
    assert_eq!(v["damaged_records"], 0);
    assert_eq!(v["hashes_checked"], false, "stats does not check hashes");
    let a = evident().arg("stats").arg(&log).assert().success();
    let out = stdout_of(&a);
    for want in [
        "entries:  12",
        "first:    2026-01-01T00:00:00.000000Z",
        "last:     2026-01-01T00:11:00.000000Z",
        "span:     11m 0s",
        "by event type (2 distinct):",
        "by action (3 distinct):",
        "by actor (2 distinct):",
        "by session (2 distinct):",
        "  alice  9",
    ] {
        assert!(out.contains(want), "{want:?} not in\n{out}");
    }
    // Filters apply.
    let a = evident()
        .args(["stats", "--json", "--session", "s1"])
        .arg(&log)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(v["entries"], 6);
    assert_eq!(v["by_session"], json!({"s1": 6}));
    // Damaged records are counted and make the exit code 1.
    edit_line(&log, 5, "\"hash\":\"", "\"hash\":\"zz");
    let a = evident()
        .args(["stats", "--json"])
        .arg(&log)
        .assert()
        .code(1);
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(
        (v["entries"].as_u64(), v["damaged_records"].as_u64()),
        (Some(11), Some(1))
    );
}

// ----------------------------------------------------------------- export

#[test]
fn export_csv_has_fixed_columns_and_round_trips_values() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 5);
    let a = evident()
        .args(["export", "--format", "csv"])
        .arg(&log)
        .assert()
        .success();
    let out = stdout_of(&a);
    let mut rd = csv::Reader::from_reader(out.as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "seq",
            "ts",
            "event_type",
            "action",
            "actor",
            "host",
            "session_id",
            "source",
            "success",
            "duration_ms",
            "error",
            "note",
            "git_commit",
            "details",
            "prev",
            "hash",
            "otr"
        ]
    );
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 5);
    let entries = cat_json(&log, &[]);
    for (row, e) in rows.iter().zip(&entries) {
        assert_eq!(row[0], e["seq"].to_string());
        assert_eq!(&row[1], e["ts"].as_str().unwrap());
        assert_eq!(&row[2], e["event_type"].as_str().unwrap());
        assert_eq!(&row[4], e["actor"].as_str().unwrap());
        assert_eq!(&row[6], e["session_id"].as_str().unwrap());
        assert_eq!(&row[8], "true");
        assert_eq!(&row[9], "");
        let details: Value = serde_json::from_str(&row[13]).unwrap();
        assert_eq!(details, e["details"]);
        assert_eq!(&row[14], e["prev"].as_str().unwrap());
        assert_eq!(&row[15], e["hash"].as_str().unwrap());
        assert_eq!(&row[16], "false");
    }
}

#[test]
fn export_json_and_jsonl_match_the_entries() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 4);
    let entries = cat_json(&log, &[]);
    let a = evident()
        .args(["export", "--format", "json"])
        .arg(&log)
        .assert()
        .success();
    let arr: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(arr, Value::Array(entries.clone()));
    let a = evident()
        .args(["export", "--format", "jsonl"])
        .arg(&log)
        .assert()
        .success();
    let lines: Vec<Value> = stdout_of(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, entries);
    // Filters apply; an empty selection is an empty array.
    let a = evident()
        .args(["export", "--format", "json", "--session", "none"])
        .arg(&log)
        .assert()
        .success();
    assert_eq!(
        serde_json::from_str::<Value>(&stdout_of(&a)).unwrap(),
        json!([])
    );
}

#[test]
fn export_to_file_and_failures() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 4);
    let out = dir.path().join("out.csv");
    fs::write(&out, "old contents").unwrap();
    evident()
        .args(["export", "--format", "csv", "-o"])
        .arg(&out)
        .arg(&log)
        .assert()
        .success()
        .stdout(predicate::str::contains("exported 4 entries (csv)"));
    let a = evident()
        .args(["export", "--format", "csv"])
        .arg(&log)
        .assert()
        .success();
    assert_eq!(fs::read_to_string(&out).unwrap(), stdout_of(&a));
    // Unwritable destination.
    let a = evident()
        .args(["export", "--format", "json", "-o"])
        .arg(dir.path().join("nodir").join("x.json"))
        .arg(&log)
        .assert()
        .code(2);
    assert_one_line_error(&a, "x.json");
    // A damaged log: export stops (exit 1) and leaves no file behind.
    edit_line(&log, 3, "\"hash\":\"", "\"hash\":\"zz");
    let dest = dir.path().join("damaged.json");
    let a = evident()
        .args(["export", "--format", "json", "-o"])
        .arg(&dest)
        .arg(&log)
        .assert()
        .code(1);
    assert_one_line_error(&a, "line 3");
    assert!(stderr_of(&a).contains("export stopped"));
    assert!(!dest.exists());
    let leftovers: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("exporting"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// ---------------------------------------------------------------- convert

/// (body, hash) of every record, genesis included, read with the library's
/// own parser.
fn records(path: &Path) -> Vec<(Vec<u8>, String)> {
    let bytes = fs::read(path).unwrap();
    let framing = Framing::detect(&bytes).unwrap();
    let mut out = Vec::new();
    let mut rest = &bytes[framing.data_start() as usize..];
    while !rest.is_empty() {
        let n = match framing {
            Framing::Jsonl => rest.iter().position(|&c| c == b'\n').unwrap(),
            Framing::Binary => match evident::format::frame_size(rest) {
                evident::format::FrameSize::Len(n) => n,
                other => panic!("{other:?}"),
            },
        };
        let p = evident::format::parse(framing, &rest[..n]).unwrap();
        out.push((p.raw.body(), p.raw.hash.to_hex()));
        rest = &rest[n + usize::from(framing == Framing::Jsonl)..];
    }
    out
}

#[test]
fn convert_round_trip_keeps_bodies_and_head() {
    let dir = tempdir().unwrap();
    let a = jsonl(&dir, 20);
    let b = dir.path().join("b.evl");
    let c = dir.path().join("c.jsonl");
    let head = head_of(&a);
    let out = evident().arg("convert").arg(&a).arg(&b).assert().success();
    let text = stdout_of(&out);
    assert!(
        text.contains("(jsonl,") && text.contains("(binary,"),
        "{text}"
    );
    assert!(text.contains(&format!("20 entries, head {head}")), "{text}");
    assert!(fs::read(&b)
        .unwrap()
        .starts_with(&evident::format::BINARY_MAGIC));
    evident()
        .args(["convert", "--to", "jsonl"])
        .arg(&b)
        .arg(&c)
        .assert()
        .success();
    assert_eq!(records(&a), records(&b), "same bodies and hashes");
    assert_eq!(records(&a).len(), 21);
    assert_eq!(
        fs::read(&a).unwrap(),
        fs::read(&c).unwrap(),
        "byte-identical"
    );
    assert_eq!(head_of(&b), head);
    assert_eq!(head_of(&c), head);
    evident()
        .args(["verify", "--expect-head", &head])
        .arg(&b)
        .assert()
        .success();
    // A converted log can be appended to.
    evident()
        .arg("append")
        .arg(&b)
        .args(["--event-type", "T", "--action", "after"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("21:"));
}

#[test]
fn convert_keyed_log() {
    let dir = tempdir().unwrap();
    let (kf, key) = key_file(dir.path(), "k.hex", 11);
    let a = make_log(dir.path(), "k.evl", 5, Framing::Binary, Some(key));
    let b = dir.path().join("k.jsonl");
    let e = evident().arg("convert").arg(&a).arg(&b).assert().code(2);
    assert_one_line_error(&e, "k.evl");
    assert!(!b.exists());
    evident()
        .arg("convert")
        .arg(&a)
        .arg(&b)
        .arg("--key-file")
        .arg(&kf)
        .assert()
        .success();
    assert_eq!(records(&a), records(&b));
}

#[test]
fn convert_refuses_existing_destination_damage_and_torn_tail() {
    let dir = tempdir().unwrap();
    let a = jsonl(&dir, 5);
    let dst = dir.path().join("exists.evl");
    fs::write(&dst, "keep me").unwrap();
    let e = evident().arg("convert").arg(&a).arg(&dst).assert().code(2);
    assert_one_line_error(&e, "exists.evl");
    assert!(stderr_of(&e).contains("refusing to overwrite"));
    assert_eq!(fs::read_to_string(&dst).unwrap(), "keep me");
    // Same framing.
    evident()
        .args(["convert", "--to", "jsonl"])
        .arg(&a)
        .arg(dir.path().join("same.jsonl"))
        .assert()
        .code(2);
    // Torn tail: exit 1, pointing at repair; nothing written.
    let torn = make_log(dir.path(), "torn.jsonl", 3, Framing::Jsonl, None);
    append_bytes(&torn, b"{\"v\":1,\"se");
    let out = dir.path().join("torn.evl");
    let e = evident()
        .arg("convert")
        .arg(&torn)
        .arg(&out)
        .assert()
        .code(1);
    assert_one_line_error(&e, "torn.jsonl");
    assert!(stderr_of(&e).contains("evident repair"));
    assert!(!out.exists());
    // Tampered: exit 1 with kind and seq.
    edit_line(&a, 3, "\"i\":1", "\"i\":2");
    let out = dir.path().join("bad.evl");
    let e = evident().arg("convert").arg(&a).arg(&out).assert().code(1);
    assert_one_line_error(&e, "a.jsonl");
    assert!(stderr_of(&e).contains("hash_mismatch"), "{}", stderr_of(&e));
    assert!(!out.exists());
    // Missing source.
    let e = evident()
        .arg("convert")
        .arg(dir.path().join("nope.jsonl"))
        .arg(dir.path().join("nope.evl"))
        .assert()
        .code(2);
    assert_one_line_error(&e, "nope.jsonl");
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("converting"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

// ----------------------------------------------------------------- repair

fn sidecars(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".torn-"))
        .collect()
}

#[test]
fn repair_moves_a_torn_tail_into_a_sidecar() {
    for framing in [Framing::Jsonl, Framing::Binary] {
        let dir = tempdir().unwrap();
        let log = make_log(dir.path(), "r.log", 4, framing, None);
        let intact = fs::read(&log).unwrap();
        let head = head_of(&log);
        let torn: &[u8] = match framing {
            Framing::Jsonl => b"{\"v\":1,\"seq\":5,\"prev\":\"00",
            Framing::Binary => &[0x40, 0, 0, 0, 32, 0, 0, 0, b'{', b'"'],
        };
        append_bytes(&log, torn);
        evident().arg("verify").arg(&log).assert().code(1);
        let a = evident().arg("repair").arg(&log).assert().success();
        let out = stdout_of(&a);
        assert!(out.contains("torn tail"), "{out}");
        assert!(
            out.contains(&format!(
                "moved {} bytes from byte offset {}",
                torn.len(),
                intact.len()
            )),
            "{out}"
        );
        assert!(out.contains(&format!(
            "repaired: the log verifies (4 entries, head {head})"
        )));
        let side = sidecars(dir.path());
        assert_eq!(side.len(), 1, "{side:?}");
        assert!(out.contains(&side[0].display().to_string()), "{out}");
        assert_eq!(fs::read(&side[0]).unwrap(), torn);
        assert_eq!(fs::read(&log).unwrap(), intact);
        evident()
            .args(["verify", "--expect-head", &head])
            .arg(&log)
            .assert()
            .success();
        // Repairing again: nothing to do.
        evident()
            .arg("repair")
            .arg(&log)
            .assert()
            .success()
            .stdout(predicate::str::contains("nothing to repair"));
        assert_eq!(sidecars(dir.path()).len(), 1);
    }
}

#[test]
fn repair_never_touches_damage_before_the_end() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 5);
    edit_line(&log, 3, "\"i\":1", "\"i\":4");
    append_bytes(&log, b"{\"v\":1");
    let before = fs::read(&log).unwrap();
    let a = evident().arg("repair").arg(&log).assert().code(1);
    let out = stdout_of(&a);
    assert!(
        out.contains("TAMPERED/damaged: hash_mismatch at entry seq 2"),
        "{out}"
    );
    let err = stderr_of(&a);
    assert_one_line_error(&a, "a.jsonl");
    assert!(err.contains("never repaired"), "{err}");
    assert!(err.contains("Nothing was changed"), "{err}");
    assert_eq!(fs::read(&log).unwrap(), before);
    assert!(sidecars(dir.path()).is_empty());
}

/// A damaged last record is damage at the end: repair still changes nothing
/// without --force, and says that --force is what moves it aside (not that
/// the damage is "before the end").
#[test]
fn repair_names_force_for_a_damaged_last_record() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 3);
    edit_line(&log, 4, "\"i\":2", "\"i\":7");
    let before = fs::read(&log).unwrap();
    let a = evident().arg("repair").arg(&log).assert().code(1);
    assert!(
        stdout_of(&a).contains("hash_mismatch at entry seq 3"),
        "{}",
        stdout_of(&a)
    );
    let err = stderr_of(&a);
    assert_one_line_error(&a, "a.jsonl");
    assert!(!err.contains("before the end"), "{err}");
    assert!(err.contains("the last entry (seq 3) is damaged"), "{err}");
    assert!(err.contains("evident repair --force"), "{err}");
    assert!(err.contains("Nothing was changed"), "{err}");
    assert_eq!(fs::read(&log).unwrap(), before);
    assert!(sidecars(dir.path()).is_empty());
}

#[test]
fn repair_keyed_log_needs_the_key() {
    let dir = tempdir().unwrap();
    let (kf, key) = key_file(dir.path(), "k.hex", 9);
    let (wrong, _) = key_file(dir.path(), "w.hex", 10);
    let log = make_log(dir.path(), "k.jsonl", 2, Framing::Jsonl, Some(key));
    append_bytes(&log, b"{\"v\":1");
    let before = fs::read(&log).unwrap();
    let a = evident().arg("repair").arg(&log).assert().code(2);
    assert_one_line_error(&a, "k.jsonl");
    let a = evident()
        .arg("repair")
        .arg(&log)
        .arg("--key-file")
        .arg(&wrong)
        .assert()
        .code(2);
    assert_one_line_error(&a, "k.jsonl");
    assert!(stderr_of(&a).contains("wrong_key"));
    assert_eq!(fs::read(&log).unwrap(), before);
    evident()
        .arg("repair")
        .arg(&log)
        .arg("--key-file")
        .arg(&kf)
        .assert()
        .success()
        .stdout(predicate::str::contains("moved 6 bytes"));
}

#[test]
fn repair_of_a_locked_log_changes_nothing() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 2);
    let holder = Log::open(&log, OpenOptions::new()).unwrap();
    // A torn tail written after the writer opened (a second, crashed writer
    // in shared mode would look like this).
    append_bytes(&log, b"{\"v\":1");
    let before = fs::read(&log).unwrap();
    let a = evident().arg("repair").arg(&log).assert().code(2);
    assert_one_line_error(&a, "locked by");
    assert_eq!(fs::read(&log).unwrap(), before);
    drop(holder);
}

// ------------------------------------------------------------------- demo

#[test]
fn demo_in_a_given_directory() {
    let dir = tempdir().unwrap();
    let d = dir.path().join("demo");
    let a = evident().arg("demo").arg(&d).assert().success();
    let out = stdout_of(&a);
    for want in [
        "valid: 11 entries verified",
        "TAMPERED/damaged: hash_mismatch at entry seq 3, line 4",
        "TAMPERED/damaged: head_mismatch",
        "torn tail (incomplete write at the end; run `evident repair`)",
        "repaired: the log verifies",
        "Try it yourself:",
    ] {
        assert!(out.contains(want), "{want:?} not in\n{out}");
    }
    assert!(stderr_of(&a).is_empty(), "{}", stderr_of(&a));
    let log = d.join("scope-audit.jsonl");
    evident().arg("verify").arg(&log).assert().success();
    evident()
        .arg("verify")
        .arg(d.join("scope-audit.tampered.jsonl"))
        .assert()
        .code(1);
    let sessions = cat_json(&log, &[])
        .iter()
        .map(|e| e["session_id"].as_str().unwrap().to_string())
        .collect::<std::collections::BTreeSet<_>>();
    assert!(sessions.len() >= 2, "{sessions:?}");
    // Running it again in the same directory refuses to overwrite.
    let a = evident().arg("demo").arg(&d).assert().code(2);
    assert_one_line_error(&a, "scope-audit");
}

#[test]
fn demo_without_arguments_uses_a_fresh_temporary_directory() {
    let tmp = tempdir().unwrap();
    // The temporary directory: TMPDIR on Unix, TMP or TEMP on Windows.
    let a = evident()
        .arg("demo")
        .env("TMPDIR", tmp.path())
        .env("TMP", tmp.path())
        .env("TEMP", tmp.path())
        .assert()
        .success();
    let out = stdout_of(&a);
    let made: Vec<PathBuf> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    let name = made[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("evident-demo-"), "{name}");
    assert!(out.contains(&name), "the directory is printed:\n{out}");
    assert!(made[0].join("scope-audit.jsonl").exists());
}

#[test]
fn append_refuses_to_extend_a_log_whose_last_entry_was_tampered() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 3);
    edit_line(&log, 4, "\"i\":2", "\"i\":3");
    let before = fs::read(&log).unwrap();
    let a = evident()
        .arg("append")
        .arg(&log)
        .args(["--event-type", "T", "--action", "A"])
        .assert()
        .code(1);
    assert_one_line_error(&a, "a.jsonl");
    assert!(
        stderr_of(&a).contains("evident verify"),
        "{}",
        stderr_of(&a)
    );
    assert_eq!(fs::read(&log).unwrap(), before);
}

#[test]
fn append_after_a_crash_moves_the_torn_tail_aside_and_says_so() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 2);
    append_bytes(&log, b"{\"v\":1,\"seq\":3");
    let a = evident()
        .arg("append")
        .arg(&log)
        .args(["--event-type", "T", "--action", "A"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("3:"));
    let err = stderr_of(&a);
    assert!(err.contains("torn tail") && err.contains(".torn-"), "{err}");
    assert_eq!(sidecars(dir.path()).len(), 1);
    evident().arg("verify").arg(&log).assert().success();
}

#[test]
fn reading_commands_on_a_binary_log() {
    let dir = tempdir().unwrap();
    let log = make_log(dir.path(), "b.evl", 6, Framing::Binary, None);
    assert_eq!(
        seqs(&cat_json(&log, &["--newest-first"])),
        vec![6, 5, 4, 3, 2, 1]
    );
    let a = evident()
        .args(["tail", "-n", "2", "--json"])
        .arg(&log)
        .assert()
        .success();
    let v: Vec<Value> = stdout_of(&a)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(seqs(&v), vec![5, 6]);
    let a = evident()
        .args(["stats", "--json"])
        .arg(&log)
        .assert()
        .success();
    let s: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(
        (&s["entries"], &s["framing"]),
        (&json!(6), &json!("binary"))
    );
    let a = evident()
        .args(["export", "--format", "jsonl"])
        .arg(&log)
        .assert()
        .success();
    assert_eq!(stdout_of(&a).lines().count(), 6);
    let a = evident()
        .args(["head", "--no-verify", "--json"])
        .arg(&log)
        .assert()
        .success();
    let h: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(h["head"], head_of(&log));
}

// ------------------------------------------------------- one-line errors

/// The error contract on a table of bad inputs: exit 2 and exactly one line
/// on stderr, `evident: ...`, naming the file or the flag and the problem;
/// never a backtrace, a usage block or a "caused by" chain.
#[test]
fn every_bad_input_is_one_line_exit_2() {
    let dir = tempdir().unwrap();
    let d = dir.path();
    let log = jsonl(&dir, 3);
    let log_s = log.to_str().unwrap().to_string();
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    let adir = p("adir");
    fs::create_dir(&adir).unwrap();
    fs::write(p("empty.jsonl"), b"").unwrap();
    fs::write(p("notes.txt"), b"hello\nworld\n").unwrap();
    fs::write(p("object.jsonl"), b"{\"a\":1}\n").unwrap();
    let mut noise = vec![0u8; 4096];
    for (i, b) in noise.iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2654435761).to_le_bytes()[3];
    }
    noise[0] = 0x97;
    fs::write(p("random.bin"), &noise).unwrap();
    fs::write(p("short.key"), b"abc").unwrap();
    let mut s = evident::session::Session::new("s");
    s.save(
        Some(&d.join("analysis.evs")),
        &evident::session::SaveOptions::default(),
    )
    .unwrap();
    let hash = "ab".repeat(32);
    #[cfg_attr(unix, allow(unused_mut))]
    let mut cases: Vec<(Vec<String>, &str)> = vec![
        // missing file, directory
        (vec!["verify".into(), p("missing.jsonl")], "missing.jsonl"),
        (vec!["cat".into(), p("missing.jsonl")], "missing.jsonl"),
        (vec!["verify".into(), adir.clone()], "adir"),
        (vec!["stats".into(), adir.clone()], "adir"),
        (
            vec![
                "append".into(),
                adir.clone(),
                "--event-type".into(),
                "E".into(),
                "--action".into(),
                "a".into(),
            ],
            "adir",
        ),
        (vec!["verify".into(), p("no-dir/x.jsonl")], "x.jsonl"),
        (
            vec!["verify".into(), format!("{}/a\nb.jsonl", d.display())],
            "b.jsonl",
        ),
        // bad flag values
        (
            vec![
                "append".into(),
                log_s.clone(),
                "--duration-ms".into(),
                "abc".into(),
            ],
            "--duration-ms",
        ),
        (
            vec![
                "append".into(),
                log_s.clone(),
                "--event-type".into(),
                "E".into(),
                "--action".into(),
                "a".into(),
                "--duration-ms".into(),
                "inf".into(),
            ],
            "--duration-ms",
        ),
        (
            vec![
                "append".into(),
                log_s.clone(),
                "--event-type".into(),
                "E".into(),
                "--action".into(),
                "a".into(),
                "--lock-timeout=-1".into(),
            ],
            "--lock-timeout",
        ),
        (
            vec![
                "append".into(),
                log_s.clone(),
                "--durability".into(),
                "sometimes".into(),
            ],
            "--durability",
        ),
        (
            vec![
                "append".into(),
                log_s.clone(),
                "--event-type".into(),
                "E".into(),
            ],
            "action",
        ),
        (
            vec!["tail".into(), log_s.clone(), "-n".into(), "-3".into()],
            "-3",
        ),
        (
            vec!["tail".into(), log_s.clone(), "-n".into(), "many".into()],
            "many",
        ),
        (
            vec![
                "cat".into(),
                log_s.clone(),
                "--since".into(),
                "the day before".into(),
            ],
            "--since",
        ),
        (
            vec!["cat".into(), log_s.clone(), "--seq-min".into(), "x".into()],
            "--seq-min",
        ),
        (
            vec![
                "export".into(),
                log_s.clone(),
                "--format".into(),
                "xml".into(),
            ],
            "--format",
        ),
        (
            vec![
                "verify".into(),
                log_s.clone(),
                "--threads".into(),
                "x".into(),
            ],
            "--threads",
        ),
        (
            vec!["verify".into(), log_s.clone(), "--bogus".into()],
            "--bogus",
        ),
        (vec!["verify".into()], "LOG"),
        (vec![], "subcommand"),
        (vec!["frobnicate".into()], "frobnicate"),
        (vec!["session".into()], "subcommand"),
        // bad JSON for --details and --json
        (
            vec![
                "append".into(),
                log_s.clone(),
                "--details".into(),
                "{bad".into(),
            ],
            "--details",
        ),
        (
            vec![
                "append".into(),
                log_s.clone(),
                "--details".into(),
                "{\n\"a\":".into(),
            ],
            "--details",
        ),
        (
            vec![
                "append".into(),
                log_s.clone(),
                "--json".into(),
                "{bad".into(),
            ],
            "--json",
        ),
        (
            vec![
                "append".into(),
                log_s.clone(),
                "--json".into(),
                "[1,2]".into(),
            ],
            "--json",
        ),
        // bad key files
        (
            vec![
                "verify".into(),
                log_s.clone(),
                "--key-file".into(),
                p("short.key"),
            ],
            "short.key",
        ),
        (
            vec![
                "verify".into(),
                log_s.clone(),
                "--key-file".into(),
                p("absent.key"),
            ],
            "absent.key",
        ),
        (
            vec![
                "verify".into(),
                log_s.clone(),
                "--key-file".into(),
                adir.clone(),
            ],
            "adir",
        ),
        // bad --expect-head
        (
            vec![
                "verify".into(),
                log_s.clone(),
                "--expect-head".into(),
                "12".into(),
            ],
            "--expect-head",
        ),
        (
            vec![
                "verify".into(),
                log_s.clone(),
                "--expect-head".into(),
                "x:ab".into(),
            ],
            "--expect-head",
        ),
        (
            vec![
                "verify".into(),
                log_s.clone(),
                "--expect-head".into(),
                "1:abc".into(),
            ],
            "--expect-head",
        ),
        (
            vec![
                "verify".into(),
                log_s.clone(),
                "--expect-head".into(),
                format!("-1:{hash}"),
            ],
            "-1",
        ),
        // not a log
        (
            vec!["verify".into(), p("empty.jsonl")],
            "not an evident log",
        ),
        (
            vec!["verify".into(), "/dev/null".into()],
            "not an evident log",
        ),
        (
            vec!["verify".into(), "--json".into(), p("random.bin")],
            "not an evident log",
        ),
        (
            vec!["verify".into(), p("object.jsonl")],
            "not an evident log",
        ),
        (vec!["verify".into(), p("notes.txt")], "not an evident log"),
        (vec!["cat".into(), p("notes.txt")], "not an evident log"),
        (vec!["tail".into(), p("object.jsonl")], "not an evident log"),
        (
            vec!["stats".into(), "/dev/null".into()],
            "not an evident log",
        ),
        (vec!["head".into(), p("random.bin")], "not an evident log"),
        (
            vec![
                "export".into(),
                "--format".into(),
                "csv".into(),
                p("empty.jsonl"),
            ],
            "not an evident log",
        ),
        (
            vec!["repair".into(), p("object.jsonl")],
            "not an evident log",
        ),
        (
            vec![
                "append".into(),
                p("notes.txt"),
                "--event-type".into(),
                "E".into(),
                "--action".into(),
                "a".into(),
            ],
            "not an evident log",
        ),
        // a session file given to a log command
        (vec!["verify".into(), p("analysis.evs")], "session file"),
        (vec!["cat".into(), p("analysis.evs")], "session file"),
        // a log given to a session command
        (
            vec!["session".into(), "info".into(), log_s.clone()],
            "a.jsonl",
        ),
        // an existing destination
        (
            vec!["convert".into(), log_s.clone(), log_s.clone()],
            "a.jsonl",
        ),
    ];
    // /dev/null, the character device, is Unix's.
    #[cfg(not(unix))]
    cases.retain(|(args, _)| !args.iter().any(|a| a == "/dev/null"));
    let mut failures = Vec::new();
    for (args, names) in &cases {
        let out = evident().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        // Under --json the one line is an error object (not for append,
        // whose --json is the entry).
        let json = args.iter().any(|a| a == "--json") && args[0] != "append";
        let named = if json {
            serde_json::from_str::<Value>(err.trim_end()).is_ok_and(|v| {
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(*names))
            })
        } else {
            err.starts_with("evident: ") && err.contains(names)
        };
        let ok = out.status.code() == Some(2)
            && err.lines().count() == 1
            && err.ends_with('\n')
            && named
            && !err.contains("panicked")
            && !err.contains("Usage:")
            && !err.to_lowercase().contains("caused by");
        if !ok {
            failures.push(format!(
                "{args:?}: exit {:?}, stderr {err:?} (should name {names:?})",
                out.status.code()
            ));
        }
    }
    // A file name that is not UTF-8, with a bad flag and alone (Unix: a
    // Windows file name is UTF-16).
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = d.join(std::ffi::OsStr::from_bytes(b"odd-\xff.jsonl"));
        for extra in [&["--bogus"][..], &[][..]] {
            let out = evident()
                .arg("verify")
                .arg(&odd)
                .args(extra)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr).to_string();
            if out.status.code() != Some(2) || err.lines().count() != 1 || err.contains("panicked")
            {
                failures.push(format!("non-UTF-8 name {extra:?}: {err:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    // None of them changed the log or created files next to it.
    evident().arg("verify").arg(&log).assert().success();
}

/// Unmounts a tmpfs when dropped.
struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A full disk (a 64 KiB tmpfs): append fails with one line, the cause
/// (ENOSPC) first and no second "poisoned" line, exit 2; every acknowledged
/// entry is still there. Needs root to mount; skipped (with a note) without.
#[test]
fn disk_full_is_one_line_naming_the_cause() {
    let dir = tempdir().unwrap();
    let mnt = dir.path().join("small");
    fs::create_dir(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs (needs root)");
        return;
    }
    let _guard = Tmpfs(mnt.clone());
    let log = mnt.join("full.jsonl");
    let details = json!({ "x": "a".repeat(20_000) }).to_string();
    let mut acknowledged = 0;
    let mut failed = None;
    for _ in 0..10 {
        let out = evident()
            .arg("append")
            .arg(&log)
            .args([
                "--event-type",
                "E",
                "--action",
                "fill",
                "--details",
                &details,
            ])
            .output()
            .unwrap();
        if out.status.success() {
            acknowledged += 1;
        } else {
            failed = Some(out);
            break;
        }
    }
    let out = failed.expect("the 64 KiB file system never filled up");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(
        err.starts_with("evident: ") && err.contains("full.jsonl"),
        "{err:?}"
    );
    assert!(err.contains("No space left on device"), "{err:?}");
    assert!(!err.contains("poisoned"), "{err:?}");
    assert!(acknowledged > 0);
    let r = evident::verify(&log, &evident::VerifyOptions::default()).unwrap();
    assert_eq!(r.entries, acknowledged, "{r:?}");
}

/// cat, tail and stats show entries as stored: their help and their human
/// output say that hashes are not checked; their --json output does not.
#[test]
fn reading_commands_say_they_do_not_check_hashes() {
    let dir = tempdir().unwrap();
    let log = jsonl(&dir, 3);
    for cmd in ["cat", "tail", "stats"] {
        let a = evident().args([cmd, "--help"]).assert().success();
        assert!(
            stdout_of(&a).contains("Does not check hashes"),
            "{cmd} --help: {}",
            stdout_of(&a)
        );
    }
    for cmd in ["cat", "tail"] {
        let a = evident().arg(cmd).arg(&log).assert().success();
        assert_eq!(stdout_of(&a).lines().count(), 3);
        let err = stderr_of(&a);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("a.jsonl") && err.contains("hashes are not checked"),
            "{err}"
        );
        let a = evident().args([cmd, "--json"]).arg(&log).assert().success();
        assert!(stderr_of(&a).is_empty(), "{}", stderr_of(&a));
    }
    let a = evident().arg("stats").arg(&log).assert().success();
    assert!(
        stdout_of(&a).contains("hashes:   not checked"),
        "{}",
        stdout_of(&a)
    );
    let a = evident()
        .args(["stats", "--json"])
        .arg(&log)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(v["entries"], 3);
    assert!(stderr_of(&a).is_empty());
}
