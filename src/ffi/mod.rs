//! The stable C ABI (`include/evident.h`, generated from this module by
//! cbindgen; `abi/symbols.txt` lists every exported symbol).
//!
//! Conventions, following rustls-ffi and the wasmtime C API:
//!
//! - every exported name starts with `evident_`; objects are opaque
//!   (`evident_log`, `evident_open_options`, `evident_verify_result`, …) and
//!   each has exactly one `_free` function, which accepts NULL;
//! - every fallible function returns an [`evident_status`] and writes its
//!   outputs through out-pointers (set to NULL/0 first, so they are defined
//!   on failure too);
//! - on failure a message is kept in a thread-local "last error"
//!   ([`evident_last_error`]);
//! - no panic crosses the boundary: every body runs inside
//!   [`std::panic::catch_unwind`] (`ffi_status!`, `ffi_value!`) and a
//!   panic becomes `EVIDENT_STATUS_PANIC`;
//! - NULL and non-UTF-8 arguments return `EVIDENT_STATUS_NULL_ARGUMENT` /
//!   `EVIDENT_STATUS_INVALID_UTF8`, never a crash.
//!
//! The functions are `extern "C"` but not `unsafe fn`: the C caller owns the
//! pointer contract, which the header documents per function.
#![allow(non_camel_case_types)]
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::Error;

pub mod checkpoint; // signed checkpoints, proofs, witness
pub mod compat_more; // the compatibility layers' rules (RTGS, SecureML)
pub mod compliance; // dataset compliance checks (SecureML)
pub mod log;
#[cfg(feature = "session")]
pub mod measure;
pub mod openparallax; // existing OpenParallax audit files (ABI 1.11)
pub mod options;
#[cfg(feature = "postgres")]
pub mod pg; // ship and query a PostgreSQL store
pub mod query;
pub mod report; // reports and reproduction scripts
#[cfg(feature = "session")]
pub mod session;
#[cfg(feature = "session")]
pub mod session_go; // dtype names and sizes for bindings
#[cfg(feature = "session")]
pub mod session_go2; // Go zero values as "unset"
#[cfg(feature = "session")]
pub mod session_go3; // session operations by name, arguments as JSON
#[cfg(feature = "session")]
pub mod session_more; // single session and layer properties
#[cfg(feature = "session")]
pub mod session_py; // save options, recorded load_trace, whole layers as JSON
pub mod tracekit; // TraceKit export
pub mod verify;

/// Major version of the C ABI. Within one major version the ABI only grows:
/// functions, enum values and constants are added, never removed or changed.
pub const EVIDENT_ABI_VERSION_MAJOR: u32 = 1;

/// Minor version of the C ABI, raised whenever something is added.
pub const EVIDENT_ABI_VERSION_MINOR: u32 = 14;

/// The ABI version this header describes: `(major << 16) | minor`. Compare
/// it with the value returned by `evident_abi_version()` at run time.
pub const EVIDENT_ABI_VERSION: u32 = (EVIDENT_ABI_VERSION_MAJOR << 16) | EVIDENT_ABI_VERSION_MINOR;

/// Size of the buffer that holds a hash as lowercase hex plus the
/// terminating NUL (HMAC-SHA512: 128 hex digits + 1).
pub const EVIDENT_HASH_HEX_CAPACITY: usize = 129;

