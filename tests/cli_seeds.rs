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

fn tricky_log(dir: &std::path::Path) -> std::path::PathBuf {
    use evident::{Event, Log, OpenOptions};
    let path = dir.join("audit.jsonl");
    let log = Log::open(&path, OpenOptions::new()).unwrap();
    let with_host = |e: Event| Event {
        host: Some("lab".into()),
        ..e
    };
    log.append(&with_host(
        Event::new("tracekit", "load_trace")
            .actor("alice")
            .details(serde_json::json!({"file": "scope \u{e9} \u{1f600}.wfm", "v": 0.1, "small": 1e-7, "big": 18446744073709551615u64, "nested": {"b": [1, 2.5], "a": null}})),
    ))
    .unwrap();
    log.append(&with_host(
        Event::new("tracekit", "measure")
            .actor("bob")
            .details(serde_json::json!({"rise_time": 2.5e-9, "note": "a,\"b\"\nc"})),
    ))
    .unwrap();
    log.close().unwrap();
    path
}

#[test]
fn export_tracekit_json_and_csv_verify_with_tracekits_chain() {
    use evident::tracekit::{first_bad, py_dumps, Algorithm, Entry};
    let dir = tempdir().unwrap();
    let log = tricky_log(dir.path());
    let key = dir.path().join("tk.key");
    fs::write(&key, "compliance-secret-key").unwrap();
    let out = dir.path().join("audit.json");
    evident()
        .args([
            "export",
            "--format",
            "tracekit-json",
            "--tracekit-alg",
            "sha512",
        ])
        .arg("--tracekit-key")
        .arg(&key)
        .arg("-o")
        .arg(&out)
        .arg(&log)
        .assert()
        .success()
        .stdout(predicate::str::contains("exported 2 entries"));
    let text = fs::read_to_string(&out).unwrap();
    assert!(
        text.is_ascii()
            && text.starts_with("{\n  \"version\": \"1.0\",\n  \"hash_algorithm\": \"sha512\"")
    );
    let doc: Value = serde_json::from_str(&text).unwrap();
    let entries: Vec<Entry> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| Entry {
            timestamp: e["timestamp"].as_str().unwrap().into(),
            action: e["action"].as_str().unwrap().into(),
            details: py_dumps(&e["details"]),
            user: e["user"].as_str().unwrap().into(),
            host: e["host"].as_str().unwrap().into(),
            previous_hash: e["previous_hash"].as_str().unwrap().into(),
            hmac: e["hmac"].as_str().unwrap().into(),
        })
        .collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].previous_hash, "GENESIS");
    assert_eq!(entries[0].user, "alice");
    assert_eq!(entries[0].hmac.len(), 128);
    assert!(entries[0].timestamp.ends_with('Z') && entries[0].timestamp.len() == 27);
    assert_eq!(
        first_bad(Algorithm::Sha512, b"compliance-secret-key", &entries),
        None
    );
    assert_eq!(first_bad(Algorithm::Sha512, b"other", &entries), Some(0));

    let csv = evident()
        .args(["export", "--format", "tracekit-csv"])
        .arg("--tracekit-key")
        .arg(&key)
        .arg(&log)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with(
        "timestamp,action,user,host,previous_hash,hmac,detail_big,detail_file,detail_nested,detail_note,detail_rise_time,detail_small,detail_v\r\n"
    ));
    // Python's csv.writer of json.dumps(value) (nested objects: keys sorted)
    assert!(
        csv.contains(
            ",18446744073709551615,\"\"\"scope \\u00e9 \\ud83d\\ude00.wfm\"\"\",\"{\"\"a\"\": null, \"\"b\"\": [1, 2.5]}\",,,1e-07,0.1\r\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains(",,,,\"\"\"a,\\\"\"b\\\"\"\\nc\"\"\",2.5e-09,,\r\n"),
        "{csv}"
    );

    // the TraceKit options belong together
    evident()
        .args(["export", "--format", "tracekit-json"])
        .arg(&log)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs --tracekit-key"));
    evident()
        .args(["export", "--format", "json", "--tracekit-key"])
        .arg(&key)
        .arg(&log)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--tracekit-key is for"));
    evident()
        .args([
            "export",
            "--format",
            "tracekit-csv",
            "--tracekit-alg",
            "md5",
            "--tracekit-key",
        ])
        .arg(&key)
        .arg(&log)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("md5"));
}

