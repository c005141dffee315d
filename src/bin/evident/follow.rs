//! `evident tail -f` and `evident follow`: print the last entries, then
//! keep printing new ones as the log grows.
//!
//! The file is polled (every `--interval` seconds): when its size or
//! identity changes, the entries after the last seq seen are read backward
//! from the end (cost: the new records, not the file). It survives
//!
//! - rotation and the writer's reopen: when another file takes the name (a
//!   new device/inode, or a new log id), the new log is followed from its
//!   first entry, with a note on stderr; while the name is missing, it waits;
//! - truncation with move-aside (`evident repair` moving a torn or damaged
//!   tail into a sidecar): entries already printed are not printed again;
//!   when printed entries were moved aside, a note names them and the
//!   entries that later take their seqs are printed. A change is seen by
//!   size, modification time or identity; each read also re-reads the last
//!   entry printed and compares its hash, so a file cut back and written
//!   again to the same size between two checks is noticed too;
//! - a file that stops being a readable log (cut to zero bytes, overwritten
//!   with something else): a note says so, once, and it waits.
//!
//! Resuming: `--from-seq N` starts at seq N; `--position-file FILE` keeps
//! the log id and the last seq seen (written atomically after each batch)
//! and a restart continues after it, so nothing is printed twice or lost
//! while nobody follows (unless the log was rotated meanwhile: the entries
//! appended to the old file after the stop are in the old file).
//!
//! Several logs (`evident follow a.jsonl b.jsonl`): each is followed as
//! above, and new entries are printed as they are seen (each check reads
//! the files in turn), every line labelled with its file (`FILE: entry`,
//! or a `file` member first in each JSON object). The position file then
//! holds a JSON array with one position per log; `--from-seq` takes one
//! log.

use std::collections::{HashSet, VecDeque};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use evident::{Entry, Error, Order, Query};
use serde::{Deserialize, Serialize};

use crate::read::to_query;
use crate::util::note;
use crate::util::{io_err, stdout_err, Failure};
use crate::TailArgs;

/// Entries remembered to find, after the file was cut back, the last one
/// still in place.
const RECENT: usize = 256;

#[derive(Args, Debug, Clone, Default)]
pub struct FollowOpts {
    /// Keep printing new entries as the log grows (survives rotation and
    /// a repair's move-aside; stop with Ctrl-C).
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// With -f: start at this seq (print it and every later entry) instead
    /// of the last N entries.
    #[arg(long, value_name = "SEQ", conflicts_with = "position_file")]
    pub from_seq: Option<u64>,
    /// With -f: keep the position (log id and last seq seen) in FILE, and
    /// continue after it when FILE exists (a restart prints nothing twice
    /// and misses nothing).
    #[arg(long, value_name = "FILE")]
    pub position_file: Option<PathBuf>,
    /// With -f: seconds between checks of the file.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5)]
    pub interval: f64,
}

/// Refuses the follow options without `-f`.
pub fn check_plain(o: &FollowOpts) -> Result<(), Failure> {
    if o.from_seq.is_some() || o.position_file.is_some() {
        return Err(Failure::usage(
            "--from-seq and --position-file need -f (or `evident follow`)",
        ));
    }
    Ok(())
}

#[derive(Serialize, Deserialize, Clone)]
struct Position {
    log: String,
    log_id: String,
    seq: u64,
}

/// The positions a position file holds: one object (one log followed) or
/// an array of them (several).
#[derive(Deserialize)]
#[serde(untagged)]
enum Positions {
    One(Position),
    Several(Vec<Position>),
}

fn read_position(file: &Path) -> Result<Vec<Position>, Failure> {
    match fs::read(file) {
        Ok(b) => match serde_json::from_slice(&b) {
            Ok(Positions::One(p)) => Ok(vec![p]),
            Ok(Positions::Several(v)) => Ok(v),
            Err(e) => Err(Failure::at(
                file,
                format!("not a position file written by `evident follow`: {e}"),
            )),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Failure::lib(file, io_err(file, "read", e))),
    }
}

/// The saved position of `path`: the one of a single-log file, or the
/// entry for the same path in an array.
fn position_for(saved: &[Position], path: &Path, several: bool) -> Option<Position> {
    let name = path.display().to_string();
    if !several && saved.len() == 1 {
        return saved.first().cloned();
    }
    saved.iter().find(|p| p.log == name).cloned()
}

