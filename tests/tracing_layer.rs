//! The `tracing` layer (feature `tracing`): events become entries, fields
//! fill entry fields or the details, spans are kept, failures are counted.

use std::sync::{Arc, Mutex};

use evident::tracing::EvidentLayer;
use evident::{query, Entry, Log, OpenOptions, Query};
use serde_json::json;
use tracing_subscriber::prelude::*;

fn entries(path: &std::path::Path) -> Vec<Entry> {
    query(path, &Query::default())
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
}

#[test]
fn events_become_entries_with_fields_details_and_spans() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = Arc::new(Log::open(&path, OpenOptions::new()).unwrap());
    let layer = EvidentLayer::new(Arc::clone(&log)).source("scope-app");
    let subscriber = tracing_subscriber::registry().with(layer.clone());
    tracing::subscriber::with_default(subscriber, || {
        tracing::debug!("not recorded: below INFO");
        tracing::info!(
            session_id = "s1",
            file = "scope.bin",
            samples = 1000u64,
            "load_trace"
        );
        let span = tracing::info_span!("request", session_id = "s2", user_op = "fft");
        let _g = span.enter();
        tracing::warn!(
            success = false,
            duration_ms = 12.5,
            error = "clipped",
            otr = true,
            event_type = "MEASUREMENT",
            "measure"
        );
        tracing::error!(
            session_id = 7,
            "typed wrong: session_id stays in the details"
        );
    });
    assert_eq!(layer.failures(), 0);
    log.close().unwrap();

    let es = entries(&path);
    assert_eq!(es.len(), 3, "{es:#?}");
    let a = &es[0];
    assert_eq!(
        (a.event_type.as_str(), a.action.as_str()),
        ("INFO", "load_trace")
    );
    assert_eq!(a.session_id, "s1");
    assert_eq!(a.source, "scope-app");
    let d = &a.details;
    assert_eq!(d["file"], json!("scope.bin"));
    assert_eq!(d["samples"], json!(1000));
    assert_eq!(d["target"], json!("tracing_layer"));
    assert!(
        d.get("session_id").is_none(),
        "moved into the entry field: {d}"
    );

    let b = &es[1];
    assert_eq!(
        (b.event_type.as_str(), b.action.as_str()),
        ("MEASUREMENT", "measure")
    );
    assert_eq!(b.session_id, "s2", "the span's session_id fills the field");
    assert_eq!(b.success, Some(false));
    assert_eq!(b.duration_ms, Some(12.5));
    assert_eq!(b.error.as_deref(), Some("clipped"));
    assert!(b.otr);
    let d = &b.details;
    assert_eq!(d["spans"], json!([{"name": "request", "user_op": "fft"}]));

    let c = &es[2];
    assert_eq!(c.event_type, "ERROR");
    assert_eq!(
        c.session_id, "s2",
        "from the span: the event's is not a string"
    );
    assert_eq!(c.details["session_id"], json!(7));
}

#[test]
fn options_level_event_type_details_only_and_caller() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.evl");
    let log = Arc::new(Log::open(&path, OpenOptions::new()).unwrap());
    let layer = EvidentLayer::new(Arc::clone(&log))
        .level(tracing::Level::DEBUG)
        .event_type(|l| format!("LOG_{l}"))
        .details_only(true)
        .with_target(false)
        .with_caller(true);
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::trace!("not recorded: below DEBUG");
        tracing::debug!(session_id = "s1", "step");
    });
    log.close().unwrap();
    let es = entries(&path);
    assert_eq!(es.len(), 1);
    assert_eq!(
        (es[0].event_type.as_str(), es[0].action.as_str()),
        ("LOG_DEBUG", "step")
    );
    assert_eq!(es[0].session_id, "", "details_only: no field is filled");
    let d = &es[0].details;
    assert_eq!(d["session_id"], json!("s1"));
    assert!(d.get("target").is_none());
    assert_eq!(d["caller"]["file"], json!(file!()));
}

#[test]
fn a_failed_append_is_counted_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = Arc::new(Log::open(&path, OpenOptions::new()).unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let layer = EvidentLayer::new(Arc::clone(&log)).on_error(move |e| {
        seen2.lock().unwrap().push(e.to_string());
    });
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer.clone()), || {
        tracing::info!(ok = true, "first");
        log.close().unwrap();
        tracing::info!("after close");
    });
    assert_eq!(layer.failures(), 1);
    assert_eq!(seen.lock().unwrap().len(), 1, "{:?}", seen.lock().unwrap());
    assert_eq!(entries(&path).len(), 1);
}
