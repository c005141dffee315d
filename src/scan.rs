//! Finding records in a file: forward in chunks, backward from the end, and
//! the file's first record (the genesis). Readers here take no lock and
//! never treat a partial record as a record.
#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use crate::sys::FileExt;
use std::fs::File;
use std::io;

use crate::crc_range::{PrefixCrc, SuffixCrc};
use crate::format::{self, frame_size, FrameSize, Framing, MAX_BODY};
use crate::storage::Storage;

/// Longest JSONL line accepted: a maximal body plus its hash.
pub(crate) const MAX_LINE: usize = MAX_BODY + 256;

/// Positional reads, from a plain file or a writer's storage.
pub(crate) trait ReadAt {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// Reads as much of `[offset, offset + buf.len())` as exists.
    fn read_full_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let Some(rest) = buf.get_mut(done..) else {
                break;
            };
            match self.read_at(rest, offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

impl ReadAt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }
}

impl ReadAt for dyn Storage + '_ {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        Storage::read_at(self, buf, offset)
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        (**self).read_at(buf, offset)
    }
}

/// What a span of bytes is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpanKind {
    /// A complete record by its framing (JSONL: a line ending in `\n`, which
    /// the span excludes; binary: a frame whose CRC checks). Its content may
    /// still be malformed.
    Record,
    /// Bytes at the end of the file that are not a complete record.
    Partial,
    /// Damaged bytes between records (binary framing only: the splitter
    /// resynchronises at the next valid frame).
    Bad,
}

/// A span of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub len: usize,
    pub kind: SpanKind,
}

/// Splits `buf` (starting at a record boundary) into spans. Returns how many
/// bytes were consumed; the rest must be kept and completed with more data
/// unless `at_eof`, in which case everything is consumed.
pub(crate) fn split(framing: Framing, buf: &[u8], at_eof: bool, out: &mut Vec<Span>) -> usize {
    match framing {
        Framing::Jsonl => split_jsonl(buf, at_eof, out),
        Framing::Binary => split_binary_spans(buf, at_eof, out),
    }
}

fn split_jsonl(buf: &[u8], at_eof: bool, out: &mut Vec<Span>) -> usize {
    let mut rest = Vec::new();
    let (lines_end, consumed) = split_jsonl_lines(buf, at_eof, &mut rest);
    out.extend(jsonl_line_spans(buf.get(..lines_end).unwrap_or_default()));
    out.append(&mut rest);
    consumed
}

/// [`split`] for JSONL without a span per line (memory that does not grow
/// with the number of lines): returns where the complete lines end (just
/// past the last LF) and how many bytes are consumed, and pushes the spans
/// after the complete lines (a partial or over-long last line) to `rest`.
/// [`jsonl_line_spans`] gives the spans of the complete lines.
pub(crate) fn split_jsonl_lines(buf: &[u8], at_eof: bool, rest: &mut Vec<Span>) -> (usize, usize) {
    let lines_end = memchr::memrchr(b'\n', buf).map_or(0, |i| i + 1);
    let mut start = lines_end;
    let left = buf.len() - start;
    if left > 0 && (at_eof || left > MAX_LINE) {
        // A line longer than any record can be is damage; report it in
        // pieces so memory stays bounded.
        let len = left.min(MAX_LINE);
        rest.push(Span {
            start,
            len,
            kind: if at_eof {
                SpanKind::Partial
            } else {
                SpanKind::Bad
            },
        });
        start += len;
        if at_eof && start < buf.len() {
            start = split_jsonl_tail(buf, start, rest);
        }
    }
    (lines_end, start)
}

/// The spans of the complete lines of `lines` (which ends in an LF or is
/// empty), each without its LF.
pub(crate) fn jsonl_line_spans(lines: &[u8]) -> impl Iterator<Item = Span> + '_ {
    let mut start = 0;
    memchr::memchr_iter(b'\n', lines).map(move |nl| {
        let span = Span {
            start,
            len: nl - start,
            kind: SpanKind::Record,
        };
        start = nl + 1;
        span
    })
}

fn split_jsonl_tail(buf: &[u8], mut start: usize, out: &mut Vec<Span>) -> usize {
    while start < buf.len() {
        let len = (buf.len() - start).min(MAX_LINE);
        out.push(Span {
            start,
            len,
            kind: SpanKind::Partial,
        });
        start += len;
    }
    start
}

/// Whether `f` (exactly the bytes its length fields claim) is a valid frame
/// (spec § 8 rule 2; the same as `split_binary(f).is_ok()`), where
/// `crc(c)` gives the CRC of `f[..c]`. The cheap checks come first, and
/// the CRC is asked for only when they pass.
fn frame_valid(f: &[u8], crc: impl FnOnce(usize) -> u32) -> bool {
    let FrameSize::Len(n) = frame_size(f) else {
        return false;
    };
    if n != f.len() {
        return false;
    }
    let le32 = |at: usize| {
        f.get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
    };
    if le32(n - 4) != Some(n as u32) || f.get(6..8) != Some(&[0, 0][..]) {
        return false;
    }
    le32(n - 8) == Some(crc(n - 8))
}

/// Checks whether a valid frame starts at `p`: `Some(true)` yes,
/// `Some(false)` no, `None` cannot tell without more bytes. Large frames
/// get their CRC from `rc`, in bounded time.
fn frame_at(buf: &[u8], p: usize, rc: &mut PrefixCrc<'_>) -> Option<bool> {
    frame_at_direct(buf, p, rc, &mut 0)
}

