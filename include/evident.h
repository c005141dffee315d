/*
 * evident.h: the C ABI of evident, tamper-evident, crash-safe, append-only
 * audit logs (JSONL or binary framing, SHA-256 / HMAC hash chain).
 *
 * Link with -levident (shared: libevident.so) or with libevident.a plus
 * -lpthread -ldl -lm (static).
 *
 * OVERVIEW
 *   evident_log_open       open or create a log (evident_open_options)
 *   evident_log_append     append an entry from C fields (evident_event)
 *   evident_log_append_json  append an entry from a JSON object
 *   evident_log_head       the chain head (entry count + last hash)
 *   evident_log_recovery   torn tails moved aside when the log was opened
 *   evident_log_sync / evident_log_close / evident_log_free
 *   evident_verify         check a whole log (evident_verify_options)
 *                          -> evident_verify_result, evident_violation
 *   evident_query_run      read entries with filters (evident_query)
 *                          -> evident_query_iter -> evident_entry
 *
 *   Session files (crash-safe, versioned analysis sessions):
 *   evident_session_new / evident_session_load   -> evident_session
 *   evident_session_add_trace, _annotate, _record_measurement, ...
 *                          change it (structured data as JSON)
 *   evident_session_get_trace  -> evident_trace (samples without copying)
 *   evident_session_save   append a new version (evident_save_options)
 *   evident_session_versions_json / _compact / _verify   whole files
 *
 * ERRORS
 *   Every fallible function returns an evident_status and writes its
 *   results through out-pointers. Out-pointers are set to NULL / zero on
 *   entry, so they are defined on failure too. On failure
 *   evident_last_error() returns one line saying what is wrong, naming the
 *   file when the failure concerns one (evident_last_error_path() gives it)
 *   and, where there is one, the entry (seq, line or byte offset); argument
 *   errors (a bad option, JSON that does not parse) name the argument. NULL
 *   pointers where an object or string is required give
 *   EVIDENT_STATUS_NULL_ARGUMENT; strings and buffers that are not UTF-8
 *   give EVIDENT_STATUS_INVALID_UTF8. No Rust panic ever
 *   crosses this boundary: it becomes EVIDENT_STATUS_PANIC (or the
 *   documented default value of an accessor).
 *
 *   The last error is thread-local. The string returned by
 *   evident_last_error() belongs to the library and stays valid until the
 *   next call, on the same thread, to a function that returns
 *   evident_status (each such call clears it or replaces it).
 *
 * OWNERSHIP
 *   Each object the library allocates has exactly one free function:
 *     evident_open_options   evident_open_options_free
 *     evident_log            evident_log_free
 *     evident_recovery       evident_recovery_free
 *     evident_verify_options evident_verify_options_free
 *     evident_verify_result  evident_verify_result_free
 *     evident_query          evident_query_free
 *     evident_query_iter     evident_query_iter_free
 *     evident_entry          evident_entry_free
 *     evident_session        evident_session_free
 *     evident_trace          evident_trace_free
 *     evident_save_options   evident_save_options_free
 *     char * (documented "free with evident_string_free")
 *                            evident_string_free
 *   Every free function accepts NULL (a no-op). Strings returned as
 *   `const char *` are borrowed from the object named in their
 *   documentation and valid until that object is freed; evident_violation
 *   pointers are borrowed from their evident_verify_result. Strings and
 *   buffers passed in are only read during the call (the library copies
 *   what it keeps; the one exception, the audit log given to
 *   evident_save_options_set_audit_log, is documented there). An
 *   evident_trace owns its samples (shared, not copied) and stays valid
 *   after its session is freed. All strings are NUL-terminated UTF-8.
 *
 * THREAD SAFETY
 *   evident_log: may be used from several threads at once for append,
 *     append_json, sync, head, recovery, close and the accessors (appends are
 *     serialised inside; with EVIDENT_DURABILITY_GROUP_COMMIT concurrent
 *     appenders share fsyncs). evident_log_free needs exclusive access.
 *   evident_open_options, evident_verify_options, evident_query: setters need
 *     exclusive access; once built, one object may be passed to several
 *     concurrent open / verify / query calls.
 *   evident_query_iter: exclusive access (one thread at a time; it may move
 *     between threads).
 *   evident_verify_result, evident_recovery, evident_entry, evident_trace:
 *     immutable; may be read from several threads but not freed while read.
 *   evident_session: functions taking `const evident_session *` may run on
 *     several threads at once; those taking `evident_session *` need
 *     exclusive access. evident_save_options: like evident_open_options.
 *   The last error is per thread. Everything else is reentrant.
 *
 * COMPATIBILITY
 *   evident_abi_version() returns (major << 16) | minor of the loaded
 *   library; EVIDENT_ABI_VERSION is the version of this header. Within one
 *   ABI major version the ABI only grows: functions, enum values, status
 *   codes and constants are added (raising the minor version), never
 *   removed, renumbered or changed; the layouts of the public structs
 *   (evident_event, evident_head) are fixed. A program built against this
 *   header runs with any library of the same major version and an equal or
 *   higher minor version. abi/symbols.txt in the source tree lists every
 *   exported symbol with its prototype; a test fails on any change to it
 *   that breaks this promise.
 */

#ifndef EVIDENT_H
#define EVIDENT_H

/*
 * Generated by cbindgen from src/ffi/ (cbindgen.toml). Do not edit by hand:
 * regenerate with `EVIDENT_BLESS=1 cargo test --test c_abi`.
 */

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

/**
 * Major version of the C ABI. Within one major version the ABI only grows:
 * functions, enum values and constants are added, never removed or changed.
 */
#define EVIDENT_ABI_VERSION_MAJOR 1

/**
 * Minor version of the C ABI, raised whenever something is added.
 */
#define EVIDENT_ABI_VERSION_MINOR 14

/**
 * The ABI version this header describes: `(major << 16) | minor`. Compare
 * it with the value returned by `evident_abi_version()` at run time.
 */
#define EVIDENT_ABI_VERSION ((EVIDENT_ABI_VERSION_MAJOR << 16) | EVIDENT_ABI_VERSION_MINOR)

/**
 * Size of the buffer that holds a hash as lowercase hex plus the
 * terminating NUL (HMAC-SHA512: 128 hex digits + 1).
 */
#define EVIDENT_HASH_HEX_CAPACITY 129

/**
 * Status code returned by every fallible function.
 *
 * The numbers are stable and never reused. Codes 1–99 correspond to the
 * kinds of `evident::Error`; 100–199 are errors of the C boundary itself;
 * `EVIDENT_STATUS_END` is not an error but the end of an iteration. On any
 * status other than `EVIDENT_STATUS_OK` and `EVIDENT_STATUS_END`,
 * `evident_last_error()` describes the problem in one line, naming the
 * file when the failure concerns one and, where there is one, the entry.
 */
enum evident_status
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * Success.
     */
    EVIDENT_STATUS_OK = 0,
    /**
     * An operating-system I/O error (the message names the file and the
     * operation).
     */
    EVIDENT_STATUS_IO = 1,
    /**
     * The file is not an evident log or its structure is damaged.
     */
    EVIDENT_STATUS_MALFORMED = 2,
    /**
     * The log's last record fails its hash check: the chain head cannot be
     * trusted, appending is refused. Run `evident_verify`.
     */
    EVIDENT_STATUS_CORRUPT = 3,
    /**
     * The key does not match the log (or a key is missing / superfluous).
     */
    EVIDENT_STATUS_WRONG_KEY = 4,
    /**
     * Another writer holds the log's lock; the message names the holder.
     */
    EVIDENT_STATUS_LOCKED = 5,
    /**
     * An argument is invalid (bad JSON, timestamp, enum value, short key…).
     */
    EVIDENT_STATUS_INVALID_ARGUMENT = 6,
    /**
     * An entry is larger than the format allows.
     */
    EVIDENT_STATUS_TOO_LARGE = 7,
    /**
     * An earlier write or fsync failed; reopen the log.
     */
    EVIDENT_STATUS_POISONED = 8,
    /**
     * The log needs a newer version of this library.
     */
    EVIDENT_STATUS_UNSUPPORTED = 9,
    /**
     * The log has been closed.
     */
    EVIDENT_STATUS_CLOSED = 10,
    /**
     * A named thing (a session trace, annotation layer, version) does not
     * exist.
     */
    EVIDENT_STATUS_NOT_FOUND = 11,
    /**
     * A session's annotation layer is locked against changes.
     */
    EVIDENT_STATUS_LAYER_LOCKED = 12,
    /**
     * The log handle was opened by another process: it was inherited over
     * `fork()`. Nothing was written; open the log again in the child (and
     * free the inherited handle there, which leaves the parent's lock
     * alone).
     */
    EVIDENT_STATUS_FORKED = 13,
    /**
     * A shared-mode writer found the log cut back or rewritten below an
     * entry it appended itself; nothing was appended. Run `evident_verify`.
     */
    EVIDENT_STATUS_ROLLED_BACK = 14,
    /**
     * A database error (PostgreSQL: connection, permission, schema). The
     * message names the database without its password.
     */
    EVIDENT_STATUS_DATABASE = 15,
    /**
     * Shipping refused entries that do not continue the database's chain
     * for their log (a fork, a rewritten or truncated local file); nothing
     * was inserted and the refusal is recorded in the database.
     */
    EVIDENT_STATUS_REFUSED = 16,
    /**
     * A required pointer argument was NULL.
     */
    EVIDENT_STATUS_NULL_ARGUMENT = 100,
    /**
     * A string argument was not valid UTF-8.
     */
    EVIDENT_STATUS_INVALID_UTF8 = 101,
    /**
     * An internal error (a Rust panic) was caught at the boundary. The
     * object involved should not be used further except to free it.
     */
    EVIDENT_STATUS_PANIC = 102,
    /**
     * An iterator has no more items (not an error).
     */
    EVIDENT_STATUS_END = 200,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum evident_status evident_status;
#else
typedef uint32_t evident_status;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * The two framings of a log. Passed as `uint32_t`.
 */
enum evident_framing
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * New logs: binary when the path ends in `.evl` or `.bin`, else JSONL;
     * existing logs: whatever the file is.
     */
    EVIDENT_FRAMING_AUTO = 0,
    /**
     * One JSON object per line.
     */
    EVIDENT_FRAMING_JSONL = 1,
    /**
     * CRC-protected binary frames.
     */
    EVIDENT_FRAMING_BINARY = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum evident_framing evident_framing;
#else
typedef uint32_t evident_framing;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Hash algorithms. Passed as `uint32_t`.
 */
enum evident_alg
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * New logs: HMAC-SHA256 when a key is set, else SHA-256.
     */
    EVIDENT_ALG_AUTO = 0,
    /**
     * Keyless SHA-256.
     */
    EVIDENT_ALG_SHA256 = 1,
    /**
     * HMAC-SHA256 (needs a key).
     */
    EVIDENT_ALG_HMAC_SHA256 = 2,
    /**
     * HMAC-SHA512 (needs a key).
     */
    EVIDENT_ALG_HMAC_SHA512 = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum evident_alg evident_alg;
#else
typedef uint32_t evident_alg;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * The kinds of verification violation (the same numbers as
 * `evident::ViolationKind`).
 */
enum evident_violation_kind
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * A record's stored hash is not the hash of its body.
     */
    EVIDENT_VIOLATION_KIND_HASH_MISMATCH = 1,
    /**
     * A record's `prev` is not the previous record's hash.
     */
    EVIDENT_VIOLATION_KIND_CHAIN_BREAK = 2,
    /**
     * A record's `seq` is not one more than the previous record's.
     */
    EVIDENT_VIOLATION_KIND_SEQ_GAP = 3,
    /**
     * Bytes that are not a record (bad framing, CRC, JSON or fields).
     */
    EVIDENT_VIOLATION_KIND_MALFORMED = 4,
    /**
     * The file ends in an incomplete record (a torn write); opening the log
     * moves it aside. Nothing before it is damaged.
     */
    EVIDENT_VIOLATION_KIND_TORN_TAIL = 5,
    /**
     * The key does not match the log.
     */
    EVIDENT_VIOLATION_KIND_WRONG_KEY = 6,
    /**
     * The log id is not the expected one.
     */
    EVIDENT_VIOLATION_KIND_WRONG_LOG_ID = 7,
    /**
     * The log does not reach the expected head, or has another hash there.
     */
    EVIDENT_VIOLATION_KIND_HEAD_MISMATCH = 8,
    /**
     * The log needs a newer reader.
     */
    EVIDENT_VIOLATION_KIND_UNSUPPORTED = 9,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum evident_violation_kind evident_violation_kind;
#else
typedef uint32_t evident_violation_kind;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * When an append is durable. Passed as `uint32_t`.
 */
enum evident_durability
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * Every append is fsynced before it returns (default).
     */
    EVIDENT_DURABILITY_SYNC = 1,
    /**
     * Concurrent appenders share one fsync; each append returns once its
     * entry is durable.
     */
    EVIDENT_DURABILITY_GROUP_COMMIT = 2,
    /**
     * Entries are durable only after `evident_log_sync` or
     * `evident_log_close`.
     */
    EVIDENT_DURABILITY_BUFFERED = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum evident_durability evident_durability;
#else
typedef uint32_t evident_durability;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * How writers share a log. Passed as `uint32_t`.
 */
enum evident_lock_mode
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * One writer holds the lock while the log is open (default).
     */
    EVIDENT_LOCK_MODE_EXCLUSIVE = 1,
    /**
     * Several processes append; each append takes the lock briefly.
     */
    EVIDENT_LOCK_MODE_SHARED = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum evident_lock_mode evident_lock_mode;
#else
typedef uint32_t evident_lock_mode;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Query reading order. Passed as `uint32_t`.
 */
enum evident_order
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * From the first entry to the last (default).
     */
    EVIDENT_ORDER_OLDEST_FIRST = 1,
    /**
     * From the last entry backward.
     */
    EVIDENT_ORDER_NEWEST_FIRST = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum evident_order evident_order;
#else
typedef uint32_t evident_order;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Sample types of a trace. Passed as `uint32_t`. Samples are
 * little-endian.
 */
enum evident_dtype
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * 64-bit IEEE 754 floating point (`double`).
     */
    EVIDENT_DTYPE_F64 = 1,
    /**
     * 32-bit IEEE 754 floating point (`float`).
     */
    EVIDENT_DTYPE_F32 = 2,
    /**
     * `int8_t`.
     */
    EVIDENT_DTYPE_I8 = 3,
    /**
     * `int16_t`.
     */
    EVIDENT_DTYPE_I16 = 4,
    /**
     * `int32_t`.
     */
    EVIDENT_DTYPE_I32 = 5,
    /**
     * `int64_t`.
     */
    EVIDENT_DTYPE_I64 = 6,
    /**
     * `uint8_t`.
     */
    EVIDENT_DTYPE_U8 = 7,
    /**
     * `uint16_t`.
     */
    EVIDENT_DTYPE_U16 = 8,
    /**
     * `uint32_t`.
     */
    EVIDENT_DTYPE_U32 = 9,
    /**
     * `uint64_t`.
     */
    EVIDENT_DTYPE_U64 = 10,
    /**
     * One byte per sample, 0 or 1 (C `bool`).
     */
    EVIDENT_DTYPE_BOOL = 11,
    /**
     * Packed bits for digital channels: eight samples per byte, the first
     * sample in the least significant bit; `len_samples` samples take
     * `(len_samples + 7) / 8` bytes.
     */
    EVIDENT_DTYPE_BIT = 12,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum evident_dtype evident_dtype;
#else
typedef uint32_t evident_dtype;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * A waveform measurement (see `evident_measure_samples`). Passed as
 * `uint32_t`.
 */
