//! `evident ship` and the database forms of verify, cat, tail and stats
//! (`evident verify postgres://…?log_id=…`).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use evident::pg::{self, DbQuery, Target};
use evident::{Error, Order, Query, VerifyOptions};
use serde_json::json;

use crate::check::print_report;
use crate::read::to_query;
use crate::util::{human_entry, load_key, stdout_err, Failure, EXIT_ERROR, EXIT_FAILED};
use crate::{Cmd, KeyArg};

#[derive(Args, Debug)]
pub struct ShipArgs {
    /// The log files to ship.
    #[arg(required = true)]
    pub logs: Vec<PathBuf>,
    /// The database: postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…]
    /// (the password is never printed; PGPASSWORD-style environment
    /// variables are not read).
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Keep shipping as the logs grow, and across rotation, until killed.
    #[arg(long)]
    pub follow: bool,
    /// Records per transaction.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub batch: usize,
    /// Do not ship: compare each log with its database copy record by
    /// record (exit 1 when they differ).
    #[arg(long, conflicts_with = "follow")]
    pub check_only: bool,
    #[command(flatten)]
    pub key: KeyArg,
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

fn db_failure(target: &str, e: Error) -> Failure {
    let code = match e {
        Error::Refused { .. } | Error::Corrupt { .. } | Error::Malformed { .. } => EXIT_FAILED,
        _ => EXIT_ERROR,
    };
    let msg = e.to_string();
    Failure {
        code,
        msg: if msg.starts_with(target) || msg.starts_with('/') {
            msg
        } else {
            format!("{target}: {msg}")
        },
    }
}

fn target(url: &str) -> Result<Target, Failure> {
    Target::parse(url).map_err(|e| db_failure("database", e))
}

pub fn ship(a: ShipArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let t = target(&a.to)?;
    let name = t.redacted().to_string();
    if a.check_only {
        let mut code = 0;
        for log in &a.logs {
            let cc = pg::cross_check(log, &a.to).map_err(|e| db_failure(&name, e))?;
            let same = cc.first_difference.is_none() && cc.only_db == 0;
            if !same {
                code = EXIT_FAILED;
            }
            if a.json {
                writeln!(out, "{}", json!({"log": log, "result": cc, "same": same}))
                    .map_err(stdout_err)?;
            } else {
                writeln!(
                    out,
                    "{}: log {}: {} records identical in the database{}{}{}",
                    log.display(),
                    cc.log_id,
                    cc.same,
                    cc.first_difference
                        .map(|s| format!("; DIFFERS from entry {s} on"))
                        .unwrap_or_default(),
                    if cc.only_local > 0 {
                        format!("; {} not shipped yet", cc.only_local)
                    } else {
                        String::new()
                    },
                    if cc.only_db > 0 {
                        format!("; {} only in the database", cc.only_db)
                    } else {
                        String::new()
                    },
                )
                .map_err(stdout_err)?;
            }
        }
        return Ok(code);
    }
    let mut opts = pg::ShipOptions::default();
    opts.key = load_key(a.key.key_file.as_deref())?;
    if opts.key.is_none() {
        // Shipping a keyed log needs no key (a shipper need not hold it),
        // but then only links and seqs are checked: said, never silent.
        for log in &a.logs {
            if evident::inspect(log).is_ok_and(|i| i.genesis.alg.is_keyed()) {
                stderr_line!(
                    "{}",
                    crate::output::renamed(format!(
                        "evident: {}: note: a keyed log shipped without --key-file: links and seqs checked, not the hashes (verify the database copy with the key)",
                        crate::util::shown(log)
                    ))
                );
            }
        }
    }
    opts.batch = a.batch.max(1);
    opts.follow = a.follow;
    let started = std::time::Instant::now();
    let results: Vec<(PathBuf, evident::Result<Vec<pg::ShipReport>>)> =
        if a.follow && a.logs.len() > 1 {
            std::thread::scope(|s| {
                // A thread the OS refuses is that log's error, not a panic.
                let handles: Vec<_> = a
                    .logs
                    .iter()
                    .map(|log| {
                        let (t, opts) = (&t, &opts);
                        let h = std::thread::Builder::new()
                            .name("evident-ship".into())
                            .spawn_scoped(s, move || pg::ship::ship_to(log, t, opts))
                            .map_err(|source| Error::Io {
                                path: log.clone(),
                                op: "start a shipping thread",
                                source,
                            });
                        (log.clone(), h)
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|(log, h)| {
                        let r = h.and_then(|h| {
                            h.join().unwrap_or_else(|_| {
                                Err(Error::InvalidArgument("shipper thread failed".into()))
                            })
                        });
                        (log, r)
                    })
                    .collect()
            })
        } else {
            a.logs
                .iter()
                .map(|log| (log.clone(), pg::ship::ship_to(log, &t, &opts)))
                .collect()
        };
    let secs = started.elapsed().as_secs_f64();
    let mut code = 0;
    let mut first_err = None;
    for (log, r) in results {
        match r {
            Ok(reps) => {
                for rep in reps {
                    if a.json {
                        writeln!(
                            out,
                            "{}",
                            json!({"log": log, "report": rep, "seconds": secs})
                        )
                        .map_err(stdout_err)?;
                    } else {
                        writeln!(
                            out,
                            "{}: log {}: shipped {}, {} already there; database head {}",
                            log.display(),
                            rep.log_id,
                            rep.shipped,
                            rep.already,
                            rep.head_seq
                        )
                        .map_err(stdout_err)?;
                    }
                }
            }
            Err(e) => {
                let f = db_failure(&name, e);
                code = code.max(f.code);
                stderr_line!("evident: {}", crate::util::one_line(&f.msg));
                first_err.get_or_insert(f);
            }
        }
    }
    if code != 0 {
        return Err(Failure::quiet(code));
    }
    Ok(0)
}

/// Runs verify, cat, tail or stats on a database when the log argument is
/// a postgres:// URL; `None` for any other command line.
pub fn database_command(cmd: &Cmd, out: &mut dyn Write) -> Option<Result<u8, Failure>> {
    let url = |p: &Path| p.to_str().filter(|s| pg::is_url(s)).map(str::to_string);
    let file_host = match cmd {
        Cmd::Cat(a) => url(&a.log).is_none() && a.filters.host.is_some(),
        Cmd::Tail(a) => url(&a.log).is_none() && a.filters.host.is_some(),
        Cmd::Stats(a) => url(&a.log).is_none() && a.filters.host.is_some(),
        Cmd::Export(a) => a.filters.host.is_some(),
        _ => false,
    };
    if file_host {
        return Some(Err(Failure::usage(
            "--host filters a database (postgres:// URL); a log file holds one host's entries",
        )));
    }
    // What a database command cannot do: say so rather than ignore it.
    let (db, more, follow) = match cmd {
        Cmd::Cat(a) => (url(&a.log).is_some(), !a.more.is_empty(), false),
        Cmd::Tail(a) => (url(&a.log).is_some(), !a.more.is_empty(), a.follow.follow),
        Cmd::Stats(a) => (url(&a.log).is_some(), !a.more.is_empty(), false),
        _ => (false, false, false),
    };
    if db && more {
        return Some(Err(Failure::usage(
            "one database URL per command (it already reads every log in the database; ?log_id=ID for one)",
        )));
    }
    if db && follow {
        return Some(Err(Failure::usage(
            "tail -f follows a log file, not a database",
        )));
    }
    Some(match cmd {
        Cmd::Verify(a) => {
            let u = url(&a.log)?;
            verify(&u, a, out)
        }
        Cmd::Cat(a) => {
            let u = url(&a.log)?;
            let mut q = to_query(&a.filters).order(if a.newest_first {
                Order::NewestFirst
            } else {
                Order::OldestFirst
            });
            q.limit = a.limit;
            entries(&u, q, a.filters.host.clone(), false, a.json, out)
        }
        Cmd::Tail(a) => {
            let u = url(&a.log)?;
            let q = to_query(&a.filters).order(Order::NewestFirst).limit(a.n);
            entries(&u, q, a.filters.host.clone(), true, a.json, out)
        }
        Cmd::Stats(a) => {
            let u = url(&a.log)?;
            stats(
                &u,
                to_query(&a.filters),
                a.filters.host.clone(),
                a.json,
                out,
            )
        }
        other => {
            let (p, name) = other.log()?;
            url(p)?;
            Err(Failure::usage(format!(
                "{name} works on files only; a database URL is read by verify, cat, tail and stats"
            )))
        }
    })
}

fn verify(url: &str, a: &crate::VerifyArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let t = target(url)?;
    let name = t.redacted().to_string();
    let mut opts = VerifyOptions::default().key(load_key(a.key.key_file.as_deref())?);
    opts.expected_head = a.expect_head;
    opts.expected_log_id = a.expect_log_id.clone();
    opts.all = a.all;
    opts.threads = 1;
    opts.progress = None;
    let reports = pg::verify_db(url, &opts).map_err(|e| db_failure(&name, e))?;
    if reports.is_empty() {
        return Err(Failure::failed(
            Path::new(&name),
            "no log in the database (nothing shipped, or no such log id)",
        ));
    }
    let mut code = 0;
    for r in &reports {
        if !r.valid {
            code = EXIT_FAILED;
        }
        if a.json {
            writeln!(out, "{}", r.to_json()).map_err(stdout_err)?;
        } else {
            print_report(&r.path, r, a.all, out).map_err(stdout_err)?;
        }
    }
    Ok(code)
}

fn entries(
    url: &str,
    q: Query,
    host: Option<String>,
    chronological: bool,
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, Failure> {
    let t = target(url)?;
    let name = t.redacted().to_string();
    let mut dq = DbQuery::default();
    dq.q = q;
    dq.host = host;
    dq.log_id = None;
    let print = |out: &mut dyn Write, e: &pg::DbEntry| -> Result<(), Failure> {
        if json {
            serde_json::to_writer(&mut *out, e).map_err(|e| stdout_err(e.into()))?;
            writeln!(out).map_err(stdout_err)
        } else {
            writeln!(out, "{}", human_entry(&e.entry)).map_err(stdout_err)
        }
    };
    if chronological {
        // The newest N (tail: always a limit) come first; shown oldest
        // first.
        let mut list = pg::query_db(&t, &dq).map_err(|e| db_failure(&name, e))?;
        list.reverse();
        for e in &list {
            print(out, e)?;
        }
    } else {
        // Streamed: a whole database is never in memory at once. A failed
        // write to stdout stops the read.
        let mut failed = None;
        let r = pg::for_each_db_entry(&t, &dq, |e| {
            print(out, &e).map_err(|f| {
                failed = Some(f);
                evident::Error::InvalidArgument("stdout".into())
            })
        });
        if let Some(f) = failed {
            return Err(f);
        }
        r.map_err(|e| db_failure(&name, e))?;
    }
    if !json {
        stderr_line!(
            "evident: {name}: note: hashes are not checked; run `evident verify` for that"
        );
    }
    Ok(0)
}

fn stats(
    url: &str,
    q: Query,
    host: Option<String>,
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, Failure> {
    let t = target(url)?;
    let name = t.redacted().to_string();
    let mut dq = DbQuery::default();
    dq.q = q;
    dq.host = host;
    dq.log_id = None;
    let s = pg::stats_db(&t, &dq).map_err(|e| db_failure(&name, e))?;
    if json {
        let text = serde_json::to_string_pretty(&s).map_err(|e| Failure::usage(e.to_string()))?;
        writeln!(out, "{text}").map_err(stdout_err)?;
        return Ok(0);
    }
    let w = |out: &mut dyn Write| -> std::io::Result<()> {
        writeln!(out, "database: {name}")?;
        writeln!(out, "logs:     {}", s.logs)?;
        writeln!(out, "entries:  {}", s.entries)?;
        if let (Some(a), Some(b)) = (s.first_ts, s.last_ts) {
            writeln!(
                out,
                "time:     {} .. {}",
                evident::format::format_ts(&a),
                evident::format::format_ts(&b)
            )?;
        }
        writeln!(
            out,
            "outcomes: {} success, {} failure",
            s.success, s.failure
        )?;
        for (title, list) in [
            ("by event type", &s.by_event_type),
            ("by action", &s.by_action),
            ("by actor", &s.by_actor),
            ("by host", &s.by_host),
            ("by source", &s.by_source),
        ] {
            writeln!(out, "{title}:")?;
            for (k, n) in list.iter().take(20) {
                writeln!(out, "  {n:>10}  {k}")?;
            }
        }
        writeln!(
            out,
            "(hashes are not checked; run `evident verify {name}` for that)"
        )
    };
    w(out).map_err(stdout_err)?;
    Ok(0)
}
