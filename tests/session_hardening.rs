//! Regression tests of the session store's hardening (issue 9): a file
//! renamed over while it is loaded, bool samples in a shared mapping,
//! compaction of a private file and through a symbolic link, and the
//! commit checks of spec/session.md § 4.4.
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

use evident::session::*;
use evident::{Error, Key};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn key() -> Key {
    Key::new(vec![0x5a; 32]).unwrap()
}

fn keyed(k: &Key) -> LoadOptions {
    LoadOptions::default().key(Some(k.clone())).version(None)
}

fn ripple(s: &Session) -> Option<f64> {
    s.measurements()
        .iter()
        .find(|m| m.name == "ripple_vpp")
        .and_then(|m| m.value.as_f64())
}

/// Finding 14: a load must never return content from a forged file as
/// verified. The forger (without the key) swaps the file for a copy whose
/// measurement says 9.75 instead of 1.25, renaming files over the path
/// while the victim loads it; before the fix the loader checked one open
/// of the path and parsed another.
#[test]
fn load_never_mixes_two_files_renamed_over_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let k = key();
    let path = dir.path().join("s.evs");
    let mut s = Session::new("rails");
    let wave: Vec<f64> = (0..20000).map(|i| (i as f64 * 0.01).sin()).collect();
    s.add_trace(
        "CH1",
        Trace::from_slice(&wave, TraceInfo::with_rate(1e6)).unwrap(),
    )
    .unwrap();
    for i in 0..50 {
        s.annotate("notes", Annotation::new(format!("note {i}")).at(i as f64))
            .unwrap();
    }
    s.record_measurement(Measurement::new("ripple_vpp", 1.25, "V"))
        .unwrap();
    s.save(Some(&path), &SaveOptions::default().key(Some(k.clone())))
        .unwrap();
    let legit = std::fs::read(&path).unwrap();
    let at = legit
        .windows(4)
        .position(|w| w == b"1.25")
        .expect("the measurement value");
    let mut forged = legit.clone();
    forged[at..at + 4].copy_from_slice(b"9.75");
    let (a, b) = (dir.path().join("legit"), dir.path().join("forged"));
    std::fs::write(&a, &legit).unwrap();
    std::fs::write(&b, &forged).unwrap();
    // The forged file alone never loads.
    std::fs::copy(&b, &path).unwrap();
    assert!(Session::load(&path, &keyed(&k)).is_err());

    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, dir, path) = (stop.clone(), dir.path().to_path_buf(), path.clone());
        let (a, b) = (a.clone(), b.clone());
        std::thread::spawn(move || {
            let tmp = dir.join("tmp");
            while !stop.load(Ordering::Relaxed) {
                for src in [&a, &b] {
                    let _ = std::fs::remove_file(&tmp);
                    std::fs::hard_link(src, &tmp).unwrap();
                    std::fs::rename(&tmp, &path).unwrap();
                }
            }
        })
    };
    let (mut legit_loads, mut forged_loads, mut errors) = (0, 0, 0);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(6) && forged_loads == 0 {
        match Session::load(&path, &keyed(&k)) {
            Ok(s) if ripple(&s) == Some(1.25) => legit_loads += 1,
            Ok(s) => {
                eprintln!("forged load: ripple {:?}", ripple(&s));
                forged_loads += 1;
            }
            Err(_) => errors += 1,
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    eprintln!("{legit_loads} legit loads, {forged_loads} forged, {errors} refused");
    assert_eq!(forged_loads, 0, "a forged value was loaded as verified");
    assert!(legit_loads > 0);
}

/// Finding 16: a `&[bool]` handed out by `as_slice` must not be memory that
/// another program can change: writing 2 into the file afterwards (same
/// inode, as any writer of the file can) must not reach the slice.
#[test]
fn bool_slice_is_not_the_shared_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.evs");
    let mut s = Session::new("bools");
    let bits: Vec<bool> = (0..4096).map(|i| i % 3 == 0).collect();
    s.add_trace(
        "D0",
        Trace::from_slice(&bits, TraceInfo::with_rate(1e3)).unwrap(),
    )
    .unwrap();
    s.save(Some(&path), &SaveOptions::default()).unwrap();
    let back = Session::load(&path, &LoadOptions::default()).unwrap();
    let t = back.trace("D0").unwrap();
    assert!(t.is_mapped());
    let slice = t.as_slice::<bool>().unwrap();
    assert_eq!(slice, &bits[..]);
    // Where sample 5 is in the file: the mapped bytes.
    let bytes = t.bytes().unwrap();
    let file = std::fs::read(&path).unwrap();
    let data_at = file
        .windows(bytes.len())
        .position(|w| w == bytes)
        .expect("the samples in the file");
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all_at(&[2], (data_at + 5) as u64).unwrap();
    drop(f);
    // The write reached the mapping (bytes are shared)...
    assert_eq!(t.bytes().unwrap()[5], 2, "the mapping is shared");
    // ...but never the bool slice: read its bytes as u8 (reading them as
    // bool would be undefined behaviour if one were 2).
    let raw = unsafe { std::slice::from_raw_parts(slice.as_ptr().cast::<u8>(), slice.len()) };
    assert!(
        raw.iter().all(|b| *b <= 1),
        "a bool in the slice is {}",
        raw[5]
    );
    // A new view of the same trace stays valid too.
    let again = t.as_slice::<bool>().unwrap();
    let raw = unsafe { std::slice::from_raw_parts(again.as_ptr().cast::<u8>(), again.len()) };
    assert!(raw.iter().all(|b| *b <= 1));
    // Numbers keep their zero-copy view of the mapping.
    let back2 = Session::load(&path, &LoadOptions::default());
    assert!(back2.is_ok());
}

