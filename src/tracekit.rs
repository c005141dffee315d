//! TraceKit's audit-trail HMAC chain (`tracekit.core.audit`), so that the
//! TraceKit view of an evident trail (and its JSON/CSV export) verifies
//! with TraceKit's own checker.
//!
//! Each entry's HMAC is `HMAC(key, "timestamp|action|details|user|host|previous_hash")`
//! (UTF-8) with SHA-256 or SHA-512, as lowercase hex; `details` is the
//! caller's canonical JSON of the entry's details (TraceKit's is Python's
//! `json.dumps(details, sort_keys=True)`); the first entry's
//! `previous_hash` is `"GENESIS"`, every other entry's is the previous
//! entry's HMAC.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Sha256, Sha512};

use crate::error::{Error, Result};

/// `previous_hash` of the first entry.
pub const GENESIS: &str = "GENESIS";

/// TraceKit's hash algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    /// `"sha256"` or `"sha512"`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// `"sha256"` or `"sha512"`.
    pub fn from_name(name: &str) -> Result<Algorithm> {
        match name {
            "sha256" => Ok(Algorithm::Sha256),
            "sha512" => Ok(Algorithm::Sha512),
            other => Err(Error::InvalidArgument(format!(
                "Unsupported hash algorithm: {other} (use sha256 or sha512)"
            ))),
        }
    }
}

/// One TraceKit entry; `details` is the canonical JSON text of its details.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub timestamp: String,
    pub action: String,
    pub details: String,
    pub user: String,
    pub host: String,
    pub previous_hash: String,
    #[serde(default)]
    pub hmac: String,
}

/// The entry's HMAC (lowercase hex). Keys of any length are accepted.
pub fn entry_hmac(alg: Algorithm, key: &[u8], e: &Entry) -> String {
    let canonical = format!(
        "{}|{}|{}|{}|{}|{}",
        e.timestamp, e.action, e.details, e.user, e.host, e.previous_hash
    );
    match alg {
        Algorithm::Sha256 => {
            let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key");
            m.update(canonical.as_bytes());
            hex::encode(m.finalize().into_bytes())
        }
        Algorithm::Sha512 => {
            let mut m = <Hmac<Sha512> as Mac>::new_from_slice(key).expect("HMAC takes any key");
            m.update(canonical.as_bytes());
            hex::encode(m.finalize().into_bytes())
        }
    }
}

/// Index of the first entry whose HMAC or link is wrong, `None` when the
/// chain is intact (an empty chain is intact).
pub fn first_bad(alg: Algorithm, key: &[u8], entries: &[Entry]) -> Option<usize> {
    let mut prev = GENESIS;
    for (i, e) in entries.iter().enumerate() {
        if e.previous_hash != prev || e.hmac != entry_hmac(alg, key, e) {
            return Some(i);
        }
        prev = &e.hmac;
    }
    None
}

// --- Python's json, and TraceKit's export layouts -------------------------------

/// A JSON value as Python's `json.loads` gives it, so that writing it again
/// gives what Python's `json.dumps` writes: object members keep their
/// order (a repeated name keeps its first place and takes the last value,
/// as a Python dict does), integers are exact at any size (kept as their
/// decimal digits), and `NaN`, `Infinity` and `-Infinity` (which Python
/// writes for non-finite floats) are read as floats.
#[derive(Debug, Clone, PartialEq)]
pub enum PyJson {
    Null,
    Bool(bool),
    /// The integer's decimal digits (with `-` for negatives; no `-0`).
    Int(String),
    Float(f64),
    Str(String),
    /// A string with a lone surrogate (Python's `str` allows `"\ud800"`,
    /// which `json.dumps` writes as that escape), as UTF-16 code units: it
    /// is written back as Python writes it, but has no Rust `String`.
    /// Only values are read so; a member name with one is refused.
    LoneSurrogateStr(Vec<u16>),
    Array(Vec<PyJson>),
    Object(Vec<(String, PyJson)>),
}

/// Arrays and objects nest at most this deep in a text [`PyJson::parse`]
/// reads (the texts of the C calls hold entries in an array, so details
/// may nest 254 levels).
pub const PY_JSON_MAX_DEPTH: usize = 256;

impl PyJson {
    /// Reads one JSON value (Python's dialect: also `NaN`, `Infinity`,
    /// `-Infinity`) in linear time; errors give the byte offset.
    pub fn parse(text: &str) -> Result<PyJson> {
        let mut p = PyParser {
            text,
            i: 0,
            path: Vec::new(),
        };
        p.ws();
        let v = p.value(0)?;
        p.ws();
        if p.i != text.len() {
            return Err(p.err("trailing characters after the value"));
        }
        Ok(v)
    }

    /// The member `name` of an object (`None` for other values).
    pub fn get(&self, name: &str) -> Option<&PyJson> {
        match self {
            PyJson::Object(m) => m.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Python's `json.dumps(self)` (`sort_keys=False`), or with
    /// `sort_keys=True` when `sort_keys`.
    pub fn dumps(&self, sort_keys: bool) -> String {
        let mut out = String::new();
        dump(&mut out, self, sort_keys, None, 0);
        out
    }
}

impl From<&Value> for PyJson {
    /// An evident value (objects come sorted by name; integers beyond 64
    /// bits were already read as doubles).
    fn from(v: &Value) -> PyJson {
        match v {
            Value::Null => PyJson::Null,
            Value::Bool(b) => PyJson::Bool(*b),
            Value::Number(n) => {
                if n.is_u64() || n.is_i64() {
                    PyJson::Int(n.to_string())
                } else {
                    PyJson::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => PyJson::Str(s.clone()),
            Value::Array(a) => PyJson::Array(a.iter().map(PyJson::from).collect()),
            Value::Object(m) => PyJson::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), PyJson::from(v)))
                    .collect(),
            ),
        }
    }
}

