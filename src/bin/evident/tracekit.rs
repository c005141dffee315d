//! `evident export --format tracekit-json|tracekit-csv`: the entries of a
//! log in TraceKit's `export_audit_log` layout, chained with TraceKit's HMAC
//! ([`evident::tracekit`]) so that TraceKit's own checker accepts the file.

use std::io::Write;
use std::path::Path;

use evident::tracekit::{self, Algorithm};
use evident::{Entry, Error};

use crate::util::Failure;
use crate::{ExportArgs, ExportFormat};

/// The TraceKit chain's algorithm and key, for the TraceKit formats (which
/// need `--tracekit-key`); `None` for the others (which refuse it).
pub fn options(a: &ExportArgs) -> Result<Option<(Algorithm, Vec<u8>)>, Failure> {
    let tk = matches!(
        a.format,
        ExportFormat::TracekitJson | ExportFormat::TracekitCsv
    );
    match (&a.tracekit_key, tk) {
        (None, false) => Ok(None),
        (Some(_), false) => Err(Failure::usage(
            "--tracekit-key is for --format tracekit-json or tracekit-csv",
        )),
        (None, true) => Err(Failure::usage(
            "--format tracekit-json/tracekit-csv needs --tracekit-key FILE (TraceKit's HMAC key)",
        )),
        (Some(file), true) => {
            let meta = std::fs::metadata(file)
                .map_err(|e| Failure::at(file, format!("cannot read key file: {e}")))?;
            if !meta.is_file() || meta.len() > 4096 {
                return Err(Failure::at(
                    file,
                    "the key file must be a regular file of at most 4 KiB",
                ));
            }
            let bytes = std::fs::read(file)
                .map_err(|e| Failure::at(file, format!("cannot read key file: {e}")))?;
            let alg = Algorithm::from_name(&a.tracekit_alg)
                .map_err(|e| Failure::usage(format!("--tracekit-alg: {e}")))?;
            Ok(Some((alg, tracekit::key_from_file_bytes(&bytes))))
        }
    }
}

/// Writes the entries in TraceKit's layout; returns their number.
pub fn write(
    log: &Path,
    entries: impl Iterator<Item = Result<Entry, Error>>,
    fmt: ExportFormat,
    tk: Option<&(Algorithm, Vec<u8>)>,
    w: &mut dyn Write,
    stop: &dyn Fn(Error) -> Failure,
    werr: &dyn Fn(std::io::Error) -> Failure,
) -> Result<u64, Failure> {
    let Some((alg, key)) = tk else {
        return Err(Failure::usage("--tracekit-key is missing"));
    };
    let mut list = Vec::new();
    for e in entries {
        list.push(tracekit::from_evident(&e.map_err(stop)?));
    }
    let format = if fmt == ExportFormat::TracekitJson {
        tracekit::ExportFormat::Json
    } else {
        tracekit::ExportFormat::Csv
    };
    let text = tracekit::export(*alg, key, &list, format).map_err(|e| Failure::lib(log, e))?;
    w.write_all(text.as_bytes()).map_err(werr)?;
    Ok(list.len() as u64)
}
