//! The one error type of the library.
//!
//! Every public function returns [`Result<T>`]. Each error carries enough
//! context to be printed as one line that names the file and, where there is
//! one, the entry (`seq`) and its position (line or byte offset).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Where in a log file something was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Byte offset of the record's first byte in the file.
    pub offset: u64,
    /// 1-based line number for JSONL logs (0 when unknown or binary framing).
    pub line: u64,
    /// Sequence number of the entry, when it could be read (genesis is 0).
    pub seq: Option<u64>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(seq) = self.seq {
            write!(f, "entry seq {seq}, ")?;
        }
        if self.line > 0 {
            write!(f, "line {}, ", self.line)?;
        }
        write!(f, "byte offset {}", self.offset)
    }
}

/// Errors returned by the library.
///
/// The variants are stable: new variants may be added (the enum is
/// `non_exhaustive`), existing ones are never renumbered in the C ABI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error on `path`.
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    /// The file is not an evident log, or its structure is damaged where the
    /// library cannot continue (for example a damaged genesis record).
    #[error("{path}: {at}: {msg}")]
    Malformed {
        path: PathBuf,
        at: Position,
        msg: String,
    },
    /// The log's last complete record is well-formed but fails its hash
    /// check: this is tampering or corruption, not a torn write, so the
    /// writer refuses to extend the chain. Run verify. (The session container
    /// uses it for damage and chain problems of session files.)
    #[error("{path}: {at}: {msg}")]
    Corrupt {
        path: PathBuf,
        at: Position,
        msg: String,
    },
    /// The key given does not match the log's key id, or a key was given for
    /// a keyless log or none for a keyed log.
    #[error("{path}: {msg}")]
    WrongKey { path: PathBuf, msg: String },
    /// Another writer holds the log's lock.
    #[error("{path}: locked by {holder}")]
    Locked { path: PathBuf, holder: String },
    /// An argument is invalid (bad details JSON, NaN, empty key, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An entry is larger than the format allows.
    #[error("{path}: entry of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        path: PathBuf,
        size: usize,
        max: usize,
    },
    /// A previous write or fsync failed; the writer refuses further appends
    /// until the log is reopened (the page cache can no longer be trusted).
    #[error("{path}: writer is poisoned by an earlier I/O failure ({cause}); reopen the log")]
    Poisoned { path: PathBuf, cause: String },
    /// The log was written by a newer, incompatible format version or needs
    /// an extension this reader does not implement.
    #[error("{path}: unsupported format: {msg}")]
    Unsupported { path: PathBuf, msg: String },
    /// The log is already closed.
    #[error("{path}: log is closed")]
    Closed { path: PathBuf },
    /// A named thing (a session trace, annotation layer, version) does not
    /// exist. `what` names it, for example `trace "CH1"`.
    #[error("{what} not found")]
    NotFound { what: String },
    /// A shared-mode writer found the log cut back (or rewritten) below an
    /// entry it appended itself: the file was rolled back by something
    /// other than an evident writer. Nothing is appended.
    #[error(
        "{path}: entry seq {seq} was rolled back: {msg}; refusing to append (run `evident verify`)"
    )]
    RolledBack {
        path: PathBuf,
        seq: u64,
        msg: String,
    },
    /// A session's annotation layer is locked against changes.
    #[error("annotation layer \"{layer}\" is locked; unlock it before changing it")]
    LayerLocked { layer: String },
    /// The handle was opened by another process: it was inherited over
    /// `fork()`, and parent and child would append from the same head.
    /// Nothing was written; open the log again in the child.
    #[error("{path}: this log was opened by process {pid}; reopen it in the child after fork")]
    Forked { path: PathBuf, pid: u32 },
    /// A database error (feature `postgres`). `target` is the database URL
    /// without its password and parameters.
    #[error("{target}: {msg}")]
    Database { target: String, msg: String },
    /// The shipper refused entries that do not continue the database's
    /// chain for their log (a fork, a rewritten or truncated local file).
    #[error("{target}: log {log_id}: entry seq {seq}: refused: {msg}")]
    Refused {
        target: String,
        log_id: String,
        seq: u64,
        msg: String,
    },
}

