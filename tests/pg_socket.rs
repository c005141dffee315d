//! PostgreSQL over a unix socket, as `psql` connects to one: a host that
//! starts with `/` (percent-encoded in the authority, or the `host=`
//! parameter) is the socket's directory, and no TLS is attempted over it
//! (libpq ignores `sslmode` there) nor with `sslmode=disable`. Against a
//! cluster of its own (`scripts/pg-cluster.sh`, which puts the socket in
//! the cluster's directory). Needs PostgreSQL (EVIDENT_PG_URL says one is
//! there; this test starts its own).

#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

#[path = "pg_support/mod.rs"]
mod pg_support;

use std::path::PathBuf;
use std::process::Command;

use evident::pg::Target;
use pg_support::*;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pg-cluster.sh");

/// A throwaway cluster (its socket in its directory); stopped and removed
/// when dropped.
struct Cluster {
    dir: PathBuf,
    port: String,
    _keep: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Option<Cluster> {
        admin_url()?; // skipped (or failed in CI) like every PostgreSQL test
        let keep = tempfile::tempdir().unwrap();
        let dir = keep.path().join("c");
        let out = Command::new(SCRIPT)
            .args(["start", dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = std::fs::read_to_string(dir.join("port")).unwrap();
        Some(Cluster {
            port: port.trim().to_string(),
            dir,
            _keep: keep,
        })
    }

    fn socket_dir(&self) -> &str {
        self.dir.to_str().unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(SCRIPT)
            .args(["stop", self.dir.to_str().unwrap()])
            .status();
    }
}

/// Percent-encodes everything but unreserved characters.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Connects; Ok((whether TLS, the server's view of the client address:
/// None over a unix socket)) or the error's text.
fn connect(url: &str) -> Result<(bool, Option<String>), String> {
    let mut c = Target::parse(url)
        .map_err(|e| e.to_string())?
        .connect()
        .map_err(|e| e.to_string())?;
    let row = c
        .query_one(
            "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false), \
             inet_client_addr()::text",
            &[],
        )
        .unwrap();
    Ok((row.get(0), row.get(1)))
}

#[test]
fn a_socket_directory_is_a_host_as_in_psql() {
    let Some(c) = Cluster::start() else {
        return;
    };
    let (dir, port) = (c.socket_dir(), &c.port);
    // libpq ignores sslmode over a unix socket: every mode connects, in
    // plain text (the server offers no TLS there).
    for mode in [
        "",
        "&sslmode=disable",
        "&sslmode=allow",
        "&sslmode=prefer",
        "&sslmode=require",
        "&sslmode=verify-ca",
        "&sslmode=verify-full",
    ] {
        for url in [
            format!("postgres://postgres@/postgres?host={dir}&port={port}{mode}"),
            format!(
                "postgresql://postgres:pw@/postgres?host={}&port={port}{mode}",
                enc(dir)
            ),
            format!("postgres://postgres@{}:{port}/postgres?x=1{mode}", enc(dir)),
        ] {
            let url = url.replace("?x=1&", "?").replace("?x=1", "");
            assert_eq!(connect(&url), Ok((false, None)), "{url}");
        }
    }
    // libpq's host list (comma-separated): the socket first, then TCP.
    let url = format!("postgres://postgres@/postgres?host={dir},127.0.0.1&port={port},{port}");
    assert_eq!(connect(&url), Ok((false, None)), "{url}");
    let url = format!("postgres://postgres@/postgres?host=/nonexistent,127.0.0.1&port={port}");
    assert!(matches!(connect(&url), Ok((false, Some(_)))), "{url}");
    // The driver's own parameters still apply.
    let url = format!("postgres://postgres@/postgres?host={dir}&port={port}&connect_timeout=5");
    assert_eq!(connect(&url), Ok((false, None)), "{url}");
}

#[test]
fn sslmode_disable_never_starts_tls() {
    // Not even to set it up: an unreadable sslrootcert is not read.
    let Some(c) = Cluster::start() else {
        return;
    };
    let gone = c.dir.join("no-such-ca.pem");
    let gone = gone.to_str().unwrap();
    for url in [
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable&sslrootcert={gone}",
            c.port
        ),
        format!(
            "postgres://postgres@/postgres?host={}&port={}&sslmode=disable&sslrootcert={gone}",
            c.socket_dir(),
            c.port
        ),
    ] {
        assert!(
            matches!(connect(&url), Ok((false, _))),
            "{url}: {:?}",
            connect(&url)
        );
    }
}

#[test]
fn the_cli_ships_and_verifies_over_a_socket() {
    let Some(c) = Cluster::start() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let log = work.path().join("audit.jsonl");
    let id = write_log(&log, 5, "h1");
    let exe = env!("CARGO_BIN_EXE_evident");
    for url in [
        format!(
            "postgres://postgres@/postgres?host={}&port={}&sslmode=disable",
            c.socket_dir(),
            c.port
        ),
        format!(
            "postgres://postgres:pw@{}:{}/postgres?sslmode=disable",
            enc(c.socket_dir()),
            c.port
        ),
    ] {
        let out = Command::new(exe)
            .args(["ship", log.to_str().unwrap(), "--to", &url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ship {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new(exe).args(["verify", &url]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "verify {url}: {text}");
        assert!(!text.contains(":pw"), "{text}");
    }
    assert_eq!(
        count(
            &format!(
                "postgres://postgres@/postgres?host={}&port={}",
                c.socket_dir(),
                c.port
            ),
            &id
        ),
        (6, Some(5)) // the genesis record and the 5 entries
    );
}

#[test]
fn rtgs_postgres_host_may_be_a_socket_directory() {
    let Some(c) = Cluster::start() else {
        return;
    };
    let dotenv = format!(
        "POSTGRES_HOST={}\nPOSTGRES_PORT={}\nPOSTGRES_DB=postgres\nPOSTGRES_USER=postgres\nPOSTGRES_PASSWORD=p@ss\n",
        c.socket_dir(),
        c.port
    );
    let pg = evident::compat::rtgs_pg_config(std::iter::empty(), Some(&dotenv)).unwrap();
    // psql's form for a socket directory: the host as the `host=` parameter.
    assert!(
        pg.url
            .starts_with("postgres://postgres:p%40ss@/postgres?host=%2F"),
        "{}",
        pg.url
    );
    assert!(!pg.database.contains("p%40ss"), "{}", pg.database);
    assert_eq!(connect(&pg.url), Ok((false, None)), "{}", pg.url);
    let psql = std::fs::read_to_string(c.dir.join("bin")).unwrap();
    let psql = PathBuf::from(psql.trim()).join("psql");
    if psql.exists() {
        let out = Command::new(&psql)
            .args([pg.url.as_str(), "-Atc", "select 1"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {}: {}",
            pg.url,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
