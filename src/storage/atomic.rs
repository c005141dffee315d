//! Writing a new file whole under a temporary name, then giving it its
//! final name in one step, so that the final name never denotes a partial
//! file: new logs and session files, files adopted in place of an empty
//! file, converted logs, the stored Merkle tree, witness state, report
//! files.
//!
//! The sequence:
//!
//! 1. **Create** a fresh temporary sibling `.NAME.WHAT-PID-HEX` of the
//!    final name ([`temp_sibling`](super::temp_sibling), which also removes
//!    such files left by processes that no longer run). It is created new
//!    (`O_CREAT|O_EXCL`, plus `O_NOFOLLOW`): a file or symbolic link
//!    planted at that name is never opened or followed, the creation fails.
//! 2. **Write** it (the caller, through [`TempFile::file`], or
//!    [`TempFile::write_all`]).
//! 3. **Seal** it ([`TempFile::seal`]): its final permission bits
//!    ([`Perm`]), then fsync (unless [`Durable::No`]).
//! 4. **Place** it ([`TempFile::place`]): rename over the final name, or
//!    link it there never replacing a file ([`Place`]); then fsync the
//!    directory ([`Durable::FileAndDir`]).
//!
//! A [`TempFile`] dropped before it was placed removes its temporary name
//! (an error at any step, or a caller that decides not to place it). A
//! name it failed to create is never removed: it is not this process's.
//! A process killed before the place step leaves only the temporary name,
//! which the next [`temp_sibling`](super::temp_sibling) of the same final
//! name and tag removes once that process is gone.
//!
//! [`NewFile::write`] runs the four steps for bytes in memory. Callers
//! that stream the content, check something between sealing and placing,
//! or keep the file open afterwards drive a [`TempFile`] themselves.
//!
//! Platforms: permission bits and owners exist on Unix only (`sys`
//! functions are no-ops on Windows, where a new file inherits the
//! directory's ACLs); directory fsync is a no-op on Windows. The file's
//! handle is closed before the place step unless the caller keeps it
//! ([`TempFile::place_open`]).

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::sys;

/// The permission bits (and owner) the new file gets.
#[derive(Debug, Clone)]
pub(crate) enum Perm {
    /// What `open(2)` gives a new file: 0o666 less the umask.
    Default,
    /// 0o600 (less the umask) from creation on: a file whose caller gives
    /// it other permissions later (a compaction's copy of a session file).
    #[cfg_attr(not(feature = "session"), allow(dead_code))]
    Private,
    /// Exactly these bits whatever the umask, set when sealed (a
    /// reproduction script, 0o755). Best effort, a refusal is ignored: the
    /// file is meant to be wider than the default, never narrower, and a
    /// file system without Unix permissions cannot have them.
    Exact(u32),
    /// Those of the file `like` replaces: its mode (with set-id bits), and
    /// its owner and group where the process may ([`copy_access`]), set
    /// when sealed, after the writes (which would clear set-id bits).
    /// Created 0o600 so that no other user can open the file while it is
    /// written (a descriptor opened then would read everything later
    /// written to the file). A failure fails the seal: the file must not
    /// end up readable by more users than `like` was.
    ///
    /// [`copy_access`]: super::copy_access
    Like(Metadata),
}

/// What is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durable {
    /// Nothing: derived data that is checked whenever it is read and
    /// rebuilt when it does not match (the stored Merkle tree).
    No,
    /// The file's content before it gets its name; the caller fsyncs the
    /// directory (as it also does for other ways of creating the file), or
    /// the name may be lost in a power cut (report files).
    File,
    /// The content, then the directory entry after the place step.
    FileAndDir,
}

/// How the temporary file gets its final name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// `rename(2)` over the final name: a file there is replaced in one
    /// step (a symbolic link there is replaced itself, its target is left
    /// alone).
    RenameOver,
    /// Never replaces a file there: fails with `AlreadyExists`
    /// ([`link_into_place`](super::link_into_place): a hard link, or where
    /// there are none an atomic rename that does not replace).
    NoReplace,
}

/// The step that failed (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Create,
    Write,
    SetPermissions,
    Fsync,
    Rename,
    Link,
    SyncDir,
}

impl Step {
    /// The operation an error of this step names, unless the caller names
    /// it otherwise.
    pub(crate) fn op(self) -> &'static str {
        match self {
            Step::Create => "create",
            Step::Write => "write",
            Step::SetPermissions => "set permissions",
            Step::Fsync => "fsync",
            Step::Rename => "rename into place",
            Step::Link => "link into place",
            Step::SyncDir => "fsync directory",
        }
    }
}

/// A failed step: which, the OS error, and the path it acted on (the
/// temporary file for create, write, set permissions and fsync; the final
/// name for rename and link; the directory for its fsync). Callers with
/// their own wording map it; `?` gives `Error::Io` with [`Step::op`].
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) step: Step,
    pub(crate) path: PathBuf,
    pub(crate) error: io::Error,
}

impl From<Failed> for crate::Error {
    fn from(f: Failed) -> crate::Error {
        crate::Error::io(&f.path, f.step.op(), f.error)
    }
}

