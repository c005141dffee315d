//! The in-memory session: traces, annotation layers, measurements, history
//! and metadata, with the operations of TraceKit's `Session`. No I/O here:
//! saving and loading are in `store.rs`, the bytes on disk in `file.rs`.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::params::Params;
use crate::chain::Hash;
use crate::error::{Error, Result};

/// Sample types of a trace. Samples are stored little-endian.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dtype {
    F64 = 1,
    F32 = 2,
    I8 = 3,
    I16 = 4,
    I32 = 5,
    I64 = 6,
    U8 = 7,
    U16 = 8,
    U32 = 9,
    U64 = 10,
    /// One byte per sample, 0 or 1.
    Bool = 11,
    /// Packed bits, eight samples per byte, first sample in the least
    /// significant bit (digital channels).
    Bit = 12,
}

const ALL_DTYPES: [Dtype; 12] = [
    Dtype::F64,
    Dtype::F32,
    Dtype::I8,
    Dtype::I16,
    Dtype::I32,
    Dtype::I64,
    Dtype::U8,
    Dtype::U16,
    Dtype::U32,
    Dtype::U64,
    Dtype::Bool,
    Dtype::Bit,
];

impl Dtype {
    /// Every sample type, in numbering order.
    pub fn all() -> &'static [Dtype] {
        &ALL_DTYPES
    }

    /// The name used in files and JSON (`"f64"`, …, `"bool"`, `"bit"`).
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F64 => "f64",
            Dtype::F32 => "f32",
            Dtype::I8 => "i8",
            Dtype::I16 => "i16",
            Dtype::I32 => "i32",
            Dtype::I64 => "i64",
            Dtype::U8 => "u8",
            Dtype::U16 => "u16",
            Dtype::U32 => "u32",
            Dtype::U64 => "u64",
            Dtype::Bool => "bool",
            Dtype::Bit => "bit",
        }
    }

    /// The type of a name.
    pub fn from_name(name: &str) -> Option<Dtype> {
        ALL_DTYPES.iter().copied().find(|d| d.name() == name)
    }

    /// The type of a name or of one of its common aliases, case-insensitively
    /// (`"float64"`, `"double"`, `"float"` → f64; `"float32"` → f32;
    /// `"int8"` … `"uint64"`; `"bool_"` → bool; `"bits"` → bit). For names
    /// given by people (C, Go, Python, CLI); files use [`Dtype::from_name`].
    pub fn from_alias(name: &str) -> Option<Dtype> {
        let lower = name.to_ascii_lowercase();
        let canonical = match lower.as_str() {
            "float64" | "double" | "float" => "f64",
            "float32" => "f32",
            "int8" => "i8",
            "int16" => "i16",
            "int32" => "i32",
            "int64" => "i64",
            "uint8" => "u8",
            "uint16" => "u16",
            "uint32" => "u32",
            "uint64" => "u64",
            "bool_" => "bool",
            "bits" => "bit",
            other => other,
        };
        Dtype::from_name(canonical)
    }

    /// The type of a C ABI number.
    pub fn from_u32(n: u32) -> Option<Dtype> {
        ALL_DTYPES.iter().copied().find(|d| *d as u32 == n)
    }

    /// Bytes per sample; `None` for packed bits.
    pub fn item_size(self) -> Option<u64> {
        Some(match self {
            Dtype::F64 | Dtype::I64 | Dtype::U64 => 8,
            Dtype::F32 | Dtype::I32 | Dtype::U32 => 4,
            Dtype::I16 | Dtype::U16 => 2,
            Dtype::I8 | Dtype::U8 | Dtype::Bool => 1,
            Dtype::Bit => return None,
        })
    }

    /// Bytes that `len` samples take (`None` on overflow).
    pub fn byte_len(self, len: u64) -> Option<u64> {
        match self.item_size() {
            Some(n) => len.checked_mul(n),
            None => Some(len.div_ceil(8)),
        }
    }
}

impl Serialize for Dtype {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Dtype {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Dtype::from_name(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown sample type {s:?}")))
    }
}

/// A Rust sample type a trace can be built from or viewed as.
pub trait Sample: Copy + 'static + sealed::Sealed {
    /// The trace type of this Rust type.
    const DTYPE: Dtype;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! sample {
    ($t:ty, $d:expr) => {
        impl sealed::Sealed for $t {}
        impl Sample for $t {
            const DTYPE: Dtype = $d;
        }
    };
}
sample!(f64, Dtype::F64);
sample!(f32, Dtype::F32);
sample!(i8, Dtype::I8);
sample!(i16, Dtype::I16);
sample!(i32, Dtype::I32);
sample!(i64, Dtype::I64);
sample!(u8, Dtype::U8);
sample!(u16, Dtype::U16);
sample!(u32, Dtype::U32);
sample!(u64, Dtype::U64);
sample!(bool, Dtype::Bool);

fn default_rate() -> f64 {
    1.0
}

/// What a trace's samples mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceInfo {
    // Members in sorted order: the record writes them in this order
    // (spec/session.md § 4: nested objects are written sorted).
    /// Free metadata (probe, coupling, channel, …).
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// Samples per second (Hz); finite and greater than 0.
    #[serde(default = "default_rate")]
    pub sample_rate: f64,
    /// Time of the first sample, in seconds.
    #[serde(default)]
    pub start_time: f64,
    /// Unit of the samples (`"V"`); empty when unknown.
    #[serde(default)]
    pub units: String,
}

impl Default for TraceInfo {
    fn default() -> Self {
        TraceInfo {
            sample_rate: 1.0,
            start_time: 0.0,
            units: String::new(),
            metadata: Map::new(),
        }
    }
}

impl TraceInfo {
    /// Info with this sample rate.
    pub fn with_rate(sample_rate: f64) -> TraceInfo {
        TraceInfo {
            sample_rate,
            ..TraceInfo::default()
        }
    }

    pub(crate) fn check(&self) -> Result<()> {
        if !(self.sample_rate.is_finite() && self.sample_rate > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "sample rate must be finite and greater than 0, not {}",
                self.sample_rate
            )));
        }
        if !self.start_time.is_finite() {
            return Err(Error::InvalidArgument(
                "start time must be finite".to_string(),
            ));
        }
        Ok(())
    }
}

/// Where a saved trace's samples are in a session file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    /// Identity of the file (device, inode, session id).
    pub file: FileId,
    /// The file's path and the trace's name in its record (for errors).
    pub path: PathBuf,
    pub name: String,
    /// Offset of the data frame.
    pub frame: u64,
    /// Offset and length of the stored (possibly compressed) bytes.
    pub data_at: u64,
    pub stored_len: u64,
    /// SHA-256 of the stored bytes, as the chained trace record names it.
    pub sha256: Hash,
    /// Compressed with zstd (otherwise raw samples).
    pub zstd: bool,
}

/// Identity of a session file, to tell whether a stored reference points
/// into the file a save writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileId {
    pub dev: u64,
    pub ino: u64,
    pub session_id: String,
}

/// The samples of a trace.
pub(crate) enum Samples {
    /// In memory, 8-byte aligned (`words` holds `len` bytes).
    Owned { words: Vec<u64>, len: usize },
    /// Raw samples inside a file mapping.
    Mapped {
        map: Arc<memmap2::Mmap>,
        at: usize,
        len: usize,
    },
    /// zstd-compressed bytes inside a mapping, decompressed on first use.
    Compressed {
        map: Arc<memmap2::Mmap>,
        at: usize,
        len: usize,
        raw_len: usize,
        path: PathBuf,
        plain: OnceLock<std::result::Result<Vec<u64>, String>>,
    },
}

