/*
 * shim.h: small C helpers between the Go package and the C ABI
 * (include/evident.h). They exist for two reasons only:
 *
 * 1. The C ABI keeps its last error per OS thread, and a goroutine may move
 *    to another thread between two cgo calls. Every helper that calls a
 *    status-returning function copies the message of a failure (malloc'd,
 *    freed by Go) within the same C call, so the message always belongs to
 *    the call that failed.
 * 2. Fewer cgo transitions: an open, verify or query with its options is one
 *    call; an entry's fields are read in one call.
 *
 * Strings come from Go as one buffer of NUL-terminated strings (Go memory,
 * only read during the call) plus offsets into it; offset -1 means NULL.
 * No logic lives here: each helper maps its arguments onto the C ABI.
 */
#ifndef EVIDENT_GO_SHIM_H
#define EVIDENT_GO_SHIM_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include "evident.h"

// The failure of the last call on this thread, packed as statusError reads
// it (errno, path, message); NULL on success. Free with free().
char *evgo_take_error(evident_status st);

/* Options of evident_log_open. Fields with a set_ flag are only applied when
 * the flag is true (otherwise the library default stays). */
typedef struct {
    int32_t path;   /* offsets into the string buffer; -1 = NULL */
    int32_t actor;
    int32_t host;
    int32_t key;    /* the key bytes (key_len of them) */
    size_t key_len;
    uint32_t framing;
    uint32_t alg;
    bool set_durability;
    uint32_t durability;
    bool set_lock_mode;
    uint32_t lock_mode;
    bool set_lock_timeout;
    uint64_t lock_timeout_ms;
    bool set_create;
    bool create;
    bool create_new;
    bool adopt_empty;
    bool set_buffer_size;
    size_t buffer_size;
    uint64_t commit_delay_us;
    int32_t cp_skey; /* automatic checkpoints: the private key text, -1 = off */
    uint64_t cp_every_entries;
    uint64_t cp_every_ms;
    bool cp_in_log;
} evgo_open_args;

/* What a log says about itself (copied out once, at open). */
typedef struct {
    const char *path;
    const char *log_id;
    const char *key_id;
    uint32_t framing;
    uint32_t alg;
} evgo_log_info;

evident_status evgo_log_open(const char *strs, const evgo_open_args *args, evident_log **out_log,
                             evgo_log_info *out_info, char **out_err);

/* The string fields of an evident_event, in this order, as offsets. */
enum { EVGO_EVENT_STRINGS = 11 };
evident_status evgo_log_append(evident_log *log, const evident_event *event, const char *strs,
                               const int32_t *offsets, evident_head *out_head, char **out_err);
evident_status evgo_log_append_json(evident_log *log, const char *json, evident_head *out_head,
                                    char **out_err);
/* evident_log_append_jsonl: `n` heads out, the number appended in *out_count. */
evident_status evgo_log_append_jsonl(evident_log *log, const char *buf, size_t len,
                                     evident_head *out_heads, size_t n, size_t *out_count,
                                     char **out_err);
evident_status evgo_log_sync(evident_log *log, char **out_err);
evident_status evgo_log_head(const evident_log *log, evident_head *out_head, char **out_err);
/* evident_log_close, then evident_log_free whatever close returned. */
evident_status evgo_log_close_free(evident_log *log, char **out_err);

/* Recovery: torn tails copied into Go memory by index. */
evident_status evgo_log_recovery(const evident_log *log, evident_recovery **out_recovery,
                                 bool *out_created, size_t *out_torn_count, char **out_err);
evident_status evgo_recovery_torn_tail(const evident_recovery *recovery, size_t index,
                                       uint64_t *out_offset, uint64_t *out_len,
                                       const char **out_sidecar, char **out_err);

/* Verify. */
typedef struct {
    int32_t path;
    int32_t key;
    size_t key_len;
    bool set_expected_head;
    uint64_t expected_seq;
    int32_t expected_hash;
    int32_t expected_log_id;
    bool all;
    size_t threads;
    uintptr_t progress; /* a runtime/cgo.Handle, 0 = no callback */
    bool set_in_flight_wait;
    uint64_t in_flight_wait_ms;
} evgo_verify_args;

typedef struct {
    bool valid;
    bool only_torn_tail;
    bool not_a_log;
    uint64_t entries;
    uint64_t head_seq;
    const char *head_hash;
    const char *log_id;
    const char *key_id;
    uint32_t framing;
    uint32_t alg;
    uint64_t bytes;
    size_t violation_count;
    uint64_t violations_total;
    uint64_t in_flight_tail;
} evgo_result_view;

typedef struct {
    uint32_t kind;
    bool has_seq;
    uint64_t seq;
    uint64_t line;
    uint64_t offset;
    const char *message;
} evgo_violation_view;

