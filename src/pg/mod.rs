//! PostgreSQL store: ship logs into one database, verify and query them
//! there (feature `postgres`, on by default).
//!
//! The local log file stays the source of truth; the database holds copies
//! of its records, keyed by (log id, seq), with the exact hashed bytes
//! (`body`, `hash`) and typed columns for queries. Schema and roles are in
//! `sql/` (versioned migrations, applied by [`migrate`]); see
//! `docs/postgres.md`. Connection strings and passwords never appear in
//! errors: every message names the database by [`Target::redacted`].

use std::path::{Path, PathBuf};

use postgres::config::SslMode;
use postgres::{Client, Config};

use crate::error::{Error, Result};

mod columns;
mod query;
pub mod ship;
mod source;
mod tls;

pub use query::{for_each_db_entry, query_db, query_sql, stats_db, DbEntry, DbQuery, DbStats};
pub use ship::{ship, ShipOptions, ShipReport};
pub use source::{cross_check, verify_db, CrossCheck, DbSource};

/// The migrations, in order: (version, SQL).
pub const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../sql/0001_evident.sql")),
    (2, include_str!("../../sql/0002_lean_indexes.sql")),
    (3, include_str!("../../sql/0003_rtgs_audit_logs.sql")),
    (4, include_str!("../../sql/0004_refusals_no_truncate.sql")),
];

