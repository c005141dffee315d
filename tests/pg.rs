//! PostgreSQL store against a real server (EVIDENT_PG_URL; scripts/test.sh
//! starts a throwaway cluster). Skips loudly without one, fails without one
//! when CI=true or EVIDENT_REQUIRE_PG=1.

#[path = "pg_support/mod.rs"]
mod pg_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use evident::pg::{self, DbQuery, DbSource, ShipOptions, Target};
use evident::source::FileSource;
use evident::verify::verify_source;
use evident::{verify, Error, Query, VerifyOptions, ViolationKind};
use pg_support::*;

fn ship_all(path: &Path, url: &str) -> evident::Result<Vec<pg::ShipReport>> {
    pg::ship(path, url, &ShipOptions::default())
}

/// The one conformance check: the file verifier, the record-source
/// verifier over the file, and the record-source verifier over the
/// database copy give the same verdict, entry count, head and first
/// violation.
fn conformance(path: &Path, url: &str, log_id: &str) {
    let opts = VerifyOptions::default();
    let file = verify(path, &opts).unwrap();
    let via_source = verify_source(&mut FileSource::open(path).unwrap(), &opts).unwrap();
    let mut c = connect(url);
    let t = Target::parse(url).unwrap();
    let db = verify_source(&mut DbSource::new(&mut c, &t, log_id), &opts).unwrap();
    for r in [&via_source, &db] {
        assert_eq!(r.valid, file.valid, "{r:?} vs {file:?}");
        assert_eq!(r.entries, file.entries);
        assert_eq!(r.head_seq, file.head_seq);
        assert_eq!(r.head_hash, file.head_hash);
        assert_eq!(r.log_id, file.log_id);
        assert_eq!(
            r.first().map(|v| (v.kind, v.seq)),
            file.first().map(|v| (v.kind, v.seq))
        );
    }
    // Same framing: the same positions too.
    assert_eq!(via_source.violations, file.violations);
}

#[test]
fn ship_and_verify_100k_entries_from_3_logs() {
    let Some(url) = fresh_db("ship100k") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut ids = Vec::new();
    let sizes = [40_000usize, 35_000, 25_000];
    for (i, n) in sizes.iter().enumerate() {
        let p = dir.path().join(format!("log{i}.jsonl"));
        ids.push(write_log(&p, *n, &format!("host{i}")));
    }
    let t0 = Instant::now();
    for (i, n) in sizes.iter().enumerate() {
        let reps = ship_all(&dir.path().join(format!("log{i}.jsonl")), &url).unwrap();
        assert_eq!(reps.len(), 1);
        assert_eq!(reps[0].shipped, *n as u64 + 1);
        assert_eq!(reps[0].head_seq, *n as u64);
        assert!(reps[0].hashes_checked, "a keyless log's hashes are checked");
    }
    let ship_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let reports = pg::verify_db(&url, &VerifyOptions::default()).unwrap();
    let verify_secs = t1.elapsed().as_secs_f64();
    eprintln!(
        "shipped 100003 records in {ship_secs:.2}s ({:.0}/s, debug build); DB verify {verify_secs:.2}s",
        100_003.0 / ship_secs
    );
    assert_eq!(reports.len(), 3);
    let mut by_id: Vec<_> = ids.iter().zip(sizes).collect();
    by_id.sort();
    for (r, (id, n)) in reports.iter().zip(by_id) {
        assert!(r.valid, "{r:?}");
        assert_eq!(r.log_id.as_deref(), Some(id.as_str()));
        assert_eq!(r.entries, n as u64);
    }
    // Re-shipping sends nothing.
    for i in 0..3 {
        let reps = ship_all(&dir.path().join(format!("log{i}.jsonl")), &url).unwrap();
        assert_eq!(reps[0].shipped, 0);
    }
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            count(&url, id),
            (sizes[i] as i64 + 1, Some(sizes[i] as i64))
        );
        conformance(&dir.path().join(format!("log{i}.jsonl")), &url, id);
        let cc = pg::cross_check(dir.path().join(format!("log{i}.jsonl")), &url).unwrap();
        assert_eq!(cc.same, sizes[i] as u64 + 1);
        assert_eq!(
            (cc.first_difference, cc.only_db, cc.only_local),
            (None, 0, 0)
        );
    }
    // One log by URL.
    let one = pg::verify_db(
        &format!("{url}?log_id={}", ids[1]),
        &VerifyOptions::default(),
    )
    .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].entries, sizes[1] as u64);
}

#[test]
fn binary_log_ships_the_same_bytes() {
    let Some(url) = fresh_db("binary") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("b.evl");
    let id = write_log(&p, 500, "h");
    assert!(verify(&p, &VerifyOptions::default()).unwrap().valid);
    ship_all(&p, &url).unwrap();
    let r = pg::verify_db(&url, &VerifyOptions::default()).unwrap();
    assert!(r[0].valid && r[0].entries == 500);
    assert_eq!(
        r[0].head_hash,
        verify(&p, &VerifyOptions::default()).unwrap().head_hash
    );
    let cc = pg::cross_check(&p, &url).unwrap();
    assert_eq!((cc.same, cc.first_difference), (501, None));
    let _ = id;
}

/// A changed last record is not left behind in silence: shipping stops
/// there with an error naming it (a binary frame whose CRC fails, a JSONL
/// line whose line feed was changed), while a record cut short (a torn or
/// in-flight write) is left for a later pass, as before.
#[test]
fn a_changed_last_record_is_reported_not_left_unshipped() {
    for (name, flip) in [("b.evl", 40usize), ("j.jsonl", 1)] {
        let Some(url) = fresh_db("lastrec") else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        write_log(&p, 20, "h");
        let good = std::fs::read(&p).unwrap();
        let mut img = good.clone();
        let at = img.len() - flip;
        img[at] ^= 0x01;
        std::fs::write(&p, &img).unwrap();
        let err = match ship_all(&p, &url) {
            Err(e) => e.to_string(),
            Ok(r) => panic!("{name}: shipped without a word: {r:?}"),
        };
        assert!(err.contains("not shipped"), "{name}: {err}");
        // Cut short instead: the complete records ship, the rest waits.
        let Some(url) = fresh_db("lastrec") else {
            return;
        };
        std::fs::write(&p, &good[..good.len() - 7]).unwrap();
        let r = ship_all(&p, &url).unwrap();
        assert_eq!(r[0].head_seq, 19, "{name}: {r:?}");
    }
}

/// Runs SQL as the superuser, bypassing the append-only triggers (what an
/// attacker with database access could do).
fn tamper(url: &str, sql: &str) {
    let mut c = connect(url);
    c.batch_execute(&format!(
        "SET session_replication_role = replica; {sql}; SET session_replication_role = origin;"
    ))
    .unwrap();
}

