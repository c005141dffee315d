/*
 * Automatic checkpoints from C: evident_open_options_set_checkpoint signs
 * checkpoints every N entries and at close into <log>.checkpoints and as
 * checkpoint records in the log; each verifies with the public key alone,
 * and a log cut after its last checkpoint is reported truncated.
 *
 * Usage: checkpoint_auto WORKDIR   (an empty, writable directory)
 * Prints "all checks passed" and exits 0, or names the failed check and
 * exits 1.
 */
#include "evident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static char *slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    *len = ftell(f);
    CHECK(fseek(f, 0, SEEK_SET) == 0);
    char *buf = malloc((size_t)*len + 1);
    CHECK(buf != NULL);
    CHECK(fread(buf, 1, (size_t)*len, f) == (size_t)*len);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

/* Splits the sidecar into notes; returns how many, their sizes in sizes[]
 * and a copy of the last one in *last. */
static int notes(const char *text, unsigned long long *sizes, int max, char **last) {
    const char *sig = "\n\n\xe2\x80\x94 ";
    const char *p = text;
    int n = 0;
    while (*p) {
        const char *s = strstr(p, sig);
        if (!s) {
            break;
        }
        const char *end = strchr(s + 2, '\n');
        CHECK(end != NULL);
        end++;
        const char *size_line = strchr(p, '\n');
        CHECK(size_line != NULL);
        CHECK(n < max);
        sizes[n++] = strtoull(size_line + 1, NULL, 10);
        free(*last);
        *last = malloc((size_t)(end - p) + 1);
        CHECK(*last != NULL);
        memcpy(*last, p, (size_t)(end - p));
        (*last)[end - p] = 0;
        p = end;
    }
    return n;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    char *path = join(argv[1], "auto.jsonl");
    char *sidecar = join(argv[1], "auto.jsonl.checkpoints");
    char *skey = NULL, *vkey = NULL;
    OK(evident_checkpoint_keygen("example.com/c-test", 0, &skey, &vkey));

    evident_open_options *opts = NULL;
    OK(evident_open_options_new(&opts));
    OK(evident_open_options_set_durability(opts, EVIDENT_DURABILITY_BUFFERED));
    EXPECT(evident_open_options_set_checkpoint(opts, "not a key", 5, 0, 1),
           EVIDENT_STATUS_INVALID_ARGUMENT);
    OK(evident_open_options_set_checkpoint(opts, skey, 5, 0, 1));
    evident_log *log = NULL;
    OK(evident_log_open(path, opts, &log));
    evident_open_options_free(opts);
    for (int i = 0; i < 12; i++) {
        evident_event ev;
        memset(&ev, 0, sizeof ev);
        ev.event_type = "E";
        ev.action = "act";
        OK(evident_log_append(log, &ev, NULL));
    }
    char *err = (char *)1;
    OK(evident_log_checkpoint_error(log, &err));
    CHECK(err == NULL);
    OK(evident_log_close(log));
    evident_log_free(log);

    /* Every 5 entries, each followed by its checkpoint record, and at
     * close: sizes 6, 12 and 15. */
    long len = 0;
    char *text = slurp(sidecar, &len);
    unsigned long long sizes[8];
    char *last = NULL;
    int n = notes(text, sizes, 8, &last);
    CHECK(n == 3);
    CHECK(sizes[0] == 6 && sizes[1] == 12 && sizes[2] == 15);

    /* Only the public key is needed. */
    char *report = NULL;
    OK(evident_checkpoint_verify(path, last, vkey, NULL, &report));
    CHECK(strstr(report, "\"outcome\":\"match\"") != NULL);
    CHECK(strstr(report, "\"valid\":true") != NULL);
    evident_string_free(report);
    OK(evident_checkpoint_verify_in_log(path, vkey, NULL, &report));
    CHECK(strstr(report, "\"valid\":true") != NULL);
    CHECK(strstr(report, "\"checkpoints\":3") != NULL);
    evident_string_free(report);

    /* Delete the last three records: the last checkpoint catches it. */
    char *log_text = slurp(path, &len);
    long cut = len;
    for (int k = 0; k < 3; k++) {
        cut--;
        while (cut > 0 && log_text[cut - 1] != '\n') {
            cut--;
        }
    }
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(log_text, 1, (size_t)cut, f) == (size_t)cut);
    fclose(f);
    OK(evident_checkpoint_verify(path, last, vkey, NULL, &report));
    CHECK(strstr(report, "\"outcome\":\"truncated\"") != NULL);
    CHECK(strstr(report, "\"valid\":false") != NULL);
    evident_string_free(report);

    free(log_text);
    free(last);
    free(text);
    evident_string_free(skey);
    evident_string_free(vkey);
    free(path);
    free(sidecar);
    printf("all checks passed\n");
    return 0;
}
