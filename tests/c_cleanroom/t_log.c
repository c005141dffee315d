/* Clean-room semantic tests of the log, append, verify, query and error functions. */
#include "ct.h"
#include <errno.h>
#include <pthread.h>
#include <sys/wait.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>

static evident_log *open_default(const char *path) {
    evident_log *log = (evident_log *)0x1;
    evident_status s = evident_log_open(path, NULL, &log);
    if (s != EVIDENT_STATUS_OK) { fprintf(stderr, "open %s: %s\n", path, evident_last_error()); CHECK(log == NULL); return NULL; }
    return log;
}

static void test_basics(void) {
    const char *v = evident_version();
    CHECK(v != NULL && strlen(v) > 0);
    uint32_t abi = evident_abi_version();
    CHECK((abi >> 16) == EVIDENT_ABI_VERSION_MAJOR && abi >= EVIDENT_ABI_VERSION);
    CHECK(strcmp(evident_status_name(EVIDENT_STATUS_LOCKED), "EVIDENT_STATUS_LOCKED") == 0);
    CHECK(strcmp(evident_status_name(EVIDENT_STATUS_OK), "EVIDENT_STATUS_OK") == 0);
    CHECK(strcmp(evident_status_name(EVIDENT_STATUS_END), "EVIDENT_STATUS_END") == 0);
    CHECK(strcmp(evident_status_name(EVIDENT_STATUS_NULL_ARGUMENT), "EVIDENT_STATUS_NULL_ARGUMENT") == 0);
    CHECK(strcmp(evident_status_name(12345), "EVIDENT_STATUS_UNKNOWN") == 0);
    CHECK(strcmp(evident_violation_kind_name(EVIDENT_VIOLATION_KIND_HASH_MISMATCH), "hash_mismatch") == 0);
    CHECK(strcmp(evident_violation_kind_name(EVIDENT_VIOLATION_KIND_TORN_TAIL), "torn_tail") == 0);
    CHECK(strcmp(evident_violation_kind_name(999), "unknown") == 0);
    /* all free functions accept NULL */
    evident_string_free(NULL); evident_log_free(NULL); evident_recovery_free(NULL);
    evident_open_options_free(NULL); evident_verify_options_free(NULL); evident_verify_result_free(NULL);
    evident_query_free(NULL); evident_query_iter_free(NULL); evident_entry_free(NULL);
    evident_session_free(NULL); evident_trace_free(NULL); evident_save_options_free(NULL);
    /* NULL-tolerant accessors */
    CHECK(evident_log_path(NULL) == NULL && evident_log_log_id(NULL) == NULL && evident_log_key_id(NULL) == NULL);
    CHECK(evident_log_framing(NULL) == EVIDENT_FRAMING_AUTO && evident_log_alg(NULL) == EVIDENT_ALG_AUTO);
    CHECK(evident_entry_seq(NULL) == 0 && evident_entry_ts(NULL) == NULL && evident_entry_ts_unix_us(NULL) == 0);
    CHECK(evident_recovery_created(NULL) == false && evident_recovery_torn_count(NULL) == 0);
    CHECK(evident_verify_result_valid(NULL) == false && evident_verify_result_not_a_log(NULL) == false);
    CHECK(evident_violation_get_kind(NULL) == 0 && evident_violation_message(NULL) == NULL);
}

