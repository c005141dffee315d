//! Existing OpenParallax audit files (`audit.jsonl` written by
//! OpenParallax's own Go logger): recognise, verify, read and import them
//! (spec/openparallax.md).
//!
//! An OpenParallax file is one JSON object per line (`id`, `event_type`,
//! `timestamp` in Unix milliseconds, `session_id`, `action_type`,
//! `details_json`, `previous_hash`, `hash`, `otr`, `source`). Each entry's
//! `hash` is the hex SHA-256 of the entry serialised the way OpenParallax's
//! Go code does it: the entry decoded into its Go struct (unknown keys
//! dropped, keys matched case-insensitively, the last duplicate winning),
//! `hash` set to `""`, marshalled with Go's `encoding/json` (empty
//! `session_id`, `action_type`, `details_json` and `source` omitted, `<`,
//! `>`, `&`, U+2028 and U+2029 escaped as `\u003c`…, numbers through a
//! float64) and its keys sorted. `previous_hash` is the previous entry's
//! `hash` (`""` for the first). [`verify`] checks both rules, line by line,
//! exactly as OpenParallax's `VerifyIntegrity` does, and reports the first
//! violation with its 1-based line ("chain broken" / "hash mismatch" /
//! "invalid JSON").
//!
//! Differences from OpenParallax's reader, all on files its writer never
//! makes: line numbers are physical lines (OpenParallax numbers them after
//! trimming leading white space off the file); a line longer than
//! [`MAX_LINE`] bytes is a violation (memory stays bounded by one line);
//! JSON nesting deeper than Go's 10 000 levels is invalid JSON, as in Go.
//!
//! [`import`] copies a file whose chain verifies into a new evident log,
//! one evident entry per legacy entry plus a final anchor entry
//! (`OPENPARALLAX_IMPORT`) recording the legacy file's line count, entry
//! count, size, SHA-256 and last hash. [`migrate_in_place`] does the same
//! at the legacy file's own path, keeping the legacy bytes beside it.
//! The legacy file's bytes are never changed.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::error::{Error, Position, Result};
use crate::format::{ts_writable, Event, Framing};
use crate::log::{Durability, Head, Log, OpenOptions};
use crate::verify::{verify as verify_log, VerifyOptions};

/// The longest line read (64 MiB); a longer one is a violation.
pub const MAX_LINE: usize = 64 * 1024 * 1024;

/// Go's `encoding/json` nesting limit.
const MAX_DEPTH: usize = 10_000;

/// The `event_type` of the anchor entry [`import`] appends.
pub const ANCHOR_EVENT_TYPE: &str = "OPENPARALLAX_IMPORT";

/// OpenParallax's event type names, by number (1 to 29).
const EVENT_TYPES: [&str; 29] = [
    "ACTION_PROPOSED",
    "ACTION_EVALUATED",
    "ACTION_APPROVED",
    "ACTION_BLOCKED",
    "ACTION_EXECUTED",
    "ACTION_FAILED",
    "SHIELD_ERROR",
    "CANARY_VERIFIED",
    "CANARY_MISSING",
    "RATE_LIMIT_HIT",
    "BUDGET_EXHAUSTED",
    "SELF_PROTECTION",
    "TRANSACTION_BEGIN",
    "TRANSACTION_COMMIT",
    "TRANSACTION_ROLLBACK",
    "INTEGRITY_VIOLATION",
    "SESSION_STARTED",
    "SESSION_ENDED",
    "CONFIG_CHANGED",
    "IFC_CLASSIFIED",
    "CHRONICLE_SNAPSHOT",
    "CHRONICLE_SNAPSHOT_FAILED",
    "SANDBOX_CANARY_RESULT",
    "SECURITY_MODE_CHANGED",
    "SEALED_CONFIG_TAMPER_DETECTED",
    "PROTECTION_BYPASS_ATTEMPTED",
    "IFC_BLOCKED",
    "IFC_AUDIT_WOULD_BLOCK",
    "IFC_SWEEP",
];

/// The name of OpenParallax event type `n` (`None` for a number it does
/// not define).
pub fn event_type_name(n: i64) -> Option<&'static str> {
    let i = usize::try_from(n.checked_sub(1)?).ok()?;
    EVENT_TYPES.get(i).copied()
}

/// The number of OpenParallax event type `name`.
pub fn event_type_number(name: &str) -> Option<i64> {
    let i = EVENT_TYPES.iter().position(|n| *n == name)?;
    i64::try_from(i).ok().map(|i| i + 1)
}

/// One entry of an OpenParallax file, as OpenParallax's Go struct holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LegacyEntry {
    /// The 1-based (physical) line it was read from.
    pub line: u64,
    pub id: String,
    pub event_type: i64,
    /// Unix milliseconds.
    pub timestamp: i64,
    pub session_id: String,
    pub action_type: String,
    /// The details as stored: JSON text, or any text.
    pub details_json: String,
    pub previous_hash: String,
    pub hash: String,
    pub otr: bool,
    pub source: String,
}

impl LegacyEntry {
    /// The bytes OpenParallax hashes: the entry with `hash` `""`, as Go
    /// marshals it, keys sorted.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160 + self.details_json.len());
        out.push(b'{');
        let mut first = true;
        let mut key = |out: &mut Vec<u8>, k: &str| {
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'"');
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b"\":");
        };
        if !self.action_type.is_empty() {
            key(&mut out, "action_type");
            go_quote(&mut out, &self.action_type);
        }
        if !self.details_json.is_empty() {
            key(&mut out, "details_json");
            go_quote(&mut out, &self.details_json);
        }
        key(&mut out, "event_type");
        go_number(&mut out, self.event_type);
        key(&mut out, "hash");
        out.extend_from_slice(b"\"\"");
        key(&mut out, "id");
        go_quote(&mut out, &self.id);
        key(&mut out, "otr");
        out.extend_from_slice(if self.otr { b"true" } else { b"false" });
        key(&mut out, "previous_hash");
        go_quote(&mut out, &self.previous_hash);
        if !self.session_id.is_empty() {
            key(&mut out, "session_id");
            go_quote(&mut out, &self.session_id);
        }
        if !self.source.is_empty() {
            key(&mut out, "source");
            go_quote(&mut out, &self.source);
        }
        key(&mut out, "timestamp");
        go_number(&mut out, self.timestamp);
        out.push(b'}');
        out
    }

    /// The hash OpenParallax computes for this entry (hex SHA-256 of
    /// [`LegacyEntry::canonical`]).
    pub fn computed_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical()))
    }

    /// The line OpenParallax's writer writes for this entry (Go's
    /// `json.Marshal` of its struct, in the struct's field order), without
    /// the newline.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(200 + self.details_json.len());
        out.extend_from_slice(b"{\"id\":");
        go_quote(&mut out, &self.id);
        out.extend_from_slice(b",\"event_type\":");
        out.extend_from_slice(self.event_type.to_string().as_bytes());
        out.extend_from_slice(b",\"timestamp\":");
        out.extend_from_slice(self.timestamp.to_string().as_bytes());
        for (k, v) in [
            ("session_id", &self.session_id),
            ("action_type", &self.action_type),
            ("details_json", &self.details_json),
        ] {
            if !v.is_empty() {
                out.extend_from_slice(format!(",\"{k}\":").as_bytes());
                go_quote(&mut out, v);
            }
        }
        out.extend_from_slice(b",\"previous_hash\":");
        go_quote(&mut out, &self.previous_hash);
        out.extend_from_slice(b",\"hash\":");
        go_quote(&mut out, &self.hash);
        out.extend_from_slice(if self.otr {
            b",\"otr\":true"
        } else {
            b",\"otr\":false"
        });
        if !self.source.is_empty() {
            out.extend_from_slice(b",\"source\":");
            go_quote(&mut out, &self.source);
        }
        out.push(b'}');
        out
    }

    /// The `details` an OpenParallax reader shows: `details_json` parsed
    /// (`{}` when empty, the text itself when it is not JSON).
    pub fn details(&self) -> Value {
        if self.details_json.is_empty() {
            return json!({});
        }
        serde_json::from_str(&self.details_json)
            .unwrap_or_else(|_| Value::String(self.details_json.clone()))
    }
}

