//! Converting a log between its two framings (JSONL and binary).
//!
//! Both framings carry the same canonical record bodies and the same hashes
//! (see [`crate::format`]): the hash covers the body bytes only. Conversion
//! therefore copies each record's body and stored hash into the other
//! framing and re-hashes nothing. The converted log has the same genesis,
//! the same log id, the same entries and the same head as the source, and
//! a head checkpoint taken on one is valid for the other.
//!
//! # Policy
//!
//! - **The source must verify.** A log with a violation is refused, and so
//!   is one that ends in a torn tail: a damaged record cannot be carried
//!   into the other framing faithfully (a damaged binary frame has no body
//!   to re-frame), and silently dropping bytes would lose evidence. Move a
//!   torn tail aside first (`evident repair`, or [`crate::Log::open`]); damage
//!   elsewhere is never converted away. There is deliberately no "force".
//! - **The destination is never overwritten.** It is written to a temporary
//!   file next to it, made durable (fsync), verified (it must be valid and
//!   end at the source's head), and only then linked into place, which
//!   fails if the destination exists by then. The directory is fsynced. On
//!   any failure the temporary file is removed and nothing is left at the
//!   destination.
//! - **Streaming, constant memory.** Both passes read the file in bounded
//!   chunks; the output is written through a fixed-size buffer.
//! - The source is only read, without a lock. A writer may append to it
//!   during conversion: only the bytes that were verified are converted, and
//!   the copy is checked again against the verified head.
//!
//! ```no_run
//! use evident::convert::{convert, ConvertOptions};
//! use evident::Framing;
//! let report = convert("audit.jsonl", "audit.evl", &ConvertOptions::new().to(Framing::Binary))?;
//! println!("{} entries, head {}:{}", report.entries, report.head.seq, report.head.hash);
//! # Ok::<(), evident::Error>(())
//! ```

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::chain::Key;
use crate::error::{Error, Position, Result};
use crate::format::{self, Framing};
use crate::log::Head;
use crate::scan::{Forward, SpanKind};
use crate::storage::{Durable, NewFile, Perm, Place, Step, TempFile};
use crate::verify::{verify, VerifyOptions, VerifyReport, Violation, ViolationKind};

/// Options for [`convert`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ConvertOptions {
    /// Target framing (default: the other framing of the source).
    pub to: Option<Framing>,
    /// The HMAC key of a keyed log (needed to verify source and result).
    pub key: Option<Key>,
    /// Worker threads for the two verifications (0: all cores).
    pub threads: usize,
}

impl ConvertOptions {
    /// The defaults: the other framing, no key, all cores.
    pub fn new() -> ConvertOptions {
        ConvertOptions::default()
    }

    /// Target framing.
    pub fn to(mut self, framing: Framing) -> Self {
        self.to = Some(framing);
        self
    }

    /// The HMAC key of a keyed log.
    pub fn key(mut self, key: Option<Key>) -> Self {
        self.key = key;
        self
    }

    /// Worker threads for the two verifications (0: all cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }
}

/// What [`convert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConvertReport {
    /// The source's framing.
    pub from: Framing,
    /// The destination's framing.
    pub to: Framing,
    /// Entries converted (the genesis is not counted).
    pub entries: u64,
    /// The head of both logs (verified in each).
    pub head: Head,
    /// The log id (unchanged by conversion).
    pub log_id: String,
    /// Bytes of the source that were converted.
    pub bytes_in: u64,
    /// Size of the destination.
    pub bytes_out: u64,
}

/// Converts the log at `src` into a new log at `dst` in the other framing
/// (or `opts.to`), with the same record bodies and hashes. See the module
/// documentation for the policy: the source must verify, `dst` must not
/// exist, and the result is verified before it appears at `dst`.
pub fn convert(
    src: impl AsRef<Path>,
    dst: impl AsRef<Path>,
    opts: &ConvertOptions,
) -> Result<ConvertReport> {
    let src = src.as_ref();
    let dst = dst.as_ref();
    if fs::symlink_metadata(dst).is_ok() {
        return Err(exists(dst));
    }
    let vopts = VerifyOptions {
        key: opts.key.clone(),
        threads: opts.threads,
        ..VerifyOptions::default()
    };
    let report = verify(src, &vopts)?;
    if let Some(v) = report.first() {
        return Err(refuse(src, v));
    }
    let (Some(from), Some(head), Some(log_id)) =
        (report.framing, report.head(), report.log_id.clone())
    else {
        return Err(Error::malformed(
            src,
            Position::default(),
            "verify returned no framing or head; conversion refused",
        ));
    };
    let to = opts.to.unwrap_or(match from {
        Framing::Jsonl => Framing::Binary,
        Framing::Binary => Framing::Jsonl,
    });
    if to == from {
        return Err(Error::InvalidArgument(format!(
            "{}: log is already {from}-framed; nothing to convert",
            src.display()
        )));
    }

    // Removed on any error below (dropped unplaced).
    let mut tmp = NewFile {
        what: "converting",
        perm: Perm::Default,
        durable: Durable::FileAndDir,
        place: Place::NoReplace,
    }
    .create(dst)
    .map_err(|f| Error::io(dst, "create", f.error))?;
    let bytes_out = copy_records(src, &mut tmp, from, to, &report)?;

    let check = verify(tmp.tmp(), &vopts)?;
    if let Some(v) = check.first() {
        return Err(Error::malformed(
            dst,
            Position {
                offset: v.offset,
                line: v.line,
                seq: v.seq,
            },
            format!("converted log does not verify ({v}); nothing was written to the destination"),
        ));
    }
    if check.head() != Some(head) || check.entries != report.entries {
        return Err(Error::malformed(
            dst,
            Position::default(),
            format!(
                "converted log ends at {}:{} with {} entries, the source at {}:{} with {} entries; nothing was written to the destination",
                check.head_seq,
                check.head_hash.as_deref().unwrap_or("?"),
                check.entries,
                head.seq,
                head.hash,
                report.entries
            ),
        ));
    }
    tmp.place().map_err(|f| match f.step {
        Step::Link if f.error.kind() == io::ErrorKind::AlreadyExists => exists(dst),
        _ => f.into(),
    })?;
    Ok(ConvertReport {
        from,
        to,
        entries: report.entries,
        head,
        log_id,
        bytes_in: report.bytes,
        bytes_out,
    })
}

