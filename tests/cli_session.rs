//! `evident session info|versions|export|compact|verify`, and the log
//! commands' refusal of session files. Session files are built with the
//! library (`evident::session`); the binary is run on them and its output,
//! exit codes and files are checked against what the library says.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use evident::session::*;
use evident::{Durability, Event, Key, Log, OpenOptions};
use serde_json::{json, Value};
use tempfile::{tempdir, TempDir};

fn evident() -> Command {
    Command::cargo_bin("evident").unwrap()
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
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
}

fn session(args: &[&str], file: &Path) -> Command {
    let mut c = evident();
    c.arg("session").args(args).arg(file);
    c
}

fn key_file(dir: &Path, name: &str, byte: u8) -> (PathBuf, Key) {
    let p = dir.join(name);
    fs::write(&p, hex::encode([byte; 32]) + "\n").unwrap();
    (p, Key::new(vec![byte; 32]).unwrap())
}

fn flip(path: &Path, at: u64) {
    let mut b = fs::read(path).unwrap();
    b[at as usize] ^= 0x40;
    fs::write(path, b).unwrap();
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Bits packed LSB-first, as a bit trace stores them.
fn pack(bits: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; bits.len().div_ceil(8)];
    for (i, b) in bits.iter().enumerate() {
        if *b {
            out[i / 8] |= 1 << (i % 8);
        }
    }
    out
}

fn d0_bits() -> Vec<bool> {
    (0..77).map(|i| i % 3 == 0 || i == 76).collect()
}

fn wave() -> Vec<f64> {
    (0..1000).map(|i| (i as f64 / 50.0).sin()).collect()
}

/// Three versions: v1 every sample type (raw), v2 adds a compressed trace,
/// v3 renames the session and adds a measurement.
struct Fixture {
    _dir: TempDir,
    dir: PathBuf,
    path: PathBuf,
    saves: Vec<SaveInfo>,
}

fn build(key: Option<Key>) -> Fixture {
    let tmp = tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let path = dir.join("analysis.evs");
    let mut s = Session::new("Power rail");
    s.metadata_mut().insert("operator".into(), json!("alice"));
    let mut info = TraceInfo::with_rate(1e6);
    info.units = "V".into();
    info.start_time = -1e-4;
    info.metadata.insert("probe".into(), json!("10x"));
    s.add_trace("CH1", Trace::from_slice(&wave(), info).unwrap())
        .unwrap();
    let r = |rate: f64| TraceInfo::with_rate(rate);
    let f32s = [
        0.1f32,
        -0.0,
        f32::MAX,
        f32::MIN_POSITIVE,
        f32::INFINITY,
        f32::NAN,
        1e-45,
    ];
    s.add_trace("f32", Trace::from_slice(&f32s, r(1e3)).unwrap())
        .unwrap();
    s.add_trace("i8", Trace::from_slice(&[-128i8, 0, 127], r(1.0)).unwrap())
        .unwrap();
    s.add_trace(
        "i16",
        Trace::from_slice(&[i16::MIN, -1, i16::MAX], r(2.0)).unwrap(),
    )
    .unwrap();
    s.add_trace(
        "i32",
        Trace::from_slice(&[i32::MIN, 7, i32::MAX], r(3.0)).unwrap(),
    )
    .unwrap();
    s.add_trace(
        "i64",
        Trace::from_slice(&[i64::MIN, -2, i64::MAX], r(4.0)).unwrap(),
    )
    .unwrap();
    s.add_trace("u8", Trace::from_slice(&[0u8, 1, 255], r(5.0)).unwrap())
        .unwrap();
    // An awkward name: the export must not use it as a path.
    s.add_trace(
        "probe 2/../x",
        Trace::from_slice(&[0u16, 513, u16::MAX], r(6.0)).unwrap(),
    )
    .unwrap();
    s.add_trace(
        "u32",
        Trace::from_slice(&[0u32, 70000, u32::MAX], r(7.0)).unwrap(),
    )
    .unwrap();
    s.add_trace(
        "u64",
        Trace::from_slice(&[0u64, 1 << 40, u64::MAX], r(8.0)).unwrap(),
    )
    .unwrap();
    s.add_trace(
        "bool",
        Trace::from_slice(&[true, false, false, true], r(9.0)).unwrap(),
    )
    .unwrap();
    let mut dinfo = TraceInfo::with_rate(1e3);
    dinfo.start_time = 0.5;
    s.add_trace(
        "D0",
        Trace::from_bytes(Dtype::Bit, 77, &pack(&d0_bits()), dinfo).unwrap(),
    )
    .unwrap();
    s.annotate("default", Annotation::new("spike").at(1.5e-6))
        .unwrap();
    s.annotate("protocol", Annotation::new("packet").over(2e-6, 5e-6))
        .unwrap();
    s.set_layer(&LayerProps {
        name: "protocol".into(),
        visible: Some(false),
        locked: Some(true),
        color: Some("#ff0000".into()),
        description: Some("decoded frames".into()),
    })
    .unwrap();
    let mut m = Measurement::new("rise_time", 2.3e-9, "s");
    m.trace_name = Some("CH1".into());
    s.record_measurement(m).unwrap();
    s.set_history_limit(5);
    s.record_history(HistoryEntry::new("load_trace")).unwrap();
    let mut failed = HistoryEntry::new("fft");
    failed.success = false;
    failed.error_message = Some("window too short".into());
    s.record_history(failed).unwrap();
    // Saved with sync: damage to a version is then reported as damage
    // (after saves without sync, damage that a page lost in a power cut
    // could explain makes those versions incomplete instead).
    let opts = SaveOptions::default().key(key.clone());
    let mut saves = vec![s.save(Some(&path), &opts).unwrap()];

    let ramp: Vec<f64> = (0..5000).map(|i| i as f64 * 0.25).collect();
    s.add_trace("Z", Trace::from_slice(&ramp, r(50.0)).unwrap())
        .unwrap();
    let zopts = SaveOptions::default().compress(Some(3)).key(key.clone());
    saves.push(s.save(None, &zopts).unwrap());

    s.set_name("Power rail v3");
    s.record_measurement(Measurement::new("vpp", 2.0, "V"))
        .unwrap();
    saves.push(s.save(None, &opts).unwrap());
    Fixture {
        _dir: tmp,
        dir,
        path,
        saves,
    }
}

