//! Generates the checkpoint test vectors in `spec/vectors/checkpoints/`.
//!
//! ```text
//! cargo run --example gen_checkpoint_vectors          # writes spec/vectors/checkpoints/
//! cargo run --example gen_checkpoint_vectors -- DIR   # writes DIR/
//! ```
//!
//! Deterministic: fixed keys (Ed25519 signatures are deterministic), a
//! fixed cosignature time, and the worked example log of spec/format.md
//! (`spec/vectors/example.jsonl` and `.evl`). The expected result of each
//! vector in `manifest.json` is written from what the generator did to it
//! (which byte it changed, which key signed), never by running the
//! library's verifier. `tests/checkpoint_vectors.rs` checks the library
//! against them and that this generator reproduces every file.

use std::path::Path;

use evident::checkpoint::merkle::{self, Node};
use evident::checkpoint::{
    Checkpoint, ConsistencyProof, InclusionProof, KeyType, NoteSigner, SignedCheckpoint,
};
use serde_json::{json, Value};

/// The log key of the vectors.
pub fn log_key() -> NoteSigner {
    NoteSigner::from_seed("example.com/audit", KeyType::Ed25519, [0x11; 32])
}

/// Another key with the same name (its signatures must be ignored).
pub fn other_key() -> NoteSigner {
    NoteSigner::from_seed("example.com/audit", KeyType::Ed25519, [0x33; 32])
}

/// The witness key of the vectors.
pub fn witness_key() -> NoteSigner {
    NoteSigner::from_seed("witness.example/w1", KeyType::Cosignature, [0x22; 32])
}

/// The cosignature time of the vectors (2026-03-01T09:00:00Z).
pub const COSIGN_TIME: u64 = 1_772_355_600;

/// The origin of the example log.
pub const ORIGIN: &str = "evident/00112233445566778899aabbccddeeff";

/// Bodies of the example log's records (JSONL line minus the hash member).
fn bodies(jsonl: &str) -> Vec<Vec<u8>> {
    jsonl
        .lines()
        .map(|l| {
            let cut = l.rfind(",\"hash\":\"").expect("hash member");
            format!("{}}}", &l[..cut]).into_bytes()
        })
        .collect()
}

fn cp(size: u64, root: Node) -> Checkpoint {
    Checkpoint {
        origin: ORIGIN.into(),
        size,
        root,
        extensions: vec![],
    }
}

fn sign(c: Checkpoint, k: &NoteSigner) -> SignedCheckpoint {
    SignedCheckpoint::sign(c, k).expect("sign")
}

