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

use support::*;

fn evident_bin() -> &'static str {
    env!("CARGO_BIN_EXE_evident")
}

/// Runs `evident ARGS` with at most `n` open descriptors.
fn run_limited(n: u32, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
        .arg(evident_bin())
        .args(args)
        .output()
        .unwrap()
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