fn failed(step: Step, path: &Path, error: io::Error) -> Failed {
    Failed {
        step,
        path: path.to_path_buf(),
        error,
    }
}

/// How a new file is written and named: the options of [`TempFile`].
#[derive(Debug, Clone)]
pub(crate) struct NewFile {
    /// The tag of the temporary name `.NAME.<what>-PID-HEX`; leftovers of
    /// killed processes are recognised by it.
    pub(crate) what: &'static str,
    pub(crate) perm: Perm,
    pub(crate) durable: Durable,
    pub(crate) place: Place,
}

impl NewFile {
    /// Creates the temporary file for the final name `path`.
    pub(crate) fn create(&self, path: &Path) -> Result<TempFile, Failed> {
        let (dir, tmp) = super::temp_sibling(path, self.what);
        TempFile::create_at(self.clone(), path, dir, tmp)
    }

    /// The whole sequence for `bytes`: `path` holds them, or (on error) is
    /// as it was.
    pub(crate) fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), Failed> {
        let mut t = self.create(path)?;
        t.write_all(bytes)?;
        t.place()
    }
}

/// A new file being written under a temporary name next to its final one
/// (see the module documentation). Removed when dropped unless placed.
#[derive(Debug)]
pub(crate) struct TempFile {
    opts: NewFile,
    file: Option<File>,
    tmp: PathBuf,
    dir: PathBuf,
    path: PathBuf,
    sealed: bool,
    placed: bool,
}

impl TempFile {
    /// Creates `tmp` (in `dir`) for the final name `path`.
    fn create_at(
        opts: NewFile,
        path: &Path,
        dir: PathBuf,
        tmp: PathBuf,
    ) -> Result<TempFile, Failed> {
        let mut o = OpenOptions::new();
        o.read(true).write(true).create_new(true);
        sys::nofollow_open(&mut o);
        if matches!(opts.perm, Perm::Private | Perm::Like(_)) {
            sys::create_mode(&mut o, 0o600);
        }
        let file = o.open(&tmp).map_err(|e| failed(Step::Create, &tmp, e))?;
        Ok(TempFile {
            opts,
            file: Some(file),
            tmp,
            dir,
            path: path.to_path_buf(),
            sealed: false,
            placed: false,
        })
    }

    /// The open file (read and write access).
    pub(crate) fn file(&self) -> &File {
        // Only `place` and `place_open` take it, and they consume `self`.
        self.file.as_ref().unwrap_or_else(|| unreachable!())
    }