/// Status code returned by every fallible function.
///
/// The numbers are stable and never reused. Codes 1–99 correspond to the
/// kinds of `evident::Error`; 100–199 are errors of the C boundary itself;
/// `EVIDENT_STATUS_END` is not an error but the end of an iteration. On any
/// status other than `EVIDENT_STATUS_OK` and `EVIDENT_STATUS_END`,
/// `evident_last_error()` describes the problem in one line, naming the
/// file when the failure concerns one and, where there is one, the entry.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum evident_status {
    /// Success.
    Ok = 0,
    /// An operating-system I/O error (the message names the file and the
    /// operation).
    Io = 1,
    /// The file is not an evident log or its structure is damaged.
    Malformed = 2,
    /// The log's last record fails its hash check: the chain head cannot be
    /// trusted, appending is refused. Run `evident_verify`.
    Corrupt = 3,
    /// The key does not match the log (or a key is missing / superfluous).
    WrongKey = 4,
    /// Another writer holds the log's lock; the message names the holder.
    Locked = 5,
    /// An argument is invalid (bad JSON, timestamp, enum value, short key…).
    InvalidArgument = 6,
    /// An entry is larger than the format allows.
    TooLarge = 7,
    /// An earlier write or fsync failed; reopen the log.
    Poisoned = 8,
    /// The log needs a newer version of this library.
    Unsupported = 9,
    /// The log has been closed.
    Closed = 10,
    /// A named thing (a session trace, annotation layer, version) does not
    /// exist.
    NotFound = 11,
    /// A session's annotation layer is locked against changes.
    LayerLocked = 12,
    /// The log handle was opened by another process: it was inherited over
    /// `fork()`. Nothing was written; open the log again in the child (and
    /// free the inherited handle there, which leaves the parent's lock
    /// alone).
    Forked = 13,
    /// A shared-mode writer found the log cut back or rewritten below an
    /// entry it appended itself; nothing was appended. Run `evident_verify`.
    RolledBack = 14,
    /// A database error (PostgreSQL: connection, permission, schema). The
    /// message names the database without its password.
    Database = 15,
    /// Shipping refused entries that do not continue the database's chain
    /// for their log (a fork, a rewritten or truncated local file); nothing
    /// was inserted and the refusal is recorded in the database.
    Refused = 16,
    /// A required pointer argument was NULL.
    NullArgument = 100,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 101,
    /// An internal error (a Rust panic) was caught at the boundary. The
    /// object involved should not be used further except to free it.
    Panic = 102,
    /// An iterator has no more items (not an error).
    End = 200,
}

/// The kinds of verification violation (the same numbers as
/// `evident::ViolationKind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum evident_violation_kind {
    /// A record's stored hash is not the hash of its body.
    HashMismatch = 1,
    /// A record's `prev` is not the previous record's hash.
    ChainBreak = 2,
    /// A record's `seq` is not one more than the previous record's.
    SeqGap = 3,
    /// Bytes that are not a record (bad framing, CRC, JSON or fields).
    Malformed = 4,
    /// The file ends in an incomplete record (a torn write); opening the log
    /// moves it aside. Nothing before it is damaged.
    TornTail = 5,
    /// The key does not match the log.
    WrongKey = 6,
    /// The log id is not the expected one.
    WrongLogId = 7,
    /// The log does not reach the expected head, or has another hash there.
    HeadMismatch = 8,
    /// The log needs a newer reader.
    Unsupported = 9,
}

/// The two framings of a log. Passed as `uint32_t`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum evident_framing {
    /// New logs: binary when the path ends in `.evl` or `.bin`, else JSONL;
    /// existing logs: whatever the file is.
    Auto = 0,
    /// One JSON object per line.
    Jsonl = 1,
    /// CRC-protected binary frames.
    Binary = 2,
}

/// Hash algorithms. Passed as `uint32_t`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum evident_alg {
    /// New logs: HMAC-SHA256 when a key is set, else SHA-256.
    Auto = 0,
    /// Keyless SHA-256.
    Sha256 = 1,
    /// HMAC-SHA256 (needs a key).
    HmacSha256 = 2,
    /// HMAC-SHA512 (needs a key).
    HmacSha512 = 3,
}

/// When an append is durable. Passed as `uint32_t`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum evident_durability {
    /// Every append is fsynced before it returns (default).
    Sync = 1,
    /// Concurrent appenders share one fsync; each append returns once its
    /// entry is durable.
    GroupCommit = 2,
    /// Entries are durable only after `evident_log_sync` or
    /// `evident_log_close`.
    Buffered = 3,
}

/// How writers share a log. Passed as `uint32_t`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum evident_lock_mode {
    /// One writer holds the lock while the log is open (default).
    Exclusive = 1,
    /// Several processes append; each append takes the lock briefly.
    Shared = 2,
}

/// Query reading order. Passed as `uint32_t`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum evident_order {
    /// From the first entry to the last (default).
    OldestFirst = 1,
    /// From the last entry backward.
    NewestFirst = 2,
}

impl From<crate::verify::ViolationKind> for evident_violation_kind {
    fn from(k: crate::verify::ViolationKind) -> Self {
        use crate::verify::ViolationKind as K;
        match k {
            K::HashMismatch => Self::HashMismatch,
            K::ChainBreak => Self::ChainBreak,
            K::SeqGap => Self::SeqGap,
            K::Malformed => Self::Malformed,
            K::TornTail => Self::TornTail,
            K::WrongKey => Self::WrongKey,
            K::WrongLogId => Self::WrongLogId,
            K::HeadMismatch => Self::HeadMismatch,
            K::Unsupported => Self::Unsupported,
        }
    }
}

