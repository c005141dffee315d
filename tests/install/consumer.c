/* A C program built against an INSTALLED evident (scripts/test-install.sh):
 * pkg-config or CMake finds the header and the library.
 *
 * It also defines zstd's ZSTD_versionNumber, as an application with its own
 * libzstd would: linking the static libevident.a must not clash with it
 * (libevident exports only evident_* symbols), and the program's own
 * definition must be the one it calls.
 *
 * Usage: consumer DIR   (a writable directory). Prints "ok N" and exits 0.
 */
#include <evident.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned ZSTD_versionNumber(void) { return 4242u; }

#define CHECK(st)                                                                   \
    do {                                                                            \
        evident_status s_ = (st);                                                   \
        if (s_ != EVIDENT_STATUS_OK) {                                              \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__,                  \
                    evident_status_name(s_), evident_last_error());                 \
            return 1;                                                               \
        }                                                                           \
    } while (0)

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    if (ZSTD_versionNumber() != 4242u) {
        fprintf(stderr, "ZSTD_versionNumber is not the program's own\n");
        return 1;
    }
    uint32_t abi = evident_abi_version();
    if ((abi >> 16) != EVIDENT_ABI_VERSION_MAJOR || abi < EVIDENT_ABI_VERSION) {
        fprintf(stderr, "ABI %u.%u, header %u.%u\n", abi >> 16, abi & 0xffff,
                EVIDENT_ABI_VERSION_MAJOR, EVIDENT_ABI_VERSION_MINOR);
        return 1;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/c.jsonl", argv[1]);
    evident_open_options *o = NULL;
    evident_log *log = NULL;
    evident_head head;
    CHECK(evident_open_options_new(&o));
    CHECK(evident_open_options_set_durability(o, EVIDENT_DURABILITY_GROUP_COMMIT));
    CHECK(evident_log_open(path, o, &log));
    for (int i = 0; i < 3; i++)
        CHECK(evident_log_append_json(
            log, "{\"event_type\":\"ACTION_EXECUTED\",\"action\":\"measure\"}", &head));
    CHECK(evident_log_close(log));
    evident_log_free(log);
    evident_open_options_free(o);

    evident_verify_result *r = NULL;
    CHECK(evident_verify(path, NULL, &r));
    int ok = evident_verify_result_valid(r) && evident_verify_result_entries(r) == 3 &&
             strcmp(evident_verify_result_head_hash(r), head.hash) == 0;
    evident_verify_result_free(r);
    if (!ok) {
        fprintf(stderr, "verify disagrees with the writer\n");
        return 1;
    }
    printf("ok %llu %s\n", (unsigned long long)head.seq, evident_version());
    return 0;
}
