/*
 * The session C ABI from C: build a session (traces of every sample type,
 * annotation layers, measurements, history, metadata), save it (plain,
 * compressed, keyed, with an audit entry), load it back and compare every
 * field, read traces after their session is freed, list versions, load an
 * old version, verify, compact, a save torn at the end, damaged files and
 * the error paths. Every object is freed (the test suite runs this under
 * valgrind).
 *
 * Usage: session_test WORKDIR   (an empty, writable directory)
 * Prints "all checks passed" and exits 0, or names the failed check and
 * exits 1.
 */
#include "evident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *file, int line, const char *what, const char *detail) {
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    if (detail && *detail) {
        fprintf(stderr, "  %s\n", detail);
    }
    fprintf(stderr, "  last error: %s\n", evident_last_error());
    exit(1);
}

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fail(__FILE__, __LINE__, #cond, NULL);                                   \
        }                                                                            \
    } while (0)

#define EXPECT(expr, want)                                                           \
    do {                                                                             \
        evident_status st_ = (expr);                                                 \
        if (st_ != (evident_status)(want)) {                                         \
            char msg_[256];                                                          \
            snprintf(msg_, sizeof msg_, "returned %s, expected %s",                  \
                     evident_status_name(st_), evident_status_name(want));           \
            fail(__FILE__, __LINE__, #expr, msg_);                                   \
        }                                                                            \
    } while (0)

#define OK(expr) EXPECT(expr, EVIDENT_STATUS_OK)

/* `haystack` contains `needle` (and is not NULL). */
#define CHECK_HAS(haystack, needle)                                                  \
    do {                                                                             \
        const char *h_ = (haystack);                                                 \
        if (h_ == NULL || strstr(h_, (needle)) == NULL) {                            \
            char msg_[1200];                                                         \
            snprintf(msg_, sizeof msg_, "\"%.800s\" does not contain \"%s\"",        \
                     h_ ? h_ : "(null)", (needle));                                  \
            fail(__FILE__, __LINE__, #haystack " contains " #needle, msg_);          \
        }                                                                            \
    } while (0)

#define CHECK_LAST_ERROR_HAS(needle) CHECK_HAS(evident_last_error(), needle)

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    CHECK(p != NULL);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

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
    CHECK(len == 0 || fwrite(buf, 1, len, f) == len);
    CHECK(fclose(f) == 0);
}

/* A JSON-returning call: checks OK and returns the string it wrote to *out
   (free it). `out` is read after the call. */
static char *json_of(evident_status st, char **out, const char *what) {
    if (st != EVIDENT_STATUS_OK || *out == NULL) {
        fail(__FILE__, __LINE__, what, evident_status_name(st));
    }
    return *out;
}

static size_t count(const char *haystack, const char *needle) {
    size_t n = 0;
    for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* Session info as JSON; the caller frees it. */
static char *info(const evident_session *s) {
    char *out = NULL;
    return json_of(evident_session_info_json(s, &out), &out, "info_json");
}

/* Sample data shared by the build and the comparisons. */
#define N_F64 1000
#define N_BIT 21
static double f64s[N_F64];
static const int16_t i16s[5] = {-32768, -1, 0, 1, 32767};
static const bool bools[4] = {true, false, false, true};
static const uint8_t bits[3] = {0xA5, 0x0F, 0x15}; /* 21 samples, packed LSB first */
static const uint64_t u64s[2] = {0, UINT64_MAX};

/* Checks a trace's samples and description. */
static void check_trace(const evident_trace *t, uint32_t want_dtype, const void *want,
                        uint64_t want_len, uint64_t want_bytes, const char *want_dtype_name) {
    const void *data = NULL;
    uint64_t n = 0, nb = 0;
    uint32_t dt = 0;
    OK(evident_trace_data(t, &data, &n, &nb, &dt));
    CHECK(data != NULL);
    CHECK(dt == want_dtype);
    CHECK(n == want_len);
    CHECK(nb == want_bytes);
    CHECK(nb == 0 || memcmp(data, want, (size_t)nb) == 0);
    char *ti = NULL;
    ti = json_of(evident_trace_info_json(t, &ti), &ti, "trace_info_json");
    CHECK_HAS(ti, want_dtype_name);
    evident_string_free(ti);
}

static void build(evident_session *s) {
    for (int i = 0; i < N_F64; i++) {
        f64s[i] = (i % 37) * 0.125 - 2.0 + i * 1e-6;
    }
    OK(evident_session_add_trace(s, "CH1", EVIDENT_DTYPE_F64, f64s, N_F64,
                                 "{\"sample_rate\":1e6,\"start_time\":-0.5,\"units\":\"V\","
                                 "\"metadata\":{\"probe\":\"10x\",\"coupling\":\"DC\"}}"));
    OK(evident_session_add_trace(s, "I16", EVIDENT_DTYPE_I16, i16s, 5, NULL));
    OK(evident_session_add_trace(s, "B", EVIDENT_DTYPE_BOOL, bools, 4, "{}"));
    OK(evident_session_add_trace(s, "D0", EVIDENT_DTYPE_BIT, bits, N_BIT,
                                 "{\"sample_rate\":25e6}"));
    OK(evident_session_add_trace(s, "U64", EVIDENT_DTYPE_U64, u64s, 2, NULL));
    OK(evident_session_add_trace(s, "EMPTY", EVIDENT_DTYPE_F32, NULL, 0, NULL));

    OK(evident_session_set_layer(s, "{\"name\":\"faults\",\"color\":\"#ff0000\","
                                    "\"description\":\"glitches found\"}"));
    OK(evident_session_annotate(s, "faults",
                                "{\"text\":\"glitch\",\"time\":0.25,\"color\":\"red\","
                                "\"metadata\":{\"severity\":3}}"));
    OK(evident_session_annotate(s, "faults",
                                "{\"text\":\"burst\",\"time_range\":[1.0,2.0],"
                                "\"amplitude_range\":[-1,1],\"style\":\"dashed\"}"));
    OK(evident_session_annotate(s, "notes", "{\"text\":\"free text\"}"));
    OK(evident_session_annotate(s, "notes",
                                "{\"text\":\"threshold\",\"amplitude\":1.5,\"visible\":false,"
                                "\"created_at\":\"2024-05-01T12:00:00.000001Z\"}"));
    OK(evident_session_annotate(s, "notes",
                                "{\"text\":\"trigger\",\"type\":\"vertical\",\"time\":3.0}"));

    OK(evident_session_record_measurement(s, "{\"name\":\"rise_time\",\"value\":2.5e-9,"
                                             "\"unit\":\"s\",\"trace_name\":\"CH1\","
                                             "\"metadata\":{\"method\":\"10-90\"}}"));
    OK(evident_session_record_measurement(s, "{\"name\":\"verdict\",\"value\":{\"pass\":true}}"));

    OK(evident_session_record_history(s, "{\"operation\":\"load\",\"parameters\":{\"file\":"
                                         "\"a.csv\"},\"result\":[1,2],\"duration_ms\":12.5}"));
    OK(evident_session_record_history(s, "{\"operation\":\"fft\",\"success\":false,"
                                         "\"error_message\":\"too short\"}"));
    OK(evident_session_set_metadata_json(s, "{\"operator\":\"ana\",\"bench\":7}"));
}

static void check_contents(const evident_session *s, const char *name) {
    char *out = NULL;
    out = json_of(evident_session_trace_names_json(s, &out), &out, "trace_names_json");
    CHECK(strcmp(out, "[\"CH1\",\"I16\",\"B\",\"D0\",\"U64\",\"EMPTY\"]") == 0);
    evident_string_free(out);

    evident_trace *t = NULL;
    OK(evident_session_get_trace(s, "CH1", &t));
    check_trace(t, EVIDENT_DTYPE_F64, f64s, N_F64, N_F64 * 8, "\"dtype\":\"f64\"");
    out = NULL;
    out = json_of(evident_trace_info_json(t, &out), &out, "trace_info_json");
    CHECK_HAS(out, "\"name\":\"CH1\"");
    CHECK_HAS(out, "\"sample_rate\":1000000.0");
    CHECK_HAS(out, "\"start_time\":-0.5");
    CHECK_HAS(out, "\"units\":\"V\"");
    CHECK_HAS(out, "\"probe\":\"10x\"");
    evident_string_free(out);
    OK(evident_trace_verify(t));
    evident_trace_free(t);

    t = NULL;
    OK(evident_session_get_trace(s, "I16", &t));
    check_trace(t, EVIDENT_DTYPE_I16, i16s, 5, 10, "\"dtype\":\"i16\"");
    evident_trace_free(t);
    t = NULL;
    OK(evident_session_get_trace(s, "B", &t));
    check_trace(t, EVIDENT_DTYPE_BOOL, bools, 4, 4, "\"dtype\":\"bool\"");
    evident_trace_free(t);
    t = NULL;
    OK(evident_session_get_trace(s, "D0", &t));
    check_trace(t, EVIDENT_DTYPE_BIT, bits, N_BIT, 3, "\"sample_rate\":25000000.0");
    evident_trace_free(t);
    t = NULL;
    OK(evident_session_get_trace(s, "U64", &t));
    check_trace(t, EVIDENT_DTYPE_U64, u64s, 2, 16, "\"dtype\":\"u64\"");
    evident_trace_free(t);
    t = NULL;
    OK(evident_session_get_trace(s, "EMPTY", &t));
    check_trace(t, EVIDENT_DTYPE_F32, NULL, 0, 0, "\"len\":0");
    evident_trace_free(t);

    out = NULL;
    out = json_of(evident_session_layers_json(s, &out), &out, "layers_json");
    CHECK(count(out, "\"name\":") == 2);
    CHECK_HAS(out, "\"name\":\"faults\"");
    CHECK_HAS(out, "\"color\":\"#ff0000\"");
    CHECK_HAS(out, "\"description\":\"glitches found\"");
    CHECK_HAS(out, "\"type\":\"point\"");
    CHECK_HAS(out, "\"type\":\"region\"");
    CHECK_HAS(out, "\"type\":\"text\"");
    CHECK_HAS(out, "\"type\":\"horizontal\"");
    CHECK_HAS(out, "\"type\":\"vertical\"");
    CHECK_HAS(out, "\"style\":\"dashed\"");
    CHECK_HAS(out, "\"visible\":false");
    CHECK_HAS(out, "\"created_at\":\"2024-05-01T12:00:00.000001Z\"");
    CHECK_HAS(out, "\"severity\":3");
    evident_string_free(out);

    out = NULL;
    out = json_of(evident_session_measurements_json(s, &out), &out, "measurements_json");
    CHECK_HAS(out, "\"name\":\"rise_time\"");
    CHECK_HAS(out, "\"value\":2.5e-9");
    CHECK_HAS(out, "\"unit\":\"s\"");
    CHECK_HAS(out, "\"trace_name\":\"CH1\"");
    CHECK_HAS(out, "\"method\":\"10-90\"");
    CHECK_HAS(out, "\"value\":{\"pass\":true}");
    CHECK(count(out, "\"recorded_at\"") == 2);
    evident_string_free(out);

    out = NULL;
    out = json_of(evident_session_history_json(s, &out), &out, "history_json");
    CHECK_HAS(out, "\"operation\":\"load\"");
    CHECK_HAS(out, "\"file\":\"a.csv\"");
    CHECK_HAS(out, "\"result\":[1,2]");
    CHECK_HAS(out, "\"duration_ms\":12.5");
    CHECK_HAS(out, "\"success\":false");
    CHECK_HAS(out, "\"error_message\":\"too short\"");
    evident_string_free(out);

    out = NULL;
    out = json_of(evident_session_metadata_json(s, &out), &out, "metadata_json");
    CHECK_HAS(out, "\"operator\":\"ana\"");
    CHECK_HAS(out, "\"bench\":7");
    evident_string_free(out);

    char *i = info(s);
    char want[256];
    snprintf(want, sizeof want, "\"name\":\"%s\"", name);
    CHECK_HAS(i, want);
    CHECK_HAS(i, "\"traces\":6");
    CHECK_HAS(i, "\"layers\":2");
    CHECK_HAS(i, "\"annotations\":5");
    CHECK_HAS(i, "\"measurements\":2");
    CHECK_HAS(i, "\"history\":2");
    evident_string_free(i);

    out = NULL;
    out = json_of(evident_session_summary(s, &out), &out, "summary");
    CHECK_HAS(out, name);
    CHECK_HAS(out, "CH1");
    evident_string_free(out);

    out = NULL;
    out = json_of(evident_session_to_json(s, &out), &out, "to_json");
    CHECK_HAS(out, "\"traces\":[");
    CHECK_HAS(out, "\"rise_time\"");
    CHECK_HAS(out, "\"history_limit\"");
    evident_string_free(out);
}

static void error_paths(evident_session *s) {
    int16_t two[2] = {1, 2};
    bool bad_bool[2];
    memset(bad_bool, 2, sizeof bad_bool);

    /* NULL arguments: a status, never a crash. */
    evident_session *ns = (evident_session *)1;
    EXPECT(evident_session_new(NULL, &ns), EVIDENT_STATUS_NULL_ARGUMENT);
    CHECK(ns == NULL);
    EXPECT(evident_session_new("x", NULL), EVIDENT_STATUS_NULL_ARGUMENT);
    char *out = (char *)1;
    EXPECT(evident_session_info_json(NULL, &out), EVIDENT_STATUS_NULL_ARGUMENT);
    CHECK(out == NULL);
    EXPECT(evident_session_add_trace(NULL, "x", EVIDENT_DTYPE_I16, two, 2, NULL),
           EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_session_add_trace(s, "x", EVIDENT_DTYPE_I16, NULL, 2, NULL),
           EVIDENT_STATUS_NULL_ARGUMENT);
    CHECK_LAST_ERROR_HAS("`data`");
    EXPECT(evident_session_annotate(s, NULL, "{\"text\":\"a\"}"), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_trace_data(NULL, NULL, NULL, NULL, NULL), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_trace_verify(NULL), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_session_save(NULL, NULL, NULL, NULL), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_save_options_set_sync(NULL, true), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_session_verify(NULL, NULL, 0, &out), EVIDENT_STATUS_NULL_ARGUMENT);
    evident_session_free(NULL);
    evident_trace_free(NULL);
    evident_save_options_free(NULL);

    /* Not UTF-8. */
    EXPECT(evident_session_set_name(s, "ab\xff"), EVIDENT_STATUS_INVALID_UTF8);

    /* Bad samples. */
    EXPECT(evident_session_add_trace(s, "x", 99, two, 2, NULL), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("dtype");
    EXPECT(evident_session_add_trace(s, "x", EVIDENT_DTYPE_BOOL, bad_bool, 2, NULL),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    EXPECT(evident_session_add_trace(s, "", EVIDENT_DTYPE_I16, two, 2, NULL),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    EXPECT(evident_session_add_trace(s, "x", EVIDENT_DTYPE_F64, two, UINT64_MAX, NULL),
           EVIDENT_STATUS_INVALID_ARGUMENT);

    /* Bad JSON names the argument or the field. */
    EXPECT(evident_session_add_trace(s, "x", EVIDENT_DTYPE_I16, two, 2, "{\"sample_rate\":\"fast\"}"),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("sample_rate");
    EXPECT(evident_session_add_trace(s, "x", EVIDENT_DTYPE_I16, two, 2, "{\"sample_rate\":0}"),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    EXPECT(evident_session_add_trace(s, "x", EVIDENT_DTYPE_I16, two, 2, "{\"rate\":5}"),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("rate");
    EXPECT(evident_session_annotate(s, "faults", "{\"text\":\"a\",\"time\":\"noon\"}"),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("`time`");
    EXPECT(evident_session_annotate(s, "faults", "{\"time\":1}"), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("text");
    EXPECT(evident_session_annotate(s, "faults", "{\"text\":\"a\",\"type\":\"blob\"}"),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("type");
    EXPECT(evident_session_annotate(s, "faults", "{\"text\":\"a\",\"time_range\":[2,1]}"),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    EXPECT(evident_session_annotate(s, "faults", "[1,2]"), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("annotation_json");
    EXPECT(evident_session_annotate(s, "faults", "{\"text\":"), EVIDENT_STATUS_INVALID_ARGUMENT);
    EXPECT(evident_session_record_measurement(s, "{\"value\":1}"), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("name");
    EXPECT(evident_session_record_measurement(s, "{\"name\":\"m\",\"recorded_at\":\"yesterday\"}"),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("recorded_at");
    EXPECT(evident_session_record_history(s, "{\"operation\":\"x\",\"success\":\"yes\"}"),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("success");
    EXPECT(evident_session_set_layer(s, "{\"name\":\"l\",\"annotations\":[]}"),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK_LAST_ERROR_HAS("annotations");
    EXPECT(evident_session_set_metadata_json(s, "[]"), EVIDENT_STATUS_INVALID_ARGUMENT);
    out = (char *)1;
    EXPECT(evident_session_annotations_json(s, NULL, 1, 2.0, 1.0, &out),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(out == NULL);
    EXPECT(evident_session_annotations_json(s, NULL, 1, strtod("nan", NULL), 1.0, &out),
           EVIDENT_STATUS_INVALID_ARGUMENT);

    /* Missing things. */
    evident_trace *t = (evident_trace *)1;
    EXPECT(evident_session_get_trace(s, "nope", &t), EVIDENT_STATUS_NOT_FOUND);
    CHECK(t == NULL);
    CHECK_LAST_ERROR_HAS("nope");
    EXPECT(evident_session_remove_trace(s, "nope"), EVIDENT_STATUS_NOT_FOUND);
    EXPECT(evident_session_clear_layer(s, "nope"), EVIDENT_STATUS_NOT_FOUND);
    EXPECT(evident_session_remove_layer(s, "nope"), EVIDENT_STATUS_NOT_FOUND);
    CHECK(strcmp(evident_status_name(EVIDENT_STATUS_NOT_FOUND), "EVIDENT_STATUS_NOT_FOUND") == 0);
    CHECK(strcmp(evident_status_name(EVIDENT_STATUS_LAYER_LOCKED), "EVIDENT_STATUS_LAYER_LOCKED") ==
          0);

    /* Nothing above changed the session. */
    char *i = info(s);
    CHECK_HAS(i, "\"traces\":6");
    CHECK_HAS(i, "\"annotations\":5");
    CHECK_HAS(i, "\"measurements\":2");
    CHECK_HAS(i, "\"history\":2");
    evident_string_free(i);

    /* Save options. */
    evident_save_options *o = NULL;
    OK(evident_save_options_new(&o));
    EXPECT(evident_save_options_set_compress(o, 99), EVIDENT_STATUS_INVALID_ARGUMENT);
    EXPECT(evident_save_options_set_key(o, (const uint8_t *)"short", 5),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    EXPECT(evident_save_options_set_key(o, NULL, 16), EVIDENT_STATUS_NULL_ARGUMENT);
    evident_save_options_free(o);
}

static void locked_layers(evident_session *s) {
    OK(evident_session_set_layer(s, "{\"name\":\"faults\",\"locked\":true}"));
    EXPECT(evident_session_annotate(s, "faults", "{\"text\":\"late\"}"), EVIDENT_STATUS_LAYER_LOCKED);
    CHECK_LAST_ERROR_HAS("faults");
    EXPECT(evident_session_clear_layer(s, "faults"), EVIDENT_STATUS_LAYER_LOCKED);
    EXPECT(evident_session_remove_layer(s, "faults"), EVIDENT_STATUS_LAYER_LOCKED);
    char *out = NULL;
    out = json_of(evident_session_layers_json(s, &out), &out, "layers_json");
    CHECK_HAS(out, "\"locked\":true");
    evident_string_free(out);
    OK(evident_session_set_layer(s, "{\"name\":\"faults\",\"locked\":false}"));

    /* Queries by layer and time range. */
    out = NULL;
    out = json_of(evident_session_annotations_json(s, "faults", 0, 0, 0, &out), &out,
                  "annotations_json");
    CHECK(count(out, "\"layer\":\"faults\"") == 2);
    CHECK(count(out, "\"layer\":") == 2);
    evident_string_free(out);
    out = NULL;
    out = json_of(evident_session_annotations_json(s, NULL, 1, 0.0, 0.5, &out), &out,
                  "annotations_json");
    CHECK(count(out, "\"layer\":") == 1);
    CHECK_HAS(out, "\"text\":\"glitch\"");
    evident_string_free(out);
    out = NULL;
    out = json_of(evident_session_annotations_json(s, NULL, 1, 1.5, 3.0, &out), &out,
                  "annotations_json");
    CHECK(count(out, "\"layer\":") == 2); /* burst (overlaps) and trigger (at 3.0) */
    CHECK_HAS(out, "\"text\":\"burst\"");
    CHECK_HAS(out, "\"text\":\"trigger\"");
    evident_string_free(out);
    out = NULL;
    out = json_of(evident_session_annotations_json(s, "missing", 0, 0, 0, &out), &out,
                  "annotations_json");
    CHECK(strcmp(out, "[]") == 0);
    evident_string_free(out);
}

/* evident_session_replace_annotation (ABI 1.14): the one read, found
 * where it is; a stale copy, a bad replacement and NULLs refused. */
static void replace_annotations(void) {
    evident_session *s = NULL;
    char *out = NULL;
    OK(evident_session_new("replace", &s));
    OK(evident_session_annotate(s, "L", "{\"text\":\"a\",\"time\":1,"
                                        "\"created_at\":\"2024-05-01T12:00:00Z\"}"));
    OK(evident_session_annotate(s, "L", "{\"text\":\"b\",\"time\":2,"
                                        "\"created_at\":\"2024-05-01T12:00:00Z\"}"));
    const char *b = "{\"text\":\"b\",\"time\":2,\"created_at\":\"2024-05-01T12:00:00Z\"}";
    OK(evident_session_replace_annotation(s, "L", 1, b, "{\"text\":\"b2\",\"time\":2}"));
    EXPECT(evident_session_replace_annotation(s, "L", 1, b, "{\"text\":\"b3\"}"),
           EVIDENT_STATUS_NOT_FOUND); /* b is b2 now */
    EXPECT(evident_session_replace_annotation(s, "M", 0, b, "{\"text\":\"x\"}"),
           EVIDENT_STATUS_NOT_FOUND);
    const char *a = "{\"text\":\"a\",\"time\":1,\"created_at\":\"2024-05-01T12:00:00Z\"}";
    EXPECT(evident_session_replace_annotation(s, "L", 0, a, "{\"text\":\"a\",\"time\":\"x\"}"),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    EXPECT(evident_session_replace_annotation(s, "L", 0, NULL, a), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_session_replace_annotation(NULL, "L", 0, a, a), EVIDENT_STATUS_NULL_ARGUMENT);
    OK(evident_session_set_layer(s, "{\"name\":\"L\",\"locked\":true}"));
    EXPECT(evident_session_replace_annotation(s, "L", 0, a, a), EVIDENT_STATUS_LAYER_LOCKED);
    OK(evident_session_set_layer(s, "{\"name\":\"L\",\"locked\":false}"));
    /* Index 5 is stale: the first annotation equal to `a` is replaced. */
    OK(evident_session_replace_annotation(s, "L", 5, a, "{\"text\":\"a2\",\"time\":1}"));
    out = json_of(evident_session_annotations_json(s, "L", 0, 0, 0, &out), &out,
                  "annotations_json");
    CHECK(count(out, "\"index\":") == 2);
    CHECK_HAS(out, "\"text\":\"a2\"");
    CHECK(strstr(out, "\"text\":\"b2\"") > strstr(out, "\"text\":\"a2\""));
    CHECK(strstr(out, "\"text\":\"a\"") == NULL);
    evident_string_free(out);
    evident_session_free(s);
}

static void check_history_limit(void) {
    evident_session *s = NULL;
    OK(evident_session_new("h", &s));
    char buf[64];
    for (int i = 0; i < 5; i++) {
        snprintf(buf, sizeof buf, "{\"operation\":\"op%d\"}", i);
        OK(evident_session_record_history(s, buf));
    }
    OK(evident_session_set_history_limit(s, 2));
    char *out = NULL;
    out = json_of(evident_session_history_json(s, &out), &out, "history_json");
    CHECK(count(out, "\"operation\"") == 2);
    CHECK_HAS(out, "op3");
    CHECK_HAS(out, "op4");
    evident_string_free(out);
    OK(evident_session_record_history(s, "{\"operation\":\"op5\"}"));
    out = NULL;
    out = json_of(evident_session_history_json(s, &out), &out, "history_json");
    CHECK(count(out, "\"operation\"") == 2);
    CHECK(strstr(out, "op3") == NULL);
    evident_string_free(out);
    char *i = info(s);
    CHECK_HAS(i, "\"history_limit\":2");
    CHECK_HAS(i, "\"history_auto_record\":true");
    evident_string_free(i);
    evident_session_free(s);
}

/* TraceKit's auto_record: set, reported by info, saved and loaded back. */
static void check_history_auto_record(const char *path) {
    evident_session *s = NULL;
    OK(evident_session_new("a", &s));
    EXPECT(evident_session_set_history_auto_record(NULL, false), EVIDENT_STATUS_NULL_ARGUMENT);
    OK(evident_session_set_history_auto_record(s, false));
    char *i = info(s);
    CHECK_HAS(i, "\"history_auto_record\":false");
    evident_string_free(i);
    OK(evident_session_save(s, path, NULL, NULL));
    evident_session_free(s);
    s = NULL;
    OK(evident_session_load(path, NULL, 0, 0, &s));
    i = info(s);
    CHECK_HAS(i, "\"history_auto_record\":false");
    evident_string_free(i);
    evident_session_free(s);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    char *path = join(argv[1], "bench.evs");
    char *keyed = join(argv[1], "keyed.evs");
    char *audit = join(argv[1], "audit.jsonl");
    char *torn = join(argv[1], "torn.evs");
    char *junk = join(argv[1], "junk.evs");
    char *missing = join(argv[1], "missing.evs");
    char *csv = join(argv[1], "scope.csv");
    char *missing_csv = join(argv[1], "missing.csv");
    static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";

    CHECK(evident_abi_version() >= EVIDENT_ABI_VERSION);

    /* ---- build in memory ---- */
    evident_session *s = NULL;
    OK(evident_session_new("", &s));
    OK(evident_session_set_name(s, "bench run 7"));
    build(s);
    check_contents(s, "bench run 7");
    error_paths(s);
    locked_layers(s);
    replace_annotations();
    check_history_limit();
    {
        char *ar = join(argv[1], "auto_record.evs");
        check_history_auto_record(ar);
        free(ar);
    }

    /* A trace object outlives its session and a replaced trace. */
    evident_trace *kept = NULL;
    OK(evident_session_get_trace(s, "I16", &kept));

    /* load_trace from CSV; remove it again. */
    write_file(csv, "1.5\n2.5\n-3\n", 11);
    char *used = (char *)1;
    OK(evident_session_load_trace(s, csv, NULL, &used));
    CHECK(strcmp(used, "scope") == 0);
    evident_string_free(used);
    OK(evident_session_load_trace(s, csv, "named", NULL));
    OK(evident_session_remove_trace(s, "scope"));
    OK(evident_session_remove_trace(s, "named"));
    used = (char *)1;
    EXPECT(evident_session_load_trace(s, missing_csv, NULL, &used), EVIDENT_STATUS_IO);
    CHECK(used == NULL);
    CHECK_LAST_ERROR_HAS("missing.csv");
    EXPECT(evident_session_load_trace(s, junk, NULL, NULL), EVIDENT_STATUS_INVALID_ARGUMENT);

    /* ---- save: no path yet ---- */
    EXPECT(evident_session_save(s, NULL, NULL, NULL), EVIDENT_STATUS_INVALID_ARGUMENT);

    /* ---- save version 1 (plain), with an audit entry ---- */
    evident_log *log = NULL;
    OK(evident_log_open(audit, NULL, &log));
    evident_save_options *o = NULL;
    OK(evident_save_options_new(&o));
    OK(evident_save_options_set_audit_log(o, log));
    OK(evident_save_options_set_lock_timeout_ms(o, 1000));
    /* The file made empty beforehand (mkstemp): refused, unless adopted. */
    {
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        fclose(f);
    }
    CHECK(evident_session_save(s, path, o, NULL) != EVIDENT_STATUS_OK);
    EXPECT(evident_save_options_set_adopt_empty(NULL, true), EVIDENT_STATUS_NULL_ARGUMENT);
    OK(evident_save_options_set_adopt_empty(o, true));
    char *save1 = NULL;
    OK(evident_session_save(s, path, o, &save1));
    CHECK_HAS(save1, "\"version\":1");
    CHECK_HAS(save1, "\"traces_written\":6");
    CHECK_HAS(save1, "\"commit\":\"");
    evident_head head;
    OK(evident_log_head(log, &head));
    CHECK(head.seq == 1);
    OK(evident_save_options_set_audit_log(o, NULL));

    /* ---- version 2: compressed, one more annotation, a replaced trace ---- */
    OK(evident_save_options_set_compress(o, 3));
    OK(evident_session_add_trace(s, "I16", EVIDENT_DTYPE_I16, i16s, 2, NULL));
    OK(evident_session_annotate(s, "notes", "{\"text\":\"v2\",\"time\":9}"));
    char *save2 = NULL;
    OK(evident_session_save(s, NULL, o, &save2));
    CHECK_HAS(save2, "\"version\":2");
    CHECK_HAS(save2, "\"traces_written\":1");
    CHECK_HAS(save2, "\"traces_reused\":5");
    evident_string_free(save1);
    evident_string_free(save2);
    evident_save_options_free(o);
    OK(evident_log_close(log));
    evident_log_free(log);
    char *i = info(s);
    CHECK_HAS(i, "\"version\":2");
    CHECK_HAS(i, "bench.evs");
    evident_string_free(i);
    evident_session_free(s);

    /* The kept trace still reads the old samples after its session is gone. */
    check_trace(kept, EVIDENT_DTYPE_I16, i16s, 5, 10, "\"mapped\":false");
    evident_trace_free(kept);

    /* ---- load the newest version ---- */
    OK(evident_session_load(path, NULL, 0, 0, &s));
    i = info(s);
    CHECK_HAS(i, "\"version\":2");
    CHECK_HAS(i, "\"annotations\":6");
    evident_string_free(i);
    evident_trace *t = NULL;
    OK(evident_session_get_trace(s, "I16", &t));
    check_trace(t, EVIDENT_DTYPE_I16, i16s, 2, 4, "\"compressed\":true");
    evident_trace_free(t);
    /* An uncompressed trace written by version 1 is mapped, not copied;
       it outlives the session. */
    OK(evident_session_get_trace(s, "CH1", &kept));
    evident_session_free(s);
    check_trace(kept, EVIDENT_DTYPE_F64, f64s, N_F64, N_F64 * 8, "\"mapped\":true");
    OK(evident_trace_verify(kept));
    evident_trace_free(kept);

    /* ---- load version 1: everything as built ---- */
    OK(evident_session_load(path, NULL, 0, 1, &s));
    check_contents(s, "bench run 7");
    evident_session_free(s);
    s = (evident_session *)1;
    EXPECT(evident_session_load(path, NULL, 0, 7, &s), EVIDENT_STATUS_NOT_FOUND);
    CHECK(s == NULL);

    /* ---- versions, verify ---- */
    char *out = NULL;
    out = json_of(evident_session_versions_json(path, NULL, 0, &out), &out, "versions_json");
    CHECK(count(out, "\"offset\":") == 2);
    CHECK_HAS(out, "\"version\":1");
    CHECK_HAS(out, "\"version\":2");
    CHECK_HAS(out, "\"compacted_from\":null");
    CHECK_HAS(out, "\"name\":\"bench run 7\"");
    evident_string_free(out);
    out = NULL;
    out = json_of(evident_session_verify(path, NULL, 0, &out), &out, "verify");
    CHECK_HAS(out, "\"ok\":true");
    evident_string_free(out);

    /* ---- a save torn at the end: the previous version loads ---- */
    size_t len = 0;
    char *bytes = read_file(path, &len);
    write_file(torn, bytes, len - 3);
    OK(evident_session_load(torn, NULL, 0, 0, &s));
    i = info(s);
    CHECK_HAS(i, "\"version\":1");
    evident_string_free(i);
    evident_session_free(s);
    out = NULL;
    out = json_of(evident_session_verify(torn, NULL, 0, &out), &out, "verify torn");
    CHECK_HAS(out, "\"torn_tail_at\":");
    CHECK(strstr(out, "\"torn_tail_at\":null") == NULL);
    evident_string_free(out);

    /* ---- damaged and missing files: clear errors ---- */
    write_file(junk, "this is not a session file at all", 33);
    s = (evident_session *)1;
    EXPECT(evident_session_load(junk, NULL, 0, 0, &s), EVIDENT_STATUS_MALFORMED);
    CHECK(s == NULL);
    CHECK_LAST_ERROR_HAS("junk.evs");
    EXPECT(evident_session_load(missing, NULL, 0, 0, &s), EVIDENT_STATUS_IO);
    CHECK_LAST_ERROR_HAS("missing.evs");
    bytes[len / 2] ^= 0x40; /* flip a bit in the middle */
    write_file(junk, bytes, len);
    out = NULL;
    out = json_of(evident_session_verify(junk, NULL, 0, &out), &out, "verify damaged");
    CHECK_HAS(out, "\"ok\":false");
    evident_string_free(out);
    free(bytes);

    /* ---- compact ---- */
    out = NULL;
    OK(evident_session_compact(path, NULL, 0, &out));
    CHECK_HAS(out, "\"version\":2");
    evident_string_free(out);
    out = NULL;
    out = json_of(evident_session_versions_json(path, NULL, 0, &out), &out, "versions_json");
    CHECK(count(out, "\"offset\":") == 1);
    CHECK_HAS(out, "\"compacted_from\":{");
    evident_string_free(out);
    OK(evident_session_load(path, NULL, 0, 0, &s));
    i = info(s);
    CHECK_HAS(i, "\"annotations\":6");
    evident_string_free(i);
    OK(evident_session_get_trace(s, "CH1", &t));
    check_trace(t, EVIDENT_DTYPE_F64, f64s, N_F64, N_F64 * 8, "\"dtype\":\"f64\"");
    evident_trace_free(t);
    evident_session_free(s);

    /* ---- keyed file ---- */
    OK(evident_session_new("keyed", &s));
    OK(evident_session_add_trace(s, "CH1", EVIDENT_DTYPE_F64, f64s, 8, NULL));
    OK(evident_save_options_new(&o));
    OK(evident_save_options_set_key(o, key, sizeof key));
    OK(evident_save_options_set_sync(o, false));
    OK(evident_save_options_set_include_traces(o, true));
    OK(evident_session_save(s, keyed, o, NULL));
    evident_save_options_free(o);
    evident_session_free(s);
    EXPECT(evident_session_load(keyed, NULL, 0, 0, &s), EVIDENT_STATUS_WRONG_KEY);
    EXPECT(evident_session_versions_json(keyed, NULL, 0, &out), EVIDENT_STATUS_WRONG_KEY);
    OK(evident_session_load(keyed, key, sizeof key, 0, &s));
    OK(evident_session_get_trace(s, "CH1", &t));
    check_trace(t, EVIDENT_DTYPE_F64, f64s, 8, 64, "\"len\":8");
    evident_trace_free(t);
    evident_session_free(s);

    free(path);
    free(keyed);
    free(audit);
    free(torn);
    free(junk);
    free(missing);
    free(csv);
    free(missing_csv);
    printf("all checks passed\n");
    return 0;
}
