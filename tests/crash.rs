//! Crash tests: a child process appending in a loop is SIGKILLed at random
//! moments, many rounds, and the parent checks after every kill that the log
//! reopens, verifies and holds every entry the child acknowledged as durable.
//!
//! The test binary re-runs itself as the child (in the style of sled's
//! `test_crash_recovery`): `current_exe() --exact crash_child --nocapture`
//! with `EVIDENT_CRASH_CHILD` set. The child prints one line per event to
//! stdout and flushes it:
//!
//! - `@ready <seq>` once the log is open (head seq at open);
//! - `@ack <seq> <round> <thread> <i>` after `append` returned `Ok` (durable
//!   in `Sync` and `GroupCommit` modes, only buffered in `Buffered` mode);
//! - `@synced <seq>` after `sync()` returned `Ok` (`Buffered` mode): every
//!   entry up to `<seq>` is durable.
//!
//! Every round appends to the same log, so the chain must continue across
//! kills. Environment knobs: `EVIDENT_CRASH_ROUNDS` (rounds per test,
//! default 28) and `EVIDENT_CRASH_SEED` (RNG seed; printed on failure).
#![allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use evident::storage::{FileStorage, Storage};
use evident::{
    query, verify, Durability, Entry, Event, Framing, Hash, HashAlg, Key, LockMode, Log,
    OpenOptions, Query, VerifyOptions,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const CHILD_ENV: &str = "EVIDENT_CRASH_CHILD";
const CHILD_TEST: &str = "crash_child";
const GROUP_THREADS: u64 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Sync,
    Group,
    Buffered,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Group => "group",
            Mode::Buffered => "buffered",
        }
    }
    fn parse(s: &str) -> Mode {
        match s {
            "sync" => Mode::Sync,
            "group" => Mode::Group,
            "buffered" => Mode::Buffered,
            other => panic!("unknown mode {other}"),
        }
    }
    fn durability(self) -> Durability {
        match self {
            Mode::Sync => Durability::Sync,
            Mode::Group => Durability::GroupCommit,
            Mode::Buffered => Durability::Buffered,
        }
    }
}

fn framing_name(f: Framing) -> &'static str {
    match f {
        Framing::Jsonl => "jsonl",
        Framing::Binary => "binary",
    }
}

fn parse_framing(s: &str) -> Framing {
    match s {
        "jsonl" => Framing::Jsonl,
        "binary" => Framing::Binary,
        other => panic!("unknown framing {other}"),
    }
}

/// Everything the child needs, passed in environment variables.
#[derive(Debug, Clone)]
struct ChildSpec {
    path: PathBuf,
    mode: Mode,
    framing: Framing,
    key: Option<Vec<u8>>,
    alg: Option<HashAlg>,
    round: u64,
    seed: u64,
    /// Large entries written slowly (see `SlowWrites`).
    big: bool,
    /// `LockMode::Shared` (several children at once).
    shared: bool,
    /// Children per round.
    procs: u64,
    /// In a child: its index (entries of its thread t say `t + 100 * proc`).
    proc: u64,
}

impl ChildSpec {
    fn open_options(&self, durability: Durability) -> OpenOptions {
        let mut o = OpenOptions::new()
            .framing(self.framing)
            .durability(durability);
        o.key = self.key.clone().map(|k| Key::new(k).unwrap());
        o.alg = self.alg;
        if self.shared {
            o.lock = LockMode::Shared;
            // Generous: contention is heavy here, and a writer that waits
            // long for the lock is not what this test is about.
            o.lock_timeout = Some(Duration::from_secs(60));
        }
        o.actor = Some("crash-test".into());
        o.host = Some("crash-host".into());
        o
    }
}

// ---------------------------------------------------------------- child --

/// The child role. Does nothing unless the parent set `EVIDENT_CRASH_CHILD`.
#[test]
fn crash_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let var = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("child: {n} not set"));
    let key = var("EVIDENT_CRASH_KEY");
    let spec = ChildSpec {
        path: PathBuf::from(var("EVIDENT_CRASH_PATH")),
        mode: Mode::parse(&var("EVIDENT_CRASH_MODE")),
        framing: parse_framing(&var("EVIDENT_CRASH_FRAMING")),
        key: (!key.is_empty()).then(|| hex::decode(key).unwrap()),
        alg: HashAlg::from_name(&var("EVIDENT_CRASH_ALG")),
        round: var("EVIDENT_CRASH_ROUND").parse().unwrap(),
        seed: var("EVIDENT_CRASH_SEED").parse().unwrap(),
        big: var("EVIDENT_CRASH_BIG") == "1",
        shared: var("EVIDENT_CRASH_SHARED") == "1",
        procs: 0,
        proc: var("EVIDENT_CRASH_PROC").parse().unwrap(),
    };
    // Die with the parent test (a failed test must not leave appenders).
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(300));
        std::process::exit(4);
    });
    child_main(&spec);
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes()).unwrap();
    out.write_all(b"\n").unwrap();
    out.flush().unwrap();
}

