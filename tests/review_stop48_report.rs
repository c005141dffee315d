//! Outside review of 7 December 2026 (stop 48): reports built from entries
//! given by a binding, from logs with a torn tail or a changed entry, and
//! what a Markdown report shows of line breaks and odd parameter names.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use chrono::{TimeZone, Utc};
use evident::query::{query, Query};
use evident::report::{write_entries_report, ReportFormat, ReportOptions};
use evident::{Entry, Event, Log, OpenOptions};
use predicates::prelude::*;
use serde_json::json;
use tempfile::tempdir;

fn evident() -> Command {
    Command::cargo_bin("evident").unwrap()
}

/// Three RTGS-like operations on 2023-06-15.
fn sample(path: &Path) {
    let log = Log::open(path, OpenOptions::new()).unwrap();
    for (hour, op, project) in [
        (10, "extract", "Winter Turf - v3"),
        (11, "extract", "P2"),
        (12, "create", "P3"),
    ] {
        let mut e = Event::new("tool_operation", op)
            .source("sensing-data")
            .actor("alice")
            .details(json!({"parameters": {"project": project}}));
        e.ts = Some(Utc.with_ymd_and_hms(2023, 6, 15, hour, 0, 0).unwrap());
        e.success = Some(true);
        e.duration_ms = Some(1500.0);
        log.append(&e).unwrap();
    }
    log.close().unwrap();
}

fn entries(path: &Path) -> Vec<Entry> {
    query(path, &Query::default())
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
}

fn html_report(es: &[Entry], logs: &[&Path], out: &Path) -> String {
    let mut opts = ReportOptions::default();
    opts.format = ReportFormat::Html;
    opts.logs = logs.iter().map(|p| p.to_path_buf()).collect();
    let files = write_entries_report(es, &opts, out).unwrap();
    fs::read_to_string(&files[0].path).unwrap()
}

/// Changes one value in the log's file (the entry's hash no longer matches).
fn tamper(log: &Path) {
    let text = fs::read_to_string(log).unwrap();
    let changed = text.replacen("Winter Turf - v3", "Winter Turf - EVIL", 1);
    assert_ne!(text, changed);
    fs::write(log, changed).unwrap();
}

// --- A: entries given with their logs -----------------------------------------

/// SecureML's `generate_audit_report` hands its dicts to
/// `write_entries_report` with the logs they came from: an edited dict was
/// shown as given under the logs' "valid" banner, and an invented one too.
/// Entries are shown as given (users add columns while analysing), and
/// every one that differs from the log's, or that no log holds, is named
/// under a NOT VALID line.
#[test]
fn entries_given_with_their_logs_are_checked_against_them() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("a.jsonl");
    sample(&log);
    let real = entries(&log);

    // As read: shown as they are, nothing flagged.
    let html = html_report(&real, &[&log], &dir.path().join("ok.html"));
    assert!(!html.contains("NOT VALID"), "{html}");
    assert!(html.contains("Winter Turf - v3"));

    // A column added while analysing, and a number that went through a
    // float column (pandas): not edits.
    let mut es = real.clone();
    es[2].details["reviewed_by"] = json!("auditor_7");
    let html = html_report(&es, &[&log], &dir.path().join("annotated.html"));
    assert!(
        !html.contains("NOT VALID") && html.contains("auditor_7"),
        "{html}"
    );

    // Values changed between reading and reporting: named as edited.
    let mut es = real.clone();
    es[0].details = json!({"parameters": {"project": "nothing_to_see"}});
    es[1].event_type = "user_consent".into();
    // an entry no log holds
    let mut invented = real[2].clone();
    invented.seq = 99;
    invented.hash = "ab".repeat(32);
    invented.action = "invented_op".into();
    es.push(invented);
    let html = html_report(&es, &[&log], &dir.path().join("forged.html"));
    assert!(html.contains("NOT VALID"), "{html}");
    assert!(
        html.contains("2 entries given differ from the log") && html.contains("seq 1, 2)"),
        "{html}"
    );
    // shown as given, as `collect` shows a report's entries of no log,
    // under a NOT VALID line naming it
    assert!(html.contains("invented_op"));
    assert!(
        html.contains(
            "1 entry given is in no log given: not verified against a hash chain (seq 99)"
        ),
        "{html}"
    );

    // Without logs given the entries are shown as they are (nothing to check).
    let html = html_report(&es, &[], &dir.path().join("nologs.html"));
    assert!(html.contains("nothing_to_see") && !html.contains("NOT VALID"));
}

