//! The on-disk format: canonical record bodies and the two framings.
//!
//! No I/O happens here; this module turns entries into bytes and bytes into
//! records. `spec/format.md` is the normative description; the constants and
//! layouts below follow it exactly.
//!
//! ```text
//! body  = {"v":1,"seq":N,"prev":"<hex>","kind":"entry","ts":"…",…,"details":…}
//! hash  = H(body)                       (SHA-256, or HMAC with the log key)
//!
//! JSONL  : body without its final '}' ++ ,"hash":"<hex>"} ++ '\n'
//! binary : header(16) then per record:
//!          u32 body_len | u16 hash_len | u16 flags | body | hash | u32 crc | u32 frame_len
//! ```
#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

use crate::chain::{Chain, Hash, HashAlg};

/// The record format version written by this library (`"v"`).
pub const FORMAT_VERSION: u32 = 1;

/// Largest record body accepted (16 MiB). Larger entries are refused on
/// append and larger length fields are treated as damage on read.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Deepest nesting of arrays and objects in a record body, the body object
/// itself being level 1 (spec § 5.5). `details` may therefore nest 127
/// levels: as deep as `serde_json` parses JSON text by default.
pub const MAX_DEPTH: usize = 128;

/// Magic bytes opening a binary-framed log.
pub const BINARY_MAGIC: [u8; 8] = *b"\x89EVD\r\n\x1a\n";

/// Length of the binary file header: magic, u32 framing version, u32 flags.
pub const BINARY_HEADER_LEN: usize = 16;

/// Binary framing version in the file header.
pub const BINARY_VERSION: u32 = 1;

/// Fixed bytes of a binary frame around body and hash.
pub const FRAME_OVERHEAD: usize = 4 + 2 + 2 + 4 + 4;

/// The suffix key that separates a JSONL line's body from its hash.
const HASH_KEY: &[u8] = b",\"hash\":\"";

/// The two framings of one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Framing {
    /// One JSON object per line (`jq`-readable).
    Jsonl = 1,
    /// A file header then CRC-protected, length-prefixed frames.
    Binary = 2,
}

impl Framing {
    /// Detects the framing from a file's first bytes (`None` if neither).
    pub fn detect(first: &[u8]) -> Option<Framing> {
        if first.starts_with(&BINARY_MAGIC) {
            Some(Framing::Binary)
        } else if first.first() == Some(&b'{') {
            Some(Framing::Jsonl)
        } else {
            None
        }
    }

    /// Offset of the first record (the genesis).
    pub fn data_start(self) -> u64 {
        match self {
            Framing::Jsonl => 0,
            Framing::Binary => BINARY_HEADER_LEN as u64,
        }
    }

    /// The file header (empty for JSONL).
    pub fn file_header(self) -> Vec<u8> {
        match self {
            Framing::Jsonl => Vec::new(),
            Framing::Binary => {
                let mut h = Vec::with_capacity(BINARY_HEADER_LEN);
                h.extend_from_slice(&BINARY_MAGIC);
                h.extend_from_slice(&BINARY_VERSION.to_le_bytes());
                h.extend_from_slice(&0u32.to_le_bytes());
                h
            }
        }
    }

    /// Name used by the CLI and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Framing::Jsonl => "jsonl",
            Framing::Binary => "binary",
        }
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Formats a timestamp the canonical way: RFC 3339, UTC, microseconds, `Z`.
pub fn format_ts(ts: &DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Whether a writer may store `ts` (spec § 5.3): years 0000 to 9999, the
/// only ones `YYYY` can hold.
pub fn ts_writable(ts: &DateTime<Utc>) -> Result<(), String> {
    use chrono::Datelike;
    // From the UTC fields directly: `DateTime::year` first adds the (zero)
    // offset, a date computation of its own on every append.
    if (0..=9999).contains(&ts.naive_utc().year()) {
        Ok(())
    } else {
        Err(format!(
            "timestamp {} is outside the years 0000-9999 a record can hold",
            format_ts(ts)
        ))
    }
}

/// Parses a record timestamp: exactly `YYYY-MM-DDTHH:MM:SS.ffffffZ`
/// (spec § 5.3), the form writers produce, and nothing else: no space for
/// `T`, no offset but `Z`, no other number of fraction digits, no
/// surrounding spaces. Seconds may be 60 (a leap second).
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 27 {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        let d = b.get(from..to)?;
        d.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let seps = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (26, b'Z'),
    ];
    if seps.iter().any(|&(i, c)| b.get(i) != Some(&c)) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, min, sec, micro) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 26)?);
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    if hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    // chrono represents a leap second as second 59 with 1_000_000 µs added.
    let time = if sec == 60 {
        chrono::NaiveTime::from_hms_micro_opt(hour, min, 59, 1_000_000 + micro)?
    } else {
        chrono::NaiveTime::from_hms_micro_opt(hour, min, sec, micro)?
    };
    Some(date.and_time(time).and_utc())
}

fn de_ts<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = Cow::<str>::deserialize(d)?;
    parse_ts(&s).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "timestamp {s:?} is not of the form YYYY-MM-DDTHH:MM:SS.ffffffZ"
        ))
    })
}

/// An optional member of a record read back: absent is `None`; present,
/// it must have its type, and `null` is not absent (spec § 3 rule 4, § 4:
/// an optional member that is absent is omitted, never written as null).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
    name: &str,
) -> Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom(format!(
            "member \"{name}\" is null (an optional member that is absent is omitted, never null)"
        ))),
    }
}

/// [`present`] for each optional member that may not be `null`, by name
/// (`present_key_id` is also the session file's, spec/session.md § 5).
macro_rules! present_members {
    ($($f:ident: $name:literal),* $(,)?) => {$(
        pub(crate) fn $f<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
            d: D,
        ) -> Result<Option<T>, D::Error> {
            present(d, $name)
        }
    )*};
}

present_members!(
    present_key_id: "key_id",
    present_success: "success",
    present_duration_ms: "duration_ms",
    present_error: "error",
    present_note: "note",
    present_git_commit: "git_commit",
);

/// `details` given as JSON `null` is kept as `null`; only absent details
/// (`None`) are written `{}` (spec § 4).
fn de_details<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// What a caller supplies for one entry. `seq`, `prev`, `hash` and (unless
/// set) `ts`, `actor` and `host` are filled in by the writer.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Event {
    /// Category of the event (e.g. `ACTION_EXECUTED`, `data_access`).
    pub event_type: String,
    /// What was done (e.g. `load_trace`, `run_command`, an RTGS operation).
    pub action: String,
    /// Who did it; `None` means the OS user running the writer.
    pub actor: Option<String>,
    /// Where; `None` means this machine's host name.
    pub host: Option<String>,
    /// Session the event belongs to.
    pub session_id: String,
    /// Originating component or tool (e.g. `pipeline`, an RTGS tool name).
    pub source: String,
    /// Off-the-record flag (OpenParallax `otr`). Written only when true.
    pub otr: bool,
    /// Outcome, when known (RTGS `success`).
    pub success: Option<bool>,
    /// Duration in milliseconds (RTGS `duration`).
    pub duration_ms: Option<f64>,
    /// Error text of a failed action (RTGS `error`).
    pub error: Option<String>,
    /// Free-text note (RTGS `note`).
    pub note: Option<String>,
    /// Source revision the action ran from (RTGS git commit).
    pub git_commit: Option<String>,
    /// Free-form JSON details (parameters, results, …). `None` is written
    /// `{}`; `Some(Value::Null)` (JSON `null`) is written `null`.
    #[serde(deserialize_with = "de_details")]
    pub details: Option<Value>,
    /// Details given as JSON text instead of `details` (at most one of the
    /// two may be set). Text already in canonical form (spec § 5.4) is
    /// written as given after a one-pass check; any other valid JSON is
    /// parsed and written canonically. Not part of the JSON form of an
    /// event (use `details` there).
    #[serde(skip)]
    pub details_json: Option<String>,
    /// Explicit timestamp (for imports); `None` means now.
    pub ts: Option<DateTime<Utc>>,
}