evident_status evgo_verify(const char *strs, const evgo_verify_args *args,
                           evident_verify_result **out_result, evgo_result_view *out_view,
                           char **out_err);
evident_status evgo_verify_violation(const evident_verify_result *result, size_t index,
                                     evgo_violation_view *out_view, char **out_err);

/* Query. */
typedef struct {
    int32_t path;
    int32_t session_id;
    int32_t event_type;
    int32_t action;
    int32_t actor;
    int32_t source;
    int32_t since;
    int32_t until;
    uint64_t seq_min;
    uint64_t seq_max;
    uint32_t order;
    bool set_limit;
    size_t limit;
} evgo_query_args;

typedef struct {
    uint64_t seq;
    int64_t ts_unix_us;
    const char *ts;
    const char *event_type;
    const char *action;
    const char *actor;
    const char *host;
    const char *session_id;
    const char *source;
    const char *error;
    const char *note;
    const char *git_commit;
    const char *details_json;
    const char *prev;
    const char *hash;
    bool otr;
    bool has_success;
    bool success;
    bool has_duration_ms;
    double duration_ms;
} evgo_entry_view;

evident_status evgo_query_run(const char *strs, const evgo_query_args *args,
                              evident_query_iter **out_iter, char **out_err);
/* Frees *entry (the previous entry, if any), advances the iterator and, on
 * EVIDENT_STATUS_OK, stores the new entry in *entry and its fields in
 * *out_view (borrowed from *entry until the next call). */
evident_status evgo_query_next(evident_query_iter *iter, evident_entry **entry,
                               evgo_entry_view *out_view, char **out_err);
/* Frees the iterator and the last entry. */
void evgo_query_close(evident_query_iter *iter, evident_entry *entry);

/* Session container (evident_session_*, evident_trace_*). Strings passed
 * directly are Go memory read only during the call; strings returned in
 * `char **out` are freed by Go with evident_string_free. */

/* evident_session_change_json (change) or evident_session_get_json. */
evident_status evgo_session_call(evident_session *s, bool change, const char *op, const char *args,
                                 char **out, char **out_err);

evident_status evgo_session_new(const char *name, evident_session **out, char **out_err);
evident_status evgo_session_load(const char *path, const uint8_t *key, size_t key_len,
                                 uint64_t version, evident_session **out, char **out_err);
evident_status evgo_session_add_trace(evident_session *s, const char *name, uint32_t dtype,
                                      const void *data, uint64_t len_samples,
                                      const char *info_json, char **out_err);
evident_status evgo_dtype_from_name(const char *name, uint32_t *out, char **out_err);
/* evident_session_get_trace, then evident_trace_info_json of the trace. */
evident_status evgo_session_get_trace(const evident_session *s, const char *name,
                                      evident_trace **out, char **out_info, char **out_err);
evident_status evgo_trace_data(const evident_trace *t, const void **data, uint64_t *len_samples,
                               uint64_t *len_bytes, uint32_t *dtype, char **out_err);
evident_status evgo_trace_verify(const evident_trace *t, char **out_err);

/* evident_session_save_json (the options as JSON; audit NULL: none). */
evident_status evgo_session_save(evident_session *s, const char *path, const char *options_json,
                                 const uint8_t *key, size_t key_len, evident_log *audit,
                                 char **out_info, char **out_err);

/* evident_args_from_go_json: a struct's JSON as the session calls take it. */
evident_status evgo_args_from_go(const char *json, char **out, char **out_err);

/* File-level functions on a session file, selected by `what`. */
enum {
    EVGO_SESSION_FILE_VERSIONS = 1,
    EVGO_SESSION_FILE_COMPACT,
    EVGO_SESSION_FILE_VERIFY,
};
evident_status evgo_session_file(int what, const char *path, const uint8_t *key, size_t key_len,
                                 char **out, char **out_err);

/* measurements (ABI 1.2) */
evident_status evgo_measure_samples(const double *samples, size_t len, double rate,
                                    uint32_t measure, double *out, char **out_err);
evident_status evgo_trace_measure(const evident_trace *t, uint32_t measure, double *out,
                                  char **out_err);
evident_status evgo_session_measure(evident_session *s, const char *name, uint32_t measure,
                                    double *out, char **out_err);

/* One value (the JSON a session's record call takes) as text, selected by
 * `what`: a measurement in TraceKit's shape (alias and style unused), a
 * history entry as a line of Python. */
enum {
    EVGO_MEASUREMENT_TRACEKIT = 1,
    EVGO_HISTORY_ENTRY_CODE,
};
evident_status evgo_value_text(int what, const char *json, const char *alias, uint32_t style,
                               char **out, char **out_err);

#endif /* EVIDENT_GO_SHIM_H */
