//! Existing OpenParallax audit files (`evident::legacy_openparallax`):
//! verification by OpenParallax's rule against files Go's encoding/json
//! wrote (spec/vectors/openparallax/, made by tests/openparallax_go/main.go),
//! each kind of tampering, reading, import, in-place migration, and the
//! CLI.
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use evident::legacy_openparallax::{
    self as op, parse_line, ImportOptions, LegacyEntry, LegacyQuery, LegacyViolation,
};
use evident::{query, Query, VerifyOptions};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors/openparallax")
}

fn lines_of(p: &Path) -> Vec<Vec<u8>> {
    let b = fs::read(p).unwrap();
    let mut v: Vec<Vec<u8>> = b.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
    if v.last().is_some_and(Vec::is_empty) {
        v.pop();
    }
    v
}

fn write_lines(p: &Path, lines: &[Vec<u8>]) {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    fs::write(p, out).unwrap();
}

/// A chain of `n` entries built with evident's own writer rules.
fn chain(n: usize, details: impl Fn(usize) -> String) -> Vec<LegacyEntry> {
    let mut prev = String::new();
    (0..n)
        .map(|i| {
            let mut e = parse_line(b"{}").unwrap();
            e.id = format!("id-{i}");
            e.event_type = (i % 23 + 1) as i64;
            e.timestamp = 1_711_929_600_000 + i as i64;
            e.session_id = if i % 2 == 0 { "s-even" } else { "s-odd" }.into();
            e.action_type = format!("act{i}");
            e.details_json = details(i);
            e.previous_hash = prev.clone();
            e.hash = e.computed_hash();
            prev = e.hash.clone();
            e
        })
        .collect()
}

fn write_chain(p: &Path, es: &[LegacyEntry]) {
    write_lines(p, &es.iter().map(LegacyEntry::to_line).collect::<Vec<_>>());
}

#[test]
fn go_written_vectors_verify_as_the_manifest_says() {
    let manifest: Value =
        serde_json::from_slice(&fs::read(vectors().join("manifest.json")).unwrap()).unwrap();
    let m = manifest.as_object().unwrap();
    assert_eq!(m.len(), 5);
    for (name, want) in m {
        let p = vectors().join(name);
        assert!(op::is_openparallax(&p).unwrap(), "{name}");
        let r = op::verify(&p).unwrap();
        assert_eq!(r.valid, want["valid"].as_bool().unwrap(), "{name}: {r:?}");
        assert_eq!(r.entries, want["entries"].as_u64().unwrap(), "{name}");
        assert_eq!(r.line, want["line"].as_u64().unwrap(), "{name}");
        assert_eq!(
            serde_json::to_value(r.kind).unwrap(),
            want["kind"],
            "{name}: {}",
            r.error
        );
        assert_eq!(r.last_hash, want["last_hash"].as_str().unwrap(), "{name}");
        if !r.valid {
            assert!(
                r.error.starts_with(&format!("line {}: ", r.line)),
                "{}",
                r.error
            );
        }
    }
}

#[test]
fn go_lines_are_reproduced_byte_for_byte() {
    for name in ["basic.jsonl", "tricky.jsonl"] {
        for line in lines_of(&vectors().join(name)) {
            let e = parse_line(&line).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&e.to_line()),
                String::from_utf8_lossy(&line)
            );
            assert_eq!(e.computed_hash(), e.hash);
        }
    }
    // A timestamp above 2^53 is hashed through a float64, as Go does.
    let tricky = lines_of(&vectors().join("tricky.jsonl"));
    let e = parse_line(&tricky[3]).unwrap();
    assert_eq!(e.timestamp, 9_007_199_254_740_993);
    assert!(String::from_utf8(e.canonical())
        .unwrap()
        .contains("\"timestamp\":9007199254740992}"));
}

