//! The writer: create, open with chain recovery, append, sync, close.
//!
//! Durability modes (see [`Durability`]) and lock modes (see [`LockMode`])
//! are chosen at open. Every append that returns `Ok` in a durable mode is
//! on disk; a torn tail found at open is moved to a sidecar file, never
//! dropped; damage before the tail is left for [`mod@crate::verify`] to report.

use std::fs::{self, File, OpenOptions as FsOpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::chain::{Chain, Hash, HashAlg, Key};
use crate::error::{Error, Position, Result};
use crate::format::{self, AsEventView, Event, Framing, Genesis, RecordKind, MAX_BODY};
use crate::lock::{FileLock, Guard};
use crate::scan::{self, Backward, ReadAt, SpanKind};
use crate::storage::{sync_dir, FileStorage, Storage};
use crate::tail::{self, has_lost_block, Tail};

/// When an append is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u32)]
pub enum Durability {
    /// Every append is fsynced (fdatasync) before it returns. Survives a
    /// power cut as soon as `append` returns.
    #[default]
    Sync = 1,
    /// Concurrent appenders share one fsync; each append returns once its
    /// entry is durable. Same guarantee as `Sync`, far higher throughput
    /// with several threads.
    GroupCommit = 2,
    /// Appends are buffered in memory (exclusive mode) or written to the OS
    /// without fsync (shared mode). Entries are durable only after
    /// [`Log::sync`] or [`Log::close`] returns; a crash may lose entries
    /// appended since the last sync (never earlier ones, never the chain).
    Buffered = 3,
}

/// How writers share the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u32)]
pub enum LockMode {
    /// One writer holds the lock for as long as the log is open. A second
    /// writer gets [`Error::Locked`] naming the holder (after waiting up to
    /// the lock timeout).
    #[default]
    Exclusive = 1,
    /// Several processes append to the same log; each append takes the lock
    /// briefly, re-reads the chain head from the file's tail and appends.
    Shared = 2,
}

/// Wraps the real file storage (tests: fault injection, crash tracking).
/// Public only with the `__internal` feature (the crate's tests).
#[cfg(feature = "__internal")]
#[doc(hidden)]
pub type StorageHook = Arc<dyn Fn(FileStorage) -> Box<dyn Storage> + Send + Sync>;
#[cfg(not(feature = "__internal"))]
pub(crate) type StorageHook = Arc<dyn Fn(FileStorage) -> Box<dyn Storage> + Send + Sync>;

/// Options for [`Log::open`].
#[derive(Clone)]
#[non_exhaustive]
pub struct OpenOptions {
    /// Framing for a new log; for an existing log, if set, must match.
    /// Default for new logs: binary when the path ends in `.evl` or `.bin`,
    /// otherwise JSONL.
    pub framing: Option<Framing>,
    /// HMAC key. Its presence selects HMAC-SHA256 for new logs unless `alg`
    /// says otherwise; for existing logs it must match the log's key id.
    pub key: Option<Key>,
    /// Algorithm for a new log (default: SHA-256, or HMAC-SHA256 with a key).
    pub alg: Option<HashAlg>,
    /// Durability mode.
    pub durability: Durability,
    /// Lock mode.
    pub lock: LockMode,
    /// How long to wait for the lock (default: 0 for exclusive, 10 s for shared).
    pub lock_timeout: Option<Duration>,
    /// Create the log if it does not exist (default true).
    pub create: bool,
    /// Fail if the log already exists.
    pub create_new: bool,
    /// Create the log in place of an existing *empty* file instead of
    /// refusing it (default false). For systems that open their logs in
    /// append mode, so that a file made by `touch` or `mkstemp` works. The
    /// empty file is replaced atomically by a new log (its permission bits
    /// kept); one the caller may not write is refused unchanged. The cost:
    /// a log truncated to zero bytes then restarts as a new log (a new
    /// `log_id`) instead of being refused, unless its lock file still
    /// records the length an fsync made durable (then it is refused as
    /// truncated); otherwise checkpoints and witnesses, not the file, show
    /// the loss. Needs `create`.
    pub adopt_empty: bool,
    /// Default actor for entries that name none (default: the OS user).
    pub actor: Option<String>,
    /// Default host (default: this machine's host name).
    pub host: Option<String>,
    /// In-memory buffer size for [`Durability::Buffered`] (default 64 KiB).
    pub buffer_size: usize,
    /// What open may do to the end of the file (default: [`Repair::No`]).
    pub repair: Repair,
    /// [`Durability::GroupCommit`]: how long the thread that is about to
    /// fsync waits first when other appenders are waiting too, so that
    /// more entries share the fsync (like PostgreSQL's `commit_delay`).
    /// Default zero. Raises throughput with many concurrent appenders;
    /// adds up to this much latency to each durable append.
    pub commit_delay: Duration,
    /// Automatic signed checkpoints (spec/checkpoints.md § 2.1): every N
    /// entries, every T, at close, into `<log>.checkpoints` and optionally
    /// as records in the log. Exclusive lock mode only.
    pub checkpoint: Option<crate::checkpoint::AutoCheckpoint>,
    /// Test hook: wraps the real storage (fault injection, crash tracking).
    pub(crate) storage_hook: Option<StorageHook>,
}

/// What opening a log may do to the end of the file (spec § 10.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Repair {
    /// Move a torn tail aside; look back at most 80 MiB for the last
    /// record; refuse a damaged tail (a complete record that fails its
    /// check, a last record that does not follow the one before it).
    #[default]
    No,
    /// Also look back through the whole file for the last record, so that
    /// a torn tail of any size (say, a gigabyte of zeros) is moved aside.
    Torn,
    /// Also move a damaged tail aside (into a sidecar, every byte kept):
    /// for a log whose damage was seen and recorded with `verify`.
    Force,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            framing: None,
            key: None,
            alg: None,
            durability: Durability::Sync,
            lock: LockMode::Exclusive,
            lock_timeout: None,
            create: true,
            create_new: false,
            adopt_empty: false,
            actor: None,
            host: None,
            buffer_size: 64 * 1024,
            repair: Repair::No,
            commit_delay: Duration::ZERO,
            checkpoint: None,
            storage_hook: None,
        }
    }
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("framing", &self.framing)
            .field("key", &self.key)
            .field("alg", &self.alg)
            .field("durability", &self.durability)
            .field("lock", &self.lock)
            .field("lock_timeout", &self.lock_timeout)
            .field("create", &self.create)
            .field("adopt_empty", &self.adopt_empty)
            .finish_non_exhaustive()
    }
}

impl OpenOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the framing.
    pub fn framing(mut self, f: Framing) -> Self {
        self.framing = Some(f);
        self
    }
    /// Sets the key.
    pub fn key(mut self, k: Key) -> Self {
        self.key = Some(k);
        self
    }
    /// Sets the algorithm for a new log; an existing log using another one
    /// is refused (`InvalidArgument`), as a framing is.
    pub fn alg(mut self, a: HashAlg) -> Self {
        self.alg = Some(a);
        self
    }
    /// Sets the durability mode.
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }
    /// Sets the lock mode.
    pub fn lock(mut self, l: LockMode) -> Self {
        self.lock = l;
        self
    }
    /// Sets the lock timeout.
    pub fn lock_timeout(mut self, t: Duration) -> Self {
        self.lock_timeout = Some(t);
        self
    }
    /// Sets whether a missing log is created.
    pub fn create(mut self, c: bool) -> Self {
        self.create = c;
        self
    }
    /// Sets what open may do to the end of the file.
    pub fn repair(mut self, r: Repair) -> Self {
        self.repair = r;
        self
    }
    /// Sets the group-commit delay (see [`OpenOptions::commit_delay`]).
    pub fn commit_delay(mut self, d: Duration) -> Self {
        self.commit_delay = d;
        self
    }
    /// Sets whether open fails when the log already exists.
    pub fn create_new(mut self, c: bool) -> Self {
        self.create_new = c;
        self
    }
    /// Sets whether an existing empty file becomes a new log (see
    /// [`OpenOptions::adopt_empty`]).
    pub fn adopt_empty(mut self, a: bool) -> Self {
        self.adopt_empty = a;
        self
    }
    /// Sets the default actor for entries that name none.
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }
    /// Sets the default host for entries that name none.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }
    /// Sets the buffer size of [`Durability::Buffered`].
    pub fn buffer_size(mut self, n: usize) -> Self {
        self.buffer_size = n;
        self
    }
    /// Test hook: wraps the real storage (fault injection, crash tracking).
    #[cfg(feature = "__internal")]
    #[doc(hidden)]
    pub fn storage_hook(mut self, hook: StorageHook) -> Self {
        self.storage_hook = Some(hook);
        self
    }
    /// Signs checkpoints automatically (the `checkpoint` field).
    pub fn checkpoint(mut self, c: crate::checkpoint::AutoCheckpoint) -> Self {
        self.checkpoint = Some(c);
        self
    }
}