impl From<crate::format::Framing> for evident_framing {
    fn from(f: crate::format::Framing) -> Self {
        match f {
            crate::format::Framing::Jsonl => Self::Jsonl,
            crate::format::Framing::Binary => Self::Binary,
        }
    }
}

impl From<crate::chain::HashAlg> for evident_alg {
    fn from(a: crate::chain::HashAlg) -> Self {
        match a {
            crate::chain::HashAlg::Sha256 => Self::Sha256,
            crate::chain::HashAlg::HmacSha256 => Self::HmacSha256,
            crate::chain::HashAlg::HmacSha512 => Self::HmacSha512,
        }
    }
}

/// A failure inside an FFI body: the status to return and the message for
/// the thread's last error, with the OS error code and the file of an I/O
/// error.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: evident_status,
    pub(crate) message: String,
    pub(crate) errno: i32,
    pub(crate) path: Option<std::path::PathBuf>,
}

impl Failure {
    pub(crate) fn new(status: evident_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
            errno: 0,
            path: None,
        }
    }

    pub(crate) fn null(arg: &str) -> Self {
        Failure::new(
            evident_status::NullArgument,
            format!("argument `{arg}` must not be NULL"),
        )
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Failure::new(evident_status::InvalidArgument, msg)
    }
}

/// The status for each kind of library error. Exhaustive on purpose: a new
/// `Error` variant must get its own status number here.
pub(crate) fn status_of(e: &Error) -> evident_status {
    match e {
        Error::Io { .. } => evident_status::Io,
        Error::Malformed { .. } => evident_status::Malformed,
        Error::Corrupt { .. } => evident_status::Corrupt,
        Error::WrongKey { .. } => evident_status::WrongKey,
        Error::Locked { .. } => evident_status::Locked,
        Error::InvalidArgument(_) => evident_status::InvalidArgument,
        Error::TooLarge { .. } => evident_status::TooLarge,
        Error::Poisoned { .. } => evident_status::Poisoned,
        Error::Unsupported { .. } => evident_status::Unsupported,
        Error::Closed { .. } => evident_status::Closed,
        Error::NotFound { .. } => evident_status::NotFound,
        Error::LayerLocked { .. } => evident_status::LayerLocked,
        Error::Forked { .. } => evident_status::Forked,
        Error::RolledBack { .. } => evident_status::RolledBack,
        Error::Database { .. } => evident_status::Database,
        Error::Refused { .. } => evident_status::Refused,
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure {
            status: status_of(&e),
            message: e.to_string(),
            errno: e.raw_os_error().unwrap_or(0),
            path: e.path().map(|p| p.to_path_buf()),
        }
    }
}

/// Result of an FFI body.
pub(crate) type FfiResult<T> = Result<T, Failure>;

/// The calling thread's last failure: its message, OS error code (0: none)
/// and file.
struct LastError {
    message: CString,
    errno: i32,
    path: Option<CString>,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

/// Turns a message into a C string (interior NULs, which cannot be
/// represented, become U+FFFD).
pub(crate) fn to_cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default()
}

fn set_last_error(msg: &str) {
    set_last_failure(msg, 0, None);
}

fn set_last_failure(msg: &str, errno: i32, path: Option<&std::path::Path>) {
    let last = LastError {
        message: to_cstring(msg),
        errno,
        path: path.map(path_cstring),
    };
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = Some(last));
}

/// A path as a C string: its bytes on Unix (not necessarily UTF-8).
fn path_cstring(p: &std::path::Path) -> CString {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        CString::new(p.as_os_str().as_bytes().to_vec())
            .unwrap_or_else(|_| to_cstring(&p.to_string_lossy()))
    }
    #[cfg(not(unix))]
    {
        to_cstring(&p.to_string_lossy())
    }
}

fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = None);
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    format!("internal error (panic caught at the C boundary): {what}")
}

/// Runs the body of a status-returning function: clears the thread's last
/// error, catches panics, records the message of a failure.
pub(crate) fn run_status(f: impl FnOnce() -> FfiResult<evident_status>) -> evident_status {
    clear_last_error();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(status)) => {
            // A call made inside this one (from a progress callback, say)
            // may have failed and set it: success leaves no message.
            if status == evident_status::Ok {
                clear_last_error();
            }
            status
        }
        Ok(Err(fail)) => {
            set_last_failure(&fail.message, fail.errno, fail.path.as_deref());
            fail.status
        }
        Err(payload) => {
            set_last_error(&panic_message(&*payload));
            evident_status::Panic
        }
    }
}

