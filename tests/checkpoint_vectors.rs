//! The checkpoint vectors of `spec/vectors/checkpoints/` against this
//! library: every vector of `manifest.json` gives its expected result, and
//! the generator (`examples/gen_checkpoint_vectors.rs`) reproduces every
//! file byte for byte.

#[path = "../examples/gen_checkpoint_vectors.rs"]
#[allow(dead_code)]
mod gen;

use std::path::{Path, PathBuf};

use evident::checkpoint::{
    self, CheckOptions, ConsistencyProof, InclusionProof, NoteVerifier, SignedCheckpoint,
};
use evident::witness::{Outcome, TrustedLog, Witness};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors/checkpoints")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn vkey(name: &str) -> NoteVerifier {
    NoteVerifier::from_vkey(&String::from_utf8(read(name)).unwrap()).unwrap()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} in {v}"))
}

#[test]
fn generator_reproduces_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let names = gen::generate(tmp.path()).unwrap();
    for n in &names {
        assert_eq!(
            std::fs::read(tmp.path().join(n)).unwrap(),
            read(n),
            "spec/vectors/checkpoints/{n} differs from the generator's output (run `cargo run --example gen_checkpoint_vectors`)"
        );
    }
    for e in std::fs::read_dir(dir()).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            names.contains(&n),
            "spec/vectors/checkpoints/{n} is not produced by the generator"
        );
    }
}

#[test]
fn every_vector_gives_its_result() {
    let m: Value = serde_json::from_slice(&read("manifest.json")).unwrap();
    let log_key = vkey(s(&m, "log_vkey"));
    let wkey = vkey(s(&m, "witness_vkey"));
    let mut checked = 0;
    for v in m["vectors"].as_array().unwrap() {
        let expect = v["expect"].as_str().unwrap_or("");
        match s(v, "kind") {
            "verify" => {
                let cp = SignedCheckpoint::parse(&read(s(v, "checkpoint")));
                let got = match cp {
                    Err(_) => "bad_signature".to_string(),
                    Ok(cp) => {
                        let mut opts = CheckOptions::default();
                        opts.witness_keys = vec![wkey.clone()];
                        opts.min_witnesses = v["min_witnesses"].as_u64().unwrap_or(0) as usize;
                        let log = dir().join(s(v, "log"));
                        let r = checkpoint::verify_against(&log, &cp, &log_key, &opts).unwrap();
                        assert_eq!(r.valid, expect == "match", "{v}");
                        r.outcome.name().to_string()
                    }
                };
                assert_eq!(got, expect, "{v}");
            }
            "inclusion" => {
                let ok = InclusionProof::parse(&read(s(v, "proof")))
                    .map(|p| p.verify(&log_key, None).is_ok())
                    .unwrap_or(false);
                assert_eq!(ok, expect == "ok", "{v}");
            }
            "consistency" => {
                let old = SignedCheckpoint::parse(&read(s(v, "old"))).unwrap();
                let ok = ConsistencyProof::parse(&read(s(v, "proof")))
                    .map(|p| p.verify(&old, &log_key).is_ok())
                    .unwrap_or(false);
                assert_eq!(ok, expect == "ok", "{v}");
            }
            "witness" => {
                let tmp = tempfile::tempdir().unwrap();
                let w = Witness::new(
                    tmp.path(),
                    gen::witness_key(),
                    vec![TrustedLog {
                        origin: Some(gen::ORIGIN.into()),
                        key: log_key.clone(),
                    }],
                )
                .unwrap();
                for r in v["requests"].as_array().unwrap() {
                    let o = w
                        .add_checkpoint(&read(s(r, "request")), gen::COSIGN_TIME)
                        .unwrap();
                    assert_eq!(
                        u64::from(o.status()),
                        r["status"].as_u64().unwrap(),
                        "{r}: {o:?}"
                    );
                    if let Some(name) = r["outcome"].as_str() {
                        assert_eq!(o.name(), name, "{r}");
                    }
                    if let Some(latest) = r["latest"].as_u64() {
                        assert!(
                            matches!(o, Outcome::Conflict { latest: l, .. } if l == latest),
                            "{r}"
                        );
                    }
                    if let Outcome::Cosigned { cosigned, .. } = &o {
                        assert_eq!(
                            cosigned
                                .witnesses(std::slice::from_ref(&wkey))
                                .unwrap()
                                .len(),
                            1
                        );
                    }
                }
            }
            k => panic!("unknown vector kind {k}"),
        }
        checked += 1;
    }
    assert!(checked >= 20);
}

/// The cosigned checkpoint's cosignature is the one the witness key makes
/// at the vectors' time (Ed25519 is deterministic).
#[test]
fn tree_file_matches_the_log() {
    let text = String::from_utf8(read("tree.txt")).unwrap();
    let leaves = checkpoint::tree::LogLeaves::open(&dir().join("log.evl"), None).unwrap();
    let mut got = Vec::new();
    leaves.read_all(|r| got.push(hex::encode(r.leaf))).unwrap();
    let want: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(' ').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(got, want);
}
