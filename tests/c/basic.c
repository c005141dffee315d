/*
 * The C ABI from C: create, append (fields and JSON), close, reopen, verify,
 * tamper with a copy, verify again, query, error paths. Every object is
 * freed (the test suite runs this under valgrind).
 *
 * Usage: basic WORKDIR   (an empty, writable directory)
 * Prints "all checks passed" and exits 0, or names the failed check and
 * exits 1.
 */
#include "evident.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    CHECK(n > 0);
    CHECK(fseek(f, 0, SEEK_SET) == 0);
    char *buf = malloc((size_t)n + 1);
    CHECK(buf != NULL);
    CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_file(const char *path, const char *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(buf, 1, len, f) == len);
    CHECK(fclose(f) == 0);
}

/* Runs a query and stores the seqs of the entries returned; returns how many. */
static size_t query_seqs(const char *path, const evident_query *q, uint64_t *seqs, size_t cap) {
    evident_query_iter *it = NULL;
    OK(evident_query_run(path, q, &it));
    size_t n = 0;
    for (;;) {
        evident_entry *e = NULL;
        evident_status st = evident_query_next(it, &e);
        if (st == EVIDENT_STATUS_END) {
            CHECK(e == NULL);
            break;
        }
        OK(st);
        CHECK(n < cap);
        seqs[n++] = evident_entry_seq(e);
        evident_entry_free(e);
    }
    /* END is sticky. */
    evident_entry *e = NULL;
    EXPECT(evident_query_next(it, &e), EVIDENT_STATUS_END);
    evident_query_iter_free(it);
    return n;
}

