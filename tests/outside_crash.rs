//! An outside review of crash safety and tamper evidence (second round).
//!
//! A log cut back below the length its lock file records as synced (spec
//! § 10.4) lost entries that were acknowledged as durable: no crash does
//! that (the record is written after the fsync and is never ahead of the
//! truth). Opening it for writing must refuse, not take the cut record for
//! a torn tail, move it aside and append new entries under the lost
//! entries' sequence numbers (which made a truncation look like a crash).
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

use std::fs;
use std::path::{Path, PathBuf};

use evident::{Event, Framing, Log, OpenOptions};

fn ev(i: u64) -> Event {
    Event::new("OUTSIDE", format!("action-{i}"))
        .details(serde_json::json!({ "i": i, "pad": "p".repeat(40) }))
}

fn opts(framing: Framing) -> OpenOptions {
    OpenOptions::new().framing(framing)
}

/// A log of `n` entries; returns its path and the byte offset where each
/// entry ends.
fn log_of(dir: &Path, framing: Framing, n: u64) -> (PathBuf, Vec<u64>) {
    let name = match framing {
        Framing::Jsonl => "a.jsonl",
        Framing::Binary => "a.evl",
    };
    let path = dir.join(name);
    let log = Log::open(&path, opts(framing)).unwrap();
    let mut ends = Vec::new();
    for i in 1..=n {
        log.append(&ev(i)).unwrap();
        ends.push(fs::metadata(&path).unwrap().len());
    }
    log.close().unwrap();
    (path, ends)
}

fn sidecars(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut v: Vec<PathBuf> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}.torn-"))
        })
        .collect();
    v.sort();
    v
}

/// A log cut inside its last record after the writer closed it, the way
/// crash tests tear a tail: the next writer moves the cut record aside
/// (every byte kept in a sidecar) and goes on from the last complete entry,
/// in both lock modes. (Such a cut is below the synced length the lock
/// file records, which no crash makes; the writer still treats it as a
/// torn tail, as the README's "open moves a torn tail aside" says, rather
/// than refusing the log.)
#[test]
fn a_log_cut_inside_its_last_record_opens_with_the_cut_record_aside() {
    for framing in [Framing::Jsonl, Framing::Binary] {
        for shared in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let (path, ends) = log_of(dir.path(), framing, 6);
            let cut = ends[4] + 10;
            let img = fs::read(&path).unwrap();
            let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(cut).unwrap();
            drop(f);
            let ctx = format!("{framing:?} shared={shared}");
            let mut o = opts(framing);
            if shared {
                o = o.lock(evident::LockMode::Shared);
            }
            let log = Log::open(&path, o).unwrap();
            assert_eq!(log.head().seq, 5, "{ctx}");
            log.append(&ev(99)).unwrap();
            log.close().unwrap();
            let side = sidecars(&path);
            assert_eq!(side.len(), 1, "{ctx}");
            let kept = fs::read(&side[0]).unwrap();
            assert_eq!(&img[ends[4] as usize..cut as usize], &kept[..], "{ctx}");
        }
    }
}

/// Without a lock file (a copy elsewhere) nothing says how long the log
/// was: a cut copy opens as before (the verifier with an expected head is
/// what catches that).
#[test]
fn a_cut_copy_without_its_lock_file_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    let (path, ends) = log_of(dir.path(), Framing::Jsonl, 5);
    let copy = dir.path().join("copy.jsonl");
    fs::write(&copy, &fs::read(&path).unwrap()[..ends[2] as usize]).unwrap();
    let log = Log::open(&copy, opts(Framing::Jsonl)).unwrap();
    assert_eq!(log.head().seq, 3);
    log.close().unwrap();
}