#[test]
fn a_huge_line_verifies_and_matches_go() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge.jsonl");
    // The same entries tests/openparallax_go/main.go writes to huge.jsonl.
    let big = "0123456789abcdef<&>".repeat(3 << 16);
    let mut a = parse_line(b"{}").unwrap();
    a.id = "h-1".into();
    a.event_type = 5;
    a.timestamp = 1_711_929_600_000;
    a.details_json = format!("{{\"blob\":\"{big}\"}}");
    a.hash = a.computed_hash();
    let mut b = parse_line(b"{}").unwrap();
    b.id = "h-2".into();
    b.event_type = 6;
    b.timestamp = 1_711_929_600_001;
    b.action_type = "after".into();
    b.previous_hash = a.hash.clone();
    b.hash = b.computed_hash();
    write_chain(&p, &[a, b]);
    // Go's file: 6,685,109 bytes with this SHA-256 (go run
    // tests/openparallax_go/main.go DIR, Go 1.26).
    let bytes = fs::read(&p).unwrap();
    assert_eq!(bytes.len(), 6_685_109);
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        "2374c43ed576fefb71947c94c9260b25927b1ec398e52df8c64b57263e3682b4"
    );
    let r = op::verify(&p).unwrap();
    assert!(r.valid, "{r:?}");
    assert_eq!(
        (r.entries, r.last_hash.as_str()),
        (
            2,
            "5ce7142a1aea3592ff2c025a1aa3e14e24377486c91cd6e627e3015c070c5177"
        )
    );
}

#[test]
fn every_kind_of_tampering_is_found_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let base = lines_of(&vectors().join("basic.jsonl"));
    let check = |name: &str, lines: Vec<Vec<u8>>, line: u64, kind: LegacyViolation| {
        let p = dir.path().join(name);
        write_lines(&p, &lines);
        let r = op::verify(&p).unwrap();
        assert!(!r.valid, "{name}");
        assert_eq!((r.line, r.kind), (line, Some(kind)), "{name}: {}", r.error);
        let words = match kind {
            LegacyViolation::HashMismatch => "hash mismatch",
            LegacyViolation::ChainBroken => "chain broken",
            _ => "invalid JSON",
        };
        assert!(
            r.error.starts_with(&format!("line {line}: {words}")),
            "{name}: {}",
            r.error
        );
        // An import is refused, naming the line; nothing is written.
        let dst = dir.path().join(format!("{name}.evident.jsonl"));
        let e = op::import(&p, &dst, &ImportOptions::new()).unwrap_err();
        assert!(e.to_string().contains(&format!("line {line}")), "{e}");
        assert!(!dst.exists());
    };
    // A modified field (each one the hash covers).
    for (from, to) in [
        (&b"\"event_type\":4"[..], &b"\"event_type\":3"[..]),
        (b"sess-001", b"sess-009"),
        (b"1711929600456", b"1711929600457"),
        (b"denied by policy", b"Denied by policy"),
    ] {
        let mut l = base.clone();
        let s = String::from_utf8(l[2].clone()).unwrap();
        let (f, t) = (
            std::str::from_utf8(from).unwrap(),
            std::str::from_utf8(to).unwrap(),
        );
        assert!(s.contains(f));
        l[2] = s.replacen(f, t, 1).into_bytes();
        check("modified.jsonl", l, 3, LegacyViolation::HashMismatch);
    }
    // otr flipped.
    let mut l = base.clone();
    l[3] = String::from_utf8(l[3].clone())
        .unwrap()
        .replace("\"otr\":true", "\"otr\":false")
        .into_bytes();
    check("otr.jsonl", l, 4, LegacyViolation::HashMismatch);
    // A field added that the hash covers (source on line 3).
    let mut l = base.clone();
    l[2] = String::from_utf8(l[2].clone())
        .unwrap()
        .replace("\"otr\":false}", "\"otr\":false,\"source\":\"x\"}")
        .into_bytes();
    check("added.jsonl", l, 3, LegacyViolation::HashMismatch);
    // A deleted line.
    let mut l = base.clone();
    l.remove(1);
    check("deleted.jsonl", l, 2, LegacyViolation::ChainBroken);
    // An inserted line (a copy of line 2 after line 3).
    let mut l = base.clone();
    l.insert(3, base[1].clone());
    check("inserted.jsonl", l, 4, LegacyViolation::ChainBroken);
    // Reordered lines.
    let mut l = base.clone();
    l.swap(3, 4);
    check("reordered.jsonl", l, 4, LegacyViolation::ChainBroken);
    // The first line removed: line 1 must have previous_hash "".
    check(
        "headless.jsonl",
        base[1..].to_vec(),
        1,
        LegacyViolation::ChainBroken,
    );
    // A truncated last line.
    let mut l = base.clone();
    let last = l.last_mut().unwrap();
    last.truncate(last.len() - 10);
    check("truncated.jsonl", l, 6, LegacyViolation::InvalidJson);
    // A damaged first line: still recognised, the damage named.
    let mut l = base.clone();
    l[0].truncate(20);
    let p = dir.path().join("first.jsonl");
    write_lines(&p, &l);
    assert!(op::is_openparallax(&p).unwrap());
    check("first.jsonl", l, 1, LegacyViolation::InvalidJson);
    // A blank line between entries (Go trims only the file's ends).
    let mut l = base.clone();
    l.insert(2, b"  ".to_vec());
    check("blank.jsonl", l, 3, LegacyViolation::InvalidJson);
    // A hash in upper case is not the hash.
    let mut l = base.clone();
    let e = parse_line(&l[5]).unwrap();
    l[5] = String::from_utf8(l[5].clone())
        .unwrap()
        .replace(&e.hash, &e.hash.to_uppercase())
        .into_bytes();
    check("upper.jsonl", l, 6, LegacyViolation::HashMismatch);
}

