//! The server restarts while a shipper runs: the shipper reconnects and
//! resumes from the database's head; nothing is missing or duplicated.
//! Its own test binary (cargo runs test binaries one at a time), because
//! the restart drops every connection to the cluster. Needs
//! EVIDENT_PG_DIR (the cluster directory of scripts/pg-cluster.sh).
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

#[path = "pg_support/mod.rs"]
mod pg_support;

use std::process::Command;
use std::time::Duration;

use evident::pg::{self, ShipOptions};
use evident::VerifyOptions;
use pg_support::*;

#[test]
fn server_restart_mid_ship() {
    let Some(url) = fresh_db("restart") else {
        return;
    };
    let Ok(cluster) = std::env::var("EVIDENT_PG_DIR") else {
        eprintln!("\n*** SKIPPED: EVIDENT_PG_DIR is not set (scripts/test.sh sets it) ***\n");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let id = write_log(&p, 150_000, "h");
    let shipper = {
        let (p, url) = (p.clone(), url.clone());
        std::thread::spawn(move || {
            let mut opts = ShipOptions::default();
            opts.batch = 1000;
            opts.retry_for = Duration::from_secs(60);
            pg::ship(&p, &url, &opts)
        })
    };
    // Restart once some batches are in.
    let t = std::time::Instant::now();
    while count(&url, &id).0 < 5_000 {
        assert!(t.elapsed() < Duration::from_secs(120));
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = count(&url, &id).0;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pg-cluster.sh");
    let st = Command::new(script)
        .args(["restart", &cluster])
        .status()
        .unwrap();
    assert!(st.success());
    let reps = shipper.join().unwrap().unwrap();
    assert!(before < 150_001, "the restart came after the shipping");
    assert_eq!(reps[0].log_id, id);
    let (n, max) = count(&url, &id);
    assert_eq!((n, max), (150_001, Some(150_000)));
    let r = pg::verify_db(&url, &VerifyOptions::default()).unwrap();
    assert!(r[0].valid && r[0].entries == 150_000, "{r:?}");
}