fn words_to_bytes(words: &[u64], len: usize) -> &[u8] {
    // SAFETY: u64 has no padding; any byte of it is a valid u8, and `len`
    // never exceeds the words' byte size (checked where `words` is built).
    let all = unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), words.len() * 8) };
    all.get(..len).unwrap_or(all)
}

/// A copy of `bytes` in 8-byte aligned memory (the first `bytes.len()`
/// bytes of the words); memory the allocator refuses is an
/// `OutOfMemory` error, not an abort.
pub(crate) fn aligned_copy(bytes: &[u8]) -> std::io::Result<Vec<u64>> {
    let n = bytes.len().div_ceil(8);
    let mut words = Vec::new();
    words.try_reserve_exact(n).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::OutOfMemory,
            format!(
                "out of memory for a copy of {} bytes of samples",
                bytes.len()
            ),
        )
    })?;
    words.resize(n, 0);
    fill_words(&mut words, bytes);
    Ok(words)
}

/// Copies `bytes` into the start of `words` (which holds at least as many).
fn fill_words(words: &mut [u64], bytes: &[u8]) {
    // SAFETY: as in words_to_bytes; the destination is the words' own bytes.
    let dst =
        unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 8) };
    if let Some(d) = dst.get_mut(..bytes.len()) {
        d.copy_from_slice(bytes);
    }
}

/// Checks that `src` is exactly one Zstandard frame (RFC 8878 § 3.1.1),
/// nothing before or after it (no skippable frame, no second frame):
/// spec/session.md § 4.2. Walks the block headers only.
fn one_zstd_frame(src: &[u8]) -> std::result::Result<(), String> {
    const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
    if src.get(..4) != Some(&MAGIC[..]) {
        return Err("the stored bytes are not a Zstandard frame (RFC 8878 § 3.1.1)".into());
    }
    match zstd_codec::frame_size(src)? {
        n if n == src.len() => Ok(()),
        n => Err(format!(
            "{} bytes after the Zstandard frame of {n} bytes (one frame and nothing else)",
            src.len().saturating_sub(n)
        )),
    }
}

/// Why compressed samples did not decode.
enum Decode {
    /// The data is not what its record says.
    Damage(String),
    /// Memory the allocator refused: nothing is known about the data.
    NoMemory(std::io::Error),
}

fn classify(e: std::io::Error) -> Decode {
    if zstd_codec::is_out_of_memory(&e) {
        Decode::NoMemory(std::io::Error::new(
            std::io::ErrorKind::OutOfMemory,
            format!("out of memory (zstd: {e})"),
        ))
    } else {
        Decode::Damage(format!("zstd: {e}"))
    }
}

fn no_memory() -> Decode {
    Decode::NoMemory(std::io::ErrorKind::OutOfMemory.into())
}

/// Decodes the compressed samples `src` (`None`: outside the file), which
/// must give exactly `raw_len` bytes, into 8-byte aligned words. Memory
/// follows what the data really decompresses to, not what the record
/// claims (a hostile record may claim a terabyte over a frame that does
/// not record its size): at most 64 MiB reserved up front, growing while
/// decoding, which stops one byte past the claimed size. Every allocation
/// may be refused (an error, not an abort).
fn decode_all(src: Option<&[u8]>, raw_len: usize) -> std::result::Result<Vec<u64>, Decode> {
    use std::io::Read;
    let src = src.ok_or_else(|| Decode::Damage("compressed samples outside the file".into()))?;
    one_zstd_frame(src).map_err(Decode::Damage)?;
    let mut dec = zstd_codec::decoder(src)
        .map_err(classify)?
        .take((raw_len as u64).saturating_add(1));
    let mut out: Vec<u8> = Vec::new();
    let mut n = 0;
    loop {
        if n == out.len() {
            let more = if out.is_empty() {
                raw_len.saturating_add(1).min(64 << 20)
            } else {
                out.len()
            };
            out.try_reserve_exact(more).map_err(|_| no_memory())?;
            out.resize(out.len() + more, 0);
        }
        let k = dec
            .read(out.get_mut(n..).unwrap_or_default())
            .map_err(classify)?;
        if k == 0 {
            break;
        }
        n += k;
    }
    if n != raw_len {
        return Err(Decode::Damage(format!(
            "decompressed to {n} bytes, the record says {raw_len}"
        )));
    }
    let mut words: Vec<u64> = Vec::new();
    words
        .try_reserve_exact(raw_len.div_ceil(8))
        .map_err(|_| no_memory())?;
    words.resize(raw_len.div_ceil(8), 0);
    fill_words(&mut words, out.get(..n).unwrap_or_default());
    Ok(words)
}

/// Zstandard through the `zstd` crate; in a build without the `zstd`
/// feature, errors that say so (raw traces still read and write).
pub(crate) mod zstd_codec {
    #[cfg(not(feature = "zstd"))]
    const MISSING: &str = "this build of evident has no zstd support (cargo feature `zstd`)";

    /// The size of the Zstandard frame at the start of `src`.
    pub(crate) fn frame_size(src: &[u8]) -> Result<usize, String> {
        #[cfg(feature = "zstd")]
        return zstd::zstd_safe::find_frame_compressed_size(src)
            .map_err(|code| format!("zstd: {}", zstd::zstd_safe::get_error_name(code)));
        #[cfg(not(feature = "zstd"))]
        {
            let _ = src;
            Err(MISSING.into())
        }
    }

    /// A streaming decoder of `src`.
    pub(crate) fn decoder(src: &[u8]) -> std::io::Result<Box<dyn std::io::Read + '_>> {
        #[cfg(feature = "zstd")]
        return zstd::stream::read::Decoder::with_buffer(src)
            .map(|d| Box::new(d) as Box<dyn std::io::Read>);
        #[cfg(not(feature = "zstd"))]
        {
            let _ = src;
            Err(std::io::Error::other(MISSING))
        }
    }

    /// Whether a decoder error is memory the allocator refused (for its
    /// context or window), which says nothing about the data.
    pub(crate) fn is_out_of_memory(e: &std::io::Error) -> bool {
        if e.kind() == std::io::ErrorKind::OutOfMemory {
            return true;
        }
        #[cfg(feature = "zstd")]
        {
            use zstd::zstd_safe::zstd_sys::ZSTD_ErrorCode;
            if let Some(z) = e.get_ref().and_then(|i| i.downcast_ref::<zstd::Error>()) {
                return z.is(ZSTD_ErrorCode::ZSTD_error_memory_allocation);
            }
            // The decompression context (the crate says so in words only).
            e.to_string().contains("could not allocate")
        }
        #[cfg(not(feature = "zstd"))]
        false
    }

    /// `bytes` compressed at `level`.
    pub(crate) fn compress(bytes: &[u8], level: i32) -> Result<Vec<u8>, String> {
        #[cfg(feature = "zstd")]
        return zstd::bulk::compress(bytes, level).map_err(|e| e.to_string());
        #[cfg(not(feature = "zstd"))]
        {
            let _ = (bytes, level);
            Err(MISSING.into())
        }
    }
}

struct TraceInner {
    dtype: Dtype,
    len: u64,
    samples: Samples,
    stored: Option<Stored>,
    /// A private copy of mapped samples, checked once, for types that have
    /// invalid bit patterns (`bool`): the mapping is shared with every
    /// program that can write the file, so a slice of `bool` over it could
    /// change into invalid values after the check.
    private: OnceLock<std::result::Result<Vec<u64>, String>>,
    /// The outcome of the first check of the stored samples against the
    /// SHA-256 their chained record names (`Some(msg)`: they do not match),
    /// made when the samples are first read ([`Trace::bytes`]).
    checked: OnceLock<Option<String>>,
}

