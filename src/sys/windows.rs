//! Windows: see the table in `sys/mod.rs`. Written against the documented
//! Win32 calls (through `windows-sys`) and `std::os::windows`.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::windows::fs::{FileExt as _, OpenOptionsExt};
use std::os::windows::io::AsRawHandle;
use std::path::Path;

use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_ACCESS_DENIED, ERROR_DIRECTORY_NOT_SUPPORTED, ERROR_DISK_FULL,
    ERROR_HANDLE_DISK_FULL, ERROR_INVALID_PARAMETER, ERROR_IO_PENDING, ERROR_LOCK_VIOLATION,
    GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE, STILL_ACTIVE,
};
use windows_sys::Win32::Security::{
    AddAccessAllowedAce, GetLengthSid, GetTokenInformation, InitializeAcl,
    InitializeSecurityDescriptor, SetSecurityDescriptorControl, SetSecurityDescriptorDacl,
    TokenUser, ACCESS_ALLOWED_ACE, ACL, ACL_REVISION, PSECURITY_DESCRIPTOR, PSID,
    SECURITY_ATTRIBUTES, SECURITY_DESCRIPTOR, SE_DACL_PROTECTED, TOKEN_QUERY, TOKEN_USER,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, GetFileInformationByHandle, LockFileEx, MoveFileExW, UnlockFileEx,
    BY_HANDLE_FILE_INFORMATION, CREATE_NEW, FILE_ALL_ACCESS, FILE_ATTRIBUTE_NORMAL,
    FILE_FLAG_OPEN_REPARSE_POINT, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE,
    LOCKFILE_EXCLUSIVE_LOCK, LOCKFILE_FAIL_IMMEDIATELY,
};
use windows_sys::Win32::System::SystemServices::SECURITY_DESCRIPTOR_REVISION;
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetExitCodeProcess, OpenProcess, OpenProcessToken,
    PROCESS_QUERY_LIMITED_INFORMATION,
};
use windows_sys::Win32::System::IO::{OVERLAPPED, OVERLAPPED_0, OVERLAPPED_0_0};

use super::FileId;

pub(crate) fn pread(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    // ReadFile at an offset; at or past the end of file it returns 0.
    f.seek_read(buf, offset)
}

pub(crate) fn pwrite(f: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    f.seek_write(buf, offset)
}

/// `WriteFile` at offset 0xFFFFFFFF:0xFFFFFFFF writes at the end of the
/// file, "functionally equivalent to ... FILE_APPEND_DATA access" (WriteFile
/// documentation), while the handle keeps `FILE_WRITE_DATA` so the writer
/// can still cut a torn tail (`SetEndOfFile` needs it; a std
/// `append(true)` handle lacks it).
const END_OF_FILE: u64 = u64::MAX;

/// Appends `buf` at the end of `f` (opened with [`append_options`]).
pub(crate) fn append(f: &File, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match f.seek_write(buf, END_OF_FILE) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "failed to write whole buffer",
                ))
            }
            Ok(n) => buf = buf.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Read and write access; appends go through [`append`].
pub(crate) fn append_options(o: &mut OpenOptions) {
    o.read(true).write(true);
}

