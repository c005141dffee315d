/*
 * The seed systems' engines from C: compliance checks of a dataset
 * (SecureML's ComplianceAuditor) and TraceKit's audit-log export.
 *
 * Usage: seeds WORKDIR   (an empty, writable directory)
 * Prints "all checks passed" and exits 0, or names the failed check and
 * exits 1.
 */
#include "evident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void compliance(void) {
    const char *dataset =
        "{\"dataset_name\": \"customers\", \"columns\": ["
        "{\"name\": \"name\", \"values\": [\"Alice Smith\", \"Bob Johnson\"]},"
        "{\"name\": \"age\", \"values\": [32, 45]},"
        "{\"name\": \"contact\", \"values\": [\"a@example.com\", \"b@example.org\"]},"
        "{\"name\": \"diagnosis\", \"values\": [null, null]}]}";
    char *report = NULL;
    OK(evident_compliance_check("gdpr", dataset, &report));
    CHECK(report != NULL);
    CHECK(strstr(report, "\"regulation\":\"GDPR\"") != NULL);
    CHECK(strstr(report, "\"personal_data_columns\":{\"name\":\"name\",\"contact\":\"email\"}") != NULL);
    CHECK(strstr(report, "\"severity\":\"high\"") != NULL);
    CHECK(strstr(report, "\"compliant\":false") != NULL);
    CHECK(strstr(report, "\"num_records\":2") != NULL);
    evident_string_free(report);

    report = (char *)1;
    EXPECT(evident_compliance_check("gdpr", "{\"columns\": 1}", &report), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(report == NULL);
    CHECK(strstr(evident_last_error(), "dataset") != NULL);
    EXPECT(evident_compliance_check(NULL, dataset, &report), EVIDENT_STATUS_NULL_ARGUMENT);
    EXPECT(evident_compliance_check("gdpr", dataset, NULL), EVIDENT_STATUS_NULL_ARGUMENT);
}

static void tracekit_export(const char *dir) {
    const char *entries =
        "[{\"timestamp\": \"2026-01-08T10:30:00.000000Z\", \"action\": \"load\","
        " \"details\": {\"file\": \"a.wfm\"}, \"user\": \"alice\", \"host\": \"lab\"}]";
    const uint8_t key[] = {'k', 'e', 'y'};
    char *text = NULL;
    OK(evident_tracekit_export("sha256", key, sizeof key, entries, "json", &text));
    /* HMAC-SHA256(b"key", "...|load|{\"file\": \"a.wfm\"}|alice|lab|GENESIS") from Python's hmac */
    CHECK(strstr(text, "\"hmac\": \"3606cc929a655b5a79582e7fb751382331a4fab26337ff9df8d983a6be3e49ec\"") != NULL);
    CHECK(strstr(text, "\"previous_hash\": \"GENESIS\"") != NULL);
    CHECK(strncmp(text, "{\n  \"version\": \"1.0\",\n  \"hash_algorithm\": \"sha256\",", 44) == 0);
    char *path = join(dir, "audit.json");
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    CHECK(fputs(text, f) >= 0);
    CHECK(fclose(f) == 0);
    free(path);
    evident_string_free(text);

    OK(evident_tracekit_export("sha512", NULL, 0, entries, "csv", &text));
    CHECK(strncmp(text, "timestamp,action,user,host,previous_hash,hmac,detail_file\r\n", 59) == 0);
    evident_string_free(text);
    text = (char *)1;
    EXPECT(evident_tracekit_export("md5", key, sizeof key, entries, "json", &text), EVIDENT_STATUS_INVALID_ARGUMENT);
    CHECK(text == NULL);
    EXPECT(evident_tracekit_export("sha256", key, sizeof key, entries, "xml", &text), EVIDENT_STATUS_INVALID_ARGUMENT);
    EXPECT(evident_tracekit_export("sha256", NULL, 3, entries, "json", &text), EVIDENT_STATUS_NULL_ARGUMENT);

    /* Written to a file: the exact text, with a NUL of the action kept
     * (a C string would lose it). */
    const char *with_nul =
        "[{\"timestamp\": \"2026-01-08T10:30:00.000000Z\", \"action\": \"a\\u0000c\","
        " \"details\": {}, \"user\": \"alice\", \"host\": \"lab\"}]";
    char *csv = join(dir, "zero_byte.csv");
    OK(evident_tracekit_export_file("sha256", key, sizeof key, with_nul, "csv", csv));
    f = fopen(csv, "rb");
    CHECK(f != NULL);
    char buf[512];
    size_t n = fread(buf, 1, sizeof buf, f);
    CHECK(fclose(f) == 0);
    const char want[] = "\r\n2026-01-08T10:30:00.000000Z,a\0c,alice,lab,GENESIS,";
    int found = 0;
    for (size_t i = 0; i + sizeof want - 1 <= n; i++) {
        if (memcmp(buf + i, want, sizeof want - 1) == 0) {
            found = 1;
        }
    }
    CHECK(found);
    EXPECT(evident_tracekit_export_file("sha256", key, sizeof key, with_nul, "xml", csv), EVIDENT_STATUS_INVALID_ARGUMENT);
    EXPECT(evident_tracekit_export_file("sha256", key, sizeof key, with_nul, "csv", NULL), EVIDENT_STATUS_NULL_ARGUMENT);
    char *missing = join(dir, "no/such/dir.csv");
    CHECK(evident_tracekit_export_file("sha256", key, sizeof key, with_nul, "csv", missing) != EVIDENT_STATUS_OK);
    CHECK(strstr(evident_last_error(), "no/such/dir.csv") != NULL);
    free(missing);
    free(csv);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    compliance();
    tracekit_export(argv[1]);
    printf("all checks passed\n");
    return 0;
}