struct PyParser<'a> {
    text: &'a str,
    i: usize,
    /// Where the parser is: member names and array indices from the top.
    path: Vec<PathSeg>,
}

/// One step of a [`PyParser`]'s path.
enum PathSeg {
    Key(String),
    Index(usize),
}

/// A path as Python subscripts, e.g. `[0]["details"]["name"]`.
fn render_path(path: &[PathSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                out.push('[');
                dump_str(&mut out, k);
                out.push(']');
            }
            PathSeg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The UTF-16 code units of a JSON string token's contents (without its
/// quotes), lone surrogates kept; `None` when the token is malformed (a raw
/// control character, an unknown or short escape).
fn decode_utf16_token(body: &str) -> Option<Vec<u16>> {
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    let mut buf = [0u16; 2];
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let unit = match chars.next()? {
                    '"' => 0x22,
                    '\\' => 0x5c,
                    '/' => 0x2f,
                    'b' => 0x08,
                    'f' => 0x0c,
                    'n' => 0x0a,
                    'r' => 0x0d,
                    't' => 0x09,
                    'u' => {
                        let hex: String = chars.by_ref().take(4).collect();
                        if hex.len() != 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                            return None;
                        }
                        u16::from_str_radix(&hex, 16).ok()?
                    }
                    _ => return None,
                };
                out.push(unit);
            }
            c if (c as u32) < 0x20 => return None,
            c => out.extend_from_slice(c.encode_utf16(&mut buf)),
        }
    }
    Some(out)
}

impl PyParser<'_> {
    /// An error naming the byte offset and, inside an array or object, the
    /// value's path (`[0]["details"]["name"]`).
    fn err(&self, what: &str) -> Error {
        if self.path.is_empty() {
            Error::InvalidArgument(format!("JSON: {what} at byte {}", self.i))
        } else {
            Error::InvalidArgument(format!(
                "JSON: {what} at byte {} (in {})",
                self.i,
                render_path(&self.path)
            ))
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<()> {
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected `{}`", b as char)))
        }
    }

    fn word(&mut self, w: &str, v: PyJson) -> Result<PyJson> {
        if self.text.as_bytes()[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(self.err("expected a value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<PyJson> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string_value(),
            Some(b't') => self.word("true", PyJson::Bool(true)),
            Some(b'f') => self.word("false", PyJson::Bool(false)),
            Some(b'n') => self.word("null", PyJson::Null),
            Some(b'N') => self.word("NaN", PyJson::Float(f64::NAN)),
            Some(b'I') => self.word("Infinity", PyJson::Float(f64::INFINITY)),
            Some(b'-') if self.text.as_bytes().get(self.i + 1) == Some(&b'I') => {
                self.word("-Infinity", PyJson::Float(f64::NEG_INFINITY))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("expected a value")),
        }
    }

    fn open(&mut self, depth: usize) -> Result<()> {
        if depth > PY_JSON_MAX_DEPTH {
            return Err(self.err(&format!(
                "arrays and objects nest deeper than {PY_JSON_MAX_DEPTH} levels"
            )));
        }
        self.i += 1;
        self.ws();
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<PyJson> {
        self.open(depth)?;
        let mut items = Vec::new();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(PyJson::Array(items));
        }
        loop {
            self.path.push(PathSeg::Index(items.len()));
            items.push(self.value(depth)?);
            self.path.pop();
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b']') => {
                    self.i += 1;
                    return Ok(PyJson::Array(items));
                }
                _ => return Err(self.err("expected `,` or `]`")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<PyJson> {
        self.open(depth)?;
        let mut members: Vec<(String, PyJson)> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(PyJson::Object(members));
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a member name"));
            }
            let name = self.string()?;
            self.path.push(PathSeg::Key(name.clone()));
            self.ws();
            self.expect(b':')?;
            self.ws();
            let v = self.value(depth)?;
            self.path.pop();
            match index.get(&name) {
                Some(&j) => members[j].1 = v,
                None => {
                    index.insert(name.clone(), members.len());
                    members.push((name, v));
                }
            }
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b'}') => {
                    self.i += 1;
                    return Ok(PyJson::Object(members));
                }
                _ => return Err(self.err("expected `,` or `}`")),
            }
        }
    }

    /// A string value: [`PyJson::Str`], or [`PyJson::LoneSurrogateStr`]
    /// when its escapes hold a lone surrogate.
    fn string_value(&mut self) -> Result<PyJson> {
        let start = self.i;
        match self.string() {
            Ok(s) => Ok(PyJson::Str(s)),
            Err(e) => {
                let end = self.string_end(start)?;
                match decode_utf16_token(&self.text[start + 1..end]) {
                    Some(units)
                        if char::decode_utf16(units.iter().copied()).any(|c| c.is_err()) =>
                    {
                        self.i = end + 1;
                        Ok(PyJson::LoneSurrogateStr(units))
                    }
                    _ => Err(e),
                }
            }
        }
    }

    /// Index of the closing quote of the string token at `start`.
    fn string_end(&self, start: usize) -> Result<usize> {
        let b = self.text.as_bytes();
        let mut i = start + 1;
        loop {
            match b.get(i) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => return Ok(i),
                Some(b'\\') => i += 2,
                Some(_) => i += 1,
            }
        }
    }

    /// A string token, its escapes decoded by serde_json (which refuses
    /// control characters and lone surrogates).
    fn string(&mut self) -> Result<String> {
        let start = self.i;
        let i = self.string_end(start)?;
        // `start` and `i` are at ASCII quotes: both are character boundaries
        let token = &self.text[start..=i];
        let s = serde_json::from_str::<String>(token).map_err(|e| {
            let lone = decode_utf16_token(&token[1..token.len() - 1])
                .is_some_and(|u| char::decode_utf16(u).any(|c| c.is_err()));
            if lone {
                // Python's str may hold one (json.dumps writes "\ud800");
                // a value keeps it (see `string_value`), a name cannot
                self.err(&format!(
                    "a lone surrogate escape in the member name {} cannot be kept",
                    token.chars().take(40).collect::<String>()
                ))
            } else {
                self.err(&e.to_string())
            }
        })?;
        self.i = i + 1;
        Ok(s)
    }

    /// A JSON number: an integer keeps its digits, others are doubles
    /// (out of range: infinite, as Python's `float`).
    fn number(&mut self) -> Result<PyJson> {
        let b = self.text.as_bytes();
        let start = self.i;
        let mut i = start;
        let digits = |i: &mut usize| {
            let s = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > s
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        if !digits(&mut i) || (b[int_start] == b'0' && i - int_start > 1) {
            self.i = int_start;
            return Err(self.err("malformed number"));
        }
        let mut float = false;
        if b.get(i) == Some(&b'.') {
            i += 1;
            float = true;
            if !digits(&mut i) {
                self.i = i;
                return Err(self.err("malformed number"));
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            float = true;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                self.i = i;
                return Err(self.err("malformed number"));
            }
        }
        let token = &self.text[start..i];
        self.i = i;
        if float {
            token
                .parse::<f64>()
                .map(PyJson::Float)
                .map_err(|e| self.err(&e.to_string()))
        } else if token.bytes().skip(1).all(|c| c == b'0') && token.starts_with('-') {
            Ok(PyJson::Int("0".into())) // -0 is the integer 0
        } else {
            Ok(PyJson::Int(token.to_string()))
        }
    }
}