fn write_position<T: Serialize>(file: &Path, p: &T) -> Result<(), Failure> {
    let fail = |op, e| Failure::lib(file, io_err(file, op, e));
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut t = tempfile::Builder::new()
        .prefix(".evident-position-")
        .tempfile_in(&dir)
        .map_err(|e| fail("create", e))?;
    let text = serde_json::to_string(p).unwrap_or_default();
    t.write_all(text.as_bytes())
        .and_then(|_| t.write_all(b"\n"))
        .map_err(|e| fail("write", e))?;
    // On Windows a file another process has open cannot be replaced unless
    // it allowed deletion (std's rename then uses POSIX semantics; Wine
    // refuses it whatever the sharing): a reader of the position file would
    // stop `follow`. Such a reader lets go quickly, so the rename is tried
    // again for up to about 2 s. Elsewhere a failed rename does not heal by
    // waiting.
    // `keep` first: on Windows it clears the temporary-file attribute, which
    // the position file must not carry (tempfile's `persist` does the same,
    // but renames with MoveFileEx alone).
    let tmp = t
        .into_temp_path()
        .keep()
        .map_err(|e| fail("write", e.error))?;
    let mut waits = if cfg!(windows) { RENAME_WAITS_MS } else { &[] }.iter();
    loop {
        match fs::rename(&tmp, file) {
            Ok(()) => return Ok(()),
            Err(e) => match waits.next() {
                Some(ms) => std::thread::sleep(Duration::from_millis(*ms)),
                None => {
                    let _ = fs::remove_file(&tmp);
                    return Err(fail("rename", e));
                }
            },
        }
    }
}

/// The pauses between tries of the position file's rename on Windows
/// (2,035 ms in all).
const RENAME_WAITS_MS: &[u64] = &[
    5, 10, 20, 40, 80, 160, 160, 160, 200, 200, 200, 200, 200, 200, 200,
];

/// The identity of the file at a path: device and inode (Unix), so a file
/// that takes the name is seen even with the same size.
fn ident(m: &fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (m.dev(), m.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        (0, 0)
    }
}

struct Follower<'a> {
    path: &'a Path,
    /// The file's name on each line when several logs are followed.
    label: Option<String>,
    /// The file was found missing (noted once until it reappears).
    missing: bool,
    /// Why the file is not a readable log now (noted once per reason).
    unreadable: Option<String>,
    q: Query,
    json: bool,
    ident: Option<(u64, u64)>,
    size: u64,
    mtime: Option<std::time::SystemTime>,
    log_id: String,
    /// The last seq read (printed or filtered out).
    last: Option<u64>,
    /// Seq and hash of the last entries read (at most [`RECENT`]).
    recent: VecDeque<(u64, String)>,
    /// Offsets of damaged records already reported in this file.
    reported: HashSet<u64>,
}