#[test]
fn what_go_accepts_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let base = lines_of(&vectors().join("basic.jsonl"));
    let p = dir.path().join("a.jsonl");
    // Empty lines anywhere, blank lines at the ends, CRLF, no final
    // newline, keys in another case and order, unknown keys: all as Go.
    let mut l = vec![b"   ".to_vec(), Vec::new()];
    l.extend(base.iter().cloned());
    l.insert(4, Vec::new());
    l[5] = String::from_utf8(l[5].clone())
        .unwrap()
        .replace("\"session_id\"", "\"Session_ID\"")
        .replace("\"otr\":", "\"extra\":[1,{\"a\":null}],\"otr\":")
        .into_bytes();
    l[6].push(b'\r');
    l.push(b" \t ".to_vec());
    write_lines(&p, &l);
    let r = op::verify(&p).unwrap();
    assert!(r.valid, "{r:?}");
    assert_eq!((r.entries, r.lines), (6, 10));
    let mut b = fs::read(&p).unwrap();
    b.truncate(b.len() - 5); // " \t \n" and the last entry's "\n"
    fs::write(&p, &b).unwrap();
    let r = op::verify(&p).unwrap();
    assert!(r.valid, "{r:?}");
    // Go trims Unicode white space (U+00A0) off the file's ends only.
    let mut l = base.clone();
    l[5].extend_from_slice("\u{a0}".as_bytes());
    write_lines(&p, &l);
    let r = op::verify(&p).unwrap();
    assert!(r.valid && r.entries == 6, "{r:?}");
    l[0].splice(0..0, "\u{a0}\u{2003}".bytes());
    write_lines(&p, &l);
    assert!(op::verify(&p).unwrap().valid);
    let mut l = base.clone();
    l[4].extend_from_slice("\u{a0}".as_bytes());
    write_lines(&p, &l);
    let r = op::verify(&p).unwrap();
    assert_eq!((r.valid, r.line, r.entries), (false, 5, 4), "{r:?}");
    assert!(r.error.starts_with("line 5: invalid JSON"), "{}", r.error);
    // An empty file and a blank one: valid, no entries, not recognised.
    for text in [&b""[..], b"\n\n  \n"] {
        fs::write(&p, text).unwrap();
        let r = op::verify(&p).unwrap();
        assert!(r.valid && r.entries == 0 && r.last_hash.is_empty(), "{r:?}");
        assert!(!op::is_openparallax(&p).unwrap());
        assert!(op::read_entries(&p, &LegacyQuery::new())
            .unwrap()
            .is_empty());
    }
    // Garbage never panics and is reported.
    for text in [
        &b"\xff\xfe{"[..],
        b"{\"id\":",
        b"[[[[[[",
        b"null\n",
        b"{\"hash\":\"\",\"previous_hash\":\"\"}\n",
    ] {
        fs::write(&p, text).unwrap();
        let r = op::verify(&p).unwrap();
        assert!(!r.valid && r.line == 1, "{r:?}");
    }
}

