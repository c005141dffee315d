//! Session container: round trips, versions, incremental saves, compaction,
//! verification, truncation at every offset, tampering.

use evident::session::*;
use evident::{Error, Key};
use serde_json::json;
use std::path::Path;

fn sample_session() -> Session {
    let mut s = Session::new("Power rail");
    s.metadata_mut().insert("operator".into(), json!("alice"));
    let wave: Vec<f64> = (0..1000).map(|i| (i as f64 / 50.0).sin()).collect();
    let mut info = TraceInfo::with_rate(1e6);
    info.units = "V".into();
    info.start_time = -1e-4;
    info.metadata.insert("probe".into(), json!("10x"));
    s.add_trace("CH1", Trace::from_slice(&wave, info).unwrap())
        .unwrap();
    let bits: Vec<bool> = (0..77).map(|i| i % 3 == 0).collect();
    s.add_trace(
        "D0",
        Trace::from_slice(&bits, TraceInfo::with_rate(1e3)).unwrap(),
    )
    .unwrap();
    s.annotate("default", Annotation::new("spike").at(1.5e-6))
        .unwrap();
    s.annotate("protocol", Annotation::new("packet").over(2e-6, 5e-6))
        .unwrap();
    let mut m = Measurement::new("rise_time", 2.3e-9, "s");
    m.trace_name = Some("CH1".into());
    m.metadata.insert("standard".into(), json!("IEEE 181-2011"));
    s.record_measurement(m).unwrap();
    let mut h = HistoryEntry::new("load_trace");
    h.parameters.insert("path".into(), json!("capture.wfm"));
    h.duration_ms = 45.3;
    s.record_history(h).unwrap();
    s
}

fn same_content(a: &Session, b: &Session) {
    let strip = |s: &Session| {
        let mut v = s.to_json();
        for k in ["path", "version", "commit"] {
            v.as_object_mut().unwrap().remove(k);
        }
        for t in v["traces"].as_array_mut().unwrap() {
            t.as_object_mut().unwrap().remove("mapped");
            t.as_object_mut().unwrap().remove("compressed");
        }
        v
    };
    assert_eq!(strip(a), strip(b));
    for (name, t) in a.traces() {
        let u = b.trace(name).unwrap();
        assert_eq!(t.bytes().unwrap(), u.bytes().unwrap(), "samples of {name}");
    }
}

#[test]
fn round_trip_versions_incremental_compact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.evs");
    let mut s = sample_session();
    let orig = s.clone();
    let i1 = s.save(Some(&path), &SaveOptions::default()).unwrap();
    assert_eq!(i1.version, 1);
    assert_eq!(i1.traces_written, 2);
    let back = Session::load(&path, &LoadOptions::default()).unwrap();
    same_content(&orig, &back);
    assert!(back.trace("CH1").unwrap().is_mapped());
    back.trace("CH1").unwrap().verify().unwrap();

    // Second save after an annotation only: traces are reused.
    s.annotate("default", Annotation::new("second").at(3.0))
        .unwrap();
    let len_before = std::fs::metadata(&path).unwrap().len();
    let i2 = s.save(None, &SaveOptions::default()).unwrap();
    assert_eq!(i2.version, 2);
    assert_eq!(i2.traces_written, 0);
    assert_eq!(i2.traces_reused, 2);
    let grew = std::fs::metadata(&path).unwrap().len() - len_before;
    assert!(grew < 4000, "second save appended {grew} bytes");

    let vs = versions(&path, None).unwrap();
    assert_eq!(vs.iter().map(|v| v.version).collect::<Vec<_>>(), vec![1, 2]);
    let v1 = Session::load(&path, &LoadOptions::default().key(None).version(Some(1))).unwrap();
    assert_eq!(v1.annotations(Some("default"), None).len(), 1);
    let v2 = Session::load(&path, &LoadOptions::default()).unwrap();
    assert_eq!(v2.annotations(Some("default"), None).len(), 2);
    same_content(&s, &v2);

    let rep = verify_session(&path, None).unwrap();
    assert!(rep.ok, "{rep:?}");
    assert_eq!(rep.versions, 2);

    let c = compact(&path, None).unwrap();
    assert_eq!(c.version, 2);
    let vs = versions(&path, None).unwrap();
    assert_eq!(vs.len(), 1);
    assert_eq!(
        vs[0].compacted_from.as_ref().unwrap().commit,
        i2.commit.to_hex()
    );
    let v2c = Session::load(&path, &LoadOptions::default()).unwrap();
    same_content(&s, &v2c);
    assert!(verify_session(&path, None).unwrap().ok);

    // The session bound to the pre-compaction file saves a full new version.
    s.record_measurement(Measurement::new("f", 1000.0, "Hz"))
        .unwrap();
    let i3 = s.save(None, &SaveOptions::default()).unwrap();
    assert_eq!(i3.version, 3);
    assert_eq!(i3.traces_written, 2);
    same_content(&s, &Session::load(&path, &LoadOptions::default()).unwrap());
}

