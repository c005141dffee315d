//! The platform layer: every call that differs between Unix (Linux, macOS)
//! and Windows goes through here, so the engine above is written once.
//!
//! | what | Unix | Windows |
//! |---|---|---|
//! | positioned I/O | `pread`/`pwrite` (`FileExt`) | `ReadFile`/`WriteFile` with an offset (`seek_read`/`seek_write`) |
//! | append | a descriptor opened `O_APPEND` | `WriteFile` at offset `0xFFFF_FFFF_FFFF_FFFF` (documented "write at end of file") |
//! | file identity | `st_dev`, `st_ino` | volume serial number, file index (`GetFileInformationByHandle`) |
//! | writer locks | `flock(2)` (through `fs2`) | `LockFileEx` on one byte far past any data |
//! | process liveness | `kill(pid, 0)` | `OpenProcess` + `GetExitCodeProcess` |
//! | no-follow open | `O_NOFOLLOW` | `FILE_FLAG_OPEN_REPARSE_POINT`, then refuse a symbolic link |
//! | durability | `fdatasync` (`F_FULLFSYNC` on macOS, by the standard library) | `FlushFileBuffers` |
//! | a file only its creator may open (`create_private`) | mode 0600, `O_EXCL`, `O_NOFOLLOW` | `CreateFileW` (`CREATE_NEW`) with a protected DACL granting the user of the process token full access and nobody else anything |
//!
//! Why not the whole-file locks of `fs2` or `std::fs::File::lock` on
//! Windows: both take a *mandatory* `LockFileEx` lock over the whole file
//! there, so every other handle's reads of the locked bytes fail. Readers
//! and verifiers take no lock, and a second writer reads the holder record
//! of the lock file to name the holder: both would break. Locking one byte
//! at an offset no record ever reaches keeps the advisory meaning the Unix
//! `flock` has (per handle, released when the handle closes).

use std::fs::File;
use std::io;
use std::path::Path;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;

/// Positioned reads and writes that leave no state behind that the engine
/// relies on (on Windows they move the handle's file pointer, which the
/// engine never uses: appends go to the end of file by themselves).
pub(crate) trait FileExt {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize>;

    #[cfg_attr(not(feature = "session"), allow(dead_code))]
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(buf, offset) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "failed to fill whole buffer",
                    ))
                }
                Ok(n) => {
                    buf = buf.get_mut(n..).unwrap_or_default();
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn write_all_at(&self, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write_at(buf, offset) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "failed to write whole buffer",
                    ))
                }
                Ok(n) => {
                    buf = buf.get(n..).unwrap_or_default();
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl FileExt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        pread(self, buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        pwrite(self, buf, offset)
    }
}

/// A file's identity (device or volume, inode or file index): two paths
/// name the same file when their identities are equal.
pub(crate) type FileId = (u64, u64);

/// The identity of the file `path` names (following symbolic links).
pub(crate) fn path_id(path: &Path) -> io::Result<FileId> {
    file_id(&File::open(path)?)
}

/// This machine's host name, `"unknown"` when it cannot be read.
pub(crate) fn host_name() -> String {
    hostname().unwrap_or_else(|_| "unknown".into())
}

/// The name of the user running this process, `"unknown"` when it cannot
/// be read.
pub(crate) fn user_name() -> String {
    username().unwrap_or_else(|_| "unknown".into())
}

/// Whether `e` is a lock held by someone else (try-lock contention).
pub(crate) fn is_contended(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock || is_contended_os(e)
}
