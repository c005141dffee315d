//! The fast path of record reading: the common fields (`v`, `seq`, `prev`,
//! `kind`) taken from a body in the canonical layout, and the rest of the
//! body checked against the JSON grammar and the content rule of spec § 5.5
//! in one forward pass, without building any value.
//!
//! [`head`] answers only when it is sure: `Some` means that the full reader
//! ([`crate::format::parse`], serde_json) accepts the body and reads the
//! same four values from it. Anything this pass does not handle — another
//! member order, whitespace between tokens, an escaped member name at the
//! top level, a surrogate escape, a number with an exponent or more than
//! 308 integer digits, nesting beyond the limit, invalid UTF-8, any syntax
//! error — gives `None`, and the caller runs the full reader, which either
//! accepts the record or says what is wrong with it. So the fast path never
//! accepts a record the full path refuses (`tests/fast_record.rs` checks
//! both on mutated records).
#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use crate::chain::Hash;
use crate::format::MAX_DEPTH;

// The nesting bit stack of `members` holds 128 levels.
const _: () = assert!(MAX_DEPTH <= 128);

/// The common fields of a record, as [`crate::format::parse`] reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FastHead<'a> {
    pub v: u32,
    pub seq: u64,
    pub prev: Hash,
    /// The kind, as written (no escapes).
    pub kind: &'a str,
}

/// Reads the head of a body given without its final `}` (`open`: the
/// JSONL line's body head, or a binary body minus its last byte, which the
/// caller has checked is `}`), and checks the rest. `None`: not sure; ask
/// the full reader.
pub(crate) fn head(open: &[u8]) -> Option<FastHead<'_>> {
    let rest = open.strip_prefix(b"{\"v\":")?;
    let (v, rest) = uint(rest)?;
    let v = u32::try_from(v).ok().filter(|&v| v != 0)?;
    let rest = rest.strip_prefix(b",\"seq\":")?;
    let (seq, rest) = uint(rest)?;
    let rest = rest.strip_prefix(b",\"prev\":\"")?;
    let hex_len = if rest.get(64) == Some(&b'"') {
        64
    } else if rest.get(128) == Some(&b'"') {
        128
    } else {
        return None;
    };
    let prev = Hash::from_lower_hex(rest.get(..hex_len)?)?;
    let rest = rest.get(hex_len + 1..)?.strip_prefix(b",\"kind\":\"")?;
    // A kind in printable ASCII without escapes (every kind this version
    // knows, and any a later one is likely to name).
    let kind_len = rest
        .iter()
        .position(|&c| !(0x20..0x7f).contains(&c) || c == b'\\' || c == b'"')?;
    if rest.get(kind_len) != Some(&b'"') {
        return None;
    }
    let kind = std::str::from_utf8(rest.get(..kind_len)?).ok()?;
    let rest = rest.get(kind_len + 1..)?;
    members(rest)?;
    Some(FastHead { v, seq, prev, kind })
}

