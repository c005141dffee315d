//! Writes the session test vectors of spec/session.md § 11 into
//! `spec/vectors/session/` (run once; the files are checked in and every
//! implementation reads them): `cargo run --example gen_session_vectors`.
//!
//! Each `NAME.evs` has a `NAME.expect` (JSON) stating what a reader must
//! report (spec/session.md § 11 describes the format): `load` ("ok" or
//! the error kind), the loaded `version`, the `versions` listed, whether
//! verification is `ok`, the `torn_tail_at` offset, the
//! `incomplete_versions`, and the loaded `content` (everything but
//! samples) with the `samples` of each trace as hex.

use evident::session::*;
use evident::Key;
use serde_json::{json, Value};
use std::path::Path;

fn session() -> Session {
    let mut s = Session::new("Vector session");
    s.metadata_mut()
        .insert("instrument".into(), json!("scope-7"));
    let info = |rate: f64, units: &str| TraceInfo {
        sample_rate: rate,
        start_time: -0.5,
        units: units.into(),
        metadata: serde_json::Map::from_iter([("probe".to_string(), json!("10x"))]),
    };
    let t = |r: evident::Result<Trace>| r.expect("trace");
    s.add_trace(
        "f64",
        t(Trace::from_slice(&[0.5f64, -1.25, 3.0], info(1e6, "V"))),
    )
    .unwrap();
    s.add_trace("f32", t(Trace::from_slice(&[1.5f32, -2.0], info(2e6, "A"))))
        .unwrap();
    s.add_trace(
        "i8",
        t(Trace::from_slice(&[-128i8, 0, 127], info(10.0, ""))),
    )
    .unwrap();
    s.add_trace(
        "i16",
        t(Trace::from_slice(&[-32768i16, 1, 32767], info(10.0, ""))),
    )
    .unwrap();
    s.add_trace(
        "i32",
        t(Trace::from_slice(&[i32::MIN, 2, i32::MAX], info(10.0, ""))),
    )
    .unwrap();
    s.add_trace(
        "i64",
        t(Trace::from_slice(&[i64::MIN, 3, i64::MAX], info(10.0, ""))),
    )
    .unwrap();
    s.add_trace("u8", t(Trace::from_slice(&[0u8, 255], info(10.0, ""))))
        .unwrap();
    s.add_trace("u16", t(Trace::from_slice(&[0u16, 65535], info(10.0, ""))))
        .unwrap();
    s.add_trace(
        "u32",
        t(Trace::from_slice(&[0u32, u32::MAX], info(10.0, ""))),
    )
    .unwrap();
    s.add_trace(
        "u64",
        t(Trace::from_slice(&[0u64, u64::MAX], info(10.0, ""))),
    )
    .unwrap();
    s.add_trace(
        "bool",
        t(Trace::from_slice(&[true, false, true], info(1e3, ""))),
    )
    .unwrap();
    s.add_trace(
        "bit",
        t(Trace::from_bytes(
            Dtype::Bit,
            11,
            &[0b1010_0101, 0b0000_0110],
            info(1e3, ""),
        )),
    )
    .unwrap();
    s.annotate("default", Annotation::new("point").at(1.5e-6))
        .unwrap();
    s.annotate("default", Annotation::new("range").over(2e-6, 5e-6))
        .unwrap();
    let mut v = Annotation::new("vertical")
        .at(7e-6)
        .kind(AnnotationKind::Vertical);
    v.color = Some("#FF0000".into());
    v.style = "dashed".into();
    s.annotate("marks", v).unwrap();
    let mut h = Annotation::new("threshold");
    h.amplitude = Some(3.3);
    s.annotate("marks", h).unwrap();
    let mut r = Annotation::new("region").over(0.0, 1e-3);
    r.amplitude_range = Some((2.5, 3.5));
    r.visible = false;
    r.metadata.insert("why".into(), json!("spec"));
    s.annotate("marks", r).unwrap();
    s.annotate("notes", Annotation::new("free text")).unwrap();
    s.set_layer(&LayerProps {
        name: "marks".into(),
        locked: Some(true),
        color: Some("#00FF00".into()),
        description: Some("reference lines".into()),
        visible: Some(true),
    })
    .unwrap();
    let mut m = Measurement::new("rise_time", 2.3e-9, "s");
    m.trace_name = Some("f64".into());
    m.metadata.insert("standard".into(), json!("IEEE 181-2011"));
    s.record_measurement(m).unwrap();
    s.record_measurement(Measurement::new("label", "pass", ""))
        .unwrap();
    let mut e = HistoryEntry::new("apply_filter");
    e.parameters.insert("cutoff".into(), json!(1e6));
    e.success = false;
    e.error_message = Some("Cutoff frequency too high".into());
    e.duration_ms = 2.5;
    s.record_history(e).unwrap();
    s.set_history_limit(100);
    s
}

