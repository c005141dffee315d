//! Test hooks: storage backends that inject write and fsync failures
//! ([`FaultyStorage`]) or track what a power cut would leave
//! ([`CrashStorage`]). Compiled only for the crate's own tests and with the
//! `__internal` feature (the crate's integration tests, benches and fuzz
//! targets); not part of the API.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::Storage;
use crate::sys;

/// Which failure [`FaultyStorage`] injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Writes fail with ENOSPC after this many more bytes (a short write
    /// happens first if the budget ends inside a buffer).
    DiskFullAfter(u64),
    /// Every write fails with EIO.
    WriteError,
    /// The next `sync_data` fails with EIO.
    SyncError,
}

/// Shared switchboard for a [`FaultyStorage`]; keep a clone to arm faults
/// while the log uses the storage.
#[derive(Debug, Default)]
pub struct FaultPlan {
    budget: AtomicU64,
    budget_armed: AtomicBool,
    write_error: AtomicBool,
    sync_error: AtomicBool,
}

impl FaultPlan {
    /// A plan with no faults armed.
    pub fn new() -> Arc<FaultPlan> {
        Arc::new(FaultPlan::default())
    }

    /// Arms a fault.
    pub fn arm(&self, fault: Fault) {
        match fault {
            Fault::DiskFullAfter(n) => {
                self.budget.store(n, Ordering::SeqCst);
                self.budget_armed.store(true, Ordering::SeqCst);
            }
            Fault::WriteError => self.write_error.store(true, Ordering::SeqCst),
            Fault::SyncError => self.sync_error.store(true, Ordering::SeqCst),
        }
    }

    /// Disarms every fault.
    pub fn clear(&self) {
        self.budget_armed.store(false, Ordering::SeqCst);
        self.write_error.store(false, Ordering::SeqCst);
        self.sync_error.store(false, Ordering::SeqCst);
    }
}

/// A backend that fails on command (see [`Fault`]).
pub struct FaultyStorage<S> {
    inner: S,
    plan: Arc<FaultPlan>,
}

impl<S: Storage> FaultyStorage<S> {
    /// Wraps `inner`, failing as `plan` says.
    pub fn new(inner: S, plan: Arc<FaultPlan>) -> Self {
        FaultyStorage { inner, plan }
    }
}

impl<S: Storage> Storage for FaultyStorage<S> {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        if self.plan.write_error.load(Ordering::SeqCst) {
            return Err(sys::io_error());
        }
        if self.plan.budget_armed.load(Ordering::SeqCst) {
            let budget = self.plan.budget.load(Ordering::SeqCst);
            if (buf.len() as u64) > budget {
                let short = buf.get(..budget as usize).unwrap_or_default();
                self.inner.append(short)?;
                self.plan.budget.store(0, Ordering::SeqCst);
                return Err(sys::disk_full_error());
            }
            self.plan
                .budget
                .store(budget - buf.len() as u64, Ordering::SeqCst);
        }
        self.inner.append(buf)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn len_and_links(&self) -> io::Result<(u64, u64)> {
        self.inner.len_and_links()
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        if self.plan.sync_error.swap(false, Ordering::SeqCst) {
            return Err(sys::io_error());
        }
        self.inner.sync_data()
    }
}

/// A backend that records, for crash simulation, how many bytes were
/// written and how many were durable at the last successful sync.
pub struct CrashStorage<S> {
    inner: S,
    state: Arc<CrashState>,
}

/// What a [`CrashStorage`] has seen.
#[derive(Debug, Default)]
pub struct CrashState {
    written: AtomicU64,
    synced: AtomicU64,
    log: Mutex<Vec<u64>>,
}

impl CrashState {
    /// A fresh state; `initial_len` is the file's durable length at open.
    pub fn new(initial_len: u64) -> Arc<CrashState> {
        let s = CrashState::default();
        s.written.store(initial_len, Ordering::SeqCst);
        s.synced.store(initial_len, Ordering::SeqCst);
        Arc::new(s)
    }
    /// Bytes written (page cache).
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }
    /// Bytes known durable.
    pub fn synced(&self) -> u64 {
        self.synced.load(Ordering::SeqCst)
    }
    /// The durable length after each successful sync, in order.
    pub fn sync_points(&self) -> Vec<u64> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl<S: Storage> CrashStorage<S> {
    /// Wraps `inner`, recording into `state`.
    pub fn new(inner: S, state: Arc<CrashState>) -> Self {
        CrashStorage { inner, state }
    }
}

impl<S: Storage> Storage for CrashStorage<S> {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.inner.append(buf)?;
        self.state
            .written
            .fetch_add(buf.len() as u64, Ordering::SeqCst);
        Ok(())
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn len_and_links(&self) -> io::Result<(u64, u64)> {
        self.inner.len_and_links()
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)?;
        self.state.written.store(len, Ordering::SeqCst);
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        let w = self.state.written();
        self.inner.sync_data()?;
        self.state.synced.store(w, Ordering::SeqCst);
        if let Ok(mut l) = self.state.log.lock() {
            l.push(w);
        }
        Ok(())
    }
}
