//! What a record may contain (spec § 2, § 3, § 5): one rule for the writer,
//! the verifier and the readers, so that every record that verifies can be
//! read back and converted to the other framing.
//!
//! Each log here is built with the public format API and given a record
//! body by hand (hash and CRC correct), then checked three ways: `verify`,
//! reading every entry (`query`), and `convert`.

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use evident::format::{self, Genesis, MAX_BODY};
use evident::{
    convert, query, verify, Chain, ConvertOptions, Error, Event, Framing, Hash, HashAlg, Log,
    OpenOptions, Query, VerifyOptions, ViolationKind,
};
use serde_json::{json, Value};

const LOG_ID: &str = "0123456789abcdef0123456789abcdef";

fn ts0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().unwrap()
}

fn genesis_body() -> Vec<u8> {
    let g = Genesis {
        version: 1,
        ts: ts0(),
        alg: HashAlg::Sha256,
        key_id: None,
        log_id: LOG_ID.into(),
        critical: Vec::new(),
    };
    let mut body = Vec::new();
    format::encode_genesis(&mut body, &g);
    body
}

/// An entry body built by the writer, its details replaced by `details`
/// (raw JSON text, not checked).
fn entry_body(seq: u64, prev: &Hash, details: &str) -> Vec<u8> {
    let mut body = Vec::new();
    let ev = Event::new("T", "a").details(json!("PLACEHOLDER"));
    format::encode_entry(&mut body, seq, prev, &ts0(), &ev, "u", "h").unwrap();
    let text = String::from_utf8(body).unwrap();
    text.replacen("\"PLACEHOLDER\"", details, 1).into_bytes()
}

/// Writes a log of the given bodies (the genesis first) in `framing`.
fn write_log(dir: &Path, name: &str, framing: Framing, bodies: &[Vec<u8>]) -> PathBuf {
    let chain = Chain::new(HashAlg::Sha256, None).unwrap();
    let mut out = framing.file_header();
    for b in bodies {
        format::frame(&mut out, framing, b, &chain.hash(b));
    }
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path
}

/// A log whose entry 2 (of 3) has `details`, with every link right.
fn log_with_details(dir: &Path, name: &str, framing: Framing, details: &str) -> PathBuf {
    let chain = Chain::new(HashAlg::Sha256, None).unwrap();
    let mut bodies = vec![genesis_body()];
    for seq in 1..=3 {
        let prev = chain.hash(bodies.last().unwrap());
        let d = if seq == 2 { details } else { "{}" };
        bodies.push(entry_body(seq, &prev, d));
    }
    write_log(dir, name, framing, &bodies)
}

fn first_violation(path: &Path) -> Option<(ViolationKind, Option<u64>, String)> {
    let r = verify(path, &VerifyOptions::default()).unwrap();
    r.first().map(|v| (v.kind, v.seq, v.message.clone()))
}

fn read_all(path: &Path) -> evident::Result<Vec<evident::Entry>> {
    query(path, &Query::default())?.collect()
}