fn small_session(path: &Path, versions: u64) {
    let mut s = Session::new("small");
    for v in 1..=versions {
        s.annotate("a", Annotation::new(format!("v{v}")).at(v as f64))
            .unwrap();
        s.save(Some(path), &SaveOptions::default()).unwrap();
    }
}

/// Finding 17: compaction keeps the file's permissions (a 0600 file stays
/// 0600, never readable by others, not even while it is written).
#[test]
fn compact_keeps_the_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("private.evs");
    small_session(&path, 3);
    for mode in [0o600, 0o640, 0o604, 0o400] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let before = std::fs::metadata(&path).unwrap();
        compact(&path, None).unwrap();
        let after = std::fs::metadata(&path).unwrap();
        assert_ne!(before.ino(), after.ino(), "compaction writes a new file");
        assert_eq!(after.mode() & 0o7777, mode, "mode after compaction");
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
        // And it is still a good session file.
        assert!(verify_session(&path, None).unwrap().ok);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut s = Session::load(&path, &LoadOptions::default()).unwrap();
        s.annotate("a", Annotation::new("more")).unwrap();
        s.save(None, &SaveOptions::default()).unwrap();
    }
}

/// Finding 17: compacting through a symbolic link compacts the file it
/// names and keeps the link a link.
#[test]
fn compact_through_a_symlink_compacts_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let real_dir = dir.path().join("real");
    std::fs::create_dir(&real_dir).unwrap();
    let target = real_dir.join("target.evs");
    small_session(&target, 4);
    let link = dir.path().join("link.evs");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let info = compact(&link, None).unwrap();
    assert_eq!(info.version, 4);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
    assert_eq!(std::fs::read_link(&link).unwrap(), target);
    let vs = versions(&target, None).unwrap();
    assert_eq!(vs.len(), 1, "the target was not compacted: {vs:?}");
    assert!(vs[0].compacted_from.is_some());
    let s = Session::load(&link, &LoadOptions::default()).unwrap();
    assert_eq!(s.version(), Some(4));
    // No temporary file left in either directory.
    for d in [dir.path(), real_dir.as_path()] {
        let names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }
}

// ------------------------------------------------------------ commit checks --

/// The frames of a session file: (start, end, body range) of each record
/// frame, in order.
fn record_frames(b: &[u8]) -> Vec<(usize, usize, std::ops::Range<usize>)> {
    let le32 = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    let le64 = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize;
    let mut out = Vec::new();
    let mut at = 16;
    while at < b.len() {
        if le32(at) == 0xFFFF_FFFF {
            let (n, pad) = (le64(at + 8), le32(at + 16));
            at += 20 + pad + n + 36;
        } else {
            let n = le32(at);
            let end = at + 8 + n + 32 + 8;
            out.push((at, end, at + 8..at + 8 + n));
            at = end;
        }
    }
    out
}

/// Rewrites the last record (a commit) of a keyless file with `edit`
/// applied to its body, recomputing its SHA-256 and CRC: a consistent chain
/// whose commit says something false.
fn rewrite_last_commit(path: &Path, edit: impl Fn(&mut Value)) {
    let b = std::fs::read(path).unwrap();
    let (at, end, body) = record_frames(&b).pop().unwrap();
    assert_eq!(end, b.len());
    let mut v: Value = serde_json::from_slice(&b[body]).unwrap();
    assert_eq!(v["kind"], "commit");
    edit(&mut v);
    let body = serde_json::to_vec(&v).unwrap();
    let mut frame = Vec::new();
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&32u16.to_le_bytes());
    frame.extend_from_slice(&0u16.to_le_bytes());
    frame.extend_from_slice(&body);
    frame.extend_from_slice(&Sha256::digest(&body));
    let crc = crc32fast::hash(&frame);
    frame.extend_from_slice(&crc.to_le_bytes());
    let len = frame.len() as u32 + 4;
    frame.extend_from_slice(&len.to_le_bytes());
    let mut out = b[..at].to_vec();
    out.extend_from_slice(&frame);
    std::fs::write(path, out).unwrap();
}