enum evident_measure
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
    /**
     * Hz, from the mean period between rising 50 % crossings.
     */
    EVIDENT_MEASURE_FREQUENCY = 1,
    /**
     * Seconds, mean period between rising 50 % crossings.
     */
    EVIDENT_MEASURE_PERIOD = 2,
    /**
     * Top minus base (IEEE 181 histogram state levels).
     */
    EVIDENT_MEASURE_AMPLITUDE = 3,
    /**
     * Seconds, 10 %-90 % time of the first complete rising transition.
     */
    EVIDENT_MEASURE_RISE_TIME = 4,
    /**
     * Seconds, 90 %-10 % time of the first complete falling transition.
     */
    EVIDENT_MEASURE_FALL_TIME = 5,
    /**
     * Percent of each whole period above the 50 % level.
     */
    EVIDENT_MEASURE_DUTY_CYCLE = 6,
    /**
     * Percent, RMS of harmonics 2..10 over the fundamental (Hann FFT).
     */
    EVIDENT_MEASURE_THD = 7,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum evident_measure evident_measure;
#else
typedef uint32_t evident_measure;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * One entry read from a log.
 *
 * Thread safety: immutable; may be read from several threads, but not
 * freed while read. Ownership: created by `evident_query_next`, freed with
 * `evident_entry_free`; every string its accessors return belongs to it
 * and stays valid until then.
 *
 * Strings are NUL-terminated UTF-8. A field that contains U+0000 (possible
 * in entries appended as JSON) ends at that character in the accessors;
 * `evident_entry_to_json` always gives the exact content.
 */
typedef struct evident_entry evident_entry;

/**
 * An open log.
 *
 * Thread safety: one `evident_log` may be used from several threads at
 * once for `evident_log_append`, `evident_log_append_json`,
 * `evident_log_append_batch`, `evident_log_append_jsonl`,
 * `evident_log_append_json_array`, `evident_log_sync`, `evident_log_head`,
 * `evident_log_recovery`, `evident_log_close` and the accessors (appends are serialised inside;
 * with `EVIDENT_DURABILITY_GROUP_COMMIT` concurrent appenders share
 * fsyncs). `evident_log_free` needs exclusive access: no other call on the
 * log may be running or follow.
 * Processes: a log handle belongs to the process that opened it. After
 * `fork()` the child must not use an inherited handle (it shares the
 * parent's file offset, lock and chain head): append, sync and close fail
 * there with `EVIDENT_STATUS_FORKED` and write nothing. Open the log again
 * in the child (shared mode if the parent keeps writing);
 * `evident_log_free` on the inherited handle in the child frees its memory
 * and leaves the parent's lock alone.
 * Ownership: created by `evident_log_open`, freed with `evident_log_free`.
 */
typedef struct evident_log evident_log;

/**
 * Options for `evident_log_open`, built with the `evident_open_options_set_*`
 * functions. A new object holds the defaults: framing chosen by the path
 * (binary for `.evl`/`.bin`), SHA-256 (HMAC-SHA256 once a key is set),
 * `EVIDENT_DURABILITY_SYNC`, `EVIDENT_LOCK_MODE_EXCLUSIVE`, lock timeout 0
 * (exclusive) / 10 s (shared), create = true, create_new = false, actor =
 * the OS user, host = this machine's host name.
 *
 * Thread safety: setters need exclusive access; once built, one options
 * object may be read by several concurrent `evident_log_open` calls.
 * Ownership: created by `evident_open_options_new`, freed with
 * `evident_open_options_free`; `evident_log_open` copies what it needs.
 */
typedef struct evident_open_options evident_open_options;

/**
 * Filters and order for `evident_query_run`, built with the
 * `evident_query_set_*` functions. Every filter set must match (AND);
 * string filters match exactly. A new query has no filter, reads oldest
 * first and has no limit.
 *
 * Thread safety: setters need exclusive access; a built query may be read
 * by several concurrent `evident_query_run` calls. Ownership: created by
 * `evident_query_new`, freed with `evident_query_free`; `evident_query_run`
 * copies it.
 */
typedef struct evident_query evident_query;

/**
 * An iterator over the entries matching a query.
 *
 * Thread safety: needs exclusive access (one thread at a time; it may move
 * between threads). Ownership: created by `evident_query_run`, freed with
 * `evident_query_iter_free`. Entries it yields are independent objects.
 */
typedef struct evident_query_iter evident_query_iter;

/**
 * The torn-tail report of one log handle: what `evident_log_open` (or, in
 * shared mode, a later append) found and moved aside.
 *
 * Thread safety: a snapshot; may be read from any thread, but not freed
 * while read. Ownership: created by `evident_log_recovery`, freed with
 * `evident_recovery_free`; the strings it returns belong to it.
 */
typedef struct evident_recovery evident_recovery;

/**
 * Options for `evident_session_save`, built with the
 * `evident_save_options_set_*` functions. Defaults: no compression, traces
 * included, no key, fsync on (`sync` true), lock timeout 10 s (how long a
 * save waits for another process saving the same file), no audit log.
 *
 * Thread safety: setters need exclusive access; a built object may be read
 * by several concurrent `evident_session_save` calls (on different
 * sessions). Ownership: created by `evident_save_options_new`, freed with
 * `evident_save_options_free`; the audit log set with
 * `evident_save_options_set_audit_log` is borrowed, not owned.
 */
typedef struct evident_save_options evident_save_options;

/**
 * An analysis session: traces, annotation layers, measurements, operation
 * history and metadata, in memory; saved with `evident_session_save`.
 *
 * Thread safety: functions taking `const evident_session *` may run on
 * several threads at once; a function taking `evident_session *` (a
 * change, a save, `evident_session_free`) needs exclusive access: no other
 * call on the session may run at the same time. A session may move between
 * threads. Ownership: created by `evident_session_new` or
 * `evident_session_load`, freed with `evident_session_free`.
 */
typedef struct evident_session evident_session;

/**
 * One trace of a session: its samples and what they mean. An independent,
 * immutable object: it keeps its samples (for a loaded session, the file
 * mapping) alive by itself, so it stays valid after the session is freed,
 * changed or saved, until `evident_trace_free`.
 *
 * Thread safety: immutable; may be read from several threads at once, but
 * not freed while read. Ownership: created by `evident_session_get_trace`,
 * freed with `evident_trace_free`.
 */
typedef struct evident_trace evident_trace;

/**
 * Options for `evident_verify`, built with the `evident_verify_options_set_*`
 * functions. Defaults: no key, no expected head or log id, stop at the
 * first violation, one worker per core, no progress callback.
 *
 * Thread safety: setters need exclusive access; a built object may be read
 * by several concurrent `evident_verify` calls (the progress callback is
 * then called from each of them). Ownership: created by
 * `evident_verify_options_new`, freed with `evident_verify_options_free`.
 */
typedef struct evident_verify_options evident_verify_options;

/**
 * The result of `evident_verify`.
 *
 * Thread safety: immutable once returned; may be read from several
 * threads, but not freed while read. Ownership: created by
 * `evident_verify`, freed with `evident_verify_result_free`; every string
 * and `evident_violation` it returns belongs to it and stays valid until
 * then.
 */
typedef struct evident_verify_result evident_verify_result;

/**
 * One violation found by verify, borrowed from its `evident_verify_result`.
 */
typedef struct evident_violation evident_violation;

/**
 * One entry to append, as plain C fields. Zero-initialise it
 * (`evident_event ev = {0};` in C, `evident_event ev{};` in C++) and set
 * what you need; every pointer may be NULL (= unset). Strings are
 * NUL-terminated UTF-8 and are only read during the call.
 *
 * The layout of this struct is fixed for ABI major version 1; event fields
 * added later are reachable through `evident_log_append_json`.
 */
typedef struct {
    /**
     * Category of the event (e.g. `"ACTION_EXECUTED"`). NULL: `""`.
     */
    const char *event_type;
    /**
     * What was done (e.g. `"load_trace"`). NULL: `""`.
     */
    const char *action;
    /**
     * Who did it. NULL: the log's default actor.
     */
    const char *actor;
    /**
     * Where. NULL: the log's default host.
     */
    const char *host;
    /**
     * Session the event belongs to. NULL: `""`.
     */
    const char *session_id;
    /**
     * Originating component or tool. NULL: `""`.
     */
    const char *source;
    /**
     * Error text of a failed action. NULL: none.
     */
    const char *error;
    /**
     * Free-text note. NULL: none.
     */
    const char *note;
    /**
     * Source revision the action ran from. NULL: none.
     */
    const char *git_commit;
    /**
     * Details as a JSON text (any JSON value, usually an object). NULL: `{}`.
     */
    const char *details_json;
    /**
     * Explicit RFC 3339 timestamp (for imports). NULL: now.
     */
    const char *ts;
    /**
     * Off-the-record flag.
     */
    bool otr;
    /**
     * Whether `success` is set.
     */
    bool has_success;
    /**
     * Outcome of the action (read when `has_success`).
     */
    bool success;
    /**
     * Whether `duration_ms` is set.
     */
    bool has_duration_ms;
    /**
     * Duration in milliseconds (read when `has_duration_ms`; finite).
     */
    double duration_ms;
} evident_event;

/**
 * The chain head: the number of entries (= the last seq, 0 for a log
 * without entries) and the hash of the last record as lowercase hex,
 * NUL-terminated (64 hex digits for SHA-256 / HMAC-SHA256, 128 for
 * HMAC-SHA512). Keep it outside the log to detect truncation later (see
 * `evident_verify_options_set_expected_head`).
 */
typedef struct {
    /**
     * Seq of the last entry (= the number of entries).
     */
    uint64_t seq;
    /**
     * Hash of the last record, lowercase hex, NUL-terminated.
     */
    char hash[EVIDENT_HASH_HEX_CAPACITY];
} evident_head;

/**
 * Progress callback for `evident_verify`: called with the bytes checked so
 * far and the file size, on the thread that called `evident_verify`. It
 * must not unwind (no C++ exception may leave it) and must not free the
 * options object it was set on.
 */
typedef void (*evident_progress_fn)(void *user_data, uint64_t done, uint64_t total);

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * Returns the version of the library (e.g. `"0.1.0"`), a static string.
 */
const char *evident_version(void);

/**
 * Returns the ABI version of the loaded library: `(major << 16) | minor`.
 * A program built against this header works with any library whose major
 * version equals `EVIDENT_ABI_VERSION_MAJOR` and whose minor version is at
 * least `EVIDENT_ABI_VERSION_MINOR`:
 *
 * ```c
 * uint32_t v = evident_abi_version();
 * bool ok = (v >> 16) == EVIDENT_ABI_VERSION_MAJOR && v >= EVIDENT_ABI_VERSION;
 * ```
 */
uint32_t evident_abi_version(void);

/**
 * Returns the message of the last failure on the calling thread, or `""`
 * when the last status-returning call on this thread succeeded. Never NULL.
 *
 * Ownership: the string belongs to the library. It stays valid until the
 * next call, on the same thread, to an evident function that returns
 * `evident_status` (each such call clears or replaces it). Copy it (or use
 * `evident_last_error_copy`) to keep it.
 */
const char *evident_last_error(void);

/**
 * Copies the last error message of the calling thread into `buf` (at most
 * `buf_len - 1` bytes, always NUL-terminated when `buf_len > 0`) and returns
 * the full length of the message in bytes, without the NUL (like
 * `snprintf`). `buf` may be NULL when `buf_len` is 0 (to ask for the size).
 * Does not change the last error.
 */
size_t evident_last_error_copy(char *buf, size_t buf_len);

/**
 * Returns the operating-system error code (`errno`, e.g. `ENOENT`) of the
 * last failure on the calling thread when it was an I/O error
 * (`EVIDENT_STATUS_IO`) that the OS reported with a code; 0 otherwise (no
 * failure, another kind of failure, or an I/O error without a code). Valid
 * under the same rule as `evident_last_error`: until the next call, on the
 * same thread, to a function that returns `evident_status`. On Windows
 * the OS's Win32 error is translated to the C runtime's `errno` value (a
 * missing file or directory is `ENOENT`), as the CRT itself does.
 *
 * ```c
 * if (evident_log_open(path, NULL, &log) == EVIDENT_STATUS_IO
 *     && evident_last_errno() == ENOENT) { ... }
 * ```
 */
int evident_last_errno(void);

/**
 * Returns the file the last failure on the calling thread is about (for an
 * I/O error: the file the OS refused, which may be the lock file or a
 * sidecar rather than the log), or NULL when the failure names no file or
 * there was none. The bytes are the path as given or built by the library
 * (not necessarily UTF-8). Owned by the library; valid under the same rule
 * as `evident_last_error`.
 */
const char *evident_last_error_path(void);

/**
 * Returns the name of a status code (e.g. `"EVIDENT_STATUS_LOCKED"`), or
 * `"EVIDENT_STATUS_UNKNOWN"` for a number this library does not know. A
 * static string.
 */
const char *evident_status_name(uint32_t status);

/**
 * Returns the stable snake_case name of a violation kind (e.g.
 * `"hash_mismatch"`), or `"unknown"`. A static string.
 */
const char *evident_violation_kind_name(uint32_t kind);

/**
 * Frees a string returned by the library with "free with
 * evident_string_free" in its documentation. NULL is a no-op. Never pass a
 * borrowed string (one documented as owned by an object).
 */
void evident_string_free(char *s);

/**
 * Makes a key pair named `name` (a log key, or with `witness` non-zero a
 * cosignature key): `*out_skey` receives the private key text
 * (`PRIVATE+KEY+…`), `*out_vkey` the public key text.
 */
evident_status evident_checkpoint_keygen(const char *name,
                                         int32_t witness,
                                         char **out_skey,
                                         char **out_vkey);

/**
 * Signs a checkpoint of the log at `log` with the private key text
 * `skey`; `*out_checkpoint` receives the signed checkpoint. Options
 * (`options_json`, NULL for none): `origin`, `size`, `key_hex` (the HMAC
 * key of a keyed log), `no_sidecar` (do not check against or append to
 * `<log>.checkpoints`). In every `options_json` of the checkpoint
 * functions a member of another name or type is refused
 * (`EVIDENT_STATUS_INVALID_ARGUMENT` naming it); `null` is leaving it out.
 */
evident_status evident_checkpoint_create(const char *log,
                                         const char *skey,
                                         const char *options_json,
                                         char **out_checkpoint);

/**
 * Checks the log at `log` against the signed checkpoint text `cp` and the
 * log's public key `vkey`. `*out_report_json` receives the report (JSON:
 * `valid`, `outcome` — `match`, `truncated`, `root_mismatch`, `damaged`,
 * `bad_signature`, `too_few_witnesses` — `message`, `mode`, `log_size`,
 * …). Options: `incremental`, `witness_keys` (array of public key texts),
 * `min_witnesses`, `origin` (the origin the checkpoint must have; default
 * the log's, `evident/<log id>`), `key_hex`. Returns OK whatever the outcome;
 * an error only when the log cannot be read or an argument is wrong.
 */
evident_status evident_checkpoint_verify(const char *log,
                                         const char *cp,
                                         const char *vkey,
                                         const char *options_json,
                                         char **out_report_json);

/**
 * The inclusion proof (`c2sp.org/tlog-proof@v1` text) of entry `seq` of
 * the log at `log` against the signed checkpoint text `cp`.
 */
evident_status evident_checkpoint_prove(const char *log,
                                        uint64_t seq,
                                        const char *cp,
                                        char **out_proof);

/**
 * The consistency proof (a `tlog-witness` request text) from the
 * checkpoint text `old_cp` to `new_cp`, both of the log at `log`.
 */
evident_status evident_checkpoint_prove_consistency(const char *log,
                                                    const char *old_cp,
                                                    const char *new_cp,
                                                    char **out_proof);