/// A database to ship to or read from, parsed from a `postgres://` or
/// `postgresql://` URL. The URL's own parameter `log_id` (one log) and the
/// TLS parameters `sslmode` and `sslrootcert`, which follow libpq's rules
/// (see `docs/postgres.md`), are taken off before the rest is handed to the
/// driver.
#[derive(Clone)]
pub struct Target {
    config: Config,
    tls: tls::Policy,
    /// `log_id=` in the URL.
    pub log_id: Option<String>,
    redacted: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

/// Whether `s` names a PostgreSQL database (a `postgres://` or
/// `postgresql://` URL) rather than a file.
pub fn is_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

impl Target {
    /// Parses a URL. Errors never repeat the URL (it may hold a password).
    pub fn parse(url: &str) -> Result<Target> {
        if !is_url(url) {
            return Err(Error::InvalidArgument(
                "a database URL starts with postgres:// or postgresql://".into(),
            ));
        }
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (url, None),
        };
        let mut log_id = None;
        let (mut sslmode, mut sslrootcert) = (None, None);
        let mut kept = Vec::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if k == "sslmode" {
                sslmode = Some(percent_decode(v, false));
            } else if k == "sslrootcert" {
                sslrootcert = Some(percent_decode(v, false));
            } else if k == "log_id" {
                let v = percent_decode(v, true);
                if v.is_empty() || v.chars().any(char::is_control) {
                    return Err(Error::InvalidArgument(
                        "log_id= is empty or holds control characters".into(),
                    ));
                }
                log_id = Some(v);
            } else if k == "host" && v.contains(',') {
                // libpq: `host=` is a comma-separated list (the driver
                // takes the whole value as one host, a socket directory
                // `/a,b` when it starts with `/`).
                kept.extend(v.split(',').map(|h| format!("host={h}")));
            } else {
                kept.push(pair.to_string());
            }
        }
        let driver_url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let redacted = redact(url, log_id.as_deref());
        let invalid = |msg: String| Error::Database {
            target: redacted.clone(),
            msg: format!("invalid database URL: {}", scrub(&msg, url)),
        };
        let tls = tls::Policy::new(sslmode.as_deref(), sslrootcert.as_deref()).map_err(invalid)?;
        let mut config: Config = driver_url.parse().map_err(|e: postgres::Error| {
            // The driver's cause names the option ("unknown option `x`").
            match std::error::Error::source(&e) {
                Some(src) => invalid(format!("{e}: {src}")),
                None => invalid(e.to_string()),
            }
        })?;
        // libpq: sslmode is ignored over unix sockets (a host that starts
        // with `/`, the `host=` parameter or percent-encoded in the
        // authority), where the server offers no TLS: a socket is
        // connected to in plain text whatever the mode. (In a list mixing
        // sockets and TCP hosts, a mode that requires TLS stays, and fails
        // on the sockets: the driver has one mode for every host.)
        let mut tls = tls;
        if unix_sockets_only(&config) {
            tls.mode = SslMode::Disable;
        }
        config.ssl_mode(tls.mode);
        Ok(Target {
            config,
            tls,
            log_id,
            redacted,
        })
    }

    /// The URL without password and parameters (`postgres://user@host:port/db`),
    /// with `?log_id=` when one log is selected: what messages name.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The same database, one log.
    pub fn with_log_id(&self, log_id: Option<String>) -> Target {
        let base = self
            .redacted
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        Target {
            config: self.config.clone(),
            tls: self.tls.clone(),
            redacted: redact(&base, log_id.as_deref()),
            log_id,
        }
    }

    pub(crate) fn name(&self) -> PathBuf {
        PathBuf::from(&self.redacted)
    }

    pub(crate) fn err(&self, what: &str, e: postgres::Error) -> Error {
        let mut msg = e.to_string();
        if let Some(db) = e.as_db_error() {
            msg = format!("{} ({})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                msg = format!("{msg}: {d}");
            }
        } else if let Some(src) = std::error::Error::source(&e) {
            msg = format!("{msg}: {src}");
        }
        if certificate_refused(&e) {
            msg.push_str(&format!(
                " (checked against {}: name the CA that signed the server's certificate \
                 with sslrootcert=FILE)",
                self.tls.roots_name()
            ));
        }
        Error::Database {
            target: self.redacted.clone(),
            msg: format!("{what}: {msg}"),
        }
    }

    /// Connects, with TLS by libpq's `sslmode` and `sslrootcert` rules
    /// (rustls; `docs/postgres.md`).
    pub fn connect(&self) -> Result<Client> {
        match self.connect_pg()? {
            Ok(c) => Ok(c),
            Err(e) => Err(self.err("cannot connect", e)),
        }
    }

    /// Connects; the driver's error kept for classification.
    ///
    /// `connect_timeout` bounds the whole connection, as in libpq: the
    /// driver applies it to the TCP connect alone, so a server that
    /// accepts the connection but never answers (stopped, or a firewall
    /// that swallows packets) held the caller for ever. The connection is
    /// then made on a thread of its own, abandoned (left to fail by
    /// itself) when the time is up.
    pub(crate) fn connect_pg(&self) -> Result<std::result::Result<Client, postgres::Error>> {
        let tls = self.tls.make_tls().map_err(|msg| Error::Database {
            target: self.redacted.clone(),
            msg,
        })?;
        let Some(limit) = self.config.get_connect_timeout().copied() else {
            return Ok(self.config.connect(tls));
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let (config, make) = (self.config.clone(), tls.clone());
        let spawned = std::thread::Builder::new()
            .name("evident-pg-connect".into())
            .spawn(move || {
                let _ = tx.send(config.connect(make));
            });
        if spawned.is_err() {
            // No thread to be had: connect here, bounded as the driver bounds it.
            return Ok(self.config.connect(tls));
        }
        // Each host may take the limit (libpq's rule); one more second for
        // the driver's own timeout to be the one that answers.
        let hosts = self.config.get_hosts().len().max(1) as u32;
        match rx.recv_timeout(limit * hosts + std::time::Duration::from_secs(1)) {
            Ok(r) => Ok(r),
            Err(_) => Err(Error::Database {
                target: self.redacted.clone(),
                msg: format!(
                    "cannot connect: no answer from the server within connect_timeout ({} s)",
                    limit.as_secs()
                ),
            }),
        }
    }
}

/// Whether every host the configuration names is a unix socket's
/// directory (and no `hostaddr` takes the connection to TCP).
fn unix_sockets_only(config: &Config) -> bool {
    let hosts = config.get_hosts();
    #[cfg(unix)]
    let socket = |h: &postgres::config::Host| matches!(h, postgres::config::Host::Unix(_));
    #[cfg(not(unix))]
    let socket = |_: &postgres::config::Host| false;
    !hosts.is_empty() && config.get_hostaddrs().is_empty() && hosts.iter().all(socket)
}

/// Whether the driver's error is the server's certificate failing its
/// check (no use retrying).
pub(crate) fn certificate_refused(e: &postgres::Error) -> bool {
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let tls = s.downcast_ref::<rustls::Error>().or_else(|| {
            s.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(t) = tls {
            return matches!(t, rustls::Error::InvalidCertificate(_));
        }
        src = s.source();
    }
    false
}

/// Takes the password (and anything after `?`) out of a URL.
///
/// The user's part ends at the *last* `@` of the whole URL, as a password
/// written without percent-encoding may hold `@ : / ? # &` (the driver
/// refuses such a URL, and its error must not show it either); what
/// follows is cut at `?` or `#`.
fn redact(url: &str, log_id: Option<&str>) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (auth, hostpath) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    let hostpath = hostpath.split(['?', '#']).next().unwrap_or_default();
    let user = auth.map(|a| a.split(':').next().unwrap_or_default());
    let mut s = match user {
        Some(u) if !u.is_empty() => format!("{scheme}://{u}@{hostpath}"),
        _ => format!("{scheme}://{hostpath}"),
    };
    if let Some(id) = log_id {
        s.push_str("?log_id=");
        s.push_str(id);
    }
    s
}

