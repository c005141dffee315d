//! `evident reproduce postgres://…` and `report::write_reproduction` with a
//! database input: the logs shipped to PostgreSQL read as record sources,
//! giving the same script as the files they came from. Against a real
//! server (EVIDENT_PG_URL); skips loudly without one.

#[path = "pg_support/mod.rs"]
mod pg_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{TimeZone, Utc};
use evident::pg::{self, ShipOptions};
use evident::report::{self, ReproOptions};
use evident::{Event, Log, OpenOptions};
use pg_support::*;

/// A log of RTGS-style operations at fixed times; returns its log id.
fn ops_log(path: &Path, tool: &str, ops: &[(&str, u32, &str)]) -> String {
    let log = Log::open(path, OpenOptions::new()).unwrap();
    for (op, minute, project) in ops {
        let mut ev = Event::new("tool_operation", *op)
            .source(tool)
            .details(serde_json::json!({"parameters": {"project": project}}));
        ev.ts = Some(Utc.with_ymd_and_hms(2023, 6, 15, 14, *minute, 0).unwrap());
        ev.git_commit = Some("abc123".into());
        ev.success = Some(true);
        ev.note = Some(format!("{op} of {project}"));
        log.append(&ev).unwrap();
    }
    let id = log.genesis().log_id.clone();
    log.close().unwrap();
    id
}

/// The script without its "generated on" line.
fn body(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("# Reproduction script generated on "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn reproduce_reads_the_database_like_the_files() {
    let Some(url) = fresh_db("repro") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    let id_a = ops_log(
        &a,
        "sensing-data",
        &[
            ("extract", 30, "Winter \"Turf\" $v3"),
            ("list-projects", 40, "x"),
        ],
    );
    ops_log(&b, "visualization", &[("create", 35, "Winter")]);
    for p in [&a, &b] {
        pg::ship(p, &url, &ShipOptions::default()).unwrap();
    }
    let exe = env!("CARGO_BIN_EXE_evident");
    let run = |inputs: &[&str], out: &Path, extra: &[&str]| {
        let o = Command::new(exe)
            .arg("reproduce")
            .args(inputs)
            .args(["--program", "rtgs", "-o", out.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (files, db) = (dir.path().join("files.sh"), dir.path().join("db.sh"));
    let (code, _, err) = run(&[a.to_str().unwrap(), b.to_str().unwrap()], &files, &[]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = run(&[&url], &db, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("3 operation(s), 2023-06-15 to 2023-06-15"),
        "{out}"
    );
    let text = body(&db);
    assert_eq!(text, body(&files));
    // Time order across the two logs, parameters quoted exactly.
    let i = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} not in {text}"));
    assert!(i("rtgs sensing-data extract") < i("rtgs visualization create"));
    assert!(i("rtgs visualization create") < i("rtgs sensing-data list-projects"));
    assert!(
        text.contains(r#"--project "Winter \"Turf\" \$v3""#),
        "{text}"
    );
    assert!(
        text.contains(r#"--note "Reproduction: create of Winter""#),
        "{text}"
    );

    // One log (?log_id=) and the filters apply to database entries.
    let one = dir.path().join("one.sh");
    let (code, out, err) = run(
        &[&format!("{url}?log_id={id_a}")],
        &one,
        &["--exclude-operation", "list-projects"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("1 operation(s)"), "{out}");
    let t = body(&one);
    assert!(
        t.contains("sensing-data extract") && !t.contains("visualization"),
        "{t}"
    );

    // A file and its shipped copy together: each operation once.
    let mut opts = ReproOptions::default();
    opts.program = Some("rtgs".into());
    let info = report::write_reproduction(
        &[a.clone(), PathBuf::from(&url)],
        &opts,
        &dir.path().join("both.sh"),
    )
    .unwrap();
    assert_eq!(info.operation_count, 3);
    // Since/until filter the database's entries too.
    opts.since = Some(Utc.with_ymd_and_hms(2023, 6, 15, 14, 33, 0).unwrap());
    let info = report::write_reproduction(&[PathBuf::from(&url)], &opts, &dir.path().join("s.sh"))
        .unwrap();
    assert_eq!(info.operation_count, 2);
}

#[test]
fn reproduce_from_an_unreachable_or_damaged_database_fails_clearly() {
    let Some(url) = fresh_db("repro_bad") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_evident");
    let out = dir.path().join("x.sh");
    let o = Command::new(exe)
        .args([
            "reproduce",
            "postgres://alice:hunter9secret@127.0.0.1:1/db?connect_timeout=2",
            "-o",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("hunter9secret") && err.contains("127.0.0.1:1/db"),
        "{err}"
    );
    assert!(!out.exists());

    // A stored body that is not a record: an error naming the database,
    // the log and the record, no script.
    let a = dir.path().join("a.jsonl");
    let id = ops_log(&a, "t", &[("op", 1, "p"), ("op2", 2, "p")]);
    pg::ship(&a, &url, &ShipOptions::default()).unwrap();
    // As the superuser, bypassing the append-only triggers.
    let mut c = connect(&url);
    c.batch_execute(&format!(
        "SET session_replication_role = replica; \
         UPDATE evident.records SET body = convert_to('{{\"not\":1', 'UTF8') WHERE log_id = '{id}' AND seq = 2; \
         SET session_replication_role = origin;"
    ))
    .unwrap();
    let e = report::write_reproduction(&[PathBuf::from(&url)], &ReproOptions::default(), &out)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&id) && e.contains("line 3"), "{e}");
    assert!(!out.exists());
}

/// A database nothing was shipped to yet (no evident tables) holds no
/// entries: readers get none, not an error (RTGS's readers on a new
/// database; `recent_logs()` with logging off from the start).
#[test]
fn a_database_without_shipments_has_no_entries() {
    let Some(url) = fresh_db("repro_empty") else {
        return;
    };
    let t = pg::Target::parse(&url).unwrap();
    assert!(pg::query_db(&t, &pg::DbQuery::default())
        .unwrap()
        .is_empty());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.sh");
    let info =
        report::write_reproduction(&[PathBuf::from(&url)], &ReproOptions::default(), &out).unwrap();
    assert_eq!(info.operation_count, 0);
    assert!(out.is_file());
}