#[test]
fn tampered_rows_are_found_by_verify() {
    let Some(url) = fresh_db("tamper") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let id = write_log(&p, 300, "h");
    ship_all(&p, &url).unwrap();
    conformance(&p, &url, &id);
    let first = |url: &str| {
        let r = pg::verify_db(url, &VerifyOptions::default()).unwrap();
        assert_eq!(r.len(), 1);
        assert!(!r[0].valid);
        let v = r[0].first().unwrap().clone();
        (v.kind, v.seq)
    };
    // A changed byte in a body: its hash no longer matches.
    tamper(
        &url,
        "UPDATE evident.records SET body = convert_to(replace(convert_from(body, 'UTF8'), 'run 119.bin', 'run 911.bin'), 'UTF8') WHERE seq = 120",
    );
    assert_eq!(first(&url), (ViolationKind::HashMismatch, Some(120)));
    // A tampered body stays a finding after more entries are shipped.
    let e = {
        append(&p, 5, "more");
        // the head (300) is intact, so shipping goes on; verify still fails
        ship_all(&p, &url).unwrap();
        pg::verify_db(&url, &VerifyOptions::default()).unwrap()
    };
    assert!(!e[0].valid);
    // A deleted row: a seq gap.
    let Some(url2) = fresh_db("tamper2") else {
        return;
    };
    ship_all(&p, &url2).unwrap();
    tamper(&url2, "DELETE FROM evident.records WHERE seq = 77");
    assert_eq!(first(&url2), (ViolationKind::SeqGap, Some(78)));
    // A replaced hash: the next record no longer links to it.
    let Some(url3) = fresh_db("tamper3") else {
        return;
    };
    ship_all(&p, &url3).unwrap();
    tamper(
        &url3,
        "UPDATE evident.records SET hash = sha256(hash) WHERE seq = 50",
    );
    let k = first(&url3);
    assert_eq!(k.1, Some(50));
    assert_eq!(k.0, ViolationKind::HashMismatch);
    // The updates and deletes above needed the trigger bypassed: evident's
    // own tables refuse them.
    let mut c = connect(&url3);
    let err = c
        .execute("DELETE FROM evident.records WHERE seq = 1", &[])
        .unwrap_err();
    assert!(
        err.to_string().contains("append-only") || format!("{err:?}").contains("append-only"),
        "{err:?}"
    );
}

#[test]
fn a_forked_local_log_is_refused_and_recorded() {
    let Some(url) = fresh_db("fork") else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let id = write_log(&p, 20, "h");
    // A copy of the first 10 entries, then different entries: a fork.
    let text = std::fs::read_to_string(&p).unwrap();
    let prefix: String = text.lines().take(11).map(|l| format!("{l}\n")).collect();
    let fork = dir.path().join("fork.jsonl");
    std::fs::write(&fork, prefix).unwrap();
    append(&fork, 15, "forked");
    ship_all(&p, &url).unwrap();
    let e = ship_all(&fork, &url).unwrap_err();
    assert!(matches!(e, Error::Refused { seq: 20, .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("fork"), "{msg}");
    assert!(msg.contains(&id), "{msg}");
    assert_eq!(count(&url, &id), (21, Some(20)));
    let mut c = connect(&url);
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM evident.refusals WHERE log_id = $1 AND seq = 20",
            &[&id],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    // A truncated local file (the database holds more): refused.
    let short = dir.path().join("short.jsonl");
    let text: String = std::fs::read_to_string(&p)
        .unwrap()
        .lines()
        .take(6)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&short, text).unwrap();
    let Some(url3) = fresh_db("trunc") else {
        return;
    };
    ship_all(&p, &url3).unwrap();
    let e = ship_all(&short, &url3).unwrap_err();
    assert!(matches!(e, Error::Refused { .. }), "{e}");
    assert!(e.to_string().contains("truncated or rewritten"), "{e}");
    assert_eq!(count(&url3, &id), (21, Some(20)));
}

#[test]
fn sql_injection_in_filters_and_log_ids_is_inert() {
    let Some(url) = fresh_db("inject") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let id = write_log(&p, 50, "h'; DROP TABLE evident.records; --");
    ship_all(&p, &url).unwrap();
    let t = Target::parse(&url).unwrap();
    let evil = [
        "x' OR '1'='1",
        "'; DROP TABLE evident.records; --",
        "\\'; SELECT pg_sleep(5); --",
        "op1\0",
        "op1' --",
    ];
    for e in evil {
        let mut q = DbQuery::default();
        q.q = Query::default().action(e.to_string());
        q.host = Some(e.to_string());
        q.log_id = Some(e.to_string());
        let r = pg::query_db(&t, &q);
        assert!(r.map_or(true, |v| v.is_empty()));
        let mut q = DbQuery::default();
        q.q = Query::default().source(e.to_string());
        let _ = pg::query_db(&t, &q);
        // Every other text filter, with a seq range, alone and in stats.
        for q in [
            Query::default().session_id(e.to_string()).seq_min(1),
            Query::default().event_type(e.to_string()).seq_max(40),
            Query::default()
                .actor(e.to_string())
                .seq_min(0)
                .seq_max(u64::MAX),
        ] {
            let mut dq = DbQuery::default();
            dq.q = q;
            assert!(
                pg::query_db(&t, &dq).map_or(true, |v| v.is_empty()),
                "{e:?}"
            );
            assert!(
                pg::stats_db(&t, &dq).map_or(true, |s| s.entries == 0),
                "{e:?}"
            );
        }
        let enc: String = e.bytes().map(|b| format!("%{b:02X}")).collect();
        match pg::verify_db(&format!("{url}?log_id={enc}"), &VerifyOptions::default()) {
            Err(Error::NotFound { .. }) | Err(Error::InvalidArgument(_)) => {}
            other => panic!("{e:?}: {other:?}"),
        }
    }
    // The host value with SQL in it is data: found exactly.
    let mut q = DbQuery::default();
    q.host = Some("h'; DROP TABLE evident.records; --".into());
    assert_eq!(pg::query_db(&t, &q).unwrap().len(), 50);
    assert_eq!(count(&url, &id), (51, Some(50)));
}

/// A database owned by a role without CREATEROLE (RTGS's `audit_user`
/// owning `rtgs_audit`): its first ship applies the migrations. Before, the
/// migration's CREATE ROLE failed on the privilege even when the evident
/// roles existed, so every ship failed and RTGS reads returned nothing.
/// And TRUNCATE of the refusals is refused to every role, the owner too.
#[test]
fn an_owner_without_createrole_migrates_and_refusals_are_not_truncated() {
    let Some(admin_url) = admin_url() else { return };
    let suffix = format!("{}_{}", std::process::id(), line!());
    let (owner, db) = (format!("own_{suffix}"), format!("evt_owner_{suffix}"));
    let mut admin = connect(&admin_url);
    // The roles exist (another database's migration, or made here).
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN
                 IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'evident_shipper') THEN CREATE ROLE evident_shipper NOLOGIN; END IF;
                 IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'evident_reviewer') THEN CREATE ROLE evident_reviewer NOLOGIN; END IF;
             END $$;
             CREATE ROLE {owner} LOGIN NOCREATEROLE NOSUPERUSER;"
        ))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db} OWNER {owner}"))
        .unwrap();
    let url = with_user(&with_db(&admin_url, &db), &owner, "unused");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    write_log(&p, 5, "h");
    let reps = ship_all(&p, &url).unwrap();
    assert_eq!(reps[0].shipped, 6);
    let mut c = connect(&url);
    let t = Target::parse(&url).unwrap();
    assert_eq!(
        pg::schema_version(&t, &mut c).unwrap(),
        pg::MIGRATIONS.len() as i32
    );
    for sql in ["TRUNCATE evident.refusals", "TRUNCATE evident.records"] {
        let e = c.batch_execute(sql).unwrap_err();
        assert!(
            e.to_string().contains("append-only") || format!("{e:?}").contains("append-only"),
            "{sql}: {e:?}"
        );
    }
}

