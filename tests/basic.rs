//! End-to-end behaviour of the public API: append, reopen, verify, query.

use evident::*;
use serde_json::json;
use tempfile::tempdir;

fn ev(i: usize) -> Event {
    Event::new("ACTION_EXECUTED", format!("act{}", i % 3))
        .session(format!("s{}", i % 2))
        .details(json!({"i": i, "pad": "x".repeat(100)}))
}

#[test]
fn append_reopen_verify_query_both_framings() {
    for framing in [Framing::Jsonl, Framing::Binary] {
        for key in [None, Some(Key::new(vec![7u8; 32]).unwrap())] {
            let dir = tempdir().unwrap();
            let path = dir.path().join("a.log");
            let mut opts = OpenOptions::new().framing(framing);
            opts.key = key.clone();
            let log = Log::open(&path, opts.clone()).unwrap();
            for i in 0..10 {
                let h = log.append(&ev(i)).unwrap();
                assert_eq!(h.seq, i as u64 + 1);
            }
            let head = log.head();
            log.close().unwrap();
            drop(log);
            let log = Log::open(&path, opts.clone()).unwrap();
            assert_eq!(log.head(), head, "{framing:?} chain resumes");
            assert!(log.recovery().torn.is_empty());
            log.append(&ev(10)).unwrap();
            log.close().unwrap();
            drop(log);

            let info = inspect(&path).unwrap();
            assert_eq!(info.framing, framing);
            assert_eq!(info.genesis.key_id, key.as_ref().map(|k| k.key_id()));
            assert_eq!(info.genesis.log_id.len(), 32);

            let vo = VerifyOptions::default().key(key.clone());
            for threads in [1, 2, 4] {
                let r = verify(&path, &vo.clone().threads(threads)).unwrap();
                assert!(r.valid, "{framing:?} {:?}", r.violations);
                assert_eq!(r.entries, 11);
                assert_eq!(r.head_seq, 11);
            }
            let all: Vec<Entry> = query(&path, &Query::default())
                .unwrap()
                .collect::<Result<_>>()
                .unwrap();
            assert_eq!(all.len(), 11);
            assert_eq!(all[0].seq, 1);
            assert_eq!(all[0].details["i"], 0);
            let last: Vec<Entry> = query(&path, &Query::last(3))
                .unwrap()
                .collect::<Result<_>>()
                .unwrap();
            assert_eq!(
                last.iter().map(|e| e.seq).collect::<Vec<_>>(),
                vec![11, 10, 9]
            );
            let q = Query::default().session_id("s1").action("act1");
            let got: Vec<u64> = query(&path, &q).unwrap().map(|e| e.unwrap().seq).collect();
            // i = seq-1; session s1 => i odd; act1 => i%3==1 => i in {1,7}
            assert_eq!(got, vec![2, 8]);
        }
    }
}

#[test]
fn inspect_refuses_what_is_not_a_log() {
    let dir = tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "hello\n").unwrap();
    let err = inspect(&path).unwrap_err();
    assert_eq!(err.kind_name(), "malformed");
    assert!(err.to_string().contains("notes.txt"), "{err}");
    assert_eq!(
        inspect(dir.path().join("missing")).unwrap_err().kind_name(),
        "io"
    );
}

/// An existing empty file is not a log, and a writer refuses it (spec
/// vector `empty.log`, `open: refuses`), leaving it as it is: a log
/// truncated to zero bytes must not restart silently as a new log.
#[test]
fn an_existing_empty_file_is_refused_and_left_alone() {
    for name in ["a.jsonl", "a.evl"] {
        let dir = tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::File::create(&path).unwrap();
        for opts in [OpenOptions::new(), OpenOptions::new().create(false)] {
            let err = Log::open(&path, opts).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("file is empty: not an evident log"), "{msg}");
            assert!(msg.contains(name), "{msg}");
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }
}

