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
use serde::{Deserialize, Serialize};
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

// --- Python's json.dumps, and TraceKit's export layouts ------------------------

/// serde_json formatter writing what Python's `json.dumps` writes with its
/// defaults (`ensure_ascii=True`, `allow_nan=True`): separators `", "` and
/// `": "` (with `indent`: `","` and `": "`, newlines and `indent` spaces per
/// level), non-ASCII characters as `\uXXXX` (surrogate pairs above U+FFFF),
/// and floats as Python's `repr` (`0.1`, `1e-07`, `1e+16`, `2.0`).
struct PyFormatter {
    indent: Option<usize>,
    level: usize,
    has_value: bool,
}

impl PyFormatter {
    fn newline<W: ?Sized + std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        if let Some(n) = self.indent {
            w.write_all(b"\n")?;
            for _ in 0..self.level * n {
                w.write_all(b" ")?;
            }
        }
        Ok(())
    }
}

/// Python's `repr` of a float.
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

impl serde_json::ser::Formatter for PyFormatter {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f64) -> std::io::Result<()> {
        w.write_all(py_float_repr(v).as_bytes())
    }
    fn write_f32<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f32) -> std::io::Result<()> {
        self.write_f64(w, f64::from(v))
    }
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if fragment.bytes().all(|b| b.is_ascii() && b != 0x7f) {
            return w.write_all(fragment.as_bytes());
        }
        let mut buf = [0u16; 2];
        for c in fragment.chars() {
            if c.is_ascii() && c != '\x7f' {
                w.write_all(&[c as u8])?;
            } else {
                for u in c.encode_utf16(&mut buf) {
                    write!(w, "\\u{u:04x}")?;
                }
            }
        }
        Ok(())
    }
    fn write_char_escape<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        e: serde_json::ser::CharEscape,
    ) -> std::io::Result<()> {
        use serde_json::ser::CharEscape as C;
        match e {
            C::Quote => w.write_all(b"\\\""),
            C::ReverseSolidus => w.write_all(b"\\\\"),
            C::Solidus => w.write_all(b"/"),
            C::Backspace => w.write_all(b"\\b"),
            C::FormFeed => w.write_all(b"\\f"),
            C::LineFeed => w.write_all(b"\\n"),
            C::CarriageReturn => w.write_all(b"\\r"),
            C::Tab => w.write_all(b"\\t"),
            C::AsciiControl(b) => write!(w, "\\u{b:04x}"),
        }
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if !first {
            w.write_all(if self.indent.is_some() { b"," } else { b", " })?;
        }
        self.newline(w)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if !first {
            w.write_all(if self.indent.is_some() { b"," } else { b", " })?;
        }
        self.newline(w)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

fn py_dumps_with<T: Serialize + ?Sized>(v: &T, indent: Option<usize>) -> Result<String> {
    let mut buf = Vec::new();
    let f = PyFormatter {
        indent,
        level: 0,
        has_value: false,
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, f);
    v.serialize(&mut ser)
        .map_err(|e| Error::InvalidArgument(format!("details: {e}")))?;
    // The formatter writes only ASCII.
    Ok(String::from_utf8(buf).unwrap_or_default())
}

/// Python's `json.dumps(v, sort_keys=True)` (objects are sorted by key, as
/// serde_json's maps are). Integers beyond 64 bits are floats here, as
/// everywhere in evident.
pub fn py_dumps(v: &Value) -> String {
    py_dumps_with(v, None).unwrap_or_default()
}

/// One entry to export. Without `previous_hash` and `hmac` they are
/// computed (the chain continues from the entry before); with them (a trail
/// kept elsewhere) they are written as they are, so an entry changed after
/// it was recorded still fails TraceKit's check.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExportEntry {
    pub timestamp: String,
    pub action: String,
    #[serde(default)]
    pub details: Value,
    pub user: String,
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac: Option<String>,
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
            details: py_dumps(&e.details),
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
/// (JSON: `json.dump(data, f, indent=2)`, no final newline; CSV: Python's
/// `csv.DictWriter`, `\r\n` line ends, nothing at all for no entries).
pub fn export(
    alg: Algorithm,
    key: &[u8],
    entries: &[ExportEntry],
    format: ExportFormat,
) -> Result<String> {
    let chained = chain_entries(alg, key, entries);
    match format {
        ExportFormat::Json => {
            #[derive(Serialize)]
            struct Out<'a> {
                timestamp: &'a str,
                action: &'a str,
                details: &'a Value,
                user: &'a str,
                host: &'a str,
                previous_hash: &'a str,
                hmac: &'a str,
            }
            let list: Vec<Out> = entries
                .iter()
                .zip(&chained)
                .map(|(e, c)| Out {
                    timestamp: &c.timestamp,
                    action: &c.action,
                    details: &e.details,
                    user: &c.user,
                    host: &c.host,
                    previous_hash: &c.previous_hash,
                    hmac: &c.hmac,
                })
                .collect();
            // Field order as TraceKit writes it (a struct keeps it).
            let entries_text = py_dumps_with(&list, Some(2))?;
            let entries_text = entries_text.replace('\n', "\n  ");
            Ok(format!(
                "{{\n  \"version\": \"1.0\",\n  \"hash_algorithm\": \"{}\",\n  \"entries\": {}\n}}",
                alg.name(),
                entries_text
            ))
        }
        ExportFormat::Csv => {
            if entries.is_empty() {
                return Ok(String::new());
            }
            let mut keys: Vec<&String> = entries
                .iter()
                .filter_map(|e| e.details.as_object())
                .flat_map(|m| m.keys())
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
                for k in &keys {
                    row.push(match e.details.get(k.as_str()) {
                        None | Some(Value::Null) => String::new(),
                        Some(v) => py_dumps(v),
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
        details: e.details.clone(),
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
            details,
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
        b.details = json!({"n": 0.1, "s": "x,\"y\"\n"});
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
        tampered.details = json!({"file": "b.wfm"});
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
}
