//! Waveform measurements (`evident_measure_*`, on plain samples, a trace
//! or a session's trace) and TraceKit's audit HMAC chain
//! (`evident_tracekit_*`), for the compatibility modules.

use std::ffi::c_char;

use super::session::{evident_session, evident_trace};
use super::{
    c_slice, evident_status, ffi_status, owned_string, try_mut, try_out, try_ref, try_str, Failure,
    FfiResult,
};
use crate::measure::{self, Measure};
use crate::session::{ChannelSel, ImportOptions};
use crate::tracekit;

/// A waveform measurement (see `evident_measure_samples`). Passed as
/// `uint32_t`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum evident_measure {
    /// Hz, from the mean period between rising 50 % crossings.
    Frequency = 1,
    /// Seconds, mean period between rising 50 % crossings.
    Period = 2,
    /// Top minus base (IEEE 181 histogram state levels).
    Amplitude = 3,
    /// Seconds, 10 %-90 % time of the first complete rising transition.
    RiseTime = 4,
    /// Seconds, 90 %-10 % time of the first complete falling transition.
    FallTime = 5,
    /// Percent of each whole period above the 50 % level.
    DutyCycle = 6,
    /// Percent, RMS of harmonics 2..10 over the fundamental (Hann FFT).
    Thd = 7,
}

fn measure_arg(m: u32) -> FfiResult<Measure> {
    Ok(match m {
        1 => Measure::Frequency,
        2 => Measure::Period,
        3 => Measure::Amplitude,
        4 => Measure::RiseTime,
        5 => Measure::FallTime,
        6 => Measure::DutyCycle,
        7 => Measure::Thd,
        other => return Err(Failure::invalid(format!("unknown measurement {other}"))),
    })
}

/// Measures `len` samples taken at `sample_rate` Hz (`measure`: an
/// `evident_measure`). `*out` receives the value, NaN when the signal does
/// not allow the measurement (too short, flat, no complete transition or
/// period). `samples` may be NULL when `len` is 0. `EVIDENT_STATUS_IO`
/// ("out of memory") when memory for the working buffers (about the size
/// of the samples, for frequency, period, duty cycle and THD) is refused.
#[no_mangle]
pub extern "C" fn evident_measure_samples(
    samples: *const f64,
    len: usize,
    sample_rate: f64,
    measure: u32,
    out: *mut f64,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", f64::NAN);
        let m = measure_arg(measure)?;
        let data: &[f64] = if len == 0 {
            &[]
        } else if samples.is_null() {
            return Err(Failure::null("samples"));
        } else if len > isize::MAX as usize / 8 {
            return Err(Failure::invalid("len is too large"));
        } else {
            // SAFETY: the caller passes `len` readable doubles at `samples`
            // (header contract); the byte length fits isize (checked).
            unsafe { std::slice::from_raw_parts(samples, len) }
        };
        *out = m.try_apply(data, sample_rate).map_err(|e| {
            crate::error::Error::io(std::path::Path::new("samples"), "measure", e.into())
        })?;
        Ok(evident_status::Ok)
    })
}

/// Measures a trace (its samples converted to double; bools and bits as 0
/// and 1; its sample rate). `*out`, and refused memory, as for
/// `evident_measure_samples`.
#[no_mangle]
pub extern "C" fn evident_trace_measure(
    trace: *const evident_trace,
    measure: u32,
    out: *mut f64,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", f64::NAN);
        let t = &try_ref!(trace, "trace").trace;
        let m = measure_arg(measure)?;
        *out = measure::measure(t, m)?;
        Ok(evident_status::Ok)
    })
}

/// Measures the session's trace `name` and records the measurement in the
/// session's operation history (`measure_frequency`, … with the trace's
/// name in the entry's metadata and the value as its result).
/// `EVIDENT_STATUS_NOT_FOUND` when there is no such trace.
#[no_mangle]
pub extern "C" fn evident_session_measure(
    session: *mut evident_session,
    name: *const c_char,
    measure: u32,
    out: *mut f64,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", f64::NAN);
        let s = &mut try_mut!(session, "session").s;
        let name = try_str!(name, "name");
        let m = measure_arg(measure)?;
        *out = measure::measure_trace(s, name, m)?;
        Ok(evident_status::Ok)
    })
}

/// TraceKit's HMAC of one audit entry: `entry_json` is an object with the
/// strings `timestamp`, `action`, `details` (the canonical JSON text of the
/// details, as TraceKit's `json.dumps(details, sort_keys=True)`), `user`,
/// `host`, `previous_hash` (and optionally `hmac`, ignored); `algorithm` is
/// `"sha256"` or `"sha512"`; the key may have any length (TraceKit's do).
/// `*out` receives the lowercase hex HMAC, to free with
/// `evident_string_free`.
#[no_mangle]
pub extern "C" fn evident_tracekit_hmac(
    algorithm: *const c_char,
    key: *const u8,
    key_len: usize,
    entry_json: *const c_char,
    out: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out, "out", std::ptr::null_mut());
        let alg = tracekit::Algorithm::from_name(try_str!(algorithm, "algorithm"))?;
        let key = c_slice(key, key_len, "key")?;
        let e: tracekit::Entry = serde_json::from_str(try_str!(entry_json, "entry_json"))
            .map_err(|e| Failure::invalid(format!("`entry_json`: {e}")))?;
        *out = owned_string(&tracekit::entry_hmac(alg, key, &e));
        Ok(evident_status::Ok)
    })
}