impl Event {
    /// An event with the given type and action.
    pub fn new(event_type: impl Into<String>, action: impl Into<String>) -> Event {
        Event {
            event_type: event_type.into(),
            action: action.into(),
            ..Event::default()
        }
    }

    /// Sets the details.
    pub fn details(mut self, details: Value) -> Event {
        self.details = Some(details);
        self
    }

    /// Sets the session id.
    pub fn session(mut self, session_id: impl Into<String>) -> Event {
        self.session_id = session_id.into();
        self
    }

    /// Sets the actor.
    pub fn actor(mut self, actor: impl Into<String>) -> Event {
        self.actor = Some(actor.into());
        self
    }

    /// Sets the source.
    pub fn source(mut self, source: impl Into<String>) -> Event {
        self.source = source.into();
        self
    }
}

/// An event's fields as the writer reads them, borrowed: from an [`Event`]
/// ([`Event::view`]) or straight from the caller's parsed JSON (the C
/// ABI's JSON calls), so that appending copies each field once, into the
/// record.
#[derive(Clone, Copy, Default)]
pub(crate) struct EventView<'a> {
    pub(crate) event_type: &'a str,
    pub(crate) action: &'a str,
    pub(crate) actor: Option<&'a str>,
    pub(crate) host: Option<&'a str>,
    pub(crate) session_id: &'a str,
    pub(crate) source: &'a str,
    pub(crate) otr: bool,
    pub(crate) success: Option<bool>,
    pub(crate) duration_ms: Option<f64>,
    pub(crate) error: Option<&'a str>,
    pub(crate) note: Option<&'a str>,
    pub(crate) git_commit: Option<&'a str>,
    pub(crate) details: Option<&'a Value>,
    pub(crate) details_json: Option<&'a str>,
    pub(crate) ts: Option<&'a DateTime<Utc>>,
}

impl EventView<'_> {
    /// The length of the event's text fields and details text (details
    /// given as a value count 0): what its record holds at least.
    pub(crate) fn text_len(&self) -> usize {
        [
            self.event_type,
            self.action,
            self.actor.unwrap_or_default(),
            self.host.unwrap_or_default(),
            self.session_id,
            self.source,
            self.error.unwrap_or_default(),
            self.note.unwrap_or_default(),
            self.git_commit.unwrap_or_default(),
            self.details_json.unwrap_or_default(),
        ]
        .iter()
        .fold(0usize, |n, s| n.saturating_add(s.len()))
    }
}

/// What the writer appends: anything that shows its fields as an
/// [`EventView`].
pub(crate) trait AsEventView {
    fn event_view(&self) -> EventView<'_>;
}

impl AsEventView for Event {
    fn event_view(&self) -> EventView<'_> {
        EventView {
            event_type: &self.event_type,
            action: &self.action,
            actor: self.actor.as_deref(),
            host: self.host.as_deref(),
            session_id: &self.session_id,
            source: &self.source,
            otr: self.otr,
            success: self.success,
            duration_ms: self.duration_ms,
            error: self.error.as_deref(),
            note: self.note.as_deref(),
            git_commit: self.git_commit.as_deref(),
            details: self.details.as_ref(),
            details_json: self.details_json.as_deref(),
            ts: self.ts.as_ref(),
        }
    }
}

/// One entry as read back from a log.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct Entry {
    /// Gapless sequence number, 1 for the first entry.
    pub seq: u64,
    /// UTC time the entry was written (microsecond precision).
    #[serde(serialize_with = "ser_ts")]
    pub ts: DateTime<Utc>,
    pub event_type: String,
    pub action: String,
    pub actor: String,
    pub host: String,
    pub session_id: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub otr: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    pub details: Value,
    /// Hash of the previous record (hex).
    pub prev: String,
    /// This record's hash (hex).
    pub hash: String,
}

fn ser_ts<S: serde::Serializer>(ts: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_ts(ts))
}

/// The genesis record's content: it makes a log describe itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Genesis {
    /// Record format version.
    pub version: u32,
    /// Creation time.
    pub ts: DateTime<Utc>,
    /// Chain algorithm.
    pub alg: HashAlg,
    /// Key id for keyed logs.
    pub key_id: Option<String>,
    /// Random 128-bit log id (32 hex digits).
    pub log_id: String,
    /// Extensions a reader must implement to verify this log (empty in v1).
    pub critical: Vec<String>,
}

/// Extensions this reader implements (none beyond version 1 yet).
pub const KNOWN_EXTENSIONS: &[&str] = &[];

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // serde_json's escaping is the canonical one (see spec): `"`, `\` and
    // control characters escaped, everything else literal UTF-8. A string
    // with none of those bytes is copied between quotes as it is.
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Whether `b` holds a byte serde_json escapes (`"`, `\\`, below 0x20),
/// eight bytes at a time (SWAR; exact, no false positives): short strings
/// are the common case, and a branch per byte cost more than the copy.
fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Some byte of `x` is zero / below 0x20 (exact for "any").
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let special = |x: u64| {
        has_zero(x ^ (ONES * u64::from(b'"')))
            || has_zero(x ^ (ONES * u64::from(b'\\')))
            || x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0
    };
    let word = |w: &[u8]| w.try_into().map_or(0, u64::from_le_bytes);
    if b.len() < 8 {
        return b.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20);
    }
    let mut words = b.chunks_exact(8);
    if words.any(|w| special(word(w))) {
        return true;
    }
    // The last (overlapping) eight bytes cover the remainder; loaded from
    // the string itself (a padded copy on the stack stalled the load).
    b.get(b.len() - 8..).is_some_and(|w| special(word(w)))
}

/// Writes `v` as serde_json's compact writer does (the canonical form of
/// spec § 5: members in the map's order, which is sorted), without its
/// per-token serializer calls: plain strings are copied between quotes
/// (see [`push_json_str`]), integers written directly, other numbers by
/// serde_json. The caller has bounded the nesting (the recursion depth).
fn push_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                push_u64(out, u);
            } else if let Some(i) = n.as_i64() {
                // as_u64 failed: negative.
                out.push(b'-');
                push_u64(out, i.unsigned_abs());
            } else {
                let _ = serde_json::to_writer(&mut *out, n);
            }
        }
        Value::String(s) => push_json_str(out, s),
        Value::Array(a) => {
            out.push(b'[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_value(out, e);
            }
            out.push(b']');
        }
        Value::Object(m) => {
            out.push(b'{');
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_json_str(out, k);
                out.push(b':');
                push_value(out, e);
            }
            out.push(b'}');
        }
    }
}

/// Writes `v` in decimal without allocating.
fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(d) = buf.get_mut(i) {
            *d = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(i..).unwrap_or_default());
}

/// Writes `ts` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (what [`format_ts`] gives)
/// without allocating; other years and leap seconds take [`format_ts`].
fn push_ts(out: &mut Vec<u8>, ts: &DateTime<Utc>) {
    use chrono::{Datelike, Timelike};
    // The UTC fields as stored: `DateTime<Utc>`'s own accessors add the
    // (zero) offset again for every field.
    let t = ts.naive_utc();
    let (y, nanos) = (t.year(), t.nanosecond());
    if !(0..=9999).contains(&y) || nanos >= 1_000_000_000 {
        out.extend_from_slice(format_ts(ts).as_bytes());
        return;
    }
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for k in (at..at + width).rev() {
            if let Some(d) = b.get_mut(k) {
                *d = b'0' + (v % 10) as u8;
            }
            v /= 10;
        }
    };
    put(0, 4, y as u32);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    put(20, 6, nanos / 1000);
    out.extend_from_slice(&b);
}

fn push_field_str(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b',');
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    push_json_str(out, value);
}

