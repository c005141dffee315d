/*
 * Single properties of a session and of one annotation layer
 * (evident_session_info_field_json, evident_session_layer_json,
 * evident_session_layer_names_json): each value as JSON, an unknown field
 * and a missing layer refused, nothing leaked (run under valgrind).
 *
 * Usage: session_props WORKDIR
 */
#include "evident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* The field `field` of session `s`, compared with `want`. */
static void field_is(const evident_session *s, const char *field, const char *want) {
    char *out = (char *)1;
    OK(evident_session_info_field_json(s, field, &out));
    CHECK_STR(out, want);
    evident_string_free(out);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    char *path = join(argv[1], "props.evs");
    evident_session *s = NULL;
    OK(evident_session_new("bench \"7\"", &s));

    field_is(s, "name", "\"bench \\\"7\\\"\"");
    field_is(s, "path", "null");
    field_is(s, "version", "null");
    field_is(s, "commit", "null");
    field_is(s, "layers", "0");
    field_is(s, "history_limit", "0");

    char *out = (char *)1;
    EXPECT(evident_session_info_field_json(s, "colour", &out), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(out == NULL);
    CHECK(strstr(evident_last_error(), "history_limit") != NULL);
    EXPECT(evident_session_info_field_json(s, NULL, &out), EVIDENT_STATUS_NULL_ARGUMENT);

    out = NULL;
    OK(evident_session_layer_names_json(s, &out));
    CHECK_STR(out, "[]");
    evident_string_free(out);

    OK(evident_session_set_layer(s, "{\"name\":\"uart\",\"color\":\"red\",\"description\":\"d\"}"));
    OK(evident_session_annotate(s, "uart", "{\"text\":\"a\",\"time\":1}"));
    OK(evident_session_annotate(s, "uart", "{\"text\":\"b\",\"time\":2}"));
    OK(evident_session_set_layer(s, "{\"name\":\"spi\",\"locked\":true,\"visible\":false}"));
    field_is(s, "layers", "2");
    field_is(s, "annotations", "2");

    out = NULL;
    OK(evident_session_layer_names_json(s, &out));
    CHECK_STR(out, "[\"uart\",\"spi\"]");
    evident_string_free(out);

    out = NULL;
    OK(evident_session_layer_json(s, "uart", &out));
    CHECK_STR(out, "{\"annotations\":2,\"color\":\"red\",\"description\":\"d\",\"locked\":false,"
                   "\"name\":\"uart\",\"visible\":true}");
    evident_string_free(out);
    out = NULL;
    OK(evident_session_layer_json(s, "spi", &out));
    CHECK_STR(out, "{\"annotations\":0,\"description\":\"\",\"locked\":true,\"name\":\"spi\","
                   "\"visible\":false}");
    evident_string_free(out);

    out = (char *)1;
    EXPECT(evident_session_layer_json(s, "i2c", &out), EVIDENT_STATUS_NOT_FOUND);
    CHECK(out == NULL);
    CHECK(strstr(evident_last_error(), "i2c") != NULL);

    /* After a save: the file, version and commit. */
    OK(evident_session_save(s, path, NULL, NULL));
    field_is(s, "version", "1");
    out = NULL;
    OK(evident_session_info_field_json(s, "path", &out));
    CHECK(strstr(out, "props.evs") != NULL);
    evident_string_free(out);
    out = NULL;
    OK(evident_session_info_field_json(s, "commit", &out));
    CHECK(out[0] == '"' && strlen(out) == 66);
    evident_string_free(out);

    evident_session_free(s);
    free(path);
    printf("all checks passed\n");
    return 0;
}
