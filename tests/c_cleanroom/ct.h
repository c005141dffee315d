/* Tiny test harness for the clean-room C ABI tests (written from include/evident.h only). */
#ifndef CT_H
#define CT_H
#define _GNU_SOURCE
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdbool.h>
#include <unistd.h>
#include <sys/stat.h>
#include "evident.h"

static int ct_fail = 0, ct_checks = 0;
#define CHECK(c) do { ct_checks++; if (!(c)) { ct_fail++; \
    fprintf(stderr, "FAIL %s:%d: %s  [last_error=%s]\n", __FILE__, __LINE__, #c, evident_last_error()); } } while (0)
#define CHECK_ST(call, want) do { evident_status _s = (call); ct_checks++; if (_s != (want)) { ct_fail++; \
    fprintf(stderr, "FAIL %s:%d: %s -> %s (%u), want %s  [last_error=%s]\n", __FILE__, __LINE__, #call, \
        evident_status_name(_s), (unsigned)_s, #want, evident_last_error()); } } while (0)
#define CONTAINS(hay, needle) ((hay) != NULL && strstr((hay), (needle)) != NULL)

static char ct_dir[256];
static inline void ct_mkdir(void) {
    snprintf(ct_dir, sizeof ct_dir, "/tmp/evident_ct_XXXXXX");
    if (!mkdtemp(ct_dir)) { perror("mkdtemp"); exit(2); }
}
static char *ct_path(const char *name) {  /* static ring of buffers */
    static char bufs[16][512]; static int i = 0;
    char *b = bufs[i++ % 16];
    snprintf(b, 512, "%s/%s", ct_dir, name);
    return b;
}
static inline void ct_rmdir(void) {
    char cmd[300]; snprintf(cmd, sizeof cmd, "rm -rf '%s'", ct_dir);
    if (system(cmd) != 0) fprintf(stderr, "rm failed\n");
}
static inline long ct_file_size(const char *p) { struct stat st; return stat(p, &st) == 0 ? (long)st.st_size : -1; }
static char *ct_read_file(const char *p, long *len) {
    FILE *f = fopen(p, "rb"); if (!f) return NULL;
    fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
    char *b = malloc(n + 1); if (fread(b, 1, n, f) != (size_t)n) { fclose(f); free(b); return NULL; }
    b[n] = 0; fclose(f); if (len) *len = n; return b;
}
static inline void ct_write_file(const char *p, const char *data, long n) {
    FILE *f = fopen(p, "wb"); fwrite(data, 1, n, f); fclose(f);
}
static inline bool ct_is_lower_hex(const char *s, size_t n) {
    if (!s || strlen(s) != n) return false;
    for (size_t i = 0; i < n; i++) if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}
static inline int ct_done(const char *name) {
    printf("%s: %d checks, %d failures\n", name, ct_checks, ct_fail);
    return ct_fail ? 1 : 0;
}
#endif
