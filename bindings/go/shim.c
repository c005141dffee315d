// shim.c: see shim.h. Compiled by cgo as part of the Go package.

#include <string.h>
#include "shim.h"
#include "_cgo_export.h"

// Copies the calling thread's last error after a failed call, in one
// malloc'd buffer that Go's statusError reads and frees:
//
//   int32_t errno (native byte order; 0: none) | path NUL ("" : none) | message NUL
//
// NULL when the call succeeded (or ended an iteration) or memory ran out; Go
// then reports the status without a message.
static char *take_error(evident_status st) {
    if (st == EVIDENT_STATUS_OK || st == EVIDENT_STATUS_END) {
        return NULL;
    }
    int32_t code = (int32_t)evident_last_errno();
    const char *path = evident_last_error_path();
    size_t plen = path != NULL ? strlen(path) : 0;
    size_t n = evident_last_error_copy(NULL, 0);
    char *buf = malloc(sizeof code + plen + 1 + n + 1);
    if (buf != NULL) {
        memcpy(buf, &code, sizeof code);
        if (plen > 0) {
            memcpy(buf + sizeof code, path, plen);
        }
        buf[sizeof code + plen] = 0;
        evident_last_error_copy(buf + sizeof code + plen + 1, n + 1);
    }
    return buf;
}

char *evgo_take_error(evident_status st) {
    return take_error(st);
}

static const char *str_at(const char *strs, int32_t off) {
    return off < 0 ? NULL : strs + off;
}

static const uint8_t *bytes_at(const char *strs, int32_t off) {
    return off < 0 ? NULL : (const uint8_t *)(strs + off);
}

