//! Shared by the PostgreSQL tests: the server comes from EVIDENT_PG_URL
//! (scripts/test.sh starts a throwaway cluster with scripts/pg-cluster.sh).
#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use evident::{Durability, Event, Log, OpenOptions};

/// The admin URL, or None (with a loud message) when no server is
/// configured. Fails instead when CI=true or EVIDENT_REQUIRE_PG=1.
pub fn admin_url() -> Option<String> {
    match std::env::var("EVIDENT_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            let required = std::env::var("CI").is_ok_and(|v| v == "true")
                || std::env::var("EVIDENT_REQUIRE_PG").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "EVIDENT_PG_URL is not set but PostgreSQL is required (CI=true or EVIDENT_REQUIRE_PG=1): run scripts/test.sh, or scripts/pg-cluster.sh start DIR"
            );
            eprintln!(
                "\n*** SKIPPED: PostgreSQL test without a server: EVIDENT_PG_URL is not set (scripts/test.sh sets it) ***\n"
            );
            None
        }
    }
}

/// The URL with another database name.
pub fn with_db(url: &str, db: &str) -> String {
    let (base, q) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let (root, _) = base.rsplit_once('/').expect("URL with a database");
    format!("{root}/{db}{q}")
}

/// A URL with a user (and password) instead of the admin's.
pub fn with_user(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let hostpath = rest.rsplit_once('@').map_or(rest, |x| x.1);
    format!("{scheme}://{user}:{password}@{hostpath}")
}

static N: AtomicU32 = AtomicU32::new(0);

/// A new, empty database for one test.
pub fn fresh_db(name: &str) -> Option<String> {
    let admin = admin_url()?;
    let db = format!(
        "evt_{name}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let mut c = connect(&admin);
    c.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
    Some(with_db(&admin, &db))
}

pub fn connect(url: &str) -> postgres::Client {
    evident::pg::Target::parse(url).unwrap().connect().unwrap()
}

/// Writes `n` entries (buffered) to a new log at `path`; returns the log id.
pub fn write_log(path: &Path, n: usize, host: &str) -> String {
    let log = Log::open(path, OpenOptions::new().durability(Durability::Buffered)).unwrap();
    for i in 0..n {
        let mut ev = Event::new("ACTION_EXECUTED", format!("op{}", i % 7))
            .source(format!("tool{}", i % 5))
            .session("s1")
            .details(serde_json::json!({"i": i, "file": format!("run {i}.bin")}));
        ev.host = Some(host.to_string());
        log.append(&ev).unwrap();
    }
    let id = log.genesis().log_id.clone();
    log.close().unwrap();
    id
}

/// Appends `n` more entries.
pub fn append(path: &Path, n: usize, tag: &str) {
    let log = Log::open(path, OpenOptions::new().durability(Durability::Buffered)).unwrap();
    for i in 0..n {
        log.append(
            &Event::new("ACTION_EXECUTED", format!("{tag}{i}"))
                .source("toolA")
                .details(serde_json::json!({"i": i})),
        )
        .unwrap();
    }
    log.close().unwrap();
}

pub fn count(url: &str, log_id: &str) -> (i64, Option<i64>) {
    let mut c = connect(url);
    match c.query_one(
        "SELECT count(*), max(seq) FROM evident.records WHERE log_id = $1",
        &[&log_id],
    ) {
        Ok(r) => (r.get(0), r.get(1)),
        // Before the first shipment created the schema.
        Err(e) if e.code().is_some_and(|c| c.code() == "42P01") => (0, None),
        Err(e) => panic!("{e}"),
    }
}
