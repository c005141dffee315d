//! Unix (Linux, macOS, the BSDs): see the table in `sys/mod.rs`.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt as _, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::FileId;

pub(crate) fn pread(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    f.read_at(buf, offset)
}

pub(crate) fn pwrite(f: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    f.write_at(buf, offset)
}

/// Appends `buf` at the end of `f` (opened with [`append_options`]).
pub(crate) fn append(mut f: &File, buf: &[u8]) -> io::Result<()> {
    f.write_all(buf)
}

/// Read and append access: `O_APPEND`.
pub(crate) fn append_options(o: &mut OpenOptions) {
    o.read(true).append(true);
}

pub(crate) fn file_id(f: &File) -> io::Result<FileId> {
    let m = f.metadata()?;
    Ok((m.dev(), m.ino()))
}

/// Hard links to the open file `f` (whose metadata is `m`).
pub(crate) fn nlink(_f: &File, m: &Metadata) -> io::Result<u64> {
    Ok(m.nlink())
}

/// Permission bits of `m`.
pub(crate) fn mode(m: &Metadata) -> u32 {
    m.mode()
}

/// Creates files with permission bits `mode` (less the umask).
pub(crate) fn create_mode(o: &mut OpenOptions, mode: u32) {
    o.mode(mode);
}

/// Creates the new file `path` (never an existing name, never through a
/// symbolic link) that only its owner may open: mode 0600 (less the umask)
/// from creation on. Read and write access.
pub(crate) fn create_private(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true).create_new(true);
    create_mode(&mut o, 0o600);
    nofollow_open(&mut o);
    o.open(path)
}

/// Sets the permission bits of `f` to `mode`.
pub(crate) fn set_mode(f: &File, mode: u32) -> io::Result<()> {
    f.set_permissions(std::fs::Permissions::from_mode(mode))
}

/// Gives `f` the owner and group of `like` where the process may (the
/// group alone when only that is allowed); failures are ignored.
pub(crate) fn copy_owner(f: &File, like: &Metadata) {
    // SAFETY: plain syscalls on a valid descriptor.
    unsafe {
        if libc::fchown(f.as_raw_fd(), like.uid(), like.gid()) != 0 {
            libc::fchown(f.as_raw_fd(), u32::MAX, like.gid());
        }
    }
}

/// Whether the process runs as the superuser.
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Opens without blocking (a FIFO nobody writes to would block open(2)),
/// never inherited by children.
pub(crate) fn nonblocking_open(o: &mut OpenOptions) {
    o.custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC);
}

/// As [`nonblocking_open`], and refuses a symbolic link as the last path
/// component ([`is_symlink_refused`]).
pub(crate) fn nofollow_nonblocking_open(o: &mut OpenOptions) {
    o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
}

/// Refuses a symbolic link as the last path component, never inherited.
pub(crate) fn nofollow_open(o: &mut OpenOptions) {
    o.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
}

/// After a no-follow open: fails if what was opened is a symbolic link
/// (on Unix open(2) already refused it).
pub(crate) fn check_not_symlink(_f: &File) -> io::Result<()> {
    Ok(())
}

/// The open failed because the path is a symbolic link (no-follow open).
pub(crate) fn is_symlink_refused(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// What the path is, when an open failed because it is not a regular file.
pub(crate) fn open_refused_kind(path: &Path, e: &io::Error) -> Option<&'static str> {
    let _ = path;
    match e.raw_os_error() {
        // O_WRONLY|O_NONBLOCK on a FIFO without a reader, or a socket.
        Some(libc::ENXIO) => Some("a FIFO or socket"),
        Some(libc::EISDIR) => Some("a directory"),
        _ => None,
    }
}

/// The OS's own "is a directory" error.
pub(crate) fn is_a_directory() -> io::Error {
    io::Error::from_raw_os_error(libc::EISDIR)
}