/// Go's `json.Marshal` of a string (HTML-safe: `<`, `>`, `&` escaped;
/// U+2028 and U+2029 escaped; `\b`, `\f`, `\n`, `\r`, `\t` short; other
/// control characters `\u00xx`, lower-case hex).
fn go_quote(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                let b = c as u32;
                out.extend_from_slice(b"\\u00");
                for nib in [(b >> 4) & 0xf, b & 0xf] {
                    out.push(HEX.get(nib as usize).copied().unwrap_or(b'0'));
                }
            }
            '\u{2028}' => out.extend_from_slice(b"\\u2028"),
            '\u{2029}' => out.extend_from_slice(b"\\u2029"),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// An integer as OpenParallax's canonical form has it: through a Go
/// `float64` (its canonicaliser decodes into `any`), printed with the
/// shortest digits that read back as that float, without exponent (every
/// 64-bit integer is below Go's 1e21 switch to exponent form).
fn go_number(out: &mut Vec<u8>, n: i64) {
    // Rust's `Display` of an f64 is the same: shortest round-trip digits,
    // zero-padded, no exponent.
    out.extend_from_slice(format!("{}", n as f64).as_bytes());
}

// --- Go's json.Unmarshal of one line into OpenParallax's entry struct ----

/// Decodes one line as Go's `json.Unmarshal` into OpenParallax's struct
/// does; the error text for invalid JSON or a value of the wrong type.
pub fn parse_line(line: &[u8]) -> std::result::Result<LegacyEntry, String> {
    let mut p = Parser {
        b: line,
        i: 0,
        type_err: None,
    };
    let mut e = LegacyEntry::default();
    p.ws();
    match p.peek() {
        Some(b'{') => p.object(&mut e)?,
        Some(b'n') => p.literal(b"null")?,
        Some(_) => {
            let what = p.skip_value(1)?;
            p.type_error(what, "the entry");
        }
        None => return Err("unexpected end of JSON input".into()),
    }
    p.ws();
    if let Some(c) = p.peek() {
        return Err(format!(
            "invalid character {} after top-level value",
            show(c)
        ));
    }
    match p.type_err {
        Some(m) => Err(m),
        None => Ok(e),
    }
}

fn show(c: u8) -> String {
    if c.is_ascii_graphic() || c == b' ' {
        format!("'{}'", c as char)
    } else {
        format!("byte 0x{c:02x}")
    }
}

