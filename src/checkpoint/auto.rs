//! Automatic checkpoints: a writer that signs a checkpoint every N entries,
//! every T seconds (checked at each append) and at close, into the log's
//! checkpoints sidecar `<log>.checkpoints` (append-only, fsynced).
//!
//! Each checkpoint covers only synced entries (the log is synced first, so
//! a power cut never makes a signed checkpoint claim entries the log lost)
//! and must be consistent with the previous one (spec/checkpoints.md rule
//! 9). A failure to sign does not fail the append that triggered it (the
//! entry is in the log): it is kept for [`CheckpointingLog::last_error`]
//! and the next append tries again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{append_checkpoint, checkpoints_path, create, last_checkpoint, Checkpoint};
use super::{CheckpointOptions, NoteSigner, SignedCheckpoint};
use crate::chain::Key;
use crate::error::Result;
use crate::format::Event;
use crate::log::{Head, Log};

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

struct State {
    since: u64,
    last_time: Instant,
    last: Option<Checkpoint>,
    loaded: bool,
    error: Option<String>,
}

/// A log that signs checkpoints as it is written.
pub struct CheckpointingLog {
    log: Log,
    signer: NoteSigner,
    policy: CheckpointPolicy,
    state: Mutex<State>,
}

impl CheckpointingLog {
    /// Wraps an open log.
    pub fn new(log: Log, signer: NoteSigner, policy: CheckpointPolicy) -> CheckpointingLog {
        CheckpointingLog {
            log,
            signer,
            policy,
            state: Mutex::new(State {
                since: 0,
                last_time: Instant::now(),
                last: None,
                loaded: false,
                error: None,
            }),
        }
    }

    /// The log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Appends an entry; signs a checkpoint when the policy says so.
    pub fn append(&self, ev: &Event) -> Result<Head> {
        let head = self.log.append(ev)?;
        let due = {
            let mut s = self.lock();
            s.since += 1;
            self.policy
                .every_entries
                .is_some_and(|n| s.since >= n.max(1))
                || self
                    .policy
                    .every
                    .is_some_and(|t| s.last_time.elapsed() >= t)
        };
        if due {
            if let Err(e) = self.checkpoint_now() {
                self.lock().error = Some(e.to_string());
            }
        }
        Ok(head)
    }

    /// Syncs the log and signs a checkpoint of everything in it now,
    /// appended to the sidecar.
    pub fn checkpoint_now(&self) -> Result<SignedCheckpoint> {
        self.log.sync()?;
        let mut s = self.lock();
        let sidecar = checkpoints_path(self.log.path());
        if !s.loaded {
            s.last = last_checkpoint(&sidecar)?.map(|c| c.checkpoint);
            s.loaded = true;
        }
        let opts = CheckpointOptions {
            origin: self.policy.origin.clone(),
            key: self.policy.key.clone(),
            size: None,
            previous: s.last.clone(),
        };
        let cp = create(self.log.path(), &self.signer, &opts)?;
        append_checkpoint(&sidecar, &cp)?;
        s.last = Some(cp.checkpoint.clone());
        s.since = 0;
        s.last_time = Instant::now();
        s.error = None;
        Ok(cp)
    }

    /// The last signing failure since the last checkpoint, if any.
    pub fn last_error(&self) -> Option<String> {
        self.lock().error.clone()
    }

    /// Signs a final checkpoint (when the policy asks for one and entries
    /// were appended since the last) and closes the log.
    pub fn close(&self) -> Result<Option<SignedCheckpoint>> {
        let pending = self.lock().since > 0 || !self.lock().loaded;
        let cp = if self.policy.at_close && pending {
            Some(self.checkpoint_now()?)
        } else {
            None
        };
        self.log.close()?;
        Ok(cp)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (plain
        // counters): keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for CheckpointingLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointingLog")
            .field("path", &self.log.path())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