/// The chain head: the number of entries (the last seq) and the last hash.
/// Keep it somewhere safe to detect truncation later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Sequence number of the last entry (0 when the log has none).
    pub seq: u64,
    /// Hash of the last record (the genesis hash when there are no entries).
    pub hash: Hash,
}

/// A torn tail that open moved aside.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TornTail {
    /// Offset in the log where the torn bytes started (the log now ends here).
    pub offset: u64,
    /// Number of bytes moved.
    pub len: u64,
    /// The sidecar file that holds them.
    pub sidecar: PathBuf,
}

/// What open found about the file: the self-description and any repair.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Recovery {
    /// Torn tails moved aside by this handle (at open, or on a shared-mode
    /// append after another writer crashed).
    pub torn: Vec<TornTail>,
    /// Whether the log was created by this open.
    pub created: bool,
    /// The log was shorter at open than the length an earlier writer had
    /// made durable (spec § 10.3): bytes were removed from its end after
    /// they were synced, which no crash does (a truncation, or an older
    /// copy put in its place). Open recovers as always; this says what it
    /// found, once (the lock file then records the new length).
    pub truncated: Option<Truncated>,
}

/// A log found cut below its durable length at open (see
/// [`Recovery::truncated`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Truncated {
    /// The length the lock file recorded as made durable by an fsync.
    pub durable_len: u64,
    /// The log's length when it was opened.
    pub len: u64,
}

/// A record this handle wrote: where it is and what it was.
#[derive(Debug, Clone, Copy)]
struct OwnRecord {
    start: u64,
    end: u64,
    seq: u64,
    hash: Hash,
}

/// A candidate chain head found reading backward.
#[derive(Debug, Clone, Copy)]
struct Cand {
    seq: u64,
    prev: Hash,
    hash: Hash,
    offset: u64,
    end: u64,
}

/// The chain head found from the end of the file, and what follows it.
struct FoundHead {
    head: Head,
    /// Offset just past the head record (the genesis when there is none).
    end: u64,
    /// The bytes `[end, len)`.
    tail: Tail,
}

struct Inner {
    head: Head,
    /// Bytes of the file written so far (the file's length as far as this
    /// writer knows); buffered entries follow in `pending`.
    file_len: u64,
    /// Bytes appended but not yet written to the file (Buffered, exclusive).
    pending: Vec<u8>,
    /// The seq of the last entry in `pending`, and of the last record in
    /// the file as far as this writer knows (error messages).
    pending_seq: u64,
    written_seq: u64,
    /// Shared mode: the last record this handle wrote, which the file must
    /// still hold whatever other writers do.
    own_last: Option<OwnRecord>,
    recovery: Recovery,
    closed: bool,
}

#[derive(Default)]
struct GroupState {
    synced: u64,
    leader: bool,
}

/// Counts a group-commit append in flight for as long as it lives.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        InFlight(n)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An open audit log. `Log` is `Send + Sync`: share it between threads
/// with `Arc`; appends are serialised internally.
pub struct Log {
    path: PathBuf,
    framing: Framing,
    chain: Chain,
    genesis: Genesis,
    genesis_hash: Hash,
    genesis_end: u64,
    durability: Durability,
    lock_mode: LockMode,
    lock_timeout: Duration,
    actor: String,
    host: String,
    buffer_size: usize,
    repair: Repair,
    commit_delay: Duration,
    storage: Arc<dyn Storage>,
    lock: FileLock,
    /// How the exclusive-mode lock is held while the log is open.
    lock_held: Mutex<Option<Guard>>,
    /// The process that opened the log (a handle is refused after fork()).
    pid: u32,
    inner: Mutex<Inner>,
    written_end: AtomicU64,
    /// Whether the file system counts the file's names (it had one at
    /// open): only then does a count of 0 mean deleted or replaced.
    counts_links: bool,
    group: Mutex<GroupState>,
    group_cv: Condvar,
    /// Group-commit appends in flight (from the call to its return).
    appending: AtomicUsize,
    poisoned: AtomicBool,
    poison_cause: Mutex<String>,
    /// Automatic checkpoints ([`OpenOptions::checkpoint`]).
    auto: Option<crate::checkpoint::auto::Auto>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("path", &self.path)
            .field("framing", &self.framing)
            .field("alg", &self.genesis.alg)
            .field("log_id", &self.genesis.log_id)
            .finish_non_exhaustive()
    }
}

/// Limit on how far back open looks for the last valid record.
/// What to do about a corrupt log head.
pub(crate) const LOG_CORRUPT_HINT: &str =
    "; the chain head cannot be trusted (run `evident verify`)";

const TAIL_SCAN_LIMIT: u64 = 64 * 1024 * 1024 + MAX_BODY as u64;

fn default_framing(path: &Path) -> Framing {
    match path.extension().and_then(|e| e.to_str()) {
        Some("evl") | Some("bin") => Framing::Binary,
        _ => Framing::Jsonl,
    }
}

impl Log {
    /// Opens (or creates) the log at `path`.
    pub fn open(path: impl AsRef<Path>, opts: OpenOptions) -> Result<Log> {
        let path = path.as_ref().to_path_buf();
        let mut created = false;
        if !path.exists() {
            if !opts.create {
                return Err(Error::io(
                    &path,
                    "open",
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                ));
            }
            created = create_log(&path, &opts)?;
        } else if opts.create_new {
            return Err(Error::io(
                &path,
                "create",
                std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            ));
        }

        let lock_timeout = opts.lock_timeout.unwrap_or(match opts.lock {
            LockMode::Exclusive => Duration::ZERO,
            LockMode::Shared => Duration::from_secs(10),
        });
        if !created
            && opts.adopt_empty
            && opts.create
            && std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == 0)
        {
            created =
                crate::lock::adopt_empty_file(&path, lock_timeout, || new_log_bytes(&path, &opts))?;
        }
        let (lock, held) = FileLock::open_and_lock(
            &path,
            Some(crate::storage::Access::ReadAppend),
            lock_timeout,
        )?;
        if opts.lock == LockMode::Exclusive {
            lock.write_holder();
        }