#[test]
fn mutated_lines_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let lines = lines_of(&vectors().join("random.jsonl"));
    let p = dir.path().join("m.jsonl");
    let mut seen = (0, 0);
    for line in lines.iter().take(6) {
        for i in 0..line.len() {
            for b in [
                None,
                Some(0u8),
                Some(b'"'),
                Some(b'\\'),
                Some(b'{'),
                Some(0xff),
                Some(b'1'),
            ] {
                let mut m = line.clone();
                match b {
                    None => {
                        m.remove(i);
                    }
                    Some(b) => m[i] = b,
                }
                match parse_line(&m) {
                    Ok(e) => {
                        seen.0 += 1;
                        let _ = e.computed_hash();
                    }
                    Err(msg) => {
                        seen.1 += 1;
                        assert!(!msg.is_empty());
                    }
                }
            }
        }
        // Whole files: the mutated line first, then the rest.
        let mut m = line.clone();
        m.truncate(line.len() / 2);
        let mut all = vec![m];
        all.extend(lines.iter().cloned());
        write_lines(&p, &all);
        let r = op::verify(&p).unwrap();
        assert!(!r.valid && r.line == 1, "{r:?}");
        assert_eq!(op::read_entries(&p, &LegacyQuery::new()).unwrap().len(), 60);
    }
    assert!(seen.0 > 100 && seen.1 > 100, "{seen:?}");
}

#[test]
fn entries_are_read_newest_first_with_openparallax_filters() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let es = chain(50, |i| format!("{{\"i\":{i}}}"));
    write_chain(&p, &es);
    let all = op::read_entries(&p, &LegacyQuery::new()).unwrap();
    assert_eq!(all.len(), 50);
    assert_eq!(all[0].id, "id-49");
    assert_eq!(all[0].line, 50);
    assert_eq!(all[49], {
        let mut e = es[0].clone();
        e.line = 1;
        e
    });
    let q = LegacyQuery::new().limit(3).session_id("s-even");
    let got: Vec<String> = op::read_entries(&p, &q)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(got, ["id-48", "id-46", "id-44"]);
    let q = LegacyQuery::new().event_type(4);
    let got: Vec<String> = op::read_entries(&p, &q)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(got, ["id-49", "id-26", "id-3"]);
    let q = LegacyQuery::new().action_type("act7");
    assert_eq!(op::read_entries(&p, &q).unwrap()[0].id, "id-7");
    // As OpenParallax's reader: a line that is not an entry is skipped.
    let mut l = lines_of(&p);
    l.insert(10, b"{broken".to_vec());
    write_lines(&p, &l);
    assert_eq!(op::read_entries(&p, &LegacyQuery::new()).unwrap().len(), 50);
}

#[test]
fn import_keeps_every_entry_and_anchors_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["basic.jsonl", "tricky.jsonl", "random.jsonl"] {
        let src = dir.path().join(name);
        fs::copy(vectors().join(name), &src).unwrap();
        let before = fs::read(&src).unwrap();
        let dst = dir.path().join(format!("{name}.evident"));
        let r = op::import(&src, &dst, &ImportOptions::new()).unwrap();
        let v = op::verify(&src).unwrap();
        assert_eq!(
            fs::read(&src).unwrap(),
            before,
            "the legacy file is unchanged"
        );
        let n = v.entries;
        assert!(n >= 6);
        assert_eq!(
            (r.entries, r.lines, r.last_hash.as_str(), r.head_seq),
            (n, n, v.last_hash.as_str(), n + 1)
        );
        let rep = evident::verify(&dst, &VerifyOptions::default()).unwrap();
        assert!(rep.valid && rep.entries == n + 1, "{rep:?}");
        let entries: Vec<_> = query(&dst, &Query::default())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let legacy = op::read_entries(&src, &LegacyQuery::new()).unwrap();
        for (e, l) in entries.iter().zip(legacy.iter().rev()) {
            let back = op::legacy_of(e).unwrap();
            assert_eq!(&back, l, "every field is kept");
            assert_eq!(
                back.computed_hash(),
                l.hash,
                "the legacy hash is recomputable"
            );
            assert_eq!(
                e.event_type,
                op::event_type_name(l.event_type)
                    .map(str::to_owned)
                    .unwrap_or(l.event_type.to_string())
            );
            assert_eq!(e.details["details"], l.details());
            if l.timestamp > 0 && l.timestamp < 253_402_300_800_000 {
                assert_eq!(e.ts.timestamp_millis(), l.timestamp);
            }
        }
        let anchor = entries.last().unwrap();
        assert_eq!(anchor.event_type, op::ANCHOR_EVENT_TYPE);
        assert!(op::legacy_of(anchor).is_none());
        let a = &anchor.details["openparallax_import"];
        assert_eq!(a["lines"], n);
        assert_eq!(a["entries"], n);
        assert_eq!(a["last_hash"], v.last_hash.as_str());
        assert_eq!(a["bytes"], before.len());
        assert_eq!(a["sha256"], hex::encode(Sha256::digest(&before)).as_str());
        // The destination is never replaced.
        let e = op::import(&src, &dst, &ImportOptions::new()).unwrap_err();
        assert!(e.to_string().contains("refusing to overwrite"), "{e}");
        // An evident log is not an OpenParallax file.
        assert!(!op::is_openparallax(&dst).unwrap());
        let e = op::import(&dst, dir.path().join("x"), &ImportOptions::new()).unwrap_err();
        assert!(e.to_string().contains("not an OpenParallax"), "{e}");
    }
    // No temporary file is left.
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}

