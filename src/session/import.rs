//! Importing a trace from a CSV or NumPy `.npy` file
//! ([`Session::load_trace`](super::Session::load_trace)).
//!
//! Nothing in the file is ever executed. The `.npy` header is a Python dict
//! literal; it is read by a small strict parser that accepts only literals
//! (strings, integers, `True`/`False`/`None`, tuples, lists) and only the
//! three keys NumPy writes (`descr`, `fortran_order`, `shape`). Object
//! arrays (which NumPy can only load by unpickling) are refused. Lengths in
//! the file are checked against the file's size before anything is
//! allocated.
//!
//! Every error names the file and says what is wrong: damaged files give
//! [`Error::Malformed`] with the byte offset (and, for CSV, the line);
//! well-formed files holding something that is not one trace (a 3-D array,
//! strings, objects) give [`Error::InvalidArgument`]; a `.npy` format
//! version this reader does not know gives [`Error::Unsupported`].

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde_json::{Map, Value};

use super::model::{Dtype, Trace, TraceInfo};
use crate::error::{Error, Position, Result};

/// Options of [`read_trace_file_with`](super::read_trace_file_with) (TraceKit's loader keywords).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ImportOptions {
    /// The channel to read from a multi-channel capture (sigrok `.sr`):
    /// its name (`"D0"`, `"CAN_H"`) or its 0-based index among the logic
    /// channels. Default: the only channel, or for several logic channels
    /// the raw sample words (one bit per channel, see the trace metadata).
    pub channel: Option<ChannelSel>,
    /// Whether the caller asked for lazy loading. Accepted for TraceKit
    /// compatibility: an imported trace is read now and mapped from the
    /// session file once saved, so it changes nothing.
    pub lazy: bool,
    /// The sample rate in Hz of a capture that does not give one (NumPy
    /// `.npy`, a CSV without a time column; TraceKit's `sample_rate=`
    /// loader keyword). A capture with its own rate keeps it: a different
    /// value is refused rather than used.
    pub sample_rate: Option<f64>,
}

/// A channel of a capture, by name or by index.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelSel {
    Name(String),
    Index(usize),
}

pub(super) fn invalid(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("{}: {msg}", path.display()))
}

pub(super) fn at_offset(offset: u64) -> Position {
    Position {
        offset,
        line: 0,
        seq: None,
    }
}

pub(super) fn source_metadata(path: &Path, format: &str) -> Map<String, Value> {
    let mut m = Map::new();
    let source = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    m.insert("source".into(), Value::String(source));
    m.insert("format".into(), Value::String(format.into()));
    m
}

/// Wraps an argument error of the trace constructor with the file's name.
pub(super) fn with_path(path: &Path, e: Error) -> Error {
    match e {
        Error::InvalidArgument(msg) => invalid(path, msg),
        other => other,
    }
}

// ---------------------------------------------------------------------------
// .npy

const NPY_MAGIC: [u8; 6] = *b"\x93NUMPY";
/// Headers NumPy writes are a few hundred bytes (its own reader refuses
/// more than 10 000 by default); anything larger is not a plain array.
const NPY_MAX_HEADER: u64 = 1 << 20;
/// Nesting of tuples and lists in the header (a plain array needs 1).
const NPY_MAX_DEPTH: usize = 8;

/// Reads `buf.len()` bytes at `offset`; a short file is a truncation.
fn read_npy_part(
    path: &Path,
    file: &mut File,
    buf: &mut [u8],
    offset: u64,
    what: &str,
) -> Result<()> {
    file.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::malformed(
                path,
                at_offset(offset),
                format!("truncated .npy file: it ends inside the {what}"),
            )
        } else {
            Error::io(path, "read", e)
        }
    })
}