#[derive(Clone, Copy)]
enum Field {
    Str(fn(&mut LegacyEntry) -> &mut String, &'static str),
    Int(fn(&mut LegacyEntry) -> &mut i64, &'static str),
    Bool(fn(&mut LegacyEntry) -> &mut bool, &'static str),
}

const FIELDS: [(&str, Field); 10] = [
    ("id", Field::Str(|e| &mut e.id, "id")),
    (
        "event_type",
        Field::Int(|e| &mut e.event_type, "event_type"),
    ),
    ("timestamp", Field::Int(|e| &mut e.timestamp, "timestamp")),
    (
        "session_id",
        Field::Str(|e| &mut e.session_id, "session_id"),
    ),
    (
        "action_type",
        Field::Str(|e| &mut e.action_type, "action_type"),
    ),
    (
        "details_json",
        Field::Str(|e| &mut e.details_json, "details_json"),
    ),
    (
        "previous_hash",
        Field::Str(|e| &mut e.previous_hash, "previous_hash"),
    ),
    ("hash", Field::Str(|e| &mut e.hash, "hash")),
    ("otr", Field::Bool(|e| &mut e.otr, "otr")),
    ("source", Field::Str(|e| &mut e.source, "source")),
];

/// Go matches an object key to a field by its exact name, else by Unicode
/// simple case folding (`bytes.EqualFold`); for these ASCII names that is
/// ASCII case, plus U+017F (ſ) for `s` and U+212A (K) for `k`.
fn field_for(key: &str) -> Option<Field> {
    if let Some((_, f)) = FIELDS.iter().find(|(n, _)| *n == key) {
        return Some(*f);
    }
    let fold = |c: char| match c {
        '\u{17f}' => 's',
        '\u{212a}' => 'k',
        c => c.to_ascii_lowercase(),
    };
    FIELDS
        .iter()
        .find(|(n, _)| n.chars().eq(key.chars().map(fold)))
        .map(|(_, f)| *f)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    type_err: Option<String>,
}

type PResult<T> = std::result::Result<T, String>;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eof() -> String {
        "unexpected end of JSON input".into()
    }

    fn unexpected(&self, ctx: &str) -> String {
        match self.peek() {
            None => Self::eof(),
            Some(c) => format!("invalid character {} {ctx}", show(c)),
        }
    }

    fn expect(&mut self, c: u8, ctx: &str) -> PResult<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected(ctx))
        }
    }

    fn literal(&mut self, word: &[u8]) -> PResult<()> {
        for &w in word {
            if self.peek() != Some(w) {
                return Err(self.unexpected("in literal"));
            }
            self.i += 1;
        }
        Ok(())
    }

    fn type_error(&mut self, what: &str, field: &str) {
        if self.type_err.is_none() {
            self.type_err = Some(format!("cannot unmarshal {what} into {field}"));
        }
    }

    /// The top-level object, into `e`.
    fn object(&mut self, e: &mut LegacyEntry) -> PResult<()> {
        self.expect(b'{', "looking for beginning of value")?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected("looking for beginning of object key string"));
            }
            let key = self.string()?;
            self.ws();
            self.expect(b':', "after object key")?;
            self.ws();
            match field_for(&key) {
                None => {
                    self.skip_value(2)?;
                }
                Some(f) => self.field(e, f)?,
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.unexpected("after object key:value pair")),
            }
        }
    }

    fn field(&mut self, e: &mut LegacyEntry, f: Field) -> PResult<()> {
        match (f, self.peek()) {
            (_, Some(b'n')) => self.literal(b"null"), // null: field unchanged
            (Field::Str(get, _), Some(b'"')) => {
                *get(e) = self.string()?;
                Ok(())
            }
            (Field::Int(get, name), Some(b'-' | b'0'..=b'9')) => {
                let start = self.i;
                self.number()?;
                let text = self.b.get(start..self.i).unwrap_or_default();
                match std::str::from_utf8(text)
                    .ok()
                    .and_then(|t| t.parse::<i64>().ok())
                {
                    Some(n) => *get(e) = n,
                    None => self.type_error("number", name),
                }
                Ok(())
            }
            (Field::Bool(get, _), Some(b't')) => {
                self.literal(b"true")?;
                *get(e) = true;
                Ok(())
            }
            (Field::Bool(get, _), Some(b'f')) => {
                self.literal(b"false")?;
                *get(e) = false;
                Ok(())
            }
            (Field::Str(_, name) | Field::Int(_, name) | Field::Bool(_, name), _) => {
                let what = self.skip_value(2)?;
                self.type_error(what, name);
                Ok(())
            }
        }
    }

    fn number(&mut self) -> PResult<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.i += 1;
                }
            }
            _ => return Err(self.unexpected("in numeric literal")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.unexpected("after decimal point in numeric literal"));
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.unexpected("in exponent of numeric literal"));
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        Ok(())
    }

    fn hex4(&mut self) -> PResult<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.unexpected("in \\u hexadecimal character escape")),
            };
            v = v * 16 + u32::from(d);
            self.i += 1;
        }
        Ok(v)
    }

    /// A string, decoded as Go decodes it: invalid UTF-8 bytes and invalid
    /// surrogate escapes become U+FFFD, one per byte / escape.
    fn string(&mut self) -> PResult<String> {
        self.expect(b'"', "looking for beginning of value")?;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(Self::eof());
            };
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.i += 1;
                    let Some(e) = self.peek() else {
                        return Err(Self::eof());
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let u = self.hex4()?;
                            if (0xD800..0xDC00).contains(&u)
                                && self.b.get(self.i..self.i + 2) == Some(b"\\u")
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    let cp = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                                    out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                                    continue;
                                }
                                // Not a pair: U+FFFD, and the second escape
                                // is decoded on its own.
                                self.i = save;
                                out.push('\u{fffd}');
                                continue;
                            }
                            out.push(char::from_u32(u).unwrap_or('\u{fffd}'));
                        }
                        _ => {
                            self.i -= 1;
                            return Err(self.unexpected("in string escape code"));
                        }
                    }
                }
                0..=0x1f => return Err(self.unexpected("in string literal")),
                0x20..=0x7f => {
                    out.push(c as char);
                    self.i += 1;
                }
                _ => {
                    let len = match c {
                        0xc2..=0xdf => 2,
                        0xe0..=0xef => 3,
                        0xf0..=0xf4 => 4,
                        _ => 1,
                    };
                    match self
                        .b
                        .get(self.i..self.i + len)
                        .and_then(|s| std::str::from_utf8(s).ok())
                    {
                        Some(s) if len > 1 => {
                            out.push_str(s);
                            self.i += len;
                        }
                        _ => {
                            out.push('\u{fffd}');
                            self.i += 1;
                        }
                    }
                }
            }
        }
    }

    /// Skips one value (checking its syntax, without recursion); `depth`
    /// is the nesting level it starts at. Returns what it was.
    fn skip_value(&mut self, depth: usize) -> PResult<&'static str> {
        let what = match self.peek() {
            Some(b'{') => "object",
            Some(b'[') => "array",
            Some(b'"') => "string",
            Some(b't' | b'f') => "bool",
            Some(b'n') => "null",
            Some(b'-' | b'0'..=b'9') => "number",
            _ => return Err(self.unexpected("looking for beginning of value")),
        };
        // The open containers: true for an object.
        let mut stack: Vec<bool> = Vec::new();
        loop {
            // A value.
            self.ws();
            match self.peek() {
                Some(b'{') | Some(b'[') => {
                    let obj = self.peek() == Some(b'{');
                    if depth + stack.len() > MAX_DEPTH {
                        return Err("exceeded max depth".into());
                    }
                    self.i += 1;
                    stack.push(obj);
                    self.ws();
                    let close = if obj { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.i += 1;
                        stack.pop();
                    } else {
                        if obj {
                            self.member_key()?;
                        }
                        continue;
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return Err(self.unexpected("looking for beginning of value")),
            }
            // After a value: close containers or go on to the next member.
            loop {
                let Some(&obj) = stack.last() else {
                    return Ok(what);
                };
                self.ws();
                let close = if obj { b'}' } else { b']' };
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        if obj {
                            self.ws();
                            self.member_key()?;
                        }
                        break;
                    }
                    Some(c) if c == close => {
                        self.i += 1;
                        stack.pop();
                    }
                    _ => {
                        return Err(self.unexpected(if obj {
                            "after object key:value pair"
                        } else {
                            "after array element"
                        }))
                    }
                }
            }
        }
    }

    fn member_key(&mut self) -> PResult<()> {
        self.ws();
        if self.peek() != Some(b'"') {
            return Err(self.unexpected("looking for beginning of object key string"));
        }
        self.string()?;
        self.ws();
        self.expect(b':', "after object key")
    }
}

// --- reading a file line by line -----------------------------------------

/// Go's `unicode.IsSpace` (what `strings.TrimSpace` trims).
fn go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c > '\u{ff}' && c.is_whitespace())
}

fn trim_go_space(b: &[u8]) -> &[u8] {
    let s = match std::str::from_utf8(b) {
        Ok(s) => s,
        // Only ASCII white space can be trimmed off invalid UTF-8 reliably.
        Err(_) => return b.trim_ascii(),
    };
    s.trim_matches(go_space).as_bytes()
}

enum Line {
    Text(Vec<u8>),
    TooLong(u64),
}

/// Reads lines of at most [`MAX_LINE`] bytes (without the `\n`).
struct Lines<R> {
    r: R,
    n: u64,
    sha: Sha256,
    bytes: u64,
}

impl<R: BufRead> Lines<R> {
    /// The next line: its text when at most [`MAX_LINE`] bytes, else its
    /// length (read to its end and hashed, but not kept). The line's
    /// buffer grows fallibly: memory the allocator refuses is an
    /// `OutOfMemory` error naming the line, never an abort.
    fn next(&mut self) -> io::Result<Option<(u64, Line)>> {
        let mut buf: Vec<u8> = Vec::new();
        let mut too_long = false;
        let mut total = 0u64; // the line's bytes, its newline included
        let mut ended = false;
        loop {
            let chunk = match self.r.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(p) => (p + 1, true),
                None => (chunk.len(), false),
            };
            let part = chunk.get(..take).unwrap_or_default();
            self.sha.update(part);
            if !too_long {
                let text = part.get(..take - usize::from(done)).unwrap_or_default();
                if buf.len() + text.len() > MAX_LINE {
                    too_long = true;
                    buf = Vec::new();
                } else {
                    if buf.try_reserve(text.len()).is_err() {
                        return Err(io::Error::new(
                            io::ErrorKind::OutOfMemory,
                            format!(
                                "line {}: out of memory for a line of more than {} bytes",
                                self.n + 1,
                                buf.len()
                            ),
                        ));
                    }
                    buf.extend_from_slice(text);
                }
            }
            self.r.consume(take);
            self.bytes += take as u64;
            total += take as u64;
            if done {
                ended = true;
                break;
            }
        }
        if total == 0 {
            return Ok(None);
        }
        self.n += 1;
        if too_long {
            return Ok(Some((self.n, Line::TooLong(total - u64::from(ended)))));
        }
        Ok(Some((self.n, Line::Text(buf))))
    }
}