impl Follower<'_> {
    fn print(&mut self, e: &Entry, out: &mut dyn Write) -> Result<(), Failure> {
        if self.q.matches(e) {
            match (&self.label, self.json) {
                (None, true) => {
                    serde_json::to_writer(&mut *out, e).map_err(|e| stdout_err(e.into()))?;
                    writeln!(out).map_err(stdout_err)?;
                }
                (Some(label), true) => {
                    // {"file": LABEL, ...the entry's members}
                    let text = serde_json::to_string(e).map_err(|e| stdout_err(e.into()))?;
                    let name = serde_json::to_string(label).map_err(|e| stdout_err(e.into()))?;
                    let name = crate::util::terminal_json(&name);
                    let rest = text.strip_prefix('{').unwrap_or(&text);
                    writeln!(out, "{{\"file\":{name},{rest}").map_err(stdout_err)?;
                }
                (None, false) => {
                    writeln!(out, "{}", crate::output::entry_line(e)).map_err(stdout_err)?;
                }
                (Some(label), false) => {
                    let label = crate::util::one_line(label);
                    writeln!(out, "{label}: {}", crate::output::entry_line(e))
                        .map_err(stdout_err)?;
                }
            }
        }
        self.last = Some(self.last.map_or(e.seq, |l| l.max(e.seq)));
        self.recent.push_back((e.seq, e.hash.clone()));
        if self.recent.len() > RECENT {
            self.recent.pop_front();
        }
        Ok(())
    }

    fn damaged(&mut self, e: Error) -> Result<(), Failure> {
        if matches!(e, Error::Io { .. }) {
            return Err(Failure::lib(self.path, e));
        }
        let off = match &e {
            Error::Malformed { at, .. } | Error::Corrupt { at, .. } => at.offset,
            _ => u64::MAX,
        };
        if self.reported.insert(off) {
            stderr_line!("{}", crate::output::damage_line(self.path, &e));
        }
        Ok(())
    }

    /// The position to save: the log id and the last seq read.
    fn position(&self) -> Option<Position> {
        self.last.map(|seq| Position {
            log: self.path.display().to_string(),
            log_id: self.log_id.clone(),
            seq,
        })
    }

    /// After the file was cut back: the newest entry read before that is
    /// still in the file unchanged (same seq and hash). The file may have
    /// grown again meanwhile, with new entries taking the seqs of entries
    /// that were moved aside; they must be printed. Without a match among
    /// the recent entries, the seq before the oldest of them (those are
    /// printed again rather than risk missing one).
    fn kept(&self) -> Result<Option<u64>, Failure> {
        let Some(last) = self.last else {
            return Ok(None);
        };
        let oldest = self.recent.front().map(|(s, _)| *s);
        let mut q = Query::default().order(Order::NewestFirst);
        q.seq_min = oldest;
        let it = evident::query(self.path, &q).map_err(|e| Failure::lib(self.path, e))?;
        for e in it.filter_map(|r| r.ok()).filter(|e| e.seq <= last) {
            if self.recent.contains(&(e.seq, e.hash.clone())) {
                return Ok(Some(e.seq));
            }
        }
        Ok(match oldest {
            Some(o) => o.checked_sub(1).filter(|s| *s > 0),
            None => self.head_seq()?.map(|h| h.min(last)),
        })
    }

    /// The seq of the file's last entry (None: no entries).
    fn head_seq(&self) -> Result<Option<u64>, Failure> {
        let it =
            evident::query(self.path, &Query::last(1)).map_err(|e| Failure::lib(self.path, e))?;
        Ok(it.filter_map(|r| r.ok()).map(|e| e.seq).next())
    }

    /// Prints every entry with seq >= `from` (oldest first, up to `upto`).
    fn print_forward(
        &mut self,
        from: u64,
        upto: Option<u64>,
        out: &mut dyn Write,
    ) -> Result<(), Failure> {
        let mut q = Query::default().seq_min(from);
        q.seq_max = upto;
        for r in evident::query(self.path, &q).map_err(|e| Failure::lib(self.path, e))? {
            match r {
                Ok(e) => self.print(&e, out)?,
                Err(e) => self.damaged(e)?,
            }
        }
        Ok(())
    }

    /// Prints the entries after `self.last`, read backward from the end.
    /// The entry last read is read again too (the anchor): when it is no
    /// longer there with the same hash, the file was cut back and written
    /// again between two checks, and the entries after the last one still
    /// in place are printed.
    fn print_new(&mut self, out: &mut dyn Write) -> Result<(), Failure> {
        let mut new = self.read_new()?;
        if let Some((seq, hash)) = self.anchor() {
            match new.last() {
                Some(e) if e.seq == seq && e.hash == hash => {
                    new.pop();
                }
                _ => {
                    self.rebase()?;
                    new = self.read_new()?;
                    if self.anchor().is_some() {
                        new.pop();
                    }
                }
            }
        }
        for e in new.iter().rev() {
            self.print(e, out)?;
        }
        Ok(())
    }

    /// The last entry read, when it is the newest one seen.
    fn anchor(&self) -> Option<(u64, String)> {
        self.recent
            .back()
            .filter(|(s, _)| Some(*s) == self.last)
            .cloned()
    }

    /// The entries from the anchor (or after `last`) on, newest first.
    fn read_new(&mut self) -> Result<Vec<Entry>, Failure> {
        let from = match self.anchor() {
            Some((seq, _)) => Some(seq),
            None => self.last.map(|l| l.saturating_add(1)),
        };
        let mut q = Query::default().order(Order::NewestFirst);
        q.seq_min = from;
        let mut new = Vec::new();
        for r in evident::query(self.path, &q).map_err(|e| Failure::lib(self.path, e))? {
            match r {
                Ok(e) => new.push(e),
                Err(e) => self.damaged(e)?,
            }
        }
        Ok(new)
    }

    /// Moves `last` back to the newest entry still in place, with a note.
    fn rebase(&mut self) -> Result<(), Failure> {
        let kept = self.kept()?;
        if let Some(last) = self.last.filter(|l| kept.is_none_or(|k| k < *l)) {
            let from = kept.map_or(1, |k| k + 1);
            note(
                self.path,
                &format!(
                    "entries {from}..{last} are no longer in the file as they were printed (moved \
                     aside into a sidecar file?); the entries that take their seqs are printed"
                ),
            );
            self.last = kept;
            self.recent.retain(|(s, _)| kept.is_some_and(|k| *s <= k));
        }
        Ok(())
    }

    /// One check of the file.
    fn poll(&mut self, out: &mut dyn Write) -> Result<(), Failure> {
        let m = match fs::metadata(self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !self.missing {
                    note(
                        self.path,
                        "the file is gone (rotated?); waiting for it to reappear",
                    );
                    self.missing = true;
                }
                return Ok(());
            }
            Err(e) => return Err(Failure::lib(self.path, io_err(self.path, "stat", e))),
        };
        let id = ident(&m);
        let size = m.len();
        let mtime = m.modified().ok();
        let replaced = Some(id) != self.ident;
        if !replaced && size == self.size && mtime == self.mtime {
            return Ok(());
        }
        {
            // Which log is it now (another file may have taken the name, or
            // this one may have been cut back and written again)?
            // A log's header and genesis are written before it gets its
            // name: a file without them was cut back or replaced by
            // something else (said once, then waited on).
            let info = match evident::inspect(self.path) {
                Ok(info) => {
                    self.unreadable = None;
                    info
                }
                Err(e) => {
                    let why = e.to_string();
                    if self.unreadable.as_deref() != Some(why.as_str()) {
                        note(
                            self.path,
                            &format!(
                                "the file is no longer a readable log ({why}); nothing more is \
                                 printed until it is one again"
                            ),
                        );
                        self.unreadable = Some(why);
                    }
                    return Ok(());
                }
            };
            self.missing = false;
            if info.genesis.log_id != self.log_id {
                note(
                    self.path,
                    &format!(
                        "a new log (log id {}) took the file's place; following it from its first entry",
                        info.genesis.log_id
                    ),
                );
                self.log_id = info.genesis.log_id;
                self.last = None;
                self.recent.clear();
            } else if size < self.size || replaced {
                self.rebase()?;
            }
            if replaced {
                self.reported.clear();
            }
            self.ident = Some(id);
        }
        // The size is taken before reading: data appended meanwhile is
        // read now or at the next check, never skipped.
        self.size = size;
        self.mtime = mtime;
        self.print_new(out)
    }
}

