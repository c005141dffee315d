//! Generates the shared test vectors in `spec/vectors/`.
//!
//! ```text
//! cargo run --example gen_vectors            # writes spec/vectors/
//! cargo run --example gen_vectors -- DIR     # writes DIR/
//! ```
//!
//! Everything is deterministic: fixed timestamps, log ids and keys, no
//! randomness, so re-running the generator reproduces identical files
//! (`tests/vectors.rs` checks this). Logs are built with the public format
//! API (`format::encode_genesis`, `encode_entry`, `frame`, `Chain`), then
//! damaged on purpose.
//!
//! The expected results are written from what each scenario does to the
//! file (which record was changed, where it starts), never by running the
//! library's verifier, so the vectors can catch a verifier that is wrong.
//! `spec/vectors/README.md` describes the `.expect` format.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use evident::format::{self, Event, Framing, Genesis};
use evident::{Chain, Hash, HashAlg, Key};

/// The HMAC key of the keyed vectors: bytes 0x00, 0x01, …, 0x1f.
pub fn key_a() -> Vec<u8> {
    (0u8..32).collect()
}

/// A different key (bytes 0x20 … 0x3f): the "wrong key".
pub fn key_b() -> Vec<u8> {
    (32u8..64).collect()
}

/// The log id of the worked example in `spec/format.md`.
pub const EXAMPLE_LOG_ID: &str = "00112233445566778899aabbccddeeff";

fn ts(sec: u32, micros: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, sec)
        .single()
        .expect("valid date")
        + chrono::Duration::microseconds(i64::from(micros))
}

/// A fixed log id per base log: the first 16 bytes of SHA-256(name).
fn log_id_for(name: &str) -> String {
    let c = Chain::new(HashAlg::Sha256, None).expect("keyless chain");
    let h = c.hash(format!("evident test vector log {name}").as_bytes());
    h.to_hex()[..32].to_string()
}

fn details(json: &str) -> serde_json::Value {
    serde_json::from_str(json).expect("valid details JSON")
}

fn ev(event_type: &str, action: &str, session: &str, source: &str, d: &str) -> Event {
    let mut e = Event::new(event_type, action)
        .session(session)
        .source(source)
        .details(details(d));
    e.actor = Some("alice".into());
    e.host = Some("lab-pc-1".into());
    e
}

/// The five entries of the standard logs.
fn standard_events() -> Vec<Event> {
    vec![
        ev(
            "SESSION_START",
            "login",
            "s-0001",
            "ui",
            r#"{"instrument":"scope-7","firmware":"2.4.1"}"#,
        ),
        ev(
            "ACTION_EXECUTED",
            "load_trace",
            "s-0001",
            "ui",
            r#"{"file":"C:\\data\\run 1.bin","channels":2}"#,
        ),
        ev(
            "DATA_ACCESS",
            "export",
            "s-0001",
            "exporter",
            r#"{"format":"csv","rows":1024,"range":[0,1023]}"#,
        ),
        ev(
            "ACTION_EXECUTED",
            "set_parameter",
            "s-0001",
            "ui",
            r#"{"name":"timebase","old":"1 µs","new":"2 µs"}"#,
        ),
        {
            let mut e = ev("SESSION_END", "logout", "s-0001", "ui", "{}");
            e.success = Some(true);
            e
        },
    ]
}

/// One record: canonical body and stored hash.
#[derive(Clone)]
struct Rec {
    body: Vec<u8>,
    hash: Hash,
}

/// A log under construction: records (the genesis first) over one chain.
#[derive(Clone)]
struct LogB {
    chain: Chain,
    recs: Vec<Rec>,
}

impl LogB {
    fn new(alg: HashAlg, key: Option<&Key>, log_id: &str, critical: &[&str]) -> LogB {
        let chain = Chain::new(alg, key).expect("chain");
        let g = Genesis {
            version: format::FORMAT_VERSION,
            ts: ts(0, 0),
            alg,
            key_id: chain.key_id().map(str::to_string),
            log_id: log_id.to_string(),
            critical: critical.iter().map(|s| s.to_string()).collect(),
        };
        let mut body = Vec::new();
        format::encode_genesis(&mut body, &g);
        let hash = chain.hash(&body);
        LogB {
            chain,
            recs: vec![Rec { body, hash }],
        }
    }

    fn keyless(name: &str) -> LogB {
        LogB::new(HashAlg::Sha256, None, &log_id_for(name), &[])
    }

    /// Seq and hash of the last record.
    fn head(&self) -> (u64, Hash) {
        let last = self.recs.last().expect("genesis");
        // Only `seq` is read: the other members are skipped unparsed (some
        // vectors nest deeper than serde_json parses into a Value).
        #[derive(serde::Deserialize)]
        struct Seq {
            seq: u64,
        }
        let v: Seq = serde_json::from_slice(&last.body).expect("json body");
        (v.seq, last.hash)
    }

    /// Appends an entry with seq = number of records, timestamp from seq.
    fn entry(&mut self, e: &Event) -> &mut Self {
        let (last_seq, prev) = self.head();
        let seq = last_seq + 1;
        let t = e.ts.unwrap_or_else(|| ts(seq as u32, seq as u32 * 1001));
        let mut body = Vec::new();
        format::encode_entry(
            &mut body,
            seq,
            &prev,
            &t,
            e,
            e.actor.as_deref().expect("actor"),
            e.host.as_deref().expect("host"),
        )
        .expect("encodable entry");
        self.push_body(body)
    }

    /// Appends an entry whose details are the raw JSON text `raw`, written
    /// into the canonical body as is (escapes and all).
    fn entry_raw_details(&mut self, e: &Event, raw: &str) -> &mut Self {
        let mut e = e.clone();
        e.details = Some(serde_json::Value::String("@@RAW@@".into()));
        let len = self.recs.len();
        self.entry(&e);
        let body = String::from_utf8(self.recs[len].body.clone()).expect("utf8");
        self.recs.pop();
        self.push_body(body.replacen("\"@@RAW@@\"", raw, 1).into_bytes())
    }

    /// Appends a record whose body is given (hash computed here).
    fn push_body(&mut self, body: Vec<u8>) -> &mut Self {
        let hash = self.chain.hash(&body);
        self.recs.push(Rec { body, hash });
        self
    }

    fn standard(mut self) -> LogB {
        for e in standard_events() {
            self.entry(&e);
        }
        self
    }

    /// Replaces a record's body text (`from` → `to`, once) keeping its hash.
    fn edit(&mut self, i: usize, from: &str, to: &str) {
        let body = String::from_utf8(self.recs[i].body.clone()).expect("utf8");
        assert!(body.contains(from), "record {i} has no {from:?}");
        self.recs[i].body = body.replacen(from, to, 1).into_bytes();
    }

    /// Recomputes record `i`'s hash from its body.
    fn rehash(&mut self, i: usize) {
        self.recs[i].hash = self.chain.hash(&self.recs[i].body);
    }

    /// Frames every record: (file header, framed records).
    fn frames(&self, framing: Framing) -> (Vec<u8>, Vec<Vec<u8>>) {
        let pieces = self
            .recs
            .iter()
            .map(|r| {
                let mut out = Vec::new();
                format::frame(&mut out, framing, &r.body, &r.hash);
                out
            })
            .collect();
        (framing.file_header(), pieces)
    }
}

/// A log file as header + pieces (framed records or raw bytes), so that
/// the offset of each piece is known.
struct File {
    framing: Framing,
    header: Vec<u8>,
    pieces: Vec<Vec<u8>>,
}