/// A JSON integer without sign, fraction or exponent that fits a u64, as
/// serde_json reads it, and the bytes after it (which must not continue
/// the number).
fn uint(b: &[u8]) -> Option<(u64, &[u8])> {
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 20 || (digits > 1 && b.first() == Some(&b'0')) {
        return None;
    }
    let (num, rest) = b.split_at(digits);
    if matches!(rest.first(), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    let mut v = 0u64;
    for &c in num {
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some((v, rest))
}

/// The members of the record's object after the head, up to the end of
/// `b`, where the object's `}` is implied. Iterative: the nesting is a bit
/// stack.
fn members(b: &[u8]) -> Option<()> {
    let mut i = 0usize;
    let mut depth = 1usize; // the record's object
                            // Bit d - 1 is set when level d is an object (levels 1 to MAX_DEPTH).
    let mut objects: u128 = 1;
    let is_object = |objects: u128, d: usize| objects >> (d - 1) & 1 == 1;
    loop {
        // After a value at `depth` (or after the head): the next member or
        // element, or the end of a container.
        match b.get(i) {
            None => return (depth == 1).then_some(()),
            Some(b',') => {
                i += 1;
                if is_object(objects, depth) {
                    i = key(b, i, depth == 1)?;
                }
            }
            Some(b'}') if depth > 1 && is_object(objects, depth) => {
                depth -= 1;
                i += 1;
                continue;
            }
            Some(b']') if depth > 1 && !is_object(objects, depth) => {
                depth -= 1;
                i += 1;
                continue;
            }
            _ => return None,
        }
        // A value, opening as many containers as it starts with.
        loop {
            match *b.get(i)? {
                b'"' => i = short_string(b, i + 1)?.0,
                c @ (b'{' | b'[') => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return None;
                    }
                    i += 1;
                    if c == b'{' {
                        objects |= 1 << (depth - 1);
                        if b.get(i) == Some(&b'}') {
                            i += 1;
                            depth -= 1;
                        } else {
                            i = key(b, i, false)?;
                            continue;
                        }
                    } else {
                        objects &= !(1 << (depth - 1));
                        if b.get(i) == Some(&b']') {
                            i += 1;
                            depth -= 1;
                        } else {
                            continue;
                        }
                    }
                }
                b't' => i = literal(b, i, b"true")?,
                b'f' => i = literal(b, i, b"false")?,
                b'n' => i = literal(b, i, b"null")?,
                b'-' | b'0'..=b'9' => i = number(b, i)?,
                _ => return None,
            }
            break;
        }
    }
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    b.get(i..)?.starts_with(word).then_some(i + word.len())
}

/// A member name starting at `i` and its `:`; the index after the `:`. At
/// the top level, a name that may be one of the common fields again (a
/// duplicate, which the full reader refuses) or that has escapes is left
/// to the full reader.
fn key(b: &[u8], i: usize, top: bool) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let (end, escaped) = short_string(b, i + 1)?;
    if top {
        let name = b.get(i + 1..end - 1)?;
        if escaped || matches!(name, b"v" | b"seq" | b"prev" | b"kind") {
            return None;
        }
    }
    (b.get(end) == Some(&b':')).then_some(end + 1)
}

/// [`string`], with the common case inline: a string whose closing quote
/// comes within the next 16 bytes, with nothing special before it.
#[inline(always)]
fn short_string(b: &[u8], i: usize) -> Option<(usize, bool)> {
    #[cfg(target_arch = "x86_64")]
    if let Some(mask) = special_mask_16(b, i).filter(|&m| m != 0) {
        let j = i + mask.trailing_zeros() as usize;
        if b.get(j) == Some(&b'"') {
            return Some((j + 1, false));
        }
    }
    string(b, i)
}

/// A string whose opening quote is just before `i`: the index after its
/// closing quote, and whether it has escapes. `None` for control
/// characters, invalid UTF-8, bad escapes and surrogate escapes (the last
/// are left to the full reader, which pairs them).
fn string(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    loop {
        i = find_special(b, i);
        let c = *b.get(i)?;
        match c {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                match *b.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        let hex = b.get(i + 2..i + 6)?;
                        let mut cp = 0u32;
                        for &h in hex {
                            cp = cp << 4 | char::from(h).to_digit(16)?;
                        }
                        if (0xD800..=0xDFFF).contains(&cp) {
                            return None;
                        }
                        i += 6;
                    }
                    _ => return None,
                }
            }
            0x80..=0xFF => {
                let width = match c {
                    0xC2..=0xDF => 2,
                    0xE0..=0xEF => 3,
                    0xF0..=0xF4 => 4,
                    _ => return None,
                };
                std::str::from_utf8(b.get(i..i + width)?).ok()?;
                i += width;
            }
            _ => return None, // a control character
        }
    }
}

