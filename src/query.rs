//! Query: a streaming reader of entries with filters, oldest-first or
//! newest-first. Newest-first reads backward from the end of the file, so
//! "the last N entries" costs O(N), not O(file).
//!
//! Query reads; it does not check hashes (that is [`crate::verify()`]'s job).
//! A partial record at the end of the file (a torn write in progress or
//! left by a crash) is never returned as an entry.

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::error::{Error, Position, Result};
use crate::format::{self, Entry, Framing, RecordKind};
use crate::log::read_genesis;
use crate::scan::{Backward, Forward, Item, SpanKind};

/// Reading order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u32)]
pub enum Order {
    /// From the first entry to the last.
    #[default]
    OldestFirst = 1,
    /// From the last entry backward.
    NewestFirst = 2,
}

/// Filters for [`query`]. Every set filter must match (AND); string filters
/// match exactly.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Query {
    pub session_id: Option<String>,
    pub event_type: Option<String>,
    pub action: Option<String>,
    pub actor: Option<String>,
    pub source: Option<String>,
    /// Entries with `ts >= since`.
    pub since: Option<DateTime<Utc>>,
    /// Entries with `ts < until`.
    pub until: Option<DateTime<Utc>>,
    /// Entries with `seq >= seq_min`.
    pub seq_min: Option<u64>,
    /// Entries with `seq <= seq_max`.
    pub seq_max: Option<u64>,
    pub order: Order,
    /// At most this many entries.
    pub limit: Option<usize>,
}

impl Query {
    /// The last `n` entries, newest first.
    pub fn last(n: usize) -> Query {
        Query {
            order: Order::NewestFirst,
            limit: Some(n),
            ..Query::default()
        }
    }

    /// Entries of this session.
    pub fn session_id(mut self, v: impl Into<String>) -> Self {
        self.session_id = Some(v.into());
        self
    }

    /// Entries of this event type.
    pub fn event_type(mut self, v: impl Into<String>) -> Self {
        self.event_type = Some(v.into());
        self
    }

    /// Entries with this action.
    pub fn action(mut self, v: impl Into<String>) -> Self {
        self.action = Some(v.into());
        self
    }

    /// Entries of this actor.
    pub fn actor(mut self, v: impl Into<String>) -> Self {
        self.actor = Some(v.into());
        self
    }

    /// Entries from this source.
    pub fn source(mut self, v: impl Into<String>) -> Self {
        self.source = Some(v.into());
        self
    }

    /// Entries with `ts >= since`.
    pub fn since(mut self, since: DateTime<Utc>) -> Self {
        self.since = Some(since);
        self
    }

    /// Entries with `ts < until`.
    pub fn until(mut self, until: DateTime<Utc>) -> Self {
        self.until = Some(until);
        self
    }

    /// Entries with `seq >= seq_min`.
    pub fn seq_min(mut self, seq: u64) -> Self {
        self.seq_min = Some(seq);
        self
    }

    /// Entries with `seq <= seq_max`.
    pub fn seq_max(mut self, seq: u64) -> Self {
        self.seq_max = Some(seq);
        self
    }

    /// The order of the entries.
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// At most this many entries.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Whether `e` passes every filter.
    pub fn matches(&self, e: &Entry) -> bool {
        self.matches_fields(
            [&e.session_id, &e.event_type, &e.action, &e.actor, &e.source],
            e.ts,
            e.seq,
        )
    }

    /// [`Query::matches`] on the filtered fields: session id, event type,
    /// action, actor, source; time; seq.
    fn matches_fields(&self, s: [&str; 5], ts: DateTime<Utc>, seq: u64) -> bool {
        fn eq(f: &Option<String>, v: &str) -> bool {
            f.as_deref().is_none_or(|f| f == v)
        }
        let [session_id, event_type, action, actor, source] = s;
        eq(&self.session_id, session_id)
            && eq(&self.event_type, event_type)
            && eq(&self.action, action)
            && eq(&self.actor, actor)
            && eq(&self.source, source)
            && self.since.is_none_or(|s| ts >= s)
            && self.until.is_none_or(|u| ts < u)
            && self.seq_min.is_none_or(|m| seq >= m)
            && self.seq_max.is_none_or(|m| seq <= m)
    }
}