fn load(path: &Path, version: Option<u64>) -> Session {
    Session::load(path, &LoadOptions::default().key(None).version(version)).unwrap()
}

// ------------------------------------------------------------------ info

#[test]
fn info_summarises_the_newest_version() {
    let f = build(None);
    let s = load(&f.path, None);
    let a = session(&["info"], &f.path).assert().success();
    let out = stdout_of(&a);
    let lines: Vec<&str> = out.lines().collect();
    let ts = |t| evident::format::format_ts(&t);
    let len = fs::metadata(&f.path).unwrap().len();
    assert_eq!(lines[0], "session: \"Power rail v3\"");
    assert_eq!(
        lines[1],
        format!("file: {} ({len} bytes, 3 versions)", f.path.display())
    );
    assert_eq!(lines[2], "version: 3 (newest)");
    assert_eq!(lines[3], format!("commit: {}", f.saves[2].commit));
    assert_eq!(lines[4], format!("created: {}", ts(s.created_at())));
    assert_eq!(lines[5], format!("modified: {}", ts(s.modified_at())));
    assert_eq!(lines[6], "metadata: {\"operator\":\"alice\"}");
    let sample_bytes = 8000 + 28 + 3 + 6 + 12 + 24 + 3 + 6 + 12 + 24 + 4 + 10 + 40000;
    assert_eq!(
        lines[7],
        format!("traces: 13 ({sample_bytes} sample bytes)")
    );
    assert_eq!(
        lines[8],
        "  CH1: f64, 1000 samples, 1 MHz, 1 ms from -100 us, units V, stored raw, 8000 bytes, \
         metadata {\"probe\":\"10x\"}"
    );
    assert!(out.contains(
        "\n  \"probe 2/../x\": u16, 3 samples, 6 Hz, 500 ms from 0 s, stored raw, 6 bytes\n"
    ));
    assert!(
        out.contains("\n  D0: bit, 77 samples, 1 kHz, 77 ms from 500 ms, stored raw, 10 bytes\n")
    );
    assert!(
        out.contains("\n  Z: f64, 5000 samples, 50 Hz, 100 s from 0 s, stored zstd, 40000 bytes\n")
    );
    assert!(out.contains("\nlayers: 2 (2 annotations)\n  default: 1 annotation, visible\n"));
    assert!(out.contains(
        "\n  protocol: 1 annotation, hidden, locked, color #ff0000, description \"decoded frames\"\n"
    ));
    assert!(out.contains("\nmeasurements: 2\n  rise_time = 2.3e-9 s (trace CH1)\n  vpp = 2.0 V\n"));
    assert!(
        out.ends_with("\nhistory: 2 entries (1 successful, limit 5)\n"),
        "{out}"
    );
}

#[test]
fn info_of_an_older_version_and_a_missing_one() {
    let f = build(None);
    let a = session(&["info", "--version", "1"], &f.path)
        .assert()
        .success();
    let out = stdout_of(&a);
    assert!(out.starts_with("session: \"Power rail\"\n"), "{out}");
    assert!(out.contains("\nversion: 1 (not the newest: that is 3)\n"));
    assert!(out.contains(&format!("\ncommit: {}\n", f.saves[0].commit)));
    assert!(out.contains("\ntraces: 12 ("));
    assert!(!out.contains("  Z: "));
    assert!(out.contains("\nmeasurements: 1\n"));

    let a = session(&["info", "--version", "9"], &f.path)
        .assert()
        .code(2);
    assert_one_line_error(&a, "version 9");
    assert!(stderr_of(&a).contains("not found"));
}

#[test]
fn info_json_is_the_library_json_plus_file_facts() {
    let f = build(None);
    for (args, version) in [
        (vec!["info", "--json"], None),
        (vec!["info", "--json", "--version", "2"], Some(2)),
    ] {
        let a = session(&args, &f.path).assert().success();
        let got: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
        let mut want = load(&f.path, version).to_json();
        let m = want.as_object_mut().unwrap();
        m.insert("versions".into(), json!(3));
        m.insert("newest_version".into(), json!(3));
        m.insert(
            "file_bytes".into(),
            json!(fs::metadata(&f.path).unwrap().len()),
        );
        assert_eq!(got, want);
        let v = version.unwrap_or(3);
        assert_eq!(got["version"], json!(v));
        assert_eq!(
            got["commit"],
            json!(f.saves[v as usize - 1].commit.to_hex())
        );
    }
}

// ------------------------------------------------------------------ versions