/// Flushes the output, then saves the positions (when they changed).
struct Saver {
    file: Option<PathBuf>,
    several: bool,
    saved: Vec<Option<Position>>,
}

impl Saver {
    fn save(&mut self, fs: &[Follower<'_>], out: &mut dyn Write) -> Result<(), Failure> {
        out.flush().map_err(stdout_err)?;
        let Some(file) = &self.file else {
            return Ok(());
        };
        let now: Vec<Option<Position>> = fs.iter().map(Follower::position).collect();
        let same = |a: &Option<Position>, b: &Option<Position>| match (a, b) {
            (Some(a), Some(b)) => a.log_id == b.log_id && a.seq == b.seq,
            (a, b) => a.is_none() == b.is_none(),
        };
        if now.len() == self.saved.len() && now.iter().zip(&self.saved).all(|(a, b)| same(a, b)) {
            return Ok(());
        }
        if self.several {
            let known: Vec<&Position> = now.iter().flatten().collect();
            if !known.is_empty() {
                write_position(file, &known)?;
            }
        } else if let Some(Some(p)) = now.first() {
            write_position(file, p)?;
        }
        self.saved = now;
        Ok(())
    }
}

/// Opens a log to follow and prints its first entries: the last N, or
/// from --from-seq or the saved position on.
fn start<'a>(
    path: &'a Path,
    label: Option<String>,
    a: &TailArgs,
    saved: Option<Position>,
    out: &mut dyn Write,
) -> Result<Follower<'a>, Failure> {
    let o = &a.follow;
    let m = fs::metadata(path).map_err(|e| Failure::lib(path, io_err(path, "open", e)))?;
    let info = evident::inspect(path).map_err(|e| Failure::lib(path, e))?;
    let mut f = Follower {
        path,
        label,
        missing: false,
        unreadable: None,
        q: to_query(&a.filters),
        json: a.json,
        ident: Some(ident(&m)),
        size: m.len(),
        mtime: m.modified().ok(),
        log_id: info.genesis.log_id.clone(),
        last: None,
        recent: VecDeque::new(),
        reported: HashSet::new(),
    };
    if !a.json {
        note(path, crate::read::UNCHECKED_NOTE);
    }
    // Everything up to the head read now is printed here; later entries by
    // the polls (which read after `f.last`).
    let head = f.head_seq()?;
    let from_position = saved.is_some();
    let start = match (saved, o.from_seq) {
        (Some(p), _) if p.log_id == f.log_id => Some(p.seq.saturating_add(1)),
        (Some(p), _) => {
            note(
                path,
                &format!(
                    "the position file is for log id {} (this log has log id {}): following from the first entry",
                    p.log_id, f.log_id
                ),
            );
            Some(1)
        }
        (None, Some(s)) => Some(s),
        (None, None) => None,
    };
    match start {
        Some(from) => {
            if let Some(h) = head.filter(|h| *h >= from) {
                f.print_forward(from, Some(h), out)?;
            }
            let before = from.checked_sub(1).filter(|b| *b > 0);
            f.last = f.last.max(before);
            if from_position && head < before {
                note(
                    path,
                    &format!(
                        "the log ends at seq {}, before the saved position {}: entries after it were \
                         moved aside (into a sidecar file?); entries that take their seqs are printed",
                        head.unwrap_or(0),
                        before.unwrap_or(0)
                    ),
                );
                f.last = head;
            }
        }
        None => {
            let mut q = to_query(&a.filters).order(Order::NewestFirst).limit(a.n);
            q.seq_max = head;
            let mut last = Vec::new();
            if a.n > 0 && head.is_some() {
                for r in evident::query(path, &q).map_err(|e| Failure::lib(path, e))? {
                    match r {
                        Ok(e) => last.push(e),
                        Err(e) => f.damaged(e)?,
                    }
                }
            }
            for e in last.iter().rev() {
                f.print(e, out)?;
            }
            f.last = head;
        }
    }
    Ok(f)
}

