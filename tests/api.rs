//! The public option types build through their builders (they are
//! `#[non_exhaustive]` or may become so), and the builders set what they say.

use evident::{
    convert, query, verify, ConvertOptions, Event, Framing, Log, OpenOptions, Order, Query,
    VerifyOptions,
};

#[test]
fn query_builder_filters_like_the_fields() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let log = Log::open(&path, OpenOptions::new()).unwrap();
    for i in 0..10u64 {
        let s = if i % 2 == 0 { "even" } else { "odd" };
        log.append(&Event::new("T", format!("a{}", i % 3)).session(s))
            .unwrap();
    }
    log.close().unwrap();
    let q = Query::default()
        .session_id("odd")
        .seq_min(2)
        .seq_max(9)
        .order(Order::NewestFirst)
        .limit(3);
    assert_eq!(q.session_id.as_deref(), Some("odd"));
    let seqs: Vec<u64> = query(&path, &q).unwrap().map(|e| e.unwrap().seq).collect();
    // seq = i + 1; odd sessions are the even seqs.
    assert_eq!(seqs, vec![8, 6, 4]);
    let q = Query::default().action("a1").event_type("T");
    let seqs: Vec<u64> = query(&path, &q).unwrap().map(|e| e.unwrap().seq).collect();
    assert_eq!(seqs, vec![2, 5, 8]);
}

#[test]
fn verify_and_convert_builders() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let log = Log::open(&path, OpenOptions::new()).unwrap();
    log.append(&Event::new("T", "x")).unwrap();
    let head = log.head();
    log.close().unwrap();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let c2 = calls.clone();
    let opts = VerifyOptions::new()
        .all(true)
        .threads(1)
        .expected_head(evident::ExpectedHead {
            seq: head.seq,
            hash: head.hash,
        })
        .expected_log_id("not-this-log")
        .progress(move |_, _| {
            c2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
    let r = verify(&path, &opts).unwrap();
    assert!(!r.valid, "the log id was expected to differ");
    assert!(calls.load(std::sync::atomic::Ordering::Relaxed) > 0);

    let out = dir.path().join("a.evl");
    let rep = convert(
        &path,
        &out,
        &ConvertOptions::new().to(Framing::Binary).threads(1),
    )
    .unwrap();
    let _ = rep;
    assert!(verify(&out, &VerifyOptions::new()).unwrap().valid);
}

/// The builders added when the options became `#[non_exhaustive]` set the
/// fields they name.
#[test]
fn open_options_builders_set_actor_host_and_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.jsonl");
    let o = OpenOptions::new()
        .actor("builder-actor")
        .host("builder-host")
        .buffer_size(4096)
        .create_new(true);
    assert_eq!(o.buffer_size, 4096);
    let log = Log::open(&path, o.clone()).unwrap();
    log.append(&Event::new("T", "a")).unwrap();
    log.close().unwrap();
    let e = query(&path, &Query::default())
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(
        (e.actor.as_str(), e.host.as_str()),
        ("builder-actor", "builder-host")
    );
    // create_new: the log exists now, so a second open is refused.
    assert!(Log::open(&path, o).is_err());
}

#[cfg(feature = "session")]
#[test]
fn session_option_builders_set_their_fields() {
    use evident::session::{LoadOptions, SaveOptions};
    use std::time::Duration;
    let s = SaveOptions::new()
        .compress(Some(3))
        .include_traces(false)
        .sync(false)
        .lock_timeout(Duration::from_secs(1));
    assert_eq!(s.compress, Some(3));
    assert!(!s.include_traces && !s.sync);
    assert_eq!(s.lock_timeout, Duration::from_secs(1));
    assert!(s.key.is_none() && s.audit.is_none());
    let l = LoadOptions::new().version(Some(2));
    assert_eq!(l.version, Some(2));
    assert!(l.key.is_none());
}