/**
 * Verifies a proof text with the log's public key: an inclusion proof
 * (`old_cp` NULL), or a consistency proof from the checkpoint text
 * `old_cp`. `*out_valid` is 1 when it verifies, else 0 with the reason in
 * `*out_reason` (NULL when valid; free with `evident_string_free`).
 * The proof's checkpoint may have any origin: use
 * `evident_checkpoint_verify_proof_origin` to require the log's.
 */
evident_status evident_checkpoint_verify_proof(const char *proof,
                                               const char *vkey,
                                               const char *old_cp,
                                               int32_t *out_valid,
                                               char **out_reason);

/**
 * `evident_checkpoint_verify_proof`, also requiring the proof's
 * checkpoint to have the origin `origin` (for a log of evident,
 * `evident/<log id>` unless it was signed with another; NULL: any origin).
 * A checkpoint of another origin is invalid (`*out_valid` 0, the reason
 * naming both origins), as `evident verify-proof --origin` reports it
 * (since ABI 1.8).
 */
evident_status evident_checkpoint_verify_proof_origin(const char *proof,
                                                      const char *vkey,
                                                      const char *old_cp,
                                                      const char *origin,
                                                      int32_t *out_valid,
                                                      char **out_reason);

/**
 * A witness over the store directory `store` with the private key text
 * `skey` (a cosignature key, or an Ed25519 note key used as one) accepting the logs whose public key texts
 * are in the JSON array `log_vkeys_json`, handles the request text
 * `request` (`old N`, proof lines, blank line, checkpoint). `*out_json`
 * receives `{"status": 200|400|403|404|409|422, "outcome", "message",
 * "signature_lines", "cosigned", "latest", "evidence"}`.
 */
evident_status evident_witness_add_checkpoint(const char *store,
                                              const char *skey,
                                              const char *log_vkeys_json,
                                              const char *request,
                                              char **out_json);

/**
 * Makes logs opened with `options` sign checkpoints automatically
 * (spec/checkpoints.md § 2.1) with the private key text `skey` (a log
 * key, `PRIVATE+KEY+…`): after every `every_entries` entries (0: not by
 * count), at the first append once `every_ms` milliseconds have passed
 * since the last checkpoint (0: not by time), and at close, into
 * `<log>.checkpoints`; with `in_log` non-zero each checkpoint is also
 * written as a checkpoint record in the log. Before a checkpoint the log
 * is synced (in `EVIDENT_DURABILITY_BUFFERED` mode a due checkpoint is a
 * sync point), so a checkpoint never claims more than is durable. A
 * failure to sign does not fail the append (see
 * `evident_log_checkpoint_error`); at close it is returned by
 * `evident_log_close` after the log is closed. Needs
 * `EVIDENT_LOCK_MODE_EXCLUSIVE` (open refuses shared mode). `skey` NULL
 * turns automatic checkpoints off.
 */
evident_status evident_open_options_set_checkpoint(evident_open_options *options,
                                                   const char *skey,
                                                   uint64_t every_entries,
                                                   uint64_t every_ms,
                                                   int32_t in_log);

/**
 * The last failure to sign an automatic checkpoint of `log`:
 * `*out_message` receives its text (free with `evident_string_free`), or
 * NULL when the last attempt succeeded or none failed.
 */
evident_status evident_log_checkpoint_error(const evident_log *log, char **out_message);

/**
 * Checks the checkpoint records in the log at `log` (spec/checkpoints.md
 * § 2.2) with the log's public key text `vkey`: `*out_report_json`
 * receives `{"valid", "checkpoints", "last_size", "failures",
 * "records_read"}`. Options (`options_json`, NULL for none): `key_hex`
 * (the HMAC key of a keyed log).
 */
evident_status evident_checkpoint_verify_in_log(const char *log,
                                                const char *vkey,
                                                const char *options_json,
                                                char **out_report_json);

/**
 * The checkpoints in the sidecar `<log>.checkpoints` of the log at `log`,
 * in order: `*out_json` receives a JSON array of `{"size", "origin",
 * "checkpoint"}` (the signed note text); `[]` when there is none.
 */
evident_status evident_checkpoint_list(const char *log, char **out_json);

/**
 * RTGS Lab Tools operation records of `entries_json`, a JSON array of
 * evident entries (as `evident_query` returns them; at least `ts`).
 * `*out_json` receives a JSON array with one object per entry, in the
 * same order, with RTGS's documented keys (`timestamp` as RFC 3339 UTC
 * text, `operation_id`, `tool_name`, `operation`, `user`, `git_branch`,
 * `git_commit`, `parameters`, `results`, `duration_seconds`, `success`,
 * `error_message`, `note`, `status`) and `hostname`, `seq`, `hash`;
 * `parameters` and `results` list their members in the order the
 * operation gave them (`details.parameter_order` / `result_order`, which
 * the RTGS compat records), else by name.
 */
evident_status evident_compat_rtgs_records(const char *entries_json, char **out_json);

/**
 * RTGS's date range: `start` and `end` (each NULL for none) are
 * `YYYY-MM-DD` (a UTC day) or an RFC 3339 time with its offset.
 * `*out_json` receives `{"since": …, "until": …}` (RFC 3339 UTC text or
 * null), the half-open range `[since, until)`: an end day is included
 * whole, an end time up to that instant. A bound in another form is
 * `EVIDENT_INVALID_ARGUMENT`, naming `start_date` or `end_date`.
 */
evident_status evident_compat_rtgs_range(const char *start, const char *end, char **out_json);

/**
 * The compatibility layers' one rule for time arguments given as text
 * (see `compat::parse_time`): `text` is `YYYY-MM-DD` (a day),
 * `YYYY-MM-DD[T ]HH:MM[:SS[.f]]` (a naive, local time) or the same with
 * `Z` or `±HH:MM` (an instant); `name` names the argument in the error
 * (`EVIDENT_INVALID_ARGUMENT` for any other form). `*out_json` receives
 * `{"kind": "day"|"naive"|"instant", "value": …}`: `YYYY-MM-DD`,
 * `YYYY-MM-DDTHH:MM:SS.ffffff` (local; the binding applies its host's
 * time zone) or RFC 3339 UTC text. Free with `evident_string_free`.
 */
evident_status evident_compat_parse_time(const char *text, const char *name, char **out_json);

/**
 * The file name (`NAME.jsonl`, no directory) of SecureML operation
 * `operation_name`'s log: characters other than ASCII letters, digits,
 * `.`, `_`, `-` replaced by `_`, leading dots dropped, at most 120
 * characters, `operation` when nothing is left. `*out_name` receives it.
 */
evident_status evident_compat_secureml_file_name(const char *operation_name, char **out_name);

/**
 * RTGS Lab Tools' recent operations in the evident log `log_path`: the
 * `limit` newest (a negative `limit`: all) operations (`event_type`
 * `tool_operation`) by time, then seq, of tool `tool_name` (NULL: any),
 * at or after `since` (NULL: any; RFC 3339 with its offset), newest
 * first. By time, not log position: an operation imported with its
 * original time takes its place in time. Reads the whole log, holding at
 * most `limit` entries. `*out_json` receives a JSON array of RTGS records
 * (as `evident_compat_rtgs_records` makes them). A missing log is
 * `EVIDENT_NOT_FOUND` or an I/O error as for `evident_query`; a damaged
 * record fails, naming the file and the record.
 */
evident_status evident_compat_rtgs_recent(const char *log_path,
                                          const char *tool_name,
                                          const char *since,
                                          int64_t limit,
                                          char **out_json);

/**
 * The RTGS compatibility layer's places and logging status, from the
 * process environment: the directory (`EVIDENT_RTGS_DIR`, else
 * `$XDG_DATA_HOME/evident/rtgs`, else `$HOME/.local/share/evident/rtgs`),
 * the log `audit.jsonl` and the switch file `logging.json` in it, and
 * the PostgreSQL configuration (as `evident_compat_rtgs_pg_config` with
 * `.env` in the working directory). `*out_json` receives `{"dir",
 * "log_path", "status_file", "status": {…}}` where `status` is RTGS's
 * `get_logging_status()` (`enabled`: off only when `logging.json` says
 * so; `storage`, `database` when PostgreSQL is configured, `log_path`,
 * `message`). No place (none of the three variables set) is
 * `EVIDENT_INVALID_ARGUMENT`.
 */
evident_status evident_compat_rtgs_status(char **out_json);

/**
 * RTGS Lab Tools' PostgreSQL configuration: `POSTGRES_HOST`,
 * `POSTGRES_PORT` (default 5432), `POSTGRES_DB`, `POSTGRES_USER`,
 * `POSTGRES_PASSWORD` from the process environment, else from the file
 * `dotenv_path` (NULL: `.env` in the working directory; a file that
 * cannot be read as UTF-8 counts as empty). `*out_json` receives `null`
 * when the host or database is missing, else `{"url": …, "database": …}`:
 * the connection URL (password included, `connect_timeout=5`) and the
 * URL without password to show in messages.
 */
evident_status evident_compat_rtgs_pg_config(const char *dotenv_path, char **out_json);

/**
 * What `rtgs audit recent` prints for `records_json`, a JSON array of
 * RTGS operation records (as `evident_compat_rtgs_records` returns them,
 * newest first; `timestamp` RFC 3339 with any offset): one line per
 * record (UTC time, ✅/❌, tool, operation, duration, status, note and
 * error when not empty), or `No recent logs found.` for none.
 * `*out_text` receives the lines joined by `\n`. A record without a
 * readable `timestamp` is `EVIDENT_INVALID_ARGUMENT`.
 */
evident_status evident_compat_rtgs_recent_text(const char *records_json, char **out_text);

/**
 * Whether SecureML's `AuditTrail.close(status)` is a success:
 * `*out_json` receives `true` for `completed`, `complete`, `success`,
 * `succeeded`, `ok`, `done` (any case), else `false`.
 */
evident_status evident_compat_secureml_status_success(const char *status, char **out_json);

/**
 * What SecureML's `get_audit_logs` reads in `log_dir`: operation
 * `operation_name`'s log (NULL: every `*.jsonl` file, in name order), and
 * the time range from `start_time` and `end_time` (each NULL for none; RFC
 * 3339 with offset; `end_time` included). `*out_json` receives
 * `{"files": [paths of existing files], "skipped": [paths], "since": …,
 * "until": …}` (RFC 3339 UTC text or null; `until` exclusive). Reading
 * every log, `skipped` lists the `*.jsonl` files that do not start as an
 * evident log (another program's), which are not in `files` (an empty
 * file is). A missing directory or log gives no files; a time in
 * another form is `EVIDENT_INVALID_ARGUMENT`.
 */
evident_status evident_compat_secureml_select(const char *log_dir,
                                              const char *operation_name,
                                              const char *start_time,
                                              const char *end_time,
                                              char **out_json);

/**
 * Checks a dataset against `regulation` (any name, compared upper-cased;
 * GDPR, CCPA, HIPAA have their own wording). `dataset_json` is an object
 * `{"columns": [{"name": "email", "values": [...]}, ...], "dataset_name":
 * "...", "num_records": N, "metadata": {"consent_obtained": true,
 * "purpose": "..."}}` (only `columns` is required; only string values
 * are looked at, at most 1000 per column). `*out_report_json` receives the
 * report: `{"regulation", "dataset_name", "num_records", "columns",
 * "personal_data_columns" ({column: category}, in column order),
 * "issues" ([{"component", "issue", "severity", "recommendation"}]),
 * "warnings" ([{"component", "warning", "recommendation"}]),
 * "passed_checks", "compliant", "checks" ([{"check", "passed",
 * "details"}])}` (free with `evident_string_free`; NULL on failure).
 * Bad JSON returns `EVIDENT_STATUS_INVALID_ARGUMENT`.
 */
evident_status evident_compliance_check(const char *regulation,
                                        const char *dataset_json,
                                        char **out_report_json);

/**
 * Opens the log at `path` (UTF-8), creating it when it does not exist
 * (unless the options say otherwise). Opening takes the lock, reads the
 * genesis, and recovers the tail: a torn last record is moved into a
 * sidecar file `<path>.torn-<time>-at-<offset>` (see `evident_log_recovery`);
 * a last record that fails its hash check gives `EVIDENT_STATUS_CORRUPT`.
 *
 * `options` may be NULL (all defaults); it is not kept. `*out_log`
 * receives the log (NULL on failure); free it with `evident_log_free`.
 * `EVIDENT_STATUS_LOCKED` means another writer holds the log; the message
 * names it (pid, host, user, since when).
 */
evident_status evident_log_open(const char *path,
                                const evident_open_options *options,
                                evident_log **out_log);

/**
 * Appends one entry built from C fields. In the durable modes the entry is
 * on disk when this returns `EVIDENT_STATUS_OK`.
 *
 * `out_head` may be NULL; otherwise it receives the new head (the new
 * entry's seq and hash), or zeros on failure.
 */
evident_status evident_log_append(evident_log *log,
                                  const evident_event *event,
                                  evident_head *out_head);

/**
 * Appends one entry given as a JSON object with the fields of an event:
 * `event_type`, `action`, `actor`, `host`, `session_id`, `source`, `otr`,
 * `success`, `duration_ms`, `error`, `note`, `git_commit`, `details`, `ts`
 * (RFC 3339). Unknown fields are rejected (`EVIDENT_STATUS_INVALID_ARGUMENT`).
 *
 * `out_head` may be NULL; otherwise it receives the new head, or zeros on
 * failure.
 */
evident_status evident_log_append_json(evident_log *log,
                                       const char *event_json,
                                       evident_head *out_head);

/**
 * Appends `count` entries built from C fields as one batch: one lock, one
 * write and, in the durable modes, one fsync for all of them. In the
 * durable modes every entry is on disk when this returns
 * `EVIDENT_STATUS_OK`; on any other status none of them is acknowledged.
 * Every event is checked before anything is written: an invalid event
 * rejects the whole batch (the message names its index) and writes
 * nothing. A crash during the call may leave a prefix of the batch in the
 * log as valid entries (spec § 10.5): check the head before retrying.
 *
 * `events` points to `count` events (may be NULL when `count` is 0; an
 * empty batch writes nothing). `out_heads` may be NULL; otherwise it
 * points to `count` caller-owned `evident_head`s that receive each entry's
 * head in order (untouched on failure). Nothing is kept after the call.
 */
evident_status evident_log_append_batch(evident_log *log,
                                        const evident_event *events,
                                        size_t count,
                                        evident_head *out_heads);

/**
 * Appends the events of a buffer of newline-separated JSON objects (the
 * form of `evident_log_append_json`, one per line; empty lines and a
 * `\r` before the newline are ignored) as one batch, with the guarantees
 * of `evident_log_append_batch`. An invalid line rejects the whole batch
 * (the message names its line number) and writes nothing.
 *
 * `buf` points to `len` bytes of UTF-8 (not NUL-terminated; may be NULL
 * when `len` is 0). `out_heads` may be NULL; otherwise it points to
 * `heads_capacity` caller-owned `evident_head`s that receive the heads of
 * the first `heads_capacity` entries in order. `out_count` may be NULL;
 * otherwise it receives the number of entries appended (0 on failure).
 */
evident_status evident_log_append_jsonl(evident_log *log,
                                        const char *buf,
                                        size_t len,
                                        evident_head *out_heads,
                                        size_t heads_capacity,
                                        size_t *out_count);

