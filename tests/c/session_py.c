/*
 * Session calls taking one JSON argument (src/ffi/session_py.rs):
 * evident_session_save_json (save options as JSON, a key, an audit log),
 * evident_session_load_trace_json (a capture loaded and recorded in the
 * history, failures too) and evident_session_put_layer_json (a whole layer
 * copied between sessions); bad arguments refused, nothing leaked (run
 * under valgrind).
 *
 * Usage: session_py WORKDIR
 */
#include "evident.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const uint8_t KEY[32] = "0123456789abcdef0123456789abcdef";

static char *json_of(evident_status (*fn)(const evident_session *, char **),
                     const evident_session *s) {
    char *out = NULL;
    OK(fn(s, &out));
    CHECK(out != NULL);
    return out;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    char *file = join(argv[1], "py.evs");
    char *csv = join(argv[1], "cap.csv");
    char *log_path = join(argv[1], "audit.jsonl");
    FILE *f = fopen(csv, "w");
    CHECK(f != NULL);
    fputs("t,v (V)\n0,1.5\n0.001,2.5\n", f);
    fclose(f);

    evident_session *s = NULL;
    OK(evident_session_new("py", &s));

    /* load_trace: recorded in the history, a failure too. */
    char *name = NULL;
    OK(evident_session_load_trace_json(s, csv, NULL, NULL, true, &name));
    CHECK_STR(name, "cap");
    evident_string_free(name);
    name = (char *)1;
    EXPECT(evident_session_load_trace_json(s, csv, "x", "{\"bogus\":1}", true, &name),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(name == NULL);
    OK(evident_session_load_trace_json(s, csv, "quiet", "{\"lazy\":true}", false, NULL));
    char *h = json_of(evident_session_history_json, s);
    CHECK(strstr(h, "\"result\":\"loaded 'cap'\"") != NULL);
    CHECK(strstr(h, "unknown loader option") != NULL);
    CHECK(strstr(h, "quiet") == NULL);
    evident_string_free(h);

    /* put_layer: a layer copied whole into another session. */
    OK(evident_session_set_layer(s, "{\"name\":\"uart\",\"color\":\"red\"}"));
    OK(evident_session_annotate(s, "uart", "{\"text\":\"a\",\"time\":1}"));
    OK(evident_session_set_layer(s, "{\"name\":\"uart\",\"locked\":true}"));
    char *layers = json_of(evident_session_layers_json, s);
    /* "[{...}]" -> "{...}" */
    layers[strlen(layers) - 1] = '\0';
    evident_session *copy = NULL;
    OK(evident_session_new("copy", &copy));
    OK(evident_session_put_layer_json(copy, layers + 1));
    char *copied = json_of(evident_session_layers_json, copy);
    CHECK(strncmp(copied + 1, layers + 1, strlen(layers + 1)) == 0);
    evident_string_free(copied);
    EXPECT(evident_session_put_layer_json(copy, layers + 1), EVIDENT_STATUS_LAYER_LOCKED);
    EXPECT(evident_session_put_layer_json(copy, "{\"name\":\"n\",\"colour\":\"red\"}"),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    EXPECT(evident_session_put_layer_json(copy, NULL), EVIDENT_STATUS_NULL_ARGUMENT);
    evident_string_free(layers);
    evident_session_free(copy);

    /* save_json: options, key and audit log in one call. */
    evident_log *log = NULL;
    OK(evident_log_open(log_path, NULL, &log));
    char *info = NULL;
    EXPECT(evident_session_save_json(s, file, KEY, sizeof KEY, "{\"compress\":\"yes\"}", log,
                                     &info),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(info == NULL);
    OK(evident_session_save_json(s, file, KEY, sizeof KEY,
                                 "{\"compress\":5,\"sync\":false,\"lock_timeout\":\"inf\"}", log,
                                 &info));
    CHECK(strstr(info, "\"version\":1") != NULL);
    evident_string_free(info);
    OK(evident_session_save_json(s, NULL, KEY, sizeof KEY, NULL, NULL, NULL));
    evident_head head;
    OK(evident_log_head(log, &head));
    CHECK(head.seq == 1); /* one audit entry: the save that named the log */
    evident_log_free(log);
    /* the wrong key: refused */
    EXPECT(evident_session_save_json(s, NULL, (const uint8_t *)"another key of 16+ bytes", 24,
                                     NULL, NULL, NULL),
           EVIDENT_STATUS_WRONG_KEY);

    evident_session_free(s);
    free(file);
    free(csv);
    free(log_path);
    printf("all checks passed\n");
    return 0;
}