/// [`frame_at`], with a direct CRC (the fastest way to check a frame that
/// is valid) when the frame is at most `credit` bytes long, which a failed
/// check takes from `credit`: the caller adds the bytes of the valid frames
/// it consumes, so the direct CRCs wasted on damage cost at most as much
/// as the valid frames did.
fn frame_at_direct(
    buf: &[u8],
    p: usize,
    rc: &mut PrefixCrc<'_>,
    credit: &mut usize,
) -> Option<bool> {
    let rest = buf.get(p..)?;
    match frame_size(rest) {
        FrameSize::NeedMore => None,
        FrameSize::Bad => Some(false),
        FrameSize::Len(n) => {
            let f = rest.get(..n)?;
            if n <= *credit {
                let ok = frame_valid(f, |c| crate::crc_range::crc(f.get(..c).unwrap_or_default()));
                if !ok {
                    *credit -= n;
                }
                Some(ok)
            } else {
                Some(frame_valid(f, |c| rc.range(p, p + c)))
            }
        }
    }
}

fn split_binary_spans(buf: &[u8], at_eof: bool, out: &mut Vec<Span>) -> usize {
    // CRCs of candidate frames in damaged regions come from prefix CRCs:
    // each candidate costs a bounded amount of work (spec § 12).
    let mut rc = PrefixCrc::new(buf);
    let mut credit = 0;
    let mut pos = 0;
    while pos < buf.len() {
        match frame_at_direct(buf, pos, &mut rc, &mut credit) {
            Some(true) => {
                let n = match frame_size(buf.get(pos..).unwrap_or_default()) {
                    FrameSize::Len(n) => n,
                    _ => break,
                };
                credit += n;
                out.push(Span {
                    start: pos,
                    len: n,
                    kind: SpanKind::Record,
                });
                pos += n;
            }
            None if !at_eof => return pos,
            // At the end of the file, a frame that cannot be complete is not
            // a frame: it is a torn tail only if no valid frame follows it
            // (a damaged length field in the middle must not hide the
            // records after it).
            None | Some(false) => {
                // Resynchronise: the next position where a valid frame starts.
                let mut p = pos + 1;
                let mut undecided = false;
                while p < buf.len() {
                    match frame_at(buf, p, &mut rc) {
                        Some(true) => break,
                        Some(false) => p += 1,
                        None if at_eof => p += 1,
                        None => {
                            undecided = true;
                            break;
                        }
                    }
                }
                if undecided && !at_eof {
                    if buf.len() - pos <= MAX_BODY + 1024 {
                        // Not enough bytes to decide whether a frame starts
                        // at `p`: wait for more and rescan, so that a damaged
                        // region shorter than MAX_BODY stays one span however
                        // the file is cut into buffers (bounded by MAX_BODY).
                        return pos;
                    }
                    out.push(Span {
                        start: pos,
                        len: p - pos,
                        kind: SpanKind::Bad,
                    });
                    pos = p;
                    continue;
                }
                let kind = if p >= buf.len() || undecided {
                    SpanKind::Partial
                } else {
                    SpanKind::Bad
                };
                let end = if undecided { buf.len() } else { p };
                out.push(Span {
                    start: pos,
                    len: end - pos,
                    kind,
                });
                pos = end;
            }
        }
    }
    pos
}

/// An owned record (or damaged span) read from a file.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub offset: u64,
    pub kind: SpanKind,
    pub bytes: Vec<u8>,
}

impl Item {
    /// File offset just past this item (including a JSONL newline).
    pub fn end(&self, framing: Framing) -> u64 {
        let nl = u64::from(framing == Framing::Jsonl && self.kind == SpanKind::Record);
        self.offset + self.bytes.len() as u64 + nl
    }
}

/// Reads records forward from `offset` in chunks.
pub(crate) struct Forward<R: ReadAt> {
    src: R,
    framing: Framing,
    buf: Vec<u8>,
    buf_offset: u64,
    file_len: u64,
    spans: std::collections::VecDeque<Span>,
    span_base: u64,
    span_buf: Vec<u8>,
    /// Size of the first read (later reads grow while a span is undecided).
    chunk: usize,
    /// 1-based line number of the next JSONL record.
    pub next_line: u64,
}

const CHUNK: usize = 256 * 1024;

/// First read when only the genesis is wanted: it is a few hundred bytes,
/// and a 256 KiB buffer costs more in page faults than the rest of an open.
const FIRST_RECORD_CHUNK: usize = 4096;

impl<R: ReadAt> Forward<R> {
    pub fn new(src: R, framing: Framing, offset: u64, file_len: u64, line: u64) -> Self {
        Forward {
            src,
            framing,
            buf: Vec::new(),
            buf_offset: offset,
            file_len,
            spans: Default::default(),
            span_base: offset,
            span_buf: Vec::new(),
            chunk: CHUNK,
            next_line: line,
        }
    }

