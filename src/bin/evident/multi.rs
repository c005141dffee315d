//! Several logs, and `-` for standard input, for cat, tail (without `-f`),
//! verify, stats and export; several log files for `tail -f` / `follow`
//! (see `follow.rs`).
//!
//! Each log is handled in turn exactly as if it were the only one (its
//! output, its errors); the exit status is the worst of them (2 over 1
//! over 0), and an error with one log does not stop the others. Standard
//! input is copied into a private temporary file first (the library reads
//! files; a log is never read from a pipe twice), and is called `<stdin>`
//! in the output and in messages. With `--json`, verify and stats of
//! several logs print one JSON array holding each log's document (a log
//! that fails with an error has none; its error is on stderr); one log
//! prints its document alone, as before (a document that names no `path`,
//! as stats', gets the log's in the array).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::util::{io_err, Failure};
use crate::Cmd;

/// The name standard input goes by.
pub const STDIN_NAME: &str = "<stdin>";

fn with_log(cmd: &Cmd, log: PathBuf) -> Cmd {
    match cmd {
        Cmd::Cat(a) => Cmd::Cat(crate::CatArgs {
            log,
            more: Vec::new(),
            ..a.clone()
        }),
        Cmd::Verify(a) => Cmd::Verify(crate::VerifyArgs {
            log,
            more: Vec::new(),
            ..a.clone()
        }),
        Cmd::Stats(a) => Cmd::Stats(crate::StatsArgs {
            log,
            more: Vec::new(),
            ..a.clone()
        }),
        Cmd::Tail(a) => Cmd::Tail(crate::TailArgs {
            log,
            more: Vec::new(),
            filters: a.filters.clone(),
            n: a.n,
            json: a.json,
            follow: a.follow.clone(),
        }),
        Cmd::Export(a) => Cmd::Export(crate::ExportArgs {
            log,
            more: Vec::new(),
            format: a.format,
            output: a.output.clone(),
            filters: a.filters.clone(),
            tracekit_key: a.tracekit_key.clone(),
            tracekit_alg: a.tracekit_alg.clone(),
        }),
        _ => unreachable!("only cat, tail, export, verify and stats take `-` or several logs"),
    }
}

/// `tail -f` / `follow`: one or several log files (standard input cannot
/// be followed).
pub fn follow_one(a: crate::TailArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let logs: Vec<&PathBuf> = std::iter::once(&a.log).chain(&a.more).collect();
    if logs.iter().any(|p| p.as_os_str() == "-") {
        return Err(Failure::usage(
            "cannot follow standard input: name the log file",
        ));
    }
    crate::output::set_paths(logs.iter().map(|p| p.display().to_string()).collect());
    for p in &logs[1..] {
        crate::session::refuse_session_file(p, "follow")?;
        crate::util::refuse_non_log(p)?;
    }
    crate::follow::follow(a, out)
}

/// `export` of several logs (files and at most one `-`): one output.
fn export_many(a: crate::ExportArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let paths: Vec<PathBuf> = std::iter::once(&a.log).chain(&a.more).cloned().collect();
    if paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(Failure::usage("standard input (`-`) can be named once"));
    }
    crate::output::set_paths(paths.iter().map(|p| p.display().to_string()).collect());
    let mut _stdin = None;
    let mut logs = Vec::with_capacity(paths.len());
    for p in paths {
        if p.as_os_str() == "-" {
            let t = stdin_copy()?;
            let tmp = t.path().display().to_string();
            crate::output::set_rename(Some((tmp, STDIN_NAME.to_string())));
            logs.push((t.path().to_path_buf(), STDIN_NAME.to_string()));
            _stdin = Some(t);
        } else {
            let name = p.display().to_string();
            logs.push((p, name));
        }
    }
    for (p, _) in &logs {
        crate::session::refuse_session_file(p, "export")?;
        crate::util::refuse_non_log(p)?;
    }
    crate::read::export_logs(a, &logs, out)
}

/// Standard input copied into a temporary file, read by the commands
/// through [`StdinCopy::path`].
pub struct StdinCopy {
    /// Keeps the file (and, with a name, removes it when dropped).
    _file: StdinFile,
    path: PathBuf,
}

