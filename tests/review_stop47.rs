//! Outside review of 7 December 2026: readers of a log with a second log
//! spliced into it, and CLI exit statuses and output for inputs that are
//! not logs.

use std::path::Path;

use assert_cmd::Command;
use evident::query::{query, Order, Query};
use evident::{Error, Event, Framing, Log, OpenOptions};

fn evident() -> Command {
    Command::cargo_bin("evident").unwrap()
}

fn write(path: &Path, framing: Framing, actions: &[&str]) {
    let log = Log::open(path, OpenOptions::new().framing(framing)).unwrap();
    for a in actions {
        log.append(&Event::new("X", *a)).unwrap();
    }
    log.close().unwrap();
}

/// A second log appended to a first (`cat a b > c`): its genesis is a
/// record after the start of the log. `verify` says so; the readers
/// stepped over it and returned the second log's entries as the first's.
#[test]
fn a_genesis_after_the_start_is_damage_to_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    for (framing, ext) in [(Framing::Jsonl, "jsonl"), (Framing::Binary, "evl")] {
        let a = dir.path().join(format!("a.{ext}"));
        let b = dir.path().join(format!("b.{ext}"));
        write(&a, framing, &["a1", "a2", "a3"]);
        write(&b, framing, &["FOREIGN"]);
        let mut bytes = std::fs::read(&a).unwrap();
        let other = std::fs::read(&b).unwrap();
        // The binary framing's file header is not a record: only the records.
        let skip = if framing == Framing::Binary { 16 } else { 0 };
        bytes.extend_from_slice(&other[skip..]);
        let spliced = dir.path().join(format!("spliced.{ext}"));
        std::fs::write(&spliced, &bytes).unwrap();
        for order in [Order::OldestFirst, Order::NewestFirst] {
            let q = Query::default().order(order);
            let got: Vec<_> = query(&spliced, &q).unwrap().collect();
            let damaged: Vec<_> = got
                .iter()
                .filter_map(|r| r.as_ref().err())
                .map(|e| e.to_string())
                .collect();
            assert!(
                matches!(
                    got.iter().find(|r| r.is_err()),
                    Some(Err(Error::Malformed { .. }))
                ),
                "{ext} {order:?}: {got:?}"
            );
            assert!(
                damaged.iter().any(|m| m.contains("genesis")),
                "{ext} {order:?}: {damaged:?}"
            );
        }
        // The CLI readers exit 1 (a damaged record), as for other damage.
        for args in [
            vec!["cat"],
            vec!["tail", "-n", "2"],
            vec!["stats"],
            vec!["export", "--format", "json"],
        ] {
            let out = evident().args(&args).arg(&spliced).output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{ext} {args:?}: {out:?}");
        }
        let rep = dir.path().join(format!("rep-{ext}"));
        let out = evident()
            .args(["report", "--output"])
            .arg(&rep)
            .arg(&spliced)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{ext} report: {out:?}");
    }
}

/// `report` and `reproduce` of a binary file holding a header and no
/// genesis said "entry seq 0 ... genesis record is missing" and exited 1
/// (a log that failed a check); `verify` says "not an evident log", exit 2.
#[test]
fn report_and_reproduce_refuse_a_file_that_is_not_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.evl");
    write(&log, Framing::Binary, &["a1"]);
    let bytes = std::fs::read(&log).unwrap();
    let mut cases = vec![
        ("header", bytes[..16].to_vec()),
        ("magic", bytes[..8].to_vec()),
        ("short", bytes[..10].to_vec()),
    ];
    let mut zeros = bytes[..16].to_vec();
    zeros.extend(vec![0u8; 4096]);
    cases.push(("zeros", zeros));
    for (what, content) in cases {
        let p = dir.path().join(format!("{what}.evl"));
        std::fs::write(&p, &content).unwrap();
        for cmd in ["verify", "report", "reproduce"] {
            let mut c = evident();
            c.arg(cmd);
            if cmd != "verify" {
                c.arg("--output")
                    .arg(dir.path().join(format!("out-{what}-{cmd}")));
            }
            let out = c.arg(&p).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{what} {cmd}: {err}");
            assert!(err.contains("not an evident log"), "{what} {cmd}: {err}");
        }
    }
}

/// `export` wrote its CSV header (or JSON's `[`) before opening the log: a
/// pipeline ignoring the exit status got a valid-looking empty export.
#[test]
fn export_writes_nothing_when_a_log_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.jsonl");
    write(&good, Framing::Jsonl, &["a1"]);
    let missing = dir.path().join("missing.jsonl");
    for format in ["csv", "json", "jsonl"] {
        for args in [vec![&missing], vec![&good, &missing]] {
            let out = evident()
                .args(["export", "--format", format])
                .args(&args)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{format} {args:?}: {out:?}");
            assert!(out.stdout.is_empty(), "{format} {args:?}: {out:?}");
        }
    }
}

/// An algorithm asked for that is not the existing log's is refused, as a
/// framing is (review, 7 December: `alg="hmac-sha512"` on an HMAC-SHA256
/// log was silently ignored, so the caller believed it wrote HMAC-SHA512).
#[test]
fn an_algorithm_other_than_the_logs_is_refused() {
    use evident::{HashAlg, Key};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.jsonl");
    let key = Key::new(vec![7u8; 32]).unwrap();
    let log = Log::open(&p, OpenOptions::new().key(key.clone())).unwrap();
    log.close().unwrap();
    let e = Log::open(
        &p,
        OpenOptions::new().key(key.clone()).alg(HashAlg::HmacSha512),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(e.to_string().contains("hmac-sha256"), "{e}");
    // The log's own algorithm, or none, opens it.
    for o in [
        OpenOptions::new().key(key.clone()).alg(HashAlg::HmacSha256),
        OpenOptions::new().key(key.clone()),
    ] {
        Log::open(&p, o).unwrap().close().unwrap();
    }
}

/// Under --json every line `head` writes to stderr is a JSON object, as
/// `follow`'s notes are (review, 7 December: the torn-tail note was text).
#[test]
fn head_json_notes_are_json() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.jsonl");
    write(&p, Framing::Jsonl, &["a1", "a2"]);
    let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    std::io::Write::write_all(&mut f, br#"{"v":1,"seq":3,"pr"#).unwrap();
    drop(f);
    let out = evident().args(["head", "--json"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.trim().is_empty());
    for line in err.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect(line);
        assert!(
            v["note"]["message"]
                .as_str()
                .unwrap()
                .contains("last complete"),
            "{v}"
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["head_seq"], 2);
}

/// `-` is standard input for cat, tail, verify, stats and export; `head`
/// and `convert` refused to read it as a file named `-`, or made one
/// (review, 7 December). They say so instead (exit 2), writing nothing.
#[test]
fn head_and_convert_say_that_they_do_not_take_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    write(&p, Framing::Jsonl, &["a1"]);
    for args in [
        vec!["head".to_string(), "-".into()],
        vec!["convert".into(), p.display().to_string(), "-".into()],
        vec![
            "convert".into(),
            "-".into(),
            dir.path().join("b.evl").display().to_string(),
        ],
    ] {
        let out = evident()
            .current_dir(dir.path())
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("`-`"),
            "{args:?}: {out:?}"
        );
    }
    assert!(!dir.path().join("-").exists());
    assert!(!dir.path().join("b.evl").exists());
}