/// Checks a TraceKit HMAC chain: `entries_json` is an array of entries as
/// for `evident_tracekit_hmac`, each with its `hmac`. `*out_first_bad`
/// receives -1 when every HMAC and link is right (the first entry's
/// `previous_hash` is `"GENESIS"`), else the index of the first wrong
/// entry; 0 on failure (never -1, so an ignored failure does not read as
/// valid).
#[no_mangle]
pub extern "C" fn evident_tracekit_verify(
    algorithm: *const c_char,
    key: *const u8,
    key_len: usize,
    entries_json: *const c_char,
    out_first_bad: *mut i64,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_first_bad, "out_first_bad", 0);
        let alg = tracekit::Algorithm::from_name(try_str!(algorithm, "algorithm"))?;
        let key = c_slice(key, key_len, "key")?;
        let entries: Vec<tracekit::Entry> =
            serde_json::from_str(try_str!(entries_json, "entries_json"))
                .map_err(|e| Failure::invalid(format!("`entries_json`: {e}")))?;
        *out = match tracekit::first_bad(alg, key, &entries) {
            None => -1,
            Some(i) => i64::try_from(i).unwrap_or(i64::MAX),
        };
        Ok(evident_status::Ok)
    })
}

/// Parses loader options (`options_json` of `evident_session_load_trace_with`)
/// into a JSON object whose members keep the order given.
pub(super) fn loader_options(text: &str) -> FfiResult<crate::session::Params> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Failure::invalid(format!("`options_json` is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(Failure::invalid("`options_json` must be a JSON object"));
    }
    // Read again from the text: the options in the order given (they are
    // recorded as history parameters in that order).
    serde_json::from_str(text)
        .map_err(|e| Failure::invalid(format!("`options_json` is not valid JSON: {e}")))
}

/// Loader options (`channel`, `lazy`, `sample_rate`) from their JSON object.
pub(super) fn import_options(
    m: &serde_json::Map<String, serde_json::Value>,
) -> FfiResult<ImportOptions> {
    let mut opts = ImportOptions::default();
    for (k, v) in m {
        match (k.as_str(), v) {
            ("lazy", serde_json::Value::Bool(b)) => opts.lazy = *b,
            ("channel", serde_json::Value::String(c)) => {
                opts.channel = Some(ChannelSel::Name(c.clone()))
            }
            ("channel", serde_json::Value::Number(n)) => {
                let i = n
                    .as_u64()
                    .and_then(|i| usize::try_from(i).ok())
                    .ok_or_else(|| Failure::invalid("`channel` must be a name or an index >= 0"))?;
                opts.channel = Some(ChannelSel::Index(i))
            }
            ("channel", serde_json::Value::Null) => {}
            ("sample_rate", serde_json::Value::Number(n)) => {
                // the value is checked where it is used (a positive rate)
                opts.sample_rate = Some(n.as_f64().unwrap_or(f64::NAN))
            }
            ("sample_rate", serde_json::Value::Null) => {}
            ("lazy" | "channel" | "sample_rate", _) => {
                return Err(Failure::invalid(format!(
                    "loader option `{k}` has the wrong type"
                )))
            }
            _ => {
                return Err(Failure::invalid(format!(
                    "unknown loader option `{k}` (known: channel, lazy, sample_rate)"
                )))
            }
        }
    }
    Ok(opts)
}

/// `evident_session_load_trace` with loader options: `options_json` (NULL
/// for none) is an object with `channel` (a channel's name, or the 0-based
/// index of a logic channel, of a sigrok `.sr` capture), `lazy` (a
/// boolean, accepted for TraceKit compatibility: a trace is read now and
/// mapped from the session file once saved) and `sample_rate` (Hz, for a
/// capture without its own: `.npy`, a CSV without a time column; a
/// capture with its own rate refuses a different one). Reads `.csv`, `.npy`, sigrok
/// `.sr` and Tektronix `.wfm` (`:WFM#001` to `:WFM#003`). `out_name` may be NULL;
/// otherwise it receives the name used, to free with `evident_string_free`.
#[no_mangle]
pub extern "C" fn evident_session_load_trace_with(
    session: *mut evident_session,
    path: *const c_char,
    name: *const c_char,
    options_json: *const c_char,
    out_name: *mut *mut c_char,
) -> evident_status {
    ffi_status!({
        // SAFETY: `out_name` is NULL or a valid pointer (header contract).
        let mut out = unsafe { out_name.as_mut() };
        if let Some(o) = out.as_deref_mut() {
            *o = std::ptr::null_mut();
        }
        let s = &mut try_mut!(session, "session").s;
        let path = try_str!(path, "path");
        let name = super::opt_str(name, "name")?;
        let opts = match super::opt_str(options_json, "options_json")? {
            Some(text) => import_options(loader_options(text)?.as_map())?,
            None => ImportOptions::default(),
        };
        let used = s.load_trace_with(std::path::Path::new(path), name, &opts)?;
        if let Some(o) = out {
            *o = owned_string(&used);
        }
        Ok(evident_status::Ok)
    })
}