#define TRY(call)                                                                                  \
    do {                                                                                           \
        st = (call);                                                                               \
        if (st != EVIDENT_STATUS_OK) {                                                             \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

evident_status evgo_log_open(const char *strs, const evgo_open_args *a, evident_log **out_log,
                             evgo_log_info *out_info, char **out_err) {
    evident_status st;
    evident_open_options *o = NULL;
    *out_log = NULL;
    memset(out_info, 0, sizeof *out_info);
    TRY(evident_open_options_new(&o));
    TRY(evident_open_options_set_framing(o, a->framing));
    if (a->key >= 0) {
        TRY(evident_open_options_set_key(o, bytes_at(strs, a->key), a->key_len));
    }
    TRY(evident_open_options_set_alg(o, a->alg));
    if (a->set_durability) {
        TRY(evident_open_options_set_durability(o, a->durability));
    }
    if (a->set_lock_mode) {
        TRY(evident_open_options_set_lock_mode(o, a->lock_mode));
    }
    if (a->set_lock_timeout) {
        TRY(evident_open_options_set_lock_timeout_ms(o, a->lock_timeout_ms));
    }
    if (a->set_create) {
        TRY(evident_open_options_set_create(o, a->create));
    }
    TRY(evident_open_options_set_create_new(o, a->create_new));
    if (a->adopt_empty) {
        TRY(evident_open_options_set_adopt_empty(o, true));
    }
    if (a->actor >= 0) {
        TRY(evident_open_options_set_actor(o, str_at(strs, a->actor)));
    }
    if (a->host >= 0) {
        TRY(evident_open_options_set_host(o, str_at(strs, a->host)));
    }
    if (a->commit_delay_us) {
        TRY(evident_open_options_set_commit_delay_us(o, a->commit_delay_us));
    }
    if (a->set_buffer_size) {
        TRY(evident_open_options_set_buffer_size(o, a->buffer_size));
    }
    if (a->cp_skey >= 0) {
        TRY(evident_open_options_set_checkpoint(o, str_at(strs, a->cp_skey), a->cp_every_entries,
                                                a->cp_every_ms, a->cp_in_log ? 1 : 0));
    }
    TRY(evident_log_open(str_at(strs, a->path), o, out_log));
    out_info->path = evident_log_path(*out_log);
    out_info->log_id = evident_log_log_id(*out_log);
    out_info->key_id = evident_log_key_id(*out_log);
    out_info->framing = (uint32_t)evident_log_framing(*out_log);
    out_info->alg = (uint32_t)evident_log_alg(*out_log);
done:
    *out_err = take_error(st);
    evident_open_options_free(o);
    return st;
}

evident_status evgo_log_append(evident_log *log, const evident_event *event, const char *strs,
                               const int32_t *offsets, evident_head *out_head, char **out_err) {
    evident_event ev = *event;
    const char **fields[EVGO_EVENT_STRINGS] = {
        &ev.event_type, &ev.action, &ev.actor,      &ev.host,         &ev.session_id, &ev.source,
        &ev.error,      &ev.note,   &ev.git_commit, &ev.details_json, &ev.ts,
    };
    for (int i = 0; i < EVGO_EVENT_STRINGS; i++) {
        *fields[i] = str_at(strs, offsets[i]);
    }
    evident_status st = evident_log_append(log, &ev, out_head);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_log_append_json(evident_log *log, const char *json, evident_head *out_head,
                                    char **out_err) {
    evident_status st = evident_log_append_json(log, json, out_head);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_log_append_jsonl(evident_log *log, const char *buf, size_t len,
                                     evident_head *out_heads, size_t n, size_t *out_count,
                                     char **out_err) {
    evident_status st = evident_log_append_jsonl(log, buf, len, out_heads, n, out_count);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_log_sync(evident_log *log, char **out_err) {
    evident_status st = evident_log_sync(log);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_log_head(const evident_log *log, evident_head *out_head, char **out_err) {
    evident_status st = evident_log_head(log, out_head);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_log_close_free(evident_log *log, char **out_err) {
    evident_status st = evident_log_close(log);
    *out_err = take_error(st);
    evident_log_free(log);
    return st;
}

evident_status evgo_log_recovery(const evident_log *log, evident_recovery **out_recovery,
                                 bool *out_created, size_t *out_torn_count, char **out_err) {
    evident_status st = evident_log_recovery(log, out_recovery);
    *out_err = take_error(st);
    *out_created = evident_recovery_created(*out_recovery);
    *out_torn_count = evident_recovery_torn_count(*out_recovery);
    return st;
}

evident_status evgo_recovery_torn_tail(const evident_recovery *recovery, size_t index,
                                       uint64_t *out_offset, uint64_t *out_len,
                                       const char **out_sidecar, char **out_err) {
    evident_status st =
        evident_recovery_torn_tail(recovery, index, out_offset, out_len, out_sidecar);
    *out_err = take_error(st);
    return st;
}

static void progress_trampoline(void *user_data, uint64_t done, uint64_t total) {
    evidentGoProgress((uintptr_t)user_data, done, total);
}

evident_status evgo_verify(const char *strs, const evgo_verify_args *a,
                           evident_verify_result **out_result, evgo_result_view *v,
                           char **out_err) {
    evident_status st;
    evident_verify_options *o = NULL;
    *out_result = NULL;
    memset(v, 0, sizeof *v);
    TRY(evident_verify_options_new(&o));
    if (a->key >= 0) {
        TRY(evident_verify_options_set_key(o, bytes_at(strs, a->key), a->key_len));
    }
    if (a->set_expected_head) {
        TRY(evident_verify_options_set_expected_head(o, a->expected_seq,
                                                     str_at(strs, a->expected_hash)));
    }
    if (a->expected_log_id >= 0) {
        TRY(evident_verify_options_set_expected_log_id(o, str_at(strs, a->expected_log_id)));
    }
    TRY(evident_verify_options_set_all(o, a->all));
    TRY(evident_verify_options_set_threads(o, a->threads));
    if (a->set_in_flight_wait) {
        TRY(evident_verify_options_set_in_flight_wait_ms(o, a->in_flight_wait_ms));
    }
    if (a->progress != 0) {
        TRY(evident_verify_options_set_progress(o, progress_trampoline, (void *)a->progress));
    }
    TRY(evident_verify(str_at(strs, a->path), o, out_result));
    const evident_verify_result *r = *out_result;
    v->valid = evident_verify_result_valid(r);
    v->only_torn_tail = evident_verify_result_only_torn_tail(r);
    v->not_a_log = evident_verify_result_not_a_log(r);
    v->entries = evident_verify_result_entries(r);
    v->head_seq = evident_verify_result_head_seq(r);
    v->head_hash = evident_verify_result_head_hash(r);
    v->log_id = evident_verify_result_log_id(r);
    v->key_id = evident_verify_result_key_id(r);
    v->framing = (uint32_t)evident_verify_result_framing(r);
    v->alg = (uint32_t)evident_verify_result_alg(r);
    v->bytes = evident_verify_result_bytes(r);
    v->violation_count = evident_verify_result_violation_count(r);
    v->violations_total = evident_verify_result_violations_total(r);
    v->in_flight_tail = evident_verify_result_in_flight_tail(r);
done:
    *out_err = take_error(st);
    evident_verify_options_free(o);
    return st;
}

evident_status evgo_verify_violation(const evident_verify_result *result, size_t index,
                                     evgo_violation_view *v, char **out_err) {
    const evident_violation *viol = NULL;
    evident_status st = evident_verify_result_violation(result, index, &viol);
    *out_err = take_error(st);
    memset(v, 0, sizeof *v);
    if (st == EVIDENT_STATUS_OK) {
        v->kind = evident_violation_get_kind(viol);
        v->has_seq = evident_violation_has_seq(viol);
        v->seq = evident_violation_seq(viol);
        v->line = evident_violation_line(viol);
        v->offset = evident_violation_offset(viol);
        v->message = evident_violation_message(viol);
    }
    return st;
}

evident_status evgo_query_run(const char *strs, const evgo_query_args *a,
                              evident_query_iter **out_iter, char **out_err) {
    evident_status st;
    evident_query *q = NULL;
    *out_iter = NULL;
    TRY(evident_query_new(&q));
    if (a->session_id >= 0) {
        TRY(evident_query_set_session_id(q, str_at(strs, a->session_id)));
    }
    if (a->event_type >= 0) {
        TRY(evident_query_set_event_type(q, str_at(strs, a->event_type)));
    }
    if (a->action >= 0) {
        TRY(evident_query_set_action(q, str_at(strs, a->action)));
    }
    if (a->actor >= 0) {
        TRY(evident_query_set_actor(q, str_at(strs, a->actor)));
    }
    if (a->source >= 0) {
        TRY(evident_query_set_source(q, str_at(strs, a->source)));
    }
    if (a->since >= 0) {
        TRY(evident_query_set_since(q, str_at(strs, a->since)));
    }
    if (a->until >= 0) {
        TRY(evident_query_set_until(q, str_at(strs, a->until)));
    }
    TRY(evident_query_set_seq_min(q, a->seq_min));
    TRY(evident_query_set_seq_max(q, a->seq_max));
    if (a->order != 0) {
        TRY(evident_query_set_order(q, a->order));
    }
    if (a->set_limit) {
        TRY(evident_query_set_limit(q, a->limit));
    }
    TRY(evident_query_run(str_at(strs, a->path), q, out_iter));
done:
    *out_err = take_error(st);
    evident_query_free(q);
    return st;
}

evident_status evgo_query_next(evident_query_iter *iter, evident_entry **entry,
                               evgo_entry_view *v, char **out_err) {
    evident_entry_free(*entry);
    *entry = NULL;
    evident_status st = evident_query_next(iter, entry);
    *out_err = take_error(st);
    if (st != EVIDENT_STATUS_OK) {
        return st;
    }
    const evident_entry *e = *entry;
    v->seq = evident_entry_seq(e);
    v->ts_unix_us = evident_entry_ts_unix_us(e);
    v->ts = evident_entry_ts(e);
    v->event_type = evident_entry_event_type(e);
    v->action = evident_entry_action(e);
    v->actor = evident_entry_actor(e);
    v->host = evident_entry_host(e);
    v->session_id = evident_entry_session_id(e);
    v->source = evident_entry_source(e);
    v->error = evident_entry_error(e);
    v->note = evident_entry_note(e);
    v->git_commit = evident_entry_git_commit(e);
    v->details_json = evident_entry_details_json(e);
    v->prev = evident_entry_prev(e);
    v->hash = evident_entry_hash(e);
    v->otr = evident_entry_otr(e);
    v->has_success = evident_entry_has_success(e);
    v->success = evident_entry_success(e);
    v->has_duration_ms = evident_entry_has_duration_ms(e);
    v->duration_ms = evident_entry_duration_ms(e);
    return st;
}

void evgo_query_close(evident_query_iter *iter, evident_entry *entry) {
    evident_entry_free(entry);
    evident_query_iter_free(iter);
}

evident_status evgo_session_call(evident_session *s, bool change, const char *op, const char *args,
                                 char **out, char **out_err) {
    evident_status st = change ? evident_session_change_json(s, op, args, out)
                               : evident_session_get_json(s, op, args, out);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_session_new(const char *name, evident_session **out, char **out_err) {
    evident_status st = evident_session_new(name, out);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_session_load(const char *path, const uint8_t *key, size_t key_len,
                                 uint64_t version, evident_session **out, char **out_err) {
    evident_status st = evident_session_load(path, key, key_len, version, out);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_session_add_trace(evident_session *s, const char *name, uint32_t dtype,
                                      const void *data, uint64_t len_samples,
                                      const char *info_json, char **out_err) {
    evident_status st = evident_session_add_trace(s, name, dtype, data, len_samples, info_json);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_dtype_from_name(const char *name, uint32_t *out, char **out_err) {
    evident_status st = evident_dtype_from_name(name, out);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_session_get_trace(const evident_session *s, const char *name,
                                      evident_trace **out, char **out_info, char **out_err) {
    evident_status st;
    *out = NULL;
    *out_info = NULL;
    TRY(evident_session_get_trace(s, name, out));
    TRY(evident_trace_info_json(*out, out_info));
done:
    *out_err = take_error(st);
    if (st != EVIDENT_STATUS_OK) {
        evident_trace_free(*out);
        *out = NULL;
    }
    return st;
}

evident_status evgo_trace_data(const evident_trace *t, const void **data, uint64_t *len_samples,
                               uint64_t *len_bytes, uint32_t *dtype, char **out_err) {
    evident_status st = evident_trace_data(t, data, len_samples, len_bytes, dtype);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_trace_verify(const evident_trace *t, char **out_err) {
    evident_status st = evident_trace_verify(t);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_session_save(evident_session *s, const char *path, const char *options_json,
                                 const uint8_t *key, size_t key_len, evident_log *audit,
                                 char **out_info, char **out_err) {
    *out_info = NULL;
    evident_status st =
        evident_session_save_json(s, path, key, key_len, options_json, audit, out_info);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_args_from_go(const char *json, char **out, char **out_err) {
    *out = NULL;
    evident_status st = evident_args_from_go_json(json, out);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_session_file(int what, const char *path, const uint8_t *key, size_t key_len,
                                 char **out, char **out_err) {
    evident_status st;
    *out = NULL;
    switch (what) {
    case EVGO_SESSION_FILE_VERSIONS:
        st = evident_session_versions_json(path, key, key_len, out);
        break;
    case EVGO_SESSION_FILE_COMPACT:
        st = evident_session_compact(path, key, key_len, out);
        break;
    case EVGO_SESSION_FILE_VERIFY:
        st = evident_session_verify(path, key, key_len, out);
        break;
    default:
        *out_err = NULL;
        return EVIDENT_STATUS_INVALID_ARGUMENT;
    }
    *out_err = take_error(st);
    return st;
}

/* --- measurements (ABI 1.2) --- */

evident_status evgo_measure_samples(const double *samples, size_t len, double rate,
                                    uint32_t measure, double *out, char **out_err) {
    evident_status st = evident_measure_samples(samples, len, rate, measure, out);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_trace_measure(const evident_trace *t, uint32_t measure, double *out,
                                  char **out_err) {
    evident_status st = evident_trace_measure(t, measure, out);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_session_measure(evident_session *s, const char *name, uint32_t measure,
                                    double *out, char **out_err) {
    evident_status st = evident_session_measure(s, name, measure, out);
    *out_err = take_error(st);
    return st;
}

evident_status evgo_value_text(int what, const char *json, const char *alias, uint32_t style,
                               char **out, char **out_err) {
    evident_status st;
    *out = NULL;
    switch (what) {
    case EVGO_MEASUREMENT_TRACEKIT:
        st = evident_measurement_tracekit_json(json, out);
        break;
    case EVGO_HISTORY_ENTRY_CODE:
        st = evident_history_entry_code(json, alias, style, out);
        break;
    default:
        *out_err = NULL;
        return EVIDENT_STATUS_INVALID_ARGUMENT;
    }
    *out_err = take_error(st);
    return st;
}