/// Python's `repr` of a float (`0.1`, `1e-07`, `1e+16`, `2.0`, `NaN`,
/// `Infinity`, as `json.dumps` writes them).
pub fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // Rust's `{:e}` is the shortest representation that reads back, as
    // Python's repr: digits d1.d2…dn and a decimal exponent.
    let sci = format!("{f:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1; // value = 0.d1d2… × 10^decpt
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if !(-4 < decpt && decpt <= 16) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        ));
    } else if decpt <= 0 {
        out.push_str("0.");
        for _ in 0..(-decpt) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let d = decpt as usize;
        if digits.len() <= d {
            out.push_str(&digits);
            for _ in digits.len()..d {
                out.push('0');
            }
            out.push_str(".0");
        } else {
            out.push_str(&digits[..d]);
            out.push('.');
            out.push_str(&digits[d..]);
        }
    }
    out
}

/// Writes `s` as Python's `json.dumps` does with `ensure_ascii=True`: `"`
/// and `\` escaped, `\n \r \t \b \f` as such, other characters outside
/// ` `..`~` as `\uXXXX` (surrogate pairs above U+FFFF).
fn dump_str(out: &mut String, s: &str) {
    out.push('"');
    let mut buf = [0u16; 2];
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
}

fn dump_newline(out: &mut String, indent: Option<usize>, level: usize) {
    if let Some(n) = indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', n * level));
    }
}

/// Python's `json.dumps(v, sort_keys=…, indent=…)` with its other
/// defaults (`ensure_ascii=True`, `allow_nan=True`; separators `", "` and
/// `": "`, with `indent` `","` and `": "`).
fn dump(out: &mut String, v: &PyJson, sort_keys: bool, indent: Option<usize>, level: usize) {
    let sep = if indent.is_some() { "," } else { ", " };
    match v {
        PyJson::Null => out.push_str("null"),
        PyJson::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        PyJson::Int(t) => out.push_str(t),
        PyJson::Float(f) => out.push_str(&py_float_repr(*f)),
        PyJson::Str(s) => dump_str(out, s),
        PyJson::LoneSurrogateStr(units) => {
            out.push('"');
            for c in char::decode_utf16(units.iter().copied()) {
                match c {
                    Ok(c) => {
                        let mut one = String::new();
                        dump_str(&mut one, c.encode_utf8(&mut [0u8; 4]));
                        out.push_str(&one[1..one.len() - 1]);
                    }
                    Err(lone) => {
                        out.push_str(&format!("\\u{:04x}", lone.unpaired_surrogate()));
                    }
                }
            }
            out.push('"');
        }
        PyJson::Array(a) if a.is_empty() => out.push_str("[]"),
        PyJson::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                dump_newline(out, indent, level + 1);
                dump(out, x, sort_keys, indent, level + 1);
            }
            dump_newline(out, indent, level);
            out.push(']');
        }
        PyJson::Object(m) if m.is_empty() => out.push_str("{}"),
        PyJson::Object(m) => {
            let mut members: Vec<&(String, PyJson)> = m.iter().collect();
            if sort_keys {
                // Python compares str by code point, as Rust's UTF-8 order
                members.sort_by(|a, b| a.0.cmp(&b.0));
            }
            out.push('{');
            for (i, (k, x)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                dump_newline(out, indent, level + 1);
                dump_str(out, k);
                out.push_str(": ");
                dump(out, x, sort_keys, indent, level + 1);
            }
            dump_newline(out, indent, level);
            out.push('}');
        }
    }
}