    fn refill(&mut self) -> io::Result<bool> {
        let read_from = self.buf_offset + self.buf.len() as u64;
        if read_from >= self.file_len {
            if self.buf.is_empty() {
                return Ok(false);
            }
        } else {
            // Grow the reads while a span stays undecided (a long line or
            // damaged region is rescanned after each read), up to 4 MiB.
            let want = self
                .chunk
                .max(self.buf.len().min(4 << 20))
                .min((self.file_len - read_from) as usize);
            let old = self.buf.len();
            // Exact: amortized doubling would allocate up to twice the
            // longest line (MAX_LINE) on a damaged file.
            self.buf
                .try_reserve_exact(want)
                .map_err(|_| no_memory(old + want))?;
            self.buf.resize(old + want, 0);
            let got = self
                .src
                .read_full_at(self.buf.get_mut(old..).unwrap_or_default(), read_from)?;
            self.buf.truncate(old + got);
            if got == 0 {
                self.file_len = read_from;
            }
        }
        let at_eof = self.buf_offset + self.buf.len() as u64 >= self.file_len;
        let mut spans = Vec::new();
        let consumed = split(self.framing, &self.buf, at_eof, &mut spans);
        self.span_buf.clear();
        self.span_buf
            .try_reserve_exact(consumed)
            .map_err(|_| no_memory(consumed))?;
        self.span_buf
            .extend_from_slice(self.buf.get(..consumed).unwrap_or_default());
        self.span_base = self.buf_offset;
        self.buf.drain(..consumed);
        self.buf_offset += consumed as u64;
        self.spans.extend(spans);
        Ok(true)
    }

