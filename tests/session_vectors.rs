//! The session test vectors of spec/session.md § 11: every `.evs` file in
//! spec/vectors/session/ must read as its `.expect` file says.

use evident::session::*;
use evident::Key;
use serde_json::{json, Value};
use std::path::Path;

fn report(path: &Path, key: Option<&Key>) -> Value {
    let opts = LoadOptions {
        key: key.cloned(),
        version: None,
    };
    let mut out = json!({
        "versions": versions(path, key)
            .map(|v| json!(v.iter().map(|v| v.version).collect::<Vec<_>>()))
            .unwrap_or_else(|e| json!(format!("error:{}", e.kind_name()))),
    });
    let verify = verify_session(path, key);
    out["verify_ok"] = verify
        .as_ref()
        .map(|r| json!(r.ok))
        .unwrap_or_else(|e| json!(format!("error:{}", e.kind_name())));
    out["torn_tail_at"] = json!(verify.as_ref().ok().and_then(|r| r.torn_tail_at));
    match Session::load(path, &opts) {
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
        }
        Err(e) => out["load"] = json!(format!("error:{}", e.kind_name())),
    }
    out
}

#[test]
fn session_vectors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors/session");
    let key = Key::new((0u8..32).collect::<Vec<u8>>()).unwrap();
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("evs") {
            continue;
        }
        let want: Value =
            serde_json::from_str(&std::fs::read_to_string(p.with_extension("expect")).unwrap())
                .unwrap();
        // Read a copy: reading must not need write access or a lock.
        let tmp = tempfile::tempdir().unwrap();
        let copy = tmp.path().join(p.file_name().unwrap());
        std::fs::copy(&p, &copy).unwrap();
        let stem = p.file_stem().unwrap().to_str().unwrap();
        let k = (stem.starts_with("keyed") || stem == "compacted").then_some(&key);
        assert_eq!(report(&copy, k), want, "vector {stem}");
        n += 1;
    }
    assert!(n >= 6, "only {n} vectors");
}