/// A trace: typed samples plus what they mean. Cheap to clone; the samples
/// are shared (and, for a loaded session, read straight from the file
/// mapping, which stays alive as long as any clone does).
#[derive(Clone)]
pub struct Trace {
    info: TraceInfo,
    inner: Arc<TraceInner>,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("dtype", &self.inner.dtype)
            .field("len", &self.inner.len)
            .field("info", &self.info)
            .field("mapped", &self.is_mapped())
            .finish()
    }
}

impl Trace {
    /// A trace of `len` samples of `dtype` copied from `bytes`
    /// (little-endian; packed bits for [`Dtype::Bit`]).
    pub fn from_bytes(dtype: Dtype, len: u64, bytes: &[u8], info: TraceInfo) -> Result<Trace> {
        info.check()?;
        let want = dtype.byte_len(len).ok_or_else(|| {
            Error::InvalidArgument(format!("{len} samples of {} overflow", dtype.name()))
        })?;
        if want != bytes.len() as u64 {
            return Err(Error::InvalidArgument(format!(
                "{len} samples of {} take {want} bytes, not {}",
                dtype.name(),
                bytes.len()
            )));
        }
        if dtype == Dtype::Bool {
            if let Some(i) = bytes.iter().position(|b| *b > 1) {
                return Err(Error::InvalidArgument(format!(
                    "bool sample {i} is {}, not 0 or 1",
                    bytes.get(i).copied().unwrap_or(0)
                )));
            }
        }
        Ok(Trace {
            info,
            inner: Arc::new(TraceInner {
                dtype,
                len,
                samples: Samples::Owned {
                    words: aligned_copy(bytes)
                        .map_err(|e| Error::io(Path::new("trace samples"), "copy", e))?,
                    len: bytes.len(),
                },
                stored: None,
                private: OnceLock::new(),
                checked: OnceLock::new(),
            }),
        })
    }