enum StdinFile {
    /// Linux: a file without a name, read through a symbolic link of a
    /// random name to `/proc/self/fd/N` (the name the commands show as
    /// `<stdin>`, unlikely to occur in an entry's text). A process killed
    /// while copying (Ctrl-C, say) leaves at most that dangling link, never
    /// a copy of the input.
    #[cfg(target_os = "linux")]
    Unnamed {
        file: std::fs::File,
        _link: tempfile::NamedTempFile<()>,
    },
    /// Elsewhere (and without `/proc`): a named file, removed when the
    /// command ends normally.
    Named(tempfile::NamedTempFile),
}

impl StdinCopy {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Copies standard input into a temporary file. Input whose first bytes
/// cannot start a log (neither `{` nor the binary magic: `/dev/zero`, say)
/// is not copied beyond them: the command then reads those bytes and says
/// what they are, instead of filling the disk with the rest.
fn stdin_copy() -> Result<StdinCopy, Failure> {
    let stdin = Path::new(STDIN_NAME);
    let create = |e| Failure::lib(stdin, io_err(stdin, "create temporary file", e));
    let named = || -> Result<(StdinFile, PathBuf), Failure> {
        let t = tempfile::Builder::new()
            .prefix("evident-stdin-")
            .tempfile()
            .map_err(create)?;
        let path = t.path().to_path_buf();
        Ok((StdinFile::Named(t), path))
    };
    #[cfg(target_os = "linux")]
    let (mut file, path) = {
        use std::os::fd::AsRawFd;
        let f = tempfile::tempfile().map_err(create)?;
        let target = PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()));
        let link = if std::fs::metadata(&target).is_ok_and(|m| m.is_file()) {
            tempfile::Builder::new()
                .prefix("evident-stdin-")
                .make(|p| std::os::unix::fs::symlink(&target, p))
                .ok()
        } else {
            None // no /proc: a named copy
        };
        match link {
            Some(link) => {
                let path = link.path().to_path_buf();
                (
                    StdinFile::Unnamed {
                        file: f,
                        _link: link,
                    },
                    path,
                )
            }
            None => named()?,
        }
    };
    #[cfg(not(target_os = "linux"))]
    let (mut file, path) = named()?;
    let out: &mut std::fs::File = match &mut file {
        #[cfg(target_os = "linux")]
        StdinFile::Unnamed { file, .. } => file,
        StdinFile::Named(t) => t.as_file_mut(),
    };
    let read_err = |e| Failure::lib(stdin, io_err(stdin, "read", e));
    let mut input = io::stdin().lock();
    let mut head = [0u8; 8];
    let mut n = 0;
    while n < head.len() {
        match io::Read::read(&mut input, &mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_err(e)),
        }
    }
    let head = &head[..n];
    let write_err = |e| Failure::lib(stdin, io_err(stdin, "write temporary file", e));
    out.write_all(head).map_err(write_err)?;
    let magic = &evident::format::BINARY_MAGIC;
    let may_be_log = head.first() == Some(&b'{') || (!head.is_empty() && magic.starts_with(head));
    if may_be_log {
        io::copy(&mut input, out).map_err(read_err)?;
    }
    Ok(StdinCopy { _file: file, path })
}

/// Runs `cmd` once per log when it names several logs or `-`; else as is.
pub fn run(cmd: Cmd, out: &mut dyn Write) -> Result<u8, Failure> {
    if let Cmd::Export(a) = cmd {
        if a.more.is_empty() {
            return run_each(Cmd::Export(a), out);
        }
        return export_many(a, out);
    }
    run_each(cmd, out)
}