pub(super) fn read_npy(path: &Path, mut file: File, file_len: u64) -> Result<Trace> {
    let mut pre = [0u8; 8];
    read_npy_part(path, &mut file, &mut pre, 0, "preamble")?;
    let (magic, version) = pre.split_at(6);
    if magic != NPY_MAGIC {
        return Err(Error::malformed(
            path,
            at_offset(0),
            "not a .npy file: it does not start with \\x93NUMPY",
        ));
    }
    let (major, minor) = match version {
        [a, b] => (*a, *b),
        _ => (0, 0),
    };
    let len_size: u64 = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                msg: format!(
                    ".npy format version {major}.{minor} (this reader knows 1.0, 2.0 and 3.0)"
                ),
            })
        }
    };
    let mut len_bytes = [0u8; 4];
    let (len_buf, _) = len_bytes.split_at_mut(len_size as usize);
    read_npy_part(path, &mut file, len_buf, 8, "header length")?;
    let header_len = u64::from(u32::from_le_bytes(len_bytes));
    let header_at = 8 + len_size;
    let data_at = header_at + header_len;
    if data_at > file_len {
        return Err(Error::malformed(
            path,
            at_offset(8),
            format!(
                "header length {header_len} runs past the end of the file ({file_len} bytes): \
                 truncated or not a .npy file"
            ),
        ));
    }
    if header_len > NPY_MAX_HEADER {
        return Err(Error::malformed(
            path,
            at_offset(8),
            format!("header length {header_len} is larger than any plain array's header"),
        ));
    }
    // Bounded by the file size and NPY_MAX_HEADER (checked above).
    let mut header = vec![0u8; header_len as usize];
    read_npy_part(path, &mut file, &mut header, header_at, "header")?;
    let h = parse_npy_header(&header)
        .map_err(|(i, msg)| Error::malformed(path, at_offset(header_at + i as u64), msg))?;

    let descr = match &h.descr {
        Py::Str(s) => s.clone(),
        Py::List(_) => {
            return Err(invalid(
                path,
                "the array has a structured (record) dtype; save each field as its own \
                 1-D array",
            ))
        }
        other => {
            return Err(Error::malformed(
                path,
                at_offset(header_at),
                format!("header 'descr' is {}, not a dtype string", other.kind()),
            ))
        }
    };
    let (dtype, swap) = npy_dtype(&descr).map_err(|msg| invalid(path, msg))?;
    let shape_text = python_shape(&h.shape);
    let len = match h.shape.as_slice() {
        [n] => *n,
        [1, n] | [n, 1] => *n,
        [] => {
            return Err(invalid(
                path,
                "the array is 0-dimensional (a single value, shape ()); a trace needs a \
                 1-D array",
            ))
        }
        _ => {
            return Err(invalid(
                path,
                format!(
                    "array shape {shape_text} is not one trace: use a 1-D array, or 2-D with \
                     one dimension 1"
                ),
            ))
        }
    };
    // fortran_order only changes the layout of arrays with more than one
    // dimension greater than 1, which are refused above: a (n, 1) or
    // (1, n) array has the same bytes in either order.
    let _ = h.fortran_order;

    let want = dtype.byte_len(len).ok_or_else(|| {
        Error::malformed(
            path,
            at_offset(header_at),
            format!("shape {shape_text} of {descr:?} is larger than any file"),
        )
    })?;
    let have = file_len - data_at;
    if want > have {
        return Err(Error::malformed(
            path,
            at_offset(data_at),
            format!(
                "truncated: shape {shape_text} of {descr:?} needs {want} data bytes, the file \
                 has {have}"
            ),
        ));
    }
    if want < have {
        return Err(Error::malformed(
            path,
            at_offset(data_at + want),
            format!(
                "{} unexpected bytes after the data (shape {shape_text} of {descr:?} is \
                 {want} bytes): the header does not describe this file",
                have - want
            ),
        ));
    }
    let want = usize::try_from(want).map_err(|_| {
        invalid(
            path,
            format!("{want} bytes of samples do not fit in memory"),
        )
    })?;
    // Bounded by the file size (checked above).
    let mut data = vec![0u8; want];
    read_npy_part(path, &mut file, &mut data, data_at, "data")?;
    if swap {
        if let Some(n) = dtype.item_size() {
            for item in data.chunks_exact_mut(n as usize) {
                item.reverse();
            }
        }
    }
    if dtype == Dtype::Bool {
        if let Some(i) = data.iter().position(|b| *b > 1) {
            return Err(Error::malformed(
                path,
                at_offset(data_at + i as u64),
                format!(
                    "bool sample {i} is byte {:#04x}, not 0 or 1",
                    data.get(i).copied().unwrap_or(0)
                ),
            ));
        }
    }
    let info = TraceInfo {
        metadata: source_metadata(path, "npy"),
        ..TraceInfo::default()
    };
    Trace::from_bytes(dtype, len, &data, info).map_err(|e| with_path(path, e))
}