/// Clears `O_NONBLOCK` on an open file.
pub(crate) fn set_blocking(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with integer arguments.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    if flags & libc::O_NONBLOCK != 0 {
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What kind of (non-regular) file `ft` is, for error messages.
pub(crate) fn file_kind(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Makes a directory entry durable (after create or rename).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    let d = File::open(dir)?;
    // On Apple systems `File::sync_all` is F_FULLFSYNC, which not every
    // file system accepts on a directory; fsync(2) makes the entry durable.
    #[cfg(target_vendor = "apple")]
    {
        // SAFETY: fsync on a descriptor we own.
        if unsafe { libc::fsync(d.as_raw_fd()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_vendor = "apple"))]
    d.sync_all()
}

/// Whether process `pid` exists: `Some(true)` yes (or it is another
/// user's), `Some(false)` certainly not, `None` unknown.
pub(crate) fn process_exists(pid: u32) -> Option<bool> {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return Some(false);
    };
    if pid <= 0 {
        return None;
    }
    // SAFETY: signal 0 only checks whether the process exists.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return Some(true);
    }
    match io::Error::last_os_error().raw_os_error() {
        Some(libc::EPERM) => Some(true),
        Some(libc::ESRCH) => Some(false),
        _ => None,
    }
}

/// Try-lock contention reported as an OS code rather than a kind.
pub(crate) fn is_contended_os(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EWOULDBLOCK)
}

/// Takes the writer lock of `f` without waiting (`WouldBlock` when held).
pub(crate) fn try_lock(f: &File) -> io::Result<()> {
    fs2::FileExt::try_lock_exclusive(f)
}

/// Takes the writer lock of `f`, waiting as long as it takes.
pub(crate) fn lock(f: &File) -> io::Result<()> {
    fs2::FileExt::lock_exclusive(f)
}

/// Releases the writer lock of `f`.
pub(crate) fn unlock(f: &File) -> io::Result<()> {
    fs2::FileExt::unlock(f)
}

/// "No space left on device".
pub(crate) fn is_disk_full(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOSPC)
}

/// The OS's "no space left on device" error.
// Used by the storage test hooks only.
#[cfg(any(test, feature = "__internal"))]
pub(crate) fn disk_full_error() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOSPC)
}

/// The OS's "I/O error".
// Used by the storage test hooks only.
#[cfg(any(test, feature = "__internal"))]
pub(crate) fn io_error() -> io::Error {
    io::Error::from_raw_os_error(libc::EIO)
}

/// The calling process's id, without a system call on every use: cached,
/// and forgotten in the child of every `fork()` by a `pthread_atfork`
/// handler (registered on first use), so a forked child reads its own id.
/// `getpid` is a system call on Linux (glibc stopped caching it), and the
/// writer checks the process on every append.
pub(crate) fn process_id() -> u32 {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Once;
    static PID: AtomicU32 = AtomicU32::new(0);
    static HANDLER: AtomicBool = AtomicBool::new(false);
    static REGISTER: Once = Once::new();
    extern "C" fn forget_in_child() {
        // Async-signal-safe: one atomic store.
        PID.store(0, Ordering::SeqCst);
    }
    let cached = PID.load(Ordering::SeqCst);
    if cached != 0 {
        return cached;
    }
    REGISTER.call_once(|| {
        // SAFETY: registers a handler that only stores to an atomic.
        let ok = unsafe { libc::pthread_atfork(None, None, Some(forget_in_child)) } == 0;
        HANDLER.store(ok, Ordering::SeqCst);
    });
    let pid = std::process::id();
    // Cached only with the handler in place (else a child could read the
    // parent's id).
    if HANDLER.load(Ordering::SeqCst) {
        PID.store(pid, Ordering::SeqCst);
    }
    pid
}

/// This machine's host name (`gethostname`).
pub(crate) fn hostname() -> io::Result<String> {
    // Host names are at most 255 bytes (POSIX HOST_NAME_MAX on Linux and
    // macOS), plus the terminating NUL.
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for the length passed; one byte is kept
    // for a terminating NUL that a truncated name may lack.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8(buf.get(..len).unwrap_or_default().to_vec())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "host name not valid UTF-8"))
}