    /// The next item, or `None` at the end of the file.
    pub fn next_item(&mut self) -> Option<io::Result<(Item, u64)>> {
        loop {
            if let Some(span) = self.spans.pop_front() {
                let bytes = match copy_of(
                    self.span_buf
                        .get(span.start..span.start + span.len)
                        .unwrap_or_default(),
                ) {
                    Ok(b) => b,
                    Err(e) => return Some(Err(e)),
                };
                let line = self.next_line;
                // Lines are counted by LF bytes: only records end in one.
                if self.framing == Framing::Jsonl && span.kind == SpanKind::Record {
                    self.next_line += 1;
                }
                let item = Item {
                    offset: self.span_base + span.start as u64,
                    kind: span.kind,
                    bytes,
                };
                return Some(Ok((item, line)));
            }
            match self.refill() {
                Ok(true) => continue,
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// The error for a buffer the allocator refused (an address-space or
/// memory limit): the caller's read fails instead of the process aborting.
pub(crate) fn no_memory(n: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!("out of memory for a buffer of {n} bytes of records"),
    )
}

/// Whether the allocator grants `n` bytes now (asked for and given back):
/// taken before work whose allocations cannot fail softly (building a
/// record's JSON values), so that a memory limit fails the call instead of
/// aborting the process.
pub(crate) fn headroom(n: usize) -> bool {
    let mut v: Vec<u8> = Vec::new();
    v.try_reserve_exact(n).is_ok()
}

/// A copy of `bytes` in memory the allocator may refuse ([`no_memory`]).
pub(crate) fn copy_of(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(bytes.len())
        .map_err(|_| no_memory(bytes.len()))?;
    v.extend_from_slice(bytes);
    Ok(v)
}

/// Reads records backward from `end` down to `floor` (the data start).
pub(crate) struct Backward<R: ReadAt> {
    src: R,
    framing: Framing,
    floor: u64,
    /// Bytes `[buf_start, end)` of the file.
    buf: Vec<u8>,
    buf_start: u64,
    end: u64,
    file_end: u64,
    /// CRCs of candidate frames (see `frame_ending_at`).
    crc: SuffixCrc,
    /// Skip a torn tail longer than [`RESYNC_WINDOW`] (see
    /// [`Backward::skip_long_torn_tail`]).
    skip_torn: bool,
}

/// How far back one step of binary resynchronisation looks.
const RESYNC_WINDOW: u64 = 1024 * 1024;

/// The longest binary frame (spec § 8): a torn tail, the beginning of one
/// frame, is shorter.
const MAX_FRAME: u64 = (format::FRAME_OVERHEAD + MAX_BODY + 64) as u64;

/// Bytes looked at per step when searching for the start of a long torn
/// tail.
const TORN_BLOCK: u64 = 64 * 1024;

/// How far below the buffer a header that `overlapping_end` checks is read
/// into the buffer rather than alone.
const NEAR_HEADER: u64 = 256 * 1024;

impl<R: ReadAt> Backward<R> {
    pub fn new(src: R, framing: Framing, floor: u64, end: u64) -> Self {
        Backward {
            src,
            framing,
            floor,
            buf: Vec::new(),
            buf_start: end,
            end,
            file_end: end,
            crc: SuffixCrc::default(),
            skip_torn: false,
        }
    }

    /// Makes a binary reader skip a torn tail (spec § 9.5: the beginning of
    /// a record cut short, or bytes holding a lost block) at `end` that is
    /// longer than one resynchronisation step, as readers skip it reading
    /// forward, instead of returning it as pieces that are each damage. Its
    /// start is found with bounded memory, and whether it is a record
    /// prefix is decided from the length fields there, without reading it
    /// whole. Only for readers of entries: `end` must be the end of the
    /// file. (A shorter torn tail is returned as a `Partial` item, which
    /// such readers skip too.)
    pub fn skip_long_torn_tail(mut self) -> Self {
        self.skip_torn = true;
        self
    }

    /// Makes sure bytes `[from, end)` are buffered (`from >= floor`).
    fn ensure(&mut self, from: u64) -> io::Result<()> {
        if from >= self.buf_start {
            return Ok(());
        }
        let want: u64 = (self.buf_start - from).max(64 * 1024);
        let new_start = self.buf_start.saturating_sub(want).max(self.floor);
        let n = (self.buf_start - new_start) as usize;
        let mut block = Vec::new();
        block
            .try_reserve_exact(n + self.buf.len())
            .map_err(|_| no_memory(n + self.buf.len()))?;
        block.resize(n + self.buf.len(), 0);
        let got = self
            .src
            .read_full_at(block.get_mut(..n).unwrap_or_default(), new_start)?;
        if got != n {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while reading",
            ));
        }
        if let Some(dst) = block.get_mut(n..) {
            dst.copy_from_slice(&self.buf);
        }
        self.buf = block;
        self.buf_start = new_start;
        Ok(())
    }

    fn slice(&self, from: u64, to: u64) -> &[u8] {
        let a = (from - self.buf_start) as usize;
        let b = (to - self.buf_start) as usize;
        self.buf.get(a..b).unwrap_or_default()
    }

    fn consume(&mut self, new_end: u64) {
        self.end = new_end;
        self.buf.truncate((new_end - self.buf_start) as usize);
    }

    /// Moves `end` down to `new_end`, keeping what is buffered below it.
    fn move_end(&mut self, new_end: u64) {
        if new_end >= self.buf_start {
            self.consume(new_end);
        } else {
            self.buf = Vec::new();
            self.buf_start = new_end;
            self.end = new_end;
        }
    }

    /// The previous item, or `None` at the floor.
    pub fn prev_item(&mut self) -> Option<io::Result<Item>> {
        loop {
            if self.end <= self.floor {
                return None;
            }
            let r = match self.framing {
                Framing::Jsonl => self.prev_jsonl().map(Some),
                Framing::Binary => self.prev_binary(),
            };
            match r {
                Ok(Some(item)) => return Some(Ok(item)),
                Ok(None) => continue, // a long torn tail skipped
                Err(e) => return Some(Err(e)),
            }
        }
    }

    fn prev_jsonl(&mut self) -> io::Result<Item> {
        let end = self.end;
        self.ensure(end - 1)?;
        let last = self.slice(end - 1, end).first().copied();
        // A record is the line ending at `end - 1`; trailing bytes without a
        // newline are a partial record.
        let (search_to, kind) = if last == Some(b'\n') {
            (end - 1, SpanKind::Record)
        } else {
            (end, SpanKind::Partial)
        };
        let mut from = search_to;
        // Look in what is already buffered first: it is a suffix of the
        // first window below, so a newline there is the one the loop would
        // find, without reading and copying another 64 KiB.
        let buffered_lo = self
            .buf_start
            .max(from.saturating_sub(64 * 1024))
            .max(self.floor);
        if buffered_lo < from {
            if let Some(i) = memchr::memrchr(b'\n', self.slice(buffered_lo, from)) {
                let start = buffered_lo + i as u64 + 1;
                return self.take(start, search_to, end, kind);
            }
        }
        // The window doubles at each step (each byte is read and copied a
        // bounded number of times, however long the line), and stops just
        // past the longest possible line.
        let mut step = 64 * 1024;
        loop {
            let lo = from
                .saturating_sub(step)
                .max(self.floor)
                .max(search_to.saturating_sub(MAX_LINE as u64 + 1));
            self.ensure(lo)?;
            if let Some(i) = memchr::memrchr(b'\n', self.slice(lo, from)) {
                let start = lo + i as u64 + 1;
                return self.take(start, search_to, end, kind);
            }
            if lo == self.floor {
                return self.take(self.floor, search_to, end, kind);
            }
            if search_to - lo > MAX_LINE as u64 {
                // No newline within the longest possible line: damage.
                let start = search_to - MAX_LINE as u64;
                return self.take(start, search_to, end, SpanKind::Bad);
            }
            from = lo;
            step = search_to - lo;
        }
    }

    fn take(&mut self, start: u64, content_end: u64, end: u64, kind: SpanKind) -> io::Result<Item> {
        let _ = end;
        let bytes = copy_of(self.slice(start, content_end))?;
        self.consume(start);
        Ok(Item {
            offset: start,
            kind,
            bytes,
        })
    }

    /// Is there a valid frame ending exactly at `at`? Returns its start.
    ///
    /// Damaged bytes can hold a candidate (a trailer and length fields that
    /// agree) every few bytes, each claiming up to 16 MiB: the buffer grows
    /// at least twofold when it must grow, and large frames get their CRC
    /// from suffix CRCs, so each byte is read and run through the CRC a
    /// bounded number of times (spec § 12).
    fn frame_ending_at(&mut self, at: u64) -> io::Result<Option<u64>> {
        if at < self.floor + 4 {
            return Ok(None);
        }
        self.ensure(at - 4)?;
        let t = self.slice(at - 4, at);
        let n = match t {
            [a, b, c, d] => u32::from_le_bytes([*a, *b, *c, *d]) as u64,
            _ => return Ok(None),
        };
        if n < (format::FRAME_OVERHEAD + 2 + 32) as u64
            || n > (format::FRAME_OVERHEAD + MAX_BODY + 64) as u64
            || at - self.floor < n
        {
            return Ok(None);
        }
        let start = at - n;
        if start < self.buf_start {
            let held = self.end - self.buf_start;
            let from = start
                .min(self.buf_start.saturating_sub(held))
                .max(self.floor);
            self.ensure(from)?;
        }
        let (lo, hi) = (self.buf_start, self.end);
        let mut crc = std::mem::take(&mut self.crc);
        let f = self.slice(start, at);
        let ok = frame_valid(f, |c| {
            let want = f
                .get(c..c + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map_or(0, u32::from_le_bytes);
            // The suffix index answers whether the CRC is `want`: give
            // back `want` when it is, anything else when not.
            if crc.matches(start, start + c as u64, want, lo, hi, |x, y| {
                self.slice(x, y)
            }) {
                want
            } else {
                !want
            }
        });
        self.crc = crc;
        Ok(ok.then_some(start))
    }

    /// The end of a valid frame that starts before `start` and ends inside
    /// the frame `[start, end)`, if there is one. Reading forward (spec § 8
    /// rule 3), such a frame is read first and the frame at `start` never
    /// is. Its trailer ends at a byte 0x00 or 0x01 (the high byte of a
    /// length of at most 16 MiB + 80), which a readable body never holds:
    /// the candidates are in the length fields, hash, CRC and trailer of
    /// the frame (anywhere in an unreadable one). They are visited one at a
    /// time (memory stays bounded), each checked by its 8 header bytes
    /// before any CRC.
    fn overlapping_end(&mut self, start: u64, end: u64) -> io::Result<Option<u64>> {
        let mut from = start;
        while let Some((at, n)) = self.next_trailer(start, from, end) {
            from = at;
            if n < (format::FRAME_OVERHEAD + 2 + 32) as u64
                || n > (format::FRAME_OVERHEAD + MAX_BODY + 64) as u64
                || at < self.floor + n
                || at - n >= start
            {
                continue;
            }
            // The header from the buffer, which is extended when it is
            // near (a backward walk reads those bytes next anyway); a far
            // one (up to 16 MiB back) is read alone.
            if self.buf_start.saturating_sub(at - n) <= NEAR_HEADER {
                self.ensure(at - n)?;
            }
            let head = if at - n >= self.buf_start {
                self.slice(at - n, at - n + 8).try_into().ok()
            } else {
                let mut h = [0u8; 8];
                (self.src.read_full_at(&mut h, at - n)? == 8).then_some(h)
            };
            if head.map(|h: [u8; 8]| frame_size(&h)) != Some(FrameSize::Len(n as usize)) {
                continue;
            }
            if self.frame_ending_at(at)?.is_some_and(|s| s < start) {
                return Ok(Some(at));
            }
        }
        Ok(None)
    }

    /// The next candidate trailer inside the frame `[start, end)` that ends
    /// after `from` and before `end`: its end and the length it holds (the
    /// 4 bytes ending at a byte 0x00 or 0x01, all inside the frame).
    fn next_trailer(&self, start: u64, from: u64, end: u64) -> Option<(u64, u64)> {
        let f = self.slice(start, end);
        let mut i = (from - start) as usize;
        loop {
            i += memchr::memchr2(0, 1, f.get(i..)?)? + 1;
            if start + i as u64 >= end {
                return None;
            }
            if let Some(t) = i.checked_sub(4).and_then(|a| f.get(a..i)) {
                let t: [u8; 4] = t.try_into().ok()?;
                return Some((start + i as u64, u64::from(u32::from_le_bytes(t))));
            }
        }
    }

    /// The previous item; `None` when a long torn tail was skipped.
    fn prev_binary(&mut self) -> io::Result<Option<Item>> {
        let end = self.end;
        if let Some(start) = self.frame_ending_at(end)? {
            // A frame that the forward walk does not read (another valid
            // frame overlaps its start) is damage to a backward reader too,
            // from where that other frame ends: reading on backward then
            // finds that frame, as reading forward does.
            let Some(cut) = self.overlapping_end(start, end)? else {
                return Ok(Some(self.take(start, end, end, SpanKind::Record)?));
            };
            let kind = if end == self.file_end {
                SpanKind::Partial
            } else {
                SpanKind::Bad
            };
            self.ensure(cut)?;
            return Ok(Some(self.take(cut, end, end, kind)?));
        }
        // Damage: find the last position below `end` where a valid frame ends.
        // Look back at most RESYNC_WINDOW bytes per step so memory stays
        // bounded on a large damaged region.
        let lowest = end.saturating_sub(RESYNC_WINDOW).max(self.floor);
        let mut p = end - 1;
        while p > lowest {
            if self.frame_ending_at(p)?.is_some() {
                break;
            }
            p -= 1;
        }
        // No frame ends in the window at the end of the file: a torn tail
        // may still start below it (a large record cut short).
        if p == lowest && lowest > self.floor && end == self.file_end && self.skip_torn {
            if let Some(start) = self.long_torn_start(lowest)? {
                self.move_end(start);
                return Ok(None);
            }
        }
        let kind = if end == self.file_end {
            SpanKind::Partial
        } else {
            SpanKind::Bad
        };
        // `frame_ending_at` buffers nothing below `floor + 4`: make sure
        // `[p, end)` is buffered before taking it.
        self.ensure(p)?;
        Ok(Some(self.take(p, end, end, kind)?))
    }

    /// The start of a torn tail that the file ends in, when it starts at or
    /// below `below` (no valid frame ends above `below`): the highest
    /// offset at or below `below` where a valid frame ends (or the floor),
    /// when the bytes from there to the end of the file may be cut short
    /// (spec § 9.5: a record prefix, decided from the length fields there,
    /// or a span holding a lost block). A record prefix is shorter than
    /// [`MAX_FRAME`], so the search stops that far back.
    ///
    /// Memory stays bounded: the bytes above the position looked at are
    /// dropped as the search goes down, and candidates are found as in the
    /// resynchronisation of `prev_binary` (a trailer ends at a byte 0x00 or
    /// 0x01, then `frame_ending_at`, with suffix CRCs). When there is no
    /// such tail the reader's state is as it was.
    fn long_torn_start(&mut self, below: u64) -> io::Result<Option<u64>> {
        let file_end = self.file_end;
        let lo = file_end.saturating_sub(MAX_FRAME).max(self.floor);
        let saved = (
            std::mem::take(&mut self.buf),
            self.buf_start,
            self.end,
            std::mem::take(&mut self.crc),
        );
        self.buf_start = file_end;
        self.end = file_end;
        let found = self.highest_frame_end(lo, below);
        let start = match found {
            Ok(Some(s)) => self.may_be_cut_short(s).map(|ok| ok.then_some(s)),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        if !matches!(start, Ok(Some(_))) {
            (self.buf, self.buf_start, self.end, self.crc) = saved;
        }
        start
    }

    /// The highest offset in `[lo, below]` where a valid frame ends, or
    /// `lo` if it is the floor and none does.
    fn highest_frame_end(&mut self, lo: u64, below: u64) -> io::Result<Option<u64>> {
        let mut top = below + 1; // offsets below `top` are left to look at
        while top > lo {
            let a = top.saturating_sub(TORN_BLOCK).max(lo);
            self.move_end(top);
            // A frame ending at `at` > floor has its trailer's high byte,
            // 0x00 or 0x01, at `at - 1`: look at bytes `[base, top - 1)`.
            let base = a.saturating_sub(1).max(self.floor);
            if base < top - 1 {
                self.ensure(base)?;
            }
            let mut j = (top - 1).saturating_sub(base) as usize;
            while let Some(i) = memchr::memrchr2(0, 1, self.slice(base, base + j as u64)) {
                let at = base + i as u64 + 1;
                if at >= a && self.frame_ending_at(at)?.is_some() {
                    return Ok(Some(at));
                }
                j = i;
            }
            top = a;
        }
        Ok((lo == self.floor).then_some(lo))
    }

    /// Whether the bytes from `start` to the end of the file, which hold no
    /// valid frame end, may be cut short: a record prefix by the length
    /// fields at `start`, or a span holding a lost block (looked at in
    /// blocks).
    fn may_be_cut_short(&self, start: u64) -> io::Result<bool> {
        let file_end = self.file_end;
        let len = file_end - start;
        let mut head = [0u8; 8];
        let mut last = [0u8; 4];
        let short = |n: usize, want: usize| {
            if n == want {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file shrank while reading",
                ))
            }
        };
        if len < 8 {
            return Ok(true);
        }
        short(self.src.read_full_at(&mut head, start)?, 8)?;
        short(self.src.read_full_at(&mut last, file_end - 4)?, 4)?;
        if crate::tail::is_binary_prefix(&head, len, u32::from_le_bytes(last)) {
            return Ok(true);
        }
        // Blocks overlapping by a lost block's length less one, so that
        // each run of zeros that is one lies within a block.
        let over = crate::tail::LOST_RUN as u64 - 1;
        let mut block = Vec::new();
        let mut a = start;
        loop {
            let b = (a + TORN_BLOCK + over).min(file_end);
            block.resize((b - a) as usize, 0);
            short(self.src.read_full_at(&mut block, a)?, block.len())?;
            if crate::tail::has_lost_block(&block, a, file_end) {
                return Ok(true);
            }
            if b == file_end {
                return Ok(false);
            }
            a += TORN_BLOCK;
        }
    }
}

/// Reads the file's genesis record: returns its bytes (JSONL line without
/// the newline, or the binary frame) and the offset just past it.
pub(crate) fn read_first_record(
    src: &(impl ReadAt + ?Sized),
    framing: Framing,
    file_len: u64,
) -> io::Result<Option<(Vec<u8>, u64)>> {
    let start = framing.data_start();
    let mut fwd = Forward::new(src, framing, start, file_len, 1);
    // Spans are final once emitted (see `split`), so a short first read
    // gives the same first record; the reads grow until it is decided.
    fwd.chunk = FIRST_RECORD_CHUNK;
    match fwd.next_item() {
        None => Ok(None),
        Some(Err(e)) => Err(e),
        Some(Ok((item, _))) if item.kind == SpanKind::Record => {
            let end = item.end(framing);
            Ok(Some((item.bytes, end)))
        }
        Some(Ok(_)) => Ok(None),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_split_keeps_partial_until_eof() {
        let buf = b"{a}\n{b}\n{c";
        let mut out = Vec::new();
        assert_eq!(split(Framing::Jsonl, buf, false, &mut out), 8);
        assert_eq!(out.len(), 2);
        out.clear();
        assert_eq!(split(Framing::Jsonl, buf, true, &mut out), buf.len());
        assert_eq!(out[2].kind, SpanKind::Partial);
    }

    struct Mem(Vec<u8>);

    impl ReadAt for Mem {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            let data = self.0.get(offset as usize..).unwrap_or_default();
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            Ok(n)
        }
    }

    #[test]
    fn first_record_longer_than_the_first_read() {
        let len = |d: &Vec<u8>| d.len() as u64;
        // JSONL: a first line three first reads long, then another line.
        let line = format!("{{\"x\":\"{}\"}}", "a".repeat(3 * FIRST_RECORD_CHUNK));
        let data = format!("{line}\n{{\"b\":1}}\n").into_bytes();
        let (bytes, end) = read_first_record(&Mem(data.clone()), Framing::Jsonl, len(&data))
            .unwrap()
            .unwrap();
        assert_eq!(bytes, line.as_bytes());
        assert_eq!(end, line.len() as u64 + 1);
        // Binary: a frame larger than the first read, then another frame.
        let chain = crate::chain::Chain::new(crate::chain::HashAlg::Sha256, None).unwrap();
        let body = format!("{{\"x\":\"{}\"}}", "b".repeat(2 * FIRST_RECORD_CHUNK)).into_bytes();
        let mut data = Framing::Binary.file_header();
        let start = data.len();
        format::frame(&mut data, Framing::Binary, &body, &chain.hash(&body));
        let first_end = data.len();
        format::frame(&mut data, Framing::Binary, b"{}", &chain.hash(b"{}"));
        let (bytes, end) = read_first_record(&Mem(data.clone()), Framing::Binary, len(&data))
            .unwrap()
            .unwrap();
        assert_eq!(bytes, &data[start..first_end]);
        assert_eq!(end, first_end as u64);
        // Cut inside the first frame: there is no first record.
        let cut = data[..start + FIRST_RECORD_CHUNK + 10].to_vec();
        assert!(
            read_first_record(&Mem(cut.clone()), Framing::Binary, len(&cut))
                .unwrap()
                .is_none()
        );
    }

    /// A damaged binary region crafted to hold a candidate frame every 8
    /// bytes (length fields, flags and trailer that agree, CRC wrong), each
    /// claiming most of the rest of the buffer.
    fn crafted(k: usize) -> Vec<u8> {
        let mut buf = vec![0u8; 12 * k];
        for i in 0..k {
            let n = 8 * k - 4 * i + 4;
            let body_len = (n - format::FRAME_OVERHEAD - 32) as u32;
            buf[8 * i..8 * i + 4].copy_from_slice(&body_len.to_le_bytes());
            buf[8 * i + 4..8 * i + 6].copy_from_slice(&32u16.to_le_bytes());
            let t = 8 * k + 4 * i;
            buf[t..t + 4].copy_from_slice(&(n as u32).to_le_bytes());
        }
        buf
    }

    fn crc_work() -> u64 {
        crate::crc_range::WORK.with(|w| w.replace(0))
    }

    /// Forward (all at once and in reads), and backward: CRC work per byte
    /// is bounded by a constant (spec § 12), not by the frame lengths.
    #[test]
    fn crafted_candidates_cost_linear_crc_work() {
        for k in [2_000usize, 8_000] {
            let buf = crafted(k);
            let len = buf.len() as u64;
            let bound = 64 * len;
            crc_work();
            let mut out = Vec::new();
            assert_eq!(split(Framing::Binary, &buf, true, &mut out), buf.len());
            assert!(out.iter().all(|s| s.kind != SpanKind::Record));
            let w = crc_work();
            eprintln!("split: {} CRC bytes per byte", w / len);
            assert!(w <= bound, "split: {w} CRC bytes for {len} bytes");

            let mut fwd = Forward::new(Mem(buf.clone()), Framing::Binary, 0, len, 0);
            fwd.chunk = 4096;
            while let Some(item) = fwd.next_item() {
                assert_ne!(item.unwrap().0.kind, SpanKind::Record);
            }
            let w = crc_work();
            eprintln!("Forward: {} CRC bytes per byte", w / len);
            assert!(w <= 2 * bound, "Forward: {w} CRC bytes for {len} bytes");

            let mut back = Backward::new(Mem(buf.clone()), Framing::Binary, 0, len);
            while let Some(item) = back.prev_item() {
                assert_ne!(item.unwrap().kind, SpanKind::Record);
            }
            let w = crc_work();
            eprintln!("Backward: {} CRC bytes per byte", w / len);
            assert!(w <= bound, "Backward: {w} CRC bytes for {len} bytes");
        }
    }

    /// The crafted candidates more than a resynchronisation step below the
    /// end of the file, where a backward reader skipping a long torn tail
    /// looks for its start: bounded CRC work too, and no record.
    #[test]
    fn crafted_candidates_below_a_long_tail_cost_linear_crc_work() {
        let mut buf = crafted(8_000);
        buf.resize(buf.len() + RESYNC_WINDOW as usize + 4096, b'x');
        let len = buf.len() as u64;
        crc_work();
        let mut back = Backward::new(Mem(buf), Framing::Binary, 0, len).skip_long_torn_tail();
        while let Some(item) = back.prev_item() {
            assert_ne!(item.unwrap().kind, SpanKind::Record);
        }
        let w = crc_work();
        assert!(w <= 64 * len, "Backward: {w} CRC bytes for {len} bytes");
    }

    /// A frame cut short more than a resynchronisation step after its
    /// start: a backward reader skipping long torn tails goes on with the
    /// frames before it, as reading forward does; bytes that are not a
    /// record prefix are still returned (damage).
    #[test]
    fn a_long_torn_tail_is_skipped_backward() {
        let chain = crate::chain::Chain::new(crate::chain::HashAlg::Sha256, None).unwrap();
        let mut data = Vec::new();
        for b in [&b"{\"a\":1}"[..], b"{\"b\":2}"] {
            format::frame(&mut data, Framing::Binary, b, &chain.hash(b));
        }
        let records = data.len();
        let body = format!("{{\"x\":\"{}\"}}", "x".repeat(3 << 20)).into_bytes();
        format::frame(&mut data, Framing::Binary, &body, &chain.hash(&body));
        let kinds = |data: &[u8], skip: bool| {
            let len = data.len() as u64;
            let mut back = Backward::new(Mem(data.to_vec()), Framing::Binary, 0, len);
            if skip {
                back = back.skip_long_torn_tail();
            }
            let mut kinds = Vec::new();
            while let Some(item) = back.prev_item() {
                kinds.push(item.unwrap().kind);
            }
            kinds
        };
        let r = SpanKind::Record;
        for cut in [1000 << 10, 1100 << 10, 2 << 20, (3 << 20) + 10] {
            let torn = &data[..records + cut];
            // A shorter one is returned, for the caller to classify.
            let want: &[SpanKind] = if cut < RESYNC_WINDOW as usize {
                &[SpanKind::Partial, r, r]
            } else {
                &[r, r]
            };
            assert_eq!(kinds(torn, true), want, "cut {cut}");
            // Without skipping: pieces, the first one at the end Partial.
            assert_eq!(kinds(torn, false)[0], SpanKind::Partial, "cut {cut}");
        }
        // The same length of bytes that no frame announces: damage.
        let mut garbage = data[..records].to_vec();
        garbage.resize(records + (2 << 20), 7);
        let k = kinds(&garbage, true);
        assert_eq!(k[0], SpanKind::Partial);
        assert!(k[1..].starts_with(&[SpanKind::Bad]), "{k:?}");
        // A frame cut short right after the floor, and a lost block in the
        // middle of bytes that no longer start with their length fields.
        let end = records + (2 << 20);
        let src = Mem(data[..end].to_vec());
        let mut back = Backward::new(src, Framing::Binary, records as u64, end as u64);
        back = back.skip_long_torn_tail();
        assert!(back.prev_item().is_none());
        let mut lost = data[..records + (2 << 20)].to_vec();
        lost[records..records + 4096].fill(0);
        assert_eq!(kinds(&lost, true), [r, r]);
    }

    /// Valid frames each followed by a candidate claiming most of the rest
    /// of the buffer: the checks at the start of each damaged region cost
    /// bounded work too.
    #[test]
    fn candidates_after_each_valid_frame_cost_linear_crc_work() {
        let chain = crate::chain::Chain::new(crate::chain::HashAlg::Sha256, None).unwrap();
        let mut v = Vec::new();
        format::frame(&mut v, Framing::Binary, b"{}", &chain.hash(b"{}"));
        let k = 3_000;
        let unit = v.len() + 8;
        let t = k * unit;
        let mut buf = Vec::with_capacity(t + 4 * k);
        for i in 0..k {
            buf.extend_from_slice(&v);
            let q = buf.len();
            let n = t + 4 * i + 4 - q;
            buf.extend_from_slice(&((n - format::FRAME_OVERHEAD - 32) as u32).to_le_bytes());
            buf.extend_from_slice(&32u16.to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes());
        }
        for i in 0..k {
            let n = t + 4 * i + 4 - (i * unit + v.len());
            buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        let len = buf.len() as u64;
        crc_work();
        let mut out = Vec::new();
        split(Framing::Binary, &buf, true, &mut out);
        assert_eq!(out.iter().filter(|s| s.kind == SpanKind::Record).count(), k);
        let w = crc_work();
        assert!(w <= 64 * len, "split: {w} CRC bytes for {len} bytes");
        let mut back = Backward::new(Mem(buf.clone()), Framing::Binary, 0, len);
        let mut records = 0;
        while let Some(item) = back.prev_item() {
            records += usize::from(item.unwrap().kind == SpanKind::Record);
        }
        assert_eq!(records, k);
        let w = crc_work();
        assert!(w <= 64 * len, "Backward: {w} CRC bytes for {len} bytes");
    }

    /// The same crafted candidates with valid frames between them: every
    /// valid frame is still found, forward and backward.
    #[test]
    fn valid_frames_among_crafted_candidates_are_found() {
        let chain = crate::chain::Chain::new(crate::chain::HashAlg::Sha256, None).unwrap();
        let mut buf = crafted(3_000);
        let mut frames = Vec::new();
        for i in (0..40).rev() {
            let body = format!("{{\"i\":{i},\"pad\":\"{}\"}}", "x".repeat(i * 37));
            let at = 5 + i * 917;
            let mut f = Vec::new();
            format::frame(
                &mut f,
                Framing::Binary,
                body.as_bytes(),
                &chain.hash(body.as_bytes()),
            );
            buf.splice(at..at, f.iter().copied());
            frames.insert(0, f);
        }
        let mut big = Vec::new();
        let body = format!("{{\"big\":\"{}\"}}", "y".repeat(100_000));
        format::frame(
            &mut big,
            Framing::Binary,
            body.as_bytes(),
            &chain.hash(body.as_bytes()),
        );
        buf.extend_from_slice(&big);
        frames.push(big);
        let len = buf.len() as u64;
        let mut out = Vec::new();
        split(Framing::Binary, &buf, true, &mut out);
        let found: Vec<&[u8]> = out
            .iter()
            .filter(|s| s.kind == SpanKind::Record)
            .map(|s| &buf[s.start..s.start + s.len])
            .collect();
        let lens = |v: &[&[u8]]| v.iter().map(|f| f.len()).collect::<Vec<_>>();
        let want: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
        assert_eq!(lens(&found), lens(&want));
        assert!(found == want);
        let mut back = Backward::new(Mem(buf.clone()), Framing::Binary, 0, len);
        let mut found = Vec::new();
        while let Some(item) = back.prev_item() {
            let item = item.unwrap();
            if item.kind == SpanKind::Record {
                found.push(item.bytes);
            }
        }
        found.reverse();
        let found: Vec<&[u8]> = found.iter().map(|f| &f[..]).collect();
        assert_eq!(lens(&found), lens(&want));
        assert!(found == want);
    }

    #[test]
    fn binary_garbage_is_bad_span() {
        let garbage = vec![0xAAu8; 100];
        let mut out = Vec::new();
        let n = split(Framing::Binary, &garbage, true, &mut out);
        assert_eq!(n, 100);
        assert_eq!(out.len(), 1);
        assert_ne!(out[0].kind, SpanKind::Record);
    }
}
