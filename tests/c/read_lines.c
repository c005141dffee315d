/*
 * Reads as record lines from C: evident_query_next_lines (batches of JSONL
 * record lines, a damaged record reported between batches) and
 * evident_read_last (the last N entries in one call), buffers freed with
 * evident_string_free.
 *
 * Usage: read_lines WORKDIR   (an empty, writable directory)
 * Prints "all checks passed" and exits 0, or names the failed check and
 * exits 1.
 */
#include "evident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Number of '\n'-terminated lines in `s` of `len` bytes; checks the shape. */
static size_t count_lines(const char *s, size_t len) {
    size_t n = 0;
    CHECK(len > 0 && s[len - 1] == '\n' && strlen(s) == len);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n') {
            n++;
        }
    }
    return n;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    char *path = join(argv[1], "lines.jsonl");
    evident_log *log = NULL;
    OK(evident_log_open(path, NULL, &log));
    for (int i = 0; i < 10; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"event_type\":\"T\",\"action\":\"a%d\",\"details\":{\"i\":%d}}",
                 i, i);
        OK(evident_log_append_json(log, json, NULL));
    }
    evident_log_free(log);

    /* Every entry in batches of 4: 4, 4, 2, then the end. */
    evident_query_iter *it = NULL;
    OK(evident_query_run(path, NULL, &it));
    size_t want[3] = {4, 4, 2};
    for (int b = 0; b < 3; b++) {
        char *lines = NULL;
        size_t len = 0, count = 0;
        OK(evident_query_next_lines(it, 4, &lines, &len, &count));
        CHECK(count == want[b]);
        CHECK(count_lines(lines, len) == count);
        if (b == 0) {
            CHECK(strncmp(lines, "{\"v\":1,\"seq\":1,", 15) == 0);
            CHECK(strstr(lines, "\"action\":\"a0\"") != NULL);
        }
        evident_string_free(lines);
    }
    char *none = (char *)1;
    size_t len = 9, count = 9;
    EXPECT(evident_query_next_lines(it, 4, &none, &len, &count), EVIDENT_STATUS_END);
    CHECK(none == NULL && len == 0 && count == 0);
    EXPECT(evident_query_next_lines(it, 4, &none, &len, &count), EVIDENT_STATUS_END);
    evident_query_iter_free(it);

    /* The last 3, newest first, in one call. */
    char *last = NULL;
    OK(evident_read_last(path, 3, &last, &len, &count));
    CHECK(count == 3 && count_lines(last, len) == 3);
    CHECK(strncmp(last, "{\"v\":1,\"seq\":10,", 16) == 0);
    CHECK(strstr(last, "\"seq\":8,") != NULL && strstr(last, "\"seq\":7,") == NULL);
    evident_string_free(last);
    EXPECT(evident_read_last(path, 0, &last, &len, &count), EVIDENT_STATUS_END);
    CHECK(last == NULL && count == 0);

    /* A damaged record (line 6, entry 5): the batch stops before it, the
     * next call reports it, the one after goes on. */
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    char *buf = malloc(1 << 16);
    CHECK(buf != NULL);
    size_t n = fread(buf, 1, 1 << 16, f);
    fclose(f);
    int line = 1;
    for (size_t i = 0; i < n && line < 6; i++) {
        if (buf[i] == '\n' && ++line == 6) {
            memcpy(buf + i + 1, "garbage", 7);
        }
    }
    f = fopen(path, "wb");
    CHECK(f != NULL && fwrite(buf, 1, n, f) == n);
    fclose(f);
    free(buf);
    OK(evident_query_run(path, NULL, &it));
    char *lines = NULL;
    OK(evident_query_next_lines(it, 100, &lines, &len, &count));
    CHECK(count == 4);
    evident_string_free(lines);
    EXPECT(evident_query_next_lines(it, 100, &lines, &len, &count), EVIDENT_STATUS_MALFORMED);
    CHECK(lines == NULL && strstr(evident_last_error(), "lines.jsonl") != NULL);
    OK(evident_query_next_lines(it, 100, &lines, &len, &count));
    CHECK(count == 5 && strncmp(lines, "{\"v\":1,\"seq\":6,", 15) == 0);
    evident_string_free(lines);
    evident_query_iter_free(it);
    EXPECT(evident_read_last(path, 10, &last, &len, &count), EVIDENT_STATUS_MALFORMED);
    CHECK(last == NULL && count == 0);
    OK(evident_read_last(path, 5, &last, &len, &count));
    CHECK(count == 5);
    evident_string_free(last);

    /* NULL arguments and frees. */
    EXPECT(evident_read_last(NULL, 1, &last, &len, &count), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_query_next_lines(NULL, 1, &lines, &len, &count),
           EVIDENT_STATUS_NULL_ARGUMENT);
    evident_string_free(NULL);
    free(path);
    printf("all checks passed\n");
    return 0;
}