        let result = Self::open_locked(&path, opts, lock, lock_timeout, created);
        match &result {
            Ok(log) if log.lock_mode == LockMode::Exclusive => {
                *log.lock_held.lock().unwrap_or_else(|e| e.into_inner()) = Some(held);
            }
            Ok(log) => log.lock.release(held),
            Err(_) => {} // the lock file is closed with its lock
        }
        result
    }

    fn open_locked(
        path: &Path,
        opts: OpenOptions,
        lock: FileLock,
        lock_timeout: Duration,
        created: bool,
    ) -> Result<Log> {
        let file = lock
            .data()
            .ok_or_else(|| Error::io(path, "open", std::io::ErrorKind::NotFound.into()))?
            .try_clone()
            .map_err(|e| Error::io(path, "open", e))?;
        let storage: Arc<dyn Storage> = match &opts.storage_hook {
            Some(hook) => Arc::from(hook(FileStorage::new(file))),
            None => Arc::new(FileStorage::new(file)),
        };
        let (len, links) = storage
            .len_and_links()
            .map_err(|e| Error::io(path, "stat", e))?;
        let gi = read_genesis(path, &*storage, len)?;
        let (framing, genesis_hash, genesis_end) = (gi.framing, gi.hash, gi.end);
        if let Some(want) = opts.framing {
            if want != framing {
                return Err(Error::InvalidArgument(format!(
                    "{}: log is {framing}-framed, not {want}",
                    path.display()
                )));
            }
        }
        if let Some(want) = opts.alg {
            if want != gi.genesis.alg {
                return Err(Error::InvalidArgument(format!(
                    "{}: log uses {}, not {want}",
                    path.display(),
                    gi.genesis.alg
                )));
            }
        }
        let chain = chain_for(path, &gi.genesis, opts.key.as_ref())?;
        if !gi.hash_ok(&chain) {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                at: Position {
                    offset: framing.data_start(),
                    line: u64::from(framing == Framing::Jsonl),
                    seq: Some(0),
                },
                msg: format!("genesis record fails its hash check{LOG_CORRUPT_HINT}"),
            });
        }
        let genesis = gi.genesis;
        if opts.checkpoint.is_some() && opts.lock == LockMode::Shared {
            return Err(Error::InvalidArgument(format!(
                "{}: automatic checkpoints need the exclusive lock mode",
                path.display()
            )));
        }
        let auto = opts
            .checkpoint
            .clone()
            .map(|c| crate::checkpoint::auto::Auto::new(c, opts.key.clone()));
        let actor = opts.actor.clone().unwrap_or_else(crate::sys::user_name);
        let host = opts.host.clone().unwrap_or_else(crate::sys::host_name);

        let log = Log {
            path: path.to_path_buf(),
            framing,
            chain,
            genesis,
            genesis_hash,
            genesis_end,
            durability: opts.durability,
            lock_mode: opts.lock,
            lock_timeout,
            actor,
            host,
            buffer_size: opts.buffer_size.max(1),
            repair: opts.repair,
            commit_delay: opts.commit_delay,
            storage,
            lock,
            lock_held: Mutex::new(None),
            pid: std::process::id(),
            inner: Mutex::new(Inner {
                head: Head {
                    seq: 0,
                    hash: genesis_hash,
                },
                file_len: genesis_end,
                own_last: None,
                pending: Vec::new(),
                pending_seq: 0,
                written_seq: 0,
                recovery: Recovery {
                    torn: Vec::new(),
                    created,
                    truncated: None,
                },
                closed: false,
            }),
            written_end: AtomicU64::new(0),
            counts_links: links > 0,
            group: Mutex::new(GroupState::default()),
            group_cv: Condvar::new(),
            appending: AtomicUsize::new(0),
            poisoned: AtomicBool::new(false),
            poison_cause: Mutex::new(String::new()),
            auto,
        };
        let recovered = {
            let mut inner = log.lock_inner();
            let r = log.recover_at_open(&mut inner, len);
            if r.is_err() {
                // Dropping a log that failed to open must not touch the file.
                inner.closed = true;
            }
            r
        };
        recovered?;
        if let Ok(mut g) = log.group.lock() {
            g.synced = log.written_end.load(Ordering::SeqCst);
        }
        Ok(log)
    }

    /// Recovery at open: finds the head, moves a torn tail or an unsynced
    /// remainder aside, and records the synced length.
    fn recover_at_open(&self, inner: &mut Inner, len: u64) -> Result<()> {
        let log = self;
        let path = &self.path;
        {
            // Synced bytes missing: not a crash's doing (§ 10.3); said, and
            // then recovered from like any other tail.
            let recorded = log.read_synced_record();
            inner.recovery.truncated = recorded
                .filter(|&durable_len| durable_len > len)
                .map(|durable_len| Truncated { durable_len, len });
            let synced = recorded.filter(|x| (log.genesis_end..=len).contains(x));
            let recovered = match synced {
                Some(x) if x < len => {
                    // An honest writer records only the end of a record,
                    // after its fsync: a durable length inside a record
                    // means durable bytes were rewritten (§ 10.3).
                    let ok = log.recover_unsynced(inner, x, len)?;
                    if !ok && log.repair != Repair::Force {
                        return Err(Error::Corrupt {
                            path: path.clone(),
                            at: Position {
                                offset: x,
                                line: 0,
                                seq: None,
                            },
                            msg: format!(
                                "the lock file records {x} bytes made durable, but no record \
                                 ends there: bytes an fsync made durable were rewritten\
                                 {LOG_CORRUPT_HINT}"
                            ),
                        });
                    }
                    ok
                }
                _ => false,
            };
            if !recovered {
                log.recover_tail(inner, len, synced)?;
            }
            // Everything kept is durable from now on: record it, so the
            // next open knows where unsynced bytes begin.
            if synced != Some(inner.file_len) {
                if inner.recovery.torn.is_empty() {
                    log.storage.sync_data().map_err(|e| {
                        let err = Error::io(path, "fsync", e);
                        log.poison(&err);
                        err
                    })?;
                }
                log.write_synced_hint(inner.file_len);
            }
            log.written_end.store(inner.file_len, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Open after a crash, when the lock file says the log was synced up to
    /// `synced` < `len`: nothing after `synced` was ever acknowledged as
    /// durable, so from the first record there that is not a readable,
    /// linked record with a good hash (a power cut's lost or garbled page,
    /// a torn write), everything is moved aside, including records a later
    /// page kept (spec § 10.3). Returns false when `synced` is not the end
    /// of a readable record (the hint is then ignored).
    fn recover_unsynced(&self, inner: &mut Inner, synced: u64, len: u64) -> Result<bool> {
        let path = &self.path;
        let src: &dyn Storage = &*self.storage;
        let io = |e| Error::io(path, "read", e);
        let (mut seq, mut hash) = if synced == self.genesis_end {
            (0, self.genesis_hash)
        } else {
            let mut back = Backward::new(src, self.framing, self.genesis_end, synced);
            let Some(item) = back.prev_item() else {
                return Ok(false);
            };
            let item = item.map_err(io)?;
            let Some(p) = (item.kind == SpanKind::Record)
                .then(|| format::parse(self.framing, &item.bytes).ok())
                .flatten()
            else {
                return Ok(false);
            };
            (p.seq, p.raw.hash)
        };
        let mut end = synced;
        let mut fwd = scan::Forward::new(src, self.framing, synced, len, 0);
        while let Some(item) = fwd.next_item() {
            let (item, _) = item.map_err(io)?;
            let parsed = match item.kind {
                SpanKind::Record => format::parse(self.framing, &item.bytes).ok(),
                _ => None,
            };
            // What a crash leaves after the synced bytes: records, then a
            // torn write, lost (zeroed) pages, stale garbage, and possibly
            // records a later page kept. Never a whole record with a good
            // hash that does not follow the one before it: that is a
            // replayed or inserted record, refused as at the end of a file.
            let Some(p) = parsed else { break };
            let hash_ok = p.raw.hash.as_bytes().len() == self.chain.alg().hash_len()
                && p.raw.compute_hash(&self.chain) == p.raw.hash;
            if !hash_ok {
                break;
            }
            let links = p.kind != RecordKind::Genesis
                && Some(p.seq) == seq.checked_add(1)
                && p.prev == hash;
            if !links {
                if self.repair == Repair::Force {
                    break;
                }
                return Err(Error::Corrupt {
                    path: path.clone(),
                    at: Position {
                        offset: item.offset,
                        line: 0,
                        seq: Some(p.seq),
                    },
                    msg: format!("a record (entry seq {}) that does not follow the record before it (seq {seq}): a replayed or inserted record{LOG_CORRUPT_HINT}", p.seq),
                });
            }
            (seq, hash) = (p.seq, p.raw.hash);
            end = item.end(self.framing);
        }
        if end < len {
            let torn = self.move_aside(end, len)?;
            inner.recovery.torn.push(torn);
        }
        inner.head = Head { seq, hash };
        (inner.pending_seq, inner.written_seq) = (seq, seq);
        inner.file_len = end;
        Ok(true)
    }

    /// The synced length the lock file records for this log, if it is one
    /// this file can have (see [`Log::write_synced_hint`]).
    fn read_synced_hint(&self, len: u64) -> Option<u64> {
        self.read_synced_record()
            .filter(|x| (self.genesis_end..=len).contains(x))
    }

    /// The synced length the lock file records for this log id, whatever
    /// the file's length.
    fn read_synced_record(&self) -> Option<u64> {
        let text = self.lock.read_synced()?;
        let (id, len) = crate::lock::parse_synced(&text)?;
        (id == self.genesis.log_id).then_some(len)
    }

    /// Records in the lock file that this log is durable up to `upto`, after
    /// an fsync that made it so (spec § 10.4). One `pwrite`, never synced
    /// itself: after a power cut it may say less than the truth (an older
    /// value, or nothing), never more, so bytes before it are known to have
    /// been acknowledged as durable, and bytes after it may be moved aside.
    fn write_synced_hint(&self, upto: u64) {
        self.lock
            .write_synced(&format!("synced {} {upto}", self.genesis.log_id));
    }

    fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave Inner inconsistent in
        // a way that matters more than refusing service; recover the guard.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Finds the chain head from the end of the file (spec § 10.3) and moves
    /// a torn tail aside. Sets `inner.head` and `inner.file_len`. `synced`:
    /// where the lock file says the durable bytes end (≤ `len`).
    fn recover_tail(&self, inner: &mut Inner, len: u64, synced: Option<u64>) -> Result<()> {
        let found = self.find_head(len, synced)?;
        match found.tail {
            Tail::Clean => {}
            // Bytes an fsync made durable cannot be a crash's torn write:
            // they were overwritten (§ 10.3 B rule 4), evidence to keep.
            Tail::Torn { .. }
                if self.repair != Repair::Force && synced.is_some_and(|s| s > found.end) =>
            {
                let durable = synced.unwrap_or_default();
                return Err(Error::Corrupt {
                    path: self.path.clone(),
                    at: Position {
                        offset: found.end,
                        line: 0,
                        seq: None,
                    },
                    msg: format!(
                        "the bytes after the last readable record (entry seq {}) look like an interrupted write, but an earlier writer had made the log durable up to byte {durable} (the lock file records it): durable bytes were changed, which no crash does{LOG_CORRUPT_HINT}; `evident repair --force` moves them aside into a sidecar file, keeping every byte",
                        found.head.seq
                    ),
                });
            }
            Tail::Torn { .. } => {
                let torn = self.move_aside(found.end, len)?;
                inner.recovery.torn.push(torn);
            }
            Tail::Damaged(_) if self.repair == Repair::Force => {
                let torn = self.move_aside(found.end, len)?;
                inner.recovery.torn.push(torn);
            }
            Tail::Damaged(d) => {
                return Err(Error::Corrupt {
                    path: self.path.clone(),
                    at: Position {
                        offset: d.offset,
                        line: 0,
                        seq: None,
                    },
                    msg: format!(
                        "{} after the last readable record (entry seq {}): this is damage or tampering, not an interrupted write{LOG_CORRUPT_HINT}; `evident repair --force` moves it aside into a sidecar file, keeping every byte",
                        d.reason, found.head.seq
                    ),
                });
            }
        }
        inner.head = found.head;
        (inner.pending_seq, inner.written_seq) = (found.head.seq, found.head.seq);
        inner.file_len = found.end;
        Ok(())
    }

    /// Reads backward from `len` to the chain head: the last readable record
    /// that passes its checks and follows the record before it (spec
    /// § 10.3). `synced`: where the lock file says the synced bytes end. Looks back at most [`TAIL_SCAN_LIMIT`] bytes unless
    /// repairing; with [`Repair::Force`], records that fail these checks
    /// become part of the tail instead of errors.
    fn find_head(&self, len: u64, synced: Option<u64>) -> Result<FoundHead> {
        let path = &self.path;
        let force = self.repair == Repair::Force;
        let limit = (self.repair == Repair::No).then_some(TAIL_SCAN_LIMIT);
        let src: &dyn Storage = &*self.storage;
        let mut back = Backward::new(src, self.framing, self.genesis_end, len);
        let corrupt = |offset: u64, seq: u64, msg: String| Error::Corrupt {
            path: path.clone(),
            at: Position {
                offset,
                line: 0,
                seq: Some(seq),
            },
            msg: format!("{msg}{LOG_CORRUPT_HINT}"),
        };
        // The candidate head, and an item to look at again.
        let mut cand: Option<Cand> = None;
        let mut again: Option<scan::Item> = None;
        loop {
            let item = match again.take() {
                Some(item) => item,
                None => match back.prev_item() {
                    Some(item) => item.map_err(|e| Error::io(path, "read", e))?,
                    None => {
                        // At the genesis: the first entry must follow it.
                        if let Some(c) = cand {
                            if c.seq != 1 || c.prev != self.genesis_hash {
                                if !force {
                                    return Err(corrupt(c.offset, c.seq, format!("the last record (entry seq {}) does not follow the genesis record: a replayed or inserted record", c.seq)));
                                }
                                cand = None;
                            }
                        }
                        break;
                    }
                },
            };
            if let Some(limit) = limit {
                if len - item.offset > limit {
                    return Err(Error::Corrupt {
                        path: path.clone(),
                        at: Position { offset: item.offset, ..Position::default() },
                        msg: format!("no readable record in the last {limit} bytes of the file{LOG_CORRUPT_HINT}; `evident repair` looks further back and moves a torn tail of any size aside"),
                    });
                }
            }
            let parsed = match item.kind {
                SpanKind::Record => format::parse(self.framing, &item.bytes).ok().map(|p| {
                    let hash_ok = p.raw.hash.as_bytes().len() == self.chain.alg().hash_len()
                        && p.raw.compute_hash(&self.chain) == p.raw.hash;
                    (
                        Cand {
                            seq: p.seq,
                            prev: p.prev,
                            hash: p.raw.hash,
                            offset: item.offset,
                            end: item.end(self.framing),
                        },
                        hash_ok,
                        p.kind == RecordKind::Genesis,
                    )
                }),
                _ => None,
            };
            let Some((rec, hash_ok, genesis)) = parsed else {
                match cand {
                    None => continue, // after the head: the tail
                    Some(_)
                        if synced.is_some_and(|x| item.offset >= x)
                            && has_lost_block(&item.bytes, item.offset, len) =>
                    {
                        // A power cut lost a block of unsynced bytes before
                        // the candidate: the candidate was never synced (an
                        // fsync would have made that block durable), so it
                        // belongs to the tail. (Zeros where the bytes are
                        // known synced, or not known unsynced, are damage.)
                        cand = None;
                        continue;
                    }
                    // Damage before the head: left for the verifier (the
                    // head's link cannot be checked across it).
                    Some(_) => break,
                }
            };
            if let Some(c) = cand {
                if rec.seq.checked_add(1) == Some(c.seq) && rec.hash == c.prev {
                    break;
                }
                if !force {
                    return Err(corrupt(c.offset, c.seq, format!("the last record (entry seq {}) does not follow the record before it (seq {}): a replayed or inserted record", c.seq, rec.seq)));
                }
                // Repairing: the candidate joins the tail; look at this
                // record again as the next candidate.
                cand = None;
                again = Some(item);
                continue;
            }
            let problem = if !hash_ok {
                Some("last record fails its hash check (or its hash has the wrong length)")
            } else if genesis {
                Some("a genesis record after the start of the log")
            } else {
                None
            };
            match problem {
                Some(_) if force => continue,
                Some(msg) => return Err(corrupt(rec.offset, rec.seq, msg.to_string())),
                None => cand = Some(rec),
            }
        }
        let (head, end) = match cand {
            Some(c) => (
                Head {
                    seq: c.seq,
                    hash: c.hash,
                },
                c.end,
            ),
            None => (
                Head {
                    seq: 0,
                    hash: self.genesis_hash,
                },
                self.genesis_end,
            ),
        };
        let tail =
            tail::classify(src, self.framing, end, len).map_err(|e| Error::io(path, "read", e))?;
        Ok(FoundHead { head, end, tail })
    }

    /// Copies `[from, to)` into a new sidecar file, makes it durable, then
    /// truncates the log to `from`. If anything fails before the log is
    /// cut, no sidecar is left (the bytes are still in the log); a failure
    /// to cut or sync the log poisons the writer.
    fn move_aside(&self, from: u64, to: u64) -> Result<TornTail> {
        let path = &self.path;
        let mut side = create_torn_sidecar(path, from)?;
        let sidecar = side.path().to_path_buf();
        let out = &mut side.file;
        let mut copy = || -> Result<()> {
            let mut buf = vec![0u8; 64 * 1024];
            let mut off = from;
            while off < to {
                let n = ((to - off) as usize).min(buf.len());
                let chunk = buf.get_mut(..n).unwrap_or_default();
                let got = (&*self.storage as &dyn Storage)
                    .read_full_at(chunk, off)
                    .map_err(|e| Error::io(path, "read torn tail", e))?;
                if got == 0 {
                    break;
                }
                out.write_all(chunk.get(..got).unwrap_or_default())
                    .map_err(|e| Error::io(&sidecar, "write", e))?;
                off += got as u64;
            }
            Ok(())
        };
        // On failure, dropping `side` removes its temporary file.
        copy()?;
        let sidecar = side.finish()?;
        let cut = self
            .storage
            .truncate(from)
            .map_err(|e| Error::io(path, "truncate torn tail", e))
            .and_then(|()| {
                self.storage
                    .sync_data()
                    .map_err(|e| Error::io(path, "fsync", e))
            });
        if let Err(e) = cut {
            self.poison(&e);
            return Err(e);
        }
        Ok(TornTail {
            offset: from,
            len: to - from,
            sidecar,
        })
    }

    /// Shared mode: the file must still hold the last record this handle
    /// wrote. A file cut back below it, or rewritten, can never be
    /// legitimate: other writers only ever append after it.
    fn check_own_record(&self, own: &OwnRecord, len: u64) -> Result<()> {
        let rolled_back = |found: &str| Error::RolledBack {
            path: self.path.clone(),
            seq: own.seq,
            msg: format!(
                "this writer appended entry seq {} ending at byte {}, but {found}",
                own.seq, own.end
            ),
        };
        if len < own.end {
            return Err(rolled_back(&format!("the file is now {len} bytes long")));
        }
        let mut buf = vec![0u8; (own.end - own.start) as usize];
        let got = (&*self.storage as &dyn Storage)
            .read_full_at(&mut buf, own.start)
            .map_err(|e| Error::io(&self.path, "read", e))?;
        let content_len = match self.framing {
            Framing::Jsonl => got.saturating_sub(1),
            Framing::Binary => got,
        };
        let same = got == buf.len()
            && format::parse(self.framing, buf.get(..content_len).unwrap_or_default()).is_ok_and(
                |p| {
                    p.seq == own.seq
                        && p.raw.hash == own.hash
                        && p.raw.compute_hash(&self.chain) == own.hash
                },
            );
        if !same {
            return Err(rolled_back("the file no longer holds it there"));
        }
        Ok(())
    }

    /// Exclusive mode: no one else writes the file, so before each write
    /// (one fstat) it must still have a name and be exactly as long as
    /// this writer left it. A file deleted or replaced under the writer
    /// would take entries nobody can read again; one cut back or written
    /// to by another program no longer holds what this writer wrote. (A
    /// file renamed away keeps its name elsewhere and is written on.)
    fn check_unchanged(&self, inner: &Inner) -> Result<()> {
        let (len, links) = self
            .storage
            .len_and_links()
            .map_err(|e| Error::io(&self.path, "stat", e))?;
        let (seq, end) = (inner.written_seq, inner.file_len);
        if links == 0 && self.counts_links {
            let msg = format!(
                "the file was replaced or removed while this writer had it open (its last entry written there: seq {seq}); nothing more is written (reopen the log)"
            );
            return Err(Error::io(
                &self.path,
                "write",
                std::io::Error::new(std::io::ErrorKind::NotFound, msg),
            ));
        }
        if len < end {
            return Err(Error::RolledBack {
                path: self.path.clone(),
                seq,
                msg: format!(
                    "this writer's file ended at byte {end} after it, but another program cut it to {len} bytes"
                ),
            });
        }
        if len > end {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                at: Position {
                    offset: end,
                    line: 0,
                    seq: Some(seq),
                },
                msg: format!(
                    "another program wrote {} bytes after this writer's last entry (seq {seq}) although the writer holds the log's lock; nothing more is appended (run `evident verify`)",
                    len - end
                ),
            });
        }
        Ok(())
    }

    /// Refuses use from another process than the one that opened the log
    /// (a handle inherited over fork() shares the parent's file offset,
    /// lock and head). Checked before taking any mutex.
    fn check_process(&self) -> Result<()> {
        if crate::sys::process_id() != self.pid {
            return Err(Error::Forked {
                path: self.path.clone(),
                pid: self.pid,
            });
        }
        Ok(())
    }

    fn check_usable(&self, inner: &Inner) -> Result<()> {
        if inner.closed {
            return Err(Error::Closed {
                path: self.path.clone(),
            });
        }
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(Error::Poisoned {
                path: self.path.clone(),
                cause: self
                    .poison_cause
                    .lock()
                    .map(|c| c.clone())
                    .unwrap_or_default(),
            });
        }
        Ok(())
    }

    fn poison(&self, cause: &Error) {
        if let Ok(mut c) = self.poison_cause.lock() {
            if c.is_empty() {
                *c = cause.to_string();
            }
        }
        self.poisoned.store(true, Ordering::SeqCst);
        self.group_cv.notify_all();
    }

    /// Appends one entry and returns the new head. In `Sync` and
    /// `GroupCommit` modes the entry is durable when this returns `Ok`; on
    /// `Err` it is not acknowledged (and may or may not be on disk).
    pub fn append(&self, ev: &Event) -> Result<Head> {
        self.append_one(ev)
    }

    /// [`Log::append`] of an event in any form the writer reads.
    pub(crate) fn append_one<E: AsEventView>(&self, ev: &E) -> Result<Head> {
        self.append_events(std::slice::from_ref(ev), None)
    }

    /// Appends several entries at once: one lock, one write and, in the
    /// durable modes, one fsync for the whole batch. Returns every entry's
    /// head (its seq and hash), in order.
    ///
    /// All or nothing as far as acknowledgement goes: every event is
    /// checked and encoded before anything is written, so an invalid event
    /// (or one too large) rejects the whole batch with nothing written. In
    /// `Sync` and `GroupCommit` modes, `Ok` means every entry of the batch
    /// is durable; on `Err` none of them is acknowledged. A crash during
    /// the call may leave a prefix of the batch in the file as valid,
    /// linked records (spec § 10.5); nothing of a batch that was not
    /// acknowledged is ever reported durable by this handle. Entries
    /// without a `ts` of their own share one timestamp, taken at the call.
    /// An empty batch writes nothing and returns no heads.
    pub fn append_batch(&self, evs: &[Event]) -> Result<Vec<Head>> {
        self.append_batch_of(evs)
    }

    /// [`Log::append_batch`] of events in any form the writer reads (the C
    /// ABI's parsed JSON, borrowed from the caller's buffer).
    pub(crate) fn append_batch_of<E: AsEventView>(&self, evs: &[E]) -> Result<Vec<Head>> {
        let mut heads = Vec::with_capacity(evs.len());
        if evs.is_empty() {
            self.check_process()?;
            self.check_usable(&self.lock_inner())?;
            return Ok(heads);
        }
        self.append_events(evs, Some(&mut heads))?;
        Ok(heads)
    }

    /// Appends `evs` (not empty) as one batch; returns the last head and
    /// pushes every head onto `heads` when given.
    fn append_events<E: AsEventView>(
        &self,
        evs: &[E],
        heads: Option<&mut Vec<Head>>,
    ) -> Result<Head> {
        self.check_process()?;
        let _in_flight = (self.durability == Durability::GroupCommit
            && !self.commit_delay.is_zero())
        .then(|| InFlight::new(&self.appending));
        let now = Utc::now();
        let mut inner = self.lock_inner();
        self.check_usable(&inner)?;
        let shared = self.lock_mode == LockMode::Shared;
        let held = if shared {
            Some(self.lock.acquire(self.lock_timeout)?)
        } else {
            None
        };
        let r = self.append_locked(&mut inner, evs, &now, heads);
        if let Some(held) = held {
            self.lock.release(held);
        }
        let head = r?;
        let end = inner.file_len;
        match self.durability {
            Durability::Sync => {
                if let Err(e) = self.storage.sync_data() {
                    let err = Error::io(&self.path, "fsync", e);
                    self.poison(&err);
                    return Err(err);
                }
                drop(inner);
                self.note_synced(end);
            }
            Durability::GroupCommit => {
                drop(inner);
                self.wait_durable(end)?;
            }
            Durability::Buffered => drop(inner),
        }
        if let Some(auto) = &self.auto {
            if auto.count(evs.len() as u64) {
                // The entries are acknowledged whatever happens to the
                // checkpoint: a failure is kept for checkpoint_error().
                let _ = self.checkpoint_with(auto);
            }
        }
        Ok(head)
    }

    /// Syncs the log and signs a checkpoint of every durable record with
    /// `auto` (spec/checkpoints.md § 2.1), writing the checkpoint record
    /// when asked. Holds the writer's lock throughout, so the checkpoint
    /// record (seq n) follows the n records it signs.
    pub(crate) fn checkpoint_with(
        &self,
        auto: &crate::checkpoint::auto::Auto,
    ) -> Result<Option<crate::checkpoint::SignedCheckpoint>> {
        self.check_process()?;
        let mut inner = self.lock_inner();
        let r = self.checkpoint_locked(&mut inner, auto);
        if let Err(e) = &r {
            auto.set_error(Some(e.to_string()));
        }
        r
    }

    fn checkpoint_locked(
        &self,
        inner: &mut MutexGuard<'_, Inner>,
        auto: &crate::checkpoint::auto::Auto,
    ) -> Result<Option<crate::checkpoint::SignedCheckpoint>> {
        // Sign only what is durable: flush and fsync first.
        self.sync_locked(inner)?;
        let Some((cp, record)) = auto.sign(&self.path, inner.head)? else {
            return Ok(None);
        };
        if let Some(ev) = record {
            self.append_locked(inner, std::slice::from_ref(&ev), &Utc::now(), None)?;
            if self.durability != Durability::Buffered {
                self.sync_locked(inner)?;
            }
        }
        Ok(Some(cp))
    }

    /// The last failure to sign an automatic checkpoint, if the last
    /// attempt failed ([`OpenOptions::checkpoint`]). Appends succeed even
    /// when their checkpoint cannot be signed.
    pub fn checkpoint_error(&self) -> Option<String> {
        self.auto.as_ref().and_then(|a| a.error())
    }

    /// Signs an automatic checkpoint now ([`OpenOptions::checkpoint`]):
    /// `None` when no policy is set or the last checkpoint already covers
    /// every durable record.
    pub fn checkpoint_now(&self) -> Result<Option<crate::checkpoint::SignedCheckpoint>> {
        match &self.auto {
            Some(a) => self.checkpoint_with(a),
            None => Ok(None),
        }
    }

    fn append_locked<E: AsEventView>(
        &self,
        inner: &mut Inner,
        evs: &[E],
        now: &DateTime<Utc>,
        mut heads: Option<&mut Vec<Head>>,
    ) -> Result<Head> {
        if self.lock_mode == LockMode::Shared {
            let len = self
                .storage
                .len()
                .map_err(|e| Error::io(&self.path, "stat", e))?;
            // Its own last record is looked at every time: rewritten in
            // place, the file keeps its length.
            if let Some(own) = inner.own_last {
                self.check_own_record(&own, len)?;
            }
            // Another writer's durable bytes cut off (it records its
            // synced length under this lock): reported as open reports it
            // (§ 10.3), before this append records a new length.
            if let Some(durable_len) = self.read_synced_record().filter(|&d| d > len) {
                inner.recovery.truncated = Some(Truncated { durable_len, len });
            }
            if len != inner.file_len {
                self.recover_tail(inner, len, self.read_synced_hint(len))?;
            }
        }
        let before = inner.pending.len();
        let heads_before = heads.as_ref().map_or(0, |h| h.len());
        let mut head = inner.head;
        let mut last_len = 0u64;
        let mut encoded = Ok(());
        for (i, ev) in evs.iter().enumerate() {
            let ev = ev.event_view();
            // Only a forged or damaged head can carry the largest seq; refuse
            // to extend it rather than overflow (or wrap to seq 0).
            let Some(seq) = head.seq.checked_add(1) else {
                encoded = Err(Error::Corrupt {
                    path: self.path.clone(),
                    at: Position {
                        offset: inner.file_len,
                        line: 0,
                        seq: Some(head.seq),
                    },
                    msg: format!("the last record has the largest possible seq{LOG_CORRUPT_HINT}"),
                });
                break;
            };
            // A large event's record is built in allocations that cannot
            // fail softly (its details are parsed and written again): the
            // room is asked for first, so that a memory limit fails this
            // append (nothing of it kept) instead of aborting the process.
            let need = ev.text_len();
            if need >= 64 * 1024
                && (inner
                    .pending
                    .try_reserve(need.saturating_add(need / 4).saturating_add(4096))
                    .is_err()
                    || !crate::scan::headroom(need.saturating_mul(3)))
            {
                let e = crate::scan::no_memory(need.saturating_mul(3));
                encoded = Err(Error::io(&self.path, "append", e));
                break;
            }
            let actor = ev.actor.unwrap_or(&self.actor);
            let host = ev.host.unwrap_or(&self.host);
            let ts = ev.ts.unwrap_or(now);
            let start = inner.pending.len();
            match format::push_framed_entry(
                &mut inner.pending,
                self.framing,
                &self.chain,
                seq,
                &head.hash,
                ts,
                &ev,
                actor,
                host,
            ) {
                Err(msg) if evs.len() > 1 => {
                    encoded = Err(Error::InvalidArgument(format!(
                        "event {i} of the batch: {msg}"
                    )));
                    break;
                }
                Err(msg) => {
                    encoded = Err(Error::InvalidArgument(msg));
                    break;
                }
                Ok((_, body_len)) if body_len > MAX_BODY => {
                    encoded = Err(Error::TooLarge {
                        path: self.path.clone(),
                        size: body_len,
                        max: MAX_BODY,
                    });
                    break;
                }
                Ok((hash, _)) => {
                    last_len = (inner.pending.len() - start) as u64;
                    head = Head { seq, hash };
                    inner.pending_seq = seq;
                }
            }
            if let Some(h) = heads.as_deref_mut() {
                h.push(head);
            }
        }
        if let Err(e) = encoded {
            // Nothing of the batch is kept: the buffer and the heads go back
            // to where they were.
            inner.pending.truncate(before);
            if let Some(h) = heads {
                h.truncate(heads_before);
            }
            return Err(e);
        }
        let write_now = self.durability != Durability::Buffered
            || self.lock_mode == LockMode::Shared
            || inner.pending.len() >= self.buffer_size;
        if write_now {
            if let Err(e) = self.flush_pending(inner) {
                if let Some(h) = heads {
                    h.truncate(heads_before);
                }
                return Err(e);
            }
        }
        if self.lock_mode == LockMode::Shared {
            inner.own_last = Some(OwnRecord {
                start: inner.file_len - last_len,
                end: inner.file_len,
                seq: head.seq,
                hash: head.hash,
            });
        }
        inner.head = head;
        Ok(head)
    }

    /// Writes the in-memory buffer to the file. On failure the partial
    /// write is rolled back where possible and the writer is poisoned.
    fn flush_pending(&self, inner: &mut Inner) -> Result<()> {
        if inner.pending.is_empty() {
            return Ok(());
        }
        if self.lock_mode == LockMode::Exclusive {
            if let Err(err) = self.check_unchanged(inner) {
                // Nothing is written into a file that is gone or that is
                // not what this writer left; the writer cannot go on.
                inner.pending.clear();
                self.poison(&err);
                return Err(err);
            }
        }
        match self.storage.append(&inner.pending) {
            Ok(()) => {
                inner.file_len += inner.pending.len() as u64;
                inner.written_seq = inner.pending_seq;
                inner.pending.clear();
                self.written_end.store(inner.file_len, Ordering::SeqCst);
                Ok(())
            }
            Err(e) => {
                let err = Error::io(&self.path, "write", e);
                // Roll back a short write so the file ends on a record. The
                // entries that were only buffered are lost: the writer is
                // poisoned and must be reopened.
                let _ = self.storage.truncate(inner.file_len);
                inner.pending.clear();
                self.poison(&err);
                Err(err)
            }
        }
    }

    fn note_synced(&self, upto: u64) {
        let mut g = self.group.lock().unwrap_or_else(|e| e.into_inner());
        if upto > g.synced {
            g.synced = upto;
            self.write_synced_hint(upto);
        }
    }

    /// Group commit: returns once the file is durable up to `target`,
    /// sharing one fsync among every thread waiting at the same time.
    fn wait_durable(&self, target: u64) -> Result<()> {
        let mut g = self.group.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if g.synced >= target {
                return Ok(());
            }
            if self.poisoned.load(Ordering::SeqCst) {
                drop(g);
                let inner = self.lock_inner();
                self.check_usable(&inner)?;
                return Err(Error::Poisoned {
                    path: self.path.clone(),
                    cause: "fsync failed".into(),
                });
            }
            if !g.leader {
                g.leader = true;
                // Other appends in flight will write soon: wait for them
                // (PostgreSQL's commit_delay with commit_siblings = 1).
                let others = self.appending.load(Ordering::SeqCst) > 1;
                drop(g);
                if others && !self.commit_delay.is_zero() {
                    // Let the other appenders write their entries first.
                    std::thread::sleep(self.commit_delay);
                }
                let upto = self.written_end.load(Ordering::SeqCst);
                let r = self.storage.sync_data();
                g = self.group.lock().unwrap_or_else(|e| e.into_inner());
                g.leader = false;
                match r {
                    Ok(()) => {
                        if upto > g.synced {
                            g.synced = upto;
                            self.write_synced_hint(upto);
                        }
                    }
                    Err(e) => {
                        let err = Error::io(&self.path, "fsync", e);
                        self.poison(&err);
                        self.group_cv.notify_all();
                        return Err(err);
                    }
                }
                self.group_cv.notify_all();
                continue;
            }
            g = self.group_cv.wait(g).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Writes buffered entries to the file and makes everything this handle
    /// wrote durable. (Bytes that were already in the file when it was
    /// opened are treated as durable: the fsync is skipped when this handle
    /// has written nothing since its last one.)
    pub fn sync(&self) -> Result<()> {
        self.check_process()?;
        let mut inner = self.lock_inner();
        self.sync_locked(&mut inner)
    }

    /// [`Log::sync`] with the inner lock held.
    fn sync_locked(&self, inner: &mut MutexGuard<'_, Inner>) -> Result<()> {
        self.check_usable(inner)?;
        self.flush_pending(inner)?;
        let end = inner.file_len;
        let synced = self.group.lock().unwrap_or_else(|e| e.into_inner()).synced;
        if synced >= end {
            // Nothing was written since the last successful fsync.
            return Ok(());
        }
        if let Err(e) = self.storage.sync_data() {
            let err = Error::io(&self.path, "fsync", e);
            self.poison(&err);
            return Err(err);
        }
        self.note_synced(end);
        Ok(())
    }

    /// Flushes, syncs and releases the lock. Further calls fail with
    /// [`Error::Closed`]; closing twice is a no-op.
    pub fn close(&self) -> Result<()> {
        // In a child after fork() the lock and the buffered entries are the
        // parent's: releasing or flushing them here would break its log.
        self.check_process()?;
        let mut inner = self.lock_inner();
        if inner.closed {
            return Ok(());
        }
        // Flushed and marked closed under one hold of the lock, so that no
        // append can be acknowledged between the final flush and the close.
        // On a poisoned writer this returns the poison error: entries
        // acknowledged only as buffered may not be durable.
        let mut r = self.sync_locked(&mut inner);
        if let (Ok(()), Some(auto)) = (&r, &self.auto) {
            if auto.due_at_close() {
                // The entries are durable whatever happens here; a failure
                // to sign is returned once the log is closed.
                r = self.checkpoint_locked(&mut inner, auto).map(|_| ());
                if let Err(e) = &r {
                    auto.set_error(Some(e.to_string()));
                }
                if r.is_ok() {
                    r = self.sync_locked(&mut inner);
                }
            }
        }
        inner.closed = true;
        if self.lock_mode == LockMode::Exclusive {
            // Forget the holder text before letting go of the lock.
            self.lock.clear_holder();
        }
        if let Some(held) = self
            .lock_held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            self.lock.release(held);
        }
        r
    }

    /// The current head (including entries buffered but not yet synced).
    ///
    /// Takes the log's lock: in a child process after `fork()` (see
    /// [`Log::forked`]) it blocks for ever if a thread of the parent held
    /// that lock at the fork. Use [`Log::try_head`] there.
    pub fn head(&self) -> Head {
        self.lock_inner().head
    }

    /// [`Log::head`], or `Error::Forked` without taking any lock when this
    /// handle was inherited over `fork()`.
    pub fn try_head(&self) -> Result<Head> {
        self.check_process()?;
        Ok(self.head())
    }

    /// What open found and repaired (takes the log's lock, as
    /// [`Log::head`] does: see [`Log::try_recovery`] after `fork()`).
    pub fn recovery(&self) -> Recovery {
        self.lock_inner().recovery.clone()
    }

    /// [`Log::recovery`], or `Error::Forked` without taking any lock when
    /// this handle was inherited over `fork()`.
    pub fn try_recovery(&self) -> Result<Recovery> {
        self.check_process()?;
        Ok(self.recovery())
    }

    /// Whether this handle was opened by another process (inherited over
    /// `fork()`): every append, sync and close then fails with
    /// `Error::Forked`, and so do [`Log::try_head`] and
    /// [`Log::try_recovery`].
    pub fn forked(&self) -> bool {
        self.check_process().is_err()
    }

    /// The log's genesis (format version, algorithm, key id, log id).
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The file's framing.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The durability mode.
    pub fn durability(&self) -> Durability {
        self.durability
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        // A child after fork() only closes its copies of the descriptors.
        let _ = self.close();
    }
}