#[test]
fn versions_one_line_each_oldest_first() {
    let f = build(None);
    let lib = versions(&f.path, None).unwrap();
    let a = session(&["versions"], &f.path).assert().success();
    let out = stdout_of(&a);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let counts = [
        "traces=12 layers=2 annotations=2 measurements=1 history=2 trace_bytes=8132",
        "traces=13 layers=2 annotations=2 measurements=1 history=2 trace_bytes=48132",
        "traces=13 layers=2 annotations=2 measurements=2 history=2 trace_bytes=48132",
    ];
    let names = ["\"Power rail\"", "\"Power rail\"", "\"Power rail v3\""];
    for (i, line) in lines.iter().enumerate() {
        let want = format!(
            "{:>4}  {}  {}  {}  {}",
            i + 1,
            lib[i].ts,
            &f.saves[i].commit.to_hex()[..12],
            names[i],
            counts[i]
        );
        assert_eq!(*line, want);
    }
    let a = session(&["versions", "--json"], &f.path).assert().success();
    let got: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(got, serde_json::to_value(&lib).unwrap());
    assert_eq!(got[2]["commit"], json!(f.saves[2].commit.to_hex()));
}

// ------------------------------------------------------------------ export

/// The NumPy `descr` each trace must be exported with.
fn descr(d: Dtype) -> &'static str {
    match d {
        Dtype::F64 => "<f8",
        Dtype::F32 => "<f4",
        Dtype::I8 => "|i1",
        Dtype::I16 => "<i2",
        Dtype::I32 => "<i4",
        Dtype::I64 => "<i8",
        Dtype::U8 => "|u1",
        Dtype::U16 => "<u2",
        Dtype::U32 => "<u4",
        Dtype::U64 => "<u8",
        Dtype::Bool | Dtype::Bit => "|b1",
    }
}

/// Reads a .npy file by the format 1.0 rules: returns (descr, shape,
/// data). Checks the magic, the version, the header's padding to 64 bytes
/// and its newline, and that the data is exactly the rest of the file.
fn read_npy(path: &Path) -> (String, Vec<u64>, Vec<u8>) {
    let b = fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00", "{}", path.display());
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    assert_eq!((10 + hl) % 64, 0, "header not padded to 64 bytes");
    let header = std::str::from_utf8(&b[10..10 + hl]).unwrap();
    assert!(header.ends_with('\n'));
    let dict = header.trim_end();
    assert!(
        dict.starts_with("{'descr': '") && dict.ends_with('}'),
        "{dict}"
    );
    assert!(dict.contains("'fortran_order': False"), "{dict}");
    let descr = dict["{'descr': '".len()..].split('\'').next().unwrap();
    let shape = dict.split("'shape': (").nth(1).unwrap();
    let shape = shape.split(')').next().unwrap();
    let shape: Vec<u64> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    (descr.to_string(), shape, b[10 + hl..].to_vec())
}

/// A trace's samples as NumPy stores them (bits unpacked to 0/1 bytes).
fn numpy_bytes(t: &Trace) -> Vec<u8> {
    match t.dtype() {
        Dtype::Bit => {
            let packed = t.bytes().unwrap();
            (0..t.len() as usize)
                .map(|i| (packed[i / 8] >> (i % 8)) & 1)
                .collect()
        }
        _ => t.bytes().unwrap().to_vec(),
    }
}

fn export_dir_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn export_npy_every_dtype_sample_for_sample() {
    let f = build(None);
    let out = f.dir.join("out");
    let mut beside = export_dir_files(&f.dir);
    let a = session(&["export", "--out", out.to_str().unwrap()], &f.path)
        .assert()
        .success();
    let text = stdout_of(&a);
    assert!(text.ends_with(&format!(
        "exported version 3 of {} (npy, 13 traces) to {}\n",
        f.path.display(),
        out.display()
    )));
    assert!(text.contains(&format!(
        "wrote {} (77 samples bit -> npy |b1)\n",
        out.join("D0.npy").display()
    )));
    let s = load(&f.path, None);
    let mut files = vec!["session.json".to_string()];
    let doc: Value =
        serde_json::from_str(&fs::read_to_string(out.join("session.json")).unwrap()).unwrap();
    for (i, (name, t)) in s.traces().enumerate() {
        let fname = if name == "probe 2/../x" {
            "probe_2_.._x.npy".to_string()
        } else {
            format!("{name}.npy")
        };
        assert_eq!(doc["traces"][i]["name"], json!(name));
        assert_eq!(doc["traces"][i]["file"], json!(fname));
        let (d, shape, data) = read_npy(&out.join(&fname));
        assert_eq!(d, descr(t.dtype()), "{name}");
        assert_eq!(shape, vec![t.len()], "{name}");
        assert_eq!(data, numpy_bytes(t), "samples of {name}");
        // The library's own .npy reader gives back the same samples.
        let mut back = Session::new("back");
        let n = back.load_trace(out.join(&fname), Some("t")).unwrap();
        let u = back.trace(&n).unwrap();
        assert_eq!(u.len(), t.len());
        if t.dtype() == Dtype::Bit {
            assert_eq!(u.dtype(), Dtype::Bool);
            assert_eq!(u.as_slice::<bool>().unwrap(), &d0_bits()[..]);
        } else {
            assert_eq!(u.dtype(), t.dtype(), "{name}");
            assert_eq!(u.bytes().unwrap(), t.bytes().unwrap(), "{name}");
        }
        files.push(fname);
    }
    // session.json is the library's JSON with each trace's file name.
    let mut want = s.to_json();
    for (t, fname) in want["traces"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(&files[1..])
    {
        t.as_object_mut()
            .unwrap()
            .insert("file".into(), json!(fname));
    }
    assert_eq!(doc, want);
    files.sort();
    // Nothing else: no temporary files, nothing outside the directory.
    assert_eq!(export_dir_files(&out), files);
    beside.push("out".into());
    beside.sort();
    assert_eq!(
        export_dir_files(&f.dir),
        beside,
        "nothing written next to the session file"
    );
}

#[test]
fn export_never_overwrites_without_force() {
    let f = build(None);
    let out = f.dir.join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("D0.npy"), b"keep me").unwrap();
    let a = session(&["export", "--out", out.to_str().unwrap()], &f.path)
        .assert()
        .code(2);
    assert_one_line_error(&a, "D0.npy");
    assert!(stderr_of(&a).contains("already exists (use --force"));
    assert_eq!(fs::read(out.join("D0.npy")).unwrap(), b"keep me");
    assert_eq!(export_dir_files(&out), vec!["D0.npy"], "nothing written");

    session(
        &["export", "--force", "--out", out.to_str().unwrap()],
        &f.path,
    )
    .assert()
    .success();
    let (d, shape, data) = read_npy(&out.join("D0.npy"));
    assert_eq!((d.as_str(), shape), ("|b1", vec![77]));
    let want: Vec<u8> = d0_bits().iter().map(|b| u8::from(*b)).collect();
    assert_eq!(data, want);

    // session.json alone is protected too.
    let a = session(
        &["export", "--format", "json", "--out", out.to_str().unwrap()],
        &f.path,
    )
    .assert()
    .code(2);
    assert_one_line_error(&a, "session.json");
}

