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

/// An existing empty file (`touch`, `mkstemp`, logrotate's `create`) is
/// opened as a new log when creating is allowed: it holds no entry to lose.
/// The file keeps its identity (written in place), two writers racing for it
/// make one log, and without `create` it is still refused.
#[test]
fn an_existing_empty_file_becomes_a_new_log() {
    for (name, framing) in [("a.jsonl", Framing::Jsonl), ("a.evl", Framing::Binary)] {
        let dir = tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::File::create(&path).unwrap();
        // Without `create`: not a log.
        let err = Log::open(&path, OpenOptions::new().create(false)).unwrap_err();
        assert!(err.to_string().contains("file is empty"), "{err}");
        // `create_new`: the file exists.
        assert!(Log::open(&path, OpenOptions::new().create_new(true)).is_err());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        #[cfg(unix)]
        let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap());
        let log = Log::open(&path, OpenOptions::new()).unwrap();
        assert_eq!(log.append(&ev(1)).unwrap().seq, 1);
        log.close().unwrap();
        #[cfg(unix)]
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&path).unwrap()),
            ino
        );
        let rep = verify(&path, &VerifyOptions::default()).unwrap();
        assert!(rep.valid, "{:?}", rep.violations);
        assert_eq!((rep.entries, rep.framing), (1, Some(framing)));
    }

    // Several writers racing for one empty file: one genesis, every entry.
    let dir = tempdir().unwrap();
    let path = dir.path().join("race.jsonl");
    std::fs::File::create(&path).unwrap();
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let opts = OpenOptions::new().lock_timeout(std::time::Duration::from_secs(20));
                let log = Log::open(&path, opts).unwrap();
                log.append(&ev(i)).unwrap();
                log.close().unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let rep = verify(&path, &VerifyOptions::default()).unwrap();
    assert!(rep.valid, "{:?}", rep.violations);
    assert_eq!(rep.entries, 6);

    // A file that is not empty and not a log is still refused, untouched.
    let other = dir.path().join("other.jsonl");
    std::fs::write(&other, b"x").unwrap();
    assert!(Log::open(&other, OpenOptions::new()).is_err());
    assert_eq!(std::fs::read(&other).unwrap(), b"x");
}