/// The errno for an `io::Error` built from a kind rather than an OS code.
fn errno_of_kind(kind: io::ErrorKind) -> Option<i32> {
    use io::ErrorKind as K;
    Some(match kind {
        K::NotFound => libc::ENOENT,
        K::PermissionDenied => libc::EACCES,
        K::AlreadyExists => libc::EEXIST,
        K::WouldBlock => libc::EAGAIN,
        K::Interrupted => libc::EINTR,
        K::InvalidInput => libc::EINVAL,
        _ => return None,
    })
}

/// Shorthand for `std::result::Result<T, evident::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(path: &Path, op: &'static str, source: io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            op,
            source,
        }
    }

    pub(crate) fn malformed(path: &Path, at: Position, msg: impl Into<String>) -> Self {
        Error::Malformed {
            path: path.to_path_buf(),
            at,
            msg: msg.into(),
        }
    }

    /// A short stable name for the error's kind (used by the CLI and FFI).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::Malformed { .. } => "malformed",
            Error::Corrupt { .. } => "corrupt",
            Error::WrongKey { .. } => "wrong_key",
            Error::Locked { .. } => "locked",
            Error::InvalidArgument(_) => "invalid_argument",
            Error::TooLarge { .. } => "too_large",
            Error::Poisoned { .. } => "poisoned",
            Error::Unsupported { .. } => "unsupported",
            Error::Closed { .. } => "closed",
            Error::NotFound { .. } => "not_found",
            Error::LayerLocked { .. } => "layer_locked",
            Error::Forked { .. } => "forked",
            Error::RolledBack { .. } => "rolled_back",
            Error::Database { .. } => "database",
            Error::Refused { .. } => "refused",
        }
    }

    /// The operating-system error code (`errno`) of an I/O error:
    /// `Some(libc::ENOENT)` for a missing file. The OS's own code when it
    /// reported one, else the code of the error's kind when it has an obvious
    /// one (the library reports "exists" and "not found" it detects itself
    /// as `EEXIST` and `ENOENT`). `None` for every other kind of error.
    /// On Windows the OS's (Win32) code is translated to the C runtime's
    /// `errno` as the CRT does (`ERROR_PATH_NOT_FOUND` is `ENOENT`); the
    /// Win32 code is still in the message (`os error 3`).
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source
                .raw_os_error()
                .and_then(crate::sys::errno_of_os)
                .or_else(|| errno_of_kind(source.kind())),
            _ => None,
        }
    }

    /// The file an error is about, when it names one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Io { path, .. }
            | Error::Malformed { path, .. }
            | Error::Corrupt { path, .. }
            | Error::WrongKey { path, .. }
            | Error::Locked { path, .. }
            | Error::TooLarge { path, .. }
            | Error::Poisoned { path, .. }
            | Error::Unsupported { path, .. }
            | Error::Closed { path }
            | Error::RolledBack { path, .. }
            | Error::Forked { path, .. } => Some(path),
            Error::InvalidArgument(_)
            | Error::NotFound { .. }
            | Error::LayerLocked { .. }
            | Error::Database { .. }
            | Error::Refused { .. } => None,
        }
    }

    /// True when the underlying I/O error is "no space left on device".
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Error::Io { source, .. } if crate::sys::is_disk_full(source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_carry_the_os_error_code_and_the_path() {
        let missing = Path::new("/nonexistent-dir-of-evident-tests/a.jsonl");
        let e = crate::verify(missing, &crate::VerifyOptions::default()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{e}");
        assert_eq!(e.path(), Some(missing));
        let e = crate::Log::open(missing, crate::OpenOptions::new()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{e}");
        assert_eq!(Error::InvalidArgument("x".into()).raw_os_error(), None);
        // An error the library detects itself gets the code of its kind.
        let e = Error::io(
            missing,
            "create",
            io::Error::from(io::ErrorKind::AlreadyExists),
        );
        assert_eq!(e.raw_os_error(), Some(libc::EEXIST));
        // Windows: the OS's Win32 codes become the C runtime's errno.
        #[cfg(windows)]
        for (win32, errno) in [
            (80, libc::EEXIST),  // ERROR_FILE_EXISTS
            (32, libc::EACCES),  // ERROR_SHARING_VIOLATION
            (112, libc::ENOSPC), // ERROR_DISK_FULL
            (2, libc::ENOENT),   // ERROR_FILE_NOT_FOUND
        ] {
            let e = Error::io(missing, "open", io::Error::from_raw_os_error(win32));
            assert_eq!(e.raw_os_error(), Some(errno), "Win32 error {win32}");
        }
    }
}