#[test]
fn export_csv_time_and_value_columns() {
    let f = build(None);
    let out = f.dir.join("csv");
    session(
        &[
            "export",
            "--format",
            "csv",
            "--version",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
        &f.path,
    )
    .assert()
    .success();
    let s = load(&f.path, Some(2));
    for (name, t) in s.traces() {
        let fname = if name == "probe 2/../x" {
            "probe_2_.._x.csv".to_string()
        } else {
            format!("{name}.csv")
        };
        let mut r = csv::Reader::from_path(out.join(&fname)).unwrap();
        let header = r.headers().unwrap().clone();
        let value_col = if t.info().units.is_empty() {
            name.to_string()
        } else {
            format!("{name} ({})", t.info().units)
        };
        assert_eq!(
            header.iter().collect::<Vec<_>>(),
            vec!["time (s)", value_col.as_str()]
        );
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        assert_eq!(rows.len() as u64, t.len(), "{name}");
        for (i, row) in rows.iter().enumerate() {
            let time: f64 = row[0].parse().unwrap();
            let want = t.info().start_time + i as f64 / t.info().sample_rate;
            assert_eq!(
                time.to_bits(),
                want.to_bits(),
                "{name} row {i}: {}",
                &row[0]
            );
            let v = &row[1];
            let ok = match t.dtype() {
                Dtype::F64 => {
                    v.parse::<f64>().unwrap().to_bits() == t.as_slice::<f64>().unwrap()[i].to_bits()
                }
                Dtype::F32 => {
                    v.parse::<f32>().unwrap().to_bits() == t.as_slice::<f32>().unwrap()[i].to_bits()
                }
                Dtype::I8 => v.parse::<i8>().unwrap() == t.as_slice::<i8>().unwrap()[i],
                Dtype::I16 => v.parse::<i16>().unwrap() == t.as_slice::<i16>().unwrap()[i],
                Dtype::I32 => v.parse::<i32>().unwrap() == t.as_slice::<i32>().unwrap()[i],
                Dtype::I64 => v.parse::<i64>().unwrap() == t.as_slice::<i64>().unwrap()[i],
                Dtype::U8 => v.parse::<u8>().unwrap() == t.as_slice::<u8>().unwrap()[i],
                Dtype::U16 => v.parse::<u16>().unwrap() == t.as_slice::<u16>().unwrap()[i],
                Dtype::U32 => v.parse::<u32>().unwrap() == t.as_slice::<u32>().unwrap()[i],
                Dtype::U64 => v.parse::<u64>().unwrap() == t.as_slice::<u64>().unwrap()[i],
                Dtype::Bool => {
                    v == if t.as_slice::<bool>().unwrap()[i] {
                        "1"
                    } else {
                        "0"
                    }
                }
                Dtype::Bit => v == if d0_bits()[i] { "1" } else { "0" },
            };
            assert!(ok, "{name} row {i}: {v}");
        }
    }
    // The CSV of CH1 reads back through the library's CSV importer.
    let mut back = Session::new("back");
    back.load_trace(out.join("CH1.csv"), Some("CH1")).unwrap();
    let u = back.trace("CH1").unwrap();
    assert_eq!(u.as_slice::<f64>().unwrap(), &wave()[..]);
    assert_eq!(u.info().units, "V");
    assert_eq!(u.info().start_time, -1e-4);
    assert!((u.info().sample_rate - 1e6).abs() < 1e-3);
    let doc: Value =
        serde_json::from_str(&fs::read_to_string(out.join("session.json")).unwrap()).unwrap();
    assert_eq!(doc["version"], json!(2));
    assert_eq!(doc["traces"][0]["file"], json!("CH1.csv"));
}

#[test]
fn export_json_only() {
    let f = build(None);
    let out = f.dir.join("j");
    let a = session(
        &["export", "--format", "json", "--out", out.to_str().unwrap()],
        &f.path,
    )
    .assert()
    .success();
    assert!(stdout_of(&a).contains("(json, 0 traces)"));
    assert_eq!(export_dir_files(&out), vec!["session.json"]);
    let doc: Value =
        serde_json::from_str(&fs::read_to_string(out.join("session.json")).unwrap()).unwrap();
    assert_eq!(doc, load(&f.path, None).to_json());
}

/// Issue 11: `info --json` and the exported session.json list each
/// history entry's parameters in the order they were given.
#[test]
fn info_json_and_export_keep_the_parameter_order() {
    let dir = tempdir().unwrap();
    let path = dir.path().join("o.evs");
    let mut s = Session::new("order");
    let mut e = HistoryEntry::new("apply_filter");
    e.parameters.insert("type".into(), json!("lowpass"));
    e.parameters.insert("cutoff".into(), json!(1e6));
    e.parameters.insert("a".into(), json!({"z": 1, "b": 2}));
    s.record_history(e).unwrap();
    s.save(Some(&path), &SaveOptions::default()).unwrap();
    let want = r#""parameters": {
        "type": "lowpass",
        "cutoff": 1000000.0,
        "a": {
          "b": 2,
          "z": 1
        }
      }"#;
    let a = session(&["info", "--json"], &path).assert().success();
    assert!(stdout_of(&a).contains(want), "{}", stdout_of(&a));
    let out = dir.path().join("x");
    session(
        &["export", "--format", "json", "--out", out.to_str().unwrap()],
        &path,
    )
    .assert()
    .success();
    let doc = fs::read_to_string(out.join("session.json")).unwrap();
    assert!(doc.contains(want), "{doc}");
    let v: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(v, load(&path, None).to_json());
}

