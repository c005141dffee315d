//! Writer locks (spec/format.md § 10.4), for logs and session files.
//!
//! A writer of the file `F` holds two `flock(2)` locks:
//!
//! 1. the exclusive lock on `<C>.lock`, where `C` is `F`'s canonical path
//!    (symbolic links resolved), so writers reaching the file through
//!    different symbolic links meet at one lock file; and
//! 2. an exclusive lock on `F`'s own inode (through a descriptor of the
//!    file), so writers reaching it through a hard link also exclude each
//!    other.
//!
//! After taking them the writer checks that `C` still names the inode it
//! opened (it may have been renamed over, e.g. by a session compaction), and
//! retries or refuses otherwise.
//!
//! A lock file is only ever our own regular file: it is opened with
//! `O_NOFOLLOW` (a symbolic link is refused), must be a regular file with a
//! single link, and must be empty or hold an evident holder record (exactly
//! [`HOLDER_LEN`] bytes) before anything is written into it.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::error::{Error, Result};
use crate::format;
use crate::storage::{self, Access};
use crate::sys::{self, FileExt as _};

/// `<path>.lock`.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

pub(crate) fn lock_err(path: &Path, e: io::Error) -> Error {
    Error::io(path, "lock", e)
}

fn io_msg(path: &Path, op: &'static str, msg: String) -> Error {
    Error::io(path, op, io::Error::new(io::ErrorKind::InvalidInput, msg))
}

/// The canonical path of an existing file; for a file that does not exist
/// yet, its canonical directory joined with its name.
fn canonical(path: &Path) -> Result<PathBuf> {
    match std::fs::canonicalize(path) {
        Ok(p) => Ok(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let name = path
                .file_name()
                .ok_or_else(|| Error::io(path, "resolve path", e))?;
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let dir = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, "resolve path", e))?;
            Ok(dir.join(name))
        }
        Err(e) => Err(Error::io(path, "resolve path", e)),
    }
}

/// Opens (creating it if needed, with permission bits `mode`) the lock
/// file `lpath`, refusing anything but a regular file with one link.
pub(crate) fn open_lock_file(lpath: &Path, mode: u32) -> Result<File> {
    let op = "open lock file";
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    sys::create_mode(&mut o, mode);
    sys::nofollow_nonblocking_open(&mut o);
    let file = o
        .open(lpath)
        .and_then(|f| sys::check_not_symlink(&f).map(|()| f))
        .map_err(|e| {
            if sys::is_symlink_refused(&e) {
                return io_msg(
                    lpath,
                    op,
                    "is a symbolic link; a lock file must be a regular file \
                     (remove it if it is not yours)"
                        .into(),
                );
            }
            match sys::open_refused_kind(lpath, &e) {
                Some(kind) => io_msg(lpath, op, format!("not a regular file ({kind})")),
                None => Error::io(lpath, op, e),
            }
        })?;
    let meta = storage::check_regular(lpath, &file, op)?;
    let nlink = sys::nlink(&file, &meta).map_err(|e| Error::io(lpath, "stat", e))?;
    if nlink != 1 {
        return Err(io_msg(
            lpath,
            op,
            format!(
                "has {} hard links; a lock file must be a file of its own \
                 (remove it if it is not yours)",
                nlink
            ),
        ));
    }
    storage::set_blocking(&file).map_err(|e| Error::io(lpath, op, e))?;
    Ok(file)
}

/// Size of the holder record at the start of the lock file.
pub(crate) const HOLDER_LEN: usize = 256;

/// Size of the synced-length record after the holder record (spec § 10.4):
/// `synced <log id> <length>`, padded with spaces to a final newline.
pub(crate) const SYNCED_LEN: usize = 128;