#[test]
fn compression_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.evs");
    let key = Key::new(vec![7u8; 32]).unwrap();
    let mut s = sample_session();
    let opts = SaveOptions::default()
        .compress(Some(3))
        .key(Some(key.clone()));
    s.save(Some(&path), &opts).unwrap();
    let back = Session::load(
        &path,
        &LoadOptions::default().key(Some(key.clone())).version(None),
    )
    .unwrap();
    assert!(back.trace("CH1").unwrap().is_compressed());
    same_content(&s, &back);
    assert!(matches!(
        Session::load(&path, &LoadOptions::default()),
        Err(Error::WrongKey { .. })
    ));
    let other = Key::new(vec![8u8; 32]).unwrap();
    assert!(matches!(
        Session::load(
            &path,
            &LoadOptions::default().key(Some(other)).version(None)
        ),
        Err(Error::WrongKey { .. })
    ));
    assert!(verify_session(&path, Some(&key)).unwrap().ok);
    compact(&path, Some(&key)).unwrap();
    same_content(
        &s,
        &Session::load(&path, &LoadOptions::default().key(Some(key)).version(None)).unwrap(),
    );
}

fn load_ok(path: &Path) -> Result<Session, Error> {
    Session::load(path, &LoadOptions::default())
}

#[test]
fn truncated_at_every_offset_loads_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.evs");
    let mut s = sample_session();
    s.save(Some(&path), &SaveOptions::default()).unwrap();
    let v1_len = std::fs::metadata(&path).unwrap().len();
    let v1 = load_ok(&path).unwrap();
    s.annotate("x", Annotation::new("later")).unwrap();
    s.add_trace(
        "CH2",
        Trace::from_slice(&[1i16, 2, 3], TraceInfo::default()).unwrap(),
    )
    .unwrap();
    s.save(None, &SaveOptions::default()).unwrap();
    let full = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.evs");
    for n in 0..full.len() {
        std::fs::write(&cut, &full[..n]).unwrap();
        let r = load_ok(&cut);
        if (n as u64) < v1_len {
            // No complete version yet: a clear error, never a panic.
            assert!(r.is_err(), "prefix {n}");
        } else if n < full.len() {
            let got = r.unwrap_or_else(|e| panic!("prefix {n}: {e}"));
            assert_eq!(got.version(), Some(1), "prefix {n}");
            same_content(&v1, &got);
        }
    }
    // A save on a torn file moves the tail aside and continues.
    std::fs::write(&cut, &full[..full.len() - 3]).unwrap();
    let mut again = load_ok(&cut).unwrap();
    again.annotate("y", Annotation::new("after crash")).unwrap();
    let info = again.save(None, &SaveOptions::default()).unwrap();
    assert_eq!(info.version, 2);
    let rep = verify_session(&cut, None).unwrap();
    assert!(rep.ok && rep.torn_tail_at.is_none(), "{rep:?}");
    let sidecars: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".torn-"))
        .collect();
    assert_eq!(sidecars.len(), 1);
}

#[test]
fn every_flipped_byte_is_detected_or_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.evs");
    let mut s = sample_session();
    s.save(Some(&path), &SaveOptions::default()).unwrap();
    let full = std::fs::read(&path).unwrap();
    let bad = dir.path().join("bad.evs");
    // Every byte outside CH1's 8000 sample bytes (the first data frame),
    // and every 61st inside them.
    let data_from = 300;
    let data_to = data_from + 8064;
    for i in (0..full.len()).filter(|i| !(data_from..data_to).contains(i) || i % 61 == 0) {
        let mut b = full.clone();
        b[i] ^= 0x01;
        std::fs::write(&bad, &b).unwrap();
        let rep = verify_session(&bad, None);
        match rep {
            Err(_) => {}
            Ok(r) => assert!(!r.ok || r.torn_tail_at.is_some(), "flip at {i} undetected"),
        }
        // Loading never panics; if it succeeds the content is the original
        // or the damage is only in samples (caught by Trace::verify).
        if let Ok(l) = load_ok(&bad) {
            let all_ok = l.traces().all(|(_, t)| t.verify().is_ok());
            if all_ok {
                same_content(&s, &l);
            }
        }
    }
}