#[test]
fn the_shipping_role_only_inserts_and_the_reviewer_only_reads() {
    let Some(url) = fresh_db("roles") else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let id = write_log(&p, 30, "h");
    let mut admin = connect(&url);
    evident::pg::migrate(&Target::parse(&url).unwrap(), &mut admin).unwrap();
    let suffix = std::process::id();
    admin
        .batch_execute(&format!(
            "CREATE ROLE ship_{suffix} LOGIN PASSWORD 'pw-ship-secret' IN ROLE evident_shipper;
             CREATE ROLE rev_{suffix} LOGIN PASSWORD 'pw-rev' IN ROLE evident_reviewer;"
        ))
        .unwrap();
    let ship_url = with_user(&url, &format!("ship_{suffix}"), "pw-ship-secret");
    let rev_url = with_user(&url, &format!("rev_{suffix}"), "pw-rev");
    let reps = ship_all(&p, &ship_url).unwrap();
    assert_eq!(reps[0].shipped, 31);
    let mut s = connect(&ship_url);
    for sql in [
        "UPDATE evident.records SET action = 'x' WHERE seq = 1",
        "DELETE FROM evident.records WHERE seq = 30",
        "TRUNCATE evident.records",
        "UPDATE evident.refusals SET reason = 'x'",
        "DROP TABLE evident.records",
    ] {
        let e = s.batch_execute(sql).unwrap_err();
        let code = e.code().map(|c| c.code().to_string());
        assert!(
            code.as_deref() == Some("42501") || code.as_deref() == Some("42P01"),
            "{sql}: {e:?}"
        );
    }
    let mut r = connect(&rev_url);
    let n: i64 = r
        .query_one("SELECT count(*) FROM evident.records", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 31);
    assert!(r
        .batch_execute("INSERT INTO evident.refusals (log_id, seq, reason) VALUES ('x', 1, 'y')")
        .is_err());
    assert!(pg::verify_db(&rev_url, &VerifyOptions::default()).unwrap()[0].valid);
    // The reviewer cannot ship.
    let e = ship_all(&p, &rev_url);
    assert!(e.is_ok_and(|r| r[0].shipped == 0));
    append(&p, 3, "later");
    let e = ship_all(&p, &rev_url).unwrap_err();
    assert!(matches!(e, Error::Database { .. }), "{e}");
    // No password in any error.
    assert!(!e.to_string().contains("pw-rev"), "{e}");
    let bad = with_user(&url, "nobody_here", "hunter2-secret");
    let e = ship_all(&p, &bad).unwrap_err();
    assert!(!e.to_string().contains("hunter2-secret"), "{e}");
    assert_eq!(count(&url, &id), (31, Some(30)));
}