/// The sample type of a `.npy` `descr` and whether the samples must be
/// byte-swapped to little-endian.
fn npy_dtype(descr: &str) -> std::result::Result<(Dtype, bool), String> {
    let (order, code) = match descr.as_bytes().first() {
        Some(c @ (b'<' | b'>' | b'|' | b'=' | b'!')) => (Some(*c), descr.get(1..).unwrap_or("")),
        _ => (None, descr),
    };
    let dtype = match code {
        "f8" => Dtype::F64,
        "f4" => Dtype::F32,
        "i1" => Dtype::I8,
        "i2" => Dtype::I16,
        "i4" => Dtype::I32,
        "i8" => Dtype::I64,
        "u1" => Dtype::U8,
        "u2" => Dtype::U16,
        "u4" => Dtype::U32,
        "u8" => Dtype::U64,
        "b1" => Dtype::Bool,
        _ => {
            let sized = code.len() > 1 && code.bytes().skip(1).all(|c| c.is_ascii_digit());
            let what = match code.as_bytes().first() {
                Some(b'O') => {
                    return Err(format!(
                        "dtype {descr:?} is an object array: its items are Python objects that \
                         only unpickling (running code from the file) can load, which is never \
                         done; save a numeric array"
                    ))
                }
                Some(b'V') => "a structured or void dtype",
                Some(b'U' | b'S' | b'a') => "a string dtype",
                Some(b'c') if sized => "a complex dtype",
                Some(b'M' | b'm') => "a date/time dtype",
                Some(b'f') if sized => "a float size that traces do not have",
                _ => "not a supported sample type",
            };
            return Err(format!(
                "dtype {descr:?} is {what}; use one of <f8 <f4 |i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 \
                 |b1 (big-endian '>' works too)"
            ));
        }
    };
    // NumPy writes '<' or '>' for multi-byte types and '|' for single
    // bytes; '=' and '|' mean this machine's order, '!' is big-endian.
    let big = match order {
        Some(b'>' | b'!') => true,
        Some(b'<') => false,
        _ => cfg!(target_endian = "big"),
    };
    Ok((dtype, big && dtype.item_size().is_some_and(|n| n > 1)))
}

/// A shape as Python prints it: `()`, `(5,)`, `(3, 4)`.
fn python_shape(shape: &[u64]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// A Python literal of a `.npy` header.
#[derive(Debug, Clone, PartialEq)]
enum Py {
    Str(String),
    Int(u64),
    Bool(bool),
    None,
    Tuple(Vec<Py>),
    List(Vec<Py>),
}

impl Py {
    fn kind(&self) -> &'static str {
        match self {
            Py::Str(_) => "a string",
            Py::Int(_) => "an integer",
            Py::Bool(_) => "a boolean",
            Py::None => "None",
            Py::Tuple(_) => "a tuple",
            Py::List(_) => "a list",
        }
    }
}

#[derive(Debug)]
struct NpyHeader {
    descr: Py,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// A header parse error: index in the header and message.
type PErr = (usize, String);

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

fn show_byte(b: Option<u8>) -> String {
    match b {
        None => "the end of the header".to_string(),
        Some(c) if c.is_ascii_graphic() => format!("'{}'", c as char),
        Some(c) => format!("byte {c:#04x}"),
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn err<T>(&self, msg: impl Into<String>) -> std::result::Result<T, PErr> {
        Err((self.i, msg.into()))
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8, what: &str) -> std::result::Result<(), PErr> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            self.err(format!(
                "header: expected {what}, found {}",
                show_byte(self.peek())
            ))
        }
    }

    fn string(&mut self) -> std::result::Result<String, PErr> {
        let Some(q @ (b'\'' | b'"')) = self.peek() else {
            return self.err(format!(
                "header: expected a quoted string, found {}",
                show_byte(self.peek())
            ));
        };
        let start = self.i;
        self.i += 1;
        let from = self.i;
        loop {
            match self.peek() {
                None | Some(b'\n') => {
                    self.i = start;
                    return self.err("header: unterminated string");
                }
                Some(b'\\') => return self.err("header: escape sequences are not supported"),
                Some(c) if c == q => break,
                Some(_) => self.i += 1,
            }
        }
        let text = String::from_utf8_lossy(self.s.get(from..self.i).unwrap_or_default());
        self.i += 1;
        Ok(text.into_owned())
    }

