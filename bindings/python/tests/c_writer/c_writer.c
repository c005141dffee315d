/* c_writer PATH N: appends N entries (event type "C") to the log at PATH
 * through the C ABI in shared lock mode, and prints the final head as
 * SEQ:HASH. Used by tests/test_interop.py for the cross-language chain. */
#include <stdio.h>
#include <stdlib.h>

#include "evident.h"

static int fail(const char *what) {
    fprintf(stderr, "c_writer: %s: %s\n", what, evident_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: c_writer PATH N\n");
        return 2;
    }
    int n = atoi(argv[2]);
    evident_open_options *opts = NULL;
    if (evident_open_options_new(&opts) != EVIDENT_STATUS_OK) return fail("options");
    if (evident_open_options_set_lock_mode(opts, EVIDENT_LOCK_MODE_SHARED) != EVIDENT_STATUS_OK)
        return fail("lock mode");
    if (evident_open_options_set_lock_timeout_ms(opts, 60000) != EVIDENT_STATUS_OK)
        return fail("lock timeout");
    evident_log *log = NULL;
    if (evident_log_open(argv[1], opts, &log) != EVIDENT_STATUS_OK) return fail("open");
    evident_open_options_free(opts);
    evident_head head = {0};
    for (int i = 0; i < n; i++) {
        char action[32];
        snprintf(action, sizeof action, "c:%d", i);
        evident_event ev = {0};
        ev.event_type = "C";
        ev.action = action;
        ev.source = "c";
        ev.details_json = "{\"lang\":\"c\"}";
        if (evident_log_append(log, &ev, &head) != EVIDENT_STATUS_OK) return fail("append");
    }
    if (evident_log_close(log) != EVIDENT_STATUS_OK) return fail("close");
    evident_log_free(log);
    printf("%llu:%s\n", (unsigned long long)head.seq, head.hash);
    return 0;
}