#[test]
fn errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let l = evident::Log::open(&log, evident::OpenOptions::new()).unwrap();
    let path = dir.path().join("s.evs");
    let mut s = sample_session();
    s.set_layer(&LayerProps {
        name: "protocol".into(),
        locked: Some(true),
        ..Default::default()
    })
    .unwrap();
    assert!(matches!(
        s.annotate("protocol", Annotation::new("no")),
        Err(Error::LayerLocked { .. })
    ));
    assert!(matches!(
        s.remove_trace("nope"),
        Err(Error::NotFound { .. })
    ));
    let info = s
        .save(Some(&path), &SaveOptions::default().audit(&l))
        .unwrap();
    l.close().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(&info.commit.to_hex()));
    let e = load_ok(&log).unwrap_err().to_string();
    assert!(e.contains("audit log, not a session file"), "{e}");
    std::fs::write(dir.path().join("junk"), b"hello").unwrap();
    assert!(load_ok(&dir.path().join("junk")).is_err());
}

/// Unix: a live process is this one's parent (`parent_id`, Unix only).
#[cfg(unix)]
#[test]
fn stale_temporary_files_of_dead_processes_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.evs");
    // A temporary file of a process that no longer exists (pids are below
    // 2^22 on Linux), one of a live process (this one's parent), and an
    // unrelated hidden file.
    let dead = dir.path().join(".s.evs.compacting-4194999-00aa");
    let live = dir.path().join(format!(
        ".s.evs.compacting-{}-00bb",
        std::os::unix::process::parent_id()
    ));
    let other = dir.path().join(".s.evs.notes");
    for f in [&dead, &live, &other] {
        std::fs::write(f, b"partial").unwrap();
    }
    let mut s = sample_session();
    s.save(Some(&path), &SaveOptions::default()).unwrap();
    compact(&path, None).unwrap();
    assert!(!dead.exists());
    assert!(live.exists() && other.exists());
    assert_eq!(load_ok(&path).unwrap().version(), Some(1));
}

/// A copy of a saved session whose CH1 samples have one byte changed (the
/// samples of `sample_session`'s sine, found by their bytes), with or
/// without compression.
fn tampered_copy(dir: &Path, compress: Option<i32>) -> std::path::PathBuf {
    let p = dir.join(format!("t{}.evs", compress.is_some()));
    let mut s = sample_session();
    let mut opts = SaveOptions::default();
    opts.compress = compress;
    s.save(Some(&p), &opts).unwrap();
    drop(s); // Windows refuses to rewrite a file that is still mapped
    let mut b = std::fs::read(&p).unwrap();
    let at = if compress.is_some() {
        // The first data frame's bytes: after the header and genesis.
        b.len() / 3
    } else {
        let needle = (10.0f64 / 50.0).sin().to_le_bytes();
        b.windows(8).position(|w| w == needle).unwrap()
    };
    b[at] ^= 0x40;
    std::fs::write(&p, &b).unwrap();
    let rep = verify_session(&p, None).unwrap();
    assert!(!rep.ok, "the copy is damaged: {:?}", rep.problems);
    p
}

#[test]
fn compaction_refuses_samples_that_do_not_match_their_hash() {
    // Compacting must not launder altered samples into a file whose new
    // hashes are computed over them.
    let d = tempfile::tempdir().unwrap();
    for compress in [None, Some(3)] {
        let p = tampered_copy(d.path(), compress);
        let before = std::fs::read(&p).unwrap();
        let r = compact(&p, None);
        let rep = verify_session(&p, None).unwrap();
        assert!(!rep.ok, "{compress:?}: the evidence is still there");
        if compress.is_none() {
            let e = r.unwrap_err();
            assert!(matches!(e, Error::Corrupt { .. }), "{e}");
            assert!(e.to_string().contains("CH1"), "{e}");
            assert_eq!(std::fs::read(&p).unwrap(), before);
        }
    }
}