/// Python's `json.dumps(v, sort_keys=True)` of an evident value.
pub fn py_dumps(v: &Value) -> String {
    PyJson::from(v).dumps(true)
}

/// One entry to export. Without `previous_hash` and `hmac` they are
/// computed (the chain continues from the entry before); with them (a trail
/// kept elsewhere) they are written as they are, so an entry changed after
/// it was recorded still fails TraceKit's check. `details` keep their
/// order and exact integers (see [`PyJson`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportEntry {
    pub timestamp: String,
    pub action: String,
    pub details: PyJson,
    pub user: String,
    pub host: String,
    pub previous_hash: Option<String>,
    pub hmac: Option<String>,
}

impl ExportEntry {
    /// Entries from a JSON array (Python's dialect, see [`PyJson`]) of
    /// objects with the strings `timestamp`, `action`, `user`, `host`,
    /// optionally `details` (any value; absent: `null`) and the strings
    /// `previous_hash` and `hmac`; other members are refused. Errors name
    /// the entry.
    pub fn list_from_json(text: &str) -> Result<Vec<ExportEntry>> {
        let PyJson::Array(items) = PyJson::parse(text)? else {
            return Err(Error::InvalidArgument("entries: not a JSON array".into()));
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let bad = |what: String| Error::InvalidArgument(format!("entry {i}: {what}"));
            let PyJson::Object(members) = item else {
                return Err(bad("not a JSON object".into()));
            };
            let mut e = ExportEntry {
                timestamp: String::new(),
                action: String::new(),
                details: PyJson::Null,
                user: String::new(),
                host: String::new(),
                previous_hash: None,
                hmac: None,
            };
            let mut seen = [false; 4];
            for (k, v) in members {
                let slot = match k.as_str() {
                    "details" => {
                        e.details = v;
                        continue;
                    }
                    "timestamp" => (0, &mut e.timestamp),
                    "action" => (1, &mut e.action),
                    "user" => (2, &mut e.user),
                    "host" => (3, &mut e.host),
                    "previous_hash" | "hmac" => {
                        let PyJson::Str(s) = v else {
                            return Err(bad(format!("`{k}` is not a string")));
                        };
                        if k == "hmac" {
                            e.hmac = Some(s);
                        } else {
                            e.previous_hash = Some(s);
                        }
                        continue;
                    }
                    other => return Err(bad(format!("unknown field `{other}`"))),
                };
                let PyJson::Str(s) = v else {
                    return Err(bad(format!("`{k}` is not a string")));
                };
                seen[slot.0] = true;
                *slot.1 = s;
            }
            for (n, name) in ["timestamp", "action", "user", "host"].iter().enumerate() {
                if !seen[n] {
                    return Err(bad(format!("missing field `{name}`")));
                }
            }
            out.push(e);
        }
        Ok(out)
    }
}

/// Index of the first entry whose `previous_hash` or `hmac` is wrong or
/// missing, `None` when the chain is intact: the HMAC input is built here,
/// `details` written as Python's `json.dumps(details, sort_keys=True)`, as
/// TraceKit's `verify_integrity` does.
pub fn first_bad_export(alg: Algorithm, key: &[u8], entries: &[ExportEntry]) -> Option<usize> {
    let mut prev = GENESIS.to_string();
    for (i, e) in entries.iter().enumerate() {
        let (Some(p), Some(h)) = (&e.previous_hash, &e.hmac) else {
            return Some(i);
        };
        if *p != prev {
            return Some(i);
        }
        let t = Entry {
            timestamp: e.timestamp.clone(),
            action: e.action.clone(),
            details: e.details.dumps(true),
            user: e.user.clone(),
            host: e.host.clone(),
            previous_hash: p.clone(),
            hmac: String::new(),
        };
        if *h != entry_hmac(alg, key, &t) {
            return Some(i);
        }
        prev = h.clone();
    }
    None
}

/// Checks that an evident log holds `details` exactly (spec § 5.2, § 5.5),
/// so that a TraceKit trail rebuilt from the log has the same HMACs:
/// integers must fit in 64 bits (signed or unsigned) and floats must be
/// finite. The error names the value's path, e.g. `details["list"][0]`.
/// (Member order is not kept by the log: its details are sorted, § 5.4,
/// which TraceKit's HMAC input, sorted too, does not see.)
pub fn check_log_exact(details: &PyJson) -> Result<()> {
    fn walk(v: &PyJson, path: &mut Vec<PathSeg>) -> Result<()> {
        let at = |path: &[PathSeg]| format!("details{}", render_path(path));
        match v {
            PyJson::Int(t) if t.parse::<i64>().is_err() && t.parse::<u64>().is_err() => {
                return Err(Error::InvalidArgument(format!(
                    "{}: the integer {t} is outside the 64-bit range an evident \
                     log holds exactly (it would be read back as a float)",
                    at(path)
                )));
            }
            PyJson::LoneSurrogateStr(_) => {
                return Err(Error::InvalidArgument(format!(
                    "{}: a string with a lone surrogate cannot be written to an \
                     evident log (its strings are Unicode text, spec § 5.5)",
                    at(path)
                )));
            }
            PyJson::Float(f) if !f.is_finite() => {
                return Err(Error::InvalidArgument(format!(
                    "{}: {} cannot be written to an evident log (JSON has no \
                     non-finite numbers)",
                    at(path),
                    py_float_repr(*f)
                )));
            }
            PyJson::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    path.push(PathSeg::Index(i));
                    walk(x, path)?;
                    path.pop();
                }
            }
            PyJson::Object(m) => {
                for (k, x) in m {
                    path.push(PathSeg::Key(k.clone()));
                    walk(x, path)?;
                    path.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }
    walk(details, &mut Vec::new())
}

/// TraceKit's export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `{"version": "1.0", "hash_algorithm", "entries": [...]}`, indented by 2.
    Json,
    /// Columns timestamp, action, user, host, previous_hash, hmac, then
    /// `detail_<key>` per detail key (sorted), each `json.dumps(value)`.
    Csv,
}

