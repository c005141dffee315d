//! `evident_open_options`: an opaque builder for `evident_log_open`, so
//! options can be added later without changing any struct layout.

use std::ffi::c_char;
use std::time::Duration;

use super::{
    evident_status, ffi_status, key_arg, try_mut, try_opt_str, try_out, Failure, FfiResult,
};
use crate::chain::HashAlg;
use crate::format::Framing;
use crate::log::{Durability, LockMode, OpenOptions};

/// Options for `evident_log_open`, built with the `evident_open_options_set_*`
/// functions. A new object holds the defaults: framing chosen by the path
/// (binary for `.evl`/`.bin`), SHA-256 (HMAC-SHA256 once a key is set),
/// `EVIDENT_DURABILITY_SYNC`, `EVIDENT_LOCK_MODE_EXCLUSIVE`, lock timeout 0
/// (exclusive) / 10 s (shared), create = true, create_new = false, actor =
/// the OS user, host = this machine's host name.
///
/// Thread safety: setters need exclusive access; once built, one options
/// object may be read by several concurrent `evident_log_open` calls.
/// Ownership: created by `evident_open_options_new`, freed with
/// `evident_open_options_free`; `evident_log_open` copies what it needs.
pub struct evident_open_options {
    pub(crate) opts: OpenOptions,
}

pub(crate) fn framing_arg(v: u32) -> FfiResult<Option<Framing>> {
    match v {
        0 => Ok(None),
        1 => Ok(Some(Framing::Jsonl)),
        2 => Ok(Some(Framing::Binary)),
        _ => Err(Failure::invalid(format!(
            "unknown framing {v} (expected EVIDENT_FRAMING_AUTO, _JSONL or _BINARY)"
        ))),
    }
}

fn alg_arg(v: u32) -> FfiResult<Option<HashAlg>> {
    match v {
        0 => Ok(None),
        1 => Ok(Some(HashAlg::Sha256)),
        2 => Ok(Some(HashAlg::HmacSha256)),
        3 => Ok(Some(HashAlg::HmacSha512)),
        _ => Err(Failure::invalid(format!(
            "unknown algorithm {v} (expected an EVIDENT_ALG_* value)"
        ))),
    }
}

/// Creates an options object with the defaults.
///
/// `*out_options` receives the new object (NULL on failure); free it with
/// `evident_open_options_free`.
#[no_mangle]
pub extern "C" fn evident_open_options_new(
    out_options: *mut *mut evident_open_options,
) -> evident_status {
    ffi_status!({
        let out = try_out!(out_options, "out_options", std::ptr::null_mut());
        *out = Box::into_raw(Box::new(evident_open_options {
            opts: OpenOptions::new(),
        }));
        Ok(evident_status::Ok)
    })
}

/// Frees an options object. NULL is a no-op.
#[no_mangle]
pub extern "C" fn evident_open_options_free(options: *mut evident_open_options) {
    super::run_value((), || {
        if !options.is_null() {
            // SAFETY: `options` came from evident_open_options_new.
            drop(unsafe { Box::from_raw(options) });
        }
    })
}

/// Sets the framing (an `EVIDENT_FRAMING_*` value). For an existing log a
/// framing other than `EVIDENT_FRAMING_AUTO` must match the file.
#[no_mangle]
pub extern "C" fn evident_open_options_set_framing(
    options: *mut evident_open_options,
    framing: u32,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.framing = framing_arg(framing)?;
        Ok(evident_status::Ok)
    })
}

/// Sets the HMAC key: `key_len` bytes at `key` (at least 16), copied. A key
/// selects HMAC-SHA256 for a new log unless an algorithm is set; for an
/// existing log it must match the log's key id. `key` NULL with `key_len` 0
/// removes the key.
#[no_mangle]
pub extern "C" fn evident_open_options_set_key(
    options: *mut evident_open_options,
    key: *const u8,
    key_len: usize,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.key = key_arg(key, key_len)?;
        Ok(evident_status::Ok)
    })
}

/// Sets the hash algorithm of a new log (an `EVIDENT_ALG_*` value); opening
/// an existing log that uses another one fails with
/// `EVIDENT_STATUS_INVALID_ARGUMENT`, as a framing that is not the log's does.
#[no_mangle]
pub extern "C" fn evident_open_options_set_alg(
    options: *mut evident_open_options,
    alg: u32,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.alg = alg_arg(alg)?;
        Ok(evident_status::Ok)
    })
}