/**
 * Appends the events of a JSON array of event objects (each of the form
 * of `evident_log_append_json`; `[]` appends nothing) as one batch, with
 * the guarantees of `evident_log_append_batch`: one lock, one write and,
 * in the durable modes, one fsync; every event is checked before anything
 * is written, and an invalid one rejects the whole batch (the message
 * names its index, from 0) and writes nothing. A crash during the call may
 * leave a prefix of the batch in the log as valid entries (spec § 10.5):
 * check the head before retrying.
 *
 * `buf` points to `len` bytes of UTF-8 (not NUL-terminated; may be NULL
 * when `len` is 0, which is refused as not JSON). `out_heads` may be NULL;
 * otherwise it points to `heads_capacity` caller-owned `evident_head`s
 * that receive the heads of the first `heads_capacity` entries in order.
 * `out_count` may be NULL; otherwise it receives the number of entries
 * appended (0 on failure). Nothing is kept after the call.
 */
evident_status evident_log_append_json_array(evident_log *log,
                                             const char *buf,
                                             size_t len,
                                             evident_head *out_heads,
                                             size_t heads_capacity,
                                             size_t *out_count);

/**
 * As `evident_log_append_json_array`, but a JSON `null` anywhere in the
 * array (as a field's value or inside `details`) refuses the whole batch
 * with `EVIDENT_STATUS_INVALID_ARGUMENT` and writes nothing. For callers
 * whose JSON encoder writes NaN and the infinities as `null` (orjson does):
 * a refused batch is one to encode again by stricter rules, and a batch
 * without `null` needs no search of the caller's own. The search costs a
 * fraction of the parse. Since ABI 1.12.
 */
evident_status evident_log_append_json_array_no_null(evident_log *log,
                                                     const char *buf,
                                                     size_t len,
                                                     evident_head *out_heads,
                                                     size_t heads_capacity,
                                                     size_t *out_count);

/**
 * Writes buffered entries and makes everything appended so far durable.
 */
evident_status evident_log_sync(evident_log *log);

/**
 * Flushes, syncs and releases the lock. Later appends and syncs return
 * `EVIDENT_STATUS_CLOSED`; closing twice is OK. The object stays valid (for
 * the accessors) until `evident_log_free`, and so do its open file
 * descriptors (the log and its lock file; the lock itself is released
 * here): free a closed log when done with it. Call this before
 * `evident_log_free` to see a failing final sync.
 */
evident_status evident_log_close(evident_log *log);

/**
 * Frees a log, closing it first if needed (errors of that close are lost:
 * call `evident_log_close` to see them). NULL is a no-op.
 */
void evident_log_free(evident_log *log);

/**
 * Writes the current head (including entries buffered but not yet synced)
 * to `*out_head`. On a handle inherited over fork(): `EVIDENT_STATUS_FORKED`.
 */
evident_status evident_log_head(const evident_log *log, evident_head *out_head);

/**
 * Takes a snapshot of what this handle found and repaired: whether open
 * created the log and every torn tail moved aside. `*out_recovery`
 * receives it (NULL on failure); free it with `evident_recovery_free`. On a
 * handle inherited over fork(): `EVIDENT_STATUS_FORKED`.
 */
evident_status evident_log_recovery(const evident_log *log, evident_recovery **out_recovery);

/**
 * The log's path as given to `evident_log_open`. Owned by the log, valid
 * until `evident_log_free`. NULL if `log` is NULL.
 */
const char *evident_log_path(const evident_log *log);

/**
 * The log id from the genesis record (random, chosen at creation). Owned by
 * the log, valid until `evident_log_free`. NULL if `log` is NULL.
 */
const char *evident_log_log_id(const evident_log *log);

/**
 * The key id from the genesis record (identifies the HMAC key without
 * revealing it), or NULL for a keyless log (or a NULL `log`). Owned by the
 * log, valid until `evident_log_free`.
 */
const char *evident_log_key_id(const evident_log *log);

/**
 * The log's framing (`EVIDENT_FRAMING_JSONL` or `_BINARY`;
 * `EVIDENT_FRAMING_AUTO` if `log` is NULL).
 */
evident_framing evident_log_framing(const evident_log *log);

/**
 * The log's hash algorithm (`EVIDENT_ALG_AUTO` if `log` is NULL).
 */
evident_alg evident_log_alg(const evident_log *log);

/**
 * Frees a recovery report. NULL is a no-op.
 */
void evident_recovery_free(evident_recovery *recovery);

/**
 * Whether the log was created by this open (false if `recovery` is NULL).
 */
bool evident_recovery_created(const evident_recovery *recovery);

/**
 * Whether open found the log shorter than the length an earlier writer had
 * made durable (recorded in the lock file): bytes were removed from its
 * end after they were synced, which no crash does (a truncation, or an
 * older copy put in its place). Open recovers as always (a torn tail is
 * moved aside, the chain goes on from the last complete entry) and reports
 * it here, once. When true, `*out_durable_len` and `*out_len` (each may be
 * NULL) receive the durable length and the length at open; otherwise 0.
 * False if `recovery` is NULL. Since ABI 1.11.
 */
bool evident_recovery_truncated(const evident_recovery *recovery,
                                uint64_t *out_durable_len,
                                uint64_t *out_len);

/**
 * The number of torn tails moved aside (0 if `recovery` is NULL).
 */
size_t evident_recovery_torn_count(const evident_recovery *recovery);

/**
 * Torn tail number `index` (0-based, below `evident_recovery_torn_count`):
 * the offset in the log where the torn bytes started (the log now ends
 * there), their length, and the sidecar file that holds them (owned by the
 * report, valid until `evident_recovery_free`). Each out-pointer may be
 * NULL. An index out of range gives `EVIDENT_STATUS_INVALID_ARGUMENT`.
 */
evident_status evident_recovery_torn_tail(const evident_recovery *recovery,
                                          size_t index,
                                          uint64_t *out_offset,
                                          uint64_t *out_len,
                                          const char **out_sidecar);

/**
 * Measures `len` samples taken at `sample_rate` Hz (`measure`: an
 * `evident_measure`). `*out` receives the value, NaN when the signal does
 * not allow the measurement (too short, flat, no complete transition or
 * period). `samples` may be NULL when `len` is 0. `EVIDENT_STATUS_IO`
 * ("out of memory") when memory for the working buffers (about the size
 * of the samples, for frequency, period, duty cycle and THD) is refused.
 */
evident_status evident_measure_samples(const double *samples,
                                       size_t len,
                                       double sample_rate,
                                       uint32_t measure,
                                       double *out);

/**
 * Measures a trace (its samples converted to double; bools and bits as 0
 * and 1; its sample rate). `*out`, and refused memory, as for
 * `evident_measure_samples`.
 */
evident_status evident_trace_measure(const evident_trace *trace, uint32_t measure, double *out);

/**
 * Measures the session's trace `name` and records the measurement in the
 * session's operation history (`measure_frequency`, … with the trace's
 * name in the entry's metadata and the value as its result).
 * `EVIDENT_STATUS_NOT_FOUND` when there is no such trace.
 */
evident_status evident_session_measure(evident_session *session,
                                       const char *name,
                                       uint32_t measure,
                                       double *out);

/**
 * TraceKit's HMAC of one audit entry: `entry_json` is an object with the
 * strings `timestamp`, `action`, `details` (the canonical JSON text of the
 * details, as TraceKit's `json.dumps(details, sort_keys=True)`), `user`,
 * `host`, `previous_hash` (and optionally `hmac`, ignored); `algorithm` is
 * `"sha256"` or `"sha512"`; the key may have any length (TraceKit's do).
 * `*out` receives the lowercase hex HMAC, to free with
 * `evident_string_free`.
 */
evident_status evident_tracekit_hmac(const char *algorithm,
                                     const uint8_t *key,
                                     size_t key_len,
                                     const char *entry_json,
                                     char **out);

/**
 * Checks a TraceKit HMAC chain: `entries_json` is an array of entries as
 * for `evident_tracekit_hmac`, each with its `hmac`. `*out_first_bad`
 * receives -1 when every HMAC and link is right (the first entry's
 * `previous_hash` is `"GENESIS"`), else the index of the first wrong
 * entry; 0 on failure (never -1, so an ignored failure does not read as
 * valid).
 */
evident_status evident_tracekit_verify(const char *algorithm,
                                       const uint8_t *key,
                                       size_t key_len,
                                       const char *entries_json,
                                       int64_t *out_first_bad);

/**
 * `evident_session_load_trace` with loader options: `options_json` (NULL
 * for none) is an object with `channel` (a channel's name, or the 0-based
 * index of a logic channel, of a sigrok `.sr` capture), `lazy` (a
 * boolean, accepted for TraceKit compatibility: a trace is read now and
 * mapped from the session file once saved) and `sample_rate` (Hz, for a
 * capture without its own: `.npy`, a CSV without a time column; a
 * capture with its own rate refuses a different one). Reads `.csv`, `.npy`, sigrok
 * `.sr` and Tektronix `.wfm` (`:WFM#001` to `:WFM#003`). `out_name` may be NULL;
 * otherwise it receives the name used, to free with `evident_string_free`.
 */
evident_status evident_session_load_trace_with(evident_session *session,
                                               const char *path,
                                               const char *name,
                                               const char *options_json,
                                               char **out_name);

/**
 * Whether `path` is an OpenParallax audit file (not an evident log; its
 * first non-blank line an object with OpenParallax's keys).
 * `*out_is` receives 1 or 0.
 */
evident_status evident_openparallax_detect(const char *path, int32_t *out_is);

/**
 * Checks the chain of the OpenParallax file `path` by OpenParallax's rule.
 * `*out_json` receives `{"valid", "entries", "line", "error", "kind"
 * ("invalid_json", "chain_broken", "hash_mismatch", "line_too_long" or
 * null), "lines", "last_hash", "bytes", "sha256"}` (free it with
 * `evident_string_free`; NULL on failure); a violation is not an error
 * status (an unreadable file is). A file that is not OpenParallax's is
 * checked by the same rule (`evident_openparallax_detect` tells first).
 */
evident_status evident_openparallax_verify(const char *path, char **out_json);

/**
 * OpenParallax's `ReadEntries`: the entries of `path` matching
 * `query_json` (NULL or an object with optional `session_id`,
 * `event_type` (a number), `action_type`, `limit`; empty / 0: no filter),
 * newest first; lines that are not entries are skipped, nothing is
 * verified. `*out_json` receives an array of objects with `line`, `id`,
 * `event_type`, `timestamp` (Unix ms), `session_id`, `action_type`,
 * `details_json`, `previous_hash`, `hash`, `otr`, `source` (free it with
 * `evident_string_free`; NULL on failure).
 */
evident_status evident_openparallax_read(const char *path, const char *query_json, char **out_json);

/**
 * Imports the OpenParallax file `src` into a new evident log at `dst`
 * (which must not exist: else `EVIDENT_STATUS_IO`, "refusing to
 * overwrite an existing file"). `options_json`: NULL or `{"framing":
 * "jsonl" | "binary"}` (a `lock_timeout` member, as for
 * `evident_openparallax_migrate`, is accepted and not used). `src` must be an OpenParallax file (else
 * `EVIDENT_STATUS_UNSUPPORTED`) that verifies (else
 * `EVIDENT_STATUS_CORRUPT`, naming the line). `*out_json` receives
 * `{"entries", "lines", "bytes", "sha256", "last_hash", "head_seq",
 * "head_hash", "log", "legacy"}` (free it with `evident_string_free`;
 * NULL on failure).
 */
evident_status evident_openparallax_import(const char *src,
                                           const char *dst,
                                           const char *options_json,
                                           char **out_json);

/**
 * Turns the OpenParallax file at `path` into an evident log at the same
 * path, crash-safely, keeping its bytes at `PATH.openparallax` (see
 * spec/openparallax.md § 6). `options_json`: NULL or `{"framing": …,
 * "lock_timeout": seconds}`. `*out_json` receives the import report (as
 * `evident_openparallax_import`; free it with `evident_string_free`, NULL
 * on failure), or `null` when `path` is not an OpenParallax file (nothing
 * changed; a missing file is `EVIDENT_STATUS_IO`). A `PATH.openparallax`
 * holding other bytes is `EVIDENT_STATUS_IO`, a writer holding the log
 * `EVIDENT_STATUS_LOCKED`; neither changes anything.
 */
evident_status evident_openparallax_migrate(const char *path,
                                            const char *options_json,
                                            char **out_json);

/**
 * Creates an options object with the defaults.
 *
 * `*out_options` receives the new object (NULL on failure); free it with
 * `evident_open_options_free`.
 */
evident_status evident_open_options_new(evident_open_options **out_options);

/**
 * Frees an options object. NULL is a no-op.
 */
void evident_open_options_free(evident_open_options *options);

/**
 * Sets the framing (an `EVIDENT_FRAMING_*` value). For an existing log a
 * framing other than `EVIDENT_FRAMING_AUTO` must match the file.
 */
evident_status evident_open_options_set_framing(evident_open_options *options, uint32_t framing);

/**
 * Sets the HMAC key: `key_len` bytes at `key` (at least 16), copied. A key
 * selects HMAC-SHA256 for a new log unless an algorithm is set; for an
 * existing log it must match the log's key id. `key` NULL with `key_len` 0
 * removes the key.
 */
evident_status evident_open_options_set_key(evident_open_options *options,
                                            const uint8_t *key,
                                            size_t key_len);

/**
 * Sets the hash algorithm of a new log (an `EVIDENT_ALG_*` value); opening
 * an existing log that uses another one fails with
 * `EVIDENT_STATUS_INVALID_ARGUMENT`, as a framing that is not the log's does.
 */
evident_status evident_open_options_set_alg(evident_open_options *options, uint32_t alg);

/**
 * Sets the durability mode (an `EVIDENT_DURABILITY_*` value).
 */
evident_status evident_open_options_set_durability(evident_open_options *options,
                                                   uint32_t durability);

/**
 * Sets the lock mode (an `EVIDENT_LOCK_MODE_*` value).
 */
evident_status evident_open_options_set_lock_mode(evident_open_options *options,
                                                  uint32_t lock_mode);

/**
 * Sets how long `evident_log_open` (and, in shared mode, each append)
 * waits for the lock, in milliseconds.
 */
evident_status evident_open_options_set_lock_timeout_ms(evident_open_options *options,
                                                        uint64_t timeout_ms);

/**
 * Sets whether a missing log is created (default true).
 */
evident_status evident_open_options_set_create(evident_open_options *options, bool create);

/**
 * Sets whether opening fails when the log already exists (default false).
 */
evident_status evident_open_options_set_create_new(evident_open_options *options, bool create_new);

/**
 * Sets whether an existing *empty* file becomes a new log instead of
 * being refused (default false): for systems that open their logs in
 * append mode (a file made by `touch` or `mkstemp`). The empty file is
 * replaced atomically, keeping its permission bits; the cost is that a log
 * truncated to zero bytes restarts as a new log instead of being refused
 * (unless its lock file records bytes made durable: then it is refused as
 * truncated).
 * Needs `create` (the default). Since ABI 1.10.
 */
evident_status evident_open_options_set_adopt_empty(evident_open_options *options,
                                                    bool adopt_empty);

/**
 * Sets the actor written for entries that name none (copied). NULL
 * restores the default (the OS user).
 */
evident_status evident_open_options_set_actor(evident_open_options *options, const char *actor);

/**
 * Sets the host written for entries that name none (copied). NULL
 * restores the default (this machine's host name).
 */
evident_status evident_open_options_set_host(evident_open_options *options, const char *host);

/**
 * Sets the group-commit delay in microseconds (default 0), for
 * `EVIDENT_DURABILITY_GROUP_COMMIT`: the thread about to fsync first waits
 * this long when other appenders are waiting too, so that more entries
 * share one fsync (like PostgreSQL's `commit_delay`). Adds up to this much
 * latency to each durable append; at most 1 s.
 */
evident_status evident_open_options_set_commit_delay_us(evident_open_options *options,
                                                        uint64_t delay_us);

/**
 * Sets the in-memory buffer size for `EVIDENT_DURABILITY_BUFFERED`, in
 * bytes (default 65536).
 */