/// Writes every file; returns their names.
pub fn generate(dir: &Path) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors");
    let jsonl = std::fs::read_to_string(src.join("example.jsonl"))?;
    let evl = std::fs::read(src.join("example.evl"))?;
    let mut names: Vec<String> = Vec::new();
    let mut put = |name: &str, bytes: &[u8]| -> std::io::Result<()> {
        std::fs::write(dir.join(name), bytes)?;
        names.push(name.to_string());
        Ok(())
    };
    let b = bodies(&jsonl);
    let leaves: Vec<Node> = b.iter().map(|x| merkle::leaf_hash(x)).collect();
    let roots: Vec<Node> = (0..=leaves.len())
        .map(|n| merkle::subtree_root(&leaves[..n]))
        .collect();

    put("log.jsonl", jsonl.as_bytes())?;
    put("log.evl", &evl)?;
    let two: String = jsonl.lines().take(2).map(|l| format!("{l}\n")).collect();
    put("log-truncated.jsonl", two.as_bytes())?;
    put(
        "log.vkey",
        format!("{}\n", log_key().verifier().to_vkey()).as_bytes(),
    )?;
    put("log.skey", format!("{}\n", log_key().to_skey()).as_bytes())?;
    put(
        "witness.vkey",
        format!("{}\n", witness_key().verifier().to_vkey()).as_bytes(),
    )?;
    put(
        "witness.skey",
        format!("{}\n", witness_key().to_skey()).as_bytes(),
    )?;

    let mut tree = String::from("# seq leaf_hash(body[seq]) root_of_first_(seq+1)_records, hex\n");
    for (i, l) in leaves.iter().enumerate() {
        tree.push_str(&format!(
            "{i} {} {}\n",
            hex::encode(l),
            hex::encode(roots[i + 1])
        ));
    }
    put("tree.txt", tree.as_bytes())?;

    let k = log_key();
    let c3 = sign(cp(3, roots[3]), &k);
    let c2 = sign(cp(2, roots[2]), &k);
    put("size3.checkpoint", c3.to_text().as_bytes())?;
    put("size2.checkpoint", c2.to_text().as_bytes())?;
    let mut c3w = c3.clone();
    c3w.note
        .add_signature(&witness_key(), COSIGN_TIME)
        .expect("cosign");
    put("size3-cosigned.checkpoint", c3w.to_text().as_bytes())?;
    let mut bad = c3.clone();
    bad.note.signatures[0].sig[10] ^= 0x01;
    put("bad-signature.checkpoint", bad.to_text().as_bytes())?;
    put(
        "other-key.checkpoint",
        sign(cp(3, roots[3]), &other_key()).to_text().as_bytes(),
    )?;
    let edited = c3.to_text().replacen("\n3\n", "\n2\n", 1);
    put("edited.checkpoint", edited.as_bytes())?;
    let c4 = sign(cp(4, merkle::leaf_hash(b"a record this log never had")), &k);
    put("size4.checkpoint", c4.to_text().as_bytes())?;
    let wrong = sign(cp(3, merkle::leaf_hash(b"another tree")), &k);
    put("wrong-root.checkpoint", wrong.to_text().as_bytes())?;

    let mut l = leaves.clone();
    let proof = |l: &mut Vec<Node>, i: u64, n: u64| {
        merkle::inclusion_proof(l.as_mut_slice(), i, n)
            .expect("infallible")
            .expect("in range")
    };
    let inc = |i: u64, body: &[u8], hashes: Vec<Node>| InclusionProof {
        index: i,
        body: body.to_vec(),
        hashes,
        checkpoint: c3.clone(),
    };
    let p1 = inc(1, &b[1], proof(&mut l, 1, 3));
    put(
        "inclusion-0.tlog-proof",
        inc(0, &b[0], proof(&mut l, 0, 3)).to_text().as_bytes(),
    )?;
    put("inclusion-1.tlog-proof", p1.to_text().as_bytes())?;
    put(
        "inclusion-2.tlog-proof",
        inc(2, &b[2], proof(&mut l, 2, 3)).to_text().as_bytes(),
    )?;
    let mut moved = p1.clone();
    moved.index = 2;
    put(
        "inclusion-wrong-index.tlog-proof",
        moved.to_text().as_bytes(),
    )?;
    let mut flipped = p1.clone();
    flipped.hashes[0][0] ^= 0x80;
    put(
        "inclusion-bad-hash.tlog-proof",
        flipped.to_text().as_bytes(),
    )?;
    let mut other_body = p1.clone();
    other_body.body = b[2].clone();
    put(
        "inclusion-other-body.tlog-proof",
        other_body.to_text().as_bytes(),
    )?;

    let cons = |old: u64, hashes: Vec<Node>, c: &SignedCheckpoint| ConsistencyProof {
        old_size: old,
        hashes,
        checkpoint: c.clone(),
    };
    let h23 = merkle::consistency_proof(l.as_mut_slice(), 2, 3)
        .expect("infallible")
        .expect("in range");
    put(
        "consistency-2-3.txt",
        cons(2, h23.clone(), &c3).to_text().as_bytes(),
    )?;
    let mut hb = h23.clone();
    hb[0][31] ^= 0x01;
    put(
        "consistency-bad-hash.txt",
        cons(2, hb, &c3).to_text().as_bytes(),
    )?;
    put(
        "consistency-wrong-root.txt",
        cons(2, h23.clone(), &wrong).to_text().as_bytes(),
    )?;

    // A witness fed these requests in order, from an empty store.
    put("witness-1.req", cons(0, vec![], &c2).to_text().as_bytes())?;
    put(
        "witness-2.req",
        cons(2, h23.clone(), &c3).to_text().as_bytes(),
    )?;
    put(
        "witness-3.req",
        cons(2, h23.clone(), &c3).to_text().as_bytes(),
    )?;
    put(
        "witness-4.req",
        cons(3, vec![], &wrong).to_text().as_bytes(),
    )?;
    put(
        "witness-5.req",
        cons(3, vec![], &sign(cp(3, roots[3]), &other_key()))
            .to_text()
            .as_bytes(),
    )?;
    put("witness-6.req", b"old 3\nnot base64!\n\n")?;
    put("witness-7.req", cons(4, vec![], &c3).to_text().as_bytes())?;
    put("witness-8.req", cons(3, vec![], &c3).to_text().as_bytes())?;

    let v = |kind: &str, fields: Value| {
        let mut m = fields;
        m["kind"] = json!(kind);
        m
    };
    let verify = |log: &str, c: &str, expect: &str, why: &str| {
        v(
            "verify",
            json!({"log": log, "checkpoint": c, "expect": expect, "why": why}),
        )
    };
    let manifest = json!({
        "log_vkey": "log.vkey",
        "witness_vkey": "witness.vkey",
        "origin": ORIGIN,
        "vectors": [
            verify("log.jsonl", "size3.checkpoint", "match", "the example log and its checkpoint"),
            verify("log.evl", "size3.checkpoint", "match", "the same records in the binary framing have the same tree"),
            verify("log.jsonl", "size2.checkpoint", "match", "a log that grew after its checkpoint"),
            verify("log.jsonl", "size3-cosigned.checkpoint", "match", "a witness cosignature is ignored by a verifier not asking for one"),
            verify("log-truncated.jsonl", "size3.checkpoint", "truncated", "the last record was deleted"),
            verify("log.jsonl", "size4.checkpoint", "truncated", "the checkpoint covers a record the log does not hold"),
            verify("log.jsonl", "wrong-root.checkpoint", "root_mismatch", "the signed root is of other records"),
            verify("log.jsonl", "bad-signature.checkpoint", "bad_signature", "one bit of the log's signature changed"),
            verify("log.jsonl", "other-key.checkpoint", "bad_signature", "signed by another key with the same name: ignored, so unsigned"),
            verify("log.jsonl", "edited.checkpoint", "bad_signature", "the size line changed after signing"),
            v("verify", json!({"log": "log.jsonl", "checkpoint": "size3-cosigned.checkpoint", "min_witnesses": 1, "expect": "match", "why": "one witness cosignature required and present"})),
            v("verify", json!({"log": "log.jsonl", "checkpoint": "size3.checkpoint", "min_witnesses": 1, "expect": "too_few_witnesses", "why": "one witness cosignature required, none present"})),
            v("inclusion", json!({"proof": "inclusion-0.tlog-proof", "expect": "ok"})),
            v("inclusion", json!({"proof": "inclusion-1.tlog-proof", "expect": "ok"})),
            v("inclusion", json!({"proof": "inclusion-2.tlog-proof", "expect": "ok"})),
            v("inclusion", json!({"proof": "inclusion-wrong-index.tlog-proof", "expect": "invalid", "why": "the proof of entry 1 claimed for index 2"})),
            v("inclusion", json!({"proof": "inclusion-bad-hash.tlog-proof", "expect": "invalid", "why": "one bit of a proof hash changed"})),
            v("inclusion", json!({"proof": "inclusion-other-body.tlog-proof", "expect": "invalid", "why": "the body of entry 2 with the proof of entry 1"})),
            v("consistency", json!({"old": "size2.checkpoint", "proof": "consistency-2-3.txt", "expect": "ok"})),
            v("consistency", json!({"old": "size2.checkpoint", "proof": "consistency-bad-hash.txt", "expect": "invalid", "why": "one bit of a proof hash changed"})),
            v("consistency", json!({"old": "size2.checkpoint", "proof": "consistency-wrong-root.txt", "expect": "invalid", "why": "the new checkpoint is of an unrelated tree"})),
            v("witness", json!({"requests": [
                {"request": "witness-1.req", "status": 200, "why": "first checkpoint of the log (old 0)"},
                {"request": "witness-2.req", "status": 200, "why": "extends it with a valid proof"},
                {"request": "witness-3.req", "status": 409, "latest": 3, "why": "old size 2 is not the size the witness holds"},
                {"request": "witness-4.req", "status": 422, "outcome": "split_view", "why": "same size, another root: a split view"},
                {"request": "witness-5.req", "status": 403, "why": "signed by another key with the log's name"},
                {"request": "witness-6.req", "status": 400, "why": "not a request"},
                {"request": "witness-7.req", "status": 400, "why": "old size larger than the checkpoint's"},
                {"request": "witness-8.req", "status": 200, "why": "the same checkpoint again"}
            ]}))
        ]
    });
    let text = serde_json::to_string_pretty(&manifest).expect("json") + "\n";
    put("manifest.json", text.as_bytes())?;
    Ok(names)
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors/checkpoints").to_string()
    });
    let names = generate(Path::new(&dir))?;
    println!("wrote {} files to {dir}", names.len());
    Ok(())
}