// ------------------------------------------------------------------ compact

#[test]
fn compact_keeps_the_newest_version() {
    let f = build(None);
    let before = fs::metadata(&f.path).unwrap().len();
    let want = load(&f.path, None).to_json();
    let a = session(&["compact"], &f.path).assert().success();
    let after = fs::metadata(&f.path).unwrap().len();
    assert!(after < before);
    let v = versions(&f.path, None).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(
        stdout_of(&a),
        format!(
            "{}: compacted: kept version 3 (new commit {}); {before} -> {after} bytes\n",
            f.path.display(),
            v[0].commit
        )
    );
    let a = session(&["versions"], &f.path).assert().success();
    let out = stdout_of(&a);
    assert_eq!(out.lines().count(), 1);
    assert!(out.starts_with("   3  "), "{out}");
    assert!(out.trim_end().ends_with(&format!(
        "compacted from version 3 (commit {})",
        &f.saves[2].commit.to_hex()[..12]
    )));
    // Same content, new commit.
    let mut got = load(&f.path, None).to_json();
    let mut want = want;
    for v in [&mut got, &mut want] {
        v.as_object_mut().unwrap().remove("commit");
        for t in v["traces"].as_array_mut().unwrap() {
            t.as_object_mut().unwrap().remove("compressed");
            t.as_object_mut().unwrap().remove("mapped");
        }
    }
    assert_eq!(got, want);
    let a = session(&["compact", "--json"], &f.path).assert().success();
    let j: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(j["version"], json!(3));
    assert_eq!(j["bytes_before"], json!(after));
}

#[test]
fn compact_refuses_a_damaged_file() {
    let f = build(None);
    let v = versions(&f.path, None).unwrap();
    flip(&f.path, v[1].offset + 30);
    let bytes = fs::read(&f.path).unwrap();
    let a = session(&["compact"], &f.path).assert().code(1);
    assert_one_line_error(&a, &format!("byte offset {}", v[1].offset));
    assert_eq!(fs::read(&f.path).unwrap(), bytes, "file unchanged");
}

// ------------------------------------------------------------------ verify

#[test]
fn verify_a_valid_file() {
    let f = build(None);
    let a = session(&["verify"], &f.path).assert().success();
    let out = stdout_of(&a);
    let len = fs::metadata(&f.path).unwrap().len();
    let lib = verify_session(&f.path, None).unwrap();
    assert_eq!(lib.data_frames, 13);
    assert_eq!(
        out,
        format!(
            "{}: valid: 3 versions, {} records, 13 data frames, {} sample bytes checked, {len} bytes\n\
             newest loadable version: 3, commit {}\n",
            f.path.display(),
            lib.records,
            lib.sample_bytes_checked,
            f.saves[2].commit
        )
    );
    let a = session(&["verify", "--json"], &f.path).assert().success();
    let j: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(j["status"], "valid");
    assert_eq!(j["ok"], true);
    assert_eq!(j["head_commit"], json!(f.saves[2].commit.to_hex()));
}

#[test]
fn verify_names_the_offset_of_a_damaged_record() {
    let f = build(None);
    let v = versions(&f.path, None).unwrap();
    let at = v[1].offset; // the commit record of version 2
    flip(&f.path, at + 30);
    let a = session(&["verify"], &f.path).assert().code(1);
    let out = stdout_of(&a);
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "{}: TAMPERED/damaged at byte offset {at}: ",
            f.path.display()
        )),
        "{out}"
    );
    assert!(first.contains("damaged bytes"), "{out}");
    let n = verify_session(&f.path, None).unwrap().problems.len();
    assert_eq!(out.lines().count(), n + 2, "{out}");
    assert!(out.contains(&format!(": {n} problems (")), "{out}");
    assert!(out.ends_with(&format!(
        "newest loadable version: 1, commit {}\n",
        f.saves[0].commit
    )));
    let a = session(&["verify", "--json"], &f.path).assert().code(1);
    let j: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(j["status"], "invalid");
    assert_eq!(j["problems"][0]["offset"], json!(at));

    // The newest version cannot be trusted: info refuses it, naming the
    // offset; version 1 (before the damage) still loads.
    let a = session(&["info"], &f.path).assert().code(1);
    assert_one_line_error(&a, &format!("byte offset {at}"));
    // Pointed to verify once, with the file's name (the library's own
    // pointer, without it, was printed too).
    let err = stderr_of(&a);
    assert_eq!(err.matches("evident session verify").count(), 1, "{err}");
    assert!(err.contains("(run `evident session verify "), "{err}");
    session(&["info", "--version", "1"], &f.path)
        .assert()
        .success();
}