/// Details a reader must refuse: each verifies as `malformed` (no seq, at
/// entry 2), in both framings, never as valid-but-unreadable.
#[test]
fn content_beyond_the_rule_is_malformed_everywhere() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "overflow",
            r#"{"x":1e400}"#.into(),
            "out of range|not finite",
        ),
        (
            "neg_overflow",
            r#"[-1e400]"#.into(),
            "out of range|not finite",
        ),
        (
            "long_integer",
            format!("[{}]", "9".repeat(400)),
            "out of range|not finite",
        ),
        // Body level 1, details 128 more: 129 > 128.
        ("deep", deep(128), "nested"),
        ("very_deep", deep(100_000), "nested"),
        ("lone_high", r#""\ud800""#.into(), "surrogate|escape"),
        (
            "lone_high_then_char",
            r#""\ud800x""#.into(),
            "surrogate|escape",
        ),
        ("lone_low", r#"{"k":"\udc00"}"#.into(), "surrogate|escape"),
        ("lone_in_name", r#"{"\udfff":1}"#.into(), "surrogate|escape"),
        ("high_high", r#""\ud800\ud800""#.into(), "surrogate|escape"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for framing in [Framing::Jsonl, Framing::Binary] {
        for (name, details, why) in &cases {
            let path = log_with_details(dir.path(), &format!("{name}.{framing}"), framing, details);
            let v = first_violation(&path);
            assert!(
                matches!(&v, Some((ViolationKind::Malformed, None, m))
                    if why.split('|').any(|w| m.contains(w))),
                "{name} ({framing}): {v:?}"
            );
            // Readers report the same record as malformed, never something else.
            let e = read_all(&path).unwrap_err();
            assert!(matches!(e, Error::Malformed { .. }), "{name}: {e}");
        }
    }
}

/// Details at the edge of the rule: valid, readable, convertible.
#[test]
fn content_at_the_limits_verifies_reads_and_converts() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let cases: Vec<(&str, String)> = vec![
        // Body level 1 + 127 levels of details = 128, the limit.
        ("deepest", deep(127)),
        (
            "max_double",
            "[1.7976931348623157e308,-1.7976931348623157e308]".into(),
        ),
        (
            "big_integer",
            "[18446744073709551616,-9223372036854775809]".into(),
        ),
        ("underflow", "[1e-400]".into()),
        ("pair", r#"{"\ud83d\ude00":"\ud83d\ude00\u0000"}"#.into()),
    ];
    let dir = tempfile::tempdir().unwrap();
    for framing in [Framing::Jsonl, Framing::Binary] {
        for (name, details) in &cases {
            let path = log_with_details(dir.path(), &format!("{name}.{framing}"), framing, details);
            assert_eq!(first_violation(&path), None, "{name} ({framing})");
            let entries = read_all(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(entries.len(), 3);
            let back = dir.path().join(format!("{name}.{framing}.converted"));
            convert(&path, &back, &ConvertOptions::default())
                .unwrap_or_else(|e| panic!("{name} ({framing}): {e}"));
        }
    }
}

/// The writer refuses what readers would refuse, with InvalidArgument, and
/// writes nothing.
#[test]
fn writer_refuses_content_beyond_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.jsonl");
    let log = Log::open(&path, OpenOptions::new()).unwrap();
    // 127 levels of details: the deepest a record holds.
    let mut v = json!(1);
    for _ in 0..127 {
        v = Value::Array(vec![v]);
    }
    log.append(&Event::new("t", "ok").details(v.clone()))
        .unwrap();
    let deeper = Value::Array(vec![v]);
    let e = log
        .append(&Event::new("t", "deep").details(deeper))
        .unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument(ref m) if m.contains("deep")),
        "{e}"
    );
    // Far deeper than the stack could serialise: refused, no overflow.
    let mut huge = json!(null);
    for _ in 0..1_000_000 {
        huge = Value::Array(vec![huge]);
    }
    let ev = Event::new("t", "huge").details(huge);
    let e = log.append(&ev).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    // serde_json's Value drops recursively: leak it rather than overflow.
    std::mem::forget(ev);
    // A year a record cannot hold.
    let mut ev = Event::new("t", "y10k");
    ev.ts = Some(Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).single().unwrap());
    let e = log.append(&ev).unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument(ref m) if m.contains("9999")),
        "{e}"
    );
    let head = log.head();
    log.close().unwrap();
    assert_eq!(head.seq, 1);
    assert_eq!(first_violation(&path), None);
    assert_eq!(read_all(&path).unwrap().len(), 1);
}

/// Genesis timestamps: exactly YYYY-MM-DDTHH:MM:SS.ffffffZ (spec § 5.3).
#[test]
fn genesis_ts_must_follow_the_grammar() {
    let good = "2026-03-01T09:00:00.000000Z";
    let bad = [
        "2026-03-01 09:00:00.000000Z",
        "2026-03-01T09:00:00.000000+0100",
        "2026-03-01T09:00:00.000000+01:00",
        "2026-03-01T09:00:00.000000+00:00",
        "2026-03-01T9:00:00.000000Z",
        "2026-03-01T09:00:00.000000 Z",
        "2026-03-01T09:00:00.000000 UTC",
        " 2026-03-01T09:00:00.000000Z",
        "2026-03-01T09:00:00.000000Z ",
        "2026-03-01T09:00:00Z",
        "2026-03-01T09:00:00.000Z",
        "2026-03-01T09:00:00.0000000Z",
        "2026-03-01t09:00:00.000000z",
        "2026-02-30T09:00:00.000000Z",
        "2026-03-01T24:00:00.000000Z",
        "+2026-03-01T09:00:00.000000Z",
    ];
    let dir = tempfile::tempdir().unwrap();
    for framing in [Framing::Jsonl, Framing::Binary] {
        for (i, ts) in bad.iter().enumerate() {
            let g = String::from_utf8(genesis_body())
                .unwrap()
                .replacen(good, ts, 1);
            let path = write_log(dir.path(), &format!("g{i}.{framing}"), framing, &[g.into()]);
            let v = first_violation(&path);
            assert!(
                matches!(&v, Some((ViolationKind::Malformed, Some(0), m)) if m.contains("timestamp")),
                "{ts:?} ({framing}): {v:?}"
            );
        }
        // A leap second is a valid RFC 3339 time and fits the grammar.
        let g = String::from_utf8(genesis_body()).unwrap().replacen(
            good,
            "2016-12-31T23:59:60.500000Z",
            1,
        );
        let path = write_log(dir.path(), &format!("leap.{framing}"), framing, &[g.into()]);
        assert_eq!(first_violation(&path), None);
    }
}

