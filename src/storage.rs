//! All file access of the writer goes through the small [`Storage`] trait.
//!
//! [`FileStorage`] is the real backend. [`FaultyStorage`] wraps any backend
//! and injects write and fsync failures (disk full, I/O error) on command;
//! [`CrashStorage`] tracks which bytes were written and which were made
//! durable, so a test can ask what a power cut at this instant would leave.
//!
//! Assumptions about the disk (see `spec/format.md`, "Durability"): a
//! successful `sync_data` makes every byte written before it durable; bytes
//! written after the last successful `sync_data` may be lost, partly written
//! or replaced by zeros after a power cut; a failed `sync_data` leaves the
//! durable state unknown, so the writer must not trust its page cache.

use std::fs::File;
use std::io;

use crate::sys::{self, FileExt as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The operations the writer needs from a log file. Methods take `&self`
/// so a group-commit leader can fsync while another thread appends.
#[allow(clippy::len_without_is_empty)]
pub trait Storage: Send + Sync {
    /// Appends `buf` at the end of the file (the file is opened O_APPEND;
    /// on Windows appends write at the end of file by themselves).
    fn append(&self, buf: &[u8]) -> io::Result<()>;
    /// Reads into `buf` at `offset`; returns the bytes read (0 at EOF).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Current file length.
    fn len(&self) -> io::Result<u64>;
    /// Truncates the file to `len` bytes.
    fn truncate(&self, len: u64) -> io::Result<()>;
    /// Makes everything written so far durable (fdatasync).
    fn sync_data(&self) -> io::Result<()>;
}

/// The real backend: a `std::fs::File` opened for append.
#[derive(Debug)]
pub struct FileStorage {
    file: File,
}

impl FileStorage {
    /// Wraps an open file (which must have been opened with append mode).
    pub fn new(file: File) -> FileStorage {
        FileStorage { file }
    }
}

impl Storage for FileStorage {
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        sys::append(&self.file, buf)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        loop {
            match self.file.read_at(buf, offset) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// Which failure [`FaultyStorage`] injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
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
#[doc(hidden)]
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
#[doc(hidden)]
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
#[doc(hidden)]
pub struct CrashStorage<S> {
    inner: S,
    state: Arc<CrashState>,
}

/// What a [`CrashStorage`] has seen.
#[derive(Debug, Default)]
#[doc(hidden)]
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

/// Makes a directory entry durable (after create or rename).
pub fn sync_dir(dir: &std::path::Path) -> io::Result<()> {
    let d = if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir
    };
    sys::sync_dir(d)
}

/// How [`open_regular`] opens a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Read only.
    Read,
    /// Read and write (no append, no create).
    #[cfg_attr(not(feature = "session"), allow(dead_code))]
    ReadWrite,
    /// Read and append (a log's writer).
    ReadAppend,
}

/// Opens `path`, which must be a regular file, without ever blocking in
/// open(2): the file is opened with `O_NONBLOCK` (a FIFO nobody writes to
/// would otherwise block forever), checked with fstat, then switched back
/// to blocking mode. A FIFO, socket, device or directory is refused with an
/// error naming the file and what it is. Every place that opens a log,
/// session or key file goes through here.
pub(crate) fn open_regular(
    path: &std::path::Path,
    access: Access,
    op: &'static str,
) -> crate::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    match access {
        Access::Read => o.read(true),
        Access::ReadWrite => o.read(true).write(true),
        Access::ReadAppend => {
            sys::append_options(&mut o);
            &mut o
        }
    };
    sys::nonblocking_open(&mut o);
    let file = match o.open(path) {
        Ok(f) => f,
        Err(e) => match sys::open_refused_kind(path, &e) {
            Some(kind) => return Err(not_regular(path, op, kind)),
            None => return Err(crate::Error::io(path, op, e)),
        },
    };
    check_regular(path, &file, op)?;
    set_blocking(&file).map_err(|e| crate::Error::io(path, op, e))?;
    Ok(file)
}

/// What kind of file `ft` is, for error messages.
pub(crate) fn file_kind(ft: &std::fs::FileType) -> &'static str {
    sys::file_kind(ft)
}

/// Fails unless the open `file` is a regular file.
pub(crate) fn check_regular(
    path: &std::path::Path,
    file: &File,
    op: &'static str,
) -> crate::Result<std::fs::Metadata> {
    let meta = file
        .metadata()
        .map_err(|e| crate::Error::io(path, "stat", e))?;
    if !meta.file_type().is_file() {
        return Err(not_regular(path, op, file_kind(&meta.file_type())));
    }
    Ok(meta)
}

fn not_regular(path: &std::path::Path, op: &'static str, kind: &str) -> crate::Error {
    // Logs and session files are opened with "open"; other files (key
    // files) name themselves in `op`.
    let msg = if op == "open" {
        format!("not an evident log or session file ({kind}, not a regular file)")
    } else {
        format!("not a regular file ({kind})")
    };
    if kind == "a directory" {
        // The OS's own error, so that its code (EISDIR) reaches every binding.
        return crate::Error::io(path, op, sys::is_a_directory());
    }
    crate::Error::io(path, op, io::Error::new(io::ErrorKind::InvalidInput, msg))
}

/// Clears `O_NONBLOCK` on an open file.
pub(crate) fn set_blocking(file: &File) -> io::Result<()> {
    sys::set_blocking(file)
}