/// Fails unless the lock file is empty or holds a holder record written by
/// evident (a 256-byte record starting with `pid ` or blank, ending with a
/// newline; all zeros after a power cut). Checked while holding the lock,
/// before anything is written into the file.
fn check_lock_content(file: &File, lpath: &Path) -> Result<()> {
    let mut buf = [0u8; HOLDER_LEN + SYNCED_LEN + 1];
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(buf.get_mut(n..).unwrap_or_default(), n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(lpath, "read lock file", e)),
        }
    }
    let blank = |b: &u8| matches!(b, b' ' | b'\n' | 0);
    // A record: blank (spaces, zeros after a power cut, a hole), or one line
    // starting with `prefix` and padded with spaces: to a final newline (as
    // evident writes it), or after the newline that ends the text (the
    // spec's words allow that layout too, § 10.4); nothing but blanks
    // after the line.
    let record = |rec: &[u8], prefix: &[u8]| {
        if rec.iter().all(blank) {
            return matches!(rec.last(), Some(b'\n') | Some(0));
        }
        let after_line = rec
            .iter()
            .position(|&b| b == b'\n')
            .and_then(|i| rec.get(i + 1..));
        rec.starts_with(prefix)
            && !rec.contains(&0)
            && after_line.is_some_and(|rest| rest.iter().all(|&b| matches!(b, b' ' | b'\n')))
    };
    let holder = buf.get(..HOLDER_LEN).unwrap_or_default();
    let synced = buf
        .get(HOLDER_LEN..HOLDER_LEN + SYNCED_LEN)
        .unwrap_or_default();
    let ours = n == 0
        || (n == HOLDER_LEN && record(holder, b"pid "))
        || (n == HOLDER_LEN + SYNCED_LEN && record(holder, b"pid ") && record(synced, b"synced "));
    if ours {
        Ok(())
    } else {
        Err(io_msg(
            lpath,
            "open lock file",
            format!(
                "not an evident lock file ({}{} bytes that are not a holder record); \
                 refusing to write into it (remove it if it is stale)",
                if n > HOLDER_LEN { "more than " } else { "" },
                n.min(HOLDER_LEN)
            ),
        ))
    }
}

/// Lock timeouts from this long on wait in a blocking flock (fair against
/// a busy writer); shorter ones poll.
pub(crate) const BLOCKING_WAIT_FROM: Duration = Duration::from_millis(250);

/// How a writer holds the flock of the lock file: on its own lock-file
/// descriptor, or on a descriptor taken by the waiter thread.
pub(crate) enum Held {
    Same,
    Own(File),
}

pub(crate) fn is_would_block(e: &io::Error) -> bool {
    sys::is_contended(e)
}

/// One waiter thread per lock file and process: a thread blocked in
/// `flock` on its own descriptor of the lock file, shared by every wait for
/// that lock. When it gets the lock it hands it to a waiting caller, or, if
/// every caller gave up meanwhile, releases it; then it ends. So waits that
/// time out leave at most one thread and one descriptor per lock file
/// behind, and only until the holder lets go.
#[derive(Default)]
struct WaitState {
    /// The process the state belongs to (a child after fork() starts over:
    /// the parent's waiter thread does not exist in it).
    pid: u32,
    thread: bool,
    waiting: usize,
    got: Option<io::Result<File>>,
}

struct Waiter {
    state: Mutex<WaitState>,
    cv: Condvar,
}

/// The waiters by lock file (device, inode).
type Waiters = Mutex<HashMap<(u64, u64), Arc<Waiter>>>;

/// Every lock file's waiter in this process.
static WAITERS: OnceLock<Waiters> = OnceLock::new();

fn waiter_for(key: (u64, u64)) -> Arc<Waiter> {
    let map = WAITERS.get_or_init(Default::default);
    let mut m = map.lock().unwrap_or_else(|e| e.into_inner());
    Arc::clone(m.entry(key).or_insert_with(|| {
        Arc::new(Waiter {
            state: Mutex::new(WaitState::default()),
            cv: Condvar::new(),
        })
    }))
}

