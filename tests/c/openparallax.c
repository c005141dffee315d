/*
 * Existing OpenParallax audit files from C (ABI 1.11):
 * evident_openparallax_detect, _verify, _read, _import, _migrate, on two
 * lines Go's encoding/json wrote (spec/vectors/openparallax/basic.jsonl).
 *
 * Usage: openparallax WORKDIR   (an empty, writable directory)
 * Prints "all checks passed" and exits 0, or names the failed check and
 * exits 1.
 */
#include "evident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const char *LINE1 =
    "{\"id\":\"6f1f0d3a-6b0e-4c55-9d3e-0a4f7a1d2b01\",\"event_type\":17,\"timestamp\":1711929600000,"
    "\"session_id\":\"sess-001\",\"previous_hash\":\"\",\"hash\":"
    "\"2a6f8f3a69e100c5d8eb0ad5bec8499d7d167ce9e64528fcdf7bd96d21432c7c\",\"otr\":false,"
    "\"source\":\"engine\"}\n";
static const char *LINE2 =
    "{\"id\":\"6f1f0d3a-6b0e-4c55-9d3e-0a4f7a1d2b02\",\"event_type\":1,\"timestamp\":1711929600123,"
    "\"session_id\":\"sess-001\",\"action_type\":\"run_command\",\"details_json\":"
    "\"{\\\"command\\\":\\\"ls -la\\\",\\\"working_dir\\\":\\\"/workspace\\\"}\",\"previous_hash\":"
    "\"2a6f8f3a69e100c5d8eb0ad5bec8499d7d167ce9e64528fcdf7bd96d21432c7c\",\"hash\":"
    "\"2bc5252a0b0e634211dec96fcad440312282097202bdad6371fc54e3ccd491ad\",\"otr\":false,"
    "\"source\":\"pipeline\"}\n";

static void write_file(const char *path, const char *a, const char *b) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fputs(a, f) >= 0 && fputs(b, f) >= 0);
    CHECK(fclose(f) == 0);
}

static void contains(const char *text, const char *want) {
    if (text == NULL || strstr(text, want) == NULL) {
        fail(__FILE__, __LINE__, want, text ? text : "(null)");
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    char *path = join(argv[1], "audit.jsonl");
    write_file(path, LINE1, LINE2);

    int32_t is = 0;
    OK(evident_openparallax_detect(path, &is));
    CHECK(is == 1);

    char *out = NULL;
    OK(evident_openparallax_verify(path, &out));
    contains(out, "\"valid\":true");
    contains(out, "\"entries\":2");
    contains(out, "\"last_hash\":\"2bc5252a0b0e634211dec96fcad440312282097202bdad6371fc54e3ccd491ad\"");
    evident_string_free(out);

    OK(evident_openparallax_read(path, "{\"limit\":1}", &out));
    contains(out, "\"id\":\"6f1f0d3a-6b0e-4c55-9d3e-0a4f7a1d2b02\"");
    CHECK(strstr(out, "2b01") == NULL);
    evident_string_free(out);
    EXPECT(evident_openparallax_read(path, "{\"limit\":-1}", &out), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(out == NULL);

    /* Tampered: the second line's session changed. */
    char *bad = join(argv[1], "bad.jsonl");
    size_t n2 = strlen(LINE2) + 1;
    char *line2 = malloc(n2);
    CHECK(line2 != NULL);
    memcpy(line2, LINE2, n2);
    char *at = strstr(strstr(line2, "sess-001"), "1");
    *at = '9';
    write_file(bad, LINE1, line2);
    OK(evident_openparallax_verify(bad, &out));
    contains(out, "\"valid\":false");
    contains(out, "\"line\":2");
    contains(out, "\"kind\":\"hash_mismatch\"");
    evident_string_free(out);
    char *dst = join(argv[1], "imported.jsonl");
    EXPECT(evident_openparallax_import(bad, dst, NULL, &out), EVIDENT_STATUS_CORRUPT);
    contains(evident_last_error(), "line 2");
    CHECK(fopen(dst, "rb") == NULL);

    OK(evident_openparallax_import(path, dst, "{\"framing\":\"binary\"}", &out));
    contains(out, "\"entries\":2");
    contains(out, "\"head_seq\":3");
    evident_string_free(out);
    evident_verify_result *vr = NULL;
    OK(evident_verify(dst, NULL, &vr));
    CHECK(evident_verify_result_valid(vr));
    evident_verify_result_free(vr);

    OK(evident_openparallax_migrate(path, NULL, &out));
    contains(out, "\"legacy\":");
    evident_string_free(out);
    OK(evident_openparallax_detect(path, &is));
    CHECK(is == 0);
    OK(evident_openparallax_migrate(path, NULL, &out));
    CHECK_STR(out, "null");
    evident_string_free(out);

    free(line2);
    free(bad);
    free(dst);
    free(path);
    printf("all checks passed\n");
    return 0;
}