/// What a reader reports for a session file, in the `.expect` format
/// (also used by tests/session_vectors.rs, which compares it with the
/// stored `.expect` files).
pub fn expect(path: &Path, key: Option<&Key>) -> Value {
    let opts = LoadOptions::default().key(key.cloned()).version(None);
    let load = Session::load(path, &opts);
    let versions = versions(path, key)
        .map(|v| json!(v.iter().map(|v| v.version).collect::<Vec<_>>()))
        .unwrap_or_else(|e| json!(format!("error:{}", e.kind_name())));
    let verify = verify_session(path, key);
    let mut out = json!({
        "versions": versions,
        "verify_ok": verify.as_ref().map(|r| json!(r.ok)).unwrap_or_else(|e| json!(format!("error:{}", e.kind_name()))),
        "torn_tail_at": verify.as_ref().ok().and_then(|r| r.torn_tail_at),
        "incomplete_versions": verify.as_ref().ok().map(|r| json!(r.incomplete_versions)),
    });
    match load {
        Ok(s) => {
            let mut c = s.to_json();
            let o = c.as_object_mut().unwrap();
            o.remove("path");
            for t in o["traces"].as_array_mut().unwrap() {
                let name = t["name"].as_str().unwrap().to_string();
                let tr = s.trace(&name).unwrap();
                tr.verify().unwrap();
                t["samples"] = json!(hex::encode(tr.bytes().unwrap()));
                t.as_object_mut().unwrap().remove("mapped");
                t.as_object_mut().unwrap().remove("compressed");
            }
            out["load"] = json!("ok");
            out["version"] = json!(s.version());
            out["content"] = c;
            // `content` compares objects as objects: the order of each
            // entry's parameters (spec/session.md § 4.3) separately.
            out["history_parameters"] = json!(s
                .history()
                .iter()
                .map(|e| e.parameters.keys().collect::<Vec<_>>())
                .collect::<Vec<_>>());
        }
        Err(e) => out["load"] = json!(format!("error:{}", e.kind_name())),
    }
    out
}