fn handle_info(f: &File) -> io::Result<BY_HANDLE_FILE_INFORMATION> {
    // SAFETY: all-zero is a valid value of this plain C struct.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: a valid handle we own and a pointer to a local struct.
    if unsafe { GetFileInformationByHandle(f.as_raw_handle(), &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(info)
}

pub(crate) fn file_id(f: &File) -> io::Result<FileId> {
    let i = handle_info(f)?;
    Ok((
        u64::from(i.dwVolumeSerialNumber),
        (u64::from(i.nFileIndexHigh) << 32) | u64::from(i.nFileIndexLow),
    ))
}

/// Hard links to the open file `f`.
pub(crate) fn nlink(f: &File, _m: &Metadata) -> io::Result<u64> {
    Ok(u64::from(handle_info(f)?.nNumberOfLinks))
}

/// Permission bits: Windows has none (access comes from the directory's
/// ACLs); read-write for everyone as far as evident is concerned.
pub(crate) fn mode(_m: &Metadata) -> u32 {
    0o666
}

/// No permission bits on Windows: new files inherit the directory's ACLs.
pub(crate) fn create_mode(_o: &mut OpenOptions, _mode: u32) {}

/// The SID of the user the process runs as (its token's user), in a buffer
/// aligned for the `TOKEN_USER` it holds.
struct ProcessUser(Vec<usize>);

impl ProcessUser {
    fn current() -> io::Result<ProcessUser> {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: the pseudo-handle of this process and a pointer to a local.
        if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
            return Err(io::Error::last_os_error());
        }
        let result = (|| {
            let mut len = 0u32;
            // SAFETY: asks for the size only (no buffer); fails with
            // ERROR_INSUFFICIENT_BUFFER and sets `len`.
            unsafe { GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len) };
            if (len as usize) < std::mem::size_of::<TOKEN_USER>() {
                return Err(io::Error::last_os_error());
            }
            let words = (len as usize).div_ceil(std::mem::size_of::<usize>());
            let mut buf: Vec<usize> = Vec::new();
            buf.try_reserve_exact(words)
                .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
            buf.resize(words, 0);
            // SAFETY: a writable buffer of at least `len` bytes, aligned for
            // TOKEN_USER (pointer-sized words).
            let ok = unsafe {
                GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), len, &mut len)
            };
            if ok == 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(ProcessUser(buf))
        })();
        // SAFETY: the token handle opened above, closed once.
        unsafe { CloseHandle(token) };
        result
    }

    /// The user's SID; valid while `self` is.
    fn sid(&self) -> PSID {
        // SAFETY: GetTokenInformation filled the buffer with a TOKEN_USER
        // (the size was checked), whose SID points into the same buffer.
        unsafe { (*self.0.as_ptr().cast::<TOKEN_USER>()).User.Sid }
    }
}

/// A security descriptor whose DACL grants the user running this process
/// full access and nobody else anything, protected (no inheritable entry of
/// a parent directory is added to it).
struct PrivateDescriptor {
    sd: SECURITY_DESCRIPTOR,
    /// The ACL `sd` points to (a heap buffer: it stays put when `self`
    /// moves).
    _acl: Vec<u32>,
}

impl PrivateDescriptor {
    fn new() -> io::Result<PrivateDescriptor> {
        let user = ProcessUser::current()?;
        let sid = user.sid();
        // SAFETY: a valid SID from the token.
        let sid_len = unsafe { GetLengthSid(sid) } as usize;
        // The ACL's header, then one ACCESS_ALLOWED_ACE whose last member
        // (`SidStart`, a u32) is where the SID begins.
        let acl_len = std::mem::size_of::<ACL>() + std::mem::size_of::<ACCESS_ALLOWED_ACE>()
            - std::mem::size_of::<u32>()
            + sid_len;
        let acl_len_u32 = u32::try_from(acl_len).map_err(|_| io::Error::other("SID too long"))?;
        // u32 words: an ACL is DWORD-aligned.
        let mut acl = vec![0u32; acl_len.div_ceil(4)];
        let pacl = acl.as_mut_ptr().cast::<ACL>();
        // SAFETY: `pacl` points to `acl_len` writable, aligned bytes; `sid`
        // is valid (AddAccessAllowedAce copies it).
        let acl_ok = unsafe {
            InitializeAcl(pacl, acl_len_u32, ACL_REVISION) != 0
                && AddAccessAllowedAce(pacl, ACL_REVISION, FILE_ALL_ACCESS, sid) != 0
        };
        if !acl_ok {
            return Err(io::Error::last_os_error());
        }
        let mut d = PrivateDescriptor {
            // SAFETY: all-zero is a valid value of this plain C struct,
            // which InitializeSecurityDescriptor fills.
            sd: unsafe { std::mem::zeroed() },
            _acl: acl,
        };
        let psd = d.as_ptr();
        // SAFETY: `psd` points to the SECURITY_DESCRIPTOR in `d`; the ACL
        // lives (unmoved, on the heap) as long as `d`.
        let sd_ok = unsafe {
            InitializeSecurityDescriptor(psd, SECURITY_DESCRIPTOR_REVISION) != 0
                && SetSecurityDescriptorDacl(psd, 1, pacl, 0) != 0
                && SetSecurityDescriptorControl(psd, SE_DACL_PROTECTED, SE_DACL_PROTECTED) != 0
        };
        if !sd_ok {
            return Err(io::Error::last_os_error());
        }
        Ok(d)
    }

