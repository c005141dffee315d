//! The shared test vectors of `spec/vectors/` against this library.
//!
//! - every `*.expect` file: verify the log it names with the options it
//!   gives and compare valid / kind / seq / line / offset / violations /
//!   entries / head exactly; then open a copy as a writer and check that it
//!   opens, moves exactly the torn tail aside, or refuses, as `open` says;
//! - the generator (`examples/gen_vectors.rs`) reproduces every file byte
//!   for byte, and no stray file is left in `spec/vectors/`;
//! - the worked example quoted in `spec/format.md` is the library's output.

#[path = "../examples/gen_vectors.rs"]
#[allow(dead_code)]
mod gen;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use evident::{verify, ExpectedHead, Hash, Key, Log, OpenOptions, VerifyOptions};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors")
}

/// A parsed `.expect` file: `key: value` lines, `#` comments.
fn parse_expect(text: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("bad expect line {line:?}"));
        assert!(
            m.insert(k.to_string(), v.to_string()).is_none(),
            "duplicate key {k}"
        );
    }
    m
}

fn parse_head(s: &str) -> (u64, Hash) {
    let (seq, hash) = s.split_once(':').expect("seq:hash");
    (
        seq.parse().expect("seq"),
        Hash::from_hex(hash).expect("hash hex"),
    )
}

fn expect_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .expect("spec/vectors exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "expect"))
        .collect();
    v.sort();
    v
}

/// Checks one vector; returns a description of every mismatch.
fn check_vector(expect_path: &Path) -> Vec<String> {
    let name = expect_path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let m = parse_expect(&std::fs::read_to_string(expect_path).unwrap());
    let get = |k: &str| m.get(k).map(String::as_str);
    let log = vectors_dir().join(get("log").expect("log:"));
    let mut opts = VerifyOptions::default()
        .key(get("key").map(|k| Key::new(hex::decode(k).expect("key hex")).expect("key")));
    opts.expected_log_id = get("expected-log-id").map(str::to_string);
    if let Some(h) = get("expected-head") {
        let (seq, hash) = parse_head(h);
        opts.expected_head = Some(ExpectedHead { seq, hash });
    }
    let mut errors = Vec::new();
    for (threads, all) in [(1, false), (0, false), (1, true), (3, true)] {
        let o = opts.clone().threads(threads).all(all);
        let r = match verify(&log, &o) {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("{name}: verify returned Err: {e}"));
                return errors;
            }
        };
        let mut err = |what: &str, want: &str, got: String| {
            if want != got {
                errors.push(format!(
                    "{name} (threads {threads}, all {all}): {what}: expected {want}, got {got}"
                ));
            }
        };
        let want_valid = get("expect").expect("expect:");
        err(
            "expect",
            want_valid,
            if r.valid { "valid" } else { "invalid" }.to_string(),
        );
        if want_valid == "invalid" {
            match r.first() {
                None => err("violation", "one", "none".into()),
                Some(v) => {
                    err("kind", get("kind").expect("kind:"), v.kind.name().into());
                    err(
                        "seq",
                        get("seq").expect("seq:"),
                        v.seq.map_or("none".into(), |s| s.to_string()),
                    );
                    err("line", get("line").expect("line:"), v.line.to_string());
                    err(
                        "offset",
                        get("offset").expect("offset:"),
                        v.offset.to_string(),
                    );
                }
            }
        }
        if let Some(n) = get("violations") {
            err("violations", n, r.violations_total.to_string());
            if all {
                err("violations listed", n, r.violations.len().to_string());
            }
        }
        if let Some(n) = get("entries") {
            err("entries", n, r.entries.to_string());
        }
        err(
            "not-a-log",
            get("not-a-log").unwrap_or("no"),
            if r.not_a_log { "yes" } else { "no" }.to_string(),
        );
        if let Some(h) = get("head") {
            err(
                "head",
                h,
                format!(
                    "{}:{}",
                    r.head_seq,
                    r.head_hash.clone().unwrap_or_else(|| "none".into())
                ),
            );
        }
    }
    if let Some(open) = get("open") {
        errors.extend(check_open(&name, &m, &log, opts.key.clone(), open));
    }
    errors
}

