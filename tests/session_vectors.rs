//! The session test vectors of spec/session.md § 11: every `.evs` file in
//! spec/vectors/session/ must read as its `.expect` file says (what the
//! reader reports is computed by the generator's `expect`).

#[path = "../examples/gen_session_vectors.rs"]
#[allow(dead_code)]
mod gen;

use evident::Key;
use serde_json::Value;
use std::path::Path;

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
        assert_eq!(gen::expect(&copy, k), want, "vector {stem}");
        n += 1;
    }
    assert!(n >= 6, "only {n} vectors");
}
