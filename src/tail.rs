//! The end of a log: an interrupted write, or damage?
//!
//! After a crash a log holds every durable record, then possibly what an
//! interrupted write or a power cut left behind (spec § 9.5):
//!
//! - the beginning of a record whose write was cut short (a *prefix*);
//! - blocks of zero bytes where the storage lost pages that were never
//!   synced (a *lost block*), with whatever later pages did survive.
//!
//! Nothing else. In particular a *complete* record that fails its check
//! (a JSONL line ending in its line feed, a binary frame whose length
//! fields and trailer agree, a line whose line feed was changed) cannot be
//! left by a crash: it is evidence of tampering or media damage, and is
//! never treated as torn. These rules are shared by the writer's tail
//! recovery (`log.rs`) and the verifier (`verify.rs`).
#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use std::io;

use crate::format::{self, frame_size, FrameSize, Framing};
use crate::scan::{Forward, ReadAt, SpanKind, MAX_LINE};

/// A run of this many zero bytes anywhere is a lost block: no record the
/// writer produces holds more than a handful of zero bytes in a row (JSON
/// text holds none; a binary frame's length fields hold at most five), and
/// no single changed bit makes such a run.
pub(crate) const LOST_RUN: usize = 16;

/// Zeros reaching the end of the file, at least this many, are a lost
/// write too: the file grew but the new bytes of its last block never
/// reached the disk, which reads the block back as it was (the old end of
/// the file, then zeros). A binary frame ends in at most three zero bytes
/// of its own (the high bytes of its length trailer), and a changed length
/// trailer in at most four. (Fewer zeros at the end are a torn write only
/// when they cannot hold a frame's length fields: see [`is_record_prefix`].)
const MIN_EOF_ZEROS: usize = 8;

/// Whether `bytes`, found at `offset` in a file of `file_len` bytes,
/// contain a lost block: [`LOST_RUN`] zero bytes in a row, or at least
/// [`MIN_EOF_ZEROS`] zero bytes reaching the end of the file.
pub(crate) fn has_lost_block(bytes: &[u8], offset: u64, file_len: u64) -> bool {
    let mut run = 0usize;
    for &b in bytes {
        if b == 0 {
            run += 1;
            if run >= LOST_RUN {
                return true;
            }
        } else {
            run = 0;
        }
    }
    offset + bytes.len() as u64 == file_len && run >= MIN_EOF_ZEROS
}

/// Whether `bytes`, the last bytes of the file (no complete record among
/// them), can be the beginning of a record whose write was cut short.
pub(crate) fn is_record_prefix(framing: Framing, bytes: &[u8]) -> bool {
    match framing {
        Framing::Jsonl => {
            if bytes.len() > MAX_LINE {
                return false;
            }
            // A complete line whose line feed was changed into another byte
            // is a record, not a prefix.
            match bytes.split_last() {
                Some((_, content)) => format::parse(Framing::Jsonl, content).is_err(),
                None => true,
            }
        }
        Framing::Binary => {
            let (Some(head), Some(last)) = (
                bytes.first_chunk::<8>(),
                bytes.last_chunk::<4>().map(|t| u32::from_le_bytes(*t)),
            ) else {
                return true; // shorter than 8 bytes
            };
            is_binary_prefix(head, bytes.len() as u64, last)
        }
    }
}

/// [`is_record_prefix`] for binary bytes at least 8 bytes long, from their
/// first 8 bytes (`head`), their length and their last 4 bytes read as
/// u32le (`last`): the frame's length fields decide, so a long span need
/// not be read whole.
pub(crate) fn is_binary_prefix(head: &[u8; 8], len: u64, last: u32) -> bool {
    match frame_size(head) {
        FrameSize::NeedMore => true,
        FrameSize::Bad => false,
        // A frame that claims more bytes than remain, unless what remains
        // ends in its own length: then it is a complete frame whose length
        // field was changed.
        FrameSize::Len(n) => n as u64 > len && u64::from(last) != len,
    }
}

/// Whether `bytes`, found at `offset` and reaching the end of the file (no
/// complete record among them), can be what an interrupted write or a power
/// cut leaves: a record prefix or a lost block. Readers skip such bytes
/// quietly; anything else there is a record that fails its check.
pub(crate) fn may_be_cut_short(framing: Framing, bytes: &[u8], offset: u64) -> bool {
    let end = offset + bytes.len() as u64;
    is_record_prefix(framing, bytes) || has_lost_block(bytes, offset, end)
}