/// Sets the durability mode (an `EVIDENT_DURABILITY_*` value).
#[no_mangle]
pub extern "C" fn evident_open_options_set_durability(
    options: *mut evident_open_options,
    durability: u32,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.durability = match durability {
            1 => Durability::Sync,
            2 => Durability::GroupCommit,
            3 => Durability::Buffered,
            v => {
                return Err(Failure::invalid(format!(
                    "unknown durability {v} (expected an EVIDENT_DURABILITY_* value)"
                )))
            }
        };
        Ok(evident_status::Ok)
    })
}

/// Sets the lock mode (an `EVIDENT_LOCK_MODE_*` value).
#[no_mangle]
pub extern "C" fn evident_open_options_set_lock_mode(
    options: *mut evident_open_options,
    lock_mode: u32,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.lock = match lock_mode {
            1 => LockMode::Exclusive,
            2 => LockMode::Shared,
            v => {
                return Err(Failure::invalid(format!(
                    "unknown lock mode {v} (expected an EVIDENT_LOCK_MODE_* value)"
                )))
            }
        };
        Ok(evident_status::Ok)
    })
}

/// Sets how long `evident_log_open` (and, in shared mode, each append)
/// waits for the lock, in milliseconds.
#[no_mangle]
pub extern "C" fn evident_open_options_set_lock_timeout_ms(
    options: *mut evident_open_options,
    timeout_ms: u64,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.lock_timeout = Some(Duration::from_millis(timeout_ms));
        Ok(evident_status::Ok)
    })
}

/// Sets whether a missing log is created (default true).
#[no_mangle]
pub extern "C" fn evident_open_options_set_create(
    options: *mut evident_open_options,
    create: bool,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.create = create;
        Ok(evident_status::Ok)
    })
}

/// Sets whether opening fails when the log already exists (default false).
#[no_mangle]
pub extern "C" fn evident_open_options_set_create_new(
    options: *mut evident_open_options,
    create_new: bool,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.create_new = create_new;
        Ok(evident_status::Ok)
    })
}

/// Sets whether an existing *empty* file becomes a new log instead of
/// being refused (default false): for systems that open their logs in
/// append mode (a file made by `touch` or `mkstemp`). The empty file is
/// replaced atomically, keeping its permission bits; the cost is that a log
/// truncated to zero bytes restarts as a new log instead of being refused
/// (unless its lock file records bytes made durable: then it is refused as
/// truncated).
/// Needs `create` (the default). Since ABI 1.10.
#[no_mangle]
pub extern "C" fn evident_open_options_set_adopt_empty(
    options: *mut evident_open_options,
    adopt_empty: bool,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.adopt_empty = adopt_empty;
        Ok(evident_status::Ok)
    })
}

/// Sets the actor written for entries that name none (copied). NULL
/// restores the default (the OS user).
#[no_mangle]
pub extern "C" fn evident_open_options_set_actor(
    options: *mut evident_open_options,
    actor: *const c_char,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.actor = try_opt_str!(actor, "actor").map(str::to_owned);
        Ok(evident_status::Ok)
    })
}

/// Sets the host written for entries that name none (copied). NULL
/// restores the default (this machine's host name).
#[no_mangle]
pub extern "C" fn evident_open_options_set_host(
    options: *mut evident_open_options,
    host: *const c_char,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        o.opts.host = try_opt_str!(host, "host").map(str::to_owned);
        Ok(evident_status::Ok)
    })
}

/// Sets the group-commit delay in microseconds (default 0), for
/// `EVIDENT_DURABILITY_GROUP_COMMIT`: the thread about to fsync first waits
/// this long when other appenders are waiting too, so that more entries
/// share one fsync (like PostgreSQL's `commit_delay`). Adds up to this much
/// latency to each durable append; at most 1 s.
#[no_mangle]
pub extern "C" fn evident_open_options_set_commit_delay_us(
    options: *mut evident_open_options,
    delay_us: u64,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        if delay_us > 1_000_000 {
            return Err(Failure::invalid("commit delay must be at most 1 s"));
        }
        o.opts.commit_delay = std::time::Duration::from_micros(delay_us);
        Ok(evident_status::Ok)
    })
}

/// Sets the in-memory buffer size for `EVIDENT_DURABILITY_BUFFERED`, in
/// bytes (default 65536).
#[no_mangle]
pub extern "C" fn evident_open_options_set_buffer_size(
    options: *mut evident_open_options,
    buffer_size: usize,
) -> evident_status {
    ffi_status!({
        let o = try_mut!(options, "options");
        if buffer_size == 0 {
            return Err(Failure::invalid("buffer_size must be at least 1"));
        }
        o.opts.buffer_size = buffer_size;
        Ok(evident_status::Ok)
    })
}
