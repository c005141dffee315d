//! The seed systems' engines from the command line: `evident
//! compliance-check` (SecureML's dataset checks), `evident export --format
//! tracekit-json|tracekit-csv` (TraceKit's export layout and HMAC chain) and
//! `evident measure` (waveform measurements of session traces).

use std::fs;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::tempdir;

fn evident() -> Command {
    Command::cargo_bin("evident").unwrap()
}

#[test]
fn compliance_check_csv_text_and_json() {
    let dir = tempdir().unwrap();
    let csv = dir.path().join("customers.csv");
    fs::write(
        &csv,
        "name,age,income,contact,diagnosis,zip code\n\
         Alice Smith,32,65000,alice.s@example.com,,01234\n\
         Bob Johnson,45,85000,bob.j@example.com,flu,98765\n",
    )
    .unwrap();
    evident()
        .args(["compliance-check", "--regulation", "gdpr"])
        .arg(&csv)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "customers.csv: GDPR (2 records, 6 columns): 5 issues",
        ))
        .stdout(predicate::str::contains(
            "contact [medium]: values of column 'contact' look like personal data (email)",
        ))
        .stdout(predicate::str::contains("diagnosis [high]"))
        .stdout(predicate::str::contains("check documentation: failed"));
    let out = evident()
        .args([
            "compliance-check",
            "--json",
            "--name",
            "c",
            "--regulation",
            "HIPAA",
        ])
        .args([
            "--metadata",
            r#"{"consent_obtained": true, "purpose": "care"}"#,
        ])
        .arg(&csv)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let r: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(r["regulation"], "HIPAA");
    assert_eq!(r["dataset_name"], "c");
    assert_eq!(r["num_records"], 2);
    let cols: Vec<&str> = r["personal_data_columns"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(cols.len(), 4, "{r}");
    assert_eq!(r["personal_data_columns"]["zip code"], "address");
    assert_eq!(r["personal_data_columns"]["contact"], "email");
    assert!(r["warnings"].as_array().unwrap().is_empty());
    assert!(r["issues"][4]["issue"]
        .as_str()
        .unwrap()
        .contains("protected health information"));
}

#[test]
fn compliance_check_jsonl_clean_and_errors() {
    let dir = tempdir().unwrap();
    let clean = dir.path().join("scores.jsonl");
    fs::write(
        &clean,
        "{\"score\": 1}\n\n{\"score\": 2, \"label\": \"x\"}\n",
    )
    .unwrap();
    evident()
        .args(["compliance-check"])
        .arg(&clean)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "scores.jsonl: GDPR (2 records, 2 columns): no issues",
        ));
    let bad = dir.path().join("bad.jsonl");
    fs::write(&bad, "{\"a\": 1}\n[1]\n").unwrap();
    evident()
        .args(["compliance-check"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "bad.jsonl: line 2: not a JSON object",
        ));
    let other = dir.path().join("data.xlsx");
    fs::write(&other, "x").unwrap();
    evident()
        .args(["compliance-check"])
        .arg(&other)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown dataset format"));
    let ragged = dir.path().join("ragged.csv");
    fs::write(&ragged, "a,b\n1,2\n1,2,3\n").unwrap();
    evident()
        .args(["compliance-check"])
        .arg(&ragged)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "ragged.csv: record 2 (line 3): 3 fields",
        ));
    evident()
        .args(["compliance-check", "--metadata", "[1]"])
        .arg(&clean)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--metadata"));
}