evident_status evident_open_options_set_buffer_size(evident_open_options *options,
                                                    size_t buffer_size);

/**
 * Ships the log at `log_path` into the PostgreSQL database at `url`
 * (`postgres://…`; `evident ship`): resumable and idempotent, one
 * transaction per batch; a local log that does not continue the
 * database's chain is refused (`EVIDENT_STATUS_REFUSED`) and recorded.
 * `options_json` (NULL for the defaults) is an object with `batch`
 * (records per transaction), `key_hex` (the HMAC key of a keyed log, to
 * check hashes before shipping) and `retry_for_ms` (how long to keep
 * reconnecting; default 30 000). `*out_report_json` receives a JSON array
 * of `{"log_id", "shipped", "already", "head_seq", "hashes_checked"}`
 * (`hashes_checked` false: a keyed log shipped without `key_hex`, links
 * and seqs checked only) (free with
 * `evident_string_free`; NULL on failure).
 */
evident_status evident_ship(const char *log_path,
                            const char *url,
                            const char *options_json,
                            char **out_report_json);

/**
 * Entries in the PostgreSQL database at `url` (`postgres://…`, with
 * `?log_id=` for one log) matching `query_json` (NULL: all), across logs,
 * oldest first: an object with `log_id`, `host`, `session_id`,
 * `event_type`, `action`, `actor`, `source`, `since`/`until` (RFC 3339;
 * `ts >= since`, `ts < until`), `limit` and `newest_first`.
 * `*out_entries_json` receives a JSON array of entries (the fields of an
 * evident entry plus `log_id`; free with `evident_string_free`).
 */
evident_status evident_db_query(const char *url, const char *query_json, char **out_entries_json);

/**
 * Verifies the chains stored in the PostgreSQL database at `url`
 * (`postgres://…`; every log, or the one `?log_id=` names) with the file
 * verifier's own check, streaming (`evident verify postgres://…`).
 * `options_json` (NULL for the defaults) is an object with `key_hex` (the
 * HMAC key of keyed logs) and `all` (keep every violation, not only the
 * first). `*out_reports_json` receives a JSON array with one report per
 * log, in log id order: the fields of a file verify report (`valid`,
 * `log_id`, `entries`, `head_seq`, `head_hash`, `violations` [{`kind`,
 * `seq`, `line`, `offset`, `message`}], `violations_total`, …; `path` is
 * the redacted URL and the log id, offsets and lines those of the JSONL
 * file the stored records make). A damaged chain is a report, not an
 * error: the status is OK; errors are for a database that cannot be read.
 */
evident_status evident_db_verify(const char *url,
                                 const char *options_json,
                                 char **out_reports_json);

/**
 * Compares the log at `log_path` with its copy in the database at `url`,
 * record by record, body and hash (`evident ship --check-only`).
 * `*out_json` receives `{"log_id", "same", "first_difference" (a seq or
 * null), "only_local", "only_db"}`.
 */
evident_status evident_db_cross_check(const char *log_path, const char *url, char **out_json);

/**
 * Creates a query with no filter, oldest first, no limit. `*out_query`
 * receives it (NULL on failure); free it with `evident_query_free`.
 */
evident_status evident_query_new(evident_query **out_query);

/**
 * Frees a query. NULL is a no-op.
 */
void evident_query_free(evident_query *query);

/**
 * Only entries of this session (copied; NULL removes the filter).
 */
evident_status evident_query_set_session_id(evident_query *query, const char *value);

/**
 * Only entries of this event type (copied; NULL removes the filter).
 */
evident_status evident_query_set_event_type(evident_query *query, const char *value);

/**
 * Only entries with this action (copied; NULL removes the filter).
 */
evident_status evident_query_set_action(evident_query *query, const char *value);

/**
 * Only entries by this actor (copied; NULL removes the filter).
 */
evident_status evident_query_set_actor(evident_query *query, const char *value);

/**
 * Only entries from this source (copied; NULL removes the filter).
 */
evident_status evident_query_set_source(evident_query *query, const char *value);

/**
 * Only entries with `ts >= since` (an RFC 3339 timestamp, e.g.
 * `"2024-05-01T00:00:00Z"`; NULL removes the filter).
 */
evident_status evident_query_set_since(evident_query *query, const char *since);

/**
 * Only entries with `ts < until` (RFC 3339; NULL removes the filter).
 */
evident_status evident_query_set_until(evident_query *query, const char *until);

/**
 * Only entries with `seq >= seq_min` (0 removes the filter: seqs start at 1).
 */
evident_status evident_query_set_seq_min(evident_query *query, uint64_t seq_min);

/**
 * Only entries with `seq <= seq_max` (`UINT64_MAX` removes the filter).
 */
evident_status evident_query_set_seq_max(evident_query *query, uint64_t seq_max);

/**
 * Sets the reading order (an `EVIDENT_ORDER_*` value). Newest first reads
 * backward from the end, so "the last N entries" costs O(N).
 */
evident_status evident_query_set_order(evident_query *query, uint32_t order);

/**
 * Returns at most `limit` entries (`SIZE_MAX` removes the limit).
 */
evident_status evident_query_set_limit(evident_query *query, size_t limit);

/**
 * Opens the log at `path` (UTF-8) for reading and returns an iterator over
 * the entries matching `query` (NULL: every entry, oldest first). Query
 * does not check hashes (that is `evident_verify`'s job) and never returns
 * a torn last record. `*out_iter` receives the iterator (NULL on
 * failure); free it with `evident_query_iter_free`.
 */
evident_status evident_query_run(const char *path,
                                 const evident_query *query,
                                 evident_query_iter **out_iter);

/**
 * Advances the iterator. Returns `EVIDENT_STATUS_OK` with the next entry in
 * `*out_entry` (free it with `evident_entry_free`), or `EVIDENT_STATUS_END`
 * with `*out_entry` NULL when there are no more (and on every later call).
 * A damaged record gives `EVIDENT_STATUS_MALFORMED` naming its position;
 * calling again goes on with the next record where the framing allows.
 */
evident_status evident_query_next(evident_query_iter *iter, evident_entry **out_entry);

/**
 * Reads up to `max` more entries in one call (`max` 0 counts as 1): `*out_json`
 * receives a JSON array of them, oldest or newest first as the query
 * reads, each element the object `evident_entry_to_json` gives (seq, ts,
 * every field, details, prev, hash), to free with `evident_string_free`;
 * `*out_count` the number of entries in it. `EVIDENT_STATUS_END` with
 * `*out_json` NULL and `*out_count` 0 when there are no more (and on every
 * later call). A damaged record after some entries ends the batch there
 * (status OK); the next call reports it (`EVIDENT_STATUS_MALFORMED` naming
 * its position), and the call after that goes on with the next record
 * where the framing allows, as `evident_query_next` does.
 */
evident_status evident_query_next_batch(evident_query_iter *iter,
                                        size_t max,
                                        char **out_json,
                                        size_t *out_count);

/**
 * Reads up to `max` more entries in one call (`max` 0 counts as 1), as their JSONL
 * record lines: `*out_lines` receives the lines one after another, each
 * ending with `\n` (no line holds another `\n` or a NUL), NUL-terminated,
 * to free with `evident_string_free`; `*out_len` its length in bytes
 * (without the NUL) and `*out_count` the number of lines. Each line is the
 * record exactly as a JSONL log stores it (`v`, `seq`, `prev`, `kind`,
 * `ts`, every field, `details`, `hash`); for a binary log, the JSONL line
 * of the same body and hash, as `evident convert` would write it. Lines
 * come oldest or newest first as the query reads, and only for entries
 * that `evident_query_next` would return (the same checks and filters).
 * `EVIDENT_STATUS_END` with `*out_lines` NULL, `*out_len` and
 * `*out_count` 0 when there are no more (and on every later call). A
 * damaged record after some entries ends the batch there (status OK); the
 * next call reports it (`EVIDENT_STATUS_MALFORMED` naming the file and
 * the record's position), and the call after that goes on with the next
 * record where the framing allows, as `evident_query_next_batch` does.
 */
evident_status evident_query_next_lines(evident_query_iter *iter,
                                        size_t max,
                                        char **out_lines,
                                        size_t *out_len,
                                        size_t *out_count);

/**
 * The last `n` entries of the log at `path` (UTF-8) in one call, newest
 * first, as their JSONL record lines in the form `evident_query_next_lines`
 * gives: `*out_lines` (free with `evident_string_free`), `*out_len` its
 * length in bytes, `*out_count` the number of lines (less than `n` when
 * the log has fewer entries). Reads backward from the end, so it costs
 * O(n), not O(file); like a query, it does not check hashes and never
 * returns a torn last record. `EVIDENT_STATUS_END` with `*out_lines`
 * NULL and both counts 0 when the log has no entry or `n` is 0. A damaged
 * record among the last `n` fails the whole call
 * (`EVIDENT_STATUS_MALFORMED` naming the file and the record's position),
 * with nothing returned.
 */
evident_status evident_read_last(const char *path,
                                 size_t n,
                                 char **out_lines,
                                 size_t *out_len,
                                 size_t *out_count);

/**
 * Frees an iterator (entries it returned stay valid). NULL is a no-op.
 */
void evident_query_iter_free(evident_query_iter *iter);

/**
 * Frees an entry. NULL is a no-op.
 */
void evident_entry_free(evident_entry *entry);

/**
 * The entry's seq (1 for the first entry; 0 if `entry` is NULL).
 */
uint64_t evident_entry_seq(const evident_entry *entry);

/**
 * The entry's time, RFC 3339 UTC with microseconds (e.g.
 * `"2024-05-01T12:00:00.000000Z"`). Owned by the entry; NULL if `entry`
 * is NULL.
 */
const char *evident_entry_ts(const evident_entry *entry);

/**
 * The entry's time in microseconds since the Unix epoch (0 if NULL).
 */
int64_t evident_entry_ts_unix_us(const evident_entry *entry);

/**
 * The event type. Owned by the entry; NULL if `entry` is NULL.
 */
const char *evident_entry_event_type(const evident_entry *entry);

/**
 * The action. Owned by the entry; NULL if `entry` is NULL.
 */
const char *evident_entry_action(const evident_entry *entry);

/**
 * The actor. Owned by the entry; NULL if `entry` is NULL.
 */
const char *evident_entry_actor(const evident_entry *entry);

/**
 * The host. Owned by the entry; NULL if `entry` is NULL.
 */
const char *evident_entry_host(const evident_entry *entry);

/**
 * The session id. Owned by the entry; NULL if `entry` is NULL.
 */
const char *evident_entry_session_id(const evident_entry *entry);

/**
 * The source. Owned by the entry; NULL if `entry` is NULL.
 */
const char *evident_entry_source(const evident_entry *entry);

/**
 * The error text, or NULL when the entry has none. Owned by the entry.
 */
const char *evident_entry_error(const evident_entry *entry);

/**
 * The note, or NULL when the entry has none. Owned by the entry.
 */
const char *evident_entry_note(const evident_entry *entry);

/**
 * The git commit, or NULL when the entry has none. Owned by the entry.
 */
const char *evident_entry_git_commit(const evident_entry *entry);

/**
 * The details as compact JSON text (`"{}"` when none were given).
 * Owned by the entry; NULL if `entry` is NULL.
 */
const char *evident_entry_details_json(const evident_entry *entry);

/**
 * The previous record's hash (hex). Owned by the entry.
 */
const char *evident_entry_prev(const evident_entry *entry);

/**
 * This record's hash (hex). Owned by the entry.
 */
const char *evident_entry_hash(const evident_entry *entry);

/**
 * The off-the-record flag.
 */
bool evident_entry_otr(const evident_entry *entry);

/**
 * Whether the entry records an outcome.
 */
bool evident_entry_has_success(const evident_entry *entry);

/**
 * The outcome (false when `evident_entry_has_success` is false).
 */
bool evident_entry_success(const evident_entry *entry);

/**
 * Whether the entry records a duration.
 */
bool evident_entry_has_duration_ms(const evident_entry *entry);

/**
 * The duration in milliseconds (0 when `evident_entry_has_duration_ms` is
 * false).
 */
double evident_entry_duration_ms(const evident_entry *entry);

/**
 * The whole entry as a JSON object (seq, ts, every field, details, prev,
 * hash). `*out_json` receives a string to free with `evident_string_free`
 * (NULL on failure).
 */
evident_status evident_entry_to_json(const evident_entry *entry, char **out_json);

/**
 * Writes reports of the entries in `inputs_json` (a JSON array of paths:
 * logs, Markdown reports written by `evident report`, directories) into
 * `out` (Markdown: a directory, created when there is something to write;
 * HTML: the file when its name ends in .html, else a directory for
 * `audit_report.html`; PDF: the same with .pdf and `audit_report.pdf`).
 * `options_json` (NULL for the defaults) is an object with `format`
 * (`"md"`, `"html"` or `"pdf"`), `by`
 * (`"day"`, `"week"`, `"tool"`), `since`/`until` (RFC 3339), `source`,
 * `event_type`, `title`, `no_charts`, `key_hex`. `*out_files_json`
 * receives a JSON array of `{"group", "path"}` (free with
 * `evident_string_free`; NULL on failure).
 */
evident_status evident_report_write(const char *inputs_json,
                                    const char *options_json,
                                    const char *out,
                                    char **out_files_json);

/**
 * Like `evident_report_write` for entries given as a JSON array in
 * `entries_json` (evident entries, or objects with at least `ts`; missing
 * fields are empty). The option `logs` (an array of paths) names logs to
 * verify and show at the top of the report.
 */
evident_status evident_report_write_entries(const char *entries_json,
                                            const char *options_json,
                                            const char *out,
                                            char **out_files_json);

/**
 * Writes a script (mode 0755) to `out_file` that re-runs the operations
 * recorded in `inputs_json` (as for `evident_report_write`) in time
 * order. `options_json` (NULL for the defaults): `format` (`"bash"`, the
 * default, RTGS Lab Tools' layout; or `"python"`, TraceKit's
 * `to_script()` layout), `title`, `since`, `until`, `include_tools`,
 * `exclude_operations`, `event_type`, `skip_failed`; bash only: `program`,
 * `add_timing`, `add_error_handling`, `no_note`; Python only: `module`
 * (default `tracekit`, falling back to `evident.compat.tracekit`) and
 * `alias` (default `tk`); `key_hex`: the HMAC key of keyed logs, whose
 * hashes are checked only with it (their links and seqs always are).
 * `*out_info_json` receives `{"script_path", "operation_count",
 * "start_date", "end_date", "unverified"}` (free with
 * `evident_string_free`); `unverified` lists the input logs that do not
 * verify (`"path: problem"`), whose entries the script was written from as
 * they are (it says so at its top); the call still succeeds.
 */
evident_status evident_reproduce_write(const char *inputs_json,
                                       const char *options_json,
                                       const char *out_file,
                                       char **out_info_json);

/**
 * Creates an empty session named `name` (UTF-8, may be empty). `*out`
 * receives it (NULL on failure); free it with `evident_session_free`.
 */
evident_status evident_session_new(const char *name, evident_session **out);

/**
 * Loads a session from the file at `path`: the newest complete version
 * when `version` is 0, otherwise that version (see
 * `evident_session_versions_json`; a version the file does not hold gives
 * `EVIDENT_STATUS_NOT_FOUND`). `key`/`key_len` is the file's HMAC key
 * (NULL and 0 for a keyless file). Loading never runs code from the file;
 * a damaged file gives `EVIDENT_STATUS_MALFORMED` or `_CORRUPT` with a
 * message naming the file and what is wrong. Uncompressed trace samples
 * are not read here: they are mapped and read on first access.
 *
 * `*out` receives the session (NULL on failure); free it with
 * `evident_session_free`. The key is copied.
 */