    fn int(&mut self) -> std::result::Result<u64, PErr> {
        let start = self.i;
        let mut n: u64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            n = match n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(c - b'0')))
            {
                Some(n) => n,
                None => {
                    self.i = start;
                    return self.err("header: integer too large");
                }
            };
            self.i += 1;
        }
        // Python 2 wrote long integers with an L suffix.
        if matches!(self.peek(), Some(b'L' | b'l')) {
            self.i += 1;
        }
        Ok(n)
    }

    /// Items of a tuple or list up to `close`; the bool says whether a
    /// comma was seen (`(5)` is 5, `(5,)` a tuple).
    fn items(&mut self, close: u8, depth: usize) -> std::result::Result<(Vec<Py>, bool), PErr> {
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            self.skip_ws();
            if self.peek() == Some(close) {
                self.i += 1;
                return Ok((items, comma));
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    comma = true;
                    self.i += 1;
                }
                Some(c) if c == close => {}
                other => {
                    return self.err(format!(
                        "header: expected ',' or '{}', found {}",
                        close as char,
                        show_byte(other)
                    ))
                }
            }
        }
    }

    fn value(&mut self, depth: usize) -> std::result::Result<Py, PErr> {
        if depth > NPY_MAX_DEPTH {
            return self.err("header: nested too deeply");
        }
        self.skip_ws();
        match self.peek() {
            Some(b'\'' | b'"') => Ok(Py::Str(self.string()?)),
            Some(b'0'..=b'9') => Ok(Py::Int(self.int()?)),
            Some(b'(') => {
                self.i += 1;
                let (mut items, comma) = self.items(b')', depth)?;
                if items.len() == 1 && !comma {
                    Ok(items.pop().unwrap_or(Py::None))
                } else {
                    Ok(Py::Tuple(items))
                }
            }
            Some(b'[') => {
                self.i += 1;
                Ok(Py::List(self.items(b']', depth)?.0))
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.i += 1;
                }
                match self.s.get(start..self.i).unwrap_or_default() {
                    b"True" => Ok(Py::Bool(true)),
                    b"False" => Ok(Py::Bool(false)),
                    b"None" => Ok(Py::None),
                    name => {
                        self.i = start;
                        self.err(format!(
                            "header: {:?} is not a literal (only strings, integers, True, \
                             False, None, tuples and lists are read; nothing is evaluated)",
                            String::from_utf8_lossy(name)
                        ))
                    }
                }
            }
            Some(b'-') => self.err("header: negative numbers are not valid here"),
            other => self.err(format!(
                "header: expected a value, found {}",
                show_byte(other)
            )),
        }
    }
}

/// Parses the header dict `{'descr': ..., 'fortran_order': ..., 'shape': (...), }`
/// followed by padding. Errors carry the index in `s`.
fn parse_npy_header(s: &[u8]) -> std::result::Result<NpyHeader, PErr> {
    let mut p = Parser { s, i: 0 };
    p.expect(b'{', "the header dict's '{'")?;
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    loop {
        p.skip_ws();
        if p.peek() == Some(b'}') {
            p.i += 1;
            break;
        }
        let key_at = p.i;
        let key = p.string()?;
        p.expect(b':', "':' after a key")?;
        let value_at = p.i;
        let value = p.value(1)?;
        let slot = match key.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran,
            "shape" => &mut shape,
            _ => {
                return Err((
                    key_at,
                    format!(
                        "header: unknown key {key:?} (a .npy header has exactly 'descr', \
                         'fortran_order' and 'shape')"
                    ),
                ))
            }
        };
        if slot.is_some() {
            return Err((key_at, format!("header: key {key:?} appears twice")));
        }
        *slot = Some((value_at, value));
        p.skip_ws();
        match p.peek() {
            Some(b',') => p.i += 1,
            Some(b'}') => {}
            other => {
                return p.err(format!(
                    "header: expected ',' or '}}', found {}",
                    show_byte(other)
                ))
            }
        }
    }
    p.skip_ws();
    if p.i < s.len() {
        return p.err(format!(
            "header: unexpected {} after the header dict (the header length may be wrong)",
            show_byte(p.peek())
        ));
    }
    let missing = |k: &str| (0, format!("header: no {k:?} key"));
    let (_, descr) = descr.ok_or_else(|| missing("descr"))?;
    let fortran_order = match fortran.ok_or_else(|| missing("fortran_order"))? {
        (_, Py::Bool(b)) => b,
        (at, v) => {
            return Err((
                at,
                format!("header: 'fortran_order' is {}, not True or False", v.kind()),
            ))
        }
    };
    let shape = match shape.ok_or_else(|| missing("shape"))? {
        (at, Py::Tuple(items)) => {
            let mut dims = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Py::Int(n) => dims.push(n),
                    v => {
                        return Err((
                            at,
                            format!("header: 'shape' holds {}, not an integer", v.kind()),
                        ))
                    }
                }
            }
            dims
        }
        (at, v) => return Err((at, format!("header: 'shape' is {}, not a tuple", v.kind()))),
    };
    Ok(NpyHeader {
        descr,
        fortran_order,
        shape,
    })
}

// ---------------------------------------------------------------------------
// CSV

/// Relative tolerance of the time steps (beyond the precision the times
/// are printed with).
const CSV_STEP_TOLERANCE: f64 = 1e-6;

fn csv_pos(p: Option<&csv::Position>) -> Position {
    Position {
        offset: p.map_or(0, |p| p.byte()),
        line: p.map_or(0, |p| p.line()),
        seq: None,
    }
}