impl ExportFormat {
    /// `"json"` or `"csv"` (also `"tracekit-json"`, `"tracekit-csv"`).
    pub fn from_name(name: &str) -> Result<ExportFormat> {
        match name {
            "json" | "tracekit-json" => Ok(ExportFormat::Json),
            "csv" | "tracekit-csv" => Ok(ExportFormat::Csv),
            other => Err(Error::InvalidArgument(format!(
                "Unsupported format: {other} (use json or csv)"
            ))),
        }
    }
}

/// The entries with their chain filled in (see [`ExportEntry`]).
pub fn chain_entries(alg: Algorithm, key: &[u8], entries: &[ExportEntry]) -> Vec<Entry> {
    let mut prev = GENESIS.to_string();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let mut t = Entry {
            timestamp: e.timestamp.clone(),
            action: e.action.clone(),
            details: e.details.dumps(true),
            user: e.user.clone(),
            host: e.host.clone(),
            previous_hash: e.previous_hash.clone().unwrap_or_else(|| prev.clone()),
            hmac: String::new(),
        };
        t.hmac = match &e.hmac {
            Some(h) => h.clone(),
            None => entry_hmac(alg, key, &t),
        };
        prev = t.hmac.clone();
        out.push(t);
    }
    out
}

/// The export file's text, as TraceKit's `export_audit_log` writes it
/// (JSON: `json.dump(data, f, indent=2)`, details in their order, no final
/// newline; CSV: Python's `csv.DictWriter`, `\r\n` line ends, nothing at
/// all for no entries).
pub fn export(
    alg: Algorithm,
    key: &[u8],
    entries: &[ExportEntry],
    format: ExportFormat,
) -> Result<String> {
    let chained = chain_entries(alg, key, entries);
    let s = |t: &str| PyJson::Str(t.to_string());
    match format {
        ExportFormat::Json => {
            let list = entries
                .iter()
                .zip(&chained)
                .map(|(e, c)| {
                    // field order of TraceKit's dataclass
                    PyJson::Object(vec![
                        ("timestamp".into(), s(&c.timestamp)),
                        ("action".into(), s(&c.action)),
                        ("details".into(), e.details.clone()),
                        ("user".into(), s(&c.user)),
                        ("host".into(), s(&c.host)),
                        ("previous_hash".into(), s(&c.previous_hash)),
                        ("hmac".into(), s(&c.hmac)),
                    ])
                })
                .collect();
            let doc = PyJson::Object(vec![
                ("version".into(), s("1.0")),
                ("hash_algorithm".into(), s(alg.name())),
                ("entries".into(), PyJson::Array(list)),
            ]);
            let mut out = String::new();
            dump(&mut out, &doc, false, Some(2), 0);
            Ok(out)
        }
        ExportFormat::Csv => {
            if entries.is_empty() {
                return Ok(String::new());
            }
            let mut keys: Vec<&String> = entries
                .iter()
                .filter_map(|e| match &e.details {
                    PyJson::Object(m) => Some(m.iter().map(|(k, _)| k)),
                    _ => None,
                })
                .flatten()
                .collect();
            keys.sort();
            keys.dedup();
            let mut out = String::new();
            let mut header: Vec<String> = [
                "timestamp",
                "action",
                "user",
                "host",
                "previous_hash",
                "hmac",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            header.extend(keys.iter().map(|k| format!("detail_{k}")));
            csv_row(&mut out, &header);
            for (e, c) in entries.iter().zip(&chained) {
                let mut row = vec![
                    c.timestamp.clone(),
                    c.action.clone(),
                    c.user.clone(),
                    c.host.clone(),
                    c.previous_hash.clone(),
                    c.hmac.clone(),
                ];
                let members: std::collections::HashMap<&str, &PyJson> = match &e.details {
                    PyJson::Object(m) => m.iter().map(|(k, v)| (k.as_str(), v)).collect(),
                    _ => Default::default(),
                };
                for k in &keys {
                    row.push(match members.get(k.as_str()).copied() {
                        None | Some(PyJson::Null) => String::new(),
                        Some(v) => v.dumps(false),
                    });
                }
                csv_row(&mut out, &row);
            }
            Ok(out)
        }
    }
}

/// One row as Python's `csv.writer` writes it (QUOTE_MINIMAL: a field
/// with a comma, a quote or a line break is quoted, quotes doubled; lines
/// end in `\r\n`).
fn csv_row(out: &mut String, fields: &[String]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str("\r\n");
}

/// The two fields of an entry that [`filter`] reads (other members of the
/// entry's object are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FilterEntry {
    pub timestamp: String,
    pub action: String,
}