static void test_last_error(void) {
    evident_log *log = (evident_log *)0x1;
    evident_open_options *o = NULL;
    CHECK_ST(evident_open_options_new(&o), EVIDENT_STATUS_OK);
    CHECK_ST(evident_open_options_set_create(o, false), EVIDENT_STATUS_OK);
    const char *missing = ct_path("nodir/missing.jsonl");
    CHECK_ST(evident_log_open(missing, o, &log), EVIDENT_STATUS_IO);
    CHECK(log == NULL);
    const char *msg = evident_last_error();
    CHECK(msg != NULL && strlen(msg) > 0);
    CHECK(strchr(msg, '\n') == NULL);                 /* one line */
    CHECK(CONTAINS(msg, "missing.jsonl"));            /* names the file */
    CHECK(evident_last_errno() == ENOENT);
    CHECK(evident_last_error_path() != NULL);
    size_t full = evident_last_error_copy(NULL, 0);
    CHECK(full == strlen(msg));
    char small[8]; memset(small, 'x', sizeof small);
    size_t r = evident_last_error_copy(small, sizeof small);
    CHECK(r == full && small[7] == 0 && strncmp(small, msg, 7) == 0);
    char *big = malloc(full + 1);
    CHECK(evident_last_error_copy(big, full + 1) == full && strcmp(big, evident_last_error()) == 0);
    free(big);
    /* a success clears it */
    evident_query *q = NULL;
    CHECK_ST(evident_query_new(&q), EVIDENT_STATUS_OK);
    CHECK(strcmp(evident_last_error(), "") == 0);
    CHECK(evident_last_errno() == 0);
    CHECK(evident_last_error_path() == NULL);
    evident_query_free(q);
    /* a non-IO failure: errno 0 */
    CHECK_ST(evident_open_options_set_framing(o, 77), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(strlen(evident_last_error()) > 0);
    CHECK(evident_last_errno() == 0);
    /* NULL argument status */
    CHECK_ST(evident_log_open(NULL, NULL, &log), EVIDENT_STATUS_NULL_ARGUMENT);
    /* invalid UTF-8 path */
    log = (evident_log *)0x1;
    CHECK_ST(evident_log_open("/tmp/\xff\xfe.jsonl", NULL, &log), EVIDENT_STATUS_INVALID_UTF8);
    CHECK(log == NULL);
    evident_open_options_free(o);
}

static void *err_thread(void *arg) {
    (void)arg;
    /* the failure happened on the main thread: here there is none */
    *(int *)arg = strcmp(evident_last_error(), "") == 0 && evident_last_error_path() == NULL;
    return NULL;
}
static void test_last_error_thread_local(void) {
    evident_log *log = NULL;
    evident_open_options *o = NULL;
    evident_open_options_new(&o);
    evident_open_options_set_create(o, false);
    CHECK_ST(evident_log_open(ct_path("nope.jsonl"), o, &log), EVIDENT_STATUS_IO);
    int ok = 0; pthread_t t; pthread_create(&t, NULL, err_thread, &ok); pthread_join(t, NULL);
    CHECK(ok == 1);
    CHECK(strlen(evident_last_error()) > 0);   /* still there on this thread */
    evident_open_options_free(o);
}

static void test_open_append_head(void) {
    const char *p = ct_path("a.jsonl");
    evident_log *log = open_default(p);
    CHECK(log != NULL); if (!log) return;
    CHECK(strcmp(evident_log_path(log), p) == 0);
    CHECK(evident_log_log_id(log) != NULL && strlen(evident_log_log_id(log)) > 0);
    CHECK(evident_log_key_id(log) == NULL);
    CHECK(evident_log_framing(log) == EVIDENT_FRAMING_JSONL);
    CHECK(evident_log_alg(log) == EVIDENT_ALG_SHA256);

    evident_recovery *rec = (evident_recovery *)0x1;
    CHECK_ST(evident_log_recovery(log, &rec), EVIDENT_STATUS_OK);
    CHECK(rec != NULL && rec != (evident_recovery *)0x1);
    CHECK(evident_recovery_created(rec) == true);
    CHECK(evident_recovery_torn_count(rec) == 0);
    uint64_t off = 99, len = 99; const char *sc = "x";
    CHECK_ST(evident_recovery_torn_tail(rec, 0, &off, &len, &sc), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(off == 0 && len == 0 && sc == NULL);  /* out-pointers set to zero on entry */
    evident_recovery_free(rec);

    evident_head h; memset(&h, 0x55, sizeof h);
    CHECK_ST(evident_log_head(log, &h), EVIDENT_STATUS_OK);
    CHECK(h.seq == 0);
    CHECK(ct_is_lower_hex(h.hash, 64));  /* genesis hash */

    evident_event ev = {0};
    ev.event_type = "ACTION_EXECUTED"; ev.action = "load_trace"; ev.actor = "alice"; ev.host = "h1";
    ev.session_id = "s1"; ev.source = "tool"; ev.error = "boom"; ev.note = "n"; ev.git_commit = "abc123";
    ev.details_json = "{\"b\": 2, \"a\": [1, 2]}"; ev.ts = "2024-05-01T12:00:00Z";
    ev.otr = true; ev.has_success = true; ev.success = false; ev.has_duration_ms = true; ev.duration_ms = 12.5;
    evident_head h1; memset(&h1, 0x55, sizeof h1);
    CHECK_ST(evident_log_append(log, &ev, &h1), EVIDENT_STATUS_OK);
    CHECK(h1.seq == 1 && ct_is_lower_hex(h1.hash, 64));
    CHECK(strcmp(h1.hash, h.hash) != 0);
    evident_event ev2 = {0};  /* all unset */
    evident_head h2;
    CHECK_ST(evident_log_append(log, &ev2, &h2), EVIDENT_STATUS_OK);
    CHECK(h2.seq == 2);
    CHECK_ST(evident_log_append(log, &ev2, NULL), EVIDENT_STATUS_OK);
    CHECK_ST(evident_log_head(log, &h), EVIDENT_STATUS_OK);
    CHECK(h.seq == 3);

    /* append_json */
    evident_head hj; memset(&hj, 0x55, sizeof hj);
    CHECK_ST(evident_log_append_json(log, "{\"event_type\":\"E\",\"action\":\"json\",\"success\":true,\"duration_ms\":3,\"details\":{\"k\":\"v\"},\"ts\":\"2024-06-01T00:00:00Z\"}", &hj), EVIDENT_STATUS_OK);
    CHECK(hj.seq == 4);
    memset(&hj, 0x55, sizeof hj);
    CHECK_ST(evident_log_append_json(log, "{\"event_type\":\"E\",\"bogus_field\":1}", &hj), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(hj.seq == 0 && hj.hash[0] == 0);   /* zeros on failure */
    CHECK(CONTAINS(evident_last_error(), "bogus_field"));
    memset(&hj, 0x55, sizeof hj);
    CHECK_ST(evident_log_append_json(log, "{not json", &hj), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(hj.seq == 0);
    CHECK_ST(evident_log_append_json(log, "[1,2]", NULL), EVIDENT_STATUS_INVALID_ARGUMENT);
    /* bad timestamp, bad details JSON through C fields */
    evident_event bad = {0}; bad.ts = "yesterday";
    memset(&hj, 0x55, sizeof hj);
    CHECK_ST(evident_log_append(log, &bad, &hj), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(hj.seq == 0);
    bad.ts = NULL; bad.details_json = "{oops";
    CHECK_ST(evident_log_append(log, &bad, NULL), EVIDENT_STATUS_INVALID_ARGUMENT);
    evident_event nan_ev = {0}; nan_ev.has_duration_ms = true; nan_ev.duration_ms = 0.0 / 0.0;
    CHECK_ST(evident_log_append(log, &nan_ev, NULL), EVIDENT_STATUS_INVALID_ARGUMENT);
    evident_event utf = {0}; utf.action = "\xc3\x28";
    CHECK_ST(evident_log_append(log, &utf, NULL), EVIDENT_STATUS_INVALID_UTF8);
    CHECK_ST(evident_log_head(log, &h), EVIDENT_STATUS_OK);
    CHECK(h.seq == 4);   /* nothing written by the failures */

    /* second open of a locked log */
    evident_log *log2 = (evident_log *)0x1;
    evident_status s2 = evident_log_open(p, NULL, &log2);
    CHECK(s2 == EVIDENT_STATUS_LOCKED);
    CHECK(log2 == NULL || s2 == EVIDENT_STATUS_OK);
    if (s2 == EVIDENT_STATUS_LOCKED) CHECK(CONTAINS(evident_last_error(), "pid") || CONTAINS(evident_last_error(), "PID"));
    if (s2 == EVIDENT_STATUS_OK) evident_log_free(log2);

    /* close semantics */
    CHECK_ST(evident_log_close(log), EVIDENT_STATUS_OK);
    CHECK_ST(evident_log_close(log), EVIDENT_STATUS_OK);
    CHECK_ST(evident_log_append(log, &ev2, NULL), EVIDENT_STATUS_CLOSED);
    CHECK_ST(evident_log_append_json(log, "{}", NULL), EVIDENT_STATUS_CLOSED);
    CHECK_ST(evident_log_sync(log), EVIDENT_STATUS_CLOSED);
    CHECK(strcmp(evident_log_path(log), p) == 0);   /* accessors still valid */
    evident_log_free(log);

    /* reopen: not created, entries kept; create_new refuses */
    log = open_default(p);
    CHECK(log != NULL);
    if (log) {
        rec = NULL;
        CHECK_ST(evident_log_recovery(log, &rec), EVIDENT_STATUS_OK);
        CHECK(evident_recovery_created(rec) == false);
        evident_recovery_free(rec);
        CHECK_ST(evident_log_head(log, &h), EVIDENT_STATUS_OK);
        CHECK(h.seq == 4 && strcmp(h.hash, hj.hash[0] ? h.hash : h.hash) == 0);
        evident_log_free(log);
    }
    evident_open_options *o = NULL;
    evident_open_options_new(&o);
    CHECK_ST(evident_open_options_set_create_new(o, true), EVIDENT_STATUS_OK);
    log = (evident_log *)0x1;
    evident_status s = evident_log_open(p, o, &log);
    CHECK(s != EVIDENT_STATUS_OK && log == NULL);
    CHECK(CONTAINS(evident_last_error(), "a.jsonl"));
    /* framing mismatch with existing file */
    evident_open_options_set_create_new(o, false);
    CHECK_ST(evident_open_options_set_framing(o, EVIDENT_FRAMING_BINARY), EVIDENT_STATUS_OK);
    log = (evident_log *)0x1;
    s = evident_log_open(p, o, &log);
    CHECK(s != EVIDENT_STATUS_OK && log == NULL);
    evident_open_options_free(o);
}

static void test_query(void) {
    const char *p = ct_path("a.jsonl");   /* written by test_open_append_head: 4 entries */
    evident_query_iter *it = (evident_query_iter *)0x1;
    CHECK_ST(evident_query_run(p, NULL, &it), EVIDENT_STATUS_OK);
    evident_entry *e = NULL;
    CHECK_ST(evident_query_next(it, &e), EVIDENT_STATUS_OK);
    if (e) {
        CHECK(evident_entry_seq(e) == 1);
        CHECK(strcmp(evident_entry_ts(e), "2024-05-01T12:00:00.000000Z") == 0);
        CHECK(evident_entry_ts_unix_us(e) == 1714564800000000LL);
        CHECK(strcmp(evident_entry_event_type(e), "ACTION_EXECUTED") == 0);
        CHECK(strcmp(evident_entry_action(e), "load_trace") == 0);
        CHECK(strcmp(evident_entry_actor(e), "alice") == 0);
        CHECK(strcmp(evident_entry_host(e), "h1") == 0);
        CHECK(strcmp(evident_entry_session_id(e), "s1") == 0);
        CHECK(strcmp(evident_entry_source(e), "tool") == 0);
        CHECK(evident_entry_error(e) && strcmp(evident_entry_error(e), "boom") == 0);
        CHECK(evident_entry_note(e) && strcmp(evident_entry_note(e), "n") == 0);
        CHECK(evident_entry_git_commit(e) && strcmp(evident_entry_git_commit(e), "abc123") == 0);
        const char *d = evident_entry_details_json(e);
        CHECK(d && strchr(d, ' ') == NULL && CONTAINS(d, "\"a\":[1,2]") && CONTAINS(d, "\"b\":2"));  /* compact */
        CHECK(ct_is_lower_hex(evident_entry_prev(e), 64) && ct_is_lower_hex(evident_entry_hash(e), 64));
        CHECK(evident_entry_otr(e) == true);
        CHECK(evident_entry_has_success(e) && evident_entry_success(e) == false);
        CHECK(evident_entry_has_duration_ms(e) && evident_entry_duration_ms(e) == 12.5);
        char *js = NULL;
        CHECK_ST(evident_entry_to_json(e, &js), EVIDENT_STATUS_OK);
        CHECK(CONTAINS(js, "\"seq\":1") || CONTAINS(js, "\"seq\": 1"));
        CHECK(CONTAINS(js, "load_trace") && CONTAINS(js, "\"hash\"") && CONTAINS(js, "\"prev\""));
        evident_string_free(js);
    }
    evident_entry *e2 = NULL;
    CHECK_ST(evident_query_next(it, &e2), EVIDENT_STATUS_OK);
    if (e2) {
        CHECK(evident_entry_seq(e2) == 2);
        CHECK(strcmp(evident_entry_event_type(e2), "") == 0 && strcmp(evident_entry_action(e2), "") == 0);
        CHECK(evident_entry_error(e2) == NULL && evident_entry_note(e2) == NULL && evident_entry_git_commit(e2) == NULL);
        CHECK(strcmp(evident_entry_details_json(e2), "{}") == 0);
        CHECK(evident_entry_otr(e2) == false && evident_entry_has_success(e2) == false && evident_entry_success(e2) == false);
        CHECK(evident_entry_has_duration_ms(e2) == false && evident_entry_duration_ms(e2) == 0);
        CHECK(e && strcmp(evident_entry_prev(e2), evident_entry_hash(e)) == 0);   /* chain */
        CHECK(strlen(evident_entry_actor(e2)) > 0);  /* default actor: the OS user */
        CHECK(strlen(evident_entry_host(e2)) > 0);
        /* ts = now, RFC 3339 with microseconds */
        const char *ts = evident_entry_ts(e2);
        CHECK(ts && strlen(ts) == 27 && ts[10] == 'T' && ts[26] == 'Z' && ts[19] == '.');
    }
    evident_entry_free(e2);
    evident_entry *e3 = NULL, *e4 = NULL, *e5 = (evident_entry *)0x1;
    CHECK_ST(evident_query_next(it, &e3), EVIDENT_STATUS_OK);
    CHECK_ST(evident_query_next(it, &e4), EVIDENT_STATUS_OK);
    CHECK_ST(evident_query_next(it, &e5), EVIDENT_STATUS_END);
    CHECK(e5 == NULL);
    e5 = (evident_entry *)0x1;
    CHECK_ST(evident_query_next(it, &e5), EVIDENT_STATUS_END);
    CHECK(e5 == NULL);
    evident_query_iter_free(it);
    /* entries stay valid after the iterator is freed */
    CHECK(e4 && evident_entry_seq(e4) == 4 && strcmp(evident_entry_action(e4), "json") == 0);
    CHECK(e4 && strcmp(evident_entry_details_json(e4), "{\"k\":\"v\"}") == 0);
    evident_entry_free(e3); evident_entry_free(e4); evident_entry_free(e);

    /* filters */
    evident_query *q = NULL;
    CHECK_ST(evident_query_new(&q), EVIDENT_STATUS_OK);
    CHECK_ST(evident_query_set_action(q, "json"), EVIDENT_STATUS_OK);
    it = NULL; CHECK_ST(evident_query_run(p, q, &it), EVIDENT_STATUS_OK);
    e = NULL; CHECK_ST(evident_query_next(it, &e), EVIDENT_STATUS_OK);
    CHECK(evident_entry_seq(e) == 4); evident_entry_free(e);
    e = NULL; CHECK_ST(evident_query_next(it, &e), EVIDENT_STATUS_END);
    evident_query_iter_free(it);
    CHECK_ST(evident_query_set_action(q, NULL), EVIDENT_STATUS_OK);   /* removes filter */
    CHECK_ST(evident_query_set_order(q, EVIDENT_ORDER_NEWEST_FIRST), EVIDENT_STATUS_OK);
    CHECK_ST(evident_query_set_limit(q, 2), EVIDENT_STATUS_OK);
    it = NULL; CHECK_ST(evident_query_run(p, q, &it), EVIDENT_STATUS_OK);
    uint64_t seqs[8]; int n = 0;
    while (n < 8) { e = NULL; evident_status s = evident_query_next(it, &e); if (s != EVIDENT_STATUS_OK) { CHECK(s == EVIDENT_STATUS_END); break; } seqs[n++] = evident_entry_seq(e); evident_entry_free(e); }
    CHECK(n == 2 && seqs[0] == 4 && seqs[1] == 3);
    evident_query_iter_free(it);
    CHECK_ST(evident_query_set_limit(q, SIZE_MAX), EVIDENT_STATUS_OK);
    CHECK_ST(evident_query_set_order(q, EVIDENT_ORDER_OLDEST_FIRST), EVIDENT_STATUS_OK);
    CHECK_ST(evident_query_set_seq_min(q, 2), EVIDENT_STATUS_OK);
    CHECK_ST(evident_query_set_seq_max(q, 3), EVIDENT_STATUS_OK);
    it = NULL; CHECK_ST(evident_query_run(p, q, &it), EVIDENT_STATUS_OK);
    n = 0;
    while (n < 8) { e = NULL; evident_status s = evident_query_next(it, &e); if (s != EVIDENT_STATUS_OK) break; seqs[n++] = evident_entry_seq(e); evident_entry_free(e); }
    CHECK(n == 2 && seqs[0] == 2 && seqs[1] == 3);
    evident_query_iter_free(it);
    CHECK_ST(evident_query_set_seq_min(q, 0), EVIDENT_STATUS_OK);
    CHECK_ST(evident_query_set_seq_max(q, UINT64_MAX), EVIDENT_STATUS_OK);
    /* time filters: since inclusive, until exclusive */
    CHECK_ST(evident_query_set_since(q, "2024-05-01T12:00:00Z"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_query_set_until(q, "2024-06-01T00:00:00Z"), EVIDENT_STATUS_OK);
    it = NULL; CHECK_ST(evident_query_run(p, q, &it), EVIDENT_STATUS_OK);
    n = 0;
    while (n < 8) { e = NULL; evident_status s = evident_query_next(it, &e); if (s != EVIDENT_STATUS_OK) break; seqs[n++] = evident_entry_seq(e); evident_entry_free(e); }
    CHECK(n == 1 && seqs[0] == 1);
    evident_query_iter_free(it);
    CHECK_ST(evident_query_set_since(q, "not a time"), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_ST(evident_query_set_order(q, 9), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_ST(evident_query_set_since(q, NULL), EVIDENT_STATUS_OK);
    CHECK_ST(evident_query_set_until(q, NULL), EVIDENT_STATUS_OK);
    CHECK_ST(evident_query_set_session_id(q, "s1"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_query_set_event_type(q, "ACTION_EXECUTED"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_query_set_actor(q, "alice"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_query_set_source(q, "tool"), EVIDENT_STATUS_OK);
    it = NULL; CHECK_ST(evident_query_run(p, q, &it), EVIDENT_STATUS_OK);
    n = 0;
    while (n < 8) { e = NULL; evident_status s = evident_query_next(it, &e); if (s != EVIDENT_STATUS_OK) break; seqs[n++] = evident_entry_seq(e); evident_entry_free(e); }
    CHECK(n == 1 && seqs[0] == 1);
    evident_query_iter_free(it);
    CHECK_ST(evident_query_set_source(q, "TOOL"), EVIDENT_STATUS_OK);   /* exact match */
    it = NULL; CHECK_ST(evident_query_run(p, q, &it), EVIDENT_STATUS_OK);
    e = (evident_entry *)0x1; CHECK_ST(evident_query_next(it, &e), EVIDENT_STATUS_END); CHECK(e == NULL);
    evident_query_iter_free(it);
    evident_query_free(q);

    /* batch */
    it = NULL; CHECK_ST(evident_query_run(p, NULL, &it), EVIDENT_STATUS_OK);
    char *js = NULL; size_t cnt = 99;
    CHECK_ST(evident_query_next_batch(it, 3, &js, &cnt), EVIDENT_STATUS_OK);
    CHECK(cnt == 3 && js && js[0] == '[' && CONTAINS(js, "load_trace"));
    evident_string_free(js);
    js = NULL; CHECK_ST(evident_query_next_batch(it, 3, &js, &cnt), EVIDENT_STATUS_OK);
    CHECK(cnt == 1);
    evident_string_free(js);
    js = (char *)0x1; cnt = 7;
    CHECK_ST(evident_query_next_batch(it, 3, &js, &cnt), EVIDENT_STATUS_END);
    CHECK(js == NULL && cnt == 0);
    CHECK_ST(evident_query_next_batch(it, 3, &js, &cnt), EVIDENT_STATUS_END);
    evident_query_iter_free(it);

    /* lines */
    it = NULL; CHECK_ST(evident_query_run(p, NULL, &it), EVIDENT_STATUS_OK);
    char *lines = NULL; size_t llen = 0;
    CHECK_ST(evident_query_next_lines(it, 10, &lines, &llen, &cnt), EVIDENT_STATUS_OK);
    CHECK(cnt == 4 && lines && strlen(lines) == llen && llen > 0 && lines[llen - 1] == '\n');
    long flen = 0; char *file = ct_read_file(p, &flen);
    /* the lines are the records exactly as stored: they must be a suffix of the file */
    CHECK(file && (long)llen <= flen && memcmp(file + flen - llen, lines, llen) == 0);
    int nl = 0; for (size_t i = 0; i < llen; i++) nl += lines[i] == '\n';
    CHECK(nl == 4);
    evident_string_free(lines);
    lines = (char *)0x1; llen = 5; cnt = 5;
    CHECK_ST(evident_query_next_lines(it, 10, &lines, &llen, &cnt), EVIDENT_STATUS_END);
    CHECK(lines == NULL && llen == 0 && cnt == 0);
    evident_query_iter_free(it);

    /* read_last */
    lines = NULL;
    CHECK_ST(evident_read_last(p, 2, &lines, &llen, &cnt), EVIDENT_STATUS_OK);
    CHECK(cnt == 2 && lines && strlen(lines) == llen);
    if (lines && file) {
        /* newest first: the first line returned is the file's last line */
        const char *last = file + flen - 1; while (last > file && last[-1] != '\n') last--;
        CHECK(strncmp(lines, last, strlen(last)) == 0);
        CHECK(CONTAINS(lines, "\"seq\":4") && CONTAINS(lines, "\"seq\":3"));
        CHECK(strstr(lines, "\"seq\":4") < strstr(lines, "\"seq\":3"));
    }
    evident_string_free(lines);
    lines = NULL;
    CHECK_ST(evident_read_last(p, 100, &lines, &llen, &cnt), EVIDENT_STATUS_OK);
    CHECK(cnt == 4);
    evident_string_free(lines);
    lines = (char *)0x1; llen = 3; cnt = 3;
    CHECK_ST(evident_read_last(p, 0, &lines, &llen, &cnt), EVIDENT_STATUS_END);
    CHECK(lines == NULL && llen == 0 && cnt == 0);
    lines = (char *)0x1;
    CHECK_ST(evident_read_last(ct_path("missing.jsonl"), 3, &lines, &llen, &cnt), EVIDENT_STATUS_IO);
    CHECK(lines == NULL);
    it = (evident_query_iter *)0x1;
    CHECK_ST(evident_query_run(ct_path("missing.jsonl"), NULL, &it), EVIDENT_STATUS_IO);
    CHECK(it == NULL);
    free(file);

    /* empty log (genesis only) */
    const char *pe = ct_path("empty.jsonl");
    evident_log *log = open_default(pe); evident_log_free(log);
    lines = (char *)0x1;
    CHECK_ST(evident_read_last(pe, 5, &lines, &llen, &cnt), EVIDENT_STATUS_END);
    CHECK(lines == NULL && cnt == 0);
    it = NULL; CHECK_ST(evident_query_run(pe, NULL, &it), EVIDENT_STATUS_OK);
    e = (evident_entry *)0x1; CHECK_ST(evident_query_next(it, &e), EVIDENT_STATUS_END); CHECK(e == NULL);
    evident_query_iter_free(it);
}

static void make_log(const char *p, int n) {
    evident_log *log = open_default(p);
    for (int i = 0; i < n; i++) {
        char det[64]; snprintf(det, sizeof det, "{\"i\":%d}", i);
        evident_event ev = {0}; ev.action = "act"; ev.details_json = det;
        CHECK_ST(evident_log_append(log, &ev, NULL), EVIDENT_STATUS_OK);
    }
    CHECK_ST(evident_log_close(log), EVIDENT_STATUS_OK);
    evident_log_free(log);
}

struct prog { int calls; uint64_t last_done, last_total; };
static void progress_cb(void *ud, uint64_t done, uint64_t total) {
    struct prog *p = ud; p->calls++; p->last_done = done; p->last_total = total;
}

static void test_verify(void) {
    const char *p = ct_path("v.jsonl");
    evident_log *log = open_default(p);
    for (int i = 0; i < 5; i++) { evident_event ev = {0}; ev.action = "act"; CHECK_ST(evident_log_append(log, &ev, NULL), EVIDENT_STATUS_OK); }
    evident_head head; CHECK_ST(evident_log_head(log, &head), EVIDENT_STATUS_OK);
    char log_id[128]; snprintf(log_id, sizeof log_id, "%s", evident_log_log_id(log));
    evident_log_free(log);

    evident_verify_result *r = (evident_verify_result *)0x1;
    CHECK_ST(evident_verify(p, NULL, &r), EVIDENT_STATUS_OK);
    CHECK(evident_verify_result_valid(r));
    CHECK(!evident_verify_result_not_a_log(r) && !evident_verify_result_only_torn_tail(r));
    CHECK(evident_verify_result_entries(r) == 5);
    CHECK(evident_verify_result_head_seq(r) == 5);
    CHECK(evident_verify_result_head_hash(r) && strcmp(evident_verify_result_head_hash(r), head.hash) == 0);
    CHECK(evident_verify_result_log_id(r) && strcmp(evident_verify_result_log_id(r), log_id) == 0);
    CHECK(evident_verify_result_key_id(r) == NULL);
    CHECK(evident_verify_result_framing(r) == EVIDENT_FRAMING_JSONL);
    CHECK(evident_verify_result_alg(r) == EVIDENT_ALG_SHA256);
    CHECK((long)evident_verify_result_bytes(r) == ct_file_size(p));
    CHECK(evident_verify_result_violation_count(r) == 0 && evident_verify_result_violations_total(r) == 0);
    CHECK(evident_verify_result_in_flight_tail(r) == 0);
    const evident_violation *vv = (const evident_violation *)0x1;
    CHECK_ST(evident_verify_result_violation(r, 0, &vv), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(vv == NULL);
    char *js = NULL;
    CHECK_ST(evident_verify_result_to_json(r, &js), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(js, "\"valid\":true") || CONTAINS(js, "\"valid\": true"));
    evident_string_free(js);
    evident_verify_result_free(r);

    /* options: expected head and log id, progress */
    evident_verify_options *o = NULL;
    CHECK_ST(evident_verify_options_new(&o), EVIDENT_STATUS_OK);
    struct prog pr = {0};
    CHECK_ST(evident_verify_options_set_progress(o, progress_cb, &pr), EVIDENT_STATUS_OK);
    CHECK_ST(evident_verify_options_set_expected_head(o, head.seq, head.hash), EVIDENT_STATUS_OK);
    CHECK_ST(evident_verify_options_set_expected_log_id(o, log_id), EVIDENT_STATUS_OK);
    CHECK_ST(evident_verify_options_set_threads(o, 1), EVIDENT_STATUS_OK);
    r = NULL; CHECK_ST(evident_verify(p, o, &r), EVIDENT_STATUS_OK);
    CHECK(evident_verify_result_valid(r));
    CHECK(pr.calls >= 1 && pr.last_total == (uint64_t)ct_file_size(p) && pr.last_done == pr.last_total);
    evident_verify_result_free(r);
    CHECK_ST(evident_verify_options_set_expected_head(o, 3, "zz"), EVIDENT_STATUS_INVALID_ARGUMENT);
    /* a head the log does not reach: HEAD_MISMATCH */
    CHECK_ST(evident_verify_options_set_expected_head(o, 9, head.hash), EVIDENT_STATUS_OK);
    r = NULL; CHECK_ST(evident_verify(p, o, &r), EVIDENT_STATUS_OK);
    CHECK(!evident_verify_result_valid(r));
    vv = NULL; CHECK_ST(evident_verify_result_violation(r, 0, &vv), EVIDENT_STATUS_OK);
    CHECK(evident_violation_get_kind(vv) == EVIDENT_VIOLATION_KIND_HEAD_MISMATCH);
    CHECK(evident_violation_message(vv) && strlen(evident_violation_message(vv)) > 0);
    evident_verify_result_free(r);
    CHECK_ST(evident_verify_options_set_expected_head(o, 0, NULL), EVIDENT_STATUS_OK);
    CHECK_ST(evident_verify_options_set_expected_log_id(o, "not-the-id"), EVIDENT_STATUS_OK);
    r = NULL; CHECK_ST(evident_verify(p, o, &r), EVIDENT_STATUS_OK);
    CHECK(!evident_verify_result_valid(r));
    vv = NULL; evident_verify_result_violation(r, 0, &vv);
    CHECK(evident_violation_get_kind(vv) == EVIDENT_VIOLATION_KIND_WRONG_LOG_ID);
    evident_verify_result_free(r);
    CHECK_ST(evident_verify_options_set_expected_log_id(o, NULL), EVIDENT_STATUS_OK);
    /* a key for a keyless log is a violation */
    uint8_t key[32]; memset(key, 7, sizeof key);
    CHECK_ST(evident_verify_options_set_key(o, key, 8), EVIDENT_STATUS_INVALID_ARGUMENT);   /* too short */
    CHECK_ST(evident_verify_options_set_key(o, key, 32), EVIDENT_STATUS_OK);
    r = NULL; CHECK_ST(evident_verify(p, o, &r), EVIDENT_STATUS_OK);
    CHECK(!evident_verify_result_valid(r));
    vv = NULL; evident_verify_result_violation(r, 0, &vv);
    CHECK(evident_violation_get_kind(vv) == EVIDENT_VIOLATION_KIND_WRONG_KEY);
    evident_verify_result_free(r);
    CHECK_ST(evident_verify_options_set_key(o, NULL, 0), EVIDENT_STATUS_OK);

    /* tamper entry seq 3 (line 4: genesis is line 1) */
    long flen; char *f = ct_read_file(p, &flen);
    char *line = f; for (int i = 0; i < 3; i++) line = strchr(line, '\n') + 1;
    char *act = strstr(line, "\"act\""); CHECK(act != NULL);
    long tamper_off = line - f;
    if (act) act[1] = 'A';
    /* tamper seq 5 too */
    char *line5 = f; for (int i = 0; i < 5; i++) line5 = strchr(line5, '\n') + 1;
    char *act5 = strstr(line5, "\"act\""); if (act5) act5[1] = 'B';
    ct_write_file(p, f, flen); free(f);
    r = NULL; CHECK_ST(evident_verify(p, NULL, &r), EVIDENT_STATUS_OK);
    CHECK(!evident_verify_result_valid(r));
    CHECK(evident_verify_result_violation_count(r) == 1);   /* stop at the first */
    vv = NULL; CHECK_ST(evident_verify_result_violation(r, 0, &vv), EVIDENT_STATUS_OK);
    CHECK(evident_violation_get_kind(vv) == EVIDENT_VIOLATION_KIND_HASH_MISMATCH);
    CHECK(evident_violation_has_seq(vv) && evident_violation_seq(vv) == 3);
    CHECK(evident_violation_line(vv) == 4);
    CHECK(evident_violation_offset(vv) == (uint64_t)tamper_off);
    evident_verify_result_free(r);
    CHECK_ST(evident_verify_options_set_all(o, true), EVIDENT_STATUS_OK);
    r = NULL; CHECK_ST(evident_verify(p, o, &r), EVIDENT_STATUS_OK);
    CHECK(evident_verify_result_violation_count(r) == 2);
    CHECK(evident_verify_result_violations_total(r) == 2);
    vv = NULL; CHECK_ST(evident_verify_result_violation(r, 1, &vv), EVIDENT_STATUS_OK);
    CHECK(evident_violation_seq(vv) == 5 && evident_violation_line(vv) == 6);
    evident_verify_result_free(r);
    evident_verify_options_free(o);

    /* open of a log whose last record fails its hash: CORRUPT */
    log = (evident_log *)0x1;
    CHECK_ST(evident_log_open(p, NULL, &log), EVIDENT_STATUS_CORRUPT);
    CHECK(log == NULL);
    CHECK(CONTAINS(evident_last_error(), "v.jsonl"));

    /* not a log */
    const char *nl = ct_path("notalog.txt");
    ct_write_file(nl, "hello world\n", 12);
    r = NULL; CHECK_ST(evident_verify(nl, NULL, &r), EVIDENT_STATUS_OK);
    CHECK(!evident_verify_result_valid(r) && evident_verify_result_not_a_log(r));
    CHECK(evident_verify_result_violation_count(r) == 1);
    vv = NULL; evident_verify_result_violation(r, 0, &vv);
    CHECK(evident_violation_get_kind(vv) == EVIDENT_VIOLATION_KIND_MALFORMED && evident_violation_offset(vv) == 0);
    CHECK(evident_verify_result_log_id(r) == NULL && evident_verify_result_head_hash(r) == NULL);
    CHECK(evident_verify_result_framing(r) == EVIDENT_FRAMING_AUTO);
    evident_verify_result_free(r);
    /* missing file: an error, not a result */
    r = (evident_verify_result *)0x1;
    CHECK_ST(evident_verify(ct_path("nope.jsonl"), NULL, &r), EVIDENT_STATUS_IO);
    CHECK(r == NULL && evident_last_errno() == ENOENT);
}

static void test_torn_tail(void) {
    const char *p = ct_path("torn.jsonl");
    make_log(p, 3);
    long before = ct_file_size(p);
    FILE *f = fopen(p, "ab"); fputs("{\"v\":1,\"seq\":4,\"pre", f); fclose(f);
    evident_verify_result *r = NULL;
    CHECK_ST(evident_verify(p, NULL, &r), EVIDENT_STATUS_OK);
    CHECK(!evident_verify_result_valid(r) && evident_verify_result_only_torn_tail(r));
    const evident_violation *vv = NULL; evident_verify_result_violation(r, 0, &vv);
    CHECK(evident_violation_get_kind(vv) == EVIDENT_VIOLATION_KIND_TORN_TAIL);
    CHECK(evident_verify_result_head_seq(r) == 3);
    evident_verify_result_free(r);
    /* query never returns the torn record */
    char *lines = NULL; size_t len, cnt;
    CHECK_ST(evident_read_last(p, 10, &lines, &len, &cnt), EVIDENT_STATUS_OK);
    CHECK(cnt == 3); evident_string_free(lines);
    evident_log *log = open_default(p);
    CHECK(log != NULL);
    evident_recovery *rec = NULL;
    CHECK_ST(evident_log_recovery(log, &rec), EVIDENT_STATUS_OK);
    CHECK(evident_recovery_torn_count(rec) == 1);
    uint64_t off = 0, tlen = 0; const char *sc = NULL;
    CHECK_ST(evident_recovery_torn_tail(rec, 0, &off, &tlen, &sc), EVIDENT_STATUS_OK);
    CHECK((long)off == before && tlen == strlen("{\"v\":1,\"seq\":4,\"pre"));
    CHECK(sc && CONTAINS(sc, "torn.jsonl.torn-") && ct_file_size(sc) == (long)tlen);
    CHECK_ST(evident_recovery_torn_tail(rec, 0, NULL, NULL, NULL), EVIDENT_STATUS_OK);
    evident_recovery_free(rec);
    evident_head h; evident_log_head(log, &h); CHECK(h.seq == 3);
    evident_event ev = {0};
    CHECK_ST(evident_log_append(log, &ev, &h), EVIDENT_STATUS_OK); CHECK(h.seq == 4);
    evident_log_free(log);
    r = NULL; CHECK_ST(evident_verify(p, NULL, &r), EVIDENT_STATUS_OK);
    CHECK(evident_verify_result_valid(r)); evident_verify_result_free(r);
}

static void test_malformed_middle(void) {
    const char *p = ct_path("mid.jsonl");
    make_log(p, 4);
    long flen; char *f = ct_read_file(p, &flen);
    char *line = f; for (int i = 0; i < 2; i++) line = strchr(line, '\n') + 1;   /* seq 2 */
    line[0] = 'X';   /* no longer JSON */
    ct_write_file(p, f, flen); free(f);
    evident_query_iter *it = NULL;
    CHECK_ST(evident_query_run(p, NULL, &it), EVIDENT_STATUS_OK);
    evident_entry *e = NULL;
    CHECK_ST(evident_query_next(it, &e), EVIDENT_STATUS_OK); CHECK(evident_entry_seq(e) == 1); evident_entry_free(e);
    e = (evident_entry *)0x1;
    CHECK_ST(evident_query_next(it, &e), EVIDENT_STATUS_MALFORMED);
    CHECK(e == NULL);
    CHECK(CONTAINS(evident_last_error(), "mid.jsonl") && CONTAINS(evident_last_error(), "3"));  /* line 3 */
    e = NULL; CHECK_ST(evident_query_next(it, &e), EVIDENT_STATUS_OK); CHECK(evident_entry_seq(e) == 3); evident_entry_free(e);
    evident_query_iter_free(it);
    /* batch: stops before the damage with OK, then reports it, then goes on */
    it = NULL; CHECK_ST(evident_query_run(p, NULL, &it), EVIDENT_STATUS_OK);
    char *js = NULL; size_t cnt = 0;
    CHECK_ST(evident_query_next_batch(it, 10, &js, &cnt), EVIDENT_STATUS_OK); CHECK(cnt == 1); evident_string_free(js);
    js = (char *)0x1;
    CHECK_ST(evident_query_next_batch(it, 10, &js, &cnt), EVIDENT_STATUS_MALFORMED); CHECK(js == NULL && cnt == 0);
    js = NULL; CHECK_ST(evident_query_next_batch(it, 10, &js, &cnt), EVIDENT_STATUS_OK); CHECK(cnt == 2); evident_string_free(js);
    evident_query_iter_free(it);
    /* read_last over the damage fails as a whole */
    char *lines = (char *)0x1; size_t len = 9;
    CHECK_ST(evident_read_last(p, 10, &lines, &len, &cnt), EVIDENT_STATUS_MALFORMED);
    CHECK(lines == NULL && len == 0 && cnt == 0);
    CHECK(CONTAINS(evident_last_error(), "mid.jsonl"));
    lines = NULL;
    CHECK_ST(evident_read_last(p, 2, &lines, &len, &cnt), EVIDENT_STATUS_OK); CHECK(cnt == 2);
    evident_string_free(lines);
}

static void test_batch(void) {
    const char *p = ct_path("batch.jsonl");
    evident_log *log = open_default(p);
    evident_event evs[3] = {{0}};
    evs[0].action = "a0"; evs[1].action = "a1"; evs[2].action = "a2";
    evident_head hs[3];
    CHECK_ST(evident_log_append_batch(log, evs, 3, hs), EVIDENT_STATUS_OK);
    CHECK(hs[0].seq == 1 && hs[1].seq == 2 && hs[2].seq == 3);
    CHECK(ct_is_lower_hex(hs[2].hash, 64));
    evident_head h; evident_log_head(log, &h);
    CHECK(h.seq == 3 && strcmp(h.hash, hs[2].hash) == 0);
    CHECK_ST(evident_log_append_batch(log, NULL, 0, NULL), EVIDENT_STATUS_OK);
    CHECK_ST(evident_log_append_batch(log, evs, 3, NULL), EVIDENT_STATUS_OK);
    evs[1].details_json = "{bad";
    memset(hs, 0x5a, sizeof hs);
    CHECK_ST(evident_log_append_batch(log, evs, 3, hs), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(CONTAINS(evident_last_error(), "1"));
    CHECK(hs[0].seq == 0x5a5a5a5a5a5a5a5aULL);   /* untouched on failure */
    evident_log_head(log, &h); CHECK(h.seq == 6);

    /* jsonl */
    const char *buf = "{\"action\":\"j1\"}\r\n\n{\"action\":\"j2\"}\n{\"action\":\"j3\"}";
    evident_head hj[2]; size_t cnt = 99;
    CHECK_ST(evident_log_append_jsonl(log, buf, strlen(buf), hj, 2, &cnt), EVIDENT_STATUS_OK);
    CHECK(cnt == 3 && hj[0].seq == 7 && hj[1].seq == 8);
    CHECK_ST(evident_log_append_jsonl(log, NULL, 0, NULL, 0, &cnt), EVIDENT_STATUS_OK);
    CHECK(cnt == 0);
    const char *bad = "{\"action\":\"x\"}\n{\"action\":\"y\",\"nope\":1}\n";
    cnt = 99;
    CHECK_ST(evident_log_append_jsonl(log, bad, strlen(bad), NULL, 0, &cnt), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(cnt == 0);
    CHECK(CONTAINS(evident_last_error(), "line 2") || CONTAINS(evident_last_error(), "2"));
    evident_log_head(log, &h); CHECK(h.seq == 9);

    /* json array */
    const char *arr = "[{\"action\":\"x1\"},{\"action\":\"x2\"}]";
    cnt = 99; evident_head ha[1];
    CHECK_ST(evident_log_append_json_array(log, arr, strlen(arr), ha, 1, &cnt), EVIDENT_STATUS_OK);
    CHECK(cnt == 2 && ha[0].seq == 10);
    cnt = 99;
    CHECK_ST(evident_log_append_json_array(log, "[]", 2, NULL, 0, &cnt), EVIDENT_STATUS_OK);
    CHECK(cnt == 0);
    cnt = 99;
    CHECK_ST(evident_log_append_json_array(log, NULL, 0, NULL, 0, &cnt), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(cnt == 0);
    const char *arrbad = "[{\"action\":\"ok\"},{\"action\":\"ok\"},{\"ts\":\"never\"}]";
    CHECK_ST(evident_log_append_json_array(log, arrbad, strlen(arrbad), NULL, 0, &cnt), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(CONTAINS(evident_last_error(), "2"));
    evident_log_head(log, &h); CHECK(h.seq == 11);
    evident_log_free(log);
    evident_verify_result *r = NULL; CHECK_ST(evident_verify(p, NULL, &r), EVIDENT_STATUS_OK);
    CHECK(evident_verify_result_valid(r) && evident_verify_result_entries(r) == 11);
    evident_verify_result_free(r);
}

static void test_keys_framing(void) {
    uint8_t key[32]; for (int i = 0; i < 32; i++) key[i] = (uint8_t)i;
    evident_open_options *o = NULL; evident_open_options_new(&o);
    CHECK_ST(evident_open_options_set_key(o, key, 15), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_ST(evident_open_options_set_key(o, key, 32), EVIDENT_STATUS_OK);
    const char *p = ct_path("keyed.jsonl");
    evident_log *log = NULL;
    CHECK_ST(evident_log_open(p, o, &log), EVIDENT_STATUS_OK);
    CHECK(evident_log_alg(log) == EVIDENT_ALG_HMAC_SHA256);
    CHECK(evident_log_key_id(log) != NULL);
    char kid[200]; snprintf(kid, sizeof kid, "%s", evident_log_key_id(log) ? evident_log_key_id(log) : "");
    evident_event ev = {0}; evident_head h;
    CHECK_ST(evident_log_append(log, &ev, &h), EVIDENT_STATUS_OK);
    CHECK(ct_is_lower_hex(h.hash, 64));
    evident_log_free(log);
    /* no key / wrong key */
    log = (evident_log *)0x1;
    CHECK_ST(evident_log_open(p, NULL, &log), EVIDENT_STATUS_WRONG_KEY); CHECK(log == NULL);
    evident_open_options *o2 = NULL; evident_open_options_new(&o2);
    uint8_t key2[32]; memset(key2, 9, 32);
    evident_open_options_set_key(o2, key2, 32);
    log = (evident_log *)0x1;
    CHECK_ST(evident_log_open(p, o2, &log), EVIDENT_STATUS_WRONG_KEY); CHECK(log == NULL);
    /* verify with the key */
    evident_verify_options *vo = NULL; evident_verify_options_new(&vo);
    evident_verify_options_set_key(vo, key, 32);
    evident_verify_result *r = NULL; CHECK_ST(evident_verify(p, vo, &r), EVIDENT_STATUS_OK);
    CHECK(evident_verify_result_valid(r) && evident_verify_result_alg(r) == EVIDENT_ALG_HMAC_SHA256);
    CHECK(evident_verify_result_key_id(r) && strcmp(evident_verify_result_key_id(r), kid) == 0);
    evident_verify_result_free(r);
    evident_verify_options_set_key(vo, key2, 32);
    r = NULL; CHECK_ST(evident_verify(p, vo, &r), EVIDENT_STATUS_OK);
    CHECK(!evident_verify_result_valid(r));
    const evident_violation *vv = NULL; evident_verify_result_violation(r, 0, &vv);
    CHECK(evident_violation_get_kind(vv) == EVIDENT_VIOLATION_KIND_WRONG_KEY);
    evident_verify_result_free(r);
    evident_verify_options_free(vo);
    /* HMAC-SHA512: 128 hex digits */
    CHECK_ST(evident_open_options_set_alg(o, EVIDENT_ALG_HMAC_SHA512), EVIDENT_STATUS_OK);
    CHECK_ST(evident_open_options_set_alg(o, 42), EVIDENT_STATUS_INVALID_ARGUMENT);
    log = NULL; CHECK_ST(evident_log_open(ct_path("k512.evl"), o, &log), EVIDENT_STATUS_OK);
    CHECK(evident_log_alg(log) == EVIDENT_ALG_HMAC_SHA512);
    CHECK(evident_log_framing(log) == EVIDENT_FRAMING_BINARY);   /* .evl */
    CHECK_ST(evident_log_append(log, &ev, &h), EVIDENT_STATUS_OK);
    CHECK(ct_is_lower_hex(h.hash, 128));
    evident_log_free(log);
    /* HMAC without a key is refused */
    evident_open_options *o3 = NULL; evident_open_options_new(&o3);
    evident_open_options_set_alg(o3, EVIDENT_ALG_HMAC_SHA256);
    log = (evident_log *)0x1;
    evident_status s = evident_log_open(ct_path("nokey.jsonl"), o3, &log);
    CHECK(s != EVIDENT_STATUS_OK && log == NULL);
    /* key removal */
    CHECK_ST(evident_open_options_set_key(o, NULL, 0), EVIDENT_STATUS_OK);
    /* binary framing by option on .jsonl-less path, and query of binary */
    evident_open_options_set_alg(o3, EVIDENT_ALG_AUTO);
    CHECK_ST(evident_open_options_set_framing(o3, EVIDENT_FRAMING_BINARY), EVIDENT_STATUS_OK);
    CHECK_ST(evident_open_options_set_actor(o3, "bob"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_open_options_set_host(o3, "hosty"), EVIDENT_STATUS_OK);
    const char *pb = ct_path("bin.log");
    log = NULL; CHECK_ST(evident_log_open(pb, o3, &log), EVIDENT_STATUS_OK);
    CHECK(evident_log_framing(log) == EVIDENT_FRAMING_BINARY);
    evident_event be = {0}; be.action = "binact";
    CHECK_ST(evident_log_append(log, &be, NULL), EVIDENT_STATUS_OK);
    CHECK_ST(evident_log_append(log, &be, NULL), EVIDENT_STATUS_OK);
    evident_log_free(log);
    evident_query_iter *it = NULL; CHECK_ST(evident_query_run(pb, NULL, &it), EVIDENT_STATUS_OK);
    evident_entry *e = NULL; CHECK_ST(evident_query_next(it, &e), EVIDENT_STATUS_OK);
    CHECK(e && strcmp(evident_entry_actor(e), "bob") == 0 && strcmp(evident_entry_host(e), "hosty") == 0);
    evident_entry_free(e); evident_query_iter_free(it);
    char *lines = NULL; size_t len, cnt;
    CHECK_ST(evident_read_last(pb, 5, &lines, &len, &cnt), EVIDENT_STATUS_OK);
    CHECK(cnt == 2 && CONTAINS(lines, "binact") && lines[len - 1] == '\n' && CONTAINS(lines, "\"hash\""));
    evident_string_free(lines);
    r = NULL; CHECK_ST(evident_verify(pb, NULL, &r), EVIDENT_STATUS_OK);
    CHECK(evident_verify_result_valid(r) && evident_verify_result_framing(r) == EVIDENT_FRAMING_BINARY);
    CHECK(evident_violation_line(NULL) == 0);
    evident_verify_result_free(r);
    evident_open_options_free(o); evident_open_options_free(o2); evident_open_options_free(o3);
}

#define NTHREADS 4
#define PER_THREAD 50
static evident_log *shared_log;
static void *append_thread(void *arg) {
    long id = (long)arg; int bad = 0;
    for (int i = 0; i < PER_THREAD; i++) {
        char det[64]; snprintf(det, sizeof det, "{\"t\":%ld,\"i\":%d}", id, i);
        evident_event ev = {0}; ev.details_json = det; ev.action = "mt";
        evident_head h;
        if (evident_log_append(shared_log, &ev, &h) != EVIDENT_STATUS_OK || h.seq == 0) bad++;
        if (i % 10 == 0) { if (evident_log_append_json(shared_log, "{\"action\":\"mtj\"}", NULL) != EVIDENT_STATUS_OK) bad++; }
        if (i % 25 == 0) { evident_head hh; if (evident_log_head(shared_log, &hh) != EVIDENT_STATUS_OK) bad++; }
    }
    return (void *)(long)bad;
}
static void test_threads(void) {
    const char *p = ct_path("mt.jsonl");
    evident_open_options *o = NULL; evident_open_options_new(&o);
    CHECK_ST(evident_open_options_set_durability(o, EVIDENT_DURABILITY_GROUP_COMMIT), EVIDENT_STATUS_OK);
    CHECK_ST(evident_open_options_set_durability(o, 0), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_ST(evident_open_options_set_commit_delay_us(o, 100), EVIDENT_STATUS_OK);
    CHECK_ST(evident_open_options_set_commit_delay_us(o, 2000000), EVIDENT_STATUS_INVALID_ARGUMENT);  /* at most 1 s */
    CHECK_ST(evident_log_open(p, o, &shared_log), EVIDENT_STATUS_OK);
    pthread_t t[NTHREADS];
    for (long i = 0; i < NTHREADS; i++) pthread_create(&t[i], NULL, append_thread, (void *)i);
    long bad = 0;
    for (int i = 0; i < NTHREADS; i++) { void *rv; pthread_join(t[i], &rv); bad += (long)rv; }
    CHECK(bad == 0);
    evident_head h; evident_log_head(shared_log, &h);
    CHECK(h.seq == NTHREADS * PER_THREAD + NTHREADS * 5);
    CHECK_ST(evident_log_close(shared_log), EVIDENT_STATUS_OK);
    evident_log_free(shared_log);
    evident_verify_result *r = NULL; CHECK_ST(evident_verify(p, NULL, &r), EVIDENT_STATUS_OK);
    CHECK(evident_verify_result_valid(r) && evident_verify_result_entries(r) == h.seq);
    evident_verify_result_free(r);
    evident_open_options_free(o);
}

static void test_buffered(void) {
    const char *p = ct_path("buf.jsonl");
    evident_open_options *o = NULL; evident_open_options_new(&o);
    CHECK_ST(evident_open_options_set_durability(o, EVIDENT_DURABILITY_BUFFERED), EVIDENT_STATUS_OK);
    CHECK_ST(evident_open_options_set_buffer_size(o, 1 << 20), EVIDENT_STATUS_OK);
    evident_log *log = NULL; CHECK_ST(evident_log_open(p, o, &log), EVIDENT_STATUS_OK);
    long sz0 = ct_file_size(p);
    evident_event ev = {0}; ev.action = "b";
    for (int i = 0; i < 5; i++) CHECK_ST(evident_log_append(log, &ev, NULL), EVIDENT_STATUS_OK);
    evident_head h; evident_log_head(log, &h); CHECK(h.seq == 5);   /* includes buffered */
    CHECK(ct_file_size(p) == sz0);   /* still in memory (1 MiB buffer) */
    CHECK_ST(evident_log_sync(log), EVIDENT_STATUS_OK);
    CHECK(ct_file_size(p) > sz0);
    char *lines = NULL; size_t len, cnt;
    CHECK_ST(evident_read_last(p, 10, &lines, &len, &cnt), EVIDENT_STATUS_OK); CHECK(cnt == 5);
    evident_string_free(lines);
    evident_log_free(log);
    evident_open_options_free(o);
}

static void test_fork(void) {
    const char *p = ct_path("fork.jsonl");
    evident_log *log = open_default(p);
    pid_t pid = fork();
    if (pid == 0) {
        evident_event ev = {0};
        int rc = 0;
        if (evident_log_append(log, &ev, NULL) != EVIDENT_STATUS_FORKED) rc |= 1;
        if (evident_log_sync(log) != EVIDENT_STATUS_FORKED) rc |= 2;
        if (evident_log_close(log) != EVIDENT_STATUS_FORKED) rc |= 4;
        evident_log_free(log);
        _exit(rc);
    }
    int st = 0; waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (WIFEXITED(st) && WEXITSTATUS(st)) fprintf(stderr, "fork child rc=%d\n", WEXITSTATUS(st));
    /* the child's evident_log_free left the parent's lock alone: another process still gets LOCKED */
    pid = fork();
    if (pid == 0) {
        evident_log *l3 = (evident_log *)0x1;
        evident_status s = evident_log_open(p, NULL, &l3);
        _exit(s == EVIDENT_STATUS_LOCKED && l3 == NULL ? 0 : 1);
    }
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* the parent's handle still works */
    evident_event ev = {0}; evident_head h;
    CHECK_ST(evident_log_append(log, &ev, &h), EVIDENT_STATUS_OK); CHECK(h.seq == 1);
    evident_log_free(log);

    /* shared mode: the child opens the log again and appends */
    evident_open_options *o = NULL; evident_open_options_new(&o);
    evident_open_options_set_lock_mode(o, EVIDENT_LOCK_MODE_SHARED);
    log = NULL; CHECK_ST(evident_log_open(p, o, &log), EVIDENT_STATUS_OK);
    pid = fork();
    if (pid == 0) {
        int rc = 0; evident_head hh;
        if (evident_log_append(log, &ev, NULL) != EVIDENT_STATUS_FORKED) rc |= 1;
        evident_log *l3 = NULL;
        if (evident_log_open(p, o, &l3) != EVIDENT_STATUS_OK) rc |= 2;
        else if (evident_log_append(l3, &ev, &hh) != EVIDENT_STATUS_OK || hh.seq != 2) rc |= 4;
        evident_log_free(l3); evident_log_free(log);
        _exit(rc);
    }
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_ST(evident_log_append(log, &ev, &h), EVIDENT_STATUS_OK); CHECK(h.seq == 3);
    evident_log_free(log);
    evident_open_options_free(o);
}

/* lock timeout in exclusive mode: open waits for the holder */
static void test_lock_timeout(void) {
    const char *p = ct_path("lt.jsonl");
    make_log(p, 1);
    int fds[2]; if (pipe(fds) != 0) return;
    pid_t pid = fork();
    if (pid == 0) {
        evident_log *l = NULL;
        evident_status s = evident_log_open(p, NULL, &l);
        char c = s == EVIDENT_STATUS_OK ? 'k' : 'e';
        if (write(fds[1], &c, 1) != 1) _exit(3);
        usleep(400 * 1000);
        evident_log_free(l);
        _exit(0);
    }
    char c = 0; if (read(fds[0], &c, 1) != 1) c = 0;
    CHECK(c == 'k');
    evident_open_options *o = NULL; evident_open_options_new(&o);
    evident_log *log = (evident_log *)0x1;
    CHECK_ST(evident_log_open(p, o, &log), EVIDENT_STATUS_LOCKED);   /* default timeout 0 */
    CHECK(log == NULL);
    CHECK(CONTAINS(evident_last_error(), "pid") && CONTAINS(evident_last_error(), "lt.jsonl"));
    CHECK(evident_last_error_path() != NULL && CONTAINS(evident_last_error_path(), "lt.jsonl"));
    CHECK_ST(evident_open_options_set_lock_timeout_ms(o, 5000), EVIDENT_STATUS_OK);
    log = NULL; CHECK_ST(evident_log_open(p, o, &log), EVIDENT_STATUS_OK);
    evident_log_free(log);
    int st; waitpid(pid, &st, 0);
    close(fds[0]); close(fds[1]);
    evident_open_options_free(o);
}

/* close from one thread while others append: each append is OK or CLOSED, the log stays valid */
static int closed_ok[NTHREADS], closed_closed[NTHREADS], closed_other[NTHREADS];
static void *append_until_closed(void *arg) {
    long id = (long)arg;
    for (int i = 0; i < 2000; i++) {
        evident_event ev = {0}; ev.action = "c";
        evident_status s = evident_log_append(shared_log, &ev, NULL);
        if (s == EVIDENT_STATUS_OK) closed_ok[id]++;
        else if (s == EVIDENT_STATUS_CLOSED) { closed_closed[id]++; break; }
        else { closed_other[id]++; break; }
    }
    return NULL;
}
static void test_close_while_appending(void) {
    const char *p = ct_path("cl.jsonl");
    evident_open_options *o = NULL; evident_open_options_new(&o);
    evident_open_options_set_durability(o, EVIDENT_DURABILITY_BUFFERED);
    CHECK_ST(evident_log_open(p, o, &shared_log), EVIDENT_STATUS_OK);
    pthread_t t[NTHREADS];
    for (long i = 0; i < NTHREADS; i++) pthread_create(&t[i], NULL, append_until_closed, (void *)i);
    usleep(2000);
    CHECK_ST(evident_log_close(shared_log), EVIDENT_STATUS_OK);
    int ok = 0, other = 0;
    for (int i = 0; i < NTHREADS; i++) { pthread_join(t[i], NULL); ok += closed_ok[i]; other += closed_other[i]; }
    CHECK(other == 0);
    evident_head h; CHECK_ST(evident_log_head(shared_log, &h), EVIDENT_STATUS_OK);
    CHECK(h.seq == (uint64_t)ok);
    evident_log_free(shared_log);
    evident_verify_result *r = NULL; CHECK_ST(evident_verify(p, NULL, &r), EVIDENT_STATUS_OK);
    CHECK(evident_verify_result_valid(r) && evident_verify_result_entries(r) == (uint64_t)ok);
    evident_verify_result_free(r);
    evident_open_options_free(o);
}

/* expected head kept outside the log detects truncation */
static void test_truncation(void) {
    const char *p = ct_path("tr.jsonl");
    evident_log *log = open_default(p);
    evident_event ev = {0}; evident_head h2, h4;
    evident_log_append(log, &ev, NULL); evident_log_append(log, &ev, &h2);
    evident_log_append(log, &ev, NULL); evident_log_append(log, &ev, &h4);
    evident_log_free(log);
    long flen; char *f = ct_read_file(p, &flen);
    char *line = f; for (int i = 0; i < 3; i++) line = strchr(line, '\n') + 1;   /* keep genesis + 2 */
    ct_write_file(p, f, line - f); free(f);
    evident_verify_options *o = NULL; evident_verify_options_new(&o);
    evident_verify_options_set_expected_head(o, h4.seq, h4.hash);
    evident_verify_result *r = NULL; CHECK_ST(evident_verify(p, o, &r), EVIDENT_STATUS_OK);
    CHECK(!evident_verify_result_valid(r));
    const evident_violation *v = NULL; evident_verify_result_violation(r, 0, &v);
    CHECK(evident_violation_get_kind(v) == EVIDENT_VIOLATION_KIND_HEAD_MISMATCH);
    evident_verify_result_free(r);
    evident_verify_options_set_expected_head(o, h2.seq, h2.hash);   /* still contains seq 2 */
    r = NULL; CHECK_ST(evident_verify(p, o, &r), EVIDENT_STATUS_OK);
    CHECK(evident_verify_result_valid(r));
    evident_verify_result_free(r);
    h2.hash[0] = h2.hash[0] == 'a' ? 'b' : 'a';   /* right seq, other hash */
    evident_verify_options_set_expected_head(o, h2.seq, h2.hash);
    r = NULL; CHECK_ST(evident_verify(p, o, &r), EVIDENT_STATUS_OK);
    CHECK(!evident_verify_result_valid(r));
    v = NULL; evident_verify_result_violation(r, 0, &v);
    CHECK(evident_violation_get_kind(v) == EVIDENT_VIOLATION_KIND_HEAD_MISMATCH);
    evident_verify_result_free(r);
    evident_verify_options_free(o);
}

static void test_shared_lock(void) {
    const char *p = ct_path("shared.jsonl");
    evident_open_options *o = NULL; evident_open_options_new(&o);
    CHECK_ST(evident_open_options_set_lock_mode(o, EVIDENT_LOCK_MODE_SHARED), EVIDENT_STATUS_OK);
    CHECK_ST(evident_open_options_set_lock_mode(o, 5), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_ST(evident_open_options_set_lock_timeout_ms(o, 2000), EVIDENT_STATUS_OK);
    evident_log *a = NULL, *b = NULL;
    CHECK_ST(evident_log_open(p, o, &a), EVIDENT_STATUS_OK);
    CHECK_ST(evident_log_open(p, o, &b), EVIDENT_STATUS_OK);
    evident_event ev = {0}; evident_head h;
    CHECK_ST(evident_log_append(a, &ev, &h), EVIDENT_STATUS_OK); CHECK(h.seq == 1);
    CHECK_ST(evident_log_append(b, &ev, &h), EVIDENT_STATUS_OK); CHECK(h.seq == 2);
    CHECK_ST(evident_log_append(a, &ev, &h), EVIDENT_STATUS_OK); CHECK(h.seq == 3);
    evident_log_free(a); evident_log_free(b);
    evident_verify_result *r = NULL; CHECK_ST(evident_verify(p, NULL, &r), EVIDENT_STATUS_OK);
    CHECK(evident_verify_result_valid(r) && evident_verify_result_entries(r) == 3);
    evident_verify_result_free(r);
    evident_open_options_free(o);
}

/* More documented behaviour: shared-mode recovery, heads capacity, pre-1970 times,
 * binary framing damage, limit 0, the general ERRORS promises. */
static void test_more(void) {
    const char *p = ct_path("more.jsonl");
    evident_open_options *o = NULL; evident_open_options_new(&o);
    evident_open_options_set_lock_mode(o, EVIDENT_LOCK_MODE_SHARED);
    evident_log *log = NULL; CHECK_ST(evident_log_open(p, o, &log), EVIDENT_STATUS_OK);
    evident_event ev = {0}; evident_head h;
    ev.ts = "1969-12-31T23:59:59Z";
    CHECK_ST(evident_log_append(log, &ev, &h), EVIDENT_STATUS_OK);
    ev.ts = "2024-05-01T14:00:00+02:00";   /* converted to UTC */
    CHECK_ST(evident_log_append(log, &ev, &h), EVIDENT_STATUS_OK);
    ev.ts = NULL;
    /* shared mode: a torn tail left by another writer is moved aside by a later append */
    FILE *f = fopen(p, "ab"); fputs("{\"v\":1,\"se", f); fclose(f);
    CHECK_ST(evident_log_append(log, &ev, &h), EVIDENT_STATUS_OK); CHECK(h.seq == 3);
    evident_recovery *rec = NULL; CHECK_ST(evident_log_recovery(log, &rec), EVIDENT_STATUS_OK);
    CHECK(evident_recovery_torn_count(rec) == 1);
    evident_recovery_free(rec);
    /* heads beyond the count appended are left alone */
    evident_head hs[4]; memset(hs, 0x77, sizeof hs); size_t cnt = 0;
    CHECK_ST(evident_log_append_jsonl(log, "{}\n{}\n", 6, hs, 4, &cnt), EVIDENT_STATUS_OK);
    CHECK(cnt == 2 && hs[0].seq == 4 && hs[1].seq == 5 && hs[2].seq == 0x7777777777777777ULL);
    /* invalid UTF-8 */
    CHECK_ST(evident_log_append_json(log, "{\"action\":\"\xff\"}", NULL), EVIDENT_STATUS_INVALID_UTF8);
    const char *badl = "{\"action\":\"\xff\"}\n";
    cnt = 9;
    /* header ERRORS: "strings and buffers that are not UTF-8 give EVIDENT_STATUS_INVALID_UTF8" */
    CHECK_ST(evident_log_append_jsonl(log, badl, strlen(badl), NULL, 0, &cnt), EVIDENT_STATUS_INVALID_UTF8);
    CHECK_ST(evident_log_append_json_array(log, "[{\"action\":\"\xff\"}]", 17, NULL, 0, &cnt), EVIDENT_STATUS_INVALID_UTF8);
    CHECK(cnt == 0);
    /* header ERRORS: argument errors name the argument */
    evident_event bad = {0}; bad.details_json = "{bad";
    CHECK_ST(evident_log_append(log, &bad, NULL), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(CONTAINS(evident_last_error(), "details_json"));
    CHECK_ST(evident_log_head(log, &h), EVIDENT_STATUS_OK); CHECK(h.seq == 5);
    evident_log_free(log);
    evident_open_options_free(o);
    evident_query_iter *it = NULL; CHECK_ST(evident_query_run(p, NULL, &it), EVIDENT_STATUS_OK);
    evident_entry *e = NULL; CHECK_ST(evident_query_next(it, &e), EVIDENT_STATUS_OK);
    CHECK(evident_entry_ts_unix_us(e) == -1000000 && strcmp(evident_entry_ts(e), "1969-12-31T23:59:59.000000Z") == 0);
    evident_entry_free(e);
    e = NULL; CHECK_ST(evident_query_next(it, &e), EVIDENT_STATUS_OK);
    CHECK(strcmp(evident_entry_ts(e), "2024-05-01T12:00:00.000000Z") == 0);
    evident_entry_free(e);
    evident_query_iter_free(it);
    /* a field holding U+0000 ends there in the accessors; to_json has it all */
    const char *pn = ct_path("nul.jsonl");
    log = open_default(pn);
    CHECK_ST(evident_log_append_json(log, "{\"action\":\"a\\u0000b\"}", NULL), EVIDENT_STATUS_OK);
    evident_log_free(log);
    it = NULL; evident_query_run(pn, NULL, &it);
    e = NULL; CHECK_ST(evident_query_next(it, &e), EVIDENT_STATUS_OK);
    CHECK(strcmp(evident_entry_action(e), "a") == 0);
    char *js = NULL; CHECK_ST(evident_entry_to_json(e, &js), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(js, "a\\u0000b"));
    evident_string_free(js); evident_entry_free(e); evident_query_iter_free(it);
    /* limit 0: nothing */
    evident_query *q = NULL; evident_query_new(&q); evident_query_set_limit(q, 0);
    it = NULL; CHECK_ST(evident_query_run(p, q, &it), EVIDENT_STATUS_OK);
    e = (evident_entry *)0x1; CHECK_ST(evident_query_next(it, &e), EVIDENT_STATUS_END); CHECK(e == NULL);
    evident_query_iter_free(it); evident_query_free(q);

    /* binary log with a damaged record in the middle: MALFORMED, then the next records */
    const char *pb = ct_path("dmg.evl");
    log = open_default(pb);
    for (int i = 0; i < 5; i++) { evident_event be = {0}; be.action = "abcdefgh"; evident_log_append(log, &be, NULL); }
    evident_log_free(log);
    long n; char *buf = ct_read_file(pb, &n); int k = 0; long at = -1;
    for (long i = 0; i + 8 <= n; i++) if (memcmp(buf + i, "abcdefgh", 8) == 0 && ++k == 3) { buf[i] = 'X'; at = i; break; }
    CHECK(at > 0);
    ct_write_file(pb, buf, n); free(buf);
    it = NULL; CHECK_ST(evident_query_run(pb, NULL, &it), EVIDENT_STATUS_OK);
    uint64_t seqs[8]; int ns = 0, malformed = 0;
    for (int i = 0; i < 10; i++) {
        e = NULL; evident_status st = evident_query_next(it, &e);
        if (st == EVIDENT_STATUS_END) break;
        if (st == EVIDENT_STATUS_MALFORMED) { malformed++; CHECK(CONTAINS(evident_last_error(), "dmg.evl") && CONTAINS(evident_last_error(), "offset")); continue; }
        CHECK(st == EVIDENT_STATUS_OK); seqs[ns++] = evident_entry_seq(e); evident_entry_free(e);
    }
    CHECK(malformed == 1 && ns == 4 && seqs[2] == 4 && seqs[3] == 5);
    evident_query_iter_free(it);
    evident_verify_result *r = NULL; CHECK_ST(evident_verify(pb, NULL, &r), EVIDENT_STATUS_OK);
    const evident_violation *v = NULL; evident_verify_result_violation(r, 0, &v);
    CHECK(evident_violation_get_kind(v) == EVIDENT_VIOLATION_KIND_MALFORMED && evident_violation_line(v) == 0);
    CHECK(evident_violation_offset(v) > 0 && evident_violation_offset(v) < (uint64_t)at);
    evident_verify_result_free(r);
}

/* one built options / query object used by concurrent verify / query calls */
static evident_verify_options *shared_vo;
static evident_query *shared_q;
static const char *shared_path;
static volatile int progress_calls;
static void count_progress(void *ud, uint64_t d, uint64_t t) { (void)ud; (void)d; (void)t; __sync_fetch_and_add(&progress_calls, 1); }
static void *verify_query_thread(void *arg) {
    (void)arg; long bad = 0;
    for (int i = 0; i < 5; i++) {
        evident_verify_result *r = NULL;
        if (evident_verify(shared_path, shared_vo, &r) != EVIDENT_STATUS_OK || !evident_verify_result_valid(r)) bad++;
        evident_verify_result_free(r);
        evident_query_iter *it = NULL; size_t n = 0;
        if (evident_query_run(shared_path, shared_q, &it) != EVIDENT_STATUS_OK) { bad++; continue; }
        evident_entry *e = NULL;
        while (evident_query_next(it, &e) == EVIDENT_STATUS_OK) { n++; evident_entry_free(e); }
        if (n != 10) bad++;
        evident_query_iter_free(it);
    }
    return (void *)bad;
}
static void test_shared_objects(void) {
    shared_path = ct_path("so.jsonl");
    make_log(shared_path, 20);
    evident_verify_options_new(&shared_vo);
    evident_verify_options_set_progress(shared_vo, count_progress, NULL);
    evident_query_new(&shared_q); evident_query_set_seq_min(shared_q, 11);
    pthread_t t[3];
    for (long i = 0; i < 3; i++) pthread_create(&t[i], NULL, verify_query_thread, NULL);
    long bad = 0;
    for (int i = 0; i < 3; i++) { void *rv; pthread_join(t[i], &rv); bad += (long)rv; }
    CHECK(bad == 0);
    CHECK(progress_calls >= 15);
    evident_verify_options_free(shared_vo); evident_query_free(shared_q);
}

/* The last error survives calls that do not return evident_status; binary next_lines are
 * the lines `evident convert` writes; the verify JSON has the fields of `evident verify --json`. */
static void test_formats(void) {
    const char *pb = ct_path("fmt.evl");
    evident_log *log = open_default(pb);
    evident_event ev = {0}; ev.action = "x"; ev.details_json = "{\"z\":1,\"a\":[1.5,\"\\u00e9\"]}";
    ev.note = "n\"q"; ev.has_duration_ms = true; ev.duration_ms = 1.25;
    for (int i = 0; i < 3; i++) CHECK_ST(evident_log_append(log, &ev, NULL), EVIDENT_STATUS_OK);
    CHECK_ST(evident_log_append_json(log, "{\"x\":1}", NULL), EVIDENT_STATUS_INVALID_ARGUMENT);
    char saved[512]; snprintf(saved, sizeof saved, "%s", evident_last_error());
    (void)evident_log_path(log); (void)evident_log_framing(log); (void)evident_status_name(3);
    (void)evident_dtype_name(1); uint64_t x; (void)evident_dtype_byte_len(1, 1, &x); (void)evident_version();
    evident_string_free(NULL);
    evident_log_free(log);
    CHECK(strcmp(saved, evident_last_error()) == 0 && strlen(saved) > 0);

    evident_query_iter *it = NULL; CHECK_ST(evident_query_run(pb, NULL, &it), EVIDENT_STATUS_OK);
    char *lines = NULL; size_t len = 0, cnt = 0;
    CHECK_ST(evident_query_next_lines(it, 10, &lines, &len, &cnt), EVIDENT_STATUS_OK);
    CHECK(cnt == 3 && memchr(lines, 0, len) == NULL);
    evident_query_iter_free(it);
    const char *cli = getenv("EVIDENT_CLI");
    if (cli && *cli) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "'%s' convert '%s' '%s' >/dev/null 2>&1", cli, pb, ct_path("fmt.jsonl"));
        CHECK(system(cmd) == 0);
        long flen = 0; char *file = ct_read_file(ct_path("fmt.jsonl"), &flen);
        CHECK(file && (long)len <= flen && memcmp(file + flen - len, lines, len) == 0);
        free(file);
    }
    evident_string_free(lines);

    evident_verify_result *r = NULL; CHECK_ST(evident_verify(pb, NULL, &r), EVIDENT_STATUS_OK);
    char *js = NULL; CHECK_ST(evident_verify_result_to_json(r, &js), EVIDENT_STATUS_OK);
    const char *fields[] = {"\"valid\"", "\"path\"", "\"framing\"", "\"alg\"", "\"log_id\"", "\"key_id\"", "\"entries\"",
                            "\"head_seq\"", "\"head_hash\"", "\"bytes\"", "\"violations\"", "\"violations_total\"",
                            "\"in_flight_tail\"", "\"not_a_log\""};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) CHECK(CONTAINS(js, fields[i]));
    /* `evident verify --json` also has "status" ("valid"/"torn_tail"/"invalid") and "head" ("seq:hash") */
    CHECK(CONTAINS(js, "\"status\"") && CONTAINS(js, "\"head\""));
    evident_string_free(js);
    evident_verify_result_free(r);
}

/* verify --all keeps at most 10000 violations and counts them all; defaults of open options */
static void test_limits_defaults(void) {
    const char *p = ct_path("many.jsonl");
    evident_log *log = open_default(p);
    enum { N = 10005 };
    evident_event *evs = calloc(N, sizeof *evs);
    for (int i = 0; i < N; i++) evs[i].action = "act";
    CHECK_ST(evident_log_append_batch(log, evs, N, NULL), EVIDENT_STATUS_OK);
    free(evs);
    evident_log_free(log);
    long n; char *b = ct_read_file(p, &n); int k = 0;
    for (char *q = b; (q = strstr(q, "\"act\"")) != NULL; q++) { q[3] = 'T'; k++; }
    CHECK(k == N);
    ct_write_file(p, b, n); free(b);
    evident_verify_options *vo = NULL; evident_verify_options_new(&vo); evident_verify_options_set_all(vo, true);
    evident_verify_result *r = NULL; CHECK_ST(evident_verify(p, vo, &r), EVIDENT_STATUS_OK);
    CHECK(evident_verify_result_violation_count(r) == 10000 && evident_verify_result_violations_total(r) == N);
    const evident_violation *v = NULL;
    CHECK_ST(evident_verify_result_violation(r, 9999, &v), EVIDENT_STATUS_OK);
    CHECK(evident_violation_seq(v) == 10000);
    CHECK_ST(evident_verify_result_violation(r, 10000, &v), EVIDENT_STATUS_INVALID_ARGUMENT);
    evident_verify_result_free(r); evident_verify_options_free(vo);

    /* defaults: actor = OS user, host = host name; .bin is binary; NULL restores the default */
    char hn[256] = ""; gethostname(hn, sizeof hn);
    struct passwd *pw = getpwuid(geteuid());
    evident_open_options *o = NULL; evident_open_options_new(&o);
    evident_open_options_set_host(o, "x"); evident_open_options_set_actor(o, "y");
    CHECK_ST(evident_open_options_set_host(o, NULL), EVIDENT_STATUS_OK);
    CHECK_ST(evident_open_options_set_actor(o, NULL), EVIDENT_STATUS_OK);
    const char *pb = ct_path("d.bin");
    log = NULL; CHECK_ST(evident_log_open(pb, o, &log), EVIDENT_STATUS_OK);
    CHECK(evident_log_framing(log) == EVIDENT_FRAMING_BINARY);
    evident_event ev = {0}; evident_log_append(log, &ev, NULL);
    evident_log_free(log);
    evident_query_iter *it = NULL; evident_query_run(pb, NULL, &it);
    evident_entry *e = NULL; CHECK_ST(evident_query_next(it, &e), EVIDENT_STATUS_OK);
    CHECK(strcmp(evident_entry_host(e), hn) == 0);
    CHECK(pw && strcmp(evident_entry_actor(e), pw->pw_name) == 0);
    evident_entry_free(e); evident_query_iter_free(it);
    evident_open_options_free(o);
}

/* A failed write poisons the handle: later appends, syncs and close give POISONED; the file
 * keeps the acknowledged entries and reopening works. (File size limit via RLIMIT_FSIZE.) */
static void test_poisoned(void) {
    const char *p = ct_path("poison.jsonl");
    evident_log *log = open_default(p);
    void (*old)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit saved; getrlimit(RLIMIT_FSIZE, &saved);
    struct rlimit lim = saved;
    lim.rlim_cur = 4000;
    setrlimit(RLIMIT_FSIZE, &lim);
    evident_event ev = {0};
    ev.note = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    evident_head h; evident_status s = EVIDENT_STATUS_OK; uint64_t ok = 0;
    for (int i = 0; i < 200 && s == EVIDENT_STATUS_OK; i++) { s = evident_log_append(log, &ev, &h); if (s == EVIDENT_STATUS_OK) ok++; }
    CHECK(s == EVIDENT_STATUS_IO);
    CHECK(evident_last_errno() == EFBIG && CONTAINS(evident_last_error(), "poison.jsonl"));
    memset(&h, 0x55, sizeof h);
    CHECK_ST(evident_log_append(log, &ev, &h), EVIDENT_STATUS_POISONED);
    CHECK(h.seq == 0);
    CHECK_ST(evident_log_sync(log), EVIDENT_STATUS_POISONED);
    CHECK_ST(evident_log_close(log), EVIDENT_STATUS_POISONED);
    evident_log_free(log);
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, old);
    evident_verify_result *r = NULL; CHECK_ST(evident_verify(p, NULL, &r), EVIDENT_STATUS_OK);
    CHECK(evident_verify_result_valid(r) && evident_verify_result_entries(r) == ok);
    evident_verify_result_free(r);
    log = open_default(p);
    CHECK(log != NULL);
    CHECK_ST(evident_log_append(log, &ev, &h), EVIDENT_STATUS_OK); CHECK(h.seq == ok + 1);
    evident_log_free(log);
}

int main(int argc, char **argv) {
    bool nothreads = argc > 1 && strcmp(argv[1], "--quick") == 0;
    ct_mkdir();
    test_basics();
    test_last_error();
    test_last_error_thread_local();
    test_open_append_head();
    test_query();
    test_verify();
    test_torn_tail();
    test_malformed_middle();
    test_batch();
    test_keys_framing();
    test_buffered();
    test_shared_lock();
    if (!nothreads) test_threads();
    test_fork();
    test_lock_timeout();
    if (!nothreads) test_close_while_appending();
    test_truncation();
    test_more();
    test_formats();
    test_limits_defaults();
    if (!nothreads) test_poisoned();   /* not under valgrind: it writes files too */
    if (!nothreads) test_shared_objects();
    ct_rmdir();
    return ct_done("t_log");
}