/// A CSV header cell split into name and unit: `"Voltage (V)"` and
/// `"voltage [V]"` give unit `"V"`.
fn header_unit(cell: &str) -> Option<&str> {
    let cell = cell.trim();
    for (open, close) in [('(', ')'), ('[', ']')] {
        if let Some(inner) = cell.strip_suffix(close) {
            if let Some(i) = inner.rfind(open) {
                let unit = inner.get(i + open.len_utf8()..).unwrap_or("").trim();
                if !unit.is_empty() {
                    return Some(unit);
                }
            }
        }
    }
    None
}

/// Seconds per unit of a time column's header unit.
fn time_scale(unit: &str) -> Option<f64> {
    Some(match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "ms" => 1e-3,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1e-6,
        "ns" => 1e-9,
        "ps" => 1e-12,
        _ => return None,
    })
}

/// The decimal exponent of the last printed digit of a number
/// (`"1.25e-3"` → -5): the times' printing precision.
fn last_digit_exp(text: &[u8]) -> i32 {
    let text = text
        .strip_prefix(b"-")
        .or(text.strip_prefix(b"+"))
        .unwrap_or(text);
    let (mantissa, exp) = match text.iter().position(|c| matches!(c, b'e' | b'E')) {
        Some(i) => (
            text.get(..i).unwrap_or_default(),
            match std::str::from_utf8(text.get(i + 1..).unwrap_or_default()) {
                // Too many digits for an i32: far beyond f64 anyway.
                Ok(e) => e
                    .parse::<i32>()
                    .unwrap_or(if e.starts_with('-') { -400 } else { 400 }),
                Err(_) => 0,
            },
        ),
        None => (text, 0),
    };
    let frac = match mantissa.iter().position(|c| *c == b'.') {
        Some(i) => mantissa.len() - i - 1,
        None => 0,
    };
    exp.clamp(-400, 400) - frac.min(400) as i32
}

fn parse_num(field: &[u8]) -> Option<f64> {
    std::str::from_utf8(field).ok()?.parse::<f64>().ok()
}

/// Whether a header cell names a time column (`time`, `Time (s)`, `t`,
/// `seconds`, `timestamp`, case aside).
fn is_time_name(cell: &str) -> bool {
    let cell = cell.trim();
    let name = match header_unit(cell) {
        Some(unit) => cell
            .strip_suffix(|c| c == ')' || c == ']')
            .and_then(|c| c.strip_suffix(unit))
            .map_or(cell, |c| c.trim_end_matches(['(', '[', ' '])),
        None => cell,
    };
    let name = name.trim().to_ascii_lowercase();
    matches!(
        name.as_str(),
        "time" | "t" | "seconds" | "timestamp" | "time_s"
    )
}

/// The field separator of a CSV file: `,`, else `;` or a tab when every one
/// of its first two lines that are neither empty nor comments has that
/// separator outside quotes (and none has a comma), as spreadsheets and
/// some scope software export. The file is read from the start again
/// afterwards. (Numbers are read with a decimal point either way.)
fn csv_separator(path: &Path, file: &mut File) -> Result<u8> {
    use std::io::Seek;
    let mut head = Vec::new();
    (&mut *file)
        .take(1 << 16)
        .read_to_end(&mut head)
        .map_err(|e| Error::io(path, "read", e))?;
    file.rewind().map_err(|e| Error::io(path, "read", e))?;
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let lines: Vec<&[u8]> = head
        .split(|&b| b == b'\n')
        .map(|l| l.trim_ascii())
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .take(2)
        .collect();
    // Separators outside double quotes.
    let has = |line: &[u8], sep: u8| {
        let mut quoted = false;
        line.iter().any(|&b| {
            if b == b'"' {
                quoted = !quoted;
            }
            !quoted && b == sep
        })
    };
    let all = |sep: u8| !lines.is_empty() && lines.iter().all(|l| has(l, sep));
    Ok(if lines.iter().any(|l| has(l, b',')) {
        b','
    } else if all(b';') {
        b';'
    } else if all(b'\t') {
        b'\t'
    } else {
        b','
    })
}