    /// A trace copied from a slice of samples.
    pub fn from_slice<T: Sample>(samples: &[T], info: TraceInfo) -> Result<Trace> {
        // SAFETY: every Sample type is a plain number or bool without
        // padding; viewing it as bytes is sound.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                samples.as_ptr().cast::<u8>(),
                std::mem::size_of_val(samples),
            )
        };
        Trace::from_bytes(T::DTYPE, samples.len() as u64, bytes, info)
    }

    pub(crate) fn from_samples(
        dtype: Dtype,
        len: u64,
        samples: Samples,
        info: TraceInfo,
        stored: Option<Stored>,
    ) -> Trace {
        Trace {
            info,
            inner: Arc::new(TraceInner {
                dtype,
                len,
                samples,
                stored,
                private: OnceLock::new(),
                checked: OnceLock::new(),
            }),
        }
    }

    /// The sample type.
    pub fn dtype(&self) -> Dtype {
        self.inner.dtype
    }

    /// Number of samples.
    pub fn len(&self) -> u64 {
        self.inner.len
    }

    /// True for a trace without samples.
    pub fn is_empty(&self) -> bool {
        self.inner.len == 0
    }

    /// What the samples mean.
    pub fn info(&self) -> &TraceInfo {
        &self.info
    }

    /// Changes what the samples mean (the samples stay shared).
    pub fn info_mut(&mut self) -> &mut TraceInfo {
        &mut self.info
    }

    /// True when the samples are read straight from the session file's
    /// memory mapping (a loaded, uncompressed trace): no copy was made.
    pub fn is_mapped(&self) -> bool {
        matches!(self.inner.samples, Samples::Mapped { .. })
    }

    /// True when the trace is stored zstd-compressed in its file.
    pub fn is_compressed(&self) -> bool {
        matches!(self.inner.samples, Samples::Compressed { .. })
    }

    /// The samples as little-endian bytes (packed for bits). Zero-copy for
    /// owned and mapped traces; a compressed trace is decompressed on the
    /// first call (and kept).
    ///
    /// Samples read from a file are first checked, once, against the
    /// SHA-256 their chained record names: damaged samples are an
    /// [`Error::Corrupt`] naming the file and the trace, never data (the
    /// check reads every stored byte once; opening the session does not).
    pub fn bytes(&self) -> Result<&[u8]> {
        self.checked()?;
        match &self.inner.samples {
            Samples::Owned { words, len } => Ok(words_to_bytes(words, *len)),
            Samples::Mapped { map, at, len } => map.get(*at..at + len).ok_or_else(|| {
                Error::InvalidArgument("trace samples outside the file mapping".into())
            }),
            Samples::Compressed {
                map,
                at,
                len,
                raw_len,
                path,
                plain,
            } => {
                if plain.get().is_none() {
                    let src = map.get(*at..at + len);
                    match decode_all(src, *raw_len) {
                        Ok(words) => {
                            let _ = plain.set(Ok(words));
                        }
                        // Not kept: memory may be there the next time.
                        Err(Decode::NoMemory(e)) => {
                            return Err(Error::io(path, "decompress trace samples", e))
                        }
                        Err(Decode::Damage(msg)) => {
                            let _ = plain.set(Err(msg));
                        }
                    }
                }
                let r = plain
                    .get()
                    .ok_or_else(|| Error::InvalidArgument("trace samples not decoded".into()))?;
                match r {
                    Ok(words) => Ok(words_to_bytes(words, *raw_len)),
                    Err(msg) => Err(Error::Malformed {
                        path: path.clone(),
                        at: crate::error::Position {
                            offset: *at as u64,
                            line: 0,
                            seq: None,
                        },
                        msg: format!("compressed trace samples: {msg}"),
                    }),
                }
            }
        }
    }

    /// The same trace with its samples copied into memory when they are
    /// read from a mapping of a file (`None` when they are not): what a save
    /// that must shorten that file needs on Windows, which refuses to
    /// shorten a file while a mapping of it exists (ERROR_USER_MAPPED_FILE).
    /// Where the samples are stored stays known, so a save into that file
    /// does not write them again. Memory the OS refuses is an error.
    pub(crate) fn detached(&self) -> Result<Option<Trace>> {
        let path = match &self.inner.samples {
            Samples::Owned { .. } => return Ok(None),
            Samples::Mapped { .. } | Samples::Compressed { .. } => self
                .inner
                .stored
                .as_ref()
                .map(|st| st.path.clone())
                .unwrap_or_default(),
        };
        let bytes = self.bytes()?;
        let mut words: Vec<u64> = Vec::new();
        words
            .try_reserve_exact(bytes.len().div_ceil(8))
            .map_err(|_| {
                Error::io(
                    &path,
                    "copy mapped samples into memory",
                    std::io::ErrorKind::OutOfMemory.into(),
                )
            })?;
        words.resize(bytes.len().div_ceil(8), 0);
        fill_words(&mut words, bytes);
        Ok(Some(Trace {
            info: self.info.clone(),
            inner: Arc::new(TraceInner {
                dtype: self.inner.dtype,
                len: self.inner.len,
                samples: Samples::Owned {
                    words,
                    len: bytes.len(),
                },
                stored: self.inner.stored.clone(),
                private: OnceLock::new(),
                checked: OnceLock::new(),
            }),
        }))
    }

    /// Checks that the samples can be read, without keeping them: a
    /// compressed trace is decoded as a stream and must give exactly the
    /// length its record names; bool samples must be 0 or 1. (The SHA-256
    /// of the stored bytes is [`Trace::verify`]'s job.)
    /// `Err`: the samples could not be checked (memory the allocator
    /// refused); `Ok(Err(msg))`: they are damaged.
    pub(crate) fn check_samples(&self) -> Result<std::result::Result<(), String>> {
        match &self.inner.samples {
            Samples::Compressed {
                map,
                at,
                len,
                raw_len,
                path,
                ..
            } => {
                use std::io::Read;
                let no_memory = |e| Error::io(path, "decompress trace samples", e);
                let Some(src) = map.get(*at..at + len) else {
                    return Ok(Err("compressed samples outside the file".to_string()));
                };
                if let Err(msg) = one_zstd_frame(src) {
                    return Ok(Err(msg));
                }
                let mut dec = match zstd_codec::decoder(src) {
                    Ok(d) => d.take((*raw_len as u64).saturating_add(1)),
                    Err(e) => {
                        return match classify(e) {
                            Decode::NoMemory(e) => Err(no_memory(e)),
                            Decode::Damage(msg) => Ok(Err(msg)),
                        }
                    }
                };
                let mut buf = Vec::new();
                buf.try_reserve_exact(1 << 20)
                    .map_err(|_| no_memory(std::io::ErrorKind::OutOfMemory.into()))?;
                buf.resize(1 << 20, 0);
                let (mut n, mut bad_bool) = (0usize, false);
                loop {
                    let k = match dec.read(&mut buf) {
                        Ok(k) => k,
                        Err(e) => {
                            return match classify(e) {
                                Decode::NoMemory(e) => Err(no_memory(e)),
                                Decode::Damage(msg) => Ok(Err(msg)),
                            }
                        }
                    };
                    if k == 0 {
                        break;
                    }
                    let chunk = buf.get(..k).unwrap_or_default();
                    bad_bool |= self.inner.dtype == Dtype::Bool && chunk.iter().any(|b| *b > 1);
                    n += k;
                }
                if n != *raw_len {
                    return Ok(Err(format!(
                        "compressed samples decode to {n} bytes, the record says {raw_len}"
                    )));
                }
                if bad_bool {
                    return Ok(Err("a bool sample is neither 0 nor 1".into()));
                }
                Ok(Ok(()))
            }
            _ if self.inner.dtype == Dtype::Bool => Ok(match self.bytes() {
                Ok(b) if b.iter().any(|x| *x > 1) => Err("a bool sample is neither 0 nor 1".into()),
                Ok(_) => Ok(()),
                Err(e) => Err(e.to_string()),
            }),
            _ => Ok(Ok(())),
        }
    }

    /// The samples as a typed slice; the type must be the trace's.
    pub fn as_slice<T: Sample>(&self) -> Result<&[T]> {
        if T::DTYPE != self.inner.dtype {
            return Err(Error::InvalidArgument(format!(
                "trace holds {} samples, not {}",
                self.inner.dtype.name(),
                T::DTYPE.name()
            )));
        }
        let bytes = if T::DTYPE == Dtype::Bool {
            self.bool_bytes()?
        } else {
            self.bytes()?
        };
        let size = std::mem::size_of::<T>();
        if (bytes.as_ptr() as usize) % std::mem::align_of::<T>() != 0 || bytes.len() % size != 0 {
            return Err(Error::InvalidArgument(
                "trace samples are not aligned for this type".into(),
            ));
        }
        // SAFETY: alignment and length checked above; every bit pattern is
        // a valid value of the numeric types (which may be viewed in the
        // shared mapping: whatever another program writes there stays a
        // valid number), and bool bytes come from memory no other program
        // can write (`bool_bytes`), checked to be 0 or 1.
        Ok(unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), bytes.len() / size) })
    }

    /// The samples of a `bool` trace, each checked to be 0 or 1, in memory
    /// private to this process: owned and decompressed samples as they are,
    /// mapped samples copied once (a shared mapping can be changed by any
    /// program that can write the file, after any check).
    pub(crate) fn bool_bytes(&self) -> Result<&[u8]> {
        let bad = |i: usize, b: u8| format!("bool sample {i} is {b}, not 0 or 1");
        let check = |bytes: &[u8]| -> std::result::Result<(), String> {
            match bytes.iter().position(|b| *b > 1) {
                Some(i) => Err(bad(i, bytes.get(i).copied().unwrap_or(0))),
                None => Ok(()),
            }
        };
        let bytes = match &self.inner.samples {
            Samples::Mapped { .. } => {
                // Samples that fail their hash are that error (Corrupt).
                self.bytes()?;
                let r = self.inner.private.get_or_init(|| {
                    let src = self.bytes().map_err(|e| e.to_string())?;
                    let words = aligned_copy(src).map_err(|e| e.to_string())?;
                    check(words_to_bytes(&words, src.len()))?;
                    Ok(words)
                });
                match r {
                    Ok(words) => {
                        let n = self.bytes().map_or(0, <[u8]>::len);
                        return Ok(words_to_bytes(words, n));
                    }
                    Err(msg) => return Err(Error::InvalidArgument(msg.clone())),
                }
            }
            _ => self.bytes()?,
        };
        check(bytes).map_err(Error::InvalidArgument)?;
        Ok(bytes)
    }

    /// Checks the stored bytes against the SHA-256 its chained record names
    /// (reads every byte of the trace, each time). Traces not loaded from a
    /// file have nothing to check.
    pub fn verify(&self) -> Result<()> {
        let found = self.mismatch()?;
        // The first check also stands for `bytes` (a save that verified
        // the samples then reads them hashes them once).
        let _ = self.inner.checked.set(found.clone());
        match found {
            Some(msg) => Err(self.corrupt(msg)),
            None => Ok(()),
        }
    }

    /// [`Trace::verify`] once for the life of the trace (every clone), for
    /// [`Trace::bytes`].
    fn checked(&self) -> Result<()> {
        let found = match self.inner.checked.get() {
            Some(found) => found,
            None => {
                let found = self.mismatch()?;
                self.inner.checked.get_or_init(|| found)
            }
        };
        match found {
            Some(msg) => Err(self.corrupt(msg.clone())),
            None => Ok(()),
        }
    }

    /// `Some(message)` when the stored bytes do not hash to the SHA-256
    /// their chained record names.
    fn mismatch(&self) -> Result<Option<String>> {
        let Some(st) = &self.inner.stored else {
            return Ok(None);
        };
        let (map, at) = match &self.inner.samples {
            Samples::Mapped { map, at, .. } => (map, *at),
            Samples::Compressed { map, at, .. } => (map, *at),
            Samples::Owned { .. } => return Ok(None),
        };
        let bytes = map
            .get(at..at + st.stored_len as usize)
            .ok_or_else(|| Error::InvalidArgument("trace samples outside the file".into()))?;
        let got = super::base::sha256(bytes);
        Ok((got != st.sha256).then(|| {
            format!(
                "trace {:?}: its samples hash to {got}, the chained trace record names {}{}",
                st.name,
                st.sha256,
                super::base::CORRUPT_HINT
            )
        }))
    }

    fn corrupt(&self, msg: String) -> Error {
        let (path, frame) = self
            .inner
            .stored
            .as_ref()
            .map(|st| (st.path.clone(), st.frame))
            .unwrap_or_default();
        Error::Corrupt {
            path,
            at: crate::error::Position {
                offset: frame,
                line: 0,
                seq: None,
            },
            msg,
        }
    }

    pub(crate) fn stored(&self) -> Option<&Stored> {
        self.inner.stored.as_ref()
    }

    /// Bytes as stored in a file (compressed bytes for compressed traces),
    /// for copying into another file without decompressing.
    pub(crate) fn stored_bytes(&self) -> Option<&[u8]> {
        match &self.inner.samples {
            Samples::Compressed { map, at, len, .. } => map.get(*at..at + len),
            _ => None,
        }
    }
}