    /// The temporary name.
    pub(crate) fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// Writes `bytes` at the file's current position.
    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), Failed> {
        self.file()
            .write_all(bytes)
            .map_err(|e| failed(Step::Write, &self.tmp, e))
    }

    /// Gives the written file its final permissions ([`Perm`]) and makes
    /// it durable ([`Durable`]). Once only; [`TempFile::place`] seals a
    /// file not sealed yet.
    pub(crate) fn seal(&mut self) -> Result<(), Failed> {
        if self.sealed {
            return Ok(());
        }
        let f = self.file();
        match &self.opts.perm {
            Perm::Default | Perm::Private => {}
            Perm::Exact(mode) => {
                let _ = sys::set_mode(f, *mode);
            }
            Perm::Like(like) => super::give_access(f, like)
                .map_err(|e| failed(Step::SetPermissions, &self.tmp, e))?,
        }
        if self.opts.durable != Durable::No {
            f.sync_all()
                .map_err(|e| failed(Step::Fsync, &self.tmp, e))?;
        }
        self.sealed = true;
        Ok(())
    }

    /// Seals the file if not done yet, closes it and gives it its final
    /// name ([`Place`]), then fsyncs the directory if asked.
    pub(crate) fn place(mut self) -> Result<(), Failed> {
        self.seal()?;
        drop(self.file.take());
        self.put()
    }

    /// As [`TempFile::place`], keeping the file open: returns it.
    pub(crate) fn place_open(mut self) -> Result<File, Failed> {
        self.seal()?;
        self.put()?;
        Ok(self.file.take().unwrap_or_else(|| unreachable!()))
    }

    fn put(&mut self) -> Result<(), Failed> {
        match self.opts.place {
            Place::RenameOver => std::fs::rename(&self.tmp, &self.path)
                .map_err(|e| failed(Step::Rename, &self.path, e))?,
            Place::NoReplace => {
                super::link_into_place(&self.tmp, &self.path)
                    .map_err(|e| failed(Step::Link, &self.path, e))?;
                // link_into_place removed the temporary name once; a
                // second name of the new file must not stay behind.
                let _ = std::fs::remove_file(&self.tmp);
            }
        }
        self.placed = true;
        if self.opts.durable == Durable::FileAndDir {
            super::sync_dir(&self.dir).map_err(|e| failed(Step::SyncDir, &self.dir, e))?;
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.placed {
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn opts(perm: Perm, place: Place) -> NewFile {
        NewFile {
            what: "tmp",
            perm,
            durable: Durable::FileAndDir,
            place,
        }
    }

    /// The names in `dir`, sorted.
    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn rename_over_replaces_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"old").unwrap();
        opts(Perm::Default, Place::RenameOver)
            .write(&p, b"new")
            .unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(names(d.path()), ["f"]);
    }

    #[test]
    fn no_replace_refuses_an_existing_target() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        opts(Perm::Default, Place::NoReplace)
            .write(&p, b"first")
            .unwrap();
        let e = opts(Perm::Default, Place::NoReplace)
            .write(&p, b"second")
            .unwrap_err();
        assert_eq!(
            (e.step, e.error.kind()),
            (Step::Link, io::ErrorKind::AlreadyExists)
        );
        assert_eq!(e.path, p);
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        assert_eq!(names(d.path()), ["f"], "the temporary is removed");
    }

    #[test]
    fn the_temporary_is_removed_on_failure_and_when_not_placed() {
        let d = tempfile::tempdir().unwrap();
        // The rename fails: the final name is a non-empty directory.
        let p = d.path().join("sub");
        std::fs::create_dir(&p).unwrap();
        std::fs::write(p.join("x"), b"x").unwrap();
        let e = opts(Perm::Default, Place::RenameOver)
            .write(&p, b"new")
            .unwrap_err();
        assert_eq!(e.step, Step::Rename);
        assert_eq!(names(d.path()), ["sub"]);
        // A caller that drops the file instead of placing it.
        let q = d.path().join("q");
        let mut t = opts(Perm::Default, Place::RenameOver).create(&q).unwrap();
        t.write_all(b"partial").unwrap();
        let tmp = t.tmp().to_path_buf();
        assert!(tmp.exists());
        assert!(tmp
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".q.tmp-"));
        drop(t);
        assert!(!tmp.exists());
        assert_eq!(names(d.path()), ["sub"]);
    }

    #[test]
    fn a_planted_symlink_at_the_temporary_name_is_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let p = d.path().join("f");
        let tmp = d.path().join(".f.tmp-1-00");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        #[cfg(not(unix))]
        std::fs::write(&tmp, b"planted").unwrap();
        let e = TempFile::create_at(
            opts(Perm::Default, Place::RenameOver),
            &p,
            d.path().to_path_buf(),
            tmp.clone(),
        )
        .unwrap_err();
        assert_eq!(
            (e.step, e.error.kind()),
            (Step::Create, io::ErrorKind::AlreadyExists)
        );
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        // The name it could not create is not its own: left alone.
        assert!(std::fs::symlink_metadata(&tmp).is_ok());
        assert!(!p.exists());
    }

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[cfg(unix)]
    #[test]
    fn permission_bits() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let set = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        // Exact: set whatever the umask (0o755 is wider than most defaults).
        let script = d.path().join("s");
        opts(Perm::Exact(0o755), Place::RenameOver)
            .write(&script, b"#!/bin/sh\n")
            .unwrap();
        assert_eq!(mode(&script), 0o755);
        // Private: 0o600 and stays so.
        let private = d.path().join("p");
        opts(Perm::Private, Place::NoReplace)
            .write(&private, b"x")
            .unwrap();
        assert_eq!(mode(&private), 0o600);
        // Like: private while written, the original's bits once sealed.
        let orig = d.path().join("o");
        std::fs::write(&orig, b"").unwrap();
        set(&orig, 0o640);
        let like = std::fs::metadata(&orig).unwrap();
        let mut t = opts(Perm::Like(like), Place::RenameOver)
            .create(&orig)
            .unwrap();
        assert_eq!(
            mode(t.tmp()),
            0o600,
            "no other user can open it while written"
        );
        t.write_all(b"content").unwrap();
        t.seal().unwrap();
        assert_eq!(mode(t.tmp()), 0o640);
        t.place().unwrap();
        assert_eq!(mode(&orig), 0o640);
        assert_eq!(std::fs::read(&orig).unwrap(), b"content");
        // Default: what open(2) gives (0o666 less the umask), never more.
        let plain = d.path().join("d");
        opts(Perm::Default, Place::RenameOver)
            .write(&plain, b"x")
            .unwrap();
        let reference = d.path().join("r");
        std::fs::write(&reference, b"").unwrap();
        assert_eq!(mode(&plain), mode(&reference));
    }

    #[test]
    fn place_open_keeps_the_file_open_and_durable_no_skips_nothing_else() {
        use crate::sys::FileExt as _;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t");
        let o = NewFile {
            what: "tree",
            perm: Perm::Default,
            durable: Durable::No,
            place: Place::RenameOver,
        };
        let mut t = o.create(&p).unwrap();
        t.write_all(b"0123456789").unwrap();
        t.file().write_all_at(b"AB", 0).unwrap();
        let f = t.place_open().unwrap();
        let mut buf = [0u8; 4];
        f.read_exact_at(&mut buf, 0).unwrap();
        assert_eq!(&buf, b"AB23");
        assert_eq!(std::fs::read(&p).unwrap(), b"AB23456789");
        assert_eq!(names(d.path()), ["t"]);
    }
}