/// Opens a copy of the log as a writer and checks what happens (spec
/// § 10.3): `ok` (nothing moved, file unchanged), `moves-tail` (the bytes
/// from `offset` on are in exactly one sidecar, the log ends at `offset`),
/// `refuses` (an error, file unchanged). The head must be `head`.
fn check_open(
    name: &str,
    m: &BTreeMap<String, String>,
    log: &Path,
    key: Option<Key>,
    want: &str,
) -> Vec<String> {
    let mut errors = Vec::new();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(log.file_name().unwrap());
    let original = std::fs::read(log).unwrap();
    std::fs::write(&path, &original).unwrap();
    let mut opts = OpenOptions::default();
    opts.key = key;
    opts.create = false;
    let head = m.get("head").map(|h| parse_head(h));
    match (want, Log::open(&path, opts)) {
        ("refuses", Ok(_)) => errors.push(format!("{name}: open succeeded, expected a refusal")),
        ("refuses", Err(_)) => {
            if std::fs::read(&path).unwrap() != original {
                errors.push(format!("{name}: a refused open changed the file"));
            }
        }
        (_, Err(e)) => errors.push(format!("{name}: open failed ({e}), expected {want}")),
        (_, Ok(w)) => {
            let h = w.head();
            if let Some((seq, hash)) = head {
                if (h.seq, h.hash) != (seq, hash) {
                    errors.push(format!("{name}: open resumed at {}:{}", h.seq, h.hash));
                }
            }
            let torn = w.recovery().torn;
            w.close().unwrap();
            let now = std::fs::read(&path).unwrap();
            if want == "ok" {
                if !torn.is_empty() || now != original {
                    errors.push(format!("{name}: open moved {torn:?}, expected nothing"));
                }
            } else {
                let off: u64 = m["offset"].parse().unwrap();
                let ok = torn.len() == 1
                    && torn[0].offset == off
                    && torn[0].len == original.len() as u64 - off
                    && std::fs::read(&torn[0].sidecar).ok().as_deref()
                        == Some(&original[off as usize..])
                    && now == original[..off as usize];
                if !ok {
                    errors.push(format!(
                        "{name}: open moved {torn:?}, expected the {} bytes from offset {off}",
                        original.len() as u64 - off
                    ));
                }
            }
        }
    }
    errors
}

#[test]
fn every_vector_verifies_as_expected() {
    let files = expect_files();
    assert!(files.len() > 50, "only {} vectors found", files.len());
    let mut errors = Vec::new();
    for f in &files {
        errors.extend(check_vector(f));
    }
    assert!(errors.is_empty(), "\n{}", errors.join("\n"));
}

#[test]
fn every_expect_file_is_well_formed() {
    const KEYS: &[&str] = &[
        "description",
        "log",
        "framing",
        "key",
        "expected-head",
        "expected-log-id",
        "expect",
        "kind",
        "seq",
        "line",
        "offset",
        "violations",
        "entries",
        "head",
        "open",
        "not-a-log",
    ];
    const KINDS: &[&str] = &[
        "hash_mismatch",
        "chain_break",
        "seq_gap",
        "malformed",
        "torn_tail",
        "wrong_key",
        "wrong_log_id",
        "head_mismatch",
        "unsupported",
    ];
    for f in expect_files() {
        let m = parse_expect(&std::fs::read_to_string(&f).unwrap());
        for k in m.keys() {
            assert!(KEYS.contains(&k.as_str()), "{f:?}: unknown key {k}");
        }
        assert!(vectors_dir().join(&m["log"]).is_file(), "{f:?}: no log");
        match m["expect"].as_str() {
            "valid" => {
                for k in ["kind", "seq", "line", "offset"] {
                    assert!(!m.contains_key(k), "{f:?}: valid with {k}");
                }
            }
            "invalid" => {
                assert!(KINDS.contains(&m["kind"].as_str()), "{f:?}: kind");
                for k in ["seq", "line", "offset"] {
                    assert!(m.contains_key(k), "{f:?}: invalid without {k}");
                }
            }
            other => panic!("{f:?}: expect: {other}"),
        }
    }
}

#[test]
fn generator_reproduces_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let names = gen::generate(tmp.path()).unwrap();
    for n in &names {
        let fresh = std::fs::read(tmp.path().join(n)).unwrap();
        let stored = std::fs::read(vectors_dir().join(n))
            .unwrap_or_else(|e| panic!("spec/vectors/{n}: {e} (run the generator)"));
        assert!(
            fresh == stored,
            "spec/vectors/{n} differs from the generator's output (run `cargo run --example gen_vectors`)"
        );
    }
    // Nothing in spec/vectors that the generator does not make (the
    // session vectors in spec/vectors/session/ have their own generator,
    // examples/gen_session_vectors.rs, and test, tests/session_vectors.rs).
    for e in std::fs::read_dir(vectors_dir()).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            n == "README.md"
                || n == "session"
                || n == "checkpoints"
                || n == "openparallax"
                || names.contains(&n),
            "spec/vectors/{n} is not produced by the generator"
        );
    }
    // Twice in a row gives the same bytes (no clock, no randomness).
    let tmp2 = tempfile::tempdir().unwrap();
    assert_eq!(gen::generate(tmp2.path()).unwrap(), names);
    for n in &names {
        assert_eq!(
            std::fs::read(tmp.path().join(n)).unwrap(),
            std::fs::read(tmp2.path().join(n)).unwrap(),
            "{n}"
        );
    }
}