/// What readers say of bytes at the end of the file that are not a complete
/// record and not what a crash leaves ([`may_be_cut_short`] is false).
pub(crate) const CHANGED_END: &str =
    "a complete record at the end of the file that fails its check";

/// Bytes after the last readable record that a crash cannot explain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TailDamage {
    /// Offset of the first damaged span.
    pub offset: u64,
    /// 1-based JSONL line of that span relative to the start of the scan
    /// (0 for binary).
    pub line: u64,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// What the bytes `[from, len)` after the last readable record are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tail {
    /// Nothing: the file ends with the record.
    Clean,
    /// Left by an interrupted write or a power cut: may be moved aside.
    Torn {
        /// Whether the tail holds a lost block (a power cut), as opposed to
        /// only the beginning of a record (an interrupted write, or one
        /// still being written).
        lost_block: bool,
    },
    /// Evidence: a complete record that fails its check, or bytes no crash
    /// leaves. Never moved aside without an explicit request.
    Damaged(TailDamage),
}

/// Classifies the bytes `[from, len)` of `src`: the bytes after the last
/// readable record. Reads them once, forward, in bounded memory.
///
/// Every span there must be a lost block or, at the very end, a record
/// prefix; after the first lost block anything goes (nothing after a lost
/// block was ever synced: an fsync would have made the lost block durable).
pub(crate) fn classify(
    src: &(impl ReadAt + ?Sized),
    framing: Framing,
    from: u64,
    len: u64,
) -> io::Result<Tail> {
    if from >= len {
        return Ok(Tail::Clean);
    }
    let mut fwd = Forward::new(src, framing, from, len, 1);
    let mut lost = false;
    while let Some(item) = fwd.next_item() {
        let (item, line) = item?;
        if lost {
            continue;
        }
        let end = item.end(framing);
        if has_lost_block(&item.bytes, item.offset, len) {
            lost = true;
            continue;
        }
        let at_end = end >= len;
        let reason = match item.kind {
            // A complete line or a frame whose CRC checks: a record was
            // written whole here, so its failing is not a crash's doing.
            SpanKind::Record => "a complete record that fails its check",
            SpanKind::Partial | SpanKind::Bad if at_end => {
                if is_record_prefix(framing, &item.bytes) {
                    continue;
                }
                CHANGED_END
            }
            SpanKind::Partial | SpanKind::Bad => "damaged bytes that are not a record",
        };
        return Ok(Tail::Damaged(TailDamage {
            offset: item.offset,
            line: if framing == Framing::Jsonl { line } else { 0 },
            reason,
        }));
    }
    Ok(Tail::Torn { lost_block: lost })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    struct Mem(Vec<u8>);
    impl ReadAt for Mem {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            let data = self.0.get(offset as usize..).unwrap_or_default();
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            Ok(n)
        }
    }

    fn classify_all(framing: Framing, bytes: &[u8]) -> Tail {
        classify(&Mem(bytes.to_vec()), framing, 0, bytes.len() as u64).unwrap()
    }

    #[test]
    fn lost_blocks() {
        assert!(has_lost_block(&[0; 16], 3, 10_000));
        assert!(!has_lost_block(&[0; 15], 3, 10_000));
        // Zeros reaching the end of the file.
        let mut b = vec![7u8; 100];
        b.extend_from_slice(&[0; 8]);
        assert!(has_lost_block(&b, 10, 118));
        assert!(!has_lost_block(&b, 10, 119));
        assert!(!has_lost_block(&b[..107], 10, 117));
        // A binary trailer's own zeros are not enough.
        let b = [0xe8u8, 0, 0, 0];
        assert!(!has_lost_block(&b, 10, 14));
    }

    #[test]
    fn jsonl_tails() {
        let j = Framing::Jsonl;
        assert_eq!(
            classify_all(j, b"{\"v\":1,\"se"),
            Tail::Torn { lost_block: false }
        );
        assert!(matches!(
            classify_all(j, b"garbage\nmore"),
            Tail::Damaged(_)
        ));
        let mut zeros = vec![0u8; 16];
        zeros.extend_from_slice(b"garbage\n{\"partial");
        assert_eq!(classify_all(j, &zeros), Tail::Torn { lost_block: true });
    }
}