/// Runs the body of an accessor (a function that does not return a status):
/// a panic yields `default` and is recorded as the last error; otherwise the
/// last error is left alone.
pub(crate) fn run_value<T>(default: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            set_last_error(&panic_message(&*payload));
            default
        }
    }
}

/// Runs an accessor on an object pointer: NULL (or a panic) yields `default`.
pub(crate) fn with_obj<R, T>(p: *const R, default: T, f: impl FnOnce(&R) -> T) -> T {
    // SAFETY: `p` is NULL or points to a live object of type R (header contract).
    match unsafe { p.as_ref() } {
        None => default,
        Some(r) => run_value(default, || f(r)),
    }
}

/// Panic boundary for a function returning `evident_status`. The body is a
/// block evaluating to `FfiResult<evident_status>`; `?` and the helper
/// macros below return early with a failure.
macro_rules! ffi_status {
    ($body:block) => {
        $crate::ffi::run_status(
            move || -> $crate::ffi::FfiResult<$crate::ffi::evident_status> { $body },
        )
    };
}

/// Panic boundary for an accessor: `ffi_value!(default, { body })`.
macro_rules! ffi_value {
    ($default:expr, $body:block) => {
        $crate::ffi::run_value($default, move || $body)
    };
}

/// `&T` from a pointer argument, or return `EVIDENT_STATUS_NULL_ARGUMENT`.
macro_rules! try_ref {
    ($ptr:expr, $name:literal) => {{
        let p = $ptr;
        // SAFETY: the caller passes NULL or a valid pointer (header contract).
        match unsafe { p.as_ref() } {
            Some(r) => r,
            None => return Err($crate::ffi::Failure::null($name)),
        }
    }};
}

/// `&mut T` from a pointer argument, or return `EVIDENT_STATUS_NULL_ARGUMENT`.
macro_rules! try_mut {
    ($ptr:expr, $name:literal) => {{
        let p = $ptr;
        // SAFETY: the caller passes NULL or a valid pointer it does not use
        // elsewhere during the call (header contract).
        match unsafe { p.as_mut() } {
            Some(r) => r,
            None => return Err($crate::ffi::Failure::null($name)),
        }
    }};
}

/// Resets every non-NULL out-pointer of a function with several, before
/// `try_out!` refuses a NULL one: the header promises that all out-pointers
/// are set to NULL / zero on entry, so a failure never leaves one stale.
macro_rules! reset_outs {
    ($($ptr:expr => $init:expr),+ $(,)?) => {{
        $(
            let p = $ptr;
            if !p.is_null() {
                // SAFETY: the caller passes NULL or a valid, writable pointer
                // (header contract).
                unsafe { p.write($init) };
            }
        )+
    }};
}

/// A required out-pointer: NULL returns `EVIDENT_STATUS_NULL_ARGUMENT`,
/// otherwise `*out` is set to `$init` and the reference is returned.
macro_rules! try_out {
    ($ptr:expr, $name:literal, $init:expr) => {{
        let r = $crate::ffi::try_mut!($ptr, $name);
        *r = $init;
        r
    }};
}

/// A required NUL-terminated UTF-8 string argument as `&str`.
macro_rules! try_str {
    ($ptr:expr, $name:literal) => {{
        match $crate::ffi::opt_str($ptr, $name)? {
            Some(s) => s,
            None => return Err($crate::ffi::Failure::null($name)),
        }
    }};
}

/// An optional string argument: NULL is `None`.
macro_rules! try_opt_str {
    ($ptr:expr, $name:literal) => {
        $crate::ffi::opt_str($ptr, $name)?
    };
}

pub(crate) use {
    ffi_status, ffi_value, reset_outs, try_mut, try_opt_str, try_out, try_ref, try_str,
};

/// Reads an optional C string argument as UTF-8.
pub(crate) fn opt_str<'a>(ptr: *const c_char, name: &str) -> FfiResult<Option<&'a str>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL string arguments are NUL-terminated (header contract).
    let c = unsafe { CStr::from_ptr(ptr) };
    match c.to_str() {
        Ok(s) => Ok(Some(s)),
        Err(e) => Err(Failure::new(
            evident_status::InvalidUtf8,
            format!(
                "argument `{name}` is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )),
    }
}

/// A slice of `len` items at `ptr` from a C caller (NULL only when `len` is 0).
pub(crate) fn c_slice<'a, T>(ptr: *const T, len: usize, name: &str) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    if len > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(Failure::invalid(format!("`{name}`: count is too large")));
    }
    // SAFETY: the caller passes `len` readable items at `ptr` (header
    // contract); the byte length fits isize (checked).
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Reads a key given as pointer + length.
pub(crate) fn key_arg(ptr: *const u8, len: usize) -> FfiResult<Option<crate::chain::Key>> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(None);
        }
        return Err(Failure::null("key"));
    }
    let bytes = c_slice(ptr, len, "key")?;
    Ok(Some(crate::chain::Key::new(bytes.to_vec())?))
}