/// The login name of the effective user (`getpwuid_r(geteuid())`).
pub(crate) fn username() -> io::Result<String> {
    // SAFETY: `passwd` is plain data that getpwuid_r fills in; its string
    // fields point into `buf`, which outlives their use below. The buffer
    // grows on ERANGE up to a bound.
    unsafe {
        let uid = libc::geteuid();
        let mut size = 16_384usize;
        loop {
            let mut buf = vec![0u8; size];
            let mut pwd: libc::passwd = std::mem::zeroed();
            let mut found: *mut libc::passwd = std::ptr::null_mut();
            let r = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr().cast(), size, &mut found);
            if r == libc::ERANGE && size < 1 << 20 {
                size *= 4;
                continue;
            }
            if r != 0 {
                return Err(io::Error::from_raw_os_error(r));
            }
            if found.is_null() || pwd.pw_name.is_null() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no user database entry for uid {uid}"),
                ));
            }
            let name = std::ffi::CStr::from_ptr(pwd.pw_name);
            return name.to_str().map(str::to_owned).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, "user name not valid UTF-8")
            });
        }
    }
}

#[cfg(feature = "session")]
extern "C" {
    // POSIX; not bound by the libc crate for every Unix.
    fn tzset();
}

/// `t` in the local time zone (`TZ`, else the system's), as the C library
/// computes it (`localtime_r`). Used instead of `chrono::Local`, whose
/// macOS implementation needs the CoreFoundation framework.
#[cfg(feature = "session")]
pub(crate) fn local_time(
    t: &chrono::DateTime<chrono::Utc>,
) -> chrono::DateTime<chrono::FixedOffset> {
    let utc = chrono::Offset::fix(&chrono::Utc);
    #[allow(irrefutable_let_patterns)] // time_t is 32 bits on some Unixes
    let Ok(secs) = libc::time_t::try_from(t.timestamp()) else {
        return t.with_timezone(&utc);
    };
    // SAFETY: tzset has no arguments; localtime_r writes only into `tm`.
    let offset = unsafe {
        tzset();
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            None
        } else {
            i32::try_from(tm.tm_gmtoff).ok()
        }
    };
    let tz = offset
        .and_then(chrono::FixedOffset::east_opt)
        .unwrap_or(utc);
    t.with_timezone(&tz)
}

/// The `errno` of an OS error: the code itself on Unix.
pub(crate) fn errno_of_os(code: i32) -> Option<i32> {
    Some(code)
}

/// Linux: writes `bytes` into a new file that has no name (`O_TMPFILE` in
/// `dir`), makes it durable, then gives it the name `path` with `linkat`,
/// which fails with `AlreadyExists` when `path` is taken. A process killed
/// before the link leaves nothing behind. `Ok(false)`: this kernel, file
/// system or `/proc` cannot do it, nothing was created (use a named
/// temporary file instead; so does any failure to link but `AlreadyExists`).
#[cfg(target_os = "linux")]
pub(crate) fn create_unnamed_then_link(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let proc_fd = Path::new("/proc/self/fd");
    if !proc_fd.is_dir() {
        return Ok(false);
    }
    let Ok(mut f) = OpenOptions::new()
        .write(true)
        .mode(0o666)
        .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
        .open(dir)
    else {
        // No O_TMPFILE here (or the directory is refused, which the named
        // temporary file then reports).
        return Ok(false);
    };
    f.write_all(bytes)?;
    f.sync_all()?;
    let from = CString::new(format!("/proc/self/fd/{}", f.as_raw_fd()))
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let to = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the path contains a NUL byte"))?;
    // SAFETY: two valid NUL-terminated strings; the descriptor stays open.
    let r = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    match r {
        0 => Ok(true),
        _ => match io::Error::last_os_error() {
            e if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
            // A file system that takes O_TMPFILE but not this link: the
            // named temporary file reports what is really wrong, if anything.
            _ => Ok(false),
        },
    }
}

/// Not Linux: no `O_TMPFILE` (see the Linux version).
#[cfg(not(target_os = "linux"))]
pub(crate) fn create_unnamed_then_link(
    _dir: &Path,
    _path: &Path,
    _bytes: &[u8],
) -> io::Result<bool> {
    Ok(false)
}

