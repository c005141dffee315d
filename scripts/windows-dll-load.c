/*
 * Loads the Windows wheel's evident.dll the way CPython's ctypes loads a
 * library on Windows (ctypes.CDLL with a full path, winmode=None:
 * LoadLibraryExW with LOAD_LIBRARY_SEARCH_DEFAULT_DIRS |
 * LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR, so its dependencies are looked up only
 * in its own directory and the system's, never on PATH), resolves every
 * function of abi/symbols.txt with GetProcAddress, then uses it: creates a
 * log, appends three entries, closes it, verifies it (valid, 3 entries,
 * head seq 3), changes one byte of an entry and verifies again (invalid).
 * Built with mingw and run under Wine by scripts/cross-check.sh
 * windows_wheel (not linked against the DLL: it is loaded at run time).
 *
 * Usage: windows-dll-load DLL SYMBOLS WORKDIR
 * Prints what it checked and "all checks passed", exit 0; or names the
 * failed check, exit 1.
 */
#include "evident.h"

#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...)                                                                            \
    do {                                                                                   \
        fprintf(stderr, "windows-dll-load: " __VA_ARGS__);                                 \
        fprintf(stderr, "\n");                                                             \
        exit(1);                                                                           \
    } while (0)

static HMODULE dll;

static FARPROC sym(const char *name) {
    FARPROC p = GetProcAddress(dll, name);
    if (p == NULL) FAIL("GetProcAddress(%s) failed: error %lu", name, GetLastError());
    return p;
}

/* A function of the DLL through a pointer of the header's prototype. */
#define FN(name) ((__typeof__(&name))(void (*)(void))sym(#name))

static void expect_ok(evident_status st, const char *what) {
    if (st != EVIDENT_STATUS_OK)
        FAIL("%s: %s (%s)", what, FN(evident_status_name)(st),
             FN(evident_last_error)() ? FN(evident_last_error)() : "no message");
}

/* Verifies PATH; returns whether it is valid, with entries and head seq. */
static int verify(const char *path, uint64_t *entries, uint64_t *seq) {
    evident_verify_result *res = NULL;
    expect_ok(FN(evident_verify)(path, NULL, &res), "evident_verify");
    int valid = FN(evident_verify_result_valid)(res);
    *entries = FN(evident_verify_result_entries)(res);
    *seq = FN(evident_verify_result_head_seq)(res);
    FN(evident_verify_result_free)(res);
    return valid;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s DLL SYMBOLS WORKDIR\n", argv[0]);
        return 2;
    }
    wchar_t wpath[MAX_PATH];
    if (!MultiByteToWideChar(CP_UTF8, 0, argv[1], -1, wpath, MAX_PATH))
        FAIL("path %s: error %lu", argv[1], GetLastError());
    dll = LoadLibraryExW(wpath, NULL, LOAD_LIBRARY_SEARCH_DEFAULT_DIRS | LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR);
    if (dll == NULL) FAIL("LoadLibraryExW(%s) failed: error %lu", argv[1], GetLastError());
    char loaded[MAX_PATH];
    if (!GetModuleFileNameA(dll, loaded, sizeof loaded)) FAIL("GetModuleFileName: error %lu", GetLastError());
    printf("loaded %s (evident %s, ABI %u.%u)\n", loaded, FN(evident_version)(),
           FN(evident_abi_version)() >> 16, FN(evident_abi_version)() & 0xFFFF);
    if (FN(evident_abi_version)() >> 16 != EVIDENT_ABI_VERSION_MAJOR || FN(evident_abi_version)() < EVIDENT_ABI_VERSION)
        FAIL("ABI version %#x, the header's is %#x", FN(evident_abi_version)(), EVIDENT_ABI_VERSION);

    /* Every function of abi/symbols.txt: "type name(args);" per line. */
    FILE *f = fopen(argv[2], "r");
    if (f == NULL) FAIL("cannot open %s", argv[2]);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char *paren = strchr(line, '(');
        if (paren == NULL) FAIL("%s: no prototype in line %s", argv[2], line);
        *paren = 0;
        char *name = strrchr(line, ' ');
        name = name ? name + 1 : line;
        while (*name == '*') name++;
        sym(name);
        n++;
    }
    fclose(f);
    if (n < 100) FAIL("%s: only %d functions", argv[2], n);
    printf("GetProcAddress finds all %d functions of %s\n", n, argv[2]);

    /* Create, append, close, verify. */
    char path[MAX_PATH];
    snprintf(path, sizeof path, "%s\\audit.jsonl", argv[3]);
    evident_log *log = NULL;
    expect_ok(FN(evident_log_open)(path, NULL, &log), "evident_log_open");
    evident_head head;
    for (int i = 1; i <= 3; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"event_type\":\"test\",\"action\":\"step %d\",\"actor\":\"wine\"}", i);
        expect_ok(FN(evident_log_append_json)(log, json, &head), "evident_log_append_json");
        if (head.seq != (uint64_t)i) FAIL("append %d: head seq %llu", i, (unsigned long long)head.seq);
    }
    expect_ok(FN(evident_log_close)(log), "evident_log_close");
    FN(evident_log_free)(log);
    uint64_t entries, seq;
    if (!verify(path, &entries, &seq) || entries != 3 || seq != 3)
        FAIL("%s: not a valid log of 3 entries (entries %llu, head seq %llu)", path,
             (unsigned long long)entries, (unsigned long long)seq);
    printf("created %s: 3 entries appended, closed, verified valid (head seq 3, hash %s)\n", path, head.hash);

    /* One changed byte: "step 2" becomes "step 7". */
    f = fopen(path, "r+b");
    if (f == NULL) FAIL("cannot reopen %s", path);
    static char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = 0;
    char *at = strstr(buf, "step 2");
    if (at == NULL) FAIL("%s: no \"step 2\" in the log", path);
    if (fseek(f, (long)(at - buf) + 5, SEEK_SET) != 0 || fputc('7', f) == EOF || fclose(f) != 0)
        FAIL("cannot change %s", path);
    if (verify(path, &entries, &seq)) FAIL("%s: still valid after one byte was changed", path);
    printf("changed one byte of entry 2: verified invalid\n");
    FreeLibrary(dll);
    printf("all checks passed\n");
    return 0;
}