/// Takes the exclusive flock on `lock_file` (the lock file `lpath` of
/// `path`), waiting up to `timeout`.
///
/// Uncontended: one non-blocking attempt. Contended, long timeout: the
/// lock's waiter thread waits in a *blocking* flock (the kernel wakes it as
/// soon as the holder lets go, so a busy writer that re-takes the lock
/// microseconds later cannot starve us the way sleeping between attempts
/// would), while this thread waits for it with the timeout. Short timeouts
/// poll.
fn acquire_file(
    path: &Path,
    lock_file: &File,
    lpath: &Path,
    timeout: Duration,
    holder: &dyn Fn() -> String,
) -> Result<Held> {
    match sys::try_lock(lock_file) {
        Ok(()) => return Ok(Held::Same),
        Err(e) if is_would_block(&e) => {}
        Err(e) => return Err(lock_err(path, e)),
    }
    let locked = || Error::Locked {
        path: path.to_path_buf(),
        holder: holder(),
    };
    #[cfg(test)]
    hooks::pause(&hooks::CALLER_REFUSED);
    // A waiter thread of this process left by a wait that timed out may be
    // the one holding the lock: it takes it when the holder lets go and
    // drops it at once (nobody waits for it any more). Give it that moment
    // instead of reporting a holder that is gone.
    let timeout = if timeout < WAITER_GRACE && own_waiter_thread(lock_file) {
        WAITER_GRACE
    } else {
        timeout
    };
    if timeout.is_zero() {
        // The attempt above may have met a waiter thread that has let go
        // since (it counts as gone only once its lock is released).
        return match sys::try_lock(lock_file) {
            Ok(()) => Ok(Held::Same),
            Err(e) if is_would_block(&e) => Err(locked()),
            Err(e) => Err(lock_err(path, e)),
        };
    }
    let deadline = Instant::now() + timeout;
    if timeout >= BLOCKING_WAIT_FROM {
        let id = sys::file_id(lock_file).map_err(|e| lock_err(path, e))?;
        let w = waiter_for(id);
        if let Some(r) = wait_with_thread(&w, lpath, deadline) {
            return r.map(Held::Own).map_err(|e| lock_err(path, e));
        }
        // No thread could be started, or the time is up: poll what is left.
    }
    // Short waits poll: a waiter thread would hold the lock for a moment
    // when it finally gets it, which must not make an immediate reopen
    // after close() fail.
    let mut sleep = Duration::from_micros(100);
    loop {
        match sys::try_lock(lock_file) {
            Ok(()) => return Ok(Held::Same),
            Err(e) if is_would_block(&e) => {}
            Err(e) => return Err(lock_err(path, e)),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(locked());
        }
        std::thread::sleep(sleep.min(deadline - now));
        sleep = (sleep * 2).min(Duration::from_millis(2));
    }
}

/// Pauses at points of the lock handover, set by tests to force the
/// interleavings a loaded machine makes rare.
#[cfg(test)]
mod hooks {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    /// The waiter thread, when it has got the lock.
    pub(super) static WAITER_HOLDING: AtomicU64 = AtomicU64::new(0);
    /// The waiter thread, when it has handed over or given up the lock.
    pub(super) static WAITER_DONE: AtomicU64 = AtomicU64::new(0);
    /// A caller, when its first attempt found the lock taken.
    pub(super) static CALLER_REFUSED: AtomicU64 = AtomicU64::new(0);

    pub(super) fn pause(ms: &AtomicU64) {
        let ms = ms.load(Ordering::SeqCst);
        if ms > 0 {
            std::thread::sleep(Duration::from_millis(ms));
        }
    }
}

/// How long a lock attempt waits when a waiter thread of this process
/// (left by a wait that timed out) may be holding the lock for a moment.
const WAITER_GRACE: Duration = Duration::from_millis(100);

/// Whether a waiter thread of this process is blocked on, or holding for a
/// moment, the flock of `lock_file` (see [`WAITER_GRACE`]).
fn own_waiter_thread(lock_file: &File) -> bool {
    let Ok(id) = sys::file_id(lock_file) else {
        return false;
    };
    let w = {
        let Some(map) = WAITERS.get() else {
            return false;
        };
        let m = map.lock().unwrap_or_else(|e| e.into_inner());
        match m.get(&id) {
            Some(w) => Arc::clone(w),
            None => return false,
        }
    };
    let g = w.state.lock().unwrap_or_else(|e| e.into_inner());
    g.pid == std::process::id() && g.thread
}