#[test]
fn migration_in_place_keeps_the_legacy_bytes_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    let copy = op::legacy_copy_path(&p);
    fs::copy(vectors().join("basic.jsonl"), &p).unwrap();
    let legacy = fs::read(&p).unwrap();

    // A tampered file is refused, naming the line; nothing changes.
    fs::copy(vectors().join("deleted_line.jsonl"), &p).unwrap();
    let e = op::migrate_in_place(&p, &ImportOptions::new()).unwrap_err();
    assert!(e.to_string().contains("line 3"), "{e}");
    assert!(!copy.exists());
    fs::copy(vectors().join("basic.jsonl"), &p).unwrap();

    // A copy with other bytes is never replaced.
    fs::write(&copy, b"precious").unwrap();
    let e = op::migrate_in_place(&p, &ImportOptions::new()).unwrap_err();
    assert!(e.to_string().contains("refusing to replace"), "{e}");
    assert_eq!(fs::read(&p).unwrap(), legacy);
    assert_eq!(fs::read(&copy).unwrap(), b"precious");
    fs::remove_file(&copy).unwrap();

    // A crash after the second name was made: a new call goes on.
    fs::hard_link(&p, &copy).unwrap();
    let r = op::migrate_in_place(&p, &ImportOptions::new())
        .unwrap()
        .unwrap();
    assert_eq!((r.entries, r.head_seq), (6, 7));
    assert_eq!(fs::read(&copy).unwrap(), legacy);
    assert!(
        evident::verify(&p, &VerifyOptions::default())
            .unwrap()
            .valid
    );
    // Done: nothing more to migrate; the log is an ordinary log.
    assert!(op::migrate_in_place(&p, &ImportOptions::new())
        .unwrap()
        .is_none());
    let log = evident::Log::open(&p, evident::OpenOptions::new()).unwrap();
    assert_eq!(log.head().seq, 7);
    log.append(&evident::Event::new("ACTION_EXECUTED", "after"))
        .unwrap();
    log.close().unwrap();

    // From scratch, with no copy yet.
    let q = dir.path().join("b.jsonl");
    fs::copy(vectors().join("tricky.jsonl"), &q).unwrap();
    let r = op::migrate_in_place(&q, &ImportOptions::new())
        .unwrap()
        .unwrap();
    assert_eq!(r.legacy, op::legacy_copy_path(&q));
    assert_eq!(
        fs::read(op::legacy_copy_path(&q)).unwrap(),
        fs::read(vectors().join("tricky.jsonl")).unwrap()
    );
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.starts_with('.') || n.ends_with(".lock")),
        "{names:?}"
    );
}