    fn as_ptr(&mut self) -> PSECURITY_DESCRIPTOR {
        std::ptr::addr_of_mut!(self.sd).cast()
    }
}

/// `path` as the NUL-terminated UTF-16 string `CreateFileW` takes. A path
/// too long for the classic limit (260 characters with the NUL) is made
/// absolute and given the `\\?\` prefix (`\\?\UNC\` for a share; a
/// device path `\\.\` is left as it is), as the standard library does
/// for its own opens.
fn wide_path(path: &Path) -> io::Result<Vec<u16>> {
    use std::os::windows::ffi::OsStrExt as _;

    const CLASSIC_MAX: usize = 248; // MAX_PATH less room for an 8.3 name
    let nul = || io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL character");
    let plain: Vec<u16> = path.as_os_str().encode_wide().collect();
    if plain.contains(&0) {
        return Err(nul());
    }
    let verbatim = [
        u16::from(b'\\'),
        u16::from(b'\\'),
        u16::from(b'?'),
        u16::from(b'\\'),
    ];
    let mut wide = if plain.len() < CLASSIC_MAX || plain.starts_with(&verbatim) {
        plain
    } else {
        let abs: Vec<u16> = std::path::absolute(path)?
            .as_os_str()
            .encode_wide()
            .collect();
        let mut v: Vec<u16> = Vec::with_capacity(abs.len() + 8);
        let device = [
            u16::from(b'\\'),
            u16::from(b'\\'),
            u16::from(b'.'),
            u16::from(b'\\'),
        ];
        if abs.starts_with(&verbatim) || abs.starts_with(&device) {
            v.extend_from_slice(&abs);
        } else if let Some(share) = abs.strip_prefix(&[u16::from(b'\\'), u16::from(b'\\')][..]) {
            v.extend(r"\\?\UNC\".encode_utf16());
            v.extend_from_slice(share);
        } else {
            v.extend_from_slice(&verbatim);
            v.extend_from_slice(&abs);
        }
        v
    };
    wide.push(0);
    Ok(wide)
}

/// Creates the new file `path` (never an existing name, never through a
/// symbolic link) that only the user running this process may open: its
/// DACL ([`PrivateDescriptor`]) is set at creation, so there is no moment
/// with the directory's inherited ACL when another user could open the
/// file and keep the handle. Read and write access.
pub(crate) fn create_private(path: &Path) -> io::Result<File> {
    use std::os::windows::io::{FromRawHandle as _, RawHandle};

    let wide = wide_path(path)?;
    let mut sd = PrivateDescriptor::new()?;
    let sa = SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: sd.as_ptr(),
        bInheritHandle: 0,
    };
    // SAFETY: a NUL-terminated path, and security attributes whose
    // descriptor and ACL are alive for the call.
    let h = unsafe {
        CreateFileW(
            wide.as_ptr(),
            GENERIC_READ | GENERIC_WRITE,
            FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            &sa,
            CREATE_NEW,
            FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT,
            std::ptr::null_mut(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a handle CreateFileW just opened, owned by nobody else.
    Ok(unsafe { File::from_raw_handle(h as RawHandle) })
}

/// No permission bits on Windows.
pub(crate) fn set_mode(_f: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Owners are ACLs on Windows: new files inherit the directory's.
pub(crate) fn copy_owner(_f: &File, _like: &Metadata) {}

pub(crate) fn is_root() -> bool {
    false
}

/// Opening a path never blocks on Windows (a named pipe without a free
/// instance fails with ERROR_PIPE_BUSY); nothing to add. Handles are not
/// inherited by children unless asked for.
pub(crate) fn nonblocking_open(_o: &mut OpenOptions) {}

/// Opens a symbolic link itself rather than its target, so that
/// [`check_not_symlink`] can refuse it.
pub(crate) fn nofollow_nonblocking_open(o: &mut OpenOptions) {
    o.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
}

pub(crate) fn nofollow_open(o: &mut OpenOptions) {
    o.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
}

#[derive(Debug)]
struct SymlinkRefused;

impl std::fmt::Display for SymlinkRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("is a symbolic link")
    }
}

impl std::error::Error for SymlinkRefused {}

/// After a no-follow open: fails if what was opened is a symbolic link.
pub(crate) fn check_not_symlink(f: &File) -> io::Result<()> {
    if f.metadata()?.file_type().is_symlink() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, SymlinkRefused));
    }
    Ok(())
}