static int progress_calls = 0;
static void on_progress(void *user, uint64_t done, uint64_t total) {
    int *calls = user;
    (*calls)++;
    CHECK(done <= total);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    char *path = join(argv[1], "audit.jsonl");
    char *copy = join(argv[1], "tampered.jsonl");
    char *keyed = join(argv[1], "keyed.jsonl");

    /* Versions. */
    CHECK(evident_abi_version() >> 16 == EVIDENT_ABI_VERSION_MAJOR);
    CHECK(evident_abi_version() >= EVIDENT_ABI_VERSION);
    CHECK(strlen(evident_version()) > 0);
    CHECK_STR(evident_status_name(EVIDENT_STATUS_LOCKED), "EVIDENT_STATUS_LOCKED");
    CHECK_STR(evident_violation_kind_name(EVIDENT_VIOLATION_KIND_HASH_MISMATCH), "hash_mismatch");

    /* ---- an existing empty file: refused, or adopted when asked ---- */
    {
        char *empty = join(argv[1], "empty.jsonl");
        FILE *f = fopen(empty, "w");
        CHECK(f != NULL);
        fclose(f);
        evident_log *el = NULL;
        EXPECT(evident_log_open(empty, NULL, &el), EVIDENT_STATUS_MALFORMED);
        CHECK(el == NULL);
        evident_open_options *eo = NULL;
        OK(evident_open_options_new(&eo));
        EXPECT(evident_open_options_set_adopt_empty(NULL, true), EVIDENT_STATUS_NULL_ARGUMENT);
        OK(evident_open_options_set_adopt_empty(eo, true));
        OK(evident_log_open(empty, eo, &el));
        evident_recovery *er = NULL;
        OK(evident_log_recovery(el, &er));
        CHECK(evident_recovery_created(er));
        evident_recovery_free(er);
        OK(evident_log_close(el));
        evident_log_free(el);
        evident_open_options_free(eo);
        free(empty);
    }

    /* ---- create ---- */
    evident_open_options *opts = NULL;
    OK(evident_open_options_new(&opts));
    OK(evident_open_options_set_framing(opts, EVIDENT_FRAMING_JSONL));
    OK(evident_open_options_set_durability(opts, EVIDENT_DURABILITY_SYNC));
    OK(evident_open_options_set_lock_mode(opts, EVIDENT_LOCK_MODE_EXCLUSIVE));
    OK(evident_open_options_set_actor(opts, "c-test"));
    OK(evident_open_options_set_host(opts, "bench-7"));
    OK(evident_open_options_set_create_new(opts, true));
    EXPECT(evident_open_options_set_framing(opts, 42), EVIDENT_STATUS_INVALID_ARGUMENT);

    evident_log *log = NULL;
    OK(evident_log_open(path, opts, &log));
    CHECK(log != NULL);
    CHECK_STR(evident_log_path(log), path);
    CHECK(evident_log_framing(log) == EVIDENT_FRAMING_JSONL);
    CHECK(evident_log_alg(log) == EVIDENT_ALG_SHA256);
    CHECK(evident_log_key_id(log) == NULL);
    CHECK(strlen(evident_log_log_id(log)) > 0);

    evident_recovery *rec = NULL;
    OK(evident_log_recovery(log, &rec));
    CHECK(evident_recovery_created(rec));
    CHECK(evident_recovery_torn_count(rec) == 0);
    uint64_t off = 1, len = 1;
    const char *sidecar = "x";
    EXPECT(evident_recovery_torn_tail(rec, 0, &off, &len, &sidecar), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(off == 0 && len == 0 && sidecar == NULL);
    evident_recovery_free(rec);

    /* ---- append from fields ---- */
    evident_event ev = {0};
    ev.event_type = "ACTION_EXECUTED";
    ev.action = "load_trace";
    ev.session_id = "s1";
    ev.source = "scope";
    ev.details_json = "{\"file\":\"trace1.bin\",\"channels\":4}";
    ev.has_success = true;
    ev.success = true;
    ev.has_duration_ms = true;
    ev.duration_ms = 12.5;
    evident_head head;
    OK(evident_log_append(log, &ev, &head));
    CHECK(head.seq == 1);
    CHECK(strlen(head.hash) == 64);

    evident_event ev2 = {0};
    ev2.event_type = "ACTION_EXECUTED";
    ev2.action = "calibrate";
    ev2.session_id = "s2";
    ev2.source = "scope";
    ev2.note = "probe 3";
    OK(evident_log_append(log, &ev2, &head));
    CHECK(head.seq == 2);

    /* ---- append from JSON ---- */
    OK(evident_log_append_json(log,
                               "{\"event_type\":\"ACTION_EXECUTED\",\"action\":\"export\","
                               "\"session_id\":\"s1\",\"source\":\"scope\",\"details\":{\"n\":3}}",
                               &head));
    CHECK(head.seq == 3);
    OK(evident_log_append_json(log,
                               "{\"event_type\":\"SESSION\",\"action\":\"close\",\"session_id\":\"s1\","
                               "\"source\":\"scope\",\"success\":false,\"error\":\"cable\"}",
                               NULL));

    evident_head head4;
    OK(evident_log_head(log, &head4));
    CHECK(head4.seq == 4);
    CHECK(strlen(head4.hash) == 64);
    CHECK(strcmp(head4.hash, head.hash) != 0);

    /* ---- error paths while the log is open ---- */
    /* A second exclusive writer: LOCKED, naming the holder. */
    evident_log *second = (evident_log *)&head; /* must be reset to NULL */
    EXPECT(evident_log_open(path, NULL, &second), EVIDENT_STATUS_LOCKED);
    CHECK(second == NULL);
    CHECK(strstr(evident_last_error(), "locked by") != NULL);
    CHECK(strstr(evident_last_error(), "pid") != NULL);
    CHECK(strstr(evident_last_error(), "audit.jsonl") != NULL);
    /* The copy variant reports the full length and truncates safely. */
    size_t need = evident_last_error_copy(NULL, 0);
    CHECK(need == strlen(evident_last_error()));
    char small[8];
    CHECK(evident_last_error_copy(small, sizeof small) == need);
    CHECK(strlen(small) == 7);

    /* NULL arguments. */
    EXPECT(evident_log_append(NULL, &ev, NULL), EVIDENT_STATUS_NULL_ARGUMENT);
    CHECK(strstr(evident_last_error(), "log") != NULL);
    EXPECT(evident_log_append(log, NULL, NULL), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_log_append_json(log, NULL, NULL), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_log_open(NULL, NULL, &second), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_log_open(path, NULL, NULL), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_log_head(log, NULL), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_verify(path, NULL, NULL), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_query_next(NULL, NULL), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_open_options_set_actor(NULL, "x"), EVIDENT_STATUS_NULL_ARGUMENT);
    CHECK(evident_entry_seq(NULL) == 0);
    CHECK(evident_entry_action(NULL) == NULL);
    CHECK(!evident_verify_result_valid(NULL));

    /* Invalid UTF-8. */
    evident_event bad = {0};
    bad.event_type = "ACTION_EXECUTED";
    bad.action = "x";
    bad.actor = "op\xff\xfe";
    EXPECT(evident_log_append(log, &bad, &head), EVIDENT_STATUS_INVALID_UTF8);
    CHECK(strstr(evident_last_error(), "actor") != NULL);
    CHECK(head.seq == 0 && head.hash[0] == 0);
    EXPECT(evident_log_append_json(log, "{\"action\":\"\xc3\x28\"}", NULL), EVIDENT_STATUS_INVALID_UTF8);
    EXPECT(evident_log_open("/tmp/\xff.jsonl", NULL, &second), EVIDENT_STATUS_INVALID_UTF8);

    /* Invalid arguments. */
    EXPECT(evident_log_append_json(log, "{\"action\":\"x\",\"colour\":\"red\"}", NULL),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(evident_last_error(), "colour") != NULL);
    EXPECT(evident_log_append_json(log, "not json", NULL), EVIDENT_STATUS_INVALID_ARGUMENT);
    bad.actor = NULL;
    bad.details_json = "{broken";
    EXPECT(evident_log_append(log, &bad, NULL), EVIDENT_STATUS_INVALID_ARGUMENT);
    bad.details_json = NULL;
    bad.ts = "yesterday";
    EXPECT(evident_log_append(log, &bad, NULL), EVIDENT_STATUS_INVALID_ARGUMENT);

    /* None of the failures appended anything. */
    OK(evident_log_head(log, &head));
    CHECK(head.seq == 4);
    CHECK_STR(head.hash, head4.hash);

    /* ---- close; append after close ---- */
    OK(evident_log_close(log));
    OK(evident_log_close(log));
    EXPECT(evident_log_append(log, &ev, NULL), EVIDENT_STATUS_CLOSED);
    CHECK(strstr(evident_last_error(), "closed") != NULL);
    EXPECT(evident_log_sync(log), EVIDENT_STATUS_CLOSED);
    evident_log_free(log);
    log = NULL;

    /* create_new on an existing log fails, with the OS error code and the
     * file. */
    EXPECT(evident_log_open(path, opts, &log), EVIDENT_STATUS_IO);
    CHECK(log == NULL);
    CHECK(evident_last_errno() == EEXIST);
    CHECK(evident_last_error_path() != NULL);
    CHECK_STR(evident_last_error_path(), path);
    /* A missing file: ENOENT, naming it; a success clears both. */
    {
        char *missing = join(argv[1], "no-such-dir/missing.jsonl");
        evident_verify_result *vr = NULL;
        EXPECT(evident_verify(missing, NULL, &vr), EVIDENT_STATUS_IO);
        CHECK(vr == NULL);
        CHECK(evident_last_errno() == ENOENT);
        CHECK_STR(evident_last_error_path(), missing);
        evident_open_options *o2 = NULL;
        OK(evident_open_options_new(&o2));
        CHECK(evident_last_errno() == 0);
        CHECK(evident_last_error_path() == NULL);
        /* Errors that are not I/O errors carry no code. */
        EXPECT(evident_open_options_set_durability(o2, 99), EVIDENT_STATUS_INVALID_ARGUMENT);
        CHECK(evident_last_errno() == 0);
        evident_open_options_free(o2);
        free(missing);
    }
    evident_open_options_free(opts);

    /* ---- reopen: the head continues, nothing to recover ---- */
    OK(evident_log_open(path, NULL, &log));
    OK(evident_log_head(log, &head));
    CHECK(head.seq == 4);
    CHECK_STR(head.hash, head4.hash);
    OK(evident_log_recovery(log, &rec));
    CHECK(!evident_recovery_created(rec));
    CHECK(evident_recovery_torn_count(rec) == 0);
    evident_recovery_free(rec);
    evident_event ev5 = {0};
    ev5.event_type = "SESSION";
    ev5.action = "reopen";
    ev5.session_id = "s1";
    ev5.actor = "operator-2";
    OK(evident_log_append(log, &ev5, &head));
    CHECK(head.seq == 5);
    OK(evident_log_sync(log));
    OK(evident_log_close(log));
    evident_log_free(log);

    /* ---- verify ---- */
    evident_verify_options *vopts = NULL;
    OK(evident_verify_options_new(&vopts));
    OK(evident_verify_options_set_threads(vopts, 2));
    OK(evident_verify_options_set_expected_head(vopts, 4, head4.hash));
    OK(evident_verify_options_set_progress(vopts, on_progress, &progress_calls));
    EXPECT(evident_verify_options_set_expected_head(vopts, 4, "xyz"), EVIDENT_STATUS_INVALID_ARGUMENT);
    OK(evident_verify_options_set_expected_head(vopts, 4, head4.hash));
    evident_verify_result *res = NULL;
    OK(evident_verify(path, vopts, &res));
    CHECK(evident_verify_result_valid(res));
    CHECK(evident_verify_result_entries(res) == 5);
    CHECK(evident_verify_result_head_seq(res) == 5);
    CHECK_STR(evident_verify_result_head_hash(res), head.hash);
    CHECK(evident_verify_result_violation_count(res) == 0);
    CHECK(evident_verify_result_violations_total(res) == 0);
    CHECK(evident_verify_result_framing(res) == EVIDENT_FRAMING_JSONL);
    CHECK(evident_verify_result_alg(res) == EVIDENT_ALG_SHA256);
    CHECK(evident_verify_result_key_id(res) == NULL);
    CHECK(progress_calls > 0);
    const evident_violation *viol = NULL;
    EXPECT(evident_verify_result_violation(res, 0, &viol), EVIDENT_STATUS_INVALID_ARGUMENT);
    evident_verify_result_free(res);

    /* Verify with a wrong expected head: a head mismatch. */
    OK(evident_verify_options_set_expected_head(vopts, 4, head.hash));
    OK(evident_verify(path, vopts, &res));
    CHECK(!evident_verify_result_valid(res));
    OK(evident_verify_result_violation(res, 0, &viol));
    CHECK(evident_violation_get_kind(viol) == EVIDENT_VIOLATION_KIND_HEAD_MISMATCH);
    evident_verify_result_free(res);
    OK(evident_verify_options_set_expected_head(vopts, 0, NULL));

    /* ---- tamper with one byte of a copy ---- */
    size_t flen = 0;
    char *bytes = read_file(path, &flen);
    char *at = strstr(bytes, "\"calibrate\"");
    CHECK(at != NULL);
    at[1] = 'C'; /* "Calibrate": still valid JSON, wrong hash */
    write_file(copy, bytes, flen);
    free(bytes);

    OK(evident_verify_options_set_all(vopts, true));
    OK(evident_verify(copy, vopts, &res));
    CHECK(!evident_verify_result_valid(res));
    CHECK(!evident_verify_result_only_torn_tail(res));
    CHECK(!evident_verify_result_not_a_log(res));
    CHECK(!evident_verify_result_not_a_log(NULL));
    {
        /* A file that is not a log: a result (OK), flagged. */
        char *notes = join(argv[1], "notes.txt");
        write_file(notes, "hello\n", 6);
        evident_verify_result *nr = NULL;
        OK(evident_verify(notes, NULL, &nr));
        CHECK(!evident_verify_result_valid(nr));
        CHECK(evident_verify_result_not_a_log(nr));
        evident_verify_result_free(nr);
        free(notes);
    }
    CHECK(evident_verify_result_violation_count(res) >= 1);
    OK(evident_verify_result_violation(res, 0, &viol));
    CHECK(evident_violation_get_kind(viol) == EVIDENT_VIOLATION_KIND_HASH_MISMATCH);
    CHECK(evident_violation_has_seq(viol));
    CHECK(evident_violation_seq(viol) == 2);
    CHECK(evident_violation_line(viol) == 3); /* line 1 is the genesis */
    CHECK(evident_violation_offset(viol) > 0);
    CHECK(strlen(evident_violation_message(viol)) > 0);
    char *json = NULL;
    OK(evident_verify_result_to_json(res, &json));
    CHECK(strstr(json, "hash_mismatch") != NULL);
    CHECK(strstr(json, "\"valid\":false") != NULL);
    /* the same fields as `evident verify --json`: status and head too */
    CHECK(strstr(json, "\"status\":\"invalid\"") != NULL);
    CHECK(strstr(json, "\"head\":\"") != NULL);
    evident_string_free(json);
    evident_verify_result_free(res);
    evident_verify_options_free(vopts);

    /* A missing file is an I/O error, not a result. */
    char *missing = join(argv[1], "missing.jsonl");
    EXPECT(evident_verify(missing, NULL, &res), EVIDENT_STATUS_IO);
    CHECK(res == NULL);
    CHECK(strstr(evident_last_error(), "missing.jsonl") != NULL);
    free(missing);

    /* ---- a torn tail: verify reports it, reopening moves it aside ---- */
    size_t before = 0;
    free(read_file(path, &before));
    static const char torn[] = "{\"v\":1,\"seq\":6,\"prev\":\"00";
    FILE *tf = fopen(path, "ab");
    CHECK(tf != NULL);
    CHECK(fwrite(torn, 1, sizeof torn - 1, tf) == sizeof torn - 1);
    CHECK(fclose(tf) == 0);
    OK(evident_verify(path, NULL, &res));
    CHECK(!evident_verify_result_valid(res));
    CHECK(evident_verify_result_only_torn_tail(res));
    OK(evident_verify_result_violation(res, 0, &viol));
    CHECK(evident_violation_get_kind(viol) == EVIDENT_VIOLATION_KIND_TORN_TAIL);
    CHECK(evident_violation_offset(viol) == before);
    evident_verify_result_free(res);
    /* the same without watching the tail for a writer (C ABI 1.13) */
    evident_verify_options *nowait = NULL;
    OK(evident_verify_options_new(&nowait));
    OK(evident_verify_options_set_in_flight_wait_ms(nowait, 0));
    EXPECT(evident_verify_options_set_in_flight_wait_ms(NULL, 0), EVIDENT_STATUS_NULL_ARGUMENT);
    OK(evident_verify(path, nowait, &res));
    CHECK(evident_verify_result_only_torn_tail(res));
    CHECK(evident_verify_result_in_flight_tail(res) == 0);
    OK(evident_verify_result_violation(res, 0, &viol));
    CHECK(evident_violation_get_kind(viol) == EVIDENT_VIOLATION_KIND_TORN_TAIL);
    CHECK(evident_violation_offset(viol) == before);
    evident_verify_result_free(res);
    evident_verify_options_free(nowait);

    OK(evident_log_open(path, NULL, &log));
    OK(evident_log_recovery(log, &rec));
    CHECK(!evident_recovery_created(rec));
    CHECK(evident_recovery_torn_count(rec) == 1);
    OK(evident_recovery_torn_tail(rec, 0, &off, &len, &sidecar));
    CHECK(off == before);
    CHECK(len == sizeof torn - 1);
    CHECK(sidecar != NULL && strstr(sidecar, "audit.jsonl.torn-") != NULL);
    size_t side_len = 0;
    char *side = read_file(sidecar, &side_len);
    CHECK(side_len == sizeof torn - 1 && memcmp(side, torn, side_len) == 0);
    free(side);
    /* Out-pointers may be NULL. */
    OK(evident_recovery_torn_tail(rec, 0, NULL, NULL, NULL));
    evident_recovery_free(rec);
    OK(evident_log_head(log, &head));
    CHECK(head.seq == 5);
    OK(evident_log_close(log));
    evident_log_free(log);
    log = NULL;
    OK(evident_verify(path, NULL, &res));
    CHECK(evident_verify_result_valid(res));
    CHECK(evident_verify_result_entries(res) == 5);
    evident_verify_result_free(res);

    /* ---- a copy cut below its durable length (lock file copied too):
     * open recovers as always and reports the cut, once ---- */
    {
        char *cut = join(argv[1], "cut.jsonl");
        char *lock = join(argv[1], "audit.jsonl.lock");
        char *cut_lock = join(argv[1], "cut.jsonl.lock");
        size_t full = 0, lock_len = 0;
        char *bytes5 = read_file(path, &full);
        char *lock_bytes = read_file(lock, &lock_len);
        write_file(cut, bytes5, full - 3);
        write_file(cut_lock, lock_bytes, lock_len);
        uint64_t durable = 1, at_open = 1;
        OK(evident_log_open(cut, NULL, &log));
        OK(evident_log_recovery(log, &rec));
        CHECK(evident_recovery_truncated(rec, &durable, &at_open));
        CHECK(durable == full && at_open == full - 3);
        CHECK(evident_recovery_truncated(rec, NULL, NULL));
        CHECK(evident_recovery_torn_count(rec) == 1);
        evident_recovery_free(rec);
        OK(evident_log_head(log, &head));
        CHECK(head.seq == 4);
        OK(evident_log_close(log));
        evident_log_free(log);
        OK(evident_log_open(cut, NULL, &log));
        OK(evident_log_recovery(log, &rec));
        CHECK(!evident_recovery_truncated(rec, &durable, &at_open));
        CHECK(durable == 0 && at_open == 0);
        evident_recovery_free(rec);
        OK(evident_log_close(log));
        evident_log_free(log);
        log = NULL;
        free(bytes5);
        free(lock_bytes);
        free(cut);
        free(lock);
        free(cut_lock);
    }

    /* ---- query ---- */
    evident_query *q = NULL;
    uint64_t seqs[16];
    OK(evident_query_new(&q));
    OK(evident_query_set_session_id(q, "s1"));
    OK(evident_query_set_order(q, EVIDENT_ORDER_NEWEST_FIRST));
    OK(evident_query_set_limit(q, 2));
    size_t n = query_seqs(path, q, seqs, 16);
    CHECK(n == 2);
    CHECK(seqs[0] == 5 && seqs[1] == 4);
    EXPECT(evident_query_set_order(q, 7), EVIDENT_STATUS_INVALID_ARGUMENT);
    evident_query_free(q);

    OK(evident_query_new(&q));
    OK(evident_query_set_seq_min(q, 2));
    OK(evident_query_set_seq_max(q, 3));
    n = query_seqs(path, q, seqs, 16);
    CHECK(n == 2 && seqs[0] == 2 && seqs[1] == 3);
    OK(evident_query_set_seq_min(q, 0));
    OK(evident_query_set_seq_max(q, UINT64_MAX));
    OK(evident_query_set_since(q, "2999-01-01T00:00:00Z"));
    CHECK(query_seqs(path, q, seqs, 16) == 0);
    OK(evident_query_set_since(q, NULL));
    OK(evident_query_set_until(q, "2999-01-01T00:00:00+02:00"));
    OK(evident_query_set_event_type(q, "SESSION"));
    OK(evident_query_set_actor(q, "c-test"));
    n = query_seqs(path, q, seqs, 16);
    CHECK(n == 1 && seqs[0] == 4);
    EXPECT(evident_query_set_since(q, "last tuesday"), EVIDENT_STATUS_INVALID_ARGUMENT);
    EXPECT(evident_query_set_source(q, "\xff"), EVIDENT_STATUS_INVALID_UTF8);
    evident_query_free(q);

    /* Entry accessors on the first entry. */
    OK(evident_query_new(&q));
    OK(evident_query_set_action(q, "load_trace"));
    evident_query_iter *it = NULL;
    OK(evident_query_run(path, q, &it));
    evident_query_free(q); /* the iterator keeps its own copy */
    evident_entry *e = NULL;
    OK(evident_query_next(it, &e));
    CHECK(evident_entry_seq(e) == 1);
    CHECK_STR(evident_entry_event_type(e), "ACTION_EXECUTED");
    CHECK_STR(evident_entry_action(e), "load_trace");
    CHECK_STR(evident_entry_actor(e), "c-test");
    CHECK_STR(evident_entry_host(e), "bench-7");
    CHECK_STR(evident_entry_session_id(e), "s1");
    CHECK_STR(evident_entry_source(e), "scope");
    CHECK(evident_entry_error(e) == NULL);
    CHECK(evident_entry_note(e) == NULL);
    CHECK(evident_entry_git_commit(e) == NULL);
    CHECK(!evident_entry_otr(e));
    CHECK(evident_entry_has_success(e) && evident_entry_success(e));
    CHECK(evident_entry_has_duration_ms(e) && evident_entry_duration_ms(e) == 12.5);
    CHECK(strstr(evident_entry_details_json(e), "\"file\":\"trace1.bin\"") != NULL);
    const char *ts = evident_entry_ts(e);
    CHECK(strlen(ts) == 27 && ts[26] == 'Z');
    CHECK(evident_entry_ts_unix_us(e) > 1600000000LL * 1000000LL);
    CHECK(strlen(evident_entry_prev(e)) == 64);
    CHECK(strlen(evident_entry_hash(e)) == 64);
    char *ejson = NULL;
    OK(evident_entry_to_json(e, &ejson));
    CHECK(strstr(ejson, "\"seq\":1") != NULL);
    CHECK(strstr(ejson, evident_entry_hash(e)) != NULL);
    evident_string_free(ejson);
    evident_entry *e2 = NULL;
    EXPECT(evident_query_next(it, &e2), EVIDENT_STATUS_END);
    evident_query_iter_free(it);
    /* The entry outlives its iterator. */
    CHECK_STR(evident_entry_action(e), "load_trace");
    evident_entry_free(e);

    /* ---- keys ---- */
    uint8_t key_a[32], key_b[32];
    for (size_t i = 0; i < sizeof key_a; i++) {
        key_a[i] = (uint8_t)(i * 7 + 1);
        key_b[i] = (uint8_t)(i * 5 + 3);
    }
    OK(evident_open_options_new(&opts));
    EXPECT(evident_open_options_set_key(opts, key_a, 8), EVIDENT_STATUS_INVALID_ARGUMENT);
    EXPECT(evident_open_options_set_key(opts, NULL, 8), EVIDENT_STATUS_NULL_ARGUMENT);
    OK(evident_open_options_set_key(opts, key_a, sizeof key_a));
    OK(evident_log_open(keyed, opts, &log));
    CHECK(evident_log_alg(log) == EVIDENT_ALG_HMAC_SHA256);
    CHECK(evident_log_key_id(log) != NULL);
    OK(evident_log_append(log, &ev, NULL));
    OK(evident_log_close(log));
    evident_log_free(log);
    log = NULL;
    OK(evident_open_options_set_key(opts, key_b, sizeof key_b));
    EXPECT(evident_log_open(keyed, opts, &log), EVIDENT_STATUS_WRONG_KEY);
    CHECK(log == NULL);
    CHECK(strstr(evident_last_error(), "keyed.jsonl") != NULL);
    OK(evident_open_options_set_key(opts, NULL, 0));
    EXPECT(evident_log_open(keyed, opts, &log), EVIDENT_STATUS_WRONG_KEY);
    evident_open_options_free(opts);

    OK(evident_verify_options_new(&vopts));
    OK(evident_verify_options_set_key(vopts, key_a, sizeof key_a));
    OK(evident_verify(keyed, vopts, &res));
    CHECK(evident_verify_result_valid(res));
    CHECK(evident_verify_result_entries(res) == 1);
    evident_verify_result_free(res);
    OK(evident_verify_options_set_key(vopts, key_b, sizeof key_b));
    OK(evident_verify(keyed, vopts, &res));
    CHECK(!evident_verify_result_valid(res));
    OK(evident_verify_result_violation(res, 0, &viol));
    CHECK(evident_violation_get_kind(viol) == EVIDENT_VIOLATION_KIND_WRONG_KEY);
    evident_verify_result_free(res);
    evident_verify_options_free(vopts);

    /* Freeing NULL is a no-op for every object. */
    evident_log_free(NULL);
    evident_open_options_free(NULL);
    evident_recovery_free(NULL);
    evident_verify_options_free(NULL);
    evident_verify_result_free(NULL);
    evident_query_free(NULL);
    evident_query_iter_free(NULL);
    evident_entry_free(NULL);
    evident_string_free(NULL);

    free(path);
    free(copy);
    free(keyed);
    printf("basic.c: all checks passed\n");
    return 0;
}