/// Waits for the lock through the lock's waiter thread until `deadline`.
/// `None` when the time ran out (or no thread could be started).
fn wait_with_thread(w: &Arc<Waiter>, lpath: &Path, deadline: Instant) -> Option<io::Result<File>> {
    let pid = std::process::id();
    let mut g = w.state.lock().unwrap_or_else(|e| e.into_inner());
    if g.pid != pid {
        // Inherited over fork(): no thread of ours is waiting.
        *g = WaitState {
            pid,
            ..WaitState::default()
        };
    }
    g.waiting += 1;
    let r = loop {
        if let Some(r) = g.got.take() {
            break Some(r);
        }
        let now = Instant::now();
        if now >= deadline {
            break None;
        }
        if !g.thread {
            // Its own open file description: a lock it takes is released
            // by closing it, never confused with one another descriptor
            // takes later.
            let own = match open_lock_file(lpath, 0o600) {
                Ok(f) => f,
                Err(_) => break None,
            };
            let w2 = Arc::clone(w);
            let spawned = std::thread::Builder::new()
                .name("evident-lock-wait".into())
                .spawn(move || {
                    let r = sys::lock(&own).map(|()| own);
                    #[cfg(test)]
                    hooks::pause(&hooks::WAITER_HOLDING);
                    let mut g = w2.state.lock().unwrap_or_else(|e| e.into_inner());
                    if g.waiting > 0 {
                        g.got = Some(r);
                    } else {
                        // Closing the file releases its lock, before the
                        // thread counts as gone: a caller that finds no
                        // waiter thread then finds no lock of it either
                        // (`acquire_file`).
                        drop(r);
                    }
                    g.thread = false;
                    w2.cv.notify_all();
                    drop(g);
                    #[cfg(test)]
                    hooks::pause(&hooks::WAITER_DONE);
                });
            if spawned.is_err() {
                break None;
            }
            g.thread = true;
        }
        g =
            w.cv.wait_timeout(g, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
    };
    g.waiting -= 1;
    r
}

/// Releases the lock-file flock.
fn release_file(lock_file: &File, held: Held) {
    match held {
        Held::Same => {
            let _ = sys::unlock(lock_file);
        }
        Held::Own(f) => {
            let _ = sys::unlock(&f);
        }
    }
}

/// Who holds the lock, for [`Error::Locked`]. The text was written by the
/// last exclusive writer; if that process is gone (same host, pid no longer
/// running) the holder is a shared-mode writer, which writes no text.
pub(crate) fn read_holder(lock_file: &File) -> String {
    let mut buf = [0u8; HOLDER_LEN];
    let n = lock_file.read_at(&mut buf, 0).unwrap_or(0);
    let s = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
    let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    let shared = "another writer (shared mode)".to_string();
    if s.is_empty() {
        return shared;
    }
    let mut words = s.split_whitespace();
    let pid = match (words.next(), words.next()) {
        (Some("pid"), Some(p)) => p.parse::<i32>().ok(),
        _ => None,
    };
    let host = s
        .split(" on host ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next());
    let this_host = sys::hostname().ok();
    if let (Some(pid), Some(host)) = (pid, host) {
        if Some(host) == this_host.as_deref()
            && pid > 0
            && sys::process_exists(pid as u32) == Some(false)
        {
            return shared;
        }
    }
    s.to_string()
}

fn holder_text() -> String {
    format!(
        "pid {} on host {} (user {}), exclusive writer since {}\n",
        std::process::id(),
        sys::host_name(),
        sys::user_name(),
        format::format_ts(&Utc::now())
    )
}

/// Overwrites the holder record in place with `text` padded to a fixed size
/// (a truncate + write costs milliseconds on ext4; one `pwrite` does not).
/// Only called while holding the lock, after [`check_lock_content`].
pub(crate) fn write_holder_record(lock_file: &File, text: &str) {
    let mut rec = [b' '; HOLDER_LEN];
    let n = text.len().min(HOLDER_LEN - 1);
    if let (Some(dst), Some(src)) = (rec.get_mut(..n), text.as_bytes().get(..n)) {
        dst.copy_from_slice(src);
    }
    if let Some(last) = rec.last_mut() {
        *last = b'\n';
    }
    if lock_file.write_all_at(&rec, 0).is_err() {
        cut_back(lock_file);
    }
}

/// After a write of the lock file failed part-way (a full disk, a file-size
/// limit), cuts the file back to the longest length a writer accepts
/// (0, or the holder record alone), so that the short record does not make
/// every later writer refuse the lock file as foreign (`check_lock_content`).
fn cut_back(lock_file: &File) {
    let Ok(len) = lock_file.metadata().map(|m| m.len()) else {
        return;
    };
    let (holder, both) = (HOLDER_LEN as u64, (HOLDER_LEN + SYNCED_LEN) as u64);
    let keep = if len < holder {
        0
    } else if len < both {
        holder
    } else {
        return;
    };
    if len != keep {
        let _ = lock_file.set_len(keep);
    }
}

/// The lock of one file: its lock file, and a descriptor of the file itself
/// for the inode lock and the identity check.
pub(crate) struct FileLock {
    /// The path as the caller gave it (for messages).
    path: PathBuf,
    /// Its canonical path (symbolic links resolved).
    canonical: PathBuf,
    lpath: PathBuf,
    lock_file: File,
    /// A descriptor of the locked file (`None` for a file not created yet).
    data: Option<File>,
    id: Option<(u64, u64)>,
}

/// A held [`FileLock`]: release it with [`FileLock::release`].
pub(crate) struct Guard {
    held: Held,
    inode: bool,
}

/// How often an open retries when the file is replaced under it.
const REPLACED_RETRIES: usize = 5;

impl FileLock {
    /// Opens the lock of the file `path`, whose open descriptor is `data`
    /// (`None` when the file does not exist yet). Creates the lock file
    /// with the file's permission bits.
    fn new(path: &Path, data: Option<File>) -> Result<FileLock> {
        let canonical = canonical(path)?;
        let (id, mode) = match &data {
            Some(f) => {
                let m = f.metadata().map_err(|e| Error::io(path, "stat", e))?;
                let id = sys::file_id(f).map_err(|e| Error::io(path, "stat", e))?;
                (Some(id), sys::mode(&m) & 0o666)
            }
            None => (None, 0o666), // a file not created yet
        };
        let lpath = lock_path(&canonical);
        let lock_file = open_lock_file(&lpath, mode)?;
        Ok(FileLock {
            path: path.to_path_buf(),
            canonical,
            lpath,
            lock_file,
            data,
            id,
        })
    }

    /// Opens `path` (a regular file) with `access`, and its lock; takes the
    /// lock, waiting up to `timeout`, and checks that the path still names
    /// the opened file (retrying a few times if it was replaced). The lock
    /// file's content is checked while the lock is held.
    pub(crate) fn open_and_lock(
        path: &Path,
        access: Option<Access>,
        timeout: Duration,
    ) -> Result<(FileLock, Guard)> {
        let mut tries = 0;
        loop {
            let data = match access {
                None => None,
                Some(a) => match storage::open_regular(path, a, "open") {
                    Ok(f) => Some(f),
                    Err(Error::Io { source, .. })
                        if source.kind() == io::ErrorKind::NotFound && a == Access::Read =>
                    {
                        None // a session file not created yet
                    }
                    Err(e) => return Err(e),
                },
            };
            let lock = FileLock::new(path, data)?;
            match lock.acquire(timeout) {
                Ok(g) => {
                    if let Err(e) = check_lock_content(&lock.lock_file, &lock.lpath) {
                        lock.release(g);
                        return Err(e);
                    }
                    return Ok((lock, g));
                }
                Err(e) if tries < REPLACED_RETRIES && lock.replaced_error(&e) => tries += 1,
                Err(e) => return Err(e),
            }
        }
    }

    fn replaced_error(&self, e: &Error) -> bool {
        matches!(e, Error::Io { op: "lock", source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// The descriptor of the locked file.
    pub(crate) fn data(&self) -> Option<&File> {
        self.data.as_ref()
    }

    /// Takes both locks, waiting up to `timeout` in all, and checks that
    /// the canonical path still names the locked file.
    pub(crate) fn acquire(&self, timeout: Duration) -> Result<Guard> {
        let start = Instant::now();
        let holder = || read_holder(&self.lock_file);
        let held = acquire_file(&self.path, &self.lock_file, &self.lpath, timeout, &holder)?;
        let mut g = Guard { held, inode: false };
        if let Some(data) = &self.data {
            match lock_inode(data, timeout.saturating_sub(start.elapsed())) {
                Ok(true) => g.inode = true,
                Ok(false) => {
                    self.release(g);
                    return Err(Error::Locked {
                        path: self.path.clone(),
                        holder: "another writer of this same file, which opened it under \
                                 another name (a hard link) or whose lock file was removed \
                                 and made again"
                            .into(),
                    });
                }
                Err(e) => {
                    self.release(g);
                    return Err(lock_err(&self.path, e));
                }
            }
        }
        if let Err(e) = self.check_identity() {
            self.release(g);
            return Err(e);
        }
        Ok(g)
    }

    /// Fails (with a `NotFound` I/O error, op "lock") when the canonical
    /// path no longer names the file that was opened. When the path cannot
    /// be checked for another reason (no descriptor left, access refused),
    /// that error is returned as it is: it is no proof that the file changed.
    fn check_identity(&self) -> Result<()> {
        let Some(id) = self.id else { return Ok(()) };
        match sys::path_id(&self.canonical) {
            Ok(now) if now == id => return Ok(()),
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(Error::io(&self.path, "lock", e));
            }
            Ok(_) | Err(_) => {}
        }
        Err(Error::io(
            &self.path,
            "lock",
            io::Error::new(
                io::ErrorKind::NotFound,
                "the file was replaced or removed since it was opened (reopen it)",
            ),
        ))
    }

    /// Closes the descriptor of the locked file, releasing its inode lock
    /// (the lock file stays locked): for replacing the file by a rename,
    /// which Windows without POSIX semantics refuses for an open file.
    pub(crate) fn close_data(&mut self, g: &mut Guard) {
        if g.inode {
            if let Some(d) = &self.data {
                let _ = sys::unlock(d);
            }
            g.inode = false;
        }
        self.data = None;
    }

    /// Releases both locks.
    pub(crate) fn release(&self, g: Guard) {
        if g.inode {
            if let Some(d) = &self.data {
                let _ = sys::unlock(d);
            }
        }
        release_file(&self.lock_file, g.held);
    }

    /// Writes this process's holder record (exclusive writers).
    pub(crate) fn write_holder(&self) {
        write_holder_record(&self.lock_file, &holder_text());
    }

    /// Blanks the holder record (before an exclusive writer lets go).
    /// The synced-length record (spec § 10.4), if one was written.
    pub(crate) fn read_synced(&self) -> Option<String> {
        let mut buf = [0u8; SYNCED_LEN];
        let n = self.lock_file.read_at(&mut buf, HOLDER_LEN as u64).ok()?;
        String::from_utf8(buf.get(..n)?.to_vec()).ok()
    }

    /// Writes the synced-length record: one `pwrite`, never synced.
    pub(crate) fn write_synced(&self, text: &str) {
        let mut rec = [b' '; SYNCED_LEN];
        let n = text.len().min(SYNCED_LEN - 1);
        if let (Some(dst), Some(src)) = (rec.get_mut(..n), text.as_bytes().get(..n)) {
            dst.copy_from_slice(src);
        }
        if let Some(last) = rec.last_mut() {
            *last = b'\n';
        }
        if self
            .lock_file
            .write_all_at(&rec, HOLDER_LEN as u64)
            .is_err()
        {
            cut_back(&self.lock_file);
        }
    }

    pub(crate) fn clear_holder(&self) {
        write_holder_record(&self.lock_file, "");
    }
}

/// Takes the exclusive flock on the locked file's own inode, polling up to
/// `timeout`. Contention here only comes from a writer that opened the
/// same file under another name; `Ok(false)` when the time ran out.
fn lock_inode(data: &File, timeout: Duration) -> io::Result<bool> {
    let deadline = Instant::now() + timeout;
    let mut sleep = Duration::from_micros(100);
    loop {
        match sys::try_lock(data) {
            Ok(()) => return Ok(true),
            Err(e) if is_would_block(&e) => {}
            Err(e) => return Err(e),
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        std::thread::sleep(sleep.min(deadline - now));
        sleep = (sleep * 2).min(Duration::from_millis(5));
    }
}

/// Replaces the existing empty file `path` by the new file `bytes()` (a
/// new log, [`crate::OpenOptions::adopt_empty`], or a new session file,
/// `session::SaveOptions::adopt_empty`). It takes the file's writer locks
/// as any writer does, then keeps only the lock file's (which every writer
/// takes first); checks that the file is still empty and has one name;
/// writes the new file to a temporary sibling (private while written, then
/// given the empty file's permission bits and owner, see
/// [`storage::Perm::Like`]) and makes it durable; checks that the name
/// still denotes the same empty file; and renames the new file over it
/// (over the file a symbolic link names). The path holds either the empty
/// file or the complete new one. No descriptor of the empty file is open
/// during the rename (Windows without POSIX rename semantics refuses to
/// replace an open file). Returns false if the file was no longer empty or no longer
/// the same file (another writer made it a log meanwhile).
pub(crate) fn adopt_empty_file(
    path: &Path,
    lock_timeout: Duration,
    bytes: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<bool> {
    // Both locks, as any writer takes them (the lock file gets the file's
    // permission bits); then the descriptor goes, with its inode lock: the
    // lock file alone keeps other writers out.
    let (mut lock, mut held) = FileLock::open_and_lock(path, Some(Access::Read), lock_timeout)?;
    lock.close_data(&mut held);
    let result = (|| {
        let target = std::fs::canonicalize(path).map_err(|e| Error::io(path, "resolve path", e))?;
        // The file's identity, size, links and metadata; no descriptor is
        // kept. Opened for writing: a file the caller may not write (a
        // read-only file in a directory it may write to) is refused as the
        // writer's own open would refuse it, before anything is replaced.
        let probe = || -> Result<(sys::FileId, u64, u64, std::fs::Metadata)> {
            let f = storage::open_regular(&target, Access::ReadAppend, "open")?;
            let meta = f.metadata().map_err(|e| Error::io(path, "stat", e))?;
            let id = sys::file_id(&f).map_err(|e| Error::io(path, "stat", e))?;
            let links = sys::nlink(&f, &meta).map_err(|e| Error::io(path, "stat", e))?;
            Ok((id, meta.len(), links, meta))
        };
        let (id, len, links, meta) = probe()?;
        if len != 0 || links > 1 {
            return Ok(false);
        }
        // An empty file whose lock file records bytes an fsync made
        // durable was a log, cut to nothing (spec § 10.3): evidence of a
        // loss, refused unchanged as any empty file is without adoption.
        let synced = lock.read_synced();
        if let Some((_, durable)) = synced.as_deref().and_then(parse_synced).filter(|s| s.1 > 0) {
            return Err(Error::malformed(
                path,
                crate::error::Position::default(),
                format!(
                    "file is empty, but its lock file records {durable} bytes of an evident \
                     log made durable: the log was truncated (not adopted as a new log; \
                     restore it, or remove the file and its .lock file to start a new log)"
                ),
            ));
        }
        let bytes = bytes()?;
        // Removed unless placed (on an error, or when the check fails).
        let mut tmp = storage::NewFile {
            what: "creating",
            perm: storage::Perm::Like(meta),
            durable: storage::Durable::FileAndDir,
            place: storage::Place::RenameOver,
        }
        .create(&target)?;
        tmp.write_all(&bytes)?;
        tmp.seal()?;
        if !probe().is_ok_and(|(i, l, n, _)| i == id && l == 0 && n <= 1) {
            return Ok(false);
        }
        tmp.place()?;
        Ok(true)
    })();
    lock.release(held);
    result
}

/// The log id and length of a synced-length record (`synced <log_id>
/// <length>`, written by `Log::write_synced_hint`).
pub(crate) fn parse_synced(text: &str) -> Option<(&str, u64)> {
    let mut words = text.split_whitespace();
    if words.next()? != "synced" {
        return None;
    }
    let id = words.next()?;
    Some((id, words.next()?.parse().ok()?))
}

/// An exclusive writer lock on a file, the same lock [`crate::Log::open`]
/// takes, for other writers built on the engine (the session container).
/// Released when dropped.
#[cfg_attr(not(feature = "session"), allow(dead_code))]
pub(crate) struct WriterLock {
    lock: FileLock,
    guard: Option<Guard>,
    pid: u32,
}

#[cfg_attr(not(feature = "session"), allow(dead_code))]
impl WriterLock {
    /// Takes the lock of `path` (which need not exist yet), waiting up to
    /// `timeout`.
    pub(crate) fn acquire(path: &Path, timeout: Duration) -> Result<WriterLock> {
        let (lock, guard) = FileLock::open_and_lock(path, Some(Access::Read), timeout)?;
        lock.write_holder();
        Ok(WriterLock {
            lock,
            guard: Some(guard),
            pid: std::process::id(),
        })
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // A child after fork() shares the lock with its parent: leave it.
        if self.pid != std::process::id() {
            return;
        }
        if let Some(g) = self.guard.take() {
            self.lock.clear_holder();
            self.lock.release(g);
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_session_reached_through_a_symlink_has_one_writer() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("s.evs");
        std::fs::write(&real, b"x").unwrap();
        let sym = dir.path().join("link.evs");
        std::os::unix::fs::symlink(&real, &sym).unwrap();
        let hard = dir.path().join("hard.evs");
        std::fs::hard_link(&real, &hard).unwrap();
        let a = WriterLock::acquire(&real, Duration::ZERO).unwrap();
        for p in [&sym, &hard] {
            assert!(matches!(
                WriterLock::acquire(p, Duration::from_millis(20)),
                Err(Error::Locked { .. })
            ));
        }
        drop(a);
        let b = WriterLock::acquire(&sym, Duration::ZERO).unwrap();
        assert!(matches!(
            WriterLock::acquire(&real, Duration::ZERO),
            Err(Error::Locked { .. })
        ));
        drop(b);
    }

    /// Serializes the tests that set [`hooks`] (they are process-wide).
    static HOOKED: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// Sets the hook pauses (ms) for the life of the returned guard.
    fn hooked(holding: u64, done: u64, refused: u64) -> impl Drop {
        use std::sync::atomic::Ordering::SeqCst;
        struct Reset(#[allow(dead_code)] std::sync::MutexGuard<'static, ()>);
        impl Drop for Reset {
            fn drop(&mut self) {
                for h in [
                    &hooks::WAITER_HOLDING,
                    &hooks::WAITER_DONE,
                    &hooks::CALLER_REFUSED,
                ] {
                    h.store(0, SeqCst);
                }
            }
        }
        let g = HOOKED.lock().unwrap_or_else(|e| e.into_inner());
        hooks::WAITER_HOLDING.store(holding, SeqCst);
        hooks::WAITER_DONE.store(done, SeqCst);
        hooks::CALLER_REFUSED.store(refused, SeqCst);
        Reset(g)
    }

    /// A wait that times out leaves the waiter thread blocked; the holder
    /// lets go; then an open without a timeout must succeed however the
    /// waiter thread (which takes the lock and drops it, nobody waiting
    /// any more) and the opener interleave. CI saw `Locked` once
    /// (tests/locking.rs `an_immediate_open_after_a_timed_out_wait_is_not_refused`).
    fn immediate_open_after_timed_out_wait(holding: u64, done: u64, refused: u64) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.evs");
        std::fs::write(&p, b"x").unwrap();
        let holder = WriterLock::acquire(&p, Duration::ZERO).unwrap();
        assert!(matches!(
            WriterLock::acquire(&p, Duration::from_millis(260)),
            Err(Error::Locked { .. })
        ));
        let _hooks = hooked(holding, done, refused);
        drop(holder);
        // The waiter thread wakes up holding the lock.
        std::thread::sleep(Duration::from_millis(20));
        let again = WriterLock::acquire(&p, Duration::ZERO);
        assert!(again.is_ok(), "{:?}", again.err());
    }

    /// The waiter thread is descheduled after it marked itself gone and
    /// before its descriptor (and so the lock) was closed.
    #[test]
    fn an_open_while_the_waiter_thread_lets_go_is_not_refused() {
        immediate_open_after_timed_out_wait(0, 200, 0);
    }

    /// The opener finds the lock taken (by the waiter thread), and is
    /// descheduled while the waiter thread lets go.
    #[test]
    fn an_open_refused_by_the_waiter_thread_just_before_it_let_go_is_not_refused() {
        immediate_open_after_timed_out_wait(100, 0, 300);
    }

    #[test]
    fn a_file_replaced_while_waiting_is_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.evs");
        std::fs::write(&p, b"old").unwrap();
        let a = WriterLock::acquire(&p, Duration::ZERO).unwrap();
        let p2 = p.clone();
        let t = std::thread::spawn(move || {
            let w = WriterLock::acquire(&p2, Duration::from_secs(5)).unwrap();
            let id = w.lock.id;
            drop(w);
            id
        });
        std::thread::sleep(Duration::from_millis(100));
        let tmp = dir.path().join("tmp");
        std::fs::write(&tmp, b"new").unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        drop(a);
        let got = t.join().unwrap().unwrap();
        assert_eq!(
            got,
            sys::path_id(&p).unwrap(),
            "the waiter locked the replaced file"
        );
    }
}