/// Entry timestamps are not checked by the verifier (spec § 2) but a reader
/// that returns the entry applies the same grammar and reports the entry as
/// malformed, naming it.
#[test]
fn entry_ts_outside_the_grammar_is_reported_by_readers() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::new(HashAlg::Sha256, None).unwrap();
    let g = genesis_body();
    let e = String::from_utf8(entry_body(1, &chain.hash(&g), "{}"))
        .unwrap()
        .replacen("2026-03-01T09:00:00.000000Z", "2026-03-01 09:00:00Z", 1);
    let path = write_log(dir.path(), "e.jsonl", Framing::Jsonl, &[g, e.into()]);
    assert_eq!(first_violation(&path), None);
    let err = read_all(&path).unwrap_err();
    assert!(
        matches!(&err, Error::Malformed { at, msg, .. } if at.seq == Some(1) && msg.contains("timestamp")),
        "{err}"
    );
}

/// Binary bodies that no JSONL line can carry are malformed (spec § 2 rule
/// 4), so every valid binary log converts to JSONL.
#[test]
fn binary_body_must_fit_a_jsonl_line() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::new(HashAlg::Sha256, None).unwrap();
    let g = genesis_body();
    let canonical = entry_body(1, &chain.hash(&g), "{}");
    let text = String::from_utf8(canonical.clone()).unwrap();
    let variants: Vec<(&str, Vec<u8>)> = vec![
        ("leading_space", [b" ".as_slice(), &canonical].concat()),
        ("trailing_space", [&canonical, b" ".as_slice()].concat()),
        ("trailing_lf", [&canonical, b"\n".as_slice()].concat()),
        (
            "inner_lf",
            text.replacen(",\"details\"", ",\n\"details\"", 1).into(),
        ),
        ("inner_lf_end", text.replacen("{}}", "{}\n}", 1).into()),
    ];
    for (name, body) in variants {
        // The JSON itself is fine.
        serde_json::from_slice::<Value>(&body).unwrap();
        // A record after it, so that it is not a torn tail.
        let next = entry_body(2, &chain.hash(&body), "{}");
        let path = write_log(
            dir.path(),
            &format!("{name}.evl"),
            Framing::Binary,
            &[g.clone(), body, next],
        );
        let v = first_violation(&path);
        assert!(
            matches!(&v, Some((ViolationKind::Malformed, None, m)) if m.contains("JSONL")),
            "{name}: {v:?}"
        );
        assert!(read_all(&path).is_err(), "{name}");
    }
    // Other whitespace (spaces, tabs, CR) inside the object converts fine.
    let body: Vec<u8> = text.replacen(",\"details\"", " ,\t\r\"details\"", 1).into();
    let path = write_log(dir.path(), "ws.evl", Framing::Binary, &[g, body]);
    assert_eq!(first_violation(&path), None);
    let out = dir.path().join("ws.jsonl");
    convert(&path, &out, &ConvertOptions::default()).unwrap();
    let back = dir.path().join("ws2.evl");
    convert(&out, &back, &ConvertOptions::default()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&back).unwrap());
}