/// A pointer to the bytes of a C string owned by an object (NULL for `None`).
pub(crate) fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(std::ptr::null(), |c| c.as_ptr())
}

/// Returns the version of the library (e.g. `"0.1.0"`), a static string.
#[no_mangle]
pub extern "C" fn evident_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    run_value(std::ptr::null(), || VERSION.as_ptr().cast())
}

/// Returns the ABI version of the loaded library: `(major << 16) | minor`.
/// A program built against this header works with any library whose major
/// version equals `EVIDENT_ABI_VERSION_MAJOR` and whose minor version is at
/// least `EVIDENT_ABI_VERSION_MINOR`:
///
/// ```c
/// uint32_t v = evident_abi_version();
/// bool ok = (v >> 16) == EVIDENT_ABI_VERSION_MAJOR && v >= EVIDENT_ABI_VERSION;
/// ```
#[no_mangle]
pub extern "C" fn evident_abi_version() -> u32 {
    run_value(EVIDENT_ABI_VERSION, || EVIDENT_ABI_VERSION)
}

/// Returns the message of the last failure on the calling thread, or `""`
/// when the last status-returning call on this thread succeeded. Never NULL.
///
/// Ownership: the string belongs to the library. It stays valid until the
/// next call, on the same thread, to an evident function that returns
/// `evident_status` (each such call clears or replaces it). Copy it (or use
/// `evident_last_error_copy`) to keep it.
#[no_mangle]
pub extern "C" fn evident_last_error() -> *const c_char {
    static EMPTY: &[u8] = b"\0";
    run_value(EMPTY.as_ptr().cast(), || {
        LAST_ERROR
            .try_with(|e| {
                e.borrow()
                    .as_ref()
                    .map_or(EMPTY.as_ptr().cast(), |l| l.message.as_ptr())
            })
            .unwrap_or(EMPTY.as_ptr().cast())
    })
}

/// Copies the last error message of the calling thread into `buf` (at most
/// `buf_len - 1` bytes, always NUL-terminated when `buf_len > 0`) and returns
/// the full length of the message in bytes, without the NUL (like
/// `snprintf`). `buf` may be NULL when `buf_len` is 0 (to ask for the size).
/// Does not change the last error.
#[no_mangle]
pub extern "C" fn evident_last_error_copy(buf: *mut c_char, buf_len: usize) -> usize {
    run_value(0, || {
        LAST_ERROR
            .try_with(|e| {
                let e = e.borrow();
                let msg = e.as_ref().map_or(&[][..], |l| l.message.as_bytes());
                if !buf.is_null() && buf_len > 0 {
                    let n = msg.len().min(buf_len - 1);
                    // SAFETY: the caller passes `buf_len` writable bytes.
                    unsafe {
                        std::ptr::copy_nonoverlapping(msg.as_ptr(), buf.cast::<u8>(), n);
                        *buf.add(n) = 0;
                    }
                }
                msg.len()
            })
            .unwrap_or(0)
    })
}

/// Returns the operating-system error code (`errno`, e.g. `ENOENT`) of the
/// last failure on the calling thread when it was an I/O error
/// (`EVIDENT_STATUS_IO`) that the OS reported with a code; 0 otherwise (no
/// failure, another kind of failure, or an I/O error without a code). Valid
/// under the same rule as `evident_last_error`: until the next call, on the
/// same thread, to a function that returns `evident_status`. On Windows
/// the OS's Win32 error is translated to the C runtime's `errno` value (a
/// missing file or directory is `ENOENT`), as the CRT itself does.
///
/// ```c
/// if (evident_log_open(path, NULL, &log) == EVIDENT_STATUS_IO
///     && evident_last_errno() == ENOENT) { ... }
/// ```
#[no_mangle]
pub extern "C" fn evident_last_errno() -> std::ffi::c_int {
    run_value(0, || {
        LAST_ERROR
            .try_with(|e| e.borrow().as_ref().map_or(0, |l| l.errno))
            .unwrap_or(0)
    })
}