pub(crate) fn is_symlink_refused(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|x| x.is::<SymlinkRefused>())
}

/// What the path is, when an open failed because it is not a regular file
/// (opening a directory as a file is "access denied" on Windows).
pub(crate) fn open_refused_kind(path: &Path, e: &io::Error) -> Option<&'static str> {
    let denied = e.raw_os_error() == Some(ERROR_ACCESS_DENIED as i32);
    (denied && path.is_dir()).then_some("a directory")
}

/// The OS's own "is a directory" error.
pub(crate) fn is_a_directory() -> io::Error {
    io::Error::from_raw_os_error(ERROR_DIRECTORY_NOT_SUPPORTED as i32)
}

pub(crate) fn set_blocking(_file: &File) -> io::Result<()> {
    Ok(())
}

pub(crate) fn file_kind(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Windows cannot flush a directory handle; NTFS journals its metadata
/// (renames and new entries), so nothing is done here.
pub(crate) fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Whether process `pid` exists: `Some(true)` yes (or it is another
/// user's, access denied), `Some(false)` certainly not, `None` unknown.
pub(crate) fn process_exists(pid: u32) -> Option<bool> {
    if pid == 0 {
        return None;
    }
    // SAFETY: plain call; a null handle is checked below.
    let h = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if h.is_null() {
        let e = io::Error::last_os_error().raw_os_error();
        return if e == Some(ERROR_ACCESS_DENIED as i32) {
            Some(true)
        } else if e == Some(ERROR_INVALID_PARAMETER as i32) {
            Some(false)
        } else {
            None
        };
    }
    let mut code = 0u32;
    // SAFETY: a process handle we own and a pointer to a local.
    let ok = unsafe { GetExitCodeProcess(h, &mut code) } != 0;
    // SAFETY: closing the handle OpenProcess gave us.
    unsafe { CloseHandle(h) };
    // A process that exited with code 259 reads as running; harmless here
    // (the holder text is then shown instead of "shared mode").
    ok.then_some(code == STILL_ACTIVE as u32)
}

/// The writer lock is one byte at this offset: past any record, so the
/// mandatory Windows byte-range lock never blocks a reader.
const LOCK_OFFSET: u64 = i64::MAX as u64 - 1;

fn lock_overlapped() -> OVERLAPPED {
    OVERLAPPED {
        Internal: 0,
        InternalHigh: 0,
        Anonymous: OVERLAPPED_0 {
            Anonymous: OVERLAPPED_0_0 {
                Offset: LOCK_OFFSET as u32,
                OffsetHigh: (LOCK_OFFSET >> 32) as u32,
            },
        },
        hEvent: std::ptr::null_mut(),
    }
}

pub(crate) fn is_contended_os(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(c) if c == ERROR_LOCK_VIOLATION as i32 || c == ERROR_IO_PENDING as i32)
}

fn lock_with(f: &File, flags: u32) -> io::Result<()> {
    let mut ov = lock_overlapped();
    // SAFETY: a valid handle we own, a local OVERLAPPED; the handle is
    // synchronous, so the call completes before it returns.
    if unsafe { LockFileEx(f.as_raw_handle(), flags, 0, 1, 0, &mut ov) } == 0 {
        let e = io::Error::last_os_error();
        if is_contended_os(&e) {
            return Err(io::Error::new(io::ErrorKind::WouldBlock, e));
        }
        return Err(e);
    }
    Ok(())
}

pub(crate) fn try_lock(f: &File) -> io::Result<()> {
    lock_with(f, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY)
}

pub(crate) fn lock(f: &File) -> io::Result<()> {
    lock_with(f, LOCKFILE_EXCLUSIVE_LOCK)
}

pub(crate) fn unlock(f: &File) -> io::Result<()> {
    let mut ov = lock_overlapped();
    // SAFETY: as in lock_with.
    if unsafe { UnlockFileEx(f.as_raw_handle(), 0, 1, 0, &mut ov) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub(crate) fn is_disk_full(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(c) if c == ERROR_DISK_FULL as i32 || c == ERROR_HANDLE_DISK_FULL as i32)
}

// Used by the storage test hooks only.
#[cfg(any(test, feature = "__internal"))]
pub(crate) fn disk_full_error() -> io::Error {
    io::Error::from_raw_os_error(ERROR_DISK_FULL as i32)
}

// Used by the storage test hooks only.
#[cfg(any(test, feature = "__internal"))]
pub(crate) fn io_error() -> io::Error {
    io::Error::from_raw_os_error(windows_sys::Win32::Foundation::ERROR_IO_DEVICE as i32)
}

/// The calling process's id (no `fork` on Windows: a plain call).
pub(crate) fn process_id() -> u32 {
    std::process::id()
}

/// This machine's host name (its DNS host name).
pub(crate) fn hostname() -> io::Result<String> {
    whoami::fallible::hostname()
}

/// The login name of the user running this process.
pub(crate) fn username() -> io::Result<String> {
    whoami::fallible::username()
}

/// `t` in the local time zone (Windows' time zone settings).
#[cfg(feature = "session")]
pub(crate) fn local_time(
    t: &chrono::DateTime<chrono::Utc>,
) -> chrono::DateTime<chrono::FixedOffset> {
    t.with_timezone(&chrono::Local).fixed_offset()
}

/// The C runtime's `errno` for the Win32 error `code`, as the CRT's own
/// translation (`_dosmaperr`) gives it: `ERROR_FILE_NOT_FOUND` and
/// `ERROR_PATH_NOT_FOUND` are `ENOENT`, `ERROR_FILE_EXISTS` is `EEXIST`,
/// sharing and lock violations are `EACCES`, and so on. `None` for a code
/// the CRT has no value for (the caller then uses the error's kind).
pub(crate) fn errno_of_os(code: i32) -> Option<i32> {
    Some(match code {
        1 | 12 | 13 | 87 | 131 => libc::EINVAL,
        2 | 3 | 15 | 18 | 53 | 67 | 161 | 206 => libc::ENOENT,
        4 => libc::EMFILE,
        5 | 16 | 19..=36 | 65 | 82 | 83 | 108 | 132 | 158 | 167 => libc::EACCES,
        6 | 114 | 130 => libc::EBADF,
        7..=9 | 1816 => libc::ENOMEM,
        10 => libc::E2BIG,
        11 | 188..=202 => libc::ENOEXEC,
        17 => libc::EXDEV,
        80 | 183 => libc::EEXIST,
        89 | 164 | 215 => libc::EAGAIN,
        109 => libc::EPIPE,
        // ERROR_HANDLE_DISK_FULL too: evident reports both as disk full.
        39 | 112 => libc::ENOSPC,
        128 | 129 => libc::ECHILD,
        145 => libc::ENOTEMPTY,
        // ERROR_IO_DEVICE (the CRT has none): what EIO is on Unix.
        1117 => libc::EIO,
        _ => return None,
    })
}

/// Windows has no unnamed files: always `Ok(false)` (the caller uses a
/// named temporary file; see the Unix version).
pub(crate) fn create_unnamed_then_link(
    _dir: &Path,
    _path: &Path,
    _bytes: &[u8],
) -> io::Result<bool> {
    Ok(false)
}

/// Renames `from` to `to` atomically, failing with `AlreadyExists` when
/// `to` exists (`MoveFileExW` without `MOVEFILE_REPLACE_EXISTING`).
pub(crate) fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use std::os::windows::ffi::OsStrExt;
    let wide = |p: &Path| -> Vec<u16> { p.as_os_str().encode_wide().chain([0]).collect() };
    let (from, to) = (wide(from), wide(to));
    // SAFETY: two valid NUL-terminated UTF-16 strings.
    if unsafe { MoveFileExW(from.as_ptr(), to.as_ptr(), 0) } != 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::{Read as _, Seek as _, Write as _};
    use windows_sys::Win32::Security::{
        EqualSid, GetAce, GetSecurityDescriptorControl, GetSecurityDescriptorDacl, ACE_HEADER,
    };
    use windows_sys::Win32::System::SystemServices::ACCESS_ALLOWED_ACE_TYPE;

    /// The descriptor a private file is created with, read back through
    /// the security calls: protected, and one entry, this user, full
    /// access. (Wine keeps no DACL on files: it maps one to Unix permission
    /// bits and back, so a file's own DACL cannot be checked there.)
    #[test]
    fn the_private_descriptor_grants_this_user_alone() {
        let mut d = PrivateDescriptor::new().unwrap();
        let psd = d.as_ptr();
        let user = ProcessUser::current().unwrap();
        // SAFETY: a valid descriptor and pointers to locals.
        unsafe {
            let (mut control, mut rev) = (0u16, 0u32);
            assert_ne!(GetSecurityDescriptorControl(psd, &mut control, &mut rev), 0);
            assert_ne!(control & SE_DACL_PROTECTED, 0, "{control:#x}");
            let (mut present, mut defaulted) = (0, 0);
            let mut acl: *mut ACL = std::ptr::null_mut();
            assert_ne!(
                GetSecurityDescriptorDacl(psd, &mut present, &mut acl, &mut defaulted),
                0
            );
            assert!(present != 0 && !acl.is_null() && defaulted == 0);
            assert_eq!((*acl).AceCount, 1);
            let mut ace: *mut core::ffi::c_void = std::ptr::null_mut();
            assert_ne!(GetAce(acl, 0, &mut ace), 0);
            let header = *ace.cast::<ACE_HEADER>();
            assert_eq!(u32::from(header.AceType), ACCESS_ALLOWED_ACE_TYPE);
            assert_eq!(header.AceFlags, 0, "not inheritable, not inherited");
            let a = ace.cast::<ACCESS_ALLOWED_ACE>();
            assert_eq!((*a).Mask, FILE_ALL_ACCESS);
            let sid = std::ptr::addr_of_mut!((*a).SidStart).cast();
            assert_ne!(EqualSid(sid, user.sid()), 0);
        }
    }

    #[test]
    fn a_private_file_is_new_and_readable_by_its_creator() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key");
        let mut f = create_private(&p).unwrap();
        f.write_all(b"secret").unwrap();
        f.rewind().unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "secret");
        drop(f);
        assert_eq!(std::fs::read(&p).unwrap(), b"secret");
        let e = create_private(&p).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), b"secret", "left alone");
        // A path longer than the classic 260-character limit.
        let mut long = dir.path().to_path_buf();
        for i in 0..6 {
            long.push(format!("{i}{}", "d".repeat(60)));
        }
        std::fs::create_dir_all(&long).unwrap();
        let long = long.join("key");
        assert!(long.as_os_str().len() > 300);
        create_private(&long).unwrap().write_all(b"long").unwrap();
        assert_eq!(std::fs::read(&long).unwrap(), b"long");
        let e = create_private(Path::new("a\0b")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
    }
}
