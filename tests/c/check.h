/*
 * Checks shared by the C test programs: CHECK(cond), EXPECT(call, status)
 * and the helpers below print the failed check with the library's last
 * error and exit 1. Include after evident.h, stdio.h, stdlib.h, string.h.
 */
#ifndef EVIDENT_TEST_CHECK_H
#define EVIDENT_TEST_CHECK_H

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

#define CHECK_STR(got, want)                                                         \
    do {                                                                             \
        const char *got_ = (got);                                                    \
        if (got_ == NULL || strcmp(got_, (want)) != 0) {                             \
            char msg_[512];                                                          \
            snprintf(msg_, sizeof msg_, "got \"%s\", want \"%s\"",                  \
                     got_ ? got_ : "(null)", (want));                                \
            fail(__FILE__, __LINE__, #got " == " #want, msg_);                       \
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

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    CHECK(p != NULL);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

#endif