/// Creates a new log atomically: the genesis is written to a temporary file
/// which is made durable and then linked into place (never replacing an
/// existing file). Returns false if another process created it first.
fn create_log(path: &Path, opts: &OpenOptions) -> Result<bool> {
    let bytes = new_log_bytes(path, opts)?;
    let dir = crate::storage::parent_dir(path);
    let linked = match crate::sys::create_unnamed_then_link(&dir, path, &bytes) {
        Ok(true) => {
            // The temporary files of creators killed before (named ones:
            // other systems, or earlier versions); the named way below
            // removes them itself.
            crate::storage::remove_stale(path, "creating");
            Ok(())
        }
        // Where there are no unnamed files (not Linux), a process killed
        // before the link leaves the temporary `.NAME.creating-PID-HEX`
        // behind, removed by the next creation of a log of that name once
        // that process is gone.
        Ok(false) => NEW_LOG.write(path, &bytes).map_err(|f| f.error),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        Err(e) => return Err(Error::io(path, "create", e)),
    };
    match linked {
        Ok(()) => {
            sync_dir(&dir).map_err(|e| Error::io(&dir, "fsync directory", e))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if opts.create_new {
                Err(Error::io(path, "create", e))
            } else {
                Ok(false)
            }
        }
        Err(e) => Err(Error::io(path, "create", e)),
    }
}