/// The text of the fenced block that follows `marker` in `doc`.
fn fenced_after<'a>(doc: &'a str, marker: &str) -> &'a str {
    let at = doc
        .find(marker)
        .unwrap_or_else(|| panic!("spec/format.md has no {marker}"));
    let rest = &doc[at..];
    let open = rest.find("```").expect("opening fence");
    let body_start = open + rest[open..].find('\n').expect("fence line") + 1;
    let len = rest[body_start..].find("\n```").expect("closing fence");
    &rest[body_start..body_start + len + 1]
}

fn spec() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/format.md"))
        .expect("spec/format.md")
}

#[test]
fn worked_example_in_the_spec_matches_the_library() {
    let doc = spec();
    let (jsonl, binary) = gen::example_log();

    // The JSONL file, quoted whole.
    let quoted = fenced_after(&doc, "<!-- example: example.jsonl -->");
    assert_eq!(
        quoted,
        std::str::from_utf8(&jsonl).unwrap(),
        "the JSONL example in spec/format.md is not the library's output"
    );
    assert_eq!(
        std::fs::read(vectors_dir().join("example.jsonl")).unwrap(),
        jsonl
    );

    // The binary file, as a hex dump: "OFFSET  hex bytes  |ascii|".
    let dump = fenced_after(&doc, "<!-- example: example.evl -->");
    let mut bytes = Vec::new();
    for line in dump.lines() {
        let hexpart = line.split('|').next().unwrap();
        let mut tokens = hexpart.split_whitespace();
        let off = tokens.next().expect("offset");
        assert_eq!(
            usize::from_str_radix(off, 16).unwrap(),
            bytes.len(),
            "dump offset"
        );
        for t in tokens {
            bytes.push(u8::from_str_radix(t, 16).expect("hex byte"));
        }
    }
    assert_eq!(
        bytes, binary,
        "the binary example in spec/format.md is not the library's output"
    );
    assert_eq!(
        std::fs::read(vectors_dir().join("example.evl")).unwrap(),
        binary
    );

    // Each record's body and hash, as the spec lists them.
    let bodies = fenced_after(&doc, "<!-- example: bodies -->");
    let recs = gen::example_records();
    let mut want = String::new();
    for (i, (body, hash)) in recs.iter().enumerate() {
        want.push_str(&format!("body[{i}] = {body}\nhash[{i}] = {hash}\n"));
    }
    assert_eq!(bodies, want, "the bodies/hashes listing in spec/format.md");

    // The key id example.
    let key = Key::new(gen::key_a()).unwrap();
    let kid = fenced_after(&doc, "<!-- example: key id -->");
    assert_eq!(
        kid,
        format!(
            "key    = {}\nkey_id = {}\n",
            hex::encode(gen::key_a()),
            key.key_id()
        )
    );
}

/// Spec § 2, § 5.5, § 8: a log that verifies can be read and converted.
/// Every valid vector: every entry reads back (query), and the log converts
/// to the other framing and back to the same bytes.
#[test]
fn every_valid_vector_reads_and_converts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for f in expect_files() {
        let m = parse_expect(&std::fs::read_to_string(&f).unwrap());
        if m["expect"] != "valid" || m.contains_key("expected-head") {
            continue;
        }
        let log = vectors_dir().join(&m["log"]);
        let entries: Vec<evident::Entry> = evident::query(&log, &evident::Query::default())
            .unwrap()
            .collect::<evident::Result<_>>()
            .unwrap_or_else(|e| panic!("{f:?}: a valid log fails to read: {e}"));
        assert_eq!(entries.len().to_string(), m["entries"], "{f:?}");
        let key = m
            .get("key")
            .map(|k| Key::new(hex::decode(k).unwrap()).unwrap());
        let opts = evident::ConvertOptions::new().key(key);
        let name = log.file_name().unwrap().to_string_lossy().to_string();
        let there = tmp.path().join(format!("{name}.other"));
        let back = tmp.path().join(format!("{name}.back"));
        if there.exists() {
            continue; // the same log under another .expect
        }
        evident::convert(&log, &there, &opts)
            .unwrap_or_else(|e| panic!("{f:?}: a valid log fails to convert: {e}"));
        evident::convert(&there, &back, &opts).unwrap();
        assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&log).unwrap());
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} valid vectors");
}

/// Vector `entry_ts_space`: the verifier does not read entry times, a
/// reader does, and reports the entry (spec § 5.3).
#[test]
fn entry_ts_outside_the_grammar_is_malformed_for_readers() {
    for name in ["entry_ts_space.jsonl", "entry_ts_space.evl"] {
        let log = vectors_dir().join(name);
        let err = evident::query(&log, &evident::Query::default())
            .unwrap()
            .collect::<evident::Result<Vec<_>>>()
            .unwrap_err();
        assert!(
            matches!(&err, evident::Error::Malformed { at, .. } if at.seq == Some(3)),
            "{name}: {err}"
        );
    }
}
