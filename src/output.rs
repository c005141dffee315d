//! Files a user names for output: exports, reports, reproduction scripts,
//! checkpoints and proofs written with `-o`.
//!
//! A regular file, or a name not taken yet, is written whole under a
//! temporary name next to it, made durable, then renamed over it (or, with
//! `replace: false`, linked into place, never replacing a file): a reader
//! never sees a half-written file.
//!
//! A name that denotes something else, followed through symbolic links (a
//! device such as `/dev/null` or `/dev/stdout`, a FIFO, the pipe of a
//! shell's `>(cmd)`), is opened and written into, as a shell's `>` would:
//! renaming a file over it would replace the device node or the FIFO
//! itself (run as root, `-o /dev/null` left a regular file at `/dev/null`
//! for every program of the machine), and elsewhere fail for want of
//! permission in its directory. Such a target is written as it is given:
//! no temporary file, no fsync (a pipe has none), and `replace` does not
//! apply (nothing is replaced).

use std::fs::File;
use std::io::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::storage::{Durable, NewFile, Perm, Place, TempFile};

/// How an output file is written (see the module documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct Output {
    /// Replace a file already at the name (otherwise its existence is an
    /// error of kind `AlreadyExists`, and it is left alone).
    pub replace: bool,
    /// Mode 0755 on Unix (a script); otherwise what the umask gives.
    pub executable: bool,
}

/// An output file being written: write into [`OutputFile::file`], then
/// [`OutputFile::finish`]. Dropped unfinished, a temporary file is removed
/// and the name is left as it was.
#[derive(Debug)]
pub struct OutputFile(To);

#[derive(Debug)]
enum To {
    Temp(Box<TempFile>),
    Direct(File),
}

/// Whether `path` exists and is neither a regular file nor a directory
/// (symbolic links followed): a device, a FIFO or a socket.
fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| {
        let t = m.file_type();
        !t.is_file() && !t.is_dir()
    })
}

impl Output {
    /// Starts writing the output `path`.
    pub fn create(&self, path: &Path) -> Result<OutputFile> {
        let to = if is_special(path) {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Error::io(path, "open", e))?;
            To::Direct(f)
        } else {
            let t = NewFile {
                what: "tmp",
                perm: if self.executable {
                    Perm::Exact(0o755)
                } else {
                    Perm::Default
                },
                durable: Durable::FileAndDir,
                place: if self.replace {
                    Place::RenameOver
                } else {
                    Place::NoReplace
                },
            }
            .create(path)?;
            To::Temp(Box::new(t))
        };
        Ok(OutputFile(to))
    }

    /// Writes `path` with `bytes` whole.
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let f = self.create(path)?;
        f.file()
            .write_all(bytes)
            .map_err(|e| Error::io(path, "write", e))?;
        f.finish()
    }
}

/// Creates the new file `path` for a secret (a private key) that only the
/// user running this process may open, and opens it for reading and
/// writing. Never an existing name (an error of kind `AlreadyExists`, the
/// file left alone) and never through a symbolic link. Unix: mode 0600
/// (less the umask) from creation on. Windows: the file's DACL is set when
/// it is created, before anything is written: one entry granting the
/// current user (the process token's user) full access, protected from
/// the directory's inheritable entries. The file is written in place, not
/// under a temporary name: if writing fails, the caller removes it.
pub fn create_private(path: &Path) -> Result<File> {
    crate::sys::create_private(path).map_err(|e| Error::io(path, "create private key", e))
}

impl OutputFile {
    /// The file to write into (buffer it: every write is a system call).
    pub fn file(&self) -> &File {
        match &self.0 {
            To::Temp(t) => t.file(),
            To::Direct(f) => f,
        }
    }

    /// Makes the written file durable and gives it its name (a temporary
    /// file), or closes the target (a device or a pipe).
    pub fn finish(self) -> Result<()> {
        match self.0 {
            To::Temp(t) => Ok(t.place()?),
            To::Direct(f) => {
                drop(f);
                Ok(())
            }
        }
    }
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Read as _;
    use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};

    fn fifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    /// A private file: mode 0600, never an existing name, never through a
    /// symbolic link (a dangling one would otherwise create its target).
    #[test]
    fn a_private_file_is_new_and_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key");
        let mut f = create_private(&p).unwrap();
        f.write_all(b"secret").unwrap();
        drop(f);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !0o600, 0, "{mode:o}");
        let e = create_private(&p).unwrap_err();
        assert!(e.to_string().contains("create private key"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"secret");
        let target = dir.path().join("target");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        create_private(&link).unwrap_err();
        assert!(!target.exists(), "the link was followed");
    }

    #[test]
    fn a_fifo_is_written_into_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.fifo");
        fifo(&p);
        // A reader first (non-blocking open), so the writer's open returns.
        let mut r = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&p)
            .unwrap();
        for replace in [true, false] {
            Output {
                replace,
                executable: false,
            }
            .write(&p, b"hello\n")
            .unwrap();
            assert!(std::fs::metadata(&p).unwrap().file_type().is_fifo());
        }
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"hello\nhello\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_regular_file_is_replaced_or_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        std::fs::write(&p, "old").unwrap();
        let keep = Output::default().write(&p, b"new").unwrap_err();
        assert!(keep.to_string().contains("out.txt"), "{keep}");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        let o = Output {
            replace: true,
            executable: true,
        };
        o.write(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
