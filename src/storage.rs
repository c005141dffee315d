//! All file access of the writer goes through the small [`Storage`] trait.
//!
//! [`FileStorage`] is the real backend. The test hooks (`test_hooks`, built
//! for tests only): `FaultyStorage` wraps any backend and injects write and
//! fsync failures (disk full, I/O error) on command; `CrashStorage` tracks
//! which bytes were written and which were made durable, so a test can ask
//! what a power cut at this instant would leave.
//!
//! Assumptions about the disk (see `spec/format.md`, "Durability"): a
//! successful `sync_data` makes every byte written before it durable; bytes
//! written after the last successful `sync_data` may be lost, partly written
//! or replaced by zeros after a power cut; a failed `sync_data` leaves the
//! durable state unknown, so the writer must not trust its page cache.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::sys::{self, FileExt as _};

mod atomic;
pub(crate) use atomic::{Durable, NewFile, Perm, Place, Step, TempFile};
#[cfg(any(test, feature = "__internal"))]
mod test_hooks;
#[cfg(any(test, feature = "__internal"))]
pub use test_hooks::{CrashState, CrashStorage, Fault, FaultPlan, FaultyStorage};

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
    /// Current file length and number of names (hard links) of the open
    /// file, 0 once it was deleted or replaced. Backends that cannot tell
    /// the names report 1.
    fn len_and_links(&self) -> io::Result<(u64, u64)> {
        Ok((self.len()?, 1))
    }
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
    fn len_and_links(&self) -> io::Result<(u64, u64)> {
        let m = self.file.metadata()?;
        Ok((m.len(), sys::nlink(&self.file, &m)?))
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
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

/// The directory `path` is in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The directory of `path` and a temporary name next to it
/// (`.<name>.<what>-<pid>-<random hex>`), after removing such names that
/// processes no longer running left there ([`remove_stale`]). Files are
/// written under such names by [`NewFile`].
pub(crate) fn temp_sibling(path: &Path, what: &str) -> (PathBuf, PathBuf) {
    let dir = parent_dir(path);
    let mut rnd = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut rnd);
    let tmp = dir.join(format!(
        ".{}.{what}-{}-{}",
        base_name(path),
        std::process::id(),
        hex::encode(rnd)
    ));
    remove_stale(path, what);
    (dir, tmp)
}

fn base_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Removes the temporary files `.<name>.<what>-<pid>-<hex>` next to `path`
/// left by processes of this host that no longer run (killed while
/// creating a log or session file, or compacting a session file). They
/// are partial copies, never the only copy of anything: the file itself is
/// untouched until the link or rename.
pub(crate) fn remove_stale(path: &Path, what: &str) {
    let dir = parent_dir(path);
    let prefix = format!(".{}.{what}-", base_name(path));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if pid <= 0 || pid == std::process::id() as i32 {
            continue;
        }
        if crate::sys::process_exists(pid as u32) == Some(false) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Gives the complete file `tmp` the name `dst`, never replacing a file
/// there (`AlreadyExists`): a hard link, then `tmp` is removed. On file
/// systems without hard links (FAT, exFAT) an atomic rename that does not
/// replace (`renameat2(RENAME_NOREPLACE)`, `renamex_np(RENAME_EXCL)`,
/// `MoveFileExW`). The caller fsyncs the directory.
pub(crate) fn link_into_place(tmp: &Path, dst: &Path) -> io::Result<()> {
    match std::fs::hard_link(tmp, dst) {
        Ok(()) => {
            let _ = std::fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(link_err) => match sys::rename_no_replace(tmp, dst) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Unsupported => Err(link_err),
            Err(e) => Err(e),
        },
    }
}

/// Gives `f` the permission bits of `like`, and its owner and group where
/// the process may (a file written aside that replaces `like`, such as a
/// compacted session file or a log created in place of an empty file, must
/// not become readable by more users than the original was).
#[cfg_attr(not(feature = "session"), allow(dead_code))]
pub(crate) fn copy_access(
    f: &std::fs::File,
    tmp: &Path,
    like: &std::fs::Metadata,
) -> crate::Result<()> {
    give_access(f, like).map_err(|e| crate::Error::io(tmp, "set permissions", e))
}

/// [`copy_access`] without the path for the error.
pub(crate) fn give_access(f: &std::fs::File, like: &std::fs::Metadata) -> io::Result<()> {
    let mode = sys::mode(like) & 0o7777;
    sys::set_mode(f, mode)?;
    // Changing the owner needs privileges; without them the group alone may
    // still be changed (to a group of the caller); failing both, the file
    // keeps the caller's ids.
    sys::copy_owner(f, like);
    // chown may clear set-id bits: set the mode again.
    sys::set_mode(f, mode)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn link_into_place_never_replaces() {
        let d = tempfile::tempdir().unwrap();
        let (tmp, dst) = (d.path().join(".x.tmp"), d.path().join("x"));
        std::fs::write(&tmp, b"new").unwrap();
        link_into_place(&tmp, &dst).unwrap();
        assert_eq!(std::fs::read(&dst).unwrap(), b"new");
        assert!(!tmp.exists(), "the temporary name is gone");
        std::fs::write(&tmp, b"other").unwrap();
        let e = link_into_place(&tmp, &dst).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&dst).unwrap(), b"new");
    }

    #[test]
    fn rename_no_replace_moves_or_refuses() {
        // The fallback for file systems without hard links.
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::write(&a, b"a").unwrap();
        match sys::rename_no_replace(&a, &b) {
            Err(e) if e.kind() == io::ErrorKind::Unsupported => return,
            r => r.unwrap(),
        }
        assert!(!a.exists());
        assert_eq!(std::fs::read(&b).unwrap(), b"a");
        std::fs::write(&a, b"c").unwrap();
        let e = sys::rename_no_replace(&a, &b).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&b).unwrap(), b"a");
        assert!(a.exists());
    }
}
