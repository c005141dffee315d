//! Forgeries found by the attacker's review of the format (forge32): a
//! binary log whose damaged region holds a second, correctly hashed frame
//! that starts inside the frame before it. Reading forward (spec § 8
//! rule 3) never reads that frame; reading backward (from the trailers) must
//! not show it either.

use std::path::Path;

use evident::{query, verify, Entry, Query, VerifyOptions, ViolationKind};
use sha2::{Digest, Sha256};

fn sha(body: &[u8]) -> Vec<u8> {
    Sha256::digest(body).to_vec()
}

fn frame(body: &[u8], hash: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&(body.len() as u32).to_le_bytes());
    f.extend_from_slice(&(hash.len() as u16).to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    f.extend_from_slice(body);
    f.extend_from_slice(hash);
    let crc = crc32fast::hash(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    f.extend_from_slice(&(f.len() as u32 + 4).to_le_bytes());
    f
}

fn entry(seq: u64, prev: &[u8], actor: &str, details: &str) -> Vec<u8> {
    format!(
        r#"{{"v":1,"seq":{seq},"prev":"{}","kind":"entry","ts":"2026-03-01T09:00:01.000000Z","event_type":"E","action":"a","actor":"{actor}","host":"h","session_id":"s","source":"ui","details":{details}}}"#,
        hex::encode(prev)
    )
    .into_bytes()
}

/// Entry 3 (actor alice) as frame G1; a second entry 3 (mallory) as frame
/// G2 starting at G1's frame_len (G2's body_len is G1's frame_len); entry 4
/// linked to G2. Returns the file and the offset where the forward walk
/// finds damage (G1's end).
fn overlapping_frames() -> (Vec<u8>, u64) {
    let genesis = br#"{"v":1,"seq":0,"prev":"0000000000000000000000000000000000000000000000000000000000000000","kind":"genesis","ts":"2026-03-01T09:00:00.000000Z","format":"evident","alg":"sha256","log_id":"00112233445566778899aabbccddeeff"}"#;
    let mut out = b"\x89EVD\r\n\x1a\n\x01\0\0\0\0\0\0\0".to_vec();
    let mut prev = sha(genesis);
    out.extend(frame(genesis, &prev));
    for seq in 1..=2 {
        let b = entry(seq, &prev, "alice", "{}");
        prev = sha(&b);
        out.extend(frame(&b, &prev));
    }
    let g1 = entry(3, &prev, "alice", "{}");
    let f1 = frame(&g1, &sha(&g1));
    let base = entry(3, &prev, "mallory", r#"{"pad":""}"#);
    let pad = "x".repeat(f1.len() - base.len());
    let g2 = entry(3, &prev, "mallory", &format!(r#"{{"pad":"{pad}"}}"#));
    assert_eq!(g2.len(), f1.len());
    let f2 = frame(&g2, &sha(&g2));
    assert_eq!(f2[..4], f1[f1.len() - 4..]);
    out.extend_from_slice(&f1);
    let damage_at = out.len() as u64;
    out.extend_from_slice(&f2[4..]);
    let e4 = entry(4, &sha(&g2), "alice", "{}");
    out.extend(frame(&e4, &sha(&e4)));
    (out, damage_at)
}

fn read(path: &Path, q: &Query) -> (Vec<Entry>, usize) {
    let (mut ok, mut bad) = (Vec::new(), 0);
    for r in query(path, q).unwrap() {
        match r {
            Ok(e) => ok.push(e),
            Err(_) => bad += 1,
        }
    }
    (ok, bad)
}

#[test]
fn backward_readers_never_show_a_frame_the_forward_walk_does_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("overlap.evl");
    let (data, damage_at) = overlapping_frames();
    std::fs::write(&path, &data).unwrap();

    let report = verify(&path, &VerifyOptions::default().all(true)).unwrap();
    let v: Vec<_> = report
        .violations
        .iter()
        .map(|v| (v.kind, v.offset))
        .collect();
    assert_eq!(v, [(ViolationKind::Malformed, damage_at)]);

    let (forward, bad) = read(&path, &Query::default());
    assert_eq!(bad, 1);
    let actors: Vec<_> = forward.iter().map(|e| (e.seq, e.actor.as_str())).collect();
    assert_eq!(
        actors,
        [(1, "alice"), (2, "alice"), (3, "alice"), (4, "alice")]
    );

    // The last two entries, read backward from the end: never mallory.
    for q in [Query::last(2), Query::last(10)] {
        let (backward, _) = read(&path, &q);
        assert!(
            backward.iter().all(|e| e.actor == "alice"),
            "{:?}",
            backward
                .iter()
                .map(|e| (e.seq, &e.actor))
                .collect::<Vec<_>>()
        );
    }
    let (all_back, bad) = read(&path, &Query::last(10));
    assert_eq!(bad, 1, "the backward reader reports the damage");
    let seqs: Vec<_> = all_back.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [4, 3, 2, 1]);
}