// --- B: a torn tail -----------------------------------------------------------

/// `verify` fails a log with a torn tail and `report` says NOT VALID, but
/// `reproduce` wrote its script with no warning and exit 0.
#[test]
fn reproduce_from_a_log_with_a_torn_tail_warns() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("a.jsonl");
    sample(&log);
    let len = fs::metadata(&log).unwrap().len();
    let f = fs::OpenOptions::new().write(true).open(&log).unwrap();
    f.set_len(len - 40).unwrap();
    drop(f);
    let script = dir.path().join("again.sh");
    evident()
        .args([
            "reproduce",
            log.to_str().unwrap(),
            "--program",
            "rtgs",
            "-o",
        ])
        .arg(&script)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("warning").and(predicate::str::contains("torn_tail")));
    let s = fs::read_to_string(&script).unwrap();
    assert!(
        s.lines()
            .nth(1)
            .unwrap()
            .starts_with("# WARNING: a log did not verify"),
        "{s}"
    );
}

// --- C: a report of a log that does not verify --------------------------------

#[test]
fn report_of_a_log_that_does_not_verify_warns_and_exits_1() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("a.jsonl");
    sample(&log);
    tamper(&log);
    let out = dir.path().join("reports");
    evident()
        .args(["report", log.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("audit_report_2023-06-15.md"))
        .stderr(predicate::str::contains("warning").and(predicate::str::contains("hash_mismatch")));
    // still written, saying NOT VALID
    let md = fs::read_to_string(out.join("audit_report_2023-06-15.md")).unwrap();
    assert!(md.contains("NOT VALID"));
    let html = dir.path().join("r.html");
    evident()
        .args(["report", log.to_str().unwrap(), "--format", "html", "-o"])
        .arg(&html)
        .assert()
        .code(1);
    assert!(html.exists());
    // an intact log: exit 0, nothing on stderr
    let good = dir.path().join("b.jsonl");
    sample(&good);
    evident()
        .args(["report", good.to_str().unwrap(), "-o"])
        .arg(dir.path().join("good"))
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
}