/// Opens the OpenParallax file at `path` for reading: a regular file only.
/// A FIFO, socket, device or directory is refused at once, "not a regular
/// file" (as for an evident log): a FIFO nobody writes to would block the
/// open forever, a device such as `/dev/zero` has no end.
fn open_source(path: &Path) -> Result<File> {
    crate::storage::open_regular(path, crate::storage::Access::Read, "open OpenParallax file")
}

fn open_lines(path: &Path) -> Result<Lines<BufReader<File>>> {
    Ok(lines_of(open_source(path)?))
}

fn lines_of<R: Read>(f: R) -> Lines<BufReader<R>> {
    Lines {
        r: BufReader::with_capacity(1 << 16, f),
        n: 0,
        sha: Sha256::new(),
        bytes: 0,
    }
}

// --- recognising --------------------------------------------------------

/// Whether the file at `path` is an OpenParallax audit file: not an
/// evident log (neither the binary header nor a record with `seq`), and
/// one of its first 16 non-blank lines (within its first [`MAX_LINE`]
/// bytes) a JSON object with OpenParallax's
/// keys `id`, `event_type`, `timestamp`, `previous_hash` and `hash`
/// (looking past damaged first lines: a file whose first line was
/// tampered with is still recognised, and its verification names that
/// line). An empty or blank file is not (it could become either).
/// What is not a regular file (a FIFO, a device, a directory) is an
/// error, at once: every reader here opens only regular files.
pub fn is_openparallax(path: impl AsRef<Path>) -> Result<bool> {
    let path = path.as_ref();
    let mut f = open_source(path)?;
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < head.len() {
        match f.read(head.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, "read", e)),
        }
    }
    if Framing::detect(head.get(..got).unwrap_or_default()) == Some(Framing::Binary) {
        return Ok(false);
    }
    // The same descriptor, read again from the start: a second open could
    // be refused (no descriptor left) and read as "not such a file".
    f.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, "seek", e))?;
    // At most one line's worth is read: a file without line breaks (a
    // gigabyte of zeros) was read to its end to be told apart.
    let mut lines = lines_of(f.take(MAX_LINE as u64 + 1));
    let mut looked = 0;
    while let Some((_, line)) = lines.next().map_err(|e| Error::io(path, "read", e))? {
        let Line::Text(text) = line else {
            looked += 1;
            continue;
        };
        let t = trim_go_space(&text);
        if t.is_empty() {
            continue;
        }
        looked += 1;
        if looked > 16 {
            break;
        }
        if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(t) {
            if m.contains_key("seq") {
                return Ok(false);
            }
            if ["id", "event_type", "timestamp", "previous_hash", "hash"]
                .iter()
                .all(|k| m.contains_key(*k))
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

// --- verifying ------------------------------------------------------------

/// The kind of the first violation [`verify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LegacyViolation {
    /// A line that is not JSON OpenParallax's struct can hold.
    InvalidJson,
    /// `previous_hash` is not the previous entry's `hash`.
    ChainBroken,
    /// `hash` is not the hash of the entry.
    HashMismatch,
    /// A line longer than [`MAX_LINE`].
    LineTooLong,
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct LegacyReport {
    /// The chain is intact.
    pub valid: bool,
    /// Entries checked (all of them when valid).
    pub entries: u64,
    /// The 1-based line of the first violation (0 when valid).
    pub line: u64,
    /// The violation, as OpenParallax words it (`line N: chain broken: …`;
    /// `""` when valid).
    pub error: String,
    pub kind: Option<LegacyViolation>,
    /// Lines in the file (the last one counts without its newline).
    pub lines: u64,
    /// The last entry's hash (`""` when there is none).
    pub last_hash: String,
    /// Bytes read (the whole file).
    pub bytes: u64,
    /// SHA-256 of those bytes (hex).
    pub sha256: String,
}

/// Checks the chain of the OpenParallax file at `path` as OpenParallax's
/// `VerifyIntegrity` does (module documentation), reading one line at a
/// time. An I/O error is an `Err`; a violation is in the report.
pub fn verify(path: impl AsRef<Path>) -> Result<LegacyReport> {
    let path = path.as_ref();
    walk(path, |_| Ok(()))
}

/// Verifies `path`, calling `each` for every entry in order (stopping at
/// the first violation, after which `each` is not called again).
fn walk(path: &Path, mut each: impl FnMut(&LegacyEntry) -> Result<()>) -> Result<LegacyReport> {
    let mut lines = open_lines(path)?;
    let mut r = LegacyReport {
        valid: true,
        entries: 0,
        line: 0,
        error: String::new(),
        kind: None,
        lines: 0,
        last_hash: String::new(),
        bytes: 0,
        sha256: String::new(),
    };
    let fail = |r: &mut LegacyReport, line: u64, kind: LegacyViolation, msg: String| {
        if r.valid {
            r.valid = false;
            r.line = line;
            r.kind = Some(kind);
            r.error = format!("line {line}: {msg}");
        }
    };
    let mut seen_entry = false;
    // A blank but not empty line (Go only trims blank lines off the file's
    // ends): an error if an entry follows it.
    let mut pending_blank: Option<u64> = None;
    // The last entry line needed its trailing non-JSON white space trimmed
    // (as Go's TrimSpace of the file does): an error if an entry follows.
    let mut pending_trim: Option<(u64, String)> = None;
    let mut prev = String::new();
    while let Some((n, line)) = lines.next().map_err(|e| Error::io(path, "read", e))? {
        if !r.valid {
            continue; // count the lines, hash the bytes
        }
        let text = match line {
            Line::TooLong(len) => {
                fail(
                    &mut r,
                    n,
                    LegacyViolation::LineTooLong,
                    format!("line of {len} bytes is longer than {MAX_LINE} bytes: not read"),
                );
                continue;
            }
            Line::Text(t) => t,
        };
        if text.is_empty() {
            continue;
        }
        let trimmed = trim_go_space(&text);
        if trimmed.is_empty() {
            if seen_entry && pending_blank.is_none() {
                pending_blank = Some(n);
            }
            continue;
        }
        if let Some((ln, msg)) = pending_trim.take() {
            r.entries = r.entries.saturating_sub(1); // not the last line: not an entry
            fail(
                &mut r,
                ln,
                LegacyViolation::InvalidJson,
                format!("invalid JSON: {msg}"),
            );
            continue;
        }
        if let Some(ln) = pending_blank.take() {
            fail(
                &mut r,
                ln,
                LegacyViolation::InvalidJson,
                "invalid JSON: unexpected end of JSON input".into(),
            );
            continue;
        }
        // The first entry line may carry leading white space Go trims.
        let mut src: &[u8] = &text;
        if !seen_entry {
            let lead = text.len() - trim_start_len(&text);
            src = text.get(lead..).unwrap_or_default();
        }
        let parsed = match parse_line(src) {
            Ok(e) => Ok(e),
            Err(msg) => {
                let end_trimmed = trim_end_go(src);
                if end_trimmed.len() < src.len() {
                    match parse_line(end_trimmed) {
                        Ok(e) => {
                            pending_trim = Some((n, msg));
                            Ok(e)
                        }
                        Err(_) => Err(msg),
                    }
                } else {
                    Err(msg)
                }
            }
        };
        seen_entry = true;
        let mut e = match parsed {
            Ok(e) => e,
            Err(msg) => {
                fail(
                    &mut r,
                    n,
                    LegacyViolation::InvalidJson,
                    format!("invalid JSON: {msg}"),
                );
                continue;
            }
        };
        e.line = n;
        if e.previous_hash != prev {
            fail(
                &mut r,
                n,
                LegacyViolation::ChainBroken,
                format!(
                    "chain broken: previous_hash {:?} does not match expected {:?}",
                    e.previous_hash, prev
                ),
            );
            continue;
        }
        let computed = e.computed_hash();
        if computed != e.hash {
            fail(
                &mut r,
                n,
                LegacyViolation::HashMismatch,
                format!(
                    "hash mismatch: stored {:?}, computed {:?}",
                    e.hash, computed
                ),
            );
            continue;
        }
        r.entries += 1;
        each(&e)?;
        prev = std::mem::take(&mut e.hash);
    }
    r.lines = lines.n;
    r.bytes = lines.bytes;
    r.sha256 = hex::encode(lines.sha.finalize());
    if r.valid {
        r.last_hash = prev;
    }
    Ok(r)
}

fn trim_start_len(b: &[u8]) -> usize {
    match std::str::from_utf8(b) {
        Ok(s) => s.trim_start_matches(go_space).len(),
        Err(_) => b.trim_ascii_start().len(),
    }
}

fn trim_end_go(b: &[u8]) -> &[u8] {
    match std::str::from_utf8(b) {
        Ok(s) => s.trim_end_matches(go_space).as_bytes(),
        Err(_) => b.trim_ascii_end(),
    }
}

// --- reading --------------------------------------------------------------

/// OpenParallax's `Query`: empty / `None` / 0 mean "no filter".
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LegacyQuery {
    pub session_id: Option<String>,
    pub event_type: Option<i64>,
    pub action_type: Option<String>,
    /// At most this many entries (0: all).
    pub limit: usize,
}

impl LegacyQuery {
    /// No filter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only entries of this session.
    pub fn session_id(mut self, s: impl Into<String>) -> Self {
        self.session_id = Some(s.into());
        self
    }

    /// Only entries of this event type number.
    pub fn event_type(mut self, n: i64) -> Self {
        self.event_type = Some(n);
        self
    }

    /// Only entries of this action type.
    pub fn action_type(mut self, a: impl Into<String>) -> Self {
        self.action_type = Some(a.into());
        self
    }

    /// At most `n` entries (the newest; 0: all).
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = n;
        self
    }
}

/// The entries of the OpenParallax file at `path` matching `q`, newest
/// (last line) first, as OpenParallax's `ReadEntries` returns them: lines
/// that are not entries are skipped, nothing is verified. Reads the file
/// once, holding at most `q.limit` entries when a limit is given.
pub fn read_entries(path: impl AsRef<Path>, q: &LegacyQuery) -> Result<Vec<LegacyEntry>> {
    let path = path.as_ref();
    let mut lines = open_lines(path)?;
    let mut kept = std::collections::VecDeque::new();
    while let Some((n, line)) = lines.next().map_err(|e| Error::io(path, "read", e))? {
        let Line::Text(text) = line else { continue };
        let t = trim_go_space(&text);
        if t.is_empty() {
            continue;
        }
        let Ok(mut e) = parse_line(t) else { continue };
        if q.session_id
            .as_deref()
            .is_some_and(|s| !s.is_empty() && s != e.session_id)
            || q.event_type.is_some_and(|t| t != 0 && t != e.event_type)
            || q.action_type
                .as_deref()
                .is_some_and(|a| !a.is_empty() && a != e.action_type)
        {
            continue;
        }
        e.line = n;
        kept.push_back(e);
        if q.limit > 0 && kept.len() > q.limit {
            kept.pop_front();
        }
    }
    Ok(kept.into_iter().rev().collect())
}

// --- importing --------------------------------------------------------------

/// Options for [`import`] and [`migrate_in_place`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ImportOptions {
    /// The new log's framing (default JSONL).
    pub framing: Option<Framing>,
    /// How long to wait for the writer lock ([`migrate_in_place`]).
    pub lock_timeout: Option<Duration>,
}