/// A number starting at `i`: the index after it. Only numbers without an
/// exponent and with at most 308 integer digits, which are finite as
/// doubles (below 10^308) whatever their fraction.
fn number(b: &[u8], mut i: usize) -> Option<usize> {
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    let digits = b
        .get(i..)?
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits == 0 || digits > 308 || (digits > 1 && b.get(i) == Some(&b'0')) {
        return None;
    }
    i += digits;
    if b.get(i) == Some(&b'.') {
        let frac = b
            .get(i + 1..)?
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if frac == 0 {
            return None;
        }
        i += 1 + frac;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        return None;
    }
    Some(i)
}

/// The index of the first byte at or after `i` that ends the plain run of
/// a string: `"`, `\`, a control character (below 0x20) or a non-ASCII
/// byte; `b.len()` if none.
#[inline]
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))] // only the SIMD loop advances `i`
fn find_special(b: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    while let Some(mask) = special_mask_16(b, i) {
        if mask != 0 {
            return i + mask.trailing_zeros() as usize;
        }
        i += 16;
    }
    b.get(i..)
        .and_then(|rest| {
            rest.iter()
                .position(|&c| c == b'"' || c == b'\\' || !(0x20..0x80).contains(&c))
        })
        .map_or(b.len(), |p| i + p)
}

/// Bit k set when byte `i + k` of `b` ends a plain string run (see
/// [`find_special`]), for the 16 bytes from `i`; `None` when fewer than 16
/// are left.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn special_mask_16(b: &[u8], i: usize) -> Option<u32> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    if i.checked_add(16)? > b.len() {
        return None;
    }
    // SAFETY: SSE2 is part of x86_64; the load reads the 16 bytes from `i`,
    // inside `b` (checked above), unaligned loads allowed.
    unsafe {
        let v = _mm_loadu_si128(b.as_ptr().add(i).cast::<__m128i>());
        // Signed: bytes below 0x20 and from 0x80 on are both less.
        let m = _mm_or_si128(
            _mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)),
            ),
            _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
        );
        Some(_mm_movemask_epi8(m) as u32)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn open(s: &str) -> &[u8] {
        s.as_bytes().strip_suffix(b"}").unwrap()
    }

    const HEAD: &str = r#"{"v":1,"seq":7,"prev":"0000000000000000000000000000000000000000000000000000000000000000","kind":"entry""#;

    #[test]
    fn canonical_records_are_read() {
        let body = format!(
            r#"{HEAD},"ts":"2026-01-02T03:04:05.123456Z","d":{{"a":[1,-2.5,true,false,null,{{}},[]],"µ":"tab\t\u0041 \"q\""}}}}"#
        );
        let h = head(open(&body)).unwrap();
        assert_eq!((h.v, h.seq, h.kind), (1, 7, "entry"));
        assert_eq!(h.prev, Hash::zero(32));
    }

    #[test]
    fn anything_unsure_is_left_to_the_full_reader() {
        for tail in [
            r#","v":1"#,
            r#","seq":1"#,
            r#","\u0076":1"#,
            r#", "a":1"#,
            r#","a":1e5"#,
            r#","a":"\ud800\udc00""#,
            r#","a":01"#,
            r#","a":1."#,
            r#","a":[1,]"#,
            r#","a":{"b":1,}"#,
            r#","a":"x"#,
            r#","a":tru"#,
            r#","a":[}"#,
            r#","a":{]"#,
            "\x2c\"a\":\"\x01\"",
            r#","a":"\x""#,
            r#","a":1}"#,
            r#","#,
        ] {
            let body = format!("{HEAD}{tail}}}");
            assert_eq!(head(open(&body)), None, "{tail}");
        }
        let deep = |n: usize| format!("{HEAD},\"a\":{}{}}}", "[".repeat(n), "]".repeat(n));
        assert!(head(open(&deep(MAX_DEPTH - 1))).is_some());
        assert_eq!(head(open(&deep(MAX_DEPTH))), None);
        let mut bad_utf8 = format!("{HEAD},\"a\":\"xx\"}}").into_bytes();
        let at = bad_utf8.len() - 3;
        bad_utf8[at] = 0xff;
        assert_eq!(head(bad_utf8.strip_suffix(b"}").unwrap()), None);
    }
}