/// The seed's workflow: reports are written, then a script from the
/// reports alone. A report that itself says its log was NOT VALID must
/// not be replayed as if it were fine.
#[test]
fn reproduce_from_a_report_that_records_its_log_not_valid_warns() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("a.jsonl");
    sample(&log);
    tamper(&log);
    let out = dir.path().join("reports");
    evident()
        .args(["report", log.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .assert()
        .code(1);
    let script = dir.path().join("again.sh");
    evident()
        .args([
            "reproduce",
            out.to_str().unwrap(),
            "--program",
            "rtgs",
            "-o",
        ])
        .arg(&script)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("warning").and(predicate::str::contains("NOT VALID")));
    let s = fs::read_to_string(&script).unwrap();
    assert!(s.lines().nth(1).unwrap().starts_with("# WARNING"), "{s}");

    // Reports of an intact log, alone: as before (exit 0, no warning).
    let good = dir.path().join("b.jsonl");
    sample(&good);
    let out = dir.path().join("good");
    evident()
        .args([
            "report",
            good.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .assert()
        .success();
    let script = dir.path().join("good.sh");
    evident()
        .args([
            "reproduce",
            out.to_str().unwrap(),
            "--program",
            "rtgs",
            "-o",
        ])
        .arg(&script)
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
    assert!(!fs::read_to_string(&script).unwrap().contains("WARNING"));
}

// --- F: line breaks and parameter names ---------------------------------------

fn one_op(path: &Path, params: serde_json::Value) {
    let log = Log::open(path, OpenOptions::new()).unwrap();
    let mut e = Event::new("tool_operation", "o")
        .source("t")
        .details(json!({ "parameters": params }));
    e.ts = Some(Utc.with_ymd_and_hms(2023, 6, 15, 10, 0, 0).unwrap());
    e.success = Some(true);
    log.append(&e).unwrap();
    log.close().unwrap();
}

#[test]
fn markdown_shows_line_breaks_escaped_and_a_parameter_named_dashes() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("a.jsonl");
    one_op(
        &log,
        json!({"nl": "line1\nline2", "sp": "line1 line2", "cr": "a\rb", "--": "x"}),
    );
    let out = dir.path().join("rep");
    evident()
        .args(["report", log.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .assert()
        .success();
    let md = fs::read_to_string(out.join("audit_report_2023-06-15.md")).unwrap();
    assert!(md.contains("- **Nl**: line1\\u{a}line2"), "{md}");
    assert!(md.contains("- **Sp**: line1 line2"), "{md}");
    assert!(md.contains("- **Cr**: a\\u{d}b"), "{md}");
    assert!(!md.contains("****"), "{md}");
    assert!(md.contains("- **`\"--\"`**: x"), "{md}");
    // the report is still read back (its sections match its entries)
    evident()
        .args([
            "reproduce",
            out.to_str().unwrap(),
            log.to_str().unwrap(),
            "-o",
        ])
        .arg(dir.path().join("s.sh"))
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
}

/// `--project=evil "c"` reaches the replayed program as `--project` with
/// the value `evil` and a stray word: refused, naming the entry.
#[test]
fn a_parameter_name_with_an_equals_sign_is_refused() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("a.jsonl");
    one_op(&log, json!({"project=evil": "c", "ok": "1"}));
    let script = dir.path().join("s.sh");
    evident()
        .args(["reproduce", log.to_str().unwrap(), "-o"])
        .arg(&script)
        .assert()
        .failure()
        .stderr(predicate::str::contains("seq 1").and(predicate::str::contains("=")));
    assert!(!script.exists());
}

/// Three operations with the same tool and action in the same second:
/// their sections share the heading `### HH:MM:SS - tool action`. A
/// report curated by deleting the middle one's section was matched to the
/// entries by heading and position, so `reproduce` replayed the deleted
/// operation and dropped a kept one (and, with the log given too, called
/// the honest report edited). Each section shows its entry's seq: it is
/// matched to the entry whose whole section it is.
#[test]
fn a_deleted_section_among_equal_headings_is_the_one_left_out() {
    let dir = tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let l = Log::open(&log, OpenOptions::new()).unwrap();
    let ts = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    for node in ["n0", "n1", "n2"] {
        let mut e = Event::new("tool_operation", "get_data")
            .source("sensing")
            .details(json!({"parameters": {"node": node}}));
        e.ts = Some(ts);
        e.success = Some(true);
        l.append(&e).unwrap();
    }
    l.close().unwrap();
    let reports = dir.path().join("reports");
    evident()
        .arg("report")
        .arg(&log)
        .arg("-o")
        .arg(&reports)
        .assert()
        .success();
    let md = reports.join("audit_report_2026-03-01.md");
    let text = fs::read_to_string(&md).unwrap();
    for del in ["n0", "n1", "n2"] {
        // The section showing node `del`, from its heading to the next.
        let starts: Vec<usize> = text.match_indices("\n### ").map(|(i, _)| i + 1).collect();
        let end_ops = text.find("\n## Evidence").unwrap();
        let (a, b) = starts
            .iter()
            .enumerate()
            .map(|(k, &a)| (a, starts.get(k + 1).copied().unwrap_or(end_ops + 1)))
            .find(|&(a, b)| {
                text[a..b].contains(&format!("\"{del}\""))
                    || text[a..b].contains(&format!("**Node**: {del}"))
            })
            .expect("the section of the node");
        fs::write(&md, format!("{}{}", &text[..a], &text[b..])).unwrap();
        let script = dir.path().join(format!("again-{del}.sh"));
        evident()
            .arg("reproduce")
            .arg(&reports)
            .arg("-o")
            .arg(&script)
            .assert()
            .success();
        let s = fs::read_to_string(&script).unwrap();
        for node in ["n0", "n1", "n2"] {
            assert_eq!(
                s.contains(&format!("--node \"{node}\"")),
                node != del,
                "deleted {del}; {node}:\n{s}"
            );
        }
        // With the log given too, the curated report is not called edited.
        let both = dir.path().join(format!("both-{del}.sh"));
        evident()
            .arg("reproduce")
            .arg(&reports)
            .arg(&log)
            .arg("-o")
            .arg(&both)
            .assert()
            .success()
            .stderr(predicate::str::contains("edited").not());
        fs::write(&md, &text).unwrap();
    }
}