/// The kinds of annotation (TraceKit's `AnnotationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnotationKind {
    /// One time point.
    Point,
    /// A time range.
    Range,
    /// A vertical line at a time.
    Vertical,
    /// A horizontal line at an amplitude.
    Horizontal,
    /// A time range and an amplitude range.
    Region,
    /// Free-floating text.
    Text,
}

fn default_style() -> String {
    "solid".to_string()
}
fn default_true() -> bool {
    true
}

/// One annotation. JSON input may leave out `type` (inferred as TraceKit
/// does), `style` (`"solid"`), `visible` (true) and `created_at` (now).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    pub text: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    kind_in: Option<AnnotationKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<(f64, f64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amplitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amplitude_range: Option<(f64, f64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default = "default_style")]
    pub style: String,
    #[serde(default = "default_true")]
    pub visible: bool,
    #[serde(default = "now_micros", with = "ts_micros")]
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

impl Annotation {
    /// A text annotation created now; set the fields, or use the builders.
    pub fn new(text: impl Into<String>) -> Annotation {
        Annotation {
            text: text.into(),
            kind_in: None,
            time: None,
            time_range: None,
            amplitude: None,
            amplitude_range: None,
            color: None,
            style: default_style(),
            visible: true,
            created_at: now_micros(),
            metadata: Map::new(),
        }
    }

    /// At one time point.
    pub fn at(mut self, t: f64) -> Annotation {
        self.time = Some(t);
        self
    }

    /// Over a time range.
    pub fn over(mut self, t0: f64, t1: f64) -> Annotation {
        self.time_range = Some((t0, t1));
        self
    }

    /// Sets the kind explicitly (otherwise inferred from the fields).
    pub fn kind(mut self, k: AnnotationKind) -> Annotation {
        self.kind_in = Some(k);
        self
    }

    /// The kind: as set, or inferred like TraceKit (time range and
    /// amplitude range: region; time range: range; time: point;
    /// amplitude: horizontal; nothing: text).
    pub fn annotation_kind(&self) -> AnnotationKind {
        if let Some(k) = self.kind_in {
            return k;
        }
        match (
            self.time_range.is_some(),
            self.amplitude_range.is_some(),
            self.time.is_some(),
            self.amplitude.is_some(),
        ) {
            (true, true, _, _) => AnnotationKind::Region,
            (true, false, _, _) => AnnotationKind::Range,
            (false, _, true, _) => AnnotationKind::Point,
            (false, _, false, true) => AnnotationKind::Horizontal,
            _ => AnnotationKind::Text,
        }
    }

    /// Fixes the inferred kind (so it is stored explicitly) and checks the
    /// numbers: finite, and a time range that does not end before it
    /// starts.
    pub fn normalise(mut self) -> Result<Annotation> {
        self.kind_in = Some(self.annotation_kind());
        let finite = |x: Option<f64>| x.is_none_or(f64::is_finite);
        let finite2 = |x: Option<(f64, f64)>| x.is_none_or(|(a, b)| a.is_finite() && b.is_finite());
        if !(finite(self.time)
            && finite(self.amplitude)
            && finite2(self.time_range)
            && finite2(self.amplitude_range))
        {
            return Err(Error::InvalidArgument(format!(
                "annotation {:?}: times and amplitudes must be finite",
                self.text
            )));
        }
        if let Some((a, b)) = self.time_range {
            if a > b {
                return Err(Error::InvalidArgument(format!(
                    "annotation {:?}: time range starts at {a} after it ends at {b}",
                    self.text
                )));
            }
        }
        Ok(self)
    }

    /// True when the annotation touches `[t0, t1]`.
    pub fn in_time_range(&self, t0: f64, t1: f64) -> bool {
        if let Some((a, b)) = self.time_range {
            return a <= t1 && b >= t0;
        }
        if let Some(t) = self.time {
            return t >= t0 && t <= t1;
        }
        false
    }
}

/// The current time in whole microseconds: what the file keeps, so that a
/// timestamp set now is the same after a save and a load.
pub(crate) fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// Timestamps as RFC 3339 UTC with microseconds (the log's `ts` format).
pub(crate) mod ts_micros {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::format::format_ts(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| serde::de::Error::custom(format!("time {s:?}: {e}")))
    }
}

/// A named collection of annotations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub name: String,
    #[serde(default = "default_true")]
    pub visible: bool,
    #[serde(default)]
    pub locked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub annotations: Vec<Annotation>,
}

impl Layer {
    fn new(name: &str) -> Layer {
        Layer {
            name: name.to_string(),
            visible: true,
            locked: false,
            color: None,
            description: String::new(),
            annotations: Vec::new(),
        }
    }
}

/// Properties of a layer to set; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerProps {
    pub name: String,
    #[serde(default)]
    pub visible: Option<bool>,
    #[serde(default)]
    pub locked: Option<bool>,
    #[serde(default)]
    pub color: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A recorded measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub name: String,
    #[serde(default)]
    pub value: Value,
    #[serde(default)]
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_name: Option<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(default = "now_micros", with = "ts_micros")]
    pub recorded_at: DateTime<Utc>,
}

impl Measurement {
    /// A measurement recorded now.
    pub fn new(name: impl Into<String>, value: impl Into<Value>, unit: impl Into<String>) -> Self {
        Measurement {
            name: name.into(),
            value: value.into(),
            unit: unit.into(),
            trace_name: None,
            metadata: Map::new(),
            recorded_at: now_micros(),
        }
    }
}

impl Measurement {
    /// TraceKit's shape of a measurement, `{value, unit, trace_name,
    /// timestamp, **metadata}`: `trace_name` null when unset, `timestamp`
    /// `recorded_at` as Python's `datetime.isoformat()` writes a UTC time
    /// (`2026-01-08T10:30:00.123456+00:00`, without the fraction when it is
    /// zero), then the metadata's members: a `timestamp` among them takes
    /// the place of the recorded one, as Python's `**metadata` does (a
    /// `value`, `unit` or `trace_name` there, which Python's keyword
    /// arguments cannot give, is not shown: the measurement's own are).
    /// [`Measurement::tracekit_pairs`] gives the members in that order.
    pub fn as_tracekit(&self) -> Map<String, Value> {
        self.tracekit_pairs().into_iter().collect()
    }

    /// [`Measurement::as_tracekit`]'s members in TraceKit's order.
    pub fn tracekit_pairs(&self) -> Vec<(String, Value)> {
        let trace_name = self.trace_name.clone().map_or(Value::Null, Value::String);
        let mut pairs: Vec<(String, Value)> = vec![
            ("value".into(), self.value.clone()),
            ("unit".into(), Value::String(self.unit.clone())),
            ("trace_name".into(), trace_name),
            (
                "timestamp".into(),
                Value::String(py_isoformat(&self.recorded_at)),
            ),
        ];
        for (k, v) in &self.metadata {
            match k.as_str() {
                // the measurement's own fields (Python's keyword arguments:
                // never in its **metadata)
                "value" | "unit" | "trace_name" => {}
                "timestamp" => {
                    if let Some(slot) = pairs.get_mut(3) {
                        slot.1 = v.clone();
                    }
                }
                _ => pairs.push((k.clone(), v.clone())),
            }
        }
        pairs
    }
}