/// Follows `logs` (one or several files; `a.log` and `a.more`).
pub fn follow(a: TailArgs, out: &mut dyn Write) -> Result<u8, Failure> {
    let o = &a.follow;
    if !(o.interval > 0.0 && o.interval <= 3600.0) {
        return Err(Failure::usage(
            "--interval must be more than 0 and at most 3600 seconds",
        ));
    }
    let logs: Vec<PathBuf> = std::iter::once(&a.log).chain(&a.more).cloned().collect();
    let several = logs.len() > 1;
    if several && o.from_seq.is_some() {
        return Err(Failure::usage(
            "--from-seq takes one log (with several, use --position-file)",
        ));
    }
    let saved = match &o.position_file {
        Some(file) => read_position(file)?,
        None => Vec::new(),
    };
    let mut followers = Vec::with_capacity(logs.len());
    for path in &logs {
        let label = several.then(|| path.display().to_string());
        let pos = position_for(&saved, path, several);
        followers.push(start(path, label, &a, pos, out)?);
    }
    let mut saver = Saver {
        file: o.position_file.clone(),
        several,
        saved: Vec::new(),
    };
    saver.save(&followers, out)?;
    let pause = Duration::from_secs_f64(o.interval);
    loop {
        std::thread::sleep(pause);
        for f in &mut followers {
            f.poll(out)?;
        }
        saver.save(&followers, out)?;
    }
}