/// A new log's bytes: the binary header (if binary) and the genesis.
fn new_log_bytes(path: &Path, opts: &OpenOptions) -> Result<Vec<u8>> {
    let framing = opts.framing.unwrap_or_else(|| default_framing(path));
    let alg = opts.alg.unwrap_or(if opts.key.is_some() {
        HashAlg::HmacSha256
    } else {
        HashAlg::Sha256
    });
    let chain = Chain::new(alg, opts.key.as_ref())?;
    let genesis = Genesis {
        version: format::FORMAT_VERSION,
        ts: Utc::now(),
        alg,
        key_id: chain.key_id().map(str::to_string),
        log_id: hex::encode(rand::random::<[u8; 16]>()),
        critical: Vec::new(),
    };
    let mut body = Vec::new();
    format::encode_genesis(&mut body, &genesis);
    let mut bytes = framing.file_header();
    format::frame(&mut bytes, framing, &body, &chain.hash(&body));
    Ok(bytes)
}

/// A new log written under a temporary name, made durable, and linked at
/// its name, never replacing a file there (the caller fsyncs the
/// directory, as for an unnamed file).
const NEW_LOG: crate::storage::NewFile = crate::storage::NewFile {
    what: "creating",
    perm: crate::storage::Perm::Default,
    durable: crate::storage::Durable::File,
    place: crate::storage::Place::NoReplace,
};