/// A UTC time as Python's `datetime.isoformat()` writes an aware UTC
/// datetime.
pub(crate) fn py_isoformat(t: &DateTime<Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

/// One operation of the session's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub operation: String,
    /// The parameters in the order they were given (serialised in that
    /// order; the session file keeps it, spec/session.md § 4.3).
    #[serde(default)]
    pub parameters: Params,
    #[serde(default)]
    pub result: Value,
    #[serde(default = "now_micros", with = "ts_micros")]
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub duration_ms: f64,
    #[serde(default = "default_true")]
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

impl HistoryEntry {
    /// A successful operation recorded now.
    pub fn new(operation: impl Into<String>) -> HistoryEntry {
        HistoryEntry {
            operation: operation.into(),
            parameters: Params::new(),
            result: Value::Null,
            timestamp: now_micros(),
            duration_ms: 0.0,
            success: true,
            error_message: None,
            metadata: Map::new(),
        }
    }
}

/// See [`Session::json_in_order`].
struct JsonInOrder<'a> {
    doc: &'a Value,
    history: &'a VecDeque<HistoryEntry>,
}

impl Serialize for JsonInOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Value::Object(m) = self.doc else {
            return self.doc.serialize(s);
        };
        let mut out = s.serialize_map(Some(m.len()))?;
        for (k, v) in m {
            if k == "history" {
                out.serialize_entry(k, self.history)?;
            } else {
                out.serialize_entry(k, v)?;
            }
        }
        out.end()
    }
}

/// Where a session was loaded from or last saved to.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    pub path: PathBuf,
    pub file: FileId,
    pub version: u64,
    pub commit: Hash,
    /// Record references of the sections in that commit, with the hash of
    /// their content, so an unchanged section is referenced, not rewritten.
    pub sections: Vec<super::base::SectionRef>,
    /// Trace records of that commit, by trace name.
    pub traces: Vec<super::base::TraceRef>,
    /// Set when loading fell back to an older version than the newest
    /// commit in the file (see [`Session::load_notice`]).
    pub notice: Option<String>,
}

/// An analysis session: traces, annotation layers, measurements, operation
/// history and metadata. Saved to and loaded from a session file
/// ([`Session::save`], [`Session::load`]).
#[derive(Debug, Clone)]
pub struct Session {
    pub(crate) name: String,
    pub(crate) metadata: Map<String, Value>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) modified_at: DateTime<Utc>,
    pub(crate) traces: Vec<(String, Trace)>,
    pub(crate) layers: Vec<Layer>,
    pub(crate) measurements: Vec<Measurement>,
    pub(crate) history: VecDeque<HistoryEntry>,
    pub(crate) history_limit: usize,
    /// Whether loading a trace records itself in the history (TraceKit's
    /// `OperationHistory.auto_record`); saved with the session.
    pub(crate) history_auto_record: bool,
    pub(crate) bound: Option<Bound>,
}

fn finite_json(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_f64().is_none_or(f64::is_finite),
        Value::Array(a) => a.iter().all(finite_json),
        Value::Object(o) => o.values().all(finite_json),
        _ => true,
    }
}

impl Session {
    /// An empty session.
    pub fn new(name: impl Into<String>) -> Session {
        let now = now_micros();
        Session {
            name: name.into(),
            metadata: Map::new(),
            created_at: now,
            modified_at: now,
            traces: Vec::new(),
            layers: Vec::new(),
            measurements: Vec::new(),
            history: VecDeque::new(),
            history_limit: 0,
            history_auto_record: true,
            bound: None,
        }
    }

    fn touch(&mut self) {
        self.modified_at = now_micros();
    }