/// Returns the file the last failure on the calling thread is about (for an
/// I/O error: the file the OS refused, which may be the lock file or a
/// sidecar rather than the log), or NULL when the failure names no file or
/// there was none. The bytes are the path as given or built by the library
/// (not necessarily UTF-8). Owned by the library; valid under the same rule
/// as `evident_last_error`.
#[no_mangle]
pub extern "C" fn evident_last_error_path() -> *const c_char {
    run_value(std::ptr::null(), || {
        LAST_ERROR
            .try_with(|e| {
                e.borrow()
                    .as_ref()
                    .and_then(|l| l.path.as_ref())
                    .map_or(std::ptr::null(), |c| c.as_ptr())
            })
            .unwrap_or(std::ptr::null())
    })
}

/// Returns the name of a status code (e.g. `"EVIDENT_STATUS_LOCKED"`), or
/// `"EVIDENT_STATUS_UNKNOWN"` for a number this library does not know. A
/// static string.
#[no_mangle]
pub extern "C" fn evident_status_name(status: u32) -> *const c_char {
    let s: &'static str = match status {
        0 => "EVIDENT_STATUS_OK\0",
        1 => "EVIDENT_STATUS_IO\0",
        2 => "EVIDENT_STATUS_MALFORMED\0",
        3 => "EVIDENT_STATUS_CORRUPT\0",
        4 => "EVIDENT_STATUS_WRONG_KEY\0",
        5 => "EVIDENT_STATUS_LOCKED\0",
        6 => "EVIDENT_STATUS_INVALID_ARGUMENT\0",
        7 => "EVIDENT_STATUS_TOO_LARGE\0",
        8 => "EVIDENT_STATUS_POISONED\0",
        9 => "EVIDENT_STATUS_UNSUPPORTED\0",
        10 => "EVIDENT_STATUS_CLOSED\0",
        11 => "EVIDENT_STATUS_NOT_FOUND\0",
        12 => "EVIDENT_STATUS_LAYER_LOCKED\0",
        13 => "EVIDENT_STATUS_FORKED\0",
        14 => "EVIDENT_STATUS_ROLLED_BACK\0",
        15 => "EVIDENT_STATUS_DATABASE\0",
        16 => "EVIDENT_STATUS_REFUSED\0",
        100 => "EVIDENT_STATUS_NULL_ARGUMENT\0",
        101 => "EVIDENT_STATUS_INVALID_UTF8\0",
        102 => "EVIDENT_STATUS_PANIC\0",
        200 => "EVIDENT_STATUS_END\0",
        _ => "EVIDENT_STATUS_UNKNOWN\0",
    };
    run_value(std::ptr::null(), || s.as_ptr().cast())
}

/// Returns the stable snake_case name of a violation kind (e.g.
/// `"hash_mismatch"`), or `"unknown"`. A static string.
#[no_mangle]
pub extern "C" fn evident_violation_kind_name(kind: u32) -> *const c_char {
    let s: &'static str = match kind {
        1 => "hash_mismatch\0",
        2 => "chain_break\0",
        3 => "seq_gap\0",
        4 => "malformed\0",
        5 => "torn_tail\0",
        6 => "wrong_key\0",
        7 => "wrong_log_id\0",
        8 => "head_mismatch\0",
        9 => "unsupported\0",
        _ => "unknown\0",
    };
    run_value(std::ptr::null(), || s.as_ptr().cast())
}