/// A log's genesis as read from its file.
pub(crate) struct GenesisInfo {
    pub framing: Framing,
    pub genesis: Genesis,
    /// The stored hash of the genesis record.
    pub hash: Hash,
    /// Offset just past the genesis record.
    pub end: u64,
    /// The genesis record's bytes (JSONL line or binary frame).
    pub bytes: Vec<u8>,
}

impl GenesisInfo {
    /// Whether the genesis record's stored hash is right for `chain`.
    pub fn hash_ok(&self, chain: &Chain) -> bool {
        format::parse(self.framing, &self.bytes)
            .map(|p| p.raw.compute_hash(chain) == self.hash)
            .unwrap_or(false)
    }
}

/// Reads and checks the file's header and genesis record.
pub(crate) fn read_genesis(
    path: &Path,
    src: &(impl ReadAt + ?Sized),
    len: u64,
) -> Result<GenesisInfo> {
    let mut first = [0u8; format::BINARY_HEADER_LEN];
    let n = src
        .read_full_at(&mut first, 0)
        .map_err(|e| Error::io(path, "read", e))?;
    let at0 = Position {
        offset: 0,
        // A binary header (§ 9.7: binary positions have line 0).
        line: u64::from(!first.starts_with(&format::BINARY_MAGIC)),
        seq: None,
    };
    let framing = Framing::detect(first.get(..n).unwrap_or_default()).ok_or_else(|| {
        Error::malformed(
            path,
            at0,
            if n == 0 {
                "file is empty: not an evident log".to_string()
            } else {
                "not an evident log (neither JSONL nor binary framing)".to_string()
            },
        )
    })?;
    if framing == Framing::Binary {
        if n < format::BINARY_HEADER_LEN {
            return Err(Error::malformed(
                path,
                at0,
                format!("binary file header is incomplete ({n} of 16 bytes)"),
            ));
        }
        let version = u32::from_le_bytes([
            first.get(8).copied().unwrap_or(0),
            first.get(9).copied().unwrap_or(0),
            first.get(10).copied().unwrap_or(0),
            first.get(11).copied().unwrap_or(0),
        ]);
        if version != format::BINARY_VERSION {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                msg: format!("binary framing version {version}"),
            });
        }
        // No flags are defined in version 1; a later version may give them
        // a meaning (spec § 8 rule 1). The header is not covered by any
        // CRC or hash, so this also catches damage to these bytes.
        let flags = first.get(12..16).map_or(0, |f| {
            u32::from_le_bytes([
                f.first().copied().unwrap_or(0),
                f.get(1).copied().unwrap_or(0),
                f.get(2).copied().unwrap_or(0),
                f.get(3).copied().unwrap_or(0),
            ])
        });
        if flags != 0 {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                msg: format!("binary header flags {flags:#010x}"),
            });
        }
    }
    let at = Position {
        offset: framing.data_start(),
        // Lines are JSONL's; a binary log's positions have line 0 (§ 9.7).
        line: u64::from(framing == Framing::Jsonl),
        seq: Some(0),
    };
    let (bytes, end) = scan::read_first_record(src, framing, len)
        .map_err(|e| Error::io(path, "read", e))?
        .ok_or_else(|| Error::malformed(path, at, "genesis record is missing or incomplete"))?;
    if let Some(msg) = format::unsupported_genesis(framing, &bytes) {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            msg,
        });
    }
    let p = format::parse(framing, &bytes).map_err(|d| Error::malformed(path, at, d.0))?;
    let g = format::decode_genesis(&p).map_err(|d| Error::malformed(path, at, d.0))?;
    if g.version > format::FORMAT_VERSION {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            msg: format!(
                "format version {} (this library reads up to {})",
                g.version,
                format::FORMAT_VERSION
            ),
        });
    }
    if let Some(ext) = g
        .critical
        .iter()
        .find(|c| !format::KNOWN_EXTENSIONS.contains(&c.as_str()))
    {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            msg: format!("log needs extension {ext:?}"),
        });
    }
    let hash = p.raw.hash;
    Ok(GenesisInfo {
        framing,
        genesis: g,
        hash,
        end,
        bytes,
    })
}