impl ImportOptions {
    /// The defaults: JSONL, a 10 s lock timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// The new log's framing.
    pub fn framing(mut self, f: Framing) -> Self {
        self.framing = Some(f);
        self
    }

    /// How long [`migrate_in_place`] waits for the writer lock (default 10 s).
    pub fn lock_timeout(mut self, t: Duration) -> Self {
        self.lock_timeout = Some(t);
        self
    }
}

/// What [`import`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ImportReport {
    /// Legacy entries imported.
    pub entries: u64,
    /// Lines of the legacy file.
    pub lines: u64,
    /// Bytes of the legacy file.
    pub bytes: u64,
    /// SHA-256 of the legacy file (hex).
    pub sha256: String,
    /// The legacy file's last hash (`""` for a file without entries).
    pub last_hash: String,
    /// The new log's head (the anchor entry).
    pub head_seq: u64,
    pub head_hash: String,
    /// Where the new log is.
    pub log: PathBuf,
    /// Where the legacy bytes are ([`migrate_in_place`]: the sibling copy).
    pub legacy: PathBuf,
    /// The file's last line, cut short by a write OpenParallax did not
    /// finish (no line feed, not JSON): not imported, kept in the legacy
    /// bytes (spec/openparallax.md § 6).
    pub torn_tail: Option<TornTail>,
}

/// A last line cut short in an OpenParallax file ([`ImportReport`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TornTail {
    /// Its 1-based line number.
    pub line: u64,
    /// Its byte offset in the file.
    pub offset: u64,
    /// Its length in bytes (to the end of the file).
    pub bytes: u64,
}

/// `Some` when the only violation `r` found is the file's last line, cut
/// short: it does not end in a line feed and is not JSON (what a killed
/// OpenParallax writer leaves; anything else is refused).
fn cut_short_tail(src: &Path, r: &LegacyReport) -> Result<Option<TornTail>> {
    if r.valid || r.kind != Some(LegacyViolation::InvalidJson) || r.line != r.lines {
        return Ok(None);
    }
    let mut f = File::open(src).map_err(|e| Error::io(src, "open", e))?;
    // The start of the last line: after the last line feed.
    let mut end = r.bytes;
    let mut buf = vec![0u8; 64 * 1024];
    let mut first_chunk = true;
    let start = loop {
        if end == 0 {
            break 0;
        }
        let from = end.saturating_sub(buf.len() as u64);
        let chunk = buf.get_mut(..(end - from) as usize).unwrap_or_default();
        f.seek(SeekFrom::Start(from))
            .and_then(|_| f.read_exact(chunk))
            .map_err(|e| Error::io(src, "read", e))?;
        if first_chunk && chunk.last() == Some(&b'\n') {
            return Ok(None); // a complete line that is not JSON: damage
        }
        first_chunk = false;
        if let Some(i) = chunk.iter().rposition(|&c| c == b'\n') {
            break from + i as u64 + 1;
        }
        end = from;
    };
    Ok(Some(TornTail {
        line: r.line,
        offset: start,
        bytes: r.bytes - start,
    }))
}