fn main() {
    let dir = Path::new("spec/vectors/session");
    std::fs::create_dir_all(dir).unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }
    let write = |name: &str, key: Option<&Key>| {
        let p = dir.join(format!("{name}.evs"));
        let e = expect(&p, key);
        std::fs::write(
            dir.join(format!("{name}.expect")),
            serde_json::to_string_pretty(&e).unwrap() + "\n",
        )
        .unwrap();
    };
    // basic: two versions, the second after one more annotation.
    let basic = dir.join("basic.evs");
    let mut s = session();
    s.save(Some(&basic), &SaveOptions::default()).unwrap();
    s.set_layer(&LayerProps {
        name: "marks".into(),
        locked: Some(false),
        ..Default::default()
    })
    .unwrap();
    s.annotate("marks", Annotation::new("second version").at(9e-6))
        .unwrap();
    s.save(None, &SaveOptions::default()).unwrap();
    write("basic", None);
    let full = std::fs::read(&basic).unwrap();
    // torn: the second save cut in its commit record.
    std::fs::write(dir.join("torn.evs"), &full[..full.len() - 5]).unwrap();
    write("torn", None);
    // damaged: one byte of the first version's meta section flipped.
    let at = find(&full, b"\"section\":\"meta\"") + 3;
    let mut d = full.clone();
    d[at] ^= 0x20;
    std::fs::write(dir.join("damaged.evs"), &d).unwrap();
    write("damaged", None);
    // unsynced: a second version saved without sync (its commit has
    // "barrier":false) whose new samples a power cut lost (zeros) while
    // its commit survived: the version is incomplete, version 1 loads.
    let unsynced = dir.join("unsynced.evs");
    let mut u = session();
    u.save(Some(&unsynced), &SaveOptions::default()).unwrap();
    let before = std::fs::read(&unsynced).unwrap().len();
    let lost: Vec<i32> = (0..2048).map(|i| i * 7 - 100).collect();
    u.add_trace(
        "lost",
        Trace::from_slice(&lost, TraceInfo::with_rate(1e3)).unwrap(),
    )
    .unwrap();
    u.save(None, &SaveOptions::default().sync(false)).unwrap();
    let mut bytes = std::fs::read(&unsynced).unwrap();
    let samples: Vec<u8> = lost.iter().flat_map(|x| x.to_le_bytes()).collect();
    // A page lost in a power cut reads as zeros: the first whole 4 KiB
    // page inside the new samples.
    let at = before + find(&bytes[before..], &samples);
    let page = at.div_ceil(4096) * 4096;
    assert!(page + 4096 <= at + samples.len());
    bytes[page..page + 4096].fill(0);
    std::fs::write(&unsynced, &bytes).unwrap();
    write("unsynced", None);
    // no_commit: header and genesis only.
    let g_end = 16 + u32::from_le_bytes(full[16..20].try_into().unwrap()) as usize + 32 + 16;
    std::fs::write(dir.join("no_commit.evs"), &full[..g_end]).unwrap();
    write("no_commit", None);
    // keyed, compressed, then compacted.
    let key = Key::new((0u8..32).collect::<Vec<u8>>()).unwrap();
    let keyed = dir.join("keyed_zstd.evs");
    let mut k = session();
    let o = SaveOptions::default()
        .key(Some(key.clone()))
        .compress(Some(3));
    k.save(Some(&keyed), &o).unwrap();
    k.record_measurement(Measurement::new("second", 2, ""))
        .unwrap();
    k.save(None, &o).unwrap();
    write("keyed_zstd", Some(&key));
    let compacted = dir.join("compacted.evs");
    std::fs::copy(&keyed, &compacted).unwrap();
    compact(&compacted, Some(&key)).unwrap();
    write("compacted", Some(&key));
    // history_order: parameters given out of sorted order keep it
    // (`parameter_order`), sorted ones are written as before.
    let ordered = dir.join("history_order.evs");
    let mut h = Session::new("History order");
    let mut e = HistoryEntry::new("apply_filter");
    e.parameters.insert("type".into(), json!("lowpass"));
    e.parameters.insert("cutoff".into(), json!(1e6));
    e.parameters.insert("order".into(), json!(4));
    h.record_history(e).unwrap();
    let mut e = HistoryEntry::new("load_trace");
    e.parameters.insert("name".into(), json!("CH1"));
    e.parameters.insert("path".into(), json!("capture.wfm"));
    h.record_history(e).unwrap();
    let mut e = HistoryEntry::new("something");
    e.parameters.insert("b".into(), json!({"z": 1, "a": 2}));
    e.parameters.insert("a".into(), json!(2));
    h.record_history(e).unwrap();
    h.save(Some(&ordered), &SaveOptions::default()).unwrap();
    write("history_order", None);
    let _ = std::fs::remove_file(dir.join("history_order.evs.lock"));
    let _ = std::fs::remove_file(dir.join("compacted.evs.lock"));
    let _ = std::fs::remove_file(dir.join("keyed_zstd.evs.lock"));
    let _ = std::fs::remove_file(dir.join("basic.evs.lock"));
    let _ = std::fs::remove_file(dir.join("unsynced.evs.lock"));
}

fn find(h: &[u8], n: &[u8]) -> usize {
    h.windows(n.len()).position(|w| w == n).unwrap()
}