/// What a log says about itself, read from its first record without a
/// lock, without a key and without scanning the file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LogInfo {
    /// The file's framing.
    pub framing: Framing,
    /// The genesis record (format version, algorithm, key id, log id).
    pub genesis: Genesis,
    /// The genesis record's stored hash (checked by [`mod@crate::verify`], which
    /// has the key).
    pub genesis_hash: Hash,
}

/// Reads a log's header and genesis record. Fails with `Malformed` when the
/// file is not an evident log and `Unsupported` when it needs a newer reader.
pub fn inspect(path: impl AsRef<Path>) -> Result<LogInfo> {
    let path = path.as_ref();
    let file = crate::storage::open_regular(path, crate::storage::Access::Read, "open")?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(path, "stat", e))?
        .len();
    let gi = read_genesis(path, &file, len)?;
    Ok(LogInfo {
        framing: gi.framing,
        genesis: gi.genesis,
        genesis_hash: gi.hash,
    })
}

/// Builds the chain for a log's genesis and the caller's key.
pub(crate) fn chain_for(path: &Path, g: &Genesis, key: Option<&Key>) -> Result<Chain> {
    match (g.alg.is_keyed(), key) {
        (true, None) => Err(Error::WrongKey {
            path: path.to_path_buf(),
            msg: format!(
                "log is keyed ({}, key id {}): a key is needed",
                g.alg,
                g.key_id.as_deref().unwrap_or("?")
            ),
        }),
        (false, Some(_)) => Err(Error::WrongKey {
            path: path.to_path_buf(),
            msg: "a key was given but the log is keyless (sha256)".into(),
        }),
        (true, Some(k)) => {
            if g.key_id.as_deref() != Some(k.key_id().as_str()) {
                return Err(Error::WrongKey {
                    path: path.to_path_buf(),
                    msg: format!(
                        "key id {} does not match the log's key id {}",
                        k.key_id(),
                        g.key_id.as_deref().unwrap_or("(none)")
                    ),
                });
            }
            Chain::new(g.alg, Some(k))
        }
        (false, None) => Chain::new(g.alg, None),
    }
}