evident_status evident_session_load(const char *path,
                                    const uint8_t *key,
                                    size_t key_len,
                                    uint64_t version,
                                    evident_session **out);

/**
 * Frees a session (unsaved changes are lost). Traces obtained with
 * `evident_session_get_trace` stay valid. NULL is a no-op.
 */
void evident_session_free(evident_session *session);

/**
 * A short description of the session as a JSON object: `name`,
 * `created_at`, `modified_at` (RFC 3339), `path` (the file it was loaded
 * from or last saved to, or null), `version` and `commit` (hex) of that
 * file (or null), the counts `traces`, `layers`, `annotations`,
 * `measurements`, `history`, `history_limit` (0: unlimited),
 * `history_auto_record` (TraceKit's `auto_record` flag; see
 * `evident_session_set_history_auto_record`), and
 * `load_notice` (null, or a sentence when loading the newest version
 * skipped newer commits whose saves, made without sync, lost pages in a
 * power cut).
 *
 * `*out` receives a string to free with `evident_string_free` (NULL on
 * failure).
 */
evident_status evident_session_info_json(const evident_session *session, char **out);

/**
 * Renames the session (`name` is copied).
 */
evident_status evident_session_set_name(evident_session *session, const char *name);

/**
 * The session metadata as a JSON object. `*out` receives a string to free
 * with `evident_string_free` (NULL on failure).
 */
evident_status evident_session_metadata_json(const evident_session *session, char **out);

/**
 * Replaces the session metadata with `json_object` (a JSON object; any
 * other JSON value gives `EVIDENT_STATUS_INVALID_ARGUMENT`).
 */
evident_status evident_session_set_metadata_json(evident_session *session, const char *json_object);

/**
 * A short human-readable summary of the session (several lines: name,
 * times, file and version, traces, annotation layers, measurements,
 * history). `*out` receives a string to free with `evident_string_free`
 * (NULL on failure).
 */
evident_status evident_session_summary(const evident_session *session, char **out);

/**
 * Everything but the samples as one JSON object: `name`, `created_at`,
 * `modified_at`, `metadata`, `path`, `version`, `commit`, `traces` (as
 * `evident_trace_info_json` describes each), `layers` (with their
 * annotations), `measurements`, `history`, `history_limit`. `*out`
 * receives a string to free with `evident_string_free` (NULL on failure).
 */
evident_status evident_session_to_json(const evident_session *session, char **out);

/**
 * Adds a trace named `name`, replacing a trace of the same name (which
 * keeps its place in the list). The samples are copied: `data` points to
 * `len_samples` samples of `dtype` (an `EVIDENT_DTYPE_*` value),
 * little-endian, packed for `EVIDENT_DTYPE_BIT` (see `evident_dtype`);
 * `EVIDENT_DTYPE_BOOL` bytes must be 0 or 1. `data` may be NULL only when
 * the samples take 0 bytes.
 *
 * `info_json` (NULL: the defaults) is a JSON object with the optional
 * fields `sample_rate` (Hz, finite and > 0; default 1), `start_time`
 * (seconds, finite; default 0), `units` (default `""`) and `metadata` (an
 * object).
 */
evident_status evident_session_add_trace(evident_session *session,
                                         const char *name,
                                         uint32_t dtype,
                                         const void *data,
                                         uint64_t len_samples,
                                         const char *info_json);

/**
 * Reads a trace from a CSV or NumPy `.npy` file at `path` and adds it
 * under `name` (NULL: the file name without its extension), replacing a
 * trace of that name. `out_name` may be NULL; otherwise it receives the
 * name used, to free with `evident_string_free` (NULL on failure).
 */
evident_status evident_session_load_trace(evident_session *session,
                                          const char *path,
                                          const char *name,
                                          char **out_name);

/**
 * Removes the trace named `name` (`EVIDENT_STATUS_NOT_FOUND` if there is
 * none). Trace objects obtained before stay valid.
 */
evident_status evident_session_remove_trace(evident_session *session, const char *name);

/**
 * The trace names as a JSON array of strings, in the order the traces
 * were added. `*out` receives a string to free with `evident_string_free`
 * (NULL on failure).
 */
evident_status evident_session_trace_names_json(const evident_session *session, char **out);

/**
 * The trace named `name` (`EVIDENT_STATUS_NOT_FOUND` if there is none).
 * `*out` receives an independent trace object (NULL on failure), which
 * shares the samples without copying them and stays valid after the
 * session is changed or freed; free it with `evident_trace_free`.
 */
evident_status evident_session_get_trace(const evident_session *session,
                                         const char *name,
                                         evident_trace **out);

/**
 * Frees a trace object (the samples go when nothing else uses them). NULL
 * is a no-op.
 */
void evident_trace_free(evident_trace *trace);

/**
 * The samples of a trace, without copying them: `*data` points to
 * `*len_bytes` bytes holding `*len_samples` samples of type `*dtype` (an
 * `EVIDENT_DTYPE_*` value), little-endian, aligned for the type (packed
 * bits for `EVIDENT_DTYPE_BIT`). Each out-pointer may be NULL; all are set
 * to NULL / 0 first. On success `*data` is never NULL (for 0 bytes it must
 * not be dereferenced).
 *
 * The memory belongs to the trace object: read-only, valid until
 * `evident_trace_free` (whatever happens to the session). For a loaded
 * uncompressed trace it is the file mapping itself; a compressed trace is
 * decompressed on the first call and kept. Calls from several threads at
 * once are safe. Because the samples are the file mapping, another
 * program that truncates the session file while they are read makes the
 * process receive SIGBUS (evident never cuts committed bytes; compaction
 * replaces the file by rename, which is safe).
 *
 * The first call on a loaded trace checks its stored bytes against the
 * SHA-256 its chained record names (reading them all once, as
 * `evident_trace_verify` does): damaged samples give
 * `EVIDENT_STATUS_CORRUPT` naming the file and the trace, never data.
 * Compressed bytes that do not decode, and an `EVIDENT_DTYPE_BOOL` trace
 * holding a byte other than 0 or 1, give `EVIDENT_STATUS_MALFORMED`.
 */
evident_status evident_trace_data(const evident_trace *trace,
                                  const void **data,
                                  uint64_t *len_samples,
                                  uint64_t *len_bytes,
                                  uint32_t *dtype);

/**
 * A description of the trace as a JSON object (no samples): `name`,
 * `dtype` (`"f64"` … `"u64"`, `"bool"`, `"bit"`), `len` (samples), `bytes`,
 * `sample_rate`, `start_time`, `units`, `metadata`, `mapped` (samples read
 * straight from the file mapping), `compressed`. `*out` receives a string
 * to free with `evident_string_free` (NULL on failure).
 */
evident_status evident_trace_info_json(const evident_trace *trace, char **out);

/**
 * Checks the trace's stored bytes against the SHA-256 named by its chained
 * record in the file (reads every byte). `EVIDENT_STATUS_CORRUPT` when they
 * differ; `EVIDENT_STATUS_OK` for a trace not loaded from a file (nothing
 * to check).
 */
evident_status evident_trace_verify(const evident_trace *trace);

/**
 * Adds an annotation to the layer named `layer` (created when missing).
 * `EVIDENT_STATUS_LAYER_LOCKED` when the layer is locked.
 *
 * `annotation_json` is a JSON object with the fields `text` (required),
 * `type` (`"point"`, `"range"`, `"vertical"`, `"horizontal"`, `"region"`,
 * `"text"`; when missing it is inferred: `time_range` and
 * `amplitude_range` → region, `time_range` → range, `time` → point,
 * `amplitude` → horizontal, else text), `time`, `time_range` (`[t0, t1]`,
 * t0 <= t1), `amplitude`, `amplitude_range`, `color`, `style` (default
 * `"solid"`), `visible` (default true), `created_at` (RFC 3339, default
 * now) and `metadata` (an object). Unknown fields are rejected.
 */
evident_status evident_session_annotate(evident_session *session,
                                        const char *layer,
                                        const char *annotation_json);

/**
 * Creates a layer or changes its properties. `layer_json` is a JSON object
 * with `name` (required) and the optional `visible`, `locked`, `color`
 * (`""` removes it) and `description`; fields left out keep their value
 * (a new layer: visible, unlocked, no colour, no description). Allowed on
 * a locked layer (that is how it is unlocked). Unknown fields are
 * rejected.
 */
evident_status evident_session_set_layer(evident_session *session, const char *layer_json);

/**
 * Removes every annotation of a layer (`EVIDENT_STATUS_NOT_FOUND`,
 * `EVIDENT_STATUS_LAYER_LOCKED`).
 */
evident_status evident_session_clear_layer(evident_session *session, const char *layer);

/**
 * Removes a layer and its annotations (`EVIDENT_STATUS_NOT_FOUND`,
 * `EVIDENT_STATUS_LAYER_LOCKED`).
 */
evident_status evident_session_remove_layer(evident_session *session, const char *layer);

/**
 * The annotation layers as a JSON array, in creation order: objects with
 * `name`, `visible`, `locked`, `color` (left out when unset),
 * `description` and `annotations` (each with every field, `type`
 * included). `*out` receives a string to free with `evident_string_free`
 * (NULL on failure).
 */
evident_status evident_session_layers_json(const evident_session *session, char **out);

/**
 * Annotations as a JSON array of `{"layer": name, "index": i,
 * "annotation": {…}}` (`index`: its place in its layer, from 0), in
 * layer order then insertion order: those of the layer named `layer` (NULL:
 * every layer; a layer that does not exist gives `[]`), and, when
 * `has_range` is non-zero, only those touching the time range `[t0, t1]`
 * (point and vertical: time inside; range and region: overlapping;
 * annotations without a time are left out). `t0` and `t1` must be finite
 * with t0 <= t1. `*out` receives a string to free with
 * `evident_string_free` (NULL on failure).
 */
evident_status evident_session_annotations_json(const evident_session *session,
                                                const char *layer,
                                                int has_range,
                                                double t0,
                                                double t1,
                                                char **out);

/**
 * Records a measurement. `measurement_json` is a JSON object with `name`
 * (required), `value` (any JSON value; default null), `unit` (default
 * `""`), `trace_name`, `metadata` (an object) and `recorded_at` (RFC 3339,
 * default now). Unknown fields are rejected.
 */
evident_status evident_session_record_measurement(evident_session *session,
                                                  const char *measurement_json);

/**
 * The measurements as a JSON array of objects (the fields of
 * `evident_session_record_measurement`, `recorded_at` always set), in the
 * order recorded. `*out` receives a string to free with
 * `evident_string_free` (NULL on failure).
 */
evident_status evident_session_measurements_json(const evident_session *session, char **out);

/**
 * Records an operation in the session history (the oldest entries go when
 * the history limit is reached). `entry_json` is a JSON object with
 * `operation` (required), `parameters` (an object), `result` (any JSON
 * value), `timestamp` (RFC 3339, default now), `duration_ms` (default 0),
 * `success` (default true), `error_message`, `metadata` (an object) and
 * `parameter_order`. The parameters keep the order of their members in
 * the text (a repeated member: the last value at the first place), or
 * the order `parameter_order` gives (an array of their names, for
 * encoders that sort a map's keys; names it leaves out follow). Unknown
 * fields are rejected.
 */
evident_status evident_session_record_history(evident_session *session, const char *entry_json);

/**
 * The history as a JSON array of objects (the fields of
 * `evident_session_record_history`), oldest first. `*out` receives a
 * string to free with `evident_string_free` (NULL on failure).
 */
evident_status evident_session_history_json(const evident_session *session, char **out);

/**
 * Keeps at most `max_entries` history entries (0: unlimited), dropping the
 * oldest now and on later records.
 */
evident_status evident_session_set_history_limit(evident_session *session, uint64_t max_entries);

/**
 * Sets the session's `history_auto_record` flag (TraceKit's
 * `OperationHistory.auto_record`: whether loading a trace records itself
 * in the history; default true). The library stores it: it is saved with
 * the session and given back by `evident_session_info_json` as
 * `history_auto_record`. `evident_session_load_trace` and
 * `evident_session_load_trace_with` never record;
 * `evident_session_load_trace_json` records when its `record_history`
 * argument is true (pass this flag there to follow TraceKit, as Python
 * does); the `load_trace` operation of `evident_session_change_json` (Go's
 * `LoadTrace`) passes this flag. Since ABI 1.11.
 */
evident_status evident_session_set_history_auto_record(evident_session *session, bool on);

/**
 * Creates save options with the defaults (see `evident_save_options`).
 * `*out` receives them (NULL on failure); free them with
 * `evident_save_options_free`.
 */
evident_status evident_save_options_new(evident_save_options **out);

/**
 * Frees save options (not the audit log they name). NULL is a no-op.
 */
void evident_save_options_free(evident_save_options *options);

/**
 * Compresses the traces a save writes with zstd at `zstd_level` (1 to 22;
 * negative levels are faster; 0 turns compression off, the default).
 * Traces unchanged since the last save keep their stored form.
 */
evident_status evident_save_options_set_compress(evident_save_options *options, int32_t zstd_level);

/**
 * Whether a save writes the trace samples (default true). Without them the
 * saved version holds the session's other parts only.
 */
evident_status evident_save_options_set_include_traces(evident_save_options *options, bool include);

/**
 * Sets the HMAC key: `key_len` bytes at `key` (at least 16), copied. A new
 * file is chained with HMAC-SHA256 under it; an existing file must have
 * been created with the same key. `key` NULL with `key_len` 0 removes the
 * key.
 */
evident_status evident_save_options_set_key(evident_save_options *options,
                                            const uint8_t *key,
                                            size_t key_len);

/**
 * Whether a save fsyncs the file (and, for a new file, its directory)
 * before returning (default true). Without it the save returns once it is
 * in the OS page cache: a crash of the process loses nothing; a power cut
 * or OS crash before the OS wrote it back may lose this save and every
 * other save since the last save with sync, never an earlier version
 * saved with sync, and the file stays loadable and saveable (loading gives
 * the newest complete version, `evident_session_verify` lists the lost
 * ones in `incomplete_versions`, the next save moves them into a sidecar).
 */
evident_status evident_save_options_set_sync(evident_save_options *options, bool sync);

/**
 * Whether a save into an existing *empty* file (made by `touch` or
 * `mkstemp`) replaces it atomically by a new session file, keeping its
 * permission bits, instead of refusing it as not a session file (default
 * false). Since ABI 1.10.
 */
evident_status evident_save_options_set_adopt_empty(evident_save_options *options,
                                                    bool adopt_empty);

/**
 * How long a save waits for another process's save of the same file to
 * finish, in milliseconds (default 10000; 0: fail at once). When it runs
 * out the save returns `EVIDENT_STATUS_LOCKED`, naming the holder.
 */
evident_status evident_save_options_set_lock_timeout_ms(evident_save_options *options, uint64_t ms);

/**
 * Makes each save append an entry to the audit log `log` naming the saved
 * version and its commit hash, so the audit trail proves which version of
 * the session existed when (NULL: no audit entry, the default).
 *
 * The log is borrowed, not copied: it must stay open and not be freed
 * while any `evident_session_save` using these options runs. A failing
 * audit append makes the save return its error after the session file was
 * written.
 */
evident_status evident_save_options_set_audit_log(evident_save_options *options, evident_log *log);

/**
 * Saves the session: appends what changed since the last save plus a
 * commit record to the file at `path` (created when missing), or, when
 * `path` is NULL, to the file the session was loaded from or last saved to
 * (`EVIDENT_STATUS_INVALID_ARGUMENT` if there is none). A crash during the
 * save leaves the previous version loadable. `options` may be NULL (the
 * defaults of `evident_save_options`).
 *
 * `out_info_json` may be NULL; otherwise it receives a JSON object to free
 * with `evident_string_free` (NULL on failure): `path`, `version` (the new
 * version's number), `commit` (hex), `bytes_written` (bytes appended),
 * `traces_written` (trace records written), `traces_reused` (traces
 * already in the file, only named by the new commit) and
 * `sample_bytes_written`.
 */