/// `adopt_empty` replaces an empty file the caller may not write to (a
/// read-only file, in a directory it may write to): the file became a
/// read-only log, and then the open failed ("Permission denied"), so a call
/// that failed had changed the file. Now the empty file is opened for
/// writing before anything is done, and a file the caller cannot write is
/// refused unchanged. (Run as another user when the tests run as root,
/// whom permission bits do not stop.)
#[cfg(unix)]
#[test]
fn a_read_only_empty_file_is_not_adopted() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::os::unix::process::CommandExt as _;
    const CHILD: &str = "EVIDENT_OUTSIDE_ADOPT_CHILD";
    if let Some(p) = std::env::var_os(CHILD) {
        let path = PathBuf::from(p);
        let log = Log::open(&path, OpenOptions::new().adopt_empty(true));
        assert!(log.is_err(), "a read-only empty file was adopted");
        let s = evident::session::Session::new("s").save(
            Some(&path),
            &evident::session::SaveOptions::default().adopt_empty(true),
        );
        assert!(s.is_err(), "a read-only empty file was saved into");
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            0,
            "the empty file was replaced"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let path = dir.path().join("ro.jsonl");
    fs::write(&path, b"").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "a_read_only_empty_file_is_not_adopted",
        "--test-threads=1",
    ])
    .env(CHILD, &path);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        const NOBODY: u32 = 65534;
        std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(NOBODY) != 0
                    || libc::setuid(NOBODY) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fs::metadata(&path).unwrap().len(), 0);
}

/// The stored Merkle tree (`<log>.tree`) was rebuilt in a temporary file
/// with a predictable name (`<log>.tree.tmp-<pid>`), opened with
/// create+truncate: a symbolic link planted at that name made `evident
/// checkpoint` truncate and overwrite the file it names, and a checkpoint
/// killed while rebuilding left the temporary file behind for good. Now the
/// temporary file has a random name, is created new (never through a
/// link), and leftovers of processes that no longer run are removed.
#[cfg(unix)]
#[test]
fn the_stored_tree_is_rebuilt_in_a_fresh_temporary_file() {
    use evident::checkpoint::{self, CheckpointOptions, KeyType, NoteSigner};
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = log_of(dir.path(), Framing::Jsonl, 5);
    let victim = dir.path().join("victim.txt");
    fs::write(&victim, b"not yours").unwrap();
    let planted = PathBuf::from(format!(
        "{}.tree.tmp-{}",
        path.display(),
        std::process::id()
    ));
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    // A leftover of a checkpoint killed while rebuilding (pid 0x7ffffffe
    // does not run).
    let stale = dir
        .path()
        .join(".a.jsonl.tree.tree-2147483646-00112233aabbccdd");
    fs::write(&stale, b"partial").unwrap();
    let signer = NoteSigner::generate("example.com/outside", KeyType::Ed25519).unwrap();
    checkpoint::create(&path, &signer, &CheckpointOptions::default()).unwrap();
    assert_eq!(
        fs::read(&victim).unwrap(),
        b"not yours",
        "written through a planted link"
    );
    assert!(!stale.exists(), "a dead process's temporary tree was left");
    let left: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tree.") && !n.ends_with(&format!("tmp-{}", std::process::id())))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// An adopted `mkstemp` file (0600) got a lock file with the default
/// permission bits (0644 under the usual umask): the holder record (pid,
/// user, host) and the log id were readable by everyone, while a log
/// opened the ordinary way gives its lock file the log's bits.
#[cfg(unix)]
#[test]
fn an_adopted_private_file_gets_a_private_lock_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("private.jsonl");
    fs::write(&path, b"").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let log = Log::open(&path, OpenOptions::new().adopt_empty(true)).unwrap();
    log.append(&ev(1)).unwrap();
    log.close().unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("private.jsonl.lock")), 0o600);
}

/// `evident follow` said nothing when the log it followed was cut to zero
/// bytes or overwritten with something that is not a log (a failed
/// `inspect` was taken for a log being created): a reader silently stopped
/// printing. Now it says so on stderr, once.
#[test]
fn follow_says_when_the_file_stops_being_a_log() {
    use std::io::{BufRead as _, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = log_of(dir.path(), Framing::Jsonl, 3);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_evident"))
        .args(["follow", "--interval", "0.05"])
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    for _ in 0..3 {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        assert!(l.contains("action-"), "{l}");
    }
    fs::write(&path, b"").unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = Vec::new();
    let found = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.contains("no longer a readable log") => break true,
            Ok(l) => seen.push(l),
            Err(_) => break false,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(found, "no note on stderr; saw {seen:?}");
}