#[test]
fn an_entry_too_large_for_a_record_is_refused_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.jsonl");
    let mut es = chain(3, |i| format!("{{\"i\":{i}}}"));
    // 9 MiB of details: 18 MiB as a record (parsed and as text).
    es[1].details_json = format!("{{\"blob\":\"{}\"}}", "b".repeat(9 << 20));
    es[1].hash = es[1].computed_hash();
    es[2].previous_hash = es[1].hash.clone();
    es[2].hash = es[2].computed_hash();
    write_chain(&p, &es);
    assert!(op::verify(&p).unwrap().valid);
    let dst = dir.path().join("new.jsonl");
    let e = op::import(&p, &dst, &ImportOptions::new()).unwrap_err();
    assert!(
        e.to_string()
            .contains("line 2: the entry makes an evident record"),
        "{e}"
    );
    assert!(!dst.exists());
    // 2 MiB is fine.
    es[1].details_json = format!("{{\"blob\":\"{}\"}}", "b".repeat(2 << 20));
    es[1].hash = es[1].computed_hash();
    es[2].previous_hash = es[1].hash.clone();
    es[2].hash = es[2].computed_hash();
    write_chain(&p, &es);
    let r = op::import(&p, &dst, &ImportOptions::new()).unwrap();
    assert_eq!(r.entries, 3);
}