#[test]
fn saving_a_loaded_session_elsewhere_refuses_altered_samples() {
    let d = tempfile::tempdir().unwrap();
    let p = tampered_copy(d.path(), None);
    let mut s = Session::load(&p, &LoadOptions::default()).unwrap();
    let other = d.path().join("copy.evs");
    let e = s.save(Some(&other), &SaveOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("CH1"), "{e}");
    // Compressing on the way does not launder them either.
    let mut z = SaveOptions::default();
    z.compress = Some(3);
    let e = s.save(Some(&d.path().join("z.evs")), &z).unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
}

/// A save into an existing empty file (`mkstemp`, `touch`) is refused as
/// not a session file unless asked (`adopt_empty`); asked, the empty file
/// becomes a session file with its permission bits, counted as created,
/// and a file with content is never replaced.
#[test]
fn a_save_into_an_empty_file_adopts_it_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pre.evs");
    std::fs::File::create(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let mut s = sample_session();
    let orig = s.clone();
    s.save(Some(&path), &SaveOptions::default()).unwrap_err();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "left as it was");
    let info = s
        .save(Some(&path), &SaveOptions::default().adopt_empty(true))
        .unwrap();
    assert_eq!(info.version, 1);
    assert_eq!(
        info.bytes_written,
        std::fs::metadata(&path).unwrap().len(),
        "the new file's header and genesis count as written"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }
    let back = Session::load(&path, &LoadOptions::default()).unwrap();
    same_content(&orig, &back);
    assert!(verify_session(&path, None).unwrap().problems.is_empty());
    // The next save appends a version, whatever the option says.
    s.annotate("default", Annotation::new("later").at(1.0))
        .unwrap();
    let info = s
        .save(None, &SaveOptions::default().adopt_empty(true))
        .unwrap();
    assert_eq!(info.version, 2);
    // Content that is not a session file is refused and kept.
    let other = dir.path().join("other.tks");
    std::fs::write(&other, b"\x80\x04pickle").unwrap();
    let mut t = sample_session();
    t.save(Some(&other), &SaveOptions::default().adopt_empty(true))
        .unwrap_err();
    assert_eq!(std::fs::read(&other).unwrap(), b"\x80\x04pickle");
}

/// A TraceKit user's old `.tks` (a pickle, gzip-compressed by default)
/// under the name a script saves to: the load says what it is and that
/// evident never loads pickles; the save says it never writes over it and
/// what to do. Neither touches the file.
#[test]
fn an_old_tracekit_pickle_is_named_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, what) in [
        ("gz.tks", &b"\x1f\x8b\x08\x00rest"[..], "gzip data"),
        ("raw.tks", &b"\x80\x04\x95\x10\x00rest"[..], "Python pickle"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = Session::load(&path, &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(what) && err.contains("never loads pickles"),
            "{err}"
        );
        let err = sample_session()
            .save(Some(&path), &SaveOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains(what), "{err}");
        assert!(
            err.contains("never writes over a file that is not an evident session file"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
}

/// TraceKit's `OperationHistory.auto_record` is saved with the session:
/// written in `meta` only when off (spec/session.md § 4.3), so that other
/// sessions are written as before the member existed.
#[test]
fn history_auto_record_is_saved_only_when_off() {
    let dir = tempfile::tempdir().unwrap();
    let on = dir.path().join("on.tks");
    let off = dir.path().join("off.tks");
    let mut s = sample_session();
    assert!(s.history_auto_record());
    s.save(Some(&on), &SaveOptions::default().compress(None))
        .unwrap();
    let text = std::fs::read(&on).unwrap();
    assert!(!text.windows(19).any(|w| w == b"history_auto_record"));
    assert!(load_ok(&on).unwrap().history_auto_record());
    assert!(s.to_json().get("history_auto_record").is_none());

    s.set_history_auto_record(false);
    assert_eq!(s.to_json()["history_auto_record"], json!(false));
    s.save(Some(&off), &SaveOptions::default().compress(None))
        .unwrap();
    let text = std::fs::read(&off).unwrap();
    assert!(text
        .windows(27)
        .any(|w| w == br#""history_auto_record":false"#));
    let mut back = load_ok(&off).unwrap();
    assert!(!back.history_auto_record());
    // Turned on again: a new version that reads back as on.
    back.set_history_auto_record(true);
    back.save(None, &SaveOptions::default().compress(None))
        .unwrap();
    assert!(load_ok(&off).unwrap().history_auto_record());
}