fn child_event(rng: &mut StdRng, round: u64, thread: u64, i: u64, big: bool) -> Event {
    // Mostly small entries; now and then a bigger one. In "big" rounds some
    // entries are large (see `SlowWrites`).
    let len = if big && rng.gen_ratio(1, 4) {
        rng.gen_range(256 * 1024..1024 * 1024)
    } else if rng.gen_ratio(1, 40) {
        rng.gen_range(8 * 1024..128 * 1024)
    } else {
        rng.gen_range(0..300)
    };
    let pad = "p".repeat(len);
    Event::new("CRASH", "append")
        .session(format!("round-{round}"))
        .details(json!({"r": round, "t": thread, "i": i, "pad": pad}))
}

/// The child's storage in "big" rounds: a write of 64 KiB or more is
/// announced with `@write` and reaches the file in 16 KiB pieces with short
/// pauses, so the parent can kill the child in the middle of it. A kill
/// there leaves what a kill inside one long `write(2)` leaves: the first
/// part of the buffer in the file (torn tails from real kills, not only
/// from simulations).
struct SlowWrites(FileStorage);

impl Storage for SlowWrites {
    fn append(&self, buf: &[u8]) -> std::io::Result<()> {
        if buf.len() < 64 * 1024 {
            return self.0.append(buf);
        }
        say("@write");
        for piece in buf.chunks(16 * 1024) {
            self.0.append(piece)?;
            std::thread::sleep(Duration::from_micros(200));
        }
        Ok(())
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

fn child_main(spec: &ChildSpec) -> ! {
    let mut opts = spec.open_options(spec.mode.durability());
    if spec.big {
        opts = opts.storage_hook(std::sync::Arc::new(|fs: FileStorage| -> Box<dyn Storage> {
            Box::new(SlowWrites(fs))
        }));
    }
    let mut rng = StdRng::seed_from_u64(spec.seed);
    if spec.mode == Mode::Buffered {
        // Small buffer: the OS sees writes between syncs too.
        opts.buffer_size = if rng.gen_bool(0.5) {
            rng.gen_range(128..2048)
        } else {
            rng.gen_range(64 * 1024..512 * 1024)
        };
    }
    let log = Log::open(&spec.path, opts).unwrap_or_else(|e| panic!("child open: {e}"));
    say(&format!("@ready {}", log.head().seq));
    let base = 100 * spec.proc;
    match spec.mode {
        Mode::Sync => {
            for i in 0.. {
                let ev = child_event(&mut rng, spec.round, base, i, spec.big);
                let h = log
                    .append(&ev)
                    .unwrap_or_else(|e| panic!("child append: {e}"));
                say(&format!("@ack {} {} {base} {i}", h.seq, spec.round));
            }
        }
        Mode::Group => {
            let log = std::sync::Arc::new(log);
            let handles: Vec<_> = (base..base + GROUP_THREADS)
                .map(|t| {
                    let log = log.clone();
                    let round = spec.round;
                    let big = spec.big;
                    let seed = spec.seed ^ (t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    std::thread::spawn(move || {
                        let mut rng = StdRng::seed_from_u64(seed);
                        for i in 0.. {
                            let ev = child_event(&mut rng, round, t, i, big);
                            let h = log
                                .append(&ev)
                                .unwrap_or_else(|e| panic!("child append: {e}"));
                            say(&format!("@ack {} {round} {t} {i}", h.seq));
                        }
                    })
                })
                .collect();
            for h in handles {
                if h.join().is_err() {
                    std::process::exit(3);
                }
            }
        }
        Mode::Buffered => {
            let k = rng.gen_range(1..=16u64);
            for i in 0.. {
                let ev = child_event(&mut rng, spec.round, base, i, spec.big);
                let h = log
                    .append(&ev)
                    .unwrap_or_else(|e| panic!("child append: {e}"));
                say(&format!("@ack {} {} {base} {i}", h.seq, spec.round));
                if (i + 1) % k == 0 {
                    log.sync().unwrap_or_else(|e| panic!("child sync: {e}"));
                    say(&format!("@synced {}", h.seq));
                }
            }
        }
    }
    unreachable!("the child appends until it is killed")
}

// --------------------------------------------------------------- parent --

/// What the child said before it died.
#[derive(Debug, Default)]
struct Said {
    ready: bool,
    /// seq -> (round, thread, i), for every append that returned Ok.
    acks: BTreeMap<u64, (u64, u64, u64)>,
    /// Highest seq covered by a successful `sync()`.
    synced: u64,
}

impl Said {
    fn absorb(&mut self, line: &str) {
        // libtest may print "test crash_child ... " before the first line.
        let Some(at) = line.find('@') else {
            return;
        };
        let f: Vec<&str> = line[at..].split_whitespace().collect();
        let num = |i: usize| -> u64 { f[i].parse().unwrap() };
        match f.first().copied() {
            Some("@ready") => self.ready = true,
            Some("@write") => {}
            Some("@ack") => {
                let prev = self.acks.insert(num(1), (num(2), num(3), num(4)));
                assert!(prev.is_none(), "seq {} acknowledged twice", num(1));
            }
            Some("@synced") => self.synced = self.synced.max(num(1)),
            _ => {} // libtest's own output
        }
    }
    fn max_ack(&self) -> u64 {
        self.acks.keys().next_back().copied().unwrap_or(0)
    }
}

/// A child that is running.
struct Running {
    child: std::process::Child,
    rx: mpsc::Receiver<String>,
    out_thread: std::thread::JoinHandle<()>,
    err_thread: std::thread::JoinHandle<String>,
}

/// The chain head the parent saw after the previous round.
#[derive(Debug, Clone, Copy)]
struct Seen {
    seq: u64,
    hash: Hash,
}

struct Harness {
    name: String,
    spec: ChildSpec,
    rng: StdRng,
    seed: u64,
    prev: Option<Seen>,
    log_id: Option<String>,
    sidecars: Vec<PathBuf>,
    kills_before_ready: u32,
    /// Torn tails left for the next child's open.
    left_torn: u32,
}

fn seed_for(name: &str) -> u64 {
    if let Ok(s) = std::env::var("EVIDENT_CRASH_SEED") {
        return s.parse().expect("EVIDENT_CRASH_SEED must be a number");
    }
    // A fixed seed per test: the kill moments still vary with timing.
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

fn rounds() -> u64 {
    std::env::var("EVIDENT_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(28)
}

impl Harness {
    fn fail(&self, round: u64, msg: impl std::fmt::Display) -> ! {
        panic!(
            "{} round {round} (seed {}, rerun with EVIDENT_CRASH_SEED={}): {msg}",
            self.name, self.seed, self.seed
        )
    }

    /// Starts child `proc` of this round.
    fn spawn(&mut self, round: u64, proc: u64) -> Running {
        let exe = std::env::current_exe().unwrap();
        let seed = self.rng.gen::<u64>();
        let spec = &self.spec;
        let mut child = Command::new(exe)
            .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "1")
            .env("EVIDENT_CRASH_PATH", &spec.path)
            .env("EVIDENT_CRASH_MODE", spec.mode.name())
            .env("EVIDENT_CRASH_FRAMING", framing_name(spec.framing))
            .env(
                "EVIDENT_CRASH_KEY",
                spec.key.as_ref().map(hex::encode).unwrap_or_default(),
            )
            .env(
                "EVIDENT_CRASH_ALG",
                spec.alg.map(|a| a.name()).unwrap_or("default"),
            )
            .env("EVIDENT_CRASH_ROUND", round.to_string())
            // Only the first child writes slowly: in shared mode the slow
            // writes hold the lock, and the others should not starve on it.
            .env(
                "EVIDENT_CRASH_BIG",
                if spec.big && proc == 0 { "1" } else { "0" },
            )
            .env("EVIDENT_CRASH_SHARED", if spec.shared { "1" } else { "0" })
            .env("EVIDENT_CRASH_PROC", proc.to_string())
            .env("EVIDENT_CRASH_SEED", seed.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();

        // Lines (complete ones only: a line cut by the kill is ignored).
        let (tx, rx) = mpsc::channel::<String>();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let out_thread = std::thread::spawn(move || {
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match stdout.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if buf.last() == Some(&b'\n') => {
                        let _ = tx.send(String::from_utf8_lossy(&buf).trim_end().to_string());
                    }
                    Ok(_) => break,
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let err_thread = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Running {
            child,
            rx,
            out_thread,
            err_thread,
        }
    }

    /// SIGKILLs a child; it must not have ended by itself.
    fn kill(&self, round: u64, r: Running, said: &mut Said) {
        let Running {
            mut child,
            rx,
            out_thread,
            err_thread,
        } = r;
        child.kill().unwrap();
        let status = child.wait().unwrap();
        out_thread.join().unwrap();
        let err = err_thread.join().unwrap_or_default();
        if status.signal() != Some(libc::SIGKILL) {
            self.fail(
                round,
                format!("child ended by itself ({status}) before the kill; stderr:\n{err}"),
            );
        }
        for line in rx.try_iter() {
            said.absorb(&line);
        }
    }

    /// Runs this round's children and kills them; returns what they said.
    fn run_round(&mut self, round: u64) -> Said {
        // How this round's (first) kill is timed: 0 anywhere (also during
        // open), 1 right after a slow big write started, 2 at a random
        // moment while appending.
        let how = match self.rng.gen_range(0..100) {
            0..=14 => 0,
            15..=44 => 1,
            _ => 2,
        };
        self.spec.big = how == 1;
        let procs = self.spec.procs;
        let mut running: Vec<Running> = (0..procs).map(|p| self.spawn(round, p)).collect();
        let mut said = Said::default();
        let first = running.remove(0);
        if how == 0 {
            std::thread::sleep(Duration::from_micros(self.rng.gen_range(0..15_000)));
        } else {
            // Wait until child 0 is appending (or writing), then a delay.
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            let mut ready = false;
            loop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match first.rx.recv_timeout(left) {
                    Ok(line) => {
                        said.absorb(&line);
                        ready |= line.contains("@ready");
                        if (how == 2 && ready) || (how == 1 && line.contains("@write")) {
                            break;
                        }
                    }
                    Err(_) => {
                        let Running {
                            mut child,
                            err_thread,
                            ..
                        } = first;
                        let _ = child.kill();
                        let _ = child.wait();
                        let err = err_thread.join().unwrap_or_default();
                        self.fail(round, format!("child never became ready; stderr:\n{err}"));
                    }
                }
            }
            let delay = if how == 1 {
                self.rng.gen_range(0..4_000)
            } else {
                self.rng.gen_range(1_000..50_000)
            };
            std::thread::sleep(Duration::from_micros(delay));
        }
        let ready_before = said.ready;
        self.kill(round, first, &mut said);
        if !ready_before && !said.ready {
            self.kills_before_ready += 1;
        }
        // Shared mode: the others go on (and must recover the first one's
        // torn write), then die one after another.
        if !running.is_empty() {
            std::thread::sleep(Duration::from_micros(self.rng.gen_range(5_000..40_000)));
        }
        for r in running {
            self.kill(round, r, &mut said);
            std::thread::sleep(Duration::from_micros(self.rng.gen_range(0..5_000)));
        }
        said
    }

    fn check_round(&mut self, round: u64, said: &Said) {
        let path = self.spec.path.clone();
        if !path.exists() {
            // Killed before the log was created (creation is atomic: the
            // file either exists with its genesis or not at all).
            if said.ready || !said.acks.is_empty() || self.prev.is_some() {
                self.fail(round, "log file is missing");
            }
            return;
        }
        let before = std::fs::read(&path).unwrap();
        let vopts = VerifyOptions::default()
            .key(self.spec.key.clone().map(|k| Key::new(k).unwrap()))
            .threads(2)
            .all(true);

        // 1. Before reopening: valid, or only a torn tail.
        let pre = verify(&path, &vopts).unwrap();
        if !(pre.valid || pre.only_torn_tail()) {
            self.fail(round, format!("verify after kill: {:?}", pre.violations));
        }
        let torn_at = pre.first().filter(|_| !pre.valid).map(|v| v.offset);

        // Sometimes leave a torn tail for the next child to move aside
        // (and maybe be killed while doing so).
        let reopen = torn_at.is_none() || self.rng.gen_bool(0.6);
        let (head, log_id) = if reopen {
            // 2. Reopen: must succeed; a torn tail is moved to a sidecar.
            let log = Log::open(&path, self.spec.open_options(Durability::Sync))
                .unwrap_or_else(|e| self.fail(round, format!("reopen after kill: {e}")));
            let rec = log.recovery();
            let head = log.head();
            let log_id = log.genesis().log_id.clone();
            log.close().unwrap();
            drop(log);
            let after = std::fs::read(&path).unwrap();
            match (torn_at, rec.torn.as_slice()) {
                (None, []) => {
                    if after != before {
                        self.fail(round, "reopen changed a log that had no torn tail");
                    }
                }
                (Some(off), [t]) => {
                    if t.offset != off || t.len != before.len() as u64 - off {
                        self.fail(
                            round,
                            format!("verify saw a torn tail at {off}, open moved {t:?}"),
                        );
                    }
                    let side = std::fs::read(&t.sidecar).unwrap_or_else(|e| {
                        self.fail(round, format!("sidecar {}: {e}", t.sidecar.display()))
                    });
                    if side.as_slice() != &before[off as usize..] {
                        self.fail(round, "sidecar does not hold the torn bytes");
                    }
                    if after.as_slice() != &before[..off as usize] {
                        self.fail(
                            round,
                            "log after reopen is not the bytes before the torn tail",
                        );
                    }
                    self.sidecars.push(t.sidecar.clone());
                }
                (t, r) => self.fail(
                    round,
                    format!("verify torn tail at {t:?} but open recovered {r:?}"),
                ),
            }

            // 3. After reopening: valid, and the head is the last entry.
            let post = verify(&path, &vopts).unwrap();
            if !post.valid {
                self.fail(round, format!("verify after reopen: {:?}", post.violations));
            }
            if post.head_seq != head.seq || post.entries != head.seq {
                self.fail(
                    round,
                    format!(
                        "open head {} but verify head {} with {} entries",
                        head.seq, post.head_seq, post.entries
                    ),
                );
            }
            (head, log_id)
        } else {
            self.left_torn += 1;
            let head = pre
                .head()
                .unwrap_or_else(|| self.fail(round, "verify gave no head"));
            (head, pre.log_id.clone().unwrap_or_default())
        };
        match &self.log_id {
            None => self.log_id = Some(log_id),
            Some(id) if *id != log_id => self.fail(round, "log id changed"),
            Some(_) => {}
        }

        // 4. Nothing acknowledged as durable is missing.
        let durable = match self.spec.mode {
            Mode::Sync | Mode::Group => said.max_ack(),
            Mode::Buffered => said.synced,
        };
        if head.seq < durable {
            self.fail(
                round,
                format!(
                    "entry {durable} was acknowledged as durable but the log ends at {}",
                    head.seq
                ),
            );
        }

        // 5. The chain continues from the previous round, and this round's
        //    entries are exactly what the child wrote, in order.
        let from = self.prev.map_or(0, |p| p.seq);
        if head.seq < from {
            self.fail(round, format!("log shrank from {from} to {}", head.seq));
        }
        let q = Query::default().seq_min(from.max(1));
        let entries: Vec<Entry> = query(&path, &q)
            .unwrap()
            .collect::<evident::Result<_>>()
            .unwrap_or_else(|e| self.fail(round, format!("query: {e}")));
        let mut it = entries.iter().peekable();
        if let Some(p) = self.prev.filter(|p| p.seq > 0) {
            let e = it
                .next()
                .unwrap_or_else(|| self.fail(round, "previous head is gone"));
            if e.seq != p.seq || e.hash != p.hash.to_hex() {
                self.fail(round, "the previous head entry was rewritten");
            }
        }
        if let Some(first) = it.peek() {
            let want = self.prev.map(|p| p.hash.to_hex());
            if let Some(want) = want {
                if first.prev != want {
                    self.fail(round, "the chain does not continue from the previous head");
                }
            }
        }
        let mut next_i: BTreeMap<u64, u64> = BTreeMap::new();
        let mut want_seq = from + 1;
        for e in it {
            if e.seq != want_seq {
                self.fail(round, format!("seq {} follows {}", e.seq, want_seq - 1));
            }
            want_seq += 1;
            let r = e.details["r"].as_u64().unwrap();
            let t = e.details["t"].as_u64().unwrap();
            let i = e.details["i"].as_u64().unwrap();
            if r != round {
                self.fail(round, format!("entry {} is from round {r}", e.seq));
            }
            let n = next_i.entry(t).or_insert(0);
            if i != *n {
                self.fail(
                    round,
                    format!("thread {t}: entry {} is i={i}, expected i={n}", e.seq),
                );
            }
            *n += 1;
            if let Some(&ack) = said.acks.get(&e.seq) {
                if ack != (r, t, i) {
                    self.fail(
                        round,
                        format!(
                            "entry {} holds {:?}, the child acknowledged {ack:?}",
                            e.seq,
                            (r, t, i)
                        ),
                    );
                }
            }
        }
        if want_seq != head.seq + 1 {
            self.fail(round, "query did not return every entry");
        }
        self.prev = Some(Seen {
            seq: head.seq,
            hash: head.hash,
        });
    }
}

fn run_crash_test(
    name: &str,
    mode: Mode,
    framing: Framing,
    key: Option<Vec<u8>>,
    alg: Option<HashAlg>,
    procs: u64,
) {
    let dir = tempfile::tempdir().unwrap();
    let ext = if framing == Framing::Binary {
        "evl"
    } else {
        "jsonl"
    };
    let seed = seed_for(name);
    let mut h = Harness {
        name: name.to_string(),
        spec: ChildSpec {
            path: dir.path().join(format!("crash.{ext}")),
            mode,
            framing,
            key,
            alg,
            round: 0,
            seed,
            big: false,
            shared: procs > 1,
            procs,
            proc: 0,
        },
        rng: StdRng::seed_from_u64(seed),
        seed,
        prev: None,
        log_id: None,
        sidecars: Vec::new(),
        kills_before_ready: 0,
        left_torn: 0,
    };
    let n = rounds();
    let mut total_acks = 0usize;
    for round in 0..n {
        h.spec.round = round;
        let said = h.run_round(round);
        total_acks += said.acks.len();
        h.check_round(round, &said);
    }
    let head = h.prev.map_or(0, |p| p.seq);
    // Sidecars: those the parent's reopen made, those a child's open made
    // (for a tail the parent left), and in shared mode those a surviving
    // writer made when it found another's torn write. A child killed while
    // moving a tail aside may leave an incomplete sidecar: the tail is still
    // in the log then, and the next open moves it again.
    let sidecars: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".torn-"))
        .collect();
    eprintln!(
        "{name}: {n} rounds of {procs} children ({} killed before ready), {total_acks} acknowledged \
         appends, {head} entries, {} torn tails moved aside ({} by the parent's reopen, {} left \
         to the next child)",
        h.kills_before_ready,
        sidecars.len(),
        h.sidecars.len(),
        h.left_torn
    );
    // The test must have exercised appends, not only kills during startup.
    assert!(
        head > 0 && total_acks > 0,
        "{name}: no entry was ever appended"
    );
}

fn key32() -> Option<Vec<u8>> {
    Some((0u8..32).collect())
}

#[test]
fn crash_sync_jsonl() {
    run_crash_test(
        "crash_sync_jsonl",
        Mode::Sync,
        Framing::Jsonl,
        None,
        None,
        1,
    );
}

#[test]
fn crash_sync_binary() {
    run_crash_test(
        "crash_sync_binary",
        Mode::Sync,
        Framing::Binary,
        key32(),
        Some(HashAlg::HmacSha512),
        1,
    );
}

#[test]
fn crash_group_commit_jsonl() {
    run_crash_test(
        "crash_group_commit_jsonl",
        Mode::Group,
        Framing::Jsonl,
        key32(),
        None,
        1,
    );
}

#[test]
fn crash_group_commit_binary() {
    run_crash_test(
        "crash_group_commit_binary",
        Mode::Group,
        Framing::Binary,
        None,
        None,
        1,
    );
}

#[test]
fn crash_buffered_jsonl() {
    run_crash_test(
        "crash_buffered_jsonl",
        Mode::Buffered,
        Framing::Jsonl,
        None,
        None,
        1,
    );
}

#[test]
fn crash_buffered_binary() {
    run_crash_test(
        "crash_buffered_binary",
        Mode::Buffered,
        Framing::Binary,
        key32(),
        Some(HashAlg::HmacSha256),
        1,
    );
}

#[test]
fn crash_shared_sync_binary() {
    run_crash_test(
        "crash_shared_sync_binary",
        Mode::Sync,
        Framing::Binary,
        None,
        None,
        3,
    );
}

#[test]
fn crash_shared_group_commit_jsonl() {
    run_crash_test(
        "crash_shared_group_commit_jsonl",
        Mode::Group,
        Framing::Jsonl,
        key32(),
        Some(HashAlg::HmacSha512),
        3,
    );
}
