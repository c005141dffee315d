/*
 * Batch appends from C: evident_log_append_batch (an array of events) and
 * evident_log_append_jsonl (newline-separated JSON objects),
 * evident_log_append_json_array_no_null (a JSON array without null), heads out,
 * all-or-nothing on an invalid event, then verify.
 *
 * Usage: batch WORKDIR   (an empty, writable directory)
 * Prints "all checks passed" and exits 0, or names the failed check and
 * exits 1.
 */
#include "evident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    char *path = join(argv[1], "batch.jsonl");
    evident_open_options *opts = NULL;
    OK(evident_open_options_new(&opts));
    OK(evident_open_options_set_durability(opts, EVIDENT_DURABILITY_SYNC));
    evident_log *log = NULL;
    OK(evident_log_open(path, opts, &log));
    evident_open_options_free(opts);

    /* An array of events. */
    evident_event evs[3];
    memset(evs, 0, sizeof evs);
    evs[0].event_type = "A";
    evs[0].details_json = "{\"i\":0}";
    evs[1].event_type = "B";
    evs[1].details_json = "{\"z\": 1, \"a\": 2}";
    evs[2].event_type = "C";
    evident_head heads[3];
    OK(evident_log_append_batch(log, evs, 3, heads));
    CHECK(heads[0].seq == 1 && heads[1].seq == 2 && heads[2].seq == 3);
    CHECK(strlen(heads[2].hash) == 64);
    CHECK(strcmp(heads[0].hash, heads[1].hash) != 0);
    evident_head head;
    OK(evident_log_head(log, &head));
    CHECK_STR(head.hash, heads[2].hash);
    OK(evident_log_append_batch(log, NULL, 0, NULL));
    EXPECT(evident_log_append_batch(log, NULL, 2, NULL), EVIDENT_STATUS_NULL_ARGUMENT);

    /* One invalid event rejects the batch; nothing is written. */
    evs[1].details_json = "{oops";
    EXPECT(evident_log_append_batch(log, evs, 3, NULL), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(evident_last_error(), "event 1") != NULL);
    OK(evident_log_head(log, &head));
    CHECK(head.seq == 3);

    /* Newline-separated JSON objects; more entries than head slots. */
    const char *jsonl = "{\"event_type\":\"J1\",\"details\":{\"k\":1}}\n"
                        "\n"
                        "{\"event_type\":\"J2\"}\r\n"
                        "{\"event_type\":\"J3\",\"action\":\"x\"}";
    evident_head jh[2];
    size_t count = 99;
    OK(evident_log_append_jsonl(log, jsonl, strlen(jsonl), jh, 2, &count));
    CHECK(count == 3);
    CHECK(jh[0].seq == 4 && jh[1].seq == 5);
    OK(evident_log_head(log, &head));
    CHECK(head.seq == 6);
    const char *bad = "{\"event_type\":\"ok\"}\n{\"nope\":1}\n";
    EXPECT(evident_log_append_jsonl(log, bad, strlen(bad), NULL, 0, &count),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(count == 0);
    CHECK(strstr(evident_last_error(), "line 2") != NULL);
    OK(evident_log_head(log, &head));
    CHECK(head.seq == 6);

    /* A JSON array, refused whole when it holds a null (ABI 1.12); the word
     * inside a string is no null. */
    const char *with_null = "[{\"event_type\":\"A1\"},{\"event_type\":\"A2\",\"details\":{\"x\":null}}]";
    EXPECT(evident_log_append_json_array_no_null(log, with_null, strlen(with_null), NULL, 0, &count),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(count == 0);
    CHECK(strstr(evident_last_error(), "null") != NULL);
    OK(evident_log_head(log, &head));
    CHECK(head.seq == 6);
    const char *no_null = "[{\"event_type\":\"A1\",\"action\":\"null\"},{\"event_type\":\"A2\"}]";
    evident_head ah[2];
    OK(evident_log_append_json_array_no_null(log, no_null, strlen(no_null), ah, 2, &count));
    CHECK(count == 2);
    CHECK(ah[0].seq == 7 && ah[1].seq == 8);
    OK(evident_log_head(log, &head));
    CHECK(head.seq == 8);
    OK(evident_log_close(log));
    evident_log_free(log);

    evident_verify_result *res = NULL;
    OK(evident_verify(path, NULL, &res));
    CHECK(evident_verify_result_valid(res));
    CHECK(evident_verify_result_entries(res) == 8);
    evident_verify_result_free(res);
    free(path);
    printf("all checks passed\n");
    return 0;
}