pub(super) fn read_csv(path: &Path, mut file: File) -> Result<Trace> {
    let separator = csv_separator(path, &mut file)?;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(io::BufReader::with_capacity(1 << 16, file));
    let mut rec = csv::ByteRecord::new();
    let mut first_record = true;
    let mut first_row_seen = false;
    let mut header: Option<(Vec<String>, u64)> = None;
    // Columns of the data rows (1: values; 2: time and value) and the line
    // of the first data row.
    let mut mode: Option<(usize, u64)> = None;
    let mut scale = 1.0;
    // The columns of the time and the value when there are two: the time
    // first, unless the header names the second one as the time.
    let (mut tcol, mut vcol) = (0usize, 1usize);
    let mut values: Vec<f64> = Vec::new();
    let mut times: Vec<f64> = Vec::new();
    // Per row (time mode): line, byte offset, exponent of the time's last
    // printed digit.
    let mut rows: Vec<(u64, u64, i16)> = Vec::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let at = csv_pos(e.position());
                return Err(match e.into_kind() {
                    csv::ErrorKind::Io(io) => Error::io(path, "read", io),
                    kind => Error::malformed(path, at, format!("CSV: {kind:?}")),
                });
            }
        }
        let bom = std::mem::take(&mut first_record);
        let at = csv_pos(rec.position());
        let field = |i: usize| -> &[u8] {
            let f = rec.get(i).unwrap_or_default();
            if i == 0 && bom {
                f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f).trim_ascii()
            } else {
                f
            }
        };
        // Fields up to the last non-empty one (trailing commas are common).
        let mut n = rec.len();
        while n > 0 && field(n - 1).is_empty() {
            n -= 1;
        }
        if n == 0 || field(0).starts_with(b"#") {
            continue;
        }
        if !std::mem::replace(&mut first_row_seen, true)
            && (0..n.min(2)).any(|i| parse_num(field(i)).is_none())
        {
            let names = (0..n)
                .map(|i| String::from_utf8_lossy(field(i)).into_owned())
                .collect();
            header = Some((names, at.line));
            continue;
        }
        let (cols, first_line) = match mode {
            Some(m) => m,
            None => {
                let cols = n.min(2);
                if let Some((names, hline)) = &header {
                    if (names.len() == 1) != (cols == 1) {
                        return Err(Error::malformed(
                            path,
                            at,
                            format!(
                                "the header (line {hline}) names {} column(s), the first data \
                                 row has {n}",
                                names.len()
                            ),
                        ));
                    }
                    if cols == 2 {
                        let named = |i: usize| names.get(i).is_some_and(|n| is_time_name(n));
                        if named(1) && !named(0) {
                            (tcol, vcol) = (1, 0);
                        }
                        if let Some(unit) = names.get(tcol).and_then(|t| header_unit(t)) {
                            scale = time_scale(unit).ok_or_else(|| {
                                invalid(
                                    path,
                                    format!(
                                        "line {hline}: time column unit {unit:?} is not \
                                         understood; use s, ms, us or ns (no unit: seconds)"
                                    ),
                                )
                            })?;
                        }
                    }
                }
                mode = Some((cols, at.line));
                (cols, at.line)
            }
        };
        if cols == 1 && n != 1 {
            return Err(Error::malformed(
                path,
                at,
                format!(
                    "{n} fields, but the first data row (line {first_line}) has one column of \
                     values"
                ),
            ));
        }
        if cols == 2 && n < 2 {
            return Err(Error::malformed(
                path,
                at,
                format!(
                    "one field, but the first data row (line {first_line}) has time and value \
                     columns"
                ),
            ));
        }
        let number = |i: usize| -> Result<f64> {
            let f = field(i);
            parse_num(f).ok_or_else(|| {
                let name = header
                    .as_ref()
                    .and_then(|(h, _)| h.get(i))
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                let what = if f.is_empty() {
                    "empty".to_string()
                } else {
                    format!("{:?} is not a number", String::from_utf8_lossy(f))
                };
                Error::malformed(path, at, format!("column {}{name}: {what}", i + 1))
            })
        };
        if cols == 1 {
            values.push(number(0)?);
            continue;
        }
        let t = number(tcol)? * scale;
        if !t.is_finite() {
            return Err(Error::malformed(
                path,
                at,
                "the time is not a finite number",
            ));
        }
        if let (Some(prev), Some((pline, _, _))) = (times.last(), rows.last()) {
            if t <= *prev {
                return Err(Error::malformed(
                    path,
                    at,
                    format!(
                        "time {t} s is not after the previous row's {prev} s (line {pline}); \
                         times must increase"
                    ),
                ));
            }
        }
        values.push(number(vcol)?);
        times.push(t);
        let exp = last_digit_exp(field(tcol)).clamp(i32::from(i16::MIN), i32::from(i16::MAX));
        rows.push((at.line, at.offset, exp as i16));
    }
    if values.is_empty() {
        return Err(Error::malformed(
            path,
            Position::default(),
            "no data rows (a CSV trace needs one column of values, or time and value columns)",
        ));
    }
    let mut info = TraceInfo {
        metadata: source_metadata(path, "csv"),
        ..TraceInfo::default()
    };
    if let Some((names, _)) = &header {
        let value_col = names.get(if times.is_empty() { 0 } else { vcol });
        if let Some(name) = value_col.filter(|n| !n.is_empty()) {
            info.metadata
                .insert("column".into(), Value::String(name.clone()));
            info.units = header_unit(name).unwrap_or("").to_string();
        }
        if let Some(name) = names
            .get(tcol)
            .filter(|n| !n.is_empty() && !times.is_empty())
        {
            info.metadata
                .insert("time_column".into(), Value::String(name.clone()));
        }
    }
    if let (Some(first), Some(last)) = (times.first(), times.last()) {
        info.start_time = *first;
        if times.len() >= 2 {
            check_uniform(path, &times, &rows, scale)?;
            let rate = (times.len() - 1) as f64 / (last - first);
            if !(rate.is_finite() && rate > 0.0) {
                return Err(invalid(
                    path,
                    format!("the times give a sample rate of {rate} Hz"),
                ));
            }
            info.sample_rate = rate;
        }
    }
    Trace::from_slice(&values, info).map_err(|e| with_path(path, e))
}