/// A JSONL body longer than MAX_BODY fits no binary frame: malformed.
#[test]
fn jsonl_body_longer_than_max_body_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::new(HashAlg::Sha256, None).unwrap();
    let g = genesis_body();
    let prev = chain.hash(&g);
    let empty = entry_body(1, &prev, "\"\"");
    // Fill a string so that the body is exactly `len` bytes.
    let body_of = |len: usize| -> Vec<u8> {
        let pad = "x".repeat(len - empty.len());
        entry_body(1, &prev, &format!("\"{pad}\""))
    };
    for (len, ok) in [(MAX_BODY, true), (MAX_BODY + 1, false)] {
        let body = body_of(len);
        assert_eq!(body.len(), len);
        let next = entry_body(2, &chain.hash(&body), "{}");
        let path = write_log(
            dir.path(),
            &format!("{len}.jsonl"),
            Framing::Jsonl,
            &[g.clone(), body, next],
        );
        let v = first_violation(&path);
        if ok {
            assert_eq!(v, None);
            convert(
                &path,
                dir.path().join(format!("{len}.evl")),
                &ConvertOptions::default(),
            )
            .unwrap();
        } else {
            assert!(
                matches!(&v, Some((ViolationKind::Malformed, None, m)) if m.contains("frame")),
                "{v:?}"
            );
        }
    }
}

/// Duplicated `v` / `critical` in the genesis (spec § 3 rule 2, 3): any
/// occurrence that needs a newer reader makes the log unsupported; a
/// duplicate that does not is malformed.
#[test]
fn duplicated_decisive_genesis_members() {
    let dir = tempfile::tempdir().unwrap();
    let g = String::from_utf8(genesis_body()).unwrap();
    let cases = [
        (
            "v_then_2",
            g.replacen("}", ",\"v\":2}", 1),
            ViolationKind::Unsupported,
        ),
        (
            "2_then_v",
            g.replacen("{\"v\":1,", "{\"v\":2,\"v\":1,", 1),
            ViolationKind::Unsupported,
        ),
        (
            "critical_twice",
            g.replacen("}", ",\"critical\":[],\"critical\":[\"x-new\"]}", 1),
            ViolationKind::Unsupported,
        ),
        (
            "v_twice_1",
            g.replacen("}", ",\"v\":1}", 1),
            ViolationKind::Malformed,
        ),
        (
            "critical_twice_empty",
            g.replacen("}", ",\"critical\":[],\"critical\":[]}", 1),
            ViolationKind::Malformed,
        ),
    ];
    for framing in [Framing::Jsonl, Framing::Binary] {
        for (name, body, want) in &cases {
            let path = write_log(
                dir.path(),
                &format!("{name}.{framing}"),
                framing,
                &[body.clone().into_bytes()],
            );
            let v = first_violation(&path);
            assert!(
                matches!(&v, Some((k, Some(0), _)) if k == want),
                "{name} ({framing}): {v:?}"
            );
        }
    }
}

/// Canonical numbers: zero is `0.0` / `-0.0` (spec § 5.2), and `details`
/// null is kept as null while absent details are `{}` (spec § 4).
#[test]
fn zero_and_null_details_are_written_as_the_spec_says() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.jsonl");
    let log = Log::open(&path, OpenOptions::new()).unwrap();
    let mut ev = Event::new("t", "zero").details(json!({"z": 0.0, "n": -0.0, "i": 0}));
    ev.duration_ms = Some(0.0);
    log.append(&ev).unwrap();
    log.append(&Event::new("t", "null").details(Value::Null))
        .unwrap();
    log.append(&Event::new("t", "none")).unwrap();
    // Through the JSON form of an event (C ABI, CLI): null stays null.
    let from_json: Event =
        serde_json::from_str(r#"{"event_type":"t","action":"json-null","details":null}"#).unwrap();
    assert_eq!(from_json.details, Some(Value::Null));
    log.append(&from_json).unwrap();
    let from_json: Event = serde_json::from_str(r#"{"event_type":"t","action":"absent"}"#).unwrap();
    assert_eq!(from_json.details, None);
    log.close().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].contains(r#""duration_ms":0.0,"#)
            && lines[1].contains(r#""details":{"i":0,"n":-0.0,"z":0.0}"#),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(r#""details":null,"hash""#),
        "{}",
        lines[2]
    );
    assert!(lines[3].contains(r#""details":{},"hash""#), "{}", lines[3]);
    assert!(
        lines[4].contains(r#""details":null,"hash""#),
        "{}",
        lines[4]
    );
    let entries = read_all(&path).unwrap();
    assert_eq!(entries[1].details, Value::Null);
    assert_eq!(entries[2].details, json!({}));
}