#[test]
fn measure_traces_of_a_session_text_and_json() {
    use evident::measure::{self, Measure};
    use evident::session::{SaveOptions, Session, Trace, TraceInfo};
    let dir = tempdir().unwrap();
    let path = dir.path().join("scope.evs");
    // 1 kHz square wave, 25 % duty, at 1 MHz; and a 50 Hz sine
    let square: Vec<f64> = (0..20_000)
        .map(|i| if i % 1000 < 250 { 3.3 } else { 0.0 })
        .collect();
    let sine: Vec<f64> = (0..20_000)
        .map(|i| (2.0 * std::f64::consts::PI * 50.0 * i as f64 / 1e4).sin())
        .collect();
    let mut s = Session::new("bench");
    s.add_trace(
        "CLK",
        Trace::from_slice(&square, TraceInfo::with_rate(1e6)).unwrap(),
    )
    .unwrap();
    s.add_trace(
        "MAINS",
        Trace::from_slice(&sine, TraceInfo::with_rate(1e4)).unwrap(),
    )
    .unwrap();
    s.save(Some(&path), &SaveOptions::default()).unwrap();
    let before = fs::read(&path).unwrap();

    let out = evident()
        .args([
            "measure",
            "--trace",
            "CLK",
            "--what",
            "frequency,duty_cycle,amplitude,rise_time",
            "--json",
        ])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let clk = v["CLK"].as_object().unwrap();
    assert_eq!(clk.len(), 4, "{v}");
    assert!(v.get("MAINS").is_none());
    let f = clk["frequency"]["value"].as_f64().unwrap();
    assert!((f - 1000.0).abs() < 1.0, "{f}");
    assert_eq!(clk["frequency"]["unit"], "Hz");
    let duty = clk["duty_cycle"]["value"].as_f64().unwrap();
    assert!((duty - 25.0).abs() < 0.5, "{duty}");
    assert!((clk["amplitude"]["value"].as_f64().unwrap() - 3.3).abs() < 0.05);
    // the same values as the library's
    let t = Trace::from_slice(&square, TraceInfo::with_rate(1e6)).unwrap();
    assert_eq!(f, measure::measure(&t, Measure::Frequency).unwrap());
    assert_eq!(duty, measure::measure(&t, Measure::DutyCycle).unwrap());

    // text: every trace, every measurement, one line each
    let out = evident().arg("measure").arg(&path).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 2 * Measure::ALL.len(), "{text}");
    assert!(text.contains("MAINS\tfrequency\t5.0000"), "{text}");
    assert!(text.contains("CLK\tduty_cycle\t2.5"), "{text}");
    // read-only
    assert_eq!(fs::read(&path).unwrap(), before);

    evident()
        .args(["measure", "--what", "volume"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown measurement \"volume\""));
    evident()
        .args(["measure", "--trace", "CH9"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no trace named \"CH9\""));
    evident()
        .arg("measure")
        .arg(dir.path().join("missing.evs"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.evs"));
}

/// `compliance-check` of a FIFO, a device or a directory (also behind a
/// name with a dataset extension) is refused at once, naming the file, as
/// every other command refuses them; it never blocks nor reads forever.
#[cfg(unix)]
#[test]
fn compliance_check_refuses_what_is_not_a_regular_file() {
    let dir = tempdir().unwrap();
    let fifo = dir.path().join("f");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let cases = [
        ("f.csv", fifo.clone()),
        ("f.jsonl", fifo.clone()),
        ("z.jsonl", "/dev/zero".into()),
        ("z.csv", "/dev/zero".into()),
        ("d.tsv", dir.path().to_path_buf()),
    ];
    for (name, target) in cases {
        let link = dir.path().join(name);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let out = evident()
            .args(["compliance-check"])
            .arg(&link)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {out:?}");
        assert!(err.contains(name), "{name}: {err}");
        assert!(
            err.contains("not a regular file") || err.contains("directory"),
            "{name}: {err}"
        );
    }
}

/// One line (JSON lines) or record (CSV) longer than the bound is refused
/// naming the file and line, after reading no more than the bound: memory
/// stays bounded whatever the file's size or its lines' length (a sparse
/// 1.5 GB CSV file without a line break, a line of 64 MiB and one byte).
#[test]
fn compliance_check_refuses_an_over_long_line_or_record() {
    let dir = tempdir().unwrap();
    let long = "x".repeat(64 << 20);
    let jsonl = dir.path().join("long.jsonl");
    fs::write(&jsonl, format!("{{\"a\": 1}}\n{{\"a\": \"{long}\"}}\n")).unwrap();
    let csv = dir.path().join("long.csv");
    fs::write(&csv, format!("a,b\n1,2\n3,\"{long}\"\n")).unwrap();
    let sparse = dir.path().join("sparse.csv");
    fs::File::create(&sparse)
        .unwrap()
        .set_len(1500 << 20)
        .unwrap();
    let sparse_jsonl = dir.path().join("sparse.jsonl");
    fs::File::create(&sparse_jsonl)
        .unwrap()
        .set_len(1500 << 20)
        .unwrap();
    for (path, line) in [
        (&jsonl, "line 2"),
        (&csv, "line 3"),
        (&sparse, "line 1"),
        (&sparse_jsonl, "line 1"),
    ] {
        let out = evident()
            .args(["compliance-check"])
            .arg(path)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path:?}: {out:?}");
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            err.contains(name) && err.contains(line) && err.contains("longer than"),
            "{path:?}: {err}"
        );
    }
    // Long values within the bound are read as before.
    let ok = dir.path().join("ok.jsonl");
    let value = "y".repeat(5 << 20);
    fs::write(
        &ok,
        format!("{{\"note\": \"{value}\", \"n\": [1, {{\"x\": 2}}]}}\n{{\"n\": 3}}\n"),
    )
    .unwrap();
    evident()
        .args(["compliance-check"])
        .arg(&ok)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "ok.jsonl: GDPR (2 records, 2 columns): no issues",
        ));
}