fn run_each(cmd: Cmd, out: &mut dyn Write) -> Result<u8, Failure> {
    let logs: Vec<PathBuf> = match &cmd {
        Cmd::Cat(a) => std::iter::once(&a.log).chain(&a.more).cloned().collect(),
        Cmd::Verify(a) => std::iter::once(&a.log).chain(&a.more).cloned().collect(),
        Cmd::Stats(a) => std::iter::once(&a.log).chain(&a.more).cloned().collect(),
        Cmd::Export(a) => vec![a.log.clone()],
        Cmd::Tail(a) if !a.follow.follow => {
            std::iter::once(&a.log).chain(&a.more).cloned().collect()
        }
        _ => Vec::new(),
    };
    if logs.len() < 2 && !logs.iter().any(|p| p.as_os_str() == "-") {
        return crate::run_cmd(cmd, out);
    }
    // verify/stats --json of several logs: one array of the documents.
    let array = logs.len() > 1
        && match &cmd {
            Cmd::Verify(a) => a.json,
            Cmd::Stats(a) => a.json,
            _ => false,
        };
    let mut docs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut worst = 0u8;
    for log in logs {
        let mut buf = Vec::new();
        let target: &mut dyn Write = if array { &mut buf } else { &mut *out };
        let (code, _tmp, name) = if log.as_os_str() == "-" {
            match stdin_copy() {
                Ok(t) => {
                    let tmp = t.path().display().to_string();
                    crate::output::set_rename(Some((tmp.clone(), STDIN_NAME.to_string())));
                    let mut w = Renaming::new(target, &tmp);
                    let r = crate::run_cmd(with_log(&cmd, t.path().to_path_buf()), &mut w);
                    let r = match w.finish() {
                        Err(e) if r.is_ok() => Err(crate::util::stdout_err(e)),
                        _ => r,
                    };
                    let code = report(r);
                    crate::output::set_rename(None);
                    (code, Some(t), STDIN_NAME.to_string())
                }
                Err(f) => (report(Err(f)), None, STDIN_NAME.to_string()),
            }
        } else {
            let name = log.display().to_string();
            (
                report(crate::run_cmd(with_log(&cmd, log), target)),
                None,
                name,
            )
        };
        if array {
            docs.push((name, buf));
        }
        worst = worst.max(code);
    }
    if array {
        write_array(&docs, out)?;
    }
    if worst == 0 {
        Ok(0)
    } else {
        Err(Failure::quiet(worst))
    }
}

/// Prints the JSON documents each log printed as one pretty-printed array,
/// in the order of the logs; a document without a `path` gets the log's.
fn write_array(docs: &[(String, Vec<u8>)], out: &mut dyn Write) -> Result<(), Failure> {
    let mut all = Vec::new();
    for (name, bytes) in docs {
        for v in serde_json::Deserializer::from_slice(bytes).into_iter::<serde_json::Value>() {
            let mut v = v.map_err(|e| Failure::usage(format!("{name}: JSON output: {e}")))?;
            if let Some(m) = v.as_object_mut() {
                if !m.contains_key("path") {
                    m.insert("path".into(), serde_json::Value::String(name.clone()));
                }
            }
            all.push(v);
        }
    }
    let text = serde_json::to_string_pretty(&all).map_err(|e| Failure::usage(e.to_string()))?;
    writeln!(out, "{text}").map_err(crate::util::stdout_err)
}

/// Prints a failure of one log; returns its exit code.
fn report(r: Result<u8, Failure>) -> u8 {
    match r {
        Ok(c) => c,
        Err(f) => {
            if !f.msg.is_empty() {
                stderr_line!("{}", crate::output::failure_line(&f));
            }
            f.code
        }
    }
}

/// Writes lines through, with the temporary file's name replaced by
/// `<stdin>`: as text and as in a JSON string, where it differs (the
/// backslashes of a Windows path are escaped there).
struct Renaming<'a> {
    inner: &'a mut dyn Write,
    from: Vec<Vec<u8>>,
    line: Vec<u8>,
}

impl<'a> Renaming<'a> {
    fn new(inner: &'a mut dyn Write, from: &str) -> Self {
        let mut names = vec![from.as_bytes().to_vec()];
        let json = serde_json::to_string(from).unwrap_or_default();
        let json = json
            .get(1..json.len().saturating_sub(1))
            .unwrap_or_default();
        if !json.is_empty() && json != from {
            names.push(json.as_bytes().to_vec());
        }
        Renaming {
            inner,
            from: names,
            line: Vec::new(),
        }
    }

    fn emit(&mut self) -> io::Result<()> {
        let mut rest = &self.line[..];
        loop {
            // The earliest occurrence of either form (the longer at a tie).
            let hit = self
                .from
                .iter()
                .filter_map(|f| memchr::memmem::find(rest, f).map(|i| (i, f.len())))
                .min_by_key(|&(i, n)| (i, std::cmp::Reverse(n)));
            let Some((i, n)) = hit else { break };
            self.inner.write_all(&rest[..i])?;
            self.inner.write_all(STDIN_NAME.as_bytes())?;
            rest = &rest[i + n..];
        }
        self.inner.write_all(rest)?;
        self.line.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.emit()?;
        self.inner.flush()
    }
}

impl Write for Renaming<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for part in buf.split_inclusive(|b| *b == b'\n') {
            self.line.extend_from_slice(part);
            if part.ends_with(b"\n") {
                self.emit()?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