fn exists(dst: &Path) -> Error {
    Error::Io {
        path: dst.to_path_buf(),
        op: "refusing to overwrite an existing file",
        source: io::Error::from(io::ErrorKind::AlreadyExists),
    }
}

/// The error for a source that does not verify.
fn refuse(src: &Path, v: &Violation) -> Error {
    let at = Position {
        offset: v.offset,
        line: v.line,
        seq: v.seq,
    };
    match v.kind {
        ViolationKind::WrongKey => Error::WrongKey {
            path: src.to_path_buf(),
            msg: v.message.clone(),
        },
        ViolationKind::Unsupported => Error::Unsupported {
            path: src.to_path_buf(),
            msg: v.message.clone(),
        },
        ViolationKind::TornTail => Error::malformed(
            src,
            at,
            format!(
                "torn tail: {}; move it aside with `evident repair` first (conversion refused)",
                v.message
            ),
        ),
        kind => Error::malformed(
            src,
            at,
            format!(
                "{kind}: {}; a log that does not verify is never converted",
                v.message
            ),
        ),
    }
}

/// Streams every record of `src` (up to the verified length) into `tmp`
/// in the `to` framing, then fsyncs it. Returns the bytes written.
fn copy_records(
    src: &Path,
    tmp: &mut TempFile,
    from: Framing,
    to: Framing,
    report: &VerifyReport,
) -> Result<u64> {
    let file = crate::storage::open_regular(src, crate::storage::Access::Read, "open")?;
    let mut w = BufWriter::with_capacity(256 * 1024, tmp.file());
    let wio = |e| Error::io(tmp.tmp(), "write", e);
    w.write_all(&to.file_header()).map_err(wio)?;
    let mut written = to.file_header().len() as u64;
    let mut fwd = Forward::new(&file, from, from.data_start(), report.bytes, 1);
    let mut buf = Vec::with_capacity(4096);
    let mut records = 0u64;
    while let Some(item) = fwd.next_item() {
        let (item, line) = item.map_err(|e| Error::io(src, "read", e))?;
        let at = Position {
            offset: item.offset,
            line,
            seq: None,
        };
        let changed = |msg: &str| {
            Error::malformed(
                src,
                at,
                format!("{msg}: the file changed during conversion; nothing was written to the destination"),
            )
        };
        if item.kind != SpanKind::Record {
            return Err(changed("not a complete record"));
        }
        let p = format::parse(from, &item.bytes).map_err(|d| changed(&d.0))?;
        buf.clear();
        format::frame(&mut buf, to, &p.raw.body(), &p.raw.hash);
        w.write_all(&buf).map_err(wio)?;
        written += buf.len() as u64;
        records += 1;
    }
    if records != report.head_seq + 1 {
        return Err(Error::malformed(
            src,
            Position::default(),
            format!(
                "read {records} records, verified {}: the file changed during conversion; nothing was written to the destination",
                report.head_seq + 1
            ),
        ));
    }
    w.into_inner().map_err(|e| wio(e.into_error()))?;
    tmp.seal()?;
    Ok(written)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::{Event, Log, OpenOptions};

    fn make(path: &Path, framing: Framing, key: Option<Key>, n: usize) -> Head {
        let mut o = OpenOptions::new().framing(framing);
        o.key = key;
        let log = Log::open(path, o).unwrap();
        for i in 0..n {
            log.append(
                &Event::new("ACTION_EXECUTED", format!("a{i}"))
                    .details(serde_json::json!({"i": i, "s": "é\"\n"})),
            )
            .unwrap();
        }
        let h = log.head();
        log.close().unwrap();
        h
    }

    /// Record bodies and hashes of a log, in order (genesis included).
    fn records(path: &Path) -> Vec<(Vec<u8>, String)> {
        let bytes = fs::read(path).unwrap();
        let framing = Framing::detect(&bytes).unwrap();
        let file = std::fs::File::open(path).unwrap();
        let mut fwd = Forward::new(&file, framing, framing.data_start(), bytes.len() as u64, 1);
        let mut out = Vec::new();
        while let Some(item) = fwd.next_item() {
            let (item, _) = item.unwrap();
            let p = format::parse(framing, &item.bytes).unwrap();
            out.push((p.raw.body(), p.raw.hash.to_hex()));
        }
        out
    }

    #[test]
    fn round_trip_keeps_bodies_hashes_and_head() {
        for key in [None, Some(Key::new(vec![9u8; 32]).unwrap())] {
            let dir = tempfile::tempdir().unwrap();
            let a = dir.path().join("a.jsonl");
            let b = dir.path().join("b.evl");
            let c = dir.path().join("c.jsonl");
            let head = make(&a, Framing::Jsonl, key.clone(), 25);
            let opts = ConvertOptions {
                key: key.clone(),
                ..ConvertOptions::default()
            };
            let r = convert(&a, &b, &opts).unwrap();
            assert_eq!(
                (r.from, r.to, r.entries, r.head),
                (Framing::Jsonl, Framing::Binary, 25, head)
            );
            assert!(fs::read(&b).unwrap().starts_with(&format::BINARY_MAGIC));
            let r2 = convert(&b, &c, &opts).unwrap();
            assert_eq!((r2.to, r2.head), (Framing::Jsonl, head));
            assert_eq!(records(&a), records(&b));
            assert_eq!(fs::read(&a).unwrap(), fs::read(&c).unwrap());
            // The converted log is a normal log: it can be extended.
            let mut o = OpenOptions::new();
            o.key = key;
            let log = Log::open(&b, o).unwrap();
            assert_eq!(log.head(), head);
            assert_eq!(log.append(&Event::new("t", "more")).unwrap().seq, 26);
            // No temporary files are left behind.
            let names: Vec<String> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert!(names.iter().all(|n| !n.contains("converting")), "{names:?}");
        }
    }

    #[test]
    fn refuses_existing_destination_same_framing_and_damaged_source() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.jsonl");
        let b = dir.path().join("b.evl");
        make(&a, Framing::Jsonl, None, 5);
        fs::write(&b, b"precious").unwrap();
        let e = convert(&a, &b, &ConvertOptions::default()).unwrap_err();
        assert!(e.to_string().contains("refusing to overwrite"), "{e}");
        assert_eq!(fs::read(&b).unwrap(), b"precious");

        let same = ConvertOptions {
            to: Some(Framing::Jsonl),
            ..ConvertOptions::default()
        };
        let e = convert(&a, dir.path().join("x"), &same).unwrap_err();
        assert!(e.to_string().contains("already jsonl"), "{e}");

        // Torn tail: refused, pointing at repair; nothing created.
        let torn = dir.path().join("torn.jsonl");
        let mut bytes = fs::read(&a).unwrap();
        bytes.extend_from_slice(b"{\"v\":1,\"seq\":6,");
        fs::write(&torn, &bytes).unwrap();
        let out = dir.path().join("torn.evl");
        let e = convert(&torn, &out, &ConvertOptions::default()).unwrap_err();
        assert!(e.to_string().contains("evident repair"), "{e}");
        assert!(!out.exists());

        // Tampered entry: refused with the violation's kind and position.
        let bad = dir.path().join("bad.jsonl");
        let text = String::from_utf8(fs::read(&a).unwrap()).unwrap();
        fs::write(&bad, text.replacen("\"a2\"", "\"a9\"", 1)).unwrap();
        let e = convert(&bad, dir.path().join("bad.evl"), &ConvertOptions::default()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("hash_mismatch") && msg.contains("seq 3"),
            "{msg}"
        );
        assert!(!dir.path().join("bad.evl").exists());
    }

    #[test]
    fn keyed_source_needs_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("k.jsonl");
        make(
            &a,
            Framing::Jsonl,
            Some(Key::new(vec![1u8; 32]).unwrap()),
            2,
        );
        let e = convert(&a, dir.path().join("k.evl"), &ConvertOptions::default()).unwrap_err();
        assert!(matches!(e, Error::WrongKey { .. }), "{e}");
        let wrong = ConvertOptions {
            key: Some(Key::new(vec![2u8; 32]).unwrap()),
            ..ConvertOptions::default()
        };
        let e = convert(&a, dir.path().join("k.evl"), &wrong).unwrap_err();
        assert!(matches!(e, Error::WrongKey { .. }), "{e}");
        assert!(!dir.path().join("k.evl").exists());
    }
}