#[test]
fn damaged_samples_fail_verify_and_stop_export() {
    let f = build(None);
    let bytes = fs::read(&f.path).unwrap();
    let samples: Vec<u8> = wave().iter().flat_map(|x| x.to_le_bytes()).collect();
    let data_at = find(&bytes, &samples).unwrap();
    // The data frame's header: tag, hash length 32, flags 1.
    let frame = bytes[..data_at]
        .windows(8)
        .rposition(|w| w == [0xff, 0xff, 0xff, 0xff, 32, 0, 1, 0])
        .unwrap();
    flip(&f.path, data_at as u64 + 100);
    let a = session(&["verify"], &f.path).assert().code(1);
    let out = stdout_of(&a);
    assert!(
        out.contains(&format!(
            "data frame at byte offset {frame}: samples hash to"
        )),
        "{out}"
    );

    let out_dir = f.dir.join("out");
    let a = session(&["export", "--out", out_dir.to_str().unwrap()], &f.path)
        .assert()
        .code(1);
    assert_one_line_error(&a, "trace CH1");
    assert!(stderr_of(&a).contains(&format!("byte offset {frame}")));
    assert!(
        !out_dir.join("session.json").exists() && !out_dir.join("CH1.npy").exists(),
        "{:?}",
        export_dir_files(&out_dir)
    );
}

#[test]
fn truncated_file_torn_tail_is_noted_and_valid() {
    let f = build(None);
    let v = versions(&f.path, None).unwrap();
    let len = fs::metadata(&f.path).unwrap().len();
    // Cut inside the last commit record: version 3 was never complete.
    fs::OpenOptions::new()
        .write(true)
        .open(&f.path)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let a = session(&["verify"], &f.path).assert().success();
    let out = stdout_of(&a);
    assert!(out.contains(": valid: 2 versions,"), "{out}");
    assert!(out.contains(&format!(
        "newest loadable version: 2, commit {}",
        f.saves[1].commit
    )));
    assert!(
        out.contains(&format!("note: torn tail at byte offset {} (", v[2].offset)),
        "{out}"
    );
    let a = session(&["verify", "--json"], &f.path).assert().success();
    let j: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(j["status"], "torn_tail");
    assert_eq!(j["torn_tail_at"], json!(v[2].offset));
    let a = session(&["info"], &f.path).assert().success();
    assert!(stdout_of(&a).contains("\nversion: 2 (newest)\n"));
    let a = session(&["versions"], &f.path).assert().success();
    assert_eq!(stdout_of(&a).lines().count(), 2);

    // Cut inside the first commit: no complete version at all.
    fs::OpenOptions::new()
        .write(true)
        .open(&f.path)
        .unwrap()
        .set_len(v[0].offset + 5)
        .unwrap();
    let a = session(&["verify"], &f.path).assert().success();
    let out = stdout_of(&a);
    assert!(out.contains(": valid: 0 versions,"), "{out}");
    assert!(out.contains("the file holds no complete version"), "{out}");
    let a = session(&["versions"], &f.path).assert().success();
    assert!(stdout_of(&a).contains("no complete version"));
    let a = session(&["info"], &f.path).assert().code(2);
    assert_one_line_error(&a, "analysis.evs");
    assert!(stderr_of(&a).contains("no commit"), "{}", stderr_of(&a));
}

// ------------------------------------------------------------------ keys

#[test]
fn keyed_session_files() {
    let tmp = tempdir().unwrap();
    let (good, key) = key_file(tmp.path(), "good.key", 7);
    let (bad, _) = key_file(tmp.path(), "bad.key", 8);
    let f = build(Some(key));
    let good = good.to_str().unwrap();
    let bad = bad.to_str().unwrap();

    for cmd in ["verify", "info", "versions", "compact"] {
        let a = session(&[cmd], &f.path).assert().code(2);
        assert_one_line_error(&a, "analysis.evs");
        assert!(stderr_of(&a).contains("keyed"), "{cmd}: {}", stderr_of(&a));
        assert!(stderr_of(&a).contains("pass --key-file FILE"), "{cmd}");

        let a = session(&[cmd, "--key-file", bad], &f.path).assert().code(2);
        assert_one_line_error(&a, "analysis.evs");
        assert!(stderr_of(&a).contains("key"), "{cmd}: {}", stderr_of(&a));
    }
    let a = session(&["verify", "--key-file", good], &f.path)
        .assert()
        .success();
    assert!(stdout_of(&a).contains(": valid: 3 versions,"));
    let a = session(&["info", "--key-file", good], &f.path)
        .assert()
        .success();
    assert!(stdout_of(&a).contains("\nversion: 3 (newest)\n"));
    let out = f.dir.join("out");
    session(
        &["export", "--key-file", good, "--out", out.to_str().unwrap()],
        &f.path,
    )
    .assert()
    .success();
    assert!(out.join("CH1.npy").exists());

    // A key for a keyless file is refused too.
    let plain = build(None);
    let a = session(&["verify", "--key-file", good], &plain.path)
        .assert()
        .code(2);
    assert_one_line_error(&a, "keyless");
    // An unreadable key file.
    let a = session(&["verify", "--key-file", "/nonexistent/k"], &f.path)
        .assert()
        .code(2);
    assert_one_line_error(&a, "/nonexistent/k");
}

// ------------------------------------------------------------------ wrong files

fn audit_log(dir: &Path) -> PathBuf {
    let p = dir.join("audit.jsonl");
    let log = Log::open(&p, OpenOptions::new().durability(Durability::Buffered)).unwrap();
    log.append(&Event::new("ACTION_EXECUTED", "x")).unwrap();
    log.close().unwrap();
    p
}