/// TraceKit's `AuditTrail.get_entries(since=, action_type=)`: the indices,
/// oldest first, of the entries at or after `since` (an RFC 3339 time;
/// `None`: any time) whose action is `action_type` (`None`: any). Times
/// are compared as instants; an entry whose timestamp is not RFC 3339 is
/// compared as text with `since` written as TraceKit writes times
/// (`YYYY-MM-DDTHH:MM:SS.ffffffZ`), as TraceKit compares them.
pub fn filter(
    entries: &[FilterEntry],
    since: Option<&str>,
    action_type: Option<&str>,
) -> Result<Vec<usize>> {
    let since = match since {
        None => None,
        Some(t) => {
            let at = chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| {
                    Error::InvalidArgument(format!("since: {t:?} is not an RFC 3339 time: {e}"))
                })?
                .with_timezone(&chrono::Utc);
            Some((at, at.format("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()))
        }
    };
    Ok(entries
        .iter()
        .enumerate()
        .filter(|(_, e)| action_type.is_none_or(|a| e.action == a))
        .filter(|(_, e)| match &since {
            None => true,
            Some((at, text)) => match chrono::DateTime::parse_from_rfc3339(&e.timestamp) {
                Ok(t) => t.with_timezone(&chrono::Utc) >= *at,
                Err(_) => e.timestamp.as_str() >= text.as_str(),
            },
        })
        .map(|(i, _)| i)
        .collect())
}

/// A TraceKit key file: its content without surrounding whitespace as hex
/// when it is an even number of hex digits, else its bytes as they are (any
/// length: TraceKit accepts any key).
pub fn key_from_file_bytes(bytes: &[u8]) -> Vec<u8> {
    let t = String::from_utf8_lossy(bytes);
    let t = t.trim();
    if !t.is_empty() && t.len() % 2 == 0 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        if let Ok(k) = hex::decode(t) {
            return k;
        }
    }
    bytes.to_vec()
}

/// An evident entry as TraceKit's: time as `YYYY-MM-DDTHH:MM:SS.ffffffZ`,
/// action, details, actor as user, host.
pub fn from_evident(e: &crate::format::Entry) -> ExportEntry {
    ExportEntry {
        timestamp: e.ts.format("%Y-%m-%dT%H:%M:%S.%6fZ").to_string(),
        action: e.action.clone(),
        details: PyJson::from(&e.details),
        user: e.actor.clone(),
        host: e.host.clone(),
        previous_hash: None,
        hmac: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(prev: &str) -> Entry {
        Entry {
            timestamp: "2026-01-08T10:30:00.000000Z".into(),
            action: "load".into(),
            details: r#"{"file": "a.wfm"}"#.into(),
            user: "alice".into(),
            host: "lab".into(),
            previous_hash: prev.into(),
            hmac: String::new(),
        }
    }

    #[test]
    fn known_answer_and_chain() {
        // HMAC-SHA256(b"key", "2026-01-08T10:30:00.000000Z|load|{\"file\": \"a.wfm\"}|alice|lab|GENESIS"),
        // computed independently with Python's hmac module.
        let mut a = entry(GENESIS);
        a.hmac = entry_hmac(Algorithm::Sha256, b"key", &a);
        assert_eq!(
            a.hmac,
            "3606cc929a655b5a79582e7fb751382331a4fab26337ff9df8d983a6be3e49ec"
        );
        let mut b = entry(&a.hmac);
        b.hmac = entry_hmac(Algorithm::Sha256, b"key", &b);
        let chain = vec![a.clone(), b.clone()];
        assert_eq!(first_bad(Algorithm::Sha256, b"key", &chain), None);
        assert_eq!(first_bad(Algorithm::Sha256, b"other", &chain), Some(0));
        let mut t = chain.clone();
        t[1].details = r#"{"file": "b.wfm"}"#.into();
        assert_eq!(first_bad(Algorithm::Sha256, b"key", &t), Some(1));
        let mut r = chain.clone();
        r.remove(0);
        assert_eq!(first_bad(Algorithm::Sha256, b"key", &r), Some(0));
        let mut c = entry(GENESIS);
        c.hmac = entry_hmac(Algorithm::Sha512, b"k", &c);
        assert_eq!(c.hmac.len(), 128);
        assert_eq!(first_bad(Algorithm::Sha512, b"k", &[c]), None);
        assert!(Algorithm::from_name("md5").is_err());
    }

    #[test]
    fn py_dumps_is_pythons_json_dumps_sort_keys() {
        // Expected texts: Python 3's json.dumps(v, sort_keys=True).
        let cases = [
            (
                r#"{"b": 1, "a": [0.1, 1e-7, 1e16, 1e15, 2.0, -0.0, 123456789.123, 5e-324, 1.7976931348623157e308, 0.0001, 0.00001, 1e22, 100.0, 3.14]}"#,
                r#"{"a": [0.1, 1e-07, 1e+16, 1000000000000000.0, 2.0, -0.0, 123456789.123, 5e-324, 1.7976931348623157e+308, 0.0001, 1e-05, 1e+22, 100.0, 3.14], "b": 1}"#,
            ),
            (
                "{\"u\": \"na\u{ef}ve \u{2013} \u{65e5}\u{672c} \u{1f600} \u{7f} \\u0001 \\t\\n\\\"\\\\/\", \"big\": 18446744073709551615, \"neg\": -9223372036854775808, \"n\": null, \"t\": true, \"f\": false}",
                r#"{"big": 18446744073709551615, "f": false, "n": null, "neg": -9223372036854775808, "t": true, "u": "na\u00efve \u2013 \u65e5\u672c \ud83d\ude00 \u007f \u0001 \t\n\"\\/"}"#,
            ),
            (
                "{\"nested\": {\"z\": [], \"y\": {}, \"x\": [{\"b\": 2, \"a\": 1}]}, \"\u{e9}\": \"key\", \"A\": 1, \"_\": 2}",
                r#"{"A": 1, "_": 2, "nested": {"x": [{"a": 1, "b": 2}], "y": {}, "z": []}, "\u00e9": "key"}"#,
            ),
        ];
        for (input, want) in cases {
            let v: Value = serde_json::from_str(input).unwrap();
            assert_eq!(py_dumps(&v), want, "{input}");
        }
        assert_eq!(py_float_repr(f64::NAN), "NaN");
        assert_eq!(py_float_repr(-1.5e-5), "-1.5e-05");
        assert_eq!(py_float_repr(1234.5), "1234.5");
        assert_eq!(py_float_repr(0.5), "0.5");
    }

    fn export_entry(details: Value) -> ExportEntry {
        ExportEntry {
            timestamp: "t".into(),
            action: "a".into(),
            details: PyJson::from(&details),
            user: "u".into(),
            host: "h".into(),
            previous_hash: Some(GENESIS.into()),
            hmac: Some("x".into()),
        }
    }

    #[test]
    fn json_export_is_pythons_json_dump_indent_2() {
        // Expected: Python's json.dumps(data, indent=2) of TraceKit's layout.
        let e = export_entry(json!({"e": {}, "k": [1, {"x": "\u{fc}"}], "l": []}));
        let text = export(Algorithm::Sha256, b"k", &[e], ExportFormat::Json).unwrap();
        assert_eq!(
            text,
            "{\n  \"version\": \"1.0\",\n  \"hash_algorithm\": \"sha256\",\n  \"entries\": [\n    {\n      \"timestamp\": \"t\",\n      \"action\": \"a\",\n      \"details\": {\n        \"e\": {},\n        \"k\": [\n          1,\n          {\n            \"x\": \"\\u00fc\"\n          }\n        ],\n        \"l\": []\n      },\n      \"user\": \"u\",\n      \"host\": \"h\",\n      \"previous_hash\": \"GENESIS\",\n      \"hmac\": \"x\"\n    }\n  ]\n}"
        );
        let empty = export(Algorithm::Sha256, b"k", &[], ExportFormat::Json).unwrap();
        assert_eq!(
            empty,
            "{\n  \"version\": \"1.0\",\n  \"hash_algorithm\": \"sha256\",\n  \"entries\": []\n}"
        );
        assert_eq!(
            export(Algorithm::Sha256, b"k", &[], ExportFormat::Csv).unwrap(),
            ""
        );
    }

    #[test]
    fn export_computes_the_chain_or_keeps_the_given_one() {
        let mut a = export_entry(json!({"file": "a.wfm"}));
        a.timestamp = "2026-01-08T10:30:00.000000Z".into();
        a.action = "load".into();
        a.user = "alice".into();
        a.host = "lab".into();
        a.previous_hash = None;
        a.hmac = None;
        let mut b = a.clone();
        b.details = PyJson::from(&json!({"n": 0.1, "s": "x,\"y\"\n"}));
        let chained = chain_entries(Algorithm::Sha256, b"key", &[a.clone(), b.clone()]);
        // the known answer of the test above: same entry, same key
        assert_eq!(
            chained[0].hmac,
            "3606cc929a655b5a79582e7fb751382331a4fab26337ff9df8d983a6be3e49ec"
        );
        assert_eq!(chained[1].previous_hash, chained[0].hmac);
        assert_eq!(first_bad(Algorithm::Sha256, b"key", &chained), None);
        // given hashes are written as they are: a changed entry stays caught
        let mut tampered = a.clone();
        tampered.details = PyJson::from(&json!({"file": "b.wfm"}));
        tampered.previous_hash = Some(GENESIS.into());
        tampered.hmac = Some(chained[0].hmac.clone());
        let again = chain_entries(Algorithm::Sha256, b"key", &[tampered, b.clone()]);
        assert_eq!(first_bad(Algorithm::Sha256, b"key", &again), Some(0));

        let csv = export(Algorithm::Sha512, b"key", &[a, b], ExportFormat::Csv).unwrap();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "timestamp,action,user,host,previous_hash,hmac,detail_file,detail_n,detail_s"
        );
        assert!(lines[1].ends_with(",\"\"\"a.wfm\"\"\",,"), "{}", lines[1]);
        assert!(
            lines[2].ends_with(",0.1,\"\"\"x,\\\"\"y\\\"\"\\n\"\"\""),
            "{}",
            lines[2]
        );
        assert_eq!(lines.len(), 4);
        assert_eq!(key_from_file_bytes(b"00ff\n"), vec![0, 255]);
        assert_eq!(key_from_file_bytes(b"secret"), b"secret".to_vec());
    }

    #[test]
    fn py_json_keeps_lone_surrogates_in_values_as_python_does() {
        // Python 3: json.dumps({"b": "x\ud800\U0001F600\udc00", "a": ["\udfff\u00e9\n"]},
        //                      sort_keys=True)
        let input = r#"{"b": "x\ud800\ud83d\ude00\udc00", "a": ["\uDFFF\u00e9\n"]}"#;
        let v = PyJson::parse(input).unwrap();
        assert_eq!(
            v.dumps(true),
            r#"{"a": ["\udfff\u00e9\n"], "b": "x\ud800\ud83d\ude00\udc00"}"#
        );
        assert!(matches!(
            v.get("b"),
            Some(PyJson::LoneSurrogateStr(u)) if u == &[0x78, 0xd800, 0xd83d, 0xde00, 0xdc00]
        ));
        // a valid pair alone is an ordinary string
        assert_eq!(
            PyJson::parse(r#""\ud83d\ude00""#).unwrap(),
            PyJson::Str("\u{1F600}".into())
        );
        // a member name with one, and malformed escapes, are refused with
        // the path
        let e = PyJson::parse(r#"[{"k": 1, "\ud800": 2}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("lone surrogate") && e.contains("[0]"), "{e}");
        for bad in [r#""\ud800\x""#, r#""\ud800\u12""#, "\"\\ud800\u{1}\""] {
            assert!(PyJson::parse(bad).is_err(), "{bad}");
        }
        // the log cannot hold it: the check names the path
        let e = check_log_exact(&PyJson::parse(r#"{"a": [0, "\udc00"]}"#).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains(r#"details["a"][1]"#), "{e}");
    }

    #[test]
    fn py_json_keeps_order_and_exact_integers() {
        // Expected texts: Python 3's json.dumps(json.loads(input)) and
        // json.dumps(json.loads(input), sort_keys=True).
        let input = "{\"z\": 1, \"a\": {\"y\": [18446744073709551617, -9223372036854775809, 100000000000000000000000000000000000000000], \"x\": -0}, \"m\": [NaN, Infinity, -Infinity, 1E400, -0.0, 1.5e3], \"z\": 2, \"\\u00e9\": \"\\ud83d\\ude00\"}";
        let v = PyJson::parse(input).unwrap();
        assert_eq!(
            v.dumps(false),
            r#"{"z": 2, "a": {"y": [18446744073709551617, -9223372036854775809, 100000000000000000000000000000000000000000], "x": 0}, "m": [NaN, Infinity, -Infinity, Infinity, -0.0, 1500.0], "\u00e9": "\ud83d\ude00"}"#
        );
        assert_eq!(
            v.dumps(true),
            r#"{"a": {"x": 0, "y": [18446744073709551617, -9223372036854775809, 100000000000000000000000000000000000000000]}, "m": [NaN, Infinity, -Infinity, Infinity, -0.0, 1500.0], "z": 2, "\u00e9": "\ud83d\ude00"}"#
        );
        assert_eq!(v.get("z"), Some(&PyJson::Int("2".into())));
        // the same dumps as before for evident values
        let ev = json!({"b": [1, 2.5, "x"], "a": null});
        assert_eq!(
            PyJson::from(&ev).dumps(false),
            r#"{"a": null, "b": [1, 2.5, "x"]}"#
        );
    }

    #[test]
    fn py_json_refuses_malformed_text_without_panicking() {
        for bad in [
            "",
            " ",
            "{",
            "[1,",
            "[1 2]",
            "{\"a\" 1}",
            "{1: 2}",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "+1",
            "nul",
            "Inf",
            "-Inf",
            "\"abc",
            "{\"\\ud800\": 1}",
            "\"a\u{1}\"",
            "[1]x",
            "\"\\",
            "tru",
            "{\"a\": 1,}",
            "[,]",
        ] {
            assert!(PyJson::parse(bad).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(PY_JSON_MAX_DEPTH) + &"]".repeat(PY_JSON_MAX_DEPTH);
        assert!(PyJson::parse(&deep).is_ok());
        let deeper = "[".repeat(PY_JSON_MAX_DEPTH + 1) + &"]".repeat(PY_JSON_MAX_DEPTH + 1);
        let e = PyJson::parse(&deeper).unwrap_err().to_string();
        assert!(e.contains("nest deeper"), "{e}");
        let e = ExportEntry::list_from_json(
            r#"[{"timestamp":"t","action":"a","user":"u","host":"h"},{"timestamp":"t"}]"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("entry 1") && e.contains("action"), "{e}");
        let e = ExportEntry::list_from_json(
            r#"[{"timestamp":"t","action":"a","user":"u","host":"h","x":1}]"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("entry 0") && e.contains("unknown field `x`"),
            "{e}"
        );
        assert!(ExportEntry::list_from_json(
            r#"[{"timestamp":1,"action":"a","user":"u","host":"h"}]"#
        )
        .is_err());
    }

    #[test]
    fn filter_is_tracekits_get_entries() {
        let e = |t: &str, a: &str| FilterEntry {
            timestamp: t.into(),
            action: a.into(),
        };
        let list = [
            e("2026-01-08T10:00:00.000000Z", "load"),
            e("2026-01-08T11:00:00.000000Z", "analyze"),
            e("2026-01-08T12:30:00+01:00", "load"), // 11:30 UTC
            e("2026-01-08T12:00:00.000001Z", "load"),
            e("not a time", "load"),
        ];
        assert_eq!(filter(&list, None, None).unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(filter(&list, None, Some("load")).unwrap(), vec![0, 2, 3, 4]);
        assert_eq!(
            filter(&list, None, Some("nothing")).unwrap(),
            Vec::<usize>::new()
        );
        // at or after; offsets are instants; "not a time" > "2026-…" as text
        assert_eq!(
            filter(&list, Some("2026-01-08T11:00:00Z"), None).unwrap(),
            vec![1, 2, 3, 4]
        );
        assert_eq!(
            filter(&list, Some("2026-01-08T12:45:00+01:00"), Some("load")).unwrap(),
            vec![3, 4]
        );
        assert!(filter(&list, Some("yesterday"), None).is_err());
        assert!(filter(&[], Some("2026-01-08T11:00:00Z"), Some("x"))
            .unwrap()
            .is_empty());
    }
}