pub(crate) fn push_head(out: &mut Vec<u8>, seq: u64, prev: &Hash, kind: &str, ts: &DateTime<Utc>) {
    out.extend_from_slice(b"{\"v\":");
    push_u64(out, u64::from(FORMAT_VERSION));
    out.extend_from_slice(b",\"seq\":");
    push_u64(out, seq);
    out.extend_from_slice(b",\"prev\":\"");
    push_lower_hex(out, prev.as_bytes());
    out.extend_from_slice(b"\",\"kind\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"ts\":\"");
    push_ts(out, ts);
    out.push(b'"');
}

/// Writes the canonical genesis body into `out` (cleared first).
#[doc(hidden)]
pub fn encode_genesis(out: &mut Vec<u8>, g: &Genesis) {
    out.clear();
    push_head(out, 0, &Hash::zero(g.alg.hash_len()), "genesis", &g.ts);
    push_field_str(out, "format", "evident");
    push_field_str(out, "alg", g.alg.name());
    if let Some(k) = &g.key_id {
        push_field_str(out, "key_id", k);
    }
    push_field_str(out, "log_id", &g.log_id);
    if !g.critical.is_empty() {
        out.extend_from_slice(b",\"critical\":");
        let _ = serde_json::to_writer(&mut *out, &g.critical);
    }
    out.push(b'}');
}

/// Writes the canonical body of entry `seq` into `out` (cleared first).
///
/// `actor` and `host` are the resolved values (the event's own or the
/// writer's defaults). Fails on a non-finite duration. The writer encodes
/// straight into its buffer (`push_framed_entry`); this form is for tests,
/// benches and fuzzing.
#[doc(hidden)]
#[cfg(any(test, feature = "__internal"))]
pub fn encode_entry(
    out: &mut Vec<u8>,
    seq: u64,
    prev: &Hash,
    ts: &DateTime<Utc>,
    ev: &Event,
    actor: &str,
    host: &str,
) -> Result<(), String> {
    out.clear();
    push_entry(out, seq, prev, ts, &ev.event_view(), actor, host)
}

/// Encodes entry `seq` and frames it at the end of `out`, in place (no
/// separate body buffer): the body is written where the frame holds it,
/// hashed there, and the frame completed around it. Returns the hash and
/// the body's length (the caller refuses a body above [`MAX_BODY`]). On
/// `Err`, `out` may hold a partial record after its old length: the caller
/// truncates it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn push_framed_entry(
    out: &mut Vec<u8>,
    framing: Framing,
    chain: &Chain,
    seq: u64,
    prev: &Hash,
    ts: &DateTime<Utc>,
    ev: &EventView<'_>,
    actor: &str,
    host: &str,
) -> Result<(Hash, usize), String> {
    let start = out.len();
    if framing == Framing::Binary {
        out.extend_from_slice(&[0u8; 8]); // the length fields, filled below
    }
    let body_start = out.len();
    push_entry(out, seq, prev, ts, ev, actor, host)?;
    let body = out.get(body_start..).unwrap_or_default();
    let body_len = body.len();
    let hash = chain.hash(body);
    match framing {
        Framing::Jsonl => {
            out.pop(); // the body's final `}`: the hash member comes first
            push_hash_member(out, &hash);
        }
        Framing::Binary => {
            if let Some(h) = out.get_mut(start..body_start) {
                let [a, b, c, d] = (body_len as u32).to_le_bytes();
                let [e, f] = (hash.as_bytes().len() as u16).to_le_bytes();
                h.copy_from_slice(&[a, b, c, d, e, f, 0, 0]);
            }
            out.extend_from_slice(hash.as_bytes());
            let crc = crc32fast::hash(out.get(start..).unwrap_or_default());
            out.extend_from_slice(&crc.to_le_bytes());
            let frame_len = (out.len() - start + 4) as u32;
            out.extend_from_slice(&frame_len.to_le_bytes());
        }
    }
    Ok((hash, body_len))
}

/// [`encode_entry`] without clearing `out`: the body is appended.
fn push_entry(
    out: &mut Vec<u8>,
    seq: u64,
    prev: &Hash,
    ts: &DateTime<Utc>,
    ev: &EventView<'_>,
    actor: &str,
    host: &str,
) -> Result<(), String> {
    let body_start = out.len();
    ts_writable(ts)?;
    let parsed;
    let details = match (ev.details, ev.details_json) {
        (Some(_), Some(_)) => return Err("both details and details_json are set".into()),
        (None, Some(text)) if crate::canon::is_canonical(text, MAX_DEPTH - 1) => {
            Details::Text(text)
        }
        (None, Some(text)) => {
            parsed = serde_json::from_str::<Value>(text)
                .map_err(|e| format!("details_json is not valid JSON: {e}"))?;
            Details::Value(&parsed)
        }
        (Some(v), None) => Details::Value(v),
        (None, None) => Details::Empty,
    };
    if let Details::Value(d) = details {
        // The body is level 1, details level 2. Checked before serialising:
        // serde_json would recurse as deep as the value goes.
        if value_depth(d, MAX_DEPTH) + 1 > MAX_DEPTH {
            return Err(format!(
                "details nest more than {} levels deep (a record holds at most {MAX_DEPTH})",
                MAX_DEPTH - 1
            ));
        }
    }
    push_head(out, seq, prev, "entry", ts);
    push_field_str(out, "event_type", ev.event_type);
    push_field_str(out, "action", ev.action);
    push_field_str(out, "actor", actor);
    push_field_str(out, "host", host);
    push_field_str(out, "session_id", ev.session_id);
    push_field_str(out, "source", ev.source);
    if ev.otr {
        out.extend_from_slice(b",\"otr\":true");
    }
    if let Some(s) = ev.success {
        out.extend_from_slice(if s {
            b",\"success\":true".as_slice()
        } else {
            b",\"success\":false".as_slice()
        });
    }
    if let Some(d) = ev.duration_ms {
        if !d.is_finite() {
            return Err("duration_ms must be a finite number".into());
        }
        out.extend_from_slice(b",\"duration_ms\":");
        let _ = serde_json::to_writer(&mut *out, &d);
    }
    if let Some(e) = ev.error {
        push_field_str(out, "error", e);
    }
    if let Some(n) = ev.note {
        push_field_str(out, "note", n);
    }
    if let Some(g) = ev.git_commit {
        push_field_str(out, "git_commit", g);
    }
    out.extend_from_slice(b",\"details\":");
    match details {
        Details::Empty => out.extend_from_slice(b"{}"),
        Details::Text(t) => out.extend_from_slice(t.as_bytes()),
        Details::Value(v) => push_value(out, v),
    }
    out.push(b'}');
    // The rest of the rule every reader applies (check_json) holds by
    // construction: Rust strings are Unicode (written as UTF-8, never as
    // surrogate escapes), serde_json numbers and duration_ms are finite.
    // Checked in debug builds; release appends skip the second pass.
    debug_assert_eq!(
        check_json(out.get(body_start..).unwrap_or_default()),
        Ok(())
    );
    Ok(())
}

/// The details of one entry, as [`encode_entry`] writes them.
#[derive(Clone, Copy)]
enum Details<'a> {
    Empty,
    /// Canonical JSON text, written as given.
    Text(&'a str),
    Value(&'a Value),
}

/// Nesting depth of arrays and objects in `v` (a scalar is 0), counted
/// without recursion; stops counting at `limit + 1`.
fn value_depth(v: &Value, limit: usize) -> usize {
    /// Pushes the arrays and objects directly inside `v` (at depth `d`),
    /// so that flat details allocate nothing.
    fn push_children<'a>(stack: &mut Vec<(&'a Value, usize)>, v: &'a Value, d: usize) {
        let nested = |c: &&Value| c.is_array() || c.is_object();
        match v {
            Value::Array(a) => stack.extend(a.iter().filter(nested).map(|c| (c, d))),
            Value::Object(m) => stack.extend(m.values().filter(nested).map(|c| (c, d))),
            _ => {}
        }
    }
    if !(v.is_array() || v.is_object()) {
        return 0;
    }
    let mut stack = Vec::new();
    push_children(&mut stack, v, 2);
    let mut max = 1;
    while let Some((c, d)) = stack.pop() {
        max = max.max(d);
        if max > limit {
            break;
        }
        push_children(&mut stack, c, d + 1);
    }
    max
}