/// The evident event for legacy entry `e`: its event type's name (the
/// number as text for one OpenParallax does not define), `action_type`
/// as action, session, source, `otr`, its time (when a record can hold
/// it), and details `{"details": <details_json parsed, {} when empty, the
/// text when not JSON>, "openparallax": {"line", "id", "event_type",
/// "timestamp", "details_json", "previous_hash", "hash"}}`, which keeps
/// every field OpenParallax hashed, so its hash can be recomputed.
pub fn legacy_event(e: &LegacyEntry) -> Event {
    let name = event_type_name(e.event_type)
        .map(str::to_owned)
        .unwrap_or_else(|| e.event_type.to_string());
    let ts = Utc
        .timestamp_millis_opt(e.timestamp)
        .single()
        .filter(|t| ts_writable(t).is_ok());
    // `details` is level 2 of a record and holds D at level 3 (spec
    // format.md § 5.5): D nested deeper than a record holds (Go accepted
    // it) is kept as its text, as text that is not JSON is.
    let mut details = e.details();
    if json_depth(&details) + 2 > crate::format::MAX_DEPTH {
        details = Value::String(e.details_json.clone());
    }
    let mut ev = Event::new(name, e.action_type.clone()).details(json!({
        "details": details,
        "openparallax": {
            "line": e.line,
            "id": e.id,
            "event_type": e.event_type,
            "timestamp": e.timestamp,
            "details_json": e.details_json,
            "previous_hash": e.previous_hash,
            "hash": e.hash,
        }
    }));
    ev.session_id = e.session_id.clone();
    ev.source = e.source.clone();
    ev.otr = e.otr;
    ev.actor = Some(String::new());
    ev.host = Some(String::new());
    ev.ts = ts;
    ev
}

/// How deep arrays and objects nest in `v` (0 for a scalar). Recursive:
/// serde_json parses at most 128 levels.
fn json_depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The legacy entry an evident entry imported by [`import`] holds (from
/// its `details.openparallax` and its own fields), `None` for another
/// entry.
pub fn legacy_of(entry: &crate::format::Entry) -> Option<LegacyEntry> {
    let d = entry.details.as_object()?;
    if d.len() != 2 || !d.contains_key("details") {
        return None;
    }
    let o = d.get("openparallax")?.as_object()?;
    let s = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
    let i = |k: &str| o.get(k).and_then(Value::as_i64);
    Some(LegacyEntry {
        line: o.get("line").and_then(Value::as_u64)?,
        id: s("id")?,
        event_type: i("event_type")?,
        timestamp: i("timestamp")?,
        session_id: entry.session_id.clone(),
        action_type: entry.action.clone(),
        details_json: s("details_json")?,
        previous_hash: s("previous_hash")?,
        hash: s("hash")?,
        otr: entry.otr,
        source: entry.source.clone(),
    })
}

/// The byte offset of the 1-based `line` of `path` (its newlines
/// counted; `0` when the file cannot be read again).
fn line_offset(path: &Path, line: u64) -> u64 {
    let Ok(f) = open_source(path) else { return 0 };
    let mut r = BufReader::with_capacity(1 << 16, f);
    let (mut seen, mut offset) = (1u64, 0u64);
    while seen < line {
        let chunk = match r.fill_buf() {
            Ok([]) | Err(_) => break,
            Ok(c) => c,
        };
        let mut used = chunk.len();
        for p in memchr::memchr_iter(b'\n', chunk) {
            seen += 1;
            if seen == line {
                used = p + 1;
                break;
            }
        }
        offset += used as u64;
        r.consume(used);
    }
    offset
}

fn refuse(src: &Path, r: &LegacyReport) -> Error {
    Error::Corrupt {
        path: src.to_path_buf(),
        at: Position {
            offset: line_offset(src, r.line),
            line: r.line,
            seq: None,
        },
        msg: format!(
            "OpenParallax audit file does not verify ({}); nothing imported",
            r.error
        ),
    }
}

/// Writes the evident log for the OpenParallax file `src` at `tmp` (which
/// must not exist); returns the report (without paths). `private`: `tmp`
/// is created 0o600 (an empty file adopted as the log keeps its bits), so
/// that no other user can open it while the entries are written; the
/// caller gives it its final permission bits.
fn write_import(
    src: &Path,
    tmp: &Path,
    opts: &ImportOptions,
    private: bool,
) -> Result<ImportReport> {
    let first = verify(src)?;
    let torn = cut_short_tail(src, &first)?;
    if !first.valid && torn.is_none() {
        return Err(refuse(src, &first));
    }
    let mut o = OpenOptions::new()
        .framing(opts.framing.unwrap_or(Framing::Jsonl))
        .durability(Durability::Buffered);
    if private {
        let mut f = std::fs::OpenOptions::new();
        f.write(true).create_new(true);
        crate::sys::create_mode(&mut f, 0o600);
        f.open(tmp).map_err(|e| Error::io(tmp, "create", e))?;
        o = o.adopt_empty(true);
    } else {
        o = o.create_new(true);
    }
    o = o.actor("").host("");
    let log = Log::open(tmp, o)?;
    let mut batch: Vec<Event> = Vec::new();
    let mut batch_bytes = 0usize;
    // The last entry imported (the file's last hash, or the one before a
    // last line cut short).
    let mut last_hash = String::new();
    let result = (|| {
        let mut second = walk(src, |e| {
            last_hash.clone_from(&e.hash);
            if e.details_json.len() > 1 << 20 {
                // A large entry alone, so that a record too large for the
                // format is refused naming its line.
                if !batch.is_empty() {
                    log.append_batch(&batch)?;
                    batch.clear();
                    batch_bytes = 0;
                }
                return match log.append(&legacy_event(e)) {
                    Ok(_) => Ok(()),
                    Err(Error::TooLarge { size, max, .. }) => Err(Error::Unsupported {
                        path: src.to_path_buf(),
                        msg: format!(
                            "line {}: the entry makes an evident record of {size} bytes, above the maximum of {max} bytes (its details are kept twice: parsed and as text); nothing imported",
                            e.line
                        ),
                    }),
                    Err(err) => Err(err),
                };
            }
            batch_bytes += e.details_json.len() * 2 + 512;
            batch.push(legacy_event(e));
            if batch.len() >= 1024 || batch_bytes >= 8 << 20 {
                log.append_batch(&batch)?;
                batch.clear();
                batch_bytes = 0;
            }
            Ok(())
        })?;
        if !batch.is_empty() {
            log.append_batch(&batch)?;
        }
        // The file must be the one verified (an OpenParallax writer may
        // have appended meanwhile: refused, nothing half-imported).
        if second.sha256 != first.sha256 || (second.valid, second.line) != (first.valid, first.line)
        {
            return Err(Error::InvalidArgument(format!(
                "{}: the OpenParallax file changed while it was imported (is OpenParallax still writing to it?); nothing imported",
                src.display()
            )));
        }
        second.last_hash = std::mem::take(&mut last_hash);
        let mut record = json!({
            "file": src.display().to_string(),
            "lines": second.lines,
            "entries": second.entries,
            "bytes": second.bytes,
            "sha256": second.sha256,
            "last_hash": second.last_hash,
        });
        if let (Some(t), Some(o)) = (&torn, record.as_object_mut()) {
            o.insert(
                "torn_tail".into(),
                json!({"line": t.line, "offset": t.offset, "bytes": t.bytes}),
            );
        }
        let anchor = Event::new(ANCHOR_EVENT_TYPE, "import")
            .details(json!({ "openparallax_import": record }));
        let head = log.append(&anchor)?;
        log.close()?;
        Ok((second, head))
    })();
    let (r, head): (LegacyReport, Head) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = log.close();
            return Err(e);
        }
    };
    let check = verify_log(tmp, &VerifyOptions::default())?;
    if let Some(v) = check.first() {
        return Err(Error::Corrupt {
            path: tmp.to_path_buf(),
            at: Position::default(),
            msg: format!("the imported log does not verify ({v}); nothing imported"),
        });
    }
    if check.entries != r.entries + 1 || check.head() != Some(head) {
        return Err(Error::Corrupt {
            path: tmp.to_path_buf(),
            at: Position::default(),
            msg: "the imported log does not end where it was written; nothing imported".into(),
        });
    }
    Ok(ImportReport {
        entries: r.entries,
        lines: r.lines,
        bytes: r.bytes,
        sha256: r.sha256,
        last_hash: r.last_hash,
        head_seq: head.seq,
        head_hash: head.hash.to_string(),
        log: PathBuf::new(),
        legacy: src.to_path_buf(),
        torn_tail: torn,
    })
}