enum Dir {
    Fwd(Forward<File>),
    Back(Backward<File>),
}

/// What a reader says of a genesis record after the start of the log.
pub(crate) const GENESIS_AFTER_START: &str = "a genesis record after the start of the log";

/// Iterator over matching entries. Yields `Err` for a damaged record (with
/// its position) and goes on with the next one where the framing allows.
pub struct QueryIter {
    path: PathBuf,
    framing: Framing,
    dir: Dir,
    q: Query,
    returned: usize,
    done: bool,
}

/// Opens `path` and returns an iterator over the entries matching `q`.
pub fn query(path: impl AsRef<Path>, q: &Query) -> Result<QueryIter> {
    let path = path.as_ref().to_path_buf();
    let file = crate::storage::open_regular(&path, crate::storage::Access::Read, "open")?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(&path, "stat", e))?
        .len();
    let gi = read_genesis(&path, &file, len)?;
    let dir = match q.order {
        // Line numbers are for JSONL only (the genesis is line 1).
        Order::OldestFirst => {
            let line = u64::from(gi.framing == Framing::Jsonl) * 2;
            Dir::Fwd(Forward::new(file, gi.framing, gi.end, len, line))
        }
        // A torn tail is not an entry, however long (spec § 9.5).
        Order::NewestFirst => {
            Dir::Back(Backward::new(file, gi.framing, gi.end, len).skip_long_torn_tail())
        }
    };
    Ok(QueryIter {
        path,
        framing: gi.framing,
        dir,
        q: q.clone(),
        returned: 0,
        done: false,
    })
}

impl QueryIter {
    /// Whether `item`, the bytes at the end of the file that are not a
    /// complete record, can be what an interrupted write or a power cut
    /// leaves (spec § 9.5), or a record a writer is appending right now
    /// (the file grew past them since they were read).
    fn is_torn_or_in_flight(&self, item: &Item) -> bool {
        let end = item.offset + item.bytes.len() as u64;
        crate::tail::may_be_cut_short(self.framing, &item.bytes, item.offset)
            || std::fs::metadata(&self.path).is_ok_and(|m| m.len() > end)
    }

    fn next_raw(&mut self) -> Option<std::io::Result<(Item, u64)>> {
        match &mut self.dir {
            Dir::Fwd(f) => f.next_item(),
            Dir::Back(b) => b.prev_item().map(|r| r.map(|i| (i, 0))),
        }
    }
}