impl File {
    fn of(log: &LogB, framing: Framing) -> File {
        let (header, pieces) = log.frames(framing);
        File {
            framing,
            header,
            pieces,
        }
    }
    /// Byte offset of piece `i`.
    fn offset(&self, i: usize) -> u64 {
        (self.header.len() + self.pieces[..i].iter().map(Vec::len).sum::<usize>()) as u64
    }
    /// 1-based line of piece `i` (JSONL; every piece before it is one line).
    fn line(&self, i: usize) -> u64 {
        match self.framing {
            Framing::Jsonl => i as u64 + 1,
            Framing::Binary => 0,
        }
    }
    fn len(&self) -> u64 {
        self.offset(self.pieces.len())
    }
    fn bytes(&self) -> Vec<u8> {
        let mut b = self.header.clone();
        for p in &self.pieces {
            b.extend_from_slice(p);
        }
        b
    }
    /// Offset and line of the genesis record.
    fn genesis_pos(&self) -> (u64, u64) {
        (self.offset(0), self.line(0))
    }
}

/// The expected first violation.
struct Viol {
    kind: &'static str,
    seq: Option<u64>,
    line: u64,
    offset: u64,
}

/// One `.expect` file.
struct Expect {
    name: String,
    description: String,
    log: String,
    framing: Framing,
    key: Option<Vec<u8>>,
    expected_head: Option<(u64, Hash)>,
    expected_log_id: Option<String>,
    first: Option<Viol>,
    violations: u64,
    entries: u64,
    head: Option<(u64, Hash)>,
    /// What a writer does when it opens the log (`None`: derived).
    open: Option<&'static str>,
    /// The file is not an evident log (spec § 9.2).
    not_a_log: bool,
}

impl Expect {
    /// What a writer opening the log does (spec § 10.3): `ok` (opens,
    /// moves nothing), `moves-tail` (moves the torn tail at `offset` into a
    /// sidecar) or `refuses`. Derived from the first violation unless set.
    fn open_result(&self) -> &'static str {
        if let Some(o) = self.open {
            return o;
        }
        match &self.first {
            None => "ok",
            Some(v) => match (v.kind, v.seq) {
                ("torn_tail", _) => "moves-tail",
                ("wrong_key" | "unsupported", _) => "refuses",
                ("malformed" | "hash_mismatch", Some(0)) => "refuses",
                _ => "ok",
            },
        }
    }

    fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "description: {}", self.description);
        let _ = writeln!(s, "log: {}", self.log);
        let _ = writeln!(s, "framing: {}", self.framing.name());
        if let Some(k) = &self.key {
            let _ = writeln!(s, "key: {}", hex::encode(k));
        }
        if let Some((seq, h)) = &self.expected_head {
            let _ = writeln!(s, "expected-head: {seq}:{h}");
        }
        if let Some(id) = &self.expected_log_id {
            let _ = writeln!(s, "expected-log-id: {id}");
        }
        match &self.first {
            None => {
                let _ = writeln!(s, "expect: valid");
            }
            Some(v) => {
                let _ = writeln!(s, "expect: invalid");
                let _ = writeln!(s, "kind: {}", v.kind);
                match v.seq {
                    Some(n) => {
                        let _ = writeln!(s, "seq: {n}");
                    }
                    None => {
                        let _ = writeln!(s, "seq: none");
                    }
                }
                let _ = writeln!(s, "line: {}", v.line);
                let _ = writeln!(s, "offset: {}", v.offset);
            }
        }
        let _ = writeln!(s, "violations: {}", self.violations);
        let _ = writeln!(s, "entries: {}", self.entries);
        if let Some((seq, h)) = &self.head {
            let _ = writeln!(s, "head: {seq}:{h}");
        }
        // A file whose genesis is malformed (or that has none) is not an
        // evident log (spec § 9.2): every such vector says so.
        let genesis_malformed = matches!(
            &self.first,
            Some(Viol {
                kind: "malformed",
                seq: Some(0),
                offset,
                ..
            }) if *offset <= self.framing.data_start()
        );
        if self.not_a_log || genesis_malformed {
            let _ = writeln!(s, "not-a-log: yes");
        }
        let _ = writeln!(s, "open: {}", self.open_result());
        s
    }
}

fn ext(framing: Framing) -> &'static str {
    match framing {
        Framing::Jsonl => "jsonl",
        Framing::Binary => "evl",
    }
}

/// Collects the files to write.
#[derive(Default)]
struct Out {
    files: Vec<(String, Vec<u8>)>,
}

impl Out {
    /// Adds a log file and returns its name.
    fn log(&mut self, base: &str, f: &File) -> String {
        let name = format!("{base}.{}", ext(f.framing));
        assert!(
            !self.files.iter().any(|(n, _)| *n == name),
            "duplicate log {name}"
        );
        self.files.push((name.clone(), f.bytes()));
        name
    }
    fn expect(&mut self, e: Expect) {
        let name = format!("{}-{}.expect", e.name, e.framing.name());
        assert!(
            !self.files.iter().any(|(n, _)| *n == name),
            "duplicate expect {name}"
        );
        self.files.push((name, e.render().into_bytes()));
    }
}

/// Builder shorthand for an expectation.
fn exp(name: &str, description: &str, log: &str, f: &File) -> Expect {
    Expect {
        name: name.into(),
        description: description.into(),
        log: log.into(),
        framing: f.framing,
        key: None,
        expected_head: None,
        expected_log_id: None,
        first: None,
        violations: 0,
        entries: 0,
        head: None,
        open: None,
        not_a_log: false,
    }
}

impl Expect {
    fn valid(mut self, entries: u64, head: (u64, Hash)) -> Expect {
        self.first = None;
        self.violations = 0;
        self.entries = entries;
        self.head = Some(head);
        self
    }
    fn invalid(
        mut self,
        kind: &'static str,
        seq: Option<u64>,
        (offset, line): (u64, u64),
        violations: u64,
        entries: u64,
    ) -> Expect {
        self.first = Some(Viol {
            kind,
            seq,
            line,
            offset,
        });
        self.violations = violations;
        self.entries = entries;
        self
    }
    fn head(mut self, head: (u64, Hash)) -> Expect {
        self.head = Some(head);
        self
    }
    fn key(mut self, k: Vec<u8>) -> Expect {
        self.key = Some(k);
        self
    }
    fn open(mut self, o: &'static str) -> Expect {
        self.open = Some(o);
        self
    }
    /// The file is not an evident log (spec § 9.2).
    fn not_a_log(mut self) -> Expect {
        self.not_a_log = true;
        self
    }
}

fn pos(f: &File, i: usize) -> (u64, u64) {
    (f.offset(i), f.line(i))
}

/// The worked example of `spec/format.md`: a keyless log of two entries.
pub fn example_log() -> (Vec<u8>, Vec<u8>) {
    let log = example();
    (
        File::of(&log, Framing::Jsonl).bytes(),
        File::of(&log, Framing::Binary).bytes(),
    )
}

fn example() -> LogB {
    let mut log = LogB::new(HashAlg::Sha256, None, EXAMPLE_LOG_ID, &[]);
    let mut e1 = ev(
        "SESSION_START",
        "login",
        "s1",
        "ui",
        r#"{"instrument":"scope-7"}"#,
    );
    e1.ts = Some(ts(1, 0));
    let mut e2 = ev(
        "ACTION_EXECUTED",
        "load_trace",
        "s1",
        "ui",
        r#"{"file":"run 1.bin","note":"tab\there","unit":"µs"}"#,
    );
    e2.ts = Some(ts(2, 500_000));
    e2.success = Some(true);
    log.entry(&e1).entry(&e2);
    log
}