evident_status evident_session_save(evident_session *session,
                                    const char *path,
                                    const evident_save_options *options,
                                    char **out_info_json);

/**
 * Lists the complete versions in the session file at `path`, oldest first,
 * as a JSON array of objects: `version`, `commit` (hex), `ts` (RFC 3339),
 * `name` (the session's name in that version), `offset` (of the commit
 * record), the counts `traces`, `layers`, `annotations`, `measurements`,
 * `history`, `trace_bytes` (sample bytes), and `compacted_from` (for the
 * first version of a compacted file `{"version", "commit"}` of the version
 * it was made from, else null). `key`/`key_len`: the file's HMAC
 * key (NULL and 0 for a keyless file). `*out` receives a string to free
 * with `evident_string_free` (NULL on failure).
 */
evident_status evident_session_versions_json(const char *path,
                                             const uint8_t *key,
                                             size_t key_len,
                                             char **out);

/**
 * Rewrites the session file at `path` with only its newest version
 * (atomically: a temporary file, fsync, rename, fsync of the directory);
 * earlier versions are gone afterwards. `key`/`key_len`: the file's HMAC
 * key (NULL and 0 for a keyless file). `out_info_json` may be NULL;
 * otherwise it receives a JSON object to free with `evident_string_free`
 * (NULL on failure): `version` (the version kept, which keeps its number),
 * `commit` (its new commit hash), `bytes_before`, `bytes_after`.
 */
evident_status evident_session_compact(const char *path,
                                       const uint8_t *key,
                                       size_t key_len,
                                       char **out_info_json);

/**
 * Checks the whole session file at `path`: every frame, CRC, hash and
 * chain link, every commit and the trace samples against their hashes.
 * Returns `EVIDENT_STATUS_OK` whenever the check ran, even when it found
 * problems: `*out_report_json` receives a JSON object to free with
 * `evident_string_free` (NULL on failure): `path`, `ok` (true when nothing
 * is damaged, every version loads and every sample hash matches; a torn
 * tail alone does not make it false), `versions` (the number of complete
 * versions), `problems` (array of one-line messages, each naming the byte
 * offset), `problem_details` (the same as objects `{offset, seq, message}`),
 * `torn_tail_at` (byte offset of an incomplete save at the end, or null;
 * the next save moves it aside), `head_version` and `head_commit` (the
 * newest version, or null), `incomplete_versions` (versions whose commit
 * lies in the uncommitted tail: saved without sync, they lost pages in a
 * power cut; the next save moves them aside with the tail), `records`,
 * `data_frames`, `bytes` (file size) and `sample_bytes_checked`.
 * `key`/`key_len`: the file's HMAC key (NULL and 0 for a keyless file).
 */
evident_status evident_session_verify(const char *path,
                                      const uint8_t *key,
                                      size_t key_len,
                                      char **out_report_json);

/**
 * Removes the annotation at `index` (0-based, in insertion order, as
 * `evident_session_layers_json` lists them) of the layer `layer`
 * (`EVIDENT_STATUS_NOT_FOUND` when the layer or the index does not exist,
 * `EVIDENT_STATUS_LAYER_LOCKED` when the layer is locked).
 */
evident_status evident_session_remove_annotation(evident_session *session,
                                                 const char *layer,
                                                 uint64_t index);

/**
 * Replaces an annotation of the layer `layer` with `annotation_json` (the
 * form `evident_session_annotate` takes): the one at `index` (0-based, as
 * `evident_session_annotations_json` gives it) if it is still
 * `expected_json` (the annotation as the caller read it, compared after
 * normalising both), else the first one equal to it (annotations before
 * it were removed since): `EVIDENT_STATUS_NOT_FOUND` when the layer does
 * not exist or holds no such annotation (it was changed or removed
 * since), `EVIDENT_STATUS_LAYER_LOCKED`
 * on a locked layer, `EVIDENT_STATUS_INVALID_ARGUMENT` for an annotation
 * the session cannot hold. Nothing changes on failure. (C ABI 1.14.)
 */
evident_status evident_session_replace_annotation(evident_session *session,
                                                  const char *layer,
                                                  uint64_t index,
                                                  const char *expected_json,
                                                  const char *annotation_json);

/**
 * The sample type named `name`: a dtype name (`"f64"` … `"bit"`) or a
 * common alias (`"float64"`, `"double"`, `"float"`, `"float32"`, `"int8"`
 * … `"uint64"`, `"bool_"`, `"bits"`), case-insensitively. `*out` receives
 * its `evident_dtype` number (0 on failure; `EVIDENT_STATUS_INVALID_ARGUMENT`
 * for an unknown name).
 */
evident_status evident_dtype_from_name(const char *name, uint32_t *out);

/**
 * The annotation `annotation_json` (the object `evident_session_annotate`
 * takes) as the session would store it: `type` inferred when missing
 * (time_range and amplitude_range: region; time_range: range; time:
 * point; amplitude: horizontal; else text), defaults filled in, and its
 * numbers checked (finite; a time range ending before it starts is
 * refused). `*out` receives a string to free with `evident_string_free`
 * (NULL on failure).
 */
evident_status evident_annotation_normalise_json(const char *annotation_json, char **out);

/**
 * Statistics of the session's history as a JSON object:
 * `total_operations`, `successful`, `failed`, `total_duration_ms`,
 * `average_duration_ms`, `operations` (count per operation name), `first`
 * and `last` (RFC 3339, null when the history is empty). `*out` receives
 * a string to free with `evident_string_free` (NULL on failure).
 */
evident_status evident_session_history_summary_json(const evident_session *session, char **out);

/**
 * A Python script replaying the session's history: `import module as
 * alias` (`module`: dotted Python names, `alias`: a Python identifier;
 * NULL: `"tracekit"` and `"tk"`), then per entry a comment with its time
 * and operation and the call `alias.operation(param=value, …)`; failed
 * operations and operations that are not plain Python names appear as
 * comments. `style`: 0 evident's layout (UTC times, values as Python
 * `repr`), 1 TraceKit's (local times, strings in double quotes, `import
 * tracekit` falling back to `evident.compat.tracekit`). `*out` receives a
 * string to free with `evident_string_free` (NULL on failure).
 */
evident_status evident_session_history_script(const evident_session *session,
                                              const char *module,
                                              const char *alias,
                                              uint32_t style,
                                              char **out);

/**
 * One history entry (`entry_json`, the object
 * `evident_session_record_history` takes) as the line of Python
 * `evident_session_history_script` writes for it (`alias`: NULL for
 * `"tk"`; `style` as there). `*out` receives a string to free with
 * `evident_string_free` (NULL on failure).
 */
evident_status evident_history_entry_code(const char *entry_json,
                                          const char *alias,
                                          uint32_t style,
                                          char **out);

/**
 * A measurement (`measurement_json`, the object
 * `evident_session_record_measurement` takes) in TraceKit's shape: its
 * metadata's members, `value`, `unit`, `trace_name` (null when unset) and
 * `timestamp` (`recorded_at` as Python's `isoformat()`,
 * `2026-01-08T10:30:00.5+00:00` style with six fraction digits, none when
 * zero). `*out` receives a string to free with `evident_string_free`
 * (NULL on failure).
 */
evident_status evident_measurement_tracekit_json(const char *measurement_json, char **out);

/**
 * The session's measurements in TraceKit's shape, by name (the latest
 * of a name recorded twice): `{name: {…}}` with the members of
 * `evident_measurement_tracekit_json`. `*out` receives a string to free
 * with `evident_string_free` (NULL on failure).
 */
evident_status evident_session_measurements_tracekit_json(const evident_session *session,
                                                          char **out);

/**
 * The name of the sample type `dtype` (an `EVIDENT_DTYPE_*` value) as in
 * the file format: `"f64"` … `"bool"`, `"bit"`. A static string; NULL for
 * a number this library does not know.
 */
const char *evident_dtype_name(uint32_t dtype);

/**
 * The number of bytes `len_samples` samples of `dtype` take (for
 * `EVIDENT_DTYPE_BIT`, packed: `(len_samples + 7) / 8`). `*out` (may be
 * NULL) receives it; returns false, `*out` 0, for an unknown dtype or a
 * size beyond 64 bits.
 */
bool evident_dtype_byte_len(uint32_t dtype, uint64_t len_samples, uint64_t *out);

/**
 * Turns a JSON object written by Go's encoding/json from a struct into the
 * argument object of the session calls (`evident_session_annotate`,
 * `_add_trace`'s `info_json`, `_record_measurement`, `_record_history`,
 * `evident_measurement_tracekit_json`, `evident_history_entry_code`): Go
 * writes every field, so members holding Go's zero value for "unset" are
 * left out and the library's default applies: `null`; `""` in `type`,
 * `color`, `style`, `trace_name`, `error_message`; the zero time
 * (`"0001-01-01T00:00:00Z"`) in `created_at`, `recorded_at`, `timestamp`;
 * 0 in `sample_rate`. U+0000 in `text`, `type`, `color`, `style`, `units`,
 * `name`, `unit`, `trace_name`, `operation` or `error_message` is refused
 * (`EVIDENT_STATUS_INVALID_ARGUMENT`, as for the strings the C calls take).
 * Members are otherwise kept as they are. `*out` receives a string to free
 * with `evident_string_free` (NULL on failure).
 */
evident_status evident_args_from_go_json(const char *json, char **out);

/**
 * Runs the read-only operation `op` on `session` with `args_json` (NULL or
 * `null`: none), a JSON array of its arguments, and writes its result as JSON to
 * `*out` (may be NULL: the result is dropped) — a string to free with
 * `evident_string_free`, NULL on failure. A string argument may hold any
 * Unicode but U+0000 (`EVIDENT_STATUS_INVALID_ARGUMENT`).
 *
 * The operations, each as the C call named (its errors too):
 * `info` (`evident_session_info_json`), `metadata`, `summary` (a JSON
 * string), `to_json`, `trace_names`, `layers`, `measurements`, `history`
 * (every entry with parameters with `parameter_order` too: the names of
 * its parameters in their order, for a decoder whose maps have none),
 * `history_summary`, `measurements_tracekit` (each `evident_session_<op>`
 * or `..._json`), no arguments; `annotations` `[layer, time_range]`
 * (`evident_session_annotations_json`; layer null or `""`: every layer;
 * time_range null or `[t0, t1]`); `history_script` `[module, alias,
 * style]` (`evident_session_history_script`, a JSON string; module and
 * alias null or `""`: the defaults). Another `op` gives
 * `EVIDENT_STATUS_INVALID_ARGUMENT`, as does an operation that changes
 * the session (use `evident_session_change_json`).
 *
 * Thread safety: as the C calls it runs (a shared session).
 */
evident_status evident_session_get_json(const evident_session *session,
                                        const char *op,
                                        const char *args_json,
                                        char **out);

/**
 * Runs the operation `op` that changes `session` (or any operation of
 * `evident_session_get_json`), as that function does.
 *
 * The operations, each as the C call `evident_session_<op>` (its errors
 * too), with result `null` unless said: `set_name` `[name]`,
 * `set_metadata` `[object]` (null: empty), `remove_trace` `[name]`,
 * `set_layer` `[props]` (the object of `evident_session_set_layer`),
 * `clear_layer` `[layer]`, `remove_layer` `[layer]`, `annotate` `[layer,
 * annotation]`, `remove_annotation` `[layer, index]` (a negative index
 * gives `EVIDENT_STATUS_NOT_FOUND`), `record_measurement`
 * `[measurement]`, `record_history` `[entry]`, `set_history_limit` `[n]`
 * (0: unlimited; negative: `EVIDENT_STATUS_INVALID_ARGUMENT`),
 * `load_trace` `[path, name, options]` (`evident_session_load_trace_json`
 * with `record_history` = the session's `history_auto_record` flag: the
 * attempt is recorded in the history as Python's `load_trace` records it;
 * name null or `""`: from the file name; options null, the loader options
 * object of `evident_session_load_trace_with`, or an array of at most one
 * such object; result: the name used, a JSON string). In the annotation, measurement
 * and entry objects Go's zero values mean "unset", as for
 * `evident_args_from_go_json`.
 *
 * Thread safety: needs exclusive access to the session, as the C calls it
 * runs.
 */
evident_status evident_session_change_json(evident_session *session,
                                           const char *op,
                                           const char *args_json,
                                           char **out);

/**
 * One field of `evident_session_info_json` as JSON text (`"name"` gives
 * a JSON string, `"version"` a number or `null`, …): `name`, `created_at`,
 * `modified_at`, `path`, `version`, `commit`, `traces`, `layers`,
 * `annotations`, `measurements`, `history`, `history_limit`,
 * `history_auto_record`, `load_notice`; another name gives `EVIDENT_STATUS_INVALID_ARGUMENT`.
 * `*out` receives a string to free with `evident_string_free` (NULL on
 * failure).
 */
evident_status evident_session_info_field_json(const evident_session *session,
                                               const char *field,
                                               char **out);

/**
 * The properties of the layer `name` as a JSON object, without its
 * annotations: `name`, `visible`, `locked`, `color` (left out when unset),
 * `description` and `annotations` (their number).
 * `EVIDENT_STATUS_NOT_FOUND` when there is no such layer. `*out` receives
 * a string to free with `evident_string_free` (NULL on failure).
 */
evident_status evident_session_layer_json(const evident_session *session,
                                          const char *name,
                                          char **out);

/**
 * The names of the annotation layers as a JSON array of strings, in the
 * session's order. `*out` receives a string to free with
 * `evident_string_free` (NULL on failure).
 */
evident_status evident_session_layer_names_json(const evident_session *session, char **out);

/**
 * `evident_session_save` with its options as one JSON object
 * `options_json` (NULL: the defaults): `compress` (true: zstd level 3,
 * false: none, or a zstd level, at most 22), `include_traces` (boolean,
 * default true), `sync` (boolean, default true) and `lock_timeout`
 * (seconds to wait for another writer, a number >= 0 or `"inf"`; default
 * 10), `adopt_empty` (boolean, default false: save into an existing empty
 * file instead of refusing it, since ABI 1.10). The same options may be given as a marshalled Go struct would give
 * them, where every zero value is the default: `exclude_traces`, `no_sync`
 * (booleans) and `lock_timeout_ns` (integer nanoseconds, rounded up to
 * milliseconds; 0: the default). Unknown members are refused.
 * `key`/`key_len`: the file's HMAC key (NULL and 0: none). `audit_log`
 * (may be NULL) gets an entry naming the saved version and its commit; it
 * is borrowed for the call. `path` and `out_info_json` are those of
 * `evident_session_save`.
 */
evident_status evident_session_save_json(evident_session *session,
                                         const char *path,
                                         const uint8_t *key,
                                         size_t key_len,
                                         const char *options_json,
                                         const evident_log *audit_log,
                                         char **out_info_json);

/**
 * `evident_session_load_trace_with`, and, when `record_history` is true,
 * the attempt recorded in the history (as TraceKit does): an entry
 * `load_trace` with the parameters `path`, `name` (when given) and the
 * loader options, the result `"loaded '<name>'"` (Python's `repr` of the
 * name), the duration, and on failure `success` false with the error's
 * message (the call then returns that error; the entry stays). Arguments
 * that are not valid (NULL path, bad UTF-8, `options_json` not a JSON
 * object) are refused before anything is recorded. `out_name` may be
 * NULL; otherwise it receives the trace's name, to free with
 * `evident_string_free` (NULL on failure).
 */