impl QueryIter {
    /// The next matching entry and, when `line` is given, its JSONL record
    /// line (with its `\n`) appended to `line`: the record's own line for
    /// JSONL, the line of the same body and hash for binary.
    fn next_entry(&mut self, mut line: Option<&mut Vec<u8>>) -> Option<Result<Option<Entry>>> {
        if self.done || self.q.limit.is_some_and(|l| self.returned >= l) {
            return None;
        }
        loop {
            let (item, line_no) = match self.next_raw()? {
                Ok(x) => x,
                Err(e) => {
                    self.done = true;
                    return Some(Err(Error::io(&self.path, "read", e)));
                }
            };
            let at = Position {
                offset: item.offset,
                line: line_no,
                seq: None,
            };
            match item.kind {
                // A torn tail (or a record still being written) is not an
                // entry; verify and open report it. Anything else at the end
                // is a complete record that fails its check (spec § 9.5):
                // damage, reported like any other, never skipped in silence.
                SpanKind::Partial => {
                    if self.is_torn_or_in_flight(&item) {
                        continue;
                    }
                    return Some(Err(Error::malformed(
                        &self.path,
                        at,
                        crate::tail::CHANGED_END,
                    )));
                }
                SpanKind::Bad => {
                    return Some(Err(Error::malformed(
                        &self.path,
                        at,
                        "damaged bytes, no valid record",
                    )))
                }
                SpanKind::Record => {}
            }
            // The canonical layout's fast reader: the same result as
            // `format::parse` for every input (binary frames were checked
            // by the scanner, CRC included).
            let parsed = match self.framing {
                Framing::Jsonl => format::parse_fast(Framing::Jsonl, &item.bytes),
                Framing::Binary => format::parse_fast_checked_frame(&item.bytes),
            };
            let p = match parsed {
                Ok(p) => p,
                Err(d) => return Some(Err(Error::malformed(&self.path, at, d.0))),
            };
            match p.kind {
                RecordKind::Entry => {}
                // Reading starts after the log's own genesis: another one is
                // a second log spliced in (`cat a b`), damage as `verify`
                // reports it (spec § 9.3), never entries of this log.
                RecordKind::Genesis => {
                    return Some(Err(Error::malformed(&self.path, at, GENESIS_AFTER_START)))
                }
                _ => continue, // kinds of later versions (spec § 13.2)
            }
            let newest_first = matches!(self.dir, Dir::Back(_));
            if newest_first && self.q.seq_min.is_some_and(|m| p.seq < m) {
                self.done = true;
                return None;
            }
            if !newest_first && self.q.seq_max.is_some_and(|m| p.seq > m) {
                self.done = true;
                return None;
            }
            let at = Position {
                seq: Some(p.seq),
                ..at
            };
            if let Some(out) = line.as_deref_mut() {
                // Lines: the fields the filters need, the details skipped.
                let k = match format::decode_entry_keys(&p) {
                    Ok(k) => k,
                    Err(d) => return Some(Err(Error::malformed(&self.path, at, d.0))),
                };
                let s = [
                    &*k.session_id,
                    &*k.event_type,
                    &*k.action,
                    &*k.actor,
                    &*k.source,
                ];
                if !self.q.matches_fields(s, k.ts, k.seq) {
                    continue;
                }
                // The line's room first: an allocation the allocator
                // refuses is an error, `out` unchanged.
                let room = item.bytes.len() + 2 * p.raw.hash.as_bytes().len() + 64;
                if out.try_reserve(room).is_err() {
                    let e = crate::scan::no_memory(out.len().saturating_add(room));
                    return Some(Err(Error::io(&self.path, "read", e)));
                }
                self.returned += 1;
                match self.framing {
                    Framing::Jsonl => {
                        out.extend_from_slice(p.raw.json);
                        out.push(b'\n');
                    }
                    Framing::Binary => {
                        format::frame(out, Framing::Jsonl, p.raw.body_head, &p.raw.hash);
                    }
                }
                return Some(Ok(None));
            }
            // Decoding builds the entry's values in allocations that cannot
            // fail softly: for a large record, room for them is asked for
            // first (a few times the record's size), so that a limit on
            // memory fails this read instead of aborting the process.
            if item.bytes.len() >= 64 * 1024
                && !crate::scan::headroom(item.bytes.len().saturating_mul(4))
            {
                let e = crate::scan::no_memory(item.bytes.len().saturating_mul(4));
                return Some(Err(Error::io(&self.path, "read", e)));
            }
            let e = match format::decode_entry(&p) {
                Ok(e) => e,
                Err(d) => return Some(Err(Error::malformed(&self.path, at, d.0))),
            };
            if self.q.matches(&e) {
                self.returned += 1;
                return Some(Ok(Some(e)));
            }
        }
    }

    /// Appends the next matching entry's JSONL record line (with its `\n`)
    /// to `out`: the record's own line for JSONL, the line holding the same
    /// body and hash for binary (spec § 2 rule 4). `None` at the end; an
    /// error as [`Iterator::next`] gives it, `out` unchanged.
    pub fn next_line(&mut self, out: &mut Vec<u8>) -> Option<Result<()>> {
        self.next_entry(Some(out)).map(|r| r.map(|_| ()))
    }
}

impl Iterator for QueryIter {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        loop {
            match self.next_entry(None)? {
                Ok(Some(e)) => return Some(Ok(e)),
                Ok(None) => continue, // not reached: no line was asked for
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