/// spec/session.md § 4.4 and § 5: a commit's `version`, `parent`, the
/// `content` hash of each section and its `counts` are checked when the
/// version is loaded (and so by verify, which loads every version).
#[test]
fn commit_members_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::new("commits");
    let wave: Vec<f64> = (0..100).map(|i| i as f64).collect();
    s.add_trace(
        "CH1",
        Trace::from_slice(&wave, TraceInfo::with_rate(1e3)).unwrap(),
    )
    .unwrap();
    s.annotate("a", Annotation::new("one")).unwrap();
    s.record_measurement(Measurement::new("m", 1.0, "V"))
        .unwrap();
    let good = dir.path().join("good.evs");
    s.save(Some(&good), &SaveOptions::default()).unwrap();
    s.annotate("a", Annotation::new("two")).unwrap();
    s.save(None, &SaveOptions::default()).unwrap();
    // The untouched rewrite loads: the helper itself is faithful.
    let same = dir.path().join("same.evs");
    std::fs::copy(&good, &same).unwrap();
    rewrite_last_commit(&same, |_| {});
    assert!(Session::load(&same, &LoadOptions::default()).is_ok());
    assert!(verify_session(&same, None).unwrap().ok);

    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("version", Box::new(|v| v["version"] = json!(3))),
        ("version 1 again", Box::new(|v| v["version"] = json!(1))),
        ("parent", Box::new(|v| v["parent"] = json!("00".repeat(32)))),
        ("no parent", Box::new(|v| v["parent"] = Value::Null)),
        (
            "content",
            Box::new(|v| {
                let s = v["sections"].as_array_mut().unwrap();
                s[0]["content"] = json!("11".repeat(32));
            }),
        ),
        (
            "counts.traces",
            Box::new(|v| v["counts"]["traces"] = json!(2)),
        ),
        (
            "counts.annotations",
            Box::new(|v| v["counts"]["annotations"] = json!(5)),
        ),
        (
            "counts.trace_bytes",
            Box::new(|v| v["counts"]["trace_bytes"] = json!(8)),
        ),
        (
            "counts.history",
            Box::new(|v| v["counts"]["history"] = json!(9)),
        ),
        (
            "compacted_from",
            Box::new(|v| v["compacted_from"] = json!({"commit": "00".repeat(32), "version": 2})),
        ),
        // § 4.4: a reference's name is the trace record's name, and a
        // section is named once (else readers would disagree on which
        // name or which section counts).
        (
            "trace reference renamed",
            Box::new(|v| v["traces"][0]["name"] = json!("CH2")),
        ),
        (
            "section named twice",
            Box::new(|v| {
                let s = v["sections"].as_array_mut().unwrap();
                let first = s[0].clone();
                s.push(first);
            }),
        ),
    ];
    for (what, edit) in cases {
        let p = dir
            .path()
            .join(format!("bad-{}.evs", what.replace(' ', "-")));
        std::fs::copy(&good, &p).unwrap();
        rewrite_last_commit(&p, edit);
        match Session::load(&p, &LoadOptions::default()) {
            Err(Error::Corrupt { msg, .. }) => eprintln!("{what}: {msg}"),
            Err(e) => panic!("{what}: not a corrupt error: {e}"),
            Ok(s) => panic!("{what}: loaded version {:?}", s.version()),
        }
        let r = verify_session(&p, None).unwrap();
        assert!(!r.ok, "{what}: verify ok");
        // The version before it still loads (by number, unless the bad
        // commit claims that number too).
        if what == "version 1 again" {
            continue;
        }
        let v1 = Session::load(&p, &LoadOptions::default().key(None).version(Some(1)));
        assert!(v1.is_ok(), "{what}: version 1: {v1:?}");
    }
}