/// Appends `,"hash":"<hex>"}` and the newline: the end of a JSONL record
/// whose body (without its final `}`) is already in `out`.
fn push_hash_member(out: &mut Vec<u8>, hash: &Hash) {
    out.extend_from_slice(HASH_KEY);
    push_lower_hex(out, hash.as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// The two lower-case hex digits of every byte value, in byte order.
#[allow(clippy::indexing_slicing)] // constant evaluation: out of range fails the build
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [DIGITS[i >> 4], DIGITS[i & 15]];
        i += 1;
    }
    t
};

/// Appends `bytes` in lower-case hex (what `hex::encode` gives): one table
/// look-up per byte into a stack buffer, copied once (a hash is at most
/// 64 bytes; longer input goes in pieces).
fn push_lower_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut buf = [0u8; 128];
    for piece in bytes.chunks(64) {
        for (dst, pair) in buf.chunks_exact_mut(2).zip(
            piece
                .iter()
                .map(|&b| HEX_PAIRS.get(usize::from(b)).copied().unwrap_or_default()),
        ) {
            dst.copy_from_slice(&pair);
        }
        out.extend_from_slice(buf.get(..piece.len() * 2).unwrap_or_default());
    }
}

/// Appends the framed record for `body` and `hash` to `out`.
#[doc(hidden)]
pub fn frame(out: &mut Vec<u8>, framing: Framing, body: &[u8], hash: &Hash) {
    match framing {
        Framing::Jsonl => {
            let (without_brace, _) = body.split_at(body.len().saturating_sub(1));
            out.extend_from_slice(without_brace);
            push_hash_member(out, hash);
        }
        Framing::Binary => {
            let start = out.len();
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(&(hash.as_bytes().len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(hash.as_bytes());
            let crc = crc32fast::hash(out.get(start..).unwrap_or_default());
            out.extend_from_slice(&crc.to_le_bytes());
            let frame_len = (out.len() - start + 4) as u32;
            out.extend_from_slice(&frame_len.to_le_bytes());
        }
    }
}

/// Why raw bytes are not a record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[doc(hidden)]
pub struct Defect(pub String);

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn defect<T>(msg: impl Into<String>) -> Result<T, Defect> {
    Err(Defect(msg.into()))
}

/// The content rule for record JSON (spec § 5.5), applied alike by the
/// writer ([`encode_entry`] refuses details nested too deep; the rest holds
/// for its bodies by construction, asserted in debug builds; the session
/// writer calls this), the verifier and every reader (to each record they
/// parse, in the same pass that reads its head: [`parse`]), so that a
/// record that verifies can always be read:
///
/// - arrays and objects nest at most [`MAX_DEPTH`] levels (the record's own
///   object is level 1);
/// - every number is finite when read as an IEEE 754 double (`1e400` is not);
/// - every string (value or member name) is Unicode: no lone surrogate
///   escape (`\ud800` not followed by `\udc00`-`\udfff`, or a lone
///   `\udc00`-`\udfff`).
///
/// `serde_json` reads every value (it refuses numbers beyond a double and
/// lone surrogates when it parses them, where skipping them would not);
/// the nesting is counted here, which also bounds the recursion.
#[doc(hidden)]
pub fn check_json(json: &[u8]) -> Result<(), Defect> {
    let mut de = serde_json::Deserializer::from_slice(json);
    // Bounded by Checked's own count (128; serde_json's default is 127).
    de.disable_recursion_limit();
    serde::de::DeserializeSeed::deserialize(Checked(1), &mut de)
        .and_then(|()| de.end())
        .map_err(|e| Defect(format!("record is not valid JSON: {e}")))
}

/// Reads (and discards) one JSON value at nesting level `.0`, applying the
/// content rule of [`check_json`] to it and everything in it.
#[derive(Clone, Copy)]
struct Checked(usize);

impl<'de> serde::de::DeserializeSeed<'de> for Checked {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Checked {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: serde::de::Error>(self, x: f64) -> Result<(), E> {
        if x.is_finite() {
            Ok(())
        } else {
            Err(E::custom(
                "number is beyond the range of a double (not finite)",
            ))
        }
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.nested()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.nested()?;
        while map.next_key_seed(inner)?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

impl Checked {
    /// The seed for the values inside this array or object.
    fn nested<E: serde::de::Error>(self) -> Result<Checked, E> {
        if self.0 > MAX_DEPTH {
            return Err(E::custom(format!(
                "arrays and objects nested more than {MAX_DEPTH} levels deep"
            )));
        }
        Ok(Checked(self.0 + 1))
    }
}

/// A framing-valid record: its body and stored hash, borrowed from a buffer.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct RawRecord<'a> {
    /// Body bytes. For JSONL the body's closing `}` is not in the line at
    /// this position; see [`RawRecord::body_tail`].
    pub body_head: &'a [u8],
    /// The bytes that complete the body after `body_head` (`b"}"` for JSONL,
    /// empty for binary).
    pub body_tail: &'static [u8],
    /// The stored hash.
    pub hash: Hash,
    /// Bytes that parse as one JSON object holding every field (the JSONL
    /// line, or the binary body).
    pub json: &'a [u8],
}

impl RawRecord<'_> {
    /// Recomputes the hash of this record's body.
    pub fn compute_hash(&self, chain: &Chain) -> Hash {
        chain.hash_parts(&[self.body_head, self.body_tail])
    }

    /// The full body as owned bytes.
    pub fn body(&self) -> Vec<u8> {
        let mut body = self.body_head.to_vec();
        body.extend_from_slice(self.body_tail);
        body
    }
}

/// Splits one JSONL line (without its `\n`) into body and hash.
#[doc(hidden)]
pub fn split_jsonl(line: &[u8]) -> Result<RawRecord<'_>, Defect> {
    // ...,"hash":"<64 or 128 hex>"}
    let Some(rest) = line.strip_suffix(b"\"}") else {
        return defect("line does not end with the hash field");
    };
    for hex_len in [64usize, 128] {
        let Some(key_end) = rest.len().checked_sub(hex_len) else {
            continue;
        };
        let (before, hex_part) = rest.split_at(key_end);
        if let Some(body_head) = before.strip_suffix(HASH_KEY) {
            if !body_head.starts_with(b"{") {
                return defect("line is not a JSON object");
            }
            let Some(hash) = Hash::from_lower_hex(hex_part) else {
                return defect("hash is not lower-case hex");
            };
            return Ok(RawRecord {
                body_head,
                body_tail: b"}",
                hash,
                json: line,
            });
        }
    }
    defect("line does not end with a \"hash\" field of 64 or 128 hex digits")
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([
        *s.first()?,
        *s.get(1)?,
        *s.get(2)?,
        *s.get(3)?,
    ]))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*s.first()?, *s.get(1)?]))
}

/// What the start of a binary frame says about its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum FrameSize {
    /// A frame of this many bytes starts here (bounds checked, not the CRC).
    Len(usize),
    /// Fewer than 8 bytes remain: cannot tell yet.
    NeedMore,
    /// The length fields are impossible.
    Bad,
}

/// Reads the length fields at the start of a binary frame.
#[doc(hidden)]
pub fn frame_size(buf: &[u8]) -> FrameSize {
    let (Some(body_len), Some(hash_len)) = (u32_at(buf, 0), u16_at(buf, 4)) else {
        return FrameSize::NeedMore;
    };
    let body_len = body_len as usize;
    if !(2..=MAX_BODY).contains(&body_len) || !(hash_len == 32 || hash_len == 64) {
        return FrameSize::Bad;
    }
    FrameSize::Len(FRAME_OVERHEAD + body_len + hash_len as usize)
}

/// Checks and splits one complete binary frame (exactly `frame` bytes).
#[doc(hidden)]
pub fn split_binary(frame: &[u8]) -> Result<RawRecord<'_>, Defect> {
    split_binary_with(frame, true)
}