#[test]
fn concurrent_migrations_migrate_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("audit.jsonl");
    fs::copy(vectors().join("random.jsonl"), &p).unwrap();
    let legacy = fs::read(&p).unwrap();
    let results: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| s.spawn(|| op::migrate_in_place(&p, &ImportOptions::new())))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Windows (without POSIX rename semantics) refuses to rename over a
    // file another migration holds open while it waits for the lock: that
    // migration fails cleanly ("rename into place", access denied) and
    // changes nothing; a later call finds the file migrated.
    let results: Vec<_> = results
        .into_iter()
        .filter_map(|r| match r {
            Ok(r) => Some(r),
            Err(e) if cfg!(windows) && e.to_string().contains("rename into place") => None,
            Err(e) => panic!("{e}"),
        })
        .collect();
    if results.iter().all(|r| r.is_none()) {
        assert!(op::migrate_in_place(&p, &ImportOptions::new())
            .unwrap()
            .is_some());
    } else {
        assert_eq!(results.iter().filter(|r| r.is_some()).count(), 1);
    }
    assert_eq!(fs::read(op::legacy_copy_path(&p)).unwrap(), legacy);
    let r = evident::verify(&p, &VerifyOptions::default()).unwrap();
    assert!(r.valid && r.entries == 61, "{r:?}");
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_evident"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn the_cli_verifies_and_imports_openparallax_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = vectors().join("basic.jsonl");
    let (code, out, _) = cli(&["verify", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OpenParallax audit file") && out.contains("valid: 6 entries"));
    let bad = vectors().join("modified_field.jsonl");
    let (code, out, _) = cli(&["verify", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("INVALID at line 3: line 3: hash mismatch"),
        "{out}"
    );
    let (code, out, _) = cli(&["verify", "--json", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&v["format"], &v["line"], &v["kind"]),
        (
            &Value::from("openparallax"),
            &Value::from(3),
            &Value::from("hash_mismatch")
        )
    );
    // Other commands name the import.
    let (code, _, err) = cli(&["cat", good.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("evident import-openparallax"), "{err}");

    let dst = dir.path().join("new.jsonl");
    let (code, out, err) = cli(&[
        "import-openparallax",
        good.to_str().unwrap(),
        "-o",
        dst.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("6 entries, 6 lines"), "{out}");
    let (code, out, _) = cli(&["verify", dst.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let (code, _, err) = cli(&[
        "import-openparallax",
        bad.to_str().unwrap(),
        "-o",
        dir.path().join("x.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(!dir.path().join("x.jsonl").exists());
}

/// Runs `args` with a deadline: `None` when it was still running after
/// `secs` (then killed).
fn cli_within(args: &[&str], secs: u64) -> Option<(i32, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_evident"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return Some((status.code().unwrap_or(-1), err));
        }
        if std::time::Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A FIFO, a device or a directory given to `import-openparallax` (or to
/// the library's readers) is refused at once, "not a regular file", as
/// `verify`, `convert` and `repair` refuse them: never blocking on a FIFO
/// nobody writes to, never reading a device that has no end.
#[cfg(unix)]
#[test]
fn import_refuses_what_is_not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.jsonl");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let zero = Path::new("/dev/zero").to_path_buf();
    let sub = dir.path().join("sub");
    fs::create_dir(&sub).unwrap();
    for (src, what) in [
        (&fifo, "not a regular file"),
        (&zero, "not a regular file"),
        (&sub, "directory"),
    ] {
        let dst = dir.path().join("new.jsonl");
        let got = cli_within(
            &[
                "import-openparallax",
                src.to_str().unwrap(),
                "-o",
                dst.to_str().unwrap(),
            ],
            20,
        );
        let (code, err) = got.unwrap_or_else(|| panic!("{src:?}: still running after 20 s"));
        assert_eq!(code, 2, "{src:?}: {err}");
        assert!(
            err.contains(src.to_str().unwrap()) && err.contains(what),
            "{src:?}: {err}"
        );
        assert!(!dst.exists());
    }
    // The library's readers, on a thread so that a hang fails the test.
    for src in [fifo.clone(), zero.clone()] {
        let (tx, rx) = std::sync::mpsc::channel();
        let (s, d) = (src.clone(), dir.path().join("lib.jsonl"));
        std::thread::spawn(move || {
            let r = (
                op::is_openparallax(&s).map_err(|e| e.to_string()),
                op::verify(&s).map(|_| ()).map_err(|e| e.to_string()),
                op::read_entries(&s, &LegacyQuery::new())
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                op::import(&s, &d, &ImportOptions::new())
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            );
            let _ = tx.send(r);
        });
        let (a, b, c, d) = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("{src:?}: still reading after 20 s"));
        for r in [a.map(|_| ()), b, c, d] {
            let e = r.unwrap_err();
            assert!(e.contains("not a regular file"), "{src:?}: {e}");
        }
    }
}

/// A line longer than MAX_LINE (64 MiB, spec/openparallax.md) is refused
/// naming the file and its line; nothing is imported.
#[test]
fn import_refuses_an_over_long_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("long.jsonl");
    let es = chain(1, |_| String::new());
    let mut bytes = es[0].to_line();
    bytes.push(b'\n');
    bytes.resize(bytes.len() + op::MAX_LINE + 1, b' ');
    bytes.extend_from_slice(b"\n");
    fs::write(&p, &bytes).unwrap();
    drop(bytes);
    let dst = dir.path().join("new.jsonl");
    let (code, err) = cli_within(
        &[
            "import-openparallax",
            p.to_str().unwrap(),
            "-o",
            dst.to_str().unwrap(),
        ],
        120,
    )
    .expect("finished");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(p.to_str().unwrap()) && err.contains("line 2") && err.contains("longer than"),
        "{err}"
    );
    assert!(!dst.exists());
}

/// `evident verify` checks an OpenParallax file by OpenParallax's rule, but
/// the options that state what an evident log must be (a head it holds, its
/// log id, its key, a checkpoint and its witnesses) cannot hold for one: an
/// OpenParallax file (anyone can write one: a keyless chain) put where the
/// log was passed them all with exit 0. It now fails (exit 1), naming the
/// options; `--all`, `--json` and `--threads` are fine.
#[test]
fn verify_of_an_openparallax_file_fails_what_only_an_evident_log_can_hold() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("audit.jsonl");
    fs::copy(vectors().join("basic.jsonl"), &p).unwrap();
    let key = d.path().join("k.hex");
    fs::write(&key, "00112233445566778899aabbccddeeff").unwrap();
    let head = format!("3:{}", "ab".repeat(32));
    let verify = |args: &[String]| {
        Command::new(env!("CARGO_BIN_EXE_evident"))
            .arg("verify")
            .arg(&p)
            .args(args)
            .output()
            .unwrap()
    };
    let cases: Vec<Vec<String>> = vec![
        vec!["--expect-head".into(), head],
        vec![
            "--expect-log-id".into(),
            "5eeac3bb4d4c684920bef826e3607383".into(),
        ],
        vec!["--key-file".into(), key.display().to_string()],
        vec!["--min-witnesses".into(), "1".into()],
        vec!["--witness-key".into(), "w+0123abcd+AAAA".into()],
    ];
    for args in cases {
        let out = verify(&args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{args:?}: {text}");
        assert!(
            text.contains(args[0].as_str()) && text.contains("OpenParallax"),
            "{args:?}: {text}"
        );
    }
    for args in [&[][..], &["--all"], &["--json"], &["--threads", "2"]] {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        assert_eq!(verify(&args).status.code(), Some(0), "{args:?}");
    }
}

/// Outside review, 7 December: OpenParallax killed in the middle of a
/// write leaves a last line cut short (no line feed, not JSON). Migration
/// refused the whole file, so a service that crashed once could not start
/// after the switch. The entries before the cut are imported; the cut
/// bytes stay in the file's copy, never changed, and the anchor and the
/// report say where they are. A bad line that is not such a cut is still
/// refused.
#[test]
fn a_last_line_cut_short_is_left_in_the_copy_and_the_rest_imported() {
    let dir = tempfile::tempdir().unwrap();
    let es = chain(3, |i| format!(r#"{{"i":{i}}}"#));
    let p = dir.path().join("audit.jsonl");
    write_chain(&p, &es);
    let whole = fs::read(&p).unwrap();
    let cut = &whole[..whole.len() - 15];
    let last_line_at = whole[..whole.len() - 1]
        .iter()
        .rposition(|&c| c == b'\n')
        .unwrap()
        + 1;
    fs::write(&p, cut).unwrap();
    let r = op::migrate_in_place(&p, &ImportOptions::new())
        .unwrap()
        .unwrap();
    assert_eq!((r.entries, r.lines, r.head_seq), (2, 3, 3), "{r:?}");
    assert_eq!(r.last_hash, es[1].hash);
    let torn = r.torn_tail.clone().expect("the cut is reported");
    assert_eq!(
        (torn.line, torn.offset, torn.bytes),
        (3, last_line_at as u64, (cut.len() - last_line_at) as u64)
    );
    assert_eq!(fs::read(op::legacy_copy_path(&p)).unwrap(), cut);
    let rep = evident::verify(&p, &VerifyOptions::default()).unwrap();
    assert!(rep.valid && rep.entries == 3, "{rep:?}");
    let all: Vec<_> = query(&p, &Query::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(all.len(), 3);
    let anchor = &all[2].details["openparallax_import"];
    assert_eq!(anchor["torn_tail"]["line"], 3, "{anchor}");
    assert_eq!(anchor["torn_tail"]["bytes"], torn.bytes, "{anchor}");
    // The logger goes on.
    let log = evident::Log::open(&p, evident::OpenOptions::new()).unwrap();
    log.append(&evident::Event::new("ACTION_EXECUTED", "after"))
        .unwrap();
    log.close().unwrap();

    // Not a cut write: a bad last line ending in a line feed, or a bad line
    // in the middle, or a cut line followed by another. Refused, untouched.
    let mut bad_end = whole[..last_line_at].to_vec();
    bad_end.extend_from_slice(b"{\"id\":\n");
    let mut bad_middle = whole[..last_line_at].to_vec();
    bad_middle.extend_from_slice(b"garbage\n");
    bad_middle.extend_from_slice(&whole[last_line_at..]);
    for (what, bytes) in [("bad end", bad_end), ("bad middle", bad_middle)] {
        let q = dir.path().join(format!("{what}.jsonl"));
        fs::write(&q, &bytes).unwrap();
        let e = op::migrate_in_place(&q, &ImportOptions::new()).unwrap_err();
        assert!(e.to_string().contains("line 3"), "{what}: {e}");
        assert_eq!(fs::read(&q).unwrap(), bytes, "{what}");
        assert!(!op::legacy_copy_path(&q).exists(), "{what}");
    }
    // import (to a new log) takes the same rule and leaves the file alone.
    let src = dir.path().join("src.jsonl");
    fs::write(&src, cut).unwrap();
    let dst = dir.path().join("dst.jsonl");
    let r = op::import(&src, &dst, &ImportOptions::new()).unwrap();
    assert_eq!(r.entries, 2);
    assert!(r.torn_tail.is_some());
    assert_eq!(fs::read(&src).unwrap(), cut);
}