/// Renames `from` to `to` atomically, failing with `AlreadyExists` when
/// `to` exists (never replacing it): Linux `renameat2(RENAME_NOREPLACE)`
/// (through `syscall`, which every glibc has), macOS `renamex_np(RENAME_EXCL)`.
/// `Unsupported` where the system or file system cannot.
pub(crate) fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let nul = |_| io::Error::new(io::ErrorKind::InvalidInput, "the path contains a NUL byte");
    let from = CString::new(from.as_os_str().as_bytes()).map_err(nul)?;
    let to = CString::new(to.as_os_str().as_bytes()).map_err(nul)?;
    #[cfg(target_os = "linux")]
    {
        // SAFETY: two valid NUL-terminated strings.
        let r = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP) => {
                Err(io::Error::new(io::ErrorKind::Unsupported, e))
            }
            _ => Err(e),
        }
    }
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    {
        // SAFETY: two valid NUL-terminated strings.
        if unsafe { libc::renamex_np(from.as_ptr(), to.as_ptr(), libc::RENAME_EXCL) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINVAL | libc::ENOTSUP) => {
                Err(io::Error::new(io::ErrorKind::Unsupported, e))
            }
            _ => Err(e),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "ios")))]
    {
        let _ = (from, to);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "session")]
    use chrono::{TimeZone, Utc};

    #[test]
    fn host_and_user_names_are_the_ones_whoami_gave() {
        // The names the log's `host`/`actor` defaults and the lock's holder
        // record carried before (whoami), on this machine.
        let host = hostname().unwrap();
        assert!(!host.is_empty());
        assert_eq!(host, whoami::fallible::hostname().unwrap());
        let user = username().unwrap();
        assert!(!user.is_empty());
        assert_eq!(user, whoami::username());
        assert_eq!(super::super::user_name(), user);
        assert_eq!(super::super::host_name(), host);
    }

    /// Runs `local_time_in_a_given_zone` in a child process with `TZ` set
    /// (the environment of the test process itself is left alone).
    #[cfg(feature = "session")]
    #[test]
    fn local_time_follows_tz() {
        for (tz, winter, summer, noon) in [
            ("EST5EDT,M3.2.0,M11.1.0", -5 * 3600, -4 * 3600, "07:00"),
            ("UTC0", 0, 0, "12:00"),
            ("<+0530>-5:30", 19_800, 19_800, "17:30"),
        ] {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "sys::unix::tests::local_time_in_a_given_zone"])
                .args(["--nocapture", "--test-threads=1"])
                .env("TZ", tz)
                .env(
                    "EVIDENT_TEST_LOCAL_TIME",
                    format!("{winter} {summer} {noon}"),
                )
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "TZ={tz}: {stdout}");
            assert!(stdout.contains("1 passed"), "TZ={tz}: {stdout}");
            assert!(stdout.contains("offsets checked"), "TZ={tz}: {stdout}");
        }
    }

    #[cfg(feature = "session")]
    #[test]
    fn local_time_in_a_given_zone() {
        let Ok(expected) = std::env::var("EVIDENT_TEST_LOCAL_TIME") else {
            return; // run by local_time_follows_tz only
        };
        let want: Vec<&str> = expected.split(' ').collect();
        let (winter, summer): (i32, i32) = (want[0].parse().unwrap(), want[1].parse().unwrap());
        let jan = Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
        let jul = Utc.with_ymd_and_hms(2026, 7, 15, 12, 0, 0).unwrap();
        for (t, off) in [(jan, winter), (jul, summer)] {
            let local = local_time(&t);
            assert_eq!(local.offset().local_minus_utc(), off, "{t}");
            assert_eq!(local, t, "the same instant");
        }
        // 12:00 UTC on 15 January, as the TraceKit script writes it.
        assert_eq!(local_time(&jan).format("%H:%M").to_string(), want[2]);
        println!("offsets checked");
    }
}