/// The bodies and hashes of the worked example (for the spec test).
pub fn example_records() -> Vec<(String, String)> {
    example()
        .recs
        .iter()
        .map(|r| {
            (
                String::from_utf8(r.body.clone()).expect("utf8"),
                r.hash.to_hex(),
            )
        })
        .collect()
}

fn gen_framing(out: &mut Out, fr: Framing) {
    let ka = Key::new(key_a()).expect("key");

    // ---- The worked example of spec/format.md.
    let ex = example();
    let f = File::of(&ex, fr);
    let log = out.log("example", &f);
    out.expect(
        exp(
            "example",
            "the worked example of spec/format.md (keyless, 2 entries)",
            &log,
            &f,
        )
        .valid(2, ex.head()),
    );

    // ---- Valid logs.
    let keyless = LogB::keyless("keyless").standard();
    let f = File::of(&keyless, fr);
    let keyless_log = out.log("keyless", &f);
    let keyless_file = f;
    out.expect(
        exp(
            "keyless",
            "valid keyless (sha256) log of 5 entries",
            &keyless_log,
            &keyless_file,
        )
        .valid(5, keyless.head()),
    );

    let h256 = LogB::new(
        HashAlg::HmacSha256,
        Some(&ka),
        &log_id_for("hmac_sha256"),
        &[],
    )
    .standard();
    let f = File::of(&h256, fr);
    let h256_log = out.log("hmac_sha256", &f);
    let h256_file = f;
    out.expect(
        exp(
            "hmac_sha256",
            "valid hmac-sha256 log of 5 entries, verified with its key",
            &h256_log,
            &h256_file,
        )
        .key(key_a())
        .valid(5, h256.head()),
    );

    let h512 = LogB::new(
        HashAlg::HmacSha512,
        Some(&ka),
        &log_id_for("hmac_sha512"),
        &[],
    )
    .standard();
    let f = File::of(&h512, fr);
    let log = out.log("hmac_sha512", &f);
    out.expect(
        exp(
            "hmac_sha512",
            "valid hmac-sha512 log of 5 entries (64-byte hashes), verified with its key",
            &log,
            &f,
        )
        .key(key_a())
        .valid(5, h512.head()),
    );

    let g = LogB::keyless("genesis_only");
    let f = File::of(&g, fr);
    let log = out.log("genesis_only", &f);
    out.expect(
        exp(
            "genesis_only",
            "valid log holding only its genesis record (no entries)",
            &log,
            &f,
        )
        .valid(0, g.head()),
    );

    // Unknown record kind in the middle: part of the chain, not an entry.
    let mut u = LogB::keyless("unknown_kind");
    let evs = standard_events();
    u.entry(&evs[0]).entry(&evs[1]);
    let (seq, prev) = u.head();
    let body = format!(
        "{{\"v\":1,\"seq\":{},\"prev\":\"{}\",\"kind\":\"x-future-record\",\"ts\":\"{}\",\"x_payload\":{{\"size\":2,\"note\":\"written by a later version\"}}}}",
        seq + 1,
        prev,
        format::format_ts(&ts(3, 0))
    );
    u.push_body(body.into_bytes());
    u.entry(&evs[2]).entry(&evs[3]);
    let f = File::of(&u, fr);
    let log = out.log("unknown_kind", &f);
    out.expect(
        exp(
            "unknown_kind",
            "a record of an unknown kind (seq 3) between entries: valid, part of the chain, not counted as an entry",
            &log,
            &f,
        )
        .valid(4, u.head()),
    );

    // Unknown field in an entry: ignored by readers, covered by the hash.
    let mut uf = LogB::keyless("unknown_field");
    uf.entry(&evs[0]).entry(&evs[1]);
    let mut body = Vec::new();
    let (seq, prev) = uf.head();
    format::encode_entry(
        &mut body,
        seq + 1,
        &prev,
        &ts(3, 3003),
        &evs[2],
        "alice",
        "lab-pc-1",
    )
    .expect("entry");
    body.pop();
    body.extend_from_slice(br#","x_future_field":{"a":[1,2,3]}}"#);
    uf.push_body(body);
    let f = File::of(&uf, fr);
    let log = out.log("unknown_field", &f);
    out.expect(
        exp(
            "unknown_field",
            "entry 3 carries a field this version does not define: valid (ignored, but covered by the hash)",
            &log,
            &f,
        )
        .valid(3, uf.head()),
    );

    // Every optional field.
    let mut af = LogB::keyless("all_fields");
    let mut e = Event::new("ACTION_EXECUTED", "run_command");
    e.actor = Some("Bob \"the builder\"".into());
    e.host = Some("héte-01".into());
    e.session_id = "sess-42".into();
    e.source = "pipeline".into();
    e.otr = true;
    e.success = Some(false);
    e.duration_ms = Some(1234.5);
    e.error = Some("device timeout on \"ch2\"\nretrying".into());
    e.note = Some("tab\tand\\backslash".into());
    e.git_commit = Some("3f2a9c1d0b8e7a6f5e4d3c2b1a0f9e8d7c6b5a49".into());
    e.details = Some(details(
        r#"{"zeta":1,"alpha":{"b":[1,2.5,-3,true,null],"a":"x"},"µ":"micro","Z":"upper","ctrl":"\u0001\u001f","slash":"a/b","emoji":"😀","empty":{}}"#,
    ));
    af.entry(&e);
    let mut e = Event::new("", "");
    e.actor = Some(String::new());
    e.host = Some(String::new());
    e.success = Some(true);
    af.entry(&e);
    let f = File::of(&af, fr);
    let log = out.log("all_fields", &f);
    out.expect(
        exp(
            "all_fields",
            "entry 1 sets every optional field (otr, success, duration_ms, error, note, git_commit, nested details with escapes); entry 2 has empty strings and no details",
            &log,
            &f,
        )
        .valid(2, af.head()),
    );

    // ---- Damage to entries.
    let mut hm = LogB::keyless("hash_mismatch").standard();
    hm.edit(3, r#""rows":1024"#, r#""rows":1000"#);
    let f = File::of(&hm, fr);
    let log = out.log("hash_mismatch", &f);
    out.expect(
        exp(
            "hash_mismatch",
            "details of entry 3 modified after writing (binary: CRC recomputed)",
            &log,
            &f,
        )
        .invalid("hash_mismatch", Some(3), pos(&f, 3), 1, 5)
        .head(hm.head()),
    );

    let mut hk = h256.clone();
    hk.edit(3, r#""rows":1024"#, r#""rows":1000"#);
    let f = File::of(&hk, fr);
    let log = out.log("hash_mismatch_hmac", &f);
    out.expect(
        exp(
            "hash_mismatch_hmac",
            "hmac-sha256 log: details of entry 3 modified after writing",
            &log,
            &f,
        )
        .key(key_a())
        .invalid("hash_mismatch", Some(3), pos(&f, 3), 1, 5)
        .head(hk.head()),
    );

    let mut lh = LogB::keyless("last_hash_mismatch").standard();
    lh.edit(5, r#""success":true"#, r#""success":false"#);
    let f = File::of(&lh, fr);
    let log = out.log("last_hash_mismatch", &f);
    out.expect(
        exp(
            "last_hash_mismatch",
            "the last entry (5) modified after writing: a readable last record failing its hash is tampering, not a torn write, so a writer refuses to open the log",
            &log,
            &f,
        )
        .invalid("hash_mismatch", Some(5), pos(&f, 5), 1, 5)
        .head(lh.head())
        .open("refuses"),
    );

    let mut cb = LogB::keyless("chain_break").standard();
    let old_prev = cb.recs[2].hash.to_hex();
    cb.edit(3, &old_prev, &"ab".repeat(32));
    cb.rehash(3);
    let f = File::of(&cb, fr);
    let log = out.log("chain_break", &f);
    out.expect(
        exp(
            "chain_break",
            "entry 3's prev altered and its hash recomputed: the link 2->3 breaks, and so does 3->4",
            &log,
            &f,
        )
        .invalid("chain_break", Some(3), pos(&f, 3), 2, 5)
        .head(cb.head()),
    );

    let mut sg = LogB::keyless("seq_gap").standard();
    sg.recs.remove(3);
    let f = File::of(&sg, fr);
    let log = out.log("seq_gap", &f);
    out.expect(
        exp(
            "seq_gap",
            "entry 3 deleted: entry 4 follows entry 2",
            &log,
            &f,
        )
        .invalid("seq_gap", Some(4), pos(&f, 3), 1, 4)
        .head(sg.head()),
    );

    let mut du = LogB::keyless("duplicate").standard();
    let copy = du.recs[3].clone();
    du.recs.insert(4, copy);
    let f = File::of(&du, fr);
    let log = out.log("duplicate", &f);
    out.expect(
        exp("duplicate", "entry 3 written twice in a row", &log, &f)
            .invalid("seq_gap", Some(3), pos(&f, 4), 1, 6)
            .head(du.head()),
    );

    let mut ro = LogB::keyless("reordered").standard();
    ro.recs.swap(3, 4);
    let f = File::of(&ro, fr);
    let log = out.log("reordered", &f);
    out.expect(
        exp(
            "reordered",
            "entries 3 and 4 swapped: 4 after 2, 3 after 4, 5 after 3; a writer refuses to open the log (its last record does not follow the one before it)",
            &log,
            &f,
        )
        .invalid("seq_gap", Some(4), pos(&f, 3), 3, 5)
        .head(ro.head())
        .open("refuses"),
    );

    let mut rw = LogB::keyless("rewritten").standard();
    let original_head = rw.head();
    rw.edit(3, r#""rows":1024"#, r#""rows":1000"#);
    for i in 3..rw.recs.len() {
        // Recompute this hash, then make the next record name it.
        let old = rw.recs[i].hash.to_hex();
        rw.rehash(i);
        if i + 1 < rw.recs.len() {
            let new = rw.recs[i].hash.to_hex();
            rw.edit(i + 1, &old, &new);
        }
    }
    let f = File::of(&rw, fr);
    let log = out.log("rewritten", &f);
    out.expect(
        exp(
            "rewritten",
            "keyless log whose entry 3 was modified and every later hash recomputed: the chain is consistent, so without an expected head it verifies",
            &log,
            &f,
        )
        .valid(5, rw.head()),
    );
    let mut e = exp(
        "rewritten_head",
        "the rewritten keyless log checked against the head taken before the rewrite: entry 5's hash differs",
        &log,
        &f,
    )
    .invalid("head_mismatch", Some(5), (f.len(), 0), 1, 5)
    .head(rw.head());
    e.expected_head = Some(original_head);
    out.expect(e);

    // ---- Framing damage.
    if fr == Framing::Jsonl {
        let mut f = File::of(&keyless, fr);
        let half = f.pieces[3].len() / 2;
        f.pieces[3].truncate(half);
        f.pieces[3].push(b'\n');
        let log = out.log("malformed_line", &f);
        out.expect(
            exp(
                "malformed_line",
                "line 4 (entry 3) cut in half, its newline kept: not a record; the next record is not linked to it",
                &log,
                &f,
            )
            .invalid("malformed", None, pos(&f, 3), 1, 4)
            .head(keyless.head()),
        );

        let mut f = File::of(&keyless, fr);
        let line = String::from_utf8(f.pieces[3].clone()).expect("utf8");
        let at = line.find("\"hash\":\"").expect("hash") + 8;
        let upper = format!("{}{}", &line[..at], line[at..].to_ascii_uppercase());
        f.pieces[3] = upper.into_bytes();
        let log = out.log("uppercase_hash", &f);
        out.expect(
            exp(
                "uppercase_hash",
                "line 4's hash written in upper-case hex: not canonical, so not a record",
                &log,
                &f,
            )
            .invalid("malformed", None, pos(&f, 3), 1, 4)
            .head(keyless.head()),
        );
    } else {
        let mut f = File::of(&keyless, fr);
        f.pieces[3][8 + 20] ^= 0x01;
        let log = out.log("crc_damage", &f);
        out.expect(
            exp(
                "crc_damage",
                "one bit of entry 3's body flipped, CRC not updated: the frame is damaged; the reader resynchronises at entry 4",
                &log,
                &f,
            )
            .invalid("malformed", None, pos(&f, 3), 1, 4)
            .head(keyless.head()),
        );

        let mut f = File::of(&keyless, fr);
        f.pieces[3][..4].copy_from_slice(&u32::MAX.to_le_bytes());
        let log = out.log("length_max", &f);
        out.expect(
            exp(
                "length_max",
                "entry 3's body_len set to 0xffffffff: impossible length, no allocation; resynchronises at entry 4",
                &log,
                &f,
            )
            .invalid("malformed", None, pos(&f, 3), 1, 4)
            .head(keyless.head()),
        );

        let mut f = File::of(&keyless, fr);
        f.pieces[3][..4].copy_from_slice(&0u32.to_le_bytes());
        let log = out.log("length_zero", &f);
        out.expect(
            exp("length_zero", "entry 3's body_len set to 0", &log, &f)
                .invalid("malformed", None, pos(&f, 3), 1, 4)
                .head(keyless.head()),
        );

        // A frame with unknown flags but a correct CRC.
        let mut f = File::of(&keyless, fr);
        let p = &mut f.pieces[3];
        p[6] = 0x01;
        let crc_at = p.len() - 8;
        let crc = crc32fast::hash(&p[..crc_at]);
        p[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
        let log = out.log("frame_flags", &f);
        out.expect(
            exp(
                "frame_flags",
                "entry 3's frame has flags 0x0001 (unknown in v1) with a correct CRC: not a v1 frame",
                &log,
                &f,
            )
            .invalid("malformed", None, pos(&f, 3), 1, 4)
            .head(keyless.head()),
        );
    }

    // Entries deleted behind a short unreadable span (§ 9.4): the span can
    // hold one record, so the seq after it may advance by two, not four.
    let mut f = File::of(&keyless, fr);
    let filler: Vec<u8> = match fr {
        Framing::Jsonl => b"\0\0\0\0\0\0\0\0\n".to_vec(),
        Framing::Binary => vec![0; 8],
    };
    f.pieces.splice(2..5, [filler]);
    let log = out.log("deleted_behind_damage", &f);
    out.expect(
        exp(
            "deleted_behind_damage",
            "entries 2 to 4 replaced by 8 NUL bytes (one unreadable span, room for at most one record): malformed, then a seq_gap at entry 5 (at least 2 entries missing)",
            &log,
            &f,
        )
        .invalid("malformed", None, pos(&f, 2), 2, 2)
        .head(keyless.head()),
    );

    // The same entries overwritten in place by zeros (a lost write): the
    // damaged bytes can hold them all, so it is damage, not a gap.
    let mut f = File::of(&keyless, fr);
    let zeros: usize = f.pieces[2..5].iter().map(Vec::len).sum();
    let mut z = vec![0u8; zeros];
    if fr == Framing::Jsonl {
        z[zeros - 1] = b'\n';
    }
    f.pieces.splice(2..5, [z]);
    let log = out.log("zeroed_entries", &f);
    out.expect(
        exp(
            "zeroed_entries",
            "entries 2 to 4 overwritten in place by zeros (the last LF kept): one unreadable span that can hold them, then entry 5 without a gap",
            &log,
            &f,
        )
        .invalid("malformed", None, pos(&f, 2), 1, 2)
        .head(keyless.head()),
    );

    // Genesis record copied into the middle (two logs concatenated).
    let mut cat = LogB::keyless("concatenated_a");
    cat.entry(&evs[0]).entry(&evs[1]).entry(&evs[2]);
    let other = {
        let mut o = LogB::keyless("concatenated_b");
        o.entry(&evs[3]).entry(&evs[4]);
        o
    };
    let mut f = File::of(&cat, fr);
    let (_, more) = other.frames(fr);
    let second_genesis = f.pieces.len();
    f.pieces.extend(more);
    let log = out.log("concatenated", &f);
    out.expect(
        exp(
            "concatenated",
            "a second log (genesis + 2 entries) appended after a log of 3 entries: a genesis record after the start is malformed",
            &log,
            &f,
        )
        .invalid("malformed", Some(0), pos(&f, second_genesis), 1, 5)
        .head(other.head())
        .open("ok"),
    );

    let mut grl = LogB::keyless("genesis_repeated");
    let copy = grl.recs[0].clone();
    grl.recs.push(copy);
    // Entries 1 and 2 follow, linked to the genesis hash.
    for (i, e) in evs[..2].iter().enumerate() {
        let (_, prev) = grl.head();
        let seq = i as u64 + 1;
        let mut body = Vec::new();
        format::encode_entry(
            &mut body,
            seq,
            &prev,
            &ts(seq as u32, 0),
            e,
            "alice",
            "lab-pc-1",
        )
        .expect("entry");
        grl.push_body(body);
    }
    let f = File::of(&grl, fr);
    let log = out.log("genesis_repeated", &f);
    out.expect(
        exp(
            "genesis_repeated",
            "the genesis record written twice (second copy right after the first), then entries 1 and 2: the copy is malformed (malformed takes priority over seq_gap)",
            &log,
            &f,
        )
        .invalid("malformed", Some(0), pos(&f, 1), 1, 2)
        .head(grl.head())
        .open("ok"),
    );

    let mut gt = LogB::keyless("genesis_tampered").standard();
    let gid = log_id_for("genesis_tampered");
    gt.edit(0, &gid, &log_id_for("someone else"));
    let f = File::of(&gt, fr);
    let log = out.log("genesis_tampered", &f);
    out.expect(
        exp(
            "genesis_tampered",
            "the genesis record's log_id changed, hash not recomputed",
            &log,
            &f,
        )
        .invalid("hash_mismatch", Some(0), f.genesis_pos(), 1, 5)
        .head(gt.head()),
    );

    let mut gm = LogB::keyless("genesis_malformed").standard();
    gm.edit(0, "\"format\":\"evident\"", "\"format\":\"not-evident\"");
    gm.rehash(0);
    let f = File::of(&gm, fr);
    let log = out.log("genesis_malformed", &f);
    out.expect(
        exp(
            "genesis_malformed",
            "the genesis names format \"not-evident\" (hash recomputed): not an evident log; verification stops at the genesis",
            &log,
            &f,
        )
        .invalid("malformed", Some(0), f.genesis_pos(), 1, 0)
        .not_a_log(),
    );

    // ---- Torn tails.
    let mut f = File::of(&keyless, fr);
    let last = f.pieces.len() - 1;
    let half = f.pieces[last].len() / 2;
    f.pieces[last].truncate(half);
    let log = out.log("torn_tail", &f);
    out.expect(
        exp(
            "torn_tail",
            "the last record (entry 5) cut in half, as a crash during the write leaves it",
            &log,
            &f,
        )
        .invalid("torn_tail", None, pos(&f, last), 1, 4)
        .head((4, keyless.recs[4].hash)),
    );

    if fr == Framing::Jsonl {
        let mut f = File::of(&keyless, fr);
        let last = f.pieces.len() - 1;
        f.pieces[last].pop();
        let log = out.log("torn_newline", &f);
        out.expect(
            exp(
                "torn_newline",
                "the last line complete except for its newline: a record is not complete until its newline is written",
                &log,
                &f,
            )
            .invalid("torn_tail", None, pos(&f, last), 1, 4)
            .head((4, keyless.recs[4].hash)),
        );
    } else {
        let mut f = File::of(&keyless, fr);
        let last = f.pieces.len() - 1;
        f.pieces[last].truncate(5);
        let log = out.log("torn_header", &f);
        out.expect(
            exp(
                "torn_header",
                "only the first 5 bytes of the last frame written: its length fields are incomplete",
                &log,
                &f,
            )
            .invalid("torn_tail", None, pos(&f, last), 1, 4)
            .head((4, keyless.recs[4].hash)),
        );
    }

    let mut f = File::of(&keyless, fr);
    let n = f.pieces.len();
    f.pieces
        .push(b"garbage after the last record\nmore garbage".to_vec());
    let log = out.log("garbage_tail", &f);
    out.expect(
        exp(
            "garbage_tail",
            "text appended after the last record (JSONL: a complete line and a partial one; binary: impossible length fields): no interrupted write leaves it, so it is damage, not a torn tail, and a writer refuses to open the log",
            &log,
            &f,
        )
        .invalid(
            "malformed",
            None,
            pos(&f, n),
            if fr == Framing::Jsonl { 2 } else { 1 },
            5,
        )
        .head(keyless.head())
        .open("refuses"),
    );

    // The last record changed in one bit: all its bytes are there, so it is
    // damage, not a torn write (binary: the CRC fails; JSONL: the line feed
    // ending the last line became another byte).
    let mut f = File::of(&keyless, fr);
    let last = f.pieces.len() - 1;
    let at = f.pieces[last].len() - 1;
    f.pieces[last][at] ^= 0x01;
    let log = out.log("last_record_changed", &f);
    out.expect(
        exp(
            "last_record_changed",
            "one bit of the last record's last byte flipped (binary: the frame_len trailer; JSONL: the line feed): a complete record that fails its check is damage, not a torn tail; a writer refuses to open the log",
            &log,
            &f,
        )
        .invalid("malformed", None, pos(&f, last), 1, 4)
        .head((4, keyless.recs[4].hash))
        .open("refuses"),
    );

    // An old record replayed at the end: readable, but it does not follow
    // the record before it, so a writer refuses to resume from it.
    let mut f = File::of(&keyless, fr);
    let n = f.pieces.len();
    let again = f.pieces[3].clone();
    f.pieces.push(again);
    let log = out.log("replayed_tail", &f);
    out.expect(
        exp(
            "replayed_tail",
            "entry 3 appended again after entry 5: a seq_gap at the copy, and a writer refuses to open the log (the last record does not follow the one before it)",
            &log,
            &f,
        )
        .invalid("seq_gap", Some(3), pos(&f, n), 1, 6)
        .head((3, keyless.recs[3].hash))
        .open("refuses"),
    );

    let mut f = File::of(&keyless, fr);
    let n = f.pieces.len();
    f.pieces.push(vec![0u8; 4096]);
    let log = out.log("zeroed_tail", &f);
    out.expect(
        exp(
            "zeroed_tail",
            "4096 zero bytes after the last record (a power cut can leave a zero-filled block)",
            &log,
            &f,
        )
        .invalid("torn_tail", None, pos(&f, n), 1, 5)
        .head(keyless.head()),
    );

    // ---- Keys.
    let gpos = h256_file.genesis_pos();
    out.expect(
        exp(
            "wrong_key",
            "hmac-sha256 log verified with another key",
            &h256_log,
            &h256_file,
        )
        .key(key_b())
        .invalid("wrong_key", Some(0), gpos, 1, 5)
        .head(h256.head()),
    );
    out.expect(
        exp(
            "missing_key",
            "hmac-sha256 log verified without a key",
            &h256_log,
            &h256_file,
        )
        .invalid("wrong_key", Some(0), gpos, 1, 5)
        .head(h256.head()),
    );
    out.expect(
        exp(
            "unexpected_key",
            "keyless log verified with a key (it may have been rewritten without one)",
            &keyless_log,
            &keyless_file,
        )
        .key(key_a())
        .invalid("wrong_key", Some(0), keyless_file.genesis_pos(), 1, 5)
        .head(keyless.head()),
    );

    // ---- Log id and head.
    let mut e = exp(
        "log_id_ok",
        "keyless log with the expected log id and a head taken at entry 3 (a prefix of the log)",
        &keyless_log,
        &keyless_file,
    )
    .valid(5, keyless.head());
    e.expected_log_id = Some(log_id_for("keyless"));
    e.expected_head = Some((3, keyless.recs[3].hash));
    out.expect(e);

    let mut e = exp(
        "wrong_log_id",
        "keyless log checked against another log's id",
        &keyless_log,
        &keyless_file,
    )
    .invalid("wrong_log_id", Some(0), keyless_file.genesis_pos(), 1, 5)
    .head(keyless.head());
    e.expected_log_id = Some(log_id_for("another log"));
    out.expect(e);

    let mut tr = keyless.clone();
    tr.recs.truncate(4);
    let f = File::of(&tr, fr);
    let log = out.log("truncated", &f);
    out.expect(
        exp(
            "truncated",
            "the keyless log with entries 4 and 5 removed from the end: valid on its own",
            &log,
            &f,
        )
        .valid(3, tr.head()),
    );
    let mut e = exp(
        "head_mismatch",
        "the truncated log checked against the head taken at entry 5: entries were removed from the end",
        &log,
        &f,
    )
    .invalid("head_mismatch", Some(3), (f.len(), 0), 1, 3)
    .head(tr.head());
    e.expected_head = Some(keyless.head());
    out.expect(e);

    // ---- What a reader accepts and refuses inside a record.
    let mut nc = LogB::keyless("noncanonical");
    nc.entry(&evs[0]).entry(&evs[1]);
    let (seq, prev) = nc.head();
    let body = format!(
        "{{ \"v\": 1, \"seq\": {}, \"prev\": \"{}\", \"kind\": \"entry\", \"ts\": \"2026-03-01T09:00:03.003003Z\", \"details\": {{\"b\": 1, \"a\": 2}}, \"event_type\": \"DATA_ACCESS\", \"action\": \"export\", \"actor\": \"alice\", \"host\": \"lab-pc-1\", \"session_id\": \"s-0001\", \"source\": \"exporter\"}}",
        seq + 1,
        prev
    );
    nc.push_body(body.into_bytes());
    nc.entry(&evs[3]);
    let f = File::of(&nc, fr);
    let log = out.log("noncanonical", &f);
    out.expect(
        exp(
            "noncanonical",
            "entry 3's body is not in canonical form (spaces, member order) but its hash covers its bytes: verifiers check bytes, they do not re-serialise",
            &log,
            &f,
        )
        .valid(4, nc.head()),
    );

    let mut dm = LogB::keyless("duplicate_member").standard();
    dm.edit(3, r#","details":"#, r#","seq":9,"details":"#);
    dm.rehash(3);
    let f = File::of(&dm, fr);
    let log = out.log("duplicate_member", &f);
    out.expect(
        exp(
            "duplicate_member",
            "entry 3's body has a second \"seq\" member (hash recomputed): a record with a duplicated member name is malformed",
            &log,
            &f,
        )
        .invalid("malformed", None, pos(&f, 3), 1, 4)
        .head(dm.head()),
    );

    let mut iu = LogB::keyless("invalid_utf8").standard();
    let b = iu.recs[3].body.clone();
    let at = b.windows(3).position(|w| w == b"csv").expect("csv in body");
    iu.recs[3].body[at + 1] = 0xff;
    iu.rehash(3);
    let f = File::of(&iu, fr);
    let log = out.log("invalid_utf8", &f);
    out.expect(
        exp(
            "invalid_utf8",
            "entry 3's details contain the byte 0xff (not UTF-8), hash recomputed: not JSON, so malformed",
            &log,
            &f,
        )
        .invalid("malformed", None, pos(&f, 3), 1, 4)
        .head(iu.head()),
    );

    let mut cc = LogB::keyless("control_char").standard();
    cc.edit(3, r#""csv""#, "\"c\tsv\"");
    cc.rehash(3);
    let f = File::of(&cc, fr);
    let log = out.log("control_char", &f);
    out.expect(
        exp(
            "control_char",
            "entry 3's details contain a raw (unescaped) tab inside a string, hash recomputed: not JSON, so malformed",
            &log,
            &f,
        )
        .invalid("malformed", None, pos(&f, 3), 1, 4)
        .head(cc.head()),
    );

    // A 64-byte hash in a sha256 log (prev lengthened to match).
    let mut hl = LogB::keyless("hash_length").standard();
    let old_prev = hl.recs[2].hash.to_hex();
    hl.edit(3, &old_prev, &format!("{old_prev}{old_prev}"));
    let h = hl.recs[3].hash.as_bytes().to_vec();
    hl.recs[3].hash = Hash::from_slice(&[h.clone(), h].concat()).expect("64 bytes");
    let f = File::of(&hl, fr);
    let log = out.log("hash_length", &f);
    out.expect(
        exp(
            "hash_length",
            "entry 3 has a 64-byte hash and prev in a sha256 log: the record does not fit the log's algorithm, so it is malformed (malformed takes priority over chain_break); entry 4 then breaks the chain (its prev is 32 bytes)",
            &log,
            &f,
        )
        .invalid("malformed", Some(3), pos(&f, 3), 2, 5)
        .head(hl.head()),
    );

    // ---- What a record may contain (spec § 5.5): the limits, at and past them.
    let mut jl = LogB::keyless("json_limits");
    jl.entry(&evs[0]).entry(&evs[1]);
    jl.entry_raw_details(
        &evs[2],
        &format!(
            r#"{{"max":1.7976931348623157e308,"min":-1.7976931348623157e308,"beyond_u64":18446744073709551616,"pair":"\ud83d\ude00","nested":{}0{}}}"#,
            "[".repeat(126),
            "]".repeat(126)
        ),
    );
    jl.entry(&evs[3]);
    let f = File::of(&jl, fr);
    let log = out.log("json_limits", &f);
    out.expect(
        exp(
            "json_limits",
            "entry 3's details hold the largest finite doubles, an integer beyond 64 bits, an escaped surrogate pair and arrays nested to level 128 of the body (the limit): valid, and every reader can read it",
            &log,
            &f,
        )
        .valid(4, jl.head()),
    );

    let damaged: [(&str, &str, String, &str); 4] = [
        (
            "number_overflow",
            r#""rows":1024"#,
            r#""rows":1e400"#.to_string(),
            "entry 3's details hold the number 1e400, beyond the largest double (hash recomputed): malformed",
        ),
        (
            "nesting_depth",
            r#""range":[0,1023]"#,
            format!(r#""range":{}0{}"#, "[".repeat(127), "]".repeat(127)),
            "entry 3's details hold arrays nested to level 129 of the body, one past the limit of 128 (hash recomputed): malformed",
        ),
        (
            "lone_surrogate",
            r#""csv""#,
            r#""\ud800""#.to_string(),
            "entry 3's details hold the escape \\ud800, a high surrogate without its low half: not a Unicode string (hash recomputed), malformed",
        ),
        (
            "entry_ts_space",
            "T09:00:03.",
            " 09:00:03.".to_string(),
            "entry 3's ts has a space instead of T (hash recomputed, so entry 4 no longer links to it): a verifier does not interpret entry times (§ 2), but a reader that returns entry 3 reports it as malformed",
        ),
    ];
    for (name, from, to, description) in damaged {
        let mut d = LogB::keyless(name).standard();
        d.edit(3, from, &to);
        d.rehash(3);
        let f = File::of(&d, fr);
        let log = out.log(name, &f);
        let e = exp(name, description, &log, &f);
        out.expect(if name == "entry_ts_space" {
            // Entry 4 still names entry 3's old hash.
            e.invalid("chain_break", Some(4), pos(&f, 4), 1, 5)
                .head(d.head())
        } else {
            e.invalid("malformed", None, pos(&f, 3), 1, 4)
                .head(d.head())
        });
    }

    // ---- Genesis timestamps: exactly YYYY-MM-DDTHH:MM:SS.ffffffZ (§ 5.3).
    for (name, to, what) in [
        (
            "genesis_ts_space",
            "2026-03-01 09:00:00.000000Z",
            "a space instead of T",
        ),
        (
            "genesis_ts_offset",
            "2026-03-01T10:00:00.000000+01:00",
            "an offset instead of Z (the same instant)",
        ),
        (
            "genesis_ts_seconds",
            "2026-03-01T09:00:00Z",
            "no fraction digits",
        ),
    ] {
        let mut g = LogB::keyless(name);
        g.edit(0, "2026-03-01T09:00:00.000000Z", to);
        g.rehash(0);
        g.entry(&evs[0]);
        let f = File::of(&g, fr);
        let log = out.log(name, &f);
        out.expect(
            exp(
                name,
                &format!("the genesis ts {to:?} has {what} (hash recomputed): RFC 3339, but not the form of § 5.3, so the genesis is malformed"),
                &log,
                &f,
            )
            .invalid("malformed", Some(0), f.genesis_pos(), 1, 0),
        );
    }

    // ---- Integers are digits alone (§ 2 rule 4): `-0` is not the seq 0.
    {
        let name = "genesis_seq_sign";
        let mut g = LogB::keyless(name);
        // The entry first: the builder reads the seq of the record before.
        g.entry(&evs[0]);
        g.edit(0, r#""seq":0,"#, r#""seq":-0,"#);
        g.rehash(0);
        let f = File::of(&g, fr);
        let log = out.log(name, &f);
        out.expect(
            exp(
                name,
                "the genesis has \"seq\":-0 (hash recomputed): a number with a sign is not an integer of § 2 rule 4, so the genesis is malformed",
                &log,
                &f,
            )
            .invalid("malformed", Some(0), f.genesis_pos(), 1, 0),
        );
    }

    // ---- A member present as null is not absent (§ 3 rule 4): in a keyed
    // log too, where it is not a wrong key.
    for (name, keyed, description) in [
        (
            "genesis_key_id_null",
            false,
            "the keyless genesis has \"key_id\":null (hash recomputed): a key_id that is present must be a string, null included, so the genesis is malformed (the value of key_id is ignored in a sha256 log, its type is not)",
        ),
        (
            "genesis_key_id_null_keyed",
            true,
            "the hmac-sha256 genesis has \"key_id\":null (hash recomputed), verified with the log's key: the genesis is malformed, not a wrong key",
        ),
    ] {
        let mut g = if keyed {
            LogB::new(HashAlg::HmacSha256, Some(&ka), &log_id_for(name), &[])
        } else {
            LogB::keyless(name)
        };
        if keyed {
            let id = format!(r#""key_id":"{}""#, ka.key_id());
            g.edit(0, &id, r#""key_id":null"#);
        } else {
            g.edit(0, r#""alg":"sha256""#, r#""alg":"sha256","key_id":null"#);
        }
        g.rehash(0);
        g.entry(&evs[0]);
        let f = File::of(&g, fr);
        let log = out.log(name, &f);
        let mut e = exp(name, description, &log, &f).invalid(
            "malformed",
            Some(0),
            f.genesis_pos(),
            1,
            0,
        );
        if keyed {
            e = e.key(key_a());
        }
        out.expect(e);
    }

    // ---- No record follows seq 2⁶⁴ − 1 (§ 9.3): entries 1, 2, 3 become
    // seq 2⁶⁴ − 1, 0, 1, each linked to the one before it as stored.
    {
        let name = "seq_after_max";
        let mut g = LogB::keyless(name);
        for e in &evs[..3] {
            g.entry(e);
        }
        for (i, seq) in [(1usize, u64::MAX), (2, 0), (3, 1)] {
            let old = g.recs[i].hash.to_hex();
            g.edit(i, &format!(r#""seq":{i},"#), &format!(r#""seq":{seq},"#));
            g.rehash(i);
            if i + 1 < g.recs.len() {
                let new = g.recs[i].hash.to_hex();
                g.edit(i + 1, &old, &new);
            }
        }
        let f = File::of(&g, fr);
        let log = out.log(name, &f);
        out.expect(
            exp(
                name,
                "entries of seq 18446744073709551615 (2^64 - 1), 0 and 1, each linking to the record before it: seq 2^64 - 1 is a seq_gap after the genesis, and seq 0 one after it (no seq follows 2^64 - 1: a verifier must not wrap it to 0)",
                &log,
                &f,
            )
            .invalid("seq_gap", Some(u64::MAX), pos(&f, 1), 2, 3)
            .head(g.head()),
        );
    }

    // ---- Duplicated genesis members that decide (§ 3 rules 2 and 3).
    for (name, insert, kind, description) in [
        (
            "unsupported_duplicate_v",
            r#","v":2}"#,
            "unsupported",
            "the genesis has \"v\":1 and, at its end, a second \"v\":2 (hash recomputed): any v above 1 needs a newer reader, so the log is unsupported, not malformed",
        ),
        (
            "unsupported_duplicate_critical",
            r#","critical":[],"critical":["x-future-extension"]}"#,
            "unsupported",
            "the genesis has two \"critical\" members, the second naming an unknown extension (hash recomputed): unsupported, not malformed",
        ),
        (
            "genesis_duplicate_v",
            r#","v":1}"#,
            "malformed",
            "the genesis has \"v\":1 twice (hash recomputed): nothing asks for a newer reader, and a duplicated member makes the genesis malformed",
        ),
    ] {
        let mut g = LogB::keyless(name);
        let body = String::from_utf8(g.recs[0].body.clone()).expect("utf8");
        g.recs[0].body = format!("{}{insert}", &body[..body.len() - 1]).into_bytes();
        g.rehash(0);
        g.entry(&evs[0]);
        let f = File::of(&g, fr);
        let log = out.log(name, &f);
        out.expect(exp(name, description, &log, &f).invalid(
            kind,
            Some(0),
            f.genesis_pos(),
            1,
            0,
        ));
    }

    // ---- Canonical numbers and details (§ 5.2, § 4): zero and null.
    let mut zn = LogB::keyless("zero_and_null");
    let mut e = ev(
        "ACTION_EXECUTED",
        "measure",
        "s-0001",
        "ui",
        r#"{"zero":0.0,"negative_zero":-0.0,"integer_zero":0,"small":1e-7,"large":1e16,"mid":0.00001}"#,
    );
    e.duration_ms = Some(0.0);
    zn.entry(&e);
    let mut e = ev("ACTION_EXECUTED", "null_details", "s-0001", "ui", "{}");
    e.details = Some(serde_json::Value::Null);
    zn.entry(&e);
    let mut e = ev("ACTION_EXECUTED", "no_details", "s-0001", "ui", "{}");
    e.details = None;
    zn.entry(&e);
    let f = File::of(&zn, fr);
    let log = out.log("zero_and_null", &f);
    out.expect(
        exp(
            "zero_and_null",
            "as the writer encodes them: entry 1 has duration_ms 0.0 and details with 0.0, -0.0, 0, 1e-7, 1e+16 and 0.00001; entry 2 has details null (kept as null); entry 3 has no details ({})",
            &log,
            &f,
        )
        .valid(3, zn.head()),
    );

    if fr == Framing::Binary {
        // Binary bodies that no JSONL line can hold (§ 2 rule 4).
        for (name, description) in [
            (
                "body_leading_space",
                "entry 3's body starts with a space (valid JSON; frame, CRC and hash correct): a body must start with '{' so that it converts to JSONL, so malformed",
            ),
            (
                "body_newline",
                "entry 3's body has a line feed between two members (valid JSON; frame, CRC and hash correct): no JSONL line can hold it, so malformed",
            ),
        ] {
            let mut b = LogB::keyless(name).standard();
            if name == "body_leading_space" {
                b.recs[3].body.insert(0, b' ');
            } else {
                b.edit(3, r#","details":"#, ",\n\"details\":");
            }
            b.rehash(3);
            let f = File::of(&b, fr);
            let log = out.log(name, &f);
            out.expect(
                exp(name, description, &log, &f)
                    .invalid("malformed", None, pos(&f, 3), 1, 4)
                    .head(b.head()),
            );
        }
    }

    if fr == Framing::Binary {
        let mut f = File::of(&keyless, fr);
        f.header[12] = 0x01;
        let log = out.log("header_flags", &f);
        out.expect(
            exp(
                "header_flags",
                "binary file header flags set to 1 (unknown in v1; the header has no CRC, so this is also what a bit flip there looks like): refuse",
                &log,
                &f,
            )
            .invalid("unsupported", Some(0), (0, 0), 1, 0),
        );

        let mut f = File::of(&keyless, fr);
        f.pieces.clear();
        f.header.truncate(12);
        let log = out.log("header_truncated", &f);
        out.expect(
            exp(
                "header_truncated",
                "a file of 12 bytes: the binary magic and part of the header",
                &log,
                &f,
            )
            .invalid("malformed", Some(0), (0, 0), 1, 0)
            .not_a_log(),
        );
    }

    // ---- Unsupported.
    let mut v2 = LogB::keyless("unsupported_version");
    v2.edit(0, "{\"v\":1,", "{\"v\":2,");
    v2.rehash(0);
    let evs2 = standard_events();
    v2.entry(&evs2[0]);
    let f = File::of(&v2, fr);
    let log = out.log("unsupported_version", &f);
    out.expect(
        exp(
            "unsupported_version",
            "genesis says format version 2: a version-1 reader must refuse the log",
            &log,
            &f,
        )
        .invalid("unsupported", Some(0), f.genesis_pos(), 1, 0),
    );

    let mut v2a = LogB::keyless("unsupported_version_alg");
    v2a.edit(0, "{\"v\":1,", "{\"v\":2,");
    v2a.edit(0, "\"alg\":\"sha256\"", "\"alg\":\"x-future-hash\"");
    v2a.rehash(0);
    v2a.entry(&evs2[0]);
    let f = File::of(&v2a, fr);
    let log = out.log("unsupported_version_alg", &f);
    out.expect(
        exp(
            "unsupported_version_alg",
            "genesis says format version 2 and names a hash algorithm version 1 does not know: the version decides, the log is unsupported (not malformed)",
            &log,
            &f,
        )
        .invalid("unsupported", Some(0), f.genesis_pos(), 1, 0),
    );

    let mut cr = LogB::new(
        HashAlg::Sha256,
        None,
        &log_id_for("unsupported_critical"),
        &["x-future-extension"],
    );
    cr.entry(&evs2[0]);
    let f = File::of(&cr, fr);
    let log = out.log("unsupported_critical", &f);
    out.expect(
        exp(
            "unsupported_critical",
            "genesis lists a critical extension this reader does not implement: refuse the log",
            &log,
            &f,
        )
        .invalid("unsupported", Some(0), f.genesis_pos(), 1, 0),
    );

    let mut cra = LogB::new(
        HashAlg::Sha256,
        None,
        &log_id_for("unsupported_critical_alg"),
        &["x-future-extension"],
    );
    cra.edit(0, "\"alg\":\"sha256\"", "\"alg\":\"x-future-hash\"");
    cra.rehash(0);
    cra.entry(&evs2[0]);
    let f = File::of(&cra, fr);
    let log = out.log("unsupported_critical_alg", &f);
    out.expect(
        exp(
            "unsupported_critical_alg",
            "genesis (v 1) lists a critical extension and names a hash algorithm version 1 does not know: the extension decides, the log is unsupported (not malformed)",
            &log,
            &f,
        )
        .invalid("unsupported", Some(0), f.genesis_pos(), 1, 0),
    );

    if fr == Framing::Binary {
        let mut f = File::of(&LogB::keyless("binary_version").standard(), fr);
        f.header[8..12].copy_from_slice(&2u32.to_le_bytes());
        let log = out.log("unsupported_binary_version", &f);
        out.expect(
            exp(
                "unsupported_binary_version",
                "binary file header names framing version 2",
                &log,
                &f,
            )
            .invalid("unsupported", Some(0), (0, 0), 1, 0),
        );
    }
}

/// Writes every vector into `dir` (created if missing). Returns the names
/// of the files written, sorted.
pub fn generate(dir: &Path) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Out::default();
    gen_framing(&mut out, Framing::Jsonl);
    gen_framing(&mut out, Framing::Binary);

    // Framing-independent: not a log at all.
    out.files.push(("empty.log".into(), Vec::new()));
    out.files.push((
        "empty.expect".into(),
        b"description: an empty file is not a log\nlog: empty.log\nexpect: invalid\nkind: malformed\nseq: 0\nline: 1\noffset: 0\nviolations: 1\nentries: 0\nnot-a-log: yes\nopen: refuses\n"
            .to_vec(),
    ));
    out.files.push((
        "not_a_log.log".into(),
        b"timestamp,user,action\n2026-03-01,alice,login\n".to_vec(),
    ));
    out.files.push((
        "not_a_log.expect".into(),
        b"description: a CSV file: neither framing\nlog: not_a_log.log\nexpect: invalid\nkind: malformed\nseq: 0\nline: 1\noffset: 0\nviolations: 1\nentries: 0\nnot-a-log: yes\nopen: refuses\n"
            .to_vec(),
    ));

    let mut names = Vec::new();
    for (name, bytes) in &out.files {
        std::fs::write(dir.join(name), bytes)?;
        names.push(name.clone());
    }
    names.sort();
    Ok(names)
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/spec/vectors").to_string());
    let names = generate(Path::new(&dir))?;
    println!("wrote {} files to {dir}", names.len());
    Ok(())
}
