//! TLS to PostgreSQL with libpq's rules (`sslmode`, `sslrootcert`), against
//! a cluster of its own with TLS on and a certificate from a private CA
//! (`scripts/pg-cluster.sh start DIR tls`), as a server set up with Debian's
//! default "snakeoil" certificate or a company CA is. Needs PostgreSQL
//! (EVIDENT_PG_URL says one is there; this test starts its own) and openssl.
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

#[path = "pg_support/mod.rs"]
mod pg_support;

use std::path::PathBuf;
use std::process::Command;

use evident::pg::{self, ShipOptions, Target};
use evident::VerifyOptions;
use pg_support::*;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pg-cluster.sh");

/// A throwaway cluster with TLS on; stopped and removed when dropped.
struct TlsCluster {
    dir: PathBuf,
    port: String,
    _keep: tempfile::TempDir,
}

impl TlsCluster {
    fn start() -> Option<TlsCluster> {
        admin_url()?; // skipped (or failed in CI) like every PostgreSQL test
        let keep = tempfile::tempdir().unwrap();
        let dir = keep.path().join("cluster");
        let out = Command::new(SCRIPT)
            .args(["start", dir.to_str().unwrap(), "tls"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = std::fs::read_to_string(dir.join("port")).unwrap();
        Some(TlsCluster {
            port: port.trim().to_string(),
            dir,
            _keep: keep,
        })
    }

    /// The URL to host `host` with the query `q` (file names in it are
    /// relative to the cluster directory: `{ca}` and `{other}`).
    fn url(&self, host: &str, q: &str) -> String {
        let q = q
            .replace("{ca}", self.file("ca.crt").to_str().unwrap())
            .replace("{other}", self.file("other-ca.crt").to_str().unwrap());
        let q = if q.is_empty() { q } else { format!("?{q}") };
        format!("postgres://postgres@{host}:{}/postgres{q}", self.port)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        let _ = Command::new(SCRIPT)
            .args(["stop", self.dir.to_str().unwrap()])
            .status();
    }
}

/// Connects; Ok(whether the connection is encrypted) or the error's text.
fn connect(url: &str) -> Result<bool, String> {
    let mut c = Target::parse(url)
        .map_err(|e| e.to_string())?
        .connect()
        .map_err(|e| e.to_string())?;
    let row = c
        .query_one(
            "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
            &[],
        )
        .unwrap();
    Ok(row.get(0))
}

fn refused(url: &str, says: &[&str]) {
    match connect(url) {
        Ok(tls) => panic!("{url}: connected (TLS: {tls}), expected a refusal"),
        Err(e) => {
            for s in says {
                assert!(e.contains(s), "{url}: {e:?} does not say {s:?}");
            }
        }
    }
}

#[test]
fn prefer_and_require_encrypt_without_checking_the_certificate() {
    // libpq's meaning: TLS when the server offers it (prefer, the default)
    // or always (require), the certificate not checked without a root.
    let Some(c) = TlsCluster::start() else {
        return;
    };
    for q in ["", "sslmode=prefer", "sslmode=require", "sslmode=allow"] {
        assert_eq!(connect(&c.url("127.0.0.1", q)), Ok(true), "{q}");
    }
    assert_eq!(connect(&c.url("127.0.0.1", "sslmode=disable")), Ok(false));
}

#[test]
fn a_root_certificate_checks_the_chain() {
    let Some(c) = TlsCluster::start() else {
        return;
    };
    for q in [
        "sslrootcert={ca}",
        "sslmode=require&sslrootcert={ca}",
        "sslmode=verify-ca&sslrootcert={ca}",
        "sslmode=verify-full&sslrootcert={ca}",
    ] {
        assert_eq!(connect(&c.url("127.0.0.1", q)), Ok(true), "{q}");
    }
    // Signed by another CA: refused in every mode that has a root (as
    // libpq does when the root file exists), never retried in plain text.
    for q in [
        "sslrootcert={other}",
        "sslmode=require&sslrootcert={other}",
        "sslmode=verify-ca&sslrootcert={other}",
        "sslmode=verify-full&sslrootcert={other}",
    ] {
        refused(&c.url("127.0.0.1", q), &["certificate"]);
    }
    // verify-ca and verify-full without a root check against the public
    // (Mozilla) roots, which did not sign the test CA; the message says
    // what to do.
    for q in ["sslmode=verify-ca", "sslmode=verify-full"] {
        refused(
            &c.url("127.0.0.1", q),
            &["certificate", "Mozilla", "sslrootcert=FILE"],
        );
    }
}

#[test]
fn a_refused_certificate_is_not_retried() {
    let Some(c) = TlsCluster::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    write_log(&p, 3, "h");
    let mut opts = ShipOptions::default();
    opts.retry_for = std::time::Duration::from_secs(60);
    let t = std::time::Instant::now();
    let e = pg::ship(&p, &c.url("127.0.0.1", "sslrootcert={other}"), &opts).unwrap_err();
    assert!(e.to_string().contains("certificate"), "{e}");
    assert!(t.elapsed().as_secs() < 30, "retried for {:?}", t.elapsed());
}

#[test]
fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let Some(c) = TlsCluster::start() else {
        return;
    };
    // The certificate is for IP 127.0.0.1 only.
    refused(
        &c.url("localhost", "sslmode=verify-full&sslrootcert={ca}"),
        &["certificate"],
    );
    assert_eq!(
        connect(&c.url("localhost", "sslmode=verify-ca&sslrootcert={ca}")),
        Ok(true)
    );
}

#[test]
fn a_mode_that_needs_tls_is_never_downgraded() {
    // The suite's own cluster has TLS off.
    let Some(admin) = admin_url() else {
        return;
    };
    let sep = if admin.contains('?') { '&' } else { '?' };
    for mode in ["require", "verify-ca", "verify-full"] {
        refused(&format!("{admin}{sep}sslmode={mode}"), &["TLS"]);
    }
    assert_eq!(connect(&admin), Ok(false), "prefer: plain text is allowed");
}

#[test]
fn bad_tls_parameters_are_named() {
    let Some(c) = TlsCluster::start() else {
        return;
    };
    let missing = c.file("no-such-ca.crt");
    let url = c.url("127.0.0.1", &format!("sslrootcert={}", missing.display()));
    refused(&url, &["sslrootcert", "no-such-ca.crt"]);
    // A file that holds no certificate.
    let empty = c.file("empty.crt");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let url = c.url("127.0.0.1", &format!("sslrootcert={}", empty.display()));
    refused(&url, &["sslrootcert", "empty.crt", "no certificate"]);
}

#[test]
fn ship_and_verify_through_a_checked_connection() {
    let Some(c) = TlsCluster::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.jsonl");
    let id = write_log(&p, 100, "h");
    let url = c.url("127.0.0.1", "sslmode=verify-full&sslrootcert={ca}");
    let reps = pg::ship(&p, &url, &ShipOptions::default()).unwrap();
    assert_eq!(reps[0].log_id, id);
    let r = pg::verify_db(&format!("{url}&log_id={id}"), &VerifyOptions::default()).unwrap();
    assert!(r.len() == 1 && r[0].valid && r[0].entries == 100, "{r:?}");
    // The command takes the same URL.
    let out = Command::new(env!("CARGO_BIN_EXE_evident"))
        .args(["verify", &format!("{url}&log_id={id}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