evident_status evident_session_load_trace_json(evident_session *session,
                                               const char *path,
                                               const char *name,
                                               const char *options_json,
                                               bool record_history,
                                               char **out_name);

/**
 * Stores a whole annotation layer, replacing the layer of that name
 * (`EVIDENT_STATUS_LAYER_LOCKED` when that one is locked). `layer_json` is
 * an object as `evident_session_layers_json` lists them: `name`
 * (required), `visible` (default true), `locked` (default false), `color`,
 * `description` and `annotations` (objects as `evident_session_annotate`
 * takes, kept in order). A layer of one session copied into another is
 * one call: its JSON from `evident_session_layers_json`, stored here.
 * Refused as a whole when an annotation is not valid.
 */
evident_status evident_session_put_layer_json(evident_session *session, const char *layer_json);

/**
 * Every sample type as a JSON array, in numbering order, each an object
 * `{"name", "code", "size", "format", "numpy"}`: its name, its
 * `EVIDENT_DTYPE_*` value, bytes per sample (0 for packed bits), the
 * buffer format character of one sample in native order (Python's
 * `struct`/`array`; `"B"` for bits: bytes) and numpy's type string (`""`
 * for bits). `*out` receives a string to free with `evident_string_free`
 * (NULL on failure).
 */
evident_status evident_dtypes_json(char **out);

/**
 * Resolves a sample type as people and buffers name it, giving its object
 * of `evident_dtypes_json`. With `itemsize` 0, `spec` is a name or alias,
 * case-insensitively (`"f64"`, `"float64"`, `"double"`, `"float"`,
 * `"int8"` … `"uint64"`, `"bool_"`, `"bits"`; see
 * `evident_dtype_from_name`). Otherwise `spec` is a buffer format
 * (Python's `struct` characters, as `memoryview.format`,
 * `array.typecode` and numpy's `dtype.char` give them, optionally after
 * `@`, `=` or `<`) whose items take `itemsize` bytes: `d`/`f` a float,
 * `?` a bool, `b h i l q` a signed and `B H I L Q` an unsigned integer of
 * that size. What is no sample type gives
 * `EVIDENT_STATUS_INVALID_ARGUMENT`. `*out` receives a string to free
 * with `evident_string_free` (NULL on failure).
 */
evident_status evident_dtype_json(const char *spec, uint32_t itemsize, char **out);

/**
 * The number of samples of `dtype` (an `EVIDENT_DTYPE_*` value) that
 * `nbytes` bytes hold, checked: with `len_samples` `UINT64_MAX`, derived
 * from `nbytes` (refused when it is not a whole number of samples; bits:
 * 8 per byte); otherwise `len_samples` itself, refused unless those
 * samples take exactly `nbytes` bytes (bits: packed). `*out` receives it
 * (0 on failure).
 */
evident_status evident_dtype_len_samples(uint32_t dtype,
                                         uint64_t nbytes,
                                         uint64_t len_samples,
                                         uint64_t *out);

/**
 * The history entries of `operation` (NULL: every operation), oldest
 * first, as `evident_session_history_json` gives them; with
 * `success_only`, only those that succeeded. `*out` receives a string to
 * free with `evident_string_free` (NULL on failure).
 */
evident_status evident_session_history_find_json(const evident_session *session,
                                                 const char *operation,
                                                 bool success_only,
                                                 char **out);

/**
 * The `evident_measure` value of the measurement named `name`
 * (`"frequency"`, `"period"`, `"amplitude"`, `"rise_time"`,
 * `"fall_time"`, `"duty_cycle"`, `"thd"`); another name gives
 * `EVIDENT_STATUS_INVALID_ARGUMENT` naming them. `*out` receives it (0 on
 * failure).
 */
evident_status evident_measure_from_name(const char *name, uint32_t *out);

/**
 * Writes TraceKit's `export_audit_log` file text for `entries_json`, a JSON
 * array of `{"timestamp", "action", "details", "user", "host"}`, optionally
 * with `"previous_hash"` and `"hmac"` (other members are refused). The text
 * is read as Python's `json` reads it: `details` keep the order of their
 * members and integers of any size exactly, and `NaN`, `Infinity`,
 * `-Infinity` are accepted; the export writes them back as TraceKit's
 * `json.dump` does. `previous_hash` and `hmac` are kept as given; when absent they are
 * computed: HMAC(`key`, `timestamp|action|json.dumps(details,
 * sort_keys=True)|user|host|previous_hash`) with `algorithm` `"sha256"` or
 * `"sha512"`, the first `previous_hash` `"GENESIS"`. `format` is `"json"`
 * (`{"version": "1.0", "hash_algorithm", "entries"}` indented by 2, as
 * Python's `json.dump(..., indent=2)`) or `"csv"` (timestamp, action,
 * user, host, previous_hash, hmac, `detail_<key>`…; `\r\n` line ends).
 * `key` may be NULL when `key_len` is 0 (any length is accepted).
 * `*out_text` receives the text (free with `evident_string_free`; NULL on
 * failure).
 */
evident_status evident_tracekit_export(const char *algorithm,
                                       const uint8_t *key,
                                       size_t key_len,
                                       const char *entries_json,
                                       const char *format,
                                       char **out_text);

/**
 * [`evident_tracekit_export`] written straight to the file at `path`
 * (UTF-8; created or truncated, as TraceKit's `open(path, "w")`; the
 * parent directory must exist). The file holds the exact text, including
 * any NUL a field holds (which a C string cannot carry: the CSV layout
 * writes NUL characters as they are, as Python's `csv` module does).
 * Since ABI 1.9.
 */
evident_status evident_tracekit_export_file(const char *algorithm,
                                            const uint8_t *key,
                                            size_t key_len,
                                            const char *entries_json,
                                            const char *format,
                                            const char *path);

/**
 * TraceKit's `AuditTrail.get_entries(since=, action_type=)`:
 * `entries_json` is a JSON array of objects with the strings `timestamp`
 * and `action` (other members are ignored); `since` is an RFC 3339 time
 * (NULL: any time) and `action_type` an action (NULL: any). An entry is
 * kept when its time is at or after `since` (compared as instants; a
 * timestamp that is not RFC 3339 is compared as text with `since` written
 * `YYYY-MM-DDTHH:MM:SS.ffffffZ`, as TraceKit does) and its action is
 * `action_type`. `*out_json` receives a JSON array of the kept entries'
 * indices, oldest first (free with `evident_string_free`; NULL on
 * failure).
 */
evident_status evident_tracekit_filter(const char *entries_json,
                                       const char *since,
                                       const char *action_type,
                                       char **out_json);

/**
 * TraceKit's HMAC chain of `entries_json` (entries as for
 * `evident_tracekit_export`: `details` any JSON value in Python's dialect,
 * `previous_hash` and `hmac` optional). The HMAC input,
 * `timestamp|action|json.dumps(details, sort_keys=True)|user|host|previous_hash`,
 * is built here, so every interface computes the same HMAC: `details` are
 * written as Python's `json.dumps(..., sort_keys=True)` writes them (exact
 * integers of any size, floats as Python's `repr`, `NaN`/`Infinity`,
 * `\uXXXX` escapes). An entry without `previous_hash` links to the entry
 * before (the first to `"GENESIS"`); one without `hmac` gets it computed.
 * `*out_json` receives a JSON array with one `{"previous_hash", "hmac"}`
 * per entry (free with `evident_string_free`; NULL on failure). A string
 * with a lone surrogate escape (`"\ud800"`, which Python's `str` allows)
 * is refused with an error naming its path.
 */
evident_status evident_tracekit_chain(const char *algorithm,
                                      const uint8_t *key,
                                      size_t key_len,
                                      const char *entries_json,
                                      char **out_json);

/**
 * TraceKit's `verify_integrity` of `entries_json` (entries as for
 * `evident_tracekit_chain`, each with its `previous_hash` and `hmac`; the
 * HMAC input is built here). `*out_first_bad` receives -1 when every link
 * and HMAC is right (the first `previous_hash` is `"GENESIS"`), else the
 * index of the first entry whose link or HMAC is wrong or missing; 0 on
 * failure (never -1, so an ignored failure does not read as valid).
 */
evident_status evident_tracekit_verify_entries(const char *algorithm,
                                               const uint8_t *key,
                                               size_t key_len,
                                               const char *entries_json,
                                               int64_t *out_first_bad);

/**
 * Checks that an evident log holds `details_json` (one JSON value in
 * Python's dialect) exactly, so that a TraceKit trail rebuilt from the log
 * has the same HMACs: `EVIDENT_STATUS_INVALID_ARGUMENT`, with a message
 * naming the value's path (`details["list"][0]`), for an integer outside
 * 64 bits, a non-finite float or a lone surrogate escape; Ok otherwise.
 */
evident_status evident_tracekit_check_log_details(const char *details_json);

/**
 * Creates a verify options object with the defaults. `*out_options`
 * receives it (NULL on failure); free it with `evident_verify_options_free`.
 */
evident_status evident_verify_options_new(evident_verify_options **out_options);

/**
 * Frees a verify options object. NULL is a no-op.
 */
void evident_verify_options_free(evident_verify_options *options);

/**
 * Sets the HMAC key of a keyed log (`key_len` bytes, at least 16, copied).
 * Giving a key for a keyless log is reported as a violation. `key` NULL
 * with `key_len` 0 removes the key.
 */
evident_status evident_verify_options_set_key(evident_verify_options *options,
                                              const uint8_t *key,
                                              size_t key_len);

/**
 * Sets a head kept outside the log (from `evident_log_head`): the log must
 * still contain entry `seq` with hash `hash_hex` (hex digits in either
 * case), which detects truncation. `hash_hex` NULL removes the
 * expectation; invalid hex gives `EVIDENT_STATUS_INVALID_ARGUMENT`.
 */
evident_status evident_verify_options_set_expected_head(evident_verify_options *options,
                                                        uint64_t seq,
                                                        const char *hash_hex);

/**
 * Sets the log id the log must have (copied). NULL removes it.
 */
evident_status evident_verify_options_set_expected_log_id(evident_verify_options *options,
                                                          const char *log_id);

/**
 * Report every violation (up to 10000 kept, all counted) instead of
 * stopping at the first.
 */
evident_status evident_verify_options_set_all(evident_verify_options *options, bool all);

/**
 * Sets the number of worker threads (0: one per core).
 */
evident_status evident_verify_options_set_threads(evident_verify_options *options, size_t threads);

/**
 * Sets how long a torn tail that is only a record's beginning is watched
 * for the file to grow (a writer still appending it: reported as in
 * flight, spec/format.md § 9.5), in milliseconds. Default 126 (about
 * 0.1 s); 0 looks once without a pause, for logs nobody appends to any
 * more. Since C ABI 1.13.
 */
evident_status evident_verify_options_set_in_flight_wait_ms(evident_verify_options *options,
                                                            uint64_t wait_ms);

/**
 * Sets a progress callback (NULL removes it); `user_data` is passed back
 * to it unchanged.
 */
evident_status evident_verify_options_set_progress(evident_verify_options *options,
                                                   evident_progress_fn callback,
                                                   void *user_data);

/**
 * Checks the whole log at `path` (UTF-8): every hash, link and seq, the
 * key, and the expectations set in `options` (NULL: defaults).
 *
 * Returns `EVIDENT_STATUS_OK` whenever the file could be read — whether it
 * is valid or not is in the result (`evident_verify_result_valid`). Other
 * statuses mean the file could not be checked (e.g. `EVIDENT_STATUS_IO`).
 * `*out_result` receives the result (NULL on failure); free it with
 * `evident_verify_result_free`.
 */
evident_status evident_verify(const char *path,
                              const evident_verify_options *options,
                              evident_verify_result **out_result);

/**
 * Frees a verify result (and every violation and string borrowed from
 * it). NULL is a no-op.
 */
void evident_verify_result_free(evident_verify_result *result);

/**
 * True when no violation was found (false if `result` is NULL).
 */
bool evident_verify_result_valid(const evident_verify_result *result);

/**
 * True when the file is not an evident log (spec § 9.2: empty, in neither
 * framing, or not starting with a readable genesis record): nothing in it
 * could be checked, and the one violation is `malformed` at its start.
 * Report it as "not an evident log", not as tampering. False if `result`
 * is NULL.
 */
bool evident_verify_result_not_a_log(const evident_verify_result *result);

/**
 * True when the only problems are torn tails (an interrupted write, not
 * tampering; opening the log moves it aside).
 */
bool evident_verify_result_only_torn_tail(const evident_verify_result *result);

/**
 * Entry records checked (the genesis is not counted).
 */
uint64_t evident_verify_result_entries(const evident_verify_result *result);

/**
 * Seq of the last complete record found.
 */
uint64_t evident_verify_result_head_seq(const evident_verify_result *result);

/**
 * Hash (hex) of the last complete record, or NULL when the file has none.
 * Owned by the result.
 */
const char *evident_verify_result_head_hash(const evident_verify_result *result);

/**
 * The log id from the genesis, or NULL when unreadable. Owned by the result.
 */
const char *evident_verify_result_log_id(const evident_verify_result *result);

/**
 * The key id from the genesis, or NULL (keyless or unreadable). Owned by
 * the result.
 */
const char *evident_verify_result_key_id(const evident_verify_result *result);

/**
 * The file's framing (`EVIDENT_FRAMING_AUTO` when it has none).
 */
evident_framing evident_verify_result_framing(const evident_verify_result *result);

/**
 * The log's algorithm (`EVIDENT_ALG_AUTO` when unreadable).
 */
evident_alg evident_verify_result_alg(const evident_verify_result *result);

/**
 * The file size in bytes.
 */
uint64_t evident_verify_result_bytes(const evident_verify_result *result);

/**
 * Number of violations kept in the result (readable with
 * `evident_verify_result_violation`): at most 1 unless "all" was set.
 */
size_t evident_verify_result_violation_count(const evident_verify_result *result);

/**
 * Number of violations found (may exceed the number kept).
 */
uint64_t evident_verify_result_violations_total(const evident_verify_result *result);

/**
 * Bytes at the end of the file that were a record being written while
 * verify ran (the file grew): not a violation, not checked. 0 when none.
 */
uint64_t evident_verify_result_in_flight_tail(const evident_verify_result *result);

/**
 * Violation number `index` (0 is the first in file order).
 * `*out_violation` receives a pointer owned by the result, valid until
 * `evident_verify_result_free` (NULL on failure). An index out of range
 * gives `EVIDENT_STATUS_INVALID_ARGUMENT`.
 */
evident_status evident_verify_result_violation(const evident_verify_result *result,
                                               size_t index,
                                               const evident_violation **out_violation);

/**
 * The whole result as a JSON object (the same fields as `evident verify
 * --json`, `status` and `head` included). `*out_json` receives a string to free with
 * `evident_string_free` (NULL on failure).
 */
evident_status evident_verify_result_to_json(const evident_verify_result *result, char **out_json);

/**
 * The kind of the violation: an `EVIDENT_VIOLATION_KIND_*` value (0 if
 * `violation` is NULL).
 */
uint32_t evident_violation_get_kind(const evident_violation *violation);

/**
 * Whether the violation names an entry seq.
 */
bool evident_violation_has_seq(const evident_violation *violation);

/**
 * The seq of the record (0 when `evident_violation_has_seq` is false).
 */
uint64_t evident_violation_seq(const evident_violation *violation);

/**
 * The 1-based line of the record (JSONL), 0 for binary logs.
 */
uint64_t evident_violation_line(const evident_violation *violation);

/**
 * The byte offset of the record in the file.
 */
uint64_t evident_violation_offset(const evident_violation *violation);

/**
 * A one-line description. Owned by the result the violation came from.
 * NULL if `violation` is NULL.
 */
const char *evident_violation_message(const evident_violation *violation);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* EVIDENT_H */
