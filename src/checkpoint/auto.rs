//! Automatic checkpoints by the writer (spec/checkpoints.md § 2.1): set
//! with [`crate::OpenOptions::checkpoint`], the log signs a checkpoint
//! every N entries, when T has passed since the last one (checked at each
//! append) and at close, into `<log>.checkpoints`, and optionally also as
//! a checkpoint record in the log itself.
//!
//! A checkpoint never covers more records than are durable in the log:
//! the writer syncs the log first (in [`crate::Durability::Buffered`] mode
//! a due checkpoint is a sync point), signs at most the records that sync
//! covered, appends the note to the sidecar and fsyncs it, and only then
//! writes the checkpoint record. A failure to sign does not fail the
//! append that triggered it (that entry is acknowledged): it is kept for
//! [`crate::Log::checkpoint_error`] and the next append tries again; a
//! failure at close is returned by `close` (after the log is closed).
//!
//! [`CheckpointingLog`] is the older wrapper around an open log; it is a
//! thin shim over the same code.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{append_checkpoint, checkpoints_path, create, last_checkpoint, Checkpoint};
use super::{CheckpointOptions, NoteSigner, SignedCheckpoint};
use crate::chain::Key;
use crate::error::Result;
use crate::format::Event;
use crate::log::{Head, Log};

/// The `event_type` of a checkpoint record (spec/checkpoints.md § 2.2).
pub const CHECKPOINT_EVENT_TYPE: &str = "evident.checkpoint";
/// The `action` of a checkpoint record.
pub const CHECKPOINT_ACTION: &str = "checkpoint";

/// Automatic checkpoints of a writer: [`crate::OpenOptions::checkpoint`].
#[derive(Clone)]
pub struct AutoCheckpoint {
    signer: NoteSigner,
    every_entries: Option<u64>,
    every: Option<Duration>,
    at_close: bool,
    in_log: bool,
    origin: Option<String>,
}

impl std::fmt::Debug for AutoCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoCheckpoint")
            .field("signer", &self.signer.name())
            .field("every_entries", &self.every_entries)
            .field("every", &self.every)
            .field("at_close", &self.at_close)
            .field("in_log", &self.in_log)
            .field("origin", &self.origin)
            .finish()
    }
}

impl AutoCheckpoint {
    /// Checkpoints signed by `signer` (an Ed25519 log key), at close only
    /// until [`every_entries`](Self::every_entries) or
    /// [`every`](Self::every) is set.
    pub fn new(signer: NoteSigner) -> AutoCheckpoint {
        AutoCheckpoint {
            signer,
            every_entries: None,
            every: None,
            at_close: true,
            in_log: false,
            origin: None,
        }
    }
    /// Sign after every `n` entries appended (0: not by count).
    pub fn every_entries(mut self, n: u64) -> Self {
        self.every_entries = (n > 0).then_some(n);
        self
    }
    /// Sign at the first append once `t` has passed since the last
    /// checkpoint (zero: not by time). There is no timer thread: an idle
    /// log is signed at its next append or at close.
    pub fn every(mut self, t: Duration) -> Self {
        self.every = (!t.is_zero()).then_some(t);
        self
    }
    /// Sign at close when entries were appended since the last checkpoint
    /// (default true).
    pub fn at_close(mut self, yes: bool) -> Self {
        self.at_close = yes;
        self
    }
    /// Also write each checkpoint as a record in the log (default false).
    pub fn in_log(mut self, yes: bool) -> Self {
        self.in_log = yes;
        self
    }
    /// The origin line (default `evident/<log id>`).
    pub fn origin(mut self, o: impl Into<String>) -> Self {
        self.origin = Some(o.into());
        self
    }
}

struct State {
    /// Entries appended since the last checkpoint.
    since: u64,
    last_time: Instant,
    last: Option<Checkpoint>,
    loaded: bool,
    error: Option<String>,
}

/// The writer's checkpointing state (one per open log).
pub(crate) struct Auto {
    cfg: AutoCheckpoint,
    key: Option<Key>,
    state: Mutex<State>,
}