/// [`split_binary`]; `check_crc: false` trusts a CRC already checked.
fn split_binary_with(frame: &[u8], check_crc: bool) -> Result<RawRecord<'_>, Defect> {
    let FrameSize::Len(len) = frame_size(frame) else {
        return defect("impossible frame length fields");
    };
    if len != frame.len() {
        return defect("frame length mismatch");
    }
    let body_len = u32_at(frame, 0).unwrap_or(0) as usize;
    let hash_len = u16_at(frame, 4).unwrap_or(0) as usize;
    let flags = u16_at(frame, 6).unwrap_or(0);
    let crc_at = 8 + body_len + hash_len;
    let stored_crc = u32_at(frame, crc_at);
    let trailer = u32_at(frame, crc_at + 4);
    if trailer != Some(len as u32) {
        return defect("frame trailer length mismatch");
    }
    let covered = frame.get(..crc_at).unwrap_or_default();
    if check_crc && stored_crc != Some(crate::crc_range::crc(covered)) {
        return defect("frame CRC mismatch");
    }
    if flags != 0 {
        return defect(format!("unknown frame flags {flags:#06x}"));
    }
    let body = frame.get(8..8 + body_len).unwrap_or_default();
    let hash = frame
        .get(8 + body_len..crc_at)
        .and_then(Hash::from_slice)
        .ok_or_else(|| Defect("hash length".into()))?;
    Ok(RawRecord {
        body_head: body,
        body_tail: b"",
        hash,
        json: body,
    })
}

/// The fields every record has, parsed from its JSON. Reading it applies
/// the content rule ([`check_json`]) to every other member, in one pass.
#[derive(Debug)]
#[doc(hidden)]
pub struct RecordHead<'a> {
    pub v: u32,
    pub seq: u64,
    pub prev: Cow<'a, str>,
    pub kind: Cow<'a, str>,
}

impl<'de> Deserialize<'de> for RecordHead<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = RecordHead<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a record (a JSON object)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RecordHead<'de>, A::Error> {
                use serde::de::Error as _;
                let (mut v, mut seq, mut prev, mut kind) = (None, None, None, None);
                fn once<T, E: serde::de::Error>(
                    slot: &mut Option<T>,
                    value: T,
                    name: &'static str,
                ) -> Result<(), E> {
                    match slot.replace(value) {
                        None => Ok(()),
                        Some(_) => Err(E::duplicate_field(name)),
                    }
                }
                // Member values are at level 2 (the record is level 1).
                let member = Checked(2);
                while let Some(name) = map.next_key_seed(HeadKey)? {
                    match name {
                        Some(HeadMember::V) => once(&mut v, map.next_value::<u32>()?, "v")?,
                        Some(HeadMember::Seq) => once(&mut seq, map.next_value::<u64>()?, "seq")?,
                        Some(HeadMember::Prev) => {
                            once(&mut prev, map.next_value_seed(BorrowStr)?, "prev")?
                        }
                        Some(HeadMember::Kind) => {
                            once(&mut kind, map.next_value_seed(BorrowStr)?, "kind")?
                        }
                        None => map.next_value_seed(member)?,
                    }
                }
                Ok(RecordHead {
                    v: v.ok_or_else(|| A::Error::missing_field("v"))?,
                    seq: seq.ok_or_else(|| A::Error::missing_field("seq"))?,
                    prev: prev.ok_or_else(|| A::Error::missing_field("prev"))?,
                    kind: kind.ok_or_else(|| A::Error::missing_field("kind"))?,
                })
            }
        }
        d.deserialize_map(Visit)
    }
}

/// The members [`RecordHead`] reads; `None` for every other name.
enum HeadMember {
    V,
    Seq,
    Prev,
    Kind,
}

/// Reads a member name without allocating (names are checked like any
/// string: escapes must form Unicode characters).
struct HeadKey;

impl<'de> serde::de::DeserializeSeed<'de> for HeadKey {
    type Value = Option<HeadMember>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for HeadKey {
    type Value = Option<HeadMember>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
        Ok(match name {
            "v" => Some(HeadMember::V),
            "seq" => Some(HeadMember::Seq),
            "prev" => Some(HeadMember::Prev),
            "kind" => Some(HeadMember::Kind),
            _ => None,
        })
    }
}

/// Reads a string, borrowed from the record when it has no escapes.
struct BorrowStr;

impl<'de> serde::de::DeserializeSeed<'de> for BorrowStr {
    type Value = Cow<'de, str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for BorrowStr {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
}

/// A record whose framing and common fields are valid, and whose content
/// keeps to the rule of [`check_json`]. Only [`parse`] makes one (it is
/// `non_exhaustive`: other crates cannot build one).
#[derive(Debug, Clone)]
#[non_exhaustive]
#[doc(hidden)]
pub struct Parsed<'a> {
    pub raw: RawRecord<'a>,
    pub seq: u64,
    pub prev: Hash,
    pub kind: RecordKind,
}

/// The record kinds of format version 1.
#[derive(Debug, Clone, PartialEq, Eq)]
#[doc(hidden)]
pub enum RecordKind {
    Genesis,
    Entry,
    /// A kind from a later version: part of the chain, not an entry.
    Other(String),
}

/// The body rule that makes every record convertible between the framings
/// (spec § 2 rule 4): at most [`MAX_BODY`] bytes, first byte `{`, last byte
/// `}`, no line feed. A JSONL line guarantees the last three; a binary frame
/// guarantees the first.
fn check_body_shape(framing: Framing, raw: &RawRecord<'_>) -> Result<(), Defect> {
    match framing {
        Framing::Jsonl => {
            let len = raw.body_head.len() + raw.body_tail.len();
            if len > MAX_BODY {
                return defect(format!(
                    "body of {len} bytes is longer than {MAX_BODY} (no binary frame can hold it)"
                ));
            }
        }
        Framing::Binary => {
            let b = raw.body_head;
            if b.first() != Some(&b'{') || b.last() != Some(&b'}') {
                return defect(
                    "body does not start with '{' and end with '}': not convertible to JSONL",
                );
            }
            if memchr::memchr(b'\n', b).is_some() {
                return defect("body contains a byte 0x0A (LF): not convertible to JSONL");
            }
        }
    }
    Ok(())
}

/// Splits a raw record (line or frame) and parses its common fields.
#[doc(hidden)]
pub fn parse(framing: Framing, bytes: &[u8]) -> Result<Parsed<'_>, Defect> {
    let raw = match framing {
        Framing::Jsonl => split_jsonl(bytes)?,
        Framing::Binary => split_binary(bytes)?,
    };
    check_body_shape(framing, &raw)?;
    parse_checked(raw)
}

/// [`parse`], reading the common fields by the canonical layout when the
/// body has it (`crate::fast_record`: the rest of the body is checked in
/// the same pass, without building values) and with the full reader
/// otherwise. Same result as [`parse`] for every input: the fast path
/// answers only when the full reader would accept the record and read the
/// same fields, and leaves every error to it.
pub fn parse_fast(framing: Framing, bytes: &[u8]) -> Result<Parsed<'_>, Defect> {
    let raw = match framing {
        Framing::Jsonl => split_jsonl(bytes)?,
        Framing::Binary => split_binary(bytes)?,
    };
    parse_raw_fast(framing, raw)
}

/// [`parse_fast`] for a binary frame whose framing (length fields, CRC,
/// trailer, flags) was already checked, as the scanner checks every frame
/// it returns as a record: the CRC is not computed again.
pub(crate) fn parse_fast_checked_frame(frame: &[u8]) -> Result<Parsed<'_>, Defect> {
    parse_raw_fast(Framing::Binary, split_binary_with(frame, false)?)
}