/// Finding 15, the other side: after a save without sync, damage that no
/// lost page explains (one flipped byte, in the samples or in a record) is
/// damage, reported, never taken for an interrupted save and moved aside.
#[test]
fn flipped_byte_after_a_save_without_sync_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u.evs");
    let mut s = Session::new("unsynced");
    s.annotate("a", Annotation::new("v1")).unwrap();
    s.save(Some(&path), &SaveOptions::default()).unwrap();
    let wave: Vec<f64> = (0..4096).map(|i| (i as f64 * 0.01).sin() + 3.0).collect();
    s.add_trace(
        "CH1",
        Trace::from_slice(&wave, TraceInfo::with_rate(1e6)).unwrap(),
    )
    .unwrap();
    s.annotate("a", Annotation::new("second version")).unwrap();
    s.save(None, &SaveOptions::default().sync(false)).unwrap();
    let good = std::fs::read(&path).unwrap();
    let samples: Vec<u8> = wave.iter().flat_map(|x| x.to_le_bytes()).collect();
    let in_samples = good.windows(64).position(|w| w == &samples[..64]).unwrap() + 1000;
    let in_record = good
        .windows(14)
        .position(|w| w == b"second version")
        .unwrap();
    for (what, at) in [("samples", in_samples), ("record", in_record)] {
        let p = dir.path().join(format!("{what}.evs"));
        let mut b = good.clone();
        b[at] ^= 0x01;
        std::fs::write(&p, &b).unwrap();
        match Session::load(&p, &LoadOptions::default()) {
            Err(Error::Corrupt { .. }) => {}
            other => panic!(
                "{what}: {:?} {:?}",
                other.map(|s| s.version()),
                verify_session(&p, None)
            ),
        }
        let r = verify_session(&p, None).unwrap();
        assert!(!r.ok, "{what}: {r:?}");
        assert!(r.incomplete_versions.is_empty(), "{what}: {r:?}");
        // Version 1 still loads; a save is refused (damage is not moved).
        let opts = LoadOptions::default().key(None).version(Some(1));
        let mut v1 = Session::load(&p, &opts).unwrap();
        v1.set_name("x");
        assert!(v1.save(None, &SaveOptions::default()).is_err(), "{what}");
        assert_eq!(
            std::fs::read(&p).unwrap(),
            b,
            "{what}: a refused save wrote"
        );
    }
    // The same save with a lost (zeroed) sector is an incomplete version.
    let p = dir.path().join("lost.evs");
    let mut b = good.clone();
    let sector = (in_samples / 512 + 1) * 512;
    b[sector..sector + 512].fill(0);
    std::fs::write(&p, &b).unwrap();
    let s = Session::load(&p, &LoadOptions::default()).unwrap();
    assert_eq!(s.version(), Some(1));
    assert!(s.load_notice().unwrap().contains("version(s) 2"));
    let r = verify_session(&p, None).unwrap();
    assert!(r.ok && r.incomplete_versions == vec![2], "{r:?}");
}

/// Outside review, 7 December: a sample byte flipped in a saved (synced)
/// file was handed out as data, compressed or not; only `Trace::verify` and
/// `verify_session` saw it. Samples are checked against the SHA-256 their
/// chained record names when they are first read, so damaged samples are
/// an error naming the file, never numbers.
#[test]
fn damaged_samples_are_never_read_as_data() {
    let dir = tempfile::tempdir().unwrap();
    // Noise (does not compress: zstd stores it as it is).
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u64> = (0..20_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        })
        .collect();
    let bytes: Vec<u8> = noise.iter().flat_map(|v| v.to_le_bytes()).collect();
    for level in [None, Some(3)] {
        let path = dir.path().join(format!("n{level:?}.evs"));
        let mut s = Session::new("noise");
        s.add_trace(
            "X",
            Trace::from_slice(&noise, TraceInfo::with_rate(1.0)).unwrap(),
        )
        .unwrap();
        s.add_trace(
            "Y",
            Trace::from_slice(&[1.0f64, 2.0], TraceInfo::with_rate(1.0)).unwrap(),
        )
        .unwrap();
        s.save(Some(&path), &SaveOptions::default().compress(level))
            .unwrap();
        let mut file = std::fs::read(&path).unwrap();
        let at = file
            .windows(64)
            .position(|w| w == &bytes[8000..8064])
            .expect("the samples in the file")
            + 10;
        file[at] ^= 0x10;
        std::fs::write(&path, &file).unwrap();
        let back = Session::load(&path, &LoadOptions::default()).unwrap();
        let t = back.trace("X").unwrap();
        assert_eq!(t.is_compressed(), level.is_some());
        for r in [t.bytes().map(|_| ()), t.as_slice::<u64>().map(|_| ())] {
            match r {
                Err(Error::Corrupt { path: p, msg, .. }) => {
                    assert_eq!(p, path, "{level:?}");
                    assert!(msg.contains("trace \"X\""), "{level:?}: {msg}");
                }
                other => panic!("{level:?}: damaged samples read: {other:?}"),
            }
        }
        assert!(t.verify().is_err());
        // The trace beside it is intact and reads.
        let y = back.trace("Y").unwrap();
        assert_eq!(y.as_slice::<f64>().unwrap(), &[1.0, 2.0]);
        // The intact file reads the same samples.
        file[at] ^= 0x10;
        std::fs::write(&path, &file).unwrap();
        let back = Session::load(&path, &LoadOptions::default()).unwrap();
        assert_eq!(
            back.trace("X").unwrap().as_slice::<u64>().unwrap(),
            &noise[..]
        );
    }
}