/// Asked explicitly (`adopt_empty`, for systems that open their logs in
/// append mode: a file made by `touch` or `mkstemp`), a writer creates
/// the log in place of an existing empty file: atomically (a complete
/// genesis or the empty file, never half a genesis), keeping the file's
/// permission bits, through a symbolic link replacing the file it names,
/// and never a file that is not empty.
#[test]
fn an_existing_empty_file_is_adopted_only_when_asked() {
    for name in ["a.jsonl", "a.evl"] {
        let dir = tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::File::create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let log = Log::open(&path, OpenOptions::new().adopt_empty(true)).unwrap();
        assert!(log.recovery().created, "{name}: reported as created");
        log.append(&ev(1)).unwrap();
        log.close().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}: permission bits kept");
            let lock = dir.path().join(format!("{name}.lock"));
            let mode = std::fs::metadata(&lock).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{name}: the lock file is no wider");
        }
        let r = verify(&path, &VerifyOptions::default()).unwrap();
        assert!(r.violations.is_empty(), "{name}: {r:?}");
        assert_eq!(r.entries, 1, "{name}");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains("creating"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // An adopted log is a log: opened again with the option, it is
        // continued, not replaced.
        let log = Log::open(&path, OpenOptions::new().adopt_empty(true)).unwrap();
        assert!(!log.recovery().created);
        assert_eq!(log.head().seq, 1);
        log.close().unwrap();
    }
    // Not empty: refused as before, and left alone.
    let dir = tempdir().unwrap();
    let path = dir.path().join("x.jsonl");
    std::fs::write(&path, b"hello\n").unwrap();
    let err = Log::open(&path, OpenOptions::new().adopt_empty(true)).unwrap_err();
    assert!(err.to_string().contains("not an evident log"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"hello\n");
    // Without `create`, an empty file is not adopted.
    let path = dir.path().join("y.jsonl");
    std::fs::File::create(&path).unwrap();
    let err = Log::open(&path, OpenOptions::new().adopt_empty(true).create(false)).unwrap_err();
    assert!(err.to_string().contains("file is empty"), "{err}");
    // An empty file with a second name is not adopted (the other name
    // would keep the empty file): refused as before.
    let path = dir.path().join("z.jsonl");
    std::fs::File::create(&path).unwrap();
    std::fs::hard_link(&path, dir.path().join("z2.jsonl")).unwrap();
    let err = Log::open(&path, OpenOptions::new().adopt_empty(true)).unwrap_err();
    assert!(err.to_string().contains("file is empty"), "{err}");
    // Through a symbolic link: the link stays, the file it names becomes
    // the log.
    #[cfg(unix)]
    {
        let target = dir.path().join("target.jsonl");
        std::fs::File::create(&target).unwrap();
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let log = Log::open(&link, OpenOptions::new().adopt_empty(true)).unwrap();
        log.append(&ev(2)).unwrap();
        log.close().unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            verify(&target, &VerifyOptions::default()).unwrap().entries,
            1
        );
    }
}

#[test]
fn creating_a_log_removes_temporary_files_of_creators_that_are_gone() {
    // What a creator killed between writing its temporary file and linking
    // it leaves (on systems without unnamed files, or by earlier versions).
    let dir = tempfile::tempdir().unwrap();
    let gone = {
        let mut c = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--list")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    };
    let stale = dir
        .path()
        .join(format!(".a.jsonl.creating-{gone}-0123abcd"));
    let live = dir
        .path()
        .join(format!(".a.jsonl.creating-{}-4567abcd", std::process::id()));
    let other = dir
        .path()
        .join(format!(".b.jsonl.creating-{gone}-89abcdef"));
    for p in [&stale, &live, &other] {
        std::fs::write(p, b"partial").unwrap();
    }
    let log = Log::open(dir.path().join("a.jsonl"), OpenOptions::new()).unwrap();
    log.close().unwrap();
    assert!(!stale.exists(), "a dead creator's file is removed");
    assert!(live.exists(), "a running process's file is kept");
    assert!(other.exists(), "another log's file is kept");
}
