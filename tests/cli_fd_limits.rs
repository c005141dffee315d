//! The `evident` command when the OS refuses file descriptors (`ulimit -n`
//! from "the command cannot even load" upwards): a clear error naming the
//! file, or the right result; never a wrong answer, and never a write that
//! half happened (a file left behind that a retry trips over).
//!
//! Unix only: the limit is set with `sh -c "ulimit -n N"`. The range is
//! wide because the test binary may pass descriptors of its own (cargo's
//! jobserver) on to the command, and a debug build opens what a release
//! build opens.
#![cfg(unix)]

mod support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use evident::{Framing, HashAlg};
use support::*;

fn evident_bin() -> &'static str {
    env!("CARGO_BIN_EXE_evident")
}

/// Runs `evident ARGS` with at most `n` open descriptors.
fn run_limited(n: u32, args: &[&str]) -> Output {
    run_under_ulimit(evident_bin().as_ref(), "-n", n, args)
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Whether the command could not start at all (the dynamic loader needs a
/// descriptor for each shared library).
fn did_not_load(o: &Output, stderr: &str) -> bool {
    o.status.code() == Some(127) && stderr.contains("shared librar")
}

fn assert_no_panic(n: u32, o: &Output, stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("internal error"),
        "ulimit -n {n}: {stderr}"
    );
    assert!(o.status.code().is_some(), "ulimit -n {n}: killed: {o:?}");
}

const LIMITS: std::ops::RangeInclusive<u32> = 3..=24;

/// Recognising an OpenParallax file opened it a second time while the
/// first descriptor was still open; a refused second open was taken for
/// "not such a file", and `evident verify` then called an OpenParallax
/// file "not an evident log". One descriptor is enough to tell.
#[test]
fn verify_of_an_openparallax_file_is_never_called_not_a_log() {
    let dir = scratch();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors/openparallax/basic.jsonl");
    let path = dir.path().join("audit.jsonl");
    fs::copy(src, &path).unwrap();
    let p = path.to_str().unwrap();
    let (mut ok, mut refused) = (0, 0);
    for n in LIMITS {
        let o = run_limited(n, &["verify", p]);
        let (stdout, stderr) = text(&o);
        assert_no_panic(n, &o, &stderr);
        assert!(
            !stderr.contains("not an evident log"),
            "ulimit -n {n}: {stderr}"
        );
        if did_not_load(&o, &stderr) {
            refused += 1;
        } else if o.status.code() == Some(0) {
            assert!(
                stdout.contains("an OpenParallax audit file") && stdout.contains("valid"),
                "ulimit -n {n}: {stdout}"
            );
            ok += 1;
        } else {
            assert_eq!(o.status.code(), Some(2), "ulimit -n {n}: {stdout}{stderr}");
            assert!(
                stderr.contains(p) && stderr.contains("Too many open files"),
                "ulimit -n {n}: {stderr}"
            );
            refused += 1;
        }
    }
    assert!(ok > 0, "verify never ran");
    assert!(refused > 0, "no limit was low enough to test anything");
}

/// `evident repair` moves a torn tail into a sidecar, then cuts the log.
/// When the directory could not be opened to fsync the new sidecar's name
/// (no descriptor left), the sidecar stayed while the tail stayed in the
/// log: every retry added another copy of the same bytes.
#[test]
fn a_refused_repair_leaves_no_sidecar() {
    let dir = scratch();
    for cfg in [
        Cfg::new(Framing::Jsonl, HashAlg::Sha256),
        Cfg::new(Framing::Binary, HashAlg::Sha256),
    ] {
        let b = build(dir.path(), cfg, 10);
        let torn: Vec<u8> = {
            let mut t = b.bytes.clone();
            t.extend_from_slice(&b.record(5)[..20]);
            t
        };
        let (mut ok, mut refused) = (0, 0);
        for n in LIMITS {
            let sub = dir.path().join(format!("{n}-{}", cfg.file_name()));
            fs::create_dir(&sub).unwrap();
            let path = sub.join(cfg.file_name());
            fs::write(&path, &torn).unwrap();
            let o = run_limited(n, &["repair", path.to_str().unwrap()]);
            let (stdout, stderr) = text(&o);
            assert_no_panic(n, &o, &stderr);
            let sides = sidecars(&path);
            if o.status.code() == Some(0) {
                assert_eq!(sides.len(), 1, "ulimit -n {n}: {stdout}");
                assert_eq!(fs::read(&sides[0]).unwrap(), &b.record(5)[..20]);
                assert_eq!(fs::read(&path).unwrap(), b.bytes, "ulimit -n {n}");
                ok += 1;
                continue;
            }
            refused += 1;
            assert!(
                sides.is_empty(),
                "ulimit -n {n}: {stderr}: a sidecar was left: {sides:?}"
            );
            assert_eq!(fs::read(&path).unwrap(), torn, "ulimit -n {n}: {stderr}");
            // Without the limit, the repair is done once, into one sidecar.
            let o = Command::new(evident_bin())
                .arg("repair")
                .arg(&path)
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(0), "{o:?}");
            let sides = sidecars(&path);
            assert_eq!(sides.len(), 1, "ulimit -n {n}: {sides:?}");
            assert_eq!(fs::read(&sides[0]).unwrap(), &b.record(5)[..20]);
            assert_eq!(fs::read(&path).unwrap(), b.bytes);
        }
        assert!(ok > 0, "{cfg:?}: repair never ran");
        assert!(refused > 0, "{cfg:?}: no limit was low enough");
    }
}

/// `evident keygen -o FILE` wrote the private key, then failed to write
/// FILE.pub (no descriptor left for its temporary file): the private key
/// stayed without its public key, and the next `keygen -o FILE` refused
/// the name as taken.
#[test]
fn a_refused_keygen_leaves_no_key_behind() {
    let dir = scratch();
    let (mut ok, mut refused) = (0, 0);
    for n in LIMITS {
        let skey = dir.path().join(format!("k{n}"));
        let vkey = dir.path().join(format!("k{n}.pub"));
        let args = [
            "keygen",
            "--name",
            "log.example/limits",
            "-o",
            skey.to_str().unwrap(),
        ];
        let o = run_limited(n, &args);
        let (stdout, stderr) = text(&o);
        assert_no_panic(n, &o, &stderr);
        if o.status.code() == Some(0) {
            assert!(skey.is_file() && vkey.is_file(), "ulimit -n {n}: {stdout}");
            ok += 1;
            continue;
        }
        refused += 1;
        assert!(
            !skey.exists() && !vkey.exists(),
            "ulimit -n {n}: {stderr}: a key file was left"
        );
        // Without the limit, the same name works.
        let o = Command::new(evident_bin()).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "ulimit -n {n}: {o:?}");
        assert!(skey.is_file() && vkey.is_file());
    }
    assert!(ok > 0, "keygen never ran");
    assert!(refused > 0, "no limit was low enough");
}