/// Checks that increasing `times` are evenly spaced.
///
/// Each step must be within [`CSV_STEP_TOLERANCE`] of the mean step, plus
/// the rounding of the printed times (half a unit in the last printed digit
/// of each of the two, as scopes print times with a fixed number of digits;
/// never counted as more than half a step, so a missing row, a step twice
/// as long, is always caught) and of f64. The mean is the reference because
/// it is exact for evenly spaced rounded times; the error names the first
/// step far from the median step (robust against the outlier itself), or
/// else the first step far from the mean.
fn check_uniform(path: &Path, times: &[f64], rows: &[(u64, u64, i16)], scale: f64) -> Result<()> {
    let (Some(first), Some(last)) = (times.first(), times.last()) else {
        return Ok(());
    };
    let mean = (last - first) / (times.len() - 1) as f64;
    let quantum = |e: i16| 10f64.powi(i32::from(e)) * scale;
    let first_off = |reference: f64| {
        times.windows(2).zip(rows.windows(2)).find_map(|(w, r)| {
            let (&[t0, t1], &[(line0, _, e0), (line1, off1, e1)]) = (w, r) else {
                return None;
            };
            let step = t1 - t0;
            let printed = ((quantum(e0) + quantum(e1)) / 2.0).min(reference / 2.0);
            let tol = CSV_STEP_TOLERANCE * reference
                + printed
                + 4.0 * f64::EPSILON * t0.abs().max(t1.abs());
            ((step - reference).abs() > tol).then_some((step, t0, line0, line1, off1))
        })
    };
    if first_off(mean).is_none() {
        return Ok(());
    }
    let mut steps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let mid = steps.len() / 2;
    let (_, median, _) = steps.select_nth_unstable_by(mid, f64::total_cmp);
    let median = *median;
    drop(steps);
    let Some((step, t0, line0, line1, off1)) = first_off(median).or_else(|| first_off(mean)) else {
        return Ok(());
    };
    Err(Error::malformed(
        path,
        Position {
            offset: off1,
            line: line1,
            seq: None,
        },
        format!(
            "time step {step} s (from {t0} s on line {line0}) differs from the usual step \
             {median} s: the samples are not evenly spaced (a missing row, or jitter beyond \
             {CSV_STEP_TOLERANCE:e} of the step and the times' printed precision)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(s: &str) -> std::result::Result<NpyHeader, PErr> {
        parse_npy_header(s.as_bytes())
    }

    #[test]
    fn parses_numpy_headers() {
        let h = header("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }          \n")
            .unwrap();
        assert_eq!(h.descr, Py::Str("<f8".into()));
        assert!(!h.fortran_order);
        assert_eq!(h.shape, vec![3]);
        let h = header("{\"descr\":\"|b1\",\"shape\":(2, 1),\"fortran_order\":True}").unwrap();
        assert_eq!(h.shape, vec![2, 1]);
        assert!(h.fortran_order);
        let h = header("{'descr': '<i8', 'fortran_order': False, 'shape': (), }").unwrap();
        assert!(h.shape.is_empty());
        let h = header("{'descr': '<i8', 'fortran_order': False, 'shape': (7L,), }").unwrap();
        assert_eq!(h.shape, vec![7]);
        let h = header(
            "{'descr': [('a', '<f8'), ('b', '<i4', (2,))], 'fortran_order': False, 'shape': (3,)}",
        )
        .unwrap();
        assert!(matches!(h.descr, Py::List(ref v) if v.len() == 2));
    }

    #[test]
    fn rejects_bad_headers_with_position() {
        let cases: &[(&str, &str)] = &[
            ("", "expected the header dict's '{'"),
            (
                "{'descr': '<f8', 'fortran_order': False}",
                "no \"shape\" key",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1}",
                "unknown key \"x\"",
            ),
            (
                "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3,)}",
                "appears twice",
            ),
            (
                "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,)}",
                "not True or False",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3)}",
                "not a tuple",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': [3]}",
                "not a tuple",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': ('3',)}",
                "not an integer",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,)}",
                "negative",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}",
                "too large",
            ),
            (
                "{'descr': __import__('os').system('x'), 'fortran_order': False, 'shape': (3,)}",
                "not a literal",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)} junk",
                "after the header dict",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)",
                "expected ',' or '}'",
            ),
            (
                "{'descr': '<f8\n', 'fortran_order': False, 'shape': (3,)}",
                "unterminated string",
            ),
            (
                "{'descr': '<f\\x38', 'fortran_order': False, 'shape': (3,)}",
                "escape",
            ),
            (
                "{'descr': {'a': 1}, 'fortran_order': False, 'shape': (3,)}",
                "expected a value",
            ),
            (
                "{'descr': '<f8' 'fortran_order': False, 'shape': (3,)}",
                "expected ',' or '}'",
            ),
            (
                "{'descr': ((((((((((1,),),),),),),),),),), 'fortran_order': False, 'shape': (3,)}",
                "nested too deeply",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3,,)}",
                "expected a value",
            ),
        ];
        for (text, want) in cases {
            let (at, msg) = header(text).map(|_| ()).expect_err(text);
            assert!(msg.contains(want), "{text:?}: {msg:?} lacks {want:?}");
            assert!(at <= text.len(), "{text:?}: position {at}");
        }
        let (at, _) = header("{'descr': '<f8', 'fortran_order': False, 'shape': (3,)} junk")
            .map(|_| ())
            .unwrap_err();
        assert_eq!(at, 56);
    }

    #[test]
    fn dtypes() {
        let little = cfg!(target_endian = "little");
        for (d, want) in [
            ("<f8", Dtype::F64),
            ("<f4", Dtype::F32),
            ("|i1", Dtype::I8),
            ("<i2", Dtype::I16),
            ("<i4", Dtype::I32),
            ("<i8", Dtype::I64),
            ("|u1", Dtype::U8),
            ("<u2", Dtype::U16),
            ("<u4", Dtype::U32),
            ("<u8", Dtype::U64),
            ("|b1", Dtype::Bool),
        ] {
            assert_eq!(npy_dtype(d), Ok((want, false)), "{d}");
            let code = d.get(1..).unwrap();
            let multi = want.item_size().unwrap() > 1;
            assert_eq!(npy_dtype(&format!(">{code}")), Ok((want, multi)), "{d}");
            assert_eq!(npy_dtype(&format!("!{code}")), Ok((want, multi)), "{d}");
            assert_eq!(npy_dtype(&format!("={code}")), Ok((want, multi && !little)));
            assert_eq!(npy_dtype(code), Ok((want, multi && !little)));
        }
        for (d, want) in [
            ("|O", "object array"),
            ("|O8", "object array"),
            ("|V16", "structured"),
            ("<U5", "string"),
            ("|S3", "string"),
            ("<c16", "complex"),
            ("<M8[ns]", "date/time"),
            ("<f2", "float size"),
            ("<f16", "float size"),
            ("<i16", "not a supported"),
            ("float64", "not a supported"),
            ("", "not a supported"),
        ] {
            let msg = npy_dtype(d).unwrap_err();
            assert!(msg.contains(want), "{d}: {msg}");
        }
    }

    #[test]
    fn units_and_precision() {
        assert_eq!(header_unit("Voltage (V)"), Some("V"));
        assert_eq!(header_unit("voltage [V]"), Some("V"));
        assert_eq!(header_unit("CH1 (mV) "), Some("mV"));
        assert_eq!(header_unit("Temp (\u{b0}C)"), Some("\u{b0}C"));
        assert_eq!(header_unit("CH1"), None);
        assert_eq!(header_unit("()"), None);
        assert_eq!(time_scale("ms"), Some(1e-3));
        assert_eq!(time_scale("\u{b5}s"), Some(1e-6));
        assert_eq!(time_scale("samples"), None);
        assert_eq!(last_digit_exp(b"1.25e-3"), -5);
        assert_eq!(last_digit_exp(b"-4.99800E-04"), -9);
        assert_eq!(last_digit_exp(b"120"), 0);
        assert_eq!(last_digit_exp(b"+0.5"), -1);
        assert_eq!(last_digit_exp(b"1e999999999999"), 400);
    }
}