    /// The session's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renames the session.
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
        self.touch();
    }

    /// Session metadata.
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.metadata
    }

    /// Session metadata, to change.
    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        self.touch();
        &mut self.metadata
    }

    /// When the session was created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// When the session was last changed.
    pub fn modified_at(&self) -> DateTime<Utc> {
        self.modified_at
    }

    /// The file the session was loaded from or last saved to.
    pub fn path(&self) -> Option<&Path> {
        self.bound.as_ref().map(|b| b.path.as_path())
    }

    /// The version loaded or last saved (1 for a file's first save).
    pub fn version(&self) -> Option<u64> {
        self.bound.as_ref().map(|b| b.version)
    }

    /// The hash of the commit loaded or last saved.
    /// Set when [`Session::load`] (newest version) did not load the newest
    /// commit in the file because that version is incomplete: it was saved
    /// without sync and a power cut lost pages it names. Says which
    /// versions were skipped; the next save moves them aside into a
    /// sidecar file (nothing is deleted).
    pub fn load_notice(&self) -> Option<&str> {
        self.bound.as_ref().and_then(|b| b.notice.as_deref())
    }

    pub fn commit(&self) -> Option<Hash> {
        self.bound.as_ref().map(|b| b.commit)
    }

    /// Adds a trace, replacing one of the same name (which keeps its place
    /// in the list).
    pub fn add_trace(&mut self, name: &str, trace: Trace) -> Result<()> {
        if name.is_empty() {
            return Err(Error::InvalidArgument("a trace needs a name".into()));
        }
        trace.info.check()?;
        self.touch();
        if let Some(slot) = self.traces.iter_mut().find(|(n, _)| n == name) {
            slot.1 = trace;
        } else {
            self.traces.push((name.to_string(), trace));
        }
        Ok(())
    }

    /// Removes a trace.
    pub fn remove_trace(&mut self, name: &str) -> Result<Trace> {
        let i = self
            .traces
            .iter()
            .position(|(n, _)| n == name)
            .ok_or_else(|| Error::NotFound {
                what: format!("trace {name:?}"),
            })?;
        self.touch();
        Ok(self.traces.remove(i).1)
    }

    /// Trace names, in the order they were added.
    pub fn trace_names(&self) -> Vec<&str> {
        self.traces.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Copies into memory the samples of every trace that are read from a
    /// mapping of the file `file` ([`Trace::detached`]); returns how many.
    /// Other clones of those traces keep their mappings.
    pub(crate) fn detach_from(&mut self, file: &FileId) -> Result<usize> {
        let mut n = 0;
        for (_, t) in self.traces.iter_mut() {
            if t.stored().is_some_and(|st| &st.file == file) {
                if let Some(d) = t.detached()? {
                    *t = d;
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// A trace by name.
    pub fn trace(&self, name: &str) -> Option<&Trace> {
        self.traces.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// All traces with their names, in order.
    pub fn traces(&self) -> impl Iterator<Item = (&str, &Trace)> {
        self.traces.iter().map(|(n, t)| (n.as_str(), t))
    }

    /// Annotation layers, in the order they were created.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// A layer by name.
    pub fn layer(&self, name: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.name == name)
    }

    fn layer_mut(&mut self, name: &str) -> &mut Layer {
        let i = match self.layers.iter().position(|l| l.name == name) {
            Some(i) => i,
            None => {
                self.layers.push(Layer::new(name));
                self.layers.len() - 1
            }
        };
        // The index is in range: found or just pushed.
        #[allow(clippy::indexing_slicing)]
        &mut self.layers[i]
    }

    /// Creates a layer or changes its properties (allowed on a locked
    /// layer: that is how it is unlocked).
    pub fn set_layer(&mut self, props: &LayerProps) -> Result<()> {
        if props.name.is_empty() {
            return Err(Error::InvalidArgument("a layer needs a name".into()));
        }
        self.touch();
        let l = self.layer_mut(&props.name);
        if let Some(v) = props.visible {
            l.visible = v;
        }
        if let Some(v) = props.locked {
            l.locked = v;
        }
        if let Some(c) = &props.color {
            l.color = if c.is_empty() { None } else { Some(c.clone()) };
        }
        if let Some(d) = &props.description {
            l.description = d.clone();
        }
        Ok(())
    }

    fn unlocked(&mut self, layer: &str) -> Result<&mut Layer> {
        if self.layer(layer).is_some_and(|l| l.locked) {
            return Err(Error::LayerLocked {
                layer: layer.to_string(),
            });
        }
        self.touch();
        Ok(self.layer_mut(layer))
    }

    /// Adds an annotation to a layer (created if missing). Fails with
    /// [`Error::LayerLocked`] on a locked layer.
    pub fn annotate(&mut self, layer: &str, a: Annotation) -> Result<()> {
        if layer.is_empty() {
            return Err(Error::InvalidArgument("a layer needs a name".into()));
        }
        let a = a.normalise()?;
        if !finite_json(&Value::Object(a.metadata.clone())) {
            return Err(Error::InvalidArgument(
                "annotation metadata holds a non-finite number".into(),
            ));
        }
        self.unlocked(layer)?.annotations.push(a);
        Ok(())
    }

    /// Removes the annotation at `index` (0-based, in insertion order) of a
    /// layer and returns it ([`Error::NotFound`] when the layer or the
    /// index does not exist, [`Error::LayerLocked`] on a locked layer).
    pub fn remove_annotation(&mut self, layer: &str, index: usize) -> Result<Annotation> {
        let n = match self.layer(layer) {
            Some(l) => l.annotations.len(),
            None => {
                return Err(Error::NotFound {
                    what: format!("annotation layer {layer:?}"),
                })
            }
        };
        if index >= n {
            return Err(Error::NotFound {
                what: format!("annotation {index} of layer {layer:?} (it has {n})"),
            });
        }
        Ok(self.unlocked(layer)?.annotations.remove(index))
    }

    /// Removes every annotation of a layer.
    pub fn clear_layer(&mut self, layer: &str) -> Result<()> {
        if self.layer(layer).is_none() {
            return Err(Error::NotFound {
                what: format!("annotation layer {layer:?}"),
            });
        }
        self.unlocked(layer)?.annotations.clear();
        Ok(())
    }

    /// Removes a layer and its annotations.
    pub fn remove_layer(&mut self, layer: &str) -> Result<()> {
        if self.layer(layer).is_none() {
            return Err(Error::NotFound {
                what: format!("annotation layer {layer:?}"),
            });
        }
        self.unlocked(layer)?;
        self.layers.retain(|l| l.name != layer);
        Ok(())
    }

    /// Annotations of one layer or all, optionally only those touching a
    /// time range; each with its layer's name.
    pub fn annotations(
        &self,
        layer: Option<&str>,
        time_range: Option<(f64, f64)>,
    ) -> Vec<(&str, &Annotation)> {
        self.annotations_at(layer, time_range)
            .into_iter()
            .map(|(l, _, a)| (l, a))
            .collect()
    }

    /// [`Session::annotations`], each with its index in its layer.
    pub(crate) fn annotations_at(
        &self,
        layer: Option<&str>,
        time_range: Option<(f64, f64)>,
    ) -> Vec<(&str, usize, &Annotation)> {
        self.layers
            .iter()
            .filter(|l| layer.is_none_or(|n| n == l.name))
            .flat_map(|l| {
                let name = l.name.as_str();
                l.annotations
                    .iter()
                    .enumerate()
                    .map(move |(i, a)| (name, i, a))
            })
            .filter(|(_, _, a)| time_range.is_none_or(|(t0, t1)| a.in_time_range(t0, t1)))
            .collect()
    }

    /// Replaces an annotation of a layer with `new`: the one at `index` if
    /// it is still `expected` (the annotation as the caller read it), else
    /// the first one equal to `expected` (annotations before it were
    /// removed since). [`Error::NotFound`] when the layer does not exist or
    /// holds no such annotation (it was changed or removed since),
    /// [`Error::LayerLocked`] on a locked layer. What a binding's annotation
    /// object writes through when one of its fields is set (TraceKit code
    /// changes annotations in place).
    pub fn replace_annotation(
        &mut self,
        layer: &str,
        index: usize,
        expected: &Annotation,
        new: Annotation,
    ) -> Result<()> {
        // Compared as the session file stores them (normalised JSON).
        let want = expected
            .clone()
            .normalise()
            .ok()
            .and_then(|e| serde_json::to_value(e).ok());
        let is_it = |a: &Annotation| want.is_some() && serde_json::to_value(a).ok() == want;
        let at = self
            .layer(layer)
            .and_then(|l| match l.annotations.get(index) {
                Some(a) if is_it(a) => Some(index),
                _ => l.annotations.iter().position(is_it),
            });
        let Some(index) = at else {
            return Err(Error::NotFound {
                what: format!(
                    "annotation {:?} in layer {layer:?} as it was read (it was changed or removed since; read it again)",
                    expected.text
                ),
            });
        };
        let new = new.normalise()?;
        if !finite_json(&Value::Object(new.metadata.clone())) {
            return Err(Error::InvalidArgument(
                "annotation metadata holds a non-finite number".into(),
            ));
        }
        let slot = self
            .unlocked(layer)?
            .annotations
            .get_mut(index)
            .ok_or_else(|| Error::NotFound {
                what: format!("annotation {index} of layer {layer:?}"),
            })?;
        *slot = new;
        Ok(())
    }

    /// Records a measurement.
    pub fn record_measurement(&mut self, m: Measurement) -> Result<()> {
        if m.name.is_empty() {
            return Err(Error::InvalidArgument("a measurement needs a name".into()));
        }
        if !finite_json(&m.value) || !finite_json(&Value::Object(m.metadata.clone())) {
            return Err(Error::InvalidArgument(format!(
                "measurement {:?}: NaN and infinities are not JSON; record them as strings",
                m.name
            )));
        }
        self.touch();
        self.measurements.push(m);
        Ok(())
    }

    /// Measurements in the order they were recorded.
    pub fn measurements(&self) -> &[Measurement] {
        &self.measurements
    }

    /// Records an operation; the oldest entries go when the history limit
    /// is reached.
    pub fn record_history(&mut self, e: HistoryEntry) -> Result<()> {
        if e.operation.is_empty() {
            return Err(Error::InvalidArgument(
                "a history entry needs an operation".into(),
            ));
        }
        if !(e.duration_ms.is_finite() && e.duration_ms >= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "history entry {:?}: duration_ms must be a finite number >= 0, not {}",
                e.operation, e.duration_ms
            )));
        }
        if !finite_json(&e.result)
            || !e.parameters.values().all(finite_json)
            || !finite_json(&Value::Object(e.metadata.clone()))
        {
            return Err(Error::InvalidArgument(format!(
                "history entry {:?}: NaN and infinities are not JSON",
                e.operation
            )));
        }
        self.touch();
        self.history.push_back(e);
        self.trim_history();
        Ok(())
    }

    fn trim_history(&mut self) {
        if self.history_limit > 0 {
            while self.history.len() > self.history_limit {
                self.history.pop_front();
            }
        }
    }

    /// The operation history, oldest first.
    pub fn history(&self) -> &VecDeque<HistoryEntry> {
        &self.history
    }

    /// Keeps at most `n` history entries (0: unlimited), dropping the
    /// oldest.
    pub fn set_history_limit(&mut self, n: usize) {
        self.history_limit = n;
        self.touch();
        self.trim_history();
    }

    /// The history limit (0: unlimited).
    pub fn history_limit(&self) -> usize {
        self.history_limit
    }

    /// Sets whether loading a trace records itself in the history
    /// (TraceKit's `OperationHistory.auto_record`; default true). Saved
    /// with the session (spec/session.md § 4.3).
    pub fn set_history_auto_record(&mut self, on: bool) {
        if self.history_auto_record != on {
            self.history_auto_record = on;
            self.touch();
        }
    }

    /// Whether loading a trace records itself in the history.
    pub fn history_auto_record(&self) -> bool {
        self.history_auto_record
    }

    /// Everything but the samples, as JSON: `name`, `created_at`,
    /// `modified_at`, `metadata`, `path`, `version`, `commit`, `traces`
    /// (name, dtype, len, info, mapped, compressed), `layers`,
    /// `measurements`, `history`, `history_limit`, and
    /// `history_auto_record` only when it is false (as in the file).
    pub fn to_json(&self) -> Value {
        let traces: Vec<Value> = self.traces.iter().map(|(n, t)| trace_json(n, t)).collect();
        let mut doc = serde_json::json!({
            "name": self.name,
            "created_at": crate::format::format_ts(&self.created_at),
            "modified_at": crate::format::format_ts(&self.modified_at),
            "metadata": self.metadata,
            "path": self.path().map(|p| p.to_string_lossy().into_owned()),
            "version": self.version(),
            "commit": self.commit().map(|c| c.to_hex()),
            "traces": traces,
            "layers": self.layers,
            "measurements": self.measurements,
            "history": self.history,
            "history_limit": self.history_limit,
        });
        if !self.history_auto_record {
            if let Some(o) = doc.as_object_mut() {
                o.insert("history_auto_record".into(), Value::Bool(false));
            }
        }
        doc
    }

    /// `doc` — [`Session::to_json`] of this session, members may have
    /// been added or changed — to serialise with each history entry's
    /// parameters in their order: its `history` member is written from
    /// the session's history (a `Value` sorts every object), the rest as
    /// it is.
    pub fn json_in_order<'a>(&'a self, doc: &'a Value) -> impl Serialize + 'a {
        JsonInOrder {
            doc,
            history: &self.history,
        }
    }

    /// A short human-readable summary (like TraceKit's `summary()`).
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Session: {}", self.name);
        let _ = writeln!(
            s,
            "Created: {}",
            self.created_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        let _ = writeln!(
            s,
            "Modified: {}",
            self.modified_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        if let (Some(p), Some(v)) = (self.path(), self.version()) {
            let _ = writeln!(s, "File: {} (version {v})", p.display());
        }
        let _ = writeln!(s, "Traces: {}", self.traces.len());
        for (n, t) in &self.traces {
            let secs = t.len() as f64 / t.info().sample_rate;
            let _ = writeln!(
                s,
                "  - {n}: {} samples of {} at {} Hz ({secs} s){}",
                t.len(),
                t.dtype().name(),
                t.info().sample_rate,
                if t.info().units.is_empty() {
                    String::new()
                } else {
                    format!(", {}", t.info().units)
                }
            );
        }
        let total: usize = self.layers.iter().map(|l| l.annotations.len()).sum();
        let _ = writeln!(s, "Annotations: {total} in {} layer(s)", self.layers.len());
        for l in &self.layers {
            let _ = writeln!(
                s,
                "  - {}: {}{}",
                l.name,
                l.annotations.len(),
                if l.locked { " (locked)" } else { "" }
            );
        }
        let _ = writeln!(s, "Measurements: {}", self.measurements.len());
        for m in &self.measurements {
            let _ = writeln!(s, "  - {}: {} {}", m.name, m.value, m.unit);
        }
        let ok = self.history.iter().filter(|e| e.success).count();
        let _ = write!(
            s,
            "History: {} operation(s), {ok} successful",
            self.history.len()
        );
        s
    }
}

/// The JSON description of a trace (no samples).
pub fn trace_json(name: &str, t: &Trace) -> Value {
    serde_json::json!({
        "name": name,
        "dtype": t.dtype().name(),
        "len": t.len(),
        "bytes": t.dtype().byte_len(t.len()),
        "sample_rate": t.info().sample_rate,
        "start_time": t.info().start_time,
        "units": t.info().units,
        "metadata": t.info().metadata,
        "mapped": t.is_mapped(),
        "compressed": t.is_compressed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_annotation_finds_the_one_read_or_refuses() {
        let mut s = Session::new("r");
        let (a, b) = (Annotation::new("a").at(1.0), Annotation::new("b").at(2.0));
        s.annotate("L", a.clone()).unwrap();
        s.annotate("L", b.clone()).unwrap();
        let texts = |s: &Session| -> Vec<String> {
            s.annotations(Some("L"), None)
                .iter()
                .map(|(_, a)| a.text.clone())
                .collect()
        };
        // At its index.
        s.replace_annotation("L", 1, &b, Annotation::new("b2").at(2.0))
            .unwrap();
        assert_eq!(texts(&s), ["a", "b2"]);
        // Moved: the one before it was removed.
        let b2 = s.layer("L").unwrap().annotations[1].clone();
        s.remove_annotation("L", 0).unwrap();
        s.replace_annotation("L", 1, &b2, Annotation::new("b3").at(2.0))
            .unwrap();
        assert_eq!(texts(&s), ["b3"]);
        // Changed since (or gone), an unknown layer: not found, unchanged.
        for (layer, expected) in [("L", &b2), ("L", &a), ("M", &a)] {
            let e = s
                .replace_annotation(layer, 0, expected, Annotation::new("x"))
                .unwrap_err();
            assert!(matches!(e, Error::NotFound { .. }), "{e}");
        }
        let b3 = s.layer("L").unwrap().annotations[0].clone();
        // What the session cannot hold, and a locked layer: unchanged.
        let bad = Annotation::new("bad").over(2.0, 1.0);
        assert!(matches!(
            s.replace_annotation("L", 0, &b3, bad),
            Err(Error::InvalidArgument(_))
        ));
        s.set_layer(&LayerProps {
            name: "L".into(),
            locked: Some(true),
            ..LayerProps::default()
        })
        .unwrap();
        assert!(matches!(
            s.replace_annotation("L", 0, &b3, Annotation::new("y")),
            Err(Error::LayerLocked { .. })
        ));
        assert_eq!(texts(&s), ["b3"]);
    }

    fn compressed(stored: &[u8], raw_len: usize) -> Trace {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("z");
        std::fs::write(&p, stored).unwrap();
        let f = std::fs::File::open(&p).unwrap();
        // SAFETY: a private temporary file nobody else writes.
        let map = Arc::new(unsafe { memmap2::Mmap::map(&f) }.unwrap());
        Trace::from_samples(
            Dtype::U8,
            raw_len as u64,
            Samples::Compressed {
                map,
                at: 0,
                len: stored.len(),
                raw_len,
                path: p,
                plain: OnceLock::new(),
            },
            TraceInfo::default(),
            None,
        )
    }

    /// spec/session.md § 4.2: the stored bytes of a zstd trace are exactly
    /// one Zstandard frame. Two frames that together decode to the right
    /// length, a skippable frame before it, or bytes after it are refused.
    #[cfg(feature = "zstd")]
    #[test]
    fn zstd_trace_is_one_frame_and_nothing_else() {
        let a: Vec<u8> = (0..100u8).collect();
        let one = zstd::bulk::compress(&a, 3).unwrap();
        let t = compressed(&one, 100);
        assert_eq!(t.bytes().unwrap(), &a[..]);
        assert!(matches!(t.check_samples(), Ok(Ok(()))));

        let mut two = zstd::bulk::compress(&a[..50], 3).unwrap();
        two.extend(zstd::bulk::compress(&a[50..], 3).unwrap());
        let mut skippable = vec![0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
        skippable.extend(&one);
        let mut trailing = one.clone();
        trailing.push(0);
        for (what, stored) in [
            ("two", two),
            ("skippable", skippable),
            ("trailing", trailing),
        ] {
            let t = compressed(&stored, 100);
            assert!(t.bytes().is_err(), "{what}: decoded");
            assert!(matches!(t.check_samples(), Ok(Err(_))), "{what}: checked");
        }
    }
}
