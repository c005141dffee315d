//! Concurrency: threads sharing one `Log`, processes sharing one file in
//! `LockMode::Shared`, exclusive locking (in-process and across processes,
//! with and without a lock timeout), and readers running next to a writer.
//!
//! Child processes are this test binary re-run with `EVIDENT_CONC_CHILD`
//! set (`--exact conc_child --nocapture`); they report on stdout with lines
//! starting with `@`.
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use evident::{
    query, verify, Durability, Entry, Error, Event, Framing, LockMode, Log, OpenOptions, Order,
    Query, VerifyOptions,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const CHILD_ENV: &str = "EVIDENT_CONC_CHILD";
const CHILD_TEST: &str = "conc_child";
const FRAMINGS: [Framing; 2] = [Framing::Jsonl, Framing::Binary];
const MODES: [Durability; 3] = [
    Durability::Sync,
    Durability::GroupCommit,
    Durability::Buffered,
];

fn framing_name(f: Framing) -> &'static str {
    match f {
        Framing::Jsonl => "jsonl",
        Framing::Binary => "binary",
    }
}

fn parse_framing(s: &str) -> Framing {
    match s {
        "binary" => Framing::Binary,
        _ => Framing::Jsonl,
    }
}

fn mode_name(d: Durability) -> &'static str {
    match d {
        Durability::Sync => "sync",
        Durability::GroupCommit => "group",
        Durability::Buffered => "buffered",
    }
}

fn parse_mode(s: &str) -> Durability {
    match s {
        "sync" => Durability::Sync,
        "group" => Durability::GroupCommit,
        _ => Durability::Buffered,
    }
}

fn log_path(dir: &Path, framing: Framing) -> PathBuf {
    dir.join(match framing {
        Framing::Jsonl => "c.jsonl",
        Framing::Binary => "c.evl",
    })
}

fn opts(framing: Framing, mode: Durability, lock: LockMode) -> OpenOptions {
    let mut o = OpenOptions::new()
        .framing(framing)
        .durability(mode)
        .lock(lock);
    o.actor = Some("conc".into());
    o.host = Some("conc-host".into());
    o
}

fn ev(p: u64, t: u64, i: u64) -> Event {
    Event::new("CONC", "append")
        .details(json!({"p": p, "t": t, "i": i, "pad": "z".repeat((i % 13) as usize * 9)}))
}

fn all_entries(path: &Path) -> Vec<Entry> {
    query(path, &Query::default())
        .unwrap()
        .collect::<evident::Result<Vec<_>>>()
        .unwrap()
}

fn pti(e: &Entry) -> (u64, u64, u64) {
    let d = &e.details;
    (
        d["p"].as_u64().unwrap(),
        d["t"].as_u64().unwrap(),
        d["i"].as_u64().unwrap(),
    )
}

/// Checks a finished log: valid, `expected` entries, every `(p, t, i)`
/// present exactly once and each `(p, t)` in `i` order; every
/// acknowledged `(seq -> (p, t, i))` is where the writer was told it is.
fn check_log(
    path: &Path,
    expected: &BTreeSet<(u64, u64, u64)>,
    acks: &BTreeMap<u64, (u64, u64, u64)>,
    what: &str,
) {
    let r = verify(path, &VerifyOptions::default()).unwrap();
    assert!(r.valid, "{what}: {:?}", r.violations);
    assert_eq!(r.entries, expected.len() as u64, "{what}: entry count");
    let es = all_entries(path);
    let mut seen = BTreeSet::new();
    let mut next: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    for (k, e) in es.iter().enumerate() {
        assert_eq!(e.seq, k as u64 + 1, "{what}");
        let id = pti(e);
        assert!(seen.insert(id), "{what}: {id:?} twice");
        let n = next.entry((id.0, id.1)).or_insert(0);
        assert_eq!(
            id.2, *n,
            "{what}: process {} thread {} out of order",
            id.0, id.1
        );
        *n += 1;
    }
    assert_eq!(&seen, expected, "{what}: entries differ");
    let by_seq: BTreeMap<u64, (u64, u64, u64)> = es.iter().map(|e| (e.seq, pti(e))).collect();
    for (seq, id) in acks {
        assert_eq!(
            by_seq.get(seq),
            Some(id),
            "{what}: append of {id:?} returned seq {seq}"
        );
    }
}