/// A torn-tail sidecar being written: the bytes go to a temporary file
/// next to it ([`storage::temp_sibling`](crate::storage::temp_sibling)),
/// which [`TornSidecar::finish`] makes durable and links at the final name
/// `<log>.torn-<UTC stamp>-at-<offset>`. A process killed before that
/// leaves only the temporary file (removed by a later sidecar once the
/// process is gone), never a partial sidecar under the final name; a
/// sidecar dropped unfinished removes its temporary file.
pub(crate) struct TornSidecar {
    /// Write the tail here.
    pub(crate) file: File,
    tmp: PathBuf,
    path: PathBuf,
    done: bool,
}

impl TornSidecar {
    /// The name the sidecar gets when finished.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// fsyncs the file, links it at its final name (never replacing a
    /// file), removes the temporary name and fsyncs the directory. On
    /// failure no sidecar is left: the caller has not cut the tail from the
    /// file, and a sidecar left beside it would be a second copy of those
    /// bytes once a later attempt moves them aside.
    pub(crate) fn finish(mut self) -> Result<PathBuf> {
        let path = self.path.clone();
        self.file
            .sync_all()
            .map_err(|e| Error::io(&path, "fsync", e))?;
        crate::storage::link_into_place(&self.tmp, &path)
            .map_err(|e| Error::io(&path, "create torn-tail sidecar", e))?;
        self.done = true;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if let Err(e) = sync_dir(dir) {
            // Opening the directory can be refused (no descriptor left).
            let _ = fs::remove_file(&path);
            return Err(Error::io(dir, "fsync directory", e));
        }
        Ok(path)
    }
}

impl Drop for TornSidecar {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Starts the sidecar that keeps the bytes of `path` from offset `from`
/// on (see [`TornSidecar`]). It gets the log's permission bits (and, when
/// running as root, its owner and group).
pub(crate) fn create_torn_sidecar(path: &Path, from: u64) -> Result<TornSidecar> {
    let stamp = Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".torn-{stamp}-at-{from}"));
    let sidecar = PathBuf::from(name);
    let (_, tmp) = crate::storage::temp_sibling(path, "torn");
    use crate::sys;
    let meta = fs::metadata(path).map_err(|e| Error::io(path, "stat", e))?;
    let mode = sys::mode(&meta) & 0o777;
    let mut o = FsOpenOptions::new();
    o.write(true).create_new(true);
    sys::create_mode(&mut o, mode);
    sys::nofollow_open(&mut o);
    let out = o
        .open(&tmp)
        .map_err(|e| Error::io(&tmp, "create torn-tail sidecar", e))?;
    let side = TornSidecar {
        file: out,
        tmp,
        path: sidecar,
        done: false,
    };
    // The umask may have narrowed the mode; a wider one is never set.
    let _ = sys::set_mode(&side.file, mode);
    if sys::is_root() {
        // Best effort: the file is ours either way.
        sys::copy_owner(&side.file, &meta);
    }
    Ok(side)
}