impl Auto {
    pub(crate) fn new(cfg: AutoCheckpoint, key: Option<Key>) -> Auto {
        Auto {
            cfg,
            key,
            state: Mutex::new(State {
                since: 0,
                last_time: Instant::now(),
                last: None,
                loaded: false,
                error: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Plain counters: a panic while holding the lock leaves them usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts `n` appended entries; true when a checkpoint is due.
    pub(crate) fn count(&self, n: u64) -> bool {
        let mut s = self.lock();
        s.since += n;
        self.cfg.every_entries.is_some_and(|k| s.since >= k)
            || self.cfg.every.is_some_and(|t| s.last_time.elapsed() >= t)
    }

    /// Whether close should sign.
    pub(crate) fn due_at_close(&self) -> bool {
        let s = self.lock();
        s.since > 0
            && (self.cfg.at_close || self.cfg.every.is_some_and(|t| s.last_time.elapsed() >= t))
    }

    /// Keeps (or clears) the last failure.
    pub(crate) fn set_error(&self, e: Option<String>) {
        self.lock().error = e;
    }

    pub(crate) fn error(&self) -> Option<String> {
        self.lock().error.clone()
    }

    /// Signs a checkpoint of the log's first `head.seq + 1` records (which
    /// the caller has made durable) and appends it to the sidecar. Returns
    /// the checkpoint record to write, when asked for; `None` when the
    /// last checkpoint already covers them.
    pub(crate) fn sign(
        &self,
        log: &std::path::Path,
        head: Head,
    ) -> Result<Option<(SignedCheckpoint, Option<Event>)>> {
        let size = head.seq + 1;
        let sidecar = checkpoints_path(log);
        let mut s = self.lock();
        if !s.loaded {
            s.last = last_checkpoint(&sidecar)?.map(|c| c.checkpoint);
            s.loaded = true;
        }
        let reset = |s: &mut State| {
            s.since = 0;
            s.last_time = Instant::now();
            s.error = None;
        };
        if s.last.as_ref().is_some_and(|l| l.size >= size) {
            // Nothing new is durable (another thread signed it).
            reset(&mut s);
            return Ok(None);
        }
        let opts = CheckpointOptions {
            origin: self.cfg.origin.clone(),
            key: self.key.clone(),
            size: Some(size),
            previous: s.last.clone(),
        };
        let cp = create(log, &self.cfg.signer, &opts)?;
        append_checkpoint(&sidecar, &cp)?;
        s.last = Some(cp.checkpoint.clone());
        reset(&mut s);
        let record = self.cfg.in_log.then(|| checkpoint_event(&cp));
        Ok(Some((cp, record)))
    }
}

/// The checkpoint record of `cp` (spec/checkpoints.md § 2.2).
pub fn checkpoint_event(cp: &SignedCheckpoint) -> Event {
    Event::new(CHECKPOINT_EVENT_TYPE, CHECKPOINT_ACTION)
        .source("evident")
        .details(serde_json::json!({
            "checkpoint": cp.to_text(),
            "size": cp.checkpoint.size,
        }))
}

/// When a [`CheckpointingLog`] signs.
#[derive(Debug, Clone, Default)]
pub struct CheckpointPolicy {
    /// After this many appended entries (none: not by count).
    pub every_entries: Option<u64>,
    /// When this long has passed since the last checkpoint, at the next
    /// append (none: not by time).
    pub every: Option<Duration>,
    /// At close.
    pub at_close: bool,
    /// Origin line (default: `evident/<log id>`).
    pub origin: Option<String>,
    /// The log's HMAC key (keyed logs: record hashes are checked too).
    pub key: Option<Key>,
}

/// A log that signs checkpoints as it is written.
///
/// Superseded by [`crate::OpenOptions::checkpoint`], which does the same
/// inside the writer (and can also write checkpoint records into the
/// log); this wrapper uses the same code.
pub struct CheckpointingLog {
    log: Log,
    auto: Auto,
}

impl CheckpointingLog {
    /// Wraps an open log.
    pub fn new(log: Log, signer: NoteSigner, policy: CheckpointPolicy) -> CheckpointingLog {
        let mut cfg = AutoCheckpoint::new(signer)
            .every_entries(policy.every_entries.unwrap_or(0))
            .every(policy.every.unwrap_or(Duration::ZERO))
            .at_close(policy.at_close);
        cfg.origin = policy.origin;
        CheckpointingLog {
            log,
            auto: Auto::new(cfg, policy.key),
        }
    }

    /// The log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Appends an entry; signs a checkpoint when the policy says so.
    pub fn append(&self, ev: &Event) -> Result<Head> {
        let head = self.log.append(ev)?;
        if self.auto.count(1) {
            if let Err(e) = self.checkpoint_now() {
                self.auto.set_error(Some(e.to_string()));
            }
        }
        Ok(head)
    }

    /// Syncs the log and signs a checkpoint of everything in it now,
    /// appended to the sidecar.
    pub fn checkpoint_now(&self) -> Result<SignedCheckpoint> {
        self.log
            .checkpoint_with(&self.auto)?
            .ok_or_else(|| crate::Error::InvalidArgument("nothing new to sign".into()))
            .or_else(|_| {
                // Already signed: the last checkpoint is the answer.
                last_checkpoint(&checkpoints_path(self.log.path()))?
                    .ok_or_else(|| crate::Error::InvalidArgument("no checkpoint was signed".into()))
            })
    }

    /// The last signing failure since the last checkpoint, if any.
    pub fn last_error(&self) -> Option<String> {
        self.auto.error()
    }

    /// Signs a final checkpoint (when the policy asks for one and entries
    /// were appended since the last) and closes the log.
    pub fn close(&self) -> Result<Option<SignedCheckpoint>> {
        let cp = if self.auto.due_at_close() {
            self.log.checkpoint_with(&self.auto)?
        } else {
            None
        };
        self.log.close()?;
        Ok(cp)
    }
}

impl std::fmt::Debug for CheckpointingLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointingLog")
            .field("path", &self.log.path())
            .field("policy", &self.auto.cfg)
            .finish_non_exhaustive()
    }
}
