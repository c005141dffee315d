/* Clean-room semantic tests of sessions, traces, save options and checkpoints. */
#include "ct.h"

static void test_session(void) {
    evident_session *s = (evident_session *)0x1;
    CHECK_ST(evident_session_new("first", &s), EVIDENT_STATUS_OK);
    CHECK(s != NULL && s != (evident_session *)0x1);
    char *out = NULL;
    CHECK_ST(evident_session_info_json(s, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"name\":\"first\"") || CONTAINS(out, "\"name\": \"first\""));
    CHECK(CONTAINS(out, "\"path\":null") || CONTAINS(out, "\"path\": null"));
    evident_string_free(out);

    double samples[100]; for (int i = 0; i < 100; i++) samples[i] = i * 0.5;
    CHECK_ST(evident_session_add_trace(s, "ch1", EVIDENT_DTYPE_F64, samples, 100, "{\"sample_rate\": 1000, \"units\": \"V\"}"), EVIDENT_STATUS_OK);
    uint8_t bits[2] = {0x05, 0x01};   /* 9 samples: 1,0,1,0,0,0,0,0,1 */
    CHECK_ST(evident_session_add_trace(s, "dig", EVIDENT_DTYPE_BIT, bits, 9, NULL), EVIDENT_STATUS_OK);
    uint8_t badbool[3] = {0, 1, 2};
    CHECK_ST(evident_session_add_trace(s, "bb", EVIDENT_DTYPE_BOOL, badbool, 3, NULL), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_ST(evident_session_add_trace(s, "neg", EVIDENT_DTYPE_F64, samples, 3, "{\"sample_rate\": -1}"), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_ST(evident_session_add_trace(s, "bad", 99, samples, 3, NULL), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_ST(evident_session_add_trace(s, "empty", EVIDENT_DTYPE_I16, NULL, 0, NULL), EVIDENT_STATUS_OK);
    /* replacing keeps the place */
    int32_t iv[4] = {1, -2, 3, -4};
    CHECK_ST(evident_session_add_trace(s, "dig", EVIDENT_DTYPE_I32, iv, 4, NULL), EVIDENT_STATUS_OK);
    out = NULL; CHECK_ST(evident_session_trace_names_json(s, &out), EVIDENT_STATUS_OK);
    CHECK(out && strcmp(out, "[\"ch1\",\"dig\",\"empty\"]") == 0);
    if (out && strcmp(out, "[\"ch1\",\"dig\",\"empty\"]") != 0) fprintf(stderr, "  names: %s\n", out);
    evident_string_free(out);

    evident_trace *t = (evident_trace *)0x1;
    CHECK_ST(evident_session_get_trace(s, "nope", &t), EVIDENT_STATUS_NOT_FOUND);
    CHECK(t == NULL);
    t = NULL; CHECK_ST(evident_session_get_trace(s, "ch1", &t), EVIDENT_STATUS_OK);
    const void *data = NULL; uint64_t ls = 0, lb = 0; uint32_t dt = 0;
    CHECK_ST(evident_trace_data(t, &data, &ls, &lb, &dt), EVIDENT_STATUS_OK);
    CHECK(data && ls == 100 && lb == 800 && dt == EVIDENT_DTYPE_F64);
    CHECK(data && memcmp(data, samples, 800) == 0);
    CHECK(((uintptr_t)data % 8) == 0);
    out = NULL; CHECK_ST(evident_trace_info_json(t, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"dtype\":\"f64\"") && CONTAINS(out, "\"len\":100") && CONTAINS(out, "\"units\":\"V\""));
    if (!CONTAINS(out, "\"dtype\":\"f64\"")) fprintf(stderr, "  info: %s\n", out);
    evident_string_free(out);
    CHECK_ST(evident_trace_verify(t), EVIDENT_STATUS_OK);   /* not from a file */
    evident_trace *te = NULL; CHECK_ST(evident_session_get_trace(s, "empty", &te), EVIDENT_STATUS_OK);
    data = NULL; CHECK_ST(evident_trace_data(te, &data, &ls, &lb, &dt), EVIDENT_STATUS_OK);
    CHECK(data != NULL && ls == 0 && lb == 0 && dt == EVIDENT_DTYPE_I16);
    evident_trace_free(te);

    /* annotations and layers */
    CHECK_ST(evident_session_annotate(s, "L1", "{\"text\":\"peak\",\"time\":0.01}"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_session_annotate(s, "L1", "{\"text\":\"span\",\"time_range\":[0.02,0.05]}"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_session_annotate(s, "L1", "{\"text\":\"x\",\"unknown\":1}"), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_ST(evident_session_annotate(s, "L1", "{\"time\":1}"), EVIDENT_STATUS_INVALID_ARGUMENT);   /* text required */
    CHECK_ST(evident_session_annotate(s, "L1", "{\"text\":\"r\",\"time_range\":[2,1]}"), EVIDENT_STATUS_INVALID_ARGUMENT);
    out = NULL; CHECK_ST(evident_session_layers_json(s, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"type\":\"point\"") && CONTAINS(out, "\"type\":\"range\"") && CONTAINS(out, "\"style\":\"solid\""));
    evident_string_free(out);
    out = NULL; CHECK_ST(evident_session_annotations_json(s, NULL, 1, 0.0, 0.015, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "peak") && !CONTAINS(out, "span") && CONTAINS(out, "\"layer\":\"L1\""));
    evident_string_free(out);
    out = NULL; CHECK_ST(evident_session_annotations_json(s, "nolayer", 0, 0, 0, &out), EVIDENT_STATUS_OK);
    CHECK(out && strcmp(out, "[]") == 0);
    evident_string_free(out);
    out = (char *)0x1; CHECK_ST(evident_session_annotations_json(s, NULL, 1, 2.0, 1.0, &out), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(out == NULL);
    CHECK_ST(evident_session_set_layer(s, "{\"name\":\"L1\",\"locked\":true}"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_session_annotate(s, "L1", "{\"text\":\"late\"}"), EVIDENT_STATUS_LAYER_LOCKED);
    CHECK_ST(evident_session_clear_layer(s, "L1"), EVIDENT_STATUS_LAYER_LOCKED);
    CHECK_ST(evident_session_remove_layer(s, "L1"), EVIDENT_STATUS_LAYER_LOCKED);
    CHECK_ST(evident_session_remove_annotation(s, "L1", 0), EVIDENT_STATUS_LAYER_LOCKED);
    CHECK_ST(evident_session_set_layer(s, "{\"name\":\"L1\",\"locked\":false}"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_session_remove_annotation(s, "L1", 5), EVIDENT_STATUS_NOT_FOUND);
    CHECK_ST(evident_session_clear_layer(s, "nolayer"), EVIDENT_STATUS_NOT_FOUND);
    CHECK_ST(evident_session_remove_layer(s, "nolayer"), EVIDENT_STATUS_NOT_FOUND);
    CHECK_ST(evident_session_set_layer(s, "{\"name\":\"L2\",\"color\":\"red\",\"bogus\":1}"), EVIDENT_STATUS_INVALID_ARGUMENT);

    /* measurements and history */
    CHECK_ST(evident_session_record_measurement(s, "{\"name\":\"freq\",\"value\":50.0,\"unit\":\"Hz\",\"trace_name\":\"ch1\"}"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_session_record_measurement(s, "{\"value\":1}"), EVIDENT_STATUS_INVALID_ARGUMENT);
    out = NULL; CHECK_ST(evident_session_measurements_json(s, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"name\":\"freq\"") && CONTAINS(out, "recorded_at"));
    evident_string_free(out);
    CHECK_ST(evident_session_record_history(s, "{\"operation\":\"op1\",\"parameters\":{\"z\":1,\"a\":2}}"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_session_record_history(s, "{\"operation\":\"op2\"}"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_session_record_history(s, "{\"operation\":\"op3\"}"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_session_record_history(s, "{\"parameters\":{}}"), EVIDENT_STATUS_INVALID_ARGUMENT);
    out = NULL; CHECK_ST(evident_session_history_json(s, &out), EVIDENT_STATUS_OK);
    CHECK(out && strstr(out, "\"z\"") && strstr(out, "\"a\"") && strstr(out, "\"z\"") < strstr(out, "\"a\""));   /* order kept */
    evident_string_free(out);
    CHECK_ST(evident_session_set_history_limit(s, 2), EVIDENT_STATUS_OK);
    out = NULL; CHECK_ST(evident_session_history_json(s, &out), EVIDENT_STATUS_OK);
    CHECK(!CONTAINS(out, "op1") && CONTAINS(out, "op2") && CONTAINS(out, "op3"));
    evident_string_free(out);
    CHECK_ST(evident_session_set_metadata_json(s, "[1]"), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_ST(evident_session_set_metadata_json(s, "{\"k\":\"v\"}"), EVIDENT_STATUS_OK);
    out = NULL; CHECK_ST(evident_session_metadata_json(s, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"k\":\"v\"")); evident_string_free(out);
    out = NULL; CHECK_ST(evident_session_summary(s, &out), EVIDENT_STATUS_OK);
    CHECK(out && strchr(out, '\n') != NULL && CONTAINS(out, "first")); evident_string_free(out);
    CHECK_ST(evident_session_remove_trace(s, "nope"), EVIDENT_STATUS_NOT_FOUND);

    /* save / load / versions */
    const char *path = ct_path("s.evs");
    evident_save_options *so = NULL;
    CHECK_ST(evident_save_options_new(&so), EVIDENT_STATUS_OK);
    CHECK_ST(evident_session_save(s, NULL, so, &out), EVIDENT_STATUS_INVALID_ARGUMENT);   /* no path yet */
    out = NULL; CHECK_ST(evident_session_save(s, path, so, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"version\":1") && CONTAINS(out, "\"commit\""));
    evident_string_free(out);
    CHECK_ST(evident_session_set_name(s, "second"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_save_options_set_compress(so, 3), EVIDENT_STATUS_OK);
    out = NULL; CHECK_ST(evident_session_save(s, NULL, so, &out), EVIDENT_STATUS_OK);   /* path remembered */
    CHECK(CONTAINS(out, "\"version\":2"));
    CHECK(CONTAINS(out, "\"traces_written\":0"));   /* unchanged traces keep their stored form */
    evident_string_free(out);
    /* the trace object survives the session */
    evident_session_free(s);
    data = NULL; CHECK_ST(evident_trace_data(t, &data, &ls, &lb, &dt), EVIDENT_STATUS_OK);
    CHECK(data && ls == 100 && memcmp(data, samples, 800) == 0);
    evident_trace_free(t);

    out = NULL; CHECK_ST(evident_session_versions_json(path, NULL, 0, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"name\":\"first\"") && CONTAINS(out, "\"name\":\"second\""));
    evident_string_free(out);
    s = (evident_session *)0x1;
    CHECK_ST(evident_session_load(path, NULL, 0, 7, &s), EVIDENT_STATUS_NOT_FOUND);
    CHECK(s == NULL);
    s = NULL; CHECK_ST(evident_session_load(path, NULL, 0, 1, &s), EVIDENT_STATUS_OK);
    out = NULL; evident_session_info_json(s, &out);
    CHECK(CONTAINS(out, "\"name\":\"first\"") && CONTAINS(out, "\"version\":1"));
    evident_string_free(out); evident_session_free(s);
    s = NULL; CHECK_ST(evident_session_load(path, NULL, 0, 0, &s), EVIDENT_STATUS_OK);
    out = NULL; evident_session_info_json(s, &out);
    CHECK(CONTAINS(out, "\"name\":\"second\"") && CONTAINS(out, "\"version\":2") && CONTAINS(out, "\"traces\":3"));
    evident_string_free(out);
    t = NULL; CHECK_ST(evident_session_get_trace(s, "ch1", &t), EVIDENT_STATUS_OK);
    data = NULL; CHECK_ST(evident_trace_data(t, &data, &ls, &lb, &dt), EVIDENT_STATUS_OK);
    CHECK(data && ls == 100 && memcmp(data, samples, 800) == 0);
    CHECK_ST(evident_trace_verify(t), EVIDENT_STATUS_OK);
    evident_trace *t2 = NULL; CHECK_ST(evident_session_get_trace(s, "dig", &t2), EVIDENT_STATUS_OK);
    data = NULL; CHECK_ST(evident_trace_data(t2, &data, &ls, &lb, &dt), EVIDENT_STATUS_OK);
    CHECK(dt == EVIDENT_DTYPE_I32 && ls == 4 && data && memcmp(data, iv, 16) == 0);
    evident_trace_free(t2);
    out = NULL; CHECK_ST(evident_session_verify(path, NULL, 0, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"ok\":true") && CONTAINS(out, "\"versions\":2"));
    evident_string_free(out);
    /* keyed load of a keyless file: refused */
    uint8_t key[32]; memset(key, 3, 32);
    evident_session *sk = (evident_session *)0x1;
    evident_status st = evident_session_load(path, key, 32, 0, &sk);
    CHECK(st != EVIDENT_STATUS_OK && sk == NULL);
    /* compact */
    out = NULL; CHECK_ST(evident_session_compact(path, NULL, 0, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"version\":2") && CONTAINS(out, "bytes_before"));
    evident_string_free(out);
    out = NULL; CHECK_ST(evident_session_versions_json(path, NULL, 0, &out), EVIDENT_STATUS_OK);
    CHECK(!CONTAINS(out, "\"name\":\"first\"") && CONTAINS(out, "compacted_from"));
    evident_string_free(out);
    /* the trace of the pre-compaction session stays readable (file replaced by rename) */
    data = NULL; CHECK_ST(evident_trace_data(t, &data, &ls, &lb, &dt), EVIDENT_STATUS_OK);
    CHECK(data && memcmp(data, samples, 800) == 0);
    evident_trace_free(t);
    evident_session_free(s);

    /* damaged file */
    long flen; char *f = ct_read_file(path, &flen);
    f[flen / 2] ^= 0x40; ct_write_file(path, f, flen); free(f);
    s = (evident_session *)0x1;
    st = evident_session_load(path, NULL, 0, 0, &s);
    CHECK(st == EVIDENT_STATUS_MALFORMED || st == EVIDENT_STATUS_CORRUPT || st == EVIDENT_STATUS_OK);
    if (st != EVIDENT_STATUS_OK) { CHECK(s == NULL); CHECK(CONTAINS(evident_last_error(), "s.evs")); }
    else evident_session_free(s);
    out = NULL; CHECK_ST(evident_session_verify(path, NULL, 0, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"ok\":false"));
    evident_string_free(out);
    out = (char *)0x1; CHECK_ST(evident_session_verify(ct_path("none.evs"), NULL, 0, &out), EVIDENT_STATUS_IO);
    CHECK(out == NULL);

    /* keyed session file + audit log */
    evident_session *s3 = NULL; evident_session_new("", &s3);
    evident_log *log = NULL; CHECK_ST(evident_log_open(ct_path("audit.jsonl"), NULL, &log), EVIDENT_STATUS_OK);
    CHECK_ST(evident_save_options_set_key(so, key, 10), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_ST(evident_save_options_set_key(so, key, 32), EVIDENT_STATUS_OK);
    CHECK_ST(evident_save_options_set_audit_log(so, log), EVIDENT_STATUS_OK);
    const char *kp = ct_path("k.evs");
    CHECK_ST(evident_session_save(s3, kp, so, NULL), EVIDENT_STATUS_OK);
    evident_head h; evident_log_head(log, &h); CHECK(h.seq == 1);
    evident_session *s4 = (evident_session *)0x1;
    st = evident_session_load(kp, NULL, 0, 0, &s4);
    CHECK(st != EVIDENT_STATUS_OK && s4 == NULL);
    s4 = NULL; CHECK_ST(evident_session_load(kp, key, 32, 0, &s4), EVIDENT_STATUS_OK);
    evident_session_free(s4);
    evident_session_free(s3);
    evident_save_options_free(so);
    evident_log_free(log);

    /* dtype helpers */
    uint32_t d = 99;
    CHECK_ST(evident_dtype_from_name("Float32", &d), EVIDENT_STATUS_OK); CHECK(d == EVIDENT_DTYPE_F32);
    d = 99; CHECK_ST(evident_dtype_from_name("complex", &d), EVIDENT_STATUS_INVALID_ARGUMENT); CHECK(d == 0);
    CHECK(strcmp(evident_dtype_name(EVIDENT_DTYPE_BIT), "bit") == 0 && evident_dtype_name(77) == NULL);
    uint64_t nb = 9;
    CHECK(evident_dtype_byte_len(EVIDENT_DTYPE_BIT, 9, &nb) && nb == 2);
    CHECK(evident_dtype_byte_len(EVIDENT_DTYPE_U16, 5, &nb) && nb == 10);
    CHECK(!evident_dtype_byte_len(77, 5, &nb) && nb == 0);
    CHECK(!evident_dtype_byte_len(EVIDENT_DTYPE_F64, UINT64_MAX / 2, &nb) && nb == 0);
}

static void test_checkpoints(void) {
    char *skey = NULL, *vkey = NULL;
    CHECK_ST(evident_checkpoint_keygen("test-log", 0, &skey, &vkey), EVIDENT_STATUS_OK);
    CHECK(skey && strncmp(skey, "PRIVATE+KEY+", 12) == 0 && vkey && CONTAINS(vkey, "test-log"));
    const char *p = ct_path("cp.jsonl");
    evident_log *log = NULL; CHECK_ST(evident_log_open(p, NULL, &log), EVIDENT_STATUS_OK);
    evident_event ev = {0};
    for (int i = 0; i < 5; i++) evident_log_append(log, &ev, NULL);
    evident_log_close(log); evident_log_free(log);
    char *cp = NULL;
    CHECK_ST(evident_checkpoint_create(p, skey, NULL, &cp), EVIDENT_STATUS_OK);
    CHECK(cp != NULL && strlen(cp) > 0);
    char *rep = NULL;
    CHECK_ST(evident_checkpoint_verify(p, cp, vkey, NULL, &rep), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(rep, "\"valid\":true") && CONTAINS(rep, "\"outcome\":\"match\""));
    if (!CONTAINS(rep, "\"valid\":true")) fprintf(stderr, "  report: %s\n", rep);
    evident_string_free(rep);
    char *list = NULL; CHECK_ST(evident_checkpoint_list(p, &list), EVIDENT_STATUS_OK);
    CHECK(list && list[0] == '[' && CONTAINS(list, "\"size\":6"))   /* tree size counts the genesis (spec/checkpoints.md) */;
    evident_string_free(list);
    /* a wrong public key: OK status, invalid report */
    char *sk2 = NULL, *vk2 = NULL; evident_checkpoint_keygen("test-log", 0, &sk2, &vk2);
    rep = NULL; CHECK_ST(evident_checkpoint_verify(p, cp, vk2, NULL, &rep), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(rep, "\"valid\":false") && CONTAINS(rep, "bad_signature"));
    evident_string_free(rep);
    /* inclusion proof */
    char *proof = NULL; CHECK_ST(evident_checkpoint_prove(p, 3, cp, &proof), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(proof, "c2sp.org/tlog-proof@v1"));
    int32_t valid = -1; char *reason = (char *)0x1;
    CHECK_ST(evident_checkpoint_verify_proof(proof, vkey, NULL, &valid, &reason), EVIDENT_STATUS_OK);
    CHECK(valid == 1 && reason == NULL);
    valid = -1; reason = NULL;
    CHECK_ST(evident_checkpoint_verify_proof(proof, vk2, NULL, &valid, &reason), EVIDENT_STATUS_OK);
    CHECK(valid == 0 && reason != NULL && strlen(reason) > 0);
    evident_string_free(reason);
    valid = -1; reason = NULL;
    CHECK_ST(evident_checkpoint_verify_proof_origin(proof, vkey, NULL, "some/other-origin", &valid, &reason), EVIDENT_STATUS_OK);
    CHECK(valid == 0 && CONTAINS(reason, "some/other-origin"));
    evident_string_free(reason);
    /* grow the log, new checkpoint, consistency */
    log = NULL; evident_log_open(p, NULL, &log);
    char origin[200]; snprintf(origin, sizeof origin, "evident/%s", evident_log_log_id(log));
    for (int i = 0; i < 3; i++) evident_log_append(log, &ev, NULL);
    evident_log_free(log);
    valid = -1; reason = NULL;
    CHECK_ST(evident_checkpoint_verify_proof_origin(proof, vkey, NULL, origin, &valid, &reason), EVIDENT_STATUS_OK);
    CHECK(valid == 1 && reason == NULL);
    evident_string_free(reason);
    char *cp2 = NULL; CHECK_ST(evident_checkpoint_create(p, skey, NULL, &cp2), EVIDENT_STATUS_OK);
    char *cons = NULL; CHECK_ST(evident_checkpoint_prove_consistency(p, cp, cp2, &cons), EVIDENT_STATUS_OK);
    valid = -1; reason = NULL;
    CHECK_ST(evident_checkpoint_verify_proof(cons, vkey, cp, &valid, &reason), EVIDENT_STATUS_OK);
    CHECK(valid == 1);
    if (valid != 1) fprintf(stderr, "  consistency reason: %s\n", reason ? reason : "(null)");
    evident_string_free(reason);
    /* old checkpoint against grown log still verifies (prefix) */
    rep = NULL; CHECK_ST(evident_checkpoint_verify(p, cp, vkey, NULL, &rep), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(rep, "\"valid\":true"));
    evident_string_free(rep);
    /* bad checkpoint text: an error, out NULL */
    rep = (char *)0x1;
    evident_status st = evident_checkpoint_verify(p, "garbage", vkey, NULL, &rep);
    CHECK((st != EVIDENT_STATUS_OK && rep == NULL) || (st == EVIDENT_STATUS_OK && CONTAINS(rep, "\"valid\":false")));
    if (st == EVIDENT_STATUS_OK) evident_string_free(rep);
    rep = (char *)0x1;
    CHECK_ST(evident_checkpoint_verify(ct_path("missing.jsonl"), cp, vkey, NULL, &rep), EVIDENT_STATUS_IO);
    CHECK(rep == NULL);

    /* automatic checkpoints on open */
    const char *pa = ct_path("auto.jsonl");
    evident_open_options *o = NULL; evident_open_options_new(&o);
    CHECK_ST(evident_open_options_set_checkpoint(o, skey, 2, 0, 1), EVIDENT_STATUS_OK);
    log = NULL; CHECK_ST(evident_log_open(pa, o, &log), EVIDENT_STATUS_OK);
    for (int i = 0; i < 5; i++) CHECK_ST(evident_log_append(log, &ev, NULL), EVIDENT_STATUS_OK);
    char *cerr = (char *)0x1; CHECK_ST(evident_log_checkpoint_error(log, &cerr), EVIDENT_STATUS_OK);
    CHECK(cerr == NULL);
    CHECK_ST(evident_log_close(log), EVIDENT_STATUS_OK);
    evident_log_free(log);
    list = NULL; CHECK_ST(evident_checkpoint_list(pa, &list), EVIDENT_STATUS_OK);
    /* every 2 entries (checkpoint records count as records) and at close */
    CHECK(CONTAINS(list, "\"size\":3") && CONTAINS(list, "\"size\":8"));
    evident_string_free(list);
    rep = NULL; CHECK_ST(evident_checkpoint_verify_in_log(pa, vkey, NULL, &rep), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(rep, "\"valid\":true"));
    if (!CONTAINS(rep, "\"valid\":true")) fprintf(stderr, "  in-log: %s\n", rep);
    evident_string_free(rep);
    /* a log without sidecar: [] */
    list = NULL; CHECK_ST(evident_checkpoint_list(ct_path("nosidecar.jsonl"), &list), EVIDENT_STATUS_OK);
    CHECK(list && strcmp(list, "[]") == 0);
    evident_string_free(list);
    /* shared mode is refused with automatic checkpoints */
    evident_open_options_set_lock_mode(o, EVIDENT_LOCK_MODE_SHARED);
    log = (evident_log *)0x1;
    st = evident_log_open(ct_path("auto2.jsonl"), o, &log);
    CHECK(st != EVIDENT_STATUS_OK && log == NULL);
    evident_open_options_free(o);

    evident_string_free(cons); evident_string_free(cp2); evident_string_free(proof);
    evident_string_free(cp); evident_string_free(skey); evident_string_free(vkey);
    evident_string_free(sk2); evident_string_free(vk2);
}

/* Mapped samples are aligned for their type; sample damage is found by evident_trace_verify;
 * const session functions may run on several threads at once. */
#include <pthread.h>
static evident_session *shared_s;
static void *session_reader(void *arg) {
    (void)arg; long bad = 0;
    for (int i = 0; i < 50; i++) {
        char *out = NULL;
        if (evident_session_info_json(shared_s, &out) != EVIDENT_STATUS_OK || !CONTAINS(out, "\"traces\":5")) bad++;
        evident_string_free(out);
        evident_trace *t = NULL; const void *d = NULL; uint64_t ls = 0;
        if (evident_session_get_trace(shared_s, "f64", &t) != EVIDENT_STATUS_OK) { bad++; continue; }
        if (evident_trace_data(t, &d, &ls, NULL, NULL) != EVIDENT_STATUS_OK || ls != 5 || ((const double *)d)[4] != 5.0) bad++;
        evident_trace_free(t);
        out = NULL;
        if (evident_session_to_json(shared_s, &out) != EVIDENT_STATUS_OK) bad++;
        evident_string_free(out);
    }
    return (void *)bad;
}
static void test_mapped(void) {
    evident_session *s = NULL; evident_session_new("al", &s);
    uint8_t u[3] = {1, 2, 3}; double d[5] = {1, 2, 3, 4, 5}; int16_t i16[3] = {1, -2, 3};
    uint64_t u64[2] = {7, 8}; uint8_t bits[1] = {0x5};
    evident_session_add_trace(s, "u8", EVIDENT_DTYPE_U8, u, 3, NULL);
    evident_session_add_trace(s, "f64", EVIDENT_DTYPE_F64, d, 5, NULL);
    evident_session_add_trace(s, "bits", EVIDENT_DTYPE_BIT, bits, 3, NULL);
    evident_session_add_trace(s, "i16", EVIDENT_DTYPE_I16, i16, 3, NULL);
    evident_session_add_trace(s, "u64", EVIDENT_DTYPE_U64, u64, 2, NULL);
    const char *path = ct_path("m.evs");
    char *out = NULL; CHECK_ST(evident_session_save(s, path, NULL, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"traces_written\":5") && CONTAINS(out, "\"sample_bytes_written\":66"));
    evident_string_free(out);
    out = NULL; CHECK_ST(evident_session_info_json(s, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"version\":1") && CONTAINS(out, "m.evs"));
    evident_string_free(out);
    out = NULL; CHECK_ST(evident_session_save(s, NULL, NULL, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"traces_reused\":5") && CONTAINS(out, "\"traces_written\":0") && CONTAINS(out, "\"version\":2"));
    evident_string_free(out);
    evident_session_free(s);
    s = NULL; CHECK_ST(evident_session_load(path, NULL, 0, 0, &s), EVIDENT_STATUS_OK);
    const char *names[] = {"u8", "f64", "bits", "i16", "u64"};
    const size_t align[] = {1, 8, 1, 2, 8};
    const void *expect[] = {u, d, bits, i16, u64};
    const uint64_t nbytes[] = {3, 40, 1, 6, 16};
    for (int i = 0; i < 5; i++) {
        evident_trace *t = NULL; CHECK_ST(evident_session_get_trace(s, names[i], &t), EVIDENT_STATUS_OK);
        const void *p = NULL; uint64_t lb = 0;
        CHECK_ST(evident_trace_data(t, &p, NULL, &lb, NULL), EVIDENT_STATUS_OK);
        CHECK(p && ((uintptr_t)p % align[i]) == 0 && lb == nbytes[i] && memcmp(p, expect[i], lb) == 0);
        out = NULL; evident_trace_info_json(t, &out);
        CHECK(CONTAINS(out, "\"mapped\":true") && CONTAINS(out, "\"compressed\":false"));
        evident_string_free(out);
        CHECK_ST(evident_trace_verify(t), EVIDENT_STATUS_OK);
        evident_trace_free(t);
    }
    double m = 0;
    CHECK_ST(evident_session_measure(s, "nope", 1, &m), EVIDENT_STATUS_NOT_FOUND);
    shared_s = s;
    pthread_t th[3];
    for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, session_reader, NULL);
    long bad = 0;
    for (int i = 0; i < 3; i++) { void *rv; pthread_join(th[i], &rv); bad += (long)rv; }
    CHECK(bad == 0);
    evident_session_free(s);
    /* flip one bit of the stored 5.0: loading is lazy, evident_trace_verify finds it */
    long n; unsigned char *b = (unsigned char *)ct_read_file(path, &n);
    double five = 5.0; long at = -1;
    for (long i = 0; i + 8 <= n; i++) if (memcmp(b + i, &five, 8) == 0) { b[i + 7] ^= 1; at = i; break; }
    CHECK(at > 0);
    ct_write_file(path, (char *)b, n); free(b);
    s = NULL; CHECK_ST(evident_session_load(path, NULL, 0, 0, &s), EVIDENT_STATUS_OK);
    evident_trace *t = NULL; evident_session_get_trace(s, "f64", &t);
    CHECK_ST(evident_trace_verify(t), EVIDENT_STATUS_CORRUPT);
    CHECK(CONTAINS(evident_last_error(), "m.evs") && CONTAINS(evident_last_error(), "offset"));
    evident_trace_free(t); evident_session_free(s);
    out = NULL; CHECK_ST(evident_session_verify(path, NULL, 0, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"ok\":false") && CONTAINS(out, "problem_details"));
    evident_string_free(out);
}

/* Checkpoint options and outcomes named in the header. */
static void test_checkpoint_outcomes(void) {
    char *skey = NULL, *vkey = NULL;
    CHECK_ST(evident_checkpoint_keygen("lg", 0, &skey, &vkey), EVIDENT_STATUS_OK);
    char *bad = (char *)0x1, *bad2 = (char *)0x1;
    const char *p = ct_path("cpo.jsonl");
    evident_log *log = NULL; evident_log_open(p, NULL, &log);
    evident_event ev = {0};
    for (int i = 0; i < 6; i++) evident_log_append(log, &ev, NULL);
    char origin[200]; snprintf(origin, sizeof origin, "evident/%s", evident_log_log_id(log));
    evident_log_free(log);
    /* a public key is not a private key */
    CHECK_ST(evident_checkpoint_create(p, vkey, NULL, &bad), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(bad == NULL);
    char *cp3 = NULL;
    CHECK_ST(evident_checkpoint_create(p, skey, "{\"size\":3,\"no_sidecar\":true}", &cp3), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(cp3, origin) && CONTAINS(cp3, "\n3\n"));
    char *list = NULL; evident_checkpoint_list(p, &list);
    CHECK(list && strcmp(list, "[]") == 0);   /* no_sidecar */
    evident_string_free(list);
    bad = (char *)0x1;
    CHECK_ST(evident_checkpoint_create(p, skey, "{\"size\":99}", &bad), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(bad == NULL && CONTAINS(evident_last_error(), "cpo.jsonl"));
    char *cp = NULL; CHECK_ST(evident_checkpoint_create(p, skey, NULL, &cp), EVIDENT_STATUS_OK);
    bad2 = (char *)0x1;
    CHECK_ST(evident_checkpoint_prove(p, 99, cp, &bad2), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(bad2 == NULL);
    /* truncated log */
    long n; char *b = ct_read_file(p, &n); long cut = n - 2; while (b[cut - 1] != '\n') cut--;
    ct_write_file(ct_path("cpo_trunc.jsonl"), b, cut); free(b);
    char *rep = NULL;
    CHECK_ST(evident_checkpoint_verify(ct_path("cpo_trunc.jsonl"), cp, vkey, NULL, &rep), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(rep, "\"valid\":false") && CONTAINS(rep, "\"outcome\":\"truncated\""));
    evident_string_free(rep);
    /* witnesses required but none */
    rep = NULL;
    CHECK_ST(evident_checkpoint_verify(p, cp, vkey, "{\"witness_keys\":[],\"min_witnesses\":1}", &rep), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(rep, "\"outcome\":\"too_few_witnesses\""));
    evident_string_free(rep);
    /* a checkpoint of another origin: refused by default, accepted with that origin */
    char *cpx = NULL;
    CHECK_ST(evident_checkpoint_create(p, skey, "{\"origin\":\"example.com/x\",\"no_sidecar\":true}", &cpx), EVIDENT_STATUS_OK);
    rep = NULL; CHECK_ST(evident_checkpoint_verify(p, cpx, vkey, NULL, &rep), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(rep, "\"valid\":false") && CONTAINS(rep, "example.com/x"));
    evident_string_free(rep);
    rep = NULL; CHECK_ST(evident_checkpoint_verify(p, cpx, vkey, "{\"origin\":\"example.com/x\"}", &rep), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(rep, "\"valid\":true"));
    evident_string_free(rep);
    /* a proof that is not one: OK, invalid, with a reason */
    int32_t valid = -1; char *reason = NULL;
    CHECK_ST(evident_checkpoint_verify_proof("garbage", vkey, NULL, &valid, &reason), EVIDENT_STATUS_OK);
    CHECK(valid == 0 && reason && strlen(reason) > 0);
    evident_string_free(reason);
    /* automatic checkpoints refuse a key that is not a private key */
    evident_open_options *o = NULL; evident_open_options_new(&o);
    CHECK_ST(evident_open_options_set_checkpoint(o, "garbage", 1, 0, 0), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_ST(evident_open_options_set_checkpoint(o, NULL, 0, 0, 0), EVIDENT_STATUS_OK);
    evident_open_options_free(o);
    evident_string_free(cp3); evident_string_free(cp); evident_string_free(cpx);
    evident_string_free(skey); evident_string_free(vkey);
}

/* One save options object with an audit log, used by concurrent saves of different sessions;
 * a failing audit append fails the save after the file was written. */
static evident_save_options *shared_so;
static void *saver(void *arg) {
    long id = (long)arg, bad = 0;
    evident_session *s = NULL; evident_session_new("t", &s);
    char name[64]; snprintf(name, sizeof name, "conc%ld.evs", id);
    char path[512]; snprintf(path, sizeof path, "%s", ct_path(name));
    for (int i = 0; i < 10; i++) {
        char h[64]; snprintf(h, sizeof h, "{\"operation\":\"op%d\"}", i);
        evident_session_record_history(s, h);
        if (evident_session_save(s, path, shared_so, NULL) != EVIDENT_STATUS_OK) bad++;
    }
    evident_session_free(s);
    return (void *)bad;
}
static void test_concurrent_saves(void) {
    const char *ap = ct_path("saves_audit.jsonl");
    evident_log *log = NULL; CHECK_ST(evident_log_open(ap, NULL, &log), EVIDENT_STATUS_OK);
    evident_save_options_new(&shared_so);
    evident_save_options_set_sync(shared_so, false);
    evident_save_options_set_audit_log(shared_so, log);
    pthread_t t[3];
    for (long i = 0; i < 3; i++) pthread_create(&t[i], NULL, saver, (void *)i);
    long bad = 0;
    for (int i = 0; i < 3; i++) { void *rv; pthread_join(t[i], &rv); bad += (long)rv; }
    CHECK(bad == 0);
    evident_head h; evident_log_head(log, &h); CHECK(h.seq == 30);
    /* closed audit log: CLOSED, but the version is written */
    evident_log_close(log);
    evident_session *s = NULL; evident_session_new("c", &s);
    const char *sp = ct_path("closed_audit.evs");
    char *out = (char *)0x1;
    CHECK_ST(evident_session_save(s, sp, shared_so, &out), EVIDENT_STATUS_CLOSED);
    CHECK(out == NULL);
    out = NULL; CHECK_ST(evident_session_versions_json(sp, NULL, 0, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "\"version\":1"));
    evident_string_free(out);
    evident_session_free(s);
    evident_save_options_free(shared_so);
    evident_log_free(log);
    /* the audit entries name the version and the commit */
    char *lines = NULL; size_t len, cnt;
    CHECK_ST(evident_read_last(ap, 1, &lines, &len, &cnt), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(lines, "\"commit\"") && CONTAINS(lines, "\"version\":10"));
    evident_string_free(lines);
    evident_verify_result *r = NULL; CHECK_ST(evident_verify(ap, NULL, &r), EVIDENT_STATUS_OK);
    CHECK(evident_verify_result_valid(r) && evident_verify_result_entries(r) == 30);
    evident_verify_result_free(r);
}

/* Measurements. The header names an `evident_measure` type but declares no such enum
 * (reported): the numbers come from evident_measure_from_name. */
#include <math.h>
static void test_measure(void) {
    uint32_t freq = 0, amp = 0, bad = 9;
    CHECK_ST(evident_measure_from_name("frequency", &freq), EVIDENT_STATUS_OK);
    CHECK_ST(evident_measure_from_name("amplitude", &amp), EVIDENT_STATUS_OK);
    CHECK_ST(evident_measure_from_name("loudness", &bad), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(bad == 0 && CONTAINS(evident_last_error(), "frequency"));
    CHECK(freq == EVIDENT_MEASURE_FREQUENCY);
    enum { N = 1000 };
    static double x[N];
    for (int i = 0; i < N; i++) x[i] = 2.0 * sin(2 * 3.14159265358979 * 50.0 * i / 1000.0);
    double v = 0;
    CHECK_ST(evident_measure_samples(x, N, 1000.0, freq, &v), EVIDENT_STATUS_OK);
    CHECK(fabs(v - 50.0) < 0.5);
    CHECK_ST(evident_measure_samples(x, N, 1000.0, amp, &v), EVIDENT_STATUS_OK);
    CHECK(fabs(v - 4.0) < 0.2);
    CHECK_ST(evident_measure_samples(NULL, 0, 1000.0, freq, &v), EVIDENT_STATUS_OK);
    CHECK(isnan(v));   /* too short */
    CHECK_ST(evident_measure_samples(x, N, 1000.0, 99, &v), EVIDENT_STATUS_INVALID_ARGUMENT);
    evident_session *s = NULL; evident_session_new("m", &s);
    CHECK_ST(evident_session_add_trace(s, "sine", EVIDENT_DTYPE_F64, x, N, "{\"sample_rate\":1000}"), EVIDENT_STATUS_OK);
    CHECK_ST(evident_session_measure(s, "sine", freq, &v), EVIDENT_STATUS_OK);
    CHECK(fabs(v - 50.0) < 0.5);
    char *out = NULL; CHECK_ST(evident_session_history_json(s, &out), EVIDENT_STATUS_OK);
    CHECK(CONTAINS(out, "measure_frequency") && CONTAINS(out, "sine"));
    evident_string_free(out);
    evident_trace *t = NULL; evident_session_get_trace(s, "sine", &t);
    CHECK_ST(evident_trace_measure(t, freq, &v), EVIDENT_STATUS_OK);
    CHECK(fabs(v - 50.0) < 0.5);
    evident_trace_free(t);
    evident_session_free(s);
}

int main(void) {
    ct_mkdir();
    test_session();
    test_checkpoints();
    test_mapped();
    test_checkpoint_outcomes();
    test_concurrent_saves();
    test_measure();
    ct_rmdir();
    return ct_done("t_session");
}