/// Removes every occurrence of the URL and its password from a message.
fn scrub(msg: &str, url: &str) -> String {
    let mut m = msg.replace(url, "<url>");
    if let Some(rest) = url.split_once("://").map(|x| x.1) {
        if let Some((auth, _)) = rest.rsplit_once('@') {
            if let Some((_, pw)) = auth.split_once(':') {
                if !pw.is_empty() {
                    m = m.replace(pw, "<password>");
                }
            }
        }
    }
    m
}

/// `%XX` decoded; `+` is a space when `plus` (a form value), else kept
/// (libpq's rule for URI parameters, which a file name follows).
fn percent_decode(s: &str, plus: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b.get(i).copied().unwrap_or_default();
        if c == b'%' {
            if let Some(h) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
            {
                if let Ok(v) = u8::from_str_radix(h, 16) {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(if plus && c == b'+' { b' ' } else { c });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The schema version the database holds (0: none).
pub fn schema_version(target: &Target, client: &mut Client) -> Result<i32> {
    let row = client
        .query_one(
            "SELECT to_regclass('evident.schema_migrations') IS NOT NULL",
            &[],
        )
        .map_err(|e| target.err("reading the schema version", e))?;
    if !row.get::<_, bool>(0) {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM evident.schema_migrations",
            &[],
        )
        .map_err(|e| target.err("reading the schema version", e))?;
    Ok(row.get(0))
}

/// Applies the migrations the database lacks, each in one transaction
/// (serialised between concurrent callers by an advisory lock). Needs a
/// role that may create schemas and roles; a shipping or reviewing role
/// only checks that the schema is current.
pub fn migrate(target: &Target, client: &mut Client) -> Result<i32> {
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if schema_version(target, client)? >= latest {
        return Ok(latest);
    }
    let mut tx = client
        .transaction()
        .map_err(|e| target.err("migrating", e))?;
    let fail = |what: &str, e| {
        let mut err = target.err(what, e);
        if let Error::Database { msg, .. } = &mut err {
            msg.push_str(" (the schema is created by a role that may create schemas and roles: run `evident ship` once as the database owner, or apply sql/*.sql)");
        }
        err
    };
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7310268657430716417);
         CREATE SCHEMA IF NOT EXISTS evident;
         CREATE TABLE IF NOT EXISTS evident.schema_migrations (
             version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now());",
    )
    .map_err(|e| fail("creating the schema", e))?;
    let have: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM evident.schema_migrations",
            &[],
        )
        .map_err(|e| fail("reading the schema version", e))?
        .get(0);
    for (v, sql) in MIGRATIONS.iter().filter(|m| m.0 > have) {
        tx.batch_execute(sql)
            .map_err(|e| fail(&format!("applying migration {v}"), e))?;
        tx.execute(
            "INSERT INTO evident.schema_migrations (version) VALUES ($1)",
            &[v],
        )
        .map_err(|e| fail(&format!("recording migration {v}"), e))?;
    }
    tx.commit()
        .map_err(|e| fail("committing the migration", e))?;
    Ok(latest)
}

/// Connects and brings the schema up to date (or checks that it is).
pub fn connect_current(target: &Target) -> Result<Client> {
    let mut client = target.connect()?;
    migrate(target, &mut client)?;
    Ok(client)
}

/// The log ids in the database (one when the target names one).
pub fn log_ids(target: &Target, client: &mut Client) -> Result<Vec<String>> {
    if let Some(id) = &target.log_id {
        let found = client
            .query_opt(
                "SELECT 1 FROM evident.records WHERE log_id = $1 LIMIT 1",
                &[id],
            )
            .map_err(|e| target.err("looking up the log", e))?;
        if found.is_none() {
            return Err(Error::NotFound {
                what: format!("log {id} in {}", target.redacted),
            });
        }
        return Ok(vec![id.clone()]);
    }
    // Every log id with a row (a log whose genesis row was removed is
    // still checked, and reported).
    let rows = client
        .query(
            "SELECT DISTINCT log_id FROM evident.records ORDER BY log_id",
            &[],
        )
        .map_err(|e| target.err("listing logs", e))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The path-like name of a local file for the refusals table.
pub(crate) fn origin(path: &Path) -> String {
    let host = crate::sys::host_name();
    format!("{host}:{}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that accepts the connection and never answers: with
    /// `connect_timeout`, connecting fails within about that time (before,
    /// the driver bounded the TCP connect alone and waited for ever).
    #[test]
    fn connect_timeout_bounds_a_server_that_never_answers() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = std::thread::Builder::new()
            .spawn(move || {
                let conns: Vec<_> = listener.incoming().take(1).collect();
                std::thread::sleep(std::time::Duration::from_secs(30));
                drop(conns);
            })
            .unwrap();
        let url = format!("postgres://u@127.0.0.1:{port}/db?connect_timeout=1&sslmode=disable");
        let t = Target::parse(&url).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .spawn(move || {
                let _ = tx.send(t.connect().map(|_| ()).map_err(|e| e.to_string()));
            })
            .unwrap();
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("connect still waiting after 20 s with connect_timeout=1");
        let e = got.unwrap_err();
        assert!(
            e.contains("connect_timeout") || e.contains("timed out"),
            "{e}"
        );
        drop(held);
    }

    /// A host that starts with `/` is a unix socket's directory (the
    /// `host=` parameter, a comma-separated list as in libpq, or
    /// percent-encoded in the authority); over sockets alone sslmode is
    /// ignored, as libpq ignores it (no TLS there).
    #[test]
    fn socket_hosts_and_sslmode() {
        use postgres::config::Host;
        let t = |url: &str| Target::parse(url).unwrap();
        for url in [
            "postgres://u@/db?host=/run/pg&port=5433&sslmode=verify-full",
            "postgres://u@/db?host=%2Frun%2Fpg&sslmode=require",
            "postgres://u:pw@%2Frun%2Fpg:5433/db",
        ] {
            let t = t(url);
            assert_eq!(
                t.config.get_hosts(),
                [Host::Unix("/run/pg".into())],
                "{url}"
            );
            assert_eq!(t.config.get_ssl_mode(), SslMode::Disable, "{url}");
            assert_eq!(t.tls.mode, SslMode::Disable, "{url}");
        }
        let mixed = t("postgres://u@/db?host=/run/pg,db.example&sslmode=require");
        assert_eq!(
            mixed.config.get_hosts(),
            [Host::Unix("/run/pg".into()), Host::Tcp("db.example".into())]
        );
        assert_eq!(mixed.config.get_ssl_mode(), SslMode::Require);
        // A TCP host keeps its mode; a hostaddr is TCP.
        for url in [
            "postgres://u@db.example/db?sslmode=require",
            "postgres://u@/db?host=/run/pg&hostaddr=127.0.0.1&sslmode=require",
        ] {
            assert_eq!(t(url).config.get_ssl_mode(), SslMode::Require, "{url}");
        }
    }

    #[test]
    fn redaction_drops_password_and_parameters() {
        let t = Target::parse(
            "postgres://alice:s3cr%40t@db.example:5433/audit?sslmode=disable&log_id=ab",
        )
        .unwrap();
        assert_eq!(
            t.redacted(),
            "postgres://alice@db.example:5433/audit?log_id=ab"
        );
        assert_eq!(t.log_id.as_deref(), Some("ab"));
        let e = Target::parse("postgres://alice:hunter2@h/db?port=notanumber")
            .err()
            .unwrap();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        // Passwords written without percent-encoding: before, what came
        // before a `?` or after an `@` in them was shown.
        for (url, secret) in [
            ("postgres://pwuser:SECRET?x=1@127.0.0.1:5/t_pw", "SECRET"),
            ("postgres://pwuser:p@ss:w/o%rd#x?y&z@127.0.0.1:5/db", "ss:w"),
            ("postgres://pwuser:a#b@h/db", "a#b"),
        ] {
            let msg = match Target::parse(url) {
                Ok(t) => t.redacted().to_string(),
                Err(e) => e.to_string(),
            };
            assert!(!msg.contains(secret), "{url}: {msg}");
            assert!(msg.contains("pwuser"), "{url}: {msg}");
        }
    }
}