#[test]
fn sigkill_the_shipper_50_times_nothing_missing_or_duplicated() {
    let Some(url) = fresh_db("sigkill") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let id = write_log(&p, 20_000, "h");
    let exe = env!("CARGO_BIN_EXE_evident");
    let mut seed = 0x2545F4914F6CDD1Du64 ^ u64::from(std::process::id());
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut killed_mid = 0;
    for round in 0..50 {
        append(&p, 1000, &format!("r{round}-"));
        let mut child = Command::new(exe)
            .args(["ship", p.to_str().unwrap(), "--to", &url, "--batch", "500"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rnd(400)));
        if child.try_wait().unwrap().is_none() {
            killed_mid += 1;
        }
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        // Whatever was committed is a gapless prefix.
        let (n, max) = count(&url, &id);
        assert_eq!(
            max.map_or(0, |m| m + 1),
            n,
            "round {round}: rows {n}, max seq {max:?}"
        );
    }
    let out = Command::new(exe)
        .args(["ship", p.to_str().unwrap(), "--to", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let total = 20_000 + 50 * 1000;
    assert_eq!(count(&url, &id), (total + 1, Some(total)));
    let r = pg::verify_db(&url, &VerifyOptions::default()).unwrap();
    assert!(r[0].valid && r[0].entries == total as u64);
    let cc = pg::cross_check(&p, &url).unwrap();
    assert_eq!(
        (cc.same, cc.first_difference, cc.only_local, cc.only_db),
        (total as u64 + 1, None, 0, 0)
    );
    eprintln!("{killed_mid} of 50 kills landed while the shipper ran");
    assert!(
        killed_mid >= 10,
        "only {killed_mid} kills hit a running shipper"
    );
}

#[test]
fn follow_ships_as_the_log_grows_and_across_rotation() {
    let Some(url) = fresh_db("follow") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let id1 = write_log(&p, 100, "h");
    let exe = env!("CARGO_BIN_EXE_evident");
    let mut child = Command::new(exe)
        .args(["ship", p.to_str().unwrap(), "--to", &url, "--follow"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let wait_for = |id: &str, n: i64| {
        let t = Instant::now();
        while count(&url, id).0 != n {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "{id}: {:?}, want {n}",
                count(&url, id)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(&id1, 101);
    append(&p, 50, "grow");
    wait_for(&id1, 151);
    // Rotation: the log is renamed, a new log takes its path.
    std::fs::rename(&p, dir.path().join("a.jsonl.1")).unwrap();
    let id2 = write_log(&p, 40, "h");
    wait_for(&id2, 41);
    append(&p, 10, "after");
    wait_for(&id2, 51);
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    assert!(pg::verify_db(&url, &VerifyOptions::default())
        .unwrap()
        .iter()
        .all(|r| r.valid));
}

#[test]
fn cli_reads_and_verifies_the_database() {
    let Some(url) = fresh_db("cli") else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let id = write_log(&p, 100, "hostA");
    let exe = env!("CARGO_BIN_EXE_evident");
    let run = |args: &[&str]| Command::new(exe).args(args).output().unwrap();
    let o = run(&["ship", p.to_str().unwrap(), "--to", &url]);
    assert!(o.status.success());
    let o = run(&["verify", &url]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("valid: 100 entries verified"), "{text}");
    assert!(text.contains(&id));
    let o = run(&[
        "tail", &url, "-n", "3", "--source", "tool2", "--host", "hostA", "--json",
    ]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines
        .iter()
        .all(|v| v["source"] == "tool2" && v["log_id"] == id.as_str()));
    assert!(lines[0]["seq"].as_u64() < lines[2]["seq"].as_u64());
    // Tampered: exit 1 with the first violation.
    tamper(
        &url,
        "UPDATE evident.records SET body = convert_to(replace(convert_from(body, 'UTF8'), 'run 9.bin', 'run 8.bin'), 'UTF8') WHERE seq = 10",
    );
    let o = run(&["verify", &format!("{url}?log_id={id}")]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("TAMPERED") && text.contains("seq 10"),
        "{text}"
    );
    // A password in the URL never shows.
    let bad = with_user(&url, "nobody_here", "hunter2-secret");
    let o = run(&["verify", &bad]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("hunter2") && err.contains("nobody_here@"),
        "{err}"
    );
}

#[test]
fn the_last_20_operations_of_a_tool_in_the_last_hour_use_an_index() {
    let Some(url) = fresh_db("index") else { return };
    let mut c = connect(&url);
    evident::pg::migrate(&Target::parse(&url).unwrap(), &mut c).unwrap();
    // A million rows (synthetic bodies: this measures the query, not verify).
    c.batch_execute(
        "INSERT INTO evident.records (log_id, seq, kind, body, hash, ts, event_type, action, actor, host, session_id, source)
         SELECT 'log' || (g % 10), g / 10 + 1, 'entry', '\\x7b7d'::bytea, '\\x00'::bytea,
                now() - (g || ' seconds')::interval * 3, 'ACTION', 'op' || (g % 50), 'u', 'host' || (g % 10), 's', 'tool' || (g % 40)
         FROM generate_series(0, 999999) g;
         ANALYZE evident.records;",
    )
    .unwrap();
    // The tool query has its own index; host has one; action (like event
    // type and actor; its index was dropped in schema version 2) is
    // answered from the ts index in time order.
    let hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    let newest = Query::default()
        .since(hour_ago)
        .order(evident::Order::NewestFirst)
        .limit(20);
    let mut by_tool = DbQuery::default();
    by_tool.q = newest.clone().source("tool7");
    let mut by_host = DbQuery::default();
    by_host.q = newest.clone();
    by_host.host = Some("host3".into());
    let mut by_action = DbQuery::default();
    by_action.q = newest.clone().action("op7");
    for (what, dq) in [
        ("tool7", &by_tool),
        ("host3", &by_host),
        ("op7", &by_action),
    ] {
        let (sql, params) = pg::query_sql(dq);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            params.iter().map(|p| p.as_ref()).collect();
        let plan: Vec<String> = c
            .query(&format!("EXPLAIN (ANALYZE, FORMAT TEXT) {sql}"), &refs)
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let plan = plan.join("\n");
        eprintln!("{plan}");
        assert!(plan.contains("Index Scan"), "{plan}");
        assert!(!plan.contains("Seq Scan"), "{plan}");
        let t = Instant::now();
        let rows = c.query(sql.as_str(), &refs).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        eprintln!("last 20 of {what} in the last hour over 1M rows: {ms:.1} ms");
        assert_eq!(rows.len(), 20);
        assert!(ms < 200.0, "{what}: {ms} ms");
    }
}

/// The C ABI's `evident_ship` and `evident_db_query` (called as C would:
/// NUL-terminated strings, a result to free, status codes, the message of
/// `evident_last_error`).
#[test]
fn c_abi_ship_and_query() {
    use evident::ffi::{self, evident_status};
    use std::ffi::{CStr, CString};
    let Some(url) = fresh_db("cabi") else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let id = write_log(&p, 50, "h");
    let cpath = CString::new(p.to_str().unwrap()).unwrap();
    let curl = CString::new(url.as_str()).unwrap();
    let opts = CString::new(r#"{"batch": 7}"#).unwrap();
    let take = |s: *mut std::ffi::c_char| {
        let v = unsafe { CStr::from_ptr(s) }.to_str().unwrap().to_string();
        ffi::evident_string_free(s);
        serde_json::from_str::<serde_json::Value>(&v).unwrap()
    };
    let mut out = std::ptr::null_mut();
    let st = ffi::pg::evident_ship(cpath.as_ptr(), curl.as_ptr(), opts.as_ptr(), &mut out);
    assert_eq!(st, evident_status::Ok);
    let rep = take(out);
    assert_eq!(rep[0]["log_id"], id.as_str());
    assert_eq!(
        (rep[0]["shipped"].as_u64(), rep[0]["head_seq"].as_u64()),
        (Some(51), Some(50))
    );
    let q = CString::new(r#"{"action": "op3", "newest_first": true, "limit": 2}"#).unwrap();
    let mut out = std::ptr::null_mut();
    let st = ffi::pg::evident_db_query(curl.as_ptr(), q.as_ptr(), &mut out);
    assert_eq!(st, evident_status::Ok);
    let rows = take(out);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .all(|r| r["action"] == "op3" && r["log_id"] == id.as_str()));
    assert!(rows[0]["seq"].as_u64() > rows[1]["seq"].as_u64());
    // A fork: status 16 REFUSED; an unreachable server: 15 DATABASE,
    // without the password.
    let text = std::fs::read_to_string(&p).unwrap();
    let prefix: String = text.lines().take(11).map(|l| format!("{l}\n")).collect();
    let fork = dir.path().join("fork.jsonl");
    std::fs::write(&fork, prefix).unwrap();
    append(&fork, 45, "forked");
    let cfork = CString::new(fork.to_str().unwrap()).unwrap();
    let mut out = std::ptr::null_mut();
    let st = ffi::pg::evident_ship(cfork.as_ptr(), curl.as_ptr(), std::ptr::null(), &mut out);
    assert_eq!(st, evident_status::Refused);
    assert!(out.is_null());
    let bad = CString::new("postgres://eve:pa55word-x@127.0.0.1:1/db").unwrap();
    let o = CString::new(r#"{"retry_for_ms": 0}"#).unwrap();
    let st = ffi::pg::evident_ship(cpath.as_ptr(), bad.as_ptr(), o.as_ptr(), &mut out);
    assert_eq!(st, evident_status::Database);
    let msg = unsafe { CStr::from_ptr(ffi::evident_last_error()) }
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        !msg.contains("pa55word-x") && msg.contains("127.0.0.1:1/db"),
        "{msg}"
    );
    // Unknown options are refused, not ignored.
    let o = CString::new(r#"{"batchsize": 5}"#).unwrap();
    let st = ffi::pg::evident_ship(cpath.as_ptr(), curl.as_ptr(), o.as_ptr(), &mut out);
    assert_eq!(st, evident_status::InvalidArgument);
}

/// `evident_db_verify` / `evident_db_cross_check`: the database's chain
/// checked from C, the same report as `evident verify postgres://…`; a
/// tampered row is a report (status OK), not an error.
#[test]
fn c_abi_db_verify_and_cross_check() {
    use evident::ffi::{self, evident_status};
    use std::ffi::{CStr, CString};
    let Some(url) = fresh_db("cabiverify") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let id = write_log(&p, 30, "h");
    ship_all(&p, &url).unwrap();
    let cpath = CString::new(p.to_str().unwrap()).unwrap();
    let curl = CString::new(url.as_str()).unwrap();
    let take = |s: *mut std::ffi::c_char| {
        let v = unsafe { CStr::from_ptr(s) }.to_str().unwrap().to_string();
        ffi::evident_string_free(s);
        serde_json::from_str::<serde_json::Value>(&v).unwrap()
    };
    let mut out = std::ptr::null_mut();
    let st = ffi::pg::evident_db_verify(curl.as_ptr(), std::ptr::null(), &mut out);
    assert_eq!(st, evident_status::Ok);
    let reps = take(out);
    assert_eq!(reps.as_array().unwrap().len(), 1);
    assert_eq!(reps[0]["valid"], true);
    assert_eq!(reps[0]["log_id"], id.as_str());
    assert_eq!(reps[0]["entries"], 30);
    let st = ffi::pg::evident_db_cross_check(cpath.as_ptr(), curl.as_ptr(), &mut out);
    assert_eq!(st, evident_status::Ok);
    let cc = take(out);
    assert_eq!(
        (
            cc["same"].as_u64(),
            cc["only_local"].as_u64(),
            cc["first_difference"].is_null()
        ),
        (Some(31), Some(0), true)
    );
    tamper(
        &url,
        "UPDATE evident.records SET body = convert_to(replace(convert_from(body, 'UTF8'), 'run 9.bin', 'run 8.bin'), 'UTF8') WHERE seq = 10",
    );
    let o = CString::new(r#"{"all": true}"#).unwrap();
    let st = ffi::pg::evident_db_verify(curl.as_ptr(), o.as_ptr(), &mut out);
    assert_eq!(st, evident_status::Ok);
    let reps = take(out);
    assert_eq!(reps[0]["valid"], false);
    assert_eq!(reps[0]["violations"][0]["kind"], "hash_mismatch");
    assert_eq!(reps[0]["violations"][0]["seq"], 10);
    let st = ffi::pg::evident_db_cross_check(cpath.as_ptr(), curl.as_ptr(), &mut out);
    assert_eq!(st, evident_status::Ok);
    assert_eq!(take(out)["first_difference"], 10);
    // Unknown options are refused; a bad server is DATABASE without the
    // password.
    let o = CString::new(r#"{"threads": 2}"#).unwrap();
    let st = ffi::pg::evident_db_verify(curl.as_ptr(), o.as_ptr(), &mut out);
    assert_eq!(st, evident_status::InvalidArgument);
    let bad = CString::new("postgres://eve:pa55word-y@127.0.0.1:1/db").unwrap();
    let st = ffi::pg::evident_db_verify(bad.as_ptr(), std::ptr::null(), &mut out);
    assert_eq!(st, evident_status::Database);
    let msg = unsafe { CStr::from_ptr(ffi::evident_last_error()) }
        .to_str()
        .unwrap()
        .to_string();
    assert!(!msg.contains("pa55word-y"), "{msg}");
}

/// `evident report postgres://…`: the same report as from the file, read
/// from the database with its filters.
#[test]
fn cli_report_reads_the_database() {
    let Some(url) = fresh_db("report") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    write_log(&p, 60, "hostA");
    let exe = env!("CARGO_BIN_EXE_evident");
    let run = |args: &[&str]| Command::new(exe).args(args).output().unwrap();
    assert!(run(&["ship", p.to_str().unwrap(), "--to", &url])
        .status
        .success());
    let (fdir, ddir) = (dir.path().join("f"), dir.path().join("d"));
    let mut texts = Vec::new();
    for (input, out) in [(p.to_str().unwrap(), &fdir), (url.as_str(), &ddir)] {
        let o = run(&[
            "report",
            input,
            "--source",
            "tool2",
            "--by",
            "tool",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let files: Vec<_> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        texts.push(std::fs::read_to_string(&files[0]).unwrap());
    }
    let d = &texts[1];
    assert!(d.contains("tool2") && !d.contains("tool3"), "{d}");
    // The database's chain is verified and shown, as the file's is.
    let log_id = evident::verify(&p, &VerifyOptions::default())
        .unwrap()
        .log_id
        .unwrap();
    let head = evident::verify(&p, &VerifyOptions::default())
        .unwrap()
        .head_hash
        .unwrap();
    assert!(
        texts[0].contains(&format!("verified, 60 entries, head 60:{head}")),
        "{}",
        texts[0]
    );
    assert!(
        d.contains(&format!(
            "?log_id={log_id}`: verified, 60 entries, head 60:{head}"
        )),
        "{d}"
    );
    assert!(!d.contains("hunter") && !d.contains("NOT VALID"), "{d}");
    // HTML: the verification section at the top names the database's log.
    let html = dir.path().join("r.html");
    let o = run(&[
        "report",
        &url,
        "--format",
        "html",
        "-o",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let h = std::fs::read_to_string(&html).unwrap();
    let top = &h[h.find("id=\"verification\"").unwrap()..h.find("class=\"cards\"").unwrap()];
    assert!(
        top.contains(&log_id) && top.contains("valid") && top.contains(&head),
        "{top}"
    );
    // A tampered row: the report says so.
    tamper(
        &url,
        "UPDATE evident.records SET body = convert_to(replace(convert_from(body, 'UTF8'), 'run 9.bin', 'run 8.bin'), 'UTF8') WHERE seq = 10",
    );
    // Written all the same, with a warning and exit 1 (a log that does not
    // verify, as for files).
    let o = run(&["report", &url, "-o", dir.path().join("t").to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let files: Vec<_> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let t = std::fs::read_to_string(&files[0]).unwrap();
    assert!(t.contains("NOT VALID") && t.contains("seq 10"), "{t}");
    // tool2 is every 5th entry: 12 of 60.
    assert!(d.contains("12"), "{d}");
    let o = run(&["report", p.to_str().unwrap(), &url, "-o", "x"]);
    assert!(!o.status.success());
}

/// `cat` and `tail` on a database take every filter they take on a file
/// (the seq range included) and give the same entries, in the same order.
#[test]
fn every_file_filter_works_on_the_database_and_gives_the_same_entries() {
    let Some(url) = fresh_db("filters") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let id = write_log(&p, 120, "hostA");
    let exe = env!("CARGO_BIN_EXE_evident");
    let run = |args: &[&str]| Command::new(exe).args(args).output().unwrap();
    assert!(run(&["ship", p.to_str().unwrap(), "--to", &url])
        .status
        .success());
    let seqs = |out: &std::process::Output| -> Vec<u64> {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["seq"].as_u64().unwrap()
            })
            .collect()
    };
    // A time inside the log: the ts of entry 40.
    let e40 = evident::query(&p, &Query::default().seq_min(40).seq_max(40))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let t40 = evident::format::format_ts(&e40.ts);
    let actor = e40.actor.clone();
    let cases: Vec<Vec<&str>> = vec![
        vec!["cat", "--seq-min", "10", "--seq-max", "19"],
        vec!["cat", "--seq-min", "100"],
        vec!["cat", "--seq-max", "5", "--newest-first"],
        vec!["cat", "--action", "op3", "--seq-min", "50", "--limit", "4"],
        vec![
            "cat",
            "--source",
            "tool2",
            "--session",
            "s1",
            "--newest-first",
        ],
        vec![
            "cat",
            "--event-type",
            "ACTION_EXECUTED",
            "--actor",
            &actor,
            "--seq-max",
            "30",
        ],
        vec!["cat", "--since", &t40, "--seq-max", "60"],
        vec!["cat", "--until", &t40, "--seq-min", "30"],
        vec!["tail", "-n", "7", "--seq-max", "90", "--source", "tool1"],
    ];
    for case in &cases {
        let (cmd, rest) = case.split_first().unwrap();
        let mut on_file = vec![*cmd, p.to_str().unwrap(), "--json"];
        on_file.extend_from_slice(rest);
        let mut on_db = vec![*cmd, url.as_str(), "--json"];
        on_db.extend_from_slice(rest);
        let (f, d) = (seqs(&run(&on_file)), seqs(&run(&on_db)));
        assert!(!f.is_empty(), "{case:?}");
        assert_eq!(f, d, "{case:?}");
    }
    // The seq range also from the library, up to the largest u64.
    let t = Target::parse(&url).unwrap();
    let mut q = DbQuery::default();
    q.q = Query::default().seq_min(118).seq_max(u64::MAX);
    let got: Vec<u64> = pg::query_db(&t, &q)
        .unwrap()
        .iter()
        .map(|e| e.entry.seq)
        .collect();
    assert_eq!(got, [118, 119, 120]);
    q.q = Query::default().seq_min(u64::MAX).seq_max(u64::MAX);
    assert!(pg::query_db(&t, &q).unwrap().is_empty());
    // SQL in a seq filter is not a number: refused before any query.
    for evil in ["1; DROP TABLE evident.records", "1 OR 1=1", "-1", "1e3"] {
        let o = run(&["cat", &url, "--seq-min", evil]);
        assert_eq!(o.status.code(), Some(2), "{evil}");
        assert!(o.stdout.is_empty());
    }
    assert_eq!(count(&url, &id), (121, Some(120)));
    // What a database command cannot do is refused, not ignored.
    let o = run(&["cat", &url, p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["tail", "-f", &url]);
    assert_eq!(o.status.code(), Some(2));
}

/// A version 1 database (five secondary indexes, locale collation) is
/// brought to version 2 by the next shipper: rows kept, the action index
/// gone, text columns compared as bytes.
#[test]
fn migration_2_upgrades_a_version_1_database_in_place() {
    let Some(url) = fresh_db("migrate") else {
        return;
    };
    let mut c = connect(&url);
    let (v1, v2) = (pg::MIGRATIONS[0].1, pg::MIGRATIONS[1].1);
    c.batch_execute(
        "CREATE SCHEMA evident;
         CREATE TABLE evident.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO evident.schema_migrations (version) VALUES (1);",
    )
    .unwrap();
    c.batch_execute(v1).unwrap();
    assert!(v2.contains("COLLATE \"C\""));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let id = write_log(&p, 30, "h");
    // Rows shipped under version 1 (the schema is current for it).
    c.batch_execute(
        "INSERT INTO evident.records (log_id, seq, kind, body, hash) VALUES ('old-log', 0, 'genesis', '\\x7b7d', '\\x00')",
    )
    .unwrap();
    let t = Target::parse(&url).unwrap();
    assert_eq!(pg::schema_version(&t, &mut c).unwrap(), 1);
    let rep = ship_all(&p, &url).unwrap();
    assert_eq!(rep[0].shipped, 31);
    assert_eq!(
        pg::schema_version(&t, &mut c).unwrap(),
        pg::MIGRATIONS.len() as i32
    );
    let idx: Vec<String> = c
        .query(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'evident' AND tablename = 'records' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        idx,
        [
            "records_host_ts",
            "records_pkey",
            "records_session_ts",
            "records_source_ts",
            "records_ts"
        ]
    );
    let coll: String = c
        .query_one(
            "SELECT collation_name FROM information_schema.columns WHERE table_schema = 'evident' AND table_name = 'records' AND column_name = 'source'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(coll, "C");
    assert_eq!(count(&url, "old-log"), (1, Some(0)));
    conformance(&p, &url, &id);
}

/// A database verify right after a shipment (before autovacuum's ANALYZE
/// has given the table statistics) reads each log in primary-key order
/// page by page. With the planner's default estimate it sorted every
/// remaining row of the log for each page (a bitmap scan and an external
/// merge sort on disk), which made a whole-log read quadratic; the server's
/// temporary-file counter shows whether any sort spilled.
#[test]
fn database_verify_right_after_shipping_reads_in_key_order_without_sorting() {
    let Some(url) = fresh_db("keyorder") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.jsonl");
    write_log(&p, 40_000, "hostk");
    ship_all(&p, &url).unwrap();
    let mut c = connect(&url);
    let analyzed: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'records' \
             AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)",
            &[],
        )
        .unwrap()
        .get(0);
    let temp_bytes = |c: &mut postgres::Client| -> i64 {
        // Counters of this backend reach the shared statistics at the end
        // of its transactions; other backends' (the verifier's) when they
        // end or go idle: poll briefly for the settled value.
        c.query_one(
            "SELECT coalesce(temp_bytes, 0) FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .unwrap()
        .get(0)
    };
    let before = temp_bytes(&mut c);
    let reports = pg::verify_db(&url, &VerifyOptions::default()).unwrap();
    assert_eq!(reports.len(), 1);
    assert!(reports[0].valid, "{:?}", reports[0]);
    assert_eq!(reports[0].entries, 40_000);
    std::thread::sleep(Duration::from_millis(1500));
    let after = temp_bytes(&mut c);
    assert_eq!(
        after - before,
        0,
        "verify made the server write {} bytes of temporary files (a sort of the \
         log per page; table analyzed before: {analyzed})",
        after - before
    );
}

/// RTGS Lab Tools' `audit_logs` table (seed 002's documented columns) is a
/// view over the shipped RTGS operations, row for row what `recent_logs`
/// returns (`compat::rtgs_record`); other entries are not in it, and the
/// reviewer role may read it.
#[test]
fn rtgs_audit_logs_view_has_the_documented_columns_and_the_compat_values() {
    let Some(url) = fresh_db("rtgs_view") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("rtgs.jsonl");
    let log = evident::Log::open(&p, evident::OpenOptions::new()).unwrap();
    let mut ok = evident::Event::new("tool_operation", "get-data")
        .source("sensing-data")
        .actor("alice")
        .details(serde_json::json!({
            "operation_id": "op-1", "git_branch": "main",
            "parameters": {"project": "Winter Turf", "node_id": [1, 2]},
            "results": {"records_extracted": 15420}}));
    ok.success = Some(true);
    ok.duration_ms = Some(45_700.0);
    ok.git_commit = Some("abc123".into());
    ok.note = Some("Monthly analysis".into());
    log.append(&ok).unwrap();
    // Not an RTGS operation: not in the view.
    log.append(&evident::Event::new("ACTION_EXECUTED", "other"))
        .unwrap();
    let mut failed = evident::Event::new("tool_operation", "analyze").source("gems");
    failed.error = Some("boom".into());
    log.append(&failed).unwrap();
    let id = log.genesis().log_id.clone();
    log.close().unwrap();
    ship_all(&p, &url).unwrap();

    let mut c = connect(&url);
    let cols: Vec<String> = c
        .query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'evident' AND table_name = 'audit_logs' ORDER BY ordinal_position",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let documented = [
        "id",
        "timestamp",
        "operation_id",
        "tool_name",
        "operation",
        "user_name",
        "git_branch",
        "git_commit_hash",
        "parameters",
        "results",
        "duration_seconds",
        "success",
        "error_message",
        "note",
    ];
    assert_eq!(&cols[..documented.len()], documented);

    let rows = c
        .query(
            "SELECT row_to_json(a)::text FROM evident.audit_logs a ORDER BY seq",
            &[],
        )
        .unwrap();
    let got: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::from_str(&r.get::<_, String>(0)).unwrap())
        .collect();
    let entries: Vec<evident::Entry> = evident::query(&p, &Query::default())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.event_type == "tool_operation")
        .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    for (row, e) in got.iter().zip(&entries) {
        let want = evident::compat::rtgs_record(e);
        assert_eq!(row["id"], format!("{id}/{}", e.seq));
        for (col, key) in [
            ("operation_id", "operation_id"),
            ("tool_name", "tool_name"),
            ("operation", "operation"),
            ("user_name", "user"),
            ("git_branch", "git_branch"),
            ("git_commit_hash", "git_commit"),
            ("parameters", "parameters"),
            ("results", "results"),
            ("success", "success"),
            ("error_message", "error_message"),
        ] {
            assert_eq!(row[col], want[key], "{col} of seq {}", e.seq);
        }
        assert_eq!(
            row["duration_seconds"].as_f64(),
            want["duration_seconds"].as_f64()
        );
        // RTGS's note is "" when none in the dicts; NULL in its table.
        let note = want["note"].as_str().filter(|s| !s.is_empty());
        assert_eq!(row["note"].as_str(), note);
        let ts = chrono::DateTime::parse_from_rfc3339(row["timestamp"].as_str().unwrap()).unwrap();
        assert_eq!(ts, e.ts);
    }
    assert_eq!(got[0]["success"], true);
    assert_eq!(got[0]["duration_seconds"], 45.7);
    assert_eq!(got[1]["success"], false);
    assert_eq!(got[1]["error_message"], "boom");
    assert_eq!(got[1]["parameters"], serde_json::json!({}));
    assert_eq!(got[1]["operation_id"], got[1]["seq"].to_string());

    // The reviewer role reads the view.
    let reader = format!("rtgs_view_{}", std::process::id());
    c.batch_execute(&format!(
        "CREATE ROLE {reader} LOGIN PASSWORD 'r' IN ROLE evident_reviewer;"
    ))
    .unwrap();
    let mut r = connect(&with_user(&url, &reader, "r"));
    let n: i64 = r
        .query_one("SELECT count(*) FROM evident.audit_logs", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
}

#[test]
fn a_keyed_log_shipped_without_its_key_says_its_hashes_were_not_checked() {
    let Some(url) = fresh_db("shipkeyed") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.jsonl");
    let key = evident::Key::new(vec![7; 32]).unwrap();
    let l = evident::Log::open(&p, evident::OpenOptions::new().key(key.clone())).unwrap();
    l.append(&evident::Event::new("T", "a")).unwrap();
    l.close().unwrap();
    let reps = ship_all(&p, &url).unwrap();
    assert!(!reps[0].hashes_checked, "{reps:?}");
    let mut o = ShipOptions::default();
    o.key = Some(key);
    let reps = pg::ship(&p, &url, &o).unwrap();
    assert!(reps[0].hashes_checked, "{reps:?}");
}

/// One log's entries come back from the database in its file's order, as
/// a query of the file gives them, also when their times are out of order
/// (entries appended with an explicit `ts`, as imports do): before, the
/// database ordered them by time, so `cat` and `--limit` differed.
#[test]
fn one_logs_entries_come_back_in_file_order() {
    let Some(url) = fresh_db("order") else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let log = evident::Log::open(&p, evident::OpenOptions::new()).unwrap();
    let base = chrono::Utc::now() - chrono::Duration::hours(1);
    for (i, minutes) in [(1, 20), (2, 10), (3, 30)] {
        let mut ev = evident::Event::new("IMPORT", format!("op{i}"));
        ev.ts = Some(base + chrono::Duration::minutes(minutes));
        log.append(&ev).unwrap();
    }
    let id = log.genesis().log_id.clone();
    log.close().unwrap();
    ship_all(&p, &url).unwrap();
    let t = Target::parse(&format!("{url}?log_id={id}")).unwrap();
    for (order, limit) in [
        (evident::Order::OldestFirst, None),
        (evident::Order::NewestFirst, None),
        (evident::Order::OldestFirst, Some(1)),
        (evident::Order::NewestFirst, Some(2)),
    ] {
        let mut q = Query::default().order(order);
        q.limit = limit;
        let file: Vec<u64> = evident::query(&p, &q)
            .unwrap()
            .map(|e| e.unwrap().seq)
            .collect();
        let mut dq = DbQuery::default();
        dq.q = q;
        let db: Vec<u64> = pg::query_db(&t, &dq)
            .unwrap()
            .iter()
            .map(|e| e.entry.seq)
            .collect();
        assert_eq!(db, file, "{order:?} {limit:?}");
    }
}

/// Rows moved to another log id in the database (two logs' ids swapped,
/// triggers disabled by the owner): each log id then holds the genesis of
/// another log. Before, verify called both valid; now `wrong_log_id`.
#[test]
fn rows_under_another_log_id_are_found() {
    let Some(url) = fresh_db("swapid") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let (ia, ib) = (write_log(&a, 5, "h"), write_log(&b, 5, "h"));
    ship_all(&a, &url).unwrap();
    ship_all(&b, &url).unwrap();
    assert!(pg::verify_db(&url, &VerifyOptions::default())
        .unwrap()
        .iter()
        .all(|r| r.valid));
    let mut c = connect(&url);
    c.batch_execute(&format!(
        "SET session_replication_role = replica;
         UPDATE evident.records SET log_id = 'tmp' WHERE log_id = '{ia}';
         UPDATE evident.records SET log_id = '{ia}' WHERE log_id = '{ib}';
         UPDATE evident.records SET log_id = '{ib}' WHERE log_id = 'tmp';"
    ))
    .unwrap();
    let reps = pg::verify_db(&url, &VerifyOptions::default()).unwrap();
    assert_eq!(reps.len(), 2);
    for r in &reps {
        assert!(!r.valid, "{r:?}");
        assert!(
            r.violations
                .iter()
                .any(|v| v.kind == ViolationKind::WrongLogId),
            "{r:?}"
        );
    }
}

/// Appends one entry given as event JSON through the C ABI (the path that
/// keeps the details' exact text).
fn append_json_entries(path: &Path, events: &[&str]) -> String {
    use evident::ffi;
    use std::ffi::CString;
    let cpath = CString::new(path.to_str().unwrap()).unwrap();
    let mut log = std::ptr::null_mut();
    assert_eq!(
        ffi::log::evident_log_open(cpath.as_ptr(), std::ptr::null(), &mut log),
        ffi::evident_status::Ok
    );
    for ev in events {
        let c = CString::new(*ev).unwrap();
        assert_eq!(
            ffi::log::evident_log_append_json(log, c.as_ptr(), std::ptr::null_mut()),
            ffi::evident_status::Ok,
            "{ev}"
        );
    }
    assert_eq!(ffi::log::evident_log_close(log), ffi::evident_status::Ok);
    ffi::log::evident_log_free(log);
    let text = std::fs::read_to_string(path).unwrap();
    let g: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    g["log_id"].as_str().unwrap().to_string()
}

/// The typed columns are what queries, filters, statistics and the RTGS
/// `audit_logs` view show, so they must say what the hashed body says. A
/// row whose `success`, `source`, `details`, `ts`, ... was changed in the
/// database (body and hash untouched) is found by verify, which names the
/// seq and the column. Before, verify checked only body and hash and
/// called such a database valid. The columns as shipped (jsonb's own
/// spelling of numbers, keys and escapes; NUL replaced; times to the
/// microsecond) are not findings.
#[test]
fn a_changed_query_column_is_found_by_verify() {
    let Some(url) = fresh_db("columns") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    let deep_ev = format!(r#"{{"event_type":"E","action":"deep","details":{{"d":{deep}}}}}"#);
    let mut events = vec![
        r#"{"event_type":"E","action":"a1","source":"s","success":true,"duration_ms":1.5,"details":{"n":1e2,"m":1.50,"z":-0,"big":12345678901234567890,"huge":123456789012345678901234,"f":0.1,"s":"caf\u00e9 \"q\"","d":{"b":1,"a":2},"arr":[1,2.0,{"x":null}]}}"#,
        r#"{"event_type":"E","action":"nul\u0000here","host":"h","details":{"t":"x\u0000y"}}"#,
        r#"{"event_type":"E","action":"a3","details":{"k":1,"k":2}}"#,
        r#"{"event_type":"E","action":"a4","ts":"2026-01-02T03:04:05.123456789Z","success":false}"#,
        &deep_ev,
    ];
    let plain: Vec<String> = (6..=14)
        .map(|i| {
            format!(
                r#"{{"event_type":"E","action":"op{i}","actor":"u","host":"h","session_id":"s1","source":"tool","success":true,"duration_ms":2.25,"details":{{"i":{i},"x":[1,2]}}}}"#
            )
        })
        .collect();
    events.extend(plain.iter().map(String::as_str));
    let id = append_json_entries(&p, &events);
    ship_all(&p, &url).unwrap();
    conformance(&p, &url, &id);
    let all = VerifyOptions::default().all(true);
    let r = pg::verify_db(&url, &all).unwrap();
    assert!(r[0].valid, "{:?}", r[0].violations);
    // Each changed column on its own row (the body and hash untouched).
    let changes = [
        (6, "success", "success = false"),
        (7, "source", "source = 'other'"),
        (8, "details", "details = '{\"i\": 8, \"x\": [1, 3]}'"),
        (9, "ts", "ts = ts + interval '1 microsecond'"),
        (10, "action", "action = 'rm -rf'"),
        (11, "duration_ms", "duration_ms = 2.5"),
        (12, "actor", "actor = NULL"),
        (13, "kind", "kind = 'other'"),
        (
            1,
            "details",
            "details = jsonb_set(details, '{huge}', '123456789012345678901235')",
        ),
        (5, "details", "details = '[1]'"),
        (14, "host", "host = 'h2'"),
        (0, "ts", "ts = 'infinity'"),
    ];
    let sql: Vec<String> = changes
        .iter()
        .map(|(seq, _, set)| format!("UPDATE evident.records SET {set} WHERE seq = {seq}"))
        .collect();
    tamper(&url, &sql.join("; "));
    let r = pg::verify_db(&url, &all).unwrap();
    let r = &r[0];
    assert!(!r.valid);
    let found: Vec<(Option<u64>, String)> = r
        .violations
        .iter()
        .map(|v| (v.seq, v.message.clone()))
        .collect();
    for (seq, column, _) in changes {
        assert!(
            found
                .iter()
                .any(|(s, m)| *s == Some(seq) && m.contains(&format!("column `{column}`"))),
            "seq {seq} {column}: {found:#?}"
        );
    }
    assert_eq!(r.violations_total, changes.len() as u64, "{found:#?}");
    // The chain itself is intact: the entries and head are the file's.
    assert_eq!(r.head_seq, 14);
}

/// `evident cat postgres://…` reads the database page by page (10 000
/// rows a round trip, one snapshot) instead of holding every entry in
/// memory: the entries across page boundaries come in the file's order,
/// none lost or repeated, with and without a log id.
#[test]
fn cat_of_a_database_streams_every_entry_in_order_across_pages() {
    let Some(url) = fresh_db("catpages") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let n = 25_000;
    let id = write_log(&p, n, "h");
    ship_all(&p, &url).unwrap();
    let exe = env!("CARGO_BIN_EXE_evident");
    for u in [url.clone(), format!("{url}?log_id={id}")] {
        let o = Command::new(exe)
            .args(["cat", "--json", &u])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let seqs: Vec<u64> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(seqs, (1..=n as u64).collect::<Vec<_>>(), "{u}");
    }
    // A reader that stops early (a closed pipe) ends the read.
    let mut child = Command::new(exe)
        .args(["cat", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(first.contains("op0"), "{first}");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "cat went on after its reader left"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