fn parse_raw_fast(framing: Framing, raw: RawRecord<'_>) -> Result<Parsed<'_>, Defect> {
    check_body_shape(framing, &raw)?;
    // The body without its final `}` (JSONL: the body head; binary: the
    // shape check above made its last byte `}`).
    let open = match framing {
        Framing::Jsonl => raw.body_head,
        Framing::Binary => raw
            .body_head
            .get(..raw.body_head.len().saturating_sub(1))
            .unwrap_or_default(),
    };
    if let Some(h) = crate::fast_record::head(open) {
        if h.prev.as_bytes().len() == raw.hash.as_bytes().len() {
            let kind = match h.kind {
                "genesis" => RecordKind::Genesis,
                "entry" => RecordKind::Entry,
                other => RecordKind::Other(other.to_string()),
            };
            return Ok(Parsed {
                raw,
                seq: h.seq,
                prev: h.prev,
                kind,
            });
        }
    }
    parse_checked(raw)
}

/// The full reader's part of [`parse`] after the framing and body shape.
fn parse_checked(raw: RawRecord<'_>) -> Result<Parsed<'_>, Defect> {
    // One pass: the head members, and the content rule for the rest. It
    // reads every string, so it also checks that the record is UTF-8 (RFC
    // 8259; vector invalid_utf8): outside strings only ASCII is JSON.
    let mut de = serde_json::Deserializer::from_slice(raw.json);
    de.disable_recursion_limit(); // RecordHead's Checked counts the nesting
    let head = match RecordHead::deserialize(&mut de).and_then(|h| de.end().map(|()| h)) {
        Ok(h) => h,
        Err(e) => return defect(format!("record is not valid JSON: {e}")),
    };
    if head.v == 0 {
        return defect("record version 0");
    }
    let Some(prev) = Hash::from_hex(&head.prev) else {
        return defect("\"prev\" is not a hash");
    };
    if prev.as_bytes().len() != raw.hash.as_bytes().len() {
        return defect("\"prev\" and \"hash\" differ in length");
    }
    let kind = match &*head.kind {
        "genesis" => RecordKind::Genesis,
        "entry" => RecordKind::Entry,
        other => RecordKind::Other(other.to_string()),
    };
    Ok(Parsed {
        raw,
        seq: head.seq,
        prev,
        kind,
    })
}

/// Checks the two genesis members that decide before all others (spec § 3):
/// a `v` above [`FORMAT_VERSION`] or a `critical` extension this reader does
/// not implement makes the log unsupported, whatever the other members are
/// (a later version may change them). Returns the reason, or `None` when
/// the record is not unsupported (it may still be malformed).
#[doc(hidden)]
pub fn unsupported_genesis(framing: Framing, bytes: &[u8]) -> Option<String> {
    let raw = match framing {
        Framing::Jsonl => split_jsonl(bytes).ok()?,
        Framing::Binary => split_binary(bytes).ok()?,
    };
    // Every occurrence counts: a body with two `v` members, one of them 2,
    // needs a newer reader as much as one with a single `v` of 2 (spec § 3:
    // "whatever its other members are"). Other members are skipped unread.
    let Decisive(members) = serde_json::from_slice(raw.json).ok()?;
    for (name, value) in &members {
        match (*name, value) {
            (Member::V, Value::Number(n)) => {
                if let Some(v) = n.as_u64().filter(|&v| v > u64::from(FORMAT_VERSION)) {
                    return Some(format!(
                        "format version {v} (this library reads up to {FORMAT_VERSION})"
                    ));
                }
            }
            (Member::Critical, Value::Array(list)) => {
                let names: Option<Vec<&str>> = list.iter().map(Value::as_str).collect();
                if let Some(ext) = names
                    .unwrap_or_default()
                    .into_iter()
                    .find(|c| !KNOWN_EXTENSIONS.contains(c))
                {
                    return Some(format!("log needs extension {ext:?}"));
                }
            }
            _ => {}
        }
    }
    None
}

#[derive(Clone, Copy)]
enum Member {
    V,
    Critical,
}

/// Every `v` and `critical` member of a JSON object, in order, duplicates
/// included; other members are skipped without being interpreted.
struct Decisive(Vec<(Member, Value)>);

impl<'de> Deserialize<'de> for Decisive {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Decisive;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Decisive, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = map.next_key::<Cow<'de, str>>()? {
                    let member = match &*name {
                        "v" => Member::V,
                        "critical" => Member::Critical,
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                            continue;
                        }
                    };
                    out.push((member, map.next_value::<Value>()?));
                }
                Ok(Decisive(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// Deserializes a record that [`parse`] accepted (`p`). [`parse`] bounded
/// its nesting to [`MAX_DEPTH`], so serde_json's own recursion limit (127
/// levels, one less than a body may hold) is lifted here.
fn from_record<'a, T: Deserialize<'a>>(p: &Parsed<'a>) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_slice(p.raw.json);
    de.disable_recursion_limit();
    let v = T::deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

#[derive(Deserialize)]
struct GenesisJson {
    v: u32,
    seq: u64,
    #[serde(deserialize_with = "de_ts")]
    ts: DateTime<Utc>,
    format: String,
    alg: String,
    #[serde(default, deserialize_with = "present_key_id")]
    key_id: Option<String>,
    log_id: String,
    #[serde(default)]
    critical: Vec<String>,
}

/// Decodes a genesis record's fields.
#[doc(hidden)]
pub fn decode_genesis(p: &Parsed<'_>) -> Result<Genesis, Defect> {
    if p.kind != RecordKind::Genesis || p.seq != 0 {
        return defect("first record is not a genesis record with seq 0");
    }
    let g: GenesisJson = match from_record(p) {
        Ok(g) => g,
        Err(e) => return defect(format!("bad genesis record: {e}")),
    };
    if g.format != "evident" {
        return defect(format!(
            "genesis names format {:?}, not \"evident\"",
            g.format
        ));
    }
    let Some(alg) = HashAlg::from_name(&g.alg) else {
        return defect(format!("unknown hash algorithm {:?}", g.alg));
    };
    if alg.hash_len() != p.raw.hash.as_bytes().len() {
        return defect("hash length does not match the algorithm");
    }
    if p.prev != Hash::zero(alg.hash_len()) {
        return defect("genesis \"prev\" is not all zeros");
    }
    debug_assert_eq!(g.seq, 0);
    Ok(Genesis {
        version: g.v,
        ts: g.ts,
        alg,
        key_id: g.key_id,
        log_id: g.log_id,
        critical: g.critical,
    })
}

/// The fields of an entry record that queries filter on, checked as
/// [`decode_entry`] checks them (same types, same order, same errors) but
/// without building the details, which [`parse`] has already checked
/// against the content rule (so decoding them cannot fail).
#[doc(hidden)]
pub struct EntryKeys {
    pub seq: u64,
    pub ts: DateTime<Utc>,
    pub event_type: String,
    pub action: String,
    pub actor: String,
    pub session_id: String,
    pub source: String,
}

/// An entry record's members as the format defines them; `D` is how
/// `details` is read (a [`Value`], or skipped). Both decoders check every
/// other member the same way.
#[derive(Deserialize)]
struct EntryJson<D> {
    seq: u64,
    #[serde(deserialize_with = "de_ts")]
    ts: DateTime<Utc>,
    event_type: String,
    action: String,
    actor: String,
    host: String,
    session_id: String,
    source: String,
    #[serde(default)]
    otr: bool,
    #[serde(default, deserialize_with = "present_success")]
    success: Option<bool>,
    #[serde(default, deserialize_with = "present_duration_ms")]
    duration_ms: Option<f64>,
    #[serde(default, deserialize_with = "present_error")]
    error: Option<String>,
    #[serde(default, deserialize_with = "present_note")]
    note: Option<String>,
    #[serde(default, deserialize_with = "present_git_commit")]
    git_commit: Option<String>,
    #[serde(default)]
    details: D,
}

/// [`decode_entry`] for filtering: the same checks and errors, the details
/// skipped.
#[doc(hidden)]
pub fn decode_entry_keys(p: &Parsed<'_>) -> Result<EntryKeys, Defect> {
    let e: EntryJson<serde::de::IgnoredAny> = match from_record(p) {
        Ok(e) => e,
        Err(err) => return defect(format!("bad entry record: {err}")),
    };
    Ok(EntryKeys {
        seq: e.seq,
        ts: e.ts,
        event_type: e.event_type,
        action: e.action,
        actor: e.actor,
        session_id: e.session_id,
        source: e.source,
    })
}

/// Decodes an entry record into an [`Entry`].
#[doc(hidden)]
pub fn decode_entry(p: &Parsed<'_>) -> Result<Entry, Defect> {
    let e: EntryJson<Value> = match from_record(p) {
        Ok(e) => e,
        Err(err) => return defect(format!("bad entry record: {err}")),
    };
    Ok(Entry {
        seq: e.seq,
        ts: e.ts,
        event_type: e.event_type,
        action: e.action,
        actor: e.actor,
        host: e.host,
        session_id: e.session_id,
        source: e.source,
        otr: e.otr,
        success: e.success,
        duration_ms: e.duration_ms,
        error: e.error,
        note: e.note,
        git_commit: e.git_commit,
        details: e.details,
        prev: p.prev.to_hex(),
        hash: p.raw.hash.to_hex(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn needs_escape_is_exact() {
        let slow = |b: &[u8]| b.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20);
        let mut rng_state = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            rng_state ^= rng_state << 13;
            rng_state ^= rng_state >> 7;
            rng_state ^= rng_state << 17;
            rng_state
        };
        for len in 0..40 {
            for _ in 0..300 {
                let mut b: Vec<u8> = (0..len).map(|_| b'a' + (next() % 26) as u8).collect();
                if len > 0 && next() % 2 == 0 {
                    let at = (next() % len as u64) as usize;
                    b[at] = (next() % 256) as u8;
                }
                assert_eq!(needs_escape(&b), slow(&b), "{b:?}");
            }
        }
        for c in 0..=255u8 {
            for at in 0..17 {
                let mut b = vec![b'x'; 17];
                b[at] = c;
                assert_eq!(needs_escape(&b), slow(&b), "byte {c:#x} at {at}");
                assert_eq!(needs_escape(&b[..at + 1]), slow(&b[..at + 1]));
            }
        }
    }

    #[test]
    fn value_writer_matches_serde_json() {
        let values = [
            json!(null),
            json!(true),
            json!([
                false,
                0,
                -1,
                i64::MIN,
                i64::MAX,
                u64::MAX,
                1.5,
                -0.0,
                1e300,
                5e-324,
                0.1
            ]),
            json!({"b": "plain", "a": "q\"uote \\ back\u{1}ctl\n\t\u{7f} µ 😀", "": {}, "z": []}),
            json!({"n": {"m": [[], {}, [1, [2, [3, {"k": "v"}]]]], "s": "x".repeat(100)}}),
            json!("\u{2028}\u{2029}/"),
        ];
        for v in values {
            let mut out = b"prefix".to_vec();
            push_value(&mut out, &v);
            let mut expected = b"prefix".to_vec();
            serde_json::to_writer(&mut expected, &v).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
    }

    #[test]
    fn fast_writers_match_the_canonical_ones() {
        use chrono::TimeZone;
        for v in [0u64, 1, 9, 10, 99, 12345, u64::MAX] {
            let mut out = Vec::new();
            push_u64(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
        let times = [
            Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 2).unwrap(),
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
                + chrono::Duration::nanoseconds(999_999_999),
            Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap(),
            Utc.timestamp_opt(1_700_000_039, 1_500_000_000).unwrap(), // leap second
        ];
        for t in times {
            let mut out = Vec::new();
            push_ts(&mut out, &t);
            assert_eq!(String::from_utf8(out).unwrap(), format_ts(&t));
        }
        for s in [
            "",
            "plain µs ✓",
            "q\"",
            "back\\",
            "tab\t",
            "\u{1f}",
            "\u{7f}/",
        ] {
            let mut out = Vec::new();
            push_json_str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    /// Strings are written exactly as serde_json writes them: every ASCII
    /// character and some multi-byte ones at every position of strings of
    /// 0 to 24 characters.
    #[test]
    fn string_writer_matches_serde_json_at_every_length_and_position() {
        let mut chars: Vec<char> = (0u8..0x80).map(char::from).collect();
        chars.extend(['\u{80}', 'µ', '\u{7ff}', '✓', '\u{2028}', '\u{ffff}', '😀']);
        for len in 0..=24usize {
            for at in 0..len.max(1) {
                for &c in &chars {
                    let s: String = (0..len)
                        .map(|i| {
                            if i == at {
                                c
                            } else {
                                char::from(b'a' + (i % 26) as u8)
                            }
                        })
                        .collect();
                    let mut out = b"pre".to_vec();
                    push_json_str(&mut out, &s);
                    let mut expected = b"pre".to_vec();
                    serde_json::to_writer(&mut expected, &s).unwrap();
                    assert_eq!(out, expected, "{s:?}");
                }
            }
        }
    }

    /// The table hex writer and the field-by-field timestamp writer give
    /// exactly what the `hex` crate and chrono's RFC 3339 writer (the
    /// encoders they replace) give, for many random inputs.
    #[test]
    fn hex_and_timestamp_writers_match_the_reference_encoders() {
        use chrono::TimeZone;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in 0..=140 {
            for _ in 0..20 {
                let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                let mut out = b"x".to_vec();
                push_lower_hex(&mut out, &bytes);
                assert_eq!(out[1..], *hex::encode(&bytes).as_bytes(), "{bytes:?}");
            }
        }
        let every_byte: Vec<u8> = (0..=255).collect();
        let mut out = Vec::new();
        push_lower_hex(&mut out, &every_byte);
        assert_eq!(out, hex::encode(&every_byte).as_bytes());
        // Years 0000 to 9999 (seconds from -62167219200 to 253402300799).
        let (lo, hi) = (-62_167_219_200i64, 253_402_300_799i64);
        for _ in 0..20_000 {
            let secs = lo + (next() % (hi - lo + 1) as u64) as i64;
            let nanos = (next() % 1_000_000_000) as u32;
            let t = Utc.timestamp_opt(secs, nanos).unwrap();
            let mut out = Vec::new();
            push_ts(&mut out, &t);
            assert_eq!(String::from_utf8(out).unwrap(), format_ts(&t));
            assert_eq!(ts_writable(&t), Ok(()));
        }
        for t in [
            Utc.timestamp_opt(lo - 1, 0).unwrap(),
            Utc.timestamp_opt(hi + 1, 0).unwrap(),
        ] {
            assert!(ts_writable(&t).is_err(), "{t}");
        }
    }

    fn sample_body() -> Vec<u8> {
        let ev = Event::new("ACTION_EXECUTED", "read_file")
            .session("s1")
            .details(json!({"path": "/tmp/x", "n": 3, "q": "a\"b\nc"}));
        let ts = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut body = Vec::new();
        encode_entry(&mut body, 7, &Hash::zero(32), &ts, &ev, "alice", "lab1").unwrap();
        body
    }

    #[test]
    fn canonical_entry_body() {
        let body = sample_body();
        let expected = concat!(
            r#"{"v":1,"seq":7,"prev":"0000000000000000000000000000000000000000000000000000000000000000","#,
            r#""kind":"entry","ts":"2026-01-02T03:04:05.123456Z","event_type":"ACTION_EXECUTED","#,
            r#""action":"read_file","actor":"alice","host":"lab1","session_id":"s1","source":"","#,
            r#""details":{"n":3,"path":"/tmp/x","q":"a\"b\nc"}}"#
        );
        assert_eq!(std::str::from_utf8(&body).unwrap(), expected);
    }

    #[test]
    fn both_framings_carry_the_same_body_and_hash() {
        let body = sample_body();
        let chain = Chain::new(HashAlg::Sha256, None).unwrap();
        let hash = chain.hash(&body);
        for framing in [Framing::Jsonl, Framing::Binary] {
            let mut out = Vec::new();
            frame(&mut out, framing, &body, &hash);
            let rec_bytes = match framing {
                Framing::Jsonl => {
                    assert_eq!(out.last(), Some(&b'\n'));
                    &out[..out.len() - 1]
                }
                Framing::Binary => {
                    assert_eq!(frame_size(&out), FrameSize::Len(out.len()));
                    &out[..]
                }
            };
            let p = parse(framing, rec_bytes).unwrap();
            assert_eq!(p.raw.body(), body);
            assert_eq!(p.raw.hash, hash);
            assert_eq!(p.raw.compute_hash(&chain), hash);
            assert_eq!(p.seq, 7);
            let e = decode_entry(&p).unwrap();
            assert_eq!(e.details["q"], "a\"b\nc");
        }
    }

    #[test]
    fn jsonl_line_is_plain_json() {
        let body = sample_body();
        let chain = Chain::new(HashAlg::Sha256, None).unwrap();
        let mut out = Vec::new();
        frame(&mut out, Framing::Jsonl, &body, &chain.hash(&body));
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["hash"].as_str().unwrap().len(), 64);
        assert_eq!(memchr::memchr_iter(b'\n', &out).count(), 1);
    }

    #[test]
    fn damaged_frames_are_defects_not_panics() {
        assert!(split_jsonl(b"").is_err());
        assert!(split_jsonl(b"\"}").is_err());
        assert!(split_binary(&[]).is_err());
        assert!(split_binary(&[0xff; 40]).is_err());
        assert_eq!(
            frame_size(&[0xff, 0xff, 0xff, 0xff, 32, 0, 0, 0]),
            FrameSize::Bad
        );
        assert_eq!(frame_size(&[1, 2]), FrameSize::NeedMore);
    }

    #[test]
    fn record_timestamps_follow_the_grammar_exactly() {
        let ok = [
            ("2026-03-01T09:00:02.500000Z", "2026-03-01T09:00:02.500000Z"),
            ("2024-02-29T23:59:59.999999Z", "2024-02-29T23:59:59.999999Z"),
            ("0000-01-01T00:00:00.000000Z", "0000-01-01T00:00:00.000000Z"),
            ("9999-12-31T23:59:60.000001Z", "9999-12-31T23:59:60.000001Z"),
        ];
        for (text, back) in ok {
            let t = parse_ts(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(format_ts(&t), back);
        }
        for bad in [
            "2025-02-29T00:00:00.000000Z",
            "2026-13-01T00:00:00.000000Z",
            "2026-00-01T00:00:00.000000Z",
            "2026-01-00T00:00:00.000000Z",
            "2026-01-01T00:60:00.000000Z",
            "2026-01-01T00:00:61.000000Z",
            "2026-01-01T00:00:00.00000aZ",
            "2026-01-01T00:00:00,000000Z",
            "2026-01-01T00:00:00.000000Z\n",
            "２026-01-01T00:00:00.00000Z",
            "",
        ] {
            assert_eq!(parse_ts(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn content_rule_edge_cases() {
        let ok: &[&str] = &[
            r#"{"a":"\\ud800"}"#,           // an escaped backslash, then text
            r#"{"a":"\\\ud83d\ude00"}"#,    // backslash, then a pair
            r#"{"a":"x\"\ud800\udfff\""}"#, // escaped quotes around a pair
            r#"{"a":[1e308,-0,0.0,1E+2,-1e-999]}"#,
            r#"{"e":"1e400 in a string is text"}"#,
        ];
        for j in ok {
            assert_eq!(check_json(j.as_bytes()), Ok(()), "{j}");
        }
        let bad: &[&str] = &[
            r#"{"a":"\ud800\u0041"}"#,
            r#"{"a":"\ud800"#,
            r#"{"a":"\udbff\ud800"}"#,
            r#"{"a":2e308}"#,
            r#"{"a":"\u12"}"#,
        ];
        for j in bad {
            assert!(check_json(j.as_bytes()).is_err(), "{j}");
        }
        let digits = |n: usize, tail: &str| format!("[-{}{tail}]", "9".repeat(n));
        assert_eq!(check_json(digits(308, ".9").as_bytes()), Ok(()));
        assert!(check_json(digits(309, "").as_bytes()).is_err());
        assert!(check_json(digits(309, ".0").as_bytes()).is_err());
        assert!(check_json(digits(1, ".0e309").as_bytes()).is_err());
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(check_json(deep(MAX_DEPTH).as_bytes()), Ok(()));
        assert!(check_json(deep(MAX_DEPTH + 1).as_bytes()).is_err());
        // Brackets inside strings do not count.
        let s = format!(r#"{{"a":"{}"}}"#, "[".repeat(1000));
        assert_eq!(check_json(s.as_bytes()), Ok(()));
    }

    #[test]
    fn value_depth_counts_without_recursion() {
        assert_eq!(value_depth(&json!(1), 10), 0);
        assert_eq!(value_depth(&json!({}), 10), 1);
        assert_eq!(value_depth(&json!({"a": [1, {"b": []}], "c": 2}), 10), 4);
        assert_eq!(value_depth(&json!([[[[]]]]), 2), 3);
    }

    #[test]
    fn entry_keys_check_and_fail_as_decode_entry_does() {
        let body = String::from_utf8(sample_body()).unwrap();
        let swaps: &[(&str, &str)] = &[
            ("", ""),
            (r#""action":"read_file","#, ""),
            (r#""action":"read_file""#, r#""action":5"#),
            (r#""seq":7"#, r#""seq":"7""#),
            ("03:04:05.123456Z", "03:04:05Z"),
            (r#""source":"""#, r#""source":"","otr":"yes""#),
            (r#""source":"""#, r#""source":"","duration_ms":"1""#),
            (r#""source":"""#, r#""source":"","success":1"#),
            (r#""source":"""#, r#""source":"","error":null,"note":"n""#),
            (r#""source":"""#, r#""source":"","git_commit":[1]"#),
            (r#""source":"""#, r#""source":"","action":"again""#),
            (r#""source":"""#, r#""source":"","later":{"x":[1e300]}"#),
            (r#""details":{"#, r#""details":[1,{"a":[]}],"d2":{"#),
            (r#","details":{"n":3,"path":"/tmp/x","q":"a\"b\nc"}"#, ""),
            (r#""host":"lab1","#, ""),
        ];
        let hash = Hash::zero(32);
        let (mut same_ok, mut same_err) = (0, 0);
        for (from, to) in swaps {
            assert!(body.contains(from), "{from}");
            let b = body.replacen(from, to, 1);
            let mut line = Vec::new();
            frame(&mut line, Framing::Jsonl, b.as_bytes(), &hash);
            line.pop(); // the newline
            let p = match parse(Framing::Jsonl, &line) {
                Ok(p) => p,
                Err(_) => continue,
            };
            let full = decode_entry(&p);
            let keys = decode_entry_keys(&p);
            match (&full, &keys) {
                (Ok(e), Ok(k)) => {
                    assert_eq!(
                        (e.seq, e.ts, &*e.event_type, &*e.action, &*e.actor),
                        (k.seq, k.ts, &*k.event_type, &*k.action, &*k.actor)
                    );
                    assert_eq!((&e.session_id, &e.source), (&k.session_id, &k.source));
                    same_ok += 1;
                }
                (Err(a), Err(b)) => {
                    assert_eq!(a, b, "{from} -> {to}");
                    same_err += 1;
                }
                _ => panic!("{from} -> {to}: {full:?} vs {:?}", keys.is_ok()),
            }
        }
        assert!(same_ok >= 3 && same_err >= 8, "{same_ok} {same_err}");
    }

    #[test]
    fn non_finite_duration_is_refused() {
        let mut ev = Event::new("t", "a");
        ev.duration_ms = Some(f64::NAN);
        let mut out = Vec::new();
        let ts = Utc::now();
        assert!(encode_entry(&mut out, 1, &Hash::zero(32), &ts, &ev, "u", "h").is_err());
    }
}