/// Frees a string returned by the library with "free with
/// evident_string_free" in its documentation. NULL is a no-op. Never pass a
/// borrowed string (one documented as owned by an object).
#[no_mangle]
pub extern "C" fn evident_string_free(s: *mut c_char) {
    run_value((), || {
        if !s.is_null() {
            // SAFETY: `s` came from CString::into_raw in this library.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

/// Hands a Rust string to C as an owned, NUL-terminated string.
pub(crate) fn owned_string(s: &str) -> *mut c_char {
    to_cstring(s).into_raw()
}

/// Compile-time check of the thread-safety promises in the header.
#[allow(dead_code)]
fn thread_safety_promises() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    // Used from several threads at once.
    send_sync::<log::evident_log>();
    // Immutable results: read from several threads.
    send_sync::<verify::evident_verify_result>();
    send_sync::<log::evident_recovery>();
    send_sync::<query::evident_entry>();
    // Builders: shared read-only by concurrent calls.
    send_sync::<options::evident_open_options>();
    send_sync::<verify::evident_verify_options>();
    send_sync::<query::evident_query>();
    // Exclusive access, may move between threads.
    send::<query::evident_query_iter>();
    // Sessions: shared reads (const functions), exclusive changes.
    #[cfg(feature = "session")]
    {
        send_sync::<session::evident_session>();
        send_sync::<session::evident_trace>();
        send_sync::<session::evident_save_options>();
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // a test may panic when the OS refuses a thread
mod tests {
    use super::*;

    /// The header: the last error is `""` when the last status-returning
    /// call on this thread succeeded, also when a call made inside it (from
    /// a verify progress callback) failed. Before, that failure's message
    /// was left.
    #[test]
    fn success_leaves_no_message_of_a_nested_failure() {
        let st = ffi_status!({
            let nested = ffi_status!({ Err(Failure::null("nested_arg")) });
            assert_eq!(nested, evident_status::NullArgument);
            Ok(evident_status::Ok)
        });
        assert_eq!(st, evident_status::Ok);
        // SAFETY: evident_last_error never returns NULL.
        let msg = unsafe { CStr::from_ptr(evident_last_error()) };
        assert_eq!(msg.to_bytes(), b"", "{msg:?}");
    }

    #[test]
    fn panic_becomes_status_and_message() {
        let st = ffi_status!({
            if std::hint::black_box(true) {
                panic!("boom in test");
            }
            Ok(evident_status::Ok)
        });
        assert_eq!(st, evident_status::Panic);
        // SAFETY: evident_last_error never returns NULL.
        let msg = unsafe { CStr::from_ptr(evident_last_error()) }
            .to_str()
            .unwrap();
        assert!(msg.contains("boom in test"), "{msg}");
        assert!(msg.contains("panic"), "{msg}");
        // The next successful call clears it.
        assert_eq!(ffi_status!({ Ok(evident_status::Ok) }), evident_status::Ok);
        let msg = unsafe { CStr::from_ptr(evident_last_error()) };
        assert_eq!(msg.to_bytes(), b"");
    }

    #[test]
    fn panic_in_accessor_returns_default() {
        let v: u64 = ffi_value!(7, {
            if std::hint::black_box(true) {
                panic!("accessor panic");
            }
            1
        });
        assert_eq!(v, 7);
        let msg = unsafe { CStr::from_ptr(evident_last_error()) }
            .to_str()
            .unwrap();
        assert!(msg.contains("accessor panic"), "{msg}");
    }

    #[test]
    fn null_and_utf8_arguments() {
        let st = ffi_status!({
            let _s = try_str!(std::ptr::null::<c_char>(), "path");
            Ok(evident_status::Ok)
        });
        assert_eq!(st, evident_status::NullArgument);
        let msg = unsafe { CStr::from_ptr(evident_last_error()) }
            .to_str()
            .unwrap();
        assert!(msg.contains("`path`"), "{msg}");

        let bad = b"ab\xff\xfecd\0";
        let st = ffi_status!({
            let _s = try_str!(bad.as_ptr().cast::<c_char>(), "actor");
            Ok(evident_status::Ok)
        });
        assert_eq!(st, evident_status::InvalidUtf8);
        let msg = unsafe { CStr::from_ptr(evident_last_error()) }
            .to_str()
            .unwrap();
        assert!(msg.contains("`actor`") && msg.contains("offset 2"), "{msg}");

        let st = ffi_status!({
            let _r: &u64 = try_ref!(std::ptr::null::<u64>(), "x");
            Ok(evident_status::Ok)
        });
        assert_eq!(st, evident_status::NullArgument);
    }

    #[test]
    fn last_error_copy_truncates_and_reports_length() {
        let _ = ffi_status!({ Err(Failure::invalid("0123456789")) });
        let n = evident_last_error_copy(std::ptr::null_mut(), 0);
        assert_eq!(n, 10);
        let mut buf = [0x55 as c_char; 5];
        let n = evident_last_error_copy(buf.as_mut_ptr(), buf.len());
        assert_eq!(n, 10);
        let got = unsafe { CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(got.to_bytes(), b"0123");
    }

    #[test]
    fn error_kinds_map_to_distinct_statuses() {
        let p = std::path::PathBuf::from("x.jsonl");
        let cases = [
            (
                Error::Locked {
                    path: p.clone(),
                    holder: "pid 1".into(),
                },
                evident_status::Locked,
            ),
            (Error::Closed { path: p.clone() }, evident_status::Closed),
            (
                Error::WrongKey {
                    path: p.clone(),
                    msg: "k".into(),
                },
                evident_status::WrongKey,
            ),
            (
                Error::InvalidArgument("a".into()),
                evident_status::InvalidArgument,
            ),
            (
                Error::NotFound {
                    what: "trace \"CH1\"".into(),
                },
                evident_status::NotFound,
            ),
            (
                Error::LayerLocked {
                    layer: "faults".into(),
                },
                evident_status::LayerLocked,
            ),
            (
                Error::Forked {
                    path: p.clone(),
                    pid: 42,
                },
                evident_status::Forked,
            ),
        ];
        for (e, want) in cases {
            let text = e.to_string();
            let f = Failure::from(e);
            assert_eq!(f.status, want);
            assert_eq!(f.message, text);
        }
    }

    fn screaming(name: &str) -> String {
        let mut out = String::new();
        let mut prev_lower = false;
        for c in name.chars() {
            if c.is_ascii_uppercase() && prev_lower {
                out.push('_');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            out.push(c.to_ascii_uppercase());
        }
        out
    }

    #[test]
    fn status_names_match_the_header_constants() {
        use evident_status as S;
        let all = [
            S::Ok,
            S::Io,
            S::Malformed,
            S::Corrupt,
            S::WrongKey,
            S::Locked,
            S::InvalidArgument,
            S::TooLarge,
            S::Poisoned,
            S::Unsupported,
            S::Closed,
            S::NotFound,
            S::LayerLocked,
            S::Forked,
            S::RolledBack,
            S::Database,
            S::Refused,
            S::NullArgument,
            S::InvalidUtf8,
            S::Panic,
            S::End,
        ];
        for st in all {
            // cbindgen's QualifiedScreamingSnakeCase of the variant.
            let want = format!("EVIDENT_STATUS_{}", screaming(&format!("{st:?}")));
            let got = unsafe { CStr::from_ptr(evident_status_name(st as u32)) };
            assert_eq!(got.to_str().unwrap(), want);
        }
    }

    #[test]
    fn violation_kind_numbers_and_names_match_the_library() {
        use crate::verify::ViolationKind as K;
        let all = [
            K::HashMismatch,
            K::ChainBreak,
            K::SeqGap,
            K::Malformed,
            K::TornTail,
            K::WrongKey,
            K::WrongLogId,
            K::HeadMismatch,
            K::Unsupported,
        ];
        for k in all {
            let c: evident_violation_kind = k.into();
            assert_eq!(c as u32, k as u32, "{k:?}");
            let name = unsafe { CStr::from_ptr(evident_violation_kind_name(k as u32)) };
            assert_eq!(name.to_str().unwrap(), k.name());
        }
    }

    #[test]
    fn last_error_is_per_thread() {
        let _ = ffi_status!({ Err(Failure::invalid("main thread failure")) });
        let other = std::thread::spawn(|| {
            let empty = unsafe { CStr::from_ptr(evident_last_error()) }
                .to_bytes()
                .is_empty();
            let _ = ffi_status!({ Err(Failure::invalid("other thread failure")) });
            let msg = unsafe { CStr::from_ptr(evident_last_error()) };
            (empty, msg.to_str().unwrap().to_string())
        })
        .join()
        .unwrap();
        assert!(other.0, "a new thread starts without an error");
        assert_eq!(other.1, "other thread failure");
        let msg = unsafe { CStr::from_ptr(evident_last_error()) };
        assert_eq!(msg.to_str().unwrap(), "main thread failure");
    }

    #[test]
    fn free_null_is_noop_and_names_are_static() {
        evident_string_free(std::ptr::null_mut());
        let n = unsafe { CStr::from_ptr(evident_status_name(5)) };
        assert_eq!(n.to_bytes(), b"EVIDENT_STATUS_LOCKED");
        let n = unsafe { CStr::from_ptr(evident_status_name(12345)) };
        assert_eq!(n.to_bytes(), b"EVIDENT_STATUS_UNKNOWN");
        let n = unsafe { CStr::from_ptr(evident_violation_kind_name(1)) };
        assert_eq!(n.to_bytes(), b"hash_mismatch");
        assert_eq!(evident_abi_version() >> 16, EVIDENT_ABI_VERSION_MAJOR);
        let v = unsafe { CStr::from_ptr(evident_version()) };
        assert_eq!(v.to_str().unwrap(), crate::VERSION);
    }
}