#[test]
fn session_commands_refuse_other_files() {
    let dir = tempdir().unwrap();
    let log = audit_log(dir.path());
    let other = dir.path().join("notes.txt");
    fs::write(&other, "hello\n").unwrap();
    let empty = dir.path().join("empty.evs");
    fs::write(&empty, "").unwrap();
    let missing = dir.path().join("missing.evs");
    for cmd in ["verify", "info", "versions", "export", "compact"] {
        let a = session(&[cmd], &log).assert().code(2);
        assert_one_line_error(&a, "audit.jsonl");
        assert!(
            stderr_of(&a).contains("audit log, not a session file; use `evident verify`"),
            "{cmd}: {}",
            stderr_of(&a)
        );
        let a = session(&[cmd], &other).assert().code(2);
        assert_one_line_error(&a, "notes.txt");
        assert!(stderr_of(&a).contains("not a session file"));
        let a = session(&[cmd], &empty).assert().code(2);
        assert_one_line_error(&a, "empty.evs");
        let a = session(&[cmd], &missing).assert().code(2);
        assert_one_line_error(&a, "missing.evs");
        let a = session(&[cmd], dir.path()).assert().code(2);
        assert_one_line_error(&a, "not a regular file");
    }
    // A file cut inside the session magic is a damaged session file.
    let f = build(None);
    fs::OpenOptions::new()
        .write(true)
        .open(&f.path)
        .unwrap()
        .set_len(5)
        .unwrap();
    for cmd in ["verify", "info"] {
        let a = session(&[cmd], &f.path).assert().code(1);
        assert_one_line_error(&a, "file of 5 bytes ends inside the session header");
    }
}

#[test]
fn cut_inside_the_header_after_the_magic() {
    let f = build(None);
    fs::OpenOptions::new()
        .write(true)
        .open(&f.path)
        .unwrap()
        .set_len(12)
        .unwrap();
    let a = session(&["verify"], &f.path).assert().code(1);
    assert_one_line_error(&a, "ends inside the session header");
}

#[test]
fn log_commands_point_to_the_session_commands() {
    let f = build(None);
    let before = fs::read(&f.path).unwrap();
    let a = evident().arg("verify").arg(&f.path).assert().code(2);
    assert_one_line_error(&a, "analysis.evs");
    assert!(
        stderr_of(&a).contains(&format!(
            "this is a session file, not an audit log; use `evident session verify {}`",
            f.path.display()
        )),
        "{}",
        stderr_of(&a)
    );
    for args in [
        vec!["cat"],
        vec!["tail"],
        vec!["head"],
        vec!["stats"],
        vec!["export", "--format", "json"],
        vec!["repair"],
        vec!["append", "--event-type", "X", "--action", "y"],
    ] {
        let a = evident().args(&args).arg(&f.path).assert().code(2);
        assert_one_line_error(&a, "analysis.evs");
        assert!(
            stderr_of(&a)
                .contains("this is a session file, not an audit log; use `evident session "),
            "{args:?}: {}",
            stderr_of(&a)
        );
    }
    let a = evident()
        .arg("convert")
        .arg(&f.path)
        .arg(f.dir.join("x.evl"))
        .assert()
        .code(2);
    assert_one_line_error(&a, "session file");
    assert!(!f.dir.join("x.evl").exists());
    assert_eq!(
        fs::read(&f.path).unwrap(),
        before,
        "the file was not touched"
    );
}

#[test]
fn trace_verify_error_names_the_file() {
    let f = build(None);
    let bytes = fs::read(&f.path).unwrap();
    let samples: Vec<u8> = wave().iter().flat_map(|x| x.to_le_bytes()).collect();
    flip(&f.path, find(&bytes, &samples).unwrap() as u64 + 100);
    let s = load(&f.path, None);
    let e = s.trace("CH1").unwrap().verify().unwrap_err();
    assert!(
        e.to_string().starts_with(&f.path.display().to_string()),
        "{e}"
    );
}

#[test]
fn measure_and_compact_refuse_samples_that_do_not_match_their_hash() {
    let d = tempdir().unwrap();
    let p = d.path().join("t.evs");
    let mut s = Session::new("t");
    let wave: Vec<f64> = (0..2000).map(|i| (i as f64 / 20.0).sin()).collect();
    let mut info = TraceInfo::with_rate(1e3);
    info.units = "mV".into();
    s.add_trace("CH1", Trace::from_slice(&wave, info).unwrap())
        .unwrap();
    s.save(Some(&p), &SaveOptions::default()).unwrap();
    drop(s); // Windows refuses to rewrite a file that is still mapped
    let b = fs::read(&p).unwrap();
    let at = find(&b, &wave[1000].to_le_bytes()).unwrap();
    let a = evident()
        .args(["measure", "--json", "--what", "amplitude,frequency"])
        .arg(&p)
        .assert()
        .code(0);
    let j: Value = serde_json::from_str(&stdout_of(&a)).unwrap();
    assert_eq!(j["CH1"]["amplitude"]["unit"], "mV", "the samples' units");
    assert_eq!(j["CH1"]["frequency"]["unit"], "Hz");
    let not_a_session = d.path().join("x.txt");
    fs::write(&not_a_session, "not a session").unwrap();
    let a = evident()
        .arg("measure")
        .arg(&not_a_session)
        .assert()
        .code(2);
    assert_one_line_error(&a, "x.txt");
    flip(&p, at as u64);
    let before = fs::read(&p).unwrap();
    let a = evident()
        .args(["measure", "--what", "amplitude"])
        .arg(&p)
        .assert()
        .code(1);
    assert_one_line_error(&a, "t.evs");
    assert!(stderr_of(&a).contains("CH1"), "{}", stderr_of(&a));
    let a = session(&["compact"], &p).assert().code(1);
    assert_one_line_error(&a, "t.evs");
    assert_eq!(fs::read(&p).unwrap(), before, "compact changed nothing");
    session(&["verify"], &p).assert().code(1);
}