/// A temporary sibling of `path`, removed (with its lock file) when
/// dropped unless kept.
struct Temp {
    path: PathBuf,
}

impl Temp {
    fn new(path: &Path, what: &str) -> Temp {
        let (_, tmp) = crate::storage::temp_sibling(path, what);
        Temp { path: tmp }
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_file(crate::lock::lock_path(&self.path));
    }
}

/// Removes what a migration killed while its new log was being created
/// (in place of its empty private temporary) left next to `path`:
/// `..NAME.migrating-PID-HEX.creating-…` (a genesis record, mode 0600),
/// once process PID no longer runs on this host. The temporaries
/// `.NAME.migrating-…` themselves are removed by [`Temp::new`].
fn remove_stale_creations(path: &Path) {
    let Some(name) = path.file_name() else {
        return;
    };
    let prefix = format!("..{}.migrating-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(parent_dir(path)) else {
        return;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = n.strip_prefix(&prefix) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != 0 && pid != std::process::id() && crate::sys::process_exists(pid) == Some(false) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Imports the OpenParallax file `src` into a new evident log at `dst`,
/// which must not exist. `src` must verify (else an error naming the
/// first bad line, and nothing is written). The log is written to a
/// temporary sibling of `dst`, made durable, verified, and then linked
/// into place (never replacing a file there); `src` is only read.
pub fn import(
    src: impl AsRef<Path>,
    dst: impl AsRef<Path>,
    opts: &ImportOptions,
) -> Result<ImportReport> {
    let (src, dst) = (src.as_ref(), dst.as_ref());
    if std::fs::symlink_metadata(dst).is_ok() {
        return Err(Error::io(
            dst,
            "refusing to overwrite an existing file",
            io::Error::from(io::ErrorKind::AlreadyExists),
        ));
    }
    if !is_openparallax(src)? {
        return Err(not_openparallax(src));
    }
    let tmp = Temp::new(dst, "importing");
    let mut report = write_import(src, &tmp.path, opts, false)?;
    match crate::storage::link_into_place(&tmp.path, dst) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(Error::io(dst, "refusing to overwrite an existing file", e))
        }
        Err(e) => return Err(Error::io(dst, "link into place", e)),
    }
    let dir = parent_dir(dst);
    crate::storage::sync_dir(&dir).map_err(|e| Error::io(&dir, "fsync directory", e))?;
    report.log = dst.to_path_buf();
    Ok(report)
}

fn not_openparallax(p: &Path) -> Error {
    Error::Unsupported {
        path: p.to_path_buf(),
        msg: "not an OpenParallax audit file (one JSON object per line with id, event_type, timestamp, previous_hash and hash)".into(),
    }
}