// ---------------------------------------------------------- the child --

#[test]
fn conc_child() {
    let Ok(role) = std::env::var(CHILD_ENV) else {
        return;
    };
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    let var = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("child: {n} not set"));
    let path = PathBuf::from(var("EVIDENT_CONC_PATH"));
    let framing = parse_framing(&var("EVIDENT_CONC_FRAMING"));
    match role.as_str() {
        "append" => {
            let mode = parse_mode(&var("EVIDENT_CONC_MODE"));
            let p: u64 = var("EVIDENT_CONC_PROC").parse().unwrap();
            let threads: u64 = var("EVIDENT_CONC_THREADS").parse().unwrap();
            let count: u64 = var("EVIDENT_CONC_COUNT").parse().unwrap();
            let log = Log::open(&path, opts(framing, mode, LockMode::Shared))
                .unwrap_or_else(|e| panic!("child {p} open: {e}"));
            let log = Arc::new(log);
            let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
            let hs: Vec<_> = (0..threads)
                .map(|t| {
                    let log = log.clone();
                    let out = out.clone();
                    std::thread::spawn(move || {
                        let mut last = 0;
                        for i in 0..count {
                            let h = log
                                .append(&ev(p, t, i))
                                .unwrap_or_else(|e| panic!("child {p} append: {e}"));
                            assert!(h.seq > last, "seq went back");
                            last = h.seq;
                            let mut o = out.lock().unwrap();
                            writeln!(o, "@ack {} {p} {t} {i}", h.seq).unwrap();
                            o.flush().unwrap();
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            log.close().unwrap();
            println!("@done");
        }
        "hold" => {
            let log = Log::open(&path, opts(framing, Durability::Sync, LockMode::Exclusive))
                .unwrap_or_else(|e| panic!("hold open: {e}"));
            log.append(&ev(9, 9, 0)).unwrap();
            println!("@locked {}", std::process::id());
            std::io::stdout().flush().unwrap();
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).unwrap();
            log.close().unwrap();
            drop(log);
            println!("@released");
        }
        other => panic!("unknown child role {other}"),
    }
}

fn spawn_child(role: &str, envs: &[(&str, String)]) -> Child {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, role)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        c.env(k, v);
    }
    c.spawn().unwrap()
}

/// The `@` part of a child's stdout line (libtest may print before it).
fn at_part(line: &str) -> Option<&str> {
    line.find('@').map(|i| &line[i..])
}

/// Waits for a child, returning its `@` lines; panics with its stderr if it
/// failed.
fn finish_child(mut c: Child, what: &str) -> Vec<String> {
    let mut out = String::new();
    c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let mut err = String::new();
    c.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let st = c.wait().unwrap();
    assert!(st.success(), "{what}: child failed ({st}):\n{err}");
    out.lines()
        .filter_map(at_part)
        .map(str::to_string)
        .collect()
}

// ------------------------------------------------------------ threads --

#[test]
fn threads_share_one_log_in_every_mode() {
    const THREADS: u64 = 4;
    for framing in FRAMINGS {
        for mode in MODES {
            let per: u64 = if mode == Durability::Sync { 30 } else { 150 };
            let what = format!("{framing:?} {mode:?}");
            let dir = tempfile::tempdir().unwrap();
            let path = log_path(dir.path(), framing);
            let mut o = opts(framing, mode, LockMode::Exclusive);
            o.buffer_size = 1000;
            let log = Arc::new(Log::open(&path, o).unwrap());
            let barrier = Arc::new(Barrier::new(THREADS as usize));
            let hs: Vec<_> = (0..THREADS)
                .map(|t| {
                    let log = log.clone();
                    let barrier = barrier.clone();
                    std::thread::spawn(move || {
                        barrier.wait();
                        (0..per)
                            .map(|i| (log.append(&ev(0, t, i)).unwrap().seq, (0, t, i)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut acks = BTreeMap::new();
            for h in hs {
                let got = h.join().unwrap();
                assert!(
                    got.windows(2).all(|w| w[0].0 < w[1].0),
                    "{what}: seqs not increasing"
                );
                for (seq, id) in got {
                    assert!(
                        acks.insert(seq, id).is_none(),
                        "{what}: seq {seq} returned twice"
                    );
                }
            }
            assert_eq!(log.head().seq, THREADS * per, "{what}");
            log.close().unwrap();
            let expected = (0..THREADS)
                .flat_map(|t| (0..per).map(move |i| (0, t, i)))
                .collect();
            check_log(&path, &expected, &acks, &what);
        }
    }
}

// ---------------------------------------------------------- processes --

fn run_processes(framing: Framing, mode: Durability, procs: u64, threads: u64, count: u64) {
    let what = format!("{framing:?} {mode:?} shared, {procs} processes");
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path(), framing);
    // The children race to create the log.
    let children: Vec<Child> = (0..procs)
        .map(|p| {
            spawn_child(
                "append",
                &[
                    ("EVIDENT_CONC_PATH", path.display().to_string()),
                    ("EVIDENT_CONC_FRAMING", framing_name(framing).into()),
                    ("EVIDENT_CONC_MODE", mode_name(mode).into()),
                    ("EVIDENT_CONC_PROC", p.to_string()),
                    ("EVIDENT_CONC_THREADS", threads.to_string()),
                    ("EVIDENT_CONC_COUNT", count.to_string()),
                ],
            )
        })
        .collect();
    // This process appends too, with its own threads.
    let me = procs;
    // The log may not exist yet: this open races the children's.
    let log = Arc::new(
        Log::open(&path, opts(framing, mode, LockMode::Shared))
            .unwrap_or_else(|e| panic!("{what}: parent open: {e}")),
    );
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                (0..count)
                    .map(|i| (log.append(&ev(me, t, i)).unwrap().seq, (me, t, i)))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut acks = BTreeMap::new();
    for h in hs {
        for (seq, id) in h.join().unwrap() {
            assert!(acks.insert(seq, id).is_none(), "{what}: seq {seq} twice");
        }
    }
    log.close().unwrap();
    drop(log);
    for (p, c) in children.into_iter().enumerate() {
        let lines = finish_child(c, &format!("{what}: child {p}"));
        assert_eq!(lines.last().map(String::as_str), Some("@done"), "{what}");
        for l in lines.iter().filter(|l| l.starts_with("@ack ")) {
            let f: Vec<u64> = l[5..].split(' ').map(|x| x.parse().unwrap()).collect();
            let prev = acks.insert(f[0], (f[1], f[2], f[3]));
            assert!(prev.is_none(), "{what}: seq {} acknowledged twice", f[0]);
        }
    }
    let expected: BTreeSet<_> = (0..=procs)
        .flat_map(|p| (0..threads).flat_map(move |t| (0..count).map(move |i| (p, t, i))))
        .collect();
    assert_eq!(acks.len(), expected.len(), "{what}: acknowledgements");
    check_log(&path, &expected, &acks, &what);
    // No torn tails were moved aside: every writer finished its records.
    let sidecars: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".torn-"))
        .collect();
    assert!(sidecars.is_empty(), "{what}: {sidecars:?}");
}

#[test]
fn processes_share_one_log_group_commit() {
    run_processes(Framing::Jsonl, Durability::GroupCommit, 3, 2, 40);
    run_processes(Framing::Binary, Durability::GroupCommit, 3, 2, 40);
}

#[test]
fn processes_share_one_log_sync_and_buffered() {
    run_processes(Framing::Binary, Durability::Sync, 2, 2, 15);
    run_processes(Framing::Jsonl, Durability::Buffered, 3, 2, 60);
    run_processes(Framing::Binary, Durability::Buffered, 3, 2, 60);
}

// ------------------------------------------------------- exclusive lock --

fn expect_locked(r: evident::Result<Log>, pid: u32, what: &str) {
    match r {
        Err(Error::Locked { path, holder }) => {
            assert!(
                holder.contains(&format!("pid {pid}")),
                "{what}: holder {holder:?} does not name pid {pid}"
            );
            let msg = Error::Locked {
                path: path.clone(),
                holder: holder.clone(),
            }
            .to_string();
            assert!(msg.contains("c."), "{what}: {msg}");
            assert!(msg.contains(&format!("pid {pid}")), "{what}: {msg}");
        }
        Err(e) => panic!("{what}: expected Error::Locked, got {e}"),
        Ok(_) => panic!("{what}: a second writer opened an exclusively locked log"),
    }
}

#[test]
fn exclusive_lock_in_process() {
    for framing in FRAMINGS {
        let what = format!("{framing:?}");
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(dir.path(), framing);
        let ex = opts(framing, Durability::Sync, LockMode::Exclusive);
        let a = Log::open(&path, ex.clone()).unwrap();
        a.append(&ev(0, 0, 0)).unwrap();
        let me = std::process::id();
        expect_locked(Log::open(&path, ex.clone()), me, &what);
        expect_locked(
            Log::open(&path, ex.clone().lock_timeout(Duration::from_millis(30))),
            me,
            &format!("{what} with a short timeout"),
        );
        // A shared-mode writer cannot slip in either.
        let sh = opts(framing, Durability::Sync, LockMode::Shared)
            .lock_timeout(Duration::from_millis(30));
        expect_locked(Log::open(&path, sh), me, &format!("{what} shared"));
        // close() releases the lock even while the handle lives.
        a.close().unwrap();
        let b = Log::open(&path, ex.clone()).unwrap();
        b.append(&ev(0, 0, 1)).unwrap();
        assert_eq!(b.head().seq, 2);
        expect_locked(Log::open(&path, ex.clone()), me, &what);

        // With a timeout, a second writer waits until the first closes.
        let released = Arc::new(AtomicBool::new(false));
        let opened = Arc::new(AtomicBool::new(false));
        let waiter = {
            let path = path.clone();
            let ex = ex.clone();
            let released = released.clone();
            let opened = opened.clone();
            std::thread::spawn(move || {
                let l = Log::open(&path, ex.lock_timeout(Duration::from_secs(60)))
                    .expect("waiting writer gets the lock");
                assert!(
                    released.load(Ordering::SeqCst),
                    "the waiting writer got the lock while the first still held it"
                );
                opened.store(true, Ordering::SeqCst);
                l.append(&ev(0, 1, 0)).unwrap().seq
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        assert!(!opened.load(Ordering::SeqCst), "{what}");
        released.store(true, Ordering::SeqCst);
        drop(b);
        assert_eq!(waiter.join().unwrap(), 3, "{what}: chain continues");
        let r = verify(&path, &VerifyOptions::default()).unwrap();
        assert!(r.valid && r.entries == 3, "{what}: {:?}", r.violations);
    }
}

#[test]
fn exclusive_lock_across_processes() {
    for framing in FRAMINGS {
        let what = format!("{framing:?}");
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(dir.path(), framing);
        let envs = [
            ("EVIDENT_CONC_PATH", path.display().to_string()),
            ("EVIDENT_CONC_FRAMING", framing_name(framing).to_string()),
        ];
        let ex = opts(framing, Durability::Sync, LockMode::Exclusive);

        // 1. The holder is named; a timeout waits for its close.
        let mut child = spawn_child("hold", &envs);
        let pid = child.id();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("@locked") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "{what}: child died");
        }
        assert!(line.contains(&format!("@locked {pid}")), "{what}: {line}");
        expect_locked(Log::open(&path, ex.clone()), pid, &what);
        let waiter = {
            let path = path.clone();
            let ex = ex.clone();
            std::thread::spawn(move || {
                Log::open(&path, ex.lock_timeout(Duration::from_secs(60))).map(|l| l.head().seq)
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        child.stdin.take().unwrap().write_all(b"release\n").unwrap();
        let seq = waiter
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("{what}: waiting open: {e}"));
        assert_eq!(seq, 1, "{what}: the holder's entry is there");
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        assert!(rest.contains("@released"), "{what}");
        assert!(child.wait().unwrap().success(), "{what}");

        // 2. A holder killed with SIGKILL leaves no lock behind (its stale
        //    holder text does not block).
        let mut child = spawn_child("hold", &envs);
        let pid = child.id();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("@locked") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "{what}: child died");
        }
        expect_locked(Log::open(&path, ex.clone()), pid, &what);
        child.kill().unwrap();
        child.wait().unwrap();
        let l = Log::open(&path, ex.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(l.head().seq, 2, "{what}");
        // And the new holder is named now.
        expect_locked(Log::open(&path, ex.clone()), std::process::id(), &what);
        drop(l);
    }
}

// ----------------------------------------------- readers next to writers --

/// What a reader may see of a live log: verify is valid or finds only a
/// torn tail at the very end; queries return whole entries only, seqs
/// `1..=n` forward and backward, each with the hash the writer gave it.
fn read_live(path: &Path, truth: &dyn Fn(u64) -> Option<String>, threads: usize, what: &str) {
    let len = std::fs::metadata(path).unwrap().len();
    let r = verify(path, &VerifyOptions::default().threads(threads).all(true)).unwrap();
    assert!(
        r.valid || r.only_torn_tail(),
        "{what}: verify on a live log: {:?}",
        r.violations
    );
    if let Some(v) = r.violations.first() {
        // The torn tail is past every entry verify counted.
        assert!(v.offset < r.bytes && r.bytes >= len, "{what}: {v:?}");
        assert_eq!(r.head_seq, r.entries, "{what}");
    }
    for order in [Order::OldestFirst, Order::NewestFirst] {
        let q = Query::default().order(order);
        let es: Vec<Entry> = query(path, &q)
            .unwrap()
            .collect::<evident::Result<_>>()
            .unwrap_or_else(|e| panic!("{what}: {order:?} query on a live log: {e}"));
        let mut seqs: Vec<u64> = es.iter().map(|e| e.seq).collect();
        if order == Order::NewestFirst {
            seqs.reverse();
        }
        let n = seqs.len() as u64;
        assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "{what}: {order:?}");
        for e in &es {
            if let Some(h) = truth(e.seq) {
                assert_eq!(e.hash, h, "{what}: entry {} is not what was written", e.seq);
            }
        }
    }
    let last: Vec<Entry> = query(path, &Query::last(5))
        .unwrap()
        .collect::<evident::Result<_>>()
        .unwrap();
    assert!(last.windows(2).all(|w| w[0].seq == w[1].seq + 1), "{what}");
}

#[test]
fn readers_next_to_a_writer() {
    for framing in FRAMINGS {
        for mode in [Durability::Buffered, Durability::GroupCommit] {
            let what = format!("{framing:?} {mode:?} live");
            let dir = tempfile::tempdir().unwrap();
            let path = log_path(dir.path(), framing);
            let mut o = opts(framing, mode, LockMode::Exclusive);
            o.buffer_size = 1500;
            let log = Arc::new(Log::open(&path, o).unwrap());
            let done = Arc::new(AtomicBool::new(false));
            let writers: Vec<_> = (0..2u64)
                .map(|t| {
                    let log = log.clone();
                    std::thread::spawn(move || {
                        for i in 0..400 {
                            log.append(&ev(0, t, i)).unwrap();
                        }
                    })
                })
                .collect();
            let readers: Vec<_> = (0..2usize)
                .map(|k| {
                    let path = path.clone();
                    let done = done.clone();
                    let what = what.clone();
                    std::thread::spawn(move || {
                        let mut rounds = 0;
                        while !done.load(Ordering::SeqCst) || rounds < 3 {
                            read_live(&path, &|_| None, k + 1, &what);
                            rounds += 1;
                        }
                        rounds
                    })
                })
                .collect();
            for w in writers {
                w.join().unwrap();
            }
            log.close().unwrap();
            done.store(true, Ordering::SeqCst);
            for r in readers {
                r.join().unwrap();
            }
            let r = verify(&path, &VerifyOptions::default()).unwrap();
            assert!(r.valid && r.entries == 800, "{what}: {:?}", r.violations);
        }
    }
}

/// A writer that grows the file a few bytes at a time (so readers see
/// every kind of partial record), next to readers checking every entry
/// they return against the complete log.
#[test]
fn readers_see_only_whole_records_of_a_growing_file() {
    let mut rng = StdRng::seed_from_u64(3);
    for framing in FRAMINGS {
        let what = format!("{framing:?} byte-wise growth");
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join(match framing {
            Framing::Jsonl => "src.jsonl",
            Framing::Binary => "src.evl",
        });
        let log = Log::open(
            &src,
            opts(framing, Durability::Buffered, LockMode::Exclusive),
        )
        .unwrap();
        for i in 0..150 {
            log.append(&ev(0, 0, i)).unwrap();
        }
        log.close().unwrap();
        drop(log);
        let full = std::fs::read(&src).unwrap();
        let truth: Arc<BTreeMap<u64, String>> = Arc::new(
            all_entries(&src)
                .into_iter()
                .map(|e| (e.seq, e.hash))
                .collect(),
        );
        // The live copy starts with the header and the genesis.
        let first_nl = match framing {
            Framing::Jsonl => full.iter().position(|c| *c == b'\n').unwrap() + 1,
            Framing::Binary => {
                16 + u32::from_le_bytes(full[16..20].try_into().unwrap()) as usize
                    + u16::from_le_bytes(full[20..22].try_into().unwrap()) as usize
                    + 16
            }
        };
        let live = log_path(dir.path(), framing);
        std::fs::write(&live, &full[..first_nl]).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2usize)
            .map(|k| {
                let live = live.clone();
                let done = done.clone();
                let truth = truth.clone();
                let what = what.clone();
                std::thread::spawn(move || {
                    let mut rounds = 0u64;
                    while !done.load(Ordering::SeqCst) {
                        read_live(&live, &|s| truth.get(&s).cloned(), k + 1, &what);
                        rounds += 1;
                    }
                    rounds
                })
            })
            .collect();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&live)
            .unwrap();
        let mut pos = first_nl;
        while pos < full.len() {
            let n = rng.gen_range(1..200).min(full.len() - pos);
            f.write_all(&full[pos..pos + n]).unwrap();
            pos += n;
            std::thread::sleep(Duration::from_micros(rng.gen_range(0..400)));
        }
        done.store(true, Ordering::SeqCst);
        let rounds: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
        assert!(rounds > 0, "{what}");
        read_live(&live, &|s| truth.get(&s).cloned(), 2, &what);
        let r = verify(&live, &VerifyOptions::default()).unwrap();
        assert!(r.valid && r.entries == 150, "{what}: {:?}", r.violations);
    }
}

// ------------------------------------------------ shared-lock fairness --

/// A storage on a slow disk: every write takes 5 ms (with the lock held).
struct SlowDisk(evident::storage::FileStorage);

impl evident::storage::Storage for SlowDisk {
    fn append(&self, buf: &[u8]) -> std::io::Result<()> {
        std::thread::sleep(Duration::from_millis(5));
        self.0.append(buf)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        self.0.read_at(buf, offset)
    }
    fn len(&self) -> std::io::Result<u64> {
        self.0.len()
    }
    fn truncate(&self, len: u64) -> std::io::Result<()> {
        self.0.truncate(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.0.sync_data()
    }
}

/// One busy shared-mode writer (4 threads, 5 ms per write) must not lock
/// another writer out: the second one's open and appends get the lock
/// within a 2 s lock timeout although nobody holds it for more than 5 ms.
#[test]
fn shared_writer_is_not_starved_by_a_busy_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(dir.path(), Framing::Jsonl);
    let o = opts(Framing::Jsonl, Durability::Buffered, LockMode::Shared);
    let mut slow = o.clone();
    slow = slow.storage_hook(Arc::new(
        |fs: evident::storage::FileStorage| -> Box<dyn evident::storage::Storage> {
            Box::new(SlowDisk(fs))
        },
    ));
    let busy = Arc::new(Log::open(&path, slow).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let hogs: Vec<_> = (0..4)
        .map(|t| {
            let busy = busy.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    busy.append(&ev(0, t, i)).unwrap();
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    let result = Log::open(&path, o.lock_timeout(Duration::from_secs(2))).and_then(|other| {
        for i in 0..10 {
            other.append(&ev(1, 0, i))?;
        }
        other.close()
    });
    stop.store(true, Ordering::SeqCst);
    for h in hogs {
        h.join().unwrap();
    }
    result.unwrap();
}

/// A storage whose next write waits until the test lets it go.
struct BlockingDisk {
    inner: evident::storage::FileStorage,
    gate: Arc<(std::sync::Mutex<(bool, bool)>, std::sync::Condvar)>,
}

impl evident::storage::Storage for BlockingDisk {
    fn append(&self, buf: &[u8]) -> std::io::Result<()> {
        let (m, cv) = &*self.gate;
        let mut g = m.lock().unwrap();
        g.0 = true; // entered
        cv.notify_all();
        while !g.1 {
            g = cv.wait(g).unwrap();
        }
        drop(g);
        self.inner.append(buf)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn truncate(&self, len: u64) -> std::io::Result<()> {
        self.inner.truncate(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.inner.sync_data()
    }
}

/// When a shared-mode writer holds the lock, the error names no one else:
/// not an exclusive writer that held the log earlier and is gone.
#[test]
fn locked_error_does_not_name_a_stale_exclusive_holder() {
    let dir = tempfile::tempdir().unwrap();
    let framing = Framing::Jsonl;
    let path = log_path(dir.path(), framing);
    // An exclusive writer in another process opens, appends, closes, exits.
    let mut child = spawn_child(
        "hold",
        &[
            ("EVIDENT_CONC_PATH", path.display().to_string()),
            ("EVIDENT_CONC_FRAMING", framing_name(framing).to_string()),
        ],
    );
    let old_pid = child.id();
    child.stdin.take().unwrap().write_all(b"release\n").unwrap();
    let lines = finish_child(child, "holder");
    assert!(lines.iter().any(|l| l == "@released"), "{lines:?}");

    // A shared-mode writer is in the middle of an append (lock held).
    let gate = Arc::new((
        std::sync::Mutex::new((false, false)),
        std::sync::Condvar::new(),
    ));
    let mut o = opts(framing, Durability::Sync, LockMode::Shared);
    let g2 = gate.clone();
    o = o.storage_hook(Arc::new(
        move |fs: evident::storage::FileStorage| -> Box<dyn evident::storage::Storage> {
            Box::new(BlockingDisk {
                inner: fs,
                gate: g2.clone(),
            })
        },
    ));
    let busy = Arc::new(Log::open(&path, o).unwrap());
    let b2 = busy.clone();
    let appender = std::thread::spawn(move || b2.append(&ev(0, 0, 0)).map(|h| h.seq));
    {
        let (m, cv) = &*gate;
        let mut g = m.lock().unwrap();
        while !g.0 {
            g = cv.wait(g).unwrap();
        }
    }
    let r = Log::open(
        &path,
        opts(framing, Durability::Sync, LockMode::Shared).lock_timeout(Duration::from_millis(50)),
    );
    {
        let (m, cv) = &*gate;
        m.lock().unwrap().1 = true;
        cv.notify_all();
    }
    assert_eq!(appender.join().unwrap().unwrap(), 2);
    match r {
        Err(Error::Locked { holder, .. }) => assert!(
            !holder.contains(&format!("pid {old_pid}")),
            "the lock is held by a shared-mode writer, but the error names \
             the exclusive writer that closed the log earlier: {holder:?}"
        ),
        Err(e) => panic!("expected Error::Locked, got {e}"),
        Ok(_) => panic!("opened while another writer held the lock"),
    }
}