/// A compressed trace decoded under an address-space limit (`ulimit -v`).
/// Before: `session verify` called the intact file "TAMPERED/damaged"
/// (exit 1) when the zstd decoder could not allocate its window ("zstd:
/// Allocation error : not enough memory"), and `session verify` and
/// `session export` aborted ("memory allocation of 16000001 bytes
/// failed") on the buffer for the decoded samples, whose size the file
/// names. Now memory refused while decoding is an error naming the file
/// (exit 2), never a verdict on the data, and no allocation of the
/// samples' size aborts. (A small allocation right at the edge may still
/// abort: not what this is about.)
#[cfg(unix)]
#[test]
fn a_compressed_trace_under_a_memory_limit_is_never_called_damaged() {
    let tmp = tempdir().unwrap();
    let path = tmp.path().join("z.evs");
    let mut s = Session::new("compressed");
    // 16 MB of samples that compress to little: the decoded size, not
    // the file, is what needs the memory.
    let samples: Vec<f64> = (0..2_000_000).map(|i| f64::from(i % 1000)).collect();
    s.add_trace(
        "Z",
        Trace::from_slice(&samples, TraceInfo::with_rate(1e6)).unwrap(),
    )
    .unwrap();
    s.save(Some(&path), &SaveOptions::default().compress(Some(3)))
        .unwrap();
    drop(s);
    let bin = assert_cmd::cargo::cargo_bin("evident");
    let limited = |kib: u32, args: &[&str]| support::run_under_ulimit(&bin, "-v", kib, args);
    let base = support::smallest_address_space_kib(&bin);
    let p = path.to_str().unwrap();
    let out_dir = tmp.path().join("out");
    let out = out_dir.to_str().unwrap();
    let (mut ok, mut refused) = (0, 0);
    for kib in (base..=base + 50_000).step_by(500) {
        for args in [
            &["session", "verify", p][..],
            &[
                "session", "export", "--format", "npy", "--force", "--out", out, p,
            ][..],
        ] {
            let o = limited(kib, args);
            let stdout = String::from_utf8_lossy(&o.stdout);
            let stderr = String::from_utf8_lossy(&o.stderr);
            let at = format!("ulimit -v {kib}, {}", args[1]);
            assert!(
                !stdout.contains("TAMPERED") && !stderr.contains("TAMPERED"),
                "{at}: {stdout}{stderr}"
            );
            match support::under_memory_limit(&at, "z.evs", &o) {
                support::UnderLimit::Ran => ok += 1,
                support::UnderLimit::Refused => refused += 1,
                support::UnderLimit::Other(Some(1)) => {
                    panic!("{at}: a finding on an intact file: {stdout}{stderr}")
                }
                support::UnderLimit::Other(_) => {}
            }
        }
    }
    assert!(ok > 0, "never ran under any limit");
    assert!(refused > 0, "no limit was low enough");
}

/// `evident measure` of a large trace under `ulimit -v`: the measurements'
/// working buffers (the samples as doubles, the crossings, the FFT's
/// input, output, scratch and plan) are the size of the trace; memory
/// refused for them is an error naming the file (exit 2), never an abort.
/// (Aborts on small allocations, where the limit leaves no room for
/// anything, are tolerated as in the test above.)
#[cfg(unix)]
#[test]
fn measure_under_a_memory_limit_fails_cleanly() {
    // A prime length (the largest FFT plan, Bluestein's), a power of two
    // and twice a prime.
    for n in [300_007usize, 262_144, 300_002] {
        measure_under_memory_limits(n);
    }
}

#[cfg(unix)]
fn measure_under_memory_limits(n: usize) {
    let tmp = tempdir().unwrap();
    let path = tmp.path().join("m.evs");
    let mut s = Session::new("measure");
    let samples: Vec<f64> = (0..n)
        .map(|i| (i as f64 * 0.01).sin() + 0.2 * (i as f64 * 0.03).sin())
        .collect();
    s.add_trace(
        "W",
        Trace::from_slice(&samples, TraceInfo::with_rate(1e5)).unwrap(),
    )
    .unwrap();
    s.save(Some(&path), &SaveOptions::default()).unwrap();
    drop(s);
    let bin = assert_cmd::cargo::cargo_bin("evident");
    let base = support::smallest_address_space_kib(&bin);
    let p = path.to_str().unwrap();
    let (mut ok, mut refused) = (0, 0);
    for kib in (base..=base + 120_000).step_by(2_000) {
        let o = support::run_under_ulimit(&bin, "-v", kib, &["measure", "--json", p]);
        let at = format!("{n} samples, ulimit -v {kib}");
        match support::under_memory_limit(&at, "m.evs", &o) {
            support::UnderLimit::Ran => {
                let v: Value = serde_json::from_slice(&o.stdout).unwrap();
                assert!(v["W"]["thd"]["value"].is_number(), "{at}: {v}");
                ok += 1;
            }
            support::UnderLimit::Refused => refused += 1,
            support::UnderLimit::Other(code) => assert!(
                code.is_none(),
                "{at}: exit {code:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            ),
        }
    }
    assert!(ok > 0, "{n} samples: never ran under any limit");
    assert!(refused > 0, "{n} samples: no limit was low enough");
}