/// The sibling that keeps an OpenParallax file's bytes after
/// [`migrate_in_place`]: `PATH.openparallax`.
pub fn legacy_copy_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".openparallax");
    PathBuf::from(p)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (crate::sys::path_id(a), crate::sys::path_id(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Turns the OpenParallax file at `path` into an evident log at the same
/// path, keeping its bytes at [`legacy_copy_path`] (`PATH.openparallax`).
/// Returns `None` (and changes nothing) when `path` is not an OpenParallax
/// file. The file must verify (else an error naming the line).
///
/// Crash-safe: under the writer lock every evident writer of `path`
/// takes, (1) the new log is written to a temporary sibling, made durable
/// and verified; (2) the legacy file gets a second name, `PATH.openparallax`
/// (a hard link, else a durable copy renamed into place), and the
/// directory is fsynced; (3) the new log is renamed over `PATH` and the
/// directory fsynced. A kill at any point leaves either the untouched
/// legacy file at `PATH` (perhaps with its second name already made: a
/// new call goes on) or the complete new log with the legacy bytes beside
/// it. An existing `PATH.openparallax` with other bytes is never replaced:
/// the call fails.
pub fn migrate_in_place(
    path: impl AsRef<Path>,
    opts: &ImportOptions,
) -> Result<Option<ImportReport>> {
    let path = path.as_ref();
    if !is_openparallax(path)? {
        return Ok(None);
    }
    let timeout = opts.lock_timeout.unwrap_or(Duration::from_secs(10));
    // Both writer locks, as any writer takes them; then the file's
    // descriptor goes (Windows without POSIX rename semantics refuses to
    // replace an open file): the lock file's lock alone keeps other
    // writers out, as for `OpenOptions::adopt_empty`.
    let (mut lock, mut held) =
        crate::lock::FileLock::open_and_lock(path, Some(crate::storage::Access::Read), timeout)?;
    lock.close_data(&mut held);
    let result = migrate_locked(path, opts);
    lock.release(held);
    result
}

fn migrate_locked(path: &Path, opts: &ImportOptions) -> Result<Option<ImportReport>> {
    // Another process may have migrated it while we waited.
    if !is_openparallax(path)? {
        return Ok(None);
    }
    let copy = legacy_copy_path(path);
    let like = std::fs::metadata(path).map_err(|e| Error::io(path, "stat", e))?;
    remove_stale_creations(path);
    let tmp = Temp::new(path, "migrating");
    let mut report = write_import(path, &tmp.path, opts, true)?;
    // The new log takes the file's place: its permission bits and owner,
    // never wider access than the OpenParallax file had.
    {
        let f = File::options()
            .write(true)
            .open(&tmp.path)
            .map_err(|e| Error::io(&tmp.path, "open", e))?;
        crate::storage::copy_access(&f, &tmp.path, &like)?;
        f.sync_all().map_err(|e| Error::io(&tmp.path, "fsync", e))?;
    }
    let dir = parent_dir(path);
    let sync =
        |d: &Path| crate::storage::sync_dir(d).map_err(|e| Error::io(d, "fsync directory", e));
    // (2) the legacy bytes' second name.
    if std::fs::symlink_metadata(&copy).is_ok() {
        let same = same_file(path, &copy)
            || std::fs::read(&copy)
                .ok()
                .map(|b| Sha256::digest(b).to_vec())
                == hex::decode(&report.sha256).ok();
        if !same {
            return Err(Error::io(
                &copy,
                "refusing to replace an existing file with other bytes (the OpenParallax file's copy goes there)",
                io::Error::from(io::ErrorKind::AlreadyExists),
            ));
        }
    } else if std::fs::hard_link(path, &copy).is_err() {
        let t = Temp::new(&copy, "copying");
        std::fs::copy(path, &t.path).map_err(|e| Error::io(&t.path, "copy", e))?;
        File::open(&t.path)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(&t.path, "fsync", e))?;
        crate::storage::link_into_place(&t.path, &copy)
            .map_err(|e| Error::io(&copy, "link into place", e))?;
    }
    sync(&dir)?;
    // (3) the new log at the path.
    std::fs::rename(&tmp.path, path).map_err(|e| Error::io(path, "rename into place", e))?;
    sync(&dir)?;
    report.log = path.to_path_buf();
    report.legacy = copy;
    Ok(Some(report))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn entry(prev: &str) -> LegacyEntry {
        let mut e = LegacyEntry {
            id: "0b8f4c1e-6a3d-4f5e-9c2b-1d7e8f9a0b1c".into(),
            event_type: 4,
            timestamp: 1_711_929_600_123,
            session_id: "sess-001".into(),
            action_type: "run_command".into(),
            details_json: r#"{"command":"rm -rf /","why":"<a&b>"}"#.into(),
            previous_hash: prev.into(),
            ..LegacyEntry::default()
        };
        e.hash = e.computed_hash();
        e
    }

    /// Telling an OpenParallax file apart reads at most one line's worth
    /// of a file without line breaks (before, all of it: 23 s for 3 GB of
    /// zeros, which `evident verify` looks at first). Counted by this
    /// thread's bytes read (`rchar`), not by time.
    #[cfg(target_os = "linux")]
    #[test]
    fn recognising_reads_at_most_one_line_of_a_file_without_breaks() {
        let rchar = || -> u64 {
            let io = std::fs::read_to_string("/proc/thread-self/io").unwrap();
            let line = io.lines().find(|l| l.starts_with("rchar:")).unwrap();
            line["rchar:".len()..].trim().parse().unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("zeros");
        File::create(&p).unwrap().set_len(1 << 30).unwrap();
        let before = rchar();
        assert!(!is_openparallax(&p).unwrap());
        let read = rchar() - before;
        assert!(read <= MAX_LINE as u64 + (1 << 20), "{read} bytes read");
    }

    #[test]
    fn canonical_form_is_go_s() {
        let e = entry("");
        assert_eq!(
            String::from_utf8(e.canonical()).unwrap(),
            r#"{"action_type":"run_command","details_json":"{\"command\":\"rm -rf /\",\"why\":\"\u003ca\u0026b\u003e\"}","event_type":4,"hash":"","id":"0b8f4c1e-6a3d-4f5e-9c2b-1d7e8f9a0b1c","otr":false,"previous_hash":"","session_id":"sess-001","timestamp":1711929600123}"#
        );
        let line = e.to_line();
        assert_eq!(parse_line(&line).unwrap(), e);
    }

    #[test]
    fn numbers_go_through_a_float() {
        let mut out = Vec::new();
        go_number(&mut out, i64::MAX);
        assert_eq!(String::from_utf8(out).unwrap(), "9223372036854776000");
        // Values checked against Go 1.26's json.Marshal(float64(n)).
        for (n, go) in [
            (i64::MIN, "-9223372036854776000"),
            (9_007_199_254_740_993, "9007199254740992"),
            (123_456_789_012_345_678, "123456789012345680"),
            (1_711_929_600_123, "1711929600123"),
            (-1, "-1"),
            (0, "0"),
        ] {
            let mut out = Vec::new();
            go_number(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), go);
        }
    }

    #[test]
    fn go_decoding_rules() {
        // Keys match case-insensitively, the last duplicate wins, unknown
        // keys are dropped, null leaves a field unchanged.
        let e =
            parse_line(br#"{"ID":"a","id":"b","Session_ID":"s","x":[1,{"y":null}],"source":null}"#)
                .unwrap();
        assert_eq!(
            (e.id.as_str(), e.session_id.as_str(), e.source.as_str()),
            ("b", "s", "")
        );
        // Long s folds to s.
        let e = parse_line("{\"\u{17f}ource\":\"x\"}".as_bytes()).unwrap();
        assert_eq!(e.source, "x");
        // Wrong types and non-integers are errors.
        for bad in [
            &br#"{"event_type":1.0}"#[..],
            br#"{"event_type":"1"}"#,
            br#"{"timestamp":1e3}"#,
            br#"{"otr":1}"#,
            br#"{"id":5}"#,
            br#"[1]"#,
            br#"{"id":"a"} x"#,
            br#"{"id":"a",}"#,
            b"",
            b"{\"id\":\"\x01\"}",
            br#"{"event_type":99999999999999999999}"#,
        ] {
            assert!(parse_line(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        // Invalid UTF-8 and bad surrogates become U+FFFD, one per byte.
        let e = parse_line(b"{\"id\":\"a\xe2\x82\"}").unwrap();
        assert_eq!(e.id, "a\u{fffd}\u{fffd}");
        let e = parse_line(br#"{"id":"\ud800\u0041\ud83d\ude00"}"#).unwrap();
        assert_eq!(e.id, "\u{fffd}A\u{1f600}");
        // Deep nesting is skipped without recursion, up to Go's limit.
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(9_999), "]".repeat(9_999));
        assert!(parse_line(deep.as_bytes()).is_ok());
        let deeper = format!("{{\"x\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_line(deeper.as_bytes()).is_err());
    }

    #[test]
    fn details_deeper_than_a_record_holds_are_kept_as_text() {
        // D is level 3 of a record: 126 levels are kept parsed; 127 (which
        // serde_json still parses) and more are kept as their text, so the
        // entry can be appended.
        let d = tempfile::tempdir().unwrap();
        let log = Log::open(d.path().join("a.jsonl"), OpenOptions::new()).unwrap();
        for (depth, parsed) in [(126, true), (127, false), (128, false)] {
            let mut e = entry("");
            e.details_json = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let ev = legacy_event(&e);
            let kept = ev.details.as_ref().unwrap().get("details").unwrap();
            assert_eq!(kept.is_array(), parsed, "{depth}");
            assert_eq!(!kept.is_string(), parsed, "{depth}");
            log.append(&ev).unwrap();
        }
    }
}
